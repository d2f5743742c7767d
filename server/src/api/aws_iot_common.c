#include "api/aws_iot_common.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/digest.h"

struct aws_iot_settings aws_iot = { "us-east-1", "123456789012", "" };

static enum bw_err err_for_status(unsigned status)
{
	switch (status) {
	case 400:
		return BW_ERR_BAD_REQUEST;
	case 401:
		return BW_ERR_UNAUTHORIZED;
	case 404:
		return BW_ERR_NOT_FOUND;
	case 409:
		return BW_ERR_CONFLICT;
	case 410:
		return BW_ERR_LIMIT_EXCEEDED;
	case 503:
		return BW_ERR_UNAVAILABLE;
	default:
		return BW_ERR_INTERNAL;
	}
}

static void set_error(struct reply *rep, unsigned status, const char *type, const char *msg,
		      json_t *extra)
{
	json_t *body = extra ? extra : json_object();

	if (body) {
		json_object_set_new(body, "message", json_string(msg));
		json_object_set_new(body, "__type", json_string(type));
	}
	reply_json(rep, status, body);
	reply_header(rep, "x-amzn-ErrorType", type);
	rep->err = err_for_status(status);
	rep->is_aws_error = true;
}

void aws_iot_error(struct reply *rep, unsigned status, const char *type, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_error(rep, status, type, msg, NULL);
}

void aws_iot_already_exists(struct reply *rep, const char *id, const char *arn, const char *msg)
{
	set_error(rep, 409, "ResourceAlreadyExistsException", msg,
		  json_pack("{s:s, s:s}", "resourceId", id, "resourceArn", arn));
}

void aws_iot_db_error(struct reply *rep, enum db_status st)
{
	if (st == DB_RETRY) {
		aws_iot_error(rep, 503, "ServiceUnavailableException",
			      "too much contention, retry later");
		reply_header(rep, "Retry-After", "1");
	} else {
		aws_iot_error(rep, 500, "InternalFailureException", "internal error");
	}
}

bool aws_iot_tx(struct reply *rep, enum db_isolation iso, db_tx_fn fn, void *ctx)
{
	struct db *db = db_pool_get();
	enum db_status st;

	if (!db) {
		aws_iot_error(rep, 503, "ServiceUnavailableException", "database unavailable");
		reply_header(rep, "Retry-After", "1");
		return false;
	}
	st = db_tx_run(db, iso, fn, ctx);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return false;
	}
	return true;
}

void aws_iot_arn(char *out, size_t cap, const char *type, const char *name)
{
	snprintf(out, cap, "arn:aws:iot:%s:%s:%s/%s", aws_iot.region, aws_iot.account, type, name);
}

json_t *aws_iot_body(const struct request *req, struct reply *rep)
{
	json_error_t jerr;
	json_t *v;

	if (!req->body || req->body_len == 0)
		return json_object();
	v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
			      jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "the body must be a JSON object");
		return NULL;
	}
	return v;
}

json_t *aws_iot_ts(int64_t ms)
{
	if (ms % 1000 == 0)
		return json_integer(ms / 1000);
	return json_real((double)ms / 1000.0);
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || strlen(s) > 19)
		return false;
	for (const char *c = s; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	v = strtoll(s, &end, 10);
	if (*end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool aws_iot_page(const struct request *req, struct reply *rep, int def, int *max_results,
		  int64_t *after)
{
	const char *m = request_query(req, "maxResults");
	const char *t = request_query(req, "nextToken");
	int64_t v;

	*max_results = def;
	*after = 0;
	if (m) {
		if (!parse_i64(m, 1, AWS_IOT_MAX_RESULTS, &v)) {
			aws_iot_error(rep, 400, "InvalidRequestException",
				      "maxResults must be an integer from 1 to %d",
				      AWS_IOT_MAX_RESULTS);
			return false;
		}
		*max_results = (int)v;
	}
	if (t) {
		if (strncmp(t, "bw1.", 4) != 0 || !parse_i64(t + 4, 1, INT64_MAX, &v)) {
			aws_iot_error(rep, 400, "InvalidRequestException", "invalid nextToken");
			return false;
		}
		*after = v;
	}
	return true;
}

void aws_iot_token(int64_t key, char out[32])
{
	snprintf(out, 32, "bw1.%" PRId64, key);
}

bool aws_iot_query_bool(const struct request *req, struct reply *rep, const char *name, bool *out)
{
	const char *v = request_query(req, name);

	*out = false;
	if (!v)
		return true;
	if (strcmp(v, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "false") == 0)
		return true;
	aws_iot_error(rep, 400, "InvalidRequestException", "%s must be true or false", name);
	return false;
}

const char *aws_iot_actor(const struct request *req)
{
	return req->principal.name[0] ? req->principal.name : "aws";
}

bool aws_iot_request_hash(const json_t *v, char out[65])
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (!text)
		return false;
	digest_sha256_hex(text, strlen(text), out);
	free(text);
	return true;
}
