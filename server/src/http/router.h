/* Route table matching: method + pattern ("/api/v1/things/{thing}") -> route. */
#ifndef BW_HTTP_ROUTER_H
#define BW_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/roles.h"
#include "http/request.h"

enum body_mode {
	BODY_NONE = 0,	/* body ignored */
	BODY_JSON,	/* body capped by BW_HTTP_MAX_BODY, parsed into request.json */
	BODY_JSON_BULK, /* like BODY_JSON, capped by BW_HTTP_BULK_MAX_BODY */
	BODY_RAW,	/* raw bytes capped by BW_HTTP_MAX_BODY, any Content-Type, not parsed */
	BODY_STREAM	/* raw body streamed to route->stream callbacks, capped by BW_UPLOAD_MAX */
};

enum auth_mode {
	AUTH_BEARER = 0, /* bearer API token with at least min_role */
	AUTH_PUBLIC,	 /* no authentication */
	AUTH_SIGV4,	 /* AWS Signature V4 (AWS-compatible routes); errors in AWS shape */
};

typedef void (*route_handler_fn)(const struct request *req, struct reply *rep);

/* Streaming request bodies (uploads): never buffered whole.
 * begin: after routing/auth, before any body byte; returns an owned state, or NULL after
 *        setting an error reply (sent at once; the body is discarded).
 * chunk: called for each piece of the body, in order; returns false to fail the upload (the
 *        rest of the body is discarded; end still runs and reports the error).
 * end:   the whole body arrived (or chunk failed); fills the reply and frees the state.
 * abort: the connection ended before end ran (client gone, shutdown); frees the state. */
struct route_stream {
	void *(*begin)(const struct request *req, struct reply *rep);
	bool (*chunk)(void *state, const char *data, size_t len);
	void (*end)(void *state, const struct request *req, struct reply *rep);
	void (*abort)(void *state);
};

struct route {
	const char *method;
	const char *pattern;
	route_handler_fn handler;
	enum role min_role;
	enum body_mode body;
	enum auth_mode auth;
	const char *name;		   /* metrics label; defaults to the pattern */
	const struct route_stream *stream; /* BODY_STREAM routes only; handler unused then */
};

enum router_result { ROUTER_MATCH, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

/* Match path against routes. On ROUTER_MATCH, *out is the route and params are filled with
 * borrowed names and newly allocated percent-decoded values (caller frees values).
 * On ROUTER_METHOD_NOT_ALLOWED, allow (size allowlen) receives "GET, POST" etc. */
enum router_result router_match(const struct route *routes, size_t nroutes, const char *method,
				const char *path, const struct route **out,
				const char **param_names, char **param_values, int *nparams,
				char *allow, size_t allowlen);

/* Percent-decode src into a new string; NULL on malformed escapes or embedded NUL. */
char *router_percent_decode(const char *src, size_t len);

#endif
