/*
 * Device side of the MQTT file-streams protocol (spec 9.3), JSON or CBOR: which blocks of the
 * file are still missing, the GetStream requests that ask for them (offset + bitmap window),
 * parsing of data and rejected messages, request pacing, timeouts and bounded retries, and a
 * progress record that lets a download resume after a reconnect or a restart. PURE: libc +
 * jansson; time is a parameter.
 *
 * Topics (F = $aws/things/<thing>/streams/<stream>, E = json or cbor): requests on F/get/E,
 * blocks arrive on F/data/E ({"c","f","l","i","p"}: p is base64 in JSON, a byte string in CBOR),
 * errors on F/rejected/E ({"o","m","c"}).
 * Blocks may arrive in any order, twice, or not at all: each is kept once, and a request names
 * only the blocks still missing.
 */
#ifndef BW_AGENT_STREAM_H
#define BW_AGENT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_STREAM_NAME_MAX 128
#define AGENT_STREAM_BLOCK_MIN 256
#define AGENT_STREAM_BLOCK_MAX 131072
#define AGENT_STREAM_BLOCK_DEFAULT 4096
#define AGENT_STREAM_PAYLOAD_MAX 131072 /* block bytes one request may yield (spec 9.3) */
#define AGENT_STREAM_OFFSET_MAX 98304	/* largest `o` a server accepts */
#define AGENT_STREAM_PROGRESS_FORMAT "bellwether-stream-progress/1"

/* Timing policy of one stream download. */
struct agent_stream_policy {
	int64_t timeout_ms; /* re-request when a request brought nothing for this long (10000) */
	int max_idle;	    /* consecutive requests without a new block before giving up (6) */
	uint64_t rate_bps;  /* pace requests to about this many bytes/s; 0 = unlimited */
};

struct agent_stream {
	bool is_cbor; /* the encoding (set after agent_stream_init; default JSON) */
	char name[AGENT_STREAM_NAME_MAX + 1];
	int file_id;
	uint64_t size;
	uint32_t block_size;
	uint32_t nblocks;
	uint32_t window;     /* blocks asked for per request */
	unsigned char *have; /* bit i set = block i received and stored */
	uint32_t have_count;
	uint64_t have_bytes;
	/* the outstanding request */
	int64_t requested_ms; /* 0 = none outstanding (first request, or after a pause) */
	uint32_t requested;   /* blocks it asked for */
	uint32_t answered;    /* new blocks received since it was sent */
	int idle;	      /* consecutive requests that brought no new block */
	int64_t next_ok_ms;   /* pacing: no request before this time */
	uint64_t requests;    /* counters, for logs and tests */
	uint64_t duplicates;
};

/* Fills the defaults into p. */
void agent_stream_policy_default(struct agent_stream_policy *p);

/*
 * Starts bookkeeping for file file_id (0..255) of stream name, size bytes (> 0). block_size is
 * a wish (0 = 4096): it is raised, in powers of two up to 131072, until the file has at most
 * AGENT_STREAM_OFFSET_MAX blocks. window = blocks per request (0 = as many as fit 128 KiB).
 * s must be zeroed or cleaned up. Returns false on a bad argument or OOM.
 */
bool agent_stream_init(struct agent_stream *s, const char *name, int file_id, uint64_t size,
		       uint32_t block_size, uint32_t window);

/* Frees what s owns and zeroes it (NULL ok). */
void agent_stream_cleanup(struct agent_stream *s);

/* Byte range of block index: [*offset, *offset + *len). */
void agent_stream_block_range(const struct agent_stream *s, uint32_t index, uint64_t *offset,
			      size_t *len);

/* True when block index was received. */
bool agent_stream_has(const struct agent_stream *s, uint32_t index);

/* Records block index as stored. Returns true if it was new (false: duplicate or out of
 * range). */
bool agent_stream_mark(struct agent_stream *s, uint32_t index);

/* True when every block was received. */
bool agent_stream_is_complete(const struct agent_stream *s);

/*
 * The next GetStream request for the missing blocks: {"c": token, "f", "l", "o": first missing
 * block, "n": blocks wanted, "b": bitmap from o covering at most `window` missing blocks (JSON:
 * "0x" + hex; CBOR: a byte string)}. *count = blocks asked for, *len = payload bytes. Returns
 * a malloc'd payload (JSON: also NUL-terminated), NULL when complete or on OOM.
 */
void *agent_stream_request(const struct agent_stream *s, const char *token, uint32_t *count,
			   size_t *len);

/*
 * What to do at now_ms: 1 = send a request now (then call agent_stream_sent), 0 = wait,
 * -1 = give up (max_idle requests in a row brought no new block; the download failed but may
 * be resumed later).
 */
int agent_stream_due(struct agent_stream *s, const struct agent_stream_policy *p, int64_t now_ms);

/* Records that a request for count blocks was sent at now_ms. */
void agent_stream_sent(struct agent_stream *s, const struct agent_stream_policy *p, uint32_t count,
		       int64_t now_ms);

/* The link went down or came back: forget the outstanding request without counting it as
 * idle (the next agent_stream_due asks again). */
void agent_stream_pause(struct agent_stream *s);

/* Resets the idle count (a new attempt after a failure). */
void agent_stream_rearm(struct agent_stream *s);

enum agent_stream_msg {
	AGENT_STREAM_MSG_BLOCK,	   /* a block of our file: index, data */
	AGENT_STREAM_MSG_INVALID,  /* malformed or not ours: ignore (err says why) */
	AGENT_STREAM_MSG_REJECTED, /* F/rejected: code and message filled */
};

/*
 * Parses a data message: checks f, that i is a block of the file and that l and the decoded p
 * have the block's exact length, and decodes p into buf (cap >= block_size). On BLOCK *index
 * and *len are set; the caller stores the bytes and then calls agent_stream_mark.
 */
enum agent_stream_msg agent_stream_parse_data(const struct agent_stream *s, const void *payload,
					      size_t plen, uint32_t *index, unsigned char *buf,
					      size_t cap, size_t *len, char *err, size_t err_cap);

/* Parses a rejected message {"o": code, "m": message} in s's encoding (JSON also with the long
 * names "code"/"message"). Returns AGENT_STREAM_MSG_REJECTED or INVALID. */
enum agent_stream_msg agent_stream_parse_rejected(const struct agent_stream *s, const void *payload,
						  size_t plen, char *code, size_t code_cap,
						  char *msg, size_t msg_cap);

/* True for rejection codes worth retrying later (InternalError); the others end the
 * download. */
bool agent_stream_rejected_is_retryable(const char *code);

/* The progress record: {"format", "stream", "file_id", "size", "block_size", "have": hex}.
 * malloc'd, NULL on OOM. */
char *agent_stream_progress(const struct agent_stream *s);

/*
 * Restores the received-blocks bitmap from a progress record text when it describes the same
 * stream, file, size and block size as s (initialised). Returns true when restored; false
 * (s unchanged) when it does not match or is malformed.
 */
bool agent_stream_progress_load(struct agent_stream *s, const char *text);

#endif
