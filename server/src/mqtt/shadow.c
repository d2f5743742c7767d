#include "mqtt/shadow.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/strutil.h"
#include "db/shadows.h"
#include "mqtt/client.h"
#include "mqtt/inbox.h"
#include "shadow/cache.h"
#include "shadow/delta.h"
#include "shadow/dump.h"
#include "shadow/revert.h"

#define MAX_LOCKS 64	 /* BW_MQTT_WORKERS maximum */
#define WRITE_ATTEMPTS 8 /* a batch whose rows changed under it is re-applied this often */

/* One ordering lock per MQTT worker, and the cache of the shadows of that worker's things
 * (only touched with the lock held). */
static struct {
	struct mqtt_shadow_options opts;
	pthread_mutex_t locks[MAX_LOCKS];
	struct shadow_cache *caches[MAX_LOCKS]; /* NULL = caching off */
	pthread_once_t once;
} svc = { .opts = { .workers = 4 }, .once = PTHREAD_ONCE_INIT };

static void init_locks(void)
{
	for (size_t i = 0; i < MAX_LOCKS; i++)
		pthread_mutex_init(&svc.locks[i], NULL);
	metrics_describe("bw_shadow_operations_total", "counter",
			 "Shadow requests by operation, source and result code");
	metrics_describe("bw_shadow_update_duration_seconds", "histogram",
			 "Shadow update latency: from the start of its batch to its last publish");
	metrics_describe("bw_shadow_batches_total", "counter",
			 "Shadow request batches applied (one transaction each)");
	metrics_describe(
		"bw_shadow_batch_requests_total", "counter",
		"Shadow requests in applied batches (divide by batches for the mean size)");
	metrics_describe("bw_shadow_publish_failures_total", "counter",
			 "Shadow replies or events that could not be handed to the broker");
}

void mqtt_shadow_configure(const struct mqtt_shadow_options *opts)
{
	size_t per_lock;

	pthread_once(&svc.once, init_locks);
	for (size_t i = 0; i < MAX_LOCKS; i++) {
		pthread_mutex_lock(&svc.locks[i]);
		shadow_cache_free(svc.caches[i]);
		svc.caches[i] = NULL;
		pthread_mutex_unlock(&svc.locks[i]);
	}
	svc.opts = *opts;
	if (svc.opts.workers == 0)
		svc.opts.workers = 4;
	if (svc.opts.workers > MAX_LOCKS)
		svc.opts.workers = MAX_LOCKS;
	if (svc.opts.max_state_bytes == 0)
		svc.opts.max_state_bytes = SHADOW_DEFAULT_MAX_STATE_BYTES;
	per_lock = svc.opts.cache_bytes / svc.opts.workers;
	for (unsigned i = 0; per_lock > 0 && i < svc.opts.workers; i++) {
		/* about one slot per 2 KiB of budget: small shadows fill it evenly */
		svc.caches[i] = shadow_cache_new(per_lock / 2048 + 64, per_lock);
		if (!svc.caches[i])
			log_warn("shadow", "shadow_cache_disabled",
				 LOG_S("reason", "out of memory"), LOG_END);
	}
}

const struct mqtt_shadow_options *mqtt_shadow_options(void)
{
	return &svc.opts;
}

void mqtt_shadow_request_init(struct mqtt_shadow_request *r)
{
	memset(r, 0, sizeof(*r));
	r->key = -1;
}

/* Drop the outputs of one attempt (a transaction may run several times). */
static void clear_outputs(struct mqtt_shadow_request *r)
{
	json_decref(r->reply);
	json_decref(r->delta);
	json_decref(r->documents);
	r->reply = NULL;
	r->delta = NULL;
	r->documents = NULL;
	r->version = 0;
	r->err = SHADOW_OK;
	r->code = 200;
	r->message[0] = '\0';
	r->is_unavailable = false;
}

void mqtt_shadow_request_cleanup(struct mqtt_shadow_request *r)
{
	if (!r)
		return;
	clear_outputs(r);
	shadow_update_cleanup(&r->upd);
}

/* ---- a batch ---- */

