/* Black-box tests of /api/v1/things (CRUD, validation, versions, filters) on a running bellwetherd. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"

static const char *tok(void)
{
	return testenv_get()->admin_token;
}

/* POST /api/v1/things with body (stolen); asserts 201 and returns the thing (new reference). */
static json_t *thing_create(json_t *body)
{
	struct http_resp r;
	json_t *thing;

	http_call_json(&r, "POST", tok(), body, "/api/v1/things");
	EXPECT_STATUS(&r, 201);
	ck_assert_msg(json_is_object(r.json), "create reply is not an object");
	thing = json_incref(r.json);
	http_resp_cleanup(&r);
	return thing;
}

static json_t *thing_get(const char *name)
{
	struct http_resp r;
	json_t *thing;

	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 200);
	thing = json_incref(r.json);
	http_resp_cleanup(&r);
	return thing;
}

static json_int_t version_of(const json_t *thing)
{
	json_t *v = json_object_get(thing, "version");

	ck_assert_msg(json_is_integer(v), "version is not an integer");
	return json_integer_value(v);
}

/* POST a create body (stolen) and expect a 400 with code and field; line is the caller's. */
static void create_rejected_at(int line, json_t *body, const char *code, const char *field)
{
	struct http_resp r;

	http_call_json(&r, "POST", tok(), body, "/api/v1/things");
	testenv_expect_error(__FILE__, line, &r, 400, code, field);
	http_resp_cleanup(&r);
}

#define EXPECT_CREATE_REJECTED(body, code, field) create_rejected_at(__LINE__, body, code, field)

START_TEST(create_get_patch_delete)
{
	char name[96];
	struct http_resp r;
	json_t *t;
	json_t *got;
	json_int_t v;

	testenv_uniq(name, sizeof(name), "crud");
	t = thing_create(json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", name, "hardware_type",
				   "esp32-v2", "firmware_version", "1.2.0", "attributes", "site",
				   "north", "row", "7"));
	ck_assert_str_eq(testenv_jstr(t, "name"), name);
	ck_assert_str_eq(testenv_jstr(t, "hardware_type"), "esp32-v2");
	ck_assert_str_eq(testenv_jstr(t, "firmware_version"), "1.2.0");
	ck_assert_str_eq(testenv_jstr(json_object_get(t, "attributes"), "site"), "north");
	ck_assert_str_eq(testenv_jstr(json_object_get(t, "attributes"), "row"), "7");
	ck_assert_int_eq(json_object_size(json_object_get(t, "attributes")), 2);
	v = version_of(t);
	ck_assert_msg(v >= 1, "initial version %lld", (long long)v);
	ck_assert_msg(testenv_matches(testenv_jstr(t, "created_at"), TESTENV_RFC3339_MS),
		      "created_at format");
	ck_assert_msg(testenv_matches(testenv_jstr(t, "updated_at"), TESTENV_RFC3339_MS),
		      "updated_at format");

	got = thing_get(name);
	ck_assert_msg(json_equal(got, t), "GET differs from the create reply");
	json_decref(got);

	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s, s:n}", "version", v, "firmware_version", "1.3.0-rc.1",
				 "hardware_type"),
		       "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(version_of(r.json), v + 1);
	ck_assert_str_eq(testenv_jstr(r.json, "firmware_version"), "1.3.0-rc.1");
	ck_assert_msg(json_is_null(json_object_get(r.json, "hardware_type")),
		      "hardware_type not cleared: %s", r.body);
	/* Untouched fields stay. */
	ck_assert_int_eq(json_object_size(json_object_get(r.json, "attributes")), 2);
	ck_assert_str_eq(testenv_jstr(r.json, "created_at"), testenv_jstr(t, "created_at"));
	/* Same fixed-width format: string order is time order. */
	ck_assert_msg(strcmp(testenv_jstr(r.json, "updated_at"), testenv_jstr(t, "updated_at")) >=
			      0,
		      "updated_at went backwards: %s", r.body);
	http_resp_cleanup(&r);

	got = thing_get(name);
	ck_assert_int_eq(version_of(got), v + 1);
	ck_assert_str_eq(testenv_jstr(got, "firmware_version"), "1.3.0-rc.1");
	json_decref(got);

	http_call(&r, "DELETE", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 204);
	ck_assert_msg(r.body_len == 0, "204 with a body: %s", r.body);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	json_decref(t);
}
END_TEST

