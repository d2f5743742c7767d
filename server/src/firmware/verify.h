/* Offline verification of signed manifests and artifact files against a trust list, as a device
 * maker or a test would do it (used by `bellwetherd verify-manifest`). */
#ifndef BW_FIRMWARE_VERIFY_H
#define BW_FIRMWARE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "crypto/sign.h"

#define TRUST_LIST_FORMAT "bellwether-trust-list/1"

/* A set of public keys with their status (active, retired: trusted; revoked: rejected). */
struct verify_trust;

struct verify_trust *verify_trust_new(void);
void verify_trust_free(struct verify_trust *t);
/* Add the keys of a trust list document (GET /api/v1/firmware/trust-list). False with a reason
 * in why if the document is malformed. */
bool verify_trust_add_list(struct verify_trust *t, const char *text, size_t len, char *why,
			   size_t whylen);
/* Add one trusted PEM public (or private) key. */
bool verify_trust_add_pem(struct verify_trust *t, const char *pem, size_t len, char *why,
			  size_t whylen);
/* The key with id key_id, or NULL. *is_revoked tells whether the list marks it revoked. */
const struct sign_key *verify_trust_find(const struct verify_trust *t, const char *key_id,
					 bool *is_revoked);

/* Verify manifest text: shape, a trusted non-revoked key, matching algorithm, and the signature
 * over the canonical payload. On success returns true and, if out is not NULL, the parsed
 * manifest (new reference). On failure returns false with a reason in why. */
bool verify_manifest(const char *text, size_t len, const struct verify_trust *t, json_t **out,
		     char *why, size_t whylen);

/* Hash the file at path and find the manifest artifact with the same SHA-256 and size.
 * Returns the entry (borrowed from manifest) or NULL with a reason in why. */
const json_t *verify_artifact_file(const json_t *manifest, const char *path, char *why,
				   size_t whylen);

/* `bellwetherd verify-manifest ...` (argv[0] is "verify-manifest"). Exit status: 0 valid,
 * 1 invalid, 2 usage or unreadable input. */
int verify_cli_main(int argc, char **argv);

#endif
