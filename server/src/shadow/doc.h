/*
 * AWS Device Shadow documents (spec/aws-iot-compat.md sections 6 and 7): the stored shadow, GET
 * and DELETE replies, error replies and the shadow error table. PURE: libc + jansson, no clock
 * reads (every function that stamps a time takes now_s, Unix seconds).
 *
 * Ownership: every json_t * field of the structs below is an owned reference (NULL = absent);
 * *_cleanup() drops them. Trees may be shared between shadows and the documents built from them
 * (shadow_document_new()), so they are treated as immutable once built. Functions returning json_t * return a new reference the caller must
 * json_decref(). `const json_t *` parameters are borrowed.
 *
 * Updates live in shadow/update.h, delta computation in shadow/delta.h.
 */
#ifndef BW_SHADOW_DOC_H
#define BW_SHADOW_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SHADOW_CLIENT_TOKEN_MAX 64	      /* bytes, spec 1.1 / 11 */
#define SHADOW_MAX_DEPTH 6		      /* spec 6.7: desired/reported object = level 1 */
#define SHADOW_DEFAULT_MAX_STATE_BYTES 8192   /* spec 6.7 / 11: desired + reported, no metadata */
#define SHADOW_MAX_STATE_BYTES_CEILING 30720  /* AWS quota ceiling (30 KiB) */
#define SHADOW_MAX_PAYLOAD_BYTES (128 * 1024) /* spec 1.5 / 11: MQTT payload limit */
#define SHADOW_MSG_MAX 192		      /* fits every fixed message; long names are cut */

/* Shadow errors, from shadow/errors.def (code, wire message, AWS REST type). SHADOW_OK = 0. */
enum shadow_err {
#define X(e, code, msg, aws) e,
#include "shadow/errors.def"
#undef X
	SHADOW_ERR__COUNT
};

/* "SHADOW_ERR_VERSION_CONFLICT" etc.; "?" for out-of-range values. */
const char *shadow_err_name(enum shadow_err err);
/* Integer HTTP status / "code" of the rejected payload (500 for out-of-range values). */
int shadow_err_code(enum shadow_err err);
/* Fixed message text (without the name part of INVALID_STATE_NODE / NOT_FOUND). */
const char *shadow_err_message(enum shadow_err err);
/* AWS REST error type for x-amzn-ErrorType ("" for SHADOW_OK). */
const char *shadow_err_aws_type(enum shadow_err err);
/*
 * Write err's code to *code and its wire message to msg (NUL-terminated, truncated to msglen).
 * `name` fills the quoted part of INVALID_STATE_NODE ("State contains an invalid node: 'x'")
 * and NOT_FOUND ("No shadow exists with name: 'x'"); ignored otherwise. code/msg may be NULL.
 * Returns err, so callers can write `return shadow_err_format(...)`.
 */
enum shadow_err shadow_err_format(enum shadow_err err, const char *name, int *code, char *msg,
				  size_t msglen);

/*
 * A stored shadow (spec 6.3). A shadow that never existed or was deleted has is_present false;
 * a deleted one keeps the version of the deleted document so that a re-created shadow continues
 * numbering from it (spec 6.4 rule 6, quirk 25).
 *
 * desired/reported: objects or NULL (section absent). meta_desired/meta_reported mirror them
 * (every leaf replaced by {"timestamp": T}, arrays by per-element arrays); NULL iff the
 * corresponding section is NULL. All four are owned.
 */
struct shadow {
	bool is_present;
	int64_t version; /* 0 = never existed; else the current (or deleted) document's version */
	json_t *desired;
	json_t *reported;
	json_t *meta_desired;
	json_t *meta_reported;
};

/* Empty, absent shadow with version 0. */
void shadow_init(struct shadow *s);
/* Drop all owned references and reset to the _init state. NULL is accepted. */
void shadow_cleanup(struct shadow *s);

/*
 * The stored form {"state":{"desired"?,"reported"?},"metadata":{"desired"?,"reported"?},
 * "version":N}: what db/ persists and what update/documents carries as previous/current.
 * Returns a new reference, or NULL on allocation failure. Works for absent shadows too (empty
 * state/metadata), though callers normally persist only present ones.
 * The four section trees are shared with s (references, not copies: documents are built for
 * every update, so copying them would double the work): neither side may modify them in place
 * while the other is alive. The functions of shadow/ never modify a shadow's trees in place
 * (an update works on copies), so only callers that edit trees themselves must copy first.
 */
