/*
 * Unit tests for shadow/update: UPDATE validation (spec 6.7, 1.4), merge and metadata (6.4),
 * versions (6.4 rule 5-6), size rule (6.7, 11), and the accepted / delta / documents payloads
 * (6.4, 6.5). Section numbers refer to spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/doc.h"
#include "shadow/update.h"

#define T0 1718021000
#define T1 1718022000
#define T2 1718023000

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

/* Exact comparison (integer vs real matters) with both sides printed on failure. */
static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = J(want_text);
	char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(got && json_equal((json_t *)got, want), "got  %s\nwant %s", g ? g : "(null)",
		      want_text);
	free(g);
	json_decref(want);
}

/* Load a stored document literal (shadow_document_new() form) into *s. */
static void load_shadow(const char *doc_text, struct shadow *s)
{
	json_t *doc = J(doc_text);

	ck_assert_int_eq(shadow_from_document(doc, s), SHADOW_OK);
	json_decref(doc);
}

static void assert_stored(const struct shadow *s, const char *want_text)
{
	json_t *doc = shadow_document_new(s);

	assert_json(doc, want_text);
	json_decref(doc);
}

/* Parse + apply `payload` to cur at now; both steps' errors come back through the result. */
static enum shadow_err update(const struct shadow *cur, const char *payload, int64_t now,
			      const struct shadow_limits *lim, struct shadow *next,
			      struct shadow_update_result *res, int *code, char *msg)
{
	struct shadow_update u;
	enum shadow_err err;

	err = shadow_update_parse(payload, strlen(payload), &u, code, msg, SHADOW_MSG_MAX);
	if (err == SHADOW_OK)
		err = shadow_apply_update(cur, &u, lim, now, next, res, code, msg, SHADOW_MSG_MAX);
	else {
		shadow_init(next);
		shadow_update_result_init(res);
	}
	shadow_update_cleanup(&u);
	return err;
}

/* Apply an update that must succeed; replaces *s with the result. */
static void update_ok(struct shadow *s, const char *payload, int64_t now)
{
	struct shadow next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];
	enum shadow_err err = update(s, payload, now, NULL, &next, &res, &code, msg);

	ck_assert_msg(err == SHADOW_OK, "update %s failed: %d %s", payload, code, msg);
	shadow_cleanup(s);
	*s = next;
	shadow_update_result_cleanup(&res);
}

/* ---- validation table (spec 6.7, 1.4, 11) ---- */

struct parse_case {
	const char *name;
	const char *payload;
	size_t len; /* 0 = strlen(payload) */
	enum shadow_err err;
	int code;
	const char *message;
};

