#include "shadow/update.h"

#include <math.h>
#include <string.h>

#include "shadow/delta.h"
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

void shadow_update_init(struct shadow_update *u)
{
	memset(u, 0, sizeof(*u));
}

void shadow_update_cleanup(struct shadow_update *u)
{
	if (!u)
		return;
	json_decref(u->state);
	shadow_update_init(u);
}

void shadow_update_result_init(struct shadow_update_result *r)
{
	memset(r, 0, sizeof(*r));
}

void shadow_update_result_cleanup(struct shadow_update_result *r)
{
	if (!r)
		return;
	json_decref(r->accepted);
	json_decref(r->delta);
	json_decref(r->documents);
	shadow_update_result_init(r);
}

/* "version": absent or null = no check; else a non-negative integer (5.0 allowed, spec 1.4). */
static enum shadow_err parse_version(const json_t *v, struct shadow_update *out)
{
	double r;

	if (!v || json_is_null(v))
		return SHADOW_OK;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return SHADOW_ERR_INVALID_VERSION;
		out->version = json_integer_value(v);
		out->has_version = true;
		return SHADOW_OK;
	}
	if (!json_is_real(v))
		return SHADOW_ERR_INVALID_VERSION;
	r = json_real_value(v);
	if (!isfinite(r) || trunc(r) != r || r < 0 || r >= 9223372036854775808.0)
		return SHADOW_ERR_INVALID_VERSION;
	out->version = (int64_t)r;
	out->has_version = true;
	return SHADOW_OK;
}

/*
 * Depth and null rules of spec 6.4 rule 3 / 6.7 for a value at `level` (the desired/reported
 * object itself is level 1). inside_array: v sits somewhere below an array, where nulls are
 * not allowed at all.
 */
static enum shadow_err check_value(const json_t *v, int level, bool inside_array)
{
	enum shadow_err err;

	if (json_is_object(v)) {
		const char *key;
		json_t *child;

		if (level > SHADOW_MAX_DEPTH)
			return SHADOW_ERR_TOO_DEEP;
		json_object_foreach(mut(v), key, child) {
			if (inside_array && json_is_null(child))
				return SHADOW_ERR_NULL_IN_ARRAY;
			err = check_value(child, level + 1, inside_array);
			if (err)
				return err;
		}
	} else if (json_is_array(v)) {
		size_t n = json_array_size(v);

		if (level > SHADOW_MAX_DEPTH)
			return SHADOW_ERR_TOO_DEEP;
		for (size_t i = 0; i < n; i++) {
			const json_t *el = json_array_get(v, i);

			if (json_is_null(el))
				return SHADOW_ERR_NULL_IN_ARRAY;
			err = check_value(el, level + 1, true);
			if (err)
				return err;
		}
	}
	return SHADOW_OK;
}

/* Validate state.desired / state.reported: absent, null or an object within the rules. */
static enum shadow_err check_section(const json_t *sec, enum shadow_err not_object)
{
	if (!sec || json_is_null(sec))
		return SHADOW_OK;
	if (!json_is_object(sec))
		return not_object;
	return check_value(sec, 1, false);
}

enum shadow_err shadow_update_parse(const char *payload, size_t len, struct shadow_update *out,
				    int *code, char *msg, size_t msglen)
{
	json_t *root = NULL;
	json_t *state;
	const char *bad_key = NULL;
	enum shadow_err err;

	shadow_update_init(out);
	err = shadow_payload_load(payload, len, &root);
	if (err)
		goto out;
	/* first, so that every later rejection can echo it (quirk 3) */
	err = shadow_payload_client_token(root, &out->has_client_token, out->client_token);
	if (err)
		goto out;
	err = parse_version(json_object_get(root, "version"), out);
	if (err)
		goto out;
	state = json_object_get(root, "state");
	if (!state) {
		err = SHADOW_ERR_MISSING_STATE;
		goto out;
	}
	if (json_is_object(state)) {
		const char *key;
		json_t *v;

		json_object_foreach(state, key, v) {
			if (strcmp(key, "desired") != 0 && strcmp(key, "reported") != 0) {
				bad_key = key;
				err = SHADOW_ERR_INVALID_STATE_NODE;
				goto out;
			}
		}
		out->desired = json_object_get(state, "desired");
		out->reported = json_object_get(state, "reported");
		err = check_section(out->desired, SHADOW_ERR_DESIRED_NOT_OBJECT);
		if (!err)
			err = check_section(out->reported, SHADOW_ERR_REPORTED_NOT_OBJECT);
		if (err)
			goto out;
	} else if (!json_is_null(state)) {
		err = SHADOW_ERR_STATE_NOT_OBJECT;
		goto out;
	}
	out->state = json_incref(state);
out:
	if (err) {
		out->desired = NULL;
		out->reported = NULL;
		out->has_version = false;
		out->version = 0;
	}
	/* format before dropping root: bad_key points into it */
	shadow_err_format(err, bad_key, code, msg, msglen);
	json_decref(root);
	return err;
}

