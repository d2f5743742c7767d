/* Unit tests: the file backend of the blob store (atomic writes, dedup, hash mismatch leaves
 * nothing behind, aborted writes are cleaned up). Uses a temp directory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "crypto/digest.h"
#include "store/blobs.h"

static char dir[64];
static struct blob_store *store;

static void setup(void)
{
	char err[256];

	strcpy(dir, "/tmp/bw-test-blobs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	store = blob_store_file_new(dir, err, sizeof(err));
	ck_assert_msg(store != NULL, "%s", err);
}

/* Number of regular files below path (recursive). */
static int count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[512];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n += count_files(p);
		else
			n++;
	}
	closedir(d);
	return n;
}

static void teardown(void)
{
	char cmd[128];

	blob_store_free(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write data in pieces of step bytes and commit with expected (may be NULL). */
static enum blob_status put(const char *data, size_t len, size_t step, const char *expected,
			    struct blob_info *info)
{
	struct blob_writer *w = blob_writer_new(store);

	ck_assert_ptr_nonnull(w);
	for (size_t off = 0; off < len; off += step)
		ck_assert_int_eq(
			blob_writer_write(w, data + off, off + step > len ? len - off : step),
			BLOB_OK);
	ck_assert_uint_eq(blob_writer_size(w), len);
	return blob_writer_commit(w, expected, info);
}

START_TEST(blob_is_content_addressed_and_readable)
{
	static char data[700000];
	char hex[DIGEST_SHA256_HEX_LEN], path[512];
	struct blob_info info;
	uint64_t size;
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 31 + 7);
	digest_sha256_hex(data, sizeof(data), hex);
	ck_assert_int_eq(put(data, sizeof(data), 4096, hex, &info), BLOB_OK);
	ck_assert_str_eq(info.sha256, hex);
	ck_assert_uint_eq(info.size_bytes, sizeof(data));
	ck_assert(info.is_new);
	snprintf(path, sizeof(path), "%s/%.2s/%s", dir, hex, hex);
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_int_eq(blob_open(store, hex, &fd, &size), BLOB_OK);
	ck_assert_uint_eq(size, sizeof(data));
	char *back = malloc(sizeof(data));
	ck_assert_int_eq(read(fd, back, sizeof(data)), (ssize_t)sizeof(data));
	ck_assert(memcmp(back, data, sizeof(data)) == 0);
	free(back);
	close(fd);
	ck_assert_int_eq(count_files(dir), 1);
}
END_TEST

START_TEST(identical_content_is_stored_once)
{
	struct blob_info a, b;

	ck_assert_int_eq(put("same bytes", 10, 3, NULL, &a), BLOB_OK);
	ck_assert_int_eq(put("same bytes", 10, 10, NULL, &b), BLOB_OK);
	ck_assert(a.is_new);
	ck_assert(!b.is_new);
	ck_assert_str_eq(a.sha256, b.sha256);
	ck_assert_int_eq(count_files(dir), 1);
}
END_TEST

START_TEST(hash_mismatch_leaves_nothing_behind)
{
	struct blob_info info;
	char wrong[65];

	memset(wrong, 'a', 64);
	wrong[64] = '\0';
	ck_assert_int_eq(put("payload", 7, 2, wrong, &info), BLOB_ERR_MISMATCH);
	ck_assert_uint_eq(strlen(info.sha256), 64); /* the actual hash, for the error message */
	ck_assert_int_eq(count_files(dir), 0);
	/* upper-case declared hash is accepted */
	char upper[65];
	digest_sha256_hex("payload", 7, upper);
	for (int i = 0; i < 64; i++)
		if (upper[i] >= 'a')
			upper[i] = (char)(upper[i] - 32);
	ck_assert_int_eq(put("payload", 7, 7, upper, &info), BLOB_OK);
}
END_TEST

START_TEST(finish_then_abort_and_plain_abort_remove_temp_files)
{
	struct blob_writer *w = blob_writer_new(store);
	struct blob_info info;

	ck_assert_int_eq(blob_writer_write(w, "abc", 3), BLOB_OK);
	ck_assert_int_eq(blob_writer_finish(w, &info), BLOB_OK);
	ck_assert_str_eq(info.sha256,
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(blob_writer_write(w, "d", 1), BLOB_ERR_INVALID);
	blob_writer_abort(w);
	w = blob_writer_new(store);
	ck_assert_int_eq(blob_writer_write(w, "xyz", 3), BLOB_OK);
	blob_writer_abort(w);
	blob_writer_abort(NULL);
	ck_assert_int_eq(count_files(dir), 0);
}
END_TEST

START_TEST(open_and_remove_validate_names)
{
	int fd;
	uint64_t size;
	struct blob_info info;

	ck_assert_int_eq(blob_open(store, "../etc/passwd", &fd, &size), BLOB_ERR_INVALID);
	ck_assert_int_eq(
		blob_open(store, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			  &fd, &size),
		BLOB_ERR_NOT_FOUND);
	ck_assert_int_eq(put("abc", 3, 1, NULL, &info), BLOB_OK);
	ck_assert_int_eq(blob_remove(store, info.sha256), BLOB_OK);
	ck_assert_int_eq(blob_remove(store, info.sha256), BLOB_ERR_NOT_FOUND);
	ck_assert_int_eq(blob_remove(store, "ABC"), BLOB_ERR_INVALID);
}
END_TEST

START_TEST(store_refuses_unusable_directory)
{
	char err[256];

	ck_assert_ptr_null(blob_store_file_new("", err, sizeof(err)));
	ck_assert_ptr_null(blob_store_file_new("/proc/nope/blobs", err, sizeof(err)));
	ck_assert(strstr(err, "BW_BLOB_DIR") != NULL);
}
END_TEST

static Suite *fw_blobs_suite(void)
{
	Suite *s = suite_create("fw_blobs");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, blob_is_content_addressed_and_readable);
	tcase_add_test(tc, identical_content_is_stored_once);
	tcase_add_test(tc, hash_mismatch_leaves_nothing_behind);
	tcase_add_test(tc, finish_then_abort_and_plain_abort_remove_temp_files);
	tcase_add_test(tc, open_and_remove_validate_names);
	tcase_add_test(tc, store_refuses_unusable_directory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fw_blobs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
