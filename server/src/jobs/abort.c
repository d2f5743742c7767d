#include "jobs/abort.h"

static int64_t failures_of(enum jobs_failure_type t, const struct jobs_job_counts *c)
{
	const int64_t *n = c->by_status;

	switch (t) {
	case JOBS_FAILURE_FAILED:
		return n[JOBS_EXEC_FAILED];
	case JOBS_FAILURE_REJECTED:
		return n[JOBS_EXEC_REJECTED];
	case JOBS_FAILURE_TIMED_OUT:
		return n[JOBS_EXEC_TIMED_OUT];
	case JOBS_FAILURE_ALL:
		return n[JOBS_EXEC_FAILED] + n[JOBS_EXEC_REJECTED] + n[JOBS_EXEC_TIMED_OUT];
	}
	return 0;
}

bool jobs_abort_check(const struct jobs_abort_config *cfg, const struct jobs_job_counts *c,
		      struct jobs_abort_reason *why)
{
	int64_t executed = jobs_job_counts_executed(c);

	for (size_t i = 0; cfg && i < cfg->count && i < JOBS_ABORT_CRITERIA_MAX; i++) {
		const struct jobs_abort_criterion *cr = &cfg->criteria[i];
		int64_t failures = failures_of(cr->failure_type, c);

		if (executed < cr->min_executed_things || executed <= 0 || failures < 1)
			continue;
		/* 100 * failures / executed >= threshold / 100, without rounding */
		if (failures * 10000 < (int64_t)cr->threshold_hundredths * executed)
			continue;
		if (why) {
			why->failure_type = cr->failure_type;
			why->threshold_hundredths = cr->threshold_hundredths;
			why->min_executed_things = cr->min_executed_things;
			why->failures = failures;
			why->executed = executed;
		}
		return true;
	}
	return false;
}

json_t *jobs_abort_reason_json(const struct jobs_abort_reason *why)
{
	return json_pack("{s:s,s:f,s:I,s:I,s:I}", "failureType",
			 jobs_failure_type_name(why->failure_type), "thresholdPercentage",
			 why->threshold_hundredths / 100.0, "minNumberOfExecutedThings",
			 (json_int_t)why->min_executed_things, "failures",
			 (json_int_t)why->failures, "executed", (json_int_t)why->executed);
}
