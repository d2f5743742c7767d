/* Unit tests for the device agent's pure state machine (agent/lib/agent_fsm.c), job documents,
 * MQTT message parsing, versions and the config store. Time is a parameter throughout. */
#include "agent_config.h"
#include "agent_doc.h"
#include "agent_harness.h"
#include "agent_semver.h"

static void boot_with(const char *version, uint32_t secver, int slot, bool is_trial,
		      const struct agent_persist *p)
{
	harness_boot(version, secver, slot, is_trial, p, 1000);
}

static void setup(void)
{
	harness_init();
	boot_with("1.0.0", 1, 0, false, NULL);
}

static void assert_status(const struct agent_action *a, const char *status)
{
	json_t *j;

	ck_assert_ptr_nonnull(a);
	j = json_loads(a->payload, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), status);
	json_decref(j);
}

static void reply_accepted_to_report(int64_t now)
{
	char payload[200];

	snprintf(payload, sizeof(payload), "{\"timestamp\":1,\"clientToken\":\"%s\"}",
		 fsm.report_token);
	feed_msg("jobs/j1/update/accepted", payload, now);
}

START_TEST(connect_queries_next_job_and_reports_firmware)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	ck_assert_ptr_nonnull(find_pub("/jobs/$next/get"));
	ck_assert_ptr_nonnull(find_pub("/shadow/update"));
	ck_assert_ptr_nonnull(strstr(find_pub("/shadow/update")->payload, "\"version\":\"1.0.0\""));
	ck_assert_ptr_nonnull(strstr(find_pub("/shadow/update")->payload, "\"slot\":\"A\""));
}
END_TEST

START_TEST(full_update_succeeds_after_self_test_and_confirmation_delay)
{
	struct agent_persist saved;

	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "QUEUED", "{\"version\":\"1.1.0\",\"security_version\":1}", 2100);
	assert_status(find_pub("/jobs/j1/update"), "IN_PROGRESS");
	ck_assert_ptr_nonnull(find(AGENT_ACT_DOWNLOAD, 0));
	ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
	feed(AGENT_EV_DOWNLOAD_DONE, 3000, true);
	ck_assert_ptr_nonnull(find(AGENT_ACT_VERIFY, 0));
	feed(AGENT_EV_VERIFIED, 3100, true);
	ck_assert_ptr_nonnull(find(AGENT_ACT_INSTALL, 0));
	feed(AGENT_EV_INSTALLED, 3200, true);
	ck_assert_ptr_nonnull(find(AGENT_ACT_PERSIST, 0));
	ck_assert_ptr_nonnull(find(AGENT_ACT_REBOOT, 0));
	ck_assert_ptr_nonnull(
		strstr(find_pub("/jobs/j1/update")->payload, "\"self_test\":\"ready\""));
	ck_assert_int_eq(fsm.persist.stage, AGENT_PENDING_BOOT);
	ck_assert_int_eq(fsm.persist.new_slot, 1);
	saved = fsm.persist;
	/* the bootloader starts slot B on trial */
	boot_with("1.1.0", 1, 1, true, &saved);
	ck_assert_int_eq(fsm.state, AGENT_TESTING);
	ck_assert_ptr_nonnull(find(AGENT_ACT_SELF_TEST, 0));
	feed(AGENT_EV_CONNECTED, 10000, true);
	ck_assert_ptr_nonnull(
		strstr(find_pub("/jobs/j1/update")->payload, "\"self_test\":\"active\""));
	feed(AGENT_EV_SELF_TEST_DONE, 10500, true);
	ck_assert_int_eq(fsm.state, AGENT_CONFIRMING);
	feed(AGENT_EV_TICK, 10500 + opt.confirm_delay_ms - 1, true);
	ck_assert_int_eq(fsm.state, AGENT_CONFIRMING);
	ck_assert_int_eq(fsm.wake_ms, 10500 + opt.confirm_delay_ms);
	feed(AGENT_EV_TICK, 10500 + opt.confirm_delay_ms, true);
	ck_assert_ptr_nonnull(find(AGENT_ACT_CONFIRM, 0));
	assert_status(find_pub("/jobs/j1/update"), "SUCCEEDED");
	ck_assert_ptr_nonnull(strstr(find_pub("/shadow/update")->payload, "\"version\":\"1.1.0\""));
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "SUCCEEDED");
	ck_assert_int_eq(fsm.state, AGENT_REPORTING);
	reply_accepted_to_report(30000);
	ck_assert_int_eq(fsm.state, AGENT_IDLE);
	ck_assert_ptr_nonnull(find_pub("/jobs/$next/get"));
}
END_TEST

