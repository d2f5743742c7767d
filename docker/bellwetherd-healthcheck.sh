#!/usr/bin/env bash
# Docker HEALTHCHECK: GET /healthz on the port of BW_HTTP_LISTEN must answer 200. Uses bash's
# /dev/tcp so the image needs no HTTP client.
set -euo pipefail

port="${BW_HTTP_LISTEN##*:}"
exec 3<>"/dev/tcp/127.0.0.1/${port:-8080}"
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 4 status <&3
exec 3<&-
case "$status" in
"HTTP/1."[01]" 200"*) exit 0 ;;
*)
	echo "healthz: ${status:-no answer}"
	exit 1
	;;
esac
