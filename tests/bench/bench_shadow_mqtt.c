/*
 * Device Shadow updates over MQTT through bellwetherd, for `make bench` (docs/BENCH.md).
 *
 * N simulated devices ("bench-shadow-<i>", client id = thing name, anonymous, confined to their
 * own topics by the broker ACL) subscribe to their classic shadow's update/accepted and
 * update/rejected and publish QoS 1 updates of their reported state
 * {"state":{"reported":{"seq":..,"temp":..}},"clientToken":"<device>.<phase>.<sent ns>"}.
 * The token comes back in update/accepted, so each reply carries its own send time.
 *
 * Phase 1, saturation: every device keeps `window` updates in flight (an accepted reply
 * releases the device's next update; AWS allows 10 in flight per connection). Figure: updates
 * accepted per second in the measurement window, and its ratio to the raw Mosquitto QoS 1
 * pass-through of the same run (BENCH_FIG_mqtt_raw_qos1_msgs_per_s, from bench_mqtt_raw).
 * Phase 2, paced: open loop at half the saturation rate, round robin over the devices; figure:
 * publish -> update/accepted latency p50 / p99. A rejected update, or an update still
 * unanswered after the drain, fails the run.
 *
 * Reads BW_TEST_MQTT_HOST, BW_TEST_MQTT_PORT and BW_TEST_URL (a running bellwetherd; from the
 * stack's test.env); exits 77 without them. Exit 0 on success, 1 on failure, 2 on usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#define MAX_DEVICES 256
#define MAX_WINDOW 10 /* AWS: at most 10 in-flight shadow requests per connection */
#define MAX_LATENCY_SAMPLES (1u << 21)
#define NS_PER_S INT64_C(1000000000)
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define DRAIN_TIMEOUT_NS (10 * NS_PER_S)

enum phase { PHASE_IDLE = 0, PHASE_SATURATE, PHASE_PACED, PHASE_WARM };

struct opts {
	int devices;
	int window;
	int warmup_s;
	int measure_s;
};

struct bench;

struct device {
	struct mosquitto *mosq;
	struct bench *bench;
	int index;
	char thing[48];
	char topic_update[96];
	char topic_accepted[112];
	char topic_rejected[112];
	atomic_int connack_rc; /* -1 until CONNACK */
	atomic_int subacks;
	atomic_uint_fast64_t seq;
};

struct bench {
	struct opts o;
	const char *host;
	int port;
	struct device *devs;

	atomic_int phase;
	atomic_uint_fast64_t published;
	atomic_uint_fast64_t accepted;
	atomic_uint_fast64_t rejected;
	atomic_uint_fast64_t errors;
	atomic_int_fast64_t win_start_ns;
	atomic_int_fast64_t win_end_ns;
	atomic_uint_fast64_t win_count;
	atomic_int_fast64_t lat_start_ns;
	int64_t *lat_ns;
	atomic_size_t nlat;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NS_PER_S, .tv_nsec = ns % NS_PER_S };

	if (ns <= 0)
		return;
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* One QoS 1 update from device d in phase ph. Thread-safe (libmosquitto locks per client). */
static void publish_update(struct bench *b, struct device *d, enum phase ph)
{
	char payload[192];
	uint64_t seq = atomic_fetch_add(&d->seq, 1);
	int n, rc;

	n = snprintf(payload, sizeof(payload),
		     "{\"state\":{\"reported\":{\"seq\":%" PRIu64 ",\"temp\":%.1f}},"
		     "\"clientToken\":\"%d.%d.%" PRId64 "\"}",
		     seq, 20.0 + (double)(seq % 100) / 10.0, d->index, (int)ph, now_ns());
	rc = mosquitto_publish(d->mosq, NULL, d->topic_update, n, payload, 1, false);
	if (rc == MOSQ_ERR_SUCCESS)
		atomic_fetch_add(&b->published, 1);
	else
		atomic_fetch_add(&b->errors, 1);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct device *d = obj;

	if (rc == 0 && (mosquitto_subscribe(mosq, NULL, d->topic_accepted, 1) != MOSQ_ERR_SUCCESS ||
			mosquitto_subscribe(mosq, NULL, d->topic_rejected, 1) != MOSQ_ERR_SUCCESS))
		rc = -2;
	atomic_store(&d->connack_rc, rc);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			 const int *granted_qos)
{
	struct device *d = obj;

	(void)mosq;
	(void)mid;
	if (qos_count == 1 && granted_qos[0] == 1)
		atomic_fetch_add(&d->subacks, 1);
	else
		atomic_store(&d->connack_rc, -3);
}

