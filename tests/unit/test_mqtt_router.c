/* Unit tests for mqtt/router (topic rules, routes, dispatch, message copies) and mqtt/inbox
 * (sharding, per-thing order, capacity, stop). No broker. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt/inbox.h"
#include "mqtt/router.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct match_case {
	const char *filter;
	const char *topic;
	bool expect;
};

static const struct match_case match_cases[] = {
	{ "a/b/c", "a/b/c", true },
	{ "a/b/c", "a/b", false },
	{ "a/b", "a/b/c", false },
	{ "a/b", "a/b/", false },
	{ "A", "a", false },
	{ "a/+/c", "a/b/c", true },
	{ "a/+/c", "a//c", true },
	{ "a/+/c", "a/b/d", false },
	{ "a/+", "a/", true },
	{ "a/+", "a", false },
	{ "a/+/+", "a/b", false },
	{ "+", "a", true },
	{ "+", "/a", false },
	{ "+/+", "/a", true },
	{ "/+", "/a", true },
	{ "#", "a/b/c", true },
	{ "#", "/", true },
	{ "a/#", "a", true },
	{ "a/#", "a/", true },
	{ "a/#", "a/b/c", true },
	{ "a/#", "ab", false },
	{ "a/b/#", "a/b", true },
	{ "+/#", "a", true },
	/* $ topics: a leading wildcard never matches them, a literal $ level does */
	{ "#", "$SYS/x", false },
	{ "+/x", "$SYS/x", false },
	{ "+/#", "$aws/things/t/shadow/get", false },
	{ "$SYS/#", "$SYS/x", true },
	{ "$aws/things/+/shadow/get", "$aws/things/t1/shadow/get", true },
	{ "$aws/things/+/shadow/get", "$aws/things/t1/shadow/get/accepted", false },
	{ "$aws/things/+/shadow/get", "$aws/things/t1/shadow/name/n/get", false },
	{ "$aws/things/T/jobs/get/+", "$aws/things/T/jobs/get/accepted", true },
	{ "$aws/things/T/shadow/name/N/get/+", "$aws/things/T/shadow/name/N/get/rejected", true },
	{ "$aws/things/+/shadow/name/+/update", "$aws/things/T/shadow/update", false },
	{ "$aws/things/+/jobs/#", "$aws/things/T/jobs/$next/get", true },
	/* shared subscriptions match like their inner filter */
	{ "$share/g/a/+", "a/b", true },
	{ "$share/g/#", "$SYS/x", false },
	{ "$share//a", "a", false },
	{ "$share/g", "g", false },
	{ "caf\xc3\xa9/+", "caf\xc3\xa9/x", true },
	/* invalid filters and topics match nothing */
	{ "a/#/b", "a/x/b", false },
	{ "a/b+", "a/b+", false },
	{ "a+", "a", false },
	{ "", "a", false },
	{ "a", "", false },
	{ "#", "a/+", false },
	{ "#", "a/#", false },
	{ NULL, "a", false },
	{ "#", NULL, false },
};

START_TEST(topic_matches_follows_mqtt_rules)
{
	const struct match_case *tc = &match_cases[_i];

	ck_assert_msg(mqtt_topic_matches(tc->filter, tc->topic) == tc->expect,
		      "filter '%s' topic '%s': expected %d", tc->filter ? tc->filter : "(null)",
		      tc->topic ? tc->topic : "(null)", tc->expect);
}
END_TEST

struct valid_case {
	const char *s;
	bool expect;
};

