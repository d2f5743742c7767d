/* HMAC-SHA256 (presigned download URLs, key derivation). */
#ifndef BW_CRYPTO_HMAC_H
#define BW_CRYPTO_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/digest.h"

/* HMAC-SHA256 of msg under key into out (32 bytes). Returns false on an internal failure. */
bool hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		 unsigned char out[DIGEST_SHA256_LEN]);

#endif
