/*
 * ctl.c - the control socket's commands (see ctl.h, docs/CLI.md) over
 * the engine: status, the listing, admin mappings (origin
 * MAP_ORIGIN_STATIC), flush, the WAN connection and the log level.
 *
 * An admin mapping bypasses the UPnP policy (core/policy.c: ports,
 * ACL, secure mode) but not what the backend needs: the internal client
 * must be a host of one of the LANs other than the gateway itself and a
 * remote host must be unicast, and the gateway keeps its own ports
 * (409). With nft the privileged helper checks again (priv/guard.h) and
 * installs a mapping beyond its port policy only with the grant igddctl
 * sends when run as root (the session's grant_fd; docs/NFT.md).
 */
#include "svc/ctl.h"

#include "conf/config.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "core/policy.h"
#include "core/wanconn.h"
#include "engine.h"
#include "engine_tx.h"
#include "proto/ctl.h"
#include "svc/action.h"
#include "svc/gena.h"
#include "svc/pinholes.h"
#include "svc/wanipconn.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ctl_session_init(struct ctl_session *s, struct engine *e, uid_t uid)
{
	memset(s, 0, sizeof(*s));
	s->e = e;
	s->uid = uid;
	s->grant_fd = -1;
}

void ctl_session_set_grant(struct ctl_session *s, int fd)
{
	if (s->grant_fd >= 0)
		close(s->grant_fd);
	s->grant_fd = fd;
}

void ctl_session_fini(struct ctl_session *s)
{
	ctl_session_set_grant(s, -1);
}

void ctl_error(struct buf *out, int code, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_printf(out, "error %d %s\n", code, text);
}

static void ok(struct buf *out)
{
	buf_puts(out, "ok\n");
}

/* The table's protocol for a request's (enum ctl_proto). */
static uint8_t map_proto_of(uint8_t ctl_proto)
{
	return ctl_proto == CTL_PROTO_UDP ? MAP_UDP : MAP_TCP;
}

static const char *origin_name(uint8_t origin)
{
	switch (origin) {
	case MAP_ORIGIN_NATPMP: return "natpmp";
	case MAP_ORIGIN_PCP: return "pcp";
	case MAP_ORIGIN_STATIC: return "static";
	default: return "upnp";
	}
}

/* ---------------------------------------------------------------- status */

static unsigned mask_len(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	unsigned n = 0;

	while (n < 32 && (m & (1u << (31 - n))))
		n++;
	return n;
}

struct status {
	char lan[INET_ADDRSTRLEN];
	char ext[INET_ADDRSTRLEN];
	const char *conn;
	const char *last_error;
	const char *wan_class;          /* core/addrclass.h name, "-" when no address */
	const char *wan_public;         /* yes|no */
	uint32_t conn_uptime;
	uint64_t uptime;
	size_t total, by_origin[4];
};

static void status_collect(struct engine *e, struct status *st)
{
	const struct mapping *m;
	uint64_t now = clock_now(&e->clock);

	memset(st, 0, sizeof(*st));
	inet_ntop(AF_INET, e->nlans ? &e->lans[0].addr : &(struct in_addr){ 0 }, st->lan,
		  sizeof(st->lan));
	engine_external_ip(e, st->ext);
	st->conn = e->wan ? wanconn_status_str(wanconn_status(e->wan)) : "Unconfigured";
	st->last_error = e->wan ? wanconn_lasterror_str(wanconn_last_error(e->wan)) : "ERROR_NONE";
	st->conn_uptime = e->wan ? wanconn_uptime(e->wan, now) : 0;
	engine_wan_classify(e);
	st->wan_class = e->wan_classified ? addrclass_name(e->wan_class) : "-";
	st->wan_public = engine_wan_public(e) ? "yes" : "no";
	st->uptime = now >= e->started_ms ? (now - e->started_ms) / 1000 : 0;
	st->total = map_count(e->maps);
	for (m = map_first(e->maps); m; m = map_next(e->maps, m))
		st->by_origin[m->origin & 3]++;
}

/* "A.B.C.D:PORT" of a STUN result, or "-" without one. */
static const char *stun_text(const struct stun_status *st, const struct stun_addr *a,
			     char out[INET_ADDRSTRLEN + 6])
{
	char ip[INET_ADDRSTRLEN];

	if (!st->have_result || !inet_ntop(AF_INET, &a->addr, ip, sizeof(ip)))
		return "-";
	snprintf(out, INET_ADDRSTRLEN + 6, "%s:%u", ip, (unsigned)a->port);
	return out;
}

