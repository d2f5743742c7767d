/* Black-box tests of /api/v1/groups (static, nested, dynamic, membership) on a running bellwetherd. */
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

/* POST /api/v1/groups with body (stolen); asserts 201, returns the group (new reference). */
static json_t *group_create(json_t *body)
{
	struct http_resp r;
	json_t *g;

	http_call_json(&r, "POST", tok(), body, "/api/v1/groups");
	EXPECT_STATUS(&r, 201);
	g = json_incref(r.json);
	http_resp_cleanup(&r);
	return g;
}

static void static_group(const char *name, const char *parent)
{
	json_t *g = group_create(parent ? json_pack("{s:s, s:s}", "name", name, "parent", parent)
					: json_pack("{s:s}", "name", name));

	json_decref(g);
}

static void thing_create(const char *name, const char *hw)
{
	struct http_resp r;

	http_call_json(&r, "POST", tok(),
		       hw ? json_pack("{s:s, s:s}", "name", name, "hardware_type", hw)
			  : json_pack("{s:s}", "name", name),
		       "/api/v1/things");
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
}

static void add_member(const char *group, const char *thing)
{
	struct http_resp r;

	http_call(&r, "PUT", tok(), NULL, "/api/v1/groups/%s/things/%s", group, thing);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
}

static json_int_t version_of(const json_t *obj)
{
	json_t *v = json_object_get(obj, "version");

	ck_assert_msg(json_is_integer(v), "version is not an integer");
	return json_integer_value(v);
}

/* All item names of a list route (all pages, path with '?'), sorted as returned, in buf. */
static const char *list_names(const char *path, char *buf, size_t size)
{
	json_t *items = testenv_list_all(tok(), path, NULL);
	json_t *item;
	size_t i;
	size_t off = 0;

	buf[0] = '\0';
	json_array_foreach(items, i, item) {
		const char *n = testenv_jstr(item, "name");
		int w = snprintf(buf + off, size - off, "%s%s", i ? "," : "", n ? n : "?");

		ck_assert_msg(w >= 0 && (size_t)w < size - off, "list_names: buffer too small");
		off += (size_t)w;
	}
	json_decref(items);
	return buf;
}

START_TEST(static_group_crud)
{
	char name[96];
	struct http_resp r;
	json_t *g;
	json_int_t v;

	testenv_uniq(name, sizeof(name), "grp");
	g = group_create(json_pack("{s:s}", "name", name));
	ck_assert_str_eq(testenv_jstr(g, "name"), name);
	ck_assert_str_eq(testenv_jstr(g, "type"), "static");
	ck_assert_msg(json_is_null(json_object_get(g, "description")), "description not null");
	ck_assert_msg(json_is_null(json_object_get(g, "parent")), "parent not null");
	ck_assert_msg(json_is_null(json_object_get(g, "query")), "query not null");
	ck_assert_msg(testenv_matches(testenv_jstr(g, "created_at"), TESTENV_RFC3339_MS),
		      "created_at format");
	ck_assert_msg(testenv_matches(testenv_jstr(g, "updated_at"), TESTENV_RFC3339_MS),
		      "updated_at format");
	v = version_of(g);

	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", name);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_equal(r.json, g), "GET differs from create: %s", r.body);
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", name, "type", "static"),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 409, "already_exists", NULL);
	http_resp_cleanup(&r);

	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s}", "version", v, "description", "pumps on site north"),
		       "/api/v1/groups/%s", name);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "description"), "pumps on site north");
	ck_assert_int_eq(version_of(r.json), v + 1);
	http_resp_cleanup(&r);

	http_call_json(&r, "PATCH", tok(),
		       json_pack("{s:I, s:s}", "version", v, "description", "x"),
		       "/api/v1/groups/%s", name);
	EXPECT_ERROR(&r, 409, "version_conflict", NULL);
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:s}", "description", "x"),
		       "/api/v1/groups/%s", name);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);

	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", name);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", name);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	json_decref(g);
}
END_TEST

