/*
 * Unit tests for jobs/execution, jobs/timeout, jobs/retry and jobs/errors: the execution state
 * machine (spec 3.1-3.3), device updates and start-next (2.6, 2.8), service transitions (3.1,
 * 3.6, 3.8, 3.11), timers (3.4), retries (3.5), idempotence of duplicates (STYLE 4) and the
 * error registry (2.9, 4.2). Section numbers refer to spec/aws-iot-compat.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/errors.h"
#include "jobs/execution.h"
#include "jobs/retry.h"
#include "jobs/timeout.h"

#define T0 INT64_C(1718019900000) /* queuedAt */
#define T1 INT64_C(1718019960000)
#define T2 INT64_C(1718020480000)
#define MIN INT64_C(60000)

#define Q JOBS_EXEC_QUEUED
#define IP JOBS_EXEC_IN_PROGRESS
#define OK_ JOBS_EXEC_SUCCEEDED
#define FA JOBS_EXEC_FAILED
#define TO JOBS_EXEC_TIMED_OUT
#define RJ JOBS_EXEC_REJECTED
#define RM JOBS_EXEC_REMOVED
#define CA JOBS_EXEC_CANCELED

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
		abort();
	}
	return j;
}

/* An execution of job fw-1 on pump-17 in status s at version v (details text or NULL). */
static void make(struct jobs_execution *e, enum jobs_exec_status s, int64_t v, const char *details)
{
	ck_assert(jobs_execution_new_queued(e, "fw-1", "pump-17", 1, 7, T0));
	e->status = s;
	e->version_number = v;
	if (s != JOBS_EXEC_QUEUED)
		e->started_at_ms = T1;
	if (details)
		e->status_details = J(details);
}

static void update_init(struct jobs_update *u, enum jobs_exec_status s, const char *details)
{
	jobs_update_init(u);
	u->status = s;
	if (details)
		u->status_details = J(details);
}

static void assert_details(const struct jobs_execution *e, const char *want)
{
	if (!want) {
		ck_assert_ptr_null(e->status_details);
		return;
	}
	{
		json_t *w = J(want);

		ck_assert_msg(e->status_details && json_equal(e->status_details, w),
			      "statusDetails differ from %s", want);
		json_decref(w);
	}
}

/* ---- spec 3.1: statuses ------------------------------------------------------------------- */

START_TEST(status_names_round_trip_spec_3_1)
{
	static const char *const names[] = { "QUEUED",	  "IN_PROGRESS", "SUCCEEDED", "FAILED",
					     "TIMED_OUT", "REJECTED",	 "REMOVED",   "CANCELED" };
	static const bool terminal[] = { false, false, true, true, true, true, true, true };
	enum jobs_exec_status s;

	for (int i = 0; i < JOBS_EXEC__COUNT; i++) {
		ck_assert_str_eq(jobs_exec_status_name((enum jobs_exec_status)i), names[i]);
		ck_assert(jobs_exec_status_parse(names[i], &s));
		ck_assert_int_eq(s, i);
		ck_assert_int_eq(jobs_exec_status_is_terminal(s), terminal[i]);
	}
	ck_assert(!jobs_exec_status_parse("in_progress", &s));
	ck_assert(!jobs_exec_status_parse("", &s));
	ck_assert(!jobs_exec_status_parse(NULL, &s));
	ck_assert_str_eq(jobs_exec_status_name(JOBS_EXEC__COUNT), "");
	ck_assert(jobs_exec_status_is_device_settable(JOBS_EXEC_REJECTED));
	ck_assert(!jobs_exec_status_is_device_settable(JOBS_EXEC_QUEUED));
	ck_assert(!jobs_exec_status_is_device_settable(JOBS_EXEC_TIMED_OUT));
}
END_TEST

/* ---- spec 3.2: the transition table, every (from, requested) pair ------------------------- */

#define OKT JOBS_OK
#define IST JOBS_ERR_INVALID_STATE_TRANSITION
#define IRQ JOBS_ERR_INVALID_REQUEST

/* rows: from; columns: requested, both in enum order Q IP SU FA TO RJ RM CA */
static const enum jobs_err table[JOBS_EXEC__COUNT][JOBS_EXEC__COUNT] = {
	/* QUEUED      */ { IST, OKT, OKT, OKT, IRQ, OKT, IRQ, IRQ },
	/* IN_PROGRESS */ { IST, OKT, OKT, OKT, IRQ, IST, IRQ, IRQ },
	/* SUCCEEDED   */ { IST, IST, IST, IST, IRQ, IST, IRQ, IRQ },
	/* FAILED      */ { IST, IST, IST, IST, IRQ, IST, IRQ, IRQ },
	/* TIMED_OUT   */ { IST, IST, IST, IST, IRQ, IST, IRQ, IRQ },
	/* REJECTED    */ { IST, IST, IST, IST, IRQ, IST, IRQ, IRQ },
	/* REMOVED     */ { IST, IST, IST, IST, IRQ, IST, IRQ, IRQ },
	/* CANCELED    */ { IST, IST, IST, IST, IRQ, IST, IRQ, IRQ },
};

