/*
 * portmap.c - the port-mapping actions of WANIPConnection:2
 * (sections 2.5.14 - 2.5.19 and 2.5.21; Figures 2-3 and 2-4; lease rules
 * of 2.3.16; eventing of 2.3.23 and 2.4.4 - 2.4.6) over the table of
 * core/mapping.h, under the policy of core/policy.h (docs/POLICY.md).
 *
 * The dispatcher (svc/action.c) has already checked the arguments
 * against the schema: presence and types (402), the PortMappingProtocol
 * allowedValueList (601, spelling canonicalised to "TCP"/"UDP"), the
 * ranges of PortMappingLeaseDuration (0..604800) and InternalPort
 * (1..65535) (601). What remains here is their meaning. Two empty
 * values pass it, each tolerated in one action for a real client
 * (svc/wanipconn.c, docs/POLICY.md "Known client bugs"): an empty
 * NewPortMappingIndex reads as 0; an empty NewProtocol in
 * DeletePortMapping deletes the control point's entries at that port of
 * both protocols (delete_both()).
 *
 * Error codes emitted here (Table 2-51 and the per-action tables):
 *   402 Invalid Args       NewRemoteHost / NewInternalClient not a dotted
 *                          IPv4 address (we resolve no DNS names: the
 *                          loop never blocks; 2.3.17 and 2.3.21 make
 *                          names optional); a NewRemoteHost no remote
 *                          host can have (remote_host_ok())
 *   501 Action Failed      the NAT backend refused (table unchanged), the
 *                          lease file could not be written (the change
 *                          undone, engine_tx.h), or out of memory
 *   601 Argument Value Out of Range   a protocol other than TCP/UDP (the
 *                          dispatcher answers first; kept for safety)
 *   606 Action not authorized   the policy refuses the request or the
 *                          entry it names (2.5.14.3 ... 2.5.21.3), or
 *                          the nft helper's copy of it does (-EACCES)
 *   713 SpecifiedArrayIndexInvalid   index past the last entry the control
 *                          point can read (its own in secure mode, 2.5.14)
 *   714 NoSuchEntryInArray no entry with that (RemoteHost, ExternalPort,
 *                          PortMappingProtocol)
 *   715 WildCardNotPermittedInSrcIP  NewInternalClient is ""
 *   716 WildCardNotPermittedInExtPort  AddPortMapping with ExternalPort 0
 *   718 ConflictInMappingEntry  the port is mapped to another internal
 *                          client (Figure 2-3), or the gateway itself
 *                          holds it: a service of its own listens on it,
 *                          or the firewall forwards it statically (the
 *                          backend answers -EADDRINUSE; docs/POLICY.md)
 *   728 NoPortMapsAvailable     max_mappings / max_mappings_per_client
 *                          reached, or AddAnyPortMapping found no port
 *                          (ports the gateway holds are passed over)
 *   729 ConflictWithOtherMechanisms  the entry was made by NAT-PMP, PCP
 *                          or the administrator (UPnP never changes those,
 *                          but for one case: its owner asks UPnP for the
 *                          same mapping, join(); docs/POLICY.md); a new
 *                          entry while the WAN address is not public and
 *                          no upstream mirrors mappings, with
 *                          unreachable_wan = refuse (2.5.16.6: the
 *                          upstream NAT, another mechanism, holds the
 *                          port; docs/POLICY.md "Behind another NAT")
 *   730 PortMappingNotFound     nothing the control point may see/delete
 *                          in the range (2.5.19.2, 2.5.21.3)
 *   732 WildCardNotPermittedInIntPort  InternalPort 0 (the dispatcher's
 *                          range check answers 601 first today)
 *   733 InconsistentParameters  NewStartPort > NewEndPort
 *
 * Every change takes the engine's one path (engine_tx.h): the table is
 * checked (an add reserves its entry there first), the backend applies
 * it (the backend only ever holds enabled entries; a refusal rolls the
 * table back), the lease file records and commits it, then one
 * engine_changed(ENGINE_CHG_MAPPINGS) for the whole action (2.3.23: one
 * SystemUpdateID increment however many entries changed). A commit that
 * fails undoes the change and answers 501.
 */
#include "svc/portmap.h"

#include "core/mapping.h"
#include "core/policy.h"
#include "engine.h"
#include "engine_tx.h"
#include "proto/xml.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A PortMappingList holds at most 65535 entries (2.3.25.1.1). */
#define PORTLIST_MAX_ENTRIES 65535u

#define PORTLIST_NS "urn:schemas-upnp-org:gw:WANIPConnection"
#define PORTLIST_OPEN \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<p:PortMappingList xmlns:p=\"" PORTLIST_NS "\" " \
	"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" " \
	"xsi:schemaLocation=\"" PORTLIST_NS " " \
	"http://www.upnp.org/schemas/gw/WANIPConnection-v2.xsd\">\n"
#define PORTLIST_CLOSE "</p:PortMappingList>\n"

/* The IN arguments of AddPortMapping / AddAnyPortMapping, parsed. */
struct add_req {
	struct in_addr remote_host;
	struct in_addr client;
	uint16_t ext_port;
	uint16_t int_port;
	uint8_t proto;
	bool enabled;
	uint32_t lease_s;
	struct str desc;
};

static int refuse(const struct action_ctx *ctx, int code, const char *why);

/* --------------------------------------------------------- arguments */

/* "TCP" / "UDP" (the dispatcher already canonicalised the case). */
static int parse_proto(struct str s, uint8_t *ret)
{
	if (str_caseeq_cstr(s, "TCP"))
		*ret = MAP_TCP;
	else if (str_caseeq_cstr(s, "UDP"))
		*ret = MAP_UDP;
	else
		return UPNP_E_ARG_VALUE_OUT_OF_RANGE;
	return 0;
}

static int parse_ipv4(struct str s, struct in_addr *ret)
{
	char text[INET_ADDRSTRLEN];

	if (str_copy(s, text, sizeof(text)) < 0 || inet_pton(AF_INET, text, ret) != 1)
		return -EINVAL;
	return 0;
}

/*
 * NewRemoteHost (2.3.17, Table 2-11): "" is the wildcard. Tolerated as
 * the wildcard too: "0.0.0.0" (no host has it) and the text "undefined"
 * (a JavaScript client bug seen in the wild: a name that resolves
 * nowhere, so it cannot mean anything else; docs/POLICY.md). Any other
 * text must be a dotted IPv4 address: DNS names are not resolved (402).
 */
