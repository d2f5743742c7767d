/* The MQTT outbox (migrations/0004_outbox.sql): rows written inside a transaction, published
 * after commit by mqtt/outbox_pump. */
#ifndef BW_DB_OUTBOX_H
#define BW_DB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
};

/* Fetch up to max unsent rows in id order into *rows (caller frees with db_outbox_rows_free).
 * Returns the number fetched or a negative status. */
int db_outbox_fetch(struct db *db, int max, struct outbox_row **rows);
void db_outbox_rows_free(struct outbox_row *rows, int n);
/* Delete published rows by id. */
enum db_status db_outbox_delete(struct db *db, const int64_t *ids, int n);
/* Rows waiting (for metrics and tests). */
enum db_status db_outbox_pending(struct db *db, int64_t *count);

#endif