START_TEST(transition_table_every_pair_spec_3_2)
{
	enum jobs_exec_status from = (enum jobs_exec_status)(_i / JOBS_EXEC__COUNT);
	enum jobs_exec_status to = (enum jobs_exec_status)(_i % JOBS_EXEC__COUNT);
	enum jobs_err want = table[from][to];

	ck_assert_msg(jobs_execution_check_transition(from, to) == want, "%s -> %s",
		      jobs_exec_status_name(from), jobs_exec_status_name(to));
}
END_TEST

/* The same table through jobs_execution_update(): errors leave nothing, successes apply the
 * version and time rules of spec 2.8 step 6 and 3.3. */
START_TEST(update_every_pair_spec_2_8_and_3_2)
{
	enum jobs_exec_status from = (enum jobs_exec_status)(_i / JOBS_EXEC__COUNT);
	enum jobs_exec_status to = (enum jobs_exec_status)(_i % JOBS_EXEC__COUNT);
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;
	enum jobs_err err;

	make(&cur, from, 3, "{\"step\":\"a\"}");
	update_init(&u, to, "{\"step\":\"b\"}");
	err = jobs_execution_update(&cur, &u, 60, T2, &next, &dup);
	ck_assert_msg(err == table[from][to], "%s -> %s: %d", jobs_exec_status_name(from),
		      jobs_exec_status_name(to), err);
	ck_assert(!dup);
	if (err == JOBS_OK) {
		ck_assert_int_eq(next.status, to);
		ck_assert_int_eq(next.version_number, 4);
		ck_assert_int_eq(next.last_updated_at_ms, T2);
		ck_assert_int_eq(next.queued_at_ms, T0);
		assert_details(&next, "{\"step\":\"b\"}");
		if (from == JOBS_EXEC_QUEUED && to == JOBS_EXEC_IN_PROGRESS) {
			ck_assert_int_eq(next.started_at_ms, T2);
			ck_assert_int_eq(next.in_progress_deadline_ms, T2 + 60 * MIN);
		} else if (from == JOBS_EXEC_IN_PROGRESS) {
			ck_assert_int_eq(next.started_at_ms, T1);
		}
		if (jobs_exec_status_is_terminal(to)) {
			ck_assert_int_eq(next.in_progress_deadline_ms, 0);
			ck_assert_int_eq(next.step_deadline_ms, 0);
		}
	} else {
		ck_assert_ptr_null(next.status_details);
		ck_assert_int_eq(next.version_number, 0);
	}
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
	jobs_update_cleanup(&u);
}
END_TEST

/* ---- spec 2.8 processing order ------------------------------------------------------------ */

START_TEST(update_order_not_found_then_version_then_transition_spec_2_8)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_SUCCEEDED, 5, NULL);
	update_init(&u, JOBS_EXEC_IN_PROGRESS, NULL);
	u.has_execution_number = true;
	u.execution_number = 2;
	u.has_expected_version = true;
	u.expected_version = 3;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup),
			 JOBS_ERR_RESOURCE_NOT_FOUND);
	u.execution_number = 1;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup),
			 JOBS_ERR_VERSION_MISMATCH);
	u.expected_version = 5;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup),
			 JOBS_ERR_INVALID_STATE_TRANSITION);
	jobs_execution_cleanup(&cur);
}
END_TEST

START_TEST(update_expected_version_match_applies_spec_2_8)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_IN_PROGRESS, 3, NULL);
	update_init(&u, JOBS_EXEC_SUCCEEDED, NULL);
	u.has_expected_version = true;
	u.expected_version = 3;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup), JOBS_OK);
	ck_assert_int_eq(next.version_number, 4);
	jobs_execution_cleanup(&next);
	u.expected_version = 4;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup),
			 JOBS_ERR_VERSION_MISMATCH);
	jobs_execution_cleanup(&cur);
}
END_TEST

START_TEST(update_repeated_in_progress_bumps_version_quirk_13)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_IN_PROGRESS, 2, "{\"receive\":\"1/110\"}");
	update_init(&u, JOBS_EXEC_IN_PROGRESS, "{\"receive\":\"1/110\"}");
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2 + i, &next, &dup), JOBS_OK);
		ck_assert(!dup);
		ck_assert_int_eq(next.version_number, 3 + i);
		ck_assert_int_eq(next.started_at_ms, T1); /* startedAt only on first entry */
		jobs_execution_cleanup(&cur);
		cur = next;
	}
	jobs_execution_cleanup(&cur);
	jobs_update_cleanup(&u);
}
END_TEST

