/* Black-box tests of firmware transfers on a running bellwetherd: streamed uploads (declared
 * SHA-256, mismatch leaves nothing behind, dedup), downloads (ETag, Range resume, 416, HEAD,
 * If-None-Match), presigned URLs (expiry, tampering), download counters, metrics, and a 300 MB
 * upload whose server memory stays small (VmHWM of the server process). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"
#include "crypto/sha256.h"

#define LARGE_UPLOAD_BYTES (300ULL * 1024 * 1024)
/* The server may grow by far less than the upload: buffers, not the image. */
#define LARGE_UPLOAD_MAX_GROWTH_KB (48 * 1024)

static const char *tok(void)
{
	return testenv_get()->admin_token;
}

static json_t *call_expect(long status, const char *method, json_t *body, const char *path)
{
	struct http_resp r;
	json_t *out;

	http_call_json(&r, method, tok(), body, "%s", path);
	EXPECT_STATUS(&r, status);
	out = json_incref(r.json);
	http_resp_cleanup(&r);
	return out;
}

static char *release_new(void)
{
	char product[96];
	json_t *rel;
	char *id;

	testenv_uniq(product, sizeof(product), "xfer");
	rel = call_expect(201, "POST",
			  json_pack("{s:s, s:s, s:[s]}", "product", product, "firmware_version",
				    "1.0.0", "hardware_types", "esp32"),
			  "/api/v1/firmware/releases");
	id = strdup(testenv_jstr(rel, "id"));
	json_decref(rel);
	return id;
}

static void sha_hex(const void *data, size_t len, char out[65])
{
	digest_sha256_hex(data, len, out);
}

/* Upload with an optional declared SHA-256; returns the response (caller cleans up). */
static void upload_raw(struct http_resp *r, const char *token, const char *release,
		       const char *name, const void *data, size_t len, const char *sha)
{
	struct http_req req = { 0 };
	char path[256], hdr[100];
	const char *headers[] = { hdr, NULL };

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts?name=%s", release,
		 name);
	snprintf(hdr, sizeof(hdr), "X-Content-SHA256: %s", sha ? sha : "");
	req.method = "POST";
	req.path = path;
	req.token = token;
	req.body = data;
	req.body_len = len;
	req.content_type = "application/octet-stream";
	req.headers = sha ? headers : NULL;
	req.timeout_ms = 60000;
	http_do(&req, r);
}

/* GET path with extra headers (NULL-terminated list) and an optional token. */
static void get_with(struct http_resp *r, const char *token, const char *path,
		     const char *const *headers)
{
	struct http_req req = { .method = "GET", .path = path, .token = token, .headers = headers };
	http_do(&req, r);
}

/* Regular files under the blob store (tmp/ included) of the harness. */
static int blob_files(const char *sub)
{
	const char *root = getenv("BW_TEST_DIR");
	char dir[512];
	DIR *d, *d2;
	struct dirent *e, *e2;
	int n = 0;

	if (!root)
		return -1;
	snprintf(dir, sizeof(dir), "%s/blobs%s%s", root, sub ? "/" : "", sub ? sub : "");
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[1024];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		d2 = opendir(p);
		if (!d2) {
			n++;
			continue;
		}
		while ((e2 = readdir(d2)))
			if (e2->d_name[0] != '.')
				n++;
		closedir(d2);
	}
	closedir(d);
	return n;
}

static char *random_bytes(size_t len, unsigned seed)
{
	char *p = malloc(len);
	/* unique per run, so content never deduplicates against an earlier run's */
	uint32_t x = (seed * 2654435761u) ^ (uint32_t)getpid() ^ (uint32_t)time(NULL) ^ 1u;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)x;
	}
	return p;
}

