/*
 * Native shadow API against a running bellwetherd (docs/SHADOW.md "Native API"): list, get,
 * PATCH, DELETE with ~classic and named shadows, config history and revert, fleet queries,
 * audit rows, and the native error shape.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"

static const char *admin(void)
{
	return testenv_get()->admin_token;
}

static json_int_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

static void expect_json(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
	char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(want, "bad literal %s", want_text);
	ck_assert_msg(got && json_equal((json_t *)got, want), "got %s, want %s", g ? g : "(null)",
		      want_text);
	free(g);
	json_decref(want);
}

/* PATCH a shadow's state and expect 200; returns the new version. */
static json_int_t patch(const char *thing, const char *shadow, const char *body)
{
	struct http_resp r;
	json_int_t v;

	http_call(&r, "PATCH", admin(), body, "/api/v1/things/%s/shadows/%s", thing, shadow);
	EXPECT_STATUS(&r, 200);
	v = jint(r.json, "version");
	http_resp_cleanup(&r);
	return v;
}

static json_t *get_desired(const char *thing, const char *shadow)
{
	struct http_resp r;
	json_t *d;

	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/%s", thing, shadow);
	EXPECT_STATUS(&r, 200);
	d = json_incref(json_object_get(json_object_get(r.json, "state"), "desired"));
	http_resp_cleanup(&r);
	return d;
}

