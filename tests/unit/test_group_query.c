/* Unit tests for registry/group_query: grammar, error messages, limits, SQL output, in-memory
 * matching, and properties over generated queries. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "registry/group_query.h"
#include "registry/semver.h"

static struct group_query *parse_ok(const char *text)
{
	char err[256] = "";
	struct group_query *q = group_query_parse(text, err, sizeof(err));

	ck_assert_msg(q != NULL, "parse '%s': %s", text, err);
	return q;
}

static void expect_error(const char *text, const char *want)
{
	char err[512] = "";
	struct group_query *q = group_query_parse(text, err, sizeof(err));

	ck_assert_msg(q == NULL, "'%s' should not parse", text);
	ck_assert_msg(strcmp(err, want) == 0, "'%s':\n got  %s\n want %s", text, err, want);
}

static void expect_format(const char *text, const char *want)
{
	struct group_query *q = parse_ok(text);
	char *f = group_query_format(q);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(strcmp(f, want) == 0, "'%s':\n got  %s\n want %s", text, f, want);
	free(f);
	group_query_free(q);
}

static void free_params(char **params, int n)
{
	for (int i = 0; i < n; i++)
		free(params[i]);
	free(params);
}

/* want_params: NULL-terminated list. */
static void expect_sql(const char *text, int first, const char *want_sql,
		       const char *const *want_params)
{
	struct group_query *q = parse_ok(text);
	struct buf sql;
	char **params = NULL;
	int n = -1, want_n = 0;

	while (want_params[want_n])
		want_n++;
	buf_init(&sql);
	ck_assert(group_query_to_sql(q, first, &sql, &params, &n));
	ck_assert_msg(strcmp(sql.data, want_sql) == 0, "'%s':\n got  %s\n want %s", text, sql.data,
		      want_sql);
	ck_assert_int_eq(n, want_n);
	ck_assert_ptr_nonnull(params);
	for (int i = 0; i < n; i++)
		ck_assert_msg(strcmp(params[i], want_params[i]) == 0, "'%s' param %d: %s != %s",
			      text, i, params[i], want_params[i]);
	ck_assert_ptr_null(params[n]);
	free_params(params, n);
	buf_cleanup(&sql);
	group_query_free(q);
}

/* ---- grammar ---- */

