#!/usr/bin/env bash
# OTA jobs made by POST /api/v1/jobs/ota carry what the agent needs, end to end with the real
# server + broker and the bellwether-agent daemon (file-backed slots), AWS topics only:
#   1. the document has afr_ota + the `bellwether` object (version, security version, hardware
#      types, sha256, revert flag, signed manifest) and the agent updates over MQTT streams (CBOR,
#      as FreeRTOS; the restart test uses JSON)
#   2. a revert job to the known-safe release is accepted by a device running a newer version
#   3. the same downgrade without `revert` is REJECTED with the reason
#   4. `revert: true` for a release that is not known-safe is refused by the server (409)
#   5. a job canceled in the middle of a stream download stops it and removes the staging files
# Needs test.env (tests/harness/stack.sh). Ends with "N passed, M failed".
set -uo pipefail

# shellcheck source=../lib/agent-test.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/agent-test.sh"
agenttest_init test_agent_ota
cleanup() {
	[ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2>/dev/null || true
	[ "${KEEP_TEST_DIR:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
HW="ota-board-$uniq"


# release VERSION SECVER -> $W/rel-VERSION/{fw.bin,rid}
release() {
	local d="$W/rel-$1" rid
	mkdir -p "$d"
	head -c 30000 /dev/urandom >"$d/fw.bin"
	rid="$(api POST /api/v1/firmware/releases "{\"product\":\"ota-$uniq\",\"firmware_version\":\"$1\",\"security_version\":$2,\"hardware_types\":[\"$HW\"]}" | jq -r .id)" || return 1
	curl -sf -H "$AUTH" --data-binary @"$d/fw.bin" \
		"$U/api/v1/firmware/releases/$rid/artifacts?name=fw.bin&type=firmware" >/dev/null || return 1
	api POST "/api/v1/firmware/releases/$rid/publish" "{\"key_id\":\"$KID\"}" >/dev/null || return 1
	echo "$rid" >"$d/rid"
}

# ota_job JOB_ID THING VERSION PROTOCOLS_JSON REVERT -> HTTP status
ota_job() {
	code_of POST /api/v1/jobs/ota "$(jq -n --arg id "$1" --arg t "$2" \
		--arg rid "$(cat "$W/rel-$3/rid")" --argjson p "$4" --argjson r "$5" \
		'{job_id: $id, targets: [{type: "thing", name: $t}], release_id: $rid,
		  protocols: $p, revert: $r}')"
}

# start_agent THING SLOTDIR VERSION LOG [extra args]: starts the daemon (it exits once a job's
# final status is acknowledged) and waits until it is connected. The job is created after that,
# so the document arrives by notify-next.
start_agent() {
	local t="$1" dir="$2" v="$3" log="$4" i
	shift 4
	(cd "$W" && exec timeout 90 "$AGENT" --thing "$t" \
		--mqtt "$BW_TEST_MQTT_HOST:$BW_TEST_MQTT_PORT" --slot-dir "$dir" \
		--trust-list "$W/trust.json" --hardware-type "$HW" --initial-version "$v" \
		--initial-security-version 1 --confirm-delay-ms 300 --self-test true \
		--stream-timeout-ms 2000 --exit-after-job "$@") >"$log" 2>&1 &
	AGENT_PID=$!
	for i in $(seq 100); do
		grep -q "connected:" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}



register() { # register THING VERSION
	api POST /api/v1/things/bulk "{\"things\":[{\"name\":\"$1\",\"hardware_type\":\"$HW\",\"firmware_version\":\"$2\"}],\"on_conflict\":\"skip\"}" >/dev/null
}

# --- setup: key, trust list, releases 1.0.0 (known-safe) and 2.0.0, 2.5.0 ---
KID="$(api POST /api/v1/firmware/keys "{\"name\":\"ota-$uniq\",\"algorithm\":\"ecdsa-p256\"}" | jq -r .id)"
api GET /api/v1/firmware/trust-list >"$W/trust.json" || bad "trust list"
if [ -n "$KID" ] && release 1.0.0 1 && release 2.0.0 1 && release 2.5.0 1; then
	ok "releases published"
else
	bad "publishing releases"
	echo "$pass passed, $fail failed"
	exit 1
fi
api PUT "/api/v1/firmware/known-safe/$HW" "{\"release_id\":\"$(cat "$W/rel-1.0.0/rid")\"}" \
	>/dev/null || bad "known-safe pin"

# --- 1. document shape; upgrade over MQTT streams ---
T1="ota-up-$uniq"
register "$T1" 1.0.0
start_agent "$T1" "$W/s1" 1.0.0 "$W/a1.log" --stream-block-size 1024 --stream-window 4 \
	--stream-encoding cbor ||
	bad "agent 1 did not connect"
c="$(ota_job "up-$uniq" "$T1" 2.0.0 '["MQTT"]' false)"
if [ "$c" = 201 ]; then ok "OTA job created"; else bad "OTA job: $c $(cat "$W/last.json")"; fi
doc="$(api GET "/api/v1/jobs/up-$uniq/document" 2>/dev/null || api GET "/api/v1/jobs/up-$uniq" | jq '.document // .job.document')"
echo "$doc" | jq -e --arg sha "$(sha256sum "$W/rel-2.0.0/fw.bin" | cut -d' ' -f1)" --arg hw "$HW" \
	--arg rid "$(cat "$W/rel-2.0.0/rid")" \
	'(if type == "string" then fromjson else . end) as $d |
	 $d.afr_ota.protocols == ["MQTT"] and ($d.afr_ota.streamname | startswith("AFR_OTA-")) and
	 $d.bellwether.version == "2.0.0" and $d.bellwether.security_version == 1 and
	 $d.bellwether.release_id == $rid and $d.bellwether.hardware_types == [$hw] and
	 $d.bellwether.sha256 == $sha and $d.bellwether.revert == false and
	 ($d.bellwether.manifest | fromjson | .version) == "2.0.0"' >/dev/null &&
	ok "document has afr_ota (MQTT) and the bellwether object" ||
	bad "document: $(echo "$doc" | head -c 600)"
if wait_agent &&
	grep -q "job_done: up-$uniq SUCCEEDED" "$W/a1.log" &&
	grep -q "stream_start: .*(cbor)" "$W/a1.log" && grep -q "stream_complete" "$W/a1.log" &&
	cmp -s "$W/s1/slot-b.img" "$W/rel-2.0.0/fw.bin"; then
	ok "agent downloaded over MQTT streams in CBOR (30 blocks of 1 KiB), slot B, SUCCEEDED"
else
	bad "MQTT update: $(tail -5 "$W/a1.log")"
fi
st="$(exec_status "up-$uniq" "$T1")"
[ "$st" = SUCCEEDED ] && ok "server: execution SUCCEEDED" || bad "server execution status '$st'"
fwv="$(api GET "/api/v1/things/$T1/shadows/~classic" | jq -r '.state.reported.firmware.version // empty')"
[ "$fwv" = 2.0.0 ] && ok "shadow reports firmware 2.0.0" || bad "shadow firmware '$fwv'"

# --- 2. revert to the known-safe release: accepted despite the lower version ---
T2="ota-rev-$uniq"
register "$T2" 2.5.0
start_agent "$T2" "$W/s2" 2.5.0 "$W/a2.log" || bad "agent 2 did not connect"
c="$(ota_job "rev-$uniq" "$T2" 1.0.0 '["HTTP"]' true)"
[ "$c" = 201 ] || bad "revert job: $c $(cat "$W/last.json")"
if wait_agent &&
	grep -q "job_done: rev-$uniq SUCCEEDED" "$W/a2.log" &&
	cmp -s "$W/s2/slot-b.img" "$W/rel-1.0.0/fw.bin"; then
	ok "revert 2.5.0 -> known-safe 1.0.0 accepted and installed"
else
	bad "revert: $(tail -5 "$W/a2.log")"
fi
st="$(exec_status "rev-$uniq" "$T2")"
[ "$st" = SUCCEEDED ] && ok "server: revert execution SUCCEEDED" || bad "revert execution '$st'"

# --- 3. the same downgrade without revert: REJECTED with the reason ---
T3="ota-dwn-$uniq"
register "$T3" 2.5.0
start_agent "$T3" "$W/s3" 2.5.0 "$W/a3.log" || bad "agent 3 did not connect"
c="$(ota_job "dwn-$uniq" "$T3" 1.0.0 '["HTTP"]' false)"
[ "$c" = 201 ] || bad "downgrade job: $c $(cat "$W/last.json")"
wait_agent
if grep -q "job_done: dwn-$uniq REJECTED: downgrade from 2.5.0 to 1.0.0 refused" "$W/a3.log" &&
	[ ! -e "$W/s3/slot-b.img" -o ! -s "$W/s3/slot-b.img" ]; then
	ok "plain downgrade REJECTED by the agent, slot B untouched"
else
	bad "downgrade: $(tail -5 "$W/a3.log")"
fi
st="$(exec_status "dwn-$uniq" "$T3")"
[ "$st" = REJECTED ] && ok "server: downgrade execution REJECTED" || bad "downgrade execution '$st'"
reason="$(api GET "/api/v1/jobs/dwn-$uniq/executions" | jq -r '.items[0].status_details.reason // empty')"
case "$reason" in
*"downgrade from 2.5.0 to 1.0.0 refused"*) ok "server keeps the reason: $reason" ;;
*) bad "server reason '$reason'" ;;
esac