struct key_state {
	const char *thing; /* borrowed from the first request naming the key */
	const char *name;  /* "" = classic */
	unsigned lock;	   /* ordering lock (and cache) of the thing */
	struct shadow cur;
	int64_t loaded_version; /* 0 = no row */
	bool is_dirty;
	bool is_registered;
	bool is_corrupt;
	bool is_cacheable; /* only updates/deletes touch it, and the batch holds its lock */
	bool is_from_cache;
};

struct batch {
	struct mqtt_shadow_request *reqs;
	size_t n;
	struct key_state keys[MQTT_SHADOW_BATCH_MAX];
	size_t nkeys;
	bool has_writes;
	int64_t now_s;
	mqtt_shadow_tx_hook hook;
	void *hook_arg;
};

static const char *req_name(const struct mqtt_shadow_request *r)
{
	return r->name ? r->name : "";
}

/* The name quoted in "No shadow exists with name: '...'": thing for classic (quirk 27). */
static const char *quoted_name(const struct mqtt_shadow_request *r)
{
	return r->name && *r->name ? r->name : r->thing;
}

static const char *token_of(const struct mqtt_shadow_request *r)
{
	return r->has_client_token ? r->client_token : NULL;
}

/* Reject r with err (the message quoting name where the error has one). */
static void reject(struct mqtt_shadow_request *r, enum shadow_err err, int64_t now_s)
{
	json_decref(r->reply);
	r->err = err;
	shadow_err_format(err, quoted_name(r), &r->code, r->message, sizeof(r->message));
	r->reply = shadow_error_reply_new(r->code, r->message, now_s, token_of(r));
}

/* Turn the code/message a shadow_* function already formatted into the rejected payload. */
static void rejected_payload(struct mqtt_shadow_request *r, enum shadow_err err, int64_t now_s)
{
	json_decref(r->reply);
	r->err = err;
	r->reply = shadow_error_reply_new(r->code, r->message, now_s, token_of(r));
}

/* Validation without the database (spec 6.7). */
static void validate(struct mqtt_shadow_request *r, int64_t now_s)
{
	struct shadow_token_request t;
	enum shadow_err err = SHADOW_OK;

	clear_outputs(r);
	r->is_valid = false;
	if (r->is_throttled) {
		/* keep the clientToken so the device can correlate the 429 */
		struct shadow_token_request tok;
		int code;
		char msg[64];
		if (shadow_token_request_parse(r->payload, r->payload_len, &tok, &code, msg,
					       sizeof(msg)) == SHADOW_OK) {
			r->has_client_token = tok.has_client_token;
			memcpy(r->client_token, tok.client_token, sizeof(r->client_token));
		}
		reject(r, SHADOW_ERR_THROTTLED, now_s);
		return;
	}
	if (!r->thing || !strutil_is_valid_thing_name(r->thing) ||
	    (r->name && *r->name && !strutil_is_valid_shadow_name(r->name))) {
		log_error("shadow", "shadow_bad_request_names", LOG_END);
		reject(r, SHADOW_ERR_INTERNAL, now_s);
		return;
	}
	switch (r->kind) {
	case MQTT_SHADOW_UPDATE:
		err = shadow_update_parse(r->payload, r->payload_len, &r->upd, &r->code, r->message,
					  sizeof(r->message));
		r->has_client_token = r->upd.has_client_token;
		memcpy(r->client_token, r->upd.client_token, sizeof(r->client_token));
		break;
	case MQTT_SHADOW_GET:
	case MQTT_SHADOW_DELETE:
		err = shadow_token_request_parse(r->payload, r->payload_len, &t, &r->code,
						 r->message, sizeof(r->message));
		r->has_client_token = t.has_client_token;
		memcpy(r->client_token, t.client_token, sizeof(r->client_token));
		break;
	case MQTT_SHADOW_REVERT:
		r->has_client_token = false;
		break;
	default:
		reject(r, SHADOW_ERR_INTERNAL, now_s);
		return;
	}
	if (err) {
		rejected_payload(r, err, now_s);
		return;
	}
	r->is_valid = true;
}

static unsigned lock_index(const char *thing);

