/* Unit tests for the agent's MQTT file-stream bookkeeping (agent/lib/agent_stream.c): block
 * ranges, request bitmaps over missing blocks, out-of-order and duplicate blocks, data and
 * rejected parsing, timeouts with bounded retries, pacing, and the resumable progress record. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_stream.h"

static struct agent_stream st;
static struct agent_stream_policy pol;

static void setup(void)
{
	memset(&st, 0, sizeof(st));
	agent_stream_policy_default(&pol);
}

static void teardown(void)
{
	agent_stream_cleanup(&st);
}

/* Parses a request and returns its fields; b as text. */
static json_t *request(uint32_t *count)
{
	size_t len;
	char *text = agent_stream_request(&st, "t1", count, &len);
	json_t *j;

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	j = json_loads(text, 0, NULL);
	free(text);
	ck_assert_ptr_nonnull(j);
	return j;
}

static json_int_t num(const json_t *j, const char *k)
{
	ck_assert(json_is_integer(json_object_get(j, k)));
	return json_integer_value(json_object_get(j, k));
}

static const char *str(const json_t *j, const char *k)
{
	ck_assert(json_is_string(json_object_get(j, k)));
	return json_string_value(json_object_get(j, k));
}

START_TEST(init_sizes_blocks_and_window)
{
	uint64_t off;
	size_t len;

	ck_assert(agent_stream_init(&st, "AFR_OTA-j1", 3, 10000, 0, 0));
	ck_assert_uint_eq(st.block_size, 4096);
	ck_assert_uint_eq(st.nblocks, 3);
	ck_assert_uint_eq(st.window, 32); /* 128 KiB of 4 KiB blocks */
	agent_stream_block_range(&st, 2, &off, &len);
	ck_assert_uint_eq(off, 8192);
	ck_assert_uint_eq(len, 10000 - 8192); /* short last block */
	agent_stream_block_range(&st, 3, &off, &len);
	ck_assert_uint_eq(len, 0);
	agent_stream_cleanup(&st);
	/* a file too large for 98304 blocks of 256 bytes gets larger blocks */
	ck_assert(agent_stream_init(&st, "s", 0, 100000000, 256, 4));
	ck_assert_uint_eq(st.block_size, 1024); /* 97657 blocks */
	ck_assert_uint_le(st.nblocks, AGENT_STREAM_OFFSET_MAX);
	ck_assert_uint_eq(st.window, 4);
	agent_stream_cleanup(&st);
	ck_assert(!agent_stream_init(&st, "s", 256, 1000, 0, 0)); /* file id */
	ck_assert(!agent_stream_init(&st, "s", 0, 0, 0, 0));	  /* empty file */
	ck_assert(!agent_stream_init(&st, "", 0, 10, 0, 0));	  /* no stream */
	ck_assert(!agent_stream_init(&st, "s", 0, 10, 100, 0));	  /* block below 256 */
}
END_TEST

START_TEST(requests_name_only_missing_blocks_from_the_first_missing_one)
{
	uint32_t count;
	json_t *j;

	ck_assert(agent_stream_init(&st, "s", 7, 20 * 256, 256, 8));
	j = request(&count);
	ck_assert_uint_eq(count, 8);
	ck_assert_str_eq(str(j, "c"), "t1");
	ck_assert_int_eq(num(j, "f"), 7);
	ck_assert_int_eq(num(j, "l"), 256);
	ck_assert_int_eq(num(j, "o"), 0);
	ck_assert_int_eq(num(j, "n"), 8);
	ck_assert_str_eq(str(j, "b"), "0xff");
	json_decref(j);
	/* blocks arrive out of order: 0, 2, 3, 9 */
	ck_assert(agent_stream_mark(&st, 3));
	ck_assert(agent_stream_mark(&st, 0));
	ck_assert(agent_stream_mark(&st, 9));
	ck_assert(agent_stream_mark(&st, 2));
	ck_assert(!agent_stream_mark(&st, 2));	/* duplicate */
	ck_assert(!agent_stream_mark(&st, 20)); /* past the end */
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_uint_eq(st.have_count, 4);
	ck_assert_uint_eq(st.have_bytes, 4 * 256);
	j = request(&count);
	/* first missing is 1; from o=1: 1 (bit0), 4..8 (bits 3..7), 10, 11 (bits 9, 10) */
	ck_assert_int_eq(num(j, "o"), 1);
	ck_assert_uint_eq(count, 8);
	ck_assert_str_eq(str(j, "b"), "0xf906");
	json_decref(j);
}
END_TEST

