#include "shadow/doc.h"

#include <stdio.h>
#include <string.h>

#include "shadow/delta.h"
#include "shadow/dump.h"
#include "shadow/payload.h"

/* jansson's iteration API takes non-const pointers even for read-only walks. */
static json_t *mut(const json_t *j)
{
	return (json_t *)j;
}

/* json_object_set_new() that also fails on a NULL value (a failed constructor); steals v. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(obj, key, v);
}

static const struct {
	const char *name;
	int code;
	const char *message;
	const char *aws_type;
} err_table[] = {
#define X(e, code, msg, aws) { #e, code, msg, aws },
#include "shadow/errors.def"
#undef X
};

const char *shadow_err_name(enum shadow_err err)
{
	if ((unsigned)err >= SHADOW_ERR__COUNT)
		return "?";
	return err_table[err].name;
}

int shadow_err_code(enum shadow_err err)
{
	if ((unsigned)err >= SHADOW_ERR__COUNT)
		return 500;
	return err_table[err].code;
}

const char *shadow_err_message(enum shadow_err err)
{
	if ((unsigned)err >= SHADOW_ERR__COUNT)
		return err_table[SHADOW_ERR_INTERNAL].message;
	return err_table[err].message;
}

const char *shadow_err_aws_type(enum shadow_err err)
{
	if ((unsigned)err >= SHADOW_ERR__COUNT)
		return err_table[SHADOW_ERR_INTERNAL].aws_type;
	return err_table[err].aws_type;
}

enum shadow_err shadow_err_format(enum shadow_err err, const char *name, int *code, char *msg,
				  size_t msglen)
{
	if (code)
		*code = shadow_err_code(err);
	if (!msg || msglen == 0)
		return err;
	if (err == SHADOW_ERR_INVALID_STATE_NODE || err == SHADOW_ERR_NOT_FOUND) {
		const char *prefix = shadow_err_message(err);
		size_t fixed = strlen(prefix) + 4; /* ": '" + "'" */
		size_t n = name ? strlen(name) : 0;

		/* a long name is cut, on a UTF-8 boundary so the message stays valid JSON text */
		if (fixed + n + 1 > msglen) {
			n = msglen > fixed + 1 ? msglen - fixed - 1 : 0;
			while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
				n--;
		}
		snprintf(msg, msglen, "%s: '%.*s'", prefix, (int)n, name ? name : "");
	} else {
		snprintf(msg, msglen, "%s", shadow_err_message(err));
	}
	return err;
}

void shadow_init(struct shadow *s)
{
	memset(s, 0, sizeof(*s));
}

void shadow_cleanup(struct shadow *s)
{
	if (!s)
		return;
	json_decref(s->desired);
	json_decref(s->reported);
	json_decref(s->meta_desired);
	json_decref(s->meta_reported);
	shadow_init(s);
}

/* Adds "desired"/"reported" references to the two values to obj, skipping NULL ones (shared,
 * not copied: see shadow_document_new()). */
static int put_sections(json_t *obj, const json_t *desired, const json_t *reported)
{
	if (desired && set_new(obj, "desired", json_incref((json_t *)desired)) < 0)
		return -1;
	if (reported && set_new(obj, "reported", json_incref((json_t *)reported)) < 0)
		return -1;
	return 0;
}

json_t *shadow_document_new(const struct shadow *s)
{
	json_t *doc = json_object();
	json_t *state = json_object();
	json_t *meta = json_object();

	if (!doc || !state || !meta)
		goto fail;
	if (put_sections(state, s->desired, s->reported) < 0 ||
	    put_sections(meta, s->meta_desired, s->meta_reported) < 0)
		goto fail;
	if (set_new(doc, "state", state) < 0) {
		state = NULL;
		goto fail;
	}
	state = NULL;
	if (set_new(doc, "metadata", meta) < 0) {
		meta = NULL;
		goto fail;
	}
	meta = NULL;
	if (set_new(doc, "version", json_integer(s->version)) < 0)
		goto fail;
	return doc;
fail:
	json_decref(doc);
	json_decref(state);
	json_decref(meta);
	return NULL;
}

/* Copies section `name` of state and metadata into *val / *meta. -1 bad shape, -2 OOM. */
static int load_section(const json_t *state, const json_t *metadata, const char *name, json_t **val,
			json_t **meta)
{
	json_t *v = json_object_get(state, name);
	json_t *m = json_object_get(metadata, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v) || !json_is_object(m))
		return -1;
	*val = json_deep_copy(v);
	*meta = json_deep_copy(m);
	return (*val && *meta) ? 0 : -2;
}

enum shadow_err shadow_from_document(const json_t *doc, struct shadow *out)
{
	const json_t *state = json_object_get(doc, "state");
	const json_t *metadata = json_object_get(doc, "metadata");
	const json_t *version = json_object_get(doc, "version");
	int rc;

