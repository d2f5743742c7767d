#include "agent_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_cbor.h"
#include "agent_verify.h"

#define BITMAP_BYTES_MAX 12287 /* a request's `b` must stay below 12288 bytes */

void agent_stream_policy_default(struct agent_stream_policy *p)
{
	p->timeout_ms = 10000; /* FreeRTOS re-requests after 10 s of silence */
	p->max_idle = 6;
	p->rate_bps = 0;
}

bool agent_stream_init(struct agent_stream *s, const char *name, int file_id, uint64_t size,
		       uint32_t block_size, uint32_t window)
{
	uint64_t nblocks;
	uint32_t max_window;

	memset(s, 0, sizeof(*s));
	if (name == NULL || name[0] == '\0' || strlen(name) > AGENT_STREAM_NAME_MAX ||
	    file_id < 0 || file_id > 255 || size == 0)
		return false;
	if (block_size == 0)
		block_size = AGENT_STREAM_BLOCK_DEFAULT;
	if (block_size < AGENT_STREAM_BLOCK_MIN || block_size > AGENT_STREAM_BLOCK_MAX)
		return false;
	for (;;) {
		nblocks = (size + block_size - 1) / block_size;
		if (nblocks <= AGENT_STREAM_OFFSET_MAX)
			break;
		if (block_size * 2 > AGENT_STREAM_BLOCK_MAX)
			return false; /* larger than 12 GiB: not streamable */
		block_size *= 2;
	}
	max_window = AGENT_STREAM_PAYLOAD_MAX / block_size;
	if (window == 0 || window > max_window)
		window = max_window;
	s->have = calloc((size_t)(nblocks + 7) / 8, 1);
	if (s->have == NULL)
		return false;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->file_id = file_id;
	s->size = size;
	s->block_size = block_size;
	s->nblocks = (uint32_t)nblocks;
	s->window = window;
	return true;
}

void agent_stream_cleanup(struct agent_stream *s)
{
	if (s == NULL)
		return;
	free(s->have);
	memset(s, 0, sizeof(*s));
}

void agent_stream_block_range(const struct agent_stream *s, uint32_t index, uint64_t *offset,
			      size_t *len)
{
	uint64_t start = (uint64_t)index * s->block_size;

	*offset = start;
	*len = start >= s->size ? 0
				: (size_t)(s->size - start < s->block_size ? s->size - start
									   : s->block_size);
}

bool agent_stream_has(const struct agent_stream *s, uint32_t index)
{
	return index < s->nblocks && (s->have[index / 8] >> (index % 8) & 1);
}

bool agent_stream_mark(struct agent_stream *s, uint32_t index)
{
	uint64_t off;
	size_t len;

	if (index >= s->nblocks)
		return false;
	if (agent_stream_has(s, index)) {
		s->duplicates++;
		return false;
	}
	s->have[index / 8] |= (unsigned char)(1u << (index % 8));
	s->have_count++;
	agent_stream_block_range(s, index, &off, &len);
	s->have_bytes += len;
	s->answered++;
	s->idle = 0;
	return true;
}

bool agent_stream_is_complete(const struct agent_stream *s)
{
	return s->nblocks > 0 && s->have_count == s->nblocks;
}

static uint32_t first_missing(const struct agent_stream *s)
{
	uint32_t i;

	for (i = 0; i < s->nblocks; i++) {
		if (s->have[i / 8] == 0xff) {
			i += 7;
			continue;
		}
		if (!agent_stream_has(s, i))
			return i;
	}
	return s->nblocks;
}

/* The CBOR request: {c, f, l, o, n, b: bytes}. malloc'd, *len set; NULL on OOM. */
static void *request_cbor(const struct agent_stream *s, const char *token, uint32_t o, uint32_t n,
			  const unsigned char *bitmap, size_t bytes, size_t *len)
{
	struct agent_cbor_out out = { .cap = 64 + strlen(token) + bytes };

	out.buf = malloc(out.cap);
	if (out.buf == NULL)
		return NULL;
	agent_cbor_put_map(&out, 6);
	agent_cbor_put_text(&out, "c", 1);
	agent_cbor_put_text(&out, token, strlen(token));
	agent_cbor_put_text(&out, "f", 1);
	agent_cbor_put_uint(&out, (uint64_t)s->file_id);
	agent_cbor_put_text(&out, "l", 1);
	agent_cbor_put_uint(&out, s->block_size);
	agent_cbor_put_text(&out, "o", 1);
	agent_cbor_put_uint(&out, o);
	agent_cbor_put_text(&out, "n", 1);
	agent_cbor_put_uint(&out, n);
	agent_cbor_put_text(&out, "b", 1);
	agent_cbor_put_bytes(&out, bitmap, bytes);
	if (out.is_full) {
		free(out.buf);
		return NULL;
	}
	*len = out.len;
	return out.buf;
}

