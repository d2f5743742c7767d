/*
 * The job execution state machine (spec 3.1-3.4, 2.6, 2.8): statuses, device-requested
 * transitions with their AWS error codes, service transitions (cancel, force cancel, time-out,
 * removal), versionNumber / executionNumber rules, statusDetails replacement, the in-progress and
 * step timers, and the idempotence rule for duplicate updates. PURE: libc + jansson; time is a
 * parameter (Unix milliseconds).
 *
 * Every transition function reads a current execution and writes a new one (caller storage);
 * the caller persists the new one with "UPDATE ... WHERE version_number = cur.version_number".
 */
#ifndef BW_JOBS_EXECUTION_H
#define BW_JOBS_EXECUTION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/strutil.h"
#include "jobs/errors.h"

#define JOBS_CLIENT_TOKEN_MAX 64      /* bytes (spec 1.1) */
#define JOBS_STEP_TIMEOUT_MAX 10080   /* minutes (spec 3.4) */
#define JOBS_STEP_TIMEOUT_CANCEL (-1) /* stepTimeoutInMinutes that cancels the step timer */

/* X(enum suffix, wire name, is terminal) — spec 3.1 */
#define JOBS_EXEC_STATUS_LIST(X)             \
	X(QUEUED, "QUEUED", false)           \
	X(IN_PROGRESS, "IN_PROGRESS", false) \
	X(SUCCEEDED, "SUCCEEDED", true)      \
	X(FAILED, "FAILED", true)            \
	X(TIMED_OUT, "TIMED_OUT", true)      \
	X(REJECTED, "REJECTED", true)        \
	X(REMOVED, "REMOVED", true)          \
	X(CANCELED, "CANCELED", true)

enum jobs_exec_status {
#define X(e, name, term) JOBS_EXEC_##e,
	JOBS_EXEC_STATUS_LIST(X)
#undef X
		JOBS_EXEC__COUNT
};

/* Wire name ("IN_PROGRESS"); "" for an out-of-range value. */
const char *jobs_exec_status_name(enum jobs_exec_status s);
/* Parse a wire name (exact, case-sensitive). Returns false (out untouched) if unknown. */
bool jobs_exec_status_parse(const char *name, enum jobs_exec_status *out);
/* True for SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED. */
bool jobs_exec_status_is_terminal(enum jobs_exec_status s);
/* True for the statuses a device may request: IN_PROGRESS, SUCCEEDED, FAILED, REJECTED
 * (QUEUED is parsed but always an InvalidStateTransition; spec 3.2). */
bool jobs_exec_status_is_device_settable(enum jobs_exec_status s);

/* Retries already made for one thing and job, by the failure that caused them (spec 3.5). */
struct jobs_retry_counts {
	int after_failed;
	int after_timed_out;
};

/*
 * One execution of a job on a thing. Caller storage; owns status_details.
 * Times are Unix ms (wire replies print seconds); 0 means "not set".
 */
struct jobs_execution {
	char job_id[STRUTIL_JOB_ID_MAX + 1];
	char thing_name[STRUTIL_THING_NAME_MAX + 1];
	enum jobs_exec_status status;
	json_t *status_details; /* owned; NULL or a non-empty object of string values */
	int64_t queued_at_ms;
	int64_t started_at_ms; /* first entry into IN_PROGRESS; 0 before */
	int64_t last_updated_at_ms;
	int64_t version_number;	  /* 1 at creation, +1 per accepted change (spec 3.3) */
	int64_t execution_number; /* 1 for the first execution of the job on the thing */
	struct jobs_retry_counts retries;
	int64_t in_progress_deadline_ms; /* in-progress timer (timeoutConfig); 0 = not armed */
	int64_t step_deadline_ms;	 /* step timer (stepTimeoutInMinutes); 0 = not armed */
	bool force_canceled;
	int64_t seq; /* creation order (DB id): tie-break of the pending list order */
	/* clientToken of the last applied device update, for duplicate detection; empty when
	 * none or not stored (then duplicates are recognised by content alone). */
	char last_client_token[JOBS_CLIENT_TOKEN_MAX + 1];
};

