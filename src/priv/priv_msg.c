/*
 * priv_msg.c - checking a request the way the helper sees it (see
 * priv_msg.h): exact size, version, operation, count, and every entry
 * against the static policy; and checking an admin grant. Pure.
 */
#include "priv/priv_msg.h"

#include "core/policy.h"
#include "priv/nft_pin.h"
#include "priv/nft_rules.h"

#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

_Static_assert(sizeof(struct priv_entry) == 16, "priv_entry must stay 16 bytes");
_Static_assert(sizeof(struct priv_reply) == 32, "priv_reply must stay 32 bytes");
_Static_assert(sizeof(struct priv_grant) == 32, "priv_grant must stay 32 bytes");
_Static_assert(sizeof(struct nft_pin) == 40, "nft_pin must stay 40 bytes");

static bool in_net(struct in_addr a, const struct priv_lan_net *n)
{
	uint32_t mask = n->plen == 0 ? 0 : UINT32_MAX << (32 - n->plen);
	uint32_t h = ntohl(a.s_addr);

	if (n->plen == 0 || (h & mask) != ntohl(n->net.s_addr))
		return false;
	/* Not the prefix's network or broadcast address (when it has them). */
	if (n->plen <= 30 && ((h & ~mask) == 0 || (h & ~mask) == ~mask))
		return false;
	return true;
}

int priv_lan_of(const struct priv_policy *pol, struct in_addr a)
{
	unsigned i;

	for (i = 0; i < pol->nlan && i < IGDD_CONF_MAX_LANS; i++)
		if (in_net(a, &pol->lan[i]))
			return (int)pol->lan[i].index;
	return -1;
}

static bool in_lan(struct in_addr a, const struct priv_policy *pol)
{
	return priv_lan_of(pol, a) >= 0;
}

static const char *entry_problem(const struct priv_entry *pe, const struct priv_policy *pol)
{
	if (pe->proto != IPPROTO_TCP && pe->proto != IPPROTO_UDP)
		return "protocol is neither TCP nor UDP";
	if (pe->ext_port == 0 || pe->int_port == 0)
		return "port 0";
	if (pe->pad[0] || pe->pad[1] || pe->pad[2])
		return "entry padding not zero";
	if (!in_lan(pe->internal, pol))
		return "internal address outside the LAN prefix";
	if (pe->remote_host.s_addr != 0 && !policy_remote_host_ok(pe->remote_host))
		return "remote host is not a unicast address";
	return NULL;
}

static bool in_lan6(const struct in6_addr *a, const struct priv_policy *pol)
{
	unsigned i;

	for (i = 0; i < pol->nlan6 && i < PRIV_MAX_NET6; i++)
		if (in6_prefix_match(a, &pol->lan6[i].net, pol->lan6[i].plen))
			return true;
	return false;
}

static bool own6(const struct in6_addr *a, const struct priv_policy *pol)
{
	unsigned i;

	if (pol->own6_overflow)
		return true;
	for (i = 0; i < pol->nown6 && i < PRIV_MAX_OWN6; i++)
		if (IN6_ARE_ADDR_EQUAL(a, &pol->own6[i]))
			return true;
	return false;
}

/* What no client request could obtain (core/pin_policy.h step 1). */
static const char *pin_problem(const struct nft_pin *p, const struct priv_policy *pol)
{
	if (p->pad[0] || p->pad[1] || p->pad[2])
		return "pinhole padding not zero";
	if (!nft_pin_ok(p))
		return "pinhole protocol, port or address not valid";
	if (in6_is_ula(&p->internal) || !in_lan6(&p->internal, pol))
		return "pinhole internal address outside the LAN's IPv6 prefixes";
	if (own6(&p->internal, pol))
		return "pinhole to one of the gateway's own addresses";
	return NULL;
}

bool priv_policy_eq(const struct priv_policy *a, const struct priv_policy *b)
{
	unsigned i;

	if (a->nlan != b->nlan || a->nlan6 != b->nlan6 || a->nown6 != b->nown6 ||
	    a->own6_overflow != b->own6_overflow)
		return false;
	for (i = 0; i < a->nlan && i < IGDD_CONF_MAX_LANS; i++)
		if (a->lan[i].net.s_addr != b->lan[i].net.s_addr || a->lan[i].plen != b->lan[i].plen ||
		    a->lan[i].index != b->lan[i].index)
			return false;
	for (i = 0; i < a->nlan6 && i < PRIV_MAX_NET6; i++)
		if (a->lan6[i].plen != b->lan6[i].plen ||
		    !IN6_ARE_ADDR_EQUAL(&a->lan6[i].net, &b->lan6[i].net))
			return false;
	for (i = 0; i < a->nown6 && i < PRIV_MAX_OWN6; i++)
		if (!IN6_ARE_ADDR_EQUAL(&a->own6[i], &b->own6[i]))
			return false;
	return true;
}

/* The port rules and the ACL (core/policy.h steps 3 and 4). */
static const char *ports_problem(const struct priv_entry *pe, const struct priv_policy *pol)
{
	struct in_addr c = pe->internal;

	if (!pol->ports)
		return NULL;
	switch (policy_check_ports(pol->ports, priv_lan_of(pol, c), c, pe->ext_port,
				   pe->int_port)) {
	case POLICY_ALLOW:
		return NULL;
	case POLICY_DENY_RULE:
		return "denied by acl";
	default:
		return "well-known port";
	}
}

