#!/usr/bin/env bash
# Layering rules (docs/ARCHITECTURE.md): third-party headers only in their own layer.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
check() { # name, header regex, allowed path regex
	local bad
	bad=$(grep -rlE "#include <$2" server/src | grep -vE "$3" || true)
	if [ -n "$bad" ]; then
		echo "FAIL layers: <$2> included outside $3: $bad"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
}
check microhttpd 'microhttpd\.h>' '^server/src/http/'
check libpq 'libpq-fe\.h>' '^server/src/db/'
check mosquitto 'mosquitto(_broker|_plugin)?\.h>' '^server/src/mqtt/(client|inbox|outbox_pump)\.c$'
check openssl 'openssl/' '^server/src/(crypto|auth)/'
# pure domain directories include none of the service libraries
bad=$(grep -rlE '#include <(microhttpd|libpq-fe|mosquitto)\.h>' server/src/registry server/src/shadow server/src/json server/src/core server/src/jobs server/src/firmware 2>/dev/null || true)
if [ -n "$bad" ]; then echo "FAIL layers: pure module includes a service library: $bad"; fail=$((fail + 1)); else pass=$((pass + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
