/*
 * Shadow UPDATE (spec 6.4, 6.5, 6.7): request validation, merge, version rules, and the three
 * payloads an accepted update produces (update/accepted, update/delta, update/documents).
 * PURE: libc + jansson; now_s (Unix seconds) is always a parameter.
 *
 * Typical use (MQTT or REST handler):
 *
 *	struct shadow_update u;
 *	struct shadow next;
 *	struct shadow_update_result res;
 *	err = shadow_update_parse(p, len, &u, &code, msg, sizeof(msg));
 *	if (!err)
 *		err = shadow_apply_update(&cur, &u, NULL, now_s, &next, &res, &code, msg, sizeof(msg));
 *	if (err)  -> publish shadow_error_reply_new(code, msg, now_s, u.has_client_token ?
 *	             u.client_token : NULL) on .../update/rejected
 *	else      -> store `next` (UPDATE ... WHERE version = cur.version), then publish
 *	             res.accepted, res.documents and, when non-NULL, res.delta
 *	shadow_update_cleanup(&u); shadow_cleanup(&next); shadow_update_result_cleanup(&res);
 */
#ifndef BW_SHADOW_UPDATE_H
#define BW_SHADOW_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shadow/doc.h"

/*
 * A validated update request. `state` is owned: a JSON object, or JSON null for "state": null
 * (clear both sections). desired/reported are borrowed from state: NULL when the key is absent,
 * JSON null to delete that section, else an object. client_token is set whenever the request
 * carried a valid one, even if validation failed later, so rejected replies can echo it.
 */
struct shadow_update {
	json_t *state;
	json_t *desired;
	json_t *reported;
	bool has_version;
	int64_t version;
	bool has_client_token;
	char client_token[SHADOW_CLIENT_TOKEN_MAX + 1];
};

/* Configurable limits; a NULL pointer or a zero field means the spec default. */
struct shadow_limits {
	size_t max_state_bytes; /* default SHADOW_DEFAULT_MAX_STATE_BYTES (8 KiB) */
};

/* The payloads of an accepted update; each an owned reference. */
struct shadow_update_result {
	json_t *accepted;  /* update/accepted (also the REST UpdateThingShadow body) */
	json_t *delta;	   /* update/delta, NULL when the resulting delta is empty */
	json_t *documents; /* update/documents */
};

void shadow_update_init(struct shadow_update *u);
/* Drop owned references and reset to the _init state. NULL is accepted. */
void shadow_update_cleanup(struct shadow_update *u);
void shadow_update_result_init(struct shadow_update_result *r);
/* Drop owned references and reset to the _init state. NULL is accepted. */
void shadow_update_result_cleanup(struct shadow_update_result *r);

/*
 * Validate an UPDATE payload (len bytes, need not be NUL-terminated) per spec 6.4 / 6.7 / 1.4.
 * Errors, with their exact wire messages from shadow/errors.def:
 *   413 payload over SHADOW_MAX_PAYLOAD_BYTES; 415 not UTF-8;
 *   400 Invalid JSON (empty, unparseable, duplicate keys, not an object);
 *   400 Invalid clientToken (not a string / over 64 bytes);
 *   400 Invalid version (present and not a non-negative integer; 5.0 counts as 5; null = absent);
 *   400 Missing required node: state; 400 State node must be an object (scalar/array);
 *   400 State contains an invalid node: '<key>' (anything but desired/reported);
 *   400 Desired/Reported node must be an object (null is allowed);
 *   400 JSON contains too many levels of nesting; maximum is 6;
 *   400 null inside an array (at any depth below it).
 * Top-level keys other than state/version/clientToken are ignored.
 * [out] out: initialised here; call shadow_update_cleanup() afterwards in every case.
 * code/msg as for shadow_err_format().
 */
enum shadow_err shadow_update_parse(const char *payload, size_t len, struct shadow_update *out,
				    int *code, char *msg, size_t msglen);

/*
 * Apply a parsed update to the current shadow (cur NULL or !is_present = none; a deleted
 * shadow's version is kept in cur->version) at time now_s:
 *  - version check: if u->has_version, an existing shadow needs u->version == cur->version
 *    (else 409 Version conflict); a non-existent one accepts only 1 (else 400 Invalid version);
 *  - merge desired and reported independently: objects merge key by key, null deletes a key and
 *    its metadata, objects emptied by deletions disappear (the section too), scalars and arrays
 *    replace; "desired": null drops the section, "state": null drops both;
 *  - every leaf written gets metadata {"timestamp": now_s};
 *  - version = previous (or deleted) version + 1;
 *  - size rule: compact desired + reported over the limit -> 413.
 * On success *next holds the new stored shadow and *res the accepted, delta (or NULL) and
 * documents payloads, each echoing u's clientToken.
 * [out] next, res: initialised here (next must not alias cur); call shadow_cleanup() /
 * shadow_update_result_cleanup() afterwards in every case (both are left empty on error).
 */
enum shadow_err shadow_apply_update(const struct shadow *cur, const struct shadow_update *u,
				    const struct shadow_limits *lim, int64_t now_s,
				    struct shadow *next, struct shadow_update_result *res,
				    int *code, char *msg, size_t msglen);

/*
 * The update/delta payload for a stored shadow: {"state": delta, "metadata": desired-side
 * metadata of the delta leaves, "version", "timestamp": now_s, "clientToken"?}.
 * [out] out: new reference, or NULL when the delta is empty.
 * Returns 0, or -1 on allocation failure.
 */
int shadow_delta_document(const struct shadow *s, int64_t now_s, const char *client_token,
			  json_t **out);

#endif
