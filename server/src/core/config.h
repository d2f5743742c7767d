/* Configuration: one option table (options.def); defaults -> config file -> environment. */
#ifndef BW_CORE_CONFIG_H
#define BW_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type { CONFIG_STR, CONFIG_PATH, CONFIG_INT, CONFIG_BOOL, CONFIG_MS, CONFIG_BYTES };

struct config {
#define OPT_FIELD_STR char *
#define OPT_FIELD_PATH char *
#define OPT_FIELD_INT int64_t
#define OPT_FIELD_BOOL bool
#define OPT_FIELD_MS int64_t
#define OPT_FIELD_BYTES int64_t
#define OPT(field, env, type, def, min, max, secret, help) OPT_FIELD_##type field;
#include "core/options.def"
#undef OPT
};

struct config_option {
	const char *field;
	const char *env;
	enum config_type type;
	const char *def;
	int64_t min;
	int64_t max;
	bool is_secret;
	const char *help;
};

/* The option table, in options.def order. */
extern const struct config_option config_options[];
extern const size_t config_options_count;

/* Fill cfg with defaults. */
void config_init(struct config *cfg);
/* Free strings owned by cfg. */
void config_cleanup(struct config *cfg);
/* Set one option by env name from a string. Returns false and writes a message naming the
 * option into err (size errlen) if the name is unknown or the value invalid. */
bool config_set(struct config *cfg, const char *env_name, const char *value, char *err,
		size_t errlen);
/* Parse a KEY=value file (# comments, blank lines). Appends one line per error to errs
 * (NUL-terminated, may be truncated). Returns the number of errors (file unreadable = 1). */
int config_load_file(struct config *cfg, const char *path, char *errs, size_t errlen);
/* Apply every BW_* variable of envp that names an option. Invalid values are errors (one line
 * each in errs); unknown BW_ names are warnings (one line each in warns, which may be NULL).
 * Returns the number of errors. */
int config_load_env(struct config *cfg, char *const *envp, char *errs, size_t errlen, char *warns,
		    size_t warnlen);
/* Parse helpers, exposed for tests. */
bool config_parse_bytes(const char *s, int64_t *out);
bool config_parse_bool(const char *s, bool *out);
bool config_parse_int(const char *s, int64_t *out);
/* Print --help text (option table) to f. */
void config_print_help(FILE *f);
/* Print effective configuration with secrets masked. */
void config_print(const struct config *cfg, FILE *f);
/* Render the option table as Markdown (docs/CONFIG.md). */
void config_print_markdown(FILE *f);

#endif
