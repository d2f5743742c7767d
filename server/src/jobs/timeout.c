#include "jobs/timeout.h"

#define MS_PER_MIN INT64_C(60000)

int64_t jobs_timeout_deadline(int64_t started_at_ms, int in_progress_timeout_min)
{
	if (in_progress_timeout_min <= 0)
		return 0;
	return started_at_ms + in_progress_timeout_min * MS_PER_MIN;
}

int64_t jobs_timeout_step_deadline(int64_t now_ms, int step_min, int64_t in_progress_deadline_ms)
{
	int64_t d;

	if (step_min <= 0)
		return 0;
	d = now_ms + step_min * MS_PER_MIN;
	if (in_progress_deadline_ms > 0 && d > in_progress_deadline_ms)
		d = in_progress_deadline_ms;
	return d;
}