START_TEST(upload_then_download_round_trips)
{
	size_t len = 1 << 20;
	char *data = random_bytes(len, 1), sha[65], path[256], etag[80];
	char *id = release_new();
	struct http_resp r;

	sha_hex(data, len, sha);
	upload_raw(&r, tok(), id, "app.bin", data, len, sha);
	EXPECT_STATUS(&r, 201);
	ck_assert_str_eq(testenv_jstr(r.json, "sha256"), sha);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "size_bytes")),
			 (json_int_t)len);
	ck_assert_str_eq(testenv_jstr(r.json, "type"), "firmware");
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts/app.bin/content", id);
	get_with(&r, tok(), path, NULL);
	EXPECT_STATUS(&r, 200);
	ck_assert_uint_eq(r.body_len, len);
	ck_assert(memcmp(r.body, data, len) == 0);
	snprintf(etag, sizeof(etag), "\"%s\"", sha);
	ck_assert_str_eq(http_resp_header(&r, "ETag"), etag);
	ck_assert_str_eq(http_resp_header(&r, "Accept-Ranges"), "bytes");
	ck_assert_uint_eq(strtoull(http_resp_header(&r, "Content-Length"), NULL, 10), len);
	ck_assert_str_eq(http_resp_header(&r, "Content-Type"), "application/octet-stream");
	http_resp_cleanup(&r);
	/* revalidation */
	char inm[100];
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	const char *h1[] = { inm, NULL };
	get_with(&r, tok(), path, h1);
	EXPECT_STATUS(&r, 304);
	ck_assert_uint_eq(r.body_len, 0);
	http_resp_cleanup(&r);
	/* HEAD: headers only */
	struct http_req head = { .method = "HEAD", .path = path, .token = tok() };
	http_do(&head, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_uint_eq(strtoull(http_resp_header(&r, "Content-Length"), NULL, 10), len);
	http_resp_cleanup(&r);
	/* metadata */
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts/app.bin", id);
	json_t *a = call_expect(200, "GET", NULL, path);
	ck_assert_str_eq(testenv_jstr(a, "sha256"), sha);
	json_decref(a);
	free(data);
	free(id);
}
END_TEST

START_TEST(download_resumes_with_range)
{
	size_t len = 300000, half = 123457;
	char *data = random_bytes(len, 2), *id = release_new(), path[256], want[80];
	struct http_resp r;
	char *joined = malloc(len);

	upload_raw(&r, tok(), id, "r.bin", data, len, NULL);
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts/r.bin/content", id);
	char range[64];
	snprintf(range, sizeof(range), "Range: bytes=0-%zu", half - 1);
	const char *h1[] = { range, NULL };
	get_with(&r, tok(), path, h1);
	EXPECT_STATUS(&r, 206);
	ck_assert_uint_eq(r.body_len, half);
	snprintf(want, sizeof(want), "bytes 0-%zu/%zu", half - 1, len);
	ck_assert_str_eq(http_resp_header(&r, "Content-Range"), want);
	memcpy(joined, r.body, half);
	http_resp_cleanup(&r);
	/* the connection "dropped"; resume from where it stopped */
	snprintf(range, sizeof(range), "Range: bytes=%zu-", half);
	get_with(&r, tok(), path, h1);
	EXPECT_STATUS(&r, 206);
	ck_assert_uint_eq(r.body_len, len - half);
	snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", half, len - 1, len);
	ck_assert_str_eq(http_resp_header(&r, "Content-Range"), want);
	memcpy(joined + half, r.body, len - half);
	http_resp_cleanup(&r);
	ck_assert(memcmp(joined, data, len) == 0);
	/* suffix range */
	snprintf(range, sizeof(range), "Range: bytes=-100");
	get_with(&r, tok(), path, h1);
	EXPECT_STATUS(&r, 206);
	ck_assert(r.body_len == 100 && memcmp(r.body, data + len - 100, 100) == 0);
	http_resp_cleanup(&r);
	/* past the end */
	snprintf(range, sizeof(range), "Range: bytes=%zu-", len);
	get_with(&r, tok(), path, h1);
	ck_assert_int_eq(r.status, 416);
	ck_assert_str_eq(testenv_err(&r, "code"), "range_not_satisfiable");
	snprintf(want, sizeof(want), "bytes */%zu", len);
	ck_assert_str_eq(http_resp_header(&r, "Content-Range"), want);
	http_resp_cleanup(&r);
	/* If-Range with another validator: the whole file */
	const char *h2[] = { "Range: bytes=0-9", "If-Range: \"stale\"", NULL };
	get_with(&r, tok(), path, h2);
	EXPECT_STATUS(&r, 200);
	ck_assert_uint_eq(r.body_len, len);
	http_resp_cleanup(&r);
	/* counters: the full download and the first range count, the resumed range does not */
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s", id);
	json_t *rel = call_expect(200, "GET", NULL, path);
	ck_assert_int_eq(json_integer_value(json_object_get(rel, "download_count")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(rel, "download_bytes")),
			 (json_int_t)(len + 100 + len));
	json_decref(rel);
	free(joined);
	free(data);
	free(id);
}
END_TEST

