/*
 * The small CBOR subset (RFC 8949) the MQTT file-streams protocol needs (spec 9.3): an encoder
 * for unsigned/negative integers, byte and text strings, arrays, maps and simple values, and a
 * bounded pull reader that decodes every well-formed item (including indefinite lengths, tags
 * and floats, so that unknown map values can be skipped). Canonical (shortest) heads are
 * written; any head length is read. PURE: libc only.
 */
#ifndef BW_JOBS_CBOR_H
#define BW_JOBS_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Deepest nesting jobs_cbor_skip() follows (deeper input is rejected, never recursed into). */
#define JOBS_CBOR_MAX_DEPTH 16

/* Encoders: append one item (or, for arrays and maps, the head announcing n items / pairs) to
 * b. Return false when b is out of memory or over its max. */
bool jobs_cbor_put_uint(struct buf *b, uint64_t v);
bool jobs_cbor_put_int(struct buf *b, int64_t v);
bool jobs_cbor_put_bytes(struct buf *b, const void *data, size_t len);
bool jobs_cbor_put_text(struct buf *b, const char *s, size_t len);
bool jobs_cbor_put_array(struct buf *b, size_t n);
bool jobs_cbor_put_map(struct buf *b, size_t n);
bool jobs_cbor_put_bool(struct buf *b, bool v);
bool jobs_cbor_put_null(struct buf *b);

enum jobs_cbor_type {
	JOBS_CBOR_UINT,	  /* major 0: value */
	JOBS_CBOR_NEGINT, /* major 1: the integer is -1 - value */
	JOBS_CBOR_BYTES,  /* major 2 */
	JOBS_CBOR_TEXT,	  /* major 3 */
	JOBS_CBOR_ARRAY,  /* major 4: value = item count (definite) */
	JOBS_CBOR_MAP,	  /* major 5: value = pair count (definite) */
	JOBS_CBOR_TAG,	  /* major 6: value = tag number; the tagged item follows */
	JOBS_CBOR_SIMPLE, /* major 7: value = simple value (20 false, 21 true, 22 null, ...) */
	JOBS_CBOR_FLOAT,  /* major 7, 16/32/64-bit float: value = the raw bits */
	JOBS_CBOR_BREAK,  /* 0xff: end of an indefinite-length item */
};

/* Reader over data[0..len) (borrowed). */
struct jobs_cbor_reader {
	const uint8_t *p;
	const uint8_t *end;
};

/* One item head. For definite strings, data/value give the content (borrowed from the input). */
struct jobs_cbor_item {
	enum jobs_cbor_type type;
	uint64_t value;
	const uint8_t *data; /* BYTES/TEXT, definite: the content (value bytes) */
	bool is_indefinite;  /* BYTES/TEXT/ARRAY/MAP of indefinite length */
};

void jobs_cbor_reader_init(struct jobs_cbor_reader *r, const void *data, size_t len);

/* Read the next item head (and, for definite strings, skip over their content). False on
 * malformed or truncated input (reserved additional info 28-30, indefinite length on a major
 * type that has none, a string longer than the input). */
bool jobs_cbor_next(struct jobs_cbor_reader *r, struct jobs_cbor_item *it);

/* Skip what follows a head just read (array items, map pairs, the tagged item, indefinite
 * string chunks), recursively up to JOBS_CBOR_MAX_DEPTH. False on malformed input. */
bool jobs_cbor_skip_body(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it);

/* Read one whole item (head and body) and discard it. */
bool jobs_cbor_skip(struct jobs_cbor_reader *r);

/* The content of a BYTES or TEXT item whose head was just read (it), definite or indefinite
 * (chunks of the same major type, concatenated), appended to out (respecting out->max).
 * False on malformed input, a chunk of another type, or when out overflows. */
bool jobs_cbor_read_string(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it,
			   struct buf *out);

/* True when the reader consumed all input. */
bool jobs_cbor_at_end(const struct jobs_cbor_reader *r);

#endif
