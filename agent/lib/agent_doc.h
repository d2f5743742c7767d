/*
 * Firmware job documents as the agent receives them in `execution.jobDocument` (spec 9.1):
 * the FreeRTOS `afr_ota` document, optionally with a `bellwether` object next to it that says
 * what the image is (release metadata, optionally the signed release manifest). PURE: libc +
 * jansson.
 *
 *   {"afr_ota": {"protocols": ["HTTP"], "streamname": "...", "files": [{"filesize": 448952,
 *     "fileid": 0, "update_data_url": "https://...", "sig-sha256-ecdsa": "MEUCIQ..."}]},
 *    "bellwether": {"release_id": "7", "version": "1.4.0", "security_version": 3,
 *     "min_version": "1.0.0", "hardware_types": ["esp32"], "sha256": "<64 hex>",
 *     "revert": false, "manifest": "<canonical manifest JSON text>"}}
 *
 * Without a `bellwether` object the image's version is unknown until the manifest or the image
 * itself says so; the agent then skips the version checks, as FreeRTOS does before reboot.
 */
#ifndef BW_AGENT_DOC_H
#define BW_AGENT_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AGENT_JOB_ID_MAX 64
#define AGENT_VERSION_MAX 64
#define AGENT_HW_MAX 128
#define AGENT_HW_TYPES_MAX 16
#define AGENT_URL_MAX 4096
#define AGENT_SIG_B64_MAX 600
#define AGENT_MANIFEST_MAX 65536

/* A parsed firmware job document. Strings are owned copies (agent_doc_cleanup frees). */
struct agent_doc {
	bool is_http;			     /* HTTP in protocols with an update_data_url */
	bool is_mqtt;			     /* MQTT in protocols with a streamname */
	char *url;			     /* update_data_url (NULL without HTTP) */
	char stream[129];		     /* streamname ("" without MQTT) */
	int file_id;			     /* fileid */
	uint64_t size_bytes;		     /* filesize, > 0 */
	char sig_b64[AGENT_SIG_B64_MAX + 1]; /* sig-sha256-ecdsa, "" when absent */
	/* from the bellwether object (all optional) */
	char release_id[65];
	char version[AGENT_VERSION_MAX + 1]; /* "" = unknown */
	bool has_security_version;
	uint32_t security_version;
	char min_version[AGENT_VERSION_MAX + 1];
	char hw_types[AGENT_HW_TYPES_MAX][AGENT_HW_MAX + 1];
	size_t hw_type_count; /* 0 = not restricted by the document */
	char sha256_hex[65];  /* "" = not given */
	bool is_revert;	      /* a revert to the known-safe release: downgrade allowed */
	char *manifest;	      /* signed manifest text, NULL when absent */
};

/*
 * Parses doc (the jobDocument object) into out (zeroed first). Returns true on success; on
 * failure writes a short reason for a REJECTED report into reason (always NUL-terminated) and
 * leaves nothing allocated. A document without `afr_ota` is "not a firmware job".
 */
bool agent_doc_parse(const json_t *doc, struct agent_doc *out, char *reason, size_t reason_cap);

/* Frees the owned strings of d (NULL ok) and zeroes it. */
void agent_doc_cleanup(struct agent_doc *d);

/* Deep copy of src into dst (dst uninitialised). Returns false on OOM (dst left zeroed). */
bool agent_doc_copy(struct agent_doc *dst, const struct agent_doc *src);

#endif
