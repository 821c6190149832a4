/*
 * wanipv6fc.c - WANIPv6FirewallControl:1 (UPnP-gw-WANIPv6FirewallControl-v1,
 * 2010; ISO/IEC 29341-24-11 numbers in brackets).
 *
 * State variables (2.4 [5.3]): FirewallEnabled (2.4.2) and
 * InboundPinholeAllowed (2.4.3), both evented and not moderated (2.5
 * [5.4]); the argument types 2.4.4 - 2.4.11 (A_ARG_TYPE_LeaseTime
 * 1..86400, 2.4.8). The service has no SystemUpdateID: a pinhole's
 * change is seen by no subscriber.
 *
 * Actions (2.6 [5.5]) and the errors each gives, checked in this order:
 *   GetFirewallStatus (2.6.1): none.
 *   GetOutboundPinholeTimeout (2.6.2): 702; 402 for a malformed
 *     address; 705 for a protocol other than TCP, UDP, UDP-Lite or the
 *     wildcard 65535; 606 when InternalClient is given and the policy
 *     would not let the caller open a pinhole to it. Every IN argument
 *     may be a wildcard. The answer is the firewall's connection-tracking
 *     timeout of the protocol (the longest of the three for 65535).
 *   AddPinhole (2.6.3): 702, 703; 402 for a malformed RemoteHost;
 *     708 for an empty InternalClient, 402 for a malformed one; 707 for
 *     Protocol 65535, 705 for any other than 6, 17, 136; 706 for
 *     InternalPort 0; 606 from the policy (2.6.3.3: the internal client
 *     is the control point itself and the port >= 1024 unless a
 *     pinhole_acl rule says otherwise; never the gateway's own address;
 *     core/pin_policy.h); 402 for a LeaseTime outside 1..86400 (what
 *     both public implementations answer; the dispatcher checks it
 *     first); 701 when max_pinholes or max_pinholes_per_client is
 *     reached; 501 when the backend fails. The same five values as an
 *     existing pinhole renew its lease and return its UniqueID.
 *   UpdatePinhole (2.6.4), DeletePinhole (2.6.5), GetPinholePackets
 *     (2.6.6), CheckPinholeWorking (2.6.7): 702, 703; 704 for a UniqueID
 *     no pinhole has, and also for one the caller may not see (another
 *     client's: answering 606 there would tell a probing control point
 *     which UniqueIDs exist; docs/POLICY.md); 402 for NewLeaseTime
 *     outside 1..86400. CheckPinholeWorking: 709 until a packet went
 *     through, then IsWorking = 1.
 * errorDescriptions are this service's own (701-709 mean other things
 * in WANIPConnection).
 *
 * RemoteHost wildcards: "" (the spec's), and "*", "::" and "::/0", which
 * clients send (miniupnpd and the IGD:2 reference implementation accept
 * "*"; syncthing sends "::/0").
 */
#include "svc/wanipv6fc.h"

#include "core/pin_policy.h"
#include "core/pinhole.h"
#include "engine.h"
#include "svc/pinholes.h"
#include "svc/svc_table.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <string.h>

enum {
	E_PINHOLE_SPACE_EXHAUSTED = 701,
	E_FIREWALL_DISABLED = 702,
	E_INBOUND_PINHOLE_NOT_ALLOWED = 703,
	E_NO_SUCH_ENTRY = 704,
	E_PROTOCOL_NOT_SUPPORTED = 705,
	E_INTERNAL_PORT_WILDCARD = 706,
	E_PROTOCOL_WILDCARD = 707,
	E_SRC_IP_WILDCARD = 708,
	E_NO_TRAFFIC_RECEIVED = 709,
};

static const struct service_error errors[] = {
	{ E_PINHOLE_SPACE_EXHAUSTED, "PinholeSpaceExhausted" },
	{ E_FIREWALL_DISABLED, "FirewallDisabled" },
	{ E_INBOUND_PINHOLE_NOT_ALLOWED, "InboundPinholeNotAllowed" },
	{ E_NO_SUCH_ENTRY, "NoSuchEntry" },
	{ E_PROTOCOL_NOT_SUPPORTED, "ProtocolNotSupported" },
	{ E_INTERNAL_PORT_WILDCARD, "InternalPortWildcardingNotAllowed" },
	{ E_PROTOCOL_WILDCARD, "ProtocolWildcardingNotAllowed" },
	{ E_SRC_IP_WILDCARD, "WildCardNotPermittedInSrcIP" },
	{ E_NO_TRAFFIC_RECEIVED, "NoTrafficReceived" },
};

