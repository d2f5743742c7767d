/*
 * The AWS IoT Jobs device plane (spec sections 2, 3.2-3.4, 4): GetPendingJobExecutions,
 * StartNextPendingJobExecution, DescribeJobExecution and UpdateJobExecution, for MQTT devices
 * ($aws/things/{thing}/jobs/...) and for the iot-jobs-data HTTP plane, on one engine.
 *
 * A run takes requests in arrival order and applies them with group commit:
 *   1. every request is parsed and validated first (jobs/requests.h); malformed ones get their
 *      rejection without touching the database;
 *   2. one statement loads every execution the valid ones can touch (db/job_executions.h);
 *      the requests are applied in memory in order with the pure state machine
 *      (jobs/execution.h), so several requests of one thing chain and a failing request
 *      rejects only itself; one all-or-nothing statement writes the changed executions
 *      (conditional on the loaded versionNumber) and their history. When no pending list can
 *      have changed (progress reports: IN_PROGRESS -> IN_PROGRESS) that statement commits on
 *      its own; otherwise it and db_job_events_emit() (notify / notify-next into the outbox)
 *      share one READ COMMITTED transaction. A row that moved under the batch (scheduler,
 *      operator, another instance) makes the batch load and apply again;
 *   3. the caller publishes the replies (MQTT: to the requesting client only, spec 2.2).
 * Idempotence: a duplicate of the applied update gets the same accepted reply without a change
 * (jobs_execution_is_duplicate); terminal states never change.
 */
#ifndef BW_MQTT_JOBS_H
#define BW_MQTT_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/errors.h"
#include "jobs/document.h"
#include "jobs/render.h"
#include "jobs/requests.h"
#include "jobs/topics.h"
#include "mqtt/router.h"

/* Largest number of requests applied in one transaction (the MQTT inbox batch size). */
#define MQTT_JOBS_BATCH_MAX 64

struct mqtt_jobs_request {
	/* ---- in (borrowed for the run) ---- */
	struct jobs_topic topic; /* kind, thing, job_id, is_next, is_bad_name */
	enum jobs_plane plane;
	const char *payload; /* MQTT: the payload (may be empty); HTTP: NULL, use body */
	size_t payload_len;
	const json_t *body; /* HTTP: the request object (NULL = {}) */

	/* ---- out (released by mqtt_jobs_request_cleanup) ---- */
	enum jobs_err err; /* JOBS_OK or why it was rejected */
	json_t *reply;	   /* accepted reply, or the rejected payload (MQTT) / NULL (HTTP) */
	char message[JOBS_REQUESTS_MSG_MAX];
	bool is_unavailable; /* err is INTERNAL because the database could not be used */
	enum jobs_exec_status new_status; /* UPDATE/START_NEXT applied: the status written */
	bool is_applied;		  /* the request changed an execution */

	/* ---- private ---- */
	struct jobs_request req;
	bool is_valid;
	bool is_parsed;
};

/* Engine options. */
struct mqtt_jobs_options {
	/* DescribeJobExecution of an execution in a terminal state answers TerminalStateReached
	 * (spec 2.7: AWS defines the code, the trigger is unverified; off by default). */
	bool is_terminal_describe_rejected;
};

/* Set the options (copied). Defaults: all false. */
void mqtt_jobs_configure(const struct mqtt_jobs_options *opts);

/* Resolver of presigned-URL placeholders in documents delivered to devices (spec 3.10);
 * NULL (the default) delivers documents with their placeholders intact. */
void mqtt_jobs_set_presign(jobs_document_presign_fn fn, void *arg);

/* Zero r (then set the "in" fields). */
void mqtt_jobs_request_init(struct mqtt_jobs_request *r);
/* Release r's outputs; NULL is allowed. */
void mqtt_jobs_request_cleanup(struct mqtt_jobs_request *r);

/*
 * Run reqs[0..n) (any n; chunks of MQTT_JOBS_BATCH_MAX) as described above. Never fails as a
 * whole: every request ends with err, message and reply set (a database failure rejects the
 * valid requests with InternalError, is_unavailable set). Must not be called while holding a
 * pool connection. Thread-safe.
 */
void mqtt_jobs_run(struct mqtt_jobs_request *reqs, size_t n);

/*
 * Run one Jobs request that arrived by other means than a device's MQTT publish (iot-data
 * Publish, POST /topics/{topic}: spec 7) exactly like a device publish of payload (len bytes,
 * NULL = empty) on topic: same parsing, transaction, history and notify events. There is no
 * requesting client, so the accepted / rejected reply is an ordinary publish (QoS qos, not
 * retained) on the reply topic, received by that topic's subscribers. Returns false, doing
 * nothing, when topic is not a Jobs request topic (replies and events included); true once the
 * request has run (whatever its outcome). Must not be called while holding a pool connection.
 */
bool mqtt_jobs_run_published(const char *topic, const void *payload, size_t len, int qos);

/*
 * Register the MQTT batch handler of JOBS_TOPICS_JOBS_FILTER ("$aws/things/+/jobs/#", QoS 1)
 * on router: requests are dispatched with jobs_topics_parse (other shapes under
 * $aws/things/{t}/jobs/ get InvalidTopic; the server's own reply and event topics are
 * ignored). Call once at startup, before mqtt_client_start(). Returns BW_OK or the router's
 * error.
 */
enum bw_err mqtt_jobs_register(struct mqtt_router *router);

#endif
