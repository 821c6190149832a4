/*
 * addrclass.c - the IPv4 special-purpose address registry (addrclass.h).
 *
 * IANA "IPv4 Special-Purpose Address Registry" (RFC 6890 section 2.2.2,
 * updated by RFC 6598, 7335, 7450, 7526, 7534, 7535, 7723, 8155, 8190).
 * The blocks the registry marks "Globally Reachable: True" inside a
 * non-global block are public here: 192.0.0.9/32 (PCP anycast, RFC 7723)
 * and 192.0.0.10/32 (TURN anycast, RFC 8155). AS112 (RFC 7534, 7535),
 * AMT (RFC 7450) and the deprecated 6to4 relay anycast (RFC 7526) are
 * globally reachable blocks and need no entry.
 */
#include "core/addrclass.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

struct block {
	uint32_t net;           /* host byte order */
	unsigned plen;
	enum addr_class cls;
};

/* Most specific first: the first match wins. */
static const struct block blocks[] = {
	{ 0xc0000009u, 32, ADDR_PUBLIC },          /* 192.0.0.9 PCP anycast (RFC 7723) */
	{ 0xc000000au, 32, ADDR_PUBLIC },          /* 192.0.0.10 TURN anycast (RFC 8155) */
	{ 0xffffffffu, 32, ADDR_RESERVED },        /* limited broadcast (RFC 8190, 919) */
	{ 0x00000000u, 8, ADDR_THIS_NETWORK },     /* RFC 791, RFC 1122 */
	{ 0x0a000000u, 8, ADDR_PRIVATE },          /* RFC 1918 */
	{ 0x64400000u, 10, ADDR_SHARED },          /* RFC 6598 */
	{ 0x7f000000u, 8, ADDR_LOOPBACK },         /* RFC 1122 */
	{ 0xa9fe0000u, 16, ADDR_LINK_LOCAL },      /* RFC 3927 */
	{ 0xac100000u, 12, ADDR_PRIVATE },         /* RFC 1918 */
	{ 0xc0000000u, 24, ADDR_IETF_PROTOCOL },   /* RFC 6890 (and 7335, 7050 inside) */
	{ 0xc0000200u, 24, ADDR_DOCUMENTATION },   /* TEST-NET-1 (RFC 5737) */
	{ 0xc0a80000u, 16, ADDR_PRIVATE },         /* RFC 1918 */
	{ 0xc6120000u, 15, ADDR_BENCHMARKING },    /* RFC 2544 */
	{ 0xc6336400u, 24, ADDR_DOCUMENTATION },   /* TEST-NET-2 (RFC 5737) */
	{ 0xcb007100u, 24, ADDR_DOCUMENTATION },   /* TEST-NET-3 (RFC 5737) */
	{ 0xe0000000u, 4, ADDR_MULTICAST },        /* RFC 1112 */
	{ 0xf0000000u, 4, ADDR_RESERVED },         /* RFC 1112 */
};

enum addr_class addrclass_ipv4(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	size_t i;

	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		uint32_t mask = blocks[i].plen ? ~0u << (32 - blocks[i].plen) : 0;

		if ((h & mask) == blocks[i].net)
			return blocks[i].cls;
	}
	return ADDR_PUBLIC;
}

static const char *const names[ADDR_CLASS_COUNT] = {
	[ADDR_PUBLIC] = "public",
	[ADDR_PRIVATE] = "private",
	[ADDR_SHARED] = "shared",
	[ADDR_LOOPBACK] = "loopback",
	[ADDR_LINK_LOCAL] = "link-local",
	[ADDR_DOCUMENTATION] = "documentation",
	[ADDR_BENCHMARKING] = "benchmarking",
	[ADDR_IETF_PROTOCOL] = "ietf-protocol",
	[ADDR_THIS_NETWORK] = "this-network",
	[ADDR_MULTICAST] = "multicast",
	[ADDR_RESERVED] = "reserved",
};

static const char *const phrases[ADDR_CLASS_COUNT] = {
	[ADDR_PUBLIC] = "a public address",
	[ADDR_PRIVATE] = "a private (RFC 1918) address",
	[ADDR_SHARED] = "a shared (carrier-grade NAT, RFC 6598) address",
	[ADDR_LOOPBACK] = "a loopback (RFC 1122) address",
	[ADDR_LINK_LOCAL] = "a link-local (RFC 3927) address",
	[ADDR_DOCUMENTATION] = "a documentation (RFC 5737) address",
	[ADDR_BENCHMARKING] = "a benchmarking (RFC 2544) address",
	[ADDR_IETF_PROTOCOL] = "an IETF protocol assignment (RFC 6890 192.0.0.0/24) address",
	[ADDR_THIS_NETWORK] = "a \"this network\" (RFC 791 0.0.0.0/8) address",
	[ADDR_MULTICAST] = "a multicast (RFC 1112) address",
	[ADDR_RESERVED] = "a reserved (RFC 1112 240.0.0.0/4 or broadcast) address",
};

const char *addrclass_name(enum addr_class c)
{
	return (unsigned)c < ADDR_CLASS_COUNT ? names[c] : "unknown";
}

const char *addrclass_describe(enum addr_class c)
{
	return (unsigned)c < ADDR_CLASS_COUNT ? phrases[c] : "an unknown address";
}