START_TEST(update_details_replace_keep_and_clear_spec_2_8)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_IN_PROGRESS, 2, "{\"a\":\"1\",\"b\":\"2\"}");
	/* present: replaces the whole map (OTA self_test flow, spec 9.2) */
	update_init(&u, JOBS_EXEC_IN_PROGRESS, "{\"self_test\":\"ready\"}");
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup), JOBS_OK);
	assert_details(&next, "{\"self_test\":\"ready\"}");
	jobs_execution_cleanup(&next);
	jobs_update_cleanup(&u);
	/* absent: kept */
	update_init(&u, JOBS_EXEC_IN_PROGRESS, NULL);
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup), JOBS_OK);
	assert_details(&next, "{\"a\":\"1\",\"b\":\"2\"}");
	ck_assert_ptr_ne(next.status_details, cur.status_details); /* deep copy */
	jobs_execution_cleanup(&next);
	jobs_update_cleanup(&u);
	/* {}: cleared, stored as NULL */
	update_init(&u, JOBS_EXEC_SUCCEEDED, "{}");
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup), JOBS_OK);
	assert_details(&next, NULL);
	jobs_execution_cleanup(&next);
	jobs_update_cleanup(&u);
	jobs_execution_cleanup(&cur);
}
END_TEST

START_TEST(update_step_timer_arm_cap_cancel_spec_3_4)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_QUEUED, 1, NULL);
	update_init(&u, JOBS_EXEC_IN_PROGRESS, NULL);
	u.has_step_timeout = true;
	u.step_timeout_min = 15;
	/* first entry: in-progress timer 60 min, step 15 min */
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 60, T2, &next, &dup), JOBS_OK);
	ck_assert_int_eq(next.in_progress_deadline_ms, T2 + 60 * MIN);
	ck_assert_int_eq(next.step_deadline_ms, T2 + 15 * MIN);
	ck_assert_int_eq(jobs_execution_deadline_ms(&next), T2 + 15 * MIN);
	jobs_execution_cleanup(&cur);
	cur = next;
	/* a step longer than what is left is capped at the in-progress deadline */
	u.step_timeout_min = 120;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 60, T2 + 10 * MIN, &next, &dup), JOBS_OK);
	ck_assert_int_eq(next.step_deadline_ms, T2 + 60 * MIN);
	/* the in-progress timer cannot be changed afterwards */
	ck_assert_int_eq(next.in_progress_deadline_ms, T2 + 60 * MIN);
	jobs_execution_cleanup(&cur);
	cur = next;
	/* -1 cancels the step timer */
	u.step_timeout_min = JOBS_STEP_TIMEOUT_CANCEL;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 60, T2 + 11 * MIN, &next, &dup), JOBS_OK);
	ck_assert_int_eq(next.step_deadline_ms, 0);
	ck_assert_int_eq(next.in_progress_deadline_ms, T2 + 60 * MIN);
	jobs_execution_cleanup(&cur);
	cur = next;
	/* a step timeout on a terminal update is ignored and timers are disarmed */
	u.status = JOBS_EXEC_FAILED;
	u.step_timeout_min = 5;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 60, T2 + 12 * MIN, &next, &dup), JOBS_OK);
	ck_assert_int_eq(next.step_deadline_ms, 0);
	ck_assert_int_eq(next.in_progress_deadline_ms, 0);
	ck_assert_int_eq(jobs_execution_deadline_ms(&next), 0);
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
}
END_TEST

START_TEST(update_without_job_timeout_arms_step_only_spec_3_4)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_QUEUED, 1, NULL);
	update_init(&u, JOBS_EXEC_IN_PROGRESS, NULL);
	u.has_step_timeout = true;
	u.step_timeout_min = 10080;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup), JOBS_OK);
	ck_assert_int_eq(next.in_progress_deadline_ms, 0);
	ck_assert_int_eq(next.step_deadline_ms, T2 + 10080 * MIN);
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
}
END_TEST

/* ---- idempotence ------------------------------------------------------------------------- */

struct dup_case {
	const char *name;
	enum jobs_exec_status cur_status;
	const char *cur_details;
	const char *cur_token;
	enum jobs_exec_status req_status;
	const char *req_details;
	int64_t expected; /* -1 = absent; cur version is 5 */
	const char *req_token;
	bool is_dup;
	enum jobs_err err;
};

