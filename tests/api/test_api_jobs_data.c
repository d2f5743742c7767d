/*
 * The iot-jobs-data HTTP plane (spec 4) against the running stack, SigV4-signed with the
 * "iot-jobs-data" service: GetPendingJobExecutions, StartNextPendingJobExecution (PUT $next),
 * DescribeJobExecution (including %24next), UpdateJobExecution, the AWS error shapes, and a
 * wrong signature -> 403; and iot-data Publish (POST /topics/{topic}, spec 7) into Jobs request
 * topics, run by the jobs engine like a device's publish, with the replies and notify-next
 * received by an MQTT subscriber. Jobs and executions are inserted in SQL as a released job has
 * them. Needs BW_TEST_URL, BW_TEST_PG_DSN and BW_TEST_AWS_ACCESS_KEY (exit 77 without them);
 * the publish test also needs BW_TEST_MQTT_HOST / BW_TEST_MQTT_PORT.
 */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mosquitto.h>

#include "../lib/aws_client.h"
#include "../lib/mqtt_device.h"
#include "../lib/testenv.h"

static const struct aws_sign_opts jobs_data = { .service = "iot-jobs-data" };

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
	char q[2048];
	va_list ap;
	PGconn *c = PQconnectdb(testenv_get()->pg_dsn);
	PGresult *r;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "pg: %s", PQerrorMessage(c));
	r = PQexec(c, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", q, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static void call(struct http_resp *r, const char *method, const char *path, const char *body,
		 long status)
{
	int rc = aws_call(r, method, path, body, body ? strlen(body) : 0,
			  body ? "application/json" : NULL, &jobs_data);

	ck_assert_int_eq(rc, 0);
	ck_assert_msg(r->status == status, "%s: %ld %s", r->desc, r->status, r->body);
}

static const char *header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return "";
}

START_TEST(four_operations_over_http)
{
	char thing[96], job[60], path[300];
	struct http_resp r;
	const json_t *e;

	testenv_uniq(thing, sizeof(thing), "ht");
	testenv_uniq(job, sizeof(job), "hj");
	sql("INSERT INTO things (name) VALUES ('%s')", thing);
	sql("INSERT INTO jobs (job_id, status, targets, document, request_sha256, created_by)"
	    " VALUES ('%s', 'IN_PROGRESS', '[]', '{\"op\":\"x\"}', 'x', 'test')",
	    job);
	sql("INSERT INTO job_executions (job_pk, thing_id, status) SELECT j.id, t.id, 'QUEUED'"
	    " FROM jobs j, things t WHERE j.job_id = '%s' AND t.name = '%s'",
	    job, thing);

	snprintf(path, sizeof(path), "/things/%s/jobs", thing);
	call(&r, "GET", path, NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(r.json, "queuedJobs")), 1);
	ck_assert_ptr_null(json_object_get(r.json, "timestamp"));
	http_resp_cleanup(&r);

	snprintf(path, sizeof(path), "/things/%s/jobs/%%24next", thing);
	call(&r, "GET", path, NULL, 200);
	e = json_object_get(r.json, "execution");
	ck_assert_str_eq(json_string_value(json_object_get(e, "thingName")), thing);
	/* the document is a JSON string on HTTP (spec 4.1) */
	ck_assert(json_is_string(json_object_get(e, "jobDocument")));
	http_resp_cleanup(&r);

	snprintf(path, sizeof(path), "/things/%s/jobs/$next", thing);
	call(&r, "PUT", path, "{\"statusDetails\":{\"s\":\"1\"},\"stepTimeoutInMinutes\":5}", 200);
	e = json_object_get(r.json, "execution");
	ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "IN_PROGRESS");
	ck_assert(json_integer_value(json_object_get(e, "approximateSecondsBeforeTimedOut")) > 0);
	http_resp_cleanup(&r);

	snprintf(path, sizeof(path), "/things/%s/jobs/%s", thing, job);
	call(&r, "POST", path,
	     "{\"status\":\"SUCCEEDED\",\"expectedVersion\":2,\"includeJobExecutionState\":true,"
	     "\"includeJobDocument\":true}",
	     200);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(r.json, "executionState"), "status")),
			 "SUCCEEDED");
	ck_assert(json_is_string(json_object_get(r.json, "jobDocument")));
	http_resp_cleanup(&r);

	snprintf(path, sizeof(path), "/things/%s/jobs/%s?includeJobDocument=false", thing, job);
	call(&r, "GET", path, NULL, 200);
	ck_assert_ptr_null(json_object_get(json_object_get(r.json, "execution"), "jobDocument"));
	http_resp_cleanup(&r);

	/* errors: AWS shapes (spec 4.2) */
	snprintf(path, sizeof(path), "/things/%s/jobs/%s", thing, job);
	call(&r, "POST", path, "{\"status\":\"IN_PROGRESS\"}", 409);
	ck_assert_str_eq(header(&r, "x-amzn-ErrorType"), "InvalidStateTransitionException");
	http_resp_cleanup(&r);
	call(&r, "POST", path, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":1}", 409);
	http_resp_cleanup(&r);
	call(&r, "POST", path, "not json", 400);
	ck_assert_str_eq(header(&r, "x-amzn-ErrorType"), "InvalidRequestException");
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/things/%s/jobs/nope", thing);
	call(&r, "GET", path, NULL, 404);
	ck_assert_str_eq(header(&r, "x-amzn-ErrorType"), "ResourceNotFoundException");
	http_resp_cleanup(&r);
	/* nothing pending: {} for $next */
	snprintf(path, sizeof(path), "/things/%s/jobs/%%24next", thing);
	call(&r, "GET", path, NULL, 200);
	ck_assert_uint_eq(json_object_size(r.json), 0);
	http_resp_cleanup(&r);
}
END_TEST

