/* GET /api/v1/audit */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>

#include "api/common.h"
#include "core/buf.h"

static json_t *audit_key(json_t *item)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	return json_pack("[I]", (json_int_t)(id ? strtoll(id, NULL, 10) : 0));
}

void api_audit_list(const struct request *req, struct reply *rep)
{
	static const char *const filters[] = { "action", "resource_type", "resource_id", "actor",
					       "request_id" };
	struct api_page page;
	struct api_params p = { 0 };
	struct buf sql;
	json_t *items = NULL;
	char after[32], limit[16];

	buf_init(&sql);
	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (!api_page_before_id(&page, rep, after))
		goto out;
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	buf_printf(&sql,
		   "SELECT coalesce(jsonb_agg(j ORDER BY id DESC), '[]') FROM"
		   " (SELECT a.id, bw_audit_json(a) AS j FROM audit_log a WHERE a.id < $%d::bigint",
		   api_params_add(&p, after));
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		const char *v = request_query(req, filters[i]);
		if (v)
			buf_printf(&sql, " AND a.%s = $%d", filters[i], api_params_add(&p, v));
	}
	buf_printf(&sql, " ORDER BY a.id DESC LIMIT $%d::int) s", api_params_add(&p, limit));
	if (api_read_json(rep, sql.data, p.n, p.values, &items))
		reply_json(rep, 200, api_page_reply(items, page.limit, audit_key));
out:
	buf_cleanup(&sql);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
}
