#include "jobs/retry.h"

#include <stdio.h>

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

size_t jobs_retry_rules(const struct jobs_retry_config *cfg, struct jobs_retry_rule *out,
			size_t cap)
{
	struct jobs_execution e, next;
	size_t n = 0;

	if (!cfg || cfg->count == 0)
		return 0;
	jobs_execution_init(&e);
	/* only status and counts matter; the names just have to be valid */
	snprintf(e.job_id, sizeof(e.job_id), "rule");
	snprintf(e.thing_name, sizeof(e.thing_name), "rule");
	e.execution_number = 1;
	for (int s = 0; s < JOBS_EXEC__COUNT; s++) {
		e.status = (enum jobs_exec_status)s;
		for (int f = 0; f <= JOBS_RETRY_MAX; f++) {
			for (int t = 0; t <= JOBS_RETRY_MAX; t++) {
				e.retries.after_failed = f;
				e.retries.after_timed_out = t;
				if (!jobs_retry_decision(cfg, &e) || n >= cap ||
				    jobs_retry_next_execution(&e, 0, 0, &next) != JOBS_OK)
					continue;
				out[n].status = e.status;
				out[n].counts = e.retries;
				out[n].next = next.retries;
				jobs_execution_cleanup(&next);
				n++;
			}
		}
	}
	return n;
}
