#include "store/blobs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/sha256.h"

struct blob_store {
	const struct blob_backend_ops *ops;
	void *impl;
};

struct blob_writer {
	struct blob_store *store;
	void *w;
	struct sha256_stream *hash;
	uint64_t size;
	bool is_finished;
	char sha256[BLOB_SHA256_HEX_SIZE];
};

struct blob_store *blob_store_new(const struct blob_backend_ops *ops, void *impl)
{
	struct blob_store *s = calloc(1, sizeof(*s));

	if (!s) {
		ops->free(impl);
		return NULL;
	}
	s->ops = ops;
	s->impl = impl;
	return s;
}

void blob_store_free(struct blob_store *store)
{
	if (!store)
		return;
	store->ops->free(store->impl);
	free(store);
}

bool blob_is_valid_name(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

const char *blob_status_name(enum blob_status st)
{
	switch (st) {
	case BLOB_OK:
		return "ok";
	case BLOB_ERR_IO:
		return "io_error";
	case BLOB_ERR_NOMEM:
		return "out_of_memory";
	case BLOB_ERR_MISMATCH:
		return "sha256_mismatch";
	case BLOB_ERR_NOT_FOUND:
		return "not_found";
	case BLOB_ERR_INVALID:
		return "invalid_name";
	}
	return "unknown";
}

struct blob_writer *blob_writer_new(struct blob_store *store)
{
	struct blob_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->store = store;
	w->hash = sha256_stream_new();
	if (!w->hash || store->ops->write_open(store->impl, &w->w) != BLOB_OK) {
		sha256_stream_free(w->hash);
		free(w);
		return NULL;
	}
	return w;
}

enum blob_status blob_writer_write(struct blob_writer *w, const void *data, size_t len)
{
	if (w->is_finished)
		return BLOB_ERR_INVALID;
	if (!sha256_stream_update(w->hash, data, len))
		return BLOB_ERR_NOMEM;
	w->size += len;
	return w->store->ops->write(w->w, data, len);
}

uint64_t blob_writer_size(const struct blob_writer *w)
{
	return w->size;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (!w)
		return;
	w->store->ops->write_abort(w->w);
	sha256_stream_free(w->hash);
	free(w);
}

enum blob_status blob_writer_finish(struct blob_writer *w, struct blob_info *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[DIGEST_SHA256_LEN];

	memset(out, 0, sizeof(*out));
	out->size_bytes = w->size;
	if (!w->is_finished) {
		if (!sha256_stream_final(w->hash, d))
			return BLOB_ERR_NOMEM;
		for (int i = 0; i < DIGEST_SHA256_LEN; i++) {
			w->sha256[2 * i] = hex[d[i] >> 4];
			w->sha256[2 * i + 1] = hex[d[i] & 15];
		}
		w->sha256[64] = '\0';
		w->is_finished = true;
	}
	memcpy(out->sha256, w->sha256, sizeof(out->sha256));
	return BLOB_OK;
}

enum blob_status blob_writer_commit(struct blob_writer *w, const char *expected_sha256_hex,
				    struct blob_info *out)
{
	enum blob_status st = blob_writer_finish(w, out);

	if (st != BLOB_OK) {
		blob_writer_abort(w);
		return st;
	}
	if (expected_sha256_hex && strcasecmp(expected_sha256_hex, out->sha256) != 0) {
		blob_writer_abort(w);
		return BLOB_ERR_MISMATCH;
	}
	st = w->store->ops->write_commit(w->store->impl, w->w, out->sha256, &out->is_new);
	sha256_stream_free(w->hash);
	free(w);
	return st;
}

enum blob_status blob_open(struct blob_store *store, const char *sha256_hex, int *fd,
			   uint64_t *size)
{
	*fd = -1;
	*size = 0;
	if (!blob_is_valid_name(sha256_hex))
		return BLOB_ERR_INVALID;
	return store->ops->open_read(store->impl, sha256_hex, fd, size);
}

enum blob_status blob_remove(struct blob_store *store, const char *sha256_hex)
{
	if (!blob_is_valid_name(sha256_hex))
		return BLOB_ERR_INVALID;
	return store->ops->remove(store->impl, sha256_hex);
}
