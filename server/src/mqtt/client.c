/* libmosquitto lifecycle. Design notes:
 *
 * - MQTT v5: CONNACK, SUBACK and DISCONNECT carry reason codes (logged: "bad user name or
 *   password", "not authorized", "session taken over"), and v5 user properties are how the
 *   broker plugin can stamp a requester's client id onto a request (spec §1.5). Mosquitto 2.0
 *   speaks v5; AWS device SDKs talk to the broker, not to us, so our version does not limit them.
 * - Our own network thread runs mosquitto_loop() and the reconnect, instead of
 *   mosquitto_loop_start(): libmosquitto 2.0's loop_forever() returns for good (the thread ends,
 *   never reconnecting) on MOSQ_ERR_EAI (broker host not resolvable, e.g. its container is being
 *   recreated), MOSQ_ERR_PROTOCOL (every refused v5 CONNACK maps to it) and other "fatal" codes,
 *   and mosquitto_reconnect_delay_set() counts whole seconds. Here every failure is retried with
 *   exponential backoff in milliseconds (reconnect_min_ms doubling up to reconnect_max_ms).
 *   mosquitto_threaded_set() makes publishes from other threads queue and wake this loop.
 * - All libmosquitto calls except publish happen on the network thread (callbacks included), so
 *   the session/subscription bookkeeping below needs no lock. Publishers take g_lock for reading;
 *   stop takes it for writing before tearing the client down.
 * - Subscriptions use the v5 option "send retained: never": a retained request left on the broker
 *   must not be replayed to us at every (re)subscribe, and live messages reach us with retain=0.
 */
#include "mqtt/client.h"

#include <stdio.h>

#include "bellwether_plugin.h" /* mosquitto-plugin/: the server-plugin contract */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "core/errors.h"
#include "core/log.h"
#include "core/metrics.h"
#include "mqtt/inbox.h"
#include "mqtt/throttle.h"

#define LOOP_TIMEOUT_MS 100   /* how soon the network thread notices a stop request */
#define STOP_FLUSH_MS 2000    /* bound on flushing queued packets + DISCONNECT at stop */
#define WARN_INTERVAL_MS 1000 /* at most one drop warning per kind per interval */
#define RECEIVE_MAXIMUM 10000 /* MQTT v5 Receive Maximum we announce (broker -> us in flight) */
/* Publishes not yet acknowledged before publishers wait. libmosquitto 2.0 walks its message
 * list on every PUBACK: 1000 gave 21k events/s in the fan-out pump, 5000 only 6k. */
#define OUT_HIGH 1000
#define OUT_WAIT_MS 5000 /* longest such wait; then the message is queued anyway */
#define DEFAULT_RECONNECT_MIN_MS 100
#define DEFAULT_RECONNECT_MAX_MS 10000
#define DEFAULT_WORKERS 4
#define MAX_WORKERS 256
#define DEFAULT_QUEUE_CAPACITY 1024
#define DEFAULT_QUEUE_MAX_BYTES ((size_t)8 * 1024 * 1024)
#define REASON_CODE_MIN 0x80 /* MQTT v5 failure reason codes; libmosquitto errors are below */

struct ratelimit {
	int64_t next_ms;
	uint64_t suppressed;
};

struct client {
	struct mosquitto *mosq;
	const struct mqtt_router *router;
	struct mqtt_inbox *inbox;
	char *host;
	int port;
	int keepalive_s;
	unsigned reconnect_min_ms;
	unsigned reconnect_max_ms;
	bool has_lib;
	bool has_sync;
	bool has_net_thread;
	pthread_t net_thread;
	pthread_mutex_t lock; /* guards is_stopping; cond interrupts backoff waits */
	pthread_cond_t cond;
	bool is_stopping;
	/* network thread only */
	bool has_session; /* CONNACK success seen on the current connection */
	int64_t session_start_ms;
	uint64_t sessions;
	unsigned backoff_step;
	int connack_rc;	   /* refusal reason of the current attempt, 0 if none */
	int disconnect_rc; /* rc given to on_disconnect for the current connection, -1 if none */
	const char *local_reason; /* why we ended the connection ourselves, NULL if we did not */
	int *sub_mids;		  /* per route: mid of the unanswered SUBSCRIBE, 0 if none */
	size_t subs_pending;
	bool has_sub_failure;
	struct ratelimit full_warn;
	struct ratelimit large_warn;
	struct ratelimit oom_warn;
	struct ratelimit wait_warn;
	int64_t gauge_at_ms; /* next update of bw_mqtt_publish_pending */
};

