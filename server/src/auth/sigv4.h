/*
 * AWS Signature Version 4 (spec/aws-iot-compat.md section 8): verification of requests sent by
 * the AWS CLI / SDKs to a custom endpoint, in both the Authorization-header form and the
 * presigned-query form, plus a signer for our own clients and tests.
 *
 * Pure apart from OpenSSL (SHA-256, HMAC, constant-time compare); the current time is always a
 * parameter. Strings are NUL-terminated; all pointer parameters are borrowed.
 *
 * Typical server use:
 *   first callback (headers only):  sigv4_parse()  -> reject early, route on auth.service;
 *   after the body is read:        look up the secret, sigv4_verify() with the body's SHA-256.
 * or both at once with sigv4_verify_request().
 *
 * The path MUST be the raw request path exactly as received (still percent-encoded, without
 * the query): clients sign the percent-encoded path encoded once more (spec 8.2, quirk 19).
 */
#ifndef BW_AUTH_SIGV4_H
#define BW_AUTH_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_DEFAULT_MAX_SKEW_S 900	   /* spec 8.2 item 4: 15 minutes */
#define SIGV4_MAX_PRESIGN_EXPIRES_S 604800 /* 7 days, the AWS maximum for X-Amz-Expires */
#define SIGV4_ACCESS_KEY_MAX 128
#define SIGV4_SECRET_MAX 128
#define SIGV4_SCOPE_PART_MAX 63	      /* region and service */
#define SIGV4_SIGNED_HEADERS_MAX 1024 /* bytes of the SignedHeaders list */
#define SIGV4_MAX_SIGNED_HEADERS 64   /* entries in it */
#define SIGV4_AUTH_HEADER_MAX 4096
#define SIGV4_MESSAGE_MAX 256
/* hex SHA-256 of the empty body (GET, DELETE) */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * X(enum, HTTP status, AWS error type for x-amzn-ErrorType). Per spec 8.2: garbled or missing
 * authentication and bad signatures are 403; an unknown key is UnrecognizedClientException.
 */
#define SIGV4_ERRORS(X)                                                        \
	X(SIGV4_OK, 200, "")                                                   \
	X(SIGV4_ERR_MISSING_AUTH, 403, "MissingAuthenticationTokenException")  \
	X(SIGV4_ERR_MALFORMED, 403, "InvalidSignatureException")               \
	X(SIGV4_ERR_MISSING_DATE, 403, "InvalidSignatureException")            \
	X(SIGV4_ERR_HOST_NOT_SIGNED, 403, "InvalidSignatureException")         \
	X(SIGV4_ERR_SIGNED_HEADER_MISSING, 403, "InvalidSignatureException")   \
	X(SIGV4_ERR_BAD_SCOPE, 403, "InvalidSignatureException")               \
	X(SIGV4_ERR_EXPIRED, 403, "InvalidSignatureException")                 \
	X(SIGV4_ERR_NOT_YET_VALID, 403, "InvalidSignatureException")           \
	X(SIGV4_ERR_UNKNOWN_KEY, 403, "UnrecognizedClientException")           \
	X(SIGV4_ERR_UNSIGNED_PAYLOAD, 403, "InvalidSignatureException")        \
	X(SIGV4_ERR_CONTENT_SHA256_MISMATCH, 403, "InvalidSignatureException") \
	X(SIGV4_ERR_SIGNATURE_MISMATCH, 403, "InvalidSignatureException")      \
	X(SIGV4_ERR_INTERNAL, 500, "InternalFailureException")

/* (clang-format cannot see that the X-macro expands to enumerators) */
/* clang-format off */
enum sigv4_err {
#define X(e, status, aws) e,
	SIGV4_ERRORS(X)
#undef X
	SIGV4_ERR__COUNT
};
/* clang-format on */

/* "SIGV4_ERR_EXPIRED" etc.; "?" out of range. */
const char *sigv4_err_name(enum sigv4_err err);
/* HTTP status for the error response (500 out of range). */
int sigv4_err_http_status(enum sigv4_err err);
/* AWS error type for x-amzn-ErrorType ("" for SIGV4_OK). */
const char *sigv4_err_aws_type(enum sigv4_err err);

/* An error with the message for the {"message": ...} body (AWS-style wording). */
struct sigv4_error {
	enum sigv4_err code;
	char message[SIGV4_MESSAGE_MAX];
};

