/* PURE MQTT topic-filter router: MQTT 3.1.1/5 filter matching ('+', '#', '$' topics, shared
 * subscriptions), owned message copies, and dispatch of queued messages to handlers (one message
 * at a time, or runs of consecutive messages for batch handlers doing group commit).
 * A router is built once at startup and is read-only (shared by all MQTT workers) afterwards. */
#ifndef BW_MQTT_ROUTER_H
#define BW_MQTT_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/errors.h"

/* AWS IoT Core message limit (spec §1.5, §11): larger payloads are dropped on arrival. */
#define MQTT_MAX_PAYLOAD_BYTES ((size_t)128 * 1024)
/* MQTT string limit: topics and filters are at most 65535 bytes of UTF-8. */
#define MQTT_MAX_TOPIC_BYTES ((size_t)65535)

/* One received message, owned by the MQTT inbox; handlers borrow it for the call. */
struct mqtt_message {
	const char *topic; /* NUL-terminated */
	size_t topic_len;
	const char *payload; /* payload_len bytes (may contain NUL), plus a NUL after them */
	size_t payload_len;
	int qos;
	bool retain;
	/* The publishing client's id as stamped by the broker plugin (user property bw-client-id,
	 * mosquitto-plugin/bellwether_plugin.h); "" when absent or longer than 128 bytes, in
	 * which case handlers fall back to the thing name of the topic. */
	char client_id[129];
	/* CLOCK_MONOTONIC seconds when the server received it (mqtt_message_new); 0 = unknown.
	 * Latency metrics count from here, so they include the time spent queued. */
	double received_s;
};

/* Handles one message. Runs on an MQTT worker thread; the message is valid only during the call. */
typedef void (*mqtt_handler_fn)(const struct mqtt_message *msg, void *arg);
/* Handles count >= 1 consecutive messages of one worker that all matched the same filter, in
 * arrival order (for group commit). Messages are valid only during the call. */
typedef void (*mqtt_batch_fn)(const struct mqtt_message *const *msgs, size_t count, void *arg);

/* A registered filter. Read-only for callers; pointers stay valid until the next add. */
struct mqtt_route {
	char *filter;
	int qos;	    /* subscription QoS: 0 or 1 (AWS IoT has no QoS 2) */
	mqtt_handler_fn fn; /* exactly one of fn and batch_fn is set */
	mqtt_batch_fn batch_fn;
	void *arg;
	size_t index; /* position in registration order */
};

struct mqtt_router;

/* True if topic (a topic name) matches filter under MQTT 3.1.1/5 rules: '+' matches exactly one
 * level (possibly empty), a trailing '#' matches the parent level and everything below, filters
 * starting with a wildcard do not match topics starting with '$', and "$share/{group}/{filter}"
 * matches like {filter}. Invalid filters and topics (empty, wildcards in the topic) match nothing. */
bool mqtt_topic_matches(const char *filter, const char *topic);

/* True if filter is a valid subscription filter: 1..65535 bytes of well-formed UTF-8 without
 * control characters, '+' and '#' only as whole levels, '#' only last, or "$share/{group}/{filter}"
 * with a non-empty group free of '/', '+' and '#'. */
bool mqtt_topic_filter_valid(const char *filter);

/* True if topic is a valid topic name to publish to: 1..65535 bytes of well-formed UTF-8 without
 * control characters and without '+' or '#'. */
bool mqtt_topic_name_valid(const char *topic);

/* True if some topic name matches both filters (used to keep routes unambiguous). Both filters
 * must be valid. */
bool mqtt_topic_filters_overlap(const char *a, const char *b);

/* Allocate an empty router; NULL on allocation failure. Free with mqtt_router_free(). */
struct mqtt_router *mqtt_router_new(void);

/* Free the router and its routes; NULL is allowed. */
void mqtt_router_free(struct mqtt_router *router);

/* Register fn(msg, arg) for filter (copied), subscribed with qos. Returns BW_OK,
 * BW_ERR_BAD_REQUEST (invalid filter, qos not 0/1, fn NULL), BW_ERR_CONFLICT (filter overlaps a
 * registered one: every topic must have exactly one route, and Mosquitto 2 delivers one copy per
 * matching subscription) or BW_ERR_INTERNAL (out of memory). */
enum bw_err mqtt_router_add(struct mqtt_router *router, const char *filter, int qos,
			    mqtt_handler_fn fn, void *arg);

/* Like mqtt_router_add(), for a batch handler: a worker hands it runs of consecutive messages
 * that match filter (up to the worker batch size, 64). */
enum bw_err mqtt_router_add_batch(struct mqtt_router *router, const char *filter, int qos,
				  mqtt_batch_fn batch_fn, void *arg);

/* The route whose filter matches topic, or NULL if none (borrowed from the router). */
const struct mqtt_route *mqtt_router_find(const struct mqtt_router *router, const char *topic);

/* Number of registered routes (for iteration with mqtt_router_at). */
size_t mqtt_router_count(const struct mqtt_router *router);

/* Route i in registration order, i < mqtt_router_count() (borrowed). */
const struct mqtt_route *mqtt_router_at(const struct mqtt_router *router, size_t i);

/* Dispatch the leading messages of msgs[0..count): if msgs[0] matches a batch route, the run of
 * consecutive messages matching that same route goes to its batch_fn in one call; if it matches
 * a single route, msgs[0] goes to its fn; if it matches nothing, no handler runs. Sets *route_out
 * to the route used (NULL when none matched) and returns how many messages were consumed
 * (>= 1 when count > 0; 0 when count == 0). */
size_t mqtt_router_dispatch(const struct mqtt_router *router,
			    const struct mqtt_message *const *msgs, size_t count,
			    const struct mqtt_route **route_out);

/* Copy topic (NUL-terminated) and payload_len bytes of payload (any bytes; NULL allowed when
 * payload_len is 0) into one new allocation, NUL-terminating both copies. Returns NULL on
 * allocation failure or when payload_len exceeds MQTT_MAX_PAYLOAD_BYTES or the topic
 * MQTT_MAX_TOPIC_BYTES. Free with mqtt_message_free(). */
struct mqtt_message *mqtt_message_new(const char *topic, const void *payload, size_t payload_len,
				      int qos, bool retain);

/* Bytes held by msg (for queue memory accounting). */
size_t mqtt_message_size(const struct mqtt_message *msg);

/* Free a message from mqtt_message_new(); NULL is allowed. */
void mqtt_message_free(struct mqtt_message *msg);

#endif
