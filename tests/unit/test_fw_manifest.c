/* Unit tests: canonical JSON, manifest building, signing and offline verification against a
 * trust list (what `bellwetherd verify-manifest` does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "crypto/base64.h"
#include "crypto/sign.h"
#include "firmware/manifest.h"
#include "firmware/verify.h"

static char *canon(const char *json)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *out;

	ck_assert_msg(v != NULL, "bad test JSON %s", json);
	out = manifest_canonical(v, NULL);
	json_decref(v);
	return out;
}

START_TEST(canonical_json_sorts_keys_and_drops_whitespace)
{
	static const char *const cases[][2] = {
		{ "{ \"b\": 1, \"a\": [ true, false, null ] }",
		  "{\"a\":[true,false,null],\"b\":1}" },
		{ "{\"z\":{\"y\":1,\"x\":2},\"a\":{}}", "{\"a\":{},\"z\":{\"x\":2,\"y\":1}}" },
		{ "{\"aa\":1,\"a\":2,\"B\":3,\"_\":4}", "{\"B\":3,\"_\":4,\"a\":2,\"aa\":1}" },
		{ "[ -5, 0, 9007199254740993 ]", "[-5,0,9007199254740993]" },
		{ "\"a/b\"", "\"a/b\"" },
		{ "\"tab\\there \\\" \\\\ \\u0001 \\u001f \\u007f\"",
		  "\"tab\\there \\\" \\\\ \\u0001 \\u001f \x7f\"" },
		{ "\"\\b\\f\\n\\r\"", "\"\\b\\f\\n\\r\"" },
		{ "\"caf\\u00e9 \\ud83d\\ude00\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"" },
		{ "{\"\\u00e9\":1,\"z\":2}", "{\"z\":2,\"\xc3\xa9\":1}" },
		{ "[]", "[]" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = canon(cases[i][0]);
		ck_assert_msg(c && strcmp(c, cases[i][1]) == 0, "case %zu: got %s", i, c);
		free(c);
	}
}
END_TEST

START_TEST(canonical_json_rejects_reals_and_keeps_nul)
{
	json_t *v = json_pack("{s:f}", "x", 1.5);
	json_t *s = json_stringn("a\0b", 3);
	char *c;

	ck_assert_ptr_null(manifest_canonical(v, NULL));
	json_decref(v);
	c = manifest_canonical(s, NULL);
	ck_assert_str_eq(c, "\"a\\u0000b\"");
	free(c);
	json_decref(s);
}
END_TEST

START_TEST(canonical_json_is_idempotent)
{
	char *a = canon("{\"k\":[{\"b\":\"x\",\"a\":1}],\"c\":\"\\u00fc\"}");
	char *b = canon(a);

	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

static json_t *release_fixture(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:n, s:[s,s], s:[{s:s,s:s,s:I,s:s,s:s},"
			 "{s:s,s:s,s:I,s:s}], s:s}",
			 "id", "7", "product", "pump", "firmware_version", "1.4.0",
			 "security_version", (json_int_t)3, "min_version", "hardware_types",
			 "esp32-s3", "esp32", "artifacts", "name", "zeta.bin", "type", "firmware",
			 "size_bytes", (json_int_t)10, "sha256",
			 "0000000000000000000000000000000000000000000000000000000000000001",
			 "signature_sha256_ecdsa", "ignored", "name", "alpha.bin", "type",
			 "bootloader", "size_bytes", (json_int_t)20, "sha256",
			 "0000000000000000000000000000000000000000000000000000000000000002",
			 "state", "draft");
}

START_TEST(manifest_has_documented_fields_sorted)
{
	json_t *rel = release_fixture();
	json_t *m = manifest_build(rel, "abc", "ecdsa-p256", "2026-01-01T00:00:00.000Z");
	char *text;

	ck_assert_ptr_nonnull(m);
	text = manifest_canonical(m, NULL);
	ck_assert_str_eq(
		text,
		"{\"algorithm\":\"ecdsa-p256\",\"artifacts\":[{\"name\":\"alpha.bin\",\"sha256\":"
		"\"0000000000000000000000000000000000000000000000000000000000000002\","
		"\"size_bytes\":20,\"type\":\"bootloader\"},{\"name\":\"zeta.bin\",\"sha256\":"
		"\"0000000000000000000000000000000000000000000000000000000000000001\","
		"\"size_bytes\":10,\"type\":\"firmware\"}],\"created_at\":"
		"\"2026-01-01T00:00:00.000Z\",\"format\":\"bellwether-manifest/1\","
		"\"hardware_types\":[\"esp32\",\"esp32-s3\"],\"key_id\":\"abc\",\"min_version\":"
		"null,\"product\":\"pump\",\"release_id\":\"7\",\"security_version\":3,"
		"\"version\":\"1.4.0\"}");
	free(text);
	json_decref(m);
	json_object_del(rel, "product");
	ck_assert_ptr_null(manifest_build(rel, "abc", "ecdsa-p256", "t"));
	json_decref(rel);
}
END_TEST

/* Sign a manifest for rel with key the way publish does; returns the manifest text. */
static char *signed_manifest(const struct sign_key *key)
{
	char id[SIGN_KEY_ID_SIZE], *payload, *b64, *text;
	json_t *rel = release_fixture(), *m;
	unsigned char *sig;
	size_t plen, siglen;

	ck_assert(sign_key_id(key, id));
	m = manifest_build(rel, id, sign_alg_name(sign_key_alg(key)), "2026-01-01T00:00:00.000Z");
	payload = manifest_canonical(m, &plen);
	ck_assert(sign_message(key, payload, plen, &sig, &siglen));
	b64 = base64_encode(sig, siglen);
	json_object_set_new(m, "signature", json_string(b64));
	text = manifest_canonical(m, NULL);
	/* the payload is the manifest minus its signature */
	char *again = manifest_payload(m, NULL);
	ck_assert_str_eq(again, payload);
	free(again);
	free(payload);
	free(b64);
	free(sig);
	json_decref(m);
	json_decref(rel);
	return text;
}

