/* Native REST for jobs (/api/v1/jobs): snake_case bodies and replies, bearer tokens. Settings
 * are the AWS ones with snake_case keys (abort_config.criteria_list[0].failure_type ...), turned
 * into the CreateJob body and validated by jobs/config through the control plane's core. */
#include "api/jobs_native.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/aws_iot_common.h"
#include "api/common.h"
#include "api/jobs_control.h"
#include "api/native_keys.h"
#include "core/strutil.h"
#include "crypto/digest.h"
#include "db/job_counts.h"
#include "db/jobs.h"
#include "jobs/ota.h"
#include "jobs/render.h"
#include "jobs/text.h"

/* String member key of obj, or NULL. */
static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void ts_text(int64_t ms, char out[40])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
}

static json_t *ts_json(int64_t ms)
{
	char t[40];

	if (!ms)
		return json_null();
	ts_text(ms, t);
	return json_string(t);
}

static json_t *counts_json(const struct jobs_job_counts *c)
{
	json_t *o = json_object();
	char key[32];

	for (int s = 0; o && s < JOBS_EXEC__COUNT; s++) {
		snprintf(key, sizeof(key), "%s", jobs_exec_status_name((enum jobs_exec_status)s));
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(o, key, json_integer(c->by_status[s]));
	}
	return o;
}

static json_t *job_json(const struct db_job *j)
{
	char id[24];
	json_t *cfg = api_convert_keys(j->config, false);
	json_t *doc = json_loads(j->document, 0, NULL);
	json_t *o;

	snprintf(id, sizeof(id), "%" PRId64, j->pk);
	if (cfg) {
		json_object_del(cfg, "targets");
		json_object_del(cfg, "target_selection");
		json_object_del(cfg, "description");
		json_object_del(cfg, "job_template_arn");
	}
	o = json_pack(
		"{s:s, s:s, s:s, s:s, s:O, s:s?, s:o*, s:s?, s:o*, s:b, s:s?, s:s?, s:s,"
		" s:o, s:o, s:o, s:I, s:b, s:o, s:I, s:I}",
		"id", id, "job_id", j->job_id, "status", jobs_job_status_name(j->status),
		"target_selection", jobs_target_selection_name(j->target_selection), "targets",
		j->targets, "description", j->description, "document", doc, "template_id",
		j->template_id, "config", cfg, "force_canceled", j->force_canceled, "reason_code",
		j->reason_code, "comment", j->comment, "created_by", j->created_by, "created_at",
		ts_json(j->created_at_ms), "updated_at", ts_json(j->last_updated_at_ms),
		"completed_at", ts_json(j->completed_at_ms), "version", (json_int_t)j->version,
		"is_concurrent",
		j->pending_targets > 0 && j->status == JOBS_JOB_IN_PROGRESS &&
			!j->is_rollout_stopped,
		"counts", counts_json(&j->counts), "target_count", (json_int_t)j->target_count,
		"pending_targets", (json_int_t)j->pending_targets);
	return o;
}

static const char *path_job(const struct request *req, struct reply *rep)
{
	const char *id = request_param(req, "job");

	if (!id || !strutil_is_valid_job_id(id)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/job_id",
			    "job ids are 1..64 characters of a-z A-Z 0-9 _ -");
		return NULL;
	}
	return id;
}

/* Load and reply the job (status 200 or 201). */
static void reply_job(struct reply *rep, const char *job_id, unsigned status)
{
	struct db_job j;
	struct db *db = api_db_get(rep);
	enum db_status st;

	if (!db)
		return;
	st = db_jobs_load(db, job_id, true, &j);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return;
	}
	if (st == DB_NONE) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "job '%s' not found", job_id);
		return;
	}
	reply_json(rep, status, job_json(&j));
	db_job_cleanup(&j);
}

static const char *const create_fields[] = { "job_id",
					     "targets",
					     "document",
					     "document_source",
					     "description",
					     "target_selection",
					     "presigned_url_config",
					     "job_executions_rollout_config",
					     "abort_config",
					     "timeout_config",
					     "job_executions_retry_config",
					     "scheduling_config",
					     "job_template_id",
					     "job_template_version",
					     NULL };

