/*
 * Raw Postgres durable insert baseline for `make bench` (docs/BENCH.md).
 *
 * Several connections insert into a scratch table bench_raw_kv (id bigserial, k text, v jsonb)
 * with synchronous_commit on, two ways, each for a bounded time:
 *   batched: one multi-row INSERT of `batch` rows per transaction -> rows/s
 *   single:  one single-row INSERT per transaction                -> commits/s
 * The ratio between the two is what group commit buys; Bellwether's ingestion is compared with
 * these figures. The figures mean something only when the server runs with fsync on, so the
 * server's fsync, synchronous_commit and full_page_writes are printed (and --require-durable
 * makes fsync=off an error).
 *
 * Reads BW_TEST_PG_DSN (tests/harness/stack.sh writes it to test.env); exits 77 without it.
 * Prints "BENCH name=value" lines. Exit 0 on success, 1 on failure, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define MAX_CONNECTIONS 64
#define MAX_BATCH 1000
/* Upper bound of transactions per worker and phase, besides the time bound. */
#define MAX_TXNS_PER_WORKER 10000000
#define KEY_LEN 48
#define VALUE_LEN 160
#define NS_PER_S INT64_C(1000000000)
#define TABLE "bench_raw_kv"

enum mode { MODE_BATCHED, MODE_SINGLE };

struct opts {
	int connections;
	int batch;
	int seconds;
	bool require_durable;
};

struct worker {
	pthread_t thread;
	PGconn *conn;
	int id;
	enum mode mode;
	int batch;
	int64_t deadline_ns;
	/* Parameter storage: batch keys and values, and the pointer array libpq reads. */
	char (*keys)[KEY_LEN];
	char (*values)[VALUE_LEN];
	const char **params;
	/* Results. */
	uint64_t rows;
	uint64_t txns;
	int64_t end_ns;
	char error[256];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Runs a command that returns no rows; 0, or -1 with the error printed. */
static int exec_command(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench_pg_raw: %s: %s", sql, PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Copies the single value of a one-row, one-column query into out; 0 or -1 (printed). */
static int query_value(PGconn *conn, const char *sql, char *out, size_t outlen)
{
	PGresult *res = PQexec(conn, sql);
	int rc = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1) {
		snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
		rc = 0;
	} else {
		fprintf(stderr, "bench_pg_raw: %s: %s", sql, PQerrorMessage(conn));
	}
	PQclear(res);
	return rc;
}

static PGconn *connect_db(const char *dsn)
{
	PGconn *conn = PQconnectdb(dsn);

	if (!conn) {
		fprintf(stderr, "bench_pg_raw: out of memory connecting\n");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "bench_pg_raw: connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	/* Explicit, whatever the server default: every commit waits for its WAL flush. */
	if (exec_command(conn, "SET synchronous_commit = on") ||
	    exec_command(conn, "SET client_min_messages = warning")) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Builds "INSERT ... VALUES ($1, $2::jsonb), ..." for n rows into a new string. */
static char *insert_sql(int n)
{
	size_t cap = 64 + (size_t)n * 40;
	char *sql = malloc(cap);
	size_t len;
	int i;

	if (!sql)
		return NULL;
	len = (size_t)snprintf(sql, cap, "INSERT INTO " TABLE " (k, v) VALUES ");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s($%d, $%d::jsonb)", i ? ", " : "",
					2 * i + 1, 2 * i + 2);
	return sql;
}

/* Prepares the worker's two statements on its connection; 0 or -1 (printed). */
static int worker_prepare(struct worker *w)
{
	const char *names[] = { "bench_batched", "bench_single" };
	int rows[] = { w->batch, 1 };
	int i, rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		char *sql = insert_sql(rows[i]);
		PGresult *res;

		if (!sql) {
			fprintf(stderr, "bench_pg_raw: out of memory\n");
			return -1;
		}
		res = PQprepare(w->conn, names[i], sql, 2 * rows[i], NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "bench_pg_raw: prepare %s: %s", names[i],
				PQerrorMessage(w->conn));
			rc = -1;
		}
		PQclear(res);
		free(sql);
	}
	return rc;
}

