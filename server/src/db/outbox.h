/* The MQTT outbox (migrations/0004_outbox.sql): rows written inside a transaction, published
 * after commit by mqtt/outbox_pump. */
#ifndef BW_DB_OUTBOX_H
#define BW_DB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strutil.h"
#include "db/db.h"

struct outbox_msg {
	const char *topic;
	const void *payload;
	size_t payload_len;
	int qos;
	const char *target_client; /* NULL = normal publish to subscribers */
};

/* Append msgs (in order) to the outbox in ONE statement, inside the caller's transaction. */
enum db_status db_outbox_add(struct db *db, const struct outbox_msg *msgs, size_t n);

/* A fetched row (owned strings). */
struct outbox_row {
	int64_t id;
	char *topic;
	unsigned char *payload;
	size_t payload_len;
	int qos;
	char *target_client;
	bool presign; /* payload holds presigned-URL placeholders to resolve at publish time */
	/* A fan-out row (migrations/0006_jobs_fanout.sql) when fanout_messages is not NULL: its
	 * JSON array of message templates, published for every thing of the row with an id above
	 * fanout_done (db_outbox_fanout_things); topic and payload are then not published. */
	char *fanout_messages;
	int64_t fanout_done;
};

/* Fetch up to max unsent rows in id order into *rows (caller frees with db_outbox_rows_free).
 * Returns the number fetched or a negative status. */
int db_outbox_fetch(struct db *db, int max, struct outbox_row **rows);
void db_outbox_rows_free(struct outbox_row *rows, int n);
/* Delete published rows by id. */
enum db_status db_outbox_delete(struct db *db, const int64_t *ids, int n);
/* One thing of a fan-out row: its id and name. */
struct outbox_thing {
	int64_t id;
	char name[STRUTIL_THING_NAME_MAX + 1];
};

/* The next things of fan-out row outbox_id after thing id `after`, in id order: at most max
 * things of the table are looked at (so gaps in the row's set cost bounded work per call), the
 * members of the row among them go to *things (malloc'd, caller frees; *n of them, possibly 0)
 * and *scanned_to receives the last id looked at, where the next call continues. Things deleted
 * since the row was written are skipped. Returns DB_ONE, DB_NONE when nothing is left (the row
 * is exhausted), or a negative status. */
enum db_status db_outbox_fanout_things(struct db *db, int64_t outbox_id, int64_t after, int max,
				       struct outbox_thing **things, int *n, int64_t *scanned_to);
/* Record that fan-out row outbox_id was published up to thing id done (a restarted pump
 * resumes after it). */
enum db_status db_outbox_fanout_progress(struct db *db, int64_t outbox_id, int64_t done);

/* Rows waiting (for metrics and tests). */
enum db_status db_outbox_pending(struct db *db, int64_t *count);

#endif
