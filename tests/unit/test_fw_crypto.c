/* Unit tests: signing keys (ECDSA P-256, Ed25519), key sealing with the master key, standard
 * base64, presigned URL signatures (expiry and tampering). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "crypto/base64.h"
#include "crypto/hmac.h"
#include "crypto/keys.h"
#include "crypto/sha256.h"
#include "crypto/sign.h"
#include "firmware/presign.h"

static const enum sign_alg algs[] = { SIGN_ALG_ECDSA_P256, SIGN_ALG_ED25519 };

START_TEST(message_signature_round_trips_for_both_algorithms)
{
	for (size_t i = 0; i < 2; i++) {
		struct sign_key *k = sign_key_generate(algs[i]);
		unsigned char *sig = NULL;
		size_t siglen = 0;
		const char msg[] = "{\"a\":1}";

		ck_assert_ptr_nonnull(k);
		ck_assert_int_eq(sign_key_alg(k), algs[i]);
		ck_assert(sign_key_has_private(k));
		ck_assert(sign_message(k, msg, strlen(msg), &sig, &siglen));
		ck_assert_uint_le(siglen, SIGN_MAX_SIG_LEN);
		if (algs[i] == SIGN_ALG_ED25519)
			ck_assert_uint_eq(siglen, 64);
		else
			ck_assert_uint_eq(sig[0], 0x30); /* DER SEQUENCE */
		ck_assert(sign_verify_message(k, msg, strlen(msg), sig, siglen));
		/* one changed byte of message or signature fails */
		ck_assert(!sign_verify_message(k, "{\"a\":2}", 7, sig, siglen));
		sig[siglen - 1] ^= 1;
		ck_assert(!sign_verify_message(k, msg, strlen(msg), sig, siglen));
		free(sig);
		sign_key_free(k);
	}
}
END_TEST

START_TEST(public_pem_verifies_and_cannot_sign)
{
	for (size_t i = 0; i < 2; i++) {
		struct sign_key *k = sign_key_generate(algs[i]), *pub = NULL;
		char *pem = sign_key_public_pem(k);
		char id1[SIGN_KEY_ID_SIZE], id2[SIGN_KEY_ID_SIZE];
		unsigned char *sig = NULL;
		size_t siglen = 0;

		ck_assert_ptr_nonnull(pem);
		ck_assert(strstr(pem, "-----BEGIN PUBLIC KEY-----") == pem);
		ck_assert_int_eq(sign_key_from_pem(pem, strlen(pem), &pub), SIGN_OK);
		ck_assert(!sign_key_has_private(pub));
		ck_assert(sign_key_id(k, id1) && sign_key_id(pub, id2));
		ck_assert_str_eq(id1, id2);
		ck_assert_uint_eq(strlen(id1), SIGN_KEY_ID_LEN);
		ck_assert(sign_message(k, "x", 1, &sig, &siglen));
		ck_assert(sign_verify_message(pub, "x", 1, sig, siglen));
		free(sig);
		ck_assert(!sign_message(pub, "x", 1, &sig, &siglen));
		free(pem);
		sign_key_free(pub);
		sign_key_free(k);
	}
}
END_TEST

START_TEST(digest_signature_equals_ecdsa_over_the_data)
{
	struct sign_key *k = sign_key_generate(SIGN_ALG_ECDSA_P256);
	struct sign_key *ed = sign_key_generate(SIGN_ALG_ED25519);
	unsigned char d[DIGEST_SHA256_LEN], *sig = NULL;
	size_t siglen = 0;
	const char image[] = "firmware image bytes";

	digest_sha256(image, sizeof(image), d);
	ck_assert(sign_digest_sha256(k, d, &sig, &siglen));
	/* a FreeRTOS-style signature over the digest verifies as ECDSA-SHA256 over the image */
	ck_assert(sign_verify_message(k, image, sizeof(image), sig, siglen));
	ck_assert(sign_verify_digest_sha256(k, d, sig, siglen));
	d[0] ^= 1;
	ck_assert(!sign_verify_digest_sha256(k, d, sig, siglen));
	free(sig);
	/* Ed25519 has no prehashed form here */
	ck_assert(!sign_digest_sha256(ed, d, &sig, &siglen));
	sign_key_free(k);
	sign_key_free(ed);
}
END_TEST

