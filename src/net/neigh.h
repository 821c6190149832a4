/*
 * neigh.h - the kernel's neighbour table (ARP and NDP, RFC 4861 7.3):
 * the link-layer address it holds for an address on an interface,
 * asked with one RTM_GETNEIGH request (rtnetlink(7); a single entry,
 * Linux 5.0 and later; no privilege needed). The kernel answers at
 * once from its table: nothing is sent on the network, so this never
 * waits for a peer.
 */
#ifndef IGDD_NEIGH_H
#define IGDD_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

#define NEIGH_LLADDR_MAX 32

/*
 * The link-layer address of a on interface ifindex, when the entry has
 * one (REACHABLE, STALE, DELAY, PROBE, PERMANENT; not INCOMPLETE,
 * FAILED or NOARP): its length, 0 when there is none, or -errno.
 */
int neigh_lladdr(unsigned ifindex, const struct ipaddr *a, uint8_t out[NEIGH_LLADDR_MAX]);

/* An engine_same_host_fn (engine.h): a and b have entries with the same
 * link-layer address on ifindex. arg is unused. */
bool neigh_same_host(void *arg, unsigned ifindex, const struct ipaddr *a, const struct ipaddr *b);

#endif
