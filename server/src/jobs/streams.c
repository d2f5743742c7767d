#include "jobs/streams.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/base64.h"
#include "jobs/cbor.h"

static const char *const codes[] = {
#define X(e, code) code,
	JOBS_STREAMS_ERR_LIST(X)
#undef X
};

const char *jobs_streams_err_code(enum jobs_streams_err err)
{
	if ((unsigned)err >= sizeof(codes) / sizeof(codes[0]))
		return codes[JOBS_STREAMS_INTERNAL];
	return codes[err];
}

static enum jobs_streams_err fail(enum jobs_streams_err err, char *msg, size_t cap, const char *fmt,
				  ...) __attribute__((format(printf, 4, 5)));

static enum jobs_streams_err fail(enum jobs_streams_err err, char *msg, size_t cap, const char *fmt,
				  ...)
{
	va_list ap;

	if (msg && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void request_init(struct jobs_streams_request *r)
{
	memset(r, 0, sizeof(*r));
}

void jobs_streams_request_cleanup(struct jobs_streams_request *r)
{
	if (!r)
		return;
	free(r->bitmap);
	request_init(r);
}

/* Raw fields as read, before range checks. Owns bitmap (a buf). */
struct raw {
	bool has[7]; /* c s f l o n b */
	uint64_t num[7];
	bool is_bad_type[7];
	struct buf token;
	struct buf bitmap;
};

enum { K_C, K_S, K_F, K_L, K_O, K_N, K_B, K__COUNT };
static const char keys[K__COUNT] = { 'c', 's', 'f', 'l', 'o', 'n', 'b' };

static int key_index(const char *k, size_t len)
{
	if (len != 1)
		return -1;
	for (int i = 0; i < K__COUNT; i++) {
		if (keys[i] == k[0])
			return i;
	}
	return -1;
}

/* Range and presence checks shared by both encodings; fills out. */
static enum jobs_streams_err finish(struct raw *raw, bool describe,
				    struct jobs_streams_request *out, char *msg, size_t cap)
{
	for (int i = 0; i < K__COUNT; i++) {
		if (raw->is_bad_type[i])
			return fail(JOBS_STREAMS_INVALID_REQUEST, msg, cap,
				    "field %c has a wrong type", keys[i]);
	}
	if (raw->has[K_C]) {
		if (raw->token.len > JOBS_STREAMS_TOKEN_MAX ||
		    memchr(raw->token.data, '\0', raw->token.len))
			return fail(JOBS_STREAMS_INVALID_REQUEST, msg, cap,
				    "client token c is longer than 64 bytes");
		memcpy(out->client_token, raw->token.data, raw->token.len);
		out->client_token[raw->token.len] = '\0';
		out->has_client_token = true;
	}
	if (describe)
		return JOBS_STREAMS_OK;
	if (raw->has[K_S]) {
		if (raw->num[K_S] > INT64_MAX)
			return fail(JOBS_STREAMS_INVALID_REQUEST, msg, cap, "s is out of range");
		out->has_stream_version = true;
		out->stream_version = (int64_t)raw->num[K_S];
	}
	if (!raw->has[K_F] || raw->num[K_F] > JOBS_STREAMS_FILE_ID_MAX)
		return fail(JOBS_STREAMS_INVALID_REQUEST, msg, cap, "file id f must be 0..255");
	out->file_id = (int)raw->num[K_F];
	if (!raw->has[K_L])
		return fail(JOBS_STREAMS_INVALID_REQUEST, msg, cap, "block size l is required");
	if (raw->num[K_L] < JOBS_STREAMS_BLOCK_MIN || raw->num[K_L] > JOBS_STREAMS_BLOCK_MAX)
		return fail(JOBS_STREAMS_BLOCK_SIZE_OUT_OF_BOUNDS, msg, cap,
			    "block size l must be 256..131072");
	out->block_size = (uint32_t)raw->num[K_L];
	if (raw->has[K_O] && raw->num[K_O] > JOBS_STREAMS_OFFSET_MAX)
		return fail(JOBS_STREAMS_OFFSET_OUT_OF_BOUNDS, msg, cap,
			    "offset o must be 0..98304");
	out->offset = raw->has[K_O] ? (uint32_t)raw->num[K_O] : 0;
	if (raw->has[K_N] && raw->num[K_N] > JOBS_STREAMS_COUNT_MAX)
		return fail(JOBS_STREAMS_BLOCK_COUNT_LIMIT_EXCEEDED, msg, cap,
			    "number of blocks n must be 0..98304");
	out->max_blocks = raw->has[K_N] ? (uint32_t)raw->num[K_N] : 0;
	if (raw->has[K_B]) {
		if (raw->bitmap.len > JOBS_STREAMS_BITMAP_MAX)
			return fail(JOBS_STREAMS_BLOCK_BITMAP_LIMIT_EXCEEDED, msg, cap,
				    "bitmap b must be shorter than 12288 bytes");
		out->bitmap_len = raw->bitmap.len;
		out->bitmap = malloc(raw->bitmap.len ? raw->bitmap.len : 1);
		if (!out->bitmap)
			return fail(JOBS_STREAMS_INTERNAL, msg, cap, "out of memory");
		if (raw->bitmap.len)
			memcpy(out->bitmap, raw->bitmap.data, raw->bitmap.len);
	}
	return JOBS_STREAMS_OK;
}

static enum jobs_streams_err parse_cbor_value(struct jobs_cbor_reader *rd, int k, struct raw *raw)
{
	struct jobs_cbor_item v;

	if (!jobs_cbor_next(rd, &v) || v.type == JOBS_CBOR_BREAK)
		return JOBS_STREAMS_INVALID_CBOR;
	if (k < 0)
		return jobs_cbor_skip_body(rd, &v) ? JOBS_STREAMS_OK : JOBS_STREAMS_INVALID_CBOR;
	if (raw->has[k])
		return JOBS_STREAMS_INVALID_CBOR; /* duplicate key: not valid CBOR (RFC 8949 5.6) */
	raw->has[k] = true;
	if (k == K_C || k == K_B) {
		if (v.type != (k == K_C ? JOBS_CBOR_TEXT : JOBS_CBOR_BYTES)) {
			raw->is_bad_type[k] = true;
			return jobs_cbor_skip_body(rd, &v) ? JOBS_STREAMS_OK
							   : JOBS_STREAMS_INVALID_CBOR;
		}
		if (!jobs_cbor_read_string(rd, &v, k == K_C ? &raw->token : &raw->bitmap))
			return raw->token.is_oom || raw->bitmap.is_oom ? JOBS_STREAMS_INTERNAL
								       : JOBS_STREAMS_INVALID_CBOR;
		return JOBS_STREAMS_OK;
	}
	if (v.type != JOBS_CBOR_UINT) {
		raw->is_bad_type[k] = true;
		return jobs_cbor_skip_body(rd, &v) ? JOBS_STREAMS_OK : JOBS_STREAMS_INVALID_CBOR;
	}
	raw->num[k] = v.value;
	return JOBS_STREAMS_OK;
}

static enum jobs_streams_err parse_cbor(const void *payload, size_t len, struct raw *raw)
{
	struct jobs_cbor_reader rd;
	struct jobs_cbor_item m, key;
	enum jobs_streams_err err;
	struct buf kb;

	jobs_cbor_reader_init(&rd, payload, len);
	if (!jobs_cbor_next(&rd, &m) || m.type != JOBS_CBOR_MAP)
		return JOBS_STREAMS_INVALID_CBOR;
	buf_init(&kb);
	for (uint64_t i = 0; m.is_indefinite || i < m.value; i++) {
		if (!jobs_cbor_next(&rd, &key)) {
			err = JOBS_STREAMS_INVALID_CBOR;
			goto out;
		}
		if (key.type == JOBS_CBOR_BREAK && m.is_indefinite)
			break;
		if (key.type != JOBS_CBOR_TEXT) {
			err = JOBS_STREAMS_INVALID_CBOR; /* the protocol uses text keys only */
			goto out;
		}
		kb.len = 0;
		if (!jobs_cbor_read_string(&rd, &key, &kb)) {
			err = kb.is_oom ? JOBS_STREAMS_INTERNAL : JOBS_STREAMS_INVALID_CBOR;
			goto out;
		}
		err = parse_cbor_value(&rd, key_index(kb.data ? kb.data : "", kb.len), raw);
		if (err)
			goto out;
	}
	err = jobs_cbor_at_end(&rd) ? JOBS_STREAMS_OK : JOBS_STREAMS_INVALID_CBOR;
out:
	buf_cleanup(&kb);
	return err;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text (optional 0x) into out; false if malformed. */
static bool hex_decode(const char *s, size_t len, struct buf *out)
{
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		len -= 2;
	}
	if (len % 2)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0 || !buf_putc(out, (char)(hi << 4 | lo)))
			return false;
	}
	return true;
}

