/*
 * engine.c - one igdd instance's state (see engine.h), and the glue
 * between the WAN connection state machine (core/wanconn.h,
 * WANIPConnection:2 2.6) and the backend's link: the machine asks for
 * bring-up / bring-down through the backend's wan_up / wan_down, the
 * backend reports back through engine_wan_event(), and status changes
 * become change events (2.4.2 ConnectionStatus, 2.4.3 ExternalIPAddress).
 */
#include "engine.h"
#include "engine_tx.h"

#include "conf/config.h"
#include "conf/policy_conf.h"
#include "core/mapping.h"
#include "core/pin_policy.h"
#include "core/pinhole.h"
#include "core/policy.h"
#include "core/wanconn.h"
#include "svc/pinholes.h"
#include "store/leasefile.h"
#include "svc/gena.h"
#include "svc/portmap.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* The key of the pinholes' UniqueIDs (core/pinhole.h): from the kernel's
 * random source; the clock and the address of e when it has none. */
static uint64_t engine_random64(const struct engine *e)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = clock_now(&e->clock) ^ (uint64_t)(uintptr_t)e ^ ((uint64_t)e->boot_id << 32);
	return v;
}

/*
 * The embedded devices get UUIDs derived from the root's: the last group
 * of the root UUID with its final hex digit replaced (UDA requires only
 * that each device's UDN be unique and stable).
 */
static void derive_uuid(const char *root, char out[37], unsigned n)
{
	static const char hex[] = "0123456789abcdef";

	const char *p;

	memcpy(out, root, 37);
	p = strchr(hex, tolower((unsigned char)out[35]));
	out[35] = hex[((p && *p ? (unsigned)(p - hex) : 0) + n) & 15];
}

/* ---- the WAN connection ---- */

/* The connection carries traffic, and has an external address (2.3.13). */
static bool status_up(enum wanconn_status s)
{
	return s == WANCONN_CONNECTED || s == WANCONN_PENDING_DISCONNECT;
}

static void wan_on_status_change(struct wanconn *w, enum wanconn_status old_status,
				 enum wanconn_status new_status, void *arg)
{
	struct engine *e = arg;
	unsigned changes = ENGINE_CHG_CONNECTION;

	(void)w;
	if (status_up(old_status) != status_up(new_status))
		changes |= ENGINE_CHG_EXTERNAL_IP;
	log_info("WAN connection: %s -> %s", wanconn_status_str(old_status),
		 wanconn_status_str(new_status));
	engine_changed(e, changes);
}

/* A backend that cannot dial (no wan_up, or it failed to start) fails
 * the attempt at once: RequestConnection then answers 704. */
static void wan_on_bring_up(struct wanconn *w, void *arg)
{
	struct engine *e = arg;
	int r = -ENOTSUP;

	if (e->backend.ops->wan_up)
		r = e->backend.ops->wan_up(&e->backend);
	if (r < 0) {
		log_warnx("WAN link: cannot connect: %s", strerror(-r));
		wanconn_link_failed(w, clock_now(&e->clock), WANCONN_LASTERR_UNKNOWN);
	}
}

/* A failed bring-down leaves the machine in Disconnecting until its
 * disconnect timeout. No wan_down: only a connect attempt that timed
 * out asks, and there is nothing to abort. */
static void wan_on_bring_down(struct wanconn *w, void *arg)
{
	struct engine *e = arg;
	int r;

	(void)w;
	if (!e->backend.ops->wan_down)
		return;
	r = e->backend.ops->wan_down(&e->backend);
	if (r < 0)
		log_warnx("WAN link: cannot disconnect: %s", strerror(-r));
}

static void backend_on_link(struct backend *b, enum backend_link_event ev,
			    enum backend_link_cause cause, void *arg)
{
	(void)b;
	engine_wan_event(arg, ev, cause);
}

/* The backend took mappings away (the gateway's own port, the helper's
 * policy): the table follows. */
static void backend_on_gone(struct backend *b, const struct backend_gone *v, size_t n, void *arg)
{
	(void)b;
	if (portmap_backend_gone(arg, v, n) < 0)
		log_warnx("out of memory: %zu mappings the backend removed are still listed", n);
}

