/*
 * Unit tests for jobs/cbor, jobs/streams and jobs/ota: the CBOR subset against RFC 8949
 * Appendix A (encodings) and Appendix F (malformed input), the MQTT file-streams protocol
 * (spec 9.3, 11), and FreeRTOS afr_ota job documents (spec 9.1, 9.7). Section numbers refer to
 * spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/cbor.h"
#include "jobs/document.h"
#include "jobs/ota.h"
#include "jobs/streams.h"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
		abort();
	}
	return j;
}

static void assert_json_text(const char *got, size_t len, const char *want_text)
{
	json_t *g = json_loadb(got, len, 0, NULL), *w = J(want_text);

	ck_assert_msg(g && json_equal(g, w), "got  %.*s\nwant %s", (int)len, got, want_text);
	json_decref(g);
	json_decref(w);
}

/* Hex text (spaces allowed) to bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		ck_assert(sscanf(hex, "%2x", &v) == 1 && n < cap);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static char *tohex(const void *data, size_t len)
{
	static char out[4096];
	const uint8_t *p = data;

	out[0] = '\0';
	for (size_t i = 0; i < len && 2 * i + 2 < sizeof(out); i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	return out;
}

/* ---- RFC 8949 Appendix A: encoding -------------------------------------------------------- */

struct int_vec {
	int64_t v;
	const char *hex;
};

static const struct int_vec ints[] = {
	{ 0, "00" },
	{ 1, "01" },
	{ 10, "0a" },
	{ 23, "17" },
	{ 24, "1818" },
	{ 25, "1819" },
	{ 100, "1864" },
	{ 1000, "1903e8" },
	{ 1000000, "1a000f4240" },
	{ INT64_C(1000000000000), "1b000000e8d4a51000" },
	{ -1, "20" },
	{ -10, "29" },
	{ -100, "3863" },
	{ -1000, "3903e7" },
	{ INT64_MAX, "1b7fffffffffffffff" },
	{ INT64_MIN, "3b7fffffffffffffff" },
};

START_TEST(cbor_encodes_integers_rfc8949_appendix_a)
{
	struct buf b;

	buf_init(&b);
	ck_assert(jobs_cbor_put_int(&b, ints[_i].v));
	ck_assert_str_eq(tohex(b.data, b.len), ints[_i].hex);
	buf_cleanup(&b);
}
END_TEST

START_TEST(cbor_encodes_strings_containers_simple_rfc8949_appendix_a)
{
	struct buf b;

#define EXPECT(hex)                                            \
	do {                                                   \
		ck_assert(!b.is_oom);                          \
		ck_assert_str_eq(tohex(b.data, b.len), (hex)); \
		b.len = 0;                                     \
	} while (0)

	buf_init(&b);
	ck_assert(jobs_cbor_put_uint(&b, UINT64_MAX));
	EXPECT("1bffffffffffffffff");
	jobs_cbor_put_bytes(&b, NULL, 0);
	EXPECT("40");
	jobs_cbor_put_bytes(&b, "\x01\x02\x03\x04", 4);
	EXPECT("4401020304");
	jobs_cbor_put_text(&b, "", 0);
	EXPECT("60");
	jobs_cbor_put_text(&b, "a", 1);
	EXPECT("6161");
	jobs_cbor_put_text(&b, "IETF", 4);
	EXPECT("6449455446");
	jobs_cbor_put_text(&b, "\"\\", 2);
	EXPECT("62225c");
	jobs_cbor_put_text(&b, "\xc3\xbc", 2);
	EXPECT("62c3bc");
	jobs_cbor_put_text(&b, "\xe6\xb0\xb4", 3);
	EXPECT("63e6b0b4");
	jobs_cbor_put_text(&b, "\xf0\x90\x85\x91", 4);
	EXPECT("64f0908591");
	jobs_cbor_put_array(&b, 0);
	EXPECT("80");
	jobs_cbor_put_array(&b, 3);
	for (int i = 1; i <= 3; i++)
		jobs_cbor_put_uint(&b, (uint64_t)i);
	EXPECT("83010203");
	jobs_cbor_put_array(&b, 3);
	jobs_cbor_put_uint(&b, 1);
	jobs_cbor_put_array(&b, 2);
	jobs_cbor_put_uint(&b, 2);
	jobs_cbor_put_uint(&b, 3);
	jobs_cbor_put_array(&b, 2);
	jobs_cbor_put_uint(&b, 4);
	jobs_cbor_put_uint(&b, 5);
	EXPECT("8301820203820405");
	jobs_cbor_put_array(&b, 25);
	for (int i = 1; i <= 25; i++)
		jobs_cbor_put_uint(&b, (uint64_t)i);
	EXPECT("98190102030405060708090a0b0c0d0e0f101112131415161718181819");
	jobs_cbor_put_map(&b, 0);
	EXPECT("a0");
	jobs_cbor_put_map(&b, 2);
	jobs_cbor_put_uint(&b, 1);
	jobs_cbor_put_uint(&b, 2);
	jobs_cbor_put_uint(&b, 3);
	jobs_cbor_put_uint(&b, 4);
	EXPECT("a201020304");
	jobs_cbor_put_map(&b, 2);
	jobs_cbor_put_text(&b, "a", 1);
	jobs_cbor_put_uint(&b, 1);
	jobs_cbor_put_text(&b, "b", 1);
	jobs_cbor_put_array(&b, 2);
	jobs_cbor_put_uint(&b, 2);
	jobs_cbor_put_uint(&b, 3);
	EXPECT("a26161016162820203");
	jobs_cbor_put_map(&b, 5);
	for (char k = 'a'; k <= 'e'; k++) {
		char u = (char)(k - 'a' + 'A');

		jobs_cbor_put_text(&b, &k, 1);
		jobs_cbor_put_text(&b, &u, 1);
	}
	EXPECT("a56161614161626142616361436164614461656145");
	jobs_cbor_put_bool(&b, false);
	jobs_cbor_put_bool(&b, true);
	jobs_cbor_put_null(&b);
	EXPECT("f4f5f6");
	/* 256-byte and 65536-byte strings use 2- and 4-byte lengths */
	{
		char *big = calloc(1, 65536);

		ck_assert_ptr_nonnull(big);
		jobs_cbor_put_bytes(&b, big, 256);
		ck_assert_str_eq(tohex(b.data, 3), "590100");
		b.len = 0;
		jobs_cbor_put_text(&b, big, 65536);
		ck_assert_int_eq(b.len, 65536 + 5);
		ck_assert_str_eq(tohex(b.data, 5), "7a00010000");
		free(big);
	}
	buf_cleanup(&b);
#undef EXPECT
}
END_TEST

