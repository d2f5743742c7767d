#include "jobs/document.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "jobs/text.h"

#define PH JOBS_DOCUMENT_PLACEHOLDER
#define PH_LEN (sizeof(PH) - 1)

enum jobs_err jobs_document_parse(const char *text, size_t len, json_t **out, char *msg,
				  size_t msg_cap)
{
	json_error_t jerr;
	size_t chars;
	json_t *doc;

	if (out)
		*out = NULL;
	if (!text || !jobs_text_utf8_count(text, len, &chars)) {
		if (msg)
			snprintf(msg, msg_cap, "document is not valid UTF-8");
		return JOBS_ERR_INVALID_REQUEST;
	}
	if (chars > JOBS_DOCUMENT_MAX_CHARS) {
		if (msg)
			snprintf(msg, msg_cap, "document is longer than %d characters",
				 JOBS_DOCUMENT_MAX_CHARS);
		return JOBS_ERR_INVALID_REQUEST;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return JOBS_ERR_INTERNAL;
		if (msg)
			snprintf(msg, msg_cap, "document is not valid JSON (line %d column %d)",
				 jerr.line, jerr.column);
		return JOBS_ERR_INVALID_REQUEST;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		if (msg)
			snprintf(msg, msg_cap, "document must be a JSON object");
		return JOBS_ERR_INVALID_REQUEST;
	}
	if (out)
		*out = doc;
	else
		json_decref(doc);
	return JOBS_OK;
}

/* Next placeholder in s[0..len) from *pos: its URL is s[*url_off .. *url_off + *url_len) and it
 * ends before *end. False when there is none. */
static bool next_placeholder(const char *s, size_t len, size_t *pos, size_t *url_off,
			     size_t *url_len, size_t *end)
{
	while (*pos + PH_LEN < len) {
		const char *p = memmem(s + *pos, len - *pos, PH, PH_LEN);
		const char *close;
		size_t start;

		if (!p)
			return false;
		start = (size_t)(p - s);
		close = memchr(p + PH_LEN, '}', len - start - PH_LEN);
		if (!close)
			return false;
		if (close == p + PH_LEN) { /* empty URL: leave it */
			*pos = start + PH_LEN + 1;
			continue;
		}
		*url_off = start + PH_LEN;
		*url_len = (size_t)(close - p) - PH_LEN;
		*end = (size_t)(close - s) + 1;
		*pos = start;
		return true;
	}
	return false;
}

/* Append the distinct placeholder URLs of v (recursively) to urls. False on OOM. */
static bool collect(const json_t *v, json_t *urls)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			if (!collect(child, urls))
				return false;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			if (!collect(child, urls))
				return false;
		}
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v), pos = 0, off, ulen, end;

		while (next_placeholder(s, len, &pos, &off, &ulen, &end)) {
			json_t *url = json_stringn(s + off, ulen);
			bool dup = false;

			if (!url)
				return false;
			json_array_foreach(urls, i, child) {
				if (json_equal(child, url))
					dup = true;
			}
			if (!dup && json_array_append(urls, url)) {
				json_decref(url);
				return false;
			}
			json_decref(url);
			pos = end;
		}
	}
	return true;
}

json_t *jobs_document_placeholders(const json_t *doc)
{
	json_t *urls = json_array();

	if (urls && !collect(doc, urls)) {
		json_decref(urls);
		return NULL;
	}
	return urls;
}

/* True if v or anything below it holds a placeholder. */
static bool has_placeholder(const json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			if (has_placeholder(child))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			if (has_placeholder(child))
				return true;
		}
	} else if (json_is_string(v)) {
		size_t pos = 0, off, ulen, end;

		return next_placeholder(json_string_value(v), json_string_length(v), &pos, &off,
					&ulen, &end);
	}
	return false;
}

/* A new string value: s with its placeholders replaced. NULL on failure. */
static json_t *resolve_string(const json_t *v, jobs_document_presign_fn presign, void *arg)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), pos = 0, done = 0, off, ulen, end;
	json_t *r = NULL;
	struct buf b;

	buf_init(&b);
	while (next_placeholder(s, len, &pos, &off, &ulen, &end)) {
		char *url = strndup(s + off, ulen), *signed_url;

		if (!url)
			goto out;
		signed_url = presign(url, arg);
		free(url);
		if (!signed_url)
			goto out;
		buf_append(&b, s + done, pos - done);
		buf_puts(&b, signed_url);
		free(signed_url);
		done = pos = end;
	}
	buf_append(&b, s + done, len - done);
	if (!b.is_oom)
		r = json_stringn(b.data ? b.data : "", b.len);
out:
	buf_cleanup(&b);
	return r;
}

/* A copy of v with placeholders resolved (shares untouched subtrees). NULL on failure. */
static json_t *resolve(const json_t *v, jobs_document_presign_fn presign, void *arg)
{
	const char *key;
	json_t *child, *out;
	size_t i;

	if (!has_placeholder(v))
		return json_incref((json_t *)v);
	if (json_is_string(v))
		return resolve_string(v, presign, arg);
	if (json_is_object(v)) {
		out = json_object();
		if (!out)
			return NULL;
		json_object_foreach((json_t *)v, key, child) {
			if (json_object_set_new(out, key, resolve(child, presign, arg))) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	out = json_array();
	if (!out)
		return NULL;
	json_array_foreach(v, i, child) {
		if (json_array_append_new(out, resolve(child, presign, arg))) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

enum jobs_err jobs_document_resolve(const json_t *doc, jobs_document_presign_fn presign, void *arg,
				    json_t **out)
{
	*out = doc ? resolve(doc, presign, arg) : NULL;
	return *out ? JOBS_OK : JOBS_ERR_INTERNAL;
}
