#include "shadow/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"

static const char *const op_names[] = { "eq", "ne", "ne_desired", "eq_desired" };

bool shadow_query_op_parse(const char *s, enum shadow_query_op *out)
{
	for (size_t i = 0; s && i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*out = (enum shadow_query_op)i;
			return true;
		}
	}
	return false;
}

const char *shadow_query_op_name(enum shadow_query_op op)
{
	if ((unsigned)op >= sizeof(op_names) / sizeof(op_names[0]))
		return "?";
	return op_names[op];
}

bool shadow_query_op_needs_value(enum shadow_query_op op)
{
	return op == SHADOW_QUERY_EQ || op == SHADOW_QUERY_NE;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return true;
		/* U+0080..U+009F are C2 80..C2 9F in UTF-8 */
		if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F)
			return true;
	}
	return false;
}

/* Append segment s[0..n) (pointer form: unescaped first) to arr. */
static bool add_segment(json_t *arr, const char *s, size_t n, bool is_pointer, char *err,
			size_t errlen)
{
	char seg[SHADOW_QUERY_MAX_SEGMENT_BYTES + 1];
	size_t len = 0;

	if (json_array_size(arr) >= SHADOW_QUERY_MAX_SEGMENTS) {
		snprintf(err, errlen, "path has more than %d segments", SHADOW_QUERY_MAX_SEGMENTS);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (is_pointer && c == '~') {
			if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1')) {
				snprintf(err, errlen, "path: '~' must be followed by 0 or 1");
				return false;
			}
			c = s[i + 1] == '0' ? '~' : '/';
			i++;
		}
		if (len >= SHADOW_QUERY_MAX_SEGMENT_BYTES) {
			snprintf(err, errlen, "path segments are at most %d bytes",
				 SHADOW_QUERY_MAX_SEGMENT_BYTES);
			return false;
		}
		seg[len++] = c;
	}
	seg[len] = '\0';
	if (len == 0 && !is_pointer) {
		snprintf(err, errlen, "path has an empty segment");
		return false;
	}
	if (!strutil_is_utf8(seg, len) || memchr(seg, '\0', len) || has_control(seg, len)) {
		snprintf(err, errlen, "path must be UTF-8 text without control characters");
		return false;
	}
	if (json_array_append_new(arr, json_stringn(seg, len)) < 0) {
		err[0] = '\0';
		return false;
	}
	return true;
}

json_t *shadow_query_path_parse(const char *path, char *err, size_t errlen)
{
	json_t *arr = json_array();
	bool is_pointer;
	const char *p;

	if (errlen)
		err[0] = '\0';
	if (!arr)
		return NULL;
	if (!path || !*path)
		return arr;
	is_pointer = path[0] == '/';
	p = is_pointer ? path + 1 : path;
	for (;;) {
		size_t n = strcspn(p, is_pointer ? "/" : ".");

		if (!add_segment(arr, p, n, is_pointer, err, errlen)) {
			json_decref(arr);
			return NULL;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return arr;
}

json_t *shadow_query_value_parse(const char *text, char *err, size_t errlen)
{
	size_t n;
	json_t *v;

	if (errlen)
		err[0] = '\0';
	if (!text) {
		snprintf(err, errlen, "value is required");
		return NULL;
	}
	n = strlen(text);
	if (n > SHADOW_QUERY_MAX_VALUE_BYTES) {
		snprintf(err, errlen, "value is longer than %d bytes",
			 SHADOW_QUERY_MAX_VALUE_BYTES);
		return NULL;
	}
	if (!strutil_is_utf8(text, n)) {
		snprintf(err, errlen, "value must be UTF-8");
		return NULL;
	}
	v = json_loadb(text, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (v)
		return v;
	v = json_stringn(text, n);
	if (!v)
		err[0] = '\0';
	return v;
}
