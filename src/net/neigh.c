/*
 * neigh.c - one neighbour table entry over rtnetlink (see neigh.h;
 * rtnetlink(7) RTM_GETNEIGH with struct ndmsg and NDA_DST, answered with
 * RTM_NEWNEIGH carrying NDA_LLADDR).
 */
#include "net/neigh.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define NEIGH_TIMEOUT_MS 200    /* the kernel answers from its table at once */

/* States with a link-layer address one can trust (linux/neighbour.h). */
#define NEIGH_VALID (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)

struct neigh_answer {
	uint8_t *out;
	int len;
};

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int neigh_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **lladdr = data;

	if (mnl_attr_get_type(a) == NDA_LLADDR)
		*lladdr = a;
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_answer *ans = data;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *ll = NULL;
	size_t n;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
		return MNL_CB_OK;
	if (!(nd->ndm_state & NEIGH_VALID))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*nd), neigh_attr, &ll);
	if (!ll)
		return MNL_CB_OK;
	n = mnl_attr_get_payload_len(ll);
	if (n == 0 || n > NEIGH_LLADDR_MAX || all_zero(mnl_attr_get_payload(ll), n))
		return MNL_CB_OK;
	memcpy(ans->out, mnl_attr_get_payload(ll), n);
	ans->len = (int)n;
	return MNL_CB_OK;
}

int neigh_lladdr(unsigned ifindex, const struct ipaddr *a, uint8_t out[NEIGH_LLADDR_MAX])
{
	char buf[1024];
	struct timeval tv = { 0, NEIGH_TIMEOUT_MS * 1000 };
	struct neigh_answer ans = { out, 0 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int r = 0;

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)a->family;
	nd->ndm_ifindex = (int)ifindex;
	mnl_attr_put(nlh, NDA_DST, a->family == AF_INET ? 4 : 16, &a->u);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0) {
		r = -errno;
		goto out;
	}
	/* No entry: the kernel answers with an error (ENOENT). */
	if (mnl_cb_run(buf, (size_t)n, seq, portid, neigh_cb, &ans) < 0) {
		r = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	r = ans.len;
out:
	mnl_socket_close(nl);
	return r;
}

bool neigh_same_host(void *arg, unsigned ifindex, const struct ipaddr *a, const struct ipaddr *b)
{
	uint8_t la[NEIGH_LLADDR_MAX], lb[NEIGH_LLADDR_MAX];
	int na, nb;

	(void)arg;
	na = neigh_lladdr(ifindex, a, la);
	nb = neigh_lladdr(ifindex, b, lb);
	return na > 0 && na == nb && memcmp(la, lb, (size_t)na) == 0;
}
