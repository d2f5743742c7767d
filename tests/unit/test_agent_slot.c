/* Unit tests for A/B slot switching: the pure boot state and the file-backed flash
 * (agent/slots/file.c) in a temp directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_slot.h"
#include "file.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_agent_slot.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(pending_slot_boots_on_trial_and_confirm_makes_it_permanent)
{
	struct agent_boot_state st;
	struct agent_slot_info info;

	agent_boot_state_init(&st, "1.0.0", 1);
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 0);
	ck_assert(!info.is_trial);
	agent_boot_state_mark_pending(&st, "2.0.0", 2);
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 1);
	ck_assert(info.is_trial);
	ck_assert_str_eq(info.version, "2.0.0");
	agent_boot_state_confirm(&st);
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 1);
	ck_assert(!info.is_trial);
	ck_assert_int_eq(info.boot_count, 3);
}
END_TEST

START_TEST(unconfirmed_trial_falls_back_after_its_tries)
{
	struct agent_boot_state st;
	struct agent_slot_info info;
	int i;

	agent_boot_state_init(&st, "1.0.0", 1);
	agent_boot_state_boot(&st, &info);
	agent_boot_state_mark_pending(&st, "2.0.0", 2);
	for (i = 0; i < AGENT_SLOT_TRIES; i++) {
		agent_boot_state_boot(&st, &info); /* crashes before confirming each time */
		ck_assert_int_eq(info.slot, 1);
	}
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 0);
	ck_assert(!info.is_trial);
	ck_assert_str_eq(info.version, "1.0.0");
}
END_TEST

START_TEST(bad_image_never_runs_and_rollback_returns_to_old_slot)
{
	struct agent_boot_state st;
	struct agent_slot_info info;

	agent_boot_state_init(&st, "1.0.0", 1);
	agent_boot_state_boot(&st, &info);
	agent_boot_state_mark_pending(&st, "2.0.0", 2);
	st.is_bad[1] = true;
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 0);
	ck_assert_int_eq(st.pending, -1);
	st.is_bad[1] = false;
	agent_boot_state_mark_pending(&st, "2.0.1", 2);
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 1);
	agent_boot_state_rollback(&st);
	agent_boot_state_boot(&st, &info);
	ck_assert_int_eq(info.slot, 0);
}
END_TEST

START_TEST(file_backend_writes_inactive_slot_and_survives_reopen)
{
	struct agent_slot slot, again;
	struct agent_slot_info info;
	char err[200], path[256], buf[32];
	FILE *f;

	ck_assert_msg(slots_file_open(&slot, dir, "1.0.0", 1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(slot.ops->boot(slot.ctx, &info), 0);
	ck_assert_int_eq(info.slot, 0);
	ck_assert_int_eq(slot.ops->write_begin(slot.ctx, 6), 0);
	ck_assert_int_eq(slot.ops->write(slot.ctx, "new", 3), 0);
	ck_assert_int_eq(slot.ops->write(slot.ctx, "img", 3), 0);
	ck_assert_int_eq(slot.ops->write_end(slot.ctx, true), 0);
	ck_assert_int_eq(slot.ops->mark_pending(slot.ctx, "2.0.0", 2), 0);
	slots_file_image_path(&slot, 1, path, sizeof(path));
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "newimg");
	slot.ops->close(slot.ctx);
	/* "power cycle": a new process opens the same state */
	ck_assert_int_eq(slots_file_open(&again, dir, "9.9.9", 9, err, sizeof(err)), 0);
	ck_assert_int_eq(again.ops->boot(again.ctx, &info), 0);
	ck_assert_int_eq(info.slot, 1);
	ck_assert(info.is_trial);
	ck_assert_str_eq(info.version, "2.0.0");
	ck_assert_int_eq(again.ops->confirm(again.ctx), 0);
	ck_assert_int_eq(again.ops->boot(again.ctx, &info), 0);
	ck_assert_int_eq(info.slot, 1);
	ck_assert(!info.is_trial);
	again.ops->close(again.ctx);
}
END_TEST

START_TEST(file_backend_abandoned_write_leaves_slot_untouched)
{
	struct agent_slot slot;
	struct agent_slot_info info;
	char err[200], path[256];

	ck_assert_int_eq(slots_file_open(&slot, dir, "1.0.0", 1, err, sizeof(err)), 0);
	ck_assert_int_eq(slot.ops->boot(slot.ctx, &info), 0);
	ck_assert_int_eq(slot.ops->write_begin(slot.ctx, 3), 0);
	ck_assert_int_eq(slot.ops->write(slot.ctx, "abc", 3), 0);
	ck_assert_int_eq(slot.ops->write_end(slot.ctx, false), 0);
	slots_file_image_path(&slot, 1, path, sizeof(path));
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(slots_file_set_bad(&slot, 1, true), 0);
	ck_assert_int_eq(slot.ops->mark_pending(slot.ctx, "2.0.0", 2), 0);
	ck_assert_int_eq(slot.ops->boot(slot.ctx, &info), 0);
	ck_assert_int_eq(info.slot, 0); /* bad image: the bootloader fell back */
	slot.ops->close(slot.ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_slot");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pending_slot_boots_on_trial_and_confirm_makes_it_permanent);
	tcase_add_test(tc, unconfirmed_trial_falls_back_after_its_tries);
	tcase_add_test(tc, bad_image_never_runs_and_rollback_returns_to_old_slot);
	tcase_add_test(tc, file_backend_writes_inactive_slot_and_survives_reopen);
	tcase_add_test(tc, file_backend_abandoned_write_leaves_slot_untouched);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
