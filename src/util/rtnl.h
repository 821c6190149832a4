/*
 * rtnl.h - one question to the kernel over rtnetlink (rtnetlink(7),
 * through libmnl): a request on a NETLINK_ROUTE socket of its own, which
 * the kernel answers at once from its own tables, the wait bounded all
 * the same. Every one-off rtnetlink request of igdd goes through it: an
 * address dump (net/lanwatch.c, and the privileged helper's LAN prefixes:
 * priv_read_lans()), a neighbour entry (net/neigh.c), one link
 * (util/iflink.c). It runs util/nl.h's request/answer loop, which the
 * helper's long-lived netlink clients (priv/localaddr.c's local routes,
 * nf_tables, sock_diag) use on sockets they keep. The sockets that watch
 * for changes in the loop are net/rtnl.h's.
 */
#ifndef IGDD_UTIL_RTNL_H
#define IGDD_UTIL_RTNL_H

#include <libmnl/libmnl.h>
#include <stddef.h>

/*
 * Send the request nlh (built in buf) on a socket of its own and run
 * cb(data) over the answers, read into a buffer of bufsz bytes: for a
 * dump (NLM_F_DUMP) until the kernel's NLMSG_DONE, otherwise the one
 * answer. Each wait is at most
 * timeout_ms. 0, or -errno (the kernel's error for the request included,
 * e.g. -ENOENT for an entry it does not have, -ENODEV for a link).
 */
int rtnl_request(struct nlmsghdr *nlh, char *buf, size_t bufsz, unsigned timeout_ms,
		 mnl_cb_t cb, void *data);

#endif