/* One request header; names in any case; a name may repeat (values are joined with ','). */
struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method; /* "GET", "POST", ... (used as given) */
	const char *path;   /* raw, still percent-encoded, no query; NULL or "" = "/" */
	const char *query;  /* raw query string without '?'; NULL or "" = none */
	const struct sigv4_header *headers;
	size_t n_headers;
	/*
	 * Lower- or upper-case hex SHA-256 of the body, or NULL if not known yet. When NULL the
	 * request must carry x-amz-content-sha256 (then the signature is checked against that
	 * value and the caller MUST compare the body's hash with sigv4_header_find(req,
	 * "x-amz-content-sha256") itself once the body is read).
	 */
	const char *payload_sha256_hex;
};

struct sigv4_options {
	int64_t max_skew_s;	     /* 0 = SIGV4_DEFAULT_MAX_SKEW_S */
	const char *region;	     /* NULL = accept any region in the scope (spec 8.2 item 4) */
	bool allow_unsigned_payload; /* accept x-amz-content-sha256: UNSIGNED-PAYLOAD */
};

/* What sigv4_parse() found in the Authorization header or the presigned query. */
struct sigv4_auth {
	bool is_presigned;
	char access_key_id[SIGV4_ACCESS_KEY_MAX + 1];
	char date[9]; /* YYYYMMDD of the credential scope */
	char region[SIGV4_SCOPE_PART_MAX + 1];
	char service[SIGV4_SCOPE_PART_MAX + 1]; /* e.g. "iot", "iot-jobs-data", "iotdata" */
	char amz_date[17];			/* YYYYMMDDTHHMMSSZ */
	int64_t request_time_s;			/* amz_date as Unix seconds */
	int64_t expires_s;			/* X-Amz-Expires (presigned only), else 0 */
	char signed_headers[SIGV4_SIGNED_HEADERS_MAX + 1]; /* canonical: lower-case, sorted */
	char signature[65];				   /* lower-case hex */
};

/*
 * Parse and check everything that needs no secret: exactly one auth mechanism (Authorization
 * header or X-Amz-Algorithm query), algorithm AWS4-HMAC-SHA256, Credential =
 * AKID/YYYYMMDD/region/service/aws4_request, SignedHeaders including host (and x-amz-date for
 * the header form), every signed header present, X-Amz-Date well-formed and within
 * max_skew_s of now_s (presigned: now within [date - skew, date + X-Amz-Expires]), the scope
 * date equal to X-Amz-Date's day, the region if opt->region is set. opt may be NULL.
 * [out] out: filled on SIGV4_OK (zeroed first). [out] err: code + message on failure.
 */
enum sigv4_err sigv4_parse(const struct sigv4_request *req, int64_t now_s,
			   const struct sigv4_options *opt, struct sigv4_auth *out,
			   struct sigv4_error *err);

/*
 * Compute the expected signature for a parsed request with `secret` and compare it in
 * constant time. Also checks x-amz-content-sha256 against payload_sha256_hex when both are
 * known (mismatch -> SIGV4_ERR_CONTENT_SHA256_MISMATCH) and refuses UNSIGNED-PAYLOAD unless
 * allowed. opt may be NULL. [out] err as above.
 */
enum sigv4_err sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
			    const char *secret, const struct sigv4_options *opt,
			    struct sigv4_error *err);

/*
 * Secret lookup: copy the secret for access_key_id into secret (size bytes, NUL-terminated).
 * Return 1 if found, 0 if the key is unknown, -1 on an internal error.
 */
typedef int (*sigv4_secret_fn)(void *ctx, const char *access_key_id, char *secret, size_t size);

/* A static key table, usable with sigv4_keytab_lookup as the sigv4_secret_fn (ctx = table). */
struct sigv4_key {
	const char *access_key_id;
	const char *secret;
};
struct sigv4_keytab {
	const struct sigv4_key *keys;
	size_t n_keys;
};

/* sigv4_secret_fn over a struct sigv4_keytab (ctx); compares key ids exactly. */
int sigv4_keytab_lookup(void *ctx, const char *access_key_id, char *secret, size_t size);

/*
 * sigv4_parse() + lookup(ctx, ...) + sigv4_verify(). Unknown key -> SIGV4_ERR_UNKNOWN_KEY.
 * The secret copy is wiped before returning. [out] out (may be NULL), err.
 */
