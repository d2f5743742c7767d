/* Unit tests for shadow/delta: delta computation and value equality (spec 6.5, quirk 24). */
#include <check.h>
#include <stdlib.h>

#include <jansson.h>

#include "shadow/delta.h"

/* Parse a test literal (any JSON value); "" means absent (NULL). Aborts on a bad literal. */
static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j;

	if (!text || !*text)
		return NULL;
	j = json_loads(text, JSON_DECODE_ANY, &e);
	if (!j) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
		abort();
	}
	return j;
}

/* Exact comparison (types included) with both documents printed on failure. */
static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = J(want_text);
	char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(got && json_equal((json_t *)got, want), "got %s\nwant %s", g ? g : "(null)",
		      want_text);
	free(g);
	json_decref(want);
}

struct delta_case {
	const char *name;
	const char *desired; /* "" = section absent */
	const char *reported;
	const char *want;
};

static const struct delta_case delta_cases[] = {
	{ "both sections absent", "", "", "{}" },
	{ "reported absent: whole desired", "{\"a\":1,\"b\":{\"c\":2}}", "",
	  "{\"a\":1,\"b\":{\"c\":2}}" },
	{ "desired absent: no delta", "", "{\"a\":1}", "{}" },
	{ "equal scalars", "{\"a\":1,\"s\":\"x\",\"t\":true}", "{\"a\":1,\"s\":\"x\",\"t\":true}",
	  "{}" },
	{ "different scalar", "{\"a\":1}", "{\"a\":2}", "{\"a\":1}" },
	{ "key missing in reported", "{\"a\":1,\"b\":2}", "{\"a\":1}", "{\"b\":2}" },
	{ "keys only in reported never appear", "{\"a\":1}", "{\"a\":1,\"rssi\":-61}", "{}" },
	{ "nested partial", "{\"fan\":{\"speed\":3,\"dir\":\"cw\"}}",
	  "{\"fan\":{\"speed\":2,\"dir\":\"cw\"}}", "{\"fan\":{\"speed\":3}}" },
	{ "nested equal subtree omitted", "{\"fan\":{\"speed\":3},\"m\":1}",
	  "{\"fan\":{\"speed\":3},\"m\":2}", "{\"m\":1}" },
	{ "deep nested", "{\"a\":{\"b\":{\"c\":{\"d\":1,\"e\":2}}}}",
	  "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", "{\"a\":{\"b\":{\"c\":{\"e\":2}}}}" },
	{ "arrays equal", "{\"z\":[\"a\",\"c\"]}", "{\"z\":[\"a\",\"c\"]}", "{}" },
	{ "arrays compared whole (prefix)", "{\"z\":[\"a\",\"c\"]}", "{\"z\":[\"a\"]}",
	  "{\"z\":[\"a\",\"c\"]}" },
	{ "arrays compared whole (order)", "{\"z\":[1,2]}", "{\"z\":[2,1]}", "{\"z\":[1,2]}" },
	{ "array of objects compared whole", "{\"z\":[{\"a\":1,\"b\":2}]}",
	  "{\"z\":[{\"b\":2,\"a\":1}]}", "{}" },
	{ "numbers numerically: 1 == 1.0", "{\"n\":1}", "{\"n\":1.0}", "{}" },
	{ "numbers numerically: 1.0 == 1", "{\"n\":1.0}", "{\"n\":1}", "{}" },
	{ "numbers numerically inside arrays", "{\"z\":[1,2.0]}", "{\"z\":[1.0,2]}", "{}" },
	{ "numbers differ", "{\"n\":1}", "{\"n\":1.5}", "{\"n\":1}" },
	{ "big integer vs nearest double differ", "{\"n\":9007199254740993}",
	  "{\"n\":9007199254740992.0}", "{\"n\":9007199254740993}" },
	{ "string vs number differ", "{\"n\":\"1\"}", "{\"n\":1}", "{\"n\":\"1\"}" },
	{ "bool vs number differ", "{\"b\":true}", "{\"b\":1}", "{\"b\":true}" },
	{ "type mismatch object vs scalar", "{\"f\":{\"s\":1}}", "{\"f\":5}", "{\"f\":{\"s\":1}}" },
	{ "type mismatch scalar vs object", "{\"f\":5}", "{\"f\":{\"s\":1}}", "{\"f\":5}" },
	{ "type mismatch array vs object", "{\"f\":[1]}", "{\"f\":{\"0\":1}}", "{\"f\":[1]}" },
	{ "null in desired is absent", "{\"a\":null,\"b\":1}", "{}", "{\"b\":1}" },
	{ "empty desired object vs missing", "{\"o\":{}}", "{}", "{\"o\":{}}" },
	{ "empty desired object vs object", "{\"o\":{}}", "{\"o\":{\"x\":1}}", "{}" },
	/* spec 6.3 example */
	{ "spec 6.3 GET example",
	  "{\"mode\":\"eco\",\"fan\":{\"speed\":3},\"zones\":[\"a\",\"c\"]}",
	  "{\"mode\":\"boost\",\"fan\":{\"speed\":3},\"zones\":[\"a\"],\"rssi\":-61}",
	  "{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"]}" },
};

