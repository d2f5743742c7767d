#include "shadow/delta.h"

#include <math.h>
#include <stddef.h>

/* jansson's iteration API takes non-const pointers even for read-only walks. */
static json_t *mut(const json_t *j)
{
	return (json_t *)j;
}

/* An integer and a real are equal when the real is exactly that integer. */
static bool int_equals_real(json_int_t i, double r)
{
	if (!isfinite(r) || trunc(r) != r)
		return false;
	/* [-2^63, 2^63): outside it no json_int_t can match, and the cast would be undefined. */
	if (r < -9223372036854775808.0 || r >= 9223372036854775808.0)
		return false;
	return (json_int_t)r == i;
}

static bool numbers_equal(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_real(a) && json_is_real(b))
		return json_real_value(a) == json_real_value(b);
	if (json_is_integer(a))
		return int_equals_real(json_integer_value(a), json_real_value(b));
	return int_equals_real(json_integer_value(b), json_real_value(a));
}

bool shadow_json_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (json_is_number(a) && json_is_number(b))
		return numbers_equal(a, b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *av;

		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach(mut(a), key, av) {
			if (!shadow_json_equal(av, json_object_get(b, key)))
				return false;
		}
		return true;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(a);

		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++) {
			if (!shadow_json_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		}
		return true;
	}
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) && json_equal(mut(a), mut(b));
	default:
		/* true, false, null: equal types are equal values */
		return true;
	}
}

/* Adds to `out` the delta of object `desired` against `reported` (object or anything else). */
static int delta_into(json_t *out, const json_t *desired, const json_t *reported)
{
	const char *key;
	json_t *dv;

	json_object_foreach(mut(desired), key, dv) {
		json_t *rv = json_is_object(reported) ? json_object_get(reported, key) : NULL;
		json_t *v;

		if (json_is_null(dv))
			continue;
		if (json_is_object(dv) && json_is_object(rv)) {
			json_t *sub = json_object();

			if (!sub || delta_into(sub, dv, rv) < 0) {
				json_decref(sub);
				return -1;
			}
			if (json_object_size(sub) == 0) {
				json_decref(sub);
				continue;
			}
			if (json_object_set_new(out, key, sub) < 0)
				return -1;
			continue;
		}
		if (rv && shadow_json_equal(dv, rv))
			continue;
		v = json_deep_copy(dv);
		if (!v || json_object_set_new(out, key, v) < 0)
			return -1;
	}
	return 0;
}

json_t *shadow_compute_delta(const json_t *desired, const json_t *reported)
{
	json_t *out = json_object();

	if (!out)
		return NULL;
	if (json_is_object(desired) && delta_into(out, desired, reported) < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int delta_meta_into(json_t *out, const json_t *delta, const json_t *meta)
{
	const char *key;
	json_t *dv;

	json_object_foreach(mut(delta), key, dv) {
		json_t *mv = json_object_get(meta, key);
		json_t *v;

		if (!mv)
			continue;
		if (json_is_object(dv) && json_is_object(mv)) {
			v = json_object();
			if (!v || delta_meta_into(v, dv, mv) < 0) {
				json_decref(v);
				return -1;
			}
		} else {
			v = json_deep_copy(mv);
		}
		if (!v || json_object_set_new(out, key, v) < 0)
			return -1;
	}
	return 0;
}

json_t *shadow_delta_metadata(const json_t *delta, const json_t *meta_desired)
{
	json_t *out = json_object();

	if (!out)
		return NULL;
	if (json_is_object(delta) && json_is_object(meta_desired) &&
	    delta_meta_into(out, delta, meta_desired) < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
