/* Executions and jobs by status as /metrics gauges (issue: jobs metrics). */
#include "db/job_stats.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"
#include "db/db.h"
#include "jobs/execution.h"
#include "jobs/job.h"

#define JOB_STATS_TTL_MS 5000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int64_t last_ms = INT64_MIN / 2;

static void describe(void)
{
	metrics_describe("bw_jobs_executions", "gauge",
			 "Job executions (all execution numbers) by status, read from Postgres");
	metrics_describe("bw_jobs", "gauge", "Jobs by status, read from Postgres");
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* count of the row whose first cell is name, 0 if absent */
static double count_of(const struct db_rows *rows, const char *name)
{
	for (int i = 0; i < rows->nrows; i++) {
		const char *s = db_rows_get(rows, i, 0);
		if (s && strcmp(s, name) == 0)
			return strtod(db_rows_get(rows, i, 1), NULL);
	}
	return 0;
}

static void set_gauges(const char *metric, const struct db_rows *rows, int n,
		       const char *(*name_of)(int))
{
	char labels[64];

	for (int i = 0; i < n; i++) {
		const char *name = name_of(i);
		if (!name || !*name)
			continue;
		snprintf(labels, sizeof(labels), "status=\"%s\"", name);
		metrics_gauge_set(metric, labels, count_of(rows, name));
	}
}

static const char *exec_name(int i)
{
	return jobs_exec_status_name((enum jobs_exec_status)i);
}

static const char *job_name(int i)
{
	return jobs_job_status_name((enum jobs_job_status)i);
}

void db_job_stats_collect(void)
{
	static const char sql_exec[] =
		"SELECT status, count(*) FROM job_executions GROUP BY status";
	static const char sql_jobs[] = "SELECT status, count(*) FROM jobs GROUP BY status";
	struct db_rows *ex = NULL, *jb = NULL;
	struct db *db;
	int64_t now = mono_ms();

	pthread_once(&once, describe);
	pthread_mutex_lock(&lock);
	if (now - last_ms < JOB_STATS_TTL_MS) {
		pthread_mutex_unlock(&lock);
		return;
	}
	last_ms = now;
	pthread_mutex_unlock(&lock);

	db = db_pool_get();
	if (!db)
		return;
	if (db_exec_static(db, sql_exec, 0, NULL, &ex) >= 0 &&
	    db_exec_static(db, sql_jobs, 0, NULL, &jb) >= 0 && ex && jb) {
		set_gauges("bw_jobs_executions", ex, JOBS_EXEC__COUNT, exec_name);
		set_gauges("bw_jobs", jb, JOBS_JOB__COUNT, job_name);
	}
	db_rows_free(ex);
	db_rows_free(jb);
	db_pool_put(db);
}