/* ---- RFC 8949 Appendix A: decoding, through a diagnostic-notation printer ------------------ */

static bool diag_item(struct jobs_cbor_reader *r, struct buf *out, bool *is_break);

static bool diag_body(struct jobs_cbor_reader *r, const struct jobs_cbor_item *it, struct buf *out)
{
	bool brk;

	switch (it->type) {
	case JOBS_CBOR_UINT:
		return buf_printf(out, "%llu", (unsigned long long)it->value);
	case JOBS_CBOR_NEGINT:
		if (it->value == UINT64_MAX)
			return buf_puts(out, "-18446744073709551616");
		return buf_printf(out, "-%llu", (unsigned long long)it->value + 1);
	case JOBS_CBOR_BYTES:
	case JOBS_CBOR_TEXT:
		if (it->is_indefinite) {
			struct jobs_cbor_item c;
			bool first = true;

			buf_puts(out, "(_ ");
			for (;;) {
				if (!jobs_cbor_next(r, &c))
					return false;
				if (c.type == JOBS_CBOR_BREAK)
					break;
				if (c.type != it->type || c.is_indefinite)
					return false;
				if (!first)
					buf_puts(out, ", ");
				first = false;
				diag_body(r, &c, out);
			}
			return buf_puts(out, ")");
		}
		if (it->type == JOBS_CBOR_BYTES)
			return buf_printf(out, "h'%s'", tohex(it->data, (size_t)it->value));
		buf_putc(out, '"');
		for (uint64_t i = 0; i < it->value; i++) {
			if (it->data[i] == '"' || it->data[i] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, (char)it->data[i]);
		}
		return buf_putc(out, '"');
	case JOBS_CBOR_ARRAY:
	case JOBS_CBOR_MAP: {
		bool is_map = it->type == JOBS_CBOR_MAP;
		uint64_t n = it->value * (is_map ? 2 : 1);

		buf_puts(out, is_map ? "{" : "[");
		if (it->is_indefinite)
			buf_puts(out, "_ ");
		for (uint64_t i = 0; it->is_indefinite || i < n; i++) {
			size_t mark = out->len;

			if (i > 0)
				buf_puts(out, is_map && i % 2 ? ": " : ", ");
			if (!diag_item(r, out, &brk))
				return false;
			if (brk) {
				if (!it->is_indefinite || (is_map && i % 2))
					return false;
				out->len = mark;
				out->data[mark] = '\0';
				break;
			}
		}
		return buf_puts(out, is_map ? "}" : "]");
	}
	case JOBS_CBOR_TAG:
		buf_printf(out, "%llu(", (unsigned long long)it->value);
		if (!diag_item(r, out, &brk) || brk)
			return false;
		return buf_puts(out, ")");
	case JOBS_CBOR_SIMPLE:
		switch (it->value) {
		case 20:
			return buf_puts(out, "false");
		case 21:
			return buf_puts(out, "true");
		case 22:
			return buf_puts(out, "null");
		case 23:
			return buf_puts(out, "undefined");
		default:
			return buf_printf(out, "simple(%llu)", (unsigned long long)it->value);
		}
	case JOBS_CBOR_FLOAT:
		return buf_printf(out, "float(%llx)", (unsigned long long)it->value);
	case JOBS_CBOR_BREAK:
		return false;
	}
	return false;
}

static bool diag_item(struct jobs_cbor_reader *r, struct buf *out, bool *is_break)
{
	struct jobs_cbor_item it;

	if (!jobs_cbor_next(r, &it))
		return false;
	*is_break = it.type == JOBS_CBOR_BREAK;
	return *is_break || diag_body(r, &it, out);
}

struct dec_vec {
	const char *hex;
	const char *diag;
};

static const struct dec_vec decode_vectors[] = {
	{ "00", "0" },
	{ "1818", "24" },
	{ "1bffffffffffffffff", "18446744073709551615" },
	{ "3bffffffffffffffff", "-18446744073709551616" },
	{ "20", "-1" },
	{ "3903e7", "-1000" },
	{ "c249010000000000000000", "2(h'010000000000000000')" },
	{ "f90000", "float(0)" },
	{ "f93c00", "float(3c00)" },
	{ "fa47c35000", "float(47c35000)" },
	{ "fb3ff199999999999a", "float(3ff199999999999a)" },
	{ "f97c00", "float(7c00)" },
	{ "f4", "false" },
	{ "f5", "true" },
	{ "f6", "null" },
	{ "f7", "undefined" },
	{ "f0", "simple(16)" },
	{ "f8ff", "simple(255)" },
	{ "c074323031332d30332d32315432303a30343a30305a", "0(\"2013-03-21T20:04:00Z\")" },
	{ "c11a514b67b0", "1(1363896240)" },
	{ "d82076687474703a2f2f7777772e6578616d706c652e636f6d", "32(\"http://www.example.com\")" },
	{ "40", "h''" },
	{ "4401020304", "h'01020304'" },
	{ "60", "\"\"" },
	{ "6449455446", "\"IETF\"" },
	{ "62225c", "\"\\\"\\\\\"" },
	{ "62c3bc", "\"\xc3\xbc\"" },
	{ "64f0908591", "\"\xf0\x90\x85\x91\"" },
	{ "80", "[]" },
	{ "8301820203820405", "[1, [2, 3], [4, 5]]" },
	{ "a201020304", "{1: 2, 3: 4}" },
	{ "a26161016162820203", "{\"a\": 1, \"b\": [2, 3]}" },
	{ "826161a161626163", "[\"a\", {\"b\": \"c\"}]" },
	{ "5f42010243030405ff", "(_ h'0102', h'030405')" },
	{ "7f657374726561646d696e67ff", "(_ \"strea\", \"ming\")" },
	{ "9fff", "[_ ]" },
	{ "9f018202039f0405ffff", "[_ 1, [2, 3], [_ 4, 5]]" },
	{ "9f01820203820405ff", "[_ 1, [2, 3], [4, 5]]" },
	{ "83018202039f0405ff", "[1, [2, 3], [_ 4, 5]]" },
	{ "83019f0203ff820405", "[1, [_ 2, 3], [4, 5]]" },
	{ "bf61610161629f0203ffff", "{_ \"a\": 1, \"b\": [_ 2, 3]}" },
	{ "826161bf61626163ff", "[\"a\", {_ \"b\": \"c\"}]" },
	{ "bf6346756ef563416d7421ff", "{_ \"Fun\": true, \"Amt\": -2}" },
	/* non-canonical (longer than needed) heads are well-formed */
	{ "1b0000000000000001", "1" },
	{ "5800", "h''" },
};

