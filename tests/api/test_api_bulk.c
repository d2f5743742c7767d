/* Black-box tests of POST /api/v1/things/bulk and large paginated lists on a running bellwetherd. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"

#define BULK_MAX 10000
/* Upper bound for creating BULK_MAX things in one request. */
#define BULK_TIME_LIMIT_S 60

static const char *tok(void)
{
	return testenv_get()->admin_token;
}

/* Growable text buffer for large request bodies; aborts the test on allocation failure. */
struct text {
	char *s;
	size_t len;
	size_t cap;
};

static void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_addf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if (t->s && (size_t)n < t->cap - t->len)
			break;
		t->cap = (t->cap ? t->cap * 2 : 65536) + (size_t)n;
		t->s = realloc(t->s, t->cap);
		ck_assert_ptr_nonnull(t->s);
	}
	t->len += (size_t)n;
}

/* Body {"things":[n items named <prefix>-%05d], "on_conflict":...}; bad_index gets a bad name. */
static void bulk_body(struct text *t, const char *prefix, int n, int bad_index,
		      const char *on_conflict)
{
	text_addf(t, "{\"things\":[");
	for (int i = 0; i < n; i++) {
		if (i == bad_index)
			text_addf(t, "%s{\"name\":\"bad name %d\"}", i ? "," : "", i);
		else
			text_addf(t,
				  "%s{\"name\":\"%s-%05d\",\"hardware_type\":\"bulk-hw\","
				  "\"firmware_version\":\"1.0.%d\",\"attributes\":{\"i\":\"%d\","
				  "\"site\":\"north\"}}",
				  i ? "," : "", prefix, i, i % 7, i);
	}
	text_addf(t, "]");
	if (on_conflict)
		text_addf(t, ",\"on_conflict\":\"%s\"", on_conflict);
	text_addf(t, "}");
}

static int post_bulk(struct http_resp *r, const struct text *body, const char *const *headers)
{
	struct http_req req = {
		.method = "POST",
		.path = "/api/v1/things/bulk",
		.token = tok(),
		.body = body->s,
		.body_len = body->len,
		.content_type = "application/json",
		.headers = headers,
		.timeout_ms = (BULK_TIME_LIMIT_S + 5) * 1000L,
	};

	return http_do(&req, r);
}

/* Number of things whose name starts with prefix (walks all pages). */
static size_t count_prefix(const char *prefix)
{
	char path[256];
	json_t *items;
	size_t n;

	snprintf(path, sizeof(path), "/api/v1/things?limit=1000&name_prefix=%s", prefix);
	items = testenv_list_all(tok(), path, NULL);
	n = json_array_size(items);
	json_decref(items);
	return n;
}

static json_int_t int_member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_integer(v), "member %s is not an integer", key);
	return json_integer_value(v);
}

START_TEST(bulk_10000_then_paginate_in_order)
{
	char prefix[96];
	char path[256];
	char want[128];
	struct text body = { 0 };
	struct http_resp r;
	json_t *items;
	json_t *item;
	size_t i;
	int pages;

	testenv_uniq(prefix, sizeof(prefix), "bulk");
	bulk_body(&body, prefix, BULK_MAX, -1, NULL);
	/* Above the 1 MiB JSON cap on purpose: the bulk route has its own (8 MiB) limit. */
	ck_assert_uint_gt(body.len, 1024 * 1024);
	post_bulk(&r, &body, NULL);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(int_member(r.json, "created"), BULK_MAX);
	ck_assert_int_eq(int_member(r.json, "skipped"), 0);
	ck_assert_msg(r.elapsed_s < BULK_TIME_LIMIT_S, "bulk create of %d took %.1f s", BULK_MAX,
		      r.elapsed_s);
	fprintf(stderr, "bulk create of %d things: %.2f s\n", BULK_MAX, r.elapsed_s);
	http_resp_cleanup(&r);
	free(body.s);

	snprintf(path, sizeof(path), "/api/v1/things?limit=1000&name_prefix=%s", prefix);
	items = testenv_list_all(tok(), path, &pages);
	ck_assert_msg(json_array_size(items) == BULK_MAX, "listed %zu of %d things",
		      json_array_size(items), BULK_MAX);
	ck_assert_msg(pages == BULK_MAX / 1000, "expected %d pages of 1000, got %d",
		      BULK_MAX / 1000, pages);
	/* Names are zero-padded, so name order is index order: each appears once, in order. */
	json_array_foreach(items, i, item) {
		snprintf(want, sizeof(want), "%s-%05zu", prefix, i);
		ck_assert_msg(testenv_jstr(item, "name") &&
				      strcmp(testenv_jstr(item, "name"), want) == 0,
			      "item %zu: expected %s, got %s", i, want,
			      testenv_jstr(item, "name") ? testenv_jstr(item, "name") : "(none)");
	}
	/* Bulk items are stored completely. */
	item = json_array_get(items, 4242);
	ck_assert_str_eq(testenv_jstr(item, "hardware_type"), "bulk-hw");
	ck_assert_str_eq(testenv_jstr(item, "firmware_version"), "1.0.0");
	ck_assert_str_eq(testenv_jstr(json_object_get(item, "attributes"), "i"), "4242");
	json_decref(items);

	/* The same set through the query filter. */
	{
		char *q = http_escape("firmware_version = 1.0.6");

		ck_assert_ptr_nonnull(q);
		snprintf(path, sizeof(path), "/api/v1/things?limit=1000&name_prefix=%s&query=%s",
			 prefix, q);
		free(q);
		items = testenv_list_all(tok(), path, NULL);
		/* i % 7 == 6 for i in 0..9999: 1428 values. */
		ck_assert_int_eq(json_array_size(items), 1428);
		json_decref(items);
	}
}
END_TEST

