/*
 * Job execution updates over MQTT (make bench, docs/BENCH.md): D simulated devices (client id =
 * thing name, anonymous, confined by the broker ACL like real devices) each start their queued
 * execution (start-next) and then report progress the way the FreeRTOS OTA agent does while it
 * downloads: update IN_PROGRESS with statusDetails {"progress": n} and expectedVersion, again and
 * again. Every request needs the reply to the previous one (the version), so each device has one
 * request in flight. Replies arrive through the broker plugin's directed delivery (the devices
 * subscribe to nothing).
 *
 * Phase 1, saturation: every device keeps one request in flight (closed loop); figure: replies/s.
 * Phase 2, paced: fresh executions, each device sends at a fixed interval so that the total is
 * half the saturation rate; figures: request -> reply latency p50/p99.
 * ratio = saturation rate / BENCH_FIG_mqtt_raw_qos1_msgs_per_s (same run, raw Mosquitto).
 *
 * Setup is plain SQL on BW_TEST_PG_DSN (things, one job per round with released QUEUED
 * executions, as the rollout would create them). Exits 77 without test.env.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "db/db.h"

#define MAX_DEVICES 256
#define MAX_SAMPLES (1u << 20)

struct device {
	struct mosquitto *mosq;
	char thing[64];
	char topic_start[128];
	char topic_prefix[128];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool is_connected;
	bool has_reply;
	bool is_done;
	char job_id[80];
	long long version;
	int64_t sent_ns;
};

static struct device devices[MAX_DEVICES];
static int ndevices = 64;
static int jobs_per_round = 1; /* queued executions per device and phase */
static int seconds = 5;
static atomic_uint_fast64_t replies;
static atomic_uint_fast64_t errors;
static int64_t *samples;
static atomic_uint nsamples;
static atomic_bool is_recording;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *env(const char *n)
{
	const char *v = getenv(n);
	return v && *v ? v : NULL;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct device *d = obj;
	(void)m;
	pthread_mutex_lock(&d->lock);
	d->is_connected = rc == 0;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* Replies: start-next/accepted (with or without execution), update/accepted, or rejected. */
static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct device *d = obj;
	const char *p = msg->payload;
	(void)m;
	pthread_mutex_lock(&d->lock);
	if (strstr(msg->topic, "/rejected")) {
		atomic_fetch_add(&errors, 1);
		d->is_done = true;
	} else if (strstr(msg->topic, "/update/accepted")) {
		d->version++; /* each accepted update bumps the version by exactly 1 (spec 3.3) */
	} else if (strstr(msg->topic, "start-next/accepted")) {
		const char *j = p ? strstr(p, "\"jobId\":\"") : NULL;
		const char *v = p ? strstr(p, "\"versionNumber\":") : NULL;
		if (j && v) {
			j += 9;
			size_t n = strcspn(j, "\"");
			if (n >= sizeof(d->job_id))
				n = sizeof(d->job_id) - 1;
			memcpy(d->job_id, j, n);
			d->job_id[n] = '\0';
			d->version = strtoll(v + 16, NULL, 10);
		} else {
			d->is_done = true; /* no more executions */
			d->job_id[0] = '\0';
		}
	}
	if (atomic_load(&is_recording)) {
		unsigned i = atomic_fetch_add(&nsamples, 1);
		if (i < MAX_SAMPLES)
			samples[i] = now_ns() - d->sent_ns;
	}
	atomic_fetch_add(&replies, 1);
	d->has_reply = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* Send the device's next request (start-next, or update SUCCEEDED for the started job). */
static void send_next(struct device *d, bool is_update)
{
	char topic[300], payload[200];
	if (is_update) {
		snprintf(topic, sizeof(topic), "%s%s/update", d->topic_prefix, d->job_id);
		snprintf(payload, sizeof(payload),
			 "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"progress\":\"%lld\"},"
			 "\"expectedVersion\":%lld,\"clientToken\":\"b\"}",
			 d->version, d->version);
	} else {
		snprintf(topic, sizeof(topic), "%s", d->topic_start);
		snprintf(payload, sizeof(payload), "{\"clientToken\":\"b\"}");
	}
	d->has_reply = false;
	d->sent_ns = now_ns();
	mosquitto_publish(d->mosq, NULL, topic, (int)strlen(payload), payload, 1, false);
}

struct worker_arg {
	struct device *d;
	int64_t interval_ns; /* 0 = closed loop */
	int64_t first_ns;    /* paced: this device's first send, staggered across devices */
	int64_t end_ns;
};

static void *device_main(void *arg)
{
	struct worker_arg *w = arg;
	struct device *d = w->d;
	bool is_update = false;
	int64_t next_ns = w->first_ns;

	pthread_mutex_lock(&d->lock);
	d->is_done = false;
	while (!d->is_done && now_ns() < w->end_ns) {
		if (w->interval_ns) {
			pthread_mutex_unlock(&d->lock);
			struct timespec at = { next_ns / 1000000000, next_ns % 1000000000 };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) != 0)
				;
			pthread_mutex_lock(&d->lock);
			next_ns += w->interval_ns;
		}
		send_next(d, is_update);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 5;
		while (!d->has_reply)
			if (pthread_cond_timedwait(&d->cond, &d->lock, &dl) != 0)
				break;
		if (!d->has_reply) {
			atomic_fetch_add(&errors, 1);
			break;
		}
		is_update = d->job_id[0] != '\0';
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* One round of work: a fresh job with a QUEUED execution per (device, slot). */
static bool setup_round(struct db *db, const char *run, int round)
{
	char sql[2048], n[16], prefix[64];
	snprintf(n, sizeof(n), "%d", jobs_per_round);
	snprintf(prefix, sizeof(prefix), "bjob-%s-%d-", run, round);
	const char *params[] = { prefix, n, run };
	snprintf(sql, sizeof(sql),
		 "WITH j AS (INSERT INTO jobs (job_id, status, targets, document, request_sha256,"
		 " created_by) SELECT $1 || g, 'IN_PROGRESS', '[]', '{\"op\":\"bench\"}', 'bench',"
		 " 'bench' FROM generate_series(1, $2::int) g RETURNING id),"
		 " t AS (SELECT id FROM things WHERE name LIKE 'bdev-' || $3 || '-%%'),"
		 " jt AS (INSERT INTO job_targets (job_pk, thing_id, released_at) SELECT j.id, t.id,"
		 " now() FROM j, t)"
		 " INSERT INTO job_executions (job_pk, thing_id, status) SELECT j.id, t.id, 'QUEUED'"
		 " FROM j, t");
	return db_exec(db, sql, 3, params, NULL) >= 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double run_phase(int64_t interval_ns, double *elapsed_s)
{
	pthread_t th[MAX_DEVICES];
	struct worker_arg args[MAX_DEVICES];
	int64_t start = now_ns();
	uint64_t before = atomic_load(&replies);

	for (int i = 0; i < ndevices; i++) {
		args[i] = (struct worker_arg){ &devices[i], interval_ns,
					       start + interval_ns * i / ndevices,
					       start + (int64_t)seconds * 1000000000 };
		pthread_create(&th[i], NULL, device_main, &args[i]);
	}
	for (int i = 0; i < ndevices; i++)
		pthread_join(th[i], NULL);
	*elapsed_s = (double)(now_ns() - start) / 1e9;
	return (double)(atomic_load(&replies) - before) / *elapsed_s;
}

int main(int argc, char **argv)
{
	char run[16];
	struct db *db;
	double el1, el2;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--devices") == 0)
			ndevices = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--jobs") == 0)
			jobs_per_round = atoi(argv[i + 1]);
	}
	if (seconds < 1 || seconds > 60 || ndevices < 1 || ndevices > MAX_DEVICES ||
	    jobs_per_round < 1 || jobs_per_round > 10000) {
		fprintf(stderr, "usage: bench_jobs_mqtt [--seconds 1..60] [--devices 1..%d]\n",
			MAX_DEVICES);
		return 2;
	}
	if (!env("BW_TEST_PG_DSN") || !env("BW_TEST_MQTT_PORT") || !env("BW_TEST_URL")) {
		fprintf(stderr, "bench_jobs_mqtt: no test.env with a running server; skipping\n");
		return 77;
	}
	samples = calloc(MAX_SAMPLES, sizeof(*samples));
	db = db_connect(env("BW_TEST_PG_DSN"));
	if (!samples || !db)
		return 1;
	snprintf(run, sizeof(run), "%x", (unsigned)getpid());
	const char *tp[] = { run, "" };
	char nd[16];
	snprintf(nd, sizeof(nd), "%d", ndevices);
	tp[1] = nd;
	if (db_exec(db,
		    "INSERT INTO things (name) SELECT 'bdev-' || $1 || '-' || g FROM"
		    " generate_series(1, $2::int) g",
		    2, tp, NULL) < 0 ||
	    !setup_round(db, run, 1)) {
		fprintf(stderr, "bench_jobs_mqtt: setup failed: %s\n", db_last_error(db));
		return 1;
	}
	mosquitto_lib_init();
	for (int i = 0; i < ndevices; i++) {
		struct device *d = &devices[i];
		pthread_mutex_init(&d->lock, NULL);
		pthread_cond_init(&d->cond, NULL);
		snprintf(d->thing, sizeof(d->thing), "bdev-%s-%d", run, i + 1);
		snprintf(d->topic_start, sizeof(d->topic_start), "$aws/things/%s/jobs/start-next",
			 d->thing);
		snprintf(d->topic_prefix, sizeof(d->topic_prefix), "$aws/things/%s/jobs/", d->thing);
		d->mosq = mosquitto_new(d->thing, true, d);
		mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
		mosquitto_connect_callback_set(d->mosq, on_connect);
		mosquitto_message_callback_set(d->mosq, on_message);
		if (mosquitto_connect(d->mosq, env("BW_TEST_MQTT_HOST"),
				      atoi(env("BW_TEST_MQTT_PORT")), 30) != MOSQ_ERR_SUCCESS)
			return 1;
		mosquitto_loop_start(d->mosq);
	}
	for (int i = 0; i < ndevices; i++) {
		struct device *d = &devices[i];
		pthread_mutex_lock(&d->lock);
		int64_t end = now_ns() + 10000000000LL;
		while (!d->is_connected && now_ns() < end) {
			pthread_mutex_unlock(&d->lock);
			usleep(10000);
			pthread_mutex_lock(&d->lock);
		}
		bool ok = d->is_connected;
		pthread_mutex_unlock(&d->lock);
		if (!ok) {
			fprintf(stderr, "bench_jobs_mqtt: device %d did not connect\n", i);
			return 1;
		}
	}

	double sat = run_phase(0, &el1);
	printf("jobs saturation: %d devices, %.0f replies/s over %.1f s\n", ndevices, sat, el1);
	if (!setup_round(db, run, 2))
		return 1;
	atomic_store(&is_recording, true);
	double half = sat / 2;
	int64_t interval = (int64_t)(1e9 * ndevices / (half > 1 ? half : 1));
	double paced = run_phase(interval, &el2);
	atomic_store(&is_recording, false);
	unsigned n = atomic_load(&nsamples);
	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	qsort(samples, n, sizeof(*samples), cmp64);
	double p50 = n ? samples[n / 2] / 1e6 : 0, p99 = n ? samples[(size_t)(n * 0.99)] / 1e6 : 0;
	printf("jobs paced: target %.0f/s, got %.0f replies/s, %u samples\n", half, paced, n);
	printf("BENCH jobs_mqtt_replies_per_s=%.0f\n", sat);
	printf("BENCH jobs_mqtt_paced_p50_ms=%.3f\n", p50);
	printf("BENCH jobs_mqtt_paced_p99_ms=%.3f\n", p99);
	const char *raw = env("BENCH_FIG_mqtt_raw_qos1_msgs_per_s");
	if (raw && atof(raw) > 0)
		printf("BENCH jobs_mqtt_vs_raw_ratio=%.3f\n", sat / atof(raw));
	for (int i = 0; i < ndevices; i++) {
		mosquitto_disconnect(devices[i].mosq);
		mosquitto_loop_stop(devices[i].mosq, false);
		mosquitto_destroy(devices[i].mosq);
	}
	mosquitto_lib_cleanup();
	db_close(db);
	free(samples);
	uint64_t e = atomic_load(&errors);
	if (e) {
		fprintf(stderr, "bench_jobs_mqtt: %" PRIu64 " rejected or missing replies\n", e);
		return 1;
	}
	return 0;
}
