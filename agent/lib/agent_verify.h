/*
 * Image verification on the device: SHA-256, the FreeRTOS `sig-sha256-ecdsa` signature (ECDSA
 * P-256 over the image's SHA-256, base64 DER; spec 9.5) and the signed Bellwether release
 * manifest (docs/FIRMWARE.md), both checked against the device's trust list
 * (`bellwether-trust-list/1`: active and retired keys are trusted, revoked keys are not).
 * Uses OpenSSL; no I/O except agent_trust_load_file.
 */
#ifndef BW_AGENT_VERIFY_H
#define BW_AGENT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent_doc.h"
#include "agent_fsm.h"

struct agent_trust_key {
	char key_id[33]; /* hex of the first 16 bytes of SHA-256(SubjectPublicKeyInfo DER) */
	bool is_ed25519;
	bool is_revoked;
	void *pkey; /* EVP_PKEY * */
};

struct agent_trust {
	struct agent_trust_key *keys;
	size_t count;
};

/* Loads a trust list object into t (zeroed first). Entries with unknown algorithms are skipped.
 * Returns false with err set on a malformed list or OOM (t left empty). */
bool agent_trust_load(struct agent_trust *t, const json_t *list, char *err, size_t cap);

/* Same, from a JSON file. */
bool agent_trust_load_file(struct agent_trust *t, const char *path, char *err, size_t cap);

/* Frees the keys of t (NULL ok). */
void agent_trust_cleanup(struct agent_trust *t);

/* Incremental SHA-256 (an OpenSSL digest context). */
struct agent_hash {
	void *ctx; /* EVP_MD_CTX * */
};

/* Starts (or restarts) a hash; false on OOM. */
bool agent_hash_reset(struct agent_hash *h);
/* Adds bytes; false on failure. */
bool agent_hash_update(struct agent_hash *h, const void *data, size_t len);
/* Writes the digest (32 bytes); the context must be reset before reuse. */
bool agent_hash_final(struct agent_hash *h, unsigned char out[32]);
/* Frees the context (NULL-safe, idempotent). */
void agent_hash_cleanup(struct agent_hash *h);

/* Decodes padded standard base64; returns the length or -1 (bad input or out too small). */
long agent_base64_decode(const char *in, unsigned char *out, size_t cap);

/*
 * Decides whether an image with SHA-256 digest may be installed on dev: the document's sha256
 * (when given) matches; the `sig-sha256-ecdsa` signature (when given) verifies with a trusted
 * key (a revoked key's signature is refused by name); the manifest (when given) is signed by a
 * trusted key, lists the digest, matches the document's version claims and passes the device
 * checks (hardware type, security version, no downgrade unless the document is a revert). An
 * image with neither a signature nor a manifest is refused. Returns true when acceptable;
 * otherwise writes the reason.
 */
bool agent_verify_image(const struct agent_trust *t, const struct agent_doc *d,
			const struct agent_device *dev, const unsigned char digest[32],
			char *reason, size_t cap);

#endif
