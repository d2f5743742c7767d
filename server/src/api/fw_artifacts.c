/* Release artifacts: streamed upload into the blob store (never buffered), metadata, delete
 * (draft only), downloads with Range/ETag from a file descriptor (zero-copy), presigned URLs. */
#include "api/firmware.h"
#include "api/fw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/common.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/base64.h"
#include "crypto/keys.h"
#include "firmware/presign.h"
#include "http/range.h"

#define PRESIGN_MAX_TTL_S 604800

/* ---- upload ---- */

struct upload {
	char release_id[FW_ID_TEXT_SIZE];
	char name[129];
	char type[33];
	char expected[BLOB_SHA256_HEX_SIZE]; /* "" when not declared */
	unsigned char *sig;		     /* declared external signature (DER), or NULL */
	size_t siglen;
	char sig_key_id[SIGN_KEY_ID_SIZE]; /* "" = any trusted key */
	struct blob_writer *w;
	enum blob_status wst;
};

static void upload_free(struct upload *u)
{
	if (!u)
		return;
	blob_writer_abort(u->w);
	free(u->sig);
	free(u);
}

/* Check the release and name before any byte is stored: 404, 409 (not draft), 409 (name
 * taken). Returns false with the reply set. */
static bool upload_precheck(struct upload *u, struct reply *rep)
{
	struct db *db = api_db_get(rep);
	struct db_rows *rows = NULL;
	const char *params[] = { u->release_id, u->name };
	enum db_status st;
	bool ok = false;

	if (!db)
		return false;
	st = db_exec(db,
		     "SELECT r.state, EXISTS (SELECT 1 FROM firmware_artifacts a WHERE"
		     " a.release_id = r.id AND a.name = $2) FROM firmware_releases r"
		     " WHERE r.id = $1::bigint",
		     2, params, &rows);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (st == DB_NONE)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", u->release_id);
	else if (strcmp(db_rows_get(rows, 0, 0), "draft") != 0)
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' is %s: artifacts can only be added to draft releases",
			    u->release_id, db_rows_get(rows, 0, 0));
	else if (strcmp(db_rows_get(rows, 0, 1), "t") == 0)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/name",
			    "release '%s' already has an artifact named '%s'", u->release_id,
			    u->name);
	else
		ok = true;
	db_rows_free(rows);
	return ok;
}

static void *upload_begin(const struct request *req, struct reply *rep)
{
	struct upload *u = calloc(1, sizeof(*u));
	const char *name = request_query(req, "name");
	const char *type = request_query(req, "type");
	const char *sha = request_header(req, "X-Content-SHA256");
	const char *sig = request_header(req, "X-Signature-Sha256-Ecdsa");
	const char *kid = request_header(req, "X-Signature-Key-Id");

	if (!u) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	if (!api_fw_id_param(req, rep, "release", "release", u->release_id))
		goto fail;
	if (!name || !api_fw_is_valid_artifact_name(name)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/name",
			    "query parameter name (the artifact's file name) is required: 1..128 "
			    "characters of A-Z a-z 0-9 . _ -, not starting with . _ or -");
		goto fail;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	if (type && !api_fw_is_valid_artifact_type(type)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/type",
			    "type is 1..32 characters of a-z 0-9 _ - (default firmware)");
		goto fail;
	}
	snprintf(u->type, sizeof(u->type), "%s", type ? type : "firmware");
	if (sha) {
		if (!api_fw_is_sha256_hex(sha)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
				    "X-Content-SHA256 must be 64 hex characters");
			goto fail;
		}
		for (int i = 0; i < 64; i++)
			u->expected[i] =
				(char)(sha[i] >= 'A' && sha[i] <= 'F' ? sha[i] + 32 : sha[i]);
		u->expected[64] = '\0';
	}
	if (sig) {
		if (!base64_decode(sig, strlen(sig), &u->sig, &u->siglen) || u->siglen < 8 ||
		    u->siglen > SIGN_MAX_SIG_LEN) {
			reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
				    "X-Signature-Sha256-Ecdsa must be the base64 of a DER ECDSA "
				    "P-256 signature");
			goto fail;
		}
	}
	if (kid) {
		bool is_hex = strlen(kid) == SIGN_KEY_ID_LEN;
		for (size_t i = 0; is_hex && kid[i]; i++)
			is_hex = (kid[i] >= '0' && kid[i] <= '9') ||
				 (kid[i] >= 'a' && kid[i] <= 'f');
		if (!sig || !is_hex) {
			reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
				    "X-Signature-Key-Id needs X-Signature-Sha256-Ecdsa and is a "
				    "32-character lowercase hex key id");
			goto fail;
		}
		snprintf(u->sig_key_id, sizeof(u->sig_key_id), "%s", kid);
	}
	if (!upload_precheck(u, rep))
		goto fail;
	u->w = blob_writer_new(api_fw.store);
	if (!u->w) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "the blob store cannot take an upload now");
		goto fail;
	}
	return u;
