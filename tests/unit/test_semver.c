/* Unit tests for registry/semver: strict parsing, precedence, sort keys. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/semver.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static int cmp_text(const char *a, const char *b)
{
	struct semver va, vb;

	ck_assert_msg(semver_parse(a, &va), "parse %s", a);
	ck_assert_msg(semver_parse(b, &vb), "parse %s", b);
	return semver_compare(&va, &vb);
}

static int cmp_keys(const char *a, const char *b)
{
	char ka[SEMVER_SORT_KEY_SIZE], kb[SEMVER_SORT_KEY_SIZE];

	ck_assert_msg(semver_sort_key(a, ka, sizeof(ka)), "key %s", a);
	ck_assert_msg(semver_sort_key(b, kb, sizeof(kb)), "key %s", b);
	return sign(strcmp(ka, kb));
}

/* The valid examples of the semver.org regular-expression test list, plus a few more. */
START_TEST(parse_accepts_valid_versions)
{
	static const char *const ok[] = {
		"0.0.4",
		"1.2.3",
		"10.20.30",
		"1.1.2-prerelease+meta",
		"1.1.2+meta",
		"1.1.2+meta-valid",
		"1.0.0-alpha",
		"1.0.0-beta",
		"1.0.0-alpha.beta",
		"1.0.0-alpha.beta.1",
		"1.0.0-alpha.1",
		"1.0.0-alpha0.valid",
		"1.0.0-alpha.0valid",
		"1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
		"1.0.0-rc.1+build.1",
		"2.0.0-rc.1+build.123",
		"1.2.3-beta",
		"10.2.3-DEV-SNAPSHOT",
		"1.2.3-SNAPSHOT-123",
		"1.0.0",
		"2.0.0",
		"1.1.7",
		"2.0.0+build.1848",
		"2.0.1-alpha.1227",
		"1.0.0-alpha+beta",
		"1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
		"1.2.3----R-S.12.9.1--.12+meta",
		"1.2.3----RC-SNAPSHOT.12.9.1--.12",
		"1.0.0+0.build.1-rc.10000aaa-kk-0.1",
		"1.0.0-0A.is.legal",
		"1.0.0+001", /* leading zeros are fine in build metadata */
		"1.0.0-0",
		"1.0.0--",
		"18446744073709551615.18446744073709551615.18446744073709551615",
		"0.0.0",
	};
	struct semver v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(semver_parse(ok[i], &v), "should accept %s", ok[i]);
}
END_TEST

START_TEST(parse_rejects_invalid_versions)
{
	static const char *const bad[] = {
		"",
		"1",
		"1.2",
		"1.2.3-0123",
		"1.2.3-0123.0123",
		"1.1.2+.123",
		"+invalid",
		"-invalid",
		"-invalid+invalid",
		"-invalid.01",
		"alpha",
		"alpha.beta",
		"alpha.beta.1",
		"alpha.1",
		"alpha+beta",
		"alpha_beta",
		"alpha.",
		"alpha..",
		"beta",
		"1.0.0-alpha_beta",
		"-alpha.",
		"1.0.0-alpha..",
		"1.0.0-alpha..1",
		"1.0.0-alpha...1",
		"01.1.1",
		"1.01.1",
		"1.1.01",
		"1.2.3.DEV",
		"1.2-SNAPSHOT",
		"1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
		"1.2-RC-SNAPSHOT",
		"-1.0.3-gamma+b7718",
		"+justmeta",
		"9.8.7+meta+meta",
		"9.8.7-whatever+meta+meta",
		"99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1--------------------------------..12",
		"v1.2.3", /* strict: no 'v' */
		"V1.2.3",
		" 1.2.3",
		"1.2.3 ",
		"1.2.3\n",
		"1.2.3-",
		"1.2.3+",
		"1.2.3-+b",
		"1.2.3-a.",
		"1.2.3+b.",
		"1.2.3-a+b..c",
		"1.2.3-\xc3\xa9",
		"1..3",
		"1.2.3.4",
		"1.2.-3",
		"1.2.+3",
		"18446744073709551616.0.0", /* above uint64 */
		"0.18446744073709551616.0",
		"0.0.99999999999999999999",
	};
	struct semver v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!semver_parse(bad[i], &v), "should reject %s", bad[i]);
	ck_assert(!semver_parse(NULL, &v));
}
END_TEST