START_TEST(nested_membership_recursive_and_direct)
{
	char parent[96];
	char child[96];
	char t1[96];
	char t2[128];
	char t3[128];
	char path[512];
	char got[1024];
	char want[1024];
	struct http_resp r;
	json_t *g;

	testenv_uniq(parent, sizeof(parent), "par");
	testenv_uniq(child, sizeof(child), "chi");
	static_group(parent, NULL);
	g = group_create(json_pack("{s:s, s:s}", "name", child, "parent", parent));
	ck_assert_str_eq(testenv_jstr(g, "parent"), parent);
	json_decref(g);

	/* Names share one prefix so that listing order is t1 < t2 < t3. */
	testenv_uniq(t1, sizeof(t1), "mem");
	snprintf(t2, sizeof(t2), "%s-b", t1);
	snprintf(t3, sizeof(t3), "%s-c", t1);
	thing_create(t1, NULL);
	thing_create(t2, NULL);
	thing_create(t3, NULL);

	add_member(parent, t1);
	add_member(parent, t1); /* idempotent */
	add_member(child, t2);

	snprintf(want, sizeof(want), "%s,%s", t1, t2);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000", parent);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), want);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000&recursive=true", parent);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), want);
	snprintf(path, sizeof(path), "/api/v1/things?limit=1000&group=%s", parent);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), want);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000&recursive=false", parent);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t1);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000", child);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t2);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1", parent);
	{
		int pages;
		json_t *items = testenv_list_all(tok(), path, &pages);

		ck_assert_int_eq(json_array_size(items), 2);
		ck_assert_int_eq(pages, 2);
		json_decref(items);
	}

	/* Direct static memberships of a thing. */
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s/groups", t2);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(json_object_get(r.json, "items")) == 1, "groups of %s: %s",
		      t2, r.body);
	ck_assert_str_eq(testenv_jstr(json_array_get(json_object_get(r.json, "items"), 0), "name"),
			 child);
	ck_assert_str_eq(testenv_jstr(json_array_get(json_object_get(r.json, "items"), 0), "type"),
			 "static");
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s/groups", t3);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(json_object_get(r.json, "items")) == 0, "groups of %s: %s",
		      t3, r.body);
	http_resp_cleanup(&r);

	/* Remove. */
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s/things/%s", parent, t1);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s/things/%s", parent, t1);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	/* t2 is a member of the child, not directly of the parent. */
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s/things/%s", parent, t2);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000", parent);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t2);

	/* Unknown thing or group. */
	http_call(&r, "PUT", tok(), NULL, "/api/v1/groups/%s/things/%s-nope", parent, t1);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "PUT", tok(), NULL, "/api/v1/groups/%s-nope/things/%s", parent, t1);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s-nope/things", parent);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/things?group=%s-nope", parent);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	/* Deleting a thing drops its memberships. */
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/things/%s", t2);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000", child);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), "");
}
END_TEST

START_TEST(parent_rules)
{
	char p[96];
	char c[96];
	char d[96];
	char x[96];
	struct http_resp r;

	testenv_uniq(p, sizeof(p), "prt");
	testenv_uniq(c, sizeof(c), "prtc");
	testenv_uniq(d, sizeof(d), "prtd");
	testenv_uniq(x, sizeof(x), "prtx");

	/* Unknown parent -> 404; nothing created. */
	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", c, "parent", p),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", c);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	/* A dynamic group cannot be a parent, nor have one. */
	{
		json_t *g = group_create(json_pack("{s:s, s:s, s:s}", "name", d, "type", "dynamic",
						   "query", "hardware_type = nothing-here"));

		ck_assert_str_eq(testenv_jstr(g, "type"), "dynamic");
		json_decref(g);
	}
	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", c, "parent", d),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "bad_request", "/parent");
	http_resp_cleanup(&r);
	static_group(p, NULL);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:s, s:s}", "name", x, "type", "dynamic", "query",
				 "hardware_type = a", "parent", p),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "bad_request", "/parent");
	http_resp_cleanup(&r);

	/* Detach with parent null. */
	static_group(c, p);
	{
		json_t *g;

		http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", c);
		EXPECT_STATUS(&r, 200);
		g = json_incref(r.json);
		http_resp_cleanup(&r);
		http_call_json(&r, "PATCH", tok(),
			       json_pack("{s:I, s:n}", "version", version_of(g), "parent"),
			       "/api/v1/groups/%s", c);
		EXPECT_STATUS(&r, 200);
		ck_assert_msg(json_is_null(json_object_get(r.json, "parent")), "not detached: %s",
			      r.body);
		http_resp_cleanup(&r);
		json_decref(g);
	}
}
END_TEST

