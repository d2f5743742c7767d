/* Unit tests for core/config: option table, value parsers, file and environment loading.
 * The "fixed_bugs" case keeps the repros of config.c defects found in review. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char tmp_path[64];

/* Write content to a new temporary file; its path is in tmp_path. */
static const char *write_temp(const char *content)
{
	int fd;
	FILE *f;

	strcpy(tmp_path, "/tmp/bw_test_config_XXXXXX");
	fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(content, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return tmp_path;
}

/* Text written by fn(cfg, f) into a memory stream. Caller frees. */
static char *capture(void (*fn)(const struct config *, FILE *), const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fn(cfg, f);
	fclose(f);
	return text;
}

static void print_help(const struct config *cfg, FILE *f)
{
	(void)cfg;
	config_print_help(f);
}

static void print_markdown(const struct config *cfg, FILE *f)
{
	(void)cfg;
	config_print_markdown(f);
}

START_TEST(defaults_match_option_table)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_str_eq(cfg.http_listen, "127.0.0.1:8080");
	ck_assert_int_eq(cfg.http_threads, 8);
	ck_assert_int_eq(cfg.http_max_body, 1024 * 1024);
	ck_assert_int_eq(cfg.http_bulk_max_body, 8 * 1024 * 1024);
	ck_assert_str_eq(cfg.pg_dsn, "");
	ck_assert_int_eq(cfg.mqtt_port, 1883);
	ck_assert_int_eq(cfg.sched_tick_ms, 500);
	ck_assert_int_eq(cfg.leader_lock_key, 727001);
	ck_assert(cfg.migrate_on_start);
	ck_assert_str_eq(cfg.log_level, "info");
	config_cleanup(&cfg);
	ck_assert_ptr_null(cfg.http_listen);
	config_cleanup(&cfg); /* twice is harmless */
}
END_TEST

START_TEST(option_table_is_well_formed)
{
	struct config cfg;
	char err[256];

	ck_assert_uint_gt(config_options_count, 0);
	config_init(&cfg);
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *o = &config_options[i];
		ck_assert_msg(strncmp(o->env, "BW_", 3) == 0, "%s", o->env);
		ck_assert_msg(o->help && *o->help, "%s has no help", o->env);
		ck_assert_msg(o->min <= o->max, "%s range", o->env);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(o->env, config_options[j].env) != 0, "duplicate %s",
				      o->env);
		/* each default is accepted again through config_set */
		ck_assert_msg(config_set(&cfg, o->env, o->def, err, sizeof(err)), "%s", err);
	}
	config_cleanup(&cfg);
}
END_TEST

START_TEST(parse_int_accepts_decimal_only)
{
	int64_t v = 0;

	ck_assert(config_parse_int("42", &v));
	ck_assert_int_eq(v, 42);
	ck_assert(config_parse_int("-7", &v));
	ck_assert_int_eq(v, -7);
	ck_assert(config_parse_int("9223372036854775807", &v));
	ck_assert_int_eq(v, INT64_MAX);
	v = 5;
	ck_assert(!config_parse_int("9223372036854775808", &v));
	ck_assert(!config_parse_int("", &v));
	ck_assert(!config_parse_int(NULL, &v));
	ck_assert(!config_parse_int("12x", &v));
	ck_assert(!config_parse_int("0x10", &v));
	ck_assert(!config_parse_int("1.5", &v));
	ck_assert(!config_parse_int("12 ", &v));
	ck_assert_int_eq(v, 5); /* untouched on failure */
}
END_TEST

