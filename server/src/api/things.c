/* /api/v1/things: the device registry. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/registry_filter.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/strutil.h"
#include "registry/semver.h"

#define THING_MAX_ATTRIBUTES 50
#define BULK_MAX_THINGS 10000

/* A validated thing body. Strings are borrowed from the request JSON. */
struct thing_input {
	const char *name;
	bool has_hw, has_fw, has_attrs;
	const char *hardware_type; /* NULL = set to null when has_hw */
	const char *firmware_version;
	char fw_key[SEMVER_SORT_KEY_SIZE];
	json_t *attributes; /* borrowed */
};

static bool is_valid_hw(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= 128)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ':' || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return n > 0;
}

/* JSON pointer prefix/member/key with the key escaped per RFC 6901 (~0, ~1). */
static void pointer_of(char *out, size_t outlen, const char *prefix, const char *member,
		       const char *key)
{
	size_t o = (size_t)snprintf(out, outlen, "%s/%s/", prefix, member);
	for (const char *k = key; *k && o + 3 < outlen; k++) {
		if (*k == '~' || *k == '/') {
			out[o++] = '~';
			out[o++] = *k == '~' ? '0' : '1';
		} else {
			out[o++] = *k;
		}
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

/* Validate an attributes object; on error sets the reply naming prefix + "/attributes/key". */
static bool check_attributes(json_t *attrs, const char *prefix, const char *member,
			     bool allow_null_values, struct reply *rep)
{
	const char *key;
	json_t *v;
	char ptr[400];

	snprintf(ptr, sizeof(ptr), "%s/%s", prefix, member);
	if (!json_is_object(attrs)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr, "%s must be an object of strings",
			    member);
		return false;
	}
	if (json_object_size(attrs) > THING_MAX_ATTRIBUTES) {
		reply_error(rep, BW_ERR_LIMIT_EXCEEDED, ptr, "at most %d attributes are allowed",
			    THING_MAX_ATTRIBUTES);
		return false;
	}
	json_object_foreach(attrs, key, v) {
		if (!strutil_is_valid_attr_key(key)) {
			pointer_of(ptr, sizeof(ptr), prefix, member, key);
			reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
				    "attribute keys are 1..128 characters of a-z A-Z 0-9 _ . : -");
			return false;
		}
		pointer_of(ptr, sizeof(ptr), prefix, member, key);
		if (json_is_null(v) && allow_null_values)
			continue;
		if (!json_is_string(v)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, ptr, "attribute '%s' must be a string",
				    key);
			return false;
		}
		if (!strutil_is_valid_attr_value(json_string_value(v))) {
			reply_error(
				rep, BW_ERR_BAD_REQUEST, ptr,
				"attribute values are at most 800 bytes without control characters");
			return false;
		}
	}
	return true;
}

/* Parse and validate a thing object at JSON pointer prefix. */
static bool parse_thing(json_t *obj, const char *prefix, bool is_create, struct thing_input *in,
			struct reply *rep)
{
	static const char *const create_fields[] = { "name", "hardware_type", "firmware_version",
						     "attributes", NULL };
	static const char *const update_fields[] = { "version",		 "hardware_type",
						     "firmware_version", "attributes",
						     "merge_attributes", NULL };
	char ptr[300];
	bool is_null;

	memset(in, 0, sizeof(*in));
	if (!json_is_object(obj)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, prefix, "a thing must be a JSON object");
		return false;
	}
	if (!api_check_fields(obj, is_create ? create_fields : update_fields, prefix, rep))
		return false;
	if (is_create) {
		snprintf(ptr, sizeof(ptr), "%s/name", prefix);
		json_t *n = json_object_get(obj, "name");
		if (!json_is_string(n) || !strutil_is_valid_thing_name(json_string_value(n))) {
			reply_error(rep, BW_ERR_INVALID_NAME, ptr,
				    "thing names are 1..128 characters of a-z A-Z 0-9 : _ -");
			return false;
		}
		in->name = json_string_value(n);
	}
	in->has_hw = json_object_get(obj, "hardware_type") != NULL;
	if (!api_opt_string(obj, "hardware_type", prefix, &in->hardware_type, &is_null, rep))
		return false;
	if (in->hardware_type && !is_valid_hw(in->hardware_type)) {
		snprintf(ptr, sizeof(ptr), "%s/hardware_type", prefix);
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
			    "hardware_type is 1..128 characters of a-z A-Z 0-9 : _ . -");
		return false;
	}
	in->has_fw = json_object_get(obj, "firmware_version") != NULL;
	if (!api_opt_string(obj, "firmware_version", prefix, &in->firmware_version, &is_null, rep))
		return false;
	if (in->firmware_version &&
	    !semver_sort_key(in->firmware_version, in->fw_key, sizeof(in->fw_key))) {
		snprintf(ptr, sizeof(ptr), "%s/firmware_version", prefix);
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
			    "firmware_version must be a semantic version such as 1.2.0");
		return false;
	}
	in->attributes = json_object_get(obj, "attributes");
	in->has_attrs = in->attributes != NULL;
	if (in->attributes && !check_attributes(in->attributes, prefix, "attributes", false, rep))
		return false;
	return true;
}

