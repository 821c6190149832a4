/*
 * ratelimit.c - fixed-window limit on peer-triggered log lines (see
 * ratelimit.h).
 */
#include "util/ratelimit.h"

#include <limits.h>

bool ratelimit_ok(struct ratelimit *rl, uint64_t now_ms, unsigned *ret_suppressed)
{
	unsigned burst = rl->burst ? rl->burst : 1;

	if (!rl->started || now_ms < rl->window_ms || now_ms - rl->window_ms >= rl->interval_ms) {
		rl->started = true;
		rl->window_ms = now_ms;
		rl->used = 0;
	}
	if (rl->used >= burst) {
		if (rl->suppressed < UINT_MAX)
			rl->suppressed++;
		return false;
	}
	rl->used++;
	*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
