/*
 * pcp.c - NAT-PMP (RFC 6886 sections 3.2 - 3.6) and PCP (RFC 6887
 * sections 8.3, 9, 11, 13, 14, 15) over the engine's mapping table.
 *
 * Both protocols create the same kind of entry (RFC 6887 Appendix A:
 * NAT-PMP and PCP share their mapping state): for the requesting host
 * only (the source address; PCP THIRD_PARTY only with pcp_third_party = yes),
 * external address and port any, origin MAP_ORIGIN_NATPMP or
 * MAP_ORIGIN_PCP, description "NAT-PMP a.b.c.d:port" / "PCP ...", so a
 * UPnP listing shows them and UPnP cannot change or delete them (729 /
 * 606, svc/portmap.c), unless their owner asks UPnP for the same
 * mapping (upnp_joined: a renewal then keeps the later lease end). A
 * mapping is identified by (internal client, protocol, internal port);
 * asking again renews it and keeps its external port; for PCP the nonce
 * must match (11.3; the lease file keeps it; a mapping made by NAT-PMP
 * has none and takes the first one offered).
 *
 * Every change takes the path of the UPnP actions: the policy first
 * (secure mode, ACL, well-known ports), then the engine's one mapping
 * transaction (engine_tx.h): the table, the backend, the lease file
 * (committed before the answer; when it cannot be written the change is
 * undone and the answer is NO_RESOURCES), then one
 * engine_changed(ENGINE_CHG_MAPPINGS): SystemUpdateID and the GENA
 * event. A renewal changes only the lease end, as a UPnP refresh does:
 * no event.
 *
 * Result codes returned (NAT-PMP / PCP):
 *   0 / SUCCESS
 *   1 / UNSUPP_VERSION       another version (PCP: answered with version 2)
 *   2 / NOT_AUTHORIZED       the policy refuses (client, ports, ACL);
 *                            THIRD_PARTY without pcp_third_party; a nonce that
 *                            does not match the mapping's; "all ports";
 *                            IPv6: the pinhole policy refuses, pinholes
 *                            off (pinholes = no, ipv6_firewall = no)
 *   3 / NETWORK_FAILURE      no external address (WAN down or unknown); a
 *                            new mapping while the internet cannot reach
 *                            the WAN address, with unreachable_wan = refuse
 *                            (RFC 6886 3.5, RFC 6887 7.4: the server
 *                            cannot give the client external reach)
 *   4 / NO_RESOURCES         the table is full, no free external port,
 *                            the backend refused (a port the gateway
 *                            itself holds is never granted: the next
 *                            free one is, as for a port held by another
 *                            mapping; docs/PCP.md)
 *   5 / UNSUPP_OPCODE        any other opcode (PCP: PEER too)
 *   - / MALFORMED_REQUEST, UNSUPP_OPTION, MALFORMED_OPTION: the parser
 *                            (proto/pcp.c); UNSUPP_OPTION also for FILTER
 *                            options other than "no filter" (prefix 0)
 *   - / UNSUPP_PROTOCOL      a protocol other than TCP/UDP (or all of
 *                            them, lifetime > 0)
 *   - / USER_EX_QUOTA        max_mappings_per_client reached
 *   - / CANNOT_PROVIDE_EXTERNAL  PREFER_FAILURE and the suggested port
 *                            or address cannot be had (also when the
 *                            gateway itself holds that port)
 *   - / ADDRESS_MISMATCH     the header's client address is not the source
 *
 * Over IPv6 (a request to the LAN's IPv6 address, net/pcp_io.c): PCP
 * ANNOUNCE is answered; NAT-PMP, IPv4 only (RFC 6886), gets PCP's
 * UNSUPP_VERSION as when it is off. MAP for an IPv6 internal address is
 * the firewall case (RFC 6887 sections 10 and 11.1: nothing translated):
 * an IPv6 pinhole from any remote host and port to internal address and
 * port, through the pinholes' one path (svc/pinholes.h) and policy
 * (core/pin_policy.h; THIRD_PARTY names another internal address, which
 * only a pinhole_acl rule allows), lifetime bounded as for mappings. The
 * answer's assigned external address and port are the internal ones
 * (11.3, a firewall "modifies neither the address nor the port"); a
 * suggestion of another address or port is ignored, or gets
 * CANNOT_PROVIDE_EXTERNAL with PREFER_FAILURE (13.2). The nonce guards
 * renewal and deletion as for mappings (11.3); a pinhole UPnP made is not
 * PCP's to change (NOT_AUTHORIZED). Lifetime 0 deletes (15); protocol 0
 * with lifetime 0 deletes the client's PCP pinholes of that port.
 */
#include "svc/pcp.h"

#include "conf/config.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "core/pin_policy.h"
#include "core/policy.h"
#include "engine.h"
#include "engine_tx.h"
#include "svc/pinholes.h"
#include "proto/natpmp.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17