static const struct parse_case parse_cases[] = {
	{ "6.7 empty payload is Invalid JSON", "", 0, SHADOW_ERR_INVALID_JSON, 400,
	  "Invalid JSON" },
	{ "6.7 unparseable", "{\"state\":", 0, SHADOW_ERR_INVALID_JSON, 400, "Invalid JSON" },
	{ "6.7 trailing garbage", "{\"state\":{}} x", 0, SHADOW_ERR_INVALID_JSON, 400,
	  "Invalid JSON" },
	{ "1.4 top level array", "[{\"state\":{}}]", 0, SHADOW_ERR_INVALID_JSON, 400,
	  "Invalid JSON" },
	{ "1.4 top level scalar", "5", 0, SHADOW_ERR_INVALID_JSON, 400, "Invalid JSON" },
	{ "duplicate keys rejected", "{\"state\":{},\"state\":{}}", 0, SHADOW_ERR_INVALID_JSON, 400,
	  "Invalid JSON" },
	{ "NUL escape rejected", "{\"state\":{\"desired\":{\"a\":\"x\\u0000y\"}}}", 0,
	  SHADOW_ERR_INVALID_JSON, 400, "Invalid JSON" },
	{ "6.7 invalid UTF-8 byte", "{\"state\":{\"desired\":{\"a\":\"\xff\"}}}", 0,
	  SHADOW_ERR_UNSUPPORTED_ENCODING, 415,
	  "Unsupported documented encoding; supported encoding is UTF-8" },
	{ "6.7 overlong UTF-8", "{\"state\":{\"desired\":{\"a\":\"\xc0\xaf\"}}}", 0,
	  SHADOW_ERR_UNSUPPORTED_ENCODING, 415,
	  "Unsupported documented encoding; supported encoding is UTF-8" },
	{ "6.7 UTF-16 surrogate in UTF-8", "{\"state\":{\"desired\":{\"a\":\"\xed\xa0\x80\"}}}", 0,
	  SHADOW_ERR_UNSUPPORTED_ENCODING, 415,
	  "Unsupported documented encoding; supported encoding is UTF-8" },
	{ "6.7 truncated UTF-8", "{\"state\":{\"desired\":{\"a\":\"\xe1\x88\"}}}", 0,
	  SHADOW_ERR_UNSUPPORTED_ENCODING, 415,
	  "Unsupported documented encoding; supported encoding is UTF-8" },
	{ "6.7 missing state", "{\"clientToken\":\"a\"}", 0, SHADOW_ERR_MISSING_STATE, 400,
	  "Missing required node: state" },
	{ "6.7 state scalar", "{\"state\":5}", 0, SHADOW_ERR_STATE_NOT_OBJECT, 400,
	  "State node must be an object" },
	{ "6.7 state array", "{\"state\":[]}", 0, SHADOW_ERR_STATE_NOT_OBJECT, 400,
	  "State node must be an object" },
	{ "6.7 state string", "{\"state\":\"x\"}", 0, SHADOW_ERR_STATE_NOT_OBJECT, 400,
	  "State node must be an object" },
	{ "6.7 state with delta", "{\"state\":{\"delta\":{\"a\":1}}}", 0,
	  SHADOW_ERR_INVALID_STATE_NODE, 400, "State contains an invalid node: 'delta'" },
	{ "6.7 state with unknown key", "{\"state\":{\"desired\":{},\"foo\":1}}", 0,
	  SHADOW_ERR_INVALID_STATE_NODE, 400, "State contains an invalid node: 'foo'" },
	{ "6.7 desired scalar", "{\"state\":{\"desired\":1}}", 0, SHADOW_ERR_DESIRED_NOT_OBJECT,
	  400, "Desired node must be an object" },
	{ "6.7 desired array", "{\"state\":{\"desired\":[1]}}", 0, SHADOW_ERR_DESIRED_NOT_OBJECT,
	  400, "Desired node must be an object" },
	{ "6.7 reported string", "{\"state\":{\"reported\":\"x\"}}", 0,
	  SHADOW_ERR_REPORTED_NOT_OBJECT, 400, "Reported node must be an object" },
	{ "6.7 version string", "{\"state\":{},\"version\":\"3\"}", 0, SHADOW_ERR_INVALID_VERSION,
	  400, "Invalid version" },
	{ "6.7 version negative", "{\"state\":{},\"version\":-1}", 0, SHADOW_ERR_INVALID_VERSION,
	  400, "Invalid version" },
	{ "6.7 version fractional", "{\"state\":{},\"version\":1.5}", 0, SHADOW_ERR_INVALID_VERSION,
	  400, "Invalid version" },
	{ "6.7 version bool", "{\"state\":{},\"version\":true}", 0, SHADOW_ERR_INVALID_VERSION, 400,
	  "Invalid version" },
	{ "6.7 version object", "{\"state\":{},\"version\":{}}", 0, SHADOW_ERR_INVALID_VERSION, 400,
	  "Invalid version" },
	{ "6.7 version huge real", "{\"state\":{},\"version\":1e19}", 0, SHADOW_ERR_INVALID_VERSION,
	  400, "Invalid version" },
	{ "6.7 clientToken number", "{\"state\":{},\"clientToken\":5}", 0,
	  SHADOW_ERR_INVALID_CLIENT_TOKEN, 400, "Invalid clientToken" },
	{ "6.7 clientToken 65 bytes",
	  "{\"state\":{},\"clientToken\":\"12345678901234567890123456789012345678901234567890123456789012345\"}",
	  0, SHADOW_ERR_INVALID_CLIENT_TOKEN, 400, "Invalid clientToken" },
	{ "1.1 clientToken limit counts bytes (22 x 3-byte char = 66 bytes)",
	  "{\"state\":{},\"clientToken\":\"\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4"
	  "\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4"
	  "\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4"
	  "\xe1\x88\xb4\xe1\x88\xb4\xe1\x88\xb4\"}",
	  0, SHADOW_ERR_INVALID_CLIENT_TOKEN, 400, "Invalid clientToken" },
	{ "6.7 depth 7 object",
	  "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}}}", 0,
	  SHADOW_ERR_TOO_DEEP, 400, "JSON contains too many levels of nesting; maximum is 6" },
	{ "6.7 depth 7 via arrays", "{\"state\":{\"reported\":{\"a\":[[[[[[1]]]]]]}}}", 0,
	  SHADOW_ERR_TOO_DEEP, 400, "JSON contains too many levels of nesting; maximum is 6" },
	{ "6.4 null element in array", "{\"state\":{\"desired\":{\"z\":[1,null]}}}", 0,
	  SHADOW_ERR_NULL_IN_ARRAY, 400, "Invalid JSON: arrays must not contain null values" },
	{ "6.4 null inside object inside array", "{\"state\":{\"desired\":{\"z\":[{\"a\":null}]}}}",
	  0, SHADOW_ERR_NULL_IN_ARRAY, 400, "Invalid JSON: arrays must not contain null values" },
	{ "6.4 null inside nested array", "{\"state\":{\"reported\":{\"z\":[[null]]}}}", 0,
	  SHADOW_ERR_NULL_IN_ARRAY, 400, "Invalid JSON: arrays must not contain null values" },
};

