#include "db/db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/log.h"

#define DB_STMT_CACHE 64

struct db {
	PGconn *conn;
	/* statements prepared on this connection, by the address of their (static) SQL text */
	const char *prepared[DB_STMT_CACHE];
	int nprepared;
	bool is_pooled;
	bool in_use;
	char sqlstate[6];
	char constraint[64];
	char errmsg[256];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct db *conns;
	int size;
	int in_use;
	int waiting;
	char *dsn;
	int64_t acquire_timeout_ms;
	int tx_retries;
	uint64_t reconnects;
	uint64_t errors;
	bool is_init;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void notice_ignore(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *open_conn(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);
	if (!c)
		return NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("db", "db_connect_failed", LOG_S("error", PQerrorMessage(c)), LOG_END);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_ignore, NULL);
	return c;
}

bool db_pool_init(const char *dsn, int size, int64_t acquire_timeout_ms, int tx_retries)
{
	if (!dsn || size < 1)
		return false;
	pool.conns = calloc((size_t)size, sizeof(struct db));
	pool.dsn = strdup(dsn);
	if (!pool.conns || !pool.dsn) {
		free(pool.conns);
		free(pool.dsn);
		return false;
	}
	for (int i = 0; i < size; i++)
		pool.conns[i].is_pooled = true;
	pool.size = size;
	pool.acquire_timeout_ms = acquire_timeout_ms;
	pool.tx_retries = tx_retries;
	pool.is_init = true;
	return true;
}

void db_pool_shutdown(void)
{
	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i < pool.size; i++) {
		if (pool.conns[i].conn)
			PQfinish(pool.conns[i].conn);
	}
	free(pool.conns);
	free(pool.dsn);
	pool.conns = NULL;
	pool.dsn = NULL;
	pool.size = 0;
	pool.is_init = false;
	pthread_mutex_unlock(&pool.lock);
}

struct db *db_pool_get(void)
{
	struct timespec deadline;
	struct db *db = NULL;

	if (!pool.is_init)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += pool.acquire_timeout_ms / 1000;
	deadline.tv_nsec += (pool.acquire_timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		for (int i = 0; i < pool.size; i++) {
			if (!pool.conns[i].in_use) {
				db = &pool.conns[i];
				/* prefer a connection that is already open */
				if (db->conn)
					break;
			}
		}
		if (db)
			break;
		pool.waiting++;
		int rc = pthread_cond_timedwait(&pool.cond, &pool.lock, &deadline);
		pool.waiting--;
		if (rc == ETIMEDOUT) {
			pthread_mutex_unlock(&pool.lock);
			log_warn("db", "db_pool_timeout", LOG_END);
			return NULL;
		}
	}
	db->in_use = true;
	pool.in_use++;
	pthread_mutex_unlock(&pool.lock);

	/* connect or reconnect outside the lock */
	if (db->conn && PQstatus(db->conn) != CONNECTION_OK) {
		PQreset(db->conn);
		db->nprepared = 0; /* a new session has no prepared statements */
		__atomic_add_fetch(&pool.reconnects, 1, __ATOMIC_RELAXED);
		if (PQstatus(db->conn) != CONNECTION_OK) {
			PQfinish(db->conn);
			db->conn = NULL;
		}
	}
	if (!db->conn || db->nprepared < 0)
		db->nprepared = 0;
	if (!db->conn) {
		db->nprepared = 0;
		db->conn = open_conn(pool.dsn);
		if (!db->conn) {
			__atomic_add_fetch(&pool.errors, 1, __ATOMIC_RELAXED);
			db_pool_put(db);
			return NULL;
		}
	}
	db->sqlstate[0] = '\0';
	return db;
}

