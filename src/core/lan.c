/*
 * lan.c - a LAN's addresses and the decisions that depend on them (see
 * lan.h). Pure: the addresses come in as events (net/lanwatch.c reads
 * them from rtnetlink), nothing here touches a socket.
 */
#include "core/lan.h"

#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

void lan_init(struct lan *l, unsigned index, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->index = index;
	if (name)
		strlcpy_checked(l->name, name, sizeof(l->name));
}

int lan_event_parse(struct str text, unsigned ifindex, bool add, uint32_t flags,
		    struct lan_addr_event *ret)
{
	const char *slash = text.len ? memchr(text.p, '/', text.len) : NULL;
	struct lan_addr_event ev;
	uint64_t plen;

	memset(&ev, 0, sizeof(ev));
	if (ipaddr_parse(slash ? str_from(text.p, (size_t)(slash - text.p)) : text, &ev.addr.a) < 0)
		return -EINVAL;
	plen = ev.addr.a.family == AF_INET ? 32 : 128;
	if (slash && str_to_u64(str_from(slash + 1, text.len - (size_t)(slash - text.p) - 1), plen,
				&plen) < 0)
		return -EINVAL;
	ev.add = add;
	ev.ifindex = ifindex;
	ev.addr.plen = (uint8_t)plen;
	ev.addr.flags = flags;
	if (ipaddr_is_linklocal(&ev.addr.a))
		ev.addr.a.scope = ifindex;
	*ret = ev;
	return 0;
}

static void forget_addrs(struct lan *l)
{
	l->naddrs = 0;
	l->addr.s_addr = 0;
	l->mask.s_addr = 0;
}

void lan_clear(struct lan *l)
{
	forget_addrs(l);
}

bool lan_addrs_equal(const struct lan_addr *a, size_t na, const struct lan_addr *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!ipaddr_eq(&a[i].a, &b[i].a) || a[i].plen != b[i].plen ||
		    a[i].flags != b[i].flags)
			return false;
	return true;
}

bool lan_set_ifindex(struct lan *l, unsigned ifindex)
{
	if (l->ifindex == ifindex)
		return false;
	l->ifindex = ifindex;
	forget_addrs(l);
	l->generation++;
	return true;
}

static struct in_addr v4_mask(unsigned plen)
{
	struct in_addr m;

	m.s_addr = plen == 0 ? 0 : htonl(plen >= 32 ? UINT32_MAX : UINT32_MAX << (32 - plen));
	return m;
}

/* The primary IPv4 address: the first without IFA_F_SECONDARY (else the first). */
static void pick_primary(struct lan *l)
{
	const struct lan_addr *best = NULL;
	size_t i;

	for (i = 0; i < l->naddrs; i++) {
		const struct lan_addr *x = &l->addrs[i];

		if (x->a.family != AF_INET)
			continue;
		if (!best || ((best->flags & LAN_F_SECONDARY) && !(x->flags & LAN_F_SECONDARY)))
			best = x;
	}
	l->addr.s_addr = best ? best->a.u.v4.s_addr : 0;
	l->mask = best ? v4_mask(best->plen) : v4_mask(0);
	/* A /0 "subnet" would make every address a LAN host. */
	if (best && best->plen == 0)
		l->mask.s_addr = htonl(UINT32_MAX);
}

/* Apply ev to the address list (n entries at v, room for max). */
static bool list_apply(struct lan_addr *v, size_t *n, size_t max, const struct lan_addr_event *ev)
{
	struct lan_addr x = ev->addr;
	bool usable = !(x.flags & (LAN_F_TENTATIVE | LAN_F_DADFAILED));
	size_t i;

	if (x.a.family == AF_INET6 && !in6_is_linklocal(&x.a.u.v6))
		x.a.scope = 0;
	else if (x.a.family == AF_INET6)
		x.a.scope = ev->ifindex;
	if ((x.a.family == AF_INET && x.plen > 32) || (x.a.family == AF_INET6 && x.plen > 128))
		return false;
	for (i = 0; i < *n; i++)
		if (ipaddr_eq(&v[i].a, &x.a))
			break;
	if (ev->add && usable) {
		if (i < *n) {
			if (v[i].plen == x.plen && v[i].flags == x.flags)
				return false;
			v[i].plen = x.plen;
			v[i].flags = x.flags;
			return true;
		}
		if (*n >= max)
			return false;
		v[(*n)++] = x;
		return true;
	}
	if (i == *n)
		return false;
	memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(v[0]));
	(*n)--;
	return true;
}

bool lan_apply(struct lan *l, const struct lan_addr_event *ev)
{
	if (ev->addr.a.family != AF_INET && ev->addr.a.family != AF_INET6)
		return false;
	if (!list_apply(l->addrs, &l->naddrs, IGDD_LAN_MAX_ADDRS, ev))
		return false;
	pick_primary(l);
	l->generation++;
	return true;
}

bool lan_wan6_apply(struct lan_wan6 *w, const struct lan_addr_event *ev)
{
	if (ev->addr.a.family != AF_INET6)
		return false;
	return list_apply(w->addrs, &w->naddrs, IGDD_LAN_MAX_ADDRS, ev);
}

