/* Bearer API tokens: "bw_" + 43 base64url characters (256 random bits). Only the SHA-256 of a
 * token is stored. */
#ifndef BW_AUTH_TOKENS_H
#define BW_AUTH_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/roles.h"
#include "core/errors.h"
#include "db/db.h"
#include "http/request.h"

#define TOKEN_TEXT_LEN 47 /* "bw_" + 43 + NUL */
#define TOKEN_PREFIX_LEN 8

/* Generate a new random token into out (TOKEN_TEXT_LEN bytes). False if the RNG failed. */
bool tokens_generate(char out[TOKEN_TEXT_LEN]);
/* Hex SHA-256 of a token with the "\x" bytea prefix, for SQL (out: 67 bytes). */
void tokens_hash_hex(const char *token, char out[67]);
/* Insert a token row (inside the caller's transaction when db is in one). On success fills
 * token (the secret, shown once) and *id. Returns DB_ONE, or a negative status. */
enum db_status tokens_create(struct db *db, const char *name, enum role role,
			     const char *created_by, char token[TOKEN_TEXT_LEN], int64_t *id);
/* Count of tokens that are not revoked. Negative status on error. */
enum db_status tokens_count_active(struct db *db, int64_t *count);
/* http_auth_fn: look the token up in the pooled DB. */
enum bw_err tokens_authenticate(const char *token, struct principal *out);
/* Token names: 1..128 chars of [A-Za-z0-9 ._:-]. */
bool tokens_is_valid_name(const char *name);

#endif
