/*
 * Shared first steps for every shadow request payload (spec 1.4, 6.7): size cap, UTF-8 check,
 * strict JSON parse, clientToken extraction. PURE: libc + jansson.
 */
#ifndef BW_SHADOW_PAYLOAD_H
#define BW_SHADOW_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "shadow/doc.h"

/* True if the len bytes are well-formed UTF-8 (RFC 3629: no overlongs, surrogates or
 * code points past U+10FFFF). */
bool shadow_payload_is_utf8(const char *s, size_t len);

/*
 * Parse a non-empty payload of len bytes (not necessarily NUL-terminated) into a JSON object.
 * Checks, in order: len > SHADOW_MAX_PAYLOAD_BYTES -> SHADOW_ERR_TOO_LARGE; not UTF-8 ->
 * SHADOW_ERR_UNSUPPORTED_ENCODING; empty, unparseable, duplicate keys, \u0000, or not an object
 * -> SHADOW_ERR_INVALID_JSON; allocation failure -> SHADOW_ERR_INTERNAL.
 * [out] root: new reference on SHADOW_OK, else NULL.
 */
enum shadow_err shadow_payload_load(const char *payload, size_t len, json_t **root);

/*
 * Read the top-level "clientToken" of root: absent -> *has = false; a string of at most
 * SHADOW_CLIENT_TOKEN_MAX bytes without NUL -> copied to token (NUL-terminated), *has = true;
 * anything else (other type, longer) -> SHADOW_ERR_INVALID_CLIENT_TOKEN, *has = false.
 */
enum shadow_err shadow_payload_client_token(const json_t *root, bool *has,
					    char token[SHADOW_CLIENT_TOKEN_MAX + 1]);

#endif