bool lan_has_v4(const struct lan *l)
{
	return l->mask.s_addr != 0;
}

bool lan_has_v6(const struct lan *l)
{
	size_t i;

	for (i = 0; i < l->naddrs; i++)
		if (l->addrs[i].a.family == AF_INET6)
			return true;
	return false;
}

bool lan_is_own(const struct lan *l, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < l->naddrs; i++)
		if (ipaddr_eq(&l->addrs[i].a, a))
			return true;
	return false;
}

/* a (IPv6, not link-local) is inside one of the on-link prefixes in v. */
static bool in_prefixes(const struct lan_addr *v, size_t n, const struct in6_addr *a)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].a.family != AF_INET6 || in6_is_linklocal(&v[i].a.u.v6))
			continue;
		if (in6_prefix_match(a, &v[i].a.u.v6, v[i].plen))
			return true;
	}
	return false;
}

bool lan_wan6_has(const struct lan_wan6 *w, const struct ipaddr *a)
{
	if (!w || a->family != AF_INET6 || in6_is_linklocal(&a->u.v6))
		return false;
	return in_prefixes(w->addrs, w->naddrs, &a->u.v6);
}

bool lan_contains(const struct lan *l, const struct lan_wan6 *w, const struct ipaddr *a)
{
	if (a->family == AF_INET) {
		if (l->mask.s_addr == 0)
			return false;
		return (a->u.v4.s_addr & l->mask.s_addr) == (l->addr.s_addr & l->mask.s_addr);
	}
	if (a->family != AF_INET6 || l->ifindex == 0 || !lan_has_v6(l))
		return false;
	if (in6_is_linklocal(&a->u.v6))
		return a->scope == l->ifindex;
	if (!in6_is_unicast_global(&a->u.v6) || lan_wan6_has(w, a))
		return false;
	return in_prefixes(l->addrs, l->naddrs, &a->u.v6);
}

/* IPv4: not the network or broadcast address of a /30 or shorter subnet. */
static bool v4_host_part_ok(const struct lan *l, struct in_addr a)
{
	uint32_t mask = ntohl(l->mask.s_addr), host = ntohl(a.s_addr) & ~mask;

	return !(~mask >= 3 && (host == 0 || host == ~mask));
}

/* The IPv4 loopback "LAN" (127.0.0.0/8 on lo). */
static bool is_loopback_lan(const struct lan *l)
{
	return (ntohl(l->addr.s_addr) >> 24) == 127;
}

bool lan_host_ok(const struct lan *l, const struct lan_wan6 *w, const struct ipaddr *a)
{
	if (!lan_contains(l, w, a))
		return false;
	if (a->family == AF_INET) {
		if (!v4_host_part_ok(l, a->u.v4))
			return false;
		/* Every control point on a loopback LAN has the gateway's address. */
		return !lan_is_own(l, a) || is_loopback_lan(l);
	}
	return !lan_is_own(l, a);
}

bool lan_peer_ok(const struct lan *l, const struct lan_wan6 *w, const struct ipaddr *a)
{
	return lan_contains(l, w, a) && (a->family != AF_INET || v4_host_part_ok(l, a->u.v4));
}

/* The score of a ULA / global address of the LAN as a LOCATION for searcher. */
static unsigned location_score(const struct lan_addr *x, const struct ipaddr *searcher)
{
	unsigned s = 0;

	if (!(x->flags & LAN_F_DEPRECATED))
		s += 16;
	if (!in6_is_ula(&x->a.u.v6))
		s += 8;                 /* a GUA: the address pinholes are for */
	if (searcher && searcher->family == AF_INET6 && !in6_is_linklocal(&searcher->u.v6) &&
	    in6_prefix_match(&searcher->u.v6, &x->a.u.v6, x->plen))
		s += 4;
	return s;
}

static bool best_v6(const struct lan *l, const struct ipaddr *searcher, struct ipaddr *ret)
{
	const struct lan_addr *best = NULL;
	unsigned best_score = 0;
	size_t i;

	for (i = 0; i < l->naddrs; i++) {
		const struct lan_addr *x = &l->addrs[i];
		unsigned s;

		if (x->a.family != AF_INET6 || in6_is_linklocal(&x->a.u.v6))
			continue;
		s = location_score(x, searcher);
		if (!best || s > best_score) {
			best = x;
			best_score = s;
		}
	}
	if (!best)
		return false;
	*ret = best->a;
	return true;
}

bool lan_linklocal(const struct lan *l, struct ipaddr *ret)
{
	size_t i;

	for (i = 0; i < l->naddrs; i++) {
		if (ipaddr_is_linklocal(&l->addrs[i].a)) {
			*ret = l->addrs[i].a;
			return true;
		}
	}
	return false;
}

bool lan_global(const struct lan *l, struct ipaddr *ret)
{
	return best_v6(l, NULL, ret);
}

bool lan_location(const struct lan *l, const struct ipaddr *searcher, struct ipaddr *ret)
{
	if (searcher->family == AF_INET) {
		if (!lan_has_v4(l))
			return false;
		*ret = ipaddr_from_v4(l->addr);
		return true;
	}
	if (searcher->family != AF_INET6)
		return false;
	return best_v6(l, searcher, ret) || lan_linklocal(l, ret);
}
