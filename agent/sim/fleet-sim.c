/*
 * bellwether-sim: N simulated devices in one process and ONE epoll loop. Each device is an
 * agent_fsm (the same state machine as bellwether-agent) with an in-memory A/B boot state, a
 * non-blocking libmosquitto client driven by the loop (mosquitto_socket + loop_read/write/misc)
 * and, while updating, a libcurl easy handle in a shared multi handle driven by the same loop
 * (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION). Failures are drawn per device and update from a
 * seeded generator, so a scenario replays identically. Usage: bellwether-sim --help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <mosquitto.h>

#include "agent_config.h"
#include "agent_fsm.h"
#include "agent_proto.h"
#include "agent_slot.h"
#include "agent_verify.h"
#include "fdsave.h"
#include "retry.h"
#include "scenario.h"

enum watch_kind { WATCH_MQTT, WATCH_CURL };

struct watch {
	enum watch_kind kind;
	int fd;
	uint32_t events; /* currently registered */
	struct dev *dev;
};

struct outcome {
	char job_id[AGENT_JOB_ID_MAX + 1];
	char status[16];
	char reason[AGENT_REASON_MAX + 1];
	const char *injected;
};

#define OUTCOMES_MAX 8

struct dev {
	size_t idx;
	char thing[AGENT_THING_MAX + 1];
	struct sim_cohort *cohort;
	uint64_t rng;
	struct mosquitto *mosq;
	struct watch w;
	bool is_connected;
	bool is_started; /* connect attempted once */
	int64_t reconnect_at_ms;
	int backoff_ms;
	struct agent_fsm fsm;
	struct agent_persist persist;
	struct agent_boot_state boot;
	int64_t boot_at_ms; /* rebooting: power on at (0 = running) */
	int64_t boot_started_ms;
	int64_t self_test_at_ms;
	bool is_self_test_ok;
	int64_t health_at_ms;
	int64_t flap_at_ms;
	int64_t fallback_at_ms; /* silent fallback due */
	uint32_t crash_count;
	bool is_crash_loop;
	/* failures drawn for the current job */
	char drawn_job[AGENT_JOB_ID_MAX + 1];
	struct sim_profile prof;
	bool is_hang, is_corrupt, is_boot_fail, is_self_test_fail, is_silent, is_crashy;
	const char *injected;
	/* download */
	CURL *easy;
	struct agent_hash hash;
	uint64_t got;
	bool is_first_write; /* of the current transfer: a 200 to a Range request restarts */
	/* link_bytes_per_s pacing of the current transfer (like bellwether-agent --download-rate):
	 * curl's own limit lets a small image through at once, so the link would never be slow */
	int64_t rate_start_ms;
	uint64_t rate_bytes;
	int64_t resume_at_ms; /* paused until then (0 = not paused) */
	uint64_t corrupt_at;
	/* config store (lazily created) */
	json_t *config;
	struct outcome outcomes[OUTCOMES_MAX];
	size_t outcome_count;
	bool is_hung_recorded;
	/* requests the server may answer as throttled, for retry with backoff */
	struct sim_retry retry;
	uint32_t token_seq;
	unsigned hb_streak;	/* heartbeats throttled in a row */
	int64_t quiet_until_ms; /* after a throttled answer: hold new requests back until then */
	bool is_hb_throttled;	/* the last heartbeat was answered 429 */
};

static struct sim {
	struct sim_scenario sc;
	struct dev *devs;
	size_t n;
	size_t lo, hi; /* the devices this process runs (all, or a worker's slice) */
	int ep;
	CURLM *multi;
	int64_t curl_timeout_at_ms; /* 0 = none */
	struct watch **graveyard;   /* curl watches removed during an epoll batch */
	size_t graveyard_count;
	struct agent_trust trust;
	struct agent_options opt;
	char host[256];
	int port;
	size_t connected;
	uint64_t published, received, heartbeats;
	uint64_t heartbeats_at_connect; /* heartbeats sent before the whole fleet was up */
	/* throttled answers (Shadow 429, Jobs RequestThrottled) and the requests sent again */
	uint64_t throttled_shadow, throttled_jobs, throttled_heartbeats, throttled_unmatched;
	uint64_t retries;
	/* network flaps, those that cut a download, downloads resumed with Range */
	uint64_t flaps, flaps_downloading, resumes;
	int fds_per_client; /* 1 when sim_fdsave works, else 3 */
	volatile sig_atomic_t is_stopping;
} S;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Device time -> real time. */
static int64_t scaled(int64_t device_ms)
{
	double v = (double)device_ms / S.sc.time_scale;

	return v < 1 ? 1 : (int64_t)v;
}

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: tiny, good enough for draws, reproducible */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static bool draw(struct dev *d, double p)
{
	return p > 0 && rng_unit(&d->rng) < p;
}

static void on_stop(int sig)
{
	(void)sig;
	S.is_stopping = 1;
}

static void watch_set(struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->fd < 0 || w->events == events)
		return;
	if (events == 0) {
		epoll_ctl(S.ep, EPOLL_CTL_DEL, w->fd, NULL);
	} else if (epoll_ctl(S.ep, w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, w->fd, &ev) !=
		   0) {
		/* a reused fd number whose old registration vanished with close(): add anew */
		if (errno == ENOENT)
			epoll_ctl(S.ep, EPOLL_CTL_ADD, w->fd, &ev);
		else if (errno == EEXIST)
			epoll_ctl(S.ep, EPOLL_CTL_MOD, w->fd, &ev);
	}
	w->events = events;
}

static void record(struct dev *d, const char *job, const char *status, const char *reason,
		   const char *injected)
{
	struct outcome *o;

	if (d->outcome_count >= OUTCOMES_MAX)
		memmove(&d->outcomes[0], &d->outcomes[1],
			sizeof(d->outcomes[0]) * (OUTCOMES_MAX - 1));
	else
		d->outcome_count++;
	o = &d->outcomes[d->outcome_count - 1];
	snprintf(o->job_id, sizeof(o->job_id), "%s", job);
	snprintf(o->status, sizeof(o->status), "%s", status);
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
	o->injected = injected;
}

static void dev_feed(struct dev *d, struct agent_event *ev);

static void mqtt_flush(struct dev *d)
{
	if (d->mosq == NULL || d->w.fd < 0)
		return;
	if (mosquitto_want_write(d->mosq))
		mosquitto_loop_write(d->mosq, 1);
	watch_set(&d->w, EPOLLIN | (mosquitto_want_write(d->mosq) ? EPOLLOUT : 0));
}

static void publish_raw(struct dev *d, const char *topic, const char *payload, int qos)
{
	if (!d->is_connected)
		return;
	if (mosquitto_publish(d->mosq, NULL, topic, (int)strlen(payload), payload, qos, false) ==
	    MOSQ_ERR_SUCCESS)
		S.published++;
}

/* A fresh clientToken of this device: "<kind>-<device>-<seq>". */
static void next_token(struct dev *d, const char *kind, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s-%zx-%" PRIx32, kind, d->idx, ++d->token_seq);
}

