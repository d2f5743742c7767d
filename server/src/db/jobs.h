/*
 * Jobs in Postgres (migrations/0005_jobs.sql): creation with set-based target expansion and
 * release of executions, loading for the control plane and the native API, cancel and delete
 * (spec 3.11), control-plane execution reads and CancelJobExecution, job templates, and the
 * MQTT file streams of OTA jobs. Every function runs inside the caller's transaction unless it
 * says otherwise; none publishes (notify / notify-next go to the outbox via db/job_events.h).
 */
#ifndef BW_DB_JOBS_H
#define BW_DB_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "db/db.h"
#include "jobs/config.h"
#include "jobs/execution.h"
#include "jobs/job.h"

/* NOTIFY channel woken on job changes, so the scheduler acts before its next tick. */
#define DB_JOBS_CHANNEL "bw_jobs"

/* Positional text parameters of a statement built at run time. */
#define DB_JOBS_PARAMS_MAX 96
struct db_jobs_params {
	const char *values[DB_JOBS_PARAMS_MAX];
	char *owned[DB_JOBS_PARAMS_MAX];
	int n;
	int nowned;
};

void db_jobs_params_init(struct db_jobs_params *p);
void db_jobs_params_cleanup(struct db_jobs_params *p);
/* Append a borrowed value (add) or one whose ownership moves (take: freed on failure too).
 * Return its $N index, or -1 when full (or value NULL for take). */
int db_jobs_params_add(struct db_jobs_params *p, const char *value);
int db_jobs_params_take(struct db_jobs_params *p, char *value);

/*
 * SQL condition over the alias `t` (table things) selecting the things targets[0..n) reach:
 * things by name, static groups with their nested descendants, dynamic groups by their query.
 * Appends "(...)" to cond and its values to p. Returns DB_ONE, DB_NONE when a target does not
 * exist (its ARN's name in missing, type in *missing_is_group), or a negative status.
 */
enum db_status db_jobs_target_sql(struct db *db, const struct jobs_target *targets, size_t n,
				  struct buf *cond, struct db_jobs_params *p, char *missing,
				  size_t missing_cap, bool *missing_is_group);

/* A job to create (everything borrowed). */
struct db_job_new {
	const char *job_id;
	const struct jobs_spec *spec; /* validated; template already merged */
	const char *document;	      /* JSON object text */
	const char *request_sha256;   /* hash of the normalised request (idempotence) */
	const char *created_by;
	const char *template_id; /* NULL: not from a template */
	int64_t now_ms;
};

enum db_jobs_create_result {
	DB_JOBS_CREATED,	  /* new job */
	DB_JOBS_SAME,		  /* the same id with the same request existed: nothing changed */
	DB_JOBS_CONFLICT,	  /* the same id with another request exists */
	DB_JOBS_TARGET_NOT_FOUND, /* a thing or thing group of targets does not exist */
};

struct db_job_created {
	enum db_jobs_create_result result;
	int64_t job_pk;
	int64_t released; /* executions created now (no rollout config and no schedule) */
	char missing[STRUTIL_THING_NAME_MAX + 1];
	bool missing_is_group;
};

/* CreateJob: insert the job and its job_targets (one INSERT ... SELECT); without rollout config
 * and schedule release every execution at once with history rows and emit the events. Wakes
 * the scheduler (NOTIFY). [out] out. */
enum db_status db_jobs_create(struct db *db, const struct db_job_new *in,
			      struct db_job_created *out);

/* A job as stored, with its counters. Caller storage: db_job_cleanup(). */
struct db_job {
	int64_t pk;
	char job_id[STRUTIL_JOB_ID_MAX + 1];
	enum jobs_job_status status;
	enum jobs_target_selection target_selection;
	json_t *targets; /* owned array of ARNs */
	char *document;
	char *description; /* NULL when none */
	char *template_id; /* NULL when none */
	json_t *config;	   /* owned AWS-shaped settings (jobs_config_render) */
	bool force_canceled;
	char *reason_code; /* NULL when none */
	char *comment;	   /* NULL when none */
	char *created_by;
	int64_t created_at_ms;
	int64_t last_updated_at_ms;
	int64_t completed_at_ms; /* 0 when not completed */
	int64_t version;
	int64_t pending_targets; /* targets not yet released */
	bool is_rollout_stopped;
	struct jobs_job_counts counts; /* filled by db_jobs_load with counts */
	int64_t target_count;
};

void db_job_cleanup(struct db_job *j);

/* Load job_id (with counters when with_counts). DB_ONE, DB_NONE, or negative. [out] out. */
enum db_status db_jobs_load(struct db *db, const char *job_id, bool with_counts,
			    struct db_job *out);

/* Filters and page of a job listing (ordered by id descending). */
struct db_jobs_filter {
	const char *status;	      /* NULL: any */
	const char *target_selection; /* NULL: any */
	const char *thing_group;      /* NULL: any; else jobs whose targets name that group */
	int64_t before_pk;	      /* INT64_MAX on the first page */
	int limit;		      /* rows wanted; limit + 1 are read to detect more */
};

/* Jobs matching f, at most f->limit + 1 (counts not filled). *out: array (caller frees each
 * with db_job_cleanup and the array with free), *n its length. */
