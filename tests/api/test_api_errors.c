/* Black-box tests of request parsing, routing and error replies of a running bellwetherd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"

#define MIB (1024u * 1024u)

static const char *tok(void)
{
	return testenv_get()->admin_token;
}

/* POST raw body bytes to path with a content type (NULL: no Content-Type header). */
static void post_raw(struct http_resp *r, const char *path, const char *body, size_t len,
		     const char *ctype, bool chunked)
{
	struct http_req req = {
		.method = "POST",
		.path = path,
		.token = tok(),
		.body = body,
		.body_len = len,
		.content_type = ctype,
		.chunked = chunked,
		.timeout_ms = 20000,
	};

	http_do(&req, r);
}

static void expect_server_healthy(void)
{
	struct http_resp r;

	http_call(&r, "GET", NULL, NULL, "/healthz");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/whoami");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
}

START_TEST(malformed_json_reports_line_and_column)
{
	static const char body[] = "{\n  \"name\": \"x\",\n  oops\n}";
	struct http_resp r;
	const char *msg;

	post_raw(&r, "/api/v1/things", body, strlen(body), "application/json", false);
	EXPECT_ERROR(&r, 400, "invalid_json", NULL);
	msg = testenv_err(&r, "message");
	ck_assert_msg(strcasestr(msg, "line") && strcasestr(msg, "column"),
		      "invalid_json message lacks line/column: %s", msg);
	ck_assert_msg(strchr(msg, '3') != NULL, "invalid_json message does not name line 3: %s",
		      msg);
	http_resp_cleanup(&r);

	/* Other syntax errors, trailing garbage, invalid UTF-8, runaway nesting. */
	{
		static const char *const bad[] = {
			"{",
			"{\"name\":}",
			"{\"name\":\"x\"} {}",
			"{\"name\":\"x\"}x",
			"{'name':'x'}",
			"{\"name\":\"\xff\xfe\"}",
			"{\"name\":\"x\",}",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			post_raw(&r, "/api/v1/things", bad[i], strlen(bad[i]), "application/json",
				 false);
			EXPECT_ERROR(&r, 400, "invalid_json", NULL);
			http_resp_cleanup(&r);
		}
	}
	{
		size_t depth = 100000;
		char *deep = malloc(depth + 1);

		ck_assert_ptr_nonnull(deep);
		memset(deep, '[', depth);
		deep[depth] = '\0';
		post_raw(&r, "/api/v1/things", deep, depth, "application/json", false);
		EXPECT_ERROR(&r, 400, "invalid_json", NULL);
		http_resp_cleanup(&r);
		free(deep);
	}
	expect_server_healthy();
}
END_TEST

