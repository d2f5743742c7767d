/*
 * Unit tests for jobs/config, jobs/document, jobs/cron, jobs/schedule, jobs/rollout,
 * jobs/abort and jobs/job: CreateJob / CreateJobTemplate / UpdateJob validation (spec 3.4-3.10,
 * 5.1, 11), presigned-URL placeholders (3.10), schedules and maintenance windows (3.9), rollout
 * rate math (3.7), abort criteria (3.6) and job status / counters (3.11). All times are fixed.
 * Section numbers refer to spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/abort.h"
#include "jobs/config.h"
#include "jobs/cron.h"
#include "jobs/document.h"
#include "jobs/job.h"
#include "jobs/rollout.h"
#include "jobs/schedule.h"
#include "jobs/text.h"

#define NOW INT64_C(1718020800000) /* 2024-06-10T12:00Z, a Monday */
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define SUN_0609 (NOW - DAY - 12 * HOUR) /* 2024-06-09T00:00Z, a Sunday */

#define ARN_T "arn:aws:iot:us-east-1:123456789012:thing/pump-17"
#define ARN_G "arn:aws:iot:us-east-1:123456789012:thinggroup/pumps"
#define DOC "\"document\":\"{\\\"a\\\":1}\""
#define JOB_HEAD "{\"targets\":[\"" ARN_T "\"]," DOC

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

/* ---- CreateJob / template / update validation --------------------------------------------- */

struct cfg_case {
	enum jobs_config_mode mode;
	const char *body;
	const char *err_ptr; /* NULL = accepted; else the message must start with this */
};

#define CJ JOBS_CONFIG_CREATE_JOB
#define CT JOBS_CONFIG_CREATE_TEMPLATE
#define UJ JOBS_CONFIG_UPDATE_JOB
#define ST JOBS_CONFIG_STORED
#define IST_ JOBS_ERR_INVALID_STATE_TRANSITION