/* What the shared mapping logic decided; each protocol has its codes. */
enum pm_status {
	PM_OK,
	PM_NOT_AUTHORIZED,
	PM_NONCE,               /* PCP: nonce mismatch (NOT_AUTHORIZED) */
	PM_NO_EXTERNAL,         /* NETWORK_FAILURE */
	PM_NO_RESOURCES,
	PM_CLIENT_FULL,         /* PCP USER_EX_QUOTA */
	PM_CANNOT_PROVIDE,      /* PCP PREFER_FAILURE */
	PM_HELD,                /* (internal) the gateway itself holds the port */
};

/* Other ports tried when the backend says the gateway holds the one
 * picked (each try asks the kernel). */
#define PCP_HELD_TRIES 64

struct pm_req {
	unsigned lan;                   /* the LAN the request arrived on */
	struct in_addr peer;            /* the source address */
	struct in_addr client;          /* the internal client */
	uint8_t proto;                  /* enum map_proto */
	uint16_t int_port;
	uint16_t ext_port;              /* suggested; 0 none */
	uint32_t lifetime;              /* requested */
	uint8_t origin;                 /* MAP_ORIGIN_NATPMP or MAP_ORIGIN_PCP */
	const uint8_t *nonce;           /* PCP only */
	bool prefer_failure;
};

struct pm_result {
	uint16_t ext_port;
	uint32_t lifetime;              /* granted */
};

static const uint8_t zero_nonce[PCP_NONCE_LEN];

void pcp_svc_init(struct pcp_svc *s, struct engine *e)
{
	s->e = e;
	s->epoch_start_ms = clock_now(&e->clock);
}

void pcp_svc_reset_epoch(struct pcp_svc *s)
{
	s->epoch_start_ms = clock_now(&s->e->clock);
}

uint32_t pcp_svc_epoch(const struct pcp_svc *s)
{
	uint64_t now = clock_now(&s->e->clock);

	return now <= s->epoch_start_ms ? 0 : (uint32_t)((now - s->epoch_start_ms) / 1000u);
}

static const char *origin_name(uint8_t origin)
{
	return origin == MAP_ORIGIN_PCP ? "PCP" : "NAT-PMP";
}

/* The external address, or false when there is none (WAN not up). */
static bool external_addr(struct engine *e, struct in_addr *ret)
{
	char ip[INET_ADDRSTRLEN];

	engine_external_ip(e, ip);
	ret->s_addr = 0;
	return ip[0] && inet_pton(AF_INET, ip, ret) == 1 && ret->s_addr != 0;
}

static uint32_t clamp_lifetime(const struct engine *e, uint32_t lifetime)
{
	if (lifetime < e->cfg->pcp_min_lifetime)
		return e->cfg->pcp_min_lifetime;
	if (lifetime > e->cfg->pcp_max_lifetime)
		return e->cfg->pcp_max_lifetime;
	return lifetime;
}

/* Steps 1 and 2 of the policy: the client is a LAN host the peer may
 * speak for (the ports are looked at where a mapping is made). */
static bool client_allowed(const struct engine *e, const struct pm_req *r)
{
	struct policy_lan lan = engine_policy_lan(e, r->lan);
	struct policy_subject s = { ipaddr_from_v4(r->peer), ipaddr_from_v4(r->client), 1024, 1024,
				    r->proto };
	enum policy_verdict v;

	if (!e->policy)
		return false;
	v = policy_check(e->policy, &lan, &s);
	return v != POLICY_DENY_CLIENT && v != POLICY_DENY_THIRD_PARTY;
}

/* The client's NAT-PMP / PCP entry for (proto, internal port): its own
 * entries only (at most max_mappings_per_client). */
static struct mapping *find_own(struct engine *e, struct in_addr client, uint8_t proto,
				uint16_t int_port)
{
	size_t i, n = map_client_count(e->maps, client);
	struct mapping *m;

	for (i = 0; i < n; i++) {
		m = map_client_nth(e->maps, client, i);
		if (m && m->proto == proto && m->int_port == int_port &&
		    m->remote_host.s_addr == 0 &&
		    (m->origin == MAP_ORIGIN_NATPMP || m->origin == MAP_ORIGIN_PCP))
			return m;
	}
	return NULL;
}

static bool nonce_ok(const struct mapping *m, const uint8_t *nonce)
{
	if (!nonce || memcmp(m->nonce, zero_nonce, PCP_NONCE_LEN) == 0)
		return true;
	return memcmp(m->nonce, nonce, PCP_NONCE_LEN) == 0;
}

/* Additions and deletions at info level (the audit trail), renewals at
 * debug level, as svc/portmap.c does for UPnP. */
static void log_map(struct engine *e, const struct pm_req *r, const struct mapping *m,
		    const char *what)
{
	char peer[INET_ADDRSTRLEN], ic[INET_ADDRSTRLEN], more[48];
	unsigned lease = map_lease_remaining(e->maps, m);

	inet_ntop(AF_INET, &r->peer, peer, sizeof(peer));
	inet_ntop(AF_INET, &m->internal_client, ic, sizeof(ic));
	if (strcmp(what, "renewed") == 0 || !engine_log_change_ok(e, more))
		log_debug("%s: %s %s %s/%u -> %s:%u lease %u", peer, origin_name(r->origin),
			  what, map_proto_name(m->proto), (unsigned)m->ext_port, ic,
			  (unsigned)m->int_port, lease);
	else
		log_info("%s: %s %s %s/%u -> %s:%u lease %u%s", peer, origin_name(r->origin),
			 what, map_proto_name(m->proto), (unsigned)m->ext_port, ic,
			 (unsigned)m->int_port, lease, more);
}

