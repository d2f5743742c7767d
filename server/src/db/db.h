/* Database access: a pool of libpq connections with reconnect, retrying transactions and
 * copied-out result sets. Nothing from libpq leaves db/. */
#ifndef BW_DB_DB_H
#define BW_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum db_status { DB_HARD = -2, DB_RETRY = -1, DB_NONE = 0, DB_ONE = 1 };

enum db_conflict { DB_CONFLICT_NONE = 0, DB_CONFLICT_UNIQUE, DB_CONFLICT_FK, DB_CONFLICT_CHECK };

struct db;

/* A copied result set: cells are NUL-terminated strings (NULL for SQL NULL). */
struct db_rows {
	int nrows;
	int ncols;
	char **cells; /* nrows * ncols */
	char **colnames;
};

/* Pool lifecycle. size connections are opened lazily. Returns false on bad arguments. */
bool db_pool_init(const char *dsn, int size, int64_t acquire_timeout_ms, int tx_retries);
void db_pool_shutdown(void);
/* Borrow a connection (waits up to the acquire timeout); NULL when none could be had or
 * connecting failed. Return it with db_pool_put. */
struct db *db_pool_get(void);
void db_pool_put(struct db *db);
/* Pool stats for /metrics. */
void db_pool_stats(int *size, int *in_use, int *waiting, uint64_t *reconnects, uint64_t *errors);
/* True if a trivial query succeeds on some pooled connection. */
bool db_ping(void);

/* A dedicated connection outside the pool (scheduler, migrations, LISTEN). */
struct db *db_connect(const char *dsn);
void db_close(struct db *db);

/* Run one statement with text parameters (params may contain NULLs for SQL NULL).
 * out may be NULL. Returns DB_ONE.. (rows returned or affected, capped at INT32), DB_NONE,
 * DB_RETRY (40001/40P01), DB_HARD. *out is set on success when out != NULL. */
enum db_status db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
		       struct db_rows **out);
/* Run a multi-statement SQL script (no parameters, simple query protocol). */
enum db_status db_exec_script(struct db *db, const char *sql);
/* db_exec for SQL whose text is a string constant (its address names it): prepared once per
 * connection and executed without re-planning. Never pass a built (heap/stack) string. */
enum db_status db_exec_static(struct db *db, const char *sql, int nparams,
			      const char *const *params, struct db_rows **out);
/* Like db_exec but for a query whose single row/column is JSON text: returns the parsed json
 * (new reference) in *out, or NULL if no row / SQL NULL. */
enum db_status db_query_json(struct db *db, const char *sql, int nparams, const char *const *params,
			     json_t **out);
/* SQLSTATE of the last failed statement on db ("" if none) and the kind of constraint hit. */
const char *db_last_sqlstate(const struct db *db);
enum db_conflict db_last_conflict(const struct db *db);
const char *db_last_constraint(const struct db *db);
const char *db_last_error(const struct db *db);

void db_rows_free(struct db_rows *rows);
const char *db_rows_get(const struct db_rows *rows, int row, int col);

enum db_isolation { DB_READ_COMMITTED, DB_REPEATABLE_READ, DB_SERIALIZABLE };

/* Transaction body: must be re-runnable (reset outputs first, DB only, no publishing). Returns
 * a db_status; DB_RETRY restarts the transaction, DB_HARD rolls back. Any other (>= 0) commits. */
typedef enum db_status (*db_tx_fn)(struct db *db, void *ctx);

/* Run fn in a transaction, retrying on serialization failure/deadlock up to the configured
 * retries with jittered backoff. Returns fn's final status, DB_RETRY when retries ran out. */
enum db_status db_tx_run(struct db *db, enum db_isolation iso, db_tx_fn fn, void *ctx);

/* LISTEN on a channel (dedicated connection). */
enum db_status db_listen(struct db *db, const char *channel);
/* Wait up to timeout_ms for a notification on a LISTENing connection. Returns 1 if at least one
 * arrived (all pending ones are consumed), 0 on timeout, -1 if the connection failed. */
int db_wait_notify(struct db *db, int timeout_ms);
/* True if the connection is usable. */
bool db_is_ok(const struct db *db);

/* Advisory lock helpers on a dedicated connection. */
bool db_try_advisory_lock(struct db *db, int64_t key);

#endif
