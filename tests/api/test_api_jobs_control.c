/* Black-box tests of the jobs control plane (AWS `iot`, SigV4) and of the native /api/v1/jobs
 * API against a running bellwetherd (tests/harness/stack.sh). */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/aws_client.h"
#include "../lib/http_client.h"
#include "../lib/testenv.h"

static const struct aws_sign_opts iot = { .service = "iot" };

/* Signed request as the `iot` service; body may be NULL. Asserts a reply arrived. */
static void iot_call(struct http_resp *r, const char *method, const char *body, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
static void iot_call(struct http_resp *r, const char *method, const char *body, const char *fmt,
		     ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(aws_call(r, method, path, body, body ? strlen(body) : 0,
				  body ? "application/json" : NULL, &iot),
			 0);
}

static const char *header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void expect_aws_error(const struct http_resp *r, long status, const char *type)
{
	ck_assert_msg(r->status == status, "%s: status %ld, want %ld: %s", r->desc, r->status,
		      status, r->body);
	ck_assert_msg(header(r, "x-amzn-ErrorType") &&
			      strcmp(header(r, "x-amzn-ErrorType"), type) == 0,
		      "%s: error type %s, want %s", r->desc, header(r, "x-amzn-ErrorType"), type);
	ck_assert_ptr_nonnull(testenv_jstr(r->json, "message"));
}

static void make_thing(const char *name)
{
	struct http_resp r;

	iot_call(&r, "POST", "{\"attributePayload\":{\"attributes\":{\"site\":\"n\"}}}",
		 "/things/%s", name);
	ck_assert_msg(r.status == 200, "create thing: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
}

static json_t *describe_job(const char *job)
{
	struct http_resp r;
	json_t *j;

	iot_call(&r, "GET", NULL, "/jobs/%s", job);
	ck_assert_msg(r.status == 200, "describe: %ld %s", r.status, r.body);
	j = json_incref(json_object_get(r.json, "job"));
	http_resp_cleanup(&r);
	ck_assert_ptr_nonnull(j);
	return j;
}

static long counter(json_t *job, const char *key)
{
	return (long)json_integer_value(
		json_object_get(json_object_get(job, "jobProcessDetails"), key));
}

START_TEST(things_and_groups_map_onto_the_registry)
{
	char thing[64], group[64], body[512];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "cpt");
	testenv_uniq(group, sizeof(group), "cpg");
	iot_call(&r, "POST", "{\"thingTypeName\":\"esp32\"}", "/things/%s", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "thingName"), thing);
	ck_assert_ptr_nonnull(strstr(testenv_jstr(r.json, "thingArn"), ":thing/"));
	char *id = strdup(testenv_jstr(r.json, "thingId"));
	http_resp_cleanup(&r);
	/* idempotent for identical input, conflict otherwise */
	iot_call(&r, "POST", "{\"thingTypeName\":\"esp32\"}", "/things/%s", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "thingId"), id);
	http_resp_cleanup(&r);
	iot_call(&r, "POST", "{\"thingTypeName\":\"other\"}", "/things/%s", thing);
	expect_aws_error(&r, 409, "ResourceAlreadyExistsException");
	ck_assert_str_eq(testenv_jstr(r.json, "resourceId"), thing);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/things/%s", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "thingTypeName"), "esp32");
	ck_assert_str_eq(testenv_jstr(r.json, "defaultClientId"), thing);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), 1);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/things/nope-%s", thing);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	/* the native API sees the same thing */
	ck_assert_int_eq(
		http_call(&r, "GET", testenv_get()->admin_token, NULL, "/api/v1/things/%s", thing),
		0);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "hardware_type"), "esp32");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/things?thingTypeName=esp32&maxResults=1");
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "things")), 1);
	http_resp_cleanup(&r);
	iot_call(&r, "POST", "{\"thingGroupProperties\":{\"thingGroupDescription\":\"d\"}}",
		 "/thing-groups/%s", group);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "thingGroupName"), group);
	http_resp_cleanup(&r);
	iot_call(&r, "POST", "{\"thingGroupProperties\":{\"thingGroupDescription\":\"d\"}}",
		 "/thing-groups/%s", group);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"thingGroupName\":\"%s\",\"thingArn\":\"arn:aws:iot:eu-west-1:1:thing/%s\"}",
		 group, thing);
	iot_call(&r, "PUT", body, "/thing-groups/addThingToThingGroup");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"thingGroupName\":\"%s\",\"thingName\":\"missing-x\"}",
		 group);
	iot_call(&r, "PUT", body, "/thing-groups/addThingToThingGroup");
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "GET", testenv_get()->admin_token, NULL,
				   "/api/v1/groups/%s/things", group),
			 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
	http_resp_cleanup(&r);
	free(id);
}
END_TEST

