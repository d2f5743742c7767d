/* Growable byte buffer. A failed allocation sets is_oom and later appends become no-ops. */
#ifndef BW_CORE_BUF_H
#define BW_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max; /* 0 = unlimited; appends past max set is_over */
	bool is_oom;
	bool is_over;
};

void buf_init(struct buf *b);
void buf_cleanup(struct buf *b);
/* Append bytes; returns false on OOM or when max would be exceeded. */
bool buf_append(struct buf *b, const void *data, size_t len);
bool buf_puts(struct buf *b, const char *s);
bool buf_putc(struct buf *b, char c);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal with quotes and escapes. */
bool buf_json_str(struct buf *b, const char *s);
/* Take ownership of the data (caller frees); the buf is reset. */
char *buf_take(struct buf *b);

#endif
