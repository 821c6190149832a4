/*
 * rtnl.h - the two kinds of rtnetlink socket igdd uses (rtnetlink(7),
 * through libmnl): a watch (non-blocking, subscribed to multicast groups,
 * read by the loop: net/ifwatch.c, net/lanwatch.c), here, and a request
 * (one question to the kernel, which answers at once from its own tables,
 * the wait bounded all the same: an address dump, a neighbour entry, one
 * link), util/rtnl.h's rtnl_request(), below the loop so that util/iflink
 * uses it too.
 */
#ifndef IGDD_RTNL_H
#define IGDD_RTNL_H

#include <libmnl/libmnl.h>
#include <stddef.h>

#include "loop/loop.h"
#include "util/rtnl.h"

/*
 * A non-blocking NETLINK_ROUTE socket subscribed to groups (RTMGRP_*),
 * registered with l to call cb(arg) when readable (l NULL: not
 * registered; tests). NULL and errno on failure.
 */
struct mnl_socket *rtnl_watch_open(struct loop *l, unsigned groups, loop_fd_fn cb, void *arg);
/* Leave l (the loop it was registered with, or NULL) and close. NULL is a no-op. */
void rtnl_watch_close(struct loop *l, struct mnl_socket *nl);

#endif
