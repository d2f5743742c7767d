#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_cleanup(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct buf *b, size_t extra)
{
	if (b->is_oom || b->is_over)
		return false;
	if (b->max && b->len + extra > b->max) {
		b->is_over = true;
		return false;
	}
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > ((size_t)-1) / 2) {
			b->is_oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		b->is_oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

bool buf_append(struct buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return false;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

bool buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

bool buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if (!reserve(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

bool buf_json_str(struct buf *b, const char *s)
{
	bool ok = buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++) {
		switch (*p) {
		case '"':
			ok = buf_puts(b, "\\\"");
			break;
		case '\\':
			ok = buf_puts(b, "\\\\");
			break;
		case '\n':
			ok = buf_puts(b, "\\n");
			break;
		case '\r':
			ok = buf_puts(b, "\\r");
			break;
		case '\t':
			ok = buf_puts(b, "\\t");
			break;
		default:
			if (*p < 0x20)
				ok = buf_printf(b, "\\u%04x", *p);
			else
				ok = buf_putc(b, (char)*p);
		}
	}
	return ok && buf_putc(b, '"');
}

char *buf_take(struct buf *b)
{
	char *p = b->data;
	if (!p)
		p = calloc(1, 1);
	memset(b, 0, sizeof(*b));
	return p;
}
