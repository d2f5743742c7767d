/*
 * Text rules shared by the Jobs modules (spec 1.1): UTF-8 decoding, character counts, the
 * "[^\p{C}]+" rule of statusDetails values and descriptions, and the identifier patterns that
 * core/strutil.h does not cover. PURE: libc only.
 */
#ifndef BW_JOBS_TEXT_H
#define BW_JOBS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOBS_STREAM_ID_MAX 128
#define JOBS_DETAILS_KEY_MAX 128

/* Decode the UTF-8 sequence at s[*i..len) into *cp and advance *i. Returns false (i unchanged)
 * on a malformed, overlong, surrogate or out-of-range sequence. */
bool jobs_text_utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp);

/* Number of code points in the well-formed UTF-8 text s[0..len); false if malformed. */
bool jobs_text_utf8_count(const char *s, size_t len, size_t *chars);

/* True if cp is in Unicode general category C as far as we check it: Cc (controls), Cf (format
 * characters, Unicode 15 list), Co (private use), Cs, and the noncharacters of Cn. Other
 * unassigned code points are accepted (no tables; the lenient reading of spec 1.1). */
bool jobs_text_is_category_c(uint32_t cp);

/* True if s[0..len) is well-formed UTF-8 of min_chars..max_chars code points, none of them in
 * category C (jobs_text_is_category_c). */
bool jobs_text_is_printable(const char *s, size_t len, size_t min_chars, size_t max_chars);

/* Stream id (spec 1.1): 1..128 characters of [a-zA-Z0-9_-]. NULL is invalid. */
bool jobs_text_is_valid_stream_id(const char *s);

/* statusDetails key (spec 1.1): 1..128 characters of [a-zA-Z0-9:_-]. */
bool jobs_text_is_valid_details_key(const char *s, size_t len);

/* CancelJob reasonCode (spec 1.1): 1..128 characters of [A-Z0-9_]. */
bool jobs_text_is_valid_reason_code(const char *s);

#endif
