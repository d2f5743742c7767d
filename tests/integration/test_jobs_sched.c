/* The jobs scheduler and MQTT file streams against a running stack (tests/harness/stack.sh;
 * start the server with a small BW_SCHED_TICK_MS, e.g. 100): rollout rate, timeouts, retries,
 * abort, continuous targeting, SNAPSHOT completion, notify-next on release, and GetStream /
 * DescribeStream over MQTT in JSON and CBOR compared with the stored bytes. Device-side
 * transitions are made with SQL so that only the scheduler is under test. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mosquitto.h>

#include "../lib/http_client.h"
#include "../lib/mqtt_device.h"
#include "../lib/pgtest.h"
#include "../lib/testenv.h"
#include "core/buf.h"
#include "core/strutil.h"
#include "crypto/digest.h"
#include "jobs/cbor.h"
#include "jobs/config.h"
#include "jobs/retry.h"

#define WAIT_SQL(want, timeout_s, ...) pgtest_wait_sql(__LINE__, want, timeout_s, __VA_ARGS__)

/* n things named <prefix>-<i>; returns nothing (names are deterministic). */
static void make_things(const char *prefix, int n)
{
	pgtest_sql("INSERT INTO things (name) SELECT '%s-' || i FROM generate_series(1, %d) i",
		   prefix, n);
}

static void create_job(const char *body_fmt, ...) __attribute__((format(printf, 1, 2)));
static void create_job(const char *body_fmt, ...)
{
	char body[4096];
	struct http_resp r;
	va_list ap;

	va_start(ap, body_fmt);
	vsnprintf(body, sizeof(body), body_fmt, ap);
	va_end(ap);
	ck_assert_int_eq(http_call(&r, "POST", testenv_get()->admin_token, body, "/api/v1/jobs"),
			 0);
	ck_assert_msg(r.status == 201, "create job: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
}

#define EXECS(job, cond)                                                                      \
	"SELECT count(*) FROM job_executions e JOIN jobs j ON j.id = e.job_pk WHERE j.job_id" \
	" = '%s' AND " cond,                                                                  \
		job

START_TEST(rollout_respects_maximum_per_minute)
{
	char p[64], job[64];

	testenv_uniq(p, sizeof(p), "rate");
	testenv_uniq(job, sizeof(job), "rate");
	make_things(p, 100);
	pgtest_sql("INSERT INTO thing_groups (name, type) VALUES ('%s', 'static')", p);
	pgtest_sql("INSERT INTO thing_group_members (group_id, thing_id) SELECT g.id, t.id FROM"
		   " thing_groups g, things t WHERE g.name = '%s' AND t.name LIKE '%s-%%'",
		   p, p);
	double t0 = pgtest_now_s();
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s\"}],"
		   "\"document\":{\"op\":\"rate\"},\"job_executions_rollout_config\":"
		   "{\"maximum_per_minute\":60}}",
		   job, p);
	/* the bucket starts full: 60 at once, then one per second */
	WAIT_SQL("60", 3, EXECS(job, "true"));
	sleep(3);
	long n = strtol(pgtest_sql(EXECS(job, "true")), NULL, 10);
	double elapsed = pgtest_now_s() - t0;
	ck_assert_msg(n >= 61 && n <= 60 + (long)elapsed + 1, "released %ld after %.1fs", n,
		      elapsed);
	ck_assert_str_eq(
		pgtest_sql("SELECT count(*) FROM job_targets jt JOIN jobs j ON j.id = jt.job_pk"
			   " WHERE j.job_id = '%s' AND jt.released_at IS NOT NULL",
			   job),
		pgtest_sql(EXECS(job, "true")));
	/* every release has exactly one history row */
	ck_assert_str_eq(
		pgtest_sql("SELECT count(*) FROM (SELECT thing_id FROM job_execution_history h"
			   " JOIN jobs j ON j.id = h.job_pk WHERE j.job_id = '%s' AND"
			   " h.reason = 'released' GROUP BY thing_id HAVING count(*) > 1) x",
			   job),
		"0");
	ck_assert_str_eq(pgtest_sql("SELECT status FROM jobs WHERE job_id = '%s'", job),
			 "IN_PROGRESS");
}
END_TEST