/*
 * Merge request object req into dst, keeping meta (same shape as dst) in step (spec 6.4 rules
 * 1-3, 7). Returns 0 or -1 on allocation failure.
 */
static int merge_object(json_t *dst, json_t *meta, const json_t *req, int64_t ts)
{
	const char *key;
	json_t *rv;

	json_object_foreach(mut(req), key, rv) {
		if (json_is_null(rv)) {
			json_object_del(dst, key);
			json_object_del(meta, key);
			continue;
		}
		if (json_is_object(rv)) {
			json_t *dv = json_object_get(dst, key);
			json_t *mv = json_object_get(meta, key);

			if (!json_is_object(dv)) {
				/* absent or another type: the object replaces it */
				if (set_new(dst, key, json_object()) < 0)
					return -1;
				dv = json_object_get(dst, key);
				mv = NULL;
			}
			if (!json_is_object(mv)) {
				if (set_new(meta, key, json_object()) < 0)
					return -1;
				mv = json_object_get(meta, key);
			}
			if (merge_object(dv, mv, rv, ts) < 0)
				return -1;
			/* emptied by deletions (rule 2); an explicit {} is kept */
			if (json_object_size(dv) == 0 && json_object_size(rv) > 0) {
				json_object_del(dst, key);
				json_object_del(meta, key);
			}
			continue;
		}
		if (set_new(dst, key, json_deep_copy(rv)) < 0 ||
		    set_new(meta, key, shadow_metadata_for(rv, ts)) < 0)
			return -1;
	}
	return 0;
}

/* Apply one request section (NULL = untouched, null = delete) to a stored section. */
static int apply_section(json_t **sec, json_t **meta, const json_t *req, int64_t ts)
{
	if (!req)
		return 0;
	if (json_is_null(req)) {
		json_decref(*sec);
		json_decref(*meta);
		*sec = NULL;
		*meta = NULL;
		return 0;
	}
	if (!*sec) {
		*sec = json_object();
		if (!*sec)
			return -1;
	}
	if (!json_is_object(*meta)) {
		json_decref(*meta);
		*meta = json_object();
		if (!*meta)
			return -1;
	}
	if (merge_object(*sec, *meta, req, ts) < 0)
		return -1;
	if (json_object_size(*sec) == 0 && json_object_size(req) > 0) {
		json_decref(*sec);
		json_decref(*meta);
		*sec = NULL;
		*meta = NULL;
	}
	return 0;
}

/* Deep copy (or NULL for NULL) into *dst; -1 on allocation failure. */
static int copy_opt(json_t **dst, const json_t *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = json_deep_copy(src);
	return *dst ? 0 : -1;
}

static int put_reply_tail(json_t *obj, int64_t now_s, const char *client_token)
{
	if (set_new(obj, "timestamp", json_integer(now_s)) < 0)
		return -1;
	if (client_token && set_new(obj, "clientToken", json_string(client_token)) < 0)
		return -1;
	return 0;
}

/* update/accepted (spec 6.4): the request's state verbatim, metadata for exactly its leaves. */
static json_t *accepted_new(const struct shadow_update *u, int64_t version, int64_t now_s,
			    const char *client_token)
{
	json_t *r = json_object();

	if (!r || set_new(r, "state", json_deep_copy(u->state)) < 0)
		goto fail;
	if (json_is_object(u->state)) {
		json_t *meta = json_object();

		if (set_new(r, "metadata", meta) < 0)
			goto fail;
		if (u->desired &&
		    set_new(meta, "desired", shadow_metadata_for(u->desired, now_s)) < 0)
			goto fail;
		if (u->reported &&
		    set_new(meta, "reported", shadow_metadata_for(u->reported, now_s)) < 0)
			goto fail;
	}
	if (set_new(r, "version", json_integer(version)) < 0 ||
	    put_reply_tail(r, now_s, client_token) < 0)
		goto fail;
	return r;
fail:
	json_decref(r);
	return NULL;
}

