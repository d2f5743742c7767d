/* Black-box tests of the firmware registry on a running bellwetherd: releases (validation,
 * drafts, publish + signed manifest, immutability, deprecate/revoke), signing keys (generate,
 * import, rotation, revocation, trust list, externally signed uploads) and known-safe pins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"
#include "crypto/base64.h"
#include "crypto/sign.h"
#include "db/db.h"
#include "firmware/verify.h"

static const char *tok(void)
{
	return testenv_get()->admin_token;
}

/* POST/PUT/PATCH a JSON body (stolen) and expect status; returns the reply JSON (new ref). */
static json_t *call_expect(long status, const char *method, json_t *body, const char *path)
{
	struct http_resp r;
	json_t *out;

	http_call_json(&r, method, tok(), body, "%s", path);
	EXPECT_STATUS(&r, status);
	out = json_incref(r.json);
	http_resp_cleanup(&r);
	return out;
}

/* A new draft release with a unique product; returns its id (malloc'd). *product_out too. */
static char *release_new(const char *version, const char *hw, char **product_out)
{
	char product[96];
	json_t *rel;
	char *id;

	testenv_uniq(product, sizeof(product), "prod");
	rel = call_expect(201, "POST",
			  json_pack("{s:s, s:s, s:i, s:[s], s:s}", "product", product,
				    "firmware_version", version, "security_version", 2,
				    "hardware_types", hw, "notes", "test release"),
			  "/api/v1/firmware/releases");
	id = strdup(testenv_jstr(rel, "id"));
	if (product_out)
		*product_out = strdup(product);
	json_decref(rel);
	return id;
}

/* Upload data as artifact name; expects status, returns the reply JSON (new ref). */
static json_t *upload(long status, const char *release, const char *name, const char *data,
		      size_t len, const char *const *extra_headers)
{
	struct http_req req = { 0 };
	struct http_resp r;
	char path[256];
	json_t *out;

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts?name=%s", release,
		 name);
	req.method = "POST";
	req.path = path;
	req.token = tok();
	req.body = data;
	req.body_len = len;
	req.content_type = "application/octet-stream";
	req.headers = extra_headers;
	http_do(&req, &r);
	EXPECT_STATUS(&r, status);
	out = json_incref(r.json);
	http_resp_cleanup(&r);
	return out;
}

/* A new key of algorithm alg; returns its id (malloc'd). */
static char *key_new(const char *alg)
{
	char name[96];
	json_t *k;
	char *id;

	testenv_uniq(name, sizeof(name), "key");
	k = call_expect(201, "POST", json_pack("{s:s, s:s}", "name", name, "algorithm", alg),
			"/api/v1/firmware/keys");
	ck_assert_ptr_null(json_object_get(k, "private_key_pem"));
	ck_assert(json_is_true(json_object_get(k, "has_private_key")));
	id = strdup(testenv_jstr(k, "id"));
	json_decref(k);
	return id;
}

static json_t *publish(long status, const char *release, const char *key_id)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/publish", release);
	return call_expect(status, "POST", key_id ? json_pack("{s:s}", "key_id", key_id) : NULL,
			   path);
}

/* GET path as raw text (manifest, PEM, trust list). */
static char *get_text(const char *path, long status)
{
	struct http_resp r;
	char *out;

	http_call(&r, "GET", tok(), NULL, "%s", path);
	EXPECT_STATUS(&r, status);
	out = strdup(r.body);
	http_resp_cleanup(&r);
	return out;
}

