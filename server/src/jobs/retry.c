#include "jobs/retry.h"

bool jobs_retry_decision(const struct jobs_retry_config *cfg, const struct jobs_execution *ended)
{
	enum jobs_failure_type type;
	const struct jobs_retry_criterion *exact = NULL, *all = NULL, *use;
	int total = ended->retries.after_failed + ended->retries.after_timed_out, used;

	if (!cfg)
		return false;
	if (ended->status == JOBS_EXEC_FAILED)
		type = JOBS_FAILURE_FAILED;
	else if (ended->status == JOBS_EXEC_TIMED_OUT)
		type = JOBS_FAILURE_TIMED_OUT;
	else
		return false;
	for (size_t i = 0; i < cfg->count && i < JOBS_RETRY_CRITERIA_MAX; i++) {
		if (cfg->criteria[i].failure_type == type)
			exact = &cfg->criteria[i];
		else if (cfg->criteria[i].failure_type == JOBS_FAILURE_ALL)
			all = &cfg->criteria[i];
	}
	use = exact ? exact : all;
	if (!use || total >= JOBS_RETRY_MAX)
		return false;
	if (use == all)
		used = total;
	else
		used = type == JOBS_FAILURE_FAILED ? ended->retries.after_failed
						   : ended->retries.after_timed_out;
	return used < use->number_of_retries;
}

enum jobs_err jobs_retry_next_execution(const struct jobs_execution *ended, int64_t seq,
					int64_t now_ms, struct jobs_execution *out)
{
	if ((ended->status != JOBS_EXEC_FAILED && ended->status != JOBS_EXEC_TIMED_OUT) ||
	    !jobs_execution_new_queued(out, ended->job_id, ended->thing_name,
				       ended->execution_number + 1, seq, now_ms)) {
		jobs_execution_init(out);
		return JOBS_ERR_INVALID_REQUEST;
	}
	out->retries = ended->retries;
	if (ended->status == JOBS_EXEC_FAILED)
		out->retries.after_failed++;
	else
		out->retries.after_timed_out++;
	return JOBS_OK;
}
