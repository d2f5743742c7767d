/* Unit tests for the agent state machine under overload and flaky links (agent/lib/agent_fsm.c,
 * agent_proto.c): throttled answers (Jobs RequestThrottled, Shadow 429) are not final, the
 * request goes out again after a growing jittered backoff; downloads that make progress survive
 * any number of interruptions; the "self_test active" report never goes out without a job id. */
#include "agent_harness.h"

/* Boot as 1.0.0 (security version 1). */
static void boot_with(const char *version, int slot, bool is_trial, const struct agent_persist *p,
		      int64_t now)
{
	harness_boot(version, 1, slot, is_trial, p, now);
}

static void setup(void)
{
	harness_init();
	boot_with("1.0.0", 0, false, NULL, 1000);
}

/* An update job to 1.1.0 (security version 1). */
static void feed_update(const char *job, const char *status, int64_t now)
{
	feed_execution(job, status, "{\"version\":\"1.1.0\",\"security_version\":1}", now);
}

static size_t count_pubs(void)
{
	size_t i, n = 0;

	for (i = 0; i < acts.count; i++)
		n += acts.items[i].type == AGENT_ACT_PUBLISH;
	return n;
}

/* The clientToken of a published payload, into tok. */
static void token_of(const struct agent_action *a, char *tok, size_t cap)
{
	json_t *j;

	ck_assert_ptr_nonnull(a);
	j = json_loads(a->payload, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_string(json_object_get(j, "clientToken")));
	snprintf(tok, cap, "%s", json_string_value(json_object_get(j, "clientToken")));
	json_decref(j);
}

/* A device that just reported FAILED for j1 (bootloader fell back), connected at 2000. */
static void failed_report_pending(void)
{
	struct agent_persist p = { .stage = AGENT_PENDING_BOOT, .prev_slot = 0, .new_slot = 1 };

	snprintf(p.job_id, sizeof(p.job_id), "j1");
	snprintf(p.target_version, sizeof(p.target_version), "2.0.0");
	snprintf(p.prev_version, sizeof(p.prev_version), "1.0.0");
	boot_with("1.0.0", 0, false, &p, 1000);
	feed(AGENT_EV_CONNECTED, 2000, true);
	ck_assert_ptr_nonnull(find_pub("/jobs/j1/update"));
	ck_assert(fsm.has_report);
}

static void reply_to_report(const char *kind, const char *code, int64_t now)
{
	char payload[300], topic[64];

	snprintf(topic, sizeof(topic), "jobs/j1/update/%s", kind);
	snprintf(payload, sizeof(payload),
		 "{\"code\":\"%s\",\"message\":\"m\",\"timestamp\":1,\"clientToken\":\"%s\"}", code,
		 fsm.report_token);
	feed_msg(topic, payload, now);
}

START_TEST(backoff_grows_is_jittered_and_bounded)
{
	uint64_t r;
	unsigned n;

	for (n = 1; n <= 12; n++) {
		int64_t d = 2000;
		unsigned i;

		for (i = 1; i < n && d < 60000; i++)
			d *= 2;
		if (d > 60000)
			d = 60000;
		for (r = 0; r < 2000; r += 97) {
			int64_t b = agent_backoff_ms(2000, 60000, n, r * 7919u);

			ck_assert_int_ge(b, d / 2);
			ck_assert_int_le(b, d);
		}
	}
	ck_assert_int_eq(agent_backoff_ms(2000, 60000, 1, 0), 1000);
	ck_assert_int_eq(agent_backoff_ms(2000, 60000, 1, 1000), 2000);
	ck_assert_int_eq(agent_backoff_ms(2000, 60000, 40, 30000), 60000);
}
END_TEST