fail:
	api_fw_count_upload("rejected", 0);
	upload_free(u);
	return NULL;
}

static bool upload_chunk(void *state, const char *data, size_t len)
{
	struct upload *u = state;

	if (u->wst != BLOB_OK)
		return false;
	u->wst = blob_writer_write(u->w, data, len);
	return u->wst == BLOB_OK;
}

static void upload_abort(void *state)
{
	upload_free(state);
}

/* Verify the declared signature over the content digest against the non-revoked ECDSA keys
 * (or the named one). On success key_out gets the verifying key's id. Returns false with the
 * reply set. */
static bool verify_external(struct upload *u, const char *sha_hex, char key_out[SIGN_KEY_ID_SIZE],
			    struct reply *rep)
{
	unsigned char digest[DIGEST_SHA256_LEN];
	struct db *db;
	struct db_rows *rows = NULL;
	enum db_status st;
	bool ok = false;

	key_out[0] = '\0';
	if (!api_fw_hex_decode(sha_hex, digest, sizeof(digest))) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "internal digest error");
		return false;
	}
	db = api_db_get(rep);
	if (!db)
		return false;
	const char *params[] = { u->sig_key_id[0] ? u->sig_key_id : NULL };
	st = db_exec(db,
		     "SELECT id, public_key_pem, status FROM firmware_keys WHERE algorithm ="
		     " 'ecdsa-p256' AND ($1::text IS NULL OR id = $1) ORDER BY created_at DESC",
		     1, params, &rows);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return false;
	}
	for (int i = 0; i < rows->nrows && !ok; i++) {
		struct sign_key *key = NULL;
		const char *pem = db_rows_get(rows, i, 1);
		if (sign_key_from_pem(pem, strlen(pem), &key) != SIGN_OK)
			continue;
		if (sign_verify_digest_sha256(key, digest, u->sig, u->siglen)) {
			if (strcmp(db_rows_get(rows, i, 2), "revoked") == 0) {
				reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
					    "the signature was made by key %s, which is revoked",
					    db_rows_get(rows, i, 0));
				sign_key_free(key);
				db_rows_free(rows);
				return false;
			}
			snprintf(key_out, SIGN_KEY_ID_SIZE, "%s", db_rows_get(rows, i, 0));
			ok = true;
		}
		sign_key_free(key);
	}
	db_rows_free(rows);
	if (!ok)
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
			    "X-Signature-Sha256-Ecdsa does not verify with %s over the uploaded "
			    "content",
			    u->sig_key_id[0] ? "the named key" : "any trusted ECDSA P-256 key");
	return ok;
}

struct insert_ctx {
	const struct request *req;
	struct upload *u;
	const struct blob_info *info;
	const char *sig_b64;
	const char *sig_key;
	json_t *out;
	char state[16];
	bool is_missing, is_duplicate;
};

