/*
 * libFuzzer target for shadow/update + shadow/doc: two update payloads applied in sequence
 * (create, then merge), GET, DELETE, re-create, and the stored-form round trip. Checks the
 * invariants that must hold for any input: no crash or leak, version numbering, the size rule,
 * delta consistency, and that every reply is valid JSON text.
 *
 * Build and run (not part of make test):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iserver/src \
 *     tests/fuzz/fuzz_shadow_merge.c \
 *     server/src/shadow/doc.c server/src/shadow/delta.c server/src/shadow/update.c \
 *     server/src/shadow/payload.c -ljansson -lm -o /tmp/fuzz_shadow_merge
 *   /tmp/fuzz_shadow_merge -max_total_time=30 -max_len=4096
 * Input: payload A, a 0xFF byte, payload B (no 0xFF: B = A).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shadow/delta.h"
#include "shadow/doc.h"
#include "shadow/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* Every payload must serialise (jansson refuses invalid UTF-8 strings at construction). */
static void check_serialises(const json_t *j)
{
	char *s;

	if (!j)
		return;
	s = json_dumps(j, JSON_COMPACT);
	CHECK(s);
	free(s);
}

static void check_result(const struct shadow *next, const struct shadow_update_result *res)
{
	json_t *delta = shadow_compute_delta(next->desired, next->reported);

	CHECK(delta);
	/* delta published iff non-empty, and it is exactly the computed delta */
	CHECK((json_object_size(delta) > 0) == (res->delta != NULL));
	if (res->delta)
		CHECK(json_equal(json_object_get(res->delta, "state"), delta));
	json_decref(delta);
	CHECK(shadow_state_size(next) <= SHADOW_DEFAULT_MAX_STATE_BYTES);
	CHECK((next->desired == NULL) == (next->meta_desired == NULL));
	CHECK((next->reported == NULL) == (next->meta_reported == NULL));
	check_serialises(res->accepted);
	check_serialises(res->delta);
	check_serialises(res->documents);
}

/* Stored form round trip preserves everything. */
static void check_round_trip(const struct shadow *s)
{
	json_t *doc = shadow_document_new(s);
	struct shadow back;

	CHECK(doc);
	CHECK(shadow_from_document(doc, &back) == SHADOW_OK);
	CHECK(back.version == s->version);
	CHECK(json_equal(back.desired, s->desired) || (!back.desired && !s->desired));
	CHECK(json_equal(back.reported, s->reported) || (!back.reported && !s->reported));
	shadow_cleanup(&back);
	json_decref(doc);
}

static enum shadow_err apply(const struct shadow *cur, const uint8_t *p, size_t n, int64_t now,
			     struct shadow *next, struct shadow_update_result *res)
{
	struct shadow_update u;
	int code;
	char msg[SHADOW_MSG_MAX];
	enum shadow_err err;

	err = shadow_update_parse((const char *)p, n, &u, &code, msg, sizeof(msg));
	if (err == SHADOW_OK) {
		err = shadow_apply_update(cur, &u, NULL, now, next, res, &code, msg, sizeof(msg));
	} else {
		shadow_init(next);
		shadow_update_result_init(res);
	}
	CHECK(code == shadow_err_code(err));
	if (err) {
		json_t *e = shadow_error_reply_new(code, msg, now,
						   u.has_client_token ? u.client_token : NULL);

		CHECK(e); /* the message (even a cut state key) must be valid UTF-8 */
		json_decref(e);
		CHECK(!next->is_present && !res->accepted && !res->delta && !res->documents);
	}
	shadow_update_cleanup(&u);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0xFF, size);
	const uint8_t *a = data, *b = data;
	size_t na = size, nb = size;
	struct shadow s1, s2, tomb, s3;
	struct shadow_update_result r1, r2, r3;
	struct shadow_token_request tr;
	json_t *reply = NULL;

	if (sep) {
		na = (size_t)(sep - data);
		b = sep + 1;
		nb = size - na - 1;
	}
	shadow_token_request_parse((const char *)a, na, &tr, NULL, NULL, 0);

	if (apply(NULL, a, na, 1000, &s1, &r1) == SHADOW_OK) {
		CHECK(s1.is_present && s1.version == 1);
		CHECK(!json_object_get(r1.documents, "previous"));
		check_result(&s1, &r1);
		check_round_trip(&s1);
		if (apply(&s1, b, nb, 2000, &s2, &r2) == SHADOW_OK) {
			CHECK(s2.version == 2);
			CHECK(json_object_get(r2.documents, "previous"));
			check_result(&s2, &r2);
			check_round_trip(&s2);
			CHECK(shadow_get_document(&s2, 3000, "t", "thing", &reply, NULL, NULL, 0) ==
			      SHADOW_OK);
			check_serialises(reply);
			json_decref(reply);
			CHECK(shadow_delete(&s2, 3000, NULL, "thing", &tomb, &reply, NULL, NULL,
					    0) == SHADOW_OK);
			json_decref(reply);
			CHECK(!tomb.is_present && tomb.version == 2);
			if (apply(&tomb, a, na, 4000, &s3, &r3) == SHADOW_OK) {
				CHECK(s3.version == 3);
				CHECK(!json_object_get(r3.documents, "previous"));
			}
			shadow_cleanup(&s3);
			shadow_update_result_cleanup(&r3);
			shadow_cleanup(&tomb);
		}
		shadow_cleanup(&s2);
		shadow_update_result_cleanup(&r2);
	}
	shadow_cleanup(&s1);
	shadow_update_result_cleanup(&r1);
	return 0;
}
