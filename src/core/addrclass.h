/*
 * addrclass.h - what kind of IPv4 address the WAN has: may the internet
 * reach it? Pure (no I/O).
 *
 * The classes follow the IANA IPv4 Special-Purpose Address Registry
 * (RFC 6890 section 2.2.2 and the RFCs that updated it: RFC 6598, 7335,
 * 7723, 8155, 7050, 7526, 7534, 7535, 7450, 8190), plus multicast
 * (RFC 1112, not in that registry but never a host address).
 */
#ifndef IGDD_ADDRCLASS_H
#define IGDD_ADDRCLASS_H

#include <netinet/in.h>
#include <stdbool.h>

enum addr_class {
	ADDR_PUBLIC = 0,        /* globally reachable */
	ADDR_PRIVATE,           /* RFC 1918 Private-Use */
	ADDR_SHARED,            /* RFC 6598 Shared Address Space (carrier-grade NAT) */
	ADDR_LOOPBACK,          /* RFC 1122 127.0.0.0/8 */
	ADDR_LINK_LOCAL,        /* RFC 3927 169.254.0.0/16 */
	ADDR_DOCUMENTATION,     /* RFC 5737 TEST-NET-1/2/3 */
	ADDR_BENCHMARKING,      /* RFC 2544 198.18.0.0/15 */
	ADDR_IETF_PROTOCOL,     /* RFC 6890 192.0.0.0/24 (DS-Lite B4, NAT64 discovery...) */
	ADDR_THIS_NETWORK,      /* RFC 791 0.0.0.0/8 */
	ADDR_MULTICAST,         /* RFC 1112 224.0.0.0/4 */
	ADDR_RESERVED,          /* RFC 1112 240.0.0.0/4, RFC 8190 255.255.255.255 */
	ADDR_CLASS_COUNT
};

/* The class of a (network byte order) IPv4 address. */
enum addr_class addrclass_ipv4(struct in_addr a);

/* True for ADDR_PUBLIC only: the registry's "Globally Reachable". */
static inline bool addrclass_is_global(enum addr_class c)
{
	return c == ADDR_PUBLIC;
}

/* A short token for status output and logs ("public", "private", "shared", ...). */
const char *addrclass_name(enum addr_class c);

/* A phrase with the RFC, for a log line ("a private (RFC 1918) address"). */
const char *addrclass_describe(enum addr_class c);

#endif
