#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

struct file_ctx {
	char dir[512];
	struct agent_boot_state st;
	int fd; /* image being written, -1 when none */
	char tmp[600];
};

static void slot_path(const struct file_ctx *c, int which, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/slot-%c.img", c->dir, which ? 'b' : 'a');
}

static int save_state(const struct file_ctx *c)
{
	char path[600], tmp[620];
	const struct agent_boot_state *s = &c->st;
	json_t *j;
	int fd, rc = -1;
	char *text = NULL;

	j = json_pack("{s:i,s:i,s:i,s:i,s:b,s:[b,b],s:[s,s],s:[I,I],s:I}", "active", s->active,
		      "pending", s->pending, "tries", s->tries, "running", s->running, "trial",
		      s->is_trial, "bad", s->is_bad[0], s->is_bad[1], "version", s->version[0],
		      s->version[1], "security_version", (json_int_t)s->security_version[0],
		      (json_int_t)s->security_version[1], "boot_count", (json_int_t)s->boot_count);
	if (j == NULL || (text = json_dumps(j, JSON_COMPACT)) == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/bootstate.json", c->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (write(fd, text, strlen(text)) == (ssize_t)strlen(text) && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
out:
	free(text);
	json_decref(j);
	return rc;
}

static int load_state(struct file_ctx *c)
{
	char path[600];
	json_t *j, *v;
	struct agent_boot_state *s = &c->st;
	int i;

	snprintf(path, sizeof(path), "%s/bootstate.json", c->dir);
	j = json_load_file(path, 0, NULL);
	if (j == NULL)
		return errno == ENOENT ? 1 : -1;
	memset(s, 0, sizeof(*s));
	s->active = (int)json_integer_value(json_object_get(j, "active")) ? 1 : 0;
	s->pending = (int)json_integer_value(json_object_get(j, "pending"));
	if (s->pending < -1 || s->pending > 1)
		s->pending = -1;
	s->tries = (int)json_integer_value(json_object_get(j, "tries"));
	s->running = (int)json_integer_value(json_object_get(j, "running")) ? 1 : 0;
	s->is_trial = json_is_true(json_object_get(j, "trial"));
	s->boot_count = (uint32_t)json_integer_value(json_object_get(j, "boot_count"));
	for (i = 0; i < 2; i++) {
		v = json_array_get(json_object_get(j, "version"), (size_t)i);
		snprintf(s->version[i], sizeof(s->version[i]), "%s",
			 json_is_string(v) ? json_string_value(v) : "");
		s->security_version[i] = (uint32_t)json_integer_value(
			json_array_get(json_object_get(j, "security_version"), (size_t)i));
		s->is_bad[i] = json_is_true(json_array_get(json_object_get(j, "bad"), (size_t)i));
	}
	json_decref(j);
	return 0;
}

static int f_boot(void *ctx, struct agent_slot_info *info)
{
	struct file_ctx *c = ctx;

	agent_boot_state_boot(&c->st, info);
	return save_state(c);
}

static int f_write_begin(void *ctx, uint64_t size_bytes)
{
	struct file_ctx *c = ctx;

	(void)size_bytes;
	if (c->fd >= 0)
		close(c->fd);
	snprintf(c->tmp, sizeof(c->tmp), "%s/slot-write.tmp", c->dir);
	c->fd = open(c->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return c->fd >= 0 ? 0 : -1;
}

static int f_write(void *ctx, const void *buf, size_t len)
{
	struct file_ctx *c = ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(c->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int f_write_end(void *ctx, bool is_commit)
{
	struct file_ctx *c = ctx;
	char path[600];
	int rc = 0;

	if (c->fd < 0)
		return -1;
	if (is_commit && fsync(c->fd) != 0)
		rc = -1;
	close(c->fd);
	c->fd = -1;
	if (!is_commit || rc != 0) {
		unlink(c->tmp);
		return is_commit ? -1 : 0;
	}
	slot_path(c, 1 - c->st.running, path, sizeof(path));
	return rename(c->tmp, path) == 0 ? 0 : -1;
}

static int f_mark_pending(void *ctx, const char *version, uint32_t security_version)
{
	struct file_ctx *c = ctx;

	agent_boot_state_mark_pending(&c->st, version, security_version);
	return save_state(c);
}

static int f_confirm(void *ctx)
{
	struct file_ctx *c = ctx;

	agent_boot_state_confirm(&c->st);
	return save_state(c);
}

static int f_rollback(void *ctx)
{
	struct file_ctx *c = ctx;

	agent_boot_state_rollback(&c->st);
	return save_state(c);
}

static void f_close(void *ctx)
{
	struct file_ctx *c = ctx;

	if (c == NULL)
		return;
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->tmp);
	}
	free(c);
}

static const struct agent_slot_ops file_ops = {
	.boot = f_boot,
	.write_begin = f_write_begin,
	.write = f_write,
	.write_end = f_write_end,
	.mark_pending = f_mark_pending,
	.confirm = f_confirm,
	.rollback = f_rollback,
	.close = f_close,
};

int slots_file_open(struct agent_slot *slot, const char *dir, const char *initial_version,
		    uint32_t initial_security_version, char *err, size_t cap)
{
	struct file_ctx *c;
	int rc;

	if (strlen(dir) >= sizeof(c->dir)) {
		snprintf(err, cap, "slot directory path too long");
		return -1;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, cap, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	c->fd = -1;
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	rc = load_state(c);
	if (rc < 0) {
		snprintf(err, cap, "%s/bootstate.json is unreadable", dir);
		free(c);
		return -1;
	}
	if (rc == 1) {
		agent_boot_state_init(&c->st, initial_version, initial_security_version);
		if (save_state(c) != 0) {
			snprintf(err, cap, "cannot write %s/bootstate.json: %s", dir,
				 strerror(errno));
			free(c);
			return -1;
		}
	}
	slot->ops = &file_ops;
	slot->ctx = c;
	return 0;
}

int slots_file_set_bad(struct agent_slot *slot, int which, bool is_bad)
{
	struct file_ctx *c = slot->ctx;

	c->st.is_bad[which ? 1 : 0] = is_bad;
	return save_state(c);
}

void slots_file_image_path(const struct agent_slot *slot, int which, char *buf, size_t cap)
{
	slot_path(slot->ctx, which, buf, cap);
}