START_TEST(boot_on_old_slot_reports_failed)
{
	struct agent_persist p = { .stage = AGENT_PENDING_BOOT, .prev_slot = 0, .new_slot = 1 };

	snprintf(p.job_id, sizeof(p.job_id), "j1");
	snprintf(p.target_version, sizeof(p.target_version), "2.0.0");
	snprintf(p.prev_version, sizeof(p.prev_version), "1.0.0");
	boot_with("1.0.0", 1, 0, false, &p);
	ck_assert_ptr_nonnull(find(AGENT_ACT_PERSIST, 0));
	ck_assert_int_eq(fsm.persist.stage, AGENT_PENDING_NONE);
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "FAILED");
	ck_assert_ptr_nonnull(strstr(find(AGENT_ACT_JOB_DONE, 0)->reason, "did not boot"));
	ck_assert_ptr_null(find_pub("/update")); /* not connected yet: kept */
	feed(AGENT_EV_CONNECTED, 2000, true);
	assert_status(find_pub("/jobs/j1/update"), "FAILED");
	/* no answer: repeated after report_retry_ms, and on every reconnect */
	feed(AGENT_EV_TICK, 2000 + opt.report_retry_ms, true);
	assert_status(find_pub("/jobs/j1/update"), "FAILED");
	feed(AGENT_EV_DISCONNECTED, 40000, true);
	feed(AGENT_EV_CONNECTED, 41000, true);
	assert_status(find_pub("/jobs/j1/update"), "FAILED");
}
END_TEST

START_TEST(self_test_failure_rolls_back_then_reports_failed)
{
	struct agent_persist p = { .stage = AGENT_PENDING_BOOT, .prev_slot = 0, .new_slot = 1 };

	snprintf(p.job_id, sizeof(p.job_id), "j1");
	snprintf(p.prev_version, sizeof(p.prev_version), "1.0.0");
	boot_with("2.0.0", 2, 1, true, &p);
	feed(AGENT_EV_SELF_TEST_DONE, 2000, false);
	ck_assert_ptr_nonnull(find(AGENT_ACT_ROLLBACK, 0));
	ck_assert_int_eq(fsm.persist.stage, AGENT_PENDING_ROLLBACK);
	p = fsm.persist;
	boot_with("1.0.0", 1, 0, false, &p);
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "FAILED");
	ck_assert_ptr_nonnull(strstr(find(AGENT_ACT_JOB_DONE, 0)->reason, "self-test failed"));
}
END_TEST

/* Table: what the checks decide for a job document on a device running 1.5.0, security 3. */
static const struct {
	const char *bw;
	const char *queued_status; /* report for a QUEUED execution, NULL = starts downloading */
	const char *reason_part;
} check_cases[] = {
	{ "{\"version\":\"1.6.0\",\"security_version\":3}", NULL, NULL },
	{ "{\"version\":\"1.4.0\",\"security_version\":3}", "REJECTED", "downgrade" },
	{ "{\"version\":\"1.4.0\",\"security_version\":3,\"revert\":true}", NULL, NULL },
	{ "{\"version\":\"1.6.0\",\"security_version\":2}", "REJECTED", "security version" },
	{ "{\"version\":\"1.4.0\",\"security_version\":2,\"revert\":true}", "REJECTED",
	  "security version" },
	{ "{\"version\":\"1.6.0\",\"hardware_types\":[\"stm32\"]}", "REJECTED", "hardware type" },
	{ "{\"version\":\"1.6.0\",\"hardware_types\":[\"stm32\",\"esp32\"]}", NULL, NULL },
	{ "{\"version\":\"1.6.0\",\"min_version\":\"1.5.1\"}", "REJECTED", "minimum" },
	{ "{\"version\":\"1.5.0\"}", "SUCCEEDED", "already running" },
	{ "{\"version\":17}", "REJECTED", "bellwether" },
	{ "", NULL, NULL }, /* no metadata: FreeRTOS-style, version checked after boot */
};

