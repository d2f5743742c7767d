/*
 * Firmware transfer throughput for `make bench`: streamed upload into bellwetherd, download of
 * an artifact from bellwetherd (zero-copy file reply), and in the same run a baseline download
 * from a minimal in-process HTTP server that read()s the same file and write()s it to the
 * socket. All over loopback with libcurl, one connection at a time.
 *
 * Server: BW_TEST_URL + BW_TEST_ADMIN_TOKEN when the bench stack runs bellwetherd; otherwise the
 * program starts $BUILD/bellwetherd (BUILD defaults to build/debug) itself against the stack's
 * Postgres and broker (BW_TEST_PG_DSN, BW_TEST_MQTT_*, from test.env) with a private blob
 * directory and master key, and stops it at the end. Exits 77 without BW_TEST_PG_DSN.
 *
 * Options: --seconds N (per phase, default 5), --size-mib N (artifact size, default 256).
 * Prints "BENCH name=value": fw_upload_mib_per_s, fw_download_mib_per_s,
 * fw_download_raw_mib_per_s, fw_download_vs_raw_ratio. Exit 0 on success, 1 on failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define RAW_BUF (256 * 1024)
#define MAX_ENV 24

static int seconds = 5;
static size_t size_mib = 256;
static char *data; /* the artifact, in memory (uploads) */
static size_t data_len;
static char file_path[256]; /* the artifact on disk (raw baseline) */
static char base_url[256];
static char token[256];
static pid_t server_pid;
static char tmp_dir[64];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	*(uint64_t *)arg += size * n;
	return size * n;
}

struct body {
	struct curl_slist *h;
	char *text;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *t = realloc(b->text, b->len + size * n + 1);
	if (!t)
		return 0;
	memcpy(t + b->len, p, size * n);
	b->len += size * n;
	t[b->len] = '\0';
	b->text = t;
	return size * n;
}

