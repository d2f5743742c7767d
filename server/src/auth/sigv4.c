#include "auth/sigv4.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define HEADER_NAME_MAX 128
#define QUERY_PARAM_VALUE_MAX 2048 /* X-Amz-* values of the presigned form */

static const struct {
	const char *name;
	int status;
	const char *aws_type;
} err_table[] = {
#define X(e, status, aws) { #e, status, aws },
	SIGV4_ERRORS(X)
#undef X
};

const char *sigv4_err_name(enum sigv4_err err)
{
	if ((unsigned)err >= SIGV4_ERR__COUNT)
		return "?";
	return err_table[err].name;
}

int sigv4_err_http_status(enum sigv4_err err)
{
	if ((unsigned)err >= SIGV4_ERR__COUNT)
		return 500;
	return err_table[err].status;
}

const char *sigv4_err_aws_type(enum sigv4_err err)
{
	if ((unsigned)err >= SIGV4_ERR__COUNT)
		return err_table[SIGV4_ERR_INTERNAL].aws_type;
	return err_table[err].aws_type;
}

__attribute__((format(printf, 3, 4))) static enum sigv4_err
fail(struct sigv4_error *err, enum sigv4_err code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* ---- character helpers (ASCII only, locale independent) ---- */

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
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

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i >= 64 || hex_value(s[i]) < 0)
			return false;
	}
	return i == 64;
}

/* Case-insensitive equality of a (length n) and NUL-terminated b. */
static bool name_eq(const char *a, size_t n, const char *b)
{
	for (size_t i = 0; i < n; i++) {
		if (!b[i] || lower(a[i]) != lower(b[i]))
			return false;
	}
	return b[n] == '\0';
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Append s[0..n) percent-encoded: unreserved bytes (and '/' if keep_slash) stay literal. */
static bool append_encoded(struct buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			if (!buf_putc(b, (char)c))
				return false;
			continue;
		}
		esc[0] = '%';
		esc[1] = digits[c >> 4];
		esc[2] = digits[c & 15];
		if (!buf_append(b, esc, 3))
			return false;
	}
	return true;
}

/* Percent-decode s[0..n) into out (capacity >= n + 1); invalid escapes stay literal. */
static size_t pct_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
		    hex_value(s[i + 2]) >= 0) {
			out[o++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

/* ---- hashing ---- */

bool sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;

	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
		return false;
	hex_encode(md, 32, out);
	return true;
}

static bool hmac(const void *key, size_t key_len, const void *data, size_t len,
		 unsigned char out[32])
{
	unsigned int out_len = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len))
		return false;
	return out_len == 32;
}

bool sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, unsigned char key[32])
{
	char k_secret[4 + SIGV4_SECRET_MAX + 1];
	unsigned char k[32];
	size_t n = strlen(secret);
	bool ok;

	if (n > SIGV4_SECRET_MAX)
		return false;
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, secret, n);
	ok = hmac(k_secret, 4 + n, date, strlen(date), k) &&
	     hmac(k, 32, region, strlen(region), k) && hmac(k, 32, service, strlen(service), k) &&
	     hmac(k, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(k_secret, sizeof(k_secret));
	OPENSSL_cleanse(k, sizeof(k));
	return ok;
}

bool sigv4_signature_hex(const unsigned char key[32], const char *string_to_sign, char out[65])
{
	unsigned char mac[32];

	if (!hmac(key, 32, string_to_sign, strlen(string_to_sign), mac))
		return false;
	hex_encode(mac, 32, out);
	return true;
}

/* ---- dates ---- */

/* Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

bool sigv4_amz_date_parse(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, dim;

	if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' || !is_digits(s, 8) ||
	    !is_digits(s + 9, 6))
		return false;
	y = num(s, 4);
	mo = num(s + 4, 2);
	d = num(s + 6, 2);
	h = num(s + 9, 2);
	mi = num(s + 11, 2);
	se = num(s + 13, 2);
	if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
		return false;
	dim = mdays[mo - 1];
	if (mo == 2 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 28;
	if (d < 1 || d > dim)
		return false;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

/* Write v (0 <= v < 10^width) as exactly `width` decimal digits. */
static void put_digits(char *out, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

bool sigv4_amz_date_format(int64_t t, char out[17])
{
	int y, m, d;
	int64_t days, secs;

	/* 1970-01-01 .. 9999-12-31T23:59:59Z */
	if (t < 0 || t > 253402300799)
		return false;
	days = t / 86400;
	secs = t % 86400;
	civil_from_days(days, &y, &m, &d);
	put_digits(out, y, 4);
	put_digits(out + 4, m, 2);
	put_digits(out + 6, d, 2);
	out[8] = 'T';
	put_digits(out + 9, (int)(secs / 3600), 2);
	put_digits(out + 11, (int)(secs / 60 % 60), 2);
	put_digits(out + 13, (int)(secs % 60), 2);
	out[15] = 'Z';
	out[16] = '\0';
	return true;
}

/* ---- canonical request ---- */

struct seg {
	const char *s;
	size_t n;
};

bool sigv4_canonical_uri(const char *raw_path, struct buf *out)
{
	const char *p = (raw_path && *raw_path) ? raw_path : "/";
	size_t len = strlen(p);
	size_t max_segs = 1, n = 0;
	struct seg *segs;
	bool ok = true;

	for (size_t i = 0; i < len; i++)
		max_segs += p[i] == '/';
	segs = calloc(max_segs, sizeof(*segs));
	if (!segs)
		return false;
	/* RFC 3986 5.2.4 dot-segment removal; empty segments (//) are dropped too */
	for (size_t i = 0; i <= len;) {
		const char *start = p + i;
		size_t k = 0;

		while (i + k < len && p[i + k] != '/')
			k++;
		if (k == 0 || (k == 1 && start[0] == '.')) {
			/* nothing */
		} else if (k == 2 && start[0] == '.' && start[1] == '.') {
			if (n > 0)
				n--;
		} else {
			segs[n].s = start;
			segs[n].n = k;
			n++;
		}
		i += k + 1;
	}
	if (p[0] == '/' || n == 0)
		ok = buf_putc(out, '/');
	for (size_t i = 0; ok && i < n; i++) {
		if (i > 0)
			ok = buf_putc(out, '/');
		ok = ok && append_encoded(out, segs[i].s, segs[i].n, false);
	}
	if (ok && n > 0 && p[len - 1] == '/')
		ok = buf_putc(out, '/');
	free(segs);
	return ok;
}

struct qpair {
	char *key;   /* encoded */
	char *value; /* encoded */
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* Decode s[0..n) and re-encode it into a new string (NULL on allocation failure). */
static char *reencode(const char *s, size_t n, char *scratch)
{
	struct buf b;
	size_t m = pct_decode(s, n, scratch);

	buf_init(&b);
	if (!append_encoded(&b, scratch, m, false)) {
		buf_cleanup(&b);
		return NULL;
	}
	return buf_take(&b);
}

bool sigv4_canonical_query(const char *raw_query, bool drop_signature, struct buf *out)
{
	size_t len, max_pairs = 1, n = 0;
	struct qpair *pairs = NULL;
	char *scratch = NULL;
	bool ok = false;

	if (!raw_query || !*raw_query)
		return true;
	len = strlen(raw_query);
	for (size_t i = 0; i < len; i++)
		max_pairs += raw_query[i] == '&';
	pairs = calloc(max_pairs, sizeof(*pairs));
	scratch = malloc(len + 1);
	if (!pairs || !scratch)
		goto out;
	for (size_t i = 0; i <= len;) {
		const char *piece = raw_query + i;
		size_t k = 0, eq;

		while (i + k < len && raw_query[i + k] != '&')
			k++;
		i += k + 1;
		if (k == 0)
			continue;
		for (eq = 0; eq < k && piece[eq] != '='; eq++)
			;
		if (drop_signature) {
			pct_decode(piece, eq, scratch);
			if (strcmp(scratch, "X-Amz-Signature") == 0)
				continue;
		}
		pairs[n].key = reencode(piece, eq, scratch);
		pairs[n].value = eq < k ? reencode(piece + eq + 1, k - eq - 1, scratch)
					: reencode("", 0, scratch);
		n++;
		if (!pairs[n - 1].key || !pairs[n - 1].value)
			goto out;
	}
	qsort(pairs, n, sizeof(*pairs), qpair_cmp);
	ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		ok = (i == 0 || buf_putc(out, '&')) && buf_puts(out, pairs[i].key) &&
		     buf_putc(out, '=') && buf_puts(out, pairs[i].value);
	}
out:
	for (size_t i = 0; pairs && i < n; i++) {
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
	free(scratch);
	return ok;
}

/* Append a header value trimmed, with inner whitespace runs collapsed to one space. */
static bool append_trimmed(struct buf *b, const char *v)
{
	bool pending_space = false, any = false;

	for (; *v; v++) {
		if (is_space(*v)) {
			pending_space = any;
			continue;
		}
		if (pending_space && !buf_putc(b, ' '))
			return false;
		pending_space = false;
		any = true;
		if (!buf_putc(b, *v))
			return false;
	}
	return true;
}

enum sigv4_err sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers,
				       const char *payload_hash, bool drop_signature,
				       struct buf *out)
{
	const char *p = signed_headers;

	if (!buf_puts(out, req->method ? req->method : "") || !buf_putc(out, '\n') ||
	    !sigv4_canonical_uri(req->path, out) || !buf_putc(out, '\n') ||
	    !sigv4_canonical_query(req->query, drop_signature, out) || !buf_putc(out, '\n'))
		return SIGV4_ERR_INTERNAL;
	while (*p) {
		size_t n = strcspn(p, ";");
		bool found = false;

		if (!buf_append(out, p, n) || !buf_putc(out, ':'))
			return SIGV4_ERR_INTERNAL;
		for (size_t i = 0; i < req->n_headers; i++) {
			const struct sigv4_header *h = &req->headers[i];

			if (!h->name || !name_eq(p, n, h->name))
				continue;
			if ((found && !buf_putc(out, ',')) ||
			    !append_trimmed(out, h->value ? h->value : ""))
				return SIGV4_ERR_INTERNAL;
			found = true;
		}
		if (!found)
			return SIGV4_ERR_SIGNED_HEADER_MISSING;
		if (!buf_putc(out, '\n'))
			return SIGV4_ERR_INTERNAL;
		p += n;
		if (*p == ';')
			p++;
	}
	if (!buf_putc(out, '\n') || !buf_puts(out, signed_headers) || !buf_putc(out, '\n') ||
	    !buf_puts(out, payload_hash))
		return SIGV4_ERR_INTERNAL;
	return SIGV4_OK;
}

bool sigv4_string_to_sign(const char *amz_date, const char *date, const char *region,
			  const char *service, const char *canonical_request, struct buf *out)
{
	char hash[65];

	if (!sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash))
		return false;
	return buf_printf(out, "%s\n%s\n%s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM, amz_date, date,
			  region, service, hash);
}