/* Publish a request (every device publish is one): it gets a clientToken if it has none and is
 * remembered, so that a throttled answer can be retried (retry.h). */
static void publish(struct dev *d, const char *topic, const char *payload, int qos)
{
	char fresh[40], token[SIM_RETRY_TOKEN_MAX + 1];
	char *with;
	int64_t now;

	if (!d->is_connected)
		return;
	next_token(d, "r", fresh, sizeof(fresh));
	with = sim_retry_with_token(payload, fresh, token, sizeof(token));
	if (with == NULL) {
		publish_raw(d, topic, payload, qos);
		return;
	}
	now = now_ms();
	if (sim_retry_add(&d->retry, token, topic, with, qos, now) && now < d->quiet_until_ms)
		sim_retry_defer(&d->retry, token, d->quiet_until_ms); /* backing off: later */
	else
		publish_raw(d, topic, with, qos);
	free(with);
}

/* Publish a request whose backoff after a throttled answer has passed. */
static void retry_due(struct dev *d, int64_t now)
{
	const struct sim_request *q;

	/* one at a time: the others wait for the next scan (50 ms), so a device that backed off
	 * does not come back with a burst */
	if (d->is_connected && (q = sim_retry_due(&d->retry, now)) != NULL) {
		publish_raw(d, q->topic, q->payload, q->qos);
		S.retries++;
	}
}

static void download_stop(struct dev *d)
{
	if (d->easy == NULL)
		return;
	curl_multi_remove_handle(S.multi, d->easy);
	curl_easy_cleanup(d->easy);
	d->easy = NULL;
}

/* The network went away (flap, reboot, broker gone): drop MQTT and any download. */
static void link_down(struct dev *d, bool is_download_too, int64_t now)
{
	struct agent_event ev = { .type = AGENT_EV_DISCONNECTED, .now_ms = now };

	if (d->w.fd >= 0) {
		watch_set(&d->w, 0);
		d->w.fd = -1;
	}
	if (d->is_connected) {
		d->is_connected = false;
		S.connected--;
		dev_feed(d, &ev);
	}
	sim_retry_clear(&d->retry); /* the agent sends what it still needs after the reconnect */
	if (is_download_too && d->easy != NULL) {
		struct agent_event de = { .type = AGENT_EV_DOWNLOAD_DONE,
					  .now_ms = now,
					  .is_retryable = true };

		download_stop(d);
		snprintf(de.reason, sizeof(de.reason), "connection lost");
		dev_feed(d, &de);
	}
}

static void schedule_reconnect(struct dev *d, int64_t now)
{
	/* like the daemon: 1 s doubling to 60 s of device time (so a scaled run does not sit out
	 * minutes of device time offline after a flap), never below 50 ms of real time */
	int first = (int)scaled(1000), cap = (int)scaled(60000), jitter;

	if (first < 50)
		first = 50;
	if (cap < first)
		cap = first;
	d->backoff_ms =
		d->backoff_ms == 0 ? first : (d->backoff_ms * 2 > cap ? cap : d->backoff_ms * 2);
	jitter = (int)(rng_next(&d->rng) % (uint64_t)(d->backoff_ms / 2 + 1));
	d->reconnect_at_ms = now + d->backoff_ms / 2 + jitter;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct dev *d = userdata;
	size_t len = size * nmemb;
	long code = 0;
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_PROGRESS };

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 && code != 206)
		return len; /* error body: ignored, judged when done */
	if (d->prof.link_bytes_per_s > 0) {
		int64_t due = d->rate_start_ms +
			      (int64_t)(d->rate_bytes * 1000 / (uint64_t)d->prof.link_bytes_per_s);

		if (due > now_ms()) {
			d->resume_at_ms = due;
			return CURL_WRITEFUNC_PAUSE; /* curl delivers the same bytes again later */
		}
		d->rate_bytes += len;
	}
	if (d->is_first_write && code == 200 && d->got > 0) {
		/* the server ignored our Range: start over */
		d->got = 0;
		agent_hash_reset(&d->hash);
	}
	d->is_first_write = false;
	if (d->corrupt_at >= d->got && d->corrupt_at < d->got + len) {
		size_t k = (size_t)(d->corrupt_at - d->got);
		unsigned char flipped = (unsigned char)ptr[k] ^ 0x5a;

		agent_hash_update(&d->hash, ptr, k);
		agent_hash_update(&d->hash, &flipped, 1);
		agent_hash_update(&d->hash, ptr + k + 1, len - k - 1);
	} else {
		agent_hash_update(&d->hash, ptr, len);
	}
	d->got += len;
	ev.now_ms = now_ms();
	ev.bytes = d->got;
	dev_feed(d, &ev);
	return len;
}

static void download_start(struct dev *d, uint64_t offset)
{
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE, .now_ms = now_ms() };

	download_stop(d);
	if (offset == 0 || offset != d->got) {
		d->got = 0;
		if (!agent_hash_reset(&d->hash))
			goto fail;
	}
	d->easy = curl_easy_init();
	if (d->easy == NULL)
		goto fail;
	d->is_first_write = true;
	curl_easy_setopt(d->easy, CURLOPT_URL, d->fsm.doc.url);
	curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
	curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(d->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(d->easy, CURLOPT_LOW_SPEED_TIME, 60L);
	if (d->got > 0) {
		curl_easy_setopt(d->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)d->got);
		S.resumes++;
	}
	d->rate_start_ms = now_ms();
	d->rate_bytes = 0;
	d->resume_at_ms = 0;
	if (d->prof.link_bytes_per_s > 0) {
		/* small reads, so that progress (and a flap) can fall between them: about 1/8 s
		 * of the link's rate, 1 KiB .. 16 KiB */
		long chunk = (long)(d->prof.link_bytes_per_s / 8);

		curl_easy_setopt(d->easy, CURLOPT_BUFFERSIZE,
				 chunk < 1024 ? 1024L : (chunk > 16384 ? 16384L : chunk));
	}
	if (curl_multi_add_handle(S.multi, d->easy) != CURLM_OK) {
		curl_easy_cleanup(d->easy);
		d->easy = NULL;
		goto fail;
	}
	return;
fail:
	ev.is_retryable = true;
	snprintf(ev.reason, sizeof(ev.reason), "cannot start download");
	dev_feed(d, &ev);
}

static void download_finished(CURL *easy, CURLcode res)
{
	struct dev *d = NULL;
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE, .now_ms = now_ms() };
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&d);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (d == NULL)
		return;
	download_stop(d);
	if (res == CURLE_OK && (code == 200 || code == 206) && d->got == d->fsm.doc.size_bytes) {
		ev.is_ok = true;
	} else if (res != CURLE_OK) {
		ev.is_retryable = true;
		snprintf(ev.reason, sizeof(ev.reason), "%s", curl_easy_strerror(res));
	} else if (code == 200 || code == 206) {
		ev.is_retryable = d->got < d->fsm.doc.size_bytes;
		snprintf(ev.reason, sizeof(ev.reason), "got %" PRIu64 " of %" PRIu64 " bytes",
			 d->got, d->fsm.doc.size_bytes);
	} else {
		ev.is_retryable = code >= 500 || code == 408 || code == 429;
		snprintf(ev.reason, sizeof(ev.reason), "HTTP %ld", code);
	}
	dev_feed(d, &ev);
}

