/* AWS access keys accepted in SigV4-signed requests (AWS-compatible routes), loaded from
 * BW_AWS_KEYS_FILE: one key per line, "ACCESS_KEY_ID SECRET [ROLE]" (role defaults to operator;
 * '#' comments and blank lines ignored). */
#ifndef BW_AUTH_AWSKEYS_H
#define BW_AUTH_AWSKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/roles.h"
#include "core/errors.h"
#include "http/request.h"

/* Load the key file (replacing any loaded keys). Returns false with a message naming the line
 * on a malformed file. An empty path loads no keys (every SigV4 request is then refused). */
bool awskeys_load(const char *path, char *err, size_t errlen);
void awskeys_clear(void);
size_t awskeys_count(void);

/* Verify a SigV4 request as seen by the HTTP layer. body_sha256_hex is the hash of the whole
 * body. On success fills out (name "aws:<key id>", the key's role) and returns BW_OK; else
 * returns an error with its AWS error type and message in aws_type/msg. */
enum bw_err awskeys_verify(const char *method, const char *raw_path, const char *raw_query,
			   const char *const *header_names, const char *const *header_values,
			   size_t nheaders, const char *body_sha256_hex, struct principal *out,
			   const char **aws_type, char *msg, size_t msglen);

#endif
