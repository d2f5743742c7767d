/* Whether a release may be installed on a device: hardware compatibility, anti-rollback by
 * security version, and the minimum version a device must run to upgrade from. PURE: libc. */
#ifndef BW_FIRMWARE_COMPAT_H
#define BW_FIRMWARE_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum compat_result {
	COMPAT_OK = 0,
	COMPAT_HARDWARE_MISMATCH,  /* the device's hardware type is not in the release's list */
	COMPAT_SECURITY_DOWNGRADE, /* release security_version < the device's (anti-rollback) */
	COMPAT_BELOW_MIN_VERSION,  /* the device runs a version older than min_version (or an
				      unknown one while min_version is set) */
	COMPAT_NOT_NEWER,	   /* version <= current and downgrades were not allowed */
	COMPAT_INVALID_VERSION,	   /* a version string is not semver */
};

/* The release side. Strings borrowed. */
struct compat_release {
	const char *const *hardware_types;
	size_t nhardware_types;
	const char *version;
	const char *min_version; /* NULL: upgrade from any version */
	int64_t security_version;
};

/* The device side. Strings borrowed. */
struct compat_device {
	const char *hardware_type;	  /* NULL: unknown, treated as incompatible */
	const char *current_version;	  /* NULL: unknown */
	int64_t current_security_version; /* < 0: unknown */
};

/* Decide. allow_downgrade permits an older or equal version (reverting to a known-safe
 * release) but never a lower security version. The first failing rule is returned, in the
 * order of the enum. */
enum compat_result compat_check(const struct compat_release *rel, const struct compat_device *dev,
				bool allow_downgrade);
/* Stable snake_case name ("ok", "hardware_mismatch", ...). */
const char *compat_result_name(enum compat_result r);
/* One-sentence explanation for API replies. */
const char *compat_result_message(enum compat_result r);

#endif