START_TEST(throttled_final_report_is_kept_and_resent_after_backoff)
{
	char first[600];
	int64_t t = 2000, prev_delay = 0;
	unsigned i;

	failed_report_pending();
	snprintf(first, sizeof(first), "%s", find_pub("/jobs/j1/update")->payload);
	for (i = 1; i <= 8; i++) {
		int64_t at;

		reply_to_report("rejected", "RequestThrottled", t);
		ck_assert(fsm.has_report); /* not an answer */
		ck_assert_int_eq(fsm.state, AGENT_REPORTING);
		ck_assert_uint_eq(count_pubs(), 0);
		at = fsm.wake_ms;
		ck_assert_int_gt(at, t);
		/* within [d/2, d] of 2 s doubling, never later than the 30 s repeat */
		ck_assert_int_le(at - t, opt.report_retry_ms);
		if (i == 1)
			ck_assert_int_le(at - t, 2000);
		/* from the 7th answer on the backoff (>= 32 s) is longer than the regular repeat,
		 * which bounds it: sent 30 s after the last send (at t - 10) */
		if (i >= 7)
			ck_assert_int_eq(at, t - 10 + opt.report_retry_ms);
		ck_assert(i == 1 || at - t >= prev_delay / 4);
		prev_delay = at - t;
		feed(AGENT_EV_TICK, at - 1, true);
		ck_assert_uint_eq(count_pubs(), 0);
		feed(AGENT_EV_TICK, at, true);
		/* the same report, same token: the server applies it once */
		ck_assert_ptr_nonnull(find_pub("/jobs/j1/update"));
		ck_assert_str_eq(find_pub("/jobs/j1/update")->payload, first);
		t = at + 10;
	}
	/* accepted at last: done, the next job is asked for */
	reply_to_report("accepted", "", t);
	ck_assert(!fsm.has_report);
	ck_assert_int_eq(fsm.state, AGENT_IDLE);
	ck_assert_ptr_nonnull(find_pub("/jobs/$next/get"));
}
END_TEST

START_TEST(throttled_report_waits_out_its_backoff_across_a_reconnect)
{
	int64_t at;

	failed_report_pending();
	reply_to_report("rejected", "RequestThrottled", 2100);
	at = fsm.report_retry_at_ms;
	feed(AGENT_EV_DISCONNECTED, 2200, true);
	feed(AGENT_EV_CONNECTED, 2300, true);
	ck_assert(at > 2300);
	ck_assert_ptr_null(find_pub("/jobs/j1/update")); /* not before the backoff */
	feed(AGENT_EV_TICK, at, true);
	ck_assert_ptr_nonnull(find_pub("/jobs/j1/update"));
}
END_TEST

START_TEST(report_rejected_for_a_real_reason_is_final)
{
	failed_report_pending();
	reply_to_report("rejected", "RequestThrottled", 2100);
	feed(AGENT_EV_TICK, fsm.wake_ms, true);
	reply_to_report("rejected", "InvalidStateTransition", 5000);
	ck_assert(!fsm.has_report);
	ck_assert_int_eq(fsm.state, AGENT_IDLE);
	ck_assert_int_eq(fsm.report_retry_at_ms, 0);
}
END_TEST

START_TEST(throttled_next_job_query_is_asked_again_after_backoff)
{
	char tok[65], payload[300];
	int64_t at;

	feed(AGENT_EV_CONNECTED, 2000, true);
	token_of(find_pub("/jobs/$next/get"), tok, sizeof(tok));
	snprintf(payload, sizeof(payload),
		 "{\"code\":\"RequestThrottled\",\"message\":\"busy\",\"clientToken\":\"%s\"}",
		 tok);
	feed_msg("jobs/$next/get/rejected", payload, 2100);
	at = fsm.wake_ms;
	ck_assert_int_gt(at, 2100);
	ck_assert_int_le(at, 2100 + opt.throttle_backoff_ms);
	ck_assert_int_lt(at, 2000 + opt.query_retry_ms); /* not the 30 s repeat */
	feed(AGENT_EV_TICK, at, true);
	ck_assert_ptr_nonnull(find_pub("/jobs/$next/get"));
	/* start-next/rejected is an answer of the same kind; a second throttle backs off more */
	token_of(find_pub("/jobs/$next/get"), tok, sizeof(tok));
	snprintf(payload, sizeof(payload),
		 "{\"code\":\"RequestThrottled\",\"message\":\"busy\",\"clientToken\":\"%s\"}",
		 tok);
	feed_msg("jobs/start-next/rejected", payload, at + 5);
	ck_assert_int_ge(fsm.wake_ms, at + 5 + opt.throttle_backoff_ms / 2);
	ck_assert_uint_eq(fsm.query_throttled, 2);
	/* an answer resets it */
	feed_update("j1", "QUEUED", at + 10);
	ck_assert_uint_eq(fsm.query_throttled, 0);
	ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
}
END_TEST

