/*
 * abortConfig evaluation (spec 3.6). PURE: libc + jansson.
 *
 * executed = things whose latest execution is SUCCEEDED, FAILED, REJECTED or TIMED_OUT
 * (jobs_job_counts_executed); failures = those in the criterion's failure type (ALL = FAILED +
 * REJECTED + TIMED_OUT). A criterion fires when executed >= minNumberOfExecutedThings,
 * failures >= 1, and 100 * failures / executed >= thresholdPercentage, computed exactly in
 * integers. Counting by the latest execution means a failure that is being retried does not
 * count until its retries are used up.
 */
#ifndef BW_JOBS_ABORT_H
#define BW_JOBS_ABORT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/config.h"
#include "jobs/job.h"

/* Why a job was aborted: the inputs of the criterion that fired (for the decision log). */
struct jobs_abort_reason {
	enum jobs_failure_type failure_type;
	int threshold_hundredths;
	int64_t min_executed_things;
	int64_t failures;
	int64_t executed;
};

/*
 * True if some criterion of cfg fires for counts c (the first in list order is reported in why,
 * which may be NULL). False when cfg has no criteria. On true, the caller cancels the job: job
 * CANCELED, QUEUED executions CANCELED, IN_PROGRESS left alone, no more rollout or retries.
 */
bool jobs_abort_check(const struct jobs_abort_config *cfg, const struct jobs_job_counts *c,
		      struct jobs_abort_reason *why);

/* {"failureType","thresholdPercentage","minNumberOfExecutedThings","failures","executed"}
 * for audit and decision rows. New reference; NULL on OOM. */
json_t *jobs_abort_reason_json(const struct jobs_abort_reason *why);

#endif
