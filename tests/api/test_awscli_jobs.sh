#!/usr/bin/env bash
# The unmodified AWS CLI against bellwetherd's jobs planes (spec sections 4 and 5): `aws iot`
# (things, thing groups, job templates, jobs, executions) and `aws iot-jobs-data` (the device's
# HTTP API), with --endpoint-url and SigV4 signing with the access key of test.env, including the
# AWS error codes the CLI reports. Skips (exit 77) without the CLI or the stack's environment.
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
export HOME="$work" AWS_CONFIG_FILE="$work/config" AWS_SHARED_CREDENTIALS_FILE="$work/creds"
export AWS_ACCESS_KEY_ID="$BW_TEST_AWS_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BW_TEST_AWS_SECRET_KEY"
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_MAX_ATTEMPTS=1
unset AWS_SESSION_TOKEN AWS_PROFILE

pass=0
fail=0
ok() {
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

# cli SERVICE ARGS...: `aws SERVICE ARGS` against the server; output in $work/out, $work/err.
cli() {
	local svc="$1"
	shift
	"$AWS" "$svc" --endpoint-url "$BW_TEST_URL" --output text "$@" >"$work/out" 2>"$work/err"
}

# expect_ok DESCRIPTION SERVICE ARGS...
expect_ok() {
	local what="$1"
	shift
	if cli "$@"; then
		ok
	else
		bad "$what: exit $? ($(head -c 300 "$work/err"))"
	fi
}

# expect_out DESCRIPTION WANT SERVICE ARGS...: succeeds and prints exactly WANT (use --query)
expect_out() {
	local what="$1" want="$2" got
	shift 2
	if ! cli "$@"; then
		bad "$what: exit $? ($(head -c 300 "$work/err"))"
		return
	fi
	got="$(tr -d '\r' <"$work/out" | sed -e 's/[[:space:]]*$//')"
	if [ "$got" = "$want" ]; then
		ok
	else
		bad "$what: got '$got', want '$want'"
	fi
}

# expect_error DESCRIPTION CODE SERVICE ARGS...: the CLI fails and names the AWS error code
expect_error() {
	local what="$1" code="$2"
	shift 2
	if cli "$@"; then
		bad "$what: succeeded, expected $code"
	elif grep -q "$code" "$work/err"; then
		ok
	else
		bad "$what: expected $code, got: $(head -c 300 "$work/err")"
	fi
}

run="$$-$(date +%s)"
a="cli-a-$run"
b="cli-b-$run"
group="cli-g-$run"
job="cli-job-$run"
tpl="cli-tpl-$run"

expect_out "create-thing" "$a" iot create-thing --thing-name "$a" \
	--attribute-payload '{"attributes":{"model":"m1"}}' --query thingName
arn_a="$(cli iot describe-thing --thing-name "$a" --query thingArn && cat "$work/out")"
case "$arn_a" in
arn:aws:iot:*:thing/"$a") ok ;;
*) bad "describe-thing arn: '$arn_a'" ;;
esac
expect_ok "create-thing b" iot create-thing --thing-name "$b"
expect_out "describe-thing attribute" m1 iot describe-thing --thing-name "$a" \
	--query attributes.model
expect_ok "list-things" iot list-things --query "things[?thingName=='$b'].thingName"
grep -qF "$b" "$work/out" && ok || bad "list-things does not list $b"
expect_error "describe-thing missing" ResourceNotFoundException iot describe-thing \
	--thing-name "missing-$run"

expect_out "create-thing-group" "$group" iot create-thing-group --thing-group-name "$group" \
	--query thingGroupName
arn_g="$(cli iot create-thing-group --thing-group-name "$group" --query thingGroupArn &&
	cat "$work/out")"
expect_ok "add-thing-to-thing-group" iot add-thing-to-thing-group --thing-group-name "$group" \
	--thing-name "$b"

expect_out "create-job-template" "$tpl" iot create-job-template --job-template-id "$tpl" \
	--description "cli template" --document '{"op":"from-template"}' \
	--timeout-config inProgressTimeoutInMinutes=20 --query jobTemplateId
expect_out "describe-job-template" "20" iot describe-job-template --job-template-id "$tpl" \
	--query timeoutConfig.inProgressTimeoutInMinutes

expect_out "create-job" "$job" iot create-job --job-id "$job" --targets "$arn_a" "$arn_g" \
	--document '{"op":"update","version":"2.0.0"}' --description "cli job" --query jobId
expect_out "describe-job" "IN_PROGRESS	SNAPSHOT" iot describe-job --job-id "$job" \
	--query '[job.status, job.targetSelection]'
expect_error "create-job twice" ResourceAlreadyExistsException iot create-job --job-id "$job" \
	--targets "$arn_a" --document '{}'
