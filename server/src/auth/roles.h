/* API token roles, ordered: a higher role may do everything a lower one may. */
#ifndef BW_AUTH_ROLES_H
#define BW_AUTH_ROLES_H

#include <stdbool.h>

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

/* "viewer" | "operator" | "admin"; ROLE_NONE -> "none". */
const char *role_name(enum role r);
/* Parse a role name; false if unknown (ROLE_NONE is not parseable). */
bool role_parse(const char *s, enum role *out);
bool role_allows(enum role have, enum role need);

#endif
