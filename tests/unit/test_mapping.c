/*
 * test_mapping.c - core/mapping (the table: WANIPConnection:2 2.3.14 -
 * 2.3.22, 2.4.6) and svc/portmap (the actions of 2.5.14 - 2.5.21 with
 * Figures 2-3 and 2-4), table-driven where the spec gives a table.
 *
 * The action tests call the handlers directly with an engine on the sim
 * backend wrapped in a counting, optionally failing, backend; the full
 * HTTP/SOAP path is covered by tests/data/2*.case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "conf/policy_conf.h"
#include "core/mapping.h"
#include "core/policy.h"
#include "engine.h"
#include "engine_tx.h"
#include "svc/action.h"
#include "svc/portmap.h"
#include "svc/wanipconn.h"
#include "util/limits.h"

#include "fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static const struct in_addr any_host = { 0 };

/* A leased TCP/UDP entry for client, description "d". */
static enum map_status add_simple(struct map_table *t, uint8_t proto, uint16_t port,
				  struct in_addr rh, struct in_addr client, uint64_t lease_end)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.proto = proto;
	m.ext_port = port;
	m.int_port = port;
	m.remote_host = rh;
	m.internal_client = client;
	m.owner = client;
	m.enabled = true;
	m.lease_end_ms = lease_end;
	return map_add(t, &m, STR_LIT("d"), NULL);
}

struct table_env {
	uint64_t now;
	struct clock clk;
	struct map_table *t;
};

static void table_env_init(struct table_env *v, unsigned max, unsigned per_client)
{
	struct map_limits lim = { max, per_client };

	v->now = 1000000;
	v->clk.now_ms = clock_fake_ms;
	v->clk.ctx = &v->now;
	v->t = map_table_new(&lim, &v->clk);
	assert_non_null(v->t);
}

/* ============================================================ table */

/* Figure 2-3 seen from the table: map_add's answer for each row (the
 * action maps EXISTS to overwrite or 718, CONFLICT to 718). Existing:
 * TCP/5000 from 198.51.100.7 -> 192.168.1.20. */
struct fig_table_row {
	bool proto_eq, port_eq, rh_eq, client_eq;
	enum map_status st;
};

static const struct fig_table_row fig_table_rows[] = {
	{ 0, 0, 0, 0, MAP_OK }, { 0, 0, 0, 1, MAP_OK }, { 0, 0, 1, 0, MAP_OK }, { 0, 0, 1, 1, MAP_OK },
	{ 0, 1, 0, 0, MAP_OK }, { 0, 1, 0, 1, MAP_OK }, { 0, 1, 1, 0, MAP_OK }, { 0, 1, 1, 1, MAP_OK },
	{ 1, 0, 0, 0, MAP_OK }, { 1, 0, 0, 1, MAP_OK }, { 1, 0, 1, 0, MAP_OK }, { 1, 0, 1, 1, MAP_OK },
	{ 1, 1, 0, 0, MAP_CONFLICT },   /* other remote host, other client: failure */
	{ 1, 1, 0, 1, MAP_OK },         /* vendor choice: both live */
	{ 1, 1, 1, 0, MAP_EXISTS },     /* failure (718) */
	{ 1, 1, 1, 1, MAP_EXISTS },     /* overwrite */
};

static void test_table_figure_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(fig_table_rows); i++) {
		const struct fig_table_row *r = &fig_table_rows[i];
		struct table_env v;

		table_env_init(&v, 0, 0);
		assert_int_equal(add_simple(v.t, MAP_TCP, 5000, ip("198.51.100.7"),
					    ip("192.168.1.20"), 0), MAP_OK);
		assert_int_equal(add_simple(v.t, r->proto_eq ? MAP_TCP : MAP_UDP,
					    r->port_eq ? 5000 : 5001,
					    ip(r->rh_eq ? "198.51.100.7" : "198.51.100.8"),
					    ip(r->client_eq ? "192.168.1.20" : "192.168.1.30"), 0),
				 r->st);
		assert_int_equal(map_count(v.t), r->st == MAP_OK ? 2 : 1);
		map_table_free(v.t);
	}
}

struct lease_row {
	uint32_t lease_s;
	uint64_t advance_ms;
	uint32_t remaining;
};

static const struct lease_row lease_rows[] = {
	{ 3600, 0, 3600 },
	{ 3600, 1, 3600 },              /* rounded up to whole seconds */
	{ 3600, 999, 3600 },
	{ 3600, 1000, 3599 },
	{ 3600, 1001, 3599 },
	{ 3600, 3599000, 1 },
	{ 3600, 3599999, 1 },
	{ 3600, 3600000, 1 },           /* due, not yet expired: never 0 (= static) */
	{ 1, 0, 1 },
	{ 604800, 0, 604800 },
	{ 604800, 604799500, 1 },
	{ 0, 0, 0 },                    /* static */
	{ 0, 999999999, 0 },
};

static void test_lease_arithmetic(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(lease_rows); i++) {
		struct table_env v;
		struct mapping *m;

		table_env_init(&v, 0, 0);
		assert_int_equal(add_simple(v.t, MAP_TCP, 8080, any_host, ip("192.168.1.20"),
					    map_lease_end(v.t, lease_rows[i].lease_s)), MAP_OK);
		m = map_find(v.t, MAP_TCP, 8080, any_host);
		assert_non_null(m);
		assert_int_equal(m->lease_end_ms,
				 lease_rows[i].lease_s ? 1000000 + lease_rows[i].lease_s * 1000ull : 0);
		v.now += lease_rows[i].advance_ms;
		assert_int_equal(map_lease_remaining(v.t, m), lease_rows[i].remaining);
		/* expiry happens exactly at the end, not before */
		if (lease_rows[i].lease_s) {
			assert_int_equal(map_expire(v.t, m->lease_end_ms - 1, NULL, NULL), 0);
			assert_int_equal(map_expire(v.t, v.now > m->lease_end_ms ? v.now :
						    m->lease_end_ms, NULL, NULL), 1);
			assert_int_equal(map_count(v.t), 0);
		} else {
			assert_int_equal(map_next_expiry(v.t), 0);
			assert_int_equal(map_expire(v.t, UINT64_MAX, NULL, NULL), 0);
			assert_int_equal(map_count(v.t), 1);
		}
		map_table_free(v.t);
	}
}

struct expire_log {
	size_t n;
	uint16_t ports[64];
	uint64_t last_end;
};

static void record_expired(const struct mapping *m, void *arg)
{
	struct expire_log *l = arg;

	assert_true(m->lease_end_ms >= l->last_end);
	l->last_end = m->lease_end_ms;
	l->ports[l->n++] = m->ext_port;
}

static void test_expiry_order(void **state)
{
	/* (port, lease seconds) in insertion order; 0 = static */
	static const uint32_t adds[][2] = {
		{ 5001, 50 }, { 5002, 10 }, { 5003, 0 }, { 5004, 30 }, { 5005, 20 },
		{ 5006, 10 }, { 5007, 40 }, { 5008, 0 }, { 5009, 5 }, { 5010, 60 },
	};
	struct expire_log log;
	struct table_env v;
	struct mapping *m;
	size_t i;

	(void)state;
	table_env_init(&v, 0, 0);
	for (i = 0; i < N(adds); i++)
		assert_int_equal(add_simple(v.t, MAP_UDP, (uint16_t)adds[i][0], any_host,
					    ip("192.168.1.20"), map_lease_end(v.t, adds[i][1])),
				 MAP_OK);
	assert_int_equal(map_next_expiry(v.t), 1000000 + 5000);
	/* removing one from the middle of the heap keeps the order */
	map_remove(v.t, map_find(v.t, MAP_UDP, 5005, any_host));
	/* a refresh moves 5002 from 10 s to 45 s */
	m = map_find(v.t, MAP_UDP, 5002, any_host);
	map_update(v.t, m, m->int_port, true, NULL, map_lease_end(v.t, 45));

	memset(&log, 0, sizeof(log));
	assert_int_equal(map_expire(v.t, 1000000 + 10000, record_expired, &log), 2);
	assert_int_equal(log.ports[0], 5009);
	assert_int_equal(log.ports[1], 5006);
	assert_int_equal(map_next_expiry(v.t), 1000000 + 30000);
	assert_int_equal(map_expire(v.t, UINT64_MAX - 1, record_expired, &log), 5);
	assert_int_equal(log.n, 7);
	{
		static const uint16_t want[] = { 5009, 5006, 5004, 5007, 5002, 5001, 5010 };

		for (i = 0; i < N(want); i++)
			assert_int_equal(log.ports[i], want[i]);
	}
	assert_int_equal(map_count(v.t), 2);    /* the static ones */
	assert_int_equal(map_next_expiry(v.t), 0);
	map_table_free(v.t);
}

/* Walk the table: strictly increasing keys, nth/index agree, count. */
static void check_order(const struct map_table *t)
{
	const struct mapping *m, *prev = NULL;
	size_t i = 0;

	for (m = map_first(t); m; m = map_next(t, m), i++) {
		assert_ptr_equal(map_nth(t, i), m);
		assert_int_equal(map_index(t, m), i);
		if (prev) {
			uint64_t a = ((uint64_t)prev->proto << 48) | ((uint64_t)prev->ext_port << 32) |
				     ntohl(prev->remote_host.s_addr);
			uint64_t b = ((uint64_t)m->proto << 48) | ((uint64_t)m->ext_port << 32) |
				     ntohl(m->remote_host.s_addr);

			assert_true(a < b);
		}
		assert_true(map_port_used(t, m->proto, m->ext_port));
		prev = m;
	}
	assert_int_equal(i, map_count(t));
	assert_null(map_nth(t, i));
}

/*
 * Walk the table against the client views: each entry sits at its
 * client index in its client's view, the entry before it there is the
 * same client's and comes earlier in the table, and each view ends at
 * the client's count. Together: every view is exactly its client's
 * entries, in table order, indexed 0..count-1, and the views add up to
 * the table.
 */
