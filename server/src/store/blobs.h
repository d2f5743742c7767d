/* Content-addressed blob store for firmware images: blobs are named by the lowercase hex
 * SHA-256 of their content, written once, deduplicated, never modified.
 *
 * Callers use only the functions below; a backend supplies struct blob_backend_ops. The file
 * backend (blob_store_file_new) keeps DIR/ab/abcdef… files, writes through a temp file in
 * DIR/tmp, fsyncs it and renames it into place, so a blob is either absent or complete. The
 * generic layer hashes every byte as it is written and compares with the declared hash before
 * the backend commits, so a mismatching upload never becomes visible under any name. An
 * S3-compatible backend would implement the same operations (multipart upload to a temp key,
 * server-side copy on commit). Thread-safe: concurrent writers and readers are independent. */
#ifndef BW_STORE_BLOBS_H
#define BW_STORE_BLOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_SHA256_HEX_SIZE 65

enum blob_status {
	BLOB_OK = 0,
	BLOB_ERR_IO = -1, /* storage failed (disk full, permissions...) */
	BLOB_ERR_NOMEM = -2,
	BLOB_ERR_MISMATCH = -3, /* content does not hash to the declared SHA-256 */
	BLOB_ERR_NOT_FOUND = -4,
	BLOB_ERR_INVALID = -5, /* malformed blob name */
};

/* What a backend implements. impl is the backend's store state, w one write in progress. */
struct blob_backend_ops {
	const char *name;
	/* Start a write; *w receives the backend's write state. */
	enum blob_status (*write_open)(void *impl, void **w);
	enum blob_status (*write)(void *w, const void *data, size_t len);
	/* Make the written bytes the blob sha256_hex (frees w). *is_new is false when the blob
	 * already existed (deduplicated: the new copy is discarded). */
	enum blob_status (*write_commit)(void *impl, void *w, const char *sha256_hex, bool *is_new);
	/* Discard the write (frees w, removes temp data). */
	void (*write_abort)(void *w);
	/* Open a blob for reading: *fd (caller closes) and its size. */
	enum blob_status (*open_read)(void *impl, const char *sha256_hex, int *fd, uint64_t *size);
	/* Delete a blob (garbage collection of unreferenced content). */
	enum blob_status (*remove)(void *impl, const char *sha256_hex);
	void (*free)(void *impl);
};

struct blob_store;
struct blob_writer;

/* Result of a committed write. */
struct blob_info {
	char sha256[BLOB_SHA256_HEX_SIZE];
	uint64_t size_bytes;
	bool is_new; /* false: identical content was already stored (deduplicated) */
};

/* A store over a backend; impl is owned by the store from now on (ops->free at the end). */
struct blob_store *blob_store_new(const struct blob_backend_ops *ops, void *impl);
/* File backend rooted at dir (created if missing, with tmp/). Temp files older than an hour
 * left by a crashed process are removed. NULL with a message in err on failure. */
struct blob_store *blob_store_file_new(const char *dir, char *err, size_t errlen);
void blob_store_free(struct blob_store *store);

/* Begin a write; NULL on failure (logged). */
struct blob_writer *blob_writer_new(struct blob_store *store);
/* Hash and store len more bytes. On failure the writer must still be aborted. */
enum blob_status blob_writer_write(struct blob_writer *w, const void *data, size_t len);
/* Bytes written so far. */
uint64_t blob_writer_size(const struct blob_writer *w);
/* Stop writing and compute the SHA-256 and size into out (nothing is committed yet: the caller
 * may still check the hash, a signature over it, and then commit or abort). Calling it again, or
 * commit afterwards, reuses the result. */
enum blob_status blob_writer_finish(struct blob_writer *w, struct blob_info *out);
/* Finish (if not done yet) and commit: if expected_sha256_hex is not NULL and differs (case-insensitive
 * hex), discard everything and return BLOB_ERR_MISMATCH (out->sha256 still holds the actual
 * hash). Always frees w. */
enum blob_status blob_writer_commit(struct blob_writer *w, const char *expected_sha256_hex,
				    struct blob_info *out);
/* Discard a write; frees w (NULL accepted). */
void blob_writer_abort(struct blob_writer *w);

/* Open blob sha256_hex for reading (zero-copy sends need a file descriptor). */
enum blob_status blob_open(struct blob_store *store, const char *sha256_hex, int *fd,
			   uint64_t *size);
enum blob_status blob_remove(struct blob_store *store, const char *sha256_hex);

/* True if s is 64 lowercase hex characters. */
bool blob_is_valid_name(const char *s);
const char *blob_status_name(enum blob_status st);

#endif