START_TEST(parse_rejects_with_spec_code_and_message)
{
	const struct parse_case *c = &parse_cases[_i];
	struct shadow_update u;
	int code = 0;
	char msg[SHADOW_MSG_MAX] = "";
	size_t len = c->len ? c->len : strlen(c->payload);
	enum shadow_err err = shadow_update_parse(c->payload, len, &u, &code, msg, sizeof(msg));

	ck_assert_msg(err == c->err, "%s: got %s want %s", c->name, shadow_err_name(err),
		      shadow_err_name(c->err));
	ck_assert_int_eq(code, c->code);
	ck_assert_str_eq(msg, c->message);
	ck_assert_ptr_null(u.state);
	ck_assert_int_eq(shadow_err_code(err), c->code);
	shadow_update_cleanup(&u);
}
END_TEST

struct accept_case {
	const char *name;
	const char *payload;
};

static const struct accept_case accept_cases[] = {
	{ "6.4 rule 4 desired null allowed", "{\"state\":{\"desired\":null}}" },
	{ "6.4 rule 4 state null allowed", "{\"state\":null}" },
	{ "empty state object", "{\"state\":{}}" },
	{ "1.4 extra top-level keys ignored",
	  "{\"state\":{\"reported\":{\"a\":1}},\"metadata\":{\"x\":1},\"timestamp\":5,\"foo\":[null]}" },
	{ "6.7 depth 6 is the maximum (five containers below desired, scalars free)",
	  "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}}}" },
	{ "6.7 depth 6 with arrays", "{\"state\":{\"reported\":{\"a\":[[[[[1]]]]]}}}" },
	{ "6.7 empty container at level 6",
	  "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":[]}}}}}}}" },
	{ "6.4 null deletes are allowed in objects",
	  "{\"state\":{\"desired\":{\"a\":null,\"b\":{\"c\":null}}}}" },
	{ "version null = no check", "{\"state\":{},\"version\":null}" },
	{ "1.1 clientToken of exactly 64 bytes",
	  "{\"state\":{},\"clientToken\":\"1234567890123456789012345678901234567890123456789012345678901234\"}" },
	{ "empty clientToken", "{\"state\":{},\"clientToken\":\"\"}" },
	{ "valid multi-byte UTF-8",
	  "{\"state\":{\"desired\":{\"\xe1\x88\xb4\":\"\xf0\x9f\x98\x80\"}}}" },
};

START_TEST(parse_accepts_valid_requests)
{
	const struct accept_case *c = &accept_cases[_i];
	struct shadow_update u;
	int code = 0;
	char msg[SHADOW_MSG_MAX] = "";
	enum shadow_err err =
		shadow_update_parse(c->payload, strlen(c->payload), &u, &code, msg, sizeof(msg));

	ck_assert_msg(err == SHADOW_OK, "%s: %s (%s)", c->name, shadow_err_name(err), msg);
	ck_assert_int_eq(code, 200);
	ck_assert_ptr_nonnull(u.state);
	shadow_update_cleanup(&u);
}
END_TEST

START_TEST(parse_fields_spec_6_4_request)
{
	const char *p =
		"{ \"state\": { \"desired\": { \"mode\": \"eco\", \"zones\": [\"a\", \"c\"],"
		" \"legacy\": null } }, \"clientToken\": \"u-88\", \"version\": 11 }";
	struct shadow_update u;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(shadow_update_parse(p, strlen(p), &u, &code, msg, sizeof(msg)), SHADOW_OK);
	ck_assert(u.has_version);
	ck_assert_int_eq(u.version, 11);
	ck_assert(u.has_client_token);
	ck_assert_str_eq(u.client_token, "u-88");
	ck_assert(json_is_object(u.desired));
	ck_assert_ptr_null(u.reported);
	shadow_update_cleanup(&u);
}
END_TEST

START_TEST(parse_version_real_integral_accepted_spec_1_4)
{
	const char *p = "{\"state\":{},\"version\":5.0}";
	struct shadow_update u;

	ck_assert_int_eq(shadow_update_parse(p, strlen(p), &u, NULL, NULL, 0), SHADOW_OK);
	ck_assert(u.has_version);
	ck_assert_int_eq(u.version, 5);
	shadow_update_cleanup(&u);
}
END_TEST

START_TEST(parse_keeps_client_token_for_rejected_reply_quirk_3)
{
	const char *p = "{\"clientToken\":\"tok-1\",\"state\":{\"delta\":{}}}";
	struct shadow_update u;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(shadow_update_parse(p, strlen(p), &u, &code, msg, sizeof(msg)),
			 SHADOW_ERR_INVALID_STATE_NODE);
	ck_assert(u.has_client_token);
	ck_assert_str_eq(u.client_token, "tok-1");
	shadow_update_cleanup(&u);
}
END_TEST

