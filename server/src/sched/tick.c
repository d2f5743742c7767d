/* One scheduler tick (sched/scheduler.h): set-based statements per job, each job in its own
 * READ COMMITTED transaction that first locks the job row, so a tick is idempotent and a
 * second leader after a flip repeats nothing (released targets are marked in job_targets and
 * job_executions has one row per job and thing). */
#include "sched/scheduler.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "db/job_events.h"
#include "db/jobs.h"
#include "jobs/abort.h"
#include "jobs/config.h"
#include "jobs/job.h"
#include "jobs/retry.h"
#include "jobs/rollout.h"
#include "jobs/schedule.h"

#define MS(col) "(floor(extract(epoch FROM " col ") * 1000))::bigint"
/* Executions released per job and tick at most (bounds one transaction). */
#define RELEASE_BATCH_MAX 50000
/* Timeouts handled per tick at most. */
#define TIMEOUT_BATCH_MAX 10000

/* Renew a terminal execution when its thing is targeted again (continuous jobs): a new
 * execution number, QUEUED, version 1 (spec 3.3). */
#define RENEW_ON_CONFLICT                                                                         \
	" ON CONFLICT (job_pk, thing_id) DO UPDATE SET execution_number ="                        \
	" job_executions.execution_number + 1, status = 'QUEUED', status_details = '{}',"         \
	" version_number = 1, retry_attempt = 0, retries_by_type = '{}', force_canceled = false," \
	" queued_at = now(), started_at = NULL, last_updated_at = now(), in_progress_deadline ="  \
	" NULL, step_deadline = NULL, last_update_request = NULL WHERE job_executions.status IN"  \
	" ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED')"

/* History rows for executions created by `ins` (thing_id, execution_number, version_number). */
#define HISTORY_QUEUED(pk, reason)                                                        \
	" h AS (INSERT INTO job_execution_history (job_pk, thing_id, execution_number,"   \
	" to_status, version_number, actor, reason) SELECT " pk ", thing_id,"             \
	" execution_number, 'QUEUED', version_number, 'scheduler', '" reason "' FROM ins" \
	" RETURNING thing_id)"                                                            \
	" SELECT coalesce(string_agg(thing_id::text, ','), ''), count(*) FROM h"

/* Things touched in this transaction, as a Postgres array literal body. */
struct touched {
	struct buf ids;
	int64_t n;
};

static void touched_add(struct touched *t, const struct db_rows *rows)
{
	const char *ids = rows ? db_rows_get(rows, 0, 0) : NULL;

	if (!ids || !*ids)
		return;
	buf_printf(&t->ids, "%s%s", t->ids.len ? "," : "", ids);
	t->n += db_jobs_ms(db_rows_get(rows, 0, 1));
}

/* Run sql (returning "ids, count") and record the things. Returns the count or < 0. */
static int64_t run_collect(struct db *db, const char *sql, int n, const char *const *params,
			   struct touched *t)
{
	struct db_rows *rows = NULL;
	enum db_status st = db_exec(db, sql, n, params, &rows);
	int64_t count;

	if (st < 0)
		return st;
	count = rows && rows->nrows ? db_jobs_ms(db_rows_get(rows, 0, 1)) : 0;
	touched_add(t, rows);
	db_rows_free(rows);
	return count;
}

static enum db_status emit_touched(struct db *db, struct touched *t, int64_t now_ms)
{
	char *arr;
	int rc;

	if (t->ids.len == 0)
		return DB_ONE;
	if (t->ids.is_oom)
		return DB_HARD;
	if (asprintf(&arr, "{%s}", t->ids.data) < 0)
		return DB_HARD;
	rc = db_job_events_emit(db, arr, now_ms / 1000);
	free(arr);
	return rc < 0 ? (enum db_status)rc : DB_ONE;
}

/* ---- timeouts (all jobs at once) ---- */

struct timeout_ctx {
	int64_t now_ms;
	int64_t count;
};

