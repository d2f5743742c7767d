#include "agent_proto.h"

#include <stdio.h>
#include <string.h>

size_t agent_proto_subscriptions(const char *thing, char topics[][AGENT_TOPIC_MAX], size_t cap)
{
	/* replies are also delivered unsubscribed (spec 2.2); subscribe anyway. The rejected
	 * topics carry the throttled answers (RequestThrottled, 429) the agent retries */
	static const char *const rest[] = {
		"jobs/notify-next",    "jobs/$next/get/+",	 "jobs/start-next/+",
		"jobs/+/update/+",     "shadow/update/delta",	 "shadow/get/accepted",
		"shadow/get/rejected", "shadow/update/rejected",
	};
	size_t i, n = sizeof(rest) / sizeof(rest[0]);

	for (i = 0; i < n && i < cap; i++)
		snprintf(topics[i], AGENT_TOPIC_MAX, "$aws/things/%s/%s", thing, rest[i]);
	return i;
}

void agent_proto_shadow_topic(const char *thing, const char *op, char *buf, size_t cap)
{
	snprintf(buf, cap, "$aws/things/%s/shadow/%s", thing, op);
}

static void copy_str(const json_t *obj, const char *key, char *dst, size_t cap)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_string(v) && json_string_length(v) < cap)
		memcpy(dst, json_string_value(v), json_string_length(v) + 1);
}

static void parse_execution(const json_t *root, struct agent_execution *ex)
{
	const json_t *e = json_object_get(root, "execution"), *doc, *details;

	memset(ex, 0, sizeof(*ex));
	if (!json_is_object(e))
		return;
	copy_str(e, "jobId", ex->job_id, sizeof(ex->job_id));
	copy_str(e, "status", ex->status, sizeof(ex->status));
	if (ex->job_id[0] == '\0' || ex->status[0] == '\0')
		return;
	ex->is_present = true;
	ex->version_number = json_integer_value(json_object_get(e, "versionNumber"));
	details = json_object_get(e, "statusDetails");
	ex->has_self_test = json_object_get(details, "self_test") != NULL;
	doc = json_object_get(e, "jobDocument");
	ex->is_doc_valid = agent_doc_parse(doc, &ex->doc, ex->doc_error, sizeof(ex->doc_error));
}

enum agent_msg_kind agent_proto_parse(const char *thing, const char *topic, const void *payload,
				      size_t len, struct agent_event *ev,
				      struct agent_execution *ex, json_t **delta)
{
	enum agent_msg_kind kind = AGENT_MSG_IGNORED;
	char prefix[AGENT_TOPIC_MAX];
	const char *rest, *slash;
	json_t *root;
	size_t plen;

	*delta = NULL;
	memset(ex, 0, sizeof(*ex));
	plen = (size_t)snprintf(prefix, sizeof(prefix), "$aws/things/%s/", thing);
	if (plen >= sizeof(prefix) || strncmp(topic, prefix, plen) != 0)
		return AGENT_MSG_IGNORED;
	rest = topic + plen;
	root = json_loadb(payload, len, 0, NULL);
	if (!json_is_object(root))
		goto out;
	if (strcmp(rest, "jobs/$next/get/rejected") == 0 ||
	    strcmp(rest, "jobs/start-next/rejected") == 0) {
		ev->type = AGENT_EV_QUERY_REJECTED;
		copy_str(root, "code", ev->code, sizeof(ev->code));
		copy_str(root, "clientToken", ev->client_token, sizeof(ev->client_token));
		kind = AGENT_MSG_EVENT;
	} else if (strcmp(rest, "shadow/update/rejected") == 0 ||
		   strcmp(rest, "shadow/get/rejected") == 0) {
		const json_t *code = json_object_get(root, "code");

		ev->type = AGENT_EV_SHADOW_REJECTED;
		ev->is_shadow_get = strcmp(rest, "shadow/get/rejected") == 0;
		if (json_is_integer(code))
			snprintf(ev->code, sizeof(ev->code), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(code));
		else
			copy_str(root, "code", ev->code, sizeof(ev->code));
		copy_str(root, "clientToken", ev->client_token, sizeof(ev->client_token));
		kind = AGENT_MSG_EVENT;
	} else if (strcmp(rest, "jobs/notify-next") == 0 ||
		   strcmp(rest, "jobs/$next/get/accepted") == 0 ||
		   strcmp(rest, "jobs/start-next/accepted") == 0) {
		ev->type = AGENT_EV_EXECUTION;
		parse_execution(root, ex);
		ev->execution = ex;
		kind = AGENT_MSG_EVENT;
	} else if (strncmp(rest, "jobs/", 5) == 0 && (slash = strchr(rest + 5, '/')) != NULL &&
		   (strcmp(slash, "/update/accepted") == 0 ||
		    strcmp(slash, "/update/rejected") == 0)) {
		size_t n = (size_t)(slash - (rest + 5));

		if (n == 0 || n > AGENT_JOB_ID_MAX)
			goto out;
		memcpy(ev->job_id, rest + 5, n);
		ev->job_id[n] = '\0';
		ev->type = strcmp(slash, "/update/accepted") == 0 ? AGENT_EV_UPDATE_ACCEPTED
								  : AGENT_EV_UPDATE_REJECTED;
		copy_str(root, "code", ev->code, sizeof(ev->code));
		copy_str(root, "clientToken", ev->client_token, sizeof(ev->client_token));
		kind = AGENT_MSG_EVENT;
	} else if (strcmp(rest, "shadow/update/delta") == 0) {
		json_t *state = json_object_get(root, "state");

		if (json_is_object(state)) {
			*delta = json_incref(state);
			kind = AGENT_MSG_SHADOW_DELTA;
		}
	} else if (strcmp(rest, "shadow/get/accepted") == 0) {
		json_t *d = json_object_get(json_object_get(root, "state"), "delta");

		if (json_is_object(d)) {
			*delta = json_incref(d);
			kind = AGENT_MSG_SHADOW_DELTA;
		}
	}
out:
	json_decref(root);
	return kind;
}