static bool check_name_param(const struct request *req, struct reply *rep, const char **name)
{
	*name = request_param(req, "thing");
	if (!*name || !strutil_is_valid_thing_name(*name)) {
		reply_error(rep, BW_ERR_INVALID_NAME, NULL,
			    "thing names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	return true;
}

/* ---- create ---- */

struct create_ctx {
	const struct request *req;
	struct thing_input in;
	char *attrs_text;
	json_t *out;
	bool is_duplicate;
};

static enum db_status create_tx(struct db *db, void *arg)
{
	struct create_ctx *c = arg;
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->is_duplicate = false;
	const char *params[] = { c->in.name, c->in.hardware_type, c->in.firmware_version,
				 c->in.firmware_version ? c->in.fw_key : NULL, c->attrs_text };
	st = db_query_json(db,
			   "INSERT INTO things (name, hardware_type, firmware_version,"
			   " firmware_sort_key, attributes) VALUES ($1, $2, $3, $4,"
			   " coalesce($5::jsonb, '{}')) ON CONFLICT (name) DO NOTHING"
			   " RETURNING bw_thing_json(things)",
			   5, params, &c->out);
	if (st == DB_NONE) {
		c->is_duplicate = true;
		return DB_NONE;
	}
	if (st < 0)
		return st;
	return api_audit(db, c->req, "thing.create", "thing", c->in.name, NULL);
}

void api_things_create(const struct request *req, struct reply *rep)
{
	struct create_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep);

	if (!body || !parse_thing(body, "", true, &c.in, rep))
		return;
	if (c.in.attributes) {
		c.attrs_text = json_dumps(c.in.attributes, JSON_COMPACT);
		if (!c.attrs_text) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			return;
		}
	}
	if (!api_tx(rep, DB_READ_COMMITTED, create_tx, &c))
		goto out;
	if (c.is_duplicate)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/name", "thing '%s' already exists",
			    c.in.name);
	else {
		reply_json(rep, 201, c.out);
		c.out = NULL;
	}
out:
	json_decref(c.out);
	free(c.attrs_text);
}

/* ---- bulk ---- */

struct bulk_ctx {
	const struct request *req;
	const char *rows_text;
	size_t total;
	bool is_skip;
	long long conflict_index; /* -1 none */
	long long created;
};

static enum db_status bulk_tx(struct db *db, void *arg)
{
	struct bulk_ctx *c = arg;
	struct db_rows *rows = NULL;
	enum db_status st;
	const char *params[] = { c->rows_text };