static enum db_status timeouts_tx(struct db *db, void *arg)
{
	struct timeout_ctx *c = arg;
	struct touched t = { .n = 0 };
	char lim[16];
	const char *params[] = { lim };
	enum db_status st;

	buf_init(&t.ids);
	snprintf(lim, sizeof(lim), "%d", TIMEOUT_BATCH_MAX);
	c->count = run_collect(
		db,
		"WITH due AS (SELECT job_pk, thing_id FROM job_executions WHERE status ="
		" 'IN_PROGRESS' AND least(in_progress_deadline, step_deadline) <= now() ORDER BY"
		" job_pk, thing_id LIMIT $1::int FOR UPDATE SKIP LOCKED),"
		" u AS (UPDATE job_executions e SET status = 'TIMED_OUT', version_number ="
		" e.version_number + 1, last_updated_at = now(), in_progress_deadline = NULL,"
		" step_deadline = NULL FROM due WHERE e.job_pk = due.job_pk AND e.thing_id ="
		" due.thing_id AND e.status = 'IN_PROGRESS' RETURNING e.job_pk, e.thing_id,"
		" e.execution_number, e.version_number, e.status_details),"
		" h AS (INSERT INTO job_execution_history (job_pk, thing_id, execution_number,"
		" from_status, to_status, status_details, version_number, actor, reason) SELECT"
		" job_pk, thing_id, execution_number, 'IN_PROGRESS', 'TIMED_OUT', status_details,"
		" version_number, 'scheduler', 'timeout' FROM u RETURNING thing_id)"
		" SELECT coalesce(string_agg(DISTINCT thing_id::text, ','), ''), count(*) FROM h",
		1, params, &t);
	st = c->count < 0 ? (enum db_status)c->count : emit_touched(db, &t, c->now_ms);
	buf_cleanup(&t.ids);
	return st;
}

/* ---- per job ---- */

struct job_ctx {
	int64_t pk;
	char pk_text[24];
	char job_id[STRUTIL_JOB_ID_MAX + 1];
	const struct jobs_spec *spec;
	int64_t now_ms;
	struct sched_tick_stats stats; /* of this job's transaction (reset on retry) */
};

/* Cancel the job (abort or schedule end): status, executions, events. */
static enum db_status cancel_job(struct db *db, struct job_ctx *c, bool force, const char *comment,
				 const char *reason)
{
	const char *params[] = { c->pk_text, force ? "true" : "false", comment };
	enum db_status st;
	int n;

	st = db_exec(db,
		     "UPDATE jobs SET status = 'CANCELED', force_canceled = force_canceled OR"
		     " $2::boolean, comment = coalesce($3, comment), completed_at = now(),"
		     " last_updated_at = now(), version = version + 1 WHERE id = $1::bigint",
		     3, params, NULL);
	if (st < 0)
		return st;
	n = db_jobs_cancel_executions(db, c->pk, force, "scheduler", reason);
	if (n < 0)
		return (enum db_status)n;
	n = db_job_events_emit_for_job(db, c->pk, c->now_ms / 1000);
	return n < 0 ? (enum db_status)n : DB_ONE;
}

/* Retries (spec 3.5): the decision is jobs_retry_decision()'s, compiled by jobs_retry_rules()
 * into the finite table of (status, retry counts) it retries; one statement joins the job's
 * ended executions with that table, so every retry of the job is made at once. */
