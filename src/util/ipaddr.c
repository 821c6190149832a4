/*
 * ipaddr.c - addresses of either family (ipaddr.h). Textual forms:
 * RFC 4291 2.2 (IPv6 text), RFC 5952 (the form written: inet_ntop's),
 * RFC 3986 3.2.2 (IP-literal in brackets), RFC 6874 (a zone in a URL,
 * read and dropped).
 */
#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ZONE_MAX 32     /* the longest zone text accepted (and dropped) */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

struct ipaddr ipaddr_from_v4(struct in_addr a)
{
	struct ipaddr r;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.u.v4 = a;
	return r;
}

struct ipaddr ipaddr_from_v6(const struct in6_addr *a, uint32_t scope)
{
	struct ipaddr r;

	memset(&r, 0, sizeof(r));
	if (memcmp(a->s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		r.family = AF_INET;
		memcpy(&r.u.v4, a->s6_addr + 12, 4);
		return r;
	}
	r.family = AF_INET6;
	r.u.v6 = *a;
	r.scope = in6_is_linklocal(a) ? scope : 0;
	return r;
}

bool ipaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct ipaddr *ret,
			  uint16_t *ret_port)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		*ret = ipaddr_from_v4(sin->sin_addr);
		if (ret_port)
			*ret_port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		*ret = ipaddr_from_v6(&sin6->sin6_addr, sin6->sin6_scope_id);
		if (ret_port)
			*ret_port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

socklen_t ipaddr_to_sockaddr(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (void *)ret;

		sin->sin_family = AF_INET;
		sin->sin_addr = a->u.v4;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (void *)ret;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a->u.v6;
		sin6->sin6_port = htons(port);
		sin6->sin6_scope_id = in6_is_linklocal(&a->u.v6) ? a->scope : 0;
		return sizeof(*sin6);
	}
	return 0;
}

bool ipaddr_is_v4(const struct ipaddr *a)
{
	return a->family == AF_INET;
}

bool ipaddr_is_v6(const struct ipaddr *a)
{
	return a->family == AF_INET6;
}

bool ipaddr_get_v4(const struct ipaddr *a, struct in_addr *ret)
{
	if (a->family != AF_INET)
		return false;
	*ret = a->u.v4;
	return true;
}

bool ipaddr_eq_v4(const struct ipaddr *a, struct in_addr v)
{
	return a->family == AF_INET && a->u.v4.s_addr == v.s_addr;
}

int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == AF_INET) {
		uint32_t x = ntohl(a->u.v4.s_addr), y = ntohl(b->u.v4.s_addr);

		return x < y ? -1 : x > y;
	}
	if (a->family != AF_INET6)
		return 0;
	r = memcmp(a->u.v6.s6_addr, b->u.v6.s6_addr, 16);
	if (r)
		return r < 0 ? -1 : 1;
	return a->scope < b->scope ? -1 : a->scope > b->scope;
}

bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family != 0 && ipaddr_cmp(a, b) == 0;
}

bool in6_is_linklocal(const struct in6_addr *a)
{
	return a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80;
}

bool in6_is_ula(const struct in6_addr *a)
{
	return (a->s6_addr[0] & 0xfe) == 0xfc;
}