START_TEST(create_job_expands_targets_and_is_idempotent)
{
	char t1[64], t2[64], t3[64], group[64], sub[64], job[64], body[1024];
	struct http_resp r;
	json_t *j;

	testenv_uniq(t1, sizeof(t1), "cj1");
	testenv_uniq(t2, sizeof(t2), "cj2");
	testenv_uniq(t3, sizeof(t3), "cj3");
	testenv_uniq(group, sizeof(group), "cjg");
	testenv_uniq(sub, sizeof(sub), "cjs");
	testenv_uniq(job, sizeof(job), "job");
	make_thing(t1);
	make_thing(t2);
	make_thing(t3);
	iot_call(&r, "POST", "{}", "/thing-groups/%s", group);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"parentGroupName\":\"%s\"}", group);
	iot_call(&r, "POST", body, "/thing-groups/%s", sub);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	/* t2 directly in the group, t3 in a nested child group, t1 named and also in the group */
	const char *members[][2] = { { group, t2 }, { sub, t3 }, { group, t1 } };
	for (int i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"thingGroupName\":\"%s\",\"thingName\":\"%s\"}",
			 members[i][0], members[i][1]);
		iot_call(&r, "PUT", body, "/thing-groups/addThingToThingGroup");
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
	}
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\","
		 "\"arn:aws:iot:us-east-1:123456789012:thinggroup/%s\"],"
		 "\"document\":\"{\\\"op\\\":\\\"reboot\\\"}\",\"description\":\"d1\","
		 "\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":30}}",
		 t1, group);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "jobId"), job);
	ck_assert_str_eq(testenv_jstr(r.json, "description"), "d1");
	ck_assert_ptr_nonnull(strstr(testenv_jstr(r.json, "jobArn"), ":job/"));
	http_resp_cleanup(&r);
	/* same id, same body: the stored job */
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	j = describe_job(job);
	ck_assert_str_eq(testenv_jstr(j, "status"), "IN_PROGRESS");
	ck_assert_str_eq(testenv_jstr(j, "targetSelection"), "SNAPSHOT");
	ck_assert_int_eq(counter(j, "numberOfQueuedThings"), 3); /* one execution per thing */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "timeoutConfig"),
							    "inProgressTimeoutInMinutes")),
			 30);
	ck_assert(json_is_number(json_object_get(j, "createdAt")));
	ck_assert(json_is_false(json_object_get(j, "isConcurrent")));
	json_decref(j);
	iot_call(&r, "GET", NULL, "/jobs/%s/job-document", job);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"op\":\"reboot\"}");
	http_resp_cleanup(&r);
	/* same id, another body */
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"document\":\"{}\"}",
		 t1);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	expect_aws_error(&r, 409, "ResourceAlreadyExistsException");
	http_resp_cleanup(&r);
	/* executions, both listings */
	iot_call(&r, "GET", NULL, "/jobs/%s/things?maxResults=2", job);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "executionSummaries")), 2);
	const char *token = testenv_jstr(r.json, "nextToken");
	ck_assert_ptr_nonnull(token);
	char next[64];
	snprintf(next, sizeof(next), "%s", token);
	json_t *first = json_array_get(json_object_get(r.json, "executionSummaries"), 0);
	ck_assert_ptr_nonnull(strstr(testenv_jstr(first, "thingArn"), ":thing/"));
	ck_assert_str_eq(testenv_jstr(json_object_get(first, "jobExecutionSummary"), "status"),
			 "QUEUED");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs/%s/things?maxResults=2&nextToken=%s", job, next);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "executionSummaries")), 1);
	ck_assert_ptr_null(json_object_get(r.json, "nextToken"));
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/things/%s/jobs", t3);
	EXPECT_STATUS(&r, 200);
	first = json_array_get(json_object_get(r.json, "executionSummaries"), 0);
	ck_assert_str_eq(testenv_jstr(first, "jobId"), job);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/things/%s/jobs/%s", t3, job);
	EXPECT_STATUS(&r, 200);
	json_t *x = json_object_get(r.json, "execution");
	ck_assert_str_eq(testenv_jstr(x, "status"), "QUEUED");
	ck_assert_ptr_nonnull(testenv_jstr(x, "thingArn"));
	ck_assert_int_eq(json_integer_value(json_object_get(x, "versionNumber")), 1);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(create_job_errors)
{
	char thing[64], job[64], body[512];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "ce");
	testenv_uniq(job, sizeof(job), "jerr");
	make_thing(thing);
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/missing-%s\"],"
		 "\"document\":\"{}\"}",
		 thing);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thinggroup/missing-%s\"],"
		 "\"document\":\"{}\"}",
		 thing);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"document\":\"[1,2]\"}",
		 thing);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"documentSource\":\"https://example.com/doc.json\"}",
		 thing);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{not json", "/jobs/%s", job);
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs/%s", job);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs?status=BOGUS");
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs?maxResults=0");
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs?nextToken=garbage");
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
}
END_TEST

