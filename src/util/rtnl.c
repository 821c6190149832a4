/*
 * rtnl.c - an rtnetlink request (see rtnl.h).
 */
#include "util/rtnl.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

int rtnl_request(struct nlmsghdr *nlh, char *buf, size_t bufsz, unsigned timeout_ms,
		 mnl_cb_t cb, void *data)
{
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	unsigned seq = (unsigned)time(NULL), portid;
	struct mnl_socket *nl;
	ssize_t n;
	int r = 0;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = seq;   /* buf may hold nlh: the answers overwrite it */
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, bufsz);
		if (n < 0) {
			r = -errno;
			break;
		}
		n = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (n < 0)
			r = errno ? -errno : -EIO;
	} while (dump && n > MNL_CB_STOP);
out:
	mnl_socket_close(nl);
	return r;
}
