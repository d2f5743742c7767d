#include "firmware/presign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "crypto/hmac.h"

static bool mac_of(const unsigned char key[DIGEST_SHA256_LEN], const char *artifact_id,
		   const char *expires, const char *thing, unsigned char mac[DIGEST_SHA256_LEN])
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s\n%s\n%s\n%s", PRESIGN_LABEL, artifact_id, expires,
			 thing ? thing : "");

	return n > 0 && (size_t)n < sizeof(msg) &&
	       hmac_sha256(key, DIGEST_SHA256_LEN, msg, (size_t)n, mac);
}

bool presign_sign(const unsigned char key[DIGEST_SHA256_LEN], const char *artifact_id,
		  int64_t expires, const char *thing, char out[PRESIGN_SIG_SIZE])
{
	unsigned char mac[DIGEST_SHA256_LEN];
	char exp[24];
	char *b64;

	snprintf(exp, sizeof(exp), "%lld", (long long)expires);
	if (!mac_of(key, artifact_id, exp, thing, mac))
		return false;
	b64 = strutil_b64url_encode(mac, sizeof(mac));
	if (!b64 || strlen(b64) >= PRESIGN_SIG_SIZE) {
		free(b64);
		return false;
	}
	strcpy(out, b64);
	free(b64);
	return true;
}

enum presign_result presign_verify(const unsigned char key[DIGEST_SHA256_LEN],
				   const char *artifact_id, const char *expires, const char *thing,
				   const char *signature, int64_t now_s)
{
	unsigned char mac[DIGEST_SHA256_LEN];
	void *given = NULL;
	size_t given_len = 0, n = 0;
	long long exp;
	bool is_valid;

	for (; expires && expires[n]; n++)
		if (expires[n] < '0' || expires[n] > '9')
			return PRESIGN_MALFORMED;
	if (!expires || n == 0 || n > 18 || expires[0] == '0' || !signature || !artifact_id ||
	    (thing && *thing && !strutil_is_valid_thing_name(thing)))
		return PRESIGN_MALFORMED;
	exp = strtoll(expires, NULL, 10);
	if (!mac_of(key, artifact_id, expires, thing, mac))
		return PRESIGN_MALFORMED;
	is_valid = strutil_b64url_decode(signature, &given, &given_len) &&
		   given_len == sizeof(mac) && digest_equal(given, mac, sizeof(mac));
	free(given);
	if (!is_valid)
		return PRESIGN_BAD_SIGNATURE;
	if (exp < now_s)
		return PRESIGN_EXPIRED;
	return PRESIGN_OK;
}

const char *presign_result_name(enum presign_result r)
{
	switch (r) {
	case PRESIGN_OK:
		return "ok";
	case PRESIGN_MALFORMED:
		return "malformed";
	case PRESIGN_BAD_SIGNATURE:
		return "bad_signature";
	case PRESIGN_EXPIRED:
		return "expired";
	}
	return "unknown";
}
