#include "jobs/schedule.h"

#define MS_PER_MIN INT64_C(60000)
#define MS_PER_DAY INT64_C(86400000)
#define HORIZON_MS (731 * MS_PER_DAY) /* never look further than two years */

const char *jobs_schedule_phase_name(enum jobs_schedule_phase p)
{
	switch (p) {
	case JOBS_SCHEDULE_ACTIVE:
		return "active";
	case JOBS_SCHEDULE_BEFORE_START:
		return "before_start";
	case JOBS_SCHEDULE_OUTSIDE_WINDOW:
		return "outside_window";
	case JOBS_SCHEDULE_ENDED:
		return "ended";
	}
	return "unknown";
}

/* End of the window of w open at t (the latest opening in (t - duration, t] plus the duration),
 * or -1 if w is not open at t. */
static int64_t window_end(const struct jobs_maintenance_window *w, int64_t t)
{
	int64_t dur = w->duration_min * MS_PER_MIN;
	int64_t open = jobs_cron_prev(&w->cron, t, t - dur + 1);

	return open < 0 ? -1 : open + dur;
}

bool jobs_schedule_in_window(const struct jobs_scheduling_config *c, int64_t now_ms,
			     int64_t *window_end_ms)
{
	int64_t end = -1, limit = now_ms + 2 * MS_PER_DAY;
	bool grew = true;

	if (window_end_ms)
		*window_end_ms = 0;
	/* the windows open at `end` extend it; repeat until no window reaches further */
	for (size_t i = 0; c && i < c->window_count; i++) {
		int64_t e = window_end(&c->windows[i], now_ms);

		if (e > end)
			end = e;
	}
	if (end < 0)
		return false;
	while (grew && end < limit) {
		grew = false;
		for (size_t i = 0; i < c->window_count; i++) {
			int64_t e = window_end(&c->windows[i], end);

			if (e > end) {
				end = e;
				grew = true;
			}
		}
	}
	if (window_end_ms)
		*window_end_ms = end;
	return true;
}

int64_t jobs_schedule_next_window(const struct jobs_scheduling_config *c, int64_t now_ms,
				  int64_t until_ms)
{
	int64_t best = -1;

	for (size_t i = 0; c && i < c->window_count; i++) {
		int64_t t = jobs_cron_next(&c->windows[i].cron, now_ms + 1,
					   best >= 0 ? best : until_ms);

		if (t >= 0 && (best < 0 || t < best))
			best = t;
	}
	return best;
}

enum jobs_schedule_phase jobs_schedule_phase(const struct jobs_scheduling_config *c, int64_t now_ms,
					     int64_t *next_change_ms)
{
	int64_t next = 0, until, t;

	if (next_change_ms)
		*next_change_ms = 0;
	if (!c)
		return JOBS_SCHEDULE_ACTIVE;
	if (c->start_ms && now_ms < c->start_ms) {
		if (next_change_ms)
			*next_change_ms = c->start_ms;
		return JOBS_SCHEDULE_BEFORE_START;
	}
	if (c->end_ms && now_ms >= c->end_ms)
		return JOBS_SCHEDULE_ENDED;
	if (c->window_count == 0) {
		if (next_change_ms)
			*next_change_ms = c->end_ms;
		return JOBS_SCHEDULE_ACTIVE;
	}
	if (jobs_schedule_in_window(c, now_ms, &next)) {
		if (c->end_ms && next > c->end_ms)
			next = c->end_ms;
		if (next_change_ms)
			*next_change_ms = next;
		return JOBS_SCHEDULE_ACTIVE;
	}
	until = c->end_ms ? c->end_ms : now_ms + HORIZON_MS;
	t = jobs_schedule_next_window(c, now_ms, until);
	if (next_change_ms)
		*next_change_ms = t >= 0 ? t : c->end_ms;
	return JOBS_SCHEDULE_OUTSIDE_WINDOW;
}

json_t *jobs_schedule_render_rollouts(const struct jobs_scheduling_config *c, int64_t now_ms)
{
	json_t *list = json_array();
	int64_t t = now_ms, until;
	char text[32];

	if (!list || !c)
		return list;
	until = c->end_ms ? c->end_ms : now_ms + HORIZON_MS;
	if (c->start_ms > t)
		t = c->start_ms - 1; /* openings from startTime on */
	for (int n = 0; n < JOBS_SCHEDULE_ROLLOUTS_SHOWN; n++) {
		t = jobs_schedule_next_window(c, t, until);
		if (t < 0)
			break;
		if (!jobs_cron_datetime_format(t, text, sizeof(text)) ||
		    json_array_append_new(list, json_pack("{s:s}", "startTime", text))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}
