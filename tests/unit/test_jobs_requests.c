/*
 * Unit tests for jobs/requests, jobs/render and jobs/events: device request parsing (spec 1.1,
 * 1.4, 2.3, 2.5-2.8), accepted and rejected replies (2.5-2.9, 4.1), control-plane renderings
 * (5.2), and the pending list with notify / notify-next (2.10). Section numbers refer to
 * spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/events.h"
#include "jobs/render.h"
#include "jobs/requests.h"

#define NOW INT64_C(1718020602123) /* replies print 1718020602 */

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
		abort();
	}
	return j;
}

/* Exact comparison (integer vs real matters), both sides printed on failure; consumes got. */
static void assert_json(json_t *got, const char *want_text)
{
	json_t *want = J(want_text);
	char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(got && json_equal(got, want), "got  %s\nwant %s", g ? g : "(null)",
		      want_text);
	free(g);
	json_decref(want);
	json_decref(got);
}

/* ---- parsing ------------------------------------------------------------------------------ */

#define G JOBS_TOPICS_GET_PENDING
#define S JOBS_TOPICS_START_NEXT
#define D JOBS_TOPICS_DESCRIBE
#define U JOBS_TOPICS_UPDATE
#define OK JOBS_OK
#define IJ JOBS_ERR_INVALID_JSON
#define IR JOBS_ERR_INVALID_REQUEST
#define T64 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
#define K128                                                                                       \
	"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" \
	"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"

struct parse_case {
	enum jobs_topics_kind op;
	const char *payload;
	enum jobs_err err;
};

static const struct parse_case parse_cases[] = {
	/* spec 2.3: empty payload = {} (update then lacks status) */
	{ G, "", OK },
	{ S, "", OK },
	{ D, "", OK },
	{ U, "", IR },
	{ G, "{}", OK },
	/* spec 1.4, 2.9: not JSON, or not an object -> InvalidJson */
	{ G, "not json", IJ },
	{ G, "[1]", IJ },
	{ G, "\"x\"", IJ },
	{ G, "null", IJ },
	{ G, "{\"a\":1,\"a\":2}", IJ },
	{ G, "{\"clientToken\":\"a\"} trailing", IJ },
	{ G, "{\"c\":\"\xff\"}", IJ },
	/* clientToken <= 64 bytes (spec 1.1) */
	{ G, "{\"clientToken\":\"" T64 "\"}", OK },
	{ G, "{\"clientToken\":\"" T64 "x\"}", IR },
	{ G, "{\"clientToken\":5}", IR },
	{ G, "{\"clientToken\":\"\"}", OK },
	{ G, "{\"clientToken\":null}", OK },
	/* status (spec 2.8, 3.2 note, quirk 35) */
	{ U, "{\"status\":\"IN_PROGRESS\"}", OK },
	{ U, "{\"status\":\"SUCCEEDED\"}", OK },
	{ U, "{\"status\":\"FAILED\"}", OK },
	{ U, "{\"status\":\"REJECTED\"}", OK },
	{ U, "{\"status\":\"QUEUED\"}", OK }, /* refused later as InvalidStateTransition */
	{ U, "{\"status\":\"CANCELED\"}", IR },
	{ U, "{\"status\":\"TIMED_OUT\"}", IR },
	{ U, "{\"status\":\"REMOVED\"}", IR },
	{ U, "{\"status\":\"in_progress\"}", IR },
	{ U, "{\"status\":3}", IR },
	{ U, "{\"status\":null}", IR },
	{ U, "{}", IR },
	/* statusDetails keys and values (spec 1.1) */
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{}}", OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":[]}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":\"x\"}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a b\":\"x\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a.b\":\"x\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"\":\"x\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"" K128 "\":\"x\"}}", OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"" K128 "k\":\"x\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a:b_c-d\":\"x\"}}", OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":1}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":null}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":\"\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":\"x\\ny\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":\"x\\u200by\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":\"x\\ue000y\"}}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"a\":\"\\u00fc \\ud83d\\ude00\"}}",
	  OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"updatedBy\":\"0x01000002\"}}", OK },
	/* expectedVersion: number or decimal string (spec 1.4, quirk 6) */
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":3}", OK },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":\"3\"}", OK },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":3.0}", OK },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":3.5}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":\"3a\"}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":\"\"}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":\" 3\"}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":-1}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":\"-1\"}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":true}", IR },
	{ U, "{\"status\":\"SUCCEEDED\",\"expectedVersion\":\"1234567890123456789\"}", IR },
	/* executionNumber */
	{ U, "{\"status\":\"SUCCEEDED\",\"executionNumber\":2}", OK },
	{ U, "{\"status\":\"SUCCEEDED\",\"executionNumber\":0}", IR },
	{ D, "{\"executionNumber\":\"2\"}", OK },
	{ D, "{\"executionNumber\":{}}", IR },
	/* booleans */
	{ U, "{\"status\":\"SUCCEEDED\",\"includeJobExecutionState\":true}", OK },
	{ U, "{\"status\":\"SUCCEEDED\",\"includeJobExecutionState\":\"true\"}", IR },
	{ D, "{\"includeJobDocument\":1}", IR },
	/* stepTimeoutInMinutes: 1..10080, -1 on update only (spec 2.8, 2.9) */
	{ U, "{\"status\":\"IN_PROGRESS\",\"stepTimeoutInMinutes\":-1}", OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"stepTimeoutInMinutes\":1}", OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"stepTimeoutInMinutes\":10080}", OK },
	{ U, "{\"status\":\"IN_PROGRESS\",\"stepTimeoutInMinutes\":10081}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"stepTimeoutInMinutes\":0}", IR },
	{ U, "{\"status\":\"IN_PROGRESS\",\"stepTimeoutInMinutes\":-2}", IR },
	{ S, "{\"stepTimeoutInMinutes\":30}", OK },
	{ S, "{\"stepTimeoutInMinutes\":-1}", IR },
	{ S, "{\"statusDetails\":{\"a\":\"\"}}", IR },
	/* unknown fields are ignored (spec 1.4); fields an operation does not use are not checked */
	{ U, "{\"status\":\"IN_PROGRESS\",\"foo\":{\"bar\":[1,2]}}", OK },
	{ G, "{\"status\":5,\"statusDetails\":3,\"expectedVersion\":\"x\"}", OK },
	{ D, "{\"statusDetails\":3,\"stepTimeoutInMinutes\":0}", OK },
	{ S, "{\"executionNumber\":-5,\"includeJobDocument\":\"x\"}", OK },
};

