/* Native REST for jobs (/api/v1/jobs, bearer tokens, snake_case): create (also from a firmware
 * release as a FreeRTOS OTA job), list, get with counts, cancel, delete, executions of a job and
 * the history of one execution. Routes: api/routes_jobs_control.inc. */
#ifndef BW_API_JOBS_NATIVE_H
#define BW_API_JOBS_NATIVE_H

#include "http/request.h"

#define JOBS_NATIVE_HANDLER(name) void name(const struct request *req, struct reply *rep)

JOBS_NATIVE_HANDLER(api_jobs_list);
JOBS_NATIVE_HANDLER(api_jobs_create);
JOBS_NATIVE_HANDLER(api_jobs_create_ota);
JOBS_NATIVE_HANDLER(api_jobs_get);
JOBS_NATIVE_HANDLER(api_jobs_cancel);
JOBS_NATIVE_HANDLER(api_jobs_delete);
JOBS_NATIVE_HANDLER(api_jobs_executions);
JOBS_NATIVE_HANDLER(api_jobs_execution_history);

#undef JOBS_NATIVE_HANDLER

#endif
