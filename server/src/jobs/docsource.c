#include "jobs/docsource.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "jobs/text.h"

#define HOST_MAX 255
#define S3_SUFFIX ".amazonaws.com"
#define REGION_MAX 32

static enum jobs_err fail(struct jobs_docsource *out, char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static enum jobs_err fail(struct jobs_docsource *out, char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	memset(out, 0, sizeof(*out));
	if (msg && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return JOBS_ERR_INVALID_REQUEST;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* S3 bucket naming rules: 3..63 of a-z 0-9 . -, alphanumeric at both ends, no "..". */
static bool is_valid_bucket(const char *b, size_t n)
{
	if (n < 3 || n > JOBS_DOCSOURCE_BUCKET_MAX || !is_lower_alnum(b[0]) ||
	    !is_lower_alnum(b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_alnum(b[i]) && b[i] != '.' && b[i] != '-')
			return false;
		if (b[i] == '.' && i + 1 < n && b[i + 1] == '.')
			return false;
	}
	return true;
}

/* An AWS region name such as "us-east-1": 1..32 of a-z 0-9 -, starting with a letter. */
static bool is_region(const char *s, size_t n)
{
	if (n < 1 || n > REGION_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* After "s3": nothing, or ".<region>" / "-<region>". */
static bool is_s3_tail(const char *s, size_t n)
{
	return n == 0 || ((s[0] == '.' || s[0] == '-') && is_region(s + 1, n - 1));
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode the key s[0..n) into out->key and check it is a safe relative path. */
static enum jobs_err decode_key(const char *s, size_t n, struct jobs_docsource *out, char *msg,
				size_t cap)
{
	char *k = out->key;
	size_t o = 0, chars, segments = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return fail(out, msg, cap,
					    "the key has a malformed percent-escape (want %%XX)");
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return fail(out, msg, cap, "the key contains a NUL character");
		if (c < 0x20 || c == 0x7f)
			return fail(out, msg, cap, "the key contains a control character");
		if (o >= JOBS_DOCSOURCE_KEY_MAX)
			return fail(out, msg, cap, "the key is longer than %d bytes",
				    JOBS_DOCSOURCE_KEY_MAX);
		k[o++] = (char)c;
	}
	k[o] = '\0';
	if (o == 0)
		return fail(out, msg, cap, "the URL names no object key");
	if (!jobs_text_utf8_count(k, o, &chars))
		return fail(out, msg, cap, "the key is not valid UTF-8");
	if (k[0] == '/')
		return fail(out, msg, cap, "the key is an absolute path (starts with '/')");
	for (const char *seg = k;; seg++) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);

		if (len == 0)
			return fail(out, msg, cap,
				    "the key has an empty path segment ('//' or a trailing '/')");
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return fail(out, msg, cap, "the key contains a '.' or '..' path segment");
		if (++segments > JOBS_DOCSOURCE_SEGMENTS_MAX)
			return fail(out, msg, cap, "the key has more than %d path segments",
				    JOBS_DOCSOURCE_SEGMENTS_MAX);
		if (!slash)
			break;
		seg = slash;
	}
	return JOBS_OK;
}

/* bucket s[0..n) into out->bucket. */
static enum jobs_err set_bucket(const char *s, size_t n, struct jobs_docsource *out, char *msg,
				size_t cap)
{
	if (n == 0)
		return fail(out, msg, cap, "the URL names no bucket");
	if (!is_valid_bucket(s, n))
		return fail(out, msg, cap,
			    "'%.*s' is not a valid S3 bucket name (3..63 of a-z 0-9 . -)",
			    (int)(n > JOBS_DOCSOURCE_BUCKET_MAX ? JOBS_DOCSOURCE_BUCKET_MAX : n),
			    s);
	memcpy(out->bucket, s, n);
	out->bucket[n] = '\0';
	return JOBS_OK;
}

/* "<bucket>/<key>" (s3:// and path-style URLs). */
static enum jobs_err bucket_then_key(const char *path, struct jobs_docsource *out, char *msg,
				     size_t cap)
{
	const char *slash = strchr(path, '/');
	enum jobs_err err;

	if (!slash)
		return fail(out, msg, cap, "the URL names no object key (want <bucket>/<key>)");
	if ((err = set_bucket(path, (size_t)(slash - path), out, msg, cap)))
		return err;
	return decode_key(slash + 1, strlen(slash + 1), out, msg, cap);
}

static enum jobs_err parse_https(const char *rest, struct jobs_docsource *out, char *msg,
				 size_t cap)
{
	const char *slash = strchr(rest, '/');
	size_t hn = slash ? (size_t)(slash - rest) : strlen(rest), sn = strlen(S3_SUFFIX), rn;
	char host[HOST_MAX + 1];
	enum jobs_err err;

	if (memchr(rest, '@', hn))
		return fail(out, msg, cap, "user information in the URL is not supported");
	if (memchr(rest, ':', hn))
		return fail(out, msg, cap, "a port in the URL is not supported");
	if (hn > HOST_MAX || hn <= sn)
		return fail(out, msg, cap, "the host is not an Amazon S3 endpoint");
	for (size_t i = 0; i < hn; i++)
		host[i] =
			(rest[i] >= 'A' && rest[i] <= 'Z') ? (char)(rest[i] - 'A' + 'a') : rest[i];
	host[hn] = '\0';
	rn = hn - sn;
	if (strcmp(host + rn, S3_SUFFIX) != 0)
		return fail(out, msg, cap, "the host %s is not an Amazon S3 endpoint", host);
	host[rn] = '\0';
	if (!slash)
		return fail(out, msg, cap, "the URL names no object key");
	/* path-style: s3[.-<region>].amazonaws.com/<bucket>/<key> */
	if (rn >= 2 && memcmp(host, "s3", 2) == 0 && is_s3_tail(host + 2, rn - 2))
		return bucket_then_key(slash + 1, out, msg, cap);
	/* virtual-hosted: <bucket>.s3[.-<region>].amazonaws.com/<key>; the last ".s3" whose tail
	 * is a region ends the bucket (bucket names may contain ".s3" themselves) */
	for (size_t p = rn; p-- > 0;) {
		if (rn - p >= 3 && memcmp(host + p, ".s3", 3) == 0 &&
		    is_s3_tail(host + p + 3, rn - p - 3)) {
			if ((err = set_bucket(host, p, out, msg, cap)))
				return err;
			return decode_key(slash + 1, strlen(slash + 1), out, msg, cap);
		}
	}
	return fail(out, msg, cap, "the host %s.amazonaws.com is not an Amazon S3 endpoint", host);
}

enum jobs_err jobs_docsource_parse(const char *url, struct jobs_docsource *out, char *msg,
				   size_t msg_cap)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (msg && msg_cap > 0)
		msg[0] = '\0';
	if (!url || !*url)
		return fail(out, msg, msg_cap, "the URL is empty");
	n = strnlen(url, JOBS_DOCSOURCE_URL_MAX + 1);
	if (n > JOBS_DOCSOURCE_URL_MAX)
		return fail(out, msg, msg_cap, "the URL is longer than %d characters",
			    JOBS_DOCSOURCE_URL_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f)
			return fail(out, msg, msg_cap,
				    "the URL contains a space, control or non-ASCII character "
				    "(percent-encode it)");
		if (c == '?')
			return fail(out, msg, msg_cap,
				    "query strings (such as versionId) are not supported");
		if (c == '#')
			return fail(out, msg, msg_cap, "fragments are not supported");
	}
	if (strncasecmp(url, "s3://", 5) == 0)
		return bucket_then_key(url + 5, out, msg, msg_cap);
	if (strncasecmp(url, "https://", 8) == 0)
		return parse_https(url + 8, out, msg, msg_cap);
	return fail(out, msg, msg_cap,
		    "only s3://<bucket>/<key> and https:// Amazon S3 object URLs are supported");
}
