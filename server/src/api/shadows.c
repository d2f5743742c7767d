/* Native /api/v1 shadow routes (docs/SHADOW.md "Native API"): list, get, update, delete,
 * config history, revert, and fleet queries. Native error shape and pagination (api/common.h);
 * shadow documents keep the AWS form inside (state, metadata with epoch-second timestamps).
 * The classic shadow is spelled API_SHADOW_CLASSIC ("~classic"). Changes go through the shadow
 * engine (mqtt/shadow.h): same rules, history and MQTT events as device updates, plus one audit
 * row in the same transaction. */
#include "api/shadow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/registry_filter.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/strutil.h"
#include "json/page.h"
#include "mqtt/shadow.h"
#include "shadow/dump.h"
#include "shadow/query.h"

/* Thing and shadow from the path: *name is the stored name ("" = classic), *display the
 * native spelling. */
static bool native_target(const struct request *req, struct reply *rep, const char **thing,
			  const char **name, const char **display)
{
	const char *shadow = request_param(req, "shadow");

	*thing = request_param(req, "thing");
	if (!*thing || !strutil_is_valid_thing_name(*thing)) {
		reply_error(rep, BW_ERR_INVALID_NAME, NULL,
			    "thing names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	if (!shadow) { /* the list route has no shadow */
		*name = *display = NULL;
		return true;
	}
	*display = shadow;
	if (strcmp(shadow, API_SHADOW_CLASSIC) == 0) {
		*name = "";
		return true;
	}
	if (!strutil_is_valid_shadow_name(shadow)) {
		reply_error(rep, BW_ERR_INVALID_NAME, NULL,
			    "shadow names are 1..64 characters of a-z A-Z 0-9 : _ - $, or "
			    "%s for the classic shadow",
			    API_SHADOW_CLASSIC);
		return false;
	}
	*name = shadow;
	return true;
}

static const char *display_name(const char *name)
{
	return *name ? name : API_SHADOW_CLASSIC;
}

/* JSON reply through the shadow serialiser (numbers as clients sent them); steals v. */
static void reply_shadow_json(struct reply *rep, unsigned status, json_t *v)
{
	size_t len = 0;
	char *text = v ? shadow_dumps(v, 0, &len) : NULL;

	json_decref(v);
	if (!text) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	reply_raw(rep, status, "application/json", text, len);
	free(text);
}

/*
 * The native shadow object: {"thing_name","shadow_name","classic","version","state":{"desired"?,
 * "reported"?,"delta"?},"metadata"? (with_metadata),"created_at","updated_at"}. NULL on a
 * corrupt document or allocation failure.
 */
static json_t *shadow_object(const char *thing, const char *name, const char *doc_text,
			     const char *version, const char *created_at, const char *updated_at,
			     bool with_metadata)
{
	json_t *doc = json_loads(doc_text, 0, NULL);
	json_t *out = NULL;
	struct shadow s;
	int code;
	char msg[SHADOW_MSG_MAX];

	shadow_init(&s);
	if (!doc || shadow_from_document(doc, &s) != SHADOW_OK)
		goto out;
	s.version = strtoll(version, NULL, 10);
	if (shadow_get_document(&s, 0, NULL, name, &out, &code, msg, sizeof(msg)) != SHADOW_OK)
		goto out;
	json_object_del(out, "timestamp");
	if (!with_metadata)
		json_object_del(out, "metadata");
	if (json_object_set_new(out, "thing_name", json_string(thing)) < 0 ||
	    json_object_set_new(out, "shadow_name", json_string(display_name(name))) < 0 ||
	    json_object_set_new(out, "classic", json_boolean(!*name)) < 0 ||
	    json_object_set_new(out, "created_at", json_string(created_at)) < 0 ||
	    json_object_set_new(out, "updated_at", json_string(updated_at)) < 0) {
		json_decref(out);
		out = NULL;
	}
out:
	if (!out)
		log_error("api", "shadow_render_failed", LOG_S("thing", thing), LOG_END);
	shadow_cleanup(&s);
	json_decref(doc);
	return out;
}

/* Load and render one present shadow. DB_NONE when it does not exist (or is deleted). */
static enum db_status load_object(struct db *db, const char *thing, const char *name, json_t **out)
{
	const char *params[] = { thing, name };
	struct db_rows *rows = NULL;
	enum db_status st;

	*out = NULL;
	st = db_exec(db,
		     "SELECT s.document::text, s.version, bw_ts(s.created_at), bw_ts(s.updated_at)"
		     " FROM shadows s WHERE s.thing_name = $1 AND s.shadow_name = $2"
		     " AND s.deleted_at IS NULL",
		     2, params, &rows);
	if (st > 0) {
		*out = shadow_object(thing, name, db_rows_get(rows, 0, 0), db_rows_get(rows, 0, 1),
				     db_rows_get(rows, 0, 2), db_rows_get(rows, 0, 3), true);
		if (!*out)
			st = DB_HARD;
	}
	db_rows_free(rows);
	return st;
}

/* 200 with the current shadow (after a change), or the matching error. */
static void reply_object(struct reply *rep, const char *thing, const char *name)
{
	struct db *db = api_db_get(rep);
	enum db_status st;
	json_t *obj;

	if (!db)
		return;
	st = load_object(db, thing, name, &obj);
	db_pool_put(db);
	if (st == DB_NONE)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "shadow '%s' of thing '%s' not found",
			    display_name(name), thing);
	else if (st < 0)
		api_reply_db_error(rep, st);
	else
		reply_shadow_json(rep, 200, obj);
}

