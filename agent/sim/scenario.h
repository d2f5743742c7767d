/*
 * bellwether-sim scenario files (JSON): the fleet (cohorts of devices with a hardware type and
 * firmware) and its failures. Example and every field: agent/README.md.
 */
#ifndef BW_SIM_SCENARIO_H
#define BW_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SIM_COHORTS_MAX 32

/* Failure probabilities (0..1) per update, and link conditions. */
struct sim_profile {
	double reject;		  /* device refuses the job (REJECTED) */
	double hang;		  /* starts, then never progresses (server times it out) */
	double corrupt;		  /* one downloaded byte flipped (sha256 mismatch -> FAILED) */
	double boot_failure;	  /* new image never boots: bootloader falls back -> FAILED */
	double self_test_failure; /* boots, self-test fails: rollback -> FAILED */
	double silent_fallback;	  /* reports SUCCEEDED, later boots the old image again */
	double crash_loop;	  /* SUCCEEDED, then crash_count keeps rising in health */
	double flaps_per_hour;	  /* abrupt network drops (MQTT and download) */
	int64_t link_bytes_per_s; /* download speed limit, 0 = unlimited */
};

struct sim_cohort {
	char name[64];
	double share; /* fraction of the fleet (normalised) */
	char hardware_type[129];
	char version[65];
	uint32_t security_version;
	struct sim_profile failures;
	json_t *by_version; /* {"<target version>": {profile overrides}} (owned) */
	size_t count;	    /* devices assigned */
};

struct sim_scenario {
	uint64_t seed;
	size_t devices;
	char prefix[64];	  /* thing name prefix, default "sim-" */
	double time_scale;	  /* divides every device-time duration below */
	int64_t confirm_delay_ms; /* device time */
	int64_t self_test_ms;
	int64_t reboot_ms;
	int64_t health_interval_ms;
	int64_t progress_every_ms;
	int keepalive_s;
	struct sim_cohort cohorts[SIM_COHORTS_MAX];
	size_t cohort_count;
	json_t *by_version; /* fleet-wide overrides per target version (owned) */
};

/* Loads a scenario file; false with err set on errors. */
bool sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t cap);

/* Frees what sc owns. */
void sim_scenario_cleanup(struct sim_scenario *sc);

/* The effective failure profile of cohort c for an update to version (may be ""). */
void sim_scenario_profile(const struct sim_scenario *sc, const struct sim_cohort *c,
			  const char *version, struct sim_profile *out);

#endif
