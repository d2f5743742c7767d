#!/usr/bin/env bash
# Overload: a server with a deliberately small MQTT inbox (BW_MQTT_QUEUE_CAPACITY=16, one worker)
# and a simulated fleet that heartbeats far faster than that server can store, while every device
# takes a firmware update. The server must answer what it cannot take now as throttled (Shadow
# 429, Jobs RequestThrottled) instead of dropping it (docs/ARCHITECTURE.md "Back-pressure"), the
# devices must retry, and every device must still finish:
#   1. every device SUCCEEDED (device outcomes and the server's executions)
#   2. the server throttled requests (bw_mqtt_requests_throttled_total > 0) and the devices saw
#      those answers and retried
#   3. nothing was dropped: bw_mqtt_messages_dropped_total is 0 and Mosquitto's
#      $SYS/broker/publish/messages/dropped is 0
# Runs its own private stack (tests/harness/stack.sh) so the small inbox affects nothing else.
# Needs test.env for the binaries; exits 77 (skipped) without it. Ends with "N passed, M failed".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build/debug}"
SIM="$ROOT/$BUILD/bellwether-sim"
DEVICES="${BW_OVERLOAD_DEVICES:-300}"

if [ -z "${BW_TEST_BIN:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
	# shellcheck source=/dev/null
	. "$BW_TEST_ENV_FILE"
fi
if [ -z "${BW_TEST_BIN:-}" ] || [ -z "${BW_TEST_STACK:-}" ]; then
	echo "test_sim_overload: no test.env (BW_TEST_BIN unset); skipped"
	exit 77
fi
for tool in curl jq mosquitto_sub; do
	command -v "$tool" >/dev/null || { echo "test_sim_overload: $tool missing; skipped"; exit 77; }
done
if [ ! -x "$SIM" ]; then
	echo "test_sim_overload: $SIM not built; skipped"
	exit 77
fi

W="$(mktemp -d /tmp/bw-sim-overload.XXXXXX)"
STACK_DIR="$W/stack"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	"$BW_TEST_STACK" down "$STACK_DIR" >/dev/null 2>&1 || true
	[ "${KEEP_TEST_DIR:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

# --- a private stack whose server has a tiny inbox (the harness passes BW_* options on) ---
if ! env BW_MQTT_QUEUE_CAPACITY=16 BW_MQTT_WORKERS=1 BW_BIN="$BW_TEST_BIN" \
	"$BW_TEST_STACK" up "$STACK_DIR" >"$W/stack-up.log" 2>&1; then
	bad "private stack: $(tail -5 "$W/stack-up.log")"
	finish
fi
# shellcheck source=/dev/null
. "$STACK_DIR/test.env"
U="$BW_TEST_URL"
AUTH="Authorization: Bearer $BW_TEST_ADMIN_TOKEN"
api() { # api METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H "$AUTH" -H 'Content-Type: application/json' -d "$3" "$U$2"
	else
		curl -sf -X "$1" -H "$AUTH" "$U$2"
	fi
}
metric_sum() { # the sum over every series of a counter in /metrics (0 if absent)
	curl -sf "$U/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d", s }'
}
code="$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$U/api/v1/jobs")"
if [ "$code" = 404 ]; then
	echo "test_sim_overload: /api/v1/jobs not routed (Jobs engine missing); skipped"
	exit 77
fi

# --- a signed release for the fleet's board, and a job for all of it ---
uniq="$(date +%s)$$"
HW="ovl-board-$uniq"
if ! {
	api POST /api/v1/firmware/keys "{\"name\":\"ovl-$uniq\",\"algorithm\":\"ecdsa-p256\"}" >"$W/key.json" &&
		api GET /api/v1/firmware/trust-list >"$W/trust.json" &&
		head -c 16384 /dev/urandom >"$W/fw.bin" &&
		api POST /api/v1/firmware/releases "{\"product\":\"ovl-$uniq\",\"firmware_version\":\"2.0.0\",\"security_version\":1,\"hardware_types\":[\"$HW\"]}" >"$W/rel.json" &&
		rid="$(jq -r .id "$W/rel.json")" &&
		curl -sf -H "$AUTH" --data-binary @"$W/fw.bin" \
			"$U/api/v1/firmware/releases/$rid/artifacts?name=fw.bin&type=firmware" >/dev/null &&
		api POST "/api/v1/firmware/releases/$rid/publish" "{\"key_id\":\"$(jq -r .id "$W/key.json")\"}" >/dev/null &&
		api GET "/api/v1/firmware/releases/$rid/artifacts/fw.bin" >"$W/art.json" &&
		api POST "/api/v1/firmware/releases/$rid/artifacts/fw.bin/presign" '{"expires_in_s":3600}' |
		jq -r .url >"$W/url" &&
		api POST /api/v1/groups "{\"name\":\"ovl-$uniq\",\"type\":\"dynamic\",\"query\":\"hardware_type = $HW\"}" >/dev/null
}; then
	bad "release, group and trust list setup"
	finish
