/* Unit tests for shadow/topic: request topic grammar and reply topics (spec 6.1). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/topic.h"

struct topic_case {
	const char *topic;
	bool is_valid;
	const char *thing;
	const char *name; /* "" = classic */
	enum shadow_op op;
};

static const struct topic_case cases[] = {
	{ "$aws/things/pump-17/shadow/get", true, "pump-17", "", SHADOW_OP_GET },
	{ "$aws/things/pump-17/shadow/update", true, "pump-17", "", SHADOW_OP_UPDATE },
	{ "$aws/things/pump-17/shadow/delete", true, "pump-17", "", SHADOW_OP_DELETE },
	{ "$aws/things/a:b_c-d/shadow/name/cfg/update", true, "a:b_c-d", "cfg", SHADOW_OP_UPDATE },
	{ "$aws/things/t/shadow/name/$package/get", true, "t", "$package", SHADOW_OP_GET },
	{ "$aws/things/t/shadow/name/x:y_z-1/delete", true, "t", "x:y_z-1", SHADOW_OP_DELETE },
	/* replies and events the service publishes itself */
	{ "$aws/things/t/shadow/update/accepted", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/update/delta", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/name/n/update/documents", false, NULL, NULL, 0 },
	/* malformed */
	{ "$aws/things/t/shadow/list", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/name", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/name/", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/name//get", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/", false, NULL, NULL, 0 },
	{ "$aws/things//shadow/get", false, NULL, NULL, 0 },
	{ "$aws/things/bad.name/shadow/get", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/name/bad.name/get", false, NULL, NULL, 0 },
	{ "$aws/things/t/jobs/get", false, NULL, NULL, 0 },
	{ "aws/things/t/shadow/get", false, NULL, NULL, 0 },
	{ "$aws/things/t/shadow/GET", false, NULL, NULL, 0 },
	{ "", false, NULL, NULL, 0 },
};

START_TEST(topic_parse_table_spec_6_1)
{
	const struct topic_case *c = &cases[_i];
	struct shadow_topic t;
	bool ok = shadow_topic_parse(c->topic, &t);

	ck_assert_msg(ok == c->is_valid, "%s: got %d", c->topic, ok);
	if (!ok) {
		ck_assert_str_eq(t.thing, "");
		return;
	}
	ck_assert_str_eq(t.thing, c->thing);
	ck_assert_str_eq(t.name, c->name);
	ck_assert(t.is_named == (c->name[0] != '\0'));
	ck_assert_int_eq(t.op, c->op);
}
END_TEST

START_TEST(topic_parse_rejects_overlong_names)
{
	char topic[512], thing[130], name[66];
	struct shadow_topic t;

	memset(thing, 'a', 129);
	thing[129] = '\0';
	snprintf(topic, sizeof(topic), "$aws/things/%s/shadow/get", thing);
	ck_assert(!shadow_topic_parse(topic, &t));
	thing[128] = '\0'; /* 128 is the limit */
	snprintf(topic, sizeof(topic), "$aws/things/%s/shadow/get", thing);
	ck_assert(shadow_topic_parse(topic, &t));
	memset(name, 'n', 65);
	name[65] = '\0';
	snprintf(topic, sizeof(topic), "$aws/things/t/shadow/name/%s/get", name);
	ck_assert(!shadow_topic_parse(topic, &t));
	name[64] = '\0';
	snprintf(topic, sizeof(topic), "$aws/things/t/shadow/name/%s/get", name);
	ck_assert(shadow_topic_parse(topic, &t));
	ck_assert(!shadow_topic_parse(NULL, &t));
}
END_TEST

START_TEST(topic_format_classic_and_named)
{
	char out[SHADOW_TOPIC_MAX];
	char thing[129], name[65];

	ck_assert(shadow_topic_format(out, sizeof(out), "pump", NULL, "update/accepted"));
	ck_assert_str_eq(out, "$aws/things/pump/shadow/update/accepted");
	ck_assert(shadow_topic_format(out, sizeof(out), "pump", "", "get/rejected"));
	ck_assert_str_eq(out, "$aws/things/pump/shadow/get/rejected");
	ck_assert(shadow_topic_format(out, sizeof(out), "pump", "cfg", "update/documents"));
	ck_assert_str_eq(out, "$aws/things/pump/shadow/name/cfg/update/documents");
	/* the longest names fit SHADOW_TOPIC_MAX */
	memset(thing, 't', 128);
	thing[128] = '\0';
	memset(name, 'n', 64);
	name[64] = '\0';
	ck_assert(shadow_topic_format(out, sizeof(out), thing, name, "update/documents"));
	ck_assert(!shadow_topic_format(out, 20, "pump", "cfg", "update/documents"));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(filters_match_requests_not_replies)
{
	/* the filters are one level short of every reply topic */
	ck_assert_str_eq(SHADOW_TOPIC_FILTER_CLASSIC, "$aws/things/+/shadow/+");
	ck_assert_str_eq(SHADOW_TOPIC_FILTER_NAMED, "$aws/things/+/shadow/name/+/+");
	ck_assert_str_eq(shadow_op_name(SHADOW_OP_GET), "get");
	ck_assert_str_eq(shadow_op_name(SHADOW_OP_DELETE), "delete");
	ck_assert_str_eq(shadow_op_name((enum shadow_op)7), "?");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_topic");
	TCase *tc = tcase_create("topic");

	tcase_add_loop_test(tc, topic_parse_table_spec_6_1, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, topic_parse_rejects_overlong_names);
	tcase_add_test(tc, topic_format_classic_and_named);
	tcase_add_test(tc, filters_match_requests_not_replies);
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
