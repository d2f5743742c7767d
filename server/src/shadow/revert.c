#include "shadow/revert.h"

#include "shadow/delta.h"

/* jansson's iteration API takes non-const pointers even for read-only walks. */
static json_t *mut(const json_t *j)
{
	return (json_t *)j;
}

/* Patch between two objects; NULL on allocation failure. */
static json_t *object_patch(const json_t *cur, const json_t *target)
{
	json_t *out = json_object();
	const char *key;
	json_t *cv, *tv;

	if (!out)
		return NULL;
	json_object_foreach(mut(cur), key, cv) {
		if (!json_object_get(target, key) && json_object_set_new(out, key, json_null()) < 0)
			goto fail;
	}
	json_object_foreach(mut(target), key, tv) {
		json_t *v;

		cv = json_object_get(cur, key);
		if (cv && shadow_json_equal(cv, tv))
			continue;
		if (json_is_object(cv) && json_is_object(tv) && json_object_size(tv) > 0)
			v = object_patch(cv, tv);
		else if (json_is_object(cv) && json_object_size(cv) > 0 && json_is_object(tv))
			v = json_null(); /* {} over a non-empty object: see the header */
		else
			v = json_deep_copy(tv);
		if (!v || json_object_set_new(out, key, v) < 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

json_t *shadow_desired_patch(const json_t *cur, const json_t *target)
{
	if (!target)
		return json_null();
	if (!cur)
		return json_deep_copy(target);
	return object_patch(cur, target);
}

int shadow_revert_update(const json_t *cur, const json_t *target, struct shadow_update *out)
{
	json_t *patch;

	shadow_update_init(out);
	patch = shadow_desired_patch(cur, target);
	if (!patch)
		return -1;
	out->state = json_object();
	if (!out->state || json_object_set_new(out->state, "desired", patch) < 0) {
		json_decref(out->state);
		out->state = NULL;
		return -1;
	}
	out->desired = json_object_get(out->state, "desired");
	return 0;
}