static void check_clients(const struct map_table *t)
{
	const struct mapping *m, *before;
	size_t viewed = 0;

	for (m = map_first(t); m; m = map_next(t, m)) {
		struct in_addr c = m->internal_client;
		size_t ci = map_client_index(t, m), n = map_client_count(t, c);

		assert_true(ci < n);
		assert_ptr_equal(map_client_nth(t, c, ci), m);
		if (ci == 0) {
			assert_null(map_client_nth(t, c, n));
			viewed += n;
			continue;
		}
		before = map_client_nth(t, c, ci - 1);
		assert_non_null(before);
		assert_int_equal(before->internal_client.s_addr, c.s_addr);
		assert_int_equal(map_client_index(t, before), ci - 1);
		assert_true(map_index(t, before) < map_index(t, m));
	}
	assert_int_equal(viewed, map_count(t));
}

static void test_index_compaction(void **state)
{
	struct table_env v;
	struct mapping *m;
	size_t i;

	(void)state;
	table_env_init(&v, 0, 0);
	/* inserted out of order; table order is (proto, port, remote host) */
	for (i = 0; i < 100; i++)
		assert_int_equal(add_simple(v.t, (uint8_t)(i % 2), (uint16_t)(10000 + (i * 37) % 100),
					    any_host, ip("192.168.1.20"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 10000, ip("198.51.100.7"), ip("192.168.1.20"), 0),
			 MAP_OK);
	check_order(v.t);
	m = map_nth(v.t, 0);
	assert_int_equal(m->proto, MAP_TCP);
	assert_int_equal(m->ext_port, 10000);
	assert_int_equal(m->remote_host.s_addr, 0);        /* the wildcard sorts first */
	assert_int_equal(map_nth(v.t, 1)->remote_host.s_addr, ip("198.51.100.7").s_addr);
	/* delete from the front, the middle and the end: indexes close up */
	map_remove(v.t, map_nth(v.t, 0));
	map_remove(v.t, map_nth(v.t, 50));
	map_remove(v.t, map_nth(v.t, map_count(v.t) - 1));
	assert_int_equal(map_count(v.t), 98);
	check_order(v.t);
	assert_int_equal(map_nth(v.t, 0)->remote_host.s_addr, ip("198.51.100.7").s_addr);
	while (map_count(v.t)) {
		map_remove(v.t, map_nth(v.t, map_count(v.t) / 3));
		check_order(v.t);
	}
	map_table_free(v.t);
}

/* map_client_nth: entries added in the order listed, then queries. */
struct cn_entry {
	const char *client;
	uint8_t proto;
	uint16_t port;
	const char *rh;                 /* "" = wildcard */
};

struct cn_query {
	const char *client;
	size_t index;
	uint8_t proto;
	uint16_t port;                  /* 0: no entry (NULL) */
	const char *rh;
};

struct cn_row {
	const char *name;
	struct cn_entry add[8];         /* up to the first NULL client */
	struct cn_query q[10];
};

static const struct cn_row cn_rows[] = {
	{ "empty table", { { NULL } },
	  { { "192.168.1.20", 0, 0, 0, "" }, { NULL } } },
	/* the report: lan1's upnpc -l stopped at lan2's entry (606) */
	{ "the upnpc -l report",
	  { { "192.168.1.20", MAP_TCP, 18080, "" }, { "192.168.1.30", MAP_TCP, 18081, "" },
	    { "192.168.1.20", MAP_UDP, 19000, "" }, { NULL } },
	  { { "192.168.1.20", 0, MAP_TCP, 18080, "" }, { "192.168.1.20", 1, MAP_UDP, 19000, "" },
	    { "192.168.1.20", 2, 0, 0, "" }, { "192.168.1.30", 0, MAP_TCP, 18081, "" },
	    { "192.168.1.30", 1, 0, 0, "" }, { "192.168.1.40", 0, 0, 0, "" },
	    { "192.168.1.20", SIZE_MAX, 0, 0, "" }, { NULL } } },
	{ "remote hosts of one port, table order",
	  { { "192.168.1.20", MAP_TCP, 5000, "198.51.100.7" }, { "192.168.1.20", MAP_TCP, 5000, "" },
	    { "192.168.1.20", MAP_TCP, 5000, "198.51.100.3" }, { "192.168.1.30", MAP_TCP, 4999, "" },
	    { NULL } },
	  { { "192.168.1.20", 0, MAP_TCP, 5000, "" }, { "192.168.1.20", 1, MAP_TCP, 5000, "198.51.100.3" },
	    { "192.168.1.20", 2, MAP_TCP, 5000, "198.51.100.7" }, { "192.168.1.20", 3, 0, 0, "" },
	    { "192.168.1.30", 0, MAP_TCP, 4999, "" }, { NULL } } },
	{ "interleaved ports and protocols",
	  { { "192.168.1.30", MAP_TCP, 1003, "" }, { "192.168.1.20", MAP_TCP, 1002, "" },
	    { "192.168.1.40", MAP_UDP, 1000, "" }, { "192.168.1.30", MAP_TCP, 1001, "" },
	    { "192.168.1.20", MAP_TCP, 1000, "" }, { "192.168.1.20", MAP_UDP, 1001, "" }, { NULL } },
	  { { "192.168.1.20", 0, MAP_TCP, 1000, "" }, { "192.168.1.20", 1, MAP_TCP, 1002, "" },
	    { "192.168.1.20", 2, MAP_UDP, 1001, "" }, { "192.168.1.20", 3, 0, 0, "" },
	    { "192.168.1.30", 0, MAP_TCP, 1001, "" }, { "192.168.1.30", 1, MAP_TCP, 1003, "" },
	    { "192.168.1.30", 2, 0, 0, "" }, { "192.168.1.40", 0, MAP_UDP, 1000, "" },
	    { "192.168.1.40", 1, 0, 0, "" }, { NULL } } },
	/* the view follows the client's address, not the table's order */
	{ "neighbouring and extreme addresses",
	  { { "255.255.255.255", MAP_UDP, 5000, "" }, { "192.168.1.21", MAP_TCP, 1, "" },
	    { "192.168.1.19", MAP_TCP, 65535, "" }, { "0.0.0.0", MAP_UDP, 7, "" },
	    { "192.168.1.20", MAP_UDP, 65535, "" }, { "10.0.0.1", MAP_TCP, 2, "" }, { NULL } },
	  { { "255.255.255.255", 0, MAP_UDP, 5000, "" }, { "255.255.255.255", 1, 0, 0, "" },
	    { "192.168.1.19", 0, MAP_TCP, 65535, "" }, { "192.168.1.20", 0, MAP_UDP, 65535, "" },
	    { "192.168.1.21", 0, MAP_TCP, 1, "" }, { "0.0.0.0", 0, MAP_UDP, 7, "" },
	    { "0.0.0.0", 1, 0, 0, "" }, { "10.0.0.1", 0, MAP_TCP, 2, "" },
	    { "10.0.0.2", 0, 0, 0, "" }, { NULL } } },
};

static struct in_addr rh_of(const char *s)
{
	return *s ? ip(s) : any_host;
}

static void test_client_nth(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < N(cn_rows); i++) {
		const struct cn_row *r = &cn_rows[i];
		struct table_env v;

		table_env_init(&v, 0, 0);
		for (j = 0; r->add[j].client; j++)
			assert_int_equal(add_simple(v.t, r->add[j].proto, r->add[j].port,
						    rh_of(r->add[j].rh), ip(r->add[j].client), 0),
					 MAP_OK);
		check_clients(v.t);
		for (j = 0; r->q[j].client; j++) {
			const struct cn_query *q = &r->q[j];
			const struct mapping *m = map_client_nth(v.t, ip(q->client), q->index);

			if (!q->port) {
				if (m)
					fail_msg("%s: %s #%zu: got %u/%u", r->name, q->client, q->index,
						 m->proto, m->ext_port);
				continue;
			}
			if (!m || m->proto != q->proto || m->ext_port != q->port ||
			    m->remote_host.s_addr != rh_of(q->rh).s_addr ||
			    m->internal_client.s_addr != ip(q->client).s_addr)
				fail_msg("%s: %s #%zu: want %u/%u", r->name, q->client, q->index,
					 q->proto, q->port);
			assert_int_equal(map_client_index(v.t, m), q->index);
		}
		map_table_free(v.t);
	}
}

/* Many clients with interleaved entries: TCP and UDP port 1 + i for
 * client i, and for every third client one more TCP entry from a remote
 * host. Then whole clients and single entries go: views close up. */
static struct in_addr many_client(uint32_t i)
{
	struct in_addr c = { htonl(0x0a000000u + (i * 7919u) % 6007u) };

	return c;
}

static void check_many_client(const struct map_table *t, uint32_t i, bool gone, bool narrowed)
{
	struct in_addr c = many_client(i);
	bool extra = i % 3 == 0 && !narrowed;
	size_t k = 0;
	const struct mapping *m;

	if (gone) {
		assert_int_equal(map_client_count(t, c), 0);
		assert_null(map_client_nth(t, c, 0));
		return;
	}
	m = map_client_nth(t, c, k++);
	assert_non_null(m);
	assert_true(m->proto == MAP_TCP && m->ext_port == 1 + i && !m->remote_host.s_addr);
	if (extra) {
		m = map_client_nth(t, c, k++);
		assert_non_null(m);
		assert_true(m->proto == MAP_TCP && m->ext_port == 1 + i && m->remote_host.s_addr);
	}
	m = map_client_nth(t, c, k++);
	assert_non_null(m);
	assert_true(m->proto == MAP_UDP && m->ext_port == 1 + i);
	assert_null(map_client_nth(t, c, k));
	assert_int_equal(map_client_count(t, c), k);
}

static void test_client_nth_many(void **state)
{
	struct table_env v;
	uint32_t i;

	(void)state;
	table_env_init(&v, 0, 0);
	for (i = 0; i < 6000; i++) {
		struct in_addr c = many_client(i);

		assert_int_equal(add_simple(v.t, MAP_UDP, (uint16_t)(1 + i), any_host, c, 0), MAP_OK);
		if (i % 3 == 0)
			assert_int_equal(add_simple(v.t, MAP_TCP, (uint16_t)(1 + i),
						    ip("198.51.100.7"), c, 0), MAP_OK);
		assert_int_equal(add_simple(v.t, MAP_TCP, (uint16_t)(1 + i), any_host, c, 0), MAP_OK);
	}
	check_clients(v.t);
	for (i = 0; i < 6000; i++)
		check_many_client(v.t, i, false, false);
	/* every fourth client goes entirely; every sixth loses its remote
	 * host entry from the middle of its view */
	for (i = 0; i < 6000; i += 4) {
		while (map_client_count(v.t, many_client(i)))
			map_remove(v.t, map_client_nth(v.t, many_client(i), 0));
	}
	for (i = 0; i < 6000; i += 6)
		if (i % 4)
			map_remove(v.t, map_client_nth(v.t, many_client(i), 1));
	check_clients(v.t);
	for (i = 0; i < 6000; i++)
		check_many_client(v.t, i, i % 4 == 0, i % 6 == 0);
	map_table_free(v.t);
}