/* Fills parameters for n rows of transaction txn. */
static void fill_params(struct worker *w, int n, uint64_t txn)
{
	int i;

	for (i = 0; i < n; i++) {
		uint64_t seq = txn * (uint64_t)n + (uint64_t)i;

		snprintf(w->keys[i], KEY_LEN, "bench-%d-%" PRIu64, w->id, seq);
		snprintf(w->values[i], VALUE_LEN,
			 "{\"thing\": \"bench-thing-%d\", \"status\": \"IN_PROGRESS\", "
			 "\"step\": %" PRIu64 ", \"progress\": {\"percent\": %d}}",
			 w->id, seq, (int)(seq % 101));
		w->params[2 * i] = w->keys[i];
		w->params[2 * i + 1] = w->values[i];
	}
}

/* Worker thread: inserts until the deadline (or the transaction cap), one statement per
 * transaction (autocommit), recording rows, transactions and the first error. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int n = w->mode == MODE_BATCHED ? w->batch : 1;
	const char *stmt = w->mode == MODE_BATCHED ? "bench_batched" : "bench_single";

	w->rows = 0;
	w->txns = 0;
	w->error[0] = '\0';
	while (w->txns < MAX_TXNS_PER_WORKER && now_ns() < w->deadline_ns) {
		PGresult *res;

		fill_params(w, n, w->txns);
		res = PQexecPrepared(w->conn, stmt, 2 * n, w->params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(w->error, sizeof(w->error), "%s", PQerrorMessage(w->conn));
			PQclear(res);
			break;
		}
		PQclear(res);
		w->rows += (uint64_t)n;
		w->txns++;
	}
	w->end_ns = now_ns();
	return NULL;
}

/* Runs one phase on all workers; returns the aggregate rate (rows/s for batched, commits/s
 * for single) or -1 on failure. */
static double run_phase(struct worker *ws, const struct opts *o, enum mode mode)
{
	int64_t start = now_ns(), end = start;
	uint64_t rows = 0, txns = 0;
	int i, started, failed = 0;
	double secs;

	for (started = 0; started < o->connections; started++) {
		ws[started].mode = mode;
		ws[started].deadline_ns = start + (int64_t)o->seconds * NS_PER_S;
		errno = pthread_create(&ws[started].thread, NULL, worker_run, &ws[started]);
		if (errno) {
			fprintf(stderr, "bench_pg_raw: pthread_create: %s\n", strerror(errno));
			failed = 1;
			break;
		}
	}
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].thread, NULL);
		if (ws[i].error[0]) {
			fprintf(stderr, "bench_pg_raw: worker %d: %s", i, ws[i].error);
			failed = 1;
		}
		rows += ws[i].rows;
		txns += ws[i].txns;
		if (ws[i].end_ns > end)
			end = ws[i].end_ns;
	}
	if (failed || txns == 0)
		return -1;
	secs = (double)(end - start) / (double)NS_PER_S;
	if (mode == MODE_BATCHED) {
		printf("pg batched: %d connections x %d-row INSERT per transaction: %" PRIu64
		       " rows in %" PRIu64 " transactions, %.2f s\n",
		       o->connections, o->batch, rows, txns, secs);
		return (double)rows / secs;
	}
	printf("pg single: %d connections x 1-row INSERT per transaction: %" PRIu64
	       " commits, %.2f s\n",
	       o->connections, txns, secs);
	return (double)txns / secs;
}

static int parse_int(const char *name, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "bench_pg_raw: --%s must be an integer in %d..%d\n", name, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_pg_raw [--connections N (4)] [--batch ROWS (100)] [--seconds S (5)]\n"
		"                    [--require-durable]\n"
		"Needs BW_TEST_PG_DSN (source test.env of tests/harness/stack.sh).\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "require-durable", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	*o = (struct opts){ .connections = 4, .batch = 100, .seconds = 5 };
	while (rc == 0 && (ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			rc = parse_int("connections", optarg, 1, MAX_CONNECTIONS, &o->connections);
			break;
		case 'b':
			rc = parse_int("batch", optarg, 2, MAX_BATCH, &o->batch);
			break;
		case 's':
			rc = parse_int("seconds", optarg, 1, 20, &o->seconds);
			break;
		case 'd':
			o->require_durable = true;
			break;
		default:
			rc = -1;
			break;
		}
	}
	if (rc == 0 && optind < argc)
		rc = -1;
	if (rc)
		usage();
	return rc;
}

