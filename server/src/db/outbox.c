#include "db/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* Build a Postgres array literal of the given texts: {"a","b",NULL}. */
static bool array_text(struct buf *b, const char *const *vals, size_t n)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		if (!vals[i]) {
			buf_puts(b, "NULL");
			continue;
		}
		buf_putc(b, '"');
		for (const char *p = vals[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *p);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
	return !b->is_oom;
}

enum db_status db_outbox_add(struct db *db, const struct outbox_msg *msgs, size_t n)
{
	struct buf topics, payloads, qos, targets;
	enum db_status st = DB_HARD;
	const char **vals = NULL;
	char **hex = NULL;

	if (n == 0)
		return DB_NONE;
	buf_init(&topics);
	buf_init(&payloads);
	buf_init(&qos);
	buf_init(&targets);
	vals = calloc(n, sizeof(*vals));
	hex = calloc(n, sizeof(*hex));
	if (!vals || !hex)
		goto out;
	for (size_t i = 0; i < n; i++)
		vals[i] = msgs[i].topic;
	array_text(&topics, vals, n);
	/* payloads travel as hex bytea text: '\x...' */
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = msgs[i].payload;
		hex[i] = malloc(msgs[i].payload_len * 2 + 3);
		if (!hex[i])
			goto out;
		hex[i][0] = '\\';
		hex[i][1] = 'x';
		static const char digits[] = "0123456789abcdef";
		for (size_t k = 0; k < msgs[i].payload_len; k++) {
			hex[i][2 + 2 * k] = digits[p[k] >> 4];
			hex[i][3 + 2 * k] = digits[p[k] & 15];
		}
		hex[i][2 + 2 * msgs[i].payload_len] = '\0';
		vals[i] = hex[i];
	}
	array_text(&payloads, vals, n);
	buf_putc(&qos, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&qos, "%s%d", i ? "," : "", msgs[i].qos ? 1 : 0);
	buf_putc(&qos, '}');
	for (size_t i = 0; i < n; i++)
		vals[i] = msgs[i].target_client;
	array_text(&targets, vals, n);
	if (topics.is_oom || payloads.is_oom || qos.is_oom || targets.is_oom)
		goto out;
	const char *params[] = { topics.data, payloads.data, qos.data, targets.data };
	st = db_exec(db,
		     "INSERT INTO mqtt_outbox (topic, payload, qos, target_client)"
		     " SELECT t, p, q, c FROM unnest($1::text[], $2::bytea[], $3::smallint[],"
		     " $4::text[]) WITH ORDINALITY AS u(t, p, q, c, ord) ORDER BY ord",
		     4, params, NULL);
out:
	if (hex)
		for (size_t i = 0; i < n; i++)
			free(hex[i]);
	free(hex);
	free(vals);
	buf_cleanup(&topics);
	buf_cleanup(&payloads);
	buf_cleanup(&qos);
	buf_cleanup(&targets);
	return st;
}

/* One hex digit of Postgres' encode(..., 'hex') output (lower-case). */
static unsigned hexval(char c)
{
	return c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0');
}

void db_outbox_rows_free(struct outbox_row *rows, int n)
{
	if (!rows)
		return;
	for (int i = 0; i < n; i++) {
		free(rows[i].topic);
		free(rows[i].payload);
		free(rows[i].target_client);
		free(rows[i].fanout_messages);
	}
	free(rows);
}

int db_outbox_fetch(struct db *db, int max, struct outbox_row **out)
{
	struct db_rows *rows = NULL;
	struct outbox_row *r = NULL;
	char lim[16];
	enum db_status st;
	int n = 0;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", max);
	const char *params[] = { lim };
	st = db_exec(
		db,
		"SELECT id, topic, encode(payload, 'hex'), qos, target_client, presign,"
		" fanout_messages::text, fanout_done FROM mqtt_outbox ORDER BY id LIMIT $1::int",
		1, params, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE)
		goto out;
	r = calloc((size_t)rows->nrows, sizeof(*r));
	if (!r) {
		n = DB_HARD;
		goto out;
	}
	for (n = 0; n < rows->nrows; n++) {
		const char *hexp = db_rows_get(rows, n, 2);
		size_t hl = strlen(hexp);
		r[n].id = strtoll(db_rows_get(rows, n, 0), NULL, 10);
		r[n].topic = strdup(db_rows_get(rows, n, 1));
		r[n].payload = malloc(hl / 2 + 1);
		r[n].qos = atoi(db_rows_get(rows, n, 3));
		r[n].presign = strcmp(db_rows_get(rows, n, 5), "t") == 0;
		if (db_rows_get(rows, n, 4))
			r[n].target_client = strdup(db_rows_get(rows, n, 4));
		if (db_rows_get(rows, n, 6))
			r[n].fanout_messages = strdup(db_rows_get(rows, n, 6));
		r[n].fanout_done = strtoll(db_rows_get(rows, n, 7), NULL, 10);
		if (!r[n].topic || !r[n].payload ||
		    (db_rows_get(rows, n, 4) && !r[n].target_client) ||
		    (db_rows_get(rows, n, 6) && !r[n].fanout_messages)) {
			db_outbox_rows_free(r, n + 1);
			r = NULL;
			n = DB_HARD;
			goto out;
		}
		for (size_t k = 0; k < hl / 2; k++)
			r[n].payload[k] =
				(unsigned char)(hexval(hexp[2 * k]) << 4 | hexval(hexp[2 * k + 1]));
		r[n].payload_len = hl / 2;
	}
	*out = r;
out:
	db_rows_free(rows);
	return n;
}

