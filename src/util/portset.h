/*
 * portset.h - a set of port numbers (0..65535) as a bitmap of 8 KiB, and
 * a pair of them, one per protocol: the external ports the gateway
 * itself holds (util/sockdiag.h, priv/nft_forwards.h).
 */
#ifndef IGDD_PORTSET_H
#define IGDD_PORTSET_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct portset {
	uint64_t w[65536 / 64];
};

static inline void portset_clear(struct portset *s)
{
	memset(s, 0, sizeof(*s));
}

static inline void portset_add(struct portset *s, uint16_t port)
{
	s->w[port >> 6] |= UINT64_C(1) << (port & 63);
}

static inline void portset_add_range(struct portset *s, uint16_t lo, uint16_t hi)
{
	uint32_t p;

	for (p = lo; p <= hi; p++)
		portset_add(s, (uint16_t)p);
}

static inline bool portset_has(const struct portset *s, uint16_t port)
{
	return (s->w[port >> 6] >> (port & 63)) & 1u;
}

/* The lowest port >= from in the set; -1 when none. */
static inline int portset_next(const struct portset *s, uint32_t from)
{
	uint32_t i = from >> 6;
	uint64_t w;

	if (from > 65535)
		return -1;
	w = s->w[i] & (~UINT64_C(0) << (from & 63));
	for (;;) {
		if (w)
			return (int)(i * 64 + (uint32_t)__builtin_ctzll(w));
		if (++i == 65536 / 64)
			return -1;
		w = s->w[i];
	}
}

static inline bool portset_equal(const struct portset *a, const struct portset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

#endif