/* ---- parsing ---- */

const char *sigv4_header_find(const struct sigv4_request *req, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < req->n_headers; i++) {
		if (req->headers[i].name && name_eq(name, n, req->headers[i].name))
			return req->headers[i].value ? req->headers[i].value : "";
	}
	return NULL;
}

static size_t header_count(const struct sigv4_request *req, const char *name)
{
	size_t n = strlen(name), count = 0;

	for (size_t i = 0; i < req->n_headers; i++)
		count += req->headers[i].name && name_eq(name, n, req->headers[i].name);
	return count;
}

static bool is_header_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/*
 * Canonical signed-header list from n names (each names[i] of lens[i] bytes): lower-cased,
 * sorted, duplicates merged, ';'-joined into out. False if a name is empty, too long or has
 * characters outside [A-Za-z0-9._-], if there are too many, or if out is too small.
 */
static bool canon_names(const char *const *names, const size_t *lens, size_t n, char *out,
			size_t out_size)
{
	char(*tmp)[HEADER_NAME_MAX + 1];
	size_t off = 0, m = 0;
	bool ok = false;

	if (n == 0 || n > SIGV4_MAX_SIGNED_HEADERS)
		return false;
	tmp = calloc(n, sizeof(*tmp));
	if (!tmp)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (lens[i] == 0 || lens[i] > HEADER_NAME_MAX)
			goto out;
		for (size_t k = 0; k < lens[i]; k++) {
			if (!is_header_name_char(names[i][k]))
				goto out;
			tmp[i][k] = lower(names[i][k]);
		}
	}
	qsort(tmp, n, sizeof(*tmp), name_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(tmp[i]);

		if (m > 0 && strcmp(tmp[i], tmp[i - 1]) == 0)
			continue;
		if (off + (m > 0) + l + 1 > out_size)
			goto out;
		if (m > 0)
			out[off++] = ';';
		memcpy(out + off, tmp[i], l);
		off += l;
		m++;
	}
	out[off] = '\0';
	ok = true;
out:
	free(tmp);
	return ok;
}

/* Canonicalise a SignedHeaders value ("host;x-amz-date") into out. */
static bool canon_signed_headers(const char *list, char *out, size_t out_size)
{
	const char *names[SIGV4_MAX_SIGNED_HEADERS];
	size_t lens[SIGV4_MAX_SIGNED_HEADERS];
	size_t n = 0;
	const char *p = list;

	for (;;) {
		size_t k = strcspn(p, ";");

		if (n == SIGV4_MAX_SIGNED_HEADERS)
			return false;
		names[n] = p;
		lens[n] = k;
		n++;
		if (!p[k])
			break;
		p += k + 1;
	}
	return canon_names(names, lens, n, out, out_size);
}

static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ";");

		if (k == n && memcmp(p, name, n) == 0)
			return true;
		p += k;
		if (*p == ';')
			p++;
	}
	return false;
}

static bool is_scope_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Copy s[0..n) into dst (size) if it fits and every byte passes `ok`. */
static bool copy_part(char *dst, size_t size, const char *s, size_t n, bool (*ok)(char))
{
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!ok(s[i]))
			return false;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* The raw auth fields, as found in the header or the query (decoded). */
struct raw_auth {
	const char *credential;
	const char *signed_headers;
	const char *signature;
	const char *amz_date;
};

/* Checks shared by both forms; fills out. */
static enum sigv4_err check_fields(const struct sigv4_request *req, int64_t now_s,
				   const struct sigv4_options *opt, const struct raw_auth *raw,
				   struct sigv4_auth *out, struct sigv4_error *err)
{
	const char *c = raw->credential;
	const char *parts[5];
	size_t lens[5];
	size_t np = 0;
	int64_t skew = (opt && opt->max_skew_s > 0) ? opt->max_skew_s : SIGV4_DEFAULT_MAX_SKEW_S;

