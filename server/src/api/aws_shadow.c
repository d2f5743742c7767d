/* AWS iot-data plane (spec section 7): GetThingShadow, UpdateThingShadow, DeleteThingShadow,
 * ListNamedShadowsForThing and Publish, SigV4-authenticated by the HTTP layer. Bodies are blobs
 * (any Content-Type); replies are raw shadow documents; errors carry x-amzn-ErrorType, __type
 * and message. Updates and deletes reach MQTT subscribers exactly as MQTT ones do. */
#include "api/shadow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/common.h"
#include "core/strutil.h"
#include "json/page.h"
#include "mqtt/client.h"
#include "mqtt/jobs.h"
#include "mqtt/shadow.h"
#include "shadow/dump.h"
#include "shadow/topic.h"

#define LIST_PAGE_DEFAULT 100 /* ListNamedShadowsForThing pageSize: 1..100 (spec 7, 11) */
#define LIST_PAGE_MAX 100

static enum bw_err err_for_status(unsigned status)
{
	switch (status) {
	case 400:
		return BW_ERR_BAD_REQUEST;
	case 403:
		return BW_ERR_FORBIDDEN;
	case 404:
		return BW_ERR_NOT_FOUND;
	case 409:
		return BW_ERR_CONFLICT;
	case 413:
		return BW_ERR_PAYLOAD_TOO_LARGE;
	case 415:
		return BW_ERR_UNSUPPORTED_MEDIA_TYPE;
	case 503:
		return BW_ERR_UNAVAILABLE;
	default:
		return BW_ERR_INTERNAL;
	}
}

/* AWS error reply (spec 4.2): x-amzn-ErrorType header, {"message","__type"} body. */
static void aws_error(const struct request *req, struct reply *rep, unsigned status,
		      const char *type, const char *message)
{
	reply_json(rep, status, json_pack("{s:s,s:s}", "message", message, "__type", type));
	reply_header(rep, "x-amzn-ErrorType", type);
	if (req->request_id)
		reply_header(rep, "x-amzn-RequestId", req->request_id);
	if (status == 503)
		reply_header(rep, "Retry-After", "1");
	rep->err = err_for_status(status);
	rep->is_aws_error = true;
}

static void aws_bad_request(const struct request *req, struct reply *rep, const char *message)
{
	aws_error(req, rep, 400, "InvalidRequestException", message);
}

/* 200 with a shadow document as JSON text (shortest reals: what the client sent). */
static void aws_document(const struct request *req, struct reply *rep, const json_t *doc)
{
	size_t len = 0;
	char *text = doc ? shadow_dumps(doc, 0, &len) : NULL;

	if (!text) {
		aws_error(req, rep, 500, "InternalFailureException", "Internal service failure");
		return;
	}
	reply_raw(rep, 200, "application/json", text, len);
	free(text);
	if (req->request_id)
		reply_header(rep, "x-amzn-RequestId", req->request_id);
}

/* Thing from the path and shadow from ?name= (absent = classic). */
static bool aws_target(const struct request *req, struct reply *rep, const char **thing,
		       const char **name)
{
	*thing = request_param(req, "thing");
	*name = request_query(req, "name");
	if (!*thing || !strutil_is_valid_thing_name(*thing)) {
		aws_bad_request(req, rep,
				"Invalid thing name: 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	if (*name && !strutil_is_valid_shadow_name(*name)) {
		aws_bad_request(req, rep,
				"Invalid shadow name: 1..64 characters of a-z A-Z 0-9 : _ - $");
		return false;
	}
	return true;
}

/* Run one request from the iot-data plane and answer with its document or its error. */
static void aws_run(const struct request *req, struct reply *rep, enum mqtt_shadow_kind kind,
		    const char *payload, size_t len)
{
	struct mqtt_shadow_request r;
	const char *thing, *name;

	if (!aws_target(req, rep, &thing, &name))
		return;
	mqtt_shadow_request_init(&r);
	r.kind = kind;
	r.thing = thing;
	r.name = name;
	r.payload = payload;
	r.payload_len = len;
	r.source = MQTT_SHADOW_SOURCE_IOT_DATA;
	r.actor = req->principal.name[0] ? req->principal.name : "aws";
	r.request_id = req->request_id;
	mqtt_shadow_run(&r, 1, NULL, NULL);
	if (r.err == SHADOW_OK)
		aws_document(req, rep, r.reply);
	else if (r.is_unavailable)
		aws_error(req, rep, 503, "ServiceUnavailableException",
			  "The service is temporarily unavailable, retry later");
	else
		aws_error(req, rep, (unsigned)r.code, shadow_err_aws_type(r.err), r.message);
	mqtt_shadow_request_cleanup(&r);
}

void api_aws_get_thing_shadow(const struct request *req, struct reply *rep)
{
	/* REST GET never echoes a clientToken: no payload */
	aws_run(req, rep, MQTT_SHADOW_GET, NULL, 0);
}

void api_aws_update_thing_shadow(const struct request *req, struct reply *rep)
{
	aws_run(req, rep, MQTT_SHADOW_UPDATE, req->body, req->body ? req->body_len : 0);
}

void api_aws_delete_thing_shadow(const struct request *req, struct reply *rep)
{
	aws_run(req, rep, MQTT_SHADOW_DELETE, NULL, 0);
}

/* pageSize: decimal 1..100. */
static bool parse_page_size(const char *s, int *out)
{
	long v;
	char *end;

	*out = LIST_PAGE_DEFAULT;
	if (!s)
		return true;
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 3)
		return false;
	v = strtol(s, &end, 10);
	if (v < 1 || v > LIST_PAGE_MAX)
		return false;
	*out = (int)v;
	return true;
}

