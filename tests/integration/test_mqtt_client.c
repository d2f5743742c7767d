/* Integration tests for mqtt/client against a real Mosquitto. Every test starts its own private
 * broker (loopback, free port, temp dir, killed with the test), so the suite needs no
 * environment and never skips; a second raw libmosquitto client plays the devices. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "core/buf.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "mqtt/client.h"
#include "mqtt/router.h"

#include "../lib/ports.h"

#define WAIT_MS 5000 /* every wait is bounded by this */
#define MAX_MSGS 256

/* ---- a private broker ------------------------------------------------------------------- */

struct broker {
	char dir[64];
	char conf[128];
	char log[128];
	char passwd[128];	/* password file, "" for anonymous access */
	const char *extra_conf; /* appended to the config, or NULL */
	int port;
	pid_t pid;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A free port for a broker (tests/lib/ports.c). */
static int port_acquire(const char *owner)
{
	int port = test_port_acquire(owner);

	ck_assert_msg(port > 0, "no free port");
	return port;
}

/* Run argv to completion; true on exit status 0. */
static bool run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void broker_write_conf(struct broker *b)
{
	FILE *f = fopen(b->conf, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "listener %d 127.0.0.1\n", b->port);
	fprintf(f, "set_tcp_nodelay true\npersistence false\nlog_dest stderr\n");
	if (geteuid() == 0)
		fprintf(f, "user root\n"); /* keep access to the 0700 temp dir */
	if (b->passwd[0])
		fprintf(f, "allow_anonymous false\npassword_file %s\n", b->passwd);
	else
		fprintf(f, "allow_anonymous true\n");
	if (b->extra_conf)
		fputs(b->extra_conf, f);
	ck_assert_int_eq(fclose(f), 0);
}

static bool broker_spawn(struct broker *b)
{
	const char *exe = getenv("BW_MOSQUITTO");
	pid_t parent = getpid();
	int64_t deadline;

	if (!exe)
		exe = access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto"
							       : "mosquitto";
	broker_write_conf(b);
	b->pid = fork();
	ck_assert_int_ge(b->pid, 0);
	if (b->pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* the broker dies with the test process, even when an assertion ends it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp(exe, exe, "-c", b->conf, (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + WAIT_MS;
	while (now_ms() < deadline) {
		int status;

		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			b->pid = 0; /* exited: port taken or bad config */
			return false;
		}
		if (test_port_accepts(b->port))
			return true;
		sleep_ms(20);
	}
	return false;
}

/* Create the temp dir and start a broker on a free port (a few tries against port races). */
static void broker_init(struct broker *b, const char *user, const char *password)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/bw-mqtt-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(b->dir));
	snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/mosquitto.log", b->dir);
	if (user) {
		char *argv[] = { "mosquitto_passwd", "-c", "-b", b->passwd, (char *)user,
				 (char *)password,   NULL };

		snprintf(b->passwd, sizeof(b->passwd), "%s/passwd", b->dir);
		ck_assert_msg(run(argv), "mosquitto_passwd failed");
	}
	for (int i = 0; i < 5; i++) {
		b->port = port_acquire(b->dir);
		if (broker_spawn(b))
			return;
		test_port_release(b->dir, b->port);
	}
	ck_abort_msg("mosquitto did not start (see %s)", b->log);
}

static void broker_kill(struct broker *b, int sig)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, sig);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

/* Start again on the same port (the client must find it there). */
static void broker_restart(struct broker *b)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (!broker_spawn(b)) {
		ck_assert_msg(now_ms() < deadline, "mosquitto did not restart on port %d", b->port);
		sleep_ms(100);
	}
}

static void broker_cleanup(struct broker *b)
{
	if (!b->dir[0])
		return;
	broker_kill(b, SIGTERM);
	if (b->port > 0)
		test_port_release(b->dir, b->port);
	unlink(b->conf);
	unlink(b->log);
	if (b->passwd[0])
		unlink(b->passwd);
	rmdir(b->dir);
	b->dir[0] = '\0';
}

/* ---- received-message sinks ----------------------------------------------------------- */

struct copy {
	char topic[128];
	char payload[160];
	size_t len;
	int qos;
	bool retain;
	int batch_size; /* 0 for single-handler calls */
};

struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct copy msgs[MAX_MSGS];
	int count;
	int overflow;
	int errors;   /* handler-side checks that failed (asserted on the test thread) */
	int delay_ms; /* handler sleeps this long per call (stop test) */
};

