/*
 * Unit tests for jobs/docsource: documentSource URLs (spec 3.10) mapped to <bucket>/<key> under
 * BW_JOB_DOCUMENT_DIR. Every accepted URL style, traversal and absolute keys, percent-escapes,
 * bucket rules, hosts that are not S3, and the length limits.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/docsource.h"

struct ok_case {
	const char *url;
	const char *bucket;
	const char *key;
};

static const struct ok_case ok_cases[] = {
	{ "s3://fw-bucket/doc.json", "fw-bucket", "doc.json" },
	{ "s3://fw-bucket/jobs/2024/reboot.json", "fw-bucket", "jobs/2024/reboot.json" },
	{ "S3://fw-bucket/doc.json", "fw-bucket", "doc.json" },
	/* virtual-hosted, global, regional and the legacy dash form */
	{ "https://fw-bucket.s3.amazonaws.com/doc.json", "fw-bucket", "doc.json" },
	{ "https://fw-bucket.s3.us-east-1.amazonaws.com/a/b.json", "fw-bucket", "a/b.json" },
	{ "https://fw-bucket.s3-eu-west-1.amazonaws.com/doc.json", "fw-bucket", "doc.json" },
	{ "HTTPS://FW-Bucket.S3.AMAZONAWS.COM/Doc.json", "fw-bucket", "Doc.json" },
	/* a bucket whose own name contains ".s3" */
	{ "https://my.s3.docs.s3.amazonaws.com/doc.json", "my.s3.docs", "doc.json" },
	{ "https://my.s3.docs.s3.ap-south-1.amazonaws.com/doc.json", "my.s3.docs", "doc.json" },
	/* path-style: global, regional, legacy dash form */
	{ "https://s3.amazonaws.com/fw-bucket/pump-1.4.json", "fw-bucket", "pump-1.4.json" },
	{ "https://s3.us-west-2.amazonaws.com/fw-bucket/a/b/c.json", "fw-bucket", "a/b/c.json" },
	{ "https://s3-us-west-2.amazonaws.com/fw-bucket/doc.json", "fw-bucket", "doc.json" },
	/* percent-escapes are decoded; dots inside names are fine */
	{ "s3://fw-bucket/my%20doc.json", "fw-bucket", "my doc.json" },
	{ "s3://fw-bucket/caf%C3%A9.json", "fw-bucket", "caf\xc3\xa9.json" },
	{ "s3://fw-bucket/a%2Fb.json", "fw-bucket", "a/b.json" },
	{ "s3://fw-bucket/..doc.json", "fw-bucket", "..doc.json" },
	{ "s3://fw-bucket/v1.2/.hidden", "fw-bucket", "v1.2/.hidden" },
	{ "s3://a.b/c", "a.b", "c" },
	{ "s3://abc/+plus+", "abc", "+plus+" },
};

START_TEST(docsource_maps_s3_url_styles_spec_3_10)
{
	const struct ok_case *c = &ok_cases[_i];
	struct jobs_docsource ds;
	char msg[256];

	ck_assert_msg(jobs_docsource_parse(c->url, &ds, msg, sizeof(msg)) == JOBS_OK, "%s: %s",
		      c->url, msg);
	ck_assert_str_eq(ds.bucket, c->bucket);
	ck_assert_str_eq(ds.key, c->key);
}
END_TEST

struct bad_case {
	const char *url;
	const char *why; /* a substring of the message */
};