START_TEST(delta_table_spec_6_5)
{
	const struct delta_case *c = &delta_cases[_i];
	json_t *d = J(c->desired);
	json_t *r = J(c->reported);
	json_t *got = shadow_compute_delta(d, r);
	char *g = json_dumps(got, JSON_SORT_KEYS);
	json_t *want = J(c->want);

	ck_assert_msg(got && json_equal(got, want), "%s: got %s want %s", c->name, g, c->want);
	free(g);
	json_decref(want);
	json_decref(got);
	json_decref(d);
	json_decref(r);
}
END_TEST

START_TEST(delta_does_not_modify_inputs)
{
	json_t *d = J("{\"a\":{\"b\":1},\"c\":[1]}");
	json_t *r = J("{\"a\":{\"b\":2}}");
	json_t *d0 = json_deep_copy(d);
	json_t *r0 = json_deep_copy(r);
	json_t *got = shadow_compute_delta(d, r);

	ck_assert(json_equal(d, d0));
	ck_assert(json_equal(r, r0));
	/* the delta is a copy: changing it leaves desired alone */
	json_object_set_new(json_object_get(got, "a"), "b", json_integer(99));
	ck_assert(json_equal(d, d0));
	json_decref(got);
	json_decref(d);
	json_decref(r);
	json_decref(d0);
	json_decref(r0);
}
END_TEST

START_TEST(delta_metadata_is_desired_metadata_of_delta_leaves_spec_6_5)
{
	json_t *delta = J("{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"],\"fan\":{\"speed\":3}}");
	json_t *meta = J("{\"mode\":{\"timestamp\":1718022000},"
			 "\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}],"
			 "\"fan\":{\"speed\":{\"timestamp\":1718021000},\"dir\":{\"timestamp\":5}},"
			 "\"other\":{\"timestamp\":7}}");
	json_t *got = shadow_delta_metadata(delta, meta);

	assert_json(got, "{\"mode\":{\"timestamp\":1718022000},"
			 "\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}],"
			 "\"fan\":{\"speed\":{\"timestamp\":1718021000}}}");
	json_decref(got);
	got = shadow_delta_metadata(NULL, meta);
	assert_json(got, "{}");
	json_decref(got);
	json_decref(delta);
	json_decref(meta);
}
END_TEST

START_TEST(delta_metadata_skips_paths_missing_from_metadata)
{
	json_t *delta = J("{\"a\":1,\"b\":{\"c\":2}}");
	json_t *meta = J("{\"b\":{}}");
	json_t *got = shadow_delta_metadata(delta, meta);

	assert_json(got, "{\"b\":{}}");
	json_decref(got);
	json_decref(delta);
	json_decref(meta);
}
END_TEST

START_TEST(json_equal_rules)
{
	json_t *a = J("{\"x\":1,\"y\":[1,{\"z\":2.0}],\"s\":\"v\"}");
	json_t *b = J("{\"s\":\"v\",\"y\":[1.0,{\"z\":2}],\"x\":1.0}");
	json_t *c = J("{\"s\":\"v\",\"y\":[1.0,{\"z\":2}],\"x\":1.0,\"extra\":0}");
	json_t *big = J("1e300");
	json_t *i = J("1");

	ck_assert(shadow_json_equal(a, b));
	ck_assert(!shadow_json_equal(a, c));
	ck_assert(!shadow_json_equal(c, a));
	ck_assert(!shadow_json_equal(big, i));
	ck_assert(!shadow_json_equal(NULL, i));
	ck_assert(shadow_json_equal(NULL, NULL));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(big);
	json_decref(i);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_delta");
	TCase *tc = tcase_create("delta");

	tcase_add_loop_test(tc, delta_table_spec_6_5, 0,
			    (int)(sizeof(delta_cases) / sizeof(delta_cases[0])));
	tcase_add_test(tc, delta_does_not_modify_inputs);
	tcase_add_test(tc, delta_metadata_is_desired_metadata_of_delta_leaves_spec_6_5);
	tcase_add_test(tc, delta_metadata_skips_paths_missing_from_metadata);
	tcase_add_test(tc, json_equal_rules);
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
