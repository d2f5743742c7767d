/*
 * Jobs device plane over MQTT against the running stack (tests/harness/stack.sh): simulated
 * devices (client id = thing name) exercise spec sections 2.2-2.10: directed replies to clients
 * without a reply subscription, start-next, updates, notify / notify-next only on list changes,
 * every rejection code, duplicates, clientToken echo, empty payloads, expectedVersion as a
 * string. Jobs and executions are inserted in SQL as a released job would have them. It also
 * checks that the SQL rendering of notify / notify-next (db/job_events.c) equals the C
 * rendering (jobs/events.c), and TerminalStateReached through the engine in-process.
 * Needs BW_TEST_URL, BW_TEST_PG_DSN, BW_TEST_MQTT_HOST/PORT (exit 77 without them).
 */
#include <check.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mosquitto.h>

#include "../lib/http_client.h"
#include "../lib/mqtt_device.h"
#include "../lib/pgtest.h"
#include "../lib/testenv.h"
#include "db/db.h"
#include "db/job_events.h"
#include "db/job_executions.h"
#include "jobs/events.h"
#include "mqtt/jobs.h"

#define WAIT MQTT_DEVICE_WAIT_MS
#define QUIET_MS 400

static char topic_buf[8][320];
static int topic_next;

/* "$aws/things/<thing>/jobs/<suffix>" in a rotating static buffer. */
static const char *T(const char *thing, const char *suffix)
{
	char *out = topic_buf[topic_next++ % 8];

	snprintf(out, sizeof(topic_buf[0]), "$aws/things/%s/jobs/%s", thing, suffix);
	return out;
}

/* What the job's rollout does after creating executions: notify / notify-next for thing
 * (published before the test's device subscribes). */
static void announce(const char *thing)
{
	struct db *db = db_connect(testenv_get()->pg_dsn);
	char ids[64];

	ck_assert_ptr_nonnull(db);
	snprintf(ids, sizeof(ids), "{%s}",
		 pgtest_sql("SELECT id FROM things WHERE name = '%s'", thing));
	ck_assert_int_ge(db_job_events_emit(db, ids, 1), 0);
	db_close(db);
	/* let the outbox pump publish them before the device subscribes */
	for (int i = 0; i < 500; i++) {
		if (strcmp(pgtest_sql(
				   "SELECT count(*) FROM mqtt_outbox WHERE topic LIKE '$aws/things/%s/%%'",
				   thing),
			   "0") == 0)
			break;
		usleep(10000);
	}
}

/* A thing and a released job with a QUEUED execution on it, queued minutes_ago minutes ago. */
static void make_thing(char *thing, size_t size)
{
	testenv_uniq(thing, size, "jt");
	pgtest_sql("INSERT INTO things (name) VALUES ('%s')", thing);
}

static void make_job(char *job, size_t size, const char *thing, int minutes_ago,
		     const char *document)
{
	testenv_uniq(job, size, "job");
	/* one transaction: the scheduler completes a job it sees without targets */
	pgtest_sql(
		"BEGIN; INSERT INTO jobs (job_id, status, targets, document, request_sha256, created_by)"
		" VALUES ('%s', 'IN_PROGRESS', '[]', '%s', 'x', 'test');"
		" INSERT INTO job_targets (job_pk, thing_id, released_at) SELECT j.id, t.id, now()"
		" FROM jobs j, things t WHERE j.job_id = '%s' AND t.name = '%s';"
		" INSERT INTO job_executions (job_pk, thing_id, status, queued_at, last_updated_at)"
		" SELECT j.id, t.id, 'QUEUED', now() - interval '%d minutes', now() - interval '%d minutes'"
		" FROM jobs j, things t WHERE j.job_id = '%s' AND t.name = '%s'; COMMIT",
		job, document, job, thing, minutes_ago, minutes_ago, job, thing);
	announce(thing);
}

/* "$aws/things/<thing>/jobs/<job>/<suffix>" in the same rotating buffer. */
static const char *JT(const char *thing, const char *job, const char *suffix)
{
	char *out = topic_buf[topic_next++ % 8];

	snprintf(out, sizeof(topic_buf[0]), "$aws/things/%s/jobs/%s/%s", thing, job, suffix);
	return out;
}