static void check_multi(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(S.multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			download_finished(m->easy_handle, m->data.result);
}

static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct watch *w = socketp;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			struct watch **g;

			watch_set(w, 0);
			w->fd = -1; /* events of this batch may still point here: freed after it */
			g = realloc(S.graveyard, (S.graveyard_count + 1) * sizeof(*g));
			if (g == NULL)
				return -1;
			S.graveyard = g;
			S.graveyard[S.graveyard_count++] = w;
		}
		curl_multi_assign(S.multi, s, NULL);
		return 0;
	}
	if (w == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return -1;
		w->kind = WATCH_CURL;
		w->fd = s;
		curl_multi_assign(S.multi, s, w);
	}
	watch_set(w, (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0));
	return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	(void)userp;
	S.curl_timeout_at_ms = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	return 0;
}

static void draw_failures(struct dev *d, const struct agent_execution *ex)
{
	snprintf(d->drawn_job, sizeof(d->drawn_job), "%s", ex->job_id);
	sim_scenario_profile(&S.sc, d->cohort, ex->is_doc_valid ? ex->doc.version : "", &d->prof);
	d->injected = NULL;
	d->is_hang = draw(d, d->prof.hang);
	d->is_corrupt = draw(d, d->prof.corrupt);
	d->is_boot_fail = draw(d, d->prof.boot_failure);
	d->is_self_test_fail = draw(d, d->prof.self_test_failure);
	d->is_silent = draw(d, d->prof.silent_fallback);
	d->is_crashy = draw(d, d->prof.crash_loop);
	d->corrupt_at = UINT64_MAX;
	if (d->is_corrupt && ex->is_doc_valid)
		d->corrupt_at = rng_next(&d->rng) % ex->doc.size_bytes;
	if (d->is_hang)
		d->injected = "hang";
	else if (d->is_corrupt)
		d->injected = "corrupt";
	else if (d->is_boot_fail)
		d->injected = "boot_failure";
	else if (d->is_self_test_fail)
		d->injected = "self_test_failure";
	else if (d->is_silent)
		d->injected = "silent_fallback";
	else if (d->is_crashy)
		d->injected = "crash_loop";
}

/* Intercepts executions for injected rejects; true when the FSM must not see it. */
static bool intercept_execution(struct dev *d, const struct agent_execution *ex)
{
	char topic[AGENT_TOPIC_MAX];
	const char *payload = "{\"status\":\"REJECTED\",\"statusDetails\":{\"reason\":"
			      "\"simulated: device policy refuses this update\"}}";

	if (!ex->is_present || strcmp(ex->job_id, d->drawn_job) == 0 ||
	    d->persist.stage != AGENT_PENDING_NONE || d->fsm.state != AGENT_IDLE)
		return false;
	draw_failures(d, ex);
	if (strcmp(ex->status, "QUEUED") == 0 && draw(d, d->prof.reject)) {
		snprintf(topic, sizeof(topic), "$aws/things/%s/jobs/%s/update", d->thing,
			 ex->job_id);
		publish(d, topic, payload, 1);
		record(d, ex->job_id, "REJECTED", "simulated reject", "reject");
		return true;
	}
	if (d->is_hang)
		record(d, ex->job_id, "HUNG", "simulated hang", "hang");
	return false;
}

static void do_boot(struct dev *d, int64_t now);

static void run_actions(struct dev *d, struct agent_actions *acts)
{
	struct agent_event ev;
	unsigned char digest[32];
	size_t i;
	int64_t now = now_ms();

	for (i = 0; i < acts->count; i++) {
		struct agent_action *a = &acts->items[i];

		memset(&ev, 0, sizeof(ev));
		ev.now_ms = now;
		switch (a->type) {
		case AGENT_ACT_PUBLISH:
			publish(d, a->topic, a->payload, a->qos);
			break;
		case AGENT_ACT_DOWNLOAD:
			if (!d->is_hang) /* a hung device never fetches: the server times it out */
				download_start(d, a->offset);
			break;
		case AGENT_ACT_CANCEL_DOWNLOAD:
			download_stop(d);
			break;
		case AGENT_ACT_VERIFY:
			ev.type = AGENT_EV_VERIFIED;
			ev.is_ok = agent_hash_final(&d->hash, digest) &&
				   agent_verify_image(&S.trust, &d->fsm.doc, &d->fsm.dev, digest,
						      ev.reason, sizeof(ev.reason));
			dev_feed(d, &ev);
			break;
		case AGENT_ACT_INSTALL:
			agent_boot_state_mark_pending(
				&d->boot,
				d->fsm.doc.version[0] ? d->fsm.doc.version : d->fsm.dev.version,
				d->fsm.doc.has_security_version ? d->fsm.doc.security_version
								: d->fsm.dev.security_version);
			d->boot.is_bad[d->boot.pending] = d->is_boot_fail;
			ev.type = AGENT_EV_INSTALLED;
			ev.is_ok = true;
			dev_feed(d, &ev);
			break;
		case AGENT_ACT_PERSIST:
			d->persist = d->fsm.persist;
			break;
		case AGENT_ACT_ROLLBACK:
			agent_boot_state_rollback(&d->boot);
			__attribute__((fallthrough)); /* a rollback reboots */
		case AGENT_ACT_REBOOT:
			mqtt_flush(d);
			if (d->mosq != NULL && d->is_connected)
				mosquitto_disconnect(d->mosq);
			mqtt_flush(d);
			link_down(d, true, now);
			d->boot_at_ms = now + scaled(S.sc.reboot_ms);
			break;
		case AGENT_ACT_SELF_TEST:
			d->self_test_at_ms = now + scaled(S.sc.self_test_ms);
			d->is_self_test_ok = !d->is_self_test_fail;
			break;
		case AGENT_ACT_CONFIRM:
			agent_boot_state_confirm(&d->boot);
			if (d->is_silent)
				d->fallback_at_ms = now + scaled(S.sc.confirm_delay_ms) + 1;
			if (d->is_crashy)
				d->is_crash_loop = true;
			break;
		case AGENT_ACT_JOB_DONE:
			record(d, a->topic, a->status, a->reason, d->injected);
			break;
		}
	}
}