static int key_index(struct batch *b, const struct mqtt_shadow_request *r)
{
	const char *name = req_name(r);
	struct key_state *k;
	bool is_write = r->kind == MQTT_SHADOW_UPDATE || r->kind == MQTT_SHADOW_DELETE;

	for (size_t i = 0; i < b->nkeys; i++) {
		if (strcmp(b->keys[i].thing, r->thing) == 0 && strcmp(b->keys[i].name, name) == 0) {
			b->keys[i].is_cacheable = b->keys[i].is_cacheable && is_write;
			return (int)i;
		}
	}
	/* nkeys <= n <= MQTT_SHADOW_BATCH_MAX */
	k = &b->keys[b->nkeys];
	k->thing = r->thing;
	k->name = name;
	k->lock = lock_index(r->thing);
	/* GETs and reverts always read the database: with several instances the cache may be
	 * stale, and only writes are checked against the stored version */
	k->is_cacheable = is_write && svc.caches[k->lock] && !svc.opts.is_thing_required;
	shadow_init(&k->cur);
	return (int)b->nkeys++;
}

/* Text of a JSON value for the database (consumes v); NULL on allocation failure. */
static char *dump_text(json_t *v)
{
	char *s = v ? shadow_dumps(v, SHADOW_DUMP_DB, NULL) : NULL;

	json_decref(v);
	return s;
}

/* Load every key's row and whether its thing is registered (one statement). */
static enum db_status load_keys(struct batch *b, struct db *db)
{
	json_t *keys = json_array();
	struct db_rows *rows = NULL;
	char *text = NULL;
	enum db_status st = DB_HARD;
	size_t db_key[MQTT_SHADOW_BATCH_MAX]; /* key index of each key loaded from the database */
	size_t ndb = 0;

	if (!keys)
		goto out;
	for (size_t i = 0; i < b->nkeys; i++) {
		struct key_state *k = &b->keys[i];

		shadow_cleanup(&k->cur);
		k->loaded_version = 0;
		k->is_dirty = false;
		k->is_corrupt = false;
		k->is_registered = !svc.opts.is_thing_required;
		k->is_from_cache = k->is_cacheable && shadow_cache_take(svc.caches[k->lock],
									k->thing, k->name, &k->cur);
		if (k->is_from_cache) {
			k->loaded_version = k->cur.version;
			continue;
		}
		if (json_array_append_new(keys, json_pack("[ss]", k->thing, k->name)) < 0)
			goto out;
		db_key[ndb++] = i;
	}
	st = DB_ONE;
	if (ndb == 0)
		goto out; /* everything came from the cache */
	text = dump_text(json_incref(keys));
	if (!text) {
		st = DB_HARD;
		goto out;
	}
	st = db_shadows_load(db, text, &rows);
	if (st < 0)
		goto out;
	for (int r = 0; rows && r < rows->nrows; r++) {
		long long pos = strtoll(db_rows_get(rows, r, 0), NULL, 10) - 1;
		const char *version = db_rows_get(rows, r, 1);
		const char *doc = db_rows_get(rows, r, 2);
		const char *registered = db_rows_get(rows, r, 3);
		struct key_state *k;
		json_t *j;

		if (pos < 0 || (size_t)pos >= ndb)
			continue;
		k = &b->keys[db_key[pos]];
		k->is_registered =
			!svc.opts.is_thing_required || (registered && strcmp(registered, "t") == 0);
		if (!version)
			continue; /* no row */
		k->loaded_version = strtoll(version, NULL, 10);
		if (doc) {
			j = json_loads(doc, 0, NULL);
			if (!j || shadow_from_document(j, &k->cur) != SHADOW_OK) {
				log_error("shadow", "shadow_document_corrupt",
					  LOG_S("thing", k->thing), LOG_S("shadow", k->name),
					  LOG_END);
				k->is_corrupt = true;
			}
			json_decref(j);
		}
		k->cur.version = k->loaded_version; /* a tombstone keeps its version */
	}
	st = DB_ONE;
out:
	db_rows_free(rows);
	free(text);
	json_decref(keys);
	return st;
}