/* One client's view compacts as its entries go, from the front, the
 * middle and the end; the other clients' views do not move. */
static void test_client_compaction(void **state)
{
	struct in_addr a = ip("192.168.1.20"), b = ip("192.168.1.30");
	struct table_env v;
	struct mapping *m;
	uint32_t p;

	(void)state;
	table_env_init(&v, 0, 0);
	for (p = 0; p < 100; p++)       /* a on even ports, b on odd ones */
		assert_int_equal(add_simple(v.t, MAP_TCP, (uint16_t)(20000 + p), any_host,
					    p % 2 ? b : a, 0), MAP_OK);
	assert_int_equal(map_client_nth(v.t, a, 10)->ext_port, 20020);
	assert_int_equal(map_client_nth(v.t, b, 10)->ext_port, 20021);
	map_remove(v.t, map_client_nth(v.t, a, 0));
	map_remove(v.t, map_client_nth(v.t, a, 20));
	map_remove(v.t, map_client_nth(v.t, a, map_client_count(v.t, a) - 1));
	assert_int_equal(map_client_count(v.t, a), 47);
	assert_int_equal(map_client_nth(v.t, a, 0)->ext_port, 20002);
	assert_int_equal(map_client_nth(v.t, a, 19)->ext_port, 20040);
	assert_int_equal(map_client_nth(v.t, a, 20)->ext_port, 20044);     /* 20042 went */
	assert_int_equal(map_client_nth(v.t, a, 46)->ext_port, 20096);
	assert_null(map_client_nth(v.t, a, 47));
	for (p = 0; p < 50; p++)
		assert_int_equal(map_client_nth(v.t, b, p)->ext_port, 20001 + 2 * p);
	check_clients(v.t);
	/* a's entries all go, from the middle out: b's view is the table */
	while (map_client_count(v.t, a)) {
		map_remove(v.t, map_client_nth(v.t, a, map_client_count(v.t, a) / 2));
		check_clients(v.t);
	}
	assert_null(map_client_nth(v.t, a, 0));
	for (p = 0, m = map_first(v.t); m; m = map_next(v.t, m), p++)
		assert_ptr_equal(map_client_nth(v.t, b, p), m);
	assert_int_equal(p, 50);
	map_table_free(v.t);
}

static void test_range_queries(void **state)
{
	static const uint16_t tcp[] = { 80, 1024, 5000, 5001, 6000, 65535 };
	struct table_env v;
	const struct mapping *m;
	size_t i, n;

	(void)state;
	table_env_init(&v, 0, 0);
	for (i = 0; i < N(tcp); i++) {
		assert_int_equal(add_simple(v.t, MAP_TCP, tcp[i], any_host, ip("192.168.1.20"), 0), MAP_OK);
		assert_int_equal(add_simple(v.t, MAP_UDP, tcp[i], any_host, ip("192.168.1.20"), 0), MAP_OK);
	}
	assert_int_equal(add_simple(v.t, MAP_TCP, 5000, ip("198.51.100.9"), ip("192.168.1.20"), 0), MAP_OK);

	/* [5000, 6000] TCP: 5000 (two remote hosts), 5001, 6000 */
	n = 0;
	for (m = map_range_first(v.t, MAP_TCP, 5000, 6000); m; m = map_range_next(v.t, m, 6000)) {
		assert_int_equal(m->proto, MAP_TCP);
		assert_true(m->ext_port >= 5000 && m->ext_port <= 6000);
		n++;
	}
	assert_int_equal(n, 4);
	/* whole TCP range does not run into UDP */
	n = 0;
	for (m = map_range_first(v.t, MAP_TCP, 0, 65535); m; m = map_range_next(v.t, m, 65535))
		n++;
	assert_int_equal(n, 7);
	n = 0;
	for (m = map_range_first(v.t, MAP_UDP, 0, 65535); m; m = map_range_next(v.t, m, 65535))
		n++;
	assert_int_equal(n, 6);
	assert_null(map_range_first(v.t, MAP_TCP, 5002, 5999));    /* empty range */
	assert_null(map_range_first(v.t, MAP_TCP, 6000, 5000));    /* lo > hi */
	m = map_range_first(v.t, MAP_UDP, 65535, 65535);
	assert_non_null(m);
	assert_null(map_range_next(v.t, m, 65535));
	m = map_range_first(v.t, MAP_TCP, 1, 100);
	assert_int_equal(m->ext_port, 80);
	map_table_free(v.t);
}

/* Free-port search. used: up to three inclusive ranges of TCP ports in use. */
struct free_row {
	const char *name;
	uint16_t used[3][2];
	uint16_t want, lo, hi;
	int expect;                     /* a port, or -ENOSPC */
};

static const struct free_row free_rows[] = {
	{ "wanted free", { { 0, 0 } }, 5000, 1024, 65535, 5000 },
	{ "wanted taken", { { 5000, 5000 } }, 5000, 1024, 65535, 5001 },
	{ "run across words", { { 5000, 5300 } }, 5000, 1024, 65535, 5301 },
	{ "full 64-port word", { { 1024, 1087 } }, 1024, 1024, 65535, 1088 },
	{ "many full words", { { 1024, 60000 } }, 2000, 1024, 65535, 60001 },
	{ "wrap-around", { { 65000, 65535 } }, 65100, 1024, 65535, 1024 },
	{ "wrap past used low ports", { { 65000, 65535 }, { 1024, 2047 } }, 65000, 1024, 65535, 2048 },
	{ "only one port left", { { 1024, 40000 }, { 40002, 65535 } }, 1024, 1024, 65535, 40001 },
	{ "only one left, below want", { { 1025, 65535 } }, 30000, 1024, 65535, 1024 },
	{ "none left", { { 1024, 65535 } }, 30000, 1024, 65535, -ENOSPC },
	{ "want below the range", { { 0, 0 } }, 80, 1024, 65535, 1024 },
	{ "small range", { { 7000, 7002 } }, 7001, 7000, 7003, 7003 },
	{ "small range wraps", { { 7001, 7003 } }, 7002, 7000, 7003, 7000 },
	{ "small range full", { { 7000, 7003 } }, 7000, 7000, 7003, -ENOSPC },
	{ "single port range", { { 0, 0 } }, 1, 1, 1, 1 },
	{ "top port", { { 1024, 65534 } }, 1024, 1024, 65535, 65535 },
};

static void test_free_port(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < N(free_rows); i++) {
		const struct free_row *r = &free_rows[i];
		struct table_env v;
		uint16_t port = 0;
		int rc;

		table_env_init(&v, 0, 0);
		for (j = 0; j < 3; j++) {
			uint32_t p;

			if (!r->used[j][0])
				continue;
			for (p = r->used[j][0]; p <= r->used[j][1]; p++)
				assert_int_equal(add_simple(v.t, MAP_TCP, (uint16_t)p, any_host,
							    ip("192.168.1.20"), 0), MAP_OK);
		}
		rc = map_free_port(v.t, MAP_TCP, r->want, r->lo, r->hi, &port);
		if (r->expect < 0) {
			if (rc != r->expect)
				fail_msg("%s: got %d port %u", r->name, rc, port);
		} else if (rc != 0 || port != r->expect) {
			fail_msg("%s: got %d port %u, want %d", r->name, rc, port, r->expect);
		}
		/* the other protocol is untouched */
		assert_int_equal(map_free_port(v.t, MAP_UDP, r->want, r->lo, r->hi, &port), 0);
		map_table_free(v.t);
	}
}

