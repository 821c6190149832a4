/*
 * sockdiag.h - which ports the gateway's own sockets hold on its WAN
 * side, read from the kernel with NETLINK_SOCK_DIAG (inet_diag dumps,
 * linux/inet_diag.h; no /proc text). Listing sockets needs no privilege.
 *
 * A socket holds a port when a packet from the WAN for it would reach
 * it: a TCP listener or an unconnected UDP socket bound to the wildcard
 * address (0.0.0.0, or :: without IPV6_V6ONLY, which takes IPv4 too) or
 * to one of the addresses the caller names (the WAN side's; an
 * IPv4-mapped IPv6 address counts as its IPv4 address), and bound to no
 * device or to the WAN device (ifindex). A socket bound to another
 * address (the LAN address, the loopback) or another device is no WAN
 * service; a connected UDP socket is a client's flow, not a service.
 *
 * Every answer is read from the kernel when asked. One port: the
 * kernel's own socket lookup for such a packet (an exact request, a hash
 * lookup in the kernel, about as cheap as a system call); every port: a
 * dump of the listening TCP and unconnected UDP sockets.
 */
#ifndef IGDD_SOCKDIAG_H
#define IGDD_SOCKDIAG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "util/portset.h"

struct sockdiag;

/* An open NETLINK_SOCK_DIAG socket and its buffer; NULL with errno set. */
struct sockdiag *sockdiag_new(void);
void sockdiag_free(struct sockdiag *d);

/*
 * Does a socket of proto (IPPROTO_TCP or IPPROTO_UDP) hold port, on the
 * wildcard or one of the n addresses of addrs (network order), for the
 * WAN device ifindex (0: sockets bound to a device do not count)? 1 yes,
 * 0 no, -errno when the kernel could not be asked.
 */
int sockdiag_bound(struct sockdiag *d, uint8_t proto, uint16_t port, const struct in_addr *addrs,
		   size_t n, unsigned ifindex);

/* Every port that sockets of proto hold that way, into *ret (cleared
 * first). 0 or -errno. */
int sockdiag_ports(struct sockdiag *d, uint8_t proto, const struct in_addr *addrs, size_t n,
		   unsigned ifindex, struct portset *ret);

/*
 * The ports to take back from mappings made before (the router wins):
 * TCP ports held now into *tcp, UDP ports held now and at the previous
 * call into *udp (a client's unconnected query socket comes and goes
 * between two calls; a service stays). *udp_seen carries the UDP ports
 * from one call to the next (zero it first). 0 or -errno.
 */
int sockdiag_held(struct sockdiag *d, const struct in_addr *addrs, size_t n, unsigned ifindex,
		  struct portset *udp_seen, struct portset *tcp, struct portset *udp);

#endif