enum db_status db_jobs_list(struct db *db, const struct db_jobs_filter *f, struct db_job **out,
			    int *n);

enum db_jobs_change_result {
	DB_JOBS_CHANGED,
	DB_JOBS_NOT_FOUND,
	DB_JOBS_BAD_STATE, /* InvalidStateTransition (spec 3.11) */
	DB_JOBS_LIMIT,	   /* too many jobs in DELETION_IN_PROGRESS */
	DB_JOBS_VERSION,   /* expectedVersion mismatch */
};

/* CancelJob (spec 3.11): job CANCELED (completedAt, reasonCode, comment, forceCanceled); QUEUED
 * executions CANCELED, with force IN_PROGRESS too; history rows; events; NOTIFY. *pk the job. */
enum db_status db_jobs_cancel(struct db *db, const char *job_id, bool force,
			      const char *reason_code, const char *comment, int64_t now_ms,
			      const char *actor, enum db_jobs_change_result *result, int64_t *pk);

/* DeleteJob (spec 3.11): DELETION_IN_PROGRESS, executions discarded with events; the scheduler
 * removes the row. At most 10 jobs may be in that state (DB_JOBS_LIMIT). */
enum db_status db_jobs_delete(struct db *db, const char *job_id, bool force, int64_t now_ms,
			      enum db_jobs_change_result *result);

/* Cancel what a job still has pending (QUEUED, and IN_PROGRESS when force) as `actor`, with
 * history rows; no events. Returns the things touched (>= 0) or a negative status. */
int db_jobs_cancel_executions(struct db *db, int64_t job_pk, bool force, const char *actor,
			      const char *reason);

/* The latest execution of job_id on thing (execution_number > 0: only if it is that one).
 * DB_ONE, DB_NONE, or negative. [out] e (initialised first), job_pk, thing_id may be NULL. */
enum db_status db_jobs_execution_load(struct db *db, const char *job_id, const char *thing,
				      int64_t execution_number, struct jobs_execution *e,
				      int64_t *job_pk, int64_t *thing_id);

/* CancelJobExecution (spec 5.1): jobs_execution_service() then a conditional UPDATE, history,
 * events. result: CHANGED, NOT_FOUND, BAD_STATE (terminal, or IN_PROGRESS without force),
 * VERSION (expectedVersion). */
enum db_status db_jobs_execution_cancel(struct db *db, const char *job_id, const char *thing,
					bool force, const struct jobs_service_opts *opts,
					int64_t now_ms, const char *actor,
					enum db_jobs_change_result *result);

/* One row of an execution listing. */
struct db_jobs_exec_row {
	struct jobs_execution e;
	int64_t seq; /* thing id (job listing) or job pk (thing listing), the page key */
};

void db_jobs_exec_rows_free(struct db_jobs_exec_row *rows, int n);

/* Latest executions of a job (by_job: job_pk, ordered by thing id) or of a thing (thing_id,
 * ordered by job pk), status filter optional, after the page key `after`, at most limit + 1.
 * [out] rows (caller frees), n. */
enum db_status db_jobs_exec_list(struct db *db, bool by_job, int64_t key, const char *status,
				 const char *job_id, int64_t after, int limit,
				 struct db_jobs_exec_row **rows, int *n);

/* job_execution_history of (job_id, thing), oldest first, as a JSON array of
 * {id, execution_number, from_status, to_status, status_details, version_number, actor,
 * reason, at} (at: RFC 3339 ms), ids after `after`, at most limit + 1. NULL when no such
 * execution ever existed. */
enum db_status db_jobs_history(struct db *db, const char *job_id, const char *thing, int64_t after,
			       int limit, json_t **out);

/* A job template as stored. */
struct db_job_template {
	char template_id[STRUTIL_JOB_ID_MAX + 1];
	char *description;
	char *document; /* NULL when none */
	char *document_source;
	json_t *config; /* owned, AWS-shaped (jobs_config_render in template mode) */
	char *request_sha256;
	int64_t created_at_ms;
	int64_t last_updated_at_ms;
};

void db_job_template_cleanup(struct db_job_template *t);

/* Insert a template; *result CREATED, SAME (identical request) or CONFLICT. */
enum db_status db_jobs_template_create(struct db *db, const char *template_id,
				       const char *description, const char *document,
				       const char *document_source, const char *config_json,
				       const char *request_sha256,
				       enum db_jobs_create_result *result);

/* One file of a stream. */
struct db_stream_file {
	int file_id;
	char sha256[65];
	uint64_t size_bytes;
};

/* Create stream_id (description may be NULL) with files, for job_pk (0 = none). DB_ONE, or
 * DB_NONE when the id is taken. */
enum db_status db_jobs_stream_create(struct db *db, const char *stream_id, const char *description,
				     int64_t job_pk, const struct db_stream_file *files, size_t n);

/* A stream's version, description (malloc'd, may be NULL) and files (up to cap). One
 * statement, no transaction needed. DB_ONE, DB_NONE or negative. */
enum db_status db_jobs_stream_load(struct db *db, const char *stream_id, int *version,
				   char **description, struct db_stream_file *files, size_t cap,
				   size_t *n);

/* Milliseconds since the epoch from the database's text rendering used here ("" / NULL -> 0). */
int64_t db_jobs_ms(const char *text);

#endif