static const char *const ota_fields[] = { "job_id",
					  "targets",
					  "description",
					  "target_selection",
					  "presigned_url_config",
					  "job_executions_rollout_config",
					  "abort_config",
					  "timeout_config",
					  "job_executions_retry_config",
					  "scheduling_config",
					  "release_id",
					  "artifact",
					  "protocols",
					  "stream_id",
					  "file_id",
					  "filepath",
					  "certfile",
					  "revert",
					  NULL };

/* The AWS CreateJob body for a native body: settings with camelCase keys, targets as ARNs,
 * the document as text (when given). NULL with a 400/500 reply set. */
static json_t *aws_body(json_t *body, struct reply *rep)
{
	json_t *out = json_object(), *targets = json_array(), *v, *t;
	const char *k;
	char arn[AWS_IOT_ARN_MAX], camel[API_NATIVE_KEY_MAX], field[64];
	size_t i;

	if (!out || !targets)
		goto oom;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "job_id") == 0 || strcmp(k, "targets") == 0 ||
		    strcmp(k, "document") == 0 || strcmp(k, "job_template_id") == 0 ||
		    strcmp(k, "job_template_version") == 0 || strcmp(k, "release_id") == 0 ||
		    strcmp(k, "artifact") == 0 || strcmp(k, "protocols") == 0 ||
		    strcmp(k, "stream_id") == 0 || strcmp(k, "file_id") == 0 ||
		    strcmp(k, "filepath") == 0 || strcmp(k, "certfile") == 0 ||
		    strcmp(k, "revert") == 0)
			continue;
		if (!api_snake_to_camel(k, camel, sizeof(camel)) ||
		    json_object_set_new(out, camel, api_convert_keys(v, true)) != 0)
			goto oom;
	}
	v = json_object_get(body, "targets");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/targets",
			    "targets is a non-empty array of {\"type\": \"thing\"|\"group\", "
			    "\"name\": ...}");
		goto fail;
	}
	json_array_foreach(v, i, t) {
		const char *type = jstr(t, "type"), *name = jstr(t, "name");
		bool is_thing = type && strcmp(type, "thing") == 0;
		bool is_group = type && strcmp(type, "group") == 0;
		snprintf(field, sizeof(field), "/targets/%zu", i);
		if (!json_is_object(t) || json_object_size(t) != 2 || (!is_thing && !is_group) ||
		    !name ||
		    !(is_thing ? strutil_is_valid_thing_name(name)
			       : strutil_is_valid_group_name(name))) {
			reply_error(rep, BW_ERR_BAD_REQUEST, field,
				    "a target is {\"type\": \"thing\"|\"group\", \"name\": <valid "
				    "name>}");
			goto fail;
		}
		aws_iot_arn(arn, sizeof(arn), is_thing ? "thing" : "thinggroup", name);
		if (json_array_append_new(targets, json_string(arn)) != 0)
			goto oom;
	}
	json_object_set_new(out, "targets", targets);
	targets = NULL;
	v = json_object_get(body, "document");
	if (v) {
		if (!json_is_object(v)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/document",
				    "document must be a JSON object");
			goto fail;
		}
		char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (!text || json_object_set_new(out, "document", json_string(text)) != 0) {
			free(text);
			goto oom;
		}
		free(text);
	}
	v = json_object_get(body, "job_template_id");
	if (v) {
		if (!json_is_string(v) || !strutil_is_valid_job_id(json_string_value(v))) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/job_template_id",
				    "job_template_id must be a valid template id");
			goto fail;
		}
		aws_iot_arn(arn, sizeof(arn), "jobtemplate", json_string_value(v));
		json_object_set_new(out, "jobTemplateArn", json_string(arn));
	}
	return out;
oom:
	reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
fail:
	json_decref(out);
	json_decref(targets);
	return NULL;
}