static char *request_json(const struct agent_stream *s, const char *token, uint32_t o, uint32_t n,
			  const unsigned char *bitmap, size_t bytes, size_t *len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex, *text = NULL;
	json_t *req;
	size_t j;

	hex = malloc(2 * bytes + 3);
	if (hex == NULL)
		return NULL;
	hex[0] = '0';
	hex[1] = 'x';
	for (j = 0; j < bytes; j++) {
		hex[2 + 2 * j] = digits[bitmap[j] >> 4];
		hex[3 + 2 * j] = digits[bitmap[j] & 15];
	}
	hex[2 + 2 * bytes] = '\0';
	req = json_pack("{s:s,s:i,s:I,s:I,s:I,s:s}", "c", token, "f", s->file_id, "l",
			(json_int_t)s->block_size, "o", (json_int_t)o, "n", (json_int_t)n, "b",
			hex);
	free(hex);
	if (req != NULL)
		text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text != NULL)
		*len = strlen(text);
	return text;
}

void *agent_stream_request(const struct agent_stream *s, const char *token, uint32_t *count,
			   size_t *len)
{
	uint32_t o = first_missing(s), i, n = 0, span = 0;
	unsigned char *bitmap;
	void *out;

	*count = 0;
	*len = 0;
	if (o >= s->nblocks)
		return NULL;
	if (token == NULL)
		token = "rdy";
	bitmap = calloc(BITMAP_BYTES_MAX, 1);
	if (bitmap == NULL)
		return NULL;
	for (i = o; i < s->nblocks && n < s->window && (i - o) / 8 < BITMAP_BYTES_MAX; i++) {
		if (agent_stream_has(s, i))
			continue;
		bitmap[(i - o) / 8] |= (unsigned char)(1u << ((i - o) % 8));
		n++;
		span = i - o + 1;
	}
	out = s->is_cbor ? request_cbor(s, token, o, n, bitmap, (span + 7) / 8, len)
			 : request_json(s, token, o, n, bitmap, (span + 7) / 8, len);
	free(bitmap);
	if (out != NULL)
		*count = n;
	return out;
}

int agent_stream_due(struct agent_stream *s, const struct agent_stream_policy *p, int64_t now_ms)
{
	if (agent_stream_is_complete(s))
		return 0;
	if (s->requested_ms != 0) {
		bool is_answered = s->answered >= s->requested;

		if (!is_answered && now_ms - s->requested_ms < p->timeout_ms)
			return 0;
		if (!is_answered && s->answered == 0 && ++s->idle >= p->max_idle)
			return -1;
		s->requested_ms = 0; /* answered, or timed out: ask again for what is missing */
	}
	return now_ms >= s->next_ok_ms ? 1 : 0;
}

void agent_stream_sent(struct agent_stream *s, const struct agent_stream_policy *p, uint32_t count,
		       int64_t now_ms)
{
	s->requested_ms = now_ms != 0 ? now_ms : 1;
	s->requested = count;
	s->answered = 0;
	s->requests++;
	s->next_ok_ms = now_ms;
	if (p->rate_bps > 0)
		s->next_ok_ms += (int64_t)((uint64_t)count * s->block_size * 1000 / p->rate_bps);
}

void agent_stream_pause(struct agent_stream *s)
{
	s->requested_ms = 0;
	s->requested = 0;
	s->answered = 0;
}

void agent_stream_rearm(struct agent_stream *s)
{
	agent_stream_pause(s);
	s->idle = 0;
}

static void set_err(char *err, size_t cap, const char *msg)
{
	if (cap > 0)
		snprintf(err, cap, "%s", msg);
}

/* The fields of a data message, whatever the encoding. */
struct data_fields {
	bool has_f, has_i, has_l, has_p;
	int64_t f, i, l;
	const unsigned char *p; /* CBOR: the bytes; JSON: base64 text */
	size_t p_len;
};

