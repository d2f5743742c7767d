#include "core/strutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Character classes for identifiers, as bit flags. */
enum {
	C_ALNUM = 1 << 0,
	C_COLON = 1 << 1,
	C_UNDER = 1 << 2,
	C_DASH = 1 << 3,
	C_DOLLAR = 1 << 4,
	C_DOT = 1 << 5,
};

static unsigned char_class(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return C_ALNUM;
	switch (c) {
	case ':':
		return C_COLON;
	case '_':
		return C_UNDER;
	case '-':
		return C_DASH;
	case '$':
		return C_DOLLAR;
	case '.':
		return C_DOT;
	default:
		return 0;
	}
}

/* 1..max characters, each in one of the allowed classes. Never reads past max + 1 bytes. */
static bool is_ident(const char *s, size_t max, unsigned allowed)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		if (i >= max || !(char_class((unsigned char)s[i]) & allowed))
			return false;
	}
	return true;
}

bool strutil_is_valid_thing_name(const char *s)
{
	return is_ident(s, STRUTIL_THING_NAME_MAX, C_ALNUM | C_COLON | C_UNDER | C_DASH);
}

bool strutil_is_valid_group_name(const char *s)
{
	return is_ident(s, STRUTIL_GROUP_NAME_MAX, C_ALNUM | C_COLON | C_UNDER | C_DASH);
}

bool strutil_is_valid_job_id(const char *s)
{
	return is_ident(s, STRUTIL_JOB_ID_MAX, C_ALNUM | C_UNDER | C_DASH);
}

bool strutil_is_valid_shadow_name(const char *s)
{
	return is_ident(s, STRUTIL_SHADOW_NAME_MAX,
			C_ALNUM | C_COLON | C_UNDER | C_DASH | C_DOLLAR);
}

bool strutil_is_valid_attr_key(const char *s)
{
	return is_ident(s, STRUTIL_ATTR_KEY_MAX, C_ALNUM | C_UNDER | C_DOT | C_COLON | C_DASH);
}

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), 0 if malformed. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	}
	return n;
}

bool strutil_is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (!s)
		return len == 0;
	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

bool strutil_is_valid_attr_value(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, i = 0;

	if (!s)
		return false;
	len = strnlen(s, STRUTIL_ATTR_VALUE_MAX + 1);
	if (len > STRUTIL_ATTR_VALUE_MAX)
		return false;
	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n == 0)
			return false;
		if (n == 1 && (p[i] < 0x20 || p[i] == 0x7F))
			return false;
		if (n == 2 && p[i] == 0xC2 && p[i + 1] <= 0x9F) /* C1 controls U+0080..U+009F */
			return false;
		i += n;
	}
	return true;
}

size_t strutil_lcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

char *strutil_dup_n(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = malloc(len + 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *strutil_b64url_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t outlen, i, o = 0;
	char *out;

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	outlen = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
	out = malloc(outlen + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/* Value of one base64url character, -1 if outside the alphabet. */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool strutil_b64url_decode(const char *s, void **out, size_t *outlen)
{
	size_t len, rem, n, i, o = 0;
	unsigned char *buf = NULL;
	uint32_t acc = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (!s)
		return false;
	len = strlen(s);
	rem = len % 4;
	if (rem == 1)
		return false;
	n = len / 4 * 3 + (rem ? rem - 1 : 0);
	buf = malloc(n + 1);
	if (!buf)
		return false;
	for (i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0)
			goto fail;
		acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits & 0xFF);
		}
	}
	/* Leftover bits must be zero, otherwise two texts would decode to the same bytes. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		goto fail;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return true;
fail:
	free(buf);
	return false;
}

char *strutil_hex_encode(const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *in = data;
	char *out;
	size_t i;

	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	out = malloc(len * 2 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}