	c->conflict_index = -1;
	c->created = 0;
	if (!c->is_skip) {
		st = db_exec(db,
			     "SELECT min(x.ord) - 1 FROM jsonb_array_elements($1::jsonb) WITH"
			     " ORDINALITY AS x(e, ord) JOIN things t ON t.name = x.e->>'name'",
			     1, params, &rows);
		if (st < 0)
			return st;
		if (db_rows_get(rows, 0, 0)) {
			c->conflict_index = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
			db_rows_free(rows);
			return DB_NONE;
		}
		db_rows_free(rows);
		rows = NULL;
	}
	st = db_exec(db,
		     "WITH ins AS (INSERT INTO things (name, hardware_type, firmware_version,"
		     " firmware_sort_key, attributes) SELECT x.name, x.hardware_type,"
		     " x.firmware_version, x.firmware_sort_key, coalesce(x.attributes, '{}')"
		     " FROM jsonb_to_recordset($1::jsonb) AS x(name text, hardware_type text,"
		     " firmware_version text, firmware_sort_key text, attributes jsonb)"
		     " ON CONFLICT (name) DO NOTHING RETURNING 1) SELECT count(*) FROM ins",
		     1, params, &rows);
	if (st < 0)
		return st;
	c->created = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	db_rows_free(rows);
	if (!c->is_skip && (size_t)c->created != c->total) {
		/* a concurrent writer created one of the names after our check */
		c->conflict_index = 0;
		return DB_RETRY;
	}
	json_t *det =
		json_pack("{s:I, s:I, s:s}", "requested", (json_int_t)c->total, "created",
			  (json_int_t)c->created, "on_conflict", c->is_skip ? "skip" : "fail");
	st = api_audit(db, c->req, "thing.bulk_create", "thing", "*", det);
	json_decref(det);
	return st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void api_things_bulk(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "things", "on_conflict", NULL };
	struct bulk_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep);
	json_t *things, *rows = NULL, *item;
	const char **names = NULL;
	const char *mode = NULL;
	char *text = NULL;
	size_t i;
	struct db *db;
	enum db_status st;

	if (!body || !api_check_fields(body, fields, "", rep) ||
	    !api_opt_string(body, "on_conflict", "", &mode, NULL, rep))
		return;
	if (mode && strcmp(mode, "skip") != 0 && strcmp(mode, "fail") != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/on_conflict",
			    "on_conflict must be 'fail' or 'skip'");
		return;
	}
	c.is_skip = mode && strcmp(mode, "skip") == 0;
	things = json_object_get(body, "things");
	if (!json_is_array(things) || json_array_size(things) == 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/things",
			    "things must be a non-empty array of thing objects");
		return;
	}
	c.total = json_array_size(things);
	if (c.total > BULK_MAX_THINGS) {
		reply_error(rep, BW_ERR_LIMIT_EXCEEDED, "/things",
			    "at most %d things per bulk request (got %zu)", BULK_MAX_THINGS,
			    c.total);
		return;
	}
	rows = json_array();
	names = calloc(c.total, sizeof(*names));
	if (!rows || !names) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(things, i, item) {
		struct thing_input in;
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "/things/%zu", i);
		if (!parse_thing(item, prefix, true, &in, rep))
			goto out;
		names[i] = in.name;
		json_t *row =
			json_pack("{s:s, s:s?, s:s?, s:s?, s:O?}", "name", in.name, "hardware_type",
				  in.hardware_type, "firmware_version", in.firmware_version,
				  "firmware_sort_key", in.firmware_version ? in.fw_key : NULL,
				  "attributes", in.attributes);
		if (!row || json_array_append_new(rows, row) != 0) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			goto out;
		}
	}
	if (!c.is_skip) {
		const char **sorted = malloc(c.total * sizeof(*sorted));
		if (!sorted) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			goto out;
		}
		memcpy(sorted, names, c.total * sizeof(*sorted));
		qsort(sorted, c.total, sizeof(*sorted), cmp_str);
		for (i = 1; i < c.total; i++) {
			if (strcmp(sorted[i], sorted[i - 1]) == 0) {
				size_t k;
				for (k = 0; k < c.total && strcmp(names[k], sorted[i]) != 0; k++)
					;
				for (k = k + 1; k < c.total && strcmp(names[k], sorted[i]) != 0;
				     k++)
					;
				char ptr[40];
				snprintf(ptr, sizeof(ptr), "/things/%zu/name", k);
				reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
					    "thing '%s' appears twice in the request", sorted[i]);
				free(sorted);
				goto out;
			}
		}
		free(sorted);
	}
	text = json_dumps(rows, JSON_COMPACT);
	if (!text) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	c.rows_text = text;
	db = api_db_get(rep);
	if (!db)
		goto out;
	st = db_tx_run(db, DB_READ_COMMITTED, bulk_tx, &c);
	db_pool_put(db);
	if (st < 0 && !(st == DB_RETRY && c.conflict_index >= 0)) {
		api_reply_db_error(rep, st);
	} else if (c.conflict_index >= 0) {
		char ptr[40];
		snprintf(ptr, sizeof(ptr), "/things/%lld/name", c.conflict_index);
		reply_error(rep, BW_ERR_ALREADY_EXISTS, ptr,
			    "thing '%s' already exists; nothing was created (use on_conflict=skip"
			    " to create only the new ones)",
			    names[c.conflict_index]);
	} else {
		reply_json(rep, 200,
			   json_pack("{s:I, s:I}", "created", (json_int_t)c.created, "skipped",
				     (json_int_t)(c.total - (size_t)c.created)));
	}
out:
	free(text);
	free(names);
	json_decref(rows);
}

/* ---- get / list ---- */

void api_things_get(const struct request *req, struct reply *rep)
{
	const char *name;
	json_t *out = NULL;

	if (!check_name_param(req, rep, &name))
		return;
	const char *params[] = { name };
	if (!api_read_json(rep, "SELECT bw_thing_json(t) FROM things t WHERE t.name = $1", 1,
			   params, &out))
		return;
	if (!out)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "thing '%s' not found", name);
	else
		reply_json(rep, 200, out);
}

