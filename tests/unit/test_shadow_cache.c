/* Unit tests for shadow/cache: the bounded cache of written shadows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/cache.h"

/* A present shadow at version with reported {"v": n}. */
static void make(struct shadow *s, int64_t version, int n)
{
	shadow_init(s);
	s->is_present = true;
	s->version = version;
	s->reported = json_pack("{s:i}", "v", n);
	s->meta_reported = shadow_metadata_for(s->reported, 100);
}

START_TEST(take_moves_the_entry_out)
{
	struct shadow_cache *c = shadow_cache_new(16, 1 << 20);
	struct shadow s, got;

	make(&s, 3, 7);
	shadow_cache_put(c, "pump", "", &s);
	ck_assert_ptr_null(s.reported); /* moved */
	ck_assert_uint_eq(shadow_cache_count(c), 1);
	ck_assert(shadow_cache_bytes(c) > 0);
	ck_assert(!shadow_cache_take(c, "pump", "cfg", &got)); /* named != classic */
	ck_assert(!shadow_cache_take(c, "pum", "", &got));
	ck_assert(shadow_cache_take(c, "pump", "", &got));
	ck_assert_int_eq(got.version, 3);
	ck_assert_int_eq(json_integer_value(json_object_get(got.reported, "v")), 7);
	ck_assert_uint_eq(shadow_cache_count(c), 0);
	ck_assert_uint_eq(shadow_cache_bytes(c), 0);
	ck_assert(!shadow_cache_take(c, "pump", "", &got)); /* gone after a take */
	shadow_cleanup(&got);
	shadow_cache_free(c);
}
END_TEST

START_TEST(put_replaces_and_tombstones_are_kept)
{
	struct shadow_cache *c = shadow_cache_new(16, 1 << 20);
	struct shadow s, got;

	make(&s, 1, 1);
	shadow_cache_put(c, "t", "n", &s);
	make(&s, 2, 2);
	shadow_cache_put(c, "t", "n", &s);
	ck_assert_uint_eq(shadow_cache_count(c), 1);
	shadow_init(&s); /* a tombstone: absent, keeps version 5 */
	s.version = 5;
	shadow_cache_put(c, "t", "x", &s);
	ck_assert(shadow_cache_take(c, "t", "x", &got));
	ck_assert(!got.is_present);
	ck_assert_int_eq(got.version, 5);
	ck_assert(shadow_cache_take(c, "t", "n", &got));
	ck_assert_int_eq(got.version, 2);
	shadow_cleanup(&got);
	shadow_cache_remove(c, "t", "n"); /* absent: no-op */
	shadow_cache_free(c);
}
END_TEST

START_TEST(budget_bounds_memory)
{
	struct shadow s;
	size_t one;
	struct shadow_cache *c;
	char thing[32];

	make(&s, 1, 1);
	one = shadow_cache_estimate(&s);
	shadow_cleanup(&s);
	c = shadow_cache_new(1024, one * 10);
	for (int i = 0; i < 200; i++) {
		snprintf(thing, sizeof(thing), "thing-%d", i);
		make(&s, 1, i);
		shadow_cache_put(c, thing, "", &s);
		ck_assert(shadow_cache_bytes(c) <= one * 10);
	}
	ck_assert(shadow_cache_count(c) <= 10);
	ck_assert(shadow_cache_count(c) >= 1);
	/* larger than the whole budget: dropped */
	make(&s, 1, 1);
	json_object_set_new(s.reported, "big",
			    json_string("0123456789012345678901234567890123456789"
					"0123456789012345678901234567890123456789"));
	shadow_cache_free(c);
	c = shadow_cache_new(4, one);
	shadow_cache_put(c, "big", "", &s);
	ck_assert_uint_eq(shadow_cache_count(c), 0);
	ck_assert_ptr_null(s.reported);
	shadow_cache_free(c);
	shadow_cache_free(NULL);
}
END_TEST

START_TEST(collisions_evict_the_occupant)
{
	struct shadow_cache *c = shadow_cache_new(1, 1 << 20); /* one slot */
	struct shadow s, got;

	make(&s, 1, 1);
	shadow_cache_put(c, "a", "", &s);
	make(&s, 2, 2);
	shadow_cache_put(c, "b", "", &s);
	ck_assert_uint_eq(shadow_cache_count(c), 1);
	ck_assert(!shadow_cache_take(c, "a", "", &got));
	ck_assert(shadow_cache_take(c, "b", "", &got));
	shadow_cleanup(&got);
	shadow_cache_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_cache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, take_moves_the_entry_out);
	tcase_add_test(tc, put_replaces_and_tombstones_are_kept);
	tcase_add_test(tc, budget_bounds_memory);
	tcase_add_test(tc, collisions_evict_the_occupant);
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