static void dev_feed(struct dev *d, struct agent_event *ev)
{
	struct agent_actions acts = { 0 };

	agent_fsm_handle(&d->fsm, ev, &acts);
	run_actions(d, &acts);
	agent_actions_clear(&acts);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct dev *d = obj;
	char topics[AGENT_PROTO_SUBSCRIPTIONS][AGENT_TOPIC_MAX];
	char *subs[AGENT_PROTO_SUBSCRIPTIONS];
	size_t n, i;
	struct agent_event ev = { .type = AGENT_EV_CONNECTED };

	if (rc != 0)
		return;
	/* includes the rejected topics: throttled answers (Shadow 429, RequestThrottled) */
	n = agent_proto_subscriptions(d->thing, topics, AGENT_PROTO_SUBSCRIPTIONS);
	for (i = 0; i < n; i++)
		subs[i] = topics[i];
	mosquitto_subscribe_multiple(m, NULL, (int)n, subs, 1, 0, NULL);
	d->is_connected = true;
	d->backoff_ms = 0;
	S.connected++;
	ev.now_ms = now_ms();
	dev_feed(d, &ev); /* the agent asks for the shadow (get) too */
}

static void apply_delta(struct dev *d, json_t *delta)
{
	struct agent_actions acts = { 0 };
	char *report;
	int is_oom;

	if (d->config == NULL && (d->config = json_object()) == NULL)
		return;
	report = agent_config_apply(d->config, delta, &is_oom);
	if (report == NULL)
		return;
	agent_fsm_config_report(&d->fsm, report, now_ms(), &acts); /* with a clientToken */
	run_actions(d, &acts);
	agent_actions_clear(&acts);
	free(report);
}

/* The server refused a request for now (Shadow 429, Jobs RequestThrottled): schedule it again
 * after a backoff. A throttled heartbeat is not repeated; the next one is pushed back by a
 * backoff that grows while heartbeats keep being throttled. True if msg was such an answer. */
static bool on_throttled(struct dev *d, const struct mosquitto_message *msg)
{
	char token[SIM_RETRY_TOKEN_MAX + 1];
	int64_t now;

	if (!sim_retry_is_throttled(msg->topic, msg->payload, (size_t)msg->payloadlen, token,
				    sizeof(token)))
		return false;
	now = now_ms();
	/* the whole device backs off, not only the throttled request: what it publishes next
	 * waits too (publish), and heartbeats due meanwhile are skipped (publish_health) */
	if (d->quiet_until_ms < now + SIM_RETRY_BASE_MS / 2)
		d->quiet_until_ms = now + sim_retry_backoff_ms(1, rng_next(&d->rng));
	if (strstr(msg->topic, "/jobs/") != NULL)
		S.throttled_jobs++;
	else
		S.throttled_shadow++;
	if (strncmp(token, "hb-", 3) == 0) {
		/* not repeated: the next heartbeat comes a period plus a growing backoff later */
		int64_t next = now + scaled(S.sc.health_interval_ms) +
			       sim_retry_backoff_ms(++d->hb_streak, rng_next(&d->rng));

		S.throttled_heartbeats++;
		d->is_hb_throttled = true;
		if (next > d->health_at_ms)
			d->health_at_ms = next;
	} else if (!sim_retry_throttled(&d->retry, token, rng_next(&d->rng), now)) {
		S.throttled_unmatched++; /* forgotten already: the agent's own timers repeat it */
	}
	return true;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct dev *d = obj;
	struct agent_event ev = { 0 };
	struct agent_execution ex;
	json_t *delta = NULL;
	enum agent_msg_kind kind;

	(void)m;
	S.received++;
	if (on_throttled(d, msg))
		return; /* retried by the simulator; the agent never sees it */
	kind = agent_proto_parse(d->thing, msg->topic, msg->payload, (size_t)msg->payloadlen, &ev,
				 &ex, &delta);
	ev.now_ms = now_ms();
	if (kind == AGENT_MSG_EVENT &&
	    !(ev.type == AGENT_EV_EXECUTION && intercept_execution(d, &ex)))
		dev_feed(d, &ev);
	else if (kind == AGENT_MSG_SHADOW_DELTA)
		apply_delta(d, delta);
	json_decref(delta);
	agent_doc_cleanup(&ex.doc);
}

static void mqtt_start(struct dev *d, int64_t now)
{
	int rc;

	if (d->mosq == NULL) {
		sim_fdsave_begin();
		d->mosq = mosquitto_new(d->thing, true, d);
		sim_fdsave_end();
		if (d->mosq == NULL) {
			schedule_reconnect(d, now);
			return;
		}
		mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
		mosquitto_connect_callback_set(d->mosq, on_connect);
		mosquitto_message_callback_set(d->mosq, on_message);
		rc = mosquitto_connect_async(d->mosq, S.host, S.port, S.sc.keepalive_s);
	} else {
		rc = mosquitto_reconnect_async(d->mosq);
	}
	d->is_started = true;
	d->reconnect_at_ms = 0;
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(d->mosq) < 0) {
		schedule_reconnect(d, now);
		return;
	}
	d->w.fd = mosquitto_socket(d->mosq);
	d->w.events = 0;
	watch_set(&d->w, EPOLLIN | EPOLLOUT);
}

static void mqtt_event(struct dev *d, uint32_t events, int64_t now)
{
	int rc = MOSQ_ERR_SUCCESS;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = mosquitto_loop_read(d->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && (events & EPOLLOUT))
		rc = mosquitto_loop_write(d->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(d->mosq) < 0) {
		link_down(d, false, now);
		if (d->boot_at_ms == 0)
			schedule_reconnect(d, now);
		return;
	}
	mqtt_flush(d);
}

static void do_boot(struct dev *d, int64_t now)
{
	struct agent_slot_info info;
	struct agent_device dev;
	struct agent_actions acts = { 0 };

	agent_boot_state_boot(&d->boot, &info);
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.thing, sizeof(dev.thing), "%s", d->thing);
	snprintf(dev.hardware_type, sizeof(dev.hardware_type), "%s", d->cohort->hardware_type);
	snprintf(dev.version, sizeof(dev.version), "%s", info.version);
	dev.security_version = info.security_version;
	dev.running_slot = info.slot;
	dev.is_trial_boot = info.is_trial;
	dev.boot_count = info.boot_count;
	agent_fsm_cleanup(&d->fsm);
	agent_fsm_boot(&d->fsm, &S.opt, &dev, &d->persist, now, &acts);
	run_actions(d, &acts);
	agent_actions_clear(&acts);
	d->boot_at_ms = 0;
	d->boot_started_ms = now;
	d->health_at_ms =
		now + (int64_t)(rng_next(&d->rng) % (uint64_t)scaled(S.sc.health_interval_ms));
	mqtt_start(d, now);
}

