#include "mqtt/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARE_PREFIX "$share/"

struct mqtt_router {
	struct mqtt_route *routes;
	size_t count;
	size_t cap;
};

/* Checks the UTF-8 rules MQTT (and libmosquitto) apply to topics and filters: well-formed,
 * shortest form, no surrogates, at most U+10FFFF, no control characters (U+0000..U+001F,
 * U+007F..U+009F), at most MQTT_MAX_TOPIC_BYTES bytes. */
static bool mqtt_utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (s[i]) {
		uint32_t cp;
		size_t extra;

		if (i >= MQTT_MAX_TOPIC_BYTES)
			return false;
		if (s[i] < 0x80) {
			cp = s[i];
			extra = 0;
		} else if ((s[i] & 0xE0) == 0xC0) {
			cp = s[i] & 0x1F;
			extra = 1;
		} else if ((s[i] & 0xF0) == 0xE0) {
			cp = s[i] & 0x0F;
			extra = 2;
		} else if ((s[i] & 0xF8) == 0xF0) {
			cp = s[i] & 0x07;
			extra = 3;
		} else {
			return false;
		}
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xC0) != 0x80) /* also stops at the terminating NUL */
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && cp < 0x10000))
			return false; /* overlong */
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F))
			return false;
		i += extra + 1;
	}
	return i <= MQTT_MAX_TOPIC_BYTES;
}

/* For "$share/{group}/{filter}" returns {filter}; for other filters the filter itself; NULL if
 * the shared-subscription form is malformed (empty group, wildcard in it, no filter part). */
static const char *strip_share(const char *filter)
{
	const char *group, *p;

	if (strncmp(filter, SHARE_PREFIX, strlen(SHARE_PREFIX)) != 0)
		return filter;
	group = filter + strlen(SHARE_PREFIX);
	for (p = group; *p && *p != '/'; p++) {
		if (*p == '+' || *p == '#')
			return NULL;
	}
	if (p == group || *p != '/' || p[1] == '\0')
		return NULL;
	return p + 1;
}

/* Wildcard placement rules for a filter without the $share prefix. */
static bool filter_levels_valid(const char *f)
{
	if (*f == '\0')
		return false;
	for (const char *p = f; *p; p++) {
		bool starts_level = p == f || p[-1] == '/';
		bool ends_level = p[1] == '\0' || p[1] == '/';

		if (*p == '+' && !(starts_level && ends_level))
			return false;
		if (*p == '#' && !(starts_level && p[1] == '\0'))
			return false;
	}
	return true;
}

bool mqtt_topic_filter_valid(const char *filter)
{
	const char *inner;

	if (!filter || !mqtt_utf8_valid(filter))
		return false;
	inner = strip_share(filter);
	return inner && filter_levels_valid(inner);
}

bool mqtt_topic_name_valid(const char *topic)
{
	return topic && *topic && !strpbrk(topic, "+#") && mqtt_utf8_valid(topic);
}

bool mqtt_topic_matches(const char *filter, const char *topic)
{
	const char *f, *t;

	if (!filter || !topic || *topic == '\0' || strpbrk(topic, "+#"))
		return false;
	f = strip_share(filter);
	if (!f || *f == '\0')
		return false;
	if (*topic == '$' && (*f == '+' || *f == '#'))
		return false;
	t = topic;
	for (;;) {
		/* f and t each point at the start of a level */
		if (f[0] == '#' && f[1] == '\0')
			return true;
		if (f[0] == '+' && (f[1] == '/' || f[1] == '\0')) {
			while (*t && *t != '/')
				t++;
			f++;
		} else {
			for (; *f && *f != '/'; f++, t++) {
				if (*f == '+' || *f == '#')
					return false; /* misplaced wildcard: invalid filter */
				if (*t != *f)
					return false;
			}
			if (*t && *t != '/')
				return false;
		}
		if (*f == '\0' || *t == '\0')
			break;
		f++;
		t++;
	}
	if (*f == '\0' && *t == '\0')
		return true;
	/* the topic ended first: only a trailing "/#" also matches the parent level */
	return *t == '\0' && strcmp(f, "/#") == 0;
}

/* Length of the level starting at s. */
static size_t level_len(const char *s)
{
	return strcspn(s, "/");
}

static bool level_is(const char *s, size_t len, char c)
{
	return len == 1 && s[0] == c;
}

bool mqtt_topic_filters_overlap(const char *a, const char *b)
{
	bool is_first = true;

	a = strip_share(a);
	b = strip_share(b);
	if (!a || !b)
		return false;
	for (;;) {
		size_t la = level_len(a), lb = level_len(b);
		bool a_hash = level_is(a, la, '#'), b_hash = level_is(b, lb, '#');
		bool a_wild = a_hash || level_is(a, la, '+');
		bool b_wild = b_hash || level_is(b, lb, '+');

		/* a wildcard in the first level never matches a '$' topic */
		if (is_first &&
		    ((a_wild && !b_wild && *b == '$') || (b_wild && !a_wild && *a == '$')))
			return false;
		if (a_hash || b_hash)
			return true;
		if (!a_wild && !b_wild && (la != lb || memcmp(a, b, la) != 0))
			return false;
		a += la;
		b += lb;
		if (*a == '\0' && *b == '\0')
			return true;
		if (*a == '\0')
			return strcmp(b, "/#") == 0;
		if (*b == '\0')
			return strcmp(a, "/#") == 0;
		a++;
		b++;
		is_first = false;
	}
}

