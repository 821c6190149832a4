/*
 * policy.c - the IGD:2 security policy and the ACL (WANIPConnection:2
 * section 1.2; 2.5.14 - 2.5.21 "Service Requirements"; 2.3.21 for the
 * broadcast internal client). The decision steps are in policy.h, the
 * administrator's view in docs/POLICY.md.
 *
 * Rules are compiled once, at engine start (and on reload), from the
 * config parser's normalised strings; a check is a walk over at most
 * IGDD_CONF_MAX_ACL rules.
 */
#include "core/policy.h"

#include "core/mapping.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WELL_KNOWN_END 1024     /* ports below are "well-known" (1.2) */

struct acl_rule {
	bool allow;
	uint16_t ext_lo, ext_hi;
	uint32_t addr, mask;            /* host order; addr already masked */
	uint16_t int_lo, int_hi;
	int lan;                        /* the LAN it is limited to (lan_interface index), -1: any */
};

struct policy {
	bool secure;
	size_t nrules;
	struct acl_rule rules[IGDD_CONF_MAX_ACL];
};

/* Next space-separated field of *s (advanced past it). */
static struct str next_field(struct str *s)
{
	struct str f;

	while (s->len && (*s->p == ' ' || *s->p == '\t')) {
		s->p++;
		s->len--;
	}
	f.p = s->p;
	f.len = 0;
	while (f.len < s->len && f.p[f.len] != ' ' && f.p[f.len] != '\t')
		f.len++;
	s->p += f.len;
	s->len -= f.len;
	return f;
}

/* "N" or "N-M", 0..65535, N <= M. */
static int parse_ports(struct str f, uint16_t *ret_lo, uint16_t *ret_hi)
{
	const char *dash = f.len ? memchr(f.p, '-', f.len) : NULL;
	uint64_t lo, hi;

	if (dash) {
		if (str_to_u64(str_from(f.p, (size_t)(dash - f.p)), 65535, &lo) < 0 ||
		    str_to_u64(str_from(dash + 1, f.len - (size_t)(dash - f.p) - 1), 65535, &hi) < 0)
			return -EINVAL;
	} else {
		if (str_to_u64(f, 65535, &lo) < 0)
			return -EINVAL;
		hi = lo;
	}
	if (lo > hi)
		return -EINVAL;
	*ret_lo = (uint16_t)lo;
	*ret_hi = (uint16_t)hi;
	return 0;
}

/* "A.B.C.D" or "A.B.C.D/P". */
static int parse_prefix(struct str f, uint32_t *ret_addr, uint32_t *ret_mask)
{
	const char *slash = f.len ? memchr(f.p, '/', f.len) : NULL;
	char text[INET_ADDRSTRLEN];
	struct in_addr a;
	uint64_t plen = 32;
	uint32_t mask;

	if (slash) {
		if (str_to_u64(str_from(slash + 1, f.len - (size_t)(slash - f.p) - 1), 32, &plen) < 0)
			return -EINVAL;
		f.len = (size_t)(slash - f.p);
	}
	if (str_copy(f, text, sizeof(text)) < 0 || inet_pton(AF_INET, text, &a) != 1)
		return -EINVAL;
	mask = plen ? UINT32_MAX << (32 - plen) : 0;
	*ret_addr = ntohl(a.s_addr) & mask;
	*ret_mask = mask;
	return 0;
}

static int parse_rule(const struct policy_conf *pc, const char *text, struct acl_rule *ret)
{
	struct str s = str_cstr(text), verb, ext, addr, in, on, lan;
	struct acl_rule r;

	memset(&r, 0, sizeof(r));
	verb = next_field(&s);
	ext = next_field(&s);
	addr = next_field(&s);
	in = next_field(&s);
	on = next_field(&s);
	lan = next_field(&s);
	if (next_field(&s).len != 0)
		return -EINVAL;
	r.lan = -1;
	if (on.len != 0) {
		if (!str_eq_cstr(on, "on") || lan.len == 0)
			return -EINVAL;
		r.lan = policy_conf_lan_index(pc, lan.p, lan.len);
		if (r.lan < 0)
			return -EINVAL;
	}
	if (str_eq_cstr(verb, "allow"))
		r.allow = true;
	else if (!str_eq_cstr(verb, "deny"))
		return -EINVAL;
	if (parse_ports(ext, &r.ext_lo, &r.ext_hi) < 0 ||
	    parse_prefix(addr, &r.addr, &r.mask) < 0 ||
	    parse_ports(in, &r.int_lo, &r.int_hi) < 0)
		return -EINVAL;
	*ret = r;
	return 0;
}

