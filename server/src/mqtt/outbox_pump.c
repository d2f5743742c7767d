#include "mqtt/outbox_pump.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "db/db.h"
#include "db/outbox.h"
#include "mqtt/client.h"

#define PUMP_BATCH 1000
#define PUMP_IDLE_WAIT_MS 1000
#define PUMP_RETRY_MS 200
#define FANOUT_CHUNK 1000      /* things read per query when expanding a fan-out row */
#define FANOUT_MAX_TEMPLATES 8 /* messages per thing of a fan-out row */
#define FANOUT_TOPIC_MAX 1024  /* mqtt_outbox.topic's bound */

static struct {
	pthread_t thread;
	bool is_started;
	atomic_bool is_stopping;
	atomic_bool is_kicked;
	char *dsn;
	int64_t lock_key;
	jobs_document_presign_fn presign;
	void *presign_arg;
} pump;

void outbox_pump_set_presigner(jobs_document_presign_fn fn, void *arg)
{
	pump.presign = fn;
	pump.presign_arg = arg;
}

/* The payload with its presigned-URL placeholders resolved (malloc'd, *len set), or NULL to
 * publish it as stored. */
static char *resolve_payload(const void *payload, size_t *len, int64_t id)
{
	json_t *doc, *out = NULL;
	char *text = NULL;

	if (!pump.presign)
		return NULL;
	doc = json_loadb(payload, *len, 0, NULL);
	if (doc && jobs_document_resolve(doc, pump.presign, pump.presign_arg, &out) == JOBS_OK)
		text = json_dumps(out, JSON_COMPACT);
	json_decref(doc);
	json_decref(out);
	if (!text) {
		log_warn("mqtt", "outbox_presign_failed", LOG_I("id", id), LOG_END);
		return NULL;
	}
	*len = strlen(text);
	return text;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Publish one message. Returns true when the row may go: published, or refused for good (bad
 * topic or size: such a row must not block the queue; logged and counted). False when the broker
 * session is gone: keep it for later.
 */
static bool publish_one(int64_t id, const char *topic, const void *payload, size_t len, int qos,
			const char *target_client, bool presign)
{
	char *resolved = presign ? resolve_payload(payload, &len, id) : NULL;
	int rc;

	if (resolved)
		payload = resolved;
	if (target_client)
		rc = mqtt_client_publish_to(target_client, topic, payload, len, qos);
	else
		rc = mqtt_client_publish(topic, payload, len, qos, false);
	free(resolved);
	if (rc != 0 && rc != BW_ERR_BAD_REQUEST && rc != BW_ERR_PAYLOAD_TOO_LARGE)
		return false;
	if (rc != 0) {
		log_warn("mqtt", "outbox_row_dropped", LOG_I("id", id), LOG_S("topic", topic),
			 LOG_I("rc", rc), LOG_END);
		metrics_counter_add("bw_outbox_dropped_total", NULL, 1);
	}
	return true;
}

/* Publish the leading ordinary rows of rows[0..n) (up to the first fan-out row); their ids go
 * to ids. Returns how many were handed to the client; *is_gone tells that it stopped because
 * the broker session went away. */
static int publish_plain(const struct outbox_row *rows, int n, int64_t *ids, bool *is_gone)
{
	int done = 0;

	*is_gone = false;
	for (int i = 0; i < n && !rows[i].fanout_messages; i++) {
		if (!publish_one(rows[i].id, rows[i].topic, rows[i].payload, rows[i].payload_len,
				 rows[i].qos, rows[i].target_client, rows[i].presign)) {
			*is_gone = true;
			break;
		}
		ids[done++] = rows[i].id;
	}
	return done;
}

/* A message template of a fan-out row (strings borrowed from the parsed JSON). */
struct template
{
	const char *prefix;
	const char *suffix;
	const char *payload;
	size_t payload_len;
	bool presign;
};

/* Parse the row's templates into t[0..max); returns their count, or -1 when malformed. */
static int parse_templates(const json_t *arr, struct template *t, int max)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > (size_t)max)
		return -1;
	json_array_foreach(arr, i, v) {
		const json_t *payload = json_object_get(v, "payload");
		const json_t *presign = json_object_get(v, "presign");

		t[i].prefix = json_string_value(json_object_get(v, "topic_prefix"));
		t[i].suffix = json_string_value(json_object_get(v, "topic_suffix"));
		t[i].payload = json_string_value(payload);
		t[i].payload_len = json_string_length(payload);
		t[i].presign = json_is_true(presign);
		if (!t[i].prefix || !t[i].suffix || !t[i].payload || !json_is_boolean(presign))
			return -1;
	}
	return (int)i;
}

enum fanout_result { FANOUT_DB_ERROR = -1, FANOUT_LATER = 0, FANOUT_DONE = 1 };

/*
 * Publish fan-out row `row` from where it stopped: chunks of things in id order, every template
 * for each thing, progress saved after each chunk. FANOUT_DONE when every thing is published (or
 * the row is malformed: it can never be, it is dropped), FANOUT_LATER when the broker session
 * went away or the pump is stopping, FANOUT_DB_ERROR when the database failed.
 */
static enum fanout_result expand_fanout(struct db *db, const struct outbox_row *row)
{
	struct template t[FANOUT_MAX_TEMPLATES];
	json_t *arr = json_loads(row->fanout_messages, 0, NULL);
	enum fanout_result res = FANOUT_DONE;
	int64_t after = row->fanout_done;
	char topic[FANOUT_TOPIC_MAX + 1];
	int nt = parse_templates(arr, t, FANOUT_MAX_TEMPLATES);

