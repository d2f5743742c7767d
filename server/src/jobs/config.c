#include "jobs/config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/document.h"
#include "jobs/text.h"
#include "jobs/timeout.h"

#define MS_PER_MIN INT64_C(60000)
#define MS_PER_DAY INT64_C(86400000)
#define PTR_MAX 96 /* longest JSON pointer we build */

static const char *const failure_names[] = {
#define X(e, name) name,
	JOBS_FAILURE_TYPE_LIST(X)
#undef X
};
static const char *const selection_names[] = {
#define X(e, name) name,
	JOBS_TARGET_SELECTION_LIST(X)
#undef X
};
static const char *const end_names[] = {
#define X(e, name) name,
	JOBS_END_BEHAVIOR_LIST(X)
#undef X
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool lookup(const char *const *names, size_t n, const char *name, int *out)
{
	if (!name)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

const char *jobs_failure_type_name(enum jobs_failure_type t)
{
	return (unsigned)t < COUNT(failure_names) ? failure_names[t] : "";
}

bool jobs_failure_type_parse(const char *name, enum jobs_failure_type *out)
{
	int i;

	if (!lookup(failure_names, COUNT(failure_names), name, &i))
		return false;
	*out = (enum jobs_failure_type)i;
	return true;
}

const char *jobs_target_selection_name(enum jobs_target_selection t)
{
	return (unsigned)t < COUNT(selection_names) ? selection_names[t] : "";
}

bool jobs_target_selection_parse(const char *name, enum jobs_target_selection *out)
{
	int i;

	if (!lookup(selection_names, COUNT(selection_names), name, &i))
		return false;
	*out = (enum jobs_target_selection)i;
	return true;
}

const char *jobs_end_behavior_name(enum jobs_end_behavior b)
{
	return (unsigned)b < COUNT(end_names) ? end_names[b] : "";
}

bool jobs_end_behavior_parse(const char *name, enum jobs_end_behavior *out)
{
	int i;

	if (!lookup(end_names, COUNT(end_names), name, &i))
		return false;
	*out = (enum jobs_end_behavior)i;
	return true;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static enum jobs_err perr(char *msg, size_t cap, const char *ptr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "ptr: reason" (just the reason for the root, ptr "") into msg; returns
 * JOBS_ERR_INVALID_REQUEST. */
static enum jobs_err perr(char *msg, size_t cap, const char *ptr, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!msg || cap == 0)
		return JOBS_ERR_INVALID_REQUEST;
	n = *ptr ? snprintf(msg, cap, "%s: ", ptr) : 0;
	if (n >= 0 && (size_t)n < cap) {
		va_start(ap, fmt);
		vsnprintf(msg + n, cap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return JOBS_ERR_INVALID_REQUEST;
}

static enum jobs_err oom(char *msg, size_t cap)
{
	if (msg && cap > 0)
		snprintf(msg, cap, "out of memory");
	return JOBS_ERR_INTERNAL;
}

/* obj[key], or NULL when absent or JSON null. */
static const json_t *field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* JSON pointer "base/key" (keys here never need ~ escapes). Our pointers are far shorter than
 * PTR_MAX; one that did not fit would only shorten a message. */
static void ptr_join(char *out, const char *base, const char *key)
{
	if (snprintf(out, PTR_MAX, "%s/%s", base, key) >= PTR_MAX)
		out[PTR_MAX - 1] = '\0';
}

static void ptr_index(char *out, const char *base, const char *key, size_t i)
{
	if (snprintf(out, PTR_MAX, "%s/%s/%zu", base, key, i) >= PTR_MAX)
		out[PTR_MAX - 1] = '\0';
}

/* An integer written as 5 or 5.0 (spec 1.4). */
static bool get_integral(const json_t *v, int64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
		return false;
	*out = (int64_t)d;
	return true;
}

/* A number with at most `decimals` decimals (1 or 2), as an integer x 10^decimals. */
static bool get_decimal(const json_t *v, int decimals, int64_t *out)
{
	double scale = decimals == 1 ? 10.0 : 100.0, d, r;

	if (!json_is_number(v))
		return false;
	d = json_number_value(v) * scale;
	if (!isfinite(d) || fabs(d) > 9.0e15)
		return false;
	r = round(d);
	if (fabs(d - r) > 1e-6 * (fabs(d) > 1.0 ? fabs(d) : 1.0))
		return false;
	*out = (int64_t)r;
	return true;
}

/* Integer field in [lo, hi]; *present says whether it was given. */
static enum jobs_err int_field(const json_t *obj, const char *key, const char *base, int64_t lo,
			       int64_t hi, bool required, bool *present, int64_t *out, char *msg,
			       size_t cap)
{
	const json_t *v = field(obj, key);
	char ptr[PTR_MAX];

	*present = v != NULL;
	ptr_join(ptr, base, key);
	if (!v)
		return required ? perr(msg, cap, ptr, "is required") : JOBS_OK;
	if (!get_integral(v, out) || *out < lo || *out > hi)
		return perr(msg, cap, ptr, "must be an integer in %lld..%lld", (long long)lo,
			    (long long)hi);
	return JOBS_OK;
}

/* String field: checks type and, with max_chars > 0, 1..max_chars printable characters. */
static enum jobs_err string_field(const json_t *obj, const char *key, const char *base,
				  size_t min_chars, size_t max_chars, const char **out, char *msg,
				  size_t cap)
{
	const json_t *v = field(obj, key);
	char ptr[PTR_MAX];

	*out = NULL;
	if (!v)
		return JOBS_OK;
	ptr_join(ptr, base, key);
	if (!json_is_string(v))
		return perr(msg, cap, ptr, "must be a string");
	if (!jobs_text_is_printable(json_string_value(v), json_string_length(v), min_chars,
				    max_chars))
		return perr(msg, cap, ptr, "must be %zu..%zu characters without control characters",
			    min_chars, max_chars);
	*out = json_string_value(v);
	return JOBS_OK;
}

static enum jobs_err dup_string(const char *s, char **out, char *msg, size_t cap)
{
	*out = NULL;
	if (!s)
		return JOBS_OK;
	*out = strdup(s);
	return *out ? JOBS_OK : oom(msg, cap);
}

static enum jobs_err need_object(const json_t *v, const char *ptr, char *msg, size_t cap)
{
	return json_is_object(v) ? JOBS_OK : perr(msg, cap, ptr, "must be an object");
}

/* ---- single settings ---------------------------------------------------------------------- */

enum jobs_err jobs_config_parse_rollout(const json_t *v, const char *ptr,
					struct jobs_rollout_config *out, char *msg, size_t msg_cap)
{
	const json_t *max, *exp, *crit;
	char p[PTR_MAX], q[PTR_MAX];
	enum jobs_err err;
	bool present;
	int64_t n;

	memset(out, 0, sizeof(*out));
	if ((err = need_object(v, ptr, msg, msg_cap)))
		return err;
	max = field(v, "maximumPerMinute");
	exp = field(v, "exponentialRate");
	if (max && exp)
		return perr(msg, msg_cap, ptr,
			    "give either maximumPerMinute or exponentialRate, not both");
	if (max) {
		err = int_field(v, "maximumPerMinute", ptr, 1, JOBS_RATE_MAX, true, &present, &n,
				msg, msg_cap);
		if (err)
			return err;
		out->is_set = true;
		out->maximum_per_minute = (int)n;
		return JOBS_OK;
	}
	if (!exp)
		return JOBS_OK; /* {}: no rate limit */
	ptr_join(p, ptr, "exponentialRate");
	if ((err = need_object(exp, p, msg, msg_cap)))
		return err;
	err = int_field(exp, "baseRatePerMinute", p, 1, JOBS_RATE_MAX, true, &present, &n, msg,
			msg_cap);
	if (err)
		return err;
	out->base_rate_per_minute = (int)n;
	ptr_join(q, p, "incrementFactor");
	if (!field(exp, "incrementFactor"))
		return perr(msg, msg_cap, q, "is required");
	if (!get_decimal(field(exp, "incrementFactor"), 1, &n) || n < 11 || n > 50)
		return perr(msg, msg_cap, q, "must be 1.1..5 with at most one decimal");
	out->increment_factor_tenths = (int)n;
	crit = field(exp, "rateIncreaseCriteria");
	ptr_join(q, p, "rateIncreaseCriteria");
	if (!crit)
		return perr(msg, msg_cap, q, "is required");
	if ((err = need_object(crit, q, msg, msg_cap)))
		return err;
	err = int_field(crit, "numberOfNotifiedThings", q, 1, INT64_C(1) << 40, false, &present, &n,
			msg, msg_cap);
	if (err)
		return err;
	out->notified_things_step = present ? n : 0;
	err = int_field(crit, "numberOfSucceededThings", q, 1, INT64_C(1) << 40, false, &present,
			&n, msg, msg_cap);
	if (err)
		return err;
	out->succeeded_things_step = present ? n : 0;
	if (!out->notified_things_step && !out->succeeded_things_step)
		return perr(msg, msg_cap, q,
			    "needs numberOfNotifiedThings or numberOfSucceededThings");
	out->is_set = true;
	out->is_exponential = true;
	return JOBS_OK;
}

/* criteriaList: a non-empty array of at most max objects. */
static enum jobs_err criteria_list(const json_t *v, const char *ptr, size_t max,
				   const json_t **list, char *msg, size_t cap)
{
	char p[PTR_MAX];
	enum jobs_err err;

	if ((err = need_object(v, ptr, msg, cap)))
		return err;
	*list = field(v, "criteriaList");
	ptr_join(p, ptr, "criteriaList");
	if (!*list)
		return perr(msg, cap, p, "is required");
	if (!json_is_array(*list) || json_array_size(*list) < 1 || json_array_size(*list) > max)
		return perr(msg, cap, p, "must be an array of 1..%zu criteria", max);
	return JOBS_OK;
}

static enum jobs_err failure_type_field(const json_t *c, const char *base, bool allow_rejected,
					enum jobs_failure_type *out, char *msg, size_t cap)
{
	const json_t *t = field(c, "failureType");
	char p[PTR_MAX];

	ptr_join(p, base, "failureType");
	if (!t)
		return perr(msg, cap, p, "is required");
	if (!json_is_string(t) || !jobs_failure_type_parse(json_string_value(t), out) ||
	    (!allow_rejected && *out == JOBS_FAILURE_REJECTED))
		return perr(msg, cap, p,
			    allow_rejected ? "must be FAILED, REJECTED, TIMED_OUT or ALL"
					   : "must be FAILED, TIMED_OUT or ALL");
	return JOBS_OK;
}

enum jobs_err jobs_config_parse_abort(const json_t *v, const char *ptr,
				      struct jobs_abort_config *out, char *msg, size_t msg_cap)
{
	const json_t *list, *c, *a;
	enum jobs_err err;
	char base[PTR_MAX], p[PTR_MAX];
	bool present;
	int64_t n;
	size_t i;

	memset(out, 0, sizeof(*out));
	if ((err = criteria_list(v, ptr, JOBS_ABORT_CRITERIA_MAX, &list, msg, msg_cap)))
		return err;
	json_array_foreach(list, i, c) {
		struct jobs_abort_criterion *cr = &out->criteria[i];

		ptr_index(base, ptr, "criteriaList", i);
		if ((err = need_object(c, base, msg, msg_cap)) ||
		    (err = failure_type_field(c, base, true, &cr->failure_type, msg, msg_cap)))
			goto fail;
		for (size_t k = 0; k < i; k++) {
			if (out->criteria[k].failure_type == cr->failure_type) {
				err = perr(msg, msg_cap, base, "failureType %s given twice",
					   jobs_failure_type_name(cr->failure_type));
				goto fail;
			}
		}
		a = field(c, "action");
		ptr_join(p, base, "action");
		if (!a || !json_is_string(a) || strcmp(json_string_value(a), "CANCEL") != 0) {
			err = perr(msg, msg_cap, p, "must be CANCEL");
			goto fail;
		}
		ptr_join(p, base, "thresholdPercentage");
		if (!field(c, "thresholdPercentage")) {
			err = perr(msg, msg_cap, p, "is required");
			goto fail;
		}
		if (!get_decimal(field(c, "thresholdPercentage"), 2, &n) || n < 0 || n > 10000) {
			err = perr(msg, msg_cap, p, "must be 0..100 with at most two decimals");
			goto fail;
		}
		cr->threshold_hundredths = (int)n;
		err = int_field(c, "minNumberOfExecutedThings", base, 1, INT64_C(1) << 40, true,
				&present, &n, msg, msg_cap);
		if (err)
			goto fail;
		cr->min_executed_things = n;
		out->count = i + 1;
	}
	return JOBS_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

enum jobs_err jobs_config_parse_timeout(const json_t *v, const char *ptr,
					struct jobs_timeout_config *out, char *msg, size_t msg_cap)
{
	enum jobs_err err;
	bool present;
	int64_t n;

	memset(out, 0, sizeof(*out));
	if ((err = need_object(v, ptr, msg, msg_cap)))
		return err;
	err = int_field(v, "inProgressTimeoutInMinutes", ptr, JOBS_TIMEOUT_MIN_MINUTES,
			JOBS_TIMEOUT_MAX_MINUTES, false, &present, &n, msg, msg_cap);
	if (err)
		return err;
	out->in_progress_timeout_min = present ? (int)n : 0;
	return JOBS_OK;
}

enum jobs_err jobs_config_parse_retry(const json_t *v, const char *ptr,
				      struct jobs_retry_config *out, char *msg, size_t msg_cap)
{
	const json_t *list, *c;
	enum jobs_err err;
	char base[PTR_MAX];
	bool present;
	int64_t n;
	size_t i;

	memset(out, 0, sizeof(*out));
	if ((err = criteria_list(v, ptr, JOBS_RETRY_CRITERIA_MAX, &list, msg, msg_cap)))
		return err;
	json_array_foreach(list, i, c) {
		struct jobs_retry_criterion *cr = &out->criteria[i];

		ptr_index(base, ptr, "criteriaList", i);
		if ((err = need_object(c, base, msg, msg_cap)) ||
		    (err = failure_type_field(c, base, false, &cr->failure_type, msg, msg_cap)))
			goto fail;
		if (i == 1 && out->criteria[0].failure_type == cr->failure_type) {
			err = perr(msg, msg_cap, base, "failureType %s given twice",
				   jobs_failure_type_name(cr->failure_type));
			goto fail;
		}
		err = int_field(c, "numberOfRetries", base, 0, JOBS_RETRY_MAX, true, &present, &n,
				msg, msg_cap);
		if (err)
			goto fail;
		cr->number_of_retries = (int)n;
		out->count = i + 1;
	}
	return JOBS_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

enum jobs_err jobs_config_parse_windows(const json_t *v, const char *ptr,
					struct jobs_scheduling_config *out, char *msg,
					size_t msg_cap)
{
	const json_t *w;
	char base[PTR_MAX], p[PTR_MAX], why[128];
	enum jobs_err err;
	bool present;
	int64_t n;
	size_t i;

	out->window_count = 0;
	if (!json_is_array(v) || json_array_size(v) > JOBS_MAINTENANCE_WINDOWS_MAX)
		return perr(msg, msg_cap, ptr, "must be an array of at most %d windows",
			    JOBS_MAINTENANCE_WINDOWS_MAX);
	json_array_foreach(v, i, w) {
		struct jobs_maintenance_window *mw = &out->windows[i];
		const json_t *start;

		if (snprintf(base, sizeof(base), "%s/%zu", ptr, i) >= (int)sizeof(base))
			base[sizeof(base) - 1] = '\0';
		if ((err = need_object(w, base, msg, msg_cap)))
			goto fail;
		start = field(w, "startTime");
		ptr_join(p, base, "startTime");
		if (!start || !json_is_string(start)) {
			err = perr(msg, msg_cap, p, "must be a cron(...) expression");
			goto fail;
		}
		if (!jobs_cron_parse(json_string_value(start), &mw->cron, why, sizeof(why))) {
			err = perr(msg, msg_cap, p, "%s", why);
			goto fail;
		}
		strcpy(mw->start, json_string_value(start)); /* length checked by the parser */
		err = int_field(w, "durationInMinutes", base, 1, JOBS_WINDOW_MAX_MINUTES, true,
				&present, &n, msg, msg_cap);
		if (err)
			goto fail;
		mw->duration_min = (int)n;
		out->window_count = i + 1;
	}
	return JOBS_OK;
fail:
	out->window_count = 0;
	return err;
}

static enum jobs_err time_field(const json_t *v, const char *key, const char *base, int64_t *out,
				char *msg, size_t cap)
{
	const json_t *t = field(v, key);
	char p[PTR_MAX];

	*out = 0;
	if (!t)
		return JOBS_OK;
	ptr_join(p, base, key);
	if (!json_is_string(t) || !jobs_cron_datetime_parse(json_string_value(t), out))
		return perr(msg, cap, p, "must be a UTC time YYYY-MM-DDTHH:MM");
	return JOBS_OK;
}

enum jobs_err jobs_config_parse_scheduling(const json_t *v, const char *ptr, bool check_times,
					   int64_t now_ms, struct jobs_scheduling_config *out,
					   char *msg, size_t msg_cap)
{
	const json_t *b, *w;
	char p[PTR_MAX];
	enum jobs_err err;
	int64_t earliest;

	memset(out, 0, sizeof(*out));
	if ((err = need_object(v, ptr, msg, msg_cap)) ||
	    (err = time_field(v, "startTime", ptr, &out->start_ms, msg, msg_cap)) ||
	    (err = time_field(v, "endTime", ptr, &out->end_ms, msg, msg_cap)))
		goto fail;
	b = field(v, "endBehavior");
	if (b) {
		ptr_join(p, ptr, "endBehavior");
		if (!json_is_string(b) ||
		    !jobs_end_behavior_parse(json_string_value(b), &out->end_behavior)) {
			err = perr(msg, msg_cap, p, "must be STOP_ROLLOUT, CANCEL or FORCE_CANCEL");
			goto fail;
		}
		out->has_end_behavior = true;
	}
	w = field(v, "maintenanceWindows");
	if (w) {
		ptr_join(p, ptr, "maintenanceWindows");
		if ((err = jobs_config_parse_windows(w, p, out, msg, msg_cap)))
			goto fail;
	}
	if (out->start_ms && out->end_ms && out->end_ms < out->start_ms + 30 * MS_PER_MIN) {
		ptr_join(p, ptr, "endTime");
		err = perr(msg, msg_cap, p, "must be at least 30 minutes after startTime");
		goto fail;
	}
	if (!check_times)
		return JOBS_OK;
	/* times have minute precision: one minute of slack on the lower bounds */
	if (out->start_ms) {
		ptr_join(p, ptr, "startTime");
		if (out->start_ms + MS_PER_MIN < now_ms + 30 * MS_PER_MIN) {
			err = perr(msg, msg_cap, p, "must be at least 30 minutes ahead");
			goto fail;
		}
		if (out->start_ms > now_ms + 366 * MS_PER_DAY) {
			err = perr(msg, msg_cap, p, "must be at most one year ahead");
			goto fail;
		}
	}
	if (out->end_ms) {
		ptr_join(p, ptr, "endTime");
		earliest = (out->start_ms ? out->start_ms : now_ms) + 30 * MS_PER_MIN;
		if (out->end_ms + MS_PER_MIN < earliest) {
			err = perr(msg, msg_cap, p, "must be at least 30 minutes ahead");
			goto fail;
		}
		if (out->end_ms > now_ms + 731 * MS_PER_DAY) {
			err = perr(msg, msg_cap, p, "must be at most two years ahead");
			goto fail;
		}
	}
	return JOBS_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

/* ---- ARNs --------------------------------------------------------------------------------- */

/* The resource part of an ARN: what follows "arn:" and four more ':'-terminated fields. */
static const char *arn_resource(const char *arn)
{
	const char *p = arn;

	if (!arn || strncmp(arn, "arn:", 4) != 0)
		return NULL;
	for (int k = 0; k < 5; k++) {
		p = strchr(p, ':');
		if (!p)
			return NULL;
		p++;
	}
	return p;
}

bool jobs_config_parse_target_arn(const char *arn, enum jobs_target_type *type, char *name,
				  size_t name_cap)
{
	const char *r = arn_resource(arn), *n;

	if (name_cap > 0)
		name[0] = '\0';
	if (!r)
		return false;
	if (strncmp(r, "thing/", 6) == 0) {
		*type = JOBS_TARGET_THING;
		n = r + 6;
	} else if (strncmp(r, "thinggroup/", 11) == 0) {
		*type = JOBS_TARGET_THING_GROUP;
		n = r + 11;
	} else {
		return false;
	}
	if (!strutil_is_valid_thing_name(n) || strlen(n) >= name_cap)
		return false;
	strcpy(name, n);
	return true;
}

bool jobs_config_parse_id_arn(const char *arn, const char *kind, char *id, size_t id_cap)
{
	const char *r = arn_resource(arn);
	size_t k = strlen(kind);

	if (id_cap > 0)
		id[0] = '\0';
	if (!r || strncmp(r, kind, k) != 0 || r[k] != '/' || !strutil_is_valid_job_id(r + k + 1) ||
	    strlen(r + k + 1) >= id_cap)
		return false;
	strcpy(id, r + k + 1);
	return true;
}

/* ---- whole requests ----------------------------------------------------------------------- */

void jobs_config_spec_init(struct jobs_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->target_selection = JOBS_TARGET_SNAPSHOT;
	s->scheduling.end_behavior = JOBS_END_STOP_ROLLOUT;
}

void jobs_config_spec_cleanup(struct jobs_spec *s)
{
	if (!s)
		return;
	free(s->description);
	free(s->document);
	free(s->document_source);
	free(s->job_template_arn);
	free(s->job_arn);
	for (size_t i = 0; i < s->target_count; i++)
		free(s->targets[i].arn);
	free(s->targets);
	free(s->presigned_url.role_arn);
	jobs_config_spec_init(s);
}

static bool is_template(enum jobs_config_mode mode)
{
	return mode == JOBS_CONFIG_CREATE_TEMPLATE || mode == JOBS_CONFIG_STORED_TEMPLATE;
}

static enum jobs_err parse_targets(const json_t *v, struct jobs_spec *out, char *msg, size_t cap)
{
	const json_t *t;
	char p[PTR_MAX];
	size_t i, n;

	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > JOBS_TARGETS_MAX)
		return perr(msg, cap, "/targets", "must be an array of 1..%d ARNs",
			    JOBS_TARGETS_MAX);
	n = json_array_size(v);
	out->targets = calloc(n, sizeof(*out->targets));
	if (!out->targets)
		return oom(msg, cap);
	json_array_foreach(v, i, t) {
		struct jobs_target *tg = &out->targets[i];

		snprintf(p, sizeof(p), "/targets/%zu", i);
		if (!json_is_string(t) ||
		    !jobs_config_parse_target_arn(json_string_value(t), &tg->type, tg->name,
						  sizeof(tg->name)))
			return perr(msg, cap, p, "must be the ARN of a thing or a thing group");
		tg->arn = strdup(json_string_value(t));
		if (!tg->arn)
			return oom(msg, cap);
		out->target_count = i + 1;
	}
	return JOBS_OK;
}

static enum jobs_err parse_presigned(const json_t *v, struct jobs_presigned_config *out, char *msg,
				     size_t cap)
{
	const char *role;
	enum jobs_err err;
	bool present;
	int64_t n;

	if ((err = need_object(v, "/presignedUrlConfig", msg, cap)))
		return err;
	err = int_field(v, "expiresInSec", "/presignedUrlConfig", JOBS_PRESIGN_MIN_SEC,
			JOBS_PRESIGN_MAX_SEC, false, &present, &n, msg, cap);
	if (err)
		return err;
	out->expires_in_sec = present ? (int)n : JOBS_PRESIGN_DEFAULT_SEC;
	err = string_field(v, "roleArn", "/presignedUrlConfig", 20, 2048, &role, msg, cap);
	if (err)
		return err;
	if ((err = dup_string(role, &out->role_arn, msg, cap)))
		return err;
	out->is_set = true;
	return JOBS_OK;
}

static enum jobs_err parse_document_fields(const json_t *body, enum jobs_config_mode mode,
					   struct jobs_spec *out, char *msg, size_t cap)
{
	const json_t *doc = field(body, "document");
	const char *src, *arn;
	enum jobs_err err;
	char why[160];
	int given;

	if (doc) {
		if (!json_is_string(doc))
			return perr(msg, cap, "/document", "must be a string of JSON text");
		err = jobs_document_parse(json_string_value(doc), json_string_length(doc), NULL,
					  why, sizeof(why));
		if (err == JOBS_ERR_INTERNAL)
			return oom(msg, cap);
		if (err)
			return perr(msg, cap, "/document", "%s", why);
		if ((err = dup_string(json_string_value(doc), &out->document, msg, cap)))
			return err;
	}
	err = string_field(body, "documentSource", "", 1, JOBS_DOCUMENT_SOURCE_MAX, &src, msg, cap);
	if (err || (err = dup_string(src, &out->document_source, msg, cap)))
		return err;
	if (!is_template(mode)) {
		err = string_field(body, "jobTemplateArn", "", 1, 1600, &arn, msg, cap);
		if (err)
			return err;
		if (arn && !jobs_config_parse_id_arn(arn, "jobtemplate", out->job_template_id,
						     sizeof(out->job_template_id)))
			return perr(msg, cap, "/jobTemplateArn", "must be a job template ARN");
		if ((err = dup_string(arn, &out->job_template_arn, msg, cap)))
			return err;
	}
	if (is_template(mode)) {
		err = string_field(body, "jobArn", "", 1, 1600, &arn, msg, cap);
		if (err)
			return err;
		if (arn && !jobs_config_parse_id_arn(arn, "job", out->source_job_id,
						     sizeof(out->source_job_id)))
			return perr(msg, cap, "/jobArn", "must be a job ARN");
		if ((err = dup_string(arn, &out->job_arn, msg, cap)))
			return err;
	}
	given = (out->document != NULL) + (out->document_source != NULL);
	if (mode == JOBS_CONFIG_CREATE_JOB && given != 1 && !(out->job_template_arn && given == 0))
		return perr(
			msg, cap, "/document",
			"give exactly one of document and documentSource (or a jobTemplateArn)");
	if (mode == JOBS_CONFIG_CREATE_TEMPLATE && given + (out->job_arn != NULL) != 1)
		return perr(msg, cap, "/document",
			    "give exactly one of document, documentSource and jobArn");
	return JOBS_OK;
}

static enum jobs_err parse_policies(const json_t *body, struct jobs_spec *out, char *msg,
				    size_t cap)
{
	const json_t *v;
	enum jobs_err err = JOBS_OK;

	if ((v = field(body, "presignedUrlConfig")) &&
	    (err = parse_presigned(v, &out->presigned_url, msg, cap)))
		return err;
	if ((v = field(body, "jobExecutionsRolloutConfig")) &&
	    (err = jobs_config_parse_rollout(v, "/jobExecutionsRolloutConfig", &out->rollout, msg,
					     cap)))
		return err;
	if ((v = field(body, "abortConfig")) &&
	    (err = jobs_config_parse_abort(v, "/abortConfig", &out->abort_cfg, msg, cap)))
		return err;
	if ((v = field(body, "timeoutConfig")) &&
	    (err = jobs_config_parse_timeout(v, "/timeoutConfig", &out->timeout, msg, cap)))
		return err;
	if ((v = field(body, "jobExecutionsRetryConfig")) &&
	    (err = jobs_config_parse_retry(v, "/jobExecutionsRetryConfig", &out->retry, msg, cap)))
		return err;
	return JOBS_OK;
}

static enum jobs_err parse_body(const json_t *body, enum jobs_config_mode mode, int64_t now_ms,
				struct jobs_spec *out, char *msg, size_t cap)
{
	static const char *const unsupported[] = { "namespaceId", "documentParameters",
						   "destinationPackageVersions" };
	const char *desc;
	const json_t *v;
	enum jobs_err err;

	if (!json_is_object(body))
		return perr(msg, cap, "", "the body must be a JSON object");
	for (size_t i = 0; i < COUNT(unsupported); i++) {
		if (field(body, unsupported[i]))
			return perr(msg, cap, "", "%s is not supported by this server",
				    unsupported[i]);
	}
	err = string_field(body, "description", "", 1, JOBS_DESCRIPTION_MAX, &desc, msg, cap);
	if (err || (err = dup_string(desc, &out->description, msg, cap)))
		return err;
	if (mode == JOBS_CONFIG_CREATE_TEMPLATE && !out->description)
		return perr(msg, cap, "/description", "is required");
	if ((err = parse_policies(body, out, msg, cap)) || mode == JOBS_CONFIG_UPDATE_JOB)
		return err;
	if ((err = parse_document_fields(body, mode, out, msg, cap)))
		return err;
	if (is_template(mode)) {
		v = field(body, "maintenanceWindows");
		if (v && (err = jobs_config_parse_windows(v, "/maintenanceWindows",
							  &out->scheduling, msg, cap)))
			return err;
		out->has_scheduling = out->scheduling.window_count > 0;
		return JOBS_OK;
	}
	v = field(body, "targets");
	if (v && (err = parse_targets(v, out, msg, cap)))
		return err;
	if (!v && mode == JOBS_CONFIG_CREATE_JOB)
		return perr(msg, cap, "/targets", "is required");
	v = field(body, "targetSelection");
	if (v) {
		if (!json_is_string(v) ||
		    !jobs_target_selection_parse(json_string_value(v), &out->target_selection))
			return perr(msg, cap, "/targetSelection", "must be SNAPSHOT or CONTINUOUS");
		out->has_target_selection = true;
	}
	v = field(body, "schedulingConfig");
	if (v) {
		err = jobs_config_parse_scheduling(v, "/schedulingConfig",
						   mode == JOBS_CONFIG_CREATE_JOB, now_ms,
						   &out->scheduling, msg, cap);
		if (err)
			return err;
		out->has_scheduling = true;
	}
	return JOBS_OK;
}

enum jobs_err jobs_config_parse(const json_t *body, enum jobs_config_mode mode, int64_t now_ms,
				struct jobs_spec *out, char *msg, size_t msg_cap)
{
	json_t *empty = NULL;
	enum jobs_err err;

	jobs_config_spec_init(out);
	if (msg && msg_cap > 0)
		msg[0] = '\0';
	if (!body) {
		empty = json_object();
		if (!empty)
			return oom(msg, msg_cap);
		body = empty;
	}
	err = parse_body(body, mode, now_ms, out, msg, msg_cap);
	if (err)
		jobs_config_spec_cleanup(out);
	json_decref(empty);
	return err;
}

/* ---- rendering ---------------------------------------------------------------------------- */

static bool set(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

json_t *jobs_config_render_rollout(const struct jobs_rollout_config *c)
{
	json_t *crit;

	if (!c->is_exponential)
		return json_pack("{s:i}", "maximumPerMinute", c->maximum_per_minute);
	crit = json_object();
	if (!crit)
		return NULL;
	if ((c->notified_things_step &&
	     !set(crit, "numberOfNotifiedThings", json_integer(c->notified_things_step))) ||
	    (c->succeeded_things_step &&
	     !set(crit, "numberOfSucceededThings", json_integer(c->succeeded_things_step)))) {
		json_decref(crit);
		return NULL;
	}
	return json_pack("{s:{s:i,s:f,s:o}}", "exponentialRate", "baseRatePerMinute",
			 c->base_rate_per_minute, "incrementFactor",
			 c->increment_factor_tenths / 10.0, "rateIncreaseCriteria", crit);
}

json_t *jobs_config_render_abort(const struct jobs_abort_config *c)
{
	json_t *list = json_array();

	if (!list)
		return NULL;
	for (size_t i = 0; i < c->count; i++) {
		const struct jobs_abort_criterion *cr = &c->criteria[i];

		if (json_array_append_new(list, json_pack("{s:s,s:s,s:f,s:I}", "failureType",
							  jobs_failure_type_name(cr->failure_type),
							  "action", "CANCEL", "thresholdPercentage",
							  cr->threshold_hundredths / 100.0,
							  "minNumberOfExecutedThings",
							  (json_int_t)cr->min_executed_things))) {
			json_decref(list);
			return NULL;
		}
	}
	return json_pack("{s:o}", "criteriaList", list);
}

json_t *jobs_config_render_timeout(const struct jobs_timeout_config *c)
{
	if (c->in_progress_timeout_min <= 0)
		return json_object();
	return json_pack("{s:i}", "inProgressTimeoutInMinutes", c->in_progress_timeout_min);
}

json_t *jobs_config_render_retry(const struct jobs_retry_config *c)
{
	json_t *list = json_array();

	if (!list)
		return NULL;
	for (size_t i = 0; i < c->count; i++) {
		if (json_array_append_new(
			    list, json_pack("{s:s,s:i}", "failureType",
					    jobs_failure_type_name(c->criteria[i].failure_type),
					    "numberOfRetries", c->criteria[i].number_of_retries))) {
			json_decref(list);
			return NULL;
		}
	}
	return json_pack("{s:o}", "criteriaList", list);
}

static json_t *render_windows(const struct jobs_scheduling_config *c)
{
	json_t *list = json_array();

	if (!list)
		return NULL;
	for (size_t i = 0; i < c->window_count; i++) {
		if (json_array_append_new(list, json_pack("{s:s,s:i}", "startTime",
							  c->windows[i].start, "durationInMinutes",
							  c->windows[i].duration_min))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

json_t *jobs_config_render_scheduling(const struct jobs_scheduling_config *c)
{
	json_t *o = json_object();
	char t[32];

	if (!o)
		return NULL;
	if (c->start_ms && (!jobs_cron_datetime_format(c->start_ms, t, sizeof(t)) ||
			    !set(o, "startTime", json_string(t))))
		goto fail;
	if (c->end_ms && (!jobs_cron_datetime_format(c->end_ms, t, sizeof(t)) ||
			  !set(o, "endTime", json_string(t))))
		goto fail;
	if (c->has_end_behavior &&
	    !set(o, "endBehavior", json_string(jobs_end_behavior_name(c->end_behavior))))
		goto fail;
	if (c->window_count && !set(o, "maintenanceWindows", render_windows(c)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static bool set_str(json_t *o, const char *key, const char *s)
{
	return !s || set(o, key, json_string(s));
}

json_t *jobs_config_render(const struct jobs_spec *s, enum jobs_config_mode mode)
{
	bool tmpl = is_template(mode);
	json_t *o = json_object(), *targets = NULL;

	if (!o)
		return NULL;
	if (!set_str(o, "description", s->description) ||
	    !set_str(o, "documentSource", s->document_source))
		goto fail;
	if (!tmpl) {
		if (s->target_count > 0) {
			targets = json_array();
			if (!set(o, "targets", targets))
				goto fail;
		}
		for (size_t i = 0; i < s->target_count; i++) {
			if (json_array_append_new(targets, json_string(s->targets[i].arn)))
				goto fail;
		}
		if (!set(o, "targetSelection",
			 json_string(jobs_target_selection_name(s->target_selection))) ||
		    !set_str(o, "jobTemplateArn", s->job_template_arn))
			goto fail;
	} else if (!set_str(o, "jobArn", s->job_arn)) {
		goto fail;
	}
	if (s->presigned_url.is_set) {
		json_t *p = json_pack("{s:i}", "expiresInSec", s->presigned_url.expires_in_sec);

		if (!set(o, "presignedUrlConfig", p) ||
		    !set_str(p, "roleArn", s->presigned_url.role_arn))
			goto fail;
	}
	if (s->rollout.is_set &&
	    !set(o, "jobExecutionsRolloutConfig", jobs_config_render_rollout(&s->rollout)))
		goto fail;
	if (s->abort_cfg.count && !set(o, "abortConfig", jobs_config_render_abort(&s->abort_cfg)))
		goto fail;
	if (s->timeout.in_progress_timeout_min &&
	    !set(o, "timeoutConfig", jobs_config_render_timeout(&s->timeout)))
		goto fail;
	if (s->retry.count &&
	    !set(o, "jobExecutionsRetryConfig", jobs_config_render_retry(&s->retry)))
		goto fail;
	if (s->has_scheduling) {
		if (tmpl ? !set(o, "maintenanceWindows", render_windows(&s->scheduling))
			 : !set(o, "schedulingConfig",
				jobs_config_render_scheduling(&s->scheduling)))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

enum jobs_err jobs_config_merge_template(struct jobs_spec *job, const struct jobs_spec *tmpl,
					 char *msg, size_t msg_cap)
{
	enum jobs_err err;

	if (!job->document && !job->document_source) {
		if ((err = dup_string(tmpl->document, &job->document, msg, msg_cap)) ||
		    (err = dup_string(tmpl->document_source, &job->document_source, msg, msg_cap)))
			return err;
	}
	if (!job->presigned_url.is_set && tmpl->presigned_url.is_set) {
		if ((err = dup_string(tmpl->presigned_url.role_arn, &job->presigned_url.role_arn,
				      msg, msg_cap)))
			return err;
		job->presigned_url.is_set = true;
		job->presigned_url.expires_in_sec = tmpl->presigned_url.expires_in_sec;
	}
	if (!job->rollout.is_set)
		job->rollout = tmpl->rollout;
	if (!job->abort_cfg.count)
		job->abort_cfg = tmpl->abort_cfg;
	if (!job->timeout.in_progress_timeout_min)
		job->timeout = tmpl->timeout;
	if (!job->retry.count)
		job->retry = tmpl->retry;
	if (!job->scheduling.window_count && tmpl->scheduling.window_count) {
		job->scheduling.window_count = tmpl->scheduling.window_count;
		memcpy(job->scheduling.windows, tmpl->scheduling.windows,
		       sizeof(job->scheduling.windows));
		job->has_scheduling = true;
	}
	if (!job->document && !job->document_source)
		return perr(msg, msg_cap, "/document",
			    "neither the request nor the job template gives a document");
	return JOBS_OK;
}