static pthread_mutex_t g_lifecycle = PTHREAD_MUTEX_INITIALIZER; /* serialises start and stop */
/* Outgoing back-pressure: publishes handed to libmosquitto and not yet written (QoS 0) or
 * acknowledged (QoS 1). libmosquitto queues without bound; publishers other than the network
 * thread wait while more than OUT_HIGH are pending, until half of them are done. */
static atomic_long g_out_pending;
static pthread_mutex_t g_out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_out_cond = PTHREAD_COND_INITIALIZER;
static atomic_int g_out_waiters;
static atomic_bool g_out_stopping; /* mqtt_client_stop() runs: nobody waits any more */
static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER; /* guards g_client for publishers */
static struct client *g_client;
static atomic_bool g_has_session;
static atomic_bool g_is_ready;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Human-readable text for an rc that is either a libmosquitto error or an MQTT reason code. */
static const char *rc_text(int rc)
{
	return rc >= REASON_CODE_MIN ? mosquitto_reason_string(rc) : mosquitto_strerror(rc);
}

static bool is_stopping(struct client *c)
{
	bool stopping;

	pthread_mutex_lock(&c->lock);
	stopping = c->is_stopping;
	pthread_mutex_unlock(&c->lock);
	return stopping;
}

/* Sleep up to ms, returning early when stop is requested. */
static void wait_ms(struct client *c, unsigned ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->is_stopping) {
		if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&c->lock);
}

/* The next reconnect delay: min, 2*min, 4*min ... capped at max. */
static unsigned next_backoff_ms(struct client *c)
{
	unsigned delay = c->reconnect_min_ms;

	for (unsigned i = 0; i < c->backoff_step && delay < c->reconnect_max_ms; i++)
		delay = delay > c->reconnect_max_ms / 2 ? c->reconnect_max_ms : delay * 2;
	if (delay >= c->reconnect_max_ms)
		delay = c->reconnect_max_ms;
	else
		c->backoff_step++;
	return delay;
}

static void set_ready(bool is_ready)
{
	atomic_store(&g_is_ready, is_ready);
	metrics_gauge_set("bw_mqtt_connected", NULL, is_ready ? 1 : 0);
}

static void drop(const char *reason_label)
{
	metrics_counter_add("bw_mqtt_messages_dropped_total", reason_label, 1);
}

static void warn_limited(struct ratelimit *rl, const char *event, const char *topic, size_t bytes)
{
	int64_t now = now_ms();

	if (now < rl->next_ms) {
		rl->suppressed++;
		return;
	}
	rl->next_ms = now + WARN_INTERVAL_MS;
	log_warn("mqtt", event, LOG_S("topic", topic), LOG_I("payload_bytes", bytes),
		 LOG_I("suppressed", rl->suppressed), LOG_END);
	rl->suppressed = 0;
}

/* A subscription failed: without it the server would stay connected but deaf (and not ready)
 * forever. Drop the connection instead; the reconnect (with backoff) subscribes again. */
static void subscription_failed(struct client *c, struct mosquitto *mosq)
{
	c->has_sub_failure = true;
	if (!c->local_reason) {
		c->local_reason = "subscribe_failed";
		mosquitto_disconnect(mosq);
	}
}

static void out_wake(void)
{
	pthread_mutex_lock(&g_out_lock);
	pthread_cond_broadcast(&g_out_cond);
	pthread_mutex_unlock(&g_out_lock);
}