	/* Credential = AKID/YYYYMMDD/region/service/aws4_request */
	for (const char *p = c;; np++) {
		size_t k = strcspn(p, "/");

		if (np == 5)
			return fail(err, SIGV4_ERR_MALFORMED,
				    "Credential must have the form "
				    "<access key>/<YYYYMMDD>/<region>/<service>/aws4_request");
		parts[np] = p;
		lens[np] = k;
		if (!p[k]) {
			np++;
			break;
		}
		p += k + 1;
	}
	if (np != 5 || !copy_part(out->access_key_id, sizeof(out->access_key_id), parts[0], lens[0],
				  is_scope_char))
		return fail(err, SIGV4_ERR_MALFORMED,
			    "Credential must have the form "
			    "<access key>/<YYYYMMDD>/<region>/<service>/aws4_request");
	if (lens[1] != 8 || !is_digits(parts[1], 8))
		return fail(err, SIGV4_ERR_MALFORMED, "Credential date must be YYYYMMDD");
	memcpy(out->date, parts[1], 8);
	out->date[8] = '\0';
	if (!copy_part(out->region, sizeof(out->region), parts[2], lens[2], is_scope_char))
		return fail(err, SIGV4_ERR_BAD_SCOPE,
			    "Credential should be scoped to a valid region.");
	if (!copy_part(out->service, sizeof(out->service), parts[3], lens[3], is_scope_char))
		return fail(err, SIGV4_ERR_BAD_SCOPE,
			    "Credential should be scoped to a valid service.");
	if (lens[4] != 12 || memcmp(parts[4], "aws4_request", 12) != 0)
		return fail(err, SIGV4_ERR_BAD_SCOPE,
			    "Credential should be scoped with a valid terminator: 'aws4_request'.");
	if (opt && opt->region && strcmp(opt->region, out->region) != 0)
		return fail(err, SIGV4_ERR_BAD_SCOPE,
			    "Credential should be scoped to a valid region, not '%s'.",
			    out->region);

	if (strlen(raw->signature) != 64 || !is_hex64(raw->signature))
		return fail(err, SIGV4_ERR_MALFORMED,
			    "Signature must be 64 hexadecimal characters");
	for (size_t i = 0; i < 64; i++)
		out->signature[i] = lower(raw->signature[i]);
	out->signature[64] = '\0';

	if (!canon_signed_headers(raw->signed_headers, out->signed_headers,
				  sizeof(out->signed_headers)))
		return fail(err, SIGV4_ERR_MALFORMED, "SignedHeaders is not a valid header list");
	if (!list_has(out->signed_headers, "host"))
		return fail(err, SIGV4_ERR_HOST_NOT_SIGNED,
			    "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
			    "Authorization.");
	if (!out->is_presigned && !list_has(out->signed_headers, "x-amz-date"))
		return fail(err, SIGV4_ERR_MALFORMED,
			    "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
	for (const char *p = out->signed_headers; *p;) {
		size_t k = strcspn(p, ";");
		char name[HEADER_NAME_MAX + 1];

		memcpy(name, p, k);
		name[k] = '\0';
		if (!sigv4_header_find(req, name))
			return fail(err, SIGV4_ERR_SIGNED_HEADER_MISSING,
				    "Signed header '%s' is missing from the request", name);
		p += k;
		if (*p == ';')
			p++;
	}

	if (!copy_part(out->amz_date, sizeof(out->amz_date), raw->amz_date, strlen(raw->amz_date),
		       is_scope_char) ||
	    !sigv4_amz_date_parse(out->amz_date, &out->request_time_s))
		return fail(err, SIGV4_ERR_MALFORMED,
			    "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'");
	if (memcmp(out->amz_date, out->date, 8) != 0)
		return fail(
			err, SIGV4_ERR_BAD_SCOPE,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
			"of date from HTTP: '%s' != '%.8s', from '%s'.",
			out->date, out->amz_date, out->amz_date);

	if (now_s < out->request_time_s - skew) {
		char limit[17] = "?";

		sigv4_amz_date_format(now_s + skew, limit);
		return fail(err, SIGV4_ERR_NOT_YET_VALID,
			    "Signature not yet current: %s is still later than %s (now + %lld "
			    "min.)",
			    out->amz_date, limit, (long long)(skew / 60));
	}
	if (out->is_presigned) {
		if (now_s > out->request_time_s + out->expires_s)
			return fail(err, SIGV4_ERR_EXPIRED, "Request has expired");
	} else if (now_s > out->request_time_s + skew) {
		char limit[17] = "?";

		sigv4_amz_date_format(now_s - skew, limit);
		return fail(err, SIGV4_ERR_EXPIRED,
			    "Signature expired: %s is now earlier than %s (now - %lld min.)",
			    out->amz_date, limit, (long long)(skew / 60));
	}
	return SIGV4_OK;
}

/* Find a ", "-separated "Name=value" component list after the algorithm in an Authorization
 * header. Values are copied into bufs (each of size SIGV4_AUTH_HEADER_MAX + 1). */
static enum sigv4_err parse_authorization(const char *h, char *cred, char *sh, char *sig,
					  struct sigv4_error *err)
{
	size_t alg_len = strlen(SIGV4_ALGORITHM);
	char *slots[3] = { cred, sh, sig };
	static const char *const keys[3] = { "Credential", "SignedHeaders", "Signature" };
	bool seen[3] = { false, false, false };
	const char *p = h;