static enum db_status insert_tx(struct db *db, void *arg)
{
	struct insert_ctx *c = arg;
	struct db_rows *rows = NULL;
	char size[24];
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->is_missing = c->is_duplicate = false;
	c->state[0] = '\0';
	const char *p1[] = { c->u->release_id };
	st = db_exec(db, "SELECT state FROM firmware_releases WHERE id = $1::bigint FOR UPDATE", 1,
		     p1, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		db_rows_free(rows);
		c->is_missing = true;
		return DB_NONE;
	}
	snprintf(c->state, sizeof(c->state), "%s", db_rows_get(rows, 0, 0));
	db_rows_free(rows);
	if (strcmp(c->state, "draft") != 0)
		return DB_NONE;
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->info->size_bytes);
	const char *params[] = { c->u->release_id, c->u->name, c->u->type, size,
				 c->info->sha256,  c->sig_b64, c->sig_key, c->req->principal.name };
	st = db_query_json(db,
			   "INSERT INTO firmware_artifacts (release_id, name, type, size_bytes,"
			   " sha256, signature, signature_key_id, signature_source, created_by)"
			   " VALUES ($1::bigint, $2, $3, $4::bigint, $5, $6, $7,"
			   " CASE WHEN $6::text IS NULL THEN NULL ELSE 'external' END, $8)"
			   " ON CONFLICT (release_id, name) DO NOTHING"
			   " RETURNING bw_fw_artifact_json(firmware_artifacts)",
			   8, params, &c->out);
	if (st == DB_NONE) {
		c->is_duplicate = true;
		return DB_NONE;
	}
	if (st < 0)
		return st;
	st = db_exec(db,
		     "UPDATE firmware_releases SET version = version + 1, updated_at = now()"
		     " WHERE id = $1::bigint",
		     1, p1, NULL);
	if (st < 0)
		return st;
	json_t *det =
		json_pack("{s:s, s:s, s:s, s:I, s:b}", "release_id", c->u->release_id, "name",
			  c->u->name, "sha256", c->info->sha256, "size_bytes",
			  (json_int_t)c->info->size_bytes, "externally_signed", c->sig_b64 != NULL);
	st = api_audit(db, c->req, "artifact.upload", "artifact",
		       json_string_value(json_object_get(c->out, "id")), det);
	json_decref(det);
	return st;
}

/* After a failed insert: drop a blob this upload created, unless some artifact uses it. */
static void forget_new_blob(const struct blob_info *info)
{
	struct db *db = db_pool_get();
	const char *params[] = { info->sha256 };
	enum db_status st;

	if (!info->is_new || !db) {
		db_pool_put(db);
		return;
	}
	st = db_exec(db, "SELECT 1 FROM firmware_artifacts WHERE sha256 = $1 LIMIT 1", 1, params,
		     NULL);
	db_pool_put(db);
	if (st == DB_NONE)
		blob_remove(api_fw.store, info->sha256);
}

static void upload_end(void *state, const struct request *req, struct reply *rep)
{
	struct upload *u = state;
	struct blob_info info = { .is_new = false };
	struct insert_ctx c = { .req = req, .u = u, .info = &info };
	char key_id[SIGN_KEY_ID_SIZE] = "", *sig_b64 = NULL;
	const char *result = "rejected";
	struct db *db;
	enum db_status st;
	enum blob_status bst;

	if (u->wst != BLOB_OK) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "storing the upload failed (%s)",
			    blob_status_name(u->wst));
		result = "failed";
		goto out;
	}
	bst = blob_writer_finish(u->w, &info);
	if (bst != BLOB_OK) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "hashing the upload failed");
		result = "failed";
		goto out;
	}
	if (info.size_bytes == 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL, "the upload is empty");
		goto out;
	}
	if (u->expected[0] && strcmp(u->expected, info.sha256) != 0) {
		log_info("firmware", "upload_sha256_mismatch", LOG_S("release_id", u->release_id),
			 LOG_S("name", u->name), LOG_S("declared", u->expected),
			 LOG_S("actual", info.sha256), LOG_I("size_bytes", info.size_bytes),
			 LOG_END);
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
			    "the content's SHA-256 is %s but X-Content-SHA256 declared %s; nothing "
			    "was stored",
			    info.sha256, u->expected);
		result = "sha256_mismatch";
		goto out;
	}
	if (u->sig) {
		if (!verify_external(u, info.sha256, key_id, rep)) {
			result = "bad_signature";
			goto out;
		}
		sig_b64 = base64_encode(u->sig, u->siglen);
		if (!sig_b64) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			goto out;
		}
	}
	bst = blob_writer_commit(u->w, NULL, &info);
	u->w = NULL;
	if (bst != BLOB_OK) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "storing the upload failed (%s)",
			    blob_status_name(bst));
		result = "failed";
		goto out;
	}
	c.sig_b64 = sig_b64;
	c.sig_key = key_id[0] ? key_id : NULL;
	db = api_db_get(rep);
	if (!db) {
		forget_new_blob(&info);
		goto out;
	}
	st = db_tx_run(db, DB_READ_COMMITTED, insert_tx, &c);
	db_pool_put(db);
	if (st < 0 || c.is_missing || c.is_duplicate || strcmp(c.state, "draft") != 0)
		forget_new_blob(&info);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (c.is_missing)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", u->release_id);
	else if (strcmp(c.state, "draft") != 0)
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' is %s: artifacts can only be added to draft releases",
			    u->release_id, c.state);
	else if (c.is_duplicate)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/name",
			    "release '%s' already has an artifact named '%s'", u->release_id,
			    u->name);
	else {
		json_object_set_new(c.out, "deduplicated", json_boolean(!info.is_new));
		reply_json(rep, 201, c.out);
		c.out = NULL;
		result = "ok";
		log_info("firmware", "artifact_uploaded", LOG_S("release_id", u->release_id),
			 LOG_S("name", u->name), LOG_S("sha256", info.sha256),
			 LOG_I("size_bytes", info.size_bytes), LOG_B("deduplicated", !info.is_new),
			 LOG_END);
	}
