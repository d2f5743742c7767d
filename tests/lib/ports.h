/* Free loopback ports for test brokers (tests/lib/ports.c). */
#ifndef BW_TESTS_PORTS_H
#define BW_TESTS_PORTS_H

#include <stdbool.h>

/* Lock a free port for owner (a directory that lives as long as the lock); -1 if none. */
int test_port_acquire(const char *owner);
/* Remove owner's lock file for port, if it is still owner's. */
void test_port_release(const char *owner, int port);
/* True if something accepts TCP connections on 127.0.0.1:port. */
bool test_port_accepts(int port);

#endif
