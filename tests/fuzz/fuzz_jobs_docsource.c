/*
 * libFuzzer target for jobs/docsource: the input is a documentSource URL. Checks that parsing
 * never crashes, and that whatever is accepted maps to a path that stays below the document
 * directory: a valid bucket, and a key that is relative, not empty, free of NUL and control
 * bytes, with no empty, "." or ".." segment.
 *
 * Build and run (not part of make test):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iserver/src \
 *     tests/fuzz/fuzz_jobs_docsource.c server/src/jobs/docsource.c server/src/jobs/text.c \
 *     -o /tmp/fuzz_jobs_docsource
 *   /tmp/fuzz_jobs_docsource -max_total_time=60 -max_len=1500
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/docsource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jobs_docsource ds;
	char msg[256], *url = malloc(size + 1);
	size_t n;

	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	if (jobs_docsource_parse(url, &ds, msg, sizeof(msg)) != JOBS_OK) {
		CHECK(msg[0] != '\0' && ds.bucket[0] == '\0' && ds.key[0] == '\0');
		free(url);
		return 0;
	}
	n = strlen(ds.bucket);
	CHECK(n >= 3 && n <= JOBS_DOCSOURCE_BUCKET_MAX && !strchr(ds.bucket, '/'));
	CHECK(ds.bucket[0] != '.' && !strstr(ds.bucket, ".."));
	n = strlen(ds.key);
	CHECK(n >= 1 && n <= JOBS_DOCSOURCE_KEY_MAX && ds.key[0] != '/' && ds.key[n - 1] != '/');
	CHECK(!strstr(ds.key, "//"));
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)ds.key[i] >= 0x20 && ds.key[i] != 0x7f);
	for (const char *seg = ds.key; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		size_t len = strcspn(seg, "/");
		CHECK(!(len == 1 && seg[0] == '.') &&
		      !(len == 2 && seg[0] == '.' && seg[1] == '.'));
	}
	free(url);
	return 0;
}