/* A validated device request that changes an execution: UpdateJobExecution (spec 2.8) or
 * StartNextPendingJobExecution (2.6, which uses only status_details and step timeout).
 * Caller storage; owns status_details. Filled by jobs_requests_parse() or by hand. */
struct jobs_update {
	enum jobs_exec_status status;
	json_t *status_details; /* owned; NULL = absent (keep stored map); {} clears it */
	bool has_expected_version;
	int64_t expected_version;
	bool has_execution_number;
	int64_t execution_number;
	bool has_step_timeout;
	int step_timeout_min; /* 1..10080, or -1 (cancel; UpdateJobExecution only) */
	char client_token[JOBS_CLIENT_TOKEN_MAX + 1]; /* "" when absent */
	bool has_client_token;
};

/* Service-side transitions (spec 3.1, 3.6, 3.8, 3.11). */
enum jobs_service_action {
	JOBS_SERVICE_CANCEL,	   /* CancelJob / CancelJobExecution / abort: QUEUED only */
	JOBS_SERVICE_FORCE_CANCEL, /* force=true: QUEUED or IN_PROGRESS */
	JOBS_SERVICE_TIME_OUT,	   /* an armed timer expired: IN_PROGRESS only */
	JOBS_SERVICE_REMOVE,	   /* thing left the targets of a continuous job: QUEUED or
				      IN_PROGRESS (spec 3.8; IN_PROGRESS is our choice) */
};

/* Optional inputs of CancelJobExecution (spec 5.1). */
struct jobs_service_opts {
	bool has_expected_version;
	int64_t expected_version;
	const json_t *status_details; /* borrowed; NULL = keep stored map */
};

/* Zero e (no details, status QUEUED, numbers 0). */
void jobs_execution_init(struct jobs_execution *e);
/* Release e's details and zero it; NULL is allowed. */
void jobs_execution_cleanup(struct jobs_execution *e);
/* Deep copy src into dst (dst must not hold anything). Returns false on OOM (dst initialised). */
bool jobs_execution_copy(struct jobs_execution *dst, const struct jobs_execution *src);

/*
 * A new QUEUED execution (spec 3.3): versionNumber 1, queuedAt = lastUpdatedAt = now.
 * Returns false if job_id or thing_name is invalid or execution_number < 1 (e initialised).
 */
bool jobs_execution_new_queued(struct jobs_execution *e, const char *job_id, const char *thing_name,
			       int64_t execution_number, int64_t seq, int64_t now_ms);

/* Zero u. */
void jobs_update_init(struct jobs_update *u);
/* Release u's details and zero it; NULL is allowed. */
void jobs_update_cleanup(struct jobs_update *u);

/*
 * The device transition table (spec 3.2): JOBS_OK if a device may move an execution from `from`
 * to `to`; JOBS_ERR_INVALID_REQUEST if `to` is CANCELED, TIMED_OUT or REMOVED (never
 * device-settable); JOBS_ERR_INVALID_STATE_TRANSITION otherwise (terminal `from`, any -> QUEUED,
 * IN_PROGRESS -> REJECTED).
 */
enum jobs_err jobs_execution_check_transition(enum jobs_exec_status from, enum jobs_exec_status to);

/*
 * True if u repeats the update that produced cur, so it gets the same accepted answer without a
 * change (STYLE section 4, idempotence). All of: u->status == cur->status and cur->status is not
 * QUEUED (so the device set it); u's statusDetails absent or equal to cur's; expectedVersion
 * absent or == cur->version_number - 1; and, when cur->last_client_token is non-empty (the
 * store keeps tokens), u carries the same token.
 * A repeated IN_PROGRESS without expectedVersion is NOT a duplicate: it is applied again, as AWS
 * does (version + 1, spec 3.3).
 */
bool jobs_execution_is_duplicate(const struct jobs_execution *cur, const struct jobs_update *u);

