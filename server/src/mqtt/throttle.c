#include "mqtt/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/errors.h"
#include "core/log.h"
#include "core/metrics.h"
#include "jobs/requests.h"
#include "jobs/topics.h"
#include "mqtt/client.h"
#include "shadow/doc.h"
#include "shadow/dump.h"
#include "shadow/topic.h"

const char *mqtt_throttle_api_name(enum mqtt_throttle_api api)
{
	switch (api) {
	case MQTT_THROTTLE_SHADOW:
		return "shadow";
	case MQTT_THROTTLE_JOBS:
		return "jobs";
	default:
		return "none";
	}
}

static void publish_failed(const char *topic, int rc)
{
	metrics_counter_add("bw_mqtt_throttle_publish_failures_total", NULL, 1);
	log_debug("mqtt", "throttle_answer_failed", LOG_S("topic", topic),
		  LOG_S("error", bw_err_code(rc)), LOG_END);
}

static void answer_shadow(const struct mqtt_message *msg, const struct shadow_topic *t)
{
	struct shadow_token_request tok = { 0 };
	char topic[SHADOW_TOPIC_MAX], text[SHADOW_MSG_MAX], suffix[32];
	int code = 0;
	size_t len = 0;
	json_t *reply;
	char *payload = NULL;
	int rc = BW_ERR_INTERNAL;

	/* keep the clientToken (of any request kind) so the device can correlate the 429 */
	if (shadow_token_request_parse(msg->payload, msg->payload_len, &tok, &code, text,
				       sizeof(text)) != SHADOW_OK)
		tok.has_client_token = false;
	shadow_err_format(SHADOW_ERR_THROTTLED, t->is_named ? t->name : t->thing, &code, text,
			  sizeof(text));
	reply = shadow_error_reply_new(code, text, (int64_t)time(NULL),
				       tok.has_client_token ? tok.client_token : NULL);
	snprintf(suffix, sizeof(suffix), "%s/rejected", shadow_op_name(t->op));
	if (!shadow_topic_format(topic, sizeof(topic), t->thing, t->is_named ? t->name : NULL,
				 suffix)) {
		publish_failed(msg->topic, rc);
		json_decref(reply);
		return;
	}
	if (reply)
		payload = shadow_dumps(reply, 0, &len);
	if (payload)
		rc = mqtt_client_publish(topic, payload, len, 0, false);
	if (rc != BW_OK)
		publish_failed(topic, rc);
	free(payload);
	json_decref(reply);
}

static void answer_jobs(const struct mqtt_message *msg, const struct jobs_topic *t)
{
	const char *target = msg->client_id[0] ? msg->client_id : t->thing;
	struct jobs_request req;
	struct timespec now;
	size_t cap = msg->topic_len + sizeof("/rejected");
	char *topic = malloc(cap);
	json_t *reply;
	char *payload = NULL;
	int rc = BW_ERR_INTERNAL;

	if (!topic || !jobs_topics_reply(msg->topic, msg->topic_len, false, topic, cap)) {
		publish_failed(msg->topic, rc);
		free(topic);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	/* the error (if any) does not matter: a valid clientToken is kept either way */
	jobs_requests_parse_topic(t, msg->payload, msg->payload_len, &req, NULL, 0);
	reply = jobs_requests_rejected(JOBS_ERR_THROTTLED, NULL, jobs_requests_token(&req), NULL,
				       (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	jobs_requests_cleanup(&req);
	if (reply)
		payload = json_dumps(reply, JSON_COMPACT);
	if (payload)
		rc = mqtt_client_publish_to(target, topic, payload, strlen(payload), 0);
	if (rc != BW_OK)
		publish_failed(topic, rc);
	free(topic);
	free(payload);
	json_decref(reply);
}

enum mqtt_throttle_api mqtt_throttle_answer(const struct mqtt_message *msg)
{
	struct shadow_topic st;
	struct jobs_topic jt;

	if (shadow_topic_parse(msg->topic, &st)) {
		answer_shadow(msg, &st);
		return MQTT_THROTTLE_SHADOW;
	}
	jobs_topics_parse(msg->topic, msg->topic_len, &jt);
	/* every Jobs request, malformed ones too (they would get InvalidTopic/InvalidRequest;
	 * asked again later they still will), as long as there is someone to answer */
	if (jobs_topics_is_jobs_request(jt.kind) && (msg->client_id[0] || jt.thing[0])) {
		answer_jobs(msg, &jt);
		return MQTT_THROTTLE_JOBS;
	}
	return MQTT_THROTTLE_NONE;
}