START_TEST(checks_decide_per_table)
{
	const struct agent_action *a;

	boot_with("1.5.0", 3, 0, false, NULL);
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "QUEUED", check_cases[_i].bw, 2100);
	a = find(AGENT_ACT_JOB_DONE, 0);
	if (check_cases[_i].queued_status == NULL) {
		ck_assert_ptr_null(a);
		ck_assert_ptr_nonnull(find(AGENT_ACT_DOWNLOAD, 0));
		return;
	}
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->status, check_cases[_i].queued_status);
	ck_assert_msg(strstr(a->reason, check_cases[_i].reason_part) != NULL, "reason '%s'",
		      a->reason);
	assert_status(find_pub("/jobs/j1/update"), check_cases[_i].queued_status);
}
END_TEST

START_TEST(refusal_of_in_progress_job_is_failed_not_rejected)
{
	boot_with("1.5.0", 3, 0, false, NULL);
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "IN_PROGRESS", "{\"version\":\"1.0.0\"}", 2100);
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "FAILED");
}
END_TEST

START_TEST(non_firmware_document_is_rejected)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_msg("jobs/$next/get/accepted",
		 "{\"execution\":{\"jobId\":\"j2\",\"status\":\"QUEUED\",\"jobDocument\":"
		 "{\"operation\":\"reboot\"}}}",
		 2100);
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "REJECTED");
	ck_assert_ptr_nonnull(strstr(find(AGENT_ACT_JOB_DONE, 0)->reason, "afr_ota"));
}
END_TEST

START_TEST(download_retries_resume_with_backoff_then_fail)
{
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE, .is_retryable = true };
	int64_t t = 2100 + opt.progress_every_ms;
	int i;

	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "QUEUED", "{\"version\":\"1.1.0\"}", 2100);
	agent_actions_clear(&acts);
	ev.type = AGENT_EV_DOWNLOAD_PROGRESS;
	ev.bytes = 400;
	ev.now_ms = t;
	agent_fsm_handle(&fsm, &ev, &acts);
	ck_assert_ptr_nonnull(strstr(find_pub("/jobs/j1/update")->payload, "400/1000"));
	ck_assert_int_eq(find_pub("/jobs/j1/update")->qos, 0);
	ev.type = AGENT_EV_DOWNLOAD_DONE;
	for (i = 1; i < opt.download_attempts; i++) {
		agent_actions_clear(&acts);
		ev.now_ms = t;
		agent_fsm_handle(&fsm, &ev, &acts);
		ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
		ck_assert_int_gt(fsm.wake_ms, t);
		t = fsm.wake_ms;
		feed(AGENT_EV_TICK, t, true);
		ck_assert_ptr_nonnull(find(AGENT_ACT_DOWNLOAD, 0));
		ck_assert_int_eq(find(AGENT_ACT_DOWNLOAD, 0)->offset, 400); /* Range resume */
	}
	agent_actions_clear(&acts);
	snprintf(ev.reason, sizeof(ev.reason), "reset");
	agent_fsm_handle(&fsm, &ev, &acts);
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "FAILED");
	ck_assert_ptr_nonnull(strstr(find(AGENT_ACT_JOB_DONE, 0)->reason, "download failed"));
}
END_TEST