START_TEST(parse_table_spec_2_5_to_2_9)
{
	const struct parse_case *c = &parse_cases[_i];
	struct jobs_request r;
	char msg[JOBS_REQUESTS_MSG_MAX];
	enum jobs_err err;

	err = jobs_requests_parse(c->op, c->payload, strlen(c->payload), &r, msg, sizeof(msg));
	ck_assert_msg(err == c->err, "%s: got %s (%s), want %s", c->payload, jobs_err_code(err),
		      msg, jobs_err_code(c->err));
	if (err != JOBS_OK)
		ck_assert_msg(msg[0] != '\0', "no message for %s", c->payload);
	jobs_requests_cleanup(&r);
}
END_TEST

START_TEST(parse_update_fields_spec_2_8_example)
{
	const char *p = "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"receive\":\"12/110\"},"
			"\"expectedVersion\":\"3\",\"executionNumber\":1,"
			"\"includeJobExecutionState\":true,\"includeJobDocument\":false,"
			"\"stepTimeoutInMinutes\":15,\"clientToken\":\"u-5531\"}";
	struct jobs_request r;
	json_t *want = J("{\"receive\":\"12/110\"}");

	ck_assert_int_eq(jobs_requests_parse(U, p, strlen(p), &r, NULL, 0), JOBS_OK);
	ck_assert_int_eq(r.op, U);
	ck_assert_int_eq(r.update.status, JOBS_EXEC_IN_PROGRESS);
	ck_assert(json_equal(r.update.status_details, want));
	ck_assert(r.update.has_expected_version);
	ck_assert_int_eq(r.update.expected_version, 3);
	ck_assert(r.update.has_execution_number);
	ck_assert_int_eq(r.update.execution_number, 1);
	ck_assert(r.include_job_execution_state);
	ck_assert(!r.include_job_document);
	ck_assert(r.update.has_step_timeout);
	ck_assert_int_eq(r.update.step_timeout_min, 15);
	ck_assert_str_eq(jobs_requests_token(&r), "u-5531");
	jobs_requests_cleanup(&r);
	json_decref(want);
}
END_TEST

START_TEST(parse_defaults_spec_2_7_and_2_8)
{
	struct jobs_request r;

	ck_assert_int_eq(jobs_requests_parse(D, "", 0, &r, NULL, 0), JOBS_OK);
	ck_assert(r.include_job_document); /* describe: default true */
	ck_assert(!r.update.has_execution_number);
	ck_assert_ptr_null(jobs_requests_token(&r)); /* absent in -> absent out */
	jobs_requests_cleanup(&r);
	ck_assert_int_eq(jobs_requests_parse(D, "{\"includeJobDocument\":false}", 28, &r, NULL, 0),
			 JOBS_OK);
	ck_assert(!r.include_job_document);
	jobs_requests_cleanup(&r);
	ck_assert_int_eq(jobs_requests_parse(U, "{\"status\":\"FAILED\"}", 19, &r, NULL, 0),
			 JOBS_OK);
	ck_assert(!r.include_job_document); /* update: default false */
	ck_assert(!r.include_job_execution_state);
	ck_assert_ptr_null(r.update.status_details);
	jobs_requests_cleanup(&r);
}
END_TEST