START_TEST(crud_classic_and_named)
{
	char thing[96];
	struct http_resp r;
	json_t *items;

	testenv_uniq(thing, sizeof(thing), "ncrud");
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	ck_assert_int_eq(patch(thing, "~classic",
			       "{\"state\":{\"desired\":{\"mode\":\"eco\"},\"reported\":{\"mode\":"
			       "\"boost\"}}}"),
			 1);
	ck_assert_int_eq(patch(thing, "cfg", "{\"state\":{\"desired\":{\"rate\":0.25}}}"), 1);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "thing_name"), thing);
	ck_assert_str_eq(testenv_jstr(r.json, "shadow_name"), "~classic");
	ck_assert(json_is_true(json_object_get(r.json, "classic")));
	expect_json(json_object_get(json_object_get(r.json, "state"), "delta"),
		    "{\"mode\":\"eco\"}");
	ck_assert_ptr_nonnull(json_object_get(r.json, "metadata"));
	ck_assert(testenv_matches(testenv_jstr(r.json, "updated_at"), TESTENV_RFC3339_MS));
	ck_assert(testenv_matches(testenv_jstr(r.json, "created_at"), TESTENV_RFC3339_MS));
	http_resp_cleanup(&r);

	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows?limit=1", thing);
	EXPECT_STATUS(&r, 200);
	items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 1);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "shadow_name"), "~classic");
	ck_assert_ptr_null(json_object_get(json_array_get(items, 0), "metadata"));
	ck_assert_ptr_nonnull(testenv_jstr(r.json, "next_cursor"));
	http_resp_cleanup(&r);
	{
		char path[256];
		json_t *all;

		snprintf(path, sizeof(path), "/api/v1/things/%s/shadows?limit=1", thing);
		all = testenv_list_all(admin(), path, NULL);
		ck_assert_int_eq(json_array_size(all), 2);
		ck_assert_str_eq(testenv_jstr(json_array_get(all, 1), "shadow_name"), "cfg");
		json_decref(all);
	}

	/* stale version -> 409, errors name the field */
	http_call(&r, "PATCH", admin(), "{\"state\":{\"desired\":{\"mode\":\"x\"}},\"version\":7}",
		  "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_ERROR(&r, 409, "version_conflict", "/version");
	http_resp_cleanup(&r);
	http_call(&r, "PATCH", admin(), "{\"state\":{\"desired\":3}}",
		  "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_ERROR(&r, 400, "bad_request", "/state/desired");
	http_resp_cleanup(&r);
	http_call(&r, "PATCH", admin(), "{\"state\":{},\"clientToken\":\"x\"}",
		  "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_ERROR(&r, 400, "bad_request", "/clientToken");
	http_resp_cleanup(&r);
	http_call(&r, "PATCH", admin(), "{\"version\":1}", "/api/v1/things/%s/shadows/~classic",
		  thing);
	EXPECT_ERROR(&r, 400, "bad_request", "/state");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/classic.x", thing);
	EXPECT_ERROR(&r, 400, "invalid_name", NULL);
	http_resp_cleanup(&r);
	{
		char *big = malloc(10100);
		size_t n;

		ck_assert_ptr_nonnull(big);
		strcpy(big, "{\"state\":{\"desired\":{\"b\":\"");
		n = strlen(big);
		memset(big + n, 'z', 9000);
		strcpy(big + n + 9000, "\"}}}");
		http_call(&r, "PATCH", admin(), big, "/api/v1/things/%s/shadows/~classic", thing);
		EXPECT_ERROR(&r, 413, "payload_too_large", "/state");
		http_resp_cleanup(&r);
		free(big);
	}

	/* delete: stale version -> 409; then 204; then 404 */
	http_call(&r, "DELETE", admin(), NULL, "/api/v1/things/%s/shadows/cfg?version=5", thing);
	EXPECT_ERROR(&r, 409, "version_conflict", "/version");
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", admin(), NULL, "/api/v1/things/%s/shadows/cfg?version=1", thing);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", admin(), NULL, "/api/v1/things/%s/shadows/cfg", thing);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/cfg", thing);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	/* one audit row per change */
	http_call(&r, "GET", admin(), NULL,
		  "/api/v1/audit?resource_type=shadow&resource_id=%s%%2Fcfg", thing);
	EXPECT_STATUS(&r, 200);
	items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 2);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "action"), "shadow.delete");
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 1), "action"), "shadow.update");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(viewer_cannot_change_shadows)
{
	char thing[96];
	char *viewer = testenv_token_new("viewer", "shadowview", NULL, NULL);
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "nview");
	patch(thing, "~classic", "{\"state\":{\"desired\":{\"a\":1}}}");
	http_call(&r, "GET", viewer, NULL, "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	http_call(&r, "PATCH", viewer, "{\"state\":{\"desired\":{\"a\":2}}}",
		  "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "POST", viewer, "{\"version\":1}",
		  "/api/v1/things/%s/shadows/~classic/revert", thing);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(viewer);
}
END_TEST

START_TEST(history_and_revert)
{
	char thing[96];
	struct http_resp r;
	json_t *items, *h, *d;

	testenv_uniq(thing, sizeof(thing), "nhist");
	ck_assert_int_eq(
		patch(thing, "~classic",
		      "{\"state\":{\"desired\":{\"mode\":\"eco\",\"level\":1,\"fan\":{\"s\":"
		      "2,\"d\":\"cw\"}}}}"),
		1);
	/* reported-only: no history row */
	ck_assert_int_eq(patch(thing, "~classic", "{\"state\":{\"reported\":{\"mode\":\"eco\"}}}"),
			 2);
	ck_assert_int_eq(patch(thing, "~classic",
			       "{\"state\":{\"desired\":{\"mode\":\"boost\",\"level\":null,\"fan\":"
			       "{\"s\":3}}}}"),
			 3);

	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/~classic/history", thing);
	EXPECT_STATUS(&r, 200);
	items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 2);
	h = json_array_get(items, 0); /* newest first */
	ck_assert_int_eq(jint(h, "version"), 3);
	ck_assert_str_eq(testenv_jstr(h, "kind"), "update");
	ck_assert_str_eq(testenv_jstr(h, "source"), "api");
	ck_assert_ptr_nonnull(testenv_jstr(h, "actor"));
	ck_assert_ptr_nonnull(testenv_jstr(h, "request_id"));
	ck_assert(testenv_matches(testenv_jstr(h, "at"), TESTENV_RFC3339_MS));
	expect_json(json_object_get(h, "previous_desired"),
		    "{\"mode\":\"eco\",\"level\":1,\"fan\":{\"s\":2,\"d\":\"cw\"}}");
	expect_json(json_object_get(h, "desired"),
		    "{\"mode\":\"boost\",\"fan\":{\"s\":3,\"d\":\"cw\"}}");
	h = json_array_get(items, 1);
	ck_assert_int_eq(jint(h, "version"), 1);
	ck_assert(json_is_null(json_object_get(h, "previous_desired")));
	http_resp_cleanup(&r);

	/* paginated */
	{
		char path[256];
		json_t *all;
		int pages = 0;

		snprintf(path, sizeof(path), "/api/v1/things/%s/shadows/~classic/history?limit=1",
			 thing);
		all = testenv_list_all(admin(), path, &pages);
		ck_assert_int_eq(json_array_size(all), 2);
		ck_assert_int_eq(pages, 2);
		json_decref(all);
	}

	/* revert to version 2 = desired as set by version 1 (version 2 changed only reported) */
	http_call(&r, "POST", admin(), "{\"version\":2}",
		  "/api/v1/things/%s/shadows/~classic/revert", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 4);
	expect_json(json_object_get(json_object_get(r.json, "state"), "desired"),
		    "{\"mode\":\"eco\",\"level\":1,\"fan\":{\"s\":2,\"d\":\"cw\"}}");
	/* reported is untouched */
	expect_json(json_object_get(json_object_get(r.json, "state"), "reported"),
		    "{\"mode\":\"eco\"}");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/~classic/history?limit=1",
		  thing);
	h = json_array_get(json_object_get(r.json, "items"), 0);
	ck_assert_str_eq(testenv_jstr(h, "kind"), "revert");
	ck_assert_int_eq(jint(h, "reverted_to_version"), 2);
	ck_assert_int_eq(jint(h, "version"), 4);
	http_resp_cleanup(&r);

	/* out of range versions */
	http_call(&r, "POST", admin(), "{\"version\":99}",
		  "/api/v1/things/%s/shadows/~classic/revert", thing);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);
	http_call(&r, "POST", admin(), "{\"version\":0}",
		  "/api/v1/things/%s/shadows/~classic/revert", thing);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);
	http_call(&r, "POST", admin(), "{\"version\":1}", "/api/v1/things/%s/shadows/nope/revert",
		  thing);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/nope/history", thing);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	/* delete, re-create with reported only, then revert across the delete */
	http_call(&r, "DELETE", admin(), NULL, "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	ck_assert_int_eq(patch(thing, "~classic", "{\"state\":{\"reported\":{\"up\":true}}}"), 5);
	d = get_desired(thing, "~classic");
	ck_assert_ptr_null(d); /* the delete cleared desired */
	http_call(&r, "POST", admin(), "{\"version\":5}",
		  "/api/v1/things/%s/shadows/~classic/revert", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_ptr_null(json_object_get(json_object_get(r.json, "state"), "desired"));
	http_resp_cleanup(&r);
	http_call(&r, "POST", admin(), "{\"version\":3}",
		  "/api/v1/things/%s/shadows/~classic/revert", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 7);
	http_resp_cleanup(&r);
	d = get_desired(thing, "~classic");
	expect_json(d, "{\"mode\":\"boost\",\"fan\":{\"s\":3,\"d\":\"cw\"}}");
	json_decref(d);
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s/shadows/~classic/history", thing);
	items = json_object_get(r.json, "items");
	/* v7 revert, v6 revert, delete of v4, v4 revert, v3, v1 */
	ck_assert_int_eq(json_array_size(items), 6);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 2), "kind"), "delete");
	ck_assert_int_eq(jint(json_array_get(items, 2), "version"), 4);
	http_resp_cleanup(&r);
}
END_TEST

