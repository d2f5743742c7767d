/*
 * Unit tests for shadow/doc: GET (spec 6.3), DELETE (6.6), error replies (6.7), get/delete
 * request payloads (6.1, quirk 7), the stored form, and when update/delta is published (6.5,
 * quirks 3 and 23). Section numbers refer to spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/doc.h"
#include "shadow/update.h"

#define T0 1718021000
#define T1 1718022000
#define T2 1718022050

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

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = J(want_text);
	char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(got && json_equal((json_t *)got, want), "got  %s\nwant %s", g ? g : "(null)",
		      want_text);
	free(g);
	json_decref(want);
}

static void load_shadow(const char *doc_text, struct shadow *s)
{
	json_t *doc = J(doc_text);

	ck_assert_int_eq(shadow_from_document(doc, s), SHADOW_OK);
	json_decref(doc);
}

/* Parse + apply; *s becomes the new shadow; the payloads go to *res (caller cleans up). */
static void update_res(struct shadow *s, const char *payload, int64_t now,
		       struct shadow_update_result *res)
{
	struct shadow_update u;
	struct shadow next;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(shadow_update_parse(payload, strlen(payload), &u, &code, msg, sizeof(msg)),
			 SHADOW_OK);
	ck_assert_msg(shadow_apply_update(s, &u, NULL, now, &next, res, &code, msg, sizeof(msg)) ==
			      SHADOW_OK,
		      "%s: %s", payload, msg);
	shadow_update_cleanup(&u);
	shadow_cleanup(s);
	*s = next;
}

static void update_ok(struct shadow *s, const char *payload, int64_t now)
{
	struct shadow_update_result res;

	update_res(s, payload, now, &res);
	shadow_update_result_cleanup(&res);
}

/* spec 6.3 stored example (version 12) */
#define SPEC_STORED                                                                                                      \
	"{\"state\":{\"desired\":{\"mode\":\"eco\",\"fan\":{\"speed\":3},\"zones\":[\"a\",\"c\"]},"                      \
	"\"reported\":{\"mode\":\"boost\",\"fan\":{\"speed\":3},\"zones\":[\"a\"],\"rssi\":-61}},"                       \
	"\"metadata\":{\"desired\":{\"mode\":{\"timestamp\":1718022000},\"fan\":{\"speed\":{\"timestamp\":1718021000}}," \
	"\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}]},"                                            \
	"\"reported\":{\"mode\":{\"timestamp\":1718021500},\"fan\":{\"speed\":{\"timestamp\":1718021500}},"              \
	"\"zones\":[{\"timestamp\":1718021500}],\"rssi\":{\"timestamp\":1718021500}}},\"version\":12}"

