/* Unit tests: release compatibility (hardware, anti-rollback, min version), release version
 * ordering, and HTTP Range parsing for downloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "firmware/compat.h"
#include "http/range.h"
#include "registry/semver.h"

static const char *const hws[] = { "esp32", "esp32-s3" };

static struct compat_release rel(const char *version, const char *min, int64_t sec)
{
	return (struct compat_release){ .hardware_types = hws,
					.nhardware_types = 2,
					.version = version,
					.min_version = min,
					.security_version = sec };
}

START_TEST(compat_rules_apply_in_order)
{
	struct {
		struct compat_release r;
		struct compat_device d;
		bool allow_downgrade;
		enum compat_result want;
	} cases[] = {
		{ rel("1.4.0", NULL, 3), { "esp32", "1.3.0", 3 }, false, COMPAT_OK },
		{ rel("1.4.0", NULL, 3), { "esp32-s3", NULL, -1 }, false, COMPAT_OK },
		{ rel("1.4.0", NULL, 3), { "nrf52", "1.3.0", 3 }, false, COMPAT_HARDWARE_MISMATCH },
		{ rel("1.4.0", NULL, 3), { NULL, "1.3.0", 3 }, false, COMPAT_HARDWARE_MISMATCH },
		{ rel("1.4.0", NULL, 3), { "esp32", "1.3.0", 4 }, true, COMPAT_SECURITY_DOWNGRADE },
		{ rel("1.4.0", "1.2.0", 3),
		  { "esp32", "1.1.9", 3 },
		  false,
		  COMPAT_BELOW_MIN_VERSION },
		{ rel("1.4.0", "1.2.0", 3), { "esp32", "1.2.0", 3 }, false, COMPAT_OK },
		{ rel("1.4.0", "1.2.0", 3), { "esp32", NULL, 3 }, false, COMPAT_BELOW_MIN_VERSION },
		{ rel("1.4.0", "1.2.0-rc.1", 3),
		  { "esp32", "1.2.0-beta", 3 },
		  false,
		  COMPAT_BELOW_MIN_VERSION },
		{ rel("1.4.0", NULL, 3), { "esp32", "1.4.0", 3 }, false, COMPAT_NOT_NEWER },
		{ rel("1.4.0", NULL, 3), { "esp32", "1.5.0", 3 }, false, COMPAT_NOT_NEWER },
		/* reverting to known-safe: older version allowed, same security version */
		{ rel("1.4.0", NULL, 3), { "esp32", "1.5.0", 3 }, true, COMPAT_OK },
		{ rel("1.4.0+b2", NULL, 3), { "esp32", "1.4.0+b1", 3 }, false, COMPAT_NOT_NEWER },
		{ rel("1.4.0-rc.2", NULL, 3), { "esp32", "1.4.0-rc.1", 3 }, false, COMPAT_OK },
		{ rel("v1.4", NULL, 3), { "esp32", "1.0.0", 3 }, false, COMPAT_INVALID_VERSION },
		{ rel("1.4.0", NULL, 3), { "esp32", "01.0.0", 3 }, false, COMPAT_INVALID_VERSION },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum compat_result got =
			compat_check(&cases[i].r, &cases[i].d, cases[i].allow_downgrade);
		ck_assert_msg(got == cases[i].want, "case %zu: got %s, want %s", i,
			      compat_result_name(got), compat_result_name(cases[i].want));
		ck_assert(strlen(compat_result_message(got)) > 0);
	}
}
END_TEST

static int cmp_versions(const void *a, const void *b)
{
	struct semver x, y;
	ck_assert(semver_parse(*(const char *const *)a, &x));
	ck_assert(semver_parse(*(const char *const *)b, &y));
	return semver_compare(&x, &y);
}

START_TEST(release_versions_order_by_semver_precedence)
{
	const char *v[] = { "1.10.0",	  "1.2.0",	   "1.0.0",
			    "1.0.0-rc.1", "1.0.0-alpha",   "2.0.0-rc.10",
			    "2.0.0-rc.2", "1.0.0-alpha.1", "0.9.9" };
	static const char *const want[] = { "0.9.9",	  "1.0.0-alpha", "1.0.0-alpha.1",
					    "1.0.0-rc.1", "1.0.0",	 "1.2.0",
					    "1.10.0",	  "2.0.0-rc.2",	 "2.0.0-rc.10" };
	char ka[SEMVER_SORT_KEY_SIZE], kb[SEMVER_SORT_KEY_SIZE];

	qsort(v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), cmp_versions);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_str_eq(v[i], want[i]);
		if (i) { /* the stored sort key orders the same way (list queries rely on it) */
			ck_assert(semver_sort_key(v[i - 1], ka, sizeof(ka)));
			ck_assert(semver_sort_key(v[i], kb, sizeof(kb)));
			ck_assert_int_lt(strcmp(ka, kb), 0);
		}
	}
	/* build metadata does not change precedence: such releases collide */
	ck_assert(semver_sort_key("1.0.0+a", ka, sizeof(ka)));
	ck_assert(semver_sort_key("1.0.0+b", kb, sizeof(kb)));
	ck_assert_str_eq(ka, kb);
}
END_TEST

START_TEST(range_header_parses_single_ranges)
{
	struct {
		const char *h;
		uint64_t size;
		enum range_result want;
		uint64_t start, len;
	} cases[] = {
		{ NULL, 100, RANGE_FULL, 0, 100 },
		{ "bytes=0-9", 100, RANGE_PARTIAL, 0, 10 },
		{ "bytes=10-", 100, RANGE_PARTIAL, 10, 90 },
		{ "bytes=-10", 100, RANGE_PARTIAL, 90, 10 },
		{ "bytes=-1000", 100, RANGE_PARTIAL, 0, 100 },
		{ "bytes=90-1000", 100, RANGE_PARTIAL, 90, 10 },
		{ "bytes=99-99", 100, RANGE_PARTIAL, 99, 1 },
		{ " bytes = 5 - 6 ", 100, RANGE_PARTIAL, 5, 2 },
		{ "BYTES=5-6", 100, RANGE_PARTIAL, 5, 2 },
		{ "bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=200-300", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-0", 0, RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=9-5", 100, RANGE_FULL, 0, 100 },
		{ "bytes=0-1,5-6", 100, RANGE_FULL, 0, 100 },
		{ "items=0-1", 100, RANGE_FULL, 0, 100 },
		{ "bytes=x-1", 100, RANGE_FULL, 0, 100 },
		{ "bytes=-", 100, RANGE_FULL, 0, 100 },
		{ "bytes=99999999999999999999-", 100, RANGE_FULL, 0, 100 },
		{ "bytes=4294967296-4294967305", 8589934592ULL, RANGE_PARTIAL, 4294967296ULL, 10 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t start = 7, len = 7;
		enum range_result got = range_parse(cases[i].h, cases[i].size, &start, &len);
		ck_assert_msg(got == cases[i].want, "case %zu (%s): got %d", i,
			      cases[i].h ? cases[i].h : "NULL", got);
		if (got != RANGE_UNSATISFIABLE) {
			ck_assert_msg(start == cases[i].start && len == cases[i].len,
				      "case %zu: %llu+%llu", i, (unsigned long long)start,
				      (unsigned long long)len);
		}
	}
}
END_TEST

static Suite *fw_compat_suite(void)
{
	Suite *s = suite_create("fw_compat");
	TCase *tc = tcase_create("compat");

	tcase_add_test(tc, compat_rules_apply_in_order);
	tcase_add_test(tc, release_versions_order_by_semver_precedence);
	tcase_add_test(tc, range_header_parses_single_ranges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fw_compat_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