	if (strlen(h) > SIGV4_AUTH_HEADER_MAX)
		return fail(err, SIGV4_ERR_MALFORMED, "Authorization header is too long");
	while (is_space(*p))
		p++;
	if (strncmp(p, SIGV4_ALGORITHM, alg_len) != 0 || !is_space(p[alg_len]))
		return fail(err, SIGV4_ERR_MALFORMED,
			    "Unsupported Authorization type; only AWS4-HMAC-SHA256 is accepted");
	p += alg_len;
	while (*p) {
		const char *name, *value;
		size_t name_len, value_len, i;

		while (is_space(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		name = p;
		while (*p && *p != '=' && *p != ',' && !is_space(*p))
			p++;
		name_len = (size_t)(p - name);
		if (*p != '=')
			return fail(err, SIGV4_ERR_MALFORMED,
				    "'%.*s' not a valid key=value pair (missing equal-sign) in "
				    "Authorization header",
				    (int)(name_len > 64 ? 64 : name_len), name);
		value = ++p;
		while (*p && *p != ',' && !is_space(*p))
			p++;
		value_len = (size_t)(p - value);
		for (i = 0; i < 3; i++) {
			if (name_len == strlen(keys[i]) && memcmp(name, keys[i], name_len) == 0)
				break;
		}
		if (i == 3)
			return fail(err, SIGV4_ERR_MALFORMED,
				    "Authorization header has an unknown parameter '%.*s'",
				    (int)(name_len > 64 ? 64 : name_len), name);
		if (seen[i])
			return fail(err, SIGV4_ERR_MALFORMED,
				    "Authorization header repeats the '%s' parameter", keys[i]);
		seen[i] = true;
		memcpy(slots[i], value, value_len);
		slots[i][value_len] = '\0';
	}
	if (!seen[0] || !seen[1] || !seen[2])
		return fail(err, SIGV4_ERR_MALFORMED, "%s%s%s",
			    seen[0] ? "" : "Authorization header requires 'Credential' parameter. ",
			    seen[2] ? "" : "Authorization header requires 'Signature' parameter. ",
			    seen[1] ? ""
				    : "Authorization header requires 'SignedHeaders' parameter.");
	return SIGV4_OK;
}

/* The X-Amz-* parameters of the presigned form, decoded. */
enum { Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_EXPIRES, Q_SIGNED_HEADERS, Q_SIGNATURE, Q_COUNT };
static const char *const query_keys[Q_COUNT] = {
	"X-Amz-Algorithm", "X-Amz-Credential",	  "X-Amz-Date",
	"X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Signature",
};

/*
 * Scan the raw query for X-Amz-* auth parameters. vals[i] (each QUERY_PARAM_VALUE_MAX + 1)
 * receive decoded values; *any is set if any was present. Returns SIGV4_OK or an error for
 * duplicates / oversized values.
 */
static enum sigv4_err scan_query(const char *q, char vals[Q_COUNT][QUERY_PARAM_VALUE_MAX + 1],
				 bool seen[Q_COUNT], bool *any, struct sigv4_error *err)
{
	char key[32];

	*any = false;
	for (size_t i = 0; i < Q_COUNT; i++)
		seen[i] = false;
	if (!q)
		return SIGV4_OK;
	while (*q) {
		size_t k = strcspn(q, "&");
		size_t eq = strcspn(q, "=&");
		size_t i;

		/* an X-Amz-* key is short; a longer (or escape-heavy) key cannot match */
		if (eq < sizeof(key)) {
			pct_decode(q, eq, key);
			for (i = 0; i < Q_COUNT; i++) {
				if (strcmp(key, query_keys[i]) == 0)
					break;
			}
			if (i < Q_COUNT) {
				size_t vlen = eq < k ? k - eq - 1 : 0;

				if (seen[i])
					return fail(err, SIGV4_ERR_MALFORMED,
						    "Query parameter %s is repeated",
						    query_keys[i]);
				if (vlen > QUERY_PARAM_VALUE_MAX)
					return fail(err, SIGV4_ERR_MALFORMED,
						    "Query parameter %s is too long",
						    query_keys[i]);
				pct_decode(q + eq + (eq < k), vlen, vals[i]);
				seen[i] = true;
				*any = true;
			}
		}
		q += k;
		if (*q == '&')
			q++;
	}
	return SIGV4_OK;
}

enum sigv4_err sigv4_parse(const struct sigv4_request *req, int64_t now_s,
			   const struct sigv4_options *opt, struct sigv4_auth *out,
			   struct sigv4_error *err)
{
	char(*vals)[QUERY_PARAM_VALUE_MAX + 1] = NULL;
	char *hbufs = NULL;
	bool seen[Q_COUNT], in_query;
	const char *authz = sigv4_header_find(req, "authorization");
	struct raw_auth raw;
	enum sigv4_err rc;

	memset(out, 0, sizeof(*out));
	if (err) {
		err->code = SIGV4_OK;
		err->message[0] = '\0';
	}
	vals = calloc(Q_COUNT, sizeof(*vals));
	hbufs = malloc(3 * (SIGV4_AUTH_HEADER_MAX + 1));
	if (!vals || !hbufs) {
		rc = fail(err, SIGV4_ERR_INTERNAL, "out of memory");
		goto out;
	}
	rc = scan_query(req->query, vals, seen, &in_query, err);
	if (rc)
		goto out;
	if (authz && in_query) {
		rc = fail(
			err, SIGV4_ERR_MALFORMED,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
			"or the Authorization header should be specified");
		goto out;
	}
	if (!authz && !in_query) {
		rc = fail(err, SIGV4_ERR_MISSING_AUTH, "Missing Authentication Token");
		goto out;
	}
	if (authz) {
		char *cred = hbufs, *sh = hbufs + SIGV4_AUTH_HEADER_MAX + 1,
		     *sig = hbufs + 2 * (SIGV4_AUTH_HEADER_MAX + 1);

		if (header_count(req, "authorization") > 1) {
			rc = fail(err, SIGV4_ERR_MALFORMED, "Authorization header is repeated");
			goto out;
		}
		rc = parse_authorization(authz, cred, sh, sig, err);
		if (rc)
			goto out;
		raw.credential = cred;
		raw.signed_headers = sh;
		raw.signature = sig;
		raw.amz_date = sigv4_header_find(req, "x-amz-date");
		if (!raw.amz_date) {
			rc = fail(
				err, SIGV4_ERR_MISSING_DATE,
				"Authorization header requires existence of either a 'X-Amz-Date' "
				"or a 'Date' header.");
			goto out;
		}
		if (header_count(req, "x-amz-date") > 1) {
			rc = fail(err, SIGV4_ERR_MALFORMED, "X-Amz-Date header is repeated");
			goto out;
		}
	} else {
		out->is_presigned = true;
		for (size_t i = 0; i < Q_COUNT; i++) {
			if (!seen[i]) {
				rc = fail(err,
					  i == Q_DATE ? SIGV4_ERR_MISSING_DATE
						      : SIGV4_ERR_MALFORMED,
					  "Query-string authentication requires the %s parameter",
					  query_keys[i]);
				goto out;
			}
		}
		if (strcmp(vals[Q_ALGORITHM], SIGV4_ALGORITHM) != 0) {
			rc = fail(err, SIGV4_ERR_MALFORMED,
				  "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
			goto out;
		}
		if (strlen(vals[Q_EXPIRES]) == 0 || strlen(vals[Q_EXPIRES]) > 7 ||
		    !is_digits(vals[Q_EXPIRES], strlen(vals[Q_EXPIRES])) ||
		    atol(vals[Q_EXPIRES]) < 1 ||
		    atol(vals[Q_EXPIRES]) > SIGV4_MAX_PRESIGN_EXPIRES_S) {
			rc = fail(err, SIGV4_ERR_MALFORMED,
				  "X-Amz-Expires must be an integer from 1 to %d seconds",
				  SIGV4_MAX_PRESIGN_EXPIRES_S);
			goto out;
		}
		out->expires_s = atol(vals[Q_EXPIRES]);
		raw.credential = vals[Q_CREDENTIAL];
		raw.signed_headers = vals[Q_SIGNED_HEADERS];
		raw.signature = vals[Q_SIGNATURE];
		raw.amz_date = vals[Q_DATE];
	}
	rc = check_fields(req, now_s, opt, &raw, out, err);
out:
	free(vals);
	free(hbufs);
	if (rc) {
		bool was_presigned = out->is_presigned;

		memset(out, 0, sizeof(*out));
		out->is_presigned = was_presigned;
	}
	return rc;
}

/* ---- verification ---- */

/* Decide the payload hash line of the canonical request (spec 8.2 step 1). */
static enum sigv4_err payload_hash(const struct sigv4_request *req, const struct sigv4_options *opt,
				   char out[65], struct sigv4_error *err)
{
	const char *h = sigv4_header_find(req, "x-amz-content-sha256");

	if (h) {
		if (strcmp(h, "UNSIGNED-PAYLOAD") == 0) {
			if (!opt || !opt->allow_unsigned_payload)
				return fail(err, SIGV4_ERR_UNSIGNED_PAYLOAD,
					    "UNSIGNED-PAYLOAD is not accepted by this service");
			memcpy(out, "UNSIGNED-PAYLOAD", sizeof("UNSIGNED-PAYLOAD"));
			return SIGV4_OK;
		}
		if (!is_hex64(h))
			return fail(err, SIGV4_ERR_MALFORMED,
				    "x-amz-content-sha256 must be the hex SHA-256 of the payload "
				    "(chunked signing is not supported)");
		if (req->payload_sha256_hex && strcasecmp(h, req->payload_sha256_hex) != 0)
			return fail(
				err, SIGV4_ERR_CONTENT_SHA256_MISMATCH,
				"The provided 'x-amz-content-sha256' header does not match what "
				"was computed.");
		memcpy(out, h, 65); /* signed verbatim, as the client sent it */
		return SIGV4_OK;
	}
	if (!req->payload_sha256_hex || !is_hex64(req->payload_sha256_hex))
		return fail(err, SIGV4_ERR_INTERNAL, "payload hash not available for verification");
	for (size_t i = 0; i < 64; i++)
		out[i] = lower(req->payload_sha256_hex[i]);
	out[64] = '\0';
	return SIGV4_OK;
}

enum sigv4_err sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
			    const char *secret, const struct sigv4_options *opt,
			    struct sigv4_error *err)
{
	struct buf creq, sts;
	unsigned char key[32];
	char hash[65], sig[65];
	enum sigv4_err rc;

	if (err) {
		err->code = SIGV4_OK;
		err->message[0] = '\0';
	}
	buf_init(&creq);
	buf_init(&sts);
	rc = payload_hash(req, opt, hash, err);
	if (rc)
		goto out;
	rc = sigv4_canonical_request(req, auth->signed_headers, hash, auth->is_presigned, &creq);
	if (rc) {
		fail(err, rc, "%s",
		     rc == SIGV4_ERR_SIGNED_HEADER_MISSING ? "A signed header is missing from the "
							     "request"
							   : "out of memory");
		goto out;
	}
	if (!secret ||
	    !sigv4_string_to_sign(auth->amz_date, auth->date, auth->region, auth->service,
				  creq.data, &sts) ||
	    !sigv4_signing_key(secret, auth->date, auth->region, auth->service, key) ||
	    !sigv4_signature_hex(key, sts.data, sig)) {
		rc = fail(err, SIGV4_ERR_INTERNAL, "signature computation failed");
		goto out;
	}
	if (CRYPTO_memcmp(sig, auth->signature, 64) != 0) {
		rc = fail(err, SIGV4_ERR_SIGNATURE_MISMATCH,
			  "The request signature we calculated does not match the signature you "
			  "provided. Check your AWS Secret Access Key and signing method. Consult "
			  "the service documentation for details.");
		goto out;
	}
	rc = SIGV4_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	buf_cleanup(&creq);
	buf_cleanup(&sts);
	return rc;
}

int sigv4_keytab_lookup(void *ctx, const char *access_key_id, char *secret, size_t size)
{
	const struct sigv4_keytab *tab = ctx;

	for (size_t i = 0; tab && i < tab->n_keys; i++) {
		const struct sigv4_key *k = &tab->keys[i];
		size_t n;

		if (!k->access_key_id || !k->secret || strcmp(k->access_key_id, access_key_id) != 0)
			continue;
		n = strlen(k->secret);
		if (n >= size)
			return -1;
		memcpy(secret, k->secret, n + 1);
		return 1;
	}
	return 0;
}

enum sigv4_err sigv4_verify_request(const struct sigv4_request *req, int64_t now_s,
				    const struct sigv4_options *opt, sigv4_secret_fn lookup,
				    void *ctx, struct sigv4_auth *out, struct sigv4_error *err)
{
	struct sigv4_auth local;
	struct sigv4_auth *a = out ? out : &local;
	char secret[SIGV4_SECRET_MAX + 1];
	enum sigv4_err rc;
	int found;

	rc = sigv4_parse(req, now_s, opt, a, err);
	if (rc)
		return rc;
	found = lookup ? lookup(ctx, a->access_key_id, secret, sizeof(secret)) : -1;
	if (found == 0)
		return fail(err, SIGV4_ERR_UNKNOWN_KEY,
			    "The security token included in the request is invalid.");
	if (found < 0)
		return fail(err, SIGV4_ERR_INTERNAL, "secret lookup failed");
	rc = sigv4_verify(req, a, secret, opt, err);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

/* ---- signing ---- */

/* Canonical signed-header list from the names of headers[]. */
static bool sign_header_list(const struct sigv4_header *headers, size_t n, char *out,
			     size_t out_size)
{
	const char *names[SIGV4_MAX_SIGNED_HEADERS];
	size_t lens[SIGV4_MAX_SIGNED_HEADERS];

	if (n == 0 || n > SIGV4_MAX_SIGNED_HEADERS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!headers[i].name || !headers[i].value)
			return false;
		names[i] = headers[i].name;
		lens[i] = strlen(headers[i].name);
	}
	return canon_names(names, lens, n, out, out_size);
}

/* Signature over (req, signed list, payload) as of in->amz_date. */
static enum sigv4_err compute_signature(const struct sigv4_sign_input *in,
					const struct sigv4_request *req, const char *signed_list,
					char sig[65])
{
	const char *payload = in->payload_sha256_hex ? in->payload_sha256_hex : SIGV4_EMPTY_SHA256;
	struct buf creq, sts;
	unsigned char key[32];
	char date[9];
	enum sigv4_err rc;

	memcpy(date, in->amz_date, 8);
	date[8] = '\0';
	buf_init(&creq);
	buf_init(&sts);
	rc = sigv4_canonical_request(req, signed_list, payload, false, &creq);
	if (rc == SIGV4_OK &&
	    (!sigv4_string_to_sign(in->amz_date, date, in->region, in->service, creq.data, &sts) ||
	     !sigv4_signing_key(in->secret, date, in->region, in->service, key) ||
	     !sigv4_signature_hex(key, sts.data, sig)))
		rc = SIGV4_ERR_INTERNAL;
	OPENSSL_cleanse(key, sizeof(key));
	buf_cleanup(&creq);
	buf_cleanup(&sts);
	return rc == SIGV4_ERR_SIGNED_HEADER_MISSING ? SIGV4_ERR_MALFORMED : rc;
}

static bool sign_input_ok(const struct sigv4_sign_input *in)
{
	int64_t t;

	return in->method && in->access_key_id && in->secret && in->region && in->service &&
	       in->amz_date && sigv4_amz_date_parse(in->amz_date, &t) &&
	       strlen(in->secret) <= SIGV4_SECRET_MAX;
}

enum sigv4_err sigv4_sign(const struct sigv4_sign_input *in, char *out, size_t out_size)
{
	struct sigv4_request req = { in->method,  in->path,	 in->query,
				     in->headers, in->n_headers, NULL };
	char list[SIGV4_SIGNED_HEADERS_MAX + 1];
	char sig[65];
	enum sigv4_err rc;
	int n;

	if (!sign_input_ok(in) ||
	    !sign_header_list(in->headers, in->n_headers, list, sizeof(list)) ||
	    !list_has(list, "host") || !list_has(list, "x-amz-date"))
		return SIGV4_ERR_MALFORMED;
	rc = compute_signature(in, &req, list, sig);
	if (rc)
		return rc;
	n = snprintf(out, out_size,
		     "%s Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		     SIGV4_ALGORITHM, in->access_key_id, in->amz_date, in->region, in->service,
		     list, sig);
	return (n < 0 || (size_t)n >= out_size) ? SIGV4_ERR_MALFORMED : SIGV4_OK;
}

enum sigv4_err sigv4_presign(const struct sigv4_sign_input *in, int64_t expires_s, struct buf *out)
{
	struct sigv4_request req = { in->method, in->path, NULL, in->headers, in->n_headers, NULL };
	char list[SIGV4_SIGNED_HEADERS_MAX + 1];
	char cred[SIGV4_ACCESS_KEY_MAX + 2 * SIGV4_SCOPE_PART_MAX + 32];
	char sig[65];
	struct buf q;
	enum sigv4_err rc;
	int n;

	if (!sign_input_ok(in) || expires_s < 1 || expires_s > SIGV4_MAX_PRESIGN_EXPIRES_S ||
	    !sign_header_list(in->headers, in->n_headers, list, sizeof(list)) ||
	    !list_has(list, "host"))
		return SIGV4_ERR_MALFORMED;
	n = snprintf(cred, sizeof(cred), "%s/%.8s/%s/%s/aws4_request", in->access_key_id,
		     in->amz_date, in->region, in->service);
	if (n < 0 || (size_t)n >= sizeof(cred))
		return SIGV4_ERR_MALFORMED;
	buf_init(&q);
	if (in->query && *in->query && (!buf_puts(&q, in->query) || !buf_putc(&q, '&')))
		goto oom;
	if (!buf_puts(&q, "X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=") ||
	    !append_encoded(&q, cred, (size_t)n, false) ||
	    !buf_printf(&q, "&X-Amz-Date=%s&X-Amz-SignedHeaders=", in->amz_date) ||
	    !append_encoded(&q, list, strlen(list), false) ||
	    !buf_printf(&q, "&X-Amz-Expires=%lld", (long long)expires_s))
		goto oom;
	req.query = q.data;
	rc = compute_signature(in, &req, list, sig);
	if (rc) {
		buf_cleanup(&q);
		return rc;
	}
	if (!buf_printf(&q, "&X-Amz-Signature=%s", sig) || !buf_puts(out, q.data))
		goto oom;
	buf_cleanup(&q);
	return SIGV4_OK;
oom:
	buf_cleanup(&q);
	return SIGV4_ERR_INTERNAL;
}
