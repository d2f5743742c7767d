#include "crypto/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/strutil.h"
#include "crypto/hmac.h"
#include "crypto/sign.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define LABEL_KEK "bellwether key-encryption v1"
#define LABEL_PRESIGN "bellwether presign v1"

static struct {
	bool is_loaded;
	unsigned char kek[DIGEST_SHA256_LEN];
	unsigned char presign[DIGEST_SHA256_LEN];
} mk;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void keys_master_set(const unsigned char key[KEYS_MASTER_LEN])
{
	hmac_sha256(key, KEYS_MASTER_LEN, LABEL_KEK, strlen(LABEL_KEK), mk.kek);
	hmac_sha256(key, KEYS_MASTER_LEN, LABEL_PRESIGN, strlen(LABEL_PRESIGN), mk.presign);
	mk.is_loaded = true;
}

void keys_master_clear(void)
{
	OPENSSL_cleanse(&mk, sizeof(mk));
	mk.is_loaded = false;
}

bool keys_master_is_loaded(void)
{
	return mk.is_loaded;
}

bool keys_master_load(const char *path, char *err, size_t errlen)
{
	char text[130];
	unsigned char key[KEYS_MASTER_LEN];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "BW_MASTER_KEY_FILE %s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "BW_MASTER_KEY_FILE %s: not a regular file", path);
		close(fd);
		return false;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "BW_MASTER_KEY_FILE %s: readable by group or others (chmod 600 it)", path);
		close(fd);
		return false;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "BW_MASTER_KEY_FILE %s: %s", path, strerror(errno));
		return false;
	}
	len = (size_t)n;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != 2 * KEYS_MASTER_LEN) {
		snprintf(err, errlen,
			 "BW_MASTER_KEY_FILE %s: expected 64 hex characters (e.g. from "
			 "`openssl rand -hex 32`)",
			 path);
		OPENSSL_cleanse(text, sizeof(text));
		return false;
	}
	for (size_t i = 0; i < KEYS_MASTER_LEN; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "BW_MASTER_KEY_FILE %s: not hexadecimal", path);
			OPENSSL_cleanse(text, sizeof(text));
			OPENSSL_cleanse(key, sizeof(key));
			return false;
		}
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	keys_master_set(key);
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(key, sizeof(key));
	return true;
}

char *keys_seal(const void *plain, size_t len, const char *aad)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	char *b64 = NULL, *out = NULL;
	size_t total;
	int n = 0, m = 0;

	if (!mk.is_loaded || len > 1 << 20)
		return NULL;
	total = NONCE_LEN + len + TAG_LEN;
	buf = malloc(total);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx || !digest_random(buf, NONCE_LEN))
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, mk.kek, buf) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &m) != 1 || (size_t)(n + m) != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + len) != 1)
		goto out;
	b64 = strutil_b64url_encode(buf, total);
	if (!b64)
		goto out;
	out = malloc(strlen(KEYS_SEALED_PREFIX) + strlen(b64) + 1);
	if (out) {
		strcpy(out, KEYS_SEALED_PREFIX);
		strcat(out, b64);
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	sign_secure_free(buf, total);
	free(b64);
	return out;
}

bool keys_open(const char *sealed, const char *aad, unsigned char **plain, size_t *len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL, *out = NULL;
	size_t rawlen = 0, clen = 0;
	int n = 0, m = 0;
	bool ok = false;

	*plain = NULL;
	*len = 0;
	if (!mk.is_loaded || strncmp(sealed, KEYS_SEALED_PREFIX, strlen(KEYS_SEALED_PREFIX)) != 0)
		return false;
	if (!strutil_b64url_decode(sealed + strlen(KEYS_SEALED_PREFIX), (void **)&raw, &rawlen))
		return false;
	if (rawlen < NONCE_LEN + TAG_LEN || rawlen > (1 << 20) + NONCE_LEN + TAG_LEN)
		goto out;
	clen = rawlen - NONCE_LEN - TAG_LEN;
	out = malloc(clen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!out || !ctx)
		goto out;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, mk.kek, raw) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, raw + NONCE_LEN, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + clen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n, &m) != 1 || (size_t)(n + m) != clen)
		goto out;
	*plain = out;
	*len = clen;
	out = NULL;
	ok = true;
out:
	EVP_CIPHER_CTX_free(ctx);
	sign_secure_free(out, clen + 1);
	sign_secure_free(raw, rawlen);
	return ok;
}

bool keys_presign_key(unsigned char out[DIGEST_SHA256_LEN])
{
	if (!mk.is_loaded)
		return false;
	memcpy(out, mk.presign, DIGEST_SHA256_LEN);
	return true;
}