out:
	api_fw_count_upload(result, strcmp(result, "ok") == 0 ? info.size_bytes : 0);
	json_decref(c.out);
	free(sig_b64);
	upload_free(u);
}

const struct route_stream api_fw_artifact_upload_stream = {
	.begin = upload_begin,
	.chunk = upload_chunk,
	.end = upload_end,
	.abort = upload_abort,
};

/* ---- lookup ---- */

/* Artifact row for downloads: id, release_id, name, sha256, size_bytes, release state. */
struct artifact_row {
	char id[FW_ID_TEXT_SIZE];
	char release_id[FW_ID_TEXT_SIZE];
	char name[129];
	char sha256[BLOB_SHA256_HEX_SIZE];
	unsigned long long size_bytes;
	char state[16];
};

#define ARTIFACT_ROW_SQL                                                          \
	"SELECT a.id, a.release_id, a.name, a.sha256, a.size_bytes, r.state FROM" \
	" firmware_artifacts a JOIN firmware_releases r ON r.id = a.release_id WHERE "

/* Find by (release, name) when name is not NULL, else by artifact id. Returns false with the
 * reply set (404 or DB error). */
static bool find_artifact(const char *release_or_id, const char *name, struct artifact_row *out,
			  struct reply *rep)
{
	struct db *db = api_db_get(rep);
	struct db_rows *rows = NULL;
	const char *params[] = { release_or_id, name };
	enum db_status st;

	if (!db)
		return false;
	st = name ? db_exec(db, ARTIFACT_ROW_SQL "a.release_id = $1::bigint AND a.name = $2", 2,
			    params, &rows)
		  : db_exec(db, ARTIFACT_ROW_SQL "a.id = $1::bigint", 1, params, &rows);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return false;
	}
	if (st == DB_NONE) {
		if (name)
			reply_error(rep, BW_ERR_NOT_FOUND, NULL,
				    "release '%s' has no artifact '%.128s'", release_or_id, name);
		else
			reply_error(rep, BW_ERR_NOT_FOUND, NULL, "artifact '%s' not found",
				    release_or_id);
		db_rows_free(rows);
		return false;
	}
	snprintf(out->id, sizeof(out->id), "%s", db_rows_get(rows, 0, 0));
	snprintf(out->release_id, sizeof(out->release_id), "%s", db_rows_get(rows, 0, 1));
	snprintf(out->name, sizeof(out->name), "%s", db_rows_get(rows, 0, 2));
	snprintf(out->sha256, sizeof(out->sha256), "%s", db_rows_get(rows, 0, 3));
	out->size_bytes = strtoull(db_rows_get(rows, 0, 4), NULL, 10);
	snprintf(out->state, sizeof(out->state), "%s", db_rows_get(rows, 0, 5));
	db_rows_free(rows);
	return true;
}

/* Release id + artifact name from the path; false with the reply set. */
static bool path_artifact(const struct request *req, struct reply *rep,
			  char release[FW_ID_TEXT_SIZE], const char **name)
{
	if (!api_fw_id_param(req, rep, "release", "release", release))
		return false;
	*name = request_param(req, "artifact");
	if (!*name || !api_fw_is_valid_artifact_name(*name)) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' has no artifact '%.128s'",
			    release, *name ? *name : "");
		return false;
	}
	return true;
}