void api_aws_list_named_shadows_for_thing(const struct request *req, struct reply *rep)
{
	const char *thing = request_param(req, "thing");
	const char *token = request_query(req, "nextToken");
	const char *after = "";
	json_t *cursor = NULL, *results = NULL, *out = NULL;
	struct db_rows *rows = NULL;
	struct db *db = NULL;
	char limit_text[16];
	const char *params[3];
	enum db_status st;
	int page;

	if (!thing || !strutil_is_valid_thing_name(thing)) {
		aws_bad_request(req, rep,
				"Invalid thing name: 1..128 characters of a-z A-Z 0-9 : _ -");
		return;
	}
	if (!parse_page_size(request_query(req, "pageSize"), &page)) {
		aws_bad_request(req, rep, "pageSize must be an integer from 1 to 100");
		return;
	}
	if (token && *token) {
		cursor = page_cursor_decode(token, 1);
		if (!cursor || !json_is_string(json_array_get(cursor, 0))) {
			aws_bad_request(req, rep, "Invalid nextToken");
			goto out;
		}
		after = json_string_value(json_array_get(cursor, 0));
	}
	db = db_pool_get();
	if (!db) {
		aws_error(req, rep, 503, "ServiceUnavailableException",
			  "The service is temporarily unavailable, retry later");
		goto out;
	}
	if (mqtt_shadow_options()->is_thing_required) {
		const char *p1[] = { thing };

		st = db_exec(db, "SELECT 1 FROM things WHERE name = $1", 1, p1, NULL);
		if (st == DB_NONE) {
			aws_error(req, rep, 404, "ResourceNotFoundException", "Thing not found");
			goto out;
		}
		if (st < 0)
			goto db_error;
	}
	snprintf(limit_text, sizeof(limit_text), "%d", page + 1);
	params[0] = thing;
	params[1] = after;
	params[2] = limit_text;
	st = db_exec(db,
		     "SELECT s.shadow_name FROM shadows s WHERE s.thing_name = $1"
		     " AND s.shadow_name <> '' AND s.deleted_at IS NULL AND s.shadow_name > $2"
		     " ORDER BY s.shadow_name LIMIT $3::int",
		     3, params, &rows);
	if (st < 0)
		goto db_error;
	results = json_array();
	out = json_object();
	if (!results || !out)
		goto oom;
	for (int i = 0; rows && i < rows->nrows && i < page; i++) {
		if (json_array_append_new(results, json_string(db_rows_get(rows, i, 0))) < 0)
			goto oom;
	}
	if (rows && rows->nrows > page) {
		json_t *keys = json_pack("[s]", db_rows_get(rows, page - 1, 0));
		char *next = keys ? page_cursor_encode(keys) : NULL;

		json_decref(keys);
		if (!next || json_object_set_new(out, "nextToken", json_string(next)) < 0) {
			free(next);
			goto oom;
		}
		free(next);
	}
	if (json_object_set_new(out, "results", results) < 0) {
		results = NULL;
		goto oom;
	}
	results = NULL;
	if (json_object_set_new(out, "timestamp", json_integer((json_int_t)time(NULL))) < 0)
		goto oom;
	aws_document(req, rep, out);
	goto out;
db_error:
	if (st == DB_RETRY)
		aws_error(req, rep, 503, "ServiceUnavailableException",
			  "The service is temporarily unavailable, retry later");
	else
		aws_error(req, rep, 500, "InternalFailureException", "Internal service failure");
	goto out;
oom:
	aws_error(req, rep, 500, "InternalFailureException", "Internal service failure");
out:
	db_pool_put(db);
	db_rows_free(rows);
	json_decref(cursor);
	json_decref(results);
	json_decref(out);
}

