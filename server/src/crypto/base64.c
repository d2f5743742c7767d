#include "crypto/base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t outlen, i, o = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	outlen = (len + 2) / 3 * 4;
	out = malloc(outlen + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool base64_decode(const char *text, size_t textlen, unsigned char **out, size_t *outlen)
{
	size_t pad = 0, n, o = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (textlen % 4 != 0)
		return false;
	if (textlen >= 1 && text[textlen - 1] == '=')
		pad++;
	if (textlen >= 2 && text[textlen - 2] == '=')
		pad++;
	n = textlen / 4 * 3 - pad;
	buf = malloc(n + 1);
	if (!buf)
		return false;
	for (size_t i = 0; i < textlen; i += 4) {
		int v[4];
		bool is_last = i + 4 == textlen;
		for (int k = 0; k < 4; k++) {
			char c = text[i + (size_t)k];
			if (c == '=' && is_last && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = value_of(c);
			if (v[k] < 0)
				goto fail;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		if (is_last && pad == 2 && (w & 0xffff))
			goto fail; /* non-zero trailing bits */
		if (is_last && pad == 1 && (w & 0xff))
			goto fail;
		buf[o++] = (unsigned char)(w >> 16);
		if (!(is_last && pad == 2))
			buf[o++] = (unsigned char)(w >> 8);
		if (!(is_last && pad >= 1))
			buf[o++] = (unsigned char)w;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return true;
fail:
	free(buf);
	return false;
}
