#include "json/page.h"

#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"

int page_limit_parse(const char *s, int def, int max, int *out)
{
	long v = 0;

	if (!s) {
		*out = def;
		return 0;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1; /* also stops overflow */
	}
	if (v < 1)
		return -1;
	*out = (int)v;
	return 0;
}

/* True if keys is a non-empty array of at most max_keys strings and integers. */
static bool is_key_array(const json_t *keys, size_t max_keys)
{
	size_t i, n;

	if (!json_is_array(keys))
		return false;
	n = json_array_size(keys);
	if (n == 0 || n > max_keys)
		return false;
	for (i = 0; i < n; i++) {
		const json_t *k = json_array_get(keys, i);
		if (!json_is_string(k) && !json_is_integer(k))
			return false;
	}
	return true;
}

char *page_cursor_encode(const json_t *keys)
{
	const size_t prefix_len = strlen(PAGE_CURSOR_PREFIX);
	char *json = NULL, *b64 = NULL, *out = NULL;
	size_t b64_len;

	if (!is_key_array(keys, (size_t)-1))
		return NULL;
	json = json_dumps(keys, JSON_COMPACT);
	if (!json)
		goto out;
	b64 = strutil_b64url_encode(json, strlen(json));
	if (!b64)
		goto out;
	b64_len = strlen(b64);
	if (prefix_len + b64_len > PAGE_CURSOR_MAX)
		goto out;
	out = malloc(prefix_len + b64_len + 1);
	if (!out)
		goto out;
	memcpy(out, PAGE_CURSOR_PREFIX, prefix_len);
	memcpy(out + prefix_len, b64, b64_len + 1);
out:
	free(json);
	free(b64);
	return out;
}

json_t *page_cursor_decode(const char *cursor, size_t max_keys)
{
	const size_t prefix_len = strlen(PAGE_CURSOR_PREFIX);
	void *raw = NULL;
	size_t raw_len = 0;
	json_t *keys = NULL;
	json_error_t jerr;

	if (!cursor || strnlen(cursor, PAGE_CURSOR_MAX + 1) > PAGE_CURSOR_MAX)
		return NULL;
	if (strncmp(cursor, PAGE_CURSOR_PREFIX, prefix_len) != 0)
		return NULL;
	if (!strutil_b64url_decode(cursor + prefix_len, &raw, &raw_len))
		return NULL;
	/* jansson rejects embedded NULs, invalid UTF-8 and trailing garbage */
	keys = json_loadb(raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (!is_key_array(keys, max_keys)) {
		json_decref(keys);
		return NULL;
	}
	return keys;
}