START_TEST(cbor_decodes_rfc8949_appendix_a)
{
	const struct dec_vec *v = &decode_vectors[_i];
	uint8_t in[128];
	size_t n = unhex(v->hex, in, sizeof(in));
	struct jobs_cbor_reader r;
	struct buf out;
	bool brk;

	buf_init(&out);
	jobs_cbor_reader_init(&r, in, n);
	ck_assert_msg(diag_item(&r, &out, &brk) && !brk, "%s did not decode", v->hex);
	ck_assert_msg(jobs_cbor_at_end(&r), "%s: trailing bytes", v->hex);
	ck_assert_str_eq(out.data, v->diag);
	/* and the generic skipper consumes exactly the item */
	jobs_cbor_reader_init(&r, in, n);
	ck_assert_msg(jobs_cbor_skip(&r) && jobs_cbor_at_end(&r), "%s: skip", v->hex);
	buf_cleanup(&out);
}
END_TEST

/* RFC 8949 Appendix F: not well-formed. */
static const char *const malformed[] = {
	/* end of input in a head or in content */
	"18",
	"19",
	"1a",
	"1b",
	"1901",
	"1a0102",
	"1b01020304050607",
	"38",
	"58",
	"78",
	"98",
	"9a01ff00",
	"b8",
	"d8",
	"f8",
	"f900",
	"fa0000",
	"fb000000",
	"41",
	"61",
	"5affffffff00",
	"5bffffffffffffffff010203",
	"7affffffff00",
	"7b7fffffffffffffff010203",
	"81",
	"818181818181818181",
	"8200",
	"a1",
	"a20102",
	"a100",
	"a2000000",
	"c0",
	"5f4100",
	"7f6100",
	"9f",
	"9f0102",
	"bf",
	"bf01020102",
	"819f",
	"9f8000",
	"9f9f9f9f9fffffffff",
	"9f819f819f9fffffff",
	/* reserved additional information */
	"1c",
	"1d",
	"1e",
	"3c",
	"3d",
	"3e",
	"5c",
	"5d",
	"5e",
	"7c",
	"7d",
	"7e",
	"9c",
	"9d",
	"9e",
	"bc",
	"bd",
	"be",
	"dc",
	"dd",
	"de",
	"fc",
	"fd",
	"fe",
	/* indefinite length on majors 0, 1, 6; two-byte simple values below 32 */
	"1f",
	"3f",
	"df",
	"f800",
	"f818",
	"f81f",
	/* chunks of another type inside indefinite strings */
	"5f00ff",
	"5f21ff",
	"5f6100ff",
	"5f80ff",
	"5fa0ff",
	"5fc000ff",
	"5fe0ff",
	"7f4100ff",
	"7f5f4100ffff",
	/* break in the wrong place */
	"ff",
	"81ff",
	"8200ff",
	"a1ff",
	"a1ff00",
	"a100ff",
	"a20000ff",
	"9f81ff",
	"9f829f819f9fffffffff",
	/* indefinite map with an odd number of items */
	"bf00ff",
	"bf000000ff",
};

START_TEST(cbor_rejects_rfc8949_appendix_f)
{
	uint8_t in[64];
	size_t n = unhex(malformed[_i], in, sizeof(in));
	struct jobs_cbor_reader r;

	jobs_cbor_reader_init(&r, in, n);
	ck_assert_msg(!jobs_cbor_skip(&r), "%s accepted", malformed[_i]);
}
END_TEST

START_TEST(cbor_nesting_is_bounded_and_strings_concatenate)
{
	uint8_t in[64];
	struct jobs_cbor_reader r;
	struct jobs_cbor_item it;
	struct buf s;

	memset(in, 0x81, sizeof(in));
	in[JOBS_CBOR_MAX_DEPTH - 1] = 0x00; /* 15 arrays around a 0: fine */
	jobs_cbor_reader_init(&r, in, JOBS_CBOR_MAX_DEPTH);
	ck_assert(jobs_cbor_skip(&r) && jobs_cbor_at_end(&r));
	memset(in, 0x81, sizeof(in));
	in[40] = 0x00; /* 40 arrays: refused, never recursed into */
	jobs_cbor_reader_init(&r, in, 41);
	ck_assert(!jobs_cbor_skip(&r));
	/* read_string joins indefinite chunks and respects the buffer's max */
	{
		size_t n = unhex("7f657374726561646d696e67ff", in, sizeof(in));

		buf_init(&s);
		jobs_cbor_reader_init(&r, in, n);
		ck_assert(jobs_cbor_next(&r, &it));
		ck_assert(jobs_cbor_read_string(&r, &it, &s));
		ck_assert_int_eq(s.len, 9);
		ck_assert(memcmp(s.data, "streaming", 9) == 0);
		buf_cleanup(&s);
		buf_init(&s);
		s.max = 5;
		jobs_cbor_reader_init(&r, in, n);
		ck_assert(jobs_cbor_next(&r, &it));
		ck_assert(!jobs_cbor_read_string(&r, &it, &s));
		buf_cleanup(&s);
	}
}
END_TEST

/* ---- spec 9.3: GetStream requests --------------------------------------------------------- */

/* FreeRTOS: {c:"rdy", f:0, l:4096, o:0, b:h'ff', n:1} */
#define FREERTOS_GET "a6 6163 63726479 6166 00 616c 191000 616f 00 6162 41ff 616e 01"

