/*
 * Jobs error registry (spec 2.9, 4.2): one entry per AWS Jobs error, with the string code sent in
 * MQTT ".../rejected" payloads, the x-amzn-ErrorType and HTTP status of the iot-jobs-data REST
 * plane, and a default message. PURE: libc only.
 */
#ifndef BW_JOBS_ERRORS_H
#define BW_JOBS_ERRORS_H

#include <stdbool.h>

/* X(enum, MQTT code, REST error type, HTTP status, default message, carries executionState) */
#define JOBS_ERR_LIST(X)                                                                        \
	X(JOBS_OK, "", "", 200, "OK", false)                                                    \
	X(JOBS_ERR_INVALID_TOPIC, "InvalidTopic", "InvalidRequestException", 400,               \
	  "the topic does not name a Jobs operation", false)                                    \
	X(JOBS_ERR_INVALID_JSON, "InvalidJson", "InvalidRequestException", 400,                 \
	  "the payload is not a JSON object", false)                                            \
	X(JOBS_ERR_INVALID_REQUEST, "InvalidRequest", "InvalidRequestException", 400,           \
	  "the request is invalid", false)                                                      \
	X(JOBS_ERR_INVALID_STATE_TRANSITION, "InvalidStateTransition",                          \
	  "InvalidStateTransitionException", 409, "the execution cannot make this transition",  \
	  true)                                                                                 \
	X(JOBS_ERR_RESOURCE_NOT_FOUND, "ResourceNotFound", "ResourceNotFoundException", 404,    \
	  "no such job execution", false)                                                       \
	X(JOBS_ERR_VERSION_MISMATCH, "VersionMismatch", "InvalidStateTransitionException", 409, \
	  "expectedVersion does not match the execution's versionNumber", true)                 \
	X(JOBS_ERR_TERMINAL_STATE, "TerminalStateReached", "TerminalStateException", 410,       \
	  "the execution is in a terminal state", false)                                        \
	X(JOBS_ERR_THROTTLED, "RequestThrottled", "ThrottlingException", 429, "rate exceeded",  \
	  false)                                                                                \
	X(JOBS_ERR_INTERNAL, "InternalError", "ServiceUnavailableException", 503,               \
	  "internal error", false)

enum jobs_err {
#define X(e, code, type, status, msg, state) e,
	JOBS_ERR_LIST(X)
#undef X
		JOBS_ERR__COUNT
};

/* MQTT "code" string of a rejected reply, e.g. "VersionMismatch" ("" for JOBS_OK). */
const char *jobs_err_code(enum jobs_err err);
/* iot-jobs-data x-amzn-ErrorType, e.g. "InvalidStateTransitionException" (spec 4.2: a version
 * mismatch surfaces as InvalidStateTransitionException on the REST plane). */
const char *jobs_err_rest_type(enum jobs_err err);
/* HTTP status of the iot-jobs-data error (spec 4.2). */
unsigned jobs_err_http_status(enum jobs_err err);
/* Default message text. Never NULL. */
const char *jobs_err_message(enum jobs_err err);
/* True if the rejected reply carries "executionState" (spec 2.9: VersionMismatch and
 * InvalidStateTransition only). */
bool jobs_err_has_execution_state(enum jobs_err err);

#endif
