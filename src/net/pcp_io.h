/*
 * pcp_io.h - NAT-PMP (RFC 6886) and PCP (RFC 6887) on the LANs: one UDP
 * socket per LAN on its IPv4 address, port 5351, and one IPv6 socket on
 * port 5351 answering on the LANs' interfaces only (PCP over IPv6,
 * RFC 6887 8.1: a client asks its default router, whose link-local
 * address it knows from the Router Advertisement); the answers come from
 * svc/pcp.c. Also the announcements (RFC 6886 3.2.1, RFC 6887 14.1.1):
 * to 224.0.0.1:5350 and ff02::1:5350 on each LAN, at start, when the
 * external address changes or the WAN connection comes back, and on a
 * LAN whose addresses changed.
 */
#ifndef IGDD_PCP_IO_H
#define IGDD_PCP_IO_H

#include <stdint.h>

struct engine;
struct loop;
struct pcp_io;

/*
 * Open the sockets for e's LANs (e->lans), register them with l and
 * schedule the start-up announcements. Subscribes to the engine's
 * changes (engine_subscribe()) to follow the external address. NULL
 * (logged) on failure.
 */
struct pcp_io *pcp_io_new(struct engine *e, struct loop *l);

/* The LANs of the set lans (bit i) changed: bind their IPv4 sockets to
 * their addresses of now, and announce on them (a new epoch). */
void pcp_io_lans_changed(struct pcp_io *p, uint32_t lans);

/* Unsubscribe, cancel timers, close, free. NULL: no-op. */
void pcp_io_free(struct pcp_io *p);

#endif