	if (nt < 0) {
		log_error("mqtt", "outbox_fanout_malformed", LOG_I("id", row->id), LOG_END);
		metrics_counter_add("bw_outbox_dropped_total", NULL, 1);
		goto out;
	}
	for (;;) {
		struct outbox_thing *things = NULL;
		int64_t done_to = after, scanned_to;
		bool is_gone = false;
		long published = 0;
		enum db_status st;
		int n = 0;

		if (atomic_load(&pump.is_stopping)) {
			res = FANOUT_LATER;
			break;
		}
		st = db_outbox_fanout_things(db, row->id, after, FANOUT_CHUNK, &things, &n,
					     &scanned_to);
		if (st < 0) {
			res = FANOUT_DB_ERROR;
			break;
		}
		if (st == DB_NONE)
			break; /* every thing is published */
		for (int i = 0; i < n && !is_gone; i++) {
			for (int k = 0; k < nt; k++) {
				int len = snprintf(topic, sizeof(topic), "%s%s%s", t[k].prefix,
						   things[i].name, t[k].suffix);
				/* too long for a topic: publish refuses it like an invalid one */
				if (len < 0 || (size_t)len >= sizeof(topic))
					topic[0] = '\0';
				if (!publish_one(row->id, topic, t[k].payload, t[k].payload_len,
						 row->qos, NULL, t[k].presign)) {
					is_gone = true;
					break;
				}
				published++;
			}
			if (!is_gone)
				done_to = things[i].id;
		}
		if (!is_gone)
			done_to = scanned_to; /* past the non-members of the chunk too */
		free(things);
		metrics_counter_add("bw_outbox_published_total", NULL, (double)published);
		if (done_to > after) {
			if (db_outbox_fanout_progress(db, row->id, done_to) < 0) {
				res = FANOUT_DB_ERROR;
				break;
			}
			after = done_to;
		}
		if (is_gone) {
			res = FANOUT_LATER;
			break;
		}
	}
out:
	json_decref(arr);
	return res;
}

/* Publish one fetched batch in order: runs of ordinary rows, deleted after each run, and
 * fan-out rows, deleted when expanded. Returns 1 when the whole batch went, 0 when the broker
 * session went away (the rest stays), -1 on a database error. */
static int publish_batch(struct db *db, const struct outbox_row *rows, int n, int64_t *ids)
{
	int i = 0;

	while (i < n) {
		bool is_gone = false;
		int done;

		if (rows[i].fanout_messages) {
			enum fanout_result r = expand_fanout(db, &rows[i]);
			if (r != FANOUT_DONE)
				return r == FANOUT_LATER ? 0 : -1;
			ids[0] = rows[i].id;
			done = 1;
		} else {
			done = publish_plain(rows + i, n - i, ids, &is_gone);
			metrics_counter_add("bw_outbox_published_total", NULL, done);
		}
		if (done > 0 && db_outbox_delete(db, ids, done) < 0)
			return -1;
		if (is_gone)
			return 0;
		i += done;
	}
	return 1;
}

static void *pump_main(void *arg)
{
	struct db *db = NULL;
	bool is_leader = false;
	int64_t *ids = calloc(PUMP_BATCH, sizeof(*ids));
	(void)arg;

	if (!ids)
		return NULL;
	while (!atomic_load(&pump.is_stopping)) {
		if (!db_is_ok(db)) {
			db_close(db);
			is_leader = false;
			db = db_connect(pump.dsn);
			if (!db || db_listen(db, "bw_outbox") < 0) {
				db_close(db);
				db = NULL;
				sleep_ms(PUMP_RETRY_MS * 5);
				continue;
			}
		}
		if (!is_leader) {
			is_leader = db_try_advisory_lock(db, pump.lock_key);
			if (!is_leader) {
				db_wait_notify(db, PUMP_IDLE_WAIT_MS);
				continue;
			}
			log_info("mqtt", "outbox_pump_active", LOG_END);
		}
		if (!mqtt_client_is_connected()) {
			sleep_ms(PUMP_RETRY_MS);
			continue;
		}
		struct outbox_row *rows = NULL;
		int n = db_outbox_fetch(db, PUMP_BATCH, &rows);
		if (n < 0) {
			db_close(db);
			db = NULL;
			continue;
		}
		int r = publish_batch(db, rows, n, ids);
		db_outbox_rows_free(rows, n);
		if (r < 0) {
			db_close(db);
			db = NULL;
			continue;
		}
		if (r == 0) {
			sleep_ms(PUMP_RETRY_MS);
			continue;
		}
		if (n == PUMP_BATCH || atomic_exchange(&pump.is_kicked, false))
			continue;
		if (db_wait_notify(db, PUMP_IDLE_WAIT_MS) < 0) {
			db_close(db);
			db = NULL;
		}
	}
	db_close(db);
	free(ids);
	return NULL;
}

int outbox_pump_start(const char *dsn, int64_t lock_key)
{
	if (pump.is_started)
		return -1;
	pump.dsn = strdup(dsn);
	if (!pump.dsn)
		return -1;
	pump.lock_key = lock_key;
	atomic_store(&pump.is_stopping, false);
	metrics_describe("bw_outbox_published_total", "counter",
			 "Outbox messages handed to the broker client");
	metrics_describe("bw_outbox_dropped_total", "counter",
			 "Outbox messages that could never be published (bad topic or size)");
	if (pthread_create(&pump.thread, NULL, pump_main, NULL) != 0) {
		free(pump.dsn);
		pump.dsn = NULL;
		return -1;
	}
	pump.is_started = true;
	return 0;
}

void outbox_pump_kick(void)
{
	atomic_store(&pump.is_kicked, true);
}

void outbox_pump_stop(void)
{
	if (!pump.is_started)
		return;
	atomic_store(&pump.is_stopping, true);
	pthread_join(pump.thread, NULL);
	free(pump.dsn);
	pump.dsn = NULL;
	pump.is_started = false;
}