/* Adds a history row for a change of key k made by r. */
static int add_history(json_t *history, const struct key_state *k,
		       const struct mqtt_shadow_request *r, int64_t version, const char *kind,
		       const json_t *prev_desired, const json_t *desired)
{
	static const char *const sources[] = { "mqtt", "iot-data", "api" };
	json_t *h = json_object();

	if (!h || json_array_append_new(history, h) < 0)
		return -1;
	if (json_object_set_new(h, "t", json_string(k->thing)) < 0 ||
	    json_object_set_new(h, "n", json_string(k->name)) < 0 ||
	    json_object_set_new(h, "v", json_integer(version)) < 0 ||
	    json_object_set_new(h, "k", json_string(kind)) < 0 ||
	    json_object_set_new(h, "s", json_string(sources[r->source])) < 0 ||
	    json_object_set_new(h, "a", json_string(r->actor ? r->actor : "mqtt")) < 0 ||
	    json_object_set_new(h, "ti",
				r->actor_token_id ? json_integer(r->actor_token_id) : json_null()) <
		    0 ||
	    json_object_set_new(h, "ri", r->request_id ? json_string(r->request_id) : json_null()) <
		    0 ||
	    json_object_set_new(h, "ct",
				r->has_client_token ? json_string(r->client_token) : json_null()) <
		    0 ||
	    json_object_set_new(h, "pd",
				prev_desired ? json_incref((json_t *)prev_desired) : json_null()) <
		    0 ||
	    json_object_set_new(h, "nd", desired ? json_incref((json_t *)desired) : json_null()) <
		    0 ||
	    json_object_set_new(h, "rv",
				r->kind == MQTT_SHADOW_REVERT ? json_integer(r->revert_version)
							      : json_null()) < 0)
		return -1;
	return 0;
}

/* Apply update u (the request's own, or a revert's) to key k. -1 on allocation failure. */
static int apply_update(struct batch *b, struct mqtt_shadow_request *r, struct key_state *k,
			const struct shadow_update *u, json_t *history)
{
	struct shadow_limits lim = { .max_state_bytes = svc.opts.max_state_bytes };
	struct shadow next;
	struct shadow_update_result res;
	enum shadow_err err;
	const json_t *prev = k->cur.is_present ? k->cur.desired : NULL;
	int rc = 0;

	err = shadow_apply_update(&k->cur, u, &lim, b->now_s, &next, &res, &r->code, r->message,
				  sizeof(r->message));
	if (err) {
		rejected_payload(r, err, b->now_s);
		goto out;
	}
	if (r->kind == MQTT_SHADOW_REVERT || !shadow_json_equal(prev, next.desired)) {
		if (add_history(history, k, r, next.version,
				r->kind == MQTT_SHADOW_REVERT ? "revert" : "update", prev,
				next.desired) < 0) {
			rc = -1;
			goto out;
		}
	}
	r->reply = res.accepted;
	r->delta = res.delta;
	r->documents = res.documents;
	shadow_update_result_init(&res);
	r->version = next.version;
	shadow_cleanup(&k->cur);
	k->cur = next;
	shadow_init(&next);
	k->is_dirty = true;
out:
	shadow_cleanup(&next);
	shadow_update_result_cleanup(&res);
	return rc;
}

static enum db_status apply_delete(struct batch *b, struct mqtt_shadow_request *r,
				   struct key_state *k, json_t *history)
{
	struct shadow tomb;
	enum shadow_err err;

	if (r->has_expected_version && k->cur.is_present && k->cur.version != r->expected_version) {
		reject(r, SHADOW_ERR_VERSION_CONFLICT, b->now_s);
		return DB_ONE;
	}
	err = shadow_delete(&k->cur, b->now_s, token_of(r), quoted_name(r), &tomb, &r->reply,
			    &r->code, r->message, sizeof(r->message));
	if (err) {
		shadow_cleanup(&tomb);
		rejected_payload(r, err, b->now_s);
		return DB_ONE;
	}
	if (k->cur.desired &&
	    add_history(history, k, r, k->cur.version, "delete", k->cur.desired, NULL) < 0) {
		shadow_cleanup(&tomb);
		return DB_HARD;
	}
	r->version = tomb.version;
	shadow_cleanup(&k->cur);
	k->cur = tomb;
	k->is_dirty = true;
	return DB_ONE;
}

static enum db_status apply_revert(struct batch *b, struct db *db, struct mqtt_shadow_request *r,
				   struct key_state *k, json_t *history)
{
	struct shadow_update u;
	json_t *target = NULL;
	enum db_status st;