static void sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

static void sink_cleanup(struct sink *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

static void sink_add(struct sink *s, const char *topic, const void *payload, size_t len, int qos,
		     bool retain, int batch_size)
{
	pthread_mutex_lock(&s->lock);
	if (s->count < MAX_MSGS && len <= sizeof(s->msgs[0].payload)) {
		struct copy *c = &s->msgs[s->count++];

		snprintf(c->topic, sizeof(c->topic), "%s", topic);
		if (len > 0) /* an empty payload may come as NULL */
			memcpy(c->payload, payload, len);
		c->len = len;
		c->qos = qos;
		c->retain = retain;
		c->batch_size = batch_size;
	} else {
		s->overflow++;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait until the sink holds at least n messages; returns the count (bounded by WAIT_MS). */
static int sink_wait(struct sink *s, int n)
{
	struct timespec deadline;
	int count;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&s->lock);
	while (s->count + s->overflow < n) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
			break;
	}
	count = s->count + s->overflow;
	pthread_mutex_unlock(&s->lock);
	return count;
}

static int sink_count(struct sink *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->count + s->overflow;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void on_one(const struct mqtt_message *m, void *arg)
{
	struct sink *s = arg;

	/* the copy is NUL-terminated right after the payload bytes */
	if (m->payload[m->payload_len] != '\0' || strlen(m->topic) != m->topic_len) {
		pthread_mutex_lock(&s->lock);
		s->errors++;
		pthread_mutex_unlock(&s->lock);
	}
	sink_add(s, m->topic, m->payload, m->payload_len, m->qos, m->retain, 0);
	if (s->delay_ms)
		sleep_ms(s->delay_ms);
}

static void on_batch(const struct mqtt_message *const *msgs, size_t n, void *arg)
{
	for (size_t i = 0; i < n; i++)
		sink_add(arg, msgs[i]->topic, msgs[i]->payload, msgs[i]->payload_len, msgs[i]->qos,
			 msgs[i]->retain, (int)n);
}

/* ---- a raw libmosquitto client (the "device") ----------------------------------------- */

struct raw {
	struct mosquitto *mosq;
	struct sink sink;
	bool is_connected;
	int subacks;
};

static void raw_on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct raw *r = obj;

	(void)m;
	pthread_mutex_lock(&r->sink.lock);
	r->is_connected = rc == 0;
	pthread_cond_broadcast(&r->sink.cond);
	pthread_mutex_unlock(&r->sink.lock);
}

static void raw_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct raw *r = obj;

	(void)m;
	(void)mid;
	(void)n;
	(void)granted;
	pthread_mutex_lock(&r->sink.lock);
	r->subacks++;
	pthread_cond_broadcast(&r->sink.cond);
	pthread_mutex_unlock(&r->sink.lock);
}

static void raw_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct raw *r = obj;

	(void)m;
	sink_add(&r->sink, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->qos, msg->retain,
		 0);
}

/* Wait (bounded) until *flag-like condition holds: connected, or subacks >= n. */
static bool raw_wait(struct raw *r, bool want_connect, int subacks)
{
	struct timespec deadline;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&r->sink.lock);
	while (!(ok = want_connect ? r->is_connected : r->subacks >= subacks)) {
		if (pthread_cond_timedwait(&r->sink.cond, &r->sink.lock, &deadline) == ETIMEDOUT)
			break;
	}
	ok = want_connect ? r->is_connected : r->subacks >= subacks;
	pthread_mutex_unlock(&r->sink.lock);
	return ok;
}

