#include "agent_semver.h"

#include <ctype.h>
#include <string.h>

/* Parses a numeric identifier without leading zeros; advances *p. */
static bool parse_num(const char **p, unsigned long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return false;
	while (isdigit((unsigned char)*s)) {
		if (v > (~0ULL - 9) / 10)
			return false;
		v = v * 10 + (unsigned long long)(*s - '0');
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

/* Validates dot-separated identifiers up to '+' or end; returns the end pointer or NULL. */
static const char *scan_idents(const char *s, bool is_pre)
{
	for (;;) {
		const char *start = s;
		bool is_numeric = true;

		while (isalnum((unsigned char)*s) || *s == '-') {
			if (!isdigit((unsigned char)*s))
				is_numeric = false;
			s++;
		}
		if (s == start)
			return NULL;
		if (is_pre && is_numeric && start[0] == '0' && s - start > 1)
			return NULL;
		if (*s != '.')
			return s;
		s++;
	}
}

struct parsed {
	unsigned long long v[3];
	const char *pre; /* NULL when absent */
	size_t pre_len;
};

static bool parse(const char *s, struct parsed *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return false;
	for (i = 0; i < 3; i++) {
		if (!parse_num(&s, &out->v[i]))
			return false;
		if (i < 2 && *s++ != '.')
			return false;
	}
	if (*s == '-') {
		const char *end = scan_idents(s + 1, true);

		if (end == NULL)
			return false;
		out->pre = s + 1;
		out->pre_len = (size_t)(end - out->pre);
		s = end;
	}
	if (*s == '+') {
		s = scan_idents(s + 1, false);
		if (s == NULL)
			return false;
	}
	return *s == '\0';
}

bool agent_semver_is_valid(const char *s)
{
	struct parsed p;

	return parse(s, &p);
}

/* Compares one pre-release identifier each: numeric < alphanumeric, numbers numerically. */
static int cmp_ident(const char *a, size_t alen, const char *b, size_t blen)
{
	bool an = true, bn = true;
	size_t i;
	int c;

	for (i = 0; i < alen; i++)
		an = an && isdigit((unsigned char)a[i]);
	for (i = 0; i < blen; i++)
		bn = bn && isdigit((unsigned char)b[i]);
	if (an && bn) {
		if (alen != blen)
			return alen < blen ? -1 : 1;
		c = memcmp(a, b, alen);
		return c < 0 ? -1 : c > 0;
	}
	if (an != bn)
		return an ? -1 : 1;
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

bool agent_semver_cmp(const char *a, const char *b, int *out)
{
	struct parsed pa, pb;
	const char *x, *y, *xe, *ye;
	int i;

	if (!parse(a, &pa) || !parse(b, &pb))
		return false;
	for (i = 0; i < 3; i++) {
		if (pa.v[i] != pb.v[i]) {
			*out = pa.v[i] < pb.v[i] ? -1 : 1;
			return true;
		}
	}
	if (pa.pre == NULL || pb.pre == NULL) {
		*out = (pa.pre == NULL) == (pb.pre == NULL) ? 0 : (pa.pre == NULL ? 1 : -1);
		return true;
	}
	x = pa.pre;
	xe = pa.pre + pa.pre_len;
	y = pb.pre;
	ye = pb.pre + pb.pre_len;
	for (;;) {
		const char *xd = memchr(x, '.', (size_t)(xe - x));
		const char *yd = memchr(y, '.', (size_t)(ye - y));
		size_t xl = (size_t)((xd ? xd : xe) - x), yl = (size_t)((yd ? yd : ye) - y);
		int c = cmp_ident(x, xl, y, yl);

		if (c != 0) {
			*out = c;
			return true;
		}
		if (xd == NULL || yd == NULL) {
			*out = (xd == NULL) == (yd == NULL) ? 0 : (xd == NULL ? -1 : 1);
			return true;
		}
		x = xd + 1;
		y = yd + 1;
	}
}