struct mqtt_router *mqtt_router_new(void)
{
	return calloc(1, sizeof(struct mqtt_router));
}

void mqtt_router_free(struct mqtt_router *router)
{
	if (!router)
		return;
	for (size_t i = 0; i < router->count; i++)
		free(router->routes[i].filter);
	free(router->routes);
	free(router);
}

static enum bw_err add_route(struct mqtt_router *router, const char *filter, int qos,
			     mqtt_handler_fn fn, mqtt_batch_fn batch_fn, void *arg)
{
	struct mqtt_route *route;

	if (!router || !mqtt_topic_filter_valid(filter) || (qos != 0 && qos != 1))
		return BW_ERR_BAD_REQUEST;
	for (size_t i = 0; i < router->count; i++) {
		if (mqtt_topic_filters_overlap(router->routes[i].filter, filter))
			return BW_ERR_CONFLICT;
	}
	if (router->count == router->cap) {
		size_t cap = router->cap ? router->cap * 2 : 8;
		struct mqtt_route *routes = realloc(router->routes, cap * sizeof(*routes));

		if (!routes)
			return BW_ERR_INTERNAL;
		router->routes = routes;
		router->cap = cap;
	}
	route = &router->routes[router->count];
	route->filter = strdup(filter);
	if (!route->filter)
		return BW_ERR_INTERNAL;
	route->qos = qos;
	route->fn = fn;
	route->batch_fn = batch_fn;
	route->arg = arg;
	route->index = router->count;
	router->count++;
	return BW_OK;
}

enum bw_err mqtt_router_add(struct mqtt_router *router, const char *filter, int qos,
			    mqtt_handler_fn fn, void *arg)
{
	if (!fn)
		return BW_ERR_BAD_REQUEST;
	return add_route(router, filter, qos, fn, NULL, arg);
}

enum bw_err mqtt_router_add_batch(struct mqtt_router *router, const char *filter, int qos,
				  mqtt_batch_fn batch_fn, void *arg)
{
	if (!batch_fn)
		return BW_ERR_BAD_REQUEST;
	return add_route(router, filter, qos, NULL, batch_fn, arg);
}

const struct mqtt_route *mqtt_router_find(const struct mqtt_router *router, const char *topic)
{
	for (size_t i = 0; i < router->count; i++) {
		if (mqtt_topic_matches(router->routes[i].filter, topic))
			return &router->routes[i];
	}
	return NULL;
}

size_t mqtt_router_count(const struct mqtt_router *router)
{
	return router->count;
}

const struct mqtt_route *mqtt_router_at(const struct mqtt_router *router, size_t i)
{
	return i < router->count ? &router->routes[i] : NULL;
}

size_t mqtt_router_dispatch(const struct mqtt_router *router,
			    const struct mqtt_message *const *msgs, size_t count,
			    const struct mqtt_route **route_out)
{
	const struct mqtt_route *route;
	size_t run = 1;

	*route_out = NULL;
	if (count == 0)
		return 0;
	route = mqtt_router_find(router, msgs[0]->topic);
	*route_out = route;
	if (!route)
		return 1;
	if (route->fn) {
		route->fn(msgs[0], route->arg);
		return 1;
	}
	while (run < count && mqtt_router_find(router, msgs[run]->topic) == route)
		run++;
	route->batch_fn(msgs, run, route->arg);
	return run;
}

struct mqtt_message *mqtt_message_new(const char *topic, const void *payload, size_t payload_len,
				      int qos, bool retain)
{
	struct mqtt_message *msg;
	struct timespec now;
	size_t topic_len;
	char *p;

	if (!topic || (payload_len > 0 && !payload) || payload_len > MQTT_MAX_PAYLOAD_BYTES)
		return NULL;
	topic_len = strnlen(topic, MQTT_MAX_TOPIC_BYTES + 1);
	if (topic_len > MQTT_MAX_TOPIC_BYTES)
		return NULL;
	/* bounded above: no overflow */
	msg = malloc(sizeof(*msg) + topic_len + 1 + payload_len + 1);
	if (!msg)
		return NULL;
	p = (char *)(msg + 1);
	memcpy(p, topic, topic_len);
	p[topic_len] = '\0';
	msg->topic = p;
	msg->topic_len = topic_len;
	p += topic_len + 1;
	if (payload_len > 0)
		memcpy(p, payload, payload_len);
	p[payload_len] = '\0';
	msg->payload = p;
	msg->payload_len = payload_len;
	msg->qos = qos;
	msg->retain = retain;
	msg->client_id[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &now);
	msg->received_s = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	return msg;
}

size_t mqtt_message_size(const struct mqtt_message *msg)
{
	return sizeof(*msg) + msg->topic_len + 1 + msg->payload_len + 1;
}

void mqtt_message_free(struct mqtt_message *msg)
{
	free(msg);
}
