#include "http/range.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Parse decimal digits at *p into *out; false on no digits or overflow. */
static bool parse_u64(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

enum range_result range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *length)
{
	const char *p;
	uint64_t a = 0, b = 0;
	bool has_a, has_b;

	*start = 0;
	*length = size;
	if (!header)
		return RANGE_FULL;
	p = skip_ws(header);
	if (strncasecmp(p, "bytes", 5) != 0)
		return RANGE_FULL;
	p = skip_ws(p + 5);
	if (*p != '=')
		return RANGE_FULL;
	p = skip_ws(p + 1);
	if (strchr(p, ','))
		return RANGE_FULL; /* several ranges: we send the whole file instead */
	has_a = parse_u64(&p, &a);
	p = skip_ws(p);
	if (*p != '-')
		return RANGE_FULL;
	p = skip_ws(p + 1);
	has_b = parse_u64(&p, &b);
	p = skip_ws(p);
	if (*p || (!has_a && !has_b))
		return RANGE_FULL;
	if (!has_a) { /* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		*length = b < size ? b : size;
		*start = size - *length;
		return RANGE_PARTIAL;
	}
	if (has_b && b < a)
		return RANGE_FULL; /* invalid range-spec: ignored */
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	if (!has_b || b >= size)
		b = size - 1;
	*start = a;
	*length = b - a + 1;
	return RANGE_PARTIAL;
}
