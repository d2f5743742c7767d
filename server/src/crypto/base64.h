/* Standard base64 (RFC 4648 section 4, with '=' padding), as FreeRTOS OTA signatures and PEM use
 * it. PURE: libc only (lives in crypto/ because it carries signatures and keys). */
#ifndef BW_CRYPTO_BASE64_H
#define BW_CRYPTO_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Encode data[0..len) with padding, no line breaks. Caller frees; NULL on OOM. */
char *base64_encode(const void *data, size_t len);

/* Decode canonical padded base64 text of length textlen: rejects whitespace, characters outside
 * the alphabet, missing or misplaced padding and non-zero trailing bits. On success *out (caller
 * frees) holds *outlen bytes plus a NUL. On failure returns false, *out = NULL, *outlen = 0. */
bool base64_decode(const char *text, size_t textlen, unsigned char **out, size_t *outlen);

#endif
