#include "jobs/errors.h"

#include <stddef.h>

struct entry {
	const char *code;
	const char *type;
	unsigned status;
	const char *msg;
	bool has_state;
};

static const struct entry entries[] = {
#define X(e, code, type, status, msg, state) { code, type, status, msg, state },
	JOBS_ERR_LIST(X)
#undef X
};

static const struct entry *get(enum jobs_err err)
{
	if ((unsigned)err >= JOBS_ERR__COUNT)
		return &entries[JOBS_ERR_INTERNAL];
	return &entries[err];
}

const char *jobs_err_code(enum jobs_err err)
{
	return get(err)->code;
}

const char *jobs_err_rest_type(enum jobs_err err)
{
	return get(err)->type;
}

unsigned jobs_err_http_status(enum jobs_err err)
{
	return get(err)->status;
}

const char *jobs_err_message(enum jobs_err err)
{
	return get(err)->msg;
}

bool jobs_err_has_execution_state(enum jobs_err err)
{
	return get(err)->has_state;
}
