/*
 * backoff.c - doubling waits with a bound (backoff.h).
 */
#include "core/backoff.h"

uint64_t backoff_nth(uint64_t first_ms, unsigned n, uint64_t max_ms)
{
	uint64_t w = first_ms;

	while (n-- > 0 && w < max_ms)
		w = w > UINT64_MAX / 2 ? UINT64_MAX : w * 2;
	return w > max_ms ? max_ms : w;
}

void backoff_init(struct backoff *b, uint64_t first_ms, uint64_t max_ms)
{
	b->first_ms = first_ms;
	b->max_ms = max_ms < first_ms ? first_ms : max_ms;
	b->next_ms = first_ms;
}

uint64_t backoff_take(struct backoff *b)
{
	uint64_t w = b->next_ms;

	b->next_ms = backoff_nth(w, 1, b->max_ms);
	return w;
}

void backoff_reset(struct backoff *b)
{
	b->next_ms = b->first_ms;
}
