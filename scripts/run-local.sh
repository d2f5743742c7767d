#!/usr/bin/env bash
# `make run`: Postgres, Mosquitto and bellwetherd for local use, with persistent state under
# .local/ (pg/, mqtt/, blobs/, logs/, admin.token). Stays in the foreground and shows the
# daemon's log; Ctrl-C (or SIGTERM) stops bellwetherd, mosquitto and postgres cleanly. Later runs
# reuse the database cluster and print the same admin token again.
#
# Usage: scripts/run-local.sh BIN
# Env:   BELLWETHER_LOCAL_DIR  state directory (default <repo>/.local)
#        BELLWETHER_PG_PORT, BELLWETHER_MQTT_PORT, BELLWETHER_HTTP_PORT
#                              preferred ports (55432, 1883, 8080); a taken port falls back to
#                              a free one, which is printed
#        any BW_* option (e.g. BW_LOG_LEVEL=debug) not managed here is passed to bellwetherd
# The broker loads bellwether_plugin.so from BIN's directory when it is there (make run builds
# it; mosquitto-plugin/README.md); without it there is no directed Jobs reply delivery.
# Unlike the test harness, Postgres keeps fsync on: this state is meant to survive crashes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=stack-lib.sh
. "$HERE/stack-lib.sh"

MQTT_SERVER_USER=bellwetherd

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: scripts/run-local.sh path/to/bellwetherd (build it with make)" >&2
	exit 2
fi
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
LOCAL="${BELLWETHER_LOCAL_DIR:-$STACK_ROOT/.local}"
mkdir -p "$LOCAL"
LOCAL="$(cd "$LOCAL" && pwd)"
PG_DATA="$LOCAL/pg/data"
PG_SOCK="$LOCAL/pgsock"
MQTT_DIR="$LOCAL/mqtt"
LOGS="$LOCAL/logs"
SERVER_PID=""
TAIL_PID=""
STARTED_PG=0
STARTED_MQTT=0
CLEANED=0

say() {
	echo "run-local: $*"
}

die() {
	echo "run-local: $*" >&2
	exit 1
}