fi
# Heartbeats every 10 s of device time at time_scale 50: every 200 ms per device, about
# DEVICES * 5 shadow updates/s, far beyond one worker with a 16-message queue.
jq -n --arg hw "$HW" --argjson n "$DEVICES" --arg p "ovl$uniq-" \
	'{seed: 3, devices: $n, prefix: $p, time_scale: 50, health_interval_ms: 10000,
	  confirm_delay_ms: 5000, self_test_ms: 1000, reboot_ms: 5000, progress_every_ms: 5000,
	  cohorts: [{name: "all", hardware_type: $hw, firmware_version: "1.0.0", security_version: 1}]}' \
	>"$W/fleet.json"
"$SIM" "$W/fleet.json" --trust-list "$W/trust.json" --register --duration 0.01 >"$W/register.log" 2>&1 ||
	{ bad "registering $DEVICES things: $(tail -3 "$W/register.log")"; finish; }
doc="$(jq -n --arg url "$(cat "$W/url")" --arg sig "$(jq -r .signature_sha256_ecdsa "$W/art.json")" \
	--arg sha "$(jq -r .sha256 "$W/art.json")" \
	'{afr_ota: {protocols: ["HTTP"], files: [{filesize: 16384, fileid: 0, update_data_url: $url,
	  "sig-sha256-ecdsa": $sig}]}, bellwether: {version: "2.0.0", security_version: 1, sha256: $sha}}')"
api POST /api/v1/jobs "$(jq -n --arg id "ovl-$uniq" --arg g "ovl-$uniq" --argjson d "$doc" \
	'{job_id: $id, targets: [{type: "group", name: $g}], document: $d}')" >/dev/null ||
	{ bad "creating the job"; finish; }

# --- the overloaded update ---
timeout 200 "$SIM" "$W/fleet.json" --trust-list "$W/trust.json" --until-jobs 1 --duration 180 \
	--outcomes "$W/out.json" >"$W/sim.log" 2>&1
rc=$?
cat "$W/sim.log"

# 1. everybody finished
n="$(jq '[.[] | select(.jobs[-1].status == "SUCCEEDED")] | length' "$W/out.json" 2>/dev/null || echo 0)"
if [ "$rc" -eq 0 ] && [ "$n" = "$DEVICES" ]; then
	ok "all $DEVICES devices SUCCEEDED under overload"
else
	bad "sim exit $rc, $n of $DEVICES SUCCEEDED"
fi
done_n="$(api GET "/api/v1/jobs/ovl-$uniq" | jq -r '.counts.succeeded // empty' 2>/dev/null)"
if [ "$done_n" = "$DEVICES" ]; then ok "server: $done_n executions SUCCEEDED"; else bad "server: '${done_n}' executions SUCCEEDED"; fi

# 2. the server throttled instead of dropping, and the devices retried
thr="$(metric_sum bw_mqtt_requests_throttled_total)"
seen="$(sed -n 's/^bellwether-sim: throttled: shadow \([0-9]*\) (heartbeats [0-9]*), jobs \([0-9]*\); retried \([0-9]*\).*/\1 \2 \3/p' "$W/sim.log")"
read -r t_shadow t_jobs t_retried <<<"${seen:-0 0 0}"
if [ "$thr" -gt 0 ]; then ok "server answered $thr requests as throttled"; else bad "no request was throttled (the test did not overload the server)"; fi
if [ $((t_shadow + t_jobs)) -gt 0 ] && [ "$t_retried" -gt 0 ]; then
	ok "devices saw $t_shadow shadow and $t_jobs jobs throttled answers, retried $t_retried requests"
else
	bad "devices saw shadow $t_shadow, jobs $t_jobs throttled answers, retried $t_retried"
fi

# 3. nothing dropped, in the server or in the broker
dropped="$(metric_sum bw_mqtt_messages_dropped_total)"
if [ "$dropped" = 0 ]; then ok "server dropped no message"; else bad "server dropped $dropped messages: $(curl -sf "$U/metrics" | grep '^bw_mqtt_messages_dropped_total')"; fi
# Mosquitto publishes $SYS/broker/publish/messages/dropped (retained) only once it changed; the
# retained uptime shows that $SYS is readable at all, so no dropped value means none dropped.
sys_read() { # sys_read TOPIC -> the retained value, or "" after 12 s
	timeout 13 mosquitto_sub -h "$BW_TEST_MQTT_HOST" -p "$BW_TEST_MQTT_PORT" \
		-u "$BW_TEST_MQTT_SERVER_USER" -P "$BW_TEST_MQTT_SERVER_PASSWORD" -t "$1" -C 1 -W 12 \
		2>/dev/null
}
bdropped="$(sys_read "\$SYS/broker/publish/messages/dropped")"
if [ -z "$bdropped" ] && [ -n "$(sys_read "\$SYS/broker/uptime")" ]; then
	bdropped=0
fi
if [ "$bdropped" = 0 ]; then ok "broker dropped no message"; else bad "broker dropped '${bdropped}' messages"; fi
finish