/* A port stays used while any entry (any remote host) holds it. */
static void test_port_used_by_remote_hosts(void **state)
{
	struct table_env v;
	uint16_t port;

	(void)state;
	table_env_init(&v, 0, 0);
	assert_int_equal(add_simple(v.t, MAP_TCP, 6000, ip("198.51.100.1"), ip("192.168.1.20"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 6000, ip("198.51.100.2"), ip("192.168.1.20"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 6000, any_host, ip("192.168.1.20"), 0), MAP_OK);
	assert_int_equal(map_find_port(v.t, MAP_TCP, 6000)->remote_host.s_addr, 0);
	assert_int_equal(map_free_port(v.t, MAP_TCP, 6000, 6000, 6000, &port), -ENOSPC);
	map_remove(v.t, map_find(v.t, MAP_TCP, 6000, any_host));
	assert_true(map_port_used(v.t, MAP_TCP, 6000));
	map_remove(v.t, map_find(v.t, MAP_TCP, 6000, ip("198.51.100.2")));
	assert_true(map_port_used(v.t, MAP_TCP, 6000));
	assert_non_null(map_find_port(v.t, MAP_TCP, 6000));
	map_remove(v.t, map_find(v.t, MAP_TCP, 6000, ip("198.51.100.1")));
	assert_false(map_port_used(v.t, MAP_TCP, 6000));
	assert_null(map_find_port(v.t, MAP_TCP, 6000));
	assert_int_equal(map_free_port(v.t, MAP_TCP, 6000, 6000, 6000, &port), 0);
	assert_int_equal(port, 6000);
	map_table_free(v.t);
}

struct full_log {
	size_t n;
	uint64_t last_end;
};

static void count_expired(const struct mapping *m, void *arg)
{
	struct full_log *l = arg;

	assert_true(m->lease_end_ms >= l->last_end);
	l->last_end = m->lease_end_ms;
	l->n++;
}

/* The full table with .20 on the odd TCP ports and every UDP port: a
 * second client (static entries) takes the even TCP ports between them. */
static void full_table_second_client(struct map_table *t)
{
	struct in_addr a = ip("192.168.1.20"), b = ip("192.168.1.30");
	const struct mapping *m;
	uint32_t p, i;

	for (p = 2; p <= 65535; p += 2)
		assert_int_equal(add_simple(t, MAP_TCP, (uint16_t)p, any_host, b, 0), MAP_OK);
	assert_int_equal(map_count(t), 131070);
	assert_int_equal(map_client_count(t, b), 32767);
	assert_int_equal(map_client_nth(t, a, 1)->ext_port, 3);
	assert_int_equal(map_client_nth(t, a, 32768)->proto, MAP_UDP);
	assert_int_equal(map_client_nth(t, b, 32766)->ext_port, 65534);
	assert_null(map_client_nth(t, b, 32767));
	for (i = 0; i < 32767; i += 101) {
		m = map_client_nth(t, b, i);
		assert_int_equal(m->ext_port, 2 * i + 2);
		assert_int_equal(map_index(t, m), 2 * i + 1);
	}
	check_clients(t);
}

/* 2 x 65535 entries: every port of both protocols. */
static void test_full_table(void **state)
{
	struct table_env v;
	struct full_log log;
	struct mapping *m;
	uint32_t p, i;
	uint16_t port;
	uint8_t proto;

	(void)state;
	table_env_init(&v, IGDD_MAX_MAPPINGS_DEFAULT, 0);
	for (proto = 0; proto < 2; proto++)
		for (p = 1; p <= 65535; p++)
			assert_int_equal(add_simple(v.t, proto, (uint16_t)p, any_host,
						    ip("192.168.1.20"),
						    map_lease_end(v.t, 1 + (p * 7919) % 5000)), MAP_OK);
	assert_int_equal(map_count(v.t), 131070);
	assert_int_equal(map_client_count(v.t, ip("192.168.1.20")), 131070);
	/* the table's own limit */
	assert_int_equal(add_simple(v.t, MAP_TCP, 80, ip("198.51.100.1"), ip("192.168.1.20"), 0),
			 MAP_FULL);
	for (proto = 0; proto < 2; proto++) {
		assert_int_equal(map_free_port(v.t, proto, 1, 1, 65535, &port), -ENOSPC);
		assert_int_equal(map_free_port(v.t, proto, 40000, 1024, 65535, &port), -ENOSPC);
	}
	for (i = 0; i < 131070; i += 997) {
		m = map_nth(v.t, i);
		assert_int_equal(m->proto, i / 65535);
		assert_int_equal(m->ext_port, i % 65535 + 1);
		assert_int_equal(map_index(v.t, m), i);
		assert_ptr_equal(map_find(v.t, m->proto, m->ext_port, any_host), m);
		/* one client holds everything: its view is the table */
		assert_ptr_equal(map_client_nth(v.t, ip("192.168.1.20"), i), m);
		assert_int_equal(map_client_index(v.t, m), i);
	}
	assert_null(map_nth(v.t, 131070));
	assert_null(map_client_nth(v.t, ip("192.168.1.20"), 131070));
	assert_null(map_client_nth(v.t, ip("192.168.1.30"), 0));
	check_clients(v.t);
	/* delete every other TCP port: indexes compact, ports free up */
	for (p = 2; p <= 65535; p += 2)
		map_remove(v.t, map_find(v.t, MAP_TCP, (uint16_t)p, any_host));
	assert_int_equal(map_count(v.t), 131070 - 32767);
	assert_int_equal(map_nth(v.t, 1)->ext_port, 3);
	assert_int_equal(map_nth(v.t, 32768)->proto, MAP_UDP);
	assert_int_equal(map_free_port(v.t, MAP_TCP, 40001, 1024, 65535, &port), 0);
	assert_int_equal(port, 40002);
	full_table_second_client(v.t);
	/* .20's entries all expire, in lease order; .30's stay */
	memset(&log, 0, sizeof(log));
	assert_int_equal(map_expire(v.t, UINT64_MAX - 1, count_expired, &log), 131070 - 32767);
	assert_int_equal(map_count(v.t), 32767);
	assert_int_equal(map_client_count(v.t, ip("192.168.1.20")), 0);
	assert_null(map_client_nth(v.t, ip("192.168.1.20"), 0));
	assert_ptr_equal(map_client_nth(v.t, ip("192.168.1.30"), 0), map_first(v.t));
	check_clients(v.t);
	while (map_count(v.t))
		map_remove(v.t, map_client_nth(v.t, ip("192.168.1.30"), map_count(v.t) - 1));
	assert_int_equal(map_client_count(v.t, ip("192.168.1.30")), 0);
	assert_null(map_first(v.t));
	assert_int_equal(map_free_port(v.t, MAP_UDP, 7, 1, 65535, &port), 0);
	assert_int_equal(port, 7);
	map_table_free(v.t);
}

static void test_limits_and_clients(void **state)
{
	struct table_env v;
	uint32_t i;
	char a[INET_ADDRSTRLEN];

	(void)state;
	table_env_init(&v, 5, 2);
	assert_int_equal(add_simple(v.t, MAP_TCP, 1, any_host, ip("192.168.1.20"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 2, any_host, ip("192.168.1.20"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 3, any_host, ip("192.168.1.20"), 0), MAP_CLIENT_FULL);
	assert_int_equal(add_simple(v.t, MAP_TCP, 3, any_host, ip("192.168.1.30"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 4, any_host, ip("192.168.1.30"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 5, any_host, ip("192.168.1.40"), 0), MAP_OK);
	assert_int_equal(add_simple(v.t, MAP_TCP, 6, any_host, ip("192.168.1.50"), 0), MAP_FULL);
	map_remove(v.t, map_find(v.t, MAP_TCP, 1, any_host));
	assert_int_equal(map_client_count(v.t, ip("192.168.1.20")), 1);
	assert_int_equal(add_simple(v.t, MAP_TCP, 7, any_host, ip("192.168.1.20"), 0), MAP_OK);
	map_table_free(v.t);

	/* many clients: the per-client hash grows and deletes cleanly */
	table_env_init(&v, 0, 0);
	for (i = 0; i < 6000; i++) {
		struct in_addr c = { htonl(0x0a000000u + i * 3) };

		assert_int_equal(add_simple(v.t, MAP_TCP, (uint16_t)(1 + i), any_host, c, 0), MAP_OK);
		assert_int_equal(add_simple(v.t, MAP_UDP, (uint16_t)(1 + i), any_host, c, 0), MAP_OK);
	}
	for (i = 0; i < 6000; i += 2)   /* drop half the clients entirely */
		map_remove(v.t, map_find(v.t, MAP_TCP, (uint16_t)(1 + i), any_host)),
		map_remove(v.t, map_find(v.t, MAP_UDP, (uint16_t)(1 + i), any_host));
	for (i = 0; i < 6000; i++) {
		struct in_addr c = { htonl(0x0a000000u + i * 3) };

		inet_ntop(AF_INET, &c, a, sizeof(a));
		if (map_client_count(v.t, c) != (i % 2 ? 2u : 0u))
			fail_msg("client %s: %zu", a, map_client_count(v.t, c));
	}
	map_table_free(v.t);
}

/* max_per_client counts owners too: one control point mapping to many
 * clients (secure_mode = no) stops at the limit; admin entries (owner
 * 0.0.0.0) count for their client only. */
static void test_owner_limit(void **state)
{
	struct table_env v;
	struct mapping m;
	uint16_t p;

	(void)state;
	table_env_init(&v, 0, 3);
	memset(&m, 0, sizeof(m));
	m.proto = MAP_TCP;
	m.int_port = 1;
	m.owner = ip("192.168.1.20");
	for (p = 1; p <= 3; p++) {
		m.ext_port = p;
		m.internal_client = p == 1 ? ip("192.168.1.30") : ip("192.168.1.40");
		assert_int_equal(map_add(v.t, &m, STR_LIT(""), NULL), MAP_OK);
	}
	assert_int_equal(map_owner_count(v.t, ip("192.168.1.20")), 3);
	assert_int_equal(map_client_count(v.t, ip("192.168.1.20")), 0);
	m.ext_port = 4;
	m.internal_client = ip("192.168.1.50");
	assert_int_equal(map_add(v.t, &m, STR_LIT(""), NULL), MAP_CLIENT_FULL);
	m.owner = ip("192.168.1.21");
	assert_int_equal(map_add(v.t, &m, STR_LIT(""), NULL), MAP_OK);
	m.owner.s_addr = 0;             /* the admin */
	m.internal_client = ip("192.168.1.60");
	for (p = 5; p <= 7; p++) {
		m.ext_port = p;
		assert_int_equal(map_add(v.t, &m, STR_LIT(""), NULL), MAP_OK);
	}
	assert_int_equal(map_owner_count(v.t, m.owner), 0);
	map_remove(v.t, map_find(v.t, MAP_TCP, 2, any_host));
	assert_int_equal(map_owner_count(v.t, ip("192.168.1.20")), 2);
	m.owner = ip("192.168.1.20");
	m.internal_client = ip("192.168.1.70");
	m.ext_port = 8;
	assert_int_equal(map_add(v.t, &m, STR_LIT(""), NULL), MAP_OK);
	map_table_free(v.t);
}

struct desc_row {
	const char *name;
	const char *in;
	size_t in_len;                  /* 0: strlen */
	size_t kept;
};

static char long_ascii[400], long_utf8[1000];

static void test_desc_truncation(void **state)
{
	const struct desc_row rows[] = {
		{ "short", "game", 0, 4 },
		{ "empty", "", 0, 0 },
		{ "exactly the limit", long_ascii + 400 - 1 - IGDD_MAX_DESC_LEN, 0, IGDD_MAX_DESC_LEN },
		{ "one over", long_ascii + 400 - 2 - IGDD_MAX_DESC_LEN, 0, IGDD_MAX_DESC_LEN },
		{ "far over", long_ascii, 0, IGDD_MAX_DESC_LEN },
		/* 255 'a' then U+00E9 (2 bytes) straddles byte 256: cut before it */
		{ "2-byte char at the cut", long_utf8, 255 + 2, 255 },
		/* 254 'a' then U+20AC (3 bytes: 254..256) */
		{ "3-byte char at the cut", long_utf8 + 300, 254 + 3, 254 },
		/* 253 'a' then U+1F600 (4 bytes: 253..256) */
		{ "4-byte char at the cut", long_utf8 + 600, 253 + 4, 253 },
		{ "embedded NUL", "ab\0cd", 5, 2 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(rows); i++) {
		struct str s = str_from(rows[i].in, rows[i].in_len ? rows[i].in_len : strlen(rows[i].in));
		char *d = map_desc_dup(s);

		if (map_desc_len(s) != rows[i].kept)
			fail_msg("%s: kept %zu, want %zu", rows[i].name, map_desc_len(s), rows[i].kept);
		assert_int_equal(strlen(d), rows[i].kept);
		assert_memory_equal(d, rows[i].in, rows[i].kept);
		free(d);
	}
}

static int desc_setup(void **state)
{
	(void)state;
	memset(long_ascii, 'x', sizeof(long_ascii) - 1);
	long_ascii[sizeof(long_ascii) - 1] = '\0';
	/* three strings inside long_utf8, at offsets 0, 300 and 600 */
	memset(long_utf8, 'a', sizeof(long_utf8));
	memcpy(long_utf8 + 255, "\xc3\xa9", 2);
	memcpy(long_utf8 + 300 + 254, "\xe2\x82\xac", 3);
	memcpy(long_utf8 + 600 + 253, "\xf0\x9f\x98\x80", 4);
	return 0;
}

/* The model's client views: client ci's entries in table order (proto,
 * port, remote host index: the remote hosts grow with the index). */
static void check_model_views(const struct map_table *t, uint8_t present[2][65][4],
			      uint8_t holder[2][65])
{
	uint8_t ci, proto, rhi;
	uint16_t port;

	for (ci = 0; ci < 4; ci++) {
		struct in_addr c = { htonl(0xc0a80114u + ci) };
		size_t k = 0;

		for (proto = 0; proto < 2; proto++)
			for (port = 1; port <= 64; port++)
				for (rhi = 0; rhi < 4; rhi++) {
					const struct mapping *m;

					if (!present[proto][port][rhi] || holder[proto][port] != ci + 1)
						continue;
					m = map_client_nth(t, c, k);
					assert_non_null(m);
					assert_int_equal(map_client_index(t, m), k);
					k++;
					assert_true(m->proto == proto && m->ext_port == port);
					assert_int_equal(m->remote_host.s_addr,
							 rhi ? htonl(0xc6336400u + rhi) : 0);
					assert_int_equal(m->internal_client.s_addr, c.s_addr);
				}
		assert_int_equal(map_client_count(t, c), k);
		assert_null(map_client_nth(t, c, k));
	}
}

/* Random operations against a plain model: keys (proto, port 1..64,
 * remote host 0..3), four clients; every port's entries share one
 * client. Checks the table order and each client's view. */
static void test_random_model(void **state)
{
	static uint8_t present[2][65][4];
	static uint8_t holder[2][65];          /* client index + 1 while used */
	struct table_env v;
	uint32_t seed = 12345, i;

	(void)state;
	memset(present, 0, sizeof(present));
	memset(holder, 0, sizeof(holder));
	table_env_init(&v, 0, 0);
	for (i = 0; i < 60000; i++) {
		uint8_t proto, rhi, ci;
		uint16_t port;
		struct in_addr rh, c;
		enum map_status want;
		unsigned k, used;

		seed = seed * 1103515245u + 12345u;
		proto = (seed >> 8) & 1;
		port = (uint16_t)(1 + ((seed >> 9) % 64));
		rhi = (seed >> 16) & 3;
		ci = (seed >> 18) & 3;
		rh.s_addr = rhi ? htonl(0xc6336400u + rhi) : 0;
		c.s_addr = htonl(0xc0a80114u + ci);
		if ((seed >> 20) % 3 == 0 && present[proto][port][rhi]) {
			map_remove(v.t, map_find(v.t, proto, port, rh));
			present[proto][port][rhi] = 0;
			for (k = 0, used = 0; k < 4; k++)
				used |= present[proto][port][k];
			if (!used)
				holder[proto][port] = 0;
		} else {
			if (present[proto][port][rhi])
				want = MAP_EXISTS;
			else if (holder[proto][port] && holder[proto][port] != ci + 1)
				want = MAP_CONFLICT;
			else
				want = MAP_OK;
			assert_int_equal(add_simple(v.t, proto, port, rh, c, 0), want);
			if (want == MAP_OK) {
				present[proto][port][rhi] = 1;
				holder[proto][port] = (uint8_t)(ci + 1);
			}
		}
		if (i % 500 == 0)
			check_model_views(v.t, present, holder);
		if (i % 5000 == 0) {
			check_order(v.t);
			check_clients(v.t);
		}
	}
	check_order(v.t);
	check_clients(v.t);
	check_model_views(v.t, present, holder);
	map_table_free(v.t);
}

/* ========================================================== actions */

struct env {
	struct fx_engine x;             /* x.chg.maps: the mapping change events */
	long installed;
	int applies_left;               /* the next apply after this many fails; -1 never */
	int removes_left;
	struct buf out;
};

static struct env *cur_env;

/* The backend's state: the set of keys installed (apply replaces). */
static uint64_t installed_keys[256];

static uint64_t mkey(const struct mapping *m)
{
	return ((uint64_t)m->proto << 48) | ((uint64_t)m->ext_port << 32) | m->remote_host.s_addr;
}

static long key_slot(uint64_t k)
{
	long i;

	for (i = 0; i < cur_env->installed; i++)
		if (installed_keys[i] == k)
			return i;
	return -1;
}

static int counting_apply(struct backend *b, const struct mapping *m)
{
	(void)b;
	assert_true(m->enabled);        /* the backend holds enabled entries only */
	if (cur_env->applies_left == 0)
		return -EIO;
	if (cur_env->applies_left > 0)
		cur_env->applies_left--;
	if (key_slot(mkey(m)) < 0) {
		assert_true(cur_env->installed < (long)N(installed_keys));
		installed_keys[cur_env->installed++] = mkey(m);
	}
	return 0;
}

static int counting_remove(struct backend *b, const struct mapping *m)
{
	long i = key_slot(mkey(m));

	(void)b;
	if (cur_env->removes_left == 0)
		return -EIO;
	if (cur_env->removes_left > 0)
		cur_env->removes_left--;
	assert_true(i >= 0);            /* never removes what it does not hold */
	installed_keys[i] = installed_keys[--cur_env->installed];
	return 0;
}

static struct env *env_new(bool secure, const char *const *acl)
{
	struct env *v = calloc(1, sizeof(*v));
	struct backend_ops *ops;
	char text[4096];
	size_t n;

	assert_non_null(v);
	cur_env = v;
	n = (size_t)snprintf(text, sizeof(text), "secure_mode = %s\n", secure ? "yes" : "no");
	while (acl && *acl) {
		assert_true(n < sizeof(text));
		n += (size_t)snprintf(text + n, sizeof(text) - n, "acl = %s\n", *acl++);
	}
	assert_true(n < sizeof(text));
	fx_engine_init(&v->x, text, 0);
	ops = fx_engine_ops(&v->x);
	ops->apply = counting_apply;
	ops->remove = counting_remove;
	v->applies_left = v->removes_left = -1;
	buf_init(&v->out, 1 << 26);
	return v;
}

static void env_free(struct env *v)
{
	buf_free(&v->out);
	fx_engine_fini(&v->x);
	free(v);
	cur_env = NULL;
}

static const struct action *find_action(const char *name)
{
	const struct service *svc = wanipconn_service();
	unsigned i;

	for (i = 0; i < svc->nactions; i++)
		if (strcmp(svc->actions[i].name, name) == 0)
			return &svc->actions[i];
	fail_msg("no action %s", name);
	return NULL;
}

static const struct statevar *find_var(const char *name)
{
	const struct service *svc = wanipconn_service();
	unsigned i;

	for (i = 0; i < svc->nvars; i++)
		if (strcmp(svc->vars[i].name, name) == 0)
			return &svc->vars[i];
	fail_msg("no variable %s", name);
	return NULL;
}

/* Call a handler with IN arguments given as name, value, ..., NULL
 * (typed like the dispatcher would, without its range checks). */
static int call(struct env *v, const char *peer, const char *action, ...)
{
	struct action_ctx ctx;
	const char *names[IGDD_SOAP_MAX_ARGS], *vals[IGDD_SOAP_MAX_ARGS];
	size_t n = 0, k;
	unsigned j;
	va_list ap;
	int r;

	va_start(ap, action);
	while ((names[n] = va_arg(ap, const char *)) != NULL)
		vals[n++] = va_arg(ap, const char *);
	va_end(ap);
	memset(&ctx, 0, sizeof(ctx));
	ctx.e = &v->x.e;
	ctx.svc = wanipconn_service();
	ctx.act = find_action(action);
	ctx.version = 2;
	ctx.peer = ipaddr_from_v4(ip(peer));
	for (j = 0; j < ctx.act->nargs; j++) {
		const struct statevar *var;
		uint64_t u = 0;

		if (ctx.act->args[j].out)
			continue;
		for (k = 0; k < n && strcmp(names[k], ctx.act->args[j].name); k++)
			;
		if (k == n)
			fail_msg("%s: argument %s missing", action, ctx.act->args[j].name);
		var = find_var(ctx.act->args[j].var);
		ctx.in[j].present = true;
		ctx.in[j].text = str_cstr(vals[k]);
		if (var->type == SVAR_UI2 || var->type == SVAR_UI4)
			assert_int_equal(str_to_u64(ctx.in[j].text, UINT32_MAX, &u), 0);
		else if (var->type == SVAR_BOOLEAN)
			assert_int_equal(str_to_bool(ctx.in[j].text, &ctx.in[j].b), 0);
		ctx.in[j].u = (uint32_t)u;
	}
	buf_reset(&v->out);
	ctx.out = &v->out;
	r = ctx.act->fn(&ctx);
	/* An argument written in parts (a listing): all of it, as the dispatcher ends it. */
	if (r == 0 && ctx.stream.fill) {
		assert_true(buf_stream_fill(&ctx.stream, &v->out, SIZE_MAX) == 0);
		buf_printf(&v->out, "]]></%s>", ctx.stream_name);
	}
	buf_stream_release(&ctx.stream);
	return r;
}

/* The text of an OUT argument in the last response. */
static const char *out_arg(struct env *v, const char *name, char *buf, size_t bufsz)
{
	char open[64], close[64];
	const char *p, *q;

	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	p = v->out.p ? strstr(v->out.p, open) : NULL;
	if (!p)
		fail_msg("no %s in '%s'", name, v->out.p ? v->out.p : "");
	p += strlen(open);
	q = strstr(p, close);
	assert_non_null(q);
	assert_true((size_t)(q - p) < bufsz);
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	return buf;
}

static unsigned out_u(struct env *v, const char *name)
{
	char b[32];

	return (unsigned)strtoul(out_arg(v, name, b, sizeof(b)), NULL, 10);
}

static char numbuf[8][16];
static unsigned numidx;

static const char *num(unsigned n)
{
	char *b = numbuf[numidx++ % 8];

	snprintf(b, 16, "%u", n);
	return b;
}

static int add(struct env *v, const char *action, const char *peer, const char *rh, unsigned ext,
	       const char *proto, unsigned in, const char *client, const char *desc, unsigned lease)
{
	return call(v, peer, action, "NewRemoteHost", rh, "NewExternalPort", num(ext),
		    "NewProtocol", proto, "NewInternalPort", num(in), "NewInternalClient", client,
		    "NewEnabled", "1", "NewPortMappingDescription", desc,
		    "NewLeaseDuration", num(lease), NULL);
}

/* Figures 2-3 and 2-4, every row. Existing: TCP/5000 from
 * 198.51.100.7 -> 192.168.1.20:5000 "orig", made by .20. The request
 * comes from its own internal client (secure mode), internal port 6000,
 * description "new". */
struct fig_row {
	bool proto_eq, port_eq, rh_eq, client_eq;
	int add_code;                   /* AddPortMapping */
	size_t add_count;
	bool any_reserved_eq;           /* AddAnyPortMapping: ReservedPort = ExternalPort */
	size_t any_count;
};

static const struct fig_row fig_rows[] = {
	{ 0, 0, 0, 0, 0, 2, true, 2 }, { 0, 0, 0, 1, 0, 2, true, 2 },
	{ 0, 0, 1, 0, 0, 2, true, 2 }, { 0, 0, 1, 1, 0, 2, true, 2 },
	{ 0, 1, 0, 0, 0, 2, true, 2 }, { 0, 1, 0, 1, 0, 2, true, 2 },
	{ 0, 1, 1, 0, 0, 2, true, 2 }, { 0, 1, 1, 1, 0, 2, true, 2 },
	{ 1, 0, 0, 0, 0, 2, true, 2 }, { 1, 0, 0, 1, 0, 2, true, 2 },
	{ 1, 0, 1, 0, 0, 2, true, 2 }, { 1, 0, 1, 1, 0, 2, true, 2 },
	{ 1, 1, 0, 0, 718, 1, false, 2 },       /* failure / another port */
	{ 1, 1, 0, 1, 0, 2, true, 2 },          /* vendor: both entries */
	{ 1, 1, 1, 0, 718, 1, false, 2 },       /* failure / another port */
	{ 1, 1, 1, 1, 0, 1, true, 1 },          /* overwrite */
};

static void run_fig_row(const struct fig_row *r, bool any, size_t row)
{
	struct env *v = env_new(true, NULL);
	const char *client = r->client_eq ? "192.168.1.20" : "192.168.1.30";
	const char *proto = r->proto_eq ? "TCP" : "UDP";
	unsigned ext = r->port_eq ? 5000 : 5001;
	struct mapping *m;
	int code;

	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "198.51.100.7", 5000, "TCP", 5000,
			     "192.168.1.20", "orig", 3600), 0);
	code = add(v, any ? "AddAnyPortMapping" : "AddPortMapping", client,
		   r->rh_eq ? "198.51.100.7" : "198.51.100.8", ext, proto, 6000, client, "new", 3600);
	if (code != (any ? 0 : r->add_code))
		fail_msg("Figure 2-%d row %zu: code %d", any ? 4 : 3, row + 1, code);
	if (map_count(v->x.e.maps) != (any ? r->any_count : r->add_count))
		fail_msg("Figure 2-%d row %zu: %zu entries", any ? 4 : 3, row + 1, map_count(v->x.e.maps));
	if (any) {
		unsigned reserved = out_u(v, "NewReservedPort");

		if ((reserved == ext) != r->any_reserved_eq)
			fail_msg("Figure 2-4 row %zu: reserved %u", row + 1, reserved);
		assert_true(reserved >= 1024);
		m = map_find(v->x.e.maps, r->proto_eq ? MAP_TCP : MAP_UDP, (uint16_t)reserved,
			     ip(r->rh_eq ? "198.51.100.7" : "198.51.100.8"));
		assert_non_null(m);
		assert_string_equal(m->desc, "new");
		assert_int_equal(m->internal_client.s_addr, ip(client).s_addr);
	}
	if (r->proto_eq && r->port_eq && r->rh_eq && r->client_eq) {
		m = map_find(v->x.e.maps, MAP_TCP, 5000, ip("198.51.100.7"));
		assert_int_equal(m->int_port, 6000);        /* overwritten */
		assert_string_equal(m->desc, "new");
	}
	/* the backend holds exactly what the table holds */
	assert_int_equal(v->installed, (long)map_count(v->x.e.maps));
	env_free(v);
}

static void test_figure_2_3(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(fig_rows); i++)
		run_fig_row(&fig_rows[i], false, i);
}

static void test_figure_2_4(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(fig_rows); i++)
		run_fig_row(&fig_rows[i], true, i);
}

/* Argument semantics of the add actions: one row per error. */
struct add_arg_row {
	const char *name;
	const char *action, *peer, *rh;
	unsigned ext;
	const char *proto;
	unsigned in;
	const char *client;
	unsigned lease;
	int code;
};

static const struct add_arg_row add_arg_rows[] = {
	{ "ok", "AddPortMapping", ".20", "", 8080, "TCP", 8080, ".20", 3600, 0 },
	{ "undefined remote host = wildcard", "AddPortMapping", ".20", "undefined", 8080, "TCP", 8080, ".20", 3600, 0 },
	{ "0.0.0.0 remote host = wildcard", "AddPortMapping", ".20", "0.0.0.0", 8080, "TCP", 8080, ".20", 3600, 0 },
	{ "host name remote host", "AddPortMapping", ".20", "example.com", 8080, "TCP", 8080, ".20", 3600, 402 },
	{ "bad remote host", "AddPortMapping", ".20", "1.2.3", 8080, "TCP", 8080, ".20", 3600, 402 },
	{ "wildcard internal client", "AddPortMapping", ".20", "", 8080, "TCP", 8080, "", 3600, 715 },
	{ "host name internal client", "AddPortMapping", ".20", "", 8080, "TCP", 8080, "pc.lan", 3600, 402 },
	{ "wildcard external port", "AddPortMapping", ".20", "", 0, "TCP", 8080, ".20", 3600, 716 },
	{ "wildcard internal port", "AddPortMapping", ".20", "", 8080, "TCP", 0, ".20", 3600, 732 },
	{ "wildcard internal port (any)", "AddAnyPortMapping", ".20", "", 8080, "TCP", 0, ".20", 3600, 732 },
	{ "bad protocol", "AddPortMapping", ".20", "", 8080, "ICMP", 8080, ".20", 3600, 601 },
	{ "lease above 604800", "AddPortMapping", ".20", "", 8080, "TCP", 8080, ".20", 604801, 601 },
	{ "other client (secure)", "AddPortMapping", ".20", "", 8080, "TCP", 8080, ".30", 3600, 606 },
	{ "well-known external", "AddPortMapping", ".20", "", 80, "TCP", 8080, ".20", 3600, 606 },
	{ "well-known internal", "AddPortMapping", ".20", "", 8080, "TCP", 80, ".20", 3600, 606 },
	{ "well-known external (any)", "AddAnyPortMapping", ".20", "", 80, "TCP", 8080, ".20", 3600, 606 },
	{ "gateway as client", "AddPortMapping", ".1", "", 8080, "TCP", 8080, ".1", 3600, 606 },
	{ "broadcast client (secure)", "AddPortMapping", ".20", "", 8080, "UDP", 8080, "255.255.255.255", 3600, 606 },
};

static const char *lan_ip(const char *s, char *buf)
{
	if (s[0] != '.')
		return s;
	snprintf(buf, 32, "192.168.1%s", s);
	return buf;
}

static void test_add_arguments(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(add_arg_rows); i++) {
		const struct add_arg_row *r = &add_arg_rows[i];
		struct env *v = env_new(true, NULL);
		char pb[32], cb[32];
		int code = add(v, r->action, lan_ip(r->peer, pb), r->rh, r->ext, r->proto, r->in,
			       lan_ip(r->client, cb), "d", r->lease);

		if (code != r->code)
			fail_msg("%s: %d, want %d", r->name, code, r->code);
		assert_int_equal(map_count(v->x.e.maps), r->code ? 0 : 1);
		assert_int_equal(v->x.chg.maps, r->code ? 0 : 1);
		env_free(v);
	}
}

static void test_lease_zero_and_expiry(void **state)
{
	struct env *v = env_new(true, NULL);
	uint32_t sid;

	(void)state;
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "zero", 0), 0);
	assert_int_equal(call(v, "192.168.1.20", "GetSpecificPortMappingEntry", "NewRemoteHost", "",
			      "NewExternalPort", "8080", "NewProtocol", "TCP", NULL), 0);
	assert_int_equal(out_u(v, "NewLeaseDuration"), 604800);     /* 2.3.16 */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8081, "TCP", 8081,
			     "192.168.1.20", "short", 10), 0);
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8082, "UDP", 8082,
			     "192.168.1.20", "short", 10), 0);
	assert_int_equal(portmap_next_expiry(&v->x.e), 1000000 + 10000);
	v->x.now += 4500;
	assert_int_equal(call(v, "192.168.1.20", "GetSpecificPortMappingEntry", "NewRemoteHost", "",
			      "NewExternalPort", "8081", "NewProtocol", "TCP", NULL), 0);
	assert_int_equal(out_u(v, "NewLeaseDuration"), 6);          /* 5.5 s rounded up */
	sid = v->x.e.system_update_id;
	v->x.now += 5500;
	engine_maps_expire(&v->x.e);
	assert_int_equal(map_count(v->x.e.maps), 1);
	assert_int_equal(v->x.e.system_update_id, sid + 1);           /* one bump for two */
	assert_int_equal(v->installed, 1);
	engine_maps_expire(&v->x.e);
	assert_int_equal(v->x.e.system_update_id, sid + 1);           /* nothing due: no bump */
	env_free(v);
}

