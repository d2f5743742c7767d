#include "api/common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/page.h"

struct db *api_db_get(struct reply *rep)
{
	struct db *db = db_pool_get();
	if (!db) {
		reply_error(rep, BW_ERR_UNAVAILABLE, NULL, "database unavailable, retry later");
		reply_header(rep, "Retry-After", "1");
	}
	return db;
}

bool api_tx(struct reply *rep, enum db_isolation iso, db_tx_fn fn, void *ctx)
{
	struct db *db = api_db_get(rep);
	enum db_status st;

	if (!db)
		return false;
	st = db_tx_run(db, iso, fn, ctx);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return false;
	}
	return true;
}

bool api_read_json(struct reply *rep, const char *sql, int nparams, const char *const *params,
		   json_t **out)
{
	struct db *db = api_db_get(rep);
	enum db_status st;

	*out = NULL;
	if (!db)
		return false;
	st = db_query_json(db, sql, nparams, params, out);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return false;
	}
	return true;
}

void api_reply_db_error(struct reply *rep, enum db_status st)
{
	if (st == DB_RETRY) {
		reply_error(rep, BW_ERR_UNAVAILABLE, NULL,
			    "too much contention on this resource, retry later");
		reply_header(rep, "Retry-After", "1");
	} else {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "database error");
	}
}

json_t *api_body_object(const struct request *req, struct reply *rep)
{
	if (!req->json) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL, "a JSON object body is required");
		return NULL;
	}
	if (!json_is_object(req->json)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "", "the body must be a JSON object");
		return NULL;
	}
	return req->json;
}

/* Escape a key for a JSON pointer (RFC 6901). */
static void pointer_append(char *out, size_t outlen, const char *prefix, const char *key)
{
	size_t o = (size_t)snprintf(out, outlen, "%s/", prefix);
	for (const char *k = key; *k && o + 3 < outlen; k++) {
		if (*k == '~') {
			out[o++] = '~';
			out[o++] = '0';
		} else if (*k == '/') {
			out[o++] = '~';
			out[o++] = '1';
		} else {
			out[o++] = *k;
		}
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

bool api_check_fields(json_t *obj, const char *const *allowed, const char *prefix,
		      struct reply *rep)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = true;
		if (!ok) {
			char ptr[300];
			pointer_append(ptr, sizeof(ptr), prefix, key);
			reply_error(rep, BW_ERR_BAD_REQUEST, ptr, "unknown field '%.128s'", key);
			return false;
		}
	}
	return true;
}

bool api_opt_string(json_t *obj, const char *key, const char *prefix, const char **out,
		    bool *is_null, struct reply *rep)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (is_null)
		*is_null = false;
	if (!v)
		return true;
	if (json_is_null(v)) {
		if (is_null)
			*is_null = true;
		return true;
	}
	if (!json_is_string(v)) {
		char ptr[300];
		pointer_append(ptr, sizeof(ptr), prefix, key);
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr, "'%s' must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool api_page_parse(const struct request *req, struct reply *rep, size_t ncursor_keys,
		    struct api_page *out)
{
	const char *limit = request_query(req, "limit");
	const char *cursor = request_query(req, "cursor");

	memset(out, 0, sizeof(*out));
	out->limit = API_PAGE_DEFAULT;
	if (limit && page_limit_parse(limit, API_PAGE_DEFAULT, API_PAGE_MAX, &out->limit) != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/limit",
			    "limit must be an integer from 1 to %d", API_PAGE_MAX);
		return false;
	}
	if (cursor && *cursor) {
		out->after = page_cursor_decode(cursor, ncursor_keys);
		if (!out->after || json_array_size(out->after) != ncursor_keys) {
			json_decref(out->after);
			out->after = NULL;
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed or belongs to another listing");
			return false;
		}
	}
	return true;
}

void api_page_cleanup(struct api_page *page)
{
	json_decref(page->after);
	page->after = NULL;
}

bool api_page_before_id(const struct api_page *page, struct reply *rep, char out[32])
{
	json_t *k;

	snprintf(out, 32, "%lld", (long long)INT64_MAX);
	if (!page->after)
		return true;
	k = json_array_get(page->after, 0);
	if (!json_is_integer(k)) {
		reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor", "the cursor is malformed");
		return false;
	}
	snprintf(out, 32, "%lld", (long long)json_integer_value(k));
	return true;
}

json_t *api_page_reply(json_t *items, int limit, api_cursor_key_fn key_fn)
{
	json_t *out;

	if (!items)
		items = json_array();
	if (!json_is_array(items)) {
		json_decref(items);
		items = json_array();
	}
	out = json_object();
	if (!out) {
		json_decref(items);
		return NULL;
	}
	if ((int)json_array_size(items) > limit) {
		json_array_remove(items, (size_t)limit);
		json_t *keys = key_fn(json_array_get(items, (size_t)limit - 1));
		char *cur = keys ? page_cursor_encode(keys) : NULL;
		json_decref(keys);
		if (cur)
			json_object_set_new(out, "next_cursor", json_string(cur));
		free(cur);
	}
	json_object_set_new(out, "items", items);
	return out;
}

enum db_status api_audit(struct db *db, const struct request *req, const char *action,
			 const char *resource_type, const char *resource_id, json_t *details)
{
	char tokid[32];
	char *det = details ? json_dumps(details, JSON_COMPACT) : NULL;
	const char *params[7];
	enum db_status st;

	snprintf(tokid, sizeof(tokid), "%lld", (long long)req->principal.token_id);
	params[0] = req->principal.name[0] ? req->principal.name : "anonymous";
	params[1] = req->principal.token_id ? tokid : NULL;
	params[2] = action;
	params[3] = resource_type;
	params[4] = resource_id;
	params[5] = req->request_id;
	params[6] = det ? det : "{}";
	st = db_exec(db,
		     "INSERT INTO audit_log (actor, actor_token_id, action, resource_type,"
		     " resource_id, request_id, details) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb)",
		     7, params, NULL);
	free(det);
	return st;
}

int api_params_add(struct api_params *p, const char *value)
{
	if (p->n >= (int)(sizeof(p->values) / sizeof(p->values[0])))
		return -1;
	p->values[p->n++] = value;
	return p->n;
}

int api_params_take(struct api_params *p, char *value)
{
	if (p->nowned >= (int)(sizeof(p->owned) / sizeof(p->owned[0]))) {
		free(value);
		return -1;
	}
	p->owned[p->nowned++] = value;
	int idx = api_params_add(p, value);
	return idx;
}

void api_params_cleanup(struct api_params *p)
{
	for (int i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	memset(p, 0, sizeof(*p));
}