/*
 * Outgoing back-pressure (docs/ARCHITECTURE.md "Back-pressure"): a worker, the outbox pump or an
 * HTTP thread that publishes while more than OUT_HIGH earlier publishes are still pending waits
 * (at most OUT_WAIT_MS, only while the session is up) until half of them are done, so a broker
 * slower than the handlers slows the handlers (whose queues then fill, and the network thread
 * answers new requests as throttled) instead of growing a queue in libmosquitto, which also
 * costs libmosquitto time per queued message on every acknowledgement (a queue of 100,000s
 * stalls it). The network thread itself never waits: it is the one that drains.
 */
static void out_wait(struct client *c)
{
	struct timespec deadline;
	double start;

	if (atomic_load(&g_out_pending) <= OUT_HIGH || pthread_equal(pthread_self(), c->net_thread))
		return;
	start = (double)now_ms();
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += OUT_WAIT_MS / 1000;
	atomic_fetch_add(&g_out_waiters, 1);
	pthread_mutex_lock(&g_out_lock);
	while (atomic_load(&g_out_pending) > OUT_HIGH / 2 && atomic_load(&g_has_session) &&
	       !atomic_load(&g_out_stopping)) {
		if (pthread_cond_timedwait(&g_out_cond, &g_out_lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&g_out_lock);
	atomic_fetch_sub(&g_out_waiters, 1);
	metrics_counter_add("bw_mqtt_publish_waits_total", NULL, 1);
	metrics_counter_add("bw_mqtt_publish_wait_seconds_total", NULL,
			    ((double)now_ms() - start) / 1000);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct client *c = obj;
	size_t n = mqtt_router_count(c->router);

	if (rc != 0) {
		c->connack_rc = rc; /* logged once the loop reports the failed attempt */
		return;
	}
	c->has_session = true;
	atomic_store(&g_out_pending, 0); /* a new session: what was pending is resent or gone */
	c->session_start_ms = now_ms();
	c->sessions++;
	if (c->sessions > 1)
		metrics_counter_add("bw_mqtt_reconnects_total", NULL, 1);
	atomic_store(&g_has_session, true);
	log_info("mqtt", "mqtt_connected", LOG_S("host", c->host), LOG_I("port", c->port),
		 LOG_I("protocol", 5), LOG_I("session", c->sessions), LOG_END);

	c->subs_pending = 0;
	c->has_sub_failure = false;
	for (size_t i = 0; i < n; i++) {
		const struct mqtt_route *route = mqtt_router_at(c->router, i);
		int src = mosquitto_subscribe_v5(
			mosq, &c->sub_mids[i], route->filter, route->qos,
			MQTT_SUB_OPT_SEND_RETAIN_NEVER | MQTT_SUB_OPT_NO_LOCAL, NULL);

		if (src != MOSQ_ERR_SUCCESS) {
			c->sub_mids[i] = 0;
			log_error("mqtt", "mqtt_subscribe_failed", LOG_S("filter", route->filter),
				  LOG_I("rc", src), LOG_S("reason", rc_text(src)), LOG_END);
			subscription_failed(c, mosq);
			continue;
		}
		c->subs_pending++;
	}
	if (c->subs_pending == 0 && !c->has_sub_failure)
		set_ready(true);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			 const int *granted)
{
	struct client *c = obj;
	size_t n = mqtt_router_count(c->router);
	size_t i;

	for (i = 0; i < n && c->sub_mids[i] != mid; i++)
		;
	if (i == n || mid == 0)
		return; /* not one of this connection's subscriptions */
	c->sub_mids[i] = 0;
	for (int k = 0; k < qos_count; k++) {
		if (granted[k] >= REASON_CODE_MIN) {
			log_error("mqtt", "mqtt_subscribe_failed",
				  LOG_S("filter", mqtt_router_at(c->router, i)->filter),
				  LOG_I("rc", granted[k]), LOG_S("reason", rc_text(granted[k])),
				  LOG_END);
			subscription_failed(c, mosq);
		}
	}
	c->subs_pending--;
	if (c->subs_pending == 0 && !c->has_sub_failure) {
		log_info("mqtt", "mqtt_subscribed", LOG_I("filters", n), LOG_END);
		set_ready(true);
	}
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct client *c = obj;

	(void)mosq;
	c->disconnect_rc = rc; /* acted on when the loop returns */
}

/* A publish was written (QoS 0) or acknowledged (QoS 1). */
static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	long cur = atomic_load(&g_out_pending);

	(void)mosq;
	(void)obj;
	(void)mid;
	while (cur > 0 && !atomic_compare_exchange_weak(&g_out_pending, &cur, cur - 1))
		;
	if (cur - 1 <= OUT_HIGH / 2 && atomic_load(&g_out_waiters) > 0)
		out_wake();
}

/*
 * Queue msg for the workers without ever dropping a device request (docs/ARCHITECTURE.md
 * "Back-pressure"). When the worker's queue is full (BW_MQTT_QUEUE_CAPACITY messages or 8 MiB):
 *   - a request with a throttling answer (Shadow 429, Jobs RequestThrottled: mqtt/throttle.h) is
 *     answered at once, so the device retries later and this thread keeps reading: the broker's
 *     queue for the server's session stays short however fast devices publish;
 *   - anything else (file streams, unknown topics) waits until the worker makes room (pure
 *     back-pressure: the broker holds what arrives meanwhile).
 */
static void enqueue(struct client *c, struct mqtt_message *msg)
{
	enum mqtt_inbox_push_result res;
	double waited = 0;

	res = mqtt_inbox_offer(c->inbox, msg, 0, NULL);
	if (res == MQTT_INBOX_FULL) {
		enum mqtt_throttle_api api = mqtt_throttle_answer(msg);
		char labels[64];

		if (api != MQTT_THROTTLE_NONE) {
			snprintf(labels, sizeof(labels), "api=\"%s\",reason=\"inbox_full\"",
				 mqtt_throttle_api_name(api));
			metrics_counter_add("bw_mqtt_requests_throttled_total", labels, 1);
			warn_limited(&c->full_warn, "mqtt_inbox_full_throttled", msg->topic,
				     msg->payload_len);
			mqtt_message_free(msg);
			return;
		}
		warn_limited(&c->wait_warn, "mqtt_inbox_full_waiting", msg->topic,
			     msg->payload_len);
		res = mqtt_inbox_offer(c->inbox, msg, -1, &waited);
		metrics_counter_add("bw_mqtt_inbox_waits_total", NULL, 1);
		metrics_counter_add("bw_mqtt_inbox_wait_seconds_total", NULL, waited);
	}
	if (res == MQTT_INBOX_CLOSED) {
		drop("reason=\"shutdown\"");
		mqtt_message_free(msg);
	}
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
		       const mosquitto_property *props)
{
	struct client *c = obj;
	struct mqtt_message *msg;
	size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;

	(void)mosq;
	metrics_counter_add("bw_mqtt_messages_received_total", NULL, 1);
	if (len > MQTT_MAX_PAYLOAD_BYTES) {
		drop("reason=\"too_large\"");
		warn_limited(&c->large_warn, "payload_too_large", m->topic, len);
		return;
	}
	msg = mqtt_message_new(m->topic, m->payload, len, m->qos, m->retain);
	if (!msg) {
		drop("reason=\"oom\"");
		warn_limited(&c->oom_warn, "mqtt_message_oom", m->topic, len);
		return;
	}
	/* the requester's client id, stamped by the broker plugin */
	for (const mosquitto_property *p = props; p; p = mosquitto_property_next(p)) {
		char *name = NULL, *value = NULL;
		if (mosquitto_property_identifier(p) == MQTT_PROP_USER_PROPERTY &&
		    mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
							false) &&
		    strcmp(name, BW_PLUGIN_PROP_CLIENT_ID) == 0 &&
		    strlen(value) < sizeof(msg->client_id))
			memcpy(msg->client_id, value, strlen(value) + 1);
		free(name);
		free(value);
	}
	enqueue(c, msg);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	(void)obj;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("mqtt", "libmosquitto", LOG_I("level", level), LOG_S("msg", str),
			  LOG_END);
}

