/*
 * lanwatch.c - the LANs' and the WAN's addresses over rtnetlink (see
 * lanwatch.h; rtnetlink(7): RTM_NEWADDR / RTM_DELADDR carry struct
 * ifaddrmsg with IFA_LOCAL / IFA_ADDRESS and IFA_FLAGS, linux/if_addr.h).
 *
 * Address messages are matched by interface index; a link message
 * naming a LAN or the WAN, or bearing one of their indexes, whose index
 * no longer matches the name (deleted, created again, renamed) asks for
 * a dump of every address, as lost notifications do.
 */
#include "net/lanwatch.h"

#include "core/lan.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/rtnl.h"
#include "util/log.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LANWATCH_BUF 32768
#define LANWATCH_DUMP_TIMEOUT_MS 2000   /* the kernel answers at once; never wait longer */

struct lanwatch {
	struct engine *e;
	struct rtnl_watch rw;
	char wan[IF_NAMESIZE];
	unsigned wan_ifindex;
	lanwatch_fn cb;
	void *arg;
	char buf[LANWATCH_BUF];
};

/* What one buffer of messages did. */
struct parse_state {
	struct lanwatch *w;
	uint32_t lans;
	bool wan6;
	bool resync;
};

static int addr_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int t = mnl_attr_get_type(a);

	if (t >= 0 && t <= IFA_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

/* The address event of an RTM_NEWADDR / RTM_DELADDR; false if malformed. */
static bool addr_event(const struct nlmsghdr *nlh, struct lan_addr_event *ret)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL }, *a;
	struct lan_addr_event ev;
	struct in6_addr a6;
	struct in_addr a4;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return false;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, tb) < 0)
		return false;
	/* IFA_LOCAL is the local address on a point-to-point link, where
	 * IFA_ADDRESS is the peer's (linux/if_addr.h). */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a)
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.add = nlh->nlmsg_type == RTM_NEWADDR;
	ev.ifindex = ifa->ifa_index;
	ev.addr.plen = ifa->ifa_prefixlen;
	ev.addr.flags = tb[IFA_FLAGS] && mnl_attr_get_payload_len(tb[IFA_FLAGS]) >= 4 ?
			mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (ifa->ifa_family == AF_INET) {
		if (mnl_attr_get_payload_len(a) < sizeof(a4))
			return false;
		memcpy(&a4, mnl_attr_get_payload(a), sizeof(a4));
		ev.addr.a = ipaddr_from_v4(a4);
	} else {
		if (mnl_attr_get_payload_len(a) < sizeof(a6))
			return false;
		memcpy(&a6, mnl_attr_get_payload(a), sizeof(a6));
		ev.addr.a = ipaddr_from_v6(&a6, ifa->ifa_index);
		if (ev.addr.a.family != AF_INET6)
			return false;   /* an IPv4-mapped IPv6 address is no address of ours */
	}
	*ret = ev;
	return true;
}

static void on_addr(struct parse_state *st, const struct nlmsghdr *nlh)
{
	struct engine *e = st->w->e;
	struct lan_addr_event ev;
	size_t i;

	if (!addr_event(nlh, &ev) || ev.ifindex == 0)
		return;
	for (i = 0; i < e->nlans; i++)
		if (e->lans[i].ifindex == ev.ifindex && lan_apply(&e->lans[i], &ev))
			st->lans |= 1u << i;
	if (st->w->wan_ifindex == ev.ifindex && lan_wan6_apply(&e->wan6, &ev))
		st->wan6 = true;
}