static enum jobs_streams_err parse_json(const void *payload, size_t len, struct raw *raw)
{
	json_error_t jerr;
	json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	enum jobs_streams_err err = JOBS_STREAMS_OK;
	const char *key;

	if (!root)
		return json_error_code(&jerr) == json_error_out_of_memory
			       ? JOBS_STREAMS_INTERNAL
			       : JOBS_STREAMS_INVALID_JSON;
	if (!json_is_object(root)) {
		json_decref(root);
		return JOBS_STREAMS_INVALID_JSON;
	}
	json_object_foreach(root, key, v) {
		int k = key_index(key, strlen(key));

		if (k < 0)
			continue;
		raw->has[k] = true;
		if (k == K_C) {
			if (!json_is_string(v))
				raw->is_bad_type[k] = true;
			else if (!buf_append(&raw->token, json_string_value(v),
					     json_string_length(v)))
				err = JOBS_STREAMS_INTERNAL;
		} else if (k == K_B) {
			if (!json_is_string(v) ||
			    !hex_decode(json_string_value(v), json_string_length(v), &raw->bitmap))
				raw->is_bad_type[k] = true;
			if (raw->bitmap.is_oom)
				err = JOBS_STREAMS_INTERNAL;
		} else {
			json_int_t n;
			double d;

			if (json_is_integer(v) && (n = json_integer_value(v)) >= 0)
				raw->num[k] = (uint64_t)n;
			else if (json_is_real(v) && (d = json_real_value(v)) >= 0 && d < 9.0e15 &&
				 d == (double)(int64_t)d)
				raw->num[k] = (uint64_t)d;
			else
				raw->is_bad_type[k] = true;
		}
	}
	json_decref(root);
	return err;
}

