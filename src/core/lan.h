/*
 * lan.h - one LAN of the gateway as igdd sees it: a `lan_interface` of
 * the configuration, its index, and the addresses it has now (IPv4 and
 * IPv6, followed over rtnetlink by net/lanwatch.c), with the pure
 * decisions that depend on them:
 *
 *   - whether a peer is on this LAN (a request is judged by the LAN it
 *     arrived on: WANIPConnection:2 section 2.3 "IGD MUST reject UPnP
 *     requests from the WAN interfaces", and a host of one LAN is no
 *     host of another);
 *   - whether an address is a host of the LAN (not the gateway, not the
 *     IPv4 subnet's network or broadcast address);
 *   - which of the LAN's addresses a LOCATION URL names for a searcher
 *     (UDA 1.1 Annex A: IPv6 literals in brackets; the address chosen
 *     so that the client's own source address for it is the one it will
 *     name as its InternalClient, see lan_location()).
 *
 * IPv4: the LAN is the subnet of its primary address (the first one the
 * kernel lists without IFA_F_SECONDARY), as before rtnetlink. IPv6: the
 * link (link-local peers with the LAN's interface index as scope) and
 * the on-link prefixes of its ULA and global addresses (prefix length as
 * configured on the address: RFC 7084 L-2, /64 usually; OpenWrt's
 * ip6assign may give /60). Tentative addresses (DAD not done) and
 * addresses whose DAD failed do not count; deprecated ones count for
 * membership but are not chosen for LOCATION.
 *
 * The WAN's IPv6 addresses are kept too (struct lan_wan6): an address in
 * a WAN on-link prefix, or one of the WAN's own, is never a LAN host,
 * whatever a LAN prefix says (nothing is answered on the WAN side).
 */
#ifndef IGDD_CORE_LAN_H
#define IGDD_CORE_LAN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"
#include "util/limits.h"
#include "util/str.h"

/* Address flags (the kernel's IFA_F_* values, linux/if_addr.h). */
#define LAN_F_SECONDARY   0x01u
#define LAN_F_DADFAILED   0x08u
#define LAN_F_DEPRECATED  0x20u
#define LAN_F_TENTATIVE   0x40u

struct lan_addr {
	struct ipaddr a;                /* scope: the interface index for link-local */
	uint8_t plen;
	uint32_t flags;                 /* LAN_F_* */
};

struct lan {
	unsigned index;                 /* which lan_interface (0..IGDD_CONF_MAX_LANS-1) */
	char name[IF_NAMESIZE];
	unsigned ifindex;               /* 0: the interface does not exist now */
	struct in_addr addr;            /* the primary IPv4 address (0.0.0.0: none) */
	struct in_addr mask;            /* its netmask (0.0.0.0: no IPv4 LAN) */
	size_t naddrs;
	struct lan_addr addrs[IGDD_LAN_MAX_ADDRS];      /* every address, both families */
	uint32_t generation;            /* bumped on every change */
};

struct lan_wan6 {
	size_t naddrs;
	struct lan_addr addrs[IGDD_LAN_MAX_ADDRS];
};

/* One address message (RTM_NEWADDR / RTM_DELADDR) for an interface. */
struct lan_addr_event {
	bool add;                       /* false: deleted */
	unsigned ifindex;
	struct lan_addr addr;
};

void lan_init(struct lan *l, unsigned index, const char *name);
/*
 * "ADDR/PLEN" (IPv4 or IPv6; no "/PLEN": the whole address) as an event
 * for interface ifindex, a link-local address with it as scope: what an
 * RTM_NEWADDR (add) or RTM_DELADDR says, for tools and tests. 0 or
 * -EINVAL.
 */
int lan_event_parse(struct str text, unsigned ifindex, bool add, uint32_t flags,
		    struct lan_addr_event *ret);
/* The interface's index changed (created again, deleted: 0): its
 * addresses are forgotten. true when anything changed. */
bool lan_set_ifindex(struct lan *l, unsigned ifindex);
/*
 * Apply an address event of l's interface (callers match ifindex).
 * Tentative or DAD-failed additions count as deletions. Returns true
 * when what igdd uses changed (an address, its prefix or its flags);
 * then generation is bumped. At most IGDD_LAN_MAX_ADDRS addresses are
 * kept: more are ignored (false).
 */
bool lan_apply(struct lan *l, const struct lan_addr_event *ev);
/* The same for the WAN's IPv6 addresses (IPv4 events are ignored). */
bool lan_wan6_apply(struct lan_wan6 *w, const struct lan_addr_event *ev);
/* Forget every address (before the kernel's whole list is read again). */
void lan_clear(struct lan *l);
/* The two lists hold the same addresses, prefixes and flags, in order. */
bool lan_addrs_equal(const struct lan_addr *a, size_t na, const struct lan_addr *b, size_t nb);

/* Whether the LAN has a usable IPv4 address / an IPv6 link-local one. */
bool lan_has_v4(const struct lan *l);
bool lan_has_v6(const struct lan *l);

/* a is one of the gateway's own addresses on l. */
bool lan_is_own(const struct lan *l, const struct ipaddr *a);
/* a is in a prefix of the WAN (or one of its addresses). */
bool lan_wan6_has(const struct lan_wan6 *w, const struct ipaddr *a);

/*
 * a is on l: IPv4 inside the primary address's subnet (the gateway's
 * own address included); IPv6 link-local with scope l->ifindex, or
 * inside one of l's ULA / global on-link prefixes and not in a WAN
 * prefix (w may be NULL). Never the unspecified, loopback or multicast
 * address.
 */
bool lan_contains(const struct lan *l, const struct lan_wan6 *w, const struct ipaddr *a);
/* a may be answered on l: lan_contains(), and for IPv4 not the subnet's
 * network or broadcast address (/30 and shorter); the gateway's own
 * address is fine (a control point on the gateway itself). */
bool lan_peer_ok(const struct lan *l, const struct lan_wan6 *w, const struct ipaddr *a);
/*
 * a is a host of l: lan_contains(), not the gateway's own address on
 * l, and for IPv4 not the subnet's network or broadcast address (for
 * /30 and shorter). The IPv4 loopback LAN (lo, the sim backend on a
 * developer's machine) is the exception: its own address counts.
 */
bool lan_host_ok(const struct lan *l, const struct lan_wan6 *w, const struct ipaddr *a);

/*
 * The address of l a LOCATION (or any URL) for searcher names, of the
 * searcher's family: IPv4 the primary address. IPv6, so that the
 * client's source address for it (RFC 6724) is the address it will name
 * as its InternalClient (a GUA for IPv6 pinholes): a global address
 * whose prefix holds the searcher's; else, for any searcher, the global
 * (non-ULA) address, then a ULA (the one holding the searcher first),
 * not deprecated ones while others exist; the link-local address only
 * when l has nothing else. false when l has no address of that family.
 */
bool lan_location(const struct lan *l, const struct ipaddr *searcher, struct ipaddr *ret);
/* The LAN's IPv6 link-local address (scope set); false when none. */
bool lan_linklocal(const struct lan *l, struct ipaddr *ret);
/* The ULA or global address lan_location() prefers for a link-local
 * searcher (the source of ff05::c announcements); false when none. */
bool lan_global(const struct lan *l, struct ipaddr *ret);

#endif
