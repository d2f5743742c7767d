#!/usr/bin/env bash
# `make demo`: the local stack of `make run` (scripts/run-local.sh) plus a simulated fleet of
# BELLWETHER_DEMO_DEVICES (default 300) devices in three cohorts that registers itself through
# the REST API and keeps heartbeating, so the dashboard shows a live fleet at once. Ctrl-C stops
# the fleet and the stack.
#
# Usage: scripts/demo.sh BUILD_DIR        (make demo passes build/debug)
# Env:   BELLWETHER_DEMO_DEVICES, BELLWETHER_LOCAL_DIR and the run-local.sh variables
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD="${1:-build/debug}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
N="${BELLWETHER_DEMO_DEVICES:-300}"
LOCAL="${BELLWETHER_LOCAL_DIR:-$ROOT/.local}"
STACK_PID=""
SIM_PID=""

cleanup() {
	trap '' INT TERM
	[ -z "$SIM_PID" ] || kill "$SIM_PID" 2>/dev/null || true
	[ -z "$SIM_PID" ] || wait "$SIM_PID" 2>/dev/null || true
	if [ -n "$STACK_PID" ]; then
		kill -TERM "$STACK_PID" 2>/dev/null || true
		wait "$STACK_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$BUILD/bellwetherd" ] && [ -x "$BUILD/bellwether-sim" ] ||
	{ echo "demo: build first (make demo does)" >&2; exit 2; }

mkdir -p "$LOCAL/logs"
"$HERE/run-local.sh" "$BUILD/bellwetherd" >"$LOCAL/logs/demo-stack.log" 2>&1 &
STACK_PID=$!
echo "demo: starting the local stack (log: $LOCAL/logs/demo-stack.log)"

# run-local.sh prints the URL, the broker port and the admin token once the server is ready
url="" token="" mqtt=""
for _ in $(seq 1 120); do
	if ! kill -0 "$STACK_PID" 2>/dev/null; then
		echo "demo: the stack did not start:" >&2
		tail -n 20 "$LOCAL/logs/demo-stack.log" >&2
		exit 1
	fi
	url="$(sed -n 's|^ *Dashboard *\(http://[^/ ]*\).*|\1|p' "$LOCAL/logs/demo-stack.log" | head -n 1)"
	mqtt="$(sed -n 's|^run-local: starting mosquitto on [0-9.]*:\([0-9]*\).*|\1|p' \
		"$LOCAL/logs/demo-stack.log" | tail -n 1)"
	[ -s "$LOCAL/admin.token" ] && token="$(head -n 1 "$LOCAL/admin.token")"
	if [ -n "$url" ] && [ -n "$token" ] && [ -n "$mqtt" ] &&
		curl -sf "$url/readyz" >/dev/null 2>&1; then
		break
	fi
	sleep 1
done
if [ -z "$url" ] || [ -z "$token" ] || [ -z "$mqtt" ]; then
	echo "demo: could not find the server URL, broker port or admin token in the stack log" >&2
	tail -n 20 "$LOCAL/logs/demo-stack.log" >&2
	exit 1
fi

scenario="$LOCAL/demo-fleet.json"
cat >"$scenario" <<EOF
{"seed": 42, "devices": $N, "prefix": "demo-", "time_scale": 10,
 "health_interval_ms": 300000, "confirm_delay_ms": 30000, "self_test_ms": 5000,
 "reboot_ms": 20000, "progress_every_ms": 20000,
 "cohorts": [
  {"name": "pumps", "share": 0.5, "hardware_type": "esp32", "firmware_version": "1.0.0",
   "security_version": 1, "failures": {"flaps_per_hour": 0.5}},
  {"name": "gateways", "share": 0.3, "hardware_type": "rpi4", "firmware_version": "2.1.0",
   "security_version": 2, "failures": {"boot_failure": 0.02, "link_bytes_per_s": 200000}},
  {"name": "sensors", "share": 0.2, "hardware_type": "stm32", "firmware_version": "0.9.3",
   "security_version": 1, "failures": {"crash_loop": 0.05, "reject": 0.02}}]}
EOF
echo "demo: $N simulated devices (scenario $scenario) register and connect to 127.0.0.1:$mqtt"
"$BUILD/bellwether-sim" "$scenario" --mqtt "127.0.0.1:$mqtt" --api "$url" --token "$token" \
	--register >"$LOCAL/logs/demo-fleet.log" 2>&1 &
SIM_PID=$!
echo "demo: dashboard $url  (admin token in $LOCAL/admin.token; fleet log $LOCAL/logs/demo-fleet.log)"
echo "demo: publish a release and create a firmware job (agent/README.md) to watch an update; Ctrl-C stops"
wait "$SIM_PID" || { echo "demo: the simulator stopped:" >&2; tail -n 5 "$LOCAL/logs/demo-fleet.log" >&2; }
