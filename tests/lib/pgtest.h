/* SQL helpers for black-box tests that look into (or time-travel) the server's database
 * (BW_TEST_PG_DSN of test.env). Failures abort the current Check test. */
#ifndef BW_TESTS_PGTEST_H
#define BW_TESTS_PGTEST_H

/* Run one statement (printf-style) on a fresh connection; returns its first cell, or "" when it
 * returned no row or NULL. The text lives in a static buffer until the next call. */
const char *pgtest_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run one statement (printf-style) that is expected to fail; returns the server's error
 * message ("" when it succeeded) in a static buffer. */
const char *pgtest_sql_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Poll a query (printf-style) every 50 ms until its first cell equals want; aborts the test
 * naming line after timeout_s seconds. */
void pgtest_wait_sql(int line, const char *want, double timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Monotonic clock in seconds. */
double pgtest_now_s(void);

#endif
