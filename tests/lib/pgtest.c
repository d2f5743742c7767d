/* SQL helpers for black-box tests: see pgtest.h. */
#include "pgtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "testenv.h"

static char cell[8192];

/* run q and copy its first cell to cell */
static const char *run(const char *q)
{
	PGconn *c = PQconnectdb(testenv_get()->pg_dsn);
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "pg: %s", PQerrorMessage(c));
	r = PQexec(c, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", q, PQerrorMessage(c));
	cell[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		snprintf(cell, sizeof(cell), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return cell;
}

const char *pgtest_sql(const char *fmt, ...)
{
	char q[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < sizeof(q), "SQL text too long");
	return run(q);
}

const char *pgtest_sql_error(const char *fmt, ...)
{
	static char err[1024];
	char q[8192];
	va_list ap;
	int n;
	PGconn *c = PQconnectdb(testenv_get()->pg_dsn);
	PGresult *r;

	va_start(ap, fmt);
	n = vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < sizeof(q), "SQL text too long");
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "pg: %s", PQerrorMessage(c));
	r = PQexec(c, q);
	err[0] = '\0';
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		snprintf(err, sizeof(err), "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return err;
}

double pgtest_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pgtest_wait_sql(int line, const char *want, double timeout_s, const char *fmt, ...)
{
	char q[8192];
	va_list ap;
	double end = pgtest_now_s() + timeout_s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < sizeof(q), "SQL text too long");
	for (;;) {
		if (strcmp(run(q), want) == 0)
			return;
		if (pgtest_now_s() > end)
			break;
		usleep(50 * 1000);
	}
	ck_abort_msg("line %d: %s gave '%s', want '%s' within %.1fs", line, q, cell, want,
		     timeout_s);
}
