/*
 * priv_msg.c - checking a request the way the helper sees it (see
 * priv_msg.h): exact size, version, operation, count, and every entry
 * against the static policy. Pure.
 */
#include "priv/priv_msg.h"

#include "backend/nft_pin.h"
#include "backend/nft_rules.h"

#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

_Static_assert(sizeof(struct priv_entry) == 16, "priv_entry must stay 16 bytes");
_Static_assert(sizeof(struct priv_reply) == 32, "priv_reply must stay 32 bytes");
_Static_assert(sizeof(struct priv_pin) == 40, "priv_pin must stay 40 bytes");

bool priv_remote_ok(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) < 14;
}

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

static bool in_lan(struct in_addr a, const struct priv_policy *pol)
{
	unsigned i;

	for (i = 0; i < pol->nlan && i < IGDD_CONF_MAX_LANS; i++)
		if (in_net(a, &pol->lan[i]))
			return true;
	return false;
}

static const char *entry_problem(const struct priv_entry *pe, const struct priv_policy *pol)
{
	struct in_addr a;

	if (pe->proto != IPPROTO_TCP && pe->proto != IPPROTO_UDP)
		return "protocol is neither TCP nor UDP";
	if (pe->ext_port == 0 || pe->int_port == 0)
		return "port 0";
	if (pe->pad[0] || pe->pad[1] || pe->pad[2])
		return "entry padding not zero";
	a.s_addr = pe->internal;
	if (!in_lan(a, pol))
		return "internal address outside the LAN prefix";
	a.s_addr = pe->remote_host;
	if (pe->remote_host != 0 && !priv_remote_ok(a))
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
static const char *pin_problem(const struct priv_pin *pp, const struct priv_policy *pol)
{
	struct nft_pin p;

	if (pp->pad[0] || pp->pad[1] || pp->pad[2])
		return "pinhole padding not zero";
	priv_pin_to_nft(pp, &p);
	if (!nft_pin_ok(&p))
		return "pinhole protocol, port or address not valid";
	if (in6_is_ula(&p.internal) || !in_lan6(&p.internal, pol))
		return "pinhole internal address outside the LAN's IPv6 prefixes";
	if (own6(&p.internal, pol))
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
		if (a->lan[i].net.s_addr != b->lan[i].net.s_addr || a->lan[i].plen != b->lan[i].plen)
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

int priv_msg_check(const void *msg, size_t len, const struct priv_policy *pol,
		   const char **ret_why)
{
	const struct priv_req *rq = msg;
	const char *why = NULL;
	size_t i;

	if (len != sizeof(struct priv_req))
		why = "wrong message size";
	else if (rq->version != PRIV_MSG_VERSION)
		why = "wrong version";
	else if (rq->pad != 0)
		why = "header padding not zero";
	else if (rq->op == PRIV_OP_FLUSH)
		why = rq->count == 0 ? NULL : "flush with entries";
	else if (rq->op == PRIV_OP_WAN_UP || rq->op == PRIV_OP_WAN_DOWN)
		why = rq->count == 0 ? NULL : "WAN command with entries";
	else if (rq->op == PRIV_OP_PIN_ADD || rq->op == PRIV_OP_PIN_DEL ||
		 rq->op == PRIV_OP_PIN_PACKETS)
		why = rq->count == 0 ? pin_problem(&rq->pin, pol) : "pinhole with entries";
	else if (rq->op != PRIV_OP_APPLY && rq->op != PRIV_OP_REMOVE)
		why = "unknown operation";
	else if (rq->count == 0 || rq->count > PRIV_BATCH_MAX)
		why = "entry count out of range";
	for (i = 0; !why && (rq->op == PRIV_OP_APPLY || rq->op == PRIV_OP_REMOVE) &&
		    i < rq->count; i++)
		why = entry_problem(&rq->e[i], pol);
	if (why && ret_why)
		*ret_why = why;
	return why ? -EINVAL : 0;
}

void priv_entry_to_elem(const struct priv_entry *pe, struct nft_elem *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->remote_host.s_addr = pe->remote_host;
	ret->internal.s_addr = pe->internal;
	ret->ext_port = pe->ext_port;
	ret->int_port = pe->int_port;
	ret->proto = pe->proto;
}

void priv_entry_from_elem(const struct nft_elem *e, struct priv_entry *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->remote_host = e->remote_host.s_addr;
	ret->internal = e->internal.s_addr;
	ret->ext_port = e->ext_port;
	ret->int_port = e->int_port;
	ret->proto = e->proto;
}

void priv_pin_to_nft(const struct priv_pin *pp, struct nft_pin *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->remote = pp->remote;
	ret->internal = pp->internal;
	ret->remote_port = pp->remote_port;
	ret->int_port = pp->int_port;
	ret->proto = pp->proto;
}

void priv_pin_from_nft(const struct nft_pin *p, struct priv_pin *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->remote = p->remote;
	ret->internal = p->internal;
	ret->remote_port = p->remote_port;
	ret->int_port = p->int_port;
	ret->proto = p->proto;
}
