#!/usr/bin/env bash
# bench_sim: fleet simulator capacity and end-to-end firmware update time (docs/BENCH.md).
# Run by tests/bench/run.sh against its private stack (test.env in the environment); `make bench`
# installs this script as $BUILD/tests/bench/bench_sim.
#   1. capacity: BENCH_SIM_DEVICES (10000) devices in ONE simulator process connect and heartbeat
#      (a reported.health shadow update per device every 10 s, jittered: ~1000 updates/s through
#      the server) for --seconds S + 12
#      -> sim_connected_devices, sim_connect_all_s, sim_heartbeats_per_s, sim_cpu_s,
#         sim_devices_per_cpu_s (connected device-seconds per CPU-second: devices per core)
#   2. update: one firmware job (dynamic group of all devices, no rollout rate limit) on the
#      same fleet WITH the heartbeats going on (every 30 s per device, ~330/s) -> sim_update_all_s (job created -> every device
#      reported a final status), sim_update_succeeded, and the overload handling: requests the
#      server answered as throttled (sim_update_throttled_shadow/_jobs as the devices saw them,
#      sim_update_retries, server_throttled from /metrics) and dropped requests
#      (server_dropped: bw_mqtt_messages_dropped_total, broker_dropped: Mosquitto's
#      $SYS/broker/publish/messages/dropped). Any dropped message fails the bench.
# Usage: bench_sim [--seconds S]
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
[ -f "$ROOT/Makefile" ] || ROOT="$(pwd)"
BUILD="${BUILD:-build/debug}"
SIM="$ROOT/$BUILD/bellwether-sim"
N="${BENCH_SIM_DEVICES:-10000}"
SECONDS_ARG=5
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECONDS_ARG="$2"; shift 2 ;;
	*) echo "usage: bench_sim [--seconds S]" >&2; exit 2 ;;
	esac
done
if [ -z "${BW_TEST_URL:-}" ] || [ ! -x "$SIM" ]; then
	echo "bench_sim: needs test.env and $SIM" >&2
	exit 2
fi
U="$BW_TEST_URL"
AUTH="Authorization: Bearer $BW_TEST_ADMIN_TOKEN"
W="$(mktemp -d /tmp/bench-sim.XXXXXX)"
trap 'rm -rf "$W"' EXIT
api() {
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H "$AUTH" -H 'Content-Type: application/json' -d "$3" "$U$2"
	else
		curl -sf -X "$1" -H "$AUTH" "$U$2"
	fi
}
uniq="$(date +%s)"
HW="bench-board-$uniq"
cat >"$W/fleet.json" <<EOF
{"seed": 5, "devices": $N, "prefix": "bench$uniq-", "time_scale": 20,
 "health_interval_ms": 200000, "confirm_delay_ms": 20000, "self_test_ms": 2000,
 "reboot_ms": 10000, "progress_every_ms": 60000,
 "cohorts": [{"name": "all", "hardware_type": "$HW", "firmware_version": "1.0.0",
  "security_version": 1}]}
EOF

# --- 1. capacity ---
"$SIM" "$W/fleet.json" --register --duration "$((SECONDS_ARG + 12))" --bench 2>&1 |
	tee "$W/cap.log" | grep -v '^BENCH'
grep '^BENCH' "$W/cap.log" || { echo "bench_sim: capacity run failed" >&2; exit 1; }

# --- 2. end-to-end update of the whole fleet ---
api POST /api/v1/firmware/keys "{\"name\":\"bench-sim-$uniq\",\"algorithm\":\"ecdsa-p256\"}" >"$W/key.json" ||
	{ echo "bench_sim: cannot create a signing key" >&2; exit 1; }
kid="$(jq -r .id "$W/key.json")"
api GET /api/v1/firmware/trust-list >"$W/trust.json"
head -c 65536 /dev/urandom >"$W/fw.bin"
api POST /api/v1/firmware/releases "{\"product\":\"bench-$uniq\",\"firmware_version\":\"2.0.0\",\"security_version\":1,\"hardware_types\":[\"$HW\"]}" >"$W/rel.json"
rid="$(jq -r .id "$W/rel.json")"
curl -sf -H "$AUTH" --data-binary @"$W/fw.bin" \
	"$U/api/v1/firmware/releases/$rid/artifacts?name=fw.bin&type=firmware" >/dev/null
api POST "/api/v1/firmware/releases/$rid/publish" "{\"key_id\":\"$kid\"}" >/dev/null
api GET "/api/v1/firmware/releases/$rid/artifacts/fw.bin" >"$W/art.json"
url="$(api POST "/api/v1/firmware/releases/$rid/artifacts/fw.bin/presign" '{"expires_in_s":7200}' | jq -r .url)"
api POST /api/v1/groups "{\"name\":\"bench-$uniq\",\"type\":\"dynamic\",\"query\":\"hardware_type = $HW\"}" >/dev/null ||
	{ echo "bench_sim: cannot create the dynamic group" >&2; exit 1; }