static void log_refused(const struct pm_req *r, const char *why)
{
	char peer[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->peer, peer, sizeof(peer));
	log_debug("%s: %s %s/%u refused: %s", peer, origin_name(r->origin),
		  map_proto_name(r->proto), (unsigned)r->int_port, why);
}

/* Whether port is in one of the n ranges. */
/*
 * The external port for a new mapping: the suggested one (or, with none,
 * the internal port) when the policy allows it and no entry holds it,
 * else (unless PREFER_FAILURE) the first free allowed port above it,
 * wrapping around (engine_free_port(), the search of AddAnyPortMapping).
 */
static enum pm_status pick_port(struct engine *e, const struct pm_req *r, uint16_t want,
				uint16_t *ret)
{
	struct ipaddr peer = ipaddr_from_v4(r->peer);
	int st = engine_free_port(e, r->lan, &peer, r->client, r->int_port, r->proto, want, ret);

	if (st == -EACCES)
		return PM_NOT_AUTHORIZED;
	if (r->prefer_failure && (st < 0 || *ret != want))
		return PM_CANNOT_PROVIDE;
	return st < 0 ? PM_NO_RESOURCES : PM_OK;
}

/* The status of a change that did not complete (engine_tx.h): the
 * gateway holds the port (PM_HELD), the helper's policy refuses, the
 * table is full for this client, or anything else (the table is full,
 * the backend failed, the lease file could not be written: undone). */
static enum pm_status tx_status(const struct engine_tx *tx)
{
	if (tx->stage == ENGINE_TX_BACKEND && tx->err == -EADDRINUSE)
		return PM_HELD;
	if (tx->stage == ENGINE_TX_BACKEND && tx->err == -EACCES)
		return PM_NOT_AUTHORIZED;
	if (tx->stage == ENGINE_TX_TABLE && tx->map == MAP_CLIENT_FULL)
		return PM_CLIENT_FULL;
	return PM_NO_RESOURCES;
}

/* A new entry at port, installed: PM_OK and *ret, PM_HELD when the
 * gateway itself holds the port (nothing added), or another status. */
static enum pm_status pm_insert(struct engine *e, const struct pm_req *r, uint16_t port,
				uint32_t lifetime, struct mapping **ret)
{
	struct engine_tx tx;
	struct mapping tmpl;
	char desc[64], ic[INET_ADDRSTRLEN];

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.internal_client = r->client;
	tmpl.owner = r->peer;
	tmpl.ext_port = port;
	tmpl.int_port = r->int_port;
	tmpl.proto = r->proto;
	tmpl.origin = r->origin;
	tmpl.enabled = true;
	tmpl.lease_end_ms = map_lease_end(e->maps, lifetime);
	if (r->nonce)
		memcpy(tmpl.nonce, r->nonce, PCP_NONCE_LEN);
	inet_ntop(AF_INET, &r->client, ic, sizeof(ic));
	snprintf(desc, sizeof(desc), "%s %s:%u", origin_name(r->origin), ic,
		 (unsigned)r->int_port);
	engine_tx_init(&tx, 0);
	if (engine_map_add(e, &tx, &tmpl, str_cstr(desc)) < 0)
		return tx_status(&tx);
	*ret = tx.m;
	return PM_OK;
}

/* Create or renew (lifetime > 0). */
static enum pm_status pm_map(struct engine *e, const struct pm_req *r, struct pm_result *res)
{
	struct mapping *m = NULL, next;
	struct engine_tx tx;
	struct in_addr ext;
	enum pm_status st;
	uint16_t port = 0;
	unsigned tries;

