/*
 * harness.h - time and isolation for the unit tests that use real
 * sockets, timers or processes (the others use a fake clock).
 *
 * The rule (tests/netns/lib.sh, "Time"): a test never asserts a
 * duration. It waits for the condition itself, bounded by one safety
 * timeout far above any plausible duration: IGDD_TEST_TIMEOUT_BASE_S
 * (tests/CMakeLists.txt reads it from tests/netns/lib.sh) times
 * IGDD_TEST_TIMEOUT_SCALE from the environment (default 1; scripts/test.sh
 * sets it higher for the sanitizer build). Reaching it is a failure. A
 * check that something does not happen runs the loop for a short fixed
 * time (test_loop_for): slowness can only make it pass. A lower bound on
 * time ("not before the deadline") is fine; an upper bound is not.
 */
#ifndef IGDD_TEST_HARNESS_H
#define IGDD_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before the first include (unshare)"
#endif

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "loop/loop.h"

#ifndef IGDD_TEST_TIMEOUT_BASE_S
#error "IGDD_TEST_TIMEOUT_BASE_S comes from tests/CMakeLists.txt (tests/netns/lib.sh)"
#endif

/* The safety timeout in ms. */
static inline uint64_t test_timeout_ms(void)
{
	const char *s = getenv("IGDD_TEST_TIMEOUT_SCALE");
	unsigned long k = s && *s ? strtoul(s, NULL, 10) : 1;

	if (k < 1)
		k = 1;
	if (k > 1000)
		k = 1000;
	return (uint64_t)IGDD_TEST_TIMEOUT_BASE_S * 1000u * k;
}

/* Call cond(arg) every 20 ms until it holds; false after the safety
 * timeout. For conditions outside any loop (another process, the
 * kernel). */
static inline bool test_poll_until(bool (*cond)(void *arg), void *arg)
{
	uint64_t end = clock_monotonic_ms(NULL) + test_timeout_ms();
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	while (!cond(arg)) {
		if (clock_monotonic_ms(NULL) >= end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

struct test_until {
	bool (*cond)(void *arg);
	void *arg;
	int64_t tick;
};

static inline void test_until_tick(struct loop *l, void *arg)
{
	struct test_until *u = arg;

	u->tick = 0;
	if (u->cond(u->arg)) {
		loop_stop(l);
		return;
	}
	u->tick = loop_timer_in(l, 10, test_until_tick, u);
}

static inline void test_until_stop(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

/* Run l until cond(arg) holds (checked every 10 ms, and whenever some
 * callback stops the loop); false after the safety timeout. */
static inline bool test_loop_until(struct loop *l, bool (*cond)(void *arg), void *arg)
{
	uint64_t end = clock_monotonic_ms(NULL) + test_timeout_ms();
	struct test_until u = { cond, arg, 0 };
	int64_t safety;

	while (!cond(arg)) {
		if (clock_monotonic_ms(NULL) >= end)
			return false;
		u.tick = loop_timer_in(l, 10, test_until_tick, &u);
		safety = loop_timer_at(l, end, test_until_stop, NULL);
		if (loop_run(l) < 0)
			return false;
		loop_timer_cancel(l, safety);
		if (u.tick > 0)
			loop_timer_cancel(l, u.tick);
	}
	return true;
}

/* Run l for ms (a window for something that must not happen); callbacks
 * that stop the loop meanwhile do not cut it short. */
static inline void test_loop_for(struct loop *l, uint64_t ms)
{
	uint64_t end = clock_monotonic_ms(NULL) + ms;
	int64_t id;

	while (clock_monotonic_ms(NULL) < end) {
		id = loop_timer_at(l, end, test_until_stop, NULL);
		if (loop_run(l) < 0)
			return;
		loop_timer_cancel(l, id);
	}
}

/*
 * Move this process into a network namespace of its own, with lo up:
 * its sockets (UDP 1900, nftables tables) then meet no other process's.
 * As root a new network namespace; otherwise a user namespace with one
 * (where the kernel allows unprivileged ones). Call while the process
 * has one thread. 0, or -errno when neither is possible.
 */
static inline int test_own_netns(void)
{
	struct ifreq ifr;
	int fd, r = 0;

	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (r == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

#endif