static int64_t retries(struct db *db, struct job_ctx *c, struct touched *t)
{
	struct jobs_retry_rule rules[JOBS_RETRY_RULES_MAX]; /* about 20 KiB */
	size_t n = jobs_retry_rules(&c->spec->retry, rules, JOBS_RETRY_RULES_MAX);
	struct buf col[5];
	int64_t count = 0;

	if (n == 0)
		return 0;
	for (int k = 0; k < 5; k++)
		buf_init(&col[k]);
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "," : "{";
		buf_printf(&col[0], "%s%s", sep, jobs_exec_status_name(rules[i].status));
		buf_printf(&col[1], "%s%d", sep, rules[i].counts.after_failed);
		buf_printf(&col[2], "%s%d", sep, rules[i].counts.after_timed_out);
		buf_printf(&col[3], "%s%d", sep, rules[i].next.after_failed);
		buf_printf(&col[4], "%s%d", sep, rules[i].next.after_timed_out);
	}
	for (int k = 0; k < 5; k++) {
		buf_printf(&col[k], "}");
		if (col[k].is_oom)
			count = DB_HARD;
	}
	if (count == 0) {
		const char *params[] = { c->pk_text,  col[0].data, col[1].data,
					 col[2].data, col[3].data, col[4].data };
		count = run_collect(
			db,
			"WITH d AS (SELECT * FROM unnest($2::text[], $3::int[], $4::int[], $5::int[],"
			" $6::int[]) AS d (status, rf, rt, nf, nt)),"
			" c AS (SELECT e.thing_id, e.status, d.nf, d.nt FROM job_executions e JOIN d"
			" ON d.status = e.status AND d.rf = coalesce((e.retries_by_type->>'FAILED')::int,"
			" 0) AND d.rt = coalesce((e.retries_by_type->>'TIMED_OUT')::int, 0) WHERE"
			" e.job_pk = $1::bigint AND e.status = ANY ($2::text[]) FOR UPDATE OF e),"
			" u AS (UPDATE job_executions e SET execution_number = e.execution_number + 1,"
			" status = 'QUEUED', status_details = '{}', version_number = 1, retry_attempt ="
			" e.retry_attempt + 1, retries_by_type = jsonb_build_object('FAILED', c.nf,"
			" 'TIMED_OUT', c.nt), force_canceled = false, queued_at = now(), started_at ="
			" NULL, last_updated_at = now(), in_progress_deadline = NULL, step_deadline ="
			" NULL, last_update_request = NULL FROM c WHERE e.job_pk = $1::bigint AND"
			" e.thing_id = c.thing_id RETURNING e.thing_id, e.execution_number, c.status AS"
			" from_status),"
			" h AS (INSERT INTO job_execution_history (job_pk, thing_id, execution_number,"
			" from_status, to_status, version_number, actor, reason) SELECT $1::bigint,"
			" thing_id, execution_number, from_status, 'QUEUED', 1, 'scheduler', 'retry' FROM"
			" u RETURNING thing_id)"
			" SELECT coalesce(string_agg(thing_id::text, ','), ''), count(*) FROM h",
			6, params, t);
	}
	for (int k = 0; k < 5; k++)
		buf_cleanup(&col[k]);
	return count;
}

static enum db_status load_counts(struct db *db, const char *pk, struct jobs_job_counts *counts)
{
	const char *params[] = { pk };
	struct db_rows *rows = NULL;
	enum db_status st;

	memset(counts, 0, sizeof(*counts));
	st = db_exec(db,
		     "SELECT status, count(*) FROM job_executions WHERE job_pk = $1::bigint GROUP"
		     " BY status",
		     1, params, &rows);
	for (int i = 0; st > 0 && i < rows->nrows; i++) {
		enum jobs_exec_status es;
		if (jobs_exec_status_parse(db_rows_get(rows, i, 0), &es))
			jobs_job_counts_add(counts, es, db_jobs_ms(db_rows_get(rows, i, 1)));
	}
	db_rows_free(rows);
	return st;
}

/* Continuous targeting (spec 3.8): joiners get targets (and, when active, executions at once,
 * not rate-limited); leavers lose their targets and QUEUED executions become REMOVED. */
static enum db_status continuous(struct db *db, struct job_ctx *c, bool is_active,
				 struct touched *t)
{
	struct db_jobs_params p;
	struct buf cond, sql;
	char missing[STRUTIL_THING_NAME_MAX + 1];
	bool is_group;
	enum db_status st;
	int64_t n;

