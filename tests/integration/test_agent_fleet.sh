#!/usr/bin/env bash
# End-to-end firmware updates with the real server + broker, driven by bellwether-sim (the same
# agent state machine as bellwether-agent) over the AWS topics only:
#   1. a firmware job succeeds on 100 simulated devices
#   2. a bad image (never boots) falls back and every device reports FAILED
#   3. a silent fallback (SUCCEEDED, then the old image boots) is visible in the shadow
#   4. a revert job to the known-safe release is accepted; the same downgrade without the revert
#      flag is REJECTED
#   5. bellwether-agent (the daemon, file-backed slots) updates itself end to end
#   6. the other failure modes: reject, download corruption, self-test failure, slow links with
#      network flaps, crash loop (visible in the shadow's health), hang (server TIMED_OUT)
# Needs test.env (tests/harness/stack.sh) and the Jobs engine: exits 77 (skipped) when
# POST /api/v1/jobs is not routed (404). Ends with "N passed, M failed".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build/debug}"
SIM="$ROOT/$BUILD/bellwether-sim"
AGENT="$ROOT/$BUILD/bellwether-agent"

if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
	# shellcheck source=/dev/null
	. "$BW_TEST_ENV_FILE"
fi
if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_ADMIN_TOKEN:-}" ]; then
	echo "test_agent_fleet: no running bellwetherd (BW_TEST_URL unset); skipped"
	exit 77
fi
for tool in curl jq openssl; do
	command -v "$tool" >/dev/null || { echo "test_agent_fleet: $tool missing; skipped"; exit 77; }
done
if [ ! -x "$SIM" ] || [ ! -x "$AGENT" ]; then
	echo "test_agent_fleet: $SIM or $AGENT not built; skipped"
	exit 77
fi

U="$BW_TEST_URL"
AUTH="Authorization: Bearer $BW_TEST_ADMIN_TOKEN"
W="$(mktemp -d /tmp/bw-agent-fleet.XXXXXX)"
AGENT_PID=""
cleanup() {
	[ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2>/dev/null || true
	[ "${KEEP_TEST_DIR:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
pass=0
fail=0
uniq="$(date +%s)$$"

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
api() { # api METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H "$AUTH" -H 'Content-Type: application/json' -d "$3" "$U$2"
	else
		curl -sf -X "$1" -H "$AUTH" "$U$2"
	fi
}

# Probe: the Jobs engine must answer. 404 = not routed yet -> skip.
code="$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$U/api/v1/jobs")"
if [ "$code" = 404 ]; then
	echo "test_agent_fleet: /api/v1/jobs not routed (Jobs engine missing); skipped"
	exit 77
fi

# release VERSION SECVER -> "$W/rel-VERSION/{fw.bin,release.json,artifact.json,url}"
release() {
	local v="$1" sv="$2" d="$W/rel-$1" rid
	mkdir -p "$d"
	head -c 20000 /dev/urandom >"$d/fw.bin"
	api POST /api/v1/firmware/releases "{\"product\":\"agent-$uniq\",\"firmware_version\":\"$v\",\"security_version\":$sv,\"hardware_types\":[\"sim-board\"]}" \
		>"$d/release.json" || return 1
	rid="$(jq -r .id "$d/release.json")"
	curl -sf -H "$AUTH" --data-binary @"$d/fw.bin" \
		"$U/api/v1/firmware/releases/$rid/artifacts?name=fw.bin&type=firmware" >/dev/null || return 1
	api POST "/api/v1/firmware/releases/$rid/publish" "{\"key_id\":\"$KID\"}" >/dev/null || return 1
	api GET "/api/v1/firmware/releases/$rid/manifest" >"$d/manifest.json" || return 1
	api GET "/api/v1/firmware/releases/$rid/artifacts/fw.bin" >"$d/artifact.json" || return 1
	api POST "/api/v1/firmware/releases/$rid/artifacts/fw.bin/presign" '{"expires_in_s":3600}' |
		jq -r .url >"$d/url" || return 1
	echo "$rid" >"$d/rid"
}

# document VERSION SECVER REVERT -> the job document (afr_ota + bellwether) on stdout
document() {
	local d="$W/rel-$1"
	jq -n --arg url "$(cat "$d/url")" --arg sig "$(jq -r .signature_sha256_ecdsa "$d/artifact.json")" \
		--arg sha "$(jq -r .sha256 "$d/artifact.json")" --argjson size "$(stat -c %s "$d/fw.bin")" \
		--arg v "$1" --argjson sv "$2" --argjson revert "$3" --arg rid "$(cat "$d/rid")" \
		--rawfile manifest "$d/manifest.json" \
		'{afr_ota: {protocols: ["HTTP"], files: [{filesize: $size, fileid: 0,
		   update_data_url: $url, auth_scheme: "aws.s3.presigned", "sig-sha256-ecdsa": $sig}]},
		  bellwether: {release_id: $rid, version: $v, security_version: $sv, revert: $revert,
		   sha256: $sha, hardware_types: ["sim-board"], manifest: ($manifest | rtrimstr("\n"))}}'
}

