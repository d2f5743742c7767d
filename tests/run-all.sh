#!/usr/bin/env bash
# The whole suite (`make test`): unit tests, check scripts, then a private stack (Postgres,
# Mosquitto, bellwetherd) in a temp dir for the integration, API and OpenAPI tests.
#
# Env: BUILD (default build/debug) holds bellwetherd and the built test binaries.
#      KEEP_TEST_DIR=1 keeps the stack's temp dir (logs, database) after the run.
#      TEST_TIMEOUT per-test limit in seconds (default 300), see tests/run-unit.sh.
#
# Runs, in order (missing directories are skipped; a test exiting 77 counts as skipped):
#   1. $BUILD/tests/unit/test_*
#   2. tests/check-*.sh, each given $BUILD/bellwetherd as its argument
#   3. tests/harness/stack.sh up (BW_BIN=$BUILD/bellwetherd when built), test.env exported, then
#      $BUILD/tests/integration/test_*, $BUILD/tests/api/test_*, and the executable scripts
#      tests/integration/*.sh, tests/api/*.sh, tests/openapi/*.sh, tests/browser/*.sh
# The stack is always torn down; on any failure the service logs' tails are printed first.
# Last line: exactly "N passed, M failed" (plus ", K skipped" when K > 0); exit 1 when M > 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
BUILD="${BUILD:-build/debug}"
export BUILD
RUNNER="$ROOT/tests/run-unit.sh"
STACK="$ROOT/tests/harness/stack.sh"

pass=0
fail=0
skip=0
results="$(mktemp)"
stack_dir=""

# add_results: adds the counts tests/run-unit.sh wrote to $results.
add_results() {
	local p=0 f=0 s=0
	if [ -s "$results" ]; then
		read -r p f s <"$results"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	: >"$results"
}

# run_tests [--arg ARG] TEST...: runs the tests (if any) and adds their counts.
run_tests() {
	local -a opts=()
	if [ "${1:-}" = --arg ]; then
		opts=(--arg "$2")
		shift 2
	fi
	[ $# -gt 0 ] || return 0
	TEST_RESULTS_FILE="$results" "$RUNNER" "${opts[@]}" "$@"
	add_results
}

# list_bins DIR: executable test binaries in DIR (not objects or dependency files).
list_bins() {
	local f
	for f in "$1"/test_*; do
		if [ ! -f "$f" ] || [ ! -x "$f" ]; then
			continue
		fi
		case "$f" in *.o | *.d) continue ;; esac
		echo "$f"
	done
}

# list_scripts DIR PATTERN: executable scripts in DIR matching PATTERN.
list_scripts() {
	local f
	for f in "$1"/$2; do
		if [ -f "$f" ] && [ -x "$f" ]; then
			echo "$f"
		fi
	done
}

finish() {
	local summary
	if [ -n "$stack_dir" ]; then
		if [ "$fail" -gt 0 ]; then
			echo "===== service logs ($stack_dir) ====="
			"$STACK" logs "$stack_dir" 40 || true
		fi
		"$STACK" down "$stack_dir" || echo "run-all: stack down reported an error" >&2
		if [ "${KEEP_TEST_DIR:-0}" = 1 ]; then
			echo "run-all: kept $stack_dir"
		else
			rm -rf "$stack_dir"
		fi
	fi
	rm -f "$results"
	summary="$pass passed, $fail failed"
	[ "$skip" -eq 0 ] || summary="$summary, $skip skipped"
	echo "$summary"
	if [ "$fail" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

interrupted() {
	echo "run-all: interrupted" >&2
	fail=$((fail + 1))
	exit 130
}

trap finish EXIT
trap interrupted INT TERM

echo "##### unit tests"
mapfile -t tests < <(list_bins "$BUILD/tests/unit")
run_tests "${tests[@]}"

echo "##### check scripts"
mapfile -t tests < <(list_scripts tests 'check-*.sh')
run_tests --arg "$BUILD/bellwetherd" "${tests[@]}"

echo "##### stack"
stack_dir="$(mktemp -d /tmp/bellwether-test.XXXXXX)"
stack_env=()
if [ -x "$BUILD/bellwetherd" ]; then
	stack_env=(BW_BIN="$BUILD/bellwetherd")
else
	echo "run-all: $BUILD/bellwetherd not built; stack without the daemon (API tests skip)" >&2
fi
if ! env "${stack_env[@]}" "$STACK" up "$stack_dir"; then
	echo "=== FAIL stack up"
	fail=$((fail + 1))
	exit 1
fi
# shellcheck source=/dev/null
. "$stack_dir/test.env"

echo "##### integration, API and OpenAPI tests"
mapfile -t tests < <(
	list_bins "$BUILD/tests/integration"
	list_bins "$BUILD/tests/api"
	list_scripts tests/integration '*.sh'
	list_scripts tests/api '*.sh'
	list_scripts tests/openapi '*.sh'
	list_scripts tests/browser '*.sh'
)
run_tests "${tests[@]}"