static int parse_remote_host(struct str s, struct in_addr *ret)
{
	ret->s_addr = 0;
	if (s.len == 0 || str_eq_cstr(s, "undefined"))
		return 0;
	return parse_ipv4(s, ret) < 0 ? UPNP_E_INVALID_ARGS : 0;
}

/* NewInternalClient (2.3.21): "" is a wildcard, refused (715); else a
 * dotted IPv4 address (402 otherwise, as for NewRemoteHost). */
static int parse_client(struct str s, struct in_addr *ret)
{
	if (s.len == 0)
		return UPNP_E_WILDCARD_NOT_PERMITTED_IN_SRC_IP;
	return parse_ipv4(s, ret) < 0 ? UPNP_E_INVALID_ARGS : 0;
}

/*
 * A NewRemoteHost a mapping can be made for: the wildcard, or an address
 * a packet from the WAN can come from. Not 0/8, 127/8, multicast,
 * 240/4 or the limited broadcast (policy_remote_host_ok(): the privileged
 * helper refuses them too, so they never reach it), nor the gateway's
 * own LAN or external address (its own packets never pass the NAT).
 */
static bool remote_host_ok(struct engine *e, struct in_addr rh)
{
	char ext[INET_ADDRSTRLEN];
	struct ipaddr r = ipaddr_from_v4(rh);
	struct in_addr a;
	size_t i;

	if (rh.s_addr == 0)
		return true;
	if (!policy_remote_host_ok(rh))
		return false;
	for (i = 0; i < e->nlans; i++)
		if (lan_is_own(&e->lans[i], &r))
			return false;
	engine_external_ip(e, ext);
	return !ext[0] || inet_pton(AF_INET, ext, &a) != 1 || a.s_addr != rh.s_addr;
}

/* The IN arguments shared by AddPortMapping and AddAnyPortMapping, in
 * their schema order; the external port wildcard is the caller's. */
static int parse_add(const struct action_ctx *ctx, struct add_req *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = parse_remote_host(action_in_str(ctx, "NewRemoteHost"), &ret->remote_host)) != 0)
		return r;
	if (!remote_host_ok(ctx->e, ret->remote_host))
		return refuse(ctx, UPNP_E_INVALID_ARGS, "NewRemoteHost no remote host can have");
	ret->ext_port = (uint16_t)action_in_u32(ctx, "NewExternalPort");
	if ((r = parse_proto(action_in_str(ctx, "NewProtocol"), &ret->proto)) != 0)
		return r;
	ret->int_port = (uint16_t)action_in_u32(ctx, "NewInternalPort");
	if (ret->int_port == 0)
		return UPNP_E_WILDCARD_NOT_PERMITTED_IN_INT_PORT;
	if ((r = parse_client(action_in_str(ctx, "NewInternalClient"), &ret->client)) != 0)
		return r;
	ret->enabled = action_in_bool(ctx, "NewEnabled");
	ret->desc = action_in_str(ctx, "NewPortMappingDescription");
	ret->lease_s = action_in_u32(ctx, "NewLeaseDuration");
	if (ret->lease_s > IGDD_LEASE_MAX)
		return UPNP_E_ARG_VALUE_OUT_OF_RANGE;
	/* 2.3.16: 0 is no longer "static" but the maximum. */
	if (ret->lease_s == 0)
		ret->lease_s = IGDD_LEASE_MAX;
	return 0;
}

/* ------------------------------------------------------------ policy */

/*
 * The control point's IPv4 address. An IPv6 control point has none: it
 * reads as 0.0.0.0, which no mapping has as internal client or owner
 * (the policy's step 1b refuses it any IPv4 mapping, core/policy.h).
 */
static struct in_addr peer4(const struct action_ctx *ctx)
{
	struct in_addr a = { 0 };

	ipaddr_get_v4(&ctx->peer, &a);
	return a;
}

/* The policy's decision for peer, on LAN lan (the one its request
 * arrived on), about a mapping of client. */
static enum policy_verdict decide(const struct engine *e, unsigned lan, const struct ipaddr *peer,
				  struct in_addr client, uint16_t ext_port, uint16_t int_port,
				  uint8_t proto)
{
	struct policy_lan pl = engine_policy_lan(e, lan);
	struct policy_subject s = { *peer, ipaddr_from_v4(client), ext_port, int_port, proto };

	if (!e->policy)
		return POLICY_DENY_RULE;        /* engine without a policy: refuse all */
	return policy_check(e->policy, &pl, &s);
}

static enum policy_verdict check(const struct action_ctx *ctx, struct in_addr client,
				 uint16_t ext_port, uint16_t int_port, uint8_t proto)
{
	return decide(ctx->e, ctx->lan, &ctx->peer, client, ext_port, int_port, proto);
}

static enum policy_verdict check_entry(const struct action_ctx *ctx, const struct mapping *m)
{
	return check(ctx, m->internal_client, m->ext_port, m->int_port, m->proto);
}

/* Whether a range action (2.5.19, 2.5.21) of peer covers m: NewManage =
 * 0 (or ignored) limits it to the control point's own entries. */
static bool covers(const struct engine *e, unsigned lan, const struct ipaddr *peer,
		   const struct mapping *m, bool manage)
{
	if (!manage && !ipaddr_eq_v4(peer, m->internal_client))
		return false;
	return decide(e, lan, peer, m->internal_client, m->ext_port, m->int_port, m->proto) ==
	       POLICY_ALLOW;
}

static bool range_covers(const struct action_ctx *ctx, const struct mapping *m, bool manage)
{
	return covers(ctx->e, ctx->lan, &ctx->peer, m, manage);
}

static bool manage_of(const struct action_ctx *ctx)
{
	return action_in_bool(ctx, "NewManage") && ctx->e->policy &&
	       policy_manage_allowed(ctx->e->policy);
}

/* 718 against a UPnP entry, 729 against another mechanism's. */
static int conflict_code(const struct mapping *holder)
{
	return holder->origin == MAP_ORIGIN_UPNP ? UPNP_E_CONFLICT_IN_MAPPING_ENTRY
						 : UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS;
}

/* ----------------------------------------------------------- logging */

static void log_change(const struct action_ctx *ctx, const struct mapping *m, uint32_t lease_s,
		       const char *note, bool info)
{
	char peer[IPADDR_STRLEN], what[96], desc[96], more[48];

	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	map_describe(what, sizeof(what), m);
	log_escape(desc, sizeof(desc), m->desc, strlen(m->desc));
	if (info && engine_log_change_ok(ctx->e, more))
		log_info("%s: %s %s '%s' lease %u%s%s", peer, ctx->act->name, what, desc,
			 (unsigned)lease_s, note, more);
	else
		log_debug("%s: %s %s '%s' lease %u%s", peer, ctx->act->name, what, desc,
			  (unsigned)lease_s, note);
}

