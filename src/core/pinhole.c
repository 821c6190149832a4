/*
 * pinhole.c - the IPv6 pinhole table (see pinhole.h; WANIPv6FirewallControl:1
 * 2.4.9 [5.3.9] UniqueID, 2.6.3 - 2.6.5 [5.5.4 - 5.5.6] add, update,
 * delete, and the lease of 2.4.8 [5.3.8]).
 */
#include "core/pinhole.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pin_table {
	struct pin_limits lim;
	const struct clock *clk;
	struct pinhole **v;             /* sorted by uid */
	size_t n, cap;
	uint64_t key;
	uint32_t counter;               /* the next input of the permutation */
};

/* ---- UniqueIDs: a keyed 4-round Feistel permutation of 16 bits ---- */

static uint8_t round_fn(uint8_t half, uint64_t key, unsigned round)
{
	uint64_t x = (key >> (round * 16)) ^ ((uint64_t)half * 0x9e3779b97f4a7c15ull);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (uint8_t)x;
}

static uint16_t permute(uint64_t key, uint16_t in)
{
	uint8_t l = (uint8_t)(in >> 8), r = (uint8_t)in, t;
	unsigned i;

	for (i = 0; i < 4; i++) {
		t = r;
		r = (uint8_t)(l ^ round_fn(r, key, i));
		l = t;
	}
	return (uint16_t)((unsigned)l << 8 | r);
}

struct pin_table *pin_table_new(const struct pin_limits *lim, const struct clock *clk,
				uint64_t seed)
{
	struct pin_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lim = *lim;
	t->clk = clk;
	pin_reseed(t, seed);
	return t;
}

void pin_table_free(struct pin_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t);
}

void pin_set_limits(struct pin_table *t, const struct pin_limits *lim)
{
	t->lim = *lim;
}

void pin_reseed(struct pin_table *t, uint64_t seed)
{
	t->key = seed;
	t->counter = 0;
}

const char *pin_proto_name(uint8_t proto)
{
	switch (proto) {
	case PIN_PROTO_TCP: return "TCP";
	case PIN_PROTO_UDP: return "UDP";
	case PIN_PROTO_UDPLITE: return "UDPLITE";
	default: return NULL;
	}
}

static bool in6_any(const struct in6_addr *a)
{
	return IN6_IS_ADDR_UNSPECIFIED(a);
}

void pin_describe(char *out, size_t outsz, const struct pinhole *p)
{
	char in[INET6_ADDRSTRLEN], rh[INET6_ADDRSTRLEN], rp[8];
	const char *name = pin_proto_name(p->proto);

	inet_ntop(AF_INET6, &p->internal, in, sizeof(in));
	if (in6_any(&p->remote))
		snprintf(rh, sizeof(rh), "any");
	else
		inet_ntop(AF_INET6, &p->remote, rh, sizeof(rh));
	if (p->remote_port)
		snprintf(rp, sizeof(rp), "%u", p->remote_port);
	else
		snprintf(rp, sizeof(rp), "any");
	snprintf(out, outsz, "%s [%s]:%u from [%s]:%s (id %u)", name ? name : "?", in,
		 p->int_port, rh, rp, p->uid);
}

size_t pin_count(const struct pin_table *t)
{
	return t->n;
}

size_t pin_client_count(const struct pin_table *t, const struct in6_addr *client)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		n += IN6_ARE_ADDR_EQUAL(&t->v[i]->internal, client);
	return n;
}

size_t pin_owner_count(const struct pin_table *t, const struct ipaddr *owner)
{
	size_t i, n = 0;

	if (owner->family == 0)
		return 0;
	for (i = 0; i < t->n; i++)
		n += ipaddr_eq(&t->v[i]->owner, owner);
	return n;
}

