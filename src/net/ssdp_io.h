/*
 * ssdp_io.h - SSDP on every LAN (UDA 1.1 section 1, and its Annex A for
 * IPv6): the multicast sockets (239.255.255.250 and ff02::c, ff05::c,
 * ff0e::c:1900), M-SEARCH answers (delayed by a random part of MX,
 * through loop timers, never blocking) with the LOCATION of the LAN the
 * search came in on, ssdp:byebye then ssdp:alive at start and on each
 * LAN whose addresses change, periodic re-announcement, byebye on clean
 * shutdown.
 */
#ifndef IGDD_SSDP_IO_H
#define IGDD_SSDP_IO_H

#include <stdint.h>

struct engine;
struct loop;
struct ssdp_io;

/*
 * Open the SSDP sockets, join the groups on every LAN of e (e->lans:
 * interface indexes and addresses; the HTTP port in e->http_port),
 * register with l, and start announcing (byebye for everything first,
 * then alive). An IPv6 socket that cannot be opened (IPv6 off) is
 * logged and done without. Returns NULL (and logs why) on failure.
 */
struct ssdp_io *ssdp_io_new(struct engine *e, struct loop *l);

/*
 * The LANs of the set lans (bit i: e->lans[i]) changed their addresses
 * or interface: join the groups again where needed, and announce them
 * again from the start (byebye, then alive with the new LOCATION: SSDP
 * has no "location changed", UDA 1.1 1.2.2).
 */
void ssdp_io_lans_changed(struct ssdp_io *s, uint32_t lans);

/*
 * The description documents changed (a reload): ssdp_io_byebye() sends
 * ssdp:byebye for every device and service on every LAN now (with the
 * CONFIGID.UPNP.ORG still in the engine), ssdp_io_announce() starts the
 * ssdp:alive cycle again (with the engine's new one). NULL: nothing.
 */
void ssdp_io_byebye(struct ssdp_io *s);
void ssdp_io_announce(struct ssdp_io *s);

/*
 * Send ssdp:byebye for everything, cancel the timers, close the sockets,
 * free. Call it before loop_free(l). NULL is a no-op.
 */
void ssdp_io_free(struct ssdp_io *s);

#endif
