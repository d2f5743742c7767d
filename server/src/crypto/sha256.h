/* Incremental SHA-256 for data that arrives in pieces (streamed uploads). */
#ifndef BW_CRYPTO_SHA256_H
#define BW_CRYPTO_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/digest.h"

struct sha256_stream;

/* New hashing state; NULL on OOM. Free with sha256_stream_free. */
struct sha256_stream *sha256_stream_new(void);
/* Hash len more bytes of data. Returns false on an internal failure. */
bool sha256_stream_update(struct sha256_stream *s, const void *data, size_t len);
/* Finish: write the 32-byte digest to out. The state cannot be updated afterwards. */
bool sha256_stream_final(struct sha256_stream *s, unsigned char out[DIGEST_SHA256_LEN]);
/* Free the state; NULL is accepted. */
void sha256_stream_free(struct sha256_stream *s);

#endif