/* Map a create outcome to the native reply (201 new, 200 repeat). */
static void reply_create(struct reply *rep, const char *job_id,
			 const struct aws_iot_create_result *res)
{
	char field[256];
	const char *colon;

	switch (res->outcome) {
	case AWS_IOT_CREATE_OK:
	case AWS_IOT_CREATE_SAME:
		reply_job(rep, job_id, res->outcome == AWS_IOT_CREATE_OK ? 201 : 200);
		break;
	case AWS_IOT_CREATE_INVALID:
		/* "/abortConfig/criteriaList/0: reason" -> field "/abort_config/criteria_list/0" */
		colon = strstr(res->msg, ": ");
		field[0] = '\0';
		if (res->msg[0] == '/' && colon && (size_t)(colon - res->msg) < sizeof(field) / 2) {
			char camel[128];
			snprintf(camel, sizeof(camel), "%.*s", (int)(colon - res->msg), res->msg);
			api_camel_to_snake(camel, field, sizeof(field));
		}
		reply_error(rep, BW_ERR_BAD_REQUEST, field[0] ? field : NULL, "%s", res->msg);
		break;
	case AWS_IOT_CREATE_CONFLICT:
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/job_id", "%s", res->msg);
		break;
	case AWS_IOT_CREATE_NOT_FOUND:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "%s", res->msg);
		break;
	case AWS_IOT_CREATE_DB_ERROR:
		api_reply_db_error(rep, res->db_status);
		break;
	}
}

static const char *body_job_id(json_t *body, struct reply *rep)
{
	const char *id = jstr(body, "job_id");

	if (!id || !strutil_is_valid_job_id(id)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/job_id",
			    "job_id is required: 1..64 characters of a-z A-Z 0-9 _ -");
		return NULL;
	}
	return id;
}

void api_jobs_create(const struct request *req, struct reply *rep)
{
	json_t *body = api_body_object(req, rep), *aws;
	struct aws_iot_create_result res;
	const char *job_id;

	if (!body || !api_check_fields(body, create_fields, "", rep) ||
	    !(job_id = body_job_id(body, rep)) || !(aws = aws_body(body, rep)))
		return;
	struct aws_iot_create_in in = { .job_id = job_id, .body = aws, .now_ms = aws_iot_now_ms() };
	json_t *v = json_object_get(body, "job_template_version");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > INT32_MAX) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/job_template_version",
				    "job_template_version is a positive integer");
			json_decref(aws);
			return;
		}
		in.template_version = (int)json_integer_value(v);
	}
	aws_iot_jobs_create(req, &in, &res);
	json_decref(aws);
	reply_create(rep, job_id, &res);
}

/* ---- OTA jobs from firmware releases ---- */

struct ota_stream {
	char stream_id[JOBS_OTA_STREAM_NAME_MAX + 1];
	struct db_stream_file file;
	bool use_mqtt;
};

static enum db_status ota_extra(struct db *db, int64_t job_pk, void *arg)
{
	struct ota_stream *s = arg;
	enum db_status st;

	if (!s->use_mqtt)
		return DB_ONE;
	st = db_jobs_stream_create(db, s->stream_id, "OTA stream", job_pk, &s->file, 1);
	/* a stream of that id exists already (another job): the document would point at foreign
	 * content, so refuse */
	return st == DB_NONE ? DB_HARD : st;
}

