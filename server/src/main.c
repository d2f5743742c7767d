/* bellwetherd: serve | migrate | token | print-config. Startup order: config, logging,
 * migrations, DB pool, bootstrap token, MQTT (async), HTTP; then wait for SIGTERM/SIGINT and
 * drain in reverse. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/firmware.h"
#include "api/handlers.h"
#include "api/jobs_control.h"
#include "api/routes.h"
#include "auth/awskeys.h"
#include "auth/tokens.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/digest.h"
#include "db/db.h"
#include "db/job_stats.h"
#include "db/migrate.h"
#include "firmware/verify.h"
#include "http/server.h"
#include "mqtt/client.h"
#include "mqtt/outbox_pump.h"
#include "mqtt/jobs.h"
#include "mqtt/router.h"
#include "mqtt/shadow.h"
#include "mqtt/streams.h"
#include "sched/scheduler.h"

#define BW_VERSION "0.1.0"

extern char **environ;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bellwetherd [--config FILE] COMMAND\n\n"
		"Commands:\n"
		"  serve                         run the server (default)\n"
		"  migrate                       apply database migrations and exit\n"
		"  token create --role R --name N  create an API token (viewer|operator|admin);\n"
		"                                prints the token once on stdout\n"
		"  token list                    list tokens (never their secrets)\n"
		"  token revoke ID               revoke a token\n"
		"  print-config [--markdown]     print the effective configuration (secrets masked)\n"
		"                                or the option table as Markdown\n"
		"  verify-manifest MANIFEST (--trust-list F | --key PEM)... [--artifact FILE]...\n"
		"                                verify a signed firmware manifest offline\n"
		"  --help, --version\n\n");
	config_print_help(f);
}

static bool load_config(struct config *cfg, const char *file)
{
	char errs[8192] = "";
	int nerr = 0;
	enum log_level lvl;

	config_init(cfg);
	if (file)
		nerr += config_load_file(cfg, file, errs, sizeof(errs));
	char warns[4096] = "";
	nerr += config_load_env(cfg, environ, errs, sizeof(errs), warns, sizeof(warns));
	for (char *line = strtok(warns, "\n"); line; line = strtok(NULL, "\n"))
		log_warn("main", "config_unknown_env", LOG_S("detail", line), LOG_END);
	if (!log_level_parse(cfg->log_level, &lvl)) {
		size_t used = strlen(errs);
		snprintf(errs + used, sizeof(errs) - used,
			 "BW_LOG_LEVEL: '%s' is not one of error, warn, info, debug\n",
			 cfg->log_level);
		nerr++;
	}
	if (nerr) {
		fprintf(stderr, "bellwetherd: %d invalid configuration value%s:\n%s", nerr,
			nerr == 1 ? "" : "s", errs);
		return false;
	}
	log_set_level(lvl);
	if (cfg->mqtt_workers == 0) {
		/* one worker per CPU: on a small machine fewer workers make larger group-commit
		 * batches (measured: 2 instead of 4 workers on 2 cores cut the paced jobs-update
		 * p99 from 96 to 23 ms at the same throughput, docs/BENCH.md) */
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->mqtt_workers = n < 1 ? 1 : n > 64 ? 64 : n;
	}
	return true;
}

static bool require_dsn(const struct config *cfg)
{
	if (!cfg->pg_dsn || !*cfg->pg_dsn) {
		fprintf(stderr, "bellwetherd: BW_PG_DSN is required (e.g. "
				"postgresql://bellwether@127.0.0.1:5432/bellwether)\n");
		return false;
	}
	return true;
}

/* Connect with retries so the server can start alongside Postgres (compose, make run). */
static struct db *connect_retry(const char *dsn, int seconds)
{
	for (int i = 0; i <= seconds * 2; i++) {
		struct db *db = db_connect(dsn);
		if (db)
			return db;
		usleep(500000);
	}
	return NULL;
}

static int cmd_migrate(const struct config *cfg)
{
	struct db *db;
	int n;

	if (!require_dsn(cfg))
		return 2;
	db = connect_retry(cfg->pg_dsn, 30);
	if (!db) {
		log_error("main", "db_unreachable", LOG_END);
		return 1;
	}
	n = db_migrate_run(db, cfg->migrations_dir);
	db_close(db);
	if (n < 0)
		return 1;
	log_info("main", "migrations_done", LOG_I("applied", n), LOG_END);
	return 0;
}

