/* Unit tests for the agent's image verification (agent/lib/agent_verify.c): FreeRTOS
 * sig-sha256-ecdsa signatures and signed manifests against a trust list, with keys made here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "agent_verify.h"

static EVP_PKEY *key_good, *key_other, *key_revoked;
static const char image[] = "firmware image bytes v2";
static unsigned char digest[32];
static struct agent_device dev;

static EVP_PKEY *new_p256(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

static char *pem_of(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	ck_assert(PEM_write_bio_PUBKEY(b, k) == 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static char *b64(const unsigned char *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* base64 DER ECDSA signature over a SHA-256 digest (what `openssl dgst -sha256 -sign` makes). */
static char *sign_digest(EVP_PKEY *k, const unsigned char d[32])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	unsigned char sig[128];
	size_t len = sizeof(sig);

	ck_assert(EVP_PKEY_sign_init(ctx) == 1);
	ck_assert(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1);
	ck_assert(EVP_PKEY_sign(ctx, sig, &len, d, 32) == 1);
	EVP_PKEY_CTX_free(ctx);
	return b64(sig, len);
}

static char *sign_message(EVP_PKEY *k, const char *msg)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[128];
	size_t len = sizeof(sig);

	ck_assert(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1);
	ck_assert(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)msg, strlen(msg)) == 1);
	EVP_MD_CTX_free(ctx);
	return b64(sig, len);
}