static void raw_open(struct raw *r, int port)
{
	memset(r, 0, sizeof(*r));
	sink_init(&r->sink);
	r->mosq = mosquitto_new(NULL, true, r);
	ck_assert_ptr_nonnull(r->mosq);
	mosquitto_int_option(r->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(r->mosq, raw_on_connect);
	mosquitto_subscribe_callback_set(r->mosq, raw_on_subscribe);
	mosquitto_message_callback_set(r->mosq, raw_on_message);
	ck_assert_int_eq(mosquitto_connect(r->mosq, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
	ck_assert_int_eq(mosquitto_loop_start(r->mosq), MOSQ_ERR_SUCCESS);
	ck_assert_msg(raw_wait(r, true, 0), "raw client did not connect");
}

static void raw_subscribe(struct raw *r, const char *filter)
{
	int before;

	pthread_mutex_lock(&r->sink.lock);
	before = r->subacks;
	pthread_mutex_unlock(&r->sink.lock);
	ck_assert_int_eq(mosquitto_subscribe(r->mosq, NULL, filter, 1), MOSQ_ERR_SUCCESS);
	ck_assert_msg(raw_wait(r, false, before + 1), "no SUBACK for %s", filter);
}

static void raw_publish(struct raw *r, const char *topic, const void *payload, size_t len)
{
	ck_assert_int_eq(mosquitto_publish(r->mosq, NULL, topic, (int)len, payload, 1, false),
			 MOSQ_ERR_SUCCESS);
}

static void raw_close(struct raw *r)
{
	if (!r->mosq)
		return;
	mosquitto_disconnect(r->mosq);
	mosquitto_loop_stop(r->mosq, false);
	mosquitto_destroy(r->mosq);
	r->mosq = NULL;
	sink_cleanup(&r->sink);
}

/* ---- fixture ------------------------------------------------------------------------- */

static struct broker broker;
static struct mqtt_router *router;
static struct sink got; /* what our client's handlers received */
static struct raw dev;

static void setup(void)
{
	mosquitto_lib_init();
	memset(&broker, 0, sizeof(broker));
	memset(&dev, 0, sizeof(dev));
	sink_init(&got);
	router = mqtt_router_new();
	ck_assert_ptr_nonnull(router);
	ck_assert_int_eq(mqtt_router_add(router, "$aws/things/+/shadow/get", 1, on_one, &got),
			 BW_OK);
	ck_assert_int_eq(
		mqtt_router_add_batch(router, "$aws/things/+/shadow/update", 1, on_batch, &got),
		BW_OK);
}

static void teardown(void)
{
	mqtt_client_stop();
	ck_assert_int_eq(got.errors, 0);
	raw_close(&dev);
	broker_cleanup(&broker);
	mqtt_router_free(router);
	router = NULL;
	sink_cleanup(&got);
	mosquitto_lib_cleanup();
}

static struct mqtt_client_options client_opts(int port)
{
	static char client_id[64];

	snprintf(client_id, sizeof(client_id), "bw-test-%d", (int)getpid());
	return (struct mqtt_client_options){
		.host = "127.0.0.1",
		.port = port,
		.client_id = client_id,
		.keepalive_s = 5,
		.reconnect_min_ms = 50,
		.reconnect_max_ms = 400,
		.workers = 4,
		.queue_capacity = 1024,
	};
}

static bool wait_connected(bool want)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (mqtt_client_is_connected() != want && now_ms() < deadline)
		sleep_ms(10);
	return mqtt_client_is_connected() == want;
}

static void start_client(const struct mqtt_client_options *o)
{
	ck_assert_int_eq(mqtt_client_start(o, router), BW_OK);
	ck_assert_msg(wait_connected(true), "client did not connect and subscribe");
}

/* Current value of one rendered series, e.g. name{label="v"}; 0 when absent. */
static double metric(const char *series)
{
	struct buf b;
	char needle[256];
	const char *p;
	double v = 0;

	buf_init(&b);
	metrics_render(&b);
	snprintf(needle, sizeof(needle), "\n%s ", series);
	p = b.data ? strstr(b.data, needle) : NULL;
	if (p)
		v = strtod(p + strlen(needle), NULL);
	buf_cleanup(&b);
	return v;
}

/* ---- tests --------------------------------------------------------------------------- */

START_TEST(receives_exact_payload_bytes_with_embedded_nul)
{
	static const char payload[] = { '{', '"', 'a', '\0', 'b', '"', '}', (char)0xfe };
	struct mqtt_client_options o;

	broker_init(&broker, NULL, NULL);
	/* a retained request left on the broker is not replayed to the server on subscribe */
	raw_open(&dev, broker.port);
	ck_assert_int_eq(mosquitto_publish(dev.mosq, NULL, "$aws/things/dev-1/shadow/get", 5,
					   "stale", 1, true),
			 MOSQ_ERR_SUCCESS);
	raw_subscribe(&dev, "$aws/things/dev-1/shadow/get"); /* retained copy back: it is stored */
	ck_assert_int_eq(sink_wait(&dev.sink, 1), 1);
	o = client_opts(broker.port);
	start_client(&o);
	raw_publish(&dev, "$aws/things/dev-1/shadow/get", payload, sizeof(payload));
	raw_publish(&dev, "$aws/things/dev-1/shadow/get", "", 0);
	ck_assert_int_eq(sink_wait(&got, 2), 2);
	ck_assert_str_eq(got.msgs[0].topic, "$aws/things/dev-1/shadow/get");
	ck_assert_uint_eq(got.msgs[0].len, sizeof(payload));
	ck_assert_mem_eq(got.msgs[0].payload, payload, sizeof(payload));
	ck_assert_int_eq(got.msgs[0].qos, 1);
	ck_assert(!got.msgs[0].retain);
	ck_assert_uint_eq(got.msgs[1].len, 0);

	/* topics without a route are not subscribed: nothing arrives for them */
	raw_publish(&dev, "$aws/things/dev-1/shadow/delete", "x", 1);
	raw_publish(&dev, "$aws/things/dev-1/shadow/get", "last", 4);
	ck_assert_int_eq(sink_wait(&got, 3), 3);
	ck_assert_mem_eq(got.msgs[2].payload, "last", 4);
	ck_assert_int_eq(sink_count(&got), 3);
}
END_TEST

START_TEST(one_things_messages_arrive_in_order)
{
	static const char get_calls[] =
		"bw_mqtt_handler_duration_seconds_count{filter=\"$aws/things/+/shadow/get\"}";
	struct mqtt_client_options o;
	int next_get = 0, next_update = 0, other = 0;
	double calls = metric(get_calls);

	broker_init(&broker, NULL, NULL);
	o = client_opts(broker.port);
	start_client(&o);
	raw_open(&dev, broker.port);
	for (int i = 0; i < 100; i++) {
		char p[16];
		int len = snprintf(p, sizeof(p), "%d", i);

		raw_publish(&dev, "$aws/things/ordered/shadow/get", p, (size_t)len);
		raw_publish(&dev, "$aws/things/ordered/shadow/update", p, (size_t)len);
		if (i % 5 == 0)
			raw_publish(&dev, "$aws/things/noise-thing/shadow/get", p, (size_t)len);
	}
	ck_assert_int_eq(sink_wait(&got, 220), 220);
	for (int i = 0; i < got.count; i++) {
		const struct copy *c = &got.msgs[i];
		int v = atoi(c->payload);

		if (strcmp(c->topic, "$aws/things/ordered/shadow/get") == 0) {
			ck_assert_int_eq(v, next_get);
			ck_assert_int_eq(c->batch_size, 0);
			next_get++;
		} else if (strcmp(c->topic, "$aws/things/ordered/shadow/update") == 0) {
			ck_assert_int_eq(v, next_update);
			ck_assert_int_ge(c->batch_size, 1); /* via the batch handler */
			next_update++;
		} else {
			other++;
		}
	}
	ck_assert_int_eq(next_get, 100);
	ck_assert_int_eq(next_update, 100);
	ck_assert_int_eq(other, 20);
	ck_assert_int_eq(got.overflow, 0);
	/* one observation per message, made just after its handler returned */
	for (int64_t deadline = now_ms() + WAIT_MS;
	     metric(get_calls) - calls < 120 && now_ms() < deadline;)
		sleep_ms(10);
	ck_assert_double_eq(metric(get_calls) - calls, 120);
}
END_TEST

START_TEST(publish_delivers_exact_bytes_to_a_subscriber)
{
	static const char payload[] = { 'h', 'i', '\0', 'x' };
	struct mqtt_client_options o;
	char big[64];

	double published = metric("bw_mqtt_messages_published_total");
	double failures = metric("bw_mqtt_publish_failures_total");

	broker_init(&broker, NULL, NULL);
	ck_assert_int_eq(mqtt_client_publish("a/b", "x", 1, 0, false), BW_ERR_UNAVAILABLE);
	o = client_opts(broker.port);
	start_client(&o);
	raw_open(&dev, broker.port);
	raw_subscribe(&dev, "$aws/things/dev-2/jobs/notify-next");
	ck_assert_int_eq(mqtt_client_publish("$aws/things/dev-2/jobs/notify-next", payload,
					     sizeof(payload), 1, false),
			 BW_OK);
	ck_assert_int_eq(
		mqtt_client_publish("$aws/things/dev-2/jobs/notify-next", NULL, 0, 0, false),
		BW_OK);
	ck_assert_int_eq(sink_wait(&dev.sink, 2), 2);
	ck_assert_str_eq(dev.sink.msgs[0].topic, "$aws/things/dev-2/jobs/notify-next");
	ck_assert_uint_eq(dev.sink.msgs[0].len, sizeof(payload));
	ck_assert_mem_eq(dev.sink.msgs[0].payload, payload, sizeof(payload));
	ck_assert_int_eq(dev.sink.msgs[0].qos, 1);
	ck_assert(!dev.sink.msgs[0].retain);
	ck_assert_uint_eq(dev.sink.msgs[1].len, 0);

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(mqtt_client_publish("a/+", "x", 1, 0, false), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_client_publish("", "x", 1, 0, false), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_client_publish(NULL, "x", 1, 0, false), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_client_publish("a/b", "x", 1, 2, false), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_client_publish("a/b", NULL, 1, 0, false), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_client_publish("a/b", big, MQTT_MAX_PAYLOAD_BYTES + 1, 0, false),
			 BW_ERR_PAYLOAD_TOO_LARGE);
	ck_assert_double_eq(metric("bw_mqtt_messages_published_total") - published, 2);
	ck_assert_double_eq(metric("bw_mqtt_publish_failures_total") - failures, 7);
}
END_TEST

START_TEST(reconnects_and_resubscribes_after_broker_restart)
{
	struct mqtt_client_options o;

	broker_init(&broker, NULL, NULL);
	o = client_opts(broker.port);
	start_client(&o);

	broker_kill(&broker, SIGKILL);
	ck_assert_msg(wait_connected(false), "client did not notice the broker going away");
	ck_assert_int_eq(mqtt_client_publish("a/b", "x", 1, 1, false), BW_ERR_UNAVAILABLE);
	sleep_ms(300); /* a few failed attempts while it is down */

	broker_restart(&broker);
	ck_assert_msg(wait_connected(true), "client did not reconnect and resubscribe");
	raw_open(&dev, broker.port);
	raw_publish(&dev, "$aws/things/dev-3/shadow/get", "again", 5);
	raw_publish(&dev, "$aws/things/dev-3/shadow/update", "batch", 5);
	ck_assert_int_eq(sink_wait(&got, 2), 2);
	ck_assert_mem_eq(got.msgs[0].payload, "again", 5);
	ck_assert_mem_eq(got.msgs[1].payload, "batch", 5);

	/* a graceful broker stop too */
	raw_close(&dev);
	broker_kill(&broker, SIGTERM);
	ck_assert(wait_connected(false));
	broker_restart(&broker);
	ck_assert(wait_connected(true));
	raw_open(&dev, broker.port);
	raw_subscribe(&dev, "out/#");
	ck_assert_int_eq(mqtt_client_publish("out/1", "ok", 2, 1, false), BW_OK);
	ck_assert_int_eq(sink_wait(&dev.sink, 1), 1);
}
END_TEST

START_TEST(starts_while_broker_is_down_and_connects_later)
{
	struct mqtt_client_options o;
	int64_t t0;

	broker_init(&broker, NULL, NULL);
	broker_kill(&broker, SIGTERM);
	o = client_opts(broker.port);
	t0 = now_ms();
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_OK);
	ck_assert_int_lt(now_ms() - t0, 1000); /* start does not wait for the broker */
	ck_assert(!mqtt_client_is_connected());
	sleep_ms(300);
	ck_assert(!mqtt_client_is_connected());
	broker_restart(&broker);
	ck_assert_msg(wait_connected(true), "client did not connect once the broker came up");
	raw_open(&dev, broker.port);
	raw_publish(&dev, "$aws/things/dev-4/shadow/get", "up", 2);
	ck_assert_int_eq(sink_wait(&got, 1), 1);
}
END_TEST

START_TEST(refused_credentials_are_retried_until_accepted)
{
	struct mqtt_client_options o;
	char *argv[] = { "mosquitto_passwd", "-b", broker.passwd, "bellwether", "right", NULL };

	broker_init(&broker, "bellwether", "old-password");
	o = client_opts(broker.port);
	o.username = "bellwether";
	o.password = "right";
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_OK);
	sleep_ms(500); /* refused v5 CONNACKs (MOSQ_ERR_PROTOCOL) must not end the retries */
	ck_assert(!mqtt_client_is_connected());

	broker_kill(&broker, SIGTERM);
	ck_assert_msg(run(argv), "mosquitto_passwd failed");
	broker_restart(&broker);
	ck_assert_msg(wait_connected(true), "client did not connect with the accepted password");
}
END_TEST

