/* Unit tests for shadow/revert: the desired patch of a config revert. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/delta.h"
#include "shadow/revert.h"
#include "shadow/update.h"

/* Parse a test literal; "" = absent (NULL). */
static json_t *J(const char *text)
{
	json_t *j;

	if (!text || !*text)
		return NULL;
	j = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!j) {
		fprintf(stderr, "bad test JSON %s\n", text);
		abort();
	}
	return j;
}

struct patch_case {
	const char *name;
	const char *cur;    /* "" = absent */
	const char *target; /* "" = absent */
	const char *want;   /* the patch */
	const char *result; /* desired after applying it ("" = absent); NULL = target */
};

static const struct patch_case cases[] = {
	{ "target absent drops the section", "{\"a\":1}", "", "null", NULL },
	{ "both absent", "", "", "null", NULL },
	{ "current absent copies target", "", "{\"a\":{\"b\":[1,2]}}", "{\"a\":{\"b\":[1,2]}}",
	  NULL },
	{ "identical: empty patch", "{\"a\":1,\"b\":{\"c\":\"x\"}}",
	  "{\"b\":{\"c\":\"x\"},\"a\":1}", "{}", NULL },
	{ "numerically equal is unchanged", "{\"a\":1}", "{\"a\":1.0}", "{}", "{\"a\":1}" },
	{ "removed key becomes null", "{\"a\":1,\"b\":2}", "{\"a\":1}", "{\"b\":null}", NULL },
	{ "changed scalar", "{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":3}", "{\"b\":3}", NULL },
	{ "nested change patches only the leaf", "{\"fan\":{\"speed\":2,\"dir\":\"cw\"}}",
	  "{\"fan\":{\"speed\":3,\"dir\":\"cw\"}}", "{\"fan\":{\"speed\":3}}", NULL },
	{ "nested removal", "{\"fan\":{\"speed\":2,\"dir\":\"cw\"}}", "{\"fan\":{\"speed\":2}}",
	  "{\"fan\":{\"dir\":null}}", NULL },
	{ "arrays replace whole", "{\"z\":[\"a\",\"b\"]}", "{\"z\":[\"a\"]}", "{\"z\":[\"a\"]}",
	  NULL },
	{ "type change object to scalar", "{\"a\":{\"b\":1}}", "{\"a\":5}", "{\"a\":5}", NULL },
	{ "type change scalar to object", "{\"a\":5}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}",
	  NULL },
	{ "target empty object empties the section", "{\"a\":1}", "{}", "{\"a\":null}", "" },
	{ "empty object over non-empty object is deleted", "{\"a\":{\"b\":1},\"c\":1}",
	  "{\"a\":{},\"c\":1}", "{\"a\":null}", "{\"c\":1}" },
	{ "empty object over scalar is set", "{\"a\":1}", "{\"a\":{}}", "{\"a\":{}}", NULL },
};

START_TEST(patch_table)
{
	const struct patch_case *c = &cases[_i];
	json_t *cur = J(c->cur), *target = J(c->target), *want = J(c->want);
	json_t *got = shadow_desired_patch(cur, target);
	char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;

	ck_assert_msg(got && json_equal(got, want), "%s: got %s want %s", c->name, g ? g : "(null)",
		      c->want);
	free(g);
	json_decref(got);
	json_decref(cur);
	json_decref(target);
	json_decref(want);
}
END_TEST

/* Applying the revert update to a shadow whose desired is cur yields target (or c->result),
 * and unchanged leaves keep their metadata timestamps. */
START_TEST(revert_update_applies_to_target)
{
	const struct patch_case *c = &cases[_i];
	struct shadow cur, next;
	struct shadow_update u;
	struct shadow_update_result res;
	json_t *want = J(c->result ? c->result : c->target);
	char msg[SHADOW_MSG_MAX];
	int code;

	shadow_init(&cur);
	cur.is_present = true;
	cur.version = 4;
	cur.desired = J(c->cur);
	cur.meta_desired = cur.desired ? shadow_metadata_for(cur.desired, 100) : NULL;
	cur.reported = J("{\"r\":1}");
	cur.meta_reported = shadow_metadata_for(cur.reported, 100);
	{
		json_t *target = J(c->target);

		ck_assert_int_eq(shadow_revert_update(cur.desired, target, &u), 0);
		json_decref(target);
	}
	ck_assert(!u.has_version && !u.has_client_token && !u.reported);
	ck_assert_int_eq(
		shadow_apply_update(&cur, &u, NULL, 200, &next, &res, &code, msg, sizeof(msg)),
		SHADOW_OK);
	ck_assert_int_eq(next.version, 5);
	ck_assert_msg(shadow_json_equal(next.desired, want), "%s: desired differs", c->name);
	/* an unchanged leaf keeps its timestamp */
	if (cur.desired && next.meta_desired && json_object_get(cur.desired, "a") &&
	    shadow_json_equal(json_object_get(cur.desired, "a"),
			      json_object_get(next.desired, "a")) &&
	    !json_is_object(json_object_get(cur.desired, "a")))
		ck_assert_int_eq(json_integer_value(json_object_get(
					 json_object_get(next.meta_desired, "a"), "timestamp")),
				 100);
	ck_assert(shadow_json_equal(next.reported, cur.reported));
	json_decref(want);
	shadow_cleanup(&cur);
	shadow_cleanup(&next);
	shadow_update_cleanup(&u);
	shadow_update_result_cleanup(&res);
}
END_TEST

START_TEST(patch_does_not_modify_inputs)
{
	json_t *cur = J("{\"a\":{\"b\":1,\"c\":2},\"d\":[1]}");
	json_t *target = J("{\"a\":{\"b\":2},\"e\":true}");
	json_t *cur_copy = json_deep_copy(cur), *target_copy = json_deep_copy(target);
	json_t *p = shadow_desired_patch(cur, target);

	ck_assert(json_equal(cur, cur_copy));
	ck_assert(json_equal(target, target_copy));
	json_decref(p);
	json_decref(cur);
	json_decref(target);
	json_decref(cur_copy);
	json_decref(target_copy);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_revert");
	TCase *tc = tcase_create("revert");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	tcase_add_loop_test(tc, patch_table, 0, n);
	tcase_add_loop_test(tc, revert_update_applies_to_target, 0, n);
	tcase_add_test(tc, patch_does_not_modify_inputs);
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