static void test_refresh_and_update(void **state)
{
	struct env *v = env_new(true, NULL);
	uint32_t sid;

	(void)state;
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "app", 100), 0);
	sid = v->x.e.system_update_id;
	v->x.now += 50000;
	/* a pure refresh: the lease restarts, no NAT rule changes, no event */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "app", 100), 0);
	assert_int_equal(v->x.e.system_update_id, sid);
	assert_int_equal(map_lease_remaining(v->x.e.maps, map_first(v->x.e.maps)), 100);
	/* a new description is an update */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "app 2", 100), 0);
	assert_int_equal(v->x.e.system_update_id, sid + 1);
	/* disabling withdraws it from the backend, the table keeps it */
	assert_int_equal(call(v, "192.168.1.20", "AddPortMapping", "NewRemoteHost", "",
			      "NewExternalPort", "8080", "NewProtocol", "TCP", "NewInternalPort", "8080",
			      "NewInternalClient", "192.168.1.20", "NewEnabled", "0",
			      "NewPortMappingDescription", "app 2", "NewLeaseDuration", "100", NULL), 0);
	assert_int_equal(v->installed, 0);
	assert_int_equal(map_count(v->x.e.maps), 1);
	assert_int_equal(v->x.e.system_update_id, sid + 2);
	env_free(v);
}

