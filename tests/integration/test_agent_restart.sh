#!/usr/bin/env bash
# bellwether-agent survives a server and a broker restart in the middle of a download, with the
# real stack, and resumes instead of starting over:
#   1. HTTP: a rate-limited download (--download-rate); bellwetherd is killed and restarted, then
#      Mosquitto is stopped and started; the agent resumes with Range from the bytes it kept
#      ("download_resume ... from byte N", N > 0) and the job ends SUCCEEDED on slot B.
#   2. MQTT file streams: the same with the server down long enough for the agent to give up
#      the attempt and resume from its persisted block map ("stream_resume ... K/N blocks"),
#      then a broker restart, then a kill -9 of the agent itself (a power cut): the restarted
#      agent resumes from the progress record again; SUCCEEDED on slot B.
# Restarts the stack's bellwetherd and Mosquitto (tests/harness/stack.sh server-start,
# mqtt-stop, mqtt-start) and waits for /readyz before it ends. Needs test.env. Prints
# "N passed, M failed".
set -uo pipefail

# shellcheck source=../lib/agent-test.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/agent-test.sh"
agenttest_init test_agent_restart BW_TEST_STACK
# HTTP: 8 MiB at 1 MiB/s; MQTT streams: 1 MiB at 64 KiB/s (4 KiB blocks): ~8 and ~16 s
HTTP_SIZE=8388608
HTTP_RATE=1048576
MQTT_SIZE=1048576
MQTT_RATE=65536
cleanup() {
	[ -z "$AGENT_PID" ] || kill -TERM "$AGENT_PID" 2>/dev/null || true # timeout(1) passes it on
	# leave the shared stack running whatever happened
	[ -f "$BW_TEST_DIR/mqtt/mosquitto.pid" ] && kill -0 "$(cat "$BW_TEST_DIR/mqtt/mosquitto.pid")" 2>/dev/null ||
		"$BW_TEST_STACK" mqtt-start "$BW_TEST_DIR" >/dev/null 2>&1
	kill -0 "$(cat "$BW_TEST_DIR/bellwetherd.pid" 2>/dev/null)" 2>/dev/null ||
		"$BW_TEST_STACK" server-start "$BW_TEST_DIR" >/dev/null 2>&1
	wait_ready 30 || true
	[ "${KEEP_TEST_DIR:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
HW="rst-board-$uniq"

wait_ready() { # wait_ready SECONDS: /readyz 200 (database and broker connection up)
	local end=$((SECONDS + $1))
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/readyz")" = 200 ]; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}
# wait_size FILE BYTES SECONDS: until FILE holds at least BYTES
wait_size() {
	local end=$((SECONDS + $3))
	until [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
server_restart() { # server_restart DOWN_SECONDS: kill -9, wait, start
	kill -KILL "$(cat "$BW_TEST_DIR/bellwetherd.pid")" 2>/dev/null
	sleep "$1"
	"$BW_TEST_STACK" server-start "$BW_TEST_DIR" >/dev/null 2>&1 || return 1
	wait_ready 30
}
broker_restart() { # broker_restart DOWN_SECONDS
	"$BW_TEST_STACK" mqtt-stop "$BW_TEST_DIR" >/dev/null 2>&1 || return 1
	sleep "$1"
	"$BW_TEST_STACK" mqtt-start "$BW_TEST_DIR" >/dev/null 2>&1 || return 1
	wait_ready 30
}

release() { # release VERSION SIZE -> $W/rel-VERSION/{fw.bin,rid}
	local d="$W/rel-$1" rid
	mkdir -p "$d"
	head -c "$2" /dev/urandom >"$d/fw.bin"
	rid="$(api POST /api/v1/firmware/releases "{\"product\":\"rst-$uniq\",\"firmware_version\":\"$1\",\"security_version\":1,\"hardware_types\":[\"$HW\"]}" | jq -r .id)" || return 1
	curl -sf -H "$AUTH" --data-binary @"$d/fw.bin" \
		"$U/api/v1/firmware/releases/$rid/artifacts?name=fw.bin&type=firmware" >/dev/null || return 1
	api POST "/api/v1/firmware/releases/$rid/publish" "{\"key_id\":\"$KID\"}" >/dev/null || return 1
	echo "$rid" >"$d/rid"
}

ota_job() { # ota_job JOB THING VERSION PROTOCOLS_JSON
	api POST /api/v1/jobs/ota "$(jq -n --arg id "$1" --arg t "$2" \
		--arg rid "$(cat "$W/rel-$3/rid")" --argjson p "$4" \
		'{job_id: $id, targets: [{type: "thing", name: $t}], release_id: $rid, protocols: $p}')" \
		>/dev/null
}

start_agent() { # start_agent THING SLOTDIR LOG [extra args]; waits for the MQTT connection
	local t="$1" dir="$2" log="$3" i
	shift 3
	(cd "$W" && exec timeout 150 "$AGENT" --thing "$t" \
		--mqtt "$BW_TEST_MQTT_HOST:$BW_TEST_MQTT_PORT" --slot-dir "$dir" \
		--trust-list "$W/trust.json" --hardware-type "$HW" --initial-version 1.0.0 \
		--initial-security-version 1 --confirm-delay-ms 300 --self-test true \
		--exit-after-job "$@") >>"$log" 2>&1 &
	AGENT_PID=$!
	for i in $(seq 100); do
		[ "$(grep -c "connected:" "$log" 2>/dev/null)" -gt "${CONNECTS:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}



active_slot() { jq -r '.active_slot // .slot // .current // empty' "$1/bootstate.json" 2>/dev/null; }

register() {
	api POST /api/v1/things/bulk "{\"things\":[{\"name\":\"$1\",\"hardware_type\":\"$HW\",\"firmware_version\":\"1.0.0\"}],\"on_conflict\":\"skip\"}" >/dev/null
}

# --- setup ---
KID="$(api POST /api/v1/firmware/keys "{\"name\":\"rst-$uniq\",\"algorithm\":\"ecdsa-p256\"}" | jq -r .id)"
api GET /api/v1/firmware/trust-list >"$W/trust.json" || bad "trust list"
if [ -n "$KID" ] && release 2.0.0 "$HTTP_SIZE" && release 3.0.0 "$MQTT_SIZE"; then
	ok "releases published (HTTP $HTTP_SIZE, MQTT $MQTT_SIZE bytes)"
else
	bad "publishing releases"
	echo "$pass passed, $fail failed"
	exit 1
fi

# --- 1. HTTP download across a server restart and a broker restart ---
T1="rst-http-$uniq"
J1="rst-http-$uniq"
register "$T1"
start_agent "$T1" "$W/s1" "$W/a1.log" --protocols http --download-rate "$HTTP_RATE" ||
	bad "agent 1 did not connect"
ota_job "$J1" "$T1" 2.0.0 '["HTTP"]' || bad "HTTP OTA job"
P1="$W/s1/download-$J1.part"
if wait_size "$P1" 1000000 30; then
	b1="$(size_of "$P1")"
	server_restart 1 && ok "server restarted at $b1 bytes" || bad "server restart"
	b2="$(size_of "$P1")"
	wait_size "$P1" $((b2 + 500000)) 40 || bad "download did not go on after the server restart"
	b3="$(size_of "$P1")"
	broker_restart 2 && ok "broker restarted at $b3 bytes" || bad "broker restart"
else
	bad "HTTP download did not start: $(tail -3 "$W/a1.log")"
fi
wait_agent
rc=$?
resumed="$(sed -n "s/.*download_resume: job $J1 from byte \([0-9]*\).*/\1/p" "$W/a1.log" | head -1)"
if [ -n "$resumed" ] && [ "$resumed" -gt 0 ]; then
	ok "HTTP download resumed with Range from byte $resumed (not from zero)"
else
	bad "no Range resume in the log: $(grep download_ "$W/a1.log" | tail -3)"
fi
grep -q "disconnected" "$W/a1.log" && ok "agent saw the broker go away and reconnected ($(grep -c 'connected:' "$W/a1.log") connects)" ||
	bad "agent never lost the broker"
if [ "$rc" = 0 ] && grep -q "job_done: $J1 SUCCEEDED" "$W/a1.log" &&
	cmp -s "$W/s1/slot-b.img" "$W/rel-2.0.0/fw.bin"; then
	ok "HTTP: SUCCEEDED, slot B holds the new image"
else
	bad "HTTP update (exit $rc): $(tail -5 "$W/a1.log")"
fi
st="$(exec_status "$J1" "$T1")"
[ "$st" = SUCCEEDED ] && ok "server: HTTP execution SUCCEEDED" || bad "server: HTTP execution '$st'"

# --- 2. MQTT streams across a server restart, a broker restart and an agent power cut ---
T2="rst-mqtt-$uniq"
J2="rst-mqtt-$uniq"
register "$T2"
MQTT_ARGS=(--protocols mqtt --stream-block-size 4096 --stream-window 2 --stream-timeout-ms 500
	--download-rate "$MQTT_RATE")
CONNECTS=0
start_agent "$T2" "$W/s2" "$W/a2.log" "${MQTT_ARGS[@]}" || bad "agent 2 did not connect"
ota_job "$J2" "$T2" 3.0.0 '["MQTT"]' || bad "MQTT OTA job"
P2="$W/s2/download-$J2.part"
if wait_size "$P2" 150000 30; then
	b1="$(size_of "$P2")"
	# down for 5 s: six silent 0.5 s requests end the attempt; the retry resumes from disk
	server_restart 5 && ok "server restarted at $b1 bytes (down 5 s)" || bad "server restart"
	b2="$(size_of "$P2")"
	wait_size "$P2" $((b2 + 100000)) 40 || bad "stream did not go on after the server restart"
	b3="$(size_of "$P2")"
	broker_restart 2 && ok "broker restarted at $b3 bytes" || bad "broker restart"
	b4="$(size_of "$P2")"
	wait_size "$P2" $((b4 + 100000)) 40 || bad "stream did not go on after the broker restart"
	sleep 1.2 # let a progress record reach the disk (saved every 64 blocks or 1 s)
	# AGENT_PID is timeout(1); the agent is its only child
	kill -KILL "$(pgrep -P "$AGENT_PID")"
	wait "$AGENT_PID" 2>/dev/null
	b5="$(size_of "$P2")"
	ok "agent killed (-9) at $b5 bytes"
	CONNECTS="$(grep -c "connected:" "$W/a2.log")"
	start_agent "$T2" "$W/s2" "$W/a2.log" "${MQTT_ARGS[@]}" || bad "agent 2 did not reconnect"
else
	bad "MQTT download did not start: $(tail -3 "$W/a2.log")"
fi
wait_agent
rc=$?
n_resume="$(grep -c "stream_resume: job $J2" "$W/a2.log")"
first="$(sed -n "s/.*stream_resume: job $J2 from \([0-9]*\)\/.*/\1/p" "$W/a2.log" | head -1)"
last="$(sed -n "s/.*stream_resume: job $J2 from \([0-9]*\)\/.*/\1/p" "$W/a2.log" | tail -1)"
if [ "$n_resume" -ge 2 ] && [ "${first:-0}" -gt 0 ] && [ "${last:-0}" -gt "${first:-0}" ]; then
	ok "stream resumed from the persisted block map $n_resume times (first at block $first, after the power cut at block $last)"
else
	bad "stream resumes: $n_resume, first '$first', last '$last': $(grep stream_ "$W/a2.log" | tail -4)"
fi
grep "stream_complete" "$W/a2.log" | sed 's/^/     /'
if [ "$rc" = 0 ] && grep -q "job_done: $J2 SUCCEEDED" "$W/a2.log" &&
	cmp -s "$W/s2/slot-b.img" "$W/rel-3.0.0/fw.bin"; then
	ok "MQTT: SUCCEEDED, slot B holds the new image"
else
	bad "MQTT update (exit $rc): $(tail -5 "$W/a2.log")"
fi
st="$(exec_status "$J2" "$T2")"
[ "$st" = SUCCEEDED ] && ok "server: MQTT execution SUCCEEDED" || bad "server: MQTT execution '$st'"
fwv="$(api GET "/api/v1/things/$T2/shadows/~classic" | jq -r '.state.reported.firmware | "\(.version) \(.slot)"')"
[ "$fwv" = "3.0.0 B" ] && ok "shadow: firmware 3.0.0 on slot B" || bad "shadow firmware '$fwv'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
