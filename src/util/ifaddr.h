/*
 * ifaddr.h - an interface's IPv4 address, netmask and index, looked up by
 * name (getifaddrs, if_nametoindex): where the LAN side listens and which
 * peers count as being on the LAN.
 */
#ifndef IGDD_IFADDR_H
#define IGDD_IFADDR_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>

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

/*
 * The interface of the IPv4 default route, from the text of
 * /proc/net/route (len bytes): the route to 0.0.0.0/0 that is up, with
 * the lowest metric (the first of equals). Returns 0 with the name in
 * out, or -ENOENT when there is none. Pure: for tests.
 */
int ifaddr_parse_default_route(const char *text, size_t len, char out[IF_NAMESIZE]);

/* The same from this network namespace's /proc/net/route. */
int ifaddr_default_route(char out[IF_NAMESIZE]);

/* The gateway of the IPv4 default route (lowest metric) through ifname,
 * from /proc/net/route text (pure) or the file: 0 and *ret, -ENOENT. */
int ifaddr_parse_default_gateway(const char *text, size_t len, const char *ifname,
				 struct in_addr *ret);
int ifaddr_default_gateway(const char *ifname, struct in_addr *ret);

#endif
