/* Hashing and randomness (OpenSSL stays inside crypto/ and auth/). */
#ifndef BW_CRYPTO_DIGEST_H
#define BW_CRYPTO_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX_LEN 65 /* with NUL */

/* SHA-256 of data into out (32 bytes). */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* SHA-256 as lowercase hex into hex (65 bytes incl. NUL). */
void digest_sha256_hex(const void *data, size_t len, char hex[DIGEST_SHA256_HEX_LEN]);
/* Cryptographically secure random bytes; false if the RNG failed. */
bool digest_random(void *out, size_t len);
/* Constant-time equality of two equal-length buffers. */
bool digest_equal(const void *a, const void *b, size_t len);

#endif
