/* documentSource (spec 3.10): S3 object URLs mapped to files under BW_JOB_DOCUMENT_DIR. */
#include "api/aws_iot_docsource.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "jobs/docsource.h"
#include "jobs/document.h"

/* A UTF-8 character is at most 4 bytes: a longer file cannot hold <= 32768 characters. */
#define DOC_MAX_BYTES ((size_t)JOBS_DOCUMENT_MAX_CHARS * 4)

static char root[PATH_MAX];
static bool is_enabled;

void aws_iot_docsource_init(const char *dir)
{
	char real[PATH_MAX];
	struct stat st;

	root[0] = '\0';
	is_enabled = dir && *dir;
	if (!is_enabled)
		return;
	if (realpath(dir, real) && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(root, sizeof(root), "%s", real);
		log_info("jobs", "job_document_dir", LOG_S("dir", root), LOG_END);
		return;
	}
	/* kept as given: documentSource then fails with InternalFailure until it exists */
	snprintf(root, sizeof(root), "%s", dir);
	log_warn("jobs", "job_document_dir_unusable", LOG_S("dir", dir),
		 LOG_S("error", errno ? strerror(errno) : "not a directory"), LOG_END);
}

bool aws_iot_docsource_is_enabled(void)
{
	return is_enabled;
}

static enum jobs_err invalid(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum jobs_err invalid(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return JOBS_ERR_INVALID_REQUEST;
}

static enum jobs_err internal(const struct jobs_docsource *ds, const char *what, int err)
{
	log_error("jobs", "job_document_read_failed", LOG_S("dir", root),
		  LOG_S("bucket", ds->bucket), LOG_S("key", ds->key), LOG_S("step", what),
		  LOG_S("error", strerror(err)), LOG_END);
	return JOBS_ERR_INTERNAL;
}

/* The reply for a failed fstatat/openat of one path component. */
static enum jobs_err step_error(const struct jobs_docsource *ds, int err, char *msg, size_t cap)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return invalid(msg, cap,
			       "/documentSource: no object %.63s/%.300s in the document store",
			       ds->bucket, ds->key);
	case ELOOP:
		return invalid(msg, cap,
			       "/documentSource: %.63s/%.300s is or passes through a symbolic link "
			       "(refused)",
			       ds->bucket, ds->key);
	case EACCES:
		return invalid(msg, cap,
			       "/documentSource: %.63s/%.300s cannot be read (permission denied)",
			       ds->bucket, ds->key);
	default:
		return internal(ds, "open", err);
	}
}

/*
 * Open the component name of directory dirfd without following a symbolic link: a directory,
 * or (is_last) the document, which must be a regular file. The type is checked before opening
 * (so no FIFO or device is ever opened) and again on the descriptor (the entry may have been
 * replaced in between). [out] fd.
 */
static enum jobs_err step(int dirfd, const char *name, bool is_last,
			  const struct jobs_docsource *ds, int *fd, char *msg, size_t cap)
{
	int flags =
		O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (is_last ? O_NONBLOCK | O_NOCTTY : O_DIRECTORY);
	struct stat st;

	*fd = -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return step_error(ds, errno, msg, cap);
	if (S_ISLNK(st.st_mode))
		return step_error(ds, ELOOP, msg, cap);
	if (!is_last && !S_ISDIR(st.st_mode))
		return step_error(ds, ENOTDIR, msg, cap);
	if (is_last && !S_ISREG(st.st_mode))
		return invalid(msg, cap, "/documentSource: %.63s/%.300s is not a regular file",
			       ds->bucket, ds->key);
	*fd = openat(dirfd, name, flags);
	if (*fd < 0)
		return step_error(ds, errno, msg, cap);
	if (fstat(*fd, &st) != 0 || (is_last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))) {
		close(*fd);
		*fd = -1;
		return invalid(msg, cap, "/documentSource: %.63s/%.300s is not a regular file",
			       ds->bucket, ds->key);
	}
	return JOBS_OK;
}