START_TEST(parse_fills_all_parts)
{
	struct semver v;

	ck_assert(semver_parse("12.345.6789-rc.1.x-y+build.007", &v));
	ck_assert_uint_eq(v.major, 12);
	ck_assert_uint_eq(v.minor, 345);
	ck_assert_uint_eq(v.patch, 6789);
	ck_assert_str_eq(v.prerelease, "rc.1.x-y");
	ck_assert_str_eq(v.build, "build.007");
	ck_assert(semver_parse("18446744073709551615.0.1", &v));
	ck_assert_uint_eq(v.major, UINT64_MAX);
	ck_assert_str_eq(v.prerelease, "");
	ck_assert_str_eq(v.build, "");
}
END_TEST

START_TEST(parse_bounds_labels_to_64_bytes)
{
	char text[SEMVER_TEXT_MAX + 16];
	char label[80];
	struct semver v;

	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(text, sizeof(text), "1.0.0-%s+%s", label, label);
	ck_assert(semver_parse(text, &v));
	ck_assert_str_eq(v.prerelease, label);
	ck_assert_str_eq(v.build, label);
	label[64] = 'a';
	label[65] = '\0';
	snprintf(text, sizeof(text), "1.0.0-%s", label);
	ck_assert(!semver_parse(text, &v));
	snprintf(text, sizeof(text), "1.0.0+%s", label);
	ck_assert(!semver_parse(text, &v));
}
END_TEST

START_TEST(parse_rejects_overlong_text_without_reading_it_all)
{
	size_t n = 100000;
	char *text = malloc(n + 1);

	ck_assert_ptr_nonnull(text);
	memset(text, '1', n);
	text[n] = '\0';
	struct semver v;
	ck_assert(!semver_parse(text, &v));
	free(text);
}
END_TEST

/* The example chain of semver.org section 11. */
START_TEST(precedence_follows_semver_org_chain)
{
	static const char *const chain[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta",  "1.0.0-beta.2",	"1.0.0-beta.11",
		"1.0.0-rc.1",  "1.0.0",		"2.0.0",
		"2.1.0",       "2.1.1",
	};
	size_t n = sizeof(chain) / sizeof(chain[0]);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j;
			ck_assert_msg(sign(cmp_text(chain[i], chain[j])) == want, "%s vs %s",
				      chain[i], chain[j]);
			ck_assert_msg(cmp_keys(chain[i], chain[j]) == want, "keys %s vs %s",
				      chain[i], chain[j]);
		}
	}
}
END_TEST

struct pair {
	const char *lo, *hi;
};

START_TEST(precedence_edge_cases)
{
	static const struct pair lt[] = {
		{ "1.0.0-1", "1.0.0-a" }, /* numeric before alphanumeric */
		{ "1.0.0-999", "1.0.0--" },
		{ "1.0.0-99999999999999999999", "1.0.0-123456789012345678901234567890" },
		{ "1.0.0-9", "1.0.0-10" },	   /* numeric, not lexical */
		{ "1.0.0-alpha", "1.0.0-alpha-" }, /* shorter identifier first */
		{ "1.0.0-alpha.zzz", "1.0.0-alpha-" },
		{ "1.0.0-alpha", "1.0.0-alpha.0" }, /* fewer identifiers first */
		{ "1.0.0-alpha.1", "1.0.0-alpha.a" },
		{ "1.0.0-alpha.9.z", "1.0.0-alpha.10" },
		{ "1.0.0-B", "1.0.0-a" },  /* ASCII order */
		{ "1.0.0-1", "1.0.0-0a" }, /* "0a" is alphanumeric */
		{ "1.0.0-rc.1", "1.0.0" },
		{ "1.0.0", "1.0.1-0" },
		{ "1.9.0", "1.10.0" },
		{ "9.0.0", "10.0.0" },
		{ "18446744073709551614.0.0", "18446744073709551615.0.0" },
		{ "0.0.0-0", "0.0.0" },
		{ "1.0.0-a.b.c", "1.0.0-a.b.c.d" },
		{ "1.0.0-a.1.b", "1.0.0-a.1.c" },
	};
	for (size_t i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		ck_assert_msg(cmp_text(lt[i].lo, lt[i].hi) < 0, "%s < %s", lt[i].lo, lt[i].hi);
		ck_assert_msg(cmp_text(lt[i].hi, lt[i].lo) > 0, "%s > %s", lt[i].hi, lt[i].lo);
		ck_assert_msg(cmp_keys(lt[i].lo, lt[i].hi) < 0, "key %s < %s", lt[i].lo, lt[i].hi);
	}
}
END_TEST

