/* HTTP server on libmicrohttpd: thread pool, routing, auth, body limits, JSON parsing, access
 * log, metrics and graceful drain. */
#ifndef BW_HTTP_SERVER_H
#define BW_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

/* Authenticate a bearer token; fill out and return BW_OK, or BW_ERR_UNAUTHORIZED /
 * BW_ERR_UNAVAILABLE. */
typedef enum bw_err (*http_auth_fn)(const char *token, struct principal *out);

struct http_server_options {
	const char *listen; /* "host:port"; port 0 picks a free port */
	int threads;
	size_t max_body;
	size_t bulk_max_body;
	uint64_t upload_max; /* BODY_STREAM routes */
	int64_t shutdown_grace_ms;
	const struct route *routes; /* borrowed, must outlive the server */
	size_t nroutes;
	http_auth_fn auth;
};

/* Start listening. Returns 0, or -1 (logged) if the address is bad or cannot be bound. */
int http_server_start(const struct http_server_options *opts);
/* The bound port (useful with port 0). */
int http_server_port(void);
/* Stop accepting, wait up to the grace period for in-flight requests, then stop. */
void http_server_stop(void);

#endif