START_TEST(streams_parse_freertos_cbor_request_spec_9_3)
{
	uint8_t in[128];
	size_t n = unhex(FREERTOS_GET, in, sizeof(in));
	struct jobs_streams_request r;

	ck_assert_int_eq(jobs_streams_parse(JOBS_TOPICS_ENC_CBOR, false, in, n, &r, NULL, 0),
			 JOBS_STREAMS_OK);
	ck_assert(r.has_client_token);
	ck_assert_str_eq(r.client_token, "rdy");
	ck_assert_int_eq(r.file_id, 0);
	ck_assert_int_eq(r.block_size, 4096);
	ck_assert_int_eq(r.offset, 0);
	ck_assert_int_eq(r.max_blocks, 1);
	ck_assert_int_eq(r.bitmap_len, 1);
	ck_assert_int_eq(r.bitmap[0], 0xff);
	ck_assert(!r.has_stream_version);
	jobs_streams_request_cleanup(&r);
	jobs_streams_request_cleanup(NULL);
}
END_TEST

START_TEST(streams_parse_json_request_with_hex_bitmap_spec_9_3)
{
	const char *p =
		"{\"c\":\"rdy\",\"s\":3,\"f\":7,\"l\":1024,\"o\":8,\"n\":4,\"b\":\"0x130080\","
		"\"x\":[1,{}]}";
	struct jobs_streams_request r;

	ck_assert_int_eq(jobs_streams_parse(JOBS_TOPICS_ENC_JSON, false, p, strlen(p), &r, NULL, 0),
			 JOBS_STREAMS_OK);
	ck_assert(r.has_stream_version);
	ck_assert_int_eq(r.stream_version, 3);
	ck_assert_int_eq(r.file_id, 7);
	ck_assert_int_eq(r.offset, 8);
	ck_assert_int_eq(r.bitmap_len, 3);
	ck_assert(memcmp(r.bitmap, "\x13\x00\x80", 3) == 0);
	jobs_streams_request_cleanup(&r);
}
END_TEST

struct sreq_case {
	enum jobs_topics_enc enc;
	const char *payload; /* JSON text, or CBOR as hex */
	enum jobs_streams_err err;
	const char *token; /* echoed token expected after the call, or NULL */
};

#define SJ JOBS_TOPICS_ENC_JSON
#define SC JOBS_TOPICS_ENC_CBOR
#define T65 "\"ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt\""

static const struct sreq_case sreq_cases[] = {
	{ SJ, "{\"f\":0,\"l\":256}", JOBS_STREAMS_OK, NULL },
	{ SJ, "{\"f\":255,\"l\":131072,\"o\":98304,\"n\":98304}", JOBS_STREAMS_OK, NULL },
	{ SJ, "{\"f\":0,\"l\":255,\"c\":\"k\"}", JOBS_STREAMS_BLOCK_SIZE_OUT_OF_BOUNDS, "k" },
	{ SJ, "{\"f\":0,\"l\":131073}", JOBS_STREAMS_BLOCK_SIZE_OUT_OF_BOUNDS, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"o\":98305}", JOBS_STREAMS_OFFSET_OUT_OF_BOUNDS, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"n\":98305}", JOBS_STREAMS_BLOCK_COUNT_LIMIT_EXCEEDED, NULL },
	{ SJ, "{\"f\":256,\"l\":4096}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"l\":4096,\"c\":\"k\"}", JOBS_STREAMS_INVALID_REQUEST, "k" },
	{ SJ, "{\"f\":0}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":-1,\"l\":4096}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":\"0\",\"l\":4096}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"b\":\"0x123\"}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"b\":\"zz\"}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"b\":\"\"}", JOBS_STREAMS_OK, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"c\":" T65 "}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":0,\"l\":4096,\"c\":5}", JOBS_STREAMS_INVALID_REQUEST, NULL },
	{ SJ, "{\"f\":0,\"l\":4096.0}", JOBS_STREAMS_OK, NULL },
	{ SJ, "", JOBS_STREAMS_INVALID_JSON, NULL },
	{ SJ, "[]", JOBS_STREAMS_INVALID_JSON, NULL },
	{ SJ, "{\"f\":0,\"f\":1,\"l\":4096}", JOBS_STREAMS_INVALID_JSON, NULL },
	/* CBOR: {"f":0,"l":256} */
	{ SC, "a2 6166 00 616c 190100", JOBS_STREAMS_OK, NULL },
	/* unknown keys with any value are skipped: {"x":[_ {"y":1.5}], "f":0, "l":256} */
	{ SC, "a3 6178 9fa16179f93e00ff 6166 00 616c 190100", JOBS_STREAMS_OK, NULL },
	/* indefinite map and indefinite text key */
	{ SC, "bf 7f6166ff 00 616c 190100 ff", JOBS_STREAMS_OK, NULL },
	/* negative f */
	{ SC, "a2 6166 20 616c 190100", JOBS_STREAMS_INVALID_REQUEST, NULL },
	/* c as a byte string */
	{ SC, "a3 6163 4161 6166 00 616c 190100", JOBS_STREAMS_INVALID_REQUEST, NULL },
	/* b as a text string, token kept */
	{ SC, "a4 6163 616b 6166 00 616c 190100 6162 6161", JOBS_STREAMS_INVALID_REQUEST, "k" },
	/* not a map; integer keys; duplicate key; trailing byte; truncated */
	{ SC, "8100", JOBS_STREAMS_INVALID_CBOR, NULL },
	{ SC, "a2 01 00 02 00", JOBS_STREAMS_INVALID_CBOR, NULL },
	{ SC, "a3 6166 00 6166 01 616c 190100", JOBS_STREAMS_INVALID_CBOR, NULL },
	{ SC, "a2 6166 00 616c 190100 00", JOBS_STREAMS_INVALID_CBOR, NULL },
	{ SC, "a2 6166 00 616c 19", JOBS_STREAMS_INVALID_CBOR, NULL },
	{ SC, "", JOBS_STREAMS_INVALID_CBOR, NULL },
	/* l beyond 32 bits */
	{ SC, "a2 6166 00 616c 1b0000000100000000", JOBS_STREAMS_BLOCK_SIZE_OUT_OF_BOUNDS, NULL },
};