START_TEST(release_create_validates_fields)
{
	static const struct {
		const char *body;
		const char *field;
	} bad[] = {
		{ "{\"product\":\"p q\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"a\"]}",
		  "/product" },
		{ "{\"product\":\"p\",\"firmware_version\":\"v1.0\",\"hardware_types\":[\"a\"]}",
		  "/firmware_version" },
		{ "{\"product\":\"p\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[]}",
		  "/hardware_types" },
		{ "{\"product\":\"p\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"a\",\"a\"]}",
		  "/hardware_types" },
		{ "{\"product\":\"p\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"a\",\"b c\"]}",
		  "/hardware_types/1" },
		{ "{\"product\":\"p\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"a\"],"
		  "\"security_version\":-1}",
		  "/security_version" },
		{ "{\"product\":\"p\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"a\"],"
		  "\"min_version\":\"2.0.0\"}",
		  "/min_version" },
		{ "{\"product\":\"p\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"a\"],"
		  "\"colour\":\"red\"}",
		  "/colour" },
	};
	char *product = NULL, *id;
	struct http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_call(&r, "POST", tok(), bad[i].body, "/api/v1/firmware/releases");
		EXPECT_ERROR(&r, 400, "bad_request", bad[i].field);
		http_resp_cleanup(&r);
	}
	id = release_new("1.0.0+a", "esp32", &product);
	/* same precedence (build metadata ignored) in the same product */
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:[s]}", "product", product, "firmware_version",
				 "1.0.0+b", "hardware_types", "esp32"),
		       "/api/v1/firmware/releases");
	EXPECT_ERROR(&r, 409, "already_exists", "/firmware_version");
	http_resp_cleanup(&r);
	/* viewers read, but cannot create */
	char *viewer = testenv_token_new("viewer", "fwview", NULL, NULL);
	http_call(&r, "POST", viewer, "{}", "/api/v1/firmware/releases");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "GET", viewer, NULL, "/api/v1/firmware/releases/%s", id);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "state"), "draft");
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "security_version")), 2);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "/api/v1/firmware/releases/abc");
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	free(viewer);
	free(product);
	free(id);
}
END_TEST

START_TEST(draft_release_is_editable_then_deletable)
{
	char *id = release_new("2.0.0", "esp32", NULL), path[128];
	struct http_resp r;
	json_t *rel;

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s", id);
	rel = call_expect(200, "PATCH",
			  json_pack("{s:i, s:s, s:s, s:[s,s]}", "version", 1, "notes", "edited",
				    "min_version", "1.5.0", "hardware_types", "esp32", "esp32-c3"),
			  path);
	ck_assert_str_eq(testenv_jstr(rel, "notes"), "edited");
	ck_assert_str_eq(testenv_jstr(rel, "min_version"), "1.5.0");
	ck_assert_int_eq(json_array_size(json_object_get(rel, "hardware_types")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(rel, "version")), 2);
	json_decref(rel);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:i, s:s}", "version", 1, "notes", "x"),
		       "%s", path);
	EXPECT_ERROR(&r, 409, "version_conflict", "/version");
	http_resp_cleanup(&r);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:s}", "notes", "x"), "%s", path);
	EXPECT_ERROR(&r, 400, "bad_request", "/version");
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "%s", path);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "GET", tok(), NULL, "%s", path);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	free(id);
}
END_TEST

/* Verify a manifest text with the server's trust list (as a device maker would). */
static void expect_manifest_valid(const char *manifest, bool want_valid, const char *why_part)
{
	char *list = get_text("/api/v1/firmware/trust-list", 200), why[256] = "";
	struct verify_trust *t = verify_trust_new();
	bool ok;

	ck_assert_msg(verify_trust_add_list(t, list, strlen(list), why, sizeof(why)), "%s", why);
	ok = verify_manifest(manifest, strlen(manifest), t, NULL, why, sizeof(why));
	ck_assert_msg(ok == want_valid, "manifest %s: %s", ok ? "valid" : "invalid", why);
	if (why_part)
		ck_assert_msg(strstr(why, why_part), "reason '%s' lacks '%s'", why, why_part);
	verify_trust_free(t);
	free(list);
}

