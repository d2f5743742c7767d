#include "db/job_events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/metrics.h"

/*
 * Two statements per call, whatever the number of things:
 *
 * 1. lock: make sure every thing has a job_thing_events row and lock those rows (ON CONFLICT
 *    DO UPDATE ... WHERE false locks without writing). Two transactions emitting for the same
 *    thing are thus serialised; the second one's next statement takes a fresh READ COMMITTED
 *    snapshot, so it sees the first one's committed executions and announcements.
 * 2. emit: compute every thing's pending list L (spec 2.10; the order of jobs/events.c:
 *    IN_PROGRESS first, then queuedAt in ms, then creation order of the job, then jobId), its
 *    set and head, compare with what was announced last, write notify / notify-next rows into
 *    mqtt_outbox (one INSERT ... SELECT) and remember the new announcement.
 *
 * The payloads are rendered in SQL with the field names and omissions of jobs/render.c and
 * jobs/events.c (tests/integration/test_jobs_mqtt.c and test_jobs_fanout.c compare both
 * renderings). The job document is spliced in verbatim: it is a JSON object text, validated when
 * the job was made.
 *
 * db_job_events_emit_fanout() (docs/JOBS.md "Fan-out") first handles, in one statement, every
 * thing whose pending list became exactly one new QUEUED execution: identical payloads, one
 * fan-out outbox row for all of them; the other things go through the two statements above.
 */

/* The things concerned, as "ts(thing_id)". %s below. */
#define THINGS_BY_IDS "SELECT id AS thing_id FROM things WHERE id = ANY($1::bigint[])"
#define THINGS_BY_JOB                                                \
	"SELECT thing_id FROM job_targets WHERE job_pk = $1::bigint" \
	" UNION SELECT thing_id FROM job_executions WHERE job_pk = $1::bigint"

#define LOCK_SQL(things)                                                                       \
	"INSERT INTO job_thing_events (thing_id) SELECT thing_id FROM (" things ") s"          \
	" ORDER BY thing_id ON CONFLICT (thing_id) DO UPDATE SET head = job_thing_events.head" \
	" WHERE false"

/* Seconds of a timestamptz as on the wire (floor, spec 1.3). */
#define SECS(col) "floor(extract(epoch FROM " col "))::bigint"

/* A JobExecutionSummary (jobs/render.c) of the execution columns of alias a, as jsonb. */
#define SUMMARY_SQL(a)                                                                                                 \
	"jsonb_strip_nulls(jsonb_build_object('jobId', " a                                                             \
	".job_id, 'queuedAt', " SECS(a ".queued_at") ", 'startedAt', " SECS(                                           \
		a                                                                                                      \
		".started_at") ", 'lastUpdatedAt', " SECS(a                                                            \
							  ".last_updated_at") ", 'versionNumber', " a                  \
									      ".version_number, 'executionNumber', " a \
									      ".execution_number))"

/* The MQTT JobExecution of alias a without its jobDocument, as text (jobs/render.c). */
#define EXECUTION_SQL(a)                                                                                               \
	"jsonb_strip_nulls(jsonb_build_object('jobId', " a ".job_id, 'status', " a ".status,"                          \
	" 'statusDetails', CASE WHEN " a ".status_details <> '{}'::jsonb THEN " a                                      \
	".status_details END, 'queuedAt', " SECS(a ".queued_at") ", 'startedAt', " SECS(                               \
		a                                                                                                      \
		".started_at") ", 'lastUpdatedAt', " SECS(a                                                            \
							  ".last_updated_at") ", 'versionNumber', " a                  \
									      ".version_number, 'executionNumber', " a \
									      ".execution_number))::text"

/* notify-next payload text for head alias h (NULL job_id: the list became empty); $2 = now. */
#define NEXT_PAYLOAD_SQL(h)                                                                    \
	"CASE WHEN " h ".job_id IS NULL THEN json_build_object('timestamp', $2::bigint)::text" \
	" ELSE '{\"timestamp\":' || $2::bigint || ',\"execution\":' || left(" EXECUTION_SQL(   \
		h) ", -1) || ',\"jobDocument\":' || " h ".document || '}}' END"

