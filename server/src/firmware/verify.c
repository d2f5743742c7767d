#include "firmware/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/base64.h"
#include "crypto/sha256.h"
#include "firmware/manifest.h"

#define MAX_TRUSTED_KEYS 256
#define MAX_FILE_ARGS 32
#define MAX_INPUT_LEN (1024 * 1024)

struct trusted_key {
	char id[SIGN_KEY_ID_SIZE];
	struct sign_key *key;
	bool is_revoked;
};

struct verify_trust {
	struct trusted_key keys[MAX_TRUSTED_KEYS];
	size_t n;
};

struct verify_trust *verify_trust_new(void)
{
	return calloc(1, sizeof(struct verify_trust));
}

void verify_trust_free(struct verify_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		sign_key_free(t->keys[i].key);
	free(t);
}

/* Add key (stolen); a later entry for the same id replaces revocation status only upwards. */
static bool add_key(struct verify_trust *t, struct sign_key *key, bool is_revoked, char *why,
		    size_t whylen)
{
	char id[SIGN_KEY_ID_SIZE];

	if (!sign_key_id(key, id)) {
		sign_key_free(key);
		snprintf(why, whylen, "cannot compute a key id");
		return false;
	}
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i].id, id) == 0) {
			t->keys[i].is_revoked |= is_revoked;
			sign_key_free(key);
			return true;
		}
	}
	if (t->n >= MAX_TRUSTED_KEYS) {
		sign_key_free(key);
		snprintf(why, whylen, "more than %d keys", MAX_TRUSTED_KEYS);
		return false;
	}
	memcpy(t->keys[t->n].id, id, sizeof(id));
	t->keys[t->n].key = key;
	t->keys[t->n].is_revoked = is_revoked;
	t->n++;
	return true;
}

bool verify_trust_add_pem(struct verify_trust *t, const char *pem, size_t len, char *why,
			  size_t whylen)
{
	struct sign_key *key = NULL;
	enum sign_status st = sign_key_from_pem(pem, len, &key);

	if (st != SIGN_OK) {
		snprintf(why, whylen, "%s",
			 st == SIGN_ERR_UNSUPPORTED ? "key is neither ECDSA P-256 nor Ed25519"
			 : st == SIGN_ERR_ENCRYPTED ? "key is passphrase-protected"
						    : "not a PEM key");
		return false;
	}
	return add_key(t, key, false, why, whylen);
}

bool verify_trust_add_list(struct verify_trust *t, const char *text, size_t len, char *why,
			   size_t whylen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *keys, *k;
	size_t i;
	bool ok = false;

	if (!doc) {
		snprintf(why, whylen, "trust list is not JSON (line %d: %s)", jerr.line, jerr.text);
		return false;
	}
	if (!json_is_string(json_object_get(doc, "format")) ||
	    strcmp(json_string_value(json_object_get(doc, "format")), TRUST_LIST_FORMAT) != 0) {
		snprintf(why, whylen, "trust list format is not %s", TRUST_LIST_FORMAT);
		goto out;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		snprintf(why, whylen, "trust list has no keys array");
		goto out;
	}
	json_array_foreach(keys, i, k) {
		const char *pem = json_string_value(json_object_get(k, "public_key_pem"));
		const char *status = json_string_value(json_object_get(k, "status"));
		const char *id = json_string_value(json_object_get(k, "key_id"));
		struct sign_key *key = NULL;
		char kid[SIGN_KEY_ID_SIZE];
		if (!pem || !status || !id) {
			snprintf(why, whylen, "trust list key %zu lacks key_id, status or pem", i);
			goto out;
		}
		if (sign_key_from_pem(pem, strlen(pem), &key) != SIGN_OK) {
			snprintf(why, whylen, "trust list key %zu: unusable public key", i);
			goto out;
		}
		if (!sign_key_id(key, kid) || strcmp(kid, id) != 0) {
			sign_key_free(key);
			snprintf(why, whylen, "trust list key %zu: key_id does not match the key",
				 i);
			goto out;
		}
		if (!add_key(t, key, strcmp(status, "revoked") == 0, why, whylen))
			goto out;
	}
	ok = true;
out:
	json_decref(doc);
	return ok;
}

