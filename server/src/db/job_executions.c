#include "db/job_executions.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

void db_job_snapshot_init(struct db_job_snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

void db_job_snapshot_cleanup(struct db_job_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nexecs; i++) {
		jobs_execution_cleanup(&s->execs[i].e);
		free(s->execs[i].document);
	}
	for (size_t i = 0; i < s->ntransitions; i++)
		free(s->transitions[i].details);
	free(s->things);
	free(s->execs);
	free(s->transitions);
	memset(s, 0, sizeof(*s));
}

/* Append one element of a Postgres array literal: NULL or a quoted, escaped value. */
static void arr_add(struct buf *b, const char *v)
{
	if (b->len > 0 && b->data[b->len - 1] != '{')
		buf_putc(b, ',');
	if (!v) {
		buf_puts(b, "NULL");
		return;
	}
	buf_putc(b, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

static void arr_add_i64(struct buf *b, int64_t v, bool is_null)
{
	char n[24];

	snprintf(n, sizeof(n), "%" PRId64, v);
	arr_add(b, is_null ? NULL : n);
}

static int64_t cell_i64(const struct db_rows *r, int row, int col)
{
	const char *v = db_rows_get(r, row, col);

	return v ? strtoll(v, NULL, 10) : 0;
}

/* The arrays are read through scalar subqueries on purpose: the planner then cannot look into
 * them even when it plans for the actual parameters, so its custom and generic plans cost the
 * same and the prepared statement settles on the generic plan after five executions instead of
 * being planned again on every batch (which cost more than executing it). */
static const char load_sql[] =
	"SELECT t.id, t.name, e.job_pk, j.job_id, e.status, e.status_details::text,"
	" e.execution_number, e.version_number,"
	" floor(extract(epoch FROM e.queued_at) * 1000)::bigint,"
	" floor(extract(epoch FROM e.started_at) * 1000)::bigint,"
	" floor(extract(epoch FROM e.last_updated_at) * 1000)::bigint,"
	" floor(extract(epoch FROM e.in_progress_deadline) * 1000)::bigint,"
	" floor(extract(epoch FROM e.step_deadline) * 1000)::bigint,"
	" e.force_canceled, e.last_update_request->>'clientToken',"
	" coalesce((j.config->'timeoutConfig'->>'inProgressTimeoutInMinutes')::numeric::int, 0),"
	" j.config ? 'schedulingConfig', CASE WHEN $3::boolean THEN j.document END,"
	" (e.status = 'QUEUED' AND j.status = 'IN_PROGRESS') OR (e.status = 'IN_PROGRESS'"
	"  AND NOT e.force_canceled AND j.status IN ('IN_PROGRESS', 'CANCELED'))"
	" FROM things t LEFT JOIN (job_executions e JOIN jobs j ON j.id = e.job_pk"
	"  AND j.status <> 'DELETION_IN_PROGRESS')"
	" ON e.thing_id = t.id AND (e.status IN ('QUEUED', 'IN_PROGRESS')"
	"  OR j.job_id = ANY((SELECT $2::text[])::text[]))"
	" WHERE t.name = ANY((SELECT $1::text[])::text[]) ORDER BY t.id, e.job_pk";

enum load_col {
	C_THING_ID,
	C_THING,
	C_JOB_PK,
	C_JOB_ID,
	C_STATUS,
	C_DETAILS,
	C_EXEC_NO,
	C_VERSION,
	C_QUEUED,
	C_STARTED,
	C_UPDATED,
	C_IP_DEADLINE,
	C_STEP_DEADLINE,
	C_FORCE,
	C_TOKEN,
	C_TIMEOUT,
	C_SCHED,
	C_DOCUMENT,
	C_VISIBLE,
	C__COUNT
};

static bool row_to_exec(const struct db_rows *r, int i, size_t thing, struct db_job_exec *x)
{
	const char *v;
	json_error_t jerr;

	memset(x, 0, sizeof(*x));
	jobs_execution_init(&x->e);
	x->thing = thing;
	x->job_pk = cell_i64(r, i, C_JOB_PK);
	snprintf(x->e.job_id, sizeof(x->e.job_id), "%s", db_rows_get(r, i, C_JOB_ID));
	snprintf(x->e.thing_name, sizeof(x->e.thing_name), "%s", db_rows_get(r, i, C_THING));
	if (!jobs_exec_status_parse(db_rows_get(r, i, C_STATUS), &x->e.status))
		return false;
	v = db_rows_get(r, i, C_DETAILS);
	x->e.status_details = json_loads(v ? v : "{}", 0, &jerr);
	if (!x->e.status_details)
		return false;
	x->e.execution_number = cell_i64(r, i, C_EXEC_NO);
	x->e.version_number = cell_i64(r, i, C_VERSION);
	x->e.queued_at_ms = cell_i64(r, i, C_QUEUED);
	x->e.started_at_ms = cell_i64(r, i, C_STARTED);
	x->e.last_updated_at_ms = cell_i64(r, i, C_UPDATED);
	x->e.in_progress_deadline_ms = cell_i64(r, i, C_IP_DEADLINE);
	x->e.step_deadline_ms = cell_i64(r, i, C_STEP_DEADLINE);
	x->e.force_canceled = strcmp(db_rows_get(r, i, C_FORCE), "t") == 0;
	x->e.seq = x->job_pk;
	v = db_rows_get(r, i, C_TOKEN);
	if (v)
		snprintf(x->e.last_client_token, sizeof(x->e.last_client_token), "%s", v);
	x->in_progress_timeout_min = (int)cell_i64(r, i, C_TIMEOUT);
	x->is_scheduled_job = strcmp(db_rows_get(r, i, C_SCHED), "t") == 0;
	v = db_rows_get(r, i, C_DOCUMENT);
	x->document = v ? strdup(v) : NULL;
	x->is_visible = strcmp(db_rows_get(r, i, C_VISIBLE), "t") == 0;
	x->loaded_version = x->e.version_number;
	return !v || x->document != NULL;
}

enum db_status db_job_executions_load(struct db *db, const char *const *thing_names, size_t n,
				      const char *const *job_ids, size_t njobs, bool with_documents,
				      struct db_job_snapshot *s)
{
	struct buf names, jobs;
	struct db_rows *r = NULL;
	enum db_status st = DB_HARD;
	int64_t last_thing = 0;

	db_job_snapshot_init(s);
	buf_init(&names);
	buf_init(&jobs);
	buf_putc(&names, '{');
	for (size_t i = 0; i < n; i++)
		arr_add(&names, thing_names[i]);
	buf_putc(&names, '}');
	buf_putc(&jobs, '{');
	for (size_t i = 0; i < njobs; i++)
		arr_add(&jobs, job_ids[i]);
	buf_putc(&jobs, '}');
	if (names.is_oom || jobs.is_oom)
		goto out;
	const char *params[] = { names.data, jobs.data, with_documents ? "t" : "f" };
	st = db_exec_static(db, load_sql, 3, params, &r);
	if (st < 0)
		goto out;
	if (!r || r->ncols != C__COUNT) {
		st = DB_HARD;
		goto out;
	}
	if (r->nrows == 0) {
		st = DB_NONE;
		goto out;
	}
	s->things = calloc((size_t)r->nrows, sizeof(*s->things));
	s->execs = calloc((size_t)r->nrows, sizeof(*s->execs));
	if (!s->things || !s->execs) {
		st = DB_HARD;
		goto out;
	}
	for (int i = 0; i < r->nrows; i++) {
		int64_t id = cell_i64(r, i, C_THING_ID);

		if (s->nthings == 0 || id != last_thing) {
			s->things[s->nthings].id = id;
			snprintf(s->things[s->nthings].name, sizeof(s->things[0].name), "%s",
				 db_rows_get(r, i, C_THING));
			s->nthings++;
			last_thing = id;
		}
		if (!db_rows_get(r, i, C_JOB_PK))
			continue; /* a thing without executions */
		if (!row_to_exec(r, i, s->nthings - 1, &s->execs[s->nexecs])) {
			jobs_execution_cleanup(&s->execs[s->nexecs].e);
			free(s->execs[s->nexecs].document);
			log_error("jobs", "job_execution_bad_row",
				  LOG_I("job_pk", cell_i64(r, i, C_JOB_PK)), LOG_END);
			st = DB_HARD;
			goto out;
		}
		s->nexecs++;
	}
	st = DB_ONE;
out:
	db_rows_free(r);
	buf_cleanup(&names);
	buf_cleanup(&jobs);
	if (st < 0)
		db_job_snapshot_cleanup(s);
	return st;
}

const struct db_job_thing *db_job_snapshot_thing(const struct db_job_snapshot *s, const char *name,
						 size_t *index)
{
	for (size_t i = 0; i < s->nthings; i++) {
		if (strcmp(s->things[i].name, name) == 0) {
			if (index)
				*index = i;
			return &s->things[i];
		}
	}
	return NULL;
}

static char *details_text(const json_t *d)
{
	return d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
}

bool db_job_snapshot_add_transition(struct db_job_snapshot *s, size_t exec,
				    enum jobs_exec_status from)
{
	struct db_job_transition *t;

	if (s->ntransitions == s->cap_transitions) {
		size_t cap = s->cap_transitions ? s->cap_transitions * 2 : 16;
		t = realloc(s->transitions, cap * sizeof(*t));
		if (!t)
			return false;
		s->transitions = t;
		s->cap_transitions = cap;
	}
	t = &s->transitions[s->ntransitions];
	t->exec = exec;
	t->from = from;
	t->to = s->execs[exec].e.status;
	t->version = s->execs[exec].e.version_number;
	t->details = details_text(s->execs[exec].e.status_details);
	if (!t->details)
		return false;
	s->ntransitions++;
	return true;
}

static const char write_sql[] =
	"WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],"
	"  $5::text[], $6::jsonb[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],"
	"  $11::bigint[], $12::text[])"
	"  AS u(job_pk, thing_id, exec_no, old_version, status, details, version, started_ms,"
	"  updated_ms, ipd_ms, step_ms, token)),"
	" w AS (UPDATE job_executions e SET status = u.status, status_details = u.details,"
	"  version_number = u.version,"
	"  started_at = CASE WHEN u.started_ms IS NULL THEN NULL"
	"   ELSE to_timestamp(u.started_ms / 1000.0) END,"
	"  last_updated_at = to_timestamp(u.updated_ms / 1000.0),"
	"  in_progress_deadline = CASE WHEN u.ipd_ms IS NULL THEN NULL"
	"   ELSE to_timestamp(u.ipd_ms / 1000.0) END,"
	"  step_deadline = CASE WHEN u.step_ms IS NULL THEN NULL"
	"   ELSE to_timestamp(u.step_ms / 1000.0) END,"
	"  last_update_request = CASE WHEN u.token IS NULL THEN NULL"
	"   ELSE jsonb_build_object('clientToken', u.token) END"
	"  FROM u WHERE e.job_pk = u.job_pk AND e.thing_id = u.thing_id"
	"  AND e.execution_number = u.exec_no AND e.version_number = u.old_version"
	"  RETURNING e.status),"
	" h AS (INSERT INTO job_execution_history (job_pk, thing_id, execution_number, from_status,"
	"  to_status, status_details, version_number, actor)"
	"  SELECT *, $18::text FROM unnest($13::bigint[], $14::bigint[], $15::bigint[], $16::text[],"
	"  $17::text[], $19::jsonb[], $20::bigint[]) RETURNING 1),"
	" n AS (SELECT pg_notify('" DB_JOB_EXECUTIONS_CHANNEL "', '') WHERE EXISTS"
	"  (SELECT 1 FROM w WHERE status NOT IN ('QUEUED', 'IN_PROGRESS')))"
	/* all or nothing: a row whose version moved makes the count fall short, and the
	 * division by zero (SQLSTATE 22012) then aborts the whole statement, so it may run
	 * outside a transaction */
	" SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM h), (SELECT count(*) FROM n),"
	"  1 / ((SELECT count(*) FROM w) = $21::bigint)::int";

/* The SQLSTATE of the guard above: division_by_zero. */
#define WRITE_MOVED_SQLSTATE "22012"

enum { W_NARR = 12, H_NARR = 7 };

enum db_status db_job_executions_write(struct db *db, const struct db_job_snapshot *s,
				       const char *actor)
{
	struct buf a[W_NARR + H_NARR];
	const char *params[21];
	char count[24];
	struct db_rows *r = NULL;
	enum db_status st = DB_HARD;
	size_t ndirty = 0;
	bool is_oom = false;

	for (size_t i = 0; i < s->nexecs; i++)
		ndirty += s->execs[i].is_dirty;
	if (ndirty == 0)
		return DB_NONE;
	for (size_t k = 0; k < W_NARR + H_NARR; k++) {
		buf_init(&a[k]);
		buf_putc(&a[k], '{');
	}
	for (size_t i = 0; i < s->nexecs; i++) {
		const struct db_job_exec *x = &s->execs[i];
		const struct jobs_execution *e = &x->e;
		char *d;

		if (!x->is_dirty)
			continue;
		d = details_text(e->status_details);
		if (!d) {
			is_oom = true;
			break;
		}
		arr_add_i64(&a[0], x->job_pk, false);
		arr_add_i64(&a[1], s->things[x->thing].id, false);
		arr_add_i64(&a[2], e->execution_number, false);
		arr_add_i64(&a[3], x->loaded_version, false);
		arr_add(&a[4], jobs_exec_status_name(e->status));
		arr_add(&a[5], d);
		free(d);
		arr_add_i64(&a[6], e->version_number, false);
		arr_add_i64(&a[7], e->started_at_ms, e->started_at_ms <= 0);
		arr_add_i64(&a[8], e->last_updated_at_ms, false);
		arr_add_i64(&a[9], e->in_progress_deadline_ms, e->in_progress_deadline_ms <= 0);
		arr_add_i64(&a[10], e->step_deadline_ms, e->step_deadline_ms <= 0);
		arr_add(&a[11], e->last_client_token[0] ? e->last_client_token : NULL);
	}
	for (size_t i = 0; i < s->ntransitions; i++) {
		const struct db_job_transition *t = &s->transitions[i];
		const struct db_job_exec *x = &s->execs[t->exec];

		arr_add_i64(&a[12], x->job_pk, false);
		arr_add_i64(&a[13], s->things[x->thing].id, false);
		arr_add_i64(&a[14], x->e.execution_number, false);
		arr_add(&a[15], jobs_exec_status_name(t->from));
		arr_add(&a[16], jobs_exec_status_name(t->to));
		arr_add(&a[17], t->details);
		arr_add_i64(&a[18], t->version, false);
	}
	for (size_t k = 0; k < W_NARR + H_NARR; k++) {
		buf_putc(&a[k], '}');
		is_oom |= a[k].is_oom;
	}
	if (is_oom)
		goto out;
	for (size_t k = 0; k < 17; k++)
		params[k] = a[k].data;
	params[17] = actor;
	params[18] = a[17].data;
	params[19] = a[18].data;
	snprintf(count, sizeof(count), "%zu", ndirty);
	params[20] = count;
	st = db_exec_static(db, write_sql, 21, params, &r);
	if (st == DB_HARD && strcmp(db_last_sqlstate(db), WRITE_MOVED_SQLSTATE) == 0) {
		/* a row whose version moved under us (scheduler, operator, other instance) */
		st = DB_RETRY;
		goto out;
	}
	if (st < 0)
		goto out;
	if (!r || r->nrows != 1 || (size_t)cell_i64(r, 0, 0) != ndirty) {
		st = DB_HARD;
		goto out;
	}
	st = DB_ONE;
out:
	db_rows_free(r);
	for (size_t k = 0; k < W_NARR + H_NARR; k++)
		buf_cleanup(&a[k]);
	return st;
}

bool db_job_snapshot_is_dirty(const struct db_job_snapshot *s)
{
	for (size_t i = 0; i < s->nexecs; i++)
		if (s->execs[i].is_dirty)
			return true;
	return false;
}

char *db_job_snapshot_event_things(const struct db_job_snapshot *s, bool *is_oom)
{
	struct buf b;
	int64_t last = -1;
	size_t n = 0;

	*is_oom = false;
	buf_init(&b);
	buf_putc(&b, '{');
	for (size_t i = 0; i < s->nexecs; i++) {
		int64_t id = s->things[s->execs[i].thing].id;

		/* a details-only update (IN_PROGRESS -> IN_PROGRESS) changes neither the pending
		 * set nor its order, so it can never be due an event (spec 2.10) */
		if (!s->execs[i].is_pending_changed || id == last)
			continue;
		arr_add_i64(&b, id, false);
		last = id;
		n++;
	}
	buf_putc(&b, '}');
	if (b.is_oom || n == 0) {
		*is_oom = b.is_oom;
		buf_cleanup(&b);
		return NULL;
	}
	return buf_take(&b);
}
