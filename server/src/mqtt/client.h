/* The daemon's MQTT client: one connection to the broker (MQTT v5, TCP_NODELAY), its network
 * thread with reconnect and exponential backoff, resubscription of every router filter on each
 * connect, and the worker inbox that runs the handlers. One client per process. */
#ifndef BW_MQTT_CLIENT_H
#define BW_MQTT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "mqtt/router.h"

struct mqtt_client_options {
	const char *host;      /* broker host name or address */
	int port;	       /* 1..65535 */
	const char *client_id; /* non-empty */
	const char *username;  /* NULL or "" = no username */
	const char *password;  /* the secret itself (read from the password file); NULL = none */
	int keepalive_s;       /* 5..65535 */
	unsigned reconnect_min_ms; /* first retry delay; 0 = 100 */
	unsigned reconnect_max_ms; /* backoff cap; 0 = 10000 */
	unsigned workers;	   /* worker threads; 0 = 4 */
	size_t queue_capacity;	   /* messages per worker queue; 0 = 1024 */
	size_t queue_max_bytes;	   /* bytes per worker queue; 0 = 8 MiB */
};

/* Start the client: subscribe-on-connect to every filter of router (borrowed, read-only, must
 * outlive the client), start the workers and the network thread, and return at once; the
 * connection is made in the background and retried forever with exponential backoff (from
 * reconnect_min_ms, doubling, up to reconnect_max_ms), so the server starts when the broker is
 * down. Options are copied. Returns BW_OK, BW_ERR_BAD_REQUEST (invalid options, logged),
 * BW_ERR_CONFLICT (already started) or BW_ERR_INTERNAL (allocation or thread failure, logged).
 * Also sets SIGPIPE to ignored if it has the default action (libmosquitto writes with write()). */
int mqtt_client_start(const struct mqtt_client_options *opts, const struct mqtt_router *router);

/* True while the broker session is up AND every router filter's subscription was granted (what
 * /readyz needs: messages are being received). Any thread. */
bool mqtt_client_is_connected(void);

/* Publish len bytes of payload (may contain NUL) to topic with qos 0 or 1. Thread-safe; does not
 * wait for the broker's acknowledgement. Returns BW_OK, BW_ERR_BAD_REQUEST (invalid topic or
 * qos), BW_ERR_PAYLOAD_TOO_LARGE (len > MQTT_MAX_PAYLOAD_BYTES), BW_ERR_UNAVAILABLE (not started
 * or no broker session: nothing is queued while disconnected) or BW_ERR_INTERNAL. Counts
 * bw_mqtt_messages_published_total or bw_mqtt_publish_failures_total. */
int mqtt_client_publish(const char *topic, const void *payload, size_t len, int qos, bool retain);

/* Publish payload on topic to ONE client (client_id) only, whether or not it subscribes, through
 * the broker plugin (mosquitto-plugin/: spec 2.2 reply delivery). Never retained. Same return
 * codes as mqtt_client_publish. */
int mqtt_client_publish_to(const char *client_id, const char *topic, const void *payload,
			   size_t len, int qos);

/* Stop gracefully: stop accepting messages, let the workers finish the batches they are handling
 * (their publishes still go out) and drop what is still queued (counted), disconnect cleanly,
 * stop the network thread and release libmosquitto. No-op when not started. Must not be called
 * from a handler. */
void mqtt_client_stop(void);

#endif