START_TEST(parses_and_normalises_valid_queries)
{
	static const char *const cases[][2] = {
		{ "name = sensor-1", "name = sensor-1" },
		{ "name=sensor-1", "name = sensor-1" },
		{ "  name\t=\n\"a b\"  ", "name = \"a b\"" },
		{ "hardware_type != \"rpi4\" AND firmware_version >= 1.2.0",
		  "hardware_type != rpi4 and firmware_version >= 1.2.0" },
		{ "name < b Or name <= c oR name > d or name >= e",
		  "name < b or name <= c or name > d or name >= e" },
		{ "(name = a or name = b) and hardware_type = c",
		  "(name = a or name = b) and hardware_type = c" },
		{ "name = a or (name = b and hardware_type = c)",
		  "name = a or name = b and hardware_type = c" },
		{ "name = a and (name = b and (name = c))", "name = a and name = b and name = c" },
		{ "((name = a))", "name = a" },
		{ "NOT (name = a AND name = b)", "not (name = a and name = b)" },
		{ "not not name exists", "not not name exists" },
		{ "not name = a and name = b", "not name = a and name = b" },
		{ "name IN (a,\"b c\" , d)", "name in (a, \"b c\", d)" },
		{ "name in (x)", "name in (x)" },
		{ "attributes.site.region ~ \"eu-*\"", "attributes.site.region ~ eu-*" },
		{ "name ~ sensor-??", "name ~ sensor-??" },
		{ "attributes.env Exists", "attributes.env exists" },
		{ "attributes.a:b_c-d.e = 1", "attributes.a:b_c-d.e = 1" },
		{ "name = \"and\"", "name = \"and\"" },
		{ "name = \"NOT\"", "name = \"NOT\"" },
		{ "name = \"\"", "name = \"\"" },
		{ "name = \"q\\\"uo\\\\te\"", "name = \"q\\\"uo\\\\te\"" },
		{ "name = \"caf\xc3\xa9\"", "name = \"caf\xc3\xa9\"" },
		{ "name = \"a'b;c\"", "name = \"a'b;c\"" },
		{ "firmware_version = not-semver", "firmware_version = not-semver" },
		{ "name = -1", "name = -1" },
		{ "name = a.b:c_d", "name = a.b:c_d" },
		{ "name = andy", "name = andy" },
		{ "name exists and name = or_else", "name exists and name = or_else" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_format(cases[i][0], cases[i][1]);
}
END_TEST

START_TEST(format_quotes_values_that_are_not_bare_words)
{
	/* '+' is not a bare-word character, so the version is quoted */
	expect_format("firmware_version < \"2.0.0-rc.1+b\"", "firmware_version < \"2.0.0-rc.1+b\"");
	expect_format("name in (\"in\", \"x y\", z)", "name in (\"in\", \"x y\", z)");
	expect_format("name = \"tab\"", "name = tab");
}
END_TEST

START_TEST(reports_errors_with_columns)
{
	static const char *const cases[][2] = {
		{ "", "column 1: query is empty" },
		{ "   ", "column 4: query is empty" },
		{ "name",
		  "column 5: expected an operator (=, !=, <, <=, >, >=, ~, in, exists) after "
		  "'name', found the end of the query" },
		{ "name xyz", "column 6: expected an operator (=, !=, <, <=, >, >=, ~, in, exists) "
			      "after 'name', found 'xyz'" },
		{ "name =", "column 7: expected a value after '=', found the end of the query" },
		{ "hardware_type = rpi and name = ",
		  "column 32: expected a value after '=', found the end of the query" },
		{ "name = (a)", "column 8: expected a value after '=', found '('" },
		{ "foo = 1", "column 1: unknown field 'foo' (expected name, hardware_type, "
			     "firmware_version or attributes.<key>)" },
		{ "Name = 1", "column 1: unknown field 'Name' (expected name, hardware_type, "
			      "firmware_version or attributes.<key>)" },
		{ "attributes = 1", "column 1: unknown field 'attributes' (expected name, "
				    "hardware_type, firmware_version or attributes.<key>)" },
		{ "attributes. = 1",
		  "column 12: invalid attribute key '' (1 to 128 of A-Z a-z 0-9 _ . : -)" },
		{ "attributes.a* = 1",
		  "column 12: invalid attribute key 'a*' (1 to 128 of A-Z a-z 0-9 _ . : -)" },
		{ "name = a b",
		  "column 10: expected 'and', 'or' or the end of the query, found 'b'" },
		{ "name = a and", "column 13: expected a comparison, found the end of the query" },
		{ "and name = a", "column 1: expected a comparison, found 'and'" },
		{ "name = a or or name = b", "column 13: expected a comparison, found 'or'" },
		{ "(name = a",
		  "column 10: expected ')' to close the '(' at column 1, found the end of "
		  "the query" },
		{ "((name = a) or (name = b)",
		  "column 26: expected ')' to close the '(' at column 1, "
		  "found the end of the query" },
		{ "name = a)", "column 9: unmatched ')'" },
		{ "()", "column 2: expected a comparison, found ')'" },
		{ "name = \"abc", "column 8: unterminated string" },
		{ "name = \"abc\\", "column 8: unterminated string" },
		{ "name = \"a\\nb\"",
		  "column 10: invalid escape '\\n' in a string (only \\\" and \\\\)" },
		{ "name = \"a\tb\"", "column 10: control character 0x09 in a string" },
		{ "name = a\x01", "column 9: unexpected control character 0x01" },
		{ "name # a", "column 6: unexpected character '#'" },
		{ "name = 'a'", "column 8: unexpected character '''" },
		{ "name = a; drop table things", "column 9: unexpected character ';'" },
		{ "name = \xc3\xa9", "column 8: unexpected character '\xc3\xa9'" },
		{ "name ! a", "column 6: unexpected '!' (did you mean '!='?)" },
		{ "name == a", "column 7: expected a value after '=', found '='" },
		{ "name = and",
		  "column 8: 'and' is a keyword; quote it to use it as a value after '='" },
		{ "name in a", "column 9: expected '(' after 'in', found 'a'" },
		{ "name in ()", "column 10: expected a value after '(', found ')'" },
		{ "name in (a b)", "column 12: expected ',' or ')' in the 'in' list, found 'b'" },
		{ "name in (a,",
		  "column 12: expected a value after ',', found the end of the query" },
		{ "name in (a, exists)",
		  "column 13: 'exists' is a keyword; quote it to use it as a value after ','" },
		{ "name exists exists",
		  "column 13: expected 'and', 'or' or the end of the query, found 'exists'" },
		{ "not", "column 4: expected a comparison, found the end of the query" },
		{ "firmware_version < 1.2",
		  "column 20: '1.2' is not a semantic version like 1.2.3 (needed by '<' on "
		  "firmware_version)" },
		{ "firmware_version >= v1.2.3",
		  "column 21: 'v1.2.3' is not a semantic version like 1.2.3 (needed by '>=' on "
		  "firmware_version)" },
		{ "firmware_version > \"01.0.0\"",
		  "column 20: '01.0.0' is not a semantic version like 1.2.3 (needed by '>' on "
		  "firmware_version)" },
		/* columns count characters, not bytes */
		{ "name = \"caf\xc3\xa9\" x",
		  "column 15: expected 'and', 'or' or the end of the query, found 'x'" },
		{ "name = \"\xe2\x82\xac\xe2\x82\xac\" or",
		  "column 15: expected a comparison, found "
		  "the end of the query" },
		{ "name = \"a\xff\"", "column 10: invalid UTF-8" },
		{ "name = \"\xc3\xa9\xc0\xaf\"", "column 10: invalid UTF-8" },
		{ "name = \"a\xe2\x82\"", "column 10: invalid UTF-8" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i][0], cases[i][1]);
}
END_TEST

START_TEST(error_shortens_long_tokens)
{
	char text[300], want[300];

	snprintf(text, sizeof(text), "name = a %s",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	snprintf(want, sizeof(want),
		 "column 10: expected 'and', 'or' or the end of the query, found '%s...'",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	expect_error(text, want);
}
END_TEST

START_TEST(error_buffer_may_be_small_or_absent)
{
	char err[16];

	ck_assert_ptr_null(group_query_parse("name =", NULL, 0));
	ck_assert_ptr_null(group_query_parse("name =", err, sizeof(err)));
	ck_assert_str_eq(err, "column 7: expec");
	ck_assert_ptr_null(group_query_parse("name =", err, 1));
	ck_assert_str_eq(err, "");
	ck_assert_ptr_null(group_query_parse(NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "query is missin"); /* truncated to 15 bytes */
	group_query_free(NULL);
}
END_TEST

/* ---- limits ---- */

START_TEST(text_limit_is_4096_bytes)
{
	char *text = malloc(GROUP_QUERY_TEXT_MAX + 2);
	struct group_query *q;

	ck_assert_ptr_nonnull(text);
	memset(text, ' ', GROUP_QUERY_TEXT_MAX + 1);
	memcpy(text, "name = \"", 8);
	text[GROUP_QUERY_TEXT_MAX - 1] = '"';
	text[GROUP_QUERY_TEXT_MAX] = '\0';
	q = parse_ok(text); /* exactly 4096 bytes */
	group_query_free(q);
	text[GROUP_QUERY_TEXT_MAX] = ' ';
	text[GROUP_QUERY_TEXT_MAX + 1] = '\0';
	expect_error(text, "query is longer than 4096 bytes");
	free(text);
}
END_TEST

/* "name = x or name = x or ..." with n comparisons. */
static char *many_comparisons(int n)
{
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%sname = x%d", i ? " or " : "", i);
	ck_assert(!b.is_oom);
	return buf_take(&b);
}

START_TEST(comparison_limit_is_64)
{
	char *text = many_comparisons(GROUP_QUERY_CMP_MAX);
	struct group_query *q = parse_ok(text);
	char want[128];

	group_query_free(q);
	free(text);
	text = many_comparisons(GROUP_QUERY_CMP_MAX + 1);
	/* the 65th comparison starts after 64 comparisons and 64 " or " separators */
	snprintf(want, sizeof(want), "column %zu: more than 64 comparisons",
		 strstr(text, "name = x64") - text + 1);
	expect_error(text, want);
	free(text);
	/* an 'in' list and 'exists' count as one comparison each */
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < GROUP_QUERY_CMP_MAX / 2; i++)
		buf_printf(&b, "%sname exists or name in (a, b, c)", i ? " or " : "");
	q = parse_ok(b.data);
	group_query_free(q);
	buf_puts(&b, " or name exists");
	snprintf(want, sizeof(want), "column %zu: more than 64 comparisons", b.len - 10);
	expect_error(b.data, want);
	buf_cleanup(&b);
}
END_TEST

START_TEST(nesting_limit_is_16)
{
	struct buf b;
	struct group_query *q;

	buf_init(&b);
	for (int i = 0; i < GROUP_QUERY_DEPTH_MAX; i++)
		buf_putc(&b, '(');
	buf_puts(&b, "name = a");
	for (int i = 0; i < GROUP_QUERY_DEPTH_MAX; i++)
		buf_putc(&b, ')');
	q = parse_ok(b.data);
	group_query_free(q);
	buf_cleanup(&b);

	for (int i = 0; i <= GROUP_QUERY_DEPTH_MAX; i++)
		buf_putc(&b, '(');
	buf_puts(&b, "name = a");
	for (int i = 0; i <= GROUP_QUERY_DEPTH_MAX; i++)
		buf_putc(&b, ')');
	expect_error(b.data, "column 17: nesting deeper than 16 levels");
	buf_cleanup(&b);

	/* 'not' counts as a level too, so long chains cannot exhaust the stack */
	for (int i = 0; i < GROUP_QUERY_DEPTH_MAX; i++)
		buf_puts(&b, "not ");
	buf_puts(&b, "name exists");
	q = parse_ok(b.data);
	group_query_free(q);
	buf_cleanup(&b);
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "not ");
	buf_puts(&b, "name exists");
	expect_error(b.data, "column 65: nesting deeper than 16 levels");
	buf_cleanup(&b);
	for (int i = 0; i < 2000; i++)
		buf_putc(&b, '(');
	expect_error(b.data, "column 17: nesting deeper than 16 levels");
	buf_cleanup(&b);
}
END_TEST

START_TEST(in_list_limit_is_100)
{
	struct buf b;
	struct group_query *q;
	char want[64];
	size_t col = 0;

	buf_init(&b);
	buf_puts(&b, "name in (");
	for (int i = 0; i < GROUP_QUERY_IN_MAX; i++)
		buf_printf(&b, "%sv%d", i ? ", " : "", i);
	buf_putc(&b, ')');
	q = parse_ok(b.data);
	group_query_free(q);
	b.len--; /* drop ')' */
	col = b.len + 3;
	buf_puts(&b, ", v100)");
	snprintf(want, sizeof(want), "column %zu: more than 100 values in an 'in' list", col);
	expect_error(b.data, want);
	buf_cleanup(&b);
}
END_TEST

/* ---- SQL ---- */

START_TEST(sql_for_each_operator)
{
	expect_sql("name = a", 1, "(t.name = $1)", (const char *[]){ "a", NULL });
	expect_sql("name != a", 1, "(t.name IS DISTINCT FROM $1)", (const char *[]){ "a", NULL });
	expect_sql("hardware_type < m", 1, "(t.hardware_type COLLATE \"C\" < $1)",
		   (const char *[]){ "m", NULL });
	expect_sql("hardware_type <= m", 2, "(t.hardware_type COLLATE \"C\" <= $2)",
		   (const char *[]){ "m", NULL });
	expect_sql("hardware_type > m", 1, "(t.hardware_type COLLATE \"C\" > $1)",
		   (const char *[]){ "m", NULL });
	expect_sql("hardware_type >= m", 1, "(t.hardware_type COLLATE \"C\" >= $1)",
		   (const char *[]){ "m", NULL });
	expect_sql("firmware_version = 1.2.0", 1, "(t.firmware_version = $1)",
		   (const char *[]){ "1.2.0", NULL });
	expect_sql(
		"firmware_version >= 1.2.0", 3, "(t.firmware_sort_key >= $3)",
		(const char *[]){ "00000000000000000001.00000000000000000002.00000000000000000000~",
				  NULL });
	expect_sql("firmware_version < \"2.0.0-rc.1\"", 1, "(t.firmware_sort_key < $1)",
		   (const char *[]){
			   "00000000000000000002.00000000000000000000.00000000000000000000-+rc#011",
			   NULL });
	expect_sql("name ~ \"sensor-*\"", 1, "(t.name LIKE $1)",
		   (const char *[]){ "sensor-%", NULL });
	expect_sql("name in (a, b, c)", 5, "(t.name IN ($5, $6, $7))",
		   (const char *[]){ "a", "b", "c", NULL });
	expect_sql("name exists", 1, "(t.name IS NOT NULL)", (const char *[]){ NULL });
	expect_sql("hardware_type exists", 1, "(t.hardware_type IS NOT NULL)",
		   (const char *[]){ NULL });
}
END_TEST

START_TEST(sql_passes_attribute_keys_as_parameters)
{
	expect_sql("attributes.env = prod", 1, "((t.attributes->>$1::text) = $2)",
		   (const char *[]){ "env", "prod", NULL });
	expect_sql("attributes.env exists", 4, "(t.attributes ? $4::text)",
		   (const char *[]){ "env", NULL });
	expect_sql("attributes.floor > 3", 1, "((t.attributes->>$1::text) COLLATE \"C\" > $2)",
		   (const char *[]){ "floor", "3", NULL });
	expect_sql("attributes.site.region in (eu, us)", 1,
		   "((t.attributes->>$1::text) IN ($2, $3))",
		   (const char *[]){ "site.region", "eu", "us", NULL });
	expect_sql("attributes.env ~ \"p*\"", 1, "((t.attributes->>$1::text) LIKE $2)",
		   (const char *[]){ "env", "p%", NULL });
}
END_TEST

START_TEST(sql_negation_is_null_safe)
{
	/* NOT is pushed into the comparisons, each negated form being true for NULL columns */
	expect_sql("not name = a", 1, "(t.name IS DISTINCT FROM $1)",
		   (const char *[]){ "a", NULL });
	expect_sql("not name != a", 1, "(t.name = $1)", (const char *[]){ "a", NULL });
	expect_sql("not not name = a", 1, "(t.name = $1)", (const char *[]){ "a", NULL });
	expect_sql(
		"not firmware_version < 2.0.0", 1,
		"(t.firmware_sort_key IS NULL OR t.firmware_sort_key >= $1)",
		(const char *[]){ "00000000000000000002.00000000000000000000.00000000000000000000~",
				  NULL });
	expect_sql("not hardware_type >= m", 1,
		   "(t.hardware_type IS NULL OR t.hardware_type COLLATE \"C\" < $1)",
		   (const char *[]){ "m", NULL });
	expect_sql("not hardware_type > m", 1,
		   "(t.hardware_type IS NULL OR t.hardware_type COLLATE \"C\" <= $1)",
		   (const char *[]){ "m", NULL });
	expect_sql("not hardware_type <= m", 1,
		   "(t.hardware_type IS NULL OR t.hardware_type COLLATE \"C\" > $1)",
		   (const char *[]){ "m", NULL });
	expect_sql("not name ~ \"a?\"", 1, "(t.name IS NULL OR t.name NOT LIKE $1)",
		   (const char *[]){ "a_", NULL });
	expect_sql("not name in (a, b)", 1, "(t.name IS NULL OR t.name NOT IN ($1, $2))",
		   (const char *[]){ "a", "b", NULL });
	expect_sql("not hardware_type exists", 1, "(t.hardware_type IS NULL)",
		   (const char *[]){ NULL });
	expect_sql("not attributes.env exists", 1,
		   "(t.attributes IS NULL OR NOT (t.attributes ? $1::text))",
		   (const char *[]){ "env", NULL });
	expect_sql("not attributes.env = x", 1, "((t.attributes->>$1::text) IS DISTINCT FROM $2)",
		   (const char *[]){ "env", "x", NULL });
	expect_sql("not attributes.env < x", 1,
		   "((t.attributes->>$1::text) IS NULL OR (t.attributes->>$1::text) COLLATE \"C\" "
		   ">= $2)",
		   (const char *[]){ "env", "x", NULL });
}
END_TEST

START_TEST(sql_applies_de_morgan_under_not)
{
	expect_sql("name = a and (hardware_type = b or not firmware_version = c)", 1,
		   "((t.name = $1) AND ((t.hardware_type = $2) OR (t.firmware_version IS DISTINCT "
		   "FROM $3)))",
		   (const char *[]){ "a", "b", "c", NULL });
	expect_sql("not (name = a or hardware_type = b)", 1,
		   "((t.name IS DISTINCT FROM $1) AND (t.hardware_type IS DISTINCT FROM $2))",
		   (const char *[]){ "a", "b", NULL });
	expect_sql("not (name = a and not (hardware_type = b or name exists))", 1,
		   "((t.name IS DISTINCT FROM $1) OR ((t.hardware_type = $2) OR (t.name IS NOT "
		   "NULL)))",
		   (const char *[]){ "a", "b", NULL });
}
END_TEST

START_TEST(sql_escapes_like_metacharacters)
{
	expect_sql("name ~ \"50%_off\\\\*?\"", 1, "(t.name LIKE $1)",
		   (const char *[]){ "50\\%\\_off\\\\%_", NULL });
	expect_sql("name ~ \"\"", 1, "(t.name LIKE $1)", (const char *[]){ "", NULL });
}
END_TEST

START_TEST(sql_keeps_hostile_text_in_parameters)
{
	static const char *const texts[] = {
		"name = \"'; DROP TABLE things; --\"",
		"name = \"$1\"",
		"hardware_type in (\"a') OR 1=1 --\", \"\\\"\\\\\")",
		"attributes.x = \"' || pg_sleep(10) || '\"",
		"name ~ \"%' OR '1'='1\"",
		"firmware_version != \"1.0.0'); --\"",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct group_query *q = parse_ok(texts[i]);
		struct buf sql;
		char **params;
		int n;

		buf_init(&sql);
		ck_assert(group_query_to_sql(q, 1, &sql, &params, &n));
		ck_assert_msg(!strchr(sql.data, '\''), "quote in %s", sql.data);
		ck_assert_msg(!strchr(sql.data, ';'), "semicolon in %s", sql.data);
		ck_assert_msg(!strstr(sql.data, "--"), "comment in %s", sql.data);
		ck_assert_msg(!strstr(sql.data, "DROP") && !strstr(sql.data, "pg_sleep"), "%s",
			      sql.data);
		/* only fixed SQL vocabulary and placeholders */
		for (const char *s = sql.data; *s; s++)
			ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789_.$()<>=!?:\" ,-",
					     *s) != NULL,
				      "unexpected '%c' in %s", *s, sql.data);
		ck_assert_int_ge(n, 1);
		free_params(params, n);
		buf_cleanup(&sql);
		group_query_free(q);
	}
	expect_sql("name = \"'; DROP TABLE things; --\"", 1, "(t.name = $1)",
		   (const char *[]){ "'; DROP TABLE things; --", NULL });
}
END_TEST

START_TEST(sql_appends_to_existing_buffer)
{
	struct group_query *q = parse_ok("name = a");
	struct buf sql;
	char **params;
	int n;

	buf_init(&sql);
	buf_puts(&sql, "SELECT t.name FROM things t WHERE t.tenant = $1 AND ");
	ck_assert(group_query_to_sql(q, 2, &sql, &params, &n));
	ck_assert_str_eq(sql.data,
			 "SELECT t.name FROM things t WHERE t.tenant = $1 AND (t.name = $2)");
	free_params(params, n);
	buf_cleanup(&sql);
	group_query_free(q);
}
END_TEST

START_TEST(sql_fails_cleanly)
{
	struct group_query *q = parse_ok("name = a and hardware_type in (x, y, z)");
	struct buf sql;
	char **params = (char **)1;
	int n = 7;

	buf_init(&sql);
	ck_assert(!group_query_to_sql(q, 0, &sql, &params, &n));
	ck_assert_ptr_null(params);
	ck_assert_int_eq(n, 0);
	ck_assert(!group_query_to_sql(NULL, 1, &sql, &params, &n));
	sql.max = 10; /* too small for the condition */
	ck_assert(!group_query_to_sql(q, 1, &sql, &params, &n));
	ck_assert_ptr_null(params);
	ck_assert_int_eq(n, 0);
	buf_cleanup(&sql);
	group_query_free(q);
}
END_TEST

START_TEST(sql_uses_every_parameter_number_in_order)
{
	struct group_query *q = parse_ok(
		"attributes.a = 1 or (attributes.b in (2, 3) and not attributes.c exists) or "
		"firmware_version >= 1.0.0 or name ~ \"x*\"");
	struct buf sql;
	char **params;
	int n;
	char ph[16];

	buf_init(&sql);
	ck_assert(group_query_to_sql(q, 10, &sql, &params, &n));
	ck_assert_int_eq(n, 8);
	for (int i = 0; i < n; i++) {
		snprintf(ph, sizeof(ph), "$%d", 10 + i);
		ck_assert_msg(strstr(sql.data, ph), "%s missing in %s", ph, sql.data);
	}
	snprintf(ph, sizeof(ph), "$%d", 10 + n);
	ck_assert(!strstr(sql.data, ph));
	ck_assert(!strstr(sql.data, "$9"));
	free_params(params, n);
	buf_cleanup(&sql);
	group_query_free(q);
}
END_TEST

/* ---- in-memory matching ---- */

struct fixture {
	struct group_query_thing things[5];
	json_t *attrs[5];
};

static struct fixture fx;

static void things_setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.attrs[0] = json_pack("{s:s, s:s, s:i, s:b}", "env", "prod", "site.region", "eu-west",
				"floor", 3, "beta", 1);
	fx.attrs[1] = json_pack("{s:s}", "env", "staging");
	fx.attrs[3] = json_pack("{s:n, s:s, s:f}", "env", "owner", "ops", "ratio", 0.5);
	fx.attrs[4] = json_object();
	fx.things[0] = (struct group_query_thing){ "sensor-1", "rpi4", "1.2.0", fx.attrs[0] };
	fx.things[1] = (struct group_query_thing){ "sensor-2", "rpi3", "1.10.0-rc.1", fx.attrs[1] };
	fx.things[2] = (struct group_query_thing){ "gateway-1", NULL, NULL, NULL };
	fx.things[3] =
		(struct group_query_thing){ "caf\xc3\xa9-7", "esp32", "not-semver", fx.attrs[3] };
	fx.things[4] =
		(struct group_query_thing){ "50%_off", "rpi4", "2.0.0+build.7", fx.attrs[4] };
}