static const struct cfg_case cfg_cases[] = {
	{ CJ, JOB_HEAD "}", NULL },
	{ CJ, "{\"targets\":[\"" ARN_G "\",\"" ARN_T "\"]," DOC "}", NULL },
	{ CJ, "{\"targets\":[\"arn:aws:iot:eu-west-1:999:thing/a:b\"]," DOC "}", NULL },
	{ CJ, "[]", "the body must be a JSON object" },
	{ CJ, "{" DOC "}", "/targets: is required" },
	{ CJ, "{\"targets\":[]," DOC "}", "/targets:" },
	{ CJ, "{\"targets\":\"" ARN_T "\"," DOC "}", "/targets:" },
	{ CJ, "{\"targets\":[\"" ARN_T "\",\"arn:aws:iot:r:1:job/x\"]," DOC "}", "/targets/1:" },
	{ CJ, "{\"targets\":[\"thing/pump\"]," DOC "}", "/targets/0:" },
	{ CJ, "{\"targets\":[\"arn:aws:iot:r:1:thing/bad name\"]," DOC "}", "/targets/0:" },
	/* spec 3.10: exactly one of document and documentSource, unless a template */
	{ CJ, "{\"targets\":[\"" ARN_T "\"]}", "/document:" },
	{ CJ, JOB_HEAD ",\"documentSource\":\"https://x/doc.json\"}", "/document:" },
	{ CJ, "{\"targets\":[\"" ARN_T "\"],\"documentSource\":\"https://x/doc.json\"}", NULL },
	{ CJ, "{\"targets\":[\"" ARN_T "\"],\"document\":\"[1]\"}", "/document: document must be" },
	{ CJ, "{\"targets\":[\"" ARN_T "\"],\"document\":\"{\"}", "/document: document is not" },
	{ CJ, "{\"targets\":[\"" ARN_T "\"],\"document\":{\"a\":1}}",
	  "/document: must be a string" },
	{ CJ, "{\"targets\":[\"" ARN_T "\"],\"document\":\"{\\\"a\\\":1,\\\"a\\\":2}\"}",
	  "/document:" },
	{ CJ,
	  "{\"targets\":[\"" ARN_T "\"],\"jobTemplateArn\":"
	  "\"arn:aws:iot:us-east-1:123456789012:jobtemplate/ota-tmpl\"}",
	  NULL },
	{ CJ, "{\"targets\":[\"" ARN_T "\"],\"jobTemplateArn\":\"arn:aws:iot:r:1:job/x\"}",
	  "/jobTemplateArn:" },
	/* description (spec 1.1) */
	{ CJ, JOB_HEAD ",\"description\":\"pump firmware 1.4\"}", NULL },
	{ CJ, JOB_HEAD ",\"description\":\"\"}", "/description:" },
	{ CJ, JOB_HEAD ",\"description\":\"a\\u0007b\"}", "/description:" },
	{ CJ, JOB_HEAD ",\"description\":7}", "/description: must be a string" },
	{ CJ, JOB_HEAD ",\"targetSelection\":\"CONTINUOUS\"}", NULL },
	{ CJ, JOB_HEAD ",\"targetSelection\":\"continuous\"}", "/targetSelection:" },
	/* features this server does not offer are refused, tags are ignored */
	{ CJ, JOB_HEAD ",\"namespaceId\":\"ns\"}", "namespaceId is not supported" },
	{ CJ, JOB_HEAD ",\"documentParameters\":{}}", "documentParameters is not supported" },
	{ CJ, JOB_HEAD ",\"tags\":[{\"Key\":\"a\",\"Value\":\"b\"}],\"unknown\":1}", NULL },
	/* presignedUrlConfig (spec 3.10) */
	{ CJ, JOB_HEAD ",\"presignedUrlConfig\":{\"expiresInSec\":60}}", NULL },
	{ CJ, JOB_HEAD ",\"presignedUrlConfig\":{\"expiresInSec\":59}}",
	  "/presignedUrlConfig/expiresInSec:" },
	{ CJ, JOB_HEAD ",\"presignedUrlConfig\":{\"expiresInSec\":3601}}",
	  "/presignedUrlConfig/expiresInSec:" },
	{ CJ, JOB_HEAD ",\"presignedUrlConfig\":{\"roleArn\":\"short\"}}",
	  "/presignedUrlConfig/roleArn:" },
	/* jobExecutionsRolloutConfig (spec 3.7) */
	{ CJ, JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":1000}}", NULL },
	{ CJ, JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":0}}",
	  "/jobExecutionsRolloutConfig/maximumPerMinute:" },
	{ CJ, JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":1001}}",
	  "/jobExecutionsRolloutConfig/maximumPerMinute:" },
	{ CJ, JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":2.5}}",
	  "/jobExecutionsRolloutConfig/maximumPerMinute:" },
	{ CJ, JOB_HEAD ",\"jobExecutionsRolloutConfig\":{}}", NULL },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":5,\"exponentialRate\":"
		   "{}}}",
	  "/jobExecutionsRolloutConfig: give either" },
	{ CJ,
	  JOB_HEAD
	  ",\"jobExecutionsRolloutConfig\":{\"exponentialRate\":{\"baseRatePerMinute\":50,"
	  "\"incrementFactor\":2,\"rateIncreaseCriteria\":{\"numberOfNotifiedThings\":1000}}}}",
	  NULL },
	{ CJ,
	  JOB_HEAD
	  ",\"jobExecutionsRolloutConfig\":{\"exponentialRate\":{\"baseRatePerMinute\":50,"
	  "\"incrementFactor\":1.05,\"rateIncreaseCriteria\":{\"numberOfNotifiedThings\":1}}}}",
	  "/jobExecutionsRolloutConfig/exponentialRate/incrementFactor:" },
	{ CJ,
	  JOB_HEAD
	  ",\"jobExecutionsRolloutConfig\":{\"exponentialRate\":{\"baseRatePerMinute\":50,"
	  "\"incrementFactor\":5.1,\"rateIncreaseCriteria\":{\"numberOfNotifiedThings\":1}}}}",
	  "/jobExecutionsRolloutConfig/exponentialRate/incrementFactor:" },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"exponentialRate\":{\"baseRatePerMinute\":50,"
		   "\"incrementFactor\":1.1,\"rateIncreaseCriteria\":{}}}}",
	  "/jobExecutionsRolloutConfig/exponentialRate/rateIncreaseCriteria:" },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRolloutConfig\":{\"exponentialRate\":{\"incrementFactor\":2,"
		   "\"rateIncreaseCriteria\":{\"numberOfSucceededThings\":5}}}}",
	  "/jobExecutionsRolloutConfig/exponentialRate/baseRatePerMinute: is required" },
	/* abortConfig (spec 3.6) */
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\",\"action\":"
		   "\"CANCEL\",\"thresholdPercentage\":25.5,\"minNumberOfExecutedThings\":20}]}}",
	  NULL },
	{ CJ, JOB_HEAD ",\"abortConfig\":{}}", "/abortConfig/criteriaList: is required" },
	{ CJ, JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[]}}", "/abortConfig/criteriaList:" },
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\",\"action\":"
		   "\"STOP\",\"thresholdPercentage\":25,\"minNumberOfExecutedThings\":20}]}}",
	  "/abortConfig/criteriaList/0/action:" },
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\",\"action\":"
		   "\"CANCEL\",\"thresholdPercentage\":25.555,\"minNumberOfExecutedThings\":20}]}}",
	  "/abortConfig/criteriaList/0/thresholdPercentage:" },
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\",\"action\":"
		   "\"CANCEL\",\"thresholdPercentage\":100.01,\"minNumberOfExecutedThings\":20}]}}",
	  "/abortConfig/criteriaList/0/thresholdPercentage:" },
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\",\"action\":"
		   "\"CANCEL\",\"thresholdPercentage\":100,\"minNumberOfExecutedThings\":0}]}}",
	  "/abortConfig/criteriaList/0/minNumberOfExecutedThings:" },
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"LOST\",\"action\":"
		   "\"CANCEL\",\"thresholdPercentage\":1,\"minNumberOfExecutedThings\":1}]}}",
	  "/abortConfig/criteriaList/0/failureType:" },
	{ CJ,
	  JOB_HEAD ",\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"REJECTED\",\"action\":"
		   "\"CANCEL\",\"thresholdPercentage\":1,\"minNumberOfExecutedThings\":1},"
		   "{\"failureType\":\"REJECTED\",\"action\":\"CANCEL\",\"thresholdPercentage\":2,"
		   "\"minNumberOfExecutedThings\":1}]}}",
	  "/abortConfig/criteriaList/1: failureType REJECTED given twice" },
	/* timeoutConfig (spec 3.4) */
	{ CJ, JOB_HEAD ",\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":10080}}", NULL },
	{ CJ, JOB_HEAD ",\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":0}}",
	  "/timeoutConfig/inProgressTimeoutInMinutes:" },
	{ CJ, JOB_HEAD ",\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":10081}}",
	  "/timeoutConfig/inProgressTimeoutInMinutes:" },
	{ CJ, JOB_HEAD ",\"timeoutConfig\":{}}", NULL },
	/* jobExecutionsRetryConfig (spec 3.5) */
	{ CJ,
	  JOB_HEAD
	  ",\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\","
	  "\"numberOfRetries\":3},{\"failureType\":\"TIMED_OUT\",\"numberOfRetries\":2}]}}",
	  NULL },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":"
		   "\"REJECTED\",\"numberOfRetries\":3}]}}",
	  "/jobExecutionsRetryConfig/criteriaList/0/failureType:" },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\","
		   "\"numberOfRetries\":11}]}}",
	  "/jobExecutionsRetryConfig/criteriaList/0/numberOfRetries:" },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\","
		   "\"numberOfRetries\":1},{\"failureType\":\"ALL\",\"numberOfRetries\":1}]}}",
	  "/jobExecutionsRetryConfig/criteriaList/1:" },
	{ CJ,
	  JOB_HEAD ",\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\","
		   "\"numberOfRetries\":1},{\"failureType\":\"FAILED\",\"numberOfRetries\":1},"
		   "{\"failureType\":\"TIMED_OUT\",\"numberOfRetries\":1}]}}",
	  "/jobExecutionsRetryConfig/criteriaList:" },
	/* schedulingConfig (spec 3.9), now = 2024-06-10T12:00Z */
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"2024-06-10T13:00\"}}", NULL },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"2024-06-10T12:29\"}}", NULL },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"2024-06-10T12:28\"}}",
	  "/schedulingConfig/startTime: must be at least 30 minutes ahead" },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"2025-06-12T12:00\"}}",
	  "/schedulingConfig/startTime: must be at most one year ahead" },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"2024-06-10 13:00\"}}", NULL },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"10/06/2024 13:00\"}}",
	  "/schedulingConfig/startTime: must be a UTC time" },
	{ CJ,
	  JOB_HEAD ",\"schedulingConfig\":{\"startTime\":\"2024-06-10T13:00\",\"endTime\":"
		   "\"2024-06-10T13:29\"}}",
	  "/schedulingConfig/endTime: must be at least 30 minutes after startTime" },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"endTime\":\"2026-06-12T12:00\"}}",
	  "/schedulingConfig/endTime: must be at most two years ahead" },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"endTime\":\"2024-06-10T12:10\"}}",
	  "/schedulingConfig/endTime: must be at least 30 minutes ahead" },
	{ CJ, JOB_HEAD ",\"schedulingConfig\":{\"endBehavior\":\"STOP\"}}",
	  "/schedulingConfig/endBehavior:" },
	{ CJ,
	  JOB_HEAD ",\"schedulingConfig\":{\"maintenanceWindows\":[{\"startTime\":"
		   "\"cron(0 2 ? * SUN *)\",\"durationInMinutes\":1430}]}}",
	  NULL },
	{ CJ,
	  JOB_HEAD ",\"schedulingConfig\":{\"maintenanceWindows\":[{\"startTime\":"
		   "\"cron(0 2 ? * SUN *)\",\"durationInMinutes\":1431}]}}",
	  "/schedulingConfig/maintenanceWindows/0/durationInMinutes:" },
	{ CJ,
	  JOB_HEAD ",\"schedulingConfig\":{\"maintenanceWindows\":[{\"startTime\":"
		   "\"cron(0 2 L * ? *)\",\"durationInMinutes\":60}]}}",
	  "/schedulingConfig/maintenanceWindows/0/startTime: cron Day-of-month" },
	/* CreateJobTemplate */
	{ CT, "{\"description\":\"ota\"," DOC "}", NULL },
	{ CT, "{" DOC "}", "/description: is required" },
	{ CT, "{\"description\":\"ota\"}", "/document: give exactly one" },
	{ CT,
	  "{\"description\":\"ota\"," DOC
	  ",\"jobArn\":\"arn:aws:iot:us-east-1:123456789012:job/fw-1\"}",
	  "/document: give exactly one" },
	{ CT,
	  "{\"description\":\"ota\",\"jobArn\":\"arn:aws:iot:us-east-1:123456789012:job/fw-1\"}",
	  NULL },
	{ CT, "{\"description\":\"ota\",\"jobArn\":\"fw-1\"}", "/jobArn:" },
	{ CT,
	  "{\"description\":\"ota\"," DOC ",\"maintenanceWindows\":[{\"startTime\":"
	  "\"cron(0 2 ? * SUN *)\",\"durationInMinutes\":60}]}",
	  NULL },
	{ CT,
	  "{\"description\":\"ota\"," DOC ",\"maintenanceWindows\":[{\"startTime\":"
	  "\"0 2 ? * SUN *\",\"durationInMinutes\":60}]}",
	  "/maintenanceWindows/0/startTime:" },
	/* UpdateJob reads only the mutable settings */
	{ UJ, "{\"description\":\"new\",\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":5}}",
	  NULL },
	{ UJ, "{\"targets\":\"ignored\",\"document\":5}", NULL },
	{ UJ, "{\"abortConfig\":{}}", "/abortConfig/criteriaList: is required" },
	/* the stored form never compares times with now */
	{ ST, "{\"schedulingConfig\":{\"startTime\":\"2020-01-01T00:00\"}}", NULL },
};

START_TEST(config_table_spec_3_and_5_1)
{
	const struct cfg_case *c = &cfg_cases[_i];
	json_t *body = J(c->body);
	struct jobs_spec s;
	char msg[256];
	enum jobs_err err;

	err = jobs_config_parse(body, c->mode, NOW, &s, msg, sizeof(msg));
	if (!c->err_ptr) {
		ck_assert_msg(err == JOBS_OK, "%s: %s", c->body, msg);
	} else {
		ck_assert_msg(err == JOBS_ERR_INVALID_REQUEST, "%s: accepted", c->body);
		ck_assert_msg(strncmp(msg, c->err_ptr, strlen(c->err_ptr)) == 0,
			      "%s:\n got  %s\n want %s...", c->body, msg, c->err_ptr);
	}
	jobs_config_spec_cleanup(&s);
	json_decref(body);
}
END_TEST

