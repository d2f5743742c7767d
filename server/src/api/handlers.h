/* Native and operational HTTP handlers (one function per route). */
#ifndef BW_API_HANDLERS_H
#define BW_API_HANDLERS_H

#include "http/request.h"

#define HANDLER(name) void name(const struct request *req, struct reply *rep)

HANDLER(api_health_healthz);
HANDLER(api_health_readyz);
HANDLER(api_health_metrics);
HANDLER(api_static_index);
HANDLER(api_static_file);

HANDLER(api_tokens_list);
HANDLER(api_tokens_create);
HANDLER(api_tokens_revoke);
HANDLER(api_whoami);
HANDLER(api_audit_list);

HANDLER(api_things_list);
HANDLER(api_things_create);
HANDLER(api_things_bulk);
HANDLER(api_things_get);
HANDLER(api_things_update);
HANDLER(api_things_delete);
HANDLER(api_things_groups);

HANDLER(api_groups_list);
HANDLER(api_groups_create);
HANDLER(api_groups_get);
HANDLER(api_groups_update);
HANDLER(api_groups_delete);
HANDLER(api_groups_things);
HANDLER(api_groups_add_thing);
HANDLER(api_groups_remove_thing);

#undef HANDLER

/* Set by main: the directory of dashboard files. */
void api_static_set_dir(const char *dir);

#endif