START_TEST(timeouts_retries_and_completion)
{
	char p[64], job[64];

	testenv_uniq(p, sizeof(p), "tmo");
	testenv_uniq(job, sizeof(job), "tmo");
	make_things(p, 2);
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s-1\"},"
		   "{\"type\":\"thing\",\"name\":\"%s-2\"}],\"document\":{\"op\":\"t\"},"
		   "\"timeout_config\":{\"in_progress_timeout_in_minutes\":1},"
		   "\"job_executions_retry_config\":{\"criteria_list\":[{\"failure_type\":"
		   "\"TIMED_OUT\",\"number_of_retries\":1},{\"failure_type\":\"FAILED\","
		   "\"number_of_retries\":2}]}}",
		   job, p, p);
	WAIT_SQL("2", 3, EXECS(job, "e.status = 'QUEUED'"));
	/* thing 1 started, its deadline already past: TIMED_OUT, then retried */
	pgtest_sql(
		"UPDATE job_executions e SET status = 'IN_PROGRESS', version_number = 2, started_at ="
		" now() - interval '2 minutes', in_progress_deadline = now() - interval '1 minute'"
		" FROM jobs j, things t WHERE j.id = e.job_pk AND t.id = e.thing_id AND j.job_id ="
		" '%s' AND t.name = '%s-1'",
		job, p);
	WAIT_SQL("1", 5,
		 "SELECT count(*) FROM job_execution_history h JOIN jobs j ON j.id = h.job_pk"
		 " WHERE j.job_id = '%s' AND h.to_status = 'TIMED_OUT' AND h.actor = 'scheduler'",
		 job);
	WAIT_SQL("2|QUEUED|1|1", 5,
		 "SELECT e.execution_number || '|' || e.status || '|' || e.retry_attempt || '|' ||"
		 " e.version_number FROM job_executions e JOIN jobs j ON j.id = e.job_pk JOIN"
		 " things t ON t.id = e.thing_id WHERE j.job_id = '%s' AND t.name = '%s-1'",
		 job, p);
	/* the retry times out too: the TIMED_OUT budget (1) is used up */
	pgtest_sql(
		"UPDATE job_executions e SET status = 'IN_PROGRESS', in_progress_deadline = now()"
		" FROM jobs j, things t WHERE j.id = e.job_pk AND t.id = e.thing_id AND j.job_id ="
		" '%s' AND t.name = '%s-1'",
		job, p);
	WAIT_SQL(
		"TIMED_OUT", 5,
		"SELECT e.status FROM job_executions e JOIN jobs j ON j.id = e.job_pk JOIN things t"
		" ON t.id = e.thing_id WHERE j.job_id = '%s' AND t.name = '%s-1'",
		job, p);
	/* thing 2 fails three times: two retries, then it stays FAILED */
	for (int i = 1; i <= 3; i++) {
		char want[32];
		WAIT_SQL("QUEUED", 5,
			 "SELECT e.status FROM job_executions e JOIN jobs j ON j.id = e.job_pk JOIN"
			 " things t ON t.id = e.thing_id WHERE j.job_id = '%s' AND t.name = '%s-2'",
			 job, p);
		pgtest_sql(
			"UPDATE job_executions e SET status = 'FAILED' FROM jobs j, things t WHERE"
			" j.id = e.job_pk AND t.id = e.thing_id AND j.job_id = '%s' AND t.name ="
			" '%s-2'",
			job, p);
		snprintf(want, sizeof(want), "%d", i == 3 ? 3 : i + 1);
		WAIT_SQL(want, 5,
			 "SELECT e.execution_number FROM job_executions e JOIN jobs j ON j.id ="
			 " e.job_pk JOIN things t ON t.id = e.thing_id WHERE j.job_id = '%s' AND"
			 " t.name = '%s-2'",
			 job, p);
	}
	/* all terminal, no retry left: the SNAPSHOT job completes */
	WAIT_SQL("COMPLETED", 5, "SELECT status FROM jobs WHERE job_id = '%s'", job);
	ck_assert_str_eq(pgtest_sql(EXECS(job, "e.status = 'FAILED'")), "1");
	ck_assert_str_ne(pgtest_sql("SELECT completed_at FROM jobs WHERE job_id = '%s'", job), "");
}
END_TEST

/* ---- retries: the scheduler applies jobs_retry_decision() exactly (spec 3.5) ---- */

/* Retry configurations, as (failure type, numberOfRetries) criteria. */
struct retry_cfg_case {
	int count;
	enum jobs_failure_type type[2];
	int n[2];
};

static const struct retry_cfg_case retry_cfgs[] = {
	{ 1, { JOBS_FAILURE_FAILED }, { 2 } },	  /* FAILED retried, TIMED_OUT not */
	{ 1, { JOBS_FAILURE_TIMED_OUT }, { 1 } }, /* TIMED_OUT retried, FAILED not */
	{ 1, { JOBS_FAILURE_ALL }, { 3 } },	  /* one budget for both types */
	{ 2, { JOBS_FAILURE_FAILED, JOBS_FAILURE_ALL }, { 1, 5 } },	    /* exact before ALL */
	{ 2, { JOBS_FAILURE_FAILED, JOBS_FAILURE_TIMED_OUT }, { 10, 10 } }, /* 10 in total */
	{ 1, { JOBS_FAILURE_FAILED }, { 0 } },				    /* no retries */
};

/* Ended states: every status below with every pair of counts ('{}' stored for 0/0). */
static const char *const retry_statuses[] = { "FAILED", "TIMED_OUT", "REJECTED", "SUCCEEDED",
					      "CANCELED" };