START_TEST(sha256_mismatch_is_rejected_and_nothing_is_left)
{
	size_t len = 200000;
	char *data = random_bytes(len, 3), *id = release_new(), sha[65], path[256];
	int before = blob_files(NULL), tmp_before = blob_files("tmp");
	struct http_resp r;

	sha_hex(data, len, sha);
	sha[0] = sha[0] == '0' ? '1' : '0';
	upload_raw(&r, tok(), id, "bad.bin", data, len, sha);
	EXPECT_ERROR(&r, 400, "bad_request", NULL);
	ck_assert(strstr(testenv_err(&r, "message"), "nothing was stored"));
	http_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts/bad.bin", id);
	http_call(&r, "GET", tok(), NULL, "%s", path);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	if (before >= 0) { /* the harness's blob directory is visible: check it directly */
		ck_assert_int_eq(blob_files(NULL), before);
		ck_assert_int_eq(blob_files("tmp"), tmp_before);
	}
	/* malformed declarations and bad names never start a write */
	upload_raw(&r, tok(), id, "x.bin", data, 10, "xyz");
	EXPECT_ERROR(&r, 400, "bad_request", NULL);
	http_resp_cleanup(&r);
	upload_raw(&r, tok(), id, "..evil", data, 10, NULL);
	EXPECT_ERROR(&r, 400, "bad_request", "/name");
	http_resp_cleanup(&r);
	upload_raw(&r, tok(), id, "empty.bin", data, 0, NULL);
	EXPECT_ERROR(&r, 400, "bad_request", NULL);
	http_resp_cleanup(&r);
	upload_raw(&r, tok(), "999999999", "x.bin", data, 10, NULL);
	EXPECT_ERROR(&r, 404, "not_found", NULL);
	http_resp_cleanup(&r);
	char *viewer = testenv_token_new("viewer", "fwxv", NULL, NULL);
	upload_raw(&r, viewer, id, "x.bin", data, 10, NULL);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(viewer);
	if (before >= 0)
		ck_assert_int_eq(blob_files("tmp"), tmp_before);
	free(data);
	free(id);
}
END_TEST

START_TEST(identical_content_is_deduplicated)
{
	size_t len = 50000;
	char *data = random_bytes(len, 4), *a = release_new(), *b = release_new();
	int before;
	struct http_resp r;

	upload_raw(&r, tok(), a, "one.bin", data, len, NULL);
	EXPECT_STATUS(&r, 201);
	ck_assert(json_is_false(json_object_get(r.json, "deduplicated")));
	http_resp_cleanup(&r);
	before = blob_files(NULL);
	upload_raw(&r, tok(), b, "two.bin", data, len, NULL);
	EXPECT_STATUS(&r, 201);
	ck_assert(json_is_true(json_object_get(r.json, "deduplicated")));
	http_resp_cleanup(&r);
	upload_raw(&r, tok(), b, "two.bin", data, len, NULL);
	EXPECT_ERROR(&r, 409, "already_exists", "/name");
	http_resp_cleanup(&r);
	if (before >= 0)
		ck_assert_int_eq(blob_files(NULL), before);
	free(data);
	free(a);
	free(b);
}
END_TEST

static json_t *presign(const char *release, const char *name, json_t *body)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/firmware/releases/%s/artifacts/%s/presign", release,
		 name);
	return call_expect(200, "POST", body, path);
}