START_TEST(other_query_rejections_wait_for_the_regular_repeat)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_msg("jobs/$next/get/rejected",
		 "{\"code\":\"InvalidRequest\",\"message\":\"bad\",\"clientToken\":\"x\"}", 2100);
	ck_assert_int_eq(fsm.query_retry_at_ms, 0);
	ck_assert_int_eq(fsm.wake_ms, 2000 + opt.query_retry_ms);
}
END_TEST

START_TEST(throttled_firmware_report_and_shadow_get_are_resent)
{
	char fw_tok[65], get_tok[65], fw_payload[600], payload[300];
	const struct agent_action *a;

	feed(AGENT_EV_CONNECTED, 2000, true);
	a = find_pub("/shadow/update");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(strstr(a->payload, "\"firmware\""));
	snprintf(fw_payload, sizeof(fw_payload), "%s", a->payload);
	token_of(a, fw_tok, sizeof(fw_tok));
	token_of(find_pub("/shadow/get"), get_tok, sizeof(get_tok));
	ck_assert(agent_fsm_owns_token(&fsm, fw_tok));
	ck_assert(agent_fsm_owns_token(&fsm, get_tok));
	ck_assert(!agent_fsm_owns_token(&fsm, "hb-1"));
	snprintf(payload, sizeof(payload),
		 "{\"code\":429,\"message\":\"Rate limit exceeded\",\"clientToken\":\"%s\"}",
		 fw_tok);
	feed_msg("shadow/update/rejected", payload, 2100);
	snprintf(payload, sizeof(payload),
		 "{\"code\":429,\"message\":\"Rate limit exceeded\",\"clientToken\":\"%s\"}",
		 get_tok);
	feed_msg("shadow/get/rejected", payload, 2100);
	ck_assert_int_gt(fsm.wake_ms, 2100);
	ck_assert_int_le(fsm.wake_ms, 2100 + opt.throttle_backoff_ms);
	feed(AGENT_EV_TICK, 2100 + opt.throttle_backoff_ms, true);
	ck_assert_ptr_nonnull(find_pub("/shadow/update"));
	ck_assert_str_eq(find_pub("/shadow/update")->payload, fw_payload);
	ck_assert_ptr_nonnull(find_pub("/shadow/get"));
	/* a rejection for another reason ends it: nothing more is sent */
	snprintf(payload, sizeof(payload),
		 "{\"code\":400,\"message\":\"x\",\"clientToken\":\"%s\"}", fw_tok);
	feed_msg("shadow/update/rejected", payload, 9000);
	ck_assert(!agent_fsm_owns_token(&fsm, fw_tok));
	feed(AGENT_EV_TICK, 200000, true);
	ck_assert_ptr_null(find_pub("/shadow/update"));
}
END_TEST

START_TEST(throttled_config_report_is_resent)
{
	char tok[65], payload[300];

	feed(AGENT_EV_CONNECTED, 2000, true);
	agent_actions_clear(&acts);
	agent_fsm_config_report(&fsm, "{\"state\":{\"reported\":{\"config\":{\"mode\":\"eco\"}}}}",
				2500, &acts);
	ck_assert_ptr_nonnull(find_pub("/shadow/update"));
	ck_assert_ptr_nonnull(strstr(find_pub("/shadow/update")->payload, "\"mode\":\"eco\""));
	token_of(find_pub("/shadow/update"), tok, sizeof(tok));
	snprintf(payload, sizeof(payload),
		 "{\"code\":429,\"message\":\"m\",\"clientToken\":\"%s\"}", tok);
	feed_msg("shadow/update/rejected", payload, 2600);
	ck_assert_int_gt(fsm.wake_ms, 2600);
	feed(AGENT_EV_TICK, fsm.wake_ms, true);
	ck_assert_ptr_nonnull(strstr(find_pub("/shadow/update")->payload, "\"mode\":\"eco\""));
	ck_assert_ptr_nonnull(strstr(find_pub("/shadow/update")->payload, tok));
}
END_TEST