static void publish_health(struct dev *d, int64_t now)
{
	struct agent_health h = { 0 };
	char topic[AGENT_TOPIC_MAX], fresh[40], token[SIM_RETRY_TOKEN_MAX + 1];
	char *s, *with;

	if (d->is_crash_loop)
		d->crash_count++;
	h.boot_count = d->boot.boot_count;
	h.crash_count = d->crash_count;
	h.uptime_s = (uint64_t)((double)(now - d->boot_started_ms) * S.sc.time_scale / 1000);
	h.gauge_count = 1;
	h.gauge_names[0] = "free_heap_kb";
	h.gauge_values[0] = 100 + (double)(rng_next(&d->rng) % 50);
	s = agent_health_report(&h);
	if (s == NULL)
		return;
	agent_proto_shadow_topic(d->thing, "update", topic, sizeof(topic));
	/* a heartbeat is QoS 0 telemetry: never queued for retry, superseded by the next one; its
	 * token only tells a 429 for it apart (on_throttled) */
	next_token(d, "hb", fresh, sizeof(fresh));
	with = sim_retry_with_token(s, fresh, token, sizeof(token));
	if (d->is_connected && now >= d->quiet_until_ms) {
		if (!d->is_hb_throttled)
			d->hb_streak = 0;
		d->is_hb_throttled = false;
		publish_raw(d, topic, with != NULL ? with : s, 0);
		S.heartbeats++;
	}
	free(with);
	free(s);
}

static void schedule_flap(struct dev *d, int64_t now)
{
	double rate = d->cohort->failures.flaps_per_hour, u;

	if (!(rate > 0)) {
		d->flap_at_ms = 0;
		return;
	}
	u = rng_unit(&d->rng);
	/* exponential gap in device time */
	d->flap_at_ms = now + scaled((int64_t)(-log(1 - u) / rate * 3600000.0)) + 1;
}

static void dev_timers(struct dev *d, int64_t now)
{
	struct agent_event ev = { .now_ms = now };

	if (d->boot_at_ms != 0) {
		if (now >= d->boot_at_ms)
			do_boot(d, now);
		return;
	}
	if (d->reconnect_at_ms != 0 && now >= d->reconnect_at_ms)
		mqtt_start(d, now);
	if (d->self_test_at_ms != 0 && now >= d->self_test_at_ms) {
		d->self_test_at_ms = 0;
		ev.type = AGENT_EV_SELF_TEST_DONE;
		ev.is_ok = d->is_self_test_ok;
		snprintf(ev.reason, sizeof(ev.reason), "simulated self-test failure");
		dev_feed(d, &ev);
	}
	if (d->fsm.wake_ms != 0 && now >= d->fsm.wake_ms) {
		ev.type = AGENT_EV_TICK;
		dev_feed(d, &ev);
	}
	if (d->fallback_at_ms != 0 && now >= d->fallback_at_ms && d->fsm.state == AGENT_IDLE) {
		/* silent fallback: a watchdog reverts to the old slot; the agent reports nothing but
		 * its shadow will show the old version after the boot */
		d->fallback_at_ms = 0;
		d->boot.active = 1 - d->boot.active;
		if (d->mosq != NULL && d->is_connected)
			mosquitto_disconnect(d->mosq);
		mqtt_flush(d);
		link_down(d, true, now);
		d->boot_at_ms = now + scaled(S.sc.reboot_ms);
		return;
	}
	if (now >= d->health_at_ms) {
		/* the period from the scenario, jittered by +-10 % so devices never line up */
		int64_t period = scaled(S.sc.health_interval_ms);

		d->health_at_ms = now + period * 9 / 10 +
				  (int64_t)(rng_next(&d->rng) % (uint64_t)(period / 5 + 1));
		publish_health(d, now);
	}
	if (d->retry.next_retry_ms != 0 && now >= d->retry.next_retry_ms)
		retry_due(d, now);
	if (d->easy != NULL && d->resume_at_ms != 0 && now >= d->resume_at_ms) {
		d->resume_at_ms = 0;
		curl_easy_pause(d->easy, CURLPAUSE_CONT); /* may deliver (on_write) at once */
	}
	if (d->flap_at_ms != 0 && now >= d->flap_at_ms) {
		S.flaps++;
		if (d->is_connected && d->w.fd >= 0)
			shutdown(d->w.fd, SHUT_RDWR); /* abrupt: the read side notices */
		if (d->easy != NULL) {
			S.flaps_downloading++;
			link_down(d, true, now);
		}
		schedule_flap(d, now);
	}
	if (d->mosq != NULL && d->w.fd >= 0 && mosquitto_loop_misc(d->mosq) != MOSQ_ERR_SUCCESS) {
		link_down(d, false, now);
		schedule_reconnect(d, now);
	}
	mqtt_flush(d);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

static bool register_things(const char *api, const char *token)
{
	char url[1024], auth[600];
	struct curl_slist *hdr = NULL;
	size_t i = 0, chunk = 5000;
	bool ok = true;

	snprintf(url, sizeof(url), "%s/api/v1/things/bulk", api);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	while (ok && i < S.n) {
		json_t *things = json_array(), *body;
		CURL *c = curl_easy_init();
		char *text = NULL;
		long code = 0;
		size_t j;

		for (j = i; j < S.n && j < i + chunk; j++)
			json_array_append_new(
				things, json_pack("{s:s,s:s,s:s}", "name", S.devs[j].thing,
						  "hardware_type", S.devs[j].cohort->hardware_type,
						  "firmware_version", S.devs[j].cohort->version));
		body = json_pack("{s:o,s:s}", "things", things, "on_conflict", "skip");
		text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (c == NULL || text == NULL) {
			ok = false;
		} else {
			curl_easy_setopt(c, CURLOPT_URL, url);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
			if (curl_easy_perform(c) != CURLE_OK)
				ok = false;
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code != 200) {
				fprintf(stderr, "\nbellwether-sim: bulk registration: HTTP %ld\n",
					code);
				ok = false;
			}
		}
		curl_easy_cleanup(c);
		free(text);
		i = j;
	}
	curl_slist_free_all(hdr);
	return ok;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	char **buf = userdata;
	size_t len = size * nmemb, old = *buf ? strlen(*buf) : 0;
	char *n;

	if (old + len > 4 * 1024 * 1024)
		return 0;
	n = realloc(*buf, old + len + 1);
	if (n == NULL)
		return 0;
	memcpy(n + old, ptr, len);
	n[old + len] = '\0';
	*buf = n;
	return len;
}