#define PROTO_WILDCARD 65535u

static const struct statevar vars[] = {
	VAR("FirewallEnabled", SVAR_BOOLEAN, true),
	VAR("A_ARG_TYPE_IPv6Address", SVAR_STRING, false),
	VAR("A_ARG_TYPE_Port", SVAR_UI2, false),
	VAR("A_ARG_TYPE_Protocol", SVAR_UI2, false),
	VAR("A_ARG_TYPE_UniqueID", SVAR_UI2, false),
	{ .name = "A_ARG_TYPE_LeaseTime", .type = SVAR_UI4, .ranged = true, .min = 1,
	  .max = 86400, .range_error = UPNP_E_INVALID_ARGS, .min_version = 1 },
	VAR("InboundPinholeAllowed", SVAR_BOOLEAN, true),
	VAR("A_ARG_TYPE_OutboundPinholeTimeout", SVAR_UI4, false),
	VAR("A_ARG_TYPE_Boolean", SVAR_BOOLEAN, false),
	VAR("A_ARG_TYPE_PinholePackets", SVAR_UI4, false),
};

static const struct action_arg status_args[] = {
	OUT("FirewallEnabled", "FirewallEnabled"),
	OUT("InboundPinholeAllowed", "InboundPinholeAllowed"),
};
static const struct action_arg outbound_args[] = {
	IN("RemoteHost", "A_ARG_TYPE_IPv6Address"),
	IN("RemotePort", "A_ARG_TYPE_Port"),
	IN("InternalClient", "A_ARG_TYPE_IPv6Address"),
	IN("InternalPort", "A_ARG_TYPE_Port"),
	IN("Protocol", "A_ARG_TYPE_Protocol"),
	OUT("OutboundPinholeTimeout", "A_ARG_TYPE_OutboundPinholeTimeout"),
};
static const struct action_arg add_args[] = {
	IN("RemoteHost", "A_ARG_TYPE_IPv6Address"),
	IN("RemotePort", "A_ARG_TYPE_Port"),
	IN("InternalClient", "A_ARG_TYPE_IPv6Address"),
	IN("InternalPort", "A_ARG_TYPE_Port"),
	IN("Protocol", "A_ARG_TYPE_Protocol"),
	IN("LeaseTime", "A_ARG_TYPE_LeaseTime"),
	OUT("UniqueID", "A_ARG_TYPE_UniqueID"),
};
static const struct action_arg update_args[] = {
	IN("UniqueID", "A_ARG_TYPE_UniqueID"),
	IN("NewLeaseTime", "A_ARG_TYPE_LeaseTime"),
};
static const struct action_arg delete_args[] = {
	IN("UniqueID", "A_ARG_TYPE_UniqueID"),
};
static const struct action_arg packets_args[] = {
	IN("UniqueID", "A_ARG_TYPE_UniqueID"),
	OUT("PinholePackets", "A_ARG_TYPE_PinholePackets"),
};
static const struct action_arg check_args[] = {
	IN("UniqueID", "A_ARG_TYPE_UniqueID"),
	OUT("IsWorking", "A_ARG_TYPE_Boolean"),
};

/* 702 / 703, the first check of every action that touches pinholes. */
static int state_error(const struct engine *e)
{
	if (!pinholes_firewall_enabled(e))
		return E_FIREWALL_DISABLED;
	if (!pinholes_allowed(e))
		return E_INBOUND_PINHOLE_NOT_ALLOWED;
	return 0;
}

/* An IPv6 address argument: "" (and the forms clients send for it) is
 * the wildcard, *ret = ::. 0, or 402 for anything but an IPv6 address. */
static int parse_v6(struct str s, struct in6_addr *ret, bool *ret_wild)
{
	struct ipaddr a;

	s = str_trim(s);
	*ret_wild = s.len == 0 || str_eq_cstr(s, "*") || str_eq_cstr(s, "::") ||
		    str_eq_cstr(s, "::/0");
	memset(ret, 0, sizeof(*ret));
	if (*ret_wild)
		return 0;
	if (ipaddr_parse(s, &a) < 0 || a.family != AF_INET6 || IN6_IS_ADDR_MULTICAST(&a.u.v6))
		return UPNP_E_INVALID_ARGS;
	*ret = a.u.v6;
	return 0;
}