	if (k->cur.version == 0) { /* never existed: nothing to go back to */
		reject(r, SHADOW_ERR_NOT_FOUND, b->now_s);
		return DB_ONE;
	}
	if (r->revert_version < 1 || r->revert_version > k->cur.version) {
		reject(r, SHADOW_ERR_INVALID_VERSION, b->now_s);
		return DB_ONE;
	}
	st = db_shadows_desired_at(db, k->thing, k->name, r->revert_version, &target);
	if (st < 0)
		return st;
	if (shadow_revert_update(k->cur.is_present ? k->cur.desired : NULL, target, &u) < 0) {
		json_decref(target);
		return DB_HARD;
	}
	st = apply_update(b, r, k, &u, history) < 0 ? DB_HARD : DB_ONE;
	shadow_update_cleanup(&u);
	json_decref(target);
	return st;
}

static enum db_status apply_one(struct batch *b, struct db *db, struct mqtt_shadow_request *r,
				json_t *history)
{
	struct key_state *k = &b->keys[r->key];
	enum db_status st = DB_ONE;

	if (k->is_corrupt) {
		reject(r, SHADOW_ERR_INTERNAL, b->now_s);
		return DB_ONE;
	}
	if (!k->is_registered) {
		reject(r, SHADOW_ERR_THING_NOT_FOUND, b->now_s);
		return DB_ONE;
	}
	switch (r->kind) {
	case MQTT_SHADOW_GET: {
		enum shadow_err err =
			shadow_get_document(&k->cur, b->now_s, token_of(r), quoted_name(r),
					    &r->reply, &r->code, r->message, sizeof(r->message));
		if (err)
			rejected_payload(r, err, b->now_s);
		else
			r->version = k->cur.version;
		return DB_ONE;
	}
	case MQTT_SHADOW_UPDATE:
		st = apply_update(b, r, k, &r->upd, history) < 0 ? DB_HARD : DB_ONE;
		break;
	case MQTT_SHADOW_DELETE:
		st = apply_delete(b, r, k, history);
		break;
	case MQTT_SHADOW_REVERT:
		st = apply_revert(b, db, r, k, history);
		break;
	}
	if (st >= 0 && r->err != SHADOW_OK && k->is_from_cache) {
		/* decided on cached state, which another instance may have changed: re-run the
		 * batch with this key read from the database (its entry is gone from the cache) */
		return DB_RETRY;
	}
	if (st >= 0 && r->err == SHADOW_OK && b->hook)
		st = b->hook(db, r, b->hook_arg);
	return st;
}

/* Rows of the changed keys for db_shadows_write(). */
static char *dirty_rows(struct batch *b, int *ndirty)
{
	json_t *rows = json_array();

	*ndirty = 0;
	if (!rows)
		return NULL;
	for (size_t i = 0; i < b->nkeys; i++) {
		struct key_state *k = &b->keys[i];
		json_t *doc;

		if (!k->is_dirty)
			continue;
		doc = k->cur.is_present ? shadow_document_new(&k->cur) : json_null();
		if (!doc || json_array_append_new(
				    rows, json_pack("{s:s,s:s,s:I,s:I,s:o}", "t", k->thing, "n",
						    k->name, "v", (json_int_t)k->cur.version, "p",
						    (json_int_t)k->loaded_version, "d", doc)) < 0) {
			json_decref(rows);
			return NULL;
		}
		(*ndirty)++;
	}
	return dump_text(rows);
}

/* Load, apply, write: re-runnable (everything is reset and recomputed from the rows). Runs
 * without a transaction (the write is one atomic, version-checked statement) unless a hook
 * must write in the same transaction. */
static enum db_status batch_tx(struct db *db, void *arg)
{
	struct batch *b = arg;
	json_t *history = json_array();
	char *rows = NULL, *hist = NULL;
	enum db_status st = DB_HARD;
	int ndirty = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (b->reqs[i].is_valid)
			clear_outputs(&b->reqs[i]);
	}
	if (!history)
		goto out;
	st = load_keys(b, db);
	if (st < 0)
		goto out;
	for (size_t i = 0; i < b->n; i++) {
		if (!b->reqs[i].is_valid)
			continue;
		st = apply_one(b, db, &b->reqs[i], history);
		if (st < 0)
			goto out;
	}
	rows = dirty_rows(b, &ndirty);
	if (!rows) {
		st = DB_HARD;
		goto out;
	}
	st = DB_ONE;
	if (ndirty > 0) {
		hist = dump_text(json_incref(history));
		st = hist ? db_shadows_write(db, rows, hist) : DB_HARD;
	}
