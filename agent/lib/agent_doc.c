#include "agent_doc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(char *reason, size_t cap, const char *msg)
{
	snprintf(reason, cap, "%s", msg);
	return false;
}

/* Copies a JSON string member into a fixed buffer; absent is ok, wrong type or too long not. */
static bool get_str(const json_t *obj, const char *key, char *dst, size_t cap, bool *is_bad)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return false;
	if (!json_is_string(v) || json_string_length(v) >= cap) {
		*is_bad = true;
		return false;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/* FreeRTOS parses numbers with strtoul(…, 0): accept JSON integers and numeric strings. */
static bool get_uint(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long n;

		if (!isdigit((unsigned char)s[0]))
			return false;
		n = strtoull(s, &end, 0);
		if (*end != '\0')
			return false;
		*out = n;
		return true;
	}
	return false;
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[64] == '\0';
}

static bool parse_bellwether(const json_t *bw, struct agent_doc *d, char *reason, size_t cap)
{
	const json_t *v;
	bool is_bad = false;
	size_t i;

	if (!json_is_object(bw))
		return fail(reason, cap, "bellwether: not an object");
	get_str(bw, "release_id", d->release_id, sizeof(d->release_id), &is_bad);
	get_str(bw, "version", d->version, sizeof(d->version), &is_bad);
	get_str(bw, "min_version", d->min_version, sizeof(d->min_version), &is_bad);
	if (get_str(bw, "sha256", d->sha256_hex, sizeof(d->sha256_hex), &is_bad) &&
	    !is_hex64(d->sha256_hex))
		return fail(reason, cap, "bellwether.sha256: not 64 hex digits");
	if (is_bad)
		return fail(reason, cap, "bellwether: a string member is invalid or too long");
	v = json_object_get(bw, "security_version");
	if (v != NULL && !json_is_null(v)) {
		uint64_t n;

		if (!get_uint(v, &n) || n > UINT32_MAX)
			return fail(reason, cap,
				    "bellwether.security_version: not a 32-bit integer");
		d->has_security_version = true;
		d->security_version = (uint32_t)n;
	}
	v = json_object_get(bw, "revert");
	if (v != NULL && !json_is_boolean(v))
		return fail(reason, cap, "bellwether.revert: not a boolean");
	d->is_revert = json_is_true(v);
	v = json_object_get(bw, "hardware_types");
	if (v != NULL) {
		const json_t *h;

		if (!json_is_array(v) || json_array_size(v) > AGENT_HW_TYPES_MAX)
			return fail(reason, cap,
				    "bellwether.hardware_types: not an array of <= 16");
		json_array_foreach(v, i, h) {
			if (!json_is_string(h) || json_string_length(h) > AGENT_HW_MAX)
				return fail(reason, cap, "bellwether.hardware_types: bad entry");
			memcpy(d->hw_types[i], json_string_value(h), json_string_length(h) + 1);
		}
		d->hw_type_count = json_array_size(v);
	}
	v = json_object_get(bw, "manifest");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) > AGENT_MANIFEST_MAX)
			return fail(reason, cap, "bellwether.manifest: not a string of <= 64 KiB");
		d->manifest = strdup(json_string_value(v));
		if (d->manifest == NULL)
			return fail(reason, cap, "out of memory");
	}
	return true;
}

static bool parse(const json_t *doc, struct agent_doc *d, char *reason, size_t cap)
{
	const json_t *ota, *protos, *files, *f, *v, *p;
	bool is_bad = false, has_http = false, has_mqtt = false;
	uint64_t n;
	size_t i;

	ota = json_object_get(doc, "afr_ota");
	if (!json_is_object(ota))
		return fail(reason, cap, "not a firmware job (no afr_ota document)");
	protos = json_object_get(ota, "protocols");
	if (!json_is_array(protos))
		return fail(reason, cap, "afr_ota.protocols: missing");
	json_array_foreach(protos, i, p) {
		if (json_is_string(p) && strcmp(json_string_value(p), "HTTP") == 0)
			has_http = true;
		if (json_is_string(p) && strcmp(json_string_value(p), "MQTT") == 0)
			has_mqtt = true;
	}
	files = json_object_get(ota, "files");
	if (!json_is_array(files) || json_array_size(files) == 0)
		return fail(reason, cap, "afr_ota.files: missing or empty");
	f = json_array_get(files, 0); /* only the first file is used (spec 9.1) */
	if (!json_is_object(f))
		return fail(reason, cap, "afr_ota.files[0]: not an object");
	if (!get_uint(json_object_get(f, "filesize"), &n) || n == 0)
		return fail(reason, cap, "afr_ota.files[0].filesize: missing or 0");
	d->size_bytes = n;
	v = json_object_get(f, "fileid");
	if (v != NULL && (!get_uint(v, &n) || n > 255))
		return fail(reason, cap, "afr_ota.files[0].fileid: not 0..255");
	d->file_id = v != NULL ? (int)n : 0;
	get_str(f, "sig-sha256-ecdsa", d->sig_b64, sizeof(d->sig_b64), &is_bad);
	if (is_bad)
		return fail(reason, cap, "afr_ota.files[0].sig-sha256-ecdsa: invalid");
	if (has_mqtt && get_str(ota, "streamname", d->stream, sizeof(d->stream), &is_bad))
		d->is_mqtt = true;
	v = json_object_get(f, "update_data_url");
	if (has_http && json_is_string(v) && json_string_length(v) > 0) {
		if (json_string_length(v) > AGENT_URL_MAX)
			return fail(reason, cap, "afr_ota.files[0].update_data_url: too long");
		d->url = strdup(json_string_value(v));
		if (d->url == NULL)
			return fail(reason, cap, "out of memory");
		d->is_http = true;
	}
	if (!d->is_http && !d->is_mqtt)
		return fail(reason, cap, "no usable protocol (HTTP with update_data_url or MQTT)");
	v = json_object_get(doc, "bellwether");
	if (v != NULL && !parse_bellwether(v, d, reason, cap))
		return false;
	return true;
}

bool agent_doc_parse(const json_t *doc, struct agent_doc *out, char *reason, size_t reason_cap)
{
	memset(out, 0, sizeof(*out));
	if (reason_cap > 0)
		reason[0] = '\0';
	if (!json_is_object(doc))
		return fail(reason, reason_cap, "job document is not an object");
	if (parse(doc, out, reason, reason_cap))
		return true;
	agent_doc_cleanup(out);
	return false;
}

void agent_doc_cleanup(struct agent_doc *d)
{
	if (d == NULL)
		return;
	free(d->url);
	free(d->manifest);
	memset(d, 0, sizeof(*d));
}

bool agent_doc_copy(struct agent_doc *dst, const struct agent_doc *src)
{
	*dst = *src;
	dst->url = NULL;
	dst->manifest = NULL;
	if (src->url != NULL && (dst->url = strdup(src->url)) == NULL)
		goto oom;
	if (src->manifest != NULL && (dst->manifest = strdup(src->manifest)) == NULL)
		goto oom;
	return true;
oom:
	agent_doc_cleanup(dst);
	return false;
}