static struct verify_trust *trust_of(const struct sign_key *key)
{
	struct verify_trust *t = verify_trust_new();
	char *pem = sign_key_public_pem(key), why[256];

	ck_assert(verify_trust_add_pem(t, pem, strlen(pem), why, sizeof(why)));
	free(pem);
	return t;
}

START_TEST(signed_manifest_verifies_with_both_algorithms)
{
	static const enum sign_alg algs[] = { SIGN_ALG_ECDSA_P256, SIGN_ALG_ED25519 };

	for (size_t i = 0; i < 2; i++) {
		struct sign_key *key = sign_key_generate(algs[i]);
		struct verify_trust *t = trust_of(key);
		char *text = signed_manifest(key), why[256] = "";
		json_t *m = NULL;

		ck_assert_msg(verify_manifest(text, strlen(text), t, &m, why, sizeof(why)), "%s",
			      why);
		ck_assert_str_eq(json_string_value(json_object_get(m, "algorithm")),
				 sign_alg_name(algs[i]));
		json_decref(m);
		/* pretty-printed, the same manifest still verifies (the payload is canonical) */
		json_t *parsed = json_loads(text, 0, NULL);
		char *pretty = json_dumps(parsed, JSON_INDENT(2));
		ck_assert(verify_manifest(pretty, strlen(pretty), t, NULL, why, sizeof(why)));
		free(pretty);
		json_decref(parsed);
		verify_trust_free(t);
		free(text);
		sign_key_free(key);
	}
}
END_TEST