void api_things_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct api_params p = { 0 };
	struct buf where;
	struct db *db = NULL;
	const char *group = request_query(req, "group");

	buf_init(&where);
	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (!registry_filter_common(req, &where, &p, rep))
		goto out;
	db = api_db_get(rep);
	if (!db)
		goto out;
	if (group && !registry_filter_group(db, group, true, &where, &p, rep))
		goto out;
	registry_list_things(req, rep, db, &where, &p, &page);
out:
	db_pool_put(db);
	buf_cleanup(&where);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
}

/* ---- update ---- */

struct update_ctx {
	const struct request *req;
	const char *name;
	struct thing_input in;
	char version[32];
	char *attrs_text;
	char *merge_text;
	json_t *out;
	bool is_missing;
	bool is_stale;
	bool is_too_many;
};

static enum db_status update_tx(struct db *db, void *arg)
{
	struct update_ctx *c = arg;
	enum db_status st;
	char hw_set[2] = { c->in.has_hw ? '1' : '0', 0 };
	char fw_set[2] = { c->in.has_fw ? '1' : '0', 0 };

	json_decref(c->out);
	c->out = NULL;
	c->is_missing = c->is_stale = c->is_too_many = false;
	const char *params[] = { c->name,
				 c->version,
				 hw_set,
				 c->in.hardware_type,
				 fw_set,
				 c->in.firmware_version,
				 c->in.firmware_version ? c->in.fw_key : NULL,
				 c->attrs_text,
				 c->merge_text };
	st = db_query_json(
		db,
		"UPDATE things t SET"
		" hardware_type = CASE WHEN $3 = '1' THEN $4 ELSE t.hardware_type END,"
		" firmware_version = CASE WHEN $5 = '1' THEN $6 ELSE t.firmware_version END,"
		" firmware_sort_key = CASE WHEN $5 = '1' THEN $7 ELSE t.firmware_sort_key END,"
		" attributes = jsonb_strip_nulls(coalesce($8::jsonb, t.attributes) ||"
		"   coalesce($9::jsonb, '{}')),"
		" version = t.version + 1, updated_at = now()"
		" WHERE t.name = $1 AND t.version = $2::bigint RETURNING bw_thing_json(t)",
		9, params, &c->out);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		struct db_rows *rows = NULL;
		st = db_exec(db, "SELECT version FROM things WHERE name = $1", 1, params, &rows);
		db_rows_free(rows);
		if (st < 0)
			return st;
		if (st == DB_NONE)
			c->is_missing = true;
		else
			c->is_stale = true;
		return DB_NONE;
	}
	if (json_object_size(json_object_get(c->out, "attributes")) > THING_MAX_ATTRIBUTES) {
		c->is_too_many = true;
		return DB_HARD; /* rolls back */
	}
	json_t *det = json_deep_copy(c->req->json);
	st = api_audit(db, c->req, "thing.update", "thing", c->name, det);
	json_decref(det);
	return st;
}

static bool parse_version(json_t *obj, char *out, size_t outlen, struct reply *rep)
{
	json_t *v = json_object_get(obj, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		reply_error(
			rep, BW_ERR_BAD_REQUEST, "/version",
			"version (the thing's current version, a positive integer) is required");
		return false;
	}
	snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
	return true;
}

void api_things_update(const struct request *req, struct reply *rep)
{
	struct update_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep);
	json_t *merge;
	struct db *db;
	enum db_status st;

	if (!body || !check_name_param(req, rep, &c.name) ||
	    !parse_thing(body, "", false, &c.in, rep) ||
	    !parse_version(body, c.version, sizeof(c.version), rep))
		return;
	merge = json_object_get(body, "merge_attributes");
	if (merge && !check_attributes(merge, "", "merge_attributes", true, rep))
		return;
	if (merge && c.in.attributes) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/merge_attributes",
			    "give either attributes (replace) or merge_attributes, not both");
		return;
	}
	if (c.in.attributes)
		c.attrs_text = json_dumps(c.in.attributes, JSON_COMPACT);
	if (merge)
		c.merge_text = json_dumps(merge, JSON_COMPACT);
	if ((c.in.attributes && !c.attrs_text) || (merge && !c.merge_text)) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	db = api_db_get(rep);
	if (!db)
		goto out;
	st = db_tx_run(db, DB_READ_COMMITTED, update_tx, &c);
	db_pool_put(db);
	if (st < 0 && !c.is_too_many)
		api_reply_db_error(rep, st);
	else if (c.is_missing)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "thing '%s' not found", c.name);
	else if (c.is_stale)
		reply_error(rep, BW_ERR_VERSION_CONFLICT, "/version",
			    "thing '%s' is not at version %s (it changed since you read it)",
			    c.name, c.version);
	else if (c.is_too_many)
		reply_error(rep, BW_ERR_LIMIT_EXCEEDED, "/merge_attributes",
			    "the merged attributes would exceed %d keys", THING_MAX_ATTRIBUTES);
	else {
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
out:
	json_decref(c.out);
	free(c.attrs_text);
	free(c.merge_text);
}