START_TEST(proto_parses_rejections_and_subscribes_to_them)
{
	char topics[AGENT_PROTO_SUBSCRIPTIONS + 2][AGENT_TOPIC_MAX];
	const char *want[] = { "jobs/$next/get/+", "jobs/start-next/+", "shadow/get/rejected",
			       "shadow/update/rejected" };
	struct agent_event ev = { 0 };
	struct agent_execution ex;
	json_t *delta = NULL;
	const char *p = "{\"code\":429,\"message\":\"m\",\"clientToken\":\"t-9\"}";
	size_t n, i, k;

	n = agent_proto_subscriptions(THING, topics, AGENT_PROTO_SUBSCRIPTIONS + 2);
	ck_assert_uint_eq(n, AGENT_PROTO_SUBSCRIPTIONS);
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		char full[AGENT_TOPIC_MAX];
		bool found = false;

		snprintf(full, sizeof(full), "$aws/things/" THING "/%s", want[k]);
		for (i = 0; i < n; i++)
			found = found || strcmp(topics[i], full) == 0;
		ck_assert_msg(found, "missing subscription %s", want[k]);
	}
	ck_assert_int_eq(agent_proto_parse(THING, "$aws/things/dev-1/shadow/get/rejected", p,
					   strlen(p), &ev, &ex, &delta),
			 AGENT_MSG_EVENT);
	ck_assert_int_eq(ev.type, AGENT_EV_SHADOW_REJECTED);
	ck_assert(ev.is_shadow_get);
	ck_assert_str_eq(ev.code, "429");
	ck_assert_str_eq(ev.client_token, "t-9");
	p = "{\"code\":\"RequestThrottled\",\"message\":\"m\",\"clientToken\":\"q-1\"}";
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(agent_proto_parse(THING, "$aws/things/dev-1/jobs/start-next/rejected", p,
					   strlen(p), &ev, &ex, &delta),
			 AGENT_MSG_EVENT);
	ck_assert_int_eq(ev.type, AGENT_EV_QUERY_REJECTED);
	ck_assert_str_eq(ev.code, "RequestThrottled");
	ck_assert_str_eq(ev.client_token, "q-1");
}
END_TEST

/*
 * The "jobs//update" bug: after the reboot into the new slot, the self-test passed and the
 * confirmation delay ended before the MQTT session came up (a slow broker, a flap). confirm()
 * cleared persist (and its job id) but need_active_report stayed set, so the first CONNECTED
 * published the "self_test active" report for job "".
 */
START_TEST(active_report_never_goes_out_without_a_job)
{
	struct agent_persist p = { .stage = AGENT_PENDING_BOOT, .prev_slot = 0, .new_slot = 1 };
	size_t i;

	snprintf(p.job_id, sizeof(p.job_id), "j1");
	snprintf(p.target_version, sizeof(p.target_version), "1.1.0");
	snprintf(p.prev_version, sizeof(p.prev_version), "1.0.0");
	boot_with("1.1.0", 1, true, &p, 1000);
	ck_assert_int_eq(fsm.state, AGENT_TESTING);
	feed(AGENT_EV_SELF_TEST_DONE, 1500, true); /* still offline */
	feed(AGENT_EV_TICK, 1500 + opt.confirm_delay_ms, true);
	ck_assert_ptr_nonnull(find(AGENT_ACT_CONFIRM, 0));
	ck_assert_int_eq(fsm.state, AGENT_REPORTING);
	feed(AGENT_EV_CONNECTED, 20000, true);
	for (i = 0; i < acts.count; i++) {
		ck_assert_ptr_null(strstr(acts.items[i].topic, "/jobs//"));
		if (acts.items[i].payload != NULL)
			ck_assert_ptr_null(strstr(acts.items[i].payload, "\"active\""));
	}
	ck_assert_ptr_nonnull(find_pub("/jobs/j1/update"));
	ck_assert_ptr_nonnull(strstr(find_pub("/jobs/j1/update")->payload, "SUCCEEDED"));
	/* and a reconnect later does not bring it back either */
	feed(AGENT_EV_DISCONNECTED, 21000, true);
	feed(AGENT_EV_CONNECTED, 22000, true);
	for (i = 0; i < acts.count; i++)
		ck_assert_ptr_null(strstr(acts.items[i].topic, "/jobs//"));
}
END_TEST