START_TEST(verification_failure_reports_failed)
{
	struct agent_event ev = { .type = AGENT_EV_VERIFIED, .now_ms = 4000 };

	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "QUEUED", "{\"version\":\"1.1.0\"}", 2100);
	feed(AGENT_EV_DOWNLOAD_DONE, 3000, true);
	agent_actions_clear(&acts);
	snprintf(ev.reason, sizeof(ev.reason), "sha256 mismatch");
	agent_fsm_handle(&fsm, &ev, &acts);
	ck_assert_str_eq(find(AGENT_ACT_JOB_DONE, 0)->status, "FAILED");
	ck_assert_ptr_nonnull(strstr(find_pub("/jobs/j1/update")->payload, "sha256 mismatch"));
}
END_TEST

START_TEST(cancel_while_downloading_stops_the_download)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "QUEUED", "{\"version\":\"1.1.0\"}", 2100);
	feed_msg("jobs/notify-next", "{\"timestamp\":5}", 2500);
	ck_assert_ptr_nonnull(find(AGENT_ACT_CANCEL_DOWNLOAD, 0));
	ck_assert_int_eq(fsm.state, AGENT_IDLE);
}
END_TEST

START_TEST(duplicate_notification_of_current_job_is_ignored)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_execution("j1", "QUEUED", "{\"version\":\"1.1.0\"}", 2100);
	feed_execution("j1", "IN_PROGRESS", "{\"version\":\"1.1.0\"}", 2200);
	ck_assert_int_eq(acts.count, 0);
	ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
}
END_TEST

START_TEST(unanswered_query_is_repeated)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	ck_assert_int_eq(fsm.wake_ms, 2000 + opt.query_retry_ms);
	feed(AGENT_EV_TICK, 2000 + opt.query_retry_ms, true);
	ck_assert_ptr_nonnull(find_pub("/jobs/$next/get"));
}
END_TEST

START_TEST(semver_orders_versions)
{
	int c = 9;

	ck_assert(agent_semver_cmp("1.0.0", "1.0.1", &c) && c == -1);
	ck_assert(agent_semver_cmp("1.10.0", "1.9.9", &c) && c == 1);
	ck_assert(agent_semver_cmp("1.0.0-rc.1", "1.0.0", &c) && c == -1);
	ck_assert(agent_semver_cmp("1.0.0-alpha", "1.0.0-alpha.1", &c) && c == -1);
	ck_assert(agent_semver_cmp("1.0.0-2", "1.0.0-10", &c) && c == -1);
	ck_assert(agent_semver_cmp("1.0.0+a", "1.0.0+b", &c) && c == 0);
	ck_assert(!agent_semver_cmp("1.0", "1.0.0", &c));
	ck_assert(!agent_semver_is_valid("01.0.0"));
}
END_TEST

START_TEST(config_delta_is_merged_and_reported)
{
	json_t *store = json_pack("{s:i,s:{s:s}}", "rate", 1, "net", "mode", "wifi");
	json_t *delta = json_loads("{\"config\":{\"rate\":5,\"net\":{\"mode\":null,\"ip\":\"x\"}}}",
				   0, NULL);
	int is_oom = 1;
	char *report = agent_config_apply(store, delta, &is_oom);

	ck_assert_ptr_nonnull(report);
	ck_assert_int_eq(is_oom, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(store, "rate")), 5);
	ck_assert_ptr_null(json_object_get(json_object_get(store, "net"), "mode"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(store, "net"), "ip")),
			 "x");
	ck_assert_ptr_nonnull(strstr(report, "\"reported\":{\"config\":"));
	free(report);
	json_decref(delta);
	delta = json_loads("{\"other\":1}", 0, NULL);
	ck_assert_ptr_null(agent_config_apply(store, delta, &is_oom));
	json_decref(delta);
	json_decref(store);
}
END_TEST

