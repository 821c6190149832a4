/*
 * rtnl.c - rtnetlink sockets (see rtnl.h).
 */
#include "net/rtnl.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

struct mnl_socket *rtnl_watch_open(struct loop *l, unsigned groups, loop_fd_fn cb, void *arg)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int r = 0;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0)
		r = errno;
	else if (l)
		r = -loop_fd_add(l, mnl_socket_get_fd(nl), EPOLLIN, cb, arg);
	if (r == 0)
		return nl;
	mnl_socket_close(nl);
	errno = r;
	return NULL;
}

void rtnl_watch_close(struct loop *l, struct mnl_socket *nl)
{
	if (!nl)
		return;
	if (l)
		loop_fd_del(l, mnl_socket_get_fd(nl));
	mnl_socket_close(nl);
}