static const char *const full_job =
	"{\"targets\":[\"" ARN_G "\"],"
	"\"document\":\"{\\\"operation\\\":\\\"flash\\\"}\",\"description\":\"pump firmware 1.4\","
	"\"targetSelection\":\"CONTINUOUS\","
	"\"presignedUrlConfig\":{\"roleArn\":\"arn:aws:iam::123456789012:role/ota-role\","
	"\"expiresInSec\":1800},"
	"\"jobExecutionsRolloutConfig\":{\"exponentialRate\":{\"baseRatePerMinute\":50,"
	"\"incrementFactor\":2.0,\"rateIncreaseCriteria\":{\"numberOfNotifiedThings\":1000}}},"
	"\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\",\"action\":\"CANCEL\","
	"\"thresholdPercentage\":25.5,\"minNumberOfExecutedThings\":20}]},"
	"\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":60},"
	"\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"TIMED_OUT\","
	"\"numberOfRetries\":2}]},"
	"\"schedulingConfig\":{\"startTime\":\"2024-07-01T02:00\",\"endTime\":\"2024-07-08T02:00\","
	"\"endBehavior\":\"STOP_ROLLOUT\",\"maintenanceWindows\":[{\"startTime\":"
	"\"cron(0 2 ? * SUN *)\",\"durationInMinutes\":120}]}}";

START_TEST(config_fields_and_render_round_trip_spec_5_2)
{
	json_t *body = J(full_job), *r1, *r2;
	struct jobs_spec s, again;
	char msg[256];

	ck_assert_int_eq(jobs_config_parse(body, CJ, NOW, &s, msg, sizeof(msg)), JOBS_OK);
	ck_assert_str_eq(s.description, "pump firmware 1.4");
	ck_assert_str_eq(s.document, "{\"operation\":\"flash\"}");
	ck_assert_int_eq(s.target_count, 1);
	ck_assert_int_eq(s.targets[0].type, JOBS_TARGET_THING_GROUP);
	ck_assert_str_eq(s.targets[0].name, "pumps");
	ck_assert_int_eq(s.target_selection, JOBS_TARGET_CONTINUOUS);
	ck_assert_int_eq(s.presigned_url.expires_in_sec, 1800);
	ck_assert(s.rollout.is_exponential);
	ck_assert_int_eq(s.rollout.base_rate_per_minute, 50);
	ck_assert_int_eq(s.rollout.increment_factor_tenths, 20);
	ck_assert_int_eq(s.rollout.notified_things_step, 1000);
	ck_assert_int_eq(s.abort_cfg.count, 1);
	ck_assert_int_eq(s.abort_cfg.criteria[0].threshold_hundredths, 2550);
	ck_assert_int_eq(s.abort_cfg.criteria[0].min_executed_things, 20);
	ck_assert_int_eq(s.timeout.in_progress_timeout_min, 60);
	ck_assert_int_eq(s.retry.count, 1);
	ck_assert_int_eq(s.retry.criteria[0].failure_type, JOBS_FAILURE_TIMED_OUT);
	ck_assert(s.has_scheduling);
	ck_assert_int_eq(s.scheduling.start_ms, INT64_C(1719799200000));
	ck_assert_int_eq(s.scheduling.end_ms, INT64_C(1719799200000) + 7 * DAY);
	ck_assert_int_eq(s.scheduling.window_count, 1);
	ck_assert_int_eq(s.scheduling.windows[0].duration_min, 120);
	/* DescribeJob rendering, then the stored form parses back to the same thing */
	r1 = jobs_config_render(&s, CJ);
	ck_assert_ptr_nonnull(r1);
	{
		json_t *want = J(full_job);

		json_object_del(want, "document");
		ck_assert_msg(json_equal(r1, want), "render differs from the request");
		json_decref(want);
	}
	ck_assert_int_eq(jobs_config_parse(r1, ST, 0, &again, msg, sizeof(msg)), JOBS_OK);
	r2 = jobs_config_render(&again, CJ);
	ck_assert(json_equal(r1, r2));
	json_decref(r1);
	json_decref(r2);
	jobs_config_spec_cleanup(&again);
	jobs_config_spec_cleanup(&s);
	json_decref(body);
}
END_TEST

/* Found by fuzz_jobs_config: the stored form of every mode parses back to the same settings
 * (an update without targets, a template with windows and a jobArn). */
START_TEST(config_stored_form_round_trips_in_every_mode)
{
	static const enum jobs_config_mode modes[] = { CJ, CT, UJ, ST,
						       JOBS_CONFIG_STORED_TEMPLATE };
	json_t *body = J("{\"targets\":[\"" ARN_T "\"],\"description\":\"d\","
			 "\"document\":\"{\\\"u\\\":1}\","
			 "\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":5},"
			 "\"schedulingConfig\":{\"startTime\":\"2024-06-11T00:00\"},"
			 "\"maintenanceWindows\":[{\"startTime\":\"cron(0/5 * ? * MON-FRI *)\","
			 "\"durationInMinutes\":3}]}");

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		bool tmpl = modes[i] == CT || modes[i] == JOBS_CONFIG_STORED_TEMPLATE;
		struct jobs_spec s, again;
		json_t *r1, *r2;
		char msg[256];

		ck_assert_int_eq(jobs_config_parse(body, modes[i], NOW, &s, msg, sizeof(msg)),
				 JOBS_OK);
		r1 = jobs_config_render(&s, modes[i]);
		ck_assert_int_eq(jobs_config_parse(r1, tmpl ? JOBS_CONFIG_STORED_TEMPLATE : ST, 0,
						   &again, msg, sizeof(msg)),
				 JOBS_OK);
		r2 = jobs_config_render(&again, modes[i]);
		ck_assert_msg(json_equal(r1, r2), "mode %d", (int)modes[i]);
		ck_assert_int_eq(json_object_get(r1, "targets") != NULL,
				 modes[i] == CJ || modes[i] == ST);
		ck_assert_int_eq(json_object_get(r1, "maintenanceWindows") != NULL, tmpl);
		json_decref(r1);
		json_decref(r2);
		jobs_config_spec_cleanup(&s);
		jobs_config_spec_cleanup(&again);
	}
	json_decref(body);
}
END_TEST

START_TEST(config_defaults_spec_3_8_and_3_10)
{
	json_t *body = J(JOB_HEAD ",\"presignedUrlConfig\":{}}");
	struct jobs_spec s;

	ck_assert_int_eq(jobs_config_parse(body, CJ, NOW, &s, NULL, 0), JOBS_OK);
	ck_assert_int_eq(s.target_selection, JOBS_TARGET_SNAPSHOT);
	ck_assert(!s.has_target_selection);
	ck_assert_int_eq(s.presigned_url.expires_in_sec, JOBS_PRESIGN_DEFAULT_SEC);
	ck_assert(!s.rollout.is_set);
	ck_assert(!s.has_scheduling);
	assert_json(jobs_config_render(&s, CJ),
		    "{\"targets\":[\"" ARN_T "\"],\"targetSelection\":\"SNAPSHOT\","
		    "\"presignedUrlConfig\":{\"expiresInSec\":3600}}");
	jobs_config_spec_cleanup(&s);
	json_decref(body);
	/* NULL body is {} */
	ck_assert_int_eq(jobs_config_parse(NULL, UJ, NOW, &s, NULL, 0), JOBS_OK);
	jobs_config_spec_cleanup(&s);
	jobs_config_spec_cleanup(NULL);
}
END_TEST

