/*
 * iflink.c - one interface's link state, counters and speed from
 * rtnetlink and ethtool, in the caller's network namespace (iflink.h).
 *
 * Operational state: RFC 2863 section 3.1.13 as Linux reports it
 * (IFLA_OPERSTATE, Documentation/networking/operstates.rst).
 */
#include "util/iflink.h"

#include "util/rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <net/if.h>                 /* before linux/if.h (libc-compat) */
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define IFLINK_BUF 16384        /* one link's answer: a few KB with IFLA_AF_SPEC */
#define IFLINK_TIMEOUT_MS 1000  /* the kernel answers from its own table at once */

struct parse_state {
	const struct nlattr *tb[IFLA_MAX + 1];
	struct iflink link;
	bool found;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= IFLA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static uint8_t attr_u8(const struct nlattr *a, uint8_t dflt)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U8) == 0 ? mnl_attr_get_u8(a) : dflt;
}

/* The counters: 64-bit ones where the kernel sends them, else 32-bit. */
static void link_stats(const struct nlattr *const *tb, struct iflink *l)
{
	const struct nlattr *a64 = tb[IFLA_STATS64], *a32 = tb[IFLA_STATS];

	if (a64 && mnl_attr_get_payload_len(a64) >= sizeof(struct rtnl_link_stats64)) {
		struct rtnl_link_stats64 s;

		memcpy(&s, mnl_attr_get_payload(a64), sizeof(s));      /* may be unaligned */
		l->rx_bytes = s.rx_bytes;
		l->tx_bytes = s.tx_bytes;
		l->rx_packets = s.rx_packets;
		l->tx_packets = s.tx_packets;
	} else if (a32 && mnl_attr_get_payload_len(a32) >= sizeof(struct rtnl_link_stats)) {
		struct rtnl_link_stats s;

		memcpy(&s, mnl_attr_get_payload(a32), sizeof(s));
		l->rx_bytes = s.rx_bytes;
		l->tx_bytes = s.tx_bytes;
		l->rx_packets = s.rx_packets;
		l->tx_packets = s.tx_packets;
	}
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_state *st = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	uint8_t oper;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return MNL_CB_OK;
	memset(st->tb, 0, sizeof(st->tb));
	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, st->tb) < 0)
		return MNL_CB_ERROR;
	memset(&st->link, 0, sizeof(st->link));
	st->link.ifindex = (unsigned)ifi->ifi_index;
	oper = attr_u8(st->tb[IFLA_OPERSTATE], IF_OPER_UNKNOWN);
	st->link.up = (ifi->ifi_flags & IFF_UP) &&
		      (oper == IF_OPER_UP ||
		       (oper == IF_OPER_UNKNOWN && attr_u8(st->tb[IFLA_CARRIER], 0) == 1));
	link_stats(st->tb, &st->link);
	st->found = true;
	return MNL_CB_STOP;
}

int iflink_parse(const void *buf, size_t len, struct iflink *ret)
{
	struct parse_state st;

	memset(&st, 0, sizeof(st));
	errno = 0;
	if (mnl_cb_run(buf, len, 0, 0, msg_cb, &st) < 0)
		return errno > 0 ? -errno : -EBADMSG;   /* NLMSG_ERROR: the kernel's errno */
	if (!st.found)
		return -EBADMSG;
	*ret = st.link;
	return 0;
}

/*
 * The speed in Mb/s from ETHTOOL_GLINKSETTINGS, 0 when not known. Two
 * calls: the first asks the kernel how many words its link mode masks
 * take (it answers with their negated count), the second reads them.
 */
static uint32_t link_speed(const char *ifname)
{
	uint32_t words[sizeof(struct ethtool_link_settings) / sizeof(uint32_t) + 3 * 127];
	struct ethtool_link_settings *s = (struct ethtool_link_settings *)(void *)words;
	struct ifreq ifr;
	uint32_t speed = 0;
	int8_t nwords;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)words;
	memset(words, 0, sizeof(words));
	s->cmd = ETHTOOL_GLINKSETTINGS;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0 || s->link_mode_masks_nwords >= 0)
		goto out;                       /* no ethtool (lo, ppp) */
	nwords = (int8_t)-s->link_mode_masks_nwords;
	memset(words, 0, sizeof(words));
	s->cmd = ETHTOOL_GLINKSETTINGS;
	s->link_mode_masks_nwords = nwords;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		goto out;
	if (s->speed != (uint32_t)SPEED_UNKNOWN)
		speed = s->speed;
out:
	close(fd);
	return speed;
}

int iflink_read(const char *ifname, struct iflink *ret)
{
	char buf[IFLINK_BUF];
	struct parse_state st;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int r;

	if (strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	memset(&st, 0, sizeof(st));
	r = rtnl_request(nlh, buf, sizeof(buf), IFLINK_TIMEOUT_MS, msg_cb, &st);
	if (r < 0)
		return r;               /* the kernel's error included: -ENODEV */
	if (!st.found)
		return -EBADMSG;
	st.link.speed_mbps = link_speed(ifname);
	*ret = st.link;
	return 0;
}
