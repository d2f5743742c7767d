/*
 * Unit tests for jobs/topics: the Jobs topic grammar (spec 2.1, 2.9) and the file-streams
 * topics (spec 9.3). Section numbers refer to spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/topics.h"

#define P "$aws/things/pump-17/jobs/"
#define F "$aws/things/pump-17/streams/AFR_OTA-1/"
#define LONG65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct parse_case {
	const char *topic;
	enum jobs_topics_kind kind;
	const char *thing;
	const char *job_id;
	bool is_next;
	bool is_bad_name;
	enum jobs_topics_enc enc;
	const char *stream;
};

static const struct parse_case cases[] = {
	/* spec 2.1: the four request shapes */
	{ P "get", JOBS_TOPICS_GET_PENDING, "pump-17", "", false, false, 0, "" },
	{ P "start-next", JOBS_TOPICS_START_NEXT, "pump-17", "", false, false, 0, "" },
	{ P "fw-2024-06/get", JOBS_TOPICS_DESCRIBE, "pump-17", "fw-2024-06", false, false, 0, "" },
	{ P "$next/get", JOBS_TOPICS_DESCRIBE, "pump-17", "$next", true, false, 0, "" },
	{ P "fw-2024-06/update", JOBS_TOPICS_UPDATE, "pump-17", "fw-2024-06", false, false, 0, "" },
	/* spec 2.1: a job literally named get / start-next is addressed as P/get/get */
	{ P "get/get", JOBS_TOPICS_DESCRIBE, "pump-17", "get", false, false, 0, "" },
	{ P "get/update", JOBS_TOPICS_UPDATE, "pump-17", "get", false, false, 0, "" },
	{ P "start-next/get", JOBS_TOPICS_DESCRIBE, "pump-17", "start-next", false, false, 0, "" },
	{ P "notify-next/update", JOBS_TOPICS_UPDATE, "pump-17", "notify-next", false, false, 0,
	  "" },
	{ P LONG64 "/get", JOBS_TOPICS_DESCRIBE, "pump-17", LONG64, false, false, 0, "" },
	/* the server's own reply and event topics are ignored */
	{ P "get/accepted", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "get/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "start-next/accepted", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "start-next/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "fw-1/get/accepted", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "$next/get/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "fw-1/update/accepted", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "fw-1/update/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "notify", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "notify-next", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "fw-1/notify-namespace-ns1", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	/* our InvalidTopic replies are never answered again (no reply loop) */
	{ P "a/b/c/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ P "x/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ "$aws/things/pump-17/jobs/rejected", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	/* spec 2.1/2.9: other shapes under P -> InvalidTopic */
	{ P "foo", JOBS_TOPICS_INVALID, "pump-17", "", false, false, 0, "" },
	{ P "fw-1/delete", JOBS_TOPICS_INVALID, "pump-17", "", false, false, 0, "" },
	{ P "fw-1/get/extra", JOBS_TOPICS_INVALID, "pump-17", "", false, false, 0, "" },
	{ P "a/b/c/d", JOBS_TOPICS_INVALID, "pump-17", "", false, false, 0, "" },
	{ "$aws/things/pump-17/jobs", JOBS_TOPICS_INVALID, "", "", false, false, 0, "" },
	{ P, JOBS_TOPICS_INVALID, "", "", false, false, 0, "" },
	{ P "get/", JOBS_TOPICS_INVALID, "pump-17", "", false, false, 0, "" },
	{ P "GET", JOBS_TOPICS_INVALID, "pump-17", "", false, false, 0, "" },
	/* spec 2.9: invalid thing name or job id in the topic -> InvalidRequest */
	{ P "$next/update", JOBS_TOPICS_UPDATE, "", "", false, true, 0, "" },
	{ P "fw.1/get", JOBS_TOPICS_DESCRIBE, "", "", false, true, 0, "" },
	{ P "/get", JOBS_TOPICS_DESCRIBE, "", "", false, true, 0, "" },
	{ P LONG65 "/update", JOBS_TOPICS_UPDATE, "", "", false, true, 0, "" },
	{ P "fw:1/update", JOBS_TOPICS_UPDATE, "", "", false, true, 0, "" },
	{ "$aws/things/bad thing/jobs/get", JOBS_TOPICS_GET_PENDING, "", "", false, true, 0, "" },
	{ "$aws/things//jobs/start-next", JOBS_TOPICS_START_NEXT, "", "", false, true, 0, "" },
	{ "$aws/things/a.b/jobs/$next/get", JOBS_TOPICS_DESCRIBE, "", "", false, true, 0, "" },
	/* thing names admit ':' (spec 1.1) */
	{ "$aws/things/arn:x_y-z/jobs/get", JOBS_TOPICS_GET_PENDING, "arn:x_y-z", "", false, false,
	  0, "" },
	/* not ours */
	{ "$aws/things/pump-17/shadow/get", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	{ "$aws/things/pump-17/jobsx/get", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	{ "$aws/things/pump-17", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	{ "$aws/things/", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	{ "aws/things/pump-17/jobs/get", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	{ "$aws/Things/pump-17/jobs/get", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	{ "", JOBS_TOPICS_NONE, "", "", false, false, 0, "" },
	/* spec 9.3: streams */
	{ F "get/cbor", JOBS_TOPICS_STREAM_GET, "pump-17", "", false, false, JOBS_TOPICS_ENC_CBOR,
	  "AFR_OTA-1" },
	{ F "get/json", JOBS_TOPICS_STREAM_GET, "pump-17", "", false, false, JOBS_TOPICS_ENC_JSON,
	  "AFR_OTA-1" },
	{ F "describe/json", JOBS_TOPICS_STREAM_DESCRIBE, "pump-17", "", false, false,
	  JOBS_TOPICS_ENC_JSON, "AFR_OTA-1" },
	{ F "describe/cbor", JOBS_TOPICS_STREAM_DESCRIBE, "pump-17", "", false, false,
	  JOBS_TOPICS_ENC_CBOR, "AFR_OTA-1" },
	{ F "data/cbor", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ F "data/json", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ F "description/json", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ F "rejected/cbor", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ F "rejected/xml", JOBS_TOPICS_IGNORE, "", "", false, false, 0, "" },
	{ F "get/xml", JOBS_TOPICS_STREAM_INVALID, "pump-17", "", false, false,
	  JOBS_TOPICS_ENC_NONE, "AFR_OTA-1" },
	{ F "foo/json", JOBS_TOPICS_STREAM_INVALID, "pump-17", "", false, false,
	  JOBS_TOPICS_ENC_JSON, "AFR_OTA-1" },
	{ F "get", JOBS_TOPICS_STREAM_INVALID, "pump-17", "", false, false, JOBS_TOPICS_ENC_NONE,
	  "AFR_OTA-1" },
	{ F "get/cbor/x", JOBS_TOPICS_STREAM_INVALID, "pump-17", "", false, false,
	  JOBS_TOPICS_ENC_NONE, "AFR_OTA-1" },
	{ "$aws/things/pump-17/streams/a.b/get/cbor", JOBS_TOPICS_STREAM_GET, "", "", false, true,
	  JOBS_TOPICS_ENC_CBOR, "" },
	{ "$aws/things/pump-17/streams/a:b/get/cbor", JOBS_TOPICS_STREAM_GET, "", "", false, true,
	  JOBS_TOPICS_ENC_CBOR, "" },
	{ "$aws/things/bad thing/streams/s/get/json", JOBS_TOPICS_STREAM_GET, "", "", false, true,
	  JOBS_TOPICS_ENC_JSON, "" },
};

START_TEST(parse_table_spec_2_1_and_9_3)
{
	const struct parse_case *c = &cases[_i];
	struct jobs_topic t;

	jobs_topics_parse(c->topic, strlen(c->topic), &t);
	ck_assert_msg(t.kind == c->kind, "%s: kind %s, want %s", c->topic,
		      jobs_topics_kind_name(t.kind), jobs_topics_kind_name(c->kind));
	if (c->kind == JOBS_TOPICS_NONE || c->kind == JOBS_TOPICS_IGNORE)
		return;
	ck_assert_msg(t.is_bad_name == c->is_bad_name, "%s: is_bad_name", c->topic);
	ck_assert_str_eq(t.thing, c->thing);
	ck_assert_str_eq(t.job_id, c->job_id);
	ck_assert_int_eq(t.is_next, c->is_next);
	ck_assert_int_eq(t.enc, c->enc);
	ck_assert_str_eq(t.stream, c->stream);
}
END_TEST

START_TEST(parse_uses_length_not_nul)
{
	/* MQTT topics arrive with a length; the buffer need not end where the topic does */
	const char buf[] = P "fw-1/updateXXXX";
	struct jobs_topic t;

	jobs_topics_parse(buf, strlen(P "fw-1/update"), &t);
	ck_assert_int_eq(t.kind, JOBS_TOPICS_UPDATE);
	ck_assert_str_eq(t.job_id, "fw-1");
	jobs_topics_parse(buf, strlen(P "fw-1/upd"), &t);
	ck_assert_int_eq(t.kind, JOBS_TOPICS_INVALID);
}
END_TEST

START_TEST(parse_topic_with_nul_byte_is_not_ours)
{
	const char buf[] = P "get\0/x";
	struct jobs_topic t;

	jobs_topics_parse(buf, sizeof(buf) - 1, &t);
	ck_assert_int_eq(t.kind, JOBS_TOPICS_NONE);
	jobs_topics_parse(NULL, 0, &t);
	ck_assert_int_eq(t.kind, JOBS_TOPICS_NONE);
}
END_TEST

START_TEST(request_kinds_classified)
{
	ck_assert(jobs_topics_is_jobs_request(JOBS_TOPICS_GET_PENDING));
	ck_assert(jobs_topics_is_jobs_request(JOBS_TOPICS_INVALID));
	ck_assert(!jobs_topics_is_jobs_request(JOBS_TOPICS_IGNORE));
	ck_assert(!jobs_topics_is_jobs_request(JOBS_TOPICS_STREAM_GET));
	ck_assert(jobs_topics_is_stream_request(JOBS_TOPICS_STREAM_GET));
	ck_assert(jobs_topics_is_stream_request(JOBS_TOPICS_STREAM_INVALID));
	ck_assert(!jobs_topics_is_stream_request(JOBS_TOPICS_NONE));
}
END_TEST

START_TEST(reply_topics_append_suffix_and_keep_next_spec_2_1)
{
	char out[JOBS_TOPICS_MAX];
	const char *req = P "$next/get";

	ck_assert(jobs_topics_reply(req, strlen(req), true, out, sizeof(out)));
	ck_assert_str_eq(out, P "$next/get/accepted");
	ck_assert(jobs_topics_reply(req, strlen(req), false, out, sizeof(out)));
	ck_assert_str_eq(out, P "$next/get/rejected");
	/* exact fit and one byte short */
	ck_assert(jobs_topics_reply(req, strlen(req), false, out, strlen(req) + 10));
	ck_assert(!jobs_topics_reply(req, strlen(req), false, out, strlen(req) + 9));
	ck_assert_str_eq(out, "");
	/* the reply to an InvalidTopic request parses as ignored */
	ck_assert(jobs_topics_reply(P "x/y/z", strlen(P "x/y/z"), false, out, sizeof(out)));
	{
		struct jobs_topic t;

		jobs_topics_parse(out, strlen(out), &t);
		ck_assert_int_eq(t.kind, JOBS_TOPICS_IGNORE);
	}
}
END_TEST

START_TEST(event_topics_spec_2_1)
{
	char out[JOBS_TOPICS_MAX];

	ck_assert(jobs_topics_notify("pump-17", out, sizeof(out)));
	ck_assert_str_eq(out, P "notify");
	ck_assert(jobs_topics_notify_next("pump-17", out, sizeof(out)));
	ck_assert_str_eq(out, P "notify-next");
	ck_assert(!jobs_topics_notify("bad/thing", out, sizeof(out)));
	ck_assert(!jobs_topics_notify_next("", out, sizeof(out)));
	ck_assert(!jobs_topics_notify("pump-17", out, 10));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(request_topics_round_trip)
{
	static const enum jobs_topics_kind ops[] = { JOBS_TOPICS_GET_PENDING,
						     JOBS_TOPICS_START_NEXT, JOBS_TOPICS_DESCRIBE,
						     JOBS_TOPICS_UPDATE };
	char out[JOBS_TOPICS_MAX];
	struct jobs_topic t;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		ck_assert(jobs_topics_request(ops[i], "pump-17", "fw-1", out, sizeof(out)));
		jobs_topics_parse(out, strlen(out), &t);
		ck_assert_int_eq(t.kind, ops[i]);
		ck_assert(!t.is_bad_name);
		ck_assert_str_eq(t.thing, "pump-17");
	}
	ck_assert(jobs_topics_request(JOBS_TOPICS_DESCRIBE, "t", "$next", out, sizeof(out)));
	ck_assert_str_eq(out, "$aws/things/t/jobs/$next/get");
	ck_assert(!jobs_topics_request(JOBS_TOPICS_UPDATE, "t", "$next", out, sizeof(out)));
	ck_assert(!jobs_topics_request(JOBS_TOPICS_UPDATE, "t", NULL, out, sizeof(out)));
	ck_assert(!jobs_topics_request(JOBS_TOPICS_INVALID, "t", "j", out, sizeof(out)));
	ck_assert(!jobs_topics_request(JOBS_TOPICS_GET_PENDING, "t+", NULL, out, sizeof(out)));
}
END_TEST

START_TEST(stream_topics_spec_9_3)
{
	char out[JOBS_TOPICS_MAX];
	struct jobs_topic t;

	ck_assert(jobs_topics_stream("pump-17", "AFR_OTA-1", JOBS_TOPICS_OP_DATA,
				     JOBS_TOPICS_ENC_CBOR, out, sizeof(out)));
	ck_assert_str_eq(out, F "data/cbor");
	ck_assert(jobs_topics_stream("pump-17", "AFR_OTA-1", JOBS_TOPICS_OP_REJECTED,
				     JOBS_TOPICS_ENC_JSON, out, sizeof(out)));
	ck_assert_str_eq(out, F "rejected/json");
	ck_assert(jobs_topics_stream("pump-17", "AFR_OTA-1", JOBS_TOPICS_OP_DESCRIPTION,
				     JOBS_TOPICS_ENC_JSON, out, sizeof(out)));
	ck_assert_str_eq(out, F "description/json");
	ck_assert(jobs_topics_stream("pump-17", "AFR_OTA-1", JOBS_TOPICS_OP_GET,
				     JOBS_TOPICS_ENC_CBOR, out, sizeof(out)));
	jobs_topics_parse(out, strlen(out), &t);
	ck_assert_int_eq(t.kind, JOBS_TOPICS_STREAM_GET);
	ck_assert(!jobs_topics_stream("pump-17", "a.b", JOBS_TOPICS_OP_DATA, JOBS_TOPICS_ENC_CBOR,
				      out, sizeof(out)));
	ck_assert(!jobs_topics_stream("pump-17", "s", JOBS_TOPICS_OP_DATA, JOBS_TOPICS_ENC_NONE,
				      out, sizeof(out)));
}
END_TEST

START_TEST(longest_names_fit_topic_max)
{
	char thing[129], stream[129], out[JOBS_TOPICS_MAX];

	memset(thing, 't', 128);
	thing[128] = '\0';
	memset(stream, 's', 128);
	stream[128] = '\0';
	ck_assert(jobs_topics_stream(thing, stream, JOBS_TOPICS_OP_DESCRIPTION,
				     JOBS_TOPICS_ENC_CBOR, out, sizeof(out)));
	ck_assert(jobs_topics_request(JOBS_TOPICS_UPDATE, thing, LONG64, out, sizeof(out)));
	thing[128] = 't';
	thing[127] = '\0';
	ck_assert(jobs_topics_notify_next(thing, out, sizeof(out)));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_topics");
	TCase *tc = tcase_create("topics");

	tcase_add_loop_test(tc, parse_table_spec_2_1_and_9_3, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, parse_uses_length_not_nul);
	tcase_add_test(tc, parse_topic_with_nul_byte_is_not_ours);
	tcase_add_test(tc, request_kinds_classified);
	tcase_add_test(tc, reply_topics_append_suffix_and_keep_next_spec_2_1);
	tcase_add_test(tc, event_topics_spec_2_1);
	tcase_add_test(tc, request_topics_round_trip);
	tcase_add_test(tc, stream_topics_spec_9_3);
	tcase_add_test(tc, longest_names_fit_topic_max);
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
