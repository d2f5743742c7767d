/* The route table. One route per line (tests/openapi/check-routes.sh parses this file and
 * compares it with api/openapi.yaml): method, pattern, handler, min role, body, auth, metrics
 * name (NULL = the pattern), stream callbacks (BODY_STREAM routes only). */
#include "api/routes.h"

#include "api/firmware.h"
#include "api/handlers.h"
#include "api/jobs_control.h"
#include "api/jobs_data.h"
#include "api/jobs_native.h"
#include "api/shadow.h"

/* clang-format off */
const struct route api_routes[] = {
	{ "GET", "/healthz", api_health_healthz, ROLE_NONE, BODY_NONE, AUTH_PUBLIC, NULL, NULL },
	{ "GET", "/readyz", api_health_readyz, ROLE_NONE, BODY_NONE, AUTH_PUBLIC, NULL, NULL },
	{ "GET", "/metrics", api_health_metrics, ROLE_NONE, BODY_NONE, AUTH_PUBLIC, NULL, NULL },
	{ "GET", "/", api_static_index, ROLE_NONE, BODY_NONE, AUTH_PUBLIC, NULL, NULL },
	{ "GET", "/ui/{file}", api_static_file, ROLE_NONE, BODY_NONE, AUTH_PUBLIC, NULL, NULL },
	{ "GET", "/api/v1/whoami", api_whoami, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/tokens", api_tokens_list, ROLE_ADMIN, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "POST", "/api/v1/tokens", api_tokens_create, ROLE_ADMIN, BODY_JSON, AUTH_BEARER, NULL, NULL },
	{ "DELETE", "/api/v1/tokens/{id}", api_tokens_revoke, ROLE_ADMIN, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/audit", api_audit_list, ROLE_OPERATOR, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/things", api_things_list, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "POST", "/api/v1/things", api_things_create, ROLE_OPERATOR, BODY_JSON, AUTH_BEARER, NULL, NULL },
	{ "POST", "/api/v1/things/bulk", api_things_bulk, ROLE_OPERATOR, BODY_JSON_BULK, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/things/{thing}", api_things_get, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "PATCH", "/api/v1/things/{thing}", api_things_update, ROLE_OPERATOR, BODY_JSON, AUTH_BEARER, NULL, NULL },
	{ "DELETE", "/api/v1/things/{thing}", api_things_delete, ROLE_OPERATOR, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/things/{thing}/groups", api_things_groups, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/groups", api_groups_list, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "POST", "/api/v1/groups", api_groups_create, ROLE_OPERATOR, BODY_JSON, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/groups/{group}", api_groups_get, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "PATCH", "/api/v1/groups/{group}", api_groups_update, ROLE_OPERATOR, BODY_JSON, AUTH_BEARER, NULL, NULL },
	{ "DELETE", "/api/v1/groups/{group}", api_groups_delete, ROLE_OPERATOR, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "GET", "/api/v1/groups/{group}/things", api_groups_things, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "PUT", "/api/v1/groups/{group}/things/{thing}", api_groups_add_thing, ROLE_OPERATOR, BODY_NONE, AUTH_BEARER, NULL, NULL },
	{ "DELETE", "/api/v1/groups/{group}/things/{thing}", api_groups_remove_thing, ROLE_OPERATOR, BODY_NONE, AUTH_BEARER, NULL, NULL },
#include "api/routes_firmware.inc"
#include "api/routes_shadow.inc"
#include "api/routes_jobs_data.inc"
#include "api/routes_jobs_control.inc"
};
/* clang-format on */

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
