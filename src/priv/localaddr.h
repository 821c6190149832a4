/*
 * localaddr.h - the gateway's own IPv4 addresses as the kernel routes
 * them: every RTN_LOCAL route of the local routing table (an address on
 * any interface, the whole of 127.0.0.0/8, an AnyIP prefix routed
 * `local`). This is what `fib daddr type local` in table ip igdd's
 * prerouting matches, and what a DNAT must never lead to: a mapping to
 * one of these would hand a LAN host's request to the router itself.
 *
 * The copy follows the kernel: an rtnetlink socket subscribed to
 * address and route changes is drained before each use, and any change
 * (or lost notifications) makes the next use read the table again.
 */
#ifndef IGDD_LOCALADDR_H
#define IGDD_LOCALADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct localaddr;

/* Open the sockets and read the table. NULL with errno set. */
struct localaddr *localaddr_new(void);
void localaddr_free(struct localaddr *l);

/* Read the table again if the kernel announced a change. 0, or -errno:
 * then the copy may be incomplete until a later call succeeds, and the
 * caller must refuse what depends on it. */
int localaddr_refresh(struct localaddr *l);

/* Whether a is one of the gateway's own addresses (as last read). */
bool localaddr_is_local(const struct localaddr *l, struct in_addr a);

/* The addresses of the local host routes (/32) through interface
 * ifindex, at most max into out: the interface's own addresses. */
size_t localaddr_on(const struct localaddr *l, unsigned ifindex, struct in_addr *out, size_t max);

#endif