bool in6_is_unicast_global(const struct in6_addr *a)
{
	static const uint8_t zero[12];

	if (a->s6_addr[0] == 0xff || in6_is_linklocal(a))
		return false;
	if (a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0xc0)
		return false;           /* fec0::/10, site-local (deprecated, RFC 3879) */
	/* ::, ::1, ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped) */
	if (memcmp(a->s6_addr, zero, sizeof(zero)) == 0 ||
	    memcmp(a->s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
		return false;
	return true;
}

bool in6_prefix_match(const struct in6_addr *a, const struct in6_addr *p, unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (plen > 128)
		return false;
	if (memcmp(a->s6_addr, p->s6_addr, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((a->s6_addr[bytes] ^ p->s6_addr[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

unsigned in6_common_bits(const struct in6_addr *a, const struct in6_addr *b)
{
	unsigned i, n = 0;

	for (i = 0; i < 16; i++) {
		uint8_t x = a->s6_addr[i] ^ b->s6_addr[i];

		if (x == 0) {
			n += 8;
			continue;
		}
		while (!(x & 0x80)) {
			x = (uint8_t)(x << 1);
			n++;
		}
		break;
	}
	return n;
}

bool ipaddr_is_linklocal(const struct ipaddr *a)
{
	return a->family == AF_INET6 && in6_is_linklocal(&a->u.v6);
}

const char *ipaddr_ntop(const struct ipaddr *a, char *out, size_t outsz)
{
	if (outsz == 0)
		return out;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, &a->u, out, (socklen_t)outsz))
		snprintf(out, outsz, "?");
	return out;
}

int ipaddr_url_host(const struct ipaddr *a, char *out, size_t outsz)
{
	char text[INET6_ADDRSTRLEN];
	int n;

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EINVAL;
	if (!inet_ntop(a->family, &a->u, text, sizeof(text)))
		return -EINVAL;
	n = snprintf(out, outsz, a->family == AF_INET6 ? "[%s]" : "%s", text);
	return n < 0 || (size_t)n >= outsz ? -E2BIG : 0;
}

int ipaddr_parse(struct str s, struct ipaddr *ret)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;

	if (s.len == 0 || str_copy(s, text, sizeof(text)) < 0 || memchr(s.p, '\0', s.len))
		return -EINVAL;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		*ret = ipaddr_from_v4(a4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		*ret = ipaddr_from_v6(&a6, 0);
		return 0;
	}
	return -EINVAL;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 6874 ZoneID: unreserved characters and %XX, at most ZONE_MAX. */
static bool zone_ok(struct str z)
{
	size_t i;

	if (z.len == 0 || z.len > ZONE_MAX)
		return false;
	for (i = 0; i < z.len; i++) {
		char c = z.p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			continue;
		if (c == '%' && i + 2 < z.len && is_hex(z.p[i + 1]) && is_hex(z.p[i + 2])) {
			i += 2;
			continue;
		}
		return false;
	}
	return true;
}

int ipaddr_parse_host(struct str s, bool zone_allowed, struct ipaddr *ret)
{
	const char *pct;
	struct str inner, zone;
	struct ipaddr a;

	if (s.len == 0)
		return -EINVAL;
	if (s.p[0] != '[') {
		/* No brackets: a dotted quad only (an IPv6 literal needs them). */
		if (ipaddr_parse(s, &a) < 0 || a.family != AF_INET || memchr(s.p, ':', s.len))
			return -EINVAL;
		*ret = a;
		return 0;
	}
	if (s.len < 3 || s.p[s.len - 1] != ']')
		return -EINVAL;
	inner = str_from(s.p + 1, s.len - 2);
	pct = memchr(inner.p, '%', inner.len);
	if (pct) {
		if (!zone_allowed)
			return -EINVAL;
		zone = str_from(pct + 1, inner.len - (size_t)(pct - inner.p) - 1);
		if (str_startswith_cstr(zone, "25") && zone.len > 2)
			zone = str_from(zone.p + 2, zone.len - 2);
		if (!zone_ok(zone))
			return -EINVAL;
		inner.len = (size_t)(pct - inner.p);
	}
	/* Inside brackets only IPv6 (an IPv4-mapped form stays a literal of v6 text). */
	if (!memchr(inner.p, ':', inner.len) || ipaddr_parse(inner, &a) < 0)
		return -EINVAL;
	if (pct && !(a.family == AF_INET6 && in6_is_linklocal(&a.u.v6)))
		return -EINVAL;         /* a zone means something for link-local only */
	*ret = a;
	return 0;
}