START_TEST(failed_subscription_is_not_ready_and_is_retried)
{
	char filter[300];
	struct mqtt_client_options o;
	double reconnects = metric("bw_mqtt_reconnects_total");

	/* a SUBSCRIBE larger than the broker's maximum packet size fails in libmosquitto */
	memset(filter, 'f', sizeof(filter));
	memcpy(filter + sizeof(filter) - 3, "/#", 3);
	ck_assert_int_eq(mqtt_router_add(router, filter, 1, on_one, &got), BW_OK);
	broker_init(&broker, NULL, NULL);
	broker_kill(&broker, SIGTERM);
	broker.extra_conf = "max_packet_size 200\n";
	broker_restart(&broker);
	o = client_opts(broker.port);
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_OK);
	/* connected but deaf is not ready: the client drops the session and tries again */
	sleep_ms(800);
	ck_assert(!mqtt_client_is_connected());
	ck_assert_double_ge(metric("bw_mqtt_reconnects_total") - reconnects, 2);
}
END_TEST

START_TEST(oversized_payload_is_dropped_and_later_messages_still_arrive)
{
	struct mqtt_client_options o;
	char *big = calloc(1, MQTT_MAX_PAYLOAD_BYTES + 1);

	double too_large = metric("bw_mqtt_messages_dropped_total{reason=\"too_large\"}");

	ck_assert_ptr_nonnull(big);
	broker_init(&broker, NULL, NULL);
	o = client_opts(broker.port);
	start_client(&o);
	raw_open(&dev, broker.port);
	raw_publish(&dev, "$aws/things/dev-5/shadow/get", big, MQTT_MAX_PAYLOAD_BYTES + 1);
	raw_publish(&dev, "$aws/things/dev-5/shadow/get", "small", 5);
	free(big);
	/* same thing, same worker, in order: when "small" is in, the big one was dropped */
	ck_assert_int_eq(sink_wait(&got, 1), 1);
	ck_assert_uint_eq(got.msgs[0].len, 5);
	ck_assert_int_eq(got.overflow, 0);
	ck_assert_double_eq(
		metric("bw_mqtt_messages_dropped_total{reason=\"too_large\"}") - too_large, 1);
}
END_TEST

