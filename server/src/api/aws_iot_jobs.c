/* Control plane jobs (spec 5.1): CreateJob, DescribeJob, GetJobDocument, ListJobs, CancelJob,
 * DeleteJob, and the creation core shared with the native API. */
#include "api/jobs_control.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/aws_iot_common.h"
#include "api/aws_iot_docsource.h"
#include "api/common.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/strutil.h"
#include "db/job_templates.h"
#include "db/jobs.h"
#include "jobs/document.h"
#include "jobs/schedule.h"
#include "jobs/text.h"

int64_t aws_iot_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- creation core ---- */

struct create_ctx {
	const struct request *req;
	const struct aws_iot_create_in *in;
	struct jobs_spec *spec;
	const char *document;
	char hash[65];
	int template_version; /* the template version merged in, 0 = none */
	struct db_job_created out;
};

static enum db_status create_tx(struct db *db, void *arg)
{
	struct create_ctx *c = arg;
	struct db_job_new nj = {
		.job_id = c->in->job_id,
		.spec = c->spec,
		.document = c->document,
		.request_sha256 = c->hash,
		.created_by = aws_iot_actor(c->req),
		.template_id = c->spec->job_template_id[0] ? c->spec->job_template_id : NULL,
		.now_ms = c->in->now_ms,
	};
	enum db_status st = db_jobs_create(db, &nj, &c->out);
	json_t *details;

	if (st < 0 || c->out.result != DB_JOBS_CREATED)
		return st;
	if (c->template_version > 0) {
		st = db_job_set_template_version(db, c->out.job_pk, c->template_version);
		if (st < 0)
			return st;
	}
	if (c->in->extra) {
		st = c->in->extra(db, c->out.job_pk, c->in->extra_arg);
		if (st < 0)
			return st;
	}
	details = json_pack("{s:s, s:I}", "target_selection",
			    jobs_target_selection_name(c->spec->target_selection), "released",
			    (json_int_t)c->out.released);
	st = api_audit(db, c->req, "job.create", "job", c->in->job_id, details);
	json_decref(details);
	return st < 0 ? st : DB_ONE;
}

/* Load version `version` (0 = latest) of the template named in spec and merge it into spec
 * (spec 3.10); *version_out gets the version merged. */
static bool merge_template(struct jobs_spec *spec, int version, int *version_out,
			   struct aws_iot_create_result *res)
{
	struct db *db = db_pool_get();
	struct db_job_template t;
	struct jobs_spec ts;
	enum db_status st;
	bool ok = false;

	jobs_config_spec_init(&ts);
	if (!db) {
		res->outcome = AWS_IOT_CREATE_DB_ERROR;
		res->db_status = DB_HARD;
		return false;
	}
	st = db_job_template_version_load(db, spec->job_template_id, version, &t, version_out);
	db_pool_put(db);
	if (st < 0) {
		res->outcome = AWS_IOT_CREATE_DB_ERROR;
		res->db_status = st;
		return false;
	}
	if (st == DB_NONE) {
		res->outcome = AWS_IOT_CREATE_NOT_FOUND;
		if (version > 0)
			snprintf(res->msg, sizeof(res->msg), "job template %s has no version %d",
				 spec->job_template_id, version);
		else
			snprintf(res->msg, sizeof(res->msg), "job template %s does not exist",
				 spec->job_template_id);
		return false;
	}
	if (jobs_config_parse(t.config, JOBS_CONFIG_STORED_TEMPLATE, 0, &ts, res->msg,
			      sizeof(res->msg)) != JOBS_OK) {
		res->outcome = AWS_IOT_CREATE_DB_ERROR;
		res->db_status = DB_HARD;
		goto out;
	}
	if (t.document) {
		free(ts.document);
		ts.document = strdup(t.document);
		if (!ts.document) {
			res->outcome = AWS_IOT_CREATE_DB_ERROR;
			res->db_status = DB_HARD;
			goto out;
		}
	}
	if (jobs_config_merge_template(spec, &ts, res->msg, sizeof(res->msg)) != JOBS_OK) {
		res->outcome = AWS_IOT_CREATE_INVALID;
		goto out;
	}
	ok = true;
out:
	jobs_config_spec_cleanup(&ts);
	db_job_template_cleanup(&t);
	return ok;
}