static const struct valid_case filter_cases[] = {
	{ "a", true },
	{ "#", true },
	{ "+", true },
	{ "/", true },
	{ "//", true },
	{ "a/#", true },
	{ "a/+/b", true },
	{ "+/+", true },
	{ "$aws/things/+/shadow/#", true },
	{ "$share/g/a/#", true },
	{ "$share/g/#", true },
	{ "caf\xc3\xa9", true },
	{ "\xf0\x9f\x98\x80/x", true },
	{ "", false },
	{ NULL, false },
	{ "a#", false },
	{ "a/#/b", false },
	{ "#/", false },
	{ "a+", false },
	{ "+a", false },
	{ "a/b+/c", false },
	{ "$share/g", false },
	{ "$share/g/", false },
	{ "$share//a", false },
	{ "$share/g+/a", false },
	{ "$share/g#/a", false },
	{ "a\x01", false },
	{ "a\x7f", false },
	{ "\xc2\x80", false },	       /* C1 control */
	{ "\xc0\xaf", false },	       /* overlong */
	{ "\xed\xa0\x80", false },     /* surrogate */
	{ "\xf4\x90\x80\x80", false }, /* above U+10FFFF */
	{ "\xff", false },
	{ "\xc3", false }, /* truncated */
};

START_TEST(filter_valid_checks_wildcards_share_and_utf8)
{
	const struct valid_case *tc = &filter_cases[_i];

	ck_assert_msg(mqtt_topic_filter_valid(tc->s) == tc->expect, "filter '%s': expected %d",
		      tc->s ? tc->s : "(null)", tc->expect);
}
END_TEST

static const struct valid_case name_cases[] = {
	{ "a", true },	    { "a/b", true },
	{ "/", true },	    { "$aws/things/t/shadow/get", true },
	{ "", false },	    { NULL, false },
	{ "a/+", false },   { "#", false },
	{ "a\x01", false }, { "\xc3", false },
	{ "a/b#", false },
};

START_TEST(topic_name_valid_rejects_wildcards_and_bad_utf8)
{
	const struct valid_case *tc = &name_cases[_i];

	ck_assert_msg(mqtt_topic_name_valid(tc->s) == tc->expect, "topic '%s': expected %d",
		      tc->s ? tc->s : "(null)", tc->expect);
}
END_TEST

START_TEST(length_limit_is_65535_bytes)
{
	char *s = malloc(MQTT_MAX_TOPIC_BYTES + 2);

	ck_assert_ptr_nonnull(s);
	memset(s, 'a', MQTT_MAX_TOPIC_BYTES);
	s[MQTT_MAX_TOPIC_BYTES] = '\0';
	ck_assert(mqtt_topic_filter_valid(s));
	ck_assert(mqtt_topic_name_valid(s));
	s[MQTT_MAX_TOPIC_BYTES] = 'a';
	s[MQTT_MAX_TOPIC_BYTES + 1] = '\0';
	ck_assert(!mqtt_topic_filter_valid(s));
	ck_assert(!mqtt_topic_name_valid(s));
	ck_assert_ptr_null(mqtt_message_new(s, "x", 1, 0, false));
	free(s);
}
END_TEST

static const struct match_case overlap_cases[] = {
	{ "a/b", "a/b", true },
	{ "a/+", "a/b", true },
	{ "a/#", "a", true },
	{ "a/+", "a", false },
	{ "+/b", "a/+", true },
	{ "a/b", "a/c", false },
	{ "a/b/c", "a/b", false },
	{ "a/#", "a/b/c/d", true },
	{ "a/+/c", "a/b/+", true },
	{ "a/+/c", "a/b/d", false },
	{ "#", "+", true },
	{ "+", "/", false },
	{ "+/+", "/", true },
	{ "#", "$aws/x", false },
	{ "+/x", "$aws/x", false },
	{ "$aws/things/+/shadow/#", "$aws/things/+/jobs/#", false },
	{ "$aws/things/+/shadow/get", "$aws/things/T/shadow/+", true },
	{ "$aws/things/+/shadow/get", "$aws/things/+/shadow/update", false },
	{ "$share/g/a/#", "a/b", true },
};

START_TEST(filters_overlap_iff_some_topic_matches_both)
{
	const struct match_case *tc = &overlap_cases[_i];

	ck_assert_msg(mqtt_topic_filters_overlap(tc->filter, tc->topic) == tc->expect,
		      "'%s' vs '%s': expected %d", tc->filter, tc->topic, tc->expect);
	ck_assert_msg(mqtt_topic_filters_overlap(tc->topic, tc->filter) == tc->expect,
		      "'%s' vs '%s' (swapped): expected %d", tc->topic, tc->filter, tc->expect);
}
END_TEST

