/* Black-box tests of authentication, roles, tokens and the audit log of a running bellwetherd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"

static const char *admin(void)
{
	return testenv_get()->admin_token;
}

/*
 * Walk GET /api/v1/tokens page by page; assert no page shows a token secret (no "token" member,
 * and secret, when given, nowhere in the body). Returns a new reference to the item with id, or
 * NULL when absent.
 */
static json_t *list_find_token(const char *id, const char *secret)
{
	json_t *found = NULL;
	char *cursor = NULL;

	for (int page = 0; page < 1000; page++) {
		struct http_resp r;
		json_t *items;
		json_t *item;
		size_t i;

		if (cursor) {
			char *esc = http_escape(cursor);

			ck_assert_ptr_nonnull(esc);
			http_call(&r, "GET", admin(), NULL, "/api/v1/tokens?limit=1000&cursor=%s",
				  esc);
			free(esc);
		} else {
			http_call(&r, "GET", admin(), NULL, "/api/v1/tokens?limit=1000");
		}
		EXPECT_STATUS(&r, 200);
		if (secret)
			ck_assert_msg(strstr(r.body, secret) == NULL,
				      "token list reveals a token secret");
		items = json_object_get(r.json, "items");
		ck_assert_msg(json_is_array(items), "GET /api/v1/tokens: no items: %.300s", r.body);
		json_array_foreach(items, i, item) {
			ck_assert_msg(json_object_get(item, "token") == NULL,
				      "token list item has a \"token\" member: %.300s", r.body);
			if (!found &&
			    strcmp(testenv_jstr(item, "id") ? testenv_jstr(item, "id") : "", id) ==
				    0)
				found = json_incref(item);
		}
		free(cursor);
		cursor = NULL;
		if (testenv_jstr(r.json, "next_cursor")) {
			cursor = strdup(testenv_jstr(r.json, "next_cursor"));
			ck_assert_ptr_nonnull(cursor);
		}
		http_resp_cleanup(&r);
		if (!cursor)
			break;
	}
	free(cursor);
	return found;
}

START_TEST(no_token_is_401_with_www_authenticate)
{
	struct http_resp r;
	const char *wa;

	http_call(&r, "GET", NULL, NULL, "/api/v1/things");
	EXPECT_ERROR(&r, 401, "unauthorized", NULL);
	wa = http_resp_header(&r, "WWW-Authenticate");
	ck_assert_msg(wa && strncmp(wa, "Bearer", 6) == 0, "WWW-Authenticate: %s",
		      wa ? wa : "(none)");
	http_resp_cleanup(&r);

	http_call(&r, "GET", NULL, NULL, "/api/v1/whoami");
	EXPECT_ERROR(&r, 401, "unauthorized", NULL);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(garbage_tokens_are_401)
{
	static const char *const tokens[] = {
		"garbage",
		"bw_",
		/* Well-formed (bw_ + 43 base64url) but never issued. */
		"bw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"bw_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFG",
	};
	static const char *const schemes[] = {
		"Authorization: Basic YWRtaW46YWRtaW4=",
		"Authorization: Bearer",
		"Authorization: bearer",
	};

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct http_resp r;

		http_call(&r, "GET", tokens[i], NULL, "/api/v1/things");
		EXPECT_ERROR(&r, 401, "unauthorized", NULL);
		ck_assert_msg(http_resp_header(&r, "WWW-Authenticate") != NULL,
			      "401 without WWW-Authenticate for token '%s'", tokens[i]);
		http_resp_cleanup(&r);
	}
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		const char *hdrs[] = { schemes[i], NULL };
		struct http_req req = { .method = "GET",
					.path = "/api/v1/things",
					.headers = hdrs };
		struct http_resp r;

		http_do(&req, &r);
		EXPECT_ERROR(&r, 401, "unauthorized", NULL);
		http_resp_cleanup(&r);
	}
}
END_TEST

