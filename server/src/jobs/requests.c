#include "jobs/requests.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/events.h"
#include "jobs/text.h"

#define DETAILS_VALUE_MAX 1024 /* characters (spec 1.1) */

/* Cut s at its first malformed UTF-8 sequence (a truncated message may end inside one). */
static void trim_utf8(char *s)
{
	size_t len = strlen(s), i = 0;
	uint32_t cp;

	while (i < len && jobs_text_utf8_next(s, len, &i, &cp))
		;
	s[i] = '\0';
}

static enum jobs_err fail(enum jobs_err err, char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum jobs_err fail(enum jobs_err err, char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
		trim_utf8(msg);
	}
	return err;
}

static void req_init(struct jobs_request *req, enum jobs_topics_kind op)
{
	memset(req, 0, sizeof(*req));
	jobs_update_init(&req->update);
	req->op = op;
	req->include_job_document = op == JOBS_TOPICS_DESCRIBE;
}

void jobs_requests_cleanup(struct jobs_request *req)
{
	if (!req)
		return;
	jobs_update_cleanup(&req->update);
	req_init(req, req->op);
}

const char *jobs_requests_token(const struct jobs_request *req)
{
	return req->update.has_client_token ? req->update.client_token : NULL;
}

/* The field, or NULL when absent or JSON null. */
static const json_t *field(const json_t *root, const char *key)
{
	const json_t *v = json_object_get(root, key);

	return json_is_null(v) ? NULL : v;
}

/*
 * An integer from a JSON integer, an integral real, or (string_ok) a decimal string of at most
 * 18 digits with an optional leading '-'. False if v is none of these.
 */
static bool get_int(const json_t *v, bool string_ok, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
			return false;
		*out = (int64_t)d;
		return true;
	}
	if (string_ok && json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v), i = 0;
		bool neg = false;
		int64_t r = 0;

		if (n > 0 && s[0] == '-') {
			neg = true;
			i = 1;
		}
		if (n == i || n - i > 18)
			return false;
		for (; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			r = r * 10 + (s[i] - '0');
		}
		*out = neg ? -r : r;
		return true;
	}
	return false;
}

static enum jobs_err parse_token(const json_t *root, struct jobs_update *u, char *msg, size_t cap)
{
	const json_t *t = field(root, "clientToken");
	size_t n;

	if (!t)
		return JOBS_OK;
	if (!json_is_string(t))
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap, "clientToken must be a string");
	n = json_string_length(t);
	if (n > JOBS_CLIENT_TOKEN_MAX || memchr(json_string_value(t), '\0', n))
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
			    "clientToken is longer than %d bytes", JOBS_CLIENT_TOKEN_MAX);
	memcpy(u->client_token, json_string_value(t), n);
	u->client_token[n] = '\0';
	u->has_client_token = true;
	return JOBS_OK;
}

static enum jobs_err parse_details(const json_t *root, struct jobs_update *u, char *msg, size_t cap)
{
	const json_t *d = field(root, "statusDetails"), *v;
	const char *key;

	if (!d)
		return JOBS_OK;
	if (!json_is_object(d))
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap, "statusDetails must be an object");
	json_object_foreach((json_t *)d, key, v) {
		if (!jobs_text_is_valid_details_key(key, strlen(key)))
			return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
				    "statusDetails key is not 1..128 characters of [a-zA-Z0-9:_-]");
		if (!json_is_string(v))
			return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
				    "statusDetails value of %s must be a string", key);
		if (!jobs_text_is_printable(json_string_value(v), json_string_length(v), 1,
					    DETAILS_VALUE_MAX))
			return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
				    "statusDetails value of %s must be 1..1024 characters without "
				    "control characters",
				    key);
	}
	u->status_details = json_deep_copy(d);
	if (!u->status_details)
		return fail(JOBS_ERR_INTERNAL, msg, cap, "out of memory");
	return JOBS_OK;
}

