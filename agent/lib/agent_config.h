/*
 * Device configuration from the shadow, and health reports. The config store is a JSON object
 * (a file on the device) that mirrors `desired.config` of the classic shadow: a delta's
 * `config` member is merged into it (null deletes a key) and the applied values are reported
 * back under `reported.config`, which clears the delta. Health goes to `reported.health`.
 * PURE: libc + jansson.
 */
#ifndef BW_AGENT_CONFIG_H
#define BW_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AGENT_GAUGES_MAX 8

/*
 * Merges delta->config (objects recursively, null deletes, anything else replaces) into store.
 * Returns the shadow update to publish ({"state":{"reported":{"config":<applied>}}}, malloc'd)
 * or NULL when the delta has no config member (or on OOM: *is_oom set).
 */
char *agent_config_apply(json_t *store, const json_t *delta, int *is_oom);

struct agent_health {
	uint32_t boot_count;
	uint32_t crash_count;
	uint64_t uptime_s;
	size_t gauge_count;
	const char *gauge_names[AGENT_GAUGES_MAX];
	double gauge_values[AGENT_GAUGES_MAX];
};

/* {"state":{"reported":{"health":{"boot_count","crash_count","uptime_s",<gauges>}}}}, malloc'd;
 * NULL on OOM. */
char *agent_health_report(const struct agent_health *h);

#endif