void aws_iot_jobs_create(const struct request *req, const struct aws_iot_create_in *in,
			 struct aws_iot_create_result *res)
{
	struct jobs_spec spec;
	struct create_ctx c;
	json_t *hashed = NULL;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	jobs_config_spec_init(&spec);
	if (!strutil_is_valid_job_id(in->job_id)) {
		res->outcome = AWS_IOT_CREATE_INVALID;
		snprintf(res->msg, sizeof(res->msg),
			 "jobId must be 1..64 characters of a-z A-Z 0-9 _ -");
		goto out;
	}
	if (jobs_config_parse(in->body, JOBS_CONFIG_CREATE_JOB, in->now_ms, &spec, res->msg,
			      sizeof(res->msg)) != JOBS_OK) {
		res->outcome = AWS_IOT_CREATE_INVALID;
		goto out;
	}
	if (in->template_version > 0 && !spec.job_template_arn) {
		res->outcome = AWS_IOT_CREATE_INVALID;
		snprintf(res->msg, sizeof(res->msg),
			 "/job_template_version: a template version needs a template");
		goto out;
	}
	if (spec.job_template_arn &&
	    !merge_template(&spec, in->template_version, &c.template_version, res))
		goto out;
	if (!spec.document) {
		/* documentSource (spec 3.10): read once, now; a template's was read when it was
		 * created and arrives here as its document */
		enum jobs_err err = aws_iot_docsource_fetch(spec.document_source, &spec.document,
							    res->msg, sizeof(res->msg));
		if (err) {
			res->outcome = err == JOBS_ERR_INVALID_REQUEST ? AWS_IOT_CREATE_INVALID
								       : AWS_IOT_CREATE_DB_ERROR;
			res->db_status = DB_HARD;
			goto out;
		}
	}
	/* the hash covers the request as sent, so a retry of the same call is idempotent */
	hashed = json_pack("{s:O, s:s}", "body", in->body, "jobId", in->job_id);
	if (!hashed || !aws_iot_request_hash(hashed, c.hash)) {
		res->outcome = AWS_IOT_CREATE_DB_ERROR;
		res->db_status = DB_HARD;
		goto out;
	}
	c.req = req;
	c.in = in;
	c.spec = &spec;
	c.document = spec.document;
	struct db *db = db_pool_get();
	if (!db) {
		res->outcome = AWS_IOT_CREATE_DB_ERROR;
		res->db_status = DB_RETRY;
		goto out;
	}
	enum db_status st = db_tx_run(db, DB_READ_COMMITTED, create_tx, &c);
	db_pool_put(db);
	if (st < 0) {
		/* a concurrent create of the same id loses on the unique key: ask again */
		res->outcome = AWS_IOT_CREATE_DB_ERROR;
		res->db_status = st;
		goto out;
	}
	res->job_pk = c.out.job_pk;
	res->released = c.out.released;
	switch (c.out.result) {
	case DB_JOBS_CREATED:
		res->outcome = AWS_IOT_CREATE_OK;
		metrics_counter_add("bw_jobs_created_total", NULL, 1);
		log_info("jobs", "job_created", LOG_S("job_id", in->job_id),
			 LOG_I("released", c.out.released), LOG_END);
		break;
	case DB_JOBS_SAME:
		res->outcome = AWS_IOT_CREATE_SAME;
		break;
	case DB_JOBS_CONFLICT:
		res->outcome = AWS_IOT_CREATE_CONFLICT;
		snprintf(res->msg, sizeof(res->msg),
			 "job %s already exists with a different configuration", in->job_id);
		break;
	case DB_JOBS_TARGET_NOT_FOUND:
		res->outcome = AWS_IOT_CREATE_NOT_FOUND;
		snprintf(res->msg, sizeof(res->msg), "%s %s does not exist",
			 c.out.missing_is_group ? "thing group" : "thing", c.out.missing);
		break;
	}
	if (spec.description)
		snprintf(res->description, sizeof(res->description), "%s", spec.description);
out:
	json_decref(hashed);
	jobs_config_spec_cleanup(&spec);
}

/* ---- rendering ---- */