/* The STUN client's findings (net/stun_io.c), text or JSON members. */
static void status_stun(const struct engine *e, bool json, struct buf *out)
{
	const struct stun_status *st = &e->stun;
	char srv[INET_ADDRSTRLEN + 6], map[INET_ADDRSTRLEN + 6];
	const char *kept = !st->have_result ? "-" : st->port_preserved ? "yes" : "no";

	if (json) {
		buf_printf(out, ",\"stun\":{\"state\":\"%s\",\"server\":\"%s\",\"mapped\":\"%s\","
			   "\"port_preserved\":\"%s\",\"mapping\":\"%s\",\"filtering\":\"%s\","
			   "\"runs\":%u,\"failed_runs\":%u}", stun_state_name(st->state),
			   stun_text(st, &st->server, srv), stun_text(st, &st->mapped, map), kept,
			   stun_behaviour_name(st->mapping), stun_behaviour_name(st->filtering),
			   st->runs, st->failed_runs);
		return;
	}
	buf_printf(out, "stun: %s\nstun_server: %s\nstun_mapped: %s\nstun_port_preserved: %s\n"
		   "stun_mapping: %s\nstun_filtering: %s\n", stun_state_name(st->state),
		   stun_text(st, &st->server, srv), stun_text(st, &st->mapped, map), kept,
		   stun_behaviour_name(st->mapping), stun_behaviour_name(st->filtering));
}

/* The upstream PCP / NAT-PMP client (net/upstream_io.c). */
static void status_upstream(const struct engine *e, bool json, struct buf *out)
{
	const struct upstream_status *u = &e->upstream;
	char srv[INET_ADDRSTRLEN] = "-", ext[INET_ADDRSTRLEN] = "-";

	if (u->mode != UPSTREAM_OFF)
		inet_ntop(AF_INET, &u->server, srv, sizeof(srv));
	if (u->have_ext)
		inet_ntop(AF_INET, &u->ext, ext, sizeof(ext));
	if (json) {
		buf_printf(out, ",\"upstream\":{\"mode\":\"%s\",\"server\":\"%s\","
			   "\"external_ip\":\"%s\",\"mirrored\":%u,\"other_port\":%u,"
			   "\"pending\":%u,\"requests\":%u,\"epoch_resets\":%u}",
			   upstream_mode_name(u->mode), srv, ext, u->mirrored, u->other_port,
			   u->pending, u->requests, u->epoch_resets);
		return;
	}
	buf_printf(out, "upstream: %s\nupstream_server: %s\nupstream_external_ip: %s\n"
		   "upstream_mirrored: %u\nupstream_other_port: %u\nupstream_pending: %u\n",
		   upstream_mode_name(u->mode), srv, ext, u->mirrored, u->other_port, u->pending);
}

/* Each address of l as "ADDR/PLEN" (IPv4 first, as the kernel lists them). */
static void lan_addrs(const struct lan *l, struct buf *out, bool json)
{
	char a[IPADDR_STRLEN];
	size_t i;

	for (i = 0; i < l->naddrs; i++)
		buf_printf(out, json ? "%s\"%s/%u\"" : "%s%s/%u", i ? (json ? "," : " ") : "",
			   ipaddr_ntop(&l->addrs[i].a, a, sizeof(a)), (unsigned)l->addrs[i].plen);
}

/* "lan NAME: ADDR/PLEN ..." for every LAN. */
static void lans_text(const struct engine *e, struct buf *out)
{
	size_t i;

	for (i = 0; i < e->nlans; i++) {
		buf_puts(out, "lan ");
		ctl_escape_text(out, e->lans[i].name, strlen(e->lans[i].name));
		buf_puts(out, ": ");
		if (e->lans[i].naddrs == 0)
			buf_puts(out, "-");
		lan_addrs(&e->lans[i], out, false);
		buf_puts(out, "\n");
	}
}

static void lans_json(const struct engine *e, struct buf *out)
{
	size_t i;

	for (i = 0; i < e->nlans; i++) {
		buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		ctl_escape_json(out, e->lans[i].name, strlen(e->lans[i].name));
		buf_puts(out, ",\"addresses\":[");
		lan_addrs(&e->lans[i], out, true);
		buf_puts(out, "]}");
	}
}

