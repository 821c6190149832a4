/*
 * neigh.c - one neighbour table entry over rtnetlink (see neigh.h;
 * rtnetlink(7) RTM_GETNEIGH with struct ndmsg and NDA_DST, answered with
 * RTM_NEWNEIGH carrying NDA_LLADDR).
 */
#include "net/neigh.h"

#include "util/rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

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
	struct neigh_answer ans = { out, 0 };
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	int r;

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)a->family;
	nd->ndm_ifindex = (int)ifindex;
	mnl_attr_put(nlh, NDA_DST, a->family == AF_INET ? 4 : 16, &a->u);
	r = rtnl_request(nlh, buf, sizeof(buf), NEIGH_TIMEOUT_MS, neigh_cb, &ans);
	/* No entry: the kernel answers with an error (ENOENT). */
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : ans.len;
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
