#!/usr/bin/env bash
# Container entrypoint of bellwetherd: turns container-friendly settings into daemon options,
# then execs `bellwetherd "$@"` (default command: serve).
#
#   BELLWETHER_MQTT_PASSWORD  the broker password of the server account, written to a private
#                             file that BW_MQTT_PASSWORD_FILE then names (unless that is set)
#   BW_BLOB_DIR               defaults to /var/lib/bellwether/blobs when the daemon has it
#   BELLWETHER_BIN            the daemon (default /usr/local/bin/bellwetherd; tests override)
set -euo pipefail

BIN="${BELLWETHER_BIN:-/usr/local/bin/bellwetherd}"
unset BELLWETHER_BIN

if [ -n "${BELLWETHER_MQTT_PASSWORD:-}" ] && [ -z "${BW_MQTT_PASSWORD_FILE:-}" ]; then
	pwfile="$(mktemp -t mqtt-password.XXXXXX)"
	printf '%s\n' "$BELLWETHER_MQTT_PASSWORD" >"$pwfile"
	export BW_MQTT_PASSWORD_FILE="$pwfile"
fi
unset BELLWETHER_MQTT_PASSWORD

# The daemon rejects unknown BW_ variables, so set newer options only when it knows them.
help="$("$BIN" --help 2>&1 || true)"
if [ -z "${BW_BLOB_DIR:-}" ] && grep -qw BW_BLOB_DIR <<<"$help"; then
	export BW_BLOB_DIR=/var/lib/bellwether/blobs
	mkdir -p "$BW_BLOB_DIR"
fi

exec "$BIN" "$@"
