/* Our request and reply types: handlers in api/ see only these, never libmicrohttpd. */
#ifndef BW_HTTP_REQUEST_H
#define BW_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/roles.h"
#include "core/errors.h"

#define REQUEST_MAX_PARAMS 8

struct route;

/* Who made the request (filled by authentication). */
struct principal {
	int64_t token_id; /* 0 when unauthenticated or a non-token principal */
	char name[129];	  /* token name, for the audit log */
	enum role role;
	/* SigV4 credential-scope service ("iot", "iot-jobs-data", "iotdata", ...) of an AWS_SIGV4
	 * request; "" otherwise. Routes whose path exists in several AWS planes dispatch on it
	 * (spec 4.3). */
	char aws_service[64];
};

struct request {
	const char *method;
	const char *path; /* decoded path without query string */
	const char *request_id;
	const struct route *route;
	const char *param_names[REQUEST_MAX_PARAMS];
	char *param_values[REQUEST_MAX_PARAMS]; /* owned by the request, percent-decoded */
	int nparams;
	const char *body; /* raw body bytes (NUL-terminated), NULL if none */
	size_t body_len;
	json_t *json; /* parsed body for BODY_JSON routes (owned by the request) */
	struct principal principal;
	void *impl; /* http layer's connection, opaque to handlers */
};

/* Path parameter by name from the route pattern ("{thing}" -> "thing"); NULL if absent. */
const char *request_param(const struct request *req, const char *name);
/* Query string argument (decoded); NULL if absent. */
const char *request_query(const struct request *req, const char *name);
/* Request header (case-insensitive); NULL if absent. */
const char *request_header(const struct request *req, const char *name);

/* Reply under construction. The handler fills it; http/server.c serialises it. */
struct reply_header {
	char *name;
	char *value;
};

#define REPLY_MAX_HEADERS 8

struct reply {
	unsigned status;
	json_t *json; /* owned; serialised compactly when set */
	char *body;   /* owned raw body, used when json is NULL */
	size_t body_len;
	const char *content_type; /* static string; default application/json */
	struct reply_header headers[REPLY_MAX_HEADERS];
	int nheaders;
	enum bw_err err;	/* set by reply_error, for metrics and logs */
	const char *request_id; /* borrowed, set by the server before the handler runs */
	bool is_aws_error;	/* AWS-style error body + x-amzn-ErrorType */
	int fd;			/* file body (reply_file): owned, -1 when unused */
	uint64_t fd_offset;
	uint64_t fd_length;
};

void reply_init(struct reply *rep, const char *request_id);
void reply_cleanup(struct reply *rep);
/* Set a JSON reply; body is stolen (json_decref'd later). */
void reply_json(struct reply *rep, unsigned status, json_t *body);
/* Native error: {"error":{"code","message","field"?,"request_id"}} with the error's HTTP status.
 * field is a JSON pointer or NULL; fmt NULL uses the registry's default message. */
void reply_error(struct reply *rep, enum bw_err err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* AWS error: header x-amzn-ErrorType: <type> and body {"message": ...}. */
void reply_aws_error(struct reply *rep, enum bw_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Raw body (copied). */
void reply_raw(struct reply *rep, unsigned status, const char *content_type, const char *data,
	       size_t len);
/* Send length bytes of fd from offset (zero-copy where the platform allows). fd is owned by the
 * reply from now on (closed after sending or by reply_cleanup). */
void reply_file(struct reply *rep, unsigned status, const char *content_type, int fd,
		uint64_t offset, uint64_t length);
/* Add a header (copied); silently ignored past REPLY_MAX_HEADERS. */
void reply_header(struct reply *rep, const char *name, const char *value);

#endif
