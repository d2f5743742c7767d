/*
 * Jobs fan-out bench: register --things things (default 100000) in one static group, subscribe
 * with the server's MQTT account to $aws/things/+/jobs/notify and .../notify-next, create one
 * job targeting the group with no rollout limit (POST /api/v1/jobs), and time until every
 * thing's notify-next (target <= 5 s) and notify have arrived. Prints the server's peak RSS
 * (VmHWM of the pid in $BW_TEST_DIR/bellwetherd.pid) and the publish rate after the commit
 * against the raw broker baseline of the same run (BENCH_FIG_mqtt_raw_qos1_msgs_per_s). Needs
 * the harness stack (test.env).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <mosquitto.h>

static atomic_long received;	    /* notify-next with an execution */
static atomic_long received_notify; /* notify with the job QUEUED */
static atomic_long received_at_ns;  /* CLOCK_MONOTONIC of the last counted message */
static atomic_int subscribed;
static char prefix[64];
static size_t prefix_len;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	static char *const filters[] = { "$aws/things/+/jobs/notify-next",
					 "$aws/things/+/jobs/notify" };

	if (rc == 0)
		mosquitto_subscribe_multiple(m, NULL, 2, filters, 1, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	(void)m;
	(void)arg;
	(void)mid;
	atomic_store(&subscribed, n == 2 && qos[0] <= 1 && qos[1] <= 1 ? 1 : -1);
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	(void)m;
	(void)arg;
	struct timespec ts;
	size_t tl = strlen(msg->topic);

	/* "$aws/things/<prefix>N/jobs/notify-next" with an execution in it, ".../notify" with the
	 * job QUEUED */
	if (strncmp(msg->topic + 12, prefix, prefix_len) != 0 || msg->payloadlen <= 0)
		return;
	if (tl > 12 && strcmp(msg->topic + tl - 12, "/notify-next") == 0 &&
	    memmem(msg->payload, (size_t)msg->payloadlen, "\"execution\"", 11))
		atomic_fetch_add(&received, 1);
	else if (tl > 7 && strcmp(msg->topic + tl - 7, "/notify") == 0 &&
		 memmem(msg->payload, (size_t)msg->payloadlen, "\"QUEUED\"", 8))
		atomic_fetch_add(&received_notify, 1);
	else
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	atomic_store(&received_at_ns, (long)ts.tv_sec * 1000000000L + ts.tv_nsec);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static bool sql(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "bench_jobs_fanout: %s: %s\n", q, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* POST json to url + path with a bearer token; returns the HTTP status (0 on failure). */
static long post_json(const char *url, const char *path, const char *token, const char *json)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char full[1024], auth[512];
	long status = 0;

	if (!h)
		return 0;
	snprintf(full, sizeof(full), "%s%s", url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return status;
}

/* VmHWM and VmRSS of the server in KiB (0 when unknown). */
static void server_rss(long *hwm_kib, long *rss_kib)
{
	char path[1024], line[256];
	const char *dir = getenv("BW_TEST_DIR");
	FILE *f;
	long pid = 0;

	*hwm_kib = *rss_kib = 0;
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
	f = pid > 0 ? fopen(path, "r") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "VmHWM: %ld", hwm_kib);
		sscanf(line, "VmRSS: %ld", rss_kib);
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	const char *dsn = getenv("BW_TEST_PG_DSN"), *url = getenv("BW_TEST_URL");
	const char *host = getenv("BW_TEST_MQTT_HOST"), *port = getenv("BW_TEST_MQTT_PORT");
	const char *user = getenv("BW_TEST_MQTT_SERVER_USER");
	const char *pass = getenv("BW_TEST_MQTT_SERVER_PASSWORD");
	const char *token = getenv("BW_TEST_ADMIN_TOKEN");
	long things = 100000, timeout_s = 60, hwm0, rss0, hwm1, rss1;
	struct mosquitto *m = NULL;
	char q[1024], body[512], id[64];
	PGconn *c = NULL;
	int rc = 1, opt;
	static const struct option longopts[] = { { "things", required_argument, NULL, 't' },
						  { "seconds", required_argument, NULL, 's' },
						  { NULL, 0, NULL, 0 } };

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 't')
			things = strtol(optarg, NULL, 10);
		else if (opt != 's') /* --seconds is accepted for run.sh symmetry, unused */
			return 2;
	}
	if (things < 1 || things > 1000000) {
		fprintf(stderr, "bench_jobs_fanout: --things is 1..1000000\n");
		return 2;
	}
	if (!dsn || !url || !host || !port || !token) {
		fprintf(stderr, "bench_jobs_fanout: test.env not loaded\n");
		return 77;
	}
	snprintf(prefix, sizeof(prefix), "fan%ld-", (long)getpid());
	prefix_len = strlen(prefix);
	snprintf(id, sizeof(id), "fanout-%ld", (long)getpid());
	c = PQconnectdb(dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench_jobs_fanout: %s\n", PQerrorMessage(c));
		goto out;
	}
	double t_reg = now_s();
	snprintf(q, sizeof(q),
		 "INSERT INTO things (name) SELECT '%s' || i FROM generate_series(1, %ld) i",
		 prefix, things);
	if (!sql(c, q))
		goto out;
	snprintf(q, sizeof(q), "INSERT INTO thing_groups (name, type) VALUES ('%s', 'static')", id);
	if (!sql(c, q))
		goto out;
	snprintf(q, sizeof(q),
		 "INSERT INTO thing_group_members (group_id, thing_id) SELECT g.id, t.id FROM"
		 " thing_groups g, things t WHERE g.name = '%s' AND t.name LIKE '%s%%'",
		 id, prefix);
	if (!sql(c, q) || !sql(c, "ANALYZE things") || !sql(c, "ANALYZE thing_group_members"))
		goto out;
	printf("jobs fan-out: %ld things registered in %.1f s\n", things, now_s() - t_reg);

	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	if (!m)
		goto out;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (user && pass)
		mosquitto_username_pw_set(m, user, pass);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_connect(m, host, atoi(port), 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_jobs_fanout: cannot connect to the broker\n");
		goto out;
	}
	for (int i = 0; i < 500 && atomic_load(&subscribed) == 0; i++)
		usleep(10000);
	if (atomic_load(&subscribed) != 1) {
		fprintf(stderr, "bench_jobs_fanout: subscription refused or timed out\n");
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	server_rss(&hwm0, &rss0);
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"%s\",\"targets\":[{\"type\":\"group\",\"name\":\"%s\"}],"
		 "\"document\":{\"operation\":\"fanout\"}}",
		 id, id);
	double t0 = now_s();
	long status = post_json(url, "/api/v1/jobs", token, body);
	if (status != 201) {
		fprintf(stderr, "bench_jobs_fanout: create failed: HTTP %ld\n", status);
		goto out;
	}
	double t_created = now_s() - t0;
	long peak_rss = 0;
	double t_next = -1;
	while ((atomic_load(&received) < things || atomic_load(&received_notify) < things) &&
	       now_s() - t0 < (double)timeout_s) {
		long h, s;
		server_rss(&h, &s);
		if (s > peak_rss)
			peak_rss = s;
		if (t_next < 0 && atomic_load(&received) >= things)
			t_next = now_s() - t0;
		usleep(20000);
	}
	server_rss(&hwm1, &rss1);
	long got = atomic_load(&received), got_notify = atomic_load(&received_notify);
	/* the last message's own arrival time, not the polling loop's */
	double t_all = (double)atomic_load(&received_at_ns) / 1e9 - t0;
	if (t_next < 0 || t_next > t_all)
		t_next = t_all;
	double rate = t_all > t_created ? (double)(got + got_notify) / (t_all - t_created) : 0;
	const char *raw = getenv("BENCH_FIG_mqtt_raw_qos1_msgs_per_s");
	double raw_rate = raw ? strtod(raw, NULL) : 0;
	printf("jobs fan-out: create (all executions + events committed) %.0f ms; %ld of %ld"
	       " notify-next received in %.0f ms (target <= 5000 ms), %ld notify; every event in"
	       " %.0f ms\n",
	       t_created * 1000, got, things, t_next * 1000, got_notify, t_all * 1000);
	printf("jobs fan-out: %.0f events/s after the commit", rate);
	if (raw_rate > 0)
		printf("; ratio = jobs_fanout_events_per_s / mqtt_raw_qos1_msgs_per_s = %.2f",
		       rate / raw_rate);
	printf("\njobs fan-out: server RSS before %ld KiB, peak seen %ld KiB, VmHWM %ld KiB\n",
	       rss0, peak_rss, hwm1);
	printf("BENCH jobs_fanout_things=%ld\n", things);
	printf("BENCH jobs_fanout_create_ms=%.0f\n", t_created * 1000);
	printf("BENCH jobs_fanout_all_notified_ms=%.0f\n", t_next * 1000);
	printf("BENCH jobs_fanout_all_events_ms=%.0f\n", t_all * 1000);
	printf("BENCH jobs_fanout_events_per_s=%.0f\n", rate);
	if (raw_rate > 0)
		printf("BENCH jobs_fanout_events_per_s_ratio=%.3f\n", rate / raw_rate);
	printf("BENCH jobs_fanout_server_hwm_mib=%.1f\n", (double)hwm1 / 1024.0);
	rc = got == things && got_notify == things ? 0 : 1;
	if (rc)
		fprintf(stderr,
			"bench_jobs_fanout: only %ld notify-next and %ld notify of %ld arrived\n",
			got, got_notify, things);
	/* leave nothing behind for later benches: delete the job and the things */
	snprintf(q, sizeof(q), "DELETE FROM jobs WHERE job_id = '%s'", id);
	sql(c, q);
	snprintf(q, sizeof(q), "DELETE FROM things WHERE name LIKE '%s%%'", prefix);
	sql(c, q);
	snprintf(q, sizeof(q), "DELETE FROM thing_groups WHERE name = '%s'", id);
	sql(c, q);
out:
	if (m) {
		mosquitto_disconnect(m);
		mosquitto_loop_stop(m, true);
		mosquitto_destroy(m);
	}
	mosquitto_lib_cleanup();
	curl_global_cleanup();
	PQfinish(c);
	return rc;
}