START_TEST(duplicate_keys_are_invalid_json)
{
	char name[96];
	char body[512];
	struct http_resp r;

	testenv_uniq(name, sizeof(name), "dupkey");
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"name\":\"%s-2\"}", name, name);
	post_raw(&r, "/api/v1/things", body, strlen(body), "application/json", false);
	EXPECT_ERROR(&r, 400, "invalid_json", NULL);
	http_resp_cleanup(&r);

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"attributes\":{\"a\":\"1\",\"a\":\"2\"}}",
		 name);
	post_raw(&r, "/api/v1/things", body, strlen(body), "application/json", false);
	EXPECT_ERROR(&r, 400, "invalid_json", NULL);
	http_resp_cleanup(&r);

	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(body_must_be_an_object)
{
	static const char *const bad[] = {
		"[]", "[{\"name\":\"x\"}]", "\"x\"", "42", "null", "true"
	};
	struct http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		post_raw(&r, "/api/v1/things", bad[i], strlen(bad[i]), "application/json", false);
		EXPECT_ERROR(&r, 400, "bad_request", NULL);
		http_resp_cleanup(&r);
		post_raw(&r, "/api/v1/groups", bad[i], strlen(bad[i]), "application/json", false);
		EXPECT_ERROR(&r, 400, "bad_request", NULL);
		http_resp_cleanup(&r);
	}

	/* An empty body is not JSON at all. */
	post_raw(&r, "/api/v1/things", "", 0, "application/json", false);
	EXPECT_STATUS(&r, 400);
	ck_assert_msg(testenv_err(&r, "code") &&
			      (strcmp(testenv_err(&r, "code"), "invalid_json") == 0 ||
			       strcmp(testenv_err(&r, "code"), "bad_request") == 0),
		      "empty body: %s", r.body);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(content_type_is_enforced)
{
	static const char *const bad[] = { "text/plain", "application/x-www-form-urlencoded",
					   "application/jsonx", "application/xml",
					   "multipart/form-data; boundary=x" };
	char name[96];
	char body[256];
	struct http_resp r;

	testenv_uniq(name, sizeof(name), "ctype");
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		post_raw(&r, "/api/v1/things", body, strlen(body), bad[i], false);
		EXPECT_ERROR(&r, 415, "unsupported_media_type", NULL);
		http_resp_cleanup(&r);
	}
	post_raw(&r, "/api/v1/things", body, strlen(body), NULL, false);
	EXPECT_ERROR(&r, 415, "unsupported_media_type", NULL);
	http_resp_cleanup(&r);
	/* Nothing was created by the rejected requests. */
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	post_raw(&r, "/api/v1/things", body, strlen(body), "application/json; charset=utf-8",
		 false);
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);

	/* PATCH too. */
	{
		struct http_req req = { .method = "PATCH",
					.token = tok(),
					.body = "{\"version\":1}",
					.body_len = 13,
					.content_type = "text/plain" };
		char path[160];

		snprintf(path, sizeof(path), "/api/v1/things/%s", name);
		req.path = path;
		http_do(&req, &r);
		EXPECT_ERROR(&r, 415, "unsupported_media_type", NULL);
		http_resp_cleanup(&r);
	}
}
END_TEST

/* A valid create body padded with trailing whitespace to exactly size bytes (malloc'd). */
static char *padded_body(const char *name, size_t size)
{
	char head[256];
	size_t n = (size_t)snprintf(head, sizeof(head), "{\"name\":\"%s\"}", name);
	char *body = malloc(size + 1);

	ck_assert_ptr_nonnull(body);
	ck_assert_uint_le(n, size);
	memset(body, ' ', size);
	memcpy(body, head, n);
	body[size] = '\0';
	return body;
}

START_TEST(body_over_1_mib_is_413)
{
	char name[96];
	char *body;
	struct http_resp r;

	testenv_uniq(name, sizeof(name), "big");
	body = padded_body(name, MIB + 1);
	post_raw(&r, "/api/v1/things", body, MIB + 1, "application/json", false);
	EXPECT_ERROR(&r, 413, "payload_too_large", NULL);
	http_resp_cleanup(&r);
	free(body);
	expect_server_healthy();

	/* Without Content-Length the cap applies while streaming. */
	body = padded_body(name, 3 * MIB);
	post_raw(&r, "/api/v1/things", body, 3 * MIB, "application/json", true);
	EXPECT_ERROR(&r, 413, "payload_too_large", NULL);
	http_resp_cleanup(&r);
	free(body);
	expect_server_healthy();

	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	/* Exactly 1 MiB is within the limit. */
	body = padded_body(name, MIB);
	post_raw(&r, "/api/v1/things", body, MIB, "application/json", false);
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
	free(body);
}
END_TEST

START_TEST(unknown_route_is_404_json)
{
	static const char *const paths[] = { "/api/v1/nope", "/api/v2/things",
					     "/api/v1/things/a/b/c", "/api/v1/" };
	struct http_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		http_call(&r, "GET", tok(), NULL, "%s", paths[i]);
		EXPECT_ERROR(&r, 404, "route_not_found", NULL);
		http_resp_cleanup(&r);
	}
	http_call(&r, "POST", tok(), "{}", "/api/v1/nope");
	EXPECT_ERROR(&r, 404, "route_not_found", NULL);
	http_resp_cleanup(&r);
}
END_TEST

