/* /api/v1/groups: static (nested) and dynamic thing groups. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/registry_filter.h"
#include "core/buf.h"
#include "core/strutil.h"
#include "registry/group_query.h"

#define GROUP_MAX_DEPTH 8
#define GROUP_DESCRIPTION_MAX 1024

static bool check_group_param(const struct request *req, struct reply *rep, const char **name)
{
	*name = request_param(req, "group");
	if (!*name || !strutil_is_valid_group_name(*name)) {
		reply_error(rep, BW_ERR_INVALID_NAME, NULL,
			    "group names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	return true;
}

static bool check_description(const char *d, struct reply *rep)
{
	if (d && (strlen(d) > GROUP_DESCRIPTION_MAX || !strutil_is_utf8(d, strlen(d)))) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/description",
			    "description is at most %d bytes of UTF-8", GROUP_DESCRIPTION_MAX);
		return false;
	}
	return true;
}

static bool check_query(const char *q, struct reply *rep)
{
	char err[256];
	struct group_query *parsed = group_query_parse(q, err, sizeof(err));
	if (!parsed) {
		reply_error(rep, BW_ERR_INVALID_QUERY, "/query", "invalid query: %s", err);
		return false;
	}
	group_query_free(parsed);
	return true;
}

/* Outcome flags shared by the group transactions. */
enum group_outcome {
	GROUP_OK = 0,
	GROUP_MISSING,
	GROUP_EXISTS,
	GROUP_STALE,
	GROUP_PARENT_MISSING,
	GROUP_PARENT_DYNAMIC,
	GROUP_CYCLE,
	GROUP_TOO_DEEP,
	GROUP_HAS_CHILDREN,
	GROUP_IS_DYNAMIC,
	GROUP_THING_MISSING,
	GROUP_NOT_MEMBER,
	GROUP_WRONG_TYPE,
};

/* Check that parent (by name) exists and is static, and that hanging a subtree of the given
 * height under it stays within the depth limit. self_id ("" for a new group) must not be the
 * parent or one of its ancestors. Writes the parent id into parent_id. */
static enum db_status check_parent(struct db *db, const char *parent, const char *self_id,
				   long long subtree_height, char *parent_id, size_t idlen,
				   enum group_outcome *outcome)
{
	struct db_rows *rows = NULL;
	const char *params[] = { parent, self_id };
	enum db_status st;

	st = db_exec(
		db,
		"WITH RECURSIVE p AS (SELECT id, type, parent_id, 1 AS depth FROM thing_groups"
		"  WHERE name = $1 UNION ALL SELECT g.id, g.type, g.parent_id, p.depth + 1"
		"  FROM thing_groups g JOIN p ON g.id = p.parent_id WHERE p.depth < 64)"
		" SELECT (SELECT id FROM p WHERE depth = 1), (SELECT type FROM p WHERE depth = 1),"
		" max(depth), bool_or(id::text = $2) FROM p",
		2, params, &rows);
	if (st < 0)
		goto out;
	if (!db_rows_get(rows, 0, 0)) {
		*outcome = GROUP_PARENT_MISSING;
		goto out;
	}
	snprintf(parent_id, idlen, "%s", db_rows_get(rows, 0, 0));
	if (strcmp(db_rows_get(rows, 0, 1), "static") != 0)
		*outcome = GROUP_PARENT_DYNAMIC;
	else if (strcmp(db_rows_get(rows, 0, 3), "t") == 0)
		*outcome = GROUP_CYCLE;
	else if (strtoll(db_rows_get(rows, 0, 2), NULL, 10) + subtree_height > GROUP_MAX_DEPTH)
		*outcome = GROUP_TOO_DEEP;
out:
	db_rows_free(rows);
	return st < 0 ? st : DB_NONE;
}