out:
	free(rows);
	free(hist);
	json_decref(history);
	return st;
}

/* ---- publishing ---- */

static void publish_json(const struct mqtt_shadow_request *r, const char *suffix,
			 const json_t *payload)
{
	char topic[SHADOW_TOPIC_MAX];
	size_t len = 0;
	char *text;
	int rc = BW_ERR_INTERNAL;

	if (!shadow_topic_format(topic, sizeof(topic), r->thing, r->name, suffix))
		return;
	text = shadow_dumps(payload, 0, &len);
	if (text)
		rc = mqtt_client_publish(topic, text, len, 1, false);
	free(text);
	if (rc != BW_OK) {
		metrics_counter_add("bw_shadow_publish_failures_total", NULL, 1);
		log_warn("shadow", "shadow_publish_failed", LOG_S("topic", topic),
			 LOG_S("error", bw_err_code(rc)), LOG_END);
	}
}

static void publish(const struct mqtt_shadow_request *r)
{
	const char *op = shadow_op_name(r->kind == MQTT_SHADOW_REVERT ? SHADOW_OP_UPDATE
								      : (enum shadow_op)r->kind);
	char suffix[32];

	if (r->source == MQTT_SHADOW_SOURCE_MQTT) {
		if (!r->reply)
			return;
		snprintf(suffix, sizeof(suffix), "%s/%s", op, r->err ? "rejected" : "accepted");
		publish_json(r, suffix, r->reply);
	} else if (!r->err && r->kind != MQTT_SHADOW_GET && r->reply) {
		/* REST changes reach MQTT subscribers too (spec 7); REST failures never do */
		snprintf(suffix, sizeof(suffix), "%s/accepted", op);
		publish_json(r, suffix, r->reply);
	}
	if (r->err)
		return;
	if (r->documents)
		publish_json(r, "update/documents", r->documents);
	if (r->delta)
		publish_json(r, "update/delta", r->delta);
}

/* ---- running a chunk ---- */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned lock_index(const char *thing)
{
	char topic[SHADOW_TOPIC_MAX];

	if (!shadow_topic_format(topic, sizeof(topic), thing, NULL, "update"))
		return 0;
	/* the MQTT worker that owns this thing's messages */
	return mqtt_inbox_shard(topic, svc.opts.workers);
}

/* After a successful batch (locks held): remember every existing shadow it touched. */
static void cache_keep(struct batch *b)
{
	for (size_t i = 0; i < b->nkeys; i++) {
		struct key_state *k = &b->keys[i];

		if (!svc.caches[k->lock] || k->is_corrupt || k->cur.version == 0)
			continue;
		if (svc.opts.is_thing_required)
			continue;
		shadow_cache_put(svc.caches[k->lock], k->thing, k->name, &k->cur);
	}
}

static void fail_valid(struct batch *b, bool is_unavailable)
{
	for (size_t i = 0; i < b->n; i++) {
		struct mqtt_shadow_request *r = &b->reqs[i];

		if (!r->is_valid)
			continue;
		clear_outputs(r);
		reject(r, SHADOW_ERR_INTERNAL, b->now_s);
		r->is_unavailable = is_unavailable;
	}
}

/* batch_tx outside a transaction, re-run when a row changed under it (another instance). */
static enum db_status run_retrying(struct db *db, struct batch *b)
{
	enum db_status st = DB_RETRY;

	for (int attempt = 0; attempt < WRITE_ATTEMPTS && st == DB_RETRY; attempt++) {
		if (attempt > 0) {
			struct timespec ts = { 0, (long)(1000000 + rand() % (attempt * 2000000)) };

			nanosleep(&ts, NULL);
		}
		st = batch_tx(db, b);
	}
	return st;
}

static const char *const kind_names[] = { "get", "update", "delete", "revert" };
static const char *const source_names[] = { "mqtt", "iot-data", "api" };

/* Counts the chunk's requests by (op, source, code), one metrics call per distinct series
 * (the metrics registry takes a global lock), and observes each accepted update's latency. */