START_TEST(get_spec_6_3_example_with_delta_and_client_token)
{
	struct shadow s;
	json_t *reply;
	int code;
	char msg[SHADOW_MSG_MAX];

	load_shadow(SPEC_STORED, &s);
	ck_assert_int_eq(
		shadow_get_document(&s, T2, "g-31", "pump-17", &reply, &code, msg, sizeof(msg)),
		SHADOW_OK);
	ck_assert_int_eq(code, 200);
	assert_json(
		reply,
		"{\"state\":{\"desired\":{\"mode\":\"eco\",\"fan\":{\"speed\":3},\"zones\":[\"a\",\"c\"]},"
		"\"reported\":{\"mode\":\"boost\",\"fan\":{\"speed\":3},\"zones\":[\"a\"],\"rssi\":-61},"
		"\"delta\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"]}},"
		"\"metadata\":{\"desired\":{\"mode\":{\"timestamp\":1718022000},\"fan\":{\"speed\":{\"timestamp\":1718021000}},"
		"\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}]},"
		"\"reported\":{\"mode\":{\"timestamp\":1718021500},\"fan\":{\"speed\":{\"timestamp\":1718021500}},"
		"\"zones\":[{\"timestamp\":1718021500}],\"rssi\":{\"timestamp\":1718021500}}},"
		"\"version\":12,\"timestamp\":1718022050,\"clientToken\":\"g-31\"}");
	json_decref(reply);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(get_omits_empty_delta_and_absent_client_token_spec_6_3)
{
	struct shadow s;
	json_t *reply;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"desired\":{\"a\":1},\"reported\":{\"a\":1.0,\"b\":2}}}", T0);
	/* REST GET (spec 7): no clientToken */
	ck_assert_int_eq(shadow_get_document(&s, T1, NULL, "t", &reply, NULL, NULL, 0), SHADOW_OK);
	assert_json(
		reply,
		"{\"state\":{\"desired\":{\"a\":1},\"reported\":{\"a\":1.0,\"b\":2}},"
		"\"metadata\":{\"desired\":{\"a\":{\"timestamp\":1718021000}},"
		"\"reported\":{\"a\":{\"timestamp\":1718021000},\"b\":{\"timestamp\":1718021000}}},"
		"\"version\":1,\"timestamp\":1718022000}");
	json_decref(reply);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(get_missing_shadow_is_404_quoting_name_spec_6_3_quirk_27)
{
	struct shadow tomb;
	json_t *reply = (json_t *)1;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(
		shadow_get_document(NULL, T1, "g", "pump-17", &reply, &code, msg, sizeof(msg)),
		SHADOW_ERR_NOT_FOUND);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(code, 404);
	ck_assert_str_eq(msg, "No shadow exists with name: 'pump-17'");
	/* a deleted shadow is missing too; named shadows quote the shadow name */
	shadow_init(&tomb);
	tomb.version = 7;
	ck_assert_int_eq(
		shadow_get_document(&tomb, T1, NULL, "cfg", &reply, &code, msg, sizeof(msg)),
		SHADOW_ERR_NOT_FOUND);
	ck_assert_str_eq(msg, "No shadow exists with name: 'cfg'");
	ck_assert_str_eq(shadow_err_aws_type(SHADOW_ERR_NOT_FOUND), "ResourceNotFoundException");
}
END_TEST

START_TEST(delete_reply_and_tombstone_spec_6_6)
{
	struct shadow s, tomb, tomb2;
	json_t *reply;
	int code;
	char msg[SHADOW_MSG_MAX];

	load_shadow(SPEC_STORED, &s);
	ck_assert_int_eq(shadow_delete(&s, 1718022100, "d-4", "pump-17", &tomb, &reply, &code, msg,
				       sizeof(msg)),
			 SHADOW_OK);
	assert_json(reply, "{\"version\":12,\"timestamp\":1718022100,\"clientToken\":\"d-4\"}");
	json_decref(reply);
	ck_assert(!tomb.is_present);
	ck_assert_int_eq(tomb.version, 12);
	ck_assert_ptr_null(tomb.desired);
	ck_assert_ptr_null(tomb.meta_reported);
	/* REST delete: {"version","timestamp"} only */
	ck_assert_int_eq(shadow_delete(&s, 5, NULL, "pump-17", &tomb2, &reply, NULL, NULL, 0),
			 SHADOW_OK);
	assert_json(reply, "{\"version\":12,\"timestamp\":5}");
	json_decref(reply);
	shadow_cleanup(&tomb2);
	/* deleting again: 404 */
	ck_assert_int_eq(
		shadow_delete(&tomb, 6, "d-5", "pump-17", &tomb2, &reply, &code, msg, sizeof(msg)),
		SHADOW_ERR_NOT_FOUND);
	ck_assert_int_eq(code, 404);
	ck_assert_str_eq(msg, "No shadow exists with name: 'pump-17'");
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(tomb2.version, 12); /* the deleted version is kept */
	shadow_cleanup(&tomb2);
	ck_assert_int_eq(shadow_delete(NULL, 6, NULL, "x", &tomb2, &reply, NULL, NULL, 0),
			 SHADOW_ERR_NOT_FOUND);
	ck_assert_int_eq(tomb2.version, 0);
	shadow_cleanup(&tomb);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(delete_then_recreate_then_get_quirk_25)
{
	struct shadow s, tomb;
	json_t *reply;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"reported\":{\"a\":1}}}", T0);
	update_ok(&s, "{\"state\":{\"reported\":{\"a\":2}}}", T0);
	update_ok(&s, "{\"state\":{\"reported\":{\"a\":3}}}", T0);
	ck_assert_int_eq(shadow_delete(&s, T1, NULL, "t", &tomb, &reply, NULL, NULL, 0), SHADOW_OK);
	json_decref(reply);
	update_ok(&tomb, "{\"state\":{\"desired\":{\"b\":1}}}", T1);
	ck_assert_int_eq(tomb.version, 4);
	ck_assert_int_eq(shadow_get_document(&tomb, T2, NULL, "t", &reply, NULL, NULL, 0),
			 SHADOW_OK);
	assert_json(reply, "{\"state\":{\"desired\":{\"b\":1},\"delta\":{\"b\":1}},"
			   "\"metadata\":{\"desired\":{\"b\":{\"timestamp\":1718022000}}},"
			   "\"version\":4,\"timestamp\":1718022050}");
	json_decref(reply);
	shadow_cleanup(&tomb);
	shadow_cleanup(&s);
}
END_TEST

