/*
 * Shadow delta (spec 6.5): what desired asks for that reported does not already say. PURE:
 * libc + jansson. All parameters are borrowed; returned json_t * are new references.
 */
#ifndef BW_SHADOW_DELTA_H
#define BW_SHADOW_DELTA_H

#include <stdbool.h>

#include <jansson.h>

/*
 * Value equality for delta purposes: numbers compare numerically (1 == 1.0, also inside arrays
 * and objects), arrays element by element in order, objects key by key regardless of order,
 * strings byte for byte. NULL equals only NULL.
 */
bool shadow_json_equal(const json_t *a, const json_t *b);

/*
 * Delta of desired against reported (spec 6.5), leaf by leaf: for every key of desired, if
 * reported lacks it the desired value is included; if both are objects the non-empty sub-delta
 * is included under the same key; otherwise (scalars, arrays as whole values, or a type
 * mismatch such as object vs scalar) the desired value is included when the two differ per
 * shadow_json_equal(). Keys only in reported never appear. A JSON null in desired means "absent"
 * and never produces a delta entry (stored documents hold no nulls). desired or reported may be
 * NULL (absent section).
 * Returns a new object, empty when in sync, or NULL on allocation failure.
 */
json_t *shadow_compute_delta(const json_t *desired, const json_t *reported);

/*
 * Metadata for a delta (spec 6.5: the desired-side metadata of each delta leaf): the subtree of
 * meta_desired at every path present in delta. Paths missing from meta_desired are skipped.
 * Returns a new object (empty if delta is empty or NULL) or NULL on allocation failure.
 */
json_t *shadow_delta_metadata(const json_t *delta, const json_t *meta_desired);

#endif
