#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *router_percent_decode(const char *src, size_t len)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '%') {
			int h, l;
			if (i + 2 >= len)
				goto bad;
			h = hexval(src[i + 1]);
			l = hexval(src[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				goto bad;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = src[i];
		}
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Match one pattern against path; on success fill params. Returns true on match. */
static bool match_pattern(const char *pattern, const char *path, const char **names, char **values,
			  int *nparams)
{
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p && *s) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			const char *se = strchr(s, '/');
			if (!pe || n >= REQUEST_MAX_PARAMS)
				goto fail;
			if (!se)
				se = s + strlen(s);
			if (se == s)
				goto fail;
			/* the name is the pattern text between braces; store a pointer into the
			 * pattern with its length encoded by the closing brace */
			names[n] = p + 1;
			values[n] = router_percent_decode(s, (size_t)(se - s));
			if (!values[n])
				goto fail;
			n++;
			p = pe + 1;
			s = se;
			continue;
		}
		if (*p != *s)
			goto fail;
		p++;
		s++;
	}
	if (*p || *s)
		goto fail;
	*nparams = n;
	return true;
fail:
	for (int i = 0; i < n; i++) {
		free(values[i]);
		values[i] = NULL;
	}
	return false;
}

enum router_result router_match(const struct route *routes, size_t nroutes, const char *method,
				const char *path, const struct route **out,
				const char **param_names, char **param_values, int *nparams,
				char *allow, size_t allowlen)
{
	bool path_found = false;
	size_t used = 0;

	*out = NULL;
	*nparams = 0;
	if (allow && allowlen)
		allow[0] = '\0';
	for (size_t i = 0; i < nroutes; i++) {
		const char *names[REQUEST_MAX_PARAMS];
		char *values[REQUEST_MAX_PARAMS] = { 0 };
		int n = 0;
		if (!match_pattern(routes[i].pattern, path, names, values, &n))
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			for (int k = 0; k < n; k++) {
				param_names[k] = names[k];
				param_values[k] = values[k];
			}
			*nparams = n;
			*out = &routes[i];
			return ROUTER_MATCH;
		}
		for (int k = 0; k < n; k++)
			free(values[k]);
		path_found = true;
		if (allow && used + strlen(routes[i].method) + 3 < allowlen &&
		    !strstr(allow, routes[i].method)) {
			used += (size_t)snprintf(allow + used, allowlen - used, "%s%s",
						 used ? ", " : "", routes[i].method);
		}
	}
	return path_found ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}
