/*
 * Semantic version precedence (semver 2.0.0) for the device agent. PURE: libc only. The server
 * has its own copy (registry/semver); devices do not carry server code.
 */
#ifndef BW_AGENT_SEMVER_H
#define BW_AGENT_SEMVER_H

#include <stdbool.h>

/* True when s is a valid semver 2.0.0 string (MAJOR.MINOR.PATCH[-pre][+build]). */
bool agent_semver_is_valid(const char *s);

/*
 * Compares a and b by semver precedence (build metadata ignored). Returns -1, 0 or 1 in *out.
 * Returns false (and leaves *out alone) when either string is not valid semver.
 */
bool agent_semver_cmp(const char *a, const char *b, int *out);

#endif
