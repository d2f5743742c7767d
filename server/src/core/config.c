#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct config_option config_options[] = {
#define OPT(field, env, type, def, min, max, secret, help) \
	{ #field, env, CONFIG_##type, def, min, max, secret, help },
#include "core/options.def"
#undef OPT
};

const size_t config_options_count = sizeof(config_options) / sizeof(config_options[0]);

static const char *const type_names[] = { "str", "path", "int", "bool", "ms", "bytes" };

/* Pointer to the field of cfg that option i describes. */
static void *field_ptr(struct config *cfg, size_t i)
{
	size_t n = 0;
#define OPT(field, env, type, def, min, max, secret, help) \
	if (n++ == i)                                      \
		return &cfg->field;
#include "core/options.def"
#undef OPT
	return NULL;
}

static const void *field_cptr(const struct config *cfg, size_t i)
{
	return field_ptr((struct config *)cfg, i);
}

bool config_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	/* decimal digits with an optional '-': no whitespace or '+' that strtoll would accept */
	if (!s || !(isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

bool config_parse_bytes(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return false;
	if (*end) {
		if (strcasecmp(end, "k") == 0 || strcasecmp(end, "KiB") == 0 ||
		    strcasecmp(end, "KB") == 0)
			mult = 1024;
		else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "MiB") == 0 ||
			 strcasecmp(end, "MB") == 0)
			mult = 1024 * 1024;
		else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "GiB") == 0 ||
			 strcasecmp(end, "GB") == 0)
			mult = 1024LL * 1024 * 1024;
		else
			return false;
	}
	if (v > INT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

static bool set_index(struct config *cfg, size_t i, const char *value, char *err, size_t errlen)
{
	const struct config_option *o = &config_options[i];
	void *p = field_ptr(cfg, i);
	int64_t v = 0;
	bool ok;

	switch (o->type) {
	case CONFIG_STR:
	case CONFIG_PATH: {
		char *copy = strdup(value);
		if (!copy) {
			snprintf(err, errlen, "%s: out of memory", o->env);
			return false;
		}
		free(*(char **)p);
		*(char **)p = copy;
		return true;
	}
	case CONFIG_BOOL: {
		bool b;
		if (!config_parse_bool(value, &b)) {
			snprintf(err, errlen,
				 "%s: '%s' is not a boolean (true/false/1/0/yes/no/on/off)", o->env,
				 o->is_secret ? "***" : value);
			return false;
		}
		*(bool *)p = b;
		return true;
	}
	case CONFIG_BYTES:
		ok = config_parse_bytes(value, &v);
		if (!ok) {
			snprintf(err, errlen,
				 "%s: '%s' is not a size (e.g. 1048576, 512KiB, 8MiB, 2GiB)",
				 o->env, value);
			return false;
		}
		break;
	case CONFIG_INT:
	case CONFIG_MS:
		ok = config_parse_int(value, &v);
		if (!ok) {
			snprintf(err, errlen, "%s: '%s' is not an integer%s", o->env, value,
				 o->type == CONFIG_MS ? " (milliseconds)" : "");
			return false;
		}
		break;
	}
	if (o->min != o->max && (v < o->min || v > o->max)) {
		snprintf(err, errlen, "%s: %lld is out of range [%lld, %lld]", o->env, (long long)v,
			 (long long)o->min, (long long)o->max);
		return false;
	}
	*(int64_t *)p = v;
	return true;
}

void config_init(struct config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < config_options_count; i++) {
		if (!set_index(cfg, i, config_options[i].def, err, sizeof(err))) {
			/* a bad default is a programming error */
			fprintf(stderr, "bad default: %s\n", err);
			abort();
		}
	}
}

void config_cleanup(struct config *cfg)
{
	for (size_t i = 0; i < config_options_count; i++) {
		enum config_type t = config_options[i].type;
		if (t == CONFIG_STR || t == CONFIG_PATH) {
			char **p = field_ptr(cfg, i);
			free(*p);
			*p = NULL;
		}
	}
}

bool config_set(struct config *cfg, const char *env_name, const char *value, char *err,
		size_t errlen)
{
	for (size_t i = 0; i < config_options_count; i++) {
		if (strcmp(config_options[i].env, env_name) == 0)
			return set_index(cfg, i, value, err, errlen);
	}
	snprintf(err, errlen, "%s: unknown option", env_name);
	return false;
}

