/*
 * Fleet queries over shadows (issue 4, GET /api/v1/shadows/query): the JSON path, operator and
 * value of a query, parsed and checked before any SQL is built. PURE: libc + jansson.
 */
#ifndef BW_SHADOW_QUERY_H
#define BW_SHADOW_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define SHADOW_QUERY_MAX_SEGMENTS 8 /* path segments (documents nest at most 6 below a section) */
#define SHADOW_QUERY_MAX_SEGMENT_BYTES 128 /* bytes per segment */
#define SHADOW_QUERY_MAX_VALUE_BYTES 8192  /* the value parameter (a state is at most 30 KiB) */

enum shadow_query_op {
	SHADOW_QUERY_EQ = 0,	 /* reported at path equals value */
	SHADOW_QUERY_NE,	 /* reported at path is missing or differs from value */
	SHADOW_QUERY_NE_DESIRED, /* desired at path is set and reported differs (path in delta) */
	SHADOW_QUERY_EQ_DESIRED, /* desired at path is set and reported matches it */
};

/* "eq", "ne", "ne_desired", "eq_desired". */
bool shadow_query_op_parse(const char *s, enum shadow_query_op *out);
const char *shadow_query_op_name(enum shadow_query_op op);
/* True for the operators that compare with the value parameter (eq, ne). */
bool shadow_query_op_needs_value(enum shadow_query_op op);

/*
 * Parse a path into a new JSON array of string segments (for Postgres' #> operator). Two forms:
 * dotted "firmware.version" (segments split on '.', none empty) or a JSON pointer
 * "/firmware/version" (RFC 6901: ~1 is '/', ~0 is '~', empty segments allowed). Numeric segments
 * index arrays. NULL or "" gives an empty array (the whole section). At most
 * SHADOW_QUERY_MAX_SEGMENTS segments of 1..SHADOW_QUERY_MAX_SEGMENT_BYTES bytes (pointer
 * segments may be empty) of valid UTF-8 without control characters. On error returns NULL and
 * writes a message to err (errlen bytes); NULL with err[0] == '\0' means allocation failure.
 */
json_t *shadow_query_path_parse(const char *path, char *err, size_t errlen);

/*
 * The comparison value: the text parsed as JSON when it is valid JSON (so 3, true, "3",
 * {"a":1} keep their types), otherwise the text itself as a JSON string (so value=1.2.0 means
 * "1.2.0"). At most SHADOW_QUERY_MAX_VALUE_BYTES bytes of valid UTF-8. Returns a new reference,
 * or NULL (err set; err[0] == '\0' for allocation failure).
 */
json_t *shadow_query_value_parse(const char *text, char *err, size_t errlen);

#endif
