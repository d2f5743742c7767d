#!/usr/bin/env bash
# The unmodified AWS CLI against bellwetherd's iot-data plane (spec sections 7 and 8):
# `aws iot-data` update/get/delete-thing-shadow (classic and named), list-named-shadows-for-thing,
# publish, and the AWS error codes the CLI reports, all with --endpoint-url and SigV4 signing
# with the access key of test.env. Skips (exit 77) without the CLI or the stack's environment.
# Prefers Debian's /usr/bin/aws (v2) over other installations; v1 works too.
# Ends with "N passed, M failed".
set -u

# shellcheck source=../lib/awscli.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/awscli.sh"
awscli_init

# iot ARGS...: `aws iot-data ARGS` against the server (the expect_* helpers run it)
iot() {
	cli iot-data "$@"
}
AWSCLI_RUN=iot

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
expect_bad_secret "wrong secret" get-thing-shadow --thing-name "$thing" "$doc"

awscli_finish