/* 707 for the wildcard when it is refused, 705 for another protocol. */
static int check_proto(uint32_t proto, bool wildcard_ok)
{
	if (proto == PROTO_WILDCARD)
		return wildcard_ok ? 0 : E_PROTOCOL_WILDCARD;
	return pin_proto_name((uint8_t)proto) && proto < 256 ? 0 : E_PROTOCOL_NOT_SUPPORTED;
}

static void log_refused(const struct action_ctx *ctx, const char *what, enum policy_verdict v)
{
	char peer[IPADDR_STRLEN];

	log_debug("%s: %s refused (606): %s", ipaddr_ntop(&ctx->peer, peer, sizeof(peer)), what,
		  pin_policy_verdict_str(v));
}

static int get_status(struct action_ctx *ctx)
{
	action_out_bool(ctx, "FirewallEnabled", pinholes_firewall_enabled(ctx->e));
	action_out_bool(ctx, "InboundPinholeAllowed", pinholes_allowed(ctx->e));
	return 0;
}

static int get_outbound(struct action_ctx *ctx)
{
	struct engine *e = ctx->e;
	static const uint8_t protos[] = { PIN_PROTO_TCP, PIN_PROTO_UDP, PIN_PROTO_UDPLITE };
	uint32_t proto = action_in_u32(ctx, "Protocol"), t, best = 0;
	uint16_t port = (uint16_t)action_in_u32(ctx, "InternalPort");
	struct in6_addr rh, ic;
	bool rwild, iwild;
	enum policy_verdict v;
	unsigned i;
	int r;

	if (!pinholes_firewall_enabled(e))
		return E_FIREWALL_DISABLED;
	if ((r = parse_v6(action_in_str(ctx, "RemoteHost"), &rh, &rwild)) != 0 ||
	    (r = parse_v6(action_in_str(ctx, "InternalClient"), &ic, &iwild)) != 0)
		return r;
	if ((r = check_proto(proto, true)) != 0)
		return r;
	if (!iwild) {
		v = pinholes_check(e, ctx->lan, &ctx->peer, &ic, port ? port : UINT16_MAX);
		if (v != POLICY_ALLOW) {
			log_refused(ctx, "GetOutboundPinholeTimeout", v);
			return UPNP_E_ACTION_NOT_AUTHORIZED;
		}
	}
	if (!e->backend.ops->pin_outbound_timeout)
		return UPNP_E_ACTION_FAILED;
	for (i = 0; i < N(protos); i++) {
		if (proto != PROTO_WILDCARD && proto != protos[i])
			continue;
		if (e->backend.ops->pin_outbound_timeout(&e->backend, protos[i], &t) < 0)
			return UPNP_E_ACTION_FAILED;
		if (t > best)
			best = t;
	}
	action_out_u32(ctx, "OutboundPinholeTimeout", best);
	return 0;
}

static int add_pinhole(struct action_ctx *ctx)
{
	struct engine *e = ctx->e;
	struct pinhole t, *p = NULL;
	uint32_t proto = action_in_u32(ctx, "Protocol");
	enum policy_verdict v;
	bool rwild, iwild;
	int r;

	/* A change waits for its turn (engine_tx.h), then completes here. */
	if ((r = action_turn(ctx)) != 0)
		return r;

	if ((r = state_error(e)) != 0)
		return r;
	memset(&t, 0, sizeof(t));
	if ((r = parse_v6(action_in_str(ctx, "RemoteHost"), &t.remote, &rwild)) != 0)
		return r;
	if (str_trim(action_in_str(ctx, "InternalClient")).len == 0)
		return E_SRC_IP_WILDCARD;
	if ((r = parse_v6(action_in_str(ctx, "InternalClient"), &t.internal, &iwild)) != 0)
		return r;
	if (iwild)
		return E_SRC_IP_WILDCARD;
	if ((r = check_proto(proto, false)) != 0)
		return r;
	t.remote_port = (uint16_t)action_in_u32(ctx, "RemotePort");
	t.int_port = (uint16_t)action_in_u32(ctx, "InternalPort");
	if (t.int_port == 0)
		return E_INTERNAL_PORT_WILDCARD;
	t.proto = (uint8_t)proto;
	t.origin = PIN_ORIGIN_UPNP;
	t.lan = (uint8_t)ctx->lan;
	t.owner = ctx->peer;
	switch (pinholes_open(e, &t, action_in_u32(ctx, "LeaseTime"), &v, &p)) {
	case PINHOLES_OK:
		break;
	case PINHOLES_DENIED:
		log_refused(ctx, "AddPinhole", v);
		return UPNP_E_ACTION_NOT_AUTHORIZED;
	case PINHOLES_FULL:
		return E_PINHOLE_SPACE_EXHAUSTED;
	default:
		return UPNP_E_ACTION_FAILED;
	}
	action_out_u32(ctx, "UniqueID", p->uid);
	return 0;
}