static struct mqtt_device *device(const char *thing)
{
	const struct testenv *env = testenv_get();
	struct mqtt_device *d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);

	ck_assert_msg(d, "device %s could not connect", thing);
	return d;
}

static void pub(struct mqtt_device *d, const char *topic, const char *payload)
{
	int rc = mqtt_device_publish(d, topic, payload, strlen(payload));

	ck_assert_msg(rc == 0 || rc == 0x10, "publish to %s: PUBACK reason %d", topic, rc);
}

static json_t *take(struct mqtt_device *d, const char *topic)
{
	json_t *j = mqtt_device_take(d, topic, WAIT);

	ck_assert_msg(j, "no message on %s within %d ms", topic, WAIT);
	return j;
}

static void expect_nothing(struct mqtt_device *d, const char *topic)
{
	json_t *j = mqtt_device_take(d, topic, QUIET_MS);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	ck_assert_msg(!j, "unexpected message on %s: %s", topic, s ? s : "");
	free(s);
}

static const char *str(const json_t *o, const char *path1, const char *path2)
{
	const json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v) ? json_string_value(v) : "";
}

static json_int_t num(const json_t *o, const char *path1, const char *path2)
{
	const json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_integer_value(v);
}

/* A rejected reply on <topic>/rejected with code. */
static void expect_rejected(struct mqtt_device *d, const char *request_topic, const char *payload,
			    const char *code)
{
	char rej[400];
	json_t *j;

	snprintf(rej, sizeof(rej), "%s/rejected", request_topic);
	pub(d, request_topic, payload);
	j = take(d, rej);
	ck_assert_str_eq(str(j, "code", NULL), code);
	ck_assert(json_integer_value(json_object_get(j, "timestamp")) > 0);
	json_decref(j);
}

START_TEST(next_get_reaches_a_device_subscribed_only_to_notify_next)
{
	char thing[96], job[96];
	struct mqtt_device *d;
	json_t *j;

	make_thing(thing, sizeof(thing));
	make_job(job, sizeof(job), thing, 1, "{\"afr_ota\":{\"files\":[]}}");
	d = device(thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, T(thing, "notify-next")), 1);
	/* the FreeRTOS OTA agent's token with an empty counter (spec 2.3) */
	pub(d, T(thing, "$next/get"), "{\"clientToken\":\":myThing\"}");
	j = take(d, T(thing, "$next/get/accepted"));
	ck_assert_str_eq(str(j, "clientToken", NULL), ":myThing");
	ck_assert_str_eq(str(j, "execution", "jobId"), job);
	ck_assert_str_eq(str(j, "execution", "status"), "QUEUED");
	ck_assert(json_is_object(json_object_get(json_object_get(j, "execution"), "jobDocument")));
	ck_assert(json_is_object(json_object_get(
		json_object_get(json_object_get(j, "execution"), "jobDocument"), "afr_ota")));
	json_decref(j);
	ck_assert_uint_eq(mqtt_device_count(d, T(thing, "$next/get/accepted")), 0);
	mqtt_device_free(d);
}
END_TEST

