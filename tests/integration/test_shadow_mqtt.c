/*
 * Device Shadow over MQTT against the running stack (tests/harness/stack.sh): a simulated device
 * (client id = thing name, anonymous, as the broker ACL requires) subscribes to its reply
 * topics and exercises spec section 6: update/accepted, documents, delta, get, delete, version
 * conflicts, validation errors, named shadows, ordering under bursts (group commit), the ACL
 * refusing another thing's topics, HTTP-side changes reaching the device, and changes made by
 * another instance (simulated with SQL) not being lost to the server's cache.
 * Needs BW_TEST_URL, BW_TEST_ADMIN_TOKEN, BW_TEST_MQTT_HOST/PORT (exit 77 without them).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mosquitto.h>

#include "mqtt/shadow.h"

#include "../lib/mqtt_device.h"
#include "../lib/testenv.h"

#define WAIT MQTT_DEVICE_WAIT_MS
#define QUIET_MS 400 /* how long "nothing else arrives" is watched */

static char topic_buf[8][320];
static int topic_next;

/* "$aws/things/<thing>/shadow[/name/<name>]/<suffix>" in a rotating static buffer. */
static const char *T(const char *thing, const char *name, const char *suffix)
{
	char *out = topic_buf[topic_next++ % 8];

	if (name)
		snprintf(out, sizeof(topic_buf[0]), "$aws/things/%s/shadow/name/%s/%s", thing, name,
			 suffix);
	else
		snprintf(out, sizeof(topic_buf[0]), "$aws/things/%s/shadow/%s", thing, suffix);
	return out;
}

/* A connected device subscribed to every reply topic of its classic shadow (and of `name`). */
static struct mqtt_device *device(const char *thing, const char *name)
{
	const struct testenv *env = testenv_get();
	struct mqtt_device *d = mqtt_device_new(env->mqtt_host, env->mqtt_port, thing);
	static const char *const subs[] = { "get/+",	       "delete/+",     "update/accepted",
					    "update/rejected", "update/delta", "update/documents" };

	ck_assert_msg(d, "device %s could not connect", thing);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		ck_assert_int_eq(mqtt_device_subscribe(d, T(thing, NULL, subs[i])), 1);
		if (name)
			ck_assert_int_eq(mqtt_device_subscribe(d, T(thing, name, subs[i])), 1);
	}
	return d;
}

static void pub(struct mqtt_device *d, const char *topic, const char *payload)
{
	int rc = mqtt_device_publish(d, topic, payload, strlen(payload));

	/* 0 = delivered to the server's subscription */
	ck_assert_msg(rc == 0, "publish to %s: PUBACK reason %d", topic, rc);
}

static json_t *take(struct mqtt_device *d, const char *topic)
{
	json_t *j = mqtt_device_take(d, topic, WAIT);

	ck_assert_msg(j, "no message on %s within %d ms", topic, WAIT);
	return j;
}

static void expect_nothing(struct mqtt_device *d, const char *topic)
{
	json_t *j = mqtt_device_take(d, topic, QUIET_MS);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	ck_assert_msg(!j, "unexpected message on %s: %s", topic, s ? s : "");
	free(s);
}

static json_int_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

/* json_equal against a literal. */
static void expect_json(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
	char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	ck_assert_msg(want, "bad literal %s", want_text);
	ck_assert_msg(got && json_equal((json_t *)got, want), "got %s, want %s", g ? g : "(null)",
		      want_text);
	free(g);
	json_decref(want);
}

static void expect_rejected(json_t *r, int code, const char *message, const char *token)
{
	ck_assert_int_eq(jint(r, "code"), code);
	ck_assert_str_eq(testenv_jstr(r, "message"), message);
	ck_assert(jint(r, "timestamp") > 1600000000);
	if (token)
		ck_assert_str_eq(testenv_jstr(r, "clientToken"), token);
	else
		ck_assert_ptr_null(json_object_get(r, "clientToken"));
}

