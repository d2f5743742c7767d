#!/usr/bin/env bash
# Every option of server/src/core/options.def appears in README.md and docs/CONFIG.md, and
# docs/CONFIG.md is what `bellwetherd print-config --markdown` generates (PgBouncer optscan idea).
set -u
cd "$(dirname "$0")/.."
bin=${1:-${BW_TEST_BIN:-build/debug/bellwetherd}}
pass=0 fail=0
for opt in $(grep -oE '"BW_[A-Z0-9_]+"' server/src/core/options.def | tr -d '"'); do
	for doc in README.md docs/CONFIG.md; do
		if grep -q "$opt" "$doc" 2>/dev/null; then
			pass=$((pass + 1))
		else
			echo "FAIL config docs: $opt missing from $doc"
			fail=$((fail + 1))
		fi
	done
done
if [ -x "$bin" ]; then
	if diff -u docs/CONFIG.md <("$bin" print-config --markdown) >/dev/null; then
		pass=$((pass + 1))
	else
		echo "FAIL config docs: docs/CONFIG.md is stale; run 'make docs'"
		fail=$((fail + 1))
	fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