START_TEST(config_document_size_in_characters_spec_1_1)
{
	/* 32768 characters of which many are two-byte: accepted; one more: refused */
	size_t n = JOBS_DOCUMENT_MAX_CHARS - 8; /* {"a":""} */
	char *text = malloc(2 * n + 16);
	char msg[128];

	ck_assert_ptr_nonnull(text);
	strcpy(text, "{\"a\":\"");
	for (size_t i = 0; i < n; i++)
		memcpy(text + 6 + 2 * i, "\xc3\xbc", 2);
	strcpy(text + 6 + 2 * n, "\"}");
	ck_assert_int_eq(jobs_document_parse(text, strlen(text), NULL, msg, sizeof(msg)), JOBS_OK);
	memmove(text + 8, text + 6, strlen(text + 6) + 1);
	memcpy(text + 6, "\xc3\xbc", 2);
	ck_assert_int_eq(jobs_document_parse(text, strlen(text), NULL, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	ck_assert_str_eq(msg, "document is longer than 32768 characters");
	free(text);
	ck_assert_int_eq(jobs_document_parse("{\"a\":\"\xff\"}", 9, NULL, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
}
END_TEST

START_TEST(config_target_and_id_arns_spec_1_2)
{
	enum jobs_target_type t;
	char name[129], id[65];

	ck_assert(jobs_config_parse_target_arn("arn:aws-cn:iot:cn-north-1:000000000000:thing/x:y",
					       &t, name, sizeof(name)));
	ck_assert_int_eq(t, JOBS_TARGET_THING);
	ck_assert_str_eq(name, "x:y");
	ck_assert(jobs_config_parse_target_arn(ARN_G, &t, name, sizeof(name)));
	ck_assert_int_eq(t, JOBS_TARGET_THING_GROUP);
	ck_assert(!jobs_config_parse_target_arn("arn:aws:iot:r:1:thing/", &t, name, sizeof(name)));
	ck_assert(!jobs_config_parse_target_arn("arn:aws:iot:r:thing/x", &t, name, sizeof(name)));
	ck_assert(!jobs_config_parse_target_arn(NULL, &t, name, sizeof(name)));
	ck_assert(jobs_config_parse_id_arn("arn:aws:iot:r:1:jobtemplate/t-1", "jobtemplate", id,
					   sizeof(id)));
	ck_assert_str_eq(id, "t-1");
	ck_assert(!jobs_config_parse_id_arn("arn:aws:iot:r:1:jobtemplate/t:1", "jobtemplate", id,
					    sizeof(id)));
	ck_assert(
		!jobs_config_parse_id_arn("arn:aws:iot:r:1:job/t", "jobtemplate", id, sizeof(id)));
}
END_TEST

START_TEST(config_merge_template_request_wins_spec_3_10)
{
	json_t *tb = J("{\"description\":\"tmpl\",\"document\":\"{\\\"t\\\":1}\","
		       "\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":30},"
		       "\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\","
		       "\"numberOfRetries\":1}]},\"presignedUrlConfig\":{\"expiresInSec\":600},"
		       "\"maintenanceWindows\":[{\"startTime\":\"cron(0 2 ? * SUN *)\","
		       "\"durationInMinutes\":60}]}");
	json_t *jb = J("{\"targets\":[\"" ARN_T "\"],\"jobTemplateArn\":"
		       "\"arn:aws:iot:us-east-1:1:jobtemplate/tmpl\","
		       "\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":5}}");
	struct jobs_spec t, j;
	char msg[256];

	ck_assert_int_eq(jobs_config_parse(tb, CT, NOW, &t, msg, sizeof(msg)), JOBS_OK);
	ck_assert_int_eq(jobs_config_parse(jb, CJ, NOW, &j, msg, sizeof(msg)), JOBS_OK);
	ck_assert_str_eq(j.job_template_id, "tmpl");
	ck_assert_ptr_null(j.document);
	ck_assert_int_eq(jobs_config_merge_template(&j, &t, msg, sizeof(msg)), JOBS_OK);
	ck_assert_str_eq(j.document, "{\"t\":1}");
	ck_assert_int_eq(j.timeout.in_progress_timeout_min, 5); /* request wins */
	ck_assert_int_eq(j.retry.count, 1);
	ck_assert_int_eq(j.presigned_url.expires_in_sec, 600);
	ck_assert_int_eq(j.scheduling.window_count, 1);
	ck_assert(j.has_scheduling);
	ck_assert_ptr_null(j.description);
	assert_json(jobs_config_render(&t, CT),
		    "{\"description\":\"tmpl\",\"presignedUrlConfig\":{\"expiresInSec\":600},"
		    "\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":30},"
		    "\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\","
		    "\"numberOfRetries\":1}]},\"maintenanceWindows\":[{\"startTime\":"
		    "\"cron(0 2 ? * SUN *)\",\"durationInMinutes\":60}]}");
	jobs_config_spec_cleanup(&j);
	jobs_config_spec_cleanup(&t);
	/* a template without a document and a request without one */
	json_decref(tb);
	tb = J("{\"description\":\"tmpl\",\"jobArn\":\"arn:aws:iot:r:1:job/src\"}");
	ck_assert_int_eq(jobs_config_parse(tb, CT, NOW, &t, msg, sizeof(msg)), JOBS_OK);
	ck_assert_str_eq(t.source_job_id, "src");
	ck_assert_int_eq(jobs_config_parse(jb, CJ, NOW, &j, msg, sizeof(msg)), JOBS_OK);
	ck_assert_int_eq(jobs_config_merge_template(&j, &t, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	jobs_config_spec_cleanup(&j);
	jobs_config_spec_cleanup(&t);
	json_decref(tb);
	json_decref(jb);
}
END_TEST

START_TEST(enum_names_round_trip)
{
	enum jobs_failure_type f;
	enum jobs_target_selection t;
	enum jobs_end_behavior b;
	enum jobs_job_status s;

	ck_assert(jobs_failure_type_parse("TIMED_OUT", &f));
	ck_assert_str_eq(jobs_failure_type_name(f), "TIMED_OUT");
	ck_assert(!jobs_failure_type_parse("timed_out", &f));
	ck_assert(jobs_target_selection_parse("SNAPSHOT", &t));
	ck_assert_str_eq(jobs_target_selection_name(t), "SNAPSHOT");
	ck_assert(jobs_end_behavior_parse("FORCE_CANCEL", &b));
	ck_assert_str_eq(jobs_end_behavior_name(b), "FORCE_CANCEL");
	ck_assert(!jobs_end_behavior_parse(NULL, &b));
	for (int i = 0; i < JOBS_JOB__COUNT; i++) {
		ck_assert(jobs_job_status_parse(jobs_job_status_name((enum jobs_job_status)i), &s));
		ck_assert_int_eq(s, i);
	}
	ck_assert_str_eq(jobs_job_status_name(JOBS_JOB_DELETION_IN_PROGRESS),
			 "DELETION_IN_PROGRESS");
	ck_assert(!jobs_job_status_parse("DONE", &s));
}
END_TEST

START_TEST(text_rules_spec_1_1)
{
	size_t n;

	ck_assert(jobs_text_utf8_count("a\xc3\xbc\xe6\xb0\xb4\xf0\x90\x85\x91", 10, &n));
	ck_assert_int_eq(n, 4);
	ck_assert(!jobs_text_utf8_count("\xc0\xaf", 2, &n));	 /* overlong */
	ck_assert(!jobs_text_utf8_count("\xed\xa0\x80", 3, &n)); /* surrogate */
	ck_assert(!jobs_text_utf8_count("\xf4\x90\x80\x80", 4, &n));
	ck_assert(!jobs_text_utf8_count("\xe6\xb0", 2, &n)); /* truncated */
	ck_assert(jobs_text_is_category_c(0x00));
	ck_assert(jobs_text_is_category_c(0x9F));
	ck_assert(jobs_text_is_category_c(0x200B));
	ck_assert(jobs_text_is_category_c(0xFEFF));
	ck_assert(jobs_text_is_category_c(0xE000));
	ck_assert(jobs_text_is_category_c(0x10FFFD));
	ck_assert(jobs_text_is_category_c(0xFFFE));
	ck_assert(jobs_text_is_category_c(0x1FFFF));
	ck_assert(!jobs_text_is_category_c(' '));
	ck_assert(!jobs_text_is_category_c(0xA0));
	ck_assert(!jobs_text_is_category_c(0x1F600));
	ck_assert(jobs_text_is_printable("ab", 2, 1, 2));
	ck_assert(!jobs_text_is_printable("abc", 3, 1, 2));
	ck_assert(!jobs_text_is_printable("", 0, 1, 2));
	ck_assert(!jobs_text_is_printable(NULL, 0, 0, 2));
	ck_assert(jobs_text_is_valid_stream_id("AFR_OTA-1"));
	ck_assert(!jobs_text_is_valid_stream_id("a:b"));
	ck_assert(!jobs_text_is_valid_stream_id(""));
	ck_assert(jobs_text_is_valid_details_key("a:b_c-D9", 8));
	ck_assert(!jobs_text_is_valid_details_key("a.b", 3));
	ck_assert(jobs_text_is_valid_reason_code("FIRMWARE_BAD_2"));
	ck_assert(!jobs_text_is_valid_reason_code("firmware"));
	ck_assert(!jobs_text_is_valid_reason_code(""));
}
END_TEST

/* ---- spec 3.10: placeholders ------------------------------------------------------------- */

static int presign_calls;

static char *presign(const char *url, void *arg)
{
	char *out;

	presign_calls++;
	if (arg && strcmp(url, (const char *)arg) == 0)
		return NULL; /* simulated signer failure */
	if (asprintf(&out, "https://signed.example/%zu?u=%s", strlen(url), url) < 0)
		return NULL;
	return out;
}

START_TEST(placeholders_found_and_resolved_spec_3_10)
{
	json_t *doc = J("{\"afr_ota\":{\"files\":[{\"update_data_url\":"
			"\"${aws:iot:s3-presigned-url:https://s3.amazonaws.com/b/k.bin}\"}]},"
			"\"two\":\"a${aws:iot:s3-presigned-url:x}b${aws:iot:s3-presigned-url:y}c\","
			"\"again\":\"${aws:iot:s3-presigned-url:x}\","
			"\"empty\":\"${aws:iot:s3-presigned-url:}\","
			"\"open\":\"${aws:iot:s3-presigned-url:z\","
			"\"${aws:iot:s3-presigned-url:key}\":1,\"n\":[1,null,true]}");
	json_t *out;

	assert_json(jobs_document_placeholders(doc),
		    "[\"https://s3.amazonaws.com/b/k.bin\",\"x\",\"y\"]");
	presign_calls = 0;
	ck_assert_int_eq(jobs_document_resolve(doc, presign, NULL, &out), JOBS_OK);
	ck_assert_int_eq(presign_calls, 4); /* each occurrence, each delivery */
	assert_json(out, "{\"afr_ota\":{\"files\":[{\"update_data_url\":"
			 "\"https://signed.example/32?u=https://s3.amazonaws.com/b/k.bin\"}]},"
			 "\"two\":\"ahttps://signed.example/1?u=xbhttps://signed.example/1?u=yc\","
			 "\"again\":\"https://signed.example/1?u=x\","
			 "\"empty\":\"${aws:iot:s3-presigned-url:}\","
			 "\"open\":\"${aws:iot:s3-presigned-url:z\","
			 "\"${aws:iot:s3-presigned-url:key}\":1,\"n\":[1,null,true]}");
	/* the stored document is unchanged (control-plane reads return it as is) */
	ck_assert_str_eq(json_string_value(json_object_get(doc, "again")),
			 "${aws:iot:s3-presigned-url:x}");
	ck_assert_int_eq(jobs_document_resolve(doc, presign, "y", &out), JOBS_ERR_INTERNAL);
	ck_assert_ptr_null(out);
	json_decref(doc);
}
END_TEST

START_TEST(placeholders_in_escaped_text_and_none_spec_3_10)
{
	const char *text = "{\"u\":\"${aws:iot:s3-presigned-url:https:\\/\\/h\\/f}\"}";
	json_t *doc, *out;

	ck_assert_int_eq(jobs_document_parse(text, strlen(text), &doc, NULL, 0), JOBS_OK);
	assert_json(jobs_document_placeholders(doc), "[\"https://h/f\"]");
	json_decref(doc);
	doc = J("{\"a\":\"no placeholder\"}");
	ck_assert_int_eq(jobs_document_resolve(doc, presign, NULL, &out), JOBS_OK);
	ck_assert_ptr_eq(out, doc); /* nothing to replace: the same object, one more reference */
	json_decref(out);
	json_decref(doc);
}
END_TEST

/* ---- spec 3.9: cron and time strings ------------------------------------------------------ */

static const char *const cron_ok[] = {
	"cron(0 2 ? * SUN *)",		 "cron(0/15 * * * ? *)",    "cron(0 8-17 ? * MON-FRI *)",
	"cron(30 1 1,15 * ? 2024-2026)", "cron(0 0 ? JAN,JUL 1 *)", "cron(* * ? * * *)",
	"cron(5-50/5 */6 ? * 2-6/2 *)",	 "cron(0 0 31 2 ? *)",	    "cron( 0  2 ? * sun * )",
};

static const char *const cron_bad[] = {
	"0 2 ? * SUN *",
	"cron(0 2 * * SUN *)",
	"cron(0 2 ? * ? *)",
	"cron(0 2 ? * SUN)",
	"cron(0 2 ? * SUN * *)",
	"cron(60 2 ? * SUN *)",
	"cron(0 24 ? * SUN *)",
	"cron(0 0 L * ? *)",
	"cron(0 0 ? * 6#3 *)",
	"cron(0 0 15W * ? *)",
	"cron(0 0 ? * 6L *)",
	"cron(0 0 ? * FRI-MON *)",
	"cron(0 0 1 * ? 1969)",
	"cron(0 0 1 * ? 2200)",
	"cron(0/0 0 1 * ? *)",
	"cron(1,,2 0 1 * ? *)",
	"cron(0 0 0 * ? *)",
	"cron(0 0 1 13 ? *)",
	"cron(0 0 ? * 8 *)",
	"cron(0 0 1 JANUARY ? *)",
	"cron()",
	"cron(0 0 ? * SUN *",
	"",
};

START_TEST(cron_parse_accepts_spec_3_9)
{
	struct jobs_cron c;
	char msg[128];

	ck_assert_msg(jobs_cron_parse(cron_ok[_i], &c, msg, sizeof(msg)), "%s: %s", cron_ok[_i],
		      msg);
}
END_TEST

START_TEST(cron_parse_rejects_spec_3_9)
{
	struct jobs_cron c;
	char msg[128] = "";

	ck_assert_msg(!jobs_cron_parse(cron_bad[_i], &c, msg, sizeof(msg)), "%s accepted",
		      cron_bad[_i]);
	ck_assert(msg[0] != '\0');
	ck_assert_int_eq(c.minutes, 0);
}
END_TEST

START_TEST(cron_matching_next_and_prev)
{
	struct jobs_cron c;
	int64_t sun_2am = SUN_0609 + 2 * HOUR;

	ck_assert(jobs_cron_parse("cron(0 2 ? * SUN *)", &c, NULL, 0));
	ck_assert(jobs_cron_matches(&c, sun_2am));
	ck_assert(jobs_cron_matches(&c, sun_2am + 59999)); /* the whole minute */
	ck_assert(!jobs_cron_matches(&c, sun_2am + MIN));
	ck_assert(!jobs_cron_matches(&c, sun_2am + DAY));
	ck_assert_int_eq(jobs_cron_next(&c, NOW, NOW + 30 * DAY), sun_2am + 7 * DAY);
	ck_assert_int_eq(jobs_cron_next(&c, sun_2am, NOW), sun_2am); /* at or after */
	ck_assert_int_eq(jobs_cron_next(&c, sun_2am + 1, NOW + 30 * DAY), sun_2am + 7 * DAY);
	ck_assert_int_eq(jobs_cron_next(&c, NOW, NOW + DAY), -1); /* none before the limit */
	ck_assert_int_eq(jobs_cron_prev(&c, NOW, NOW - 30 * DAY), sun_2am);
	ck_assert_int_eq(jobs_cron_prev(&c, sun_2am, 0), sun_2am);
	ck_assert_int_eq(jobs_cron_prev(&c, NOW, NOW - HOUR), -1);
	/* day-of-month, month and year fields; leap day */
	ck_assert(jobs_cron_parse("cron(30 1 29 2 ? 2024)", &c, NULL, 0));
	{
		int64_t t;

		ck_assert(jobs_cron_datetime_parse("2024-02-29T01:30", &t));
		ck_assert_int_eq(jobs_cron_next(&c, t - DAY * 40, NOW), t);
		ck_assert_int_eq(jobs_cron_next(&c, t + 1, NOW + 3000 * DAY), -1);
	}
	/* steps */
	ck_assert(jobs_cron_parse("cron(0/20 9-10 ? * MON-FRI *)", &c, NULL, 0));
	ck_assert(jobs_cron_matches(&c, NOW - 3 * HOUR + 40 * MIN)); /* Mon 09:40 */
	ck_assert(!jobs_cron_matches(&c, NOW - 3 * HOUR + 30 * MIN));
	ck_assert(!jobs_cron_matches(&c, SUN_0609 + 9 * HOUR));
	ck_assert_int_eq(jobs_cron_next(&c, NOW, NOW + 7 * DAY), NOW + DAY - 3 * HOUR);
}
END_TEST

START_TEST(datetime_parse_and_format_spec_3_9)
{
	static const struct {
		const char *s;
		bool ok;
		int64_t ms;
	} cases[] = {
		{ "2024-06-10T12:00", true, NOW },
		{ "2024-06-10 12:00", true, NOW },
		{ "2024-06-10T12:00Z", true, NOW },
		{ "2024-06-10T12:00:59Z", true, NOW }, /* seconds dropped */
		{ "2024-02-29T00:00", true, INT64_C(1709164800000) },
		{ "1970-01-01T00:00", true, 0 },
		{ "2023-02-29T00:00", false, 0 },
		{ "2024-04-31T00:00", false, 0 },
		{ "2024-6-10T12:00", false, 0 },
		{ "2024-06-10T24:00", false, 0 },
		{ "2024-06-10T12:60", false, 0 },
		{ "2024-06-10T12:00:60", false, 0 },
		{ "1969-12-31T23:59", false, 0 },
		{ "2024-06-10T12:00+02:00", false, 0 },
		{ "2024-06-10", false, 0 },
	};
	char out[32];
	int64_t ms;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(jobs_cron_datetime_parse(cases[i].s, &ms) == cases[i].ok, "%s",
			      cases[i].s);
		if (cases[i].ok)
			ck_assert_msg(ms == cases[i].ms, "%s", cases[i].s);
	}
	ck_assert(jobs_cron_datetime_format(NOW + 59999, out, sizeof(out)));
	ck_assert_str_eq(out, "2024-06-10T12:00");
	ck_assert(!jobs_cron_datetime_format(NOW, out, 16));
	ck_assert(!jobs_cron_datetime_format(-1, out, sizeof(out)));
}
END_TEST

/* ---- spec 3.9: schedule phases ------------------------------------------------------------ */

static void sched(struct jobs_scheduling_config *c, int64_t start, int64_t end, const char *cron,
		  int dur)
{
	memset(c, 0, sizeof(*c));
	c->start_ms = start;
	c->end_ms = end;
	if (cron) {
		ck_assert(jobs_cron_parse(cron, &c->windows[0].cron, NULL, 0));
		strcpy(c->windows[0].start, cron);
		c->windows[0].duration_min = dur;
		c->window_count = 1;
	}
}

START_TEST(schedule_phases_spec_3_9)
{
	struct jobs_scheduling_config c;
	int64_t next;
	int64_t sun_2am = SUN_0609 + 2 * HOUR;

	ck_assert_int_eq(jobs_schedule_phase(NULL, NOW, &next), JOBS_SCHEDULE_ACTIVE);
	ck_assert_int_eq(next, 0);
	sched(&c, NOW + HOUR, NOW + DAY, NULL, 0);
	ck_assert_int_eq(jobs_schedule_phase(&c, NOW, &next), JOBS_SCHEDULE_BEFORE_START);
	ck_assert_int_eq(next, NOW + HOUR);
	ck_assert_int_eq(jobs_schedule_phase(&c, NOW + HOUR, &next), JOBS_SCHEDULE_ACTIVE);
	ck_assert_int_eq(next, NOW + DAY);
	ck_assert_int_eq(jobs_schedule_phase(&c, NOW + DAY, &next), JOBS_SCHEDULE_ENDED);
	ck_assert_int_eq(next, 0);
	/* Sunday 02:00 for 120 minutes */
	sched(&c, 0, 0, "cron(0 2 ? * SUN *)", 120);
	ck_assert_int_eq(jobs_schedule_phase(&c, sun_2am + 30 * MIN, &next), JOBS_SCHEDULE_ACTIVE);
	ck_assert_int_eq(next, sun_2am + 2 * HOUR);
	ck_assert_int_eq(jobs_schedule_phase(&c, sun_2am + 2 * HOUR, &next),
			 JOBS_SCHEDULE_OUTSIDE_WINDOW);
	ck_assert_int_eq(next, sun_2am + 7 * DAY);
	ck_assert_int_eq(jobs_schedule_phase(&c, sun_2am - 1, &next), JOBS_SCHEDULE_OUTSIDE_WINDOW);
	ck_assert_int_eq(next, sun_2am);
	ck_assert_int_eq(jobs_schedule_phase(&c, sun_2am, &next), JOBS_SCHEDULE_ACTIVE);
	/* the window is cut by endTime */
	sched(&c, 0, sun_2am + HOUR, "cron(0 2 ? * SUN *)", 120);
	ck_assert_int_eq(jobs_schedule_phase(&c, sun_2am + 30 * MIN, &next), JOBS_SCHEDULE_ACTIVE);
	ck_assert_int_eq(next, sun_2am + HOUR);
	/* no window before endTime */
	sched(&c, 0, NOW + DAY, "cron(0 2 ? * SUN *)", 120);
	ck_assert_int_eq(jobs_schedule_phase(&c, NOW, &next), JOBS_SCHEDULE_OUTSIDE_WINDOW);
	ck_assert_int_eq(next, NOW + DAY);
}
END_TEST

START_TEST(schedule_overlapping_windows_merge)
{
	struct jobs_scheduling_config c;
	int64_t end;

	memset(&c, 0, sizeof(c));
	ck_assert(jobs_cron_parse("cron(0 1 * * ? *)", &c.windows[0].cron, NULL, 0));
	c.windows[0].duration_min = 90; /* 01:00-02:30 */
	ck_assert(jobs_cron_parse("cron(0 2 * * ? *)", &c.windows[1].cron, NULL, 0));
	c.windows[1].duration_min = 60; /* 02:00-03:00 */
	ck_assert(jobs_cron_parse("cron(0 3 * * ? *)", &c.windows[2].cron, NULL, 0));
	c.windows[2].duration_min = 15; /* 03:00-03:15, adjacent */
	c.window_count = 3;
	ck_assert(jobs_schedule_in_window(&c, SUN_0609 + HOUR + 30 * MIN, &end));
	ck_assert_int_eq(end, SUN_0609 + 3 * HOUR + 15 * MIN);
	ck_assert(!jobs_schedule_in_window(&c, SUN_0609 + 3 * HOUR + 15 * MIN, &end));
	ck_assert_int_eq(end, 0);
	ck_assert(!jobs_schedule_in_window(&c, SUN_0609 + 59 * MIN, NULL));
	/* an always-open window does not loop forever */
	memset(&c, 0, sizeof(c));
	ck_assert(jobs_cron_parse("cron(* * * * ? *)", &c.windows[0].cron, NULL, 0));
	c.windows[0].duration_min = 1;
	c.window_count = 1;
	ck_assert(jobs_schedule_in_window(&c, NOW, &end));
	ck_assert(end >= NOW + 2 * DAY);
}
END_TEST

START_TEST(schedule_rollouts_listing_spec_3_9)
{
	struct jobs_scheduling_config c;
	json_t *r;

	sched(&c, 0, 0, "cron(0 2 ? * SUN *)", 120);
	r = jobs_schedule_render_rollouts(&c, NOW);
	ck_assert_int_eq(json_array_size(r), JOBS_SCHEDULE_ROLLOUTS_SHOWN);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "startTime")),
			 "2024-06-16T02:00");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 6), "startTime")),
			 "2024-07-28T02:00");
	json_decref(r);
	sched(&c, NOW + 14 * DAY, NOW + 22 * DAY, "cron(0 2 ? * SUN *)", 120);
	assert_json(jobs_schedule_render_rollouts(&c, NOW),
		    "[{\"startTime\":\"2024-06-30T02:00\"}]");
	sched(&c, 0, 0, NULL, 0);
	assert_json(jobs_schedule_render_rollouts(&c, NOW), "[]");
	ck_assert_str_eq(jobs_schedule_phase_name(JOBS_SCHEDULE_OUTSIDE_WINDOW), "outside_window");
}
END_TEST

