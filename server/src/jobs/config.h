/*
 * CreateJob / CreateJobTemplate / UpdateJob settings (spec 3.4-3.11, 5.1): their C form,
 * validation of the AWS request JSON, rendering back to AWS JSON (DescribeJob, and the stored
 * jsonb form), and template defaults. PURE: libc + jansson; now_ms is a parameter.
 *
 * Validation errors name the field as a JSON pointer ("/abortConfig/criteriaList/0/action: ...")
 * and map to InvalidRequestException. Unknown fields are ignored (spec 1.4); fields of features
 * this server does not offer (namespaceId, documentParameters, destinationPackageVersions) are
 * rejected so that a client never believes they took effect; tags are accepted and ignored.
 */
#ifndef BW_JOBS_CONFIG_H
#define BW_JOBS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/strutil.h"
#include "jobs/cron.h"
#include "jobs/errors.h"

#define JOBS_DESCRIPTION_MAX 2028	/* characters: description, comment (spec 1.1) */
#define JOBS_TARGETS_MAX 1000		/* our bound on targets[] per request */
#define JOBS_ABORT_CRITERIA_MAX 4	/* one per failure type */
#define JOBS_RETRY_CRITERIA_MAX 2	/* spec 3.5 */
#define JOBS_RETRY_MAX 10		/* numberOfRetries, and retries per thing in total */
#define JOBS_RATE_MAX 1000		/* executions per minute (spec 3.7) */
#define JOBS_MAINTENANCE_WINDOWS_MAX 16 /* our bound */
#define JOBS_WINDOW_MAX_MINUTES 1430
#define JOBS_PRESIGN_DEFAULT_SEC 3600
#define JOBS_PRESIGN_MIN_SEC 60
#define JOBS_PRESIGN_MAX_SEC 3600

/* X(enum suffix, wire name) */
#define JOBS_FAILURE_TYPE_LIST(X) \
	X(FAILED, "FAILED") X(REJECTED, "REJECTED") X(TIMED_OUT, "TIMED_OUT") X(ALL, "ALL")
#define JOBS_TARGET_SELECTION_LIST(X) X(SNAPSHOT, "SNAPSHOT") X(CONTINUOUS, "CONTINUOUS")
#define JOBS_END_BEHAVIOR_LIST(X) \
	X(STOP_ROLLOUT, "STOP_ROLLOUT") X(CANCEL, "CANCEL") X(FORCE_CANCEL, "FORCE_CANCEL")

enum jobs_failure_type {
#define X(e, name) JOBS_FAILURE_##e,
	JOBS_FAILURE_TYPE_LIST(X)
#undef X
};

enum jobs_target_selection {
#define X(e, name) JOBS_TARGET_##e,
	JOBS_TARGET_SELECTION_LIST(X)
#undef X
};

enum jobs_end_behavior {
#define X(e, name) JOBS_END_##e,
	JOBS_END_BEHAVIOR_LIST(X)
#undef X
};

const char *jobs_failure_type_name(enum jobs_failure_type t);
bool jobs_failure_type_parse(const char *name, enum jobs_failure_type *out);
const char *jobs_target_selection_name(enum jobs_target_selection t);
bool jobs_target_selection_parse(const char *name, enum jobs_target_selection *out);
const char *jobs_end_behavior_name(enum jobs_end_behavior b);
bool jobs_end_behavior_parse(const char *name, enum jobs_end_behavior *out);

/* jobExecutionsRolloutConfig (spec 3.7). Unset = release everything at once. */
struct jobs_rollout_config {
	bool is_set;
	bool is_exponential;
	int maximum_per_minute;	       /* constant rate 1..1000 (when !is_exponential) */
	int base_rate_per_minute;      /* exponentialRate: 1..1000 */
	int increment_factor_tenths;   /* 11..50 = incrementFactor 1.1..5.0 */
	int64_t notified_things_step;  /* rateIncreaseCriteria.numberOfNotifiedThings; 0 = unset */
	int64_t succeeded_things_step; /* rateIncreaseCriteria.numberOfSucceededThings; 0 = unset */
};

/* One abortConfig criterion (spec 3.6); action is always CANCEL. */
struct jobs_abort_criterion {
	enum jobs_failure_type failure_type;
	int threshold_hundredths;    /* thresholdPercentage x 100: 0..10000 */
	int64_t min_executed_things; /* >= 1 */
};

/* abortConfig; count == 0 = unset. Each failure type appears at most once. */
struct jobs_abort_config {
	size_t count;
	struct jobs_abort_criterion criteria[JOBS_ABORT_CRITERIA_MAX];
};

