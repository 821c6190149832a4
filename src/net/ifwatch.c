/*
 * ifwatch.c - rtnetlink notifications for one interface (see ifwatch.h).
 *
 * The interface is matched by index for address messages and by name
 * for link messages, and the index is looked up again on every link
 * message: a PPP interface gets a new index each time it is created.
 */
#include "net/ifwatch.h"

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

#define IFWATCH_BUF 16384

struct ifwatch {
	struct rtnl_watch rw;
	char ifname[IF_NAMESIZE];
	unsigned ifindex;               /* 0: not there now */
	ifwatch_fn cb;
	void *arg;
	unsigned events;                /* gathered while parsing */
	char buf[IFWATCH_BUF];
};

static int link_attr(const struct nlattr *a, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		*name = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifwatch *w = data;
	const char *name = NULL;

	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifa)) && ifa->ifa_family == AF_INET &&
		    w->ifindex != 0 && ifa->ifa_index == w->ifindex)
			w->events |= IFWATCH_ADDR;
		break;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
			break;
		mnl_attr_parse(nlh, sizeof(*ifi), link_attr, &name);
		if ((name && strcmp(name, w->ifname) == 0) ||
		    (w->ifindex != 0 && (unsigned)ifi->ifi_index == w->ifindex)) {
			w->events |= IFWATCH_LINK | IFWATCH_ADDR;
			w->ifindex = nlh->nlmsg_type == RTM_DELLINK ? 0 : if_nametoindex(w->ifname);
		}
		break;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*rtm)) && rtm->rtm_family == AF_INET &&
		    rtm->rtm_dst_len == 0 && rtm->rtm_table == RT_TABLE_MAIN)
			w->events |= IFWATCH_ROUTE;
		break;
	}
	default:
		break;
	}
	return MNL_CB_OK;
}

unsigned ifwatch_parse(struct ifwatch *w, const void *buf, size_t len)
{
	w->events = 0;
	(void)mnl_cb_run(buf, len, 0, 0, msg_cb, w);
	return w->events;
}

/* What one readable event gathered. */
struct read_state {
	struct ifwatch *w;
	unsigned seen;
};

static void on_batch(const void *buf, size_t len, void *arg)
{
	struct read_state *st = arg;

	st->seen |= ifwatch_parse(st->w, buf, len);
}

/* Notifications lost: everything may have changed, and the index with it. */
static void on_lost(void *arg)
{
	struct read_state *st = arg;

	st->seen |= IFWATCH_ADDR | IFWATCH_LINK | IFWATCH_ROUTE;
	st->w->ifindex = if_nametoindex(st->w->ifname);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ifwatch *w = arg;
	struct read_state st = { w, 0 };

	(void)l;
	(void)fd;
	(void)events;
	rtnl_watch_read(&w->rw, w->buf, sizeof(w->buf), on_batch, on_lost, &st);
	if (st.seen && w->cb)
		w->cb(w, st.seen, w->arg);
}

struct ifwatch *ifwatch_new(struct loop *l, const char *ifname, ifwatch_fn cb, void *arg)
{
	struct ifwatch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return NULL;
	if (strlen(ifname) >= sizeof(w->ifname)) {
		free(w);
		errno = EINVAL;
		return NULL;
	}
	memcpy(w->ifname, ifname, strlen(ifname) + 1);
	w->ifindex = if_nametoindex(ifname);
	w->cb = cb;
	w->arg = arg;
	r = rtnl_watch_open(&w->rw, l, RTMGRP_IPV4_IFADDR | RTMGRP_LINK | RTMGRP_IPV4_ROUTE,
			    on_readable, w);
	if (r < 0) {
		free(w);
		errno = -r;
		return NULL;
	}
	return w;
}

void ifwatch_free(struct ifwatch *w)
{
	if (!w)
		return;
	rtnl_watch_close(&w->rw);
	free(w);
}