/* Prints the server's durability settings; *fsync_on receives whether fsync is on. */
static int report_durability(PGconn *conn, bool *fsync_on)
{
	char fsync[16], fpw[16];

	if (query_value(conn, "SHOW fsync", fsync, sizeof(fsync)) ||
	    query_value(conn, "SHOW full_page_writes", fpw, sizeof(fpw)))
		return -1;
	*fsync_on = strcmp(fsync, "on") == 0;
	printf("postgres: fsync=%s full_page_writes=%s synchronous_commit=on (per session) -> %s\n",
	       fsync, fpw,
	       *fsync_on ? "durable commits" : "NOT DURABLE (fsync=off): figures are optimistic");
	return 0;
}

/* Allocates the parameter storage of each worker and connects it; 0 or -1 (printed). */
static int workers_init(struct worker *ws, const struct opts *o, const char *dsn)
{
	int i;

	for (i = 0; i < o->connections; i++) {
		struct worker *w = &ws[i];

		w->id = i;
		w->batch = o->batch;
		w->keys = calloc((size_t)o->batch, sizeof(*w->keys));
		w->values = calloc((size_t)o->batch, sizeof(*w->values));
		w->params = calloc(2 * (size_t)o->batch, sizeof(*w->params));
		if (!w->keys || !w->values || !w->params) {
			fprintf(stderr, "bench_pg_raw: out of memory\n");
			return -1;
		}
		w->conn = connect_db(dsn);
		if (!w->conn || worker_prepare(w))
			return -1;
	}
	return 0;
}

static void workers_free(struct worker *ws, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		PQfinish(ws[i].conn);
		free(ws[i].keys);
		free(ws[i].values);
		free(ws[i].params);
	}
	free(ws);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct worker *ws = NULL;
	PGconn *admin = NULL;
	const char *dsn = getenv("BW_TEST_PG_DSN");
	double batched, single;
	bool fsync_on = false, table_made = false;
	char count[32];
	uint64_t expected = 0;
	int i, rc = 1;

	if (parse_opts(argc, argv, &o))
		return 2;
	if (!dsn || !*dsn) {
		fprintf(stderr, "bench_pg_raw: BW_TEST_PG_DSN not set (no test.env); skipping\n");
		return 77;
	}
	admin = connect_db(dsn);
	if (!admin || report_durability(admin, &fsync_on))
		goto out;
	if (!fsync_on && o.require_durable) {
		fprintf(stderr,
			"bench_pg_raw: --require-durable but the server runs with fsync=off\n");
		goto out;
	}
	if (exec_command(admin, "DROP TABLE IF EXISTS " TABLE) ||
	    exec_command(admin,
			 "CREATE TABLE " TABLE " (id bigserial PRIMARY KEY, k text NOT NULL, "
			 "v jsonb NOT NULL)"))
		goto out;
	table_made = true;
	ws = calloc((size_t)o.connections, sizeof(*ws));
	if (!ws) {
		fprintf(stderr, "bench_pg_raw: out of memory\n");
		goto out;
	}
	if (workers_init(ws, &o, dsn))
		goto out;

	batched = run_phase(ws, &o, MODE_BATCHED);
	for (i = 0; i < o.connections; i++)
		expected += ws[i].rows;
	if (batched <= 0)
		goto out;
	single = run_phase(ws, &o, MODE_SINGLE);
	for (i = 0; i < o.connections; i++)
		expected += ws[i].rows;
	if (single <= 0)
		goto out;
	/* Every acknowledged row must be there. */
	if (query_value(admin, "SELECT count(*) FROM " TABLE, count, sizeof(count)))
		goto out;
	if (strtoull(count, NULL, 10) != expected) {
		fprintf(stderr, "bench_pg_raw: table has %s rows, %" PRIu64 " were acknowledged\n",
			count, expected);
		goto out;
	}
	printf("BENCH pg_fsync_on=%d\n", fsync_on ? 1 : 0);
	printf("BENCH pg_batched_insert_rows_per_s=%.0f\n", batched);
	printf("BENCH pg_single_commit_per_s=%.0f\n", single);
	rc = 0;
out:
	if (ws)
		workers_free(ws, o.connections);
	if (table_made && exec_command(admin, "DROP TABLE IF EXISTS " TABLE))
		rc = 1;
	PQfinish(admin);
	return rc;
}
