/* Free ports for brokers that tests start themselves, following the harness convention of
 * scripts/stack-lib.sh, so parallel runs (and the harness) never collide. */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Ports follow the harness convention (scripts/stack-lib.sh): random ports below the kernel's
 * ephemeral range (so no outgoing connection takes the port while the broker is down), a bind
 * probe, and a lock file per port in $STACK_PORT_DIR holding "dir=OWNER\npid=PID", taken under
 * flock on .alloc.lock, so parallel test runs never collide. */
#define PORT_MIN 20000
#define PORT_MAX 32000

static const char *port_dir(void)
{
	const char *d = getenv("STACK_PORT_DIR");

	return d && *d ? d : "/tmp/bellwether-ports";
}

static bool port_bindable(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A lock file is stale when it names no owner dir, the dir is gone, or its pid is dead. */
static bool port_lock_stale(const char *file)
{
	char line[512], dir[512] = "";
	long pid = 0;
	struct stat st;
	FILE *f = fopen(file, "r");

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "dir=", 4) == 0)
			snprintf(dir, sizeof(dir), "%s", line + 4);
		else if (strncmp(line, "pid=", 4) == 0)
			pid = strtol(line + 4, NULL, 10);
	}
	fclose(f);
	if (!dir[0] || stat(dir, &st) != 0)
		return true;
	return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Lock a free port for owner (a directory); returns the port. */
int test_port_acquire(const char *owner)
{
	char lockpath[256], file[256], tmp[300];
	int64_t deadline = now_ms() + 30000;
	int lockfd, port = -1;
	unsigned seed = (unsigned)getpid() ^ (unsigned)now_ms();

	mkdir(port_dir(), 01777);
	chmod(port_dir(), 01777);
	snprintf(lockpath, sizeof(lockpath), "%s/.alloc.lock", port_dir());
	lockfd = open(lockpath, O_RDONLY | O_CREAT, 0666);
	if (lockfd < 0)
		return -1;
	while (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (now_ms() >= deadline) {
			close(lockfd);
			return -1;
		}
		sleep_ms(20);
	}
	for (int i = 0; i < 500 && port < 0; i++) {
		int p = PORT_MIN + (int)(rand_r(&seed) % (PORT_MAX - PORT_MIN));
		FILE *f;

		snprintf(file, sizeof(file), "%s/%d", port_dir(), p);
		if (access(file, F_OK) == 0 && !port_lock_stale(file))
			continue;
		if (!port_bindable(p))
			continue;
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid());
		f = fopen(tmp, "w");
		if (!f)
			continue;
		fprintf(f, "dir=%s\npid=%d\n", owner, (int)getpid());
		if (fclose(f) == 0 && rename(tmp, file) == 0)
			port = p;
		else
			unlink(tmp);
	}
	close(lockfd); /* releases the flock */
	return port;
}

/* Remove our lock file for port, if it is still ours. */
void test_port_release(const char *owner, int port)
{
	char file[256], line[512], want[300];
	bool is_ours = false;
	FILE *f;

	snprintf(file, sizeof(file), "%s/%d", port_dir(), port);
	snprintf(want, sizeof(want), "dir=%s\n", owner);
	f = fopen(file, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		is_ours = is_ours || strcmp(line, want) == 0;
	fclose(f);
	if (is_ours)
		unlink(file);
}

bool test_port_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}