START_TEST(admin_whoami)
{
	struct http_resp r;
	const char *role;

	http_call(&r, "GET", admin(), NULL, "/api/v1/whoami");
	EXPECT_STATUS(&r, 200);
	role = testenv_jstr(r.json, "role");
	ck_assert_msg(role && strcmp(role, "admin") == 0, "whoami: %s", r.body);
	ck_assert_msg(testenv_jstr(r.json, "token_id") != NULL, "whoami token_id not a string: %s",
		      r.body);
	ck_assert_msg(testenv_jstr(r.json, "name") != NULL, "whoami name missing: %s", r.body);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(viewer_can_read_but_not_write)
{
	char *id = NULL;
	char *name = NULL;
	char *tok = testenv_token_new("viewer", "viewer", &id, &name);
	char thing[96];
	struct http_resp r;

	http_call(&r, "GET", tok, NULL, "/api/v1/whoami");
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "role") ? testenv_jstr(r.json, "role") : "",
			 "viewer");
	ck_assert_str_eq(testenv_jstr(r.json, "name") ? testenv_jstr(r.json, "name") : "", name);
	ck_assert_str_eq(testenv_jstr(r.json, "token_id") ? testenv_jstr(r.json, "token_id") : "",
			 id);
	http_resp_cleanup(&r);

	http_call(&r, "GET", tok, NULL, "/api/v1/things?limit=1");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok, NULL, "/api/v1/groups?limit=1");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);

	testenv_uniq(thing, sizeof(thing), "viewer");
	http_call_json(&r, "POST", tok, json_pack("{s:s}", "name", thing), "/api/v1/things");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	/* Nothing was created. */
	http_call(&r, "GET", admin(), NULL, "/api/v1/things/%s", thing);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", tok, json_pack("{s:s}", "name", thing), "/api/v1/groups");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok, NULL, "/api/v1/audit?limit=1");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok, NULL, "/api/v1/tokens");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(tok);
	free(id);
	free(name);
}
END_TEST

START_TEST(operator_can_create_things_but_not_tokens)
{
	char *tok = testenv_token_new("operator", "operator", NULL, NULL);
	char thing[96];
	char tname[96];
	struct http_resp r;

	testenv_uniq(thing, sizeof(thing), "opthing");
	http_call_json(&r, "POST", tok, json_pack("{s:s}", "name", thing), "/api/v1/things");
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);

	http_call(&r, "GET", tok, NULL, "/api/v1/audit?limit=1");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);

	testenv_uniq(tname, sizeof(tname), "optoken");
	http_call_json(&r, "POST", tok, json_pack("{s:s, s:s}", "name", tname, "role", "viewer"),
		       "/api/v1/tokens");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok, NULL, "/api/v1/tokens");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok, NULL, "/api/v1/tokens/1");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(tok);
}
END_TEST

