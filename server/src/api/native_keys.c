/* snake_case <-> camelCase keys of native bodies: see native_keys.h. */
#include "api/native_keys.h"

#include <ctype.h>

bool api_snake_to_camel(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	bool up = false;

	for (; *in; in++) {
		if (*in == '_') {
			up = true;
			continue;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = up ? (char)toupper((unsigned char)*in) : *in;
		up = false;
	}
	out[n] = '\0';
	return true;
}

void api_camel_to_snake(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 2 < cap; in++) {
		if (isupper((unsigned char)*in)) {
			out[n++] = '_';
			out[n++] = (char)tolower((unsigned char)*in);
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

json_t *api_convert_keys(const json_t *v, bool to_camel)
{
	char key[API_NATIVE_KEY_MAX];
	const char *k;
	json_t *x, *out;
	size_t i;

	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)v, k, x) {
			if (to_camel) {
				if (!api_snake_to_camel(k, key, sizeof(key)))
					continue;
			} else {
				api_camel_to_snake(k, key, sizeof(key));
			}
			if (!out ||
			    json_object_set_new(out, key, api_convert_keys(x, to_camel)) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x) {
			if (!out ||
			    json_array_append_new(out, api_convert_keys(x, to_camel)) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	return json_deep_copy(v);
}