START_TEST(cycles_are_rejected)
{
	char a[96];
	char b[96];
	char c[96];
	char path[512];
	char got[512];
	struct http_resp r;
	json_int_t va;

	testenv_uniq(a, sizeof(a), "cya");
	testenv_uniq(b, sizeof(b), "cyb");
	testenv_uniq(c, sizeof(c), "cyc");
	static_group(a, NULL);
	static_group(b, a);
	static_group(c, b);

	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", a);
	EXPECT_STATUS(&r, 200);
	va = version_of(r.json);
	http_resp_cleanup(&r);

	/* a -> c would close a -> b -> c -> a. */
	http_call_json(&r, "PATCH", tok(), json_pack("{s:I, s:s}", "version", va, "parent", c),
		       "/api/v1/groups/%s", a);
	EXPECT_ERROR(&r, 400, "bad_request", "/parent");
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:I, s:s}", "version", va, "parent", b),
		       "/api/v1/groups/%s", a);
	EXPECT_ERROR(&r, 400, "bad_request", "/parent");
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:I, s:s}", "version", va, "parent", a),
		       "/api/v1/groups/%s", a);
	EXPECT_ERROR(&r, 400, "bad_request", "/parent");
	http_resp_cleanup(&r);

	/* Nothing changed. */
	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", a);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_is_null(json_object_get(r.json, "parent")), "a got a parent: %s",
		      r.body);
	ck_assert_int_eq(version_of(r.json), va);
	http_resp_cleanup(&r);

	/* Children listing by parent. */
	snprintf(path, sizeof(path), "/api/v1/groups?limit=1000&parent=%s", a);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), b);

	/* A parent with children cannot be deleted; bottom-up works. */
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", a);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", b);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", c);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", b);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", a);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(parent_chain_depth_is_limited)
{
	char names[12][96];
	int created = 0;
	long fail_status = 0;
	char fail_body[512] = "";

	for (int i = 0; i < 12; i++) {
		struct http_resp r;

		testenv_uniq(names[i], sizeof(names[i]), "depth");
		http_call_json(&r, "POST", tok(),
			       i ? json_pack("{s:s, s:s}", "name", names[i], "parent", names[i - 1])
				 : json_pack("{s:s}", "name", names[i]),
			       "/api/v1/groups");
		if (r.status != 201) {
			fail_status = r.status;
			snprintf(fail_body, sizeof(fail_body), "%s", r.body);
			EXPECT_ERROR(&r, 400, "bad_request", "/parent");
			http_resp_cleanup(&r);
			break;
		}
		created++;
		http_resp_cleanup(&r);
	}
	/* "Parent chains limited to depth 8": 8 levels work, a chain of 10 does not. */
	ck_assert_msg(created >= 8 && created <= 9,
		      "created a chain of %d groups before failing (%ld %s)", created, fail_status,
		      fail_body);
}
END_TEST

START_TEST(dynamic_group_matches_query_including_later_things)
{
	char hw[96];
	char g[96];
	char t1[128];
	char t2[128];
	char t3[128];
	char q[192];
	char path[512];
	char got[1024];
	char want[1024];
	struct http_resp r;
	json_t *grp;

	testenv_uniq(hw, sizeof(hw), "dynhw");
	testenv_uniq(g, sizeof(g), "dyn");
	snprintf(t1, sizeof(t1), "%s-t1", g);
	snprintf(t2, sizeof(t2), "%s-t2", g);
	snprintf(t3, sizeof(t3), "%s-t3", g);
	thing_create(t1, hw);
	thing_create(t3, "something-else");

	snprintf(q, sizeof(q), "hardware_type = %s", hw);
	grp = group_create(json_pack("{s:s, s:s, s:s, s:s}", "name", g, "type", "dynamic", "query",
				     q, "description", "by hardware"));
	ck_assert_str_eq(testenv_jstr(grp, "type"), "dynamic");
	ck_assert_str_eq(testenv_jstr(grp, "query"), q);
	ck_assert_msg(json_is_null(json_object_get(grp, "parent")), "dynamic group has a parent");
	json_decref(grp);

	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000", g);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t1);

	/* A thing created after the group matches at once. */
	thing_create(t2, hw);
	snprintf(want, sizeof(want), "%s,%s", t1, t2);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), want);
	snprintf(path, sizeof(path), "/api/v1/things?limit=1000&group=%s", g);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), want);

	/* Filters on the group listing. */
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000&query=name%%20%%3D%%20%s",
		 g, t2);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t2);

	/* Membership is by query only. */
	http_call(&r, "PUT", tok(), NULL, "/api/v1/groups/%s/things/%s", g, t3);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s/things/%s", g, t1);
	ck_assert_msg(r.status == 409 || r.status == 404,
		      "DELETE member of a dynamic group: got %ld: %s", r.status, r.body);
	http_resp_cleanup(&r);

	/* The thing's groups include the dynamic group it matches. */
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s/groups", t2);
	EXPECT_STATUS(&r, 200);
	{
		json_t *items = json_object_get(r.json, "items");
		json_t *it;
		size_t i;
		bool found = false;

		json_array_foreach(items, i, it) {
			const char *n = testenv_jstr(it, "name");

			if (n && strcmp(n, g) == 0) {
				ck_assert_str_eq(testenv_jstr(it, "type"), "dynamic");
				found = true;
			}
		}
		ck_assert_msg(found, "groups of %s lack dynamic group %s: %s", t2, g, r.body);
	}
	http_resp_cleanup(&r);

	/* Changing the thing so it no longer matches removes it. */
	http_call(&r, "GET", tok(), NULL, "/api/v1/things/%s", t2);
	EXPECT_STATUS(&r, 200);
	{
		json_int_t v = version_of(r.json);

		http_resp_cleanup(&r);
		http_call_json(&r, "PATCH", tok(),
			       json_pack("{s:I, s:s}", "version", v, "hardware_type", "moved"),
			       "/api/v1/things/%s", t2);
		EXPECT_STATUS(&r, 200);
	}
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/groups/%s/things?limit=1000", g);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t1);

	/* PATCH the query. */
	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", g);
	EXPECT_STATUS(&r, 200);
	{
		json_int_t v = version_of(r.json);

		http_resp_cleanup(&r);
		snprintf(q, sizeof(q), "hardware_type = moved and name = %s", t2);
		http_call_json(&r, "PATCH", tok(),
			       json_pack("{s:I, s:s}", "version", v, "query", q),
			       "/api/v1/groups/%s", g);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
		http_call_json(&r, "PATCH", tok(),
			       json_pack("{s:I, s:s}", "version", v + 1, "query", "name = = x"),
			       "/api/v1/groups/%s", g);
		EXPECT_ERROR(&r, 400, "invalid_query", "/query");
	}
	http_resp_cleanup(&r);
	ck_assert_str_eq(list_names(path, got, sizeof(got)), t2);

	/* type filter on the group list. */
	{
		json_t *items =
			testenv_list_all(tok(), "/api/v1/groups?limit=1000&type=dynamic", NULL);
		json_t *it;
		size_t i;
		bool found = false;

		json_array_foreach(items, i, it) {
			ck_assert_str_eq(testenv_jstr(it, "type"), "dynamic");
			if (strcmp(testenv_jstr(it, "name"), g) == 0)
				found = true;
		}
		ck_assert_msg(found, "type=dynamic list lacks %s", g);
		json_decref(items);
	}
}
END_TEST

