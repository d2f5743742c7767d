/* SigV4-signed test requests; see aws_client.h. */
#include "aws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/sigv4.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int aws_client_available(void)
{
	return env("BW_TEST_AWS_ACCESS_KEY") && env("BW_TEST_AWS_SECRET_KEY");
}

int aws_call(struct http_resp *out, const char *method, const char *path_and_query,
	     const char *body, size_t body_len, const char *content_type,
	     const struct aws_sign_opts *opts)
{
	static const struct aws_sign_opts none = { 0 };
	const char *url = env("BW_TEST_URL");
	char path[HTTP_MAX_PATH], host[256], amz_date[17], body_hash[65];
	char authz[1024], h_authz[1100], h_date[64];
	const char *query = NULL, *headers[3] = { NULL, NULL, NULL };
	struct sigv4_header sh[2];
	struct sigv4_sign_input in;
	struct http_req req;
	const char *q;

	if (!opts)
		opts = &none;
	if (!url || strncmp(url, "http://", 7) != 0)
		return -1;
	snprintf(host, sizeof(host), "%s", url + 7);
	host[strcspn(host, "/")] = '\0';
	snprintf(path, sizeof(path), "%s", path_and_query);
	q = strchr(path, '?');
	if (q) {
		path[q - path] = '\0';
		query = path_and_query + (q - path) + 1;
	}
	if (!sigv4_amz_date_format((int64_t)time(NULL) + opts->skew_s, amz_date) ||
	    !(opts->signed_body
		      ? sigv4_sha256_hex(opts->signed_body, strlen(opts->signed_body), body_hash)
		      : sigv4_sha256_hex(body ? body : "", body ? body_len : 0, body_hash)))
		return -1;
	sh[0].name = "Host";
	sh[0].value = host;
	sh[1].name = "X-Amz-Date";
	sh[1].value = amz_date;
	memset(&in, 0, sizeof(in));
	in.method = method;
	in.path = path;
	in.query = query;
	in.headers = sh;
	in.n_headers = 2;
	in.payload_sha256_hex = body_hash;
	in.access_key_id = opts->access_key ? opts->access_key : env("BW_TEST_AWS_ACCESS_KEY");
	in.secret = opts->secret ? opts->secret : env("BW_TEST_AWS_SECRET_KEY");
	in.region = opts->region ? opts->region : "us-east-1";
	in.service = opts->service ? opts->service : "iotdata";
	in.amz_date = amz_date;
	if (!in.access_key_id || !in.secret || sigv4_sign(&in, authz, sizeof(authz)) != SIGV4_OK)
		return -1;
	snprintf(h_authz, sizeof(h_authz), "Authorization: %s", authz);
	snprintf(h_date, sizeof(h_date), "X-Amz-Date: %s", amz_date);
	if (opts->is_unsigned) {
		headers[0] = h_date;
	} else {
		headers[0] = h_authz;
		headers[1] = h_date;
	}
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path_and_query;
	req.body = body;
	req.body_len = body ? body_len : 0;
	req.content_type = content_type;
	req.headers = headers;
	return http_do(&req, out);
}