static void do_status(struct ctl_session *s, bool json, struct buf *out)
{
	struct engine *e = s->e;
	const char *lan_if = e->nlans ? e->lans[0].name : "";
	struct in_addr lan_mask = e->nlans ? e->lans[0].mask : (struct in_addr){ 0 };
	unsigned subs = e->gena ? gena_count(e->gena) : 0;
	const char *level = ctl_log_level_name((enum ctl_log_level)log_get_level());
	struct status st;

	status_collect(e, &st);
	if (json) {
		buf_printf(out, "{\"version\":\"%s\",\"uptime\":%llu,\"backend\":\"%s\","
			   "\"lan_interface\":", IGDD_VERSION, (unsigned long long)st.uptime,
			   e->backend.ops ? e->backend.ops->name : "none");
		ctl_escape_json(out, lan_if, strlen(lan_if));
		buf_printf(out, ",\"lan_address\":\"%s/%u\",\"external_ip\":\"%s\","
			   "\"wan_class\":\"%s\",\"wan_public\":%s,"
			   "\"connection_status\":\"%s\",\"connection_uptime\":%u,"
			   "\"last_connection_error\":\"%s\",\"mappings\":%zu,"
			   "\"mappings_upnp\":%zu,\"mappings_natpmp\":%zu,\"mappings_pcp\":%zu,"
			   "\"mappings_static\":%zu,\"system_update_id\":%u,\"boot_id\":%u,"
			   "\"config_id\":%u,\"gena_subscribers\":%u,\"log_level\":\"%s\"",
			   st.lan, mask_len(lan_mask), st.ext, st.wan_class,
			   strcmp(st.wan_public, "yes") == 0 ? "true" : "false", st.conn, st.conn_uptime,
			   st.last_error, st.total, st.by_origin[MAP_ORIGIN_UPNP],
			   st.by_origin[MAP_ORIGIN_NATPMP], st.by_origin[MAP_ORIGIN_PCP],
			   st.by_origin[MAP_ORIGIN_STATIC], e->system_update_id, e->boot_id,
			   e->config_id, subs, level);
		status_stun(e, true, out);
		status_upstream(e, true, out);
		buf_puts(out, ",\"lans\":[");
		lans_json(e, out);
		buf_puts(out, "]}\n");
		ok(out);
		return;
	}
	buf_printf(out, "version: %s\n", IGDD_VERSION);
	buf_printf(out, "uptime: %llu\n", (unsigned long long)st.uptime);
	buf_printf(out, "backend: %s\n", e->backend.ops ? e->backend.ops->name : "none");
	buf_puts(out, "lan_interface: ");
	ctl_escape_text(out, lan_if, strlen(lan_if));
	buf_printf(out, "\nlan_address: %s/%u\n", st.lan, mask_len(lan_mask));
	lans_text(e, out);
	buf_printf(out, "external_ip: %s\n", st.ext[0] ? st.ext : "-");
	buf_printf(out, "connection_status: %s\n", st.conn);
	buf_printf(out, "connection_uptime: %u\n", st.conn_uptime);
	buf_printf(out, "last_connection_error: %s\n", st.last_error);
	buf_printf(out, "wan_class: %s\n", st.wan_class);
	buf_printf(out, "wan_public: %s\n", st.wan_public);
	status_stun(e, false, out);
	status_upstream(e, false, out);
	buf_printf(out, "mappings: %zu\n", st.total);
	buf_printf(out, "mappings_upnp: %zu\n", st.by_origin[MAP_ORIGIN_UPNP]);
	buf_printf(out, "mappings_natpmp: %zu\n", st.by_origin[MAP_ORIGIN_NATPMP]);
	buf_printf(out, "mappings_pcp: %zu\n", st.by_origin[MAP_ORIGIN_PCP]);
	buf_printf(out, "mappings_static: %zu\n", st.by_origin[MAP_ORIGIN_STATIC]);
	buf_printf(out, "system_update_id: %u\n", e->system_update_id);
	buf_printf(out, "boot_id: %u\n", e->boot_id);
	buf_printf(out, "config_id: %u\n", e->config_id);
	buf_printf(out, "gena_subscribers: %u\n", subs);
	buf_printf(out, "log_level: %s\n", level);
	ok(out);
}

/* The counters (core/stats.h; docs/MONITORING.md). */
static void do_stats(struct ctl_session *s, bool json, struct buf *out)
{
	struct stats_gauges g;

	engine_gauges(s->e, &g);
	if (json)
		stats_write_json(&s->e->stats, &g, out);
	else
		stats_write_text(&s->e->stats, &g, out);
	ok(out);
}

/* --------------------------------------------------------------- listing */