	if (!client_allowed(e, r)) {
		log_refused(r, "internal client not allowed");
		return PM_NOT_AUTHORIZED;
	}
	if (!external_addr(e, &ext))
		return PM_NO_EXTERNAL;
	res->lifetime = clamp_lifetime(e, r->lifetime);
	m = find_own(e, r->client, r->proto, r->int_port);
	if (m) {
		if (!nonce_ok(m, r->nonce)) {
			log_refused(r, "nonce does not match the mapping's");
			return PM_NONCE;
		}
		/* A renewal: same external port (RFC 6886 3.3, RFC 6887 11.3).
		 * An entry its owner also asked UPnP for keeps the later of
		 * the two ends (svc/portmap.c join()). */
		next = *m;
		next.desc = NULL;
		if (r->nonce)           /* a mapping without one takes it */
			memcpy(next.nonce, r->nonce, PCP_NONCE_LEN);
		next.lease_end_ms = map_lease_end(e->maps, res->lifetime);
		if (m->upnp_joined && m->lease_end_ms > next.lease_end_ms)
			next.lease_end_ms = m->lease_end_ms;
		engine_tx_init(&tx, 0);
		if (engine_map_replace(e, &tx, m, &next) < 0) {
			log_refused(r, "the renewal could not be saved");
			return tx_status(&tx);
		}
		res->ext_port = m->ext_port;
		log_map(e, r, m, "renewed");
		return PM_OK;
	}
	if (engine_refuses_unreachable(e)) {
		log_refused(r, "the internet cannot reach the WAN address (unreachable_wan = refuse)");
		return PM_NO_EXTERNAL;
	}
	st = pick_port(e, r, r->ext_port ? r->ext_port : r->int_port, &port);
	for (tries = 0; st == PM_OK; tries++) {
		st = pm_insert(e, r, port, res->lifetime, &m);
		if (st != PM_HELD)
			break;
		/* The gateway itself holds it: another port, unless the client
		 * wants that one or nothing (PREFER_FAILURE). */
		st = r->prefer_failure ? PM_CANNOT_PROVIDE :
		     tries == PCP_HELD_TRIES ? PM_NO_RESOURCES :
		     pick_port(e, r, port == 65535 ? 1 : (uint16_t)(port + 1), &port);
	}
	if (st != PM_OK) {
		log_refused(r, st == PM_NOT_AUTHORIZED ? "policy" :
			    st == PM_CLIENT_FULL ? "max_mappings_per_client reached" :
			    st == PM_CANNOT_PROVIDE ? "the port asked for cannot be had" :
			    "no free external port, the table is full or the backend failed");
		return st;
	}
	res->ext_port = port;
	log_map(e, r, m, "added");
	return PM_OK;
}

struct removal_log {
	struct engine *e;
	const struct pm_req *r;
};

static void removal_logged(const struct mapping *m, void *arg)
{
	const struct removal_log *l = arg;

	log_map(l->e, l->r, m, "deleted");
}

/* Remove the n entries of v, each one the backend lets go, logged; the
 * status: PM_OK, or PM_NO_RESOURCES when one or more stayed. */
static enum pm_status remove_entries(struct engine *e, const struct pm_req *r,
				     struct mapping *const *v, size_t n)
{
	struct removal_log l = { e, r };
	struct engine_tx tx;

	engine_tx_init(&tx, ENGINE_TX_EACH);
	tx.each = removal_logged;
	tx.each_arg = &l;
	if (engine_map_remove_set(e, &tx, v, n) == 0)
		return PM_OK;
	log_refused(r, tx.stage == ENGINE_TX_COMMIT ? "the lease file could not be written" :
		    "backend failed to remove");
	return PM_NO_RESOURCES;
}

/*
 * Delete (lifetime 0): the one mapping of (proto, internal port), or
 * with internal port 0 every NAT-PMP / PCP mapping of the client for
 * proto (all_protos: both; RFC 6886 3.4, RFC 6887 15). PCP deletes only
 * what its nonce names (or a mapping without one). Deleting what does
 * not exist succeeds. *ret_port: the deleted mapping's external port.
 */
static enum pm_status pm_delete(struct engine *e, const struct pm_req *r, bool all_protos,
				uint16_t *ret_port)
{
	struct mapping *m, **v;
	size_t i, n = 0, count;
	enum pm_status st;

	*ret_port = 0;
	if (!client_allowed(e, r)) {
		log_refused(r, "internal client not allowed");
		return PM_NOT_AUTHORIZED;
	}
	if (r->int_port) {
		m = find_own(e, r->client, r->proto, r->int_port);
		if (!m)
			return PM_OK;
		if (!nonce_ok(m, r->nonce)) {
			log_refused(r, "nonce does not match the mapping's");
			return PM_NONCE;
		}
		*ret_port = m->ext_port;
		return remove_entries(e, r, &m, 1);
	}
	count = map_client_count(e->maps, r->client);
	if (count == 0)
		return PM_OK;
	v = calloc(count, sizeof(*v));
	if (!v)
		return PM_NO_RESOURCES;
	for (i = 0; i < count; i++) {
		m = map_client_nth(e->maps, r->client, i);
		if (!m || (m->origin != MAP_ORIGIN_NATPMP && m->origin != MAP_ORIGIN_PCP) ||
		    (!all_protos && m->proto != r->proto) || !nonce_ok(m, r->nonce) ||
		    m->remote_host.s_addr != 0)
			continue;
		v[n++] = m;
	}
	st = n ? remove_entries(e, r, v, n) : PM_OK;
	free(v);
	return st;
}

/* ---------------------------------------------------------- NAT-PMP */

static uint8_t natpmp_code(enum pm_status st)
{
	switch (st) {
	case PM_OK: return NATPMP_SUCCESS;
	case PM_NOT_AUTHORIZED:
	case PM_NONCE:
	case PM_CANNOT_PROVIDE: return NATPMP_NOT_AUTHORIZED;
	case PM_NO_EXTERNAL: return NATPMP_NETWORK_FAILURE;
	case PM_NO_RESOURCES:
	case PM_HELD:
	case PM_CLIENT_FULL: return NATPMP_OUT_OF_RESOURCES;
	}
	return NATPMP_OUT_OF_RESOURCES;
}

