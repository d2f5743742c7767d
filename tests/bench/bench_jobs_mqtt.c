/*
 * Job execution updates over MQTT (make bench, docs/BENCH.md): D simulated devices (client id =
 * thing name, anonymous, confined by the broker ACL like real devices) each start their queued
 * execution (start-next) and then report progress the way the FreeRTOS OTA agent does while it
 * downloads: update IN_PROGRESS with statusDetails {"progress": n} and expectedVersion, again and
 * again. Every request needs the reply to the previous one (the version), so each device has one
 * request in flight. Replies arrive through the broker plugin's directed delivery (the devices
 * subscribe to nothing).
 *
 * The client machinery is bench_mqtt_raw's: one libmosquitto client per device with its own
 * threaded network loop (TCP_NODELAY, MQTT 3.1.1, QoS 1), and the next request is published
 * from the reply's message callback, so no other thread sits between a reply and the next
 * request.
 *
 * Phase 1, saturation: every device keeps one request in flight (closed loop); figure: replies
 * received during S seconds after 1 s of warm-up, per second.
 * Phase 2, paced: fresh executions; one pacer thread sends round robin over the devices at half
 * the saturation rate (a device whose previous reply is still outstanding sends as soon as it
 * arrives); figures: request publish -> reply received latency p50/p99, requests sent after the
 * warm-up second.
 * ratio = saturation rate / BENCH_FIG_mqtt_raw_qos1_msgs_per_s (same run, raw Mosquitto).
 *
 * Setup is plain SQL on BW_TEST_PG_DSN (things, one job per round with released QUEUED
 * executions, as the rollout would create them). Exits 77 without test.env; 1 when any reply is
 * rejected or missing.
 */
#include <errno.h>
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

#define MAX_DEVICES 1024
#define MAX_SAMPLES (1u << 20)
#define NS_PER_S INT64_C(1000000000)
#define WARMUP_NS NS_PER_S
#define DRAIN_NS (5 * NS_PER_S)

enum phase { PHASE_IDLE = 0, PHASE_SATURATE, PHASE_PACED };

struct device {
	struct mosquitto *mosq;
	char thing[64];
	char topic_start[128];
	char topic_prefix[128];
	pthread_mutex_t lock; /* the fields below; taken by the network thread and the pacer */
	atomic_bool is_connected;
	bool is_in_flight;
	bool is_due;  /* paced: a send came due while the previous reply was outstanding */
	bool is_done; /* rejected, or no execution left: sends nothing more this phase */
	char job_id[80];
	long long version;
	int64_t sent_ns;
};

static struct device devices[MAX_DEVICES];
static int ndevices = 128;
static int seconds = 5;
static atomic_int phase;
static atomic_int_fast64_t phase_end_ns; /* no new request at or after this */
static atomic_int_fast64_t win_start_ns; /* saturation: replies counted in [start, end) */
static atomic_uint_fast64_t win_replies;
static atomic_uint_fast64_t sent;
static atomic_uint_fast64_t replies;
static atomic_uint_fast64_t errors;
static int64_t *samples;
static atomic_uint nsamples;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_until(int64_t t_ns)
{
	struct timespec at = { .tv_sec = t_ns / NS_PER_S, .tv_nsec = t_ns % NS_PER_S };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
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
	atomic_store(&d->is_connected, rc == 0);
}

/* Send the device's next request (start-next, or update IN_PROGRESS of the started job).
 * Called with d->lock held. */
static void send_next(struct device *d)
{
	char topic[300], payload[200];
	int rc;

	if (d->job_id[0]) {
		snprintf(topic, sizeof(topic), "%s%s/update", d->topic_prefix, d->job_id);
		snprintf(payload, sizeof(payload),
			 "{\"status\":\"IN_PROGRESS\",\"statusDetails\":{\"progress\":\"%lld\"},"
			 "\"expectedVersion\":%lld,\"clientToken\":\"b\"}",
			 d->version, d->version);
	} else {
		snprintf(topic, sizeof(topic), "%s", d->topic_start);
		snprintf(payload, sizeof(payload), "{\"clientToken\":\"b\"}");
	}
	d->is_in_flight = true;
	d->sent_ns = now_ns();
	rc = mosquitto_publish(d->mosq, NULL, topic, (int)strlen(payload), payload, 1, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		atomic_fetch_add(&errors, 1);
		d->is_in_flight = false;
		d->is_done = true;
		return;
	}
	atomic_fetch_add(&sent, 1);
}

