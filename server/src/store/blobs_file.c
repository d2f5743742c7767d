/* File backend of the blob store (see blobs.h): DIR/tmp/upload-XXXXXX while writing, then
 * fsync + rename to DIR/<first two hex digits>/<sha256>, then fsync of the directory. */
#include "store/blobs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define WRITE_BUF_SIZE (256 * 1024)
#define STALE_TEMP_S 3600

struct file_store {
	char *dir;
};

struct file_write {
	int fd;
	char path[PATH_MAX];
	size_t used;
	bool is_failed;
	unsigned char buf[WRITE_BUF_SIZE];
};

static bool ensure_dir(const char *path)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST) {
		struct stat st;
		return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	}
	return false;
}

static bool fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

static bool write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static enum blob_status fb_write_open(void *impl, void **out)
{
	struct file_store *fs = impl;
	struct file_write *w = malloc(sizeof(*w));

	*out = NULL;
	if (!w)
		return BLOB_ERR_NOMEM;
	w->used = 0;
	w->is_failed = false;
	if ((size_t)snprintf(w->path, sizeof(w->path), "%s/tmp/upload-XXXXXX", fs->dir) >=
	    sizeof(w->path)) {
		free(w);
		return BLOB_ERR_IO;
	}
	w->fd = mkostemp(w->path, O_CLOEXEC);
	if (w->fd < 0) {
		log_error("blobs", "blob_temp_create_failed", LOG_S("dir", fs->dir),
			  LOG_S("error", strerror(errno)), LOG_END);
		free(w);
		return BLOB_ERR_IO;
	}
	*out = w;
	return BLOB_OK;
}

static bool flush(struct file_write *w)
{
	if (w->used && !w->is_failed) {
		if (!write_all(w->fd, w->buf, w->used)) {
			log_error("blobs", "blob_write_failed", LOG_S("path", w->path),
				  LOG_S("error", strerror(errno)), LOG_END);
			w->is_failed = true;
		}
	}
	w->used = 0;
	return !w->is_failed;
}

static enum blob_status fb_write(void *wp, const void *data, size_t len)
{
	struct file_write *w = wp;
	const unsigned char *p = data;

	if (w->is_failed)
		return BLOB_ERR_IO;
	if (len >= WRITE_BUF_SIZE) { /* large pieces go straight to the file */
		if (!flush(w))
			return BLOB_ERR_IO;
		if (!write_all(w->fd, p, len)) {
			w->is_failed = true;
			return BLOB_ERR_IO;
		}
		return BLOB_OK;
	}
	if (w->used + len > WRITE_BUF_SIZE && !flush(w))
		return BLOB_ERR_IO;
	memcpy(w->buf + w->used, p, len);
	w->used += len;
	return BLOB_OK;
}

static void fb_write_abort(void *wp)
{
	struct file_write *w = wp;

	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->path);
	free(w);
}

static enum blob_status fb_write_commit(void *impl, void *wp, const char *sha, bool *is_new)
{
	struct file_store *fs = impl;
	struct file_write *w = wp;
	char sub[PATH_MAX], target[PATH_MAX];
	struct stat st;
	bool is_new_dir;

	*is_new = false;
	if (!flush(w) || fsync(w->fd) != 0) {
		log_error("blobs", "blob_fsync_failed", LOG_S("path", w->path),
			  LOG_S("error", strerror(errno)), LOG_END);
		fb_write_abort(w);
		return BLOB_ERR_IO;
	}
	close(w->fd);
	w->fd = -1;
	if ((size_t)snprintf(sub, sizeof(sub), "%s/%.2s", fs->dir, sha) >= sizeof(sub) - 66) {
		fb_write_abort(w);
		return BLOB_ERR_IO;
	}
	snprintf(target, sizeof(target), "%.*s/%s", (int)(sizeof(sub) - 67), sub, sha);
	if (stat(target, &st) == 0) { /* deduplicated: identical content already stored */
		fb_write_abort(w);
		return BLOB_OK;
	}
	is_new_dir = stat(sub, &st) != 0;
	if (!ensure_dir(sub) || rename(w->path, target) != 0) {
		log_error("blobs", "blob_rename_failed", LOG_S("path", target),
			  LOG_S("error", strerror(errno)), LOG_END);
		fb_write_abort(w);
		return BLOB_ERR_IO;
	}
	free(w);
	if (!fsync_dir(sub) || (is_new_dir && !fsync_dir(fs->dir))) {
		log_error("blobs", "blob_dir_fsync_failed", LOG_S("path", sub),
			  LOG_S("error", strerror(errno)), LOG_END);
		return BLOB_ERR_IO;
	}
	*is_new = true;
	return BLOB_OK;
}

static enum blob_status fb_open_read(void *impl, const char *sha, int *fd, uint64_t *size)
{
	struct file_store *fs = impl;
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%.2s/%s", fs->dir, sha, sha);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? BLOB_ERR_NOT_FOUND : BLOB_ERR_IO;
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return BLOB_ERR_IO;
	}
	*size = (uint64_t)st.st_size;
	return BLOB_OK;
}

static enum blob_status fb_remove(void *impl, const char *sha)
{
	struct file_store *fs = impl;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%.2s/%s", fs->dir, sha, sha);
	if (unlink(path) != 0)
		return errno == ENOENT ? BLOB_ERR_NOT_FOUND : BLOB_ERR_IO;
	return BLOB_OK;
}

static void fb_free(void *impl)
{
	struct file_store *fs = impl;

	if (!fs)
		return;
	free(fs->dir);
	free(fs);
}

static const struct blob_backend_ops file_ops = {
	.name = "file",
	.write_open = fb_write_open,
	.write = fb_write,
	.write_commit = fb_write_commit,
	.write_abort = fb_write_abort,
	.open_read = fb_open_read,
	.remove = fb_remove,
	.free = fb_free,
};

/* Remove temp files a crashed process left behind (old ones only: another instance sharing the
 * directory may be writing the young ones). */
static void sweep_temp(const char *tmpdir)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	time_t now = time(NULL);
	int removed = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		if (strncmp(e->d_name, "upload-", 7) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name) >=
		    sizeof(path))
			continue;
		if (stat(path, &st) == 0 && now - st.st_mtime > STALE_TEMP_S && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		log_info("blobs", "blob_temp_swept", LOG_S("dir", tmpdir),
			 LOG_I("removed", removed), LOG_END);
}

struct blob_store *blob_store_file_new(const char *dir, char *err, size_t errlen)
{
	struct file_store *fs;
	char tmp[PATH_MAX];

	if (!dir || !*dir || strlen(dir) > PATH_MAX - 80) {
		snprintf(err, errlen, "BW_BLOB_DIR is empty or too long");
		return NULL;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp", dir) >= sizeof(tmp) || !ensure_dir(dir) ||
	    !ensure_dir(tmp)) {
		snprintf(err, errlen, "BW_BLOB_DIR %s: cannot create directory: %s", dir,
			 strerror(errno));
		return NULL;
	}
	if (access(tmp, W_OK) != 0) {
		snprintf(err, errlen, "BW_BLOB_DIR %s: not writable: %s", dir, strerror(errno));
		return NULL;
	}
	sweep_temp(tmp);
	fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->dir = strdup(dir))) {
		free(fs);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return blob_store_new(&file_ops, fs);
}