/* "<device>.<phase>.<sent ns>" out of the reply's clientToken. */
static bool parse_token(const char *payload, int len, int *dev, int *ph, int64_t *sent)
{
	const char *p = memmem(payload, (size_t)len, "\"clientToken\":\"", 15);
	char tok[80];
	size_t n;

	if (!p)
		return false;
	p += 15;
	n = strcspn(p, "\"");
	if (n == 0 || n >= sizeof(tok) || p + n > payload + len)
		return false;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return sscanf(tok, "%d.%d.%" SCNd64, dev, ph, sent) == 3;
}

/* A device's network thread: count, time and (saturating) release the device's next update. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct device *d = obj;
	struct bench *b = d->bench;
	enum phase ph = (enum phase)atomic_load(&b->phase);
	int64_t t = now_ns(), sent;
	int dev, mph;

	(void)mosq;
	if (strcmp(m->topic, d->topic_rejected) == 0) {
		fprintf(stderr, "bench_shadow_mqtt: rejected: %.*s\n", m->payloadlen,
			(const char *)m->payload);
		atomic_fetch_add(&b->rejected, 1);
		return;
	}
	if (!parse_token(m->payload, m->payloadlen, &dev, &mph, &sent) || dev != d->index ||
	    mph != (int)ph) {
		atomic_fetch_add(&b->errors, 1); /* stray or late reply of an earlier phase */
		return;
	}
	atomic_fetch_add(&b->accepted, 1);
	if (ph == PHASE_SATURATE || ph == PHASE_WARM) {
		if (t >= atomic_load(&b->win_start_ns) && t < atomic_load(&b->win_end_ns))
			atomic_fetch_add(&b->win_count, 1);
		if (t < atomic_load(&b->win_end_ns))
			publish_update(b, d, ph);
	} else if (ph == PHASE_PACED && sent >= atomic_load(&b->lat_start_ns)) {
		size_t i = atomic_fetch_add(&b->nlat, 1);

		if (i < MAX_LATENCY_SAMPLES)
			b->lat_ns[i] = t - sent;
	}
}