START_TEST(health_report_has_counters_and_gauges)
{
	struct agent_health h = {
		.boot_count = 3, .crash_count = 2, .uptime_s = 60, .gauge_count = 1
	};
	char *s;

	h.gauge_names[0] = "temp_c";
	h.gauge_values[0] = 41.5;
	s = agent_health_report(&h);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "\"health\":{"));
	ck_assert_ptr_nonnull(strstr(s, "\"crash_count\":2"));
	ck_assert_ptr_nonnull(strstr(s, "\"temp_c\":41.5"));
	free(s);
}
END_TEST

START_TEST(proto_ignores_other_things_and_parses_rejections)
{
	struct agent_event ev = { 0 };
	struct agent_execution ex;
	json_t *delta = NULL;
	const char *p = "{\"code\":\"InvalidStateTransition\",\"clientToken\":\"7:dev-1\"}";

	ck_assert_int_eq(agent_proto_parse(THING, "$aws/things/dev-2/jobs/notify-next", "{}", 2,
					   &ev, &ex, &delta),
			 AGENT_MSG_IGNORED);
	ck_assert_int_eq(agent_proto_parse(THING, "$aws/things/dev-1/jobs/j9/update/rejected", p,
					   strlen(p), &ev, &ex, &delta),
			 AGENT_MSG_EVENT);
	ck_assert_int_eq(ev.type, AGENT_EV_UPDATE_REJECTED);
	ck_assert_str_eq(ev.job_id, "j9");
	ck_assert_str_eq(ev.code, "InvalidStateTransition");
	ck_assert_str_eq(ev.client_token, "7:dev-1");
	p = "{\"state\":{\"config\":{\"a\":1}}}";
	ck_assert_int_eq(agent_proto_parse(THING, "$aws/things/dev-1/shadow/update/delta", p,
					   strlen(p), &ev, &ex, &delta),
			 AGENT_MSG_SHADOW_DELTA);
	ck_assert_ptr_nonnull(json_object_get(delta, "config"));
	json_decref(delta);
}
END_TEST

/* Feeds a QUEUED execution of j1 whose afr_ota offers `protocols` (JSON array text). */
static void feed_protocols(const char *protocols, int64_t now)
{
	char payload[700];

	snprintf(
		payload, sizeof(payload),
		"{\"timestamp\":1,\"execution\":{\"jobId\":\"j1\",\"status\":\"QUEUED\","
		"\"versionNumber\":1,\"executionNumber\":1,\"jobDocument\":{\"afr_ota\":{"
		"\"protocols\":%s,\"streamname\":\"AFR_OTA-j1\",\"files\":[{\"filesize\":1000,"
		"\"fileid\":0,\"update_data_url\":\"http://x/fw\",\"sig-sha256-ecdsa\":\"AAAA\"}]},"
		"\"bellwether\":{\"version\":\"1.1.0\"}}}}",
		protocols);
	feed_msg("jobs/notify-next", payload, now);
}

/* Re-boots with protocols/prefer_mqtt set the way a driver does. */
static void boot_with_protocols(unsigned protocols, bool prefer_mqtt)
{
	struct agent_device dev = fsm.dev;
	struct agent_persist none = { 0 };

	agent_fsm_cleanup(&fsm);
	agent_actions_clear(&acts);
	agent_options_default(&opt);
	opt.protocols = protocols;
	opt.prefer_mqtt = prefer_mqtt;
	agent_fsm_boot(&fsm, &opt, &dev, &none, 1000, &acts);
	feed(AGENT_EV_CONNECTED, 2000, true);
}

START_TEST(mqtt_only_job_is_rejected_by_an_http_only_driver)
{
	feed(AGENT_EV_CONNECTED, 2000, true);
	feed_protocols("[\"MQTT\"]", 2100);
	assert_status(find_pub("/jobs/j1/update"), "REJECTED");
	ck_assert_ptr_nonnull(
		strstr(find(AGENT_ACT_JOB_DONE, 0)->reason,
		       "no supported download protocol (offered: MQTT; agent: HTTP)"));
}
END_TEST

