/*
 * Compact JSON text for shadow documents. Like json_dumps(JSON_COMPACT) except that a real
 * number is written with the shortest text that reads back as the same double ("0.1", never
 * "0.10000000000000001"), so devices get back the numbers they sent and the size rule of spec
 * 6.7 counts what a client would count. Strings are written as UTF-8 (jansson holds only valid
 * UTF-8), with ", \ and control characters escaped. Object members keep insertion order.
 * PURE: libc + jansson (+ core/buf).
 */
#ifndef BW_SHADOW_DUMP_H
#define BW_SHADOW_DUMP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"

/*
 * For text stored in a Postgres jsonb column: reals whose shortest form has a positive exponent
 * ("1e+23") are written in fixed notation with ".0" ("99999999999999991611392.0"). jsonb keeps
 * numbers as numeric and prints them without exponent, so "1e+23" would come back as an
 * integer too large for jansson; with a decimal point it comes back as the same double.
 */
#define SHADOW_DUMP_DB 0x1u

/* Append the JSON text of v (borrowed; any JSON value) to out; flags: 0 or SHADOW_DUMP_DB.
 * False on allocation failure (out->is_oom) or when out->max would be exceeded. */
bool shadow_dump(const json_t *v, unsigned flags, struct buf *out);

/* The JSON text of v as a new NUL-terminated string (caller frees); *len (if not NULL) gets its
 * length. NULL on allocation failure. */
char *shadow_dumps(const json_t *v, unsigned flags, size_t *len);

/* Length in bytes of shadow_dump's text for v, without building it. */
size_t shadow_dump_size(const json_t *v);

#endif