START_TEST(streams_request_errors_spec_9_3_and_11)
{
	const struct sreq_case *c = &sreq_cases[_i];
	uint8_t bin[256];
	const void *p = c->payload;
	size_t n = strlen(c->payload);
	struct jobs_streams_request r;
	char msg[128] = "";
	enum jobs_streams_err err;

	if (c->enc == SC) {
		n = unhex(c->payload, bin, sizeof(bin));
		p = bin;
	}
	err = jobs_streams_parse(c->enc, false, p, n, &r, msg, sizeof(msg));
	ck_assert_msg(err == c->err, "%s: %s (%s)", c->payload, jobs_streams_err_code(err), msg);
	if (err != JOBS_STREAMS_OK)
		ck_assert(msg[0] != '\0');
	if (c->token) {
		ck_assert(r.has_client_token);
		ck_assert_str_eq(r.client_token, c->token);
	} else if (err != JOBS_STREAMS_OK) {
		ck_assert(!r.has_client_token);
	}
	if (err != JOBS_STREAMS_OK)
		ck_assert_ptr_null(r.bitmap);
	jobs_streams_request_cleanup(&r);
}
END_TEST

START_TEST(streams_bitmap_size_limit_spec_11)
{
	struct buf b;
	struct jobs_streams_request r;
	char *big;

	buf_init(&b);
	jobs_cbor_put_map(&b, 3);
	jobs_cbor_put_text(&b, "f", 1);
	jobs_cbor_put_uint(&b, 0);
	jobs_cbor_put_text(&b, "l", 1);
	jobs_cbor_put_uint(&b, 256);
	jobs_cbor_put_text(&b, "b", 1);
	big = calloc(1, JOBS_STREAMS_BITMAP_MAX + 1);
	ck_assert_ptr_nonnull(big);
	jobs_cbor_put_bytes(&b, big, JOBS_STREAMS_BITMAP_MAX);
	ck_assert_int_eq(jobs_streams_parse(SC, false, b.data, b.len, &r, NULL, 0),
			 JOBS_STREAMS_OK);
	ck_assert_int_eq(r.bitmap_len, 12287);
	jobs_streams_request_cleanup(&r);
	b.len = 0;
	jobs_cbor_put_map(&b, 3);
	jobs_cbor_put_text(&b, "f", 1);
	jobs_cbor_put_uint(&b, 0);
	jobs_cbor_put_text(&b, "l", 1);
	jobs_cbor_put_uint(&b, 256);
	jobs_cbor_put_text(&b, "b", 1);
	jobs_cbor_put_bytes(&b, big, JOBS_STREAMS_BITMAP_MAX + 1);
	ck_assert_int_eq(jobs_streams_parse(SC, false, b.data, b.len, &r, NULL, 0),
			 JOBS_STREAMS_BLOCK_BITMAP_LIMIT_EXCEEDED);
	jobs_streams_request_cleanup(&r);
	free(big);
	buf_cleanup(&b);
}
END_TEST

START_TEST(streams_describe_reads_only_token_spec_9_3)
{
	struct jobs_streams_request r;

	ck_assert_int_eq(jobs_streams_parse(SJ, true, "{\"c\":\"d1\"}", 10, &r, NULL, 0),
			 JOBS_STREAMS_OK);
	ck_assert_str_eq(r.client_token, "d1");
	jobs_streams_request_cleanup(&r);
	ck_assert_int_eq(jobs_streams_parse(SC, true, "\xa0", 1, &r, NULL, 0), JOBS_STREAMS_OK);
	ck_assert(!r.has_client_token);
	jobs_streams_request_cleanup(&r);
	ck_assert_int_eq(jobs_streams_parse(JOBS_TOPICS_ENC_NONE, true, "{}", 2, &r, NULL, 0),
			 JOBS_STREAMS_INVALID_TOPIC);
	jobs_streams_request_cleanup(&r);
}
END_TEST

/* ---- spec 9.3: which blocks to send ------------------------------------------------------- */

static struct jobs_streams_request sreq(uint32_t l, uint32_t o, uint32_t n, const char *bitmap_hex)
{
	struct jobs_streams_request r;
	uint8_t bits[64];

	memset(&r, 0, sizeof(r));
	r.block_size = l;
	r.offset = o;
	r.max_blocks = n;
	if (bitmap_hex) {
		r.bitmap_len = unhex(bitmap_hex, bits, sizeof(bits));
		r.bitmap = malloc(r.bitmap_len + 1);
		memcpy(r.bitmap, bits, r.bitmap_len);
	}
	return r;
}

struct sel_case {
	const char *name;
	uint32_t l, o, n;
	const char *bitmap;
	uint64_t size;
	enum jobs_streams_err err;
	const char *blocks; /* comma list */
};

static const struct sel_case sel_cases[] = {
	{ "no bitmap: n blocks from o", 4096, 1, 1, NULL, 10000, JOBS_STREAMS_OK, "1" },
	{ "no bitmap, no n: to the end", 4096, 0, 0, NULL, 10000, JOBS_STREAMS_OK, "0,1,2" },
	{ "LSB first within each byte", 4096, 0, 0, "05", 40000, JOBS_STREAMS_OK, "0,2" },
	{ "bytes in order from o", 256, 8, 0, "1300 80", 1 << 20, JOBS_STREAMS_OK, "8,9,12,31" },
	{ "bits past the last block are ignored", 4096, 0, 0, "ff", 10000, JOBS_STREAMS_OK,
	  "0,1,2" },
	{ "empty bitmap: nothing wanted", 4096, 0, 0, "", 10000, JOBS_STREAMS_OK, "" },
	{ "n limits a bitmap", 4096, 0, 2, "ff", 40000, JOBS_STREAMS_OK, "0,1" },
	{ "FreeRTOS asks one block at a time", 4096, 0, 1, "fe ff", 65536, JOBS_STREAMS_OK, "1" },
	{ "128 KiB per request: 32 blocks of 4 KiB", 4096, 0, 0, NULL, 1 << 20, JOBS_STREAMS_OK,
	  "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31" },
	{ "one 128 KiB block", 131072, 0, 5, NULL, 1 << 20, JOBS_STREAMS_OK, "0" },
	{ "offset at the end of the file", 4096, 3, 0, NULL, 10000,
	  JOBS_STREAMS_OFFSET_OUT_OF_BOUNDS, "" },
	{ "exact multiple: last block index", 4096, 1, 0, NULL, 8192, JOBS_STREAMS_OK, "1" },
	{ "empty file", 4096, 0, 0, NULL, 0, JOBS_STREAMS_RESOURCE_NOT_FOUND, "" },
};

