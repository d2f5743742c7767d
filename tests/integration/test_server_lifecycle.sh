#!/usr/bin/env bash
# bellwetherd as a process: --help, configuration errors, migrations (idempotent, concurrent,
# checksum guard), the token CLI, readiness without a broker, graceful SIGTERM with a request in
# flight. Needs the harness stack (test.env); prints "N passed, M failed".
set -u
[ -n "${BW_TEST_BIN:-}" ] && [ -n "${BW_TEST_PG_DSN:-}" ] || { echo "skipped: no test.env"; exit 77; }
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$BW_TEST_BIN"
CONF="$BW_TEST_DIR/server.env"
WORK="$(mktemp -d)"
pass=0 fail=0
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # description, command...
	local d="$1"; shift
	if "$@"; then ok; else bad "$d"; fi
}
# Run bellwetherd with the harness's options and only the given BW_ overrides.
UNSETS=()
for v in $(env | grep -o '^BW_TEST_[A-Z_]*'); do UNSETS+=(-u "$v"); done
bw() { env "${UNSETS[@]}" "$@"; }
psql_admin() { psql "$BW_TEST_PG_DSN" -v ON_ERROR_STOP=1 -qtAc "$1"; }
dsn_for() { echo "${BW_TEST_PG_DSN%/*}/$1"; }

# --- help and configuration errors
out="$("$BIN" --help)"; rc=$?
check "--help exits 0" test "$rc" -eq 0
missing=0
for opt in $(grep -oE '"BW_[A-Z0-9_]+"' "$ROOT/server/src/core/options.def" | tr -d '"'); do
	grep -q "$opt" <<<"$out" || { missing=1; echo "--help misses $opt"; }
done
check "--help lists every option" test "$missing" -eq 0

err="$(bw BW_HTTP_THREADS=0 BW_LOG_LEVEL=loud BW_MQTT_PORT=x "$BIN" --config "$CONF" print-config 2>&1 >/dev/null)"; rc=$?
check "invalid values exit 2" test "$rc" -eq 2
check "every invalid option is named" bash -c 'grep -q BW_HTTP_THREADS <<<"$1" && grep -q BW_LOG_LEVEL <<<"$1" && grep -q BW_MQTT_PORT <<<"$1"' _ "$err"
printf 'BW_HTTP_THREADS=4\nnot a setting\nBW_NOPE=1\n' >"$WORK/bad.conf"
err="$("$BIN" --config "$WORK/bad.conf" print-config 2>&1 >/dev/null)"; rc=$?
check "bad config file exits 2" test "$rc" -eq 2
check "config errors name file and line" bash -c 'grep -q "bad.conf:2:" <<<"$1" && grep -q "bad.conf:3: BW_NOPE" <<<"$1"' _ "$err"
masked="$(bw BW_PG_DSN=postgresql://u:hunter2@h/db "$BIN" print-config)"
check "print-config masks the DSN" bash -c '! grep -q hunter2 <<<"$1" && grep -q "BW_PG_DSN=\*\*\*" <<<"$1"' _ "$masked"