void api_jobs_create_ota(const struct request *req, struct reply *rep)
{
	json_t *body = api_body_object(req, rep), *aws = NULL, *doc = NULL, *v;
	struct aws_iot_create_result res;
	struct ota_stream stream = { 0 };
	struct db_rows *rows = NULL;
	const char *job_id, *release, *artifact, *filepath, *certfile;
	json_t *hw_types = NULL;
	bool use_http = false, is_revert = false;
	int file_id = 0;
	char msg[256], *url = NULL, *placeholder = NULL, *text = NULL;
	size_t i;

	if (!body || !api_check_fields(body, ota_fields, "", rep) ||
	    !(job_id = body_job_id(body, rep)))
		return;
	release = jstr(body, "release_id");
	artifact = jstr(body, "artifact");
	filepath = jstr(body, "filepath");
	certfile = jstr(body, "certfile");
	if (!release || strspn(release, "0123456789") != strlen(release) || strlen(release) > 18) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/release_id",
			    "release_id is the id of a published firmware release");
		return;
	}
	v = json_object_get(body, "protocols");
	json_t *p;
	if (v && (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 2)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/protocols",
			    "protocols is [\"MQTT\"], [\"HTTP\"] or both");
		return;
	}
	if (!v)
		stream.use_mqtt = true;
	json_array_foreach(v, i, p) {
		const char *s = json_string_value(p);
		if (s && strcmp(s, "MQTT") == 0) {
			stream.use_mqtt = true;
		} else if (s && strcmp(s, "HTTP") == 0) {
			use_http = true;
		} else {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/protocols",
				    "protocols is [\"MQTT\"], [\"HTTP\"] or both");
			return;
		}
	}
	v = json_object_get(body, "revert");
	if (v && !json_is_boolean(v)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/revert", "revert is a boolean");
		return;
	}
	is_revert = json_is_true(v);
	v = json_object_get(body, "file_id");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 255) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/file_id", "file_id is 0..255");
			return;
		}
		file_id = (int)json_integer_value(v);
	}
	v = json_object_get(body, "stream_id");
	if (v) {
		const char *s = json_string_value(v);
		if (!s || strlen(s) > JOBS_OTA_STREAM_NAME_MAX ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			    strlen(s) ||
		    !*s) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/stream_id",
				    "stream_id is 1..44 characters of a-z A-Z 0-9 _ -");
			return;
		}
		snprintf(stream.stream_id, sizeof(stream.stream_id), "%s", s);
	} else if (strlen(job_id) <= JOBS_OTA_STREAM_NAME_MAX - 8) {
		snprintf(stream.stream_id, sizeof(stream.stream_id), "AFR_OTA-%s", job_id);
	} else { /* deterministic, so a repeated request is idempotent */
		char hex[DIGEST_SHA256_HEX_LEN];
		digest_sha256_hex(job_id, strlen(job_id), hex);
		snprintf(stream.stream_id, sizeof(stream.stream_id), "AFR_OTA-%.36s", hex);
	}
	int expires = JOBS_PRESIGN_DEFAULT_SEC;
	v = json_object_get(body, "presigned_url_config");
	if (v && json_is_integer(json_object_get(v, "expires_in_sec")))
		expires = (int)json_integer_value(json_object_get(v, "expires_in_sec"));
	/* the release's artifact: by name, else its only one */
	const char *params[] = { release, artifact };
	struct db *db = api_db_get(rep);
	if (!db)
		return;
	enum db_status st = db_exec(
		db,
		"SELECT a.id, a.size_bytes, a.sha256, a.signature, r.state, r.firmware_version,"
		" r.security_version, r.min_version, array_to_json(r.hardware_types)::text,"
		" r.manifest, EXISTS (SELECT 1 FROM firmware_known_safe k WHERE k.release_id = r.id)"
		" FROM firmware_artifacts a JOIN firmware_releases r ON r.id = a.release_id WHERE"
		" r.id = $1::bigint AND ($2::text IS NULL OR a.name = $2) ORDER BY a.id",
		2, params, &rows);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	if (st == DB_NONE) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release %s has no such artifact",
			    release);
		goto out;
	}
	if (rows->nrows > 1) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/artifact",
			    "the release has several artifacts: name one");
		goto out;
	}
	if (strcmp(db_rows_get(rows, 0, 4), "published") != 0) {
		reply_error(rep, BW_ERR_CONFLICT, "/release_id",
			    "release %s is %s: only published releases can be deployed", release,
			    db_rows_get(rows, 0, 4));
		goto out;
	}
	if (is_revert && strcmp(db_rows_get(rows, 0, 10), "t") != 0) {
		reply_error(
			rep, BW_ERR_CONFLICT, "/revert",
			"release %s is not a known-safe release: devices accept a downgrade only "
			"to the known-safe release (PUT /api/v1/firmware/known-safe/{hw})",
			release);
		goto out;
	}
	stream.file.file_id = file_id;
	snprintf(stream.file.sha256, sizeof(stream.file.sha256), "%s", db_rows_get(rows, 0, 2));
	stream.file.size_bytes = (uint64_t)strtoull(db_rows_get(rows, 0, 1), NULL, 10);
	if (use_http) {
		url = api_jobs_artifact_url(db_rows_get(rows, 0, 0), expires);
		placeholder = url ? jobs_ota_placeholder(url) : NULL;
		if (!placeholder) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			goto out;
		}
	}
	struct jobs_ota_file f = {
		.filepath = filepath,
		.filesize = stream.file.size_bytes,
		.fileid = file_id,
		.certfile = certfile,
		.signature = db_rows_get(rows, 0, 3),
		.update_data_url = placeholder,
	};
	struct jobs_ota_release r = {
		.use_mqtt = stream.use_mqtt,
		.use_http = use_http,
		.stream_name = stream.use_mqtt ? stream.stream_id : NULL,
		.files = &f,
		.file_count = 1,
	};
	if (jobs_ota_document_new(&r, &doc, msg, sizeof(msg)) != JOBS_OK) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL, "cannot build the OTA document: %s",
			    msg);
		goto out;
	}
	/* what a Bellwether device checks before downloading (docs/AGENT.md) */
	hw_types = json_loads(db_rows_get(rows, 0, 8), 0, NULL);
	struct jobs_ota_bellwether bw = {
		.release_id = release,
		.version = db_rows_get(rows, 0, 5),
		.security_version = (uint32_t)strtoul(db_rows_get(rows, 0, 6), NULL, 10),
		.min_version = db_rows_get(rows, 0, 7),
		.hardware_types = hw_types,
		.sha256 = stream.file.sha256,
		.revert = is_revert,
		.manifest = db_rows_get(rows, 0, 9),
	};
	enum jobs_err bw_err = jobs_ota_bellwether_add(doc, &bw, msg, sizeof(msg));
	if (bw_err != JOBS_OK) {
		reply_error(rep, bw_err == JOBS_ERR_INTERNAL ? BW_ERR_INTERNAL : BW_ERR_BAD_REQUEST,
			    NULL, "cannot build the OTA document: %s", msg);
		goto out;
	}
	if (!(aws = aws_body(body, rep)))
		goto out;
	text = json_dumps(doc, JSON_COMPACT);
	if (!text || json_object_set_new(aws, "document", json_string(text)) != 0) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	struct aws_iot_create_in in = { .job_id = job_id,
					.body = aws,
					.now_ms = aws_iot_now_ms(),
					.extra = ota_extra,
					.extra_arg = &stream };
	aws_iot_jobs_create(req, &in, &res);
	if (res.outcome == AWS_IOT_CREATE_DB_ERROR && res.db_status == DB_HARD && stream.use_mqtt) {
		reply_error(rep, BW_ERR_CONFLICT, "/stream_id",
			    "could not create the job (is stream %s already used?)",
			    stream.stream_id);
		goto out;
	}
	reply_create(rep, job_id, &res);
