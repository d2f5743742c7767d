/*
 * The AWS IoT Jobs and file-streams MQTT topic grammar (spec 2.1, 2.9, 9.3): parse a received
 * topic into an operation, and build the reply, event and stream topics the server publishes.
 * Only this module knows the shape of these topics. PURE: libc only.
 *
 * Jobs: P = "$aws/things/{thing}/jobs"
 *   P/get, P/start-next, P/{jobId}/get ({jobId} may be "$next"), P/{jobId}/update  -> requests
 *   <request>/accepted, <request>/rejected, P/notify, P/notify-next               -> ours: ignored
 * Streams: F = "$aws/things/{thing}/streams/{streamId}"
 *   F/get/{json|cbor}, F/describe/{json|cbor}                                      -> requests
 *   F/data/.., F/description/.., F/rejected/..                                     -> ours: ignored
 */
#ifndef BW_JOBS_TOPICS_H
#define BW_JOBS_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strutil.h"
#include "jobs/text.h"

/* Subscription filters covering every request topic (the server subscribes to these). */
#define JOBS_TOPICS_JOBS_FILTER "$aws/things/+/jobs/#"
#define JOBS_TOPICS_STREAMS_FILTER "$aws/things/+/streams/#"

/* The pseudo job id of DescribeJobExecution for the head of the pending list (spec 2.7). */
#define JOBS_TOPICS_NEXT "$next"

/* Longest topic this module builds from valid names:
 * "$aws/things/" + 128 + "/streams/" + 128 + "/description/cbor" = 294. */
#define JOBS_TOPICS_MAX 320

enum jobs_topics_kind {
	JOBS_TOPICS_NONE,	 /* not under $aws/things/{t}/jobs/ or .../streams/: not ours */
	JOBS_TOPICS_IGNORE,	 /* a topic the server itself publishes (replies, events, data) */
	JOBS_TOPICS_GET_PENDING, /* P/get */
	JOBS_TOPICS_START_NEXT,	 /* P/start-next */
	JOBS_TOPICS_DESCRIBE,	 /* P/{jobId}/get, jobId may be $next (is_next) */
	JOBS_TOPICS_UPDATE,	 /* P/{jobId}/update */
	JOBS_TOPICS_INVALID,	 /* other shape under P: reply InvalidTopic on <topic>/rejected */
	JOBS_TOPICS_STREAM_GET,	 /* F/get/{enc} */
	JOBS_TOPICS_STREAM_DESCRIBE, /* F/describe/{enc} */
	JOBS_TOPICS_STREAM_INVALID,  /* other shape under F: reply InvalidTopic if enc is known */
};

/* Payload encoding of a streams topic. */
enum jobs_topics_enc {
	JOBS_TOPICS_ENC_NONE, /* not a streams topic, or an unknown suffix */
	JOBS_TOPICS_ENC_JSON,
	JOBS_TOPICS_ENC_CBOR,
};

/* The operation segment of a streams topic (spec 9.3): GET and DESCRIBE are published by devices,
 * DATA, DESCRIPTION and REJECTED by the server. */
enum jobs_topics_stream_op {
	JOBS_TOPICS_OP_GET,
	JOBS_TOPICS_OP_DESCRIBE,
	JOBS_TOPICS_OP_DATA,
	JOBS_TOPICS_OP_DESCRIPTION,
	JOBS_TOPICS_OP_REJECTED,
};

/* Result of jobs_topics_parse(). Caller storage; holds copies (no pointers into the topic). */
struct jobs_topic {
	enum jobs_topics_kind kind;
	/* For requests: true if the thing name, job id or stream id in the topic breaks spec 1.1
	 * (too long, bad characters, or $next outside DescribeJobExecution). The request must be
	 * answered with InvalidRequest on <topic>/rejected; the names below are then empty. */
	bool is_bad_name;
	bool is_next; /* DESCRIBE of "$next" (job_id holds "$next") */
	char thing[STRUTIL_THING_NAME_MAX + 1];
	char job_id[STRUTIL_JOB_ID_MAX + 1];
	char stream[JOBS_STREAM_ID_MAX + 1];
	enum jobs_topics_enc enc; /* streams topics only */
};

/*
 * Parse topic[0..len) (need not be NUL-terminated). Never fails: anything that is not ours is
 * JOBS_TOPICS_NONE. Topics ending in "/accepted" or "/rejected" are always JOBS_TOPICS_IGNORE,
 * so an InvalidTopic reply can never trigger another reply. A topic with a NUL byte is NONE.
 * [out] t: always fully written.
 */
void jobs_topics_parse(const char *topic, size_t len, struct jobs_topic *t);

/* True if kind is a Jobs request that gets an accepted/rejected reply (GET_PENDING, START_NEXT,
 * DESCRIBE, UPDATE, INVALID). */
bool jobs_topics_is_jobs_request(enum jobs_topics_kind kind);

/* True if kind is a streams request (STREAM_GET, STREAM_DESCRIBE, STREAM_INVALID). */
bool jobs_topics_is_stream_request(enum jobs_topics_kind kind);

/*
 * Reply topic of a Jobs request: request_topic[0..len) + "/accepted" (accepted) or "/rejected"
 * (spec 2.1, 2.9: "$next" stays literal). Writes a NUL-terminated topic into out[0..cap).
 * Returns false (out = "" when cap > 0) if it does not fit.
 */
bool jobs_topics_reply(const char *request_topic, size_t len, bool accepted, char *out, size_t cap);

/*
 * Request topic for op (GET_PENDING, START_NEXT, DESCRIBE or UPDATE) of thing, as a device
 * publishes it; job_id is used by DESCRIBE ("$next" allowed) and UPDATE. For agents and tests.
 * Returns false if a name is invalid, op is not one of those four, or out is too small.
 */
bool jobs_topics_request(enum jobs_topics_kind op, const char *thing, const char *job_id, char *out,
			 size_t cap);

/* "$aws/things/{thing}/jobs/notify" into out. False if thing is invalid or out too small. */
bool jobs_topics_notify(const char *thing, char *out, size_t cap);

/* "$aws/things/{thing}/jobs/notify-next" into out. False if thing is invalid or out too small. */
bool jobs_topics_notify_next(const char *thing, char *out, size_t cap);

/*
 * "$aws/things/{thing}/streams/{stream}/{get|describe|data|description|rejected}/{json|cbor}"
 * into out. False if a name is invalid, enc is NONE or out is too small.
 */
bool jobs_topics_stream(const char *thing, const char *stream, enum jobs_topics_stream_op op,
			enum jobs_topics_enc enc, char *out, size_t cap);

/* Name of a kind, for logs ("get_pending", "update", ...). */
const char *jobs_topics_kind_name(enum jobs_topics_kind kind);

#endif
