/* Versioned job templates (migrations/0007): every change adds an immutable version; the
 * job_templates row holds the latest, which the AWS control plane sees. */
#ifndef BW_DB_JOB_TEMPLATES_H
#define BW_DB_JOB_TEMPLATES_H

#include <stdint.h>

#include <jansson.h>

#include "db/db.h"
#include "db/jobs.h"

enum db_template_put_result {
	DB_TEMPLATE_CREATED,	 /* version 1 */
	DB_TEMPLATE_NEW_VERSION, /* content differed from the latest: version + 1 */
	DB_TEMPLATE_UNCHANGED,	 /* same content as the latest: nothing written */
};

/* A new version of a template (validated and normalised by the caller). */
struct db_template_put {
	const char *template_id;
	const char *description;
	const char *document;	     /* NULL when none */
	const char *document_source; /* NULL when none */
	const char *config_json;     /* AWS-shaped template settings */
	const char *request_sha256;
	const char *actor;
	enum db_template_put_result result; /* out */
	int version;			    /* out: the version now latest */
};

/* Create the template or add a version when its content changed. Run inside a transaction
 * (the row is locked); DB_RETRY when a concurrent creation won the race. */
enum db_status db_job_template_put(struct db *db, struct db_template_put *p);

/* Load version `version` (0 = the latest) of a template into out;
 * *version_out (may be NULL) gets the version loaded. DB_ONE, DB_NONE (no such template or
 * version), or negative. */
enum db_status db_job_template_version_load(struct db *db, const char *template_id, int version,
					    struct db_job_template *out, int *version_out);

/* The template (version 0 = latest) as JSON for the native API: template_id, version,
 * latest_version, description, document (object) or document_source, config (AWS-shaped),
 * created_by, created_at, updated_at, and for the latest also versions [{version, created_by,
 * created_at}] newest first. *out NULL when absent. */
enum db_status db_job_template_json(struct db *db, const char *template_id, int version,
				    json_t **out);

/* Templates ordered by id with template_id > after (NULL: from the start), at most limit rows:
 * *out is a JSON array of {template_id, version, description, created_at, updated_at}. */
enum db_status db_job_templates_list(struct db *db, const char *after, int limit, json_t **out);

/* Record which template version a new job was created from (same transaction). */
enum db_status db_job_set_template_version(struct db *db, int64_t job_pk, int version);

#endif