static int cmd_token(const struct config *cfg, int argc, char **argv)
{
	struct db *db = NULL;
	int rc = 1;

	if (argc < 1) {
		fprintf(stderr, "bellwetherd token: create, list or revoke\n");
		return 2;
	}
	if (!require_dsn(cfg))
		return 2;
	if (strcmp(argv[0], "create") == 0) {
		const char *role = NULL, *name = NULL;
		enum role r;
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
				role = argv[++i];
			else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
				name = argv[++i];
			else {
				fprintf(stderr, "bellwetherd token create: unknown argument '%s'\n",
					argv[i]);
				return 2;
			}
		}
		if (!role || !role_parse(role, &r)) {
			fprintf(stderr, "bellwetherd token create: --role viewer|operator|admin is "
					"required\n");
			return 2;
		}
		if (!name || !tokens_is_valid_name(name)) {
			fprintf(stderr, "bellwetherd token create: --name is required (1..128 of "
					"A-Z a-z 0-9 space . _ : -)\n");
			return 2;
		}
		db = connect_retry(cfg->pg_dsn, 10);
		if (!db || db_migrate_run(db, cfg->migrations_dir) < 0)
			goto out;
		char token[TOKEN_TEXT_LEN];
		int64_t id;
		if (tokens_create(db, name, r, "cli", token, &id) != DB_ONE)
			goto out;
		printf("%s\n", token);
		rc = 0;
	} else if (strcmp(argv[0], "list") == 0) {
		struct db_rows *rows = NULL;
		db = connect_retry(cfg->pg_dsn, 10);
		if (!db)
			goto out;
		if (db_exec(db,
			    "SELECT id, name, role, prefix, bw_ts(created_at),"
			    " coalesce(bw_ts(revoked_at), '-') FROM api_tokens ORDER BY id",
			    0, NULL, &rows) < 0)
			goto out;
		printf("%-6s %-24s %-9s %-9s %-25s %s\n", "ID", "NAME", "ROLE", "PREFIX", "CREATED",
		       "REVOKED");
		for (int i = 0; i < rows->nrows; i++)
			printf("%-6s %-24s %-9s %-9s %-25s %s\n", db_rows_get(rows, i, 0),
			       db_rows_get(rows, i, 1), db_rows_get(rows, i, 2),
			       db_rows_get(rows, i, 3), db_rows_get(rows, i, 4),
			       db_rows_get(rows, i, 5));
		db_rows_free(rows);
		rc = 0;
	} else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		const char *params[] = { argv[1] };
		char *end;
		if (strtoll(argv[1], &end, 10) <= 0 || *end) {
			fprintf(stderr,
				"bellwetherd token revoke: ID must be a positive integer\n");
			return 2;
		}
		db = connect_retry(cfg->pg_dsn, 10);
		if (!db)
			goto out;
		enum db_status st =
			db_exec(db,
				"UPDATE api_tokens SET revoked_at = coalesce(revoked_at,"
				" now()) WHERE id = $1::bigint",
				1, params, NULL);
		if (st == DB_NONE)
			fprintf(stderr, "bellwetherd token revoke: no token %s\n", argv[1]);
		rc = st == DB_ONE ? 0 : 1;
	} else {
		fprintf(stderr, "bellwetherd token: create, list or revoke ID\n");
		rc = 2;
	}
out:
	if (rc == 1 && db)
		fprintf(stderr, "bellwetherd token: database error: %s\n", db_last_error(db));
	else if (rc == 1)
		fprintf(stderr, "bellwetherd token: cannot connect to the database\n");
	db_close(db);
	return rc;
}

