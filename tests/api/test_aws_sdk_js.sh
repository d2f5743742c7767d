#!/usr/bin/env bash
# The unmodified AWS SDK for JavaScript v3 against bellwetherd (tests/api/aws_sdk_js.test.mjs):
# control plane, iot-jobs-data and iot-data clients with only endpoint, region and credentials set.
# Needs the stack's environment (test.env) and tools/ installed (npm ci; pinned versions).
# Skips (exit 77) without the stack. Ends with "N passed, M failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
	# shellcheck source=/dev/null
	. "$BW_TEST_ENV_FILE"
fi
if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_AWS_ACCESS_KEY:-}" ]; then
	echo "skipped: BW_TEST_URL / BW_TEST_AWS_ACCESS_KEY not set (run via tests/harness/stack.sh)"
	exit 77
fi
fail() {
	echo "aws-sdk-js: $*"
	echo "0 passed, 1 failed"
	exit 1
}
command -v node >/dev/null 2>&1 || fail "node not found (scripts/install-deps.sh installs it)"
if [ ! -f "$ROOT/tools/node_modules/@aws-sdk/client-iot/package.json" ] ||
	[ ! -f "$ROOT/tools/node_modules/@aws-sdk/client-iot-jobs-data-plane/package.json" ] ||
	[ ! -f "$ROOT/tools/node_modules/@aws-sdk/client-iot-data-plane/package.json" ]; then
	command -v npm >/dev/null 2>&1 || fail "npm not found (needed to install tools/)"
	echo "aws-sdk-js: installing pinned tools (npm ci in tools/)"
	(cd "$ROOT/tools" && npm ci --no-audit --no-fund --loglevel=error) ||
		fail "npm ci in tools/ failed"
fi
# A private, empty SDK configuration: only what the test passes counts.
work="$(mktemp -d /tmp/bellwether-sdkjs.XXXXXX)" || fail "mktemp failed"
trap 'rm -rf "$work"' EXIT
export HOME="$work" AWS_CONFIG_FILE="$work/config" AWS_SHARED_CREDENTIALS_FILE="$work/creds"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
timeout 120 node "$HERE/aws_sdk_js.test.mjs"
rc=$?
[ "$rc" -ne 124 ] || fail "timed out after 120 s"
exit "$rc"