# --- migrations
nfiles=$(ls "$ROOT"/migrations/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
db1="lc_a_$$"; db2="lc_b_$$"
psql_admin "CREATE DATABASE $db1" && psql_admin "CREATE DATABASE $db2"
bw BW_PG_DSN="$(dsn_for $db1)" "$BIN" --config "$CONF" migrate 2>"$WORK/m1.log"; rc1=$?
bw BW_PG_DSN="$(dsn_for $db1)" "$BIN" --config "$CONF" migrate 2>"$WORK/m2.log"; rc2=$?
check "migrate succeeds twice" test "$rc1" -eq 0 -a "$rc2" -eq 0
check "first migrate applies every file" grep -q "\"applied\":$nfiles" "$WORK/m1.log"
check "second migrate applies nothing" grep -q '"applied":0' "$WORK/m2.log"
for i in 1 2 3; do
	bw BW_PG_DSN="$(dsn_for $db2)" "$BIN" --config "$CONF" migrate 2>"$WORK/c$i.log" &
	pids+=($!)
done
crc=0
for p in "${pids[@]}"; do wait "$p" || crc=1; done
pids=()
check "three concurrent migrates all succeed" test "$crc" -eq 0
n="$(psql "$(dsn_for $db2)" -qtAc 'SELECT count(*) FROM schema_version')"
check "concurrent migrates record each file once" test "$n" -eq "$nfiles"
cp -r "$ROOT/migrations" "$WORK/mig"
echo "-- edited after being applied" >>"$WORK/mig/0001_init.sql"
bw BW_PG_DSN="$(dsn_for $db1)" BW_MIGRATIONS_DIR="$WORK/mig" "$BIN" --config "$CONF" migrate 2>"$WORK/m3.log"; rc=$?
check "a changed applied migration is refused" test "$rc" -ne 0
check "the refusal names the checksum" grep -q migrate_checksum_changed "$WORK/m3.log"

# --- token CLI against the running server's database
tok="$(bw "$BIN" --config "$CONF" token create --role operator --name "cli-test-$$" 2>/dev/null)"
check "token create prints a token" bash -c '[[ "$1" =~ ^bw_[A-Za-z0-9_-]{43}$ ]]' _ "$tok"
who="$(curl -s -H "Authorization: Bearer $tok" "$BW_TEST_URL/api/v1/whoami")"
check "the CLI token authenticates as operator" grep -q '"role":"operator"' <<<"$who"
bw "$BIN" --config "$CONF" token create --role root --name x >/dev/null 2>&1; rc=$?
check "token create rejects an unknown role" test "$rc" -eq 2

# --- a second instance: no broker reachable, then graceful SIGTERM with a request in flight
start_instance() { # log, extra env...
	local log="$1"; shift
	# env directly (not the bw function) so that $! is the server itself
	env "${UNSETS[@]}" BW_HTTP_LISTEN=127.0.0.1:0 BW_BOOTSTRAP_TOKEN_FILE= "$@" "$BIN" \
		--config "$CONF" serve 2>"$log" &
	pids+=($!)
	for _ in $(seq 100); do
		port="$(grep -o '"event":"ready","http_port":[0-9]*' "$log" | grep -o '[0-9]*$')"
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	return 1
}
if start_instance "$WORK/nobroker.log" BW_MQTT_PORT=1 BW_MQTT_RECONNECT_MAX_MS=200; then
	code="$(curl -s -o "$WORK/ready.json" -w '%{http_code}' "http://127.0.0.1:$port/readyz")"
	check "readyz is 503 without a broker" test "$code" = 503
	check "readyz names the failed check" grep -q '"mqtt":"fail"' "$WORK/ready.json"
	code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")"
	check "healthz is 200 without a broker" test "$code" = 200
	kill -TERM "${pids[-1]}"; wait "${pids[-1]}"; rc=$?
	check "SIGTERM exits 0" test "$rc" -eq 0
	unset 'pids[-1]'
else
	bad "second instance did not start: $(tail -3 "$WORK/nobroker.log")"
fi

if start_instance "$WORK/drain.log"; then
	spid="${pids[-1]}"
	python3 - "$WORK/bulk.json" "$$" <<'PY'
import json, sys
things = [{"name": f"drain-{sys.argv[2]}-{i:05d}", "attributes": {"k": "v" * 64}} for i in range(10000)]
json.dump({"things": things}, open(sys.argv[1], "w"))
PY
	curl -s -o "$WORK/bulk.out" -w '%{http_code}' -H "Authorization: Bearer $BW_TEST_ADMIN_TOKEN" \
		-H 'Content-Type: application/json' --data-binary @"$WORK/bulk.json" \
		"http://127.0.0.1:$port/api/v1/things/bulk" >"$WORK/bulk.code" &
	cpid=$!
	# wait until the request is being handled, then ask the server to stop
	for _ in $(seq 200); do
		grep -q '"event":"http_request"' "$WORK/drain.log" 2>/dev/null && break
		[ -s "$WORK/bulk.code" ] && break
		ss -tn 2>/dev/null | grep -q ":$port " && break
		sleep 0.01
	done
	kill -TERM "$spid"
	wait "$cpid"
	wait "$spid"; rc=$?
	unset 'pids[-1]'
	check "the in-flight request completed (200)" test "$(cat "$WORK/bulk.code")" = 200
	check "it created every thing" grep -q '"created":10000' "$WORK/bulk.out"
	check "the server drained and exited 0" test "$rc" -eq 0
	check "shutdown is logged" grep -q '"event":"stopped"' "$WORK/drain.log"
	code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/healthz")"
	check "no longer listening after exit" test "$code" = 000
else
	bad "drain instance did not start"
fi

psql_admin "DROP DATABASE $db1" && psql_admin "DROP DATABASE $db2"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
