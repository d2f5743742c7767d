#include "mqtt/inbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"

#define THING_PREFIX "$aws/things/"

struct shard {
	pthread_mutex_t lock;
	pthread_cond_t cond;	    /* a message was queued, or stop */
	pthread_cond_t space;	    /* the worker took messages off the queue, or stop */
	unsigned waiters;	    /* pushers waiting on space */
	struct mqtt_message **ring; /* cap slots; count queued from head */
	size_t cap;
	size_t head;
	size_t count;
	size_t bytes;
	bool is_stopping; /* under lock: no more pushes, worker exits after its batch */
	bool has_thread;
	pthread_t thread;
	struct mqtt_inbox *inbox;
	unsigned index;
};

struct mqtt_inbox {
	const struct mqtt_router *router;
	struct shard *shards;
	unsigned nshards;
	size_t max_bytes;
	char **labels; /* per route index: filter="..." for the duration histogram */
	bool is_stopped;
};

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

unsigned mqtt_inbox_shard(const char *topic, unsigned shards)
{
	size_t prefix = strlen(THING_PREFIX);
	size_t len;

	if (strncmp(topic, THING_PREFIX, prefix) == 0) {
		len = strcspn(topic + prefix, "/");
		if (len > 0)
			return (unsigned)(fnv1a(topic + prefix, len) % shards);
	}
	return (unsigned)(fnv1a(topic, strlen(topic)) % shards);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The space condition waits on CLOCK_MONOTONIC (timed waits must not jump with the wall clock). */
static bool init_space_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	bool ok;

	if (pthread_condattr_init(&attr) != 0)
		return false;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ok = pthread_cond_init(cond, &attr) == 0;
	pthread_condattr_destroy(&attr);
	return ok;
}

/* Hands a popped batch to the router, one dispatch call at a time, timing each call. */
static void run_batch(struct mqtt_inbox *inbox, struct mqtt_message **owned, size_t n)
{
	const struct mqtt_message *view[MQTT_INBOX_BATCH];
	size_t done = 0;

	for (size_t i = 0; i < n; i++)
		view[i] = owned[i];
	while (done < n) {
		const struct mqtt_route *route;
		double start = now_s();
		size_t used = mqtt_router_dispatch(inbox->router, view + done, n - done, &route);

		if (route) {
			metrics_histogram_observe("bw_mqtt_handler_duration_seconds",
						  inbox->labels[route->index], now_s() - start);
		} else {
			metrics_counter_add("bw_mqtt_messages_dropped_total", "reason=\"no_route\"",
					    1);
			log_debug("mqtt", "mqtt_unrouted", LOG_S("topic", view[done]->topic),
				  LOG_I("payload_bytes", view[done]->payload_len), LOG_END);
		}
		done += used;
	}
	for (size_t i = 0; i < n; i++)
		mqtt_message_free(owned[i]);
}

static void *worker_main(void *arg)
{
	struct shard *sh = arg;
	struct mqtt_message *batch[MQTT_INBOX_BATCH];

	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&sh->lock);
		while (sh->count == 0 && !sh->is_stopping)
			pthread_cond_wait(&sh->cond, &sh->lock);
		if (sh->is_stopping) {
			pthread_mutex_unlock(&sh->lock);
			break;
		}
		while (n < MQTT_INBOX_BATCH && sh->count > 0) {
			batch[n] = sh->ring[sh->head];
			sh->ring[sh->head] = NULL;
			sh->head = (sh->head + 1) % sh->cap;
			sh->count--;
			sh->bytes -= mqtt_message_size(batch[n]);
			n++;
		}
		if (sh->waiters > 0)
			pthread_cond_broadcast(&sh->space);
		pthread_mutex_unlock(&sh->lock);
		run_batch(sh->inbox, batch, n);
	}
	return NULL;
}

/* filter="..." with the label value escaped per the Prometheus text format. */
static char *filter_label(const char *filter)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "filter=\"");
	for (const char *p = filter; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_putc(&b, '\\');
		if (*p == '\n')
			buf_puts(&b, "\\n");
		else
			buf_putc(&b, *p);
	}
	if (!buf_putc(&b, '"')) {
		buf_cleanup(&b);
		return NULL;
	}
	return buf_take(&b);
}

struct mqtt_inbox *mqtt_inbox_new(const struct mqtt_router *router, unsigned workers,
				  size_t capacity, size_t max_bytes)
{
	struct mqtt_inbox *inbox = NULL;
	size_t nroutes;

	if (!router || workers == 0 || capacity == 0 || capacity > SIZE_MAX / sizeof(void *))
		return NULL;
	inbox = calloc(1, sizeof(*inbox));
	if (!inbox)
		goto fail;
	inbox->router = router;
	inbox->max_bytes = max_bytes;
	nroutes = mqtt_router_count(router);
	inbox->labels = calloc(nroutes ? nroutes : 1, sizeof(char *));
	if (!inbox->labels)
		goto fail;
	for (size_t i = 0; i < nroutes; i++) {
		inbox->labels[i] = filter_label(mqtt_router_at(router, i)->filter);
		if (!inbox->labels[i])
			goto fail;
	}
	inbox->shards = calloc(workers, sizeof(struct shard));
	if (!inbox->shards)
		goto fail;
	for (unsigned i = 0; i < workers; i++) {
		struct shard *sh = &inbox->shards[i];

		/* counted first so that a failure below frees exactly the initialised shards */
		inbox->nshards++;
		pthread_mutex_init(&sh->lock, NULL);
		pthread_cond_init(&sh->cond, NULL);
		if (!init_space_cond(&sh->space)) {
			pthread_cond_destroy(&sh->cond);
			pthread_mutex_destroy(&sh->lock);
			inbox->nshards--;
			goto fail;
		}
		sh->inbox = inbox;
		sh->index = i;
		sh->cap = capacity;
		sh->ring = calloc(capacity, sizeof(*sh->ring));
		if (!sh->ring)
			goto fail;
	}
	for (unsigned i = 0; i < workers; i++) {
		struct shard *sh = &inbox->shards[i];
		char name[16];

		if (pthread_create(&sh->thread, NULL, worker_main, sh) != 0) {
			log_error("mqtt", "mqtt_worker_start_failed", LOG_I("worker", i), LOG_END);
			goto fail;
		}
		sh->has_thread = true;
		snprintf(name, sizeof(name), "bw-mqtt-w%u", i % 1000u); /* 15 chars max */
		pthread_setname_np(sh->thread, name);
	}
	return inbox;
fail:
	mqtt_inbox_free(inbox);
	return NULL;
}