/* The connection (or the attempt) ended with loop rc; err is errno right after the call. */
static void connection_ended(struct client *c, int rc, int err)
{
	unsigned delay;
	const char *reason;
	char ebuf[128];
	const char *etext = rc == MOSQ_ERR_ERRNO ? strerror_r(err, ebuf, sizeof(ebuf)) : NULL;

	if (c->connack_rc != 0)
		rc = c->connack_rc;
	else if (c->disconnect_rc > 0)
		rc = c->disconnect_rc;
	reason = c->local_reason ? c->local_reason : rc_text(rc);
	if (c->has_session && now_ms() - c->session_start_ms >= (int64_t)c->reconnect_max_ms)
		c->backoff_step = 0; /* a stable session: retry fast; flapping keeps backing off */
	delay = next_backoff_ms(c);
	if (c->has_session) {
		c->has_session = false;
		atomic_store(&g_has_session, false);
		out_wake(); /* waiting publishers give up: no session */
		set_ready(false);
		log_warn("mqtt", "mqtt_disconnected", LOG_I("rc", rc), LOG_S("reason", reason),
			 LOG_S("errno", etext), LOG_I("retry_in_ms", delay), LOG_END);
	} else {
		log_warn("mqtt", "mqtt_connect_failed", LOG_S("host", c->host),
			 LOG_I("port", c->port), LOG_I("rc", rc), LOG_S("reason", reason),
			 LOG_S("errno", etext), LOG_I("retry_in_ms", delay), LOG_END);
	}
	wait_ms(c, delay);
}

