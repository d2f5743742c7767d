/*
 * The AWS IoT control plane (`iot`, spec section 5) for jobs, things, thing groups and job
 * templates, and the presigned-URL resolver of job documents (spec 3.10). Routes:
 * api/routes_jobs_control.inc. Errors are AWS-shaped (x-amzn-ErrorType, {"message","__type"}).
 */
#ifndef BW_API_JOBS_CONTROL_H
#define BW_API_JOBS_CONTROL_H

#include <stdbool.h>

#include "core/config.h"
#include "http/request.h"

/* Remember the region, account id and public URL used in ARNs and presigned URLs, and register
 * the presigned-URL resolver with the outbox pump. Call once from `serve` before HTTP starts. */
void api_jobs_control_init(const struct config *cfg);

/*
 * Resolve one presigned-URL placeholder URL (jobs_document_presign_fn): URLs of the form
 * "bellwether:artifact/<artifact id>[?expiresInSec=N]" become a signed download URL of the
 * firmware registry (/api/v1/firmware/download/<id>?expires=..&signature=..), valid N seconds
 * (default 3600, 60..3600). Any other URL is returned unchanged (an external store would sign
 * it). Returns a malloc'd string, or NULL when no master key is loaded or on OOM. arg unused.
 */
char *api_jobs_presign(const char *url, void *arg);

/* The placeholder URL api_jobs_presign() understands for artifact_id (malloc'd; NULL on OOM). */
char *api_jobs_artifact_url(const char *artifact_id, int expires_in_sec);

#define JOBS_CONTROL_HANDLER(name) void name(const struct request *req, struct reply *rep)

/* api/aws_iot_jobs.c */
JOBS_CONTROL_HANDLER(api_aws_create_job);
JOBS_CONTROL_HANDLER(api_aws_describe_job);
JOBS_CONTROL_HANDLER(api_aws_get_job_document);
JOBS_CONTROL_HANDLER(api_aws_list_jobs);
JOBS_CONTROL_HANDLER(api_aws_cancel_job);
JOBS_CONTROL_HANDLER(api_aws_delete_job);
/* api/aws_iot_executions.c */
/* DescribeJobExecution of the `iot` plane (GET /things/{thing}/jobs/{jobId}): like
 * ListJobExecutionsForThing, the path is routed by the jobs data plane, which calls this when
 * the SigV4 service is "iot" (spec 4.3). */
JOBS_CONTROL_HANDLER(api_aws_describe_job_execution_iot);
JOBS_CONTROL_HANDLER(api_aws_cancel_job_execution);
JOBS_CONTROL_HANDLER(api_aws_list_job_executions_for_job);
/* ListJobExecutionsForThing (GET /things/{thing}/jobs on the `iot` plane). The route is owned
 * by the jobs data plane (spec 4.3 clash), whose handler calls this when the SigV4 credential
 * scope's service is "iot". */
JOBS_CONTROL_HANDLER(api_aws_list_job_executions_for_thing);
/* api/aws_iot_templates.c */
JOBS_CONTROL_HANDLER(api_aws_create_job_template);
JOBS_CONTROL_HANDLER(api_aws_describe_job_template);
/* api/job_templates.c: native versioned templates */
JOBS_CONTROL_HANDLER(api_job_templates_list);
JOBS_CONTROL_HANDLER(api_job_templates_put);
JOBS_CONTROL_HANDLER(api_job_templates_get);
JOBS_CONTROL_HANDLER(api_job_templates_get_version);
/* api/aws_iot_things.c */
JOBS_CONTROL_HANDLER(api_aws_create_thing);
JOBS_CONTROL_HANDLER(api_aws_describe_thing);
JOBS_CONTROL_HANDLER(api_aws_list_things);
JOBS_CONTROL_HANDLER(api_aws_create_thing_group);
JOBS_CONTROL_HANDLER(api_aws_add_thing_to_thing_group);
#undef JOBS_CONTROL_HANDLER

#endif
