#!/usr/bin/env bash
# The unmodified AWS CLI creating jobs and job templates from `--document-source` (spec 3.10):
# the S3 URL is mapped to a file under the stack's BW_JOB_DOCUMENT_DIR ($BW_TEST_DIR/job-documents,
# set by tests/harness/stack.sh), describe-job returns documentSource, get-job-document the file's
# text; a template made from a document source feeds create-job --job-template-arn; a missing
# object and a traversal are InvalidRequestException. Skips (exit 77) without the CLI, the stack's environment or the
# document directory. Ends with "N passed, M failed".
set -u

if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
	# shellcheck source=/dev/null
	. "$BW_TEST_ENV_FILE"
fi
if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_AWS_ACCESS_KEY:-}" ] ||
	[ -z "${BW_TEST_AWS_SECRET_KEY:-}" ] || [ -z "${BW_TEST_DIR:-}" ]; then
	echo "skipped: BW_TEST_URL / BW_TEST_AWS_ACCESS_KEY not set (run via tests/harness/stack.sh)"
	exit 77
fi
docs="$BW_TEST_DIR/job-documents"
if [ ! -d "$docs" ]; then
	echo "skipped: $docs does not exist (bellwetherd without BW_JOB_DOCUMENT_DIR)"
	exit 77
fi
AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS="$(command -v aws || true)"
if [ -z "$AWS" ]; then
	echo "skipped: the AWS CLI is not installed (scripts/install-deps.sh installs awscli)"
	exit 77
fi

work="$(mktemp -d /tmp/bellwether-awscli-jobs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# a private, empty CLI configuration: only what this script passes counts
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

# iot ARGS...: run `aws iot ARGS` against the server; stdout/stderr in $work/out, $work/err.
iot() {
	"$AWS" iot --endpoint-url "$BW_TEST_URL" --output json "$@" >"$work/out" 2>"$work/err"
}

expect_ok() {
	local what="$1"
	shift
	if iot "$@"; then
		ok
	else
		bad "$what: exit $? ($(head -c 300 "$work/err"))"
	fi
}

# expect_error DESCRIPTION CODE TEXT ARGS...: the CLI fails, names CODE and the message has TEXT
expect_error() {
	local what="$1" code="$2" text="$3"
	shift 3
	if iot "$@"; then
		bad "$what: succeeded, expected $code"
	elif grep -q "$code" "$work/err" && grep -qF -- "$text" "$work/err"; then
		ok
	else
		bad "$what: expected $code ($text), got: $(head -c 300 "$work/err")"
	fi
}

# expect_json DESCRIPTION PYTHON-EXPR: evaluate EXPR with j = the last reply's JSON
expect_json() {
	if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$work/out" "$2"; then
		ok
	else
		bad "$1: $2 is false for $(head -c 300 "$work/out")"
	fi
}

u="cli$$-$(date +%s)"
bucket="cli-docs"
thing="awscli-ds-$u"
mkdir -p "$docs/$bucket/jobs"
printf '{"operation":"reboot","from":"%s"}' "$u" >"$docs/$bucket/jobs/$u.json"
src="https://$bucket.s3.amazonaws.com/jobs/$u.json"
arn_thing="arn:aws:iot:us-east-1:123456789012:thing/$thing"

expect_ok "create-thing" create-thing --thing-name "$thing"
expect_ok "create-job --document-source" create-job --job-id "ds-$u" --targets "$arn_thing" \
	--document-source "$src"
expect_json "create-job reply" "j['jobId'] == 'ds-$u'"
expect_ok "describe-job" describe-job --job-id "ds-$u"
expect_json "describe-job documentSource" "j['documentSource'] == '$src' and 'documentSource' not in j['job']"
expect_ok "get-job-document" get-job-document --job-id "ds-$u"
expect_json "get-job-document" "json.loads(j['document']) == {'operation': 'reboot', 'from': '$u'}"
# templates read the source once, when created
expect_ok "create-job-template --document-source" create-job-template \
	--job-template-id "tpl-$u" --description "from a file" --document-source "$src"
printf '{"operation":"changed"}' >"$docs/$bucket/jobs/$u.json"
expect_ok "create-job from the template" create-job --job-id "dst-$u" --targets "$arn_thing" \
	--job-template-arn "arn:aws:iot:us-east-1:123456789012:jobtemplate/tpl-$u"
expect_ok "get-job-document (template)" get-job-document --job-id "dst-$u"
expect_json "template document kept" "json.loads(j['document'])['operation'] == 'reboot'"

# refusals
expect_error "missing object" InvalidRequestException "no object" create-job \
	--job-id "dsx1-$u" --targets "$arn_thing" --document-source "s3://$bucket/jobs/none-$u.json"
expect_error "traversal" InvalidRequestException "'..'" create-job --job-id "dsx2-$u" \
	--targets "$arn_thing" --document-source "s3://$bucket/../../etc/passwd"
# (URL styles, symlinks, sizes and contents are covered by tests/api/test_api_jobs_control.c;
# every CLI call costs seconds, so only the CLI's own encoding is exercised here)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