START_TEST(streams_block_selection_spec_9_3)
{
	const struct sel_case *c = &sel_cases[_i];
	struct jobs_streams_request r = sreq(c->l, c->o, c->n, c->bitmap);
	uint32_t blocks[JOBS_STREAMS_BLOCKS_MAX];
	char got[512] = "";
	size_t n = 0;

	ck_assert_int_eq(jobs_streams_select(&r, c->size, 1, blocks, JOBS_STREAMS_BLOCKS_MAX, &n),
			 c->err);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", i ? "," : "",
			 blocks[i]);
	ck_assert_msg(strcmp(got, c->blocks) == 0, "%s: got %s want %s", c->name, got, c->blocks);
	jobs_streams_request_cleanup(&r);
}
END_TEST

START_TEST(streams_select_version_and_caps)
{
	struct jobs_streams_request r = sreq(256, 0, 0, NULL);
	uint32_t blocks[JOBS_STREAMS_BLOCKS_MAX];
	size_t n;

	ck_assert_int_eq(jobs_streams_select(&r, 1 << 20, 1, blocks, JOBS_STREAMS_BLOCKS_MAX, &n),
			 JOBS_STREAMS_OK);
	ck_assert_int_eq(n, 512); /* 128 KiB of 256-byte blocks */
	ck_assert_int_eq(jobs_streams_select(&r, 1 << 20, 1, blocks, 10, &n), JOBS_STREAMS_OK);
	ck_assert_int_eq(n, 10);
	r.has_stream_version = true;
	r.stream_version = 2;
	ck_assert_int_eq(jobs_streams_select(&r, 1 << 20, 1, blocks, 10, &n),
			 JOBS_STREAMS_VERSION_MISMATCH);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(jobs_streams_select(&r, 1 << 20, 2, blocks, 10, &n), JOBS_STREAMS_OK);
}
END_TEST

START_TEST(streams_block_range_last_block_short)
{
	uint64_t start;
	size_t len;

	jobs_streams_block_range(4096, 10000, 0, &start, &len);
	ck_assert_int_eq(start, 0);
	ck_assert_int_eq(len, 4096);
	jobs_streams_block_range(4096, 10000, 2, &start, &len);
	ck_assert_int_eq(start, 8192);
	ck_assert_int_eq(len, 1808);
	jobs_streams_block_range(4096, 10000, 3, &start, &len);
	ck_assert_int_eq(len, 0);
	jobs_streams_block_range(4096, UINT64_C(1) << 33, 100000, &start, &len);
	ck_assert_int_eq(start, UINT64_C(409600000));
}
END_TEST

/* ---- spec 9.3: messages ------------------------------------------------------------------- */

START_TEST(streams_data_message_cbor_and_json_spec_9_3)
{
	struct buf b;
	struct jobs_cbor_reader r;
	struct buf d;
	bool brk;

	buf_init(&b);
	ck_assert(jobs_streams_encode_data(SC, "rdy", 0, 2, "\x01\x02\x03", 3, &b));
	ck_assert_str_eq(tohex(b.data, b.len), "a5616363726479616600616c03616902617043010203");
	buf_init(&d);
	jobs_cbor_reader_init(&r, b.data, b.len);
	ck_assert(diag_item(&r, &d, &brk) && jobs_cbor_at_end(&r));
	ck_assert_str_eq(d.data,
			 "{\"c\": \"rdy\", \"f\": 0, \"l\": 3, \"i\": 2, \"p\": h'010203'}");
	buf_cleanup(&d);
	b.len = 0;
	ck_assert(jobs_streams_encode_data(SC, NULL, 255, 70000, "", 0, &b));
	ck_assert_str_eq(tohex(b.data, b.len), "a4616618ff616c0061691a00011170617040");
	b.len = 0;
	ck_assert(jobs_streams_encode_data(SJ, "rdy", 0, 2, "\x01\x02\x03", 3, &b));
	assert_json_text(b.data, b.len, "{\"c\":\"rdy\",\"f\":0,\"l\":3,\"i\":2,\"p\":\"AQID\"}");
	b.len = 0;
	ck_assert(jobs_streams_encode_data(SJ, NULL, 1, 0, "abcd", 4, &b));
	assert_json_text(b.data, b.len, "{\"f\":1,\"l\":4,\"i\":0,\"p\":\"YWJjZA==\"}");
	ck_assert(!jobs_streams_encode_data(JOBS_TOPICS_ENC_NONE, NULL, 1, 0, "a", 1, &b));
	buf_cleanup(&b);
}
END_TEST

START_TEST(streams_rejected_and_description_spec_9_3)
{
	struct buf b, d;
	struct jobs_cbor_reader r;
	const struct jobs_streams_file files[] = { { 0, 448952 }, { 1, 10 } };
	bool brk;

	buf_init(&b);
	buf_init(&d);
	ck_assert(jobs_streams_encode_rejected(SJ, JOBS_STREAMS_BLOCK_SIZE_OUT_OF_BOUNDS,
					       "block size l must be 256..131072", "rdy", &b));
	assert_json_text(b.data, b.len,
			 "{\"o\":\"BlockSizeOutOfBounds\",\"m\":\"block size l must be "
			 "256..131072\",\"c\":\"rdy\"}");
	b.len = 0;
	ck_assert(
		jobs_streams_encode_rejected(SC, JOBS_STREAMS_RESOURCE_NOT_FOUND, NULL, NULL, &b));
	jobs_cbor_reader_init(&r, b.data, b.len);
	ck_assert(diag_item(&r, &d, &brk) && jobs_cbor_at_end(&r));
	ck_assert_str_eq(d.data, "{\"o\": \"ResourceNotFound\", \"m\": \"ResourceNotFound\"}");
	b.len = 0;
	d.len = 0;
	ck_assert(jobs_streams_encode_description(SJ, "t", 1, "fw 1.4", files, 2, &b));
	assert_json_text(b.data, b.len,
			 "{\"c\":\"t\",\"s\":1,\"d\":\"fw 1.4\",\"r\":[{\"f\":0,\"z\":448952},"
			 "{\"f\":1,\"z\":10}]}");
	b.len = 0;
	ck_assert(jobs_streams_encode_description(SC, NULL, 1, NULL, files, 1, &b));
	jobs_cbor_reader_init(&r, b.data, b.len);
	ck_assert(diag_item(&r, &d, &brk) && jobs_cbor_at_end(&r));
	ck_assert_str_eq(d.data, "{\"s\": 1, \"r\": [{\"f\": 0, \"z\": 448952}]}");
	buf_cleanup(&b);
	buf_cleanup(&d);
}
END_TEST

