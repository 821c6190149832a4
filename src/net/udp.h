/*
 * udp.h - receiving one datagram with where it was sent (IP_PKTINFO:
 * the interface and the destination address), for the sockets that
 * answer only on the LAN interface (SSDP, NAT-PMP/PCP).
 */
#ifndef IGDD_UDP_H
#define IGDD_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct udp_dgram {
	struct sockaddr_in from;        /* the source (valid when from_ok) */
	bool from_ok;                   /* an IPv4 source address came with it */
	bool have_pktinfo;
	struct in_pktinfo pi;           /* ipi_ifindex, ipi_addr (the destination) */
	bool truncated;                 /* longer than the buffer: its tail is lost */
};

/*
 * Receive one datagram from fd (non-blocking, IP_PKTINFO set on it) into
 * buf. Its length, or -errno: -EAGAIN when none is waiting. EINTR is
 * retried.
 */
ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_dgram *d);

#endif
