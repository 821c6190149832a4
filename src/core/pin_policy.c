/*
 * pin_policy.c - the IPv6 pinhole policy (see pin_policy.h;
 * WANIPv6FirewallControl:1 2.6.3.3 [5.5.4.4]).
 */
#include "core/pin_policy.h"

#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WELL_KNOWN_END 1024     /* ports below are "well-known" (2.6.3.3) */

struct pin_rule {
	bool allow;
	struct in6_addr addr;           /* masked to plen */
	unsigned plen;
	uint16_t lo, hi;
	int lan;                        /* lan_interface index, -1: any */
};

struct pin_policy {
	size_t nrules;
	struct pin_rule rules[IGDD_CONF_MAX_ACL];
};

/* Next space-separated field of *s (advanced past it). */
static struct str next_field(struct str *s)
{
	struct str f;

	while (s->len && *s->p == ' ') {
		s->p++;
		s->len--;
	}
	f.p = s->p;
	f.len = 0;
	while (f.len < s->len && f.p[f.len] != ' ')
		f.len++;
	s->p += f.len;
	s->len -= f.len;
	return f;
}

/* "allow|deny ADDR/PLEN PORTS[ on LAN]" as config.c normalised it. */
static int parse_rule(const struct policy_conf *pc, const char *text, struct pin_rule *ret)
{
	struct str s = str_cstr(text), verb, addr, ports, on, lan;
	char a[INET6_ADDRSTRLEN];
	const char *slash, *dash;
	uint64_t plen, lo, hi;

	memset(ret, 0, sizeof(*ret));
	verb = next_field(&s);
	addr = next_field(&s);
	ports = next_field(&s);
	on = next_field(&s);
	lan = next_field(&s);
	if (next_field(&s).len != 0 || (on.len != 0) != (lan.len != 0))
		return -EINVAL;
	ret->allow = str_eq_cstr(verb, "allow");
	if (!ret->allow && !str_eq_cstr(verb, "deny"))
		return -EINVAL;
	slash = addr.len ? memchr(addr.p, '/', addr.len) : NULL;
	if (!slash ||
	    str_to_u64(str_from(slash + 1, addr.len - (size_t)(slash - addr.p) - 1), 128, &plen) < 0 ||
	    str_copy(str_from(addr.p, (size_t)(slash - addr.p)), a, sizeof(a)) < 0 ||
	    inet_pton(AF_INET6, a, &ret->addr) != 1)
		return -EINVAL;
	ret->plen = (unsigned)plen;
	dash = ports.len ? memchr(ports.p, '-', ports.len) : NULL;
	if (dash) {
		if (str_to_u64(str_from(ports.p, (size_t)(dash - ports.p)), 65535, &lo) < 0 ||
		    str_to_u64(str_from(dash + 1, ports.len - (size_t)(dash - ports.p) - 1), 65535,
			       &hi) < 0)
			return -EINVAL;
	} else {
		if (str_to_u64(ports, 65535, &lo) < 0)
			return -EINVAL;
		hi = lo;
	}
	if (lo > hi)
		return -EINVAL;
	ret->lo = (uint16_t)lo;
	ret->hi = (uint16_t)hi;
	ret->lan = -1;
	if (on.len) {
		if (!str_eq_cstr(on, "on"))
			return -EINVAL;
		ret->lan = policy_conf_lan_index(pc, lan.p, lan.len);
		if (ret->lan < 0)
			return -EINVAL;
	}
	return 0;
}

struct pin_policy *pin_policy_new(const struct policy_conf *pc, char *err, size_t errsz)
{
	struct pin_policy *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	for (i = 0; i < pc->npinhole_acl && i < IGDD_CONF_MAX_ACL; i++) {
		if (parse_rule(pc, pc->pinhole_acl[i], &p->rules[i]) < 0) {
			snprintf(err, errsz, "pinhole_acl rule %zu '%.*s': expected "
				 "'allow|deny ADDR6[/PREFIX] PORTS [on LAN_INTERFACE]' with a "
				 "lan_interface", i + 1,
				 (int)strnlen(pc->pinhole_acl[i], IGDD_CONF_MAX_ACL_LEN),
				 pc->pinhole_acl[i]);
			free(p);
			return NULL;
		}
	}
	p->nrules = i;
	return p;
}

void pin_policy_free(struct pin_policy *p)
{
	free(p);
}

size_t pin_policy_rule_count(const struct pin_policy *p)
{
	return p->nrules;
}

const char *pin_policy_verdict_str(enum policy_verdict v)
{
	switch (v) {
	case POLICY_DENY_CLIENT:
		return "internal client not a global address of the LAN";
	case POLICY_DENY_FAMILY:
		return "an IPv6 pinhole for an IPv4 control point";
	case POLICY_DENY_RULE:
		return "denied by pinhole_acl";
	default:
		return policy_verdict_str(v);   /* the same words as for a mapping */
	}
}

enum policy_verdict pin_policy_check(const struct pin_policy *p, const struct policy_lan *lan,
				     const struct ipaddr *peer, const struct in6_addr *client,
				     uint16_t int_port)
{
	struct ipaddr c = ipaddr_from_v6(client, 0);
	size_t i;

	/* Step 1. */
	if (!lan || !lan->lan || !in6_is_unicast_global(client) || in6_is_ula(client) ||
	    !lan_host_ok(lan->lan, lan->wan6, &c) || (lan->wan6 && lan_wan6_has(lan->wan6, &c)))
		return POLICY_DENY_CLIENT;
	/* Step 1b. */
	if (!peer || peer->family != AF_INET6)
		return POLICY_DENY_FAMILY;
	/* Step 2. */
	for (i = 0; i < p->nrules; i++) {
		const struct pin_rule *r = &p->rules[i];

		if (r->lan >= 0 && (unsigned)r->lan != lan->lan->index)
			continue;
		if (int_port < r->lo || int_port > r->hi ||
		    !in6_prefix_match(client, &r->addr, r->plen))
			continue;
		return r->allow ? POLICY_ALLOW : POLICY_DENY_RULE;
	}
	/* Step 3. */
	if (!IN6_ARE_ADDR_EQUAL(&peer->u.v6, client))
		return POLICY_DENY_THIRD_PARTY;
	if (int_port < WELL_KNOWN_END)
		return POLICY_DENY_PORT;
	return POLICY_ALLOW;
}
