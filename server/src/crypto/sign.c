#include "crypto/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct sign_key {
	EVP_PKEY *pkey;
	enum sign_alg alg;
	bool has_private;
};

const char *sign_alg_name(enum sign_alg alg)
{
	switch (alg) {
	case SIGN_ALG_ECDSA_P256:
		return "ecdsa-p256";
	case SIGN_ALG_ED25519:
		return "ed25519";
	default:
		return "none";
	}
}

bool sign_alg_parse(const char *s, enum sign_alg *out)
{
	if (s && strcmp(s, "ecdsa-p256") == 0)
		*out = SIGN_ALG_ECDSA_P256;
	else if (s && strcmp(s, "ed25519") == 0)
		*out = SIGN_ALG_ED25519;
	else
		return false;
	return true;
}

/* Which of our algorithms pkey is; SIGN_ALG_NONE for anything else (other curves too). */
static enum sign_alg alg_of(EVP_PKEY *pkey)
{
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return SIGN_ALG_ED25519;
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64];
		size_t n = 0;
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &n) == 1 &&
		    (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
			return SIGN_ALG_ECDSA_P256;
	}
	return SIGN_ALG_NONE;
}

static struct sign_key *wrap(EVP_PKEY *pkey, bool has_private)
{
	struct sign_key *k;
	enum sign_alg alg = alg_of(pkey);

	if (alg == SIGN_ALG_NONE) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->alg = alg;
	k->has_private = has_private;
	return k;
}

struct sign_key *sign_key_generate(enum sign_alg alg)
{
	EVP_PKEY *pkey = NULL;

	if (alg == SIGN_ALG_ECDSA_P256)
		pkey = EVP_EC_gen("P-256");
	else if (alg == SIGN_ALG_ED25519)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey)
		return NULL;
	return wrap(pkey, true);
}

/* Passphrase callback that refuses: encrypted PEM fails instead of prompting on a tty. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

enum sign_status sign_key_from_pem(const char *pem, size_t len, struct sign_key **out)
{
	BIO *bio;
	EVP_PKEY *pkey;
	bool is_private = true, wants_pass = false;
	struct sign_key *k;

	*out = NULL;
	if (len == 0 || len > SIGN_MAX_PEM_LEN)
		return SIGN_ERR_INVALID;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return SIGN_ERR_INTERNAL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &wants_pass);
	if (!pkey && !wants_pass) {
		is_private = false;
		(void)BIO_reset(bio);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, &wants_pass);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey)
		return wants_pass ? SIGN_ERR_ENCRYPTED : SIGN_ERR_INVALID;
	k = wrap(pkey, is_private);
	if (!k)
		return SIGN_ERR_UNSUPPORTED;
	*out = k;
	return SIGN_OK;
}

struct sign_key *sign_key_from_pkcs8(const void *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	if (len > 0x7fffffff)
		return NULL;
	pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
	ERR_clear_error();
	if (!pkey)
		return NULL;
	return wrap(pkey, true);
}

void sign_key_free(struct sign_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

enum sign_alg sign_key_alg(const struct sign_key *key)
{
	return key->alg;
}

bool sign_key_has_private(const struct sign_key *key)
{
	return key->has_private;
}

char *sign_key_public_pem(const struct sign_key *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (!bio)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, key->pkey) == 1) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0) {
			out = malloc((size_t)n + 1);
			if (out) {
				memcpy(out, data, (size_t)n);
				out[n] = '\0';
			}
		}
	}
	BIO_free(bio);
	return out;
}

bool sign_key_pkcs8(const struct sign_key *key, unsigned char **der, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *buf = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if (!key->has_private)
		return false;
	p8 = EVP_PKEY2PKCS8(key->pkey);
	if (!p8)
		return false;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return false;
	/* copy into plain malloc memory so callers free it with sign_secure_free */
	*der = malloc((size_t)n);
	if (*der) {
		memcpy(*der, buf, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_clear_free(buf, (size_t)n);
	return *der != NULL;
}

bool sign_key_id(const struct sign_key *key, char out[SIGN_KEY_ID_SIZE])
{
	unsigned char *spki = NULL;
	unsigned char d[DIGEST_SHA256_LEN];
	int n = i2d_PUBKEY(key->pkey, &spki);

	if (n <= 0)
		return false;
	digest_sha256(spki, (size_t)n, d);
	OPENSSL_free(spki);
	for (int i = 0; i < SIGN_KEY_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return true;
}

bool sign_message(const struct sign_key *key, const void *msg, size_t len, unsigned char **sig,
		  size_t *siglen)
{
	EVP_MD_CTX *ctx;
	size_t n = 0;
	bool ok = false;

	*sig = NULL;
	*siglen = 0;
	if (!key->has_private)
		return false;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return false;
	if (EVP_DigestSignInit(ctx, NULL, key->alg == SIGN_ALG_ED25519 ? NULL : EVP_sha256(), NULL,
			       key->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, msg, len) != 1 || n > SIGN_MAX_SIG_LEN)
		goto out;
	*sig = malloc(n);
	if (!*sig)
		goto out;
	if (EVP_DigestSign(ctx, *sig, &n, msg, len) != 1) {
		free(*sig);
		*sig = NULL;
		goto out;
	}
	*siglen = n;
	ok = true;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

bool sign_verify_message(const struct sign_key *key, const void *msg, size_t len, const void *sig,
			 size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DigestVerifyInit(ctx, NULL, key->alg == SIGN_ALG_ED25519 ? NULL : EVP_sha256(),
				  NULL, key->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* A signing/verifying context for a prehashed SHA-256 digest (ECDSA only). */
static EVP_PKEY_CTX *digest_ctx(const struct sign_key *key, bool is_sign)
{
	EVP_PKEY_CTX *ctx;

	if (key->alg != SIGN_ALG_ECDSA_P256)
		return NULL;
	ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
	if (!ctx)
		return NULL;
	if ((is_sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

bool sign_digest_sha256(const struct sign_key *key, const unsigned char digest[DIGEST_SHA256_LEN],
			unsigned char **sig, size_t *siglen)
{
	EVP_PKEY_CTX *ctx;
	size_t n = 0;
	bool ok = false;

	*sig = NULL;
	*siglen = 0;
	if (!key->has_private)
		return false;
	ctx = digest_ctx(key, true);
	if (!ctx)
		return false;
	if (EVP_PKEY_sign(ctx, NULL, &n, digest, DIGEST_SHA256_LEN) != 1 || n > SIGN_MAX_SIG_LEN)
		goto out;
	*sig = malloc(n);
	if (!*sig)
		goto out;
	if (EVP_PKEY_sign(ctx, *sig, &n, digest, DIGEST_SHA256_LEN) != 1) {
		free(*sig);
		*sig = NULL;
		goto out;
	}
	*siglen = n;
	ok = true;
out:
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

bool sign_verify_digest_sha256(const struct sign_key *key,
			       const unsigned char digest[DIGEST_SHA256_LEN], const void *sig,
			       size_t siglen)
{
	EVP_PKEY_CTX *ctx = digest_ctx(key, false);
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_PKEY_verify(ctx, sig, siglen, digest, DIGEST_SHA256_LEN) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

void sign_secure_free(void *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}