static void record_metrics(const struct mqtt_shadow_request *reqs, size_t n, double dur)
{
	struct {
		int kind, source, code;
		double count;
	} series[MQTT_SHADOW_BATCH_MAX];
	size_t nseries = 0;
	char labels[128];

	for (size_t i = 0; i < n; i++) {
		const struct mqtt_shadow_request *r = &reqs[i];
		size_t k;

		for (k = 0; k < nseries; k++) {
			if (series[k].kind == (int)r->kind && series[k].source == (int)r->source &&
			    series[k].code == r->code)
				break;
		}
		if (k == nseries) {
			series[k].kind = (int)r->kind;
			series[k].source = (int)r->source;
			series[k].code = r->code;
			series[k].count = 0;
			nseries++;
		}
		series[k].count++;
		if (r->kind == MQTT_SHADOW_UPDATE && !r->err) {
			snprintf(labels, sizeof(labels), "source=\"%s\"", source_names[r->source]);
			metrics_histogram_observe("bw_shadow_update_duration_seconds", labels, dur);
		}
	}
	for (size_t k = 0; k < nseries; k++) {
		snprintf(labels, sizeof(labels), "op=\"%s\",source=\"%s\",code=\"%d\"",
			 kind_names[series[k].kind], source_names[series[k].source],
			 series[k].code);
		metrics_counter_add("bw_shadow_operations_total", labels, series[k].count);
	}
}

static void run_chunk(struct mqtt_shadow_request *reqs, size_t n, mqtt_shadow_tx_hook hook,
		      void *hook_arg)
{
	struct batch *b = calloc(1, sizeof(*b));
	double t0 = mono_s();
	uint64_t lock_mask = 0;
	size_t nvalid = 0;

	pthread_once(&svc.once, init_locks);
	if (!b) {
		for (size_t i = 0; i < n; i++) {
			clear_outputs(&reqs[i]);
			reqs[i].err = SHADOW_ERR_INTERNAL;
			shadow_err_format(SHADOW_ERR_INTERNAL, NULL, &reqs[i].code, reqs[i].message,
					  sizeof(reqs[i].message));
		}
		log_error("shadow", "shadow_batch_oom", LOG_END);
		return;
	}
	b->reqs = reqs;
	b->n = n;
	b->now_s = (int64_t)time(NULL);
	b->hook = hook;
	b->hook_arg = hook_arg;
	for (size_t i = 0; i < n; i++) {
		validate(&reqs[i], b->now_s);
		if (!reqs[i].is_valid)
			continue;
		nvalid++;
		if (reqs[i].kind != MQTT_SHADOW_GET)
			b->has_writes = true;
	}
	/* a batch that writes holds the ordering lock of every thing it touches (and may use
	 * their caches); a read-only batch needs no lock */
	for (size_t i = 0; b->has_writes && i < n; i++) {
		if (reqs[i].is_valid)
			lock_mask |= UINT64_C(1) << lock_index(reqs[i].thing);
	}
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].is_valid)
			reqs[i].key = key_index(b, &reqs[i]);
	}
	for (size_t i = 0; !b->has_writes && i < b->nkeys; i++)
		b->keys[i].is_cacheable = false;
	if (nvalid > 0) {
		struct db *db = db_pool_get();
		enum db_status st;

		if (!db) {
			fail_valid(b, true);
		} else {
			for (unsigned i = 0; i < MAX_LOCKS; i++) {
				if (lock_mask & (UINT64_C(1) << i))
					pthread_mutex_lock(&svc.locks[i]);
			}
			if (b->hook)
				st = db_tx_run(db, DB_READ_COMMITTED, batch_tx, b);
			else
				st = run_retrying(db, b);
			db_pool_put(db);
			if (st < 0) {
				log_warn("shadow", "shadow_batch_failed",
					 LOG_I("requests", (int64_t)n),
					 LOG_S("status", st == DB_RETRY ? "retry" : "hard"),
					 LOG_END);
				fail_valid(b, st == DB_RETRY);
			} else if (b->has_writes) {
				cache_keep(b);
			}
		}
		metrics_counter_add("bw_shadow_batches_total", NULL, 1);
		metrics_counter_add("bw_shadow_batch_requests_total", NULL, (double)nvalid);
	}
	for (size_t i = 0; i < n; i++)
		publish(&reqs[i]);
	for (unsigned i = MAX_LOCKS; i-- > 0;) {
		if (lock_mask & (UINT64_C(1) << i))
			pthread_mutex_unlock(&svc.locks[i]);
	}

	record_metrics(reqs, n, mono_s() - t0);
	for (size_t i = 0; i < n; i++) {
		const struct mqtt_shadow_request *r = &reqs[i];

		log_debug("shadow", "shadow_request", LOG_S("op", kind_names[r->kind]),
			  LOG_S("source", source_names[r->source]), LOG_S("thing", r->thing),
			  LOG_S("shadow", req_name(r)), LOG_I("code", r->code),
			  LOG_I("version", r->version), LOG_END);
	}
	for (size_t i = 0; i < b->nkeys; i++)
		shadow_cleanup(&b->keys[i].cur);
	free(b);
}