static int device_start(struct bench *b, struct device *d, int index)
{
	int rc;

	d->bench = b;
	d->index = index;
	atomic_init(&d->connack_rc, -1);
	atomic_init(&d->subacks, 0);
	atomic_init(&d->seq, 0);
	snprintf(d->thing, sizeof(d->thing), "bench-shadow-%d", index);
	snprintf(d->topic_update, sizeof(d->topic_update), "$aws/things/%s/shadow/update",
		 d->thing);
	snprintf(d->topic_accepted, sizeof(d->topic_accepted), "%s/accepted", d->topic_update);
	snprintf(d->topic_rejected, sizeof(d->topic_rejected), "%s/rejected", d->topic_update);
	d->mosq = mosquitto_new(d->thing, true, d);
	if (!d->mosq) {
		fprintf(stderr, "bench_shadow_mqtt: mosquitto_new: %s\n", strerror(errno));
		return -1;
	}
	mosquitto_connect_callback_set(d->mosq, on_connect);
	mosquitto_subscribe_callback_set(d->mosq, on_subscribe);
	mosquitto_message_callback_set(d->mosq, on_message);
	rc = mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect(d->mosq, b->host, b->port, 60);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_loop_start(d->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_shadow_mqtt: %s: %s\n", d->thing,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static int device_wait_ready(struct device *d, int64_t deadline_ns)
{
	for (;;) {
		int rc = atomic_load(&d->connack_rc);

		if (rc == 0 && atomic_load(&d->subacks) == 2)
			return 0;
		if (rc > 0 || rc < -1) {
			fprintf(stderr, "bench_shadow_mqtt: %s refused (%d)\n", d->thing, rc);
			return -1;
		}
		if (now_ns() >= deadline_ns) {
			fprintf(stderr, "bench_shadow_mqtt: %s: no CONNACK/SUBACK in time\n",
				d->thing);
			return -1;
		}
		sleep_ns(1000000);
	}
}

static void device_stop(struct device *d)
{
	if (!d->mosq)
		return;
	mosquitto_disconnect(d->mosq);
	mosquitto_loop_stop(d->mosq, false);
	mosquitto_destroy(d->mosq);
	d->mosq = NULL;
}

static void phase_begin(struct bench *b, enum phase ph)
{
	atomic_store(&b->published, 0);
	atomic_store(&b->accepted, 0);
	atomic_store(&b->win_count, 0);
	atomic_store(&b->nlat, 0);
	atomic_store(&b->phase, (int)ph);
}

/* Waits for every update of the phase to be answered; returns how many are still missing. */
static uint64_t phase_drain(struct bench *b)
{
	int64_t deadline = now_ns() + DRAIN_TIMEOUT_NS;

	while (atomic_load(&b->accepted) + atomic_load(&b->rejected) < atomic_load(&b->published) &&
	       now_ns() < deadline)
		sleep_ns(1000000);
	return atomic_load(&b->published) - atomic_load(&b->accepted) - atomic_load(&b->rejected);
}

/* Closed loop for warm_s + measure_s; returns accepted updates/s in the window, or -1. */
static double run_closed(struct bench *b, enum phase ph, int warm_s, int measure_s)
{
	int64_t start = now_ns();
	int64_t win_start = start + (int64_t)warm_s * NS_PER_S;
	int64_t win_end = win_start + (int64_t)measure_s * NS_PER_S;
	uint64_t lost;

	atomic_store(&b->win_start_ns, win_start);
	atomic_store(&b->win_end_ns, win_end);
	phase_begin(b, ph);
	for (int i = 0; i < b->o.devices; i++)
		for (int k = 0; k < b->o.window; k++)
			publish_update(b, &b->devs[i], ph);
	sleep_ns(win_end - now_ns());
	lost = phase_drain(b);
	atomic_store(&b->phase, PHASE_IDLE);
	printf("shadow saturation%s: %" PRIu64 " published, %" PRIu64 " accepted, %" PRIu64
	       " in the %d s window, %" PRIu64 " missing after drain\n",
	       ph == PHASE_WARM ? " (warm-up)" : "", (uint64_t)atomic_load(&b->published),
	       (uint64_t)atomic_load(&b->accepted), (uint64_t)atomic_load(&b->win_count), measure_s,
	       lost);
	if (lost || atomic_load(&b->win_count) == 0)
		return -1;
	return (double)atomic_load(&b->win_count) * NS_PER_S / (double)(win_end - win_start);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double percentile_ms(const int64_t *sorted, size_t n, double p)
{
	double exact = p * (double)n;
	size_t rank = (size_t)exact;

	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1e6;
}

/* Open loop at `rate` updates/s, round robin; fills p50/p99 (ms) and the achieved rate. */
static int run_paced(struct bench *b, double rate, double *p50, double *p99, double *actual)
{
	int64_t start = now_ns();
	int64_t lat_start = start + (int64_t)b->o.warmup_s * NS_PER_S;
	int64_t end = lat_start + (int64_t)b->o.measure_s * NS_PER_S;
	uint64_t slots = 0, lost, published;
	int next = 0;
	size_t n;
	int64_t t;

	atomic_store(&b->lat_start_ns, lat_start);
	phase_begin(b, PHASE_PACED);
	while ((t = now_ns()) < end) {
		uint64_t due = (uint64_t)((double)(t - start) * rate / (double)NS_PER_S);

		for (; slots < due; slots++) {
			publish_update(b, &b->devs[next], PHASE_PACED);
			next = (next + 1) % b->o.devices;
		}
		sleep_ns(200000);
	}
	lost = phase_drain(b);
	atomic_store(&b->phase, PHASE_IDLE);
	published = atomic_load(&b->published);
	n = atomic_load(&b->nlat);
	if (n > MAX_LATENCY_SAMPLES)
		n = MAX_LATENCY_SAMPLES;
	*actual = (double)published * NS_PER_S / (double)(end - start);
	printf("shadow paced: target %.0f updates/s, %" PRIu64 " published (%.0f/s), %zu latency "
	       "samples, %" PRIu64 " missing after drain\n",
	       rate, published, *actual, n, lost);
	if (lost || n == 0)
		return -1;
	qsort(b->lat_ns, n, sizeof(*b->lat_ns), cmp_i64);
	*p50 = percentile_ms(b->lat_ns, n, 0.50);
	*p99 = percentile_ms(b->lat_ns, n, 0.99);
	return 0;
}

static int parse_int(const char *name, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "bench_shadow_mqtt: --%s must be an integer in %d..%d\n", name, lo,
			hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_shadow_mqtt [--devices N (32)] [--window N (4)] [--warmup S (1)]\n"
		"                         [--seconds S (5)]\n"
		"Needs BW_TEST_MQTT_HOST, BW_TEST_MQTT_PORT and BW_TEST_URL (source test.env of\n"
		"tests/harness/stack.sh with a running bellwetherd).\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "devices", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "warmup", required_argument, NULL, 'u' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	*o = (struct opts){ .devices = 32, .window = 4, .warmup_s = 1, .measure_s = 5 };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			rc = parse_int("devices", optarg, 1, MAX_DEVICES, &o->devices);
			break;
		case 'w':
			rc = parse_int("window", optarg, 1, MAX_WINDOW, &o->window);
			break;
		case 'u':
			rc = parse_int("warmup", optarg, 0, 5, &o->warmup_s);
			break;
		case 's':
			rc = parse_int("seconds", optarg, 1, 15, &o->measure_s);
			break;
		default:
			rc = -1;
			break;
		}
		if (rc)
			break;
	}
	if (rc == 0 && optind < argc)
		rc = -1;
	if (rc)
		usage();
	return rc;
}

static int load_env(struct bench *b)
{
	const char *port = getenv("BW_TEST_MQTT_PORT");
	const char *url = getenv("BW_TEST_URL");
	const char *secs = getenv("BENCH_SECONDS");

	b->host = getenv("BW_TEST_MQTT_HOST");
	if (!b->host || !*b->host || !port || !url || !*url) {
		fprintf(stderr, "bench_shadow_mqtt: BW_TEST_MQTT_* / BW_TEST_URL not set (no "
				"running bellwetherd); skipping\n");
		return 77;
	}
	if (secs && parse_int("BENCH_SECONDS", secs, 1, 15, &b->o.measure_s))
		return 2;
	return parse_int("BW_TEST_MQTT_PORT", port, 1, 65535, &b->port) ? 2 : 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	double sat_rate, p50 = 0, p99 = 0, paced_rate = 0;
	const char *raw = getenv("BENCH_FIG_mqtt_raw_qos1_msgs_per_s");
	const char *raw_p99 = getenv("BENCH_FIG_mqtt_raw_p99_ms");
	int64_t deadline;
	int i, started = 0, rc;

	memset(&b, 0, sizeof(b));
	if (parse_opts(argc, argv, &b.o))
		return 2;
	rc = load_env(&b);
	if (rc)
		return rc;
	rc = 1;
	b.devs = calloc((size_t)b.o.devices, sizeof(*b.devs));
	b.lat_ns = malloc(MAX_LATENCY_SAMPLES * sizeof(*b.lat_ns));
	if (!b.devs || !b.lat_ns) {
		fprintf(stderr, "bench_shadow_mqtt: out of memory\n");
		goto out;
	}
	if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		goto out;
	printf("shadow: broker %s:%d, %d devices x window %d, reported-state updates, QoS 1, "
	       "warmup %d s + %d s per phase\n",
	       b.host, b.port, b.o.devices, b.o.window, b.o.warmup_s, b.o.measure_s);
	for (started = 0; started < b.o.devices; started++)
		if (device_start(&b, &b.devs[started], started)) {
			started++;
			goto stop;
		}
	deadline = now_ns() + CONNECT_TIMEOUT_NS;
	for (i = 0; i < b.o.devices; i++)
		if (device_wait_ready(&b.devs[i], deadline))
			goto stop;
	/* creates the shadows and warms the server's connections and caches */
	if (run_closed(&b, PHASE_WARM, 0, 1) < 0)
		goto stop;
	sat_rate = run_closed(&b, PHASE_SATURATE, b.o.warmup_s, b.o.measure_s);
	if (sat_rate <= 0)
		goto stop;
	if (run_paced(&b, sat_rate / 2, &p50, &p99, &paced_rate))
		goto stop;
	if (atomic_load(&b.rejected) || atomic_load(&b.errors)) {
		fprintf(stderr,
			"bench_shadow_mqtt: %" PRIu64 " rejected, %" PRIu64
			" publish errors or stray replies\n",
			(uint64_t)atomic_load(&b.rejected), (uint64_t)atomic_load(&b.errors));
		goto stop;
	}
	if (raw && atof(raw) > 0)
		printf("ratio = shadow_mqtt_updates_per_s / mqtt_raw_qos1_msgs_per_s = %.2f "
		       "(target >= 0.35)\n",
		       sat_rate / atof(raw));
	printf("p99 at half load = %.3f ms (target <= 20 ms)\n", p99);
	printf("BENCH shadow_mqtt_updates_per_s=%.0f\n", sat_rate);
	if (raw && atof(raw) > 0)
		printf("BENCH shadow_mqtt_updates_per_s_ratio=%.3f\n", sat_rate / atof(raw));
	printf("BENCH shadow_mqtt_paced_updates_per_s=%.0f\n", paced_rate);
	printf("BENCH shadow_mqtt_p50_ms=%.3f\n", p50);
	printf("BENCH shadow_mqtt_p99_ms=%.3f\n", p99);
	if (raw_p99 && atof(raw_p99) > 0)
		printf("BENCH shadow_mqtt_p99_ms_ratio=%.3f\n", p99 / atof(raw_p99));
	rc = 0;
stop:
	for (i = 0; i < started; i++)
		device_stop(&b.devs[i]);
	mosquitto_lib_cleanup();
out:
	free(b.devs);
	free(b.lat_ns);
	return rc;
}
