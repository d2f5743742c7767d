#include "firmware/compat.h"

#include <string.h>

#include "registry/semver.h"

enum compat_result compat_check(const struct compat_release *rel, const struct compat_device *dev,
				bool allow_downgrade)
{
	struct semver v, cur, min;
	bool is_hw = false;

	if (!semver_parse(rel->version, &v) ||
	    (rel->min_version && !semver_parse(rel->min_version, &min)) ||
	    (dev->current_version && !semver_parse(dev->current_version, &cur)))
		return COMPAT_INVALID_VERSION;
	for (size_t i = 0; dev->hardware_type && i < rel->nhardware_types; i++)
		if (strcmp(rel->hardware_types[i], dev->hardware_type) == 0)
			is_hw = true;
	if (!is_hw)
		return COMPAT_HARDWARE_MISMATCH;
	if (dev->current_security_version >= 0 &&
	    rel->security_version < dev->current_security_version)
		return COMPAT_SECURITY_DOWNGRADE;
	if (rel->min_version && (!dev->current_version || semver_compare(&cur, &min) < 0))
		return COMPAT_BELOW_MIN_VERSION;
	if (!allow_downgrade && dev->current_version && semver_compare(&v, &cur) <= 0)
		return COMPAT_NOT_NEWER;
	return COMPAT_OK;
}

const char *compat_result_name(enum compat_result r)
{
	switch (r) {
	case COMPAT_OK:
		return "ok";
	case COMPAT_HARDWARE_MISMATCH:
		return "hardware_mismatch";
	case COMPAT_SECURITY_DOWNGRADE:
		return "security_downgrade";
	case COMPAT_BELOW_MIN_VERSION:
		return "below_min_version";
	case COMPAT_NOT_NEWER:
		return "not_newer";
	case COMPAT_INVALID_VERSION:
		return "invalid_version";
	}
	return "unknown";
}

const char *compat_result_message(enum compat_result r)
{
	switch (r) {
	case COMPAT_OK:
		return "the release may be installed";
	case COMPAT_HARDWARE_MISMATCH:
		return "the release does not support this hardware type";
	case COMPAT_SECURITY_DOWNGRADE:
		return "the release's security version is lower than the device's (anti-rollback)";
	case COMPAT_BELOW_MIN_VERSION:
		return "the device must first run at least the release's min_version";
	case COMPAT_NOT_NEWER:
		return "the release is not newer than the device's version";
	case COMPAT_INVALID_VERSION:
		return "a version is not a valid semantic version";
	}
	return "unknown";
}