out:
	db_rows_free(rows);
	json_decref(aws);
	json_decref(doc);
	json_decref(hw_types);
	free(url);
	free(placeholder);
	free(text);
}

/* ---- reads ---- */

static __thread int64_t page_key; /* key of the last kept row, for key_fn */

static json_t *key_of_page(json_t *item)
{
	(void)item;
	return json_pack("[I]", (json_int_t)page_key);
}

void api_jobs_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct db_jobs_filter f = { 0 };
	struct db_job *jobs = NULL;
	enum jobs_job_status js;
	enum jobs_target_selection sel;
	char before[32];
	int n = 0;

	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (!api_page_before_id(&page, rep, before))
		goto out;
	f.status = request_query(req, "status");
	f.target_selection = request_query(req, "target_selection");
	if (f.status && !jobs_job_status_parse(f.status, &js)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/status", "unknown job status");
		goto out;
	}
	if (f.target_selection && !jobs_target_selection_parse(f.target_selection, &sel)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/target_selection",
			    "target_selection is SNAPSHOT or CONTINUOUS");
		goto out;
	}
	f.before_pk = strtoll(before, NULL, 10);
	f.limit = page.limit;
	struct db *db = api_db_get(rep);
	if (!db)
		goto out;
	enum db_status st = db_jobs_list(db, &f, &jobs, &n);
	if (st >= 0)
		st = db_jobs_fill_counts(db, jobs, n);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	json_t *items = json_array();
	for (int i = 0; items && i < n; i++)
		json_array_append_new(items, job_json(&jobs[i]));
	if (n > page.limit)
		page_key = jobs[page.limit - 1].pk;
	reply_json(rep, 200, api_page_reply(items, page.limit, key_of_page));
