#!/usr/bin/env bash
# Writes a Mosquitto 2.0 configuration for Bellwether: DIR/mosquitto.conf, DIR/acl and DIR/passwd.
#
# Usage: scripts/gen-mosquitto-conf.sh [--docker] [--bind ADDR] [--max-inflight N] \
#            [--max-queued N] [--max-queued-bytes N] [--memory-limit N] \
#            DIR PORT SERVER_USER SERVER_PASSWORD [PLUGIN_SO]
#
#   DIR              output directory (created if missing)
#   PORT             MQTT listener port
#   SERVER_USER      account of bellwetherd (letters, digits, . _ -)
#   SERVER_PASSWORD  its password; written hashed to DIR/passwd with mosquitto_passwd.
#                    "-" writes no passwd file (the docker image creates it at start).
#   PLUGIN_SO        optional path of Bellwether's broker plugin (mosquitto-plugin/, built as
#                    $BUILD/bellwether_plugin.so); "-" or absent: none. With --docker the
#                    default is the image's /usr/lib/bellwether/bellwether_plugin.so.
#   --bind ADDR      listener address (default 127.0.0.1)
#   --docker         container layout: listen on 0.0.0.0, log to stdout, no pid file, ACL at
#                    /mosquitto/config/acl, password file at /mosquitto/data/passwd
#   Queue limits (docs/ARCHITECTURE.md "Back-pressure"; env BW_MOSQ_MAX_INFLIGHT, ..._QUEUED,
#   ..._QUEUED_BYTES, ..._MEMORY_LIMIT give the defaults; 0 = no limit):
#   --max-inflight N      QoS 1 messages in flight per client and direction (10000); also the
#                         Receive Maximum the broker announces, which caps bellwetherd's replies
#   --max-queued N        QoS 1 messages queued per client beyond those in flight (100000)
#   --max-queued-bytes N  bytes queued per client (0: the count limit alone)
#   --memory-limit N      the broker's heap limit in bytes (0)
#
# Access model (verified against Debian's Mosquitto 2.0.11 by tests/integration/test_mqtt_acl.sh):
#   - The server account may use every topic. A `#` ACL line does NOT match topics that start
#     with `$` (MQTT rule, also applied to ACLs), so `$aws/#` is listed separately.
#   - Devices connect anonymously; a device whose client id is its thing name may use only
#     `$aws/things/<that name>/...`. Client ids containing + or # never match a pattern.
#     Authenticating devices beyond the client id (certificates, per-thing credentials, or a
#     plugin) is not done here: anyone who knows a thing name can connect as that thing.
#   - A client that sends a username must be in the password file. The AWS Device SDK v2 sends
#     `<username>?SDK=...` (even `?SDK=...` with no username, spec section 1.5): the broker
#     plugin cuts the username at `?` before the password file is checked (empty -> anonymous).
#     Without the plugin such devices are refused ("not authorised").
#   - The plugin (mosquitto-plugin/README.md) delivers the server's replies published on
#     `$bellwether/deliver/<reply topic>` to one client; only the server account may write
#     there and nobody may read it.
set -euo pipefail

usage() {
	sed -n '4,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit "${1:-2}"
}

bind=127.0.0.1
docker=0
max_inflight="${BW_MOSQ_MAX_INFLIGHT:-10000}"
max_queued="${BW_MOSQ_MAX_QUEUED:-100000}"
max_queued_bytes="${BW_MOSQ_MAX_QUEUED_BYTES:-0}"
memory_limit="${BW_MOSQ_MEMORY_LIMIT:-0}"
while [ $# -gt 0 ]; do
	case "$1" in
	--max-inflight | --max-queued | --max-queued-bytes | --memory-limit)
		[ $# -ge 2 ] || usage
		case "$1" in
		--max-inflight) max_inflight="$2" ;;
		--max-queued) max_queued="$2" ;;
		--max-queued-bytes) max_queued_bytes="$2" ;;
		--memory-limit) memory_limit="$2" ;;
		esac
		shift 2
		;;
	--docker)
		docker=1
		bind=0.0.0.0
		shift
		;;
	--bind)
		[ $# -ge 2 ] || usage
		bind="$2"
		shift 2
		;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) echo "gen-mosquitto-conf: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
