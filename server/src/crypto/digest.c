#include "crypto/digest.h"

#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned int n = 0;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void digest_sha256_hex(const void *data, size_t len, char hex[DIGEST_SHA256_HEX_LEN])
{
	unsigned char d[DIGEST_SHA256_LEN];
	digest_sha256(data, len, d);
	for (int i = 0; i < DIGEST_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

bool digest_random(void *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1;
}

bool digest_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
