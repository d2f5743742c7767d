#include "agent_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent_semver.h"

static bool fail(char *reason, size_t cap, const char *msg)
{
	snprintf(reason, cap, "%s", msg);
	return false;
}

bool agent_hash_reset(struct agent_hash *h)
{
	if (h->ctx == NULL)
		h->ctx = EVP_MD_CTX_new();
	return h->ctx != NULL && EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1;
}

bool agent_hash_update(struct agent_hash *h, const void *data, size_t len)
{
	return h->ctx != NULL && EVP_DigestUpdate(h->ctx, data, len) == 1;
}

bool agent_hash_final(struct agent_hash *h, unsigned char out[32])
{
	unsigned int n = 0;

	return h->ctx != NULL && EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == 32;
}

void agent_hash_cleanup(struct agent_hash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long agent_base64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t len = strlen(in), i, n = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;
		unsigned long w;

		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value((unsigned char)in[i + k])) < 0)
				return -1;
		}
		w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
		    ((unsigned long)v[2] << 6) | (unsigned long)v[3];
		if (n + 3 - (size_t)pad > cap)
			return -1;
		out[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)w;
	}
	return (long)n;
}

static bool key_id_of(EVP_PKEY *pkey, char out[33])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len, i;
	bool ok;

	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0)
		return false;
	ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	for (i = 0; ok && i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return ok;
}

bool agent_trust_load(struct agent_trust *t, const json_t *list, char *err, size_t cap)
{
	const json_t *keys, *k;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(list) || !json_is_string(json_object_get(list, "format")) ||
	    strcmp(json_string_value(json_object_get(list, "format")), "bellwether-trust-list/1") !=
		    0)
		return fail(err, cap, "not a bellwether-trust-list/1 document");
	keys = json_object_get(list, "keys");
	if (!json_is_array(keys))
		return fail(err, cap, "trust list: keys is not an array");
	if (json_array_size(keys) > 0) {
		t->keys = calloc(json_array_size(keys), sizeof(*t->keys));
		if (t->keys == NULL)
			return fail(err, cap, "out of memory");
	}
	json_array_foreach(keys, i, k) {
		const char *alg = json_string_value(json_object_get(k, "algorithm"));
		const char *status = json_string_value(json_object_get(k, "status"));
		const char *pem = json_string_value(json_object_get(k, "public_key_pem"));
		struct agent_trust_key *tk = &t->keys[t->count];
		EVP_PKEY *pkey;
		BIO *bio;

		if (alg == NULL || status == NULL || pem == NULL) {
			agent_trust_cleanup(t);
			return fail(err, cap, "trust list: key without algorithm, status or PEM");
		}
		if (strcmp(alg, "ecdsa-p256") != 0 && strcmp(alg, "ed25519") != 0)
			continue;
		bio = BIO_new_mem_buf(pem, -1);
		pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		if (pkey == NULL || !key_id_of(pkey, tk->key_id)) {
			EVP_PKEY_free(pkey);
			agent_trust_cleanup(t);
			return fail(err, cap, "trust list: unreadable public key");
		}
		tk->pkey = pkey;
		tk->is_ed25519 = strcmp(alg, "ed25519") == 0;
		tk->is_revoked = strcmp(status, "revoked") == 0;
		t->count++;
	}
	return true;
}

bool agent_trust_load_file(struct agent_trust *t, const char *path, char *err, size_t cap)
{
	json_error_t je;
	json_t *list = json_load_file(path, 0, &je);
	bool ok;

	memset(t, 0, sizeof(*t));
	if (list == NULL) {
		snprintf(err, cap, "%s: %s", path, je.text);
		return false;
	}
	ok = agent_trust_load(t, list, err, cap);
	json_decref(list);
	return ok;
}

void agent_trust_cleanup(struct agent_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->count; i++)
		EVP_PKEY_free(t->keys[i].pkey);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

/* ECDSA over a precomputed SHA-256 digest (what `openssl dgst -sha256 -sign` makes). */
static bool verify_digest(EVP_PKEY *pkey, const unsigned char *sig, size_t siglen,
			  const unsigned char digest[32])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	bool ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		  EVP_PKEY_verify(ctx, sig, siglen, digest, 32) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static bool verify_message(const struct agent_trust_key *k, const unsigned char *sig, size_t siglen,
			   const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL &&
		  EVP_DigestVerifyInit(ctx, NULL, k->is_ed25519 ? NULL : EVP_sha256(), NULL,
				       k->pkey) == 1 &&
		  EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool check_signature(const struct agent_trust *t, const char *b64,
			    const unsigned char digest[32], char *reason, size_t cap)
{
	unsigned char sig[512];
	long n = agent_base64_decode(b64, sig, sizeof(sig));
	size_t i;

	if (n <= 0)
		return fail(reason, cap, "sig-sha256-ecdsa is not base64");
	for (i = 0; i < t->count; i++) {
		if (t->keys[i].is_ed25519 ||
		    !verify_digest(t->keys[i].pkey, sig, (size_t)n, digest))
			continue;
		if (t->keys[i].is_revoked) {
			snprintf(reason, cap, "image signed by revoked key %s", t->keys[i].key_id);
			return false;
		}
		return true;
	}
	return fail(reason, cap, "image signature does not verify with any trusted key");
}

static const struct agent_trust_key *find_key(const struct agent_trust *t, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < t->count; i++)
		if (strcmp(t->keys[i].key_id, id) == 0)
			return &t->keys[i];
	return NULL;
}