# job JOB_ID PREFIX COUNT VERSION SECVER REVERT: targets PREFIX000000..COUNT-1
job() {
	local id="$1" prefix="$2" n="$3" targets
	targets="$(jq -n --arg p "$prefix" --argjson n "$n" \
		'[range(0; $n) | {type: "thing", name: ($p + (. | tostring | ("000000" + .) | .[-6:]))}]')"
	api POST /api/v1/jobs "$(jq -n --arg id "$id" --argjson t "$targets" \
		--argjson doc "$(document "$4" "$5" "$6")" '{job_id: $id, targets: $t, document: $doc}')" \
		>"$W/job-$id.json"
}

# sim NAME SCENARIO_JSON: registers, runs until every device finished one job (or 120 s)
sim() {
	echo "$2" >"$W/$1.scenario.json"
	timeout 150 "$SIM" "$W/$1.scenario.json" --api "$U" --token "$BW_TEST_ADMIN_TOKEN" \
		--trust-list "$W/trust.json" --until-jobs 1 --duration 120 \
		--outcomes "$W/$1.outcomes.json" >"$W/$1.log" 2>&1
}

count_status() { jq --arg s "$2" '[.[] | select(.jobs[-1].status == $s)] | length' "$1"; }

scenario() { # scenario PREFIX DEVICES VERSION FAILURES_JSON
	jq -n --arg p "$1" --argjson n "$2" --arg v "$3" --argjson f "$4" \
		'{seed: 11, devices: $n, prefix: $p, time_scale: 50, confirm_delay_ms: 5000,
		  self_test_ms: 1000, reboot_ms: 5000, health_interval_ms: 60000,
		  progress_every_ms: 5000, cohorts: [{name: "c", hardware_type: "sim-board",
		  firmware_version: $v, security_version: 1, failures: $f}]}'
}

register() { # register PREFIX COUNT VERSION: create the things first (jobs target them)
	"$SIM" <(scenario "$1" "$2" "$3" '{}') --api "$U" --token "$BW_TEST_ADMIN_TOKEN" \
		--trust-list "$W/trust.json" --register --duration 0.01 >/dev/null 2>&1
}

# --- setup: key, trust list, releases 1.0.0 (known-safe), 2.0.0 and 3.0.0 ---
api POST /api/v1/firmware/keys "{\"name\":\"agent-$uniq\",\"algorithm\":\"ecdsa-p256\"}" >"$W/key.json" ||
	{ bad "create signing key"; echo "$pass passed, $fail failed"; exit 1; }
KID="$(jq -r .id "$W/key.json")"
api GET /api/v1/firmware/trust-list >"$W/trust.json" || bad "trust list"
if release 1.0.0 1 && release 2.0.0 1 && release 3.0.0 1; then
	ok "releases published"
else
	bad "publishing releases"
	echo "$pass passed, $fail failed"
	exit 1
fi
api PUT /api/v1/firmware/known-safe/sim-board "{\"release_id\":\"$(cat "$W/rel-1.0.0/rid")\"}" \
	>/dev/null || bad "known-safe pin"

# --- 1. 100 devices succeed ---
P1="ok$uniq-"
register "$P1" 100 1.0.0
if job "ok-$uniq" "$P1" 100 2.0.0 1 false && sim ok "$(scenario "$P1" 100 1.0.0 '{}')"; then
	n="$(count_status "$W/ok.outcomes.json" SUCCEEDED)"
	v="$(jq '[.[] | select(.version == "2.0.0" and .slot == "B")] | length' "$W/ok.outcomes.json")"
	if [ "$n" = 100 ] && [ "$v" = 100 ]; then ok "100 devices SUCCEEDED on 2.0.0 slot B"; else bad "succeeded $n, on 2.0.0 $v (log: $(tail -3 "$W/ok.log"))"; fi
	st="$(api GET "/api/v1/jobs/ok-$uniq" | jq -r '.status // .job.status // empty')"
	echo "     job status: $st"
