/* Native versioned job templates (/api/v1/job-templates): every PUT with a changed content adds
 * an immutable version; jobs name a template and optionally a version
 * (POST /api/v1/jobs job_template_id + job_template_version). The AWS control plane sees the
 * latest version (CreateJobTemplate creates version 1). */
#include "api/jobs_control.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/aws_iot_common.h"
#include "api/common.h"
#include "api/native_keys.h"
#include "core/strutil.h"
#include "db/job_templates.h"
#include "jobs/config.h"

/* Fields of a native template body (settings in snake_case, as in POST /api/v1/jobs). */
static const char *const template_fields[] = { "description",
					       "document",
					       "document_source",
					       "presigned_url_config",
					       "job_executions_rollout_config",
					       "abort_config",
					       "timeout_config",
					       "job_executions_retry_config",
					       "maintenance_windows",
					       NULL };

static const char *path_template(const struct request *req, struct reply *rep)
{
	const char *id = request_param(req, "template");

	if (!id || !strutil_is_valid_job_id(id)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/template",
			    "a template id is 1..64 characters of a-z A-Z 0-9 _ -");
		return NULL;
	}
	return id;
}

/* The AWS CreateJobTemplate body of a native one (the document object as text). NULL with a
 * reply set. */
static json_t *aws_template_body(json_t *body, struct reply *rep)
{
	json_t *out = json_object(), *v;
	const char *k;
	char camel[API_NATIVE_KEY_MAX];

	if (!out)
		goto oom;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "document") == 0)
			continue;
		if (!api_snake_to_camel(k, camel, sizeof(camel)) ||
		    json_object_set_new(out, camel, api_convert_keys(v, true)) != 0)
			goto oom;
	}
	v = json_object_get(body, "document");
	if (v) {
		char *text;
		if (!json_is_object(v)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/document",
				    "document must be a JSON object");
			json_decref(out);
			return NULL;
		}
		text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (!text || json_object_set_new(out, "document", json_string(text)) != 0) {
			free(text);
			goto oom;
		}
		free(text);
	}
	return out;
oom:
	json_decref(out);
	reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
	return NULL;
}

/* Native rendering: the stored AWS-shaped settings with snake_case keys (the description is
 * a field of its own), versions only on the latest. Steals t. */
static json_t *native_template(json_t *t)
{
	json_t *cfg = json_object_get(t, "config");

	if (t && cfg) {
		json_t *snake = api_convert_keys(cfg, false);
		if (!snake || json_object_set_new(t, "config", snake) != 0) {
			json_decref(t);
			return NULL;
		}
		json_object_del(snake, "description");
	}
	if (t && json_is_null(json_object_get(t, "versions")))
		json_object_del(t, "versions");
	return t;
}

/* A 400 from a jobs_config message "<AWS JSON pointer>: reason", naming the native field. */
static void reply_invalid(struct reply *rep, const char *msg)
{
	const char *sep = msg[0] == '/' ? strstr(msg, ": ") : NULL;
	char camel[API_NATIVE_KEY_MAX], field[API_NATIVE_KEY_MAX];

	if (!sep || (size_t)(sep - msg) >= sizeof(camel)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL, "%s", msg);
		return;
	}
	memcpy(camel, msg, (size_t)(sep - msg));
	camel[sep - msg] = '\0';
	api_camel_to_snake(camel, field, sizeof(field));
	reply_error(rep, BW_ERR_BAD_REQUEST, field, "%s", sep + 2);
}

struct put_ctx {
	const struct request *req;
	struct db_template_put put;
	json_t *reply; /* the template after the change */
};

static enum db_status put_tx(struct db *db, void *arg)
{
	struct put_ctx *c = arg;
	enum db_status st;
	json_t *details;

