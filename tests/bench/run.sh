#!/usr/bin/env bash
# `make bench`: runs every $BUILD/tests/bench/bench_* program against a private, loopback-only
# Postgres + Mosquitto (tests/harness/stack.sh) and prints a Markdown table of the figures.
# Conventions (figure names, units, ratios): docs/BENCH.md.
#
# Env:
#   BUILD=build/debug        where `make` put the bench programs
#   BENCH_SECONDS=5          measured seconds per phase (1..15; each bench adds ~1 s warm-up)
#   BENCH_DURABLE=1          Postgres with fsync/full_page_writes on (what production runs);
#                            0 keeps the test harness's fsync=off (quick, optimistic figures)
#   BENCH_BROKER_FIX=1       broker with `max_queued_messages 0` (see docs/BENCH.md: Debian's
#                            Mosquitto 2.0.11 drops QoS 1 messages under load otherwise);
#                            0 keeps the harness's broker configuration as it is
#   BENCH_OUT=$BUILD/bench/results.md   where the table and the BENCH lines are also written
# Every bench program runs under `timeout`; the stack is always torn down. Exit 0 when every
# bench succeeded. Ends with "N passed, M failed" (one check per bench program).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-build/debug}"
BENCH_SECONDS="${BENCH_SECONDS:-5}"
BENCH_DURABLE="${BENCH_DURABLE:-1}"
BENCH_BROKER_FIX="${BENCH_BROKER_FIX:-1}"
BENCH_OUT="${BENCH_OUT:-$BUILD/bench/results.md}"
export BENCH_SECONDS
BENCH_TIMEOUT=240 # seconds, hard limit per bench program
STACK="$ROOT/tests/harness/stack.sh"

# shellcheck source=../../scripts/stack-lib.sh
. "$ROOT/scripts/stack-lib.sh"

die() {
	echo "bench: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

case "$BENCH_SECONDS" in
[1-9] | 1[0-5]) ;;
*) die "BENCH_SECONDS must be 1..15" ;;
esac
[ -x "$STACK" ] || die "$STACK missing"

# Raw baselines (bench_*_raw) first, so that later benches find their figures in the environment.
mapfile -t BENCHES < <(
	find "$BUILD/tests/bench" -maxdepth 1 -type f -name 'bench_*_raw' -perm -u+x 2>/dev/null | sort
	find "$BUILD/tests/bench" -maxdepth 1 -type f -name 'bench_*' ! -name 'bench_*_raw' \
		-perm -u+x 2>/dev/null | sort
)
[ "${#BENCHES[@]}" -gt 0 ] || die "no bench programs in $BUILD/tests/bench (run make bench)"

DIR="$(mktemp -d /tmp/bellwether-bench.XXXXXX)"
KEEP_DIR=0
cleanup() {
	"$STACK" down "$DIR" >/dev/null 2>&1 || true
	if [ "$KEEP_DIR" -eq 0 ]; then
		rm -rf "$DIR"
	else
		echo "bench: state kept in $DIR" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# psql_value SQL: one value from the bench database.
psql_value() {
	"$(stack_pg_bindir)/psql" -X -A -t -q -d "$BW_TEST_PG_DSN" -c "$1"
}

# The harness runs Postgres with fsync=off for speed; a commit-rate baseline needs the real
# thing. fsync cannot change without a restart, so restart the bench's private Postgres with
# durable settings (same data directory, port and socket). Skipped when stack.sh already
# started it durable (BW_STACK_DURABLE=1, if the harness supports it).
pg_make_durable() {
	local PG_HOME PG_PORT PG_SOCK
	if [ "$(psql_value 'SHOW fsync')" = on ]; then
		echo "bench: postgres already runs with fsync=on"
		return 0
	fi
	# shellcheck source=/dev/null
	. "$DIR/stack.state"
	echo "bench: restarting the bench postgres with fsync=on, full_page_writes=on"
	stack_pg_stop "$PG_HOME/data"
	stack_pg_start "$PG_HOME/data" "$PG_PORT" "$PG_SOCK" "$PG_HOME/postgres.log" on
	[ "$(psql_value 'SHOW fsync')" = on ] || die "postgres still runs with fsync=off"
}

# Mosquitto 2.0.11 (Debian 12) miscounts a subscriber's in-flight QoS 1 messages under load and
# then drops messages for it ("Outgoing messages are being dropped") although only a few are
# outstanding; an unlimited queue avoids the drop decision (docs/BENCH.md). Restart the bench's
# private broker with it unless its configuration already sets max_queued_messages. (A SIGHUP
# reload is not enough: 2.0.11 keeps dropping after it.)
broker_fix_queue() {
	local MQTT_DIR MQTT_PORT conf
	# shellcheck source=/dev/null
	. "$DIR/stack.state"
	conf="$MQTT_DIR/mosquitto.conf"
	if grep -q '^max_queued_messages' "$conf"; then
		echo "bench: broker config sets $(grep '^max_queued_messages' "$conf" | tail -n 1)"
		return 0
	fi
	echo "bench: restarting the bench broker with max_queued_messages 0"
	stack_mqtt_stop "$MQTT_DIR"
	{
		echo "# Added by tests/bench/run.sh (see docs/BENCH.md)."
		echo "max_queued_messages 0"
	} >>"$conf"
	stack_mqtt_start "$MQTT_DIR" "$MQTT_PORT"
}

# unit_of NAME: the unit a figure's name implies (docs/BENCH.md).
unit_of() {
	local base
	case "$1" in
	*_per_s)
		base="${1%_per_s}"
		echo "${base##*_}/s"
		;;
	*_ms) echo ms ;;
	*_on) echo "bool (1 = on)" ;;
	*_ratio) echo "ratio" ;;
	*) echo "" ;;
	esac
}