static void list_entry(struct ctl_session *s, const struct mapping *m, struct buf *out)
{
	char rh[INET_ADDRSTRLEN] = "", ic[INET_ADDRSTRLEN], owner[INET_ADDRSTRLEN];
	uint32_t lease = map_lease_remaining(s->e->maps, m);

	if (m->remote_host.s_addr)
		inet_ntop(AF_INET, &m->remote_host, rh, sizeof(rh));
	inet_ntop(AF_INET, &m->internal_client, ic, sizeof(ic));
	if (m->origin == MAP_ORIGIN_STATIC && m->owner.s_addr == 0)
		snprintf(owner, sizeof(owner), "admin");
	else
		inet_ntop(AF_INET, &m->owner, owner, sizeof(owner));
	if (s->json) {
		buf_printf(out, "%s{\"protocol\":\"%s\",\"external_port\":%u,\"remote_host\":\"%s\","
			   "\"internal_client\":\"%s\",\"internal_port\":%u,\"enabled\":%s,"
			   "\"lease_remaining\":%u,\"description\":",
			   s->any ? "," : "", map_proto_name(m->proto), (unsigned)m->ext_port, rh,
			   ic, (unsigned)m->int_port, m->enabled ? "true" : "false", lease);
		ctl_escape_json(out, m->desc, strlen(m->desc));
		buf_printf(out, ",\"owner\":\"%s\",\"origin\":\"%s\"}\n", owner,
			   origin_name(m->origin));
	} else {
		char lease_text[16], client[32];

		snprintf(lease_text, sizeof(lease_text), lease ? "%u" : "-", lease);
		snprintf(client, sizeof(client), "%s:%u", ic, (unsigned)m->int_port);
		buf_printf(out, "%-5s %5u  %-15s  %-21s  %-3s  %7s  %-6s  %-15s  \"",
			   map_proto_name(m->proto), (unsigned)m->ext_port, rh[0] ? rh : "*",
			   client, m->enabled ? "yes" : "no", lease_text, origin_name(m->origin),
			   owner);
		ctl_escape_text(out, m->desc, strlen(m->desc));
		buf_puts(out, "\"\n");
	}
	s->any = true;
	s->count++;
	s->proto = m->proto;
	s->port = m->ext_port;
	s->rh = m->remote_host;
}

/* The first entry after the key (proto, port, rh) in table order. */
static struct mapping *entry_after(const struct map_table *t, uint8_t proto, uint16_t port,
				   struct in_addr rh)
{
	struct mapping *m = map_range_after(t, proto, port, rh, 65535);

	if (!m && proto == MAP_TCP)
		m = map_range_first(t, MAP_UDP, 1, 65535);
	return m;
}

/* ------------------------------------------------------ IPv6 pinholes */

static const char *pin_origin_name(uint8_t origin)
{
	switch (origin) {
	case PIN_ORIGIN_UPNP: return "upnp";
	case PIN_ORIGIN_PCP: return "pcp";
	default: return "static";
	}
}

static void pin_entry(struct ctl_session *s, const struct pinhole *p, struct buf *out)
{
	char rh[INET6_ADDRSTRLEN] = "*", ic[INET6_ADDRSTRLEN], owner[IPADDR_STRLEN] = "admin";
	char rport[8] = "*";
	uint32_t lease = pin_lease_remaining(s->e->pins, p);
	uint64_t packets = 0;
	const char *proto = pin_proto_name(p->proto);

	if (!IN6_IS_ADDR_UNSPECIFIED(&p->remote))
		inet_ntop(AF_INET6, &p->remote, rh, sizeof(rh));
	inet_ntop(AF_INET6, &p->internal, ic, sizeof(ic));
	if (p->owner.family)
		ipaddr_ntop(&p->owner, owner, sizeof(owner));
	if (pinholes_packets(s->e, p, &packets) < 0)
		packets = 0;
	if (p->remote_port)
		snprintf(rport, sizeof(rport), "%u", p->remote_port);
	if (s->json)
		buf_printf(out, "%s{\"id\":%u,\"protocol\":\"%s\",\"remote_host\":\"%s\","
			   "\"remote_port\":%u,\"internal_client\":\"%s\",\"internal_port\":%u,"
			   "\"lease_remaining\":%u,\"packets\":%llu,\"owner\":\"%s\","
			   "\"origin\":\"%s\"}\n", s->any ? "," : "", p->uid, proto ? proto : "?",
			   IN6_IS_ADDR_UNSPECIFIED(&p->remote) ? "" : rh, p->remote_port, ic,
			   p->int_port, lease, (unsigned long long)packets, owner,
			   pin_origin_name(p->origin));
	else
		buf_printf(out, "%5u  %-7s  %-39s %5s  %-39s %5u  %7u  %8llu  %-6s  %s\n", p->uid,
			   proto ? proto : "?", rh, rport, ic, p->int_port, lease,
			   (unsigned long long)packets, pin_origin_name(p->origin), owner);
	s->any = true;
	s->count++;
	s->pin_uid = p->uid;
}

