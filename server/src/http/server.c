#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth/awskeys.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/digest.h"

#define MAX_QUERY_DECODED 32

struct http_ctx {
	struct request req;
	struct buf body;
	struct MHD_Connection *conn;
	struct timespec start;
	char request_id[129];
	char *path;
	char *decoded_query[MAX_QUERY_DECODED];
	int ndecoded;
	bool is_too_large;
	void *stream_state; /* BODY_STREAM: owned until end/abort */
	bool is_stream_failed;
	uint64_t streamed_bytes;
	bool is_first_done;
	enum bw_err early_err;
	char allow[64];
	char early_msg[256];
	char early_field[80]; /* JSON pointer of the faulty input, "" if none */
};

static struct {
	struct MHD_Daemon *daemon;
	struct http_server_options opts;
	atomic_int in_flight;
	int port;
} srv;

/* Identity unescape: we decode path segments and query values ourselves, once. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

const char *request_query(const struct request *req, const char *name)
{
	struct http_ctx *ctx = req->impl;
	const char *raw;
	char *dec;

	if (!ctx || !ctx->conn)
		return NULL;
	raw = MHD_lookup_connection_value(ctx->conn, MHD_GET_ARGUMENT_KIND, name);
	if (!raw)
		return NULL;
	if (ctx->ndecoded >= MAX_QUERY_DECODED)
		return NULL;
	/* '+' means space in query strings */
	char *tmp = strdup(raw);
	if (!tmp)
		return NULL;
	for (char *p = tmp; *p; p++)
		if (*p == '+')
			*p = ' ';
	dec = router_percent_decode(tmp, strlen(tmp));
	free(tmp);
	if (!dec)
		return NULL;
	ctx->decoded_query[ctx->ndecoded++] = dec;
	return dec;
}

const char *request_header(const struct request *req, const char *name)
{
	struct http_ctx *ctx = req->impl;
	if (!ctx || !ctx->conn)
		return NULL;
	return MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, name);
}

static void ctx_free(struct http_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->stream_state && ctx->req.route && ctx->req.route->stream)
		ctx->req.route->stream->abort(ctx->stream_state);
	for (int i = 0; i < ctx->req.nparams; i++)
		free(ctx->req.param_values[i]);
	for (int i = 0; i < ctx->ndecoded; i++)
		free(ctx->decoded_query[i]);
	json_decref(ctx->req.json);
	buf_cleanup(&ctx->body);
	free(ctx->path);
	free(ctx);
}

static bool valid_request_id(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= 128)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n > 0;
}

