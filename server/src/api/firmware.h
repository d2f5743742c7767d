/* The firmware registry's HTTP handlers (/api/v1/firmware/...) and its startup hook.
 * Routes: api/routes_firmware.inc; formats: docs/FIRMWARE.md. */
#ifndef BW_API_FIRMWARE_H
#define BW_API_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "http/request.h"
#include "http/router.h"

/* Open the blob store (BW_BLOB_DIR), load the master key (BW_MASTER_KEY_FILE, optional:
 * without it key creation, publishing and presigning are refused), describe the metrics.
 * Call once from `serve` before the HTTP server starts. False with a message in err. */
bool api_fw_init(const struct config *cfg, char *err, size_t errlen);
/* Release what api_fw_init set up (after the HTTP server stopped). */
void api_fw_shutdown(void);

#define FW_HANDLER(name) void name(const struct request *req, struct reply *rep)

/* api/fw_releases.c */
FW_HANDLER(api_fw_releases_list);
FW_HANDLER(api_fw_releases_create);
FW_HANDLER(api_fw_release_get);
FW_HANDLER(api_fw_release_update);
FW_HANDLER(api_fw_release_delete);
FW_HANDLER(api_fw_release_publish);
FW_HANDLER(api_fw_release_deprecate);
FW_HANDLER(api_fw_release_revoke);
FW_HANDLER(api_fw_release_manifest);
FW_HANDLER(api_fw_release_compatibility);

/* api/fw_artifacts.c */
extern const struct route_stream api_fw_artifact_upload_stream;
/* The route table's stream field for the upload route (a plain identifier keeps the one-line
 * route format that tests/openapi/check-routes.sh parses). */
#define API_FW_UPLOAD_STREAM (&api_fw_artifact_upload_stream)
FW_HANDLER(api_fw_artifact_get);
FW_HANDLER(api_fw_artifact_delete);
FW_HANDLER(api_fw_artifact_content);
FW_HANDLER(api_fw_artifact_presign);
FW_HANDLER(api_fw_presigned_download);

/* api/fw_keys.c */
FW_HANDLER(api_fw_keys_list);
FW_HANDLER(api_fw_keys_create);
FW_HANDLER(api_fw_key_get);
FW_HANDLER(api_fw_key_public_pem);
FW_HANDLER(api_fw_key_retire);
FW_HANDLER(api_fw_key_revoke);
FW_HANDLER(api_fw_trust_list);

/* api/fw_known_safe.c */
FW_HANDLER(api_fw_known_safe_list);
FW_HANDLER(api_fw_known_safe_get);
FW_HANDLER(api_fw_known_safe_set);
FW_HANDLER(api_fw_known_safe_delete);
FW_HANDLER(api_fw_known_safe_history);

#undef FW_HANDLER

#endif