/* A page of JSON rows: column 0 the item (jsonb text), column 1 its cursor key (an integer when
 * is_int_key). Items are re-serialised by the shadow serialiser, so numbers read as clients
 * wrote them (jsonb prints 1e+23 as 99999999999999991611392.0). */
static void reply_raw_page(struct reply *rep, const struct db_rows *rows, int limit,
			   bool is_int_key)
{
	struct buf b;
	int n = rows ? rows->nrows : 0;

	buf_init(&b);
	buf_puts(&b, "{\"items\":[");
	for (int i = 0; i < n && i < limit; i++) {
		json_t *item = json_loads(db_rows_get(rows, i, 0), 0, NULL);

		if (i)
			buf_putc(&b, ',');
		if (!item || !shadow_dump(item, 0, &b))
			b.is_oom = true;
		json_decref(item);
	}
	buf_putc(&b, ']');
	if (n > limit) {
		const char *key = db_rows_get(rows, limit - 1, 1);
		json_t *keys = is_int_key ? json_pack("[I]", (json_int_t)strtoll(key, NULL, 10))
					  : json_pack("[s]", key);
		char *cursor = keys ? page_cursor_encode(keys) : NULL;

		json_decref(keys);
		if (!cursor)
			b.is_oom = true;
		buf_puts(&b, ",\"next_cursor\":");
		buf_json_str(&b, cursor ? cursor : "");
		free(cursor);
	}
	buf_putc(&b, '}');
	if (b.is_oom || !b.data)
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
	else
		reply_raw(rep, 200, "application/json", b.data, b.len);
	buf_cleanup(&b);
}

/* ---- engine errors -> native errors ---- */

static const char *field_of(enum shadow_err err)
{
	switch (err) {
	case SHADOW_ERR_DESIRED_NOT_OBJECT:
		return "/state/desired";
	case SHADOW_ERR_REPORTED_NOT_OBJECT:
		return "/state/reported";
	case SHADOW_ERR_INVALID_VERSION:
		return "/version";
	case SHADOW_ERR_MISSING_STATE:
	case SHADOW_ERR_STATE_NOT_OBJECT:
	case SHADOW_ERR_INVALID_STATE_NODE:
	case SHADOW_ERR_TOO_DEEP:
	case SHADOW_ERR_NULL_IN_ARRAY:
		return "/state";
	default:
		return NULL;
	}
}

