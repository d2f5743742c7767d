#include "agent_config.h"

#include <stdlib.h>

static int merge(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)src, key, v) {
		json_t *cur = json_object_get(dst, key);

		if (json_is_null(v)) {
			json_object_del(dst, key);
		} else if (json_is_object(v) && json_is_object(cur)) {
			if (merge(cur, v) != 0)
				return -1;
		} else if (json_is_object(v)) {
			json_t *o = json_object();

			if (o == NULL || merge(o, v) != 0 ||
			    json_object_set_new(dst, key, o) != 0) {
				json_decref(o);
				return -1;
			}
		} else if (json_object_set(dst, key, v) != 0) {
			return -1;
		}
	}
	return 0;
}

char *agent_config_apply(json_t *store, const json_t *delta, int *is_oom)
{
	const json_t *cfg = json_object_get(delta, "config");
	json_t *doc;
	char *s;

	*is_oom = 0;
	if (!json_is_object(cfg) || !json_is_object(store))
		return NULL;
	if (merge(store, cfg) != 0) {
		*is_oom = 1;
		return NULL;
	}
	/* report what the delta asked for (nulls included): that clears exactly this delta */
	doc = json_pack("{s:{s:{s:O}}}", "state", "reported", "config", cfg);
	if (doc == NULL) {
		*is_oom = 1;
		return NULL;
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (s == NULL)
		*is_oom = 1;
	return s;
}

char *agent_health_report(const struct agent_health *h)
{
	json_t *health, *doc;
	size_t i;
	char *s;

	health = json_pack("{s:I,s:I,s:I}", "boot_count", (json_int_t)h->boot_count, "crash_count",
			   (json_int_t)h->crash_count, "uptime_s", (json_int_t)h->uptime_s);
	if (health == NULL)
		return NULL;
	for (i = 0; i < h->gauge_count && i < AGENT_GAUGES_MAX; i++) {
		if (json_object_set_new(health, h->gauge_names[i], json_real(h->gauge_values[i])) !=
		    0) {
			json_decref(health);
			return NULL;
		}
	}
	doc = json_pack("{s:{s:{s:o}}}", "state", "reported", "health", health);
	if (doc == NULL)
		return NULL;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}
