/*
 * pcp_io.h - NAT-PMP (RFC 6886) and PCP (RFC 6887) on the LAN: one UDP
 * socket on the LAN address, port 5351, in the loop; the answers come
 * from svc/pcp.c. Also the announcements to 224.0.0.1:5350 (RFC 6886
 * 3.2.1, RFC 6887 14.1.1) at start and whenever the external address
 * changes or the WAN connection comes back.
 */
#ifndef IGDD_PCP_IO_H
#define IGDD_PCP_IO_H

struct engine;
struct loop;
struct pcp_io;

/*
 * Open the socket on interface ifname (address e->lan_addr), register it
 * with l and schedule the start-up announcements. Chains itself into the
 * engine's change hook (e->on_change, set before this call) to follow the
 * external address. NULL (logged) on failure.
 */
struct pcp_io *pcp_io_new(struct engine *e, struct loop *l, const char *ifname);

/* Restore the change hook, cancel timers, close, free. NULL: no-op. */
void pcp_io_free(struct pcp_io *p);

#endif