enum sigv4_err sigv4_verify_request(const struct sigv4_request *req, int64_t now_s,
				    const struct sigv4_options *opt, sigv4_secret_fn lookup,
				    void *ctx, struct sigv4_auth *out, struct sigv4_error *err);

/* First value of header `name` (case-insensitive) or NULL. */
const char *sigv4_header_find(const struct sigv4_request *req, const char *name);

/* ---- building blocks, public for tests and diagnostics ---- */

/*
 * Canonical URI for non-S3 services: remove dot segments and empty segments from the raw path,
 * then percent-encode every byte except unreserved characters and '/' (so "%24" -> "%2524").
 * Returns false on allocation failure.
 */
bool sigv4_canonical_uri(const char *raw_path, struct buf *out);

/*
 * Canonical query: split on '&', percent-decode each name and value, re-encode them (RFC 3986
 * unreserved kept), sort by name then value, join "name=value" with '&'. drop_signature removes
 * X-Amz-Signature (presigned form). Returns false on allocation failure.
 */
bool sigv4_canonical_query(const char *raw_query, bool drop_signature, struct buf *out);

/*
 * The whole canonical request: method, canonical URI, canonical query, canonical headers (the
 * ones named in signed_headers: lower-case, trimmed, inner whitespace collapsed, repeated
 * headers joined with ','), the signed header list, payload_hash; joined by '\n'.
 * signed_headers must already be canonical (lower-case, sorted, ';'-separated).
 * Returns SIGV4_OK, SIGV4_ERR_SIGNED_HEADER_MISSING (a signed header is absent from the
 * request) or SIGV4_ERR_INTERNAL.
 */
enum sigv4_err sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers,
				       const char *payload_hash, bool drop_signature,
				       struct buf *out);

/*
 * String to sign: "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>",
 * scope = "<date>/<region>/<service>/aws4_request". Returns false on allocation failure.
 */
bool sigv4_string_to_sign(const char *amz_date, const char *date, const char *region,
			  const char *service, const char *canonical_request, struct buf *out);

/* Signing key: HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request". */
bool sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, unsigned char key[32]);

/* Lower-case hex HMAC-SHA256(key, string_to_sign) into out (65 bytes). */
bool sigv4_signature_hex(const unsigned char key[32], const char *string_to_sign, char out[65]);

/* Lower-case hex SHA-256 of len bytes into out (65 bytes). */
bool sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* Format Unix seconds as YYYYMMDDTHHMMSSZ (UTC). False if out of range (years 1970..9999). */
bool sigv4_amz_date_format(int64_t t, char out[17]);

/* Parse YYYYMMDDTHHMMSSZ strictly into Unix seconds. */
bool sigv4_amz_date_parse(const char *s, int64_t *out);

/* ---- signing ---- */

struct sigv4_sign_input {
	const char *method;
	const char *path;		    /* exactly as it will be sent (percent-encoded) */
	const char *query;		    /* as it will be sent, without '?'; NULL = none */
	const struct sigv4_header *headers; /* headers to sign; must include Host */
	size_t n_headers;
	const char *payload_sha256_hex; /* NULL = SIGV4_EMPTY_SHA256 */
	const char *access_key_id;
	const char *secret;
	const char *region;
	const char *service;
	const char *amz_date; /* YYYYMMDDTHHMMSSZ; header form: also send it as X-Amz-Date */
};

/*
 * Authorization header value for a request, signing every header in in->headers (which must
 * include Host and X-Amz-Date with the value in->amz_date). Writes
 * "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." to out.
 * Returns SIGV4_OK, SIGV4_ERR_MALFORMED (bad input: missing host/x-amz-date, bad date, too many
 * headers, out too small) or SIGV4_ERR_INTERNAL.
 */
enum sigv4_err sigv4_sign(const struct sigv4_sign_input *in, char *out, size_t out_size);

/*
 * Presigned URL query: appends to `out` the request's own query (if any) followed by
 * X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and
 * X-Amz-Signature, signing the headers in in->headers (normally just Host) and
 * in->payload_sha256_hex (NULL = empty body). expires_s in 1..SIGV4_MAX_PRESIGN_EXPIRES_S.
 * Returns SIGV4_OK, SIGV4_ERR_MALFORMED (bad input) or SIGV4_ERR_INTERNAL.
 */
enum sigv4_err sigv4_presign(const struct sigv4_sign_input *in, int64_t expires_s, struct buf *out);

#endif