static void native_error(struct reply *rep, const struct mqtt_shadow_request *r)
{
	const char *name = display_name(r->name);

	switch (r->err) {
	case SHADOW_ERR_NOT_FOUND:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "shadow '%s' of thing '%s' not found",
			    name, r->thing);
		return;
	case SHADOW_ERR_THING_NOT_FOUND:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL,
			    "thing '%s' not found (BW_SHADOW_REQUIRE_THING is on)", r->thing);
		return;
	case SHADOW_ERR_VERSION_CONFLICT:
		reply_error(rep, BW_ERR_VERSION_CONFLICT, "/version",
			    "shadow '%s' of thing '%s' was changed by someone else (stale version)",
			    name, r->thing);
		return;
	case SHADOW_ERR_TOO_LARGE:
		reply_error(rep, BW_ERR_PAYLOAD_TOO_LARGE, "/state",
			    "%s (desired + reported may hold at most %zu bytes)", r->message,
			    mqtt_shadow_options()->max_state_bytes);
		return;
	case SHADOW_ERR_UNSUPPORTED_ENCODING:
		reply_error(rep, BW_ERR_UNSUPPORTED_MEDIA_TYPE, NULL, "%s", r->message);
		return;
	case SHADOW_ERR_INTERNAL:
		if (r->is_unavailable) {
			reply_error(rep, BW_ERR_UNAVAILABLE, NULL, "database busy, retry later");
			reply_header(rep, "Retry-After", "1");
		} else {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "internal error");
		}
		return;
	default:
		reply_error(rep, BW_ERR_BAD_REQUEST, field_of(r->err), "%s", r->message);
	}
}

/* ---- the audit row, written by the engine inside its transaction ---- */

struct audit_ctx {
	const struct request *req;
	const char *action;
	char resource[STRUTIL_THING_NAME_MAX + STRUTIL_SHADOW_NAME_MAX + 2];
};

static enum db_status audit_hook(struct db *db, const struct mqtt_shadow_request *r, void *arg)
{
	struct audit_ctx *a = arg;
	json_t *details = json_pack("{s:I}", "version", (json_int_t)r->version);
	enum db_status st;

	if (!details)
		return DB_HARD;
	if (r->kind == MQTT_SHADOW_REVERT &&
	    json_object_set_new(details, "reverted_to_version",
				json_integer((json_int_t)r->revert_version)) < 0) {
		json_decref(details);
		return DB_HARD;
	}
	st = api_audit(db, a->req, a->action, "shadow", a->resource, details);
	json_decref(details);
	return st < 0 ? st : DB_ONE;
}

/* Run one native change through the engine with its audit row. */
static void native_run(const struct request *req, struct mqtt_shadow_request *r, const char *thing,
		       const char *name, const char *action)
{
	struct audit_ctx a = { .req = req, .action = action };

	snprintf(a.resource, sizeof(a.resource), "%s/%s", thing, display_name(name));
	r->thing = thing;
	r->name = name;
	r->source = MQTT_SHADOW_SOURCE_API;
	r->actor = req->principal.name[0] ? req->principal.name : "anonymous";
	r->actor_token_id = req->principal.token_id;
	r->request_id = req->request_id;
	mqtt_shadow_run(r, 1, audit_hook, &a);
}

/* ---- routes ---- */

static json_t *list_key(json_t *item)
{
	bool is_classic = json_is_true(json_object_get(item, "classic"));

	return json_pack("[s]",
			 is_classic ? "" : json_string_value(json_object_get(item, "shadow_name")));
}

void api_shadows_list(const struct request *req, struct reply *rep)
{
	const char *thing, *name, *display;
	struct api_page page;
	struct db_rows *rows = NULL;
	struct db *db = NULL;
	json_t *items = NULL;
	char limit[16];
	enum db_status st;

	if (!native_target(req, rep, &thing, &name, &display) ||
	    !api_page_parse(req, rep, 1, &page))
		return;
	if (page.after && !json_is_string(json_array_get(page.after, 0))) {
		reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
			    "the cursor is malformed or belongs to another listing");
		goto out;
	}
	db = api_db_get(rep);
	if (!db)
		goto out;
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	const char *params[] = {
		thing, page.after ? json_string_value(json_array_get(page.after, 0)) : NULL, limit
	};
	st = db_exec(db,
		     "SELECT s.shadow_name, s.version, s.document::text, bw_ts(s.created_at),"
		     " bw_ts(s.updated_at) FROM shadows s WHERE s.thing_name = $1"
		     " AND s.deleted_at IS NULL AND ($2::text IS NULL OR s.shadow_name > $2)"
		     " ORDER BY s.shadow_name LIMIT $3::int",
		     3, params, &rows);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	items = json_array();
	for (int i = 0; items && rows && i < rows->nrows; i++) {
		json_t *o = shadow_object(thing, db_rows_get(rows, i, 0), db_rows_get(rows, i, 2),
					  db_rows_get(rows, i, 1), db_rows_get(rows, i, 3),
					  db_rows_get(rows, i, 4), false);

		if (!o || json_array_append_new(items, o) < 0) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "could not render a shadow");
			goto out;
		}
	}
	reply_shadow_json(rep, 200, api_page_reply(items, page.limit, list_key));
	items = NULL;