START_TEST(start_next_update_and_events)
{
	char thing[96], job1[96], job2[96];
	struct mqtt_device *d;
	json_t *j;

	make_thing(thing, sizeof(thing));
	make_job(job1, sizeof(job1), thing, 5, "{\"op\":\"first\"}");
	make_job(job2, sizeof(job2), thing, 1, "{\"op\":\"second\"}");
	d = device(thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, T(thing, "notify")), 1);
	ck_assert_int_eq(mqtt_device_subscribe(d, T(thing, "notify-next")), 1);

	/* empty payload = {} (spec 2.3): both lists present */
	pub(d, T(thing, "get"), "");
	j = take(d, T(thing, "get/accepted"));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "queuedJobs")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "inProgressJobs")), 0);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "queuedJobs"), 0), "jobId", NULL),
			 job1);
	ck_assert_ptr_null(json_object_get(j, "clientToken"));
	json_decref(j);

	/* head QUEUED -> IN_PROGRESS: no notify, no notify-next (spec 2.6, quirk 12) */
	pub(d, T(thing, "start-next"),
	    "{\"clientToken\":\"sn-1\",\"statusDetails\":{\"step\":\"download\"},"
	    "\"stepTimeoutInMinutes\":30}");
	j = take(d, T(thing, "start-next/accepted"));
	ck_assert_str_eq(str(j, "clientToken", NULL), "sn-1");
	ck_assert_str_eq(str(j, "execution", "jobId"), job1);
	ck_assert_str_eq(str(j, "execution", "status"), "IN_PROGRESS");
	ck_assert_int_eq(num(j, "execution", "versionNumber"), 2);
	ck_assert_str_eq(str(json_object_get(j, "execution"), "statusDetails", "step"), "download");
	ck_assert(num(j, "execution", "startedAt") > 0);
	json_decref(j);
	ck_assert_str_eq(
		pgtest_sql("SELECT step_deadline IS NOT NULL FROM job_executions e JOIN jobs j"
			   " ON j.id = e.job_pk WHERE j.job_id = '%s'",
			   job1),
		"t");

	/* details-only update, expectedVersion as a string: no events */
	pub(d, JT(thing, job1, "update"),
	    "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"receive\":\"12/110\"},"
	    "\"expectedVersion\":\"2\",\"includeJobExecutionState\":true,\"clientToken\":\"u-1\"}");
	j = take(d, JT(thing, job1, "update/accepted"));
	ck_assert_str_eq(str(j, "clientToken", NULL), "u-1");
	ck_assert_str_eq(str(j, "executionState", "status"), "IN_PROGRESS");
	ck_assert_int_eq(num(j, "executionState", "versionNumber"), 3);
	ck_assert_ptr_null(json_object_get(j, "jobDocument"));
	json_decref(j);
	expect_nothing(d, T(thing, "notify"));
	expect_nothing(d, T(thing, "notify-next"));

	/* VersionMismatch carries executionState */
	pub(d, JT(thing, job1, "update"), "{\"status\":\"IN_PROGRESS\",\"expectedVersion\":9}");
	j = take(d, JT(thing, job1, "update/rejected"));
	ck_assert_str_eq(str(j, "code", NULL), "VersionMismatch");
	ck_assert_int_eq(num(j, "executionState", "versionNumber"), 3);
	json_decref(j);

	/* SUCCEEDED: the list changes (set and head): notify + notify-next with job2 */
	pub(d, JT(thing, job1, "update"),
	    "{\"status\":\"SUCCEEDED\",\"expectedVersion\":3,\"clientToken\":\"done\","
	    "\"includeJobDocument\":true}");
	j = take(d, JT(thing, job1, "update/accepted"));
	ck_assert_str_eq(str(j, "jobDocument", "op"), "first");
	ck_assert_ptr_null(json_object_get(j, "executionState"));
	json_decref(j);
	j = take(d, T(thing, "notify"));
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "jobs"), "QUEUED")),
			  1);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "jobs"), "IN_PROGRESS"));
	json_decref(j);
	j = take(d, T(thing, "notify-next"));
	ck_assert_str_eq(str(j, "execution", "jobId"), job2);
	ck_assert_str_eq(str(json_object_get(j, "execution"), "jobDocument", "op"), "second");
	json_decref(j);

	/* a duplicate of the applied update gets the same accepted answer, no change */
	pub(d, JT(thing, job1, "update"),
	    "{\"status\":\"SUCCEEDED\",\"expectedVersion\":3,\"clientToken\":\"done\"}");
	j = take(d, JT(thing, job1, "update/accepted"));
	ck_assert_str_eq(str(j, "clientToken", NULL), "done");
	json_decref(j);
	ck_assert_str_eq(pgtest_sql("SELECT version_number FROM job_executions e JOIN jobs j"
				    " ON j.id = e.job_pk WHERE j.job_id = '%s'",
				    job1),
			 "4");
	/* terminal states never change */
	pub(d, JT(thing, job1, "update"), "{\"status\":\"IN_PROGRESS\"}");
	j = take(d, JT(thing, job1, "update/rejected"));
	ck_assert_str_eq(str(j, "code", NULL), "InvalidStateTransition");
	ck_assert_str_eq(str(j, "executionState", "status"), "SUCCEEDED");
	json_decref(j);

	/* job2 fails from QUEUED: the list becomes empty */
	pub(d, JT(thing, job2, "update"), "{\"status\":\"REJECTED\"}");
	json_decref(take(d, JT(thing, job2, "update/accepted")));
	j = take(d, T(thing, "notify"));
	ck_assert_uint_eq(json_object_size(json_object_get(j, "jobs")), 0);
	json_decref(j);
	j = take(d, T(thing, "notify-next"));
	ck_assert_ptr_null(json_object_get(j, "execution"));
	ck_assert(num(j, "timestamp", NULL) > 0);
	json_decref(j);
	/* nothing pending: $next answers without execution, start-next too */
	pub(d, T(thing, "$next/get"), "{\"clientToken\":\"n\"}");
	j = take(d, T(thing, "$next/get/accepted"));
	ck_assert_ptr_null(json_object_get(j, "execution"));
	ck_assert_str_eq(str(j, "clientToken", NULL), "n");
	json_decref(j);
	mqtt_device_free(d);

	/* the updates above are in the latency histogram (receipt to reply, queue wait included) */
	struct http_resp r;
	ck_assert_int_eq(http_call(&r, "GET", NULL, NULL, "/metrics"), 0);
	ck_assert_int_eq(r.status, 200);
	const char *c = strstr(r.body, "\nbw_jobs_update_duration_seconds_count{op=\"update\"} ");
	ck_assert_msg(c && strtod(strchr(c + 1, ' ') + 1, NULL) >= 2,
		      "no bw_jobs_update_duration_seconds_count for updates");
	c = strstr(r.body, "\nbw_jobs_update_duration_seconds_count{op=\"start_next\"} ");
	ck_assert_msg(c != NULL, "no bw_jobs_update_duration_seconds_count for start-next");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(every_rejection_code)
{
	char thing[96], job[96], t[320];
	struct mqtt_device *d;

	make_thing(thing, sizeof(thing));
	make_job(job, sizeof(job), thing, 1, "{\"op\":\"x\"}");
	d = device(thing);
	expect_rejected(d, JT(thing, job, "update"), "{", "InvalidJson");
	expect_rejected(d, JT(thing, job, "update"), "[1]", "InvalidJson");
	expect_rejected(d, JT(thing, job, "update"), "", "InvalidRequest");
	expect_rejected(d, JT(thing, job, "update"), "{\"status\":\"CANCELED\"}", "InvalidRequest");
	expect_rejected(d, JT(thing, job, "update"),
			"{\"status\":\"IN_PROGRESS\",\"expectedVersion\":\"x\"}", "InvalidRequest");
	expect_rejected(d, T(thing, "start-next"), "{\"stepTimeoutInMinutes\":0}",
			"InvalidRequest");
	expect_rejected(d, JT(thing, "no-such-job", "update"), "{\"status\":\"IN_PROGRESS\"}",
			"ResourceNotFound");
	expect_rejected(d, JT(thing, "no-such-job", "get"), "", "ResourceNotFound");
	expect_rejected(d, JT(thing, job, "get"), "{\"executionNumber\":7}", "ResourceNotFound");
	expect_rejected(d, JT(thing, job, "update"), "{\"status\":\"QUEUED\"}",
			"InvalidStateTransition");
	snprintf(t, sizeof(t), "%s", T(thing, "a/b/c"));
	expect_rejected(d, t, "{\"clientToken\":\"tt\"}", "InvalidTopic");
	/* the rejected payload echoes a token even when the request is invalid */
	pub(d, JT(thing, job, "update"), "{\"clientToken\":\"c1\",\"status\":5}");
	json_t *j = take(d, JT(thing, job, "update/rejected"));
	ck_assert_str_eq(str(j, "clientToken", NULL), "c1");
	json_decref(j);
	mqtt_device_free(d);
}
END_TEST