START_TEST(admin_creates_tokens_of_each_role)
{
	static const char *const roles[] = { "viewer", "operator", "admin" };

	for (size_t i = 0; i < 3; i++) {
		struct http_resp r;
		char name[96];
		char *tok;
		char *id;
		const char *prefix;
		json_t *item;

		testenv_uniq(name, sizeof(name), roles[i]);
		http_call_json(&r, "POST", admin(),
			       json_pack("{s:s, s:s}", "name", name, "role", roles[i]),
			       "/api/v1/tokens");
		EXPECT_STATUS(&r, 201);
		ck_assert_msg(
			testenv_matches(testenv_jstr(r.json, "token"), "^bw_[A-Za-z0-9_-]{43}$"),
			"token format: %s", r.body);
		ck_assert_str_eq(testenv_jstr(r.json, "name"), name);
		ck_assert_str_eq(testenv_jstr(r.json, "role"), roles[i]);
		ck_assert_msg(testenv_jstr(r.json, "id") != NULL, "id not a string: %s", r.body);
		ck_assert_msg(
			testenv_matches(testenv_jstr(r.json, "created_at"), TESTENV_RFC3339_MS),
			"created_at: %s", r.body);
		ck_assert_msg(testenv_jstr(r.json, "created_by") != NULL, "created_by: %s", r.body);
		ck_assert_msg(json_is_null(json_object_get(r.json, "revoked_at")),
			      "revoked_at not null: %s", r.body);
		prefix = testenv_jstr(r.json, "prefix");
		ck_assert_msg(
			prefix && strlen(prefix) >= 4 && strlen(prefix) < 20 &&
				strncmp(testenv_jstr(r.json, "token"), prefix, strlen(prefix)) == 0,
			"prefix is not a short prefix of the token: %s", r.body);
		tok = strdup(testenv_jstr(r.json, "token"));
		id = strdup(testenv_jstr(r.json, "id"));
		ck_assert_ptr_nonnull(tok);
		ck_assert_ptr_nonnull(id);
		http_resp_cleanup(&r);

		/* The token works and carries its role. */
		http_call(&r, "GET", tok, NULL, "/api/v1/whoami");
		EXPECT_STATUS(&r, 200);
		ck_assert_str_eq(testenv_jstr(r.json, "role"), roles[i]);
		ck_assert_str_eq(testenv_jstr(r.json, "token_id"), id);
		http_resp_cleanup(&r);

		/* Listed with its prefix, never with the secret. */
		item = list_find_token(id, tok);
		ck_assert_msg(item != NULL, "token %s not in GET /api/v1/tokens", id);
		ck_assert_str_eq(testenv_jstr(item, "name"), name);
		ck_assert_str_eq(testenv_jstr(item, "role"), roles[i]);
		ck_assert_msg(testenv_jstr(item, "prefix") &&
				      strncmp(tok, testenv_jstr(item, "prefix"),
					      strlen(testenv_jstr(item, "prefix"))) == 0,
			      "listed prefix does not match the token");
		ck_assert_msg(json_object_get(item, "last_used_at") != NULL,
			      "listed token lacks last_used_at");
		json_decref(item);

		free(tok);
		free(id);
	}
}
END_TEST

START_TEST(token_create_validation)
{
	struct http_resp r;
	char name[96];
	char long_name[130];

	testenv_uniq(name, sizeof(name), "tokval");
	http_call_json(&r, "POST", admin(), json_pack("{s:s, s:s}", "name", name, "role", "root"),
		       "/api/v1/tokens");
	EXPECT_ERROR(&r, 400, "bad_request", "/role");
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", admin(), json_pack("{s:s}", "name", name), "/api/v1/tokens");
	EXPECT_ERROR(&r, 400, "bad_request", "/role");
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", admin(), json_pack("{s:s, s:s}", "name", "", "role", "viewer"),
		       "/api/v1/tokens");
	EXPECT_ERROR(&r, 400, "bad_request", "/name");
	http_resp_cleanup(&r);

	http_call_json(&r, "POST", admin(),
		       json_pack("{s:s, s:s}", "name", "a/b", "role", "viewer"), "/api/v1/tokens");
	EXPECT_ERROR(&r, 400, "bad_request", "/name");
	http_resp_cleanup(&r);

	memset(long_name, 'n', 129);
	long_name[129] = '\0';
	http_call_json(&r, "POST", admin(),
		       json_pack("{s:s, s:s}", "name", long_name, "role", "viewer"),
		       "/api/v1/tokens");
	EXPECT_ERROR(&r, 400, "bad_request", "/name");
	http_resp_cleanup(&r);

	/* Spaces, dots and colons are allowed in token names. */
	snprintf(long_name, sizeof(long_name), "ci bot.%s:x", name);
	http_call_json(&r, "POST", admin(),
		       json_pack("{s:s, s:s}", "name", long_name, "role", "viewer"),
		       "/api/v1/tokens");
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(revoked_token_is_401)
{
	char *id = NULL;
	char *tok = testenv_token_new("operator", "revoke", &id, NULL);
	struct http_resp r;
	json_t *item;

	http_call(&r, "GET", tok, NULL, "/api/v1/whoami");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);

	http_call(&r, "DELETE", admin(), NULL, "/api/v1/tokens/%s", id);
	EXPECT_STATUS(&r, 204);
	ck_assert_msg(r.body_len == 0, "204 with a body: %s", r.body);
	http_resp_cleanup(&r);

	http_call(&r, "GET", tok, NULL, "/api/v1/whoami");
	EXPECT_ERROR(&r, 401, "unauthorized", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok, NULL, "/api/v1/things?limit=1");
	EXPECT_ERROR(&r, 401, "unauthorized", NULL);
	http_resp_cleanup(&r);

	item = list_find_token(id, tok);
	ck_assert_msg(item != NULL, "revoked token %s no longer listed", id);
	ck_assert_msg(testenv_matches(testenv_jstr(item, "revoked_at"), TESTENV_RFC3339_MS),
		      "revoked token has no revoked_at timestamp");
	json_decref(item);

	http_call(&r, "DELETE", admin(), NULL, "/api/v1/tokens/987654321987");
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	free(tok);
	free(id);
}
END_TEST