/* ---- spec 3.7: rollout rate --------------------------------------------------------------- */

static struct jobs_rollout_config constant(int per_min)
{
	struct jobs_rollout_config c = { 0 };

	c.is_set = true;
	c.maximum_per_minute = per_min;
	return c;
}

static struct jobs_rollout_config exponential(int base, int factor10, int64_t notified,
					      int64_t succeeded)
{
	struct jobs_rollout_config c = { 0 };

	c.is_set = c.is_exponential = true;
	c.base_rate_per_minute = base;
	c.increment_factor_tenths = factor10;
	c.notified_things_step = notified;
	c.succeeded_things_step = succeeded;
	return c;
}

START_TEST(rollout_unlimited_without_config_spec_3_7)
{
	struct jobs_rollout_state st;
	struct jobs_rollout_config none = { 0 };

	jobs_rollout_state_init(&st);
	ck_assert_int_eq(jobs_rollout_allowance(NULL, &st, NOW), JOBS_ROLLOUT_UNLIMITED);
	ck_assert_int_eq(jobs_rollout_allowance(&none, &st, NOW), JOBS_ROLLOUT_UNLIMITED);
	jobs_rollout_commit(&none, &st, 100000, NOW);
	ck_assert_int_eq(st.notified_things, 100000);
	ck_assert_int_eq(jobs_rollout_next_release_ms(&none, &st, NOW), NOW);
}
END_TEST

