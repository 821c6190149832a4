/*
 * ssdp_io.h - SSDP on the LAN interface (UDA 1.1 section 1): the
 * multicast socket, M-SEARCH answers (delayed by a random part of MX,
 * through loop timers, never blocking), ssdp:byebye then ssdp:alive at
 * start, periodic re-announcement, byebye on clean shutdown.
 */
#ifndef IGDD_SSDP_IO_H
#define IGDD_SSDP_IO_H

struct engine;
struct loop;
struct ssdp_io;

/*
 * Open the SSDP socket(s) on interface ifname (whose IPv4 address and
 * HTTP port are in e->lan_addr / e->http_port), register them with l,
 * and start announcing (byebye for everything first, then alive).
 * Returns NULL (and logs why) on failure.
 */
struct ssdp_io *ssdp_io_new(struct engine *e, struct loop *l, const char *ifname);

/*
 * Send ssdp:byebye for everything, cancel the timers, close the sockets,
 * free. Call it before loop_free(l). NULL is a no-op.
 */
void ssdp_io_free(struct ssdp_io *s);

#endif
