/*
 * schedulingConfig evaluation (spec 3.9): whether a job may roll out executions now, given its
 * start and end times and maintenance windows, and when that next changes. PURE: libc + jansson;
 * time is a parameter (Unix ms, UTC).
 *
 * A maintenance window opens at every minute its cron expression matches and stays open for
 * durationInMinutes; windows that overlap simply merge. Without windows the job may roll out any
 * time between startTime and endTime.
 */
#ifndef BW_JOBS_SCHEDULE_H
#define BW_JOBS_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/config.h"

/* Executions shown in DescribeJob's scheduledJobRollouts (AWS lists the next seven). */
#define JOBS_SCHEDULE_ROLLOUTS_SHOWN 7

enum jobs_schedule_phase {
	JOBS_SCHEDULE_ACTIVE,	      /* roll out now */
	JOBS_SCHEDULE_BEFORE_START,   /* before startTime: the job is SCHEDULED */
	JOBS_SCHEDULE_OUTSIDE_WINDOW, /* between start and end, but no window is open */
	JOBS_SCHEDULE_ENDED,	      /* at or after endTime: apply endBehavior */
};

/* Name for logs ("active", "before_start", "outside_window", "ended"). */
const char *jobs_schedule_phase_name(enum jobs_schedule_phase p);

/*
 * Phase of a job with scheduling c (NULL or nothing set: always ACTIVE) at now_ms.
 * [out] next_change_ms (may be NULL): when the phase can next change (start, window opening or
 * closing, end), or 0 if never (ACTIVE without end, ENDED, or no window within two years).
 */
enum jobs_schedule_phase jobs_schedule_phase(const struct jobs_scheduling_config *c, int64_t now_ms,
					     int64_t *next_change_ms);

/* True if one of c's windows is open at now_ms; [out] window_end_ms (may be NULL): when the
 * open windows close (merging overlapping ones, looking at most two days ahead). */
bool jobs_schedule_in_window(const struct jobs_scheduling_config *c, int64_t now_ms,
			     int64_t *window_end_ms);

/* Start of the first window opening strictly after now_ms and before until_ms, or -1. */
int64_t jobs_schedule_next_window(const struct jobs_scheduling_config *c, int64_t now_ms,
				  int64_t until_ms);

/* scheduledJobRollouts for DescribeJob: [{"startTime":"YYYY-MM-DDTHH:MM"}, ...] for the next
 * JOBS_SCHEDULE_ROLLOUTS_SHOWN window openings after now_ms (before endTime when set). Empty
 * without windows. New reference; NULL on OOM. */
json_t *jobs_schedule_render_rollouts(const struct jobs_scheduling_config *c, int64_t now_ms);

#endif