static void create_simple_job(const char *job, const char *thing)
{
	char body[512];
	struct http_resp r;

	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"document\":\"{\\\"a\\\":1}\"}",
		 thing);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	ck_assert_msg(r.status == 200, "create job: %ld %s", r.status, r.body);
	http_resp_cleanup(&r);
}

START_TEST(list_jobs_pages_and_filters)
{
	char thing[64], jobs[3][64];
	struct http_resp r;
	int seen = 0;

	testenv_uniq(thing, sizeof(thing), "lj");
	make_thing(thing);
	for (int i = 0; i < 3; i++) {
		testenv_uniq(jobs[i], sizeof(jobs[i]), "lj");
		create_simple_job(jobs[i], thing);
	}
	iot_call(&r, "GET", NULL, "/jobs?maxResults=2&status=IN_PROGRESS");
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "jobs")), 2);
	json_t *j0 = json_array_get(json_object_get(r.json, "jobs"), 0);
	ck_assert_str_eq(testenv_jstr(j0, "status"), "IN_PROGRESS");
	ck_assert_ptr_nonnull(testenv_jstr(j0, "jobArn"));
	char token[64];
	snprintf(token, sizeof(token), "%s", testenv_jstr(r.json, "nextToken"));
	http_resp_cleanup(&r);
	/* walking all pages finds the three jobs exactly once */
	token[0] = '\0';
	for (int page = 0; page < 1000; page++) {
		if (token[0])
			iot_call(&r, "GET", NULL, "/jobs?maxResults=2&nextToken=%s", token);
		else
			iot_call(&r, "GET", NULL, "/jobs?maxResults=2");
		EXPECT_STATUS(&r, 200);
		size_t i;
		json_t *j;
		json_array_foreach(json_object_get(r.json, "jobs"), i, j) {
			for (int k = 0; k < 3; k++)
				seen += strcmp(testenv_jstr(j, "jobId"), jobs[k]) == 0;
		}
		const char *t = testenv_jstr(r.json, "nextToken");
		if (t)
			snprintf(token, sizeof(token), "%s", t);
		http_resp_cleanup(&r);
		if (!t)
			break;
	}
	ck_assert_int_eq(seen, 3);
}
END_TEST

