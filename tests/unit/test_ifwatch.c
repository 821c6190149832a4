/*
 * test_ifwatch.c - net/ifwatch: which rtnetlink notifications concern
 * the watched interface (address messages by index, link messages by
 * name or index), built with libmnl and fed to ifwatch_parse().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "loop/loop.h"
#include "net/ifwatch.h"

static char buf[8192];

/* An address message for interface index idx (family AF_INET unless family). */
static size_t addr_msg(uint16_t type, unsigned idx, int family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, 0x0100007f);
	return nlh->nlmsg_len;
}

/* A link message for index idx named name (no name attribute when NULL). */
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

/* A route message: family, destination prefix length, table. */
static size_t route_msg(uint16_t type, int family, unsigned dst_len, unsigned table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)dst_len;
	rtm->rtm_table = (uint8_t)table;
	mnl_attr_put_u32(nlh, RTA_OIF, 7);
	return nlh->nlmsg_len;
}

/* Only IPv4 default routes of the main table count, on any interface. */
static void test_route(void **state)
{
	struct loop *l = loop_new();
	struct ifwatch *w;

	(void)state;
	w = ifwatch_new(l, "lo", NULL, NULL);
	assert_non_null(w);
	assert_int_equal(ifwatch_parse(w, buf, route_msg(RTM_NEWROUTE, AF_INET, 0, RT_TABLE_MAIN)),
			 IFWATCH_ROUTE);
	assert_int_equal(ifwatch_parse(w, buf, route_msg(RTM_DELROUTE, AF_INET, 0, RT_TABLE_MAIN)),
			 IFWATCH_ROUTE);
	assert_int_equal(ifwatch_parse(w, buf, route_msg(RTM_NEWROUTE, AF_INET, 24, RT_TABLE_MAIN)), 0);
	assert_int_equal(ifwatch_parse(w, buf, route_msg(RTM_NEWROUTE, AF_INET6, 0, RT_TABLE_MAIN)), 0);
	assert_int_equal(ifwatch_parse(w, buf, route_msg(RTM_NEWROUTE, AF_INET, 0, RT_TABLE_LOCAL)), 0);
	ifwatch_free(w);
	loop_free(l);
}

static void test_parse(void **state)
{
	struct loop *l = loop_new();
	struct ifwatch *w;
	unsigned lo = if_nametoindex("lo");

	(void)state;
	assert_non_null(l);
	assert_true(lo > 0);
	w = ifwatch_new(l, "lo", NULL, NULL);
	assert_non_null(w);
	assert_int_equal(ifwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, AF_INET)), IFWATCH_ADDR);
	assert_int_equal(ifwatch_parse(w, buf, addr_msg(RTM_DELADDR, lo, AF_INET)), IFWATCH_ADDR);
	assert_int_equal(ifwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, AF_INET6)), 0);
	assert_int_equal(ifwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo + 1000, AF_INET)), 0);
	assert_int_equal(ifwatch_parse(w, buf, link_msg(RTM_NEWLINK, (int)lo, "lo")),
			 IFWATCH_LINK | IFWATCH_ADDR);
	assert_int_equal(ifwatch_parse(w, buf, link_msg(RTM_NEWLINK, (int)lo, NULL)),
			 IFWATCH_LINK | IFWATCH_ADDR);
	assert_int_equal(ifwatch_parse(w, buf, link_msg(RTM_NEWLINK, 9999, "eth9")), 0);
	/* Deleted: address messages for the old index no longer count. */
	assert_int_equal(ifwatch_parse(w, buf, link_msg(RTM_DELLINK, (int)lo, "lo")),
			 IFWATCH_LINK | IFWATCH_ADDR);
	assert_int_equal(ifwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, AF_INET)), 0);
	/* Created again (by name): followed again. */
	assert_int_equal(ifwatch_parse(w, buf, link_msg(RTM_NEWLINK, (int)lo, "lo")),
			 IFWATCH_LINK | IFWATCH_ADDR);
	assert_int_equal(ifwatch_parse(w, buf, addr_msg(RTM_NEWADDR, lo, AF_INET)), IFWATCH_ADDR);
	ifwatch_free(w);
	loop_free(l);
}

static void test_missing_interface(void **state)
{
	struct loop *l = loop_new();
	struct ifwatch *w;

	(void)state;
	w = ifwatch_new(l, "igddt-none0", NULL, NULL);
	assert_non_null(w);                                     /* may appear later */
	assert_int_equal(ifwatch_parse(w, buf, link_msg(RTM_NEWLINK, 4242, "igddt-none0")),
			 IFWATCH_LINK | IFWATCH_ADDR);
	ifwatch_free(w);
	assert_null(ifwatch_new(l, "a-name-much-too-long-for-linux", NULL, NULL));
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_missing_interface),
		cmocka_unit_test(test_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