expect_error "create-job with an array document" InvalidRequestException iot create-job \
	--job-id "$job-bad" --targets "$arn_a" --document '[1]'
tjob="$job-tpl"
tpl_arn="$(cli iot describe-job-template --job-template-id "$tpl" --query jobTemplateArn &&
	cat "$work/out")"
expect_ok "create-job from a template" iot create-job --job-id "$tjob" --targets "$arn_a" \
	--job-template-arn "$tpl_arn"
expect_out "template settings apply" "20" iot describe-job --job-id "$tjob" \
	--query job.timeoutConfig.inProgressTimeoutInMinutes
expect_ok "list-jobs" iot list-jobs --query "jobs[].jobId"
grep -qF "$job" "$work/out" && ok || bad "list-jobs does not list $job"
expect_out "list-job-executions-for-job" "2" iot list-job-executions-for-job --job-id "$job" \
	--query 'length(executionSummaries)'
expect_out "list-job-executions-for-thing" "2" iot list-job-executions-for-thing \
	--thing-name "$a" --query 'length(executionSummaries)'
expect_out "describe-job-execution" "QUEUED	1" iot describe-job-execution --job-id "$job" \
	--thing-name "$a" --query '[execution.status, execution.executionNumber]'

# the device's HTTP API
expect_out "get-pending-job-executions" "$job	$tjob" iot-jobs-data get-pending-job-executions \
	--thing-name "$a" --query 'queuedJobs[].jobId'
expect_out "start-next-pending-job-execution" "$job	IN_PROGRESS	2" iot-jobs-data \
	start-next-pending-job-execution --thing-name "$a" --status-details step=download \
	--query '[execution.jobId, execution.status, execution.versionNumber]'
expect_error "update with a stale expected version" InvalidStateTransitionException \
	iot-jobs-data update-job-execution --thing-name "$a" --job-id "$job" --status SUCCEEDED \
	--expected-version 1
expect_out "update-job-execution" "SUCCEEDED" iot-jobs-data update-job-execution \
	--thing-name "$a" --job-id "$job" --status SUCCEEDED --expected-version 2 \
	--include-job-execution-state --query executionState.status
expect_error "update a terminal execution" InvalidStateTransitionException iot-jobs-data \
	update-job-execution --thing-name "$a" --job-id "$job" --status IN_PROGRESS
expect_error "a device may not set CANCELED" InvalidRequestException iot-jobs-data \
	update-job-execution --thing-name "$a" --job-id "$tjob" --status CANCELED
expect_out "describe-job-execution (data plane)" "SUCCEEDED" iot-jobs-data \
	describe-job-execution --thing-name "$a" --job-id "$job" --query execution.status
expect_error "describe-job-execution missing" ResourceNotFoundException iot-jobs-data \
	describe-job-execution --thing-name "$a" --job-id "missing-$run"

# cancel, force and delete
expect_ok "cancel-job-execution" iot cancel-job-execution --job-id "$job" --thing-name "$b"
# the scheduler completes the job on its next tick
for _ in 1 2 3 4 5 6 7 8 9 10; do
	cli iot describe-job --job-id "$job" --query job.status && grep -q COMPLETED "$work/out" &&
		break
	sleep 0.5
done
expect_out "job completed" "COMPLETED	1	1" iot describe-job --job-id "$job" \
	--query '[job.status, job.jobProcessDetails.numberOfSucceededThings, job.jobProcessDetails.numberOfCanceledThings]'
expect_error "cancel-job of a completed job" InvalidStateTransitionException iot cancel-job \
	--job-id "$job"
expect_ok "start the template job" iot-jobs-data start-next-pending-job-execution \
	--thing-name "$a"
expect_error "delete-job in progress without force" InvalidStateTransitionException iot \
	delete-job --job-id "$tjob"
expect_out "cancel-job --force" "$tjob" iot cancel-job --job-id "$tjob" --force \
	--comment "cli force" --query jobId
expect_out "in-progress execution force-canceled" "CANCELED" iot describe-job-execution \
	--job-id "$tjob" --thing-name "$a" --query execution.status
expect_ok "delete-job" iot delete-job --job-id "$job"
expect_ok "delete-job (canceled)" iot delete-job --job-id "$tjob"

# a wrong secret is refused with a signature error (403)
if AWS_SECRET_ACCESS_KEY=wrong-secret cli iot list-things; then
	bad "a wrong secret was accepted"
elif grep -qE 'InvalidSignatureException|Forbidden|403|UnrecognizedClient' "$work/err"; then
	ok
else
	bad "wrong secret: unexpected error $(head -c 300 "$work/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