START_TEST(cancel_and_delete_job)
{
	char thing[64], job[64];
	struct http_resp r;
	json_t *j;

	testenv_uniq(thing, sizeof(thing), "cd");
	testenv_uniq(job, sizeof(job), "cd");
	make_thing(thing);
	create_simple_job(job, thing);
	iot_call(&r, "DELETE", NULL, "/jobs/%s", job);
	expect_aws_error(&r, 409, "InvalidStateTransitionException");
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{\"reasonCode\":\"BAD_BUILD\",\"comment\":\"oops\"}",
		 "/jobs/%s/cancel", job);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "jobId"), job);
	http_resp_cleanup(&r);
	j = describe_job(job);
	ck_assert_str_eq(testenv_jstr(j, "status"), "CANCELED");
	ck_assert_str_eq(testenv_jstr(j, "reasonCode"), "BAD_BUILD");
	ck_assert_str_eq(testenv_jstr(j, "comment"), "oops");
	ck_assert(json_is_number(json_object_get(j, "completedAt")));
	ck_assert_int_eq(counter(j, "numberOfCanceledThings"), 1);
	ck_assert_int_eq(counter(j, "numberOfQueuedThings"), 0);
	json_decref(j);
	iot_call(&r, "PUT", "{\"reasonCode\":\"lower case\"}", "/jobs/%s/cancel", job);
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	iot_call(&r, "DELETE", NULL, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	/* the scheduler removes it */
	long status = 200;
	for (int i = 0; i < 100 && status == 200; i++) {
		iot_call(&r, "GET", NULL, "/jobs/%s", job);
		status = r.status;
		if (status == 200)
			ck_assert_str_eq(testenv_jstr(json_object_get(r.json, "job"), "status"),
					 "DELETION_IN_PROGRESS");
		http_resp_cleanup(&r);
		if (status == 200)
			usleep(100 * 1000);
	}
	ck_assert_int_eq(status, 404);
	iot_call(&r, "PUT", "{}", "/jobs/%s/cancel", job);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	/* force delete of an active job */
	testenv_uniq(job, sizeof(job), "cdf");
	create_simple_job(job, thing);
	iot_call(&r, "DELETE", NULL, "/jobs/%s?force=true", job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(cancel_job_execution)
{
	char thing[64], job[64];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "ce");
	testenv_uniq(job, sizeof(job), "ce");
	make_thing(thing);
	create_simple_job(job, thing);
	iot_call(&r, "PUT", "{\"expectedVersion\":7}", "/things/%s/jobs/%s/cancel", thing, job);
	expect_aws_error(&r, 409, "VersionConflictException");
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{\"expectedVersion\":1,\"statusDetails\":{\"why\":\"ops\"}}",
		 "/things/%s/jobs/%s/cancel", thing, job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/things/%s/jobs/%s", thing, job);
	EXPECT_STATUS(&r, 200);
	json_t *x = json_object_get(r.json, "execution");
	ck_assert_str_eq(testenv_jstr(x, "status"), "CANCELED");
	ck_assert_int_eq(json_integer_value(json_object_get(x, "versionNumber")), 2);
	ck_assert_str_eq(
		testenv_jstr(json_object_get(json_object_get(x, "statusDetails"), "detailsMap"),
			     "why"),
		"ops");
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{}", "/things/%s/jobs/%s/cancel", thing, job);
	expect_aws_error(&r, 409, "InvalidStateTransitionException");
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{}", "/things/%s/jobs/nope/cancel", thing);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	/* the native history shows both transitions */
	ck_assert_int_eq(http_call(&r, "GET", testenv_get()->admin_token, NULL,
				   "/api/v1/jobs/%s/executions/%s/history", job, thing),
			 0);
	EXPECT_STATUS(&r, 200);
	json_t *items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 2);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 1), "to_status"), "CANCELED");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(job_templates)
{
	char thing[64], tmpl[64], job[64], body[512];
	struct http_resp r;
	json_t *j;

	testenv_uniq(thing, sizeof(thing), "tp");
	testenv_uniq(tmpl, sizeof(tmpl), "tp");
	testenv_uniq(job, sizeof(job), "tp");
	make_thing(thing);
	const char *tb = "{\"description\":\"reboot template\",\"document\":\"{\\\"op\\\":"
			 "\\\"reboot\\\"}\",\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":9}}";
	iot_call(&r, "PUT", tb, "/job-templates/%s", tmpl);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "jobTemplateId"), tmpl);
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", tb, "/job-templates/%s", tmpl);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{\"description\":\"x\",\"document\":\"{}\"}", "/job-templates/%s",
		 tmpl);
	expect_aws_error(&r, 409, "ConflictException");
	http_resp_cleanup(&r);
	iot_call(&r, "PUT", "{\"document\":\"{}\"}", "/job-templates/x%s", tmpl);
	expect_aws_error(&r, 400, "InvalidRequestException");
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/job-templates/%s", tmpl);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "description"), "reboot template");
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"op\":\"reboot\"}");
	ck_assert(json_is_number(json_object_get(r.json, "createdAt")));
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/job-templates/none%s", tmpl);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"jobTemplateArn\":\"arn:aws:iot:us-east-1:123456789012:jobtemplate/%s\"}",
		 thing, tmpl);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	j = describe_job(job);
	ck_assert_ptr_nonnull(strstr(testenv_jstr(j, "jobTemplateArn"), tmpl));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "timeoutConfig"),
							    "inProgressTimeoutInMinutes")),
			 9);
	json_decref(j);
	iot_call(&r, "GET", NULL, "/jobs/%s/job-document", job);
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"op\":\"reboot\"}");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(native_jobs_api)
{
	const char *tok = testenv_get()->admin_token;
	char thing[64], job[64], body[1024];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "nj");
	testenv_uniq(job, sizeof(job), "nj");
	make_thing(thing);
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s\"}],"
		 "\"document\":{\"op\":\"x\"},\"job_executions_rollout_config\":"
		 "{\"maximum_per_minute\":10},\"abort_config\":{\"criteria_list\":[{"
		 "\"failure_type\":\"FAILED\",\"action\":\"CANCEL\",\"threshold_percentage\":50,"
		 "\"min_number_of_executed_things\":1}]}}",
		 job, thing);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/jobs"), 0);
	EXPECT_STATUS(&r, 201);
	ck_assert_str_eq(testenv_jstr(r.json, "job_id"), job);
	ck_assert_int_eq(json_integer_value(
				 json_object_get(json_object_get(json_object_get(r.json, "config"),
								 "job_executions_rollout_config"),
						 "maximum_per_minute")),
			 10);
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/jobs"), 0);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	/* the rollout releases it within a few ticks */
	long queued = 0;
	for (int i = 0; i < 100 && queued == 0; i++) {
		ck_assert_int_eq(http_call(&r, "GET", tok, NULL, "/api/v1/jobs/%s", job), 0);
		EXPECT_STATUS(&r, 200);
		queued = (long)json_integer_value(
			json_object_get(json_object_get(r.json, "counts"), "queued"));
		http_resp_cleanup(&r);
		if (!queued)
			usleep(50 * 1000);
	}
	ck_assert_int_eq(queued, 1);
	ck_assert_int_eq(http_call(&r, "GET", tok, NULL, "/api/v1/jobs/%s/executions", job), 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(json_array_get(json_object_get(r.json, "items"), 0), "thing"),
			 thing);
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "GET", tok, NULL, "/api/v1/jobs?limit=1"), 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
	ck_assert_ptr_nonnull(testenv_jstr(r.json, "next_cursor"));
	http_resp_cleanup(&r);
	/* validation names the snake_case field */
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"x%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s\"}],"
		 "\"document\":{},\"timeout_config\":{\"in_progress_timeout_in_minutes\":0}}",
		 job, thing);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/jobs"), 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/timeout_config/in_progress_timeout_in_minutes");
	http_resp_cleanup(&r);
	ck_assert_int_eq(
		http_call(&r, "POST", tok, "{\"job_id\":\"a\",\"bogus\":1}", "/api/v1/jobs"), 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/bogus");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "DELETE", tok, NULL, "/api/v1/jobs/%s", job), 0);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	ck_assert_int_eq(
		http_call(&r, "POST", tok, "{\"force\":true}", "/api/v1/jobs/%s/cancel", job), 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "status"), "CANCELED");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "DELETE", tok, NULL, "/api/v1/jobs/%s", job), 0);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "GET", tok, NULL, "/api/v1/jobs/nope-%s", job), 0);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	/* viewers may read but not create */
	char *viewer = testenv_token_new("viewer", "jobsviewer", NULL, NULL);
	ck_assert_int_eq(http_call(&r, "POST", viewer, body, "/api/v1/jobs"), 0);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(viewer);
	/* every mutation is audited */
	ck_assert_int_eq(http_call(&r, "GET", tok, NULL,
				   "/api/v1/audit?resource_type=job&resource_id=%s", job),
			 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
	http_resp_cleanup(&r);
}
END_TEST

