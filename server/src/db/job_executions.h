/* Job executions as the device planes see them (spec 2.5-2.8, 4.1): one statement loads every
 * execution a batch of device requests can touch, one statement writes back what the batch
 * changed (conditional on the loaded versionNumber) together with the history rows. Shared by
 * the MQTT handlers and the iot-jobs-data HTTP plane (mqtt/jobs.h runs both). */
#ifndef BW_DB_JOB_EXECUTIONS_H
#define BW_DB_JOB_EXECUTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strutil.h"
#include "db/db.h"
#include "jobs/execution.h"

/* NOTIFY channel raised when a batch moved an execution into a terminal state (the scheduler
 * then evaluates retries, abort criteria and job completion). */
#define DB_JOB_EXECUTIONS_CHANNEL "bw_jobs_results"

/* A registered thing named by the batch. */
struct db_job_thing {
	int64_t id;
	char name[STRUTIL_THING_NAME_MAX + 1];
};

/* One loaded execution (the latest of its job on its thing). Owns e.status_details, document. */
struct db_job_exec {
	size_t thing;	/* index into db_job_snapshot.things */
	int64_t job_pk; /* also e.seq: creation order of the job, tie-break of the pending list */
	struct jobs_execution e;
	bool is_visible;       /* in the pending list (spec 2.10: job not SCHEDULED/deleted, ...) */
	bool is_scheduled_job; /* the job has a schedulingConfig (pending limit 15) */
	int in_progress_timeout_min; /* job timeoutConfig.inProgressTimeoutInMinutes, 0 = none */
	char *document; /* job document text (placeholders intact); NULL unless loaded with them */
	int64_t loaded_version;	 /* versionNumber when loaded: the write's condition */
	bool is_dirty;		 /* changed by the batch: written back */
	bool is_pending_changed; /* status or execution number changed: events may be due */
};

/* A state transition applied by the batch, for job_execution_history. */
struct db_job_transition {
	size_t exec; /* index into db_job_snapshot.execs */
	enum jobs_exec_status from;
	enum jobs_exec_status to;
	char *details;	 /* statusDetails JSON text after the transition (owned) */
	int64_t version; /* versionNumber after the transition */
};

struct db_job_snapshot {
	struct db_job_thing *things;
	size_t nthings;
	struct db_job_exec *execs;
	size_t nexecs;
	struct db_job_transition *transitions;
	size_t ntransitions;
	size_t cap_transitions;
};

/* Zero s. */
void db_job_snapshot_init(struct db_job_snapshot *s);
/* Release everything s owns and zero it; NULL is allowed. */
void db_job_snapshot_cleanup(struct db_job_snapshot *s);

/*
 * Load the registered things among thing_names[0..n) (valid names) and, for each, its
 * executions that are QUEUED or IN_PROGRESS or belong to one of job_ids[0..njobs) (valid ids),
 * except executions of jobs being deleted. Executions of one thing are contiguous. Job
 * documents only when with_documents (progress reports need none, and OTA documents are
 * large). [out] s: initialised first; filled on success. Returns DB_ONE, DB_NONE (no
 * registered thing) or a negative status.
 */
enum db_status db_job_executions_load(struct db *db, const char *const *thing_names, size_t n,
				      const char *const *job_ids, size_t njobs, bool with_documents,
				      struct db_job_snapshot *s);

/* The registered thing named name in s, or NULL. */
const struct db_job_thing *db_job_snapshot_thing(const struct db_job_snapshot *s, const char *name,
						 size_t *index);

/* Record a transition of s->execs[exec] (details: its statusDetails after it). False on OOM. */
bool db_job_snapshot_add_transition(struct db_job_snapshot *s, size_t exec,
				    enum jobs_exec_status from);

/*
 * Write every dirty execution of s with "WHERE version_number = loaded_version", its history
 * rows (actor), and NOTIFY DB_JOB_EXECUTIONS_CHANNEL when one became terminal, in ONE statement
 * that is all or nothing (it fails as a whole when any row's version moved), so it may run
 * outside a transaction. Returns DB_NONE when nothing was dirty, DB_ONE when all rows were
 * written, DB_RETRY when a row changed under the batch (nothing written: load again and re-run),
 * DB_HARD on failure.
 */
enum db_status db_job_executions_write(struct db *db, const struct db_job_snapshot *s,
				       const char *actor);

/* True if some execution of s was changed by the batch (is_dirty). */
bool db_job_snapshot_is_dirty(const struct db_job_snapshot *s);

/* The things of s whose pending list may have changed (an execution's status or number changed:
 * is_pending_changed), as a Postgres array literal for db_job_events_emit() (malloc'd; NULL when
 * none or on OOM, *is_oom tells which). */
char *db_job_snapshot_event_things(const struct db_job_snapshot *s, bool *is_oom);

#endif
