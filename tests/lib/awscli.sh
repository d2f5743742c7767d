# Shared set-up of the tests that drive the unmodified AWS CLI against bellwetherd
# (tests/api/test_awscli_*.sh). Source it, then call awscli_init; it exits 77 (skipped) without
# the stack's environment (test.env) or the CLI. Provides:
#   $AWS, $work (a private temp dir, removed on exit), binfmt (CLI v2 blob flag array),
#   ok / bad (counters), cli SERVICE ARGS (output in $work/out, errors in $work/err; --output is
#   $AWSCLI_OUTPUT, default json), the expect_* helpers below (they run "$AWSCLI_RUN ARGS",
#   default cli, so a script may set AWSCLI_RUN to its own wrapper), and awscli_finish.
# shellcheck shell=bash

awscli_init() {
	if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
		# shellcheck source=/dev/null
		. "$BW_TEST_ENV_FILE"
	fi
	if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_AWS_ACCESS_KEY:-}" ] ||
		[ -z "${BW_TEST_AWS_SECRET_KEY:-}" ]; then
		echo "skipped: BW_TEST_URL / BW_TEST_AWS_ACCESS_KEY not set (run via tests/harness/stack.sh)"
		exit 77
	fi
	# Debian's CLI v2 first; v1 works too
	AWS=/usr/bin/aws
	[ -x "$AWS" ] || AWS="$(command -v aws || true)"
	if [ -z "$AWS" ]; then
		echo "skipped: the AWS CLI is not installed (scripts/install-deps.sh installs awscli)"
		exit 77
	fi
	work="$(mktemp -d /tmp/bellwether-awscli.XXXXXX)"
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	# a private, empty CLI configuration: only what the script passes counts
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
}

ok() {
	pass=$((pass + 1))
}

bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

# cli SERVICE ARGS...: `aws SERVICE ARGS` against the server
cli() {
	local svc="$1"
	shift
	"$AWS" "$svc" --endpoint-url "$BW_TEST_URL" --output "${AWSCLI_OUTPUT:-json}" "$@" \
		>"$work/out" 2>"$work/err"
}

# expect_ok DESCRIPTION ARGS...
expect_ok() {
	local what="$1"
	shift
	if "${AWSCLI_RUN:-cli}" "$@"; then
		ok
	else
		bad "$what: exit $? ($(head -c 300 "$work/err"))"
	fi
}

# expect_out DESCRIPTION WANT ARGS...: succeeds and prints exactly WANT (use --query)
expect_out() {
	local what="$1" want="$2" got
	shift 2
	if ! "${AWSCLI_RUN:-cli}" "$@"; then
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

# expect_error DESCRIPTION CODE ARGS...: the CLI fails and names the AWS error code
expect_error() {
	local what="$1" code="$2"
	shift 2
	if "${AWSCLI_RUN:-cli}" "$@"; then
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

# expect_json DESCRIPTION PYTHON-EXPR: EXPR holds with j = the last reply ($work/out) as JSON
expect_json() {
	if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$work/out" "$2"; then
		ok
	else
		bad "$1: $2 is false for $(head -c 300 "$work/out")"
	fi
}

# expect_bad_secret DESCRIPTION ARGS...: the same call with a wrong secret is refused (403)
expect_bad_secret() {
	local what="$1"
	shift
	if AWS_SECRET_ACCESS_KEY=wrong-secret "${AWSCLI_RUN:-cli}" "$@"; then
		bad "$what: a wrong secret was accepted"
	elif grep -qE 'InvalidSignatureException|Forbidden|403|UnrecognizedClient' "$work/err"; then
		ok
	else
		bad "$what: unexpected error $(head -c 300 "$work/err")"
	fi
}

# awscli_finish: the summary line; exit status 0 only without failures
awscli_finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
