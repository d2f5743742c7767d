/*
 * FreeRTOS OTA job documents (spec 9.1): the "afr_ota" document generated from a firmware
 * release, as CreateJob stores it. PURE: libc + jansson.
 */
#ifndef BW_JOBS_OTA_H
#define BW_JOBS_OTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs/errors.h"

#define JOBS_OTA_STREAM_NAME_MAX 44 /* FreeRTOS topic buffers (spec 9.7) */
#define JOBS_OTA_SIG_KEY_DEFAULT "sig-sha256-ecdsa"
#define JOBS_OTA_AUTH_SCHEME_DEFAULT "aws.s3.presigned"
#define JOBS_OTA_SIGNATURE_MAX_BYTES 384 /* decoded signature (spec 9.1) */
#define JOBS_OTA_PATH_MAX 1024		 /* our bound on filepath / certfile */

/* One file of an OTA release (all strings borrowed). Only files[0] is used by FreeRTOS. */
struct jobs_ota_file {
	const char *filepath;	     /* destination on the device; NULL = omitted */
	uint64_t filesize;	     /* bytes, > 0 */
	int fileid;		     /* stream file id 0..255 */
	const char *certfile;	     /* code-signing certificate path; NULL = omitted */
	const char *sig_key;	     /* signature key name; NULL = "sig-sha256-ecdsa" */
	const char *signature;	     /* base64 of the DER signature; NULL = omitted */
	const char *update_data_url; /* HTTP download URL, usually a presigned-URL placeholder
					(jobs_ota_placeholder); required with HTTP */
	const char *auth_scheme;     /* NULL = "aws.s3.presigned" (with update_data_url) */
	bool has_file_type;
	int file_type; /* fileType, >= 0 */
	bool has_attr;
	int attr; /* attr, >= 0 */
};

/* A release as an OTA job delivers it. */
struct jobs_ota_release {
	bool use_mqtt;		 /* "MQTT" in protocols: needs stream_name */
	bool use_http;		 /* "HTTP" in protocols: needs files[].update_data_url */
	const char *stream_name; /* 1..44 characters of [a-zA-Z0-9_-] */
	const struct jobs_ota_file *files;
	size_t file_count; /* >= 1 */
};

/*
 * {"afr_ota": {"protocols": ["MQTT","HTTP"], "streamname", "files": [{"filepath", "filesize",
 * "fileid", "certfile", "fileType", "attr", "update_data_url", "auth_scheme", <sig_key>}]}}
 * with absent optional fields omitted. Returns JOBS_OK with a new reference in *out,
 * JOBS_ERR_INVALID_REQUEST with a reason in msg (no protocol, missing stream name or URL,
 * filesize 0, fileid out of range, signature not base64 or longer than 384 bytes, strings not
 * valid UTF-8 or too long), or JOBS_ERR_INTERNAL (OOM).
 */
enum jobs_err jobs_ota_document_new(const struct jobs_ota_release *r, json_t **out, char *msg,
				    size_t msg_cap);

/* What a Bellwether device needs to judge an image before downloading it (docs/AGENT.md): the
 * release's identity and anti-rollback data, and whether the job is a revert to the known-safe
 * release (which the device then accepts despite the version being lower). Strings borrowed. */
struct jobs_ota_bellwether {
	const char *release_id;	      /* decimal id */
	const char *version;	      /* semver of the release */
	uint32_t security_version;    /* anti-rollback counter */
	const char *min_version;      /* NULL = any device version */
	const json_t *hardware_types; /* array of 1..64 strings */
	const char *sha256;	      /* hex of the artifact (64 lower-case digits) */
	bool revert;		      /* the job reverts to the known-safe release */
	const char *manifest;	      /* signed manifest text; NULL = omitted */
};

#define JOBS_OTA_BW_HARDWARE_MAX 64

/*
 * Adds {"bellwether": {"release_id", "version", "security_version", "min_version"?,
 * "hardware_types", "sha256", "revert", "manifest"?}} to doc (an afr_ota document). Returns
 * JOBS_OK, JOBS_ERR_INVALID_REQUEST with a reason in msg (missing or malformed field), or
 * JOBS_ERR_INTERNAL (OOM; doc unchanged).
 */
enum jobs_err jobs_ota_bellwether_add(json_t *doc, const struct jobs_ota_bellwether *b, char *msg,
				      size_t msg_cap);

/* "${aws:iot:s3-presigned-url:<url>}" for url (no '}' allowed). Caller frees; NULL if url is
 * empty, holds '}' or on OOM. */
char *jobs_ota_placeholder(const char *url);

#endif
