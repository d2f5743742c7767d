/* Error registry: every error the API can return, with its HTTP status and AWS type. */
#ifndef BW_CORE_ERRORS_H
#define BW_CORE_ERRORS_H

enum bw_err {
	BW_OK = 0,
#define X(e, code, status, aws, msg) e,
#include "core/errors.def"
#undef X
	BW_ERR__COUNT
};

/* Native snake_case code, e.g. "not_found". */
const char *bw_err_code(enum bw_err err);
unsigned bw_err_http_status(enum bw_err err);
const char *bw_err_aws_type(enum bw_err err);
const char *bw_err_message(enum bw_err err);

#endif