/* timeoutConfig (spec 3.4). */
struct jobs_timeout_config {
	int in_progress_timeout_min; /* 1..10080; 0 = unset */
};

/* One jobExecutionsRetryConfig criterion (spec 3.5): FAILED, TIMED_OUT or ALL. */
struct jobs_retry_criterion {
	enum jobs_failure_type failure_type;
	int number_of_retries; /* 0..10 */
};

/* jobExecutionsRetryConfig; count == 0 = unset. Each failure type appears at most once. */
struct jobs_retry_config {
	size_t count;
	struct jobs_retry_criterion criteria[JOBS_RETRY_CRITERIA_MAX];
};

struct jobs_maintenance_window {
	char start[JOBS_CRON_MAX_LEN + 1]; /* the cron(...) text, as given */
	struct jobs_cron cron;
	int duration_min; /* 1..1430 */
};

/* schedulingConfig (spec 3.9); for templates only the maintenance windows are used. */
struct jobs_scheduling_config {
	int64_t start_ms; /* 0 = no startTime */
	int64_t end_ms;	  /* 0 = no endTime */
	bool has_end_behavior;
	enum jobs_end_behavior end_behavior; /* STOP_ROLLOUT unless given */
	size_t window_count;
	struct jobs_maintenance_window windows[JOBS_MAINTENANCE_WINDOWS_MAX];
};

/* presignedUrlConfig (spec 3.10). */
struct jobs_presigned_config {
	bool is_set;
	int expires_in_sec; /* 60..3600, 3600 by default */
	char *role_arn;	    /* owned; NULL = absent (accepted, unused) */
};

enum jobs_target_type { JOBS_TARGET_THING, JOBS_TARGET_THING_GROUP };

/* One entry of targets[]: an ARN of a thing or thing group (spec 3.8). */
struct jobs_target {
	enum jobs_target_type type;
	char name[STRUTIL_THING_NAME_MAX + 1];
	char *arn; /* owned: the ARN as the client sent it (DescribeJob returns it) */
};

/* What a CreateJob / CreateJobTemplate / UpdateJob request (or the stored form) says.
 * Caller storage: jobs_config_spec_init() / jobs_config_spec_cleanup(). */
struct jobs_spec {
	char *description;	/* owned; NULL = absent */
	char *document;		/* owned JSON text (validated object); NULL = absent */
	char *document_source;	/* owned URL; NULL = absent */
	char *job_template_arn; /* CreateJob: owned; NULL = absent */
	char job_template_id[STRUTIL_JOB_ID_MAX + 1]; /* from job_template_arn */
	char *job_arn; /* CreateJobTemplate "jobArn": owned; NULL = absent */
	char source_job_id[STRUTIL_JOB_ID_MAX + 1]; /* from job_arn */
	struct jobs_target *targets;		    /* owned array */
	size_t target_count;
	bool has_target_selection;
	enum jobs_target_selection target_selection; /* SNAPSHOT unless given */
	struct jobs_presigned_config presigned_url;
	struct jobs_rollout_config rollout;
	struct jobs_abort_config abort_cfg;
	struct jobs_timeout_config timeout;
	struct jobs_retry_config retry;
	bool has_scheduling; /* CreateJob: schedulingConfig given; templates: maintenanceWindows */
	struct jobs_scheduling_config scheduling;
};

enum jobs_config_mode {
	/* PUT /jobs/{jobId}: targets required; exactly one of document and documentSource
	 * unless jobTemplateArn; schedule times checked against now (spec 3.9). */
	JOBS_CONFIG_CREATE_JOB,
	/* PUT /job-templates/{id}: description required; exactly one of document,
	 * documentSource and jobArn; top-level maintenanceWindows; no targets or schedule. */
	JOBS_CONFIG_CREATE_TEMPLATE,
	/* PATCH /jobs/{jobId}: only description, presignedUrlConfig, jobExecutionsRolloutConfig,
	 * abortConfig, timeoutConfig, jobExecutionsRetryConfig are read. */
	JOBS_CONFIG_UPDATE_JOB,
	/* The stored form of a job written by jobs_config_render(): every field optional,
	 * schedule times not compared with now. */
	JOBS_CONFIG_STORED,
	/* The stored form of a job template (top-level maintenanceWindows, jobArn): every field
	 * optional. */
	JOBS_CONFIG_STORED_TEMPLATE,
};

void jobs_config_spec_init(struct jobs_spec *s);
/* Free what s owns and re-initialise it; NULL is allowed. */
void jobs_config_spec_cleanup(struct jobs_spec *s);