/* ---- when update/delta is published (spec 6.5, quirk 23) ---- */

START_TEST(delta_published_when_desired_differs)
{
	struct shadow s;
	struct shadow_update_result res;

	shadow_init(&s);
	update_res(&s, "{\"state\":{\"desired\":{\"fw\":\"2.0\"}},\"clientToken\":\"app-1\"}", T0,
		   &res);
	assert_json(res.delta, "{\"state\":{\"fw\":\"2.0\"},"
			       "\"metadata\":{\"fw\":{\"timestamp\":1718021000}},"
			       "\"version\":1,\"timestamp\":1718021000,\"clientToken\":\"app-1\"}");
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(delta_not_published_when_reported_matches)
{
	struct shadow s;
	struct shadow_update_result res;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"desired\":{\"fw\":\"2.0\",\"n\":1}}}", T0);
	update_res(&s, "{\"state\":{\"reported\":{\"fw\":\"2.0\",\"n\":1.0,\"extra\":5}}}", T1,
		   &res);
	ck_assert_ptr_null(res.delta);
	ck_assert_ptr_nonnull(res.documents); /* documents after every accepted update */
	ck_assert_ptr_nonnull(res.accepted);
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(delta_published_when_reported_breaks_sync)
{
	struct shadow s;
	struct shadow_update_result res;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"desired\":{\"fw\":\"2.0\"},\"reported\":{\"fw\":\"2.0\"}}}",
		  T0);
	update_res(&s, "{\"state\":{\"reported\":{\"fw\":\"1.0\"}},\"clientToken\":\"dev\"}", T1,
		   &res);
	/* desired metadata, not the reported write's timestamp */
	assert_json(res.delta, "{\"state\":{\"fw\":\"2.0\"},"
			       "\"metadata\":{\"fw\":{\"timestamp\":1718021000}},"
			       "\"version\":2,\"timestamp\":1718022000,\"clientToken\":\"dev\"}");
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(unchanged_delta_republished_after_unrelated_update)
{
	struct shadow s;
	struct shadow_update_result res;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"desired\":{\"a\":1},\"reported\":{\"a\":0}}}", T0);
	update_res(&s, "{\"state\":{\"reported\":{\"other\":true}}}", T1, &res);
	assert_json(res.delta,
		    "{\"state\":{\"a\":1},\"metadata\":{\"a\":{\"timestamp\":1718021000}},"
		    "\"version\":2,\"timestamp\":1718022000}");
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&s);
}
END_TEST

