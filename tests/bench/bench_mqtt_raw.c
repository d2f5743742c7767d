/*
 * Raw Mosquitto QoS 1 pass-through baseline for `make bench` (docs/BENCH.md).
 *
 * N publisher clients ("bench-pub-<i>", the server account of test.env, so the ACL allows any
 * topic) publish QoS 1 to their own topic "bench/raw/<i>"; one subscriber ("bench-sub")
 * receives everything over "bench/raw/#" at QoS 1. No Bellwether code is involved: this is the
 * ceiling Bellwether's MQTT path is compared with.
 *
 * Phase 1, saturation: each publisher keeps `window` messages in flight end to end (a message
 * received by the subscriber releases its publisher's next one), so the broker's per-client
 * queue (max_queued_messages, 1000 by default) never overflows and nothing is dropped.
 * Figure: messages/s received during the measurement window.
 * Phase 2, paced: the same clients publish open loop at half the saturation rate, round robin;
 * figure: publish call -> subscriber callback latency, p50 and p99. Any message not received
 * by the end of a phase's drain fails the run: a baseline with losses would be meaningless.
 *
 * Reads BW_TEST_MQTT_HOST, BW_TEST_MQTT_PORT, BW_TEST_MQTT_SERVER_USER and
 * BW_TEST_MQTT_SERVER_PASSWORD (tests/harness/stack.sh writes them to test.env); exits 77 when
 * they are missing. Prints "BENCH name=value" lines. Exit 0 on success, 1 on failure, 2 on usage.
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

#define MAX_PUBLISHERS 256
/* Bound of messages in flight end to end: below Mosquitto's default max_queued_messages (1000)
 * for the one subscriber, so that a correct broker never has a reason to drop. (Debian's 2.0.11
 * drops anyway, see docs/BENCH.md; tests/bench/run.sh configures the bench broker for that.) */
#define MAX_IN_FLIGHT_TOTAL 900
#define MAX_LATENCY_SAMPLES (1u << 21)
#define MAX_PAYLOAD 4096
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define DRAIN_TIMEOUT_NS (5 * NS_PER_S)
#define NS_PER_S INT64_C(1000000000)
#define TOPIC_PREFIX "bench/raw/"
#define TOPIC_FILTER "bench/raw/#"

enum phase { PHASE_IDLE = 0, PHASE_SATURATE, PHASE_PACED };

/* Wire header at the start of every payload (host byte order: same process on both ends). */
struct msg_header {
	uint32_t phase;
	uint32_t publisher;
	int64_t sent_ns;
};

struct opts {
	int publishers;
	int window;
	int payload_bytes;
	int warmup_s;
	int measure_s;
};

struct bench;

struct client {
	struct mosquitto *mosq;
	struct bench *bench;
	int index; /* publisher index, -1 for the subscriber */
	char topic[32];
	atomic_int connack_rc; /* -1 until CONNACK */
	atomic_bool subscribed;
};

struct bench {
	struct opts o;
	const char *host;
	int port;
	const char *user;
	const char *password;
	struct client sub;
	struct client *pubs;

