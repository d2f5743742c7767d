#include "crypto/sha256.h"

#include <stdlib.h>

#include <openssl/evp.h>

struct sha256_stream {
	EVP_MD_CTX *ctx;
};

struct sha256_stream *sha256_stream_new(void)
{
	struct sha256_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		sha256_stream_free(s);
		return NULL;
	}
	return s;
}

bool sha256_stream_update(struct sha256_stream *s, const void *data, size_t len)
{
	return EVP_DigestUpdate(s->ctx, data, len) == 1;
}

bool sha256_stream_final(struct sha256_stream *s, unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned int n = 0;

	return EVP_DigestFinal_ex(s->ctx, out, &n) == 1 && n == DIGEST_SHA256_LEN;
}

void sha256_stream_free(struct sha256_stream *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}
