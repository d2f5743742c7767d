#!/usr/bin/env bash
# Validates the container setup without a container engine: docker-compose.yml (services,
# healthchecks, volumes, start order), the Dockerfile's shape, the committed broker config, and
# the entrypoint/healthcheck scripts (run locally where possible: the broker config in the local
# mosquitto; the healthcheck and entrypoint against the stack's bellwetherd when test.env has one).
# Prints "N passed, M failed" last; exit status 1 when something failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../scripts/stack-lib.sh
. "$ROOT/scripts/stack-lib.sh"

if ! command -v docker-compose >/dev/null; then
	echo "skipped: docker-compose not installed"
	exit 77
fi

passed=0
failed=0
WORK="$(mktemp -d)"
MQ_PID=""

cleanup() {
	if stack_pid_alive "$MQ_PID"; then
		kill "$MQ_PID" 2>/dev/null
		wait "$MQ_PID" 2>/dev/null
	fi
	stack_ports_release "$WORK"
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() {
	passed=$((passed + 1))
	echo "ok   - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "FAIL - $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/       /'
}

# check DESCRIPTION CMD...: CMD's success is the result.
check() {
	local desc="$1"
	shift
	if "$@" >"$WORK/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc" "$(tail -n 20 "$WORK/check.out")"
	fi
}

compose() {
	docker-compose -f "$ROOT/docker-compose.yml" --project-directory "$ROOT" "$@"
}

# service_block NAME: the lines of one service in the normalised `docker-compose config`.
service_block() {
	awk -v svc="  $1:" '
		/^[^ ]/ { in_services = ($0 == "services:") ; inside = 0; next }
		in_services && /^  [^ ]/ { inside = ($0 == svc); next }
		inside { print }' "$WORK/config.yml"
}

has_line() {
	grep -qE "$1" <<<"$2"
}

# ---- docker-compose.yml
check "docker-compose config -q accepts docker-compose.yml" compose config -q
if ! compose config >"$WORK/config.yml" 2>"$WORK/config.err"; then
	not_ok "docker-compose config renders" "$(cat "$WORK/config.err")"
fi
services="$(compose config --services 2>/dev/null | sort | tr '\n' ' ')"
check "services are bellwether, mosquitto, postgres" \
	test "$services" = "bellwether mosquitto postgres "
volumes="$(compose config --volumes 2>/dev/null | sort | tr '\n' ' ')"
check "named volumes bwdata, mqttdata, pgdata" test "$volumes" = "bwdata mqttdata pgdata "

for svc in postgres mosquitto bellwether; do
	block="$(service_block "$svc")"
	check "$svc has a healthcheck with a test" has_line '^    healthcheck:' "$block"
	check "$svc healthcheck has a command" has_line '^      test:' "$block"
	check "$svc restarts unless stopped" has_line '^    restart: unless-stopped' "$block"
done

pg="$(service_block postgres)"
check "postgres is postgres:15" has_line '^    image: postgres:15$' "$pg"
check "postgres data on volume pgdata" has_line '^    - pgdata:/var/lib/postgresql/data' "$pg"
check "postgres healthcheck uses pg_isready" has_line 'pg_isready' "$pg"

mq="$(service_block mosquitto)"
check "mosquitto builds docker/mosquitto.Dockerfile (eclipse-mosquitto:2 + plugin)" \
	has_line '^      dockerfile: docker/mosquitto.Dockerfile' "$mq"
mdf="$ROOT/docker/mosquitto.Dockerfile"
check "mosquitto.Dockerfile builds on and runs eclipse-mosquitto:2" \
	test "$(grep -cE '^FROM eclipse-mosquitto:2( |$)' "$mdf" 2>/dev/null)" -eq 2
check "mosquitto.Dockerfile installs the plugin where the config loads it" bash -c '
	grep -q "/usr/lib/bellwether/bellwether_plugin.so" "$1" &&
	grep -qx "plugin /usr/lib/bellwether/bellwether_plugin.so" "$2"' _ "$mdf" \
	"$ROOT/docker/mosquitto/mosquitto.conf"
check "mosquitto mounts docker/mosquitto read-only" \
	has_line "^    - $ROOT/docker/mosquitto:/mosquitto/config:ro" "$mq"

bw="$(service_block bellwether)"
check "bellwether builds docker/bellwetherd.Dockerfile" \
	has_line '^      dockerfile: docker/bellwetherd.Dockerfile' "$bw"
check "bellwether waits for healthy postgres and mosquitto" bash -c '
	block="$1"
	for s in postgres mosquitto; do
		grep -A1 -E "^      $s:" <<<"$block" | grep -q "condition: service_healthy" || exit 1
	done' _ "$bw"
check "bellwether publishes port 8080" has_line ':8080:8080/tcp' "$bw"
check "bellwether data on volume bwdata" has_line '^    - bwdata:/var/lib/bellwether' "$bw"
for opt in BW_PG_DSN BW_MQTT_HOST BW_MQTT_USERNAME BW_HTTP_LISTEN BELLWETHER_MQTT_PASSWORD; do
	check "bellwether environment sets $opt" has_line "^      $opt: " "$bw"
done
check "BW_PG_DSN points at the postgres service" has_line '@postgres:5432/bellwether' "$bw"

# ---- Dockerfile
df="$ROOT/docker/bellwetherd.Dockerfile"
dockerfile="$(cat "$df" 2>/dev/null)"
check "Dockerfile is multi-stage on Debian 12" \
	test "$(grep -cE '^FROM debian:bookworm' <<<"$dockerfile")" -ge 2
check "Dockerfile runtime runs as a non-root user" \
	has_line '^USER [1-9][0-9]*(:[0-9]+)?$' "$dockerfile"
check "Dockerfile has a HEALTHCHECK" has_line '^HEALTHCHECK ' "$dockerfile"
check "Dockerfile copies migrations and web-static" bash -c '
	grep -q "^COPY migrations/" "$1" && grep -q "^COPY web-static/" "$1"' _ "$df"
check "Dockerfile copies the built binary from the build stage" has_line '^COPY --from=build ' \
	"$dockerfile"
# Every file the Dockerfile COPYs from the context must exist and not be dockerignored.
missing=""
while read -r src; do
	[ -e "$ROOT/$src" ] || missing="$missing $src"
done < <(sed -nE 's/^COPY +([^-][^ ]*) .*/\1/p' "$df")
check "Dockerfile COPY sources exist${missing:+ (missing:$missing)}" test -z "$missing"
check ".dockerignore excludes build/, .local/ and .git" bash -c '
	f="$1/.dockerignore"
	grep -qxE "/?build/?" "$f" && grep -qxE "/?\.local/?" "$f" && grep -qxE "/?\.git/?" "$f"' _ "$ROOT"

# ---- scripts used inside the containers
check "docker/mosquitto-entrypoint.sh parses (POSIX sh)" \
	sh -n "$ROOT/docker/mosquitto-entrypoint.sh"
check "docker/bellwetherd-entrypoint.sh parses" bash -n "$ROOT/docker/bellwetherd-entrypoint.sh"
check "docker/bellwetherd-healthcheck.sh parses" bash -n "$ROOT/docker/bellwetherd-healthcheck.sh"

# ---- committed broker configuration
"$ROOT/scripts/gen-mosquitto-conf.sh" --docker "$WORK/gen" 1883 bellwetherd - >/dev/null
check "docker/mosquitto/ matches scripts/gen-mosquitto-conf.sh --docker output" \
	diff -r "$WORK/gen" "$ROOT/docker/mosquitto"

# Load it into the local mosquitto, with the container paths moved into $WORK and a free port.
if command -v mosquitto >/dev/null && port="$(stack_port_acquire "$WORK")"; then
	mkdir -p "$WORK/mq"
	# The image's plugin path -> the locally built plugin (make test-build), or no plugin.
	case "${BUILD:-build/debug}" in
	/*) plugin_so="$BUILD/bellwether_plugin.so" ;;
	*) plugin_so="$ROOT/${BUILD:-build/debug}/bellwether_plugin.so" ;;
	esac
	if [ -f "$plugin_so" ]; then
		plugin_sed="s#^plugin /usr/lib/bellwether/bellwether_plugin.so\$#plugin $plugin_so#"
	else
		plugin_sed='/^plugin/d'
	fi
	sed -e "s#/mosquitto/config/#$WORK/mq/#; s#/mosquitto/data/#$WORK/mq/#" \
		-e "s#^listener 1883 0.0.0.0#listener $port 127.0.0.1#" -e "$plugin_sed" \
		"$ROOT/docker/mosquitto/mosquitto.conf" >"$WORK/mq/mosquitto.conf"
	cp "$ROOT/docker/mosquitto/acl" "$WORK/mq/acl"
	: >"$WORK/mq/passwd"
	mosquitto_passwd -b "$WORK/mq/passwd" bellwetherd compose-test-pw
	if stack_is_root; then
		chown -R "$(stack_service_user mosquitto):" "$WORK/mq"
		chmod o+x "$WORK"
	fi
	mosquitto -c "$WORK/mq/mosquitto.conf" >"$WORK/mq.log" 2>&1 &
	MQ_PID=$!
	if stack_wait_port "$port" 10; then
		ok "mosquitto starts with docker/mosquitto/mosquitto.conf"
		check "the compose healthcheck's publish succeeds against it" timeout 10 mosquitto_pub \
			-h 127.0.0.1 -p "$port" -u bellwetherd -P compose-test-pw -i bellwether-healthcheck \
			-q 1 -t bellwether/healthcheck -m ok
	else
		not_ok "mosquitto starts with docker/mosquitto/mosquitto.conf" "$(tail "$WORK/mq.log")"
	fi
fi

# ---- against the running daemon, when the stack has one
if [ -n "${BW_TEST_HTTP_PORT:-}" ] && [ -n "${BW_TEST_BIN:-}" ]; then
	check "bellwetherd-healthcheck passes against the running daemon" env -i PATH="$PATH" \
		BW_HTTP_LISTEN="127.0.0.1:$BW_TEST_HTTP_PORT" "$ROOT/docker/bellwetherd-healthcheck.sh"
	stack_port_acquire "$WORK" >"$WORK/closed.port"
	check "bellwetherd-healthcheck fails when nothing listens" bash -c '! env -i PATH="$PATH" \
		BW_HTTP_LISTEN="127.0.0.1:$1" "$2" 2>/dev/null' _ "$(cat "$WORK/closed.port")" \
		"$ROOT/docker/bellwetherd-healthcheck.sh"
	env -i PATH="$PATH" TMPDIR="$WORK" BELLWETHER_BIN="$BW_TEST_BIN" \
		BELLWETHER_MQTT_PASSWORD=compose-entrypoint-pw \
		"$ROOT/docker/bellwetherd-entrypoint.sh" print-config >"$WORK/pc.out" 2>&1
	rc=$?
	pwfile="$(find "$WORK" -maxdepth 1 -name 'mqtt-password.*' | head -n 1)"
	check "entrypoint runs bellwetherd with its arguments" test "$rc" -eq 0
	check "entrypoint writes BELLWETHER_MQTT_PASSWORD to a private file" bash -c '
		[ -f "$1" ] && [ "$(cat "$1")" = compose-entrypoint-pw ] &&
		[ "$(stat -c %a "$1")" = 600 ]' _ "$pwfile"
	check "entrypoint points BW_MQTT_PASSWORD_FILE at it" grep -qF "$pwfile" "$WORK/pc.out"
else
	echo "# no running bellwetherd in test.env: healthcheck and entrypoint not run"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