/* PhysicalLinkStatus is evented: tell when the backend's link flips. */
static void check_link(struct engine *e)
{
	struct backend_wan w;

	memset(&w, 0, sizeof(w));
	if (e->backend.ops->wan_status(&e->backend, &w) < 0 || w.link_up == e->wan_link_up)
		return;
	e->wan_link_up = w.link_up;
	engine_changed(e, ENGINE_CHG_WAN_LINK);
}

/* LastConnectionError (Table 2-5) for a backend's cause. */
static enum wanconn_lasterror cause_error(enum backend_link_cause cause)
{
	switch (cause) {
	case BACKEND_CAUSE_NONE: return WANCONN_LASTERR_NONE;
	case BACKEND_CAUSE_NO_CARRIER: return WANCONN_LASTERR_NO_CARRIER;
	case BACKEND_CAUSE_IP_CONFIGURATION: return WANCONN_LASTERR_IP_CONFIGURATION;
	case BACKEND_CAUSE_ISP_DISCONNECT: return WANCONN_LASTERR_ISP_DISCONNECT;
	}
	return WANCONN_LASTERR_UNKNOWN;
}

void engine_wan_event(struct engine *e, enum backend_link_event ev,
		      enum backend_link_cause cause)
{
	uint64_t now = clock_now(&e->clock);
	int r = -EINVAL;

	if (!e->wan)
		return;
	switch (ev) {
	case BACKEND_LINK_UP:
		r = wanconn_link_up(e->wan, now);
		break;
	case BACKEND_LINK_FAILED:
		r = wanconn_link_failed(e->wan, now, cause_error(cause));
		break;
	case BACKEND_LINK_DOWN_DONE:
		r = wanconn_link_down_done(e->wan, now);
		break;
	}
	/* A late report (after a timeout or an abort) changes nothing. */
	if (r < 0)
		log_debug("WAN link: event %d ignored while %s", (int)ev,
			  wanconn_status_str(wanconn_status(e->wan)));
	check_link(e);
}

/* The connection from cfg, Connected at once when the link is up. */
static int wan_init(struct engine *e)
{
	static const struct wanconn_ops ops = {
		.on_status_change = wan_on_status_change,
		.on_bring_up = wan_on_bring_up,
		.on_bring_down = wan_on_bring_down,
	};
	const struct config *cfg = e->cfg;
	struct wanconn_config wc;
	struct backend_wan w;

	wanconn_config_default(&wc);
	wc.type_read_only = cfg->connection_type_read_only;
	wc.termination_supported = e->backend.ops->wan_down != NULL;
	wc.auto_disconnect_s = cfg->auto_disconnect_time;
	wc.idle_disconnect_s = cfg->idle_disconnect_time;
	wc.warn_disconnect_s = cfg->warn_disconnect_delay;
	if (cfg->backend == CONFIG_BACKEND_SIM && cfg->sim_ip_bridged)
		wc.possible |= WANCONN_TYPE_BIT(WANCONN_TYPE_IP_BRIDGED);
	e->wan = wanconn_new(&wc, &ops, e);
	if (!e->wan) {
		if (errno != EINVAL)
			return -ENOMEM;
		log_warnx("auto_disconnect_time and idle_disconnect_time need a backend that "
			  "can bring the WAN link down (%s cannot)", e->backend.ops->name);
		return -EINVAL;
	}
	memset(&w, 0, sizeof(w));
	if (e->backend.ops->wan_status(&e->backend, &w) == 0 && w.link_up)
		wanconn_link_up(e->wan, clock_now(&e->clock));
	else            /* say why clients see no external address */
		log_info("WAN connection: Disconnected: the WAN link%s%s is down; "
			 "no external address until it comes up", cfg->wan_interface[0] ? " " : "",
			 cfg->wan_interface);
	e->wan_link_up = w.link_up;
	return 0;
}

void engine_gauges(const struct engine *e, struct stats_gauges *ret)
{
	uint64_t now = clock_now(&e->clock);
	const struct mapping *m;

	memset(ret, 0, sizeof(*ret));
	ret->uptime_s = now >= e->started_ms ? (now - e->started_ms) / 1000 : 0;
	for (m = map_first(e->maps); m; m = map_next(e->maps, m))
		ret->mappings_by_origin[m->origin & 3]++;
	ret->gena_subscribers = e->gena ? gena_count(e->gena) : 0;
}