# --- 4. revert to a release that is not known-safe: refused by the server ---
c="$(ota_job "bad-$uniq" "$T3" 2.0.0 '["HTTP"]' true)"
if [ "$c" = 409 ] && jq -e '.error.message | test("not a known-safe release")' "$W/last.json" >/dev/null; then
	ok "revert to a release that is not known-safe: 409"
else
	bad "non-known-safe revert: $c $(cat "$W/last.json")"
fi
c="$(ota_job "bad2-$uniq" "$T3" 2.0.0 '["HTTP"]' '"yes"')"
[ "$c" = 400 ] && ok "revert must be a boolean: 400" || bad "revert type: $c"

# --- 5. a job canceled (force) in the middle of a stream download: the agent stops asking and
#        deletes its staging files ---
T5="ota-cxl-$uniq"
register "$T5" 1.0.0
start_agent "$T5" "$W/s5" 1.0.0 "$W/a5.log" --stream-block-size 1024 --stream-window 1 \
	--download-rate 4096 || bad "agent 5 did not connect"
c="$(ota_job "cxl-$uniq" "$T5" 2.0.0 '["MQTT"]' false)"
[ "$c" = 201 ] || bad "cancel job: $c $(cat "$W/last.json")"
for _ in $(seq 50); do [ -s "$W/s5/download-cxl-$uniq.part" ] && break; sleep 0.1; done
c="$(code_of POST "/api/v1/jobs/cxl-$uniq/cancel" '{"force": true}')"
[ "$c" = 200 ] || [ "$c" = 202 ] || bad "cancel: $c $(cat "$W/last.json")"
for _ in $(seq 50); do grep -q download_canceled "$W/a5.log" && break; sleep 0.1; done
if grep -q download_canceled "$W/a5.log" && [ ! -e "$W/s5/download-cxl-$uniq.part" ] &&
	[ ! -e "$W/s5/download-cxl-$uniq.blocks" ] && ! grep -q stream_complete "$W/a5.log"; then
	ok "canceled mid-stream: download stopped, staging files deleted"
else
	bad "cancel mid-stream: $(tail -3 "$W/a5.log"); $(ls "$W/s5")"
fi
kill "$AGENT_PID" 2>/dev/null
wait_agent

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
