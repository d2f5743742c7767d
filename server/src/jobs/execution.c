#include "jobs/execution.h"

#include <string.h>

#include "jobs/timeout.h"

static const struct {
	const char *name;
	bool is_terminal;
} statuses[] = {
#define X(e, name, term) { name, term },
	JOBS_EXEC_STATUS_LIST(X)
#undef X
};

const char *jobs_exec_status_name(enum jobs_exec_status s)
{
	if ((unsigned)s >= JOBS_EXEC__COUNT)
		return "";
	return statuses[s].name;
}

bool jobs_exec_status_parse(const char *name, enum jobs_exec_status *out)
{
	if (!name)
		return false;
	for (unsigned i = 0; i < JOBS_EXEC__COUNT; i++) {
		if (strcmp(name, statuses[i].name) == 0) {
			*out = (enum jobs_exec_status)i;
			return true;
		}
	}
	return false;
}

bool jobs_exec_status_is_terminal(enum jobs_exec_status s)
{
	return (unsigned)s < JOBS_EXEC__COUNT && statuses[s].is_terminal;
}

bool jobs_exec_status_is_device_settable(enum jobs_exec_status s)
{
	return s == JOBS_EXEC_IN_PROGRESS || s == JOBS_EXEC_SUCCEEDED || s == JOBS_EXEC_FAILED ||
	       s == JOBS_EXEC_REJECTED;
}

void jobs_execution_init(struct jobs_execution *e)
{
	memset(e, 0, sizeof(*e));
	e->status = JOBS_EXEC_QUEUED;
}

void jobs_execution_cleanup(struct jobs_execution *e)
{
	if (!e)
		return;
	json_decref(e->status_details);
	jobs_execution_init(e);
}

/* A stored map: NULL for absent or empty, else a deep copy. False on OOM. */
static bool copy_details(json_t **dst, const json_t *src)
{
	*dst = NULL;
	if (!src || !json_is_object(src) || json_object_size(src) == 0)
		return true;
	*dst = json_deep_copy(src);
	return *dst != NULL;
}

bool jobs_execution_copy(struct jobs_execution *dst, const struct jobs_execution *src)
{
	json_t *d;

	if (!copy_details(&d, src->status_details)) {
		jobs_execution_init(dst);
		return false;
	}
	*dst = *src;
	dst->status_details = d;
	return true;
}

bool jobs_execution_new_queued(struct jobs_execution *e, const char *job_id, const char *thing_name,
			       int64_t execution_number, int64_t seq, int64_t now_ms)
{
	jobs_execution_init(e);
	if (!strutil_is_valid_job_id(job_id) || !strutil_is_valid_thing_name(thing_name) ||
	    execution_number < 1)
		return false;
	strcpy(e->job_id, job_id);
	strcpy(e->thing_name, thing_name);
	e->status = JOBS_EXEC_QUEUED;
	e->queued_at_ms = now_ms;
	e->last_updated_at_ms = now_ms;
	e->version_number = 1;
	e->execution_number = execution_number;
	e->seq = seq;
	return true;
}

void jobs_update_init(struct jobs_update *u)
{
	memset(u, 0, sizeof(*u));
	u->status = JOBS_EXEC_IN_PROGRESS;
}

void jobs_update_cleanup(struct jobs_update *u)
{
	if (!u)
		return;
	json_decref(u->status_details);
	jobs_update_init(u);
}

enum jobs_err jobs_execution_check_transition(enum jobs_exec_status from, enum jobs_exec_status to)
{
	if ((unsigned)from >= JOBS_EXEC__COUNT || (unsigned)to >= JOBS_EXEC__COUNT)
		return JOBS_ERR_INVALID_REQUEST;
	if (to == JOBS_EXEC_CANCELED || to == JOBS_EXEC_TIMED_OUT || to == JOBS_EXEC_REMOVED)
		return JOBS_ERR_INVALID_REQUEST; /* never device-settable (spec 3.2 note) */
	if (jobs_exec_status_is_terminal(from) || to == JOBS_EXEC_QUEUED)
		return JOBS_ERR_INVALID_STATE_TRANSITION;
	if (from == JOBS_EXEC_IN_PROGRESS && to == JOBS_EXEC_REJECTED)
		return JOBS_ERR_INVALID_STATE_TRANSITION; /* FreeRTOS: refused once started */
	return JOBS_OK;
}