START_TEST(publish_signs_and_freezes_the_release)
{
	char *key = key_new("ecdsa-p256"), *id = release_new("3.1.0", "esp32", NULL);
	char path[160], *manifest, *pem;
	const char image[] = "image bytes for publish";
	struct http_resp r;
	json_t *rel, *art, *m;

	json_decref(upload(201, id, "app.bin", image, sizeof(image), NULL));
	rel = publish(200, id, key);
	ck_assert_str_eq(testenv_jstr(rel, "state"), "published");
	ck_assert_str_eq(testenv_jstr(rel, "manifest_key_id"), key);
	ck_assert(testenv_matches(testenv_jstr(rel, "published_at"), TESTENV_RFC3339_MS));
	art = json_array_get(json_object_get(rel, "artifacts"), 0);
	ck_assert_str_eq(testenv_jstr(art, "signature_source"), "server");
	ck_assert_str_eq(testenv_jstr(art, "signature_key_id"), key);

	/* the FreeRTOS-style artifact signature: ECDSA P-256 over SHA-256 of the image */
	snprintf(path, sizeof(path), "/api/v1/firmware/keys/%s/public.pem", key);
	pem = get_text(path, 200);
	struct sign_key *pub = NULL;
	unsigned char *sig = NULL, d[DIGEST_SHA256_LEN];
	size_t siglen = 0;
	const char *b64 = testenv_jstr(art, "signature_sha256_ecdsa");
	ck_assert_int_eq(sign_key_from_pem(pem, strlen(pem), &pub), SIGN_OK);
	ck_assert(base64_decode(b64, strlen(b64), &sig, &siglen));
	digest_sha256(image, sizeof(image), d);
	ck_assert(sign_verify_digest_sha256(pub, d, sig, siglen));
	free(sig);
	sign_key_free(pub);
	free(pem);

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/manifest", id);
	manifest = get_text(path, 200);
	m = json_loads(manifest, 0, NULL);
	ck_assert_str_eq(testenv_jstr(m, "release_id"), id);
	ck_assert_str_eq(testenv_jstr(m, "version"), "3.1.0");
	ck_assert_str_eq(testenv_jstr(m, "key_id"), key);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "security_version")), 2);
	ck_assert_str_eq(testenv_jstr(json_array_get(json_object_get(m, "artifacts"), 0), "sha256"),
			 testenv_jstr(art, "sha256"));
	json_decref(m);
	expect_manifest_valid(manifest, true, NULL);

	/* immutable from now on, through the API ... */
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s", id);
	http_call_json(&r, "PATCH", tok(), json_pack("{s:i, s:s}", "version", 3, "notes", "x"),
		       "%s", path);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "%s", path);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	json_decref(upload(409, id, "extra.bin", "x", 1, NULL));
	http_call(&r, "DELETE", tok(), NULL, "%s/artifacts/app.bin", path);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	json_decref(publish(409, id, key));
	/* ... and in the database, whoever writes */
	if (testenv_get()->pg_dsn) {
		struct db *db = db_connect(testenv_get()->pg_dsn);
		const char *params[] = { id };
		ck_assert_ptr_nonnull(db);
		ck_assert_int_eq(db_exec(db,
					 "UPDATE firmware_releases SET notes = 'sneaky' WHERE id ="
					 " $1::bigint",
					 1, params, NULL),
				 DB_HARD);
		ck_assert_int_eq(db_exec(db,
					 "UPDATE firmware_artifacts SET sha256 = repeat('0', 64)"
					 " WHERE release_id = $1::bigint",
					 1, params, NULL),
				 DB_HARD);
		ck_assert_int_eq(db_exec(db, "DELETE FROM firmware_releases WHERE id = $1::bigint",
					 1, params, NULL),
				 DB_HARD);
		db_close(db);
	}
	/* the stored manifest is unchanged */
	char *again = get_text(path, 200);
	json_t *rel2 = json_loads(again, 0, NULL);
	ck_assert_str_eq(testenv_jstr(rel2, "notes"), "test release");
	json_decref(rel2);
	free(again);
	json_decref(rel);
	free(manifest);
	free(key);
	free(id);
}
END_TEST

