/*
 * Test environment for tests that need running services: reads the connection settings from
 * the environment (as written by tests/harness/stack.sh into test.env), makes unique names, and
 * offers the fixtures and assertions the black-box API tests share.
 */
#ifndef BW_TESTS_TESTENV_H
#define BW_TESTS_TESTENV_H

#include <stdbool.h>
#include <stddef.h>

#include <check.h>
#include <jansson.h>

#include "http_client.h"

/* Exit status that test runners count as "skipped". */
#define TESTENV_SKIP 77

struct testenv {
	const char *url; /* BW_TEST_URL: bellwetherd base URL, e.g. http://127.0.0.1:18080 */
	const char *admin_token; /* BW_TEST_ADMIN_TOKEN: bearer token with role admin, or NULL */
	const char *pg_dsn;	 /* BW_TEST_PG_DSN: libpq DSN of the server's database, or NULL */
	const char *mqtt_host;	 /* BW_TEST_MQTT_HOST, or NULL */
	int mqtt_port;		 /* BW_TEST_MQTT_PORT, or 0 */
};

/*
 * Load the settings. When BW_TEST_URL is unset but BW_TEST_ENV_FILE names a file of KEY=VALUE
 * lines (test.env), variables are taken from it first (existing environment wins). Exits with
 * TESTENV_SKIP when BW_TEST_URL is still unset.
 */
void testenv_require(void);

/* The settings loaded by testenv_require() (borrowed, valid for the process lifetime). */
const struct testenv *testenv_get(void);

/*
 * Write a name unique across processes and runs into buf: "t<time><pid>-<tag>-<n>" using only
 * [a-zA-Z0-9_-] (tag must use those too). Returns buf; asserts that it fits.
 */
char *testenv_uniq(char *buf, size_t size, const char *tag);

/*
 * For main() of an API test binary: testenv_require() (may exit 77), require an admin token,
 * initialise the HTTP client, run the suite with CK_NORMAL, clean up. Takes ownership of s.
 * Returns the process exit status (0 all passed, 1 otherwise).
 */
int testenv_run_api_suite(Suite *s);

/* String member key of obj, or NULL when obj is not an object or the member is not a string. */
const char *testenv_jstr(const json_t *obj, const char *key);

/* error.<key> of an error reply as a string, or NULL. */
const char *testenv_err(const struct http_resp *r, const char *key);

/*
 * Create a token as admin via POST /api/v1/tokens with a unique name built from tag; asserts
 * 201. Returns the bearer token (malloc'd, free()). When id_out / name_out are not NULL they
 * receive malloc'd copies of the token id and name.
 */
char *testenv_token_new(const char *role, const char *tag, char **id_out, char **name_out);

/* RFC 3339 UTC timestamp with milliseconds, as the API writes them (POSIX ERE). */
#define TESTENV_RFC3339_MS "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"

/* True when s is not NULL and matches the POSIX extended regular expression ere. */
bool testenv_matches(const char *s, const char *ere);

/*
 * GET every page of a list route: path already holds its query string (with '?'), cursors are
 * appended as "&cursor=". Asserts 200 and {"items":[...]} on each page and that next_cursor
 * is absent exactly on the last page. Returns a new array of all items in order; *pages_out (if
 * not NULL) receives the number of pages.
 */
json_t *testenv_list_all(const char *token, const char *path, int *pages_out);

/* Assertion helpers; use the macros below so failures name the test's file and line. */
void testenv_expect_status(const char *file, int line, const struct http_resp *r, long status);
void testenv_expect_error(const char *file, int line, const struct http_resp *r, long status,
			  const char *code, const char *field);

/* Assert the reply status; the message shows the request, status, and body. */
#define EXPECT_STATUS(r, status) testenv_expect_status(__FILE__, __LINE__, (r), (status))

/*
 * Assert an error reply: status, JSON body with error.code == code, a non-empty error.message,
 * error.request_id equal to the X-Request-Id header, and error.field == field unless field is
 * NULL.
 */
#define EXPECT_ERROR(r, status, code, field) \
	testenv_expect_error(__FILE__, __LINE__, (r), (status), (code), (field))

#endif