out:
	for (int i = 0; i < n; i++)
		db_job_cleanup(&jobs[i]);
	free(jobs);
	api_page_cleanup(&page);
}

void api_jobs_get(const struct request *req, struct reply *rep)
{
	const char *job_id = path_job(req, rep);

	if (job_id)
		reply_job(rep, job_id, 200);
}

struct change_ctx {
	const struct request *req;
	const char *job_id;
	bool force;
	bool is_delete;
	const char *reason_code;
	const char *comment;
	enum db_jobs_change_result result;
};

static enum db_status change_tx(struct db *db, void *arg)
{
	struct change_ctx *c = arg;
	int64_t pk, now = aws_iot_now_ms();
	enum db_status st;

	if (c->is_delete)
		st = db_jobs_delete(db, c->job_id, c->force, now, &c->result);
	else
		st = db_jobs_cancel(db, c->job_id, c->force, c->reason_code, c->comment, now,
				    aws_iot_actor(c->req), &c->result, &pk);
	if (st < 0 || c->result != DB_JOBS_CHANGED)
		return st;
	json_t *d = json_pack("{s:b}", "force", c->force);
	st = api_audit(db, c->req, c->is_delete ? "job.delete" : "job.cancel", "job", c->job_id, d);
	json_decref(d);
	return st;
}

static bool run_change(struct reply *rep, struct change_ctx *c)
{
	if (!api_tx(rep, DB_READ_COMMITTED, change_tx, c))
		return false;
	switch (c->result) {
	case DB_JOBS_CHANGED:
		return true;
	case DB_JOBS_NOT_FOUND:
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "job '%s' not found", c->job_id);
		break;
	case DB_JOBS_LIMIT:
		reply_error(rep, BW_ERR_LIMIT_EXCEEDED, NULL,
			    "at most 10 jobs may be being deleted at once");
		break;
	default:
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "job '%s' cannot be %s in its current status%s", c->job_id,
			    c->is_delete ? "deleted" : "canceled",
			    c->is_delete && !c->force ? " (use force=true)" : "");
		break;
	}
	return false;
}

void api_jobs_cancel(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "force", "reason_code", "comment", NULL };
	struct change_ctx c = { .req = req };
	json_t *body = req->json, *v;

	if (!(c.job_id = path_job(req, rep)))
		return;
	if (body) {
		if (!json_is_object(body)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "", "the body must be a JSON object");
			return;
		}
		if (!api_check_fields(body, fields, "", rep) ||
		    !api_opt_string(body, "reason_code", "", &c.reason_code, NULL, rep) ||
		    !api_opt_string(body, "comment", "", &c.comment, NULL, rep))
			return;
		v = json_object_get(body, "force");
		if (v && !json_is_boolean(v)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/force", "force is a boolean");
			return;
		}
		c.force = json_is_true(v);
		if (c.reason_code && !jobs_text_is_valid_reason_code(c.reason_code)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/reason_code",
				    "reason_code is 1..128 characters of A-Z 0-9 _");
			return;
		}
		if (c.comment && !jobs_text_is_printable(c.comment, strlen(c.comment), 1,
							 JOBS_DESCRIPTION_MAX)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/comment",
				    "comment is 1..2028 printable characters");
			return;
		}
	}
	if (run_change(rep, &c))
		reply_job(rep, c.job_id, 200);
}

