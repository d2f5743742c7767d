/* Small blocking libcurl wrapper for black-box tests against a running bellwetherd. */
#include "http_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* Replies larger than this are treated as a transport error (tests never expect them). */
#define HTTP_MAX_REPLY_BYTES (64u * 1024u * 1024u)
/* Upper bound on response headers kept per reply. */
#define HTTP_MAX_HEADERS 128

static char *g_base_url;
static bool g_curl_ready;

int http_client_init(const char *base_url)
{
	size_t len;

	if (!base_url || !*base_url)
		return -1;
	if (!g_curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		g_curl_ready = true;
	}
	free(g_base_url);
	g_base_url = strdup(base_url);
	if (!g_base_url)
		return -1;
	/* "http://h:p/" + "/api" would give a double slash: drop trailing slashes. */
	len = strlen(g_base_url);
	while (len > 0 && g_base_url[len - 1] == '/')
		g_base_url[--len] = '\0';
	return 0;
}

void http_client_cleanup(void)
{
	free(g_base_url);
	g_base_url = NULL;
	if (g_curl_ready) {
		curl_global_cleanup();
		g_curl_ready = false;
	}
}

static void free_headers(struct http_resp *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

void http_resp_cleanup(struct http_resp *r)
{
	if (!r)
		return;
	free(r->body);
	free_headers(r);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *http_resp_header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

char *http_escape(const char *s)
{
	char *curl_owned;
	char *copy;

	curl_owned = curl_easy_escape(NULL, s, 0);
	if (!curl_owned)
		return NULL;
	copy = strdup(curl_owned);
	curl_free(curl_owned);
	return copy;
}

/* Receiving state shared by the curl callbacks of one transfer. */
struct xfer {
	struct http_resp *resp;
	size_t body_cap;
	bool overflow; /* body or headers past their bounds, or out of memory */
	const char *upload;
	size_t upload_len;
	size_t upload_off;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	struct http_resp *r = x->resp;
	size_t n = size * nmemb;

	if (n > HTTP_MAX_REPLY_BYTES - r->body_len) {
		x->overflow = true;
		return 0;
	}
	if (r->body_len + n + 1 > x->body_cap) {
		size_t cap = x->body_cap ? x->body_cap : 4096;
		char *grown;

		while (cap < r->body_len + n + 1)
			cap *= 2;
		grown = realloc(r->body, cap);
		if (!grown) {
			x->overflow = true;
			return 0;
		}
		r->body = grown;
		x->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static char *dup_trimmed(const char *s, size_t len)
{
	char *out;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n' || s[len - 1] == ' ' ||
			   s[len - 1] == '\t'))
		len--;
	out = malloc(len + 1);
	if (!out)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	struct http_resp *r = x->resp;
	size_t n = size * nitems;
	const char *colon;
	struct http_header *grown;
	char *name;
	char *value;

	/* A status line starts a new response (e.g. after "100 Continue"): forget older headers. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		free_headers(r);
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n; /* the blank line ending the header block */
	if (r->n_headers >= HTTP_MAX_HEADERS) {
		x->overflow = true;
		return n;
	}
	name = dup_trimmed(data, (size_t)(colon - data));
	value = dup_trimmed(colon + 1, n - (size_t)(colon - data) - 1);
	grown = realloc(r->headers, (r->n_headers + 1) * sizeof(*grown));
	if (!name || !value || !grown) {
		free(name);
		free(value);
		if (grown)
			r->headers = grown;
		x->overflow = true;
		return 0;
	}
	r->headers = grown;
	r->headers[r->n_headers].name = name;
	r->headers[r->n_headers].value = value;
	r->n_headers++;
	return n;
}

/* Chunked uploads hand the body to curl in pieces of at most 16 KiB. */
static size_t on_upload(char *buffer, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t room = size * nitems;
	size_t left = x->upload_len - x->upload_off;
	size_t n = left < room ? left : room;

	if (n > 16384)
		n = 16384;
	memcpy(buffer, x->upload + x->upload_off, n);
	x->upload_off += n;
	return n;
}

static char *join2(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	char *out = malloc(la + lb + 1);

	if (!out)
		return NULL;
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
	return out;
}

static int append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *next = curl_slist_append(*list, line);

	if (!next)
		return -1;
	*list = next;
	return 0;
}

int http_do(const struct http_req *req, struct http_resp *out)
{
	struct xfer x = { .resp = out };
	struct curl_slist *hdrs = NULL;
	char *url = NULL;
	char *auth = NULL;
	char *ctype = NULL;
	CURL *c = NULL;
	CURLcode rc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	snprintf(out->desc, sizeof(out->desc), "%s %s", req->method, req->path);
	out->body = calloc(1, 1);
	if (!out->body || !g_base_url) {
		snprintf(out->error, sizeof(out->error), "client not initialised or out of memory");
		goto out;
	}
	url = join2(g_base_url, req->path);
	c = curl_easy_init();
	if (!url || !c) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		goto out;
	}

	if (req->token) {
		auth = join2("Authorization: Bearer ", req->token);
		if (!auth || append_header(&hdrs, auth) != 0)
			goto oom;
	}
	if (req->body) {
		/* curl would add a form Content-Type of its own: send ours or none at all. */
		ctype = join2("Content-Type:", req->content_type ? req->content_type : "");
		if (!ctype || append_header(&hdrs, ctype) != 0)
			goto oom;
		if (req->chunked && append_header(&hdrs, "Transfer-Encoding: chunked") != 0)
			goto oom;
	}
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (append_header(&hdrs, req->headers[i]) != 0)
			goto oom;
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	if (req->body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (req->chunked) {
			x.upload = req->body;
			x.upload_len = req->body_len;
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
			curl_easy_setopt(c, CURLOPT_READDATA, &x);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		}
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->elapsed_s);
	if (x.overflow) {
		snprintf(out->error, sizeof(out->error), "reply too large or out of memory");
		out->status = 0;
		goto out;
	}
	if (rc != CURLE_OK) {
		/* A server may answer (e.g. 413) and close before the upload ends: keep its answer. */
		snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(rc));
		if (out->status == 0)
			goto out;
	}
	if (out->body_len > 0)
		out->json = json_loadb(out->body, out->body_len, 0, NULL);
	ret = 0;
	goto out;