static const int retry_pairs[][2] = { { 0, 0 },	 { 1, 0 }, { 0, 1 }, { 1, 1 }, { 2, 0 },
				      { 0, 2 },	 { 2, 3 }, { 4, 1 }, { 9, 0 }, { 5, 5 },
				      { 0, 10 }, { 3, 6 }, { 1, 8 } };
#define RETRY_PAIRS ((int)(sizeof(retry_pairs) / sizeof(retry_pairs[0])))
#define RETRY_CASES ((int)(sizeof(retry_statuses) / sizeof(retry_statuses[0])) * RETRY_PAIRS)

START_TEST(retry_decisions_match_the_c_rule)
{
	const struct retry_cfg_case *rc = &retry_cfgs[_i];
	struct jobs_retry_config cfg = { .count = (size_t)rc->count };
	char p[64], job[64], crit[256] = "";
	struct buf values, want;
	int retried = 0;

	testenv_uniq(p, sizeof(p), "rtc");
	testenv_uniq(job, sizeof(job), "rtc");
	for (int k = 0; k < rc->count; k++) {
		cfg.criteria[k].failure_type = rc->type[k];
		cfg.criteria[k].number_of_retries = rc->n[k];
		snprintf(crit + strlen(crit), sizeof(crit) - strlen(crit),
			 "%s{\"failure_type\":\"%s\",\"number_of_retries\":%d}", k ? "," : "",
			 jobs_failure_type_name(rc->type[k]), rc->n[k]);
	}
	make_things(p, RETRY_CASES);
	pgtest_sql("INSERT INTO thing_groups (name, type) VALUES ('%s', 'static')", p);
	pgtest_sql("INSERT INTO thing_group_members (group_id, thing_id) SELECT g.id, t.id FROM"
		   " thing_groups g, things t WHERE g.name = '%s' AND t.name LIKE '%s-%%'",
		   p, p);
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s\"}],"
		   "\"document\":{\"op\":\"r\"},\"job_executions_retry_config\":{\"criteria_list\":"
		   "[%s]}}",
		   job, p, crit);
	WAIT_SQL("65", 5, EXECS(job, "e.status = 'QUEUED'"));
	ck_assert_int_eq(RETRY_CASES, 65);
	/* every execution ends at once (one statement) in its case's state, at execution 3 */
	buf_init(&values);
	buf_init(&want);
	for (int i = 0; i < RETRY_CASES; i++) {
		const char *st = retry_statuses[i / RETRY_PAIRS];
		int f = retry_pairs[i % RETRY_PAIRS][0], t = retry_pairs[i % RETRY_PAIRS][1];
		struct jobs_execution e;
		bool is_retried;

		jobs_execution_init(&e);
		ck_assert(jobs_exec_status_parse(st, &e.status));
		e.execution_number = 3;
		e.retries.after_failed = f;
		e.retries.after_timed_out = t;
		is_retried = jobs_retry_decision(&cfg, &e);
		retried += is_retried;
		if (f || t)
			buf_printf(&values, "%s(%d,'%s','{\"FAILED\":%d,\"TIMED_OUT\":%d}')",
				   i ? "," : "", i + 1, st, f, t);
		else
			buf_printf(&values, "%s(%d,'%s','{}')", i ? "," : "", i + 1, st);
		/* the retry: execution 4, QUEUED, version 1, attempt 1, the type's count + 1 */
		if (is_retried)
			buf_printf(&want, "%d:QUEUED:4:1:1:%d:%d;", i + 1,
				   f + (e.status == JOBS_EXEC_FAILED),
				   t + (e.status != JOBS_EXEC_FAILED));
		else if (f || t)
			buf_printf(&want, "%d:%s:3:7:0:%d:%d;", i + 1, st, f, t);
		else
			buf_printf(&want, "%d:%s:3:7:0:-:-;", i + 1, st);
	}
	ck_assert(!values.is_oom && !want.is_oom);
	pgtest_sql(
		"UPDATE job_executions e SET status = v.st, execution_number = 3, version_number = 7,"
		" retries_by_type = v.r::jsonb FROM (VALUES %s) v (i, st, r), things t, jobs j WHERE"
		" t.name = '%s-' || v.i AND e.thing_id = t.id AND e.job_pk = j.id AND j.job_id = '%s'",
		values.data, p, job);
	char n[16];
	snprintf(n, sizeof(n), "%d", retried);
	WAIT_SQL(n, 5, EXECS(job, "e.execution_number = 4"));
	usleep(1200 * 1000); /* two more ticks change nothing */
	ck_assert_str_eq(
		pgtest_sql(
			"SELECT string_agg(substring(t.name FROM '[0-9]+$') || ':' || e.status || ':' ||"
			" e.execution_number || ':' || e.version_number || ':' || e.retry_attempt || ':'"
			" || coalesce(e.retries_by_type->>'FAILED', '-') || ':' ||"
			" coalesce(e.retries_by_type->>'TIMED_OUT', '-') || ';', '' ORDER BY"
			" substring(t.name FROM '[0-9]+$')::int) FROM job_executions e JOIN jobs j ON"
			" j.id = e.job_pk JOIN things t ON t.id = e.thing_id WHERE j.job_id = '%s'",
			job),
		want.data);
	/* one history row per retry, from the ended status */
	ck_assert_str_eq(
		pgtest_sql("SELECT count(*) FROM job_execution_history h JOIN jobs j ON j.id ="
			   " h.job_pk WHERE j.job_id = '%s' AND h.reason = 'retry' AND"
			   " h.execution_number = 4 AND h.to_status = 'QUEUED' AND h.from_status"
			   " IN ('FAILED', 'TIMED_OUT')",
			   job),
		n);
	buf_cleanup(&values);
	buf_cleanup(&want);
}
END_TEST