enum jobs_streams_err jobs_streams_parse(enum jobs_topics_enc enc, bool describe,
					 const void *payload, size_t len,
					 struct jobs_streams_request *out, char *msg,
					 size_t msg_cap)
{
	enum jobs_streams_err err;
	struct raw raw;

	request_init(out);
	if (msg && msg_cap > 0)
		msg[0] = '\0';
	memset(&raw, 0, sizeof(raw));
	buf_init(&raw.token);
	buf_init(&raw.bitmap);
	if (enc == JOBS_TOPICS_ENC_CBOR) {
		err = parse_cbor(payload, len, &raw);
		if (err == JOBS_STREAMS_INVALID_CBOR)
			fail(err, msg, msg_cap, "the payload is not a CBOR map with text keys");
	} else if (enc == JOBS_TOPICS_ENC_JSON) {
		err = len == 0 ? JOBS_STREAMS_INVALID_JSON : parse_json(payload, len, &raw);
		if (err == JOBS_STREAMS_INVALID_JSON)
			fail(err, msg, msg_cap, "the payload is not a JSON object");
	} else {
		err = fail(JOBS_STREAMS_INVALID_TOPIC, msg, msg_cap, "unknown encoding");
	}
	if (err == JOBS_STREAMS_INTERNAL)
		fail(err, msg, msg_cap, "out of memory");
	if (err == JOBS_STREAMS_OK)
		err = finish(&raw, describe, out, msg, msg_cap);
	if (err != JOBS_STREAMS_OK) {
		/* keep a valid token for the rejected message */
		bool keep = out->has_client_token;
		char token[JOBS_STREAMS_TOKEN_MAX + 1];

		if (!keep && raw.has[K_C] && !raw.is_bad_type[K_C] &&
		    raw.token.len <= JOBS_STREAMS_TOKEN_MAX &&
		    !memchr(raw.token.data ? raw.token.data : "", '\0', raw.token.len)) {
			memcpy(token, raw.token.data ? raw.token.data : "", raw.token.len);
			token[raw.token.len] = '\0';
			keep = true;
		} else if (keep) {
			strcpy(token, out->client_token);
		}
		jobs_streams_request_cleanup(out);
		if (keep) {
			strcpy(out->client_token, token);
			out->has_client_token = true;
		}
	}
	buf_cleanup(&raw.token);
	buf_cleanup(&raw.bitmap);
	return err;
}

