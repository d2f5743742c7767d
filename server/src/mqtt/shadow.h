/*
 * The Device Shadow service (spec/aws-iot-compat.md section 6, issue 4): the MQTT request topics
 * of classic and named shadows, and the engine every plane shares (MQTT, AWS iot-data over
 * HTTP, native /api/v1).
 *
 * A run takes requests in arrival order and applies them with group commit:
 *   1. every payload is validated first (shadow/ pure code); malformed requests get their
 *      rejection without touching the database;
 *   2. the valid ones run in ONE transaction: one statement loads (and locks) every shadow the
 *      batch touches, the requests are applied in memory in order (so several updates of one
 *      shadow chain correctly, and a version conflict or 404 rejects only its own request), one
 *      statement writes all changed shadows and their history rows; commit;
 *   3. replies and events are published after the commit, in arrival order, so per shadow in
 *      version order. A per-worker lock (the MQTT worker that owns the thing) is held from
 *      before the transaction until the last publish, so HTTP writes to a thing are serialised
 *      with that thing's MQTT batches and their events cannot overtake each other.
 * Updates and deletes start from a bounded per-lock cache of the state this process last wrote
 * (shadow/cache.h) when they can, so a batch usually costs one statement: the write is checked
 * against the stored version, so a stale entry (another instance wrote) only costs a reload;
 * gets and reverts always read the database, and a rejection decided on cached state is
 * re-checked against it.
 * Publishing is direct (QoS 1, never retained), not through an outbox: if the process dies
 * between commit and publish the events are lost, and a device re-syncs with get (the state
 * itself is durable).
 */
#ifndef BW_MQTT_SHADOW_H
#define BW_MQTT_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "core/errors.h"
#include "db/db.h"
#include "mqtt/router.h"
#include "shadow/doc.h"
#include "shadow/topic.h"
#include "shadow/update.h"

/* Largest number of requests applied in one transaction (the MQTT inbox batch size). */
#define MQTT_SHADOW_BATCH_MAX 64

/* Where a request came from: decides which replies are published and the history source. */
enum mqtt_shadow_source {
	MQTT_SHADOW_SOURCE_MQTT = 0, /* device topics: accepted/rejected replies + events */
	MQTT_SHADOW_SOURCE_IOT_DATA, /* AWS HTTP API: events only (update/accepted, documents,
					delta; delete/accepted), never rejected or get replies */
	MQTT_SHADOW_SOURCE_API,	     /* native /api/v1: like IOT_DATA */
};

/* What a request does. GET, UPDATE and DELETE carry an AWS payload; REVERT carries a version. */
enum mqtt_shadow_kind {
	MQTT_SHADOW_GET = SHADOW_OP_GET,
	MQTT_SHADOW_UPDATE = SHADOW_OP_UPDATE,
	MQTT_SHADOW_DELETE = SHADOW_OP_DELETE,
	MQTT_SHADOW_REVERT, /* desired as of revert_version becomes a new update */
};

/* Service options (from the configuration). */
struct mqtt_shadow_options {
	bool is_thing_required; /* BW_SHADOW_REQUIRE_THING: unregistered thing -> 404 */
	size_t max_state_bytes; /* BW_SHADOW_MAX_STATE_BYTES (0 = 8 KiB) */
	unsigned workers;	/* BW_MQTT_WORKERS: one ordering lock per MQTT worker */
	size_t cache_bytes;	/* BW_SHADOW_CACHE_BYTES: cache of written shadows; 0 = off */
};

struct mqtt_shadow_request {
	/* ---- in: set by the caller (all pointers borrowed for the run) ---- */
	enum mqtt_shadow_kind kind;
	const char *thing;   /* must be a valid thing name (callers validate) */
	const char *name;    /* shadow name, NULL or "" = classic (valid if set) */
	const char *payload; /* GET/UPDATE/DELETE: the AWS payload (may be empty for GET/DELETE) */
	size_t payload_len;
	bool has_expected_version; /* DELETE: only if the current version is expected_version */
	int64_t expected_version;
	int64_t revert_version; /* REVERT */
	enum mqtt_shadow_source source;
	const char *actor;	/* history "who"; NULL = "mqtt" */
	int64_t actor_token_id; /* 0 = none */
	const char *request_id; /* NULL = none */

