/* Semantic Versioning 2.0.0: strict parsing, precedence, and a sort key whose bytewise order
 * equals precedence (stored in Postgres as text COLLATE "C"). PURE: libc only. */
#ifndef BW_REGISTRY_SEMVER_H
#define BW_REGISTRY_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEMVER_LABEL_MAX 64 /* longest prerelease or build string, in bytes */
#define SEMVER_TEXT_MAX 256 /* longest version text accepted by semver_parse */
/* Buffer size that always holds a sort key (the longest key is 192 bytes + NUL). */
#define SEMVER_SORT_KEY_SIZE 200

struct semver {
	uint64_t major;
	uint64_t minor;
	uint64_t patch;
	char prerelease[SEMVER_LABEL_MAX + 1]; /* "" when absent, e.g. "rc.1" without the '-' */
	char build[SEMVER_LABEL_MAX + 1];      /* "" when absent, without the '+' */
};

/* Parse s strictly per semver.org 2.0.0: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], numeric parts
 * without leading zeros and within uint64, no leading 'v', no surrounding whitespace; prerelease
 * and build at most SEMVER_LABEL_MAX bytes each. Returns false (out zeroed) if s is invalid. */
bool semver_parse(const char *s, struct semver *out);

/* Precedence: <0, 0 or >0 as a is lower than, equal to or higher than b. Build metadata is
 * ignored, so 1.0.0+a and 1.0.0+b compare equal. */
int semver_compare(const struct semver *a, const struct semver *b);

/* Write v as version text ("1.2.3-rc.1+b5") into out. Returns false if outlen is too small. */
bool semver_format(const struct semver *v, char *out, size_t outlen);

/* Write the sort key of v into out (see semver_sort_key). Returns false if outlen is too small
 * (SEMVER_SORT_KEY_SIZE is always enough). */
bool semver_sort_key_of(const struct semver *v, char *out, size_t outlen);

/* Sort key of version text: for valid a and b, strcmp(key(a), key(b)) has the sign of
 * semver_compare(a, b). Printable ASCII. Layout: major, minor, patch as 20-digit zero-padded
 * numbers joined by '.', then '~' for a release or '-' followed by the encoded prerelease
 * identifiers (numeric: '#', two-digit length, digits; alphanumeric: '+', the identifier).
 * Returns false if version is not valid semver or outlen is too small. */
bool semver_sort_key(const char *version, char *out, size_t outlen);

#endif
