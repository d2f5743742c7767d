/*
 * libFuzzer target for auth/sigv4. The input is a request in a line format:
 *   line 0: raw path, line 1: raw query, lines 2..: "Name:value" headers (up to 12),
 * each line ending at '\n'. Three things happen per input:
 *   1. the request is verified as is (arbitrary Authorization headers / X-Amz-* queries) at a
 *      fixed time: must not crash, leak, or report success with a garbage signature;
 *   2. the same path, query and headers are signed with sigv4_sign() and then verified: that
 *      must succeed (signer and verifier agree on canonicalisation for every input);
 *   3. likewise for sigv4_presign() and the presigned form.
 *
 * Build and run (not part of make test):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iserver/src \
 *     tests/fuzz/fuzz_sigv4.c \
 *     server/src/auth/sigv4.c server/src/core/buf.c -lcrypto -o /tmp/fuzz_sigv4
 *   /tmp/fuzz_sigv4 -max_total_time=30 -max_len=2048
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sigv4.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

#define MAX_LINES 14
#define NOW 1440938160 /* 20150830T123600Z */
#define NOW_DATE "20150830T123600Z"

static const struct sigv4_key keys[] = { { "AKIDEXAMPLE",
					   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } };
static struct sigv4_keytab tab = { keys, 1 };

/* Headers whose presence the round trip controls itself. */
static bool is_reserved(const char *name)
{
	return strcasecmp(name, "authorization") == 0 || strcasecmp(name, "x-amz-date") == 0 ||
	       strcasecmp(name, "host") == 0 || strcasecmp(name, "x-amz-content-sha256") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *lines[MAX_LINES];
	size_t n_lines = 0;
	struct sigv4_header h[MAX_LINES + 3];
	size_t nh = 0, ns = 0;
	struct sigv4_header signed_h[MAX_LINES + 3];
	struct sigv4_request req;
	struct sigv4_error err;
	struct sigv4_auth auth;
	struct sigv4_sign_input in;
	char authz[2048];
	char body_hash[65];
	struct buf b;
	enum sigv4_err rc;

	if (!text)
		return 0;
	/* NUL bytes cannot occur in C strings; map them so lines stay whole */
	for (size_t i = 0; i < size; i++)
		text[i] = data[i] ? (char)data[i] : ' ';
	text[size] = '\0';
	for (char *p = text; n_lines < MAX_LINES;) {
		char *nl = strchr(p, '\n');

		lines[n_lines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	for (size_t i = 2; i < n_lines; i++) {
		char *colon = strchr(lines[i], ':');

		if (!colon)
			continue;
		*colon = '\0';
		h[nh].name = lines[i];
		h[nh].value = colon + 1;
		nh++;
	}
	CHECK(sigv4_sha256_hex("", 0, body_hash));

	/* 1. as is */
	req = (struct sigv4_request){ "GET", lines[0], n_lines > 1 ? lines[1] : NULL,
				      h,     nh,       body_hash };
	rc = sigv4_verify_request(&req, NOW, NULL, sigv4_keytab_lookup, &tab, &auth, &err);
	CHECK(rc == SIGV4_OK || err.message[0] != '\0');
	CHECK((unsigned)rc < SIGV4_ERR__COUNT);
	buf_init(&b);
	CHECK(sigv4_canonical_uri(lines[0], &b));
	CHECK(b.data && b.data[0]);
	buf_cleanup(&b);
	buf_init(&b);
	CHECK(sigv4_canonical_query(req.query, true, &b));
	buf_cleanup(&b);

	/* 2. sign, then verify: must agree */
	if (req.query && strcasestr(req.query, "amz"))
		goto out; /* the query would carry presigned-form parameters */
	for (size_t i = 0; i < nh; i++) {
		if (!is_reserved(h[i].name))
			signed_h[ns++] = h[i];
	}
	signed_h[ns++] = (struct sigv4_header){ "Host", "example.amazonaws.com" };
	signed_h[ns++] = (struct sigv4_header){ "X-Amz-Date", NOW_DATE };
	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.path = lines[0];
	in.query = req.query;
	in.headers = signed_h;
	in.n_headers = ns;
	in.payload_sha256_hex = body_hash;
	in.access_key_id = "AKIDEXAMPLE";
	in.secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	in.region = "us-east-1";
	in.service = "iotdata";
	in.amz_date = NOW_DATE;
	rc = sigv4_sign(&in, authz, sizeof(authz));
	if (rc == SIGV4_OK) {
		signed_h[ns] = (struct sigv4_header){ "Authorization", authz };
		req = (struct sigv4_request){ "POST",	lines[0], in.query,
					      signed_h, ns + 1,	  body_hash };
		rc = sigv4_verify_request(&req, NOW, NULL, sigv4_keytab_lookup, &tab, NULL, &err);
		CHECK(rc == SIGV4_OK);
	} else {
		CHECK(rc == SIGV4_ERR_MALFORMED); /* header names the signer refuses */
	}

	/* 3. presign, then verify */
	in.method = "GET";
	in.headers = &signed_h[ns - 2]; /* Host only */
	in.n_headers = 1;
	buf_init(&b);
	if (sigv4_presign(&in, 300, &b) == SIGV4_OK) {
		req = (struct sigv4_request){ "GET", lines[0], b.data, &signed_h[ns - 2],
					      1,     body_hash };
		rc = sigv4_verify_request(&req, NOW + 10, NULL, sigv4_keytab_lookup, &tab, NULL,
					  &err);
		CHECK(rc == SIGV4_OK);
	}
	buf_cleanup(&b);
out:
	free(text);
	return 0;
}