/* At stop: queue DISCONNECT behind whatever the workers published, and flush (bounded). */
static void flush_and_disconnect(struct client *c)
{
	int64_t deadline = now_ms() + STOP_FLUSH_MS;

	if (mosquitto_disconnect(c->mosq) != MOSQ_ERR_SUCCESS)
		return;
	while (now_ms() < deadline) {
		if (mosquitto_loop(c->mosq, LOOP_TIMEOUT_MS, 1) != MOSQ_ERR_SUCCESS)
			break; /* MOSQ_ERR_NO_CONN once the DISCONNECT is written and the socket closed */
	}
}

static void *net_main(void *arg)
{
	struct client *c = arg;
	bool has_socket = false;
	int rc, err;

	while (!is_stopping(c)) {
		if (!has_socket) {
			c->connack_rc = 0;
			c->disconnect_rc = -1;
			c->local_reason = NULL;
			errno = 0;
			/* connect_async re-arms host/port/keepalive each time; it resolves the
			 * host name (blocking, on this thread) and starts a non-blocking connect */
			rc = mosquitto_connect_async(c->mosq, c->host, c->port, c->keepalive_s);
			err = errno;
			if (rc != MOSQ_ERR_SUCCESS) {
				connection_ended(c, rc, err);
				continue;
			}
			has_socket = true;
		}
		errno = 0;
		rc = mosquitto_loop(c->mosq, LOOP_TIMEOUT_MS, 1);
		err = errno;
		if (now_ms() >= c->gauge_at_ms) {
			c->gauge_at_ms = now_ms() + 1000;
			metrics_gauge_set("bw_mqtt_publish_pending", NULL,
					  (double)atomic_load(&g_out_pending));
		}
		if (rc != MOSQ_ERR_SUCCESS) {
			has_socket = false;
			connection_ended(c, rc, err);
		}
	}
	if (has_socket)
		flush_and_disconnect(c);
	return NULL;
}

static void client_destroy(struct client *c)
{
	if (!c)
		return;
	if (c->mosq)
		mosquitto_destroy(c->mosq);
	if (c->has_lib)
		mosquitto_lib_cleanup();
	mqtt_inbox_free(c->inbox);
	free(c->sub_mids);
	free(c->host);
	if (c->has_sync) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
	}
	free(c);
}

static bool options_valid(const struct mqtt_client_options *o)
{
	const char *bad = NULL;

	if (!o->host || !*o->host)
		bad = "host";
	else if (o->port < 1 || o->port > 65535)
		bad = "port";
	else if (!o->client_id || !*o->client_id)
		bad = "client_id";
	else if (o->keepalive_s < 5 || o->keepalive_s > 65535)
		bad = "keepalive_s";
	else if (o->workers > MAX_WORKERS)
		bad = "workers";
	if (bad)
		log_error("mqtt", "mqtt_invalid_option", LOG_S("option", bad), LOG_END);
	return bad == NULL;
}

