/*
 * rtnl.c - rtnetlink sockets (see rtnl.h).
 */
#include "net/rtnl.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

int rtnl_watch_open(struct rtnl_watch *rw, struct loop *l, unsigned groups, loop_fd_fn cb,
		    void *arg)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int r = 0;

	rw->loop = NULL;
	rw->nl = NULL;
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0)
		r = -errno;
	else if (l)
		r = loop_fd_add(l, mnl_socket_get_fd(nl), EPOLLIN, cb, arg);
	if (r < 0) {
		mnl_socket_close(nl);
		return r;
	}
	rw->loop = l;
	rw->nl = nl;
	return 0;
}

void rtnl_watch_close(struct rtnl_watch *rw)
{
	if (!rw->nl)
		return;
	if (rw->loop)
		loop_fd_del(rw->loop, mnl_socket_get_fd(rw->nl));
	mnl_socket_close(rw->nl);
	rw->nl = NULL;
	rw->loop = NULL;
}

void rtnl_watch_read(const struct rtnl_watch *rw, void *buf, size_t bufsz, rtnl_batch_fn batch,
		     rtnl_lost_fn lost, void *arg)
{
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(rw->nl, buf, bufsz);
		if (n < 0) {
			if (errno == ENOBUFS) {
				lost(arg);
				continue;
			}
			return;                         /* EAGAIN: all read */
		}
		batch(buf, (size_t)n, arg);
	}
}
