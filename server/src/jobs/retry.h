/*
 * jobExecutionsRetryConfig (spec 3.5): whether an ended execution gets a retry, and the new
 * execution that carries it. PURE: libc + jansson.
 */
#ifndef BW_JOBS_RETRY_H
#define BW_JOBS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "jobs/config.h"
#include "jobs/errors.h"
#include "jobs/execution.h"

/*
 * True if `ended` (the thing's latest execution, just terminal) is to be retried: its status is
 * FAILED or TIMED_OUT (REJECTED, SUCCEEDED, CANCELED and REMOVED never are), the criterion for
 * that failure type (an exact one before ALL) allows more retries than already made for its
 * scope (exact type: retries after that type; ALL: all retries), and fewer than 10 retries were
 * made in total. The caller also stops retrying once the job is canceled or aborted.
 */
bool jobs_retry_decision(const struct jobs_retry_config *cfg, const struct jobs_execution *ended);

/*
 * The retry of `ended` (spec 3.5): same job and thing, executionNumber + 1, QUEUED,
 * versionNumber 1, no statusDetails, queuedAt = lastUpdatedAt = now, the retry count of the
 * failure type + 1, creation order seq. Returns JOBS_OK, or JOBS_ERR_INVALID_REQUEST if ended
 * is not FAILED or TIMED_OUT (out initialised).
 */
enum jobs_err jobs_retry_next_execution(const struct jobs_execution *ended, int64_t seq,
					int64_t now_ms, struct jobs_execution *out);

/* One state that jobs_retry_decision() retries: an ended execution with this status and these
 * retry counts gets a retry carrying `next` (jobs_retry_next_execution()). */
struct jobs_retry_rule {
	enum jobs_exec_status status;	 /* FAILED or TIMED_OUT */
	struct jobs_retry_counts counts; /* retries made so far, each 0..JOBS_RETRY_MAX */
	struct jobs_retry_counts next;	 /* the retry's counts */
};

/* Upper bound of jobs_retry_rules() output: every status x every pair of counts. */
#define JOBS_RETRY_RULES_MAX (JOBS_EXEC__COUNT * (JOBS_RETRY_MAX + 1) * (JOBS_RETRY_MAX + 1))

/*
 * The retry decision for cfg as a finite table, so that a set-based statement can apply the C
 * rule to every ended execution of a job at once (sched/tick.c): every status and every pair
 * of counts in 0..JOBS_RETRY_MAX for which jobs_retry_decision() is true, with the counts the
 * retry carries. Counts outside that range are never retried (the total is capped at
 * JOBS_RETRY_MAX), so an execution is retried exactly when its (status, counts) is listed.
 * Writes at most cap rules to out (cap >= JOBS_RETRY_RULES_MAX never truncates); returns how
 * many. cfg NULL or without criteria: 0.
 */
size_t jobs_retry_rules(const struct jobs_retry_config *cfg, struct jobs_retry_rule *out,
			size_t cap);

#endif