START_TEST(rollout_constant_rate_token_bucket_spec_3_7)
{
	struct jobs_rollout_config c = constant(10);
	struct jobs_rollout_state st;

	jobs_rollout_state_init(&st);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW), 10); /* starts full */
	jobs_rollout_commit(&c, &st, 10, NOW);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW), 0);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 5999), 0);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 6000), 1);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 30000), 5);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 60000), 10);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 600000), 10); /* capped */
	ck_assert_int_eq(jobs_rollout_next_release_ms(&c, &st, NOW), NOW + 6000);
	ck_assert_int_eq(jobs_rollout_next_release_ms(&c, &st, NOW + 7000), NOW + 7000);
	/* partial use keeps the remainder */
	jobs_rollout_commit(&c, &st, 2, NOW + 30000);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 30000), 3);
	ck_assert_int_eq(st.notified_things, 12);
	/* the clock stepping back (new leader) neither refills nor goes negative */
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW), 3);
}
END_TEST

START_TEST(rollout_fractional_rates_lose_nothing_spec_3_7)
{
	struct jobs_rollout_config c = constant(7);
	struct jobs_rollout_state st;
	int64_t released = 0;

	jobs_rollout_state_init(&st);
	jobs_rollout_commit(&c, &st, 7, NOW);
	ck_assert_int_eq(jobs_rollout_next_release_ms(&c, &st, NOW), NOW + 8572);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 8571), 0);
	ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 8572), 1);
	/* releasing at every 100 ms tick for an hour yields exactly 7 per minute */
	for (int64_t t = NOW + 100; t <= NOW + HOUR; t += 100) {
		int64_t a = jobs_rollout_allowance(&c, &st, t);

		jobs_rollout_commit(&c, &st, a, t);
		released += a;
	}
	ck_assert_int_eq(released, 7 * 60);
	c = constant(1);
	jobs_rollout_state_init(&st);
	jobs_rollout_commit(&c, &st, 1, NOW);
	ck_assert_int_eq(jobs_rollout_next_release_ms(&c, &st, NOW), NOW + MIN);
}
END_TEST