static void describe_metrics(void)
{
	metrics_describe("bw_mqtt_messages_received_total", "counter",
			 "MQTT messages received from the broker");
	metrics_describe("bw_mqtt_messages_published_total", "counter",
			 "MQTT messages handed to the broker connection");
	metrics_describe("bw_mqtt_publish_failures_total", "counter",
			 "MQTT publishes refused (not connected, invalid, too large)");
	metrics_describe("bw_mqtt_messages_dropped_total", "counter",
			 "Received MQTT messages dropped, by reason (too_large, oom, no_route, "
			 "shutdown; a full queue never drops)");
	metrics_describe(
		"bw_mqtt_requests_throttled_total", "counter",
		"Device requests answered as throttled (Shadow 429, Jobs RequestThrottled) "
		"instead of being handled, by API and reason");
	metrics_describe("bw_mqtt_throttle_publish_failures_total", "counter",
			 "Throttling answers that could not be handed to the broker connection");
	metrics_describe(
		"bw_mqtt_publish_pending", "gauge",
		"Publishes handed to the broker connection and not yet acknowledged (QoS 1) "
		"or written (QoS 0), sampled every second");
	metrics_describe("bw_mqtt_publish_waits_total", "counter",
			 "Publishes that waited because too many earlier ones were not yet "
			 "acknowledged by the broker");
	metrics_describe("bw_mqtt_publish_wait_seconds_total", "counter",
			 "Seconds publishers spent waiting for the broker to acknowledge earlier "
			 "publishes");
	metrics_describe("bw_mqtt_inbox_waits_total", "counter",
			 "Messages without a throttling answer for which the MQTT network thread "
			 "waited for room in a full worker queue");
	metrics_describe("bw_mqtt_inbox_wait_seconds_total", "counter",
			 "Seconds the MQTT network thread spent waiting for room in worker queues");
	metrics_describe("bw_mqtt_connected", "gauge",
			 "1 when connected to the broker with every subscription granted");
	metrics_describe("bw_mqtt_reconnects_total", "counter",
			 "Broker sessions re-established after the first");
	metrics_describe("bw_mqtt_handler_duration_seconds", "histogram",
			 "Time in MQTT handlers per call (batch handlers: per batch), by filter");
}

static void ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
	    sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

static int client_setup(struct client *c, const struct mqtt_client_options *opts)
{
	const char *user = opts->username && *opts->username ? opts->username : NULL;
	pthread_condattr_t attr;
	size_t nroutes = mqtt_router_count(c->router);
	int rc;

	c->host = strdup(opts->host);
	c->sub_mids = calloc(nroutes ? nroutes : 1, sizeof(int));
	if (!c->host || !c->sub_mids)
		return BW_ERR_INTERNAL;

	if (pthread_condattr_init(&attr) != 0)
		return BW_ERR_INTERNAL;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return BW_ERR_INTERNAL;
	pthread_mutex_init(&c->lock, NULL);
	c->has_sync = true;

	if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		return BW_ERR_INTERNAL;
	c->has_lib = true;
	c->mosq = mosquitto_new(opts->client_id, true, c);
	if (!c->mosq)
		return BW_ERR_INTERNAL;
	/* RECEIVE_MAXIMUM: how many QoS 1 messages the broker may have in flight to us. We
	 * acknowledge on receipt and queue (or answer) at once, so a small window only makes the
	 * broker queue our messages on its side, where its per-client limit may drop them. */
	if (mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) ||
	    mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1) ||
	    mosquitto_int_option(c->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, RECEIVE_MAXIMUM) ||
	    mosquitto_threaded_set(c->mosq, true))
		return BW_ERR_INTERNAL;
	if ((user || opts->password) &&
	    mosquitto_username_pw_set(c->mosq, user, opts->password) != MOSQ_ERR_SUCCESS)
		return BW_ERR_INTERNAL;
	mosquitto_connect_callback_set(c->mosq, on_connect);
	mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
	mosquitto_publish_callback_set(c->mosq, on_publish);
	mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
	mosquitto_message_v5_callback_set(c->mosq, on_message);
	mosquitto_log_callback_set(c->mosq, on_log);

	c->inbox = mqtt_inbox_new(
		c->router, opts->workers ? opts->workers : DEFAULT_WORKERS,
		opts->queue_capacity ? opts->queue_capacity : DEFAULT_QUEUE_CAPACITY,
		opts->queue_max_bytes ? opts->queue_max_bytes : DEFAULT_QUEUE_MAX_BYTES);
	if (!c->inbox)
		return BW_ERR_INTERNAL;
	return BW_OK;
}