static const struct dup_case dup_cases[] = {
	{ "terminal repeat without expectedVersion", OK_, "{\"r\":\"ok\"}", "", OK_, NULL, -1, "",
	  true, JOBS_OK },
	{ "terminal repeat with same details", OK_, "{\"r\":\"ok\"}", "", OK_, "{\"r\":\"ok\"}", -1,
	  "t1", true, JOBS_OK },
	{ "terminal repeat with expectedVersion = version - 1", FA, NULL, "", FA, NULL, 4, "", true,
	  JOBS_OK },
	{ "terminal repeat with expectedVersion = version", FA, NULL, "", FA, NULL, 5, "", false,
	  IST },
	{ "terminal repeat with other details", OK_, "{\"r\":\"ok\"}", "", OK_, "{\"r\":\"no\"}",
	  -1, "", false, IST },
	{ "terminal with another status", OK_, NULL, "", FA, NULL, -1, "", false, IST },
	{ "stored token equal", RJ, NULL, "tok-1", RJ, NULL, 4, "tok-1", true, JOBS_OK },
	{ "stored token differs", RJ, NULL, "tok-1", RJ, NULL, 4, "tok-2", false,
	  JOBS_ERR_VERSION_MISMATCH },
	{ "stored token, request without one", RJ, NULL, "tok-1", RJ, NULL, -1, "", false, IST },
	{ "in progress with expectedVersion = version - 1", IP, "{\"s\":\"1\"}", "", IP,
	  "{\"s\":\"1\"}", 4, "", true, JOBS_OK },
	{ "in progress, empty details on both sides", IP, NULL, "", IP, "{}", 4, "", true,
	  JOBS_OK },
	{ "in progress without expectedVersion is applied again", IP, NULL, "", IP, NULL, -1, "",
	  false, JOBS_OK },
	{ "service-set status is never a duplicate", TO, NULL, "", IP, NULL, 4, "", false,
	  JOBS_ERR_VERSION_MISMATCH },
	{ "queued is never a duplicate", Q, NULL, "", Q, NULL, 4, "", false,
	  JOBS_ERR_VERSION_MISMATCH },
};

START_TEST(duplicates_get_the_same_accepted_answer)
{
	const struct dup_case *c = &dup_cases[_i];
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool dup;
	enum jobs_err err;

	make(&cur, c->cur_status, 5, c->cur_details);
	strcpy(cur.last_client_token, c->cur_token);
	update_init(&u, c->req_status, c->req_details);
	if (c->expected >= 0) {
		u.has_expected_version = true;
		u.expected_version = c->expected;
	}
	strcpy(u.client_token, c->req_token);
	u.has_client_token = c->req_token[0] != '\0';
	ck_assert_msg(jobs_execution_is_duplicate(&cur, &u) == c->is_dup, "%s", c->name);
	err = jobs_execution_update(&cur, &u, 0, T2, &next, &dup);
	ck_assert_msg(err == c->err, "%s: err %d", c->name, err);
	ck_assert_int_eq(dup, c->is_dup);
	if (dup) {
		/* nothing changes: same version, same time, same details */
		ck_assert_int_eq(next.version_number, 5);
		ck_assert_int_eq(next.last_updated_at_ms, cur.last_updated_at_ms);
		ck_assert_int_eq(next.status, cur.status);
	}
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
	jobs_update_cleanup(&u);
}
END_TEST

START_TEST(update_records_client_token_for_duplicates)
{
	struct jobs_execution cur, next, again;
	struct jobs_update u;
	bool dup;

	make(&cur, JOBS_EXEC_IN_PROGRESS, 2, NULL);
	update_init(&u, JOBS_EXEC_SUCCEEDED, "{\"reason\":\"accepted v1.0.3\"}");
	strcpy(u.client_token, "u-5531");
	u.has_client_token = true;
	u.has_expected_version = true;
	u.expected_version = 2;
	ck_assert_int_eq(jobs_execution_update(&cur, &u, 0, T2, &next, &dup), JOBS_OK);
	ck_assert(!dup);
	ck_assert_str_eq(next.last_client_token, "u-5531");
	/* the device lost the reply and sends the same request again */
	ck_assert_int_eq(jobs_execution_update(&next, &u, 0, T2 + 5000, &again, &dup), JOBS_OK);
	ck_assert(dup);
	ck_assert_int_eq(again.version_number, 3);
	jobs_execution_cleanup(&again);
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
	jobs_update_cleanup(&u);
}
END_TEST

/* ---- spec 2.6: start-next ----------------------------------------------------------------- */

START_TEST(start_next_queued_becomes_in_progress_spec_2_6)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool changed;

	make(&cur, JOBS_EXEC_QUEUED, 1, NULL);
	update_init(&u, JOBS_EXEC_IN_PROGRESS, "{\"step\":\"downloading\"}");
	u.has_step_timeout = true;
	u.step_timeout_min = 30;
	ck_assert_int_eq(jobs_execution_start_next(&cur, &u, 60, T2, &next, &changed), JOBS_OK);
	ck_assert(changed);
	ck_assert_int_eq(next.status, JOBS_EXEC_IN_PROGRESS);
	ck_assert_int_eq(next.version_number, 2);
	ck_assert_int_eq(next.started_at_ms, T2);
	ck_assert_int_eq(next.last_updated_at_ms, T2);
	ck_assert_int_eq(next.step_deadline_ms, T2 + 30 * MIN);
	ck_assert_int_eq(next.in_progress_deadline_ms, T2 + 60 * MIN);
	assert_details(&next, "{\"step\":\"downloading\"}");
	jobs_execution_cleanup(&next);
	/* no request fields at all */
	ck_assert_int_eq(jobs_execution_start_next(&cur, NULL, 0, T2, &next, &changed), JOBS_OK);
	ck_assert(changed);
	ck_assert_int_eq(next.status, JOBS_EXEC_IN_PROGRESS);
	ck_assert_int_eq(next.in_progress_deadline_ms, 0);
	assert_details(&next, NULL);
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
	jobs_update_cleanup(&u);
}
END_TEST

