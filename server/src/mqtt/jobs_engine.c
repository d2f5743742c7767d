/* The Jobs device-plane engine shared by MQTT and iot-jobs-data (mqtt/jobs.h). */
#include "mqtt/jobs.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "db/job_events.h"
#include "db/job_executions.h"
#include "jobs/events.h"

static struct {
	pthread_mutex_t lock;
	struct mqtt_jobs_options opts;
	jobs_document_presign_fn presign;
	void *presign_arg;
} svc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void describe_metrics(void)
{
	metrics_describe("bw_jobs_execution_updates_total", "counter",
			 "Job execution transitions applied from device requests, by new status");
	metrics_describe("bw_jobs_device_requests_total", "counter",
			 "Jobs device requests by operation and result code");
	metrics_describe("bw_jobs_batches_total", "counter",
			 "Jobs device request batches applied (one transaction each)");
}

void mqtt_jobs_configure(const struct mqtt_jobs_options *opts)
{
	pthread_mutex_lock(&svc.lock);
	svc.opts = *opts;
	pthread_mutex_unlock(&svc.lock);
}

void mqtt_jobs_set_presign(jobs_document_presign_fn fn, void *arg)
{
	pthread_mutex_lock(&svc.lock);
	svc.presign = fn;
	svc.presign_arg = arg;
	pthread_mutex_unlock(&svc.lock);
}

void mqtt_jobs_request_init(struct mqtt_jobs_request *r)
{
	memset(r, 0, sizeof(*r));
}

static void clear_outputs(struct mqtt_jobs_request *r)
{
	json_decref(r->reply);
	r->reply = NULL;
	r->err = JOBS_OK;
	r->message[0] = '\0';
	r->is_unavailable = false;
	r->is_applied = false;
}