START_TEST(force_canceled_execution_rejects_updates)
{
	char thing[96], job[96];
	struct mqtt_device *d;

	make_thing(thing, sizeof(thing));
	make_job(job, sizeof(job), thing, 1, "{\"op\":\"x\"}");
	d = device(thing);
	pub(d, T(thing, "start-next"), "");
	json_decref(take(d, T(thing, "start-next/accepted")));
	pgtest_sql(
		"UPDATE job_executions SET status = 'CANCELED', force_canceled = true,"
		" version_number = version_number + 1 WHERE job_pk = (SELECT id FROM jobs WHERE job_id = '%s')",
		job);
	pgtest_sql("UPDATE jobs SET status = 'CANCELED', force_canceled = true WHERE job_id = '%s'",
		   job);
	expect_rejected(d, JT(thing, job, "update"), "{\"status\":\"SUCCEEDED\"}",
			"InvalidStateTransition");
	mqtt_device_free(d);
}
END_TEST

START_TEST(unknown_thing_gets_empty_answers)
{
	char thing[96];
	struct mqtt_device *d;
	json_t *j;

	testenv_uniq(thing, sizeof(thing), "ghost");
	d = device(thing);
	pub(d, T(thing, "get"), "{}");
	j = take(d, T(thing, "get/accepted"));
	ck_assert(json_is_array(json_object_get(j, "queuedJobs")));
	json_decref(j);
	pub(d, T(thing, "start-next"), "{}");
	j = take(d, T(thing, "start-next/accepted"));
	ck_assert_ptr_null(json_object_get(j, "execution"));
	json_decref(j);
	expect_rejected(d, JT(thing, "j", "update"), "{\"status\":\"SUCCEEDED\"}",
			"ResourceNotFound");
	mqtt_device_free(d);
}
END_TEST

