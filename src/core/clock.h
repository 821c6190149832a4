/*
 * clock.h - the only way core code learns the time.
 *
 * Pure modules never call clock_gettime() themselves: they are handed a
 * struct clock, which the daemon points at CLOCK_MONOTONIC and tests point
 * at a fake they advance by hand.
 */
#ifndef IGDD_CLOCK_H
#define IGDD_CLOCK_H

#include <stdint.h>

typedef uint64_t (*clock_now_fn)(void *ctx);

struct clock {
	clock_now_fn now_ms;   /* monotonic milliseconds */
	void *ctx;
};

static inline uint64_t clock_now(const struct clock *c)
{
	return c->now_ms(c->ctx);
}

/* CLOCK_MONOTONIC in milliseconds (ctx unused). */
uint64_t clock_monotonic_ms(void *ctx);
/* Wall clock seconds since the epoch (lease files, BOOTID). */
uint64_t clock_realtime_s(void);

/* A settable clock for tests: ctx points at a uint64_t of milliseconds. */
uint64_t clock_fake_ms(void *ctx);

#endif
