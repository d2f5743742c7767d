#!/usr/bin/env bash
# Installs what building and testing Bellwether needs on Debian 12: the missing Debian packages
# (checked with dpkg-query first, so a machine that has everything is a fast no-op without
# network) and the npm packages of tools/ when tools/package.json exists.
#
# Usage: scripts/install-deps.sh
# Env:   INSTALL_DEPS_SKIP_NPM=1  do not run `npm ci` in tools/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
	build-essential pkg-config
	libmicrohttpd-dev libpq-dev libmosquitto-dev libjansson-dev libssl-dev libcurl4-openssl-dev
	check libsubunit-dev
	mosquitto mosquitto-clients mosquitto-dev
	postgresql
	docker-compose
	nodejs npm
	chromium fonts-dejavu-core
	curl ca-certificates perl util-linux
	awscli
)

# Some packages are satisfied by a command from elsewhere: NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package, so a working command counts as installed.
command_for() {
	case "$1" in
	nodejs) echo node ;;
	npm) echo npm ;;
	*) echo "" ;;
	esac
}

is_installed() {
	local pkg="$1" cmd status
	cmd="$(command_for "$pkg")"
	if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
		return 0
	fi
	status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
	[ "${status:0:2}" = "ii" ]
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "install-deps: need root or sudo to run: $*" >&2
		return 1
	fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
fi

# The Debian packages start system-wide mosquitto and postgresql services on install; the
# harness runs private instances on free ports, so those services are left alone (not needed,
# not in the way).

# tools/ is (re)installed when node_modules is missing or older than the lock file (a pull that
# added a pinned package must not leave a stale tree behind).
tools_stale=0
if [ ! -d "$ROOT/tools/node_modules" ]; then
	tools_stale=1
elif [ -f "$ROOT/tools/package-lock.json" ] &&
	[ "$ROOT/tools/package-lock.json" -nt "$ROOT/tools/node_modules/.package-lock.json" ]; then
	tools_stale=1
fi
if [ -f "$ROOT/tools/package.json" ] && [ "$tools_stale" = 1 ] &&
	[ "${INSTALL_DEPS_SKIP_NPM:-0}" != 1 ]; then
	echo "install-deps: npm ci in tools/"
	if [ -f "$ROOT/tools/package-lock.json" ]; then
		(cd "$ROOT/tools" && npm ci --no-audit --no-fund)
	else
		# npm ci needs a lock file; without one install exactly what package.json pins.
		(cd "$ROOT/tools" && npm install --no-audit --no-fund)
	fi
fi