START_TEST(streams_error_codes_spec_9_3)
{
	ck_assert_str_eq(jobs_streams_err_code(JOBS_STREAMS_INVALID_CBOR), "InvalidCbor");
	ck_assert_str_eq(jobs_streams_err_code(JOBS_STREAMS_BLOCK_BITMAP_LIMIT_EXCEEDED),
			 "BlockBitmapLimitExceeded");
	ck_assert_str_eq(jobs_streams_err_code(JOBS_STREAMS_ETAG_MISMATCH), "ETagMismatch");
	ck_assert_str_eq(jobs_streams_err_code(JOBS_STREAMS_INTERNAL), "InternalError");
	ck_assert_str_eq(jobs_streams_err_code((enum jobs_streams_err)99), "InternalError");
	ck_assert_str_eq(jobs_streams_err_code(JOBS_STREAMS_OK), "");
}
END_TEST

/* ---- spec 9.1: afr_ota documents ---------------------------------------------------------- */

#define STREAM44 "AFR_OTA-8d0f6b0e-4b7a-4e38-9a51-2c3f0e6d7a10"
#define SIG \
	"MEUCIQC0v2mAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

START_TEST(ota_document_spec_9_1_example)
{
	char *url = jobs_ota_placeholder("https://s3.amazonaws.com/fw-bucket/pump-1.4.bin");
	struct jobs_ota_file f = { 0 };
	struct jobs_ota_release r = { 0 };
	json_t *doc, *want, *urls;
	char msg[128], *text;

	ck_assert_str_eq(
		url, "${aws:iot:s3-presigned-url:https://s3.amazonaws.com/fw-bucket/pump-1.4.bin}");
	f.filepath = "/device/firmware.bin";
	f.filesize = 448952;
	f.fileid = 0;
	f.certfile = "/device/ota_signer.crt";
	f.has_file_type = true;
	f.file_type = 0;
	f.update_data_url = url;
	f.signature = "MEUCIQC0v2mvCVs=";
	r.use_mqtt = r.use_http = true;
	r.stream_name = STREAM44;
	r.files = &f;
	r.file_count = 1;
	ck_assert_int_eq(jobs_ota_document_new(&r, &doc, msg, sizeof(msg)), JOBS_OK);
	want = J("{\"afr_ota\":{\"protocols\":[\"MQTT\",\"HTTP\"],\"streamname\":\"" STREAM44 "\","
		 "\"files\":[{\"filepath\":\"/device/firmware.bin\",\"filesize\":448952,"
		 "\"fileid\":0,\"certfile\":\"/device/ota_signer.crt\",\"fileType\":0,"
		 "\"update_data_url\":\"${aws:iot:s3-presigned-url:https://s3.amazonaws.com/"
		 "fw-bucket/pump-1.4.bin}\",\"auth_scheme\":\"aws.s3.presigned\","
		 "\"sig-sha256-ecdsa\":\"MEUCIQC0v2mvCVs=\"}]}}");
	ck_assert(json_equal(doc, want));
	/* what CreateJob stores: a valid document whose placeholder resolves at delivery */
	text = json_dumps(doc, JSON_COMPACT);
	ck_assert_int_eq(jobs_document_parse(text, strlen(text), NULL, NULL, 0), JOBS_OK);
	urls = jobs_document_placeholders(doc);
	ck_assert_int_eq(json_array_size(urls), 1);
	free(text);
	json_decref(urls);
	json_decref(want);
	json_decref(doc);
	free(url);
}
END_TEST

START_TEST(ota_document_single_protocol_and_options)
{
	struct jobs_ota_file f = { 0 };
	struct jobs_ota_release r = { 0 };
	json_t *doc;

	f.filesize = 1;
	f.fileid = 255;
	f.sig_key = "sig-sha256-rsa";
	f.signature = "AAEC";
	f.has_attr = true;
	f.attr = 3;
	r.use_mqtt = true;
	r.stream_name = "s";
	r.files = &f;
	r.file_count = 1;
	ck_assert_int_eq(jobs_ota_document_new(&r, &doc, NULL, 0), JOBS_OK);
	{
		json_t *want = J("{\"afr_ota\":{\"protocols\":[\"MQTT\"],\"streamname\":\"s\","
				 "\"files\":[{\"filesize\":1,\"fileid\":255,\"attr\":3,"
				 "\"sig-sha256-rsa\":\"AAEC\"}]}}");

		ck_assert(json_equal(doc, want));
		json_decref(want);
	}
	json_decref(doc);
	r.use_mqtt = false;
	r.use_http = true;
	r.stream_name = NULL;
	f.update_data_url = "https://files.example/fw.bin";
	f.auth_scheme = "custom";
	ck_assert_int_eq(jobs_ota_document_new(&r, &doc, NULL, 0), JOBS_OK);
	{
		json_t *want =
			J("{\"afr_ota\":{\"protocols\":[\"HTTP\"],\"files\":[{\"filesize\":1,"
			  "\"fileid\":255,\"attr\":3,\"update_data_url\":"
			  "\"https://files.example/fw.bin\",\"auth_scheme\":\"custom\","
			  "\"sig-sha256-rsa\":\"AAEC\"}]}}");

		ck_assert(json_equal(doc, want));
		json_decref(want);
	}
	json_decref(doc);
}
END_TEST