START_TEST(bulk_over_10000_is_limit_exceeded)
{
	char prefix[96];
	struct text body = { 0 };
	struct http_resp r;

	testenv_uniq(prefix, sizeof(prefix), "bulkmax");
	bulk_body(&body, prefix, BULK_MAX + 1, -1, NULL);
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 400, "limit_exceeded", NULL);
	http_resp_cleanup(&r);
	free(body.s);
	ck_assert_int_eq(count_prefix(prefix), 0);
}
END_TEST

START_TEST(bulk_with_one_invalid_item_writes_nothing)
{
	char prefix[96];
	struct text body = { 0 };
	struct http_resp r;

	testenv_uniq(prefix, sizeof(prefix), "bulkbad");
	bulk_body(&body, prefix, 10, 3, NULL);
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 400, "invalid_name", "/things/3/name");
	http_resp_cleanup(&r);
	free(body.s);
	ck_assert_int_eq(count_prefix(prefix), 0);

	/* A bad field deeper in an item is named too. */
	memset(&body, 0, sizeof(body));
	text_addf(
		&body,
		"{\"things\":[{\"name\":\"%s-a\"},{\"name\":\"%s-b\",\"firmware_version\":\"x\"}]}",
		prefix, prefix);
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 400, "bad_request", "/things/1/firmware_version");
	http_resp_cleanup(&r);
	free(body.s);
	memset(&body, 0, sizeof(body));
	text_addf(&body, "{\"things\":[{\"name\":\"%s-a\",\"attributes\":{\"k\":1}}]}", prefix);
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 400, "bad_request", "/things/0/attributes/k");
	http_resp_cleanup(&r);
	free(body.s);
	ck_assert_int_eq(count_prefix(prefix), 0);

	/* Structural errors. */
	memset(&body, 0, sizeof(body));
	text_addf(&body, "{\"things\":{}}");
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 400, "bad_request", "/things");
	http_resp_cleanup(&r);
	free(body.s);
	memset(&body, 0, sizeof(body));
	text_addf(&body, "{\"things\":[],\"on_conflict\":\"explode\"}");
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 400, "bad_request", "/on_conflict");
	http_resp_cleanup(&r);
	free(body.s);
}
END_TEST

START_TEST(bulk_on_conflict_fail_and_skip)
{
	char prefix[96];
	char name[128];
	struct text body = { 0 };
	struct http_resp r;
	json_t *before;

	/* Item 2 of 5 exists already. */
	testenv_uniq(prefix, sizeof(prefix), "bulkdup");
	snprintf(name, sizeof(name), "%s-%05d", prefix, 2);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s}", "name", name, "hardware_type", "pre-existing"),
		       "/api/v1/things");
	EXPECT_STATUS(&r, 201);
	before = json_incref(r.json);
	http_resp_cleanup(&r);

	/* Default is fail: 409 naming the item, nothing written. */
	bulk_body(&body, prefix, 5, -1, NULL);
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 409, "already_exists", "/things/2/name");
	http_resp_cleanup(&r);
	free(body.s);
	ck_assert_int_eq(count_prefix(prefix), 1);

	memset(&body, 0, sizeof(body));
	bulk_body(&body, prefix, 5, -1, "fail");
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 409, "already_exists", "/things/2/name");
	http_resp_cleanup(&r);
	free(body.s);
	ck_assert_int_eq(count_prefix(prefix), 1);

	/* skip: the other four are created, the existing one is untouched. */
	memset(&body, 0, sizeof(body));
	bulk_body(&body, prefix, 5, -1, "skip");
	post_bulk(&r, &body, NULL);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(int_member(r.json, "created"), 4);
	ck_assert_int_eq(int_member(r.json, "skipped"), 1);
	http_resp_cleanup(&r);
	ck_assert_int_eq(count_prefix(prefix), 5);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", name);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_equal(r.json, before), "skip changed the existing thing: %s", r.body);
	http_resp_cleanup(&r);

	/* Again with skip: everything exists. */
	post_bulk(&r, &body, NULL);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(int_member(r.json, "created"), 0);
	ck_assert_int_eq(int_member(r.json, "skipped"), 5);
	http_resp_cleanup(&r);
	free(body.s);
	json_decref(before);
}
END_TEST

