#!/usr/bin/env bash
# The unmodified AWS CLI against bellwetherd's iot-data plane (spec sections 7 and 8):
# `aws iot-data` update/get/delete-thing-shadow (classic and named), list-named-shadows-for-thing,
# publish, and the AWS error codes the CLI reports, all with --endpoint-url and SigV4 signing
# with the access key of test.env. Skips (exit 77) without the CLI or the stack's environment.
# Prefers Debian's /usr/bin/aws (v2) over other installations; v1 works too.
# Ends with "N passed, M failed".
set -u

if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
	# shellcheck source=/dev/null
	. "$BW_TEST_ENV_FILE"
fi
if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_AWS_ACCESS_KEY:-}" ] ||
	[ -z "${BW_TEST_AWS_SECRET_KEY:-}" ]; then
	echo "skipped: BW_TEST_URL / BW_TEST_AWS_ACCESS_KEY not set (run via tests/harness/stack.sh)"
	exit 77
fi
AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS="$(command -v aws || true)"
if [ -z "$AWS" ]; then
	echo "skipped: the AWS CLI is not installed (scripts/install-deps.sh installs awscli)"
	exit 77
fi

work="$(mktemp -d /tmp/bellwether-awscli.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# a private, empty CLI configuration: only what this script passes counts
export HOME="$work" AWS_CONFIG_FILE="$work/config" AWS_SHARED_CREDENTIALS_FILE="$work/creds"
export AWS_ACCESS_KEY_ID="$BW_TEST_AWS_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BW_TEST_AWS_SECRET_KEY"
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_MAX_ATTEMPTS=1
unset AWS_SESSION_TOKEN AWS_PROFILE

# CLI v2 takes blob arguments as base64 unless told otherwise (spec 8.1)
binfmt=()
if "$AWS" --version 2>&1 | grep -q '^aws-cli/2'; then
	binfmt=(--cli-binary-format raw-in-base64-out)
fi

pass=0
fail=0
ok() {
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

# iot ARGS...: run `aws iot-data ARGS` against the server; stdout/stderr in $work/out, $work/err.
iot() {
	"$AWS" iot-data --endpoint-url "$BW_TEST_URL" "$@" >"$work/out" 2>"$work/err"
}

# expect_ok DESCRIPTION ARGS...
expect_ok() {
	local what="$1"
	shift
	if iot "$@"; then
		ok
	else
		bad "$what: exit $? ($(head -c 300 "$work/err"))"
	fi
}

# expect_error DESCRIPTION CODE ARGS...: the CLI fails and names the AWS error code
expect_error() {
	local what="$1" code="$2"
	shift 2
	if iot "$@"; then
		bad "$what: succeeded, expected $code"
	elif grep -q "$code" "$work/err"; then
		ok
	else
		bad "$what: expected $code, got: $(head -c 300 "$work/err")"
	fi
}

# expect_in FILE TEXT DESCRIPTION
expect_in() {
	if grep -qF -- "$2" "$1"; then
		ok
	else
		bad "$3: '$2' not in $(head -c 300 "$1")"
	fi
}

thing="awscli-$$-$(date +%s)"
doc="$work/doc.json"

expect_error "get before any update" ResourceNotFoundException \
	get-thing-shadow --thing-name "$thing" "$doc"

expect_ok "update classic" update-thing-shadow --thing-name "$thing" "${binfmt[@]}" \
	--payload '{"state":{"desired":{"mode":"eco","t":0.1},"reported":{"mode":"boost"}}}' "$doc"
expect_in "$doc" '"version":1' "update reply"

expect_ok "get classic" get-thing-shadow --thing-name "$thing" "$doc"
expect_in "$doc" '"delta":{' "get reply"
expect_in "$doc" '"t":0.1' "get reply keeps numbers as sent"

expect_error "version conflict" ConflictException update-thing-shadow --thing-name "$thing" \
	"${binfmt[@]}" --payload '{"state":{"reported":{"mode":"eco"}},"version":9}' "$doc"
expect_error "invalid document" InvalidRequestException update-thing-shadow \
	--thing-name "$thing" "${binfmt[@]}" --payload '{"state":{"delta":{}}}' "$doc"

expect_ok "update named" update-thing-shadow --thing-name "$thing" --shadow-name cfg \
	"${binfmt[@]}" --payload '{"state":{"desired":{"rate":5}}}' "$doc"
expect_ok "list named" list-named-shadows-for-thing --thing-name "$thing"
expect_in "$work/out" '"cfg"' "list-named-shadows-for-thing"
expect_ok "get named" get-thing-shadow --thing-name "$thing" --shadow-name cfg "$doc"
expect_in "$doc" '"rate":5' "get named"

# publish into the shadow request topic: handled like a device's MQTT publish
expect_ok "publish" publish --topic "\$aws/things/$thing/shadow/update" --qos 1 \
	"${binfmt[@]}" --payload '{"state":{"reported":{"via":"publish"}}}'
seen=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if iot get-thing-shadow --thing-name "$thing" "$doc" && grep -q '"via":"publish"' "$doc"; then
		seen=1
		break
	fi
	sleep 0.2
done
if [ "$seen" = 1 ]; then ok; else bad "publish to the update topic never reached the shadow"; fi

expect_ok "delete classic" delete-thing-shadow --thing-name "$thing" "$doc"
expect_in "$doc" '"version":' "delete reply"
expect_error "get after delete" ResourceNotFoundException \
	get-thing-shadow --thing-name "$thing" "$doc"
expect_ok "named survives the classic delete" get-thing-shadow --thing-name "$thing" \
	--shadow-name cfg "$doc"

# a wrong secret is refused with a signature error (403)
if AWS_SECRET_ACCESS_KEY=wrong-secret iot get-thing-shadow --thing-name "$thing" "$doc"; then
	bad "a wrong secret was accepted"
elif grep -qE 'InvalidSignatureException|Forbidden|403' "$work/err"; then
	ok
else
	bad "wrong secret: unexpected error $(head -c 300 "$work/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