static size_t natpmp_handle(struct pcp_svc *s, struct in_addr src, unsigned lan,
			    const uint8_t *p, size_t len, uint8_t *out)
{
	struct engine *e = s->e;
	struct natpmp_request q;
	struct pm_req r;
	struct pm_result res = { 0, 0 };
	struct in_addr ext;
	enum pm_status st;
	uint32_t epoch = pcp_svc_epoch(s);
	uint16_t port;

	switch (natpmp_parse(p, len, &q)) {
	case NATPMP_PARSE_DROP:
		return 0;
	case NATPMP_PARSE_BAD_VERSION:
		return natpmp_build_error(out, q.opcode, NATPMP_UNSUPP_VERSION, epoch);
	case NATPMP_PARSE_BAD_OPCODE:
		return natpmp_build_error(out, q.opcode, NATPMP_UNSUPP_OPCODE, epoch);
	case NATPMP_PARSE_OK:
		break;
	}
	if (q.opcode == NATPMP_OP_EXTERNAL) {
		if (!external_addr(e, &ext))
			return natpmp_build_external(out, NATPMP_NETWORK_FAILURE, epoch, ext);
		return natpmp_build_external(out, NATPMP_SUCCESS, epoch, ext);
	}
	memset(&r, 0, sizeof(r));
	r.lan = lan;
	r.peer = src;
	r.client = src;
	r.proto = q.opcode == NATPMP_OP_MAP_UDP ? MAP_UDP : MAP_TCP;
	r.int_port = q.int_port;
	r.ext_port = q.ext_port;
	r.lifetime = q.lifetime;
	r.origin = MAP_ORIGIN_NATPMP;
	if (q.lifetime == 0) {
		st = pm_delete(e, &r, false, &port);
		/* 3.4: a deletion answers external port 0, lifetime 0. */
		return natpmp_build_map(out, q.opcode, natpmp_code(st), epoch, q.int_port, 0, 0);
	}
	if (q.int_port == 0) {
		log_refused(&r, "internal port 0 with a lifetime");
		st = PM_NOT_AUTHORIZED;
	} else {
		st = pm_map(e, &r, &res);
	}
	if (st != PM_OK)
		return natpmp_build_map(out, q.opcode, natpmp_code(st), epoch, q.int_port,
					q.ext_port, 0);
	return natpmp_build_map(out, q.opcode, NATPMP_SUCCESS, epoch, q.int_port, res.ext_port,
				res.lifetime);
}

/* -------------------------------------------------------------- PCP */

static size_t pcp_error(struct pcp_svc *s, const uint8_t *p, size_t len, uint8_t result,
			uint8_t *out)
{
	uint32_t lt = pcp_result_is_long(result) ? PCP_ERROR_LIFETIME_LONG
						 : PCP_ERROR_LIFETIME_SHORT;

	return pcp_build_error(out, p, len, result, lt, pcp_svc_epoch(s));
}

static uint8_t pcp_code(enum pm_status st)
{
	switch (st) {
	case PM_OK: return PCP_SUCCESS;
	case PM_NOT_AUTHORIZED:
	case PM_NONCE: return PCP_NOT_AUTHORIZED;
	case PM_NO_EXTERNAL: return PCP_NETWORK_FAILURE;
	case PM_NO_RESOURCES:
	case PM_HELD: return PCP_NO_RESOURCES;
	case PM_CLIENT_FULL: return PCP_USER_EX_QUOTA;
	case PM_CANNOT_PROVIDE: return PCP_CANNOT_PROVIDE_EXTERNAL;
	}
	return PCP_NO_RESOURCES;
}

/* An answer to a parsed MAP with result rc (errors keep the request's
 * suggestions, 7.2). */
static size_t pcp_map_answer(struct pcp_svc *s, const struct pcp_request *q, uint8_t rc,
			     uint32_t lifetime, uint16_t port, const uint8_t ip[16], uint8_t *out)
{
	if (rc != PCP_SUCCESS)
		lifetime = pcp_result_is_long(rc) ? PCP_ERROR_LIFETIME_LONG
						  : PCP_ERROR_LIFETIME_SHORT;
	return pcp_build_response(out, q, rc, lifetime, pcp_svc_epoch(s), port, ip);
}