static void reply_outcome(struct reply *rep, enum group_outcome o, const char *group,
			  const char *parent, const char *thing)
{
	switch (o) {
	case GROUP_MISSING:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "group '%s' not found", group);
		break;
	case GROUP_EXISTS:
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/name", "group '%s' already exists",
			    group);
		break;
	case GROUP_STALE:
		reply_error(rep, BW_ERR_VERSION_CONFLICT, "/version",
			    "group '%s' changed since you read it (stale version)", group);
		break;
	case GROUP_PARENT_MISSING:
		reply_error(rep, BW_ERR_NOT_FOUND, "/parent", "parent group '%s' not found",
			    parent ? parent : "");
		break;
	case GROUP_PARENT_DYNAMIC:
		reply_error(rep, BW_ERR_BAD_REQUEST, "/parent",
			    "parent group '%s' is dynamic; only static groups can have children",
			    parent ? parent : "");
		break;
	case GROUP_CYCLE:
		reply_error(rep, BW_ERR_BAD_REQUEST, "/parent",
			    "making '%s' the parent of '%s' would create a cycle",
			    parent ? parent : "", group);
		break;
	case GROUP_TOO_DEEP:
		reply_error(rep, BW_ERR_BAD_REQUEST, "/parent",
			    "groups can be nested at most %d levels deep", GROUP_MAX_DEPTH);
		break;
	case GROUP_HAS_CHILDREN:
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "group '%s' has child groups; delete or move them first", group);
		break;
	case GROUP_IS_DYNAMIC:
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "group '%s' is dynamic: its members follow its query", group);
		break;
	case GROUP_THING_MISSING:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "thing '%s' not found",
			    thing ? thing : "");
		break;
	case GROUP_NOT_MEMBER:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "thing '%s' is not a member of '%s'",
			    thing ? thing : "", group);
		break;
	case GROUP_WRONG_TYPE:
		reply_error(rep, BW_ERR_BAD_REQUEST, "/query",
			    "query is only valid for dynamic groups");
		break;
	case GROUP_OK:
		break;
	}
}

/* ---- create ---- */

struct create_ctx {
	const struct request *req;
	const char *name, *type, *description, *parent, *query;
	json_t *out;
	enum group_outcome outcome;
};

static enum db_status create_tx(struct db *db, void *arg)
{
	struct create_ctx *c = arg;
	char parent_id[32] = "";
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->outcome = GROUP_OK;
	if (c->parent) {
		st = check_parent(db, c->parent, "", 1, parent_id, sizeof(parent_id), &c->outcome);
		if (st < 0 || c->outcome != GROUP_OK)
			return st;
	}
	const char *params[] = { c->name, c->type, c->description, c->parent ? parent_id : NULL,
				 c->query };
	st = db_query_json(db,
			   "INSERT INTO thing_groups (name, type, description, parent_id, query)"
			   " VALUES ($1, $2, $3, $4::bigint, $5) ON CONFLICT (name) DO NOTHING"
			   " RETURNING bw_group_json(thing_groups)",
			   5, params, &c->out);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		c->outcome = GROUP_EXISTS;
		return DB_NONE;
	}
	json_t *det = json_deep_copy(c->req->json);
	st = api_audit(db, c->req, "group.create", "group", c->name, det);
	json_decref(det);
	return st;
}

void api_groups_create(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = {
		"name", "type", "description", "parent", "query", NULL
	};
	struct create_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep);

	if (!body || !api_check_fields(body, fields, "", rep) ||
	    !api_opt_string(body, "name", "", &c.name, NULL, rep) ||
	    !api_opt_string(body, "type", "", &c.type, NULL, rep) ||
	    !api_opt_string(body, "description", "", &c.description, NULL, rep) ||
	    !api_opt_string(body, "parent", "", &c.parent, NULL, rep) ||
	    !api_opt_string(body, "query", "", &c.query, NULL, rep))
		return;
	if (!c.name || !strutil_is_valid_group_name(c.name)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/name",
			    "group names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return;
	}
	if (!c.type)
		c.type = "static";
	if (strcmp(c.type, "static") != 0 && strcmp(c.type, "dynamic") != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/type", "type must be 'static' or 'dynamic'");
		return;
	}
	bool is_dynamic = strcmp(c.type, "dynamic") == 0;
	if (is_dynamic && !c.query) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/query", "a dynamic group needs a query");
		return;
	}
	if (!is_dynamic && c.query) {
		reply_outcome(rep, GROUP_WRONG_TYPE, c.name, NULL, NULL);
		return;
	}
	if (is_dynamic && c.parent) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/parent",
			    "dynamic groups cannot have a parent");
		return;
	}
	if (c.parent && !strutil_is_valid_group_name(c.parent)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/parent",
			    "parent is not a valid group name");
		return;
	}
	if (!check_description(c.description, rep) || (c.query && !check_query(c.query, rep)))
		return;
	if (!api_tx(rep, DB_SERIALIZABLE, create_tx, &c))
		;
	else if (c.outcome != GROUP_OK)
		reply_outcome(rep, c.outcome, c.name, c.parent, NULL);
	else {
		reply_json(rep, 201, c.out);
		c.out = NULL;
	}
	json_decref(c.out);
}

