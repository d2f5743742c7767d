#include "firmware/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static int cmp_keys(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	/* byte order of the UTF-8 text: strcmp compares as unsigned char */
	return strcmp(x, y);
}

static bool put_string(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	bool ok = buf_append(out, "\"", 1);

	for (size_t i = 0; i < len && ok; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		switch (c) {
		case '"':
			ok = buf_append(out, "\\\"", 2);
			break;
		case '\\':
			ok = buf_append(out, "\\\\", 2);
			break;
		case '\b':
			ok = buf_append(out, "\\b", 2);
			break;
		case '\t':
			ok = buf_append(out, "\\t", 2);
			break;
		case '\n':
			ok = buf_append(out, "\\n", 2);
			break;
		case '\f':
			ok = buf_append(out, "\\f", 2);
			break;
		case '\r':
			ok = buf_append(out, "\\r", 2);
			break;
		default:
			if (c < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				ok = buf_append(out, esc, 6);
			} else {
				ok = buf_append(out, (const char *)&s[i], 1);
			}
		}
	}
	return ok && buf_append(out, "\"", 1);
}

static bool put_value(struct buf *out, const json_t *v, int depth)
{
	char num[32];

	if (depth > 64)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return buf_append(out, "null", 4);
	case JSON_TRUE:
		return buf_append(out, "true", 4);
	case JSON_FALSE:
		return buf_append(out, "false", 5);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_append(out, num, strlen(num));
	case JSON_REAL:
		return false;
	case JSON_STRING:
		return put_string(out, json_string_value(v), json_string_length(v));
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		if (!buf_append(out, "[", 1))
			return false;
		json_array_foreach(v, i, e) {
			if ((i && !buf_append(out, ",", 1)) || !put_value(out, e, depth + 1))
				return false;
		}
		return buf_append(out, "]", 1);
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
		const char *k;
		json_t *e;
		bool ok = true;
		if (n && !keys)
			return false;
		json_object_foreach((json_t *)v, k, e) {
			keys[i++] = k;
		}
		if (n)
			qsort(keys, n, sizeof(*keys), cmp_keys);
		ok = buf_append(out, "{", 1);
		for (i = 0; i < n && ok; i++) {
			ok = (!i || buf_append(out, ",", 1)) &&
			     put_string(out, keys[i], strlen(keys[i])) && buf_append(out, ":", 1) &&
			     put_value(out, json_object_get(v, keys[i]), depth + 1);
		}
		free(keys);
		return ok && buf_append(out, "}", 1);
	}
	}
	return false;
}

char *manifest_canonical(const json_t *v, size_t *len)
{
	struct buf out;
	char *text;

	buf_init(&out);
	if (!v || !put_value(&out, v, 0) || !out.data) {
		buf_cleanup(&out);
		return NULL;
	}
	if (len)
		*len = out.len;
	text = buf_take(&out);
	return text;
}

static int cmp_artifacts(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return strcmp(json_string_value(json_object_get(x, "name")),
		      json_string_value(json_object_get(y, "name")));
}