START_TEST(delta_document_helper_matches_update_delta)
{
	struct shadow s;
	json_t *d;

	load_shadow(SPEC_STORED, &s);
	ck_assert_int_eq(shadow_delta_document(&s, T2, NULL, &d), 0);
	assert_json(d, "{\"state\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"]},"
		       "\"metadata\":{\"mode\":{\"timestamp\":1718022000},"
		       "\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}]},"
		       "\"version\":12,\"timestamp\":1718022050}");
	json_decref(d);
	shadow_cleanup(&s);
}
END_TEST

/* ---- errors (spec 6.7) ---- */

START_TEST(error_reply_shape_spec_6_7)
{
	json_t *e = shadow_error_reply_new(409, "Version conflict", 1718022001, "u-88");

	assert_json(e, "{\"code\":409,\"message\":\"Version conflict\",\"clientToken\":\"u-88\","
		       "\"timestamp\":1718022001}");
	json_decref(e);
	e = shadow_error_reply_new(400, "Invalid JSON", 3, NULL);
	assert_json(e, "{\"code\":400,\"message\":\"Invalid JSON\",\"timestamp\":3}");
	json_decref(e);
}
END_TEST

struct err_row {
	enum shadow_err err;
	int code;
	const char *message;
	const char *aws;
};

/* every row of the spec 6.7 table, and the spec 7 REST error types */
static const struct err_row err_rows[] = {
	{ SHADOW_ERR_INVALID_JSON, 400, "Invalid JSON", "InvalidRequestException" },
	{ SHADOW_ERR_MISSING_STATE, 400, "Missing required node: state",
	  "InvalidRequestException" },
	{ SHADOW_ERR_STATE_NOT_OBJECT, 400, "State node must be an object",
	  "InvalidRequestException" },
	{ SHADOW_ERR_DESIRED_NOT_OBJECT, 400, "Desired node must be an object",
	  "InvalidRequestException" },
	{ SHADOW_ERR_REPORTED_NOT_OBJECT, 400, "Reported node must be an object",
	  "InvalidRequestException" },
	{ SHADOW_ERR_INVALID_STATE_NODE, 400, "State contains an invalid node: 'x'",
	  "InvalidRequestException" },
	{ SHADOW_ERR_INVALID_VERSION, 400, "Invalid version", "InvalidRequestException" },
	{ SHADOW_ERR_INVALID_CLIENT_TOKEN, 400, "Invalid clientToken", "InvalidRequestException" },
	{ SHADOW_ERR_TOO_DEEP, 400, "JSON contains too many levels of nesting; maximum is 6",
	  "InvalidRequestException" },
	{ SHADOW_ERR_UNAUTHORIZED, 401, "Unauthorized", "UnauthorizedException" },
	{ SHADOW_ERR_FORBIDDEN, 403, "Forbidden", "ForbiddenException" },
	{ SHADOW_ERR_THING_NOT_FOUND, 404, "Thing not found", "ResourceNotFoundException" },
	{ SHADOW_ERR_NOT_FOUND, 404, "No shadow exists with name: 'x'",
	  "ResourceNotFoundException" },
	{ SHADOW_ERR_VERSION_CONFLICT, 409, "Version conflict", "ConflictException" },
	{ SHADOW_ERR_TOO_LARGE, 413, "The payload exceeds the maximum size allowed",
	  "RequestEntityTooLargeException" },
	{ SHADOW_ERR_UNSUPPORTED_ENCODING, 415,
	  "Unsupported documented encoding; supported encoding is UTF-8",
	  "UnsupportedDocumentEncodingException" },
	{ SHADOW_ERR_THROTTLED, 429, "Rate exceeded", "ThrottlingException" },
	{ SHADOW_ERR_INTERNAL, 500, "Internal service failure", "InternalFailureException" },
};

START_TEST(error_table_matches_spec_6_7_and_7)
{
	const struct err_row *r = &err_rows[_i];
	int code = 0;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(shadow_err_format(r->err, "x", &code, msg, sizeof(msg)), r->err);
	ck_assert_int_eq(code, r->code);
	ck_assert_str_eq(msg, r->message);
	ck_assert_str_eq(shadow_err_aws_type(r->err), r->aws);
}
END_TEST