/* Replies: start-next/accepted (with or without execution), update/accepted, or rejected. Runs
 * on the device's network thread; sends the next request when the phase asks for one. */
static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct device *d = obj;
	const char *p = msg->payload;
	int64_t t = now_ns();
	enum phase ph = (enum phase)atomic_load(&phase);

	(void)m;
	pthread_mutex_lock(&d->lock);
	if (!d->is_in_flight) { /* nothing asked: a late or foreign message */
		atomic_fetch_add(&errors, 1);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->is_in_flight = false;
	if (strstr(msg->topic, "/rejected")) {
		atomic_fetch_add(&errors, 1);
		d->is_done = true;
	} else if (strstr(msg->topic, "/update/accepted")) {
		d->version++; /* each accepted update bumps the version by exactly 1 (spec 3.3) */
	} else if (strstr(msg->topic, "start-next/accepted")) {
		const char *j = p ? strstr(p, "\"jobId\":\"") : NULL;
		const char *v = p ? strstr(p, "\"versionNumber\":") : NULL;

		if (j && v) {
			size_t n;

			j += 9;
			n = strcspn(j, "\"");
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
	atomic_fetch_add(&replies, 1);
	if (ph == PHASE_SATURATE) {
		if (t >= atomic_load(&win_start_ns) && t < atomic_load(&phase_end_ns))
			atomic_fetch_add(&win_replies, 1);
	} else if (ph == PHASE_PACED && d->sent_ns >= atomic_load(&win_start_ns)) {
		unsigned i = atomic_fetch_add(&nsamples, 1);

		if (i < MAX_SAMPLES)
			samples[i] = t - d->sent_ns;
	}
	if (!d->is_done && t < atomic_load(&phase_end_ns) &&
	    (ph == PHASE_SATURATE || (ph == PHASE_PACED && d->is_due))) {
		d->is_due = false;
		send_next(d);
	}
	pthread_mutex_unlock(&d->lock);
}

/* One round of work: a fresh job with a QUEUED execution per device. */
static bool setup_round(struct db *db, const char *run, int round)
{
	char prefix[64];
	const char *params[] = { prefix, run };

	snprintf(prefix, sizeof(prefix), "bjob-%s-%d", run, round);
	return db_exec(db,
		       "WITH j AS (INSERT INTO jobs (job_id, status, targets, document,"
		       " request_sha256, created_by) VALUES ($1, 'IN_PROGRESS', '[]',"
		       " '{\"op\":\"bench\"}', 'bench', 'bench') RETURNING id),"
		       " t AS (SELECT id FROM things WHERE name LIKE 'bdev-' || $2 || '-%'),"
		       " jt AS (INSERT INTO job_targets (job_pk, thing_id, released_at)"
		       " SELECT j.id, t.id, now() FROM j, t)"
		       " INSERT INTO job_executions (job_pk, thing_id, status)"
		       " SELECT j.id, t.id, 'QUEUED' FROM j, t",
		       2, params, NULL) >= 0;
}

static void phase_begin(enum phase ph, int64_t start)
{
	for (int i = 0; i < ndevices; i++) {
		struct device *d = &devices[i];

		pthread_mutex_lock(&d->lock);
		d->is_done = false;
		d->is_due = false;
		d->is_in_flight = false;
		d->job_id[0] = '\0';
		pthread_mutex_unlock(&d->lock);
	}
	atomic_store(&win_start_ns, start + WARMUP_NS);
	atomic_store(&phase_end_ns, start + WARMUP_NS + (int64_t)seconds * NS_PER_S);
	atomic_store(&phase, ph);
}

/* Wait until no request is outstanding (or DRAIN_NS passed); false if some reply never came. */
static bool phase_drain(void)
{
	int64_t deadline = now_ns() + DRAIN_NS;

	for (;;) {
		int busy = 0;

		for (int i = 0; i < ndevices; i++) {
			pthread_mutex_lock(&devices[i].lock);
			busy += devices[i].is_in_flight;
			pthread_mutex_unlock(&devices[i].lock);
		}
		if (busy == 0) {
			atomic_store(&phase, PHASE_IDLE);
			return true;
		}
		if (now_ns() >= deadline) {
			fprintf(stderr, "bench_jobs_mqtt: %d replies missing after the drain\n",
				busy);
			atomic_fetch_add(&errors, (uint_fast64_t)busy);
			atomic_store(&phase, PHASE_IDLE);
			return false;
		}
		usleep(10000);
	}
}

/* Saturation: every device sends its first request; replies send the next ones. */
static double run_saturation(void)
{
	int64_t start = now_ns();

	atomic_store(&win_replies, 0);
	phase_begin(PHASE_SATURATE, start);
	for (int i = 0; i < ndevices; i++) {
		pthread_mutex_lock(&devices[i].lock);
		send_next(&devices[i]);
		pthread_mutex_unlock(&devices[i].lock);
	}
	sleep_until(atomic_load(&phase_end_ns));
	phase_drain();
	return (double)atomic_load(&win_replies) / seconds;
}

/* Paced: one send every 1/rate s, round robin over the devices; returns the rate achieved. */
static double run_paced(double rate)
{
	int64_t start = now_ns(), step = (int64_t)(1e9 / (rate > 1 ? rate : 1)), end;
	uint64_t before = atomic_load(&sent);

	phase_begin(PHASE_PACED, start);
	end = atomic_load(&phase_end_ns);
	for (int64_t k = 0;; k++) {
		int64_t at = start + k * step;
		struct device *d = &devices[k % ndevices];

		if (at >= end)
			break;
		sleep_until(at);
		pthread_mutex_lock(&d->lock);
		if (!d->is_done) {
			if (d->is_in_flight)
				d->is_due = true;
			else
				send_next(d);
		}
		pthread_mutex_unlock(&d->lock);
	}
	phase_drain();
	return (double)(atomic_load(&sent) - before) / ((double)(end - start) / 1e9);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static bool devices_start(const char *run)
{
	for (int i = 0; i < ndevices; i++) {
		struct device *d = &devices[i];

		pthread_mutex_init(&d->lock, NULL);
		snprintf(d->thing, sizeof(d->thing), "bdev-%s-%d", run, i + 1);
		snprintf(d->topic_start, sizeof(d->topic_start), "$aws/things/%s/jobs/start-next",
			 d->thing);
		snprintf(d->topic_prefix, sizeof(d->topic_prefix), "$aws/things/%s/jobs/",
			 d->thing);
		d->mosq = mosquitto_new(d->thing, true, d);
		if (!d->mosq)
			return false;
		mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
		mosquitto_connect_callback_set(d->mosq, on_connect);
		mosquitto_message_callback_set(d->mosq, on_message);
		if (mosquitto_connect(d->mosq, env("BW_TEST_MQTT_HOST"),
				      atoi(env("BW_TEST_MQTT_PORT")), 30) != MOSQ_ERR_SUCCESS ||
		    mosquitto_loop_start(d->mosq) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "bench_jobs_mqtt: device %d cannot connect\n", i);
			return false;
		}
	}
	for (int i = 0; i < ndevices; i++) {
		int64_t end = now_ns() + 10 * NS_PER_S;

		while (!atomic_load(&devices[i].is_connected) && now_ns() < end)
			usleep(10000);
		if (!atomic_load(&devices[i].is_connected)) {
			fprintf(stderr, "bench_jobs_mqtt: device %d did not connect\n", i);
			return false;
		}
	}
	return true;
}

static void devices_stop(void)
{
	for (int i = 0; i < ndevices; i++) {
		if (!devices[i].mosq)
			continue;
		mosquitto_disconnect(devices[i].mosq);
		mosquitto_loop_stop(devices[i].mosq, false);
		mosquitto_destroy(devices[i].mosq);
		pthread_mutex_destroy(&devices[i].lock);
	}
}

int main(int argc, char **argv)
{
	char run[16], nd[16];
	struct db *db;
	int rc = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--devices") == 0)
			ndevices = atoi(argv[i + 1]);
	}
	if (seconds < 1 || seconds > 15 || ndevices < 1 || ndevices > MAX_DEVICES) {
		fprintf(stderr, "usage: bench_jobs_mqtt [--seconds 1..15] [--devices 1..%d]\n",
			MAX_DEVICES);
		return 2;
	}
	if (!env("BW_TEST_PG_DSN") || !env("BW_TEST_MQTT_HOST") || !env("BW_TEST_MQTT_PORT") ||
	    !env("BW_TEST_URL")) {
		fprintf(stderr, "bench_jobs_mqtt: no test.env with a running server; skipping\n");
		return 77;
	}
	samples = calloc(MAX_SAMPLES, sizeof(*samples));
	db = db_connect(env("BW_TEST_PG_DSN"));
	if (!samples || !db) {
		free(samples);
		db_close(db);
		return 1;
	}
	snprintf(run, sizeof(run), "%x", (unsigned)getpid());
	snprintf(nd, sizeof(nd), "%d", ndevices);
	const char *tp[] = { run, nd };
	if (db_exec(db,
		    "INSERT INTO things (name) SELECT 'bdev-' || $1 || '-' || g FROM"
		    " generate_series(1, $2::int) g",
		    2, tp, NULL) < 0 ||
	    !setup_round(db, run, 1)) {
		fprintf(stderr, "bench_jobs_mqtt: setup failed: %s\n", db_last_error(db));
		goto out;
	}
	mosquitto_lib_init();
	if (!devices_start(run))
		goto out_mqtt;

	double sat = run_saturation();
	printf("jobs saturation: %d devices, %.0f replies/s over %d s (after 1 s warm-up)\n",
	       ndevices, sat, seconds);
	if (!setup_round(db, run, 2)) {
		fprintf(stderr, "bench_jobs_mqtt: setup failed: %s\n", db_last_error(db));
		goto out_mqtt;
	}
	double half = sat / 2;
	double paced = run_paced(half);
	unsigned n = atomic_load(&nsamples);
	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	qsort(samples, n, sizeof(*samples), cmp64);
	double p50 = n ? samples[n / 2] / 1e6 : 0;
	double p99 = n ? samples[(99 * (size_t)n + 99) / 100 - 1] / 1e6 : 0; /* nearest rank */
	printf("jobs paced: target %.0f/s, sent %.0f requests/s, %u samples\n", half, paced, n);
	printf("BENCH jobs_mqtt_replies_per_s=%.0f\n", sat);
	printf("BENCH jobs_mqtt_paced_p50_ms=%.3f\n", p50);
	printf("BENCH jobs_mqtt_paced_p99_ms=%.3f\n", p99);
	const char *raw = env("BENCH_FIG_mqtt_raw_qos1_msgs_per_s");
	if (raw && atof(raw) > 0)
		printf("BENCH jobs_mqtt_vs_raw_ratio=%.3f\n", sat / atof(raw));
	rc = atomic_load(&errors) ? 1 : 0;
	if (rc)
		fprintf(stderr, "bench_jobs_mqtt: %" PRIu64 " rejected or missing replies\n",
			(uint64_t)atomic_load(&errors));
out_mqtt:
	devices_stop();
	mosquitto_lib_cleanup();
out:
	db_close(db);
	free(samples);
	return rc;
}