/* True when the document of alias h holds presigned-URL placeholders (spec 3.10). */
#define PRESIGN_SQL(h) "coalesce(strpos(" h ".document, '${aws:iot:s3-presigned-url:') > 0, false)"

/* notify payload text from the jsonb arrays ip and q (NULL when empty); $2 = now. */
#define NOTIFY_PAYLOAD_SQL(ip, q)                            \
	"json_build_object('timestamp', $2::bigint, 'jobs'," \
	" jsonb_strip_nulls(jsonb_build_object('IN_PROGRESS', " ip ", 'QUEUED', " q ")))::text"

#define EMIT_SQL(things)                                                                                                                               \
	"WITH ts AS (SELECT t.id AS thing_id, t.name FROM things t WHERE t.id IN (" things ")),"                                                       \
	" p AS (SELECT e.thing_id, j.job_id, e.status, e.execution_number, e.version_number,"                                                          \
	"  e.queued_at, e.started_at, e.last_updated_at, e.status_details, j.document,"                                                                \
	"  (j.config ? 'schedulingConfig') AS is_sched,"                                                                                               \
	"  row_number() OVER (PARTITION BY e.thing_id ORDER BY (e.status = 'IN_PROGRESS') DESC,"                                                       \
	"   floor(extract(epoch FROM e.queued_at) * 1000), e.job_pk, j.job_id) AS rn"                                                                  \
	"  FROM job_executions e JOIN jobs j ON j.id = e.job_pk"                                                                                       \
	"  WHERE e.thing_id IN (SELECT thing_id FROM ts)"                                                                                              \
	"  AND ((e.status = 'QUEUED' AND j.status = 'IN_PROGRESS')"                                                                                    \
	"   OR (e.status = 'IN_PROGRESS' AND NOT e.force_canceled"                                                                                     \
	"    AND j.status IN ('IN_PROGRESS', 'CANCELED'))))," /* spec 2.10, 3.11 */                                                                    \
	" lim AS (SELECT thing_id, CASE WHEN bool_or(is_sched) THEN 15 ELSE 10 END AS n"                                                               \
	"  FROM p GROUP BY thing_id),"                                                                                                                 \
	" l AS (SELECT p.* FROM p JOIN lim USING (thing_id) WHERE p.rn <= lim.n),"                                                                     \
	" agg AS (SELECT ts.thing_id, ts.name,"                                                                                                        \
	"  coalesce(string_agg(l.job_id || ':' || l.execution_number, ',' ORDER BY l.job_id), '')"                                                     \
	"   AS pset,"                                                                                                                                  \
	"  coalesce(max(CASE WHEN l.rn = 1 THEN l.job_id || ':' || l.execution_number END), '')"                                                       \
	"   AS head,"                                                                                                                                  \
	"  jsonb_agg(" SUMMARY_SQL(                                                                                                                    \
		"l") " ORDER BY l.rn) FILTER (WHERE l.status = 'IN_PROGRESS')"                                                                         \
		     "   AS ip,"                                                                                                                       \
		     "  jsonb_agg(" SUMMARY_SQL(                                                                                                       \
			     "l") " ORDER BY l.rn) FILTER (WHERE l.status = 'QUEUED') AS q"                                                            \
				  "  FROM ts LEFT JOIN l ON l.thing_id = ts.thing_id GROUP BY ts.thing_id, ts.name),"                                  \
				  " cmp AS (SELECT a.*, coalesce(ev.pending_set, '') <> a.pset AS is_notify,"                                          \
				  "  coalesce(ev.head, '') <> a.head AS is_next"                                                                       \
				  "  FROM agg a LEFT JOIN job_thing_events ev ON ev.thing_id = a.thing_id),"                                           \
				  " msgs AS (SELECT c.thing_id, 0 AS k, '$aws/things/' || c.name || '/jobs/notify' AS topic,"                          \
				  "  " NOTIFY_PAYLOAD_SQL(                                                                                             \
					  "c.ip",                                                                                                      \
					  "c.q") " AS payload, false AS presign"                                                                       \
						 "  FROM cmp c WHERE c.is_notify"                                                                      \
						 "  UNION ALL SELECT c.thing_id, 1, '$aws/things/' || c.name || '/jobs/notify-next',"                  \
						 "  " NEXT_PAYLOAD_SQL("h") ", " PRESIGN_SQL(                                                          \
							 "h") "  FROM cmp c LEFT JOIN l h ON h.thing_id = c.thing_id AND h.rn = 1 WHERE c.is_next),"   \
							      " ins AS (INSERT INTO mqtt_outbox (topic, payload, qos, presign)"                        \
							      "  SELECT topic, convert_to(payload, 'UTF8'), 1, presign FROM msgs ORDER BY thing_id, k" \
							      "  RETURNING topic),"                                                                    \
							      " upd AS (UPDATE job_thing_events ev SET pending_set = c.pset, head = c.head FROM cmp c" \
							      "  WHERE ev.thing_id = c.thing_id AND (c.is_notify OR c.is_next) RETURNING 1)"           \
							      " SELECT (SELECT count(*) FROM ins WHERE topic LIKE '%/notify'),"                        \
							      " (SELECT count(*) FROM ins WHERE topic LIKE '%/notify-next'), (SELECT count(*) FROM upd)"