uint32_t engine_uptime(const struct engine *e, uint64_t now)
{
	uint64_t s;

	switch (e->cfg->uptime_source) {
	case CONFIG_UPTIME_IGDD:
		s = now >= e->started_ms ? (now - e->started_ms) / 1000 : 0;
		break;
	case CONFIG_UPTIME_SYSTEM:
		s = now / 1000;
		break;
	default:
		return e->wan ? wanconn_uptime(e->wan, now) : 0;
	}
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

bool engine_connection_allowed(const struct engine *e, const struct ipaddr *from)
{
	const struct config *c = e->cfg;
	struct in_addr peer;
	uint32_t mask;
	size_t i;

	if (c->connection_control_all)
		return true;
	/* The entries are IPv4 prefixes: an IPv6 control point is named by none. */
	if (!ipaddr_get_v4(from, &peer))
		return false;
	for (i = 0; i < c->nconnection_control; i++) {
		mask = c->connection_control[i].plen == 0 ? 0 :
		       htonl(UINT32_MAX << (32 - c->connection_control[i].plen));
		if ((peer.s_addr & mask) == c->connection_control[i].addr.s_addr)
			return true;
	}
	return false;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/*
 * The idle timer (WANIPConnection:2 2.3.9) restarts on traffic: while it
 * runs, the WAN interface's packet counters are read every
 * ENGINE_TRAFFIC_CHECK_MS (sooner for a shorter IdleDisconnectTime) and
 * just before the idle deadline, and any growth is activity.
 */
#define ENGINE_TRAFFIC_CHECK_MS 5000u

static bool traffic_sampling(const struct engine *e)
{
	return e->wan && e->backend.ops && e->backend.ops->wan_packets &&
	       wanconn_idle_disconnect_time(e->wan) > 0 &&
	       wanconn_status(e->wan) == WANCONN_CONNECTED;
}

static void traffic_sample(struct engine *e, uint64_t now)
{
	uint64_t packets = 0, every = ENGINE_TRAFFIC_CHECK_MS;
	uint64_t idle_ms = (uint64_t)wanconn_idle_disconnect_time(e->wan) * 1000u;
	uint64_t due = wanconn_next_deadline(e->wan);

	if (!traffic_sampling(e)) {
		e->traffic_check_ms = 0;
		return;
	}
	if (e->traffic_check_ms != 0 && now < e->traffic_check_ms && (due == 0 || now < due))
		return;
	if (e->backend.ops->wan_packets(&e->backend, &packets) == 0) {
		if (e->traffic_check_ms != 0 && packets != e->traffic_packets)
			wanconn_activity(e->wan, now);
		e->traffic_packets = packets;
	}
	if (idle_ms / 4 < every)
		every = idle_ms / 4 > 1000u ? idle_ms / 4 : 1000u;
	e->traffic_check_ms = now + every;
}

int engine_free_port(struct engine *e, unsigned lan_index, const struct ipaddr *peer,
		     struct in_addr client, uint16_t int_port, uint8_t proto, uint16_t want,
		     uint16_t *ret)
{
	struct policy_range rg[POLICY_MAX_RANGES];
	struct policy_lan lan = engine_policy_lan(e, lan_index);
	struct policy_subject s = { *peer, ipaddr_from_v4(client), 0, int_port, proto };
	size_t n, i, k;

	n = e->policy ? policy_ext_ranges(e->policy, &lan, &s, rg) : 0;
	if (n == 0)
		return -EACCES;
	/* k: the first range ending at or above want (wrap to 0). */
	for (k = 0; k < n && rg[k].hi < want; k++)
		;
	if (k == n)
		k = 0;
	for (i = 0; i <= n; i++) {
		const struct policy_range *r = &rg[(k + i) % n];
		uint16_t lo = r->lo, hi = r->hi;

		if (i == 0 && want > lo && want <= hi)
			lo = want;                      /* [want, hi] first ... */
		else if (i == n && want > r->lo && want <= r->hi)
			hi = (uint16_t)(want - 1);      /* ... [lo, want) last */
		else if (i == n)
			break;
		if (map_free_port(e->maps, proto, lo, lo, hi, ret) == 0)
			return 0;
	}
	return -ENOSPC;
}

static void pin_limits_from(const struct config *cfg, struct pin_limits *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->max_pinholes = cfg->max_pinholes;
	ret->max_per_client = cfg->max_pinholes_per_client;
}

int engine_reload(struct engine *e, const struct config *next, char *err, size_t errsz)
{
	struct map_limits lim;
	struct pin_limits plim;
	struct policy *p;
	struct pin_policy *pp;
	int n, m, r;

	engine_tx_settle(e);            /* a change under way completes under the old rules */
	p = config_policy_new(next, err, errsz);

	if (!p)
		return -EINVAL;
	pp = config_pin_policy_new(next, err, errsz);
	if (!pp) {
		policy_free(p);
		return -EINVAL;
	}
	/* Nothing can fail from here: next is the engine's configuration. */
	e->cfg = next;
	policy_free(e->policy);
	e->policy = p;
	pin_policy_free(e->pin_policy);
	e->pin_policy = pp;
	memset(&lim, 0, sizeof(lim));
	lim.max_mappings = e->cfg->max_mappings;
	lim.max_per_client = e->cfg->max_mappings_per_client;
	map_set_limits(e->maps, &lim);
	/* nft: the helper reads its own copy of the port policy from the file. */
	if (e->backend.ops->reload && (r = e->backend.ops->reload(&e->backend)) < 0)
		log_warnx("reload: the backend kept its own copy of the port policy: %s",
			  strerror(-r));
	pin_limits_from(e->cfg, &plim);
	pin_set_limits(e->pins, &plim);
	n = portmap_enforce_policy(e, "reload");
	m = pinholes_enforce_policy(e, "closed (reload)");
	if (e->pin_firewall_was != pinholes_firewall_enabled(e) ||
	    e->pin_allowed_was != pinholes_allowed(e)) {
		e->pin_firewall_was = pinholes_firewall_enabled(e);
		e->pin_allowed_was = pinholes_allowed(e);
		engine_changed(e, ENGINE_CHG_FIREWALL);
	}
	return n < 0 ? n : n + m;
}

/*
 * A LAN host can change mappings as fast as it can send: the info lines
 * about changes (UPnP, NAT-PMP, PCP, expiry) are rate-limited to
 * ENGINE_LOG_BURST per ENGINE_LOG_INTERVAL_MS over all hosts; past that
 * they go to debug level, and the next info line says how many it left
 * out.
 */
#define ENGINE_LOG_INTERVAL_MS 10000u
#define ENGINE_LOG_BURST 50u

bool engine_log_change_ok(struct engine *e, char more[48])
{
	unsigned suppressed = 0;

	more[0] = '\0';
	if (e->log_maps.burst == 0)
		e->log_maps = RATELIMIT_INIT(ENGINE_LOG_INTERVAL_MS, ENGINE_LOG_BURST);
	if (!ratelimit_ok(&e->log_maps, clock_now(&e->clock), &suppressed))
		return false;
	if (suppressed)
		snprintf(more, 48, " (%u more at debug level)", suppressed);
	return true;
}

uint64_t engine_next_deadline(struct engine *e)
{
	/* Expiry waits while a change is under way (engine_tx.h): its
	 * completion comes from the backend, not from a deadline. */
	uint64_t t = e->tx_cur ? 0 : earliest(portmap_next_expiry(e), pinholes_next_expiry(e));

	if (engine_tx_resumable(e))
		t = earliest(t, clock_now(&e->clock) ? clock_now(&e->clock) : 1);

	if (e->wan)
		t = earliest(t, wanconn_next_deadline(e->wan));
	if (traffic_sampling(e))
		t = earliest(t, e->traffic_check_ms ? e->traffic_check_ms : 1);
	if (e->backend.ops && e->backend.ops->next_deadline)
		t = earliest(t, e->backend.ops->next_deadline(&e->backend));
	/* The lease file's compaction writes the table as it is: not while
	 * a change under way holds an entry it may yet roll back. */
	return e->tx_cur ? t : earliest(t, leasefile_next_deadline(e->leases));
}

/* Backend first: a completion due at the same moment as a connection
 * timeout wins over it. */
void engine_tick(struct engine *e)
{
	uint64_t now = clock_now(&e->clock);

	if (e->backend.ops && e->backend.ops->tick)
		e->backend.ops->tick(&e->backend, now);
	if (e->wan) {
		traffic_sample(e, now);
		wanconn_tick(e->wan, now);
	}
	engine_maps_expire(e);
	pinholes_expire(e);
	if (!e->tx_cur)
		leasefile_tick(e->leases, e->maps);
	engine_tx_resume(e);
}

bool engine_policy_allows(const struct engine *e, const struct mapping *m)
{
	struct policy_subject s = { ipaddr_from_v4(m->owner), ipaddr_from_v4(m->internal_client),
				    m->ext_port, m->int_port, m->proto };
	struct policy_lan lan;
	int i;

	if (m->origin == MAP_ORIGIN_STATIC)
		return true;            /* the admin's own: no client policy applies */
	/* The LAN the client is on now (a broadcast client: the owner's). */
	i = engine_lan_find(e, m->internal_client.s_addr == INADDR_BROADCAST ? &s.peer
									 : &s.internal_client);
	if (i < 0)
		return false;
	lan = engine_policy_lan(e, (unsigned)i);
	return e->policy && policy_check(e->policy, &lan, &s) == POLICY_ALLOW;
}

/* One lease read back: the policy of now (for UPnP, NAT-PMP and PCP
 * alike), then the table, then the backend (enabled entries only, as
 * portmap.c keeps it). */
static int lease_restore(const struct mapping *m, uint32_t remaining_s, void *arg)
{
	struct engine *e = arg;
	struct mapping tmpl = *m, *added;

	if (!engine_policy_allows(e, m))
		return LEASEFILE_DROP;
	tmpl.lease_end_ms = map_lease_end(e->maps, remaining_s);
	if (map_add(e->maps, &tmpl, str_cstr(m->desc), &added) != MAP_OK)
		return LEASEFILE_DROP;
	return LEASEFILE_KEEP;          /* the backend gets them all at once: engine_maps_restore() */
}

/* One pinhole read back: the pinhole policy of now, the table (its
 * UniqueID kept), the backend; refused ones are forgotten. */
static int pin_restore(const struct pinhole *p, uint32_t remaining_s, void *arg)
{
	struct engine *e = arg;
	struct pinhole t = *p;
	const struct lan *l = engine_lan(e, p->lan);

	if (t.owner.family == AF_INET6 && in6_is_linklocal(&t.owner.u.v6))
		t.owner.scope = l ? l->ifindex : 0;     /* the file keeps no zone */
	if (!pinholes_allowed(e) ||
	    pinholes_check(e, t.lan, &t.owner, &t.internal, t.int_port) != POLICY_ALLOW)
		return LEASEFILE_DROP;
	t.lease_end_ms = pin_lease_end(e->pins, remaining_s);
	t.packets_base = 0;
	return engine_pin_restore(e, &t, p->uid) == 0 ? LEASEFILE_KEEP : LEASEFILE_DROP;
}

int engine_leases_start(struct engine *e, const char *dir)
{
	char err[512];
	int r;

	e->leases = leasefile_open(dir, &e->clock, NULL, err, sizeof(err));
	if (!e->leases) {
		log_warnx("%s; leases will not survive a restart", err);
		return -EIO;
	}
	leasefile_set_pins(e->leases, e->pins, pin_restore, e);
	r = leasefile_load(e->leases, lease_restore, e, NULL);
	if (r < 0) {
		log_warnx("%s: leases will not survive a restart", dir);
		leasefile_close(e->leases);
		e->leases = NULL;
		return r;
	}
	engine_maps_restore(e);
	return 0;
}

/* ---- life cycle ---- */

int engine_init(struct engine *e, const struct config *cfg, const struct clock *clk)
{
	return engine_init_with_helper(e, cfg, clk, NULL);
}

int engine_init_with_helper(struct engine *e, const struct config *cfg, const struct clock *clk,
			    struct priv *helper)
{
	struct map_limits lim;
	struct pin_limits plim;
	char err[256];
	size_t i;
	int r;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->clock = *clk;
	e->started_ms = clock_now(&e->clock);
	e->system_update_id = 1;
	e->boot_id = (uint32_t)(clock_realtime_s() & 0x7fffffff);
	e->config_id = 1;
	if (strlen(cfg->uuid) != 36)
		return -EINVAL;
	e->nlans = cfg->nlans < IGDD_CONF_MAX_LANS ? cfg->nlans : IGDD_CONF_MAX_LANS;
	for (i = 0; i < e->nlans; i++)
		lan_init(&e->lans[i], (unsigned)i, cfg->lan_interface[i]);
	memcpy(e->uuid_root, cfg->uuid, 37);
	derive_uuid(e->uuid_root, e->uuid_wandev, 1);
	derive_uuid(e->uuid_root, e->uuid_wanconn, 2);

	switch (cfg->backend) {
	case CONFIG_BACKEND_SIM:
		e->backend.ops = &backend_sim_ops;
		break;
	case CONFIG_BACKEND_NFT:
		e->backend.ops = &backend_nft_ops;
		break;
	default:
		return -ENOTSUP;
	}
	e->backend.helper = helper;
	e->backend.clock = &e->clock;
	e->backend.stats = &e->stats;
	e->backend.on_link = backend_on_link;
	e->backend.on_link_arg = e;
	e->backend.on_gone = backend_on_gone;
	e->backend.on_gone_arg = e;
	r = e->backend.ops->init(&e->backend, cfg);
	if (r < 0)
		return r;

	memset(&lim, 0, sizeof(lim));
	lim.max_mappings = cfg->max_mappings;
	lim.max_per_client = cfg->max_mappings_per_client;
	e->maps = map_table_new(&lim, &e->clock);
	if (!e->maps) {
		r = -ENOMEM;
		goto fail;
	}
	/* The IGD:2 policy and the ACL, compiled once (core/policy.h). */
	e->policy = config_policy_new(cfg, err, sizeof(err));
	if (!e->policy) {
		log_warnx("%s", err);
		r = -EINVAL;
		goto fail;
	}
	/* IPv6 pinholes: their table and policy (core/pinhole.h, pin_policy.h). */
	pin_limits_from(cfg, &plim);
	e->pins = pin_table_new(&plim, &e->clock, engine_random64(e));
	if (!e->pins) {
		r = -ENOMEM;
		goto fail;
	}
	e->pin_policy = config_pin_policy_new(cfg, err, sizeof(err));
	if (!e->pin_policy) {
		log_warnx("%s", err);
		r = -EINVAL;
		goto fail;
	}
	e->pin_firewall_was = pinholes_firewall_enabled(e);
	e->pin_allowed_was = pinholes_allowed(e);
	r = wan_init(e);
	if (r < 0)
		goto fail;
	return 0;
fail:
	engine_fini(e);                 /* what was made so far, and the backend */
	return r;
}

void engine_fini(struct engine *e)
{
	engine_tx_flush(e);
	leasefile_close(e->leases);
	e->leases = NULL;
	wanconn_free(e->wan);
	e->wan = NULL;
	policy_free(e->policy);
	e->policy = NULL;
	pin_policy_free(e->pin_policy);
	e->pin_policy = NULL;
	pin_table_free(e->pins);
	e->pins = NULL;
	map_table_free(e->maps);
	e->maps = NULL;
	if (e->backend.ops)
		e->backend.ops->shutdown(&e->backend);
	e->backend.ops = NULL;
}

const struct lan *engine_lan(const struct engine *e, unsigned i)
{
	return i < e->nlans ? &e->lans[i] : NULL;
}

int engine_lan_find(const struct engine *e, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < e->nlans; i++)
		if (lan_contains(&e->lans[i], &e->wan6, a))
			return (int)i;
	return -1;
}

bool engine_lan_peer(const struct engine *e, unsigned i, const struct ipaddr *a)
{
	return i < e->nlans && lan_peer_ok(&e->lans[i], &e->wan6, a);
}

bool engine_lan_host(const struct engine *e, unsigned i, const struct ipaddr *a)
{
	return i < e->nlans && lan_host_ok(&e->lans[i], &e->wan6, a);
}

struct policy_lan engine_policy_lan(const struct engine *e, unsigned i)
{
	struct policy_lan pl = { i < e->nlans ? &e->lans[i] : NULL, &e->wan6 };

	return pl;
}

void engine_set_lan(struct engine *e, struct in_addr addr, struct in_addr mask)
{
	struct lan_addr_event ev;
	struct lan *l;
	unsigned plen = 0;
	uint32_t m;

	if (e->nlans == 0)
		e->nlans = 1;
	l = &e->lans[0];
	memset(&ev, 0, sizeof(ev));
	ev.ifindex = l->ifindex;
	if (lan_has_v4(l)) {
		ev.addr.a = ipaddr_from_v4(l->addr);
		lan_apply(l, &ev);
	}
	for (m = ntohl(mask.s_addr); m & 0x80000000u; m <<= 1)
		plen++;
	ev.add = true;
	ev.addr.a = ipaddr_from_v4(addr);
	ev.addr.plen = (uint8_t)plen;
	lan_apply(l, &ev);
	e->lan_net_checked[0].s_addr = l->addr.s_addr & l->mask.s_addr;
	e->lan_mask_checked[0] = l->mask;
}

/* The LAN has a global IPv6 address (the prefixes pinholes are for). */
static bool lan_has_global6(const struct lan *l)
{
	size_t k;

	for (k = 0; k < l->naddrs; k++)
		if (l->addrs[k].a.family == AF_INET6 && in6_is_unicast_global(&l->addrs[k].a.u.v6) &&
		    !in6_is_ula(&l->addrs[k].a.u.v6))
			return true;
	return false;
}

int engine_lan_changed(struct engine *e, unsigned i)
{
	const struct lan *l = engine_lan(e, i);
	struct in_addr net;
	int n = 0;

	engine_tx_settle(e);            /* before the table is read (engine_tx.h) */

	/* IPv6: pinholes to an address the LAN's prefixes no longer hold
	 * (a new delegated prefix) close, once the LAN has a global prefix
	 * again (not while it has none: an interface going down and up). */
	if (l && lan_has_global6(l))
		n = pinholes_enforce_policy(e, "closed (LAN prefix change)");
	if (!l || !lan_has_v4(l))
		return n;       /* no address (for now): keep what the LAN had */
	net.s_addr = l->addr.s_addr & l->mask.s_addr;
	if (net.s_addr == e->lan_net_checked[i].s_addr &&
	    l->mask.s_addr == e->lan_mask_checked[i].s_addr)
		return n;
	e->lan_net_checked[i] = net;
	e->lan_mask_checked[i] = l->mask;
	return n + portmap_enforce_policy(e, "LAN address change");
}

/* Drop the slots freed during a notification, keeping the order. */
static void subscribers_compact(struct engine *e)
{
	size_t i, k = 0;

	for (i = 0; i < e->nsubs; i++)
		if (e->subs[i].fn)
			e->subs[k++] = e->subs[i];
	e->nsubs = k;
}

void engine_changed(struct engine *e, unsigned changes)
{
	size_t i, n = e->nsubs;         /* those who subscribe meanwhile: next time */

	if (changes & ENGINE_CHG_MAPPINGS)
		e->system_update_id++;
	e->notifying++;
	for (i = 0; i < n; i++)
		if (e->subs[i].fn)      /* read again: a subscriber may leave meanwhile */
			e->subs[i].fn(e, changes, e->subs[i].arg);
	if (--e->notifying == 0)
		subscribers_compact(e);
}

/* The slot of fn/arg, or -1. */
static int subscriber_find(const struct engine *e, engine_change_fn fn, const void *arg)
{
	size_t i;

	for (i = 0; i < e->nsubs; i++)
		if (e->subs[i].fn == fn && e->subs[i].arg == arg)
			return (int)i;
	return -1;
}

/* Always at the end (no holes outside a notification): a newcomer
 * during one is past the count engine_changed() took. */
int engine_subscribe(struct engine *e, engine_change_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	if (subscriber_find(e, fn, arg) >= 0)
		return -EEXIST;
	if (e->nsubs == ENGINE_MAX_SUBSCRIBERS)
		return -ENOSPC;
	e->subs[e->nsubs].fn = fn;
	e->subs[e->nsubs++].arg = arg;
	return 0;
}

void engine_unsubscribe(struct engine *e, engine_change_fn fn, void *arg)
{
	int i = subscriber_find(e, fn, arg);

	if (i < 0)
		return;
	e->subs[i].fn = NULL;           /* engine_changed() skips it from now on */
	e->subs[i].arg = NULL;
	if (e->notifying == 0)
		subscribers_compact(e);
}

void engine_external_ip(struct engine *e, char out[INET_ADDRSTRLEN])
{
	struct backend_wan w;

	out[0] = '\0';
	if (!e->wan || !status_up(wanconn_status(e->wan)))
		return;
	/* behind another NAT: the address the upstream maps to (upstream_io) */
	if (e->upstream.have_ext) {
		inet_ntop(AF_INET, &e->upstream.ext, out, INET_ADDRSTRLEN);
		return;
	}
	memset(&w, 0, sizeof(w));
	if (e->backend.ops->wan_status(&e->backend, &w) == 0 && w.have_ip)
		inet_ntop(AF_INET, &w.external_ip, out, INET_ADDRSTRLEN);
}

bool engine_wan_classify(struct engine *e)
{
	struct backend_wan w;
	char text[INET_ADDRSTRLEN];
	enum config_wan_public say = e->cfg ? e->cfg->wan_public : CONFIG_WAN_PUBLIC_AUTO;

	memset(&w, 0, sizeof(w));
	if (e->backend.ops->wan_status(&e->backend, &w) < 0 || !w.have_ip) {
		if (!e->wan_classified)
			return false;
		e->wan_classified = false;
		log_info("WAN address: none");
		return true;
	}
	if (e->wan_classified && e->wan_addr.s_addr == w.external_ip.s_addr)
		return false;
	e->wan_classified = true;
	e->wan_addr = w.external_ip;
	e->wan_class = addrclass_ipv4(w.external_ip);
	inet_ntop(AF_INET, &w.external_ip, text, sizeof(text));
	if (say == CONFIG_WAN_PUBLIC_YES && !addrclass_is_global(e->wan_class))
		log_info("WAN address %s is %s, reachable from the internet as wan_public = yes says",
			 text, addrclass_describe(e->wan_class));
	else if (say == CONFIG_WAN_PUBLIC_NO)
		log_info("WAN address %s is %s, not reachable from the internet as wan_public = no says",
			 text, addrclass_describe(e->wan_class));
	else if (!addrclass_is_global(e->wan_class))
		log_warnx("WAN address %s is %s: the internet cannot reach it, so a mapping "
			  "works only behind it (set wan_public = yes if it is reachable)",
			  text, addrclass_describe(e->wan_class));
	else
		log_info("WAN address %s is %s", text, addrclass_describe(e->wan_class));
	return true;
}

bool engine_wan_public(const struct engine *e)
{
	enum config_wan_public say = e->cfg ? e->cfg->wan_public : CONFIG_WAN_PUBLIC_AUTO;

	if (!e->wan_classified)
		return false;
	if (say != CONFIG_WAN_PUBLIC_AUTO)
		return say == CONFIG_WAN_PUBLIC_YES;
	return addrclass_is_global(e->wan_class);
}

bool engine_refuses_unreachable(struct engine *e)
{
	enum upstream_mode mode = e->upstream.mode;
	char text[INET_ADDRSTRLEN];
	bool refuse;

	refuse = e->cfg && e->cfg->unreachable_wan == CONFIG_UNREACHABLE_REFUSE &&
		 e->wan_classified && !engine_wan_public(e) &&
		 (mode == UPSTREAM_OFF || mode == UPSTREAM_NONE);
	if (refuse == e->refusing_unreachable)
		return refuse;
	e->refusing_unreachable = refuse;
	if (refuse) {
		inet_ntop(AF_INET, &e->wan_addr, text, sizeof(text));
		log_warnx("refusing new mappings (unreachable_wan = refuse): the WAN address %s "
			  "is %s and no upstream gateway mirrors mappings (upstream: %s)", text,
			  e->cfg->wan_public == CONFIG_WAN_PUBLIC_NO ? "not public (wan_public = no)" :
			  addrclass_describe(e->wan_class), upstream_mode_name(mode));
	} else {
		log_info("granting new mappings again: the WAN address is public, an upstream "
			 "gateway mirrors them, or unreachable_wan = keep");
	}
	return refuse;
}

void engine_up_register(struct engine *e, const struct engine_up_ops *ops, void *impl)
{
	e->up_ops = ops;
	e->up_impl = impl;
}

void engine_up_unregister(struct engine *e, const void *impl)
{
	if (e->up_impl != impl)
		return;
	e->up_ops = NULL;
	e->up_impl = NULL;
}

int engine_up_wait(struct engine *e, uint8_t proto, uint16_t ext_port, uint64_t timeout_ms,
		   engine_up_fn fn, void *arg, struct engine_up_outcome *now, uint32_t *ret_id)
{
	if (!e->up_ops) {
		memset(now, 0, sizeof(*now));
		now->result = ENGINE_UP_NOT_MIRRORED;
		now->why = ENGINE_UP_NO_UPSTREAM;
		return ENGINE_UP_NOW;
	}
	return e->up_ops->wait(e->up_impl, proto, ext_port, timeout_ms, fn, arg, now, ret_id);
}

void engine_up_cancel(struct engine *e, uint32_t id)
{
	if (e->up_ops && id)
		e->up_ops->cancel(e->up_impl, id);
}