else
	bad "job on 100 devices: $(tail -5 "$W/ok.log" 2>/dev/null)"
fi

# --- 2. bad image: boot failure -> fallback -> FAILED ---
P2="bad$uniq-"
register "$P2" 20 1.0.0
if job "bad-$uniq" "$P2" 20 2.0.0 1 false &&
	sim bad "$(scenario "$P2" 20 1.0.0 '{"boot_failure": 1}')"; then
	n="$(count_status "$W/bad.outcomes.json" FAILED)"
	v="$(jq '[.[] | select(.version == "1.0.0" and .slot == "A")] | length' "$W/bad.outcomes.json")"
	r="$(jq -r '.[0].jobs[-1].reason' "$W/bad.outcomes.json")"
	if [ "$n" = 20 ] && [ "$v" = 20 ]; then ok "bad image: 20 FAILED, back on 1.0.0 slot A ($r)"; else bad "bad image: FAILED $n, on 1.0.0 $v"; fi
	ex="$(api GET "/api/v1/jobs/bad-$uniq/executions" | jq -r '[.. | objects | select(has("status")) | .status] | map(select(. == "FAILED")) | length')"
	if [ "${ex:-0}" -ge 20 ]; then ok "server recorded FAILED executions"; else bad "server FAILED executions: $ex"; fi
else
	bad "bad image run: $(tail -5 "$W/bad.log" 2>/dev/null)"
fi

# --- 3. silent fallback visible in the shadow ---
P3="sil$uniq-"
register "$P3" 10 1.0.0
if job "sil-$uniq" "$P3" 10 2.0.0 1 false &&
	sim sil "$(scenario "$P3" 10 1.0.0 '{"silent_fallback": 1}')"; then
	n="$(count_status "$W/sil.outcomes.json" SUCCEEDED)"
	sv="$(api GET "/api/v1/things/${P3}000000/shadows/~classic" | jq -r '.state.reported.firmware.version // empty')"
	if [ "$n" = 10 ] && [ "$sv" = 1.0.0 ]; then
		ok "silent fallback: job SUCCEEDED but shadow reports firmware 1.0.0"
	else
		bad "silent fallback: SUCCEEDED $n, shadow firmware '$sv'"
	fi
else
	bad "silent fallback run: $(tail -5 "$W/sil.log" 2>/dev/null)"
fi

# --- 4. revert to known-safe accepted; plain downgrade rejected ---
P4="rev$uniq-"
P5="dwn$uniq-"
register "$P4" 10 3.0.0
register "$P5" 10 3.0.0
if job "rev-$uniq" "$P4" 10 1.0.0 1 true && job "dwn-$uniq" "$P5" 10 1.0.0 1 false &&
	sim rev "$(scenario "$P4" 10 3.0.0 '{}')" && sim dwn "$(scenario "$P5" 10 3.0.0 '{}')"; then
	a="$(count_status "$W/rev.outcomes.json" SUCCEEDED)"
	b="$(count_status "$W/dwn.outcomes.json" REJECTED)"
	if [ "$a" = 10 ]; then ok "revert to known-safe 1.0.0 accepted on 10 devices"; else bad "revert: SUCCEEDED $a"; fi
	if [ "$b" = 10 ]; then ok "plain downgrade REJECTED on 10 devices"; else bad "downgrade: REJECTED $b"; fi
else
	bad "revert runs: $(tail -3 "$W/rev.log" "$W/dwn.log" 2>/dev/null)"
fi

# --- 6. every other failure mode of the simulator: the device stays safe, the server knows ---
# one_failure NAME FAILURES_JSON: 10 devices on 1.0.0 take a 2.0.0 job with that failure rate 1
one_failure() {
	local p="$1$uniq-"
	register "$p" 10 1.0.0
	job "$1-$uniq" "$p" 10 2.0.0 1 false && sim "$1" "$(scenario "$p" 10 1.0.0 "$2")"
}
server_count() { # server_count JOB STATUS: executions of JOB in STATUS on the server
	api GET "/api/v1/jobs/$1" | jq -r --arg s "$2" '.counts[($s | ascii_downcase)] // 0'
}
on_old_slot() { jq '[.[] | select(.version == "1.0.0" and .slot == "A")] | length' "$1"; }