/* GET /api/v1/audit with the given filter query; returns a new reference to the items array. */
static json_t *audit_items(const char *token, const char *query)
{
	struct http_resp r;
	json_t *items;

	http_call(&r, "GET", token, NULL, "/api/v1/audit?limit=100&%s", query);
	EXPECT_STATUS(&r, 200);
	items = json_object_get(r.json, "items");
	ck_assert_msg(json_is_array(items), "audit reply has no items: %.300s", r.body);
	json_incref(items);
	http_resp_cleanup(&r);
	return items;
}

START_TEST(mutation_writes_one_audit_row_with_request_id)
{
	char *id = NULL;
	char *actor = NULL;
	char *tok = testenv_token_new("operator", "auditor", &id, &actor);
	char thing[96];
	char rid[96];
	char rid_hdr[128];
	char filter[256];
	const char *hdrs[] = { rid_hdr, NULL };
	struct http_req req = { 0 };
	struct http_resp r;
	json_t *items;
	json_t *row;
	json_t *packed;
	char *body;
	long version;

	testenv_uniq(thing, sizeof(thing), "audited");
	testenv_uniq(rid, sizeof(rid), "rid");
	snprintf(rid_hdr, sizeof(rid_hdr), "X-Request-Id: %s", rid);
	packed = json_pack("{s:s, s:s}", "name", thing, "hardware_type", "hw1");
	body = json_dumps(packed, 0);
	json_decref(packed);
	ck_assert_ptr_nonnull(body);
	req.method = "POST";
	req.path = "/api/v1/things";
	req.token = tok;
	req.body = body;
	req.body_len = strlen(body);
	req.content_type = "application/json";
	req.headers = hdrs;
	http_do(&req, &r);
	EXPECT_STATUS(&r, 201);
	ck_assert_str_eq(http_resp_header(&r, "X-Request-Id"), rid);
	version = (long)json_integer_value(json_object_get(r.json, "version"));
	http_resp_cleanup(&r);

	snprintf(filter, sizeof(filter), "resource_type=thing&resource_id=%s", thing);
	items = audit_items(tok, filter);
	ck_assert_msg(json_array_size(items) == 1, "expected 1 audit row for %s, got %zu", thing,
		      json_array_size(items));
	row = json_array_get(items, 0);
	ck_assert_str_eq(testenv_jstr(row, "action"), "thing.create");
	ck_assert_str_eq(testenv_jstr(row, "actor"), actor);
	ck_assert_str_eq(testenv_jstr(row, "actor_token_id"), id);
	ck_assert_str_eq(testenv_jstr(row, "resource_type"), "thing");
	ck_assert_str_eq(testenv_jstr(row, "resource_id"), thing);
	ck_assert_str_eq(testenv_jstr(row, "request_id"), rid);
	ck_assert_msg(testenv_jstr(row, "id") != NULL, "audit id not a string");
	ck_assert_msg(testenv_matches(testenv_jstr(row, "at"), TESTENV_RFC3339_MS),
		      "audit at not RFC 3339 ms");
	json_decref(items);

	/* A failed mutation (duplicate) writes nothing. */
	http_call_json(&r, "POST", tok, json_pack("{s:s}", "name", thing), "/api/v1/things");
	EXPECT_ERROR(&r, 409, "already_exists", NULL);
	http_resp_cleanup(&r);
	items = audit_items(tok, filter);
	ck_assert_msg(json_array_size(items) == 1, "failed create wrote audit rows: %zu",
		      json_array_size(items));
	json_decref(items);

	/* Update then delete: one row each, newest first. */
	http_call_json(&r, "PATCH", tok,
		       json_pack("{s:I, s:s}", "version", (json_int_t)version, "firmware_version",
				 "2.0.0"),
		       "/api/v1/things/%s", thing);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok, NULL, "/api/v1/things/%s", thing);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	items = audit_items(tok, filter);
	ck_assert_msg(json_array_size(items) == 3, "expected 3 audit rows, got %zu",
		      json_array_size(items));
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "action"), "thing.delete");
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 1), "action"), "thing.update");
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 2), "action"), "thing.create");
	json_decref(items);

	/* The action filter narrows to one row. */
	snprintf(filter, sizeof(filter), "resource_type=thing&resource_id=%s&action=thing.update",
		 thing);
	items = audit_items(tok, filter);
	ck_assert_msg(json_array_size(items) == 1, "action filter: expected 1 row, got %zu",
		      json_array_size(items));
	json_decref(items);

	free(body);
	free(tok);
	free(id);
	free(actor);
}
END_TEST

