/* Outbox pump: publishes committed mqtt_outbox rows (db/outbox.h) in id order, QoS as stored,
 * never retained, and deletes each row once the broker client has taken it. One pump acts at a
 * time across instances (Postgres advisory lock), so per-key order holds cluster-wide. Delivery
 * is at least once: a crash between publish and delete republishes the row.
 *
 * Fan-out rows (migrations/0006_jobs_fanout.sql) are expanded in place: their things are read
 * in id order in chunks, each thing gets the row's messages in template order, and the row's
 * progress is saved after every chunk, so a restart republishes at most one chunk. Rows after a
 * fan-out row wait until it is done, which keeps the order per thing. */
#ifndef BW_MQTT_OUTBOX_PUMP_H
#define BW_MQTT_OUTBOX_PUMP_H

#include <stdint.h>

#include "jobs/document.h"

/* Start the pump thread on its own connection to dsn. lock_key is the advisory lock that
 * elects the active pump. Returns 0 or -1. */
int outbox_pump_start(const char *dsn, int64_t lock_key);
/* Stop the thread (publishing what it already fetched is abandoned; rows stay for later). */
void outbox_pump_stop(void);
/* Wake the pump now (e.g. after a local commit). */
void outbox_pump_kick(void);
/* Resolver of presigned-URL placeholders (spec 3.10) for rows stored with presign = true: their
 * JSON payload goes through jobs_document_resolve(fn, arg) before publishing. Without one (or
 * when resolving fails) such rows are published as stored. Set before outbox_pump_start. */
void outbox_pump_set_presigner(jobs_document_presign_fn fn, void *arg);

#endif