	db_jobs_params_init(&p);
	buf_init(&cond);
	buf_init(&sql);
	st = db_jobs_target_sql(db, c->spec->targets, c->spec->target_count, &cond, &p, missing,
				sizeof(missing), &is_group);
	if (st == DB_NONE) { /* a target was deleted: membership cannot be evaluated now */
		log_debug("sched", "continuous_target_missing", LOG_S("job_id", c->job_id),
			  LOG_S("target", missing), LOG_END);
		st = DB_ONE;
		goto out;
	}
	if (st < 0)
		goto out;
	int kpk = db_jobs_params_add(&p, c->pk_text);
	int kact = db_jobs_params_add(&p, is_active ? "true" : "false");
	if (kpk < 0 || kact < 0 || cond.is_oom) {
		st = DB_HARD;
		goto out;
	}
	buf_printf(
		&sql,
		"WITH j AS (INSERT INTO job_targets (job_pk, thing_id, released_at) SELECT"
		" $%d::bigint, t.id, CASE WHEN $%d::boolean THEN now() END FROM things t WHERE"
		" %s AND NOT EXISTS (SELECT 1 FROM job_targets x WHERE x.job_pk = $%d::bigint"
		" AND x.thing_id = t.id) ON CONFLICT DO NOTHING RETURNING thing_id, released_at),"
		" ins AS (INSERT INTO job_executions (job_pk, thing_id, status) SELECT"
		" $%d::bigint, thing_id, 'QUEUED' FROM j WHERE released_at IS NOT NULL" RENEW_ON_CONFLICT
		" RETURNING thing_id, execution_number, version_number)," HISTORY_QUEUED(
			"$%d::bigint", "joined"),
		kpk, kact, cond.data, kpk, kpk, kpk);
	if (sql.is_oom) {
		st = DB_HARD;
		goto out;
	}
	n = run_collect(db, sql.data, p.n, p.values, t);
	if (n < 0) {
		st = (enum db_status)n;
		goto out;
	}
	c->stats.released += n;
	buf_cleanup(&sql);
	buf_init(&sql);
	buf_printf(&sql,
		   "WITH l AS (DELETE FROM job_targets jt WHERE jt.job_pk = $%d::bigint AND NOT"
		   " EXISTS (SELECT 1 FROM things t WHERE t.id = jt.thing_id AND %s) RETURNING"
		   " thing_id),"
		   " u AS (UPDATE job_executions e SET status = 'REMOVED', version_number ="
		   " e.version_number + 1, last_updated_at = now() FROM l WHERE e.job_pk ="
		   " $%d::bigint AND e.thing_id = l.thing_id AND e.status = 'QUEUED' RETURNING"
		   " e.thing_id, e.execution_number, e.version_number, e.status_details),"
		   " h AS (INSERT INTO job_execution_history (job_pk, thing_id, execution_number,"
		   " from_status, to_status, status_details, version_number, actor, reason) SELECT"
		   " $%d::bigint, thing_id, execution_number, 'QUEUED', 'REMOVED', status_details,"
		   " version_number, 'scheduler', 'left targets' FROM u RETURNING thing_id)"
		   " SELECT coalesce(string_agg(thing_id::text, ','), ''), count(*) FROM h",
		   kpk, cond.data, kpk, kpk);
	if (sql.is_oom) {
		st = DB_HARD;
		goto out;
	}
	n = run_collect(db, sql.data, p.n - 1, p.values, t);
	if (n < 0) {
		st = (enum db_status)n;
		goto out;
	}
	c->stats.removed += n;
	st = DB_ONE;
out:
	db_jobs_params_cleanup(&p);
	buf_cleanup(&cond);
	buf_cleanup(&sql);
	return st;
}

