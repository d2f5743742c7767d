/* Control plane job templates (spec 3.10, 5.1): CreateJobTemplate, DescribeJobTemplate. */
#include "api/jobs_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/aws_iot_common.h"
#include "api/aws_iot_docsource.h"
#include "api/common.h"
#include "core/strutil.h"
#include "db/job_templates.h"
#include "db/jobs.h"

static const char *path_template_id(const struct request *req, struct reply *rep)
{
	const char *id = request_param(req, "jobTemplateId");

	if (!id || !strutil_is_valid_job_id(id)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "jobTemplateId must be 1..64 characters of a-z A-Z 0-9 _ -");
		return NULL;
	}
	return id;
}

struct template_ctx {
	const struct request *req;
	const char *template_id;
	struct jobs_spec *spec;
	const char *config;
	char hash[65];
	enum db_jobs_create_result result;
	bool is_source_missing;
};

static enum db_status template_tx(struct db *db, void *arg)
{
	struct template_ctx *c = arg;
	struct db_job src = { 0 };
	enum db_status st;
	const char *document = c->spec->document;

	c->is_source_missing = false;
	if (c->spec->job_arn) {
		/* jobArn: copy the document of an existing job (its settings were given or not) */
		st = db_jobs_load(db, c->spec->source_job_id, false, &src);
		if (st <= 0) {
			c->is_source_missing = st == DB_NONE;
			return st;
		}
		document = src.document;
	}
	st = db_jobs_template_create(db, c->template_id, c->spec->description, document,
				     c->spec->document_source, c->config, c->hash, &c->result);
	if (st >= 0 && c->result == DB_JOBS_CREATED)
		st = api_audit(db, c->req, "job_template.create", "job_template", c->template_id,
			       NULL);
	db_job_cleanup(&src);
	return st;
}

int aws_iot_template_prepare(json_t *body, struct jobs_spec *spec, char **config_text,
			     char hash[65], char *msg, size_t msg_cap)
{
	json_t *cfg;

	*config_text = NULL;
	if (jobs_config_parse(body, JOBS_CONFIG_CREATE_TEMPLATE, aws_iot_now_ms(), spec, msg,
			      msg_cap) != JOBS_OK)
		return 400;
	if (spec->document_source) {
		/* read once, now (spec 3.10): jobs created from the template get this text */
		enum jobs_err err = aws_iot_docsource_fetch(spec->document_source, &spec->document,
							    msg, msg_cap);
		if (err == JOBS_ERR_INVALID_REQUEST)
			return 400;
		if (err)
			return 500;
	}
	cfg = jobs_config_render(spec, JOBS_CONFIG_CREATE_TEMPLATE);
	*config_text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
	json_decref(cfg);
	if (!*config_text || !aws_iot_request_hash(body, hash)) {
		free(*config_text);
		*config_text = NULL;
		snprintf(msg, msg_cap, "out of memory");
		return 500;
	}
	return 0;
}

void api_aws_create_job_template(const struct request *req, struct reply *rep)
{
	const char *id = path_template_id(req, rep);
	struct template_ctx c = { .req = req, .template_id = id };
	struct jobs_spec spec;
	char msg[512], arn[AWS_IOT_ARN_MAX];
	json_t *body;
	char *cfg_text = NULL;
	int rc;

	jobs_config_spec_init(&spec);
	if (!id || !(body = aws_iot_body(req, rep)))
		return;
	rc = aws_iot_template_prepare(body, &spec, &cfg_text, c.hash, msg, sizeof(msg));
	if (rc == 400) {
		aws_iot_error(rep, 400, "InvalidRequestException", "%s", msg);
		goto out;
	}
	if (rc) {
		aws_iot_db_error(rep, DB_HARD);
		goto out;
	}
	c.spec = &spec;
	c.config = cfg_text;
	if (!aws_iot_tx(rep, DB_READ_COMMITTED, template_tx, &c))
		goto out;
	aws_iot_arn(arn, sizeof(arn), "jobtemplate", id);
	if (c.is_source_missing) {
		aws_iot_error(rep, 404, "ResourceNotFoundException", "job %s does not exist",
			      spec.source_job_id);
	} else if (c.result == DB_JOBS_CONFLICT) {
		json_t *b =
			json_pack("{s:s, s:s, s:s}", "message",
				  "a job template with this id and another configuration exists",
				  "__type", "ConflictException", "resourceId", id);
		reply_json(rep, 409, b);
		reply_header(rep, "x-amzn-ErrorType", "ConflictException");
		rep->err = BW_ERR_CONFLICT;
		rep->is_aws_error = true;
	} else {
		reply_json(rep, 200,
			   json_pack("{s:s, s:s}", "jobTemplateArn", arn, "jobTemplateId", id));
	}
out:
	json_decref(body);
	free(cfg_text);
	jobs_config_spec_cleanup(&spec);
}

void api_aws_describe_job_template(const struct request *req, struct reply *rep)
{
	const char *id = path_template_id(req, rep);
	struct db_job_template t;
	char arn[AWS_IOT_ARN_MAX];

	if (!id)
		return;
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st = db_job_template_version_load(db, id, 0, &t, NULL);
	db_pool_put(db);
	if (st <= 0) {
		if (st == DB_NONE)
			aws_iot_error(rep, 404, "ResourceNotFoundException",
				      "job template %s does not exist", id);
		else
			aws_iot_db_error(rep, st);
		return;
	}
	json_t *o = json_deep_copy(t.config);
	if (o) {
		aws_iot_arn(arn, sizeof(arn), "jobtemplate", id);
		json_object_set_new(o, "jobTemplateArn", json_string(arn));
		json_object_set_new(o, "jobTemplateId", json_string(id));
		json_object_set_new(o, "description", json_string(t.description));
		if (t.document)
			json_object_set_new(o, "document", json_string(t.document));
		json_object_set_new(o, "createdAt", aws_iot_ts(t.created_at_ms));
	}
	db_job_template_cleanup(&t);
	if (!o)
		aws_iot_db_error(rep, DB_HARD);
	else
		reply_json(rep, 200, o);
}