START_TEST(parse_payload_not_nul_terminated)
{
	char buf[] = { '{', '"', 's', 't', 'a', 't', 'e', '"', ':', '{', '}', '}', 'X' };
	struct shadow_update u;

	ck_assert_int_eq(shadow_update_parse(buf, sizeof(buf) - 1, &u, NULL, NULL, 0), SHADOW_OK);
	shadow_update_cleanup(&u);
	ck_assert_int_eq(shadow_update_parse(buf, sizeof(buf), &u, NULL, NULL, 0),
			 SHADOW_ERR_INVALID_JSON);
	shadow_update_cleanup(&u);
}
END_TEST

START_TEST(parse_payload_over_128k_is_413_spec_11)
{
	size_t n = SHADOW_MAX_PAYLOAD_BYTES + 1;
	char *p = malloc(n);
	struct shadow_update u;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_ptr_nonnull(p);
	memset(p, ' ', n);
	memcpy(p, "{\"state\":{}}", 12);
	ck_assert_int_eq(shadow_update_parse(p, n, &u, &code, msg, sizeof(msg)),
			 SHADOW_ERR_TOO_LARGE);
	ck_assert_int_eq(code, 413);
	ck_assert_str_eq(msg, "The payload exceeds the maximum size allowed");
	shadow_update_cleanup(&u);
	/* exactly at the limit it parses (whitespace padding is valid JSON) */
	ck_assert_int_eq(shadow_update_parse(p, n - 1, &u, &code, msg, sizeof(msg)), SHADOW_OK);
	shadow_update_cleanup(&u);
	free(p);
}
END_TEST

START_TEST(parse_invalid_node_message_truncates_on_utf8_boundary)
{
	/* a 300-byte key of 3-byte characters: the message is cut but stays valid UTF-8 */
	char p[400];
	size_t off = 0;
	struct shadow_update u;
	int code;
	char msg[64];
	json_t *s;

	off += (size_t)sprintf(p, "{\"state\":{\"");
	for (int i = 0; i < 100; i++) {
		memcpy(p + off, "\xe1\x88\xb4", 3);
		off += 3;
	}
	off += (size_t)sprintf(p + off, "\":1}}");
	ck_assert_int_eq(shadow_update_parse(p, off, &u, &code, msg, sizeof(msg)),
			 SHADOW_ERR_INVALID_STATE_NODE);
	ck_assert(strncmp(msg, "State contains an invalid node: '", 33) == 0);
	ck_assert(msg[strlen(msg) - 1] == '\'');
	s = json_string(msg); /* NULL if not valid UTF-8 */
	ck_assert_ptr_nonnull(s);
	json_decref(s);
	shadow_update_cleanup(&u);
}
END_TEST

/* ---- merge, metadata, versions (spec 6.4) ---- */

#define SPEC_PREV_V11                                                                                            \
	"{\"state\":{\"desired\":{\"mode\":\"boost\",\"legacy\":1},\"reported\":{\"mode\":\"boost\"}},"          \
	"\"metadata\":{\"desired\":{\"mode\":{\"timestamp\":1718021000},\"legacy\":{\"timestamp\":1718020000}}," \
	"\"reported\":{\"mode\":{\"timestamp\":1718021500}}},\"version\":11}"

#define SPEC_REQUEST                                                                                        \
	"{ \"state\": { \"desired\": { \"mode\": \"eco\", \"zones\": [\"a\", \"c\"], \"legacy\": null } }," \
	"  \"clientToken\": \"u-88\", \"version\": 11 }"

START_TEST(update_spec_6_4_example_accepted_echoes_request)
{
	struct shadow cur, next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];

	load_shadow(SPEC_PREV_V11, &cur);
	ck_assert_int_eq(update(&cur, SPEC_REQUEST, T1, NULL, &next, &res, &code, msg), SHADOW_OK);
	assert_json(
		res.accepted,
		"{\"state\":{\"desired\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"],\"legacy\":null}},"
		"\"metadata\":{\"desired\":{\"mode\":{\"timestamp\":1718022000},"
		"\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}],"
		"\"legacy\":{\"timestamp\":1718022000}}},"
		"\"version\":12,\"timestamp\":1718022000,\"clientToken\":\"u-88\"}");
	/* stored: legacy deleted with its metadata, untouched metadata kept */
	assert_stored(&next, "{\"state\":{\"desired\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"]},"
			     "\"reported\":{\"mode\":\"boost\"}},"
			     "\"metadata\":{\"desired\":{\"mode\":{\"timestamp\":1718022000},"
			     "\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}]},"
			     "\"reported\":{\"mode\":{\"timestamp\":1718021500}}},\"version\":12}");
	ck_assert(next.is_present);
	ck_assert_int_eq(next.version, 12);
	shadow_cleanup(&cur);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
}
END_TEST

