/* libFuzzer target for registry/group_query.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iserver/src \
 *   tests/fuzz/fuzz_group_query.c server/src/registry/group_query.c \
 *   server/src/registry/semver.c server/src/core/strutil.c server/src/core/buf.c -ljansson
 * Besides memory safety it checks invariants: a parsed query formats to text that parses again
 * to the same normal form and the same match results, and always compiles to SQL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "registry/group_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static json_t *attrs;
static struct group_query_thing things[3];

static void init_things(void)
{
	attrs = json_pack("{s:s, s:s, s:i, s:n}", "env", "prod", "site.region", "eu-west", "n", 3,
			  "nothing");
	things[0] = (struct group_query_thing){ "sensor-1", "rpi4", "1.2.0-rc.1", attrs };
	things[1] = (struct group_query_thing){ "a", NULL, NULL, NULL };
	things[2] = (struct group_query_thing){ "caf\xc3\xa9", "", "junk", attrs };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *text, *f1 = NULL, *f2 = NULL;
	struct group_query *q, *q2 = NULL;
	struct buf sql;
	char **params = NULL;
	int nparams = 0;

	if (!attrs)
		init_things();
	if (size > 2 * GROUP_QUERY_TEXT_MAX)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	q = group_query_parse(text, err, sizeof(err));
	if (!q) {
		CHECK(strncmp(err, "column ", 7) == 0 || strncmp(err, "query is", 8) == 0);
		free(text);
		return 0;
	}
	f1 = group_query_format(q);
	CHECK(f1 != NULL);
	/* the normal form may be longer than the input, but never unparseable when it fits */
	if (strlen(f1) <= GROUP_QUERY_TEXT_MAX) {
		q2 = group_query_parse(f1, err, sizeof(err));
		if (!q2)
			fprintf(stderr, "reparse of '%s' failed: %s\n", f1, err);
		CHECK(q2 != NULL);
		f2 = group_query_format(q2);
		CHECK(f2 != NULL && strcmp(f1, f2) == 0);
		for (size_t i = 0; i < sizeof(things) / sizeof(things[0]); i++)
			CHECK(group_query_match(q, &things[i]) ==
			      group_query_match(q2, &things[i]));
	}
	buf_init(&sql);
	CHECK(group_query_to_sql(q, 1, &sql, &params, &nparams));
	CHECK(params != NULL && params[nparams] == NULL);
	CHECK(strchr(sql.data, '\'') == NULL && strchr(sql.data, ';') == NULL);
	for (int i = 0; i < nparams; i++)
		free(params[i]);
	free(params);
	buf_cleanup(&sql);
	free(f1);
	free(f2);
	group_query_free(q);
	group_query_free(q2);
	free(text);
	return 0;
}
