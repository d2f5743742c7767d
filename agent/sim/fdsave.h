/*
 * bellwether-sim: one file descriptor per simulated device instead of three.
 *
 * libmosquitto's mosquitto_new() opens a socketpair that only wakes mosquitto_loop() when another
 * thread publishes (threaded use). The simulator drives every client from its own epoll loop and
 * never uses mosquitto_loop(), so the pair is dead weight: two descriptors per device, which makes
 * 10,000 devices need 30,000 descriptors in a process whose hard limit may be lower (20,000 on
 * the CI machine, and raising it needs CAP_SYS_RESOURCE). This module defines socketpair() in the
 * executable, which the dynamic linker binds libmosquitto's call to; while sim_fdsave_begin() is
 * in effect it fails with EMFILE and libmosquitto carries on without the pair (it then only
 * skips the wake-up write). Every other caller (libcurl) gets the real system call.
 */
#ifndef BW_SIM_FDSAVE_H
#define BW_SIM_FDSAVE_H

#include <stdbool.h>

/* Refuse socketpair() until sim_fdsave_end(). */
void sim_fdsave_begin(void);
void sim_fdsave_end(void);

/* True once a socketpair() call was refused: the interposition works in this build, and each
 * client costs one descriptor. */
bool sim_fdsave_is_effective(void);

#endif