/* True when the comma-separated Allow value lists method. */
static bool allow_has(const char *allow, const char *method)
{
	size_t len = strlen(method);
	const char *p = allow;

	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, method, len) == 0 &&
		    (p[len] == '\0' || p[len] == ',' || p[len] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

START_TEST(wrong_method_is_405_with_allow)
{
	static const struct {
		const char *method;
		const char *path;
		const char *allowed[3];
		const char *not_allowed;
	} cases[] = {
		{ "PUT", "/api/v1/things", { "GET", "POST", NULL }, "DELETE" },
		{ "DELETE", "/api/v1/whoami", { "GET", NULL, NULL }, "POST" },
		{ "POST", "/api/v1/things/x1", { "GET", "PATCH", "DELETE" }, "POST" },
		{ "PATCH", "/api/v1/tokens", { "GET", "POST", NULL }, "PATCH" },
		{ "POST", "/healthz", { "GET", NULL, NULL }, "POST" },
	};
	struct http_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *allow;

		http_call(&r, cases[i].method, tok(), NULL, "%s", cases[i].path);
		EXPECT_ERROR(&r, 405, "method_not_allowed", NULL);
		allow = http_resp_header(&r, "Allow");
		ck_assert_msg(allow != NULL, "%s: 405 without Allow", r.desc);
		for (int j = 0; j < 3 && cases[i].allowed[j]; j++)
			ck_assert_msg(allow_has(allow, cases[i].allowed[j]),
				      "%s: Allow '%s' lacks %s", r.desc, allow,
				      cases[i].allowed[j]);
		if (cases[i].not_allowed)
			ck_assert_msg(!allow_has(allow, cases[i].not_allowed),
				      "%s: Allow '%s' lists %s", r.desc, allow,
				      cases[i].not_allowed);
		http_resp_cleanup(&r);
	}
}
END_TEST

/* The error names the unknown field: as error.field or in the message. */
static void expect_unknown_field(const struct http_resp *r, const char *pointer, const char *key)
{
	const char *field = testenv_err(r, "field");
	const char *msg = testenv_err(r, "message");

	EXPECT_ERROR(r, 400, "bad_request", NULL);
	ck_assert_msg((field && strcmp(field, pointer) == 0) || (msg && strstr(msg, key)),
		      "%s: unknown field %s not named: %s", r->desc, pointer, r->body);
}

START_TEST(unknown_fields_are_rejected)
{
	char name[96];
	char path[160];
	struct http_resp r;

	testenv_uniq(name, sizeof(name), "unk");
	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", name, "colour", "red"),
		       "/api/v1/things");
	expect_unknown_field(&r, "/colour", "colour");
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", tok(), json_pack("{s:s}", "name", name), "/api/v1/things");
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/things/%s", name);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:i, s:s}", "version", 1, "nmae", "x"), "%s",
		       path);
	expect_unknown_field(&r, "/nmae", "nmae");
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s}", "name", name, "descripton", "typo"),
		       "/api/v1/groups");
	expect_unknown_field(&r, "/descripton", "descripton");
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:b}", "name", name, "role", "viewer", "superuser", 1),
		       "/api/v1/tokens");
	expect_unknown_field(&r, "/superuser", "superuser");
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", tok(),
		       json_pack("{s:[{s:s, s:i}]}", "things", "name", name, "extra", 1),
		       "/api/v1/things/bulk");
	expect_unknown_field(&r, "/things/0/extra", "extra");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(bad_limit_and_cursor_are_400)
{
	static const char *const lists[] = { "/api/v1/things", "/api/v1/groups", "/api/v1/tokens",
					     "/api/v1/audit" };
	static const char *const bad_limits[] = { "0", "1001", "-1",  "abc",
						  "",  "1.5",  "10x", "99999999999999999999" };
	static const char *const bad_cursors[] = { "garbage", "!!!!", "AAAA",
						   "x%20y",   "v1.",  "v1.e30" };
	struct http_resp r;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		for (size_t j = 0; j < sizeof(bad_limits) / sizeof(bad_limits[0]); j++) {
			http_call(&r, "GET", tok(), NULL, "%s?limit=%s", lists[i], bad_limits[j]);
			EXPECT_ERROR(&r, 400, "bad_request", "/limit");
			http_resp_cleanup(&r);
		}
		for (size_t j = 0; j < sizeof(bad_cursors) / sizeof(bad_cursors[0]); j++) {
			http_call(&r, "GET", tok(), NULL, "%s?cursor=%s", lists[i], bad_cursors[j]);
			EXPECT_ERROR(&r, 400, "invalid_cursor", NULL);
			http_resp_cleanup(&r);
		}
		http_call(&r, "GET", tok(), NULL, "%s?limit=1", lists[i]);
		EXPECT_STATUS(&r, 200);
		ck_assert_msg(json_array_size(json_object_get(r.json, "items")) <= 1,
			      "%s: limit=1 gave more items", r.desc);
		http_resp_cleanup(&r);
		http_call(&r, "GET", tok(), NULL, "%s?limit=1000", lists[i]);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
	}
}
END_TEST