/* Records every handler call: "fn:<topic>" or "batch<n>:<topic>,<topic>...". */
struct recorder {
	char log[2048];
};

static void rec_append(struct recorder *r, const char *s)
{
	size_t len = strlen(r->log);

	ck_assert_uint_lt(len + strlen(s) + 1, sizeof(r->log));
	memcpy(r->log + len, s, strlen(s) + 1);
}

static void rec_fn(const struct mqtt_message *msg, void *arg)
{
	rec_append(arg, "fn:");
	rec_append(arg, msg->topic);
	rec_append(arg, ";");
}

static void rec_batch(const struct mqtt_message *const *msgs, size_t n, void *arg)
{
	char head[32];

	snprintf(head, sizeof(head), "batch%zu:", n);
	rec_append(arg, head);
	for (size_t i = 0; i < n; i++) {
		rec_append(arg, msgs[i]->topic);
		rec_append(arg, i + 1 < n ? "," : ";");
	}
}

START_TEST(router_add_validates_and_rejects_overlaps)
{
	struct mqtt_router *r = mqtt_router_new();
	struct recorder rec = { "" };

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(mqtt_router_add(r, "$aws/things/+/shadow/get", 1, rec_fn, &rec), BW_OK);
	ck_assert_int_eq(
		mqtt_router_add_batch(r, "$aws/things/+/shadow/update", 0, rec_batch, &rec), BW_OK);
	ck_assert_int_eq(mqtt_router_add(r, "a/#/b", 1, rec_fn, &rec), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_router_add(r, "x/y", 2, rec_fn, &rec), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_router_add(r, "x/y", 1, NULL, &rec), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_router_add_batch(r, "x/y", 1, NULL, &rec), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_router_add(r, "$aws/things/+/shadow/get", 1, rec_fn, &rec),
			 BW_ERR_CONFLICT);
	ck_assert_int_eq(mqtt_router_add(r, "$aws/things/T/shadow/+", 1, rec_fn, &rec),
			 BW_ERR_CONFLICT);
	ck_assert_int_eq(mqtt_router_add(r, "#", 1, rec_fn, &rec), BW_OK); /* no $ topics */

	ck_assert_uint_eq(mqtt_router_count(r), 3);
	ck_assert_str_eq(mqtt_router_at(r, 0)->filter, "$aws/things/+/shadow/get");
	ck_assert_int_eq(mqtt_router_at(r, 0)->qos, 1);
	ck_assert_uint_eq(mqtt_router_at(r, 1)->index, 1);
	ck_assert_ptr_null(mqtt_router_at(r, 3));
	ck_assert_ptr_eq(mqtt_router_find(r, "$aws/things/x/shadow/update"), mqtt_router_at(r, 1));
	ck_assert_ptr_eq(mqtt_router_find(r, "plain/topic"), mqtt_router_at(r, 2));
	ck_assert_ptr_null(mqtt_router_find(r, "$aws/things/x/shadow/delete"));
	mqtt_router_free(r);
	mqtt_router_free(NULL);
}
END_TEST

