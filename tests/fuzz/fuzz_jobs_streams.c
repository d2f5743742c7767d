/*
 * libFuzzer target for jobs/cbor + jobs/streams: the first byte picks the encoding (even: CBOR,
 * odd: JSON) and the request kind; the rest is the GetStream / DescribeStream payload. Parses
 * it, selects blocks for a 1 MiB file, encodes data / rejected / description messages and
 * decodes the CBOR ones again. Checks: no crash or leak; selected blocks are increasing, inside
 * the file and within the 128 KiB budget; every encoded CBOR message is one well-formed item.
 *
 * Build and run (not part of make test):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iserver/src \
 *     tests/fuzz/fuzz_jobs_streams.c server/src/jobs/[a-z]*.c server/src/core/buf.c \
 *     server/src/core/strutil.c server/src/crypto/base64.c -ljansson -lm \
 *     -o /tmp/fuzz_jobs_streams
 *   /tmp/fuzz_jobs_streams -max_total_time=60 -max_len=4096
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/cbor.h"
#include "jobs/streams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

#define FILE_SIZE (UINT64_C(1) << 20)

static void check_cbor(const struct buf *b)
{
	struct jobs_cbor_reader r;

	jobs_cbor_reader_init(&r, b->data, b->len);
	CHECK(jobs_cbor_skip(&r) && jobs_cbor_at_end(&r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t block[JOBS_STREAMS_BLOCK_MAX];
	enum jobs_topics_enc enc;
	struct jobs_streams_request r;
	uint32_t blocks[JOBS_STREAMS_BLOCKS_MAX];
	struct jobs_streams_file f = { 0, FILE_SIZE };
	struct jobs_cbor_reader rd;
	enum jobs_streams_err err;
	bool describe;
	struct buf b;
	size_t n = 0;
	char msg[128];

	if (size < 1)
		return 0;
	enc = data[0] & 1 ? JOBS_TOPICS_ENC_JSON : JOBS_TOPICS_ENC_CBOR;
	describe = data[0] & 2;
	/* the raw reader alone must never misbehave either */
	jobs_cbor_reader_init(&rd, data + 1, size - 1);
	(void)jobs_cbor_skip(&rd);

	buf_init(&b);
	err = jobs_streams_parse(enc, describe, data + 1, size - 1, &r, msg, sizeof(msg));
	if (err == JOBS_STREAMS_OK && !describe) {
		err = jobs_streams_select(&r, FILE_SIZE, 1, blocks, JOBS_STREAMS_BLOCKS_MAX, &n);
		CHECK(n * r.block_size <= JOBS_STREAMS_PAYLOAD_MAX || n <= 1);
		for (size_t i = 0; i < n; i++) {
			uint64_t start;
			size_t len;

			CHECK(i == 0 || blocks[i] > blocks[i - 1]);
			jobs_streams_block_range(r.block_size, FILE_SIZE, blocks[i], &start, &len);
			CHECK(len > 0 && start + len <= FILE_SIZE);
			if (i < 2) {
				b.len = 0;
				CHECK(jobs_streams_encode_data(
					enc, r.has_client_token ? r.client_token : NULL, r.file_id,
					blocks[i], block, len, &b));
				if (enc == JOBS_TOPICS_ENC_CBOR)
					check_cbor(&b);
			}
		}
	}
	if (err == JOBS_STREAMS_OK && describe) {
		b.len = 0;
		CHECK(jobs_streams_encode_description(
			enc, r.has_client_token ? r.client_token : NULL, 1, "fw", &f, 1, &b));
		if (enc == JOBS_TOPICS_ENC_CBOR)
			check_cbor(&b);
	}
	if (err != JOBS_STREAMS_OK) {
		b.len = 0;
		CHECK(jobs_streams_encode_rejected(enc, err, msg,
						   r.has_client_token ? r.client_token : NULL, &b));
		if (enc == JOBS_TOPICS_ENC_CBOR)
			check_cbor(&b);
	}
	buf_cleanup(&b);
	jobs_streams_request_cleanup(&r);
	return 0;
}
