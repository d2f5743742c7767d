/* Answers for device requests the server cannot take now (its MQTT inbox is full, docs/
 * ARCHITECTURE.md "Back-pressure"): instead of dropping a request, the network thread answers it
 * the way its service answers an over-limit request, so the device knows and retries later:
 *   - Device Shadow get/update/delete: <request>/rejected {"code":429,"message":"Rate exceeded",
 *     "timestamp","clientToken"?} (spec 6.7, ThrottlingException);
 *   - Jobs requests: <request>/rejected {"code":"RequestThrottled","message","timestamp",
 *     "clientToken"?} to the requesting client only (spec 2.9, 2.2).
 * Answers go out at QoS 0: they are advice, the device's own timeout covers a lost one, and
 * under overload they must not occupy the broker's acknowledgement window that the handlers'
 * replies need.
 * Other topics (file streams, unknown) have no such answer: the caller queues them anyway. A
 * Jobs request whose topic names no requester (bad thing name, no plugin-stamped client id)
 * neither. */
#ifndef BW_MQTT_THROTTLE_H
#define BW_MQTT_THROTTLE_H

#include "mqtt/router.h"

enum mqtt_throttle_api {
	MQTT_THROTTLE_NONE = 0, /* not a request with a throttling answer: nothing was published */
	MQTT_THROTTLE_SHADOW,
	MQTT_THROTTLE_JOBS,
};

/* The label value of api for bw_mqtt_requests_throttled_total: "shadow", "jobs" or "none". */
const char *mqtt_throttle_api_name(enum mqtt_throttle_api api);

/* Publish the throttling answer for msg (borrowed) if its topic is a Shadow or Jobs request.
 * Returns the API answered, or MQTT_THROTTLE_NONE (nothing published). A publish failure (no
 * broker session) still returns the API: the request was refused either way and the device's
 * own timeout covers a lost answer. Thread-safe; does not block on the inbox or the database. */
enum mqtt_throttle_api mqtt_throttle_answer(const struct mqtt_message *msg);

#endif