START_TEST(dispatch_groups_consecutive_batch_messages_by_route)
{
	static const char *const topics[] = {
		"$aws/things/a/shadow/get",
		"$aws/things/a/shadow/update",
		"$aws/things/b/shadow/update",
		"$aws/things/c/shadow/update",
		"$aws/things/b/shadow/get",
		"$aws/things/b/shadow/get",
		"other/topic",
		"$aws/things/d/shadow/update",
	};
	struct mqtt_router *r = mqtt_router_new();
	struct recorder rec = { "" };
	struct mqtt_message *msgs[ARRAY_LEN(topics)];
	const struct mqtt_message *view[ARRAY_LEN(topics)];
	const struct mqtt_route *route;
	size_t done = 0, calls = 0, unrouted = 0;

	ck_assert_int_eq(mqtt_router_add(r, "$aws/things/+/shadow/get", 1, rec_fn, &rec), BW_OK);
	ck_assert_int_eq(
		mqtt_router_add_batch(r, "$aws/things/+/shadow/update", 1, rec_batch, &rec), BW_OK);
	for (size_t i = 0; i < ARRAY_LEN(topics); i++) {
		msgs[i] = mqtt_message_new(topics[i], "{}", 2, 1, false);
		ck_assert_ptr_nonnull(msgs[i]);
		view[i] = msgs[i];
	}
	while (done < ARRAY_LEN(topics)) {
		size_t used =
			mqtt_router_dispatch(r, view + done, ARRAY_LEN(topics) - done, &route);

		ck_assert_uint_ge(used, 1);
		if (!route)
			unrouted++;
		done += used;
		calls++;
	}
	ck_assert_uint_eq(done, ARRAY_LEN(topics));
	ck_assert_uint_eq(calls, 6);
	ck_assert_uint_eq(unrouted, 1);
	ck_assert_str_eq(rec.log, "fn:$aws/things/a/shadow/get;"
				  "batch3:$aws/things/a/shadow/update,$aws/things/b/shadow/update,"
				  "$aws/things/c/shadow/update;"
				  "fn:$aws/things/b/shadow/get;"
				  "fn:$aws/things/b/shadow/get;"
				  "batch1:$aws/things/d/shadow/update;");
	ck_assert_uint_eq(mqtt_router_dispatch(r, view, 0, &route), 0);
	ck_assert_ptr_null(route);
	for (size_t i = 0; i < ARRAY_LEN(topics); i++)
		mqtt_message_free(msgs[i]);
	mqtt_router_free(r);
}
END_TEST

START_TEST(message_copy_keeps_embedded_nul_and_terminates)
{
	static const char payload[] = { 'a', '\0', 'b', (char)0xff };
	struct mqtt_message *m = mqtt_message_new("t/1", payload, sizeof(payload), 1, true);
	struct mqtt_message *empty = mqtt_message_new("t/2", NULL, 0, 0, false);
	char *big = calloc(1, MQTT_MAX_PAYLOAD_BYTES + 1);

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->topic, "t/1");
	ck_assert_uint_eq(m->topic_len, 3);
	ck_assert_uint_eq(m->payload_len, sizeof(payload));
	ck_assert_mem_eq(m->payload, payload, sizeof(payload));
	ck_assert_int_eq(m->payload[sizeof(payload)], '\0');
	ck_assert_ptr_ne(m->payload, payload);
	ck_assert_int_eq(m->qos, 1);
	ck_assert(m->retain);
	ck_assert_uint_ge(mqtt_message_size(m), sizeof(*m) + 3 + sizeof(payload));

	ck_assert_ptr_nonnull(empty);
	ck_assert_uint_eq(empty->payload_len, 0);
	ck_assert_str_eq(empty->payload, "");

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_null(mqtt_message_new("t", big, MQTT_MAX_PAYLOAD_BYTES + 1, 0, false));
	struct mqtt_message *max = mqtt_message_new("t", big, MQTT_MAX_PAYLOAD_BYTES, 0, false);
	ck_assert_ptr_nonnull(max);
	ck_assert_ptr_null(mqtt_message_new("t", NULL, 1, 0, false));
	ck_assert_ptr_null(mqtt_message_new(NULL, "x", 1, 0, false));

	mqtt_message_free(max);
	free(big);
	mqtt_message_free(m);
	mqtt_message_free(empty);
	mqtt_message_free(NULL);
}
END_TEST

START_TEST(shard_is_by_thing_name_for_aws_topics)
{
	unsigned hits[4] = { 0 };
	char topic[64];

	for (unsigned n = 1; n <= 8; n++) {
		unsigned s = mqtt_inbox_shard("$aws/things/dev-1/shadow/get", n);

		ck_assert_uint_lt(s, n);
		ck_assert_uint_eq(mqtt_inbox_shard("$aws/things/dev-1/jobs/$next/get", n), s);
		ck_assert_uint_eq(mqtt_inbox_shard("$aws/things/dev-1", n), s);
		ck_assert_uint_eq(mqtt_inbox_shard("$aws/things/dev-1/shadow/name/x/update", n), s);
	}
	ck_assert_uint_lt(mqtt_inbox_shard("$aws/things/", 3), 3);
	ck_assert_uint_lt(mqtt_inbox_shard("$aws/things//x", 3), 3);
	ck_assert_uint_lt(mqtt_inbox_shard("plain", 3), 3);
	for (int i = 0; i < 1000; i++) {
		snprintf(topic, sizeof(topic), "$aws/things/thing-%d/shadow/get", i);
		hits[mqtt_inbox_shard(topic, 4)]++;
	}
	for (int i = 0; i < 4; i++)
		ck_assert_uint_gt(hits[i], 150); /* roughly even */
}
END_TEST

