/*
 * libFuzzer target for jobs/config + jobs/document + jobs/cron + jobs/schedule: the input is a
 * CreateJob body (JSON). Parses it in every mode; for accepted bodies renders the settings,
 * parses the stored form back (JOBS_CONFIG_STORED or _STORED_TEMPLATE) and renders again (must
 * be identical), resolves the document's
 * placeholders, and evaluates the schedule. Checks: no crash, leak or endless loop.
 *
 * Build and run (not part of make test):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iserver/src \
 *     tests/fuzz/fuzz_jobs_config.c server/src/jobs/[a-z]*.c server/src/core/buf.c \
 *     server/src/core/strutil.c server/src/crypto/base64.c -ljansson -lm \
 *     -o /tmp/fuzz_jobs_config
 *   /tmp/fuzz_jobs_config -max_total_time=60 -max_len=4096
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/config.h"
#include "jobs/document.h"
#include "jobs/schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

#define NOW INT64_C(1718020800000)

static char *presign(const char *url, void *arg)
{
	(void)arg;
	return strdup(url);
}

static void check_spec(const struct jobs_spec *s, enum jobs_config_mode mode)
{
	enum jobs_config_mode stored =
		mode == JOBS_CONFIG_CREATE_TEMPLATE || mode == JOBS_CONFIG_STORED_TEMPLATE
			? JOBS_CONFIG_STORED_TEMPLATE
			: JOBS_CONFIG_STORED;
	json_t *r1 = jobs_config_render(s, mode), *r2, *doc, *resolved;
	struct jobs_spec again;
	int64_t next;

	CHECK(r1);
	CHECK(jobs_config_parse(r1, stored, NOW, &again, NULL, 0) == JOBS_OK);
	r2 = jobs_config_render(&again, mode);
	CHECK(r2 && json_equal(r1, r2));
	json_decref(r1);
	json_decref(r2);
	jobs_config_spec_cleanup(&again);
	if (s->document) {
		CHECK(jobs_document_parse(s->document, strlen(s->document), &doc, NULL, 0) ==
		      JOBS_OK);
		CHECK(jobs_document_resolve(doc, presign, NULL, &resolved) == JOBS_OK);
		json_decref(resolved);
		json_decref(doc);
	}
	if (s->has_scheduling) {
		(void)jobs_schedule_phase(&s->scheduling, NOW, &next);
		json_decref(jobs_schedule_render_rollouts(&s->scheduling, NOW));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum jobs_config_mode modes[] = { JOBS_CONFIG_CREATE_JOB,
						       JOBS_CONFIG_CREATE_TEMPLATE,
						       JOBS_CONFIG_UPDATE_JOB, JOBS_CONFIG_STORED,
						       JOBS_CONFIG_STORED_TEMPLATE };
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct jobs_spec s;
	char msg[256];

	if (!body)
		return 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		enum jobs_err err = jobs_config_parse(body, modes[i], NOW, &s, msg, sizeof(msg));

		if (err == JOBS_OK)
			check_spec(&s, modes[i]);
		else
			CHECK(msg[0] != '\0');
		jobs_config_spec_cleanup(&s);
	}
	json_decref(body);
	return 0;
}