static int cmp_json_strings(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

json_t *manifest_build(const json_t *release, const char *key_id, const char *algorithm,
		       const char *created_at)
{
	json_t *m = NULL, *arts = NULL, *hws = NULL, *ordered = NULL, *src_arts, *src_hws, *e;
	json_t **sorted = NULL;
	size_t i, n;
	const json_t *minv;

	src_arts = json_object_get(release, "artifacts");
	src_hws = json_object_get(release, "hardware_types");
	minv = json_object_get(release, "min_version");
	if (!json_is_array(src_arts) || !json_is_array(src_hws) ||
	    !json_is_string(json_object_get(release, "id")) ||
	    !json_is_string(json_object_get(release, "product")) ||
	    !json_is_string(json_object_get(release, "firmware_version")) ||
	    !json_is_integer(json_object_get(release, "security_version")) ||
	    !(json_is_null(minv) || json_is_string(minv)) || !key_id || !algorithm || !created_at)
		return NULL;
	arts = json_array();
	hws = json_array();
	n = json_array_size(src_arts) > json_array_size(src_hws) ? json_array_size(src_arts)
								 : json_array_size(src_hws);
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!arts || !hws || !sorted)
		goto fail;
	json_array_foreach(src_hws, i, e) {
		if (!json_is_string(e))
			goto fail;
		sorted[i] = e;
	}
	qsort(sorted, json_array_size(src_hws), sizeof(*sorted), cmp_json_strings);
	for (i = 0; i < json_array_size(src_hws); i++)
		if (json_array_append(hws, sorted[i]) != 0)
			goto fail;
	json_array_foreach(src_arts, i, e) {
		json_t *a = json_pack("{s:O, s:O, s:O, s:O}", "name", json_object_get(e, "name"),
				      "type", json_object_get(e, "type"), "size_bytes",
				      json_object_get(e, "size_bytes"), "sha256",
				      json_object_get(e, "sha256"));
		if (!a || !json_is_string(json_object_get(a, "name"))) {
			json_decref(a);
			goto fail;
		}
		sorted[i] = a;
		if (json_array_append_new(arts, a) != 0)
			goto fail;
	}
	qsort(sorted, json_array_size(src_arts), sizeof(*sorted), cmp_artifacts);
	ordered = json_array();
	if (!ordered)
		goto fail;
	for (i = 0; i < json_array_size(src_arts); i++)
		if (json_array_append(ordered, sorted[i]) != 0)
			goto fail;
	m = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:s, s:s}", "format",
		      MANIFEST_FORMAT, "release_id", json_object_get(release, "id"), "product",
		      json_object_get(release, "product"), "version",
		      json_object_get(release, "firmware_version"), "security_version",
		      json_object_get(release, "security_version"), "min_version", minv,
		      "hardware_types", hws, "artifacts", ordered, "created_at", created_at,
		      "key_id", key_id, "algorithm", algorithm);
fail:
	free(sorted);
	json_decref(ordered);
	json_decref(arts);
	json_decref(hws);
	return m;
}

char *manifest_payload(const json_t *manifest, size_t *len)
{
	json_t *copy = json_copy((json_t *)manifest);
	char *text;

	if (!copy)
		return NULL;
	json_object_del(copy, "signature");
	text = manifest_canonical(copy, len);
	json_decref(copy);
	return text;
}

json_t *manifest_parse(const char *text, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *m, *arts, *a;
	size_t i;
	static const char *const strings[] = { "format",    "key_id",	  "algorithm",
					       "signature", "release_id", "version" };

	if (len > MANIFEST_MAX_LEN) {
		snprintf(why, whylen, "manifest larger than %d bytes", MANIFEST_MAX_LEN);
		return NULL;
	}
	m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m) {
		snprintf(why, whylen, "manifest is not JSON (line %d, column %d: %s)", jerr.line,
			 jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(m)) {
		snprintf(why, whylen, "manifest is not a JSON object");
		goto fail;
	}
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (!json_is_string(json_object_get(m, strings[i]))) {
			snprintf(why, whylen, "manifest field '%s' is missing or not a string",
				 strings[i]);
			goto fail;
		}
	}
	if (strcmp(json_string_value(json_object_get(m, "format")), MANIFEST_FORMAT) != 0) {
		snprintf(why, whylen, "unknown manifest format '%.64s'",
			 json_string_value(json_object_get(m, "format")));
		goto fail;
	}
	arts = json_object_get(m, "artifacts");
	if (!json_is_array(arts)) {
		snprintf(why, whylen, "manifest field 'artifacts' is not an array");
		goto fail;
	}
	json_array_foreach(arts, i, a) {
		if (!json_is_string(json_object_get(a, "name")) ||
		    !json_is_string(json_object_get(a, "sha256")) ||
		    !json_is_integer(json_object_get(a, "size_bytes"))) {
			snprintf(why, whylen,
				 "manifest artifact %zu lacks name, sha256 or size_bytes", i);
			goto fail;
		}
	}
	return m;
fail:
	json_decref(m);
	return NULL;
}