START_TEST(error_names_and_out_of_range)
{
	int code = 0;
	char small[8];

	ck_assert_str_eq(shadow_err_name(SHADOW_ERR_VERSION_CONFLICT),
			 "SHADOW_ERR_VERSION_CONFLICT");
	ck_assert_str_eq(shadow_err_name(SHADOW_OK), "SHADOW_OK");
	ck_assert_str_eq(shadow_err_name(SHADOW_ERR__COUNT), "?");
	ck_assert_int_eq(shadow_err_code(SHADOW_ERR__COUNT), 500);
	ck_assert_int_eq(shadow_err_code(SHADOW_OK), 200);
	/* truncation is safe, NULL outputs are allowed */
	shadow_err_format(SHADOW_ERR_TOO_LARGE, NULL, &code, small, sizeof(small));
	ck_assert_str_eq(small, "The pay");
	shadow_err_format(SHADOW_ERR_NOT_FOUND, "abcdef", NULL, small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
	shadow_err_format(SHADOW_ERR_NOT_FOUND, NULL, NULL, NULL, 0);
}
END_TEST

/* ---- get/delete payloads (spec 6.1, quirk 7) ---- */

START_TEST(token_request_parse_cases)
{
	struct shadow_token_request t;
	int code;
	char msg[SHADOW_MSG_MAX];
	const char *tok65 =
		"{\"clientToken\":\"12345678901234567890123456789012345678901234567890123456789012345\"}";

	ck_assert_int_eq(shadow_token_request_parse("", 0, &t, &code, msg, sizeof(msg)), SHADOW_OK);
	ck_assert(!t.has_client_token);
	ck_assert_int_eq(shadow_token_request_parse(NULL, 0, &t, &code, msg, sizeof(msg)),
			 SHADOW_OK);
	ck_assert_int_eq(shadow_token_request_parse("{\"clientToken\":\"g-1\",\"x\":1}", 27, &t,
						    &code, msg, sizeof(msg)),
			 SHADOW_OK);
	ck_assert(t.has_client_token);
	ck_assert_str_eq(t.client_token, "g-1");
	ck_assert_int_eq(shadow_token_request_parse("{}", 2, &t, &code, msg, sizeof(msg)),
			 SHADOW_OK);
	ck_assert(!t.has_client_token);
	ck_assert_int_eq(shadow_token_request_parse("{x", 2, &t, &code, msg, sizeof(msg)),
			 SHADOW_ERR_INVALID_JSON);
	ck_assert_int_eq(code, 400);
	ck_assert_str_eq(msg, "Invalid JSON");
	ck_assert_int_eq(
		shadow_token_request_parse(tok65, strlen(tok65), &t, &code, msg, sizeof(msg)),
		SHADOW_ERR_INVALID_CLIENT_TOKEN);
	ck_assert_str_eq(msg, "Invalid clientToken");
	ck_assert_int_eq(
		shadow_token_request_parse("{\"clientToken\":[]}", 18, &t, &code, msg, sizeof(msg)),
		SHADOW_ERR_INVALID_CLIENT_TOKEN);
	ck_assert_int_eq(shadow_token_request_parse("\"\xff\"", 3, &t, &code, msg, sizeof(msg)),
			 SHADOW_ERR_UNSUPPORTED_ENCODING);
	ck_assert_int_eq(code, 415);
}
END_TEST

/* ---- stored form ---- */

START_TEST(stored_document_round_trip)
{
	struct shadow s, back;
	json_t *doc;

	load_shadow(SPEC_STORED, &s);
	doc = shadow_document_new(&s);
	assert_json(doc, SPEC_STORED);
	ck_assert_int_eq(shadow_from_document(doc, &back), SHADOW_OK);
	ck_assert(back.is_present);
	ck_assert_int_eq(back.version, 12);
	ck_assert(json_equal(back.desired, s.desired));
	ck_assert(json_equal(back.meta_reported, s.meta_reported));
	ck_assert_uint_eq(shadow_state_size(&back), shadow_state_size(&s));
	json_decref(doc);
	shadow_cleanup(&back);
	shadow_cleanup(&s);
	shadow_cleanup(NULL);
}
END_TEST

START_TEST(stored_document_rejects_bad_shapes)
{
	static const char *const bad[] = {
		"[]",
		"{\"state\":{}}",
		"{\"version\":\"1\"}",
		"{\"version\":-1}",
		"{\"state\":[],\"version\":1}",
		"{\"state\":{\"desired\":1},\"metadata\":{\"desired\":{}},\"version\":1}",
		"{\"state\":{\"desired\":{}},\"version\":1}",
		"{\"state\":{\"reported\":{}},\"metadata\":{\"reported\":5},\"version\":1}",
		"{\"metadata\":7,\"version\":1}",
	};
	struct shadow s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = J(bad[i]);

		ck_assert_msg(shadow_from_document(doc, &s) == SHADOW_ERR_INVALID_JSON, "%s",
			      bad[i]);
		ck_assert(!s.is_present);
		ck_assert_ptr_null(s.desired);
		json_decref(doc);
	}
	/* minimal valid: just a version */
	{
		json_t *doc = J("{\"version\":3}");

		ck_assert_int_eq(shadow_from_document(doc, &s), SHADOW_OK);
		ck_assert_int_eq(s.version, 3);
		json_decref(doc);
		shadow_cleanup(&s);
	}
}
END_TEST

