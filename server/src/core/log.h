/* JSON-lines structured logger: one object per line on stderr, one locked write per line. */
#ifndef BW_CORE_LOG_H
#define BW_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

enum log_field_type { LOG_T_END = 0, LOG_T_STR, LOG_T_INT, LOG_T_DBL, LOG_T_BOOL };

struct log_field {
	enum log_field_type type;
	const char *key;
	const char *s;
	int64_t i;
	double d;
};

#define LOG_S(k, v) ((struct log_field){ LOG_T_STR, (k), (v), 0, 0 })
#define LOG_I(k, v) ((struct log_field){ LOG_T_INT, (k), NULL, (int64_t)(v), 0 })
#define LOG_D(k, v) ((struct log_field){ LOG_T_DBL, (k), NULL, 0, (double)(v) })
#define LOG_B(k, v) ((struct log_field){ LOG_T_BOOL, (k), NULL, (v) ? 1 : 0, 0 })
#define LOG_END ((struct log_field){ LOG_T_END, NULL, NULL, 0, 0 })

/* Set the global minimum level. */
void log_set_level(enum log_level level);
/* Parse "error|warn|info|debug"; returns false if unknown. */
bool log_level_parse(const char *s, enum log_level *out);
/* Set this thread's request id (borrowed: must outlive its use; NULL clears). */
void log_set_request_id(const char *request_id);
const char *log_get_request_id(void);
bool log_enabled(enum log_level level);

/* Emit one line. module and event are fixed identifiers; the variadic list is struct log_field
 * values terminated by LOG_END. */
void log_emit(enum log_level level, const char *module, const char *event, ...);

#define log_error(mod, ev, ...) log_emit(LOG_LEVEL_ERROR, mod, ev, __VA_ARGS__)
#define log_warn(mod, ev, ...) log_emit(LOG_LEVEL_WARN, mod, ev, __VA_ARGS__)
#define log_info(mod, ev, ...) log_emit(LOG_LEVEL_INFO, mod, ev, __VA_ARGS__)
#define log_debug(mod, ev, ...) log_emit(LOG_LEVEL_DEBUG, mod, ev, __VA_ARGS__)

#endif
