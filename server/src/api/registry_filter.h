/* Shared filtering of thing listings: field filters, the group query language and group
 * membership, rendered as SQL over the alias `t` (table things). */
#ifndef BW_API_REGISTRY_FILTER_H
#define BW_API_REGISTRY_FILTER_H

#include <stdbool.h>

#include "api/common.h"
#include "core/buf.h"

/* Append " AND (...)" for a query-language expression. Returns false with a 400 reply. */
bool registry_filter_query(const char *text, const char *field, struct buf *sql,
			   struct api_params *p, struct reply *rep);
/* Append " AND (membership of group)". recursive includes members of descendant static groups.
 * Returns false with a 404/400/5xx reply. */
bool registry_filter_group(struct db *db, const char *group, bool recursive, struct buf *sql,
			   struct api_params *p, struct reply *rep);
/* Build and run the thing listing; sets the reply (paginated things). extra_sql is appended
 * to the WHERE clause and uses parameters already in p. */
void registry_list_things(const struct request *req, struct reply *rep, struct db *db,
			  struct buf *where, struct api_params *p, const struct api_page *page);
/* Append the common query-string filters (hardware_type, firmware_version, name_prefix, query). */
bool registry_filter_common(const struct request *req, struct buf *sql, struct api_params *p,
			    struct reply *rep);

#endif
