#include "jobs/render.h"

#include <stdlib.h>

int64_t jobs_render_seconds(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

/* obj[key] = value (stolen); false (value released) on failure or when value is NULL. */
static bool set(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

static bool set_seconds(json_t *obj, const char *key, int64_t ms)
{
	return set(obj, key, json_integer(jobs_render_seconds(ms)));
}

static bool has_details(const struct jobs_execution *e)
{
	return e->status_details && json_object_size(e->status_details) > 0;
}

static bool set_details(json_t *obj, const struct jobs_execution *e)
{
	return !has_details(e) || set(obj, "statusDetails", json_deep_copy(e->status_details));
}

/* Fields common to JobExecution and JobExecutionSummary. */
static bool set_times_and_numbers(json_t *o, const struct jobs_execution *e)
{
	return set_seconds(o, "queuedAt", e->queued_at_ms) &&
	       (e->started_at_ms <= 0 || set_seconds(o, "startedAt", e->started_at_ms)) &&
	       set_seconds(o, "lastUpdatedAt", e->last_updated_at_ms) &&
	       set(o, "versionNumber", json_integer(e->version_number)) &&
	       set(o, "executionNumber", json_integer(e->execution_number));
}

static json_t *document_value(const json_t *doc, enum jobs_plane plane)
{
	char *text;
	json_t *s;

	if (plane == JOBS_PLANE_MQTT)
		return json_incref((json_t *)doc);
	text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return NULL;
	s = json_string(text);
	free(text);
	return s;
}

json_t *jobs_render_execution(const struct jobs_execution *e, const json_t *doc,
			      enum jobs_plane plane, int64_t now_ms)
{
	json_t *o = json_object();
	int64_t left;

	if (!o)
		return NULL;
	if (!set(o, "jobId", json_string(e->job_id)))
		goto fail;
	if (plane == JOBS_PLANE_HTTP && !set(o, "thingName", json_string(e->thing_name)))
		goto fail;
	if (!set(o, "status", json_string(jobs_exec_status_name(e->status))) ||
	    !set_details(o, e) || !set_times_and_numbers(o, e))
		goto fail;
	left = jobs_execution_seconds_before_timeout(e, now_ms);
	if (plane == JOBS_PLANE_HTTP && left >= 0 &&
	    !set(o, "approximateSecondsBeforeTimedOut", json_integer(left)))
		goto fail;
	if (doc && !set(o, "jobDocument", document_value(doc, plane)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *jobs_render_summary(const struct jobs_execution *e)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (!set(o, "jobId", json_string(e->job_id)) || !set_times_and_numbers(o, e)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jobs_render_state(const struct jobs_execution *e)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (!set(o, "status", json_string(jobs_exec_status_name(e->status))) ||
	    !set_details(o, e) || !set(o, "versionNumber", json_integer(e->version_number))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jobs_render_execution_iot(const struct jobs_execution *e, const char *thing_arn,
				  int64_t now_ms)
{
	json_t *o = json_object(), *map;
	int64_t left;

	if (!o)
		return NULL;
	if (!set(o, "jobId", json_string(e->job_id)) ||
	    !set(o, "status", json_string(jobs_exec_status_name(e->status))) ||
	    !set(o, "forceCanceled", json_boolean(e->force_canceled)) ||
	    !set(o, "thingArn", json_string(thing_arn ? thing_arn : "")))
		goto fail;
	if (has_details(e)) {
		map = json_pack("{s:o}", "detailsMap", json_deep_copy(e->status_details));
		if (!set(o, "statusDetails", map))
			goto fail;
	}
	if (!set_times_and_numbers(o, e))
		goto fail;
	left = jobs_execution_seconds_before_timeout(e, now_ms);
	if (left >= 0 && !set(o, "approximateSecondsBeforeTimedOut", json_integer(left)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *jobs_render_summary_iot(const struct jobs_execution *e)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (!set(o, "status", json_string(jobs_exec_status_name(e->status))) ||
	    !set_seconds(o, "queuedAt", e->queued_at_ms) ||
	    (e->started_at_ms > 0 && !set_seconds(o, "startedAt", e->started_at_ms)) ||
	    !set_seconds(o, "lastUpdatedAt", e->last_updated_at_ms) ||
	    !set(o, "executionNumber", json_integer(e->execution_number)) ||
	    !set(o, "retryAttempt",
		 json_integer(e->retries.after_failed + e->retries.after_timed_out))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