START_TEST(pem_import_accepts_sec1_and_pkcs8_rejects_others)
{
	/* secp384r1 key: a supported format, an unsupported curve */
	static const char p384[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDApEXYWn2midKtzgOD2\n"
		"5xQYGnc+9HvjpD0axrHxLqWqTvmJMOLM+Dwp0yXWyYiXSSKhZANiAATDg3YjfcmU\n"
		"qYPvAmF71DAfjk8PmvPQIFASqVz7TMtrBaF8CH80X+VXSSaCNbixIMUsCxJiXyg1\n"
		"cnr7e2Ab3W7Uc5adZfh9GZxHc7MnbuQeP5fw+JyILalO3qwonx9/enE=\n"
		"-----END PRIVATE KEY-----\n";
	struct sign_key *k = sign_key_generate(SIGN_ALG_ECDSA_P256), *back = NULL;
	unsigned char *der = NULL;
	size_t len = 0;

	ck_assert_int_eq(sign_key_from_pem("garbage", 7, &back), SIGN_ERR_INVALID);
	ck_assert_ptr_null(back);
	ck_assert_int_eq(sign_key_from_pem(p384, strlen(p384), &back), SIGN_ERR_UNSUPPORTED);
	ck_assert_ptr_null(back);
	ck_assert(sign_key_pkcs8(k, &der, &len));
	back = sign_key_from_pkcs8(der, len);
	ck_assert_ptr_nonnull(back);
	ck_assert(sign_key_has_private(back));
	char a[SIGN_KEY_ID_SIZE], b[SIGN_KEY_ID_SIZE];
	ck_assert(sign_key_id(k, a) && sign_key_id(back, b));
	ck_assert_str_eq(a, b);
	sign_secure_free(der, len);
	sign_key_free(back);
	sign_key_free(k);
}
END_TEST

START_TEST(sealed_keys_open_only_with_same_master_and_owner)
{
	unsigned char master[KEYS_MASTER_LEN], other[KEYS_MASTER_LEN], *plain = NULL;
	size_t len = 0;
	char *sealed;

	memset(master, 7, sizeof(master));
	memset(other, 8, sizeof(other));
	keys_master_clear();
	ck_assert_ptr_null(keys_seal("secret", 6, "id1")); /* no master key */
	keys_master_set(master);
	sealed = keys_seal("secret", 6, "id1");
	ck_assert_ptr_nonnull(sealed);
	ck_assert(strncmp(sealed, KEYS_SEALED_PREFIX, strlen(KEYS_SEALED_PREFIX)) == 0);
	ck_assert(strstr(sealed, "secret") == NULL);
	ck_assert(keys_open(sealed, "id1", &plain, &len));
	ck_assert_uint_eq(len, 6);
	ck_assert(memcmp(plain, "secret", 6) == 0);
	sign_secure_free(plain, len);
	ck_assert(!keys_open(sealed, "id2", &plain, &len)); /* moved to another row */
	sealed[strlen(sealed) - 3] = sealed[strlen(sealed) - 3] == 'A' ? 'B' : 'A';
	ck_assert(!keys_open(sealed, "id1", &plain, &len)); /* tampered */
	free(sealed);
	sealed = keys_seal("secret", 6, "id1");
	keys_master_set(other);
	ck_assert(!keys_open(sealed, "id1", &plain, &len)); /* another master key */
	free(sealed);
	keys_master_clear();
}
END_TEST

START_TEST(master_key_file_must_be_64_hex_and_private)
{
	char path[] = "/tmp/bw-test-master-XXXXXX", err[256];
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "%s\n", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	fclose(f);
	ck_assert(keys_master_load(path, err, sizeof(err)));
	ck_assert(keys_master_is_loaded());
	chmod(path, 0644);
	ck_assert(!keys_master_load(path, err, sizeof(err)));
	ck_assert(strstr(err, "chmod 600") != NULL);
	chmod(path, 0600);
	f = fopen(path, "w");
	fprintf(f, "not-hex\n");
	fclose(f);
	ck_assert(!keys_master_load(path, err, sizeof(err)));
	ck_assert(strstr(err, "64 hex") != NULL);
	unlink(path);
	ck_assert(!keys_master_load(path, err, sizeof(err)));
	keys_master_clear();
}
END_TEST

START_TEST(base64_round_trips_and_is_strict)
{
	static const char *const good[][2] = { { "", "" },
					       { "f", "Zg==" },
					       { "fo", "Zm8=" },
					       { "foo", "Zm9v" },
					       { "foob", "Zm9vYg==" },
					       { "fooba", "Zm9vYmE=" },
					       { "foobar", "Zm9vYmFy" } };
	static const char *const bad[] = {
		"Zg=", "Zg", "Zh==", "Z===", "Zm9v\n", "Zm=v", "Zm9+Y/=="
	};
	unsigned char *out;
	size_t len;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *enc = base64_encode(good[i][0], strlen(good[i][0]));
		ck_assert_str_eq(enc, good[i][1]);
		free(enc);
		ck_assert(base64_decode(good[i][1], strlen(good[i][1]), &out, &len));
		ck_assert_uint_eq(len, strlen(good[i][0]));
		ck_assert(memcmp(out, good[i][0], len) == 0);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!base64_decode(bad[i], strlen(bad[i]), &out, &len), "%s", bad[i]);
		ck_assert_ptr_null(out);
	}
	ck_assert(base64_decode("+/+/", 4, &out, &len));
	ck_assert_uint_eq(len, 3);
	free(out);
}
END_TEST

