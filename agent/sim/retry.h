/*
 * bellwether-sim: per-device memory of the requests a device published, so that a request the
 * server answered as throttled (Shadow 429 ThrottlingException, Jobs RequestThrottled; the server
 * answers those instead of dropping requests when it is overloaded, docs/ARCHITECTURE.md
 * "Back-pressure") is published again, unchanged, after an exponential backoff with jitter.
 * Requests are found by their clientToken (the simulator makes sure every request has one).
 * A request no throttled reply refers to within SIM_RETRY_KEEP_MS is forgotten.
 */
#ifndef BW_SIM_RETRY_H
#define BW_SIM_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_RETRY_SLOTS 6
#define SIM_RETRY_TOKEN_MAX 64	 /* AWS clientToken limit */
#define SIM_RETRY_KEEP_MS 120000 /* how long a sent request can still be throttled */
#define SIM_RETRY_BASE_MS 2000	 /* first backoff (real time) */
#define SIM_RETRY_CAP_MS 60000	 /* backoff cap (real time) */

struct sim_request {
	char token[SIM_RETRY_TOKEN_MAX + 1]; /* "" = free slot */
	char *topic;
	char *payload;
	int qos;
	unsigned attempts; /* throttled answers so far */
	int64_t sent_ms;
	int64_t retry_at_ms; /* 0 = not waiting for a retry */
};

struct sim_retry {
	struct sim_request slots[SIM_RETRY_SLOTS];
	int64_t next_retry_ms; /* earliest retry_at_ms, 0 = none */
};

/* Remember a published request (copies topic and payload). It replaces a remembered request on
 * the same topic (superseded: only the newest is ever retried); when every slot is taken, the
 * oldest request is forgotten. False on allocation failure (nothing remembered). */
bool sim_retry_add(struct sim_retry *r, const char *token, const char *topic, const char *payload,
		   int qos, int64_t now_ms);

/* A throttled answer for token arrived: schedule the request again after
 * min(BASE * 2^attempts, CAP), jittered to [d/2, d] with rnd (any 64-bit random value).
 * Returns false when no remembered request has that token. */
bool sim_retry_throttled(struct sim_retry *r, const char *token, uint64_t rnd, int64_t now_ms);

/* Hold back the remembered request with token until at_ms (the device is backing off after a
 * throttled answer to another request). False when no remembered request has that token. */
bool sim_retry_defer(struct sim_retry *r, const char *token, int64_t at_ms);

/* The next request whose retry is due at now_ms (marked sent at now_ms), or NULL. */
const struct sim_request *sim_retry_due(struct sim_retry *r, int64_t now_ms);

/* The backoff (ms) before attempt number `attempts` (>= 1), jittered with rnd. */
int64_t sim_retry_backoff_ms(unsigned attempts, uint64_t rnd);

/* Forget everything (after a disconnect the agent sends what it still needs again). */
void sim_retry_clear(struct sim_retry *r);

/*
 * The payload with a clientToken: payload is a JSON object; if it has a string clientToken it is
 * copied into token, else `fresh` is added as its clientToken (and copied into token). Returns
 * the new JSON text (caller frees), or NULL when payload is not a JSON object or on allocation
 * failure.
 */
char *sim_retry_with_token(const char *payload, const char *fresh, char *token, size_t cap);

/* True if a message on topic with payload is a throttled answer (a .../rejected topic whose
 * payload has code 429 or "RequestThrottled"); its clientToken (or "") is copied into token. */
bool sim_retry_is_throttled(const char *topic, const void *payload, size_t len, char *token,
			    size_t cap);

#endif
