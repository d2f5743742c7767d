/* Unit tests for json/page: limit parsing and opaque cursors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/strutil.h"
#include "json/page.h"

START_TEST(limit_defaults_when_absent)
{
	int out = -5;

	ck_assert_int_eq(page_limit_parse(NULL, 25, 100, &out), 0);
	ck_assert_int_eq(out, 25);
}
END_TEST

START_TEST(limit_accepts_1_to_max)
{
	int out = 0;

	ck_assert_int_eq(page_limit_parse("1", 25, 100, &out), 0);
	ck_assert_int_eq(out, 1);
	ck_assert_int_eq(page_limit_parse("50", 25, 100, &out), 0);
	ck_assert_int_eq(out, 50);
	ck_assert_int_eq(page_limit_parse("100", 25, 100, &out), 0);
	ck_assert_int_eq(out, 100);
	ck_assert_int_eq(page_limit_parse("007", 25, 100, &out), 0);
	ck_assert_int_eq(out, 7);
	ck_assert_int_eq(page_limit_parse("2147483647", 1, 2147483647, &out), 0);
	ck_assert_int_eq(out, 2147483647);
}
END_TEST

START_TEST(limit_rejects_non_integers_and_out_of_range)
{
	static const char *const bad[] = {
		"",
		"0",
		"-1",
		"+5",
		" 5",
		"5 ",
		"5x",
		"abc",
		"1e3",
		"1.5",
		"101",
		"0x10",
		"99999999999999999999999",
		"\xef\xbc\x95",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int out = 42;
		ck_assert_msg(page_limit_parse(bad[i], 25, 100, &out) == -1, "'%s'", bad[i]);
		ck_assert_int_eq(out, 42); /* untouched */
	}
	int out = 42;
	ck_assert_int_eq(page_limit_parse("2147483648", 1, 2147483647, &out), -1);
}
END_TEST

