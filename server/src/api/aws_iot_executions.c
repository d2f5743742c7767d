/* Control plane executions (spec 5.1, 5.2): DescribeJobExecution, CancelJobExecution,
 * ListJobExecutionsForJob, ListJobExecutionsForThing. */
#include "api/jobs_control.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/aws_iot_common.h"
#include "api/common.h"
#include "core/strutil.h"
#include "db/jobs.h"
#include "jobs/render.h"

static bool path_names(const struct request *req, struct reply *rep, const char **thing,
		       const char **job_id)
{
	*thing = request_param(req, "thing");
	if (!*thing || !strutil_is_valid_thing_name(*thing)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "thingName must be 1..128 characters of a-z A-Z 0-9 : _ -");
		return false;
	}
	if (!job_id)
		return true;
	*job_id = request_param(req, "jobId");
	if (!*job_id) /* the shared data-plane route names it {job} */
		*job_id = request_param(req, "job");
	if (!*job_id || !strutil_is_valid_job_id(*job_id)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "jobId must be 1..64 characters of a-z A-Z 0-9 _ -");
		return false;
	}
	return true;
}

static bool query_i64(const struct request *req, struct reply *rep, const char *name, int64_t *out)
{
	const char *v = request_query(req, name);
	char *end;

	*out = 0;
	if (!v)
		return true;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || n < 1) {
		aws_iot_error(rep, 400, "InvalidRequestException", "%s must be a positive integer",
			      name);
		return false;
	}
	*out = n;
	return true;
}

void api_aws_describe_job_execution_iot(const struct request *req, struct reply *rep)
{
	const char *thing, *job_id;
	struct jobs_execution e;
	int64_t number;
	char arn[AWS_IOT_ARN_MAX];

	if (!path_names(req, rep, &thing, &job_id) ||
	    !query_i64(req, rep, "executionNumber", &number))
		return;
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st = db_jobs_execution_load(db, job_id, thing, number, &e, NULL, NULL);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return;
	}
	if (st == DB_NONE) {
		aws_iot_error(rep, 404, "ResourceNotFoundException",
			      "no execution of job %s on thing %s", job_id, thing);
		return;
	}
	aws_iot_arn(arn, sizeof(arn), "thing", thing);
	json_t *x = jobs_render_execution_iot(&e, arn, aws_iot_now_ms());
	jobs_execution_cleanup(&e);
	if (!x) {
		aws_iot_db_error(rep, DB_HARD);
		return;
	}
	reply_json(rep, 200, json_pack("{s:o}", "execution", x));
}

struct cancel_exec_ctx {
	const struct request *req;
	const char *thing;
	const char *job_id;
	bool force;
	struct jobs_service_opts opts;
	enum db_jobs_change_result result;
};

static enum db_status cancel_exec_tx(struct db *db, void *arg)
{
	struct cancel_exec_ctx *c = arg;
	enum db_status st;
	json_t *details;
	char resource[256];

	st = db_jobs_execution_cancel(db, c->job_id, c->thing, c->force, &c->opts, aws_iot_now_ms(),
				      aws_iot_actor(c->req), &c->result);
	if (st < 0 || c->result != DB_JOBS_CHANGED)
		return st;
	snprintf(resource, sizeof(resource), "%s/%s", c->job_id, c->thing);
	details = json_pack("{s:b}", "force", c->force);
	st = api_audit(db, c->req, "job_execution.cancel", "job_execution", resource, details);
	json_decref(details);
	return st;
}

void api_aws_cancel_job_execution(const struct request *req, struct reply *rep)
{
	struct cancel_exec_ctx c = { .req = req };
	json_t *body, *v;

	if (!path_names(req, rep, &c.thing, &c.job_id) ||
	    !aws_iot_query_bool(req, rep, "force", &c.force) || !(body = aws_iot_body(req, rep)))
		return;
	v = json_object_get(body, "expectedVersion");
	if (v) {
		json_int_t n = 0;
		if (json_is_integer(v))
			n = json_integer_value(v);
		else if (json_is_string(v))
			n = strtoll(json_string_value(v), NULL, 10);
		if (n < 1) {
			aws_iot_error(rep, 400, "InvalidRequestException",
				      "expectedVersion must be a positive integer");
			goto out;
		}
		c.opts.has_expected_version = true;
		c.opts.expected_version = n;
	}
	v = json_object_get(body, "statusDetails");
	if (v) {
		const char *bad = NULL;
		const char *key;
		json_t *val;
		if (!json_is_object(v))
			bad = "statusDetails must be an object of strings";
		json_object_foreach(v, key, val) {
			if (!json_is_string(val) || strlen(key) == 0 || strlen(key) > 128)
				bad = "statusDetails must map 1..128 character keys to strings";
		}
		if (bad) {
			aws_iot_error(rep, 400, "InvalidRequestException", "%s", bad);
			goto out;
		}
		if (json_object_size(v) > 0)
			c.opts.status_details = v;
	}
	if (!aws_iot_tx(rep, DB_READ_COMMITTED, cancel_exec_tx, &c))
		goto out;
	switch (c.result) {
	case DB_JOBS_CHANGED:
		reply_json(rep, 200, json_object());
		break;
	case DB_JOBS_NOT_FOUND:
		aws_iot_error(rep, 404, "ResourceNotFoundException",
			      "no execution of job %s on thing %s", c.job_id, c.thing);
		break;
	case DB_JOBS_VERSION:
		aws_iot_error(rep, 409, "VersionConflictException",
			      "expectedVersion does not match the execution's versionNumber");
		break;
	default:
		aws_iot_error(rep, 409, "InvalidStateTransitionException",
			      "the execution of job %s on %s cannot be canceled%s", c.job_id,
			      c.thing, c.force ? "" : " (IN_PROGRESS needs force=true)");
		break;
	}
out:
	json_decref(body);
}