/* One request; returns the HTTP status and (if out) the body text (caller frees). */
static long request(const char *method, const char *path, const char *json, char **out)
{
	CURL *c = curl_easy_init();
	struct body b = { 0 };
	char url[512], auth[300];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", base_url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	b.h = curl_slist_append(NULL, auth);
	if (json)
		b.h = curl_slist_append(b.h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, b.h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(b.h);
	curl_easy_cleanup(c);
	if (out)
		*out = b.text;
	else
		free(b.text);
	return status;
}

/* Value of "key":"..." in text (our JSON is compact), copied into out. */
static bool json_field(const char *text, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = text ? strstr(text, pat) : NULL;
	if (!p)
		return false;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= outlen)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

static void stop_server(void)
{
	char cmd[128];

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	if (tmp_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_fw_transfer: cannot remove %s\n", tmp_dir);
	}
	if (file_path[0])
		unlink(file_path);
}

/* Start bellwetherd against the stack's services; fills base_url and token. */
static bool start_server(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build/debug";
	const char *dsn = getenv("BW_TEST_PG_DSN");
	char bin[256], env[MAX_ENV][600], *envp[MAX_ENV + 1], path[300];
	int n = 0, port = free_port();
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/bellwetherd", build);
	strcpy(tmp_dir, "/tmp/bw-bench-fw-XXXXXX");
	if (port < 0 || !mkdtemp(tmp_dir) || access(bin, X_OK) != 0) {
		fprintf(stderr, "bench_fw_transfer: cannot prepare (%s)\n", bin);
		return false;
	}
	snprintf(path, sizeof(path), "%s/master.key", tmp_dir);
	int kfd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	unsigned char k[32];
	FILE *ur = fopen("/dev/urandom", "rb");
	if (kfd < 0 || !ur || fread(k, 1, 32, ur) != 32)
		return false;
	fclose(ur);
	for (int i = 0; i < 32; i++)
		dprintf(kfd, "%02x", k[i]);
	close(kfd);
#define ENV(...) snprintf(env[n++], sizeof(env[0]), __VA_ARGS__)
	ENV("PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	ENV("BW_HTTP_LISTEN=127.0.0.1:%d", port);
	ENV("BW_PG_DSN=%s", dsn);
	ENV("BW_MQTT_HOST=%s",
	    getenv("BW_TEST_MQTT_HOST") ? getenv("BW_TEST_MQTT_HOST") : "127.0.0.1");
	ENV("BW_MQTT_PORT=%s", getenv("BW_TEST_MQTT_PORT") ? getenv("BW_TEST_MQTT_PORT") : "1883");
	if (getenv("BW_TEST_MQTT_SERVER_USER"))
		ENV("BW_MQTT_USERNAME=%s", getenv("BW_TEST_MQTT_SERVER_USER"));
	if (getenv("BW_TEST_MQTT_PASSWORD_FILE"))
		ENV("BW_MQTT_PASSWORD_FILE=%s", getenv("BW_TEST_MQTT_PASSWORD_FILE"));
	if (getenv("BW_TEST_MIGRATIONS_DIR"))
		ENV("BW_MIGRATIONS_DIR=%s", getenv("BW_TEST_MIGRATIONS_DIR"));
	ENV("BW_BLOB_DIR=%s/blobs", tmp_dir);
	ENV("BW_MASTER_KEY_FILE=%s/master.key", tmp_dir);
	ENV("BW_BOOTSTRAP_TOKEN_FILE=%s/admin.token", tmp_dir);
	ENV("BW_LOG_LEVEL=warn");
#undef ENV
	for (int i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
	server_pid = fork();
	if (server_pid == 0) {
		char logp[300];
		snprintf(logp, sizeof(logp), "%s/bellwetherd.log", tmp_dir);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		execle(bin, bin, "serve", (char *)NULL, envp);
		_exit(127);
	}
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
	snprintf(path, sizeof(path), "%s/admin.token", tmp_dir);
	for (int i = 0; i < 300; i++) { /* 30 s */
		usleep(100000);
		if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
			server_pid = 0;
			fprintf(stderr, "bench_fw_transfer: bellwetherd exited (log in %s)\n",
				tmp_dir);
			tmp_dir[0] = '\0'; /* keep it for inspection */
			return false;
		}
		if (request("GET", "/readyz", NULL, NULL) != 200)
			continue;
		/* a fresh database gets a bootstrap token; an old one needs `token create` */
		usleep(200000);
		f = fopen(path, "r");
		if (!f) {
			char cmd[1200];
			snprintf(
				cmd, sizeof(cmd),
				"env -i PATH=\"$PATH\" BW_PG_DSN='%s' BW_MIGRATIONS_DIR='%s' '%s' token"
				" create --role admin --name bench-%d",
				dsn,
				getenv("BW_TEST_MIGRATIONS_DIR") ? getenv("BW_TEST_MIGRATIONS_DIR")
								 : "migrations",
				bin, (int)getpid());
			f = popen(cmd, "r");
			if (!f)
				return false;
			bool ok = fgets(token, sizeof(token), f) != NULL;
			if (pclose(f) != 0 || !ok)
				return false;
		} else {
			bool ok = fgets(token, sizeof(token), f) != NULL;
			fclose(f);
			if (!ok)
				return false;
		}
		token[strcspn(token, "\r\n")] = '\0';
		return token[0] != '\0';
	}
	fprintf(stderr, "bench_fw_transfer: bellwetherd did not become ready\n");
	return false;
}

struct reader {
	uint64_t left;
	size_t off;
};

static size_t feed(char *buf, size_t size, size_t n, void *arg)
{
	struct reader *r = arg;
	size_t want = size * n;

	if (want > r->left)
		want = (size_t)r->left;
	if (want > data_len - r->off)
		want = data_len - r->off;
	memcpy(buf, data + r->off, want);
	r->off = (r->off + want) % data_len;
	r->left -= want;
	return want;
}

/* Upload the artifact under name; returns true on 201. */
static bool upload(const char *release, const char *name, double *secs)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct reader rd = { .left = data_len };
	char url[512], auth[300];
	uint64_t ignored = 0;
	long status = 0;
	double t0;

	snprintf(url, sizeof(url), "%s/api/v1/firmware/releases/%s/artifacts?name=%s", base_url,
		 release, name);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)data_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &ignored);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	t0 = now_s();
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*secs = now_s() - t0;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status == 201;
}

/* Download url repeatedly for `seconds` on one connection; MiB/s or -1 on failure. */
static double download_rate(const char *url, bool is_auth)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char auth[300];
	uint64_t bytes = 0;
	double t0 = now_s(), t;
	long status = 0;

	if (is_auth) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	do {
		if (curl_easy_perform(c) != CURLE_OK)
			break;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200)
			break;
		t = now_s() - t0;
	} while (t < seconds);
	t = now_s() - t0;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (status != 200 || bytes == 0)
		return -1;
	return (double)bytes / (1024.0 * 1024.0) / t;
}

/* ---- the raw baseline: read() + write() of the file, HTTP/1.1 keep-alive ---- */

static int raw_listen_fd = -1;

