# Shared set-up of the end-to-end agent tests (tests/integration/test_agent_*.sh). Source it,
# then call `agenttest_init NAME [extra required env var names]`: it loads test.env, exits 77
# (skipped) without a running stack, curl, jq or a built bellwether-agent, and sets
#   ROOT, BUILD, AGENT, U (server URL), AUTH (admin bearer header), W (a private temp dir),
#   pass / fail counters, AGENT_PID, uniq (a run-unique suffix).
# Helpers: ok, bad, api METHOD PATH [JSON], code_of METHOD PATH JSON, wait_agent,
# exec_status JOB THING, agenttest_finish. The script sets its own EXIT trap (removing $W unless
# KEEP_TEST_DIR=1 is its job).
# shellcheck shell=bash

agenttest_init() {
	local name="$1" var
	shift
	ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
	BUILD="${BUILD:-build/debug}"
	AGENT="$ROOT/$BUILD/bellwether-agent"
	if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
		# shellcheck source=/dev/null
		. "$BW_TEST_ENV_FILE"
	fi
	for var in BW_TEST_URL BW_TEST_ADMIN_TOKEN "$@"; do
		if [ -z "${!var:-}" ]; then
			echo "$name: no running stack ($var unset; run via tests/harness/stack.sh); skipped"
			exit 77
		fi
	done
	for var in curl jq; do
		command -v "$var" >/dev/null || { echo "$name: $var missing; skipped"; exit 77; }
	done
	[ -x "$AGENT" ] || { echo "$name: $AGENT not built; skipped"; exit 77; }
	U="$BW_TEST_URL"
	AUTH="Authorization: Bearer $BW_TEST_ADMIN_TOKEN"
	W="$(mktemp -d "/tmp/bw-$name.XXXXXX")"
	AGENT_PID=""
	pass=0
	fail=0
	uniq="$(date +%s)$$"
}

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

api() { # api METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H "$AUTH" -H 'Content-Type: application/json' -d "$3" "$U$2"
	else
		curl -sf -X "$1" -H "$AUTH" "$U$2"
	fi
}

code_of() { # code_of METHOD PATH JSON -> HTTP status; body in $W/last.json
	curl -s -o "$W/last.json" -w '%{http_code}' -X "$1" -H "$AUTH" \
		-H 'Content-Type: application/json' -d "$3" "$U$2"
}

wait_agent() { # wait for the agent started in the background ($AGENT_PID); its exit status
	wait "$AGENT_PID"
	local rc=$?
	AGENT_PID=""
	return "$rc"
}

exec_status() { # exec_status JOB THING -> the thing's latest execution status of JOB
	api GET "/api/v1/jobs/$1/executions" |
		jq -r --arg t "$2" '[.items[] | select(.thing == $t) | .status][0] // empty'
}

agenttest_finish() { # the summary line; exit status 0 only without failures
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