static void log_removed(const struct action_ctx *ctx, const struct mapping *m, const char *note,
			bool info)
{
	char peer[IPADDR_STRLEN], what[96], more[48];

	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	map_describe(what, sizeof(what), m);
	if (info && engine_log_change_ok(ctx->e, more))
		log_info("%s: %s %s%s%s", peer, ctx->act->name, what, note, more);
	else
		log_debug("%s: %s %s%s", peer, ctx->act->name, what, note);
}

static int refuse(const struct action_ctx *ctx, int code, const char *why)
{
	char peer[IPADDR_STRLEN];

	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	log_debug("%s: %s refused (%d): %s", peer, ctx->act->name, code, why);
	return code;
}

/* ----------------------------------------------------------- backend */

/* How many other ports AddAnyPortMapping tries when the backend says the
 * gateway itself holds the one chosen (each try asks the kernel). */
#define PORTMAP_HELD_TRIES 64
/* AddAnyPortMapping moved to the port the upstream grants, at most (add_up_end()) */
#define PORTMAP_UP_MOVES 2

/*
 * The UPnP error for a change that did not complete (engine_tx.h): the
 * table refused it (728 when full, 718 on a conflict), the backend did
 * (718 when the gateway itself holds the port, 606 when the helper's
 * policy refuses, else 501), or the lease file could not be written
 * (501: the change is undone).
 */
static int tx_refusal(const struct action_ctx *ctx, const struct engine_tx *tx)
{
	switch (tx->stage) {
	case ENGINE_TX_DONE:
		return 0;
	case ENGINE_TX_TABLE:
		if (tx->map == MAP_FULL)
			return refuse(ctx, UPNP_E_NO_PORT_MAPS_AVAILABLE, "max_mappings reached");
		if (tx->map == MAP_CLIENT_FULL)
			return refuse(ctx, UPNP_E_NO_PORT_MAPS_AVAILABLE,
				      "max_mappings_per_client reached");
		return refuse(ctx, UPNP_E_CONFLICT_IN_MAPPING_ENTRY, "conflict");
	case ENGINE_TX_BACKEND:
		if (tx->err == -EADDRINUSE)
			return refuse(ctx, UPNP_E_CONFLICT_IN_MAPPING_ENTRY,
				      "the gateway itself holds the external port");
		if (tx->err == -EACCES)
			return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED,
				      "refused by the backend's policy");
		return refuse(ctx, UPNP_E_ACTION_FAILED, "backend failed");
	case ENGINE_TX_COMMIT:
		return refuse(ctx, UPNP_E_ACTION_FAILED, "the lease file could not be written");
	case ENGINE_TX_NOMEM:
		break;
	}
	return refuse(ctx, UPNP_E_ACTION_FAILED, "out of memory");
}

/* ------------------------------------------------------------ adding */

/*
 * What an add keeps while its change is under way (action_state(): it
 * lives as long as the request): the request, and for AddAnyPortMapping
 * the port it answers and the ports tried after one the gateway holds.
 */
struct add_state {
	struct add_req a;
	uint16_t port;                  /* the external port added at */
	unsigned tries;                 /* ports tried after one the gateway holds */
	bool any;                       /* AddAnyPortMapping: answer NewReservedPort */
	bool joined;                    /* replace_end(): join()'s log line */
	bool changed;                   /* replace_end(): an update, not a refresh */
	unsigned moves;                 /* AddAnyPortMapping: moved to the upstream's port */
};

static int add_answer(struct action_ctx *ctx, const struct add_state *st)
{
	if (st->any)
		action_out_u32(ctx, "NewReservedPort", st->port);
	return 0;
}

/* The end of overwrite() and join(). */
static int replace_end(struct action_ctx *ctx, struct engine_tx *tx)
{
	struct add_state *st = action_state(ctx, sizeof(*st));

	if (tx->stage != ENGINE_TX_DONE)
		return tx_refusal(ctx, tx);
	if (st->joined)
		log_change(ctx, tx->m, map_lease_remaining(ctx->e->maps, tx->m),
			   st->changed ? " (joined the NAT-PMP/PCP mapping)" : " (refreshed)",
			   st->changed);
	else
		log_change(ctx, tx->m, st->a.lease_s, st->changed ? " (updated)" : " (refreshed)",
			   st->changed);
	return add_answer(ctx, st);
}

/* Give m next's state (the caller's state set), and end with replace_end(). */
static int replace(struct action_ctx *ctx, struct mapping *m, const struct mapping *next,
		   unsigned flags)
{
	struct engine_tx local, *tx = action_tx(ctx, &local, flags);

	if (engine_map_replace(ctx->e, tx, m, next) == ENGINE_TX_PENDING)
		return action_pending(ctx, replace_end);
	return replace_end(ctx, tx);
}

/*
 * Figure 2-3 / 2-4 "= = = =": overwrite internal port, enabled,
 * description and lease. A pure refresh (only the lease changes) is no
 * change of NAT rules: no backend call, no SystemUpdateID increment.
 */
static int overwrite(struct action_ctx *ctx, struct mapping *m)
{
	struct add_state *st = action_state(ctx, sizeof(*st));
	const struct add_req *a = &st->a;
	struct mapping next = *m;

	next.desc = map_desc_dup(a->desc);
	if (!next.desc)
		return UPNP_E_ACTION_FAILED;
	next.int_port = a->int_port;
	next.enabled = a->enabled;
	next.lease_end_ms = map_lease_end(ctx->e->maps, a->lease_s);
	st->joined = false;
	st->changed = next.int_port != m->int_port || next.enabled != m->enabled ||
		      strcmp(next.desc, m->desc) != 0;
	/* A refresh too is recorded (the new expiry). */
	return replace(ctx, m, &next, st->changed ? ENGINE_TX_REAPPLY : 0);
}

static int pick_port(struct action_ctx *ctx, const struct add_req *a, uint16_t want,
		     uint16_t *ret_port);
static int insert_end(struct action_ctx *ctx, struct engine_tx *tx);
static int insert(struct action_ctx *ctx);

/* The new entry at st->port removed again (the loop waits for the
 * backend: a rare path, after the upstream granted another port). */
static void add_undo(struct action_ctx *ctx, const struct add_state *st)
{
	struct mapping *m;
	struct engine_tx tx;

	engine_tx_settle(ctx->e);
	m = map_find(ctx->e->maps, st->a.proto, st->port, st->a.remote_host);
	if (!m)
		return;
	engine_tx_init(&tx, 0);
	(void)engine_map_remove_set(ctx->e, &tx, &m, 1);
}

