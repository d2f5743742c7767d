/* Presigned download URLs: an HMAC-SHA256 over the artifact id, the expiry and an optional
 * thing name, so a device can download one artifact without a bearer token until the expiry.
 * The key comes from the caller (crypto/keys derives it from the master key); time is an
 * argument. */
#ifndef BW_FIRMWARE_PRESIGN_H
#define BW_FIRMWARE_PRESIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/digest.h"

#define PRESIGN_LABEL "bellwether-presign-v1"
/* Longest base64url signature text + NUL. */
#define PRESIGN_SIG_SIZE 48

enum presign_result {
	PRESIGN_OK = 0,
	PRESIGN_MALFORMED, /* missing/invalid expires, signature or thing */
	PRESIGN_BAD_SIGNATURE,
	PRESIGN_EXPIRED,
};

/* Signature text (unpadded base64url of the HMAC) for artifact_id, expires (Unix seconds) and
 * thing (NULL or "" for none) into out. False on an internal failure. The signed message is
 * "bellwether-presign-v1\n<artifact_id>\n<expires>\n<thing>". */
bool presign_sign(const unsigned char key[DIGEST_SHA256_LEN], const char *artifact_id,
		  int64_t expires, const char *thing, char out[PRESIGN_SIG_SIZE]);

/* Check the query values of a presigned URL at time now_s. expires is the decimal text from
 * the URL; the signature is checked (constant time) before the expiry, so an altered expiry
 * reports PRESIGN_BAD_SIGNATURE. */
enum presign_result presign_verify(const unsigned char key[DIGEST_SHA256_LEN],
				   const char *artifact_id, const char *expires, const char *thing,
				   const char *signature, int64_t now_s);

const char *presign_result_name(enum presign_result r);

#endif