static void test_backend_failure(void **state)
{
	struct env *v = env_new(true, NULL);
	uint32_t sid;

	(void)state;
	v->applies_left = 0;
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "app", 100), 501);
	assert_int_equal(map_count(v->x.e.maps), 0);
	v->applies_left = -1;
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "app", 100), 0);
	/* a failing update leaves the entry as it was */
	v->applies_left = 0;
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 9090,
			     "192.168.1.20", "other", 100), 501);
	assert_int_equal(map_first(v->x.e.maps)->int_port, 8080);
	assert_string_equal(map_first(v->x.e.maps)->desc, "app");
	v->applies_left = -1;
	sid = v->x.e.system_update_id;
	v->removes_left = 0;
	assert_int_equal(call(v, "192.168.1.20", "DeletePortMapping", "NewRemoteHost", "",
			      "NewExternalPort", "8080", "NewProtocol", "TCP", NULL), 501);
	assert_int_equal(map_count(v->x.e.maps), 1);
	assert_int_equal(v->x.e.system_update_id, sid);
	env_free(v);
}

static void test_get_and_delete(void **state)
{
	struct env *v = env_new(true, NULL);
	char b[64];

	(void)state;
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "a<b", 100), 0);
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.30", "198.51.100.7", 8080, "UDP", 9090,
			     "192.168.1.30", "b", 100), 0);
	/* secure mode: each reads its own entry at index 0, then 713 */
	assert_int_equal(call(v, "192.168.1.20", "GetGenericPortMappingEntry",
			      "NewPortMappingIndex", "0", NULL), 0);
	assert_string_equal(out_arg(v, "NewRemoteHost", b, sizeof(b)), "");
	assert_string_equal(out_arg(v, "NewProtocol", b, sizeof(b)), "TCP");
	assert_string_equal(out_arg(v, "NewPortMappingDescription", b, sizeof(b)), "a&lt;b");
	assert_int_equal(call(v, "192.168.1.20", "GetGenericPortMappingEntry",
			      "NewPortMappingIndex", "1", NULL), 713);
	assert_int_equal(call(v, "192.168.1.30", "GetGenericPortMappingEntry",
			      "NewPortMappingIndex", "0", NULL), 0);
	assert_string_equal(out_arg(v, "NewRemoteHost", b, sizeof(b)), "198.51.100.7");
	assert_int_equal(call(v, "192.168.1.30", "GetGenericPortMappingEntry",
			      "NewPortMappingIndex", "1", NULL), 713);
	/* "" names only the wildcard entry */
	assert_int_equal(call(v, "192.168.1.30", "GetSpecificPortMappingEntry", "NewRemoteHost", "",
			      "NewExternalPort", "8080", "NewProtocol", "UDP", NULL), 714);
	assert_int_equal(call(v, "192.168.1.20", "GetSpecificPortMappingEntry",
			      "NewRemoteHost", "198.51.100.7", "NewExternalPort", "8080",
			      "NewProtocol", "UDP", NULL), 606);
	assert_int_equal(call(v, "192.168.1.20", "DeletePortMapping", "NewRemoteHost", "198.51.100.7",
			      "NewExternalPort", "8080", "NewProtocol", "UDP", NULL), 606);
	assert_int_equal(call(v, "192.168.1.20", "DeletePortMapping", "NewRemoteHost", "",
			      "NewExternalPort", "8081", "NewProtocol", "TCP", NULL), 714);
	assert_int_equal(call(v, "192.168.1.20", "DeletePortMapping", "NewRemoteHost", "undefined",
			      "NewExternalPort", "8080", "NewProtocol", "TCP", NULL), 0);
	assert_int_equal(map_count(v->x.e.maps), 1);
	/* compaction: .30's entry is index 0 now */
	assert_int_equal(call(v, "192.168.1.30", "GetGenericPortMappingEntry",
			      "NewPortMappingIndex", "0", NULL), 0);
	assert_int_equal(v->installed, 1);
	env_free(v);
}