/*
 * Behind another NAT (docs/POLICY.md): the client is told the port the
 * internet sees. The upstream granted another port than st->port:
 * AddPortMapping fails with 729 ConflictWithOtherMechanisms
 * (WANIPConnection:2 2.5.16.6: the port is held upstream, by a mapping
 * of another mechanism or host), the entry removed (and with it the
 * upstream's); AddAnyPortMapping moves the entry to that port when it is
 * free here and allowed (at most PORTMAP_UP_MOVES times), else 729 the
 * same way. No answer in time, an error upstream, nothing mirrored: the
 * answer as without an upstream.
 */
static int add_up_end(struct action_ctx *ctx, const struct engine_up_outcome *o)
{
	struct add_state *st = action_state(ctx, sizeof(*st));
	char peer[IPADDR_STRLEN];
	uint16_t g;

	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	if (o && o->result == ENGINE_UP_TIMEOUT)
		log_info("%s: %s %s/%u: no answer from the upstream in time: the local port answered",
			 peer, ctx->act->name, map_proto_name(st->a.proto), (unsigned)st->port);
	if (!o || o->result != ENGINE_UP_GRANTED || o->port == st->port)
		return add_answer(ctx, st);
	g = o->port;
	add_undo(ctx, st);
	if (st->any && st->moves < PORTMAP_UP_MOVES && !map_port_used(ctx->e->maps, st->a.proto, g) &&
	    check(ctx, st->a.client, g, st->a.int_port, st->a.proto) == POLICY_ALLOW) {
		st->moves++;
		log_info("%s: AddAnyPortMapping %s/%u: the internet sees port %u: moved there", peer,
			 map_proto_name(st->a.proto), (unsigned)st->port, (unsigned)g);
		st->port = g;
		engine_tx_settle(ctx->e);
		return insert(ctx);
	}
	log_info("%s: %s %s/%u: the upstream NAT grants port %u instead: 729, removed", peer,
		 ctx->act->name, map_proto_name(st->a.proto), (unsigned)st->port, (unsigned)g);
	return UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS;
}

/*
 * The outcome of an add at the state's port. The gateway itself holds
 * the port: UPnP 718 for AddPortMapping, the next free port the policy
 * allows for AddAnyPortMapping (at most PORTMAP_HELD_TRIES more, then
 * 728): *again, that port in the state.
 */
static int insert_outcome(struct action_ctx *ctx, const struct engine_tx *tx, bool *again)
{
	struct add_state *st = action_state(ctx, sizeof(*st));
	uint16_t from;

	*again = false;
	if (tx->stage == ENGINE_TX_DONE) {
		log_change(ctx, tx->m, st->a.lease_s, "", true);
		return action_up_wait(ctx, st->a.proto, st->port, add_up_end);
	}
	if (tx->stage != ENGINE_TX_BACKEND || tx->err != -EADDRINUSE)
		return tx_refusal(ctx, tx);
	if (!st->any)
		return refuse(ctx, UPNP_E_CONFLICT_IN_MAPPING_ENTRY,
			      "the gateway itself holds the external port");
	if (st->tries++ >= PORTMAP_HELD_TRIES)
		return refuse(ctx, UPNP_E_NO_PORT_MAPS_AVAILABLE,
			      "every port tried is the gateway's own");
	from = st->port == 65535 ? 1 : (uint16_t)(st->port + 1);
	*again = true;
	return pick_port(ctx, &st->a, from, &st->port);
}

/*
 * A new entry at the state's port (the caller has ruled out conflicts),
 * after tx's outcome when tx is not NULL: until one is added, refused, or
 * under way (then insert_end() continues).
 */
static int insert_run(struct action_ctx *ctx, const struct engine_tx *tx)
{
	struct add_state *st = action_state(ctx, sizeof(*st));
	const struct add_req *a = &st->a;
	struct engine_tx local, *next;
	struct mapping tmpl;
	bool again = true;
	int r;

	for (;;) {
		if (tx && ((r = insert_outcome(ctx, tx, &again)) != 0 || !again))
			return r;
		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.remote_host = a->remote_host;
		tmpl.internal_client = a->client;
		tmpl.owner = peer4(ctx);
		tmpl.ext_port = st->port;
		tmpl.int_port = a->int_port;
		tmpl.proto = a->proto;
		tmpl.origin = MAP_ORIGIN_UPNP;
		tmpl.enabled = a->enabled;
		tmpl.lease_end_ms = map_lease_end(ctx->e->maps, a->lease_s);
		next = action_tx(ctx, &local, 0);
		if (engine_map_add(ctx->e, next, &tmpl, a->desc) == ENGINE_TX_PENDING)
			return action_pending(ctx, insert_end);
		tx = next;
	}
}

/* An add under way completed: its outcome, and another port if need be. */
static int insert_end(struct action_ctx *ctx, struct engine_tx *tx)
{
	return insert_run(ctx, tx);
}

/* A new entry (never an overwrite or a join: existing mappings stay),
 * unless unreachable_wan = refuse says the internet could not reach it
 * (engine_refuses_unreachable(); 729, docs/POLICY.md "Behind another
 * NAT"). */
static int insert(struct action_ctx *ctx)
{
	if (engine_refuses_unreachable(ctx->e))
		return refuse(ctx, UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS,
			      "the internet cannot reach the WAN address (unreachable_wan = refuse)");
	return insert_run(ctx, NULL);
}

/*
 * Overwrite the exact entry (same key, same internal client, made by
 * UPnP) after checking the control point may change it. The entry's own
 * ports may differ from the request's internal port (an ACL may have
 * changed since), so the policy looks at both.
 */
static int try_overwrite(struct action_ctx *ctx, struct mapping *m)
{
	enum policy_verdict v = check_entry(ctx, m);

	if (v != POLICY_ALLOW)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, policy_verdict_str(v));
	return overwrite(ctx, m);
}

/*
 * The control point asks UPnP for exactly the mapping it holds through
 * NAT-PMP or PCP (libtorrent maps its port with both at once): same key
 * (protocol, external port, and the wildcard remote host these entries
 * have), made by this control point for the same internal client and
 * internal port, enabled. Anything else on such an entry stays 729.
 */
static bool joins(const struct action_ctx *ctx, const struct mapping *m, const struct add_req *a)
{
	return (m->origin == MAP_ORIGIN_NATPMP || m->origin == MAP_ORIGIN_PCP) &&
	       ipaddr_eq_v4(&ctx->peer, m->owner) &&
	       m->internal_client.s_addr == a->client.s_addr && m->int_port == a->int_port &&
	       m->enabled && a->enabled;
}

