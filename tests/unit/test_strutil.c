/* Unit tests for core/strutil: identifier rules, UTF-8, bounded copies, base64url, hex. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"

/* A string of n copies of c (static buffer, n < 1024). */
static const char *rep(char c, size_t n)
{
	static char s[1024];

	ck_assert_uint_lt(n, sizeof(s));
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(thing_name_accepts_aws_charset_and_length)
{
	ck_assert(strutil_is_valid_thing_name("a"));
	ck_assert(strutil_is_valid_thing_name("sensor-01:eu_west"));
	ck_assert(strutil_is_valid_thing_name("ABCxyz0189-_:"));
	ck_assert(strutil_is_valid_thing_name(rep('x', 128)));
	ck_assert(!strutil_is_valid_thing_name(rep('x', 129)));
	ck_assert(!strutil_is_valid_thing_name(""));
	ck_assert(!strutil_is_valid_thing_name(NULL));
	ck_assert(!strutil_is_valid_thing_name("a b"));
	ck_assert(!strutil_is_valid_thing_name("a.b"));
	ck_assert(!strutil_is_valid_thing_name("a/b"));
	ck_assert(!strutil_is_valid_thing_name("a$b"));
	ck_assert(!strutil_is_valid_thing_name("caf\xc3\xa9"));
	ck_assert(!strutil_is_valid_thing_name("a\nb"));
}
END_TEST

START_TEST(group_name_follows_thing_name_rule)
{
	ck_assert(strutil_is_valid_group_name("fleet:eu-west_1"));
	ck_assert(strutil_is_valid_group_name(rep('g', 128)));
	ck_assert(!strutil_is_valid_group_name(rep('g', 129)));
	ck_assert(!strutil_is_valid_group_name(""));
	ck_assert(!strutil_is_valid_group_name("a.b"));
}
END_TEST

START_TEST(job_id_rejects_colon_and_long_ids)
{
	ck_assert(strutil_is_valid_job_id("job-2024_01"));
	ck_assert(strutil_is_valid_job_id(rep('j', 64)));
	ck_assert(!strutil_is_valid_job_id(rep('j', 65)));
	ck_assert(!strutil_is_valid_job_id("job:1"));
	ck_assert(!strutil_is_valid_job_id("job.1"));
	ck_assert(!strutil_is_valid_job_id(""));
	ck_assert(!strutil_is_valid_job_id(NULL));
}
END_TEST

START_TEST(shadow_name_allows_dollar_and_colon)
{
	ck_assert(strutil_is_valid_shadow_name("config"));
	ck_assert(strutil_is_valid_shadow_name("$package"));
	ck_assert(strutil_is_valid_shadow_name("a:b_c-d$"));
	ck_assert(strutil_is_valid_shadow_name(rep('s', 64)));
	ck_assert(!strutil_is_valid_shadow_name(rep('s', 65)));
	ck_assert(!strutil_is_valid_shadow_name("a.b"));
	ck_assert(!strutil_is_valid_shadow_name("a/b"));
	ck_assert(!strutil_is_valid_shadow_name(""));
}
END_TEST

START_TEST(attr_key_allows_dot)
{
	ck_assert(strutil_is_valid_attr_key("site.region:zone_a-1"));
	ck_assert(strutil_is_valid_attr_key(rep('k', 128)));
	ck_assert(!strutil_is_valid_attr_key(rep('k', 129)));
	ck_assert(!strutil_is_valid_attr_key(""));
	ck_assert(!strutil_is_valid_attr_key("a b"));
	ck_assert(!strutil_is_valid_attr_key("a$b"));
	ck_assert(!strutil_is_valid_attr_key("a*"));
	ck_assert(!strutil_is_valid_attr_key(NULL));
}
END_TEST

START_TEST(attr_value_is_bounded_utf8_without_controls)
{
	ck_assert(strutil_is_valid_attr_value(""));
	ck_assert(strutil_is_valid_attr_value("hello world, 100% \"ok\""));
	ck_assert(strutil_is_valid_attr_value("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	ck_assert(strutil_is_valid_attr_value(rep('v', 800)));
	ck_assert(!strutil_is_valid_attr_value(rep('v', 801)));
	ck_assert(!strutil_is_valid_attr_value("tab\there"));
	ck_assert(!strutil_is_valid_attr_value("line\n"));
	ck_assert(!strutil_is_valid_attr_value("del\x7f"));
	ck_assert(!strutil_is_valid_attr_value("c1\xc2\x85"));	/* U+0085 NEL */
	ck_assert(strutil_is_valid_attr_value("nbsp\xc2\xa0")); /* U+00A0 is fine */
	ck_assert(!strutil_is_valid_attr_value("bad\xc3"));	/* truncated */
	ck_assert(!strutil_is_valid_attr_value("bad\xc0\xaf")); /* overlong */
	ck_assert(!strutil_is_valid_attr_value(NULL));
}
END_TEST

START_TEST(attr_value_limit_counts_bytes_not_characters)
{
	char s[802];

	/* 400 two-byte characters = 800 bytes: allowed; one more byte: rejected */
	for (int i = 0; i < 400; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[800] = '\0';
	ck_assert(strutil_is_valid_attr_value(s));
	s[800] = 'x';
	s[801] = '\0';
	ck_assert(!strutil_is_valid_attr_value(s));
}
END_TEST

struct utf8_case {
	const char *s;
	size_t len;
	bool is_valid;
};

START_TEST(utf8_follows_rfc3629)
{
	static const struct utf8_case cases[] = {
		{ "", 0, true },
		{ "ascii", 5, true },
		{ "\x00", 1, true },		 /* U+0000 */
		{ "\xc2\x80", 2, true },	 /* U+0080 */
		{ "\xdf\xbf", 2, true },	 /* U+07FF */
		{ "\xe0\xa0\x80", 3, true },	 /* U+0800 */
		{ "\xed\x9f\xbf", 3, true },	 /* U+D7FF */
		{ "\xee\x80\x80", 3, true },	 /* U+E000 */
		{ "\xef\xbf\xbf", 3, true },	 /* U+FFFF */
		{ "\xf0\x90\x80\x80", 4, true }, /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 4, true }, /* U+10FFFF */
		{ "\x80", 1, false },		 /* lone continuation */
		{ "\xbf", 1, false },
		{ "\xc0\x80", 2, false },	  /* overlong NUL */
		{ "\xc1\xbf", 2, false },	  /* overlong */
		{ "\xe0\x9f\xbf", 3, false },	  /* overlong */
		{ "\xf0\x8f\xbf\xbf", 4, false }, /* overlong */
		{ "\xed\xa0\x80", 3, false },	  /* surrogate D800 */
		{ "\xed\xbf\xbf", 3, false },	  /* surrogate DFFF */
		{ "\xf4\x90\x80\x80", 4, false }, /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\xff", 1, false },
		{ "\xfe", 1, false },
		{ "\xc3", 1, false },	      /* truncated */
		{ "\xe2\x82", 2, false },     /* truncated */
		{ "\xf0\x9f\x98", 3, false }, /* truncated */
		{ "\xc3\x28", 2, false },     /* bad continuation */
		{ "\xe2\x28\xa1", 3, false },
		{ "a\xe2\x82\xac"
		  "b",
		  5, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(strutil_is_utf8(cases[i].s, cases[i].len) == cases[i].is_valid,
			      "case %zu", i);
	/* the length bounds the check: a valid prefix of a longer invalid text */
	ck_assert(strutil_is_utf8("ok\xff", 2));
	ck_assert(strutil_is_utf8(NULL, 0));
	ck_assert(!strutil_is_utf8(NULL, 1));
}
END_TEST

START_TEST(lcpy_truncates_and_reports_source_length)
{
	char dst[8];

	ck_assert_uint_eq(strutil_lcpy(dst, "abc", sizeof(dst)), 3);
	ck_assert_str_eq(dst, "abc");
	ck_assert_uint_eq(strutil_lcpy(dst, "abcdefghij", sizeof(dst)), 10);
	ck_assert_str_eq(dst, "abcdefg");
	ck_assert_uint_eq(strutil_lcpy(dst, "1234567", sizeof(dst)), 7);
	ck_assert_str_eq(dst, "1234567");
	ck_assert_uint_eq(strutil_lcpy(dst, "", sizeof(dst)), 0);
	ck_assert_str_eq(dst, "");
	dst[0] = 'z';
	ck_assert_uint_eq(strutil_lcpy(dst, "abc", 0), 3);
	ck_assert_int_eq(dst[0], 'z'); /* size 0 writes nothing */
	ck_assert_uint_eq(strutil_lcpy(dst, "abc", 1), 3);
	ck_assert_str_eq(dst, "");
}
END_TEST

START_TEST(dup_n_copies_at_most_n_bytes)
{
	char *s = strutil_dup_n("hello", 3);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "hel");
	free(s);
	s = strutil_dup_n("hi", 10); /* stops at the NUL */
	ck_assert_str_eq(s, "hi");
	free(s);
	s = strutil_dup_n("hi", 0);
	ck_assert_str_eq(s, "");
	free(s);
	/* does not read past n bytes of a non-terminated buffer */
	char raw[3] = { 'x', 'y', 'z' };
	s = strutil_dup_n(raw, sizeof(raw));
	ck_assert_str_eq(s, "xyz");
	free(s);
}
END_TEST

/* RFC 4648 section 10 vectors (padding removed; the alphabet is the same for these). */
START_TEST(b64url_encodes_rfc4648_vectors)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
	};

	for (size_t i = 0; i < 7; i++) {
		char *e = strutil_b64url_encode(in[i], strlen(in[i]));
		void *d;
		size_t dlen;

		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(e, out[i]);
		ck_assert(strutil_b64url_decode(e, &d, &dlen));
		ck_assert_uint_eq(dlen, strlen(in[i]));
		ck_assert_mem_eq(d, in[i], dlen);
		ck_assert_int_eq(((char *)d)[dlen], '\0');
		free(e);
		free(d);
	}
}
END_TEST

START_TEST(b64url_uses_url_safe_alphabet)
{
	static const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
	char *e = strutil_b64url_encode(bytes, sizeof(bytes));
	void *d;
	size_t dlen;

	ck_assert_str_eq(e, "-_-_");
	ck_assert(strutil_b64url_decode(e, &d, &dlen));
	ck_assert_uint_eq(dlen, 3);
	ck_assert_mem_eq(d, bytes, 3);
	free(e);
	free(d);
}
END_TEST

START_TEST(b64url_round_trips_all_byte_values_and_lengths)
{
	unsigned char data[300];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(data); len++) {
		char *e = strutil_b64url_encode(data, len);
		void *d = NULL;
		size_t dlen = 0;

		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(strlen(e), (len * 8 + 5) / 6);
		ck_assert(strutil_b64url_decode(e, &d, &dlen));
		ck_assert_uint_eq(dlen, len);
		ck_assert(len == 0 || memcmp(d, data, len) == 0);
		free(e);
		free(d);
	}
}
END_TEST

START_TEST(b64url_decode_rejects_noncanonical_input)
{
	static const char *const bad[] = {
		"Zg==",	 /* padding */
		"Zm8=",	 /* padding */
		"Z",	 /* impossible length */
		"Zm9vY", /* impossible length */
		"Zm+v",	 /* standard alphabet */
		"Zm/v",	 /* standard alphabet */
		"Zm 9v", /* space */
		"Zh",	 /* non-zero trailing bits ("Zg" is canonical) */
		"Zm9",	 /* non-zero trailing bits ("Zm8" is canonical) */
		"Zm9v\n", "\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *d = (void *)1;
		size_t dlen = 99;

		ck_assert_msg(!strutil_b64url_decode(bad[i], &d, &dlen), "case %zu", i);
		ck_assert_ptr_null(d);
		ck_assert_uint_eq(dlen, 0);
	}
	void *d = (void *)1;
	size_t dlen = 1;
	ck_assert(!strutil_b64url_decode(NULL, &d, &dlen));
	ck_assert_ptr_null(d);
}
END_TEST

START_TEST(b64url_decode_of_empty_text_is_empty)
{
	void *d = NULL;
	size_t dlen = 1;

	ck_assert(strutil_b64url_decode("", &d, &dlen));
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(dlen, 0);
	free(d);
}
END_TEST

START_TEST(hex_encode_is_lowercase)
{
	static const unsigned char bytes[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff, 0x10 };
	char *h = strutil_hex_encode(bytes, sizeof(bytes));

	ck_assert_str_eq(h, "0001abcdefff10");
	free(h);
	h = strutil_hex_encode("", 0);
	ck_assert_str_eq(h, "");
	free(h);
}
END_TEST

static Suite *strutil_suite(void)
{
	Suite *s = suite_create("strutil");
	TCase *tc = tcase_create("names");

	tcase_add_test(tc, thing_name_accepts_aws_charset_and_length);
	tcase_add_test(tc, group_name_follows_thing_name_rule);
	tcase_add_test(tc, job_id_rejects_colon_and_long_ids);
	tcase_add_test(tc, shadow_name_allows_dollar_and_colon);
	tcase_add_test(tc, attr_key_allows_dot);
	tcase_add_test(tc, attr_value_is_bounded_utf8_without_controls);
	tcase_add_test(tc, attr_value_limit_counts_bytes_not_characters);
	suite_add_tcase(s, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, utf8_follows_rfc3629);
	tcase_add_test(tc, lcpy_truncates_and_reports_source_length);
	tcase_add_test(tc, dup_n_copies_at_most_n_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_add_test(tc, b64url_encodes_rfc4648_vectors);
	tcase_add_test(tc, b64url_uses_url_safe_alphabet);
	tcase_add_test(tc, b64url_round_trips_all_byte_values_and_lengths);
	tcase_add_test(tc, b64url_decode_rejects_noncanonical_input);
	tcase_add_test(tc, b64url_decode_of_empty_text_is_empty);
	tcase_add_test(tc, hex_encode_is_lowercase);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(strutil_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