/*
 * GetGenericPortMappingEntry's array (2.5.14, docs/POLICY.md). The table,
 * in order: TCP/80 static for .20 (a well-known port: the policy refuses
 * it), TCP/18080 .20, TCP/18081 .30, TCP/18082 NAT-PMP for .20, UDP/19000
 * .20 (the report: .20's upnpc -l stopped at .30's TCP/18081).
 */
struct gg_row {
	const char *peer;
	unsigned index;
	int code;
	unsigned port;                  /* of the entry answered (code 0) */
};

static const struct gg_row gg_secure_rows[] = {
	{ ".20", 0, 606, 0 },           /* own, but refused by the policy */
	{ ".20", 1, 0, 18080 }, { ".20", 2, 0, 18082 }, { ".20", 3, 0, 19000 },
	{ ".20", 4, 713, 0 },
	{ ".30", 0, 0, 18081 }, { ".30", 1, 713, 0 },
	{ ".40", 0, 713, 0 },           /* no entries of its own */
};

/* The same after the ACL changes to deny .20 ports 18000-18099. */
static const struct gg_row gg_acl_rows[] = {
	{ ".20", 0, 606, 0 }, { ".20", 1, 606, 0 }, { ".20", 2, 606, 0 },
	{ ".20", 3, 0, 19000 }, { ".20", 4, 713, 0 },
	{ ".30", 0, 0, 18081 }, { ".30", 1, 713, 0 },
};

/* secure_mode = no: one array for everybody, the whole table. */
static const struct gg_row gg_open_rows[] = {
	{ ".20", 0, 606, 0 }, { ".20", 1, 0, 18080 }, { ".20", 2, 0, 18081 },
	{ ".20", 3, 0, 18082 }, { ".20", 4, 0, 19000 }, { ".20", 5, 713, 0 },
	{ ".40", 2, 0, 18081 }, { ".40", 5, 713, 0 },
};

static void add_other(struct env *v, uint8_t origin, unsigned port, const char *client)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.proto = MAP_TCP;
	m.ext_port = (uint16_t)port;
	m.int_port = (uint16_t)port;
	m.internal_client = ip(client);
	m.origin = origin;
	m.enabled = true;
	assert_int_equal(map_add(v->x.e.maps, &m, STR_LIT("other"), NULL), MAP_OK);
}

static struct env *gg_env(bool secure)
{
	struct env *v = env_new(secure, NULL);

	add_other(v, MAP_ORIGIN_STATIC, 80, "192.168.1.20");
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 18080, "TCP", 18080,
			     "192.168.1.20", "a", 3600), 0);
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.30", "", 18081, "TCP", 18081,
			     "192.168.1.30", "b", 3600), 0);
	add_other(v, MAP_ORIGIN_NATPMP, 18082, "192.168.1.20");
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 19000, "UDP", 19000,
			     "192.168.1.20", "c", 3600), 0);
	return v;
}

static void run_gg_rows(struct env *v, const struct gg_row *rows, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char pb[32];
		int code = call(v, lan_ip(rows[i].peer, pb), "GetGenericPortMappingEntry",
				"NewPortMappingIndex", num(rows[i].index), NULL);

		if (code != rows[i].code)
			fail_msg("%s: %s index %u: %d, want %d", what, rows[i].peer, rows[i].index,
				 code, rows[i].code);
		if (code == 0 && out_u(v, "NewExternalPort") != rows[i].port)
			fail_msg("%s: %s index %u: port %u, want %u", what, rows[i].peer,
				 rows[i].index, out_u(v, "NewExternalPort"), rows[i].port);
	}
}

static void test_get_generic_views(void **state)
{
	struct env *v = gg_env(true);
	char err[128];

	(void)state;
	run_gg_rows(v, gg_secure_rows, N(gg_secure_rows), "secure");
	/* an ACL change refuses own entries that were shown: 606 in place */
	strlcpy_checked(v->x.cfg.acl[v->x.cfg.nacl++], "deny 18000-18099 192.168.1.20 0-65535",
			IGDD_CONF_MAX_ACL_LEN);
	policy_free(v->x.e.policy);
	v->x.e.policy = config_policy_new(&v->x.cfg, err, sizeof(err));
	assert_non_null(v->x.e.policy);
	run_gg_rows(v, gg_acl_rows, N(gg_acl_rows), "secure, acl");
	env_free(v);

	v = gg_env(false);
	run_gg_rows(v, gg_open_rows, N(gg_open_rows), "secure_mode = no");
	env_free(v);
}

/* Entries for the range tests: .20 on TCP 2000..2009, .30 on 2010..2019. */
static struct env *range_env(bool secure)
{
	struct env *v = env_new(secure, NULL);
	unsigned p;

	for (p = 2000; p < 2020; p++) {
		const char *c = p < 2010 ? "192.168.1.20" : "192.168.1.30";

		assert_int_equal(add(v, "AddPortMapping", c, "", p, "TCP", p, c, "r", 3600), 0);
	}
	return v;
}

