#!/usr/bin/env bash
# Test stack: a private Postgres, Mosquitto and (optionally) bellwetherd on free loopback ports,
# all state inside one directory.
#
# Usage:
#   tests/harness/stack.sh up DIR            start everything; write DIR/test.env
#   tests/harness/stack.sh down DIR          stop everything (safe on a half-started DIR)
#   tests/harness/stack.sh server-start DIR [NAME=value...]
#                                            (re)start bellwetherd; NAME=value are extra BW_*
#                                            options for this start only
#   tests/harness/stack.sh server-stop DIR   SIGTERM bellwetherd, wait, then SIGKILL
#   tests/harness/stack.sh mqtt-stop DIR     stop Mosquitto (clients see the broker go away)
#   tests/harness/stack.sh mqtt-start DIR    start Mosquitto again on the same port and config
#   tests/harness/stack.sh logs DIR [LINES]  print the tail of every service log
#
# Env for up: BW_BIN=path/to/bellwetherd to start the daemon (without it: Postgres + Mosquitto
# only, no migrations, BW_TEST_URL empty). BW_STACK_READY_TIMEOUT (default 30) seconds for
# /readyz. Any other BW_* option in the caller's environment (e.g. BW_LOG_LEVEL=debug) is passed
# to bellwetherd unless the harness sets it. BW_STACK_MQTT_PLUGIN: the broker plugin to load
# (mosquitto-plugin/README.md); unset: $BUILD/bellwether_plugin.so when built (BUILD defaults
# to build/debug), empty: none. test.env's BW_TEST_MQTT_PLUGIN says which one was loaded.
#
# DIR layout: test.env (export lines for tests), stack.state, server.env (daemon options),
# pg/data + pg/postgres.log, pgsock/, mqtt/{mosquitto.conf,acl,passwd,mosquitto.log},
# mqtt-server.password, bellwetherd.log, bellwetherd.pid, admin.token, blobs/, master.key,
# aws-keys (SigV4 access key of the AWS-compatible routes).
# When root, DIR gets o+x so the postgres and mosquitto users can reach their subdirectories.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/stack-lib.sh
. "$HERE/../../scripts/stack-lib.sh"
STACK_SH="$HERE/stack.sh"
MQTT_SERVER_USER=bellwetherd