/* The manifest's signed bytes: its text without `,"signature":"…"` (docs/FIRMWARE.md). */
static char *signed_payload(const char *text, size_t *len)
{
	const char *mark = strstr(text, ",\"signature\":\""), *end;
	size_t n = strlen(text), cut;
	char *out;

	if (mark == NULL)
		return NULL;
	end = strchr(mark + 14, '"');
	if (end == NULL)
		return NULL;
	cut = (size_t)(end + 1 - mark);
	out = malloc(n - cut + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, text, (size_t)(mark - text));
	memcpy(out + (mark - text), end + 1, n - (size_t)(end + 1 - text) + 1);
	*len = n - cut;
	return out;
}

static bool check_manifest_claims(const json_t *m, const struct agent_doc *d,
				  const struct agent_device *dev, const char *hex, char *reason,
				  size_t cap)
{
	const char *version = json_string_value(json_object_get(m, "version"));
	const json_t *sv = json_object_get(m, "security_version"), *arts, *a, *hw;
	bool is_listed = false, is_hw = false;
	size_t i;
	int c;

	arts = json_object_get(m, "artifacts");
	json_array_foreach(arts, i, a) {
		const char *sha = json_string_value(json_object_get(a, "sha256"));

		if (sha != NULL && strcmp(sha, hex) == 0)
			is_listed = true;
	}
	if (!is_listed)
		return fail(reason, cap, "image is not listed in the signed manifest");
	json_array_foreach(json_object_get(m, "hardware_types"), i, hw) {
		if (json_is_string(hw) && strcmp(json_string_value(hw), dev->hardware_type) == 0)
			is_hw = true;
	}
	if (!is_hw)
		return fail(reason, cap, "manifest does not list this hardware type");
	if (version == NULL || !json_is_integer(sv))
		return fail(reason, cap, "manifest without version or security_version");
	if (d->version[0] != '\0' && strcmp(d->version, version) != 0)
		return fail(reason, cap, "job document version differs from the signed manifest");
	if (d->has_security_version && (json_int_t)d->security_version != json_integer_value(sv))
		return fail(reason, cap, "job document security version differs from the manifest");
	if (json_integer_value(sv) < (json_int_t)dev->security_version)
		return fail(reason, cap, "manifest security version below the device's");
	if (!agent_semver_cmp(version, dev->version, &c))
		return fail(reason, cap, "manifest version is not semver");
	if (c < 0 && !d->is_revert)
		return fail(reason, cap, "manifest is a downgrade and the job is not a revert");
	return true;
}

static bool check_manifest(const struct agent_trust *t, const struct agent_doc *d,
			   const struct agent_device *dev, const char *hex, char *reason,
			   size_t cap)
{
	const struct agent_trust_key *k;
	unsigned char sig[512];
	char *payload = NULL;
	json_t *m;
	size_t len = 0;
	bool ok = false;
	long n;

	m = json_loads(d->manifest, 0, NULL);
	if (!json_is_object(m) || !json_is_string(json_object_get(m, "format")) ||
	    strcmp(json_string_value(json_object_get(m, "format")), "bellwether-manifest/1") != 0) {
		fail(reason, cap, "manifest is not bellwether-manifest/1");
		goto out;
	}
	k = find_key(t, json_string_value(json_object_get(m, "key_id")));
	if (k == NULL) {
		fail(reason, cap, "manifest signed by a key not in the trust list");
		goto out;
	}
	if (k->is_revoked) {
		snprintf(reason, cap, "manifest signed by revoked key %s", k->key_id);
		goto out;
	}
	if (!json_is_string(json_object_get(m, "signature")) ||
	    (n = agent_base64_decode(json_string_value(json_object_get(m, "signature")), sig,
				     sizeof(sig))) <= 0 ||
	    (payload = signed_payload(d->manifest, &len)) == NULL ||
	    !verify_message(k, sig, (size_t)n, payload, len)) {
		fail(reason, cap, "manifest signature does not verify");
		goto out;
	}
	ok = check_manifest_claims(m, d, dev, hex, reason, cap);
out:
	free(payload);
	json_decref(m);
	return ok;
}

bool agent_verify_image(const struct agent_trust *t, const struct agent_doc *d,
			const struct agent_device *dev, const unsigned char digest[32],
			char *reason, size_t cap)
{
	char hex[65];
	int i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	if (d->sha256_hex[0] != '\0' && strcasecmp(d->sha256_hex, hex) != 0) {
		snprintf(reason, cap, "sha256 mismatch: got %.16s..., expected %.16s...", hex,
			 d->sha256_hex);
		return false;
	}
	if (d->sig_b64[0] == '\0' && d->manifest == NULL)
		return fail(reason, cap, "image is not signed");
	if (d->sig_b64[0] != '\0' && !check_signature(t, d->sig_b64, digest, reason, cap))
		return false;
	if (d->manifest != NULL && !check_manifest(t, d, dev, hex, reason, cap))
		return false;
	return true;
}