START_TEST(active_report_still_sent_when_connected_during_the_test)
{
	struct agent_persist p = { .stage = AGENT_PENDING_BOOT, .prev_slot = 0, .new_slot = 1 };

	snprintf(p.job_id, sizeof(p.job_id), "j1");
	snprintf(p.prev_version, sizeof(p.prev_version), "1.0.0");
	boot_with("1.1.0", 1, true, &p, 1000);
	feed(AGENT_EV_CONNECTED, 1100, true);
	ck_assert_ptr_nonnull(find_pub("/jobs/j1/update"));
	ck_assert_ptr_nonnull(strstr(find_pub("/jobs/j1/update")->payload, "\"active\""));
}
END_TEST

/* A flaky link: every attempt brings some bytes, then the connection drops. More drops than
 * download_attempts must not fail the job; only attempts in a row without progress count. */
START_TEST(download_with_progress_survives_any_number_of_flaps)
{
	struct agent_event ev = { 0 };
	int64_t t = 3000;
	uint64_t got = 0;
	int i;

	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_update("j1", "QUEUED", 2100);
	ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
	for (i = 0; i < 3 * opt.download_attempts; i++) {
		got += 30;
		ev = (struct agent_event){ .type = AGENT_EV_DOWNLOAD_PROGRESS,
					   .now_ms = t,
					   .bytes = got };
		feed_ev(&ev);
		ev = (struct agent_event){ .type = AGENT_EV_DOWNLOAD_DONE,
					   .now_ms = t,
					   .is_retryable = true };
		snprintf(ev.reason, sizeof(ev.reason), "connection lost");
		feed_ev(&ev);
		ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
		ck_assert_int_eq(fsm.wake_ms, t + opt.download_backoff_ms); /* first backoff */
		t = fsm.wake_ms;
		feed(AGENT_EV_TICK, t, true);
		ck_assert_ptr_nonnull(find(AGENT_ACT_DOWNLOAD, 0));
		ck_assert_uint_eq(find(AGENT_ACT_DOWNLOAD, 0)->offset, got); /* Range resume */
	}
	feed(AGENT_EV_DOWNLOAD_DONE, t + 1, true);
	ck_assert_int_eq(fsm.state, AGENT_VERIFYING);
	/* attempts without progress still end it */
	boot_with("1.0.0", 0, false, NULL, 1000);
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_update("j2", "QUEUED", 2100);
	t = 3000;
	for (i = 0; i < opt.download_attempts && fsm.state == AGENT_DOWNLOADING; i++) {
		ev = (struct agent_event){ .type = AGENT_EV_DOWNLOAD_DONE,
					   .now_ms = t,
					   .is_retryable = true };
		feed_ev(&ev);
		if (fsm.state == AGENT_DOWNLOADING) {
			t = fsm.wake_ms;
			feed(AGENT_EV_TICK, t, true);
		}
	}
	ck_assert_int_eq(i, opt.download_attempts);
	ck_assert_int_eq(fsm.state, AGENT_REPORTING);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_throttle");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, backoff_grows_is_jittered_and_bounded);
	tcase_add_test(tc, throttled_final_report_is_kept_and_resent_after_backoff);
	tcase_add_test(tc, throttled_report_waits_out_its_backoff_across_a_reconnect);
	tcase_add_test(tc, report_rejected_for_a_real_reason_is_final);
	tcase_add_test(tc, throttled_next_job_query_is_asked_again_after_backoff);
	tcase_add_test(tc, other_query_rejections_wait_for_the_regular_repeat);
	tcase_add_test(tc, throttled_firmware_report_and_shadow_get_are_resent);
	tcase_add_test(tc, throttled_config_report_is_resent);
	tcase_add_test(tc, proto_parses_rejections_and_subscribes_to_them);
	tcase_add_test(tc, active_report_never_goes_out_without_a_job);
	tcase_add_test(tc, active_report_still_sent_when_connected_during_the_test);
	tcase_add_test(tc, download_with_progress_survives_any_number_of_flaps);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
