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

/* A watch: its socket and the loop it is registered with. */
struct rtnl_watch {
	struct loop *loop;              /* NULL: not registered (tests) */
	struct mnl_socket *nl;
};

/*
 * Open rw: a non-blocking NETLINK_ROUTE socket subscribed to groups
 * (RTMGRP_*), registered with l to call cb(arg) when readable (l NULL:
 * not registered; tests). 0, or -errno with rw left empty.
 */
int rtnl_watch_open(struct rtnl_watch *rw, struct loop *l, unsigned groups, loop_fd_fn cb,
		    void *arg);
/* Leave the loop and close; an empty rw is a no-op. */
void rtnl_watch_close(struct rtnl_watch *rw);

/* One buffer of len bytes of notifications, as received. */
typedef void (*rtnl_batch_fn)(const void *buf, size_t len, void *arg);
/* The kernel dropped notifications (ENOBUFS): the watcher's view is stale. */
typedef void (*rtnl_lost_fn)(void *arg);

/*
 * Read the watch rw until it has nothing more (EAGAIN or another error),
 * each buffer (buf, bufsz: the watcher's) handed to batch(arg) in order;
 * where notifications were lost, lost(arg) is called at that point and
 * reading goes on. How a watcher recovers (read everything again now, or
 * once at the end) is its own.
 */
void rtnl_watch_read(const struct rtnl_watch *rw, void *buf, size_t bufsz, rtnl_batch_fn batch,
		     rtnl_lost_fn lost, void *arg);

#endif
