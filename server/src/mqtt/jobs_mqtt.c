/* MQTT side of the Jobs device plane: the batch handler of $aws/things/+/jobs/# (mqtt/jobs.h). */
#include "mqtt/jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "mqtt/client.h"

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void describe_metrics(void)
{
	metrics_describe(
		"bw_jobs_update_duration_seconds", "histogram",
		"Jobs start-next / update latency over MQTT: from the server receiving the request "
		"(queue wait included) to its reply being handed to the broker");
	metrics_describe("bw_jobs_publish_failures_total", "counter",
			 "Jobs replies that could not be handed to the broker");
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Publish r's reply on the reply topic of request_topic (accepted or rejected): to the client
 * target only when target is non-NULL (directed delivery, spec 2.2), else as an ordinary
 * publish to the topic's subscribers. */
static void publish_reply(const char *request_topic, size_t topic_len, const char *target,
			  const struct mqtt_jobs_request *r, int qos)
{
	size_t cap = topic_len + sizeof("/accepted");
	char *topic = NULL, *payload = NULL;
	int rc;

	if (!r->reply || (target && !*target)) {
		log_debug("jobs", "jobs_reply_undeliverable", LOG_END);
		return;
	}
	topic = malloc(cap);
	payload = json_dumps(r->reply, JSON_COMPACT);
	if (!topic || !payload ||
	    !jobs_topics_reply(request_topic, topic_len, r->err == JOBS_OK, topic, cap)) {
		metrics_counter_add("bw_jobs_publish_failures_total", NULL, 1);
		goto out;
	}
	if (target)
		rc = mqtt_client_publish_to(target, topic, payload, strlen(payload), qos);
	else
		rc = mqtt_client_publish(topic, payload, strlen(payload), qos, false);
	if (rc != BW_OK) {
		metrics_counter_add("bw_jobs_publish_failures_total", NULL, 1);
		log_warn("jobs", "jobs_reply_publish_failed", LOG_I("rc", rc), LOG_END);
	}
out:
	free(topic);
	free(payload);
}

/* Run up to MQTT_JOBS_BATCH_MAX messages as one batch, then publish every reply. */
static void handle_chunk(const struct mqtt_message *const *msgs, size_t count)
{
	struct mqtt_jobs_request reqs[MQTT_JOBS_BATCH_MAX];
	const struct mqtt_message *src[MQTT_JOBS_BATCH_MAX];
	double start = mono_s();
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		struct mqtt_jobs_request *r = &reqs[n];

		mqtt_jobs_request_init(r);
		jobs_topics_parse(msgs[i]->topic, msgs[i]->topic_len, &r->topic);
		if (!jobs_topics_is_jobs_request(r->topic.kind))
			continue; /* our own replies and events, or not a Jobs topic */
		r->plane = JOBS_PLANE_MQTT;
		r->payload = msgs[i]->payload;
		r->payload_len = msgs[i]->payload_len;
		src[n++] = msgs[i];
	}
	if (n == 0)
		return;
	mqtt_jobs_run(reqs, n);
	for (size_t k = 0; k < n; k++) {
		enum jobs_topics_kind kind = reqs[k].topic.kind;

		publish_reply(src[k]->topic, src[k]->topic_len,
			      src[k]->client_id[0] ? src[k]->client_id : reqs[k].topic.thing,
			      &reqs[k], src[k]->qos ? 1 : 0);
		if (kind == JOBS_TOPICS_UPDATE || kind == JOBS_TOPICS_START_NEXT)
			metrics_histogram_observe(
				"bw_jobs_update_duration_seconds",
				kind == JOBS_TOPICS_UPDATE ? "op=\"update\"" : "op=\"start_next\"",
				mono_s() - (src[k]->received_s > 0 && src[k]->received_s <= start
						    ? src[k]->received_s
						    : start));
		mqtt_jobs_request_cleanup(&reqs[k]);
	}
}

static void handle_batch(const struct mqtt_message *const *msgs, size_t count, void *arg)
{
	(void)arg;
	pthread_once(&metrics_once, describe_metrics);
	for (size_t off = 0; off < count; off += MQTT_JOBS_BATCH_MAX)
		handle_chunk(msgs + off,
			     count - off < MQTT_JOBS_BATCH_MAX ? count - off : MQTT_JOBS_BATCH_MAX);
}

bool mqtt_jobs_run_published(const char *topic, const void *payload, size_t len, int qos)
{
	struct mqtt_jobs_request r;
	size_t topic_len = strlen(topic);

	pthread_once(&metrics_once, describe_metrics);
	mqtt_jobs_request_init(&r);
	jobs_topics_parse(topic, topic_len, &r.topic);
	if (!jobs_topics_is_jobs_request(r.topic.kind))
		return false;
	r.plane = JOBS_PLANE_MQTT;
	r.payload = payload ? payload : "";
	r.payload_len = payload ? len : 0;
	mqtt_jobs_run(&r, 1);
	publish_reply(topic, topic_len, NULL, &r, qos > 0 ? 1 : 0);
	mqtt_jobs_request_cleanup(&r);
	return true;
}

enum bw_err mqtt_jobs_register(struct mqtt_router *router)
{
	return mqtt_router_add_batch(router, JOBS_TOPICS_JOBS_FILTER, 1, handle_batch, NULL);
}
