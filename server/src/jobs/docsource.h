/*
 * documentSource URLs (spec 3.10, 5.1): which stored object a CreateJob / CreateJobTemplate
 * `documentSource` names. The server never fetches URLs (no outbound requests on behalf of a
 * client); an S3 object URL is mapped to <BW_JOB_DOCUMENT_DIR>/<bucket>/<key> instead, and the
 * caller reads that file (api/aws_iot_docsource.c). PURE: libc only.
 *
 * Accepted forms (host names compared case-insensitively):
 *   s3://<bucket>/<key>
 *   https://<bucket>.s3.amazonaws.com/<key>              virtual-hosted, global endpoint
 *   https://<bucket>.s3.<region>.amazonaws.com/<key>     virtual-hosted, regional
 *   https://<bucket>.s3-<region>.amazonaws.com/<key>     virtual-hosted, legacy dash form
 *   https://s3.amazonaws.com/<bucket>/<key>              path-style, global
 *   https://s3.<region>.amazonaws.com/<bucket>/<key>     path-style, regional
 *   https://s3-<region>.amazonaws.com/<bucket>/<key>     path-style, legacy dash form
 * The key is percent-decoded, then must be a relative path of non-empty segments other than
 * "." and "..", of valid UTF-8 without control characters or NUL. The bucket follows the S3
 * naming rules (3..63 of a-z 0-9 . -, starting and ending with a letter or digit, no "..").
 * Query strings (versionId), fragments, user info, ports, http:// and other hosts are refused.
 */
#ifndef BW_JOBS_DOCSOURCE_H
#define BW_JOBS_DOCSOURCE_H

#include <stddef.h>

#include "jobs/document.h"
#include "jobs/errors.h"

#define JOBS_DOCSOURCE_URL_MAX JOBS_DOCUMENT_SOURCE_MAX /* characters (spec 3.10); ASCII here */
#define JOBS_DOCSOURCE_BUCKET_MAX 63			/* S3 bucket name */
#define JOBS_DOCSOURCE_KEY_MAX 1024    /* S3 object key, bytes after percent-decoding */
#define JOBS_DOCSOURCE_SEGMENTS_MAX 64 /* our bound on the key's path depth */

/* Where a documentSource points. Caller storage. */
struct jobs_docsource {
	char bucket[JOBS_DOCSOURCE_BUCKET_MAX + 1];
	char key[JOBS_DOCSOURCE_KEY_MAX + 1]; /* decoded relative path: "dir/doc.json" */
};

/*
 * Map url (NUL-terminated) to its bucket and key. Returns JOBS_OK, or
 * JOBS_ERR_INVALID_REQUEST with the reason in msg (may be NULL), e.g. "the key contains a '..'
 * segment". [out] out: filled on JOBS_OK, zeroed otherwise.
 */
enum jobs_err jobs_docsource_parse(const char *url, struct jobs_docsource *out, char *msg,
				   size_t msg_cap);

#endif
