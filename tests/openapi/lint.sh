#!/bin/sh
# Lint api/openapi.yaml with the Redocly CLI pinned in tools/package.json, using
# tools/redocly.yaml (recommended ruleset) and tools/.redocly.lint-ignore.yaml.
# Passes only with zero errors AND zero warnings. Installs the pinned tools with `npm ci`
# when tools/node_modules is missing. Ends with "1 passed, 0 failed" or "0 passed, 1 failed".
set -u

root=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
tools="$root/tools"
redocly="$tools/node_modules/.bin/redocly"
spec="${OPENAPI_SPEC:-$root/api/openapi.yaml}" # override only to test the linter itself

fail() {
	echo "openapi-lint: $*"
	echo "0 passed, 1 failed"
	exit 1
}

if [ ! -x "$redocly" ]; then
	command -v npm >/dev/null 2>&1 || fail "npm not found (needed to install tools/)"
	echo "openapi-lint: installing pinned tools (npm ci in tools/)"
	(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in tools/ failed"
fi

out=$(mktemp) || fail "mktemp failed"
err=$(mktemp) || {
	rm -f "$out"
	fail "mktemp failed"
}
trap 'rm -f "$out" "$err"' EXIT

# No telemetry, no update check: runs must not depend on the network.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
# --format=json gives exact totals; warnings must fail too, which redocly's exit code does not do.
"$redocly" lint "$spec" --config "$tools/redocly.yaml" --format=json >"$out" 2>"$err"
rc=$?
totals=$(python3 -c '
import json, sys
try:
    t = json.load(open(sys.argv[1]))["totals"]
    print(t["errors"], t["warnings"])
except Exception:
    print("? ?")
' "$out")
errors=${totals% *}
warnings=${totals#* }

if [ "$rc" -eq 0 ] && [ "$errors" = 0 ] && [ "$warnings" = 0 ]; then
	echo "openapi-lint: $spec: 0 errors, 0 warnings"
	echo "1 passed, 0 failed"
	exit 0
fi

# Show the problems readably (stderr has redocly's own diagnostics, e.g. a YAML syntax error).
echo "openapi-lint: $spec: errors=$errors warnings=$warnings (redocly exit $rc)"
"$redocly" lint "$spec" --config "$tools/redocly.yaml" --format=stylish 2>&1 |
	grep -v -e '║' -e '╔' -e '╚'
echo "0 passed, 1 failed"
exit 1
