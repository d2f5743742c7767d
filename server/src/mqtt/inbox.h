/* MQTT inbox: bounded per-worker queues of received messages and the worker threads that drain
 * them through the router. Messages are sharded by thing name, so one thing's messages are
 * handled in arrival order by one worker. A full queue is the caller's decision (wait for room,
 * answer the request as throttled: mqtt/client.c); this module counts only shutdown and unrouted
 * drops in bw_mqtt_messages_dropped_total, and handler time in
 * bw_mqtt_handler_duration_seconds{filter}. */
#ifndef BW_MQTT_INBOX_H
#define BW_MQTT_INBOX_H

#include <stddef.h>

#include "mqtt/router.h"

/* Messages a worker takes off its queue at once (and the largest batch a batch handler sees). */
#define MQTT_INBOX_BATCH 64

enum mqtt_inbox_push_result {
	MQTT_INBOX_PUSHED = 0,
	MQTT_INBOX_FULL,   /* the shard's queue is at its message or byte capacity */
	MQTT_INBOX_CLOSED, /* mqtt_inbox_stop() has begun */
};

struct mqtt_inbox;

/* Start `workers` threads, each with a queue of up to `capacity` messages and `max_bytes` bytes
 * (message bytes as per mqtt_message_size(); a single message is always accepted by an empty
 * queue). The router is borrowed, read-only, and must outlive the inbox. Returns NULL on invalid
 * arguments (workers or capacity 0), allocation or thread-creation failure (logged). */
struct mqtt_inbox *mqtt_inbox_new(const struct mqtt_router *router, unsigned workers,
				  size_t capacity, size_t max_bytes);

/* Queue msg on the worker chosen by mqtt_inbox_shard(), waiting for room when that queue is full:
 * wait_ms 0 = not at all, > 0 = at most that long, < 0 = until there is room or the inbox stops
 * (back-pressure). Takes ownership of msg only on PUSHED; on FULL or CLOSED the caller still owns
 * it (to answer it or count it). *waited_s (may be NULL) receives the time spent waiting. Never
 * waits on anything but the worker taking messages off its queue. */
enum mqtt_inbox_push_result mqtt_inbox_offer(struct mqtt_inbox *inbox, struct mqtt_message *msg,
					     int wait_ms, double *waited_s);

/* mqtt_inbox_offer() without waiting that takes ownership of msg in every case: on FULL or
 * CLOSED the message is freed (the caller counts the drop). */
enum mqtt_inbox_push_result mqtt_inbox_push(struct mqtt_inbox *inbox, struct mqtt_message *msg);

/* Stop accepting messages (waiting offers return CLOSED), let each worker finish the batch it is handling, join the workers,
 * then free the messages still queued, counting them as dropped (reason "shutdown"). Idempotent.
 * Must not be called from a handler. */
void mqtt_inbox_stop(struct mqtt_inbox *inbox);

/* Stop (if not yet stopped) and free; NULL is allowed. */
void mqtt_inbox_free(struct mqtt_inbox *inbox);

/* Worker index in [0, shards) for topic: a hash of the thing name for "$aws/things/{thing}/...",
 * else a hash of the whole topic. shards must be >= 1. */
unsigned mqtt_inbox_shard(const char *topic, unsigned shards);

#endif