int mqtt_client_start(const struct mqtt_client_options *opts, const struct mqtt_router *router)
{
	struct client *c = NULL;
	int ret;

	if (!opts || !router || !options_valid(opts))
		return BW_ERR_BAD_REQUEST;
	pthread_mutex_lock(&g_lifecycle);
	if (g_client) {
		ret = BW_ERR_CONFLICT;
		goto out;
	}
	ignore_sigpipe();
	describe_metrics();
	atomic_store(&g_out_stopping, false);
	atomic_store(&g_out_pending, 0);
	set_ready(false);
	atomic_store(&g_has_session, false);

	c = calloc(1, sizeof(*c));
	ret = BW_ERR_INTERNAL;
	if (!c)
		goto fail;
	c->router = router;
	c->port = opts->port;
	c->keepalive_s = opts->keepalive_s;
	c->reconnect_min_ms =
		opts->reconnect_min_ms ? opts->reconnect_min_ms : DEFAULT_RECONNECT_MIN_MS;
	c->reconnect_max_ms =
		opts->reconnect_max_ms ? opts->reconnect_max_ms : DEFAULT_RECONNECT_MAX_MS;
	if (c->reconnect_max_ms < c->reconnect_min_ms)
		c->reconnect_max_ms = c->reconnect_min_ms;
	ret = client_setup(c, opts);
	if (ret != BW_OK)
		goto fail;

	pthread_rwlock_wrlock(&g_lock);
	g_client = c;
	pthread_rwlock_unlock(&g_lock);
	if (pthread_create(&c->net_thread, NULL, net_main, c) != 0) {
		pthread_rwlock_wrlock(&g_lock);
		g_client = NULL;
		pthread_rwlock_unlock(&g_lock);
		ret = BW_ERR_INTERNAL;
		goto fail;
	}
	c->has_net_thread = true;
	pthread_setname_np(c->net_thread, "bw-mqtt-net");
	log_info("mqtt", "mqtt_started", LOG_S("host", c->host), LOG_I("port", c->port),
		 LOG_S("client_id", opts->client_id), LOG_I("filters", mqtt_router_count(router)),
		 LOG_END);
	ret = BW_OK;
	goto out;
fail:
	log_error("mqtt", "mqtt_start_failed", LOG_S("reason", "allocation or thread failure"),
		  LOG_END);
	client_destroy(c);
out:
	pthread_mutex_unlock(&g_lifecycle);
	return ret;
}

bool mqtt_client_is_connected(void)
{
	return atomic_load(&g_is_ready);
}

static int publish_result(int mrc)
{
	switch (mrc) {
	case MOSQ_ERR_SUCCESS:
		return BW_OK;
	case MOSQ_ERR_NOMEM:
		return BW_ERR_INTERNAL;
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return BW_ERR_PAYLOAD_TOO_LARGE;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_QOS_NOT_SUPPORTED:
		return BW_ERR_BAD_REQUEST;
	default: /* NO_CONN, CONN_LOST, ... */
		return BW_ERR_UNAVAILABLE;
	}
}

