/* /api/v1/firmware/known-safe: the known-good release per hardware type (optionally per group
 * as well), with a history of every change. Later issues revert failed rollouts to it. */
#include "api/firmware.h"
#include "api/fw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "core/buf.h"
#include "core/strutil.h"

/* {hardware_type} and ?group from the request; false with the reply set. */
static bool pin_params(const struct request *req, struct reply *rep, const char **hw,
		       const char **group)
{
	*hw = request_param(req, "hardware_type");
	*group = request_query(req, "group");
	if (!*hw || !api_fw_is_valid_hw(*hw)) {
		reply_error(rep, BW_ERR_INVALID_NAME, NULL,
			    "hardware types are 1..128 characters of A-Z a-z 0-9 : _ . -");
		return false;
	}
	if (*group && !strutil_is_valid_group_name(*group)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/group",
			    "group names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	return true;
}

/* Resource id of a pin in audit rows: "esp32" or "esp32@group". */
static void pin_resource(char *out, size_t len, const char *hw, const char *group)
{
	snprintf(out, len, "%s%s%s", hw, group ? "@" : "", group ? group : "");
}

/* ---- set ---- */

struct set_ctx {
	const struct request *req;
	const char *hw;
	const char *group;
	const char *release;
	const char *note;
	char version[32];
	json_t *out;
	char problem[256]; /* conflict / bad request text */
	enum bw_err err;
	const char *field;
};

static enum db_status set_tx(struct db *db, void *arg)
{
	struct set_ctx *c = arg;
	struct db_rows *rows = NULL;
	char group_id[FW_ID_TEXT_SIZE] = "", prev[FW_ID_TEXT_SIZE] = "", res[300];
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->err = BW_OK;
	c->field = NULL;
	const char *p1[] = { c->release, c->hw };
	st = db_exec(db,
		     "SELECT state, $2 = ANY (hardware_types) FROM firmware_releases"
		     " WHERE id = $1::bigint FOR SHARE",
		     2, p1, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		c->err = BW_ERR_NOT_FOUND;
		c->field = "/release_id";
		snprintf(c->problem, sizeof(c->problem), "release '%s' not found", c->release);
	} else if (strcmp(db_rows_get(rows, 0, 0), "published") != 0 &&
		   strcmp(db_rows_get(rows, 0, 0), "deprecated") != 0) {
		c->err = BW_ERR_CONFLICT;
		c->field = "/release_id";
		snprintf(c->problem, sizeof(c->problem),
			 "release '%s' is %s: only published (or deprecated) releases can be "
			 "known-safe",
			 c->release, db_rows_get(rows, 0, 0));
	} else if (strcmp(db_rows_get(rows, 0, 1), "t") != 0) {
		c->err = BW_ERR_BAD_REQUEST;
		c->field = "/release_id";
		snprintf(c->problem, sizeof(c->problem),
			 "release '%s' does not list hardware type '%s'", c->release, c->hw);
	}
	db_rows_free(rows);
	rows = NULL;
	if (c->err != BW_OK)
		return DB_NONE;
	if (c->group) {
		const char *p2[] = { c->group };
		st = db_exec(db, "SELECT id FROM thing_groups WHERE name = $1", 1, p2, &rows);
		if (st < 0)
			return st;
		if (st == DB_NONE) {
			db_rows_free(rows);
			c->err = BW_ERR_NOT_FOUND;
			c->field = "/group";
			snprintf(c->problem, sizeof(c->problem), "group '%s' not found", c->group);
			return DB_NONE;
		}
		snprintf(group_id, sizeof(group_id), "%s", db_rows_get(rows, 0, 0));
		db_rows_free(rows);
		rows = NULL;
	}
	const char *p3[] = { c->hw, group_id[0] ? group_id : NULL };
	st = db_exec(db,
		     "SELECT release_id, version FROM firmware_known_safe WHERE hardware_type = $1"
		     " AND coalesce(group_id, 0) = coalesce($2::bigint, 0) FOR UPDATE",
		     2, p3, &rows);
	if (st < 0)
		return st;
	if (st == DB_ONE) {
		snprintf(prev, sizeof(prev), "%s", db_rows_get(rows, 0, 0));
		if (c->version[0] && strcmp(c->version, db_rows_get(rows, 0, 1)) != 0)
			c->err = BW_ERR_VERSION_CONFLICT;
	} else if (c->version[0]) {
		c->err = BW_ERR_VERSION_CONFLICT;
	}
	db_rows_free(rows);
	if (c->err != BW_OK) {
		c->field = "/version";
		snprintf(c->problem, sizeof(c->problem),
			 "the known-safe pin was changed by someone else (stale version)");
		return DB_NONE;
	}
	const char *p4[] = { c->hw,
			     group_id[0] ? group_id : NULL,
			     c->release,
			     c->note,
			     c->req->principal.name,
			     prev[0] ? prev : NULL,
			     c->group,
			     c->req->request_id };
	st = db_query_json(
		db,
		"WITH s AS (INSERT INTO firmware_known_safe (hardware_type, group_id,"
		" release_id, note, set_by) VALUES ($1, $2::bigint, $3::bigint, $4, $5)"
		" ON CONFLICT (hardware_type, (coalesce(group_id, 0))) DO UPDATE SET"
		" release_id = EXCLUDED.release_id, note = EXCLUDED.note,"
		" set_by = EXCLUDED.set_by, set_at = now(),"
		" version = firmware_known_safe.version + 1 RETURNING *),"
		" h AS (INSERT INTO firmware_known_safe_history (hardware_type, group_id,"
		" group_name, release_id, previous_release_id, note, set_by, request_id)"
		" VALUES ($1, $2::bigint, $7, $3::bigint, $6::bigint, $4, $5, $8))"
		" SELECT bw_fw_known_safe_json(s) FROM s",
		8, p4, &c->out);
	if (st < 0)
		return st;
	pin_resource(res, sizeof(res), c->hw, c->group);
	json_t *det = json_pack("{s:s, s:s?}", "release_id", c->release, "previous_release_id",
				prev[0] ? prev : NULL);
	st = api_audit(db, c->req, "known_safe.set", "known_safe", res, det);
	json_decref(det);
	return st;
}

void api_fw_known_safe_set(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "release_id", "group", "note", "version", NULL };
	struct set_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep), *v;
	const char *query_group;
	size_t n = 0;

	if (!body || !pin_params(req, rep, &c.hw, &query_group) ||
	    !api_check_fields(body, fields, "", rep) ||
	    !api_opt_string(body, "release_id", "", &c.release, NULL, rep) ||
	    !api_opt_string(body, "group", "", &c.group, NULL, rep) ||
	    !api_opt_string(body, "note", "", &c.note, NULL, rep))
		return;
	if (query_group && c.group && strcmp(query_group, c.group) != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/group",
			    "the group in the body and in the query differ");
		return;
	}
	if (!c.group)
		c.group = query_group;
	if (c.group && !strutil_is_valid_group_name(c.group)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/group",
			    "group names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return;
	}
	for (; c.release && c.release[n] >= '0' && c.release[n] <= '9'; n++)
		;
	if (!c.release || n == 0 || n > 18 || c.release[n]) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/release_id",
			    "release_id (the id of a published release) is required");
		return;
	}
	if (c.note && strlen(c.note) > 1024) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/note", "note is at most 1024 bytes");
		return;
	}
	v = json_object_get(body, "version");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
				    "version is a positive integer");
			return;
		}
		snprintf(c.version, sizeof(c.version), "%lld", (long long)json_integer_value(v));
	}
	if (!api_tx(rep, DB_READ_COMMITTED, set_tx, &c))
		return;
	if (c.err != BW_OK)
		reply_error(rep, c.err, c.field, "%s", c.problem);
	else {
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
	json_decref(c.out);
}