START_TEST(update_publishes_accepted_documents_delta_spec_6_4_6_5)
{
	char thing[96];
	struct mqtt_device *d;
	json_t *acc, *docs, *delta, *m;

	testenv_uniq(thing, sizeof(thing), "upd");
	d = device(thing, NULL);
	pub(d, T(thing, NULL, "update"),
	    "{\"state\":{\"desired\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"],\"t\":0.1},"
	    "\"reported\":{\"mode\":\"boost\",\"zones\":[\"a\",\"c\"]}},\"clientToken\":\"u-1\"}");
	acc = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(acc, "version"), 1);
	ck_assert_str_eq(testenv_jstr(acc, "clientToken"), "u-1");
	expect_json(json_object_get(acc, "state"),
		    "{\"desired\":{\"mode\":\"eco\",\"zones\":[\"a\",\"c\"],\"t\":0.1},"
		    "\"reported\":{\"mode\":\"boost\",\"zones\":[\"a\",\"c\"]}}");
	/* per-leaf metadata, arrays per element (spec 6.3) */
	m = json_object_get(json_object_get(acc, "metadata"), "desired");
	ck_assert_int_eq(json_array_size(json_object_get(m, "zones")), 2);
	ck_assert_int_eq(jint(json_object_get(m, "mode"), "timestamp"), jint(acc, "timestamp"));

	docs = take(d, T(thing, NULL, "update/documents"));
	ck_assert_ptr_null(json_object_get(docs, "previous")); /* created */
	ck_assert_int_eq(jint(json_object_get(docs, "current"), "version"), 1);
	ck_assert_str_eq(testenv_jstr(docs, "clientToken"), "u-1");
	ck_assert_ptr_null(json_object_get(
		json_object_get(json_object_get(docs, "current"), "state"), "delta"));

	delta = take(d, T(thing, NULL, "update/delta"));
	expect_json(json_object_get(delta, "state"), "{\"mode\":\"eco\",\"t\":0.1}");
	ck_assert_int_eq(jint(delta, "version"), 1);
	ck_assert_str_eq(testenv_jstr(delta, "clientToken"), "u-1");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(delta, "metadata"), "mode"));
	json_decref(acc);
	json_decref(docs);
	json_decref(delta);

	/* reporting the desired values: accepted + documents, no delta */
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"mode\":\"eco\",\"t\":0.1}}}");
	acc = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(acc, "version"), 2);
	ck_assert_ptr_null(json_object_get(acc, "clientToken"));
	docs = take(d, T(thing, NULL, "update/documents"));
	ck_assert_int_eq(jint(json_object_get(docs, "previous"), "version"), 1);
	ck_assert_int_eq(jint(json_object_get(docs, "current"), "version"), 2);
	expect_nothing(d, T(thing, NULL, "update/delta"));
	json_decref(acc);
	json_decref(docs);

	/* null deletes a key; breaking sync from the reported side produces a delta */
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"mode\":null}}}");
	acc = take(d, T(thing, NULL, "update/accepted"));
	expect_json(json_object_get(acc, "state"), "{\"reported\":{\"mode\":null}}");
	delta = take(d, T(thing, NULL, "update/delta"));
	expect_json(json_object_get(delta, "state"), "{\"mode\":\"eco\"}");
	ck_assert_int_eq(jint(delta, "version"), 3);
	json_decref(acc);
	json_decref(delta);
	mqtt_device_free(d);
}
END_TEST