START_TEST(build_metadata_is_ignored)
{
	ck_assert_int_eq(cmp_text("1.0.0+a", "1.0.0+b"), 0);
	ck_assert_int_eq(cmp_text("1.0.0-rc.1+x", "1.0.0-rc.1"), 0);
	ck_assert_int_eq(cmp_keys("1.0.0+a", "1.0.0+b"), 0);
	ck_assert_int_eq(cmp_keys("1.0.0-rc.1+x", "1.0.0-rc.1+y.z"), 0);
	ck_assert_int_lt(cmp_text("1.0.0-rc.1+zzz", "1.0.0+aaa"), 0);
}
END_TEST

START_TEST(sort_key_has_documented_layout)
{
	char key[SEMVER_SORT_KEY_SIZE];

	ck_assert(semver_sort_key("1.2.3", key, sizeof(key)));
	ck_assert_str_eq(key, "00000000000000000001.00000000000000000002.00000000000000000003~");
	ck_assert(semver_sort_key("1.0.0-rc.12.x-y+build", key, sizeof(key)));
	ck_assert_str_eq(
		key, "00000000000000000001.00000000000000000000.00000000000000000000-+rc#0212+x-y");
	ck_assert(semver_sort_key("18446744073709551615.0.0", key, sizeof(key)));
	ck_assert_str_eq(key, "18446744073709551615.00000000000000000000.00000000000000000000~");
	ck_assert(!semver_sort_key("1.2", key, sizeof(key)));
	ck_assert(!semver_sort_key("v1.2.3", key, sizeof(key)));
}
END_TEST

START_TEST(sort_key_fits_worst_case_and_checks_size)
{
	char text[SEMVER_TEXT_MAX];
	char key[SEMVER_SORT_KEY_SIZE];
	size_t o = 0;

	/* 32 one-digit numeric identifiers: 63 bytes of prerelease, the longest key */
	o += (size_t)snprintf(text, sizeof(text),
			      "18446744073709551615.18446744073709551615."
			      "18446744073709551615-");
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s7", i ? "." : "");
	ck_assert(semver_sort_key(text, key, sizeof(key)));
	ck_assert_uint_eq(strlen(key), 63 + 32 * 4);
	ck_assert_uint_lt(strlen(key), SEMVER_SORT_KEY_SIZE);
	/* exactly large enough, then one byte short */
	ck_assert(semver_sort_key(text, key, strlen(key) + 1));
	ck_assert(!semver_sort_key(text, key, strlen(key)));
	ck_assert(!semver_sort_key("1.2.3", key, 63));
	ck_assert(semver_sort_key("1.2.3", key, 64));
	ck_assert(!semver_sort_key("1.2.3", key, 0));
}
END_TEST

START_TEST(format_round_trips)
{
	static const char *const texts[] = { "0.0.0", "1.2.3-rc.1+b.5", "10.0.1+exp.sha.5114f85",
					     "1.0.0-x.7.z.92" };
	char out[SEMVER_TEXT_MAX];
	struct semver v;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ck_assert(semver_parse(texts[i], &v));
		ck_assert(semver_format(&v, out, sizeof(out)));
		ck_assert_str_eq(out, texts[i]);
	}
	ck_assert(semver_parse("1.2.3", &v));
	ck_assert(!semver_format(&v, out, 5));
	ck_assert(semver_format(&v, out, 6));
}
END_TEST