/*
 * A query argument that is not valid percent-encoding must be rejected, never silently dropped:
 * a dropped filter turns "list things of hardware X" into "list every thing".
 */
START_TEST(malformed_query_encoding_is_400)
{
	static const char *const args[] = {
		"hardware_type=%zz",	   "hardware_type=ab%00cd", "query=%zz",
		"query=name%20%3D%20x%00", "name_prefix=%g1",	    "firmware_version=1.0.0%",
	};
	struct http_resp r;

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		http_call(&r, "GET", tok(), NULL, "/api/v1/things?limit=1&%s", args[i]);
		EXPECT_STATUS(&r, 400);
		ck_assert_msg(testenv_err(&r, "code") != NULL, "%s: no error.code: %s", r.desc,
			      r.body);
		http_resp_cleanup(&r);
	}
	http_call(&r, "GET", tok(), NULL, "/api/v1/things?limit=%%zz");
	EXPECT_ERROR(&r, 400, "bad_request", "/limit");
	http_resp_cleanup(&r);
	/* malformed encoding is caught by the HTTP layer for every argument alike */
	http_call(&r, "GET", tok(), NULL, "/api/v1/things?limit=1&cursor=%%zz");
	EXPECT_ERROR(&r, 400, "bad_request", "/cursor");
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things?limit=1&cursor=%%00");
	EXPECT_ERROR(&r, 400, "bad_request", "/cursor");
	http_resp_cleanup(&r);
	/* well-encoded garbage reaches the cursor decoder */
	http_call(&r, "GET", tok(), NULL, "/api/v1/things?limit=1&cursor=bm90LWEtY3Vyc29y");
	EXPECT_ERROR(&r, 400, "invalid_cursor", "/cursor");
	http_resp_cleanup(&r);
}
END_TEST

/* GET with the given X-Request-Id header line (NULL: none). */
static void get_with_rid(struct http_resp *r, const char *path, const char *header)
{
	const char *hdrs[] = { header, NULL };
	struct http_req req = { .method = "GET", .path = path, .token = tok(), .headers = hdrs };

	http_do(&req, r);
}