/* The pinhole the request's UniqueID names, if the caller may see it. */
static int find_visible(struct action_ctx *ctx, struct pinhole **ret)
{
	struct pinhole *p;
	int r;

	if ((r = state_error(ctx->e)) != 0)
		return r;
	p = pin_find(ctx->e->pins, (uint16_t)action_in_u32(ctx, "UniqueID"));
	if (!p || !pinholes_visible(ctx->e, ctx->lan, &ctx->peer, p))
		return E_NO_SUCH_ENTRY;
	*ret = p;
	return 0;
}

static int update_pinhole(struct action_ctx *ctx)
{
	struct pinhole *p;
	int r = action_turn(ctx);

	if (r || (r = find_visible(ctx, &p)) != 0)
		return r;
	/* 501 when the lease file cannot take it (engine_tx.h): unchanged. */
	return pinholes_set_lease(ctx->e, p, action_in_u32(ctx, "NewLeaseTime")) < 0 ?
	       UPNP_E_ACTION_FAILED : 0;
}

static int delete_pinhole(struct action_ctx *ctx)
{
	struct pinhole *p;
	int r = action_turn(ctx);

	if (r || (r = find_visible(ctx, &p)) != 0)
		return r;
	return pinholes_close(ctx->e, p, "deleted") < 0 ? UPNP_E_ACTION_FAILED : 0;
}

/* The packets through the pinhole the request names, when the control
 * point may see it: 0, or its UPnP error. */
static int visible_packets(struct action_ctx *ctx, uint64_t *ret)
{
	struct pinhole *p;
	int r = find_visible(ctx, &p);

	if (r)
		return r;
	return pinholes_packets(ctx->e, p, ret) < 0 ? UPNP_E_ACTION_FAILED : 0;
}

static int get_packets(struct action_ctx *ctx)
{
	uint64_t n;
	int r = visible_packets(ctx, &n);

	if (r)
		return r;
	action_out_u32(ctx, "PinholePackets", (uint32_t)(n & 0xffffffffu));
	return 0;
}

static int check_working(struct action_ctx *ctx)
{
	uint64_t n;
	int r = visible_packets(ctx, &n);

	if (r)
		return r;
	if (n == 0)
		return E_NO_TRAFFIC_RECEIVED;
	action_out_bool(ctx, "IsWorking", true);
	return 0;
}

static const struct action actions[] = {
	ACT("GetFirewallStatus", status_args, 1, get_status),
	ACT("GetOutboundPinholeTimeout", outbound_args, 1, get_outbound),
	ACT("AddPinhole", add_args, 1, add_pinhole),
	ACT("UpdatePinhole", update_args, 1, update_pinhole),
	ACT("DeletePinhole", delete_args, 1, delete_pinhole),
	ACT("GetPinholePackets", packets_args, 1, get_packets),
	ACT("CheckPinholeWorking", check_args, 1, check_working),
};

/* QueryStateVariable and the events: the two evented variables. */
static int query(struct engine *e, const struct statevar *var, struct buf *out)
{
	bool v;

	if (strcmp(var->name, "FirewallEnabled") == 0)
		v = pinholes_firewall_enabled(e);
	else if (strcmp(var->name, "InboundPinholeAllowed") == 0)
		v = pinholes_allowed(e);
	else
		return UPNP_E_INVALID_VAR;
	return buf_puts(out, v ? "1" : "0") < 0 ? UPNP_E_ACTION_FAILED : 0;
}

static const struct service wanipv6fc = {
	.type = WANIPV6FC_TYPE,
	.version = 1,
	.service_id = "urn:upnp-org:serviceId:WANIPv6Firewall1",
	.control_url = "/ctl/IP6FCtl",
	.event_url = "/evt/IP6FCtl",
	.scpd_url = "/WANIP6FC.xml",
	.scpd_url_v1 = NULL,
	.vars = vars,
	.nvars = N(vars),
	.actions = actions,
	.nactions = N(actions),
	.query = query,
	.errors = errors,
	.nerrors = N(errors),
};

const struct service *wanipv6fc_service(void)
{
	return &wanipv6fc;
}
