#include "sched/scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "db/job_executions.h"
#include "db/jobs.h"

#define RECONNECT_MS 1000

static struct {
	pthread_t thread;
	bool is_started;
	atomic_bool is_stopping;
	char *dsn;
	int64_t tick_ms;
	int64_t lock_key;
} sched;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void count(const char *name, int64_t n)
{
	if (n > 0)
		metrics_counter_add(name, NULL, (double)n);
}

static void *sched_main(void *arg)
{
	struct db *db = NULL;
	bool is_leader = false;
	(void)arg;

	while (!atomic_load(&sched.is_stopping)) {
		if (!db_is_ok(db)) {
			if (is_leader)
				log_warn("sched", "leadership_lost", LOG_END);
			db_close(db);
			is_leader = false;
			metrics_gauge_set("bw_sched_is_leader", NULL, 0);
			db = db_connect(sched.dsn);
			/* job changes, and device results (so an abort lands within a second) */
			if (!db || db_listen(db, DB_JOBS_CHANNEL) < 0 ||
			    db_listen(db, DB_JOB_EXECUTIONS_CHANNEL) < 0) {
				db_close(db);
				db = NULL;
				sleep_ms(RECONNECT_MS);
				continue;
			}
		}
		if (!is_leader) {
			is_leader = db_try_advisory_lock(db, sched.lock_key);
			if (!is_leader) {
				if (db_wait_notify(db, (int)(sched.tick_ms * 4)) < 0) {
					db_close(db);
					db = NULL;
				}
				continue;
			}
			metrics_gauge_set("bw_sched_is_leader", NULL, 1);
			log_info("sched", "leadership_acquired", LOG_END);
		}
		struct sched_tick_stats st = { 0 };
		double t0 = mono_s();
		enum db_status rc = sched_tick(db, now_ms(), &st);
		metrics_histogram_observe("bw_sched_tick_duration_seconds", NULL, mono_s() - t0);
		count("bw_jobs_executions_released_total", st.released);
		count("bw_jobs_executions_timed_out_total", st.timed_out);
		count("bw_jobs_executions_retried_total", st.retried);
		count("bw_jobs_executions_removed_total", st.removed);
		count("bw_jobs_aborted_total", st.aborted_jobs);
		if (st.released || st.timed_out || st.retried || st.removed || st.aborted_jobs ||
		    st.completed_jobs || st.started_jobs || st.canceled_jobs || st.deleted_jobs)
			log_debug("sched", "tick", LOG_I("released", st.released),
				  LOG_I("timed_out", st.timed_out), LOG_I("retried", st.retried),
				  LOG_I("removed", st.removed),
				  LOG_I("completed", st.completed_jobs), LOG_END);
		if (rc < 0 && !db_is_ok(db))
			continue; /* connection gone: leadership with it */
		if (db_wait_notify(db, (int)sched.tick_ms) < 0) {
			db_close(db);
			db = NULL;
		}
	}
	db_close(db);
	metrics_gauge_set("bw_sched_is_leader", NULL, 0);
	return NULL;
}

int sched_start(const struct config *cfg)
{
	if (sched.is_started || !cfg->pg_dsn)
		return -1;
	sched.dsn = strdup(cfg->pg_dsn);
	if (!sched.dsn)
		return -1;
	sched.tick_ms = cfg->sched_tick_ms > 0 ? cfg->sched_tick_ms : 500;
	sched.lock_key = cfg->leader_lock_key;
	atomic_store(&sched.is_stopping, false);
	metrics_describe("bw_sched_tick_duration_seconds", "histogram",
			 "Duration of one jobs scheduler tick");
	metrics_describe("bw_sched_is_leader", "gauge",
			 "1 while this instance holds scheduler leadership");
	metrics_describe("bw_jobs_executions_released_total", "counter",
			 "Job executions released by the scheduler (rollout and continuous jobs)");
	metrics_describe("bw_jobs_executions_timed_out_total", "counter",
			 "Job executions timed out by the scheduler");
	metrics_describe("bw_jobs_executions_retried_total", "counter",
			 "Job executions retried (jobExecutionsRetryConfig)");
	metrics_describe("bw_jobs_executions_removed_total", "counter",
			 "QUEUED executions removed because their thing left a continuous job");
	metrics_describe("bw_jobs_aborted_total", "counter", "Jobs canceled by abortConfig");
	metrics_describe("bw_jobs_created_total", "counter", "Jobs created");
	if (pthread_create(&sched.thread, NULL, sched_main, NULL) != 0) {
		free(sched.dsn);
		sched.dsn = NULL;
		return -1;
	}
	sched.is_started = true;
	return 0;
}

void sched_stop(void)
{
	if (!sched.is_started)
		return;
	atomic_store(&sched.is_stopping, true);
	pthread_join(sched.thread, NULL);
	free(sched.dsn);
	sched.dsn = NULL;
	sched.is_started = false;
}