/*
 * Fan-out, fast part ($1 job pk, $2 now, $3 array of thing ids or NULL for every target):
 * - e: the job's QUEUED executions on those things (the job must be IN_PROGRESS);
 * - rep: the first of them (thing id order): executions released together are alike, so its
 *   notify / notify-next payloads are those of every such thing;
 * - f: the things whose execution renders like rep and which have no other QUEUED or
 *   IN_PROGRESS execution (so their pending list is exactly [rep]): their announcement row is
 *   inserted, or, when it exists and announced the empty list, updated. ON CONFLICT locks the
 *   existing rows like LOCK_SQL and compares against their latest committed version, so a
 *   concurrent emission for the same thing is serialised: if it committed first its
 *   announcement is no longer empty and the thing is left to the general statements, which then
 *   see its executions. A thing without a row has never been announced by anyone: any
 *   transaction that made an execution of it pending would have inserted (or be inserting, and
 *   we wait for it) that row;
 * - one outbox row lists f as a multirange with the two message templates.
 * Every join is with one row (rep) or a per-row index probe (the anti-join), so the plan stays
 * linear in the number of things whatever the planner guesses about freshly inserted rows.
 * Returns: things of f, the outbox row id (NULL when f is empty), things concerned.
 */
#define FANOUT_EXECS                                                           \
	"job_executions e WHERE e.job_pk = $1::bigint AND e.status = 'QUEUED'" \
	" AND ($3::bigint[] IS NULL OR e.thing_id = ANY($3::bigint[]))"
#define FANOUT_THINGS                                                \
	"SELECT thing_id FROM job_targets WHERE job_pk = $1::bigint" \
	" AND ($3::bigint[] IS NULL OR thing_id = ANY($3::bigint[]))"

/* The fan-out row's message templates, from the representative execution r. */
#define NOTIFY_TEMPLATE_SQL                                                                  \
	"jsonb_build_object('topic_prefix', '$aws/things/', 'topic_suffix', '/jobs/notify'," \
	" 'presign', false, 'payload', " NOTIFY_PAYLOAD_SQL("NULL::jsonb", NOTIFY_QUEUED_SQL) ")"
#define NOTIFY_QUEUED_SQL "jsonb_build_array(" SUMMARY_SQL("r") ")"
#define NEXT_TEMPLATE_SQL                                                                      \
	"jsonb_build_object('topic_prefix', '$aws/things/', 'topic_suffix',"                   \
	" '/jobs/notify-next', 'presign', " PRESIGN_SQL("r") ", 'payload', " NEXT_PAYLOAD_SQL( \
		"r") ")"

