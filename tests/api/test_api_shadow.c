/*
 * AWS iot-data plane against a running bellwetherd (spec sections 7 and 8): SigV4-signed
 * GetThingShadow / UpdateThingShadow / DeleteThingShadow with ?name=, ListNamedShadowsForThing
 * and Publish, signed like botocore with the access key of test.env; AWS error shapes.
 */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>

#include "../lib/aws_client.h"
#include "../lib/http_client.h"
#include "../lib/mqtt_device.h"
#include "../lib/testenv.h"

/* Signed request with a printf-style path; body as text (may be NULL). */
static void aws(struct http_resp *r, const char *method, const char *body, const char *content_type,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void aws(struct http_resp *r, const char *method, const char *body, const char *content_type,
		const char *fmt, ...)
{
	char path[HTTP_MAX_PATH];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(
		aws_call(r, method, path, body, body ? strlen(body) : 0, content_type, NULL), 0);
}

/* An AWS error: status, x-amzn-ErrorType, {"message"} (and message text when given). */
static void expect_aws_error(const struct http_resp *r, long status, const char *type,
			     const char *message)
{
	const char *t = http_resp_header(r, "x-amzn-ErrorType");

	ck_assert_msg(r->status == status, "%s: status %ld, want %ld: %s", r->desc, r->status,
		      status, r->body);
	ck_assert_msg(t && strcmp(t, type) == 0, "%s: x-amzn-ErrorType %s, want %s", r->desc,
		      t ? t : "(none)", type);
	ck_assert_msg(testenv_jstr(r->json, "message"), "%s: no message: %s", r->desc, r->body);
	if (message)
		ck_assert_str_eq(testenv_jstr(r->json, "message"), message);
}

static json_int_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

START_TEST(sigv4_good_and_bad_signatures_spec_8)
{
	char thing[96], want[200];
	struct http_resp r;
	struct aws_sign_opts bad_secret = { .secret = "not-the-secret" };
	struct aws_sign_opts unknown = { .access_key = "AKIDUNKNOWN", .secret = "x" };
	struct aws_sign_opts unsigned_req = { .is_unsigned = 1 };
	struct aws_sign_opts stale = { .skew_s = -3600 };
	struct aws_sign_opts guide_name = { .service = "iotdevicegateway" };
	char path[200];

	testenv_uniq(thing, sizeof(thing), "sig");
	snprintf(path, sizeof(path), "/things/%s/shadow", thing);
	/* good signature: the shadow does not exist yet */
	aws(&r, "GET", NULL, NULL, "%s", path);
	snprintf(want, sizeof(want), "No shadow exists with name: '%s'", thing);
	expect_aws_error(&r, 404, "ResourceNotFoundException", want);
	ck_assert_ptr_nonnull(http_resp_header(&r, "x-amzn-RequestId"));
	http_resp_cleanup(&r);

	ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &bad_secret), 0);
	ck_assert_int_eq(r.status, 403);
	ck_assert_ptr_nonnull(http_resp_header(&r, "x-amzn-ErrorType"));
	http_resp_cleanup(&r);

	ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &unknown), 0);
	expect_aws_error(&r, 403, "UnrecognizedClientException", NULL);
	http_resp_cleanup(&r);

	ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &unsigned_req), 0);
	expect_aws_error(&r, 403, "MissingAuthenticationTokenException", NULL);
	http_resp_cleanup(&r);

	ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &stale), 0);
	ck_assert_int_eq(r.status, 403);
	http_resp_cleanup(&r);

	/* a body signed with one payload but sent with another */
	{
		const char *body = "{\"state\":{\"desired\":{\"a\":1}}}";
		struct aws_sign_opts tampered = { .signed_body = "{\"state\":{}}" };

		ck_assert_int_eq(aws_call(&r, "POST", path, body, strlen(body), NULL, &tampered),
				 0);
		ck_assert_int_eq(r.status, 403);
		http_resp_cleanup(&r);
		ck_assert_int_eq(aws_call(&r, "POST", path, body, strlen(body), NULL, NULL), 0);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
	}
	/* the guide's signing name works too (quirk 32) */
	ck_assert_int_eq(aws_call(&r, "GET", path, NULL, 0, NULL, &guide_name), 0);
	ck_assert_int_eq(r.status, 200);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(update_get_delete_classic_spec_7)
{
	char thing[96], want[200];
	struct http_resp r;
	json_t *state;

	testenv_uniq(thing, sizeof(thing), "crud");
	/* botocore sends blob bodies without Content-Type */
	aws(&r, "POST",
	    "{\"state\":{\"desired\":{\"mode\":\"eco\",\"t\":0.1},\"reported\":{\"mode\":\"boost\"}},"
	    "\"clientToken\":\"h-1\"}",
	    NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 1);
	ck_assert_str_eq(testenv_jstr(r.json, "clientToken"), "h-1");
	ck_assert_ptr_nonnull(strstr(r.body, "\"t\":0.1")); /* numbers come back as sent */
	ck_assert_ptr_nonnull(json_object_get(r.json, "metadata"));
	ck_assert_ptr_nonnull(http_resp_header(&r, "x-amzn-RequestId"));
	http_resp_cleanup(&r);

	aws(&r, "GET", NULL, NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	state = json_object_get(r.json, "state");
	ck_assert_str_eq(testenv_jstr(json_object_get(state, "delta"), "mode"), "eco");
	ck_assert_int_eq(jint(r.json, "version"), 1);
	ck_assert(jint(r.json, "timestamp") > 1600000000);
	ck_assert_ptr_null(json_object_get(r.json, "clientToken")); /* REST GET never echoes */
	http_resp_cleanup(&r);

	/* the JS SDK sends application/octet-stream */
	aws(&r, "POST", "{\"state\":{\"reported\":{\"mode\":\"eco\"}},\"version\":1}",
	    "application/octet-stream", "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 2);
	http_resp_cleanup(&r);

	aws(&r, "DELETE", NULL, NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 2);
	ck_assert(jint(r.json, "timestamp") > 1600000000);
	http_resp_cleanup(&r);

	/* delete then get -> 404 */
	aws(&r, "GET", NULL, NULL, "/things/%s/shadow", thing);
	snprintf(want, sizeof(want), "No shadow exists with name: '%s'", thing);
	expect_aws_error(&r, 404, "ResourceNotFoundException", want);
	http_resp_cleanup(&r);
	aws(&r, "DELETE", NULL, NULL, "/things/%s/shadow", thing);
	expect_aws_error(&r, 404, "ResourceNotFoundException", want);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(errors_have_aws_shape_spec_7)
{
	char thing[96];
	struct http_resp r;
	size_t n;
	char *big;

	testenv_uniq(thing, sizeof(thing), "err");
	aws(&r, "POST", "{\"state\":", NULL, "/things/%s/shadow", thing);
	expect_aws_error(&r, 400, "InvalidRequestException", "Invalid JSON");
	http_resp_cleanup(&r);
	aws(&r, "POST", "{\"state\":{\"delta\":{}}}", NULL, "/things/%s/shadow", thing);
	expect_aws_error(&r, 400, "InvalidRequestException",
			 "State contains an invalid node: 'delta'");
	http_resp_cleanup(&r);
	aws(&r, "POST", "{\"state\":{\"desired\":{\"a\":1}}}", NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	aws(&r, "POST", "{\"state\":{\"desired\":{\"a\":2}},\"version\":9}", NULL,
	    "/things/%s/shadow", thing);
	expect_aws_error(&r, 409, "ConflictException", "Version conflict");
	http_resp_cleanup(&r);

	big = malloc(12000);
	ck_assert_ptr_nonnull(big);
	strcpy(big, "{\"state\":{\"reported\":{\"b\":\"");
	n = strlen(big);
	memset(big + n, 'y', 10000);
	strcpy(big + n + 10000, "\"}}}");
	aws(&r, "POST", big, NULL, "/things/%s/shadow", thing);
	expect_aws_error(&r, 413, "RequestEntityTooLargeException",
			 "The payload exceeds the maximum size allowed");
	http_resp_cleanup(&r);
	free(big);

	aws(&r, "GET", NULL, NULL, "/things/bad.name/shadow");
	expect_aws_error(&r, 400, "InvalidRequestException", NULL);
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL, "/things/%s/shadow?name=bad.name", thing);
	expect_aws_error(&r, 400, "InvalidRequestException", NULL);
	http_resp_cleanup(&r);
	/* (the 405 is answered by the router before any route matched, in the native shape) */
	aws(&r, "PUT", NULL, NULL, "/things/%s/shadow", thing);
	ck_assert_int_eq(r.status, 405);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(named_shadows_and_list_spec_7)
{
	char thing[96], next[256];
	struct http_resp r;
	json_t *res;

	testenv_uniq(thing, sizeof(thing), "list");
	aws(&r, "GET", NULL, NULL, "/api/things/shadow/ListNamedShadowsForThing/%s", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "results")), 0);
	ck_assert_ptr_null(json_object_get(r.json, "nextToken"));
	http_resp_cleanup(&r);

	aws(&r, "POST", "{\"state\":{\"reported\":{\"c\":1}}}", NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	aws(&r, "POST", "{\"state\":{\"desired\":{\"rate\":5}}}", NULL,
	    "/things/%s/shadow?name=ota", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 1);
	http_resp_cleanup(&r);
	aws(&r, "POST", "{\"state\":{\"desired\":{\"rate\":6}}}", NULL,
	    "/things/%s/shadow?name=%%24cfg", thing); /* "$cfg", percent-encoded like the SDKs */
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL, "/things/%s/shadow?name=ota", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(json_object_get(json_object_get(r.json, "state"), "desired"), "rate"),
			 5);
	http_resp_cleanup(&r);

	aws(&r, "GET", NULL, NULL, "/api/things/shadow/ListNamedShadowsForThing/%s", thing);
	EXPECT_STATUS(&r, 200);
	res = json_object_get(r.json, "results");
	ck_assert_int_eq(json_array_size(res), 2); /* the classic shadow is not listed */
	ck_assert_str_eq(json_string_value(json_array_get(res, 0)), "$cfg");
	ck_assert_str_eq(json_string_value(json_array_get(res, 1)), "ota");
	ck_assert(jint(r.json, "timestamp") > 1600000000);
	http_resp_cleanup(&r);

	aws(&r, "GET", NULL, NULL, "/api/things/shadow/ListNamedShadowsForThing/%s?pageSize=1",
	    thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "results")), 1);
	ck_assert_ptr_nonnull(testenv_jstr(r.json, "nextToken"));
	{
		char *esc = http_escape(testenv_jstr(r.json, "nextToken"));

		snprintf(next, sizeof(next), "%s", esc);
		free(esc);
	}
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL,
	    "/api/things/shadow/ListNamedShadowsForThing/%s?nextToken=%s&pageSize=1", thing, next);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "results"), 0)),
			 "ota");
	ck_assert_ptr_null(json_object_get(r.json, "nextToken")); /* last page (quirk 33) */
	http_resp_cleanup(&r);

	aws(&r, "GET", NULL, NULL, "/api/things/shadow/ListNamedShadowsForThing/%s?pageSize=101",
	    thing);
	expect_aws_error(&r, 400, "InvalidRequestException", NULL);
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL, "/api/things/shadow/ListNamedShadowsForThing/%s?nextToken=zz",
	    thing);
	expect_aws_error(&r, 400, "InvalidRequestException", NULL);
	http_resp_cleanup(&r);

	/* deleting a named shadow removes it from the list, not the others */
	aws(&r, "DELETE", NULL, NULL, "/things/%s/shadow?name=ota", thing);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL, "/api/things/shadow/ListNamedShadowsForThing/%s", thing);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "results")), 1);
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL, "/things/%s/shadow?name=ota", thing);
	expect_aws_error(&r, 404, "ResourceNotFoundException", "No shadow exists with name: 'ota'");
	http_resp_cleanup(&r);
	aws(&r, "GET", NULL, NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);
}
END_TEST