START_TEST(retries_stop_when_the_job_is_canceled)
{
	char p[64], job[64];
	struct http_resp r;

	testenv_uniq(p, sizeof(p), "rtx");
	testenv_uniq(job, sizeof(job), "rtx");
	make_things(p, 2);
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s-1\"},"
		   "{\"type\":\"thing\",\"name\":\"%s-2\"}],\"document\":{\"op\":\"x\"},"
		   "\"job_executions_retry_config\":{\"criteria_list\":[{\"failure_type\":\"ALL\","
		   "\"number_of_retries\":3}]}}",
		   job, p, p);
	WAIT_SQL("2", 5, EXECS(job, "e.status = 'QUEUED'"));
	/* thing 1 is working on it; the job is canceled (without force: it keeps going) */
	pgtest_sql(
		"UPDATE job_executions e SET status = 'IN_PROGRESS', version_number = 2 FROM jobs j,"
		" things t WHERE j.id = e.job_pk AND t.id = e.thing_id AND j.job_id = '%s' AND t.name"
		" = '%s-1'",
		job, p);
	ck_assert_int_eq(http_call(&r, "POST", testenv_get()->admin_token, "{}",
				   "/api/v1/jobs/%s/cancel", job),
			 0);
	ck_assert_msg(r.status == 200, "cancel: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
	/* the QUEUED execution of thing 2 was canceled with the job */
	ck_assert_str_eq(
		pgtest_sql("SELECT e.status FROM job_executions e JOIN jobs j ON j.id ="
			   " e.job_pk JOIN things t ON t.id = e.thing_id WHERE j.job_id = '%s' AND"
			   " t.name = '%s-2'",
			   job, p),
		"CANCELED");
	/* then it fails: a canceled job gets no retry */
	pgtest_sql(
		"UPDATE job_executions e SET status = 'FAILED', version_number = 3 FROM jobs j, things"
		" t WHERE j.id = e.job_pk AND t.id = e.thing_id AND j.job_id = '%s' AND t.name ="
		" '%s-1'",
		job, p);
	usleep(1500 * 1000); /* three ticks */
	ck_assert_str_eq(
		pgtest_sql("SELECT e.status || ':' || e.execution_number FROM job_executions e"
			   " JOIN jobs j ON j.id = e.job_pk JOIN things t ON t.id = e.thing_id"
			   " WHERE j.job_id = '%s' AND t.name = '%s-1'",
			   job, p),
		"FAILED:1");
	ck_assert_str_eq(
		pgtest_sql("SELECT count(*) FROM job_execution_history h JOIN jobs j ON j.id ="
			   " h.job_pk WHERE j.job_id = '%s' AND h.reason = 'retry'",
			   job),
		"0");
	ck_assert_str_eq(pgtest_sql("SELECT status FROM jobs WHERE job_id = '%s'", job),
			 "CANCELED");
}
END_TEST

START_TEST(abort_cancels_the_job)
{
	char p[64], job[64];

	testenv_uniq(p, sizeof(p), "abt");
	testenv_uniq(job, sizeof(job), "abt");
	make_things(p, 4);
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s-1\"},"
		   "{\"type\":\"thing\",\"name\":\"%s-2\"},{\"type\":\"thing\",\"name\":\"%s-3\"},"
		   "{\"type\":\"thing\",\"name\":\"%s-4\"}],\"document\":{\"op\":\"a\"},"
		   "\"abort_config\":{\"criteria_list\":[{\"failure_type\":\"FAILED\","
		   "\"action\":\"CANCEL\",\"threshold_percentage\":50,"
		   "\"min_number_of_executed_things\":2}]}}",
		   job, p, p, p, p);
	WAIT_SQL("4", 3, EXECS(job, "e.status = 'QUEUED'"));
	pgtest_sql(
		"UPDATE job_executions e SET status = 'IN_PROGRESS' FROM jobs j, things t WHERE j.id ="
		" e.job_pk AND t.id = e.thing_id AND j.job_id = '%s' AND t.name = '%s-3'",
		job, p);
	pgtest_sql(
		"UPDATE job_executions e SET status = 'FAILED' FROM jobs j, things t WHERE j.id ="
		" e.job_pk AND t.id = e.thing_id AND j.job_id = '%s' AND t.name IN ('%s-1', '%s-2')",
		job, p, p);
	WAIT_SQL("CANCELED", 5, "SELECT status FROM jobs WHERE job_id = '%s'", job);
	ck_assert_str_eq(pgtest_sql(EXECS(job, "e.status = 'CANCELED'")), "1");
	ck_assert_str_eq(pgtest_sql(EXECS(job, "e.status = 'IN_PROGRESS'")), "1"); /* left alone */
	ck_assert_ptr_nonnull(strstr(
		pgtest_sql("SELECT comment FROM jobs WHERE job_id = '%s'", job), "abortConfig"));
}
END_TEST

