/*
 * clock.c - monotonic, wall and fake clocks.
 */
#include "core/clock.h"

#include <time.h>

uint64_t clock_monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t clock_realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t clock_fake_ms(void *ctx)
{
	return *(const uint64_t *)ctx;
}