void jobs_streams_block_range(uint32_t block_size, uint64_t file_size, uint32_t index,
			      uint64_t *start, size_t *len)
{
	uint64_t s = (uint64_t)index * block_size;

	*start = s;
	*len = 0;
	if (block_size == 0 || s >= file_size)
		return;
	*len = (size_t)(file_size - s < block_size ? file_size - s : block_size);
}

enum jobs_streams_err jobs_streams_select(const struct jobs_streams_request *r, uint64_t file_size,
					  int64_t stream_version, uint32_t *blocks, size_t cap,
					  size_t *count)
{
	uint64_t nblocks, limit;

	*count = 0;
	if (r->has_stream_version && r->stream_version != stream_version)
		return JOBS_STREAMS_VERSION_MISMATCH;
	if (file_size == 0 || r->block_size == 0)
		return JOBS_STREAMS_RESOURCE_NOT_FOUND;
	nblocks = (file_size + r->block_size - 1) / r->block_size;
	if (r->offset >= nblocks)
		return JOBS_STREAMS_OFFSET_OUT_OF_BOUNDS;
	limit = JOBS_STREAMS_PAYLOAD_MAX / r->block_size;
	if (r->max_blocks > 0 && r->max_blocks < limit)
		limit = r->max_blocks;
	if (cap < limit)
		limit = cap;
	if (!r->bitmap) {
		for (uint64_t b = r->offset; b < nblocks && *count < limit; b++)
			blocks[(*count)++] = (uint32_t)b;
		return JOBS_STREAMS_OK;
	}
	for (size_t j = 0; j < r->bitmap_len && *count < limit; j++) {
		for (unsigned k = 0; k < 8 && *count < limit; k++) {
			uint64_t b = r->offset + 8 * (uint64_t)j + k;

			if (b >= nblocks)
				return JOBS_STREAMS_OK;
			if (r->bitmap[j] >> k & 1)
				blocks[(*count)++] = (uint32_t)b;
		}
	}
	return JOBS_STREAMS_OK;
}

/* Append the compact text of o (consumed) to out. */
static bool put_json(json_t *o, struct buf *out)
{
	char *text;
	bool ok;

	if (!o)
		return false;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return false;
	ok = buf_puts(out, text);
	free(text);
	return ok;
}

static bool put_text(struct buf *b, const char *k)
{
	return jobs_cbor_put_text(b, k, strlen(k));
}

