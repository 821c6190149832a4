/*
 * test_lanwatch.c - net/lanwatch (the LANs' and the WAN's addresses over
 * rtnetlink) and net/neigh (one neighbour entry): the start-up dump on
 * the loopback interface, address messages built with libmnl and fed to
 * lanwatch_parse() (matched by index, IFA_LOCAL before IFA_ADDRESS,
 * IFA_FLAGS before ifa_flags, tentative addresses left out), link
 * messages that ask for a new dump, and the neighbour table asked about
 * an address it cannot hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "engine.h"
#include "net/lanwatch.h"
#include "net/neigh.h"

static char buf[8192];

/* An address message: family, index, prefix length, the address text
 * (as IFA_ADDRESS, or IFA_LOCAL when local), flags in IFA_FLAGS (ifa_flags
 * holds legacy). */
static size_t addr_msg(uint16_t type, unsigned idx, const char *text, unsigned plen,
		       bool local, uint32_t flags, uint8_t legacy)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned char a[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(family, text, a), 1);
	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_flags = legacy;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, local ? IFA_LOCAL : IFA_ADDRESS, family == AF_INET ? 4 : 16, a);
	if (flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	return nlh->nlmsg_len;
}

static size_t link_msg(uint16_t type, int idx, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh->nlmsg_len;
}

static bool has(const struct lan_addr *v, size_t n, const char *text, unsigned plen)
{
	struct ipaddr a;
	size_t i;

	assert_int_equal(ipaddr_parse(str_cstr(text), &a), 0);
	for (i = 0; i < n; i++)
		if (v[i].a.family == a.family && memcmp(&v[i].a.u, &a.u, a.family == AF_INET ? 4 : 16) == 0 &&
		    v[i].plen == plen)
			return true;
	return false;
}

static void engine_with(struct engine *e, const char *lan0, const char *lan1)
{
	memset(e, 0, sizeof(*e));
	lan_init(&e->lans[0], 0, lan0);
	e->nlans = 1;
	if (lan1) {
		lan_init(&e->lans[1], 1, lan1);
		e->nlans = 2;
	}
}