/* A listing (of mappings, or of pinholes) begins. */
static void listing_start(struct ctl_session *s, bool pinholes, bool json)
{
	s->listing = true;
	s->pinholes = pinholes;
	s->json = json;
	s->any = false;
	s->count = 0;
}

/* A part of a listing is written: more to come (1), or the end (0). */
static int listing_part(struct ctl_session *s, bool more, struct buf *out)
{
	if (more)
		return 1;
	if (s->json)
		buf_puts(out, "]}\n");
	s->listing = false;
	ok(out);
	return 0;
}

static int pins_more(struct ctl_session *s, struct buf *out)
{
	const struct pin_table *t = s->e->pins;
	struct pinhole *p;

	p = s->any ? pin_after(t, s->pin_uid) : pin_first(t);
	for (; p && out->len < IGDD_CTL_MAX_OUT / 2; p = pin_next(t, p))
		pin_entry(s, p, out);
	return listing_part(s, p != NULL, out);
}

static void do_pinhole_del(struct ctl_session *s, const struct ctl_req *r, struct buf *out)
{
	struct pinhole *p = pin_find(s->e->pins, r->uid);
	char what[64];

	if (!p) {
		ctl_error(out, CTL_E_NOT_FOUND, "no pinhole %u", r->uid);
		return;
	}
	snprintf(what, sizeof(what), "deleted (igddctl uid %ld)", (long)s->uid);
	if (pinholes_close(s->e, p, what) < 0) {
		ctl_error(out, CTL_E_FAILED, "could not close pinhole %u (the backend or the lease "
			  "file refused; it stays open)", r->uid);
		return;
	}
	ok(out);
}

int ctl_more(struct ctl_session *s, struct buf *out)
{
	const struct map_table *t = s->e->maps;
	struct mapping *m;

	if (!s->listing)
		return 0;
	if (s->pinholes)
		return pins_more(s, out);
	m = s->any ? entry_after(t, s->proto, s->port, s->rh) : map_first(t);
	for (; m && out->len < IGDD_CTL_MAX_OUT / 2; m = map_next(t, m))
		list_entry(s, m, out);
	return listing_part(s, m != NULL, out);
}

/* `list` (mappings) or `pinholes`: the heading and the first part; 1 when
 * more is to come (ctl_more()). */
static int do_listing(struct ctl_session *s, bool pinholes, bool json, struct buf *out)
{
	listing_start(s, pinholes, json);
	if (json)
		buf_puts(out, pinholes ? "{\"pinholes\":[\n" : "{\"mappings\":[\n");
	else if (pinholes)
		buf_printf(out, "%5s  %-7s  %-39s %5s  %-39s %5s  %7s  %8s  %-6s  %s\n", "ID", "PROTO",
			   "REMOTE", "RPORT", "INTERNAL", "PORT", "LEASE", "PACKETS", "ORIGIN",
			   "OWNER");
	else
		buf_printf(out, "%-5s %5s  %-15s  %-21s  %-3s  %7s  %-6s  %-15s  %s\n", "PROTO",
			   "EXT", "REMOTE", "INTERNAL", "ON", "LEASE", "ORIGIN", "OWNER",
			   "DESCRIPTION");
	return ctl_more(s, out);
}

/* --------------------------------------------------------------- changes */

