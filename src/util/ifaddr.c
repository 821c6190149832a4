/*
 * ifaddr.c - an interface's IPv4 address, netmask and index, and the
 * interface of the IPv4 default route (ifaddr.h).
 */
#include "util/ifaddr.h"

#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* Field i (0-based) of a line of /proc/net/route, split on tabs and spaces. */
static struct str route_field(struct str line, unsigned i)
{
	size_t pos = 0, start;

	for (;;) {
		while (pos < line.len && (line.p[pos] == '\t' || line.p[pos] == ' '))
			pos++;
		start = pos;
		while (pos < line.len && line.p[pos] != '\t' && line.p[pos] != ' ')
			pos++;
		if (i-- == 0 || start == pos)
			return str_from(line.p + start, pos - start);
	}
}

/* A field of hexadecimal digits (Destination, Flags, Mask): -EINVAL if not. */
static int route_hex(struct str f, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (f.len == 0 || f.len > 8)
		return -EINVAL;
	for (i = 0; i < f.len; i++) {
		int d = str_hexval((unsigned char)f.p[i]);

		if (d < 0)
			return -EINVAL;
		v = v * 16 + (unsigned)d;
	}
	*ret = v;
	return 0;
}

/*
 * Columns: Iface Destination Gateway Flags RefCnt Use Metric Mask ...
 * Destination and Mask are the raw 32-bit values in hexadecimal, so
 * their byte order follows the CPU's; 0 (the default route) reads the
 * same on every one.
 */
/* A default route of /proc/net/route: destination and mask 0, up. */
struct default_route {
	struct str name;                /* Iface */
	uint64_t gw;                    /* Gateway, the raw value (when gw_ok) */
	bool gw_ok;
	uint64_t flags;
	uint64_t metric;
};

/* The next default route of text from *pos on (0: the start, the header
 * line skipped); false at the end. A line that does not read is passed
 * over. */
static bool next_default_route(const char *text, size_t len, size_t *pos,
			       struct default_route *ret)
{
	while (*pos < len) {
		const char *nl = memchr(text + *pos, '\n', len - *pos);
		struct str line = str_from(text + *pos, nl ? (size_t)(nl - text - *pos) : len - *pos);
		bool header = *pos == 0;
		uint64_t dst, mask;

		*pos += line.len + 1;
		if (header)
			continue;
		if (route_hex(route_field(line, 1), &dst) < 0 ||
		    route_hex(route_field(line, 3), &ret->flags) < 0 ||
		    str_to_u64(route_field(line, 6), UINT32_MAX, &ret->metric) < 0 ||
		    route_hex(route_field(line, 7), &mask) < 0)
			continue;
		if (dst != 0 || mask != 0 || !(ret->flags & RTF_UP))
			continue;
		ret->name = route_field(line, 0);
		ret->gw_ok = route_hex(route_field(line, 2), &ret->gw) == 0;
		return true;
	}
	return false;
}

int ifaddr_parse_default_route(const char *text, size_t len, char out[IF_NAMESIZE])
{
	struct default_route r;
	uint64_t best = UINT64_MAX;
	size_t pos = 0;

	while (next_default_route(text, len, &pos, &r)) {
		if (r.name.len == 0 || r.name.len >= IF_NAMESIZE || r.metric >= best)
			continue;
		best = r.metric;
		memcpy(out, r.name.p, r.name.len);
		out[r.name.len] = '\0';
	}
	return best == UINT64_MAX ? -ENOENT : 0;
}

int ifaddr_parse_default_gateway(const char *text, size_t len, const char *ifname,
				 struct in_addr *ret)
{
	struct default_route r;
	uint64_t best = UINT64_MAX;
	size_t pos = 0;

	while (next_default_route(text, len, &pos, &r)) {
		if (!r.gw_ok || !(r.flags & RTF_GATEWAY) || r.metric >= best ||
		    r.name.len != strlen(ifname) || memcmp(r.name.p, ifname, r.name.len) != 0)
			continue;
		best = r.metric;
		ret->s_addr = (in_addr_t)r.gw;  /* the raw value, as the kernel printed it */
	}
	return best == UINT64_MAX ? -ENOENT : 0;
}

/* /proc/net/route, whole (the routes of a gateway fit; a longer table is
 * read in part). */
static int read_routes(char *text, size_t size, size_t *ret_len)
{
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/net/route", O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	while (len < size) {
		n = read(fd, text + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*ret_len = len;
	return r;
}

int ifaddr_default_gateway(const char *ifname, struct in_addr *ret)
{
	char text[16384];
	size_t len = 0;
	int r = read_routes(text, sizeof(text), &len);

	return r < 0 ? r : ifaddr_parse_default_gateway(text, len, ifname, ret);
}

int ifaddr_default_route(char out[IF_NAMESIZE])
{
	char text[16384];
	size_t len = 0;
	int r = read_routes(text, sizeof(text), &len);

	return r < 0 ? r : ifaddr_parse_default_route(text, len, out);
}
