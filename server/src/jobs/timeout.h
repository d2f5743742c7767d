/*
 * Execution timer arithmetic (spec 3.4): the in-progress timer of timeoutConfig and the step
 * timer of stepTimeoutInMinutes. PURE: libc only; times are Unix ms.
 */
#ifndef BW_JOBS_TIMEOUT_H
#define BW_JOBS_TIMEOUT_H

#include <stdint.h>

#define JOBS_TIMEOUT_MIN_MINUTES 1
#define JOBS_TIMEOUT_MAX_MINUTES 10080 /* 7 days, both timers (spec 11) */

/* In-progress deadline: started_at_ms + in_progress_timeout_min minutes; 0 (no timer) when
 * in_progress_timeout_min <= 0. Armed once, at the first entry into IN_PROGRESS; never moved. */
int64_t jobs_timeout_deadline(int64_t started_at_ms, int in_progress_timeout_min);

/* Step deadline for a new stepTimeoutInMinutes at now_ms: now + step minutes, but never later
 * than in_progress_deadline_ms when that is armed (> 0). 0 (no step timer) when step_min <= 0
 * (-1 cancels the step timer). */
int64_t jobs_timeout_step_deadline(int64_t now_ms, int step_min, int64_t in_progress_deadline_ms);

#endif
