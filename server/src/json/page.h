/* Cursor pagination helpers: the limit query parameter and opaque cursors.
 * A cursor is PAGE_CURSOR_PREFIX followed by the unpadded base64url of a compact JSON array of
 * sort-key values (strings or integers) of the last row returned, e.g. ["thing-0042"] or
 * [1234,"x"]. PURE: libc + jansson. */
#ifndef BW_JSON_PAGE_H
#define BW_JSON_PAGE_H

#include <stddef.h>

#include <jansson.h>

#define PAGE_CURSOR_PREFIX "v1." /* version of the cursor format */
#define PAGE_CURSOR_MAX 1024	 /* longest cursor, in characters */

/* Parse a limit parameter. s NULL (parameter absent) gives def. Otherwise s must be decimal
 * digits only with a value in 1..max. Returns 0 and sets *out, or -1 (out untouched) if invalid. */
int page_limit_parse(const char *s, int def, int max, int *out);

/* Encode keys (borrowed; a non-empty JSON array of strings and integers) as a cursor.
 * Returns a new string (caller frees), or NULL if keys is not such an array, the cursor would be
 * longer than PAGE_CURSOR_MAX, or on OOM. */
char *page_cursor_encode(const json_t *keys);

/* Decode a cursor into its array of keys (new reference, caller decrefs). Returns NULL if cursor
 * is NULL, longer than PAGE_CURSOR_MAX, of another version, not valid base64url or JSON, or not a
 * non-empty array of at most max_keys strings and integers. The caller checks the expected count
 * and types of the keys. */
json_t *page_cursor_decode(const char *cursor, size_t max_keys);

#endif