/* The notify / notify-next payloads rendered by SQL equal those of jobs/events.c. */
START_TEST(sql_event_payloads_match_the_c_renderer)
{
	char thing[96], job1[96], job2[96], job3[96], ids[64];
	struct db_job_snapshot snap;
	struct db_rows *rows = NULL;
	const struct jobs_execution *items[8];
	struct db *db;
	const char *names[1];
	size_t k = 0, n;
	json_t *c_notify, *c_next, *s_notify = NULL, *s_next = NULL, *doc;

	make_thing(thing, sizeof(thing));
	make_job(job1, sizeof(job1), thing, 9, "{\"a\":{\"b\":[1,2.5,null,\"x\"]}}");
	make_job(job2, sizeof(job2), thing, 5, "{\"c\":true}");
	make_job(job3, sizeof(job3), thing, 2, "{}");
	pgtest_sql("UPDATE job_executions SET status = 'IN_PROGRESS', started_at = now(),"
		   " status_details = '{\"k\":\"v\"}', version_number = 3"
		   " WHERE job_pk = (SELECT id FROM jobs WHERE job_id = '%s')",
		   job2);
	snprintf(ids, sizeof(ids), "{%s}",
		 pgtest_sql("SELECT id FROM things WHERE name = '%s'", thing));
	db = db_connect(testenv_get()->pg_dsn);
	ck_assert_ptr_nonnull(db);
	ck_assert_int_ge(db_exec(db, "BEGIN", 0, NULL, NULL), 0);
	/* forget what was announced, so both events are due */
	ck_assert_int_ge(db_exec(db,
				 "DELETE FROM job_thing_events WHERE thing_id = ANY($1::bigint[])",
				 1, (const char *[]){ ids }, NULL),
			 0);
	ck_assert_int_eq(db_job_events_emit(db, ids, 1234), 2);
	ck_assert_int_ge(db_exec(db,
				 "SELECT convert_from(payload, 'UTF8') FROM mqtt_outbox"
				 " WHERE topic LIKE '%' || $1 || '/jobs/notify%' ORDER BY id",
				 1, (const char *[]){ thing }, &rows),
			 0);
	ck_assert_int_eq(rows->nrows, 2);
	s_notify = json_loads(db_rows_get(rows, 0, 0), 0, NULL);
	s_next = json_loads(db_rows_get(rows, 1, 0), 0, NULL);
	db_rows_free(rows);
	names[0] = thing;
	ck_assert_int_eq(db_job_executions_load(db, names, 1, NULL, 0, true, &snap), DB_ONE);
	for (size_t i = 0; i < snap.nexecs; i++)
		items[k++] = &snap.execs[i].e;
	n = jobs_events_pending_list(items, k, JOBS_EVENTS_PENDING_LIMIT);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(items[0]->job_id, job2);
	c_notify = jobs_events_notify(items, n, 1234000);
	doc = json_loads(((const struct db_job_exec *)((const char *)items[0] -
						       offsetof(struct db_job_exec, e)))
				 ->document,
			 0, NULL);
	c_next = jobs_events_notify_next(items[0], doc, 1234000);
	ck_assert_msg(json_equal(c_notify, s_notify), "notify differs: %s vs %s",
		      json_dumps(c_notify, 0), json_dumps(s_notify, 0));
	ck_assert_msg(json_equal(c_next, s_next), "notify-next differs: %s vs %s",
		      json_dumps(c_next, 0), json_dumps(s_next, 0));
	/* and the empty list */
	json_decref(c_notify);
	json_decref(c_next);
	c_notify = jobs_events_notify(NULL, 0, 1234000);
	c_next = jobs_events_notify_next(NULL, NULL, 1234000);
	ck_assert_int_ge(db_exec(db,
				 "UPDATE jobs SET status = 'DELETION_IN_PROGRESS' WHERE job_id"
				 " IN ($1, $2, $3)",
				 3, (const char *[]){ job1, job2, job3 }, NULL),
			 0);
	ck_assert_int_eq(db_job_events_emit(db, ids, 1234), 2);
	ck_assert_int_ge(db_exec(db,
				 "SELECT convert_from(payload, 'UTF8') FROM mqtt_outbox"
				 " WHERE topic LIKE '%' || $1 || '/jobs/notify%' ORDER BY id",
				 1, (const char *[]){ thing }, &rows),
			 0);
	ck_assert_int_eq(rows->nrows, 4);
	json_decref(s_notify);
	json_decref(s_next);
	s_notify = json_loads(db_rows_get(rows, 2, 0), 0, NULL);
	s_next = json_loads(db_rows_get(rows, 3, 0), 0, NULL);
	db_rows_free(rows);
	ck_assert(json_equal(c_notify, s_notify));
	ck_assert(json_equal(c_next, s_next));
	db_exec(db, "ROLLBACK", 0, NULL, NULL);
	db_close(db);
	db_job_snapshot_cleanup(&snap);
	json_decref(doc);
	json_decref(c_notify);
	json_decref(c_next);
	json_decref(s_notify);
	json_decref(s_next);
}
END_TEST