oom:
	snprintf(out->error, sizeof(out->error), "out of memory");
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(url);
	free(auth);
	free(ctype);
	return ret;
}

static int call_v(struct http_resp *out, const char *method, const char *token, const char *body,
		  const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int call_v(struct http_resp *out, const char *method, const char *token, const char *body,
		  const char *fmt, va_list ap)
{
	char path[HTTP_MAX_PATH];
	struct http_req req = { 0 };
	int n;

	n = vsnprintf(path, sizeof(path), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		memset(out, 0, sizeof(*out));
		snprintf(out->error, sizeof(out->error), "path too long");
		return -1;
	}
	req.method = method;
	req.path = path;
	req.token = token;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = body ? "application/json" : NULL;
	return http_do(&req, out);
}

int http_call(struct http_resp *out, const char *method, const char *token, const char *json_body,
	      const char *path_fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, path_fmt);
	ret = call_v(out, method, token, json_body, path_fmt, ap);
	va_end(ap);
	return ret;
}

int http_call_json(struct http_resp *out, const char *method, const char *token, json_t *body,
		   const char *path_fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int ret;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!text) {
			memset(out, 0, sizeof(*out));
			snprintf(out->error, sizeof(out->error), "cannot serialise request body");
			return -1;
		}
	}
	va_start(ap, path_fmt);
	ret = call_v(out, method, token, text, path_fmt, ap);
	va_end(ap);
	free(text);
	return ret;
}