START_TEST(create_minimal_has_null_defaults)
{
	char name[96];
	json_t *t;

	testenv_uniq(name, sizeof(name), "min");
	t = thing_create(json_pack("{s:s}", "name", name));
	ck_assert_msg(json_is_null(json_object_get(t, "hardware_type")), "hardware_type not null");
	ck_assert_msg(json_is_null(json_object_get(t, "firmware_version")),
		      "firmware_version not null");
	ck_assert_msg(json_is_object(json_object_get(t, "attributes")) &&
			      json_object_size(json_object_get(t, "attributes")) == 0,
		      "attributes not {}");
	json_decref(t);

	/* Explicit nulls are accepted too. */
	testenv_uniq(name, sizeof(name), "nulls");
	t = thing_create(
		json_pack("{s:s, s:n, s:n}", "name", name, "hardware_type", "firmware_version"));
	ck_assert_msg(json_is_null(json_object_get(t, "hardware_type")), "hardware_type not null");
	json_decref(t);
}
END_TEST

START_TEST(invalid_names_are_rejected)
{
	static const char *const bad[] = {
		"",    "a/b",	    "a b", "\xc3\xbc", "pump-\xe2\x82\xac",
		"a.b", "tab\there", "a?b", "a%20b",
	};
	char long_name[130];
	char ok_name[129];
	char prefix[96];
	struct http_resp r;
	json_t *t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_CREATE_REJECTED(json_pack("{s:s}", "name", bad[i]), "invalid_name", "/name");

	memset(long_name, 'a', 129);
	long_name[129] = '\0';
	EXPECT_CREATE_REJECTED(json_pack("{s:s}", "name", long_name), "invalid_name", "/name");

	/* Not a string or missing: still a 400 that points at /name. */
	http_call(&r, "POST", tok(), "{\"name\":42}", "/api/v1/things");
	EXPECT_STATUS(&r, 400);
	ck_assert_str_eq(testenv_err(&r, "field"), "/name");
	http_resp_cleanup(&r);
	http_call(&r, "POST", tok(), "{}", "/api/v1/things");
	EXPECT_STATUS(&r, 400);
	ck_assert_str_eq(testenv_err(&r, "field"), "/name");
	http_resp_cleanup(&r);

	/* 128 characters of the allowed alphabet is fine. */
	testenv_uniq(prefix, sizeof(prefix), "long");
	memset(ok_name, 'Z', 128);
	memcpy(ok_name, prefix, strlen(prefix));
	memcpy(ok_name + strlen(prefix), ":_", 2);
	ok_name[128] = '\0';
	t = thing_create(json_pack("{s:s}", "name", ok_name));
	ck_assert_str_eq(testenv_jstr(t, "name"), ok_name);
	json_decref(t);
	t = thing_get(ok_name);
	ck_assert_str_eq(testenv_jstr(t, "name"), ok_name);
	json_decref(t);
}
END_TEST