static void trust_of(struct agent_trust *t)
{
	char err[200], *p1 = pem_of(key_good), *p2 = pem_of(key_revoked);
	json_t *list = json_pack("{s:s,s:[{s:s,s:s,s:s},{s:s,s:s,s:s}]}", "format",
				 "bellwether-trust-list/1", "keys", "algorithm", "ecdsa-p256",
				 "status", "active", "public_key_pem", p1, "algorithm",
				 "ecdsa-p256", "status", "revoked", "public_key_pem", p2);

	ck_assert_msg(agent_trust_load(t, list, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(t->count, 2);
	json_decref(list);
	free(p1);
	free(p2);
}

static void hex_of(const unsigned char d[32], char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A canonical manifest for version/security_version listing the image, signed by k. */
static char *manifest(EVP_PKEY *k, const char *key_id, const char *version, int secver)
{
	char hex[65], *payload = NULL, *sig, *out = NULL, *tail;

	hex_of(digest, hex);
	ck_assert_int_gt(
		asprintf(
			&payload,
			"{\"algorithm\":\"ecdsa-p256\",\"artifacts\":[{\"name\":\"fw.bin\","
			"\"sha256\":\"%s\",\"size_bytes\":%zu,\"type\":\"firmware\"}],"
			"\"created_at\":\"2026-01-01T00:00:00.000Z\",\"format\":"
			"\"bellwether-manifest/1\",\"hardware_types\":[\"esp32\"],\"key_id\":\"%s\","
			"\"min_version\":null,\"product\":\"pump\",\"release_id\":\"1\","
			"\"security_version\":%d,\"version\":\"%s\"}",
			hex, sizeof(image) - 1, key_id, secver, version),
		0);
	sig = sign_message(k, payload);
	/* the signature member sorts between security_version and version */
	tail = strstr(payload, ",\"version\":");
	ck_assert_ptr_nonnull(tail);
	ck_assert_int_gt(asprintf(&out, "%.*s,\"signature\":\"%s\"%s", (int)(tail - payload),
				  payload, sig, tail),
			 0);
	free(sig);
	free(payload);
	return out;
}

static void setup(void)
{
	unsigned int n = 0;

	key_good = new_p256();
	key_other = new_p256();
	key_revoked = new_p256();
	ck_assert(EVP_Digest(image, sizeof(image) - 1, digest, &n, EVP_sha256(), NULL) == 1);
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.hardware_type, sizeof(dev.hardware_type), "esp32");
	snprintf(dev.version, sizeof(dev.version), "1.0.0");
	dev.security_version = 2;
}

static void teardown(void)
{
	EVP_PKEY_free(key_good);
	EVP_PKEY_free(key_other);
	EVP_PKEY_free(key_revoked);
}

static bool verify_sig(EVP_PKEY *signer, const unsigned char *d, char *reason)
{
	struct agent_trust t;
	struct agent_doc doc = { 0 };
	char *sig = sign_digest(signer, d);
	bool ok;

	trust_of(&t);
	snprintf(doc.sig_b64, sizeof(doc.sig_b64), "%s", sig);
	ok = agent_verify_image(&t, &doc, &dev, digest, reason, 200);
	free(sig);
	agent_trust_cleanup(&t);
	return ok;
}

START_TEST(signature_by_trusted_key_verifies)
{
	char reason[200] = "";

	ck_assert_msg(verify_sig(key_good, digest, reason), "%s", reason);
}
END_TEST

START_TEST(tampered_image_is_refused)
{
	unsigned char other[32];
	char reason[200];

	memcpy(other, digest, 32);
	other[5] ^= 1; /* the signature was made for a different image */
	ck_assert(!verify_sig(key_good, other, reason));
	ck_assert_ptr_nonnull(strstr(reason, "does not verify"));
}
END_TEST

START_TEST(wrong_key_is_refused)
{
	char reason[200];

	ck_assert(!verify_sig(key_other, digest, reason));
	ck_assert_ptr_nonnull(strstr(reason, "does not verify"));
}
END_TEST

START_TEST(revoked_key_is_refused_by_name)
{
	char reason[200];

	ck_assert(!verify_sig(key_revoked, digest, reason));
	ck_assert_ptr_nonnull(strstr(reason, "revoked"));
}
END_TEST

START_TEST(sha256_mismatch_and_unsigned_image_are_refused)
{
	struct agent_trust t;
	struct agent_doc doc = { 0 };
	char reason[200];

	trust_of(&t);
	ck_assert(!agent_verify_image(&t, &doc, &dev, digest, reason, sizeof(reason)));
	ck_assert_ptr_nonnull(strstr(reason, "not signed"));
	memset(doc.sha256_hex, '0', 64);
	ck_assert(!agent_verify_image(&t, &doc, &dev, digest, reason, sizeof(reason)));
	ck_assert_ptr_nonnull(strstr(reason, "sha256 mismatch"));
	agent_trust_cleanup(&t);
}
END_TEST

static bool verify_manifest(EVP_PKEY *signer, int key_index, const char *version, int secver,
			    bool is_revert, char *reason)
{
	struct agent_trust t;
	struct agent_doc doc = { 0 };
	bool ok;

	trust_of(&t);
	doc.manifest = manifest(signer, t.keys[key_index].key_id, version, secver);
	doc.is_revert = is_revert;
	ok = agent_verify_image(&t, &doc, &dev, digest, reason, 200);
	free(doc.manifest);
	agent_trust_cleanup(&t);
	return ok;
}

START_TEST(signed_manifest_verifies_and_binds_the_image)
{
	char reason[200] = "";

	ck_assert_msg(verify_manifest(key_good, 0, "1.1.0", 2, false, reason), "%s", reason);
}
END_TEST

START_TEST(manifest_with_wrong_or_revoked_key_is_refused)
{
	char reason[200];

	ck_assert(!verify_manifest(key_other, 0, "1.1.0", 2, false, reason));
	ck_assert_ptr_nonnull(strstr(reason, "does not verify"));
	ck_assert(!verify_manifest(key_revoked, 1, "1.1.0", 2, false, reason));
	ck_assert_ptr_nonnull(strstr(reason, "revoked"));
}
END_TEST

START_TEST(manifest_downgrade_refused_unless_revert)
{
	char reason[200] = "";

	dev.security_version = 1;
	snprintf(dev.version, sizeof(dev.version), "2.0.0");
	ck_assert(!verify_manifest(key_good, 0, "1.1.0", 1, false, reason));
	ck_assert_ptr_nonnull(strstr(reason, "downgrade"));
	ck_assert_msg(verify_manifest(key_good, 0, "1.1.0", 1, true, reason), "%s", reason);
	/* a revert never lowers the security version */
	dev.security_version = 3;
	ck_assert(!verify_manifest(key_good, 0, "1.1.0", 1, true, reason));
	ck_assert_ptr_nonnull(strstr(reason, "security version"));
}
END_TEST

START_TEST(base64_decoder_rejects_garbage)
{
	unsigned char out[16];

	ck_assert_int_eq(agent_base64_decode("aGVsbG8=", out, sizeof(out)), 5);
	ck_assert_int_eq(memcmp(out, "hello", 5), 0);
	ck_assert_int_eq(agent_base64_decode("aGVsbG8", out, sizeof(out)), -1);
	ck_assert_int_eq(agent_base64_decode("aG=sbG8=", out, sizeof(out)), -1);
	ck_assert_int_eq(agent_base64_decode("aGVsbG8hIQ==", out, 4), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_verify");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, signature_by_trusted_key_verifies);
	tcase_add_test(tc, tampered_image_is_refused);
	tcase_add_test(tc, wrong_key_is_refused);
	tcase_add_test(tc, revoked_key_is_refused_by_name);
	tcase_add_test(tc, sha256_mismatch_and_unsigned_image_are_refused);
	tcase_add_test(tc, signed_manifest_verifies_and_binds_the_image);
	tcase_add_test(tc, manifest_with_wrong_or_revoked_key_is_refused);
	tcase_add_test(tc, manifest_downgrade_refused_unless_revert);
	tcase_add_test(tc, base64_decoder_rejects_garbage);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
