/* schedulingConfig against a running stack (spec 3.9): a job with a future startTime stays
 * SCHEDULED and releases nothing; it starts when startTime passes; at endTime it is canceled
 * (CANCEL, FORCE_CANCEL) or stops releasing (STOP_ROLLOUT); maintenance windows gate releases.
 * AWS only accepts a startTime at least 30 minutes ahead, so the test moves the stored times
 * into the past with SQL (the scheduler reads the job's config on every tick). Device-side
 * transitions are made with SQL too, so only the scheduler is under test. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/aws_client.h"
#include "../lib/http_client.h"
#include "../lib/pgtest.h"
#include "../lib/testenv.h"

#define WAIT_SQL(want, timeout_s, ...) pgtest_wait_sql(__LINE__, want, timeout_s, __VA_ARGS__)

#define JOB_STATUS "SELECT status FROM jobs WHERE job_id = '%s'"
#define EXEC_STATUSES                                                                            \
	"SELECT coalesce(string_agg(e.status, ',' ORDER BY e.status), '') FROM job_executions e" \
	" JOIN jobs j ON j.id = e.job_pk WHERE j.job_id = '%s'"
/* "YYYY-MM-DDTHH:MM" (UTC) at now + minutes */
static void utc_time(char *out, size_t cap, long minutes)
{
	time_t t = time(NULL) + minutes * 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M", &tm);
}

