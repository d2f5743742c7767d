#include "jobs/job.h"

#include <string.h>

static const char *const names[] = {
#define X(e, name) name,
	JOBS_JOB_STATUS_LIST(X)
#undef X
};

const char *jobs_job_status_name(enum jobs_job_status s)
{
	return (unsigned)s < JOBS_JOB__COUNT ? names[s] : "";
}

bool jobs_job_status_parse(const char *name, enum jobs_job_status *out)
{
	if (!name)
		return false;
	for (unsigned i = 0; i < JOBS_JOB__COUNT; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum jobs_job_status)i;
			return true;
		}
	}
	return false;
}

void jobs_job_counts_add(struct jobs_job_counts *c, enum jobs_exec_status s, int64_t delta)
{
	if ((unsigned)s < JOBS_EXEC__COUNT)
		c->by_status[s] += delta;
}

void jobs_job_counts_move(struct jobs_job_counts *c, enum jobs_exec_status from,
			  enum jobs_exec_status to)
{
	jobs_job_counts_add(c, from, -1);
	jobs_job_counts_add(c, to, 1);
}

int64_t jobs_job_counts_pending(const struct jobs_job_counts *c)
{
	return c->by_status[JOBS_EXEC_QUEUED] + c->by_status[JOBS_EXEC_IN_PROGRESS];
}

int64_t jobs_job_counts_executed(const struct jobs_job_counts *c)
{
	return c->by_status[JOBS_EXEC_SUCCEEDED] + c->by_status[JOBS_EXEC_FAILED] +
	       c->by_status[JOBS_EXEC_REJECTED] + c->by_status[JOBS_EXEC_TIMED_OUT];
}

json_t *jobs_job_render_process_details(const struct jobs_job_counts *c,
					const json_t *processing_targets)
{
	const int64_t *n = c->by_status;
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "numberOfCanceledThings",
			      (json_int_t)n[JOBS_EXEC_CANCELED], "numberOfSucceededThings",
			      (json_int_t)n[JOBS_EXEC_SUCCEEDED], "numberOfFailedThings",
			      (json_int_t)n[JOBS_EXEC_FAILED], "numberOfRejectedThings",
			      (json_int_t)n[JOBS_EXEC_REJECTED], "numberOfQueuedThings",
			      (json_int_t)n[JOBS_EXEC_QUEUED], "numberOfInProgressThings",
			      (json_int_t)n[JOBS_EXEC_IN_PROGRESS], "numberOfRemovedThings",
			      (json_int_t)n[JOBS_EXEC_REMOVED], "numberOfTimedOutThings",
			      (json_int_t)n[JOBS_EXEC_TIMED_OUT]);

	if (o && processing_targets &&
	    json_object_set(o, "processingTargets", (json_t *)processing_targets)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

bool jobs_job_is_complete(enum jobs_target_selection sel, const struct jobs_job_counts *c,
			  bool is_rollout_done)
{
	return sel == JOBS_TARGET_SNAPSHOT && is_rollout_done && jobs_job_counts_pending(c) == 0;
}

enum jobs_job_status jobs_job_initial_status(int64_t start_ms, int64_t now_ms)
{
	return start_ms > now_ms ? JOBS_JOB_SCHEDULED : JOBS_JOB_IN_PROGRESS;
}

enum jobs_err jobs_job_check_cancel(enum jobs_job_status s)
{
	return s == JOBS_JOB_SCHEDULED || s == JOBS_JOB_IN_PROGRESS || s == JOBS_JOB_CANCELED
		       ? JOBS_OK
		       : JOBS_ERR_INVALID_STATE_TRANSITION;
}

enum jobs_err jobs_job_check_delete(enum jobs_job_status s, bool force)
{
	if (s == JOBS_JOB_DELETION_IN_PROGRESS || (unsigned)s >= JOBS_JOB__COUNT)
		return JOBS_ERR_INVALID_STATE_TRANSITION;
	if (s == JOBS_JOB_COMPLETED || s == JOBS_JOB_CANCELED || force)
		return JOBS_OK;
	return JOBS_ERR_INVALID_STATE_TRANSITION;
}
