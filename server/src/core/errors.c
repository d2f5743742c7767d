#include "core/errors.h"

struct err_entry {
	const char *code;
	unsigned status;
	const char *aws;
	const char *msg;
};

static const struct err_entry entries[] = {
	{ "ok", 200, "", "ok" },
#define X(e, code, status, aws, msg) { code, status, aws, msg },
#include "core/errors.def"
#undef X
};

static const struct err_entry *get(enum bw_err err)
{
	if ((int)err < 0 || err >= BW_ERR__COUNT)
		return &entries[BW_ERR_INTERNAL];
	return &entries[err];
}

const char *bw_err_code(enum bw_err err)
{
	return get(err)->code;
}

unsigned bw_err_http_status(enum bw_err err)
{
	return get(err)->status;
}

const char *bw_err_aws_type(enum bw_err err)
{
	return get(err)->aws;
}

const char *bw_err_message(enum bw_err err)
{
	return get(err)->msg;
}
