/* The master key and what it protects: signing private keys encrypted at rest with
 * AES-256-GCM, and the HMAC key of presigned download URLs. Both are derived from the master
 * key (HMAC-SHA256 with fixed labels), never the master key itself. Process-wide state, set once
 * at startup (keys_master_load) before any request runs; read-only afterwards. */
#ifndef BW_CRYPTO_KEYS_H
#define BW_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/digest.h"

#define KEYS_MASTER_LEN 32
/* Prefix of sealed text: "bwk1." + base64url(nonce[12] || ciphertext || tag[16]). */
#define KEYS_SEALED_PREFIX "bwk1."

/* Read the master key from path: exactly 64 hex characters, optionally followed by a newline.
 * The file must not be readable by group or others. Returns false with a message in err. */
bool keys_master_load(const char *path, char *err, size_t errlen);
/* Use key as the master key (tests, tools). */
void keys_master_set(const unsigned char key[KEYS_MASTER_LEN]);
/* Forget the master key (wipes memory). */
void keys_master_clear(void);
bool keys_master_is_loaded(void);

/* Encrypt plain[0..len) under the key-encryption key; aad binds the ciphertext to its owner (the
 * key id), so a sealed blob cannot be moved to another row. Returns new text (caller frees) or
 * NULL (no master key, OOM). */
char *keys_seal(const void *plain, size_t len, const char *aad);
/* Decrypt text from keys_seal with the same aad. *plain (free with sign_secure_free) gets *len
 * bytes. False when no master key is loaded, the text is malformed or authentication fails. */
bool keys_open(const char *sealed, const char *aad, unsigned char **plain, size_t *len);
/* The presign HMAC key into out; false without a master key. */
bool keys_presign_key(unsigned char out[DIGEST_SHA256_LEN]);

#endif
