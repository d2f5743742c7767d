#include "db/jobs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/job_events.h"
#include "registry/group_query.h"

/* Unix milliseconds of a timestamptz column, NULL stays NULL. */
#define MS(col) "(floor(extract(epoch FROM " col ") * 1000))::bigint"

#define JOB_COLS                                                                                 \
	"j.id, j.job_id, j.status, j.target_selection, j.targets::text, j.document,"             \
	" j.description, j.template_id, j.config::text, j.force_canceled, j.reason_code,"        \
	" j.comment, j.created_by, " MS("j.created_at") ", " MS("j.last_updated_at") ", " MS(    \
		"j.completed_at") ", j.version,"                                                 \
				  " (SELECT count(*) FROM job_targets jt WHERE jt.job_pk = j.id" \
				  " AND jt.released_at IS NULL), j.rollout_stopped_at IS NOT NULL"

#define EXEC_COLS                                                                                                 \
	"j.job_id, t.name, e.status, e.status_details::text, " MS("e.queued_at") ", " MS("e.started_at") ", " MS( \
		"e.last_updated_at") ", e.version_number,"                                                        \
				     " e.execution_number,"                                                       \
				     " coalesce((e.retries_by_type->>'FAILED')::int, 0),"                         \
				     " coalesce((e.retries_by_type->>'TIMED_OUT')::int, 0), " MS(                 \
					     "e.in_progress_deadline") ", " MS("e.step_deadline") ", e.force_canceled, e.job_pk, e.thing_id"
#define EXEC_NCOLS 16

int64_t db_jobs_ms(const char *text)
{
	return text && *text ? strtoll(text, NULL, 10) : 0;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void db_jobs_params_init(struct db_jobs_params *p)
{
	memset(p, 0, sizeof(*p));
}

void db_jobs_params_cleanup(struct db_jobs_params *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	memset(p, 0, sizeof(*p));
}

int db_jobs_params_add(struct db_jobs_params *p, const char *value)
{
	if (p->n >= DB_JOBS_PARAMS_MAX)
		return -1;
	p->values[p->n++] = value;
	return p->n;
}

int db_jobs_params_take(struct db_jobs_params *p, char *value)
{
	if (!value || p->n >= DB_JOBS_PARAMS_MAX || p->nowned >= DB_JOBS_PARAMS_MAX) {
		free(value);
		return -1;
	}
	p->owned[p->nowned++] = value;
	p->values[p->n++] = value;
	return p->n;
}

/* Postgres array literal of names that need no escaping ([a-zA-Z0-9:_-]), quoted anyway. */
static char *name_array(const struct jobs_target *targets, size_t n, enum jobs_target_type type)
{
	struct buf b;
	bool first = true;

	buf_init(&b);
	buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (targets[i].type != type)
			continue;
		buf_printf(&b, "%s\"%s\"", first ? "" : ",", targets[i].name);
		first = false;
	}
	if (!buf_putc(&b, '}')) {
		buf_cleanup(&b);
		return NULL;
	}
	return buf_take(&b);
}

static enum db_status dynamic_cond(const char *query, struct buf *cond, struct db_jobs_params *p)
{
	char err[256];
	char **qp = NULL;
	int nqp = 0;
	struct group_query *q = group_query_parse(query, err, sizeof(err));
	bool ok;

	if (!q) {
		/* stored queries were validated on creation: an unparsable one matches nothing */
		log_warn("jobs", "group_query_unparsable", LOG_S("error", err), LOG_END);
		buf_puts(cond, " OR false");
		return DB_ONE;
	}
	buf_puts(cond, " OR ");
	ok = group_query_to_sql(q, p->n + 1, cond, &qp, &nqp);
	group_query_free(q);
	for (int i = 0; i < nqp; i++) {
		if (ok && db_jobs_params_take(p, qp[i]) < 0)
			ok = false;
		else if (!ok)
			free(qp[i]);
	}
	free(qp);
	return ok ? DB_ONE : DB_HARD;
}