START_TEST(invalid_name_in_path_is_400)
{
	static const char *const bad[] = { "a%20b", "%C3%BC", "a.b", "a%2Bb" };
	char long_path[140];
	struct http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", bad[i]);
		EXPECT_ERROR(&r, 400, "invalid_name", NULL);
		http_resp_cleanup(&r);
	}
	memset(long_path, 'q', 129);
	long_path[129] = '\0';
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", long_path);
	EXPECT_ERROR(&r, 400, "invalid_name", NULL);
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:i}", "version", 1),
		       "/api/v1/things/a%%20b");
	EXPECT_ERROR(&r, 400, "invalid_name", NULL);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(attribute_limits)
{
	char name[96];
	char key[140];
	char val[802];
	json_t *attrs;
	json_t *t;

	testenv_uniq(name, sizeof(name), "attrs");

	/* 50 keys, 128-char key and 800-byte value are the maxima and are accepted. */
	attrs = json_object();
	for (int i = 0; i < 49; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		json_object_set_new(attrs, key, json_string("v"));
	}
	memset(key, 'k', 128);
	key[128] = '\0';
	memset(val, 'v', 800);
	val[800] = '\0';
	json_object_set_new(attrs, key, json_string(val));
	t = thing_create(json_pack("{s:s, s:o}", "name", name, "attributes", attrs));
	ck_assert_int_eq(json_object_size(json_object_get(t, "attributes")), 50);
	json_decref(t);

	/* 801-byte value. */
	memset(val, 'v', 801);
	val[801] = '\0';
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:{s:s}}", "name", name, "attributes", "big", val),
			       "bad_request", "/attributes/big");
	/* 800 bytes of two-byte characters = 1600 bytes. */
	{
		char wide[1601];

		for (int i = 0; i < 800; i++) {
			wide[2 * i] = '\xc3';
			wide[2 * i + 1] = '\xa9';
		}
		wide[1600] = '\0';
		EXPECT_CREATE_REJECTED(
			json_pack("{s:s, s:{s:s}}", "name", name, "attributes", "wide", wide),
			"bad_request", "/attributes/wide");
	}
	/* 129-char key. */
	memset(key, 'k', 129);
	key[129] = '\0';
	{
		char ptr[160];

		snprintf(ptr, sizeof(ptr), "/attributes/%s", key);
		EXPECT_CREATE_REJECTED(
			json_pack("{s:s, s:{s:s}}", "name", name, "attributes", key, "v"),
			"bad_request", ptr);
	}
	/* Bad key characters; non-string values. */
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:{s:s}}", "name", name, "attributes", "a b", "v"),
			       "bad_request", "/attributes/a b");
	/* The pointer escapes '/' as ~1 (RFC 6901). */
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:{s:s}}", "name", name, "attributes", "a/b", "v"),
			       "bad_request", "/attributes/a~1b");
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:{s:i}}", "name", name, "attributes", "n", 5),
			       "bad_request", "/attributes/n");
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:{s:b}}", "name", name, "attributes", "b", 1),
			       "bad_request", "/attributes/b");
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:{s:n}}", "name", name, "attributes", "z"),
			       "bad_request", "/attributes/z");
	EXPECT_CREATE_REJECTED(
		json_pack("{s:s, s:{s:{s:s}}}", "name", name, "attributes", "o", "x", "y"),
		"bad_request", "/attributes/o");
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:[s]}", "name", name, "attributes", "x"),
			       "bad_request", "/attributes");
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:s}", "name", name, "attributes", "x"),
			       "bad_request", "/attributes");

	/* 51 keys: a limit, so limit_exceeded (also HTTP 400), as for every count limit. */
	attrs = json_object();
	for (int i = 0; i < 51; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		json_object_set_new(attrs, key, json_string("v"));
	}
	testenv_uniq(name, sizeof(name), "attrs51");
	{
		struct http_resp r;
		const char *field;

		http_call_json(&r, "POST", tok(),
			       json_pack("{s:s, s:o}", "name", name, "attributes", attrs),
			       "/api/v1/things");
		EXPECT_ERROR(&r, 400, "limit_exceeded", NULL);
		field = testenv_err(&r, "field");
		ck_assert_msg(field && strncmp(field, "/attributes", 11) == 0,
			      "51 attributes: field %s", field ? field : "(none)");
		http_resp_cleanup(&r);
	}

	/* None of the rejected bodies created the thing. */
	{
		struct http_resp r;

		http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
		EXPECT_ERROR(&r, 404, "not_found", NULL);
		http_resp_cleanup(&r);
	}
}
END_TEST