static bool has_room(const struct mqtt_inbox *inbox, const struct shard *sh, size_t size)
{
	return sh->count < sh->cap &&
	       (sh->count == 0 || inbox->max_bytes == 0 || sh->bytes + size <= inbox->max_bytes);
}

/* now + ms on CLOCK_MONOTONIC (the clock of the space condition). */
static struct timespec deadline_after(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

enum mqtt_inbox_push_result mqtt_inbox_offer(struct mqtt_inbox *inbox, struct mqtt_message *msg,
					     int wait_ms, double *waited_s)
{
	struct shard *sh = &inbox->shards[mqtt_inbox_shard(msg->topic, inbox->nshards)];
	size_t size = mqtt_message_size(msg);
	enum mqtt_inbox_push_result res = MQTT_INBOX_PUSHED;
	struct timespec deadline = { 0, 0 };
	double start = 0;
	bool has_waited = false;

	pthread_mutex_lock(&sh->lock);
	while (!sh->is_stopping && !has_room(inbox, sh, size) && wait_ms != 0) {
		int rc;

		if (!has_waited) {
			has_waited = true;
			start = now_s();
			if (wait_ms > 0)
				deadline = deadline_after((unsigned)wait_ms);
		}
		sh->waiters++;
		if (wait_ms > 0)
			rc = pthread_cond_timedwait(&sh->space, &sh->lock, &deadline);
		else
			rc = pthread_cond_wait(&sh->space, &sh->lock); /* stop broadcasts space */
		sh->waiters--;
		if (rc == ETIMEDOUT)
			break;
	}
	if (sh->is_stopping) {
		res = MQTT_INBOX_CLOSED;
	} else if (!has_room(inbox, sh, size)) {
		res = MQTT_INBOX_FULL;
	} else {
		sh->ring[(sh->head + sh->count) % sh->cap] = msg;
		sh->count++;
		sh->bytes += size;
		pthread_cond_signal(&sh->cond);
	}
	pthread_mutex_unlock(&sh->lock);
	if (waited_s)
		*waited_s = has_waited ? now_s() - start : 0;
	return res;
}

enum mqtt_inbox_push_result mqtt_inbox_push(struct mqtt_inbox *inbox, struct mqtt_message *msg)
{
	enum mqtt_inbox_push_result res = mqtt_inbox_offer(inbox, msg, 0, NULL);

	if (res != MQTT_INBOX_PUSHED)
		mqtt_message_free(msg);
	return res;
}

void mqtt_inbox_stop(struct mqtt_inbox *inbox)
{
	size_t dropped = 0;

	if (!inbox || inbox->is_stopped)
		return;
	inbox->is_stopped = true;
	for (unsigned i = 0; i < inbox->nshards; i++) {
		struct shard *sh = &inbox->shards[i];

		pthread_mutex_lock(&sh->lock);
		sh->is_stopping = true;
		pthread_cond_broadcast(&sh->cond);
		pthread_cond_broadcast(&sh->space);
		pthread_mutex_unlock(&sh->lock);
	}
	for (unsigned i = 0; i < inbox->nshards; i++) {
		struct shard *sh = &inbox->shards[i];

		if (sh->has_thread)
			pthread_join(sh->thread, NULL);
		sh->has_thread = false;
		/* no thread touches the queue any more */
		for (; sh->count > 0; sh->count--) {
			mqtt_message_free(sh->ring[sh->head]);
			sh->ring[sh->head] = NULL;
			sh->head = (sh->head + 1) % sh->cap;
			dropped++;
		}
		sh->bytes = 0;
	}
	if (dropped > 0) {
		metrics_counter_add("bw_mqtt_messages_dropped_total", "reason=\"shutdown\"",
				    (double)dropped);
		log_info("mqtt", "mqtt_inbox_dropped_at_stop", LOG_I("messages", dropped), LOG_END);
	}
}

void mqtt_inbox_free(struct mqtt_inbox *inbox)
{
	if (!inbox)
		return;
	mqtt_inbox_stop(inbox);
	for (unsigned i = 0; i < inbox->nshards; i++) {
		struct shard *sh = &inbox->shards[i];

		free(sh->ring);
		pthread_cond_destroy(&sh->space);
		pthread_cond_destroy(&sh->cond);
		pthread_mutex_destroy(&sh->lock);
	}
	free(inbox->shards);
	if (inbox->labels) {
		for (size_t i = 0; i < mqtt_router_count(inbox->router); i++)
			free(inbox->labels[i]);
	}
	free(inbox->labels);
	free(inbox);
}