if [ $# -lt 4 ] || [ $# -gt 5 ]; then
	usage
fi

dir="$1"
port="$2"
user="$3"
password="$4"
plugin="${5:-}"
if [ "$docker" -eq 1 ] && [ $# -lt 5 ]; then
	plugin=/usr/lib/bellwether/bellwether_plugin.so
fi
[ "$plugin" != "-" ] || plugin=""

if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	echo "gen-mosquitto-conf: bad port '$port'" >&2
	exit 2
fi
if ! [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]]; then
	echo "gen-mosquitto-conf: server user must match [A-Za-z0-9._-]+" >&2
	exit 2
fi
if [ -z "$password" ]; then
	echo "gen-mosquitto-conf: empty server password" >&2
	exit 2
fi
for n in "$max_inflight" "$max_queued" "$max_queued_bytes" "$memory_limit"; do
	if ! [[ "$n" =~ ^[0-9]{1,12}$ ]]; then
		echo "gen-mosquitto-conf: queue limits must be non-negative integers, got '$n'" >&2
		exit 2
	fi
done
if [ "$max_inflight" -gt 65535 ]; then
	echo "gen-mosquitto-conf: --max-inflight is at most 65535 (MQTT Receive Maximum)" >&2
	exit 2
fi
if [ -n "$plugin" ] && [ ! -f "$plugin" ] && [ "$docker" -eq 0 ]; then
	echo "gen-mosquitto-conf: plugin $plugin not found" >&2
	exit 2
fi

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

if [ "$docker" -eq 1 ]; then
	acl_path=/mosquitto/config/acl
	passwd_path=/mosquitto/data/passwd
else
	acl_path="$dir/acl"
	passwd_path="$dir/passwd"
fi

if [ "$docker" -eq 1 ]; then
	header="# Generated by scripts/gen-mosquitto-conf.sh --docker DIR $port $user -; do not edit."
else
	header="# Generated by scripts/gen-mosquitto-conf.sh; regenerate instead of editing."
fi

umask 077
{
	echo "$header"
	echo "per_listener_settings false"
	echo "listener $port $bind"
	echo "# Without it QoS 1 request/reply over loopback stalls on Nagle + delayed ACK (spec 1.5)."
	echo "set_tcp_nodelay true"
	echo "# Back-pressure (docs/ARCHITECTURE.md): bellwetherd reads its session at full speed and"
	echo "# answers what it cannot take now as throttled, so its queue here stays short. In flight:"
	echo "# also the Receive Maximum announced to clients; the default 20 would cap bellwetherd's"
	echo "# replies at 20 per broker round trip and pile them up inside the server."
	echo "max_inflight_messages $max_inflight"
	echo "# Bounded per-client queues (0 = unbounded, not for production). Mosquitto 2.0.11 drops"
	echo "# QoS 1 messages to a busy subscriber well below the default limit of 1000 (docs/BENCH.md)."
	echo "max_queued_messages $max_queued"
	[ "$max_queued_bytes" = 0 ] || echo "max_queued_bytes $max_queued_bytes"
	[ "$memory_limit" = 0 ] || echo "memory_limit $memory_limit"
	echo "# Devices connect without credentials; the ACL confines each to its own thing topics."
	echo "allow_anonymous true"
	echo "persistence false"
	echo "password_file $passwd_path"
	echo "acl_file $acl_path"
	if [ "$docker" -eq 1 ]; then
		echo "log_dest stdout"
	else
		echo "pid_file $dir/mosquitto.pid"
		echo "log_dest file $dir/mosquitto.log"
	fi
	echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
	if [ -n "$plugin" ]; then
		echo "# Directed Jobs replies, requester ids, SDK v2 usernames: mosquitto-plugin/README.md"
		echo "plugin $plugin"
		echo "plugin_opt_server_user $user"
	fi
} >"$dir/mosquitto.conf.tmp"
mv "$dir/mosquitto.conf.tmp" "$dir/mosquitto.conf"

{
	echo "$header"
	echo "# Server account: everything. '#' does not match topics starting with '\$', hence \$aws/#."
	echo "user $user"
	echo "topic readwrite #"
	echo "topic readwrite \$aws/#"
	echo "# Replies for the broker plugin to deliver to one client (write only: nobody reads it)."
	echo "topic write \$bellwether/deliver/#"
	echo "# Broker statistics (dropped messages, queues) for monitoring."
	echo "topic read \$SYS/#"
	echo ""
	echo "# Every client (devices connect anonymously): only its own thing's topics, where the"
	echo "# client id is the thing name."
	echo "pattern readwrite \$aws/things/%c/#"
} >"$dir/acl.tmp"
mv "$dir/acl.tmp" "$dir/acl"

if [ "$password" != "-" ]; then
	rm -f "$dir/passwd.tmp"
	: >"$dir/passwd.tmp"
	mosquitto_passwd -b "$dir/passwd.tmp" "$user" "$password"
	mv "$dir/passwd.tmp" "$dir/passwd"
fi
# Config and ACL hold no secret; the broker (possibly another user) must read them.
chmod 0644 "$dir/mosquitto.conf" "$dir/acl"