void api_fw_artifact_get(const struct request *req, struct reply *rep)
{
	char release[FW_ID_TEXT_SIZE];
	const char *name;
	json_t *out = NULL;
	struct db *db;
	enum db_status st;

	if (!path_artifact(req, rep, release, &name))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { release, name };
	st = db_query_json(db,
			   "SELECT bw_fw_artifact_json(a) FROM firmware_artifacts a"
			   " WHERE a.release_id = $1::bigint AND a.name = $2",
			   2, params, &out);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (!out)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' has no artifact '%s'",
			    release, name);
	else
		reply_json(rep, 200, out);
}

/* ---- delete ---- */

struct delete_ctx {
	const struct request *req;
	const char *release;
	const char *name;
	char state[16];
	bool is_missing_release, is_missing;
};

static enum db_status delete_tx(struct db *db, void *arg)
{
	struct delete_ctx *c = arg;
	struct db_rows *rows = NULL;
	const char *params[] = { c->release, c->name };
	enum db_status st;

	c->is_missing_release = c->is_missing = false;
	c->state[0] = '\0';
	st = db_exec(db, "SELECT state FROM firmware_releases WHERE id = $1::bigint FOR UPDATE", 1,
		     params, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		db_rows_free(rows);
		c->is_missing_release = true;
		return DB_NONE;
	}
	snprintf(c->state, sizeof(c->state), "%s", db_rows_get(rows, 0, 0));
	db_rows_free(rows);
	if (strcmp(c->state, "draft") != 0)
		return DB_NONE;
	rows = NULL;
	st = db_exec(db,
		     "DELETE FROM firmware_artifacts WHERE release_id = $1::bigint AND name = $2"
		     " RETURNING id",
		     2, params, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		db_rows_free(rows);
		c->is_missing = true;
		return DB_NONE;
	}
	char id[FW_ID_TEXT_SIZE];
	snprintf(id, sizeof(id), "%s", db_rows_get(rows, 0, 0));
	db_rows_free(rows);
	st = db_exec(db,
		     "UPDATE firmware_releases SET version = version + 1, updated_at = now()"
		     " WHERE id = $1::bigint",
		     1, params, NULL);
	if (st < 0)
		return st;
	json_t *det = json_pack("{s:s, s:s}", "release_id", c->release, "name", c->name);
	st = api_audit(db, c->req, "artifact.delete", "artifact", id, det);
	json_decref(det);
	return st;
}

void api_fw_artifact_delete(const struct request *req, struct reply *rep)
{
	struct delete_ctx c = { .req = req };
	char release[FW_ID_TEXT_SIZE];

	if (!path_artifact(req, rep, release, &c.name))
		return;
	c.release = release;
	if (!api_tx(rep, DB_READ_COMMITTED, delete_tx, &c))
		return;
	if (c.is_missing_release)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", release);
	else if (strcmp(c.state, "draft") != 0)
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' is %s: its artifacts cannot change", release, c.state);
	else if (c.is_missing)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' has no artifact '%s'",
			    release, c.name);
	else
		reply_raw(rep, 204, NULL, "", 0);
}

/* ---- download ---- */

/* Add the served bytes to the artifact's and its release's counters (best effort: a failure
 * is logged, the download still proceeds). A download counts once when it starts at byte 0. */
static void count_download(const struct artifact_row *a, uint64_t start, uint64_t length)
{
	struct db *db = db_pool_get();
	char bytes[24];
	const char *params[] = { a->id, bytes, start == 0 ? "1" : "0" };

	if (!db) {
		log_warn("firmware", "download_count_skipped", LOG_S("artifact_id", a->id),
			 LOG_END);
		return;
	}
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)length);
	if (db_exec(db,
		    "WITH a AS (UPDATE firmware_artifacts SET download_count = download_count +"
		    " $3::bigint, download_bytes = download_bytes + $2::bigint WHERE id = $1::bigint"
		    " RETURNING release_id) UPDATE firmware_releases r SET download_count ="
		    " r.download_count + $3::bigint, download_bytes = r.download_bytes + $2::bigint"
		    " FROM a WHERE r.id = a.release_id",
		    3, params, NULL) < 0)
		log_warn("firmware", "download_count_failed", LOG_S("artifact_id", a->id), LOG_END);
	db_pool_put(db);
}

