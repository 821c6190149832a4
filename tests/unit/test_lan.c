/*
 * test_lan.c - core/lan: a LAN's addresses as rtnetlink reports them
 * (added, changed, deleted, tentative, DAD failed, deprecated, the
 * primary IPv4 address), and the decisions built on them: which peers
 * are on the LAN, which are hosts of it, what the WAN's prefixes take
 * away, and which address a LOCATION names for a searcher (a global one,
 * so that the client's source address is its global address).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/lan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IFX 7

static struct ipaddr addr(const char *s)
{
	struct ipaddr a;

	assert_int_equal(ipaddr_parse(str_cstr(s), &a), 0);
	if (ipaddr_is_linklocal(&a))
		a.scope = IFX;
	return a;
}

static bool apply(struct lan *l, bool add, const char *text, unsigned plen, uint32_t flags)
{
	struct lan_addr_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.add = add;
	ev.ifindex = IFX;
	ev.addr.a = addr(text);
	ev.addr.plen = (uint8_t)plen;   /* out of range on purpose in some rows */
	ev.addr.flags = flags;
	return lan_apply(l, &ev);
}

/* lan_event_parse(): "ADDR/PLEN" as rtnetlink would report it. */
static void test_event_parse(void **state)
{
	struct lan_addr_event ev;

	(void)state;
	assert_int_equal(lan_event_parse(str_cstr("192.168.1.1/24"), IFX, true, 0, &ev), 0);
	assert_true(ev.add && ev.ifindex == IFX && ev.addr.plen == 24 && ipaddr_is_v4(&ev.addr.a));
	assert_int_equal(lan_event_parse(str_cstr("fe80::1/64"), IFX, false, LAN_F_TENTATIVE, &ev), 0);
	assert_true(!ev.add && ev.addr.a.scope == IFX && ev.addr.flags == LAN_F_TENTATIVE);
	assert_int_equal(lan_event_parse(str_cstr("2001:db8::1"), IFX, true, 0, &ev), 0);
	assert_int_equal(ev.addr.plen, 128);
	assert_int_equal(ev.addr.a.scope, 0);
	assert_int_equal(lan_event_parse(str_cstr("10.0.0.1"), IFX, true, 0, &ev), 0);
	assert_int_equal(ev.addr.plen, 32);
	assert_int_equal(lan_event_parse(str_cstr("10.0.0.1/33"), IFX, true, 0, &ev), -EINVAL);
	assert_int_equal(lan_event_parse(str_cstr("2001:db8::1/129"), IFX, true, 0, &ev), -EINVAL);
	assert_int_equal(lan_event_parse(str_cstr("10.0.0.1/"), IFX, true, 0, &ev), -EINVAL);
	assert_int_equal(lan_event_parse(str_cstr("lan0/24"), IFX, true, 0, &ev), -EINVAL);
	assert_int_equal(lan_event_parse(str_cstr(""), IFX, true, 0, &ev), -EINVAL);
}

/* lan0: 192.168.1.1/24, 2001:db8:1::1/64, fd00:1::1/64, fe80::1/64. */
static void make(struct lan *l)
{
	lan_init(l, 0, "lan0");
	lan_set_ifindex(l, IFX);
	assert_true(apply(l, true, "192.168.1.1", 24, 0));
	assert_true(apply(l, true, "2001:db8:1::1", 64, 0));
	assert_true(apply(l, true, "fd00:1::1", 64, 0));
	assert_true(apply(l, true, "fe80::1", 64, 0));
}