START_TEST(stop_with_queued_messages_finishes_running_handlers_only)
{
	struct mqtt_client_options o;
	int handled;
	double shutdown = metric("bw_mqtt_messages_dropped_total{reason=\"shutdown\"}");

	broker_init(&broker, NULL, NULL);
	o = client_opts(broker.port);
	o.workers = 1;
	got.delay_ms = 20;
	start_client(&o);
	raw_open(&dev, broker.port);
	for (int i = 0; i < 200; i++)
		raw_publish(&dev, "$aws/things/slow/shadow/get", "x", 1);
	ck_assert_int_ge(sink_wait(&got, 1), 1);
	mqtt_client_stop();
	handled = sink_count(&got);
	ck_assert_int_lt(handled, 200);
	ck_assert_double_gt(
		metric("bw_mqtt_messages_dropped_total{reason=\"shutdown\"}") - shutdown, 0);
	sleep_ms(100);
	ck_assert_int_eq(sink_count(&got), handled); /* nothing runs after stop returned */
	ck_assert(!mqtt_client_is_connected());
	mqtt_client_stop(); /* idempotent */
}
END_TEST

START_TEST(full_queue_answers_requests_as_throttled_and_never_drops)
{
	struct mqtt_client_options o;
	double throttled =
		metric("bw_mqtt_requests_throttled_total{api=\"shadow\",reason=\"inbox_full\"}");
	double waits = metric("bw_mqtt_inbox_waits_total");
	double dropped = metric("bw_mqtt_messages_dropped_total{reason=\"queue_full\"}");
	int handled, answered, streams = 0;
	char payload[64];

	/* streams have no throttling answer: they must wait for room, never be refused */
	ck_assert_int_eq(mqtt_router_add(router, "$aws/things/+/streams/#", 1, on_one, &got),
			 BW_OK);
	broker_init(&broker, NULL, NULL);
	o = client_opts(broker.port);
	o.workers = 1;
	o.queue_capacity = 1;
	got.delay_ms = 100; /* the one worker is slow: its one-message queue is full at once */
	start_client(&o);
	raw_open(&dev, broker.port);
	raw_subscribe(&dev, "$aws/things/slow/shadow/get/rejected");
	for (int i = 0; i < 20; i++) {
		int len = snprintf(payload, sizeof(payload), "{\"clientToken\":\"t%d\"}", i);

		raw_publish(&dev, "$aws/things/slow/shadow/get", payload, (size_t)len);
	}
	for (int i = 0; i < 3; i++)
		raw_publish(&dev, "$aws/things/slow/streams/s1/get/json", "{}", 2);
	/* every get is either handled or answered 429, and every stream request is handled */
	for (int64_t deadline = now_ms() + WAIT_MS; now_ms() < deadline; sleep_ms(20)) {
		if (sink_count(&got) + sink_count(&dev.sink) >= 23)
			break;
	}
	handled = sink_count(&got);
	answered = sink_count(&dev.sink);
	ck_assert_int_eq(handled + answered, 23);
	ck_assert_int_gt(answered, 0);
	for (int i = 0; i < handled; i++)
		streams += strstr(got.msgs[i].topic, "/streams/") != NULL;
	ck_assert_int_eq(streams, 3);
	for (int i = 0; i < answered; i++) {
		const struct copy *c = &dev.sink.msgs[i];

		ck_assert_str_eq(c->topic, "$aws/things/slow/shadow/get/rejected");
		ck_assert_ptr_nonnull(strstr(c->payload, "\"code\":429"));
		ck_assert_ptr_nonnull(strstr(c->payload, "\"message\":\"Rate exceeded\""));
		ck_assert_ptr_nonnull(strstr(c->payload, "\"clientToken\":\"t"));
	}
	ck_assert_double_eq(
		metric("bw_mqtt_requests_throttled_total{api=\"shadow\",reason=\"inbox_full\"}") -
			throttled,
		answered);
	ck_assert_double_gt(metric("bw_mqtt_inbox_waits_total") - waits, 0);
	ck_assert_double_eq(metric("bw_mqtt_messages_dropped_total{reason=\"queue_full\"}"),
			    dropped);
}
END_TEST