START_TEST(get_and_delete_spec_6_3_6_6)
{
	char thing[96], want[256];
	struct mqtt_device *d;
	json_t *r;

	testenv_uniq(thing, sizeof(thing), "get");
	d = device(thing, NULL);
	/* no shadow yet: 404 quoting the thing name (quirk 27), token echoed */
	pub(d, T(thing, NULL, "get"), "{\"clientToken\":\"g-1\"}");
	r = take(d, T(thing, NULL, "get/rejected"));
	snprintf(want, sizeof(want), "No shadow exists with name: '%s'", thing);
	expect_rejected(r, 404, want, "g-1");
	json_decref(r);

	pub(d, T(thing, NULL, "update"),
	    "{\"state\":{\"desired\":{\"fan\":{\"speed\":3}},\"reported\":{\"fan\":{\"speed\":1}}}}");
	json_decref(take(d, T(thing, NULL, "update/accepted")));
	/* empty payload is a valid get (quirk 7) */
	pub(d, T(thing, NULL, "get"), "");
	r = take(d, T(thing, NULL, "get/accepted"));
	expect_json(json_object_get(r, "state"),
		    "{\"desired\":{\"fan\":{\"speed\":3}},\"reported\":{\"fan\":{\"speed\":1}},"
		    "\"delta\":{\"fan\":{\"speed\":3}}}");
	ck_assert_int_eq(jint(r, "version"), 1);
	ck_assert_ptr_null(json_object_get(r, "clientToken"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r, "metadata"), "reported"));
	json_decref(r);

	pub(d, T(thing, NULL, "delete"), "{\"clientToken\":\"d-1\"}");
	r = take(d, T(thing, NULL, "delete/accepted"));
	ck_assert_int_eq(jint(r, "version"), 1);
	ck_assert_str_eq(testenv_jstr(r, "clientToken"), "d-1");
	json_decref(r);
	pub(d, T(thing, NULL, "get"), "");
	r = take(d, T(thing, NULL, "get/rejected"));
	expect_rejected(r, 404, want, NULL);
	json_decref(r);
	pub(d, T(thing, NULL, "delete"), "");
	r = take(d, T(thing, NULL, "delete/rejected"));
	expect_rejected(r, 404, want, NULL);
	json_decref(r);

	/* re-created: numbering continues after the deleted version (quirk 25) */
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"on\":true}}}");
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 2);
	json_decref(r);
	r = take(d, T(thing, NULL, "update/documents"));
	ck_assert_ptr_null(json_object_get(r, "previous"));
	json_decref(r);
	mqtt_device_free(d);
}
END_TEST

START_TEST(version_conflict_spec_6_4_rule_5)
{
	char thing[96];
	struct mqtt_device *d;
	json_t *r;

	testenv_uniq(thing, sizeof(thing), "ver");
	d = device(thing, NULL);
	/* a shadow that does not exist accepts only version 1 */
	pub(d, T(thing, NULL, "update"),
	    "{\"state\":{\"desired\":{\"a\":1}},\"version\":3,\"clientToken\":\"v0\"}");
	r = take(d, T(thing, NULL, "update/rejected"));
	expect_rejected(r, 400, "Invalid version", "v0");
	json_decref(r);
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"desired\":{\"a\":1}},\"version\":1}");
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 1);
	json_decref(r);
	pub(d, T(thing, NULL, "update"),
	    "{\"state\":{\"desired\":{\"a\":2}},\"version\":5,\"clientToken\":\"v5\"}");
	r = take(d, T(thing, NULL, "update/rejected"));
	expect_rejected(r, 409, "Version conflict", "v5");
	json_decref(r);
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"desired\":{\"a\":2}},\"version\":1}");
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 2);
	json_decref(r);
	/* the rejected one changed nothing */
	pub(d, T(thing, NULL, "get"), "");
	r = take(d, T(thing, NULL, "get/accepted"));
	expect_json(json_object_get(json_object_get(r, "state"), "desired"), "{\"a\":2}");
	json_decref(r);
	mqtt_device_free(d);
}
END_TEST