/* Release targets under the rollout rate (spec 3.7). */
static enum db_status release(struct db *db, struct job_ctx *c, const struct db_rows *job,
			      struct touched *t)
{
	const struct jobs_rollout_config *cfg = &c->spec->rollout;
	struct jobs_rollout_state rs;
	int64_t allowance, n;
	char lim[24];
	enum db_status st;

	jobs_rollout_state_init(&rs);
	rs.is_started = db_rows_get(job, 0, 2) != NULL;
	rs.bucket_units = (int64_t)llround(strtod(db_rows_get(job, 0, 1), NULL) * 60000.0);
	rs.bucket_at_ms = db_jobs_ms(db_rows_get(job, 0, 2));
	rs.notified_things = db_jobs_ms(db_rows_get(job, 0, 3));
	if (cfg->is_set && cfg->is_exponential && cfg->succeeded_things_step > 0) {
		struct jobs_job_counts counts;
		st = load_counts(db, c->pk_text, &counts);
		if (st < 0)
			return st;
		rs.succeeded_things = counts.by_status[JOBS_EXEC_SUCCEEDED];
	}
	allowance = jobs_rollout_allowance(cfg, &rs, c->now_ms);
	if (allowance <= 0)
		return DB_ONE;
	if (allowance > RELEASE_BATCH_MAX)
		allowance = RELEASE_BATCH_MAX;
	snprintf(lim, sizeof(lim), "%" PRId64, allowance);
	const char *params[] = { c->pk_text, lim };
	n = run_collect(db,
			"WITH pick AS (SELECT thing_id FROM job_targets WHERE job_pk = $1::bigint"
			" AND released_at IS NULL ORDER BY added_at, thing_id LIMIT $2::bigint FOR"
			" UPDATE),"
			" r AS (UPDATE job_targets jt SET released_at = now() FROM pick WHERE"
			" jt.job_pk = $1::bigint AND jt.thing_id = pick.thing_id RETURNING"
			" jt.thing_id),"
			" ins AS (INSERT INTO job_executions (job_pk, thing_id, status) SELECT"
			" $1::bigint, thing_id, 'QUEUED' FROM r" RENEW_ON_CONFLICT
			" RETURNING thing_id, execution_number, version_number)," HISTORY_QUEUED(
				"$1::bigint", "released"),
			2, params, t);
	if (n < 0)
		return (enum db_status)n;
	if (n == 0)
		return DB_ONE;
	c->stats.released += n;
	if (cfg->is_set)
		jobs_rollout_commit(cfg, &rs, n, c->now_ms);
	else
		rs.notified_things += n;
	char tokens[40], at[24], notified[24];
	snprintf(tokens, sizeof(tokens), "%.6f", (double)rs.bucket_units / 60000.0);
	snprintf(at, sizeof(at), "%" PRId64, rs.bucket_at_ms ? rs.bucket_at_ms : c->now_ms);
	snprintf(notified, sizeof(notified), "%" PRId64, rs.notified_things);
	const char *up[] = { c->pk_text, tokens, at, notified };
	return db_exec(
		db,
		"UPDATE jobs SET rollout_tokens = $2::double precision, rollout_refilled_at ="
		" to_timestamp($3::bigint / 1000.0), rollout_released = $4::bigint,"
		" last_updated_at = now() WHERE id = $1::bigint",
		4, up, NULL);
}

static enum db_status job_tx(struct db *db, void *arg)
{
	struct job_ctx *c = arg;
	const struct jobs_spec *s = c->spec;
	const char *params[] = { c->pk_text };
	struct db_rows *job = NULL;
	struct touched t = { .n = 0 };
	enum jobs_job_status status;
	enum jobs_schedule_phase phase;
	enum db_status st;
	int64_t n;