START_TEST(update_spec_6_5_delta_and_documents)
{
	struct shadow cur, next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];

	load_shadow(SPEC_PREV_V11, &cur);
	ck_assert_int_eq(update(&cur, SPEC_REQUEST, T1, NULL, &next, &res, &code, msg), SHADOW_OK);
	assert_json(res.delta, "{\"state\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"]},"
			       "\"metadata\":{\"mode\":{\"timestamp\":1718022000},"
			       "\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}]},"
			       "\"version\":12,\"timestamp\":1718022000,\"clientToken\":\"u-88\"}");
	assert_json(
		res.documents,
		"{\"previous\":" SPEC_PREV_V11 ","
		"\"current\":{\"state\":{\"desired\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"]},"
		"\"reported\":{\"mode\":\"boost\"}},"
		"\"metadata\":{\"desired\":{\"mode\":{\"timestamp\":1718022000},"
		"\"zones\":[{\"timestamp\":1718022000},{\"timestamp\":1718022000}]},"
		"\"reported\":{\"mode\":{\"timestamp\":1718021500}}},\"version\":12},"
		"\"timestamp\":1718022000,\"clientToken\":\"u-88\"}");
	/* neither side of documents contains delta (6.5) */
	ck_assert_ptr_null(json_object_get(
		json_object_get(json_object_get(res.documents, "current"), "state"), "delta"));
	shadow_cleanup(&cur);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
}
END_TEST

START_TEST(update_creates_shadow_at_version_1_without_previous_spec_6_5)
{
	struct shadow next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(update(NULL, "{\"state\":{\"reported\":{\"fw\":\"1.0.0\"}}}", T0, NULL,
				&next, &res, &code, msg),
			 SHADOW_OK);
	ck_assert_int_eq(next.version, 1);
	assert_json(res.accepted, "{\"state\":{\"reported\":{\"fw\":\"1.0.0\"}},"
				  "\"metadata\":{\"reported\":{\"fw\":{\"timestamp\":1718021000}}},"
				  "\"version\":1,\"timestamp\":1718021000}");
	assert_json(
		res.documents,
		"{\"current\":{\"state\":{\"reported\":{\"fw\":\"1.0.0\"}},"
		"\"metadata\":{\"reported\":{\"fw\":{\"timestamp\":1718021000}}},\"version\":1},"
		"\"timestamp\":1718021000}");
	ck_assert_ptr_null(res.delta); /* nothing desired */
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
}
END_TEST

START_TEST(update_nested_merge_keeps_untouched_metadata_spec_6_4_rule_1)
{
	struct shadow s;

	shadow_init(&s);
	update_ok(
		&s,
		"{\"state\":{\"desired\":{\"fan\":{\"speed\":3,\"dir\":\"cw\"},\"mode\":\"eco\"}}}",
		T0);
	update_ok(&s, "{\"state\":{\"desired\":{\"fan\":{\"speed\":4,\"extra\":{\"x\":true}}}}}",
		  T1);
	assert_stored(
		&s,
		"{\"state\":{\"desired\":{\"fan\":{\"speed\":4,\"dir\":\"cw\",\"extra\":{\"x\":true}},"
		"\"mode\":\"eco\"}},"
		"\"metadata\":{\"desired\":{\"fan\":{\"speed\":{\"timestamp\":1718022000},"
		"\"dir\":{\"timestamp\":1718021000},\"extra\":{\"x\":{\"timestamp\":1718022000}}},"
		"\"mode\":{\"timestamp\":1718021000}}},\"version\":2}");
	shadow_cleanup(&s);
}
END_TEST

START_TEST(update_null_deletes_and_prunes_empty_objects_spec_6_4_rule_2)
{
	struct shadow s;

	shadow_init(&s);
	update_ok(&s,
		  "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":1}},\"k\":1},"
		  "\"reported\":{\"r\":1}}}",
		  T0);
	/* deleting the only leaf removes b and then a (both emptied by deletion) */
	update_ok(&s, "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":null}}}}}", T1);
	assert_stored(&s, "{\"state\":{\"desired\":{\"k\":1},\"reported\":{\"r\":1}},"
			  "\"metadata\":{\"desired\":{\"k\":{\"timestamp\":1718021000}},"
			  "\"reported\":{\"r\":{\"timestamp\":1718021000}}},\"version\":2}");
	/* deleting the last key of a section removes the section */
	update_ok(&s, "{\"state\":{\"desired\":{\"k\":null}}}", T1);
	assert_stored(
		&s,
		"{\"state\":{\"reported\":{\"r\":1}},"
		"\"metadata\":{\"reported\":{\"r\":{\"timestamp\":1718021000}}},\"version\":3}");
	/* deleting a key that does not exist changes nothing but the version */
	update_ok(&s, "{\"state\":{\"reported\":{\"nope\":null}}}", T2);
	assert_stored(
		&s,
		"{\"state\":{\"reported\":{\"r\":1}},"
		"\"metadata\":{\"reported\":{\"r\":{\"timestamp\":1718021000}}},\"version\":4}");
	shadow_cleanup(&s);
}
END_TEST

