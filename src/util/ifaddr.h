/*
 * ifaddr.h - an interface's IPv4 address, netmask and index, looked up by
 * name (getifaddrs, if_nametoindex): where the LAN side listens and which
 * peers count as being on the LAN.
 */
#ifndef IGDD_IFADDR_H
#define IGDD_IFADDR_H

#include <netinet/in.h>

struct ifaddr_ipv4 {
	struct in_addr addr;
	struct in_addr mask;
	unsigned ifindex;
};

/*
 * The first IPv4 address of interface ifname. Returns 0, -ENODEV when
 * there is no such interface, -EADDRNOTAVAIL when it has no IPv4
 * address, or another -errno. *ret is written only on success.
 */
int ifaddr_lookup_ipv4(const char *ifname, struct ifaddr_ipv4 *ret);

#endif