	/* ---- out: filled by mqtt_shadow_run(), released by mqtt_shadow_request_cleanup() ---- */
	enum shadow_err err; /* SHADOW_OK or why it was rejected */
	int code;	     /* HTTP-style status: 200 or the rejection code */
	char message[SHADOW_MSG_MAX];
	bool is_unavailable; /* err is INTERNAL because the database was unavailable (503) */
	json_t *reply;	     /* OK: get document / update accepted / delete reply;
				     else the rejected payload {code,message,timestamp,clientToken?} */
	json_t *delta;	     /* update/delta or NULL */
	json_t *documents;   /* update/documents or NULL */
	int64_t version;     /* OK: the shadow's version after the request (GET: current) */
	bool has_client_token;
	char client_token[SHADOW_CLIENT_TOKEN_MAX + 1];

	/* ---- private ---- */
	struct shadow_update upd;
	bool is_valid;
	/* set by the MQTT intake: more than MQTT_SHADOW_MAX_IN_FLIGHT requests of this thing
	 * arrived together, so this one is answered 429 (spec 6.7) */
	bool is_throttled;
	int key;
};

/* Hook run inside the transaction after each request that changed a shadow (native API: the
 * audit row). A status < 0 fails (DB_HARD) or re-runs (DB_RETRY) the whole transaction. */
typedef enum db_status (*mqtt_shadow_tx_hook)(struct db *db, const struct mqtt_shadow_request *r,
					      void *arg);

/*
 * Set the service options (copied). mqtt_shadow_register() does it from the configuration;
 * callers that serve only HTTP (tests) may call this instead. workers 0 = 4, capped at 64.
 */
void mqtt_shadow_configure(const struct mqtt_shadow_options *opts);

/*
 * Configure from cfg (BW_SHADOW_REQUIRE_THING, BW_SHADOW_MAX_STATE_BYTES, BW_SHADOW_CACHE_BYTES,
 * BW_MQTT_WORKERS) and
 * register the batch handlers of SHADOW_TOPIC_FILTER_CLASSIC and SHADOW_TOPIC_FILTER_NAMED
 * (QoS 1) on router. Call once at startup, before mqtt_client_start(). Returns BW_OK or the
 * router's error.
 */
enum bw_err mqtt_shadow_register(struct mqtt_router *router, const struct config *cfg);

/* Prepare a request: zero everything (then set the "in" fields). */
void mqtt_shadow_request_init(struct mqtt_shadow_request *r);
/* Release a request's outputs. NULL is accepted. */
void mqtt_shadow_request_cleanup(struct mqtt_shadow_request *r);

/*
 * Run n requests (any n; applied in chunks of MQTT_SHADOW_BATCH_MAX) in order: validate, one
 * transaction per chunk, then publish per the sources' rules. hook (may be NULL) runs inside the
 * transaction for every request that changed a shadow. Never fails as a whole: every request
 * ends with err/code/message and reply set (a database failure rejects the valid requests with
 * 500 Internal service failure, is_unavailable when retrying did not help). Must not be called
 * while holding a pool connection. Thread-safe.
 */
void mqtt_shadow_run(struct mqtt_shadow_request *reqs, size_t n, mqtt_shadow_tx_hook hook,
		     void *hook_arg);

/* The configured options (for the HTTP planes: is_thing_required, limits). */
const struct mqtt_shadow_options *mqtt_shadow_options(void);

/* In-flight shadow requests per connection before AWS answers 429 (spec 6.7, 11). Under the
 * default ACL a device's client id is its thing name, so "per connection" is per thing: the
 * requests of one thing that are queued at once beyond this many are throttled. */
#define MQTT_SHADOW_MAX_IN_FLIGHT 10

#endif