out:
	json_decref(items);
	db_rows_free(rows);
	db_pool_put(db);
	api_page_cleanup(&page);
}

void api_shadows_get(const struct request *req, struct reply *rep)
{
	const char *thing, *name, *display;

	if (!native_target(req, rep, &thing, &name, &display))
		return;
	reply_object(rep, thing, name);
}

void api_shadows_update(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "state", "version", NULL };
	const char *thing, *name, *display;
	struct mqtt_shadow_request r;
	json_t *body;
	char *text;

	if (!native_target(req, rep, &thing, &name, &display))
		return;
	body = api_body_object(req, rep);
	if (!body || !api_check_fields(body, fields, "", rep))
		return;
	text = json_dumps(body, JSON_COMPACT);
	if (!text) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	mqtt_shadow_request_init(&r);
	r.kind = MQTT_SHADOW_UPDATE;
	r.payload = text;
	r.payload_len = strlen(text);
	native_run(req, &r, thing, name, "shadow.update");
	if (r.err)
		native_error(rep, &r);
	else
		reply_object(rep, thing, name);
	mqtt_shadow_request_cleanup(&r);
	free(text);
}

/* Optional ?version=N: decimal, 1..2^63-1. */
static bool parse_version_param(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
		return false;
	v = strtoll(s, &end, 10);
	if (v < 1)
		return false;
	*out = v;
	return true;
}

void api_shadows_delete(const struct request *req, struct reply *rep)
{
	const char *thing, *name, *display;
	const char *version = request_query(req, "version");
	struct mqtt_shadow_request r;

	if (!native_target(req, rep, &thing, &name, &display))
		return;
	mqtt_shadow_request_init(&r);
	r.kind = MQTT_SHADOW_DELETE;
	if (version) {
		if (!parse_version_param(version, &r.expected_version)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
				    "version must be a positive integer");
			return;
		}
		r.has_expected_version = true;
	}
	native_run(req, &r, thing, name, "shadow.delete");
	if (r.err)
		native_error(rep, &r);
	else
		reply_json(rep, 204, NULL);
	mqtt_shadow_request_cleanup(&r);
}

void api_shadows_history(const struct request *req, struct reply *rep)
{
	const char *thing, *name, *display;
	struct api_page page;
	struct db_rows *rows = NULL;
	struct db *db = NULL;
	char limit[16], after[24] = "";
	enum db_status st;

	if (!native_target(req, rep, &thing, &name, &display) ||
	    !api_page_parse(req, rep, 1, &page))
		return;
	if (page.after) {
		json_t *k = json_array_get(page.after, 0);

		if (!json_is_integer(k) || json_integer_value(k) < 1) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed or belongs to another listing");
			goto out;
		}
		snprintf(after, sizeof(after), "%" JSON_INTEGER_FORMAT, json_integer_value(k));
	}
	db = api_db_get(rep);
	if (!db)
		goto out;
	const char *p2[] = { thing, name };
	st = db_exec(db, "SELECT 1 FROM shadows WHERE thing_name = $1 AND shadow_name = $2", 2, p2,
		     NULL);
	if (st == DB_NONE) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "shadow '%s' of thing '%s' not found",
			    display, thing);
		goto out;
	}
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	const char *params[] = { thing, name, after[0] ? after : NULL, limit };
	st = db_exec(db,
		     "SELECT jsonb_build_object('version', h.version, 'kind', h.kind,"
		     " 'at', bw_ts(h.at), 'source', h.source, 'actor', h.actor,"
		     " 'actor_token_id', h.actor_token_id::text, 'request_id', h.request_id,"
		     " 'client_token', h.client_token, 'previous_desired', h.previous_desired,"
		     " 'desired', h.desired, 'reverted_to_version', h.reverted_to_version)::text,"
		     " h.id FROM shadow_history h WHERE h.thing_name = $1 AND h.shadow_name = $2"
		     " AND ($3::bigint IS NULL OR h.id < $3::bigint) ORDER BY h.id DESC"
		     " LIMIT $4::int",
		     4, params, &rows);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	reply_raw_page(rep, rows, page.limit, true);