START_TEST(presigned_urls_work_without_a_token_until_they_expire)
{
	size_t len = 70000;
	char *data = random_bytes(len, 5), *id = release_new(), thing[96], tampered[600];
	struct http_resp r;
	json_t *p;
	const char *path;

	upload_raw(&r, tok(), id, "ota.bin", data, len, NULL);
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
	testenv_uniq(thing, sizeof(thing), "dev");
	p = presign(id, "ota.bin", json_pack("{s:i, s:s}", "expires_in_s", 120, "thing", thing));
	path = testenv_jstr(p, "path");
	ck_assert(strstr(testenv_jstr(p, "url"), path) != NULL);
	ck_assert(testenv_matches(testenv_jstr(p, "expires_at"), TESTENV_RFC3339_MS));
	get_with(&r, NULL, path, NULL);
	EXPECT_STATUS(&r, 200);
	ck_assert(r.body_len == len && memcmp(r.body, data, len) == 0);
	http_resp_cleanup(&r);
	/* ranges work on presigned URLs too (the FreeRTOS HTTP path) */
	const char *h[] = { "Range: bytes=4096-8191", NULL };
	get_with(&r, NULL, path, h);
	EXPECT_STATUS(&r, 206);
	ck_assert(r.body_len == 4096 && memcmp(r.body, data + 4096, 4096) == 0);
	http_resp_cleanup(&r);
	/* tampering: another thing, another expiry, another artifact, no signature */
	snprintf(tampered, sizeof(tampered), "%s", path);
	char *t = strstr(tampered, thing);
	t[strlen(thing) - 1] ^= 1;
	get_with(&r, NULL, tampered, NULL);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	snprintf(tampered, sizeof(tampered), "%s", path);
	t = strstr(tampered, "expires=") + 8;
	*t = *t == '9' ? '8' : (char)(*t + 1);
	get_with(&r, NULL, tampered, NULL);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	const char *sig = strstr(path, "?");
	snprintf(tampered, sizeof(tampered), "/api/v1/firmware/download/1%s", sig);
	if (strncmp(tampered, path, strlen(tampered) - strlen(sig)) != 0) {
		get_with(&r, NULL, tampered, NULL);
		EXPECT_ERROR(&r, 403, "forbidden", NULL);
		http_resp_cleanup(&r);
	}
	snprintf(tampered, sizeof(tampered), "%.*s", (int)(strstr(path, "&signature=") - path),
		 path);
	get_with(&r, NULL, tampered, NULL);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	json_decref(p);
	/* expiry */
	p = presign(id, "ota.bin", json_pack("{s:i}", "expires_in_s", 1));
	sleep(2);
	get_with(&r, NULL, testenv_jstr(p, "path"), NULL);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	ck_assert(strstr(testenv_err(&r, "message"), "expired"));
	http_resp_cleanup(&r);
	json_decref(p);
	/* viewers cannot presign; bad lifetimes are refused */
	char *viewer = testenv_token_new("viewer", "fwpv", NULL, NULL);
	http_call(&r, "POST", viewer, "{}",
		  "/api/v1/firmware/releases/%s/artifacts/ota.bin/presign", id);
	EXPECT_ERROR(&r, 403, "forbidden", NULL);
	http_resp_cleanup(&r);
	free(viewer);
	http_call(&r, "POST", tok(), "{\"expires_in_s\":0}",
		  "/api/v1/firmware/releases/%s/artifacts/ota.bin/presign", id);
	EXPECT_ERROR(&r, 400, "bad_request", "/expires_in_s");
	http_resp_cleanup(&r);
	free(data);
	free(id);
}
END_TEST

START_TEST(metrics_count_uploads_and_downloads)
{
	struct http_resp r;

	http_call(&r, "GET", NULL, NULL, "/metrics");
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(strstr(r.body, "bw_fw_uploads_total{result=\"ok\"}"), "no upload metric");
	ck_assert(strstr(r.body, "bw_fw_uploads_total{result=\"sha256_mismatch\"}"));
	ck_assert(strstr(r.body, "bw_fw_upload_bytes_total"));
	ck_assert(strstr(r.body, "bw_fw_downloads_total{kind=\"bearer\",status=\"206\"}"));
	ck_assert(strstr(r.body, "bw_fw_downloads_total{kind=\"presigned\",status=\"200\"}"));
	ck_assert(strstr(r.body, "bw_fw_download_bytes_total"));
	ck_assert(strstr(r.body, "bw_fw_presign_rejected_total{reason=\"expired\"}"));
	http_resp_cleanup(&r);
}
END_TEST

/* ---- 300 MB upload ---- */

struct gen {
	uint64_t left;
	uint32_t x;
	struct sha256_stream *hash; /* first pass: hash only */
};

static void gen_fill(struct gen *g, char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		g->x ^= g->x << 13;
		g->x ^= g->x >> 17;
		g->x ^= g->x << 5;
		buf[i] = (char)g->x;
	}
}

static size_t gen_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct gen *g = arg;
	size_t n = size * nitems;

	if (n > g->left)
		n = (size_t)g->left;
	gen_fill(g, buf, n);
	g->left -= n;
	return n;
}