	memset(&c->stats, 0, sizeof(c->stats));
	buf_init(&t.ids);
	st = db_exec(
		db,
		"SELECT status, rollout_tokens, " MS(
			"rollout_refilled_at") ","
					       " rollout_released, rollout_stopped_at IS NOT NULL FROM jobs WHERE id ="
					       " $1::bigint FOR UPDATE",
		1, params, &job);
	if (st <= 0)
		goto out;
	if (!jobs_job_status_parse(db_rows_get(job, 0, 0), &status) ||
	    (status != JOBS_JOB_SCHEDULED && status != JOBS_JOB_IN_PROGRESS))
		goto out;
	phase = jobs_schedule_phase(s->has_scheduling ? &s->scheduling : NULL, c->now_ms, NULL);
	if (phase == JOBS_SCHEDULE_BEFORE_START)
		goto out;
	if (status == JOBS_JOB_SCHEDULED) {
		st = db_exec(db,
			     "UPDATE jobs SET status = 'IN_PROGRESS', last_updated_at = now(),"
			     " version = version + 1 WHERE id = $1::bigint",
			     1, params, NULL);
		if (st < 0)
			goto out;
		c->stats.started_jobs++;
	}
	bool is_stopped = strcmp(db_rows_get(job, 0, 4), "t") == 0;
	if (phase == JOBS_SCHEDULE_ENDED) {
		enum jobs_end_behavior eb = s->scheduling.has_end_behavior
						    ? s->scheduling.end_behavior
						    : JOBS_END_STOP_ROLLOUT;
		if (eb != JOBS_END_STOP_ROLLOUT) {
			st = cancel_job(db, c, eb == JOBS_END_FORCE_CANCEL,
					"schedulingConfig endTime reached", "schedule ended");
			c->stats.canceled_jobs++;
			goto out;
		}
		if (!is_stopped) {
			st = db_exec(db,
				     "UPDATE jobs SET rollout_stopped_at = now(), last_updated_at ="
				     " now() WHERE id = $1::bigint",
				     1, params, NULL);
			if (st < 0)
				goto out;
			is_stopped = true;
		}
	}
	if (s->retry.count > 0) {
		n = retries(db, c, &t);
		if (n < 0) {
			st = (enum db_status)n;
			goto out;
		}
		c->stats.retried += n;
	}
	if (s->abort_cfg.count > 0) {
		struct jobs_job_counts counts;
		struct jobs_abort_reason why;
		st = load_counts(db, c->pk_text, &counts);
		if (st < 0)
			goto out;
		if (jobs_abort_check(&s->abort_cfg, &counts, &why)) {
			char comment[200];
			snprintf(comment, sizeof(comment),
				 "abortConfig: %" PRId64 " of %" PRId64
				 " executed things ended %s (threshold %d.%02d%%)",
				 why.failures, why.executed,
				 jobs_failure_type_name(why.failure_type),
				 why.threshold_hundredths / 100, why.threshold_hundredths % 100);
			st = emit_touched(db, &t, c->now_ms);
			if (st >= 0)
				st = cancel_job(db, c, false, comment, "abortConfig");
			c->stats.aborted_jobs++;
			log_info("sched", "job_aborted", LOG_S("job_id", c->job_id),
				 LOG_I("failures", why.failures), LOG_I("executed", why.executed),
				 LOG_END);
			goto out;
		}
	}
	if (s->target_selection == JOBS_TARGET_CONTINUOUS) {
		st = continuous(db, c, phase == JOBS_SCHEDULE_ACTIVE, &t);
		if (st < 0)
			goto out;
	}
	if (phase == JOBS_SCHEDULE_ACTIVE && !is_stopped) {
		st = release(db, c, job, &t);
		if (st < 0)
			goto out;
	}
	st = emit_touched(db, &t, c->now_ms);
	if (st < 0)
		goto out;
	st = db_exec(
		db,
		"UPDATE jobs j SET status = 'COMPLETED', completed_at = now(), last_updated_at"
		" = now(), version = version + 1 WHERE j.id = $1::bigint AND j.status ="
		" 'IN_PROGRESS' AND j.target_selection = 'SNAPSHOT' AND (j.rollout_stopped_at IS"
		" NOT NULL OR NOT EXISTS (SELECT 1 FROM job_targets x WHERE x.job_pk = j.id AND"
		" x.released_at IS NULL)) AND NOT EXISTS (SELECT 1 FROM job_executions e WHERE"
		" e.job_pk = j.id AND e.status IN ('QUEUED', 'IN_PROGRESS'))",
		1, params, NULL);
	if (st > 0) {
		c->stats.completed_jobs++;
		log_info("sched", "job_completed", LOG_S("job_id", c->job_id), LOG_END);
	}
out:
	db_rows_free(job);
	buf_cleanup(&t.ids);
	return st < 0 ? st : DB_ONE;
}