/* POST /topics/{topic} with a percent-encoded Jobs request topic, signed for iot-data. */
static void publish(const char *thing, const char *job, const char *op, const char *body)
{
	char path[400];
	struct http_resp r;
	int rc;

	snprintf(path, sizeof(path), "/topics/%%24aws%%2Fthings%%2F%s%%2Fjobs%%2F%s%%2F%s?qos=1",
		 thing, job, op);
	rc = aws_call(&r, "POST", path, body, strlen(body), NULL, NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(r.status == 200, "%s: %ld %s", r.desc, r.status, r.body);
	ck_assert_uint_eq(r.body_len, 0);
	http_resp_cleanup(&r);
}

/* A publish over HTTP into a Jobs request topic runs through the jobs engine like a device's
 * MQTT publish (spec 7, "same for jobs request topics"): the execution changes, accepted and
 * rejected replies (with the AWS code) and notify-next reach the MQTT subscribers. */
START_TEST(publish_into_jobs_request_topics_spec_7)
{
	const struct testenv *env = testenv_get();
	char thing[96], job[60], topic[300], path[300];
	struct mqtt_device *d;
	struct http_resp r;
	bool has_execution = true;
	const json_t *e;
	json_t *j;

	if (!env->mqtt_host || !env->mqtt_port)
		return; /* no broker in this environment */
	testenv_uniq(thing, sizeof(thing), "hp");
	testenv_uniq(job, sizeof(job), "hpj");
	sql("INSERT INTO things (name) VALUES ('%s')", thing);
	sql("INSERT INTO jobs (job_id, status, targets, document, request_sha256, created_by)"
	    " VALUES ('%s', 'IN_PROGRESS', '[]', '{\"op\":\"x\"}', 'x', 'test')",
	    job);
	sql("INSERT INTO job_executions (job_pk, thing_id, status) SELECT j.id, t.id, 'QUEUED'"
	    " FROM jobs j, things t WHERE j.job_id = '%s' AND t.name = '%s'",
	    job, thing);
	d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	ck_assert_ptr_nonnull(d);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/%s/update/+", thing, job);
	ck_assert_int_eq(mqtt_device_subscribe(d, topic), 1);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify-next", thing);
	ck_assert_int_eq(mqtt_device_subscribe(d, topic), 1);

	publish(thing, job, "update",
		"{\"status\":\"IN_PROGRESS\",\"expectedVersion\":1,"
		"\"statusDetails\":{\"via\":\"publish\"},\"clientToken\":\"h1\"}");
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/%s/update/accepted", thing, job);
	j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(testenv_jstr(j, "clientToken"), "h1");
	ck_assert(json_integer_value(json_object_get(j, "timestamp")) > 0);
	json_decref(j);
	/* the execution changed, as the data plane shows */
	snprintf(path, sizeof(path), "/things/%s/jobs/%s", thing, job);
	call(&r, "GET", path, NULL, 200);
	e = json_object_get(r.json, "execution");
	ck_assert_str_eq(testenv_jstr(e, "status"), "IN_PROGRESS");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "versionNumber")), 2);
	ck_assert_str_eq(testenv_jstr(json_object_get(e, "statusDetails"), "via"), "publish");
	http_resp_cleanup(&r);

	/* rejections go to update/rejected with the AWS code and the clientToken */
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/%s/update/rejected", thing, job);
	publish(thing, job, "update", "not json");
	j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(testenv_jstr(j, "code"), "InvalidJson");
	json_decref(j);
	publish(thing, job, "update",
		"{\"status\":\"SUCCEEDED\",\"expectedVersion\":7,\"clientToken\":\"h2\"}");
	j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(testenv_jstr(j, "code"), "VersionMismatch");
	ck_assert_str_eq(testenv_jstr(j, "clientToken"), "h2");
	ck_assert_str_eq(testenv_jstr(json_object_get(j, "executionState"), "status"),
			 "IN_PROGRESS");
	json_decref(j);

	/* completing the only job empties the pending list: notify-next without an execution */
	publish(thing, job, "update",
		"{\"status\":\"SUCCEEDED\",\"expectedVersion\":2,\"clientToken\":\"h3\"}");
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/%s/update/accepted", thing, job);
	j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(testenv_jstr(j, "clientToken"), "h3");
	json_decref(j);
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/notify-next", thing);
	/* (the first update announced the execution inserted in SQL: skip that event) */
	for (int i = 0; i < 3; i++) {
		j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
		ck_assert_ptr_nonnull(j);
		has_execution = json_object_get(j, "execution") != NULL;
		json_decref(j);
		if (!has_execution)
			break;
	}
	ck_assert(!has_execution);
	/* exactly one copy of each reply: no directed second delivery */
	snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/%s/update/accepted", thing, job);
	ck_assert_ptr_null(mqtt_device_take(d, topic, 300));
	snprintf(path, sizeof(path), "/things/%s/jobs/%s", thing, job);
	call(&r, "GET", path, NULL, 200);
	ck_assert_str_eq(testenv_jstr(json_object_get(r.json, "execution"), "status"), "SUCCEEDED");
	http_resp_cleanup(&r);
	mqtt_device_free(d);
}
END_TEST

START_TEST(wrong_signature_is_403)
{
	struct aws_sign_opts bad = { .service = "iot-jobs-data", .secret = "wrong-secret" };
	struct http_resp r;

	ck_assert_int_eq(aws_call(&r, "GET", "/things/x/jobs", NULL, 0, NULL, &bad), 0);
	ck_assert_int_eq(r.status, 403);
	ck_assert_str_ne(header(&r, "x-amzn-ErrorType"), "");
	http_resp_cleanup(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api_jobs_data");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, four_operations_over_http);
	tcase_add_test(tc, wrong_signature_is_403);
	tcase_add_test(tc, publish_into_jobs_request_topics_spec_7);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	testenv_require();
	if (!aws_client_available() || !testenv_get()->pg_dsn) {
		fprintf(stderr, "skipped: BW_TEST_AWS_ACCESS_KEY or BW_TEST_PG_DSN not set\n");
		return TESTENV_SKIP;
	}
	mosquitto_lib_init();
	rc = testenv_run_api_suite(suite());
	mosquitto_lib_cleanup();
	return rc;
}