static size_t pcp_map(struct pcp_svc *s, struct in_addr src, unsigned lan,
		      const struct pcp_request *q, uint8_t *out)
{
	struct engine *e = s->e;
	struct pm_req r;
	struct pm_result res = { 0, 0 };
	struct in_addr ext;
	uint8_t ext_ip[16];
	enum pm_status st;
	uint16_t port;

	memset(&r, 0, sizeof(r));
	r.lan = lan;
	r.peer = src;
	r.client = src;
	r.int_port = q->int_port;
	r.ext_port = q->ext_port;
	r.lifetime = q->lifetime;
	r.origin = MAP_ORIGIN_PCP;
	r.nonce = q->nonce;
	r.prefer_failure = q->prefer_failure;
	/* 13.3: we keep no filters; only "no filter" (prefix 0) is honoured. */
	if (q->nfilters > 1 || (q->nfilters == 1 && q->filter.prefix_len != 0))
		return pcp_map_answer(s, q, PCP_UNSUPP_OPTION, 0, q->ext_port, q->ext_ip, out);
	/*
	 * 13.1: THIRD_PARTY only when the admin allows it (pcp_third_party,
	 * whatever secure_mode says). The mapping is then the named host's
	 * own: made, judged by the policy (a LAN host, the ACL, the ports),
	 * owned, counted, restored and re-checked at a reload as if it had
	 * asked itself.
	 */
	if (q->third_party) {
		if (!pcp_addr_is_v4(q->third_party_ip) || !e->cfg->pcp_third_party)
			return pcp_map_answer(s, q, PCP_NOT_AUTHORIZED, 0, q->ext_port,
					      q->ext_ip, out);
		r.client = pcp_addr_v4(q->third_party_ip);
		if (r.client.s_addr != src.s_addr) {
			char via[INET_ADDRSTRLEN], ic[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &src, via, sizeof(via));
			inet_ntop(AF_INET, &r.client, ic, sizeof(ic));
			log_debug("%s: PCP MAP for the third party %s (pcp_third_party)", via, ic);
		}
		r.peer = r.client;
	}
	switch (q->protocol) {
	case IPPROTO_NUM_TCP: r.proto = MAP_TCP; break;
	case IPPROTO_NUM_UDP: r.proto = MAP_UDP; break;
	default:
		/* Protocol 0 only to delete all (a mapping of every protocol
		 * is not offered). */
		if (q->protocol == 0 && q->lifetime == 0)
			break;
		return pcp_map_answer(s, q, PCP_UNSUPP_PROTOCOL, 0, q->ext_port, q->ext_ip, out);
	}
	if (q->lifetime == 0) {
		st = pm_delete(e, &r, q->protocol == 0, &port);
		return pcp_map_answer(s, q, pcp_code(st), 0, q->ext_port, q->ext_ip, out);
	}
	if (q->int_port == 0)   /* "all ports": not offered */
		return pcp_map_answer(s, q, PCP_NOT_AUTHORIZED, 0, q->ext_port, q->ext_ip, out);
	/* 11.3: a suggested address we do not have, with PREFER_FAILURE. */
	if (!external_addr(e, &ext))
		return pcp_map_answer(s, q, PCP_NETWORK_FAILURE, 0, q->ext_port, q->ext_ip, out);
	if (q->prefer_failure && !pcp_addr_is_any(q->ext_ip) &&
	    (!pcp_addr_is_v4(q->ext_ip) || pcp_addr_v4(q->ext_ip).s_addr != ext.s_addr))
		return pcp_map_answer(s, q, PCP_CANNOT_PROVIDE_EXTERNAL, 0, q->ext_port,
				      q->ext_ip, out);
	st = pm_map(e, &r, &res);
	if (st != PM_OK)
		return pcp_map_answer(s, q, pcp_code(st), 0, q->ext_port, q->ext_ip, out);
	pcp_addr_from_v4(ext_ip, ext);
	return pcp_map_answer(s, q, PCP_SUCCESS, res.lifetime, res.ext_port, ext_ip, out);
}

/* ---- PCP MAP for an IPv6 address: a pinhole (firewall mode) ---- */

/* A pinhole restored from the lease file has no nonce: it takes the first. */
static bool nonce_zero(const uint8_t nonce[12])
{
	static const uint8_t zero[12];

	return memcmp(nonce, zero, sizeof(zero)) == 0;
}

/* Delete the PCP pinhole of this tuple (nonce checked), or with proto 0
 * every PCP pinhole of (client, int_port) whose nonce matches. */
static uint8_t pcp_pin_delete(struct engine *e, const struct in6_addr *client,
			      const struct pcp_request *q)
{
	struct pinhole *p, *next;
	static const struct in6_addr any;

	if (q->protocol != 0) {
		p = pin_find_tuple(e->pins, &any, 0, client, q->int_port, q->protocol);
		if (!p)
			return PCP_SUCCESS;     /* 15: nothing to delete is no error */
		if (p->origin != PIN_ORIGIN_PCP ||
		    (!nonce_zero(p->nonce) && memcmp(p->nonce, q->nonce, sizeof(p->nonce)) != 0))
			return PCP_NOT_AUTHORIZED;
		return pinholes_close(e, p, "deleted (PCP)") < 0 ? PCP_NO_RESOURCES : PCP_SUCCESS;
	}
	for (p = pin_first(e->pins); p; p = next) {
		uint16_t uid = p->uid;

		next = pin_next(e->pins, p);
		if (p->origin != PIN_ORIGIN_PCP || !IN6_ARE_ADDR_EQUAL(&p->internal, client) ||
		    (q->int_port && p->int_port != q->int_port) ||
		    memcmp(p->nonce, q->nonce, sizeof(p->nonce)) != 0)
			continue;
		if (pinholes_close(e, p, "deleted (PCP)") < 0)
			return PCP_NO_RESOURCES;
		next = pin_after(e->pins, uid);
	}
	return PCP_SUCCESS;
}

