/* Execution counters of several jobs in one query (job listings). */
#ifndef BW_DB_JOB_COUNTS_H
#define BW_DB_JOB_COUNTS_H

#include "db/db.h"
#include "db/jobs.h"

/* Fill counts and target_count of jobs[0..n) (as db_jobs_load with counts does for one job)
 * with a single statement. DB_NONE/DB_ONE.. on success, negative on a database error. */
enum db_status db_jobs_fill_counts(struct db *db, struct db_job *jobs, int n);

#endif
