#!/usr/bin/env bash
# The unmodified AWS CLI against bellwetherd's jobs planes (spec sections 4 and 5): `aws iot`
# (things, thing groups, job templates, jobs, executions) and `aws iot-jobs-data` (the device's
# HTTP API), with --endpoint-url and SigV4 signing with the access key of test.env, including the
# AWS error codes the CLI reports. Skips (exit 77) without the CLI or the stack's environment.
# Ends with "N passed, M failed".
set -u

# shellcheck source=../lib/awscli.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/awscli.sh"
awscli_init
AWSCLI_OUTPUT=text

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

# documentSource (spec 3.10): S3 URLs map to files under the stack's BW_JOB_DOCUMENT_DIR
# ($BW_TEST_DIR/job-documents, set by tests/harness/stack.sh); the URL styles, symlinks, sizes and
# contents are covered by tests/api/test_api_jobs_control.c, here only the CLI's own encoding.
docs="${BW_TEST_DIR:-}/job-documents"
if [ -n "${BW_TEST_DIR:-}" ] && [ -d "$docs" ]; then
	u="cli$$-$(date +%s)"
	bucket="cli-docs"
	thing="awscli-ds-$u"
	mkdir -p "$docs/$bucket/jobs"
	printf '{"operation":"reboot","from":"%s"}' "$u" >"$docs/$bucket/jobs/$u.json"
	src="https://$bucket.s3.amazonaws.com/jobs/$u.json"
	arn_thing="arn:aws:iot:us-east-1:123456789012:thing/$thing"

	expect_ok "create-thing" iot create-thing --thing-name "$thing"
	expect_ok "create-job --document-source" iot create-job --output json --job-id "ds-$u" --targets "$arn_thing" \
		--document-source "$src"
	expect_json "create-job reply" "j['jobId'] == 'ds-$u'"
	expect_ok "describe-job" iot describe-job --output json --job-id "ds-$u"
	expect_json "describe-job documentSource" "j['documentSource'] == '$src' and 'documentSource' not in j['job']"
	expect_ok "get-job-document" iot get-job-document --output json --job-id "ds-$u"
	expect_json "get-job-document" "json.loads(j['document']) == {'operation': 'reboot', 'from': '$u'}"
	# templates read the source once, when created
	expect_ok "create-job-template --document-source" iot create-job-template --output json \
		--job-template-id "tpl-$u" --description "from a file" --document-source "$src"
	printf '{"operation":"changed"}' >"$docs/$bucket/jobs/$u.json"
	expect_ok "create-job from the template" iot create-job --output json --job-id "dst-$u" --targets "$arn_thing" \
		--job-template-arn "arn:aws:iot:us-east-1:123456789012:jobtemplate/tpl-$u"
	expect_ok "get-job-document (template)" iot get-job-document --output json --job-id "dst-$u"
	expect_json "template document kept" "json.loads(j['document'])['operation'] == 'reboot'"

	# refusals
	expect_error "missing object" InvalidRequestException iot create-job \
		--job-id "dsx1-$u" --targets "$arn_thing" --document-source "s3://$bucket/jobs/none-$u.json"
	expect_in "$work/err" "no object" "missing object message"
	expect_error "traversal" InvalidRequestException iot create-job --job-id "dsx2-$u" \
		--targets "$arn_thing" --document-source "s3://$bucket/../../etc/passwd"
	expect_in "$work/err" "'..'" "traversal message"
else
	bad "no job document directory $docs (bellwetherd without BW_JOB_DOCUMENT_DIR?)"
fi

# a wrong secret is refused with a signature error (403)
expect_bad_secret "wrong secret" iot list-things

awscli_finish