	atomic_int phase;
	atomic_uint_fast64_t published; /* successful mosquitto_publish calls this phase */
	atomic_uint_fast64_t received;	/* messages of this phase received */
	atomic_uint_fast64_t errors;	/* publish failures, malformed or foreign messages */
	/* Saturation: messages received within [win_start_ns, win_end_ns). */
	atomic_int_fast64_t win_start_ns;
	atomic_int_fast64_t win_end_ns;
	atomic_uint_fast64_t win_count;
	/* Paced: latency of messages sent at or after lat_start_ns. Written by the subscriber's
	 * network thread only; read after the phase has drained. */
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

/* Publishes one message of phase ph from publisher p (QoS 1); counts successes and failures.
 * Thread-safe: libmosquitto copies the payload and serialises access to p->mosq. */
static void publish_one(struct bench *b, struct client *p, enum phase ph)
{
	unsigned char buf[MAX_PAYLOAD];
	struct msg_header h = { .phase = (uint32_t)ph, .publisher = (uint32_t)p->index };
	int rc;

	memset(buf + sizeof(h), 'x', (size_t)b->o.payload_bytes - sizeof(h));
	h.sent_ns = now_ns();
	memcpy(buf, &h, sizeof(h));
	rc = mosquitto_publish(p->mosq, NULL, p->topic, b->o.payload_bytes, buf, 1, false);
	if (rc == MOSQ_ERR_SUCCESS)
		atomic_fetch_add(&b->published, 1);
	else
		atomic_fetch_add(&b->errors, 1);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct client *c = obj;

	if (rc == 0 && c->index < 0 &&
	    mosquitto_subscribe(mosq, NULL, TOPIC_FILTER, 1) != MOSQ_ERR_SUCCESS)
		rc = -2;
	atomic_store(&c->connack_rc, rc);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			 const int *granted_qos)
{
	struct client *c = obj;

	(void)mosq;
	(void)mid;
	if (qos_count == 1 && granted_qos[0] == 1)
		atomic_store(&c->subscribed, true);
	else
		atomic_store(&c->connack_rc, -3); /* refused by the ACL or downgraded */
}

/* Subscriber network thread: count, time, and (saturating) release the sender's next message. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct client *c = obj;
	struct bench *b = c->bench;
	struct msg_header h;
	int64_t t = now_ns();
	enum phase ph = (enum phase)atomic_load(&b->phase);

	(void)mosq;
	if (m->payloadlen != b->o.payload_bytes || (size_t)m->payloadlen < sizeof(h)) {
		atomic_fetch_add(&b->errors, 1);
		return;
	}
	memcpy(&h, m->payload, sizeof(h));
	if (h.publisher >= (uint32_t)b->o.publishers || h.phase != (uint32_t)ph) {
		/* A late message of a phase that already timed out its drain: ignore it. */
		atomic_fetch_add(&b->errors, 1);
		return;
	}
	atomic_fetch_add(&b->received, 1);
	if (ph == PHASE_SATURATE) {
		if (t >= atomic_load(&b->win_start_ns) && t < atomic_load(&b->win_end_ns))
			atomic_fetch_add(&b->win_count, 1);
		if (t < atomic_load(&b->win_end_ns))
			publish_one(b, &b->pubs[h.publisher], PHASE_SATURATE);
	} else if (ph == PHASE_PACED && h.sent_ns >= atomic_load(&b->lat_start_ns)) {
		size_t i = atomic_load(&b->nlat);

		if (i < MAX_LATENCY_SAMPLES) {
			b->lat_ns[i] = t - h.sent_ns;
			atomic_store(&b->nlat, i + 1);
		}
	}
}