START_TEST(ed25519_key_signs_manifests)
{
	char *ekey = key_new("ecdsa-p256"), *key = key_new("ed25519");
	char *id = release_new("1.0.0", "nrf52", NULL), path[128], *manifest;
	json_t *rel, *m;

	json_decref(upload(201, id, "fw.bin", "ed", 2, NULL));
	rel = publish(200, id, key);
	/* artifact signatures stay ECDSA P-256 (FreeRTOS format): the newest active ECDSA key */
	json_t *art = json_array_get(json_object_get(rel, "artifacts"), 0);
	ck_assert(json_is_string(json_object_get(art, "signature_sha256_ecdsa")));
	ck_assert_str_ne(testenv_jstr(art, "signature_key_id"), key);
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/manifest", id);
	manifest = get_text(path, 200);
	m = json_loads(manifest, 0, NULL);
	ck_assert_str_eq(testenv_jstr(m, "algorithm"), "ed25519");
	json_decref(m);
	expect_manifest_valid(manifest, true, NULL);
	json_decref(rel);
	free(manifest);
	free(ekey);
	free(key);
	free(id);
}
END_TEST

START_TEST(publish_needs_artifacts_and_an_active_key)
{
	char *key = key_new("ecdsa-p256"), *id = release_new("1.0.0", "esp32", NULL);
	char path[160];
	struct http_resp r;

	json_decref(publish(409, id, key)); /* no artifacts yet */
	json_decref(upload(201, id, "fw.bin", "abc", 3, NULL));
	snprintf(path, sizeof(path), "/api/v1/firmware/keys/%s/retire", key);
	json_t *k = call_expect(200, "POST", json_pack("{s:s}", "reason", "rotation"), path);
	ck_assert_str_eq(testenv_jstr(k, "status"), "retired");
	json_decref(k);
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/publish", id);
	http_call_json(&r, "POST", tok(), json_pack("{s:s}", "key_id", key), "%s", path);
	EXPECT_ERROR(&r, 409, "conflict", "/key_id");
	http_resp_cleanup(&r);
	free(key);
	free(id);
}
END_TEST

START_TEST(deprecate_and_revoke_follow_the_lifecycle)
{
	char *key = key_new("ecdsa-p256"), *id = release_new("4.0.0", "esp32", NULL);
	char path[160];
	json_t *rel;

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/deprecate", id);
	json_decref(call_expect(409, "POST", NULL, path)); /* drafts cannot be deprecated */
	json_decref(upload(201, id, "fw.bin", "life", 4, NULL));
	json_decref(publish(200, id, key));
	rel = call_expect(200, "POST", json_pack("{s:s}", "reason", "superseded"), path);
	ck_assert_str_eq(testenv_jstr(rel, "state"), "deprecated");
	ck_assert_str_eq(testenv_jstr(rel, "state_reason"), "superseded");
	json_decref(rel);
	json_decref(call_expect(409, "POST", NULL, path));
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/revoke", id);
	rel = call_expect(200, "POST", json_pack("{s:s}", "reason", "bricks devices"), path);
	ck_assert_str_eq(testenv_jstr(rel, "state"), "revoked");
	json_decref(rel);
	json_decref(call_expect(409, "POST", NULL, path));
	/* a revoked release is not served any more */
	struct http_resp r;
	http_call(&r, "GET", tok(), NULL, "/api/v1/firmware/releases/%s/artifacts/fw.bin/content",
		  id);
	EXPECT_ERROR(&r, 409, "conflict", NULL);
	http_resp_cleanup(&r);
	/* the audit log has one row per change */
	http_call(&r, "GET", tok(), NULL, "/api/v1/audit?resource_type=release&resource_id=%s", id);
	EXPECT_STATUS(&r, 200);
	static const char *const want[] = { "release.revoke", "release.deprecate",
					    "release.publish", "release.create" };
	json_t *items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(testenv_jstr(json_array_get(items, i), "action"), want[i]);
	http_resp_cleanup(&r);
	free(key);
	free(id);
}
END_TEST

