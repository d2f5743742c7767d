/*
 * A simulated device for black-box tests: one libmosquitto client (MQTT v5, TCP_NODELAY,
 * threaded loop) whose client id is its thing name, as the broker's ACL requires, connecting
 * anonymously to BW_TEST_MQTT_HOST:BW_TEST_MQTT_PORT. Received messages are queued; tests take
 * them by topic. Every wait is bounded.
 */
#ifndef BW_TESTS_MQTT_DEVICE_H
#define BW_TESTS_MQTT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define MQTT_DEVICE_WAIT_MS 5000 /* default bound of every wait */

struct mqtt_device;

/* Connect as client id `thing` (anonymous) to host:port and wait for CONNACK. NULL on failure
 * (the reason is printed to stderr). Call mosquitto_lib_init() once before. */
struct mqtt_device *mqtt_device_new(const char *host, int port, const char *thing);

/* Disconnect and free; NULL is allowed. */
void mqtt_device_free(struct mqtt_device *d);

/* Subscribe to filter at QoS 1 and wait for the SUBACK. Returns the granted QoS or reason code
 * (0x80 and up = refused, e.g. 0x87 not authorised), -1 on timeout or error. */
int mqtt_device_subscribe(struct mqtt_device *d, const char *filter);

/* Publish len bytes at QoS 1 and wait for the PUBACK. Returns its MQTT v5 reason code (0 =
 * success, 0x10 = no matching subscribers, 0x87 = not authorised), -1 on timeout or error. */
int mqtt_device_publish(struct mqtt_device *d, const char *topic, const void *payload, size_t len);

/* Same with a NUL-terminated payload, without waiting for the PUBACK (for bursts). Returns 0 or
 * -1. */
int mqtt_device_publish_nowait(struct mqtt_device *d, const char *topic, const char *payload);

/* Take the oldest queued message on exactly `topic`, waiting up to timeout_ms. Returns its
 * payload parsed as JSON (new reference), or NULL on timeout or when it is not JSON. */
json_t *mqtt_device_take(struct mqtt_device *d, const char *topic, int timeout_ms);

/* Number of queued (not yet taken) messages on topic. */
size_t mqtt_device_count(struct mqtt_device *d, const char *topic);

/* Drop every queued message. */
void mqtt_device_clear(struct mqtt_device *d);

#endif