/* Items of a fleet query as "thing" strings, all pages. */
static json_t *query_things(const char *query)
{
	char path[1024];
	json_t *all, *names = json_array();
	size_t i;
	json_t *it;

	snprintf(path, sizeof(path), "/api/v1/shadows/query?%s&limit=2", query);
	all = testenv_list_all(admin(), path, NULL);
	json_array_foreach(all, i, it)
		json_array_append_new(names, json_string(testenv_jstr(it, "thing_name")));
	json_decref(all);
	return names;
}

START_TEST(fleet_queries)
{
	char shadow[64], a[96], b[96], c[96], q[512], want[512], group[96];
	struct http_resp r;
	json_t *got, *item;

	testenv_uniq(shadow, sizeof(shadow), "fw");
	testenv_uniq(a, sizeof(a), "fa");
	testenv_uniq(b, sizeof(b), "fb");
	testenv_uniq(c, sizeof(c), "fc");
	/* a: in sync on 1.2.0; b: reports 1.2.0, wants 1.3.0; c: reports 1.3.0, no desired */
	patch(a, shadow,
	      "{\"state\":{\"desired\":{\"firmware\":{\"version\":\"1.2.0\"}},\"reported\":{"
	      "\"firmware\":{\"version\":\"1.2.0\",\"build\":7},\"temp\":21.5}}}");
	patch(b, shadow,
	      "{\"state\":{\"desired\":{\"firmware\":{\"version\":\"1.3.0\"}},\"reported\":{"
	      "\"firmware\":{\"version\":\"1.2.0\"},\"temp\":20}}}");
	patch(c, shadow, "{\"state\":{\"reported\":{\"firmware\":{\"version\":\"1.3.0\"}}}}");

	snprintf(q, sizeof(q), "shadow=%s&path=firmware.version&op=eq&value=1.2.0", shadow);
	got = query_things(q);
	snprintf(want, sizeof(want), "[\"%s\",\"%s\"]", a, b);
	expect_json(got, want);
	json_decref(got);
	snprintf(q, sizeof(q), "shadow=%s&path=firmware.version&value=1.2.0",
		 shadow); /* eq default */
	got = query_things(q);
	expect_json(got, want);
	json_decref(got);
	snprintf(q, sizeof(q), "shadow=%s&path=%%2Ffirmware%%2Fversion&op=ne&value=1.2.0", shadow);
	got = query_things(q);
	snprintf(want, sizeof(want), "[\"%s\"]", c);
	expect_json(got, want);
	json_decref(got);
	snprintf(q, sizeof(q), "shadow=%s&path=firmware.version&op=ne_desired", shadow);
	got = query_things(q);
	snprintf(want, sizeof(want), "[\"%s\"]", b);
	expect_json(got, want);
	json_decref(got);
	/* no path: any delta at all; a's extra reported build does not count (spec 6.5) */
	snprintf(q, sizeof(q), "shadow=%s&op=ne_desired", shadow);
	got = query_things(q);
	expect_json(got, want);
	json_decref(got);
	snprintf(q, sizeof(q), "shadow=%s&path=firmware&op=eq_desired", shadow);
	got = query_things(q);
	snprintf(want, sizeof(want), "[\"%s\"]", a);
	expect_json(got, want);
	json_decref(got);
	/* numbers compare numerically: 20 == 20.0 */
	snprintf(q, sizeof(q), "shadow=%s&path=temp&value=20.0", shadow);
	got = query_things(q);
	snprintf(want, sizeof(want), "[\"%s\"]", b);
	expect_json(got, want);
	json_decref(got);

	/* item shape */
	http_call(&r, "GET", admin(), NULL,
		  "/api/v1/shadows/query?shadow=%s&path=firmware.version&op=ne_desired", shadow);
	EXPECT_STATUS(&r, 200);
	item = json_array_get(json_object_get(r.json, "items"), 0);
	ck_assert_str_eq(testenv_jstr(item, "thing_name"), b);
	ck_assert_str_eq(testenv_jstr(item, "shadow_name"), shadow);
	ck_assert_str_eq(testenv_jstr(item, "reported"), "1.2.0");
	ck_assert_str_eq(testenv_jstr(item, "desired"), "1.3.0");
	ck_assert_int_eq(jint(item, "version"), 1);
	http_resp_cleanup(&r);

	/* restricted to a registered group: only registered members count */
	testenv_uniq(group, sizeof(group), "fg");
	{
		char body[256];

		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", b);
		http_call(&r, "POST", admin(), body, "/api/v1/things");
		EXPECT_STATUS(&r, 201);
		http_resp_cleanup(&r);
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", group);
		http_call(&r, "POST", admin(), body, "/api/v1/groups");
		EXPECT_STATUS(&r, 201);
		http_resp_cleanup(&r);
		http_call(&r, "PUT", admin(), NULL, "/api/v1/groups/%s/things/%s", group, b);
		EXPECT_STATUS(&r, 204);
		http_resp_cleanup(&r);
	}
	snprintf(q, sizeof(q), "shadow=%s&path=firmware.version&value=1.2.0&group=%s", shadow,
		 group);
	got = query_things(q);
	snprintf(want, sizeof(want), "[\"%s\"]", b);
	expect_json(got, want);
	json_decref(got);

	/* errors */
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?shadow=%s&path=a&op=like",
		  shadow);
	EXPECT_ERROR(&r, 400, "bad_request", "/op");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?shadow=%s&path=a", shadow);
	EXPECT_ERROR(&r, 400, "bad_request", "/value");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?shadow=%s&value=1", shadow);
	EXPECT_ERROR(&r, 400, "bad_request", "/path");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?path=a..b&op=ne_desired");
	EXPECT_ERROR(&r, 400, "bad_request", "/path");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?op=ne_desired&value=1");
	EXPECT_ERROR(&r, 400, "bad_request", "/value");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?op=ne_desired&shadow=bad.name");
	EXPECT_ERROR(&r, 400, "invalid_name", "/shadow");
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?op=ne_desired&cursor=garbage");
	EXPECT_ERROR(&r, 400, "invalid_cursor", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", admin(), NULL, "/api/v1/shadows/query?op=ne_desired&group=nope-%s",
		  group);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api_shadow_native");
	TCase *tc = tcase_create("native");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, crud_classic_and_named);
	tcase_add_test(tc, viewer_cannot_change_shadows);
	tcase_add_test(tc, history_and_revert);
	tcase_add_test(tc, fleet_queries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(suite());
}