START_TEST(firmware_and_hardware_validation)
{
	static const char *const bad_fw[] = {
		"1.2", "v1.2.0", "01.2.3", "1.2.3-", "1.2.3+", "abc", "", "1.2.3.4", "1.2.-3",
	};
	static const char *const good_fw[] = {
		"0.0.0",
		"1.2.3-rc.1+build.5",
		"10.20.30",
		"1.0.0-alpha-a.b-c-somethinglong+build.1",
	};
	static const char *const bad_hw[] = { "", "a b", "esp/32", "\xc3\xa9sp" };
	char name[96];
	char long_hw[130];
	json_t *t;

	testenv_uniq(name, sizeof(name), "fw");
	for (size_t i = 0; i < sizeof(bad_fw) / sizeof(bad_fw[0]); i++)
		EXPECT_CREATE_REJECTED(
			json_pack("{s:s, s:s}", "name", name, "firmware_version", bad_fw[i]),
			"bad_request", "/firmware_version");
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:i}", "name", name, "firmware_version", 1),
			       "bad_request", "/firmware_version");
	for (size_t i = 0; i < sizeof(bad_hw) / sizeof(bad_hw[0]); i++)
		EXPECT_CREATE_REJECTED(
			json_pack("{s:s, s:s}", "name", name, "hardware_type", bad_hw[i]),
			"bad_request", "/hardware_type");
	memset(long_hw, 'h', 129);
	long_hw[129] = '\0';
	EXPECT_CREATE_REJECTED(json_pack("{s:s, s:s}", "name", name, "hardware_type", long_hw),
			       "bad_request", "/hardware_type");

	for (size_t i = 0; i < sizeof(good_fw) / sizeof(good_fw[0]); i++) {
		testenv_uniq(name, sizeof(name), "fwok");
		t = thing_create(json_pack("{s:s, s:s, s:s}", "name", name, "firmware_version",
					   good_fw[i], "hardware_type", "esp32:rev_b.2-x"));
		ck_assert_str_eq(testenv_jstr(t, "firmware_version"), good_fw[i]);
		json_decref(t);
	}
}
END_TEST

START_TEST(duplicate_name_is_409)
{
	char name[96];
	struct http_resp r;
	json_t *t;
	json_t *got;

	testenv_uniq(name, sizeof(name), "dup");
	t = thing_create(json_pack("{s:s, s:s}", "name", name, "hardware_type", "first"));
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s}", "name", name, "hardware_type", "second"),
		       "/api/v1/things");
	EXPECT_ERROR(&r, 409, "already_exists", NULL);
	http_resp_cleanup(&r);
	got = thing_get(name);
	ck_assert_msg(json_equal(got, t), "duplicate create changed the thing");
	json_decref(got);
	json_decref(t);
}
END_TEST

START_TEST(patch_version_rules)
{
	char name[96];
	struct http_resp r;
	json_t *t;
	json_int_t v;

	testenv_uniq(name, sizeof(name), "ver");
	t = thing_create(json_pack("{s:s}", "name", name));
	v = version_of(t);

	http_call_json(&r, "PATCH", tok(), json_pack("{s:s}", "firmware_version", "1.0.0"),
		       "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:s}", "version", "1"), "/api/v1/things/%s",
		       name);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);

	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s}", "version", v, "firmware_version", "1.0.0"),
		       "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(version_of(r.json), v + 1);
	http_resp_cleanup(&r);

	/* Reusing the old version is stale, and so is a future one. */
	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s}", "version", v, "firmware_version", "9.9.9"),
		       "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 409, "version_conflict", NULL);
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s}", "version", v + 5, "firmware_version", "9.9.9"),
		       "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 409, "version_conflict", NULL);
	http_resp_cleanup(&r);
	json_decref(t);
	t = thing_get(name);
	ck_assert_str_eq(testenv_jstr(t, "firmware_version"), "1.0.0");
	ck_assert_int_eq(version_of(t), v + 1);

	/* Validation applies to PATCH too. */
	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s}", "version", v + 1, "firmware_version", "1.0"),
		       "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 400, "bad_request", "/firmware_version");
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:{s:i}}", "version", v + 1, "merge_attributes", "k", 1),
		       "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 400, "bad_request", "/merge_attributes/k");
	http_resp_cleanup(&r);

	/* Unknown thing. */
	testenv_uniq(name, sizeof(name), "ghost");
	http_call_json(&r, "PATCH", tok(), json_pack("{s:i}", "version", 1), "/api/v1/things/%s",
		       name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	json_decref(t);
}
END_TEST

struct patch_job {
	const char *name;
	json_int_t version;
	const char *firmware;
	pthread_barrier_t *start;
	long status;
	char code[64];
};