START_TEST(known_safe_pins_keep_history)
{
	char hw[96], group[96], path[256];
	char *key = key_new("ecdsa-p256"), *a, *b, *draft;
	struct http_resp r;
	json_t *pin, *items;

	testenv_uniq(hw, sizeof(hw), "hw");
	testenv_uniq(group, sizeof(group), "grp");
	a = release_new("1.0.0", hw, NULL);
	b = release_new("1.1.0", hw, NULL);
	draft = release_new("9.0.0", hw, NULL);
	json_decref(upload(201, a, "fw.bin", "A", 1, NULL));
	json_decref(upload(201, b, "fw.bin", "B", 1, NULL));
	json_decref(publish(200, a, key));
	json_decref(publish(200, b, key));
	snprintf(path, sizeof(path), "/api/v1/firmware/known-safe/%s", hw);
	http_call(&r, "GET", tok(), NULL, "%s", path);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	http_call_json(&r, "PUT", tok(), json_pack("{s:s}", "release_id", draft), "%s", path);
	EXPECT_ERROR(&r, 409, "conflict", "/release_id");
	http_resp_cleanup(&r);
	http_call_json(&r, "PUT", tok(), json_pack("{s:s}", "release_id", a),
		       "/api/v1/firmware/known-safe/other-hw-type");
	EXPECT_ERROR(&r, 400, "bad_request", "/release_id");
	http_resp_cleanup(&r);
	pin = call_expect(200, "PUT", json_pack("{s:s, s:s}", "release_id", a, "note", "v1 ok"),
			  path);
	ck_assert_str_eq(testenv_jstr(pin, "release_id"), a);
	ck_assert(json_is_null(json_object_get(pin, "group")));
	json_decref(pin);
	pin = call_expect(200, "PUT", json_pack("{s:s}", "release_id", b), path);
	ck_assert_int_eq(json_integer_value(json_object_get(pin, "version")), 2);
	json_decref(pin);
	pin = call_expect(200, "GET", NULL, path);
	ck_assert_str_eq(testenv_jstr(pin, "release_id"), b);
	ck_assert_str_eq(testenv_jstr(pin, "firmware_version"), "1.1.0");
	json_decref(pin);

	/* a per-group pin is separate from the hardware type's */
	json_decref(call_expect(201, "POST", json_pack("{s:s}", "name", group), "/api/v1/groups"));
	char gpath[400];
	snprintf(gpath, sizeof(gpath), "%s?group=%s", path, group);
	pin = call_expect(200, "PUT", json_pack("{s:s}", "release_id", a), gpath);
	ck_assert_str_eq(testenv_jstr(pin, "group"), group);
	json_decref(pin);
	pin = call_expect(200, "GET", NULL, gpath);
	ck_assert_str_eq(testenv_jstr(pin, "release_id"), a);
	json_decref(pin);
	snprintf(gpath, sizeof(gpath), "/api/v1/firmware/known-safe?hardware_type=%s", hw);
	items = testenv_list_all(tok(), gpath, NULL);
	ck_assert_int_eq(json_array_size(items), 2);
	json_decref(items);

	/* a pinned release cannot be revoked */
	char rpath[160];
	snprintf(rpath, sizeof(rpath), "/api/v1/firmware/releases/%s/revoke", b);
	json_decref(call_expect(409, "POST", NULL, rpath));

	http_call(&r, "DELETE", tok(), NULL, "%s", path);
	EXPECT_STATUS(&r, 204);
	http_resp_cleanup(&r);
	http_call(&r, "DELETE", tok(), NULL, "%s", path);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);

	snprintf(gpath, sizeof(gpath), "%s/history?limit=2", path);
	items = testenv_list_all(tok(), gpath, NULL);
	ck_assert_int_eq(json_array_size(items), 3);
	ck_assert(json_is_null(json_object_get(json_array_get(items, 0), "release_id")));
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 0), "previous_release_id"), b);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 1), "release_id"), b);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 1), "previous_release_id"), a);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 2), "release_id"), a);
	ck_assert_str_eq(testenv_jstr(json_array_get(items, 2), "note"), "v1 ok");
	json_decref(items);
	http_call(&r, "GET", tok(), NULL, "/api/v1/audit?resource_type=known_safe&resource_id=%s",
		  hw);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
	http_resp_cleanup(&r);
	free(key);
	free(a);
	free(b);
	free(draft);
}
END_TEST

