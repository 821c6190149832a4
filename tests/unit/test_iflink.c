/*
 * test_iflink.c - util/iflink: the link state and counters read from an
 * RTM_NEWLINK answer (messages built with libmnl, table-driven), the
 * kernel's error passed on, and a real read of lo in this namespace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "util/iflink.h"

static char buf[8192];

enum stats_kind { STATS_NONE, STATS_64, STATS_32, STATS_SHORT };

/* A link message: flags, operstate (-1: none), carrier (-1: none), counters. */
static size_t link_msg(unsigned flags, int oper, int carrier, enum stats_kind stats)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = 7;
	ifi->ifi_flags = flags;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wan0");
	if (oper >= 0)
		mnl_attr_put_u8(nlh, IFLA_OPERSTATE, (uint8_t)oper);
	if (carrier >= 0)
		mnl_attr_put_u8(nlh, IFLA_CARRIER, (uint8_t)carrier);
	if (stats == STATS_64) {
		struct rtnl_link_stats64 s;

		memset(&s, 0, sizeof(s));
		s.rx_bytes = 5000000000ull;             /* past 32 bits */
		s.tx_bytes = 2000;
		s.rx_packets = 30;
		s.tx_packets = 40;
		mnl_attr_put(nlh, IFLA_STATS64, sizeof(s), &s);
	} else if (stats == STATS_32) {
		struct rtnl_link_stats s;

		memset(&s, 0, sizeof(s));
		s.rx_bytes = 100;
		s.tx_bytes = 200;
		s.rx_packets = 3;
		s.tx_packets = 4;
		mnl_attr_put(nlh, IFLA_STATS, sizeof(s), &s);
	} else if (stats == STATS_SHORT) {
		uint64_t part[2] = { 1, 2 };

		mnl_attr_put(nlh, IFLA_STATS64, sizeof(part), part);
	}
	return nlh->nlmsg_len;
}

/* An NLMSG_ERROR answer carrying -err. */
static size_t error_msg(int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -err;
	return nlh->nlmsg_len;
}

/* Up: administratively up, and operationally up, or "unknown" (ppp,
 * tun) with a carrier. */
static void test_state(void **state)
{
	static const struct {
		unsigned flags;
		int oper, carrier;
		bool up;
	} rows[] = {
		{ IFF_UP | IFF_RUNNING, IF_OPER_UP, 1, true },
		{ IFF_UP | IFF_RUNNING, IF_OPER_UP, -1, true },
		{ IFF_UP, IF_OPER_DOWN, 0, false },
		{ IFF_UP, IF_OPER_LOWERLAYERDOWN, 0, false },
		{ IFF_UP, IF_OPER_DORMANT, 1, false },
		{ IFF_UP | IFF_RUNNING, IF_OPER_UNKNOWN, 1, true },     /* ppp0 */
		{ IFF_UP, IF_OPER_UNKNOWN, 0, false },
		{ IFF_UP, -1, 1, true },                /* no operstate: unknown */
		{ IFF_UP, -1, -1, false },
		{ 0, IF_OPER_UNKNOWN, 1, false },       /* set down by the admin */
		{ 0, IF_OPER_DOWN, 1, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct iflink l;
		size_t len = link_msg(rows[i].flags, rows[i].oper, rows[i].carrier, STATS_NONE);

		memset(&l, 0xa5, sizeof(l));
		assert_int_equal(iflink_parse(buf, len, &l), 0);
		assert_int_equal(l.ifindex, 7);
		if (l.up != rows[i].up)
			fail_msg("row %zu: up %d, want %d", i, l.up, rows[i].up);
		assert_int_equal(l.rx_packets, 0);
		assert_int_equal(l.speed_mbps, 0);
	}
}

static void test_stats(void **state)
{
	struct iflink l;

	(void)state;
	assert_int_equal(iflink_parse(buf, link_msg(IFF_UP, IF_OPER_UP, 1, STATS_64), &l), 0);
	assert_true(l.rx_bytes == 5000000000ull);
	assert_int_equal(l.tx_bytes, 2000);
	assert_int_equal(l.rx_packets, 30);
	assert_int_equal(l.tx_packets, 40);
	assert_int_equal(iflink_parse(buf, link_msg(IFF_UP, IF_OPER_UP, 1, STATS_32), &l), 0);
	assert_int_equal(l.rx_bytes, 100);
	assert_int_equal(l.tx_bytes, 200);
	assert_int_equal(l.rx_packets, 3);
	assert_int_equal(l.tx_packets, 4);
	/* A counters attribute shorter than its struct is not read. */
	assert_int_equal(iflink_parse(buf, link_msg(IFF_UP, IF_OPER_UP, 1, STATS_SHORT), &l), 0);
	assert_int_equal(l.rx_bytes, 0);
	assert_int_equal(l.rx_packets, 0);
}

/* The kernel's error comes back as it is; no link message is -EBADMSG;
 * ret stays untouched. */
static void test_errors(void **state)
{
	struct iflink l;
	struct nlmsghdr *nlh;

	(void)state;
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(iflink_parse(buf, error_msg(ENODEV), &l), -ENODEV);
	assert_int_equal(iflink_parse(buf, error_msg(EPERM), &l), -EPERM);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	assert_int_equal(iflink_parse(buf, nlh->nlmsg_len, &l), -EBADMSG);
	assert_int_equal(iflink_parse(buf, 0, &l), -EBADMSG);
	/* Truncated: the header claims more than there is. */
	assert_int_equal(iflink_parse(buf, link_msg(IFF_UP, IF_OPER_UP, 1, STATS_64) - 8, &l), -EBADMSG);
	assert_int_equal(l.ifindex, 0x5a5a5a5au);
}

/* A real read in this namespace: lo by name, and names that are not there. */
static void test_read(void **state)
{
	struct iflink l;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(iflink_read("lo", &l), 0);
	assert_int_equal(l.ifindex, if_nametoindex("lo"));
	assert_int_equal(l.speed_mbps, 0);                      /* lo has no ethtool speed */
	assert_int_equal(iflink_read("igddt-none0", &l), -ENODEV);
	assert_int_equal(iflink_read("a-name-much-too-long-for-linux", &l), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
