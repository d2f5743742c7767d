/* Simulated MQTT device for black-box tests; see mqtt_device.h. */
#include "mqtt_device.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#define MAX_QUEUED 1024

struct queued {
	char *topic;
	char *payload;
	size_t len;
};

struct mqtt_device {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int connack;	 /* -1 until CONNACK */
	int suback_mid;	 /* mid of the last SUBACK */
	int suback_code; /* its first granted QoS / reason code */
	int puback_mid;	 /* mid of the last PUBACK */
	int puback_code;
	struct queued q[MAX_QUEUED];
	size_t nq;
};

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void on_connect(struct mosquitto *m, void *arg, int rc, int flags,
		       const mosquitto_property *props)
{
	struct mqtt_device *d = arg;
	(void)m;
	(void)flags;
	(void)props;
	pthread_mutex_lock(&d->lock);
	d->connack = rc;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *granted,
			 const mosquitto_property *props)
{
	struct mqtt_device *d = arg;
	(void)m;
	(void)props;
	pthread_mutex_lock(&d->lock);
	d->suback_mid = mid;
	d->suback_code = n > 0 ? granted[0] : -1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void on_publish(struct mosquitto *m, void *arg, int mid, int reason,
		       const mosquitto_property *props)
{
	struct mqtt_device *d = arg;
	(void)m;
	(void)props;
	pthread_mutex_lock(&d->lock);
	d->puback_mid = mid;
	d->puback_code = reason;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct mqtt_device *d = arg;
	struct queued e;
	(void)m;
	(void)props;
	e.topic = strdup(msg->topic);
	e.payload = malloc((size_t)msg->payloadlen + 1);
	e.len = (size_t)msg->payloadlen;
	if (!e.topic || !e.payload) {
		free(e.topic);
		free(e.payload);
		return;
	}
	if (msg->payloadlen)
		memcpy(e.payload, msg->payload, (size_t)msg->payloadlen);
	e.payload[e.len] = '\0';
	pthread_mutex_lock(&d->lock);
	if (d->nq < MAX_QUEUED) {
		d->q[d->nq++] = e;
	} else {
		free(e.topic);
		free(e.payload);
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

struct mqtt_device *mqtt_device_new(const char *host, int port, const char *thing)
{
	struct mqtt_device *d = calloc(1, sizeof(*d));
	struct timespec until;
	int rc;

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->connack = -1;
	d->mosq = mosquitto_new(thing, true, d);
	if (!d->mosq)
		goto fail;
	mosquitto_int_option(d->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(d->mosq, on_connect);
	mosquitto_subscribe_v5_callback_set(d->mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(d->mosq, on_publish);
	mosquitto_message_v5_callback_set(d->mosq, on_message);
	rc = mosquitto_connect_bind_v5(d->mosq, host, port, 30, NULL, NULL);
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_loop_start(d->mosq) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt_device: connect %s:%d: %s\n", host, port,
			mosquitto_strerror(rc));
		goto fail;
	}
	deadline_in(&until, MQTT_DEVICE_WAIT_MS);
	pthread_mutex_lock(&d->lock);
	while (d->connack < 0)
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) != 0)
			break;
	rc = d->connack;
	pthread_mutex_unlock(&d->lock);
	if (rc != 0) {
		fprintf(stderr, "mqtt_device: CONNACK %d for %s\n", rc, thing);
		goto fail;
	}
	return d;
fail:
	mqtt_device_free(d);
	return NULL;
}

void mqtt_device_free(struct mqtt_device *d)
{
	if (!d)
		return;
	if (d->mosq) {
		mosquitto_disconnect(d->mosq);
		mosquitto_loop_stop(d->mosq, false);
		mosquitto_destroy(d->mosq);
	}
	mqtt_device_clear(d);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

int mqtt_device_subscribe(struct mqtt_device *d, const char *filter)
{
	struct timespec until;
	int mid = 0, code = -1;

	pthread_mutex_lock(&d->lock);
	d->suback_mid = 0;
	pthread_mutex_unlock(&d->lock);
	if (mosquitto_subscribe_v5(d->mosq, &mid, filter, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
		return -1;
	deadline_in(&until, MQTT_DEVICE_WAIT_MS);
	pthread_mutex_lock(&d->lock);
	while (d->suback_mid != mid)
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) != 0)
			break;
	if (d->suback_mid == mid)
		code = d->suback_code;
	pthread_mutex_unlock(&d->lock);
	return code;
}

int mqtt_device_publish(struct mqtt_device *d, const char *topic, const void *payload, size_t len)
{
	struct timespec until;
	int mid = 0, code = -1;

	pthread_mutex_lock(&d->lock);
	d->puback_mid = 0;
	pthread_mutex_unlock(&d->lock);
	if (mosquitto_publish_v5(d->mosq, &mid, topic, (int)len, payload, 1, false, NULL) !=
	    MOSQ_ERR_SUCCESS)
		return -1;
	deadline_in(&until, MQTT_DEVICE_WAIT_MS);
	pthread_mutex_lock(&d->lock);
	while (d->puback_mid != mid)
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) != 0)
			break;
	if (d->puback_mid == mid)
		code = d->puback_code;
	pthread_mutex_unlock(&d->lock);
	return code;
}

int mqtt_device_publish_nowait(struct mqtt_device *d, const char *topic, const char *payload)
{
	return mosquitto_publish_v5(d->mosq, NULL, topic, (int)strlen(payload), payload, 1, false,
				    NULL) == MOSQ_ERR_SUCCESS
		       ? 0
		       : -1;
}

/* Index of the first queued message on topic, or -1. Caller holds the lock. */
static long find(struct mqtt_device *d, const char *topic)
{
	for (size_t i = 0; i < d->nq; i++)
		if (strcmp(d->q[i].topic, topic) == 0)
			return (long)i;
	return -1;
}

json_t *mqtt_device_take(struct mqtt_device *d, const char *topic, int timeout_ms)
{
	struct timespec until;
	struct queued e = { NULL, NULL, 0 };
	json_t *j = NULL;
	long i;

	deadline_in(&until, timeout_ms);
	pthread_mutex_lock(&d->lock);
	while ((i = find(d, topic)) < 0)
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) != 0)
			break;
	if (i >= 0) {
		e = d->q[i];
		memmove(&d->q[i], &d->q[i + 1], (d->nq - (size_t)i - 1) * sizeof(d->q[0]));
		d->nq--;
	}
	pthread_mutex_unlock(&d->lock);
	if (e.payload)
		j = json_loadb(e.payload, e.len, 0, NULL);
	free(e.topic);
	free(e.payload);
	return j;
}

size_t mqtt_device_count(struct mqtt_device *d, const char *topic)
{
	size_t n = 0;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nq; i++)
		if (strcmp(d->q[i].topic, topic) == 0)
			n++;
	pthread_mutex_unlock(&d->lock);
	return n;
}

void mqtt_device_clear(struct mqtt_device *d)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nq; i++) {
		free(d->q[i].topic);
		free(d->q[i].payload);
	}
	d->nq = 0;
	pthread_mutex_unlock(&d->lock);
}