/* Publish to a device topic and to a reserved shadow request topic (handled like an MQTT
 * publish, spec 7); the topic label is percent-encoded like the SDKs do it. */
START_TEST(publish_reaches_devices_and_the_shadow_service_spec_7)
{
	const struct testenv *env = testenv_get();
	char thing[96];
	struct mqtt_device *d;
	struct http_resp r;
	json_t *j;

	testenv_uniq(thing, sizeof(thing), "pub");
	d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(mqtt_device_subscribe(d, "$aws/things/+/shadow/update/accepted"), 1);
	ck_assert_int_eq(mqtt_device_subscribe(d, "$aws/things/+/custom"), 1);
	aws(&r, "POST", "{\"hello\":1}", NULL, "/topics/%%24aws%%2Fthings%%2F%s%%2Fcustom?qos=1",
	    thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_uint_eq(r.body_len, 0);
	http_resp_cleanup(&r);
	j = mqtt_device_take(d, "$aws/things/", 0); /* nothing under a bare prefix */
	ck_assert_ptr_null(j);
	{
		char topic[200];

		snprintf(topic, sizeof(topic), "$aws/things/%s/custom", thing);
		j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(jint(j, "hello"), 1);
		json_decref(j);
		aws(&r, "POST",
		    "{\"state\":{\"reported\":{\"via\":\"publish\"}},\"clientToken\":\"p\"}", NULL,
		    "/topics/%%24aws%%2Fthings%%2F%s%%2Fshadow%%2Fupdate?qos=1", thing);
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
		snprintf(topic, sizeof(topic), "$aws/things/%s/shadow/update/accepted", thing);
		j = mqtt_device_take(d, topic, MQTT_DEVICE_WAIT_MS);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(testenv_jstr(j, "clientToken"), "p");
		json_decref(j);
	}
	aws(&r, "GET", NULL, NULL, "/things/%s/shadow", thing);
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(
		testenv_jstr(json_object_get(json_object_get(r.json, "state"), "reported"), "via"),
		"publish");
	http_resp_cleanup(&r);
	aws(&r, "POST", "x", NULL, "/topics/a%%2B?qos=1"); /* '+' is not a topic name */
	expect_aws_error(&r, 400, "InvalidRequestException", NULL);
	http_resp_cleanup(&r);
	aws(&r, "POST", "x", NULL, "/topics/a?qos=2");
	expect_aws_error(&r, 400, "InvalidRequestException", NULL);
	http_resp_cleanup(&r);
	mqtt_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api_shadow_aws");
	TCase *tc = tcase_create("iot-data");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sigv4_good_and_bad_signatures_spec_8);
	tcase_add_test(tc, update_get_delete_classic_spec_7);
	tcase_add_test(tc, errors_have_aws_shape_spec_7);
	tcase_add_test(tc, named_shadows_and_list_spec_7);
	tcase_add_test(tc, publish_reaches_devices_and_the_shadow_service_spec_7);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	testenv_require();
	if (!aws_client_available() || !testenv_get()->mqtt_host) {
		fprintf(stderr, "skipped: BW_TEST_AWS_ACCESS_KEY/SECRET_KEY or MQTT not set\n");
		return TESTENV_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	rc = testenv_run_api_suite(suite());
	mosquitto_lib_cleanup();
	return rc;
}
