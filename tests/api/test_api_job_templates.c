/* Native versioned job templates (/api/v1/job-templates) against a running stack: versions are
 * added only when the content changes, every version stays readable and immutable, the AWS
 * control plane sees the latest, and jobs are created from the latest or a chosen version
 * (recording which). */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/aws_client.h"
#include "../lib/http_client.h"
#include "../lib/pgtest.h"
#include "../lib/testenv.h"

static const char *tok(void)
{
	return testenv_get()->admin_token;
}

/* PUT a template body; returns the reply (caller cleans up) after checking the status */
static void put(struct http_resp *r, const char *id, const char *body, long status)
{
	ck_assert_int_eq(http_call(r, "PUT", tok(), body, "/api/v1/job-templates/%s", id), 0);
	ck_assert_msg(r->status == status, "PUT %s: %ld %s", id, r->status, r->body);
}

static long jint(const json_t *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o, k));
}

START_TEST(versions_are_added_only_on_change)
{
	char id[64];
	struct http_resp r;
	json_t *versions;

	testenv_uniq(id, sizeof(id), "tpl");
	put(&r, id,
	    "{\"description\":\"first\",\"document\":{\"op\":\"a\"},"
	    "\"timeout_config\":{\"in_progress_timeout_in_minutes\":10}}",
	    201);
	ck_assert_int_eq(jint(r.json, "version"), 1);
	ck_assert_str_eq(testenv_jstr(json_object_get(r.json, "document"), "op"), "a");
	http_resp_cleanup(&r);

	/* the same content again: no new version */
	put(&r, id,
	    "{\"timeout_config\":{\"in_progress_timeout_in_minutes\":10},"
	    "\"document\":{\"op\":\"a\"},\"description\":\"first\"}",
	    200);
	ck_assert_int_eq(jint(r.json, "version"), 1);
	http_resp_cleanup(&r);

	put(&r, id, "{\"description\":\"second\",\"document\":{\"op\":\"b\"}}", 200);
	ck_assert_int_eq(jint(r.json, "version"), 2);
	ck_assert_int_eq(jint(r.json, "latest_version"), 2);
	versions = json_object_get(r.json, "versions");
	ck_assert_int_eq(json_array_size(versions), 2);
	ck_assert_int_eq(jint(json_array_get(versions, 0), "version"), 2);
	ck_assert_ptr_null(json_object_get(json_object_get(r.json, "config"), "timeout_config"));
	http_resp_cleanup(&r);

	/* version 1 is still there, unchanged */
	ck_assert_int_eq(
		http_call(&r, "GET", tok(), NULL, "/api/v1/job-templates/%s/versions/1", id), 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "description"), "first");
	ck_assert_int_eq(jint(json_object_get(json_object_get(r.json, "config"), "timeout_config"),
			      "in_progress_timeout_in_minutes"),
			 10);
	ck_assert_int_eq(jint(r.json, "latest_version"), 2);
	ck_assert_ptr_null(json_object_get(r.json, "versions"));
	http_resp_cleanup(&r);

	ck_assert_int_eq(http_call(&r, "GET", tok(), NULL, "/api/v1/job-templates/%s", id), 0);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "description"), "second");
	http_resp_cleanup(&r);

	/* versions are immutable, even for SQL */
	const char *err = pgtest_sql_error(
		"UPDATE job_template_versions v SET description = 'x' FROM job_templates t WHERE"
		" t.id = v.template_pk AND t.template_id = '%s'",
		id);
	ck_assert_msg(strstr(err, "immutable") != NULL, "update of a version: '%s'", err);
}
END_TEST

START_TEST(bad_requests)
{
	char id[64];
	struct http_resp r;
	char *viewer;

	testenv_uniq(id, sizeof(id), "tplb");
	ck_assert_int_eq(http_call(&r, "PUT", tok(), "{\"document\":{\"op\":\"a\"}}",
				   "/api/v1/job-templates/%s", id),
			 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/description");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "PUT", tok(), "{\"description\":\"d\",\"document\":[1]}",
				   "/api/v1/job-templates/%s", id),
			 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/document");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "PUT", tok(), "{\"description\":\"d\",\"colour\":1}",
				   "/api/v1/job-templates/%s", id),
			 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/colour");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "PUT", tok(),
				   "{\"description\":\"d\",\"document\":{},\"timeout_config\":"
				   "{\"in_progress_timeout_in_minutes\":0}}",
				   "/api/v1/job-templates/%s", id),
			 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/timeout_config/in_progress_timeout_in_minutes");
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "PUT", tok(), "{\"description\":\"d\",\"document\":{}}",
				   "/api/v1/job-templates/bad%%20id"),
			 0);
	EXPECT_STATUS(&r, 400);
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "GET", tok(), NULL, "/api/v1/job-templates/%s", id), 0);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	ck_assert_int_eq(
		http_call(&r, "GET", tok(), NULL, "/api/v1/job-templates/%s/versions/x", id), 0);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);

	viewer = testenv_token_new("viewer", "tplv", NULL, NULL);
	ck_assert_int_eq(http_call(&r, "PUT", viewer, "{\"description\":\"d\",\"document\":{}}",
				   "/api/v1/job-templates/%s", id),
			 0);
	EXPECT_STATUS(&r, 403);
	http_resp_cleanup(&r);
	ck_assert_int_eq(http_call(&r, "GET", viewer, NULL, "/api/v1/job-templates"), 0);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	free(viewer);
}
END_TEST

