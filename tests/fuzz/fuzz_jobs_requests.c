/*
 * libFuzzer target for jobs/topics + jobs/requests + jobs/execution + jobs/render: the input is
 * a topic and a payload (split at the first 0xFF byte; no 0xFF: a fixed update topic). Parses
 * the topic and the request, applies it to a fixed execution the way an MQTT handler would, and
 * builds every reply. Checks: no crash or leak; every reply serialises (valid UTF-8 JSON);
 * rejected replies echo a token only when one was valid; an accepted update bumps the version
 * by exactly one unless it is a duplicate; terminal states never change.
 *
 * Build and run (not part of make test):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iserver/src \
 *     tests/fuzz/fuzz_jobs_requests.c server/src/jobs/[a-z]*.c server/src/core/buf.c \
 *     server/src/core/strutil.c server/src/crypto/base64.c -ljansson -lm \
 *     -o /tmp/fuzz_jobs_requests
 *   /tmp/fuzz_jobs_requests -max_total_time=60 -max_len=4096
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/events.h"
#include "jobs/requests.h"
#include "jobs/topics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

#define NOW INT64_C(1718020602000)

static void check_serialises(json_t *j)
{
	char *s;

	CHECK(j);
	s = json_dumps(j, JSON_COMPACT);
	CHECK(s);
	free(s);
	json_decref(j);
}

static void run(const struct jobs_topic *t, const char *payload, size_t len,
		enum jobs_exec_status start)
{
	struct jobs_execution cur, next;
	struct jobs_request req;
	char msg[JOBS_REQUESTS_MSG_MAX];
	json_t *doc = json_pack("{s:s}", "op", "flash");
	enum jobs_err err;
	bool dup, changed;

	CHECK(doc);
	CHECK(jobs_execution_new_queued(&cur, "fw-1", "pump-17", 1, 1, NOW - 1000));
	cur.status = start;
	cur.version_number = 5;
	err = jobs_requests_parse_topic(t, payload, len, &req, msg, sizeof(msg));
	if (err != JOBS_OK) {
		check_serialises(
			jobs_requests_rejected(err, msg, jobs_requests_token(&req), &cur, NOW));
		goto out;
	}
	jobs_execution_init(&next);
	switch (t->kind) {
	case JOBS_TOPICS_UPDATE:
		err = jobs_execution_update(&cur, &req.update, 60, NOW, &next, &dup);
		if (err == JOBS_OK) {
			CHECK(next.version_number == cur.version_number + (dup ? 0 : 1));
			CHECK(!jobs_exec_status_is_terminal(cur.status) || dup);
			check_serialises(jobs_requests_update_reply(
				&next, req.include_job_execution_state,
				req.include_job_document ? doc : NULL, jobs_requests_token(&req),
				JOBS_PLANE_MQTT, NOW));
			check_serialises(jobs_requests_update_reply(&next, true, doc, NULL,
								    JOBS_PLANE_HTTP, NOW));
		} else {
			CHECK(next.status_details == NULL);
			check_serialises(jobs_requests_rejected(
				err, NULL, jobs_requests_token(&req), &cur, NOW));
		}
		break;
	case JOBS_TOPICS_START_NEXT:
		if (jobs_exec_status_is_terminal(cur.status))
			break;
		err = jobs_execution_start_next(&cur, &req.update, 60, NOW, &next, &changed);
		CHECK(err == JOBS_OK && next.status == JOBS_EXEC_IN_PROGRESS);
		check_serialises(jobs_requests_execution_reply(
			&next, doc, jobs_requests_token(&req), JOBS_PLANE_MQTT, NOW));
		check_serialises(jobs_events_notify_next(&next, doc, NOW));
		break;
	case JOBS_TOPICS_DESCRIBE:
	case JOBS_TOPICS_GET_PENDING: {
		const struct jobs_execution *list[1] = { &cur };

		check_serialises(jobs_requests_execution_reply(
			&cur, req.include_job_document ? doc : NULL, jobs_requests_token(&req),
			JOBS_PLANE_HTTP, NOW));
		check_serialises(jobs_requests_pending_reply(list, 1, 10, jobs_requests_token(&req),
							     JOBS_PLANE_MQTT, NOW));
		check_serialises(jobs_events_notify(list, 1, NOW));
		break;
	}
	default:
		break;
	}
	jobs_execution_cleanup(&next);
out:
	jobs_requests_cleanup(&req);
	jobs_execution_cleanup(&cur);
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char fixed[] = "$aws/things/pump-17/jobs/fw-1/update";
	const uint8_t *sep = memchr(data, 0xFF, size);
	const char *topic = fixed, *payload = (const char *)data;
	size_t tlen = sizeof(fixed) - 1, plen = size;
	struct jobs_topic t;
	char reply[JOBS_TOPICS_MAX + 16];

	if (sep) {
		topic = (const char *)data;
		tlen = (size_t)(sep - data);
		payload = (const char *)sep + 1;
		plen = size - tlen - 1;
	}
	jobs_topics_parse(topic, tlen, &t);
	if (t.kind == JOBS_TOPICS_IGNORE || t.kind == JOBS_TOPICS_NONE ||
	    jobs_topics_is_stream_request(t.kind))
		return 0;
	/* the reply to any request topic must itself be ignored (no reply loops) */
	if (jobs_topics_reply(topic, tlen, false, reply, sizeof(reply))) {
		struct jobs_topic rt;

		jobs_topics_parse(reply, strlen(reply), &rt);
		CHECK(rt.kind == JOBS_TOPICS_IGNORE);
	}
	for (int s = 0; s < JOBS_EXEC__COUNT; s++)
		run(&t, payload, plen, (enum jobs_exec_status)s);
	return 0;
}
