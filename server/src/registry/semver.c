#include "registry/semver.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Parse a numeric part at *p: "0" or [1-9][0-9]* fitting uint64. Advances *p. */
static bool parse_number(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!is_digit(*s))
		return false;
	if (*s == '0' && is_digit(s[1]))
		return false;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	*p = s;
	return true;
}

/* Validate dot-separated identifiers in s[0..len): each non-empty [0-9A-Za-z-]+; when
 * is_prerelease, numeric identifiers must not have leading zeros. */
static bool valid_identifiers(const char *s, size_t len, bool is_prerelease)
{
	size_t i = 0;

	if (len == 0)
		return false;
	while (i <= len) {
		size_t start = i;
		bool is_numeric = true;
		while (i < len && s[i] != '.') {
			if (!is_ident_char(s[i]))
				return false;
			if (!is_digit(s[i]))
				is_numeric = false;
			i++;
		}
		if (i == start)
			return false;
		if (is_prerelease && is_numeric && i - start > 1 && s[start] == '0')
			return false;
		i++; /* skip '.', or step past the end */
	}
	return true;
}

bool semver_parse(const char *s, struct semver *out)
{
	const char *p = s, *pre = NULL, *build = NULL;
	size_t pre_len = 0, build_len = 0;
	struct semver v;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	if (!s || strnlen(s, SEMVER_TEXT_MAX + 1) > SEMVER_TEXT_MAX)
		return false;
	if (!parse_number(&p, &v.major) || *p++ != '.')
		return false;
	if (!parse_number(&p, &v.minor) || *p++ != '.')
		return false;
	if (!parse_number(&p, &v.patch))
		return false;
	if (*p == '-') {
		pre = ++p;
		while (*p && *p != '+')
			p++;
		pre_len = (size_t)(p - pre);
		if (pre_len > SEMVER_LABEL_MAX || !valid_identifiers(pre, pre_len, true))
			return false;
	}
	if (*p == '+') {
		build = ++p;
		build_len = strlen(p);
		if (build_len > SEMVER_LABEL_MAX || !valid_identifiers(build, build_len, false))
			return false;
		p += build_len;
	}
	if (*p)
		return false;
	if (pre)
		memcpy(v.prerelease, pre, pre_len);
	if (build)
		memcpy(v.build, build, build_len);
	*out = v;
	return true;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Length of the identifier starting at s (up to '.' or the end) and whether it is numeric. */
static size_t ident_len(const char *s, bool *is_numeric)
{
	size_t n = 0;

	*is_numeric = true;
	for (; s[n] && s[n] != '.'; n++) {
		if (!is_digit(s[n]))
			*is_numeric = false;
	}
	return n;
}

static int cmp_prerelease(const char *a, const char *b)
{
	/* A version without prerelease has higher precedence. */
	if (!*a || !*b)
		return !*a - !*b;
	for (;;) {
		bool an, bn;
		size_t al = ident_len(a, &an), bl = ident_len(b, &bn);
		int c;

		if (an && bn) {
			/* No leading zeros: the longer number is larger. */
			c = al != bl ? (al < bl ? -1 : 1) : memcmp(a, b, al);
		} else if (an != bn) {
			c = an ? -1 : 1; /* numeric identifiers sort before alphanumeric ones */
		} else {
			c = memcmp(a, b, al < bl ? al : bl);
			if (c == 0)
				c = al < bl ? -1 : al > bl;
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += al;
		b += bl;
		if (!*a || !*b)
			return !!*a - !!*b; /* more identifiers, higher precedence */
		a++;
		b++;
	}
}

int semver_compare(const struct semver *a, const struct semver *b)
{
	int c = cmp_u64(a->major, b->major);

	if (!c)
		c = cmp_u64(a->minor, b->minor);
	if (!c)
		c = cmp_u64(a->patch, b->patch);
	if (!c)
		c = cmp_prerelease(a->prerelease, b->prerelease);
	return c;
}

bool semver_format(const struct semver *v, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%" PRIu64 ".%" PRIu64 ".%" PRIu64 "%s%s%s%s", v->major,
			 v->minor, v->patch, *v->prerelease ? "-" : "", v->prerelease,
			 *v->build ? "+" : "", v->build);
	return n >= 0 && (size_t)n < outlen;
}

bool semver_sort_key_of(const struct semver *v, char *out, size_t outlen)
{
	const char *p = v->prerelease;
	size_t o;
	int n;

	n = snprintf(out, outlen, "%020" PRIu64 ".%020" PRIu64 ".%020" PRIu64 "%c", v->major,
		     v->minor, v->patch, *p ? '-' : '~');
	if (n < 0 || (size_t)n >= outlen)
		return false;
	o = (size_t)n;
	while (*p) {
		bool is_numeric;
		size_t len = ident_len(p, &is_numeric);
		size_t need = len + (is_numeric ? 3 : 1);

		/* Identifiers are at most SEMVER_LABEL_MAX bytes, so the length fits two digits. */
		if (len > 99 || o + need >= outlen)
			return false;
		if (is_numeric) {
			out[o++] = '#';
			out[o++] = (char)('0' + len / 10);
			out[o++] = (char)('0' + len % 10);
		} else {
			out[o++] = '+';
		}
		memcpy(out + o, p, len);
		o += len;
		p += len;
		if (*p == '.')
			p++;
	}
	out[o] = '\0';
	return true;
}

bool semver_sort_key(const char *version, char *out, size_t outlen)
{
	struct semver v;

	if (!semver_parse(version, &v))
		return false;
	return semver_sort_key_of(&v, out, outlen);
}