/*
 * Parse and validate body (a JSON object; NULL is {}) for mode. Returns JOBS_OK,
 * JOBS_ERR_INVALID_REQUEST with "<JSON pointer>: <reason>" in msg, or JOBS_ERR_INTERNAL (OOM).
 * [out] out: initialised by this call; filled on JOBS_OK, cleaned up otherwise.
 */
enum jobs_err jobs_config_parse(const json_t *body, enum jobs_config_mode mode, int64_t now_ms,
				struct jobs_spec *out, char *msg, size_t msg_cap);

/* The single settings, for callers that hold them apart (v: the field's value; ptr: its JSON
 * pointer, used in messages). Same returns as jobs_config_parse(); out is reset first. */
enum jobs_err jobs_config_parse_rollout(const json_t *v, const char *ptr,
					struct jobs_rollout_config *out, char *msg, size_t msg_cap);
enum jobs_err jobs_config_parse_abort(const json_t *v, const char *ptr,
				      struct jobs_abort_config *out, char *msg, size_t msg_cap);
enum jobs_err jobs_config_parse_timeout(const json_t *v, const char *ptr,
					struct jobs_timeout_config *out, char *msg, size_t msg_cap);
enum jobs_err jobs_config_parse_retry(const json_t *v, const char *ptr,
				      struct jobs_retry_config *out, char *msg, size_t msg_cap);
/* check_times: apply the "at least 30 minutes / at most 1 and 2 years ahead" rules. */
enum jobs_err jobs_config_parse_scheduling(const json_t *v, const char *ptr, bool check_times,
					   int64_t now_ms, struct jobs_scheduling_config *out,
					   char *msg, size_t msg_cap);
/* Windows array alone (templates' top-level maintenanceWindows). */
enum jobs_err jobs_config_parse_windows(const json_t *v, const char *ptr,
					struct jobs_scheduling_config *out, char *msg,
					size_t msg_cap);

/*
 * Parse a target ARN (spec 1.2): "arn:<partition>:iot:<region>:<account>:thing/<name>" or
 * ".../thinggroup/<name>". Partition, service, region and account are not compared with ours
 * (lenient, spec 1.2). The resource is what follows the fifth ':' (thing names may contain
 * ':'). False if malformed or the name is invalid.
 */
bool jobs_config_parse_target_arn(const char *arn, enum jobs_target_type *type, char *name,
				  size_t name_cap);

/* Resource id of "arn:...:<kind>/<id>" with a job id syntax (kind "jobtemplate" or "job"):
 * false if arn does not have that shape. */
bool jobs_config_parse_id_arn(const char *arn, const char *kind, char *id, size_t id_cap);

/*
 * AWS JSON of the settings in s, as DescribeJob / DescribeJobTemplate show them and as the
 * store keeps them: description, targets (as sent), targetSelection, documentSource,
 * jobTemplateArn, jobArn, presignedUrlConfig, jobExecutionsRolloutConfig, abortConfig,
 * timeoutConfig, jobExecutionsRetryConfig, and schedulingConfig (jobs) or maintenanceWindows
 * (templates: mode JOBS_CONFIG_CREATE_TEMPLATE or JOBS_CONFIG_STORED_TEMPLATE). Unset settings
 * and an empty targets list are omitted; the document text is not included (the store keeps
 * it apart). Parsing the result in mode JOBS_CONFIG_STORED (jobs) or
 * JOBS_CONFIG_STORED_TEMPLATE gives back the same settings. New reference; NULL on OOM.
 */
json_t *jobs_config_render(const struct jobs_spec *s, enum jobs_config_mode mode);

/* Each setting alone (new reference, NULL on OOM). */
json_t *jobs_config_render_rollout(const struct jobs_rollout_config *c);
json_t *jobs_config_render_abort(const struct jobs_abort_config *c);
json_t *jobs_config_render_timeout(const struct jobs_timeout_config *c);
json_t *jobs_config_render_retry(const struct jobs_retry_config *c);
json_t *jobs_config_render_scheduling(const struct jobs_scheduling_config *c);

/*
 * CreateJob with jobTemplateArn (spec 3.10): copy into job every setting it leaves unset from
 * tmpl: document or documentSource (when job has neither), presignedUrlConfig, rollout, abort,
 * timeout, retry, and the maintenance windows (when job has none). Request fields win. The
 * description is not inherited. Returns JOBS_OK, JOBS_ERR_INVALID_REQUEST if the job still has
 * no document, or JOBS_ERR_INTERNAL (OOM; job then unchanged in the failing field).
 */
enum jobs_err jobs_config_merge_template(struct jobs_spec *job, const struct jobs_spec *tmpl,
					 char *msg, size_t msg_cap);

#endif