	shadow_init(out);
	if (!json_is_object(doc) || !json_is_integer(version) || json_integer_value(version) < 0)
		return SHADOW_ERR_INVALID_JSON;
	if (state && !json_is_object(state) && !json_is_null(state))
		return SHADOW_ERR_INVALID_JSON;
	if (metadata && !json_is_object(metadata) && !json_is_null(metadata))
		return SHADOW_ERR_INVALID_JSON;
	if (json_is_object(state)) {
		rc = load_section(state, metadata, "desired", &out->desired, &out->meta_desired);
		if (rc == 0)
			rc = load_section(state, metadata, "reported", &out->reported,
					  &out->meta_reported);
		if (rc < 0) {
			shadow_cleanup(out);
			return rc == -1 ? SHADOW_ERR_INVALID_JSON : SHADOW_ERR_INTERNAL;
		}
	}
	out->is_present = true;
	out->version = json_integer_value(version);
	return SHADOW_OK;
}

size_t shadow_state_size(const struct shadow *s)
{
	size_t n = 0;

	if (s->desired)
		n += shadow_dump_size(s->desired);
	if (s->reported)
		n += shadow_dump_size(s->reported);
	return n;
}

enum shadow_err shadow_token_request_parse(const char *payload, size_t len,
					   struct shadow_token_request *out, int *code, char *msg,
					   size_t msglen)
{
	json_t *root = NULL;
	enum shadow_err err;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return shadow_err_format(SHADOW_OK, NULL, code, msg, msglen);
	err = shadow_payload_load(payload, len, &root);
	if (err == SHADOW_OK)
		err = shadow_payload_client_token(root, &out->has_client_token, out->client_token);
	json_decref(root);
	return shadow_err_format(err, NULL, code, msg, msglen);
}

/* Sets "timestamp" and, when given, "clientToken" on a reply object. */
static int put_reply_tail(json_t *obj, int64_t now_s, const char *client_token)
{
	if (set_new(obj, "timestamp", json_integer(now_s)) < 0)
		return -1;
	if (client_token && set_new(obj, "clientToken", json_string(client_token)) < 0)
		return -1;
	return 0;
}

enum shadow_err shadow_get_document(const struct shadow *cur, int64_t now_s,
				    const char *client_token, const char *name, json_t **reply,
				    int *code, char *msg, size_t msglen)
{
	json_t *doc = NULL;
	json_t *delta = NULL;
	json_t *state;

	*reply = NULL;
	if (!cur || !cur->is_present)
		return shadow_err_format(SHADOW_ERR_NOT_FOUND, name, code, msg, msglen);
	doc = shadow_document_new(cur);
	if (!doc)
		goto oom;
	state = json_object_get(doc, "state");
	delta = shadow_compute_delta(cur->desired, cur->reported);
	if (!delta)
		goto oom;
	if (json_object_size(delta) > 0) {
		if (set_new(state, "delta", delta) < 0) {
			delta = NULL;
			goto oom;
		}
	} else {
		json_decref(delta);
	}
	delta = NULL;
	if (put_reply_tail(doc, now_s, client_token) < 0)
		goto oom;
	*reply = doc;
	return shadow_err_format(SHADOW_OK, NULL, code, msg, msglen);
oom:
	json_decref(doc);
	json_decref(delta);
	return shadow_err_format(SHADOW_ERR_INTERNAL, NULL, code, msg, msglen);
}

enum shadow_err shadow_delete(const struct shadow *cur, int64_t now_s, const char *client_token,
			      const char *name, struct shadow *tombstone, json_t **reply, int *code,
			      char *msg, size_t msglen)
{
	json_t *r;

	shadow_init(tombstone);
	*reply = NULL;
	if (!cur || !cur->is_present) {
		if (cur)
			tombstone->version = cur->version;
		return shadow_err_format(SHADOW_ERR_NOT_FOUND, name, code, msg, msglen);
	}
	r = json_object();
	if (!r || set_new(r, "version", json_integer(cur->version)) < 0 ||
	    put_reply_tail(r, now_s, client_token) < 0) {
		json_decref(r);
		return shadow_err_format(SHADOW_ERR_INTERNAL, NULL, code, msg, msglen);
	}
	tombstone->version = cur->version;
	*reply = r;
	return shadow_err_format(SHADOW_OK, NULL, code, msg, msglen);
}

json_t *shadow_error_reply_new(int code, const char *message, int64_t now_s,
			       const char *client_token)
{
	json_t *r = json_object();

	if (!r || set_new(r, "code", json_integer(code)) < 0 ||
	    set_new(r, "message", json_string(message ? message : "")) < 0 ||
	    put_reply_tail(r, now_s, client_token) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

json_t *shadow_metadata_for(const json_t *value, int64_t ts)
{
	json_t *out;

	if (json_is_object(value)) {
		const char *key;
		json_t *v;

		out = json_object();
		if (!out)
			return NULL;
		json_object_foreach(mut(value), key, v) {
			if (set_new(out, key, shadow_metadata_for(v, ts)) < 0)
				goto fail;
		}
		return out;
	}
	if (json_is_array(value)) {
		size_t n = json_array_size(value);

		out = json_array();
		if (!out)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			json_t *m = shadow_metadata_for(json_array_get(value, i), ts);

			if (!m || json_array_append_new(out, m) < 0)
				goto fail;
		}
		return out;
	}
	out = json_object();
	if (!out || set_new(out, "timestamp", json_integer(ts)) < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}
