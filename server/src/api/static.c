/* Dashboard files: GET / and GET /ui/{file} from BW_STATIC_DIR, contained by realpath. */
#include "api/handlers.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"

#define STATIC_MAX_FILE (8 * 1024 * 1024)

static char static_root[PATH_MAX];

void api_static_set_dir(const char *dir)
{
	if (!realpath(dir, static_root))
		static_root[0] = '\0';
}

static const char *mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static void serve(struct reply *rep, const char *rel)
{
	char want[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t rootlen = strlen(static_root);
	FILE *f = NULL;
	struct buf b;
	char chunk[16384];
	size_t n;

	buf_init(&b);
	if (!static_root[0] ||
	    snprintf(want, sizeof(want), "%s/%s", static_root, rel) >= PATH_MAX ||
	    !realpath(want, real) || strncmp(real, static_root, rootlen) != 0 ||
	    real[rootlen] != '/' || stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "no such file");
		return;
	}
	if (st.st_size > STATIC_MAX_FILE || !(f = fopen(real, "rb"))) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "no such file");
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.is_oom) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
	} else {
		reply_raw(rep, 200, mime_type(real), b.data ? b.data : "", b.len);
		reply_header(rep, "Cache-Control", "no-cache");
		reply_header(rep, "X-Content-Type-Options", "nosniff");
	}
	buf_cleanup(&b);
}

void api_static_index(const struct request *req, struct reply *rep)
{
	(void)req;
	serve(rep, "index.html");
}

void api_static_file(const struct request *req, struct reply *rep)
{
	const char *file = request_param(req, "file");
	if (!file || !*file || file[0] == '.' || strchr(file, '/')) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "no such file");
		return;
	}
	serve(rep, file);
}