/* Inbox: per-thing order across workers, batches, and stop. */
#define THINGS 5
#define PER_THING 400

struct order_state {
	pthread_mutex_t lock;
	int next[THINGS];
	int errors;
	int total;
	int batches;
	int max_batch;
};

static void order_check(struct order_state *st, const struct mqtt_message *m)
{
	int thing, seq;

	ck_assert_int_eq(sscanf(m->payload, "%d %d", &thing, &seq), 2);
	pthread_mutex_lock(&st->lock);
	if (thing < 0 || thing >= THINGS || st->next[thing] != seq)
		st->errors++;
	else
		st->next[thing]++;
	st->total++;
	pthread_mutex_unlock(&st->lock);
}

static void order_batch(const struct mqtt_message *const *msgs, size_t n, void *arg)
{
	struct order_state *st = arg;

	for (size_t i = 0; i < n; i++)
		order_check(st, msgs[i]);
	pthread_mutex_lock(&st->lock);
	st->batches++;
	if ((int)n > st->max_batch)
		st->max_batch = (int)n;
	pthread_mutex_unlock(&st->lock);
}

static int total_of(struct order_state *st)
{
	int t;

	pthread_mutex_lock(&st->lock);
	t = st->total;
	pthread_mutex_unlock(&st->lock);
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

START_TEST(inbox_keeps_per_thing_order_across_workers)
{
	struct order_state st = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct mqtt_router *r = mqtt_router_new();
	struct mqtt_inbox *inbox;
	char topic[64], payload[32];

	ck_assert_int_eq(
		mqtt_router_add_batch(r, "$aws/things/+/shadow/update", 1, order_batch, &st),
		BW_OK);
	inbox = mqtt_inbox_new(r, 3, THINGS * PER_THING, 0);
	ck_assert_ptr_nonnull(inbox);
	for (int seq = 0; seq < PER_THING; seq++) {
		for (int thing = 0; thing < THINGS; thing++) {
			int len = snprintf(payload, sizeof(payload), "%d %d", thing, seq);

			snprintf(topic, sizeof(topic), "$aws/things/t%d/shadow/update", thing);
			ck_assert_int_eq(
				mqtt_inbox_push(inbox, mqtt_message_new(topic, payload, (size_t)len,
									1, false)),
				MQTT_INBOX_PUSHED);
		}
	}
	for (int i = 0; i < 500 && total_of(&st) < THINGS * PER_THING; i++)
		sleep_ms(10);
	mqtt_inbox_free(inbox);
	ck_assert_int_eq(st.total, THINGS * PER_THING);
	ck_assert_int_eq(st.errors, 0);
	ck_assert_int_le(st.max_batch, MQTT_INBOX_BATCH);
	ck_assert_int_ge(st.batches, 1);
	mqtt_router_free(r);
}
END_TEST

/* Blocks the worker until released, so the test controls the queue contents. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool is_open;
	int entered;
	int handled;
};

static void gate_fn(const struct mqtt_message *msg, void *arg)
{
	struct gate *g = arg;

	(void)msg;
	pthread_mutex_lock(&g->lock);
	g->entered++;
	pthread_cond_broadcast(&g->cond);
	while (!g->is_open)
		pthread_cond_wait(&g->cond, &g->lock);
	g->handled++;
	pthread_mutex_unlock(&g->lock);
}

static void *stop_inbox(void *arg)
{
	mqtt_inbox_stop(arg);
	return NULL;
}

START_TEST(inbox_full_and_closed_pushes_are_refused_and_stop_finishes_batch)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0 };
	struct mqtt_router *r = mqtt_router_new();
	struct mqtt_inbox *inbox;
	enum mqtt_inbox_push_result res = MQTT_INBOX_PUSHED;
	pthread_t stopper;

	ck_assert_int_eq(mqtt_router_add(r, "q/#", 0, gate_fn, &g), BW_OK);
	inbox = mqtt_inbox_new(r, 1, 2, 0);
	ck_assert_ptr_nonnull(inbox);
	ck_assert_ptr_null(mqtt_inbox_new(r, 0, 2, 0));
	ck_assert_ptr_null(mqtt_inbox_new(r, 1, 0, 0));

	/* the worker takes the first message and blocks in the handler */
	ck_assert_int_eq(mqtt_inbox_push(inbox, mqtt_message_new("q/1", "1", 1, 0, false)),
			 MQTT_INBOX_PUSHED);
	pthread_mutex_lock(&g.lock);
	while (g.entered == 0)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
	/* capacity 2: two more fit, the third is refused (and freed by the inbox) */
	ck_assert_int_eq(mqtt_inbox_push(inbox, mqtt_message_new("q/2", "2", 1, 0, false)),
			 MQTT_INBOX_PUSHED);
	ck_assert_int_eq(mqtt_inbox_push(inbox, mqtt_message_new("q/3", "3", 1, 0, false)),
			 MQTT_INBOX_PUSHED);
	ck_assert_int_eq(mqtt_inbox_push(inbox, mqtt_message_new("q/4", "4", 1, 0, false)),
			 MQTT_INBOX_FULL);

	/* stop from another thread; once pushes report CLOSED, stop has begun: then let the
	 * running handler finish. The two queued messages must be dropped, not handled. */
	ck_assert_int_eq(pthread_create(&stopper, NULL, stop_inbox, inbox), 0);
	for (int i = 0; i < 1000; i++) {
		res = mqtt_inbox_push(inbox, mqtt_message_new("q/5", "5", 1, 0, false));
		if (res == MQTT_INBOX_CLOSED)
			break;
		ck_assert_int_eq(res, MQTT_INBOX_FULL);
		sleep_ms(5);
	}
	ck_assert_int_eq(res, MQTT_INBOX_CLOSED);
	pthread_mutex_lock(&g.lock);
	g.is_open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	ck_assert_int_eq(pthread_join(stopper, NULL), 0);
	ck_assert_int_eq(g.handled, 1);
	ck_assert_int_eq(g.entered, 1);
	ck_assert_int_eq(mqtt_inbox_push(inbox, mqtt_message_new("q/6", "6", 1, 0, false)),
			 MQTT_INBOX_CLOSED);
	mqtt_inbox_free(inbox);
	mqtt_router_free(r);
}
END_TEST

