#include "fdsave.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool g_is_refusing;
static bool g_has_refused;

/* Replaces libc's socketpair() for the whole process (see fdsave.h). */
int socketpair(int domain, int type, int protocol, int sv[2])
{
	if (g_is_refusing) {
		g_has_refused = true;
		errno = EMFILE;
		return -1;
	}
	return (int)syscall(SYS_socketpair, domain, type, protocol, sv);
}

void sim_fdsave_begin(void)
{
	g_is_refusing = true;
}

void sim_fdsave_end(void)
{
	g_is_refusing = false;
}

bool sim_fdsave_is_effective(void)
{
	return g_has_refused;
}