/* ---- get / list ---- */

void api_fw_known_safe_get(const struct request *req, struct reply *rep)
{
	const char *hw, *group;
	json_t *out = NULL;
	struct db *db;
	enum db_status st;

	if (!pin_params(req, rep, &hw, &group))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { hw, group };
	st = db_query_json(
		db,
		"SELECT bw_fw_known_safe_json(s) FROM firmware_known_safe s"
		" LEFT JOIN thing_groups g ON g.id = s.group_id WHERE s.hardware_type = $1"
		" AND g.name IS NOT DISTINCT FROM $2",
		2, params, &out);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (!out)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "no known-safe release for %s%s%s", hw,
			    group ? " in group " : "", group ? group : "");
	else
		reply_json(rep, 200, out);
}

static json_t *pin_cursor(json_t *item)
{
	return json_pack("[s, s]", json_string_value(json_object_get(item, "hardware_type")),
			 json_is_string(json_object_get(item, "group"))
				 ? json_string_value(json_object_get(item, "group"))
				 : "");
}

void api_fw_known_safe_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct api_params p = { 0 };
	struct buf sql;
	json_t *items = NULL;
	const char *hw = request_query(req, "hardware_type");
	char limit[16];

	buf_init(&sql);
	if (!api_page_parse(req, rep, 2, &page))
		return;
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	buf_printf(&sql, "SELECT coalesce(jsonb_agg(j ORDER BY hw, gname), '[]') FROM (SELECT"
			 " s.hardware_type AS hw, coalesce(g.name, '') COLLATE \"C\" AS gname,"
			 " bw_fw_known_safe_json(s) AS j FROM firmware_known_safe s"
			 " LEFT JOIN thing_groups g ON g.id = s.group_id WHERE true");
	if (page.after) {
		const char *a = json_string_value(json_array_get(page.after, 0));
		const char *b = json_string_value(json_array_get(page.after, 1));
		if (!a || !b) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		buf_printf(&sql,
			   " AND (s.hardware_type, coalesce(g.name, '') COLLATE \"C\") >"
			   " ($%d, $%d COLLATE \"C\")",
			   api_params_add(&p, a), api_params_add(&p, b));
	}
	if (hw)
		buf_printf(&sql, " AND s.hardware_type = $%d", api_params_add(&p, hw));
	buf_printf(
		&sql,
		" ORDER BY s.hardware_type, coalesce(g.name, '') COLLATE \"C\" LIMIT $%d::int) x",
		api_params_add(&p, limit));
	if (api_read_json(rep, sql.data, p.n, p.values, &items))
		reply_json(rep, 200, api_page_reply(items, page.limit, pin_cursor));