static void round_trip(const char *json, size_t max_keys)
{
	json_error_t jerr;
	json_t *keys = json_loads(json, 0, &jerr);
	json_t *back;
	char *cursor;

	ck_assert_ptr_nonnull(keys);
	cursor = page_cursor_encode(keys);
	ck_assert_msg(cursor != NULL, "encode %s", json);
	ck_assert(strncmp(cursor, PAGE_CURSOR_PREFIX, strlen(PAGE_CURSOR_PREFIX)) == 0);
	/* safe in a URL query without escaping */
	for (const char *s = cursor; *s; s++)
		ck_assert(strchr(
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", *s));
	back = page_cursor_decode(cursor, max_keys);
	ck_assert_msg(back != NULL, "decode %s", cursor);
	ck_assert(json_equal(keys, back));
	json_decref(back);
	free(cursor);
	json_decref(keys);
}

START_TEST(cursor_round_trips_strings_and_integers)
{
	round_trip("[\"thing-0042\"]", 1);
	round_trip("[1234, \"x\"]", 2);
	round_trip("[\"\"]", 1);
	round_trip("[-9223372036854775808, 9223372036854775807, 0]", 3);
	round_trip("[\"caf\\u00e9 \\u20ac \\ud83d\\ude00\", \"quote\\\" back\\\\slash\"]", 4);
	round_trip("[\"a\", \"b\", \"c\", \"d\", 5]", 5);
}
END_TEST

START_TEST(cursor_has_version_prefix_and_base64url_json)
{
	json_t *keys = json_pack("[si]", "thing-0042", 7);
	char *cursor = page_cursor_encode(keys);
	void *raw;
	size_t len;

	ck_assert_ptr_nonnull(cursor);
	ck_assert_str_eq(PAGE_CURSOR_PREFIX, "v1.");
	ck_assert(strutil_b64url_decode(cursor + 3, &raw, &len));
	ck_assert_str_eq(raw, "[\"thing-0042\",7]");
	free(raw);
	free(cursor);
	json_decref(keys);
}
END_TEST

START_TEST(encode_rejects_other_shapes)
{
	static const char *const bad[] = {
		"[]",	"[1.5]",	"[null]", "[true]", "[[1]]",
		"[{}]", "[\"a\", 2.0]", "{}",	  "\"a\"",  "1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(v);
		ck_assert_msg(page_cursor_encode(v) == NULL, "%s", bad[i]);
		json_decref(v);
	}
	ck_assert_ptr_null(page_cursor_encode(NULL));
}
END_TEST

/* ["xxx...x"] with n bytes of JSON in all. */
static json_t *keys_of_json_len(size_t n)
{
	char *s = malloc(n - 4 + 1);
	json_t *keys;

	ck_assert_ptr_nonnull(s);
	memset(s, 'x', n - 4);
	s[n - 4] = '\0';
	keys = json_pack("[s]", s);
	free(s);
	return keys;
}

START_TEST(cursor_is_at_most_1024_characters)
{
	/* 765 bytes of JSON -> 1020 base64url characters + "v1." = 1023 */
	json_t *keys = keys_of_json_len(765);
	char *cursor = page_cursor_encode(keys);
	json_t *back;

	ck_assert_ptr_nonnull(cursor);
	ck_assert_uint_eq(strlen(cursor), 1023);
	back = page_cursor_decode(cursor, 1);
	ck_assert_ptr_nonnull(back);
	json_decref(back);
	free(cursor);
	json_decref(keys);

	/* 766 bytes -> 1022 + 3 = 1025: too long both ways */
	keys = keys_of_json_len(766);
	ck_assert_ptr_null(page_cursor_encode(keys));
	json_decref(keys);
	char *raw = malloc(767);
	ck_assert_ptr_nonnull(raw);
	memset(raw, 'x', 766);
	memcpy(raw, "[\"", 2);
	memcpy(raw + 764, "\"]", 2);
	raw[766] = '\0';
	char *b64 = strutil_b64url_encode(raw, 766);
	char *long_cursor = malloc(strlen(b64) + 4);
	strcpy(long_cursor, "v1.");
	strcat(long_cursor, b64);
	ck_assert_uint_eq(strlen(long_cursor), 1025);
	ck_assert_ptr_null(page_cursor_decode(long_cursor, 1));
	free(long_cursor);
	free(b64);
	free(raw);
}
END_TEST

/* "v1." + base64url(text). Caller frees. */
static char *cursor_of(const char *text)
{
	char *b64 = strutil_b64url_encode(text, strlen(text));
	char *c = malloc(strlen(b64) + 4);

	ck_assert_ptr_nonnull(c);
	strcpy(c, "v1.");
	strcat(c, b64);
	free(b64);
	return c;
}

START_TEST(decode_rejects_garbage)
{
	static const char *const bad_raw[] = {
		"",	  "v1",		 "v1.",		"v2.WyJhIl0", "WyJhIl0",    "V1.WyJhIl0",
		"v1.@@@", "v1.WyJhIl0=", "v1.WyJhIl0 ", "v1.W",	      "v1.WyJhIl1",
	};
	static const char *const bad_json[] = {
		"not json",	   "{\"a\":1}",	 "[]",	    "[1.5]", "[null]", "[true]",
		"[[1]]",	   "[{}]",	 "\"a\"",   "1",     "[1] x",  "[1",
		"[\"a\\u0000b\"]", "[\"\xff\"]", "[1,2,3]",
	};
	for (size_t i = 0; i < sizeof(bad_raw) / sizeof(bad_raw[0]); i++)
		ck_assert_msg(page_cursor_decode(bad_raw[i], 2) == NULL, "%s", bad_raw[i]);
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		char *c = cursor_of(bad_json[i]);
		ck_assert_msg(page_cursor_decode(c, 2) == NULL, "%s", bad_json[i]);
		free(c);
	}
	ck_assert_ptr_null(page_cursor_decode(NULL, 2));
	/* sanity: the same helper produces an accepted cursor */
	char *c = cursor_of("[\"a\",1]");
	json_t *ok = page_cursor_decode(c, 2);
	ck_assert_ptr_nonnull(ok);
	json_decref(ok);
	ck_assert_ptr_null(page_cursor_decode(c, 1)); /* more keys than allowed */
	ck_assert_ptr_null(page_cursor_decode(c, 0));
	free(c);
}
END_TEST

START_TEST(decode_bounds_work_on_huge_input)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, 'A', n);
	memcpy(s, "v1.", 3);
	s[n] = '\0';
	ck_assert_ptr_null(page_cursor_decode(s, 10));
	free(s);
}
END_TEST

static Suite *page_suite(void)
{
	Suite *s = suite_create("page");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, limit_defaults_when_absent);
	tcase_add_test(tc, limit_accepts_1_to_max);
	tcase_add_test(tc, limit_rejects_non_integers_and_out_of_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("cursor");
	tcase_add_test(tc, cursor_round_trips_strings_and_integers);
	tcase_add_test(tc, cursor_has_version_prefix_and_base64url_json);
	tcase_add_test(tc, encode_rejects_other_shapes);
	tcase_add_test(tc, cursor_is_at_most_1024_characters);
	tcase_add_test(tc, decode_rejects_garbage);
	tcase_add_test(tc, decode_bounds_work_on_huge_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(page_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
