#include "db/shadows.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"

enum db_status db_shadows_load(struct db *db, const char *keys_json, struct db_rows **out)
{
	const char *params[] = { keys_json };

	return db_exec_static(
		db, "SELECT i, version, document, registered FROM bw_shadow_load($1::jsonb)", 1,
		params, out);
}

enum db_status db_shadows_write(struct db *db, const char *rows_json, const char *history_json)
{
	const char *params[] = { rows_json, history_json };
	enum db_status st;

	st = db_exec_static(db, "SELECT bw_shadow_write($1::jsonb, $2::jsonb)", 2, params, NULL);
	if (st == DB_RETRY)
		log_debug("db", "shadow_write_stale", LOG_S("sqlstate", db_last_sqlstate(db)),
			  LOG_END);
	return st < 0 ? st : DB_ONE;
}

enum db_status db_shadows_desired_at(struct db *db, const char *thing, const char *shadow,
				     int64_t version, json_t **desired)
{
	char v[24];
	const char *params[] = { thing, shadow, v };
	struct db_rows *rows = NULL;
	enum db_status st;
	const char *text;

	*desired = NULL;
	snprintf(v, sizeof(v), "%" PRId64, version);
	st = db_exec(db,
		     "SELECT h.desired::text FROM shadow_history h WHERE h.thing_name = $1"
		     " AND h.shadow_name = $2 AND (h.version < $3::bigint"
		     " OR (h.version = $3::bigint AND h.kind <> 'delete'))"
		     " ORDER BY h.version DESC, h.id DESC LIMIT 1",
		     3, params, &rows);
	if (st <= 0)
		goto out;
	text = db_rows_get(rows, 0, 0);
	if (text) {
		*desired = json_loads(text, 0, NULL);
		if (!*desired) {
			log_error("db", "shadow_history_decode_failed", LOG_S("thing", thing),
				  LOG_END);
			st = DB_HARD;
		}
	}
out:
	db_rows_free(rows);
	return st;
}
