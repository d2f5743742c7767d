/* Unit tests for shadow/query: fleet query paths, operators and values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/query.h"

static void assert_json_text(json_t *got, const char *want)
{
	char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(g && strcmp(g, want) == 0, "got %s want %s", g ? g : "(null)", want);
	free(g);
}

struct path_case {
	const char *path;
	const char *want; /* compact JSON array, NULL = error */
};

static const struct path_case paths[] = {
	{ "firmware.version", "[\"firmware\",\"version\"]" },
	{ "a", "[\"a\"]" },
	{ "", "[]" },
	{ "zones.0", "[\"zones\",\"0\"]" },
	{ "/firmware/version", "[\"firmware\",\"version\"]" },
	{ "/a~1b/c~0d", "[\"a/b\",\"c~d\"]" },
	{ "/a//b", "[\"a\",\"\",\"b\"]" },
	{ "/", "[\"\"]" },
	{ "a~1b", "[\"a~1b\"]" }, /* dotted form: no escapes */
	{ "a..b", NULL },
	{ ".a", NULL },
	{ "a.", NULL },
	{ "/a~2", NULL },
	{ "/a~", NULL },
	{ "1.2.3.4.5.6.7.8", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"]" },
	{ "1.2.3.4.5.6.7.8.9", NULL },
	{ "a\tb", NULL },
	{ "caf\xc3\xa9", "[\"caf\\u00E9\"]" },
	{ "bad\xff", NULL },
};

START_TEST(path_table)
{
	const struct path_case *c = &paths[_i];
	char err[128];
	json_t *got = shadow_query_path_parse(c->path, err, sizeof(err));

	if (!c->want) {
		ck_assert_msg(!got, "%s should fail", c->path);
		ck_assert_msg(err[0], "%s: no message", c->path);
		return;
	}
	ck_assert_msg(got, "%s: %s", c->path, err);
	{
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENSURE_ASCII);

		ck_assert_msg(strcmp(g, c->want) == 0, "%s: got %s", c->path, g);
		free(g);
	}
	json_decref(got);
}
END_TEST

START_TEST(path_segment_length_limit)
{
	char path[200], err[128];
	json_t *got;

	memset(path, 'k', SHADOW_QUERY_MAX_SEGMENT_BYTES);
	path[SHADOW_QUERY_MAX_SEGMENT_BYTES] = '\0';
	got = shadow_query_path_parse(path, err, sizeof(err));
	ck_assert_ptr_nonnull(got);
	json_decref(got);
	strcat(path, "k");
	ck_assert_ptr_null(shadow_query_path_parse(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "at most"));
	got = shadow_query_path_parse(NULL, err, sizeof(err));
	assert_json_text(got, "[]");
	json_decref(got);
}
END_TEST

START_TEST(value_is_json_or_string)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "1.2.0", "\"1.2.0\"" }, { "3", "3" },
		{ "\"3\"", "\"3\"" },	  { "true", "true" },
		{ "eco", "\"eco\"" },	  { "{\"a\":1}", "{\"a\":1}" },
		{ "[1,2]", "[1,2]" },	  { "", "\"\"" },
		{ "null", "null" },	  { "{\"a\":1,\"a\":2}", "\"{\\\"a\\\":1,\\\"a\\\":2}\"" },
	};
	char err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = shadow_query_value_parse(cases[i].in, err, sizeof(err));

		assert_json_text(v, cases[i].want);
		json_decref(v);
	}
	ck_assert_ptr_null(shadow_query_value_parse(NULL, err, sizeof(err)));
	ck_assert_ptr_null(shadow_query_value_parse("\xc3", err, sizeof(err)));
	ck_assert(err[0]);
}
END_TEST

START_TEST(value_length_limit)
{
	char *big = malloc(SHADOW_QUERY_MAX_VALUE_BYTES + 2);
	char err[128];
	json_t *v;

	memset(big, 'x', SHADOW_QUERY_MAX_VALUE_BYTES);
	big[SHADOW_QUERY_MAX_VALUE_BYTES] = '\0';
	v = shadow_query_value_parse(big, err, sizeof(err));
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	big[SHADOW_QUERY_MAX_VALUE_BYTES] = 'x';
	big[SHADOW_QUERY_MAX_VALUE_BYTES + 1] = '\0';
	ck_assert_ptr_null(shadow_query_value_parse(big, err, sizeof(err)));
	free(big);
}
END_TEST

START_TEST(ops_parse)
{
	enum shadow_query_op op;

	ck_assert(shadow_query_op_parse("eq", &op) && op == SHADOW_QUERY_EQ);
	ck_assert(shadow_query_op_parse("ne", &op) && op == SHADOW_QUERY_NE);
	ck_assert(shadow_query_op_parse("ne_desired", &op) && op == SHADOW_QUERY_NE_DESIRED);
	ck_assert(shadow_query_op_parse("eq_desired", &op) && op == SHADOW_QUERY_EQ_DESIRED);
	ck_assert(!shadow_query_op_parse("EQ", &op));
	ck_assert(!shadow_query_op_parse(NULL, &op));
	ck_assert(shadow_query_op_needs_value(SHADOW_QUERY_EQ));
	ck_assert(shadow_query_op_needs_value(SHADOW_QUERY_NE));
	ck_assert(!shadow_query_op_needs_value(SHADOW_QUERY_NE_DESIRED));
	ck_assert_str_eq(shadow_query_op_name(SHADOW_QUERY_EQ_DESIRED), "eq_desired");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_query");
	TCase *tc = tcase_create("query");

	tcase_add_loop_test(tc, path_table, 0, (int)(sizeof(paths) / sizeof(paths[0])));
	tcase_add_test(tc, path_segment_length_limit);
	tcase_add_test(tc, value_is_json_or_string);
	tcase_add_test(tc, value_length_limit);
	tcase_add_test(tc, ops_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