START_TEST(continuous_job_follows_its_group)
{
	char p[64], job[64];
	struct http_resp r;
	const char *tok = testenv_get()->admin_token;

	testenv_uniq(p, sizeof(p), "cont");
	testenv_uniq(job, sizeof(job), "cont");
	make_things(p, 2);
	pgtest_sql("INSERT INTO thing_groups (name, type) VALUES ('%s', 'static')", p);
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s\"}],"
		   "\"document\":{\"op\":\"c\"},\"target_selection\":\"CONTINUOUS\","
		   "\"job_executions_rollout_config\":{\"maximum_per_minute\":1}}",
		   job, p);
	ck_assert_str_eq(pgtest_sql(EXECS(job, "true")), "0");
	/* joining: executions at once, not rate-limited */
	for (int i = 1; i <= 2; i++) {
		ck_assert_int_eq(
			http_call(&r, "PUT", tok, NULL, "/api/v1/groups/%s/things/%s-%d", p, p, i),
			0);
		ck_assert_int_eq(r.status, 204);
		http_resp_cleanup(&r);
	}
	WAIT_SQL("2", 3, EXECS(job, "e.status = 'QUEUED'"));
	/* leaving: the QUEUED execution becomes REMOVED */
	ck_assert_int_eq(http_call(&r, "DELETE", tok, NULL, "/api/v1/groups/%s/things/%s-1", p, p),
			 0);
	ck_assert_int_eq(r.status, 204);
	http_resp_cleanup(&r);
	WAIT_SQL("1", 3, EXECS(job, "e.status = 'REMOVED'"));
	/* re-joining: a new execution number */
	ck_assert_int_eq(http_call(&r, "PUT", tok, NULL, "/api/v1/groups/%s/things/%s-1", p, p), 0);
	http_resp_cleanup(&r);
	WAIT_SQL("2", 3, EXECS(job, "e.status = 'QUEUED' AND e.execution_number >= 1"));
	ck_assert_str_eq(pgtest_sql(EXECS(job, "e.execution_number = 2")), "1");
	/* continuous jobs never complete by themselves */
	ck_assert_str_eq(pgtest_sql("SELECT status FROM jobs WHERE job_id = '%s'", job),
			 "IN_PROGRESS");
}
END_TEST

START_TEST(release_publishes_notify_next)
{
	char p[64], job[64], thing[96], topic[256];
	const struct testenv *env = testenv_get();
	struct mqtt_device *d;
	json_t *m;

	testenv_uniq(p, sizeof(p), "nn");
	testenv_uniq(job, sizeof(job), "nn");
	make_things(p, 1);
	snprintf(thing, sizeof(thing), "%s-1", p);
	d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	ck_assert_ptr_nonnull(d);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify-next", thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, topic), 1);
	create_job("{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s\"}],"
		   "\"document\":{\"op\":\"nn\"},\"job_executions_rollout_config\":"
		   "{\"maximum_per_minute\":5}}",
		   job, thing);
	m = mqtt_device_take(d, topic, 5000);
	ck_assert_ptr_nonnull(m);
	json_t *x = json_object_get(m, "execution");
	ck_assert_str_eq(testenv_jstr(x, "jobId"), job);
	ck_assert_str_eq(testenv_jstr(json_object_get(x, "jobDocument"), "op"), "nn");
	json_decref(m);
	mqtt_device_free(d);
}
END_TEST

/* ---- streams ---- */

static unsigned char *blob;
static size_t blob_len = 10000;
static char stream[64];

/* Store a blob in the server's blob store and a stream pointing at it (file id 3). */
static void make_stream(void)
{
	char sha[DIGEST_SHA256_HEX_LEN], dir[1024], path[1200];
	const char *base = getenv("BW_TEST_DIR");
	FILE *f;

	ck_assert_ptr_nonnull(base);
	blob = malloc(blob_len);
	ck_assert_ptr_nonnull(blob);
	srand(42);
	for (size_t i = 0; i < blob_len; i++)
		blob[i] = (unsigned char)(rand() & 0xff);
	blob[0] = (unsigned char)getpid();
	digest_sha256_hex(blob, blob_len, sha);
	snprintf(dir, sizeof(dir), "%s/blobs/%.2s", base, sha);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, sha);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(blob, 1, blob_len, f), blob_len);
	fclose(f);
	testenv_uniq(stream, sizeof(stream), "st");
	pgtest_sql("INSERT INTO job_streams (stream_id, description) VALUES ('%s', 'fw')", stream);
	pgtest_sql(
		"INSERT INTO job_stream_files (stream_id, file_id, sha256, size_bytes) VALUES ('%s',"
		" 3, '%s', %zu)",
		stream, sha, blob_len);
}