static bool fetch_trust_list(const char *api, const char *token)
{
	char url[1024], auth[600], err[256];
	struct curl_slist *hdr = NULL;
	CURL *c = curl_easy_init();
	char *body = NULL;
	json_t *j = NULL;
	bool ok = false;

	if (c == NULL)
		return false;
	snprintf(url, sizeof(url), "%s/api/v1/firmware/trust-list", api);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdr = curl_slist_append(hdr, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	if (curl_easy_perform(c) == CURLE_OK && body != NULL &&
	    (j = json_loads(body, 0, NULL)) != NULL)
		ok = agent_trust_load(&S.trust, j, err, sizeof(err));
	if (!ok)
		fprintf(stderr, "bellwether-sim: cannot load the trust list from %s\n", url);
	json_decref(j);
	free(body);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return ok;
}

static const char *last_status(const struct dev *d)
{
	return d->outcome_count > 0 ? d->outcomes[d->outcome_count - 1].status : NULL;
}

/* A device is done when it finished `jobs` jobs and has nothing left in flight. */
static bool dev_done(const struct dev *d, size_t jobs)
{
	return d->outcome_count >= jobs && d->boot_at_ms == 0 && d->fallback_at_ms == 0 &&
	       (d->fsm.state == AGENT_IDLE || strcmp(last_status(d), "HUNG") == 0) &&
	       !d->fsm.has_report && d->is_connected;
}

static bool write_outcomes(const char *path)
{
	json_t *arr = json_array();
	size_t i, k;
	bool ok;

	if (arr == NULL)
		return false;
	for (i = S.lo; i < S.hi; i++) {
		const struct dev *d = &S.devs[i];
		json_t *jobs = json_array();

		for (k = 0; k < d->outcome_count; k++) {
			const struct outcome *o = &d->outcomes[k];

			json_array_append_new(jobs,
					      json_pack("{s:s,s:s,s:s,s:s?}", "job_id", o->job_id,
							"status", o->status, "reason", o->reason,
							"injected", o->injected));
		}
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:b,s:s,s:o}", "thing",
				       d->thing, "cohort", d->cohort->name, "hardware_type",
				       d->cohort->hardware_type, "version", d->fsm.dev.version,
				       "slot", d->fsm.dev.running_slot ? "B" : "A", "boot_count",
				       (int)d->boot.boot_count, "crash_count", (int)d->crash_count,
				       "security_version", (int)d->fsm.dev.security_version,
				       "connected", d->is_connected, "state",
				       agent_state_name(d->fsm.state), "jobs", jobs));
	}
	ok = json_dump_file(arr, path, JSON_INDENT(1)) == 0;
	json_decref(arr);
	return ok;
}

struct stats {
	size_t devices, connected, succeeded, failed, rejected, hung, unfinished;
	size_t unfinished_report, unfinished_offline; /* unanswered final report, not connected */
	uint64_t published, received, heartbeats, steady_heartbeats;
	uint64_t throttled_shadow, throttled_jobs, throttled_heartbeats, throttled_unmatched;
	uint64_t retries;
	/* network flaps, those that cut a download, downloads resumed with Range */
	uint64_t flaps, flaps_downloading, resumes;
	double elapsed_s, connect_all_s, cpu_s, heartbeat_s; /* connect_all_s < 0: never */
};

static double cpu_seconds(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void collect_stats(struct stats *st, int64_t elapsed_ms, int64_t connect_ms,
			  size_t until_jobs)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = S.lo; i < S.hi; i++) {
		const char *last = last_status(&S.devs[i]);

		if (until_jobs > 0 && !dev_done(&S.devs[i], until_jobs)) {
			st->unfinished++;
			st->unfinished_report += S.devs[i].fsm.has_report;
			st->unfinished_offline += !S.devs[i].is_connected;
		}
		if (last == NULL)
			continue;
		st->succeeded += strcmp(last, "SUCCEEDED") == 0;
		st->failed += strcmp(last, "FAILED") == 0;
		st->rejected += strcmp(last, "REJECTED") == 0;
		st->hung += strcmp(last, "HUNG") == 0;
	}
	st->devices = S.hi - S.lo;
	st->connected = S.connected;
	st->published = S.published;
	st->received = S.received;
	st->heartbeats = S.heartbeats;
	st->steady_heartbeats = S.heartbeats - S.heartbeats_at_connect;
	st->throttled_shadow = S.throttled_shadow;
	st->throttled_jobs = S.throttled_jobs;
	st->throttled_heartbeats = S.throttled_heartbeats;
	st->throttled_unmatched = S.throttled_unmatched;
	st->retries = S.retries;
	st->flaps = S.flaps;
	st->flaps_downloading = S.flaps_downloading;
	st->resumes = S.resumes;
	st->elapsed_s = (double)elapsed_ms / 1000;
	st->connect_all_s = connect_ms >= 0 ? (double)connect_ms / 1000 : -1;
	st->heartbeat_s = connect_ms >= 0 ? st->elapsed_s - st->connect_all_s : st->elapsed_s;
	st->cpu_s = cpu_seconds(RUSAGE_SELF);
}

static void print_stats(const struct stats *st, bool is_bench)
{
	printf("bellwether-sim: %zu devices, %zu connected, %.1f s, cpu %.1f s\n", st->devices,
	       st->connected, st->elapsed_s, st->cpu_s);
	printf("bellwether-sim: last job: %zu succeeded, %zu failed, %zu rejected, %zu hung; %zu "
	       "unfinished (%zu awaiting the answer to their final report, %zu offline)\n",
	       st->succeeded, st->failed, st->rejected, st->hung, st->unfinished,
	       st->unfinished_report, st->unfinished_offline);
	printf("bellwether-sim: mqtt published %" PRIu64 ", received %" PRIu64
	       ", heartbeats %" PRIu64 "\n",
	       st->published, st->received, st->heartbeats);
	printf("bellwether-sim: throttled: shadow %" PRIu64 " (heartbeats %" PRIu64
	       "), jobs %" PRIu64 "; retried %" PRIu64 ", left to the agent %" PRIu64 "\n",
	       st->throttled_shadow, st->throttled_heartbeats, st->throttled_jobs, st->retries,
	       st->throttled_unmatched);
	printf("bellwether-sim: flaps %" PRIu64 " (%" PRIu64 " during a download), downloads "
	       "resumed %" PRIu64 "\n",
	       st->flaps, st->flaps_downloading, st->resumes);
	if (!is_bench)
		return;
	printf("BENCH sim_throttled_shadow=%" PRIu64 "\n", st->throttled_shadow);
	printf("BENCH sim_throttled_jobs=%" PRIu64 "\n", st->throttled_jobs);
	printf("BENCH sim_retries=%" PRIu64 "\n", st->retries);
	printf("BENCH sim_connected_devices=%zu\n", st->connected);
	printf("BENCH sim_connect_all_s=%.2f\n", st->connect_all_s);
	printf("BENCH sim_heartbeats_per_s=%.1f\n",
	       st->heartbeat_s > 0 ? (double)st->steady_heartbeats / st->heartbeat_s : 0);
	printf("BENCH sim_cpu_s=%.2f\n", st->cpu_s);
	printf("BENCH sim_devices_per_cpu_s=%.0f\n",
	       st->cpu_s > 0 ? (double)st->connected * st->elapsed_s / st->cpu_s : 0);
}

/* Worker -> parent: the stats as one binary record in a pipe. */
static void add_stats(struct stats *sum, const struct stats *w)
{
	sum->devices += w->devices;
	sum->connected += w->connected;
	sum->succeeded += w->succeeded;
	sum->failed += w->failed;
	sum->rejected += w->rejected;
	sum->hung += w->hung;
	sum->unfinished += w->unfinished;
	sum->unfinished_report += w->unfinished_report;
	sum->unfinished_offline += w->unfinished_offline;
	sum->published += w->published;
	sum->received += w->received;
	sum->heartbeats += w->heartbeats;
	sum->steady_heartbeats += w->steady_heartbeats;
	sum->throttled_shadow += w->throttled_shadow;
	sum->throttled_jobs += w->throttled_jobs;
	sum->throttled_heartbeats += w->throttled_heartbeats;
	sum->throttled_unmatched += w->throttled_unmatched;
	sum->retries += w->retries;
	sum->flaps += w->flaps;
	sum->flaps_downloading += w->flaps_downloading;
	sum->resumes += w->resumes;
	if (w->elapsed_s > sum->elapsed_s)
		sum->elapsed_s = w->elapsed_s;
	if (w->connect_all_s < 0 || sum->connect_all_s < 0)
		sum->connect_all_s = -1;
	else if (w->connect_all_s > sum->connect_all_s)
		sum->connect_all_s = w->connect_all_s;
	if (sum->heartbeat_s == 0 || w->heartbeat_s < sum->heartbeat_s)
		sum->heartbeat_s = w->heartbeat_s;
}

