#include "auth/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "crypto/digest.h"

bool tokens_generate(char out[TOKEN_TEXT_LEN])
{
	unsigned char raw[32];
	char *b64;

	if (!digest_random(raw, sizeof(raw)))
		return false;
	b64 = strutil_b64url_encode(raw, sizeof(raw));
	if (!b64 || strlen(b64) != 43) {
		free(b64);
		return false;
	}
	snprintf(out, TOKEN_TEXT_LEN, "bw_%s", b64);
	free(b64);
	return true;
}

void tokens_hash_hex(const char *token, char out[67])
{
	char hex[DIGEST_SHA256_HEX_LEN];
	digest_sha256_hex(token, strlen(token), hex);
	snprintf(out, 67, "\\x%s", hex);
}

bool tokens_is_valid_name(const char *name)
{
	size_t n = 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (n >= 128)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ' ' || c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}

enum db_status tokens_create(struct db *db, const char *name, enum role role,
			     const char *created_by, char token[TOKEN_TEXT_LEN], int64_t *id)
{
	char hash[67];
	char prefix[TOKEN_PREFIX_LEN + 1];
	struct db_rows *rows = NULL;
	enum db_status st;

	if (!tokens_generate(token))
		return DB_HARD;
	tokens_hash_hex(token, hash);
	snprintf(prefix, sizeof(prefix), "%s", token);
	const char *params[] = { name, role_name(role), hash, prefix, created_by };
	st = db_exec(db,
		     "INSERT INTO api_tokens (name, role, token_hash, prefix, created_by)"
		     " VALUES ($1, $2, $3::bytea, $4, $5) RETURNING id",
		     5, params, &rows);
	if (st == DB_ONE)
		*id = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	db_rows_free(rows);
	return st;
}

enum db_status tokens_count_active(struct db *db, int64_t *count)
{
	struct db_rows *rows = NULL;
	enum db_status st = db_exec(db, "SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL",
				    0, NULL, &rows);
	if (st == DB_ONE)
		*count = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	db_rows_free(rows);
	return st;
}

enum bw_err tokens_authenticate(const char *token, struct principal *out)
{
	char hash[67];
	struct db_rows *rows = NULL;
	struct db *db;
	enum db_status st;
	enum bw_err err = BW_ERR_UNAUTHORIZED;

	memset(out, 0, sizeof(*out));
	if (strlen(token) != TOKEN_TEXT_LEN - 1 || strncmp(token, "bw_", 3) != 0)
		return BW_ERR_UNAUTHORIZED;
	db = db_pool_get();
	if (!db)
		return BW_ERR_UNAVAILABLE;
	tokens_hash_hex(token, hash);
	const char *params[] = { hash };
	st = db_exec(
		db,
		"WITH t AS (SELECT id, name, role, last_used_at FROM api_tokens"
		"  WHERE token_hash = $1::bytea AND revoked_at IS NULL),"
		" u AS (UPDATE api_tokens a SET last_used_at = now() FROM t WHERE a.id = t.id"
		"  AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'))"
		" SELECT id, name, role FROM t",
		1, params, &rows);
	if (st == DB_ONE) {
		out->token_id = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
		strutil_lcpy(out->name, db_rows_get(rows, 0, 1), sizeof(out->name));
		if (role_parse(db_rows_get(rows, 0, 2), &out->role))
			err = BW_OK;
	} else if (st < 0) {
		err = BW_ERR_UNAVAILABLE;
	}
	db_rows_free(rows);
	db_pool_put(db);
	return err;
}
