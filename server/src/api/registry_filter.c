#include "api/registry_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "registry/group_query.h"

bool registry_filter_query(const char *text, const char *field, struct buf *sql,
			   struct api_params *p, struct reply *rep)
{
	char err[256];
	char **params = NULL;
	int nparams = 0;
	bool ok;
	struct group_query *q = group_query_parse(text, err, sizeof(err));

	if (!q) {
		reply_error(rep, BW_ERR_INVALID_QUERY, field, "invalid query: %s", err);
		return false;
	}
	buf_puts(sql, " AND ");
	ok = group_query_to_sql(q, p->n + 1, sql, &params, &nparams);
	group_query_free(q);
	if (!ok) {
		for (int i = 0; i < nparams; i++)
			free(params[i]);
		free(params);
		reply_error(rep, BW_ERR_INTERNAL, NULL, "could not compile the query");
		return false;
	}
	for (int i = 0; i < nparams; i++) {
		if (api_params_take(p, params[i]) < 0) {
			for (int k = i + 1; k < nparams; k++)
				free(params[k]);
			free(params);
			reply_error(rep, BW_ERR_INVALID_QUERY, field, "the query is too complex");
			return false;
		}
	}
	free(params);
	return true;
}

bool registry_filter_group(struct db *db, const char *group, bool recursive, struct buf *sql,
			   struct api_params *p, struct reply *rep)
{
	struct db_rows *rows = NULL;
	enum db_status st;
	const char *params[] = { group };
	bool ok = false;

	if (!strutil_is_valid_group_name(group)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/group",
			    "group names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	st = db_exec(db, "SELECT id, type, query FROM thing_groups WHERE name = $1", 1, params,
		     &rows);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	if (st == DB_NONE) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "group '%s' not found", group);
		goto out;
	}
	if (strcmp(db_rows_get(rows, 0, 1), "dynamic") == 0) {
		ok = registry_filter_query(db_rows_get(rows, 0, 2), "/query", sql, p, rep);
		goto out;
	}
	char *id = strdup(db_rows_get(rows, 0, 0));
	int n = id ? api_params_take(p, id) : -1;
	if (n < 0) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (recursive)
		buf_printf(&*sql,
			   " AND t.id IN (SELECT m.thing_id FROM thing_group_members m WHERE"
			   " m.group_id IN (WITH RECURSIVE g(id, depth) AS (SELECT $%d::bigint, 0"
			   " UNION ALL SELECT c.id, g.depth + 1 FROM thing_groups c JOIN g ON"
			   " c.parent_id = g.id WHERE g.depth < 16) SELECT id FROM g))",
			   n);
	else
		buf_printf(sql,
			   " AND t.id IN (SELECT m.thing_id FROM thing_group_members m WHERE"
			   " m.group_id = $%d::bigint)",
			   n);
	ok = true;
out:
	db_rows_free(rows);
	return ok;
}

bool registry_filter_common(const struct request *req, struct buf *sql, struct api_params *p,
			    struct reply *rep)
{
	const char *hw = request_query(req, "hardware_type");
	const char *fw = request_query(req, "firmware_version");
	const char *prefix = request_query(req, "name_prefix");
	const char *query = request_query(req, "query");

	if (hw)
		buf_printf(sql, " AND t.hardware_type = $%d", api_params_add(p, hw));
	if (fw)
		buf_printf(sql, " AND t.firmware_version = $%d", api_params_add(p, fw));
	if (prefix) {
		if (strlen(prefix) > 128) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/name_prefix",
				    "name_prefix is at most 128 characters");
			return false;
		}
		/* prefix range on the C-collated name: [prefix, prefix || U+10FFFF) */
		char *hi = malloc(strlen(prefix) + 5);
		if (!hi) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			return false;
		}
		sprintf(hi, "%s\xf4\x8f\xbf\xbf", prefix);
		int a = api_params_add(p, prefix);
		int b = api_params_take(p, hi);
		buf_printf(sql, " AND t.name >= $%d AND t.name < $%d", a, b);
	}
	if (query && !registry_filter_query(query, "/query", sql, p, rep))
		return false;
	if (p->n >= 60) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL, "too many filters");
		return false;
	}
	return true;
}

static json_t *thing_key(json_t *item)
{
	return json_pack("[O]", json_object_get(item, "name"));
}

void registry_list_things(const struct request *req, struct reply *rep, struct db *db,
			  struct buf *where, struct api_params *p, const struct api_page *page)
{
	struct buf sql;
	json_t *items = NULL;
	char limit[16];
	enum db_status st;
	(void)req;

	buf_init(&sql);
	if (page->after) {
		const char *after = json_string_value(json_array_get(page->after, 0));
		if (!after) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		buf_printf(where, " AND t.name > $%d", api_params_add(p, after));
	}
	snprintf(limit, sizeof(limit), "%d", page->limit + 1);
	buf_printf(
		&sql,
		"SELECT coalesce(jsonb_agg(j ORDER BY n), '[]') FROM (SELECT t.name AS n,"
		" bw_thing_json(t) AS j FROM things t WHERE TRUE%s ORDER BY t.name LIMIT $%d::int) s",
		where->data ? where->data : "", api_params_add(p, limit));
	if (sql.is_oom || where->is_oom) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	st = db_query_json(db, sql.data, p->n, p->values, &items);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	reply_json(rep, 200, api_page_reply(items, page->limit, thing_key));
out:
	buf_cleanup(&sql);
}
