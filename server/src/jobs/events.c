#include "jobs/events.h"

#include <stdlib.h>
#include <string.h>

#include "jobs/render.h"

int jobs_events_pending_cmp(const void *a, const void *b)
{
	const struct jobs_execution *x = *(const struct jobs_execution *const *)a;
	const struct jobs_execution *y = *(const struct jobs_execution *const *)b;
	int rx = x->status == JOBS_EXEC_IN_PROGRESS ? 0 : 1;
	int ry = y->status == JOBS_EXEC_IN_PROGRESS ? 0 : 1;

	if (rx != ry)
		return rx - ry;
	if (x->queued_at_ms != y->queued_at_ms)
		return x->queued_at_ms < y->queued_at_ms ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->job_id, y->job_id);
}

size_t jobs_events_pending_list(const struct jobs_execution **items, size_t n, size_t limit)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (items[i]->status == JOBS_EXEC_QUEUED ||
		    items[i]->status == JOBS_EXEC_IN_PROGRESS)
			items[k++] = items[i];
	}
	if (k > 1)
		qsort(items, k, sizeof(*items), jobs_events_pending_cmp);
	return k < limit ? k : limit;
}

static bool same_execution(const struct jobs_execution *a, const struct jobs_execution *b)
{
	return a->execution_number == b->execution_number && strcmp(a->job_id, b->job_id) == 0;
}

static bool contains(const struct jobs_execution *const *list, size_t n,
		     const struct jobs_execution *e)
{
	for (size_t i = 0; i < n; i++) {
		if (same_execution(list[i], e))
			return true;
	}
	return false;
}

void jobs_events_changes(const struct jobs_execution *const *before, size_t nb,
			 const struct jobs_execution *const *after, size_t na, bool *notify,
			 bool *notify_next)
{
	bool changed = nb != na;

	/* lists hold at most 15 entries: quadratic is fine */
	for (size_t i = 0; !changed && i < nb; i++)
		changed = !contains(after, na, before[i]);
	*notify = changed;
	if (nb == 0 || na == 0)
		*notify_next = nb != na;
	else
		*notify_next = !same_execution(before[0], after[0]);
}

json_t *jobs_events_notify(const struct jobs_execution *const *pending, size_t n, int64_t now_ms)
{
	json_t *o = json_object(), *jobs = json_object();

	if (!o || !jobs)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const char *name = jobs_exec_status_name(pending[i]->status);
		json_t *arr = json_object_get(jobs, name);

		if (!arr) {
			arr = json_array();
			if (json_object_set_new(jobs, name, arr))
				goto fail;
		}
		if (json_array_append_new(arr, jobs_render_summary(pending[i])))
			goto fail;
	}
	if (json_object_set_new(o, "timestamp", json_integer(jobs_render_seconds(now_ms))))
		goto fail;
	if (json_object_set_new(o, "jobs", jobs)) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(jobs);
	json_decref(o);
	return NULL;
}

json_t *jobs_events_notify_next(const struct jobs_execution *head, const json_t *doc,
				int64_t now_ms)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "timestamp", json_integer(jobs_render_seconds(now_ms))) ||
	    (head &&
	     json_object_set_new(o, "execution",
				 jobs_render_execution(head, doc, JOBS_PLANE_MQTT, now_ms)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