/* creates things <prefix>-1..n and a job targeting them with the given scheduling_config */
static void create_job(const char *job, const char *prefix, int n, const char *scheduling)
{
	char body[2048];
	int len;
	struct http_resp r;

	pgtest_sql("INSERT INTO things (name) SELECT '%s-' || i FROM generate_series(1, %d) i",
		   prefix, n);
	len = snprintf(body, sizeof(body),
		       "{\"job_id\":\"%s\",\"document\":{\"op\":\"s\"},"
		       "\"targets\":[",
		       job);
	for (int i = 1; i <= n; i++)
		len += snprintf(body + len, sizeof(body) - (size_t)len,
				"%s{\"type\":\"thing\",\"name\":\"%s-%d\"}", i > 1 ? "," : "",
				prefix, i);
	snprintf(body + len, sizeof(body) - (size_t)len, "],\"scheduling_config\":%s}", scheduling);
	ck_assert_int_eq(http_call(&r, "POST", testenv_get()->admin_token, body, "/api/v1/jobs"),
			 0);
	ck_assert_msg(r.status == 201, "create job: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
}

/* GET /api/v1/jobs/{job}; new reference */
static json_t *get_job(const char *job)
{
	struct http_resp r;
	json_t *j;

	ck_assert_int_eq(
		http_call(&r, "GET", testenv_get()->admin_token, NULL, "/api/v1/jobs/%s", job), 0);
	ck_assert_msg(r.status == 200, "get job: %ld %s", r.status, r.body);
	j = json_incref(r.json);
	http_resp_cleanup(&r);
	return j;
}

/* moves the stored startTime/endTime to now + the given minutes (SQL interval literals) */
static void move_times(const char *job, const char *start_min, const char *end_min)
{
	char q[1024];

	snprintf(
		q, sizeof(q),
		"UPDATE jobs SET config = jsonb_set(jsonb_set(config, '{schedulingConfig,startTime}',"
		" to_jsonb(to_char((now() + interval '%s minutes') AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD\"T\"HH24:MI'))), '{schedulingConfig,endTime}',"
		" to_jsonb(to_char((now() + interval '%s minutes') AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD\"T\"HH24:MI'))) WHERE job_id = '%s'",
		start_min, end_min, job);
	pgtest_sql("%s", q);
}

START_TEST(future_start_then_cancel_at_end)
{
	char job[64], prefix[64], start[32], end[32], sched[256];
	json_t *j;

	testenv_uniq(job, sizeof(job), "sch");
	testenv_uniq(prefix, sizeof(prefix), "scht");
	utc_time(start, sizeof(start), 40);
	utc_time(end, sizeof(end), 80);
	snprintf(sched, sizeof(sched),
		 "{\"start_time\":\"%s\",\"end_time\":\"%s\",\"end_behavior\":\"CANCEL\"}", start,
		 end);
	create_job(job, prefix, 2, sched);

	j = get_job(job);
	ck_assert_str_eq(testenv_jstr(j, "status"), "SCHEDULED");
	json_decref(j);
	/* several ticks (500 ms) pass: nothing is released before startTime */
	usleep(1600 * 1000);
	ck_assert_str_eq(pgtest_sql(JOB_STATUS, job), "SCHEDULED");
	ck_assert_str_eq(pgtest_sql(EXEC_STATUSES, job), "");

	move_times(job, "-1", "40");
	WAIT_SQL("IN_PROGRESS", 10, JOB_STATUS, job);
	WAIT_SQL("QUEUED,QUEUED", 10, EXEC_STATUSES, job);

	/* one device started; CANCEL (not FORCE) leaves it running */
	pgtest_sql(
		"UPDATE job_executions e SET status = 'IN_PROGRESS', version_number ="
		" version_number + 1 FROM jobs j, things t WHERE j.id = e.job_pk AND j.job_id = '%s' AND"
		" t.id = e.thing_id AND t.name = '%s-1'",
		job, prefix);
	move_times(job, "-60", "-1");
	WAIT_SQL("CANCELED", 10, JOB_STATUS, job);
	WAIT_SQL("CANCELED,IN_PROGRESS", 10, EXEC_STATUSES, job);
}
END_TEST

START_TEST(force_cancel_at_end)
{
	char job[64], prefix[64], start[32], end[32], sched[256];

	testenv_uniq(job, sizeof(job), "schf");
	testenv_uniq(prefix, sizeof(prefix), "schft");
	utc_time(start, sizeof(start), 40);
	utc_time(end, sizeof(end), 80);
	snprintf(sched, sizeof(sched),
		 "{\"start_time\":\"%s\",\"end_time\":\"%s\",\"end_behavior\":\"FORCE_CANCEL\"}",
		 start, end);
	create_job(job, prefix, 2, sched);
	move_times(job, "-1", "40");
	WAIT_SQL("QUEUED,QUEUED", 10, EXEC_STATUSES, job);
	pgtest_sql(
		"UPDATE job_executions e SET status = 'IN_PROGRESS', version_number ="
		" version_number + 1 FROM jobs j, things t WHERE j.id = e.job_pk AND j.job_id = '%s' AND"
		" t.id = e.thing_id AND t.name = '%s-1'",
		job, prefix);
	move_times(job, "-60", "-1");
	WAIT_SQL("CANCELED", 10, JOB_STATUS, job);
	WAIT_SQL("CANCELED,CANCELED", 10, EXEC_STATUSES, job);
	ck_assert_str_eq(pgtest_sql("SELECT force_canceled FROM jobs WHERE job_id = '%s'", job),
			 "t");
}
END_TEST

START_TEST(stop_rollout_at_end)
{
	char job[64], prefix[64], start[32], end[32], sched[256];

	testenv_uniq(job, sizeof(job), "schs");
	testenv_uniq(prefix, sizeof(prefix), "schst");
	utc_time(start, sizeof(start), 40);
	utc_time(end, sizeof(end), 80);
	snprintf(sched, sizeof(sched),
		 "{\"start_time\":\"%s\",\"end_time\":\"%s\",\"end_behavior\":\"STOP_ROLLOUT\"}",
		 start, end);
	create_job(job, prefix, 3, sched);
	/* the whole window passed while nothing ran: the job starts and immediately stops */
	move_times(job, "-60", "-1");
	WAIT_SQL("t", 10, "SELECT rollout_stopped_at IS NOT NULL FROM jobs WHERE job_id = '%s'",
		 job);
	/* nothing was released, so no execution is left to finish: the job completes (AWS: the
	 * in-progress executions of a stopped rollout run to their end) with its targets unserved */
	WAIT_SQL("COMPLETED", 10, JOB_STATUS, job);
	usleep(1100 * 1000);
	ck_assert_str_eq(pgtest_sql(EXEC_STATUSES, job), "");
	ck_assert_str_eq(pgtest_sql("SELECT count(*) FROM job_targets t JOIN jobs j ON j.id ="
				    " t.job_pk WHERE j.job_id = '%s' AND t.released_at IS NULL",
				    job),
			 "3");
}
END_TEST

START_TEST(maintenance_windows_gate_releases)
{
	char closed[64], open[64], p1[64], p2[64], sched[256];
	time_t later = time(NULL) + 3 * 3600;
	struct tm tm;
	json_t *j, *rollouts;

	gmtime_r(&later, &tm);
	testenv_uniq(closed, sizeof(closed), "schw");
	testenv_uniq(p1, sizeof(p1), "schwt");
	/* a 30-minute window that opens three hours from now, every day */
	snprintf(sched, sizeof(sched),
		 "{\"maintenance_windows\":[{\"start_time\":\"cron(%d %d ? * * *)\","
		 "\"duration_in_minutes\":30}]}",
		 tm.tm_min, tm.tm_hour);
	create_job(closed, p1, 2, sched);
	testenv_uniq(open, sizeof(open), "scho");
	testenv_uniq(p2, sizeof(p2), "schot");
	/* a window opening every minute for 5 minutes: always open */
	create_job(open, p2, 2,
		   "{\"maintenance_windows\":[{\"start_time\":\"cron(* * ? * * *)\","
		   "\"duration_in_minutes\":5}]}");

	WAIT_SQL("QUEUED,QUEUED", 10, EXEC_STATUSES, open);
	ck_assert_str_eq(pgtest_sql(EXEC_STATUSES, closed), "");
	usleep(1100 * 1000);
	ck_assert_str_eq(pgtest_sql(EXEC_STATUSES, closed), "");
	ck_assert_str_eq(pgtest_sql(JOB_STATUS, closed), "IN_PROGRESS");

	/* DescribeJob (AWS) lists the coming window openings */
	if (aws_client_available()) {
		struct aws_sign_opts o = { .service = "iot" };
		struct http_resp r;
		char path[128];

		snprintf(path, sizeof(path), "/jobs/%s", closed);
		ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &o), 0);
		ck_assert_msg(r.status == 200, "DescribeJob: %ld %s", r.status, r.body);
		j = json_object_get(r.json, "job");
		rollouts = json_object_get(j, "scheduledJobRollouts");
		ck_assert_msg(json_is_array(rollouts) && json_array_size(rollouts) == 7,
			      "scheduledJobRollouts: %s", r.body);
		snprintf(path, sizeof(path), "%02d:%02d", tm.tm_hour, tm.tm_min);
		ck_assert_msg(strstr(testenv_jstr(json_array_get(rollouts, 0), "startTime"), path),
			      "first rollout %s", r.body);
		http_resp_cleanup(&r);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jobs_schedule");
	TCase *tc = tcase_create("schedule");

	testenv_require();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, future_start_then_cancel_at_end);
	tcase_add_test(tc, force_cancel_at_end);
	tcase_add_test(tc, stop_rollout_at_end);
	tcase_add_test(tc, maintenance_windows_gate_releases);
	suite_add_tcase(s, tc);
	return testenv_run_api_suite(s);
}