static bool data_fields_cbor(const void *payload, size_t plen, struct data_fields *d)
{
	struct agent_cbor_in in = { .p = payload, .left = plen };
	struct agent_cbor_item it, key;
	uint64_t pairs, k;

	if (!agent_cbor_next(&in, &it) || it.type != AGENT_CBOR_MAP)
		return false;
	pairs = it.value;
	for (k = 0; k < pairs; k++) {
		if (!agent_cbor_next(&in, &key) || key.type != AGENT_CBOR_TEXT ||
		    !agent_cbor_next(&in, &it) || it.type == AGENT_CBOR_MAP)
			return false;
		if (key.len != 1)
			continue;
		if (key.ptr[0] == 'p' && it.type == AGENT_CBOR_BYTES) {
			d->has_p = true;
			d->p = it.ptr;
			d->p_len = it.len;
		} else if (it.type == AGENT_CBOR_UINT && it.value <= INT64_MAX &&
			   (key.ptr[0] == 'f' || key.ptr[0] == 'i' || key.ptr[0] == 'l')) {
			if (key.ptr[0] == 'f') {
				d->has_f = true;
				d->f = (int64_t)it.value;
			} else if (key.ptr[0] == 'i') {
				d->has_i = true;
				d->i = (int64_t)it.value;
			} else {
				d->has_l = true;
				d->l = (int64_t)it.value;
			}
		}
	}
	return in.left == 0;
}