START_TEST(update_explicit_empty_object_is_kept)
{
	struct shadow s;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"desired\":{\"cfg\":{}}}}", T0);
	assert_stored(&s, "{\"state\":{\"desired\":{\"cfg\":{}}},"
			  "\"metadata\":{\"desired\":{\"cfg\":{}}},\"version\":1}");
	/* merging {} into an existing object leaves it as it was */
	update_ok(&s, "{\"state\":{\"desired\":{\"cfg\":{\"x\":1}}}}", T1);
	update_ok(&s, "{\"state\":{\"desired\":{\"cfg\":{}}}}", T2);
	assert_stored(&s, "{\"state\":{\"desired\":{\"cfg\":{\"x\":1}}},"
			  "\"metadata\":{\"desired\":{\"cfg\":{\"x\":{\"timestamp\":1718022000}}}},"
			  "\"version\":3}");
	shadow_cleanup(&s);
}
END_TEST

START_TEST(update_arrays_replace_wholesale_with_per_element_metadata_spec_6_4_rule_3)
{
	struct shadow s;

	shadow_init(&s);
	update_ok(&s,
		  "{\"state\":{\"reported\":{\"z\":[1,2,3],\"o\":[{\"a\":1,\"b\":[true]},\"s\"]}}}",
		  T0);
	update_ok(&s, "{\"state\":{\"reported\":{\"z\":[9]}}}", T1);
	assert_stored(
		&s, "{\"state\":{\"reported\":{\"z\":[9],\"o\":[{\"a\":1,\"b\":[true]},\"s\"]}},"
		    "\"metadata\":{\"reported\":{\"z\":[{\"timestamp\":1718022000}],"
		    "\"o\":[{\"a\":{\"timestamp\":1718021000},\"b\":[{\"timestamp\":1718021000}]},"
		    "{\"timestamp\":1718021000}]}},\"version\":2}");
	shadow_cleanup(&s);
}
END_TEST

START_TEST(update_type_changes_replace_spec_6_4_rule_3)
{
	struct shadow s;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"desired\":{\"a\":{\"x\":1},\"b\":5,\"c\":[1]}}}", T0);
	update_ok(
		&s,
		"{\"state\":{\"desired\":{\"a\":7,\"b\":{\"y\":2,\"gone\":null},\"c\":{\"k\":\"v\"}}}}",
		T1);
	assert_stored(&s, "{\"state\":{\"desired\":{\"a\":7,\"b\":{\"y\":2},\"c\":{\"k\":\"v\"}}},"
			  "\"metadata\":{\"desired\":{\"a\":{\"timestamp\":1718022000},"
			  "\"b\":{\"y\":{\"timestamp\":1718022000}},"
			  "\"c\":{\"k\":{\"timestamp\":1718022000}}}},\"version\":2}");
	/* an object of only deletions over a scalar removes the key */
	update_ok(&s, "{\"state\":{\"desired\":{\"a\":{\"q\":null}}}}", T2);
	assert_stored(&s, "{\"state\":{\"desired\":{\"b\":{\"y\":2},\"c\":{\"k\":\"v\"}}},"
			  "\"metadata\":{\"desired\":{\"b\":{\"y\":{\"timestamp\":1718022000}},"
			  "\"c\":{\"k\":{\"timestamp\":1718022000}}}},\"version\":3}");
	shadow_cleanup(&s);
}
END_TEST

START_TEST(update_section_null_and_state_null_spec_6_4_rule_4)
{
	struct shadow cur, next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];

	shadow_init(&cur);
	update_ok(&cur, "{\"state\":{\"desired\":{\"a\":1},\"reported\":{\"a\":2}}}", T0);

	ck_assert_int_eq(update(&cur, "{\"state\":{\"desired\":null},\"clientToken\":\"c1\"}", T1,
				NULL, &next, &res, &code, msg),
			 SHADOW_OK);
	assert_stored(&next, "{\"state\":{\"reported\":{\"a\":2}},"
			     "\"metadata\":{\"reported\":{\"a\":{\"timestamp\":1718021000}}},"
			     "\"version\":2}");
	assert_json(res.accepted, "{\"state\":{\"desired\":null},"
				  "\"metadata\":{\"desired\":{\"timestamp\":1718022000}},"
				  "\"version\":2,\"timestamp\":1718022000,\"clientToken\":\"c1\"}");
	ck_assert_ptr_null(res.delta);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);

	ck_assert_int_eq(update(&cur, "{\"state\":null}", T1, NULL, &next, &res, &code, msg),
			 SHADOW_OK);
	ck_assert(next.is_present); /* the shadow still exists */
	assert_stored(&next, "{\"state\":{},\"metadata\":{},\"version\":2}");
	assert_json(res.accepted, "{\"state\":null,\"version\":2,\"timestamp\":1718022000}");
	assert_json(json_object_get(res.documents, "current"),
		    "{\"state\":{},\"metadata\":{},\"version\":2}");
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&cur);
}
END_TEST