/* Run a shell command and return its stdout (malloc'd). */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = calloc(1, 16384);
	size_t n;

	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, 16383, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	return out;
}

START_TEST(keys_are_imported_and_private_parts_never_returned)
{
	char name[96], *pem = run("openssl genpkey -algorithm ed25519 2>/dev/null");
	char *enc = run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
			" -aes-128-cbc -pass pass:x 2>/dev/null");
	char *p384 = run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384"
			 " 2>/dev/null");
	struct http_resp r;
	json_t *k, *items, *e;
	size_t i;

	testenv_uniq(name, sizeof(name), "imp");
	k = call_expect(201, "POST", json_pack("{s:s, s:s}", "name", name, "private_key_pem", pem),
			"/api/v1/firmware/keys");
	ck_assert_str_eq(testenv_jstr(k, "algorithm"), "ed25519");
	ck_assert(json_is_true(json_object_get(k, "has_private_key")));
	json_decref(k);
	/* the same key again, another name */
	testenv_uniq(name, sizeof(name), "imp");
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s}", "name", name, "private_key_pem", pem),
		       "/api/v1/firmware/keys");
	EXPECT_ERROR(&r, 409, "already_exists", NULL);
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s}", "name", name, "private_key_pem", enc),
		       "/api/v1/firmware/keys");
	EXPECT_ERROR(&r, 400, "bad_request", "/private_key_pem");
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s}", "name", name, "private_key_pem", p384),
		       "/api/v1/firmware/keys");
	EXPECT_ERROR(&r, 400, "bad_request", "/private_key_pem");
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(),
		       json_pack("{s:s, s:s, s:s}", "name", name, "algorithm", "ed25519",
				 "public_key_pem", "x"),
		       "/api/v1/firmware/keys");
	EXPECT_ERROR(&r, 400, "bad_request", NULL);
	http_resp_cleanup(&r);
	http_call_json(&r, "POST", tok(), json_pack("{s:s, s:s}", "name", name, "algorithm", "rsa"),
		       "/api/v1/firmware/keys");
	EXPECT_ERROR(&r, 400, "bad_request", "/algorithm");
	http_resp_cleanup(&r);
	/* keys are admin business */
	char *op = testenv_token_new("operator", "fwop", NULL, NULL);
	http_call(&r, "POST", op, "{\"name\":\"x\",\"algorithm\":\"ed25519\"}",
		  "/api/v1/firmware/keys");
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(op);
	/* nothing private in listings or the trust list */
	items = testenv_list_all(tok(), "/api/v1/firmware/keys?limit=5", NULL);
	ck_assert_int_ge(json_array_size(items), 1);
	json_array_foreach(items, i, e) {
		char *text = json_dumps(e, 0);
		ck_assert_msg(!strstr(text, "PRIVATE") && !strstr(text, "sealed") &&
				      !strstr(text, "bwk1."),
			      "%s", text);
		free(text);
	}
	json_decref(items);
	char *list = get_text("/api/v1/firmware/trust-list", 200);
	ck_assert(!strstr(list, "PRIVATE") && !strstr(list, "bwk1."));
	ck_assert(strstr(list, "bellwether-trust-list/1"));
	free(list);
	free(pem);
	free(enc);
	free(p384);
}
END_TEST