out:
	buf_cleanup(&sql);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
}

/* ---- delete ---- */

struct clear_ctx {
	const struct request *req;
	const char *hw;
	const char *group;
	bool is_missing;
};

static enum db_status clear_tx(struct db *db, void *arg)
{
	struct clear_ctx *c = arg;
	struct db_rows *rows = NULL;
	char res[300], prev[FW_ID_TEXT_SIZE];
	enum db_status st;

	c->is_missing = false;
	const char *p1[] = { c->hw, c->group };
	st = db_exec(db,
		     "DELETE FROM firmware_known_safe s WHERE s.hardware_type = $1 AND"
		     " coalesce(s.group_id, 0) = coalesce((SELECT g.id FROM thing_groups g WHERE"
		     " g.name = $2), CASE WHEN $2::text IS NULL THEN 0 ELSE -1 END)"
		     " RETURNING s.release_id, s.group_id",
		     2, p1, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		db_rows_free(rows);
		c->is_missing = true;
		return DB_NONE;
	}
	snprintf(prev, sizeof(prev), "%s", db_rows_get(rows, 0, 0));
	const char *p2[] = { c->hw, db_rows_get(rows, 0, 1), c->group,
			     prev,  c->req->principal.name,  c->req->request_id };
	st = db_exec(db,
		     "INSERT INTO firmware_known_safe_history (hardware_type, group_id, group_name,"
		     " release_id, previous_release_id, set_by, request_id) VALUES ($1, $2::bigint,"
		     " $3, NULL, $4::bigint, $5, $6)",
		     6, p2, NULL);
	db_rows_free(rows);
	if (st < 0)
		return st;
	pin_resource(res, sizeof(res), c->hw, c->group);
	json_t *det = json_pack("{s:s}", "previous_release_id", prev);
	st = api_audit(db, c->req, "known_safe.clear", "known_safe", res, det);
	json_decref(det);
	return st;
}

void api_fw_known_safe_delete(const struct request *req, struct reply *rep)
{
	struct clear_ctx c = { .req = req };

	if (!pin_params(req, rep, &c.hw, &c.group))
		return;
	if (!api_tx(rep, DB_READ_COMMITTED, clear_tx, &c))
		return;
	if (c.is_missing)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "no known-safe release for %s%s%s", c.hw,
			    c.group ? " in group " : "", c.group ? c.group : "");
	else
		reply_raw(rep, 204, NULL, "", 0);
}

/* ---- history ---- */

static json_t *history_cursor(json_t *item)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	return json_pack("[I]", (json_int_t)(id ? strtoll(id, NULL, 10) : 0));
}

void api_fw_known_safe_history(const struct request *req, struct reply *rep)
{
	struct api_page page;
	const char *hw, *group;
	char after[32] = "9223372036854775807", limit[16];
	json_t *items = NULL;
	struct db *db;
	enum db_status st;

	if (!pin_params(req, rep, &hw, &group) || !api_page_parse(req, rep, 1, &page))
		return;
	if (page.after) {
		json_t *k = json_array_get(page.after, 0);
		if (!json_is_integer(k)) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		snprintf(after, sizeof(after), "%lld", (long long)json_integer_value(k));
	}
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	db = api_db_get(rep);
	if (!db)
		goto out;
	const char *params[] = { hw, group, after, limit };
	st = db_query_json(
		db,
		"SELECT coalesce(jsonb_agg(j ORDER BY id DESC), '[]') FROM (SELECT h.id,"
		" bw_fw_known_safe_history_json(h) AS j FROM firmware_known_safe_history h"
		" WHERE h.hardware_type = $1 AND h.group_name IS NOT DISTINCT FROM $2"
		" AND h.id < $3::bigint ORDER BY h.id DESC LIMIT $4::int) s",
		4, params, &items);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	reply_json(rep, 200, api_page_reply(items, page.limit, history_cursor));
out:
	api_page_cleanup(&page);
}