json_t *shadow_document_new(const struct shadow *s);

/*
 * Load a stored form written by shadow_document_new() into *out (initialised here; on failure
 * left empty). The result is marked present. Returns SHADOW_OK, SHADOW_ERR_INVALID_JSON when the
 * shape is wrong (non-object sections, missing or non-integer version, metadata missing for a
 * present section), or SHADOW_ERR_INTERNAL on allocation failure. Deep-copies; `doc` stays the
 * caller's.
 */
enum shadow_err shadow_from_document(const json_t *doc, struct shadow *out);

/* Serialised (compact, shadow/dump.h: shortest reals, UTF-8) size in bytes of desired +
 * reported, the quantity of spec 6.7's size rule. Metadata never counts. */
size_t shadow_state_size(const struct shadow *s);

/*
 * A get or delete request (spec 6.1): empty payload or {"clientToken": "..."}; other fields are
 * ignored (spec 1.4).
 */
struct shadow_token_request {
	bool has_client_token;
	char client_token[SHADOW_CLIENT_TOKEN_MAX + 1];
};

/*
 * Parse a get/delete payload (len bytes, need not be NUL-terminated; an empty payload is
 * valid, quirk 7). Errors: 413 over SHADOW_MAX_PAYLOAD_BYTES, 415 non-UTF-8, 400 Invalid JSON
 * (unparseable or not an object), 400 Invalid clientToken (not a string or over 64 bytes).
 * code/msg as for shadow_err_format().
 */
enum shadow_err shadow_token_request_parse(const char *payload, size_t len,
					   struct shadow_token_request *out, int *code, char *msg,
					   size_t msglen);

/*
 * The GET reply (spec 6.3): {"state":{"desired"?,"reported"?,"delta"?},"metadata":{"desired"?,
 * "reported"?},"version","timestamp":now_s,"clientToken"?}. `delta` appears only when non-empty;
 * metadata has no delta. client_token NULL = omit (REST GET never echoes one).
 * When cur is NULL or not present: SHADOW_ERR_NOT_FOUND with message
 * "No shadow exists with name: '<name>'" (name = thing name for classic shadows, shadow name for
 * named ones, spec 6.3 / quirk 27); *reply stays NULL.
 * [out] reply: new reference on SHADOW_OK. Allocation failure -> SHADOW_ERR_INTERNAL.
 */
enum shadow_err shadow_get_document(const struct shadow *cur, int64_t now_s,
				    const char *client_token, const char *name, json_t **reply,
				    int *code, char *msg, size_t msglen);

/*
 * DELETE (spec 6.6). On success *reply = {"version": <deleted version>, "timestamp": now_s,
 * "clientToken"?} and *tombstone = absent shadow keeping that version, so a later update
 * re-creates the shadow at version + 1. Missing shadow -> SHADOW_ERR_NOT_FOUND as for GET.
 * No delta/documents events follow a delete.
 * [out] tombstone: initialised here; call shadow_cleanup() afterwards in every case.
 * [out] reply: new reference on SHADOW_OK, else NULL.
 */
enum shadow_err shadow_delete(const struct shadow *cur, int64_t now_s, const char *client_token,
			      const char *name, struct shadow *tombstone, json_t **reply, int *code,
			      char *msg, size_t msglen);

/*
 * Error payload for .../rejected (spec 6.7): {"code":N,"message":"...","timestamp":now_s,
 * "clientToken"?}. client_token NULL = omit. Returns a new reference or NULL on allocation
 * failure.
 */
json_t *shadow_error_reply_new(int code, const char *message, int64_t now_s,
			       const char *client_token);

/*
 * Metadata tree for a value (spec 6.3): objects map key by key, arrays element by element, and
 * every other value (including null) becomes {"timestamp": ts}. New reference or NULL on OOM.
 */
json_t *shadow_metadata_for(const json_t *value, int64_t ts);

#endif