const struct sign_key *verify_trust_find(const struct verify_trust *t, const char *key_id,
					 bool *is_revoked)
{
	*is_revoked = false;
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i].id, key_id) == 0) {
			*is_revoked = t->keys[i].is_revoked;
			return t->keys[i].key;
		}
	}
	return NULL;
}

bool verify_manifest(const char *text, size_t len, const struct verify_trust *t, json_t **out,
		     char *why, size_t whylen)
{
	json_t *m = manifest_parse(text, len, why, whylen);
	const struct sign_key *key;
	const char *key_id, *alg, *sig_b64;
	unsigned char *sig = NULL;
	char *payload = NULL;
	size_t siglen = 0, plen = 0;
	bool is_revoked, ok = false;

	if (out)
		*out = NULL;
	if (!m)
		return false;
	key_id = json_string_value(json_object_get(m, "key_id"));
	alg = json_string_value(json_object_get(m, "algorithm"));
	sig_b64 = json_string_value(json_object_get(m, "signature"));
	key = verify_trust_find(t, key_id, &is_revoked);
	if (!key) {
		snprintf(why, whylen, "signing key %.64s is not in the trust list", key_id);
		goto out;
	}
	if (is_revoked) {
		snprintf(why, whylen, "signing key %.64s is revoked", key_id);
		goto out;
	}
	if (strcmp(alg, sign_alg_name(sign_key_alg(key))) != 0) {
		snprintf(why, whylen, "manifest algorithm %.32s does not match key %s (%s)", alg,
			 key_id, sign_alg_name(sign_key_alg(key)));
		goto out;
	}
	if (!base64_decode(sig_b64, strlen(sig_b64), &sig, &siglen)) {
		snprintf(why, whylen, "signature is not base64");
		goto out;
	}
	payload = manifest_payload(m, &plen);
	if (!payload) {
		snprintf(why, whylen, "manifest cannot be canonicalised (real numbers?)");
		goto out;
	}
	if (!sign_verify_message(key, payload, plen, sig, siglen)) {
		snprintf(why, whylen, "bad signature");
		goto out;
	}
	ok = true;
	if (out) {
		*out = m;
		m = NULL;
	}
out:
	free(sig);
	free(payload);
	json_decref(m);
	return ok;
}

const json_t *verify_artifact_file(const json_t *manifest, const char *path, char *why,
				   size_t whylen)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_stream *h = NULL;
	unsigned char d[DIGEST_SHA256_LEN], *buf = NULL;
	char sha[65];
	uint64_t size = 0;
	const json_t *found = NULL, *a;
	size_t i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(1 << 20);
	h = sha256_stream_new();
	if (!buf || !h) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		size += (uint64_t)n;
		if (!sha256_stream_update(h, buf, (size_t)n))
			goto out;
	}
	if (!sha256_stream_final(h, d))
		goto out;
	for (i = 0; i < DIGEST_SHA256_LEN; i++) {
		sha[2 * i] = hex[d[i] >> 4];
		sha[2 * i + 1] = hex[d[i] & 15];
	}
	sha[64] = '\0';
	json_array_foreach(json_object_get(manifest, "artifacts"), i, a) {
		if (strcmp(json_string_value(json_object_get(a, "sha256")), sha) == 0 &&
		    (uint64_t)json_integer_value(json_object_get(a, "size_bytes")) == size)
			found = a;
	}
	if (!found)
		snprintf(why, whylen,
			 "%s (sha256 %s, %llu bytes) matches no artifact of the manifest", path,
			 sha, (unsigned long long)size);
out:
	close(fd);
	free(buf);
	sha256_stream_free(h);
	return found;
}