static const char fanout_sql[] =
	"WITH rep AS MATERIALIZED (SELECT e.execution_number, e.version_number, e.status,"
	"  e.status_details, e.queued_at, e.started_at, e.last_updated_at, j.job_id, j.document"
	"  FROM jobs j, " FANOUT_EXECS " AND j.id = $1::bigint AND j.status = 'IN_PROGRESS'"
	"  ORDER BY e.thing_id LIMIT 1),"
	" f AS (INSERT INTO job_thing_events AS ev (thing_id, pending_set, head)"
	"  SELECT e.thing_id, r.job_id || ':' || r.execution_number,"
	"  r.job_id || ':' || r.execution_number FROM rep r, " FANOUT_EXECS
	"  AND e.execution_number = r.execution_number AND e.version_number = r.version_number"
	"  AND e.status_details = r.status_details AND e.queued_at = r.queued_at"
	"  AND e.last_updated_at = r.last_updated_at"
	"  AND e.started_at IS NOT DISTINCT FROM r.started_at"
	"  AND NOT EXISTS (SELECT 1 FROM job_executions o WHERE o.thing_id = e.thing_id"
	"   AND o.status IN ('QUEUED', 'IN_PROGRESS') AND o.job_pk <> $1::bigint)"
	"  ORDER BY e.thing_id"
	"  ON CONFLICT (thing_id) DO UPDATE SET pending_set = excluded.pending_set,"
	"  head = excluded.head WHERE ev.pending_set = '' AND ev.head = ''"
	"  RETURNING thing_id),"
	" mr AS (SELECT range_agg(int8range(thing_id, thing_id, '[]')) AS things, count(*) AS n"
	"  FROM f),"
	" o AS (INSERT INTO mqtt_outbox (topic, payload, qos, presign, fanout_things,"
	"  fanout_messages)"
	"  SELECT '$aws/things/+/jobs/notify', ''::bytea, 1, false, mr.things,"
	"  jsonb_build_array(" NOTIFY_TEMPLATE_SQL ", " NEXT_TEMPLATE_SQL ")"
	"  FROM mr, rep r WHERE mr.n > 0 RETURNING id)"
	" SELECT (SELECT n FROM mr), (SELECT id FROM o), (SELECT count(*) FROM (" FANOUT_THINGS
	") c)";

/* Fan-out, general part: the things of FANOUT_THINGS not in the fan-out row $4 (0: none). $2
 * is referenced so that the lock statement, which shares these parameters, types it. */
#define FANOUT_REST                                                                                 \
	"SELECT thing_id FROM job_targets jt WHERE jt.job_pk = $1::bigint"                          \
	" AND ($3::bigint[] IS NULL OR jt.thing_id = ANY($3::bigint[])) AND $2::bigint IS NOT NULL" \
	" AND NOT EXISTS (SELECT 1 FROM mqtt_outbox o WHERE o.id = $4::bigint"                      \
	" AND jt.thing_id <@ o.fanout_things)"

/* The general statements plan with nested loops over per-thing sets; from this many things on
 * they run with hash joins (the loops grow with the square of the count). */
#define BIG_EMISSION 500

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void describe_metrics(void)
{
	metrics_describe("bw_jobs_events_total", "counter",
			 "Jobs notify / notify-next events written to the MQTT outbox, by kind");
	metrics_describe("bw_jobs_events_fanout_things_total", "counter",
			 "Things whose notify / notify-next went out through a fan-out outbox row");
}

static void count_events(long long notify, long long next)
{
	if (notify > 0)
		metrics_counter_add("bw_jobs_events_total", "kind=\"notify\"", (double)notify);
	if (next > 0)
		metrics_counter_add("bw_jobs_events_total", "kind=\"notify_next\"", (double)next);
}