/* On first start with no active tokens, create an admin token and show it once. */
static int bootstrap_token(const struct config *cfg)
{
	struct db *db = db_pool_get();
	int64_t count = 0;
	int rc = -1;

	if (!db)
		return -1;
	if (tokens_count_active(db, &count) < 0)
		goto out;
	if (count == 0) {
		char token[TOKEN_TEXT_LEN];
		int64_t id;
		if (tokens_create(db, "bootstrap-admin", ROLE_ADMIN, "bootstrap", token, &id) !=
		    DB_ONE)
			goto out;
		if (cfg->bootstrap_token_file && *cfg->bootstrap_token_file) {
			FILE *f = fopen(cfg->bootstrap_token_file, "w");
			if (f) {
				fchmod(fileno(f), 0600);
				fprintf(f, "%s\n", token);
				fclose(f);
			} else {
				log_warn("main", "bootstrap_token_file_failed",
					 LOG_S("path", cfg->bootstrap_token_file),
					 LOG_S("error", strerror(errno)), LOG_END);
			}
		}
		/* printed once, on purpose: this is the only way to learn the first token */
		fprintf(stderr, "\n  First start: created admin API token (shown once):\n  %s\n\n",
			token);
		log_info("main", "bootstrap_token_created", LOG_I("token_id", id),
			 LOG_S("file", cfg->bootstrap_token_file), LOG_END);
	}
	rc = 0;
out:
	db_pool_put(db);
	return rc;
}

static void collect_db_stats(void)
{
	int size, in_use, waiting;
	uint64_t reconnects, errors;
	db_pool_stats(&size, &in_use, &waiting, &reconnects, &errors);
	metrics_gauge_set("bw_db_pool_connections", "state=\"in_use\"", in_use);
	metrics_gauge_set("bw_db_pool_connections", "state=\"idle\"", size - in_use);
	metrics_gauge_set("bw_db_pool_waiting", NULL, waiting);
	metrics_gauge_set("bw_db_reconnects_total", NULL, (double)reconnects);
	metrics_gauge_set("bw_db_errors_total", NULL, (double)errors);
}

static char *read_secret_file(const char *path)
{
	FILE *f;
	char line[1024];

	if (!path || !*path)
		return NULL;
	f = fopen(path, "r");
	if (!f) {
		log_error("main", "secret_file_unreadable", LOG_S("path", path),
			  LOG_S("error", strerror(errno)), LOG_END);
		return NULL;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line);
}

