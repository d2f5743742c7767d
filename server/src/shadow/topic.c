#include "shadow/topic.h"

#include <stdio.h>
#include <string.h>

#define THINGS_PREFIX "$aws/things/"

static const char *const op_names[] = { "get", "update", "delete" };

const char *shadow_op_name(enum shadow_op op)
{
	if ((unsigned)op >= sizeof(op_names) / sizeof(op_names[0]))
		return "?";
	return op_names[op];
}

/* Copy the level starting at *p (up to '/' or the end) into dst if it is shorter than size;
 * advance *p past the level and its '/'. Returns the level's length, or -1 if too long. */
static int take_level(const char **p, char *dst, size_t size)
{
	size_t n = strcspn(*p, "/");

	if (n >= size)
		return -1;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p += n;
	if (**p == '/')
		(*p)++;
	return (int)n;
}

static bool parse_op(const char *s, enum shadow_op *op)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*op = (enum shadow_op)i;
			return true;
		}
	}
	return false;
}

bool shadow_topic_parse(const char *topic, struct shadow_topic *out)
{
	const char *p;
	char level[16];
	size_t rest;

	memset(out, 0, sizeof(*out));
	if (!topic || strncmp(topic, THINGS_PREFIX, strlen(THINGS_PREFIX)) != 0)
		return false;
	p = topic + strlen(THINGS_PREFIX);
	if (take_level(&p, out->thing, sizeof(out->thing)) < 0 ||
	    !strutil_is_valid_thing_name(out->thing))
		goto fail;
	if (strncmp(p, "shadow/", 7) != 0)
		goto fail;
	p += 7;
	if (strncmp(p, "name/", 5) == 0) {
		p += 5;
		if (take_level(&p, out->name, sizeof(out->name)) < 0 ||
		    !strutil_is_valid_shadow_name(out->name))
			goto fail;
		out->is_named = true;
	}
	/* exactly one level left: the operation */
	rest = strlen(p);
	if (rest == 0 || rest >= sizeof(level) || strchr(p, '/'))
		goto fail;
	memcpy(level, p, rest + 1);
	if (!parse_op(level, &out->op))
		goto fail;
	return true;
fail:
	memset(out, 0, sizeof(*out));
	return false;
}

bool shadow_topic_format(char *out, size_t size, const char *thing, const char *name,
			 const char *suffix)
{
	int n;

	if (name && *name)
		n = snprintf(out, size, THINGS_PREFIX "%s/shadow/name/%s/%s", thing, name, suffix);
	else
		n = snprintf(out, size, THINGS_PREFIX "%s/shadow/%s", thing, suffix);
	if (n < 0 || (size_t)n >= size) {
		if (size)
			out[0] = '\0';
		return false;
	}
	return true;
}