/* Does an If-None-Match / If-Range list name etag (or "*")? */
static bool etag_listed(const char *header, const char *etag)
{
	const char *p = header;
	size_t n = strlen(etag);

	if (strstr(header, "*"))
		return true;
	while ((p = strstr(p, etag))) {
		if ((p == header || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

static void serve_artifact(const struct request *req, struct reply *rep,
			   const struct artifact_row *a, const char *kind)
{
	const char *range = request_header(req, "Range");
	const char *inm = request_header(req, "If-None-Match");
	const char *if_range = request_header(req, "If-Range");
	char etag[BLOB_SHA256_HEX_SIZE + 2], hdr[200];
	uint64_t size = 0, start = 0, length = 0;
	bool is_head = strcmp(req->method, "HEAD") == 0;
	enum range_result rr;
	enum blob_status bst;
	int fd = -1;

	if (strcmp(a->state, "revoked") == 0) {
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' is revoked: its artifacts are no longer served",
			    a->release_id);
		goto out;
	}
	bst = blob_open(api_fw.store, a->sha256, &fd, &size);
	if (bst != BLOB_OK || size != a->size_bytes) {
		log_error("firmware", "blob_unavailable", LOG_S("artifact_id", a->id),
			  LOG_S("sha256", a->sha256), LOG_S("status", blob_status_name(bst)),
			  LOG_I("size_bytes", size), LOG_END);
		if (fd >= 0)
			close(fd);
		reply_error(rep, BW_ERR_INTERNAL, NULL, "the artifact's content is unavailable");
		goto out;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", a->sha256);
	if (inm && etag_listed(inm, etag)) {
		close(fd);
		reply_raw(rep, 304, NULL, "", 0);
		reply_header(rep, "ETag", etag);
		goto out;
	}
	if (if_range && strcmp(if_range, etag) != 0)
		range = NULL; /* the client's partial copy is of another representation */
	rr = range_parse(range, size, &start, &length);
	if (rr == RANGE_UNSATISFIABLE) {
		close(fd);
		api_fw_reply_status_error(rep, 416, "range_not_satisfiable",
					  "the range '%.64s' is outside the artifact's %llu bytes",
					  range, (unsigned long long)size);
		snprintf(hdr, sizeof(hdr), "bytes */%llu", (unsigned long long)size);
		reply_header(rep, "Content-Range", hdr);
		goto out;
	}
	reply_file(rep, rr == RANGE_PARTIAL ? 206 : 200, "application/octet-stream", fd, start,
		   length);
	if (rr == RANGE_PARTIAL) {
		snprintf(hdr, sizeof(hdr), "bytes %llu-%llu/%llu", (unsigned long long)start,
			 (unsigned long long)(start + length - 1), (unsigned long long)size);
		reply_header(rep, "Content-Range", hdr);
	}
	reply_header(rep, "ETag", etag);
	reply_header(rep, "Accept-Ranges", "bytes");
	reply_header(rep, "Cache-Control", "private, no-cache");
	snprintf(hdr, sizeof(hdr), "attachment; filename=\"%s\"", a->name);
	reply_header(rep, "Content-Disposition", hdr);
	reply_header(rep, "X-Checksum-Sha256", a->sha256);
	if (!is_head)
		count_download(a, start, length);
out:
	api_fw_count_download(kind, rep->status, is_head || rep->status >= 300 ? 0 : length);
}

void api_fw_artifact_content(const struct request *req, struct reply *rep)
{
	char release[FW_ID_TEXT_SIZE];
	const char *name;
	struct artifact_row a;

	if (!path_artifact(req, rep, release, &name) || !find_artifact(release, name, &a, rep))
		return;
	serve_artifact(req, rep, &a, "bearer");
}

/* ---- presigned URLs ---- */

static bool is_host_header(const char *h)
{
	size_t n = 0;

	for (; h && h[n]; n++) {
		char c = h[n];
		if (n >= 255 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || strchr(".-:[]", c)))
			return false;
	}
	return n > 0;
}

void api_fw_artifact_presign(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "expires_in_s", "thing", NULL };
	char release[FW_ID_TEXT_SIZE], sig[PRESIGN_SIG_SIZE], path[512], url[1024], at[40];
	unsigned char key[DIGEST_SHA256_LEN];
	const char *name, *thing = NULL, *host;
	json_t *body = req->json, *v;
	long long ttl = api_fw.presign_ttl_s;
	struct artifact_row a;
	struct tm tm;
	time_t exp;

	if (!path_artifact(req, rep, release, &name))
		return;
	if (body) {
		if (!json_is_object(body)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "", "the body must be a JSON object");
			return;
		}
		if (!api_check_fields(body, fields, "", rep) ||
		    !api_opt_string(body, "thing", "", &thing, NULL, rep))
			return;
		v = json_object_get(body, "expires_in_s");
		if (v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > PRESIGN_MAX_TTL_S) {
				reply_error(rep, BW_ERR_BAD_REQUEST, "/expires_in_s",
					    "expires_in_s is an integer from 1 to %d",
					    PRESIGN_MAX_TTL_S);
				return;
			}
			ttl = (long long)json_integer_value(v);
		}
		if (thing && !strutil_is_valid_thing_name(thing)) {
			reply_error(rep, BW_ERR_INVALID_NAME, "/thing",
				    "thing names are 1..128 characters of a-z A-Z 0-9 : _ -");
			return;
		}
	}
	if (!api_fw_require_master_key(rep, "presigning URLs"))
		return;
	if (!find_artifact(release, name, &a, rep))
		return;
	if (strcmp(a.state, "revoked") == 0) {
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' is revoked: its artifacts are no longer served", release);
		return;
	}
	exp = time(NULL) + (time_t)ttl;
	bool is_signed = keys_presign_key(key) && presign_sign(key, a.id, exp, thing, sig);
	memset(key, 0, sizeof(key));
	if (!is_signed) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "cannot sign the URL");
		return;
	}
	snprintf(path, sizeof(path), "/api/v1/firmware/download/%s?expires=%lld%s%s&signature=%s",
		 a.id, (long long)exp, thing ? "&thing=" : "", thing ? thing : "", sig);
	host = request_header(req, "Host");
	if (api_fw.public_url[0]) {
		size_t n = strlen(api_fw.public_url);
		while (n > 0 && api_fw.public_url[n - 1] == '/')
			n--;
		snprintf(url, sizeof(url), "%.*s%s", (int)n, api_fw.public_url, path);
	} else if (is_host_header(host)) {
		snprintf(url, sizeof(url), "http://%s%s", host, path);
	} else {
		snprintf(url, sizeof(url), "%s", path);
	}
	gmtime_r(&exp, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	reply_json(rep, 200,
		   json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s?}", "url", url, "path", path,
			     "expires_at", at, "expires", (json_int_t)exp, "artifact_id", a.id,
			     "sha256", a.sha256, "size_bytes", (json_int_t)a.size_bytes, "thing",
			     thing));
	log_info("firmware", "artifact_presigned", LOG_S("artifact_id", a.id),
		 LOG_I("expires", (int64_t)exp), LOG_S("thing", thing), LOG_END);
}

