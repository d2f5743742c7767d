#!/usr/bin/env bash
# Runs test executables (Check binaries or scripts) one after another, streams their output and
# adds up the results. `make test-unit` uses it for the unit tests; tests/run-all.sh for every
# tier.
#
# Usage: tests/run-unit.sh [--arg ARG]... TEST...
#   --arg ARG   pass ARG to every TEST (repeatable)
#
# Per test:
#   - exit 77                        -> skipped (counts 1 skipped; any counts it printed ignored)
#   - a last line "N passed, M failed[, K skipped]" -> those counts
#   - otherwise Check summaries "NN%: Checks: C, Failures: F, Errors: E" (summed when several)
#     -> C-F-E passed, F+E failed
#   - nonzero exit (timeout included) with no failure counted -> 1 more failed (crash, leak
#     report, sanitizer error, ...)
#   - exit 0 with nothing parseable -> 1 passed
# Each test runs under `timeout $TEST_TIMEOUT` (default 300 s).
#
# Prints one line per test and, last, exactly "N passed, M failed" (plus ", K skipped" when K>0).
# Exit status 1 when M > 0. With TEST_RESULTS_FILE set, also writes "N M K" there.
set -uo pipefail

TIMEOUT="${TEST_TIMEOUT:-300}"
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--arg)
		[ $# -ge 2 ] || { echo "run-unit: --arg needs a value" >&2; exit 2; }
		args+=("$2")
		shift 2
		;;
	--) shift; break ;;
	*) break ;;
	esac
done

total_pass=0
total_fail=0
total_skip=0
failed_names=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

run_one() {
	local t="$1" rc line pass=0 fail=0 skip=0 parsed=0 checks f e start dur
	local re_summary='^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?[[:space:]]*$'
	local re_check='^[0-9]+%: Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+)'

	echo "=== RUN  $t"
	start=$SECONDS
	timeout -k 10 "$TIMEOUT" "$t" "${args[@]}" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	dur=$((SECONDS - start))

	if [ "$rc" -eq 77 ]; then
		total_skip=$((total_skip + 1))
		echo "=== SKIP $t (${dur}s)"
		return
	fi

	line="$(grep -E "$re_summary" "$log" | tail -n 1)"
	if [ -n "$line" ] && [[ "$line" =~ $re_summary ]]; then
		pass=${BASH_REMATCH[1]}
		fail=${BASH_REMATCH[2]}
		skip=${BASH_REMATCH[4]:-0}
		parsed=1
	else
		while IFS= read -r line; do
			if [[ "$line" =~ $re_check ]]; then
				checks=${BASH_REMATCH[1]}
				f=${BASH_REMATCH[2]}
				e=${BASH_REMATCH[3]}
				pass=$((pass + checks - f - e))
				fail=$((fail + f + e))
				parsed=1
			fi
		done <"$log"
	fi

	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "--- $t: killed after ${TIMEOUT}s timeout"
	fi
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		# Crashed, timed out, or failed after its checks (sanitizer, leak report): one failure.
		fail=1
	elif [ "$rc" -eq 0 ] && [ "$parsed" -eq 0 ]; then
		pass=1
	fi

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	if [ "$fail" -gt 0 ]; then
		failed_names+=("$t")
		echo "=== FAIL $t: $pass passed, $fail failed (exit $rc, ${dur}s)"
	else
		echo "=== PASS $t: $pass passed (${dur}s)"
	fi
}

for t in "$@"; do
	if [ ! -x "$t" ]; then
		echo "=== FAIL $t: not an executable file"
		failed_names+=("$t")
		total_fail=$((total_fail + 1))
		continue
	fi
	run_one "$t"
done

if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "Failed: ${failed_names[*]}"
fi
if [ -n "${TEST_RESULTS_FILE:-}" ]; then
	echo "$total_pass $total_fail $total_skip" >"$TEST_RESULTS_FILE"
fi
summary="$total_pass passed, $total_fail failed"
[ "$total_skip" -eq 0 ] || summary="$summary, $total_skip skipped"
echo "$summary"
[ "$total_fail" -eq 0 ]