/*
 * UpdateJobExecution (spec 2.8 steps 3-6) on cur, the execution the request addresses (the
 * latest one unless u->has_execution_number). in_progress_timeout_min is the job's
 * timeoutConfig.inProgressTimeoutInMinutes (0 = none). Checks in order:
 *   u->has_execution_number and != cur's       -> JOBS_ERR_RESOURCE_NOT_FOUND
 *   jobs_execution_is_duplicate()              -> JOBS_OK, *is_duplicate = true, next = copy
 *   expectedVersion != cur->version_number     -> JOBS_ERR_VERSION_MISMATCH
 *   jobs_execution_check_transition()          -> its error
 * then applies: status; statusDetails replaced when given ({} clears); version + 1;
 * lastUpdatedAt = now; on first entry into IN_PROGRESS startedAt = now and the in-progress timer
 * is armed; a step timeout (IN_PROGRESS only; ignored otherwise) re-arms or (-1) cancels the step
 * timer, never past the in-progress deadline; a terminal status disarms both timers;
 * last_client_token = u's token.
 * [out] next: the new execution on JOBS_OK, else initialised (empty). [out] is_duplicate.
 * JOBS_ERR_INTERNAL on OOM.
 */
enum jobs_err jobs_execution_update(const struct jobs_execution *cur, const struct jobs_update *u,
				    int in_progress_timeout_min, int64_t now_ms,
				    struct jobs_execution *next, bool *is_duplicate);

/*
 * StartNextPendingJobExecution (spec 2.6) on the head of the pending list:
 *   QUEUED -> IN_PROGRESS: startedAt = lastUpdatedAt = now, version + 1, statusDetails replaced
 *     if u gives them, step timer armed if u gives one, in-progress timer armed from the job's
 *     timeout; *is_changed = true.
 *   IN_PROGRESS: returned as is (statusDetails ignored, version unchanged); a step timeout in u
 *     re-arms the step timer (spec 2.6 recommendation), then *is_changed = true (timer only).
 *   anything else: JOBS_ERR_INVALID_STATE_TRANSITION (not a pending execution: a caller bug).
 * u may be NULL (empty request). Step timeout -1 is rejected by the parser for start-next; here
 * it cancels like in an update. [out] next, is_changed. JOBS_ERR_INTERNAL on OOM.
 */
enum jobs_err jobs_execution_start_next(const struct jobs_execution *cur,
					const struct jobs_update *u, int in_progress_timeout_min,
					int64_t now_ms, struct jobs_execution *next,
					bool *is_changed);

/*
 * A service transition (spec 3.1): version + 1, lastUpdatedAt = now, timers disarmed.
 *   CANCEL: QUEUED -> CANCELED.            FORCE_CANCEL: QUEUED|IN_PROGRESS -> CANCELED,
 *   TIME_OUT: IN_PROGRESS with an expired     force_canceled = true.
 *     timer (jobs_execution_is_expired).   REMOVE: QUEUED|IN_PROGRESS -> REMOVED.
 * Other states -> JOBS_ERR_INVALID_STATE_TRANSITION (CancelJobExecution answers 409), a TIME_OUT
 * whose timer has not expired likewise. opts (may be NULL): expectedVersion mismatch ->
 * JOBS_ERR_VERSION_MISMATCH (checked first); statusDetails replace the stored map.
 * [out] next: the new execution on JOBS_OK, else initialised. JOBS_ERR_INTERNAL on OOM.
 */
enum jobs_err jobs_execution_service(const struct jobs_execution *cur,
				     enum jobs_service_action action,
				     const struct jobs_service_opts *opts, int64_t now_ms,
				     struct jobs_execution *next);

/* Earliest armed deadline of a non-terminal execution (ms), or 0 if no timer is armed. */
int64_t jobs_execution_deadline_ms(const struct jobs_execution *e);

/* True if e is IN_PROGRESS and an armed deadline is <= now_ms. */
bool jobs_execution_is_expired(const struct jobs_execution *e, int64_t now_ms);

/* approximateSecondsBeforeTimedOut (spec 3.4): whole seconds until the earliest deadline,
 * rounded up, >= 0; -1 when no timer is armed or e is terminal (then the field is omitted). */
int64_t jobs_execution_seconds_before_timeout(const struct jobs_execution *e, int64_t now_ms);

#endif