START_TEST(dynamic_group_validation)
{
	char g[96];
	struct http_resp r;

	testenv_uniq(g, sizeof(g), "dynbad");
	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", g, "type", "dynamic"),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "bad_request", "/query");
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:s}", "name", g, "type", "dynamic", "query",
				 "hardware_type = "),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "invalid_query", "/query");
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:s}", "name", g, "type", "dynamic", "query",
				 "(firmware_version < 1.0.0"),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "invalid_query", "/query");
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", g, "type", "smart"),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "bad_request", "/type");
	http_resp_cleanup(&r);
	/* A static group takes no query. */
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:s}", "name", g, "type", "static", "query",
				 "hardware_type = x"),
		       "/api/v1/groups");
	EXPECT_ERROR(&r, 400, "bad_request", "/query");
	http_resp_cleanup(&r);

	http_call(&r, "GET", tok(), NULL, "/api/v1/groups/%s", g);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(group_mutations_are_audited)
{
	char g[96];
	char t[96];
	char filter[256];
	struct http_resp r;
	json_t *items;

	testenv_uniq(g, sizeof(g), "audg");
	testenv_uniq(t, sizeof(t), "audt");
	static_group(g, NULL);
	thing_create(t, NULL);
	add_member(g, t);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s/things/%s", g, t);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "/api/v1/groups/%s", g);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);

	snprintf(filter, sizeof(filter),
		 "/api/v1/audit?limit=100&resource_type=group&resource_id=%s", g);
	http_call(&r, "GET", tok(), NULL, "%s", filter);
	EXPECT_STATUS(&r, 200);
	items = json_object_get(r.json, "items");
	ck_assert_msg(json_array_size(items) == 4, "group audit rows: %s", r.body);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "action"), "group.delete");
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 1), "action"), "group.remove_thing");
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 2), "action"), "group.add_thing");
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 3), "action"), "group.create");
	http_resp_cleanup(&r);
}
END_TEST

static Suite *groups_suite(void)
{
	Suite *s = suite_create("api_groups");
	TCase *tc = tcase_create("groups");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, static_group_crud);
	tcase_add_test(tc, nested_membership_recursive_and_direct);
	tcase_add_test(tc, parent_rules);
	tcase_add_test(tc, cycles_are_rejected);
	tcase_add_test(tc, parent_chain_depth_is_limited);
	tcase_add_test(tc, dynamic_group_matches_query_including_later_things);
	tcase_add_test(tc, dynamic_group_validation);
	tcase_add_test(tc, group_mutations_are_audited);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(groups_suite());
}