/* The position of uid, or where it would go. */
static size_t lower_bound(const struct pin_table *t, uint16_t uid)
{
	size_t lo = 0, hi = t->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->v[mid]->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pinhole *pin_find(const struct pin_table *t, uint16_t uid)
{
	size_t i = lower_bound(t, uid);

	return i < t->n && t->v[i]->uid == uid ? t->v[i] : NULL;
}

struct pinhole *pin_find_tuple(const struct pin_table *t, const struct in6_addr *remote,
			       uint16_t remote_port, const struct in6_addr *internal,
			       uint16_t int_port, uint8_t proto)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct pinhole *p = t->v[i];

		if (p->proto == proto && p->int_port == int_port && p->remote_port == remote_port &&
		    IN6_ARE_ADDR_EQUAL(&p->internal, internal) &&
		    IN6_ARE_ADDR_EQUAL(&p->remote, remote))
			return t->v[i];
	}
	return NULL;
}

struct pinhole *pin_first(const struct pin_table *t)
{
	return t->n ? t->v[0] : NULL;
}

struct pinhole *pin_next(const struct pin_table *t, const struct pinhole *p)
{
	return pin_after(t, p->uid);
}

struct pinhole *pin_after(const struct pin_table *t, uint16_t uid)
{
	size_t i;

	if (uid == UINT16_MAX)
		return NULL;
	i = lower_bound(t, (uint16_t)(uid + 1));
	return i < t->n ? t->v[i] : NULL;
}

uint64_t pin_lease_end(const struct pin_table *t, uint32_t lease_s)
{
	return lease_s ? clock_now(t->clk) + (uint64_t)lease_s * 1000u : 0;
}

uint32_t pin_lease_remaining(const struct pin_table *t, const struct pinhole *p)
{
	uint64_t now = clock_now(t->clk), left;

	if (p->lease_end_ms == 0)
		return 0;
	if (p->lease_end_ms <= now)
		return 1;
	left = (p->lease_end_ms - now + 999) / 1000;
	return left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/* A free UniqueID: the next outputs of the permutation, skipping 0 and
 * live IDs. 0 when none is free (the limits keep the table far below). */
static uint16_t new_uid(struct pin_table *t)
{
	unsigned tries;
	uint16_t uid;

	for (tries = 0; tries < 65536u; tries++) {
		uid = permute(t->key, (uint16_t)t->counter++);
		if (uid != 0 && !pin_find(t, uid))
			return uid;
	}
	return 0;
}

enum pin_status pin_add(struct pin_table *t, const struct pinhole *tmpl, struct pinhole **ret)
{
	struct pinhole *p, **nv;
	size_t i;

	if (t->n >= t->lim.max_pinholes)
		return PIN_FULL;
	if (t->lim.max_per_client &&
	    (pin_client_count(t, &tmpl->internal) >= t->lim.max_per_client ||
	     pin_owner_count(t, &tmpl->owner) >= t->lim.max_per_client))
		return PIN_CLIENT_FULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		nv = realloc(t->v, cap * sizeof(*nv));
		if (!nv)
			return PIN_NOMEM;
		t->v = nv;
		t->cap = cap;
	}
	p = malloc(sizeof(*p));
	if (!p)
		return PIN_NOMEM;
	*p = *tmpl;
	if (p->uid == 0 || pin_find(t, p->uid))
		p->uid = new_uid(t);
	if (p->uid == 0) {
		free(p);
		return PIN_FULL;
	}
	i = lower_bound(t, p->uid);
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
	t->v[i] = p;
	t->n++;
	if (ret)
		*ret = p;
	return PIN_OK;
}

void pin_remove(struct pin_table *t, struct pinhole *p)
{
	size_t i = lower_bound(t, p->uid);

	if (i >= t->n || t->v[i] != p)
		return;
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
	free(p);
}

size_t pin_expire(struct pin_table *t, uint64_t now_ms, pin_each_fn fn, void *arg)
{
	size_t i = 0, n = 0;

	while (i < t->n) {
		struct pinhole *p = t->v[i];

		if (p->lease_end_ms == 0 || p->lease_end_ms > now_ms) {
			i++;
			continue;
		}
		if (fn)
			fn(p, arg);
		pin_remove(t, p);
		n++;
	}
	return n;
}

uint64_t pin_next_expiry(const struct pin_table *t)
{
	uint64_t best = 0;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i]->lease_end_ms && (best == 0 || t->v[i]->lease_end_ms < best))
			best = t->v[i]->lease_end_ms;
	return best;
}