/* ---- documentSource (spec 3.10): S3 URLs mapped to BW_JOB_DOCUMENT_DIR/<bucket>/<key> ---- */

#define DOC_BUCKET "docs-bucket"

/* The stack's document directory (tests/harness/stack.sh sets BW_JOB_DOCUMENT_DIR). */
static const char *doc_dir(void)
{
	static char dir[1024];
	const char *base = getenv("BW_TEST_DIR");
	struct stat st;

	ck_assert_msg(base != NULL, "BW_TEST_DIR not set");
	snprintf(dir, sizeof(dir), "%s/job-documents", base);
	ck_assert_msg(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "%s is not a directory", dir);
	return dir;
}

/* Write <doc dir>/<rel> (parents created) with text. */
static void write_doc(const char *rel, const char *text)
{
	char path[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", doc_dir(), rel);
	for (char *p = path + strlen(doc_dir()) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
		*p = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* PUT /jobs/{job} targeting thing with documentSource src; returns the reply (caller cleans). */
static void create_from_source(struct http_resp *r, const char *job, const char *thing,
			       const char *src)
{
	char body[4096];

	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"documentSource\":\"%s\"}",
		 thing, src);
	iot_call(r, "PUT", body, "/jobs/%s", job);
}

/* documentSource src is refused with InvalidRequestException naming why. */
static void expect_source_refused(const char *thing, const char *src, const char *why)
{
	char job[64];
	struct http_resp r;

	testenv_uniq(job, sizeof(job), "dsbad");
	create_from_source(&r, job, thing, src);
	expect_aws_error(&r, 400, "InvalidRequestException");
	ck_assert_msg(strstr(testenv_jstr(r.json, "message"), why) != NULL,
		      "%s: message '%s' lacks '%s'", src, testenv_jstr(r.json, "message"), why);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs/%s", job);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
}

START_TEST(create_job_from_document_source)
{
	char thing[64], job[64], rel[256], src[512], body[1024], u[64];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "ds");
	testenv_uniq(u, sizeof(u), "ds");
	make_thing(thing);
	snprintf(rel, sizeof(rel), DOC_BUCKET "/jobs/%s.json", u);
	write_doc(rel, "{\"op\":\"from-file\",\"n\":1}");
	/* every URL style names the same file; the last one percent-escapes the 't' that starts
	 * the file name (testenv_uniq names start with 't') */
	for (int i = 0; i < 5; i++) {
		testenv_uniq(job, sizeof(job), "ds");
		if (i == 0)
			snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/jobs/%s.json", u);
		else if (i == 1)
			snprintf(src, sizeof(src),
				 "https://" DOC_BUCKET ".s3.amazonaws.com/jobs/%s.json", u);
		else if (i == 2)
			snprintf(src, sizeof(src),
				 "https://" DOC_BUCKET ".s3.eu-west-1.amazonaws.com/jobs/%s.json",
				 u);
		else if (i == 3)
			snprintf(src, sizeof(src),
				 "https://s3.us-west-2.amazonaws.com/" DOC_BUCKET "/jobs/%s.json",
				 u);
		else
			snprintf(src, sizeof(src),
				 "https://s3.amazonaws.com/" DOC_BUCKET "/jobs/%%74%s.json", u + 1);
		create_from_source(&r, job, thing, src);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
		/* the same request again is idempotent */
		create_from_source(&r, job, thing, src);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
		/* DescribeJob: documentSource beside job, as given (spec 5.1) */
		iot_call(&r, "GET", NULL, "/jobs/%s", job);
		EXPECT_STATUS(&r, 200);
		ck_assert_str_eq(testenv_jstr(r.json, "documentSource"), src);
		ck_assert_ptr_null(
			json_object_get(json_object_get(r.json, "job"), "documentSource"));
		http_resp_cleanup(&r);
		iot_call(&r, "GET", NULL, "/jobs/%s/job-document", job);
		EXPECT_STATUS(&r, 200);
		ck_assert_str_eq(testenv_jstr(r.json, "document"),
				 "{\"op\":\"from-file\",\"n\":1}");
		http_resp_cleanup(&r);
	}
	/* the text is read once, at creation: a later change of the file does not matter */
	write_doc(rel, "{\"op\":\"changed\"}");
	iot_call(&r, "GET", NULL, "/jobs/%s/job-document", job);
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"op\":\"from-file\",\"n\":1}");
	http_resp_cleanup(&r);
	/* a job with a document has no documentSource */
	testenv_uniq(job, sizeof(job), "ds");
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"document\":\"{}\"}",
		 thing);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	ck_assert_ptr_null(json_object_get(r.json, "documentSource"));
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(document_source_errors)
{
	char thing[64], u[64], src[2048], rel[512], path[2048], target[2048];
	char *big;

	testenv_uniq(thing, sizeof(thing), "dse");
	testenv_uniq(u, sizeof(u), "dse");
	make_thing(thing);
	/* URLs that map nowhere */
	expect_source_refused(thing, "s3://" DOC_BUCKET "/../../etc/passwd", "'..'");
	expect_source_refused(thing, "s3://" DOC_BUCKET "/%2e%2e/x.json", "'..'");
	expect_source_refused(thing, "s3://" DOC_BUCKET "//etc/passwd", "absolute");
	expect_source_refused(thing, "https://example.com/doc.json", "not an Amazon S3 endpoint");
	expect_source_refused(thing, "http://" DOC_BUCKET ".s3.amazonaws.com/x.json", "only s3://");
	expect_source_refused(thing, "https://169.254.169.254/latest/meta-data/x",
			      "not an Amazon S3 endpoint");
	expect_source_refused(thing, "s3://" DOC_BUCKET "/x.json?versionId=1", "versionId");
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/none-%s.json", u);
	expect_source_refused(thing, src, "no object " DOC_BUCKET "/none-");
	snprintf(src, sizeof(src), "s3://missing-%s/x.json", u);
	expect_source_refused(thing, src, "no object");
	/* a URL longer than 1350 characters */
	int n = snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/");
	while (n < 1351)
		src[n++] = 'k';
	src[n] = '\0';
	expect_source_refused(thing, src, "documentSource");
	/* contents: not an object, not JSON, too long; exactly 32768 characters pass */
	snprintf(rel, sizeof(rel), DOC_BUCKET "/%s/array.json", u);
	write_doc(rel, "[1,2]");
	snprintf(src, sizeof(src), "s3://%s", rel);
	expect_source_refused(thing, src, "JSON object");
	snprintf(rel, sizeof(rel), DOC_BUCKET "/%s/bad.json", u);
	write_doc(rel, "{\"a\":");
	snprintf(src, sizeof(src), "s3://%s", rel);
	expect_source_refused(thing, src, "not valid JSON");
	big = malloc(32768 + 2);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "{\"p\":\"", 6);
	memset(big + 6, 'x', 32768 - 8);
	memcpy(big + 32768 - 2, "\"}", 3);
	ck_assert_uint_eq(strlen(big), 32768);
	snprintf(rel, sizeof(rel), DOC_BUCKET "/%s/max.json", u);
	write_doc(rel, big);
	{
		struct http_resp r;
		char job[64];
		testenv_uniq(job, sizeof(job), "dsmax");
		snprintf(src, sizeof(src), "s3://%s", rel);
		create_from_source(&r, job, thing, src);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
	}
	memcpy(big + 32768 - 2, "x\"}", 4);
	snprintf(rel, sizeof(rel), DOC_BUCKET "/%s/big.json", u);
	write_doc(rel, big);
	free(big);
	snprintf(src, sizeof(src), "s3://%s", rel);
	expect_source_refused(thing, src, "longer than 32768 characters");
	/* symbolic links: to a file outside, to a file inside, as a directory; a FIFO; a dir */
	snprintf(path, sizeof(path), "%s/" DOC_BUCKET "/%s/out.json", doc_dir(), u);
	ck_assert_int_eq(symlink("/etc/hostname", path), 0);
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/%s/out.json", u);
	expect_source_refused(thing, src, "symbolic link");
	snprintf(path, sizeof(path), "%s/" DOC_BUCKET "/%s/in.json", doc_dir(), u);
	snprintf(target, sizeof(target), "%s/" DOC_BUCKET "/%s/max.json", doc_dir(), u);
	ck_assert_int_eq(symlink(target, path), 0);
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/%s/in.json", u);
	expect_source_refused(thing, src, "symbolic link");
	snprintf(path, sizeof(path), "%s/" DOC_BUCKET "/%s/etc", doc_dir(), u);
	ck_assert_int_eq(symlink("/etc", path), 0);
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/%s/etc/hostname", u);
	expect_source_refused(thing, src, "symbolic link");
	snprintf(path, sizeof(path), "%s/%s-link", doc_dir(), u); /* a bucket that is a link */
	snprintf(target, sizeof(target), "%s/" DOC_BUCKET, doc_dir());
	ck_assert_int_eq(symlink(target, path), 0);
	snprintf(src, sizeof(src), "s3://%s/%s/max.json", path + strlen(doc_dir()) + 1, u);
	expect_source_refused(thing, src, "symbolic link");
	snprintf(path, sizeof(path), "%s/" DOC_BUCKET "/%s/fifo.json", doc_dir(), u);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/%s/fifo.json", u);
	expect_source_refused(thing, src, "not a regular file");
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/%s", u);
	expect_source_refused(thing, src, "not a regular file");
	/* a file on the way to the key is no directory */
	snprintf(src, sizeof(src), "s3://" DOC_BUCKET "/%s/max.json/x", u);
	expect_source_refused(thing, src, "no object");
}
END_TEST

