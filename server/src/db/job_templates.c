/* Versioned job templates: see job_templates.h. */
#include "db/job_templates.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS(col) "(floor(extract(epoch FROM " col ") * 1000))::bigint"
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

enum db_status db_job_template_put(struct db *db, struct db_template_put *p)
{
	static const char sql_lock[] =
		"SELECT id, version, description IS NOT DISTINCT FROM $2 AND document IS NOT"
		" DISTINCT FROM $3 AND document_source IS NOT DISTINCT FROM $4 AND config ="
		" $5::jsonb FROM job_templates WHERE template_id = $1 FOR UPDATE";
	static const char sql_insert[] =
		"INSERT INTO job_templates (template_id, description, document, document_source,"
		" config, request_sha256, created_by) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)"
		" ON CONFLICT (template_id) DO NOTHING RETURNING version";
	static const char sql_update[] =
		"UPDATE job_templates SET description = $2, document = $3, document_source = $4,"
		" config = $5::jsonb, request_sha256 = $6, created_by = $7, version = version + 1,"
		" last_updated_at = now() WHERE template_id = $1 RETURNING version";
	const char *params[] = { p->template_id, p->description,    p->document, p->document_source,
				 p->config_json, p->request_sha256, p->actor };
	struct db_rows *rows = NULL;
	enum db_status st;

	st = db_exec_static(db, sql_lock, 5, params, &rows);
	if (st < 0)
		goto out;
	if (st == DB_NONE) {
		db_rows_free(rows);
		rows = NULL;
		st = db_exec_static(db, sql_insert, 7, params, &rows);
		if (st == DB_NONE)
			st = DB_RETRY; /* created concurrently: run again, now as an update */
		if (st < 0)
			goto out;
		p->result = DB_TEMPLATE_CREATED;
	} else if (strcmp(db_rows_get(rows, 0, 2), "t") == 0) {
		p->result = DB_TEMPLATE_UNCHANGED;
		p->version = atoi(db_rows_get(rows, 0, 1));
		goto out;
	} else {
		db_rows_free(rows);
		rows = NULL;
		st = db_exec_static(db, sql_update, 7, params, &rows);
		if (st <= 0) {
			st = st == DB_NONE ? DB_HARD : st;
			goto out;
		}
		p->result = DB_TEMPLATE_NEW_VERSION;
	}
	p->version = atoi(db_rows_get(rows, 0, 0));
	st = DB_ONE;
out:
	db_rows_free(rows);
	return st;
}

static char *dup_or_null(const char *s, bool *is_oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*is_oom = true;
	return d;
}

enum db_status db_job_template_version_load(struct db *db, const char *template_id, int version,
					    struct db_job_template *out, int *version_out)
{
	static const char sql[] =
		"SELECT t.template_id, v.description, v.document, v.document_source,"
		" v.config::text, t.request_sha256, " MS("t.created_at") ", " MS(
			"v.created_at") ", v.version FROM job_templates t JOIN job_template_versions"
					" v ON v.template_pk = t.id AND v.version = CASE WHEN"
					" $2::int = 0 THEN t.version ELSE $2::int END WHERE"
					" t.template_id = $1";
	char vtext[16];
	const char *params[] = { template_id, vtext };
	struct db_rows *rows = NULL;
	bool is_oom = false;
	enum db_status st;

	memset(out, 0, sizeof(*out));
	snprintf(vtext, sizeof(vtext), "%d", version);
	st = db_exec_static(db, sql, 2, params, &rows);
	if (st <= 0)
		goto out;
	snprintf(out->template_id, sizeof(out->template_id), "%s", db_rows_get(rows, 0, 0));
	out->description = dup_or_null(db_rows_get(rows, 0, 1), &is_oom);
	out->document = dup_or_null(db_rows_get(rows, 0, 2), &is_oom);
	out->document_source = dup_or_null(db_rows_get(rows, 0, 3), &is_oom);
	out->config = json_loads(db_rows_get(rows, 0, 4), 0, NULL);
	out->request_sha256 = dup_or_null(db_rows_get(rows, 0, 5), &is_oom);
	out->created_at_ms = strtoll(db_rows_get(rows, 0, 6), NULL, 10);
	out->last_updated_at_ms = strtoll(db_rows_get(rows, 0, 7), NULL, 10);
	if (version_out)
		*version_out = atoi(db_rows_get(rows, 0, 8));
	if (is_oom || !out->config || !out->description) {
		db_job_template_cleanup(out);
		st = DB_HARD;
	}
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_job_template_json(struct db *db, const char *template_id, int version,
				    json_t **out)
{
	static const char sql[] =
		"SELECT json_build_object('template_id', t.template_id, 'version', v.version,"
		" 'latest_version', t.version, 'description', v.description, 'document',"
		" v.document::json, 'document_source', v.document_source, 'config', v.config,"
		" 'created_by', v.created_by, 'created_at', " TS("t.created_at") ", 'updated_at', " TS(
			"v.created_at") ", 'versions', CASE WHEN v.version = t.version THEN (SELECT"
					" json_agg(json_build_object('version', x.version, 'created_by', x.created_by,"
					" 'created_at', " TS(
						"x.created_at") ") ORDER BY x.version DESC) FROM"
								" job_template_versions x WHERE x.template_pk = t.id) END)::text FROM job_templates t"
								" JOIN job_template_versions v ON v.template_pk = t.id AND v.version = CASE WHEN"
								" $2::int = 0 THEN t.version ELSE $2::int END WHERE t.template_id = $1";
	char vtext[16];
	const char *params[] = { template_id, vtext };

	snprintf(vtext, sizeof(vtext), "%d", version);
	*out = NULL;
	return db_query_json(db, sql, 2, params, out);
}

enum db_status db_job_templates_list(struct db *db, const char *after, int limit, json_t **out)
{
	static const char sql[] =
		"SELECT coalesce(json_agg(json_build_object('template_id', template_id, 'version',"
		" version, 'description', description, 'created_at', " TS(
			"created_at") ","
				      " 'updated_at', " TS(
					      "last_updated_at") ") ORDER BY template_id), '[]')::text FROM"
								 " (SELECT * FROM job_templates WHERE $1::text IS NULL OR template_id > $1 ORDER BY"
								 " template_id LIMIT $2::int) s";
	char ltext[16];
	const char *params[] = { after, ltext };

	snprintf(ltext, sizeof(ltext), "%d", limit);
	*out = NULL;
	return db_query_json(db, sql, 2, params, out);
}

enum db_status db_job_set_template_version(struct db *db, int64_t job_pk, int version)
{
	static const char sql[] =
		"UPDATE jobs SET template_version = $2::int WHERE id = $1::bigint";
	char pk[24], vtext[16];
	const char *params[] = { pk, vtext };

	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	snprintf(vtext, sizeof(vtext), "%d", version);
	return db_exec_static(db, sql, 2, params, NULL);
}