START_TEST(update_empty_state_only_bumps_version)
{
	struct shadow s;

	shadow_init(&s);
	update_ok(&s, "{\"state\":{\"reported\":{\"a\":1}}}", T0);
	update_ok(&s, "{\"state\":{}}", T1);
	assert_stored(
		&s,
		"{\"state\":{\"reported\":{\"a\":1}},"
		"\"metadata\":{\"reported\":{\"a\":{\"timestamp\":1718021000}}},\"version\":2}");
	shadow_cleanup(&s);
}
END_TEST

START_TEST(update_version_conflict_409_spec_6_4_rule_5)
{
	struct shadow cur, next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];

	load_shadow(SPEC_PREV_V11, &cur);
	ck_assert_int_eq(update(&cur,
				"{\"state\":{\"reported\":{\"a\":1}},\"version\":10,"
				"\"clientToken\":\"u-88\"}",
				T1, NULL, &next, &res, &code, msg),
			 SHADOW_ERR_VERSION_CONFLICT);
	ck_assert_int_eq(code, 409);
	ck_assert_str_eq(msg, "Version conflict");
	ck_assert(!next.is_present);
	ck_assert_ptr_null(res.accepted);
	ck_assert_ptr_null(res.documents);
	ck_assert_ptr_null(res.delta);
	/* newer than current is a conflict too */
	ck_assert_int_eq(
		update(&cur, "{\"state\":{},\"version\":12}", T1, NULL, &next, &res, &code, msg),
		SHADOW_ERR_VERSION_CONFLICT);
	/* equal version applies */
	ck_assert_int_eq(
		update(&cur, "{\"state\":{},\"version\":11}", T1, NULL, &next, &res, &code, msg),
		SHADOW_OK);
	ck_assert_int_eq(next.version, 12);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
	/* omitted version: no check */
	ck_assert_int_eq(update(&cur, "{\"state\":{}}", T1, NULL, &next, &res, &code, msg),
			 SHADOW_OK);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&cur);
}
END_TEST

START_TEST(update_version_on_new_shadow_only_1_spec_6_4_rule_5)
{
	struct shadow next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];

	ck_assert_int_eq(
		update(NULL, "{\"state\":{},\"version\":2}", T0, NULL, &next, &res, &code, msg),
		SHADOW_ERR_INVALID_VERSION);
	ck_assert_int_eq(code, 400);
	ck_assert_str_eq(msg, "Invalid version");
	ck_assert_int_eq(
		update(NULL, "{\"state\":{},\"version\":0}", T0, NULL, &next, &res, &code, msg),
		SHADOW_ERR_INVALID_VERSION);
	ck_assert_int_eq(
		update(NULL, "{\"state\":{},\"version\":1}", T0, NULL, &next, &res, &code, msg),
		SHADOW_OK);
	ck_assert_int_eq(next.version, 1);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
}
END_TEST

START_TEST(update_after_delete_continues_version_spec_6_4_rule_6)
{
	struct shadow cur, tomb, next;
	struct shadow_update_result res;
	json_t *reply;
	int code;
	char msg[SHADOW_MSG_MAX];

	load_shadow(SPEC_PREV_V11, &cur);
	ck_assert_int_eq(
		shadow_delete(&cur, T1, "d-4", "pump-17", &tomb, &reply, &code, msg, sizeof(msg)),
		SHADOW_OK);
	assert_json(reply, "{\"version\":11,\"timestamp\":1718022000,\"clientToken\":\"d-4\"}");
	json_decref(reply);
	ck_assert(!tomb.is_present);
	ck_assert_int_eq(tomb.version, 11);

	ck_assert_int_eq(update(&tomb, "{\"state\":{\"reported\":{\"a\":1}}}", T2, NULL, &next,
				&res, &code, msg),
			 SHADOW_OK);
	ck_assert_int_eq(next.version, 12);
	/* re-created: documents has no previous, and the old state is gone */
	ck_assert_ptr_null(json_object_get(res.documents, "previous"));
	assert_stored(&next, "{\"state\":{\"reported\":{\"a\":1}},"
			     "\"metadata\":{\"reported\":{\"a\":{\"timestamp\":1718023000}}},"
			     "\"version\":12}");
	shadow_update_result_cleanup(&res);
	shadow_cleanup(&next);
	/* version on a deleted shadow follows the non-existent rule (only 1) */
	ck_assert_int_eq(
		update(&tomb, "{\"state\":{},\"version\":11}", T2, NULL, &next, &res, &code, msg),
		SHADOW_ERR_INVALID_VERSION);
	shadow_cleanup(&tomb);
	shadow_cleanup(&cur);
}
END_TEST

/* ---- size rule (spec 6.7, 11) ---- */