START_TEST(token_create_and_revoke_are_audited)
{
	char *id = NULL;
	char *name = NULL;
	char *tok = testenv_token_new("viewer", "audtok", &id, &name);
	char filter[128];
	struct http_resp r;
	json_t *items;
	char *dump;

	snprintf(filter, sizeof(filter), "resource_type=token&resource_id=%s", id);
	items = audit_items(admin(), filter);
	ck_assert_msg(json_array_size(items) == 1, "token.create rows: %zu",
		      json_array_size(items));
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "action"), "token.create");
	json_decref(items);

	http_call(&r, "DELETE", admin(), NULL, "/api/v1/tokens/%s", id);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	items = audit_items(admin(), filter);
	ck_assert_msg(json_array_size(items) == 2, "token rows after revoke: %zu",
		      json_array_size(items));
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "action"), "token.revoke");
	/* The secret never reaches the audit log. */
	dump = json_dumps(items, 0);
	ck_assert_ptr_nonnull(dump);
	ck_assert_msg(strstr(dump, tok) == NULL, "audit rows contain the token");
	free(dump);
	json_decref(items);
	free(tok);
	free(id);
	free(name);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("api_auth");
	TCase *tc = tcase_create("auth");
	TCase *audit = tcase_create("audit");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, no_token_is_401_with_www_authenticate);
	tcase_add_test(tc, garbage_tokens_are_401);
	tcase_add_test(tc, admin_whoami);
	tcase_add_test(tc, viewer_can_read_but_not_write);
	tcase_add_test(tc, operator_can_create_things_but_not_tokens);
	tcase_add_test(tc, admin_creates_tokens_of_each_role);
	tcase_add_test(tc, token_create_validation);
	tcase_add_test(tc, revoked_token_is_401);
	suite_add_tcase(s, tc);

	tcase_set_timeout(audit, 60);
	tcase_add_test(audit, mutation_writes_one_audit_row_with_request_id);
	tcase_add_test(audit, token_create_and_revoke_are_audited);
	suite_add_tcase(s, audit);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(auth_suite());
}