static void *patch_thread(void *arg)
{
	struct patch_job *job = arg;
	struct http_resp r;
	const char *code;

	pthread_barrier_wait(job->start);
	http_call_json(
		&r, "PATCH", tok(),
		json_pack("{s:I, s:s}", "version", job->version, "firmware_version", job->firmware),
		"/api/v1/things/%s", job->name);
	job->status = r.status;
	code = testenv_err(&r, "code");
	snprintf(job->code, sizeof(job->code), "%s", code ? code : "");
	http_resp_cleanup(&r);
	return NULL;
}

START_TEST(concurrent_patches_exactly_one_wins)
{
	/* Several rounds make a lucky serial interleaving unlikely to hide a lost update. */
	for (int round = 0; round < 5; round++) {
		char name[96];
		pthread_barrier_t start;
		pthread_t th[2];
		struct patch_job jobs[2];
		json_t *t;
		json_int_t v;
		int ok = 0;
		int conflict = 0;
		const char *winner = NULL;

		testenv_uniq(name, sizeof(name), "race");
		t = thing_create(json_pack("{s:s}", "name", name));
		v = version_of(t);
		json_decref(t);
		ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
		for (int i = 0; i < 2; i++) {
			jobs[i] = (struct patch_job){ .name = name,
						      .version = v,
						      .firmware = i ? "2.0.0" : "3.0.0",
						      .start = &start };
			ck_assert_int_eq(pthread_create(&th[i], NULL, patch_thread, &jobs[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < 2; i++) {
			if (jobs[i].status == 200) {
				ok++;
				winner = jobs[i].firmware;
			} else if (jobs[i].status == 409 &&
				   strcmp(jobs[i].code, "version_conflict") == 0) {
				conflict++;
			}
		}
		ck_assert_msg(ok == 1 && conflict == 1,
			      "round %d: two PATCHes at version %lld gave %ld (%s) and %ld (%s)",
			      round, (long long)v, jobs[0].status, jobs[0].code, jobs[1].status,
			      jobs[1].code);
		t = thing_get(name);
		ck_assert_int_eq(version_of(t), v + 1);
		ck_assert_str_eq(testenv_jstr(t, "firmware_version"), winner);
		json_decref(t);
	}
}
END_TEST

struct create_job {
	const char *name;
	pthread_barrier_t *start;
	long status;
	char code[64];
};

static void *create_thread(void *arg)
{
	struct create_job *job = arg;
	struct http_resp r;
	const char *code;

	pthread_barrier_wait(job->start);
	http_call_json(&r, "POST", tok(), json_pack("{s:s}", "name", job->name), "/api/v1/things");
	job->status = r.status;
	code = testenv_err(&r, "code");
	snprintf(job->code, sizeof(job->code), "%s", code ? code : "");
	http_resp_cleanup(&r);
	return NULL;
}

START_TEST(concurrent_creates_exactly_one_wins)
{
	/* The loser must see 409 already_exists, not a 500 from the unique violation. */
	for (int round = 0; round < 5; round++) {
		char name[96];
		pthread_barrier_t start;
		pthread_t th[2];
		struct create_job jobs[2];
		int created = 0;
		int exists = 0;

		testenv_uniq(name, sizeof(name), "crace");
		ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
		for (int i = 0; i < 2; i++) {
			jobs[i] = (struct create_job){ .name = name, .start = &start };
			ck_assert_int_eq(pthread_create(&th[i], NULL, create_thread, &jobs[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < 2; i++) {
			if (jobs[i].status == 201)
				created++;
			else if (jobs[i].status == 409 &&
				 strcmp(jobs[i].code, "already_exists") == 0)
				exists++;
		}
		ck_assert_msg(created == 1 && exists == 1,
			      "round %d: two creates of %s gave %ld (%s) and %ld (%s)", round, name,
			      jobs[0].status, jobs[0].code, jobs[1].status, jobs[1].code);
	}
}
END_TEST

START_TEST(attributes_replace_and_merge)
{
	char name[96];
	struct http_resp r;
	json_t *t;
	json_t *attrs;
	json_int_t v;

	testenv_uniq(name, sizeof(name), "merge");
	t = thing_create(json_pack("{s:s, s:{s:s, s:s, s:s}}", "name", name, "attributes", "a", "1",
				   "b", "2", "c", "3"));
	v = version_of(t);
	json_decref(t);

	/* null deletes b, c is overwritten, d is added, a stays. Deleting a missing key is fine. */
	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:{s:n, s:s, s:s, s:n}}", "version", v, "merge_attributes",
				 "b", "c", "30", "d", "4", "never-there"),
		       "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 200);
	attrs = json_object_get(r.json, "attributes");
	ck_assert_msg(json_object_size(attrs) == 3, "after merge: %s", r.body);
	ck_assert_str_eq(testenv_jstr(attrs, "a"), "1");
	ck_assert_str_eq(testenv_jstr(attrs, "c"), "30");
	ck_assert_str_eq(testenv_jstr(attrs, "d"), "4");
	ck_assert_ptr_null(json_object_get(attrs, "b"));
	ck_assert_int_eq(version_of(r.json), v + 1);
	http_resp_cleanup(&r);

	/* attributes replaces the whole map. */
	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:{s:s}}", "version", v + 1, "attributes", "z", "9"),
		       "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 200);
	attrs = json_object_get(r.json, "attributes");
	ck_assert_msg(json_object_size(attrs) == 1 && testenv_jstr(attrs, "z"), "after replace: %s",
		      r.body);
	http_resp_cleanup(&r);

	/* A merge that would exceed 50 keys is rejected and changes nothing. */
	{
		json_t *many = json_object();
		char key[16];

		for (int i = 0; i < 50; i++) {
			snprintf(key, sizeof(key), "m%02d", i);
			json_object_set_new(many, key, json_string("v"));
		}
		http_call_json(&r, "PATCH", tok(),
			       json_pack("{s:I, s:o}", "version", v + 2, "merge_attributes", many),
			       "/api/v1/things/%s", name);
		EXPECT_ERROR(&r, 400, "limit_exceeded", NULL);
		ck_assert_msg(testenv_err(&r, "field") &&
				      strncmp(testenv_err(&r, "field"), "/", 1) == 0,
			      "51 merged attributes: no field: %s", r.body);
		http_resp_cleanup(&r);
	}
	t = thing_get(name);
	ck_assert_int_eq(version_of(t), v + 2);
	ck_assert_int_eq(json_object_size(json_object_get(t, "attributes")), 1);
	json_decref(t);
}
END_TEST

START_TEST(delete_with_version)
{
	char name[96];
	struct http_resp r;
	json_t *t;
	json_int_t v;

	testenv_uniq(name, sizeof(name), "delv");
	t = thing_create(json_pack("{s:s}", "name", name));
	v = version_of(t);
	json_decref(t);

	http_call(&r, "DELETE", tok(), NULL, "/api/v1/things/%s?version=%lld", name,
		  (long long)(v + 1));
	EXPECT_ERROR(&r, 409, "version_conflict", NULL);
	http_resp_cleanup(&r);
	t = thing_get(name);
	json_decref(t);

	http_call(&r, "DELETE", tok(), NULL, "/api/v1/things/%s?version=abc", name);
	EXPECT_STATUS(&r, 400);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/things/%s?version=%lld", name, (long long)v);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
}
END_TEST

/* Names of a list reply's items, in order, joined with ',' into buf. */
static const char *names_of(const json_t *items, char *buf, size_t size)
{
	size_t i;
	json_t *item;
	size_t off = 0;

	buf[0] = '\0';
	json_array_foreach(items, i, item) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? "," : "",
				 testenv_jstr(item, "name") ? testenv_jstr(item, "name") : "?");

		ck_assert_msg(n >= 0 && (size_t)n < size - off, "names_of: buffer too small");
		off += (size_t)n;
	}
	return buf;
}

/* Fixture for the filter tests: five things under one prefix. */
struct fleet {
	char prefix[96];
	char hw[96];
	char n[6][128];
};

static void fleet_make(struct fleet *f)
{
	static const struct {
		const char *fw;
		const char *site;
		bool own_hw;
	} spec[6] = {
		{ "1.1.9", "north", true },   { "1.2.0", "north", true },
		{ "1.10.0", "north", false }, { "1.2.0-rc.1", "north", true },
		{ "1.0.0", "south", true },   { NULL, "north", true },
	};
	json_t *t;

	testenv_uniq(f->prefix, sizeof(f->prefix), "flt");
	testenv_uniq(f->hw, sizeof(f->hw), "hw");
	for (int i = 0; i < 6; i++) {
		json_t *body;

		char prefix[sizeof(f->prefix)];

		/* a local copy: gcc -Wrestrict cannot tell two fields of *f apart */
		memcpy(prefix, f->prefix, sizeof(prefix));
		snprintf(f->n[i], sizeof(f->n[i]), "%s-%d", prefix, i);
		body = json_pack("{s:s, s:s, s:{s:s}}", "name", f->n[i], "hardware_type",
				 spec[i].own_hw ? f->hw : "other-hw", "attributes", "site",
				 spec[i].site);
		ck_assert_ptr_nonnull(body);
		if (spec[i].fw)
			json_object_set_new(body, "firmware_version", json_string(spec[i].fw));
		t = thing_create(body);
		json_decref(t);
	}
}

/* GET /api/v1/things?name_prefix=<prefix>&<extra> (all pages); names joined in buf. */
static const char *list_names(const struct fleet *f, const char *extra, char *buf, size_t size)
{
	char path[1024];
	json_t *items;

	snprintf(path, sizeof(path), "/api/v1/things?limit=1000&name_prefix=%s%s%s", f->prefix,
		 extra ? "&" : "", extra ? extra : "");
	items = testenv_list_all(tok(), path, NULL);
	names_of(items, buf, size);
	json_decref(items);
	return buf;
}

START_TEST(list_filters_and_pagination)
{
	struct fleet f;
	char got[2048];
	char want[2048];
	char path[512];
	json_t *items;
	int pages;

	fleet_make(&f);

	snprintf(want, sizeof(want), "%s,%s,%s,%s,%s,%s", f.n[0], f.n[1], f.n[2], f.n[3], f.n[4],
		 f.n[5]);
	ck_assert_str_eq(list_names(&f, NULL, got, sizeof(got)), want);

	/* limit=2 -> 3 pages with the same order. */
	snprintf(path, sizeof(path), "/api/v1/things?limit=2&name_prefix=%s", f.prefix);
	items = testenv_list_all(tok(), path, &pages);
	ck_assert_str_eq(names_of(items, got, sizeof(got)), want);
	ck_assert_int_eq(pages, 3);
	json_decref(items);

	/* hardware_type alone (unique value, no prefix needed). */
	snprintf(path, sizeof(path), "/api/v1/things?limit=1000&hardware_type=%s", f.hw);
	items = testenv_list_all(tok(), path, NULL);
	snprintf(want, sizeof(want), "%s,%s,%s,%s,%s", f.n[0], f.n[1], f.n[3], f.n[4], f.n[5]);
	ck_assert_str_eq(names_of(items, got, sizeof(got)), want);
	json_decref(items);

	snprintf(want, sizeof(want), "%s", f.n[1]);
	ck_assert_str_eq(list_names(&f, "firmware_version=1.2.0", got, sizeof(got)), want);
	snprintf(want, sizeof(want), "%s", f.n[3]);
	ck_assert_str_eq(list_names(&f, "firmware_version=1.2.0-rc.1", got, sizeof(got)), want);
	snprintf(want, sizeof(want), "%s", f.n[2]);
	ck_assert_str_eq(list_names(&f, "hardware_type=other-hw", got, sizeof(got)), want);
	ck_assert_str_eq(list_names(&f, "firmware_version=9.9.9", got, sizeof(got)), "");
}
END_TEST

START_TEST(list_query_filter)
{
	struct fleet f;
	char got[2048];
	char want[2048];
	char extra[512];
	char *q;

	fleet_make(&f);

	/* Semver order: 1.1.9 and 1.2.0-rc.1 are below 1.2.0; 1.10.0 is not; null never matches. */
	q = http_escape("firmware_version < 1.2.0 and attributes.site = north");
	ck_assert_ptr_nonnull(q);
	snprintf(extra, sizeof(extra), "query=%s", q);
	free(q);
	snprintf(want, sizeof(want), "%s,%s", f.n[0], f.n[3]);
	ck_assert_str_eq(list_names(&f, extra, got, sizeof(got)), want);

	q = http_escape("firmware_version >= 1.2.0");
	ck_assert_ptr_nonnull(q);
	snprintf(extra, sizeof(extra), "query=%s", q);
	free(q);
	snprintf(want, sizeof(want), "%s,%s", f.n[1], f.n[2]);
	ck_assert_str_eq(list_names(&f, extra, got, sizeof(got)), want);

	/* query combines with the other filters. */
	q = http_escape("attributes.site = north");
	ck_assert_ptr_nonnull(q);
	snprintf(extra, sizeof(extra), "query=%s&hardware_type=%s", q, f.hw);
	free(q);
	snprintf(want, sizeof(want), "%s,%s,%s,%s", f.n[0], f.n[1], f.n[3], f.n[5]);
	ck_assert_str_eq(list_names(&f, extra, got, sizeof(got)), want);
}
END_TEST

START_TEST(filter_values_are_percent_decoded_once)
{
	char name[96];
	char hw[96];
	char path[512];
	char *q;
	json_t *t;
	json_t *items;

	testenv_uniq(name, sizeof(name), "pct");
	testenv_uniq(hw, sizeof(hw), "pcthw");
	t = thing_create(json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", name, "hardware_type", hw,
				   "firmware_version", "1.0.0+build.5", "attributes", "note",
				   "50%41 off+on"));
	json_decref(t);

	/* %2B is '+', not a space. */
	snprintf(path, sizeof(path),
		 "/api/v1/things?hardware_type=%s&firmware_version=1.0.0%%2Bbuild.5", hw);
	items = testenv_list_all(tok(), path, NULL);
	ck_assert_msg(json_array_size(items) == 1, "firmware_version with '+': %zu items",
		      json_array_size(items));
	json_decref(items);

	/* %25 is a literal '%' that must not be decoded a second time. */
	q = http_escape("attributes.note = \"50%41 off+on\"");
	ck_assert_ptr_nonnull(q);
	snprintf(path, sizeof(path), "/api/v1/things?hardware_type=%s&query=%s", hw, q);
	free(q);
	items = testenv_list_all(tok(), path, NULL);
	ck_assert_msg(json_array_size(items) == 1, "attribute value with '%%': %zu items",
		      json_array_size(items));
	json_decref(items);
}
END_TEST

