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
 * jobs/events.c (tests/integration/test_jobs_mqtt.c compares both renderings). The job
 * document is spliced in verbatim: it is a JSON object text, validated when the job was made.
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

#define SUMMARY_SQL                                                                                                        \
	"jsonb_strip_nulls(jsonb_build_object('jobId', l.job_id, 'queuedAt', " SECS("l.queued_at") ", 'startedAt', " SECS( \
		"l.started_at") ", 'lastUpdatedAt', " SECS("l.last_updated_at") ", 'versionNumber', l.version_number,"     \
										" 'executionNumber', l.execution_number))"

#define EXECUTION_SQL                                                                                          \
	"jsonb_strip_nulls(jsonb_build_object('jobId', h.job_id, 'status', h.status,"                          \
	" 'statusDetails', CASE WHEN h.status_details <> '{}'::jsonb THEN h.status_details END,"               \
	" 'queuedAt', " SECS("h.queued_at") ", 'startedAt', " SECS("h.started_at") ", 'lastUpdatedAt', " SECS( \
		"h.last_updated_at") ", 'versionNumber', h.version_number,"                                    \
				     " 'executionNumber', h.execution_number))::text"

#define EMIT_SQL(things)                                                                            \
	"WITH ts AS (SELECT t.id AS thing_id, t.name FROM things t WHERE t.id IN (" things ")),"    \
	" p AS (SELECT e.thing_id, j.job_id, e.status, e.execution_number, e.version_number,"       \
	"  e.queued_at, e.started_at, e.last_updated_at, e.status_details, j.document,"             \
	"  (j.config ? 'schedulingConfig') AS is_sched,"                                            \
	"  row_number() OVER (PARTITION BY e.thing_id ORDER BY (e.status = 'IN_PROGRESS') DESC,"    \
	"   floor(extract(epoch FROM e.queued_at) * 1000), e.job_pk, j.job_id) AS rn"               \
	"  FROM job_executions e JOIN jobs j ON j.id = e.job_pk"                                    \
	"  WHERE e.thing_id IN (SELECT thing_id FROM ts)"                                           \
	"  AND ((e.status = 'QUEUED' AND j.status = 'IN_PROGRESS')"                                 \
	"   OR (e.status = 'IN_PROGRESS' AND NOT e.force_canceled"                                  \
	"    AND j.status IN ('IN_PROGRESS', 'CANCELED'))))," /* spec 2.10, 3.11 */                 \
	" lim AS (SELECT thing_id, CASE WHEN bool_or(is_sched) THEN 15 ELSE 10 END AS n"            \
	"  FROM p GROUP BY thing_id),"                                                              \
	" l AS (SELECT p.* FROM p JOIN lim USING (thing_id) WHERE p.rn <= lim.n),"                  \
	" agg AS (SELECT ts.thing_id, ts.name,"                                                     \
	"  coalesce(string_agg(l.job_id || ':' || l.execution_number, ',' ORDER BY l.job_id), '')"  \
	"   AS pset,"                                                                               \
	"  coalesce(max(CASE WHEN l.rn = 1 THEN l.job_id || ':' || l.execution_number END), '')"    \
	"   AS head,"                                                                               \
	"  jsonb_agg(" SUMMARY_SQL                                                                  \
	" ORDER BY l.rn) FILTER (WHERE l.status = 'IN_PROGRESS') AS ip,"                            \
	"  jsonb_agg(" SUMMARY_SQL " ORDER BY l.rn) FILTER (WHERE l.status = 'QUEUED') AS q"        \
	"  FROM ts LEFT JOIN l ON l.thing_id = ts.thing_id GROUP BY ts.thing_id, ts.name),"         \
	" cmp AS (SELECT a.*, coalesce(ev.pending_set, '') <> a.pset AS is_notify,"                 \
	"  coalesce(ev.head, '') <> a.head AS is_next"                                              \
	"  FROM agg a LEFT JOIN job_thing_events ev ON ev.thing_id = a.thing_id),"                  \
	" msgs AS (SELECT c.thing_id, 0 AS k, '$aws/things/' || c.name || '/jobs/notify' AS topic," \
	"  json_build_object('timestamp', $2::bigint, 'jobs',"                                      \
	"   jsonb_strip_nulls(jsonb_build_object('IN_PROGRESS', c.ip, 'QUEUED', c.q)))::text"       \
	"   AS payload, false AS presign"                                                           \
	"  FROM cmp c WHERE c.is_notify"                                                            \
	"  UNION ALL SELECT c.thing_id, 1, '$aws/things/' || c.name || '/jobs/notify-next',"        \
	"  CASE WHEN h.job_id IS NULL THEN json_build_object('timestamp', $2::bigint)::text"        \
	"   ELSE '{\"timestamp\":' || $2::bigint || ',\"execution\":' || left(" EXECUTION_SQL       \
	", -1) || ',\"jobDocument\":' || h.document || '}}' END,"                                   \
	"  coalesce(strpos(h.document, '${aws:iot:s3-presigned-url:') > 0, false)"                  \
	"  FROM cmp c LEFT JOIN l h ON h.thing_id = c.thing_id AND h.rn = 1 WHERE c.is_next),"      \
	" ins AS (INSERT INTO mqtt_outbox (topic, payload, qos, presign)"                           \
	"  SELECT topic, convert_to(payload, 'UTF8'), 1, presign FROM msgs ORDER BY thing_id, k"    \
	"  RETURNING topic),"                                                                       \
	" upd AS (UPDATE job_thing_events ev SET pending_set = c.pset, head = c.head FROM cmp c"    \
	"  WHERE ev.thing_id = c.thing_id AND (c.is_notify OR c.is_next) RETURNING 1)"              \
	" SELECT (SELECT count(*) FROM ins WHERE topic LIKE '%/notify'),"                           \
	" (SELECT count(*) FROM ins WHERE topic LIKE '%/notify-next'), (SELECT count(*) FROM upd)"

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void describe_metrics(void)
{
	metrics_describe("bw_jobs_events_total", "counter",
			 "Jobs notify / notify-next events written to the MQTT outbox, by kind");
}

static int emit(struct db *db, const char *lock_sql, const char *emit_sql, const char *arg,
		int64_t now_s)
{
	char now[24];
	const char *params[] = { arg, now };
	struct db_rows *rows = NULL;
	enum db_status st;
	long long notify, next;

	pthread_once(&metrics_once, describe_metrics);
	snprintf(now, sizeof(now), "%" PRId64, now_s);
	st = db_exec_static(db, lock_sql, 1, params, NULL);
	if (st < 0)
		return st;
	st = db_exec_static(db, emit_sql, 2, params, &rows);
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
	if (notify > 0)
		metrics_counter_add("bw_jobs_events_total", "kind=\"notify\"", (double)notify);
	if (next > 0)
		metrics_counter_add("bw_jobs_events_total", "kind=\"notify_next\"", (double)next);
	return (int)(notify + next);
}

int db_job_events_emit(struct db *db, const char *thing_ids, int64_t now_s)
{
	if (!thing_ids)
		return DB_HARD;
	return emit(db, LOCK_SQL(THINGS_BY_IDS), EMIT_SQL(THINGS_BY_IDS), thing_ids, now_s);
}

int db_job_events_emit_for_job(struct db *db, int64_t job_pk, int64_t now_s)
{
	char pk[24];

	snprintf(pk, sizeof(pk), "%" PRId64, job_pk);
	return emit(db, LOCK_SQL(THINGS_BY_JOB), EMIT_SQL(THINGS_BY_JOB), pk, now_s);
}
