#include "db/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "crypto/digest.h"

#define MIGRATE_LOCK_KEY "727000"
#define MAX_MIGRATIONS 1000
#define MAX_MIGRATION_BYTES (16 * 1024 * 1024)

struct migration {
	int version;
	char name[256];
	char path[4096];
};

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* "0001_init.sql" -> version 1, name "init". */
static bool parse_name(const char *file, int *version, char *name, size_t namelen)
{
	size_t len = strlen(file);
	if (len < 10 || strcmp(file + len - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 4; i++)
		if (file[i] < '0' || file[i] > '9')
			return false;
	if (file[4] != '_')
		return false;
	*version = atoi(file);
	size_t n = len - 4 - 5;
	if (n == 0 || n >= namelen)
		return false;
	memcpy(name, file + 5, n);
	name[n] = '\0';
	return *version > 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b);
	b.max = MAX_MIGRATION_BYTES;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!buf_append(&b, chunk, n))
			break;
	bool bad = ferror(f) || b.is_oom || b.is_over;
	fclose(f);
	if (bad) {
		buf_cleanup(&b);
		return NULL;
	}
	*len = b.len;
	return buf_take(&b);
}

static int list_migrations(const char *dir, struct migration **out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct migration *list = NULL;
	int n = 0;

	if (!d) {
		log_error("db", "migrate_dir_unreadable", LOG_S("dir", dir),
			  LOG_S("error", strerror(errno)), LOG_END);
		return -1;
	}
	list = calloc(MAX_MIGRATIONS, sizeof(*list));
	if (!list) {
		closedir(d);
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n >= MAX_MIGRATIONS)
			break;
		if (!parse_name(e->d_name, &list[n].version, list[n].name, sizeof(list[n].name))) {
			log_error("db", "migrate_bad_file_name", LOG_S("file", e->d_name), LOG_END);
			closedir(d);
			free(list);
			return -1;
		}
		snprintf(list[n].path, sizeof(list[n].path), "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	qsort(list, (size_t)n, sizeof(*list), cmp_migration);
	for (int i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			log_error("db", "migrate_duplicate_version",
				  LOG_I("version", list[i].version), LOG_END);
			free(list);
			return -1;
		}
	}
	*out = list;
	return n;
}

struct migrate_ctx {
	struct migration *list;
	int n;
	int applied;
	bool is_checksum_bad;
};

static enum db_status migrate_tx(struct db *db, void *arg)
{
	struct migrate_ctx *ctx = arg;
	struct db_rows *rows = NULL;
	enum db_status st;

	ctx->applied = 0;
	ctx->is_checksum_bad = false;
	st = db_exec(db, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, NULL);
	if (st < 0)
		return st;
	st = db_exec(db,
		     "CREATE TABLE IF NOT EXISTS schema_version ("
		     " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
		     " applied_at timestamptz NOT NULL DEFAULT now())",
		     0, NULL, NULL);
	if (st < 0)
		return st;
	st = db_exec(db, "SELECT version, sha256 FROM schema_version ORDER BY version", 0, NULL,
		     &rows);
	if (st < 0)
		return st;

	for (int i = 0; i < ctx->n; i++) {
		struct migration *m = &ctx->list[i];
		size_t len = 0;
		char *sql = read_file(m->path, &len);
		char hex[DIGEST_SHA256_HEX_LEN];
		const char *applied_sha = NULL;

		if (!sql) {
			log_error("db", "migrate_file_unreadable", LOG_S("file", m->path), LOG_END);
			st = DB_HARD;
			goto out;
		}
		digest_sha256_hex(sql, len, hex);
		for (int r = 0; r < rows->nrows; r++)
			if (atoi(db_rows_get(rows, r, 0)) == m->version)
				applied_sha = db_rows_get(rows, r, 1);
		if (applied_sha) {
			if (strcmp(applied_sha, hex) != 0) {
				log_error("db", "migrate_checksum_changed", LOG_S("file", m->path),
					  LOG_S("recorded", applied_sha), LOG_S("actual", hex),
					  LOG_END);
				ctx->is_checksum_bad = true;
				free(sql);
				st = DB_HARD;
				goto out;
			}
			free(sql);
			continue;
		}
		/* a multi-statement file cannot use PQexecParams: run it as a simple query */
		st = db_exec_script(db, sql);
		free(sql);
		if (st < 0) {
			log_error("db", "migrate_failed", LOG_S("file", m->path),
				  LOG_S("error", db_last_error(db)), LOG_END);
			goto out;
		}
		char ver[16];
		snprintf(ver, sizeof(ver), "%d", m->version);
		const char *params[] = { ver, m->name, hex };
		st = db_exec(db,
			     "INSERT INTO schema_version(version, name, sha256) VALUES ($1,$2,$3)",
			     3, params, NULL);
		if (st < 0)
			goto out;
		log_info("db", "migration_applied", LOG_I("version", m->version),
			 LOG_S("name", m->name), LOG_END);
		ctx->applied++;
	}
	st = DB_NONE;
out:
	db_rows_free(rows);
	return st;
}

int db_migrate_run(struct db *db, const char *dir)
{
	struct migrate_ctx ctx = { 0 };
	enum db_status st;

	ctx.n = list_migrations(dir, &ctx.list);
	if (ctx.n < 0)
		return -1;
	st = db_tx_run(db, DB_READ_COMMITTED, migrate_tx, &ctx);
	free(ctx.list);
	if (st < 0)
		return -1;
	return ctx.applied;
}
