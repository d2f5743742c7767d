/*
 * Job documents named by `documentSource` (spec 3.10) for CreateJob and CreateJobTemplate.
 * The server does not fetch URLs (that would let any API client make it send requests into
 * its own network); S3 object URLs are mapped by jobs/docsource.h to files under the
 * directory BW_JOB_DOCUMENT_DIR, as <dir>/<bucket>/<key>, read once at creation.
 */
#ifndef BW_API_AWS_IOT_DOCSOURCE_H
#define BW_API_AWS_IOT_DOCSOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "jobs/errors.h"

/* Remember the document directory (dir borrowed only during the call; NULL or "" turns
 * documentSource off). Resolves it once (realpath) and logs a warning when it is not a readable
 * directory. Call before serving. */
void aws_iot_docsource_init(const char *dir);

/* True when BW_JOB_DOCUMENT_DIR is set. */
bool aws_iot_docsource_is_enabled(void);

/*
 * Read the job document url names. The file must be a regular file reached from the directory
 * without following any symbolic link, hold at most 32768 characters of UTF-8 JSON whose root
 * is an object (jobs_document_parse). Returns JOBS_OK with *text a malloc'd NUL-terminated
 * copy the caller frees; JOBS_ERR_INVALID_REQUEST with "/documentSource: <reason>" in msg (the
 * feature off, an unmappable URL, no such object, a symlink, not a regular file, too large, not
 * a JSON object); JOBS_ERR_INTERNAL when the directory cannot be opened, on I/O errors or OOM
 * (logged here). [out] text: NULL unless JOBS_OK.
 */
enum jobs_err aws_iot_docsource_fetch(const char *url, char **text, char *msg, size_t msg_cap);

#endif