START_TEST(streaming_sha256_equals_one_shot)
{
	struct sha256_stream *s = sha256_stream_new();
	unsigned char a[DIGEST_SHA256_LEN], b[DIGEST_SHA256_LEN];
	char data[1000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	for (size_t off = 0; off < sizeof(data); off += 333)
		ck_assert(sha256_stream_update(
			s, data + off, off + 333 > sizeof(data) ? sizeof(data) - off : 333));
	ck_assert(sha256_stream_final(s, a));
	digest_sha256(data, sizeof(data), b);
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
	sha256_stream_free(s);
}
END_TEST

START_TEST(hmac_matches_rfc4231_case_2)
{
	unsigned char mac[DIGEST_SHA256_LEN];
	static const unsigned char want[] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
					      0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
					      0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
					      0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43 };
	const char *msg = "what do ya want for nothing?";

	ck_assert(hmac_sha256("Jefe", 4, msg, strlen(msg), mac));
	ck_assert(memcmp(mac, want, sizeof(want)) == 0);
}
END_TEST

START_TEST(presigned_url_verifies_until_expiry)
{
	unsigned char key[DIGEST_SHA256_LEN];
	char sig[PRESIGN_SIG_SIZE];

	memset(key, 3, sizeof(key));
	ck_assert(presign_sign(key, "42", 2000, "pump-1", sig));
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-1", sig, 1999), PRESIGN_OK);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-1", sig, 2000), PRESIGN_OK);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-1", sig, 2001), PRESIGN_EXPIRED);
	ck_assert(presign_sign(key, "42", 2000, NULL, sig));
	ck_assert_int_eq(presign_verify(key, "42", "2000", NULL, sig, 10), PRESIGN_OK);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "", sig, 10), PRESIGN_OK);
}
END_TEST

START_TEST(presigned_url_rejects_tampering)
{
	unsigned char key[DIGEST_SHA256_LEN], other[DIGEST_SHA256_LEN];
	char sig[PRESIGN_SIG_SIZE], bad[PRESIGN_SIG_SIZE];

	memset(key, 3, sizeof(key));
	memset(other, 4, sizeof(other));
	ck_assert(presign_sign(key, "42", 2000, "pump-1", sig));
	/* another artifact, a later expiry, another thing, no thing, another key */
	ck_assert_int_eq(presign_verify(key, "43", "2000", "pump-1", sig, 10),
			 PRESIGN_BAD_SIGNATURE);
	ck_assert_int_eq(presign_verify(key, "42", "9000", "pump-1", sig, 10),
			 PRESIGN_BAD_SIGNATURE);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-2", sig, 10),
			 PRESIGN_BAD_SIGNATURE);
	ck_assert_int_eq(presign_verify(key, "42", "2000", NULL, sig, 10), PRESIGN_BAD_SIGNATURE);
	ck_assert_int_eq(presign_verify(other, "42", "2000", "pump-1", sig, 10),
			 PRESIGN_BAD_SIGNATURE);
	/* an altered expiry on an expired URL still reports the tampering */
	ck_assert_int_eq(presign_verify(key, "42", "1000", "pump-1", sig, 5000),
			 PRESIGN_BAD_SIGNATURE);
	strcpy(bad, sig);
	bad[3] = bad[3] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-1", bad, 10),
			 PRESIGN_BAD_SIGNATURE);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-1", "!!", 10),
			 PRESIGN_BAD_SIGNATURE);
	ck_assert_int_eq(presign_verify(key, "42", "20x0", "pump-1", sig, 10), PRESIGN_MALFORMED);
	ck_assert_int_eq(presign_verify(key, "42", "", "pump-1", sig, 10), PRESIGN_MALFORMED);
	ck_assert_int_eq(presign_verify(key, "42", NULL, "pump-1", sig, 10), PRESIGN_MALFORMED);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "bad/thing", sig, 10),
			 PRESIGN_MALFORMED);
	ck_assert_int_eq(presign_verify(key, "42", "2000", "pump-1", NULL, 10), PRESIGN_MALFORMED);
}
END_TEST

static Suite *fw_crypto_suite(void)
{
	Suite *s = suite_create("fw_crypto");
	TCase *tc = tcase_create("sign");

	tcase_add_test(tc, message_signature_round_trips_for_both_algorithms);
	tcase_add_test(tc, public_pem_verifies_and_cannot_sign);
	tcase_add_test(tc, digest_signature_equals_ecdsa_over_the_data);
	tcase_add_test(tc, pem_import_accepts_sec1_and_pkcs8_rejects_others);
	suite_add_tcase(s, tc);
	tc = tcase_create("keys");
	tcase_add_test(tc, sealed_keys_open_only_with_same_master_and_owner);
	tcase_add_test(tc, master_key_file_must_be_64_hex_and_private);
	suite_add_tcase(s, tc);
	tc = tcase_create("encoding");
	tcase_add_test(tc, base64_round_trips_and_is_strict);
	tcase_add_test(tc, streaming_sha256_equals_one_shot);
	tcase_add_test(tc, hmac_matches_rfc4231_case_2);
	suite_add_tcase(s, tc);
	tc = tcase_create("presign");
	tcase_add_test(tc, presigned_url_verifies_until_expiry);
	tcase_add_test(tc, presigned_url_rejects_tampering);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fw_crypto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