static enum jobs_err parse_status(const json_t *root, struct jobs_update *u, char *msg, size_t cap)
{
	const json_t *s = field(root, "status");
	enum jobs_exec_status st;

	if (!s)
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap, "status is required");
	if (!json_is_string(s) || !jobs_exec_status_parse(json_string_value(s), &st))
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
			    "status must be IN_PROGRESS, SUCCEEDED, FAILED or REJECTED");
	if (st != JOBS_EXEC_QUEUED && !jobs_exec_status_is_device_settable(st))
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
			    "status %s cannot be set by a device", json_string_value(s));
	u->status = st;
	return JOBS_OK;
}

static enum jobs_err parse_bool(const json_t *root, const char *key, bool *out, char *msg,
				size_t cap)
{
	const json_t *b = field(root, key);

	if (!b)
		return JOBS_OK;
	if (!json_is_boolean(b))
		return fail(JOBS_ERR_INVALID_REQUEST, msg, cap, "%s must be a boolean", key);
	*out = json_is_true(b);
	return JOBS_OK;
}

static enum jobs_err parse_numbers(const json_t *root, enum jobs_topics_kind op,
				   struct jobs_update *u, char *msg, size_t cap)
{
	const json_t *v;
	int64_t n;

	if (op == JOBS_TOPICS_UPDATE && (v = field(root, "expectedVersion"))) {
		if (!get_int(v, true, &n) || n < 0)
			return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
				    "expectedVersion must be a non-negative integer");
		u->has_expected_version = true;
		u->expected_version = n;
	}
	if ((op == JOBS_TOPICS_UPDATE || op == JOBS_TOPICS_DESCRIBE) &&
	    (v = field(root, "executionNumber"))) {
		if (!get_int(v, true, &n) || n < 1)
			return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
				    "executionNumber must be a positive integer");
		u->has_execution_number = true;
		u->execution_number = n;
	}
	if ((op == JOBS_TOPICS_UPDATE || op == JOBS_TOPICS_START_NEXT) &&
	    (v = field(root, "stepTimeoutInMinutes"))) {
		bool ok = get_int(v, true, &n) &&
			  ((n >= 1 && n <= JOBS_STEP_TIMEOUT_MAX) ||
			   (op == JOBS_TOPICS_UPDATE && n == JOBS_STEP_TIMEOUT_CANCEL));

		if (!ok)
			return fail(JOBS_ERR_INVALID_REQUEST, msg, cap,
				    op == JOBS_TOPICS_UPDATE
					    ? "stepTimeoutInMinutes must be 1..10080 or -1"
					    : "stepTimeoutInMinutes must be 1..10080");
		u->has_step_timeout = true;
		u->step_timeout_min = (int)n;
	}
	return JOBS_OK;
}

enum jobs_err jobs_requests_parse_json(enum jobs_topics_kind op, const json_t *root,
				       struct jobs_request *req, char *msg, size_t msg_cap)
{
	json_t *empty = NULL;
	enum jobs_err err;