START_TEST(invalid_updates_are_rejected_spec_6_7)
{
	static const struct {
		const char *payload;
		int code;
		const char *message;
	} cases[] = {
		{ "not json", 400, "Invalid JSON" },
		{ "", 400, "Invalid JSON" },
		{ "[1,2]", 400, "Invalid JSON" },
		{ "{\"version\":1}", 400, "Missing required node: state" },
		{ "{\"state\":[]}", 400, "State node must be an object" },
		{ "{\"state\":{\"delta\":{\"a\":1}}}", 400,
		  "State contains an invalid node: 'delta'" },
		{ "{\"state\":{\"desired\":5}}", 400, "Desired node must be an object" },
		{ "{\"state\":{\"desired\":{}},\"version\":-1}", 400, "Invalid version" },
		/* desired = level 1, so the object under "f" sits at level 7 */
		{ "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}}}",
		  400, "JSON contains too many levels of nesting; maximum is 6" },
		{ "{\"state\":{\"reported\":{\"a\":[[[[[[1]]]]]]}}}", 400,
		  "JSON contains too many levels of nesting; maximum is 6" },
	};
	char thing[96];
	struct mqtt_device *d;
	json_t *r;

	testenv_uniq(thing, sizeof(thing), "bad");
	d = device(thing, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pub(d, T(thing, NULL, "update"), cases[i].payload);
		r = take(d, T(thing, NULL, "update/rejected"));
		expect_rejected(r, cases[i].code, cases[i].message, NULL);
		json_decref(r);
	}
	/* clientToken is echoed on rejections that come after reading it (quirk 3) */
	pub(d, T(thing, NULL, "update"), "{\"clientToken\":\"b-1\",\"state\":7}");
	r = take(d, T(thing, NULL, "update/rejected"));
	expect_rejected(r, 400, "State node must be an object", "b-1");
	json_decref(r);
	/* six levels (five containers below desired) are fine */
	pub(d, T(thing, NULL, "update"),
	    "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}}}");
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 1);
	json_decref(r);
	expect_nothing(d, T(thing, NULL, "update/rejected"));
	mqtt_device_free(d);
}
END_TEST

START_TEST(oversize_state_is_rejected_413)
{
	char thing[96];
	struct mqtt_device *d;
	char *payload = malloc(10000);
	size_t n;
	json_t *r;

	ck_assert_ptr_nonnull(payload);
	testenv_uniq(thing, sizeof(thing), "big");
	d = device(thing, NULL);
	/* desired of 9000 bytes: over the 8 KiB state limit, under the 128 KiB payload limit */
	strcpy(payload, "{\"state\":{\"desired\":{\"blob\":\"");
	n = strlen(payload);
	memset(payload + n, 'x', 9000);
	strcpy(payload + n + 9000, "\"}},\"clientToken\":\"big\"}");
	pub(d, T(thing, NULL, "update"), payload);
	r = take(d, T(thing, NULL, "update/rejected"));
	expect_rejected(r, 413, "The payload exceeds the maximum size allowed", "big");
	json_decref(r);
	pub(d, T(thing, NULL, "get"), "");
	r = take(d, T(thing, NULL, "get/rejected"));
	ck_assert_int_eq(jint(r, "code"), 404);
	json_decref(r);
	free(payload);
	mqtt_device_free(d);
}
END_TEST