doc="$(jq -n --arg url "$url" --arg sig "$(jq -r .signature_sha256_ecdsa "$W/art.json")" \
	--arg sha "$(jq -r .sha256 "$W/art.json")" \
	'{afr_ota: {protocols: ["HTTP"], files: [{filesize: 65536, fileid: 0, update_data_url: $url,
	  "sig-sha256-ecdsa": $sig}]}, bellwether: {version: "2.0.0", security_version: 1, sha256: $sha}}')"
# metric_sum NAME: the sum of every series of a counter in the server's /metrics (0 if absent)
metric_sum() {
	curl -sf "$U/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d", s }'
}
# sys_read TOPIC: a retained $SYS value of the broker, "" after 12 s (or without mosquitto_sub)
sys_read() {
	command -v mosquitto_sub >/dev/null || return 0
	timeout 13 mosquitto_sub -h "$BW_TEST_MQTT_HOST" -p "$BW_TEST_MQTT_PORT" \
		-u "$BW_TEST_MQTT_SERVER_USER" -P "$BW_TEST_MQTT_SERVER_PASSWORD" -t "$1" -C 1 -W 12 \
		2>/dev/null
}
# broker_dropped: messages Mosquitto dropped since it started, -1 if $SYS cannot be read. The
# dropped count is published (retained) only once it changed: no value but a readable uptime = 0.
broker_dropped() {
	local v
	v="$(sys_read "\$SYS/broker/publish/messages/dropped")"
	if [ -z "$v" ]; then
		[ -n "$(sys_read "\$SYS/broker/uptime")" ] && v=0 || v=-1
	fi
	echo "$v"
}
thr0="$(metric_sum bw_mqtt_requests_throttled_total)"
drop0="$(metric_sum bw_mqtt_messages_dropped_total)"
# the update phase keeps the heartbeats going, every 30 s (a health report every 10 min of device
# time): ~330 updates/s on top of the update's own traffic
jq '.health_interval_ms = 600000' "$W/fleet.json" >"$W/update.json"
start="$(date +%s.%N)"
api POST /api/v1/jobs "$(jq -n --arg id "bench-$uniq" --arg g "bench-$uniq" --argjson d "$doc" \
	'{job_id: $id, targets: [{type: "group", name: $g}], document: $d}')" >/dev/null ||
	{ echo "bench_sim: cannot create the job" >&2; exit 1; }
"$SIM" "$W/update.json" --trust-list "$W/trust.json" --until-jobs 1 --duration "${BENCH_SIM_UPDATE_TIMEOUT:-170}" \
	--outcomes "$W/out.json" >"$W/upd.log" 2>&1
rc=$?
end="$(date +%s.%N)"
cat "$W/upd.log"
mkdir -p "$ROOT/$BUILD/bench" && cp "$W/out.json" "$ROOT/$BUILD/bench/sim-outcomes.json" 2>/dev/null
ok="$(jq '[.[] | select(.jobs[-1].status == "SUCCEEDED")] | length' "$W/out.json" 2>/dev/null || echo 0)"
thr="$(($(metric_sum bw_mqtt_requests_throttled_total) - thr0))"
dropped="$(($(metric_sum bw_mqtt_messages_dropped_total) - drop0))"
bdropped="$(broker_dropped)"
sed -n 's/^bellwether-sim: throttled: shadow \([0-9]*\) (heartbeats [0-9]*), jobs \([0-9]*\); retried \([0-9]*\).*/\1 \2 \3/p' \
	"$W/upd.log" | { read -r ts tj tr || true
	echo "BENCH sim_update_throttled_shadow=${ts:-0}"
	echo "BENCH sim_update_throttled_jobs=${tj:-0}"
	echo "BENCH sim_update_retries=${tr:-0}"; }
echo "BENCH sim_update_succeeded=$ok"
srv="$(api GET "/api/v1/jobs/bench-$uniq" | jq -r '.counts.succeeded // 0' 2>/dev/null || echo 0)"
echo "BENCH sim_update_server_succeeded=$srv"
echo "BENCH server_throttled=$thr"
echo "BENCH server_dropped=$dropped"
[ "$bdropped" = -1 ] || echo "BENCH broker_dropped=$bdropped"
fail=0
if [ "$dropped" -ne 0 ]; then
	echo "bench_sim: the server dropped $dropped messages (bw_mqtt_messages_dropped_total)" >&2
	fail=1
fi
if [ "$bdropped" != -1 ] && [ "$bdropped" -ne 0 ]; then
	echo "bench_sim: the broker dropped $bdropped messages" >&2
	fail=1
fi
if [ "$rc" -eq 0 ]; then
	echo "BENCH sim_update_all_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
else
	echo "bench_sim: not every device finished within ${BENCH_SIM_UPDATE_TIMEOUT:-170} s ($ok succeeded)" >&2
	fail=1
fi
exit "$fail"