static const struct bad_case bad_cases[] = {
	{ "", "empty" },
	/* traversal and absolute keys, plain and percent-encoded */
	{ "s3://fw-bucket/../etc/passwd", "'..'" },
	{ "s3://fw-bucket/a/../../etc/passwd", "'..'" },
	{ "s3://fw-bucket/a/..", "'..'" },
	{ "s3://fw-bucket/%2e%2e/secret.json", "'..'" },
	{ "s3://fw-bucket/a%2F..%2Fb", "'..'" },
	{ "s3://fw-bucket/./doc.json", "'.'" },
	{ "s3://fw-bucket//etc/passwd", "absolute" },
	{ "s3://fw-bucket/%2Fetc/passwd", "absolute" },
	{ "https://fw-bucket.s3.amazonaws.com//etc/passwd", "absolute" },
	{ "s3://fw-bucket/a//b.json", "empty path segment" },
	{ "s3://fw-bucket/dir/", "empty path segment" },
	/* bad bytes in the key */
	{ "s3://fw-bucket/a%00b", "NUL" },
	{ "s3://fw-bucket/a%0ab", "control" },
	{ "s3://fw-bucket/a%zzb", "percent-escape" },
	{ "s3://fw-bucket/a%2", "percent-escape" },
	{ "s3://fw-bucket/a%", "percent-escape" },
	{ "s3://fw-bucket/%C3%28", "UTF-8" },
	{ "s3://fw-bucket/a b", "space" },
	{ "s3://fw-bucket/caf\xc3\xa9", "non-ASCII" },
	/* bucket and key missing or invalid */
	{ "s3://fw-bucket", "no object key" },
	{ "s3://fw-bucket/", "no object key" },
	{ "s3:///doc.json", "no bucket" },
	{ "s3://..//doc.json", "bucket" },
	{ "s3://ab/doc.json", "bucket" },
	{ "s3://Upper/doc.json", "bucket" },
	{ "s3://a..b/doc.json", "bucket" },
	{ "s3://-abc/doc.json", "bucket" },
	{ "s3://under_score/doc.json", "bucket" },
	{ "https://s3.amazonaws.com/fw-bucket", "no object key" },
	{ "https://fw-bucket.s3.amazonaws.com", "no object key" },
	{ "https://fw-bucket.s3.amazonaws.com/", "no object key" },
	{ "https://.s3.amazonaws.com/doc.json", "no bucket" },
	/* not S3, or parts we refuse */
	{ "http://fw-bucket.s3.amazonaws.com/doc.json", "only s3://" },
	{ "file:///etc/passwd", "only s3://" },
	{ "/etc/passwd", "only s3://" },
	{ "https://example.com/doc.json", "not an Amazon S3 endpoint" },
	{ "https://169.254.169.254/latest/meta-data", "not an Amazon S3 endpoint" },
	{ "https://amazonaws.com/doc.json", "not an Amazon S3 endpoint" },
	{ "https://ec2.us-east-1.amazonaws.com/doc.json", "not an Amazon S3 endpoint" },
	{ "https://fw-bucket.s3.amazonaws.com.evil.example/doc.json", "not an Amazon S3" },
	{ "https://fw-bucket.s3.us.east.amazonaws.com/doc.json", "not an Amazon S3 endpoint" },
	{ "https://user@fw-bucket.s3.amazonaws.com/doc.json", "user information" },
	{ "https://fw-bucket.s3.amazonaws.com:443/doc.json", "port" },
	{ "https://fw-bucket.s3.amazonaws.com/doc.json?versionId=3", "versionId" },
	{ "s3://fw-bucket/doc.json#frag", "fragments" },
};

START_TEST(docsource_rejects_unsafe_or_foreign_urls_spec_3_10)
{
	const struct bad_case *c = &bad_cases[_i];
	struct jobs_docsource ds;
	char msg[256];

	ck_assert_msg(jobs_docsource_parse(c->url, &ds, msg, sizeof(msg)) ==
			      JOBS_ERR_INVALID_REQUEST,
		      "%s accepted", c->url);
	ck_assert_msg(strstr(msg, c->why) != NULL, "%s: message '%s' lacks '%s'", c->url, msg,
		      c->why);
	ck_assert_str_eq(ds.bucket, "");
	ck_assert_str_eq(ds.key, "");
}
END_TEST

