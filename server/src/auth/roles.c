#include "auth/roles.h"

#include <string.h>

static const char *const names[] = { "none", "viewer", "operator", "admin" };

const char *role_name(enum role r)
{
	if ((int)r < 0 || r > ROLE_ADMIN)
		return "none";
	return names[r];
}

bool role_parse(const char *s, enum role *out)
{
	for (int i = ROLE_VIEWER; i <= ROLE_ADMIN; i++) {
		if (s && strcmp(s, names[i]) == 0) {
			*out = (enum role)i;
			return true;
		}
	}
	return false;
}

bool role_allows(enum role have, enum role need)
{
	return have >= need;
}