/* Concatenates the workers' outcome files into path (and removes them). */
static bool merge_outcomes(const char *path, size_t procs)
{
	json_t *all = json_array(), *part;
	char name[1100];
	size_t k;
	bool ok = all != NULL;

	for (k = 0; ok && k < procs; k++) {
		snprintf(name, sizeof(name), "%s.part%zu", path, k);
		part = json_load_file(name, 0, NULL);
		ok = json_is_array(part) && json_array_extend(all, part) == 0;
		json_decref(part);
		unlink(name);
	}
	ok = ok && json_dump_file(all, path, JSON_INDENT(1)) == 0;
	json_decref(all);
	return ok;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bellwether-sim SCENARIO.json [options]\n"
		"  --mqtt HOST:PORT     broker (default $BW_TEST_MQTT_HOST:$BW_TEST_MQTT_PORT or "
		"127.0.0.1:1883)\n"
		"  --api URL            Bellwether base URL (default $BW_TEST_URL)\n"
		"  --token TOKEN        bearer token (default $BW_TEST_ADMIN_TOKEN)\n"
		"  --register           create the things with POST /api/v1/things/bulk first\n"
		"  --trust-list FILE    trust list JSON (default: GET /api/v1/firmware/trust-list)\n"
		"  --devices N          override the scenario's device count\n"
		"  --until-jobs N       exit once every device finished N jobs (and is idle)\n"
		"  --until-connected    exit once every device is connected\n"
		"  --duration S         exit after S seconds (default: run until signalled)\n"
		"  --outcomes FILE      write per-device outcomes as JSON at exit\n"
		"  --bench              print BENCH lines (connected, heartbeats/s per core)\n"
		"  --processes N        split the fleet over N worker processes, each one event loop\n"
		"                       (default: as many as the fd limit needs, at 1 descriptor per\n"
		"                       device: usually one process)\n");
}

/* Descriptors one client costs: 1 when fdsave.h keeps libmosquitto from opening its socketpair. */
static int probe_fds_per_client(void)
{
	struct mosquitto *m;

	sim_fdsave_begin();
	m = mosquitto_new(NULL, true, NULL);
	sim_fdsave_end();
	mosquitto_destroy(m);
	return sim_fdsave_is_effective() ? 1 : 3;
}

static bool init_devices(void)
{
	size_t i, c, k = 0;

	S.devs = calloc(S.n, sizeof(*S.devs));
	if (S.devs == NULL)
		return false;
	for (c = 0; c < S.sc.cohort_count; c++) {
		size_t want = S.sc.cohorts[c].count * S.n / (S.sc.devices ? S.sc.devices : 1);

		if (c + 1 == S.sc.cohort_count)
			want = S.n - k;
		for (i = 0; i < want && k < S.n; i++, k++) {
			struct dev *d = &S.devs[k];

			d->idx = k;
			d->cohort = &S.sc.cohorts[c];
			snprintf(d->thing, sizeof(d->thing), "%s%06zu", S.sc.prefix, k);
			d->rng = S.sc.seed ^ (0x9e3779b97f4a7c15ULL * (k + 1));
			d->w.kind = WATCH_MQTT;
			d->w.fd = -1;
			d->w.dev = d;
			d->corrupt_at = UINT64_MAX;
			agent_boot_state_init(&d->boot, d->cohort->version,
					      d->cohort->security_version);
		}
	}
	return true;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
}

/* Worker processes needed so each stays under the fd limit (1 or 3 per client, fdsave.h, plus
 * up to 2000 downloads and a few for the process itself). */