/* Peak and current resident set of the server process, in kB (-1 if unknown). */
static void server_memory(long *hwm_kb, long *rss_kb)
{
	const char *dir = getenv("BW_TEST_DIR");
	char path[512], line[256];
	FILE *f;
	long pid = 0;

	*hwm_kb = *rss_kb = -1;
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/bellwetherd.pid", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm_kb = strtol(line + 6, NULL, 10);
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static size_t discard_hash(char *p, size_t size, size_t n, void *arg)
{
	sha256_stream_update(arg, p, size * n);
	return size * n;
}

START_TEST(large_upload_keeps_server_memory_small)
{
	char *id = release_new(), url[512], hdr_sha[100], auth[200], hex[65];
	unsigned char d[DIGEST_SHA256_LEN];
	static char chunk[1 << 16];
	struct gen g = { .left = LARGE_UPLOAD_BYTES, .x = 12345 };
	long hwm0, rss0, hwm1, rss1, status = 0;
	struct curl_slist *h = NULL;
	CURL *c;

	server_memory(&hwm0, &rss0);
	if (hwm0 < 0) {
		fprintf(stderr, "large_upload: server pid not readable; memory not checked\n");
	}
	/* first pass: the SHA-256 to declare */
	g.hash = sha256_stream_new();
	while (g.left) {
		size_t n = g.left < sizeof(chunk) ? (size_t)g.left : sizeof(chunk);
		gen_read(chunk, 1, n, &g);
		sha256_stream_update(g.hash, chunk, n);
	}
	sha256_stream_final(g.hash, d);
	sha256_stream_free(g.hash);
	for (int i = 0; i < DIGEST_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	g = (struct gen){ .left = LARGE_UPLOAD_BYTES, .x = 12345 };

	snprintf(url, sizeof(url), "%s/api/v1/firmware/releases/%s/artifacts?name=big.bin",
		 testenv_get()->url, id);
	snprintf(hdr_sha, sizeof(hdr_sha), "X-Content-SHA256: %s", hex);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok());
	h = curl_slist_append(h, hdr_sha);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, gen_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &g);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)LARGE_UPLOAD_BYTES);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 240L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	ck_assert_int_eq(status, 201);
	server_memory(&hwm1, &rss1);
	fprintf(stderr, "large_upload: %llu MiB; server VmHWM %ld -> %ld kB, VmRSS %ld -> %ld kB\n",
		LARGE_UPLOAD_BYTES >> 20, hwm0, hwm1, rss0, rss1);
	if (hwm0 >= 0)
		ck_assert_msg(hwm1 - hwm0 < LARGE_UPLOAD_MAX_GROWTH_KB,
			      "server peak memory grew by %ld kB during a %llu MiB upload",
			      hwm1 - hwm0, LARGE_UPLOAD_BYTES >> 20);

	/* and it comes back intact (zero-copy send from the blob file) */
	struct sha256_stream *back = sha256_stream_new();
	snprintf(url, sizeof(url), "%s/api/v1/firmware/releases/%s/artifacts/big.bin/content",
		 testenv_get()->url, id);
	curl_easy_reset(c);
	curl_slist_free_all(h);
	h = curl_slist_append(NULL, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_hash);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, back);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 240L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	ck_assert_int_eq(status, 200);
	unsigned char d2[DIGEST_SHA256_LEN];
	sha256_stream_final(back, d2);
	sha256_stream_free(back);
	ck_assert(memcmp(d, d2, sizeof(d)) == 0);
	server_memory(&hwm1, &rss1);
	if (hwm0 >= 0)
		ck_assert_msg(hwm1 - hwm0 < LARGE_UPLOAD_MAX_GROWTH_KB,
			      "server peak memory grew by %ld kB after the download", hwm1 - hwm0);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(id);
}
END_TEST

static Suite *fw_transfer_suite(void)
{
	Suite *s = suite_create("api_fw_transfer");
	TCase *tc = tcase_create("transfer");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, upload_then_download_round_trips);
	tcase_add_test(tc, download_resumes_with_range);
	tcase_add_test(tc, sha256_mismatch_is_rejected_and_nothing_is_left);
	tcase_add_test(tc, identical_content_is_deduplicated);
	tcase_add_test(tc, presigned_urls_work_without_a_token_until_they_expire);
	tcase_add_test(tc, metrics_count_uploads_and_downloads);
	suite_add_tcase(s, tc);
	tc = tcase_create("large");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, large_upload_keeps_server_memory_small);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(fw_transfer_suite());
}
