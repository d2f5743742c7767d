/* Release manifests: canonical JSON (docs/FIRMWARE.md "Canonical JSON") and the manifest
 * object a published release is signed as. PURE: libc + jansson. */
#ifndef BW_FIRMWARE_MANIFEST_H
#define BW_FIRMWARE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define MANIFEST_FORMAT "bellwether-manifest/1"
/* Largest manifest text we parse (a manifest lists at most a few dozen artifacts). */
#define MANIFEST_MAX_LEN (1024 * 1024)

/* Canonical JSON text of v: object members sorted by the bytes of their UTF-8 keys, no
 * whitespace, minimal string escaping, integers only. Caller frees; *len (may be NULL) gets the
 * length. NULL if v holds a real number (not representable canonically) or on OOM. */
char *manifest_canonical(const json_t *v, size_t *len);

/* The unsigned manifest of a release. release is the API rendering of a release (fields id,
 * product, firmware_version, security_version, min_version, hardware_types, artifacts[] with
 * name, type, size_bytes, sha256). Returns a new object with format, release_id, product,
 * version, security_version, min_version, hardware_types (sorted), artifacts (sorted by name:
 * name, type, size_bytes, sha256), created_at, key_id, algorithm; NULL if release lacks a field
 * or on OOM. */
json_t *manifest_build(const json_t *release, const char *key_id, const char *algorithm,
		       const char *created_at);

/* The bytes that are signed: canonical text of manifest without its "signature" member.
 * Caller frees. NULL on OOM or a non-canonicalisable manifest. */
char *manifest_payload(const json_t *manifest, size_t *len);

/* Parse manifest text (strict JSON, duplicate keys rejected) and check its shape: format,
 * key_id, algorithm, signature (strings), artifacts (array of objects with name, sha256,
 * size_bytes). Returns a new reference or NULL with a reason in why. */
json_t *manifest_parse(const char *text, size_t len, char *why, size_t whylen);

#endif
