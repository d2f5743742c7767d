/* HTTP Range requests (RFC 9110 section 14) for file downloads: one byte range at most.
 * PURE: libc. */
#ifndef BW_HTTP_RANGE_H
#define BW_HTTP_RANGE_H

#include <stdint.h>

enum range_result {
	RANGE_FULL = 0,	     /* no usable Range header: send the whole file (200) */
	RANGE_PARTIAL,	     /* one satisfiable range: 206 with *start, *length */
	RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * / size */
};

/* Interpret a Range header value (NULL = absent) for a representation of size bytes.
 * "bytes=a-b", "bytes=a-" and "bytes=-n" are understood (whitespace around them tolerated);
 * syntax errors, other units and multiple ranges are ignored (RANGE_FULL), as RFC 9110 allows.
 * An end past the last byte is clamped; a start at or beyond size, or a zero-length suffix, is
 * unsatisfiable. */
enum range_result range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *length);

#endif