START_TEST(streams_serve_blocks_in_json_and_cbor)
{
	const struct testenv *env = testenv_get();
	char thing[64], topic[512], data[512];
	struct mqtt_device *d;
	json_t *m;

	make_stream();
	testenv_uniq(thing, sizeof(thing), "ota");
	d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	ck_assert_ptr_nonnull(d);
	/* JSON: blocks 1 and 2 of 4096 bytes (the last one short) */
	snprintf(data, sizeof(data), "$aws/things/%s/streams/%s/data/json", thing, stream);
	ck_assert_int_eq(mqtt_device_subscribe(d, data), 1);
	snprintf(topic, sizeof(topic), "$aws/things/%s/streams/%s/get/json", thing, stream);
	const char *req = "{\"c\":\"tok\",\"f\":3,\"l\":4096,\"o\":1,\"n\":2}";
	ck_assert_int_ge(mqtt_device_publish(d, topic, req, strlen(req)), 0);
	for (int i = 1; i <= 2; i++) {
		m = mqtt_device_take(d, data, 5000);
		ck_assert_ptr_nonnull(m);
		ck_assert_str_eq(testenv_jstr(m, "c"), "tok");
		ck_assert_int_eq(json_integer_value(json_object_get(m, "f")), 3);
		ck_assert_int_eq(json_integer_value(json_object_get(m, "i")), i);
		size_t want = i == 2 ? blob_len - 8192 : 4096;
		ck_assert_int_eq(json_integer_value(json_object_get(m, "l")), (long)want);
		void *raw = NULL;
		size_t rawlen = 0;
		const char *b64 = testenv_jstr(m, "p");
		ck_assert_ptr_nonnull(b64);
		/* standard base64 -> compare with the blob */
		struct buf tmp;
		buf_init(&tmp);
		for (const char *c = b64; *c; c++)
			buf_putc(&tmp, *c == '+' ? '-' : *c == '/' ? '_' : *c);
		while (tmp.len && tmp.data[tmp.len - 1] == '=')
			tmp.data[--tmp.len] = '\0';
		ck_assert(strutil_b64url_decode(tmp.data, &raw, &rawlen));
		ck_assert_uint_eq(rawlen, want);
		ck_assert_int_eq(memcmp(raw, blob + (size_t)i * 4096, want), 0);
		free(raw);
		buf_cleanup(&tmp);
		json_decref(m);
	}
	/* rejected: unknown file */
	char rej[512];
	snprintf(rej, sizeof(rej), "$aws/things/%s/streams/%s/rejected/json", thing, stream);
	ck_assert_int_eq(mqtt_device_subscribe(d, rej), 1);
	req = "{\"c\":\"x\",\"f\":9,\"l\":4096}";
	ck_assert_int_ge(mqtt_device_publish(d, topic, req, strlen(req)), 0);
	m = mqtt_device_take(d, rej, 5000);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(testenv_jstr(m, "o"), "ResourceNotFound");
	ck_assert_str_eq(testenv_jstr(m, "c"), "x");
	json_decref(m);
	/* describe */
	char desc[512];
	snprintf(desc, sizeof(desc), "$aws/things/%s/streams/%s/description/json", thing, stream);
	ck_assert_int_eq(mqtt_device_subscribe(d, desc), 1);
	snprintf(topic, sizeof(topic), "$aws/things/%s/streams/%s/describe/json", thing, stream);
	ck_assert_int_ge(mqtt_device_publish(d, topic, "{}", 2), 0);
	m = mqtt_device_take(d, desc, 5000);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "s")), 1);
	json_t *f0 = json_array_get(json_object_get(m, "r"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(f0, "f")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(f0, "z")), (long)blob_len);
	json_decref(m);
	mqtt_device_free(d);
	free(blob);
}
END_TEST

/* CBOR replies are not JSON: a raw subscriber collects them. */
struct raw_sub {
	unsigned char payload[8192];
	int len;
	volatile int got;
};

static void on_raw(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct raw_sub *s = arg;
	(void)m;
	if (!s->got && msg->payloadlen <= (int)sizeof(s->payload)) {
		memcpy(s->payload, msg->payload, (size_t)msg->payloadlen);
		s->len = msg->payloadlen;
		s->got = 1;
	}
}