/*
 * Answer such a request with the one entry (docs/POLICY.md, "One
 * mapping asked for both ways"): it stays NAT-PMP's / PCP's (their
 * renewals and deletes work as before), takes the UPnP description and
 * the later of the two lease ends, and this control point may delete it
 * through UPnP too (upnp_joined). No NAT rule changes; the description
 * does, once: one SystemUpdateID increment.
 */
static int join(struct action_ctx *ctx, struct mapping *m)
{
	struct add_state *st = action_state(ctx, sizeof(*st));
	struct mapping next = *m;

	next.lease_end_ms = map_lease_end(ctx->e->maps, st->a.lease_s);
	next.desc = map_desc_dup(st->a.desc);
	if (!next.desc)
		return UPNP_E_ACTION_FAILED;
	st->joined = true;
	st->changed = !m->upnp_joined || strcmp(next.desc, m->desc) != 0;
	if (m->lease_end_ms > next.lease_end_ms)
		next.lease_end_ms = m->lease_end_ms;
	next.upnp_joined = true;
	return replace(ctx, m, &next, 0);
}

/* The start of an add: its turn (action_turn()), the request parsed into
 * the state. 0, or the handler's answer. */
static int add_start(struct action_ctx *ctx, struct add_state **ret, bool any)
{
	struct add_state *st = action_state(ctx, sizeof(*st));
	int r;

	if ((r = action_turn(ctx)) != 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->any = any;
	*ret = st;
	return parse_add(ctx, &st->a);
}

/* 2.5.16, Figure 2-3. */
int portmap_add(struct action_ctx *ctx)
{
	struct add_state *st;
	struct add_req *a;
	struct mapping *m;
	enum policy_verdict v;
	int r;

	if ((r = add_start(ctx, &st, false)) != 0)
		return r;
	a = &st->a;
	if (a->ext_port == 0)
		return UPNP_E_WILDCARD_NOT_PERMITTED_IN_EXT_PORT;
	v = check(ctx, a->client, a->ext_port, a->int_port, a->proto);
	if (v != POLICY_ALLOW)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, policy_verdict_str(v));

	m = map_find(ctx->e->maps, a->proto, a->ext_port, a->remote_host);
	if (m) {
		if (joins(ctx, m, a))
			return join(ctx, m);
		/* "= = = ≠": failure; "= = = =": overwrite. */
		if (m->internal_client.s_addr != a->client.s_addr || m->origin != MAP_ORIGIN_UPNP)
			return refuse(ctx, conflict_code(m), "port mapped to another client");
		return try_overwrite(ctx, m);
	}
	/* "= = ≠ ≠": failure. "= = ≠ =": our choice, both entries live. */
	m = map_find_port(ctx->e->maps, a->proto, a->ext_port);
	if (m && m->internal_client.s_addr != a->client.s_addr)
		return refuse(ctx, conflict_code(m), "port mapped to another client");
	st->port = a->ext_port;
	return insert(ctx);
}

/*
 * A free external port for a (AddAnyPortMapping), among the ports the
 * policy allows it (engine_free_port()). 0, or 606 / 728.
 */
static int pick_port(struct action_ctx *ctx, const struct add_req *a, uint16_t want,
		     uint16_t *ret_port)
{
	int r = engine_free_port(ctx->e, ctx->lan, &ctx->peer, a->client, a->int_port, a->proto,
				 want, ret_port);

	if (r == -EACCES)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, "no external port allowed");
	if (r < 0)
		return refuse(ctx, UPNP_E_NO_PORT_MAPS_AVAILABLE, "no free external port");
	return 0;
}

/* add_any_place(): no entry to overwrite; insert at st->port. */
#define PLACE_INSERT (-1)

/* The AddAnyPortMapping decision once the request is allowed:
 * PLACE_INSERT and the port to add at (st->port), or the answer of an
 * overwrite (or a join), or an error. */
static int add_any_place(struct action_ctx *ctx, struct add_state *st)
{
	const struct add_req *a = &st->a;
	struct mapping *m = NULL, *h;
	int r;

	if (a->ext_port) {
		m = map_find(ctx->e->maps, a->proto, a->ext_port, a->remote_host);
		if (m && m->internal_client.s_addr == a->client.s_addr &&
		    (m->origin == MAP_ORIGIN_UPNP || joins(ctx, m, a))) {
			/* "= = = =" */
			st->port = a->ext_port;
			return m->origin == MAP_ORIGIN_UPNP ? try_overwrite(ctx, m) : join(ctx, m);
		}
		h = map_find_port(ctx->e->maps, a->proto, a->ext_port);
		if (!m && (!h || h->internal_client.s_addr == a->client.s_addr)) {
			st->port = a->ext_port;         /* free, or "= = ≠ =" */
			return PLACE_INSERT;
		}
	}
	/* "= = ≠ ≠", "= = = ≠" (or the wildcard): another port, searched
	 * from the wanted one; the wildcard starts at the internal port. */
	r = pick_port(ctx, a, a->ext_port ? a->ext_port : a->int_port, &st->port);
	return r ? r : PLACE_INSERT;
}

/* 2.5.17, Figure 2-4. NewExternalPort 0 is supported by choosing a port
 * (never a catch-all mapping), returned in NewReservedPort; a port the
 * gateway itself holds is skipped (insert_end()). */
int portmap_add_any(struct action_ctx *ctx)
{
	struct add_state *st;
	enum policy_verdict v;
	int r;

	if ((r = add_start(ctx, &st, true)) != 0)
		return r;
	if (st->a.ext_port) {
		v = check(ctx, st->a.client, st->a.ext_port, st->a.int_port, st->a.proto);
		if (v != POLICY_ALLOW)
			return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, policy_verdict_str(v));
	}
	r = add_any_place(ctx, st);
	return r == PLACE_INSERT ? insert(ctx) : r;
}

/* ------------------------------------------------------------ reading */

static void out_entry_tail(struct action_ctx *ctx, const struct mapping *m)
{
	char ic[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &m->internal_client, ic, sizeof(ic));
	action_out_u32(ctx, "NewInternalPort", m->int_port);
	action_out_str(ctx, "NewInternalClient", ic);
	action_out_bool(ctx, "NewEnabled", m->enabled);
	action_out_str(ctx, "NewPortMappingDescription", m->desc);
	action_out_u32(ctx, "NewLeaseDuration", map_lease_remaining(ctx->e->maps, m));
}