/* s3://bkt/<key of n bytes>, malloc'd */
static char *url_with_key(size_t key_len, const char *unit)
{
	size_t ul = strlen(unit), n = 0;
	char *u = malloc(16 + key_len * ul + 1);

	ck_assert_ptr_nonnull(u);
	n = (size_t)sprintf(u, "s3://bkt/");
	for (size_t i = 0; i < key_len; i++, n += ul)
		memcpy(u + n, unit, ul);
	u[n] = '\0';
	return u;
}

START_TEST(docsource_length_limits_spec_3_10)
{
	struct jobs_docsource ds;
	char msg[256];
	/* s3://bkt/ is 9 characters: a 1341-character key makes 1350 */
	char *at = url_with_key(JOBS_DOCSOURCE_URL_MAX - 9, "k");
	char *over = url_with_key(JOBS_DOCSOURCE_URL_MAX - 8, "k");
	/* escapes count as the byte they decode to; 1024 key bytes are allowed, 1025 are not */
	char *key_at = url_with_key(341, "%41");
	char *key_over = url_with_key(JOBS_DOCSOURCE_KEY_MAX + 1, "a");
	char deep[400] = "s3://bkt/";

	ck_assert_uint_eq(strlen(at), JOBS_DOCSOURCE_URL_MAX);
	/* the URL is within 1350 characters but its key is longer than 1024 bytes */
	ck_assert_int_eq(jobs_docsource_parse(at, &ds, msg, sizeof(msg)), JOBS_ERR_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(msg, "longer than 1024 bytes"));
	ck_assert_int_eq(jobs_docsource_parse(over, &ds, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(msg, "longer than 1350 characters"));
	ck_assert_int_eq(jobs_docsource_parse(key_at, &ds, msg, sizeof(msg)), JOBS_OK);
	ck_assert_uint_eq(strlen(ds.key), 341);
	ck_assert_int_eq(ds.key[340], 'A');
	free(key_at);
	key_at = url_with_key(JOBS_DOCSOURCE_KEY_MAX, "a");
	ck_assert_int_eq(jobs_docsource_parse(key_at, &ds, msg, sizeof(msg)), JOBS_OK);
	ck_assert_uint_eq(strlen(ds.key), JOBS_DOCSOURCE_KEY_MAX);
	ck_assert_int_eq(jobs_docsource_parse(key_over, &ds, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	/* path depth: 64 segments pass, 65 do not */
	for (int i = 0; i < JOBS_DOCSOURCE_SEGMENTS_MAX; i++)
		strcat(deep, i ? "/d" : "d");
	ck_assert_int_eq(jobs_docsource_parse(deep, &ds, msg, sizeof(msg)), JOBS_OK);
	strcat(deep, "/d");
	ck_assert_int_eq(jobs_docsource_parse(deep, &ds, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(msg, "path segments"));
	/* a 63-character bucket is valid, 64 is not */
	char b63[128], b64[128];
	snprintf(b63, sizeof(b63), "s3://%.63s/k",
		 "b123456789012345678901234567890123456789012345678901234567890123456789");
	snprintf(b64, sizeof(b64), "s3://%.64s/k",
		 "b123456789012345678901234567890123456789012345678901234567890123456789");
	ck_assert_int_eq(jobs_docsource_parse(b63, &ds, msg, sizeof(msg)), JOBS_OK);
	ck_assert_int_eq(jobs_docsource_parse(b64, &ds, msg, sizeof(msg)),
			 JOBS_ERR_INVALID_REQUEST);
	/* NULL URL and a NULL message buffer are handled */
	ck_assert_int_eq(jobs_docsource_parse(NULL, &ds, NULL, 0), JOBS_ERR_INVALID_REQUEST);
	free(at);
	free(over);
	free(key_at);
	free(key_over);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_docsource");
	TCase *tc = tcase_create("docsource");

	tcase_add_loop_test(tc, docsource_maps_s3_url_styles_spec_3_10, 0,
			    (int)(sizeof(ok_cases) / sizeof(ok_cases[0])));
	tcase_add_loop_test(tc, docsource_rejects_unsafe_or_foreign_urls_spec_3_10, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, docsource_length_limits_spec_3_10);
	suite_add_tcase(s, tc);
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