START_TEST(start_next_in_progress_returned_as_is_quirk_11)
{
	struct jobs_execution cur, next;
	struct jobs_update u;
	bool changed;

	make(&cur, JOBS_EXEC_IN_PROGRESS, 4, "{\"self_test\":\"ready\"}");
	cur.last_updated_at_ms = T1;
	update_init(&u, JOBS_EXEC_IN_PROGRESS, "{\"ignored\":\"yes\"}");
	ck_assert_int_eq(jobs_execution_start_next(&cur, &u, 60, T2, &next, &changed), JOBS_OK);
	ck_assert(!changed);
	ck_assert_int_eq(next.version_number, 4);
	ck_assert_int_eq(next.last_updated_at_ms, T1);
	assert_details(&next, "{\"self_test\":\"ready\"}");
	jobs_execution_cleanup(&next);
	/* a step timeout re-arms the step timer only (spec 2.6 recommendation) */
	u.has_step_timeout = true;
	u.step_timeout_min = 5;
	ck_assert_int_eq(jobs_execution_start_next(&cur, &u, 60, T2, &next, &changed), JOBS_OK);
	ck_assert(changed);
	ck_assert_int_eq(next.version_number, 4);
	ck_assert_int_eq(next.step_deadline_ms, T2 + 5 * MIN);
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
	jobs_update_cleanup(&u);
}
END_TEST

START_TEST(start_next_on_terminal_is_a_caller_error)
{
	struct jobs_execution cur, next;
	bool changed;

	make(&cur, JOBS_EXEC_SUCCEEDED, 3, NULL);
	ck_assert_int_eq(jobs_execution_start_next(&cur, NULL, 0, T2, &next, &changed),
			 JOBS_ERR_INVALID_STATE_TRANSITION);
	ck_assert(!changed);
	jobs_execution_cleanup(&cur);
}
END_TEST

/* ---- service transitions ------------------------------------------------------------------ */

struct svc_case {
	enum jobs_service_action action;
	enum jobs_exec_status from;
	enum jobs_err err;
	enum jobs_exec_status to;
};

static const struct svc_case svc_cases[] = {
	{ JOBS_SERVICE_CANCEL, Q, JOBS_OK, CA },
	{ JOBS_SERVICE_CANCEL, IP, IST, Q }, /* CancelJobExecution without force: 409 */
	{ JOBS_SERVICE_CANCEL, OK_, IST, Q },
	{ JOBS_SERVICE_CANCEL, CA, IST, Q },
	{ JOBS_SERVICE_FORCE_CANCEL, Q, JOBS_OK, CA },
	{ JOBS_SERVICE_FORCE_CANCEL, IP, JOBS_OK, CA },
	{ JOBS_SERVICE_FORCE_CANCEL, FA, IST, Q },
	{ JOBS_SERVICE_REMOVE, Q, JOBS_OK, RM },
	{ JOBS_SERVICE_REMOVE, IP, JOBS_OK, RM },
	{ JOBS_SERVICE_REMOVE, RJ, IST, Q },
	{ JOBS_SERVICE_TIME_OUT, IP, JOBS_OK, TO }, /* with an expired timer, below */
	{ JOBS_SERVICE_TIME_OUT, Q, IST, Q },
	{ JOBS_SERVICE_TIME_OUT, OK_, IST, Q },
};

START_TEST(service_transitions_spec_3_1)
{
	const struct svc_case *c = &svc_cases[_i];
	struct jobs_execution cur, next;

	make(&cur, c->from, 3, "{\"k\":\"v\"}");
	if (c->from == JOBS_EXEC_IN_PROGRESS)
		cur.in_progress_deadline_ms = T2;
	ck_assert_int_eq(jobs_execution_service(&cur, c->action, NULL, T2, &next), c->err);
	if (c->err == JOBS_OK) {
		ck_assert_int_eq(next.status, c->to);
		ck_assert_int_eq(next.version_number, 4); /* spec 3.3: service changes bump too */
		ck_assert_int_eq(next.last_updated_at_ms, T2);
		ck_assert_int_eq(next.in_progress_deadline_ms, 0);
		ck_assert_int_eq(next.force_canceled, c->action == JOBS_SERVICE_FORCE_CANCEL);
		assert_details(&next, "{\"k\":\"v\"}");
	}
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
}
END_TEST