static size_t pcp_map6(struct pcp_svc *s, const struct ipaddr *src, unsigned lan,
		       const struct pcp_request *q, uint8_t *out)
{
	struct engine *e = s->e;
	struct pinhole t, *p = NULL;
	enum policy_verdict v;
	char peer[IPADDR_STRLEN];
	uint8_t ip[16], rc;
	uint32_t lifetime;

	ipaddr_ntop(src, peer, sizeof(peer));
	if (q->nfilters > 1 || (q->nfilters == 1 && q->filter.prefix_len != 0))
		return pcp_map_answer(s, q, PCP_UNSUPP_OPTION, 0, q->ext_port, q->ext_ip, out);
	memset(&t, 0, sizeof(t));
	t.internal = src->u.v6;
	if (q->third_party) {
		if (pcp_addr_is_v4(q->third_party_ip))
			return pcp_map_answer(s, q, PCP_NOT_AUTHORIZED, 0, q->ext_port, q->ext_ip,
					      out);
		memcpy(t.internal.s6_addr, q->third_party_ip, 16);
	}
	if (!pinholes_firewall_enabled(e) || !pinholes_allowed(e)) {
		log_debug("%s: PCP MAP for an IPv6 address refused: pinholes are off", peer);
		return pcp_map_answer(s, q, PCP_NOT_AUTHORIZED, 0, q->ext_port, q->ext_ip, out);
	}
	if (q->protocol != 0 && !pin_proto_name(q->protocol))
		return pcp_map_answer(s, q, PCP_UNSUPP_PROTOCOL, 0, q->ext_port, q->ext_ip, out);
	if (q->lifetime == 0) {
		/* Only what the policy would let this client open. */
		v = pinholes_check(e, lan, src, &t.internal, q->int_port ? q->int_port : 65535);
		rc = v == POLICY_ALLOW ? pcp_pin_delete(e, &t.internal, q) : PCP_NOT_AUTHORIZED;
		return pcp_map_answer(s, q, rc, 0, q->ext_port, q->ext_ip, out);
	}
	if (q->protocol == 0 || q->int_port == 0)       /* every protocol or port: not offered */
		return pcp_map_answer(s, q, q->protocol == 0 ? PCP_UNSUPP_PROTOCOL :
				      PCP_NOT_AUTHORIZED, 0, q->ext_port, q->ext_ip, out);
	/* 11.3, 13.2: a firewall gives the internal address and port. */
	if (q->prefer_failure &&
	    ((!pcp_addr_is_any(q->ext_ip) && memcmp(q->ext_ip, t.internal.s6_addr, 16) != 0) ||
	     (q->ext_port != 0 && q->ext_port != q->int_port)))
		return pcp_map_answer(s, q, PCP_CANNOT_PROVIDE_EXTERNAL, 0, q->ext_port, q->ext_ip,
				      out);
	t.int_port = q->int_port;
	t.proto = q->protocol;
	t.origin = PIN_ORIGIN_PCP;
	t.lan = (uint8_t)lan;
	t.owner = *src;
	memcpy(t.nonce, q->nonce, sizeof(t.nonce));
	p = pin_find_tuple(e->pins, &t.remote, 0, &t.internal, t.int_port, t.proto);
	if (p && (p->origin != PIN_ORIGIN_PCP ||
		  (!nonce_zero(p->nonce) && memcmp(p->nonce, q->nonce, sizeof(p->nonce)) != 0)))
		return pcp_map_answer(s, q, PCP_NOT_AUTHORIZED, 0, q->ext_port, q->ext_ip, out);
	lifetime = clamp_lifetime(e, q->lifetime);
	switch (pinholes_open(e, &t, lifetime, &v, &p)) {
	case PINHOLES_OK:
		break;
	case PINHOLES_DENIED:
		log_debug("%s: PCP MAP for an IPv6 address refused: %s", peer,
			  pin_policy_verdict_str(v));
		return pcp_map_answer(s, q, PCP_NOT_AUTHORIZED, 0, q->ext_port, q->ext_ip, out);
	case PINHOLES_FULL:
		rc = e->cfg->max_pinholes_per_client &&
		     (pin_client_count(e->pins, &t.internal) >= e->cfg->max_pinholes_per_client ||
		      pin_owner_count(e->pins, src) >= e->cfg->max_pinholes_per_client)
		     ? PCP_USER_EX_QUOTA : PCP_NO_RESOURCES;
		return pcp_map_answer(s, q, rc, 0, q->ext_port, q->ext_ip, out);
	default:
		return pcp_map_answer(s, q, PCP_NO_RESOURCES, 0, q->ext_port, q->ext_ip, out);
	}
	memcpy(ip, p->internal.s6_addr, 16);
	return pcp_map_answer(s, q, PCP_SUCCESS, lifetime, p->int_port, ip, out);
}

/* The header's client address (8.3) is the source address. */
static bool client_ip_matches(const uint8_t ip[16], const struct ipaddr *src)
{
	struct in6_addr a6;

	if (ipaddr_is_v4(src))
		return pcp_addr_is_v4(ip) && pcp_addr_v4(ip).s_addr == src->u.v4.s_addr;
	memcpy(a6.s6_addr, ip, 16);
	return !pcp_addr_is_v4(ip) && memcmp(a6.s6_addr, src->u.v6.s6_addr, 16) == 0;
}