static json_t *process_details(const struct db_job *j)
{
	json_t *pt = NULL, *out;

	if (j->pending_targets > 0 && !j->is_rollout_stopped && j->status != JOBS_JOB_CANCELED)
		pt = j->targets;
	out = jobs_job_render_process_details(&j->counts, pt);
	return out;
}

json_t *aws_iot_render_job(const struct db_job *j, int64_t now_ms)
{
	char arn[AWS_IOT_ARN_MAX];
	json_t *o = json_deep_copy(j->config);
	bool is_concurrent = j->pending_targets > 0 && !j->is_rollout_stopped &&
			     j->status != JOBS_JOB_CANCELED && j->status != JOBS_JOB_COMPLETED;

	if (!o)
		return NULL;
	aws_iot_arn(arn, sizeof(arn), "job", j->job_id);
	json_object_set_new(o, "jobArn", json_string(arn));
	json_object_set_new(o, "jobId", json_string(j->job_id));
	json_object_set_new(o, "status", json_string(jobs_job_status_name(j->status)));
	json_object_set_new(o, "forceCanceled", json_boolean(j->force_canceled));
	json_object_set_new(o, "targetSelection",
			    json_string(jobs_target_selection_name(j->target_selection)));
	json_object_set(o, "targets", j->targets);
	json_object_set_new(o, "createdAt", aws_iot_ts(j->created_at_ms));
	json_object_set_new(o, "lastUpdatedAt", aws_iot_ts(j->last_updated_at_ms));
	if (j->completed_at_ms)
		json_object_set_new(o, "completedAt", aws_iot_ts(j->completed_at_ms));
	if (j->reason_code)
		json_object_set_new(o, "reasonCode", json_string(j->reason_code));
	if (j->comment)
		json_object_set_new(o, "comment", json_string(j->comment));
	if (j->template_id) {
		aws_iot_arn(arn, sizeof(arn), "jobtemplate", j->template_id);
		json_object_set_new(o, "jobTemplateArn", json_string(arn));
	}
	json_object_set_new(o, "isConcurrent", json_boolean(is_concurrent));
	json_object_set_new(o, "jobProcessDetails", process_details(j));
	json_t *sc = json_object_get(o, "schedulingConfig");
	if (sc) {
		struct jobs_scheduling_config cfg;
		char msg[256];
		if (jobs_config_parse_scheduling(sc, "/schedulingConfig", false, 0, &cfg, msg,
						 sizeof(msg)) == JOBS_OK &&
		    cfg.window_count > 0)
			json_object_set_new(o, "scheduledJobRollouts",
					    jobs_schedule_render_rollouts(&cfg, now_ms));
	}
	return o;
}

/* ---- handlers ---- */

static const char *path_job_id(const struct request *req, struct reply *rep)
{
	const char *id = request_param(req, "jobId");

	if (!id || !strutil_is_valid_job_id(id)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "jobId must be 1..64 characters of a-z A-Z 0-9 _ -");
		return NULL;
	}
	return id;
}

void api_aws_create_job(const struct request *req, struct reply *rep)
{
	const char *job_id = path_job_id(req, rep);
	struct aws_iot_create_result res;
	json_t *body;
	char arn[AWS_IOT_ARN_MAX];

	if (!job_id || !(body = aws_iot_body(req, rep)))
		return;
	struct aws_iot_create_in in = { .job_id = job_id,
					.body = body,
					.now_ms = aws_iot_now_ms() };
	aws_iot_jobs_create(req, &in, &res);
	json_decref(body);
	aws_iot_arn(arn, sizeof(arn), "job", job_id);
	switch (res.outcome) {
	case AWS_IOT_CREATE_OK:
	case AWS_IOT_CREATE_SAME:
		reply_json(rep, 200,
			   json_pack("{s:s, s:s, s:s?}", "jobArn", arn, "jobId", job_id,
				     "description", res.description[0] ? res.description : NULL));
		break;
	case AWS_IOT_CREATE_INVALID:
		aws_iot_error(rep, 400, "InvalidRequestException", "%s", res.msg);
		break;
	case AWS_IOT_CREATE_CONFLICT:
		aws_iot_already_exists(rep, job_id, arn, res.msg);
		break;
	case AWS_IOT_CREATE_NOT_FOUND:
		aws_iot_error(rep, 404, "ResourceNotFoundException", "%s", res.msg);
		break;
	case AWS_IOT_CREATE_DB_ERROR:
		aws_iot_db_error(rep, res.db_status);
		break;
	}
}

