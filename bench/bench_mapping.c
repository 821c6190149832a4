/*
 * bench_mapping.c - cost per operation of the port-mapping table
 * (core/mapping.h; the queries of WANIPConnection:2 2.5.14 - 2.5.21) at
 * 100 entries and at 131,070 entries (every port of TCP and UDP).
 *
 * Not a test: prints one table of ns/op. Every entry is leased (as UPnP
 * entries are), so the lease heap is as big as the table.
 *
 *   add          insert an entry into a table of about N
 *   delete       remove an entry from a table of about N
 *   lookup       map_find of a present key
 *   n-th         map_nth of a random index (GetGenericPortMappingEntry)
 *   range 100    map_range_first + 99 map_range_next (GetListOfPortMappings)
 *   free port    map_free_port from a random wanted port, one port free
 *   free (none)  the same when no port is free (the worst case)
 *   expiry       map_expire, per entry expired, heap of about N
 */
#include "core/clock.h"
#include "core/mapping.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAR_FUTURE (UINT64_C(1) << 40)

static uint64_t now_fake = 1000000;

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct key {
	uint8_t proto;
	uint16_t port;
};

struct bench {
	struct map_table *t;
	struct key *keys;               /* every entry of the table */
	size_t n;
};

static void add_key(struct map_table *t, struct key k, uint64_t lease_end)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.proto = k.proto;
	m.ext_port = k.port;
	m.int_port = k.port;
	m.internal_client.s_addr = htonl(0xc0a80114u + (k.port & 63));
	m.owner = m.internal_client;
	m.enabled = true;
	m.lease_end_ms = lease_end;
	if (map_add(t, &m, (struct str){ "bench mapping", 13 }, NULL) != MAP_OK) {
		fprintf(stderr, "map_add failed\n");
		exit(1);
	}
}

static struct mapping *find_key(struct map_table *t, struct key k)
{
	struct in_addr any = { 0 };

	return map_find(t, k.proto, k.port, any);
}

static void bench_build(struct bench *b, size_t n, const struct clock *clk)
{
	struct map_limits lim = { 0, 0 };
	size_t i;

	b->t = map_table_new(&lim, clk);
	b->keys = calloc(n, sizeof(*b->keys));
	b->n = n;
	for (i = 0; i < n; i++) {
		if (n <= 65535) {
			b->keys[i].proto = MAP_TCP;
			b->keys[i].port = (uint16_t)(10000 + i);
		} else {
			b->keys[i].proto = (uint8_t)(i / 65535);
			b->keys[i].port = (uint16_t)(i % 65535 + 1);
		}
		add_key(b->t, b->keys[i], FAR_FUTURE + rnd() % 1000000);
	}
}

/* Pick k distinct entries (a random window of the key array). */
static struct key *pick(struct bench *b, size_t k)
{
	return &b->keys[rnd() % (b->n - k + 1)];
}

/* add and delete: take k entries out and put them back, timing each half. */
static void bench_add_delete(struct bench *b, double *add_ns, double *del_ns)
{
	size_t k = b->n < 1000 ? b->n / 10 : 1000, rounds = 4000000 / (k * 2) + 1, r, i;
	double ta = 0, td = 0, t0;

	for (r = 0; r < rounds; r++) {
		struct key *w = pick(b, k);

		t0 = now_ns();
		for (i = 0; i < k; i++)
			map_remove(b->t, find_key(b->t, w[i]));
		td += now_ns() - t0;
		t0 = now_ns();
		for (i = 0; i < k; i++)
			add_key(b->t, w[i], FAR_FUTURE + rnd() % 1000000);
		ta += now_ns() - t0;
	}
	/* delete includes its map_find; report the removal alone */
	*add_ns = ta / (double)(rounds * k);
	*del_ns = td / (double)(rounds * k);
}

static double bench_lookup(struct bench *b)
{
	size_t iters = 4000000, i;
	volatile uintptr_t sink = 0;
	double t0 = now_ns();

	for (i = 0; i < iters; i++)
		sink += (uintptr_t)find_key(b->t, b->keys[rnd() % b->n]);
	(void)sink;
	return (now_ns() - t0) / (double)iters;
}

static double bench_nth(struct bench *b)
{
	size_t iters = 4000000, i;
	volatile uintptr_t sink = 0;
	double t0 = now_ns();

	for (i = 0; i < iters; i++)
		sink += (uintptr_t)map_nth(b->t, rnd() % b->n);
	(void)sink;
	return (now_ns() - t0) / (double)iters;
}

