#include "shadow/payload.h"

#include <string.h>

bool shadow_payload_is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* past U+10FFFF */
		} else {
			return false; /* continuation byte, C0/C1 overlong, F5..FF */
		}
		if (len - i <= n)
			return false;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++) {
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				return false;
		}
		i += n + 1;
	}
	return true;
}

enum shadow_err shadow_payload_load(const char *payload, size_t len, json_t **root)
{
	json_error_t jerr;
	json_t *j;

	*root = NULL;
	if (len > SHADOW_MAX_PAYLOAD_BYTES)
		return SHADOW_ERR_TOO_LARGE;
	if (len == 0 || !payload)
		return SHADOW_ERR_INVALID_JSON;
	if (!shadow_payload_is_utf8(payload, len))
		return SHADOW_ERR_UNSUPPORTED_ENCODING;
	j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		/* jansson reports allocation failure as json_error_out_of_memory */
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return SHADOW_ERR_INTERNAL;
		return SHADOW_ERR_INVALID_JSON;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return SHADOW_ERR_INVALID_JSON;
	}
	*root = j;
	return SHADOW_OK;
}

enum shadow_err shadow_payload_client_token(const json_t *root, bool *has,
					    char token[SHADOW_CLIENT_TOKEN_MAX + 1])
{
	const json_t *t = json_object_get(root, "clientToken");
	size_t n;

	*has = false;
	token[0] = '\0';
	if (!t)
		return SHADOW_OK;
	if (!json_is_string(t))
		return SHADOW_ERR_INVALID_CLIENT_TOKEN;
	n = json_string_length(t);
	/* jansson rejects \u0000 on load, so strlen() == n; checked anyway for direct callers */
	if (n > SHADOW_CLIENT_TOKEN_MAX || memchr(json_string_value(t), '\0', n))
		return SHADOW_ERR_INVALID_CLIENT_TOKEN;
	memcpy(token, json_string_value(t), n);
	token[n] = '\0';
	*has = true;
	return SHADOW_OK;
}
