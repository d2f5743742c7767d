#include "agent_fsm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_semver.h"

const char *agent_state_name(enum agent_state s)
{
	static const char *const names[] = {
		[AGENT_IDLE] = "idle",
		[AGENT_DOWNLOADING] = "downloading",
		[AGENT_VERIFYING] = "verifying",
		[AGENT_INSTALLING] = "installing",
		[AGENT_REBOOTING] = "rebooting",
		[AGENT_TESTING] = "testing",
		[AGENT_CONFIRMING] = "confirming",
		[AGENT_REPORTING] = "reporting",
	};

	if ((size_t)s >= sizeof(names) / sizeof(names[0]) || names[s] == NULL)
		return "unknown";
	return names[s];
}

void agent_options_default(struct agent_options *o)
{
	o->protocols = AGENT_PROTO_HTTP;
	o->prefer_mqtt = false;
	o->query_retry_ms = 30000;
	o->progress_every_ms = 2000;
	o->confirm_delay_ms = 10000;
	o->download_backoff_ms = 1000;
	o->download_attempts = 8;
	o->report_retry_ms = 30000;
	o->throttle_backoff_ms = 2000;
	o->throttle_backoff_max_ms = 60000;
}

int64_t agent_backoff_ms(int64_t base_ms, int64_t max_ms, unsigned attempt, uint64_t rnd)
{
	int64_t d = base_ms > 0 ? base_ms : 1, half;
	unsigned i;

	if (max_ms < d)
		max_ms = d;
	for (i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	half = d / 2;
	return d - half + (int64_t)(rnd % (uint64_t)(half + 1)); /* within [d/2, d] */
}

static uint64_t rng_next(struct agent_fsm *fsm)
{
	uint64_t x = fsm->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	fsm->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* The next resend time after the n-th throttled answer in a row. */
static int64_t throttle_at(struct agent_fsm *fsm, unsigned n, int64_t now_ms)
{
	return now_ms + agent_backoff_ms(fsm->opt.throttle_backoff_ms,
					 fsm->opt.throttle_backoff_max_ms, n, rng_next(fsm));
}

void agent_actions_clear(struct agent_actions *out)
{
	size_t i;

	for (i = 0; i < out->count; i++)
		free(out->items[i].payload);
	memset(out, 0, sizeof(*out));
}

static struct agent_action *push(struct agent_actions *out, enum agent_action_type type)
{
	struct agent_action *a;

	if (out->count >= AGENT_ACTIONS_MAX) {
		out->is_oom = true;
		return NULL;
	}
	a = &out->items[out->count++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

/* Queues a publish of payload (taken; NULL = OOM, recorded). */
static void publish(struct agent_actions *out, const char *topic, char *payload, int qos)
{
	struct agent_action *a;

	if (payload == NULL) {
		out->is_oom = true;
		return;
	}
	a = push(out, AGENT_ACT_PUBLISH);
	if (a == NULL) {
		free(payload);
		return;
	}
	snprintf(a->topic, sizeof(a->topic), "%s", topic);
	a->payload = payload;
	a->qos = qos;
}

static char *dup_str(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void next_token(struct agent_fsm *fsm, char *buf, size_t cap)
{
	/* "<counter>:<thing>" like FreeRTOS, cut so the token stays <= 64 bytes (spec 9.2) */
	snprintf(buf, cap, "%u:%.50s", ++fsm->token_counter, fsm->dev.thing);
}

static void jobs_topic(const struct agent_fsm *fsm, const char *rest, char *buf, size_t cap)
{
	snprintf(buf, cap, "$aws/things/%s/jobs/%s", fsm->dev.thing, rest);
}

static void query(struct agent_fsm *fsm, int64_t now_ms, struct agent_actions *out)
{
	char topic[AGENT_TOPIC_MAX], token[65];
	json_t *req;

	if (!fsm->is_connected)
		return;
	next_token(fsm, token, sizeof(token));
	req = json_pack("{s:s}", "clientToken", token);
	jobs_topic(fsm, "$next/get", topic, sizeof(topic));
	publish(out, topic, req != NULL ? json_dumps(req, JSON_COMPACT) : NULL, 1);
	json_decref(req);
	memcpy(fsm->query_token, token, sizeof(fsm->query_token));
	fsm->query_sent_ms = now_ms;
	fsm->query_retry_at_ms = 0;
}

/* $next/get (or start-next) was refused: when throttled, ask again after a growing backoff
 * instead of waiting for query_retry_ms. */
static void on_query_rejected(struct agent_fsm *fsm, const struct agent_event *ev)
{
	if (strcmp(ev->code, "RequestThrottled") != 0)
		return;
	if (ev->client_token[0] != '\0' && fsm->query_token[0] != '\0' &&
	    strcmp(ev->client_token, fsm->query_token) != 0)
		return; /* an older query's answer: the newer one is still pending */
	fsm->query_throttled++;
	fsm->query_retry_at_ms = throttle_at(fsm, fsm->query_throttled, ev->now_ms);
}

static void kept_clear(struct agent_kept *k)
{
	free(k->payload);
	memset(k, 0, sizeof(*k));
}

/*
 * Keeps payload (a JSON object text, taken; NULL = OOM) as request k with a fresh clientToken
 * and publishes it on topic. The old kept request is replaced.
 */
static void kept_send_new(struct agent_fsm *fsm, struct agent_kept *k, const char *topic,
			  char *payload, struct agent_actions *out)
{
	json_t *o = payload != NULL ? json_loads(payload, 0, NULL) : NULL;
	char token[65];

	free(payload);
	kept_clear(k);
	if (!json_is_object(o)) {
		json_decref(o);
		out->is_oom = true;
		return;
	}
	next_token(fsm, token, sizeof(token));
	if (json_object_set_new(o, "clientToken", json_string(token)) == 0)
		k->payload = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (k->payload == NULL) {
		out->is_oom = true;
		return;
	}
	memcpy(k->token, token, sizeof(k->token));
	publish(out, topic, dup_str(k->payload), 1);
}

/* A shadow rejection for k: a 429 schedules the same payload again after a backoff; any other
 * code ends it. Returns true if the answer was k's. */
static bool kept_rejected(struct agent_fsm *fsm, struct agent_kept *k, const struct agent_event *ev)
{
	if (k->payload == NULL || ev->client_token[0] == '\0' ||
	    strcmp(ev->client_token, k->token) != 0)
		return false;
	if (strcmp(ev->code, "429") != 0) {
		kept_clear(k);
		return true;
	}
	k->throttled++;
	k->retry_at_ms = throttle_at(fsm, k->throttled, ev->now_ms);
	return true;
}

/* Publishes k again on topic if its backoff has passed. */
static void kept_tick(struct agent_fsm *fsm, struct agent_kept *k, const char *topic,
		      int64_t now_ms, struct agent_actions *out)
{
	if (k->payload == NULL || k->retry_at_ms == 0 || now_ms < k->retry_at_ms ||
	    !fsm->is_connected)
		return;
	k->retry_at_ms = 0;
	publish(out, topic, dup_str(k->payload), 1);
}

static void shadow_topic(const struct agent_fsm *fsm, const char *op, char *buf, size_t cap)
{
	snprintf(buf, cap, "$aws/things/%s/shadow/%s", fsm->dev.thing, op);
}

/* Builds an UpdateJobExecution payload; details is taken. Writes the token used into tok. */
static char *update_payload(struct agent_fsm *fsm, const char *status, json_t *details, char *tok,
			    size_t tok_cap)
{
	json_t *req;
	char *s;

	next_token(fsm, tok, tok_cap);
	req = json_pack("{s:s,s:o,s:s}", "status", status, "statusDetails", details, "clientToken",
			tok);
	if (req == NULL)
		return NULL;
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return s;
}

static void send_update(struct agent_fsm *fsm, const char *job_id, const char *status,
			json_t *details, int qos, struct agent_actions *out)
{
	char topic[AGENT_TOPIC_MAX], rest[AGENT_JOB_ID_MAX + 16], tok[65];

	if (!fsm->is_connected) {
		json_decref(details);
		return;
	}
	snprintf(rest, sizeof(rest), "%s/update", job_id);
	jobs_topic(fsm, rest, topic, sizeof(topic));
	publish(out, topic, update_payload(fsm, status, details, tok, sizeof(tok)), qos);
}

/* Publishes the kept terminal report (if connected) and remembers when. */
static void send_report(struct agent_fsm *fsm, int64_t now_ms, struct agent_actions *out)
{
	char topic[AGENT_TOPIC_MAX], rest[AGENT_JOB_ID_MAX + 16];

	if (!fsm->has_report || !fsm->is_connected)
		return;
	snprintf(rest, sizeof(rest), "%s/update", fsm->report_job);
	jobs_topic(fsm, rest, topic, sizeof(topic));
	publish(out, topic, dup_str(fsm->report_payload), 1);
	fsm->report_sent_ms = now_ms;
}

static void clear_report(struct agent_fsm *fsm)
{
	free(fsm->report_payload);
	fsm->report_payload = NULL;
	fsm->has_report = false;
	fsm->report_job[0] = '\0';
	fsm->report_token[0] = '\0';
	fsm->report_throttled = 0;
	fsm->report_retry_at_ms = 0;
}

static void drop_job(struct agent_fsm *fsm)
{
	agent_doc_cleanup(&fsm->doc);
	fsm->has_job = false;
	fsm->job_id[0] = '\0';
	fsm->bytes_done = 0;
	fsm->use_mqtt = false;
	fsm->attempts = 0;
	fsm->attempt_from = 0;
	fsm->retry_at_ms = 0;
}

/*
 * Ends job_id with a terminal status: keeps the report until the server answers it, tells the
 * driver (JOB_DONE) and goes to REPORTING.
 */
static void finish(struct agent_fsm *fsm, const char *job_id, const char *status,
		   const char *reason, const char *updated_by, int64_t now_ms,
		   struct agent_actions *out)
{
	struct agent_action *a;
	json_t *details;

	clear_report(fsm);
	details = json_pack("{s:s}", "reason", reason);
	if (details != NULL && updated_by != NULL && updated_by[0] != '\0')
		json_object_set_new(details, "updatedBy", json_string(updated_by));
	if (details == NULL) {
		out->is_oom = true;
	} else {
		fsm->report_payload = update_payload(fsm, status, details, fsm->report_token,
						     sizeof(fsm->report_token));
		if (fsm->report_payload == NULL)
			out->is_oom = true;
		else
			fsm->has_report = true;
	}
	snprintf(fsm->report_job, sizeof(fsm->report_job), "%s", job_id);
	a = push(out, AGENT_ACT_JOB_DONE);
	if (a != NULL) {
		snprintf(a->topic, sizeof(a->topic), "%s", job_id);
		snprintf(a->status, sizeof(a->status), "%s", status);
		snprintf(a->reason, sizeof(a->reason), "%s", reason);
	}
	drop_job(fsm);
	fsm->state = AGENT_REPORTING;
	send_report(fsm, now_ms, out);
	if (!fsm->has_report) /* could not build it: do not wait for an answer forever */
		fsm->state = AGENT_IDLE;
}

static void fail_current(struct agent_fsm *fsm, const char *reason, int64_t now_ms,
			 struct agent_actions *out)
{
	char job[AGENT_JOB_ID_MAX + 1];

	if (fsm->state == AGENT_DOWNLOADING)
		push(out, AGENT_ACT_CANCEL_DOWNLOAD);
	snprintf(job, sizeof(job), "%s", fsm->job_id);
	finish(fsm, job, "FAILED", reason, fsm->dev.version, now_ms, out);
}

static bool hw_listed(const struct agent_doc *d, const char *hw)
{
	size_t i;

	for (i = 0; i < d->hw_type_count; i++)
		if (strcmp(d->hw_types[i], hw) == 0)
			return true;
	return d->hw_type_count == 0;
}

/*
 * The download protocol for d under opt: 1 = HTTP, 2 = MQTT streams, 0 = none usable. MQTT
 * when the document offers it and the driver supports it, and either HTTP is not usable or the
 * options prefer MQTT.
 */
static int pick_protocol(const struct agent_options *opt, const struct agent_doc *d)
{
	bool http = d->is_http && (opt->protocols & AGENT_PROTO_HTTP);
	bool mqtt = d->is_mqtt && (opt->protocols & AGENT_PROTO_MQTT);

	if (mqtt && (!http || opt->prefer_mqtt))
		return 2;
	return http ? 1 : 0;
}

/*
 * Decides whether the device can apply d. Returns 0 = apply, 1 = refuse (reason set), 2 =
 * already running that version (nothing to do, reason set).
 */
static int check_doc(const struct agent_options *opt, const struct agent_device *dev,
		     const struct agent_doc *d, char *reason, size_t cap)
{
	int c;

	if (!hw_listed(d, dev->hardware_type)) {
		snprintf(reason, cap, "hardware type %s not supported by the release",
			 dev->hardware_type);
		return 1;
	}
	if (pick_protocol(opt, d) == 0) {
		snprintf(reason, cap, "no supported download protocol (offered:%s%s; agent:%s%s)",
			 d->is_http ? " HTTP" : "", d->is_mqtt ? " MQTT" : "",
			 (opt->protocols & AGENT_PROTO_HTTP) ? " HTTP" : "",
			 (opt->protocols & AGENT_PROTO_MQTT) ? " MQTT" : "");
		return 1;
	}
	if (dev->max_image_bytes > 0 && d->size_bytes > dev->max_image_bytes) {
		snprintf(reason, cap, "image of %" PRIu64 " bytes exceeds the slot (%" PRIu64 ")",
			 d->size_bytes, dev->max_image_bytes);
		return 1;
	}
	if (d->has_security_version && d->security_version < dev->security_version) {
		snprintf(reason, cap, "security version %" PRIu32 " below the device's %" PRIu32,
			 d->security_version, dev->security_version);
		return 1; /* never waived, not even for a revert */
	}
	if (d->min_version[0] != '\0' &&
	    (!agent_semver_cmp(dev->version, d->min_version, &c) || c < 0)) {
		snprintf(reason, cap, "device version %s below the required minimum %s",
			 dev->version, d->min_version);
		return 1;
	}
	if (d->version[0] == '\0')
		return 0;
	if (!agent_semver_cmp(d->version, dev->version, &c)) {
		snprintf(reason, cap, "cannot compare versions %s and %s", d->version,
			 dev->version);
		return 1;
	}
	if (c == 0) {
		snprintf(reason, cap, "already running %s", d->version);
		return 2;
	}
	if (c < 0 && !d->is_revert) {
		snprintf(reason, cap, "downgrade from %s to %s refused (not a known-safe revert)",
			 dev->version, d->version);
		return 1;
	}
	return 0;
}

static void start_job(struct agent_fsm *fsm, const struct agent_execution *ex, int64_t now_ms,
		      struct agent_actions *out)
{
	char reason[AGENT_REASON_MAX + 1], recv[48];
	bool is_queued = strcmp(ex->status, "QUEUED") == 0;
	struct agent_action *a;
	json_t *details;
	int verdict;

	if (!is_queued && strcmp(ex->status, "IN_PROGRESS") != 0)
		return;
	if (!ex->is_doc_valid) {
		snprintf(reason, sizeof(reason), "%s", ex->doc_error);
		verdict = 1;
	} else {
		verdict = check_doc(&fsm->opt, &fsm->dev, &ex->doc, reason, sizeof(reason));
	}
	if (verdict == 2) {
		finish(fsm, ex->job_id, "SUCCEEDED", reason, fsm->dev.version, now_ms, out);
		return;
	}
	if (verdict == 1) {
		/* IN_PROGRESS -> REJECTED is not allowed (spec 9.2): FAILED then */
		finish(fsm, ex->job_id, is_queued ? "REJECTED" : "FAILED", reason, fsm->dev.version,
		       now_ms, out);
		return;
	}
	drop_job(fsm);
	if (!agent_doc_copy(&fsm->doc, &ex->doc)) {
		out->is_oom = true;
		return;
	}
	fsm->has_job = true;
	fsm->use_mqtt = pick_protocol(&fsm->opt, &fsm->doc) == 2;
	snprintf(fsm->job_id, sizeof(fsm->job_id), "%s", ex->job_id);
	fsm->state = AGENT_DOWNLOADING;
	snprintf(recv, sizeof(recv), "0/%" PRIu64, fsm->doc.size_bytes);
	details = json_pack("{s:s,s:s}", "step", "downloading", "receive", recv);
	if (details == NULL)
		out->is_oom = true;
	else
		send_update(fsm, fsm->job_id, "IN_PROGRESS", details, 1, out);
	fsm->last_progress_ms = now_ms;
	a = push(out, AGENT_ACT_DOWNLOAD);
	if (a != NULL) {
		a->offset = 0;
		a->is_mqtt = fsm->use_mqtt;
	}
}

static void on_execution(struct agent_fsm *fsm, const struct agent_execution *ex, int64_t now_ms,
			 struct agent_actions *out)
{
	fsm->query_sent_ms = 0;
	fsm->query_throttled = 0;
	fsm->query_retry_at_ms = 0;
	if (!ex->is_present) {
		if (fsm->state == AGENT_DOWNLOADING || fsm->state == AGENT_VERIFYING ||
		    fsm->state == AGENT_INSTALLING) {
			/* the job was canceled or removed under us */
			if (fsm->state == AGENT_DOWNLOADING)
				push(out, AGENT_ACT_CANCEL_DOWNLOAD);
			drop_job(fsm);
			fsm->state = AGENT_IDLE;
		}
		if (fsm->state == AGENT_REPORTING) {
			/* nothing pending: the report was applied (its reply was lost) */
			clear_report(fsm);
			fsm->state = AGENT_IDLE;
		}
		return;
	}
	if (fsm->has_report && strcmp(ex->job_id, fsm->report_job) == 0) {
		send_report(fsm, now_ms, out); /* still pending: our report was not applied */
		return;
	}
	switch (fsm->state) {
	case AGENT_REBOOTING:
	case AGENT_TESTING:
	case AGENT_CONFIRMING:
		return; /* the update finishes locally first */
	case AGENT_DOWNLOADING:
	case AGENT_VERIFYING:
	case AGENT_INSTALLING:
		if (strcmp(ex->job_id, fsm->job_id) == 0)
			return;
		/* another job at the head: ours was canceled */
		if (fsm->state == AGENT_DOWNLOADING)
			push(out, AGENT_ACT_CANCEL_DOWNLOAD);
		drop_job(fsm);
		break;
	case AGENT_REPORTING:
		clear_report(fsm); /* the server moved on, so our report was applied */
		break;
	case AGENT_IDLE:
		break;
	}
	fsm->state = AGENT_IDLE;
	if (fsm->persist.stage != AGENT_PENDING_NONE)
		return;
	start_job(fsm, ex, now_ms, out);
}

static void on_progress(struct agent_fsm *fsm, const struct agent_event *ev,
			struct agent_actions *out)
{
	char recv[48];
	json_t *details;

	if (fsm->state != AGENT_DOWNLOADING)
		return;
	fsm->bytes_done = ev->bytes;
	if (ev->now_ms - fsm->last_progress_ms < fsm->opt.progress_every_ms)
		return;
	fsm->last_progress_ms = ev->now_ms;
	snprintf(recv, sizeof(recv), "%" PRIu64 "/%" PRIu64, ev->bytes, fsm->doc.size_bytes);
	details = json_pack("{s:s,s:s}", "step", "downloading", "receive", recv);
	if (details == NULL) {
		out->is_oom = true;
		return;
	}
	send_update(fsm, fsm->job_id, "IN_PROGRESS", details, 0, out); /* QoS 0 like FreeRTOS */
}

static void on_download_done(struct agent_fsm *fsm, const struct agent_event *ev,
			     struct agent_actions *out)
{
	char reason[AGENT_REASON_MAX + 1];
	int64_t backoff;
	int i;

	if (fsm->state != AGENT_DOWNLOADING || fsm->retry_at_ms != 0)
		return;
	if (ev->is_ok) {
		fsm->state = AGENT_VERIFYING;
		push(out, AGENT_ACT_VERIFY);
		return;
	}
	/* an attempt that got bytes shows the link works: a flap is not a strike against the
	 * download, only attempts in a row that bring nothing are */
	if (fsm->bytes_done > fsm->attempt_from)
		fsm->attempts = 0;
	fsm->attempt_from = fsm->bytes_done;
	if (ev->is_retryable && ++fsm->attempts < fsm->opt.download_attempts) {
		backoff = fsm->opt.download_backoff_ms;
		for (i = 1; i < fsm->attempts && backoff < 60000; i++)
			backoff *= 2;
		fsm->retry_at_ms = ev->now_ms + (backoff < 60000 ? backoff : 60000);
		return;
	}
	snprintf(reason, sizeof(reason), "download failed: %.150s", ev->reason);
	fail_current(fsm, reason, ev->now_ms, out);
}

static void on_installed(struct agent_fsm *fsm, const struct agent_event *ev,
			 struct agent_actions *out)
{
	struct agent_persist *p = &fsm->persist;
	char reason[AGENT_REASON_MAX + 1];
	json_t *details;

	if (fsm->state != AGENT_INSTALLING)
		return;
	if (!ev->is_ok) {
		snprintf(reason, sizeof(reason), "install failed: %.150s", ev->reason);
		fail_current(fsm, reason, ev->now_ms, out);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->stage = AGENT_PENDING_BOOT;
	snprintf(p->job_id, sizeof(p->job_id), "%s", fsm->job_id);
	snprintf(p->target_version, sizeof(p->target_version), "%s", fsm->doc.version);
	p->target_security_version = fsm->doc.has_security_version ? fsm->doc.security_version
								   : fsm->dev.security_version;
	snprintf(p->prev_version, sizeof(p->prev_version), "%s", fsm->dev.version);
	p->prev_security_version = fsm->dev.security_version;
	p->prev_slot = fsm->dev.running_slot;
	p->new_slot = 1 - fsm->dev.running_slot;
	push(out, AGENT_ACT_PERSIST);
	details = json_pack("{s:s,s:s,s:s}", "step", "rebooting", "self_test", "ready", "updatedBy",
			    fsm->dev.version);
	if (details == NULL)
		out->is_oom = true;
	else
		send_update(fsm, fsm->job_id, "IN_PROGRESS", details, 1, out);
	fsm->state = AGENT_REBOOTING;
	push(out, AGENT_ACT_REBOOT);
}

static void send_active(struct agent_fsm *fsm, struct agent_actions *out)
{
	json_t *details;

	if (!fsm->need_active_report || !fsm->is_connected)
		return;
	if (fsm->persist.stage != AGENT_PENDING_BOOT || fsm->persist.job_id[0] == '\0') {
		fsm->need_active_report = false; /* the update already ended: nothing is active */
		return;
	}
	details = json_pack("{s:s,s:s,s:s}", "step", "self_test", "self_test", "active",
			    "updatedBy", fsm->persist.prev_version);
	if (details == NULL) {
		out->is_oom = true;
		return;
	}
	send_update(fsm, fsm->persist.job_id, "IN_PROGRESS", details, 1, out);
	fsm->need_active_report = false;
}

static void send_firmware_report(struct agent_fsm *fsm, struct agent_actions *out)
{
	char topic[AGENT_TOPIC_MAX];

	if (!fsm->need_firmware_report || !fsm->is_connected)
		return;
	shadow_topic(fsm, "update", topic, sizeof(topic));
	kept_send_new(fsm, &fsm->fw_report, topic, agent_fsm_firmware_report(fsm), out);
	fsm->need_firmware_report = false;
}

static void confirm(struct agent_fsm *fsm, int64_t now_ms, struct agent_actions *out)
{
	struct agent_persist p = fsm->persist;
	char reason[AGENT_REASON_MAX + 1];

	push(out, AGENT_ACT_CONFIRM);
	if (p.target_version[0] != '\0')
		snprintf(fsm->dev.version, sizeof(fsm->dev.version), "%s", p.target_version);
	fsm->dev.security_version = p.target_security_version;
	fsm->dev.is_trial_boot = false;
	/* confirmed before the session came up: the "active" report is moot now, and persist
	 * (its job id) is cleared below; SUCCEEDED says it all */
	fsm->need_active_report = false;
	memset(&fsm->persist, 0, sizeof(fsm->persist));
	push(out, AGENT_ACT_PERSIST);
	fsm->need_firmware_report = true;
	send_firmware_report(fsm, out);
	snprintf(reason, sizeof(reason), "accepted v%s", fsm->dev.version);
	snprintf(fsm->job_id, sizeof(fsm->job_id), "%s", p.job_id);
	finish(fsm, p.job_id, "SUCCEEDED", reason, p.prev_version, now_ms, out);
}

static void on_tick(struct agent_fsm *fsm, int64_t now_ms, struct agent_actions *out)
{
	char topic[AGENT_TOPIC_MAX];
	struct agent_action *a;

	if (fsm->state == AGENT_DOWNLOADING && fsm->retry_at_ms != 0 &&
	    now_ms >= fsm->retry_at_ms) {
		fsm->retry_at_ms = 0;
		fsm->attempt_from = fsm->bytes_done;
		a = push(out, AGENT_ACT_DOWNLOAD);
		if (a != NULL) {
			a->offset = fsm->bytes_done;
			a->is_mqtt = fsm->use_mqtt;
		}
	}
	if (fsm->state == AGENT_CONFIRMING && now_ms >= fsm->confirm_at_ms)
		confirm(fsm, now_ms, out);
	/* after a throttled answer the backoff decides, but never later than the regular repeat
	 * (query_retry_ms, report_retry_ms): that bounds the backoff under a sustained overload */
	if (fsm->is_connected &&
	    ((fsm->query_retry_at_ms != 0 && now_ms >= fsm->query_retry_at_ms &&
	      (fsm->state == AGENT_IDLE || fsm->state == AGENT_DOWNLOADING)) ||
	     (fsm->state == AGENT_IDLE && fsm->query_sent_ms != 0 &&
	      now_ms - fsm->query_sent_ms >= fsm->opt.query_retry_ms)))
		query(fsm, now_ms, out);
	if (fsm->has_report && fsm->is_connected &&
	    ((fsm->report_retry_at_ms != 0 && now_ms >= fsm->report_retry_at_ms) ||
	     now_ms - fsm->report_sent_ms >= fsm->opt.report_retry_ms)) {
		fsm->report_retry_at_ms = 0;
		send_report(fsm, now_ms, out);
	}
	shadow_topic(fsm, "update", topic, sizeof(topic));
	kept_tick(fsm, &fsm->fw_report, topic, now_ms, out);
	kept_tick(fsm, &fsm->cfg_report, topic, now_ms, out);
	shadow_topic(fsm, "get", topic, sizeof(topic));
	kept_tick(fsm, &fsm->shadow_get, topic, now_ms, out);
}

static void on_update_reply(struct agent_fsm *fsm, const struct agent_event *ev,
			    struct agent_actions *out)
{
	bool is_report = fsm->has_report && ev->client_token[0] != '\0' &&
			 strcmp(ev->client_token, fsm->report_token) == 0;

	if (is_report && ev->type == AGENT_EV_UPDATE_REJECTED &&
	    strcmp(ev->code, "RequestThrottled") == 0) {
		/* not an answer: the server's inbox was full. Keep the report, send it again */
		fsm->report_throttled++;
		fsm->report_retry_at_ms = throttle_at(fsm, fsm->report_throttled, ev->now_ms);
		return;
	}
	if (is_report) {
		clear_report(fsm);
		if (fsm->state == AGENT_REPORTING)
			fsm->state = AGENT_IDLE;
		query(fsm, ev->now_ms, out);
		return;
	}
	if (ev->type != AGENT_EV_UPDATE_REJECTED || !fsm->has_job ||
	    strcmp(ev->job_id, fsm->job_id) != 0)
		return;
	/* our IN_PROGRESS was refused: the job was canceled, removed or timed out */
	if (strcmp(ev->code, "InvalidStateTransition") != 0 &&
	    strcmp(ev->code, "ResourceNotFound") != 0)
		return;
	if (fsm->state == AGENT_DOWNLOADING)
		push(out, AGENT_ACT_CANCEL_DOWNLOAD);
	if (fsm->state == AGENT_DOWNLOADING || fsm->state == AGENT_VERIFYING ||
	    fsm->state == AGENT_INSTALLING) {
		drop_job(fsm);
		fsm->state = AGENT_IDLE;
		query(fsm, ev->now_ms, out);
	}
}

static void update_wake(struct agent_fsm *fsm)
{
	int64_t w = 0;

#define CONSIDER(t)                               \
	do {                                      \
		int64_t t_ = (t);                 \
		if (t_ > 0 && (w == 0 || t_ < w)) \
			w = t_;                   \
	} while (0)
	if (fsm->state == AGENT_DOWNLOADING)
		CONSIDER(fsm->retry_at_ms);
	if (fsm->state == AGENT_CONFIRMING)
		CONSIDER(fsm->confirm_at_ms);
	if (fsm->is_connected && (fsm->state == AGENT_IDLE || fsm->state == AGENT_DOWNLOADING))
		CONSIDER(fsm->query_retry_at_ms);
	if (fsm->state == AGENT_IDLE && fsm->query_sent_ms != 0)
		CONSIDER(fsm->query_sent_ms + fsm->opt.query_retry_ms);
	if (fsm->has_report && fsm->is_connected) {
		CONSIDER(fsm->report_retry_at_ms);
		CONSIDER(fsm->report_sent_ms + fsm->opt.report_retry_ms);
	}
	if (fsm->is_connected) {
		CONSIDER(fsm->fw_report.payload != NULL ? fsm->fw_report.retry_at_ms : 0);
		CONSIDER(fsm->cfg_report.payload != NULL ? fsm->cfg_report.retry_at_ms : 0);
		CONSIDER(fsm->shadow_get.payload != NULL ? fsm->shadow_get.retry_at_ms : 0);
	}
#undef CONSIDER
	fsm->wake_ms = w;
}

void agent_fsm_handle(struct agent_fsm *fsm, const struct agent_event *ev,
		      struct agent_actions *out)
{
	char reason[AGENT_REASON_MAX + 1], topic[AGENT_TOPIC_MAX];

	switch (ev->type) {
	case AGENT_EV_CONNECTED:
		fsm->is_connected = true;
		send_firmware_report(fsm, out);
		send_active(fsm, out);
		if (fsm->has_report) {
			if (fsm->report_retry_at_ms == 0) /* else: backing off, on_tick sends it */
				send_report(fsm, ev->now_ms, out);
		} else if ((fsm->state == AGENT_IDLE || fsm->state == AGENT_DOWNLOADING) &&
			   fsm->query_retry_at_ms == 0) {
			query(fsm, ev->now_ms, out); /* also learns about a cancel while away */
		}
		if (fsm->shadow_get.retry_at_ms == 0) { /* the config delta missed while away */
			shadow_topic(fsm, "get", topic, sizeof(topic));
			kept_send_new(fsm, &fsm->shadow_get, topic, strdup("{}"), out);
		}
		break;
	case AGENT_EV_DISCONNECTED:
		fsm->is_connected = false;
		fsm->query_sent_ms = 0;
		break;
	case AGENT_EV_QUERY_REJECTED:
		on_query_rejected(fsm, ev);
		break;
	case AGENT_EV_SHADOW_REJECTED:
		if (!kept_rejected(fsm, ev->is_shadow_get ? &fsm->shadow_get : &fsm->fw_report, ev))
			kept_rejected(fsm, &fsm->cfg_report, ev);
		break;
	case AGENT_EV_EXECUTION:
		if (ev->execution != NULL)
			on_execution(fsm, ev->execution, ev->now_ms, out);
		break;
	case AGENT_EV_UPDATE_ACCEPTED:
	case AGENT_EV_UPDATE_REJECTED:
		on_update_reply(fsm, ev, out);
		break;
	case AGENT_EV_DOWNLOAD_PROGRESS:
		on_progress(fsm, ev, out);
		break;
	case AGENT_EV_DOWNLOAD_DONE:
		on_download_done(fsm, ev, out);
		break;
	case AGENT_EV_VERIFIED:
		if (fsm->state != AGENT_VERIFYING)
			break;
		if (ev->is_ok) {
			fsm->state = AGENT_INSTALLING;
			push(out, AGENT_ACT_INSTALL);
		} else {
			snprintf(reason, sizeof(reason), "verification failed: %.150s", ev->reason);
			fail_current(fsm, reason, ev->now_ms, out);
		}
		break;
	case AGENT_EV_INSTALLED:
		on_installed(fsm, ev, out);
		break;
	case AGENT_EV_SELF_TEST_DONE:
		if (fsm->state != AGENT_TESTING)
			break;
		if (ev->is_ok) {
			fsm->state = AGENT_CONFIRMING;
			fsm->confirm_at_ms = ev->now_ms + fsm->opt.confirm_delay_ms;
		} else {
			fsm->persist.stage = AGENT_PENDING_ROLLBACK;
			snprintf(fsm->persist.reason, sizeof(fsm->persist.reason),
				 "self-test failed: %.100s; rolled back to %.60s", ev->reason,
				 fsm->persist.prev_version);
			push(out, AGENT_ACT_PERSIST);
			push(out, AGENT_ACT_ROLLBACK);
			fsm->state = AGENT_REBOOTING;
		}
		break;
	case AGENT_EV_TICK:
		on_tick(fsm, ev->now_ms, out);
		break;
	}
	update_wake(fsm);
}

/* A jitter seed that differs between devices and boots (FNV-1a of the thing name). */
static uint64_t seed_of(const struct agent_device *dev, int64_t now_ms)
{
	uint64_t h = 14695981039346656037ULL;
	const char *c;

	for (c = dev->thing; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h ^= (uint64_t)now_ms * 0x9E3779B97F4A7C15ULL ^ dev->boot_count;
	return h != 0 ? h : 0x9E3779B97F4A7C15ULL;
}

void agent_fsm_config_report(struct agent_fsm *fsm, const char *report, int64_t now_ms,
			     struct agent_actions *out)
{
	char topic[AGENT_TOPIC_MAX];

	(void)now_ms;
	if (!fsm->is_connected)
		return; /* the shadow get after the reconnect brings the delta back */
	shadow_topic(fsm, "update", topic, sizeof(topic));
	kept_send_new(fsm, &fsm->cfg_report, topic, dup_str(report), out);
	update_wake(fsm);
}

bool agent_fsm_owns_token(const struct agent_fsm *fsm, const char *token)
{
	if (token == NULL || token[0] == '\0')
		return false;
	return (fsm->has_report && strcmp(token, fsm->report_token) == 0) ||
	       strcmp(token, fsm->query_token) == 0 ||
	       (fsm->fw_report.payload != NULL && strcmp(token, fsm->fw_report.token) == 0) ||
	       (fsm->cfg_report.payload != NULL && strcmp(token, fsm->cfg_report.token) == 0) ||
	       (fsm->shadow_get.payload != NULL && strcmp(token, fsm->shadow_get.token) == 0);
}

void agent_fsm_boot(struct agent_fsm *fsm, const struct agent_options *opt,
		    const struct agent_device *dev, const struct agent_persist *persist,
		    int64_t now_ms, struct agent_actions *out)
{
	struct agent_persist p = *persist;
	char reason[AGENT_REASON_MAX + 1];

	memset(fsm, 0, sizeof(*fsm));
	fsm->opt = *opt;
	fsm->dev = *dev;
	fsm->persist = p;
	fsm->state = AGENT_IDLE;
	fsm->need_firmware_report = true;
	fsm->rng = seed_of(dev, now_ms);
	if (p.stage == AGENT_PENDING_BOOT && dev->running_slot == p.new_slot &&
	    dev->is_trial_boot) {
		fsm->state = AGENT_TESTING;
		fsm->has_job = true;
		snprintf(fsm->job_id, sizeof(fsm->job_id), "%s", p.job_id);
		fsm->need_active_report = true;
		push(out, AGENT_ACT_SELF_TEST);
	} else if (p.stage != AGENT_PENDING_NONE) {
		if (p.stage == AGENT_PENDING_ROLLBACK)
			memcpy(reason, p.reason, sizeof(reason));
		else
			snprintf(reason, sizeof(reason),
				 "new image %s did not boot; running slot %c version %s",
				 p.target_version, dev->running_slot ? 'B' : 'A', dev->version);
		memset(&fsm->persist, 0, sizeof(fsm->persist));
		push(out, AGENT_ACT_PERSIST);
		finish(fsm, p.job_id, "FAILED", reason, p.prev_version, now_ms, out);
	}
	update_wake(fsm);
}

void agent_fsm_cleanup(struct agent_fsm *fsm)
{
	if (fsm == NULL)
		return;
	agent_doc_cleanup(&fsm->doc);
	free(fsm->report_payload);
	fsm->report_payload = NULL;
	kept_clear(&fsm->fw_report);
	kept_clear(&fsm->cfg_report);
	kept_clear(&fsm->shadow_get);
}

char *agent_fsm_firmware_report(const struct agent_fsm *fsm)
{
	json_t *fw, *doc;
	char *s;

	fw = json_pack("{s:s,s:s,s:I,s:s,s:I}", "version", fsm->dev.version, "slot",
		       fsm->dev.running_slot ? "B" : "A", "security_version",
		       (json_int_t)fsm->dev.security_version, "hardware_type",
		       fsm->dev.hardware_type, "boot_count", (json_int_t)fsm->dev.boot_count);
	if (fw == NULL)
		return NULL;
	if (json_object_set_new(fw, "pending_job",
				fsm->persist.stage != AGENT_PENDING_NONE
					? json_string(fsm->persist.job_id)
					: json_null()) != 0) {
		json_decref(fw);
		return NULL;
	}
	doc = json_pack("{s:{s:{s:o}}}", "state", "reported", "firmware", fw);
	if (doc == NULL)
		return NULL;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}