out:
	db_rows_free(rows);
	db_pool_put(db);
	api_page_cleanup(&page);
}

void api_shadows_revert(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "version", NULL };
	const char *thing, *name, *display;
	struct mqtt_shadow_request r;
	json_t *body, *v;

	if (!native_target(req, rep, &thing, &name, &display))
		return;
	body = api_body_object(req, rep);
	if (!body || !api_check_fields(body, fields, "", rep))
		return;
	v = json_object_get(body, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
			    "version (the shadow version whose desired state to restore) must be a "
			    "positive integer");
		return;
	}
	mqtt_shadow_request_init(&r);
	r.kind = MQTT_SHADOW_REVERT;
	r.revert_version = json_integer_value(v);
	native_run(req, &r, thing, name, "shadow.revert");
	if (r.err == SHADOW_ERR_INVALID_VERSION)
		reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
			    "shadow '%s' of thing '%s' has no version %" PRId64, display, thing,
			    r.revert_version);
	else if (r.err)
		native_error(rep, &r);
	else
		reply_object(rep, thing, name);
	mqtt_shadow_request_cleanup(&r);
}

/* ---- fleet query ---- */

/* ["state", section, segments...] as JSON text for the #> operator. */
static char *section_path(const char *section, const json_t *segments)
{
	json_t *p = json_pack("[ss]", "state", section);
	char *text = NULL;

	if (p && json_array_extend(p, (json_t *)segments) == 0)
		text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	return text;
}

/* Appends one query condition, or sets a 400 reply and returns false. */
static bool query_condition(enum shadow_query_op op, const char *value_text, struct buf *sql,
			    struct api_params *p, struct reply *rep)
{
	char err[160];
	json_t *value = NULL;
	char *text;
	int iv;
	bool ok = false;

	switch (op) {
	case SHADOW_QUERY_NE_DESIRED:
		buf_puts(sql, " AND bw_shadow_differs(s.document #> q.dp, s.document #> q.rp)");
		return true;
	case SHADOW_QUERY_EQ_DESIRED:
		buf_puts(sql, " AND s.document #> q.dp IS NOT NULL"
			      " AND NOT bw_shadow_differs(s.document #> q.dp, s.document #> q.rp)");
		return true;
	case SHADOW_QUERY_EQ:
	case SHADOW_QUERY_NE:
		break;
	}
	value = shadow_query_value_parse(value_text, err, sizeof(err));
	if (!value) {
		reply_error(rep, err[0] ? BW_ERR_BAD_REQUEST : BW_ERR_INTERNAL, "/value", "%s",
			    err[0] ? err : "out of memory");
		return false;
	}
	text = shadow_dumps(value, SHADOW_DUMP_DB, NULL);
	iv = text ? api_params_take(p, text) : -1;
	if (iv < 0)
		goto full;
	/* jsonb equality: numbers compare numerically, arrays in order, objects key by key */
	if (op == SHADOW_QUERY_NE)
		buf_printf(sql, " AND (s.document #> q.rp) IS DISTINCT FROM $%d::jsonb", iv);
	else
		buf_printf(sql, " AND (s.document #> q.rp) = $%d::jsonb", iv);
	ok = true;
	goto out;
full:
	reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
out:
	json_decref(value);
	return ok;
}