enum db_status db_jobs_target_sql(struct db *db, const struct jobs_target *targets, size_t n,
				  struct buf *cond, struct db_jobs_params *p, char *missing,
				  size_t missing_cap, bool *missing_is_group)
{
	char *things = name_array(targets, n, JOBS_TARGET_THING);
	char *groups = name_array(targets, n, JOBS_TARGET_THING_GROUP);
	struct db_rows *rows = NULL;
	enum db_status st = DB_HARD;
	struct buf statics;
	bool has_static = false;
	int k;

	buf_init(&statics);
	if (!things || !groups)
		goto out;
	/* every named thing must exist (spec 3.8) */
	const char *tp[] = { things };
	st = db_exec(db,
		     "SELECT n FROM unnest($1::text[]) n WHERE NOT EXISTS"
		     " (SELECT 1 FROM things WHERE name = n) LIMIT 1",
		     1, tp, &rows);
	if (st < 0)
		goto out;
	if (st > 0) {
		snprintf(missing, missing_cap, "%s", db_rows_get(rows, 0, 0));
		*missing_is_group = false;
		st = DB_NONE;
		goto out;
	}
	db_rows_free(rows);
	rows = NULL;
	const char *gp[] = { groups };
	st = db_exec(db,
		     "SELECT n, g.type, g.query FROM unnest($1::text[]) n"
		     " LEFT JOIN thing_groups g ON g.name = n ORDER BY g.id IS NULL DESC",
		     1, gp, &rows);
	if (st < 0)
		goto out;
	if (st > 0 && !db_rows_get(rows, 0, 1)) {
		snprintf(missing, missing_cap, "%s", db_rows_get(rows, 0, 0));
		*missing_is_group = true;
		st = DB_NONE;
		goto out;
	}
	k = db_jobs_params_take(p, things);
	things = NULL;
	if (k < 0) {
		st = DB_HARD;
		goto out;
	}
	buf_printf(cond, "(t.name = ANY($%d::text[])", k);
	buf_putc(&statics, '{');
	for (int i = 0; rows && i < rows->nrows; i++) {
		if (strcmp(db_rows_get(rows, i, 1), "static") == 0) {
			buf_printf(&statics, "%s\"%s\"", has_static ? "," : "",
				   db_rows_get(rows, i, 0));
			has_static = true;
		} else if (dynamic_cond(db_rows_get(rows, i, 2), cond, p) != DB_ONE) {
			st = DB_HARD;
			goto out;
		}
	}
	if (has_static) {
		if (!buf_putc(&statics, '}') ||
		    (k = db_jobs_params_take(p, buf_take(&statics))) < 0) {
			st = DB_HARD;
			goto out;
		}
		buf_printf(cond,
			   " OR t.id IN (SELECT m.thing_id FROM thing_group_members m WHERE"
			   " m.group_id IN (WITH RECURSIVE g(id, depth) AS (SELECT id, 0 FROM"
			   " thing_groups WHERE name = ANY($%d::text[]) AND type = 'static'"
			   " UNION ALL SELECT c.id, g.depth + 1 FROM thing_groups c JOIN g ON"
			   " c.parent_id = g.id WHERE g.depth < 16) SELECT id FROM g))",
			   k);
	}
	st = buf_putc(cond, ')') ? DB_ONE : DB_HARD;
out:
	free(things);
	free(groups);
	buf_cleanup(&statics);
	db_rows_free(rows);
	return st;
}

static enum db_status notify_scheduler(struct db *db, const char *what)
{
	const char *params[] = { what };

	return db_exec(db, "SELECT pg_notify('" DB_JOBS_CHANNEL "', $1)", 1, params, NULL);
}

