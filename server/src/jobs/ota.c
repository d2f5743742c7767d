#include "jobs/ota.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "jobs/document.h"
#include "jobs/text.h"

static enum jobs_err fail(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum jobs_err fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return JOBS_ERR_INVALID_REQUEST;
}

/* s NULL, or valid UTF-8 of 1..max bytes. */
static bool ok_string(const char *s, size_t max)
{
	size_t chars;

	return !s || (*s && strlen(s) <= max && jobs_text_utf8_count(s, strlen(s), &chars));
}

static bool set(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

static bool set_str(json_t *obj, const char *key, const char *s)
{
	return !s || set(obj, key, json_string(s));
}

static enum jobs_err check_file(const struct jobs_ota_file *f, size_t i, bool use_http, char *msg,
				size_t cap)
{
	unsigned char *sig = NULL;
	size_t siglen = 0;
	bool ok;

	if (f->filesize == 0)
		return fail(msg, cap, "files[%zu]: filesize must be > 0", i);
	if (f->fileid < 0 || f->fileid > 255)
		return fail(msg, cap, "files[%zu]: fileid must be 0..255", i);
	if (!ok_string(f->filepath, JOBS_OTA_PATH_MAX) ||
	    !ok_string(f->certfile, JOBS_OTA_PATH_MAX))
		return fail(msg, cap,
			    "files[%zu]: filepath and certfile must be 1..%d bytes of UTF-8", i,
			    JOBS_OTA_PATH_MAX);
	if (!ok_string(f->sig_key, 64) || !ok_string(f->auth_scheme, 64) ||
	    !ok_string(f->update_data_url, JOBS_OTA_PATH_MAX * 4))
		return fail(msg, cap, "files[%zu]: invalid sig_key, auth_scheme or update_data_url",
			    i);
	if (use_http && !f->update_data_url)
		return fail(msg, cap, "files[%zu]: update_data_url is required for HTTP", i);
	if ((f->has_file_type && f->file_type < 0) || (f->has_attr && f->attr < 0))
		return fail(msg, cap, "files[%zu]: fileType and attr must be >= 0", i);
	if (f->signature) {
		ok = base64_decode(f->signature, strlen(f->signature), &sig, &siglen);
		free(sig);
		if (!ok || siglen == 0 || siglen > JOBS_OTA_SIGNATURE_MAX_BYTES)
			return fail(msg, cap, "files[%zu]: signature must be base64 of 1..%d bytes",
				    i, JOBS_OTA_SIGNATURE_MAX_BYTES);
	}
	return JOBS_OK;
}

static json_t *file_json(const struct jobs_ota_file *f)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (!set_str(o, "filepath", f->filepath) ||
	    !set(o, "filesize", json_integer((json_int_t)f->filesize)) ||
	    !set(o, "fileid", json_integer(f->fileid)) || !set_str(o, "certfile", f->certfile) ||
	    (f->has_file_type && !set(o, "fileType", json_integer(f->file_type))) ||
	    (f->has_attr && !set(o, "attr", json_integer(f->attr))) ||
	    !set_str(o, "update_data_url", f->update_data_url) ||
	    (f->update_data_url &&
	     !set_str(o, "auth_scheme",
		      f->auth_scheme ? f->auth_scheme : JOBS_OTA_AUTH_SCHEME_DEFAULT)) ||
	    !set_str(o, f->sig_key ? f->sig_key : JOBS_OTA_SIG_KEY_DEFAULT, f->signature)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

enum jobs_err jobs_ota_document_new(const struct jobs_ota_release *r, json_t **out, char *msg,
				    size_t msg_cap)
{
	json_t *afr = NULL, *protocols, *files;
	enum jobs_err err;

	*out = NULL;
	if (!r->use_mqtt && !r->use_http)
		return fail(msg, msg_cap, "at least one of MQTT and HTTP is needed");
	if (r->use_mqtt && (!jobs_text_is_valid_stream_id(r->stream_name) ||
			    strlen(r->stream_name) > JOBS_OTA_STREAM_NAME_MAX))
		return fail(msg, msg_cap,
			    "MQTT needs a stream name of 1..%d characters [a-zA-Z0-9_-]",
			    JOBS_OTA_STREAM_NAME_MAX);
	if (!r->files || r->file_count == 0)
		return fail(msg, msg_cap, "at least one file is needed");
	for (size_t i = 0; i < r->file_count; i++) {
		if ((err = check_file(&r->files[i], i, r->use_http, msg, msg_cap)))
			return err;
	}
	afr = json_object();
	if (!afr)
		return JOBS_ERR_INTERNAL;
	protocols = json_array();
	if (!set(afr, "protocols", protocols) ||
	    (r->use_mqtt && json_array_append_new(protocols, json_string("MQTT"))) ||
	    (r->use_http && json_array_append_new(protocols, json_string("HTTP"))) ||
	    (r->use_mqtt && !set(afr, "streamname", json_string(r->stream_name))))
		goto oom;
	files = json_array();
	if (!set(afr, "files", files))
		goto oom;
	for (size_t i = 0; i < r->file_count; i++) {
		if (json_array_append_new(files, file_json(&r->files[i])))
			goto oom;
	}
	*out = json_pack("{s:o}", "afr_ota", afr);
	return *out ? JOBS_OK : JOBS_ERR_INTERNAL;
oom:
	json_decref(afr);
	return JOBS_ERR_INTERNAL;
}

static bool is_lower_hex64(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

enum jobs_err jobs_ota_bellwether_add(json_t *doc, const struct jobs_ota_bellwether *b, char *msg,
				      size_t msg_cap)
{
	json_t *bw, *hw;
	size_t i;
	const json_t *h;

	if (!json_is_object(doc))
		return fail(msg, msg_cap, "the document is not an object");
	if (!b->release_id || !*b->release_id ||
	    strspn(b->release_id, "0123456789") != strlen(b->release_id) ||
	    !ok_string(b->version, 256) || !b->version || !ok_string(b->min_version, 256) ||
	    !is_lower_hex64(b->sha256))
		return fail(msg, msg_cap,
			    "bellwether: release_id, version and sha256 are required and valid");
	if (!json_is_array(b->hardware_types) || json_array_size(b->hardware_types) == 0 ||
	    json_array_size(b->hardware_types) > JOBS_OTA_BW_HARDWARE_MAX)
		return fail(msg, msg_cap, "bellwether: hardware_types must hold 1..%d strings",
			    JOBS_OTA_BW_HARDWARE_MAX);
	json_array_foreach(b->hardware_types, i, h) {
		if (!json_is_string(h) || !ok_string(json_string_value(h), 128))
			return fail(msg, msg_cap, "bellwether: hardware_types[%zu] is invalid", i);
	}
	hw = json_deep_copy(b->hardware_types);
	bw = json_pack("{s:s,s:s,s:I,s:o,s:s,s:b}", "release_id", b->release_id, "version",
		       b->version, "security_version", (json_int_t)b->security_version,
		       "hardware_types", hw, "sha256", b->sha256, "revert", b->revert);
	if (!bw)
		return JOBS_ERR_INTERNAL;
	if (!set_str(bw, "min_version", b->min_version) || !set_str(bw, "manifest", b->manifest) ||
	    json_object_set_new(doc, "bellwether", bw) != 0) {
		json_decref(bw);
		return JOBS_ERR_INTERNAL;
	}
	return JOBS_OK;
}

char *jobs_ota_placeholder(const char *url)
{
	char *s;

	if (!url || !*url || strchr(url, '}'))
		return NULL;
	if (asprintf(&s, "%s%s}", JOBS_DOCUMENT_PLACEHOLDER, url) < 0)
		return NULL;
	return s;
}