/* ---- get / list ---- */

void api_groups_get(const struct request *req, struct reply *rep)
{
	const char *name;
	json_t *out = NULL;

	if (!check_group_param(req, rep, &name))
		return;
	const char *params[] = { name };
	if (!api_read_json(rep, "SELECT bw_group_json(g) FROM thing_groups g WHERE g.name = $1", 1,
			   params, &out))
		return;
	if (!out)
		reply_outcome(rep, GROUP_MISSING, name, NULL, NULL);
	else
		reply_json(rep, 200, out);
}

static json_t *group_key(json_t *item)
{
	return json_pack("[O]", json_object_get(item, "name"));
}

void api_groups_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct api_params p = { 0 };
	struct buf sql;
	struct db *db = NULL;
	json_t *items = NULL;
	const char *type = request_query(req, "type");
	const char *parent = request_query(req, "parent");
	char limit[16];
	enum db_status st;

	buf_init(&sql);
	if (!api_page_parse(req, rep, 1, &page))
		return;
	buf_puts(&sql, "SELECT coalesce(jsonb_agg(j ORDER BY n), '[]') FROM (SELECT g.name AS n,"
		       " bw_group_json(g) AS j FROM thing_groups g WHERE TRUE");
	if (type)
		buf_printf(&sql, " AND g.type = $%d", api_params_add(&p, type));
	if (parent)
		buf_printf(&sql,
			   " AND g.parent_id = (SELECT id FROM thing_groups WHERE name = $%d)",
			   api_params_add(&p, parent));
	if (page.after) {
		const char *after = json_string_value(json_array_get(page.after, 0));
		if (!after) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		buf_printf(&sql, " AND g.name > $%d", api_params_add(&p, after));
	}
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	buf_printf(&sql, " ORDER BY g.name LIMIT $%d::int) s", api_params_add(&p, limit));
	db = api_db_get(rep);
	if (!db)
		goto out;
	st = db_query_json(db, sql.data, p.n, p.values, &items);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	reply_json(rep, 200, api_page_reply(items, page.limit, group_key));
out:
	db_pool_put(db);
	buf_cleanup(&sql);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
}

/* ---- update ---- */

struct update_ctx {
	const struct request *req;
	const char *name;
	char version[32];
	bool has_description, has_parent, has_query;
	const char *description, *parent, *query;
	json_t *out;
	enum group_outcome outcome;
};

static enum db_status update_tx(struct db *db, void *arg)
{
	struct update_ctx *c = arg;
	struct db_rows *rows = NULL;
	char parent_id[32] = "";
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->outcome = GROUP_OK;
	const char *p1[] = { c->name };
	/* the group, and the height of its subtree (itself = 1) */
	st = db_exec(db,
		     "WITH RECURSIVE g AS (SELECT id, type, version, 1 AS h FROM thing_groups"
		     "  WHERE name = $1 UNION ALL SELECT c.id, c.type, c.version, g.h + 1"
		     "  FROM thing_groups c JOIN g ON c.parent_id = g.id WHERE g.h < 64)"
		     " SELECT (SELECT id FROM g WHERE h = 1), (SELECT type FROM g WHERE h = 1),"
		     " (SELECT version FROM g WHERE h = 1), max(h) FROM g",
		     1, p1, &rows);
	if (st < 0)
		goto out;
	if (!db_rows_get(rows, 0, 0)) {
		c->outcome = GROUP_MISSING;
		goto out;
	}
	bool is_dynamic = strcmp(db_rows_get(rows, 0, 1), "dynamic") == 0;
	if (strcmp(db_rows_get(rows, 0, 2), c->version) != 0) {
		c->outcome = GROUP_STALE;
		goto out;
	}
	if (c->has_query && !is_dynamic) {
		c->outcome = GROUP_WRONG_TYPE;
		goto out;
	}
	if (c->has_parent && c->parent) {
		if (is_dynamic) {
			c->outcome = GROUP_PARENT_DYNAMIC;
			goto out;
		}
		st = check_parent(db, c->parent, db_rows_get(rows, 0, 0),
				  strtoll(db_rows_get(rows, 0, 3), NULL, 10), parent_id,
				  sizeof(parent_id), &c->outcome);
		if (st < 0 || c->outcome != GROUP_OK)
			goto out;
	}
	{
		char hd[2] = { c->has_description ? '1' : '0', 0 };
		char hp[2] = { c->has_parent ? '1' : '0', 0 };
		char hq[2] = { c->has_query ? '1' : '0', 0 };
		const char *params[] = { c->name, c->version,
					 hd,	  c->description,
					 hp,	  c->parent ? parent_id : NULL,
					 hq,	  c->query };
		st = db_query_json(
			db,
			"UPDATE thing_groups g SET"
			" description = CASE WHEN $3 = '1' THEN $4 ELSE g.description END,"
			" parent_id = CASE WHEN $5 = '1' THEN $6::bigint ELSE g.parent_id END,"
			" query = CASE WHEN $7 = '1' THEN $8 ELSE g.query END,"
			" version = g.version + 1, updated_at = now()"
			" WHERE g.name = $1 AND g.version = $2::bigint RETURNING bw_group_json(g)",
			8, params, &c->out);
	}
	if (st < 0)
		goto out;
	if (st == DB_NONE) {
		c->outcome = GROUP_STALE;
		goto out;
	}
	json_t *det = json_deep_copy(c->req->json);
	st = api_audit(db, c->req, "group.update", "group", c->name, det);
	json_decref(det);
out:
	db_rows_free(rows);
	return st;
}