/*
 * 2.5.14. Which array NewPortMappingIndex counts in (docs/POLICY.md):
 *   - secure_mode = yes: the control point's own view, the entries (of
 *     all mechanisms) whose InternalClient is the control point, in table
 *     order. 2.5.14.3 recommends showing an unauthenticated control point
 *     only those; answering 606 at other clients' indexes instead would
 *     stop real clients (upnpc -l, miniupnpc), which enumerate 0, 1, 2...
 *     and give up at the first error, short of their own later entries.
 *   - secure_mode = no: every entry of the table.
 * An entry of the view that the policy still refuses (a well-known port
 * made by another mechanism, an ACL deny) answers 606 at its index; past
 * the end of the view, 713.
 * An empty index (the nat-api family's index 0) reads as 0: the
 * dispatcher lets it through as 0 (ARG_EMPTY_ZERO).
 */
int portmap_get_generic_entry(struct action_ctx *ctx)
{
	uint32_t i = action_in_u32(ctx, "NewPortMappingIndex");
	bool own_view = ctx->e->policy && policy_secure(ctx->e->policy);
	const struct mapping *m = !own_view ? map_nth(ctx->e->maps, i) :
				  ipaddr_is_v4(&ctx->peer) ? map_client_nth(ctx->e->maps, peer4(ctx), i)
							   : NULL;
	char rh[INET_ADDRSTRLEN] = "";
	enum policy_verdict v;

	if (!m)
		return UPNP_E_SPECIFIED_ARRAY_INDEX_INVALID;
	v = check_entry(ctx, m);
	if (v != POLICY_ALLOW)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, policy_verdict_str(v));
	if (m->remote_host.s_addr)
		inet_ntop(AF_INET, &m->remote_host, rh, sizeof(rh));
	action_out_str(ctx, "NewRemoteHost", rh);
	action_out_u32(ctx, "NewExternalPort", m->ext_port);
	action_out_str(ctx, "NewProtocol", map_proto_name(m->proto));
	out_entry_tail(ctx, m);
	return 0;
}

/* The entry named by (NewRemoteHost, NewExternalPort, NewProtocol), or
 * an error: 402, 601, 714. "" names only the wildcard entry (2.5.15.2). */
static int find_named(const struct action_ctx *ctx, struct mapping **ret)
{
	struct in_addr rh;
	uint8_t proto;
	int r;

	if ((r = parse_remote_host(action_in_str(ctx, "NewRemoteHost"), &rh)) != 0)
		return r;
	if ((r = parse_proto(action_in_str(ctx, "NewProtocol"), &proto)) != 0)
		return r;
	*ret = map_find(ctx->e->maps, proto, (uint16_t)action_in_u32(ctx, "NewExternalPort"), rh);
	return *ret ? 0 : UPNP_E_NO_SUCH_ENTRY_IN_ARRAY;
}

/* 2.5.15. */
int portmap_get_specific_entry(struct action_ctx *ctx)
{
	struct mapping *m;
	enum policy_verdict v;
	int r;

	if ((r = find_named(ctx, &m)) != 0)
		return r;
	v = check_entry(ctx, m);
	if (v != POLICY_ALLOW)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, policy_verdict_str(v));
	out_entry_tail(ctx, m);
	return 0;
}

/* ----------------------------------------------------------- deleting */

/* Whether UPnP may delete m: its own entries, and a NAT-PMP/PCP entry
 * that this control point also asked UPnP for (join()). */
static bool upnp_deletable(const struct action_ctx *ctx, const struct mapping *m)
{
	return m->origin == MAP_ORIGIN_UPNP ||
	       (m->upnp_joined && ipaddr_eq_v4(&ctx->peer, m->owner));
}

/*
 * Remove the n entries of v (all or none: 2.5.19.2 "atomic"), log each
 * (at info level when info, with note), one change event. 0 or 501.
 */
struct removal_log {
	const struct action_ctx *ctx;
	const char *note;
	bool info;
	bool range;                     /* DeletePortMappingRange: its line at the end */
	uint8_t proto;
	uint16_t lo, hi;
};

static void removal_logged(const struct mapping *m, void *arg)
{
	const struct removal_log *l = arg;

	log_removed(l->ctx, m, l->note, l->info);
}

/* The end of remove_all(): DeletePortMappingRange's line when it was one. */
static int remove_end(struct action_ctx *ctx, struct engine_tx *tx)
{
	struct removal_log *l = action_state(ctx, sizeof(*l));
	char peer[IPADDR_STRLEN], more[48];

	if (tx->stage != ENGINE_TX_DONE)
		return tx_refusal(ctx, tx);
	if (!l->range)
		return 0;
	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	if (engine_log_change_ok(ctx->e, more))
		log_info("%s: DeletePortMappingRange %s/%u-%u: %zu removed%s", peer,
			 map_proto_name(l->proto), (unsigned)l->lo, (unsigned)l->hi, tx->removed,
			 more);
	else
		log_debug("%s: DeletePortMappingRange %s/%u-%u: %zu removed", peer,
			  map_proto_name(l->proto), (unsigned)l->lo, (unsigned)l->hi, tx->removed);
	return 0;
}

static int remove_all(struct action_ctx *ctx, struct mapping *const *v, size_t n,
		      const char *note, bool info)
{
	struct removal_log *l = action_state(ctx, sizeof(*l));
	struct engine_tx local, *tx = action_tx(ctx, &local, 0);

	l->ctx = ctx;
	l->note = note;
	l->info = info;
	tx->each = removal_logged;
	tx->each_arg = l;
	if (engine_map_remove_set(ctx->e, tx, v, n) == ENGINE_TX_PENDING)
		return action_pending(ctx, remove_end);
	return remove_end(ctx, tx);
}

/*
 * DeletePortMapping with an empty NewProtocol (libp2p's nat-port-mapper
 * sends it, and ignores the error): the control point's own entries at
 * (NewRemoteHost, NewExternalPort), TCP and UDP, each one that a delete
 * naming its protocol would remove. 714 when the control point has no
 * entry there, 606 when it has some but may delete none of them.
 */
static int delete_both(struct action_ctx *ctx)
{
	uint16_t port = (uint16_t)action_in_u32(ctx, "NewExternalPort");
	struct mapping *v[MAP_NPROTO], *m;
	struct in_addr rh;
	size_t n = 0, own = 0;
	uint8_t proto;
	int r;

	memset(action_state(ctx, sizeof(struct removal_log)), 0, sizeof(struct removal_log));
	if ((r = parse_remote_host(action_in_str(ctx, "NewRemoteHost"), &rh)) != 0)
		return r;
	for (proto = 0; proto < MAP_NPROTO; proto++) {
		m = map_find(ctx->e->maps, proto, port, rh);
		if (!m || !ipaddr_eq_v4(&ctx->peer, m->internal_client))
			continue;
		own++;
		if (check_entry(ctx, m) == POLICY_ALLOW && upnp_deletable(ctx, m))
			v[n++] = m;
	}
	if (own == 0)
		return UPNP_E_NO_SUCH_ENTRY_IN_ARRAY;
	if (n == 0)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, "protocol empty: nothing deletable");
	return remove_all(ctx, v, n, " (NewProtocol empty: TCP and UDP)", true);
}

