#include "jobs/cbor.h"

#include <string.h>

/* Append the head of major type `major` with argument v, shortest form. */
static bool put_head(struct buf *b, unsigned major, uint64_t v)
{
	uint8_t h[9];
	size_t n;

	major <<= 5;
	if (v < 24) {
		h[0] = (uint8_t)(major | v);
		n = 1;
	} else if (v <= UINT8_MAX) {
		h[0] = (uint8_t)(major | 24);
		h[1] = (uint8_t)v;
		n = 2;
	} else if (v <= UINT16_MAX) {
		h[0] = (uint8_t)(major | 25);
		n = 3;
	} else if (v <= UINT32_MAX) {
		h[0] = (uint8_t)(major | 26);
		n = 5;
	} else {
		h[0] = (uint8_t)(major | 27);
		n = 9;
	}
	for (size_t i = n - 1; n > 2 && i >= 1; i--) {
		h[i] = (uint8_t)v;
		v >>= 8;
	}
	return buf_append(b, h, n);
}

bool jobs_cbor_put_uint(struct buf *b, uint64_t v)
{
	return put_head(b, 0, v);
}

bool jobs_cbor_put_int(struct buf *b, int64_t v)
{
	if (v >= 0)
		return put_head(b, 0, (uint64_t)v);
	return put_head(b, 1, (uint64_t)(-(v + 1)));
}

bool jobs_cbor_put_bytes(struct buf *b, const void *data, size_t len)
{
	return put_head(b, 2, len) && (len == 0 || buf_append(b, data, len));
}

bool jobs_cbor_put_text(struct buf *b, const char *s, size_t len)
{
	return put_head(b, 3, len) && (len == 0 || buf_append(b, s, len));
}

bool jobs_cbor_put_array(struct buf *b, size_t n)
{
	return put_head(b, 4, n);
}

bool jobs_cbor_put_map(struct buf *b, size_t n)
{
	return put_head(b, 5, n);
}

bool jobs_cbor_put_bool(struct buf *b, bool v)
{
	return put_head(b, 7, v ? 21 : 20);
}

bool jobs_cbor_put_null(struct buf *b)
{
	return put_head(b, 7, 22);
}

void jobs_cbor_reader_init(struct jobs_cbor_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->end = r->p + len;
}

bool jobs_cbor_at_end(const struct jobs_cbor_reader *r)
{
	return r->p == r->end;
}

bool jobs_cbor_next(struct jobs_cbor_reader *r, struct jobs_cbor_item *it)
{
	unsigned major, info;
	size_t extra;
	uint64_t v = 0;

	memset(it, 0, sizeof(*it));
	if (r->p >= r->end)
		return false;
	major = *r->p >> 5;
	info = *r->p & 31;
	r->p++;
	if (info < 24) {
		v = info;
	} else if (info <= 27) {
		extra = (size_t)1 << (info - 24);
		if ((size_t)(r->end - r->p) < extra)
			return false;
		for (size_t i = 0; i < extra; i++)
			v = v << 8 | r->p[i];
		r->p += extra;
	} else if (info == 31) {
		if (major == 7) {
			it->type = JOBS_CBOR_BREAK;
			return true;
		}
		if (major < 2 || major == 6)
			return false; /* no indefinite form for integers and tags */
		it->type = (enum jobs_cbor_type)major;
		it->is_indefinite = true;
		return true;
	} else {
		return false; /* 28..30 reserved */
	}
	it->value = v;
	if (major == 7) {
		it->type = info >= 25 ? JOBS_CBOR_FLOAT : JOBS_CBOR_SIMPLE;
		if (info == 24 && v < 32)
			return false; /* two-byte form of a one-byte simple value */
		return true;
	}
	it->type = (enum jobs_cbor_type)major;
	if (major == 2 || major == 3) {
		if (v > (uint64_t)(r->end - r->p))
			return false;
		it->data = r->p;
		r->p += v;
	}
	return true;
}

static bool skip_body(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it, int depth);

/* One whole item, at nesting depth depth. A BREAK is returned to the caller via *is_break. */
static bool skip_item(struct jobs_cbor_reader *r, int depth, bool *is_break)
{
	struct jobs_cbor_item it;

	if (!jobs_cbor_next(r, &it))
		return false;
	*is_break = it.type == JOBS_CBOR_BREAK;
	return *is_break || skip_body(r, &it, depth);
}

static bool skip_body(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it, int depth)
{
	bool is_break;

	if (depth >= JOBS_CBOR_MAX_DEPTH)
		return false;
	switch (it->type) {
	case JOBS_CBOR_BYTES:
	case JOBS_CBOR_TEXT:
		if (!it->is_indefinite)
			return true;
		for (;;) { /* chunks: definite strings of the same major type, then BREAK */
			struct jobs_cbor_item c;

			if (!jobs_cbor_next(r, &c))
				return false;
			if (c.type == JOBS_CBOR_BREAK)
				return true;
			if (c.type != it->type || c.is_indefinite)
				return false;
		}
	case JOBS_CBOR_ARRAY:
	case JOBS_CBOR_MAP:
		if (it->is_indefinite) {
			for (uint64_t n = 0;; n++) {
				if (!skip_item(r, depth + 1, &is_break))
					return false;
				if (is_break) /* a map needs whole pairs */
					return it->type == JOBS_CBOR_ARRAY || n % 2 == 0;
			}
		}
		/* every item takes at least one byte: a count beyond the input is malformed */
		if (it->value > (uint64_t)(r->end - r->p))
			return false;
		for (uint64_t n = it->value * (it->type == JOBS_CBOR_MAP ? 2 : 1); n > 0; n--) {
			if (!skip_item(r, depth + 1, &is_break) || is_break)
				return false;
		}
		return true;
	case JOBS_CBOR_TAG:
		return skip_item(r, depth + 1, &is_break) && !is_break;
	case JOBS_CBOR_BREAK:
		return false;
	default:
		return true;
	}
}

bool jobs_cbor_skip_body(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it)
{
	return skip_body(r, it, 0);
}

bool jobs_cbor_skip(struct jobs_cbor_reader *r)
{
	bool is_break;

	return skip_item(r, 0, &is_break) && !is_break;
}

bool jobs_cbor_read_string(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it,
			   struct buf *out)
{
	if (it->type != JOBS_CBOR_BYTES && it->type != JOBS_CBOR_TEXT)
		return false;
	if (!it->is_indefinite)
		return it->value == 0 || buf_append(out, it->data, (size_t)it->value);
	for (;;) {
		struct jobs_cbor_item c;

		if (!jobs_cbor_next(r, &c))
			return false;
		if (c.type == JOBS_CBOR_BREAK)
			return true;
		if (c.type != it->type || c.is_indefinite)
			return false;
		if (c.value > 0 && !buf_append(out, c.data, (size_t)c.value))
			return false;
	}
}