void api_groups_update(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "version", "description", "parent", "query", NULL };
	struct update_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep);
	json_t *v;
	bool is_null;

	if (!body || !check_group_param(req, rep, &c.name) ||
	    !api_check_fields(body, fields, "", rep))
		return;
	v = json_object_get(body, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
			    "version (the group's current version) is required");
		return;
	}
	snprintf(c.version, sizeof(c.version), "%lld", (long long)json_integer_value(v));
	c.has_description = json_object_get(body, "description") != NULL;
	c.has_parent = json_object_get(body, "parent") != NULL;
	c.has_query = json_object_get(body, "query") != NULL;
	if (!api_opt_string(body, "description", "", &c.description, NULL, rep) ||
	    !api_opt_string(body, "parent", "", &c.parent, NULL, rep) ||
	    !api_opt_string(body, "query", "", &c.query, &is_null, rep))
		return;
	if (c.has_query && !c.query) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/query",
			    "a dynamic group's query cannot be null");
		return;
	}
	if (c.parent && !strutil_is_valid_group_name(c.parent)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/parent",
			    "parent is not a valid group name");
		return;
	}
	if (c.parent && strcmp(c.parent, c.name) == 0) {
		reply_outcome(rep, GROUP_CYCLE, c.name, c.parent, NULL);
		return;
	}
	if (!check_description(c.description, rep) || (c.query && !check_query(c.query, rep)))
		return;
	if (!api_tx(rep, DB_SERIALIZABLE, update_tx, &c))
		;
	else if (c.outcome != GROUP_OK)
		reply_outcome(rep, c.outcome, c.name, c.parent, NULL);
	else {
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
	json_decref(c.out);
}

/* ---- delete ---- */

struct delete_ctx {
	const struct request *req;
	const char *name;
	enum group_outcome outcome;
};

static enum db_status delete_tx(struct db *db, void *arg)
{
	struct delete_ctx *c = arg;
	const char *params[] = { c->name };
	enum db_status st;

	c->outcome = GROUP_OK;
	st = db_exec(db,
		     "SELECT 1 FROM thing_groups c JOIN thing_groups g ON c.parent_id = g.id"
		     " WHERE g.name = $1 LIMIT 1",
		     1, params, NULL);
	if (st < 0)
		return st;
	if (st > 0) {
		c->outcome = GROUP_HAS_CHILDREN;
		return DB_NONE;
	}
	st = db_exec(db, "DELETE FROM thing_groups WHERE name = $1", 1, params, NULL);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		c->outcome = GROUP_MISSING;
		return DB_NONE;
	}
	return api_audit(db, c->req, "group.delete", "group", c->name, NULL);
}