void api_jobs_delete(const struct request *req, struct reply *rep)
{
	struct change_ctx c = { .req = req, .is_delete = true };
	const char *force = request_query(req, "force");

	if (!(c.job_id = path_job(req, rep)))
		return;
	if (force && strcmp(force, "true") != 0 && strcmp(force, "false") != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/force", "force is true or false");
		return;
	}
	c.force = force && strcmp(force, "true") == 0;
	if (run_change(rep, &c))
		reply_raw(rep, 204, "application/json", "", 0);
}

static json_t *exec_json(const struct jobs_execution *e)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:O?, s:I, s:I, s:b, s:o, s:o, s:o, s:I}", "job_id",
			      e->job_id, "thing", e->thing_name, "status",
			      jobs_exec_status_name(e->status), "status_details", e->status_details,
			      "version_number", (json_int_t)e->version_number, "execution_number",
			      (json_int_t)e->execution_number, "force_canceled", e->force_canceled,
			      "queued_at", ts_json(e->queued_at_ms), "started_at",
			      ts_json(e->started_at_ms), "updated_at",
			      ts_json(e->last_updated_at_ms), "retry_attempt",
			      (json_int_t)(e->retries.after_failed + e->retries.after_timed_out));
	int64_t dl = jobs_execution_deadline_ms(e);
	if (o)
		json_object_set_new(o, "timeout_at", dl ? ts_json(dl) : json_null());
	return o;
}

void api_jobs_executions(const struct request *req, struct reply *rep)
{
	const char *job_id = path_job(req, rep), *status = request_query(req, "status");
	struct db_jobs_exec_row *rows = NULL;
	struct api_page page;
	struct db_job j = { 0 };
	enum jobs_exec_status es;
	int n = 0;
	int64_t after = 0;

	if (!job_id || !api_page_parse(req, rep, 1, &page))
		return;
	if (page.after) {
		json_t *k = json_array_get(page.after, 0);
		if (!json_is_integer(k)) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		after = json_integer_value(k);
	}
	if (status && !jobs_exec_status_parse(status, &es)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/status", "unknown execution status");
		goto out;
	}
	struct db *db = api_db_get(rep);
	if (!db)
		goto out;
	enum db_status st = db_jobs_load(db, job_id, false, &j);
	if (st > 0)
		st = db_jobs_exec_list(db, true, j.pk, status, NULL, after, page.limit, &rows, &n);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	if (!j.pk) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "job '%s' not found", job_id);
		goto out;
	}
	json_t *items = json_array();
	for (int i = 0; items && i < n; i++)
		json_array_append_new(items, exec_json(&rows[i].e));
	if (n > page.limit)
		page_key = rows[page.limit - 1].seq;
	reply_json(rep, 200, api_page_reply(items, page.limit, key_of_page));
out:
	db_jobs_exec_rows_free(rows, n);
	db_job_cleanup(&j);
	api_page_cleanup(&page);
}

static json_t *history_key(json_t *item)
{
	return json_pack("[I]", (json_int_t)strtoll(jstr(item, "id"), NULL, 10));
}

void api_jobs_execution_history(const struct request *req, struct reply *rep)
{
	const char *job_id = path_job(req, rep), *thing = request_param(req, "thing");
	struct api_page page;
	json_t *items = NULL;
	int64_t after = 0;

	if (!job_id)
		return;
	if (!thing || !strutil_is_valid_thing_name(thing)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/thing",
			    "thing names are 1..128 characters of a-z A-Z 0-9 : _ -");
		return;
	}
	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (page.after) {
		json_t *k = json_array_get(page.after, 0);
		if (!json_is_integer(k)) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		after = json_integer_value(k);
	}
	struct db *db = api_db_get(rep);
	if (!db)
		goto out;
	enum db_status st = db_jobs_history(db, job_id, thing, after, page.limit, &items);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	if (!items) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "no execution of job '%s' on '%s'", job_id,
			    thing);
		goto out;
	}
	reply_json(rep, 200, api_page_reply(items, page.limit, history_key));
	items = NULL;
out:
	json_decref(items);
	api_page_cleanup(&page);
}