static void test_events(void **state)
{
	struct lan l;
	char a[IPADDR_STRLEN];
	uint32_t g;

	(void)state;
	lan_init(&l, 3, "br-guest");
	assert_string_equal(l.name, "br-guest");
	assert_int_equal(l.index, 3);
	assert_false(lan_has_v4(&l));
	assert_false(lan_has_v6(&l));
	assert_true(lan_set_ifindex(&l, IFX));
	assert_false(lan_set_ifindex(&l, IFX));
	/* tentative (DAD running) and DAD-failed addresses do not count */
	assert_false(apply(&l, true, "fe80::1", 64, LAN_F_TENTATIVE));
	assert_false(apply(&l, true, "fe80::1", 64, LAN_F_DADFAILED));
	assert_false(lan_has_v6(&l));
	g = l.generation;
	assert_true(apply(&l, true, "fe80::1", 64, 0));
	assert_true(l.generation != g);
	assert_true(lan_has_v6(&l));
	assert_false(apply(&l, true, "fe80::1", 64, 0));               /* nothing new */
	/* the same address turning tentative again: gone */
	assert_true(apply(&l, true, "fe80::1", 64, LAN_F_TENTATIVE));
	assert_false(lan_has_v6(&l));
	/* IPv4: the primary address, its mask; a secondary does not replace it */
	assert_true(apply(&l, true, "10.0.0.1", 8, 0));
	assert_true(lan_has_v4(&l));
	assert_true(apply(&l, true, "10.9.0.1", 16, LAN_F_SECONDARY));
	assert_string_equal(inet_ntop(AF_INET, &l.addr, a, sizeof(a)), "10.0.0.1");
	assert_string_equal(inet_ntop(AF_INET, &l.mask, a, sizeof(a)), "255.0.0.0");
	/* the primary deleted: the promoted one, then nothing */
	assert_true(apply(&l, false, "10.0.0.1", 8, 0));
	assert_string_equal(inet_ntop(AF_INET, &l.addr, a, sizeof(a)), "10.9.0.1");
	assert_string_equal(inet_ntop(AF_INET, &l.mask, a, sizeof(a)), "255.255.0.0");
	assert_true(apply(&l, false, "10.9.0.1", 16, 0));
	assert_false(lan_has_v4(&l));
	assert_false(apply(&l, false, "10.9.0.1", 16, 0));             /* not there */
	/* a changed prefix length or flags is a change */
	assert_true(apply(&l, true, "2001:db8::1", 64, 0));
	assert_true(apply(&l, true, "2001:db8::1", 60, 0));
	assert_true(apply(&l, true, "2001:db8::1", 60, LAN_F_DEPRECATED));
	assert_int_equal(l.naddrs, 1);
	/* nonsense prefix lengths are ignored */
	assert_false(apply(&l, true, "10.0.0.1", 33, 0));
	assert_false(apply(&l, true, "2001:db8::2", 129, 0));
	/* a /0 IPv4 "subnet" would make every address a LAN host: /32 */
	assert_true(apply(&l, true, "10.0.0.1", 0, 0));
	assert_string_equal(inet_ntop(AF_INET, &l.mask, a, sizeof(a)), "255.255.255.255");
	/* the interface goes: everything is forgotten */
	assert_true(lan_set_ifindex(&l, 0));
	assert_int_equal(l.naddrs, 0);
	assert_false(lan_has_v4(&l));
}

static void test_limit(void **state)
{
	struct lan l;
	char text[64];
	unsigned i;

	(void)state;
	lan_init(&l, 0, "lan0");
	lan_set_ifindex(&l, IFX);
	for (i = 0; i < IGDD_LAN_MAX_ADDRS; i++) {
		snprintf(text, sizeof(text), "2001:db8:%u::1", i + 1);
		assert_true(apply(&l, true, text, 64, 0));
	}
	assert_false(apply(&l, true, "2001:db8:ffff::1", 64, 0));       /* ignored: full */
	assert_int_equal(l.naddrs, IGDD_LAN_MAX_ADDRS);
	lan_clear(&l);
	assert_int_equal(l.naddrs, 0);
}

static void test_equal(void **state)
{
	struct lan a, b;

	(void)state;
	make(&a);
	make(&b);
	assert_true(lan_addrs_equal(a.addrs, a.naddrs, b.addrs, b.naddrs));
	apply(&b, true, "fd00:1::1", 64, LAN_F_DEPRECATED);
	assert_false(lan_addrs_equal(a.addrs, a.naddrs, b.addrs, b.naddrs));
	apply(&b, false, "fd00:1::1", 64, 0);
	assert_false(lan_addrs_equal(a.addrs, a.naddrs, b.addrs, b.naddrs));
}

/* (peer, on the LAN, a host of it, a peer to answer) */
struct member_row {
	const char *a;
	unsigned scope;                 /* link-local: the interface it came in on (0: IFX) */
	bool contains, host, peer;
};

static const struct member_row member_rows[] = {
	{ "192.168.1.20", 0, true, true, true },
	{ "192.168.1.1", 0, true, false, true },        /* the gateway: a control point on it */
	{ "192.168.1.0", 0, true, false, false },       /* network */
	{ "192.168.1.255", 0, true, false, false },     /* broadcast */
	{ "192.168.2.20", 0, false, false, false },
	{ "2001:db8:1::20", 0, true, true, true },
	{ "2001:db8:1::1", 0, true, false, true },      /* the gateway's GUA */
	{ "fd00:1::20", 0, true, true, true },
	{ "2001:db8:2::20", 0, false, false, false },   /* another prefix */
	{ "2001:db8:1:0:ffff::1", 0, false, false, false }, /* the WAN's /80 inside the LAN's /64 */
	{ "fe80::20", 0, true, true, true },
	{ "fe80::20", IFX + 1, false, false, false },   /* the same, on another link */
	{ "fe80::1", 0, true, false, true },            /* the gateway's link-local address */
	{ "::1", 0, false, false, false },
	{ "::", 0, false, false, false },
	{ "ff02::1", 0, false, false, false },
	{ "::ffff:192.168.1.20", 0, true, true, true }, /* IPv4-mapped: an IPv4 peer */
};