START_TEST(service_time_out_needs_an_expired_timer_spec_3_4)
{
	struct jobs_execution cur, next;

	make(&cur, JOBS_EXEC_IN_PROGRESS, 3, NULL);
	ck_assert_int_eq(jobs_execution_service(&cur, JOBS_SERVICE_TIME_OUT, NULL, T2, &next),
			 IST); /* no timer armed */
	cur.step_deadline_ms = T2 + 1;
	ck_assert_int_eq(jobs_execution_service(&cur, JOBS_SERVICE_TIME_OUT, NULL, T2, &next), IST);
	ck_assert_int_eq(jobs_execution_service(&cur, JOBS_SERVICE_TIME_OUT, NULL, T2 + 1, &next),
			 JOBS_OK);
	ck_assert_int_eq(next.status, JOBS_EXEC_TIMED_OUT);
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
}
END_TEST

START_TEST(service_cancel_execution_options_spec_5_1)
{
	struct jobs_execution cur, next;
	json_t *d = J("{\"why\":\"operator\"}");
	struct jobs_service_opts o = { true, 2, d };

	make(&cur, JOBS_EXEC_QUEUED, 3, "{\"k\":\"v\"}");
	ck_assert_int_eq(jobs_execution_service(&cur, JOBS_SERVICE_CANCEL, &o, T2, &next),
			 JOBS_ERR_VERSION_MISMATCH);
	o.expected_version = 3;
	ck_assert_int_eq(jobs_execution_service(&cur, JOBS_SERVICE_CANCEL, &o, T2, &next), JOBS_OK);
	assert_details(&next, "{\"why\":\"operator\"}");
	jobs_execution_cleanup(&next);
	jobs_execution_cleanup(&cur);
	json_decref(d);
}
END_TEST

/* ---- spec 3.4: timers --------------------------------------------------------------------- */

START_TEST(timer_arithmetic_spec_3_4)
{
	struct jobs_execution e;

	ck_assert_int_eq(jobs_timeout_deadline(T1, 0), 0);
	ck_assert_int_eq(jobs_timeout_deadline(T1, 10080), T1 + 10080 * MIN);
	ck_assert_int_eq(jobs_timeout_step_deadline(T1, 5, 0), T1 + 5 * MIN);
	ck_assert_int_eq(jobs_timeout_step_deadline(T1, 5, T1 + MIN), T1 + MIN);
	ck_assert_int_eq(jobs_timeout_step_deadline(T1, -1, T1 + MIN), 0);

	make(&e, JOBS_EXEC_IN_PROGRESS, 2, NULL);
	ck_assert_int_eq(jobs_execution_seconds_before_timeout(&e, T1), -1);
	ck_assert(!jobs_execution_is_expired(&e, T2));
	e.in_progress_deadline_ms = T1 + 30 * MIN;
	e.step_deadline_ms = T1 + 10 * MIN;
	ck_assert_int_eq(jobs_execution_deadline_ms(&e), T1 + 10 * MIN);
	ck_assert_int_eq(jobs_execution_seconds_before_timeout(&e, T1), 600);
	ck_assert_int_eq(jobs_execution_seconds_before_timeout(&e, T1 + 1), 600); /* rounds up */
	ck_assert_int_eq(jobs_execution_seconds_before_timeout(&e, T1 + 1000), 599);
	ck_assert_int_eq(jobs_execution_seconds_before_timeout(&e, T1 + 11 * MIN), 0);
	ck_assert(!jobs_execution_is_expired(&e, T1 + 10 * MIN - 1));
	ck_assert(jobs_execution_is_expired(&e, T1 + 10 * MIN));
	e.status = JOBS_EXEC_SUCCEEDED; /* terminal: nothing runs */
	ck_assert_int_eq(jobs_execution_deadline_ms(&e), 0);
	ck_assert_int_eq(jobs_execution_seconds_before_timeout(&e, T1), -1);
	ck_assert(!jobs_execution_is_expired(&e, T2 + 100 * MIN));
	jobs_execution_cleanup(&e);
}
END_TEST

/* ---- spec 3.3 / 3.5: creation and retries ------------------------------------------------- */

START_TEST(new_execution_starts_at_version_1_spec_3_3)
{
	struct jobs_execution e;

	ck_assert(jobs_execution_new_queued(&e, "fw-1", "pump-17", 1, 9, T0));
	ck_assert_int_eq(e.version_number, 1);
	ck_assert_int_eq(e.execution_number, 1);
	ck_assert_int_eq(e.status, JOBS_EXEC_QUEUED);
	ck_assert_int_eq(e.queued_at_ms, T0);
	ck_assert_int_eq(e.last_updated_at_ms, T0);
	ck_assert_int_eq(e.started_at_ms, 0);
	ck_assert_int_eq(e.seq, 9);
	ck_assert(!jobs_execution_new_queued(&e, "$next", "pump-17", 1, 0, T0));
	ck_assert(!jobs_execution_new_queued(&e, "fw-1", "bad thing", 1, 0, T0));
	ck_assert(!jobs_execution_new_queued(&e, "fw-1", "pump-17", 0, 0, T0));
}
END_TEST