/* Open <root>/<bucket>/<key> one component at a time. [out] fd. */
static enum jobs_err open_document(struct jobs_docsource *ds, int *fd, char *msg, size_t cap)
{
	char path[JOBS_DOCSOURCE_KEY_MAX + 1];
	enum jobs_err err;
	int dirfd, next;
	char *seg, *slash;

	*fd = -1;
	dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return internal(ds, "open BW_JOB_DOCUMENT_DIR", errno);
	err = step(dirfd, ds->bucket, false, ds, &next, msg, cap);
	close(dirfd);
	if (err)
		return err;
	dirfd = next;
	memcpy(path, ds->key, sizeof(path)); /* split in place; ds->key stays whole for messages */
	for (seg = path;; seg = slash + 1) {
		slash = strchr(seg, '/');
		if (slash)
			*slash = '\0';
		err = step(dirfd, seg, !slash, ds, &next, msg, cap);
		close(dirfd);
		if (err)
			return err;
		if (!slash) {
			*fd = next;
			return JOBS_OK;
		}
		dirfd = next;
	}
}

/* Read fd to its end, refusing more than DOC_MAX_BYTES. [out] buf (malloc'd), len. */
static enum jobs_err read_document(int fd, const struct jobs_docsource *ds, char **buf, size_t *len,
				   char *msg, size_t cap)
{
	struct stat st;
	size_t n = 0;
	char *b;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return internal(ds, "fstat", errno);
	if ((uint64_t)st.st_size > DOC_MAX_BYTES)
		goto too_long;
	b = malloc(DOC_MAX_BYTES + 2);
	if (!b)
		return internal(ds, "allocate", ENOMEM);
	for (;;) {
		ssize_t r = read(fd, b + n, DOC_MAX_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			return internal(ds, "read", e);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > DOC_MAX_BYTES) { /* the file grew past the limit */
			free(b);
			goto too_long;
		}
	}
	b[n] = '\0';
	*buf = realloc(b, n + 1); /* give back the unused part of the read buffer */
	if (!*buf)
		*buf = b;
	*len = n;
	return JOBS_OK;
too_long:
	return invalid(msg, cap,
		       "/documentSource: %.63s/%.300s: document is longer than %d characters",
		       ds->bucket, ds->key, JOBS_DOCUMENT_MAX_CHARS);
}

enum jobs_err aws_iot_docsource_fetch(const char *url, char **text, char *msg, size_t msg_cap)
{
	struct jobs_docsource ds;
	enum jobs_err err;
	char why[256], *buf = NULL;
	size_t len = 0;
	int fd = -1;

	*text = NULL;
	if (!is_enabled)
		return invalid(
			msg, msg_cap,
			"/documentSource: documents from URLs are not enabled on this server "
			"(BW_JOB_DOCUMENT_DIR is not set); give document");
	if (jobs_docsource_parse(url, &ds, why, sizeof(why)) != JOBS_OK)
		return invalid(msg, msg_cap, "/documentSource: %s", why);
	if ((err = open_document(&ds, &fd, msg, msg_cap)))
		return err;
	err = read_document(fd, &ds, &buf, &len, msg, msg_cap);
	close(fd);
	if (err)
		return err;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return invalid(msg, msg_cap,
			       "/documentSource: %.63s/%.300s: document contains a NUL byte",
			       ds.bucket, ds.key);
	}
	err = jobs_document_parse(buf, len, NULL, why, sizeof(why));
	if (err == JOBS_ERR_INTERNAL) {
		free(buf);
		return internal(&ds, "parse", ENOMEM);
	}
	if (err) {
		free(buf);
		return invalid(msg, msg_cap, "/documentSource: %.63s/%.300s: %s", ds.bucket, ds.key,
			       why);
	}
	*text = buf;
	return JOBS_OK;
}