/* Read a whole small file (at most MAX_INPUT_LEN bytes). */
static char *read_small_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	size_t n;

	if (!f)
		return NULL;
	data = malloc(MAX_INPUT_LEN + 1);
	if (!data) {
		fclose(f);
		return NULL;
	}
	n = fread(data, 1, MAX_INPUT_LEN + 1, f);
	fclose(f);
	if (n > MAX_INPUT_LEN) {
		free(data);
		return NULL;
	}
	data[n] = '\0';
	*len = n;
	return data;
}

static void cli_usage(void)
{
	fprintf(stderr,
		"Usage: bellwetherd verify-manifest MANIFEST.json (--trust-list FILE | --key PEM)...\n"
		"                                   [--artifact FILE]...\n"
		"Verifies the manifest's signature with a trusted, non-revoked key and that each\n"
		"FILE is one of its artifacts (SHA-256 and size). Exit 0 valid, 1 invalid, 2 usage.\n");
}

int verify_cli_main(int argc, char **argv)
{
	const char *manifest_path = NULL, *files[MAX_FILE_ARGS];
	struct verify_trust *t = verify_trust_new();
	char why[512] = "", *text = NULL;
	size_t nfiles = 0, len = 0, nsources = 0;
	json_t *m = NULL;
	int rc = 2;

	if (!t)
		return 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool is_list = strcmp(a, "--trust-list") == 0, is_key = strcmp(a, "--key") == 0;
		if ((is_list || is_key) && i + 1 < argc) {
			size_t n = 0;
			char *data = read_small_file(argv[++i], &n);
			if (!data) {
				fprintf(stderr, "verify-manifest: cannot read %s\n", argv[i]);
				goto out;
			}
			bool ok = is_list ? verify_trust_add_list(t, data, n, why, sizeof(why))
					  : verify_trust_add_pem(t, data, n, why, sizeof(why));
			free(data);
			if (!ok) {
				fprintf(stderr, "verify-manifest: %s: %s\n", argv[i], why);
				goto out;
			}
			nsources++;
		} else if (strcmp(a, "--artifact") == 0 && i + 1 < argc && nfiles < MAX_FILE_ARGS) {
			files[nfiles++] = argv[++i];
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_usage();
			rc = 0;
			goto out;
		} else if (a[0] != '-' && !manifest_path) {
			manifest_path = a;
		} else {
			fprintf(stderr, "verify-manifest: unexpected argument '%s'\n", a);
			cli_usage();
			goto out;
		}
	}
	if (!manifest_path || nsources == 0) {
		cli_usage();
		goto out;
	}
	text = read_small_file(manifest_path, &len);
	if (!text) {
		fprintf(stderr, "verify-manifest: cannot read %s (or larger than 1 MiB)\n",
			manifest_path);
		goto out;
	}
	rc = 1;
	if (!verify_manifest(text, len, t, &m, why, sizeof(why))) {
		printf("INVALID manifest %s: %s\n", manifest_path, why);
		goto out;
	}
	printf("OK manifest: release %s, %s %s, security version %lld, key %s (%s)\n",
	       json_string_value(json_object_get(m, "release_id")),
	       json_string_value(json_object_get(m, "product")),
	       json_string_value(json_object_get(m, "version")),
	       (long long)json_integer_value(json_object_get(m, "security_version")),
	       json_string_value(json_object_get(m, "key_id")),
	       json_string_value(json_object_get(m, "algorithm")));
	for (size_t i = 0; i < nfiles; i++) {
		const json_t *a = verify_artifact_file(m, files[i], why, sizeof(why));
		if (!a) {
			printf("INVALID artifact: %s\n", why);
			goto out;
		}
		printf("OK artifact %s: %s (%lld bytes, sha256 %s)\n", files[i],
		       json_string_value(json_object_get(a, "name")),
		       (long long)json_integer_value(json_object_get(a, "size_bytes")),
		       json_string_value(json_object_get(a, "sha256")));
	}
	rc = 0;
out:
	json_decref(m);
	free(text);
	verify_trust_free(t);
	return rc;
}