static int del_range(struct env *v, const char *peer, unsigned lo, unsigned hi, const char *manage)
{
	return call(v, peer, "DeletePortMappingRange", "NewStartPort", num(lo), "NewEndPort", num(hi),
		    "NewProtocol", "TCP", "NewManage", manage, NULL);
}

static void test_delete_range(void **state)
{
	struct env *v = range_env(true);
	uint32_t sid = v->x.e.system_update_id;

	(void)state;
	assert_int_equal(del_range(v, "192.168.1.20", 2005, 2004, "0"), 733);
	assert_int_equal(del_range(v, "192.168.1.20", 3000, 4000, "0"), 730);
	/* only .30's entries in range: nothing .20 may delete */
	assert_int_equal(del_range(v, "192.168.1.20", 2010, 2019, "1"), 730);
	assert_int_equal(v->x.e.system_update_id, sid);
	/* .30's are skipped; NewManage is ignored in secure mode */
	assert_int_equal(del_range(v, "192.168.1.20", 2005, 2015, "1"), 0);
	assert_int_equal(map_count(v->x.e.maps), 15);
	assert_int_equal(v->x.e.system_update_id, sid + 1);       /* one bump for five */
	assert_int_equal(v->installed, 15);
	/* atomic: the third backend removal fails, the first two come back */
	v->removes_left = 2;
	assert_int_equal(del_range(v, "192.168.1.20", 0, 65535, "0"), 501);
	assert_int_equal(map_count(v->x.e.maps), 15);
	assert_int_equal(v->installed, 15);
	assert_int_equal(v->x.e.system_update_id, sid + 1);
	env_free(v);

	/* secure_mode = no: NewManage = 1 reaches other clients' entries */
	v = range_env(false);
	assert_int_equal(del_range(v, "192.168.1.20", 2005, 2015, "0"), 0);
	assert_int_equal(map_count(v->x.e.maps), 15);
	assert_int_equal(del_range(v, "192.168.1.20", 2005, 2015, "1"), 0);
	assert_int_equal(map_count(v->x.e.maps), 9);
	env_free(v);
}

static int get_list(struct env *v, const char *peer, unsigned lo, unsigned hi, const char *manage,
		    unsigned number)
{
	return call(v, peer, "GetListOfPortMappings", "NewStartPort", num(lo), "NewEndPort", num(hi),
		    "NewProtocol", "TCP", "NewManage", manage, "NewNumberOfPorts", num(number), NULL);
}

static size_t count_entries(struct env *v)
{
	const char *p = v->out.p;
	size_t n = 0;

	while ((p = strstr(p, "<p:PortMappingEntry>")) != NULL) {
		n++;
		p++;
	}
	return n;
}

static void test_get_list(void **state)
{
	struct env *v = range_env(true);

	(void)state;
	assert_int_equal(get_list(v, "192.168.1.20", 2001, 2000, "0", 0), 733);
	assert_int_equal(get_list(v, "192.168.1.20", 3000, 4000, "0", 0), 730);
	assert_int_equal(get_list(v, "192.168.1.20", 2010, 2019, "1", 0), 730);
	assert_int_equal(get_list(v, "192.168.1.20", 0, 65535, "1", 0), 0);
	assert_int_equal(count_entries(v), 10);
	/* the fragment travels as CDATA (svc/action.c: action_out_fragment) */
	assert_non_null(strstr(v->out.p, "<NewPortListing><![CDATA[<?xml"));
	assert_int_equal(get_list(v, "192.168.1.20", 0, 65535, "0", 3), 0);
	assert_int_equal(count_entries(v), 3);
	assert_non_null(strstr(v->out.p, "<p:NewExternalPort>2002</p:NewExternalPort>"));
	assert_null(strstr(v->out.p, ">2003<"));
	assert_non_null(strstr(v->out.p, "xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\""));
	env_free(v);

	v = range_env(false);
	assert_int_equal(get_list(v, "192.168.1.20", 0, 65535, "0", 0), 0);
	assert_int_equal(count_entries(v), 10);
	assert_int_equal(get_list(v, "192.168.1.20", 0, 65535, "1", 0), 0);
	assert_int_equal(count_entries(v), 20);
	env_free(v);
}

static void test_limits_728(void **state)
{
	struct env *v = env_new(true, NULL);
	struct mapping m;
	uint32_t p;

	(void)state;
	v->x.cfg.max_mappings_per_client = 2;
	map_set_limits(v->x.e.maps, &(struct map_limits){ 0, 2 });
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "a", 100), 0);
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 8081, "TCP", 8081,
			     "192.168.1.20", "a", 100), 0);
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8082, "TCP", 8082,
			     "192.168.1.20", "a", 100), 728);
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 8082, "TCP", 8082,
			     "192.168.1.20", "a", 100), 728);
	/* an overwrite is not a new entry */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "b", 100), 0);
	env_free(v);

	/* AddAnyPortMapping with every allowed UDP port held by someone else */
	v = env_new(true, NULL);
	map_set_limits(v->x.e.maps, &(struct map_limits){ 0, 0 });
	memset(&m, 0, sizeof(m));
	m.proto = MAP_UDP;
	m.internal_client = ip("192.168.1.30");
	m.int_port = 9;
	for (p = 1024; p <= 65535; p++) {
		m.ext_port = (uint16_t)p;
		assert_int_equal(map_add(v->x.e.maps, &m, STR_LIT(""), NULL), MAP_OK);
	}
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 0, "UDP", 4000,
			     "192.168.1.20", "a", 100), 728);
	map_remove(v->x.e.maps, map_find(v->x.e.maps, MAP_UDP, 33333, any_host));
	/* the one free port, found from the wanted one by wrapping around */
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 40000, "UDP", 4000,
			     "192.168.1.20", "a", 100), 0);
	assert_int_equal(out_u(v, "NewReservedPort"), 33333);
	env_free(v);
}

static void test_add_any_wildcard_and_acl(void **state)
{
	static const char *const acl[] = {
		"allow 80 192.168.1.20/32 80",
		"deny 9000-9999 192.168.1.0/24 0-65535",
		NULL,
	};
	struct env *v = env_new(true, acl);

	(void)state;
	/* wildcard external port: the internal port is tried first */
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 0, "TCP", 7000,
			     "192.168.1.20", "w", 100), 0);
	assert_int_equal(out_u(v, "NewReservedPort"), 7000);
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.30", "", 0, "TCP", 7000,
			     "192.168.1.30", "w", 100), 0);
	assert_int_equal(out_u(v, "NewReservedPort"), 7001);
	/* the ACL opens port 80 for .20 only */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 80, "TCP", 80,
			     "192.168.1.20", "web", 100), 0);
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.30", "", 80, "UDP", 80,
			     "192.168.1.30", "web", 100), 606);
	/* denied ports are skipped when looking for another one */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.30", "", 8999, "TCP", 8999,
			     "192.168.1.30", "x", 100), 0);
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 8999, "TCP", 8999,
			     "192.168.1.20", "x", 100), 0);
	assert_int_equal(out_u(v, "NewReservedPort"), 10000);
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 9500, "TCP", 9500,
			     "192.168.1.20", "x", 100), 606);
	env_free(v);
}

/* Entries made by other mechanisms: visible, never changed by UPnP. */
static void test_other_origins(void **state)
{
	struct env *v = env_new(true, NULL);
	struct mapping m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.proto = MAP_TCP;
	m.ext_port = 8080;
	m.int_port = 8080;
	m.internal_client = ip("192.168.1.20");
	m.origin = MAP_ORIGIN_STATIC;
	m.enabled = true;
	assert_int_equal(map_add(v->x.e.maps, &m, STR_LIT("admin"), NULL), MAP_OK);
	m.ext_port = 8081;
	m.internal_client = ip("192.168.1.30");
	m.origin = MAP_ORIGIN_NATPMP;
	assert_int_equal(map_add(v->x.e.maps, &m, STR_LIT(""), NULL), MAP_OK);
	assert_int_equal(call(v, "192.168.1.20", "GetGenericPortMappingEntry",
			      "NewPortMappingIndex", "0", NULL), 0);
	assert_int_equal(out_u(v, "NewLeaseDuration"), 0);     /* static */
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "mine", 100), 729);
	assert_int_equal(add(v, "AddPortMapping", "192.168.1.20", "", 8081, "TCP", 8081,
			     "192.168.1.20", "mine", 100), 729);
	assert_int_equal(call(v, "192.168.1.20", "DeletePortMapping", "NewRemoteHost", "",
			      "NewExternalPort", "8080", "NewProtocol", "TCP", NULL), 606);
	assert_int_equal(del_range(v, "192.168.1.20", 0, 65535, "0"), 730);
	assert_int_equal(add(v, "AddAnyPortMapping", "192.168.1.20", "", 8080, "TCP", 8080,
			     "192.168.1.20", "mine", 100), 0);
	assert_int_equal(out_u(v, "NewReservedPort"), 8082);
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_figure_rows),
		cmocka_unit_test(test_lease_arithmetic),
		cmocka_unit_test(test_expiry_order),
		cmocka_unit_test(test_index_compaction),
		cmocka_unit_test(test_client_nth),
		cmocka_unit_test(test_client_nth_many),
		cmocka_unit_test(test_client_compaction),
		cmocka_unit_test(test_range_queries),
		cmocka_unit_test(test_free_port),
		cmocka_unit_test(test_port_used_by_remote_hosts),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_limits_and_clients),
		cmocka_unit_test_setup(test_desc_truncation, desc_setup),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_figure_2_3),
		cmocka_unit_test(test_figure_2_4),
		cmocka_unit_test(test_add_arguments),
		cmocka_unit_test(test_lease_zero_and_expiry),
		cmocka_unit_test(test_refresh_and_update),
		cmocka_unit_test(test_backend_failure),
		cmocka_unit_test(test_get_and_delete),
		cmocka_unit_test(test_get_generic_views),
		cmocka_unit_test(test_delete_range),
		cmocka_unit_test(test_get_list),
		cmocka_unit_test(test_limits_728),
		cmocka_unit_test(test_owner_limit),
		cmocka_unit_test(test_add_any_wildcard_and_acl),
		cmocka_unit_test(test_other_origins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