/* The lock statement with params[0..lock_nparams), then the emit statement with
 * params[0..nparams) ($2 = now). */
static int emit(struct db *db, const char *lock_sql, int lock_nparams, const char *emit_sql,
		int nparams, const char *const *params)
{
	struct db_rows *rows = NULL;
	enum db_status st;
	long long notify, next;

	pthread_once(&metrics_once, describe_metrics);
	st = db_exec_static(db, lock_sql, lock_nparams, params, NULL);
	if (st < 0)
		return st;
	st = db_exec_static(db, emit_sql, nparams, params, &rows);
	if (st < 0)
		return st;
	if (!rows || rows->nrows != 1 || rows->ncols != 3) {
		log_error("jobs", "job_events_bad_result", LOG_END);
		db_rows_free(rows);
		return DB_HARD;
	}
	notify = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	next = strtoll(db_rows_get(rows, 0, 1), NULL, 10);
	db_rows_free(rows);
	count_events(notify, next);
	return (int)(notify + next);
}

int db_job_events_emit(struct db *db, const char *thing_ids, int64_t now_s)
{
	char now[24];

	if (!thing_ids)
		return DB_HARD;
	snprintf(now, sizeof(now), "%" PRId64, now_s);
	const char *params[] = { thing_ids, now };
	return emit(db, LOCK_SQL(THINGS_BY_IDS), 1, EMIT_SQL(THINGS_BY_IDS), 2, params);
}

int db_job_events_emit_for_job(struct db *db, int64_t job_pk, int64_t now_s)
{
	char pk[24], now[24];

	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	snprintf(now, sizeof(now), "%" PRId64, now_s);
	const char *params[] = { pk, now };
	return emit(db, LOCK_SQL(THINGS_BY_JOB), 1, EMIT_SQL(THINGS_BY_JOB), 2, params);
}

int db_job_events_emit_fanout(struct db *db, int64_t job_pk, const char *thing_ids, int64_t now_s)
{
	char pk[24], now[24];
	const char *params[] = { pk, now, thing_ids, NULL };
	struct db_rows *rows = NULL;
	enum db_status st;
	long long fast, all;
	int n;

	pthread_once(&metrics_once, describe_metrics);
	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	snprintf(now, sizeof(now), "%" PRId64, now_s);
	/* planned per call: a plan cached for a handful of things would not fit 100k */
	st = db_exec(db, fanout_sql, 3, params, &rows);
	if (st < 0)
		return st;
	if (!rows || rows->nrows != 1 || rows->ncols != 3) {
		log_error("jobs", "job_events_bad_result", LOG_END);
		db_rows_free(rows);
		return DB_HARD;
	}
	fast = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	all = strtoll(db_rows_get(rows, 0, 2), NULL, 10);
	char outbox_id[24];
	snprintf(outbox_id, sizeof(outbox_id), "%s",
		 db_rows_get(rows, 0, 1) ? db_rows_get(rows, 0, 1) : "0");
	db_rows_free(rows);
	if (fast > 0) {
		count_events(fast, fast);
		metrics_counter_add("bw_jobs_events_fanout_things_total", NULL, (double)fast);
	}
	if (all <= fast)
		return (int)(2 * fast);
	/* the rest (things with other pending jobs, a different execution, an announcement to
	 * compare with): the general statements */
	params[3] = outbox_id;
	bool is_big = all - fast >= BIG_EMISSION;
	if (is_big && (st = db_exec(db, "SET LOCAL enable_nestloop = off", 0, NULL, NULL)) < 0)
		return st;
	n = emit(db, LOCK_SQL(FANOUT_REST), 4, EMIT_SQL(FANOUT_REST), 4, params);
	if (is_big && n >= 0 &&
	    (st = db_exec(db, "SET LOCAL enable_nestloop = on", 0, NULL, NULL)) < 0)
		return st;
	return n < 0 ? n : (int)(2 * fast) + n;
}