static Suite *mqtt_router_suite(void)
{
	Suite *s = suite_create("mqtt_router");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, topic_matches_follows_mqtt_rules, 0, (int)ARRAY_LEN(match_cases));
	tcase_add_loop_test(tc, filter_valid_checks_wildcards_share_and_utf8, 0,
			    (int)ARRAY_LEN(filter_cases));
	tcase_add_loop_test(tc, topic_name_valid_rejects_wildcards_and_bad_utf8, 0,
			    (int)ARRAY_LEN(name_cases));
	tcase_add_test(tc, length_limit_is_65535_bytes);
	tcase_add_loop_test(tc, filters_overlap_iff_some_topic_matches_both, 0,
			    (int)ARRAY_LEN(overlap_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("router");
	tcase_add_test(tc, router_add_validates_and_rejects_overlaps);
	tcase_add_test(tc, dispatch_groups_consecutive_batch_messages_by_route);
	tcase_add_test(tc, message_copy_keeps_embedded_nul_and_terminates);
	suite_add_tcase(s, tc);

	tc = tcase_create("inbox");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, shard_is_by_thing_name_for_aws_topics);
	tcase_add_test(tc, inbox_keeps_per_thing_order_across_workers);
	tcase_add_test(tc, inbox_full_and_closed_pushes_are_refused_and_stop_finishes_batch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mqtt_router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
