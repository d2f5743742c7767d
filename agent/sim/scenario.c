#include "scenario.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool fail(char *err, size_t cap, const char *msg)
{
	snprintf(err, cap, "%s", msg);
	return false;
}

static bool get_rate(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL)
		return true;
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return *out >= 0 && (*out <= 1 || strcmp(key, "flaps_per_hour") == 0) && isfinite(*out);
}

/* Applies the members present in o onto p. */
static bool parse_profile(const json_t *o, struct sim_profile *p)
{
	const json_t *v;

	if (o == NULL)
		return true;
	if (!json_is_object(o))
		return false;
	if (!get_rate(o, "reject", &p->reject) || !get_rate(o, "hang", &p->hang) ||
	    !get_rate(o, "corrupt", &p->corrupt) ||
	    !get_rate(o, "boot_failure", &p->boot_failure) ||
	    !get_rate(o, "self_test_failure", &p->self_test_failure) ||
	    !get_rate(o, "silent_fallback", &p->silent_fallback) ||
	    !get_rate(o, "crash_loop", &p->crash_loop) ||
	    !get_rate(o, "flaps_per_hour", &p->flaps_per_hour))
		return false;
	v = json_object_get(o, "link_bytes_per_s");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return false;
		p->link_bytes_per_s = json_integer_value(v);
	}
	return true;
}

static int64_t get_ms(const json_t *root, const char *key, int64_t def)
{
	const json_t *v = json_object_get(root, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : def;
}

static bool parse_cohort(const json_t *o, struct sim_cohort *c, char *err, size_t cap)
{
	const char *s;
	const json_t *v;

	if (!json_is_object(o))
		return fail(err, cap, "cohorts[]: not an object");
	s = json_string_value(json_object_get(o, "name"));
	snprintf(c->name, sizeof(c->name), "%s", s != NULL ? s : "default");
	s = json_string_value(json_object_get(o, "hardware_type"));
	snprintf(c->hardware_type, sizeof(c->hardware_type), "%s", s != NULL ? s : "sim-board");
	s = json_string_value(json_object_get(o, "firmware_version"));
	snprintf(c->version, sizeof(c->version), "%s", s != NULL ? s : "1.0.0");
	v = json_object_get(o, "security_version");
	c->security_version = json_is_integer(v) ? (uint32_t)json_integer_value(v) : 0;
	v = json_object_get(o, "share");
	c->share = json_is_number(v) ? json_number_value(v) : 1.0;
	if (!(c->share > 0))
		return fail(err, cap, "cohorts[].share must be > 0");
	if (!parse_profile(json_object_get(o, "failures"), &c->failures))
		return fail(err, cap, "cohorts[].failures: rates must be numbers in 0..1");
	v = json_object_get(o, "by_version");
	if (v != NULL && !json_is_object(v))
		return fail(err, cap, "cohorts[].by_version: not an object");
	c->by_version = json_incref((json_t *)v);
	return true;
}

bool sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t cap)
{
	json_error_t je;
	json_t *root, *cohorts, *v;
	double total = 0;
	size_t i, assigned = 0;
	bool ok = false;
	const char *s;

	memset(sc, 0, sizeof(*sc));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, cap, "%s:%d: %s", path, je.line, je.text);
		return false;
	}
	if (!json_is_object(root)) {
		fail(err, cap, "scenario is not an object");
		goto out;
	}
	v = json_object_get(root, "seed");
	sc->seed = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 1;
	v = json_object_get(root, "devices");
	sc->devices = json_is_integer(v) && json_integer_value(v) > 0
			      ? (size_t)json_integer_value(v)
			      : 100;
	s = json_string_value(json_object_get(root, "prefix"));
	snprintf(sc->prefix, sizeof(sc->prefix), "%s", s != NULL ? s : "sim-");
	v = json_object_get(root, "time_scale");
	sc->time_scale = json_is_number(v) && json_number_value(v) > 0 ? json_number_value(v) : 1;
	sc->confirm_delay_ms = get_ms(root, "confirm_delay_ms", 10000);
	sc->self_test_ms = get_ms(root, "self_test_ms", 2000);
	sc->reboot_ms = get_ms(root, "reboot_ms", 5000);
	sc->health_interval_ms = get_ms(root, "health_interval_ms", 60000);
	sc->progress_every_ms = get_ms(root, "progress_every_ms", 5000);
	sc->keepalive_s = (int)get_ms(root, "keepalive_s", 120);
	v = json_object_get(root, "by_version");
	if (v != NULL && !json_is_object(v)) {
		fail(err, cap, "by_version: not an object");
		goto out;
	}
	sc->by_version = json_incref(v);
	cohorts = json_object_get(root, "cohorts");
	if (cohorts == NULL) {
		json_t *empty = json_object();
		bool is_ok = empty != NULL && parse_cohort(empty, &sc->cohorts[0], err, cap);

		json_decref(empty);
		if (!is_ok)
			goto out;
		sc->cohort_count = 1;
	} else {
		if (!json_is_array(cohorts) || json_array_size(cohorts) == 0 ||
		    json_array_size(cohorts) > SIM_COHORTS_MAX) {
			fail(err, cap, "cohorts: an array of 1..32 objects");
			goto out;
		}
		json_array_foreach(cohorts, i, v) {
			if (!parse_cohort(v, &sc->cohorts[i], err, cap))
				goto out;
			sc->cohort_count++;
		}
	}
	for (i = 0; i < sc->cohort_count; i++)
		total += sc->cohorts[i].share;
	for (i = 0; i < sc->cohort_count; i++) {
		size_t n = (size_t)((double)sc->devices * sc->cohorts[i].share / total + 0.5);

		if (i + 1 == sc->cohort_count || assigned + n > sc->devices)
			n = sc->devices - assigned;
		sc->cohorts[i].count = n;
		assigned += n;
	}
	ok = true;
out:
	json_decref(root);
	if (!ok)
		sim_scenario_cleanup(sc);
	return ok;
}

void sim_scenario_cleanup(struct sim_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->cohort_count; i++)
		json_decref(sc->cohorts[i].by_version);
	json_decref(sc->by_version);
	memset(sc, 0, sizeof(*sc));
}

void sim_scenario_profile(const struct sim_scenario *sc, const struct sim_cohort *c,
			  const char *version, struct sim_profile *out)
{
	*out = c->failures;
	if (version == NULL || version[0] == '\0')
		return;
	/* fleet-wide first, then the cohort's own overrides win; both validated lazily */
	if (!parse_profile(json_object_get(sc->by_version, version), out) ||
	    !parse_profile(json_object_get(c->by_version, version), out))
		*out = c->failures;
}
