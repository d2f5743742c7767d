/*
 * A bounded cache of stored shadows, keyed by (thing, shadow name): the shadow service keeps the
 * state it last wrote so that a batch of updates can skip loading it again. Direct-mapped
 * (a key has exactly one slot; a newcomer evicts the occupant) with a byte budget, so memory is
 * bounded whatever the fleet size. Not thread-safe: the caller serialises access (the shadow
 * service holds one cache per ordering lock). PURE: libc + jansson.
 */
#ifndef BW_SHADOW_CACHE_H
#define BW_SHADOW_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "shadow/doc.h"

struct shadow_cache;

/* A cache with nslots slots (rounded up to a power of two, at least 1) holding at most
 * max_bytes of estimated shadow memory. NULL on allocation failure. */
struct shadow_cache *shadow_cache_new(size_t nslots, size_t max_bytes);

/* Free the cache and every shadow in it; NULL is allowed. */
void shadow_cache_free(struct shadow_cache *c);

/*
 * Move the cached shadow of (thing, name) into *out and remove it from the cache: true if it
 * was there (*out then owns it), false otherwise (*out untouched). Taking rather than copying
 * means a caller that fails never leaves a possibly stale entry behind.
 */
bool shadow_cache_take(struct shadow_cache *c, const char *thing, const char *name,
		       struct shadow *out);

/*
 * Move *s into the cache under (thing, name), evicting the slot's occupant; *s is left empty
 * (shadow_init) in every case. A shadow larger than the whole budget, or a key or allocation
 * failure, is simply dropped. Evicts other slots' entries (in slot order) while the budget is
 * exceeded.
 */
void shadow_cache_put(struct shadow_cache *c, const char *thing, const char *name,
		      struct shadow *s);

/* Drop the entry of (thing, name) if present. */
void shadow_cache_remove(struct shadow_cache *c, const char *thing, const char *name);

/* Entries held and their estimated bytes (for tests and metrics). */
size_t shadow_cache_count(const struct shadow_cache *c);
size_t shadow_cache_bytes(const struct shadow_cache *c);

/* Estimated memory of a shadow held in jansson objects (state and metadata). */
size_t shadow_cache_estimate(const struct shadow *s);

#endif