START_TEST(parse_keeps_odd_tokens_verbatim_spec_2_3)
{
	static const char *const tokens[] = { "3:myThing", ":myThing", "", "\\u00fc\"q" };
	static const char *const want[] = { "3:myThing", ":myThing", "", "\xc3\xbc\"q" };
	char p[128];
	struct jobs_request r;

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "{\"clientToken\":\"%s\"}",
			 i == 3 ? "\\u00fc\\\"q" : tokens[i]);
		ck_assert_int_eq(jobs_requests_parse(G, p, strlen(p), &r, NULL, 0), JOBS_OK);
		ck_assert_str_eq(jobs_requests_token(&r), want[i]);
		jobs_requests_cleanup(&r);
	}
}
END_TEST

START_TEST(parse_keeps_token_when_another_field_fails_spec_2_9)
{
	const char *p =
		"{\"clientToken\":\"abc\",\"status\":\"DONE\",\"statusDetails\":{\"a\":\"b\"}}";
	struct jobs_request r;

	ck_assert_int_eq(jobs_requests_parse(U, p, strlen(p), &r, NULL, 0), IR);
	ck_assert_str_eq(jobs_requests_token(&r), "abc");
	ck_assert_ptr_null(r.update.status_details);
	jobs_requests_cleanup(&r);
	p = "{\"clientToken\":\"abc\",\"status\":\"FAILED\",\"stepTimeoutInMinutes\":0,"
	    "\"statusDetails\":{\"a\":\"b\"}}";
	ck_assert_int_eq(jobs_requests_parse(U, p, strlen(p), &r, NULL, 0), IR);
	ck_assert_str_eq(jobs_requests_token(&r), "abc");
	ck_assert_ptr_null(r.update.status_details); /* nothing half-parsed is left */
	jobs_requests_cleanup(&r);
	/* a token that is itself invalid is not echoed */
	p = "{\"clientToken\":\"" T64 "zz\"}";
	ck_assert_int_eq(jobs_requests_parse(G, p, strlen(p), &r, NULL, 0), IR);
	ck_assert_ptr_null(jobs_requests_token(&r));
	jobs_requests_cleanup(&r);
}
END_TEST