static const char *header_problem(const struct priv_req *rq, bool fd)
{
	if (rq->version != PRIV_MSG_VERSION)
		return "wrong version";
	if (rq->pad != 0)
		return "header padding not zero";
	if (fd && (rq->op != PRIV_OP_APPLY || rq->count != 1))
		return "a grant with something else than one mapping to apply";
	switch (rq->op) {
	case PRIV_OP_FLUSH:
		return rq->count == 0 ? NULL : "flush with entries";
	case PRIV_OP_WAN_UP:
	case PRIV_OP_WAN_DOWN:
		return rq->count == 0 ? NULL : "WAN command with entries";
	case PRIV_OP_RELOAD:
		return rq->count == 0 ? NULL : "reload with entries";
	case PRIV_OP_PIN_ADD:
	case PRIV_OP_PIN_DEL:
	case PRIV_OP_PIN_PACKETS:
		return rq->count == 0 ? NULL : "pinhole with entries";
	case PRIV_OP_APPLY:
	case PRIV_OP_REMOVE:
		return rq->count == 0 || rq->count > PRIV_BATCH_MAX ? "entry count out of range" :
		       NULL;
	default:
		return "unknown operation";
	}
}

int priv_msg_check(const void *msg, size_t len, bool fd, const struct priv_policy *pol,
		   bool granted, const char **ret_why)
{
	const struct priv_req *rq = msg;
	const char *why = NULL;
	bool mapping;
	size_t i;
	int r = -EINVAL;

	if (len != sizeof(struct priv_req))
		why = "wrong message size";
	else
		why = header_problem(rq, fd);
	if (!why && (rq->op == PRIV_OP_PIN_ADD || rq->op == PRIV_OP_PIN_DEL ||
		     rq->op == PRIV_OP_PIN_PACKETS))
		why = pin_problem(&rq->pin, pol);
	mapping = !why && (rq->op == PRIV_OP_APPLY || rq->op == PRIV_OP_REMOVE);
	for (i = 0; mapping && !why && i < rq->count; i++)
		why = entry_problem(&rq->e[i], pol);
	for (i = 0; mapping && !why && !granted && rq->op == PRIV_OP_APPLY && i < rq->count; i++) {
		why = ports_problem(&rq->e[i], pol);
		r = -EACCES;
	}
	if (why && ret_why)
		*ret_why = why;
	return why ? r : 0;
}

int priv_grant_check(const void *msg, size_t len, const struct priv_entry *want, uint64_t now_ms,
		     const char **ret_why)
{
	const struct priv_grant *g = msg;
	const char *why = NULL;

	if (len != sizeof(*g))
		why = "grant of the wrong size";
	else if (g->magic != PRIV_GRANT_MAGIC || g->version != PRIV_MSG_VERSION)
		why = "not a grant of this version";
	else if (g->created_ms > now_ms || now_ms - g->created_ms > PRIV_GRANT_MAX_AGE_MS)
		why = "grant too old";
	else if (!priv_entry_eq(&g->e, want))
		why = "grant names another mapping";
	if (why && ret_why)
		*ret_why = why;
	return why ? -EINVAL : 0;
}

bool priv_entry_eq(const struct priv_entry *a, const struct priv_entry *b)
{
	return a->remote_host.s_addr == b->remote_host.s_addr &&
	       a->internal.s_addr == b->internal.s_addr &&
	       a->ext_port == b->ext_port && a->int_port == b->int_port && a->proto == b->proto &&
	       !a->pad[0] && !a->pad[1] && !a->pad[2] && !b->pad[0] && !b->pad[1] && !b->pad[2];
}

void priv_entry_put(struct priv_entry *dst, const struct priv_entry *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->remote_host = src->remote_host;
	dst->internal = src->internal;
	dst->ext_port = src->ext_port;
	dst->int_port = src->int_port;
	dst->proto = src->proto;
}

void priv_pin_from_nft(const struct nft_pin *p, struct nft_pin *ret)
{
	nft_pin_fill(ret, &p->remote, &p->internal, p->remote_port, p->int_port, p->proto);
}

enum priv_kind priv_msg_kind(const void *msg, size_t len)
{
	const struct priv_reply *rp = msg;
	const struct priv_gone *g = msg;

	if (len < sizeof(*rp) || rp->version != PRIV_MSG_VERSION)
		return PRIV_KIND_BAD;
	if (len == sizeof(*g) && rp->event == PRIV_EVENT_GONE)
		return g->h.count >= 1 && g->h.count <= PRIV_GONE_MAX ? PRIV_KIND_GONE :
		       PRIV_KIND_BAD;
	if (len != sizeof(*rp))
		return PRIV_KIND_BAD;
	if (rp->event == PRIV_EVENT_NONE)
		return PRIV_KIND_REPLY;
	if (rp->event == PRIV_EVENT_WAN_DONE &&
	    (rp->op == PRIV_OP_WAN_UP || rp->op == PRIV_OP_WAN_DOWN))
		return PRIV_KIND_WAN_DONE;
	return PRIV_KIND_BAD;
}
