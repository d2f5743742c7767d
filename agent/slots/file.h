/*
 * File-backed simulated flash: DIR/slot-a.img, DIR/slot-b.img and DIR/bootstate.json (the
 * bootloader variables of struct agent_boot_state). Writes go to a temp file that is fsynced
 * and renamed over the inactive slot, and the state file is replaced atomically, so a crash at
 * any point leaves a bootable pair.
 */
#ifndef BW_AGENT_SLOTS_FILE_H
#define BW_AGENT_SLOTS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_slot.h"

/*
 * Opens (creating DIR and a fresh state with slot A at initial_version when there is none) the
 * backend in dir. Returns 0 and fills slot, or -1 with err set.
 */
int slots_file_open(struct agent_slot *slot, const char *dir, const char *initial_version,
		    uint32_t initial_security_version, char *err, size_t cap);

/* Testing and demos: mark a slot's image as one that never boots (persisted). */
int slots_file_set_bad(struct agent_slot *slot, int which, bool is_bad);

/* Path of a slot's image file (for tests), written into buf. */
void slots_file_image_path(const struct agent_slot *slot, int which, char *buf, size_t cap);

#endif
