/* Small blocking libcurl wrapper for black-box tests against a running bellwetherd. */
#ifndef BW_TESTS_HTTP_CLIENT_H
#define BW_TESTS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Per-request timeout when struct http_req.timeout_ms is 0. */
#define HTTP_DEFAULT_TIMEOUT_MS 10000L
/* Longest path (with query string) the printf-style helpers accept. */
#define HTTP_MAX_PATH 4096

struct http_header {
	char *name;
	char *value; /* surrounding whitespace and CRLF removed */
};

/* One request. Everything is borrowed for the duration of http_do(). */
struct http_req {
	const char *method;	    /* "GET", "POST", "PATCH", ... */
	const char *path;	    /* appended to the base URL; starts with '/' */
	const char *token;	    /* bearer token, or NULL for no Authorization header */
	const char *body;	    /* body bytes, or NULL for no body */
	size_t body_len;	    /* length of body */
	const char *content_type;   /* Content-Type of the body; NULL sends none */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
	long timeout_ms;	    /* 0 -> HTTP_DEFAULT_TIMEOUT_MS */
	bool chunked;		    /* send the body with Transfer-Encoding: chunked */
};

/* One reply. Owned by the caller; release with http_resp_cleanup(). */
struct http_resp {
	long status;	 /* 0 when no response arrived */
	char *body;	 /* NUL-terminated (may also contain NULs), never NULL after http_do */
	size_t body_len; /* bytes of body, without the terminator */
	struct http_header *headers; /* headers of the final response */
	size_t n_headers;
	json_t *json;	  /* parsed body, NULL when the body is not JSON */
	double elapsed_s; /* total time of the transfer */
	char desc[160];	  /* "METHOD path" for assertion messages */
	char error[256];  /* transport error, "" when none */
};

/*
 * Initialise libcurl and remember the base URL (e.g. "http://127.0.0.1:8080", copied).
 * Call once from main() before any request. Returns 0, or -1 on failure.
 */
int http_client_init(const char *base_url);

/* Release what http_client_init() set up. Safe to call when init failed. */
void http_client_cleanup(void);

/*
 * Perform one request synchronously and fill *out (any previous contents are ignored; always
 * call http_resp_cleanup() afterwards). Returns 0 when a response status arrived, -1 otherwise
 * (out->error says why). Safe to call from several threads at once.
 */
int http_do(const struct http_req *req, struct http_resp *out);

/*
 * Convenience: request with an optional JSON text body (sent as application/json) and a
 * printf-style path. Same return value as http_do().
 */
int http_call(struct http_resp *out, const char *method, const char *token, const char *json_body,
	      const char *path_fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Convenience: like http_call() but serialises body (a reference is stolen, may be NULL;
 * typically the result of json_pack()).
 */
int http_call_json(struct http_resp *out, const char *method, const char *token, json_t *body,
		   const char *path_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Value of the first response header called name (case-insensitive), borrowed; NULL if absent. */
const char *http_resp_header(const struct http_resp *r, const char *name);

/* Free everything a response owns and zero it. Accepts a zeroed or already cleaned response. */
void http_resp_cleanup(struct http_resp *r);

/* Percent-encode s for use in a query string. Returns a malloc'd string (free()), or NULL. */
char *http_escape(const char *s);

#endif
