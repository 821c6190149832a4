/*
 * ipaddr.h - an IP address of either family (IPv4 or IPv6), the type
 * that carries a peer's, a control point's or an internal client's
 * address through the layers, with the few operations every layer needs:
 * compare, test a prefix, convert to and from socket addresses, write it
 * for a log line or a URL (RFC 3986 3.2.2: an IPv6 literal in brackets,
 * never with a zone: a zone name is the writer's, meaningless to the
 * reader), and read it back from text.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
 * reports for an IPv4 peer) is always converted to AF_INET, so that one
 * host has one form. A link-local IPv6 address (fe80::/10) carries the
 * index of the interface it belongs to (scope); other addresses have
 * scope 0.
 */
#ifndef IGDD_IPADDR_H
#define IGDD_IPADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/str.h"

struct ipaddr {
	sa_family_t family;             /* AF_INET, AF_INET6; 0: none */
	uint32_t scope;                 /* AF_INET6 link-local: the interface index */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

/* Text of an address: INET6_ADDRSTRLEN, brackets and "%" + an index. */
#define IPADDR_STRLEN (INET6_ADDRSTRLEN + 16)

struct ipaddr ipaddr_from_v4(struct in_addr a);
/* scope is kept for a link-local address only. */
struct ipaddr ipaddr_from_v6(const struct in6_addr *a, uint32_t scope);

/*
 * A socket address (AF_INET or AF_INET6 of at least its size) into *ret
 * and its port into *ret_port (may be NULL). An IPv4-mapped IPv6 address
 * becomes AF_INET. false for anything else.
 */
bool ipaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct ipaddr *ret,
			  uint16_t *ret_port);
/* The socket address for a and port (link-local: sin6_scope_id set). Its length, 0 for no family. */
socklen_t ipaddr_to_sockaddr(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *ret);

bool ipaddr_is_v4(const struct ipaddr *a);
bool ipaddr_is_v6(const struct ipaddr *a);
/* The IPv4 address of a; false (and *ret untouched) when a is not IPv4. */
bool ipaddr_get_v4(const struct ipaddr *a, struct in_addr *ret);
/* a is the IPv4 address v. */
bool ipaddr_eq_v4(const struct ipaddr *a, struct in_addr v);
/* Same family and address (and scope, for link-local addresses). */
bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b);
/* A total order (family, address, scope), for sorting. */
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);

/* IPv6 fe80::/10. */
bool in6_is_linklocal(const struct in6_addr *a);
/* IPv6 fc00::/7 (RFC 4193 unique local). */
bool in6_is_ula(const struct in6_addr *a);
/* A global unicast IPv6 address a host of a LAN may have: not ::,
 * ::1, multicast, link-local, IPv4-mapped or -compatible, or fec0::/10. */
bool in6_is_unicast_global(const struct in6_addr *a);
/* The first plen bits of a and p agree (plen 0..128). */
bool in6_prefix_match(const struct in6_addr *a, const struct in6_addr *p, unsigned plen);
/* How many leading bits a and b share (0..128). */
unsigned in6_common_bits(const struct in6_addr *a, const struct in6_addr *b);

bool ipaddr_is_linklocal(const struct ipaddr *a);

/* The address as text: "192.168.1.20", "2001:db8::20", "fe80::20"
 * (no zone; logs add it where it matters). Returns out. */
const char *ipaddr_ntop(const struct ipaddr *a, char *out, size_t outsz);
/* The host part of a URL or a Host field: "192.168.1.1" or
 * "[2001:db8::1]" (never a zone). 0 or -E2BIG / -EINVAL. */
int ipaddr_url_host(const struct ipaddr *a, char *out, size_t outsz);

/*
 * An address literal: a dotted quad or an IPv6 text (RFC 4291 2.2, an
 * embedded dotted quad allowed), no brackets, no zone, no white space.
 * IPv4-mapped becomes AF_INET. 0 or -EINVAL.
 */
int ipaddr_parse(struct str s, struct ipaddr *ret);

/*
 * The host of an http URL or a Host field (RFC 3986 3.2.2, RFC 6874):
 * a dotted quad, or an IPv6 literal in brackets, optionally with a zone
 * ("%25" then the zone, or a bare "%" then the zone, as clients write
 * both) when zone_ok; the zone itself is not kept (it names the sender's
 * interface). Nothing may follow the closing bracket. 0 or -EINVAL.
 */
int ipaddr_parse_host(struct str s, bool zone_ok, struct ipaddr *ret);

#endif