/* ---- delete ---- */

struct delete_ctx {
	const struct request *req;
	const char *name;
	const char *version; /* NULL = any */
	bool is_missing;
	bool is_stale;
};

static enum db_status delete_tx(struct db *db, void *arg)
{
	struct delete_ctx *c = arg;
	const char *params[] = { c->name, c->version };
	enum db_status st;

	c->is_missing = c->is_stale = false;
	st = db_exec(
		db,
		"DELETE FROM things WHERE name = $1 AND ($2::bigint IS NULL OR version = $2::bigint)",
		2, params, NULL);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		st = db_exec(db, "SELECT 1 FROM things WHERE name = $1", 1, params, NULL);
		if (st < 0)
			return st;
		if (st == DB_NONE)
			c->is_missing = true;
		else
			c->is_stale = true;
		return DB_NONE;
	}
	return api_audit(db, c->req, "thing.delete", "thing", c->name, NULL);
}

void api_things_delete(const struct request *req, struct reply *rep)
{
	struct delete_ctx c = { .req = req };
	int64_t v;

	if (!check_name_param(req, rep, &c.name))
		return;
	c.version = request_query(req, "version");
	if (c.version && (!config_parse_int(c.version, &v) || v < 1)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
			    "version must be a positive integer");
		return;
	}
	if (!api_tx(rep, DB_READ_COMMITTED, delete_tx, &c))
		return;
	if (c.is_missing)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "thing '%s' not found", c.name);
	else if (c.is_stale)
		reply_error(rep, BW_ERR_VERSION_CONFLICT, "/version",
			    "thing '%s' is not at version %s", c.name, c.version);
	else
		reply_json(rep, 204, NULL);
}

/* ---- groups of a thing ---- */

void api_things_groups(const struct request *req, struct reply *rep)
{
	const char *name;
	struct db *db;
	struct db_rows *rows = NULL;
	json_t *items = NULL, *thing = NULL;
	enum db_status st;

	if (!check_name_param(req, rep, &name))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { name };
	st = db_query_json(db, "SELECT bw_thing_json(t) FROM things t WHERE t.name = $1", 1, params,
			   &thing);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	if (!thing) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "thing '%s' not found", name);
		goto out;
	}
	st = db_query_json(db,
			   "SELECT coalesce(jsonb_agg(jsonb_build_object('name', g.name, 'type',"
			   " g.type) ORDER BY g.name), '[]') FROM thing_groups g JOIN"
			   " thing_group_members m ON m.group_id = g.id JOIN things t ON t.id ="
			   " m.thing_id WHERE t.name = $1",
			   1, params, &items);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	/* dynamic groups: evaluate each group's query against this thing, in SQL */
	st = db_exec(db,
		     "SELECT name, query FROM thing_groups WHERE type = 'dynamic' ORDER BY name", 0,
		     NULL, &rows);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	for (int r = 0; rows && r < rows->nrows; r++) {
		struct api_params p = { 0 };
		struct buf sql;
		struct reply scratch;
		buf_init(&sql);
		reply_init(&scratch, NULL);
		buf_printf(&sql, "SELECT 1 FROM things t WHERE t.name = $%d",
			   api_params_add(&p, name));
		if (registry_filter_query(db_rows_get(rows, r, 1), "/query", &sql, &p, &scratch)) {
			st = db_exec(db, sql.data, p.n, p.values, NULL);
			if (st == DB_ONE)
				json_array_append_new(items, json_pack("{s:s, s:s}", "name",
								       db_rows_get(rows, r, 0),
								       "type", "dynamic"));
		}
		reply_cleanup(&scratch);
		buf_cleanup(&sql);
		api_params_cleanup(&p);
	}
	reply_json(rep, 200, json_pack("{s:O}", "items", items));
out:
	db_rows_free(rows);
	json_decref(items);
	json_decref(thing);
	db_pool_put(db);
}
