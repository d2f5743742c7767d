#include "api/jobs_data.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/jobs_control.h"
#include "core/strutil.h"
#include "mqtt/jobs.h"

/* AWS error of the iot-jobs-data plane (spec 4.2). */
static void reply_jobs_error(struct reply *rep, enum jobs_err err, const char *message)
{
	const char *type = jobs_err_rest_type(err);
	unsigned status = jobs_err_http_status(err);

	reply_json(rep, status,
		   json_pack("{s:s,s:s}", "message",
			     message && *message ? message : jobs_err_message(err), "__type",
			     type));
	reply_header(rep, "x-amzn-ErrorType", type);
	rep->is_aws_error = true;
	rep->err = status == 404   ? BW_ERR_NOT_FOUND
		   : status == 409 ? BW_ERR_CONFLICT
		   : status >= 500 ? BW_ERR_UNAVAILABLE
				   : BW_ERR_BAD_REQUEST;
}

/* True when the request was signed for the control plane (spec 4.3). The `iot` service model
 * of older botocore releases (Debian 12's awscli 2.9) names its signing service "execute-api",
 * so `aws iot ...` from that CLI arrives with that scope; it never means the device plane. */
static bool is_control_plane(const struct request *req)
{
	return strcmp(req->principal.aws_service, "iot") == 0 ||
	       strcmp(req->principal.aws_service, "execute-api") == 0;
}

/* Run one request of kind on the engine and fill the reply. body may be NULL ({}). */
static void run(const struct request *req, struct reply *rep, enum jobs_topics_kind kind,
		const json_t *body)
{
	const char *thing = request_param(req, "thing");
	const char *job = request_param(req, "job");
	struct mqtt_jobs_request r;

	mqtt_jobs_request_init(&r);
	r.plane = JOBS_PLANE_HTTP;
	r.body = body;
	r.topic.kind = kind;
	if (!thing || !strutil_is_valid_thing_name(thing)) {
		reply_jobs_error(rep, JOBS_ERR_INVALID_REQUEST, "invalid thingName");
		return;
	}
	snprintf(r.topic.thing, sizeof(r.topic.thing), "%s", thing);
	if (kind == JOBS_TOPICS_DESCRIBE || kind == JOBS_TOPICS_UPDATE) {
		r.topic.is_next =
			kind == JOBS_TOPICS_DESCRIBE && strcmp(job, JOBS_TOPICS_NEXT) == 0;
		if (!r.topic.is_next && !strutil_is_valid_job_id(job)) {
			reply_jobs_error(rep, JOBS_ERR_INVALID_REQUEST, "invalid jobId");
			return;
		}
		snprintf(r.topic.job_id, sizeof(r.topic.job_id), "%s", job);
	}
	mqtt_jobs_run(&r, 1);
	if (r.err != JOBS_OK) {
		reply_jobs_error(rep, r.err, r.message);
	} else {
		reply_json(rep, 200, r.reply);
		r.reply = NULL;
	}
	mqtt_jobs_request_cleanup(&r);
}

/* The JSON body of a BODY_RAW request: empty -> NULL ({}); invalid -> false with the reply set.
 * [out] out: a new reference or NULL. */
static bool body_of(const struct request *req, struct reply *rep, json_t **out)
{
	json_error_t jerr;

	*out = NULL;
	if (!req->body || req->body_len == 0)
		return true;
	*out = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		reply_jobs_error(rep, JOBS_ERR_INVALID_JSON, "the body is not a JSON object");
		return false;
	}
	return true;
}

void api_aws_jobs_data_get_pending(const struct request *req, struct reply *rep)
{
	if (is_control_plane(req)) {
		api_aws_list_job_executions_for_thing(req, rep);
		return;
	}
	run(req, rep, JOBS_TOPICS_GET_PENDING, NULL);
}

void api_aws_jobs_data_describe(const struct request *req, struct reply *rep)
{
	const char *doc = request_query(req, "includeJobDocument");
	const char *number = request_query(req, "executionNumber");
	json_t *q;

	if (is_control_plane(req)) {
		api_aws_describe_job_execution_iot(req, rep);
		return;
	}
	/* query values go through the same validation as MQTT fields (booleans true/false) */
	q = json_object();
	if (!q) {
		reply_jobs_error(rep, JOBS_ERR_INTERNAL, NULL);
		return;
	}
	if (doc && json_object_set_new(q, "includeJobDocument",
				       strcmp(doc, "true") == 0	   ? json_true()
				       : strcmp(doc, "false") == 0 ? json_false()
								   : json_string(doc)))
		goto oom;
	if (number && json_object_set_new(q, "executionNumber", json_string(number)))
		goto oom;
	run(req, rep, JOBS_TOPICS_DESCRIBE, q);
	json_decref(q);
	return;
oom:
	json_decref(q);
	reply_jobs_error(rep, JOBS_ERR_INTERNAL, NULL);
}

void api_aws_jobs_data_start_next(const struct request *req, struct reply *rep)
{
	const char *job = request_param(req, "job");
	json_t *body;

	if (!job || strcmp(job, JOBS_TOPICS_NEXT) != 0) {
		reply_jobs_error(rep, JOBS_ERR_RESOURCE_NOT_FOUND,
				 "PUT is only defined for /things/{thingName}/jobs/$next");
		return;
	}
	if (!body_of(req, rep, &body))
		return;
	run(req, rep, JOBS_TOPICS_START_NEXT, body);
	json_decref(body);
}

void api_aws_jobs_data_update(const struct request *req, struct reply *rep)
{
	json_t *body;

	if (!body_of(req, rep, &body))
		return;
	run(req, rep, JOBS_TOPICS_UPDATE, body);
	json_decref(body);
}