void db_pool_put(struct db *db)
{
	if (!db)
		return;
	if (!db->is_pooled) {
		db_close(db);
		return;
	}
	/* never hand out a connection stuck in a transaction */
	if (db->conn && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(db->conn, "ROLLBACK");
		PQclear(r);
		if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
			PQfinish(db->conn);
			db->conn = NULL;
		}
	}
	pthread_mutex_lock(&pool.lock);
	db->in_use = false;
	pool.in_use--;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
}

void db_pool_stats(int *size, int *in_use, int *waiting, uint64_t *reconnects, uint64_t *errors)
{
	pthread_mutex_lock(&pool.lock);
	*size = pool.size;
	*in_use = pool.in_use;
	*waiting = pool.waiting;
	pthread_mutex_unlock(&pool.lock);
	*reconnects = __atomic_load_n(&pool.reconnects, __ATOMIC_RELAXED);
	*errors = __atomic_load_n(&pool.errors, __ATOMIC_RELAXED);
}

bool db_ping(void)
{
	struct db *db = db_pool_get();
	bool ok = false;
	if (db) {
		ok = db_exec(db, "SELECT 1", 0, NULL, NULL) == DB_ONE;
		db_pool_put(db);
	}
	return ok;
}

struct db *db_connect(const char *dsn)
{
	struct db *db = calloc(1, sizeof(*db));
	if (!db)
		return NULL;
	db->conn = open_conn(dsn);
	if (!db->conn) {
		free(db);
		return NULL;
	}
	return db;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db);
}

static void record_error(struct db *db, PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", st ? st : "");
	snprintf(db->constraint, sizeof(db->constraint), "%s", cons ? cons : "");
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "");
	/* strip trailing newline for logs */
	size_t n = strlen(db->errmsg);
	while (n && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
		db->errmsg[--n] = '\0';
}

static bool is_retryable(const char *sqlstate)
{
	return strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0;
}

void db_rows_free(struct db_rows *rows)
{
	if (!rows)
		return;
	if (rows->cells)
		for (int i = 0; i < rows->nrows * rows->ncols; i++)
			free(rows->cells[i]);
	if (rows->colnames)
		for (int i = 0; i < rows->ncols; i++)
			free(rows->colnames[i]);
	free(rows->cells);
	free(rows->colnames);
	free(rows);
}

const char *db_rows_get(const struct db_rows *rows, int row, int col)
{
	if (!rows || row < 0 || col < 0 || row >= rows->nrows || col >= rows->ncols)
		return NULL;
	return rows->cells[row * rows->ncols + col];
}

static struct db_rows *copy_rows(PGresult *res)
{
	struct db_rows *rows = calloc(1, sizeof(*rows));
	if (!rows)
		return NULL;
	rows->nrows = PQntuples(res);
	rows->ncols = PQnfields(res);
	size_t ncells = (size_t)rows->nrows * (size_t)rows->ncols;
	rows->cells = calloc(ncells ? ncells : 1, sizeof(char *));
	rows->colnames = calloc(rows->ncols ? (size_t)rows->ncols : 1, sizeof(char *));
	if (!rows->cells || !rows->colnames)
		goto fail;
	for (int c = 0; c < rows->ncols; c++) {
		rows->colnames[c] = strdup(PQfname(res, c));
		if (!rows->colnames[c])
			goto fail;
	}
	for (int r = 0; r < rows->nrows; r++) {
		for (int c = 0; c < rows->ncols; c++) {
			if (PQgetisnull(res, r, c))
				continue;
			int len = PQgetlength(res, r, c);
			char *v = malloc((size_t)len + 1);
			if (!v)
				goto fail;
			memcpy(v, PQgetvalue(res, r, c), (size_t)len);
			v[len] = '\0';
			rows->cells[r * rows->ncols + c] = v;
		}
	}
	return rows;
fail:
	db_rows_free(rows);
	return NULL;
}