static void test_lans(void **state)
{
	static struct engine e;
	unsigned lo = if_nametoindex("lo");
	struct lanwatch *w;
	bool wan6 = true, resync = true;

	(void)state;
	assert_true(lo > 0);
	engine_with(&e, "lo", "igdd-none0");
	w = lanwatch_new(&e, NULL, NULL, NULL, NULL);
	assert_non_null(w);
	/* The dump at start: lo's own addresses; the missing LAN has none. */
	assert_int_equal(e.lans[0].ifindex, lo);
	assert_true(has(e.lans[0].addrs, e.lans[0].naddrs, "127.0.0.1", 8));
	assert_int_equal(e.lans[1].ifindex, 0);
	assert_int_equal(e.lans[1].naddrs, 0);
	/* Address messages, by index. */
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "2001:db8::1", 64, false, 0, 0),
					&wan6, &resync), 1u);
	assert_false(wan6);
	assert_false(resync);
	assert_true(has(e.lans[0].addrs, e.lans[0].naddrs, "2001:db8::1", 64));
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo + 1000, "2001:db8::2", 64,
							false, 0, 0), NULL, NULL), 0);
	/* tentative (in IFA_FLAGS, or in the legacy ifa_flags): not yet */
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "2001:db8::3", 64, false,
							IFA_F_TENTATIVE, 0), NULL, NULL), 0);
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "2001:db8::3", 64, false,
							0, IFA_F_TENTATIVE), NULL, NULL), 0);
	/* DAD done: there */
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "2001:db8::3", 64, false,
							IFA_F_PERMANENT, 0), NULL, NULL), 1u);
	/* point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer's */
	{
		struct nlmsghdr *nlh;
		size_t n = addr_msg(RTM_NEWADDR, lo, "10.1.1.1", 32, true, 0, 0);
		unsigned char peer[4] = { 10, 1, 1, 2 };

		nlh = (struct nlmsghdr *)buf;
		mnl_attr_put(nlh, IFA_ADDRESS, 4, peer);
		n = nlh->nlmsg_len;
		assert_int_equal(lanwatch_parse(w, buf, n, NULL, NULL), 1u);
		assert_true(has(e.lans[0].addrs, e.lans[0].naddrs, "10.1.1.1", 32));
		assert_false(has(e.lans[0].addrs, e.lans[0].naddrs, "10.1.1.2", 32));
	}
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_DELADDR, lo, "2001:db8::1", 64, false, 0, 0),
					NULL, NULL), 1u);
	assert_false(has(e.lans[0].addrs, e.lans[0].naddrs, "2001:db8::1", 64));
	/* An IPv4-mapped IPv6 address is no address of a LAN. */
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "::ffff:10.0.0.1", 96, false,
							0, 0), NULL, NULL), 0);
	/* Link messages: lo is where it was; a LAN whose index moved asks for a dump. */
	assert_int_equal(lanwatch_parse(w, buf, link_msg(RTM_NEWLINK, (int)lo, "lo"), NULL, &resync), 0);
	assert_false(resync);
	e.lans[0].ifindex = lo + 1000;                  /* as if lo had been created again */
	lanwatch_parse(w, buf, link_msg(RTM_NEWLINK, (int)lo, "lo"), NULL, &resync);
	assert_true(resync);
	assert_int_equal(lanwatch_resync(w, NULL), 1u);
	assert_int_equal(e.lans[0].ifindex, lo);
	assert_true(has(e.lans[0].addrs, e.lans[0].naddrs, "127.0.0.1", 8));
	assert_false(has(e.lans[0].addrs, e.lans[0].naddrs, "10.1.1.1", 32));   /* only the kernel's */
	/* A dump that finds nothing new changes nothing. */
	assert_int_equal(lanwatch_resync(w, NULL), 0);
	lanwatch_parse(w, buf, link_msg(RTM_NEWLINK, 4242, "igdd-none0"), NULL, &resync);
	assert_false(resync);
	lanwatch_free(w);
	lanwatch_free(NULL);
}

static void test_wan(void **state)
{
	static struct engine e;
	unsigned lo = if_nametoindex("lo");
	struct lanwatch *w;
	bool wan6 = false;

	(void)state;
	engine_with(&e, "igdd-none0", NULL);
	w = lanwatch_new(&e, NULL, "lo", NULL, NULL);
	assert_non_null(w);
	assert_int_equal(lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "2001:db8:ffff::1", 64, false,
							0, 0), &wan6, NULL), 0);
	assert_true(wan6);
	assert_true(has(e.wan6.addrs, e.wan6.naddrs, "2001:db8:ffff::1", 64));
	/* the WAN's IPv4 addresses are not kept here (net/ifwatch follows them) */
	lanwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, "198.51.100.1", 24, false, 0, 0), &wan6, NULL);
	assert_false(wan6);
	lanwatch_free(w);
}

/* Loopback keeps no neighbours (NOARP): never the same host. */
static void test_neigh(void **state)
{
	uint8_t ll[NEIGH_LLADDR_MAX];
	struct ipaddr a, b;
	unsigned lo = if_nametoindex("lo");

	(void)state;
	assert_int_equal(ipaddr_parse(str_cstr("127.0.0.2"), &a), 0);
	assert_int_equal(ipaddr_parse(str_cstr("::1"), &b), 0);
	assert_true(neigh_lladdr(lo, &a, ll) <= 0);
	assert_true(neigh_lladdr(lo, &b, ll) <= 0);
	assert_false(neigh_same_host(NULL, lo, &a, &b));
	memset(&a, 0, sizeof(a));
	assert_int_equal(neigh_lladdr(lo, &a, ll), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lans),
		cmocka_unit_test(test_wan),
		cmocka_unit_test(test_neigh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