	json_decref(c->reply);
	c->reply = NULL;
	st = db_job_template_put(db, &c->put);
	if (st < 0)
		return st;
	if (c->put.result != DB_TEMPLATE_UNCHANGED) {
		details = json_pack("{s:i}", "version", c->put.version);
		st = api_audit(db, c->req,
			       c->put.result == DB_TEMPLATE_CREATED ? "job_template.create"
								    : "job_template.version",
			       "job_template", c->put.template_id, details);
		json_decref(details);
		if (st < 0)
			return st;
	}
	st = db_job_template_json(db, c->put.template_id, 0, &c->reply);
	return st < 0 ? st : DB_ONE;
}

void api_job_templates_put(const struct request *req, struct reply *rep)
{
	const char *id = path_template(req, rep);
	json_t *body = NULL, *aws = NULL;
	struct put_ctx c = { .req = req };
	struct jobs_spec spec;
	char msg[512], hash[65];
	char *cfg = NULL;
	int rc;

	jobs_config_spec_init(&spec);
	if (!id || !(body = api_body_object(req, rep)) ||
	    !api_check_fields(body, template_fields, "", rep) ||
	    !(aws = aws_template_body(body, rep)))
		goto out;
	rc = aws_iot_template_prepare(aws, &spec, &cfg, hash, msg, sizeof(msg));
	if (rc == 400) {
		reply_invalid(rep, msg);
		goto out;
	}
	if (rc) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "%s", msg);
		goto out;
	}
	c.put = (struct db_template_put){
		.template_id = id,
		.description = spec.description,
		.document = spec.document,
		.document_source = spec.document_source,
		.config_json = cfg,
		.request_sha256 = hash,
		.actor = req->principal.name[0] ? req->principal.name : NULL,
	};
	if (!api_tx(rep, DB_READ_COMMITTED, put_tx, &c))
		goto out;
	json_t *t = native_template(c.reply);
	c.reply = NULL;
	if (!t) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "cannot render the template");
		goto out;
	}
	reply_json(rep, c.put.result == DB_TEMPLATE_CREATED ? 201 : 200, t);
out:
	json_decref(c.reply);
	json_decref(aws);
	free(cfg);
	jobs_config_spec_cleanup(&spec);
}

/* Reply with version `version` (0 = latest) of the template of the path. */
static void reply_template(const struct request *req, struct reply *rep, int version)
{
	const char *id = path_template(req, rep);
	json_t *t = NULL;
	struct db *db;
	enum db_status st;

	if (!id || !(db = api_db_get(rep)))
		return;
	st = db_job_template_json(db, id, version, &t);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return;
	}
	if (!t) {
		if (version > 0)
			reply_error(rep, BW_ERR_NOT_FOUND, NULL,
				    "job template %s has no version %d", id, version);
		else
			reply_error(rep, BW_ERR_NOT_FOUND, NULL, "job template %s does not exist",
				    id);
		return;
	}
	t = native_template(t);
	if (!t)
		reply_error(rep, BW_ERR_INTERNAL, NULL, "cannot render the template");
	else
		reply_json(rep, 200, t);
}

void api_job_templates_get(const struct request *req, struct reply *rep)
{
	reply_template(req, rep, 0);
}

void api_job_templates_get_version(const struct request *req, struct reply *rep)
{
	const char *v = request_param(req, "version");
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;

	if (!v || !*v || *end || n < 1 || n > INT_MAX) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/version", "version is a positive integer");
		return;
	}
	reply_template(req, rep, (int)n);
}

static json_t *key_of_template(json_t *item)
{
	return json_pack("[s]", json_string_value(json_object_get(item, "template_id")));
}

void api_job_templates_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	const char *after = NULL;
	json_t *items = NULL;
	struct db *db;
	enum db_status st;

	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (page.after) {
		after = json_string_value(json_array_get(page.after, 0));
		if (!after) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/cursor", "invalid cursor");
			goto out;
		}
	}
	if (!(db = api_db_get(rep)))
		goto out;
	st = db_job_templates_list(db, after, page.limit + 1, &items);
	db_pool_put(db);
	if (st < 0 || !items) {
		api_reply_db_error(rep, st < 0 ? st : DB_HARD);
		goto out;
	}
	reply_json(rep, 200, api_page_reply(items, page.limit, key_of_template));
out:
	api_page_cleanup(&page);
}
