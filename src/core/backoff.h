/*
 * backoff.h - the one retry schedule of igdd's clients of outside
 * servers (net/stun_io.c, net/upstream_io.c): waits that double from a
 * first value up to a bound, and the retransmission delay of the n-th
 * send (RFC 6887 8.1.1: "doubling", RFC 8489 6.2.1 has its own in
 * proto/stun.c). Pure: no clock, no I/O.
 */
#ifndef IGDD_CORE_BACKOFF_H
#define IGDD_CORE_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint64_t first_ms;
	uint64_t max_ms;
	uint64_t next_ms;               /* the wait backoff_take() returns next */
};

/* first_ms, then doubling up to max_ms (max_ms below first_ms: first_ms). */
void backoff_init(struct backoff *b, uint64_t first_ms, uint64_t max_ms);
/* The wait now; the next one doubles (bounded). */
uint64_t backoff_take(struct backoff *b);
/* After a success: first_ms again. */
void backoff_reset(struct backoff *b);
/* first_ms * 2^n, at most max_ms (no overflow whatever n). */
uint64_t backoff_nth(uint64_t first_ms, unsigned n, uint64_t max_ms);

#endif