static bool status_filter(const struct request *req, struct reply *rep, const char **out)
{
	enum jobs_exec_status s;

	*out = request_query(req, "status");
	if (*out && !jobs_exec_status_parse(*out, &s)) {
		aws_iot_error(rep, 400, "InvalidRequestException", "unknown status %s", *out);
		return false;
	}
	return true;
}

/* key: job pk or thing id; by_job selects the listing and the wrapping key. */
static void list_executions(const struct request *req, struct reply *rep, bool by_job, int64_t key,
			    const char *status, const char *job_id, int max, int64_t after)
{
	struct db_jobs_exec_row *rows = NULL;
	int n = 0;
	char arn[AWS_IOT_ARN_MAX], token[32];
	json_t *items, *body;
	struct db *db = db_pool_get();
	(void)req;

	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st =
		db_jobs_exec_list(db, by_job, key, status, job_id, after, max, &rows, &n);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return;
	}
	items = json_array();
	for (int i = 0; items && i < n && i < max; i++) {
		json_t *s = jobs_render_summary_iot(&rows[i].e);
		json_t *o;
		if (by_job) {
			aws_iot_arn(arn, sizeof(arn), "thing", rows[i].e.thing_name);
			o = json_pack("{s:s, s:o*}", "thingArn", arn, "jobExecutionSummary", s);
		} else {
			o = json_pack("{s:s, s:o*}", "jobId", rows[i].e.job_id,
				      "jobExecutionSummary", s);
		}
		json_array_append_new(items, o);
	}
	body = json_pack("{s:o}", "executionSummaries", items ? items : json_array());
	if (body && n > max) {
		aws_iot_token(rows[max - 1].seq, token);
		json_object_set_new(body, "nextToken", json_string(token));
	}
	db_jobs_exec_rows_free(rows, n);
	reply_json(rep, 200, body);
}

void api_aws_list_job_executions_for_job(const struct request *req, struct reply *rep)
{
	const char *job_id = request_param(req, "jobId"), *status;
	struct db_job j;
	int max;
	int64_t after;

	if (!job_id || !strutil_is_valid_job_id(job_id)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "jobId must be 1..64 characters of a-z A-Z 0-9 _ -");
		return;
	}
	if (!aws_iot_page(req, rep, 50, &max, &after) || !status_filter(req, rep, &status))
		return;
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st = db_jobs_load(db, job_id, false, &j);
	db_pool_put(db);
	if (st <= 0) {
		if (st == DB_NONE)
			aws_iot_error(rep, 404, "ResourceNotFoundException",
				      "job %s does not exist", job_id);
		else
			aws_iot_db_error(rep, st);
		return;
	}
	list_executions(req, rep, true, j.pk, status, NULL, max, after);
	db_job_cleanup(&j);
}

void api_aws_list_job_executions_for_thing(const struct request *req, struct reply *rep)
{
	const char *thing, *status, *job_id = request_query(req, "jobId");
	json_t *id = NULL;
	int max;
	int64_t after;

	if (!path_names(req, rep, &thing, NULL) || !aws_iot_page(req, rep, 50, &max, &after) ||
	    !status_filter(req, rep, &status))
		return;
	if (job_id && !strutil_is_valid_job_id(job_id)) {
		aws_iot_error(rep, 400, "InvalidRequestException", "invalid jobId");
		return;
	}
	if (request_query(req, "namespaceId")) {
		aws_iot_error(rep, 400, "InvalidRequestException", "namespaces are not supported");
		return;
	}
	const char *params[] = { thing };
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st =
		db_query_json(db, "SELECT to_json(id) FROM things WHERE name = $1", 1, params, &id);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return;
	}
	if (!id) {
		aws_iot_error(rep, 404, "ResourceNotFoundException", "thing %s does not exist",
			      thing);
		return;
	}
	list_executions(req, rep, false, (int64_t)json_integer_value(id), status, job_id, max,
			after);
	json_decref(id);
}