/* Load a job with counters on a pooled connection; false with the AWS error reply set. */
static bool load_job(struct reply *rep, const char *job_id, bool with_counts, struct db_job *j)
{
	struct db *db = db_pool_get();
	enum db_status st;

	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return false;
	}
	st = db_jobs_load(db, job_id, with_counts, j);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return false;
	}
	if (st == DB_NONE) {
		aws_iot_error(rep, 404, "ResourceNotFoundException", "job %s does not exist",
			      job_id);
		return false;
	}
	return true;
}

void api_aws_describe_job(const struct request *req, struct reply *rep)
{
	const char *job_id = path_job_id(req, rep);
	struct db_job j;
	json_t *job;

	if (!job_id || !load_job(rep, job_id, true, &j))
		return;
	job = aws_iot_render_job(&j, aws_iot_now_ms());
	db_job_cleanup(&j);
	if (!job) {
		aws_iot_db_error(rep, DB_HARD);
		return;
	}
	/* DescribeJob carries documentSource beside the job, not in it (spec 5.1) */
	json_t *src = json_incref(json_object_get(job, "documentSource"));
	json_object_del(job, "documentSource");
	reply_json(rep, 200, json_pack("{s:o, s:o*}", "job", job, "documentSource", src));
}

void api_aws_get_job_document(const struct request *req, struct reply *rep)
{
	const char *job_id = path_job_id(req, rep);
	struct db_job j;

	if (!job_id || !load_job(rep, job_id, false, &j))
		return;
	reply_json(rep, 200, json_pack("{s:s}", "document", j.document));
	db_job_cleanup(&j);
}

void api_aws_list_jobs(const struct request *req, struct reply *rep)
{
	struct db_jobs_filter f = { 0 };
	struct db_job *jobs = NULL;
	enum jobs_job_status js;
	enum jobs_target_selection sel;
	int max, n = 0;
	int64_t after;
	json_t *items;
	char arn[AWS_IOT_ARN_MAX], token[32];

	if (!aws_iot_page(req, rep, 50, &max, &after))
		return;
	f.status = request_query(req, "status");
	f.target_selection = request_query(req, "targetSelection");
	f.thing_group = request_query(req, "thingGroupName");
	if ((f.status && !jobs_job_status_parse(f.status, &js)) ||
	    (f.target_selection && !jobs_target_selection_parse(f.target_selection, &sel)) ||
	    (f.thing_group && !strutil_is_valid_group_name(f.thing_group))) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "invalid status, targetSelection or thingGroupName");
		return;
	}
	if (request_query(req, "namespaceId")) {
		aws_iot_error(rep, 400, "InvalidRequestException", "namespaces are not supported");
		return;
	}
	f.before_pk = after ? after : INT64_MAX;
	f.limit = max;
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st = db_jobs_list(db, &f, &jobs, &n);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return;
	}
	items = json_array();
	for (int i = 0; items && i < n && i < max; i++) {
		const struct db_job *j = &jobs[i];
		aws_iot_arn(arn, sizeof(arn), "job", j->job_id);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "jobArn", arn, "jobId",
				      j->job_id, "targetSelection",
				      jobs_target_selection_name(j->target_selection), "status",
				      jobs_job_status_name(j->status), "createdAt",
				      aws_iot_ts(j->created_at_ms), "lastUpdatedAt",
				      aws_iot_ts(j->last_updated_at_ms), "isConcurrent",
				      j->pending_targets > 0 && j->status == JOBS_JOB_IN_PROGRESS &&
					      !j->is_rollout_stopped);
		if (o && j->completed_at_ms)
			json_object_set_new(o, "completedAt", aws_iot_ts(j->completed_at_ms));
		json_array_append_new(items, o);
	}
	json_t *body = json_pack("{s:o}", "jobs", items ? items : json_array());
	if (body && n > max) {
		aws_iot_token(jobs[max - 1].pk, token);
		json_object_set_new(body, "nextToken", json_string(token));
	}
	for (int i = 0; i < n; i++)
		db_job_cleanup(&jobs[i]);
	free(jobs);
	reply_json(rep, 200, body);
}

