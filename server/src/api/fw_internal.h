/* Shared by the api/fw_*.c files only: firmware registry state and small helpers. */
#ifndef BW_API_FW_INTERNAL_H
#define BW_API_FW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sign.h"
#include "db/db.h"
#include "http/request.h"
#include "store/blobs.h"

#define FW_ID_TEXT_SIZE 24 /* a bigint id as decimal text + NUL */

/* Set once by api_fw_init, read-only while serving. */
struct api_fw_state {
	struct blob_store *store;
	int64_t presign_ttl_s;
	char *public_url; /* "" when BW_PUBLIC_URL is unset: the request's Host is used */
};
extern struct api_fw_state api_fw;

/* Path parameter `name` as a positive decimal id into out; else 404 "<what> '<x>' not found". */
bool api_fw_id_param(const struct request *req, struct reply *rep, const char *name,
		     const char *what, char out[FW_ID_TEXT_SIZE]);
/* Hardware type / product: 1..128 of [A-Za-z0-9:_.-]. */
bool api_fw_is_valid_hw(const char *s);
/* Artifact file name: 1..128 of [A-Za-z0-9._-], not starting with '.', '_' or '-'. */
bool api_fw_is_valid_artifact_name(const char *s);
/* Artifact type: 1..32 of [a-z0-9_-]. */
bool api_fw_is_valid_artifact_type(const char *s);
/* Key name: 1..128 of [A-Za-z0-9._:-]. */
bool api_fw_is_valid_key_name(const char *s);
/* 64 hex characters (either case). */
bool api_fw_is_sha256_hex(const char *s);
/* Hex text of 2*n characters into n bytes. */
bool api_fw_hex_decode(const char *hex, unsigned char *out, size_t n);

/* Native error with a status that errors.def lacks (416): same body shape, code `code`. */
void api_fw_reply_status_error(struct reply *rep, unsigned status, const char *code,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 409 when no master key is configured; returns false then. */
bool api_fw_require_master_key(struct reply *rep, const char *what);

/* Load the private key id (must be active with a private key) inside a transaction, decrypted.
 * Returns DB_ONE with *out set, DB_NONE when absent/not usable, or a DB error; *why gets a
 * reason for DB_NONE. */
enum db_status api_fw_load_signing_key(struct db *db, const char *key_id, struct sign_key **out,
				       const char **why);

/* Metrics. */
void api_fw_count_upload(const char *result, uint64_t bytes);
void api_fw_count_download(const char *kind, unsigned status, uint64_t bytes);
void api_fw_count_presign_rejected(const char *reason);

#endif
