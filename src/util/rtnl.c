/*
 * rtnl.c - an rtnetlink request (see rtnl.h), through util/nl.h's
 * request/answer loop on a socket of its own.
 */
#include "util/rtnl.h"

#include "util/nl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int rtnl_request(struct nlmsghdr *nlh, char *buf, size_t bufsz, unsigned timeout_ms,
		 mnl_cb_t cb, void *data)
{
	struct nl_conn c;
	int r = nl_open(&c, NETLINK_ROUTE, bufsz);

	if (r < 0)
		return r;
	r = nl_set_timeout(&c, timeout_ms);
	if (r == 0) {
		/* The request is in the caller's buf; the answers are read into
		 * the socket's own buffer of the same size. */
		nlh->nlmsg_seq = ++c.seq;
		(void)buf;
		r = nl_exchange(&c, nlh, cb, data);
	}
	nl_close(&c);
	return r;
}
