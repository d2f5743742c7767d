/*
 * Job-level status and counters (spec 3.11): the job status enum, jobProcessDetails counts of
 * things by the status of their latest execution, completion of SNAPSHOT jobs, and which
 * CancelJob / DeleteJob requests a job status allows. PURE: libc + jansson.
 */
#ifndef BW_JOBS_JOB_H
#define BW_JOBS_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/config.h"
#include "jobs/errors.h"
#include "jobs/execution.h"

/* X(enum suffix, wire name) */
#define JOBS_JOB_STATUS_LIST(X)       \
	X(SCHEDULED, "SCHEDULED")     \
	X(IN_PROGRESS, "IN_PROGRESS") \
	X(COMPLETED, "COMPLETED")     \
	X(CANCELED, "CANCELED")       \
	X(DELETION_IN_PROGRESS, "DELETION_IN_PROGRESS")

enum jobs_job_status {
#define X(e, name) JOBS_JOB_##e,
	JOBS_JOB_STATUS_LIST(X)
#undef X
		JOBS_JOB__COUNT
};

/* Wire name; "" when out of range. */
const char *jobs_job_status_name(enum jobs_job_status s);
/* Parse a wire name; false (out untouched) when unknown. */
bool jobs_job_status_parse(const char *name, enum jobs_job_status *out);

/* Things of a job by the status of their latest execution (jobProcessDetails). */
struct jobs_job_counts {
	int64_t by_status[JOBS_EXEC__COUNT];
};

/* Add delta (may be negative) things in status s. */
void jobs_job_counts_add(struct jobs_job_counts *c, enum jobs_exec_status s, int64_t delta);

/* A thing's latest execution moved from `from` to `to` (a retry execution replacing a FAILED
 * one is a move FAILED -> QUEUED). */
void jobs_job_counts_move(struct jobs_job_counts *c, enum jobs_exec_status from,
			  enum jobs_exec_status to);

/* Things whose latest execution is QUEUED or IN_PROGRESS. */
int64_t jobs_job_counts_pending(const struct jobs_job_counts *c);

/* Things whose execution ended by the device's report or by a timeout (SUCCEEDED, FAILED,
 * REJECTED, TIMED_OUT): the "executed things" of abortConfig (spec 3.6; CANCELED and REMOVED
 * are the service's doing and do not count). */
int64_t jobs_job_counts_executed(const struct jobs_job_counts *c);

/* jobProcessDetails object: the eight numberOf*Things counters, plus processingTargets (an
 * array, borrowed, a reference is added) when processing_targets is not NULL. New reference;
 * NULL on OOM. */
json_t *jobs_job_render_process_details(const struct jobs_job_counts *c,
					const json_t *processing_targets);

/* True if a SNAPSHOT job is COMPLETED (spec 3.8, 3.11): every target rolled out
 * (is_rollout_done) and no latest execution pending. CONTINUOUS jobs never complete. */
bool jobs_job_is_complete(enum jobs_target_selection sel, const struct jobs_job_counts *c,
			  bool is_rollout_done);

/* Status of a new job: SCHEDULED when its schedulingConfig.startTime (start_ms, 0 = none) is
 * after now, else IN_PROGRESS (spec 3.11). */
enum jobs_job_status jobs_job_initial_status(int64_t start_ms, int64_t now_ms);

/* CancelJob (spec 3.11): JOBS_OK for SCHEDULED, IN_PROGRESS and CANCELED (cancelling again is a
 * no-op, or with force it cancels what is still IN_PROGRESS); JOBS_ERR_INVALID_STATE_TRANSITION
 * for COMPLETED and DELETION_IN_PROGRESS. */
enum jobs_err jobs_job_check_cancel(enum jobs_job_status s);

/* DeleteJob (spec 3.11): JOBS_OK for COMPLETED and CANCELED, and for any other status with
 * force, except DELETION_IN_PROGRESS, which is always JOBS_ERR_INVALID_STATE_TRANSITION. */
enum jobs_err jobs_job_check_delete(enum jobs_job_status s, bool force);

#endif