/* A listing of 100 consecutive entries; ns per listing. */
static double bench_range(struct bench *b)
{
	size_t iters = 200000, i, seen = 0;
	double t0 = now_ns();

	for (i = 0; i < iters; i++) {
		struct key k = b->keys[0];
		uint16_t hi;
		const struct mapping *m;

		if (b->n > 65535) {             /* every port is used: any window */
			k.proto = (uint8_t)(rnd() & 1);
			k.port = (uint16_t)(1 + rnd() % (65535 - 99));
		}
		hi = (uint16_t)(k.port + 99);

		for (m = map_range_first(b->t, k.proto, k.port, hi); m; m = map_range_next(b->t, m, hi))
			seen++;
	}
	if (seen != iters * 100) {
		fprintf(stderr, "range: saw %zu\n", seen);
		exit(1);
	}
	return (now_ns() - t0) / (double)iters;
}

/* map_free_port from random wanted ports; one port (the hole) free. */
static double bench_free(struct bench *b, bool none)
{
	size_t iters = 2000000, i;
	struct key hole = b->keys[b->n / 2];
	uint16_t lo = b->n <= 65535 ? 10000 : 1, hi = b->n <= 65535 ? (uint16_t)(10000 + b->n - 1) : 65535;
	uint16_t port;
	double t0;
	int ok = 0;

	if (!none)
		map_remove(b->t, find_key(b->t, hole));
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		ok += map_free_port(b->t, hole.proto, (uint16_t)(lo + rnd() % (hi - lo + 1u)),
				    lo, hi, &port) == 0;
	t0 = (now_ns() - t0) / (double)iters;
	if (ok != (none ? 0 : (int)iters)) {
		fprintf(stderr, "free port: %d found\n", ok);
		exit(1);
	}
	if (!none)
		add_key(b->t, hole, FAR_FUTURE);
	return t0;
}

/* k entries come due among N leased ones; ns per entry expired. */
static double bench_expire(struct bench *b)
{
	size_t k = b->n < 1000 ? b->n / 10 : 1000, rounds = 2000000 / (k * 2) + 1, r, i;
	double total = 0, t0;

	for (r = 0; r < rounds; r++) {
		struct key *w = pick(b, k);

		for (i = 0; i < k; i++) {
			map_remove(b->t, find_key(b->t, w[i]));
			add_key(b->t, w[i], 1000 + rnd() % 1000);
		}
		t0 = now_ns();
		if (map_expire(b->t, 2000, NULL, NULL) != k) {
			fprintf(stderr, "expire: wrong count\n");
			exit(1);
		}
		total += now_ns() - t0;
		for (i = 0; i < k; i++)
			add_key(b->t, w[i], FAR_FUTURE + rnd() % 1000000);
	}
	return total / (double)(rounds * k);
}

struct result {
	double add, del, lookup, nth, range, free_one, free_none, expire;
};

static void run(size_t n, struct result *res)
{
	struct clock clk = { clock_fake_ms, &now_fake };
	struct bench b;

	bench_build(&b, n, &clk);
	bench_add_delete(&b, &res->add, &res->del);
	res->lookup = bench_lookup(&b);
	res->nth = bench_nth(&b);
	res->range = bench_range(&b);
	res->free_one = bench_free(&b, false);
	res->free_none = bench_free(&b, true);
	res->expire = bench_expire(&b);
	if (map_count(b.t) != n) {
		fprintf(stderr, "count drifted\n");
		exit(1);
	}
	map_table_free(b.t);
	free(b.keys);
}

int main(void)
{
	struct result small, full;

	run(100, &small);
	run(131070, &full);
	printf("%-34s %14s %16s\n", "operation (ns/op)", "100 entries", "131070 entries");
	printf("%-34s %14.1f %16.1f\n", "add", small.add, full.add);
	printf("%-34s %14.1f %16.1f\n", "delete (find + remove)", small.del, full.del);
	printf("%-34s %14.1f %16.1f\n", "lookup (proto, port, remote host)", small.lookup, full.lookup);
	printf("%-34s %14.1f %16.1f\n", "n-th entry", small.nth, full.nth);
	printf("%-34s %14.1f %16.1f\n", "range listing, 100 entries", small.range, full.range);
	printf("%-34s %14.1f %16.1f\n", "free-port search, one free", small.free_one, full.free_one);
	printf("%-34s %14.1f %16.1f\n", "free-port search, none free", small.free_none, full.free_none);
	printf("%-34s %14.1f %16.1f\n", "expiry, per entry expired", small.expire, full.expire);
	return 0;
}