/* The answer to a change that did not complete (engine_tx.h). */
static void tx_refused(struct buf *out, const char *what, const struct engine_tx *tx)
{
	if (tx->stage == ENGINE_TX_TABLE && tx->map == MAP_FULL)
		ctl_error(out, CTL_E_UNAVAILABLE, "the table is full (max_mappings)");
	else if (tx->stage == ENGINE_TX_TABLE && tx->map == MAP_CLIENT_FULL)
		ctl_error(out, CTL_E_UNAVAILABLE, "the internal client has max_mappings_per_client");
	else if (tx->stage == ENGINE_TX_TABLE)
		ctl_error(out, CTL_E_CONFLICT, "%s: conflict", what);
	else if (tx->stage == ENGINE_TX_BACKEND && tx->err == -EADDRINUSE)
		ctl_error(out, CTL_E_CONFLICT, "%s: the gateway itself uses this port (a service "
			  "listening on it, or a static forward of the firewall)", what);
	else if (tx->stage == ENGINE_TX_BACKEND && tx->err == -EACCES)
		ctl_error(out, CTL_E_DENIED, "%s: the privileged helper's port policy refuses it "
			  "and no grant from root came with it (run igddctl as root; docs/NFT.md)",
			  what);
	else if (tx->stage == ENGINE_TX_BACKEND)
		ctl_error(out, CTL_E_FAILED, "%s: the backend refused it", what);
	else if (tx->stage == ENGINE_TX_COMMIT)
		ctl_error(out, CTL_E_FAILED, "%s: not done: the lease file could not be written: %s",
			  what, strerror(-tx->err));
	else
		ctl_error(out, CTL_E_FAILED, "out of memory");
}

/* The end of a command that changed the table (committed and evented
 * by the transaction). */
static void done_ok(struct buf *out, const char *done)
{
	buf_printf(out, "%s\n", done);
	ok(out);
}

/* A host of one of the LANs, not the gateway itself (but on a loopback
 * LAN): core/lan.h lan_host_ok(). */
static bool lan_host(const struct engine *e, struct in_addr a)
{
	struct ipaddr c = ipaddr_from_v4(a);
	int i = engine_lan_find(e, &c);

	return i >= 0 && engine_lan_host(e, (unsigned)i, &c);
}

static void do_add(struct ctl_session *s, const struct ctl_req *r, struct buf *out)
{
	struct engine *e = s->e;
	struct mapping tmpl, *m;
	char what[96], desc[96], done[160];
	struct str d = str_from(r->desc, r->desc_len);
	struct engine_tx tx;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.remote_host = r->remote_host;
	tmpl.internal_client = r->client;
	tmpl.ext_port = r->ext_port;
	tmpl.int_port = r->int_port;
	tmpl.proto = map_proto_of(r->proto);
	tmpl.origin = MAP_ORIGIN_STATIC;
	tmpl.enabled = true;
	tmpl.lease_end_ms = map_lease_end(e->maps, r->lease_s);
	map_describe(what, sizeof(what), &tmpl);
	if (!lan_host(e, r->client)) {
		ctl_error(out, CTL_E_INVALID, "%s: the internal client is not a host of the LAN "
			  "(of any lan_interface) other than the gateway: igddctl status "
			  "lists them", what);
		return;
	}
	if (r->remote_host.s_addr && !policy_remote_host_ok(r->remote_host)) {
		ctl_error(out, CTL_E_INVALID, "%s: the remote host is not a unicast address", what);
		return;
	}
	m = map_find(e->maps, map_proto_of(r->proto), r->ext_port, r->remote_host);
	if (m && (m->origin != MAP_ORIGIN_STATIC ||
		  m->internal_client.s_addr != r->client.s_addr)) {
		map_describe(what, sizeof(what), m);
		ctl_error(out, CTL_E_CONFLICT, "%s/%u is held by a %s mapping (%s); delete it first",
			  map_proto_name(map_proto_of(r->proto)), (unsigned)r->ext_port, origin_name(m->origin),
			  what);
		return;
	}
	engine_tx_init(&tx, ENGINE_TX_REAPPLY | ENGINE_TX_EVENT);
	tx.grant_fd = s->grant_fd;
	if (m) {
		/* The admin's own entry again: replace it. */
		struct mapping next = *m;

		next.desc = map_desc_dup(d);
		if (!next.desc) {
			ctl_error(out, CTL_E_FAILED, "out of memory");
			return;
		}
		next.int_port = r->int_port;
		next.enabled = true;
		next.lease_end_ms = tmpl.lease_end_ms;
		if (engine_map_replace(e, &tx, m, &next) < 0) {
			tx_refused(out, what, &tx);
			return;
		}
		log_escape(desc, sizeof(desc), m->desc, strlen(m->desc));
		log_info("igddctl (uid %ld): replaced %s '%s' lease %u", (long)s->uid, what, desc,
			 (unsigned)r->lease_s);
		snprintf(done, sizeof(done), "replaced %s", what);
		done_ok(out, done);
		return;
	}
	m = map_find_port(e->maps, map_proto_of(r->proto), r->ext_port);
	if (m && m->internal_client.s_addr != r->client.s_addr) {
		map_describe(what, sizeof(what), m);
		ctl_error(out, CTL_E_CONFLICT, "%s/%u is held by a %s mapping (%s); delete it first",
			  map_proto_name(map_proto_of(r->proto)), (unsigned)r->ext_port, origin_name(m->origin),
			  what);
		return;
	}
	if (engine_map_add(e, &tx, &tmpl, d) < 0) {
		tx_refused(out, what, &tx);
		return;
	}
	m = tx.m;
	log_escape(desc, sizeof(desc), m->desc, strlen(m->desc));
	log_info("igddctl (uid %ld): added %s '%s' lease %u", (long)s->uid, what, desc,
		 (unsigned)r->lease_s);
	snprintf(done, sizeof(done), "added %s", what);
	done_ok(out, done);
}