/* {"state":{"<section>":{"s":"xxx...(n)"}}}: that section serialises to 8 + n bytes. */
static char *sized_payload(const char *section, size_t n)
{
	char *p = malloc(n + 64);
	size_t off;

	ck_assert_ptr_nonnull(p);
	off = (size_t)sprintf(p, "{\"state\":{\"%s\":{\"s\":\"", section);
	memset(p + off, 'x', n);
	strcpy(p + off + n, "\"}}}");
	return p;
}

START_TEST(update_state_size_limit_413_spec_6_7)
{
	struct shadow cur, next;
	struct shadow_update_result res;
	int code;
	char msg[SHADOW_MSG_MAX];
	/* desired {"s":"x..."} = 8 + n bytes compact */
	char *exact = sized_payload("desired", SHADOW_DEFAULT_MAX_STATE_BYTES - 8);
	char *over = sized_payload("desired", SHADOW_DEFAULT_MAX_STATE_BYTES - 7);
	char *half = sized_payload("reported", 4096);
	char *desired_4k = sized_payload("desired", 4096);
	struct shadow_limits big = { .max_state_bytes = SHADOW_MAX_STATE_BYTES_CEILING };

	ck_assert_int_eq(update(NULL, exact, T0, NULL, &next, &res, &code, msg), SHADOW_OK);
	ck_assert_uint_eq(shadow_state_size(&next), SHADOW_DEFAULT_MAX_STATE_BYTES);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);

	ck_assert_int_eq(update(NULL, over, T0, NULL, &next, &res, &code, msg),
			 SHADOW_ERR_TOO_LARGE);
	ck_assert_int_eq(code, 413);
	ck_assert_str_eq(msg, "The payload exceeds the maximum size allowed");
	ck_assert(!next.is_present);

	/* configurable (AWS quota up to 30 KiB) */
	ck_assert_int_eq(update(NULL, over, T0, &big, &next, &res, &code, msg), SHADOW_OK);
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);

	/* desired + reported together count; the existing desired pushes it over */
	shadow_init(&cur);
	update_ok(&cur, desired_4k, T0);
	ck_assert_int_eq(update(&cur, half, T1, NULL, &next, &res, &code, msg),
			 SHADOW_ERR_TOO_LARGE);
	/* metadata never counts: replacing the value with one of equal size still fits */
	update_ok(&cur, desired_4k, T1);
	ck_assert_int_eq(cur.version, 2);
	shadow_cleanup(&cur);
	free(desired_4k);
	free(exact);
	free(over);
	free(half);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_update");
	TCase *parse = tcase_create("parse");
	TCase *apply = tcase_create("apply");

	tcase_add_loop_test(parse, parse_rejects_with_spec_code_and_message, 0,
			    (int)(sizeof(parse_cases) / sizeof(parse_cases[0])));
	tcase_add_loop_test(parse, parse_accepts_valid_requests, 0,
			    (int)(sizeof(accept_cases) / sizeof(accept_cases[0])));
	tcase_add_test(parse, parse_fields_spec_6_4_request);
	tcase_add_test(parse, parse_version_real_integral_accepted_spec_1_4);
	tcase_add_test(parse, parse_keeps_client_token_for_rejected_reply_quirk_3);
	tcase_add_test(parse, parse_payload_not_nul_terminated);
	tcase_add_test(parse, parse_payload_over_128k_is_413_spec_11);
	tcase_add_test(parse, parse_invalid_node_message_truncates_on_utf8_boundary);
	suite_add_tcase(s, parse);

	tcase_add_test(apply, update_spec_6_4_example_accepted_echoes_request);
	tcase_add_test(apply, update_spec_6_5_delta_and_documents);
	tcase_add_test(apply, update_creates_shadow_at_version_1_without_previous_spec_6_5);
	tcase_add_test(apply, update_nested_merge_keeps_untouched_metadata_spec_6_4_rule_1);
	tcase_add_test(apply, update_null_deletes_and_prunes_empty_objects_spec_6_4_rule_2);
	tcase_add_test(apply, update_explicit_empty_object_is_kept);
	tcase_add_test(apply,
		       update_arrays_replace_wholesale_with_per_element_metadata_spec_6_4_rule_3);
	tcase_add_test(apply, update_type_changes_replace_spec_6_4_rule_3);
	tcase_add_test(apply, update_section_null_and_state_null_spec_6_4_rule_4);
	tcase_add_test(apply, update_empty_state_only_bumps_version);
	tcase_add_test(apply, update_version_conflict_409_spec_6_4_rule_5);
	tcase_add_test(apply, update_version_on_new_shadow_only_1_spec_6_4_rule_5);
	tcase_add_test(apply, update_after_delete_continues_version_spec_6_4_rule_6);
	tcase_add_test(apply, update_state_size_limit_413_spec_6_7);
	suite_add_tcase(s, apply);
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
