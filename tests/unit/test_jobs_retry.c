/*
 * Unit tests for jobs_retry_rules() (jobs/retry): the retry decision of spec 3.5 compiled into
 * the table the scheduler joins with (sched/tick.c). For many configurations, a state is in
 * the table exactly when jobs_retry_decision() retries it, and the table's next counts are
 * those of jobs_retry_next_execution().
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/retry.h"

#define C1(t, n)                                                    \
	{                                                           \
		.count = 1, .criteria = { { JOBS_FAILURE_##t, n } } \
	}
#define C2(t1, n1, t2, n2)                                                                       \
	{                                                                                        \
		.count = 2, .criteria = { { JOBS_FAILURE_##t1, n1 }, { JOBS_FAILURE_##t2, n2 } } \
	}

static const struct jobs_retry_config configs[] = {
	C1(FAILED, 0),
	C1(FAILED, 1),
	C1(FAILED, 3),
	C1(FAILED, 10),
	C1(TIMED_OUT, 2),
	C1(TIMED_OUT, 10),
	C1(ALL, 1),
	C1(ALL, 4),
	C1(ALL, 10),
	C2(FAILED, 2, TIMED_OUT, 1),
	C2(FAILED, 10, TIMED_OUT, 10),
	C2(FAILED, 1, ALL, 5),
	C2(ALL, 3, TIMED_OUT, 0),
	C2(TIMED_OUT, 7, ALL, 2),
};

static const struct jobs_retry_rule *find(const struct jobs_retry_rule *rules, size_t n,
					  enum jobs_exec_status st, int f, int t)
{
	for (size_t i = 0; i < n; i++) {
		if (rules[i].status == st && rules[i].counts.after_failed == f &&
		    rules[i].counts.after_timed_out == t)
			return &rules[i];
	}
	return NULL;
}

START_TEST(retry_rules_equal_the_decision_spec_3_5)
{
	static struct jobs_retry_rule rules[JOBS_RETRY_RULES_MAX];
	const struct jobs_retry_config *cfg = &configs[_i];
	size_t n = jobs_retry_rules(cfg, rules, JOBS_RETRY_RULES_MAX), seen = 0;
	struct jobs_execution e, next;

	jobs_execution_init(&e);
	snprintf(e.job_id, sizeof(e.job_id), "job");
	snprintf(e.thing_name, sizeof(e.thing_name), "thing");
	e.execution_number = 4;
	/* counts past JOBS_RETRY_MAX too: the table must not need them */
	for (int s = 0; s < JOBS_EXEC__COUNT; s++) {
		for (int f = 0; f <= JOBS_RETRY_MAX + 2; f++) {
			for (int t = 0; t <= JOBS_RETRY_MAX + 2; t++) {
				e.status = (enum jobs_exec_status)s;
				e.retries.after_failed = f;
				e.retries.after_timed_out = t;
				bool want = jobs_retry_decision(cfg, &e);
				const struct jobs_retry_rule *r = find(rules, n, e.status, f, t);

				ck_assert_msg(want == (r != NULL),
					      "config %d: %s f=%d t=%d: decision %d, table %d", _i,
					      jobs_exec_status_name(e.status), f, t, want,
					      r != NULL);
				if (!r)
					continue;
				seen++;
				ck_assert(s == JOBS_EXEC_FAILED || s == JOBS_EXEC_TIMED_OUT);
				ck_assert_int_eq(jobs_retry_next_execution(&e, 1, 0, &next),
						 JOBS_OK);
				ck_assert_int_eq(r->next.after_failed, next.retries.after_failed);
				ck_assert_int_eq(r->next.after_timed_out,
						 next.retries.after_timed_out);
				jobs_execution_cleanup(&next);
			}
		}
	}
	ck_assert_uint_eq(seen, n); /* no rule for a state that does not exist */
}
END_TEST

START_TEST(retry_rules_examples_spec_3_5)
{
	static struct jobs_retry_rule rules[JOBS_RETRY_RULES_MAX];
	const struct jobs_retry_config failed2 = C1(FAILED, 2), all3 = C1(ALL, 3),
				       both10 = C2(FAILED, 10, TIMED_OUT, 10);
	size_t n;

	/* FAILED with 2 retries: (0,t) and (1,t) of FAILED, never TIMED_OUT */
	n = jobs_retry_rules(&failed2, rules, JOBS_RETRY_RULES_MAX);
	ck_assert_uint_eq(n, 2 * 10 - 1); /* f in 0..1, t with f + t < 10 */
	ck_assert_ptr_nonnull(find(rules, n, JOBS_EXEC_FAILED, 1, 0));
	ck_assert_ptr_null(find(rules, n, JOBS_EXEC_FAILED, 2, 0));
	ck_assert_ptr_null(find(rules, n, JOBS_EXEC_TIMED_OUT, 0, 0));
	ck_assert_int_eq(find(rules, n, JOBS_EXEC_FAILED, 1, 3)->next.after_failed, 2);
	ck_assert_int_eq(find(rules, n, JOBS_EXEC_FAILED, 1, 3)->next.after_timed_out, 3);
	/* ALL: the total counts, whatever the type */
	n = jobs_retry_rules(&all3, rules, JOBS_RETRY_RULES_MAX);
	ck_assert_ptr_nonnull(find(rules, n, JOBS_EXEC_TIMED_OUT, 1, 1));
	ck_assert_ptr_null(find(rules, n, JOBS_EXEC_TIMED_OUT, 2, 1));
	ck_assert_ptr_null(find(rules, n, JOBS_EXEC_REJECTED, 0, 0));
	/* never more than 10 in total */
	n = jobs_retry_rules(&both10, rules, JOBS_RETRY_RULES_MAX);
	ck_assert_ptr_nonnull(find(rules, n, JOBS_EXEC_FAILED, 5, 4));
	ck_assert_ptr_null(find(rules, n, JOBS_EXEC_FAILED, 5, 5));
	ck_assert_uint_eq(n, 2 * 55);
	/* no config, or a small cap */
	ck_assert_uint_eq(jobs_retry_rules(NULL, rules, JOBS_RETRY_RULES_MAX), 0);
	ck_assert_uint_eq(jobs_retry_rules(&both10, rules, 7), 7);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs_retry");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, retry_rules_equal_the_decision_spec_3_5, 0,
			    (int)(sizeof(configs) / sizeof(configs[0])));
	tcase_add_test(tc, retry_rules_examples_spec_3_5);
	suite_add_tcase(s, tc);
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