enum db_status db_outbox_delete(struct db *db, const int64_t *ids, int n)
{
	struct buf arr;
	enum db_status st;

	if (n <= 0)
		return DB_NONE;
	buf_init(&arr);
	buf_putc(&arr, '{');
	for (int i = 0; i < n; i++)
		buf_printf(&arr, "%s%lld", i ? "," : "", (long long)ids[i]);
	buf_putc(&arr, '}');
	if (arr.is_oom) {
		buf_cleanup(&arr);
		return DB_HARD;
	}
	const char *params[] = { arr.data };
	st = db_exec(db, "DELETE FROM mqtt_outbox WHERE id = ANY($1::bigint[])", 1, params, NULL);
	buf_cleanup(&arr);
	return st;
}

/* From the first remaining range of the row's set on (gaps before it are skipped), up to its
 * upper end, through things_pkey; membership is computed per row, not filtered, so the planner
 * keeps the ordered index scan with its LIMIT whatever it guesses about the set. */
static const char fanout_things_sql[] =
	"WITH o AS MATERIALIZED (SELECT fanout_things AS mr FROM mqtt_outbox WHERE id = $1::bigint),"
	" b AS MATERIALIZED (SELECT min(greatest(lower(r), $2::bigint + 1)) AS lo,"
	"  max(upper(r)) AS hi FROM o, unnest(o.mr) r WHERE upper(r) > $2::bigint + 1)"
	" SELECT t.id, t.name, t.id <@ o.mr FROM o, things t WHERE t.id >= (SELECT lo FROM b)"
	" AND t.id < (SELECT hi FROM b) ORDER BY t.id LIMIT $3::int";

enum db_status db_outbox_fanout_things(struct db *db, int64_t outbox_id, int64_t after, int max,
				       struct outbox_thing **things, int *n, int64_t *scanned_to)
{
	char id[24], a[24], lim[16];
	const char *params[] = { id, a, lim };
	struct db_rows *rows = NULL;
	enum db_status st;
	int k = 0;

	*things = NULL;
	*n = 0;
	*scanned_to = after;
	snprintf(id, sizeof(id), "%lld", (long long)outbox_id);
	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(lim, sizeof(lim), "%d", max);
	st = db_exec_static(db, fanout_things_sql, 3, params, &rows);
	if (st <= 0)
		goto out;
	*things = calloc((size_t)rows->nrows, sizeof(**things));
	if (!*things) {
		st = DB_HARD;
		goto out;
	}
	for (int i = 0; i < rows->nrows; i++) {
		*scanned_to = strtoll(db_rows_get(rows, i, 0), NULL, 10);
		if (strcmp(db_rows_get(rows, i, 2), "t") != 0)
			continue;
		(*things)[k].id = *scanned_to;
		snprintf((*things)[k].name, sizeof((*things)[k].name), "%s",
			 db_rows_get(rows, i, 1));
		k++;
	}
	*n = k;
	st = DB_ONE;
out:
	db_rows_free(rows);
	return st;
}

enum db_status db_outbox_fanout_progress(struct db *db, int64_t outbox_id, int64_t done)
{
	char id[24], d[24];
	const char *params[] = { id, d };

	snprintf(id, sizeof(id), "%lld", (long long)outbox_id);
	snprintf(d, sizeof(d), "%lld", (long long)done);
	return db_exec_static(
		db, "UPDATE mqtt_outbox SET fanout_done = $2::bigint WHERE id = $1::bigint", 2,
		params, NULL);
}

enum db_status db_outbox_pending(struct db *db, int64_t *count)
{
	struct db_rows *rows = NULL;
	enum db_status st = db_exec(db, "SELECT count(*) FROM mqtt_outbox", 0, NULL, &rows);
	if (st == DB_ONE)
		*count = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	db_rows_free(rows);
	return st;
}
