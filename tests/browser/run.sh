#!/usr/bin/env bash
# Runs every tests/browser/*.test.mjs (playwright-core driving the system Chromium) against the
# running stack and adds up their results. tests/run-all.sh runs it with test.env exported.
#
# Usage: tests/browser/run.sh
# Env:   BW_TEST_URL, BW_TEST_ADMIN_TOKEN  the stack (unset or empty -> exit 77, skipped)
#        CHROMIUM_PATH                     browser binary (default /usr/bin/chromium)
#        BROWSER_TEST_TIMEOUT              seconds per test file (default 90)
# Installs tools/ with `npm ci` when playwright-core is missing there. Never downloads a browser.
# Last line: exactly "N passed, M failed" (plus ", K skipped" when K > 0); exit 1 when M > 0.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TIMEOUT="${BROWSER_TEST_TIMEOUT:-90}"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

fail() {
	echo "browser: $*"
	echo "0 passed, 1 failed"
	exit 1
}

if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_ADMIN_TOKEN:-}" ]; then
	echo "browser: BW_TEST_URL or BW_TEST_ADMIN_TOKEN unset (no running stack): skipped"
	exit 77
fi
command -v node >/dev/null 2>&1 || fail "node not found (scripts/install-deps.sh installs it)"
[ -x "$CHROMIUM" ] || fail "no browser at $CHROMIUM (scripts/install-deps.sh installs Debian's chromium; CHROMIUM_PATH overrides)"
if [ ! -f "$ROOT/tools/node_modules/playwright-core/package.json" ]; then
	command -v npm >/dev/null 2>&1 || fail "npm not found (needed to install tools/)"
	echo "browser: installing pinned tools (npm ci in tools/)"
	(cd "$ROOT/tools" && npm ci --no-audit --no-fund --loglevel=error) ||
		fail "npm ci in tools/ failed"
fi

pass=0
failed=0
skip=0
out="$(mktemp)" || fail "mktemp failed"
trap 'rm -f "$out"' EXIT
re='^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?[[:space:]]*$'

for t in "$HERE"/*.test.mjs; do
	[ -f "$t" ] || continue
	echo "--- $(basename "$t")"
	timeout -k 10 "$TIMEOUT" node "$t" </dev/null 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 77 ]; then
		skip=$((skip + 1))
		continue
	fi
	line="$(grep -E "$re" "$out" | tail -n 1)"
	p=0
	f=0
	s=0
	if [ -n "$line" ] && [[ "$line" =~ $re ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
		s=${BASH_REMATCH[4]:-0}
	fi
	if [ -z "$line" ] && [ "$rc" -eq 0 ]; then
		p=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Crashed or timed out (124/137) before reporting a failure of its own.
		echo "browser: $(basename "$t") exited with status $rc"
		f=1
	fi
	pass=$((pass + p))
	failed=$((failed + f))
	skip=$((skip + s))
done

summary="$pass passed, $failed failed"
[ "$skip" -eq 0 ] || summary="$summary, $skip skipped"
echo "$summary"
[ "$failed" -eq 0 ]