START_TEST(external_signatures_are_checked_against_the_trust_list)
{
	char name[96], path[160], hdr_sig[200], hdr_sha[100];
	char *priv = run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
			 " 2>/dev/null");
	struct sign_key *signer = NULL;
	char *pub_pem, kid[SIGN_KEY_ID_SIZE];
	const char image[] = "externally signed image";
	unsigned char d[DIGEST_SHA256_LEN], *sig = NULL;
	size_t siglen = 0;
	char *b64, *id = release_new("5.0.0", "esp32", NULL), *key;
	json_t *k, *art;

	/* the device maker keeps the private key; the server learns only the public key */
	ck_assert_int_eq(sign_key_from_pem(priv, strlen(priv), &signer), SIGN_OK);
	pub_pem = sign_key_public_pem(signer);
	ck_assert(sign_key_id(signer, kid));
	testenv_uniq(name, sizeof(name), "ext");
	k = call_expect(201, "POST",
			json_pack("{s:s, s:s}", "name", name, "public_key_pem", pub_pem),
			"/api/v1/firmware/keys");
	ck_assert(json_is_false(json_object_get(k, "has_private_key")));
	ck_assert_str_eq(testenv_jstr(k, "id"), kid);
	json_decref(k);
	digest_sha256(image, sizeof(image), d);
	ck_assert(sign_digest_sha256(signer, d, &sig, &siglen));
	b64 = base64_encode(sig, siglen);
	snprintf(hdr_sig, sizeof(hdr_sig), "X-Signature-Sha256-Ecdsa: %s", b64);
	const char *good[] = { hdr_sig, NULL };
	art = upload(201, id, "signed.bin", image, sizeof(image), good);
	ck_assert_str_eq(testenv_jstr(art, "signature_source"), "external");
	ck_assert_str_eq(testenv_jstr(art, "signature_key_id"), kid);
	ck_assert_str_eq(testenv_jstr(art, "signature_sha256_ecdsa"), b64);
	json_decref(art);
	/* a signature over other content is refused, and nothing is stored */
	json_decref(upload(400, id, "other.bin", "other content", 13, good));
	snprintf(hdr_sha, sizeof(hdr_sha), "X-Signature-Key-Id: %s", kid);
	const char *named[] = { hdr_sig, hdr_sha, NULL };
	json_decref(upload(201, id, "named.bin", image, sizeof(image), named));
	/* publishing keeps the external signature; a public-only key cannot publish */
	json_decref(publish(409, id, kid));
	/* once the key is revoked, its signatures are rejected */
	snprintf(path, sizeof(path), "/api/v1/firmware/keys/%s/revoke", kid);
	json_decref(call_expect(200, "POST", json_pack("{s:s}", "reason", "leaked"), path));
	json_t *err = upload(400, id, "again.bin", image, sizeof(image), good);
	ck_assert(strstr(testenv_jstr(json_object_get(err, "error"), "message"), "revoked"));
	json_decref(err);
	key = key_new("ecdsa-p256");
	json_decref(publish(409, id, key)); /* an artifact carries the revoked key's signature */
	char *list = get_text("/api/v1/firmware/trust-list", 200);
	json_t *tl = json_loads(list, 0, NULL), *e;
	size_t i;
	bool seen = false;
	json_array_foreach(json_object_get(tl, "keys"), i, e) {
		if (strcmp(testenv_jstr(e, "key_id"), kid) == 0) {
			ck_assert_str_eq(testenv_jstr(e, "status"), "revoked");
			seen = true;
		}
	}
	ck_assert(seen);
	json_decref(tl);
	free(list);
	free(key);
	free(b64);
	free(sig);
	free(pub_pem);
	sign_key_free(signer);
	free(priv);
	free(id);
}
END_TEST