static void test_membership(void **state)
{
	struct lan l;
	struct lan_wan6 w;
	struct lan_addr_event ev;
	size_t i;

	(void)state;
	make(&l);
	memset(&w, 0, sizeof(w));
	memset(&ev, 0, sizeof(ev));
	ev.add = true;
	ev.ifindex = 2;
	ev.addr.a = addr("2001:db8:1:0:ffff::2");
	ev.addr.plen = 80;
	assert_true(lan_wan6_apply(&w, &ev));
	ev.addr.a = addr("198.51.100.2");               /* IPv4 on the WAN: not kept here */
	assert_false(lan_wan6_apply(&w, &ev));
	for (i = 0; i < N(member_rows); i++) {
		const struct member_row *r = &member_rows[i];
		struct ipaddr a = addr(r->a);

		if (r->scope)
			a.scope = r->scope;
		if (lan_contains(&l, &w, &a) != r->contains || lan_host_ok(&l, &w, &a) != r->host ||
		    lan_peer_ok(&l, &w, &a) != r->peer)
			fail_msg("%s%%%u: contains %d host %d peer %d", r->a, a.scope,
				 lan_contains(&l, &w, &a), lan_host_ok(&l, &w, &a), lan_peer_ok(&l, &w, &a));
	}
	assert_true(lan_wan6_has(&w, &(struct ipaddr){ .family = AF_INET6,
						     .u.v6 = addr("2001:db8:1:0:ffff::9").u.v6 }));
	/* Without an IPv6 address, the LAN has no IPv6 peers. */
	lan_init(&l, 0, "lan0");
	lan_set_ifindex(&l, IFX);
	apply(&l, true, "192.168.1.1", 24, 0);
	{
		struct ipaddr ll = addr("fe80::20");

		assert_false(lan_contains(&l, NULL, &ll));
	}
	/* A loopback LAN: every control point has the gateway's address. */
	lan_init(&l, 0, "lo");
	lan_set_ifindex(&l, 1);
	apply(&l, true, "127.0.0.1", 8, 0);
	{
		struct ipaddr lo = addr("127.0.0.1");

		assert_true(lan_host_ok(&l, NULL, &lo));
	}
}

/* LOCATION for a searcher: (the LAN's extra addresses, searcher, chosen). */
struct location_row {
	const char *name;
	const char *searcher;
	const char *chosen;             /* NULL: none */
};

static const struct location_row location_rows[] = {
	{ "IPv4 searcher", "192.168.1.20", "192.168.1.1" },
	{ "link-local searcher: the GUA", "fe80::20", "2001:db8:1::1" },
	{ "ULA searcher: the GUA too", "fd00:1::20", "2001:db8:1::1" },
	{ "GUA searcher: its prefix's GUA", "2001:db8:2::20", "2001:db8:2::1" },
	{ "GUA searcher of the first prefix", "2001:db8:1::20", "2001:db8:1::1" },
};

static void test_location(void **state)
{
	char out[IPADDR_STRLEN];
	struct ipaddr got, s;
	struct lan l;
	size_t i;

	(void)state;
	make(&l);
	apply(&l, true, "2001:db8:2::1", 64, 0);        /* a second delegated prefix */
	for (i = 0; i < N(location_rows); i++) {
		const struct location_row *r = &location_rows[i];

		s = addr(r->searcher);
		assert_true(lan_location(&l, &s, &got));
		if (strcmp(ipaddr_ntop(&got, out, sizeof(out)), r->chosen) != 0)
			fail_msg("%s: %s", r->name, out);
		assert_int_equal(got.scope, 0);
	}
	/* a deprecated GUA (going away) gives way to a ULA */
	make(&l);
	apply(&l, true, "2001:db8:1::1", 64, LAN_F_DEPRECATED);
	s = addr("fe80::20");
	assert_true(lan_location(&l, &s, &got));
	assert_string_equal(ipaddr_ntop(&got, out, sizeof(out)), "fd00:1::1");
	assert_true(lan_global(&l, &got));
	assert_string_equal(ipaddr_ntop(&got, out, sizeof(out)), "fd00:1::1");
	/* only a link-local address: that one (the scope is the LAN's) */
	lan_init(&l, 0, "lan0");
	lan_set_ifindex(&l, IFX);
	apply(&l, true, "fe80::1", 64, 0);
	assert_true(lan_location(&l, &s, &got));
	assert_string_equal(ipaddr_ntop(&got, out, sizeof(out)), "fe80::1");
	assert_int_equal(got.scope, IFX);
	assert_false(lan_global(&l, &got));
	assert_true(lan_linklocal(&l, &got));
	/* no address of the searcher's family */
	s = addr("192.168.1.20");
	assert_false(lan_location(&l, &s, &got));
	lan_init(&l, 0, "lan0");
	s = addr("fe80::20");
	assert_false(lan_location(&l, &s, &got));
	assert_false(lan_linklocal(&l, &got));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_parse),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_location),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
