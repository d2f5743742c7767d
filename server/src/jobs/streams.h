/*
 * The MQTT file-streams protocol of FreeRTOS OTA (spec 9.3): parse GetStream and DescribeStream
 * requests (CBOR, which FreeRTOS uses, or JSON), choose the blocks to send from offset, count and
 * bitmap, and encode data, description and rejected messages. PURE: libc + jansson.
 *
 * Bitmap: bit k (LSB = 0) of byte j set => block o + 8j + k is wanted. In CBOR `b` is a byte
 * string; in JSON a hex string of the same bytes ("0x130080", the 0x optional).
 */
#ifndef BW_JOBS_STREAMS_H
#define BW_JOBS_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "jobs/topics.h"

#define JOBS_STREAMS_TOKEN_MAX 64
#define JOBS_STREAMS_FILE_ID_MAX 255
#define JOBS_STREAMS_BLOCK_MIN 256
#define JOBS_STREAMS_BLOCK_MAX 131072
#define JOBS_STREAMS_OFFSET_MAX 98304
#define JOBS_STREAMS_COUNT_MAX 98304
#define JOBS_STREAMS_BITMAP_MAX 12287	/* bytes: "< 12288" */
#define JOBS_STREAMS_PAYLOAD_MAX 131072 /* block bytes per request */
/* Most blocks one request can yield (128 KiB of 256-byte blocks). */
#define JOBS_STREAMS_BLOCKS_MAX (JOBS_STREAMS_PAYLOAD_MAX / JOBS_STREAMS_BLOCK_MIN)

/* X(enum suffix, wire code) — spec 9.3 */
#define JOBS_STREAMS_ERR_LIST(X)                                   \
	X(OK, "")                                                  \
	X(INVALID_TOPIC, "InvalidTopic")                           \
	X(INVALID_JSON, "InvalidJson")                             \
	X(INVALID_CBOR, "InvalidCbor")                             \
	X(INVALID_REQUEST, "InvalidRequest")                       \
	X(UNAUTHORIZED, "Unauthorized")                            \
	X(BLOCK_SIZE_OUT_OF_BOUNDS, "BlockSizeOutOfBounds")        \
	X(OFFSET_OUT_OF_BOUNDS, "OffsetOutOfBounds")               \
	X(BLOCK_COUNT_LIMIT_EXCEEDED, "BlockCountLimitExceeded")   \
	X(BLOCK_BITMAP_LIMIT_EXCEEDED, "BlockBitmapLimitExceeded") \
	X(RESOURCE_NOT_FOUND, "ResourceNotFound")                  \
	X(VERSION_MISMATCH, "VersionMismatch")                     \
	X(ETAG_MISMATCH, "ETagMismatch")                           \
	X(INTERNAL, "InternalError")

enum jobs_streams_err {
#define X(e, code) JOBS_STREAMS_##e,
	JOBS_STREAMS_ERR_LIST(X)
#undef X
};

/* Wire code ("BlockSizeOutOfBounds"); "" for OK. */
const char *jobs_streams_err_code(enum jobs_streams_err err);

/* A parsed GetStream or DescribeStream request. Caller storage; owns bitmap. */
struct jobs_streams_request {
	bool has_client_token;
	char client_token[JOBS_STREAMS_TOKEN_MAX + 1];
	bool has_stream_version;
	int64_t stream_version; /* s */
	int file_id;		/* f: 0..255 */
	uint32_t block_size;	/* l: 256..131072 */
	uint32_t offset;	/* o: 0..98304, default 0 */
	uint32_t max_blocks;	/* n: 1..98304; 0 when absent (or 0): as many as fit 128 KiB */
	unsigned char *bitmap;	/* b: owned; NULL when absent */
	size_t bitmap_len;
};

/*
 * Parse a GetStream request (describe false: f and l required) or a DescribeStream request
 * (describe true: only c is read) from payload[0..len) in encoding enc. Unknown keys are
 * ignored. Returns JOBS_STREAMS_OK or the error to send: INVALID_JSON / INVALID_CBOR (not a
 * well-formed map with text keys, duplicate keys, trailing bytes), INVALID_REQUEST (wrong types,
 * missing f or l, f > 255, token > 64 bytes, bad hex), BLOCK_SIZE_OUT_OF_BOUNDS,
 * OFFSET_OUT_OF_BOUNDS, BLOCK_COUNT_LIMIT_EXCEEDED, BLOCK_BITMAP_LIMIT_EXCEEDED, INTERNAL (OOM).
 * msg (may be NULL) gets a reason. out is initialised in all cases; a valid token is kept on
 * error so the rejected message can echo it. Call jobs_streams_request_cleanup() afterwards.
 */
enum jobs_streams_err jobs_streams_parse(enum jobs_topics_enc enc, bool describe,
					 const void *payload, size_t len,
					 struct jobs_streams_request *out, char *msg,
					 size_t msg_cap);

/* Free the bitmap and re-initialise r; NULL is allowed. */
void jobs_streams_request_cleanup(struct jobs_streams_request *r);

/*
 * Blocks to send for r on a file of file_size bytes in a stream at stream_version:
 * with a bitmap, the wanted blocks in increasing order; without, consecutive blocks from o.
 * Blocks past the end of the file are skipped; at most n (when given), at most
 * JOBS_STREAMS_PAYLOAD_MAX / l, and at most cap are chosen. Returns JOBS_STREAMS_OK with
 * blocks[0..*count) (possibly 0: nothing wanted), VERSION_MISMATCH (s given and different),
 * OFFSET_OUT_OF_BOUNDS (o at or past the last block of the file) or RESOURCE_NOT_FOUND (empty
 * file).
 */
enum jobs_streams_err jobs_streams_select(const struct jobs_streams_request *r, uint64_t file_size,
					  int64_t stream_version, uint32_t *blocks, size_t cap,
					  size_t *count);

/* Byte range [*start, *start + *len) of block `index` of a file (the last block may be short;
 * *len 0 past the end). */
void jobs_streams_block_range(uint32_t block_size, uint64_t file_size, uint32_t index,
			      uint64_t *start, size_t *len);

/* Data message (spec 9.3): {c?, f, l, i, p}; p is a byte string in CBOR and base64 in JSON.
 * token NULL omits c. Appends to out; false on OOM or overflow of out->max. */
bool jobs_streams_encode_data(enum jobs_topics_enc enc, const char *token, int file_id,
			      uint32_t block_index, const void *data, size_t len, struct buf *out);

/* Rejected message: {o: code, m: message, c?}. message NULL uses the code. */
bool jobs_streams_encode_rejected(enum jobs_topics_enc enc, enum jobs_streams_err err,
				  const char *message, const char *token, struct buf *out);

/* One file of a stream for DescribeStream. */
struct jobs_streams_file {
	int file_id;
	uint64_t size;
};

/* DescribeStream reply: {c?, s: version, d: description (omitted when NULL), r: [{f, z}]}. */
bool jobs_streams_encode_description(enum jobs_topics_enc enc, const char *token,
				     int64_t stream_version, const char *description,
				     const struct jobs_streams_file *files, size_t n,
				     struct buf *out);

#endif