START_TEST(protocol_choice_follows_offer_support_and_preference)
{
	const struct agent_action *a;

	/* MQTT-capable driver, job offers MQTT only: streams */
	boot_with_protocols(AGENT_PROTO_HTTP | AGENT_PROTO_MQTT, false);
	feed_protocols("[\"MQTT\"]", 2100);
	a = find(AGENT_ACT_DOWNLOAD, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert(a->is_mqtt);
	ck_assert(fsm.use_mqtt);
	/* both offered, no preference: HTTP */
	boot_with_protocols(AGENT_PROTO_HTTP | AGENT_PROTO_MQTT, false);
	feed_protocols("[\"MQTT\",\"HTTP\"]", 2100);
	a = find(AGENT_ACT_DOWNLOAD, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert(!a->is_mqtt);
	/* both offered, MQTT preferred: streams */
	boot_with_protocols(AGENT_PROTO_HTTP | AGENT_PROTO_MQTT, true);
	feed_protocols("[\"MQTT\",\"HTTP\"]", 2100);
	ck_assert(find(AGENT_ACT_DOWNLOAD, 0)->is_mqtt);
	/* MQTT-only driver, job offers HTTP only: refused */
	boot_with_protocols(AGENT_PROTO_MQTT, false);
	feed_protocols("[\"HTTP\"]", 2100);
	assert_status(find_pub("/jobs/j1/update"), "REJECTED");
}
END_TEST

START_TEST(stream_download_retry_resumes_over_mqtt)
{
	const struct agent_action *a;

	boot_with_protocols(AGENT_PROTO_MQTT, false);
	feed_protocols("[\"MQTT\"]", 2100);
	ck_assert(find(AGENT_ACT_DOWNLOAD, 0)->is_mqtt);
	{
		struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_PROGRESS,
					  .now_ms = 2500,
					  .bytes = 600 };

		agent_actions_clear(&acts);
		agent_fsm_handle(&fsm, &ev, &acts);
	}
	{
		struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE,
					  .now_ms = 3000,
					  .is_retryable = true };

		agent_actions_clear(&acts);
		agent_fsm_handle(&fsm, &ev, &acts);
	}
	ck_assert_int_eq(fsm.state, AGENT_DOWNLOADING);
	feed(AGENT_EV_TICK, 3000 + opt.download_backoff_ms, true);
	a = find(AGENT_ACT_DOWNLOAD, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert(a->is_mqtt);
	ck_assert_int_eq(a->offset, 600);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_fsm");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, connect_queries_next_job_and_reports_firmware);
	tcase_add_test(tc, full_update_succeeds_after_self_test_and_confirmation_delay);
	tcase_add_test(tc, boot_on_old_slot_reports_failed);
	tcase_add_test(tc, self_test_failure_rolls_back_then_reports_failed);
	tcase_add_loop_test(tc, checks_decide_per_table, 0,
			    (int)(sizeof(check_cases) / sizeof(check_cases[0])));
	tcase_add_test(tc, refusal_of_in_progress_job_is_failed_not_rejected);
	tcase_add_test(tc, non_firmware_document_is_rejected);
	tcase_add_test(tc, download_retries_resume_with_backoff_then_fail);
	tcase_add_test(tc, verification_failure_reports_failed);
	tcase_add_test(tc, cancel_while_downloading_stops_the_download);
	tcase_add_test(tc, duplicate_notification_of_current_job_is_ignored);
	tcase_add_test(tc, unanswered_query_is_repeated);
	tcase_add_test(tc, semver_orders_versions);
	tcase_add_test(tc, config_delta_is_merged_and_reported);
	tcase_add_test(tc, health_report_has_counters_and_gauges);
	tcase_add_test(tc, proto_ignores_other_things_and_parses_rejections);
	tcase_add_test(tc, mqtt_only_job_is_rejected_by_an_http_only_driver);
	tcase_add_test(tc, protocol_choice_follows_offer_support_and_preference);
	tcase_add_test(tc, stream_download_retry_resumes_over_mqtt);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
