/*
 * Device Shadow MQTT topic grammar (spec/aws-iot-compat.md 6.1): request topics
 *   $aws/things/{thing}/shadow/{get|update|delete}
 *   $aws/things/{thing}/shadow/name/{shadow}/{get|update|delete}
 * and the reply topics built from them. PURE: libc only.
 */
#ifndef BW_SHADOW_TOPIC_H
#define BW_SHADOW_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strutil.h"

/* Subscription filters covering every request topic and nothing the service publishes itself
 * (replies are one level deeper, so the server never receives its own publications). */
#define SHADOW_TOPIC_FILTER_CLASSIC "$aws/things/+/shadow/+"
#define SHADOW_TOPIC_FILTER_NAMED "$aws/things/+/shadow/name/+/+"

/* Longest topic the service builds: prefix, thing, "/shadow/name/", shadow, "/update/documents". */
#define SHADOW_TOPIC_MAX (12 + STRUTIL_THING_NAME_MAX + 13 + STRUTIL_SHADOW_NAME_MAX + 18 + 1)

enum shadow_op {
	SHADOW_OP_GET = 0,
	SHADOW_OP_UPDATE,
	SHADOW_OP_DELETE,
};

/* "get", "update", "delete"; "?" out of range. */
const char *shadow_op_name(enum shadow_op op);

/* A parsed request topic. name is "" for the classic shadow. */
struct shadow_topic {
	char thing[STRUTIL_THING_NAME_MAX + 1];
	char name[STRUTIL_SHADOW_NAME_MAX + 1];
	bool is_named;
	enum shadow_op op;
};

/*
 * Parse a request topic. True only for exactly the two request forms above with a valid thing
 * name (1..128 of [a-zA-Z0-9:_-]), a valid shadow name (1..64 of [a-zA-Z0-9:_$-]) and op
 * get/update/delete; anything else (reply topics, other services, bad names) is false and *out
 * is zeroed.
 */
bool shadow_topic_parse(const char *topic, struct shadow_topic *out);

/*
 * Write the topic "$aws/things/{thing}/shadow[/name/{name}]/{suffix}" into out (size bytes).
 * name NULL or "" = classic shadow; suffix e.g. "update/accepted". Returns false if it does not
 * fit (out is then "").
 */
bool shadow_topic_format(char *out, size_t size, const char *thing, const char *name,
			 const char *suffix);

#endif