bool jobs_streams_encode_data(enum jobs_topics_enc enc, const char *token, int file_id,
			      uint32_t block_index, const void *data, size_t len, struct buf *out)
{
	json_t *o;
	char *b64;

	if (enc == JOBS_TOPICS_ENC_CBOR) {
		return jobs_cbor_put_map(out, token ? 5 : 4) &&
		       (!token ||
			(put_text(out, "c") && jobs_cbor_put_text(out, token, strlen(token)))) &&
		       put_text(out, "f") && jobs_cbor_put_uint(out, (uint64_t)file_id) &&
		       put_text(out, "l") && jobs_cbor_put_uint(out, len) && put_text(out, "i") &&
		       jobs_cbor_put_uint(out, block_index) && put_text(out, "p") &&
		       jobs_cbor_put_bytes(out, data, len);
	}
	if (enc != JOBS_TOPICS_ENC_JSON)
		return false;
	b64 = base64_encode(data, len);
	if (!b64)
		return false;
	o = json_pack("{s:i,s:I,s:I,s:s}", "f", file_id, "l", (json_int_t)len, "i",
		      (json_int_t)block_index, "p", b64);
	free(b64);
	if (o && token && json_object_set_new(o, "c", json_string(token))) {
		json_decref(o);
		return false;
	}
	return put_json(o, out);
}

bool jobs_streams_encode_rejected(enum jobs_topics_enc enc, enum jobs_streams_err err,
				  const char *message, const char *token, struct buf *out)
{
	const char *code = jobs_streams_err_code(err);
	json_t *o;

	if (!message || !*message)
		message = code;
	if (enc == JOBS_TOPICS_ENC_CBOR) {
		return jobs_cbor_put_map(out, token ? 3 : 2) && put_text(out, "o") &&
		       put_text(out, code) && put_text(out, "m") && put_text(out, message) &&
		       (!token || (put_text(out, "c") && put_text(out, token)));
	}
	if (enc != JOBS_TOPICS_ENC_JSON)
		return false;
	o = json_pack("{s:s,s:s}", "o", code, "m", message);
	if (o && token && json_object_set_new(o, "c", json_string(token))) {
		json_decref(o);
		return false;
	}
	return put_json(o, out);
}

bool jobs_streams_encode_description(enum jobs_topics_enc enc, const char *token,
				     int64_t stream_version, const char *description,
				     const struct jobs_streams_file *files, size_t n,
				     struct buf *out)
{
	json_t *o, *r;

	if (enc == JOBS_TOPICS_ENC_CBOR) {
		if (!jobs_cbor_put_map(out, 2 + (token != NULL) + (description != NULL)) ||
		    (token && !(put_text(out, "c") && put_text(out, token))) ||
		    !put_text(out, "s") || !jobs_cbor_put_int(out, stream_version) ||
		    (description && !(put_text(out, "d") && put_text(out, description))) ||
		    !put_text(out, "r") || !jobs_cbor_put_array(out, n))
			return false;
		for (size_t i = 0; i < n; i++) {
			if (!jobs_cbor_put_map(out, 2) || !put_text(out, "f") ||
			    !jobs_cbor_put_uint(out, (uint64_t)files[i].file_id) ||
			    !put_text(out, "z") || !jobs_cbor_put_uint(out, files[i].size))
				return false;
		}
		return true;
	}
	if (enc != JOBS_TOPICS_ENC_JSON)
		return false;
	r = json_array();
	o = json_pack("{s:I,s:o}", "s", (json_int_t)stream_version, "r", r);
	if (!o)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(r, json_pack("{s:i,s:I}", "f", files[i].file_id, "z",
						       (json_int_t)files[i].size))) {
			json_decref(o);
			return false;
		}
	}
	if ((token && json_object_set_new(o, "c", json_string(token))) ||
	    (description && json_object_set_new(o, "d", json_string(description)))) {
		json_decref(o);
		return false;
	}
	return put_json(o, out);
}