struct cancel_ctx {
	const struct request *req;
	const char *job_id;
	bool force;
	const char *reason_code;
	const char *comment;
	enum db_jobs_change_result result;
	int64_t pk;
	bool is_delete;
};

static enum db_status cancel_tx(struct db *db, void *arg)
{
	struct cancel_ctx *c = arg;
	enum db_status st;
	json_t *details;
	int64_t now = aws_iot_now_ms();

	if (c->is_delete)
		st = db_jobs_delete(db, c->job_id, c->force, now, &c->result);
	else
		st = db_jobs_cancel(db, c->job_id, c->force, c->reason_code, c->comment, now,
				    aws_iot_actor(c->req), &c->result, &c->pk);
	if (st < 0 || c->result != DB_JOBS_CHANGED)
		return st;
	details = json_pack("{s:b, s:s?, s:s?}", "force", c->force, "reason_code", c->reason_code,
			    "comment", c->comment);
	st = api_audit(db, c->req, c->is_delete ? "job.delete" : "job.cancel", "job", c->job_id,
		       details);
	json_decref(details);
	return st;
}

/* Run a cancel/delete and map its result; true when changed (reply not yet set). */
static bool run_change(struct reply *rep, struct cancel_ctx *c)
{
	if (!aws_iot_tx(rep, DB_READ_COMMITTED, cancel_tx, c))
		return false;
	switch (c->result) {
	case DB_JOBS_CHANGED:
		return true;
	case DB_JOBS_NOT_FOUND:
		aws_iot_error(rep, 404, "ResourceNotFoundException", "job %s does not exist",
			      c->job_id);
		break;
	case DB_JOBS_BAD_STATE:
	case DB_JOBS_VERSION:
		aws_iot_error(rep, 409, "InvalidStateTransitionException",
			      "job %s cannot be %s in its current status%s", c->job_id,
			      c->is_delete ? "deleted" : "canceled",
			      c->is_delete && !c->force ? " without force" : "");
		break;
	case DB_JOBS_LIMIT:
		aws_iot_error(rep, 410, "LimitExceededException",
			      "at most 10 jobs may be in DELETION_IN_PROGRESS at once");
		break;
	}
	return false;
}

void api_aws_cancel_job(const struct request *req, struct reply *rep)
{
	struct cancel_ctx c = { .req = req };
	json_t *body;
	char arn[AWS_IOT_ARN_MAX];

	if (!(c.job_id = path_job_id(req, rep)) ||
	    !aws_iot_query_bool(req, rep, "force", &c.force) || !(body = aws_iot_body(req, rep)))
		return;
	json_t *rc = json_object_get(body, "reasonCode"), *cm = json_object_get(body, "comment");
	if ((rc &&
	     (!json_is_string(rc) || !jobs_text_is_valid_reason_code(json_string_value(rc)))) ||
	    (cm && (!json_is_string(cm) ||
		    !jobs_text_is_printable(json_string_value(cm), json_string_length(cm), 1,
					    JOBS_DESCRIPTION_MAX)))) {
		json_decref(body);
		aws_iot_error(
			rep, 400, "InvalidRequestException",
			"reasonCode is 1..128 of A-Z 0-9 _; comment 1..2028 printable characters");
		return;
	}
	c.reason_code = rc ? json_string_value(rc) : NULL;
	c.comment = cm ? json_string_value(cm) : NULL;
	if (run_change(rep, &c)) {
		struct db_job j;
		aws_iot_arn(arn, sizeof(arn), "job", c.job_id);
		if (load_job(rep, c.job_id, false, &j)) {
			reply_json(rep, 200,
				   json_pack("{s:s, s:s, s:s?}", "jobArn", arn, "jobId", c.job_id,
					     "description", j.description));
			db_job_cleanup(&j);
		}
	}
	json_decref(body);
}

void api_aws_delete_job(const struct request *req, struct reply *rep)
{
	struct cancel_ctx c = { .req = req, .is_delete = true };

	if (!(c.job_id = path_job_id(req, rep)) || !aws_iot_query_bool(req, rep, "force", &c.force))
		return;
	if (request_query(req, "namespaceId")) {
		aws_iot_error(rep, 400, "InvalidRequestException", "namespaces are not supported");
		return;
	}
	if (run_change(rep, &c))
		reply_json(rep, 200, json_object());
}