START_TEST(parse_payload_not_nul_terminated_and_size_cap)
{
	const char buf[] = "{\"status\":\"FAILED\"}GARBAGE";
	struct jobs_request r;
	char *big;

	ck_assert_int_eq(jobs_requests_parse(U, buf, 19, &r, NULL, 0), JOBS_OK);
	jobs_requests_cleanup(&r);
	big = malloc(JOBS_REQUESTS_MAX_PAYLOAD + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', JOBS_REQUESTS_MAX_PAYLOAD + 1);
	big[0] = '{';
	big[JOBS_REQUESTS_MAX_PAYLOAD] = '}';
	ck_assert_int_eq(jobs_requests_parse(G, big, JOBS_REQUESTS_MAX_PAYLOAD + 1, &r, NULL, 0),
			 IR);
	jobs_requests_cleanup(&r);
	ck_assert_int_eq(jobs_requests_parse(G, big + 1, JOBS_REQUESTS_MAX_PAYLOAD, &r, NULL, 0),
			 IJ);
	jobs_requests_cleanup(&r);
	free(big);
}
END_TEST

START_TEST(parse_topic_invalid_and_bad_names_spec_2_9)
{
	struct jobs_topic t;
	struct jobs_request r;
	const char *topic = "$aws/things/pump-17/jobs/a/b/c";
	const char *p = "{\"clientToken\":\"t-1\"}";
	char msg[JOBS_REQUESTS_MSG_MAX];

	jobs_topics_parse(topic, strlen(topic), &t);
	ck_assert_int_eq(jobs_requests_parse_topic(&t, p, strlen(p), &r, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_TOPIC);
	ck_assert_str_eq(jobs_requests_token(&r), "t-1");
	jobs_requests_cleanup(&r);
	/* InvalidTopic wins over an unparseable payload */
	ck_assert_int_eq(jobs_requests_parse_topic(&t, "x", 1, &r, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_TOPIC);
	ck_assert_ptr_null(jobs_requests_token(&r));
	jobs_requests_cleanup(&r);
	topic = "$aws/things/pump-17/jobs/$next/update";
	jobs_topics_parse(topic, strlen(topic), &t);
	ck_assert_int_eq(jobs_requests_parse_topic(&t, p, strlen(p), &r, msg, sizeof(msg)), IR);
	ck_assert_str_eq(jobs_requests_token(&r), "t-1");
	ck_assert_int_eq(r.op, U);
	jobs_requests_cleanup(&r);
	/* a bad name with a non-JSON payload: InvalidJson comes first */
	ck_assert_int_eq(jobs_requests_parse_topic(&t, "x", 1, &r, msg, sizeof(msg)), IJ);
	jobs_requests_cleanup(&r);
	topic = "$aws/things/pump-17/jobs/fw-1/update";
	jobs_topics_parse(topic, strlen(topic), &t);
	ck_assert_int_eq(
		jobs_requests_parse_topic(&t, "{\"status\":\"FAILED\"}", 19, &r, msg, sizeof(msg)),
		JOBS_OK);
	jobs_requests_cleanup(&r);
}
END_TEST

START_TEST(parse_json_for_http_bodies_spec_4_1)
{
	struct jobs_request r;
	json_t *body = J("{\"status\":\"SUCCEEDED\",\"expectedVersion\":5}");

	ck_assert_int_eq(jobs_requests_parse_json(U, body, &r, NULL, 0), JOBS_OK);
	ck_assert_int_eq(r.update.expected_version, 5);
	jobs_requests_cleanup(&r);
	ck_assert_int_eq(jobs_requests_parse_json(S, NULL, &r, NULL, 0), JOBS_OK);
	jobs_requests_cleanup(&r);
	json_decref(body);
	body = J("[]");
	ck_assert_int_eq(jobs_requests_parse_json(S, body, &r, NULL, 0), IJ);
	jobs_requests_cleanup(&r);
	json_decref(body);
	jobs_requests_cleanup(NULL);
}
END_TEST

/* ---- renderings and replies --------------------------------------------------------------- */

#define S_Q 1718019900
#define S_S 1718019960
#define S_U 1718020480

static void exec_fixture(struct jobs_execution *e, const char *job, enum jobs_exec_status st,
			 int64_t queued_s, int64_t seq)
{
	ck_assert(jobs_execution_new_queued(e, job, "pump-17", 1, seq, queued_s * 1000));
	e->status = st;
	if (st != JOBS_EXEC_QUEUED) {
		e->started_at_ms = S_S * INT64_C(1000) + 999; /* seconds are floored */
		e->last_updated_at_ms = S_U * INT64_C(1000);
		e->version_number = 4;
	}
}

START_TEST(render_execution_mqtt_and_http_spec_2_4_and_4_1)
{
	struct jobs_execution e;
	json_t *doc = J("{\"operation\":\"flash\",\"image\":\"https://files.example/fw.bin\"}");

	exec_fixture(&e, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	e.status_details = J("{\"step\":\"flashing\"}");
	e.in_progress_deadline_ms = NOW + 1710 * INT64_C(1000);
	/* MQTT: no thingName, document as an object, no timer field */
	assert_json(jobs_render_execution(&e, doc, JOBS_PLANE_MQTT, NOW),
		    "{\"jobId\":\"fw-2024-06\",\"status\":\"IN_PROGRESS\","
		    "\"statusDetails\":{\"step\":\"flashing\"},\"queuedAt\":1718019900,"
		    "\"startedAt\":1718019960,\"lastUpdatedAt\":1718020480,\"versionNumber\":4,"
		    "\"executionNumber\":1,\"jobDocument\":{\"operation\":\"flash\","
		    "\"image\":\"https://files.example/fw.bin\"}}");
	/* HTTP data plane (spec 4.1 example): thingName, timer, document as a string */
	assert_json(
		jobs_render_execution(&e, doc, JOBS_PLANE_HTTP, NOW),
		"{\"jobId\":\"fw-2024-06\",\"thingName\":\"pump-17\",\"status\":\"IN_PROGRESS\","
		"\"statusDetails\":{\"step\":\"flashing\"},\"queuedAt\":1718019900,"
		"\"startedAt\":1718019960,\"lastUpdatedAt\":1718020480,"
		"\"approximateSecondsBeforeTimedOut\":1710,\"versionNumber\":4,"
		"\"executionNumber\":1,\"jobDocument\":"
		"\"{\\\"operation\\\":\\\"flash\\\",\\\"image\\\":\\\"https://files.example/fw.bin\\\"}\"}");
	/* queued, no details, no document: optional fields omitted, never null (spec 1.4) */
	jobs_execution_cleanup(&e);
	exec_fixture(&e, "rotate-cert-7", JOBS_EXEC_QUEUED, 1718020100, 2);
	assert_json(jobs_render_execution(&e, NULL, JOBS_PLANE_MQTT, NOW),
		    "{\"jobId\":\"rotate-cert-7\",\"status\":\"QUEUED\",\"queuedAt\":1718020100,"
		    "\"lastUpdatedAt\":1718020100,\"versionNumber\":1,\"executionNumber\":1}");
	assert_json(jobs_render_summary(&e),
		    "{\"jobId\":\"rotate-cert-7\",\"queuedAt\":1718020100,"
		    "\"lastUpdatedAt\":1718020100,\"versionNumber\":1,\"executionNumber\":1}");
	assert_json(jobs_render_state(&e), "{\"status\":\"QUEUED\",\"versionNumber\":1}");
	jobs_execution_cleanup(&e);
	json_decref(doc);
}
END_TEST

START_TEST(render_control_plane_spec_5_2)
{
	struct jobs_execution e;

	exec_fixture(&e, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	e.status_details = J("{\"step\":\"flashing\"}");
	e.step_deadline_ms = NOW + 1710 * INT64_C(1000) - 500;
	e.retries.after_failed = 1;
	assert_json(jobs_render_execution_iot(
			    &e, "arn:aws:iot:us-east-1:123456789012:thing/pump-17", NOW),
		    "{\"jobId\":\"fw-2024-06\",\"status\":\"IN_PROGRESS\",\"forceCanceled\":false,"
		    "\"statusDetails\":{\"detailsMap\":{\"step\":\"flashing\"}},"
		    "\"thingArn\":\"arn:aws:iot:us-east-1:123456789012:thing/pump-17\","
		    "\"queuedAt\":1718019900,\"startedAt\":1718019960,\"lastUpdatedAt\":1718020480,"
		    "\"executionNumber\":1,\"versionNumber\":4,"
		    "\"approximateSecondsBeforeTimedOut\":1710}");
	assert_json(jobs_render_summary_iot(&e),
		    "{\"status\":\"IN_PROGRESS\",\"queuedAt\":1718019900,\"startedAt\":1718019960,"
		    "\"lastUpdatedAt\":1718020480,\"executionNumber\":1,\"retryAttempt\":1}");
	jobs_execution_cleanup(&e);
}
END_TEST

START_TEST(pending_reply_spec_2_5_example)
{
	struct jobs_execution a, b, c, done;
	const struct jobs_execution *list[4] = { &b, &done, &a, &c };

	exec_fixture(&a, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	a.version_number = 2;
	a.last_updated_at_ms = S_S * INT64_C(1000);
	exec_fixture(&b, "rotate-cert-7", JOBS_EXEC_QUEUED, 1718020100, 2);
	exec_fixture(&c, "reboot", JOBS_EXEC_QUEUED, 1718020000, 3);
	exec_fixture(&done, "old", JOBS_EXEC_SUCCEEDED, 1718000000, 0);
	assert_json(jobs_requests_pending_reply(list, 4, JOBS_EVENTS_PENDING_LIMIT,
						"c4b1-getpending", JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602,\"clientToken\":\"c4b1-getpending\","
		    "\"inProgressJobs\":[{\"jobId\":\"fw-2024-06\",\"queuedAt\":1718019900,"
		    "\"startedAt\":1718019960,\"lastUpdatedAt\":1718019960,\"versionNumber\":2,"
		    "\"executionNumber\":1}],"
		    "\"queuedJobs\":[{\"jobId\":\"reboot\",\"queuedAt\":1718020000,"
		    "\"lastUpdatedAt\":1718020000,\"versionNumber\":1,\"executionNumber\":1},"
		    "{\"jobId\":\"rotate-cert-7\",\"queuedAt\":1718020100,"
		    "\"lastUpdatedAt\":1718020100,\"versionNumber\":1,\"executionNumber\":1}]}");
	/* HTTP: no timestamp or token; both arrays always present */
	assert_json(jobs_requests_pending_reply(NULL, 0, 10, "x", JOBS_PLANE_HTTP, NOW),
		    "{\"inProgressJobs\":[],\"queuedJobs\":[]}");
	assert_json(jobs_requests_pending_reply(NULL, 0, 10, NULL, JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602,\"inProgressJobs\":[],\"queuedJobs\":[]}");
	jobs_execution_cleanup(&a);
	jobs_execution_cleanup(&b);
	jobs_execution_cleanup(&c);
	jobs_execution_cleanup(&done);
}
END_TEST

START_TEST(pending_reply_limits_to_10_spec_2_5)
{
	struct jobs_execution e[16];
	const struct jobs_execution *list[16];
	json_t *r;
	char id[16];

	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "job-%02d", i);
		/* queuedAt equal: creation order (seq) decides */
		exec_fixture(&e[i], id, JOBS_EXEC_QUEUED, S_Q, 100 - i);
		list[i] = &e[i];
	}
	r = jobs_requests_pending_reply(list, 16, JOBS_EVENTS_PENDING_LIMIT, NULL, JOBS_PLANE_MQTT,
					NOW);
	ck_assert_int_eq(json_array_size(json_object_get(r, "queuedJobs")), 10);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(r, "queuedJobs"), 0), "jobId")),
			 "job-15");
	json_decref(r);
	r = jobs_requests_pending_reply(list, 16, JOBS_EVENTS_PENDING_LIMIT_SCHEDULED, NULL,
					JOBS_PLANE_MQTT, NOW);
	ck_assert_int_eq(json_array_size(json_object_get(r, "queuedJobs")), 15);
	json_decref(r);
	for (int i = 0; i < 16; i++)
		jobs_execution_cleanup(&e[i]);
}
END_TEST

START_TEST(execution_reply_start_next_and_describe_spec_2_6_2_7)
{
	struct jobs_execution e;
	json_t *doc = J("{\"afr_ota\":{\"protocols\":[\"MQTT\"],\"streamname\":\"AFR_OTA-5f0c\","
			"\"files\":[]}}");

	exec_fixture(&e, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	e.status_details = J("{\"self_test\":\"ready\",\"updatedBy\":\"0x01000002\"}");
	assert_json(
		jobs_requests_execution_reply(&e, doc, "d-77", JOBS_PLANE_MQTT, NOW),
		"{\"timestamp\":1718020602,\"clientToken\":\"d-77\",\"execution\":{"
		"\"jobId\":\"fw-2024-06\",\"status\":\"IN_PROGRESS\",\"statusDetails\":"
		"{\"self_test\":\"ready\",\"updatedBy\":\"0x01000002\"},\"queuedAt\":1718019900,"
		"\"startedAt\":1718019960,\"lastUpdatedAt\":1718020480,\"versionNumber\":4,"
		"\"executionNumber\":1,\"jobDocument\":{\"afr_ota\":{\"protocols\":[\"MQTT\"],"
		"\"streamname\":\"AFR_OTA-5f0c\",\"files\":[]}}}}");
	/* quirk 9: $next with nothing pending -> no execution field */
	assert_json(jobs_requests_execution_reply(NULL, NULL, "d-78", JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602,\"clientToken\":\"d-78\"}");
	assert_json(jobs_requests_execution_reply(NULL, NULL, NULL, JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602}");
	assert_json(jobs_requests_execution_reply(NULL, NULL, NULL, JOBS_PLANE_HTTP, NOW), "{}");
	jobs_execution_cleanup(&e);
	json_decref(doc);
}
END_TEST

START_TEST(update_reply_flags_quirk_10)
{
	struct jobs_execution e;
	json_t *doc = J("{\"op\":\"x\"}");

	exec_fixture(&e, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	e.status_details = J("{\"receive\":\"12/110\"}");
	assert_json(jobs_requests_update_reply(&e, false, NULL, NULL, JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602}");
	assert_json(jobs_requests_update_reply(&e, true, NULL, "u-5531", JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602,\"clientToken\":\"u-5531\",\"executionState\":"
		    "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"receive\":\"12/110\"},"
		    "\"versionNumber\":4}}");
	assert_json(jobs_requests_update_reply(&e, false, doc, NULL, JOBS_PLANE_MQTT, NOW),
		    "{\"timestamp\":1718020602,\"jobDocument\":{\"op\":\"x\"}}");
	assert_json(
		jobs_requests_update_reply(&e, true, doc, NULL, JOBS_PLANE_HTTP, NOW),
		"{\"executionState\":{\"status\":\"IN_PROGRESS\",\"statusDetails\":"
		"{\"receive\":\"12/110\"},\"versionNumber\":4},\"jobDocument\":\"{\\\"op\\\":\\\"x\\\"}\"}");
	jobs_execution_cleanup(&e);
	json_decref(doc);
}
END_TEST

START_TEST(rejected_reply_spec_2_9)
{
	struct jobs_execution e;

	exec_fixture(&e, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	e.version_number = 5;
	e.status_details = J("{\"receive\":\"40/110\"}");
	assert_json(
		jobs_requests_rejected(JOBS_ERR_VERSION_MISMATCH,
				       "expected version 3 but the execution is at version 5",
				       "u-5531", &e, NOW),
		"{\"code\":\"VersionMismatch\",\"message\":\"expected version 3 but the "
		"execution is at version 5\",\"clientToken\":\"u-5531\",\"timestamp\":1718020602,"
		"\"executionState\":{\"status\":\"IN_PROGRESS\",\"statusDetails\":"
		"{\"receive\":\"40/110\"},\"versionNumber\":5}}");
	/* executionState only for VersionMismatch / InvalidStateTransition */
	assert_json(jobs_requests_rejected(JOBS_ERR_INVALID_REQUEST, "bad", NULL, &e, NOW),
		    "{\"code\":\"InvalidRequest\",\"message\":\"bad\",\"timestamp\":1718020602}");
	assert_json(jobs_requests_rejected(JOBS_ERR_INVALID_STATE_TRANSITION, NULL, "", NULL, NOW),
		    "{\"code\":\"InvalidStateTransition\",\"message\":\"the execution cannot make "
		    "this transition\",\"clientToken\":\"\",\"timestamp\":1718020602}");
	/* a message that is not UTF-8 falls back to the default text */
	assert_json(
		jobs_requests_rejected(JOBS_ERR_RESOURCE_NOT_FOUND, "bad \xc3", NULL, NULL, NOW),
		"{\"code\":\"ResourceNotFound\",\"message\":\"no such job execution\","
		"\"timestamp\":1718020602}");
	jobs_execution_cleanup(&e);
}
END_TEST

START_TEST(parse_error_message_fits_rejected_reply)
{
	/* a message truncated to the caller's buffer still makes a valid reply */
	char p[256], msg[40];
	struct jobs_request r;
	json_t *rej;

	snprintf(p, sizeof(p), "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"%s\":5}}",
		 "abcdefghijklmnopqrstuvwxyz");
	ck_assert_int_eq(jobs_requests_parse(U, p, strlen(p), &r, msg, sizeof(msg)), IR);
	rej = jobs_requests_rejected(IR, msg, NULL, NULL, NOW);
	ck_assert_ptr_nonnull(rej);
	ck_assert_str_eq(json_string_value(json_object_get(rej, "message")), msg);
	json_decref(rej);
	jobs_requests_cleanup(&r);
}
END_TEST

/* ---- spec 2.10: pending list and events --------------------------------------------------- */

START_TEST(pending_order_in_progress_first_then_queued_at_spec_2_10)
{
	struct jobs_execution a, b, c, d;
	const struct jobs_execution *list[4] = { &a, &b, &c, &d };
	size_t n;

	exec_fixture(&a, "q-late", JOBS_EXEC_QUEUED, 300, 1);
	exec_fixture(&b, "ip-late", JOBS_EXEC_IN_PROGRESS, 200, 2);
	exec_fixture(&c, "q-early", JOBS_EXEC_QUEUED, 100, 3);
	exec_fixture(&d, "ip-early", JOBS_EXEC_IN_PROGRESS, 150, 4);
	n = jobs_events_pending_list(list, 4, 10);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(list[0]->job_id, "ip-early");
	ck_assert_str_eq(list[1]->job_id, "ip-late");
	ck_assert_str_eq(list[2]->job_id, "q-early");
	ck_assert_str_eq(list[3]->job_id, "q-late");
	jobs_execution_cleanup(&a);
	jobs_execution_cleanup(&b);
	jobs_execution_cleanup(&c);
	jobs_execution_cleanup(&d);
}
END_TEST

/* One event case: before and after as "job#exec:S" items (S = Q or I), comma separated. */
struct change_case {
	const char *name;
	const char *before;
	const char *after;
	bool notify;
	bool notify_next;
};

static const struct change_case change_cases[] = {
	{ "head QUEUED -> IN_PROGRESS is silent (guide example, quirk 12)", "a#1:Q,b#1:Q",
	  "a#1:I,b#1:Q", false, false },
	{ "job queued behind the head: notify only", "a#1:I", "a#1:I,b#1:Q", true, false },
	{ "non-head overtakes the head: notify-next only", "a#1:Q,b#1:Q", "b#1:I,a#1:Q", false,
	  true },
	{ "head completes: both", "a#1:I,b#1:Q", "b#1:Q", true, true },
	{ "last pending completes: both", "a#1:I", "", true, true },
	{ "first job on an idle thing: both", "", "a#1:Q", true, true },
	{ "nothing before and after: none", "", "", false, false },
	{ "details or version change only: none", "a#1:I,b#1:Q", "a#1:I,b#1:Q", false, false },
	{ "retry replaces the head execution: both", "a#1:I", "a#2:Q", true, true },
	{ "non-head removed: notify only", "a#1:I,b#1:Q,c#1:Q", "a#1:I,c#1:Q", true, false },
};

/* Build executions from a spec string; returns the count. */
static size_t build_list(const char *spec, struct jobs_execution *e,
			 const struct jobs_execution **list)
{
	char buf[128], *save = NULL, *tok;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char job[16];
		int exec;
		char st;

		ck_assert_int_eq(sscanf(tok, "%15[^#]#%d:%c", job, &exec, &st), 3);
		exec_fixture(&e[n], job, st == 'I' ? JOBS_EXEC_IN_PROGRESS : JOBS_EXEC_QUEUED,
			     100 + (int64_t)n, (int64_t)n);
		e[n].execution_number = exec;
		list[n] = &e[n];
		n++;
	}
	return jobs_events_pending_list(list, n, JOBS_EVENTS_PENDING_LIMIT);
}

START_TEST(event_changes_spec_2_10)
{
	const struct change_case *c = &change_cases[_i];
	struct jobs_execution be[8], ae[8];
	const struct jobs_execution *bl[8], *al[8];
	size_t nb = build_list(c->before, be, bl), na = build_list(c->after, ae, al);
	bool notify, next;

	jobs_events_changes(bl, nb, al, na, &notify, &next);
	ck_assert_msg(notify == c->notify && next == c->notify_next, "%s: notify %d next %d",
		      c->name, notify, next);
	for (size_t i = 0; i < nb; i++)
		jobs_execution_cleanup(&be[i]);
	for (size_t i = 0; i < na; i++)
		jobs_execution_cleanup(&ae[i]);
}
END_TEST

START_TEST(notify_payload_spec_2_10_example)
{
	struct jobs_execution a, b;
	const struct jobs_execution *list[2] = { &b, &a };
	size_t n;

	exec_fixture(&a, "fw-2024-06", JOBS_EXEC_IN_PROGRESS, S_Q, 1);
	exec_fixture(&b, "reboot-weekly", JOBS_EXEC_QUEUED, 1718020999, 2);
	n = jobs_events_pending_list(list, 2, JOBS_EVENTS_PENDING_LIMIT);
	assert_json(
		jobs_events_notify(list, n, INT64_C(1718021000000)),
		"{\"timestamp\":1718021000,\"jobs\":{\"IN_PROGRESS\":[{\"jobId\":\"fw-2024-06\","
		"\"queuedAt\":1718019900,\"startedAt\":1718019960,\"lastUpdatedAt\":1718020480,"
		"\"executionNumber\":1,\"versionNumber\":4}],\"QUEUED\":[{\"jobId\":"
		"\"reboot-weekly\",\"queuedAt\":1718020999,\"lastUpdatedAt\":1718020999,"
		"\"executionNumber\":1,\"versionNumber\":1}]}}");
	/* empty pending list (quirk 12) */
	assert_json(jobs_events_notify(NULL, 0, INT64_C(1718021400000)),
		    "{\"timestamp\":1718021400,\"jobs\":{}}");
	assert_json(jobs_events_notify_next(NULL, NULL, INT64_C(1718021400000)),
		    "{\"timestamp\":1718021400}");
	{
		json_t *doc = J("{\"a\":1}");

		assert_json(
			jobs_events_notify_next(&b, doc, INT64_C(1718021000000)),
			"{\"timestamp\":1718021000,\"execution\":{\"jobId\":\"reboot-weekly\","
			"\"status\":\"QUEUED\",\"queuedAt\":1718020999,"
			"\"lastUpdatedAt\":1718020999,\"versionNumber\":1,\"executionNumber\":1,"
			"\"jobDocument\":{\"a\":1}}}");
		json_decref(doc);
	}
	jobs_execution_cleanup(&a);
	jobs_execution_cleanup(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_requests");
	TCase *parse = tcase_create("parse");
	TCase *reply = tcase_create("reply");
	TCase *events = tcase_create("events");

	tcase_add_loop_test(parse, parse_table_spec_2_5_to_2_9, 0,
			    (int)(sizeof(parse_cases) / sizeof(parse_cases[0])));
	tcase_add_test(parse, parse_update_fields_spec_2_8_example);
	tcase_add_test(parse, parse_defaults_spec_2_7_and_2_8);
	tcase_add_test(parse, parse_keeps_odd_tokens_verbatim_spec_2_3);
	tcase_add_test(parse, parse_keeps_token_when_another_field_fails_spec_2_9);
	tcase_add_test(parse, parse_payload_not_nul_terminated_and_size_cap);
	tcase_add_test(parse, parse_topic_invalid_and_bad_names_spec_2_9);
	tcase_add_test(parse, parse_json_for_http_bodies_spec_4_1);
	tcase_add_test(parse, parse_error_message_fits_rejected_reply);
	suite_add_tcase(s, parse);

	tcase_add_test(reply, render_execution_mqtt_and_http_spec_2_4_and_4_1);
	tcase_add_test(reply, render_control_plane_spec_5_2);
	tcase_add_test(reply, pending_reply_spec_2_5_example);
	tcase_add_test(reply, pending_reply_limits_to_10_spec_2_5);
	tcase_add_test(reply, execution_reply_start_next_and_describe_spec_2_6_2_7);
	tcase_add_test(reply, update_reply_flags_quirk_10);
	tcase_add_test(reply, rejected_reply_spec_2_9);
	suite_add_tcase(s, reply);

	tcase_add_test(events, pending_order_in_progress_first_then_queued_at_spec_2_10);
	tcase_add_loop_test(events, event_changes_spec_2_10, 0,
			    (int)(sizeof(change_cases) / sizeof(change_cases[0])));
	tcase_add_test(events, notify_payload_spec_2_10_example);
	suite_add_tcase(s, events);
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
