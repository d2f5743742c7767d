/* Test environment, unique names and shared API-test fixtures; see testenv.h. */
#include "testenv.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest line accepted in a BW_TEST_ENV_FILE. */
#define ENV_LINE_MAX 4096

static struct testenv g_env;

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Strip one pair of matching surrounding quotes in place. */
static char *unquote(char *v)
{
	size_t len = strlen(v);

	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v[len - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* KEY=VALUE lines, "export " prefixes and quotes tolerated; the environment wins on conflict. */
static void load_env_file(const char *path)
{
	char line[ENV_LINE_MAX];
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "testenv: cannot open BW_TEST_ENV_FILE %s\n", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		char *eq;

		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		eq = strchr(p, '=');
		if (!eq || eq == p)
			continue;
		*eq = '\0';
		setenv(p, unquote(eq + 1), 0);
	}
	fclose(f);
}

void testenv_require(void)
{
	const char *file = env_or_null("BW_TEST_ENV_FILE");
	const char *port;

	if (!env_or_null("BW_TEST_URL") && file)
		load_env_file(file);
	g_env.url = env_or_null("BW_TEST_URL");
	if (!g_env.url) {
		fprintf(stderr,
			"skipped: BW_TEST_URL is not set (run via tests/harness/stack.sh)\n");
		exit(TESTENV_SKIP);
	}
	g_env.admin_token = env_or_null("BW_TEST_ADMIN_TOKEN");
	g_env.pg_dsn = env_or_null("BW_TEST_PG_DSN");
	g_env.mqtt_host = env_or_null("BW_TEST_MQTT_HOST");
	port = env_or_null("BW_TEST_MQTT_PORT");
	g_env.mqtt_port = port ? atoi(port) : 0;
}

const struct testenv *testenv_get(void)
{
	return &g_env;
}

char *testenv_uniq(char *buf, size_t size, const char *tag)
{
	static unsigned counter;
	struct timespec ts;
	unsigned long long ms;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
	n = snprintf(buf, size, "t%llx%x-%s-%u", ms, (unsigned)getpid(), tag, counter++);
	ck_assert_msg(n > 0 && (size_t)n < size, "unique name for tag '%s' does not fit", tag);
	return buf;
}

int testenv_run_api_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	testenv_require();
	if (!g_env.admin_token) {
		fprintf(stderr, "BW_TEST_URL is set but BW_TEST_ADMIN_TOKEN is not\n");
		srunner_free(sr);
		return 1;
	}
	if (http_client_init(g_env.url) != 0) {
		fprintf(stderr, "cannot initialise the HTTP client\n");
		srunner_free(sr);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	http_client_cleanup();
	return failed == 0 ? 0 : 1;
}

const char *testenv_jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *testenv_err(const struct http_resp *r, const char *key)
{
	return testenv_jstr(json_object_get(r->json, "error"), key);
}

void testenv_expect_status(const char *file, int line, const struct http_resp *r, long status)
{
	ck_assert_msg(r->status == status,
		      "%s:%d: %s: expected HTTP %ld, got %ld%s%s; body: %.600s", file, line,
		      r->desc, status, r->status, r->error[0] ? "; transport: " : "", r->error,
		      r->body ? r->body : "");
}

void testenv_expect_error(const char *file, int line, const struct http_resp *r, long status,
			  const char *code, const char *field)
{
	const char *got_code = testenv_err(r, "code");
	const char *got_field = testenv_err(r, "field");
	const char *msg = testenv_err(r, "message");
	const char *rid = testenv_err(r, "request_id");
	const char *hdr_rid = http_resp_header(r, "X-Request-Id");

	testenv_expect_status(file, line, r, status);
	ck_assert_msg(json_is_object(json_object_get(r->json, "error")),
		      "%s:%d: %s: error reply is not {\"error\":{...}}: %.600s", file, line,
		      r->desc, r->body);
	ck_assert_msg(got_code && strcmp(got_code, code) == 0,
		      "%s:%d: %s: expected error.code '%s', got '%s'; body: %.600s", file, line,
		      r->desc, code, got_code ? got_code : "(none)", r->body);
	ck_assert_msg(msg && *msg, "%s:%d: %s: error.message missing or empty: %.600s", file, line,
		      r->desc, r->body);
	ck_assert_msg(rid && *rid, "%s:%d: %s: error.request_id missing: %.600s", file, line,
		      r->desc, r->body);
	ck_assert_msg(hdr_rid && strcmp(hdr_rid, rid) == 0,
		      "%s:%d: %s: X-Request-Id header '%s' differs from error.request_id '%s'",
		      file, line, r->desc, hdr_rid ? hdr_rid : "(none)", rid);
	if (field) {
		ck_assert_msg(got_field && strcmp(got_field, field) == 0,
			      "%s:%d: %s: expected error.field '%s', got '%s'; body: %.600s", file,
			      line, r->desc, field, got_field ? got_field : "(none)", r->body);
	}
}

char *testenv_token_new(const char *role, const char *tag, char **id_out, char **name_out)
{
	struct http_resp r;
	char name[96];
	const char *tok;
	char *copy;

	testenv_uniq(name, sizeof(name), tag);
	http_call_json(&r, "POST", g_env.admin_token,
		       json_pack("{s:s, s:s}", "name", name, "role", role), "/api/v1/tokens");
	EXPECT_STATUS(&r, 201);
	tok = testenv_jstr(r.json, "token");
	ck_assert_msg(tok != NULL, "POST /api/v1/tokens: no token in reply: %.600s", r.body);
	copy = strdup(tok);
	ck_assert_ptr_nonnull(copy);
	if (id_out) {
		const char *id = testenv_jstr(r.json, "id");

		ck_assert_msg(id != NULL, "POST /api/v1/tokens: id is not a string: %.600s",
			      r.body);
		*id_out = strdup(id);
		ck_assert_ptr_nonnull(*id_out);
	}
	if (name_out) {
		*name_out = strdup(name);
		ck_assert_ptr_nonnull(*name_out);
	}
	http_resp_cleanup(&r);
	return copy;
}

bool testenv_matches(const char *s, const char *ere)
{
	regex_t re;
	bool ok;

	ck_assert_msg(regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) == 0, "bad regex %s", ere);
	ok = s && regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* A list walk gives up after this many pages (a server looping on one cursor). */
#define LIST_MAX_PAGES 10000

json_t *testenv_list_all(const char *token, const char *path, int *pages_out)
{
	json_t *all = json_array();
	char *cursor = NULL;
	int pages = 0;

	ck_assert_ptr_nonnull(all);
	for (;;) {
		struct http_resp r;
		json_t *items;
		const char *next;

		ck_assert_msg(pages < LIST_MAX_PAGES, "GET %s: more than %d pages", path,
			      LIST_MAX_PAGES);
		if (cursor) {
			char *esc = http_escape(cursor);

			ck_assert_ptr_nonnull(esc);
			http_call(&r, "GET", token, NULL, "%s&cursor=%s", path, esc);
			free(esc);
		} else {
			http_call(&r, "GET", token, NULL, "%s", path);
		}
		EXPECT_STATUS(&r, 200);
		pages++;
		items = json_object_get(r.json, "items");
		ck_assert_msg(json_is_array(items), "%s: no items array: %.300s", r.desc, r.body);
		ck_assert_int_eq(json_array_extend(all, items), 0);
		next = testenv_jstr(r.json, "next_cursor");
		ck_assert_msg(next || !json_object_get(r.json, "next_cursor") ||
				      json_is_null(json_object_get(r.json, "next_cursor")),
			      "%s: next_cursor is not a string", r.desc);
		free(cursor);
		cursor = NULL;
		if (next) {
			ck_assert_msg(json_array_size(items) > 0,
				      "%s: empty page with a next_cursor", r.desc);
			cursor = strdup(next);
			ck_assert_ptr_nonnull(cursor);
		}
		http_resp_cleanup(&r);
		if (!cursor)
			break;
	}
	if (pages_out)
		*pages_out = pages;
	return all;
}