/* Turn a result into a status (and copied rows); clears res. */
static enum db_status finish(struct db *db, PGresult *res, struct db_rows **out)
{
	enum db_status st = DB_HARD;

	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK: {
		int n = PQntuples(res);
		if (out) {
			*out = copy_rows(res);
			if (!*out) {
				st = DB_HARD;
				break;
			}
		}
		st = n > 0 ? (n > INT32_MAX ? INT32_MAX : n) : DB_NONE;
		break;
	}
	case PGRES_COMMAND_OK: {
		const char *t = PQcmdTuples(res);
		long n = (t && *t) ? strtol(t, NULL, 10) : 0;
		st = n > 0 ? (enum db_status)(n > INT32_MAX ? INT32_MAX : n) : DB_NONE;
		if (out) {
			*out = copy_rows(res);
			if (!*out)
				st = DB_HARD;
		}
		break;
	}
	default:
		record_error(db, res);
		st = is_retryable(db->sqlstate) ? DB_RETRY : DB_HARD;
		if (st == DB_HARD && db->sqlstate[0] != '2' && db->sqlstate[0] != '4')
			log_error("db", "db_statement_failed", LOG_S("sqlstate", db->sqlstate),
				  LOG_S("error", db->errmsg), LOG_END);
		else
			log_debug("db", "db_statement_failed", LOG_S("sqlstate", db->sqlstate),
				  LOG_S("error", db->errmsg), LOG_END);
		if (PQstatus(db->conn) != CONNECTION_OK)
			__atomic_add_fetch(&pool.errors, 1, __ATOMIC_RELAXED);
	}
	PQclear(res);
	return st;
}

enum db_status db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
		       struct db_rows **out)
{
	if (out)
		*out = NULL;
	if (!db || !db->conn)
		return DB_HARD;
	return finish(db, PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0), out);
}

enum db_status db_exec_static(struct db *db, const char *sql, int nparams,
			      const char *const *params, struct db_rows **out)
{
	char name[32];
	int i;

	if (out)
		*out = NULL;
	if (!db || !db->conn)
		return DB_HARD;
	snprintf(name, sizeof(name), "bw_%lx", (unsigned long)(uintptr_t)sql);
	for (i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == sql)
			break;
	if (i == db->nprepared) {
		if (db->nprepared >= DB_STMT_CACHE) /* full: plan per call like db_exec */
			return db_exec(db, sql, nparams, params, out);
		enum db_status st = finish(db, PQprepare(db->conn, name, sql, nparams, NULL), NULL);
		if (st < 0)
			return st;
		db->prepared[db->nprepared++] = sql;
	}
	return finish(db, PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0), out);
}

enum db_status db_query_json(struct db *db, const char *sql, int nparams, const char *const *params,
			     json_t **out)
{
	struct db_rows *rows = NULL;
	enum db_status st;
	const char *v;

	*out = NULL;
	st = db_exec(db, sql, nparams, params, &rows);
	if (st <= 0)
		goto out;
	v = db_rows_get(rows, 0, 0);
	if (!v) {
		st = DB_NONE;
		goto out;
	}
	*out = json_loads(v, JSON_DECODE_ANY, NULL);
	if (!*out) {
		log_error("db", "db_json_decode_failed", LOG_END);
		st = DB_HARD;
	}
out:
	db_rows_free(rows);
	return st;
}

const char *db_last_sqlstate(const struct db *db)
{
	return db ? db->sqlstate : "";
}

enum db_conflict db_last_conflict(const struct db *db)
{
	if (!db)
		return DB_CONFLICT_NONE;
	if (strcmp(db->sqlstate, "23505") == 0)
		return DB_CONFLICT_UNIQUE;
	if (strcmp(db->sqlstate, "23503") == 0)
		return DB_CONFLICT_FK;
	if (strcmp(db->sqlstate, "23514") == 0)
		return DB_CONFLICT_CHECK;
	return DB_CONFLICT_NONE;
}

const char *db_last_constraint(const struct db *db)
{
	return db ? db->constraint : "";
}

const char *db_last_error(const struct db *db)
{
	return db ? db->errmsg : "";
}