static void mint_request_id(char *out, size_t len)
{
	unsigned char r[12];
	if (!digest_random(r, sizeof(r))) {
		static atomic_ulong counter;
		snprintf(out, len, "req-%lu", (unsigned long)atomic_fetch_add(&counter, 1));
		return;
	}
	for (size_t i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static double elapsed_s(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Methods we report in metrics labels; anything else is "other" so clients cannot create
 * unbounded series. */
static const char *method_label(const char *m)
{
	static const char *const known[] = { "GET",   "HEAD",	"POST",	  "PUT",
					     "PATCH", "DELETE", "OPTIONS" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

static enum MHD_Result send_reply(struct http_ctx *ctx, struct reply *rep)
{
	struct MHD_Response *resp;
	char *text = NULL;
	size_t len = 0;
	const char *ctype = rep->content_type;
	enum MHD_Result ret;

	if (rep->json) {
		text = json_dumps(rep->json, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
		if (!text) {
			rep->status = 500;
			text = strdup(
				"{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		}
		len = text ? strlen(text) : 0;
		if (!ctype)
			ctype = "application/json";
		resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	} else if (rep->fd >= 0) {
		resp = MHD_create_response_from_fd_at_offset64(rep->fd_length, rep->fd,
							       rep->fd_offset);
		if (resp)
			rep->fd = -1; /* MHD closes it */
		len = (size_t)rep->fd_length;
	} else if (rep->body) {
		resp = MHD_create_response_from_buffer(rep->body_len, rep->body,
						       MHD_RESPMEM_MUST_FREE);
		rep->body = NULL;
		len = rep->body_len;
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (ctype && (rep->json || len || rep->status == 206))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Request-Id", ctx->request_id);
	for (int i = 0; i < rep->nheaders; i++)
		MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
	ret = MHD_queue_response(ctx->conn, rep->status, resp);
	MHD_destroy_response(resp);

	/* access log + metrics */
	const char *route = ctx->req.route ? (ctx->req.route->name ? ctx->req.route->name
								   : ctx->req.route->pattern)
					   : "unmatched";
	double dur = elapsed_s(&ctx->start);
	char labels[512];
	snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%u\"", route,
		 method_label(ctx->req.method ? ctx->req.method : ""), rep->status);
	metrics_counter_add("bw_http_requests_total", labels, 1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	metrics_histogram_observe("bw_http_request_duration_seconds", labels, dur);
	log_emit(rep->status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "http", "http_request",
		 LOG_S("method", method_label(ctx->req.method ? ctx->req.method : "")),
		 LOG_S("route", route), LOG_I("status", rep->status),
		 LOG_D("duration_ms", dur * 1000.0),
		 LOG_S("error", rep->err ? bw_err_code(rep->err) : NULL), LOG_END);
	return ret;
}

static enum MHD_Result send_error(struct http_ctx *ctx, enum bw_err err, const char *msg)
{
	struct reply rep;
	enum MHD_Result r;

	reply_init(&rep, ctx->request_id);
	if (ctx->req.route && ctx->req.route->auth == AUTH_SIGV4)
		reply_aws_error(&rep, err, msg ? "%s" : NULL, msg);
	else
		reply_error(&rep, err, ctx->early_field[0] ? ctx->early_field : NULL,
			    msg ? "%s" : NULL, msg);
	if (err == BW_ERR_METHOD_NOT_ALLOWED && ctx->allow[0])
		reply_header(&rep, "Allow", ctx->allow);
	if (err == BW_ERR_UNAUTHORIZED)
		reply_header(&rep, "WWW-Authenticate", "Bearer realm=\"bellwether\"");
	if (err == BW_ERR_UNAVAILABLE)
		reply_header(&rep, "Retry-After", "1");
	r = send_reply(ctx, &rep);
	reply_cleanup(&rep);
	return r;
}

static uint64_t body_limit(const struct route *route)
{
	if (route && route->body == BODY_STREAM)
		return srv.opts.upload_max;
	if (route && route->body == BODY_JSON_BULK)
		return srv.opts.bulk_max_body;
	return srv.opts.max_body;
}

/* Reject query arguments whose percent-encoding is malformed (or encodes NUL), so handlers can
 * trust request_query: a NULL there always means "absent". */
static enum MHD_Result check_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct http_ctx *ctx = cls;
	char *k, *v = NULL;
	(void)kind;

	k = router_percent_decode(key, strlen(key));
	if (value)
		v = router_percent_decode(value, strlen(value));
	if (!k || (value && !v)) {
		snprintf(ctx->early_msg, sizeof(ctx->early_msg),
			 "query parameter '%.64s' has malformed percent-encoding", key);
		if (k)
			snprintf(ctx->early_field, sizeof(ctx->early_field), "/%.64s", k);
		free(k);
		free(v);
		return MHD_NO;
	}
	free(k);
	free(v);
	return MHD_YES;
}

/* First callback: request id, routing, authentication, role, declared length. */
static enum bw_err first_call(struct http_ctx *ctx, const char *method, const char *url)
{
	const char *rid = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, "X-Request-Id");
	enum router_result rr;

	if (valid_request_id(rid))
		snprintf(ctx->request_id, sizeof(ctx->request_id), "%s", rid);
	else
		mint_request_id(ctx->request_id, sizeof(ctx->request_id));
	ctx->req.request_id = ctx->request_id;
	log_set_request_id(ctx->request_id);

	ctx->req.method = method;
	if (MHD_get_connection_values(ctx->conn, MHD_GET_ARGUMENT_KIND, check_query_arg, ctx) < 0 ||
	    ctx->early_msg[0]) {
		ctx->path = strdup(url);
		ctx->req.path = ctx->path;
		return BW_ERR_BAD_REQUEST;
	}
	ctx->path = strdup(url);
	if (!ctx->path)
		return BW_ERR_INTERNAL;
	ctx->req.path = ctx->path;
	rr = router_match(srv.opts.routes, srv.opts.nroutes, method, url, &ctx->req.route,
			  ctx->req.param_names, ctx->req.param_values, &ctx->req.nparams,
			  ctx->allow, sizeof(ctx->allow));
	if (rr == ROUTER_NOT_FOUND) {
		snprintf(ctx->early_msg, sizeof(ctx->early_msg), "no route for %s %.160s", method,
			 url);
		return BW_ERR_ROUTE_NOT_FOUND;
	}
	if (rr == ROUTER_METHOD_NOT_ALLOWED) {
		snprintf(ctx->early_msg, sizeof(ctx->early_msg),
			 "method %s is not allowed here (allowed: %s)", method, ctx->allow);
		return BW_ERR_METHOD_NOT_ALLOWED;
	}
	const struct route *route = ctx->req.route;
	if (route->auth == AUTH_BEARER) {
		const char *h = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_AUTHORIZATION);
		if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
			snprintf(ctx->early_msg, sizeof(ctx->early_msg),
				 "missing bearer token (Authorization: Bearer <token>)");
			return BW_ERR_UNAUTHORIZED;
		}
		const char *tok = h + 7;
		while (*tok == ' ')
			tok++;
		enum bw_err e = srv.opts.auth ? srv.opts.auth(tok, &ctx->req.principal)
					      : BW_ERR_UNAUTHORIZED;
		if (e != BW_OK) {
			snprintf(ctx->early_msg, sizeof(ctx->early_msg), "%s",
				 e == BW_ERR_UNAUTHORIZED ? "invalid or revoked token"
							  : bw_err_message(e));
			return e;
		}
		if (!role_allows(ctx->req.principal.role, route->min_role)) {
			snprintf(ctx->early_msg, sizeof(ctx->early_msg),
				 "role %s may not do this (needs %s)",
				 role_name(ctx->req.principal.role), role_name(route->min_role));
			return BW_ERR_FORBIDDEN;
		}
	}
	const char *cl = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && route->body != BODY_NONE) {
		unsigned long long n = strtoull(cl, NULL, 10);
		if (n > body_limit(route)) {
			snprintf(ctx->early_msg, sizeof(ctx->early_msg),
				 "request body of %llu bytes exceeds the limit of %llu bytes", n,
				 (unsigned long long)body_limit(route));
			return BW_ERR_PAYLOAD_TOO_LARGE;
		}
	}
	if (route->body != BODY_STREAM)
		ctx->body.max = (size_t)body_limit(route);
	return BW_OK;
}

static bool is_json_content_type(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	ct += 16;
	return *ct == '\0' || *ct == ';' || *ct == ' ';
}

struct header_list {
	const char *names[64];
	const char *values[64];
	size_t n;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct header_list *h = cls;
	(void)kind;
	if (h->n < 64) {
		h->names[h->n] = key;
		h->values[h->n] = value ? value : "";
		h->n++;
	}
	return MHD_YES;
}

static enum MHD_Result collect_query_raw(void *cls, enum MHD_ValueKind kind, const char *key,
					 const char *value)
{
	struct buf *q = cls;
	(void)kind;
	if (q->len)
		buf_putc(q, '&');
	buf_puts(q, key);
	if (value) {
		buf_putc(q, '=');
		buf_puts(q, value);
	}
	return MHD_YES;
}

/* Verify the AWS Signature V4 of a complete request (the body hash is part of it). On failure
 * the AWS-shaped error reply is filled and false returned. */
static bool verify_sigv4(struct http_ctx *ctx, struct reply *rep)
{
	struct header_list h = { .n = 0 };
	struct buf q;
	char hex[DIGEST_SHA256_HEX_LEN];
	const char *aws_type = NULL;
	char msg[300];
	enum bw_err e;

	buf_init(&q);
	MHD_get_connection_values(ctx->conn, MHD_HEADER_KIND, collect_header, &h);
	MHD_get_connection_values(ctx->conn, MHD_GET_ARGUMENT_KIND, collect_query_raw, &q);
	digest_sha256_hex(ctx->body.data ? ctx->body.data : "", ctx->body.len, hex);
	e = awskeys_verify(ctx->req.method, ctx->path, q.data ? q.data : "", h.names, h.values, h.n,
			   hex, &ctx->req.principal, &aws_type, msg, sizeof(msg));
	buf_cleanup(&q);
	if (e == BW_OK && !role_allows(ctx->req.principal.role, ctx->req.route->min_role)) {
		e = BW_ERR_FORBIDDEN;
		aws_type = "AccessDeniedException";
		snprintf(msg, sizeof(msg), "access key role %s may not do this (needs %s)",
			 role_name(ctx->req.principal.role), role_name(ctx->req.route->min_role));
	}
	if (e == BW_OK)
		return true;
	reply_json(rep, bw_err_http_status(e), json_pack("{s:s}", "message", msg));
	reply_header(rep, "x-amzn-ErrorType", aws_type ? aws_type : bw_err_aws_type(e));
	rep->err = e;
	rep->is_aws_error = true;
	return false;
}

/* Final callback: parse the body and run the handler. */
static enum MHD_Result final_call(struct http_ctx *ctx)
{
	const struct route *route = ctx->req.route;
	struct reply rep;
	enum MHD_Result r;

	if (ctx->is_too_large) {
		char msg[128];
		if (ctx->stream_state) {
			route->stream->abort(ctx->stream_state);
			ctx->stream_state = NULL;
		}
		snprintf(msg, sizeof(msg), "request body exceeds the limit of %llu bytes",
			 (unsigned long long)body_limit(route));
		return send_error(ctx, BW_ERR_PAYLOAD_TOO_LARGE, msg);
	}
	if (route->body == BODY_STREAM) {
		void *state = ctx->stream_state;
		ctx->stream_state = NULL;
		reply_init(&rep, ctx->request_id);
		route->stream->end(state, &ctx->req, &rep);
		r = send_reply(ctx, &rep);
		reply_cleanup(&rep);
		return r;
	}
	if (ctx->body.is_oom)
		return send_error(ctx, BW_ERR_UNAVAILABLE, "out of memory");
	ctx->req.body = ctx->body.data;
	ctx->req.body_len = ctx->body.len;
	if (route->body != BODY_NONE && route->body != BODY_RAW && ctx->body.len > 0) {
		json_error_t jerr;
		const char *ct = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!is_json_content_type(ct))
			return send_error(ctx, BW_ERR_UNSUPPORTED_MEDIA_TYPE,
					  "Content-Type must be application/json");
		ctx->req.json = json_loadb(ctx->body.data, ctx->body.len,
					   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!ctx->req.json) {
			char msg[256];
			snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s",
				 jerr.line, jerr.column, jerr.text);
			return send_error(ctx, BW_ERR_INVALID_JSON, msg);
		}
	}
	reply_init(&rep, ctx->request_id);
	if (route->auth != AUTH_SIGV4 || verify_sigv4(ctx, &rep))
		route->handler(&ctx->req, &rep);
	r = send_reply(ctx, &rep);
	reply_cleanup(&rep);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_ctx *ctx = *con_cls;
	(void)cls;
	(void)version;

	if (!ctx) {
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return MHD_NO;
		*con_cls = ctx;
		atomic_fetch_add(&srv.in_flight, 1);
		clock_gettime(CLOCK_MONOTONIC, &ctx->start);
		ctx->conn = conn;
		ctx->req.impl = ctx;
		buf_init(&ctx->body);
		ctx->early_err = first_call(ctx, method, url);
		if (ctx->early_err != BW_OK)
			return send_error(ctx, ctx->early_err, ctx->early_msg);
		if (ctx->req.route->body == BODY_STREAM) {
			struct reply rep;
			reply_init(&rep, ctx->request_id);
			ctx->stream_state = ctx->req.route->stream->begin(&ctx->req, &rep);
			if (!ctx->stream_state) {
				enum MHD_Result r = send_reply(ctx, &rep);
				reply_cleanup(&rep);
				return r;
			}
			reply_cleanup(&rep);
		}
		return MHD_YES;
	}
	log_set_request_id(ctx->request_id);
	if (*upload_data_size && ctx->req.route->body == BODY_STREAM) {
		ctx->streamed_bytes += *upload_data_size;
		if (ctx->streamed_bytes > srv.opts.upload_max)
			ctx->is_too_large = true;
		if (!ctx->is_stream_failed && !ctx->is_too_large &&
		    !ctx->req.route->stream->chunk(ctx->stream_state, upload_data,
						   *upload_data_size))
			ctx->is_stream_failed = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (ctx->req.route->body != BODY_NONE && !ctx->is_too_large) {
			if (!buf_append(&ctx->body, upload_data, *upload_data_size) &&
			    ctx->body.is_over) {
				ctx->is_too_large = true;
				buf_cleanup(&ctx->body);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	enum MHD_Result r = final_call(ctx);
	log_set_request_id(NULL);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls) {
		ctx_free(*con_cls);
		*con_cls = NULL;
		atomic_fetch_sub(&srv.in_flight, 1);
	}
	log_set_request_id(NULL);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (!*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

int http_server_start(const struct http_server_options *opts)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	srv.opts = *opts;
	if (parse_listen(opts->listen, &sa) != 0) {
		log_error("http", "http_bad_listen", LOG_S("listen", opts->listen), LOG_END);
		return -1;
	}
	metrics_describe("bw_http_requests_total", "counter",
			 "HTTP requests by route, method, status");
	metrics_describe("bw_http_request_duration_seconds", "histogram",
			 "HTTP request latency by route");
	srv.daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO, 0,
		NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)opts->threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
		MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE,
		(unsigned int)1, MHD_OPTION_END);
	if (!srv.daemon) {
		log_error("http", "http_start_failed", LOG_S("listen", opts->listen), LOG_END);
		return -1;
	}
	info = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = info ? info->port : ntohs(sa.sin_port);
	log_info("http", "http_listening", LOG_S("listen", opts->listen), LOG_I("port", srv.port),
		 LOG_I("threads", opts->threads), LOG_END);
	return 0;
}

int http_server_port(void)
{
	return srv.port;
}

void http_server_stop(void)
{
	if (!srv.daemon)
		return;
	MHD_quiesce_daemon(srv.daemon);
	int64_t waited = 0;
	for (;;) {
		const union MHD_DaemonInfo *ci =
			MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		unsigned conns = ci ? ci->num_connections : 0;
		/* requests being handled get the whole grace period; connections accepted but not
		 * yet parsed (or idle keep-alive ones) get a short moment to show a request */
		bool is_busy = atomic_load(&srv.in_flight) > 0 || (conns > 0 && waited < 200);
		if (!is_busy || waited >= srv.opts.shutdown_grace_ms)
			break;
		usleep(10000);
		waited += 10;
	}
	log_info("http", "http_stopping", LOG_I("in_flight", atomic_load(&srv.in_flight)),
		 LOG_I("waited_ms", waited), LOG_END);
	MHD_stop_daemon(srv.daemon);
	srv.daemon = NULL;
}