static json_t *targets_json(const struct jobs_spec *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->target_count; i++) {
		if (json_array_append_new(a, json_string(s->targets[i].arn)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

enum db_status db_jobs_create(struct db *db, const struct db_job_new *in,
			      struct db_job_created *out)
{
	const struct jobs_spec *s = in->spec;
	struct db_rows *rows = NULL;
	struct db_jobs_params p;
	struct buf sql;
	json_t *cfg = NULL, *targets = NULL;
	char *cfg_text = NULL, *targets_text = NULL;
	enum db_status st;
	enum jobs_job_status status = jobs_job_initial_status(s->scheduling.start_ms, in->now_ms);
	bool is_release_all =
		!s->rollout.is_set && !s->has_scheduling && status == JOBS_JOB_IN_PROGRESS;
	char pk[24];

	memset(out, 0, sizeof(*out));
	db_jobs_params_init(&p);
	buf_init(&sql);
	const char *ep[] = { in->job_id };
	st = db_exec(db, "SELECT id, request_sha256 FROM jobs WHERE job_id = $1", 1, ep, &rows);
	if (st < 0)
		goto out;
	if (st > 0) {
		out->job_pk = db_jobs_ms(db_rows_get(rows, 0, 0));
		out->result = strcmp(db_rows_get(rows, 0, 1), in->request_sha256) == 0
				      ? DB_JOBS_SAME
				      : DB_JOBS_CONFLICT;
		st = DB_ONE;
		goto out;
	}
	db_rows_free(rows);
	rows = NULL;
	st = db_jobs_target_sql(db, s->targets, s->target_count, &sql, &p, out->missing,
				sizeof(out->missing), &out->missing_is_group);
	if (st == DB_NONE)
		out->result = DB_JOBS_TARGET_NOT_FOUND;
	if (st <= 0)
		goto out;
	cfg = jobs_config_render(s, JOBS_CONFIG_CREATE_JOB);
	targets = targets_json(s);
	cfg_text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
	targets_text = targets ? json_dumps(targets, JSON_COMPACT) : NULL;
	if (!cfg_text || !targets_text) {
		st = DB_HARD;
		goto out;
	}
	const char *jp[] = { in->job_id,
			     jobs_job_status_name(status),
			     jobs_target_selection_name(s->target_selection),
			     targets_text,
			     in->document,
			     s->description,
			     in->template_id,
			     cfg_text,
			     in->request_sha256,
			     in->created_by };
	st = db_exec(db,
		     "INSERT INTO jobs (job_id, status, target_selection, targets, document,"
		     " description, template_id, config, request_sha256, created_by)"
		     " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8::jsonb, $9, $10) RETURNING id",
		     10, jp, &rows);
	if (st <= 0) {
		st = st == DB_NONE ? DB_HARD : st;
		goto out;
	}
	out->job_pk = db_jobs_ms(db_rows_get(rows, 0, 0));
	snprintf(pk, sizeof(pk), "%" PRId64, out->job_pk);
	db_rows_free(rows);
	rows = NULL;
	int kpk = db_jobs_params_add(&p, pk);
	int krel = db_jobs_params_add(&p, is_release_all ? "true" : "false");
	if (kpk < 0 || krel < 0) {
		st = DB_HARD;
		goto out;
	}
	struct buf ins;
	buf_init(&ins);
	buf_printf(&ins,
		   "INSERT INTO job_targets (job_pk, thing_id, released_at) SELECT $%d::bigint,"
		   " t.id, CASE WHEN $%d::boolean THEN now() END FROM things t WHERE %s",
		   kpk, krel, sql.data ? sql.data : "false");
	if (!ins.data) {
		buf_cleanup(&ins);
		st = DB_HARD;
		goto out;
	}
	st = db_exec(db, ins.data, p.n, p.values, NULL);
	buf_cleanup(&ins);
	if (st < 0)
		goto out;
	if (is_release_all) {
		const char *rp[] = { pk, in->created_by };
		st = db_exec(db,
			     "WITH ins AS (INSERT INTO job_executions (job_pk, thing_id, status)"
			     " SELECT job_pk, thing_id, 'QUEUED' FROM job_targets WHERE job_pk ="
			     " $1::bigint RETURNING thing_id, execution_number, version_number),"
			     " h AS (INSERT INTO job_execution_history (job_pk, thing_id,"
			     " execution_number, to_status, version_number, actor, reason)"
			     " SELECT $1::bigint, thing_id, execution_number, 'QUEUED',"
			     " version_number, $2, 'released' FROM ins RETURNING 1),"
			     " u AS (UPDATE jobs SET rollout_released = (SELECT count(*) FROM h)"
			     " WHERE id = $1::bigint RETURNING rollout_released)"
			     " SELECT rollout_released FROM u",
			     2, rp, &rows);
		if (st <= 0) {
			st = st == DB_NONE ? DB_HARD : st;
			goto out;
		}
		out->released = db_jobs_ms(db_rows_get(rows, 0, 0));
		if (out->released > 0) {
			/* one fan-out outbox row for every thing whose only pending job this is */
			int ev =
				db_job_events_emit_fanout(db, out->job_pk, NULL, in->now_ms / 1000);
			if (ev < 0) {
				st = (enum db_status)ev;
				goto out;
			}
		}
	}
	st = notify_scheduler(db, in->job_id);
	if (st >= 0) {
		out->result = DB_JOBS_CREATED;
		st = DB_ONE;
	}
out:
	db_rows_free(rows);
	db_jobs_params_cleanup(&p);
	buf_cleanup(&sql);
	json_decref(cfg);
	json_decref(targets);
	free(cfg_text);
	free(targets_text);
	return st;
}

void db_job_cleanup(struct db_job *j)
{
	if (!j)
		return;
	json_decref(j->targets);
	json_decref(j->config);
	free(j->document);
	free(j->description);
	free(j->template_id);
	free(j->reason_code);
	free(j->comment);
	free(j->created_by);
	memset(j, 0, sizeof(*j));
}

static bool row_to_job(const struct db_rows *rows, int r, struct db_job *j)
{
	memset(j, 0, sizeof(*j));
	j->pk = db_jobs_ms(db_rows_get(rows, r, 0));
	snprintf(j->job_id, sizeof(j->job_id), "%s", db_rows_get(rows, r, 1));
	if (!jobs_job_status_parse(db_rows_get(rows, r, 2), &j->status))
		j->status = JOBS_JOB_IN_PROGRESS;
	if (!jobs_target_selection_parse(db_rows_get(rows, r, 3), &j->target_selection))
		j->target_selection = JOBS_TARGET_SNAPSHOT;
	j->targets = json_loads(db_rows_get(rows, r, 4), 0, NULL);
	j->document = xstrdup(db_rows_get(rows, r, 5));
	j->description = xstrdup(db_rows_get(rows, r, 6));
	j->template_id = xstrdup(db_rows_get(rows, r, 7));
	j->config = json_loads(db_rows_get(rows, r, 8), 0, NULL);
	j->force_canceled = strcmp(db_rows_get(rows, r, 9), "t") == 0;
	j->reason_code = xstrdup(db_rows_get(rows, r, 10));
	j->comment = xstrdup(db_rows_get(rows, r, 11));
	j->created_by = xstrdup(db_rows_get(rows, r, 12));
	j->created_at_ms = db_jobs_ms(db_rows_get(rows, r, 13));
	j->last_updated_at_ms = db_jobs_ms(db_rows_get(rows, r, 14));
	j->completed_at_ms = db_jobs_ms(db_rows_get(rows, r, 15));
	j->version = db_jobs_ms(db_rows_get(rows, r, 16));
	j->pending_targets = db_jobs_ms(db_rows_get(rows, r, 17));
	j->is_rollout_stopped = strcmp(db_rows_get(rows, r, 18), "t") == 0;
	if (!j->targets || !j->document || !j->config || !j->created_by ||
	    (db_rows_get(rows, r, 6) && !j->description) ||
	    (db_rows_get(rows, r, 7) && !j->template_id) ||
	    (db_rows_get(rows, r, 10) && !j->reason_code) ||
	    (db_rows_get(rows, r, 11) && !j->comment)) {
		db_job_cleanup(j);
		return false;
	}
	return true;
}

enum db_status db_jobs_load(struct db *db, const char *job_id, bool with_counts, struct db_job *out)
{
	const char *params[] = { job_id };
	struct db_rows *rows = NULL;
	enum db_status st;

	memset(out, 0, sizeof(*out));
	st = db_exec(db, "SELECT " JOB_COLS " FROM jobs j WHERE j.job_id = $1", 1, params, &rows);
	if (st <= 0)
		goto out;
	if (!row_to_job(rows, 0, out)) {
		st = DB_HARD;
		goto out;
	}
	if (!with_counts)
		goto out;
	db_rows_free(rows);
	rows = NULL;
	char pk[24];
	snprintf(pk, sizeof(pk), "%" PRId64, out->pk);
	const char *cp[] = { pk };
	st = db_exec(db,
		     "SELECT status, count(*) FROM job_executions WHERE job_pk = $1::bigint"
		     " GROUP BY status UNION ALL SELECT 'TARGETS', count(*) FROM job_targets"
		     " WHERE job_pk = $1::bigint",
		     1, cp, &rows);
	if (st < 0) {
		db_job_cleanup(out);
		goto out;
	}
	for (int i = 0; rows && i < rows->nrows; i++) {
		enum jobs_exec_status es;
		int64_t n = db_jobs_ms(db_rows_get(rows, i, 1));
		if (strcmp(db_rows_get(rows, i, 0), "TARGETS") == 0)
			out->target_count = n;
		else if (jobs_exec_status_parse(db_rows_get(rows, i, 0), &es))
			jobs_job_counts_add(&out->counts, es, n);
	}
	st = DB_ONE;
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_jobs_list(struct db *db, const struct db_jobs_filter *f, struct db_job **out,
			    int *n)
{
	char before[24], limit[16];
	const char *params[] = { f->status, f->target_selection, f->thing_group, before, limit };
	struct db_rows *rows = NULL;
	enum db_status st;

	*out = NULL;
	*n = 0;
	snprintf(before, sizeof(before), "%" PRId64, f->before_pk);
	snprintf(limit, sizeof(limit), "%d", f->limit + 1);
	st = db_exec(db,
		     "SELECT " JOB_COLS " FROM jobs j WHERE ($1::text IS NULL OR j.status = $1)"
		     " AND ($2::text IS NULL OR j.target_selection = $2)"
		     " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text("
		     "j.targets) a WHERE a LIKE '%:thinggroup/' || $3))"
		     " AND j.id < $4::bigint ORDER BY j.id DESC LIMIT $5::int",
		     5, params, &rows);
	if (st <= 0)
		goto out;
	*out = calloc((size_t)rows->nrows, sizeof(**out));
	if (!*out) {
		st = DB_HARD;
		goto out;
	}
	for (int i = 0; i < rows->nrows; i++) {
		if (!row_to_job(rows, i, &(*out)[i])) {
			for (int k = 0; k < i; k++)
				db_job_cleanup(&(*out)[k]);
			free(*out);
			*out = NULL;
			st = DB_HARD;
			goto out;
		}
	}
	*n = rows->nrows;
out:
	db_rows_free(rows);
	return st;
}

int db_jobs_cancel_executions(struct db *db, int64_t job_pk, bool force, const char *actor,
			      const char *reason)
{
	char pk[24];
	const char *params[] = { pk, force ? "true" : "false", actor, reason };
	struct db_rows *rows = NULL;
	enum db_status st;
	int n;

	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	st = db_exec(db,
		     "WITH old AS (SELECT thing_id, status FROM job_executions WHERE job_pk ="
		     " $1::bigint AND (status = 'QUEUED' OR ($2::boolean AND status ="
		     " 'IN_PROGRESS')) ORDER BY thing_id FOR UPDATE),"
		     " c AS (UPDATE job_executions e SET status = 'CANCELED', force_canceled ="
		     " $2::boolean, version_number = e.version_number + 1, last_updated_at = now(),"
		     " in_progress_deadline = NULL, step_deadline = NULL FROM old WHERE e.job_pk ="
		     " $1::bigint AND e.thing_id = old.thing_id RETURNING e.thing_id,"
		     " e.execution_number, e.version_number, e.status_details, old.status AS"
		     " from_status),"
		     " h AS (INSERT INTO job_execution_history (job_pk, thing_id, execution_number,"
		     " from_status, to_status, status_details, version_number, actor, reason)"
		     " SELECT $1::bigint, thing_id, execution_number, from_status, 'CANCELED',"
		     " status_details, version_number, $3, $4 FROM c RETURNING 1)"
		     " SELECT count(*) FROM h",
		     4, params, &rows);
	if (st < 0)
		return st;
	n = (int)db_jobs_ms(db_rows_get(rows, 0, 0));
	db_rows_free(rows);
	return n;
}

enum db_status db_jobs_cancel(struct db *db, const char *job_id, bool force,
			      const char *reason_code, const char *comment, int64_t now_ms,
			      const char *actor, enum db_jobs_change_result *result, int64_t *pk)
{
	struct db_rows *rows = NULL;
	enum db_status st;
	enum jobs_job_status status;
	const char *params[] = { job_id };

	*result = DB_JOBS_NOT_FOUND;
	*pk = 0;
	st = db_exec(db, "SELECT id, status FROM jobs WHERE job_id = $1 FOR UPDATE", 1, params,
		     &rows);
	if (st <= 0)
		goto out;
	*pk = db_jobs_ms(db_rows_get(rows, 0, 0));
	if (!jobs_job_status_parse(db_rows_get(rows, 0, 1), &status) ||
	    jobs_job_check_cancel(status) != JOBS_OK) {
		*result = DB_JOBS_BAD_STATE;
		goto out;
	}
	char pktext[24];
	snprintf(pktext, sizeof(pktext), "%" PRId64, *pk);
	const char *up[] = { pktext, force ? "true" : "false", reason_code, comment };
	st = db_exec(db,
		     "UPDATE jobs SET status = 'CANCELED', force_canceled = force_canceled OR"
		     " $2::boolean, reason_code = coalesce($3, reason_code), comment ="
		     " coalesce($4, comment), completed_at = coalesce(completed_at, now()),"
		     " last_updated_at = now(), version = version + 1 WHERE id = $1::bigint",
		     4, up, NULL);
	if (st < 0)
		goto out;
	int n = db_jobs_cancel_executions(db, *pk, force, actor, "job canceled");
	if (n < 0) {
		st = (enum db_status)n;
		goto out;
	}
	int ev = db_job_events_emit_for_job(db, *pk, now_ms / 1000);
	if (ev < 0) {
		st = (enum db_status)ev;
		goto out;
	}
	st = notify_scheduler(db, job_id);
	if (st >= 0) {
		*result = DB_JOBS_CHANGED;
		st = DB_ONE;
	}
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_jobs_delete(struct db *db, const char *job_id, bool force, int64_t now_ms,
			      enum db_jobs_change_result *result)
{
	struct db_rows *rows = NULL;
	enum db_status st;
	enum jobs_job_status status;
	const char *params[] = { job_id };
	int64_t pk;

	*result = DB_JOBS_NOT_FOUND;
	st = db_exec(db,
		     "SELECT id, status, (SELECT count(*) FROM jobs WHERE status ="
		     " 'DELETION_IN_PROGRESS') FROM jobs WHERE job_id = $1 FOR UPDATE",
		     1, params, &rows);
	if (st <= 0)
		goto out;
	pk = db_jobs_ms(db_rows_get(rows, 0, 0));
	if (!jobs_job_status_parse(db_rows_get(rows, 0, 1), &status) ||
	    jobs_job_check_delete(status, force) != JOBS_OK) {
		*result = DB_JOBS_BAD_STATE;
		goto out;
	}
	if (db_jobs_ms(db_rows_get(rows, 0, 2)) >= 10) {
		*result = DB_JOBS_LIMIT;
		goto out;
	}
	char pktext[24];
	snprintf(pktext, sizeof(pktext), "%" PRId64, pk);
	const char *dp[] = { pktext };
	st = db_exec(db,
		     "UPDATE jobs SET status = 'DELETION_IN_PROGRESS', last_updated_at = now(),"
		     " version = version + 1 WHERE id = $1::bigint",
		     1, dp, NULL);
	if (st < 0)
		goto out;
	/* the job left every pending list: announce it, then discard its executions */
	int ev = db_job_events_emit_for_job(db, pk, now_ms / 1000);
	if (ev < 0) {
		st = (enum db_status)ev;
		goto out;
	}
	st = db_exec(db, "DELETE FROM job_executions WHERE job_pk = $1::bigint", 1, dp, NULL);
	if (st < 0)
		goto out;
	st = notify_scheduler(db, job_id);
	if (st >= 0) {
		*result = DB_JOBS_CHANGED;
		st = DB_ONE;
	}
out:
	db_rows_free(rows);
	return st;
}

/* Fill e from row r of an EXEC_COLS result. False on OOM or a damaged row. */
static bool row_to_exec(const struct db_rows *rows, int r, struct jobs_execution *e)
{
	const char *details = db_rows_get(rows, r, 3);

	jobs_execution_init(e);
	snprintf(e->job_id, sizeof(e->job_id), "%s", db_rows_get(rows, r, 0));
	snprintf(e->thing_name, sizeof(e->thing_name), "%s", db_rows_get(rows, r, 1));
	if (!jobs_exec_status_parse(db_rows_get(rows, r, 2), &e->status))
		return false;
	if (details && strcmp(details, "{}") != 0) {
		e->status_details = json_loads(details, 0, NULL);
		if (!e->status_details)
			return false;
	}
	e->queued_at_ms = db_jobs_ms(db_rows_get(rows, r, 4));
	e->started_at_ms = db_jobs_ms(db_rows_get(rows, r, 5));
	e->last_updated_at_ms = db_jobs_ms(db_rows_get(rows, r, 6));
	e->version_number = db_jobs_ms(db_rows_get(rows, r, 7));
	e->execution_number = db_jobs_ms(db_rows_get(rows, r, 8));
	e->retries.after_failed = (int)db_jobs_ms(db_rows_get(rows, r, 9));
	e->retries.after_timed_out = (int)db_jobs_ms(db_rows_get(rows, r, 10));
	e->in_progress_deadline_ms = db_jobs_ms(db_rows_get(rows, r, 11));
	e->step_deadline_ms = db_jobs_ms(db_rows_get(rows, r, 12));
	e->force_canceled = strcmp(db_rows_get(rows, r, 13), "t") == 0;
	e->seq = db_jobs_ms(db_rows_get(rows, r, 14));
	return true;
}

static enum db_status exec_load(struct db *db, const char *job_id, const char *thing,
				int64_t execution_number, bool for_update, struct jobs_execution *e,
				int64_t *job_pk, int64_t *thing_id)
{
	const char *params[] = { job_id, thing };
	struct db_rows *rows = NULL;
	enum db_status st;

	jobs_execution_init(e);
	st = db_exec(db,
		     for_update ? "SELECT " EXEC_COLS " FROM job_executions e JOIN jobs j ON j.id ="
				  " e.job_pk JOIN things t ON t.id = e.thing_id WHERE j.job_id = $1"
				  " AND t.name = $2 AND j.status <> 'DELETION_IN_PROGRESS'"
				  " FOR UPDATE OF e"
				: "SELECT " EXEC_COLS " FROM job_executions e JOIN jobs j ON j.id ="
				  " e.job_pk JOIN things t ON t.id = e.thing_id WHERE j.job_id = $1"
				  " AND t.name = $2 AND j.status <> 'DELETION_IN_PROGRESS'",
		     2, params, &rows);
	if (st <= 0)
		goto out;
	if (!row_to_exec(rows, 0, e)) {
		jobs_execution_cleanup(e);
		st = DB_HARD;
		goto out;
	}
	if (execution_number > 0 && e->execution_number != execution_number) {
		jobs_execution_cleanup(e);
		st = DB_NONE;
		goto out;
	}
	if (job_pk)
		*job_pk = db_jobs_ms(db_rows_get(rows, 0, 14));
	if (thing_id)
		*thing_id = db_jobs_ms(db_rows_get(rows, 0, 15));
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_jobs_execution_load(struct db *db, const char *job_id, const char *thing,
				      int64_t execution_number, struct jobs_execution *e,
				      int64_t *job_pk, int64_t *thing_id)
{
	return exec_load(db, job_id, thing, execution_number, false, e, job_pk, thing_id);
}

enum db_status db_jobs_execution_cancel(struct db *db, const char *job_id, const char *thing,
					bool force, const struct jobs_service_opts *opts,
					int64_t now_ms, const char *actor,
					enum db_jobs_change_result *result)
{
	struct jobs_execution cur, next;
	int64_t job_pk = 0, thing_id = 0;
	char *details = NULL;
	enum db_status st;
	enum jobs_err jerr;

	*result = DB_JOBS_NOT_FOUND;
	jobs_execution_init(&next);
	st = exec_load(db, job_id, thing, 0, true, &cur, &job_pk, &thing_id);
	if (st <= 0)
		return st;
	jerr = jobs_execution_service(&cur, force ? JOBS_SERVICE_FORCE_CANCEL : JOBS_SERVICE_CANCEL,
				      opts, now_ms, &next);
	if (jerr == JOBS_ERR_VERSION_MISMATCH) {
		*result = DB_JOBS_VERSION;
		st = DB_ONE;
		goto out;
	}
	if (jerr == JOBS_ERR_INVALID_STATE_TRANSITION) {
		*result = DB_JOBS_BAD_STATE;
		st = DB_ONE;
		goto out;
	}
	if (jerr != JOBS_OK) {
		st = DB_HARD;
		goto out;
	}
	details = next.status_details ? json_dumps(next.status_details, JSON_COMPACT) : NULL;
	char pk[24], tid[24], ver[24], oldver[24];
	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	snprintf(tid, sizeof(tid), "%" PRId64, thing_id);
	snprintf(ver, sizeof(ver), "%" PRId64, next.version_number);
	snprintf(oldver, sizeof(oldver), "%" PRId64, cur.version_number);
	const char *up[] = { pk,
			     tid,
			     details ? details : "{}",
			     ver,
			     oldver,
			     next.force_canceled ? "true" : "false",
			     jobs_exec_status_name(cur.status),
			     actor };
	st = db_exec(db,
		     "WITH u AS (UPDATE job_executions SET status = 'CANCELED', status_details ="
		     " $3::jsonb, version_number = $4::bigint, force_canceled = $6::boolean,"
		     " last_updated_at = now(), in_progress_deadline = NULL, step_deadline = NULL"
		     " WHERE job_pk = $1::bigint AND thing_id = $2::bigint AND version_number ="
		     " $5::bigint RETURNING execution_number)"
		     " INSERT INTO job_execution_history (job_pk, thing_id, execution_number,"
		     " from_status, to_status, status_details, version_number, actor, reason)"
		     " SELECT $1::bigint, $2::bigint, execution_number, $7, 'CANCELED', $3::jsonb,"
		     " $4::bigint, $8, 'CancelJobExecution' FROM u",
		     8, up, NULL);
	if (st < 0)
		goto out;
	if (st == DB_NONE) { /* changed under us despite the lock: let the caller retry */
		st = DB_RETRY;
		goto out;
	}
	char ids[32];
	snprintf(ids, sizeof(ids), "{%" PRId64 "}", thing_id);
	int ev = db_job_events_emit(db, ids, now_ms / 1000);
	if (ev < 0) {
		st = (enum db_status)ev;
		goto out;
	}
	st = notify_scheduler(db, job_id);
	if (st >= 0) {
		*result = DB_JOBS_CHANGED;
		st = DB_ONE;
	}
out:
	free(details);
	jobs_execution_cleanup(&cur);
	jobs_execution_cleanup(&next);
	return st;
}

void db_jobs_exec_rows_free(struct db_jobs_exec_row *rows, int n)
{
	for (int i = 0; rows && i < n; i++)
		jobs_execution_cleanup(&rows[i].e);
	free(rows);
}

enum db_status db_jobs_exec_list(struct db *db, bool by_job, int64_t key, const char *status,
				 const char *job_id, int64_t after, int limit,
				 struct db_jobs_exec_row **out, int *n)
{
	char k[24], a[24], l[16];
	const char *params[] = { k, status, a, l, job_id };
	struct db_rows *rows = NULL;
	enum db_status st;

	*out = NULL;
	*n = 0;
	snprintf(k, sizeof(k), "%" PRId64, key);
	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(l, sizeof(l), "%d", limit + 1);
	st = db_exec(db,
		     by_job ? "SELECT " EXEC_COLS " FROM job_executions e JOIN jobs j ON j.id ="
			      " e.job_pk JOIN things t ON t.id = e.thing_id WHERE e.job_pk ="
			      " $1::bigint AND ($2::text IS NULL OR e.status = $2) AND e.thing_id >"
			      " $3::bigint AND ($5::text IS NULL OR j.job_id = $5)"
			      " ORDER BY e.thing_id LIMIT $4::int"
			    : "SELECT " EXEC_COLS " FROM job_executions e JOIN jobs j ON j.id ="
			      " e.job_pk JOIN things t ON t.id = e.thing_id WHERE e.thing_id ="
			      " $1::bigint AND ($2::text IS NULL OR e.status = $2) AND e.job_pk >"
			      " $3::bigint AND ($5::text IS NULL OR j.job_id = $5) AND j.status <>"
			      " 'DELETION_IN_PROGRESS' ORDER BY e.job_pk LIMIT $4::int",
		     5, params, &rows);
	if (st <= 0)
		goto out;
	*out = calloc((size_t)rows->nrows, sizeof(**out));
	if (!*out) {
		st = DB_HARD;
		goto out;
	}
	for (int i = 0; i < rows->nrows; i++) {
		if (!row_to_exec(rows, i, &(*out)[i].e)) {
			db_jobs_exec_rows_free(*out, i + 1);
			*out = NULL;
			st = DB_HARD;
			goto out;
		}
		(*out)[i].seq = db_jobs_ms(db_rows_get(rows, i, by_job ? 15 : 14));
	}
	*n = rows->nrows;
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_jobs_history(struct db *db, const char *job_id, const char *thing, int64_t after,
			       int limit, json_t **out)
{
	char a[24], l[16];
	const char *params[] = { job_id, thing, a, l };
	enum db_status st;

	*out = NULL;
	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(l, sizeof(l), "%d", limit + 1);
	st = db_query_json(
		db,
		"SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM job_execution_history h JOIN jobs j"
		" ON j.id = h.job_pk JOIN things t ON t.id = h.thing_id WHERE j.job_id = $1 AND"
		" t.name = $2) THEN NULL ELSE coalesce((SELECT jsonb_agg(x ORDER BY (x->>'id')"
		"::bigint) FROM (SELECT jsonb_build_object('id', h.id::text, 'execution_number',"
		" h.execution_number, 'from_status', h.from_status, 'to_status', h.to_status,"
		" 'status_details', h.status_details, 'version_number', h.version_number,"
		" 'actor', h.actor, 'reason', h.reason, 'at', bw_ts(h.at)) AS x FROM"
		" job_execution_history h JOIN jobs j ON j.id = h.job_pk JOIN things t ON t.id ="
		" h.thing_id WHERE j.job_id = $1 AND t.name = $2 AND h.id > $3::bigint ORDER BY"
		" h.id LIMIT $4::int) s), '[]'::jsonb) END",
		4, params, out);
	return st;
}

void db_job_template_cleanup(struct db_job_template *t)
{
	if (!t)
		return;
	free(t->description);
	free(t->document);
	free(t->document_source);
	free(t->request_sha256);
	json_decref(t->config);
	memset(t, 0, sizeof(*t));
}

enum db_status db_jobs_template_create(struct db *db, const char *template_id,
				       const char *description, const char *document,
				       const char *document_source, const char *config_json,
				       const char *request_sha256,
				       enum db_jobs_create_result *result)
{
	const char *params[] = { template_id,	  description, document,
				 document_source, config_json, request_sha256 };
	struct db_rows *rows = NULL;
	enum db_status st;

	*result = DB_JOBS_CONFLICT;
	st = db_exec(db,
		     "WITH ins AS (INSERT INTO job_templates (template_id, description, document,"
		     " document_source, config, request_sha256) VALUES ($1, $2, $3, $4, $5::jsonb,"
		     " $6) ON CONFLICT (template_id) DO NOTHING RETURNING 'created'::text AS r)"
		     " SELECT r FROM ins UNION ALL SELECT CASE WHEN request_sha256 = $6 THEN"
		     " 'same' ELSE 'conflict' END FROM job_templates WHERE template_id = $1 AND"
		     " NOT EXISTS (SELECT 1 FROM ins)",
		     6, params, &rows);
	if (st <= 0) {
		st = st == DB_NONE ? DB_HARD : st;
		goto out;
	}
	const char *r = db_rows_get(rows, 0, 0);
	*result = strcmp(r, "created") == 0 ? DB_JOBS_CREATED
		  : strcmp(r, "same") == 0  ? DB_JOBS_SAME
					    : DB_JOBS_CONFLICT;
	st = DB_ONE;
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_jobs_stream_create(struct db *db, const char *stream_id, const char *description,
				     int64_t job_pk, const struct db_stream_file *files, size_t n)
{
	struct buf ids, shas, sizes;
	char pk[24];
	enum db_status st = DB_HARD;

	buf_init(&ids);
	buf_init(&shas);
	buf_init(&sizes);
	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	const char *sp[] = { stream_id, description, job_pk > 0 ? pk : NULL };
	st = db_exec(db,
		     "INSERT INTO job_streams (stream_id, description, job_pk) VALUES ($1, $2,"
		     " $3::bigint) ON CONFLICT (stream_id) DO NOTHING",
		     3, sp, NULL);
	if (st <= 0)
		goto out;
	buf_putc(&ids, '{');
	buf_putc(&shas, '{');
	buf_putc(&sizes, '{');
	for (size_t i = 0; i < n; i++) {
		buf_printf(&ids, "%s%d", i ? "," : "", files[i].file_id);
		buf_printf(&shas, "%s%s", i ? "," : "", files[i].sha256);
		buf_printf(&sizes, "%s%" PRIu64, i ? "," : "", files[i].size_bytes);
	}
	if (!buf_putc(&ids, '}') || !buf_putc(&shas, '}') || !buf_putc(&sizes, '}')) {
		st = DB_HARD;
		goto out;
	}
	const char *fp[] = { stream_id, ids.data, shas.data, sizes.data };
	st = db_exec(db,
		     "INSERT INTO job_stream_files (stream_id, file_id, sha256, size_bytes)"
		     " SELECT $1, f, s, z FROM unnest($2::int[], $3::text[], $4::bigint[])"
		     " AS x(f, s, z)",
		     4, fp, NULL);
	if (st >= 0)
		st = DB_ONE;
out:
	buf_cleanup(&ids);
	buf_cleanup(&shas);
	buf_cleanup(&sizes);
	return st;
}

enum db_status db_jobs_stream_load(struct db *db, const char *stream_id, int *version,
				   char **description, struct db_stream_file *files, size_t cap,
				   size_t *n)
{
	const char *params[] = { stream_id };
	struct db_rows *rows = NULL;
	enum db_status st;

	*n = 0;
	*description = NULL;
	st = db_exec(db,
		     "SELECT s.version, s.description, f.file_id, f.sha256, f.size_bytes FROM"
		     " job_streams s LEFT JOIN job_stream_files f ON f.stream_id = s.stream_id"
		     " WHERE s.stream_id = $1 ORDER BY f.file_id",
		     1, params, &rows);
	if (st <= 0)
		goto out;
	*version = (int)db_jobs_ms(db_rows_get(rows, 0, 0));
	if (db_rows_get(rows, 0, 1)) {
		*description = strdup(db_rows_get(rows, 0, 1));
		if (!*description) {
			st = DB_HARD;
			goto out;
		}
	}
	for (int i = 0; i < rows->nrows && *n < cap; i++) {
		if (!db_rows_get(rows, i, 2))
			continue;
		files[*n].file_id = (int)db_jobs_ms(db_rows_get(rows, i, 2));
		snprintf(files[*n].sha256, sizeof(files[*n].sha256), "%s", db_rows_get(rows, i, 3));
		files[*n].size_bytes = (uint64_t)db_jobs_ms(db_rows_get(rows, i, 4));
		(*n)++;
	}
	st = DB_ONE;
out:
	db_rows_free(rows);
	return st;
}