static const char *begin_sql(enum db_isolation iso)
{
	switch (iso) {
	case DB_REPEATABLE_READ:
		return "BEGIN ISOLATION LEVEL REPEATABLE READ";
	case DB_SERIALIZABLE:
		return "BEGIN ISOLATION LEVEL SERIALIZABLE";
	default:
		return "BEGIN";
	}
}

static void backoff(int attempt)
{
	/* jittered exponential backoff from 5 ms, capped at ~320 ms */
	unsigned base = 5000u << (attempt < 6 ? attempt : 6);
	unsigned jitter = (unsigned)rand() % base;
	usleep(base / 2 + jitter / 2);
}

enum db_status db_tx_run(struct db *db, enum db_isolation iso, db_tx_fn fn, void *ctx)
{
	enum db_status st = DB_HARD;
	int retries = pool.is_init ? pool.tx_retries : 8;

	for (int attempt = 0; attempt <= retries; attempt++) {
		if (attempt > 0)
			backoff(attempt - 1);
		st = db_exec(db, begin_sql(iso), 0, NULL, NULL);
		if (st < 0)
			return st;
		st = fn(db, ctx);
		if (st < 0) {
			db_exec(db, "ROLLBACK", 0, NULL, NULL);
			if (st == DB_RETRY)
				continue;
			return st;
		}
		enum db_status cst = db_exec(db, "COMMIT", 0, NULL, NULL);
		if (cst == DB_RETRY)
			continue;
		if (cst == DB_HARD) {
			db_exec(db, "ROLLBACK", 0, NULL, NULL);
			return DB_HARD;
		}
		return st;
	}
	log_warn("db", "db_tx_retries_exhausted", LOG_I("retries", retries), LOG_END);
	return DB_RETRY;
}

bool db_try_advisory_lock(struct db *db, int64_t key)
{
	char k[32];
	const char *params[] = { k };
	struct db_rows *rows = NULL;
	bool ok = false;

	snprintf(k, sizeof(k), "%lld", (long long)key);
	if (db_exec(db, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, &rows) == DB_ONE)
		ok = strcmp(db_rows_get(rows, 0, 0) ? db_rows_get(rows, 0, 0) : "f", "t") == 0;
	db_rows_free(rows);
	return ok;
}

enum db_status db_exec_script(struct db *db, const char *sql)
{
	PGresult *res;
	enum db_status st = DB_NONE;

	if (!db || !db->conn)
		return DB_HARD;
	res = PQexec(db->conn, sql);
	ExecStatusType s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
		record_error(db, res);
		st = is_retryable(db->sqlstate) ? DB_RETRY : DB_HARD;
	}
	PQclear(res);
	return st;
}

enum db_status db_listen(struct db *db, const char *channel)
{
	char sql[128];
	char *ident;

	if (!db || !db->conn)
		return DB_HARD;
	ident = PQescapeIdentifier(db->conn, channel, strlen(channel));
	if (!ident)
		return DB_HARD;
	snprintf(sql, sizeof(sql), "LISTEN %s", ident);
	PQfreemem(ident);
	return db_exec(db, sql, 0, NULL, NULL);
}

int db_wait_notify(struct db *db, int timeout_ms)
{
	struct pollfd pfd;
	PGnotify *n;
	int got = 0;

	if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	/* notifications may already be buffered */
	if (!PQconsumeInput(db->conn))
		return -1;
	while ((n = PQnotifies(db->conn))) {
		PQfreemem(n);
		got = 1;
	}
	if (got)
		return 1;
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return -1;
	int rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0)
		return 0;
	if (!PQconsumeInput(db->conn))
		return -1;
	while ((n = PQnotifies(db->conn))) {
		PQfreemem(n);
		got = 1;
	}
	return got;
}

bool db_is_ok(const struct db *db)
{
	return db && db->conn && PQstatus(db->conn) == CONNECTION_OK;
}
