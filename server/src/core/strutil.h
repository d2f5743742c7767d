/* Bounded string helpers: identifier validation (AWS IoT rules), UTF-8 checks, bounded copies,
 * base64url and hex encoding. PURE: libc only. */
#ifndef BW_CORE_STRUTIL_H
#define BW_CORE_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

#define STRUTIL_THING_NAME_MAX 128
#define STRUTIL_GROUP_NAME_MAX 128
#define STRUTIL_JOB_ID_MAX 64
#define STRUTIL_SHADOW_NAME_MAX 64
#define STRUTIL_ATTR_KEY_MAX 128
#define STRUTIL_ATTR_VALUE_MAX 800

/* Thing name: 1..128 characters of [a-zA-Z0-9:_-]. NULL is invalid. */
bool strutil_is_valid_thing_name(const char *s);
/* Thing group name: same rule as a thing name. */
bool strutil_is_valid_group_name(const char *s);
/* Job id: 1..64 characters of [a-zA-Z0-9_-]. */
bool strutil_is_valid_job_id(const char *s);
/* Named shadow name: 1..64 characters of [a-zA-Z0-9:_$-]. */
bool strutil_is_valid_shadow_name(const char *s);
/* Attribute key: 1..128 characters of [a-zA-Z0-9_.:-]. */
bool strutil_is_valid_attr_key(const char *s);
/* Attribute value: 0..800 bytes of valid UTF-8 without control characters (U+0000..U+001F,
 * U+007F..U+009F). */
bool strutil_is_valid_attr_value(const char *s);

/* True if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF). NUL bytes inside the range are accepted (U+0000 is a valid character). */
bool strutil_is_utf8(const char *s, size_t len);

/* Copy src into dst (capacity size, NUL-terminated when size > 0), truncating if needed.
 * Returns strlen(src); a return value >= size means the copy was truncated. */
size_t strutil_lcpy(char *dst, const char *src, size_t size);

/* New NUL-terminated copy of at most n bytes of s (stops early at a NUL in s). Caller frees.
 * Returns NULL on OOM. */
char *strutil_dup_n(const char *s, size_t n);

/* base64url (RFC 4648 section 5) of data[0..len) without '=' padding. Caller frees.
 * Returns NULL on OOM. */
char *strutil_b64url_encode(const void *data, size_t len);

/* Decode unpadded base64url text. Rejects padding, characters outside the alphabet, impossible
 * lengths and non-zero trailing bits (only the canonical encoding is accepted).
 * On success *out (caller frees) holds *outlen bytes followed by an extra NUL byte.
 * On failure returns false and sets *out = NULL, *outlen = 0. */
bool strutil_b64url_decode(const char *s, void **out, size_t *outlen);

/* Lowercase hex of data[0..len). Caller frees. Returns NULL on OOM. */
char *strutil_hex_encode(const void *data, size_t len);

#endif