static void things_teardown(void)
{
	for (int i = 0; i < 5; i++)
		json_decref(fx.attrs[i]);
}

/* Bit i of the result is set when thing i matches. */
static unsigned match_mask(const char *text)
{
	struct group_query *q = parse_ok(text);
	unsigned mask = 0;

	for (unsigned i = 0; i < 5; i++) {
		if (group_query_match(q, &fx.things[i]))
			mask |= 1u << i;
	}
	group_query_free(q);
	return mask;
}

struct match_case {
	const char *text;
	unsigned mask;
};

START_TEST(match_follows_documented_semantics)
{
	static const struct match_case cases[] = {
		{ "name = sensor-1", 0x01 },
		{ "name != sensor-1", 0x1e },
		{ "hardware_type = rpi4", 0x11 },
		{ "hardware_type != rpi4", 0x0e }, /* NULL hardware_type is "not rpi4" */
		{ "not hardware_type = rpi4", 0x0e },
		{ "not hardware_type != rpi4", 0x11 },
		{ "hardware_type exists", 0x1b },
		{ "not hardware_type exists", 0x04 },
		{ "hardware_type < rpi4", 0x0a },     /* bytewise: "esp32" < "rpi3" < "rpi4" */
		{ "not hardware_type < rpi4", 0x15 }, /* NULL is "not less" */
		{ "hardware_type in (rpi3, esp32)", 0x0a },
		{ "not hardware_type in (rpi3, esp32)", 0x15 },
		{ "name ~ \"sensor-*\"", 0x03 },
		{ "name ~ \"*-?\"", 0x0f },
		{ "name ~ \"caf?-7\"", 0x08 }, /* '?' is one character, not one byte */
		{ "name ~ \"caf?\?-7\"", 0x00 },
		{ "name ~ \"50%_off\"", 0x10 }, /* % and _ are literal */
		{ "name ~ \"5%\"", 0x00 },
		{ "name ~ \"*\"", 0x1f },
		{ "name ~ \"**1\"", 0x05 },
		{ "not hardware_type ~ \"rpi*\"", 0x0c },
		{ "firmware_version = 1.2.0", 0x01 },
		{ "firmware_version = 2.0.0", 0x00 },  /* '=' is textual */
		{ "firmware_version >= 2.0.0", 0x10 }, /* ordering is by precedence */
		{ "firmware_version <= 2.0.0", 0x13 },
		{ "firmware_version > 1.9.0", 0x12 },	   /* 1.10.0-rc.1 > 1.9.0 */
		{ "firmware_version < 1.10.0", 0x03 },	   /* 1.10.0-rc.1 < 1.10.0 */
		{ "not firmware_version < 1.10.0", 0x1c }, /* no or invalid version: "not less" */
		{ "firmware_version exists", 0x1b },
		{ "attributes.env = prod", 0x01 },
		{ "attributes.env != prod", 0x1e },
		{ "attributes.env exists", 0x0b }, /* a JSON null value still exists */
		{ "not attributes.env exists", 0x14 },
		{ "attributes.env ~ \"*\"", 0x03 }, /* JSON null has no text */
		{ "attributes.site.region ~ \"eu-*\"", 0x01 },
		{ "attributes.floor = 3", 0x01 },  /* integers compare as decimal text */
		{ "attributes.floor > 10", 0x01 }, /* ... bytewise: "3" > "10" */
		{ "attributes.beta = true", 0x01 },
		{ "attributes.ratio exists", 0x08 },
		{ "attributes.ratio = 0.5", 0x00 }, /* reals have no text in memory */
		{ "attributes.missing exists", 0x00 },
		{ "attributes.owner in (ops, dev)", 0x08 },
		{ "name = sensor-1 or name = sensor-2", 0x03 },
		{ "hardware_type = rpi4 and firmware_version >= 1.0.0", 0x11 },
		{ "not (hardware_type = rpi4 and firmware_version >= 2.0.0)", 0x0f },
		{ "not hardware_type = rpi4 and firmware_version >= 1.0.0", 0x02 },
		{ "name exists and not (attributes.env exists or hardware_type exists)", 0x04 },
		{ "(name ~ \"s*\" or name ~ \"g*\") and not firmware_version > 1.5.0", 0x05 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = match_mask(cases[i].text);
		ck_assert_msg(got == cases[i].mask, "'%s': got 0x%02x want 0x%02x", cases[i].text,
			      got, cases[i].mask);
	}
}
END_TEST

START_TEST(match_handles_absent_thing_fields)
{
	struct group_query_thing empty = { NULL, NULL, NULL, NULL };
	struct group_query *q = parse_ok("name != x and not name exists and not attributes.a = b");

	ck_assert(group_query_match(q, &empty));
	ck_assert(!group_query_match(NULL, &empty));
	group_query_free(q);
}
END_TEST

/* ---- properties over generated queries ---- */

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static const char *const fields[] = {
	"name",		  "hardware_type",	    "firmware_version",
	"attributes.env", "attributes.site.region", "attributes.n"
};
static const char *const values[] = { "a",	 "b",	       "ab",	"\"\"",
				      "\"a b\"", "\"x\\\"y\"", "1.0.0", "1.2.0-rc.1",
				      "2.0.0",	 "10",	       "3",	"true" };
static const char *const globs[] = { "\"*\"", "\"a*\"", "\"?\"", "\"*b\"", "\"a?\"", "\"%\"" };
static const char *const versions[] = { "1.0.0", "1.2.0-rc.1", "2.0.0", "0.9.9", "1.2.0" };

static void gen_cmp(struct buf *b)
{
	const char *f = fields[rnd(6)];
	unsigned op = rnd(9);

	if (op < 6 && strcmp(f, "firmware_version") == 0 && op >= 2) {
		static const char *const ops[] = { "<", "<=", ">", ">=" };
		buf_printf(b, "%s %s %s", f, ops[op - 2], versions[rnd(5)]);
		return;
	}
	switch (op) {
	case 0:
		buf_printf(b, "%s = %s", f, values[rnd(12)]);
		break;
	case 1:
		buf_printf(b, "%s != %s", f, values[rnd(12)]);
		break;
	case 2:
	case 3:
	case 4:
	case 5: {
		static const char *const ops[] = { "<", "<=", ">", ">=" };
		buf_printf(b, "%s %s %s", f, ops[op - 2], values[rnd(12)]);
		break;
	}
	case 6:
		buf_printf(b, "%s ~ %s", f, globs[rnd(6)]);
		break;
	case 7: {
		unsigned n = 1 + rnd(3);
		buf_printf(b, "%s in (", f);
		for (unsigned i = 0; i < n; i++)
			buf_printf(b, "%s%s", i ? ", " : "", values[rnd(12)]);
		buf_putc(b, ')');
		break;
	}
	default:
		buf_printf(b, "%s exists", f);
	}
}

static void gen_expr(struct buf *b, int depth)
{
	unsigned k = depth >= 4 ? 0 : rnd(6);

	switch (k) {
	case 0:
	case 1:
		gen_cmp(b);
		break;
	case 2:
		buf_puts(b, "not ");
		gen_expr(b, depth + 1);
		break;
	case 3:
		buf_putc(b, '(');
		gen_expr(b, depth + 1);
		buf_putc(b, ')');
		break;
	default: {
		unsigned n = 2 + rnd(2);
		buf_putc(b, '(');
		for (unsigned i = 0; i < n; i++) {
			if (i)
				buf_puts(b, k == 4 ? " and " : " or ");
			gen_expr(b, depth + 1);
		}
		buf_putc(b, ')');
	}
	}
}

static const char *const thing_values[] = { "a",     "b", "ab", "",	"a b", "x\"y",
					    "1.0.0", "3", "10", "true", "z" };

static void gen_thing(struct group_query_thing *t, json_t **attrs)
{
	static const char *const fws[] = { "1.0.0", "1.2.0-rc.1", "2.0.0", "1.2.0",
					   "junk",  "1.0.0+b",	  "0.1.0" };

	t->name = thing_values[rnd(11)];
	t->hardware_type = rnd(4) ? thing_values[rnd(11)] : NULL;
	t->firmware_version = rnd(5) ? fws[rnd(7)] : NULL;
	*attrs = NULL;
	if (rnd(4)) {
		*attrs = json_object();
		if (rnd(2))
			json_object_set_new(*attrs, "env",
					    rnd(5) ? json_string(thing_values[rnd(11)])
						   : json_null());
		if (rnd(2))
			json_object_set_new(*attrs, "site.region",
					    json_string(thing_values[rnd(11)]));
		if (rnd(2))
			json_object_set_new(*attrs, "n",
					    rnd(2) ? json_integer((json_int_t)rnd(20))
						   : json_true());
	}
	t->attributes = *attrs;
}

START_TEST(generated_queries_format_parse_and_negate_consistently)
{
	rng_state = 0x2545F4914F6CDD1Dull;
	for (int iter = 0; iter < 3000; iter++) {
		struct buf text, neg;
		struct group_query *q, *q2, *qn;
		char *f1, *f2;

		buf_init(&text);
		buf_init(&neg);
		gen_expr(&text, 0);
		ck_assert(!text.is_oom);
		q = parse_ok(text.data);
		f1 = group_query_format(q);
		q2 = parse_ok(f1);
		f2 = group_query_format(q2);
		ck_assert_msg(strcmp(f1, f2) == 0, "format not stable:\n%s\n%s", f1, f2);
		buf_printf(&neg, "not (%s)", text.data);
		qn = parse_ok(neg.data);

		for (int k = 0; k < 20; k++) {
			struct group_query_thing t;
			json_t *attrs;
			gen_thing(&t, &attrs);
			bool m = group_query_match(q, &t);
			ck_assert_msg(group_query_match(q2, &t) == m, "formatted differs: %s", f1);
			ck_assert_msg(group_query_match(qn, &t) == !m, "negation: %s", text.data);
			json_decref(attrs);
		}

		struct buf sql;
		char **params;
		int n, open = 0;
		buf_init(&sql);
		ck_assert(group_query_to_sql(q, 1, &sql, &params, &n));
		for (const char *s = sql.data; *s; s++) {
			open += *s == '(' ? 1 : *s == ')' ? -1 : 0;
			ck_assert_int_ge(open, 0);
		}
		ck_assert_int_eq(open, 0);
		free_params(params, n);
		buf_cleanup(&sql);

		free(f1);
		free(f2);
		group_query_free(q);
		group_query_free(q2);
		group_query_free(qn);
		buf_cleanup(&text);
		buf_cleanup(&neg);
	}
}
END_TEST

static Suite *group_query_suite(void)
{
	Suite *s = suite_create("group_query");
	TCase *tc = tcase_create("grammar");

	tcase_add_test(tc, parses_and_normalises_valid_queries);
	tcase_add_test(tc, format_quotes_values_that_are_not_bare_words);
	tcase_add_test(tc, reports_errors_with_columns);
	tcase_add_test(tc, error_shortens_long_tokens);
	tcase_add_test(tc, error_buffer_may_be_small_or_absent);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, text_limit_is_4096_bytes);
	tcase_add_test(tc, comparison_limit_is_64);
	tcase_add_test(tc, nesting_limit_is_16);
	tcase_add_test(tc, in_list_limit_is_100);
	suite_add_tcase(s, tc);

	tc = tcase_create("sql");
	tcase_add_test(tc, sql_for_each_operator);
	tcase_add_test(tc, sql_passes_attribute_keys_as_parameters);
	tcase_add_test(tc, sql_negation_is_null_safe);
	tcase_add_test(tc, sql_applies_de_morgan_under_not);
	tcase_add_test(tc, sql_escapes_like_metacharacters);
	tcase_add_test(tc, sql_keeps_hostile_text_in_parameters);
	tcase_add_test(tc, sql_appends_to_existing_buffer);
	tcase_add_test(tc, sql_fails_cleanly);
	tcase_add_test(tc, sql_uses_every_parameter_number_in_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, things_setup, things_teardown);
	tcase_add_test(tc, match_follows_documented_semantics);
	tcase_add_test(tc, match_handles_absent_thing_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("properties");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, generated_queries_format_parse_and_negate_consistently);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(group_query_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
