#include "mqtt/outbox_pump.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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

/* The payload of a presign row with its placeholders resolved (malloc'd, *len set), or NULL to
 * publish it as stored. */
static char *resolve_payload(const struct outbox_row *row, size_t *len)
{
	json_t *doc, *out = NULL;
	char *text = NULL;

	if (!pump.presign)
		return NULL;
	doc = json_loadb((const char *)row->payload, row->payload_len, 0, NULL);
	if (doc && jobs_document_resolve(doc, pump.presign, pump.presign_arg, &out) == JOBS_OK)
		text = json_dumps(out, JSON_COMPACT);
	json_decref(doc);
	json_decref(out);
	if (!text) {
		log_warn("mqtt", "outbox_presign_failed", LOG_I("id", row->id), LOG_END);
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

/* Publish one fetched batch; returns how many leading rows were handed to the client. */
static int publish_batch(const struct outbox_row *rows, int n, int64_t *ids)
{
	int done = 0;
	for (int i = 0; i < n; i++) {
		int rc;
		size_t len = rows[i].payload_len;
		char *resolved = rows[i].presign ? resolve_payload(&rows[i], &len) : NULL;
		const void *payload = resolved ? (const void *)resolved : rows[i].payload;
		if (rows[i].target_client)
			rc = mqtt_client_publish_to(rows[i].target_client, rows[i].topic, payload,
						    len, rows[i].qos);
		else
			rc = mqtt_client_publish(rows[i].topic, payload, len, rows[i].qos, false);
		free(resolved);
		if (rc != 0 && rc != BW_ERR_BAD_REQUEST && rc != BW_ERR_PAYLOAD_TOO_LARGE)
			break; /* broker gone: keep this row and the rest for later */
		if (rc != 0) {
			/* a row that can never be published must not block the queue */
			log_warn("mqtt", "outbox_row_dropped", LOG_I("id", rows[i].id),
				 LOG_S("topic", rows[i].topic), LOG_I("rc", rc), LOG_END);
			metrics_counter_add("bw_outbox_dropped_total", NULL, 1);
		}
		ids[done++] = rows[i].id;
	}
	return done;
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
		int done = publish_batch(rows, n, ids);
		db_outbox_rows_free(rows, n);
		if (done > 0) {
			if (db_outbox_delete(db, ids, done) < 0) {
				db_close(db);
				db = NULL;
				continue;
			}
			metrics_counter_add("bw_outbox_published_total", NULL, done);
		}
		if (done < n) {
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