if one_failure rej '{"reject": 1}'; then
	n="$(count_status "$W/rej.outcomes.json" REJECTED)"
	s="$(server_count "rej-$uniq" REJECTED)"
	if [ "$n" = 10 ] && [ "$s" = 10 ] && [ "$(on_old_slot "$W/rej.outcomes.json")" = 10 ]; then
		ok "reject: 10 REJECTED (server agrees), all still on 1.0.0"
	else
		bad "reject: REJECTED $n, server $s"
	fi
else
	bad "reject run: $(tail -3 "$W/rej.log" 2>/dev/null)"
fi

if one_failure cor '{"corrupt": 1}'; then
	n="$(count_status "$W/cor.outcomes.json" FAILED)"
	r="$(jq -r '.[0].jobs[-1].reason' "$W/cor.outcomes.json")"
	if [ "$n" = 10 ] && [ "$(on_old_slot "$W/cor.outcomes.json")" = 10 ] &&
		[ "$(server_count "cor-$uniq" FAILED)" = 10 ] && grep -qi "sha" <<<"$r"; then
		ok "download corruption: 10 FAILED before install, still on 1.0.0 slot A ($r)"
	else
		bad "corruption: FAILED $n, reason '$r'"
	fi
else
	bad "corruption run: $(tail -3 "$W/cor.log" 2>/dev/null)"
fi

if one_failure stf '{"self_test_failure": 1}'; then
	n="$(count_status "$W/stf.outcomes.json" FAILED)"
	if [ "$n" = 10 ] && [ "$(on_old_slot "$W/stf.outcomes.json")" = 10 ]; then
		ok "self-test failure: 10 rolled back to 1.0.0 slot A and FAILED"
	else
		bad "self-test failure: FAILED $n, on 1.0.0 $(on_old_slot "$W/stf.outcomes.json")"
	fi
else
	bad "self-test failure run: $(tail -3 "$W/stf.log" 2>/dev/null)"
fi

# slow links and network flaps: downloads resume, every device still gets there. A flaky
# cellular link drops about once a minute (60 per hour of device time); at 8000 B/s of real time
# (not scaled) the 20000-byte image takes ~2.5 s real = ~125 s of device time, so most downloads
# are cut once or twice and must resume with Range. (3000/h, a drop every 1.2 s of device time,
# is no link a device could hold an MQTT session on.)
if one_failure flp '{"flaps_per_hour": 60, "link_bytes_per_s": 8000}'; then
	n="$(count_status "$W/flp.outcomes.json" SUCCEEDED)"
	# "bellwether-sim: flaps N (M during a download), downloads resumed R"
	cut="$(sed -n 's/^bellwether-sim: flaps [0-9]* (\([0-9]*\) during a download).*/\1/p' "$W/flp.log")"
	res="$(sed -n 's/^bellwether-sim: flaps .*downloads resumed \([0-9]*\)$/\1/p' "$W/flp.log")"
	if [ "$n" = 10 ] && [ "$(server_count "flp-$uniq" SUCCEEDED)" = 10 ] &&
		[ "${cut:-0}" -gt 0 ] && [ "${res:-0}" -gt 0 ]; then
		ok "slow links with network flaps: 10 SUCCEEDED ($cut downloads cut by a flap, $res resumed with Range)"
	else
		bad "flaps: SUCCEEDED $n, downloads cut ${cut:-?}, resumed ${res:-?} (log: $(tail -3 "$W/flp.log"))"
	fi
else
	bad "flaps run: $(tail -3 "$W/flp.log" 2>/dev/null)"
fi

# crash loop after the update: SUCCEEDED, then the crash count the shadow shows keeps rising
P6="crl$uniq-"
register "$P6" 5 1.0.0
if job "crl-$uniq" "$P6" 5 2.0.0 1 false; then
	scenario "$P6" 5 1.0.0 '{"crash_loop": 1}' | jq '.health_interval_ms = 10000' >"$W/crl.scenario.json"
	timeout 60 "$SIM" "$W/crl.scenario.json" --api "$U" --token "$BW_TEST_ADMIN_TOKEN" 		--trust-list "$W/trust.json" --duration 12 --outcomes "$W/crl.outcomes.json" 		>"$W/crl.log" 2>&1
	n="$(count_status "$W/crl.outcomes.json" SUCCEEDED)"
	cc="$(api GET "/api/v1/things/${P6}000000/shadows/~classic" |
		jq -r '.state.reported.health.crash_count // 0')"
	if [ "$n" = 5 ] && [ "${cc:-0}" -ge 2 ]; then
		ok "crash loop: job SUCCEEDED, shadow health.crash_count rising ($cc)"
	else
		bad "crash loop: SUCCEEDED $n, crash_count '$cc'"
	fi