static int cmd_serve(const struct config *cfg)
{
	sigset_t sigs;
	int sig = 0, rc = 1;
	char *mqtt_password = NULL;
	struct mqtt_router *router = NULL;
	bool is_mqtt = false, is_http = false, is_pool = false, is_fw = false, is_pump = false;
	bool is_sched = false;

	if (!require_dsn(cfg))
		return 2;
	/* block termination signals in every thread; the main thread waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("main", "starting", LOG_S("version", BW_VERSION), LOG_END);
	if (cfg->migrate_on_start && cmd_migrate(cfg) != 0)
		return 1;
	if (!db_pool_init(cfg->pg_dsn, (int)cfg->db_pool_size, cfg->db_connect_timeout_ms,
			  (int)cfg->db_tx_retries))
		return 1;
	is_pool = true;
	metrics_describe("bw_db_pool_connections", "gauge", "Database pool connections by state");
	metrics_describe("bw_db_pool_waiting", "gauge", "Requests waiting for a connection");
	metrics_describe("bw_db_reconnects_total", "counter", "Database reconnects");
	metrics_describe("bw_db_errors_total", "counter", "Database connection errors");
	metrics_describe("bw_build_info", "gauge", "Build information");
	metrics_gauge_set("bw_build_info", "version=\"" BW_VERSION "\"", 1);
	metrics_on_collect(collect_db_stats);
	metrics_on_collect(db_job_stats_collect);
	if (bootstrap_token(cfg) != 0) {
		log_error("main", "bootstrap_failed", LOG_END);
		goto out;
	}

	router = mqtt_router_new();
	mqtt_password = read_secret_file(cfg->mqtt_password_file);
	if (!router || (cfg->mqtt_password_file && *cfg->mqtt_password_file && !mqtt_password))
		goto out;
	if (mqtt_shadow_register(router, cfg) != BW_OK)
		goto out;
	if (mqtt_jobs_register(router) != BW_OK)
		goto out;
	if (mqtt_streams_register(router, cfg) != BW_OK)
		goto out;
	char client_id[64];
	if (cfg->mqtt_client_id && *cfg->mqtt_client_id) {
		snprintf(client_id, sizeof(client_id), "%s", cfg->mqtt_client_id);
	} else {
		unsigned char r[6];
		if (!digest_random(r, sizeof(r)))
			goto out;
		snprintf(client_id, sizeof(client_id), "bellwetherd-%02x%02x%02x%02x%02x%02x", r[0],
			 r[1], r[2], r[3], r[4], r[5]);
	}
	struct mqtt_client_options mo = {
		.host = cfg->mqtt_host,
		.port = (int)cfg->mqtt_port,
		.client_id = client_id,
		.username = cfg->mqtt_username && *cfg->mqtt_username ? cfg->mqtt_username : NULL,
		.password = mqtt_password,
		.keepalive_s = (int)cfg->mqtt_keepalive_s,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = (int)cfg->mqtt_reconnect_max_ms,
		.workers = (unsigned)cfg->mqtt_workers,
		.queue_capacity = (size_t)cfg->mqtt_queue_capacity,
	};
	if (mqtt_client_start(&mo, router) != 0)
		goto out;
	is_mqtt = true;
	api_jobs_control_init(cfg);
	if (outbox_pump_start(cfg->pg_dsn, cfg->outbox_lock_key) != 0)
		goto out;
	is_pump = true;
	if (sched_start(cfg) != 0)
		goto out;
	is_sched = true;

	char keyerr[512];
	if (!awskeys_load(cfg->aws_keys_file, keyerr, sizeof(keyerr))) {
		log_error("main", "aws_keys_invalid", LOG_S("error", keyerr), LOG_END);
		goto out;
	}
	api_static_set_dir(cfg->static_dir);
	char fw_err[512];
	if (!api_fw_init(cfg, fw_err, sizeof(fw_err))) {
		log_error("main", "firmware_init_failed", LOG_S("detail", fw_err), LOG_END);
		goto out;
	}
	is_fw = true;
	struct http_server_options ho = {
		.listen = cfg->http_listen,
		.threads = (int)cfg->http_threads,
		.max_body = (size_t)cfg->http_max_body,
		.bulk_max_body = (size_t)cfg->http_bulk_max_body,
		.upload_max = (uint64_t)cfg->upload_max,
		.shutdown_grace_ms = cfg->shutdown_grace_ms,
		.routes = api_routes,
		.nroutes = api_routes_count,
		.auth = tokens_authenticate,
	};
	if (http_server_start(&ho) != 0)
		goto out;
	is_http = true;
	log_info("main", "ready", LOG_I("http_port", http_server_port()), LOG_END);

	sigwait(&sigs, &sig);
	log_info("main", "shutdown_requested",
		 LOG_S("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"), LOG_END);
	rc = 0;
out:
	if (is_http)
		http_server_stop();
	if (is_fw)
		api_fw_shutdown();
	if (is_sched)
		sched_stop();
	if (is_pump)
		outbox_pump_stop();
	if (is_mqtt)
		mqtt_client_stop();
	mqtt_router_free(router);
	free(mqtt_password);
	if (is_pool)
		db_pool_shutdown();
	awskeys_clear();
	metrics_reset();
	log_info("main", "stopped", LOG_I("exit_code", rc), LOG_END);
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	const char *config_file = NULL;
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("bellwetherd %s\n", BW_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_file = argv[i + 1];
			i += 2;
			continue;
		}
		fprintf(stderr, "bellwetherd: unknown option '%s' (see --help)\n", argv[i]);
		return 2;
	}
	const char *cmd = i < argc ? argv[i++] : "serve";
	if (strcmp(cmd, "verify-manifest") == 0) /* offline tool: needs no configuration */
		return verify_cli_main(argc - i + 1, argv + i - 1);
	if (strcmp(cmd, "print-config") == 0 && i < argc && strcmp(argv[i], "--markdown") == 0) {
		config_print_markdown(stdout);
		return 0;
	}
	if (!load_config(&cfg, config_file)) {
		config_cleanup(&cfg);
		return 2;
	}
	if (strcmp(cmd, "serve") == 0)
		rc = cmd_serve(&cfg);
	else if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&cfg);
	else if (strcmp(cmd, "token") == 0)
		rc = cmd_token(&cfg, argc - i, argv + i);
	else if (strcmp(cmd, "print-config") == 0) {
		config_print(&cfg, stdout);
		rc = 0;
	} else {
		fprintf(stderr, "bellwetherd: unknown command '%s' (see --help)\n", cmd);
		rc = 2;
	}
	config_cleanup(&cfg);
	return rc;
}
