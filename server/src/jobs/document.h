/*
 * Job documents (spec 3.10, 1.1): validation of the stored text, and the presigned-URL
 * placeholders "${aws:iot:s3-presigned-url:<url>}" that are replaced each time a document is
 * delivered to a device. PURE: libc + jansson; the URL signer is a callback.
 *
 * Placeholders are found inside JSON string values of the parsed document (not in keys), so an
 * escaped form such as "https:\/\/..." in the text is seen decoded, and replacements are always
 * correctly escaped on output. A placeholder runs to the first '}'; one without a closing brace
 * or with an empty URL is left as it is. Control-plane reads return the stored text unchanged.
 */
#ifndef BW_JOBS_DOCUMENT_H
#define BW_JOBS_DOCUMENT_H

#include <stddef.h>

#include <jansson.h>

#include "jobs/errors.h"

#define JOBS_DOCUMENT_MAX_CHARS 32768 /* characters of JSON text (spec 1.1) */
#define JOBS_DOCUMENT_SOURCE_MAX 1350
#define JOBS_DOCUMENT_PLACEHOLDER "${aws:iot:s3-presigned-url:"

/*
 * Check a document text[0..len): well-formed UTF-8 of at most JOBS_DOCUMENT_MAX_CHARS
 * characters, strict JSON (duplicate keys rejected) whose root is an object (MQTT delivery
 * embeds it as an object, spec 3.10). Returns JOBS_OK, JOBS_ERR_INVALID_REQUEST (reason in msg,
 * may be NULL) or JOBS_ERR_INTERNAL (OOM). [out] out (may be NULL): the parsed object, a new
 * reference on JOBS_OK, else NULL.
 */
enum jobs_err jobs_document_parse(const char *text, size_t len, json_t **out, char *msg,
				  size_t msg_cap);

/* The distinct placeholder URLs of doc, in document order, as a new array of strings
 * (possibly empty). NULL on OOM. */
json_t *jobs_document_placeholders(const json_t *doc);

/* Turns a placeholder URL into a downloadable URL (e.g. the project's own file endpoint with an
 * HMAC token and expiry). Returns a malloc'd string the caller frees, or NULL on failure. */
typedef char *(*jobs_document_presign_fn)(const char *url, void *arg);

/*
 * The document to deliver: doc with every placeholder replaced by presign(url, arg).
 * [out] out: a new reference (doc itself, with a reference added, when it has no placeholder).
 * Returns JOBS_OK, or JOBS_ERR_INTERNAL when presign fails or on OOM (*out = NULL).
 */
enum jobs_err jobs_document_resolve(const json_t *doc, jobs_document_presign_fn presign, void *arg,
				    json_t **out);

#endif