usage() {
	sed -n '5,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

abs_dir() {
	mkdir -p "$1" && (cd "$1" && pwd)
}

state_load() {
	PG_PORT="" MQTT_PORT="" HTTP_PORT="" PG_HOME="$DIR/pg" PG_SOCK="$DIR/pgsock"
	MQTT_DIR="$DIR/mqtt" BIN="" RELOCATED=""
	if [ -f "$DIR/stack.state" ]; then
		# shellcheck source=/dev/null
		. "$DIR/stack.state"
	fi
}

state_save() {
	{
		printf "PG_PORT='%s'\n" "$PG_PORT"
		printf "MQTT_PORT='%s'\n" "$MQTT_PORT"
		printf "HTTP_PORT='%s'\n" "$HTTP_PORT"
		printf "PG_HOME='%s'\n" "$PG_HOME"
		printf "PG_SOCK='%s'\n" "$PG_SOCK"
		printf "MQTT_DIR='%s'\n" "$MQTT_DIR"
		printf "BIN='%s'\n" "$BIN"
		printf "RELOCATED='%s'\n" "$RELOCATED"
	} >"$DIR/stack.state.tmp"
	mv "$DIR/stack.state.tmp" "$DIR/stack.state"
}

# service_dir NAME USER VAR: sets VAR to a directory for a service running as USER: DIR/NAME,
# or a new directory under /tmp (symlinked from DIR/NAME) when USER cannot reach DIR.
service_dir() {
	local name="$1" user="$2" real
	if stack_user_can_reach "$user" "$DIR"; then
		mkdir -p "$DIR/$name"
		printf -v "$3" '%s' "$DIR/$name"
		return 0
	fi
	real="$(mktemp -d "/tmp/bellwether-$name.XXXXXX")"
	chmod 0711 "$real"
	ln -sfn "$real" "$DIR/$name"
	RELOCATED="$RELOCATED $real"
	printf -v "$3" '%s' "$real"
}

pg_dsn() {
	echo "postgresql://postgres@127.0.0.1:$PG_PORT/bellwether"
}

# The daemon's options; tests see the same values through test.env.
write_server_env() {
	{
		echo "BW_HTTP_LISTEN=127.0.0.1:$HTTP_PORT"
		echo "BW_PG_DSN=$(pg_dsn)"
		echo "BW_MQTT_HOST=127.0.0.1"
		echo "BW_MQTT_PORT=$MQTT_PORT"
		echo "BW_MQTT_USERNAME=$MQTT_SERVER_USER"
		echo "BW_MQTT_PASSWORD_FILE=$DIR/mqtt-server.password"
		echo "BW_STATIC_DIR=$STACK_ROOT/web-static"
		echo "BW_MIGRATIONS_DIR=$STACK_ROOT/migrations"
		echo "BW_BOOTSTRAP_TOKEN_FILE=$DIR/admin.token"
		# Options newer than this script are set only when the binary knows them (the daemon
		# rejects unknown BW_ variables).
		if stack_bin_has_option "$BIN" BW_BLOB_DIR; then
			echo "BW_BLOB_DIR=$DIR/blobs"
		fi
		if stack_bin_has_option "$BIN" BW_AWS_KEYS_FILE; then
			# SigV4 access key for the AWS-compatible routes (role admin); tests read it
			# from test.env (BW_TEST_AWS_ACCESS_KEY / BW_TEST_AWS_SECRET_KEY).
			[ -s "$DIR/aws-keys" ] || (umask 077 &&
				printf 'AKIDTESTBELLWETHER %s admin\n' "$(stack_random_hex 20)" \
					>"$DIR/aws-keys")
			echo "BW_AWS_KEYS_FILE=$DIR/aws-keys"
		fi
		if stack_bin_has_option "$BIN" BW_JOB_DOCUMENT_DIR; then
			# documentSource URLs map here: tests write <dir>/<bucket>/<key> files
			mkdir -p "$DIR/job-documents"
			echo "BW_JOB_DOCUMENT_DIR=$DIR/job-documents"
		fi
		if stack_bin_has_option "$BIN" BW_MASTER_KEY_FILE; then
			[ -s "$DIR/master.key" ] ||
				(umask 077 && stack_random_hex 32 >"$DIR/master.key")
			echo "BW_MASTER_KEY_FILE=$DIR/master.key"
		fi
	} >"$DIR/server.env"
}

write_test_env() {
	local token="" url="" pw
	local aws_id="" aws_secret=""
	pw="$(cat "$DIR/mqtt-server.password")"
	if [ -s "$DIR/aws-keys" ]; then
		read -r aws_id aws_secret _ <"$DIR/aws-keys"
	fi
	if [ -n "$BIN" ]; then
		url="http://127.0.0.1:$HTTP_PORT"
		token="$(head -n 1 "$DIR/admin.token" 2>/dev/null | tr -d '\r\n' || true)"
	fi
	{
		echo "# Generated by tests/harness/stack.sh up; source it (values never contain quotes)."
		echo "export BW_TEST_DIR='$DIR'"
		echo "export BW_TEST_ENV_FILE='$DIR/test.env'"
		echo "export BW_TEST_STACK='$STACK_SH'"
		echo "export BW_TEST_PG_DSN='$(pg_dsn)'"
		echo "export BW_TEST_PG_PORT='$PG_PORT'"
		echo "export BW_TEST_MQTT_HOST='127.0.0.1'"
		echo "export BW_TEST_MQTT_PORT='$MQTT_PORT'"
		echo "export BW_TEST_MQTT_SERVER_USER='$MQTT_SERVER_USER'"
		echo "export BW_TEST_MQTT_SERVER_PASSWORD='$pw'"
		echo "export BW_TEST_MQTT_PASSWORD_FILE='$DIR/mqtt-server.password'"
		echo "export BW_TEST_MQTT_PLUGIN='${MQTT_PLUGIN:-}'"
		echo "export BW_TEST_URL='$url'"
		echo "export BW_TEST_HTTP_PORT='${HTTP_PORT}'"
		echo "export BW_TEST_ADMIN_TOKEN='$token'"
		echo "export BW_TEST_AWS_ACCESS_KEY='$aws_id'"
		echo "export BW_TEST_AWS_SECRET_KEY='$aws_secret'"
		echo "export BW_TEST_BIN='$BIN'"
		echo "export BW_TEST_SERVER_LOG='$DIR/bellwetherd.log'"
		echo "export BW_TEST_STATIC_DIR='$STACK_ROOT/web-static'"
		echo "export BW_TEST_MIGRATIONS_DIR='$STACK_ROOT/migrations'"
	} >"$DIR/test.env.tmp"
	chmod 0600 "$DIR/test.env.tmp"
	mv "$DIR/test.env.tmp" "$DIR/test.env"
}

cmd_logs() {
	local lines="${1:-40}" f
	state_load
	for f in "$DIR/bellwetherd.log" "$MQTT_DIR/mosquitto.log" "$MQTT_DIR/mosquitto.out" \
		"$PG_HOME/postgres.log"; do
		[ -s "$f" ] || continue
		echo "===== $f (last $lines lines) ====="
		tail -n "$lines" "$f"
	done
}

# Starts bellwetherd with server.env plus overrides; waits for /readyz.
server_start() {
	local timeout="${BW_STACK_READY_TIMEOUT:-30}" envfile="$DIR/server.env" pid kv
	if [ -z "$BIN" ]; then
		stack_err "no bellwetherd binary recorded for $DIR (up was run without BW_BIN)"
		return 1
	fi
	if [ -f "$DIR/bellwetherd.pid" ] && stack_pid_alive "$(cat "$DIR/bellwetherd.pid")"; then
		stack_err "bellwetherd already running (pid $(cat "$DIR/bellwetherd.pid"))"
		return 1
	fi
	if [ $# -gt 0 ]; then
		envfile="$DIR/server.env.run"
		cp "$DIR/server.env" "$envfile"
		for kv in "$@"; do
			if ! [[ "$kv" =~ ^BW_[A-Z0-9_]+= ]]; then
				stack_err "server-start: expected BW_NAME=value, got '$kv'"
				return 1
			fi
			printf '%s\n' "$kv" >>"$envfile"
		done
	fi
	echo "===== bellwetherd serve $(date -u +%FT%TZ) =====" >>"$DIR/bellwetherd.log"
	stack_server_launch "$BIN" "$envfile" "$DIR/bellwetherd.log" "$DIR/bellwetherd.pid" serve
	pid="$(cat "$DIR/bellwetherd.pid")"
	if ! stack_server_wait_ready "http://127.0.0.1:$HTTP_PORT" "$pid" "$timeout"; then
		echo "----- $DIR/bellwetherd.log -----" >&2
		tail -n 60 "$DIR/bellwetherd.log" >&2 || true
		return 1
	fi
}

# Makes sure DIR/admin.token holds an admin token: the bootstrap token the daemon wrote on
# first start, or one made with `token create` when the daemon did not write it.
ensure_admin_token() {
	local deadline=$((SECONDS + 5)) tok
	while [ ! -s "$DIR/admin.token" ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	[ -s "$DIR/admin.token" ] && return 0
	echo "stack: no bootstrap token in $DIR/admin.token; creating one with token create" >&2
	if ! tok="$(stack_server_run "$BIN" "$DIR/server.env" token create --role admin \
		--name harness-admin 2>>"$DIR/bellwetherd.log")"; then
		stack_err "token create failed (see $DIR/bellwetherd.log)"
		return 1
	fi
	tok="$(printf '%s\n' "$tok" | tail -n 1 | tr -d '\r\n')"
	[ -n "$tok" ] || { stack_err "token create printed nothing"; return 1; }
	(umask 077 && printf '%s\n' "$tok" >"$DIR/admin.token")
}

do_up() {
	local pg_user mq_user pw sockpath
	if [ -e "$DIR/stack.state" ]; then
		stack_err "$DIR already holds a stack (run down first, or use a fresh directory)"
		return 1
	fi
	if [ -n "${BW_BIN:-}" ]; then
		if [ ! -x "$BW_BIN" ]; then
			stack_err "BW_BIN=$BW_BIN is not an executable file"
			return 1
		fi
		BIN="$(cd "$(dirname "$BW_BIN")" && pwd)/$(basename "$BW_BIN")"
	fi
	command -v mosquitto >/dev/null || { stack_err "mosquitto not installed"; return 1; }
	stack_pg_bindir >/dev/null

	pg_user="$(stack_service_user postgres)"
	mq_user="$(stack_service_user mosquitto)"
	if stack_is_root; then
		chmod o+x "$DIR"
	fi

	PG_PORT="$(stack_port_acquire "$DIR")"
	MQTT_PORT="$(stack_port_acquire "$DIR")"
	if [ -n "$BIN" ]; then
		HTTP_PORT="$(stack_port_acquire "$DIR")"
	fi
	state_save

	# Postgres
	service_dir pg "$pg_user" PG_HOME
	service_dir pgsock "$pg_user" PG_SOCK
	sockpath="$PG_SOCK/.s.PGSQL.$PG_PORT"
	if [ "${#sockpath}" -gt 100 ]; then
		PG_SOCK="$(mktemp -d /tmp/bellwether-pgsock.XXXXXX)"
		RELOCATED="$RELOCATED $PG_SOCK"
	fi
	state_save
	if [ -n "$pg_user" ]; then
		chown "$pg_user:" "$PG_HOME" "$PG_SOCK"
	fi
	chmod 0700 "$PG_HOME"
	chmod 0755 "$PG_SOCK"
	stack_pg_init "$PG_HOME/data"
	# BW_STACK_DURABLE=1 (make bench): fsync on, as production runs; tests run with fsync off.
	local fsync=off
	[ "${BW_STACK_DURABLE:-0}" = 1 ] && fsync=on
	stack_pg_start "$PG_HOME/data" "$PG_PORT" "$PG_SOCK" "$PG_HOME/postgres.log" "$fsync"
	stack_pg_createdb "$PG_PORT" bellwether

	# Mosquitto
	service_dir mqtt "$mq_user" MQTT_DIR
	state_save
	pw="$(stack_random_hex 16)"
	(umask 077 && printf '%s\n' "$pw" >"$DIR/mqtt-server.password")
	# The plugin is copied next to the config, where the broker's user can read it.
	local plugin="${BW_STACK_MQTT_PLUGIN-}" build="${BUILD:-build/debug}"
	if [ -z "${BW_STACK_MQTT_PLUGIN+set}" ]; then
		[ "${build#/}" != "$build" ] || build="$STACK_ROOT/$build"
		[ ! -f "$build/bellwether_plugin.so" ] || plugin="$build/bellwether_plugin.so"
	fi
	if [ -n "$plugin" ]; then
		cp "$plugin" "$MQTT_DIR/bellwether_plugin.so"
		MQTT_PLUGIN="$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")"
	fi
	"$STACK_ROOT/scripts/gen-mosquitto-conf.sh" "$MQTT_DIR" "$MQTT_PORT" "$MQTT_SERVER_USER" "$pw" \
		${plugin:+"$MQTT_DIR/bellwether_plugin.so"}
	stack_mqtt_prepare "$MQTT_DIR"
	stack_mqtt_start "$MQTT_DIR" "$MQTT_PORT"

	# bellwetherd
	if [ -n "$BIN" ]; then
		mkdir -p "$DIR/blobs"
		write_server_env
		: >>"$DIR/bellwetherd.log"
		echo "===== bellwetherd migrate $(date -u +%FT%TZ) =====" >>"$DIR/bellwetherd.log"
		if ! stack_server_run "$BIN" "$DIR/server.env" migrate >>"$DIR/bellwetherd.log" 2>&1
		then
			stack_err "bellwetherd migrate failed:"
			tail -n 40 "$DIR/bellwetherd.log" >&2
			return 1
		fi
		server_start
		ensure_admin_token
	fi
	write_test_env
}

cmd_up() {
	local rc
	set +e
	(
		set -e
		do_up
	)
	rc=$?
	set -e
	state_load
	if [ "$rc" -ne 0 ]; then
		stack_err "up failed; service logs follow, then teardown"
		cmd_logs 30 >&2 || true
		cmd_down || true
		return 1
	fi
	local msg="stack up in $DIR: postgres :$PG_PORT, mosquitto :$MQTT_PORT"
	[ -z "$HTTP_PORT" ] || msg="$msg, bellwetherd http://127.0.0.1:$HTTP_PORT"
	echo "$msg"
}

cmd_down() {
	local d
	state_load
	stack_stop_pidfile "$DIR/bellwetherd.pid" bellwetherd 20
	stack_mqtt_stop "$MQTT_DIR"
	stack_pg_stop "$PG_HOME/data" || true
	stack_ports_release "$DIR"
	for d in $RELOCATED; do
		case "$d" in
		/tmp/bellwether-*) rm -rf "$d" ;;
		esac
	done
	if [ -f "$DIR/stack.state" ] && [ -n "$RELOCATED" ]; then
		RELOCATED=""
		state_save
	fi
}

[ $# -ge 2 ] || usage
command="$1"
DIR="$2"
shift 2

case "$command" in
up)
	DIR="$(abs_dir "$DIR")"
	# Paths end up in shell-quoted files (test.env, stack.state) and in postgres -c options.
	case "$DIR$STACK_ROOT" in
	*[[:space:]\'\"\\]*)
		stack_err "paths with spaces, quotes or backslashes are not supported: $DIR"
		exit 2
		;;
	esac
	BIN=""
	PG_PORT="" MQTT_PORT="" HTTP_PORT="" RELOCATED=""
	PG_HOME="$DIR/pg" PG_SOCK="$DIR/pgsock" MQTT_DIR="$DIR/mqtt"
	cmd_up
	;;
down)
	if [ ! -d "$DIR" ]; then
		# Nothing on disk; still drop port locks a vanished DIR may have left.
		stack_ports_release "$DIR"
		exit 0
	fi
	DIR="$(cd "$DIR" && pwd)"
	cmd_down
	;;
server-start)
	DIR="$(cd "$DIR" && pwd)"
	state_load
	server_start "$@"
	;;
server-stop)
	DIR="$(cd "$DIR" && pwd)"
	stack_stop_pidfile "$DIR/bellwetherd.pid" bellwetherd 20
	;;
mqtt-stop)
	DIR="$(cd "$DIR" && pwd)"
	state_load
	stack_mqtt_stop "$MQTT_DIR"
	;;
mqtt-start)
	DIR="$(cd "$DIR" && pwd)"
	state_load
	stack_mqtt_start "$MQTT_DIR" "$MQTT_PORT"
	;;
logs)
	DIR="$(cd "$DIR" && pwd)"
	cmd_logs "${1:-40}"
	;;
*) usage ;;
esac