	req_init(req, op);
	if (msg && msg_cap > 0)
		msg[0] = '\0';
	if (!root) {
		empty = json_object();
		if (!empty)
			return fail(JOBS_ERR_INTERNAL, msg, msg_cap, "out of memory");
		root = empty;
	}
	if (!json_is_object(root)) {
		err = fail(JOBS_ERR_INVALID_JSON, msg, msg_cap, "the payload is not a JSON object");
		goto out;
	}
	err = parse_token(root, &req->update, msg, msg_cap);
	if (err != JOBS_OK)
		goto out;
	switch (op) {
	case JOBS_TOPICS_GET_PENDING:
		break;
	case JOBS_TOPICS_START_NEXT:
		err = parse_details(root, &req->update, msg, msg_cap);
		if (err == JOBS_OK)
			err = parse_numbers(root, op, &req->update, msg, msg_cap);
		break;
	case JOBS_TOPICS_DESCRIBE:
		err = parse_numbers(root, op, &req->update, msg, msg_cap);
		if (err == JOBS_OK)
			err = parse_bool(root, "includeJobDocument", &req->include_job_document,
					 msg, msg_cap);
		break;
	case JOBS_TOPICS_UPDATE:
		err = parse_status(root, &req->update, msg, msg_cap);
		if (err == JOBS_OK)
			err = parse_details(root, &req->update, msg, msg_cap);
		if (err == JOBS_OK)
			err = parse_numbers(root, op, &req->update, msg, msg_cap);
		if (err == JOBS_OK)
			err = parse_bool(root, "includeJobExecutionState",
					 &req->include_job_execution_state, msg, msg_cap);
		if (err == JOBS_OK)
			err = parse_bool(root, "includeJobDocument", &req->include_job_document,
					 msg, msg_cap);
		break;
	case JOBS_TOPICS_INVALID:
		err = fail(JOBS_ERR_INVALID_TOPIC, msg, msg_cap,
			   "the topic does not name a Jobs operation");
		break;
	default:
		err = fail(JOBS_ERR_INVALID_TOPIC, msg, msg_cap, "not a Jobs request topic");
		break;
	}
out:
	if (err != JOBS_OK) {
		/* keep only the token, for the rejected reply */
		json_decref(req->update.status_details);
		req->update.status_details = NULL;
	}
	json_decref(empty);
	return err;
}

static enum jobs_err parse_payload(enum jobs_topics_kind op, const char *payload, size_t len,
				   struct jobs_request *req, char *msg, size_t msg_cap)
{
	json_error_t jerr;
	json_t *root;
	enum jobs_err err;

	if (len > JOBS_REQUESTS_MAX_PAYLOAD) {
		req_init(req, op);
		return fail(JOBS_ERR_INVALID_REQUEST, msg, msg_cap, "the payload exceeds 128 KiB");
	}
	if (len == 0)
		return jobs_requests_parse_json(op, NULL, req, msg, msg_cap);
	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		req_init(req, op);
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return fail(JOBS_ERR_INTERNAL, msg, msg_cap, "out of memory");
		return fail(JOBS_ERR_INVALID_JSON, msg, msg_cap,
			    "invalid JSON at line %d column %d", jerr.line, jerr.column);
	}
	err = jobs_requests_parse_json(op, root, req, msg, msg_cap);
	json_decref(root);
	return err;
}

/* An InvalidTopic request is answered InvalidTopic whatever its payload (only the clientToken
 * is taken from it when it parses). */
static enum jobs_err parse_invalid_topic(const char *payload, size_t len, struct jobs_request *req,
					 char *msg, size_t msg_cap)
{
	enum jobs_err err = parse_payload(JOBS_TOPICS_INVALID, payload, len, req, msg, msg_cap);

	if (err == JOBS_ERR_INTERNAL)
		return err;
	return fail(JOBS_ERR_INVALID_TOPIC, msg, msg_cap,
		    "the topic does not name a Jobs operation");
}

enum jobs_err jobs_requests_parse(enum jobs_topics_kind op, const char *payload, size_t len,
				  struct jobs_request *req, char *msg, size_t msg_cap)
{
	if (op == JOBS_TOPICS_INVALID)
		return parse_invalid_topic(payload, len, req, msg, msg_cap);
	return parse_payload(op, payload, len, req, msg, msg_cap);
}

enum jobs_err jobs_requests_parse_topic(const struct jobs_topic *t, const char *payload, size_t len,
					struct jobs_request *req, char *msg, size_t msg_cap)
{
	enum jobs_err err;

