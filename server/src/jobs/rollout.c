#include "jobs/rollout.h"

#include <string.h>

#define UNITS_PER_TOKEN INT64_C(60000) /* one token = rate x 1 minute / rate */

void jobs_rollout_state_init(struct jobs_rollout_state *st)
{
	memset(st, 0, sizeof(*st));
}

static bool is_limited(const struct jobs_rollout_config *cfg)
{
	return cfg && cfg->is_set;
}

int64_t jobs_rollout_rate_per_minute(const struct jobs_rollout_config *cfg, int64_t notified,
				     int64_t succeeded)
{
	int64_t k = 0, rate_x10;

	if (!is_limited(cfg))
		return JOBS_ROLLOUT_UNLIMITED;
	if (!cfg->is_exponential)
		return cfg->maximum_per_minute > 0 ? cfg->maximum_per_minute : 1;
	if (cfg->notified_things_step > 0 && notified > 0)
		k = notified / cfg->notified_things_step;
	if (cfg->succeeded_things_step > 0 && succeeded > 0 &&
	    succeeded / cfg->succeeded_things_step > k)
		k = succeeded / cfg->succeeded_things_step;
	/* base x factor^k in tenths of an execution, floored at each step; stops at the cap, so
	 * the loop runs at most ~70 times (factor >= 1.1) */
	rate_x10 = (int64_t)(cfg->base_rate_per_minute > 0 ? cfg->base_rate_per_minute : 1) * 10;
	for (int64_t i = 0; i < k && rate_x10 < JOBS_RATE_MAX * 10; i++)
		rate_x10 = rate_x10 * cfg->increment_factor_tenths / 10;
	if (rate_x10 > JOBS_RATE_MAX * 10)
		rate_x10 = JOBS_RATE_MAX * 10;
	return rate_x10 / 10 > 0 ? rate_x10 / 10 : 1;
}

/* Bucket content at now_ms, in units. */
static int64_t units_at(const struct jobs_rollout_config *cfg, const struct jobs_rollout_state *st,
			int64_t now_ms)
{
	int64_t rate = jobs_rollout_rate_per_minute(cfg, st->notified_things, st->succeeded_things);
	int64_t cap = rate * UNITS_PER_TOKEN, elapsed, units;

	if (!st->is_started)
		return cap;
	elapsed = now_ms - st->bucket_at_ms;
	if (elapsed < 0)
		elapsed = 0; /* clock stepped back (leader change): no refill, no loss */
	if (elapsed > UNITS_PER_TOKEN)
		elapsed = UNITS_PER_TOKEN; /* a full minute refills everything */
	units = st->bucket_units + elapsed * rate;
	return units > cap ? cap : units;
}

int64_t jobs_rollout_allowance(const struct jobs_rollout_config *cfg,
			       const struct jobs_rollout_state *st, int64_t now_ms)
{
	if (!is_limited(cfg))
		return JOBS_ROLLOUT_UNLIMITED;
	return units_at(cfg, st, now_ms) / UNITS_PER_TOKEN;
}

void jobs_rollout_commit(const struct jobs_rollout_config *cfg, struct jobs_rollout_state *st,
			 int64_t released, int64_t now_ms)
{
	int64_t units;

	if (released < 0)
		released = 0;
	if (is_limited(cfg)) {
		units = units_at(cfg, st, now_ms) - released * UNITS_PER_TOKEN;
		st->bucket_units = units > 0 ? units : 0;
		if (now_ms > st->bucket_at_ms || !st->is_started)
			st->bucket_at_ms = now_ms;
		st->is_started = true;
	}
	st->notified_things += released;
}

int64_t jobs_rollout_next_release_ms(const struct jobs_rollout_config *cfg,
				     const struct jobs_rollout_state *st, int64_t now_ms)
{
	int64_t rate, missing;

	if (!is_limited(cfg) || jobs_rollout_allowance(cfg, st, now_ms) >= 1)
		return now_ms;
	rate = jobs_rollout_rate_per_minute(cfg, st->notified_things, st->succeeded_things);
	missing = UNITS_PER_TOKEN - units_at(cfg, st, now_ms);
	return now_ms + (missing + rate - 1) / rate;
}
