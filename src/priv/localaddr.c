/*
 * localaddr.c - the kernel's local IPv4 routes (see localaddr.h), over
 * rtnetlink (rtnetlink(7)): an RTM_GETROUTE dump of table local, type
 * local (filtered by the kernel with NETLINK_GET_STRICT_CHK, and here
 * again for kernels without it), and a second socket in the groups
 * RTMGRP_IPV4_IFADDR and RTMGRP_IPV4_ROUTE that says when to read again.
 */
#include "priv/localaddr.h"

#include "util/nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOCALADDR_BUF (32u * 1024u)
#define LOCALADDR_MAX 4096              /* local routes kept */

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

struct local_route {
	uint32_t net;                   /* host order, masked */
	uint32_t mask;
	unsigned ifindex;
};

struct localaddr {
	struct nl_conn c;               /* the dumps */
	struct mnl_socket *watch;       /* the change notifications */
	char *buf;                      /* notifications are read here */
	struct local_route *v;
	size_t n;
	bool dirty;                     /* read the table at the next refresh */
};

void localaddr_free(struct localaddr *l)
{
	if (!l)
		return;
	if (l->watch)
		mnl_socket_close(l->watch);
	free(l->buf);
	free(l->v);
	nl_client_free(l);
}

/* nl_client_new(): the connection first. */
_Static_assert(offsetof(struct localaddr, c) == 0, "struct localaddr starts with its nl_conn");

struct localaddr *localaddr_new(void)
{
	struct localaddr *l = nl_client_new(sizeof(*l), NETLINK_ROUTE, LOCALADDR_BUF);
	int one = 1, e;

	if (!l)
		return NULL;
	l->buf = malloc(LOCALADDR_BUF);
	l->v = calloc(LOCALADDR_MAX, sizeof(*l->v));
	l->watch = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!l->buf || !l->v || !l->watch ||
	    mnl_socket_bind(l->watch, RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE,
			    MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* Best effort: without it the kernel dumps every table, filtered here. */
	(void)mnl_socket_setsockopt(l->c.nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	l->dirty = true;
	e = localaddr_refresh(l);
	if (e < 0) {
		errno = -e;
		goto fail;
	}
	return l;
fail:
	e = errno ? errno : ENOMEM;
	localaddr_free(l);
	errno = e;
	return NULL;
}

/* The table a route message is about. */
static unsigned route_table(const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	unsigned table = rt->rtm_table;

	mnl_attr_for_each(a, nlh, sizeof(*rt))
		if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_get_payload_len(a) >= 4)
			table = mnl_attr_get_u32(a);
	return table;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct localaddr *l = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct local_route r = { 0, 0, 0 };
	bool have = false;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rt) ||
	    rt->rtm_family != AF_INET || rt->rtm_type != RTN_LOCAL ||
	    route_table(nlh) != RT_TABLE_LOCAL || rt->rtm_dst_len > 32)
		return MNL_CB_OK;
	r.mask = rt->rtm_dst_len ? UINT32_MAX << (32 - rt->rtm_dst_len) : 0;
	mnl_attr_for_each(a, nlh, sizeof(*rt)) {
		if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == 4) {
			r.net = ntohl(mnl_attr_get_u32(a)) & r.mask;
			have = true;
		} else if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) >= 4) {
			r.ifindex = mnl_attr_get_u32(a);
		}
	}
	if (have && l->n < LOCALADDR_MAX)
		l->v[l->n++] = r;
	return MNL_CB_OK;
}

/* Drain the watch socket: did anything that matters change? */
static bool changed(struct localaddr *l)
{
	bool any = false;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(l->watch, l->buf, LOCALADDR_BUF);
		const struct nlmsghdr *nlh;
		int len;

		if (n < 0)
			return any || errno == ENOBUFS;         /* ENOBUFS: some were lost */
		len = (int)n;
		for (nlh = (const void *)l->buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			bool addr = nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR;
			bool route = (nlh->nlmsg_type == RTM_NEWROUTE ||
				      nlh->nlmsg_type == RTM_DELROUTE) &&
				     mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct rtmsg) &&
				     route_table(nlh) == RT_TABLE_LOCAL;

			any = any || addr || route;
		}
	}
}

int localaddr_refresh(struct localaddr *l)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rt;
	int r;

	if (changed(l))
		l->dirty = true;
	if (!l->dirty)
		return 0;
	nlh = nl_request(&l->c, RTM_GETROUTE, NLM_F_DUMP);
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_LOCAL;
	rt->rtm_type = RTN_LOCAL;
	l->n = 0;
	r = nl_exchange(&l->c, nlh, route_cb, l);
	/* A failed read leaves the copy incomplete: the caller refuses until
	 * a read succeeds. */
	l->dirty = r < 0;
	return r;
}

bool localaddr_is_local(const struct localaddr *l, struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	size_t i;

	if ((h >> 24) == 127)
		return true;            /* loopback, whatever the table says */
	for (i = 0; i < l->n; i++)
		if ((h & l->v[i].mask) == l->v[i].net)
			return true;
	return false;
}

size_t localaddr_on(const struct localaddr *l, unsigned ifindex, struct in_addr *out, size_t max)
{
	size_t i, k = 0;

	for (i = 0; i < l->n && k < max; i++)
		if (l->v[i].ifindex == ifindex && l->v[i].mask == UINT32_MAX)
			out[k++].s_addr = htonl(l->v[i].net);
	return k;
}