void api_aws_publish(const struct request *req, struct reply *rep)
{
	const char *topic = request_param(req, "topic");
	const char *qos_text = request_query(req, "qos");
	const char *retain_text = request_query(req, "retain");
	size_t len = req->body ? req->body_len : 0;
	struct shadow_topic t;
	bool is_retained = false;
	int qos = 0, rc;

	if (!topic || !mqtt_topic_name_valid(topic)) {
		aws_bad_request(req, rep, "Invalid topic name");
		return;
	}
	if (qos_text && strcmp(qos_text, "0") != 0 && strcmp(qos_text, "1") != 0) {
		aws_bad_request(req, rep, "qos must be 0 or 1");
		return;
	}
	qos = qos_text ? qos_text[0] - '0' : 0;
	if (retain_text && strcmp(retain_text, "true") != 0 && strcmp(retain_text, "false") != 0) {
		aws_bad_request(req, rep, "retain must be true or false");
		return;
	}
	is_retained = retain_text && strcmp(retain_text, "true") == 0;
	if (len > MQTT_MAX_PAYLOAD_BYTES) {
		aws_error(req, rep, 413, "RequestEntityTooLargeException",
			  "The payload exceeds the maximum size allowed");
		return;
	}
	if (!mqtt_client_is_connected()) {
		aws_error(req, rep, 503, "ServiceUnavailableException",
			  "The MQTT broker is not connected, retry later");
		return;
	}
	if (shadow_topic_parse(topic, &t)) {
		/* a shadow request topic is handled exactly like a device's publish (spec 7): the
		 * service consumes it and its replies and events go to MQTT subscribers. (The server
		 * subscribes with no-local, so it would never see its own publish come back.) */
		struct mqtt_shadow_request r;

		mqtt_shadow_request_init(&r);
		r.kind = (enum mqtt_shadow_kind)t.op;
		r.thing = t.thing;
		r.name = t.name;
		r.payload = req->body;
		r.payload_len = len;
		r.source = MQTT_SHADOW_SOURCE_MQTT;
		r.actor = req->principal.name[0] ? req->principal.name : "aws";
		r.request_id = req->request_id;
		mqtt_shadow_run(&r, 1, NULL, NULL);
		mqtt_shadow_request_cleanup(&r);
		reply_raw(rep, 200, NULL, "", 0);
		if (req->request_id)
			reply_header(rep, "x-amzn-RequestId", req->request_id);
		return;
	}
	/* a Jobs request topic likewise runs through the jobs engine like a device's publish
	 * (spec 7, "same for jobs request topics"): accepted / rejected go to the subscribers of
	 * the reply topic at the publish's QoS, notify events as usual */
	if (mqtt_jobs_run_published(topic, req->body, len, qos)) {
		reply_raw(rep, 200, NULL, "", 0);
		if (req->request_id)
			reply_header(rep, "x-amzn-RequestId", req->request_id);
		return;
	}
	rc = mqtt_client_publish(topic, req->body, len, qos, is_retained);
	if (rc == BW_ERR_UNAVAILABLE) {
		aws_error(req, rep, 503, "ServiceUnavailableException",
			  "The MQTT broker is not connected, retry later");
		return;
	}
	if (rc != BW_OK) {
		aws_error(req, rep, rc == BW_ERR_BAD_REQUEST ? 400 : 500,
			  rc == BW_ERR_BAD_REQUEST ? "InvalidRequestException"
						   : "InternalFailureException",
			  rc == BW_ERR_BAD_REQUEST ? "Invalid publish request"
						   : "Internal service failure");
		return;
	}
	reply_raw(rep, 200, NULL, "", 0);
	if (req->request_id)
		reply_header(rep, "x-amzn-RequestId", req->request_id);
}