/* Deterministic generator (xorshift64). */
static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* A random valid version from a small vocabulary, so ties and shared prefixes are common. */
static void random_version(char *out, size_t outlen)
{
	static const uint64_t nums[] = { 0, 1, 2, 9, 10, 11, 100, UINT64_MAX - 1, UINT64_MAX };
	static const char *const ids[] = {
		"0",
		"1",
		"2",
		"9",
		"10",
		"11",
		"99",
		"100",
		"18446744073709551616",
		"123456789012345678901234567890",
		"a",
		"alpha",
		"alpha-",
		"-",
		"--",
		"A",
		"Z",
		"b",
		"beta",
		"0a",
		"1-",
		"rc",
		"x9",
		"z",
	};
	static const char *const builds[] = { "", "+b", "+001", "+x.y.z" };
	size_t o, pre_len = 0;

	o = (size_t)snprintf(out, outlen, "%" PRIu64 ".%" PRIu64 ".%" PRIu64, nums[rnd(4)],
			     nums[rnd(3) ? rnd(4) : rnd(9)], nums[rnd(3) ? rnd(3) : rnd(9)]);
	if (rnd(3)) {
		size_t n = 1 + rnd(4);
		for (size_t i = 0; i < n; i++) {
			const char *id = ids[rnd(sizeof(ids) / sizeof(ids[0]))];
			if (pre_len + strlen(id) + 1 > SEMVER_LABEL_MAX)
				break;
			pre_len += strlen(id) + (i ? 1 : 0);
			o += (size_t)snprintf(out + o, outlen - o, "%c%s", i ? '.' : '-', id);
		}
	}
	snprintf(out + o, outlen - o, "%s", builds[rnd(4)]);
}

START_TEST(sort_key_order_matches_compare_on_random_pairs)
{
	char a[SEMVER_TEXT_MAX], b[SEMVER_TEXT_MAX];

	rng_state = 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < 200000; i++) {
		random_version(a, sizeof(a));
		random_version(b, sizeof(b));
		int c = sign(cmp_text(a, b));
		ck_assert_msg(cmp_keys(a, b) == c, "%s vs %s: compare %d", a, b, c);
		ck_assert_msg(sign(cmp_text(b, a)) == -c, "antisymmetry %s vs %s", a, b);
	}
}
END_TEST

static int cmp_sv(const void *a, const void *b)
{
	return semver_compare(a, b);
}

START_TEST(sorting_by_compare_sorts_keys)
{
	enum { N = 3000 };
	struct semver *vs = calloc(N, sizeof(*vs));
	char text[SEMVER_TEXT_MAX], prev[SEMVER_SORT_KEY_SIZE] = "", key[SEMVER_SORT_KEY_SIZE];

	ck_assert_ptr_nonnull(vs);
	rng_state = 42;
	for (int i = 0; i < N; i++) {
		random_version(text, sizeof(text));
		ck_assert(semver_parse(text, &vs[i]));
	}
	qsort(vs, N, sizeof(*vs), cmp_sv);
	for (int i = 0; i < N; i++) {
		ck_assert(semver_sort_key_of(&vs[i], key, sizeof(key)));
		ck_assert_msg(strcmp(prev, key) <= 0, "%s > %s", prev, key);
		if (i)
			ck_assert_int_le(semver_compare(&vs[i - 1], &vs[i]), 0);
		memcpy(prev, key, sizeof(key));
	}
	free(vs);
}
END_TEST

static Suite *semver_suite(void)
{
	Suite *s = suite_create("semver");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_accepts_valid_versions);
	tcase_add_test(tc, parse_rejects_invalid_versions);
	tcase_add_test(tc, parse_fills_all_parts);
	tcase_add_test(tc, parse_bounds_labels_to_64_bytes);
	tcase_add_test(tc, parse_rejects_overlong_text_without_reading_it_all);
	tcase_add_test(tc, format_round_trips);
	suite_add_tcase(s, tc);

	tc = tcase_create("precedence");
	tcase_set_timeout(tc, 120); /* the random test is slow under valgrind */
	tcase_add_test(tc, precedence_follows_semver_org_chain);
	tcase_add_test(tc, precedence_edge_cases);
	tcase_add_test(tc, build_metadata_is_ignored);
	tcase_add_test(tc, sort_key_has_documented_layout);
	tcase_add_test(tc, sort_key_fits_worst_case_and_checks_size);
	tcase_add_test(tc, sort_key_order_matches_compare_on_random_pairs);
	tcase_add_test(tc, sorting_by_compare_sorts_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(semver_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