START_TEST(streams_serve_cbor_with_a_bitmap)
{
	const struct testenv *env = testenv_get();
	char thing[64], topic[512], data[512];
	struct raw_sub sub = { .got = 0 };
	struct mosquitto *m;
	struct buf req;

	make_stream();
	testenv_uniq(thing, sizeof(thing), "otac");
	m = mosquitto_new(thing, true, &sub);
	ck_assert_ptr_nonnull(m);
	mosquitto_message_callback_set(m, on_raw);
	ck_assert_int_eq(mosquitto_connect(m, env->mqtt_host, env->mqtt_port, 30), 0);
	ck_assert_int_eq(mosquitto_loop_start(m), 0);
	snprintf(data, sizeof(data), "$aws/things/%s/streams/%s/data/cbor", thing, stream);
	ck_assert_int_eq(mosquitto_subscribe(m, NULL, data, 0), 0);
	usleep(200 * 1000);
	/* FreeRTOS's request: {c:"rdy", f, l:1024, o:0, b:<bitmap wanting block 5>, n:1} */
	unsigned char bitmap[1] = { 0x20 };
	buf_init(&req);
	jobs_cbor_put_map(&req, 6);
	jobs_cbor_put_text(&req, "c", 1);
	jobs_cbor_put_text(&req, "rdy", 3);
	jobs_cbor_put_text(&req, "f", 1);
	jobs_cbor_put_uint(&req, 3);
	jobs_cbor_put_text(&req, "l", 1);
	jobs_cbor_put_uint(&req, 1024);
	jobs_cbor_put_text(&req, "o", 1);
	jobs_cbor_put_uint(&req, 0);
	jobs_cbor_put_text(&req, "b", 1);
	jobs_cbor_put_bytes(&req, bitmap, 1);
	jobs_cbor_put_text(&req, "n", 1);
	jobs_cbor_put_uint(&req, 1);
	snprintf(topic, sizeof(topic), "$aws/things/%s/streams/%s/get/cbor", thing, stream);
	ck_assert_int_eq(mosquitto_publish(m, NULL, topic, (int)req.len, req.data, 0, false), 0);
	for (int i = 0; i < 100 && !sub.got; i++)
		usleep(50 * 1000);
	ck_assert_msg(sub.got, "no CBOR data block");
	/* decode the map: i must be 5 and p the bytes 5120..6143 */
	struct jobs_cbor_reader rd;
	struct jobs_cbor_item it;
	long idx = -1;
	const unsigned char *p = NULL;
	size_t plen = 0;
	jobs_cbor_reader_init(&rd, sub.payload, (size_t)sub.len);
	ck_assert(jobs_cbor_next(&rd, &it) && it.type == JOBS_CBOR_MAP);
	for (uint64_t k = 0; k < it.value; k++) {
		struct jobs_cbor_item key, val;
		ck_assert(jobs_cbor_next(&rd, &key) && key.type == JOBS_CBOR_TEXT);
		ck_assert(jobs_cbor_next(&rd, &val));
		if (key.value == 1 && key.data[0] == 'i')
			idx = (long)val.value;
		if (key.value == 1 && key.data[0] == 'p') {
			p = val.data;
			plen = (size_t)val.value;
		}
	}
	ck_assert_int_eq(idx, 5);
	ck_assert_uint_eq(plen, 1024);
	ck_assert_int_eq(memcmp(p, blob + 5120, 1024), 0);
	buf_cleanup(&req);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	free(blob);
}
END_TEST

/* POST /api/v1/jobs/ota from a published release: the afr_ota document, the stream, and a
 * notify-next whose presigned placeholder was resolved to a working download URL. */