int policy_conf_lan_index(const struct policy_conf *pc, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < pc->nlans && i < IGDD_CONF_MAX_LANS; i++)
		if (pc->lans[i] && strlen(pc->lans[i]) == len && memcmp(pc->lans[i], name, len) == 0)
			return (int)i;
	return -1;
}

struct policy *policy_new(const struct policy_conf *pc, char *err, size_t errsz)
{
	struct policy *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	p->secure = pc->secure;
	for (i = 0; i < pc->nacl && i < IGDD_CONF_MAX_ACL; i++) {
		if (parse_rule(pc, pc->acl[i], &p->rules[i]) < 0) {
			snprintf(err, errsz, "acl rule %zu '%.*s': expected "
				 "'allow|deny EXT_PORTS INT_ADDR[/PREFIX] INT_PORTS [on LAN_INTERFACE]' "
				 "with a lan_interface",
				 i + 1, (int)strnlen(pc->acl[i], IGDD_CONF_MAX_ACL_LEN), pc->acl[i]);
			free(p);
			return NULL;
		}
	}
	p->nrules = i;
	return p;
}

void policy_free(struct policy *p)
{
	free(p);
}

bool policy_remote_host_ok(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) < 14;
}

bool policy_secure(const struct policy *p)
{
	return p->secure;
}

bool policy_manage_allowed(const struct policy *p)
{
	return !p->secure;
}

size_t policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

const char *policy_verdict_str(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "allowed";
	case POLICY_DENY_CLIENT:
		return "internal client not a LAN host";
	case POLICY_DENY_FAMILY:
		return "an IPv4 mapping for an IPv6 control point";
	case POLICY_DENY_THIRD_PARTY:
		return "internal client is not the control point";
	case POLICY_DENY_RULE:
		return "denied by acl";
	case POLICY_DENY_PORT:
		return "well-known port";
	}
	return "?";
}

/* Step 1: a host of the LAN, or 255.255.255.255 for UDP (2.3.21). */
static bool client_ok(const struct policy_lan *lan, const struct ipaddr *c, uint8_t proto)
{
	if (ipaddr_is_v4(c) && c->u.v4.s_addr == INADDR_BROADCAST)
		return proto == MAP_UDP;
	if (!lan->lan)
		return false;
	/* Never the gateway itself, except on a loopback "LAN" (the sim
	 * backend on lo, for developers: lan_host_ok()). */
	return lan_host_ok(lan->lan, lan->wan6, c);
}

/* A rule's address part (IPv4 clients only); the limited broadcast is
 * matched only by a rule naming it (/32), never by a wider prefix such
 * as 0.0.0.0/0. */
static bool rule_matches_client(const struct acl_rule *r, const struct ipaddr *c)
{
	uint32_t client;

	if (!ipaddr_is_v4(c))
		return false;
	client = ntohl(c->u.v4.s_addr);
	if (client == UINT32_MAX && r->mask != UINT32_MAX)
		return false;
	return (client & r->mask) == r->addr;
}

/* lan: the position in lan_interface of the request's LAN (-1: unknown). */
static bool rule_matches(const struct acl_rule *r, int lan, const struct ipaddr *client,
			 uint16_t ext, uint16_t in)
{
	return ext >= r->ext_lo && ext <= r->ext_hi && in >= r->int_lo && in <= r->int_hi &&
	       (r->lan < 0 || (lan >= 0 && r->lan == lan)) && rule_matches_client(r, client);
}