bench_args() {
	case "$(basename "$1")" in
	bench_mqtt_raw) echo "--seconds $BENCH_SECONDS" ;;
	bench_shadow_mqtt) echo "--seconds $BENCH_SECONDS" ;;
	bench_fw_transfer) echo "--seconds $BENCH_SECONDS" ;;
	bench_jobs_mqtt) echo "--seconds $BENCH_SECONDS" ;;
	bench_sim) echo "--seconds $BENCH_SECONDS" ;;
	bench_jobs_fanout) echo "--things 100000" ;;
	bench_pg_raw)
		if [ "$BENCH_DURABLE" = 1 ]; then
			echo "--seconds $BENCH_SECONDS --require-durable"
		else
			echo "--seconds $BENCH_SECONDS"
		fi
		;;
	*) echo "" ;;
	esac
}

echo "bench: starting a private stack in $DIR"
# bellwetherd runs too (benches of the server need it; the raw baselines do not touch it)
[ -x "$BUILD/bellwetherd" ] || die "$BUILD/bellwetherd missing (run make bench)"
BW_STACK_DURABLE="$BENCH_DURABLE" BW_BIN="$BUILD/bellwetherd" "$STACK" up "$DIR" ||
	die "stack.sh up failed"
# shellcheck source=/dev/null
. "$DIR/test.env"
if [ "$BENCH_DURABLE" = 1 ]; then
	pg_make_durable
else
	echo "bench: BENCH_DURABLE=0: postgres keeps fsync=off (figures are NOT durable)"
fi
if [ "$BENCH_BROKER_FIX" = 1 ]; then
	broker_fix_queue
fi

passed=0
failed=0
lines=()
for bin in "${BENCHES[@]}"; do
	name="$(basename "$bin")"
	out="$DIR/$name.out"
	echo "===== $name $(bench_args "$bin") ====="
	set +e
	# shellcheck disable=SC2046 # word splitting of the option list is intended
	timeout --kill-after=5 "$BENCH_TIMEOUT" "$bin" $(bench_args "$bin") 2>&1 | tee "$out"
	rc="${PIPESTATUS[0]}"
	set -e
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		mapfile -t new < <(grep -E '^BENCH [a-z0-9_]+=[-+0-9.eE]+$' "$out" || true)
		for line in "${new[@]}"; do
			kv="${line#BENCH }"
			# Later benches read earlier figures as BENCH_FIG_<NAME> (docs/BENCH.md).
			export "BENCH_FIG_${kv%%=*}"="${kv#*=}"
			lines+=("$line")
		done
	else
		echo "bench: $name failed (exit $rc)"
		failed=$((failed + 1))
		KEEP_DIR=1
	fi
done
if [ "$failed" -gt 0 ]; then
	"$STACK" logs "$DIR" 20 >&2 || true
fi

mkdir -p "$(dirname "$BENCH_OUT")"
{
	echo
	echo "| figure | value | unit |"
	echo "|---|---:|---|"
	for line in "${lines[@]}"; do
		kv="${line#BENCH }"
		echo "| ${kv%%=*} | ${kv#*=} | $(unit_of "${kv%%=*}") |"
	done
	echo
	printf '%s\n' "${lines[@]}"
} | tee "$BENCH_OUT"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