/* An integer member of a JSON object. */
static bool json_int(const json_t *m, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(m, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

enum agent_stream_msg agent_stream_parse_data(const struct agent_stream *s, const void *payload,
					      size_t plen, uint32_t *index, unsigned char *buf,
					      size_t cap, size_t *len, char *err, size_t err_cap)
{
	json_t *m = NULL, *v;
	enum agent_stream_msg rc = AGENT_STREAM_MSG_INVALID;
	struct data_fields d = { 0 };
	uint64_t off;
	size_t want;
	long n;

	set_err(err, err_cap, "");
	if (s->is_cbor) {
		if (!data_fields_cbor(payload, plen, &d)) {
			set_err(err, err_cap, "data message is not a CBOR map of scalars");
			goto out;
		}
	} else {
		m = json_loadb(payload, plen, 0, NULL);
		d.has_f = json_int(m, "f", &d.f);
		d.has_i = json_int(m, "i", &d.i);
		d.has_l = json_int(m, "l", &d.l);
		if ((v = json_object_get(m, "p")) != NULL && json_is_string(v)) {
			d.has_p = true;
			d.p = (const unsigned char *)json_string_value(v);
			d.p_len = json_string_length(v);
		}
	}
	if (!d.has_f || !d.has_i || !d.has_l || !d.has_p) {
		set_err(err, err_cap, "data message without f, i, l and p");
		goto out;
	}
	if (d.f != s->file_id) {
		set_err(err, err_cap, "block of another file");
		goto out;
	}
	if (d.i < 0 || d.i >= (int64_t)s->nblocks) {
		set_err(err, err_cap, "block index out of range");
		goto out;
	}
	agent_stream_block_range(s, (uint32_t)d.i, &off, &want);
	if (d.l != (int64_t)want || cap < want) {
		set_err(err, err_cap, "block length differs from the requested block size");
		goto out;
	}
	if (s->is_cbor) {
		if (d.p_len != want) {
			set_err(err, err_cap, "block payload is not the block's length");
			goto out;
		}
		memcpy(buf, d.p, want);
	} else {
		n = d.p_len <= 4 * ((want + 2) / 3)
			    ? agent_base64_decode((const char *)d.p, buf, cap)
			    : -1;
		if (n < 0 || (size_t)n != want) {
			set_err(err, err_cap, "block payload is not base64 of the block's length");
			goto out;
		}
	}
	*index = (uint32_t)d.i;
	*len = want;
	rc = AGENT_STREAM_MSG_BLOCK;
out:
	json_decref(m);
	return rc;
}

static enum agent_stream_msg rejected_cbor(const void *payload, size_t plen, char *code,
					   size_t code_cap, char *msg, size_t msg_cap)
{
	struct agent_cbor_in in = { .p = payload, .left = plen };
	struct agent_cbor_item it, key;
	uint64_t pairs, k;
	bool has_code = false;

	snprintf(msg, msg_cap, "%s", "");
	if (!agent_cbor_next(&in, &it) || it.type != AGENT_CBOR_MAP)
		return AGENT_STREAM_MSG_INVALID;
	pairs = it.value;
	for (k = 0; k < pairs; k++) {
		if (!agent_cbor_next(&in, &key) || key.type != AGENT_CBOR_TEXT ||
		    !agent_cbor_next(&in, &it) || it.type == AGENT_CBOR_MAP)
			return AGENT_STREAM_MSG_INVALID;
		if (key.len != 1 || it.type != AGENT_CBOR_TEXT || it.len > INT32_MAX)
			continue;
		if (key.ptr[0] == 'o') {
			snprintf(code, code_cap, "%.*s", (int)it.len, (const char *)it.ptr);
			has_code = true;
		} else if (key.ptr[0] == 'm') {
			snprintf(msg, msg_cap, "%.*s", (int)it.len, (const char *)it.ptr);
		}
	}
	return has_code ? AGENT_STREAM_MSG_REJECTED : AGENT_STREAM_MSG_INVALID;
}

enum agent_stream_msg agent_stream_parse_rejected(const struct agent_stream *s, const void *payload,
						  size_t plen, char *code, size_t code_cap,
						  char *msg, size_t msg_cap)
{
	json_t *m;
	const char *o, *t;

	if (s->is_cbor)
		return rejected_cbor(payload, plen, code, code_cap, msg, msg_cap);
	m = json_loadb(payload, plen, 0, NULL);
	o = json_string_value(json_object_get(m, "o"));
	t = json_string_value(json_object_get(m, "m"));

	if (o == NULL)
		o = json_string_value(json_object_get(m, "code"));
	if (t == NULL)
		t = json_string_value(json_object_get(m, "message"));
	if (o == NULL) {
		json_decref(m);
		return AGENT_STREAM_MSG_INVALID;
	}
	snprintf(code, code_cap, "%s", o);
	snprintf(msg, msg_cap, "%s", t != NULL ? t : "");
	json_decref(m);
	return AGENT_STREAM_MSG_REJECTED;
}

bool agent_stream_rejected_is_retryable(const char *code)
{
	return strcmp(code, "InternalError") == 0;
}

char *agent_stream_progress(const struct agent_stream *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t bytes = (s->nblocks + 7) / 8, j;
	char *hex = malloc(2 * bytes + 1), *text = NULL;
	json_t *o;

	if (hex == NULL)
		return NULL;
	for (j = 0; j < bytes; j++) {
		hex[2 * j] = digits[s->have[j] >> 4];
		hex[2 * j + 1] = digits[s->have[j] & 15];
	}
	hex[2 * bytes] = '\0';
	o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:s}", "format", AGENT_STREAM_PROGRESS_FORMAT, "stream",
		      s->name, "file_id", s->file_id, "size", (json_int_t)s->size, "block_size",
		      (json_int_t)s->block_size, "have", hex);
	free(hex);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool agent_stream_progress_load(struct agent_stream *s, const char *text)
{
	json_t *o = json_loads(text, 0, NULL);
	const char *fmt = json_string_value(json_object_get(o, "format"));
	const char *name = json_string_value(json_object_get(o, "stream"));
	const char *hex = json_string_value(json_object_get(o, "have"));
	size_t bytes = (s->nblocks + 7) / 8, j;
	unsigned char *have = NULL;
	bool ok = false;
	uint32_t i;

	if (fmt == NULL || strcmp(fmt, AGENT_STREAM_PROGRESS_FORMAT) != 0 || name == NULL ||
	    strcmp(name, s->name) != 0 || hex == NULL || strlen(hex) != 2 * bytes ||
	    json_integer_value(json_object_get(o, "file_id")) != s->file_id ||
	    json_integer_value(json_object_get(o, "size")) != (json_int_t)s->size ||
	    json_integer_value(json_object_get(o, "block_size")) != (json_int_t)s->block_size)
		goto out;
	have = calloc(bytes, 1);
	if (have == NULL)
		goto out;
	for (j = 0; j < bytes; j++) {
		int hi = hexval(hex[2 * j]), lo = hexval(hex[2 * j + 1]);

		if (hi < 0 || lo < 0)
			goto out;
		have[j] = (unsigned char)(hi << 4 | lo);
	}
	if (s->nblocks % 8 != 0 && (have[bytes - 1] >> (s->nblocks % 8)) != 0)
		goto out; /* bits past the last block */
	free(s->have);
	s->have = have;
	have = NULL;
	s->have_count = 0;
	s->have_bytes = 0;
	for (i = 0; i < s->nblocks; i++) {
		uint64_t off;
		size_t len;

		if (!agent_stream_has(s, i))
			continue;
		agent_stream_block_range(s, i, &off, &len);
		s->have_count++;
		s->have_bytes += len;
	}
	ok = true;
out:
	free(have);
	json_decref(o);
	return ok;
}