/* Steps 1, 1b and 2. */
static enum policy_verdict check_client(const struct policy *p, const struct policy_lan *lan,
					const struct policy_subject *s)
{
	if (!client_ok(lan, &s->internal_client, s->proto))
		return POLICY_DENY_CLIENT;
	if (s->peer.family != s->internal_client.family)
		return POLICY_DENY_FAMILY;
	if (p->secure && !ipaddr_eq(&s->internal_client, &s->peer))
		return POLICY_DENY_THIRD_PARTY;
	return POLICY_ALLOW;
}

/* Step 4, the default rule. */
static enum policy_verdict default_rule(const struct ipaddr *client, uint16_t ext, uint16_t in)
{
	if (ipaddr_is_v4(client) && client->u.v4.s_addr == INADDR_BROADCAST)
		return POLICY_DENY_CLIENT;
	if (ext < WELL_KNOWN_END || in < WELL_KNOWN_END)
		return POLICY_DENY_PORT;
	return POLICY_ALLOW;
}

/* Steps 3 and 4. */
static enum policy_verdict ports_verdict(const struct policy *p, int lan,
					 const struct ipaddr *client, uint16_t ext, uint16_t in)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		if (rule_matches(&p->rules[i], lan, client, ext, in))
			return p->rules[i].allow ? POLICY_ALLOW : POLICY_DENY_RULE;
	return default_rule(client, ext, in);
}

enum policy_verdict policy_check_ports(const struct policy *p, int lan, struct in_addr client,
				       uint16_t ext_port, uint16_t int_port)
{
	struct ipaddr c = ipaddr_from_v4(client);

	return ports_verdict(p, lan, &c, ext_port, int_port);
}

enum policy_verdict policy_check(const struct policy *p, const struct policy_lan *lan,
				 const struct policy_subject *s)
{
	enum policy_verdict v = check_client(p, lan, s);

	if (v != POLICY_ALLOW)
		return v;
	return ports_verdict(p, lan->lan ? (int)lan->lan->index : -1, &s->internal_client,
			     s->ext_port, s->int_port);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The verdict over external ports is constant between boundaries (1,
 * 1024, each matching rule's lo and hi + 1): evaluate it once per
 * segment and merge the allowed ones.
 */
size_t policy_ext_ranges(const struct policy *p, const struct policy_lan *lan,
			 const struct policy_subject *s, struct policy_range *out)
{
	uint32_t cuts[POLICY_MAX_RANGES + 1];
	const struct ipaddr *client = &s->internal_client;
	int lan_index = lan->lan ? (int)lan->lan->index : -1;
	size_t ncuts = 0, nout = 0, i;

	if (check_client(p, lan, s) != POLICY_ALLOW)
		return 0;
	cuts[ncuts++] = 1;
	cuts[ncuts++] = WELL_KNOWN_END;
	for (i = 0; i < p->nrules; i++) {
		const struct acl_rule *r = &p->rules[i];

		cuts[ncuts++] = r->ext_lo ? r->ext_lo : 1;
		cuts[ncuts++] = (uint32_t)r->ext_hi + 1;
	}
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_u32);
	for (i = 0; i < ncuts && cuts[i] <= 65535; i++) {
		uint32_t lo = cuts[i], hi = 65535, j;

		if (i + 1 < ncuts && cuts[i + 1] - 1 < hi)
			hi = cuts[i + 1] - 1;
		if (hi < lo)
			continue;       /* a repeated boundary */
		for (j = 0; j < p->nrules; j++)
			if (rule_matches(&p->rules[j], lan_index, client, (uint16_t)lo, s->int_port))
				break;
		if (j < p->nrules ? !p->rules[j].allow :
		    default_rule(client, (uint16_t)lo, s->int_port) != POLICY_ALLOW)
			continue;
		if (nout && out[nout - 1].hi + 1u == lo)
			out[nout - 1].hi = (uint16_t)hi;
		else
			out[nout++] = (struct policy_range){ (uint16_t)lo, (uint16_t)hi };
	}
	return nout;
}
