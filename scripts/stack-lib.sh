# shellcheck shell=bash
# Shared functions for the service stack (Postgres, Mosquitto, bellwetherd) used by
# tests/harness/stack.sh and scripts/run-local.sh. Source it; it defines functions only.
#
# Conventions: functions print errors to stderr prefixed with "stack:" and return nonzero;
# every wait is bounded.

# shellcheck disable=SC2034 # used by the scripts that source this file
STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_PORT_DIR="${STACK_PORT_DIR:-/tmp/bellwether-ports}"
# Random ports come from below Linux's default ephemeral range (32768-60999), so outgoing
# connections never occupy a port we are about to listen on.
STACK_PORT_MIN=20000
STACK_PORT_MAX=32000

stack_err() {
	echo "stack: $*" >&2
}

stack_is_root() {
	[ "$(id -u)" -eq 0 ]
}

# Random hex string of 2*N characters (N bytes from /dev/urandom).
stack_random_hex() {
	od -An -N"${1:-16}" -tx1 /dev/urandom | tr -d ' \n'
}

# ---------------------------------------------------------------------------------------------
# Ports: a bind probe plus a lock file per port under $STACK_PORT_DIR, so that parallel runs
# never collide. A lock file holds "dir=OWNER_DIR" and optionally "pid=PID"; it is stale (and
# reclaimed) when the owner dir is gone or the pid is dead. Allocation is serialised by flock.

# Succeeds when nothing is bound to PORT on any IPv4 address (perl is Essential on Debian).
stack_port_bindable() {
	perl -MSocket -e '
		socket(my $s, PF_INET, SOCK_STREAM, getprotobyname("tcp")) or exit 2;
		bind($s, sockaddr_in($ARGV[0], INADDR_ANY)) or exit 1;
		exit 0;' "$1"
}

stack_port_lock_stale() {
	local file="$1" dir="" pid=""
	dir="$(sed -n 's/^dir=//p' "$file" 2>/dev/null | head -n 1)"
	pid="$(sed -n 's/^pid=//p' "$file" 2>/dev/null | head -n 1)"
	[ -n "$dir" ] || return 0
	[ -d "$dir" ] || return 0
	if [ -n "$pid" ] && ! stack_pid_alive "$pid"; then
		return 0
	fi
	return 1
}

# stack_port_take OWNER_DIR PORT [PID]: take PORT if unlocked (or stale) and bindable.
# Must run under the allocation lock.
stack_port_take() {
	local owner="$1" port="$2" pid="${3:-}" file="$STACK_PORT_DIR/$2"
	if [ -e "$file" ] && ! stack_port_lock_stale "$file"; then
		return 1
	fi
	stack_port_bindable "$port" || return 1
	printf 'dir=%s\n' "$owner" >"$file.tmp.$$"
	[ -z "$pid" ] || printf 'pid=%s\n' "$pid" >>"$file.tmp.$$"
	mv -f "$file.tmp.$$" "$file"
}

# stack_port_acquire OWNER_DIR [PREFERRED [PID]]: prints a port now locked for OWNER_DIR.
# PREFERRED is tried first; otherwise random ports in [STACK_PORT_MIN, STACK_PORT_MAX].
stack_port_acquire() {
	local owner="$1" preferred="${2:-}" pid="${3:-}" port="" i
	mkdir -p "$STACK_PORT_DIR"
	chmod 1777 "$STACK_PORT_DIR" 2>/dev/null || true
	# Shared by every user: created world-readable, locked through a read-only descriptor.
	[ -e "$STACK_PORT_DIR/.alloc.lock" ] || (umask 000 && : >>"$STACK_PORT_DIR/.alloc.lock")
	port="$(
		exec 9<"$STACK_PORT_DIR/.alloc.lock" || exit 1
		flock -w 30 9 || exit 1
		if [ -n "$preferred" ] && stack_port_take "$owner" "$preferred" "$pid"; then
			echo "$preferred"
			exit 0
		fi
		for ((i = 0; i < 500; i++)); do
			p=$((STACK_PORT_MIN + (RANDOM * 32768 + RANDOM) % (STACK_PORT_MAX - STACK_PORT_MIN)))
			if stack_port_take "$owner" "$p" "$pid"; then
				echo "$p"
				exit 0
			fi
		done
		exit 1
	)" || true
	if [ -z "$port" ]; then
		stack_err "no free port found (locks in $STACK_PORT_DIR)"
		return 1
	fi
	echo "$port"
}

# stack_ports_release OWNER_DIR: removes every port lock owned by OWNER_DIR.
stack_ports_release() {
	local owner="$1" f
	[ -d "$STACK_PORT_DIR" ] || return 0
	for f in "$STACK_PORT_DIR"/[0-9]*; do
		[ -f "$f" ] || continue
		if grep -qxF "dir=$owner" "$f" 2>/dev/null; then
			rm -f "$f"
		fi
	done
}