static int link_attr(const struct nlattr *a, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		*name = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

/* Whether the interface called name, known by index known, is not there
 * under that index any more (or has appeared). */
static bool index_moved(const char *name, unsigned known)
{
	return name[0] && if_nametoindex(name) != known;
}

static void on_link(struct parse_state *st, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct lanwatch *w = st->w;
	const char *name = NULL;
	size_t i;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, &name);
	for (i = 0; i < w->e->nlans; i++) {
		const struct lan *l = &w->e->lans[i];

		if (((name && strcmp(name, l->name) == 0) ||
		     (l->ifindex && (unsigned)ifi->ifi_index == l->ifindex)) &&
		    index_moved(l->name, l->ifindex))
			st->resync = true;
	}
	if (w->wan[0] && ((name && strcmp(name, w->wan) == 0) ||
			  (w->wan_ifindex && (unsigned)ifi->ifi_index == w->wan_ifindex)) &&
	    index_moved(w->wan, w->wan_ifindex))
		st->resync = true;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_state *st = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		on_addr(st, nlh);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		on_link(st, nlh);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

uint32_t lanwatch_parse(struct lanwatch *w, const void *buf, size_t len, bool *ret_wan6,
			bool *ret_resync)
{
	struct parse_state st = { w, 0, false, false };

	(void)mnl_cb_run(buf, len, 0, 0, msg_cb, &st);
	if (ret_wan6)
		*ret_wan6 = st.wan6;
	if (ret_resync)
		*ret_resync = st.resync;
	return st.lans;
}

/* One RTM_GETADDR dump applied through msg_cb. 0 or -errno. */
static int dump_addrs(struct lanwatch *w, struct parse_state *st)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(w->buf);
	struct rtgenmsg *rt;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	return rtnl_request(nlh, w->buf, sizeof(w->buf), LANWATCH_DUMP_TIMEOUT_MS, msg_cb, st);
}

uint32_t lanwatch_resync(struct lanwatch *w, bool *ret_wan6)
{
	struct engine *e = w->e;
	struct parse_state st = { w, 0, false, false };
	struct lan before[IGDD_CONF_MAX_LANS];
	struct lan_wan6 wan_before = e->wan6;
	uint32_t changed = 0;
	size_t i;
	int r;

	memset(before, 0, sizeof(before));
	for (i = 0; i < e->nlans; i++) {
		before[i] = e->lans[i];
		lan_set_ifindex(&e->lans[i], if_nametoindex(e->lans[i].name));
		lan_clear(&e->lans[i]);
	}
	w->wan_ifindex = w->wan[0] ? if_nametoindex(w->wan) : 0;
	e->wan6.naddrs = 0;
	r = dump_addrs(w, &st);
	if (r < 0)
		log_warnx("rtnetlink: cannot read the interfaces' addresses: %s", strerror(-r));
	for (i = 0; i < e->nlans; i++)
		if (before[i].ifindex != e->lans[i].ifindex ||
		    !lan_addrs_equal(before[i].addrs, before[i].naddrs, e->lans[i].addrs,
				     e->lans[i].naddrs))
			changed |= 1u << i;
	if (ret_wan6)
		*ret_wan6 = !lan_addrs_equal(wan_before.addrs, wan_before.naddrs, e->wan6.addrs,
					     e->wan6.naddrs);
	return changed;
}

/* What one readable event gathered. */
struct read_state {
	struct lanwatch *w;
	uint32_t lans;
	bool wan6;
	bool resync;
};

static void on_batch(const void *buf, size_t len, void *arg)
{
	struct read_state *st = arg;
	bool w6 = false, rs = false;

	st->lans |= lanwatch_parse(st->w, buf, len, &w6, &rs);
	st->wan6 |= w6;
	st->resync |= rs;
}

/* Notifications lost: every address is read again once all is read. */
static void on_lost(void *arg)
{
	struct read_state *st = arg;

	st->resync = true;
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct lanwatch *w = arg;
	struct read_state st = { w, 0, false, false };

	(void)l;
	(void)fd;
	(void)events;
	rtnl_watch_read(&w->rw, w->buf, sizeof(w->buf), on_batch, on_lost, &st);
	if (st.resync) {
		bool w6 = false;

		st.lans |= lanwatch_resync(w, &w6);
		st.wan6 |= w6;
	}
	if ((st.lans || st.wan6) && w->cb)
		w->cb(w, st.lans, st.wan6, w->arg);
}

struct lanwatch *lanwatch_new(struct engine *e, struct loop *l, const char *wan_ifname,
			      lanwatch_fn cb, void *arg)
{
	struct lanwatch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return NULL;
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	if (wan_ifname && strlen(wan_ifname) < sizeof(w->wan))
		memcpy(w->wan, wan_ifname, strlen(wan_ifname) + 1);
	/* Subscribed first, then read: nothing that changes in between is missed. */
	r = rtnl_watch_open(&w->rw, l, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    on_readable, w);
	if (r < 0) {
		free(w);
		errno = -r;
		return NULL;
	}
	lanwatch_resync(w, NULL);
	return w;
}

void lanwatch_free(struct lanwatch *w)
{
	if (!w)
		return;
	rtnl_watch_close(&w->rw);
	free(w);
}
