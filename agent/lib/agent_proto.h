/*
 * MQTT messages the agent receives, turned into agent_fsm events, and the subscriptions it
 * needs. Only AWS topics (spec 2.1, 6.1). PURE: libc + jansson.
 */
#ifndef BW_AGENT_PROTO_H
#define BW_AGENT_PROTO_H

#include <stddef.h>

#include <jansson.h>

#include "agent_fsm.h"

enum agent_msg_kind {
	AGENT_MSG_IGNORED,
	AGENT_MSG_EVENT,	/* ev (and execution) filled: feed it to the FSM */
	AGENT_MSG_SHADOW_DELTA, /* *delta = the state of update/delta or get/accepted's delta */
};

#define AGENT_PROTO_SUBSCRIPTIONS 8 /* how many agent_proto_subscriptions writes */

/* The topic filters a device subscribes to (thing-specific), including the rejected topics
 * that carry throttled answers. Writes up to cap topics of AGENT_TOPIC_MAX each into topics;
 * returns how many. */
size_t agent_proto_subscriptions(const char *thing, char topics[][AGENT_TOPIC_MAX], size_t cap);

/* Topic of the classic shadow operation op ("update", "get") for thing into buf. */
void agent_proto_shadow_topic(const char *thing, const char *op, char *buf, size_t cap);

/*
 * Classifies one received message of thing. For AGENT_MSG_EVENT fills ev (type, job_id, code,
 * client_token; now_ms is the caller's) and, for executions, ex (whose doc the caller frees
 * with agent_doc_cleanup(&ex->doc)); ev->execution points at ex. For AGENT_MSG_SHADOW_DELTA
 * *delta is a new reference to the delta object (caller decrefs).
 */
enum agent_msg_kind agent_proto_parse(const char *thing, const char *topic, const void *payload,
				      size_t len, struct agent_event *ev,
				      struct agent_execution *ex, json_t **delta);

#endif
