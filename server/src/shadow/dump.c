#include "shadow/dump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the text goes: a buffer, or nowhere (counting only). */
struct sink {
	struct buf *out; /* NULL = count only */
	size_t len;
	unsigned flags;
	bool is_failed;
};

static void put(struct sink *s, const char *p, size_t n)
{
	s->len += n;
	if (s->out && !s->is_failed && !buf_append(s->out, p, n))
		s->is_failed = true;
}

static void put_string(struct sink *s, const char *str, size_t len)
{
	size_t run = 0; /* start of the pending unescaped run */

	put(s, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		char esc[8];
		const char *e = NULL;

		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				e = esc;
			}
		}
		if (!e)
			continue;
		put(s, str + run, i - run);
		put(s, e, strlen(e));
		run = i + 1;
	}
	put(s, str + run, len - run);
	put(s, "\"", 1);
}

/* Shortest of %.15g, %.16g, %.17g that reads back as r; always looks like a real ("1.0"). */
static void put_real(struct sink *s, double r)
{
	char text[400]; /* "%.1f" of DBL_MAX: 309 digits, sign, ".0" */

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(text, sizeof(text), "%.*g", prec, r);
		if (strtod(text, NULL) == r)
			break;
	}
	if ((s->flags & SHADOW_DUMP_DB) && strpbrk(text, "eE") && (r >= 1.0 || r <= -1.0))
		snprintf(text, sizeof(text), "%.1f", r); /* exact decimal expansion: same double */
	else if (!strpbrk(text, ".eEn")) /* "n": inf/nan cannot occur in jansson, kept as is */
		strcat(text, ".0");
	put(s, text, strlen(text));
}

/* Decimal integer without printf (metadata is full of timestamps). */
static void put_integer(struct sink *s, json_int_t i)
{
	char num[24];
	char *p = num + sizeof(num);
	/* magnitude as unsigned: also right for the most negative value */
	unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (i < 0)
		*--p = '-';
	put(s, p, (size_t)(num + sizeof(num) - p));
}

static void put_value(struct sink *s, const json_t *v)
{

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *child;
		bool is_first = true;

		put(s, "{", 1);
		json_object_foreach((json_t *)v, key, child) {
			if (!is_first)
				put(s, ",", 1);
			is_first = false;
			put_string(s, key, strlen(key));
			put(s, ":", 1);
			put_value(s, child);
		}
		put(s, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);

		put(s, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				put(s, ",", 1);
			put_value(s, json_array_get(v, i));
		}
		put(s, "]", 1);
		break;
	}
	case JSON_STRING:
		put_string(s, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_integer(s, json_integer_value(v));
		break;
	case JSON_REAL:
		put_real(s, json_real_value(v));
		break;
	case JSON_TRUE:
		put(s, "true", 4);
		break;
	case JSON_FALSE:
		put(s, "false", 5);
		break;
	default:
		put(s, "null", 4);
	}
}

bool shadow_dump(const json_t *v, unsigned flags, struct buf *out)
{
	struct sink s = { .out = out, .flags = flags };

	if (!v)
		return false;
	put_value(&s, v);
	return !s.is_failed;
}

char *shadow_dumps(const json_t *v, unsigned flags, size_t *len)
{
	struct buf b;

	buf_init(&b);
	if (!shadow_dump(v, flags, &b) || !b.data) {
		buf_cleanup(&b);
		return NULL;
	}
	if (len)
		*len = b.len;
	return buf_take(&b);
}

size_t shadow_dump_size(const json_t *v)
{
	struct sink s = { .out = NULL };

	if (v)
		put_value(&s, v);
	return s.len;
}
