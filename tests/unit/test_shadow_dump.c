/* Unit tests for shadow/dump: compact JSON with shortest round-trip reals. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/dump.h"

struct dump_case {
	const char *in;
	const char *want;    /* flags 0 */
	const char *want_db; /* SHADOW_DUMP_DB; NULL = same as want */
};

static const struct dump_case cases[] = {
	{ "{\"a\":0.1}", "{\"a\":0.1}", NULL },
	{ "{\"a\":3.14159}", "{\"a\":3.14159}", NULL },
	{ "{\"a\":1.0}", "{\"a\":1.0}", NULL },
	{ "{\"a\":-2.5e-7}", "{\"a\":-2.5e-07}", NULL },
	{ "{\"a\":1e23}", "{\"a\":1e+23}", "{\"a\":99999999999999991611392.0}" },
	{ "{\"a\":-1.5e20}", "{\"a\":-1.5e+20}", "{\"a\":-150000000000000000000.0}" },
	{ "{\"a\":0.30000000000000004}", "{\"a\":0.30000000000000004}", NULL },
	{ "{\"i\":9223372036854775807,\"n\":-3}", "{\"i\":9223372036854775807,\"n\":-3}", NULL },
	{ "[-9223372036854775808,0,-1,10,1718022000]", "[-9223372036854775808,0,-1,10,1718022000]",
	  NULL },
	{ "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\"}",
	  "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\"}", NULL },
	{ "{\"u\":\"\\u00e9\\u2028\\ud83d\\ude00\"}",
	  "{\"u\":\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\"}", NULL },
	{ "[true,false,null,[],{}]", "[true,false,null,[],{}]", NULL },
	{ "{\"z\":1,\"a\":{\"m\":[1,2.5,\"x\"]}}", "{\"z\":1,\"a\":{\"m\":[1,2.5,\"x\"]}}", NULL },
};

START_TEST(dump_table)
{
	const struct dump_case *c = &cases[_i];
	json_t *j = json_loads(c->in, JSON_DECODE_ANY, NULL);
	size_t len = 0;
	char *got;

	ck_assert_ptr_nonnull(j);
	got = shadow_dumps(j, 0, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, c->want);
	ck_assert_uint_eq(len, strlen(c->want));
	ck_assert_uint_eq(shadow_dump_size(j), strlen(c->want));
	free(got);
	got = shadow_dumps(j, SHADOW_DUMP_DB, NULL);
	ck_assert_str_eq(got, c->want_db ? c->want_db : c->want);
	free(got);
	json_decref(j);
}
END_TEST

/* Every real comes back as the same double, in both forms. */
START_TEST(dump_reals_round_trip)
{
	static const double values[] = { 0.1,		1.0 / 3.0, 2.0 / 3.0,
					 1e-300,	5e-324,	   1.7976931348623157e308,
					 123456789.125, -0.5,	   1e15,
					 1e16,		1e17,	   4.35 };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		for (unsigned flags = 0; flags <= SHADOW_DUMP_DB; flags++) {
			json_t *v = json_real(values[i]);
			char *text = shadow_dumps(v, flags, NULL);
			json_t *back = json_loads(text, JSON_DECODE_ANY, NULL);

			ck_assert_msg(back && json_is_real(back), "%s", text);
			ck_assert_msg(json_real_value(back) == values[i], "%s", text);
			free(text);
			json_decref(back);
			json_decref(v);
		}
	}
}
END_TEST

START_TEST(dump_respects_buffer_limit)
{
	json_t *j = json_pack("{s:s}", "k", "0123456789");
	struct buf b;

	buf_init(&b);
	b.max = 8;
	ck_assert(!shadow_dump(j, 0, &b));
	ck_assert(b.is_over);
	buf_cleanup(&b);
	ck_assert(!shadow_dump(NULL, 0, &b));
	ck_assert_uint_eq(shadow_dump_size(NULL), 0);
	json_decref(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_dump");
	TCase *tc = tcase_create("dump");

	tcase_add_loop_test(tc, dump_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, dump_reals_round_trip);
	tcase_add_test(tc, dump_respects_buffer_limit);
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