/* TerminalStateReached is off by default (spec 2.7); with the option on, describing a terminal
 * execution answers it. Runs the engine in-process. */
/* The batch write is one all-or-nothing statement (it runs outside a transaction for progress
 * reports): when one row's version moved after the load, nothing is written, neither the other
 * row nor any history, and the caller is told to load again. */
START_TEST(batch_write_is_all_or_nothing_when_a_version_moved)
{
	char a[96], b[96], job_a[64], job_b[64];
	const char *names[2] = { a, b };
	struct db_job_snapshot snap;
	struct db *db;

	make_thing(a, sizeof(a));
	make_thing(b, sizeof(b));
	make_job(job_a, sizeof(job_a), a, 0, "{}");
	make_job(job_b, sizeof(job_b), b, 0, "{}");
	db = db_connect(testenv_get()->pg_dsn);
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_job_executions_load(db, names, 2, NULL, 0, false, &snap), DB_ONE);
	ck_assert_uint_eq(snap.nexecs, 2);
	for (size_t i = 0; i < 2; i++) {
		snap.execs[i].e.status = JOBS_EXEC_IN_PROGRESS;
		snap.execs[i].e.version_number++;
		snap.execs[i].is_dirty = true;
		ck_assert(db_job_snapshot_add_transition(&snap, i, JOBS_EXEC_QUEUED));
	}
	/* someone else (the scheduler, an operator) changes b's execution meanwhile */
	pgtest_sql("UPDATE job_executions e SET version_number = version_number + 1 FROM things t"
		   " WHERE t.id = e.thing_id AND t.name = '%s'",
		   b);
	ck_assert_int_eq(db_job_executions_write(db, &snap, "test"), DB_RETRY);
	ck_assert_str_eq(
		pgtest_sql("SELECT e.status || e.version_number FROM job_executions e, things t"
			   " WHERE t.id = e.thing_id AND t.name = '%s'",
			   a),
		"QUEUED1");
	ck_assert_str_eq(pgtest_sql("SELECT count(*) FROM job_execution_history h, things t"
				    " WHERE t.id = h.thing_id AND t.name IN ('%s', '%s')",
				    a, b),
			 "0");
	db_job_snapshot_cleanup(&snap);
	/* loaded again, the same change goes through */
	ck_assert_int_eq(db_job_executions_load(db, names, 2, NULL, 0, false, &snap), DB_ONE);
	for (size_t i = 0; i < 2; i++) {
		snap.execs[i].e.status = JOBS_EXEC_IN_PROGRESS;
		snap.execs[i].e.version_number++;
		snap.execs[i].is_dirty = true;
		ck_assert(db_job_snapshot_add_transition(&snap, i, JOBS_EXEC_QUEUED));
	}
	ck_assert_int_eq(db_job_executions_write(db, &snap, "test"), DB_ONE);
	ck_assert_str_eq(
		pgtest_sql("SELECT e.status || e.version_number FROM job_executions e, things t"
			   " WHERE t.id = e.thing_id AND t.name = '%s'",
			   a),
		"IN_PROGRESS2");
	ck_assert_str_eq(pgtest_sql("SELECT count(*) FROM job_execution_history h, things t"
				    " WHERE t.id = h.thing_id AND t.name IN ('%s', '%s')",
				    a, b),
			 "2");
	db_job_snapshot_cleanup(&snap);
	db_close(db);
}
END_TEST