START_TEST(start_rejects_bad_options_and_a_second_start)
{
	struct mqtt_client_options o;

	broker_init(&broker, NULL, NULL);
	o = client_opts(broker.port);
	o.port = 0;
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_ERR_BAD_REQUEST);
	o = client_opts(broker.port);
	o.client_id = "";
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_ERR_BAD_REQUEST);
	o = client_opts(broker.port);
	o.keepalive_s = 1;
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_ERR_BAD_REQUEST);
	ck_assert_int_eq(mqtt_client_start(NULL, router), BW_ERR_BAD_REQUEST);
	o = client_opts(broker.port);
	ck_assert_int_eq(mqtt_client_start(&o, NULL), BW_ERR_BAD_REQUEST);
	start_client(&o);
	ck_assert_int_eq(mqtt_client_start(&o, router), BW_ERR_CONFLICT);
	mqtt_client_stop();
	/* and it can start again after a stop */
	start_client(&o);
}
END_TEST

static Suite *mqtt_client_suite(void)
{
	Suite *s = suite_create("mqtt_client");
	TCase *tc = tcase_create("broker");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, receives_exact_payload_bytes_with_embedded_nul);
	tcase_add_test(tc, one_things_messages_arrive_in_order);
	tcase_add_test(tc, publish_delivers_exact_bytes_to_a_subscriber);
	tcase_add_test(tc, reconnects_and_resubscribes_after_broker_restart);
	tcase_add_test(tc, starts_while_broker_is_down_and_connects_later);
	tcase_add_test(tc, refused_credentials_are_retried_until_accepted);
	tcase_add_test(tc, failed_subscription_is_not_ready_and_is_retried);
	tcase_add_test(tc, oversized_payload_is_dropped_and_later_messages_still_arrive);
	tcase_add_test(tc, stop_with_queued_messages_finishes_running_handlers_only);
	tcase_add_test(tc, full_queue_answers_requests_as_throttled_and_never_drops);
	tcase_add_test(tc, start_rejects_bad_options_and_a_second_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mqtt_client_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
