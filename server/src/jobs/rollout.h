/*
 * jobExecutionsRolloutConfig arithmetic (spec 3.7): how many executions the scheduler may
 * release now. PURE: libc only; time is a parameter (Unix ms).
 *
 * Model: a token bucket per job. It holds at most one minute's worth of releases at the current
 * rate, starts full (a new job releases `rate` executions at once), and refills continuously at
 * `rate` per minute. Tokens are kept in exact integer units of 1/60000 token so that no release
 * is lost to rounding. Consequence: at most rate * (1 + t / 60 s) releases in any first t
 * seconds, and at most 2 * rate in any 60-second window.
 * Exponential rate: base * factor^k with k = floor(count / step) for the notified (released)
 * and succeeded counts; when both criteria are set the larger k applies; capped at 1000/min.
 */
#ifndef BW_JOBS_ROLLOUT_H
#define BW_JOBS_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "jobs/config.h"

/* Allowance when there is no rollout config: release everything at once. */
#define JOBS_ROLLOUT_UNLIMITED INT64_MAX

/* Persistent per-job rollout state (the store keeps these four numbers). */
struct jobs_rollout_state {
	bool is_started;	  /* false: the bucket is full at the first use */
	int64_t bucket_units;	  /* tokens x 60000 */
	int64_t bucket_at_ms;	  /* when bucket_units was last brought up to date */
	int64_t notified_things;  /* executions released so far (rateIncreaseCriteria) */
	int64_t succeeded_things; /* things whose execution SUCCEEDED so far */
};

/* Zero st (not started). */
void jobs_rollout_state_init(struct jobs_rollout_state *st);

/* Current rate in executions per minute for the given counts (1..1000); JOBS_ROLLOUT_UNLIMITED
 * without a config. */
int64_t jobs_rollout_rate_per_minute(const struct jobs_rollout_config *cfg, int64_t notified,
				     int64_t succeeded);

/* How many executions may be released at now_ms (>= 0); JOBS_ROLLOUT_UNLIMITED without a
 * config (cfg NULL or unset). Does not change st. */
int64_t jobs_rollout_allowance(const struct jobs_rollout_config *cfg,
			       const struct jobs_rollout_state *st, int64_t now_ms);

/* Record that `released` executions (<= the allowance) were created at now_ms: refills the
 * bucket up to now, takes the tokens, adds to notified_things. */
void jobs_rollout_commit(const struct jobs_rollout_config *cfg, struct jobs_rollout_state *st,
			 int64_t released, int64_t now_ms);

/* Earliest time >= now_ms at which the allowance is at least 1 (now_ms when it already is),
 * for the scheduler's wake-up. */
int64_t jobs_rollout_next_release_ms(const struct jobs_rollout_config *cfg,
				     const struct jobs_rollout_state *st, int64_t now_ms);

#endif
