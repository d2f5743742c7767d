/*
 * The jobs scheduler (STYLE section 5, spec 3.4-3.11): one leader among all instances, elected
 * by pg_try_advisory_lock(BW_LEADER_LOCK_KEY) on the scheduler's own connection (a lost
 * connection is lost leadership: it stops acting at once, reconnects and competes again).
 * Every BW_SCHED_TICK_MS, or sooner when NOTIFY bw_jobs arrives, the leader runs one tick:
 * timeouts, then per active job (each in its own transaction, idempotent): schedule windows,
 * retries, abort, continuous targeting, release under the rollout rate, SNAPSHOT completion;
 * finally the removal of jobs in DELETION_IN_PROGRESS. All state lives in Postgres, so a
 * restart resumes where the last committed tick left off.
 */
#ifndef BW_SCHED_SCHEDULER_H
#define BW_SCHED_SCHEDULER_H

#include <stdint.h>

#include "core/config.h"
#include "db/db.h"

/* What one tick did (for metrics, logs and tests). */
struct sched_tick_stats {
	int64_t released;
	int64_t timed_out;
	int64_t retried;
	int64_t removed;
	int64_t aborted_jobs;
	int64_t completed_jobs;
	int64_t started_jobs;
	int64_t canceled_jobs; /* schedule endBehavior CANCEL / FORCE_CANCEL */
	int64_t deleted_jobs;
};

/* Start the scheduler thread (BW_PG_DSN, BW_SCHED_TICK_MS, BW_LEADER_LOCK_KEY). 0 or -1. */
int sched_start(const struct config *cfg);
/* Stop the thread and close its connection (leadership is released with it). */
void sched_stop(void);

/* One tick on db (which must hold leadership) at now_ms; stats are added to *out. Returns
 * DB_ONE, or a negative status when the connection failed (the caller drops leadership). */
enum db_status sched_tick(struct db *db, int64_t now_ms, struct sched_tick_stats *out);

#endif