START_TEST(request_bitmap_stops_at_the_last_block_and_none_when_complete)
{
	uint32_t count, i;
	size_t len;
	json_t *j;

	ck_assert(agent_stream_init(&st, "s", 0, 3 * 256 + 1, 256, 0)); /* 4 blocks */
	ck_assert(agent_stream_mark(&st, 0));
	j = request(&count);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(num(j, "o"), 1);
	ck_assert_str_eq(str(j, "b"), "0x07");
	json_decref(j);
	for (i = 1; i < 4; i++)
		ck_assert(agent_stream_mark(&st, i));
	ck_assert(agent_stream_is_complete(&st));
	ck_assert_ptr_null(agent_stream_request(&st, "t", &count, &len));
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(agent_stream_due(&st, &pol, 5000), 0);
}
END_TEST

START_TEST(data_messages_are_checked_and_decoded)
{
	unsigned char buf[4096];
	char err[96];
	uint32_t index;
	size_t len;
	/* block 1 of a 300-byte file in 256-byte blocks is 44 bytes (zeros, base64 "AAAA…") */
	char good[200], p[64];

	ck_assert(agent_stream_init(&st, "s", 0, 300, 256, 0));
	/* 44 bytes = 14 groups of 3 (56 chars) + 2 bytes ("AAA=") */
	memset(p, 'A', 56);
	memcpy(p + 56, "AAA=", 5);
	snprintf(good, sizeof(good), "{\"c\":\"1\",\"f\":0,\"l\":44,\"i\":1,\"p\":\"%s\"}", p);
	ck_assert_int_eq(agent_stream_parse_data(&st, good, strlen(good), &index, buf, sizeof(buf),
						 &len, err, sizeof(err)),
			 AGENT_STREAM_MSG_BLOCK);
	ck_assert_uint_eq(index, 1);
	ck_assert_uint_eq(len, 44);
	/* another file */
	snprintf(good, sizeof(good), "{\"f\":1,\"l\":44,\"i\":1,\"p\":\"%s\"}", p);
	ck_assert_int_eq(agent_stream_parse_data(&st, good, strlen(good), &index, buf, sizeof(buf),
						 &len, err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	ck_assert_str_eq(err, "block of another file");
	/* wrong length for block 0 (256 expected) */
	snprintf(good, sizeof(good), "{\"f\":0,\"l\":44,\"i\":0,\"p\":\"%s\"}", p);
	ck_assert_int_eq(agent_stream_parse_data(&st, good, strlen(good), &index, buf, sizeof(buf),
						 &len, err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	/* index past the end */
	snprintf(good, sizeof(good), "{\"f\":0,\"l\":44,\"i\":2,\"p\":\"%s\"}", p);
	ck_assert_int_eq(agent_stream_parse_data(&st, good, strlen(good), &index, buf, sizeof(buf),
						 &len, err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	/* l right but p decodes to fewer bytes */
	snprintf(good, sizeof(good), "{\"f\":0,\"l\":44,\"i\":1,\"p\":\"AAAA\"}");
	ck_assert_int_eq(agent_stream_parse_data(&st, good, strlen(good), &index, buf, sizeof(buf),
						 &len, err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	/* not base64 */
	snprintf(good, sizeof(good), "{\"f\":0,\"l\":44,\"i\":1,\"p\":\"%.56s!!!=\"}", p);
	ck_assert_int_eq(agent_stream_parse_data(&st, good, strlen(good), &index, buf, sizeof(buf),
						 &len, err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	ck_assert_int_eq(agent_stream_parse_data(&st, "nope", 4, &index, buf, sizeof(buf), &len,
						 err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
}
END_TEST

START_TEST(rejections_are_parsed_and_classified)
{
	char code[64], msg[64];
	const char *r = "{\"o\":\"ResourceNotFound\",\"m\":\"no such stream\",\"c\":\"1\"}";
	const char *old = "{\"code\":\"InternalError\",\"message\":\"busy, retry\"}";

	ck_assert_int_eq(agent_stream_parse_rejected(&st, r, strlen(r), code, sizeof(code), msg,
						     sizeof(msg)),
			 AGENT_STREAM_MSG_REJECTED);
	ck_assert_str_eq(code, "ResourceNotFound");
	ck_assert_str_eq(msg, "no such stream");
	ck_assert(!agent_stream_rejected_is_retryable(code));
	ck_assert_int_eq(agent_stream_parse_rejected(&st, old, strlen(old), code, sizeof(code), msg,
						     sizeof(msg)),
			 AGENT_STREAM_MSG_REJECTED);
	ck_assert(agent_stream_rejected_is_retryable(code));
	ck_assert_int_eq(
		agent_stream_parse_rejected(&st, "{}", 2, code, sizeof(code), msg, sizeof(msg)),
		AGENT_STREAM_MSG_INVALID);
}
END_TEST

START_TEST(silent_requests_time_out_and_give_up_after_max_idle)
{
	int i;

	pol.timeout_ms = 1000;
	pol.max_idle = 3;
	ck_assert(agent_stream_init(&st, "s", 0, 4096, 256, 4));
	ck_assert_int_eq(agent_stream_due(&st, &pol, 100), 1);
	agent_stream_sent(&st, &pol, 4, 100);
	ck_assert_int_eq(agent_stream_due(&st, &pol, 1099), 0);
	/* two timeouts without data re-request; the third gives up */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(agent_stream_due(&st, &pol, 1100 + i * 1000), 1);
		agent_stream_sent(&st, &pol, 4, 1100 + i * 1000);
	}
	ck_assert_int_eq(agent_stream_due(&st, &pol, 3100), -1);
	/* a new attempt starts counting again */
	agent_stream_rearm(&st);
	ck_assert_int_eq(agent_stream_due(&st, &pol, 10000), 1);
	agent_stream_sent(&st, &pol, 4, 10000);
	/* a block resets the count; a partial answer times out without counting as idle */
	ck_assert(agent_stream_mark(&st, 0));
	ck_assert_int_eq(agent_stream_due(&st, &pol, 10500), 0);
	ck_assert_int_eq(agent_stream_due(&st, &pol, 11000), 1);
	ck_assert_int_eq(st.idle, 0);
	agent_stream_sent(&st, &pol, 3, 11000);
	/* a pause (link down) forgets the request without counting it */
	agent_stream_pause(&st);
	ck_assert_int_eq(agent_stream_due(&st, &pol, 11001), 1);
	ck_assert_int_eq(st.idle, 0);
}
END_TEST

START_TEST(answered_requests_are_followed_at_once_or_paced)
{
	ck_assert(agent_stream_init(&st, "s", 0, 8 * 1024, 1024, 2));
	ck_assert_int_eq(agent_stream_due(&st, &pol, 100), 1);
	agent_stream_sent(&st, &pol, 2, 100);
	ck_assert(agent_stream_mark(&st, 0));
	ck_assert_int_eq(agent_stream_due(&st, &pol, 110), 0); /* one still outstanding */
	ck_assert(agent_stream_mark(&st, 1));
	ck_assert_int_eq(agent_stream_due(&st, &pol, 120), 1); /* all answered: next now */
	/* 2 KiB per request at 1 KiB/s: the next request waits 2 s */
	pol.rate_bps = 1024;
	agent_stream_sent(&st, &pol, 2, 120);
	ck_assert(agent_stream_mark(&st, 2));
	ck_assert(agent_stream_mark(&st, 3));
	ck_assert_int_eq(agent_stream_due(&st, &pol, 2119), 0);
	ck_assert_int_eq(agent_stream_due(&st, &pol, 2120), 1);
	ck_assert_uint_eq(st.requests, 2);
}
END_TEST

START_TEST(progress_record_round_trips_and_refuses_other_streams)
{
	struct agent_stream other;
	char *text;
	uint32_t count;
	json_t *j;

	ck_assert(agent_stream_init(&st, "AFR_OTA-j1", 0, 10 * 256 + 5, 256, 0)); /* 11 blocks */
	ck_assert(agent_stream_mark(&st, 0));
	ck_assert(agent_stream_mark(&st, 5));
	ck_assert(agent_stream_mark(&st, 10));
	text = agent_stream_progress(&st);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\"have\":\"2104\""));
	/* same stream: restored, the next request skips what is kept */
	memset(&other, 0, sizeof(other));
	ck_assert(agent_stream_init(&other, "AFR_OTA-j1", 0, 10 * 256 + 5, 256, 0));
	ck_assert(agent_stream_progress_load(&other, text));
	ck_assert_uint_eq(other.have_count, 3);
	ck_assert_uint_eq(other.have_bytes, 2 * 256 + 5);
	ck_assert(agent_stream_has(&other, 5));
	agent_stream_cleanup(&st);
	st = other;
	j = request(&count);
	ck_assert_int_eq(num(j, "o"), 1);
	ck_assert_uint_eq(count, 8);
	ck_assert_str_eq(str(j, "b"), "0xef01"); /* 1..4, 6..9 (8 blocks: the window) */
	json_decref(j);
	/* another stream, size or block size: not loaded */
	memset(&other, 0, sizeof(other));
	ck_assert(agent_stream_init(&other, "AFR_OTA-j2", 0, 10 * 256 + 5, 256, 0));
	ck_assert(!agent_stream_progress_load(&other, text));
	agent_stream_cleanup(&other);
	ck_assert(agent_stream_init(&other, "AFR_OTA-j1", 0, 10 * 256 + 5, 512, 0));
	ck_assert(!agent_stream_progress_load(&other, text));
	ck_assert_uint_eq(other.have_count, 0);
	agent_stream_cleanup(&other);
	free(text);
	/* bits past the last block are refused */
	ck_assert(agent_stream_init(&other, "x", 0, 3 * 256, 256, 0));
	ck_assert(!agent_stream_progress_load(
		&other, "{\"format\":\"bellwether-stream-progress/1\",\"stream\":\"x\","
			"\"file_id\":0,\"size\":768,\"block_size\":256,\"have\":\"0f\"}"));
	ck_assert(agent_stream_progress_load(
		&other, "{\"format\":\"bellwether-stream-progress/1\",\"stream\":\"x\","
			"\"file_id\":0,\"size\":768,\"block_size\":256,\"have\":\"07\"}"));
	ck_assert(agent_stream_is_complete(&other));
	agent_stream_cleanup(&other);
}
END_TEST

START_TEST(cbor_request_data_and_rejected_match_the_freertos_encoding)
{
	/* {c:"t1", f:3, l:256, o:1, n:2, b:h'05'} with canonical heads (RFC 8949) */
	static const unsigned char want_req[] = { 0xa6, 0x61, 'c', 0x62, 't',  '1',  0x61, 'f',
						  0x03, 0x61, 'l', 0x19, 0x01, 0x00, 0x61, 'o',
						  0x01, 0x61, 'n', 0x02, 0x61, 'b',  0x41, 0x05 };
	static const unsigned char data_head[] = { 0xa5, 0x61, 'c',  0x61, '1',	 0x61, 'f',
						   0x03, 0x61, 'l',  0x19, 0x01, 0x00, 0x61,
						   'i',	 0x03, 0x61, 'p',  0x59, 0x01, 0x00 };
	static const unsigned char rejected[] = { 0xa2, 0x61, 'o', 0x70, 'R',  'e', 's',  'o',
						  'u',	'r',  'c', 'e',	 'N',  'o', 't',  'F',
						  'o',	'u',  'n', 'd',	 0x61, 'm', 0x61, 'x' };
	unsigned char data[300], buf[256];
	char code[64], msg[64], err[96];
	uint32_t count, index;
	size_t len, n;
	void *req;

	ck_assert(agent_stream_init(&st, "s", 3, 4 * 256, 256, 2));
	st.is_cbor = true;
	ck_assert(agent_stream_mark(&st, 0));
	ck_assert(agent_stream_mark(&st, 1));
	req = agent_stream_request(&st, "t1", &count, &len);
	ck_assert_ptr_nonnull(req);
	/* first missing is 2: o = 2, blocks 2 and 3 = bits 0, 1 */
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(len, sizeof(want_req));
	{
		unsigned char expect[sizeof(want_req)];

		memcpy(expect, want_req, sizeof(expect));
		expect[16] = 0x02; /* o */
		expect[23] = 0x03; /* b */
		ck_assert_mem_eq(req, expect, sizeof(expect));
	}
	free(req);
	/* data {c:"1", f:3, l:256, i:3, p:h'5a…' (256 bytes)}: what the server sends */
	n = sizeof(data_head);
	memcpy(data, data_head, n);
	memset(data + n, 0x5a, 256);
	ck_assert_int_eq(agent_stream_parse_data(&st, data, n + 256, &index, buf, sizeof(buf), &len,
						 err, sizeof(err)),
			 AGENT_STREAM_MSG_BLOCK);
	ck_assert_uint_eq(index, 3);
	ck_assert_uint_eq(len, 256);
	ck_assert_uint_eq(buf[0], 0x5a);
	ck_assert_uint_eq(buf[255], 0x5a);
	/* truncated payload, trailing bytes, and an array value are refused */
	ck_assert_int_eq(agent_stream_parse_data(&st, data, n + 255, &index, buf, sizeof(buf), &len,
						 err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	data[n + 256] = 0x00;
	ck_assert_int_eq(agent_stream_parse_data(&st, data, n + 257, &index, buf, sizeof(buf), &len,
						 err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	data[3] = 0x80; /* c: [] */
	ck_assert_int_eq(agent_stream_parse_data(&st, data, n + 256, &index, buf, sizeof(buf), &len,
						 err, sizeof(err)),
			 AGENT_STREAM_MSG_INVALID);
	/* rejected {o:"ResourceNotFound", m:"x"} */
	n = sizeof(rejected);
	memcpy(data, rejected, n);
	ck_assert_int_eq(
		agent_stream_parse_rejected(&st, data, n, code, sizeof(code), msg, sizeof(msg)),
		AGENT_STREAM_MSG_REJECTED);
	ck_assert_str_eq(code, "ResourceNotFound");
	ck_assert_str_eq(msg, "x");
	ck_assert_int_eq(
		agent_stream_parse_rejected(&st, "{}", 2, code, sizeof(code), msg, sizeof(msg)),
		AGENT_STREAM_MSG_INVALID);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_stream");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_sizes_blocks_and_window);
	tcase_add_test(tc, requests_name_only_missing_blocks_from_the_first_missing_one);
	tcase_add_test(tc, request_bitmap_stops_at_the_last_block_and_none_when_complete);
	tcase_add_test(tc, data_messages_are_checked_and_decoded);
	tcase_add_test(tc, rejections_are_parsed_and_classified);
	tcase_add_test(tc, silent_requests_time_out_and_give_up_after_max_idle);
	tcase_add_test(tc, answered_requests_are_followed_at_once_or_paced);
	tcase_add_test(tc, progress_record_round_trips_and_refuses_other_streams);
	tcase_add_test(tc, cbor_request_data_and_rejected_match_the_freertos_encoding);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