void api_fw_presigned_download(const struct request *req, struct reply *rep)
{
	char id[FW_ID_TEXT_SIZE];
	const char *thing = request_query(req, "thing");
	unsigned char key[DIGEST_SHA256_LEN];
	struct artifact_row a;
	enum presign_result pr = PRESIGN_BAD_SIGNATURE;

	if (!api_fw_id_param(req, rep, "artifact", "artifact", id))
		return;
	if (keys_presign_key(key))
		pr = presign_verify(key, id, request_query(req, "expires"), thing,
				    request_query(req, "signature"), (int64_t)time(NULL));
	memset(key, 0, sizeof(key));
	if (pr != PRESIGN_OK) {
		api_fw_count_presign_rejected(presign_result_name(pr));
		reply_error(
			rep, BW_ERR_FORBIDDEN, NULL, "%s",
			pr == PRESIGN_EXPIRED ? "the presigned URL expired"
			: pr == PRESIGN_MALFORMED
				? "a presigned URL needs expires and signature (and an optional "
				  "valid thing)"
				: "the presigned URL's signature is invalid (altered URL or "
				  "another server key)");
		return;
	}
	if (!find_artifact(id, NULL, &a, rep))
		return;
	if (thing)
		log_info("firmware", "presigned_download", LOG_S("artifact_id", id),
			 LOG_S("thing", thing), LOG_END);
	serve_artifact(req, rep, &a, "presigned");
}
