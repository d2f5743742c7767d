/* Jobs notify / notify-next events (spec 2.10), set-based: for every given thing, compute its
 * pending list L (QUEUED + IN_PROGRESS executions of rolled-out, non-SCHEDULED jobs; IN_PROGRESS
 * first, then by queuedAt), compare with what was last announced (table job_thing_events), and
 * write `notify` (set of jobIds changed) and `notify-next` (head changed) messages to the MQTT
 * outbox in the caller's transaction. Call it after EVERY mutation that can touch executions:
 * job creation/rollout, start-next/update, timeout, retry, cancel, delete, abort, membership. */
#ifndef BW_DB_JOB_EVENTS_H
#define BW_DB_JOB_EVENTS_H

#include <stdint.h>

#include "db/db.h"

/* thing_ids: Postgres array literal of things.id values, e.g. "{12,13}". now_s: the event
 * timestamp (seconds). Returns the number of messages written (>= 0) or a negative status. */
int db_job_events_emit(struct db *db, const char *thing_ids, int64_t now_s);

/* Same, for every thing that has a row in job_targets of the job (fan-out after creation,
 * cancel or delete; one statement whatever the number of things). */
int db_job_events_emit_for_job(struct db *db, int64_t job_pk, int64_t now_s);

/*
 * Events after executions of job job_pk were created in this transaction for many things at
 * once (CreateJob without rollout limit, a rollout release): thing_ids is an array literal of
 * the things concerned, or NULL for every target of the job. Same result as
 * db_job_events_emit(), computed in two parts (docs/JOBS.md "Fan-out"):
 *   - fast part, one statement: every thing whose pending list is now exactly this job's new
 *     QUEUED execution and whose last announcement was the empty list (no other pending
 *     execution, job_thing_events absent or empty) gets its announcement written and its
 *     notify + notify-next through ONE fan-out outbox row (payloads identical for all of them,
 *     rendered once; the pump expands the row per thing);
 *   - every other thing (other pending jobs, executions that differ) goes through
 *     db_job_events_emit()'s statements.
 * Returns the number of messages due (fan-out messages count two per thing) or a negative
 * status.
 */
int db_job_events_emit_fanout(struct db *db, int64_t job_pk, const char *thing_ids, int64_t now_s);

#endif