static void add_stats(struct sched_tick_stats *a, const struct sched_tick_stats *b)
{
	a->released += b->released;
	a->timed_out += b->timed_out;
	a->retried += b->retried;
	a->removed += b->removed;
	a->aborted_jobs += b->aborted_jobs;
	a->completed_jobs += b->completed_jobs;
	a->started_jobs += b->started_jobs;
	a->canceled_jobs += b->canceled_jobs;
	a->deleted_jobs += b->deleted_jobs;
}

static enum db_status delete_tx(struct db *db, void *arg)
{
	int64_t *n = arg;
	enum db_status st = db_exec(db, "DELETE FROM jobs WHERE status = 'DELETION_IN_PROGRESS'", 0,
				    NULL, NULL);

	*n = st > 0 ? st : 0;
	return st;
}

enum db_status sched_tick(struct db *db, int64_t now_ms, struct sched_tick_stats *out)
{
	struct timeout_ctx tc = { .now_ms = now_ms };
	struct db_rows *jobs = NULL;
	enum db_status st;
	int64_t deleted = 0;

	st = db_tx_run(db, DB_READ_COMMITTED, timeouts_tx, &tc);
	if (st < 0)
		return st;
	out->timed_out += tc.count;
	st = db_exec(db,
		     "SELECT id, job_id, config::text FROM jobs WHERE status IN ('SCHEDULED',"
		     " 'IN_PROGRESS') ORDER BY id",
		     0, NULL, &jobs);
	if (st < 0)
		return st;
	for (int i = 0; jobs && i < jobs->nrows; i++) {
		struct jobs_spec spec;
		json_t *cfg = json_loads(db_rows_get(jobs, i, 2), 0, NULL);
		struct job_ctx c = { .now_ms = now_ms, .spec = &spec };
		char msg[256];

		jobs_config_spec_init(&spec);
		if (!cfg || jobs_config_parse(cfg, JOBS_CONFIG_STORED, now_ms, &spec, msg,
					      sizeof(msg)) != JOBS_OK) {
			log_error("sched", "job_config_unreadable",
				  LOG_S("job_id", db_rows_get(jobs, i, 1)), LOG_END);
			json_decref(cfg);
			continue;
		}
		json_decref(cfg);
		c.pk = db_jobs_ms(db_rows_get(jobs, i, 0));
		snprintf(c.pk_text, sizeof(c.pk_text), "%" PRId64, c.pk);
		snprintf(c.job_id, sizeof(c.job_id), "%s", db_rows_get(jobs, i, 1));
		st = db_tx_run(db, DB_READ_COMMITTED, job_tx, &c);
		jobs_config_spec_cleanup(&spec);
		if (st < 0 && !db_is_ok(db)) {
			db_rows_free(jobs);
			return st;
		}
		if (st < 0)
			log_warn("sched", "job_tick_failed", LOG_S("job_id", c.job_id),
				 LOG_I("status", st), LOG_END);
		else
			add_stats(out, &c.stats);
	}
	db_rows_free(jobs);
	st = db_tx_run(db, DB_READ_COMMITTED, delete_tx, &deleted);
	if (st < 0)
		return st;
	out->deleted_jobs += deleted;
	return DB_ONE;
}