START_TEST(named_shadows_are_independent_spec_6_1)
{
	char thing[96];
	struct mqtt_device *d;
	json_t *r;

	testenv_uniq(thing, sizeof(thing), "named");
	d = device(thing, "cfg");
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"c\":1}}}");
	json_decref(take(d, T(thing, NULL, "update/accepted")));
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"c\":2}}}");
	json_decref(take(d, T(thing, NULL, "update/accepted")));
	pub(d, T(thing, "cfg", "update"),
	    "{\"state\":{\"desired\":{\"rate\":5}},\"clientToken\":\"n-1\"}");
	r = take(d, T(thing, "cfg", "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 1); /* its own numbering */
	ck_assert_str_eq(testenv_jstr(r, "clientToken"), "n-1");
	json_decref(r);
	r = take(d, T(thing, "cfg", "update/delta"));
	expect_json(json_object_get(r, "state"), "{\"rate\":5}");
	json_decref(r);
	expect_nothing(d, T(thing, NULL, "update/delta"));
	/* named 404 quotes the shadow name */
	ck_assert_int_eq(mqtt_device_subscribe(d, T(thing, "other", "get/+")), 1);
	pub(d, T(thing, "other", "get"), "");
	r = take(d, T(thing, "other", "get/rejected"));
	expect_rejected(r, 404, "No shadow exists with name: 'other'", NULL);
	json_decref(r);
	/* deleting the named shadow leaves the classic one */
	pub(d, T(thing, "cfg", "delete"), "");
	r = take(d, T(thing, "cfg", "delete/accepted"));
	ck_assert_int_eq(jint(r, "version"), 1);
	json_decref(r);
	pub(d, T(thing, NULL, "get"), "");
	r = take(d, T(thing, NULL, "get/accepted"));
	ck_assert_int_eq(jint(r, "version"), 2);
	json_decref(r);
	pub(d, T(thing, "cfg", "get"), "");
	r = take(d, T(thing, "cfg", "get/rejected"));
	ck_assert_int_eq(jint(r, "code"), 404);
	json_decref(r);
	mqtt_device_free(d);
}
END_TEST

/* A burst without waiting, within the in-flight limit: every update is accepted, in order,
 * versions 1..N (group commit applies several in one transaction and publishes in version
 * order). */
START_TEST(burst_is_answered_in_version_order)
{
	enum { N = MQTT_SHADOW_MAX_IN_FLIGHT };
	char thing[96], payload[128], token[16];
	struct mqtt_device *d;

	testenv_uniq(thing, sizeof(thing), "burst");
	d = device(thing, NULL);
	for (int i = 0; i < N; i++) {
		snprintf(payload, sizeof(payload),
			 "{\"state\":{\"reported\":{\"seq\":%d}},\"clientToken\":\"b%d\"}", i, i);
		ck_assert_int_eq(mqtt_device_publish_nowait(d, T(thing, NULL, "update"), payload),
				 0);
	}
	for (int i = 0; i < N; i++) {
		json_t *r = take(d, T(thing, NULL, "update/accepted"));

		snprintf(token, sizeof(token), "b%d", i);
		ck_assert_str_eq(testenv_jstr(r, "clientToken"), token);
		ck_assert_int_eq(jint(r, "version"), i + 1);
		json_decref(r);
	}
	for (int i = 0; i < N; i++) {
		json_t *r = take(d, T(thing, NULL, "update/documents"));

		ck_assert_int_eq(jint(json_object_get(r, "current"), "version"), i + 1);
		json_decref(r);
	}
	expect_nothing(d, T(thing, NULL, "update/rejected"));
	mqtt_device_free(d);
}
END_TEST

/* A burst far beyond the in-flight limit (spec 6.7: more than 10 in-flight requests per
 * connection -> 429): every request is answered exactly once; the accepted ones carry consecutive
 * versions in order, the others are 429 "Rate exceeded" with their clientToken. How many are
 * throttled depends on how many arrive together, so only these invariants are asserted. */
START_TEST(burst_beyond_in_flight_limit_is_throttled_not_lost)
{
	enum { N = 60 };
	char thing[96], payload[128];
	bool seen[N] = { false };
	struct mqtt_device *d;
	json_t *r;
	int accepted = 0, rejected = 0;
	long long last_version = 0;

	testenv_uniq(thing, sizeof(thing), "flood");
	d = device(thing, NULL);
	for (int i = 0; i < N; i++) {
		snprintf(payload, sizeof(payload),
			 "{\"state\":{\"reported\":{\"seq\":%d}},\"clientToken\":\"f%d\"}", i, i);
		ck_assert_int_eq(mqtt_device_publish_nowait(d, T(thing, NULL, "update"), payload),
				 0);
	}
	while ((r = mqtt_device_take(d, T(thing, NULL, "update/accepted"), WAIT))) {
		int i = atoi(testenv_jstr(r, "clientToken") + 1);
		ck_assert(i >= 0 && i < N && !seen[i]);
		seen[i] = true;
		ck_assert_int_eq(jint(r, "version"), last_version + 1);
		last_version = jint(r, "version");
		accepted++;
		json_decref(r);
		if (accepted + rejected == N)
			break;
	}
	while (accepted + rejected < N &&
	       (r = mqtt_device_take(d, T(thing, NULL, "update/rejected"), WAIT))) {
		int i = atoi(testenv_jstr(r, "clientToken") + 1);
		ck_assert(i >= 0 && i < N && !seen[i]);
		seen[i] = true;
		ck_assert_int_eq(jint(r, "code"), 429);
		ck_assert_str_eq(testenv_jstr(r, "message"), "Rate exceeded");
		rejected++;
		json_decref(r);
	}
	ck_assert_int_eq(accepted + rejected, N);
	ck_assert_int_ge(accepted, 1);
	mqtt_device_free(d);
}
END_TEST

/* The broker ACL confines a device to its own thing: another thing's replies are not delivered
 * (Mosquitto 2.0's acl_file grants the SUBACK and filters at delivery), and a publish to another
 * thing's request topic is refused (PUBACK 0x87, after which Mosquitto 2.0.11 closes the
 * connection) and never reaches the shadow service. */
START_TEST(wrong_things_topics_are_refused_by_acl)
{
	static const char mine[] = "{\"state\":{\"desired\":{\"x\":1}}}";
	static const char evil[] = "{\"state\":{\"desired\":{\"x\":666}}}";
	char a[96], b[96];
	struct mqtt_device *da, *db;
	struct http_resp r;
	json_t *j;
	int rc;

	testenv_uniq(a, sizeof(a), "acl-a");
	testenv_uniq(b, sizeof(b), "acl-b");
	da = device(a, NULL);
	db = device(b, NULL);
	rc = mqtt_device_subscribe(da, T(b, NULL, "update/+"));
	ck_assert_msg(rc == 1 || rc >= 0x80, "SUBACK %d", rc);
	/* b's own update: b hears its reply, a hears nothing of it */
	pub(db, T(b, NULL, "update"), mine);
	j = take(db, T(b, NULL, "update/accepted"));
	ck_assert_int_eq(jint(j, "version"), 1);
	json_decref(j);
	expect_nothing(da, T(b, NULL, "update/accepted"));
	expect_nothing(da, T(b, NULL, "update/delta"));
	/* a's own shadow works */
	pub(da, T(a, NULL, "update"), mine);
	json_decref(take(da, T(a, NULL, "update/accepted")));
	/* a writing b's shadow is refused */
	rc = mqtt_device_publish(da, T(b, NULL, "update"), evil, strlen(evil));
	ck_assert_msg(rc == 0x87 || rc == -1, "publish to another thing's topic: PUBACK %d", rc);
	expect_nothing(db, T(b, NULL, "update/accepted"));
	http_call(&r, "GET", testenv_get()->admin_token, NULL, "/api/v1/things/%s/shadows/~classic",
		  b);
	EXPECT_STATUS(&r, 200);
	ck_assert_int_eq(jint(r.json, "version"), 1);
	expect_json(json_object_get(json_object_get(r.json, "state"), "desired"), "{\"x\":1}");
	http_resp_cleanup(&r);
	mqtt_device_free(da);
	mqtt_device_free(db);
}
END_TEST

/* The classic app flow: desired set over HTTP, the device gets the delta over MQTT. */
START_TEST(http_update_reaches_device_as_delta_spec_7)
{
	char thing[96];
	struct mqtt_device *d;
	struct http_resp h;
	json_t *r;

	testenv_uniq(thing, sizeof(thing), "http");
	d = device(thing, NULL);
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"mode\":\"boost\"}}}");
	json_decref(take(d, T(thing, NULL, "update/accepted")));
	json_decref(take(d, T(thing, NULL, "update/documents")));
	http_call(&h, "PATCH", testenv_get()->admin_token,
		  "{\"state\":{\"desired\":{\"mode\":\"eco\"}},\"version\":1}",
		  "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_STATUS(&h, 200);
	http_resp_cleanup(&h);
	r = take(d, T(thing, NULL, "update/delta"));
	expect_json(json_object_get(r, "state"), "{\"mode\":\"eco\"}");
	ck_assert_int_eq(jint(r, "version"), 2);
	json_decref(r);
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 2);
	json_decref(r);
	r = take(d, T(thing, NULL, "update/documents"));
	ck_assert_int_eq(jint(json_object_get(r, "previous"), "version"), 1);
	json_decref(r);
	/* an HTTP failure publishes nothing */
	http_call(&h, "PATCH", testenv_get()->admin_token,
		  "{\"state\":{\"desired\":{\"mode\":\"x\"}},\"version\":1}",
		  "/api/v1/things/%s/shadows/~classic", thing);
	EXPECT_ERROR(&h, 409, "version_conflict", "/version");
	http_resp_cleanup(&h);
	expect_nothing(d, T(thing, NULL, "update/rejected"));
	mqtt_device_free(d);
}
END_TEST

