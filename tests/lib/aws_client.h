/*
 * SigV4-signed requests to the AWS-compatible routes of a running bellwetherd, signed the way
 * botocore signs them (host + x-amz-date, payload hash of the body), with the access key of
 * test.env (BW_TEST_AWS_ACCESS_KEY / BW_TEST_AWS_SECRET_KEY).
 */
#ifndef BW_TESTS_AWS_CLIENT_H
#define BW_TESTS_AWS_CLIENT_H

#include <stddef.h>

#include "http_client.h"

/* How to sign; zero fields take the defaults. */
struct aws_sign_opts {
	const char *access_key;	 /* NULL = BW_TEST_AWS_ACCESS_KEY */
	const char *secret;	 /* NULL = BW_TEST_AWS_SECRET_KEY */
	const char *service;	 /* NULL = "iotdata" */
	const char *region;	 /* NULL = "us-east-1" */
	long skew_s;		 /* added to the signing time (to test expiry) */
	int is_unsigned;	 /* send no Authorization header at all */
	const char *signed_body; /* sign this body instead of the one sent (tampering) */
};

/* True when test.env provides an AWS access key. */
int aws_client_available(void);

/*
 * Send a signed request. path_and_query is exactly what goes on the wire (already
 * percent-encoded, "?query" optional). body may be NULL. content_type NULL sends none (like
 * botocore for blob bodies). opts may be NULL. Same return value as http_do().
 */
int aws_call(struct http_resp *out, const char *method, const char *path_and_query,
	     const char *body, size_t body_len, const char *content_type,
	     const struct aws_sign_opts *opts);

#endif