/* 2.5.18. Entries made by another mechanism are not UPnP's to delete
 * (unless joined, above); an empty NewProtocol is delete_both(). */
int portmap_delete(struct action_ctx *ctx)
{
	struct mapping *m;
	enum policy_verdict v;
	int r;

	if ((r = action_turn(ctx)) != 0)
		return r;
	memset(action_state(ctx, sizeof(struct removal_log)), 0, sizeof(struct removal_log));
	if (action_in_str(ctx, "NewProtocol").len == 0)
		return delete_both(ctx);
	if ((r = find_named(ctx, &m)) != 0)
		return r;
	v = check_entry(ctx, m);
	if (v != POLICY_ALLOW)
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, policy_verdict_str(v));
	if (!upnp_deletable(ctx, m))
		return refuse(ctx, UPNP_E_ACTION_NOT_AUTHORIZED, "made by another mechanism");
	return remove_all(ctx, &m, 1, "", true);
}

/* NewStartPort, NewEndPort, NewProtocol of the range actions. */
static int parse_range(const struct action_ctx *ctx, uint16_t *lo, uint16_t *hi, uint8_t *proto)
{
	int r;

	*lo = (uint16_t)action_in_u32(ctx, "NewStartPort");
	*hi = (uint16_t)action_in_u32(ctx, "NewEndPort");
	if ((r = parse_proto(action_in_str(ctx, "NewProtocol"), proto)) != 0)
		return r;
	return *lo > *hi ? UPNP_E_INCONSISTENT_PARAMETERS : 0;
}

/* The entries a range delete takes, into a malloc'd array. */
static int collect_deletable(const struct action_ctx *ctx, uint16_t lo, uint16_t hi,
			     uint8_t proto, struct mapping ***ret, size_t *ret_n)
{
	bool manage = manage_of(ctx);
	struct mapping **v = NULL, **nv, *m;
	size_t n = 0, cap = 0;

	for (m = map_range_first(ctx->e->maps, proto, lo, hi); m;
	     m = map_range_next(ctx->e->maps, m, hi)) {
		if (!upnp_deletable(ctx, m) || !range_covers(ctx, m, manage))
			continue;               /* skipped, 2.5.19.2 */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = m;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* 2.5.19: all or nothing. Entries are withdrawn from the backend first;
 * if one fails, those already withdrawn are applied again and the table
 * is left as it was. */
int portmap_delete_range(struct action_ctx *ctx)
{
	struct removal_log *l = action_state(ctx, sizeof(*l));
	struct mapping **v = NULL;
	uint16_t lo, hi;
	uint8_t proto;
	size_t n = 0;
	int r;

	if ((r = action_turn(ctx)) != 0)
		return r;
	if ((r = parse_range(ctx, &lo, &hi, &proto)) != 0)
		return r;
	if (collect_deletable(ctx, lo, hi, proto, &v, &n) < 0)
		return UPNP_E_ACTION_FAILED;
	if (n == 0) {
		free(v);
		return UPNP_E_PORT_MAPPING_NOT_FOUND;
	}
	memset(l, 0, sizeof(*l));
	l->range = true;
	l->proto = proto;
	l->lo = lo;
	l->hi = hi;
	r = remove_all(ctx, v, n, "", false);
	free(v);        /* the transaction keeps its own copy */
	return r;
}

/* ------------------------------------------------------------ reload */

/* A growing list of entries to remove. */
struct victims {
	struct mapping **v;
	size_t n, cap;
};

static int victims_add(struct victims *x, struct mapping *m)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct mapping **grown = realloc(x->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		x->v = grown;
		x->cap = cap;
	}
	x->v[x->n++] = m;
	return 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(struct mapping *const *)a, y = (uintptr_t)*(struct mapping *const *)b;

	return x < y ? -1 : x > y;
}

/* Each entry once, whoever named it twice. */
static void victims_unique(struct victims *x)
{
	size_t i, k = 0;

	if (x->n == 0)
		return;
	qsort(x->v, x->n, sizeof(x->v[0]), cmp_ptr);
	for (i = 0; i < x->n; i++)
		if (k == 0 || x->v[k - 1] != x->v[i])
			x->v[k++] = x->v[i];
	x->n = k;
}

/*
 * Remove the listed entries from the backend (all or none; when
 * must_remove, from the table even if the backend fails: it has
 * removed them itself), the lease file and the table, each logged as
 * "OWNER's MAPPING WHY: removed", and one change event. The number
 * removed, or -EIO when the backend kept them.
 */
struct victim_log {
	const char *prefix, *why;
};

static void victim_logged(const struct mapping *m, void *arg)
{
	const struct victim_log *l = arg;
	char what[96], owner[INET_ADDRSTRLEN];

	if (m->origin == MAP_ORIGIN_STATIC && m->owner.s_addr == 0)
		snprintf(owner, sizeof(owner), "admin");
	else
		inet_ntop(AF_INET, &m->owner, owner, sizeof(owner));
	map_describe(what, sizeof(what), m);
	log_info("%s%s's %s %s: removed", l->prefix, owner, what, l->why);
}

static int remove_victims(struct engine *e, struct victims *x, const char *prefix,
			  const char *why, bool must_remove)
{
	struct victim_log l = { prefix, why };
	struct engine_tx tx;

	if (x->n == 0)
		return 0;
	engine_tx_init(&tx, ENGINE_TX_KEEP | (must_remove ? ENGINE_TX_FORCE : 0));
	tx.each = victim_logged;
	tx.each_arg = &l;
	if (engine_map_remove_set(e, &tx, x->v, x->n) < 0) {
		log_warnx("%sthe backend could not remove %zu mappings (each %s); they stay "
			  "until they expire or are deleted", prefix, x->n, why);
		return -EIO;
	}
	return (int)(tx.removed > INT_MAX ? INT_MAX : tx.removed);
}

int portmap_enforce_policy(struct engine *e, const char *why)
{
	struct victims x = { NULL, 0, 0 };
	struct mapping *m;
	char prefix[64];
	int r = 0;

	engine_tx_settle(e);            /* before the table is read (engine_tx.h) */
	snprintf(prefix, sizeof(prefix), "%s: ", why);

	for (m = map_first(e->maps); m && r == 0; m = map_next(e->maps, m)) {
		if (engine_policy_allows(e, m))
			continue;
		r = victims_add(&x, m);
	}
	if (r == 0)
		r = remove_victims(e, &x, prefix, "is no longer allowed", false);
	free(x.v);
	return r;
}

/* The entries v names for why into x. 0 or -ENOMEM. */
static int gone_collect(struct engine *e, const struct backend_gone *v, size_t n,
			enum backend_gone_why why, struct victims *x)
{
	struct mapping *m;
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if (v[i].why != why)
			continue;
		if (!v[i].whole_port) {
			m = map_find(e->maps, v[i].proto, v[i].ext_port, v[i].remote_host);
			r = m ? victims_add(x, m) : 0;
			continue;
		}
		for (m = map_range_first(e->maps, v[i].proto, v[i].ext_port, v[i].ext_port);
		     m && r == 0; m = map_range_next(e->maps, m, v[i].ext_port))
			r = victims_add(x, m);
	}
	victims_unique(x);                      /* a port and a key of it may both be named */
	return r;
}

