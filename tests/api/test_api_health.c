/* Black-box tests of the public health and metrics endpoints of a running bellwetherd. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "../lib/http_client.h"
#include "../lib/testenv.h"

START_TEST(healthz_is_ok_without_auth)
{
	struct http_resp r;

	http_call(&r, "GET", NULL, NULL, "/healthz");
	EXPECT_STATUS(&r, 200);
	ck_assert_str_eq(testenv_jstr(r.json, "status") ? testenv_jstr(r.json, "status") : "",
			 "ok");
	ck_assert_msg(http_resp_header(&r, "X-Request-Id") != NULL, "no X-Request-Id on /healthz");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(readyz_reports_postgres_and_mqtt_checks)
{
	struct http_resp r;
	json_t *checks;
	const char *st;

	http_call(&r, "GET", NULL, NULL, "/readyz");
	EXPECT_STATUS(&r, 200);
	st = testenv_jstr(r.json, "status");
	ck_assert_msg(st && strcmp(st, "ready") == 0, "/readyz status: %s", r.body);
	checks = json_object_get(r.json, "checks");
	ck_assert_msg(json_is_object(checks), "/readyz has no checks object: %s", r.body);
	st = testenv_jstr(checks, "postgres");
	ck_assert_msg(st && strcmp(st, "ok") == 0, "/readyz checks.postgres: %s", r.body);
	st = testenv_jstr(checks, "mqtt");
	ck_assert_msg(st && strcmp(st, "ok") == 0, "/readyz checks.mqtt: %s", r.body);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(metrics_is_prometheus_text_with_documented_families)
{
	static const char *const families[] = {
		"# TYPE bw_http_requests_total counter",
		"# TYPE bw_http_request_duration_seconds histogram",
		"bw_http_request_duration_seconds_bucket{",
		"bw_http_request_duration_seconds_count{",
		"bw_mqtt_messages_received_total",
		"bw_mqtt_messages_published_total",
		"bw_mqtt_connected",
		"bw_db_pool_connections{state=\"idle\"}",
		"bw_db_pool_connections{state=\"in_use\"}",
		"bw_db_pool_waiting",
		"bw_db_reconnects_total",
		"bw_db_errors_total",
		"bw_build_info{version=\"",
	};
	struct http_resp r;
	const char *ct;
	const char *line;

	/* Make sure at least one request has been counted before scraping. */
	http_call(&r, "GET", NULL, NULL, "/healthz");
	EXPECT_STATUS(&r, 200);
	http_resp_cleanup(&r);

	http_call(&r, "GET", NULL, NULL, "/metrics");
	EXPECT_STATUS(&r, 200);
	ct = http_resp_header(&r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "text/plain", 10) == 0, "/metrics Content-Type: %s",
		      ct ? ct : "(none)");
	ck_assert_msg(strstr(ct, "version=0.0.4") != NULL,
		      "/metrics Content-Type lacks version: %s", ct);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		ck_assert_msg(strstr(r.body, families[i]) != NULL, "/metrics lacks '%s'",
			      families[i]);

	/* A sample line of the request counter carries route, method and status labels. */
	line = strstr(r.body, "\nbw_http_requests_total{");
	ck_assert_msg(line != NULL, "/metrics has no labelled bw_http_requests_total sample");
	line++;
	ck_assert_msg(strstr(line, "route=\"") && strstr(line, "method=\"") &&
			      strstr(line, "status=\""),
		      "bw_http_requests_total sample lacks labels: %.200s", line);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(metrics_counts_requests)
{
	struct http_resp r;
	const char *p;

	for (int i = 0; i < 3; i++) {
		http_call(&r, "GET", NULL, NULL, "/healthz");
		EXPECT_STATUS(&r, 200);
		http_resp_cleanup(&r);
	}
	http_call(&r, "GET", NULL, NULL, "/metrics");
	EXPECT_STATUS(&r, 200);
	/* Some bw_http_requests_total sample for GET with status 200 must be at least 3. */
	p = r.body;
	bool found = false;
	while ((p = strstr(p, "\nbw_http_requests_total{")) != NULL) {
		const char *eol = strchr(p + 1, '\n');
		const char *close = strchr(p, '}');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		p++;
		if (!close || (eol && close > eol))
			continue;
		if (!memmem(p, len, "method=\"GET\"", 12) || !memmem(p, len, "status=\"200\"", 12))
			continue;
		if (strtod(close + 1, NULL) >= 3.0)
			found = true;
	}
	ck_assert_msg(found,
		      "no bw_http_requests_total{method=\"GET\",status=\"200\"} sample >= 3");
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(metrics_labels_use_route_patterns)
{
	char uniq[96];
	struct http_resp r;

	/* Concrete paths must not become label values (unbounded cardinality). */
	testenv_uniq(uniq, sizeof(uniq), "card");
	http_call(&r, "GET", testenv_get()->admin_token, NULL, "/api/v1/things/%s", uniq);
	EXPECT_STATUS(&r, 404);
	http_resp_cleanup(&r);
	http_call(&r, "GET", testenv_get()->admin_token, NULL, "/api/v1/no-route-%s", uniq);
	EXPECT_STATUS(&r, 404);
	http_resp_cleanup(&r);
	/* Nor may client-chosen method names (any unauthenticated client could add series). */
	{
		char method[128];

		snprintf(method, sizeof(method), "M%s", uniq);
		http_call(&r, method, NULL, NULL, "/healthz");
		ck_assert_msg(r.status >= 400, "%s: got %ld", r.desc, r.status);
		http_resp_cleanup(&r);
		http_call(&r, method, NULL, NULL, "/no-route");
		ck_assert_msg(r.status >= 400, "%s: got %ld", r.desc, r.status);
		http_resp_cleanup(&r);
	}
	http_call(&r, "GET", NULL, NULL, "/metrics");
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(strstr(r.body, uniq) == NULL,
		      "/metrics contains a client-chosen path or method with %s", uniq);
	ck_assert_msg(strstr(r.body, "route=\"/api/v1/things/{thing}\"") != NULL,
		      "/metrics has no route=\"/api/v1/things/{thing}\" label");
	http_resp_cleanup(&r);
}
END_TEST

/* value of the first sample line "NAME{LABELS} v" in a /metrics body, -1 when absent */
static double metric_value(const char *body, const char *sample)
{
	const char *p = body;
	size_t n = strlen(sample);

	while ((p = strstr(p, sample)) != NULL) {
		if ((p == body || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

START_TEST(metrics_count_executions_by_status)
{
	const struct testenv *env = testenv_get();
	char things[3][64], job[64], body[512];
	struct http_resp r;
	double before, now = -1;

	http_call(&r, "GET", NULL, NULL, "/metrics");
	EXPECT_STATUS(&r, 200);
	before = metric_value(r.body, "bw_jobs_executions{status=\"QUEUED\"}");
	ck_assert_msg(before >= 0, "/metrics has no bw_jobs_executions{status=\"QUEUED\"} gauge");
	ck_assert_msg(metric_value(r.body, "bw_jobs_executions{status=\"CANCELED\"}") >= 0,
		      "every execution status has a gauge");
	ck_assert_msg(metric_value(r.body, "bw_jobs{status=\"IN_PROGRESS\"}") >= 0,
		      "/metrics has no bw_jobs gauge");
	http_resp_cleanup(&r);

	for (int i = 0; i < 3; i++) {
		testenv_uniq(things[i], sizeof(things[i]), "mx");
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", things[i]);
		http_call(&r, "POST", env->admin_token, body, "/api/v1/things");
		EXPECT_STATUS(&r, 201);
		http_resp_cleanup(&r);
	}
	testenv_uniq(job, sizeof(job), "mx");
	snprintf(body, sizeof(body),
		 "{\"job_id\":\"%s\",\"document\":{\"op\":\"m\"},\"targets\":["
		 "{\"type\":\"thing\",\"name\":\"%s\"},{\"type\":\"thing\",\"name\":\"%s\"},"
		 "{\"type\":\"thing\",\"name\":\"%s\"}]}",
		 job, things[0], things[1], things[2]);
	http_call(&r, "POST", env->admin_token, body, "/api/v1/jobs");
	EXPECT_STATUS(&r, 201);
	http_resp_cleanup(&r);
	/* the gauges are cached for 5 s; other tests may run concurrently, so only a rise of at
	 * least 3 queued executions is certain */
	for (int i = 0; i < 80; i++) {
		http_call(&r, "GET", NULL, NULL, "/metrics");
		EXPECT_STATUS(&r, 200);
		now = metric_value(r.body, "bw_jobs_executions{status=\"QUEUED\"}");
		http_resp_cleanup(&r);
		if (now >= before + 3)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(now >= before + 3, "QUEUED executions went from %.0f to %.0f, expected +3",
		      before, now);
	http_call(&r, "POST", env->admin_token, "{}", "/api/v1/jobs/%s/cancel", job);
	http_resp_cleanup(&r);
}
END_TEST

START_TEST(dashboard_is_served_and_contained)
{
	static const char *const escapes[] = {
		"/ui/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/ui/..%2f..%2f..%2f..%2fetc%2fpasswd",
		"/ui/%2e%2e%2fMakefile",
	};
	struct http_resp r;
	const char *ct;

	http_call(&r, "GET", NULL, NULL, "/");
	EXPECT_STATUS(&r, 200);
	ct = http_resp_header(&r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "text/html", 9) == 0, "GET / Content-Type: %s",
		      ct ? ct : "(none)");
	http_resp_cleanup(&r);

	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		struct http_req req = { .method = "GET", .path = escapes[i] };

		http_do(&req, &r);
		ck_assert_msg(r.status == 404 || r.status == 400 || r.status == 403,
			      "%s: expected 400/403/404, got %ld", r.desc, r.status);
		ck_assert_msg(!strstr(r.body, "root:") && !strstr(r.body, "VARIANT"),
			      "%s: served a file outside the static dir", r.desc);
		http_resp_cleanup(&r);
	}
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("api_health");
	TCase *tc = tcase_create("health");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, healthz_is_ok_without_auth);
	tcase_add_test(tc, readyz_reports_postgres_and_mqtt_checks);
	tcase_add_test(tc, metrics_is_prometheus_text_with_documented_families);
	tcase_add_test(tc, metrics_counts_requests);
	tcase_add_test(tc, metrics_labels_use_route_patterns);
	tcase_add_test(tc, metrics_count_executions_by_status);
	tcase_add_test(tc, dashboard_is_served_and_contained);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testenv_run_api_suite(health_suite());
}