START_TEST(revoked_signing_key_invalidates_its_manifests)
{
	char *key = key_new("ecdsa-p256"), *id = release_new("6.0.0", "esp32", NULL), path[160];
	char *manifest;

	json_decref(upload(201, id, "fw.bin", "rev", 3, NULL));
	json_decref(publish(200, id, key));
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/manifest", id);
	manifest = get_text(path, 200);
	expect_manifest_valid(manifest, true, NULL);
	snprintf(path, sizeof(path), "/api/v1/firmware/keys/%s/revoke", key);
	json_decref(call_expect(200, "POST", NULL, path));
	json_decref(call_expect(409, "POST", NULL, path));
	expect_manifest_valid(manifest, false, "revoked");
	free(manifest);
	free(key);
	free(id);
}
END_TEST

START_TEST(compatibility_applies_release_rules)
{
	char *key = key_new("ecdsa-p256"), *id, path[256], thing[96];
	struct http_resp r;
	json_t *c;

	id = release_new("2.0.0", "esp32", NULL);
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s", id);
	json_decref(call_expect(200, "PATCH",
				json_pack("{s:i, s:s, s:i}", "version", 1, "min_version", "1.5.0",
					  "security_version", 4),
				path));
	snprintf(
		path, sizeof(path),
		"/api/v1/firmware/releases/%s/compatibility?hardware_type=esp32&current_version=1.6.0"
		"&current_security_version=4",
		id);
	c = call_expect(200, "GET", NULL, path);
	ck_assert(json_is_true(json_object_get(c, "compatible")));
	json_decref(c);
	snprintf(
		path, sizeof(path),
		"/api/v1/firmware/releases/%s/compatibility?hardware_type=esp32&current_version=1.6.0"
		"&current_security_version=5",
		id);
	c = call_expect(200, "GET", NULL, path);
	ck_assert_str_eq(testenv_jstr(c, "result"), "security_downgrade");
	json_decref(c);
	testenv_uniq(thing, sizeof(thing), "dev");
	json_decref(call_expect(201, "POST",
				json_pack("{s:s, s:s, s:s}", "name", thing, "hardware_type",
					  "esp32", "firmware_version", "1.0.0"),
				"/api/v1/things"));
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/compatibility?thing=%s", id,
		 thing);
	c = call_expect(200, "GET", NULL, path);
	ck_assert_str_eq(testenv_jstr(c, "result"), "below_min_version");
	json_decref(c);
	http_call(&r, "GET", tok(), NULL, "/api/v1/firmware/releases/%s/compatibility", id);
	EXPECT_ERROR(&r, 400, "bad_request", "/hardware_type");
	http_resp_cleanup(&r);
	free(key);
	free(id);
}
END_TEST

static Suite *fw_registry_suite(void)
{
	Suite *s = suite_create("api_fw_registry");
	TCase *tc = tcase_create("releases");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, release_create_validates_fields);
	tcase_add_test(tc, draft_release_is_editable_then_deletable);
	tcase_add_test(tc, publish_signs_and_freezes_the_release);
	tcase_add_test(tc, ed25519_key_signs_manifests);
	tcase_add_test(tc, publish_needs_artifacts_and_an_active_key);
	tcase_add_test(tc, deprecate_and_revoke_follow_the_lifecycle);
	tcase_add_test(tc, known_safe_pins_keep_history);
	tcase_add_test(tc, compatibility_applies_release_rules);
	suite_add_tcase(s, tc);
	tc = tcase_create("keys");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keys_are_imported_and_private_parts_never_returned);
	tcase_add_test(tc, external_signatures_are_checked_against_the_trust_list);
	tcase_add_test(tc, revoked_signing_key_invalidates_its_manifests);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(fw_registry_suite());
}