START_TEST(rollout_never_exceeds_two_minutes_worth_in_any_minute_spec_3_7)
{
	/* 1000 targets, 100/min, scheduler ticks every 500 ms */
	struct jobs_rollout_config c = constant(100);
	struct jobs_rollout_state st;
	int64_t at[1000], n = 0;

	jobs_rollout_state_init(&st);
	for (int64_t t = NOW; n < 1000; t += 500) {
		int64_t a = jobs_rollout_allowance(&c, &st, t);

		if (a > 1000 - n)
			a = 1000 - n;
		for (int64_t k = 0; k < a; k++)
			at[n++] = t;
		jobs_rollout_commit(&c, &st, a, t);
	}
	/* the first t seconds release at most 100 * (1 + t/60) */
	for (int64_t i = 0; i < n; i++)
		ck_assert(i + 1 <= 100 + (at[i] - NOW) * 100 / MIN);
	/* any 60 s window holds at most 2 x rate, and after the first minute at most rate + 1 */
	for (int64_t i = 0, j = 0; i < n; i++) {
		while (at[j] <= at[i] - MIN)
			j++;
		ck_assert_int_le(i - j + 1, 200);
		if (at[i] >= NOW + 2 * MIN)
			ck_assert_int_le(i - j + 1, 101);
	}
	/* 1000 at 100/min: 100 at once, then 900 over 9 minutes */
	ck_assert_int_eq(at[999], NOW + 9 * MIN);
}
END_TEST

START_TEST(rollout_exponential_rate_spec_3_7_example)
{
	struct jobs_rollout_config c = exponential(50, 20, 1000, 0);

	/* guide example: 50/min until 1000 notified, 100/min until 2000, 200/min until 3000 */
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 0, 0), 50);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 999, 0), 50);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 1000, 0), 100);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 2000, 0), 200);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 3999, 0), 400);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 4000, 0), 800);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 5000, 0), 1000); /* capped */
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, INT64_C(1) << 40, 0), 1000);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 5000, 99999), 1000);
	/* factor 1.5, floored at each step */
	c = exponential(50, 15, 10, 0);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 10, 0), 75);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 20, 0), 112);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 30, 0), 168);
	/* by succeeded things; with both criteria the further one counts */
	c = exponential(10, 20, 0, 10);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 1000, 9), 10);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 1000, 25), 40);
	c = exponential(10, 20, 100, 10);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 300, 10), 80);
	ck_assert_int_eq(jobs_rollout_rate_per_minute(&c, 100, 30), 80);
	/* the bucket follows the rate: after crossing 1000 notified it refills at 100/min */
	{
		struct jobs_rollout_state st;

		c = exponential(50, 20, 1000, 0);
		jobs_rollout_state_init(&st);
		st.notified_things = 950;
		ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW), 50);
		jobs_rollout_commit(&c, &st, 50, NOW);
		ck_assert_int_eq(st.notified_things, 1000);
		ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 30000), 50);
		ck_assert_int_eq(jobs_rollout_allowance(&c, &st, NOW + 60000), 100);
	}
}
END_TEST

/* ---- spec 3.6: abort ---------------------------------------------------------------------- */

struct abort_case {
	const char *name;
	enum jobs_failure_type type;
	int threshold_hundredths;
	int64_t min_executed;
	int64_t succeeded, failed, rejected, timed_out, canceled, removed, queued;
	bool fires;
};

static const struct abort_case abort_cases[] = {
	{ "below minNumberOfExecutedThings", JOBS_FAILURE_FAILED, 2500, 20, 0, 19, 0, 0, 0, 0, 0,
	  false },
	{ "minimum reached at exactly the threshold", JOBS_FAILURE_FAILED, 2500, 20, 15, 5, 0, 0, 0,
	  0, 0, true },
	{ "minimum reached below the threshold", JOBS_FAILURE_FAILED, 2500, 20, 16, 4, 0, 0, 0, 0,
	  0, false },
	{ "two decimals: 25.5% of 200 is 51", JOBS_FAILURE_FAILED, 2550, 1, 149, 51, 0, 0, 0, 0, 0,
	  true },
	{ "two decimals: 50 of 200 is 25%", JOBS_FAILURE_FAILED, 2550, 1, 150, 50, 0, 0, 0, 0, 0,
	  false },
	{ "ALL counts failed, rejected and timed out", JOBS_FAILURE_ALL, 5000, 10, 5, 2, 2, 1, 0, 0,
	  0, true },
	{ "REJECTED counts only rejections", JOBS_FAILURE_REJECTED, 5000, 10, 5, 4, 1, 0, 0, 0, 0,
	  false },
	{ "TIMED_OUT", JOBS_FAILURE_TIMED_OUT, 1000, 10, 9, 0, 0, 1, 0, 0, 0, true },
	{ "canceled and removed are not executed", JOBS_FAILURE_FAILED, 5000, 10, 4, 4, 0, 0, 50,
	  50, 0, false },
	{ "pending executions are not executed", JOBS_FAILURE_FAILED, 1000, 10, 0, 5, 0, 0, 0, 0,
	  500, false },
	{ "threshold 0 needs one failure", JOBS_FAILURE_FAILED, 0, 5, 10, 0, 0, 0, 0, 0, 0, false },
	{ "threshold 0 with one failure", JOBS_FAILURE_FAILED, 0, 5, 10, 1, 0, 0, 0, 0, 0, true },
	{ "threshold 100 needs every thing failed", JOBS_FAILURE_ALL, 10000, 1, 1, 9, 0, 0, 0, 0, 0,
	  false },
	{ "threshold 100, all failed", JOBS_FAILURE_ALL, 10000, 1, 0, 3, 3, 4, 0, 0, 0, true },
};

