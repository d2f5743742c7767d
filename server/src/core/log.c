#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"

static enum log_level min_level = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread const char *thread_request_id;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
	min_level = level;
}

bool log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_request_id(const char *request_id)
{
	thread_request_id = request_id;
}

const char *log_get_request_id(void)
{
	return thread_request_id;
}

bool log_enabled(enum log_level level)
{
	return level <= min_level;
}

void log_emit(enum log_level level, const char *module, const char *event, ...)
{
	struct buf b;
	struct timespec ts;
	struct tm tm;
	char when[40];
	va_list ap;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

	buf_init(&b);
	buf_printf(&b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"module\":", when,
		   ts.tv_nsec / 1000000, level_names[level]);
	buf_json_str(&b, module);
	buf_puts(&b, ",\"event\":");
	buf_json_str(&b, event);
	va_start(ap, event);
	for (;;) {
		struct log_field f = va_arg(ap, struct log_field);
		if (f.type == LOG_T_END)
			break;
		buf_putc(&b, ',');
		buf_json_str(&b, f.key ? f.key : "?");
		buf_putc(&b, ':');
		switch (f.type) {
		case LOG_T_STR:
			if (f.s)
				buf_json_str(&b, f.s);
			else
				buf_puts(&b, "null");
			break;
		case LOG_T_INT:
			buf_printf(&b, "%lld", (long long)f.i);
			break;
		case LOG_T_DBL:
			buf_printf(&b, "%.6g", f.d);
			break;
		case LOG_T_BOOL:
			buf_puts(&b, f.i ? "true" : "false");
			break;
		default:
			buf_puts(&b, "null");
		}
	}
	va_end(ap);
	buf_puts(&b, ",\"request_id\":");
	if (thread_request_id)
		buf_json_str(&b, thread_request_id);
	else
		buf_puts(&b, "null");
	buf_puts(&b, "}\n");

	if (b.data) {
		pthread_mutex_lock(&log_lock);
		ssize_t off = 0;
		while ((size_t)off < b.len) {
			ssize_t n = write(STDERR_FILENO, b.data + off, b.len - (size_t)off);
			if (n <= 0)
				break;
			off += n;
		}
		pthread_mutex_unlock(&log_lock);
	}
	buf_cleanup(&b);
}