# stack_wait_port PORT TIMEOUT_S: waits until 127.0.0.1:PORT accepts connections.
stack_wait_port() {
	local port="$1" deadline=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------------------------
# Processes

# stack_pid_alive PID: the process exists and is not a zombie (an exited daemon whose parent,
# e.g. a container's init, has not reaped it yet).
stack_pid_alive() {
	local stat
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	[ "${stat:0:1}" != Z ]
}

# stack_pid_started_before PID FILE: the process started no later than FILE was last written
# (2 s slack). A pid recycled after the recorded process died started later, so this tells a
# stale pid file from a live one.
stack_pid_started_before() {
	local stat ticks btime start mtime
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	# Field 22 of /proc/PID/stat (starttime, clock ticks since boot) is the 20th after "comm".
	start="$(echo "$stat" | awk '{ print $20 }')"
	ticks="$(getconf CLK_TCK)"
	btime="$(awk '/^btime / { print $2 }' /proc/stat)"
	mtime="$(stat -c %Y "$2" 2>/dev/null)" || return 1
	[ $((btime + start / ticks)) -le $((mtime + 2)) ]
}

# stack_stop_pidfile PIDFILE NAME TIMEOUT_S: SIGTERM, wait, then SIGKILL. Removes PIDFILE.
# Leaves alone a process that started after PIDFILE was written (a recycled pid).
stack_stop_pidfile() {
	local pidfile="$1" name="$2" timeout="$3" pid deadline
	[ -f "$pidfile" ] || return 0
	pid="$(head -n 1 "$pidfile" 2>/dev/null | tr -dc '0-9')"
	if stack_pid_alive "$pid" && stack_pid_started_before "$pid" "$pidfile"; then
		kill -TERM "$pid" 2>/dev/null || true
		deadline=$((SECONDS + timeout))
		while stack_pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.1
		done
		if stack_pid_alive "$pid"; then
			stack_err "$name (pid $pid) ignored SIGTERM for ${timeout}s; killing"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -f "$pidfile"
}

# Prints the user a service drops to when we are root, or nothing when not root.
stack_service_user() {
	stack_is_root || return 0
	if id -u "$1" >/dev/null 2>&1; then
		echo "$1"
	else
		echo nobody
	fi
}

# stack_run_as USER CMD...: runs CMD as USER when root (runuser), directly otherwise.
stack_run_as() {
	local user="$1"
	shift
	if [ -n "$user" ] && stack_is_root; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

# stack_user_can_reach USER PATH: USER may traverse into PATH (directory).
stack_user_can_reach() {
	[ -z "$1" ] && return 0
	runuser -u "$1" -- test -x "$2" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Postgres

# Directory holding initdb/pg_ctl: the newest Debian cluster binaries, else PATH.
stack_pg_bindir() {
	local d best="" best_ver=0 ver
	for d in /usr/lib/postgresql/*/bin; do
		if [ ! -x "$d/initdb" ] || [ ! -x "$d/pg_ctl" ]; then
			continue
		fi
		ver="${d#/usr/lib/postgresql/}"
		ver="${ver%%/*}"
		[[ "$ver" =~ ^[0-9]+$ ]] || continue
		if [ "$ver" -gt "$best_ver" ]; then
			best="$d"
			best_ver="$ver"
		fi
	done
	if [ -n "$best" ]; then
		echo "$best"
		return 0
	fi
	d="$(command -v initdb 2>/dev/null || true)"
	if [ -n "$d" ]; then
		dirname "$d"
		return 0
	fi
	stack_err "initdb not found (install postgresql)"
	return 1
}

# stack_pg_init DATADIR: creates a cluster with superuser "postgres" and trust auth on the
# local socket and loopback TCP. DATADIR must be empty or absent, owned by the service user.
stack_pg_init() {
	local data="$1" bin user log
	bin="$(stack_pg_bindir)" || return 1
	user="$(stack_service_user postgres)"
	log="$(mktemp)"
	if ! stack_run_as "$user" "$bin/initdb" -D "$data" --no-sync -U postgres -E UTF8 \
		--locale=C --auth-local=trust --auth-host=trust >"$log" 2>&1; then
		stack_err "initdb failed:"
		cat "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

# stack_pg_start DATADIR PORT SOCKDIR LOGFILE FSYNC(on|off): starts postgres, waits (pg_ctl -w).
stack_pg_start() {
	local data="$1" port="$2" sock="$3" log="$4" fsync="$5" bin user opts
	bin="$(stack_pg_bindir)" || return 1
	user="$(stack_service_user postgres)"
	opts="-c fsync=$fsync -c listen_addresses=127.0.0.1 -c port=$port"
	opts="$opts -c unix_socket_directories='$sock'"
	if [ "$fsync" = off ]; then
		opts="$opts -c synchronous_commit=off -c full_page_writes=off"
	fi
	if ! stack_run_as "$user" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$opts" start \
		>/dev/null 9>&-; then
		stack_err "postgres did not start; log $log:"
		tail -n 30 "$log" >&2 2>/dev/null || true
		return 1
	fi
}

# stack_pg_stop DATADIR: fast shutdown, immediate when that does not finish in 30 s.
stack_pg_stop() {
	local data="$1" bin user
	[ -f "$data/postmaster.pid" ] || return 0
	bin="$(stack_pg_bindir)" || return 1
	user="$(stack_service_user postgres)"
	if ! stack_run_as "$user" "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1; then
		if [ -f "$data/postmaster.pid" ]; then
			stack_err "postgres fast shutdown failed; immediate"
			stack_run_as "$user" "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop \
				>/dev/null 2>&1 || true
		fi
	fi
}

# stack_pg_createdb PORT NAME: creates database NAME unless it exists.
stack_pg_createdb() {
	local port="$1" name="$2" bin exists
	bin="$(stack_pg_bindir)" || return 1
	exists="$("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XAtq \
		-c "SELECT 1 FROM pg_database WHERE datname = '$name'")" || return 1
	[ "$exists" = 1 ] && return 0
	"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
}

# ---------------------------------------------------------------------------------------------
# Mosquitto

# stack_mqtt_prepare MQTTDIR: gives the broker's drop-privileges user its directory.
stack_mqtt_prepare() {
	local dir="$1" user
	user="$(stack_service_user mosquitto)"
	if [ -n "$user" ]; then
		chown -R "$user:" "$dir"
	fi
	chmod 0700 "$dir"
}

# stack_mqtt_start MQTTDIR PORT: starts mosquitto daemonized with MQTTDIR/mosquitto.conf (which
# names MQTTDIR/mosquitto.pid and MQTTDIR/mosquitto.log) and waits for the listener.
stack_mqtt_start() {
	local dir="$1" port="$2"
	if ! mosquitto -c "$dir/mosquitto.conf" -d </dev/null >>"$dir/mosquitto.out" 2>&1 9>&-; then
		stack_err "mosquitto failed to start:"
		tail -n 20 "$dir/mosquitto.out" "$dir/mosquitto.log" >&2 2>/dev/null || true
		return 1
	fi
	if ! stack_wait_port "$port" 10; then
		stack_err "mosquitto not listening on $port after 10 s:"
		tail -n 20 "$dir/mosquitto.out" "$dir/mosquitto.log" >&2 2>/dev/null || true
		return 1
	fi
}

stack_mqtt_stop() {
	stack_stop_pidfile "$1/mosquitto.pid" mosquitto 10
}

# ---------------------------------------------------------------------------------------------
# bellwetherd

# stack_bin_has_option BIN NAME: the binary's --help lists option NAME (e.g. BW_BLOB_DIR).
stack_bin_has_option() {
	local help
	help="$(env -i PATH="$PATH" "$1" --help 2>&1 || true)"
	grep -qw -- "$2" <<<"$help"
}

# stack_server_env_args ENVFILE: prints env(1) arguments, one per line, that run bellwetherd
# with the caller's environment minus the harness's own variables (BW_TEST_*, BW_BIN,
# BW_STACK_*: bellwetherd rejects BW_ variables that are not options, and tests export
# test.env), plus the NAME=value lines of ENVFILE, which win.
stack_server_env_args() {
	local envfile="$1" name
	while IFS= read -r name; do
		case "$name" in
		BW_TEST_* | BW_BIN | BW_STACK_*) printf '%s\n' "-u" "$name" ;;
		esac
	done < <(compgen -e)
	while IFS= read -r name; do
		[ -n "$name" ] && printf '%s\n' "$name"
	done <"$envfile"
}

# stack_server_launch BIN ENVFILE LOGFILE PIDFILE CMD...: starts BIN CMD in a new session in the
# background, stdout+stderr appended to LOGFILE, pid in PIDFILE.
stack_server_launch() {
	local bin="$1" envfile="$2" log="$3" pidfile="$4" pid
	shift 4
	local -a envargs
	mapfile -t envargs < <(stack_server_env_args "$envfile")
	env "${envargs[@]}" setsid "$bin" "$@" </dev/null >>"$log" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$pidfile"
}

# stack_server_run BIN ENVFILE CMD...: runs BIN CMD in the foreground with the server
# environment (for migrate and token create), killed after STACK_RUN_TIMEOUT (120) seconds.
stack_server_run() {
	local bin="$1" envfile="$2"
	shift 2
	local -a envargs
	mapfile -t envargs < <(stack_server_env_args "$envfile")
	timeout -k 5 "${STACK_RUN_TIMEOUT:-120}" env "${envargs[@]}" "$bin" "$@" </dev/null
}

# stack_http_status URL: prints the HTTP status code (000 when unreachable).
stack_http_status() {
	curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

# stack_server_wait_ready URL PID TIMEOUT_S: until GET URL/readyz is 200. Fails early when
# the process exits.
stack_server_wait_ready() {
	local url="$1" pid="$2" deadline=$((SECONDS + $3)) code
	while [ "$SECONDS" -lt "$deadline" ]; do
		code="$(stack_http_status "$url/readyz")"
		[ "$code" = 200 ] && return 0
		if ! stack_pid_alive "$pid"; then
			stack_err "bellwetherd (pid $pid) exited before becoming ready"
			return 1
		fi
		sleep 0.2
	done
	stack_err "bellwetherd not ready after $3 s (last /readyz status $code)"
	return 1
}