void mqtt_jobs_request_cleanup(struct mqtt_jobs_request *r)
{
	if (!r)
		return;
	clear_outputs(r);
	if (r->is_parsed)
		jobs_requests_cleanup(&r->req);
	r->is_parsed = false;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reject r with err; state (may be NULL) is the execution for VersionMismatch and
 * InvalidStateTransition. msg NULL keeps r->message (or the default text). */
static void reject(struct mqtt_jobs_request *r, enum jobs_err err, const char *msg,
		   const struct jobs_execution *state, int64_t now)
{
	json_decref(r->reply);
	r->reply = NULL;
	r->err = err;
	if (msg)
		snprintf(r->message, sizeof(r->message), "%s", msg);
	if (!r->message[0])
		snprintf(r->message, sizeof(r->message), "%s", jobs_err_message(err));
	if (r->plane == JOBS_PLANE_MQTT)
		r->reply = jobs_requests_rejected(err, r->message, jobs_requests_token(&r->req),
						  state, now);
}

static void validate(struct mqtt_jobs_request *r, int64_t now)
{
	enum jobs_err err;

	clear_outputs(r);
	r->is_valid = false;
	if (r->plane == JOBS_PLANE_MQTT)
		err = jobs_requests_parse_topic(&r->topic, r->payload, r->payload_len, &r->req,
						r->message, sizeof(r->message));
	else
		err = jobs_requests_parse_json(r->topic.kind, r->body, &r->req, r->message,
					       sizeof(r->message));
	r->is_parsed = true;
	if (err != JOBS_OK) {
		reject(r, err, NULL, NULL, now);
		return;
	}
	r->is_valid = true;
}

/* ---- applying one request to the loaded snapshot ---- */

struct run {
	struct mqtt_jobs_request *reqs;
	size_t n;
	struct db_job_snapshot snap;
	int64_t now;
	jobs_document_presign_fn presign;
	void *presign_arg;
	bool is_terminal_describe_rejected;
};

static struct db_job_exec *exec_of(const struct jobs_execution *e)
{
	return (struct db_job_exec *)((char *)e - offsetof(struct db_job_exec, e));
}

/* The thing's pending list L (spec 2.10) into items (capacity snap.nexecs); returns its
 * length and the limit that applies. */
static size_t pending_of(struct run *run, size_t thing, const struct jobs_execution **items,
			 size_t *limit)
{
	size_t k = 0;

	*limit = JOBS_EVENTS_PENDING_LIMIT;
	for (size_t i = 0; i < run->snap.nexecs; i++) {
		struct db_job_exec *x = &run->snap.execs[i];

		if (x->thing != thing || !x->is_visible)
			continue;
		items[k++] = &x->e;
		if (x->is_scheduled_job)
			*limit = JOBS_EVENTS_PENDING_LIMIT_SCHEDULED;
	}
	return k;
}

static struct db_job_exec *head_of(struct run *run, size_t thing,
				   const struct jobs_execution **items)
{
	size_t limit, k = pending_of(run, thing, items, &limit);

	k = jobs_events_pending_list(items, k, limit);
	return k > 0 ? exec_of(items[0]) : NULL;
}

static struct db_job_exec *find_job(struct run *run, size_t thing, const char *job_id)
{
	for (size_t i = 0; i < run->snap.nexecs; i++) {
		struct db_job_exec *x = &run->snap.execs[i];

		if (x->thing == thing && strcmp(x->e.job_id, job_id) == 0)
			return x;
	}
	return NULL;
}

/* The document to deliver (placeholders resolved), a new reference; NULL on failure. */
static json_t *document_of(struct run *run, const struct db_job_exec *x)
{
	json_t *doc = NULL, *out = NULL;

	if (!x->document) { /* a bug: loaded without documents although a request needs one */
		log_error("jobs", "job_document_not_loaded", LOG_S("job_id", x->e.job_id), LOG_END);
		return NULL;
	}
	doc = json_loads(x->document, JSON_REJECT_DUPLICATES, NULL);
	if (!doc) {
		log_error("jobs", "job_document_unparsable", LOG_S("job_id", x->e.job_id), LOG_END);
		return NULL;
	}
	if (!run->presign) {
		out = doc;
		return out;
	}
	if (jobs_document_resolve(doc, run->presign, run->presign_arg, &out) != JOBS_OK)
		out = NULL;
	json_decref(doc);
	return out;
}

/* Replace x's execution with next (taken), mark it dirty and record the transition. */
static bool commit_exec(struct run *run, struct db_job_exec *x, struct jobs_execution *next,
			bool is_transition)
{
	enum jobs_exec_status from = x->e.status;
	int64_t from_number = x->e.execution_number;

	jobs_execution_cleanup(&x->e);
	x->e = *next;
	memset(next, 0, sizeof(*next));
	x->is_dirty = true;
	if (x->e.status != from || x->e.execution_number != from_number)
		x->is_pending_changed = true;
	return !is_transition ||
	       db_job_snapshot_add_transition(&run->snap, (size_t)(x - run->snap.execs), from);
}

static void set_reply(struct mqtt_jobs_request *r, json_t *reply, int64_t now)
{
	if (!reply) {
		reject(r, JOBS_ERR_INTERNAL, NULL, NULL, now);
		return;
	}
	r->reply = reply;
	r->err = JOBS_OK;
}

static void apply_get_pending(struct run *run, struct mqtt_jobs_request *r, bool has_thing,
			      size_t thing, const struct jobs_execution **items)
{
	size_t limit = JOBS_EVENTS_PENDING_LIMIT, k = 0;

	if (has_thing)
		k = pending_of(run, thing, items, &limit);
	set_reply(r,
		  jobs_requests_pending_reply(items, k, limit, jobs_requests_token(&r->req),
					      r->plane, run->now),
		  run->now);
}

/* Returns false when the transaction must fail (out of memory). */
static bool apply_start_next(struct run *run, struct mqtt_jobs_request *r, bool has_thing,
			     size_t thing, const struct jobs_execution **items)
{
	struct db_job_exec *x = has_thing ? head_of(run, thing, items) : NULL;
	struct jobs_execution next;
	enum jobs_exec_status from;
	bool is_changed = false;
	enum jobs_err err;
	json_t *doc;

	if (!x) {
		set_reply(r,
			  jobs_requests_execution_reply(NULL, NULL, jobs_requests_token(&r->req),
							r->plane, run->now),
			  run->now);
		return true;
	}
	from = x->e.status;
	err = jobs_execution_start_next(&x->e, &r->req.update, x->in_progress_timeout_min, run->now,
					&next, &is_changed);
	if (err != JOBS_OK) {
		jobs_execution_cleanup(&next);
		reject(r, err, NULL, &x->e, run->now);
		return err != JOBS_ERR_INTERNAL;
	}
	if (is_changed) {
		if (!commit_exec(run, x, &next, next.status != from))
			return false;
		r->is_applied = from != x->e.status;
		r->new_status = x->e.status;
	} else {
		jobs_execution_cleanup(&next);
	}
	doc = document_of(run, x);
	if (!doc) {
		reject(r, JOBS_ERR_INTERNAL, NULL, NULL, run->now);
		return true;
	}
	set_reply(r,
		  jobs_requests_execution_reply(&x->e, doc, jobs_requests_token(&r->req), r->plane,
						run->now),
		  run->now);
	json_decref(doc);
	return true;
}

static void apply_describe(struct run *run, struct mqtt_jobs_request *r, bool has_thing,
			   size_t thing, const struct jobs_execution **items)
{
	struct db_job_exec *x = NULL;
	json_t *doc = NULL;

	if (r->topic.is_next) {
		x = has_thing ? head_of(run, thing, items) : NULL;
		if (!x) {
			set_reply(r,
				  jobs_requests_execution_reply(NULL, NULL,
								jobs_requests_token(&r->req),
								r->plane, run->now),
				  run->now);
			return;
		}
	} else {
		x = has_thing ? find_job(run, thing, r->topic.job_id) : NULL;
	}
	if (!x || (r->req.update.has_execution_number &&
		   r->req.update.execution_number != x->e.execution_number)) {
		reject(r, JOBS_ERR_RESOURCE_NOT_FOUND, "no such job execution", NULL, run->now);
		return;
	}
	if (run->is_terminal_describe_rejected && jobs_exec_status_is_terminal(x->e.status)) {
		reject(r, JOBS_ERR_TERMINAL_STATE, NULL, NULL, run->now);
		return;
	}
	if (r->req.include_job_document) {
		doc = document_of(run, x);
		if (!doc) {
			reject(r, JOBS_ERR_INTERNAL, NULL, NULL, run->now);
			return;
		}
	}
	set_reply(r,
		  jobs_requests_execution_reply(&x->e, doc, jobs_requests_token(&r->req), r->plane,
						run->now),
		  run->now);
	json_decref(doc);
}

static bool apply_update(struct run *run, struct mqtt_jobs_request *r, bool has_thing, size_t thing)
{
	struct db_job_exec *x = has_thing ? find_job(run, thing, r->topic.job_id) : NULL;
	struct jobs_execution next;
	bool is_duplicate = false;
	enum jobs_err err;
	json_t *doc = NULL;

	if (!x) {
		reject(r, JOBS_ERR_RESOURCE_NOT_FOUND, "no such job execution", NULL, run->now);
		return true;
	}
	err = jobs_execution_update(&x->e, &r->req.update, x->in_progress_timeout_min, run->now,
				    &next, &is_duplicate);
	if (err != JOBS_OK) {
		jobs_execution_cleanup(&next);
		if (err == JOBS_ERR_VERSION_MISMATCH)
			snprintf(r->message, sizeof(r->message),
				 "expected version %lld but the execution is at version %lld",
				 (long long)r->req.update.expected_version,
				 (long long)x->e.version_number);
		else if (err == JOBS_ERR_INVALID_STATE_TRANSITION)
			snprintf(r->message, sizeof(r->message),
				 "execution of %s is %s and cannot become %s", x->e.job_id,
				 jobs_exec_status_name(x->e.status),
				 jobs_exec_status_name(r->req.update.status));
		reject(r, err, NULL, &x->e, run->now);
		return err != JOBS_ERR_INTERNAL;
	}
	if (is_duplicate) {
		jobs_execution_cleanup(&next);
	} else {
		if (!commit_exec(run, x, &next, true))
			return false;
		r->is_applied = true;
		r->new_status = x->e.status;
	}
	if (r->req.include_job_document) {
		doc = document_of(run, x);
		if (!doc) {
			reject(r, JOBS_ERR_INTERNAL, NULL, NULL, run->now);
			return true;
		}
	}
	set_reply(r,
		  jobs_requests_update_reply(&x->e, r->req.include_job_execution_state, doc,
					     jobs_requests_token(&r->req), r->plane, run->now),
		  run->now);
	json_decref(doc);
	return true;
}

/* ---- the database work ---- */

/* Retries of a batch whose rows changed under it (as db_tx_run's BW_DB_TX_RETRIES default). */
#define BATCH_RETRIES 8

/* Load every execution the batch can touch (one statement, autocommit: a consistent snapshot)
 * and apply the requests to it in memory, in order. Nothing is written. */
static enum db_status load_apply(struct db *db, struct run *run)
{
	const char *things[MQTT_JOBS_BATCH_MAX], *jobs[MQTT_JOBS_BATCH_MAX];
	const struct jobs_execution **items = NULL;
	size_t nthings = 0, njobs = 0;
	bool with_documents = false;
	enum db_status st;

	db_job_snapshot_cleanup(&run->snap);
	for (size_t i = 0; i < run->n; i++) {
		struct mqtt_jobs_request *r = &run->reqs[i];

		if (!r->is_valid)
			continue;
		clear_outputs(r);
		things[nthings++] = r->topic.thing;
		if ((r->topic.kind == JOBS_TOPICS_DESCRIBE && !r->topic.is_next) ||
		    r->topic.kind == JOBS_TOPICS_UPDATE)
			jobs[njobs++] = r->topic.job_id;
		/* start-next always answers with the document; describe and update on request */
		with_documents |=
			r->topic.kind == JOBS_TOPICS_START_NEXT || r->req.include_job_document;
	}
	st = db_job_executions_load(db, things, nthings, jobs, njobs, with_documents, &run->snap);
	if (st < 0)
		return st;
	items = calloc(run->snap.nexecs + 1, sizeof(*items));
	if (!items)
		return DB_HARD;
	for (size_t i = 0; i < run->n; i++) {
		struct mqtt_jobs_request *r = &run->reqs[i];
		size_t thing = 0;
		bool has_thing, ok = true;

		if (!r->is_valid)
			continue;
		has_thing = db_job_snapshot_thing(&run->snap, r->topic.thing, &thing) != NULL;
		switch (r->topic.kind) {
		case JOBS_TOPICS_GET_PENDING:
			apply_get_pending(run, r, has_thing, thing, items);
			break;
		case JOBS_TOPICS_START_NEXT:
			ok = apply_start_next(run, r, has_thing, thing, items);
			break;
		case JOBS_TOPICS_DESCRIBE:
			apply_describe(run, r, has_thing, thing, items);
			break;
		case JOBS_TOPICS_UPDATE:
			ok = apply_update(run, r, has_thing, thing);
			break;
		default:
			reject(r, JOBS_ERR_INVALID_TOPIC, NULL, NULL, run->now);
			break;
		}
		if (!ok) {
			free(items);
			return DB_HARD;
		}
	}
	free(items);
	return DB_ONE;
}

/*
 * Write what load_apply() changed. The write is one all-or-nothing statement conditional on
 * the loaded versions (db_job_executions_write), so when no pending list can have changed (the
 * common progress report, IN_PROGRESS -> IN_PROGRESS, never changes membership or head: spec
 * 2.10) it runs on its own, committed alone: no BEGIN / COMMIT round trips. Otherwise the write
 * and the notify events (outbox) share one READ COMMITTED transaction. DB_RETRY: a row moved
 * under the batch, nothing was written.
 */
static enum db_status write_effects(struct db *db, struct run *run)
{
	enum db_status st;
	bool is_oom;
	char *dirty;
	int rc;

	if (!db_job_snapshot_is_dirty(&run->snap))
		return DB_ONE; /* reads only */
	dirty = db_job_snapshot_event_things(&run->snap, &is_oom);
	if (is_oom)
		return DB_HARD;
	if (!dirty) {
		st = db_job_executions_write(db, &run->snap, "device");
		return st < 0 ? st : DB_ONE;
	}
	st = db_exec(db, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, NULL);
	if (st >= 0)
		st = db_job_executions_write(db, &run->snap, "device");
	if (st >= 0) {
		rc = db_job_events_emit(db, dirty, run->now / 1000);
		st = rc >= 0 ? DB_ONE : rc == DB_RETRY ? DB_RETRY : DB_HARD;
	}
	if (st >= 0)
		st = db_exec(db, "COMMIT", 0, NULL, NULL);
	if (st < 0)
		db_exec(db, "ROLLBACK", 0, NULL, NULL);
	free(dirty);
	return st < 0 ? st : DB_ONE;
}

static void backoff(int attempt)
{
	/* jittered exponential backoff from 5 ms (as db_tx_run) */
	unsigned base = 5000u << (attempt < 6 ? attempt : 6);

	usleep(base / 2 + (unsigned)rand() % base / 2);
}

/* Load, apply, write; again from the load when a row moved under the batch. */
static enum db_status run_batch(struct db *db, struct run *run)
{
	enum db_status st = DB_RETRY;

	for (int attempt = 0; attempt <= BATCH_RETRIES; attempt++) {
		if (attempt > 0)
			backoff(attempt - 1);
		st = load_apply(db, run);
		if (st >= 0)
			st = write_effects(db, run);
		if (st != DB_RETRY)
			return st;
	}
	log_warn("jobs", "jobs_batch_retries_exhausted", LOG_I("retries", BATCH_RETRIES), LOG_END);
	return st;
}

static void count_request(const struct mqtt_jobs_request *r)
{
	char labels[96];

	snprintf(labels, sizeof(labels), "op=\"%s\",code=\"%s\"",
		 jobs_topics_kind_name(r->topic.kind),
		 r->err == JOBS_OK ? "OK" : jobs_err_code(r->err));
	metrics_counter_add("bw_jobs_device_requests_total", labels, 1);
	if (r->err == JOBS_OK && r->is_applied) {
		snprintf(labels, sizeof(labels), "status=\"%s\"",
			 jobs_exec_status_name(r->new_status));
		metrics_counter_add("bw_jobs_execution_updates_total", labels, 1);
	}
}

static void run_chunk(struct mqtt_jobs_request *reqs, size_t n)
{
	struct run run = { .reqs = reqs, .n = n, .now = now_ms() };
	size_t nvalid = 0;
	enum db_status st = DB_ONE;
	struct db *db;

	pthread_mutex_lock(&svc.lock);
	run.presign = svc.presign;
	run.presign_arg = svc.presign_arg;
	run.is_terminal_describe_rejected = svc.opts.is_terminal_describe_rejected;
	pthread_mutex_unlock(&svc.lock);
	db_job_snapshot_init(&run.snap);
	for (size_t i = 0; i < n; i++) {
		validate(&reqs[i], run.now);
		nvalid += reqs[i].is_valid;
	}
	if (nvalid > 0) {
		db = db_pool_get();
		if (!db) {
			st = DB_HARD;
		} else {
			st = run_batch(db, &run);
			db_pool_put(db);
		}
		if (st < 0) {
			log_warn("jobs", "jobs_batch_failed", LOG_I("requests", (int64_t)nvalid),
				 LOG_I("status", st), LOG_END);
			for (size_t i = 0; i < n; i++) {
				if (!reqs[i].is_valid)
					continue;
				clear_outputs(&reqs[i]);
				reject(&reqs[i], JOBS_ERR_INTERNAL, NULL, NULL, run.now);
				reqs[i].is_unavailable = true;
			}
		} else {
			metrics_counter_add("bw_jobs_batches_total", NULL, 1);
		}
	}
	db_job_snapshot_cleanup(&run.snap);
	for (size_t i = 0; i < n; i++)
		count_request(&reqs[i]);
}

void mqtt_jobs_run(struct mqtt_jobs_request *reqs, size_t n)
{
	pthread_once(&metrics_once, describe_metrics);
	for (size_t off = 0; off < n; off += MQTT_JOBS_BATCH_MAX)
		run_chunk(reqs + off,
			  n - off < MQTT_JOBS_BATCH_MAX ? n - off : MQTT_JOBS_BATCH_MAX);
}
