/*
 * A/B slot backends. The agent only talks to this interface; `agent/slots/file.c` simulates
 * flash with two files and a state file, a real device implements the same operations with its
 * bootloader (U-Boot env via fw_setenv, RAUC, GRUB's grubenv: see agent/README.md).
 *
 * The boot state (struct agent_boot_state) is what a bootloader keeps: the confirmed slot, a
 * pending slot with a try counter, and each slot's image version. Its functions are PURE so the
 * simulator uses them in memory and the file backend persists them.
 */
#ifndef BW_AGENT_SLOT_H
#define BW_AGENT_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_doc.h"

#define AGENT_SLOT_TRIES 3 /* boot attempts of a pending slot before falling back */

/* What the running image is after a boot. */
struct agent_slot_info {
	int slot;      /* 0 = A, 1 = B */
	bool is_trial; /* running a pending slot that is not confirmed yet */
	char version[AGENT_VERSION_MAX + 1];
	uint32_t security_version;
	uint32_t boot_count;
};

struct agent_slot_ops {
	/* Simulated or real power-on: the bootloader picks the slot; fills info. 0 or -1. */
	int (*boot)(void *ctx, struct agent_slot_info *info);
	/* Opens the inactive slot for writing an image of size bytes. */
	int (*write_begin)(void *ctx, uint64_t size_bytes);
	int (*write)(void *ctx, const void *buf, size_t len);
	/* Finishes (is_commit: flush and keep) or abandons the write. */
	int (*write_end)(void *ctx, bool is_commit);
	/* Makes the written inactive slot the one to try on the next boot. */
	int (*mark_pending)(void *ctx, const char *version, uint32_t security_version);
	/* Makes the running (trial) slot permanent. */
	int (*confirm)(void *ctx);
	/* Abandons the trial: the next boot runs the previous slot. */
	int (*rollback)(void *ctx);
	/* Frees ctx. */
	void (*close)(void *ctx);
};

/* A backend instance: ops + its context. err holds the last failure's text. */
struct agent_slot {
	const struct agent_slot_ops *ops;
	void *ctx;
};

/* The bootloader's persistent variables. */
struct agent_boot_state {
	int active;	/* confirmed slot */
	int pending;	/* slot to try, -1 = none */
	int tries;	/* attempts left for pending */
	int running;	/* slot booted last */
	bool is_trial;	/* running == pending, unconfirmed */
	bool is_bad[2]; /* simulation: this slot's image never boots */
	char version[2][AGENT_VERSION_MAX + 1];
	uint32_t security_version[2];
	uint32_t boot_count;
};

/* Fresh state: slot A confirmed with version/security_version, B empty. */
void agent_boot_state_init(struct agent_boot_state *st, const char *version,
			   uint32_t security_version);

/* A boot: tries the pending slot while attempts remain (a bad image uses one up each time),
 * otherwise the confirmed one. Fills info. */
void agent_boot_state_boot(struct agent_boot_state *st, struct agent_slot_info *info);

/* Records the inactive slot's new image and makes it pending. */
void agent_boot_state_mark_pending(struct agent_boot_state *st, const char *version,
				   uint32_t security_version);

/* Confirms the running trial slot (no-op when not on trial). */
void agent_boot_state_confirm(struct agent_boot_state *st);

/* Drops the pending slot; the next boot runs the confirmed one. */
void agent_boot_state_rollback(struct agent_boot_state *st);

#endif
