/*
 * JSON renderings of executions (spec 2.4, 4.1, 5.2): JobExecution, JobExecutionSummary and
 * JobExecutionState for the device planes (MQTT and the iot-jobs-data REST plane), and the
 * control-plane (iot) execution and summary. Timestamps are integer epoch seconds (spec 1.3);
 * optional fields without a value are omitted, never null (spec 1.4). PURE: libc + jansson.
 * Every function returns a new reference (caller decrefs), or NULL on allocation failure.
 */
#ifndef BW_JOBS_RENDER_H
#define BW_JOBS_RENDER_H

#include <stdint.h>

#include <jansson.h>

#include "jobs/execution.h"

/* Which device plane a rendering is for (spec 4.1 "Differences from MQTT"). */
enum jobs_plane {
	JOBS_PLANE_MQTT, /* no thingName, jobDocument as a JSON object, timestamp + clientToken */
	JOBS_PLANE_HTTP, /* thingName, approximateSecondsBeforeTimedOut, jobDocument as a string */
};

/* Milliseconds to the integer seconds used on the wire (floor). */
int64_t jobs_render_seconds(int64_t ms);

/*
 * JobExecution: jobId, status, statusDetails (if non-empty), queuedAt, startedAt (once started),
 * lastUpdatedAt, versionNumber, executionNumber, and jobDocument when doc is not NULL (doc is the
 * document with placeholders already resolved; MQTT embeds it as an object and takes a
 * reference, so doc must not be modified while the result lives; HTTP embeds its compact text).
 * HTTP adds thingName and, while a timer is armed, approximateSecondsBeforeTimedOut.
 */
json_t *jobs_render_execution(const struct jobs_execution *e, const json_t *doc,
			      enum jobs_plane plane, int64_t now_ms);

/* JobExecutionSummary: jobId, queuedAt, startedAt (once started), lastUpdatedAt, versionNumber,
 * executionNumber. */
json_t *jobs_render_summary(const struct jobs_execution *e);

/* JobExecutionState: status, statusDetails (if non-empty), versionNumber. */
json_t *jobs_render_state(const struct jobs_execution *e);

/*
 * Control-plane JobExecution (DescribeJobExecution on iot, spec 5.2): jobId, status,
 * forceCanceled, statusDetails {"detailsMap": {...}} (if non-empty), thingArn (borrowed string),
 * queuedAt, startedAt, lastUpdatedAt, executionNumber, versionNumber,
 * approximateSecondsBeforeTimedOut (while armed). No job document.
 */
json_t *jobs_render_execution_iot(const struct jobs_execution *e, const char *thing_arn,
				  int64_t now_ms);

/* Control-plane JobExecutionSummary (ListJobExecutionsFor{Job,Thing}, spec 5.2): status,
 * queuedAt, startedAt, lastUpdatedAt, executionNumber, retryAttempt. The caller wraps it as
 * {"jobId"|"thingArn": ..., "jobExecutionSummary": ...}. */
json_t *jobs_render_summary_iot(const struct jobs_execution *e);

#endif
