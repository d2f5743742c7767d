/*
 * Device requests of the Jobs API (spec 2.3, 2.5-2.9, 4.1): parse and validate every request
 * payload, and build the accepted and rejected replies. PURE: libc + jansson.
 *
 * Parsing rules: a zero-length payload is {} (spec 2.3); the payload must be a JSON object
 * (duplicate keys rejected) or the error is InvalidJson; unknown fields are ignored (1.4); a
 * field that an operation does not use is never validated; JSON null counts as absent.
 * Field rules (1.1, 2.8, 2.9) -> InvalidRequest:
 *   clientToken           string of <= 64 bytes (a longer or non-string token is not echoed)
 *   status                required for UPDATE; IN_PROGRESS, SUCCEEDED, FAILED, REJECTED or
 *                         QUEUED (QUEUED fails later as InvalidStateTransition); other values,
 *                         including CANCELED / TIMED_OUT / REMOVED, are InvalidRequest
 *   statusDetails         object; keys [a-zA-Z0-9:_-]{1,128}; values strings of 1..1024
 *                         characters without control/format characters (jobs/text.h)
 *   expectedVersion       integer >= 0, as a JSON number (5 or 5.0) or a decimal string ("5")
 *   executionNumber       integer >= 1, as a number or a decimal string
 *   includeJobDocument, includeJobExecutionState   booleans
 *   stepTimeoutInMinutes  integer 1..10080; -1 too for UPDATE
 */
#ifndef BW_JOBS_REQUESTS_H
#define BW_JOBS_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/errors.h"
#include "jobs/execution.h"
#include "jobs/render.h"
#include "jobs/topics.h"

/* Largest request payload accepted (AWS IoT message limit, spec 1.5). */
#define JOBS_REQUESTS_MAX_PAYLOAD ((size_t)128 * 1024)
/* Room for a rejected reply's message, including the NUL. */
#define JOBS_REQUESTS_MSG_MAX 256

/* A parsed device request. Caller storage; owns update.status_details. */
struct jobs_request {
	enum jobs_topics_kind op;
	/* status (UPDATE), statusDetails (UPDATE, START_NEXT), expectedVersion (UPDATE),
	 * executionNumber (UPDATE, DESCRIBE), stepTimeoutInMinutes (UPDATE, START_NEXT) and the
	 * clientToken (all operations) */
	struct jobs_update update;
	bool include_job_document;	  /* DESCRIBE: default true; UPDATE: default false */
	bool include_job_execution_state; /* UPDATE: default false */
};

/*
 * Parse the payload[0..len) of a Jobs request of kind op (GET_PENDING, START_NEXT, DESCRIBE,
 * UPDATE; INVALID only extracts the clientToken, when the payload allows, and always returns
 * JOBS_ERR_INVALID_TOPIC unless out of memory).
 * Returns JOBS_OK, JOBS_ERR_INVALID_JSON, JOBS_ERR_INVALID_REQUEST (also for a payload over
 * JOBS_REQUESTS_MAX_PAYLOAD) or JOBS_ERR_INTERNAL (OOM). msg (may be NULL) receives a reason
 * for the rejected reply. On every return req is initialised, and a valid clientToken is kept
 * even when another field is invalid, so the rejected reply can echo it (spec 2.9).
 * Call jobs_requests_cleanup() afterwards in all cases.
 */
enum jobs_err jobs_requests_parse(enum jobs_topics_kind op, const char *payload, size_t len,
				  struct jobs_request *req, char *msg, size_t msg_cap);

/*
 * Like jobs_requests_parse() for a parsed topic: t->kind INVALID -> JOBS_ERR_INVALID_TOPIC and
 * t->is_bad_name -> JOBS_ERR_INVALID_REQUEST (spec 2.9: invalid thing name or job id in the
 * topic), both with the clientToken extracted when the payload allows.
 */
enum jobs_err jobs_requests_parse_topic(const struct jobs_topic *t, const char *payload, size_t len,
					struct jobs_request *req, char *msg, size_t msg_cap);

/* Same rules on an already parsed JSON object (HTTP data plane bodies, spec 4.1). root NULL is
 * {}. A root that is not an object is JOBS_ERR_INVALID_JSON. */
enum jobs_err jobs_requests_parse_json(enum jobs_topics_kind op, const json_t *root,
				       struct jobs_request *req, char *msg, size_t msg_cap);

/* Release what req owns and re-initialise it; NULL is allowed. */
void jobs_requests_cleanup(struct jobs_request *req);

/* The clientToken to echo: NULL when the request carried none (then the reply has none), else
 * the token (possibly ""). Borrowed from req. */
const char *jobs_requests_token(const struct jobs_request *req);

/*
 * GetPendingJobExecutions accepted reply (spec 2.5): MQTT {"timestamp", "clientToken"?,
 * "inProgressJobs": [...], "queuedJobs": [...]}, HTTP without timestamp and clientToken.
 * pending: the thing's executions (any order, terminal ones skipped); at most limit are listed
 * (10, or 15 when the job uses scheduling; jobs/events.h). Both arrays are always present.
 */
json_t *jobs_requests_pending_reply(const struct jobs_execution *const *pending, size_t n,
				    size_t limit, const char *client_token, enum jobs_plane plane,
				    int64_t now_ms);

/*
 * StartNext and DescribeJobExecution accepted reply (spec 2.6, 2.7, 4.1): MQTT {"timestamp",
 * "clientToken"?, "execution"?}; HTTP {"execution"?}. e NULL (nothing pending, $next) omits
 * "execution". doc: the resolved job document to embed, NULL to leave it out
 * (includeJobDocument false).
 */
json_t *jobs_requests_execution_reply(const struct jobs_execution *e, const json_t *doc,
				      const char *client_token, enum jobs_plane plane,
				      int64_t now_ms);

/*
 * UpdateJobExecution accepted reply (spec 2.8, 4.1): MQTT {"timestamp", "clientToken"?,
 * "executionState"? (when include_state), "jobDocument"? (when doc, as an object)}; HTTP
 * {"executionState"?, "jobDocument"? (as a string)}. e is the execution after the update.
 */
json_t *jobs_requests_update_reply(const struct jobs_execution *e, bool include_state,
				   const json_t *doc, const char *client_token,
				   enum jobs_plane plane, int64_t now_ms);

/*
 * Rejected reply (spec 2.9): {"code", "message", "clientToken"?, "timestamp",
 * "executionState"?}. message NULL uses the default text. executionState is added only for
 * VersionMismatch and InvalidStateTransition, and only when state is not NULL.
 */
json_t *jobs_requests_rejected(enum jobs_err err, const char *message, const char *client_token,
			       const struct jobs_execution *state, int64_t now_ms);

#endif