START_TEST(ota_job_from_a_release)
{
	const struct testenv *env = testenv_get();
	const char *tok = env->admin_token;
	char tag[64], thing[96], body[1024], path[256], topic[256];
	static char fw[6000];
	struct http_resp r;
	struct mqtt_device *d;

	testenv_uniq(tag, sizeof(tag), "ota");
	snprintf(thing, sizeof(thing), "%s-dev", tag);
	pgtest_sql("INSERT INTO things (name) VALUES ('%s')", thing);
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"algorithm\":\"ecdsa-p256\"}", tag);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/firmware/keys"), 0);
	ck_assert_msg(r.status == 201 || r.status == 200, "key: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"product\":\"%s\",\"firmware_version\":\"1.0.0\",\"hardware_types\":"
		 "[\"esp32\"]}",
		 tag);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/firmware/releases"), 0);
	ck_assert_msg(r.status == 201, "release: %ld %s", r.status, r.body);
	char release[32];
	snprintf(release, sizeof(release), "%s", testenv_jstr(r.json, "id"));
	http_resp_cleanup(&r);
	for (size_t i = 0; i < sizeof(fw); i++)
		fw[i] = (char)(i * 7 + 3);
	snprintf(path, sizeof(path),
		 "/api/v1/firmware/releases/%s/artifacts?name=fw.bin&type=firmware", release);
	char auth[300];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	const char *hdrs[] = { auth, NULL };
	struct http_req up = { .method = "POST",
			       .path = path,
			       .body = fw,
			       .body_len = sizeof(fw),
			       .content_type = "application/octet-stream",
			       .headers = hdrs };
	ck_assert_int_eq(http_do(&up, &r), 0);
	ck_assert_msg(r.status == 201, "upload: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
	ck_assert_int_eq(
		http_call(&r, "POST", tok, "{}", "/api/v1/firmware/releases/%s/publish", release),
		0);
	ck_assert_msg(r.status == 200, "publish: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);

	d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	ck_assert_ptr_nonnull(d);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify-next", thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, topic), 1);
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"%s\",\"release_id\":\"%s\",\"targets\":[{\"type\":\"thing\","
		 "\"name\":\"%s\"}],\"protocols\":[\"MQTT\",\"HTTP\"],\"filepath\":\"/fw.bin\","
		 "\"presigned_url_config\":{\"expires_in_sec\":600}}",
		 tag, release, thing);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/jobs/ota"), 0);
	ck_assert_msg(r.status == 201, "ota job: %ld %s", r.status, r.body);
	json_t *f0 = json_array_get(
		json_object_get(json_object_get(json_object_get(r.json, "document"), "afr_ota"),
				"files"),
		0);
	ck_assert_int_eq(json_integer_value(json_object_get(f0, "filesize")), (long)sizeof(fw));
	ck_assert_ptr_nonnull(testenv_jstr(f0, "sig-sha256-ecdsa"));
	ck_assert_ptr_nonnull(
		strstr(testenv_jstr(f0, "update_data_url"), "${aws:iot:s3-presigned-url:"));
	http_resp_cleanup(&r);
	char want[128];
	snprintf(want, sizeof(want), "%zu", sizeof(fw));
	ck_assert_str_eq(
		pgtest_sql("SELECT size_bytes FROM job_stream_files WHERE stream_id = 'AFR_OTA-%s'",
			   tag),
		want);
	json_t *m = mqtt_device_take(d, topic, 5000);
	ck_assert_ptr_nonnull(m);
	json_t *doc = json_object_get(json_object_get(m, "execution"), "jobDocument");
	f0 = json_array_get(json_object_get(json_object_get(doc, "afr_ota"), "files"), 0);
	const char *url = testenv_jstr(f0, "update_data_url");
	ck_assert_ptr_nonnull(url);
	ck_assert_ptr_nonnull(strstr(url, "/api/v1/firmware/download/"));
	ck_assert_ptr_nonnull(strstr(url, "signature="));
	/* the resolved URL downloads the artifact by range, without a token */
	const char *p = strstr(url, "/api/v1/");
	const char *range[] = { "Range: bytes=0-99", NULL };
	struct http_req get = { .method = "GET", .path = p, .headers = range };
	ck_assert_int_eq(http_do(&get, &r), 0);
	ck_assert_int_eq(r.status, 206);
	ck_assert_uint_eq(r.body_len, 100);
	ck_assert_int_eq(memcmp(r.body, fw, 100), 0);
	http_resp_cleanup(&r);
	json_decref(m);

	/* a device asking later ($next/get, as after a reboot) gets a freshly resolved URL too */
	char reply[sizeof(topic) + 16];
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/$next/get", thing);
	snprintf(reply, sizeof(reply), "%s/accepted", topic);
	static const char late[] = "{\"clientToken\":\"late\"}";
	ck_assert_int_ge(mqtt_device_publish(d, topic, late, sizeof(late) - 1), 0);
	m = mqtt_device_take(d, reply, 5000);
	ck_assert_msg(m != NULL, "no $next/get/accepted");
	doc = json_object_get(json_object_get(m, "execution"), "jobDocument");
	f0 = json_array_get(json_object_get(json_object_get(doc, "afr_ota"), "files"), 0);
	url = testenv_jstr(f0, "update_data_url");
	ck_assert_msg(url && strstr(url, "signature=") && !strstr(url, "${aws:iot"),
		      "$next/get document URL not resolved: %s", url ? url : "(none)");
	json_decref(m);
	mqtt_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_sched");
	TCase *tc = tcase_create("sched");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rollout_respects_maximum_per_minute);
	tcase_add_test(tc, timeouts_retries_and_completion);
	tcase_add_loop_test(tc, retry_decisions_match_the_c_rule, 0,
			    (int)(sizeof(retry_cfgs) / sizeof(retry_cfgs[0])));
	tcase_add_test(tc, retries_stop_when_the_job_is_canceled);
	tcase_add_test(tc, abort_cancels_the_job);
	tcase_add_test(tc, continuous_job_follows_its_group);
	tcase_add_test(tc, release_publishes_notify_next);
	tcase_add_test(tc, streams_serve_blocks_in_json_and_cbor);
	tcase_add_test(tc, streams_serve_cbor_with_a_bitmap);
	tcase_add_test(tc, ota_job_from_a_release);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	testenv_require();
	if (!testenv_get()->pg_dsn || !testenv_get()->mqtt_host) {
		fprintf(stderr, "skipped: BW_TEST_PG_DSN or MQTT not set\n");
		return TESTENV_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	rc = testenv_run_api_suite(suite());
	mosquitto_lib_cleanup();
	return rc;
}
