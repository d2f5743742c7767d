#include "agent_slot.h"

#include <stdio.h>
#include <string.h>

void agent_boot_state_init(struct agent_boot_state *st, const char *version,
			   uint32_t security_version)
{
	memset(st, 0, sizeof(*st));
	st->pending = -1;
	snprintf(st->version[0], sizeof(st->version[0]), "%s", version);
	st->security_version[0] = security_version;
}

void agent_boot_state_boot(struct agent_boot_state *st, struct agent_slot_info *info)
{
	st->boot_count++;
	st->is_trial = false;
	st->running = st->active;
	while (st->pending >= 0 && st->pending <= 1 && st->tries > 0) {
		st->tries--;
		if (st->is_bad[st->pending])
			continue; /* the image crashed before the agent ran: another attempt */
		st->running = st->pending;
		st->is_trial = true;
		break;
	}
	if (!st->is_trial)
		st->pending = -1; /* attempts exhausted: fall back for good */
	memset(info, 0, sizeof(*info));
	info->slot = st->running;
	info->is_trial = st->is_trial;
	snprintf(info->version, sizeof(info->version), "%s", st->version[st->running]);
	info->security_version = st->security_version[st->running];
	info->boot_count = st->boot_count;
}

void agent_boot_state_mark_pending(struct agent_boot_state *st, const char *version,
				   uint32_t security_version)
{
	int slot = 1 - st->running;

	snprintf(st->version[slot], sizeof(st->version[slot]), "%s", version);
	st->security_version[slot] = security_version;
	st->pending = slot;
	st->tries = AGENT_SLOT_TRIES;
}

void agent_boot_state_confirm(struct agent_boot_state *st)
{
	if (!st->is_trial)
		return;
	st->active = st->running;
	st->pending = -1;
	st->tries = 0;
	st->is_trial = false;
}

void agent_boot_state_rollback(struct agent_boot_state *st)
{
	st->pending = -1;
	st->tries = 0;
}