void mqtt_shadow_run(struct mqtt_shadow_request *reqs, size_t n, mqtt_shadow_tx_hook hook,
		     void *hook_arg)
{
	for (size_t off = 0; off < n; off += MQTT_SHADOW_BATCH_MAX)
		run_chunk(reqs + off,
			  n - off < MQTT_SHADOW_BATCH_MAX ? n - off : MQTT_SHADOW_BATCH_MAX, hook,
			  hook_arg);
}

/* ---- MQTT ---- */

static void on_messages(const struct mqtt_message *const *msgs, size_t count, void *arg)
{
	struct mqtt_shadow_request *reqs = calloc(count, sizeof(*reqs));
	struct shadow_topic *topics = calloc(count, sizeof(*topics));
	size_t n = 0, throttled = 0;
	(void)arg;

	if (!reqs || !topics) {
		log_error("shadow", "shadow_batch_oom", LOG_I("messages", (int64_t)count), LOG_END);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct mqtt_shadow_request *r = &reqs[n];

		if (!shadow_topic_parse(msgs[i]->topic, &topics[n])) {
			log_debug("shadow", "shadow_topic_ignored", LOG_S("topic", msgs[i]->topic),
				  LOG_END);
			continue;
		}
		mqtt_shadow_request_init(r);
		r->kind = (enum mqtt_shadow_kind)topics[n].op;
		r->thing = topics[n].thing;
		r->name = topics[n].name;
		r->payload = msgs[i]->payload;
		r->payload_len = msgs[i]->payload_len;
		r->source = MQTT_SHADOW_SOURCE_MQTT;
		n++;
	}
	/* more than MQTT_SHADOW_MAX_IN_FLIGHT requests of one thing queued together: 429 (the
	 * same answer as for a request the full inbox could not take, mqtt/throttle.h) */
	for (size_t i = 0; i < n; i++) {
		size_t before = 0;
		for (size_t k = 0; k < i && before <= MQTT_SHADOW_MAX_IN_FLIGHT; k++)
			before += strcmp(reqs[k].thing, reqs[i].thing) == 0;
		reqs[i].is_throttled = before >= MQTT_SHADOW_MAX_IN_FLIGHT;
		throttled += reqs[i].is_throttled;
	}
	if (throttled > 0)
		metrics_counter_add("bw_mqtt_requests_throttled_total",
				    "api=\"shadow\",reason=\"in_flight\"", (double)throttled);
	mqtt_shadow_run(reqs, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		mqtt_shadow_request_cleanup(&reqs[i]);
out:
	free(reqs);
	free(topics);
}

enum bw_err mqtt_shadow_register(struct mqtt_router *router, const struct config *cfg)
{
	struct mqtt_shadow_options o = {
		.is_thing_required = cfg->shadow_require_thing,
		.max_state_bytes = (size_t)cfg->shadow_max_state_bytes,
		.workers = (unsigned)cfg->mqtt_workers,
		.cache_bytes = (size_t)cfg->shadow_cache_bytes,
	};
	enum bw_err err;

	mqtt_shadow_configure(&o);
	err = mqtt_router_add_batch(router, SHADOW_TOPIC_FILTER_CLASSIC, 1, on_messages, NULL);
	if (err == BW_OK)
		err = mqtt_router_add_batch(router, SHADOW_TOPIC_FILTER_NAMED, 1, on_messages,
					    NULL);
	if (err != BW_OK)
		log_error("shadow", "shadow_register_failed", LOG_S("error", bw_err_code(err)),
			  LOG_END);
	return err;
}