/* True if a request's statusDetails (NULL = absent) leave the stored map as it is. */
static bool details_unchanged(const json_t *stored, const json_t *requested)
{
	if (!requested)
		return true;
	if (json_object_size(requested) == 0)
		return !stored || json_object_size(stored) == 0;
	return stored && json_equal((json_t *)stored, (json_t *)requested);
}

bool jobs_execution_is_duplicate(const struct jobs_execution *cur, const struct jobs_update *u)
{
	if (u->status != cur->status || cur->status == JOBS_EXEC_QUEUED ||
	    !jobs_exec_status_is_device_settable(cur->status))
		return false;
	if (!details_unchanged(cur->status_details, u->status_details))
		return false;
	if (u->has_expected_version) {
		if (u->expected_version != cur->version_number - 1)
			return false;
	} else if (cur->status == JOBS_EXEC_IN_PROGRESS) {
		return false; /* a repeated IN_PROGRESS is a new update (spec 3.3) */
	}
	/* a store that keeps tokens tells retransmissions from new requests with equal content */
	if (cur->last_client_token[0] != '\0')
		return strcmp(cur->last_client_token, u->client_token) == 0;
	return true;
}

/* Replace next's details with a copy of requested (NULL = keep). False on OOM. */
static bool replace_details(struct jobs_execution *next, const json_t *requested)
{
	json_t *d;

	if (!requested)
		return true;
	if (!copy_details(&d, requested))
		return false;
	json_decref(next->status_details);
	next->status_details = d;
	return true;
}

/* Arm or cancel the step timer of an IN_PROGRESS execution from a request. */
static void apply_step_timeout(struct jobs_execution *next, const struct jobs_update *u,
			       int64_t now_ms)
{
	if (!u || !u->has_step_timeout)
		return;
	next->step_deadline_ms = jobs_timeout_step_deadline(now_ms, u->step_timeout_min,
							    next->in_progress_deadline_ms);
}

enum jobs_err jobs_execution_update(const struct jobs_execution *cur, const struct jobs_update *u,
				    int in_progress_timeout_min, int64_t now_ms,
				    struct jobs_execution *next, bool *is_duplicate)
{
	enum jobs_err err;

	*is_duplicate = false;
	jobs_execution_init(next);
	if (u->has_execution_number && u->execution_number != cur->execution_number)
		return JOBS_ERR_RESOURCE_NOT_FOUND;
	if (jobs_execution_is_duplicate(cur, u)) {
		*is_duplicate = true;
		return jobs_execution_copy(next, cur) ? JOBS_OK : JOBS_ERR_INTERNAL;
	}
	if (u->has_expected_version && u->expected_version != cur->version_number)
		return JOBS_ERR_VERSION_MISMATCH;
	err = jobs_execution_check_transition(cur->status, u->status);
	if (err != JOBS_OK)
		return err;
	if (!jobs_execution_copy(next, cur) || !replace_details(next, u->status_details)) {
		jobs_execution_cleanup(next);
		return JOBS_ERR_INTERNAL;
	}
	next->status = u->status;
	next->version_number = cur->version_number + 1;
	next->last_updated_at_ms = now_ms;
	if (u->status == JOBS_EXEC_IN_PROGRESS) {
		if (cur->status == JOBS_EXEC_QUEUED) {
			next->started_at_ms = now_ms;
			next->in_progress_deadline_ms =
				jobs_timeout_deadline(now_ms, in_progress_timeout_min);
		}
		apply_step_timeout(next, u, now_ms);
	} else {
		next->in_progress_deadline_ms = 0;
		next->step_deadline_ms = 0;
	}
	strcpy(next->last_client_token, u->client_token);
	return JOBS_OK;
}