static void do_del(struct ctl_session *s, const struct ctl_req *r, struct buf *out)
{
	struct engine *e = s->e;
	struct mapping *m = map_find(e->maps, map_proto_of(r->proto), r->ext_port, r->remote_host);
	struct engine_tx tx;
	const char *origin;
	char what[96], done[160];

	if (!m) {
		char rh[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->remote_host, rh, sizeof(rh));
		ctl_error(out, CTL_E_NOT_FOUND, "no mapping %s/%u%s%s", map_proto_name(map_proto_of(r->proto)),
			  (unsigned)r->ext_port, r->remote_host.s_addr ? " from " : "",
			  r->remote_host.s_addr ? rh : "");
		return;
	}
	map_describe(what, sizeof(what), m);
	origin = origin_name(m->origin);
	engine_tx_init(&tx, 0);
	if (engine_map_remove(e, &tx, m) < 0) {
		if (tx.stage == ENGINE_TX_BACKEND)
			ctl_error(out, CTL_E_FAILED, "%s: the backend failed to remove it", what);
		else
			tx_refused(out, what, &tx);
		return;
	}
	log_info("igddctl (uid %ld): deleted %s (%s)", (long)s->uid, what, origin);
	snprintf(done, sizeof(done), "deleted %s", what);
	done_ok(out, done);
}

/* The entries flush takes, into a malloc'd array. */
static int collect(const struct ctl_req *r, const struct map_table *t, struct mapping ***ret,
		   size_t *ret_n)
{
	size_t n = r->have_client ? map_client_count(t, r->client) : map_count(t), i = 0;
	struct mapping **v = calloc(n ? n : 1, sizeof(*v)), *m;

	if (!v)
		return -ENOMEM;
	if (r->have_client) {
		for (i = 0; i < n; i++)
			v[i] = map_client_nth(t, r->client, i);
	} else {
		for (m = map_first(t); m && i < n; m = map_next(t, m))
			v[i++] = m;
	}
	*ret = v;
	*ret_n = i;
	return 0;
}

static void do_flush(struct ctl_session *s, const struct ctl_req *r, struct buf *out)
{
	struct engine *e = s->e;
	struct mapping **v = NULL;
	struct engine_tx tx;
	size_t n = 0;
	char who[INET_ADDRSTRLEN + 8] = "", done[96];

	if (r->have_client) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->client, a, sizeof(a));
		snprintf(who, sizeof(who), " of %s", a);
	}
	if (collect(r, e->maps, &v, &n) < 0) {
		ctl_error(out, CTL_E_FAILED, "out of memory");
		return;
	}
	if (n == 0) {
		free(v);
		buf_printf(out, "removed 0 mappings%s\n", who);
		ok(out);
		return;
	}
	engine_tx_init(&tx, ENGINE_TX_EACH);
	engine_map_remove_set(e, &tx, v, n);
	free(v);
	if (tx.stage != ENGINE_TX_DONE && tx.stage != ENGINE_TX_BACKEND) {
		tx_refused(out, "flush", &tx);
		return;
	}
	log_info("igddctl (uid %ld): flushed %zu mappings%s", (long)s->uid, tx.removed, who);
	snprintf(done, sizeof(done), "removed %zu mappings%s", tx.removed, who);
	if (tx.kept) {
		ctl_error(out, CTL_E_FAILED, "%s; the backend failed to remove %zu (kept)", done,
			  tx.kept);
		return;
	}
	done_ok(out, done);
}

/* ------------------------------------------------------- the connection */