START_TEST(parse_bool_accepts_documented_words)
{
	static const char *const yes[] = { "1", "true", "TRUE", "yes", "Yes", "on", "ON" };
	static const char *const no[] = { "0", "false", "False", "no", "NO", "off", "Off" };
	static const char *const bad[] = { "", "2", "y", "n", "truee", "enabled", " true" };
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		ck_assert_msg(config_parse_bool(yes[i], &b) && b, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		ck_assert_msg(config_parse_bool(no[i], &b) && !b, "%s", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!config_parse_bool(bad[i], &b), "%s", bad[i]);
}
END_TEST

struct bytes_case {
	const char *s;
	int64_t v;
};

START_TEST(parse_bytes_accepts_binary_suffixes)
{
	static const struct bytes_case ok[] = {
		{ "0", 0 },
		{ "1024", 1024 },
		{ "1k", 1024 },
		{ "2KiB", 2048 },
		{ "3kb", 3072 },
		{ "1m", 1048576 },
		{ "8MiB", 8388608 },
		{ "1MB", 1048576 },
		{ "2GiB", 2147483648LL },
		{ "4g", 4294967296LL },
		{ "8589934591GiB", 8589934591LL * 1073741824LL },
	};
	static const char *const bad[] = { "",
					   "-1",
					   "+1",
					   " 1",
					   "1.5MiB",
					   "1TiB",
					   "MiB",
					   "1 MiB",
					   "1MiB ",
					   "1Mi",
					   "9223372036854775807k",
					   "8589934592GiB",
					   "99999999999999999999" };
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(config_parse_bytes(ok[i].s, &v), "%s", ok[i].s);
		ck_assert_msg(v == ok[i].v, "%s = %lld", ok[i].s, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!config_parse_bytes(bad[i], &v), "%s", bad[i]);
	ck_assert(!config_parse_bytes(NULL, &v));
}
END_TEST

START_TEST(set_validates_and_names_the_option)
{
	struct config cfg;
	char err[256];

	config_init(&cfg);
	ck_assert(config_set(&cfg, "BW_HTTP_THREADS", "16", err, sizeof(err)));
	ck_assert_int_eq(cfg.http_threads, 16);
	ck_assert(!config_set(&cfg, "BW_HTTP_THREADS", "0", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_HTTP_THREADS: 0 is out of range [1, 256]");
	ck_assert(!config_set(&cfg, "BW_HTTP_THREADS", "257", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_HTTP_THREADS: 257 is out of range [1, 256]");
	ck_assert(!config_set(&cfg, "BW_HTTP_THREADS", "many", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_HTTP_THREADS: 'many' is not an integer");
	ck_assert_int_eq(cfg.http_threads, 16); /* failures leave the value */
	ck_assert(!config_set(&cfg, "BW_SCHED_TICK_MS", "1s", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_SCHED_TICK_MS: '1s' is not an integer (milliseconds)");
	ck_assert(!config_set(&cfg, "BW_MIGRATE_ON_START", "maybe", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_MIGRATE_ON_START: 'maybe' is not a boolean "
			      "(true/false/1/0/yes/no/on/off)");
	ck_assert(config_set(&cfg, "BW_MIGRATE_ON_START", "off", err, sizeof(err)));
	ck_assert(!cfg.migrate_on_start);
	ck_assert(config_set(&cfg, "BW_HTTP_MAX_BODY", "2MiB", err, sizeof(err)));
	ck_assert_int_eq(cfg.http_max_body, 2 * 1024 * 1024);
	ck_assert(!config_set(&cfg, "BW_HTTP_MAX_BODY", "1000", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_HTTP_MAX_BODY: 1000 is out of range [1024, 268435456]");
	ck_assert(!config_set(&cfg, "BW_HTTP_MAX_BODY", "lots", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_HTTP_MAX_BODY: 'lots' is not a size (e.g. 1048576, 512KiB, "
			      "8MiB, 2GiB)");
	ck_assert(!config_set(&cfg, "BW_NOPE", "1", err, sizeof(err)));
	ck_assert_str_eq(err, "BW_NOPE: unknown option");
	ck_assert(!config_set(&cfg, "bw_http_threads", "1", err, sizeof(err))); /* exact names */
	/* strings are copied and replace the old value (valgrind checks the old one is freed) */
	ck_assert(config_set(&cfg, "BW_LOG_LEVEL", "debug", err, sizeof(err)));
	ck_assert(config_set(&cfg, "BW_LOG_LEVEL", "warn", err, sizeof(err)));
	ck_assert_str_eq(cfg.log_level, "warn");
	ck_assert(config_set(&cfg, "BW_PUBLIC_URL", "", err, sizeof(err)));
	ck_assert_str_eq(cfg.public_url, "");
	config_cleanup(&cfg);
}
END_TEST

START_TEST(load_file_applies_lines_and_skips_comments)
{
	struct config cfg;
	char errs[512] = "";
	const char *path = write_temp("# comment\n"
				      "\n"
				      "   # indented comment\n"
				      "BW_HTTP_THREADS=4\n"
				      "  BW_MQTT_HOST  =  broker.local  \n"
				      "BW_PG_DSN=\"host=/tmp dbname=bw\"\n"
				      "BW_LOG_LEVEL='debug'\n"
				      "BW_PUBLIC_URL=\"\"\n"
				      "BW_MIGRATE_ON_START=no\r\n"
				      "BW_HTTP_MAX_BODY=4MiB"); /* no final newline */

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path, errs, sizeof(errs)), 0);
	ck_assert_str_eq(errs, "");
	ck_assert_int_eq(cfg.http_threads, 4);
	ck_assert_str_eq(cfg.mqtt_host, "broker.local");
	ck_assert_str_eq(cfg.pg_dsn, "host=/tmp dbname=bw");
	ck_assert_str_eq(cfg.log_level, "debug");
	ck_assert_str_eq(cfg.public_url, "");
	ck_assert(!cfg.migrate_on_start);
	ck_assert_int_eq(cfg.http_max_body, 4 * 1024 * 1024);
	unlink(path);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(load_file_reports_every_error_with_its_line)
{
	struct config cfg;
	char errs[1024] = "";
	char want[1024];
	const char *path = write_temp("BW_HTTP_THREADS=0\n"
				      "just some words\n"
				      "BW_UNKNOWN=1\n"
				      "BW_MQTT_PORT=1884\n"
				      "BW_MIGRATE_ON_START=perhaps\n");

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path, errs, sizeof(errs)), 4);
	snprintf(want, sizeof(want),
		 "%s:1: BW_HTTP_THREADS: 0 is out of range [1, 256]\n"
		 "%s:2: expected KEY=value\n"
		 "%s:3: BW_UNKNOWN: unknown option\n"
		 "%s:5: BW_MIGRATE_ON_START: 'perhaps' is not a boolean "
		 "(true/false/1/0/yes/no/on/off)\n",
		 path, path, path, path);
	ck_assert_str_eq(errs, want);
	ck_assert_int_eq(cfg.mqtt_port, 1884); /* good lines still apply */
	unlink(path);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(load_file_truncates_error_text_safely)
{
	struct config cfg;
	char errs[40];
	const char *path = write_temp("a\nb\nc\nd\n");

	memset(errs, 0, sizeof(errs));
	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path, errs, sizeof(errs)), 4);
	ck_assert_uint_lt(strlen(errs), sizeof(errs));
	ck_assert(strncmp(errs, path, strlen(path)) == 0);
	unlink(path);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(load_file_reports_missing_file)
{
	struct config cfg;
	char errs[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, "/nonexistent/bw.conf", errs, sizeof(errs)), 1);
	ck_assert_str_eq(errs, "--config /nonexistent/bw.conf: No such file or directory\n");
	config_cleanup(&cfg);
}
END_TEST

START_TEST(load_env_applies_bw_variables_only)
{
	struct config cfg;
	char errs[512] = "", warns[512] = "";
	char *envp[] = {
		"PATH=/usr/bin",   "HTTP_THREADS=99", "BW_HTTP_THREADS=12",
		"BW_MQTT_HOST=mq", "BW_LOG_LEVEL=",   "BW_TYPO=1",
		"BW_MQTT_PORT=0",  "BW_NOEQUALS",     NULL,
	};

	config_init(&cfg);
	ck_assert_int_eq(config_load_env(&cfg, envp, errs, sizeof(errs), warns, sizeof(warns)), 1);
	ck_assert_str_eq(errs, "BW_MQTT_PORT: 0 is out of range [1, 65535]\n");
	/* unknown BW_ names are warnings: the environment is shared with other tools */
	ck_assert_str_eq(warns, "BW_TYPO: unknown option (ignored)\n");
	ck_assert_int_eq(cfg.http_threads, 12);
	ck_assert_str_eq(cfg.mqtt_host, "mq");
	ck_assert_str_eq(cfg.log_level, "");
	ck_assert_int_eq(cfg.mqtt_port, 1883);
	errs[0] = '\0';
	ck_assert_int_eq(config_load_env(&cfg, envp, errs, sizeof(errs), NULL, 0), 1);
	ck_assert_int_eq(config_load_env(&cfg, NULL, errs, sizeof(errs), NULL, 0), 0);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(environment_overrides_file)
{
	struct config cfg;
	char errs[256] = "";
	const char *path = write_temp("BW_HTTP_THREADS=3\nBW_MQTT_HOST=from-file\n");
	char *envp[] = { "BW_HTTP_THREADS=5", NULL };

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path, errs, sizeof(errs)), 0);
	ck_assert_int_eq(config_load_env(&cfg, envp, errs, sizeof(errs), NULL, 0), 0);
	ck_assert_int_eq(cfg.http_threads, 5);
	ck_assert_str_eq(cfg.mqtt_host, "from-file");
	unlink(path);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(print_masks_secrets)
{
	struct config cfg;
	char err[128];
	char *text;

	config_init(&cfg);
	text = capture(config_print, &cfg);
	ck_assert_ptr_nonnull(strstr(text, "\nBW_PG_DSN=\n"));
	ck_assert_ptr_nonnull(strstr(text, "BW_HTTP_THREADS=8\n"));
	ck_assert_ptr_nonnull(strstr(text, "BW_MIGRATE_ON_START=true\n"));
	free(text);
	ck_assert(config_set(&cfg, "BW_PG_DSN", "postgres://u:hunter2@db/bw", err, sizeof(err)));
	text = capture(config_print, &cfg);
	ck_assert_ptr_nonnull(strstr(text, "\nBW_PG_DSN=***\n"));
	ck_assert_ptr_null(strstr(text, "hunter2"));
	free(text);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(help_and_markdown_list_every_option)
{
	char *help = capture(print_help, NULL);
	char *md = capture(print_markdown, NULL);
	char row[160];

	for (size_t i = 0; i < config_options_count; i++) {
		ck_assert_msg(strstr(help, config_options[i].env), "help misses %s",
			      config_options[i].env);
		snprintf(row, sizeof(row), "| `%s` |", config_options[i].env);
		ck_assert_msg(strstr(md, row), "markdown misses %s", config_options[i].env);
	}
	ck_assert_ptr_nonnull(strstr(md, "| `BW_HTTP_THREADS` | int | 8 | 1..256 |"));
	ck_assert_ptr_nonnull(strstr(md, "(secret)"));
	free(help);
	free(md);
}
END_TEST

/* ---- fixed bugs in config.c (see the file comment) ---- */

START_TEST(known_bug_long_line_is_an_error_not_two_lines)
{
	struct config cfg;
	char errs[1024] = "";
	char *content = malloc(8192);
	size_t o;

	ck_assert_ptr_nonnull(content);
	/* a 4096+ byte value whose tail looks like another setting */
	o = (size_t)sprintf(content, "BW_PUBLIC_URL=");
	memset(content + o, 'x', 4082);
	o += 4082;
	o += (size_t)sprintf(content + o, "BW_LOG_LEVEL=debug\nBW_HTTP_THREADS=4\n");
	const char *path = write_temp(content);
	free(content);
	config_init(&cfg);
	
	ck_assert_int_eq(config_load_file(&cfg, path, errs, sizeof(errs)), 1);
	ck_assert_msg(strstr(errs, ":1: ") != NULL, "error should name line 1: %s", errs);
	ck_assert_int_eq(cfg.http_threads, 4); /* line 2 still applies */
	unlink(path);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(known_bug_directory_is_not_a_readable_config)
{
	struct config cfg;
	char errs[256] = "";

	config_init(&cfg);
	
	ck_assert_int_eq(config_load_file(&cfg, "/tmp", errs, sizeof(errs)), 1);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(known_bug_long_unknown_env_name_is_reported)
{
	struct config cfg;
	char errs[1024] = "", warns[1024] = "";
	char name[300];
	char *envp[] = { name, NULL };

	memset(name, 'A', sizeof(name));
	memcpy(name, "BW_", 3);
	strcpy(name + 200, "=1");
	config_init(&cfg);
	
	ck_assert_int_eq(config_load_env(&cfg, envp, errs, sizeof(errs), warns, sizeof(warns)), 0);
	ck_assert_msg(strstr(warns, "unknown option") != NULL, "no warning: '%s'", warns);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(known_bug_parse_int_rejects_space_and_plus)
{
	int64_t v;

	
	ck_assert(!config_parse_int(" 7", &v));
	ck_assert(!config_parse_int("+7", &v));
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, defaults_match_option_table);
	tcase_add_test(tc, option_table_is_well_formed);
	tcase_add_test(tc, help_and_markdown_list_every_option);
	tcase_add_test(tc, print_masks_secrets);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_int_accepts_decimal_only);
	tcase_add_test(tc, parse_bool_accepts_documented_words);
	tcase_add_test(tc, parse_bytes_accepts_binary_suffixes);
	tcase_add_test(tc, set_validates_and_names_the_option);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, load_file_applies_lines_and_skips_comments);
	tcase_add_test(tc, load_file_reports_every_error_with_its_line);
	tcase_add_test(tc, load_file_truncates_error_text_safely);
	tcase_add_test(tc, load_file_reports_missing_file);
	tcase_add_test(tc, load_env_applies_bw_variables_only);
	tcase_add_test(tc, environment_overrides_file);
	suite_add_tcase(s, tc);

	{
		tc = tcase_create("fixed_bugs");
		tcase_add_test(tc, known_bug_long_line_is_an_error_not_two_lines);
		tcase_add_test(tc, known_bug_directory_is_not_a_readable_config);
		tcase_add_test(tc, known_bug_long_unknown_env_name_is_reported);
		tcase_add_test(tc, known_bug_parse_int_rejects_space_and_plus);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