enum jobs_err jobs_execution_start_next(const struct jobs_execution *cur,
					const struct jobs_update *u, int in_progress_timeout_min,
					int64_t now_ms, struct jobs_execution *next,
					bool *is_changed)
{
	*is_changed = false;
	jobs_execution_init(next);
	if (cur->status != JOBS_EXEC_QUEUED && cur->status != JOBS_EXEC_IN_PROGRESS)
		return JOBS_ERR_INVALID_STATE_TRANSITION;
	if (!jobs_execution_copy(next, cur))
		return JOBS_ERR_INTERNAL;
	if (cur->status == JOBS_EXEC_IN_PROGRESS) {
		if (u && u->has_step_timeout) {
			apply_step_timeout(next, u, now_ms);
			*is_changed = true;
		}
		return JOBS_OK;
	}
	if (u && !replace_details(next, u->status_details)) {
		jobs_execution_cleanup(next);
		return JOBS_ERR_INTERNAL;
	}
	next->status = JOBS_EXEC_IN_PROGRESS;
	next->started_at_ms = now_ms;
	next->last_updated_at_ms = now_ms;
	next->version_number = cur->version_number + 1;
	next->in_progress_deadline_ms = jobs_timeout_deadline(now_ms, in_progress_timeout_min);
	apply_step_timeout(next, u, now_ms);
	strcpy(next->last_client_token, u ? u->client_token : "");
	*is_changed = true;
	return JOBS_OK;
}

enum jobs_err jobs_execution_service(const struct jobs_execution *cur,
				     enum jobs_service_action action,
				     const struct jobs_service_opts *opts, int64_t now_ms,
				     struct jobs_execution *next)
{
	enum jobs_exec_status to;
	bool ok;

	jobs_execution_init(next);
	if (opts && opts->has_expected_version && opts->expected_version != cur->version_number)
		return JOBS_ERR_VERSION_MISMATCH;
	switch (action) {
	case JOBS_SERVICE_CANCEL:
		ok = cur->status == JOBS_EXEC_QUEUED;
		to = JOBS_EXEC_CANCELED;
		break;
	case JOBS_SERVICE_FORCE_CANCEL:
		ok = cur->status == JOBS_EXEC_QUEUED || cur->status == JOBS_EXEC_IN_PROGRESS;
		to = JOBS_EXEC_CANCELED;
		break;
	case JOBS_SERVICE_TIME_OUT:
		ok = jobs_execution_is_expired(cur, now_ms);
		to = JOBS_EXEC_TIMED_OUT;
		break;
	case JOBS_SERVICE_REMOVE:
		ok = cur->status == JOBS_EXEC_QUEUED || cur->status == JOBS_EXEC_IN_PROGRESS;
		to = JOBS_EXEC_REMOVED;
		break;
	default:
		return JOBS_ERR_INVALID_REQUEST;
	}
	if (!ok)
		return JOBS_ERR_INVALID_STATE_TRANSITION;
	if (!jobs_execution_copy(next, cur) ||
	    !replace_details(next, opts ? opts->status_details : NULL)) {
		jobs_execution_cleanup(next);
		return JOBS_ERR_INTERNAL;
	}
	next->status = to;
	next->version_number = cur->version_number + 1;
	next->last_updated_at_ms = now_ms;
	next->in_progress_deadline_ms = 0;
	next->step_deadline_ms = 0;
	if (action == JOBS_SERVICE_FORCE_CANCEL)
		next->force_canceled = true;
	return JOBS_OK;
}

int64_t jobs_execution_deadline_ms(const struct jobs_execution *e)
{
	int64_t a = e->in_progress_deadline_ms, b = e->step_deadline_ms;

	if (jobs_exec_status_is_terminal(e->status))
		return 0;
	if (a > 0 && b > 0)
		return a < b ? a : b;
	return a > 0 ? a : b > 0 ? b : 0;
}

bool jobs_execution_is_expired(const struct jobs_execution *e, int64_t now_ms)
{
	int64_t d = jobs_execution_deadline_ms(e);

	return e->status == JOBS_EXEC_IN_PROGRESS && d > 0 && d <= now_ms;
}

int64_t jobs_execution_seconds_before_timeout(const struct jobs_execution *e, int64_t now_ms)
{
	int64_t d = jobs_execution_deadline_ms(e);

	if (d <= 0)
		return -1;
	if (d <= now_ms)
		return 0;
	return (d - now_ms + 999) / 1000;
}
