#include "shadow/cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/dump.h"

/* jansson keeps about this many bytes per byte of compact JSON text (nodes, hash tables). */
#define JSON_MEMORY_FACTOR 6
#define ENTRY_OVERHEAD 256

struct slot {
	char *key; /* "thing\x01name"; NULL = empty */
	struct shadow s;
	size_t bytes;
};

struct shadow_cache {
	struct slot *slots;
	size_t nslots; /* power of two */
	size_t count;
	size_t bytes;
	size_t max_bytes;
	size_t evict_next; /* where budget eviction continues */
};

static uint64_t fnv1a(const char *a, const char *b)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * UINT64_C(1099511628211);
	h = (h ^ 1u) * UINT64_C(1099511628211);
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * UINT64_C(1099511628211);
	return h;
}

/* "thing\x01name" (neither part can hold \x01), or NULL on allocation failure. */
static char *make_key(const char *thing, const char *name)
{
	size_t t = strlen(thing), n = strlen(name);
	char *k = malloc(t + n + 2);

	if (!k)
		return NULL;
	memcpy(k, thing, t);
	k[t] = '\x01';
	memcpy(k + t + 1, name, n + 1);
	return k;
}

static bool key_is(const char *key, const char *thing, const char *name)
{
	size_t t = strlen(thing);

	return strncmp(key, thing, t) == 0 && key[t] == '\x01' && strcmp(key + t + 1, name) == 0;
}

static struct slot *slot_of(const struct shadow_cache *c, const char *thing, const char *name)
{
	return &c->slots[fnv1a(thing, name) & (c->nslots - 1)];
}

static void slot_clear(struct shadow_cache *c, struct slot *sl)
{
	if (!sl->key)
		return;
	free(sl->key);
	sl->key = NULL;
	shadow_cleanup(&sl->s);
	c->bytes -= sl->bytes;
	c->count--;
	sl->bytes = 0;
}

struct shadow_cache *shadow_cache_new(size_t nslots, size_t max_bytes)
{
	struct shadow_cache *c = calloc(1, sizeof(*c));
	size_t n = 1;

	if (!c)
		return NULL;
	while (n < nslots && n < ((size_t)1 << 30))
		n <<= 1;
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	c->nslots = n;
	c->max_bytes = max_bytes;
	return c;
}

void shadow_cache_free(struct shadow_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++)
		slot_clear(c, &c->slots[i]);
	free(c->slots);
	free(c);
}

bool shadow_cache_take(struct shadow_cache *c, const char *thing, const char *name,
		       struct shadow *out)
{
	struct slot *sl = slot_of(c, thing, name);

	if (!sl->key || !key_is(sl->key, thing, name))
		return false;
	*out = sl->s;
	shadow_init(&sl->s);
	free(sl->key);
	sl->key = NULL;
	c->bytes -= sl->bytes;
	c->count--;
	sl->bytes = 0;
	return true;
}

void shadow_cache_remove(struct shadow_cache *c, const char *thing, const char *name)
{
	struct slot *sl = slot_of(c, thing, name);

	if (sl->key && key_is(sl->key, thing, name))
		slot_clear(c, sl);
}

size_t shadow_cache_estimate(const struct shadow *s)
{
	size_t text = shadow_dump_size(s->desired) + shadow_dump_size(s->reported) +
		      shadow_dump_size(s->meta_desired) + shadow_dump_size(s->meta_reported);

	return ENTRY_OVERHEAD + JSON_MEMORY_FACTOR * text;
}

void shadow_cache_put(struct shadow_cache *c, const char *thing, const char *name, struct shadow *s)
{
	struct slot *sl = slot_of(c, thing, name);
	size_t bytes = shadow_cache_estimate(s);
	char *key;

	slot_clear(c, sl);
	if (bytes > c->max_bytes || !(key = make_key(thing, name))) {
		shadow_cleanup(s);
		return;
	}
	/* make room: evict other entries round robin */
	for (size_t scanned = 0; c->bytes + bytes > c->max_bytes && scanned < c->nslots;
	     scanned++) {
		slot_clear(c, &c->slots[c->evict_next]);
		c->evict_next = (c->evict_next + 1) & (c->nslots - 1);
	}
	sl->key = key;
	sl->s = *s;
	sl->bytes = bytes;
	shadow_init(s);
	c->bytes += bytes;
	c->count++;
}

size_t shadow_cache_count(const struct shadow_cache *c)
{
	return c->count;
}

size_t shadow_cache_bytes(const struct shadow_cache *c)
{
	return c->bytes;
}