	if (!t->is_bad_name)
		return jobs_requests_parse(t->kind, payload, len, req, msg, msg_cap);
	/* GET_PENDING reads nothing but the token */
	err = jobs_requests_parse(JOBS_TOPICS_GET_PENDING, payload, len, req, msg, msg_cap);
	req->op = t->kind;
	if (err == JOBS_OK || err == JOBS_ERR_INVALID_REQUEST)
		err = fail(JOBS_ERR_INVALID_REQUEST, msg, msg_cap,
			   "the thing name or job id in the topic is invalid");
	return err;
}

/* Common head of MQTT replies: timestamp and the echoed token. */
static json_t *reply_head(const char *client_token, enum jobs_plane plane, int64_t now_ms)
{
	json_t *o = json_object();

	if (!o || plane != JOBS_PLANE_MQTT)
		return o;
	if (json_object_set_new(o, "timestamp", json_integer(jobs_render_seconds(now_ms))) ||
	    (client_token && json_object_set_new(o, "clientToken", json_string(client_token)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool set(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

json_t *jobs_requests_pending_reply(const struct jobs_execution *const *pending, size_t n,
				    size_t limit, const char *client_token, enum jobs_plane plane,
				    int64_t now_ms)
{
	const struct jobs_execution **list = NULL;
	json_t *o = reply_head(client_token, plane, now_ms), *inp, *q;
	size_t count;

	if (!o)
		return NULL;
	/* json_object_set_new() consumes the value even when it fails */
	inp = json_array();
	q = json_array();
	if (json_object_set_new(o, "inProgressJobs", inp) | json_object_set_new(o, "queuedJobs", q))
		goto fail;
	if (n > 0) {
		list = malloc(n * sizeof(*list));
		if (!list)
			goto fail;
		memcpy(list, pending, n * sizeof(*list));
	}
	count = jobs_events_pending_list(list, n, limit);
	for (size_t i = 0; i < count; i++) {
		json_t *arr = list[i]->status == JOBS_EXEC_IN_PROGRESS ? inp : q;

		if (json_array_append_new(arr, jobs_render_summary(list[i])))
			goto fail;
	}
	free(list);
	return o;
fail:
	free(list);
	json_decref(o);
	return NULL;
}

json_t *jobs_requests_execution_reply(const struct jobs_execution *e, const json_t *doc,
				      const char *client_token, enum jobs_plane plane,
				      int64_t now_ms)
{
	json_t *o = reply_head(client_token, plane, now_ms);

	if (!o)
		return NULL;
	if (e && !set(o, "execution", jobs_render_execution(e, doc, plane, now_ms))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jobs_requests_update_reply(const struct jobs_execution *e, bool include_state,
				   const json_t *doc, const char *client_token,
				   enum jobs_plane plane, int64_t now_ms)
{
	json_t *o = reply_head(client_token, plane, now_ms), *d;
	char *text;

	if (!o)
		return NULL;
	if (include_state && !set(o, "executionState", jobs_render_state(e)))
		goto fail;
	if (doc) {
		if (plane == JOBS_PLANE_MQTT) {
			d = json_incref((json_t *)doc);
		} else {
			text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
			d = text ? json_string(text) : NULL;
			free(text);
		}
		if (!set(o, "jobDocument", d))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *jobs_requests_rejected(enum jobs_err err, const char *message, const char *client_token,
			       const struct jobs_execution *state, int64_t now_ms)
{
	json_t *o = json_object();
	size_t chars;

	if (!o)
		return NULL;
	if (!message || !*message || !jobs_text_utf8_count(message, strlen(message), &chars))
		message = jobs_err_message(err);
	if (!set(o, "code", json_string(jobs_err_code(err))) ||
	    !set(o, "message", json_string(message)))
		goto fail;
	if (client_token && !set(o, "clientToken", json_string(client_token)))
		goto fail;
	if (!set(o, "timestamp", json_integer(jobs_render_seconds(now_ms))))
		goto fail;
	if (state && jobs_err_has_execution_state(err) &&
	    !set(o, "executionState", jobs_render_state(state)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}