START_TEST(job_template_from_document_source)
{
	char thing[64], tmpl[64], job[64], u[64], rel[256], body[1024], src[512];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "dst");
	testenv_uniq(tmpl, sizeof(tmpl), "dst");
	testenv_uniq(job, sizeof(job), "dst");
	testenv_uniq(u, sizeof(u), "dst");
	make_thing(thing);
	snprintf(rel, sizeof(rel), DOC_BUCKET "/templates/%s.json", u);
	write_doc(rel, "{\"op\":\"template-doc\"}");
	snprintf(src, sizeof(src), "https://" DOC_BUCKET ".s3.amazonaws.com/templates/%s.json", u);
	snprintf(body, sizeof(body),
		 "{\"description\":\"from a file\",\"documentSource\":\"%s\","
		 "\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":5}}",
		 src);
	iot_call(&r, "PUT", body, "/job-templates/%s", tmpl);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/job-templates/%s", tmpl);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "documentSource"), src);
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"op\":\"template-doc\"}");
	http_resp_cleanup(&r);
	/* the template keeps the text read at its creation */
	write_doc(rel, "{\"op\":\"changed-later\"}");
	snprintf(body, sizeof(body),
		 "{\"targets\":[\"arn:aws:iot:us-east-1:123456789012:thing/%s\"],"
		 "\"jobTemplateArn\":\"arn:aws:iot:us-east-1:123456789012:jobtemplate/%s\"}",
		 thing, tmpl);
	iot_call(&r, "PUT", body, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs/%s", job);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "documentSource"), src);
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/jobs/%s/job-document", job);
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"op\":\"template-doc\"}");
	http_resp_cleanup(&r);
	/* errors surface when the template is created */
	snprintf(body, sizeof(body),
		 "{\"description\":\"x\",\"documentSource\":\"s3://" DOC_BUCKET
		 "/templates/none-%s.json\"}",
		 u);
	iot_call(&r, "PUT", body, "/job-templates/x%s", tmpl);
	expect_aws_error(&r, 400, "InvalidRequestException");
	ck_assert_ptr_nonnull(strstr(testenv_jstr(r.json, "message"), "no object"));
	http_resp_cleanup(&r);
	iot_call(&r, "GET", NULL, "/job-templates/x%s", tmpl);
	expect_aws_error(&r, 404, "ResourceNotFoundException");
	http_resp_cleanup(&r);
	/* the native API takes document_source too */
	const char *tok = testenv_get()->admin_token;
	testenv_uniq(job, sizeof(job), "dsn");
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s\"}],"
		 "\"document_source\":\"s3://%s\"}",
		 job, thing, rel);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/jobs"), 0);
	EXPECT_STATUS(&r, 201);
	ck_assert_str_eq(testenv_jstr(json_object_get(r.json, "document"), "op"), "changed-later");
	http_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"x%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s\"}],"
		 "\"document_source\":\"s3://" DOC_BUCKET "/../x\"}",
		 job, thing);
	ck_assert_int_eq(http_call(&r, "POST", tok, body, "/api/v1/jobs"), 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/document_source");
	http_resp_cleanup(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api_jobs_control");
	TCase *tc = tcase_create("control");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, things_and_groups_map_onto_the_registry);
	tcase_add_test(tc, create_job_expands_targets_and_is_idempotent);
	tcase_add_test(tc, create_job_errors);
	tcase_add_test(tc, list_jobs_pages_and_filters);
	tcase_add_test(tc, cancel_and_delete_job);
	tcase_add_test(tc, cancel_job_execution);
	tcase_add_test(tc, job_templates);
	tcase_add_test(tc, native_jobs_api);
	tcase_add_test(tc, create_job_from_document_source);
	tcase_add_test(tc, document_source_errors);
	tcase_add_test(tc, job_template_from_document_source);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	testenv_require();
	if (!aws_client_available()) {
		fprintf(stderr, "skipped: BW_TEST_AWS_ACCESS_KEY/SECRET_KEY not set\n");
		return TESTENV_SKIP;
	}
	return testenv_run_api_suite(suite());
}