START_TEST(copy_is_deep)
{
	struct jobs_execution a, b;

	make(&a, JOBS_EXEC_IN_PROGRESS, 2, "{\"k\":\"v\"}");
	ck_assert(jobs_execution_copy(&b, &a));
	ck_assert_ptr_ne(a.status_details, b.status_details);
	json_object_set_new(b.status_details, "k", json_string("changed"));
	assert_details(&a, "{\"k\":\"v\"}");
	jobs_execution_cleanup(&a);
	jobs_execution_cleanup(&b);
	jobs_execution_cleanup(NULL);
	jobs_update_cleanup(NULL);
}
END_TEST

struct retry_case {
	const char *name;
	struct jobs_retry_config cfg;
	enum jobs_exec_status ended;
	int after_failed, after_timed_out;
	bool want;
};

#define RC1(t, n)                                   \
	{                                           \
		1,                                  \
		{                                   \
			{                           \
				JOBS_FAILURE_##t, n \
			}                           \
		}                                   \
	}
#define RC2(t1, n1, t2, n2)                           \
	{                                             \
		2,                                    \
		{                                     \
			{ JOBS_FAILURE_##t1, n1 },    \
			{                             \
				JOBS_FAILURE_##t2, n2 \
			}                             \
		}                                     \
	}

static const struct retry_case retry_cases[] = {
	{ "no config", { 0 }, FA, 0, 0, false },
	{ "FAILED with budget", RC1(FAILED, 3), FA, 2, 0, true },
	{ "FAILED budget used", RC1(FAILED, 3), FA, 3, 0, false },
	{ "FAILED zero retries", RC1(FAILED, 0), FA, 0, 0, false },
	{ "TIMED_OUT has no FAILED criterion", RC1(FAILED, 3), TO, 0, 0, false },
	{ "TIMED_OUT criterion", RC1(TIMED_OUT, 2), TO, 0, 1, true },
	{ "TIMED_OUT budget counts its own retries only", RC2(FAILED, 3, TIMED_OUT, 2), TO, 3, 1,
	  true },
	{ "ALL counts every retry", RC1(ALL, 4), TO, 2, 2, false },
	{ "ALL with budget", RC1(ALL, 4), FA, 2, 1, true },
	{ "exact criterion wins over ALL", RC2(ALL, 1, FAILED, 5), FA, 3, 0, true },
	{ "ALL used for the other type", RC2(ALL, 1, FAILED, 5), TO, 1, 0, false },
	{ "at most 10 retries per thing", RC2(FAILED, 10, TIMED_OUT, 10), FA, 5, 5, false },
	{ "REJECTED is never retried", RC1(ALL, 10), RJ, 0, 0, false },
	{ "SUCCEEDED is never retried", RC1(ALL, 10), OK_, 0, 0, false },
	{ "CANCELED is never retried", RC1(ALL, 10), CA, 0, 0, false },
	{ "REMOVED is never retried", RC1(ALL, 10), RM, 0, 0, false },
};

START_TEST(retry_decision_spec_3_5)
{
	const struct retry_case *c = &retry_cases[_i];
	struct jobs_execution e;

	make(&e, c->ended, 4, NULL);
	e.retries.after_failed = c->after_failed;
	e.retries.after_timed_out = c->after_timed_out;
	ck_assert_msg(jobs_retry_decision(c->cfg.count ? &c->cfg : NULL, &e) == c->want, "%s",
		      c->name);
	jobs_execution_cleanup(&e);
}
END_TEST

START_TEST(retry_creates_next_execution_number_spec_3_5)
{
	struct jobs_execution ended, next;

	make(&ended, JOBS_EXEC_TIMED_OUT, 6, "{\"k\":\"v\"}");
	ended.execution_number = 2;
	ended.retries.after_failed = 1;
	ck_assert_int_eq(jobs_retry_next_execution(&ended, 42, T2, &next), JOBS_OK);
	ck_assert_str_eq(next.job_id, "fw-1");
	ck_assert_str_eq(next.thing_name, "pump-17");
	ck_assert_int_eq(next.execution_number, 3);
	ck_assert_int_eq(next.version_number, 1);
	ck_assert_int_eq(next.status, JOBS_EXEC_QUEUED);
	ck_assert_int_eq(next.queued_at_ms, T2);
	ck_assert_int_eq(next.started_at_ms, 0);
	ck_assert_int_eq(next.seq, 42);
	ck_assert_int_eq(next.retries.after_failed, 1);
	ck_assert_int_eq(next.retries.after_timed_out, 1);
	assert_details(&next, NULL);
	jobs_execution_cleanup(&next);
	ended.status = JOBS_EXEC_REJECTED;
	ck_assert_int_eq(jobs_retry_next_execution(&ended, 42, T2, &next),
			 JOBS_ERR_INVALID_REQUEST);
	jobs_execution_cleanup(&ended);
}
END_TEST

/* ---- spec 2.9 / 4.2: error registry ------------------------------------------------------- */

START_TEST(error_registry_spec_2_9_and_4_2)
{
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_VERSION_MISMATCH), "VersionMismatch");
	ck_assert_str_eq(jobs_err_rest_type(JOBS_ERR_VERSION_MISMATCH),
			 "InvalidStateTransitionException");
	ck_assert_uint_eq(jobs_err_http_status(JOBS_ERR_VERSION_MISMATCH), 409);
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_INVALID_TOPIC), "InvalidTopic");
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_INVALID_JSON), "InvalidJson");
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_INVALID_REQUEST), "InvalidRequest");
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_INVALID_STATE_TRANSITION),
			 "InvalidStateTransition");
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_RESOURCE_NOT_FOUND), "ResourceNotFound");
	ck_assert_str_eq(jobs_err_rest_type(JOBS_ERR_RESOURCE_NOT_FOUND),
			 "ResourceNotFoundException");
	ck_assert_uint_eq(jobs_err_http_status(JOBS_ERR_RESOURCE_NOT_FOUND), 404);
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_TERMINAL_STATE), "TerminalStateReached");
	ck_assert_uint_eq(jobs_err_http_status(JOBS_ERR_TERMINAL_STATE), 410);
	ck_assert_uint_eq(jobs_err_http_status(JOBS_ERR_THROTTLED), 429);
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_INTERNAL), "InternalError");
	ck_assert_str_eq(jobs_err_code(JOBS_ERR_THROTTLED), "RequestThrottled");
	ck_assert(jobs_err_has_execution_state(JOBS_ERR_VERSION_MISMATCH));
	ck_assert(jobs_err_has_execution_state(JOBS_ERR_INVALID_STATE_TRANSITION));
	ck_assert(!jobs_err_has_execution_state(JOBS_ERR_INVALID_REQUEST));
	ck_assert_str_eq(jobs_err_code((enum jobs_err)99), "InternalError");
	ck_assert(strlen(jobs_err_message(JOBS_ERR_INVALID_JSON)) > 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_execution");
	TCase *fsm = tcase_create("fsm");
	TCase *dev = tcase_create("device");
	TCase *svc = tcase_create("service");
	TCase *misc = tcase_create("misc");

	tcase_add_test(fsm, status_names_round_trip_spec_3_1);
	tcase_add_loop_test(fsm, transition_table_every_pair_spec_3_2, 0,
			    JOBS_EXEC__COUNT * JOBS_EXEC__COUNT);
	tcase_add_loop_test(fsm, update_every_pair_spec_2_8_and_3_2, 0,
			    JOBS_EXEC__COUNT * JOBS_EXEC__COUNT);
	suite_add_tcase(s, fsm);

	tcase_add_test(dev, update_order_not_found_then_version_then_transition_spec_2_8);
	tcase_add_test(dev, update_expected_version_match_applies_spec_2_8);
	tcase_add_test(dev, update_repeated_in_progress_bumps_version_quirk_13);
	tcase_add_test(dev, update_details_replace_keep_and_clear_spec_2_8);
	tcase_add_test(dev, update_step_timer_arm_cap_cancel_spec_3_4);
	tcase_add_test(dev, update_without_job_timeout_arms_step_only_spec_3_4);
	tcase_add_loop_test(dev, duplicates_get_the_same_accepted_answer, 0,
			    (int)(sizeof(dup_cases) / sizeof(dup_cases[0])));
	tcase_add_test(dev, update_records_client_token_for_duplicates);
	tcase_add_test(dev, start_next_queued_becomes_in_progress_spec_2_6);
	tcase_add_test(dev, start_next_in_progress_returned_as_is_quirk_11);
	tcase_add_test(dev, start_next_on_terminal_is_a_caller_error);
	suite_add_tcase(s, dev);

	tcase_add_loop_test(svc, service_transitions_spec_3_1, 0,
			    (int)(sizeof(svc_cases) / sizeof(svc_cases[0])));
	tcase_add_test(svc, service_time_out_needs_an_expired_timer_spec_3_4);
	tcase_add_test(svc, service_cancel_execution_options_spec_5_1);
	suite_add_tcase(s, svc);

	tcase_add_test(misc, timer_arithmetic_spec_3_4);
	tcase_add_test(misc, new_execution_starts_at_version_1_spec_3_3);
	tcase_add_test(misc, copy_is_deep);
	tcase_add_loop_test(misc, retry_decision_spec_3_5, 0,
			    (int)(sizeof(retry_cases) / sizeof(retry_cases[0])));
	tcase_add_test(misc, retry_creates_next_execution_number_spec_3_5);
	tcase_add_test(misc, error_registry_spec_2_9_and_4_2);
	suite_add_tcase(s, misc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