/* Another instance (simulated by SQL on the shared database) changes a shadow this server has
 * cached: a device's update with the new version must be accepted (the cached rejection is
 * re-checked), and an update without a version must land on top of the other change. */
START_TEST(changes_by_another_instance_are_not_lost)
{
	const char *dsn = testenv_get()->pg_dsn;
	char thing[96];
	struct mqtt_device *d;
	PGconn *pg;
	PGresult *res;
	const char *params[1];
	json_t *r;

	if (!dsn)
		return; /* no database access from this test run */
	testenv_uniq(thing, sizeof(thing), "inst");
	d = device(thing, NULL);
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"a\":1}}}");
	json_decref(take(d, T(thing, NULL, "update/accepted")));
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"a\":2}}}");
	json_decref(take(d, T(thing, NULL, "update/accepted"))); /* now cached at version 2 */
	pg = PQconnectdb(dsn);
	ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
	params[0] = thing;
	res = PQexecParams(
		pg,
		"UPDATE shadows SET version = 7, document = jsonb_set(jsonb_set(document,"
		" '{state,reported,a}', '70'), '{version}', '7') WHERE thing_name = $1"
		" AND shadow_name = ''",
		1, NULL, params, NULL, NULL, 0);
	ck_assert_str_eq(PQcmdTuples(res), "1");
	PQclear(res);
	PQfinish(pg);
	pub(d, T(thing, NULL, "update"),
	    "{\"state\":{\"reported\":{\"b\":1}},\"version\":7,\"clientToken\":\"v7\"}");
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_str_eq(testenv_jstr(r, "clientToken"), "v7");
	ck_assert_int_eq(jint(r, "version"), 8);
	json_decref(r);
	pub(d, T(thing, NULL, "update"), "{\"state\":{\"reported\":{\"c\":1}}}");
	r = take(d, T(thing, NULL, "update/accepted"));
	ck_assert_int_eq(jint(r, "version"), 9);
	json_decref(r);
	pub(d, T(thing, NULL, "get"), "");
	r = take(d, T(thing, NULL, "get/accepted"));
	expect_json(json_object_get(json_object_get(r, "state"), "reported"),
		    "{\"a\":70,\"b\":1,\"c\":1}");
	json_decref(r);
	expect_nothing(d, T(thing, NULL, "update/rejected"));
	mqtt_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shadow_mqtt");
	TCase *tc = tcase_create("mqtt");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, update_publishes_accepted_documents_delta_spec_6_4_6_5);
	tcase_add_test(tc, get_and_delete_spec_6_3_6_6);
	tcase_add_test(tc, version_conflict_spec_6_4_rule_5);
	tcase_add_test(tc, invalid_updates_are_rejected_spec_6_7);
	tcase_add_test(tc, oversize_state_is_rejected_413);
	tcase_add_test(tc, named_shadows_are_independent_spec_6_1);
	tcase_add_test(tc, burst_is_answered_in_version_order);
	tcase_add_test(tc, burst_beyond_in_flight_limit_is_throttled_not_lost);
	tcase_add_test(tc, wrong_things_topics_are_refused_by_acl);
	tcase_add_test(tc, http_update_reaches_device_as_delta_spec_7);
	tcase_add_test(tc, changes_by_another_instance_are_not_lost);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	testenv_require();
	if (!testenv_get()->mqtt_host || !testenv_get()->mqtt_port) {
		fprintf(stderr, "skipped: BW_TEST_MQTT_HOST/PORT not set\n");
		return TESTENV_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	rc = testenv_run_api_suite(suite());
	mosquitto_lib_cleanup();
	return rc;
}