START_TEST(request_id_is_echoed_or_minted)
{
	static const char *const RID_RE = "^[A-Za-z0-9._-]{1,128}$";
	char rid[96];
	char hdr[300];
	char long_rid[130];
	char first[160];
	struct http_resp r;
	const char *got;

	testenv_uniq(rid, sizeof(rid), "Req.ID_x");
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	get_with_rid(&r, "/api/v1/whoami", hdr);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(http_resp_header(&r, "X-Request-Id"), rid);
	http_resp_cleanup(&r);

	/* Error replies echo it in the header and the body. */
	get_with_rid(&r, "/api/v1/things/nobody-has-this-name-0", hdr);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	ck_assert_str_eq(testenv_err(&r, "request_id"), rid);
	http_resp_cleanup(&r);
	get_with_rid(&r, "/api/v1/no-such-route", hdr);
	EXPECT_ERROR(&r, 404, "route_not_found", NULL);
	ck_assert_str_eq(testenv_err(&r, "request_id"), rid);
	http_resp_cleanup(&r);
	{
		const char *hdrs[] = { hdr, NULL };
		struct http_req req = { .method = "GET",
					.path = "/api/v1/whoami",
					.headers = hdrs };

		http_do(&req, &r);
		EXPECT_ERROR(&r, 401, "unauthorized", NULL);
		ck_assert_str_eq(testenv_err(&r, "request_id"), rid);
		http_resp_cleanup(&r);
	}

	/* 128 characters is the maximum echoed. */
	memset(long_rid, 'r', 128);
	long_rid[128] = '\0';
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", long_rid);
	get_with_rid(&r, "/healthz", hdr);
	ck_assert_str_eq(http_resp_header(&r, "X-Request-Id"), long_rid);
	http_resp_cleanup(&r);

	/* Invalid ones are replaced by a minted id. */
	{
		static const char *const bad[] = { "has space", "semi;colon", "slash/x",
						   "\xc3\xa9t\xc3\xa9" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", bad[i]);
			get_with_rid(&r, "/api/v1/whoami", hdr);
			EXPECT_STATUS(&r, 200);
			got = http_resp_header(&r, "X-Request-Id");
			ck_assert_msg(testenv_matches(got, RID_RE) && strcmp(got, bad[i]) != 0,
				      "X-Request-Id '%s' gave '%s'", bad[i], got ? got : "(none)");
			http_resp_cleanup(&r);
		}
		long_rid[128] = 'r';
		long_rid[129] = '\0';
		snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", long_rid);
		get_with_rid(&r, "/api/v1/whoami", hdr);
		got = http_resp_header(&r, "X-Request-Id");
		ck_assert_msg(testenv_matches(got, RID_RE) && strcmp(got, long_rid) != 0,
			      "129-char X-Request-Id echoed or bad: %s", got ? got : "(none)");
		http_resp_cleanup(&r);
	}

	/* Without one, each reply gets a fresh id. */
	get_with_rid(&r, "/api/v1/whoami", NULL);
	got = http_resp_header(&r, "X-Request-Id");
	ck_assert_msg(testenv_matches(got, RID_RE), "minted X-Request-Id: %s",
		      got ? got : "(none)");
	snprintf(first, sizeof(first), "%s", got);
	http_resp_cleanup(&r);
	get_with_rid(&r, "/api/v1/whoami", NULL);
	got = http_resp_header(&r, "X-Request-Id");
	ck_assert_msg(testenv_matches(got, RID_RE) && strcmp(got, first) != 0,
		      "second minted X-Request-Id '%s' (first '%s')", got ? got : "(none)", first);
	http_resp_cleanup(&r);
}
END_TEST

static Suite *errors_suite(void)
{
	Suite *s = suite_create("api_errors");
	TCase *tc = tcase_create("errors");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, malformed_json_reports_line_and_column);
	tcase_add_test(tc, duplicate_keys_are_invalid_json);
	tcase_add_test(tc, body_must_be_an_object);
	tcase_add_test(tc, content_type_is_enforced);
	tcase_add_test(tc, body_over_1_mib_is_413);
	tcase_add_test(tc, unknown_route_is_404_json);
	tcase_add_test(tc, wrong_method_is_405_with_allow);
	tcase_add_test(tc, unknown_fields_are_rejected);
	tcase_add_test(tc, bad_limit_and_cursor_are_400);
	tcase_add_test(tc, malformed_query_encoding_is_400);
	tcase_add_test(tc, request_id_is_echoed_or_minted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(errors_suite());
}