/* Creates, connects and starts the network thread of one client; 0 or -1 (reported). */
static int client_start(struct bench *b, struct client *c, int index)
{
	char id[32];
	int rc;

	c->bench = b;
	c->index = index;
	atomic_init(&c->connack_rc, -1);
	atomic_init(&c->subscribed, false);
	if (index < 0) {
		snprintf(id, sizeof(id), "bench-sub");
	} else {
		snprintf(id, sizeof(id), "bench-pub-%d", index);
		snprintf(c->topic, sizeof(c->topic), TOPIC_PREFIX "%d", index);
	}
	c->mosq = mosquitto_new(id, true, c);
	if (!c->mosq) {
		fprintf(stderr, "bench_mqtt_raw: mosquitto_new(%s): %s\n", id, strerror(errno));
		return -1;
	}
	mosquitto_connect_callback_set(c->mosq, on_connect);
	if (index < 0) {
		mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
		mosquitto_message_callback_set(c->mosq, on_message);
	}
	rc = mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_username_pw_set(c->mosq, b->user, b->password);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect(c->mosq, b->host, b->port, 60);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_loop_start(c->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_mqtt_raw: %s: %s\n", id,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

/* Waits until c has its CONNACK (and SUBACK for the subscriber); 0 or -1 (reported). */
static int client_wait_ready(struct client *c, int64_t deadline_ns)
{
	int rc;

	for (;;) {
		rc = atomic_load(&c->connack_rc);
		if (rc == 0 && (c->index >= 0 || atomic_load(&c->subscribed)))
			return 0;
		if (rc > 0 || rc < -1) {
			fprintf(stderr, "bench_mqtt_raw: client %d refused: %s\n", c->index,
				rc > 0 ? mosquitto_connack_string(rc) : "subscription refused");
			return -1;
		}
		if (now_ns() >= deadline_ns) {
			fprintf(stderr, "bench_mqtt_raw: client %d: no CONNACK/SUBACK in time\n",
				c->index);
			return -1;
		}
		sleep_ns(1000000);
	}
}

static void client_stop(struct client *c)
{
	if (!c->mosq)
		return;
	mosquitto_disconnect(c->mosq);
	mosquitto_loop_stop(c->mosq, false);
	mosquitto_destroy(c->mosq);
	c->mosq = NULL;
}

/* Resets the per-phase counters, then switches to phase ph. */
static void phase_begin(struct bench *b, enum phase ph)
{
	atomic_store(&b->published, 0);
	atomic_store(&b->received, 0);
	atomic_store(&b->win_count, 0);
	atomic_store(&b->nlat, 0);
	atomic_store(&b->phase, (int)ph);
}

/* Waits until every published message of this phase arrived (or a timeout); returns the
 * number still missing. */
static uint64_t phase_drain(struct bench *b)
{
	int64_t deadline = now_ns() + DRAIN_TIMEOUT_NS;

	while (atomic_load(&b->received) < atomic_load(&b->published) && now_ns() < deadline)
		sleep_ns(1000000);
	return atomic_load(&b->published) - atomic_load(&b->received);
}

/* Phase 1; returns messages/s received in the measurement window, or -1. */
static double run_saturation(struct bench *b)
{
	int64_t start = now_ns();
	int64_t win_start = start + (int64_t)b->o.warmup_s * NS_PER_S;
	int64_t win_end = win_start + (int64_t)b->o.measure_s * NS_PER_S;
	uint64_t lost;
	int i, k;

	atomic_store(&b->win_start_ns, win_start);
	atomic_store(&b->win_end_ns, win_end);
	phase_begin(b, PHASE_SATURATE);
	for (i = 0; i < b->o.publishers; i++)
		for (k = 0; k < b->o.window; k++)
			publish_one(b, &b->pubs[i], PHASE_SATURATE);
	sleep_ns(win_end - now_ns());
	lost = phase_drain(b);
	atomic_store(&b->phase, PHASE_IDLE);
	printf("mqtt saturation: %" PRIu64 " published, %" PRIu64 " received, %" PRIu64
	       " in the %d s window, %" PRIu64 " missing after drain\n",
	       (uint64_t)atomic_load(&b->published), (uint64_t)atomic_load(&b->received),
	       (uint64_t)atomic_load(&b->win_count), b->o.measure_s, lost);
	if (lost || atomic_load(&b->win_count) == 0)
		return -1;
	return (double)atomic_load(&b->win_count) * NS_PER_S / (double)(win_end - win_start);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, in ms. */
static double percentile_ms(const int64_t *sorted, size_t n, double p)
{
	double exact = p * (double)n;
	size_t rank = (size_t)exact;

	if ((double)rank < exact)
		rank++; /* ceil */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1e6;
}

/* Phase 2: open-loop publishing at `rate` msg/s; fills p50/p99 (ms); 0 or -1. */
static int run_paced(struct bench *b, double rate, double *p50, double *p99, double *actual)
{
	int64_t start = now_ns();
	int64_t lat_start = start + (int64_t)b->o.warmup_s * NS_PER_S;
	int64_t end = lat_start + (int64_t)b->o.measure_s * NS_PER_S;
	uint64_t slots = 0, skipped = 0, lost, published;
	int next = 0;
	size_t n;
	int64_t t;

	atomic_store(&b->lat_start_ns, lat_start);
	phase_begin(b, PHASE_PACED);
	while ((t = now_ns()) < end) {
		uint64_t due = (uint64_t)((double)(t - start) * rate / (double)NS_PER_S);

		for (; slots < due; slots++) {
			/* Never let the broker's queue for the subscriber overflow (it would drop):
			 * if the backlog is that deep, the rate is not sustainable; count it. */
			if (atomic_load(&b->published) - atomic_load(&b->received) >=
			    MAX_IN_FLIGHT_TOTAL) {
				skipped++;
				continue;
			}
			publish_one(b, &b->pubs[next], PHASE_PACED);
			next = (next + 1) % b->o.publishers;
		}
		sleep_ns(200000);
	}
	lost = phase_drain(b);
	atomic_store(&b->phase, PHASE_IDLE);
	published = atomic_load(&b->published);
	n = atomic_load(&b->nlat);
	*actual = (double)published * NS_PER_S / (double)(end - start);
	printf("mqtt paced: target %.0f msg/s, %" PRIu64 " published (%.0f msg/s), %" PRIu64
	       " skipped for backlog, %zu latency samples, %" PRIu64 " missing after drain\n",
	       rate, published, *actual, skipped, n, lost);
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
		fprintf(stderr, "bench_mqtt_raw: --%s must be an integer in %d..%d\n", name, lo,
			hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_mqtt_raw [--publishers N (32)] [--window N (16)] [--payload BYTES (128)]\n"
		"                      [--warmup S (1)] [--seconds S (5)]\n"
		"Needs BW_TEST_MQTT_HOST, BW_TEST_MQTT_PORT, BW_TEST_MQTT_SERVER_USER and\n"
		"BW_TEST_MQTT_SERVER_PASSWORD (source test.env of tests/harness/stack.sh).\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "publishers", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "payload", required_argument, NULL, 'b' },
		{ "warmup", required_argument, NULL, 'u' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	*o = (struct opts){
		.publishers = 32, .window = 16, .payload_bytes = 128, .warmup_s = 1, .measure_s = 5
	};
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			rc = parse_int("publishers", optarg, 1, MAX_PUBLISHERS, &o->publishers);
			break;
		case 'w':
			rc = parse_int("window", optarg, 1, MAX_IN_FLIGHT_TOTAL, &o->window);
			break;
		case 'b':
			rc = parse_int("payload", optarg, (int)sizeof(struct msg_header),
				       MAX_PAYLOAD, &o->payload_bytes);
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
	if (rc == 0 && o->publishers * o->window > MAX_IN_FLIGHT_TOTAL) {
		fprintf(stderr, "bench_mqtt_raw: publishers * window must be <= %d\n",
			MAX_IN_FLIGHT_TOTAL);
		rc = -1;
	}
	if (rc)
		usage();
	return rc;
}

static int load_env(struct bench *b)
{
	const char *port = getenv("BW_TEST_MQTT_PORT");

	b->host = getenv("BW_TEST_MQTT_HOST");
	b->user = getenv("BW_TEST_MQTT_SERVER_USER");
	b->password = getenv("BW_TEST_MQTT_SERVER_PASSWORD");
	if (!b->host || !*b->host || !port || !b->user || !b->password) {
		fprintf(stderr, "bench_mqtt_raw: BW_TEST_MQTT_* not set (no test.env); skipping\n");
		return 77;
	}
	return parse_int("BW_TEST_MQTT_PORT", port, 1, 65535, &b->port) ? 2 : 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	double sat_rate, p50 = 0, p99 = 0, paced_rate = 0;
	int64_t deadline;
	int i, started = 0, rc;

	memset(&b, 0, sizeof(b));
	if (parse_opts(argc, argv, &b.o))
		return 2;
	rc = load_env(&b);
	if (rc)
		return rc;
	rc = 1;
	b.pubs = calloc((size_t)b.o.publishers, sizeof(*b.pubs));
	b.lat_ns = malloc(MAX_LATENCY_SAMPLES * sizeof(*b.lat_ns));
	if (!b.pubs || !b.lat_ns) {
		fprintf(stderr, "bench_mqtt_raw: out of memory\n");
		goto out;
	}
	if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_mqtt_raw: mosquitto_lib_init failed\n");
		goto out;
	}
	printf("mqtt: broker %s:%d, %d publishers x window %d, %d-byte payloads, QoS 1, "
	       "warmup %d s + %d s per phase\n",
	       b.host, b.port, b.o.publishers, b.o.window, b.o.payload_bytes, b.o.warmup_s,
	       b.o.measure_s);
	if (client_start(&b, &b.sub, -1))
		goto stop;
	for (started = 0; started < b.o.publishers; started++)
		if (client_start(&b, &b.pubs[started], started)) {
			started++; /* stop the half-made client too */
			goto stop;
		}
	deadline = now_ns() + CONNECT_TIMEOUT_NS;
	if (client_wait_ready(&b.sub, deadline))
		goto stop;
	for (i = 0; i < b.o.publishers; i++)
		if (client_wait_ready(&b.pubs[i], deadline))
			goto stop;

	sat_rate = run_saturation(&b);
	if (sat_rate <= 0)
		goto stop;
	if (run_paced(&b, sat_rate / 2, &p50, &p99, &paced_rate))
		goto stop;
	if (atomic_load(&b.errors)) {
		fprintf(stderr, "bench_mqtt_raw: %" PRIu64 " publish errors or stray messages\n",
			(uint64_t)atomic_load(&b.errors));
		goto stop;
	}
	printf("BENCH mqtt_raw_qos1_msgs_per_s=%.0f\n", sat_rate);
	printf("BENCH mqtt_raw_paced_msgs_per_s=%.0f\n", paced_rate);
	printf("BENCH mqtt_raw_p50_ms=%.3f\n", p50);
	printf("BENCH mqtt_raw_p99_ms=%.3f\n", p99);
	rc = 0;
stop:
	client_stop(&b.sub);
	for (i = 0; i < started; i++)
		client_stop(&b.pubs[i]);
	mosquitto_lib_cleanup();
out:
	free(b.pubs);
	free(b.lat_ns);
	return rc;
}