/* True when some integer anywhere inside v equals want. */
static bool has_integer(const json_t *v, json_int_t want)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_integer(v))
		return json_integer_value(v) == want;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			if (has_integer(child, want))
				return true;
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			if (has_integer(child, want))
				return true;
		}
	}
	return false;
}

START_TEST(bulk_writes_one_audit_row)
{
	char prefix[96];
	char rid[96];
	char hdr[128];
	char name[128];
	const char *hdrs[] = { hdr, NULL };
	struct text body = { 0 };
	struct http_resp r;
	json_t *items;
	json_t *row;
	json_t *mine = NULL;
	size_t i;

	testenv_uniq(prefix, sizeof(prefix), "bulkaud");
	testenv_uniq(rid, sizeof(rid), "bulkrid");
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	bulk_body(&body, prefix, 7, -1, NULL);
	post_bulk(&r, &body, hdrs);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(int_member(r.json, "created"), 7);
	http_resp_cleanup(&r);
	free(body.s);

	http_call(&r, "GET", tok(), NULL, "/api/v1/audit?limit=1000&action=thing.bulk_create");
	EXPECT_STATUS(&r, 200);
	items = json_object_get(r.json, "items");
	ck_assert_msg(json_is_array(items), "audit: no items");
	json_array_foreach(items, i, row) {
		const char *row_rid = testenv_jstr(row, "request_id");

		if (row_rid && strcmp(row_rid, rid) == 0) {
			ck_assert_msg(mine == NULL, "two bulk audit rows with request id %s", rid);
			mine = row;
		}
	}
	ck_assert_msg(mine != NULL, "no thing.bulk_create audit row with request id %s", rid);
	ck_assert_msg(has_integer(json_object_get(mine, "details"), 7),
		      "bulk audit details lack the count 7");
	http_resp_cleanup(&r);

	/* No per-thing rows. */
	snprintf(name, sizeof(name), "%s-%05d", prefix, 3);
	http_call(&r, "GET", tok(), NULL, "/api/v1/audit?resource_type=thing&resource_id=%s", name);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(json_object_get(r.json, "items")) == 0,
		      "bulk wrote per-thing audit rows: %.300s", r.body);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(bulk_body_over_8_mib_is_413)
{
	size_t size = 9u * 1024u * 1024u;
	struct text body = { 0 };
	struct http_resp r;

	/* Valid JSON padded with whitespace: only the size is wrong. */
	body.s = malloc(size + 1);
	ck_assert_ptr_nonnull(body.s);
	memset(body.s, ' ', size);
	memcpy(body.s, "{\"things\":[]}", 13);
	body.s[size] = '\0';
	body.len = size;
	post_bulk(&r, &body, NULL);
	EXPECT_ERROR(&r, 413, "payload_too_large", NULL);
	http_resp_cleanup(&r);
	free(body.s);

	http_call(&r, "GET", NULL, NULL, "/healthz");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
}
END_TEST

static Suite *bulk_suite(void)
{
	Suite *s = suite_create("api_bulk");
	TCase *big = tcase_create("big");
	TCase *small = tcase_create("small");

	/* Creation (< 60 s) plus listing 10,000 things page by page. */
	tcase_set_timeout(big, 180);
	tcase_add_test(big, bulk_10000_then_paginate_in_order);
	tcase_add_test(big, bulk_over_10000_is_limit_exceeded);
	suite_add_tcase(s, big);

	tcase_set_timeout(small, 60);
	tcase_add_test(small, bulk_with_one_invalid_item_writes_nothing);
	tcase_add_test(small, bulk_on_conflict_fail_and_skip);
	tcase_add_test(small, bulk_writes_one_audit_row);
	tcase_add_test(small, bulk_body_over_8_mib_is_413);
	suite_add_tcase(s, small);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(bulk_suite());
}
