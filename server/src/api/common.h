/* Helpers shared by native /api/v1 handlers: DB access with uniform errors, strict field
 * checking, pagination, audit. */
#ifndef BW_API_COMMON_H
#define BW_API_COMMON_H

#include <stdbool.h>

#include <jansson.h>

#include "db/db.h"
#include "http/request.h"

#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX 1000

/* Borrow a pooled connection; on failure sets a 503 reply and returns NULL. */
struct db *api_db_get(struct reply *rep);
/* Set the reply for a failed DB status (DB_RETRY/DB_HARD -> 503/500). */
void api_reply_db_error(struct reply *rep, enum db_status st);
/* Borrow a connection, run fn in a transaction (db_tx_run), return the connection. Returns
 * true when the transaction committed or fn chose not to write (status >= 0); otherwise sets
 * the 503/500 reply and returns false. */
bool api_tx(struct reply *rep, enum db_isolation iso, db_tx_fn fn, void *ctx);
/* One-statement read returning one JSON value (db_query_json) on a borrowed connection.
 * Returns true with *out (NULL when no row); false with the reply set on DB failure. */
bool api_read_json(struct reply *rep, const char *sql, int nparams, const char *const *params,
		   json_t **out);
/* The request body must be a JSON object; else sets 400 and returns NULL. Borrowed. */
json_t *api_body_object(const struct request *req, struct reply *rep);
/* Reject fields of obj not listed in allowed (NULL-terminated); prefix is the JSON pointer of
 * obj ("" for the root). Returns false and sets 400 naming the first unknown field. */
bool api_check_fields(json_t *obj, const char *const *allowed, const char *prefix,
		      struct reply *rep);
/* Optional string field: absent -> *out NULL, true; JSON null -> *out NULL, *is_null true;
 * a string -> *out borrowed; anything else -> 400 and false. is_null may be NULL. */
bool api_opt_string(json_t *obj, const char *key, const char *prefix, const char **out,
		    bool *is_null, struct reply *rep);

struct api_page {
	int limit;
	json_t *after; /* decoded cursor keys (owned) or NULL */
};

/* Parse ?limit and ?cursor. Returns false with a 400 reply on bad values. */
bool api_page_parse(const struct request *req, struct reply *rep, size_t ncursor_keys,
		    struct api_page *out);
void api_page_cleanup(struct api_page *page);
/* For listings ordered by a bigint id descending: the cursor's id (or INT64_MAX on the first
 * page) as decimal text in out (32 bytes). False with a 400 reply if the cursor is not an id. */
bool api_page_before_id(const struct api_page *page, struct reply *rep, char out[32]);
/* Build {"items": items, "next_cursor"?} from an array that may hold limit+1 rows; the extra
 * row is removed and next_cursor computed from the last kept row with key_fn. items stolen. */
typedef json_t *(*api_cursor_key_fn)(json_t *item);
json_t *api_page_reply(json_t *items, int limit, api_cursor_key_fn key_fn);

/* Write one audit row (inside the caller's transaction). details may be NULL (borrowed). */
enum db_status api_audit(struct db *db, const struct request *req, const char *action,
			 const char *resource_type, const char *resource_id, json_t *details);

/* Small dynamic parameter list for building SQL. */
struct api_params {
	const char *values[64];
	char *owned[64];
	int n;
	int nowned;
};
/* Append a borrowed value; returns its $N index or -1 if full. */
int api_params_add(struct api_params *p, const char *value);
/* Append a value whose ownership moves to the list. */
int api_params_take(struct api_params *p, char *value);
void api_params_cleanup(struct api_params *p);

#endif
