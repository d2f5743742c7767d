/*
 * Config revert (issue 4): the update that turns the current desired section into the desired
 * section of an earlier version. PURE: libc + jansson.
 */
#ifndef BW_SHADOW_REVERT_H
#define BW_SHADOW_REVERT_H

#include <jansson.h>

#include "shadow/update.h"

/*
 * The value for "state.desired" of an update that, merged by shadow_apply_update(), turns desired
 * `cur` into `target` (either may be NULL = section absent; both are borrowed):
 *   - target NULL: JSON null (drop the section);
 *   - cur NULL: a copy of target;
 *   - else an object: null for every key of cur missing from target, nothing for keys whose
 *     values are equal (shadow_json_equal), a recursive patch where both values are non-empty
 *     objects, the target value otherwise. A key whose target value is {} while its current
 *     value is a non-empty object is deleted (a merge cannot empty an object and keep it), so
 *     such an empty object is not restored.
 * Unchanged leaves are thus not written and keep their metadata timestamps; an empty object
 * means "no change". Returns a new reference, or NULL on allocation failure.
 */
json_t *shadow_desired_patch(const json_t *cur, const json_t *target);

/*
 * Fill *out (initialised here) with the update {"state":{"desired": patch}} for
 * shadow_apply_update(): state owned, desired borrowed from it, no version check, no
 * clientToken. Returns 0, or -1 on allocation failure (out left empty).
 */
int shadow_revert_update(const json_t *cur, const json_t *target, struct shadow_update *out);

#endif
