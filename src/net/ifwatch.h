/*
 * ifwatch.h - following one interface (the WAN side) at run time over
 * rtnetlink (libmnl; groups RTMGRP_IPV4_IFADDR, RTMGRP_LINK and
 * RTMGRP_IPV4_ROUTE): its IPv4 addresses coming and going (a DHCP
 * renewal, a PPP reconnect), its link changing, and the IPv4 default
 * route changing (igdd follows it when wan_interface is not set). A non-blocking socket in the loop; the callback says
 * only what kind of thing changed, the caller reads the new state
 * (WANIPConnection:2 2.3.13 ExternalIPAddress is evented).
 */
#ifndef IGDD_IFWATCH_H
#define IGDD_IFWATCH_H

#include <stddef.h>

struct loop;
struct ifwatch;

enum ifwatch_event {
	IFWATCH_ADDR = 1u << 0,         /* an IPv4 address of the interface */
	IFWATCH_LINK = 1u << 1,         /* the link (flags, operstate, created, deleted) */
	IFWATCH_ROUTE = 1u << 2,        /* an IPv4 default route of the main table (any interface) */
};

/* events: a set of enum ifwatch_event; both after lost notifications. */
typedef void (*ifwatch_fn)(struct ifwatch *w, unsigned events, void *arg);

/* Watch ifname (which need not exist yet). NULL and errno on failure. */
struct ifwatch *ifwatch_new(struct loop *l, const char *ifname, ifwatch_fn cb, void *arg);
/* Leaves the loop. NULL is a no-op. */
void ifwatch_free(struct ifwatch *w);

/* For tests: the events in one buffer of rtnetlink messages (len bytes)
 * that concern the watched interface. */
unsigned ifwatch_parse(struct ifwatch *w, const void *buf, size_t len);

#endif