START_TEST(invalid_query_is_400)
{
	static const char *const bad[] = {
		"firmware_version <",
		"and and",
		"(hardware_type = x",
		"hardware_type == = x",
	};
	struct http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *q = http_escape(bad[i]);

		ck_assert_ptr_nonnull(q);
		http_call(&r, "GET", tok(), NULL, "/api/v1/things?query=%s", q);
		free(q);
		EXPECT_ERROR(&r, 400, "invalid_query", NULL);
		http_resp_cleanup(&r);
	}
}
END_TEST

static Suite *things_suite(void)
{
	Suite *s = suite_create("api_things");
	TCase *crud = tcase_create("crud");
	TCase *list = tcase_create("list");

	tcase_set_timeout(crud, 60);
	tcase_add_test(crud, create_get_patch_delete);
	tcase_add_test(crud, create_minimal_has_null_defaults);
	tcase_add_test(crud, invalid_names_are_rejected);
	tcase_add_test(crud, invalid_name_in_path_is_400);
	tcase_add_test(crud, attribute_limits);
	tcase_add_test(crud, firmware_and_hardware_validation);
	tcase_add_test(crud, duplicate_name_is_409);
	tcase_add_test(crud, patch_version_rules);
	tcase_add_test(crud, concurrent_patches_exactly_one_wins);
	tcase_add_test(crud, concurrent_creates_exactly_one_wins);
	tcase_add_test(crud, attributes_replace_and_merge);
	tcase_add_test(crud, delete_with_version);
	suite_add_tcase(s, crud);

	tcase_set_timeout(list, 60);
	tcase_add_test(list, list_filters_and_pagination);
	tcase_add_test(list, list_query_filter);
	tcase_add_test(list, filter_values_are_percent_decoded_once);
	tcase_add_test(list, invalid_query_is_400);
	suite_add_tcase(s, list);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(things_suite());
}
