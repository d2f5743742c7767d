/* Native REST bodies use snake_case keys for the AWS-shaped (camelCase) job settings. */
#ifndef BW_API_NATIVE_KEYS_H
#define BW_API_NATIVE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Longest key converted; longer keys are dropped by api_convert_keys. */
#define API_NATIVE_KEY_MAX 256

/* "maximum_per_minute" -> "maximumPerMinute"; false if it does not fit in cap. */
bool api_snake_to_camel(const char *in, char *out, size_t cap);
/* "maximumPerMinute" -> "maximum_per_minute" (truncated to cap). */
void api_camel_to_snake(const char *in, char *out, size_t cap);
/* Deep copy of v with every object key converted (to camelCase when to_camel, else to
 * snake_case). NULL on OOM. */
json_t *api_convert_keys(const json_t *v, bool to_camel);

#endif