static const char *upnp_error_name(int code)
{
	switch (code) {
	case UPNP_E_ACTION_FAILED: return "ActionFailed";
	case UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED: return "InactiveConnectionStateRequired";
	case UPNP_E_CONNECTION_SETUP_FAILED: return "ConnectionSetupFailed";
	case UPNP_E_CONNECTION_SETUP_IN_PROGRESS: return "ConnectionSetupInProgress";
	case UPNP_E_CONNECTION_NOT_CONFIGURED: return "ConnectionNotConfigured";
	case UPNP_E_DISCONNECT_IN_PROGRESS: return "DisconnectInProgress";
	case UPNP_E_INTERNET_ACCESS_DISABLED: return "InternetAccessDisabled";
	case UPNP_E_INVALID_CONNECTION_TYPE: return "InvalidConnectionType";
	case UPNP_E_CONNECTION_ALREADY_TERMINATED: return "ConnectionAlreadyTerminated";
	default: return "error";
	}
}

static void do_connection(struct ctl_session *s, bool up, struct buf *out)
{
	struct engine *e = s->e;
	uint64_t now = clock_now(&e->clock);
	int code;

	if (!e->wan) {
		ctl_error(out, CTL_E_CONFLICT, "no WAN connection");
		return;
	}
	code = wanipconn_error_code(up ? wanconn_request_connection(e->wan, now)
					   : wanconn_force_termination(e->wan, now));
	log_info("igddctl (uid %ld): %s: %s%s", (long)s->uid, up ? "connect" : "disconnect",
		 code ? upnp_error_name(code) : "done, now ",
		 code ? "" : wanconn_status_str(wanconn_status(e->wan)));
	if (code) {
		ctl_error(out, code == UPNP_E_ACTION_FAILED ? CTL_E_FAILED : CTL_E_CONFLICT,
			  "%s refused: UPnP %d %s (connection_status %s)",
			  up ? "RequestConnection" : "ForceTermination", code,
			  upnp_error_name(code), wanconn_status_str(wanconn_status(e->wan)));
		return;
	}
	buf_printf(out, "connection_status: %s\n", wanconn_status_str(wanconn_status(e->wan)));
	ok(out);
}

/* reload: what SIGHUP does (main.c), with its outcome in the answer. */
static void do_reload(struct ctl_session *s, struct buf *out)
{
	struct engine *e = s->e;
	char msg[256] = "";
	int n;

	if (!e->reload) {
		ctl_error(out, CTL_E_UNAVAILABLE, "this daemon cannot reload its configuration");
		return;
	}
	log_info("igddctl (uid %ld): reload", (long)s->uid);
	n = e->reload(e->reload_arg, msg, sizeof(msg));
	if (n < 0) {
		ctl_error(out, CTL_E_INVALID, "%s", msg[0] ? msg : "reload failed");
		return;
	}
	buf_printf(out, "removed: %d\n", n);
	ok(out);
}

/* --------------------------------------------------------------- dispatch */

int ctl_handle(struct ctl_session *s, const char *line, size_t len, struct buf *out)
{
	struct ctl_req *r = malloc(sizeof(*r));
	const char *err = NULL;
	int code, more = 0;

	s->listing = false;
	engine_tx_settle(s->e);         /* igddctl answers at once (engine_tx.h) */
	if (!r) {
		ctl_error(out, CTL_E_FAILED, "out of memory");
		return 0;
	}
	code = ctl_parse(line, len, r, &err);
	if (code) {
		ctl_error(out, code, "%s", err);
		ctl_session_set_grant(s, -1);
		free(r);
		return 0;
	}
	switch (r->cmd) {
	case CTL_STATUS:
		do_status(s, r->json, out);
		break;
	case CTL_STATS:
		do_stats(s, r->json, out);
		break;
	case CTL_LIST:
		more = do_listing(s, false, r->json, out);
		break;
	case CTL_ADD:
		do_add(s, r, out);
		break;
	case CTL_DEL:
		do_del(s, r, out);
		break;
	case CTL_FLUSH:
		do_flush(s, r, out);
		break;
	case CTL_CONNECT:
	case CTL_DISCONNECT:
		do_connection(s, r->cmd == CTL_CONNECT, out);
		break;
	case CTL_RELOAD:
		do_reload(s, out);
		break;
	case CTL_PINHOLES:
		more = do_listing(s, true, r->json, out);
		break;
	case CTL_PINHOLE_DEL:
		do_pinhole_del(s, r, out);
		break;
	case CTL_LOG_LEVEL:
		log_set_level((enum log_level)r->level);
		log_warnx("igddctl (uid %ld): log level %s", (long)s->uid,
			  ctl_log_level_name(r->level));
		ok(out);
		break;
	}
	ctl_session_set_grant(s, -1);           /* a grant is for one command */
	free(r);
	return more;
}