static size_t auto_processes(void)
{
	struct rlimit rl;
	size_t per;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 1;
	per = rl.rlim_cur > 2300 ? (size_t)((rl.rlim_cur - 2300) / (rlim_t)S.fds_per_client) : 1;
	return (S.n + per - 1) / per;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mqtt", required_argument, NULL, 'm' },
		{ "api", required_argument, NULL, 'a' },
		{ "token", required_argument, NULL, 't' },
		{ "register", no_argument, NULL, 'r' },
		{ "trust-list", required_argument, NULL, 'T' },
		{ "devices", required_argument, NULL, 'n' },
		{ "until-jobs", required_argument, NULL, 'j' },
		{ "until-connected", no_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "outcomes", required_argument, NULL, 'o' },
		{ "bench", no_argument, NULL, 'b' },
		{ "processes", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *api = getenv("BW_TEST_URL"), *token = getenv("BW_TEST_ADMIN_TOKEN");
	const char *trust_path = NULL, *outcomes = NULL, *env;
	bool is_register = false, is_bench = false, is_until_connected = false;
	long devices = 0, until_jobs = 0, procs = 0;
	size_t worker = 0;
	int stats_fd = -1;
	struct stats st;
	double duration_s = 0;
	struct epoll_event evs[512];
	char err[256];
	int64_t start, last_scan = 0, connected_at = 0;
	int opt, rc = 1;
	size_t i;

	snprintf(S.host, sizeof(S.host), "%s",
		 (env = getenv("BW_TEST_MQTT_HOST")) != NULL ? env : "127.0.0.1");
	S.port = (env = getenv("BW_TEST_MQTT_PORT")) != NULL ? atoi(env) : 1883;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm': {
			const char *colon = strrchr(optarg, ':');

			if (colon == NULL || (size_t)(colon - optarg) >= sizeof(S.host)) {
				usage(stderr);
				return 2;
			}
			snprintf(S.host, sizeof(S.host), "%.*s", (int)(colon - optarg), optarg);
			S.port = atoi(colon + 1);
			break;
		}
		case 'a':
			api = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'r':
			is_register = true;
			break;
		case 'T':
			trust_path = optarg;
			break;
		case 'n':
			devices = strtol(optarg, NULL, 10);
			break;
		case 'j':
			until_jobs = strtol(optarg, NULL, 10);
			break;
		case 'c':
			is_until_connected = true;
			break;
		case 'd':
			duration_s = strtod(optarg, NULL);
			break;
		case 'o':
			outcomes = optarg;
			break;
		case 'b':
			is_bench = true;
			break;
		case 'p':
			procs = strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || S.port <= 0 || S.port > 65535 || devices < 0 || procs < 0 ||
	    until_jobs < 0 || until_jobs > OUTCOMES_MAX) {
		usage(stderr);
		return 2;
	}
	if (!sim_scenario_load(&S.sc, argv[optind], err, sizeof(err))) {
		fprintf(stderr, "bellwether-sim: %s\n", err);
		return 2;
	}
	S.n = devices > 0 ? (size_t)devices : S.sc.devices;
	S.lo = 0;
	S.hi = S.n;
	agent_options_default(&S.opt);
	S.opt.confirm_delay_ms = scaled(S.sc.confirm_delay_ms);
	S.opt.progress_every_ms = scaled(S.sc.progress_every_ms);
	S.opt.download_backoff_ms = scaled(1000);
	S.opt.query_retry_ms = 30000;
	S.opt.report_retry_ms = 30000;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	S.fds_per_client = probe_fds_per_client();
	if (!init_devices()) {
		fprintf(stderr, "bellwether-sim: out of memory\n");
		goto out;
	}
	if (trust_path != NULL && !agent_trust_load_file(&S.trust, trust_path, err, sizeof(err))) {
		fprintf(stderr, "bellwether-sim: %s\n", err);
		goto out;
	}
	if (trust_path == NULL && api != NULL && api[0] != '\0' && token != NULL &&
	    !fetch_trust_list(api, token))
		goto out;
	if (is_register) {
		if (api == NULL || token == NULL || api[0] == '\0') {
			fprintf(stderr, "bellwether-sim: --register needs --api and --token\n");
			goto out;
		}
		if (!register_things(api, token))
			goto out;
		printf("bellwether-sim: registered %zu things\n", S.n);
	}
	if (procs == 0)
		procs = (long)auto_processes();
	if (procs > 1) {
		int fds[2];
		pid_t pid;
		long k;
		struct stats sum = { 0 }, w;
		int status;

		if (pipe(fds) != 0)
			goto out;
		fflush(NULL);
		for (k = 0; k < procs; k++) {
			pid = fork();
			if (pid < 0)
				goto out;
			if (pid == 0) {
				close(fds[0]);
				stats_fd = fds[1];
				worker = (size_t)k;
				S.lo = S.n * (size_t)k / (size_t)procs;
				S.hi = S.n * (size_t)(k + 1) / (size_t)procs;
				goto run;
			}
		}
		close(fds[1]);
		printf("bellwether-sim: %ld worker processes\n", procs);
		while (read(fds[0], &w, sizeof(w)) == (ssize_t)sizeof(w))
			add_stats(&sum, &w);
		close(fds[0]);
		rc = 0;
		while (wait(&status) > 0)
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		sum.cpu_s = cpu_seconds(RUSAGE_CHILDREN);
		print_stats(&sum, is_bench);
		if (outcomes != NULL && !merge_outcomes(outcomes, (size_t)procs)) {
			fprintf(stderr, "bellwether-sim: cannot write %s\n", outcomes);
			rc = 1;
		}
		goto out;
	}
run:
	S.ep = epoll_create1(EPOLL_CLOEXEC);
	S.multi = curl_multi_init();
	if (S.ep < 0 || S.multi == NULL)
		goto out;
	curl_multi_setopt(S.multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(S.multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(S.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 2000L);
	start = now_ms();
	/* power on gradually (about 2000 devices/s) so the broker's accept queue keeps up */
	for (i = S.lo; i < S.hi; i++) {
		S.devs[i].boot_at_ms = start + (int64_t)((i - S.lo) / 2);
		schedule_flap(&S.devs[i], start);
	}
	while (!S.is_stopping) {
		int64_t now;
		int n, k, running;

		n = epoll_wait(S.ep, evs, 512, 10);
		now = now_ms();
		for (k = 0; k < n; k++) {
			struct watch *w = evs[k].data.ptr;

			if (w->kind == WATCH_MQTT) {
				if (w->dev->mosq != NULL && w->fd >= 0)
					mqtt_event(w->dev, evs[k].events, now);
			} else if (w->fd >= 0) {
				int flags =
					(evs[k].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
					(evs[k].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
					(evs[k].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR
									       : 0);

				curl_multi_socket_action(S.multi, w->fd, flags, &running);
				check_multi();
			}
		}
		for (k = 0; k < (int)S.graveyard_count; k++)
			free(S.graveyard[k]);
		S.graveyard_count = 0;
		if (S.curl_timeout_at_ms != 0 && now >= S.curl_timeout_at_ms) {
			S.curl_timeout_at_ms = 0;
			curl_multi_socket_action(S.multi, CURL_SOCKET_TIMEOUT, 0, &running);
			check_multi();
		}
		if (now - last_scan >= 50) {
			bool is_all_done = until_jobs > 0;

			last_scan = now;
			for (i = S.lo; i < S.hi; i++) {
				dev_timers(&S.devs[i], now);
				if (is_all_done && !dev_done(&S.devs[i], (size_t)until_jobs))
					is_all_done = false;
			}
			if (is_all_done)
				break;
			if (S.connected == S.hi - S.lo && connected_at == 0) {
				connected_at = now;
				S.heartbeats_at_connect = S.heartbeats;
				if (stats_fd < 0)
					printf("bellwether-sim: all %zu devices connected after %.1f s\n",
					       S.n, (double)(now - start) / 1000);
				fflush(stdout);
				if (is_until_connected)
					break;
			}
		}
		if (duration_s > 0 && now - start >= (int64_t)(duration_s * 1000))
			break;
	}
	collect_stats(&st, now_ms() - start, connected_at ? connected_at - start : -1,
		      (size_t)until_jobs);
	rc = st.unfinished > 0 ? 3 : 0; /* 3: not every device finished (timed out) */
	if (outcomes != NULL) {
		char name[1100];

		snprintf(name, sizeof(name), "%s.part%zu", outcomes, worker);
		if (!write_outcomes(stats_fd >= 0 ? name : outcomes)) {
			fprintf(stderr, "bellwether-sim: cannot write %s\n", outcomes);
			rc = 1;
		}
	}
	if (stats_fd >= 0) {
		if (write(stats_fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
			rc = 1;
		close(stats_fd);
	} else {
		print_stats(&st, is_bench);
	}
out:
	for (i = S.lo; S.devs != NULL && i < S.hi; i++) {
		struct dev *d = &S.devs[i];

		download_stop(d);
		if (d->mosq != NULL) {
			if (d->is_connected)
				mosquitto_disconnect(d->mosq);
			mosquitto_destroy(d->mosq);
		}
		agent_hash_cleanup(&d->hash);
		agent_fsm_cleanup(&d->fsm);
		sim_retry_clear(&d->retry);
		json_decref(d->config);
	}
	free(S.devs);
	if (S.multi != NULL)
		curl_multi_cleanup(S.multi);
	for (i = 0; i < S.graveyard_count; i++)
		free(S.graveyard[i]);
	free(S.graveyard);
	if (S.ep > 0)
		close(S.ep);
	agent_trust_cleanup(&S.trust);
	sim_scenario_cleanup(&S.sc);
	curl_global_cleanup();
	mosquitto_lib_cleanup();
	return rc;
}