static size_t pcp_handle(struct pcp_svc *s, const struct ipaddr *src, unsigned lan,
			 const uint8_t *p, size_t len, uint8_t *out)
{
	struct pcp_request q;
	int rc = pcp_parse(p, len, &q);

	if (rc == PCP_PARSE_DROP)
		return 0;
	if (rc != PCP_SUCCESS)
		return pcp_error(s, p, len, (uint8_t)rc, out);
	/* 8.3: the address the client put in the header must be the one
	 * the request came from (no NAT between client and server). */
	if (!client_ip_matches(q.client_ip, src))
		return pcp_error(s, p, len, PCP_ADDRESS_MISMATCH, out);
	if (q.opcode == PCP_OP_ANNOUNCE)
		return pcp_build_response(out, &q, PCP_SUCCESS, 0, pcp_svc_epoch(s), 0, NULL);
	if (!ipaddr_is_v4(src))
		return pcp_map6(s, src, lan, &q, out);  /* the firewall case */
	return pcp_map(s, src->u.v4, lan, &q, out);
}

/* The opcode's name for the counters (static strings only). */
static const char *op_name(uint8_t version, uint8_t op)
{
	if (version == NATPMP_VERSION)
		return op == 0 ? "external_address" : op == 1 ? "map_udp" : op == 2 ? "map_tcp" :
		       "other";
	return op == PCP_OP_ANNOUNCE ? "announce" : op == PCP_OP_MAP ? "map" :
	       op == 2 ? "peer" : "other";
}

/* An answer into the counters: the request's protocol and opcode, the
 * answer's result code (NAT-PMP 16 bits at offset 2, PCP 8 at 3). */
static void count_answer(struct pcp_svc *s, const uint8_t *p, const uint8_t *out, size_t n)
{
	unsigned code;

	if (n < 4)
		return;
	code = out[0] == NATPMP_VERSION ? (unsigned)out[2] << 8 | out[3] : out[3];
	stats_request(&s->e->stats, p[0] == NATPMP_VERSION ? STATS_NATPMP : STATS_PCP,
		      op_name(p[0], p[1] & 0x7f), code);
}

static size_t handle(struct pcp_svc *s, const struct ipaddr *src, unsigned lan,
		     const uint8_t *p, size_t len, uint8_t *out);

size_t pcp_svc_handle(struct pcp_svc *s, const struct ipaddr *src, unsigned lan,
		      const uint8_t *p, size_t len, uint8_t *out)
{
	size_t n;

	/* A change under way completes first (engine_tx.h), so that what
	 * handle() reads stays (net/pcp_io.c lets a change request wait for
	 * its turn instead, pcp_svc_changes()). */
	engine_tx_settle(s->e);
	n = handle(s, src, lan, p, len, out);
	count_answer(s, p, out, n);
	return n;
}

bool pcp_svc_changes(const uint8_t *p, size_t len)
{
	if (len < 2 || (p[1] & 0x80))
		return false;
	if (p[0] == NATPMP_VERSION)
		return p[1] != NATPMP_OP_EXTERNAL;
	return p[0] == PCP_VERSION && (p[1] & 0x7f) != PCP_OP_ANNOUNCE;
}

size_t pcp_svc_busy(struct pcp_svc *s, const struct ipaddr *src, const uint8_t *p, size_t len,
		    uint8_t *out)
{
	const struct config *c = s->e->cfg;
	struct natpmp_request q;

	if (!pcp_svc_changes(p, len))
		return 0;
	if (p[0] == NATPMP_VERSION) {
		if (!c->enable_natpmp || !ipaddr_is_v4(src) ||
		    natpmp_parse(p, len, &q) != NATPMP_PARSE_OK)
			return 0;
		return natpmp_build_map(out, q.opcode, NATPMP_OUT_OF_RESOURCES, pcp_svc_epoch(s),
					q.int_port, q.ext_port, 0);
	}
	return c->enable_pcp ? pcp_error(s, p, len, PCP_NO_RESOURCES, out) : 0;
}

static size_t handle(struct pcp_svc *s, const struct ipaddr *src, unsigned lan,
		     const uint8_t *p, size_t len, uint8_t *out)
{
	const struct config *c = s->e->cfg;
	bool natpmp = c->enable_natpmp && ipaddr_is_v4(src);   /* RFC 6886: IPv4 only */

	if (len < 2 || (p[1] & 0x80))
		return 0;               /* a response (or nothing): never answered */
	if (p[0] == NATPMP_VERSION) {
		if (natpmp)
			return natpmp_handle(s, src->u.v4, lan, p, len, out);
		/* RFC 6887 9: a PCP server without NAT-PMP says which
		 * version it speaks. */
		return c->enable_pcp ? pcp_error(s, p, len, PCP_UNSUPP_VERSION, out) : 0;
	}
	if (c->enable_pcp)
		return pcp_handle(s, src, lan, p, len, out);
	/* NAT-PMP only (RFC 6886 3.5): result 1 for any other version. */
	return natpmp ? natpmp_build_error(out, p[1], NATPMP_UNSUPP_VERSION, pcp_svc_epoch(s)) : 0;
}
