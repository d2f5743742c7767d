/*
 * Jobs fan-out (docs/JOBS.md "Fan-out") against a running stack (tests/harness/stack.sh): a job
 * created for a few thousand things announces itself through one fan-out outbox row for the
 * things whose only pending job it is, and through the general per-thing statements for the
 * others (things with another pending job). A subscriber with the server's account counts every
 * notify / notify-next per thing (exactly once each, notify first), sample devices compare their
 * payloads with the pure C rendering (jobs/events.c), and the outbox must drain. Two more cases
 * drive the pump directly with hand-written fan-out rows: resuming after recorded progress
 * (with a gap in the set and deleted things), and a malformed row that must not block the queue.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mosquitto.h>

#include "../lib/http_client.h"
#include "../lib/mqtt_device.h"
#include "../lib/testenv.h"
#include "jobs/events.h"

#define N_THINGS 3000
#define WAIT_S 60.0

static char cell[4096];

/* Run one SQL statement (printf-style); returns the first cell or "". */
static const char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sql(const char *fmt, ...)
{
	char q[8192];
	va_list ap;
	PGconn *c = PQconnectdb(testenv_get()->pg_dsn);
	PGresult *r;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "pg: %s", PQerrorMessage(c));
	r = PQexec(c, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", q, PQerrorMessage(c));
	cell[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		snprintf(cell, sizeof(cell), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return cell;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll a query until its first cell equals want (bounded by timeout_s). */
#define WAIT_SQL(want, timeout_s, ...) wait_sql(__LINE__, want, timeout_s, __VA_ARGS__)
static void wait_sql(int line, const char *want, double timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void wait_sql(int line, const char *want, double timeout_s, const char *fmt, ...)
{
	char q[8192];
	va_list ap;
	double end = now_s() + timeout_s;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	for (;;) {
		if (strcmp(sql("%s", q), want) == 0)
			return;
		if (now_s() > end)
			break;
		usleep(50 * 1000);
	}
	ck_abort_msg("line %d: %s gave '%s', want '%s' within %.1fs", line, q, cell, want,
		     timeout_s);
}

static void post_job(const char *path, const char *body_fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void post_job(const char *path, const char *body_fmt, ...)
{
	char body[4096];
	struct http_resp r;
	va_list ap;

	va_start(ap, body_fmt);
	vsnprintf(body, sizeof(body), body_fmt, ap);
	va_end(ap);
	ck_assert_int_eq(http_call(&r, "POST", testenv_get()->admin_token, body, "%s", path), 0);
	ck_assert_msg(r.status == 201 || r.status == 200, "%s: %ld %s", path, r.status, r.body);
	http_resp_cleanup(&r);
}

/* The value of an unlabelled counter on GET /metrics (0 when absent). */
static double metric(const char *name)
{
	struct http_resp r;
	double v = 0;
	size_t nl = strlen(name);

	ck_assert_int_eq(http_call(&r, "GET", NULL, NULL, "/metrics"), 0);
	ck_assert_int_eq(r.status, 200);
	for (const char *p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ')
			v = strtod(p + nl + 1, NULL);
	}
	http_resp_cleanup(&r);
	return v;
}

/* ---- a subscriber with the server's account counting events per thing ---- */

#define MAX_COUNTED 4096

struct counter {
	pthread_mutex_t lock;
	char prefix[128]; /* "$aws/things/<tag>-" */
	int notify[MAX_COUNTED + 1];
	int next[MAX_COUNTED + 1];
	int next_before_notify; /* notify-next that arrived before the thing's notify */
	long total;
	char payload_want[64]; /* when set, count only messages with exactly this payload */
	int subscribed;	       /* 0 waiting, 1 granted, -1 refused */
};

static struct counter counter = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
	static char *const filters[] = { "$aws/things/+/jobs/notify",
					 "$aws/things/+/jobs/notify-next" };
	(void)arg;
	if (rc == 0)
		mosquitto_subscribe_multiple(m, NULL, 2, filters, 1, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	(void)m;
	(void)arg;
	(void)mid;
	pthread_mutex_lock(&counter.lock);
	counter.subscribed = n == 2 && qos[0] <= 1 && qos[1] <= 1 ? 1 : -1;
	pthread_mutex_unlock(&counter.lock);
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	size_t pl = strlen(counter.prefix);
	char *end = NULL;
	long i;

	(void)m;
	(void)arg;
	pthread_mutex_lock(&counter.lock);
	if (strncmp(msg->topic, counter.prefix, pl) != 0)
		goto out;
	i = strtol(msg->topic + pl, &end, 10);
	if (i < 1 || i > MAX_COUNTED || !end)
		goto out;
	if (counter.payload_want[0] &&
	    ((size_t)msg->payloadlen != strlen(counter.payload_want) ||
	     memcmp(msg->payload, counter.payload_want, (size_t)msg->payloadlen) != 0))
		goto out;
	if (strcmp(end, "/jobs/notify") == 0) {
		counter.notify[i]++;
	} else if (strcmp(end, "/jobs/notify-next") == 0) {
		if (counter.notify[i] == 0)
			counter.next_before_notify++;
		counter.next[i]++;
	} else {
		goto out;
	}
	counter.total++;
out:
	pthread_mutex_unlock(&counter.lock);
}

static struct mosquitto *counter_start(const char *prefix, const char *payload_want)
{
	const struct testenv *env = testenv_get();
	struct mosquitto *m;

	pthread_mutex_lock(&counter.lock);
	memset(counter.notify, 0, sizeof(counter.notify));
	memset(counter.next, 0, sizeof(counter.next));
	counter.next_before_notify = 0;
	counter.total = 0;
	counter.subscribed = 0;
	snprintf(counter.prefix, sizeof(counter.prefix), "$aws/things/%s-", prefix);
	snprintf(counter.payload_want, sizeof(counter.payload_want), "%s",
		 payload_want ? payload_want : "");
	pthread_mutex_unlock(&counter.lock);
	m = mosquitto_new(NULL, true, NULL);
	ck_assert_ptr_nonnull(m);
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
	mosquitto_username_pw_set(m, getenv("BW_TEST_MQTT_SERVER_USER"),
				  getenv("BW_TEST_MQTT_SERVER_PASSWORD"));
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	ck_assert_int_eq(mosquitto_connect(m, env->mqtt_host, env->mqtt_port, 60),
			 MOSQ_ERR_SUCCESS);
	ck_assert_int_eq(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&counter.lock);
		int s = counter.subscribed;
		pthread_mutex_unlock(&counter.lock);
		if (s != 0)
			break;
		usleep(10000);
	}
	ck_assert_int_eq(counter.subscribed, 1);
	return m;
}

static void counter_stop(struct mosquitto *m)
{
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
}

/* Wait until the counter saw want messages; then a little longer, so duplicates show. */
static void counter_wait(long want)
{
	double end = now_s() + WAIT_S;
	long got = 0;

	while (now_s() < end) {
		pthread_mutex_lock(&counter.lock);
		got = counter.total;
		pthread_mutex_unlock(&counter.lock);
		if (got >= want)
			break;
		usleep(20000);
	}
	ck_assert_msg(got >= want, "only %ld of %ld events arrived", got, want);
	usleep(500 * 1000);
}

/* ---- expected payloads from the pure rendering ---- */

/* The pending executions of thing as the devices see them, rendered by jobs/events.c with
 * timestamp ts_s: [out] notify, next (new references). */
static void expected_events(const char *thing, int64_t ts_s, json_t **notify, json_t **next)
{
	char q[1024];
	PGconn *c = PQconnectdb(testenv_get()->pg_dsn);
	struct jobs_execution ex[16];
	const struct jobs_execution *items[16];
	json_t *doc = NULL;
	PGresult *r;
	size_t n;
	int rows;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "pg: %s", PQerrorMessage(c));
	snprintf(q, sizeof(q),
		 "SELECT j.job_id, e.status, floor(extract(epoch FROM e.queued_at) * 1000),"
		 " coalesce(floor(extract(epoch FROM e.started_at) * 1000), 0),"
		 " floor(extract(epoch FROM e.last_updated_at) * 1000), e.version_number,"
		 " e.execution_number, e.job_pk, j.document FROM job_executions e JOIN jobs j ON"
		 " j.id = e.job_pk JOIN things t ON t.id = e.thing_id WHERE t.name = '%s' AND"
		 " e.status IN ('QUEUED', 'IN_PROGRESS') AND j.status = 'IN_PROGRESS'",
		 thing);
	r = PQexec(c, q);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	rows = PQntuples(r);
	ck_assert_int_le(rows, 16);
	for (int i = 0; i < rows; i++) {
		jobs_execution_init(&ex[i]);
		snprintf(ex[i].job_id, sizeof(ex[i].job_id), "%s", PQgetvalue(r, i, 0));
		snprintf(ex[i].thing_name, sizeof(ex[i].thing_name), "%s", thing);
		ck_assert(jobs_exec_status_parse(PQgetvalue(r, i, 1), &ex[i].status));
		ex[i].queued_at_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		ex[i].started_at_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		ex[i].last_updated_at_ms = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		ex[i].version_number = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		ex[i].execution_number = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		ex[i].seq = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		items[i] = &ex[i];
	}
	n = jobs_events_pending_list(items, (size_t)rows, JOBS_EVENTS_PENDING_LIMIT);
	ck_assert_uint_ge(n, 1);
	for (int i = 0; i < rows; i++) {
		if (&ex[i] == items[0])
			doc = json_loads(PQgetvalue(r, i, 8), 0, NULL);
	}
	ck_assert_ptr_nonnull(doc);
	*notify = jobs_events_notify(items, n, ts_s * 1000);
	*next = jobs_events_notify_next(items[0], doc, ts_s * 1000);
	json_decref(doc);
	for (int i = 0; i < rows; i++)
		jobs_execution_cleanup(&ex[i]);
	PQclear(r);
	PQfinish(c);
}

/* One device of the sample: subscribed to its notify and notify-next. */
static struct mqtt_device *sample_device(const char *thing)
{
	const struct testenv *env = testenv_get();
	struct mqtt_device *d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	char topic[256];

	ck_assert_ptr_nonnull(d);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify", thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, topic), 1);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify-next", thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, topic), 1);
	return d;
}

/* Thing i (1-based) of the test's fleet: i % 10 == 0 already has a pending job (general
 * statements), i % 10 == 5 had a job that was canceled (announcement row back to empty: fast
 * part, updating the row), the others never had a job (fast part, inserting the row). */
static bool has_other_job(int i)
{
	return i % 10 == 0;
}

START_TEST(fanout_announces_every_thing_exactly_once)
{
	char tag[64], job[96], old[96], gone[96], thing[128];
	const int sample[] = { 1, 2, 5, 10, 15, 20, 2999, 3000 };
	const size_t nsample = sizeof(sample) / sizeof(sample[0]);
	struct mqtt_device *dev[sizeof(sample) / sizeof(sample[0])];
	int n_other = 0;

	testenv_uniq(tag, sizeof(tag), "fan");
	snprintf(job, sizeof(job), "%s-new", tag);
	snprintf(old, sizeof(old), "%s-old", tag);
	snprintf(gone, sizeof(gone), "%s-gone", tag);
	for (int i = 1; i <= N_THINGS; i++)
		n_other += has_other_job(i);
	sql("INSERT INTO things (name) SELECT '%s-' || i FROM generate_series(1, %d) i", tag,
	    N_THINGS);
	sql("INSERT INTO thing_groups (name, type) VALUES ('%s-all', 'static'), ('%s-old',"
	    " 'static'), ('%s-gone', 'static')",
	    tag, tag, tag);
	sql("INSERT INTO thing_group_members (group_id, thing_id) SELECT g.id, t.id FROM"
	    " thing_groups g, things t WHERE t.name LIKE '%s-%%' AND ((g.name = '%s-all')"
	    " OR (g.name = '%s-old' AND substring(t.name FROM '[0-9]+$')::int %% 10 = 0)"
	    " OR (g.name = '%s-gone' AND substring(t.name FROM '[0-9]+$')::int %% 10 = 5))",
	    tag, tag, tag, tag);
	/* the job every tenth thing already has, and one canceled again */
	post_job("/api/v1/jobs",
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s-old\"}],"
		 "\"document\":{\"step\":\"old\"}}",
		 old, tag);
	post_job("/api/v1/jobs",
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s-gone\"}],"
		 "\"document\":{\"step\":\"gone\"}}",
		 gone, tag);
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/jobs/%s/cancel", gone);
	post_job(path, "{}");
	WAIT_SQL("0", WAIT_S, "SELECT count(*) FROM mqtt_outbox");
	ck_assert_str_eq(sql("SELECT count(*) FROM job_thing_events ev JOIN things t ON t.id ="
			     " ev.thing_id WHERE t.name LIKE '%s-%%' AND ev.pending_set = ''",
			     tag),
			 "300");

	struct mosquitto *m = counter_start(tag, NULL);
	for (size_t k = 0; k < nsample; k++) {
		snprintf(thing, sizeof(thing), "%s-%d", tag, sample[k]);
		dev[k] = sample_device(thing);
	}
	double fanned = metric("bw_jobs_events_fanout_things_total");
	time_t before = time(NULL);
	post_job("/api/v1/jobs",
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s-all\"}],"
		 "\"document\":{\"step\":\"new\",\"n\":[1,2.5,null,\"x\"]}}",
		 job, tag);
	time_t after = time(NULL);
	/* every thing without another job went through the fan-out row */
	ck_assert_double_eq(metric("bw_jobs_events_fanout_things_total") - fanned,
			    (double)(N_THINGS - n_other));
	counter_wait(2L * N_THINGS - n_other);

	/* exactly one notify per thing, one notify-next where the head changed, notify first */
	pthread_mutex_lock(&counter.lock);
	for (int i = 1; i <= N_THINGS; i++) {
		ck_assert_msg(counter.notify[i] == 1, "thing %d: %d notify", i, counter.notify[i]);
		ck_assert_msg(counter.next[i] == (has_other_job(i) ? 0 : 1),
			      "thing %d: %d notify-next", i, counter.next[i]);
	}
	ck_assert_int_eq(counter.next_before_notify, 0);
	ck_assert_int_eq(counter.total, 2L * N_THINGS - n_other);
	pthread_mutex_unlock(&counter.lock);
	counter_stop(m);

	/* the payloads, as jobs/events.c renders them */
	for (size_t k = 0; k < nsample; k++) {
		char topic[256];
		json_t *notify, *next, *want_notify, *want_next;

		snprintf(thing, sizeof(thing), "%s-%d", tag, sample[k]);
		snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify", thing);
		notify = mqtt_device_take(dev[k], topic, 5000);
		ck_assert_msg(notify != NULL, "%s: no notify", thing);
		json_int_t ts = json_integer_value(json_object_get(notify, "timestamp"));
		ck_assert_int_ge(ts, (json_int_t)before);
		ck_assert_int_le(ts, (json_int_t)after);
		expected_events(thing, (int64_t)ts, &want_notify, &want_next);
		ck_assert_msg(json_equal(notify, want_notify), "%s: notify %s, want %s", thing,
			      json_dumps(notify, JSON_COMPACT),
			      json_dumps(want_notify, JSON_COMPACT));
		snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify-next", thing);
		next = mqtt_device_take(dev[k], topic, has_other_job(sample[k]) ? 300 : 5000);
		if (has_other_job(sample[k])) {
			ck_assert_msg(next == NULL, "%s: unexpected notify-next", thing);
		} else {
			ck_assert_msg(next != NULL, "%s: no notify-next", thing);
			ck_assert_msg(json_equal(next, want_next), "%s: notify-next %s, want %s",
				      thing, json_dumps(next, JSON_COMPACT),
				      json_dumps(want_next, JSON_COMPACT));
		}
		ck_assert_uint_eq(mqtt_device_count(dev[k], topic), 0);
		json_decref(notify);
		json_decref(next);
		json_decref(want_notify);
		json_decref(want_next);
		mqtt_device_free(dev[k]);
	}

	/* what was announced is remembered, and the outbox is drained */
	ck_assert_str_eq(sql("SELECT count(*) FROM job_thing_events ev JOIN things t ON t.id ="
			     " ev.thing_id WHERE t.name LIKE '%s-%%' AND ev.pending_set = '%s:1'"
			     " AND ev.head = '%s:1'",
			     tag, job, job),
			 "2700");
	ck_assert_str_eq(sql("SELECT count(*) FROM job_thing_events ev JOIN things t ON t.id ="
			     " ev.thing_id WHERE t.name LIKE '%s-%%' AND ev.pending_set ="
			     " '%s:1,%s:1' AND ev.head = '%s:1'",
			     tag, job, old, old),
			 "300");
	WAIT_SQL("0", WAIT_S, "SELECT count(*) FROM mqtt_outbox");
}
END_TEST

/* Insert a fan-out row over things <tag>-1..50 in one transaction: the set leaves out 20..29,
 * progress says 1..5 are done, and 10..14 are deleted before the commit. */
START_TEST(pump_resumes_a_fanout_row_and_skips_gaps)
{
	char tag[64];
	const char *payload = "{\"resume\":true}";

	testenv_uniq(tag, sizeof(tag), "fanr");
	sql("INSERT INTO things (name) SELECT '%s-' || i FROM generate_series(1, 50) i", tag);
	struct mosquitto *m = counter_start(tag, payload);
	sql("BEGIN;"
	    " INSERT INTO mqtt_outbox (topic, payload, fanout_things, fanout_messages,"
	    " fanout_done) SELECT 'test', '', range_agg(int8range(id, id, '[]')),"
	    " jsonb_build_array(jsonb_build_object('topic_prefix', '$aws/things/',"
	    " 'topic_suffix', '/jobs/notify', 'presign', false, 'payload', '%s')),"
	    " (SELECT id FROM things WHERE name = '%s-5') FROM things WHERE name LIKE '%s-%%'"
	    " AND substring(name FROM '[0-9]+$')::int NOT BETWEEN 20 AND 29;"
	    " DELETE FROM things WHERE name LIKE '%s-%%' AND substring(name FROM '[0-9]+$')::int"
	    " BETWEEN 10 AND 14;"
	    " COMMIT",
	    payload, tag, tag, tag);
	counter_wait(30);
	pthread_mutex_lock(&counter.lock);
	for (int i = 1; i <= 50; i++) {
		bool want = i > 5 && (i < 10 || i > 14) && (i < 20 || i > 29);
		ck_assert_msg(counter.notify[i] == (want ? 1 : 0), "thing %d: %d messages", i,
			      counter.notify[i]);
	}
	ck_assert_int_eq(counter.total, 30);
	pthread_mutex_unlock(&counter.lock);
	counter_stop(m);
	WAIT_SQL("0", WAIT_S, "SELECT count(*) FROM mqtt_outbox");
}
END_TEST

/* A fan-out row whose templates are unusable is dropped; the rows after it still go out. */
START_TEST(malformed_fanout_row_does_not_block_the_queue)
{
	char tag[64];
	const char *payload = "{\"after\":true}";

	testenv_uniq(tag, sizeof(tag), "fanm");
	sql("INSERT INTO things (name) SELECT '%s-' || i FROM generate_series(1, 3) i", tag);
	struct mosquitto *m = counter_start(tag, payload);
	sql("BEGIN;"
	    " INSERT INTO mqtt_outbox (topic, payload, fanout_things, fanout_messages)"
	    " SELECT 'test', '', range_agg(int8range(id, id, '[]')), '[{\"no\":\"template\"}]'"
	    " FROM things WHERE name LIKE '%s-%%';"
	    " INSERT INTO mqtt_outbox (topic, payload) VALUES ('$aws/things/%s-2/jobs/notify',"
	    " convert_to('%s', 'UTF8'));"
	    " COMMIT",
	    tag, tag, payload);
	counter_wait(1);
	pthread_mutex_lock(&counter.lock);
	ck_assert_int_eq(counter.total, 1);
	ck_assert_int_eq(counter.notify[2], 1);
	pthread_mutex_unlock(&counter.lock);
	counter_stop(m);
	WAIT_SQL("0", WAIT_S, "SELECT count(*) FROM mqtt_outbox");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_fanout");
	TCase *tc = tcase_create("fanout");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, fanout_announces_every_thing_exactly_once);
	tcase_add_test(tc, pump_resumes_a_fanout_row_and_skips_gaps);
	tcase_add_test(tc, malformed_fanout_row_does_not_block_the_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	testenv_require();
	if (!testenv_get()->pg_dsn || !testenv_get()->mqtt_host ||
	    !getenv("BW_TEST_MQTT_SERVER_PASSWORD")) {
		fprintf(stderr, "skipped: BW_TEST_PG_DSN, MQTT or the server account not set\n");
		return TESTENV_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	rc = testenv_run_api_suite(suite());
	mosquitto_lib_cleanup();
	return rc;
}