START_TEST(terminal_state_reached_when_enabled)
{
	char thing[96], job[60];
	struct mqtt_jobs_options opts = { .is_terminal_describe_rejected = true };
	struct mqtt_jobs_request r;

	make_thing(thing, sizeof(thing));
	make_job(job, sizeof(job), thing, 1, "{}");
	pgtest_sql("UPDATE job_executions SET status = 'SUCCEEDED' WHERE job_pk ="
		   " (SELECT id FROM jobs WHERE job_id = '%s')",
		   job);
	ck_assert(db_pool_init(testenv_get()->pg_dsn, 2, 2000, 3));
	mqtt_jobs_configure(&opts);
	mqtt_jobs_request_init(&r);
	r.plane = JOBS_PLANE_MQTT;
	r.topic.kind = JOBS_TOPICS_DESCRIBE;
	snprintf(r.topic.thing, sizeof(r.topic.thing), "%s", thing);
	snprintf(r.topic.job_id, sizeof(r.topic.job_id), "%s", job);
	r.payload = "{\"clientToken\":\"x\"}";
	r.payload_len = strlen(r.payload);
	mqtt_jobs_run(&r, 1);
	ck_assert_int_eq(r.err, JOBS_ERR_TERMINAL_STATE);
	ck_assert_str_eq(str(r.reply, "code", NULL), "TerminalStateReached");
	ck_assert_str_eq(str(r.reply, "clientToken", NULL), "x");
	mqtt_jobs_request_cleanup(&r);
	opts.is_terminal_describe_rejected = false;
	mqtt_jobs_configure(&opts);
	mqtt_jobs_request_init(&r);
	r.plane = JOBS_PLANE_MQTT;
	r.topic.kind = JOBS_TOPICS_DESCRIBE;
	snprintf(r.topic.thing, sizeof(r.topic.thing), "%s", thing);
	snprintf(r.topic.job_id, sizeof(r.topic.job_id), "%s", job);
	mqtt_jobs_run(&r, 1);
	ck_assert_int_eq(r.err, JOBS_OK);
	ck_assert_str_eq(str(r.reply, "execution", "status"), "SUCCEEDED");
	mqtt_jobs_request_cleanup(&r);
	db_pool_shutdown();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_mqtt");
	TCase *tc = tcase_create("mqtt");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, next_get_reaches_a_device_subscribed_only_to_notify_next);
	tcase_add_test(tc, start_next_update_and_events);
	tcase_add_test(tc, every_rejection_code);
	tcase_add_test(tc, force_canceled_execution_rejects_updates);
	tcase_add_test(tc, unknown_thing_gets_empty_answers);
	tcase_add_test(tc, sql_event_payloads_match_the_c_renderer);
	tcase_add_test(tc, terminal_state_reached_when_enabled);
	tcase_add_test(tc, batch_write_is_all_or_nothing_when_a_version_moved);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	testenv_require();
	if (!testenv_get()->mqtt_host || !testenv_get()->mqtt_port || !testenv_get()->pg_dsn) {
		fprintf(stderr, "skipped: BW_TEST_MQTT_HOST/PORT or BW_TEST_PG_DSN not set\n");
		return TESTENV_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	rc = testenv_run_api_suite(suite());
	mosquitto_lib_cleanup();
	return rc;
}
