#include "agent_cbor.h"

#include <string.h>

static void put_raw(struct agent_cbor_out *o, const void *p, size_t n)
{
	if (o->is_full || n > o->cap - o->len) {
		o->is_full = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* The shortest head for major type major and argument v (RFC 8949 3.1, canonical). */
static void put_head(struct agent_cbor_out *o, unsigned major, uint64_t v)
{
	unsigned char h[9];
	size_t n, i;

	if (v < 24) {
		h[0] = (unsigned char)(major << 5 | v);
		put_raw(o, h, 1);
		return;
	}
	if (v <= 0xff) {
		h[0] = (unsigned char)(major << 5 | 24);
		n = 1;
	} else if (v <= 0xffff) {
		h[0] = (unsigned char)(major << 5 | 25);
		n = 2;
	} else if (v <= 0xffffffffu) {
		h[0] = (unsigned char)(major << 5 | 26);
		n = 4;
	} else {
		h[0] = (unsigned char)(major << 5 | 27);
		n = 8;
	}
	for (i = 0; i < n; i++)
		h[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	put_raw(o, h, 1 + n);
}

void agent_cbor_put_uint(struct agent_cbor_out *o, uint64_t v)
{
	put_head(o, AGENT_CBOR_UINT, v);
}

void agent_cbor_put_text(struct agent_cbor_out *o, const char *s, size_t len)
{
	put_head(o, AGENT_CBOR_TEXT, len);
	put_raw(o, s, len);
}

void agent_cbor_put_bytes(struct agent_cbor_out *o, const void *p, size_t len)
{
	put_head(o, AGENT_CBOR_BYTES, len);
	put_raw(o, p, len);
}

void agent_cbor_put_map(struct agent_cbor_out *o, size_t pairs)
{
	put_head(o, AGENT_CBOR_MAP, pairs);
}

bool agent_cbor_next(struct agent_cbor_in *in, struct agent_cbor_item *it)
{
	unsigned major, info;
	uint64_t v = 0;
	size_t n, i;

	if (in->left == 0)
		return false;
	major = in->p[0] >> 5;
	info = in->p[0] & 31;
	in->p++;
	in->left--;
	if (info < 24) {
		v = info;
	} else if (info <= 27) {
		n = (size_t)1 << (info - 24);
		if (in->left < n)
			return false;
		for (i = 0; i < n; i++)
			v = v << 8 | in->p[i];
		in->p += n;
		in->left -= n;
	} else {
		return false; /* reserved or indefinite length */
	}
	memset(it, 0, sizeof(*it));
	it->value = v;
	switch (major) {
	case AGENT_CBOR_UINT:
	case AGENT_CBOR_NEGINT:
	case AGENT_CBOR_MAP:
		it->type = (enum agent_cbor_type)major;
		return true;
	case AGENT_CBOR_BYTES:
	case AGENT_CBOR_TEXT:
		if (v > in->left)
			return false;
		it->type = (enum agent_cbor_type)major;
		it->ptr = in->p;
		it->len = (size_t)v;
		in->p += v;
		in->left -= (size_t)v;
		return true;
	case AGENT_CBOR_SIMPLE:
		if (info > 24) /* floats */
			return false;
		it->type = AGENT_CBOR_SIMPLE;
		return true;
	default: /* arrays and tags */
		return false;
	}
}
