/* Code-signing keys: ECDSA P-256 and Ed25519. Generate, import PEM, export the public key,
 * sign and verify. ECDSA signatures are DER (ECDSA-Sig-Value) over SHA-256 of the message;
 * Ed25519 signatures are the 64 raw bytes of RFC 8032 (pure Ed25519, no prehash).
 * OpenSSL stays inside this file; callers see an opaque key. */
#ifndef BW_CRYPTO_SIGN_H
#define BW_CRYPTO_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/digest.h"

/* Key id: lowercase hex of the first 16 bytes of SHA-256(SubjectPublicKeyInfo DER), + NUL. */
#define SIGN_KEY_ID_LEN 32
#define SIGN_KEY_ID_SIZE (SIGN_KEY_ID_LEN + 1)
/* Largest signature either algorithm produces (DER ECDSA P-256 is at most 72 bytes). */
#define SIGN_MAX_SIG_LEN 80
/* Longest PEM text accepted by sign_key_from_pem. */
#define SIGN_MAX_PEM_LEN 16384

enum sign_alg { SIGN_ALG_NONE = 0, SIGN_ALG_ECDSA_P256, SIGN_ALG_ED25519 };

enum sign_status {
	SIGN_OK = 0,
	SIGN_ERR_INVALID = -1,	   /* not a parseable PEM key */
	SIGN_ERR_UNSUPPORTED = -2, /* a key of another algorithm or curve */
	SIGN_ERR_ENCRYPTED = -3,   /* passphrase-protected PEM */
	SIGN_ERR_INTERNAL = -4,	   /* OOM or library failure */
};

struct sign_key;

/* "ecdsa-p256" / "ed25519" ("none" for SIGN_ALG_NONE). */
const char *sign_alg_name(enum sign_alg alg);
/* Parse an algorithm name; false if unknown. */
bool sign_alg_parse(const char *s, enum sign_alg *out);

/* Generate a new private key; NULL on failure. Free with sign_key_free. */
struct sign_key *sign_key_generate(enum sign_alg alg);
/* Parse a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY") or public key (SubjectPublicKeyInfo)
 * of len bytes. Only P-256 and Ed25519 keys are accepted. *out is caller-owned on SIGN_OK. */
enum sign_status sign_key_from_pem(const char *pem, size_t len, struct sign_key **out);
/* Parse a PKCS#8 DER private key (as stored, after decryption). NULL if invalid/unsupported. */
struct sign_key *sign_key_from_pkcs8(const void *der, size_t len);
/* Free a key (wipes private material); NULL is accepted. */
void sign_key_free(struct sign_key *key);

enum sign_alg sign_key_alg(const struct sign_key *key);
bool sign_key_has_private(const struct sign_key *key);
/* Public key as PEM ("-----BEGIN PUBLIC KEY-----"). Caller frees; NULL on failure. */
char *sign_key_public_pem(const struct sign_key *key);
/* Private key as PKCS#8 DER in *der (caller frees with sign_secure_free(der, len)). */
bool sign_key_pkcs8(const struct sign_key *key, unsigned char **der, size_t *len);
/* The key id (see SIGN_KEY_ID_LEN) into out. */
bool sign_key_id(const struct sign_key *key, char out[SIGN_KEY_ID_SIZE]);

/* Sign msg; *sig (caller frees) gets *siglen bytes. Needs a private key. */
bool sign_message(const struct sign_key *key, const void *msg, size_t len, unsigned char **sig,
		  size_t *siglen);
/* Verify a signature over msg. False for a bad signature or any failure. */
bool sign_verify_message(const struct sign_key *key, const void *msg, size_t len, const void *sig,
			 size_t siglen);
/* ECDSA P-256 only: sign / verify a precomputed SHA-256 digest. The signature equals what
 * sign_message produces over the data that hashes to digest (this is the FreeRTOS OTA
 * `sig-sha256-ecdsa` signature of an image). False for Ed25519 keys. */
bool sign_digest_sha256(const struct sign_key *key, const unsigned char digest[DIGEST_SHA256_LEN],
			unsigned char **sig, size_t *siglen);
bool sign_verify_digest_sha256(const struct sign_key *key,
			       const unsigned char digest[DIGEST_SHA256_LEN], const void *sig,
			       size_t siglen);

/* Wipe and free len bytes at p; NULL is accepted. */
void sign_secure_free(void *p, size_t len);

#endif
