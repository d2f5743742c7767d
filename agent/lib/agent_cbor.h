/*
 * The CBOR subset (RFC 8949) of the MQTT file-streams protocol as FreeRTOS speaks it (spec 9.3):
 * an encoder for unsigned integers, text and byte strings and map heads into a caller buffer,
 * and a bounded reader of definite-length items. Maps of streams messages hold text keys and
 * unsigned, negative, text, byte-string or simple values; anything else (arrays, tags, floats,
 * indefinite lengths) is refused, which the server never sends. PURE: libc only. The device
 * library carries its own copy rather than the server's jobs/cbor.c (no server code on devices).
 */
#ifndef BW_AGENT_CBOR_H
#define BW_AGENT_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An output buffer: writes past cap set is_full and are dropped. */
struct agent_cbor_out {
	unsigned char *buf;
	size_t cap;
	size_t len;
	bool is_full;
};

void agent_cbor_put_uint(struct agent_cbor_out *o, uint64_t v);
void agent_cbor_put_text(struct agent_cbor_out *o, const char *s, size_t len);
void agent_cbor_put_bytes(struct agent_cbor_out *o, const void *p, size_t len);
void agent_cbor_put_map(struct agent_cbor_out *o, size_t pairs);

enum agent_cbor_type {
	AGENT_CBOR_UINT = 0,
	AGENT_CBOR_NEGINT = 1,
	AGENT_CBOR_BYTES = 2,
	AGENT_CBOR_TEXT = 3,
	AGENT_CBOR_MAP = 5,
	AGENT_CBOR_SIMPLE = 7,
};

/* One decoded item: for strings ptr/len point into the input; value is the integer, the pair
 * count of a map, or the simple value. */
struct agent_cbor_item {
	enum agent_cbor_type type;
	uint64_t value;
	const unsigned char *ptr;
	size_t len;
};

/* A reader over in[0..len). */
struct agent_cbor_in {
	const unsigned char *p;
	size_t left;
};

/* Reads the next item (a map: only its head). Returns false on malformed, truncated or
 * unsupported input. */
bool agent_cbor_next(struct agent_cbor_in *in, struct agent_cbor_item *it);

#endif
