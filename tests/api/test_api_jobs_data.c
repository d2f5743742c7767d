/*
 * The iot-jobs-data HTTP plane (spec 4) against the running stack, SigV4-signed with the
 * "iot-jobs-data" service: GetPendingJobExecutions, StartNextPendingJobExecution (PUT $next),
 * DescribeJobExecution (including %24next), UpdateJobExecution, the AWS error shapes, and a
 * wrong signature -> 403. Jobs and executions are inserted in SQL as a released job has them.
 * Needs BW_TEST_URL, BW_TEST_PG_DSN and BW_TEST_AWS_ACCESS_KEY (exit 77 without them).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "../lib/aws_client.h"
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	testenv_require();
	if (!aws_client_available() || !testenv_get()->pg_dsn) {
		fprintf(stderr, "skipped: BW_TEST_AWS_ACCESS_KEY or BW_TEST_PG_DSN not set\n");
		return TESTENV_SKIP;
	}
	return testenv_run_api_suite(suite());
}