int portmap_backend_gone(struct engine *e, const struct backend_gone *v, size_t n)
{
	static const struct {
		enum backend_gone_why why;
		const char *text;
	} kinds[] = {
		{ BACKEND_GONE_ROUTER_PORT, "is on a port the gateway itself now uses" },
		{ BACKEND_GONE_POLICY, "is refused by the helper's port policy" },
	};
	struct victims x = { NULL, 0, 0 };
	size_t k;
	int r = 0;

	engine_tx_settle(e);            /* before the table is read (engine_tx.h) */

	/* One kind after the other: the second looks up what the first left. */
	for (k = 0; k < 2 && r == 0; k++) {
		x.n = 0;
		r = gone_collect(e, v, n, kinds[k].why, &x);
		if (r == 0)
			remove_victims(e, &x, "", kinds[k].text, true);
	}
	free(x.v);
	return r;
}

/* ------------------------------------------------------------ listing */

/* One <p:PortMappingEntry> (2.3.25), values escaped. */
static int write_entry(struct buf *b, const struct map_table *t, const struct mapping *m)
{
	char rh[INET_ADDRSTRLEN] = "", ic[INET_ADDRSTRLEN];

	if (m->remote_host.s_addr)
		inet_ntop(AF_INET, &m->remote_host, rh, sizeof(rh));
	inet_ntop(AF_INET, &m->internal_client, ic, sizeof(ic));
	buf_puts(b, "<p:PortMappingEntry>");
	xml_element(b, "p:NewRemoteHost", rh, strlen(rh));
	xml_element_u32(b, "p:NewExternalPort", m->ext_port);
	xml_element(b, "p:NewProtocol", map_proto_name(m->proto), 3);
	xml_element_u32(b, "p:NewInternalPort", m->int_port);
	xml_element(b, "p:NewInternalClient", ic, strlen(ic));
	xml_element(b, "p:NewEnabled", m->enabled ? "1" : "0", 1);
	xml_element(b, "p:NewDescription", m->desc, strlen(m->desc));
	xml_element_u32(b, "p:NewLeaseTime", map_lease_remaining(t, m));
	buf_puts(b, "</p:PortMappingEntry>\n");
	return b->toobig ? -E2BIG : 0;
}

/*
 * The PortMappingList of a GetListOfPortMappings, written in parts as
 * the control point takes them (buf_stream): only the part being sent
 * is in memory, whatever the table holds. Each part resumes after the
 * last key it wrote, so entries added or removed meanwhile are seen or
 * not, but none is written twice.
 */
struct listing {
	struct engine *e;
	struct ipaddr peer;
	unsigned lan;
	bool manage;
	uint8_t proto;
	uint16_t lo, hi;
	uint32_t limit;                 /* NewNumberOfPorts: 0 = all */
	uint32_t n;                     /* entries written */
	bool started;                   /* the list's opening is written */
	uint16_t port;                  /* the last key written */
	struct in_addr rh;
};

static int listing_fill(void *state, struct buf *out, size_t want)
{
	struct listing *l = state;
	const struct map_table *t = l->e->maps;
	const struct mapping *m;

	if (!l->started) {
		buf_puts(out, PORTLIST_OPEN);
		l->started = true;
		m = map_range_first(t, l->proto, l->lo, l->hi);
	} else {
		m = map_range_after(t, l->proto, l->port, l->rh, l->hi);
	}
	for (; m && (l->limit == 0 || l->n < l->limit) && l->n < PORTLIST_MAX_ENTRIES;
	     m = map_range_next(t, m, l->hi)) {
		if (out->len >= want)
			return 1;
		if (!covers(l->e, l->lan, &l->peer, m, l->manage))
			continue;               /* skipped, 2.5.21.3 */
		if (write_entry(out, t, m) < 0)
			return -E2BIG;
		l->n++;
		l->port = m->ext_port;
		l->rh = m->remote_host;
	}
	buf_puts(out, PORTLIST_CLOSE);
	return out->toobig ? -E2BIG : 0;
}

/* 2.5.21. NewNumberOfPorts 0 = all (up to the list's own limit). */
int portmap_get_list(struct action_ctx *ctx)
{
	struct buf_stream s = { listing_fill, free, NULL };
	struct listing *l;
	const struct mapping *m;
	uint16_t lo, hi;
	uint8_t proto;
	bool manage = manage_of(ctx);
	int r;

	if ((r = parse_range(ctx, &lo, &hi, &proto)) != 0)
		return r;
	for (m = map_range_first(ctx->e->maps, proto, lo, hi); m;
	     m = map_range_next(ctx->e->maps, m, hi))
		if (range_covers(ctx, m, manage))
			break;
	if (!m)
		return UPNP_E_PORT_MAPPING_NOT_FOUND;
	l = calloc(1, sizeof(*l));
	if (!l)
		return UPNP_E_ACTION_FAILED;
	*l = (struct listing){ .e = ctx->e, .peer = ctx->peer, .lan = ctx->lan, .manage = manage,
			       .proto = proto,
			       .lo = lo, .hi = hi, .limit = action_in_u32(ctx, "NewNumberOfPorts") };
	s.state = l;
	action_out_stream(ctx, "NewPortListing", &s);
	return 0;
}

/* ------------------------------------------------------------- leases */

uint64_t portmap_next_expiry(struct engine *e)
{
	return map_next_expiry(e->maps);
}