else
	bad "crash loop job"
fi

# hang: IN_PROGRESS, then silence; the server's in-progress timeout ends it as TIMED_OUT
P7="hng$uniq-"
register "$P7" 5 1.0.0
targets="$(jq -n --arg p "$P7" '[range(0; 5) | {type: "thing", name: ($p + ("00000" + tostring))}]')"
if api POST /api/v1/jobs "$(jq -n --arg id "hng-$uniq" --argjson t "$targets" 	--argjson doc "$(document 2.0.0 1 false)" 	'{job_id: $id, targets: $t, document: $doc,
	  timeout_config: {in_progress_timeout_in_minutes: 1}}')" >/dev/null; then
	scenario "$P7" 5 1.0.0 '{"hang": 1}' >"$W/hng.scenario.json"
	timeout 60 "$SIM" "$W/hng.scenario.json" --api "$U" --token "$BW_TEST_ADMIN_TOKEN" 		--trust-list "$W/trust.json" --duration 5 --outcomes "$W/hng.outcomes.json" 		>"$W/hng.log" 2>&1
	h="$(jq '[.[] | select(.state == "HUNG" or .jobs[-1].status == "HUNG")] | length' "$W/hng.outcomes.json")"
	ip="$(server_count "hng-$uniq" IN_PROGRESS)"
	# a minute is the shortest AWS timeout: move the deadline instead of waiting for it
	if [ -n "${BW_TEST_PG_DSN:-}" ] && command -v psql >/dev/null; then
		psql "$BW_TEST_PG_DSN" -qAtc "UPDATE job_executions e SET in_progress_deadline = now()
			FROM jobs j WHERE j.id = e.job_pk AND j.job_id = 'hng-$uniq'" >/dev/null
		to=0
		for _ in $(seq 1 50); do
			to="$(server_count "hng-$uniq" TIMED_OUT)"
			[ "$to" = 5 ] && break
			sleep 0.2
		done
		if [ "$ip" = 5 ] && [ "$to" = 5 ] && [ "$(on_old_slot "$W/hng.outcomes.json")" = 5 ]; then
			ok "hang: 5 IN_PROGRESS then TIMED_OUT by the server, devices still on 1.0.0 ($h hung)"
		else
			bad "hang: in progress $ip, timed out $to, hung $h"
		fi
	else
		echo "     hang: psql or BW_TEST_PG_DSN missing, timeout step not checked"
		if [ "$ip" = 5 ]; then ok "hang: 5 IN_PROGRESS"; else bad "hang: in progress $ip"; fi
	fi
else
	bad "hang job"
fi

# --- 5. the daemon with file-backed slots ---
T="agentd$uniq"
api POST /api/v1/things/bulk "{\"things\":[{\"name\":\"$T\",\"hardware_type\":\"sim-board\",\"firmware_version\":\"1.0.0\"}],\"on_conflict\":\"skip\"}" >/dev/null
job_doc="$(document 2.0.0 1 false)"
api POST /api/v1/jobs "$(jq -n --arg id "agentd-$uniq" --arg t "$T" --argjson doc "$job_doc" \
	'{job_id: $id, targets: [{type: "thing", name: $t}], document: $doc}')" >/dev/null
(cd "$W" && exec timeout 60 "$AGENT" --thing "$T" --mqtt "$BW_TEST_MQTT_HOST:$BW_TEST_MQTT_PORT" \
	--slot-dir "$W/slots" --trust-list "$W/trust.json" --hardware-type sim-board \
	--initial-version 1.0.0 --initial-security-version 1 --confirm-delay-ms 500 \
	--self-test true --exit-after-job) >"$W/agent.log" 2>&1 &
AGENT_PID=$!
wait "$AGENT_PID"
rc=$?
AGENT_PID=""
if [ "$rc" = 0 ] && grep -q "job_done: agentd-$uniq SUCCEEDED" "$W/agent.log" &&
	cmp -s "$W/slots/slot-b.img" "$W/rel-2.0.0/fw.bin"; then
	ok "bellwether-agent wrote slot B, rebooted, self-tested and reported SUCCEEDED"
else
	bad "bellwether-agent (exit $rc): $(tail -5 "$W/agent.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