int mqtt_client_publish(const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	int ret;

	if (!mqtt_topic_name_valid(topic) || (qos != 0 && qos != 1) || (len > 0 && !payload)) {
		ret = BW_ERR_BAD_REQUEST;
		goto out;
	}
	if (len > MQTT_MAX_PAYLOAD_BYTES) {
		ret = BW_ERR_PAYLOAD_TOO_LARGE;
		goto out;
	}
	pthread_rwlock_rdlock(&g_lock);
	/* without a session libmosquitto would queue QoS 1 messages without bound */
	if (!g_client || !atomic_load(&g_has_session)) {
		ret = BW_ERR_UNAVAILABLE;
	} else {
		out_wait(g_client);
		/* counted first: the network thread may write (and count down) a QoS 0 message
		 * before mosquitto_publish_v5() returns */
		atomic_fetch_add(&g_out_pending, 1);
		ret = publish_result(mosquitto_publish_v5(g_client->mosq, NULL, topic, (int)len,
							  payload, qos, retain, NULL));
		if (ret != BW_OK)
			atomic_fetch_sub(&g_out_pending, 1);
	}
	pthread_rwlock_unlock(&g_lock);
out:
	if (ret == BW_OK)
		metrics_counter_add("bw_mqtt_messages_published_total", NULL, 1);
	else
		metrics_counter_add("bw_mqtt_publish_failures_total", NULL, 1);
	return ret;
}

int mqtt_client_publish_to(const char *client_id, const char *topic, const void *payload,
			   size_t len, int qos)
{
	mosquitto_property *props = NULL;
	char *internal = NULL;
	int ret;

	if (!client_id || !*client_id || !mqtt_topic_name_valid(topic) || (qos != 0 && qos != 1) ||
	    (len > 0 && !payload)) {
		ret = BW_ERR_BAD_REQUEST;
		goto out;
	}
	if (len > MQTT_MAX_PAYLOAD_BYTES) {
		ret = BW_ERR_PAYLOAD_TOO_LARGE;
		goto out;
	}
	/* mosquitto-plugin/bellwether_plugin.h: the plugin delivers PREFIX + topic to the client
	 * named by the user property, and to nobody else */
	if (asprintf(&internal, "%s%s", BW_PLUGIN_DELIVER_PREFIX, topic) < 0) {
		internal = NULL;
		ret = BW_ERR_INTERNAL;
		goto out;
	}
	if (mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY,
					       BW_PLUGIN_PROP_TARGET,
					       client_id) != MOSQ_ERR_SUCCESS) {
		ret = BW_ERR_INTERNAL;
		goto out;
	}
	pthread_rwlock_rdlock(&g_lock);
	if (!g_client || !atomic_load(&g_has_session)) {
		ret = BW_ERR_UNAVAILABLE;
	} else {
		out_wait(g_client);
		atomic_fetch_add(&g_out_pending, 1); /* first: see mqtt_client_publish() */
		ret = publish_result(mosquitto_publish_v5(g_client->mosq, NULL, internal, (int)len,
							  payload, qos, false, props));
		if (ret != BW_OK)
			atomic_fetch_sub(&g_out_pending, 1);
	}
	pthread_rwlock_unlock(&g_lock);
out:
	mosquitto_property_free_all(&props);
	free(internal);
	if (ret == BW_OK)
		metrics_counter_add("bw_mqtt_messages_published_total", NULL, 1);
	else
		metrics_counter_add("bw_mqtt_publish_failures_total", NULL, 1);
	return ret;
}

void mqtt_client_stop(void)
{
	struct client *c;

	pthread_mutex_lock(&g_lifecycle);
	c = g_client;
	if (!c)
		goto out;
	atomic_store(&g_out_stopping, true);
	out_wake();
	/* 1. workers finish their batches; their publishes are still accepted */
	mqtt_inbox_stop(c->inbox);
	/* 2. no publisher is inside libmosquitto once we hold the write lock */
	pthread_rwlock_wrlock(&g_lock);
	g_client = NULL;
	pthread_rwlock_unlock(&g_lock);
	/* 3. the network thread flushes, disconnects and exits */
	pthread_mutex_lock(&c->lock);
	c->is_stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->has_net_thread)
		pthread_join(c->net_thread, NULL);
	atomic_store(&g_has_session, false);
	set_ready(false);
	client_destroy(c);
	log_info("mqtt", "mqtt_stopped", LOG_END);
out:
	pthread_mutex_unlock(&g_lifecycle);
}
