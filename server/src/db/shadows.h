/*
 * SQL of the Device Shadow service (migrations/0003_shadow.sql): set-based loads and writes for
 * a whole batch of shadow requests (group commit), and the history lookup of a revert. Rows and
 * history entries travel as one JSON array parameter each, so a batch costs two round trips
 * (load, write) whatever its size; the statements are PL/pgSQL functions so their plans are
 * cached per connection.
 */
#ifndef BW_DB_SHADOWS_H
#define BW_DB_SHADOWS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "db/db.h"

/*
 * Load the rows for keys_json, a JSON array of [thing, shadow] pairs (shadow "" = classic),
 * with the function bw_shadow_load (plan cached per connection). No locks: writes are
 * conditional on the loaded versions (db_shadows_write).
 * [out] out: one row per key, in key order: i (1-based key index), version (NULL: no row),
 * document (JSON text; NULL for a tombstone or no row), registered ("t"/"f": the thing is in
 * the registry). Returns a db_status.
 */
enum db_status db_shadows_load(struct db *db, const char *keys_json, struct db_rows **out);

/*
 * Write a batch atomically with bw_shadow_write. rows_json: array of {"t": thing, "n": shadow,
 * "v": new version, "p": version loaded (0 = there was no row), "d": stored document or null
 * for a tombstone}; history_json: array of {"t","n","v","k": update|delete|revert, "s": source,
 * "a": actor, "ti": token id|null, "ri": request id|null, "ct": clientToken|null,
 * "pd": previous desired|null, "nd": desired|null, "rv": reverted-to version|null}.
 * Each row is written only if its stored version still equals "p" (or, for p = 0, no row
 * appeared meanwhile); otherwise nothing is written and DB_RETRY is returned (SQLSTATE 40001):
 * the caller reloads and re-applies. Returns DB_ONE on success, DB_HARD on other errors.
 */
enum db_status db_shadows_write(struct db *db, const char *rows_json, const char *history_json);

/*
 * Desired state of a shadow as of version (for revert): the desired of the newest history row
 * with version < `version`, or = `version` and not a delete. [out] desired: new reference, NULL
 * when the desired section was absent then. Returns DB_ONE (found, possibly absent), DB_NONE
 * (no history before that version: desired was absent), or an error.
 */
enum db_status db_shadows_desired_at(struct db *db, const char *thing, const char *shadow,
				     int64_t version, json_t **desired);

#endif