static void add_err(char *errs, size_t errlen, const char *msg)
{
	size_t used = strnlen(errs, errlen);
	if (used + 1 < errlen)
		snprintf(errs + used, errlen - used, "%s\n", msg);
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load_file(struct config *cfg, const char *path, char *errs, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	char err[512];
	int nerr = 0;
	int lineno = 0;

	if (!f) {
		snprintf(err, sizeof(err), "--config %s: %s", path, strerror(errno));
		add_err(errs, errlen, err);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;
		size_t len = strlen(line);
		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
			/* over-long line: report it and skip the rest of it */
			int c;
			snprintf(err, sizeof(err), "%s:%d: line longer than %zu bytes", path,
				 lineno, sizeof(line) - 2);
			add_err(errs, errlen, err);
			nerr++;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, sizeof(err), "%s:%d: expected KEY=value", path, lineno);
			add_err(errs, errlen, err);
			nerr++;
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && ((val[0] == '"' && val[vl - 1] == '"') ||
				(val[0] == '\'' && val[vl - 1] == '\''))) {
			val[vl - 1] = '\0';
			val++;
		}
		char msg[400];
		if (!config_set(cfg, key, val, msg, sizeof(msg))) {
			snprintf(err, sizeof(err), "%s:%d: %s", path, lineno, msg);
			add_err(errs, errlen, err);
			nerr++;
		}
	}
	if (ferror(f)) {
		snprintf(err, sizeof(err), "--config %s: read error (%s)", path, strerror(errno));
		add_err(errs, errlen, err);
		nerr++;
	}
	fclose(f);
	return nerr;
}

static bool is_known(const char *env_name)
{
	for (size_t i = 0; i < config_options_count; i++)
		if (strcmp(config_options[i].env, env_name) == 0)
			return true;
	return false;
}

int config_load_env(struct config *cfg, char *const *envp, char *errs, size_t errlen, char *warns,
		    size_t warnlen)
{
	int nerr = 0;
	char err[512];

	for (char *const *e = envp; e && *e; e++) {
		const char *eq;
		char name[128];
		if (strncmp(*e, "BW_", 3) != 0)
			continue;
		eq = strchr(*e, '=');
		if (!eq)
			continue;
		if ((size_t)(eq - *e) >= sizeof(name)) {
			snprintf(err, sizeof(err), "%.40s...: unknown option (ignored)", *e);
			if (warns)
				add_err(warns, warnlen, err);
			continue;
		}
		memcpy(name, *e, (size_t)(eq - *e));
		name[eq - *e] = '\0';
		if (!is_known(name)) {
			/* the environment is shared with other tools (BW_TEST_* in the test harness):
			 * an unknown name is worth a warning, not a refusal to start */
			snprintf(err, sizeof(err), "%s: unknown option (ignored)", name);
			if (warns)
				add_err(warns, warnlen, err);
			continue;
		}
		if (!config_set(cfg, name, eq + 1, err, sizeof(err))) {
			add_err(errs, errlen, err);
			nerr++;
		}
	}
	return nerr;
}

void config_print_help(FILE *f)
{
	fprintf(f, "Options (environment variable or KEY=value line in --config FILE):\n\n");
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *o = &config_options[i];
		fprintf(f, "  %-26s %-5s default %s%s\n      %s\n", o->env, type_names[o->type],
			*o->def ? o->def : "(empty)", o->is_secret ? " [secret]" : "", o->help);
	}
}

void config_print(const struct config *cfg, FILE *f)
{
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *o = &config_options[i];
		const void *p = field_cptr(cfg, i);
		fprintf(f, "%s=", o->env);
		switch (o->type) {
		case CONFIG_STR:
		case CONFIG_PATH: {
			const char *s = *(char *const *)p;
			fprintf(f, "%s\n", o->is_secret && s && *s ? "***" : (s ? s : ""));
			break;
		}
		case CONFIG_BOOL:
			fprintf(f, "%s\n", *(const bool *)p ? "true" : "false");
			break;
		default:
			fprintf(f, "%lld\n", (long long)*(const int64_t *)p);
		}
	}
}

void config_print_markdown(FILE *f)
{
	fprintf(f,
		"# Configuration\n\nGenerated from `server/src/core/options.def` by "
		"`bellwetherd print-config --markdown`. Each option is an environment variable "
		"or a `KEY=value` line in the file given with `--config`; the environment wins.\n\n");
	fprintf(f, "| Option | Type | Default | Range | Meaning |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *o = &config_options[i];
		fprintf(f, "| `%s` | %s | %s | ", o->env, type_names[o->type],
			*o->def ? o->def : "–");
		if (o->min != o->max)
			fprintf(f, "%lld..%lld", (long long)o->min, (long long)o->max);
		else
			fprintf(f, "–");
		fprintf(f, " | %s%s |\n", o->help, o->is_secret ? " (secret)" : "");
	}
}