/* update/documents (spec 6.5): previous (omitted on creation), current, timestamp, token. */
static json_t *documents_new(const struct shadow *prev, const struct shadow *next, int64_t now_s,
			     const char *client_token)
{
	json_t *r = json_object();

	if (!r)
		return NULL;
	if (prev && prev->is_present && set_new(r, "previous", shadow_document_new(prev)) < 0)
		goto fail;
	if (set_new(r, "current", shadow_document_new(next)) < 0 ||
	    put_reply_tail(r, now_s, client_token) < 0)
		goto fail;
	return r;
fail:
	json_decref(r);
	return NULL;
}

int shadow_delta_document(const struct shadow *s, int64_t now_s, const char *client_token,
			  json_t **out)
{
	json_t *delta = shadow_compute_delta(s->desired, s->reported);
	json_t *r = NULL;

	*out = NULL;
	if (!delta)
		return -1;
	if (json_object_size(delta) == 0) {
		json_decref(delta);
		return 0;
	}
	r = json_object();
	if (!r || set_new(r, "metadata", shadow_delta_metadata(delta, s->meta_desired)) < 0)
		goto fail;
	if (set_new(r, "state", delta) < 0) {
		delta = NULL;
		goto fail;
	}
	delta = NULL;
	if (set_new(r, "version", json_integer(s->version)) < 0 ||
	    put_reply_tail(r, now_s, client_token) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	json_decref(delta);
	json_decref(r);
	return -1;
}

enum shadow_err shadow_apply_update(const struct shadow *cur, const struct shadow_update *u,
				    const struct shadow_limits *lim, int64_t now_s,
				    struct shadow *next, struct shadow_update_result *res,
				    int *code, char *msg, size_t msglen)
{
	bool is_existing = cur && cur->is_present;
	int64_t base = cur ? cur->version : 0;
	size_t max_bytes = SHADOW_DEFAULT_MAX_STATE_BYTES;
	const char *token = u->has_client_token ? u->client_token : NULL;
	enum shadow_err err = SHADOW_ERR_INTERNAL;

	shadow_init(next);
	shadow_update_result_init(res);
	if (lim && lim->max_state_bytes)
		max_bytes = lim->max_state_bytes;
	if (u->has_version) {
		if (is_existing && u->version != cur->version) {
			err = SHADOW_ERR_VERSION_CONFLICT;
			goto fail;
		}
		/* spec 6.4 rule 5: a shadow that does not exist accepts only version 1 */
		if (!is_existing && u->version != 1) {
			err = SHADOW_ERR_INVALID_VERSION;
			goto fail;
		}
	}
	if (base < 0 || base == INT64_MAX)
		goto fail;
	if (is_existing && (copy_opt(&next->desired, cur->desired) < 0 ||
			    copy_opt(&next->reported, cur->reported) < 0 ||
			    copy_opt(&next->meta_desired, cur->meta_desired) < 0 ||
			    copy_opt(&next->meta_reported, cur->meta_reported) < 0))
		goto fail;
	if (json_is_null(u->state)) {
		/* "state": null clears both sections; the shadow stays (rule 4) */
		shadow_cleanup(next);
	} else if (apply_section(&next->desired, &next->meta_desired, u->desired, now_s) < 0 ||
		   apply_section(&next->reported, &next->meta_reported, u->reported, now_s) < 0) {
		goto fail;
	}
	next->is_present = true;
	next->version = base + 1;
	if (shadow_state_size(next) > max_bytes) {
		err = SHADOW_ERR_TOO_LARGE;
		goto fail;
	}
	res->accepted = accepted_new(u, next->version, now_s, token);
	res->documents = documents_new(cur, next, now_s, token);
	if (!res->accepted || !res->documents ||
	    shadow_delta_document(next, now_s, token, &res->delta) < 0)
		goto fail;
	return shadow_err_format(SHADOW_OK, NULL, code, msg, msglen);
fail:
	shadow_cleanup(next);
	shadow_update_result_cleanup(res);
	return shadow_err_format(err, NULL, code, msg, msglen);
}
