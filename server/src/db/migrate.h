/* Migration runner: applies migrations/NNNN_name.sql in order, in one transaction guarded by an
 * advisory lock, recorded in schema_version with each file's SHA-256. */
#ifndef BW_DB_MIGRATE_H
#define BW_DB_MIGRATE_H

#include "db/db.h"

/* Apply every migration in dir newer than the database's version. Returns the number applied
 * (>= 0), or -1 on error (logged): unreadable dir, bad file name, SQL error, or a changed
 * checksum of an already applied file. */
int db_migrate_run(struct db *db, const char *dir);

#endif
