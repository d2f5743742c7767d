/* Shared by the api/aws_iot_*.c control-plane handlers only: AWS errors, ARNs, bodies,
 * timestamps and paging of the `iot` plane (spec 1.2, 1.3, 4.2, 5). */
#ifndef BW_API_AWS_IOT_COMMON_H
#define BW_API_AWS_IOT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db/db.h"
#include "db/jobs.h"
#include "http/request.h"

#define AWS_IOT_ARN_MAX 320
#define AWS_IOT_MAX_RESULTS 250

/* Region, account and public base URL (set by api_jobs_control_init). */
struct aws_iot_settings {
	char region[64];
	char account[16];
	char public_url[512]; /* without a trailing '/'; "" = from the Host header */
};
extern struct aws_iot_settings aws_iot;

/* AWS error reply: status, x-amzn-ErrorType: type, body {"message", "__type"}. */
void aws_iot_error(struct reply *rep, unsigned status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* ResourceAlreadyExistsException (409) with resourceId and resourceArn in the body. */
void aws_iot_already_exists(struct reply *rep, const char *id, const char *arn, const char *msg);
/* 503/500 AWS error for a failed database status. */
void aws_iot_db_error(struct reply *rep, enum db_status st);
/* Run fn in a transaction on a pooled connection; false with an AWS error reply set. */
bool aws_iot_tx(struct reply *rep, enum db_isolation iso, db_tx_fn fn, void *ctx);

/* "arn:aws:iot:<region>:<account>:<type>/<name>" into out. */
void aws_iot_arn(char *out, size_t cap, const char *type, const char *name);

/* The request body as a JSON object: empty body = {} (spec 5: botocore may send nothing).
 * New reference, or NULL with InvalidRequestException set. */
json_t *aws_iot_body(const struct request *req, struct reply *rep);

/* Control-plane timestamp (spec 1.3): seconds with a fraction (integer when whole). */
json_t *aws_iot_ts(int64_t ms);

/* ?maxResults (1..250, default def) and ?nextToken (an opaque key from a previous page; 0 on
 * the first). False with InvalidRequestException set. */
bool aws_iot_page(const struct request *req, struct reply *rep, int def, int *max_results,
		  int64_t *after);
/* nextToken text for a page key. */
void aws_iot_token(int64_t key, char out[32]);

/* Query boolean "true"/"false" (absent = false). False with InvalidRequestException set. */
bool aws_iot_query_bool(const struct request *req, struct reply *rep, const char *name, bool *out);

/* The audit actor: the AWS access key name (principal name). */
const char *aws_iot_actor(const struct request *req);

/* Lowercase hex SHA-256 of the compact, key-sorted JSON of v (idempotence hash). False on
 * OOM. */
bool aws_iot_request_hash(const json_t *v, char out[65]);

struct jobs_spec;
/* Validate an AWS-shaped CreateJobTemplate body into spec (documentSource read now), render
 * its stored settings (*config_text, malloc'd) and hash the request. 0 on success, 400 (msg
 * says why) or 500. Used by CreateJobTemplate and the native versioned templates. */
int aws_iot_template_prepare(json_t *body, struct jobs_spec *spec, char **config_text,
			     char hash[65], char *msg, size_t msg_cap);

/* Wall clock in Unix ms. */
int64_t aws_iot_now_ms(void);

/* What creating a job needs (borrowed). */
struct aws_iot_create_in {
	const char *job_id;
	const json_t *body; /* AWS-shaped CreateJob body */
	int64_t now_ms;
	int template_version; /* version of the body's jobTemplateArn; 0 = the latest */
	/* Optional extra work in the creating transaction (e.g. the stream of an OTA job). */
	enum db_status (*extra)(struct db *db, int64_t job_pk, void *arg);
	void *extra_arg;
};

enum aws_iot_create_outcome {
	AWS_IOT_CREATE_OK,
	AWS_IOT_CREATE_SAME,	  /* idempotent repeat */
	AWS_IOT_CREATE_INVALID,	  /* msg: "<JSON pointer>: reason" */
	AWS_IOT_CREATE_CONFLICT,  /* same id, different request */
	AWS_IOT_CREATE_NOT_FOUND, /* target or template missing (msg) */
	AWS_IOT_CREATE_DB_ERROR,  /* db_status */
};

struct aws_iot_create_result {
	enum aws_iot_create_outcome outcome;
	enum db_status db_status;
	char msg[512];
	char description[2048 * 4 + 1];
	int64_t job_pk;
	int64_t released;
};

/* CreateJob for both planes: validation (jobs/config), template merge, idempotence, the
 * transaction (db_jobs_create + extra + audit "job.create"). */
void aws_iot_jobs_create(const struct request *req, const struct aws_iot_create_in *in,
			 struct aws_iot_create_result *res);

/* DescribeJob's "job" object of j (counts filled). New reference; NULL on OOM. */
json_t *aws_iot_render_job(const struct db_job *j, int64_t now_ms);

#endif
