/*
 * sockdiag.c - the gateway's own bound ports over NETLINK_SOCK_DIAG
 * (see sockdiag.h, linux/inet_diag.h): for one port, an exact
 * SOCK_DIAG_BY_FAMILY request, which the kernel answers with its own
 * socket lookup (inet_diag_find_one_icsk(), udp_dump_one()); for every
 * port, dumps of TCP in state LISTEN and UDP in state CLOSE
 * (unconnected), IPv4 and IPv6, filtered here the way the lookup
 * decides.
 */
#include "util/sockdiag.h"

#include "util/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SOCKDIAG_BUF (32u * 1024u)

/* The kernel's socket states (include/net/tcp_states.h). */
#define STATE_LISTEN 10
#define STATE_CLOSE 7

struct sockdiag {
	struct nl_conn c;
};

/* nl_client_new(): the connection first. */
_Static_assert(offsetof(struct sockdiag, c) == 0, "struct sockdiag starts with its nl_conn");

struct sockdiag *sockdiag_new(void)
{
	return nl_client_new(sizeof(struct sockdiag), NETLINK_SOCK_DIAG, SOCKDIAG_BUF);
}

void sockdiag_free(struct sockdiag *d)
{
	nl_client_free(d);
}

/* What one dump collects. */
struct walk {
	const struct in_addr *addrs;
	size_t n;
	unsigned ifindex;               /* the WAN device (0: none) */
	struct portset *set;            /* every port held, or NULL */
	bool found;                     /* some socket holds a port */
};

static bool addr_counts(const struct walk *w, uint32_t a)
{
	size_t i;

	if (a == 0)
		return true;
	for (i = 0; i < w->n; i++)
		if (w->addrs[i].s_addr == a)
			return true;
	return false;
}

/* A socket of the dump: does it hold its port on the WAN side? */
static bool holds(const struct walk *w, const struct nlmsghdr *nlh)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const uint32_t *a = m->id.idiag_src;
	struct nlattr *at;
	bool v6only = false;

	/* Bound to a device (SO_BINDTODEVICE): only the WAN device's. */
	if (m->id.idiag_if != 0 && m->id.idiag_if != w->ifindex)
		return false;
	if (m->idiag_family == AF_INET)
		return addr_counts(w, a[0]);
	if (m->idiag_family != AF_INET6)
		return false;
	mnl_attr_for_each(at, nlh, sizeof(*m))
		if (mnl_attr_get_type(at) == INET_DIAG_SKV6ONLY &&
		    mnl_attr_get_payload_len(at) >= 1)
			v6only = *(const uint8_t *)mnl_attr_get_payload(at) != 0;
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0)
		return !v6only;                         /* :: takes IPv4 too */
	if (a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff))
		return addr_counts(w, a[3]);            /* ::ffff:a.b.c.d */
	return false;
}

static int sock_cb(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;
	const struct inet_diag_msg *m;
	uint16_t port;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	port = ntohs(m->id.idiag_sport);
	if (port == 0 || !holds(w, nlh))
		return MNL_CB_OK;
	w->found = true;
	if (w->set)
		portset_add(w->set, port);
	return MNL_CB_OK;
}

/* One dump of family's sockets of proto. */
static int dump(struct sockdiag *d, uint8_t family, uint8_t proto, struct walk *w)
{
	struct nlmsghdr *nlh = nl_request(&d->c, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
	struct inet_diag_req_v2 *rq = mnl_nlmsg_put_extra_header(nlh, sizeof(*rq));
	int r;

	rq->sdiag_family = family;
	rq->sdiag_protocol = proto;
	rq->idiag_states = 1u << (proto == IPPROTO_TCP ? STATE_LISTEN : STATE_CLOSE);
	r = nl_exchange(&d->c, nlh, sock_cb, w);
	return r == -ENOENT ? 0 : r;            /* no such protocol module */
}

static int found_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY)
		*(bool *)data = true;
	return MNL_CB_OK;
}

/*
 * The kernel's own socket lookup, as for a packet arriving on device
 * ifindex from a remote host (0.0.0.0:0, so that no connected socket
 * matches) for addr:port: an exact request (no dump), which costs the
 * kernel a hash lookup instead of a walk of its socket tables. It finds
 * what such a packet would reach: a socket bound to addr or the wildcard,
 * an IPv6 one bound to :: without IPV6_V6ONLY or to ::ffff:addr, not one
 * bound to another device. 1 found, 0 not, -errno.
 */
static int lookup(struct sockdiag *d, uint8_t proto, struct in_addr addr, uint16_t port,
		  unsigned ifindex)
{
	struct nlmsghdr *nlh = nl_request(&d->c, SOCK_DIAG_BY_FAMILY, NLM_F_ACK);
	struct inet_diag_req_v2 *rq = mnl_nlmsg_put_extra_header(nlh, sizeof(*rq));
	bool found = false;
	int r;

	rq->sdiag_family = AF_INET;
	rq->sdiag_protocol = proto;
	rq->id.idiag_if = ifindex;
	rq->id.idiag_cookie[0] = rq->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	/* TCP reads the local end from src; UDP, "for historical reasons"
	 * (udp_diag.c), from dst. */
	if (proto == IPPROTO_TCP) {
		rq->id.idiag_src[0] = addr.s_addr;
		rq->id.idiag_sport = htons(port);
	} else {
		rq->id.idiag_dst[0] = addr.s_addr;
		rq->id.idiag_dport = htons(port);
	}
	r = nl_exchange(&d->c, nlh, found_cb, &found);
	if (r == -ENOENT)
		return 0;                       /* no socket */
	return r < 0 ? r : found;
}

int sockdiag_bound(struct sockdiag *d, uint8_t proto, uint16_t port, const struct in_addr *addrs,
		   size_t n, unsigned ifindex)
{
	struct in_addr any = { 0 };
	size_t i;
	int r = 0;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -EINVAL;
	if (port == 0)
		return 0;
	/* A lookup for an address finds the wildcard sockets too; without
	 * one, only they can be found. */
	for (i = 0; i < (n ? n : 1) && r == 0; i++)
		r = lookup(d, proto, n ? addrs[i] : any, port, ifindex);
	return r;
}

int sockdiag_ports(struct sockdiag *d, uint8_t proto, const struct in_addr *addrs, size_t n,
		   unsigned ifindex, struct portset *ret)
{
	struct walk w = { addrs, n, ifindex, ret, false };
	int r;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -EINVAL;
	portset_clear(ret);
	r = dump(d, AF_INET, proto, &w);
	return r < 0 ? r : dump(d, AF_INET6, proto, &w);
}

int sockdiag_held(struct sockdiag *d, const struct in_addr *addrs, size_t n, unsigned ifindex,
		  struct portset *udp_seen, struct portset *tcp, struct portset *udp)
{
	size_t i;
	int r;

	if ((r = sockdiag_ports(d, IPPROTO_TCP, addrs, n, ifindex, tcp)) < 0 ||
	    (r = sockdiag_ports(d, IPPROTO_UDP, addrs, n, ifindex, udp)) < 0)
		return r;
	for (i = 0; i < sizeof(udp->w) / sizeof(udp->w[0]); i++) {
		uint64_t now = udp->w[i];

		udp->w[i] = now & udp_seen->w[i];
		udp_seen->w[i] = now;
	}
	return 0;
}
