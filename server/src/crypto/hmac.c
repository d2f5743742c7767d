#include "crypto/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

bool hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		 unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned int n = 0;

	if (keylen > 0x7fffffff)
		return false;
	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &n))
		return false;
	return n == DIGEST_SHA256_LEN;
}