START_TEST(listing_pages_through_all)
{
	char prefix[48], id[64];
	struct http_resp r;
	json_t *all;
	int pages = 0, seen = 0;

	testenv_uniq(prefix, sizeof(prefix), "tpll");
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "%s-%d", prefix, i);
		put(&r, id, "{\"description\":\"l\",\"document\":{}}", 201);
		http_resp_cleanup(&r);
	}
	all = testenv_list_all(tok(), "/api/v1/job-templates?limit=2", &pages);
	ck_assert_ptr_nonnull(all);
	ck_assert_int_ge(pages, 2);
	for (size_t i = 0; i < json_array_size(all); i++) {
		const char *t = testenv_jstr(json_array_get(all, i), "template_id");
		if (strncmp(t, prefix, strlen(prefix)) == 0)
			seen++;
		if (i > 0)
			ck_assert_msg(
				strcmp(testenv_jstr(json_array_get(all, i - 1), "template_id"), t) <
					0,
				"listing not ordered by template_id");
	}
	ck_assert_int_eq(seen, 3);
	json_decref(all);
}
END_TEST

START_TEST(aws_sees_the_latest_version)
{
	char id[64], path[128];
	struct http_resp r;
	struct aws_sign_opts o = { .service = "iot" };

	if (!aws_client_available())
		return;
	testenv_uniq(id, sizeof(id), "tpla");
	put(&r, id, "{\"description\":\"one\",\"document\":{\"v\":1}}", 201);
	http_resp_cleanup(&r);
	put(&r, id, "{\"description\":\"two\",\"document\":{\"v\":2}}", 200);
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/job-templates/%s", id);
	ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &o), 0);
	ck_assert_msg(r.status == 200, "DescribeJobTemplate: %ld %s", r.status, r.body);
	ck_assert_str_eq(testenv_jstr(r.json, "description"), "two");
	ck_assert_str_eq(testenv_jstr(r.json, "document"), "{\"v\":2}");
	http_resp_cleanup(&r);
}
END_TEST

/* POST /api/v1/jobs from the template; returns the reply status */
static long create_job(const char *job, const char *thing, const char *tpl, const char *version)
{
	char body[512];
	struct http_resp r;
	long status;

	snprintf(body, sizeof(body),
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"thing\",\"name\":\"%s\"}],"
		 "\"job_template_id\":\"%s\"%s%s}",
		 job, thing, tpl, version ? ",\"job_template_version\":" : "",
		 version ? version : "");
	ck_assert_int_eq(http_call(&r, "POST", tok(), body, "/api/v1/jobs"), 0);
	status = r.status;
	if (status >= 400)
		ck_assert_msg(testenv_err(&r, "message") != NULL, "error without a message: %s",
			      r.body);
	http_resp_cleanup(&r);
	return status;
}

START_TEST(jobs_use_the_latest_or_a_chosen_version)
{
	char tpl[64], thing[64], job[80];
	struct http_resp r;

	testenv_uniq(tpl, sizeof(tpl), "tplj");
	testenv_uniq(thing, sizeof(thing), "tplj");
	pgtest_sql("INSERT INTO things (name) VALUES ('%s')", thing);
	put(&r, tpl,
	    "{\"description\":\"one\",\"document\":{\"v\":1},"
	    "\"timeout_config\":{\"in_progress_timeout_in_minutes\":7}}",
	    201);
	http_resp_cleanup(&r);
	put(&r, tpl, "{\"description\":\"two\",\"document\":{\"v\":2}}", 200);
	http_resp_cleanup(&r);

	snprintf(job, sizeof(job), "%s-latest", tpl);
	ck_assert_int_eq(create_job(job, thing, tpl, NULL), 201);
	ck_assert_str_eq(pgtest_sql("SELECT document FROM jobs WHERE job_id = '%s'", job),
			 "{\"v\":2}");
	ck_assert_str_eq(pgtest_sql("SELECT template_version FROM jobs WHERE job_id = '%s'", job),
			 "2");

	snprintf(job, sizeof(job), "%s-v1", tpl);
	ck_assert_int_eq(create_job(job, thing, tpl, "1"), 201);
	ck_assert_str_eq(pgtest_sql("SELECT document FROM jobs WHERE job_id = '%s'", job),
			 "{\"v\":1}");
	ck_assert_str_eq(pgtest_sql("SELECT template_version FROM jobs WHERE job_id = '%s'", job),
			 "1");
	ck_assert_str_eq(pgtest_sql("SELECT config->'timeoutConfig'->>'inProgressTimeoutInMinutes'"
				    " FROM jobs WHERE job_id = '%s'",
				    job),
			 "7");

	snprintf(job, sizeof(job), "%s-v9", tpl);
	ck_assert_int_eq(create_job(job, thing, tpl, "9"), 404);
	ck_assert_int_eq(create_job(job, thing, tpl, "0"), 400);
	ck_assert_int_eq(create_job(job, thing, tpl, "\"1\""), 400);
	ck_assert_str_eq(pgtest_sql("SELECT count(*) FROM jobs WHERE job_id = '%s'", job), "0");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_job_templates");
	TCase *tc = tcase_create("templates");

	testenv_require();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, versions_are_added_only_on_change);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, listing_pages_through_all);
	tcase_add_test(tc, aws_sees_the_latest_version);
	tcase_add_test(tc, jobs_use_the_latest_or_a_chosen_version);
	suite_add_tcase(s, tc);
	return testenv_run_api_suite(s);
}
