/*
 * The pending list of a thing and the notify / notify-next events (spec 2.10): which executions
 * a device sees as pending and in which order, when an event is due after a mutation, and the
 * event payloads. PURE: libc + jansson.
 *
 * Pending list L: executions in QUEUED or IN_PROGRESS, IN_PROGRESS first, then by queuedAt
 * ascending, then by creation order (seq), then by job id. The caller leaves out executions of
 * SCHEDULED jobs and targets not rolled out yet (they have no execution).
 */
#ifndef BW_JOBS_EVENTS_H
#define BW_JOBS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/execution.h"

/* Entries in GetPendingJobExecutions replies and notify events (spec 2.5, 2.10, 11): 10, or 15
 * when a job of the thing uses a scheduling configuration. */
#define JOBS_EVENTS_PENDING_LIMIT 10
#define JOBS_EVENTS_PENDING_LIMIT_SCHEDULED 15

/* qsort comparator over const struct jobs_execution * elements: the order of L. */
int jobs_events_pending_cmp(const void *a, const void *b);

/*
 * Turn items[0..n) (pointers, borrowed) into L in place: drop terminal executions, sort, keep
 * the first limit. Returns the new count; items[0] is the head (next job) when it is > 0.
 */
size_t jobs_events_pending_list(const struct jobs_execution **items, size_t n, size_t limit);

/*
 * Compare L before and after a mutation (both already made by jobs_events_pending_list):
 * [out] notify: the set of (jobId, executionNumber) differs;
 * [out] notify_next: the head differs (other jobId or executionNumber, or L became empty or
 * non-empty). A status change alone (head QUEUED -> IN_PROGRESS), or a change of statusDetails
 * or version, publishes nothing.
 */
void jobs_events_changes(const struct jobs_execution *const *before, size_t nb,
			 const struct jobs_execution *const *after, size_t na, bool *notify,
			 bool *notify_next);

/*
 * notify payload (JobExecutionsChanged): {"timestamp", "jobs": {"IN_PROGRESS": [summary...],
 * "QUEUED": [...]}} from L (pending[0..n), already a pending list); empty statuses omitted,
 * empty L gives "jobs": {}. New reference; NULL on OOM.
 */
json_t *jobs_events_notify(const struct jobs_execution *const *pending, size_t n, int64_t now_ms);

/*
 * notify-next payload (NextJobExecutionChanged): {"timestamp", "execution"} with the head's full
 * MQTT JobExecution and doc (its resolved job document) embedded as an object; head NULL (L
 * became empty) gives {"timestamp"} alone. New reference; NULL on OOM.
 */
json_t *jobs_events_notify_next(const struct jobs_execution *head, const json_t *doc,
				int64_t now_ms);

#endif
