#!/usr/bin/env bash
# Jobs scheduler with two bellwetherd instances on one database and a kill -9 mid-rollout:
# exactly one instance leads, no execution is released twice, and after SIGKILL + restart the
# rollout resumes and every acknowledged target is released exactly once. Needs the harness
# stack (test.env); restarts the stack's bellwetherd. Prints "N passed, M failed".
set -u
[ -n "${BW_TEST_BIN:-}" ] && [ -n "${BW_TEST_PG_DSN:-}" ] && [ -n "${BW_TEST_STACK:-}" ] ||
	{ echo "skipped: no test.env"; exit 77; }
BIN="$BW_TEST_BIN"
CONF="$BW_TEST_DIR/server.env"
WORK="$(mktemp -d)"
pass=0 fail=0
second=""
cleanup() {
	[ -n "$second" ] && kill -KILL "$second" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # description, command...
	local d="$1"; shift
	if "$@"; then ok; else bad "$d"; fi
}
q() { psql "$BW_TEST_PG_DSN" -v ON_ERROR_STOP=1 -qtAc "$1"; }
UNSETS=()
for v in $(env | grep -o '^BW_TEST_[A-Z_]*'); do UNSETS+=(-u "$v"); done
# wait_for SECONDS COMMAND...: until COMMAND succeeds
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}
leader_of() { curl -s -m 2 "$1/metrics" | awk '/^bw_sched_is_leader /{print $2}'; }

N=1200
tag="ha$$"
job="ha-$$-$RANDOM"
q "INSERT INTO things (name) SELECT '$tag-' || i FROM generate_series(1, $N) i" >/dev/null
q "INSERT INTO thing_groups (name, type) VALUES ('$tag', 'static')" >/dev/null
q "INSERT INTO thing_group_members (group_id, thing_id) SELECT g.id, t.id FROM thing_groups g,
	things t WHERE g.name = '$tag' AND t.name LIKE '$tag-%'" >/dev/null

# --- a second instance on the same database and broker
env "${UNSETS[@]}" BW_HTTP_LISTEN=127.0.0.1:0 BW_BOOTSTRAP_TOKEN_FILE= BW_SCHED_TICK_MS=100 \
	setsid "$BIN" --config "$CONF" serve >"$WORK/second.log" 2>&1 </dev/null &
second=$!
wait_for 30 grep -q '"event":"ready"' "$WORK/second.log"
port2="$(grep '"event":"ready"' "$WORK/second.log" | grep -o '"http_port":[0-9]*' | cut -d: -f2)"
check "second instance is ready" test -n "$port2"

status="$(curl -s -o "$WORK/create.json" -w '%{http_code}' -XPOST \
	-H "Authorization: Bearer $BW_TEST_ADMIN_TOKEN" -H 'Content-Type: application/json' \
	"$BW_TEST_URL/api/v1/jobs" -d "{\"job_id\":\"$job\",\"targets\":[{\"type\":\"group\",
	\"name\":\"$tag\"}],\"document\":{\"op\":\"ha\"},
	\"job_executions_rollout_config\":{\"maximum_per_minute\":1000}}")"
check "job created (acknowledged)" test "$status" = 201
released() { q "SELECT count(*) FROM job_executions e JOIN jobs j ON j.id = e.job_pk WHERE
	j.job_id = '$job'"; }
released_at_least() { test "$(released)" -ge "$1"; }
check "the first minute's releases arrive" wait_for 10 released_at_least 1000
l1="$(leader_of "$BW_TEST_URL")"; l2="$(leader_of "http://127.0.0.1:$port2")"
check "exactly one instance leads ($l1 + $l2)" test "$((${l1:-0} + ${l2:-0}))" -eq 1

# --- kill -9 the stack's instance mid-rollout (after stopping the second one), then restart
kill -TERM "$second"
wait "$second" 2>/dev/null
second=""
before="$(released)"
check "rollout still in progress before the kill ($before of $N)" test "$before" -lt "$N"
kill -KILL "$(cat "$BW_TEST_DIR/bellwetherd.pid")"
sleep 1
"$BW_TEST_STACK" server-start "$BW_TEST_DIR" >/dev/null 2>&1
check "restarted server is ready" test "$(curl -s -o /dev/null -w '%{http_code}' "$BW_TEST_URL/readyz")" = 200
check "the rollout resumes and finishes" wait_for 40 released_at_least "$N"
check "no more than the targets" test "$(released)" -eq "$N"
check "no execution released twice" test "$(q "SELECT count(*) FROM (SELECT h.thing_id FROM
	job_execution_history h JOIN jobs j ON j.id = h.job_pk WHERE j.job_id = '$job' AND
	h.to_status = 'QUEUED' GROUP BY h.thing_id HAVING count(*) <> 1) x")" -eq 0
check "every target marked released" test "$(q "SELECT count(*) FROM job_targets jt JOIN jobs j
	ON j.id = jt.job_pk WHERE j.job_id = '$job' AND jt.released_at IS NOT NULL")" -eq "$N"
check "rollout counter matches" test "$(q "SELECT rollout_released FROM jobs WHERE
	job_id = '$job'")" -eq "$N"
check "every execution is QUEUED at version 1" test "$(q "SELECT count(*) FROM job_executions e
	JOIN jobs j ON j.id = e.job_pk WHERE j.job_id = '$job' AND e.status = 'QUEUED' AND
	e.version_number = 1 AND e.execution_number = 1")" -eq "$N"

# tidy up: the job and its things are not needed by later tests
q "UPDATE jobs SET status = 'DELETION_IN_PROGRESS' WHERE job_id = '$job'" >/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