START_TEST(metadata_for_mirrors_value_spec_6_3)
{
	json_t *v = J("{\"a\":1,\"b\":[1,{\"c\":\"x\",\"d\":[]},[true]],\"e\":{},\"n\":null}");
	json_t *m = shadow_metadata_for(v, 9);

	assert_json(
		m,
		"{\"a\":{\"timestamp\":9},"
		"\"b\":[{\"timestamp\":9},{\"c\":{\"timestamp\":9},\"d\":[]},[{\"timestamp\":9}]],"
		"\"e\":{},\"n\":{\"timestamp\":9}}");
	json_decref(m);
	json_decref(v);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_doc");
	TCase *get = tcase_create("get_delete");
	TCase *delta = tcase_create("delta_events");
	TCase *err = tcase_create("errors");
	TCase *doc = tcase_create("stored");

	tcase_add_test(get, get_spec_6_3_example_with_delta_and_client_token);
	tcase_add_test(get, get_omits_empty_delta_and_absent_client_token_spec_6_3);
	tcase_add_test(get, get_missing_shadow_is_404_quoting_name_spec_6_3_quirk_27);
	tcase_add_test(get, delete_reply_and_tombstone_spec_6_6);
	tcase_add_test(get, delete_then_recreate_then_get_quirk_25);
	suite_add_tcase(s, get);

	tcase_add_test(delta, delta_published_when_desired_differs);
	tcase_add_test(delta, delta_not_published_when_reported_matches);
	tcase_add_test(delta, delta_published_when_reported_breaks_sync);
	tcase_add_test(delta, unchanged_delta_republished_after_unrelated_update);
	tcase_add_test(delta, delta_document_helper_matches_update_delta);
	suite_add_tcase(s, delta);

	tcase_add_test(err, error_reply_shape_spec_6_7);
	tcase_add_loop_test(err, error_table_matches_spec_6_7_and_7, 0,
			    (int)(sizeof(err_rows) / sizeof(err_rows[0])));
	tcase_add_test(err, error_names_and_out_of_range);
	tcase_add_test(err, token_request_parse_cases);
	suite_add_tcase(s, err);

	tcase_add_test(doc, stored_document_round_trip);
	tcase_add_test(doc, stored_document_rejects_bad_shapes);
	tcase_add_test(doc, metadata_for_mirrors_value_spec_6_3);
	suite_add_tcase(s, doc);
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
