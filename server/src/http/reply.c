#include "http/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void reply_init(struct reply *rep, const char *request_id)
{
	memset(rep, 0, sizeof(*rep));
	rep->status = 200;
	rep->request_id = request_id;
	rep->fd = -1;
}

void reply_cleanup(struct reply *rep)
{
	if (rep->fd >= 0)
		close(rep->fd);
	json_decref(rep->json);
	free(rep->body);
	for (int i = 0; i < rep->nheaders; i++) {
		free(rep->headers[i].name);
		free(rep->headers[i].value);
	}
	memset(rep, 0, sizeof(*rep));
	rep->fd = -1;
}

static void reset_body(struct reply *rep)
{
	if (rep->fd >= 0)
		close(rep->fd);
	rep->fd = -1;
	json_decref(rep->json);
	rep->json = NULL;
	free(rep->body);
	rep->body = NULL;
	rep->body_len = 0;
	rep->content_type = NULL;
}

void reply_json(struct reply *rep, unsigned status, json_t *body)
{
	reset_body(rep);
	rep->status = status;
	rep->json = body;
}

void reply_error(struct reply *rep, enum bw_err err, const char *field, const char *fmt, ...)
{
	char msg[1024];
	json_t *e;

	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	} else {
		snprintf(msg, sizeof(msg), "%s", bw_err_message(err));
	}
	e = json_pack("{s:s, s:s}", "code", bw_err_code(err), "message", msg);
	if (e && field)
		json_object_set_new(e, "field", json_string(field));
	if (e)
		json_object_set_new(e, "request_id",
				    rep->request_id ? json_string(rep->request_id) : json_null());
	reply_json(rep, bw_err_http_status(err), e ? json_pack("{s:o}", "error", e) : NULL);
	rep->err = err;
	rep->is_aws_error = false;
}

void reply_aws_error(struct reply *rep, enum bw_err err, const char *fmt, ...)
{
	char msg[1024];

	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	} else {
		snprintf(msg, sizeof(msg), "%s", bw_err_message(err));
	}
	reply_json(rep, bw_err_http_status(err), json_pack("{s:s}", "message", msg));
	reply_header(rep, "x-amzn-ErrorType", bw_err_aws_type(err));
	rep->err = err;
	rep->is_aws_error = true;
}

void reply_raw(struct reply *rep, unsigned status, const char *content_type, const char *data,
	       size_t len)
{
	reset_body(rep);
	rep->status = status;
	rep->content_type = content_type;
	rep->body = malloc(len + 1);
	if (!rep->body) {
		rep->status = 500;
		return;
	}
	if (len)
		memcpy(rep->body, data, len);
	rep->body[len] = '\0';
	rep->body_len = len;
}

void reply_file(struct reply *rep, unsigned status, const char *content_type, int fd,
		uint64_t offset, uint64_t length)
{
	reset_body(rep);
	rep->status = status;
	rep->content_type = content_type;
	rep->fd = fd;
	rep->fd_offset = offset;
	rep->fd_length = length;
}

void reply_header(struct reply *rep, const char *name, const char *value)
{
	if (rep->nheaders >= REPLY_MAX_HEADERS)
		return;
	char *n = strdup(name);
	char *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return;
	}
	rep->headers[rep->nheaders].name = n;
	rep->headers[rep->nheaders].value = v;
	rep->nheaders++;
}

const char *request_param(const struct request *req, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < req->nparams; i++) {
		/* param_names point into the route pattern: "thing}/..." */
		if (strncmp(req->param_names[i], name, len) == 0 && req->param_names[i][len] == '}')
			return req->param_values[i];
	}
	return NULL;
}