void api_shadows_query(const struct request *req, struct reply *rep)
{
	const char *shadow = request_query(req, "shadow");
	const char *path = request_query(req, "path");
	const char *op_text = request_query(req, "op");
	const char *value = request_query(req, "value");
	const char *group = request_query(req, "group");
	const char *query = request_query(req, "query");
	const char *name;
	enum shadow_query_op op = SHADOW_QUERY_EQ;
	struct api_params p = { .n = 0 };
	struct api_page page = { .limit = 0 };
	struct db_rows *rows = NULL;
	struct db *db = NULL;
	json_t *segments = NULL;
	struct buf sql;
	char err[160], limit[16];
	char *text;
	int i;
	enum db_status st;

	buf_init(&sql);
	if (!shadow || strcmp(shadow, API_SHADOW_CLASSIC) == 0) {
		shadow = API_SHADOW_CLASSIC;
		name = "";
	} else if (strutil_is_valid_shadow_name(shadow)) {
		name = shadow;
	} else {
		reply_error(rep, BW_ERR_INVALID_NAME, "/shadow",
			    "shadow is a shadow name (1..64 characters of a-z A-Z 0-9 : _ - $) or "
			    "%s (the default)",
			    API_SHADOW_CLASSIC);
		goto out;
	}
	if (op_text && !shadow_query_op_parse(op_text, &op)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/op",
			    "op must be eq, ne, ne_desired or eq_desired");
		goto out;
	}
	if (shadow_query_op_needs_value(op)) {
		if (!path || !*path) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/path", "op=%s needs a path",
				    shadow_query_op_name(op));
			goto out;
		}
		if (!value) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/value", "op=%s needs a value",
				    shadow_query_op_name(op));
			goto out;
		}
	} else if (value) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/value",
			    "op=%s compares with desired and takes no value",
			    shadow_query_op_name(op));
		goto out;
	}
	segments = shadow_query_path_parse(path, err, sizeof(err));
	if (!segments) {
		reply_error(rep, err[0] ? BW_ERR_BAD_REQUEST : BW_ERR_INTERNAL, "/path", "%s",
			    err[0] ? err : "out of memory");
		goto out;
	}
	if (!api_page_parse(req, rep, 1, &page))
		goto out;
	if (page.after && !json_is_string(json_array_get(page.after, 0))) {
		reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
			    "the cursor is malformed or belongs to another listing");
		goto out;
	}

	/* $1 stored name, $2 native name, $3 reported path, $4 desired path */
	api_params_add(&p, name);
	api_params_add(&p, shadow);
	text = section_path("reported", segments);
	if (!text || api_params_take(&p, text) < 0)
		goto oom;
	text = section_path("desired", segments);
	if (!text || api_params_take(&p, text) < 0)
		goto oom;
	buf_puts(&sql, "WITH q AS (SELECT ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) AS rp,"
		       " ARRAY(SELECT jsonb_array_elements_text($4::jsonb)) AS dp)"
		       " SELECT jsonb_build_object('thing_name', s.thing_name, 'shadow_name',"
		       " $2::text, 'version', s.version, 'reported', s.document #> q.rp,"
		       " 'desired', s.document #> q.dp, 'updated_at', bw_ts(s.updated_at))::text,"
		       " s.thing_name FROM q CROSS JOIN shadows s");
	if (group || query)
		buf_puts(&sql, " JOIN things t ON t.name = s.thing_name");
	buf_puts(&sql, " WHERE s.shadow_name = $1 AND s.deleted_at IS NULL");
	if (!query_condition(op, value, &sql, &p, rep))
		goto out;
	if (page.after) {
		i = api_params_add(&p, json_string_value(json_array_get(page.after, 0)));
		if (i < 0)
			goto oom;
		buf_printf(&sql, " AND s.thing_name > $%d", i);
	}
	if (group || query) {
		db = api_db_get(rep);
		if (!db)
			goto out;
		if (group && !registry_filter_group(db, group, true, &sql, &p, rep))
			goto out;
		if (query && !registry_filter_query(query, "/query", &sql, &p, rep))
			goto out;
	}
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	i = api_params_add(&p, limit);
	if (i < 0)
		goto oom;
	buf_printf(&sql, " ORDER BY s.thing_name LIMIT $%d::int", i);
	if (sql.is_oom)
		goto oom;
	if (!db) {
		db = api_db_get(rep);
		if (!db)
			goto out;
	}
	st = db_exec(db, sql.data, p.n, p.values, &rows);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	reply_raw_page(rep, rows, page.limit, false);
	goto out;
oom:
	reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory or too many filters");
out:
	db_rows_free(rows);
	db_pool_put(db);
	json_decref(segments);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
	buf_cleanup(&sql);
}