START_TEST(tampered_or_untrusted_manifest_is_rejected)
{
	struct sign_key *key = sign_key_generate(SIGN_ALG_ECDSA_P256);
	struct sign_key *other = sign_key_generate(SIGN_ALG_ECDSA_P256);
	struct verify_trust *t = trust_of(key), *t2 = trust_of(other);
	char *text = signed_manifest(key), why[256];
	char *bad = strdup(text), *p;

	p = strstr(bad, "\"security_version\":3");
	p[strlen("\"security_version\":")] = '1'; /* anti-rollback value lowered */
	ck_assert(!verify_manifest(bad, strlen(bad), t, NULL, why, sizeof(why)));
	ck_assert_str_eq(why, "bad signature");
	ck_assert(!verify_manifest(text, strlen(text), t2, NULL, why, sizeof(why)));
	ck_assert(strstr(why, "not in the trust list") != NULL);
	ck_assert(!verify_manifest("{}", 2, t, NULL, why, sizeof(why)));
	ck_assert(!verify_manifest("[1,", 3, t, NULL, why, sizeof(why)));
	free(bad);
	free(text);
	verify_trust_free(t);
	verify_trust_free(t2);
	sign_key_free(key);
	sign_key_free(other);
}
END_TEST

START_TEST(trust_list_marks_revoked_keys)
{
	struct sign_key *key = sign_key_generate(SIGN_ALG_ED25519);
	struct verify_trust *t = verify_trust_new();
	char id[SIGN_KEY_ID_SIZE], *pem = sign_key_public_pem(key), *text, *list, why[256];
	json_t *doc;

	ck_assert(sign_key_id(key, id));
	doc = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}]}", "format", TRUST_LIST_FORMAT, "keys",
			"key_id", id, "algorithm", "ed25519", "status", "revoked", "public_key_pem",
			pem);
	list = json_dumps(doc, 0);
	ck_assert_msg(verify_trust_add_list(t, list, strlen(list), why, sizeof(why)), "%s", why);
	text = signed_manifest(key);
	ck_assert(!verify_manifest(text, strlen(text), t, NULL, why, sizeof(why)));
	ck_assert(strstr(why, "revoked") != NULL);
	/* a list whose key_id does not match its key is refused */
	json_object_set_new(json_array_get(json_object_get(doc, "keys"), 0), "key_id",
			    json_string("00000000000000000000000000000000"));
	free(list);
	list = json_dumps(doc, 0);
	ck_assert(!verify_trust_add_list(t, list, strlen(list), why, sizeof(why)));
	free(list);
	free(text);
	free(pem);
	json_decref(doc);
	verify_trust_free(t);
	sign_key_free(key);
}
END_TEST

START_TEST(artifact_file_is_matched_by_hash_and_size)
{
	char path[] = "/tmp/bw-test-art-XXXXXX", why[256];
	int fd = mkstemp(path);
	json_t *m;
	const json_t *hit;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "abc", 3), 3);
	close(fd);
	m = json_pack("{s:[{s:s, s:s, s:I}]}", "artifacts", "name", "a.bin", "sha256",
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		      "size_bytes", (json_int_t)3);
	hit = verify_artifact_file(m, path, why, sizeof(why));
	ck_assert_ptr_nonnull(hit);
	json_object_set_new((json_t *)hit, "size_bytes", json_integer(4));
	ck_assert_ptr_null(verify_artifact_file(m, path, why, sizeof(why)));
	unlink(path);
	ck_assert_ptr_null(verify_artifact_file(m, path, why, sizeof(why)));
	json_decref(m);
}
END_TEST

static Suite *fw_manifest_suite(void)
{
	Suite *s = suite_create("fw_manifest");
	TCase *tc = tcase_create("canonical");

	tcase_add_test(tc, canonical_json_sorts_keys_and_drops_whitespace);
	tcase_add_test(tc, canonical_json_rejects_reals_and_keeps_nul);
	tcase_add_test(tc, canonical_json_is_idempotent);
	suite_add_tcase(s, tc);
	tc = tcase_create("manifest");
	tcase_add_test(tc, manifest_has_documented_fields_sorted);
	tcase_add_test(tc, signed_manifest_verifies_with_both_algorithms);
	tcase_add_test(tc, tampered_or_untrusted_manifest_is_rejected);
	tcase_add_test(tc, trust_list_marks_revoked_keys);
	tcase_add_test(tc, artifact_file_is_matched_by_hash_and_size);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fw_manifest_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
