/*
 * ifaddr.c - an interface's IPv4 address, netmask and index (ifaddr.h).
 */
#include "util/ifaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

int ifaddr_lookup_ipv4(const char *ifname, struct ifaddr_ipv4 *ret)
{
	struct ifaddrs *list = NULL, *ifa;
	struct ifaddr_ipv4 found;
	unsigned idx;
	int r = -EADDRNOTAVAIL;

	idx = if_nametoindex(ifname);
	if (idx == 0)
		return errno == ENXIO || errno == ENODEV || errno == 0 ? -ENODEV : -errno;
	if (getifaddrs(&list) < 0)
		return -errno;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in *a = (const void *)ifa->ifa_addr;
		const struct sockaddr_in *m = (const void *)ifa->ifa_netmask;

		if (!a || a->sin_family != AF_INET || strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		memset(&found, 0, sizeof(found));
		found.addr = a->sin_addr;
		if (m && m->sin_family == AF_INET)
			found.mask = m->sin_addr;
		else
			found.mask.s_addr = INADDR_BROADCAST;    /* no mask: the address alone */
		found.ifindex = idx;
		*ret = found;
		r = 0;
		break;
	}
	freeifaddrs(list);
	return r;
}