START_TEST(abort_criteria_spec_3_6)
{
	const struct abort_case *c = &abort_cases[_i];
	struct jobs_abort_config cfg = { 0 };
	struct jobs_job_counts n = { { 0 } };
	struct jobs_abort_reason why;

	cfg.count = 1;
	cfg.criteria[0].failure_type = c->type;
	cfg.criteria[0].threshold_hundredths = c->threshold_hundredths;
	cfg.criteria[0].min_executed_things = c->min_executed;
	n.by_status[JOBS_EXEC_SUCCEEDED] = c->succeeded;
	n.by_status[JOBS_EXEC_FAILED] = c->failed;
	n.by_status[JOBS_EXEC_REJECTED] = c->rejected;
	n.by_status[JOBS_EXEC_TIMED_OUT] = c->timed_out;
	n.by_status[JOBS_EXEC_CANCELED] = c->canceled;
	n.by_status[JOBS_EXEC_REMOVED] = c->removed;
	n.by_status[JOBS_EXEC_QUEUED] = c->queued;
	ck_assert_msg(jobs_abort_check(&cfg, &n, &why) == c->fires, "%s", c->name);
	if (c->fires)
		ck_assert_int_eq(why.executed,
				 c->succeeded + c->failed + c->rejected + c->timed_out);
}
END_TEST

START_TEST(abort_reports_first_criterion_that_fires)
{
	struct jobs_abort_config cfg = {
		2, { { JOBS_FAILURE_REJECTED, 5000, 1 }, { JOBS_FAILURE_FAILED, 1000, 10 } }
	};
	struct jobs_job_counts n = { { 0 } };
	struct jobs_abort_reason why;

	n.by_status[JOBS_EXEC_SUCCEEDED] = 8;
	n.by_status[JOBS_EXEC_FAILED] = 2;
	ck_assert(jobs_abort_check(&cfg, &n, &why));
	ck_assert_int_eq(why.failure_type, JOBS_FAILURE_FAILED);
	ck_assert_int_eq(why.failures, 2);
	ck_assert_int_eq(why.executed, 10);
	assert_json(jobs_abort_reason_json(&why),
		    "{\"failureType\":\"FAILED\",\"thresholdPercentage\":10.0,"
		    "\"minNumberOfExecutedThings\":10,\"failures\":2,\"executed\":10}");
	ck_assert(!jobs_abort_check(NULL, &n, NULL));
	cfg.count = 0;
	ck_assert(!jobs_abort_check(&cfg, &n, NULL));
}
END_TEST

/* ---- spec 3.11: job status and counters -------------------------------------------------- */

START_TEST(job_counters_and_completion_spec_3_11)
{
	struct jobs_job_counts c = { { 0 } };
	json_t *targets = J("[\"" ARN_G "\"]");

	jobs_job_counts_add(&c, JOBS_EXEC_QUEUED, 3);
	jobs_job_counts_move(&c, JOBS_EXEC_QUEUED, JOBS_EXEC_IN_PROGRESS);
	jobs_job_counts_move(&c, JOBS_EXEC_IN_PROGRESS, JOBS_EXEC_FAILED);
	jobs_job_counts_move(&c, JOBS_EXEC_FAILED, JOBS_EXEC_QUEUED); /* retry */
	jobs_job_counts_move(&c, JOBS_EXEC_QUEUED, JOBS_EXEC_SUCCEEDED);
	jobs_job_counts_move(&c, JOBS_EXEC_QUEUED, JOBS_EXEC_CANCELED);
	ck_assert_int_eq(jobs_job_counts_pending(&c), 1);
	ck_assert_int_eq(jobs_job_counts_executed(&c), 1);
	assert_json(jobs_job_render_process_details(&c, targets),
		    "{\"numberOfCanceledThings\":1,\"numberOfSucceededThings\":1,"
		    "\"numberOfFailedThings\":0,\"numberOfRejectedThings\":0,"
		    "\"numberOfQueuedThings\":1,\"numberOfInProgressThings\":0,"
		    "\"numberOfRemovedThings\":0,\"numberOfTimedOutThings\":0,"
		    "\"processingTargets\":[\"" ARN_G "\"]}");
	ck_assert(!jobs_job_is_complete(JOBS_TARGET_SNAPSHOT, &c, true));
	jobs_job_counts_move(&c, JOBS_EXEC_QUEUED, JOBS_EXEC_REJECTED);
	ck_assert(!jobs_job_is_complete(JOBS_TARGET_SNAPSHOT, &c, false)); /* still rolling out */
	ck_assert(jobs_job_is_complete(JOBS_TARGET_SNAPSHOT, &c, true));
	ck_assert(!jobs_job_is_complete(JOBS_TARGET_CONTINUOUS, &c, true));
	ck_assert_int_eq(jobs_job_initial_status(NOW + 1, NOW), JOBS_JOB_SCHEDULED);
	ck_assert_int_eq(jobs_job_initial_status(NOW, NOW), JOBS_JOB_IN_PROGRESS);
	ck_assert_int_eq(jobs_job_initial_status(0, NOW), JOBS_JOB_IN_PROGRESS);
	json_decref(targets);
}
END_TEST

START_TEST(job_cancel_and_delete_rules_spec_3_11)
{
	static const struct {
		enum jobs_job_status s;
		enum jobs_err cancel, del, del_force;
	} t[] = {
		{ JOBS_JOB_SCHEDULED, JOBS_OK, IST_, JOBS_OK },
		{ JOBS_JOB_IN_PROGRESS, JOBS_OK, IST_, JOBS_OK },
		{ JOBS_JOB_COMPLETED, IST_, JOBS_OK, JOBS_OK },
		{ JOBS_JOB_CANCELED, JOBS_OK, JOBS_OK, JOBS_OK },
		{ JOBS_JOB_DELETION_IN_PROGRESS, IST_, IST_, IST_ },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(jobs_job_check_cancel(t[i].s), t[i].cancel);
		ck_assert_int_eq(jobs_job_check_delete(t[i].s, false), t[i].del);
		ck_assert_int_eq(jobs_job_check_delete(t[i].s, true), t[i].del_force);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_config");
	TCase *cfg = tcase_create("config");
	TCase *doc = tcase_create("document");
	TCase *sch = tcase_create("schedule");
	TCase *rate = tcase_create("rollout");
	TCase *job = tcase_create("abort_and_status");

	tcase_add_loop_test(cfg, config_table_spec_3_and_5_1, 0,
			    (int)(sizeof(cfg_cases) / sizeof(cfg_cases[0])));
	tcase_add_test(cfg, config_fields_and_render_round_trip_spec_5_2);
	tcase_add_test(cfg, config_defaults_spec_3_8_and_3_10);
	tcase_add_test(cfg, config_stored_form_round_trips_in_every_mode);
	tcase_add_test(cfg, config_target_and_id_arns_spec_1_2);
	tcase_add_test(cfg, config_merge_template_request_wins_spec_3_10);
	tcase_add_test(cfg, enum_names_round_trip);
	tcase_add_test(cfg, text_rules_spec_1_1);
	suite_add_tcase(s, cfg);

	tcase_add_test(doc, config_document_size_in_characters_spec_1_1);
	tcase_add_test(doc, placeholders_found_and_resolved_spec_3_10);
	tcase_add_test(doc, placeholders_in_escaped_text_and_none_spec_3_10);
	suite_add_tcase(s, doc);

	tcase_add_loop_test(sch, cron_parse_accepts_spec_3_9, 0,
			    (int)(sizeof(cron_ok) / sizeof(cron_ok[0])));
	tcase_add_loop_test(sch, cron_parse_rejects_spec_3_9, 0,
			    (int)(sizeof(cron_bad) / sizeof(cron_bad[0])));
	tcase_add_test(sch, cron_matching_next_and_prev);
	tcase_add_test(sch, datetime_parse_and_format_spec_3_9);
	tcase_add_test(sch, schedule_phases_spec_3_9);
	tcase_add_test(sch, schedule_overlapping_windows_merge);
	tcase_add_test(sch, schedule_rollouts_listing_spec_3_9);
	suite_add_tcase(s, sch);

	tcase_add_test(rate, rollout_unlimited_without_config_spec_3_7);
	tcase_add_test(rate, rollout_constant_rate_token_bucket_spec_3_7);
	tcase_add_test(rate, rollout_fractional_rates_lose_nothing_spec_3_7);
	tcase_add_test(rate, rollout_never_exceeds_two_minutes_worth_in_any_minute_spec_3_7);
	tcase_add_test(rate, rollout_exponential_rate_spec_3_7_example);
	suite_add_tcase(s, rate);

	tcase_add_loop_test(job, abort_criteria_spec_3_6, 0,
			    (int)(sizeof(abort_cases) / sizeof(abort_cases[0])));
	tcase_add_test(job, abort_reports_first_criterion_that_fires);
	tcase_add_test(job, job_counters_and_completion_spec_3_11);
	tcase_add_test(job, job_cancel_and_delete_rules_spec_3_11);
	suite_add_tcase(s, job);
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
