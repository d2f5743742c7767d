/*
 * The AWS IoT Jobs device data plane over HTTP (`iot-jobs-data`, spec section 4), SigV4-signed,
 * AWS-shaped errors (x-amzn-ErrorType + {"message","__type"}). Routes: api/routes_jobs_data.inc.
 * The engine is the MQTT one (mqtt/jobs.h), so both planes share validation, SQL and events.
 * GET /things/{thing}/jobs and GET /things/{thing}/jobs/{jobId} exist in the `iot` control
 * plane too (spec 4.3): these handlers own both routes and pass requests whose SigV4 service is
 * "iot" to the control-plane handlers of api/jobs_control.h.
 */
#ifndef BW_API_JOBS_DATA_H
#define BW_API_JOBS_DATA_H

#include "http/request.h"

/* GET /things/{thing}/jobs: GetPendingJobExecutions, or ListJobExecutionsForThing ("iot"). */
void api_aws_jobs_data_get_pending(const struct request *req, struct reply *rep);
/* PUT /things/{thing}/jobs/{jobId} with jobId "$next": StartNextPendingJobExecution. */
void api_aws_jobs_data_start_next(const struct request *req, struct reply *rep);
/* GET /things/{thing}/jobs/{jobId}: DescribeJobExecution (either plane, by SigV4 service). */
void api_aws_jobs_data_describe(const struct request *req, struct reply *rep);
/* POST /things/{thing}/jobs/{jobId}: UpdateJobExecution. */
void api_aws_jobs_data_update(const struct request *req, struct reply *rep);

#endif