void api_groups_delete(const struct request *req, struct reply *rep)
{
	struct delete_ctx c = { .req = req };

	if (!check_group_param(req, rep, &c.name))
		return;
	if (!api_tx(rep, DB_SERIALIZABLE, delete_tx, &c))
		return;
	if (c.outcome != GROUP_OK)
		reply_outcome(rep, c.outcome, c.name, NULL, NULL);
	else
		reply_json(rep, 204, NULL);
}

/* ---- membership ---- */

void api_groups_things(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct api_params p = { 0 };
	struct buf where;
	struct db *db = NULL;
	const char *name;
	const char *rec = request_query(req, "recursive");
	bool recursive = true;

	if (!check_group_param(req, rep, &name))
		return;
	if (rec && strcmp(rec, "true") != 0 && strcmp(rec, "false") != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/recursive",
			    "recursive must be true or false");
		return;
	}
	if (rec && strcmp(rec, "false") == 0)
		recursive = false;
	buf_init(&where);
	if (!api_page_parse(req, rep, 1, &page))
		goto out_nopage;
	if (!registry_filter_common(req, &where, &p, rep))
		goto out;
	db = api_db_get(rep);
	if (!db)
		goto out;
	if (!registry_filter_group(db, name, recursive, &where, &p, rep))
		goto out;
	registry_list_things(req, rep, db, &where, &p, &page);
out:
	api_page_cleanup(&page);
out_nopage:
	db_pool_put(db);
	buf_cleanup(&where);
	api_params_cleanup(&p);
}

struct member_ctx {
	const struct request *req;
	const char *group, *thing;
	bool is_add;
	enum group_outcome outcome;
};

static enum db_status member_tx(struct db *db, void *arg)
{
	struct member_ctx *c = arg;
	struct db_rows *rows = NULL;
	const char *params[] = { c->group, c->thing };
	enum db_status st;

	c->outcome = GROUP_OK;
	st = db_exec(db,
		     "SELECT (SELECT id FROM thing_groups WHERE name = $1),"
		     " (SELECT type FROM thing_groups WHERE name = $1),"
		     " (SELECT id FROM things WHERE name = $2)",
		     2, params, &rows);
	if (st < 0)
		goto out;
	if (!db_rows_get(rows, 0, 0))
		c->outcome = GROUP_MISSING;
	else if (strcmp(db_rows_get(rows, 0, 1), "static") != 0)
		c->outcome = GROUP_IS_DYNAMIC;
	else if (!db_rows_get(rows, 0, 2))
		c->outcome = GROUP_THING_MISSING;
	if (c->outcome != GROUP_OK)
		goto out;
	const char *ids[] = { db_rows_get(rows, 0, 0), db_rows_get(rows, 0, 2) };
	if (c->is_add) {
		st = db_exec(db,
			     "INSERT INTO thing_group_members (group_id, thing_id)"
			     " VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING",
			     2, ids, NULL);
	} else {
		st = db_exec(db,
			     "DELETE FROM thing_group_members WHERE group_id = $1::bigint"
			     " AND thing_id = $2::bigint",
			     2, ids, NULL);
		if (st == DB_NONE) {
			c->outcome = GROUP_NOT_MEMBER;
			goto out;
		}
	}
	if (st < 0)
		goto out;
	json_t *det = json_pack("{s:s, s:b}", "thing", c->thing, "changed", st > 0);
	st = api_audit(db, c->req, c->is_add ? "group.add_thing" : "group.remove_thing", "group",
		       c->group, det);
	json_decref(det);
out:
	db_rows_free(rows);
	return st;
}

static void member_change(const struct request *req, struct reply *rep, bool is_add)
{
	struct member_ctx c = { .req = req, .is_add = is_add };

	if (!check_group_param(req, rep, &c.group))
		return;
	c.thing = request_param(req, "thing");
	if (!c.thing || !strutil_is_valid_thing_name(c.thing)) {
		reply_error(rep, BW_ERR_INVALID_NAME, NULL,
			    "thing names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return;
	}
	if (!api_tx(rep, DB_READ_COMMITTED, member_tx, &c))
		return;
	if (c.outcome != GROUP_OK)
		reply_outcome(rep, c.outcome, c.group, NULL, c.thing);
	else
		reply_json(rep, 204, NULL);
}

void api_groups_add_thing(const struct request *req, struct reply *rep)
{
	member_change(req, rep, true);
}

void api_groups_remove_thing(const struct request *req, struct reply *rep)
{
	member_change(req, rep, false);
}