START_TEST(ota_document_rejects_spec_9_1_and_9_7)
{
	struct jobs_ota_file f;
	struct jobs_ota_release r;
	json_t *doc;
	char msg[160];
	char sig[600];

	/* a signature of 385 bytes (base64 of 385 zero bytes: 128 x "AAAA" + "AQ==") */
	memset(sig, 'A', 516);
	memcpy(sig + 512, "AA==", 5);

#define RESET()                              \
	do {                                 \
		memset(&f, 0, sizeof(f));    \
		memset(&r, 0, sizeof(r));    \
		f.filesize = 100;            \
		r.use_mqtt = true;           \
		r.stream_name = "AFR_OTA-1"; \
		r.files = &f;                \
		r.file_count = 1;            \
	} while (0)
#define BAD()                                                                       \
	do {                                                                        \
		ck_assert_int_eq(jobs_ota_document_new(&r, &doc, msg, sizeof(msg)), \
				 JOBS_ERR_INVALID_REQUEST);                         \
		ck_assert_ptr_null(doc);                                            \
		ck_assert(msg[0] != '\0');                                          \
	} while (0)

	RESET();
	r.use_mqtt = false;
	BAD();
	RESET();
	r.stream_name = STREAM44 "x"; /* 45 characters do not fit FreeRTOS (spec 9.7) */
	BAD();
	RESET();
	r.stream_name = NULL;
	BAD();
	RESET();
	r.stream_name = "a.b";
	BAD();
	RESET();
	f.filesize = 0;
	BAD();
	RESET();
	f.fileid = 256;
	BAD();
	RESET();
	f.fileid = -1;
	BAD();
	RESET();
	r.use_http = true; /* HTTP without update_data_url */
	BAD();
	RESET();
	f.signature = "not base64!";
	BAD();
	RESET();
	f.signature = sig;
	BAD();
	RESET();
	f.filepath = "";
	BAD();
	RESET();
	f.certfile = "\xff";
	BAD();
	RESET();
	r.file_count = 0;
	BAD();
	RESET();
	ck_assert_int_eq(jobs_ota_document_new(&r, &doc, msg, sizeof(msg)), JOBS_OK);
	json_decref(doc);
	ck_assert_ptr_null(jobs_ota_placeholder("a}b"));
	ck_assert_ptr_null(jobs_ota_placeholder(""));
	ck_assert_ptr_null(jobs_ota_placeholder(NULL));
#undef RESET
#undef BAD
}
END_TEST

START_TEST(ota_bellwether_object_for_the_agent)
{
	json_t *hw = json_pack("[s,s]", "esp32", "esp32-s3"), *doc = json_object(), *bw;
	struct jobs_ota_bellwether b = {
		.release_id = "7",
		.version = "1.4.0",
		.security_version = 3,
		.min_version = NULL,
		.hardware_types = hw,
		.sha256 = "c444000000000000000000000000000000000000000000000000000000000e0f",
		.revert = true,
		.manifest = "{\"format\":\"bellwether-manifest/1\"}",
	};
	char msg[200];

	ck_assert_int_eq(jobs_ota_bellwether_add(doc, &b, msg, sizeof(msg)), JOBS_OK);
	bw = json_object_get(doc, "bellwether");
	ck_assert_str_eq(json_string_value(json_object_get(bw, "release_id")), "7");
	ck_assert_str_eq(json_string_value(json_object_get(bw, "version")), "1.4.0");
	ck_assert_int_eq(json_integer_value(json_object_get(bw, "security_version")), 3);
	ck_assert(json_is_true(json_object_get(bw, "revert")));
	ck_assert_ptr_null(json_object_get(bw, "min_version")); /* NULL: omitted */
	ck_assert_int_eq(json_array_size(json_object_get(bw, "hardware_types")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(bw, "manifest")), b.manifest);
	ck_assert_str_eq(json_string_value(json_object_get(bw, "sha256")), b.sha256);
	/* invalid inputs are refused and leave no object */
	json_object_del(doc, "bellwether");
	b.sha256 = "C444";
	ck_assert_int_eq(jobs_ota_bellwether_add(doc, &b, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	b.sha256 = "c444000000000000000000000000000000000000000000000000000000000e0f";
	b.release_id = "x7";
	ck_assert_int_eq(jobs_ota_bellwether_add(doc, &b, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	b.release_id = "7";
	json_array_append_new(hw, json_integer(1));
	ck_assert_int_eq(jobs_ota_bellwether_add(doc, &b, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	ck_assert_ptr_null(json_object_get(doc, "bellwether"));
	json_decref(hw);
	json_decref(doc);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_ota");
	TCase *cbor = tcase_create("cbor");
	TCase *str = tcase_create("streams");
	TCase *ota = tcase_create("ota");

	tcase_add_loop_test(cbor, cbor_encodes_integers_rfc8949_appendix_a, 0,
			    (int)(sizeof(ints) / sizeof(ints[0])));
	tcase_add_test(cbor, cbor_encodes_strings_containers_simple_rfc8949_appendix_a);
	tcase_add_loop_test(cbor, cbor_decodes_rfc8949_appendix_a, 0,
			    (int)(sizeof(decode_vectors) / sizeof(decode_vectors[0])));
	tcase_add_loop_test(cbor, cbor_rejects_rfc8949_appendix_f, 0,
			    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(cbor, cbor_nesting_is_bounded_and_strings_concatenate);
	suite_add_tcase(s, cbor);

	tcase_add_test(str, streams_parse_freertos_cbor_request_spec_9_3);
	tcase_add_test(str, streams_parse_json_request_with_hex_bitmap_spec_9_3);
	tcase_add_loop_test(str, streams_request_errors_spec_9_3_and_11, 0,
			    (int)(sizeof(sreq_cases) / sizeof(sreq_cases[0])));
	tcase_add_test(str, streams_bitmap_size_limit_spec_11);
	tcase_add_test(str, streams_describe_reads_only_token_spec_9_3);
	tcase_add_loop_test(str, streams_block_selection_spec_9_3, 0,
			    (int)(sizeof(sel_cases) / sizeof(sel_cases[0])));
	tcase_add_test(str, streams_select_version_and_caps);
	tcase_add_test(str, streams_block_range_last_block_short);
	tcase_add_test(str, streams_data_message_cbor_and_json_spec_9_3);
	tcase_add_test(str, streams_rejected_and_description_spec_9_3);
	tcase_add_test(str, streams_error_codes_spec_9_3);
	suite_add_tcase(s, str);

	tcase_add_test(ota, ota_document_spec_9_1_example);
	tcase_add_test(ota, ota_document_single_protocol_and_options);
	tcase_add_test(ota, ota_document_rejects_spec_9_1_and_9_7);
	tcase_add_test(ota, ota_bellwether_object_for_the_agent);
	suite_add_tcase(s, ota);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
