/*
 * udp.h - one datagram with where it was sent (IP_PKTINFO, IPV6_PKTINFO:
 * the interface it arrived on and its destination address), and one sent
 * out of a chosen interface from a chosen source address, for the
 * sockets that answer only on the LANs (SSDP, NAT-PMP/PCP), IPv4 and
 * IPv6 alike (RFC 3542 6.1 for IPv6).
 */
#ifndef IGDD_UDP_H
#define IGDD_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/ipaddr.h"

struct udp_dgram {
	struct ipaddr from;             /* the source (valid when from_ok; link-local: scope set) */
	uint16_t from_port;
	bool from_ok;                   /* an IPv4 or IPv6 source address came with it */
	bool have_pktinfo;
	unsigned ifindex;               /* the interface it arrived on (have_pktinfo) */
	struct ipaddr dst;              /* its destination address (have_pktinfo) */
	bool truncated;                 /* longer than the buffer: its tail is lost */
};

/*
 * Receive one datagram from fd (non-blocking, IP_PKTINFO or
 * IPV6_RECVPKTINFO set on it) into buf. Its length, or -errno: -EAGAIN
 * when none is waiting. EINTR is retried.
 */
ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_dgram *d);

/*
 * Send len bytes to to:port out of interface ifindex (0: the routing
 * table's choice), from source address src when it is given (family
 * 0: the kernel's choice for the destination). The socket's family must
 * be to's. 0 or -errno.
 */
int udp_send(int fd, const struct ipaddr *to, uint16_t port, unsigned ifindex,
	     const struct ipaddr *src, const void *buf, size_t len);

/* Set IP_PKTINFO (AF_INET) or IPV6_RECVPKTINFO (AF_INET6) on fd. 0 or -errno. */
int udp_want_pktinfo(int fd, int family);

#endif