cleanup() {
	[ "$CLEANED" -eq 0 ] || return 0
	CLEANED=1
	trap '' INT TERM
	if [ -n "$SERVER_PID" ]; then
		say "stopping bellwetherd"
		stack_stop_pidfile "$LOCAL/bellwetherd.pid" bellwetherd 20
	fi
	if [ "$STARTED_MQTT" -eq 1 ]; then
		say "stopping mosquitto"
		stack_mqtt_stop "$MQTT_DIR"
	fi
	if [ "$STARTED_PG" -eq 1 ]; then
		say "stopping postgres"
		stack_pg_stop "$PG_DATA" || true
	fi
	if [ -n "$TAIL_PID" ]; then
		kill "$TAIL_PID" 2>/dev/null || true
	fi
	stack_ports_release "$LOCAL"
	rm -f "$LOCAL/run-local.pid"
}
case "$LOCAL$STACK_ROOT" in
*[[:space:]\'\"\\]*)
	echo "run-local: paths with spaces, quotes or backslashes are not supported: $LOCAL" >&2
	exit 2
	;;
esac

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One run-local per state directory.
other="$(cat "$LOCAL/run-local.pid" 2>/dev/null || true)"
if stack_pid_alive "$other" && stack_pid_started_before "$other" "$LOCAL/run-local.pid"; then
	trap - EXIT
	die "already running (pid $other) with state in $LOCAL"
fi
echo $$ >"$LOCAL/run-local.pid"
# A previous run killed without cleanup may have left its port locks and services behind.
stack_ports_release "$LOCAL"
stack_stop_pidfile "$LOCAL/bellwetherd.pid" bellwetherd 20
stack_mqtt_stop "$MQTT_DIR"
stack_pg_stop "$PG_DATA" || true

pg_user="$(stack_service_user postgres)"
mq_user="$(stack_service_user mosquitto)"
for u in "$pg_user" "$mq_user"; do
	if ! stack_user_can_reach "$u" "$LOCAL"; then
		die "user $u cannot reach $LOCAL; set BELLWETHER_LOCAL_DIR to a directory it can reach"
	fi
done

# port NAME PREFERRED: a locked port, PREFERRED when free.
port() {
	local p
	p="$(stack_port_acquire "$LOCAL" "$2" $$)" || die "no free port for $1"
	if [ "$p" != "$2" ]; then
		say "$1 port $2 is taken; using $p" >&2
	fi
	echo "$p"
}
PG_PORT="$(port Postgres "${BELLWETHER_PG_PORT:-55432}")"
MQTT_PORT="$(port MQTT "${BELLWETHER_MQTT_PORT:-1883}")"
HTTP_PORT="$(port HTTP "${BELLWETHER_HTTP_PORT:-8080}")"

mkdir -p "$LOCAL/pg" "$PG_SOCK" "$MQTT_DIR" "$LOGS" "$LOCAL/blobs"
sockpath="$PG_SOCK/.s.PGSQL.$PG_PORT"
if [ "${#sockpath}" -gt 100 ]; then
	die "socket path $sockpath is too long; set BELLWETHER_LOCAL_DIR to a shorter path"
fi
touch "$LOGS/postgres.log"
if [ -n "$pg_user" ]; then
	chown "$pg_user:" "$LOCAL/pg" "$PG_SOCK" "$LOGS/postgres.log"
fi
chmod 0700 "$LOCAL/pg"

# Postgres: create the cluster once, then reuse it.
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
	say "creating the database cluster in $PG_DATA"
	stack_pg_init "$PG_DATA" || die "initdb failed"
fi
say "starting postgres on 127.0.0.1:$PG_PORT"
STARTED_PG=1
stack_pg_start "$PG_DATA" "$PG_PORT" "$PG_SOCK" "$LOGS/postgres.log" on || die "postgres failed"
stack_pg_createdb "$PG_PORT" bellwether || die "cannot create database bellwether"
PG_DSN="postgresql://postgres@127.0.0.1:$PG_PORT/bellwether"

# Mosquitto: config regenerated each run (the port may change), password kept.
if [ ! -s "$LOCAL/mqtt-server.password" ]; then
	(umask 077 && stack_random_hex 16 >"$LOCAL/mqtt-server.password")
fi
plugin=""
if [ -f "$(dirname "$BIN")/bellwether_plugin.so" ]; then
	# a new file, not an overwrite: a broker left running may still map the old one
	cp "$(dirname "$BIN")/bellwether_plugin.so" "$MQTT_DIR/bellwether_plugin.so.tmp"
	mv -f "$MQTT_DIR/bellwether_plugin.so.tmp" "$MQTT_DIR/bellwether_plugin.so"
	plugin="$MQTT_DIR/bellwether_plugin.so"
else
	say "no broker plugin next to $BIN (make plugin): no directed Jobs reply delivery"
fi
"$STACK_ROOT/scripts/gen-mosquitto-conf.sh" "$MQTT_DIR" "$MQTT_PORT" "$MQTT_SERVER_USER" \
	"$(head -n 1 "$LOCAL/mqtt-server.password")" ${plugin:+"$plugin"}
stack_mqtt_prepare "$MQTT_DIR"
say "starting mosquitto on 127.0.0.1:$MQTT_PORT"
STARTED_MQTT=1
stack_mqtt_start "$MQTT_DIR" "$MQTT_PORT" || die "mosquitto failed"

# bellwetherd
{
	echo "BW_HTTP_LISTEN=127.0.0.1:$HTTP_PORT"
	echo "BW_PG_DSN=$PG_DSN"
	echo "BW_MQTT_HOST=127.0.0.1"
	echo "BW_MQTT_PORT=$MQTT_PORT"
	echo "BW_MQTT_USERNAME=$MQTT_SERVER_USER"
	echo "BW_MQTT_PASSWORD_FILE=$LOCAL/mqtt-server.password"
	echo "BW_STATIC_DIR=$STACK_ROOT/web-static"
	echo "BW_MIGRATIONS_DIR=$STACK_ROOT/migrations"
	echo "BW_BOOTSTRAP_TOKEN_FILE=$LOCAL/admin.token"
	if stack_bin_has_option "$BIN" BW_BLOB_DIR; then
		echo "BW_BLOB_DIR=$LOCAL/blobs"
	fi
	# The master key encrypts firmware signing keys: made once, kept (losing it loses them).
	if stack_bin_has_option "$BIN" BW_MASTER_KEY_FILE; then
		[ -s "$LOCAL/master.key" ] || (umask 077 && stack_random_hex 32 >"$LOCAL/master.key")
		echo "BW_MASTER_KEY_FILE=$LOCAL/master.key"
	fi
} >"$LOCAL/server.env"

say "applying migrations"
if ! stack_server_run "$BIN" "$LOCAL/server.env" migrate >>"$LOGS/bellwetherd.log" 2>&1; then
	tail -n 30 "$LOGS/bellwetherd.log" >&2
	die "migrate failed (log: $LOGS/bellwetherd.log)"
fi

log_size="$(stat -c %s "$LOGS/bellwetherd.log")"
echo "===== bellwetherd serve $(date -u +%FT%TZ) =====" >>"$LOGS/bellwetherd.log"
stack_server_launch "$BIN" "$LOCAL/server.env" "$LOGS/bellwetherd.log" "$LOCAL/bellwetherd.pid" \
	serve
SERVER_PID="$(cat "$LOCAL/bellwetherd.pid")"
tail -c "+$((log_size + 1))" -F --pid="$SERVER_PID" "$LOGS/bellwetherd.log" 2>/dev/null &
TAIL_PID=$!

if ! stack_server_wait_ready "http://127.0.0.1:$HTTP_PORT" "$SERVER_PID" 30; then
	die "bellwetherd did not become ready (log: $LOGS/bellwetherd.log)"
fi
for _ in $(seq 50); do
	[ -s "$LOCAL/admin.token" ] && break
	sleep 0.1
done
token="$(head -n 1 "$LOCAL/admin.token" 2>/dev/null || true)"
if [ -z "$token" ]; then
	token="(none in $LOCAL/admin.token; make one: $BIN token create --role admin --name me)"
fi

cat <<EOF

  Bellwether is running.
    Dashboard    http://127.0.0.1:$HTTP_PORT/
    Admin token  $token
    MQTT         127.0.0.1:$MQTT_PORT (devices: client id = thing name, no credentials)
    Postgres     $PG_DSN
    State, logs  $LOCAL
  Press Ctrl-C to stop.

EOF

# Foreground until the daemon exits or a signal arrives (the traps then clean up).
rc=0
wait "$SERVER_PID" || rc=$?
say "bellwetherd exited with status $rc"
exit "$rc"