static void *raw_server(void *arg)
{
	char *buf = malloc(RAW_BUF);
	(void)arg;

	for (;;) {
		int c = accept(raw_listen_fd, NULL, NULL);
		if (c < 0)
			break;
		for (;;) { /* requests on this connection */
			char req[4096];
			size_t got = 0;
			while (got < sizeof(req) - 1) {
				ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
				if (n <= 0)
					goto next;
				got += (size_t)n;
				req[got] = '\0';
				if (strstr(req, "\r\n\r\n"))
					break;
			}
			int fd = open(file_path, O_RDONLY);
			struct stat st;
			if (fd < 0 || fstat(fd, &st) != 0)
				goto next;
			char hdr[128];
			int hl = snprintf(hdr, sizeof(hdr),
					  "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n\r\n",
					  (long long)st.st_size);
			if (write(c, hdr, (size_t)hl) != hl) {
				close(fd);
				goto next;
			}
			ssize_t n;
			while ((n = read(fd, buf, RAW_BUF)) > 0) {
				ssize_t off = 0;
				while (off < n) {
					ssize_t w = write(c, buf + off, (size_t)(n - off));
					if (w <= 0) {
						close(fd);
						goto next;
					}
					off += w;
				}
			}
			close(fd);
		}
next:
		close(c);
	}
	free(buf);
	return NULL;
}

static int start_raw_server(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	pthread_t t;
	int one = 1;

	raw_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(raw_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(raw_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(raw_listen_fd, 8) != 0 ||
	    getsockname(raw_listen_fd, (struct sockaddr *)&sa, &len) != 0 ||
	    pthread_create(&t, NULL, raw_server, NULL) != 0)
		return -1;
	pthread_detach(t);
	return ntohs(sa.sin_port);
}

int main(int argc, char **argv)
{
	char *reply = NULL, id[32], url[512], name[64];
	double secs, up_total = 0, rate, raw;
	uint64_t up_bytes = 0;
	int rc = 1, raw_port;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--size-mib") == 0 && i + 1 < argc)
			size_mib = (size_t)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_fw_transfer [--seconds N] [--size-mib N]\n");
			return 2;
		}
	}
	if (seconds < 1 || seconds > 60 || size_mib < 1 || size_mib > 4096)
		return 2;
	if (!getenv("BW_TEST_PG_DSN") && !getenv("BW_TEST_URL")) {
		fprintf(stderr, "bench_fw_transfer: no test.env (BW_TEST_PG_DSN); skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	data_len = size_mib << 20;
	data = malloc(data_len);
	if (!data)
		goto out;
	uint32_t x = (uint32_t)time(NULL) | 1;
	for (size_t i = 0; i < data_len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (char)x;
	}
	strcpy(file_path, "/tmp/bw-bench-fw-file-XXXXXX");
	int ffd = mkstemp(file_path);
	if (ffd < 0 || write(ffd, data, data_len) != (ssize_t)data_len) {
		file_path[0] = '\0';
		goto out;
	}
	close(ffd);

	if (getenv("BW_TEST_URL") && *getenv("BW_TEST_URL") && getenv("BW_TEST_ADMIN_TOKEN") &&
	    *getenv("BW_TEST_ADMIN_TOKEN")) {
		snprintf(base_url, sizeof(base_url), "%s", getenv("BW_TEST_URL"));
		snprintf(token, sizeof(token), "%s", getenv("BW_TEST_ADMIN_TOKEN"));
	} else if (!start_server()) {
		goto out;
	}
	snprintf(name, sizeof(name), "bench-%ld-%d", (long)time(NULL), (int)getpid());
	snprintf(
		url, sizeof(url),
		"{\"product\":\"%s\",\"firmware_version\":\"1.0.0\",\"hardware_types\":[\"bench\"]}",
		name);
	if (request("POST", "/api/v1/firmware/releases", url, &reply) != 201 ||
	    !json_field(reply, "id", id, sizeof(id))) {
		fprintf(stderr, "bench_fw_transfer: cannot create a release: %s\n",
			reply ? reply : "");
		goto out;
	}
	/* uploads: distinct names, same content (hashing and writing happen regardless) */
	for (int i = 0; up_total < seconds || i == 0; i++) {
		char an[32];
		snprintf(an, sizeof(an), "up%d.bin", i);
		if (!upload(id, an, &secs)) {
			fprintf(stderr, "bench_fw_transfer: upload failed\n");
			goto out;
		}
		up_total += secs;
		up_bytes += data_len;
	}
	printf("BENCH fw_upload_mib_per_s=%.1f\n", (double)up_bytes / 1048576.0 / up_total);
	snprintf(url, sizeof(url), "%s/api/v1/firmware/releases/%s/artifacts/up0.bin/content",
		 base_url, id);
	download_rate(url, true); /* warm the page cache */
	rate = download_rate(url, true);
	raw_port = start_raw_server();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/file", raw_port);
	raw = raw_port > 0 ? download_rate(url, false) : -1;
	if (rate <= 0 || raw <= 0) {
		fprintf(stderr, "bench_fw_transfer: download failed\n");
		goto out;
	}
	printf("BENCH fw_download_mib_per_s=%.1f\n", rate);
	printf("BENCH fw_download_raw_mib_per_s=%.1f\n", raw);
	printf("BENCH fw_download_vs_raw_ratio=%.3f\n", rate / raw);
	rc = 0;
out:
	free(reply);
	stop_server();
	free(data);
	curl_global_cleanup();
	return rc;
}
