/*
 * engine.h - the state of one igdd instance, passed first to everything
 * (no globals): configuration, clock, backend, mapping table, policy,
 * identifiers of the device (UDA 1.1 sections 1.1.4, 2.1) and the
 * change subscribers through which state changes reach eventing, the
 * PCP announcements and upstream mirroring (engine_subscribe()). Every
 * change of the mapping table and of the pinholes goes through
 * engine_tx.h.
 *
 * The engine itself does no I/O: net/ feeds it, which is what lets the
 * golden tests drive it with no sockets.
 */
#ifndef IGDD_ENGINE_H
#define IGDD_ENGINE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "core/addrclass.h"
#include "core/clock.h"
#include "core/stats.h"
#include "proto/pcp_client.h"
#include "proto/stun.h"
#include "core/lan.h"
#include "core/policy.h"
#include "util/ipaddr.h"
#include "util/ratelimit.h"

struct config;
struct leasefile;
struct map_table;
struct mapping;
struct pin_table;
struct pin_policy;
struct wanconn;
struct engine;
struct gena;
struct engine_tx;
struct engine_waiter;

/* What changed (a bit set), for eventing (GENA, issue: eventing). */
enum engine_change {
	ENGINE_CHG_MAPPINGS = 1u << 0,    /* SystemUpdateID + PortMappingNumberOfEntries */
	ENGINE_CHG_EXTERNAL_IP = 1u << 1,
	ENGINE_CHG_CONNECTION = 1u << 2,  /* ConnectionStatus */
	/* An IPv6 pinhole opened, renewed, closed (no variable of
	 * WANIPv6FirewallControl:1 shows the pinholes: nothing is evented). */
	ENGINE_CHG_PINHOLES = 1u << 3,
	/* WANIPv6FirewallControl:1 FirewallEnabled, InboundPinholeAllowed
	 * (2.5 [5.4]; a reload changed ipv6_firewall or pinholes). */
	ENGINE_CHG_FIREWALL = 1u << 4,
	/* WANCommonInterfaceConfig: PhysicalLinkStatus, EnabledForInternet
	 * (svc/gena.h's GENA_CHG_WANCOMMON is the same bit). */
	ENGINE_CHG_WAN_LINK = 1u << 8,
};

typedef void (*engine_change_fn)(struct engine *e, unsigned changes, void *arg);

/*
 * What the upstream mirror (net/upstream_io.c, docs/POLICY.md "Behind
 * another NAT") made of one local mapping: the answer a reply about that
 * mapping may wait for (engine_up_wait()), so that a client is told the
 * port the internet sees.
 */
enum engine_up_result {
	ENGINE_UP_GRANTED,              /* mirrored: port (and ext) are what the internet sees */
	ENGINE_UP_REFUSED,              /* the upstream answered with an error */
	ENGINE_UP_TIMEOUT,              /* no answer in time (the wait, or the request's sends) */
	ENGINE_UP_NOT_MIRRORED,         /* why says why */
};

enum engine_up_why {
	ENGINE_UP_WHY_NONE = 0,
	ENGINE_UP_NO_UPSTREAM,          /* mirroring off, a public WAN, no mechanism answers */
	ENGINE_UP_NO_SLOT,              /* the mirror's slots are taken (its fair share) */
	ENGINE_UP_BUSY,                 /* too many replies wait already */
};

struct engine_up_outcome {
	enum engine_up_result result;
	enum engine_up_why why;         /* ENGINE_UP_NOT_MIRRORED */
	uint16_t port;                  /* ENGINE_UP_GRANTED: the external port upstream */
	bool have_ext;
	struct in_addr ext;             /* ENGINE_UP_GRANTED: the upstream's external address */
};

typedef void (*engine_up_fn)(void *arg, const struct engine_up_outcome *o);

/* What the mirror registers (engine_up_register()); see engine_up_wait(). */
struct engine_up_ops {
	int (*wait)(void *impl, uint8_t proto, uint16_t ext_port, uint64_t timeout_ms,
		    engine_up_fn fn, void *arg, struct engine_up_outcome *now, uint32_t *ret_id);
	void (*cancel)(void *impl, uint32_t id);
};

/* How many change subscribers an engine holds (GENA, PCP announcements,
 * upstream mirroring, and room for more). */
#define ENGINE_MAX_SUBSCRIBERS 8

struct engine_subscriber {
	engine_change_fn fn;            /* NULL: a free (or just freed) slot */
	void *arg;
};

/*
 * Whether a and b (addresses on the LAN of interface ifindex) belong to
 * one host: the neighbour table maps both to the same link-layer address
 * (net/neigh.c). Used for GENA callbacks (svc/gena.c); NULL: never.
 */
typedef bool (*engine_same_host_fn)(void *arg, unsigned ifindex, const struct ipaddr *a,
				    const struct ipaddr *b);

struct engine {
	const struct config *cfg;
	struct clock clock;
	struct backend backend;
	struct map_table *maps;
	struct policy *policy;
	struct pin_table *pins;        /* IPv6 pinholes (core/pinhole.h), the mappings' sibling */
	struct pin_policy *pin_policy; /* who may open them (core/pin_policy.h) */
	bool pin_firewall_was, pin_allowed_was; /* FirewallEnabled, InboundPinholeAllowed last evented */
	struct wanconn *wan;           /* the WAN connection (core/wanconn.h) */
	struct leasefile *leases;      /* lease persistence (store/leasefile.h); NULL: off */
	bool wan_link_up;              /* PhysicalLinkStatus last reported */

	uint32_t system_update_id;     /* WANIPConnection:2 2.3.23 */
	uint32_t boot_id;              /* BOOTID.UPNP.ORG */
	uint32_t config_id;            /* CONFIGID.UPNP.ORG (0..16777215) */
	char uuid_root[37];            /* InternetGatewayDevice */
	char uuid_wandev[37];          /* WANDevice */
	char uuid_wanconn[37];         /* WANConnectionDevice */

	/* The LANs (lan_interface, in order) and the WAN's IPv6 prefixes,
	 * followed at run time (net/lanwatch.c; core/lan.h). */
	size_t nlans;
	struct lan lans[IGDD_CONF_MAX_LANS];
	struct lan_wan6 wan6;
	struct in_addr lan_net_checked[IGDD_CONF_MAX_LANS];  /* the IPv4 subnet mappings were */
	struct in_addr lan_mask_checked[IGDD_CONF_MAX_LANS]; /* last checked against */
	uint16_t http_port;            /* the port the HTTP server listens on */
	uint64_t started_ms;           /* clock at engine_init (Uptime, 2.3.6) */

	struct gena *gena;              /* GENA subscriptions (svc/gena.h) or NULL */

	struct ratelimit log_maps;     /* info lines about mapping changes */

	/* The change under way and the requests waiting for their turn
	 * (engine_tx.h). */
	struct engine_tx *tx_cur;
	unsigned long tx_steps;         /* engine_tx.c: stages the changes went through */
	struct engine_waiter *tx_wait, **tx_wait_tail;
	size_t tx_nwait;

	/* Reload the configuration file (set by main; igddctl reload): the
	 * number of mappings removed, or -1 with msg set. NULL: no reload. */
	int (*reload)(void *arg, char *msg, size_t msgsz);
	void *reload_arg;

	/* WAN traffic sampling for the idle timer (backend wan_packets). */
	uint64_t traffic_check_ms;     /* next sample (0: not sampling) */
	uint64_t traffic_packets;      /* the last sample */

	/* Who hears of changes (engine_subscribe()), in the order they came. */
	struct engine_subscriber subs[ENGINE_MAX_SUBSCRIBERS];
	size_t nsubs;                  /* slots in use, freed ones included */
	unsigned notifying;            /* engine_changed() calls under way */

	struct stats stats;            /* counters (core/stats.h; igddctl stats, metrics) */
	/* The WAN address's class, as engine_wan_classify() last saw it. */
	bool wan_classified;           /* wan_addr and wan_class are set */
	struct in_addr wan_addr;
	enum addr_class wan_class;

	/* What STUN learnt (net/stun_io.c writes it; state OFF when unused). */
	struct stun_status stun;

	/* The upstream gateway's PCP / NAT-PMP server (net/upstream_io.c). */
	struct upstream_status upstream;
	/* unreachable_wan = refuse is refusing new mappings (logged once per
	 * change: engine_refuses_unreachable()) */
	bool refusing_unreachable;
	/* ... and its answers per mapping (engine_up_wait()); NULL: none */
	const struct engine_up_ops *up_ops;
	void *up_impl;

	engine_same_host_fn same_host;
	void *same_host_arg;
};

/*
 * Set up e from cfg (which must outlive e): backend init, mapping table,
 * policy, WAN connection, device UUIDs (cfg->uuid must be set: main
 * fills it from the state file when the config has none). clk is copied.
 * The WAN link is taken as it is found: Connected when the backend
 * reports its link up (always on, WANIPConnection:2 2.6.1). 0 or -errno.
 */
int engine_init(struct engine *e, const struct config *cfg, const struct clock *clk);
/* The same with the privileged helper priv_start() started (backend
 * nft needs it; it must outlive the engine). */
int engine_init_with_helper(struct engine *e, const struct config *cfg, const struct clock *clk,
			    struct priv *helper);
void engine_fini(struct engine *e);

/*
 * Keep leases across restarts in dir (store/leasefile.h): open its lease
 * files, restore the unexpired leases into the table and the backend
 * (those the policy or the table now refuse are dropped). After
 * engine_set_lan(), before the first request. 0, or -errno: then leases
 * are not kept this run (logged).
 */
int engine_leases_start(struct engine *e, const char *dir);

/* LAN i (0..nlans-1), or NULL. */
const struct lan *engine_lan(const struct engine *e, unsigned i);
/* The LAN whose link or prefixes hold a (the first), or -1. */
int engine_lan_find(const struct engine *e, const struct ipaddr *a);
/* a may be answered on LAN i (lan_peer_ok(), the WAN's prefixes excluded). */
bool engine_lan_peer(const struct engine *e, unsigned i, const struct ipaddr *a);
/* a is a host of LAN i (lan_host_ok()). */
bool engine_lan_host(const struct engine *e, unsigned i, const struct ipaddr *a);
/* What the policy needs of LAN i (lan NULL when i is no LAN). */
struct policy_lan engine_policy_lan(const struct engine *e, unsigned i);

/* Tests and tools: LAN 0's IPv4 address and netmask, as if the kernel
 * had reported them (replacing the one it had). */
void engine_set_lan(struct engine *e, struct in_addr addr, struct in_addr mask);

/*
 * LAN i's addresses changed (net/lanwatch.c applied the events to
 * e->lans[i]): when its IPv4 subnet is another than the one the mapping
 * table was last checked against, the mappings the policy now refuses
 * (internal clients no longer on any LAN) are removed, with one change
 * event; when it has a global IPv6 prefix, the pinholes the pinhole
 * policy now refuses are closed. The number removed.
 */
int engine_lan_changed(struct engine *e, unsigned i);

/* Report a change: bumps SystemUpdateID once for ENGINE_CHG_MAPPINGS and
 * calls every subscriber once with the whole set, in the order they
 * subscribed. */
void engine_changed(struct engine *e, unsigned changes);

/*
 * Hear of every change (engine_changed()) through fn(e, changes, arg),
 * after engine_init(), until engine_unsubscribe() with the same fn and
 * arg. Each subscriber comes and goes on its own: no order of teardown
 * is needed. Safe from inside a notification: a subscriber added then
 * first hears of the next change; one removed then is not called again,
 * not even by the notification under way. 0, -EEXIST (already
 * subscribed), -ENOSPC (ENGINE_MAX_SUBSCRIBERS reached).
 */
int engine_subscribe(struct engine *e, engine_change_fn fn, void *arg);
/* Stop fn/arg hearing of changes; unknown ones are ignored. */
void engine_unsubscribe(struct engine *e, engine_change_fn fn, void *arg);

/* The external address as a string: "" when unknown or while the
 * connection is not up (Connected or PendingDisconnect; 2.3.13). */
void engine_external_ip(struct engine *e, char out[INET_ADDRSTRLEN]);

/*
 * Classify the WAN interface's address (core/addrclass.h) and keep it in
 * e->wan_addr / e->wan_class: call at start and whenever the address may
 * have changed. Logs once per change of address (a warning when the
 * address is not reachable from the internet and wan_public does not say
 * it is). True when the address or its presence changed.
 */
bool engine_wan_classify(struct engine *e);
/*
 * Whether the internet reaches the WAN address: wan_public = yes or no
 * says so; auto (the default) trusts the address's class (public only).
 * False while no address is known.
 */
bool engine_wan_public(const struct engine *e);

/*
 * Whether a new mapping asked by a LAN client (UPnP, NAT-PMP, PCP; not
 * igddctl's) is refused because the internet could not reach it
 * (docs/POLICY.md "Behind another NAT"): unreachable_wan = refuse, a
 * WAN address is known and is not public (engine_wan_public()), and no
 * upstream mirrors mappings (upstream mode off or none; while probing
 * the answer is not known yet and mappings are granted, to be mirrored
 * when the upstream answers). Renewals and existing mappings are not
 * its concern. Logs once each time the answer changes.
 */
bool engine_refuses_unreachable(struct engine *e);

/*
 * Whether peer may run the actions that change the WAN connection for
 * every client (SetConnectionType, RequestConnection, RequestTermination,
 * ForceTermination, Set*DisconnectTime, SetWarnDisconnectDelay,
 * SetEnabledForInternet): the connection_control configuration. Others
 * get 606 (WANIPConnection:2 2.5.1.3 ff.: authorization by default).
 */
bool engine_connection_allowed(const struct engine *e, const struct ipaddr *peer);

/*
 * The Uptime clients see (GetStatusInfo, WANIPConnection:2 2.3.6) at
 * now, as uptime_source says: the WAN connection's (0 while it is not
 * up), igdd's own, or the system's (the monotonic clock counts from
 * boot). Whole seconds, saturating at UINT32_MAX.
 */
uint32_t engine_uptime(const struct engine *e, uint64_t now);

/* The gauges the counters are written with (core/stats.h): igdd's
 * uptime, mappings by origin (one walk of the table), subscriptions. */
void engine_gauges(const struct engine *e, struct stats_gauges *ret);

/*
 * Whether the policy of now (secure_mode, acl, the LANs) still allows m
 * as its owner made it, on the LAN its internal client is on: what a
 * lease restored at start, a reload and a LAN renumbering check for
 * every entry made by UPnP, NAT-PMP or PCP. Admin (static) entries are
 * not subject to it: true.
 */
bool engine_policy_allows(const struct engine *e, const struct mapping *m);

/*
 * The backend's report on the WAN link (its on_link hook lands here):
 * drives the connection state machine and the change events. May be
 * called from inside a backend op the engine is running.
 */
void engine_wan_event(struct engine *e, enum backend_link_event ev,
		      enum backend_link_cause cause);

/*
 * A free external port for a new mapping of client's int_port (proto)
 * asked by peer on LAN lan, among the ports the policy allows it: the
 * first free one at or above want, wrapping around to the lowest
 * allowed port (the search of AddAnyPortMapping, NAT-PMP and PCP). 0
 * and *ret, -EACCES when the policy allows no port, -ENOSPC when none
 * is free.
 */
int engine_free_port(struct engine *e, unsigned lan, const struct ipaddr *peer,
		     struct in_addr client, uint16_t int_port, uint8_t proto, uint16_t want,
		     uint16_t *ret);

/*
 * A reload (SIGHUP, igddctl reload): next, a whole new configuration
 * (config_reload_prepare()), becomes the engine's once its policies
 * compile: then the table's per-client limit and the pinholes' limits
 * follow it, and the mappings and pinholes the new policy refuses are
 * removed (not the admin's), with one change event. The number removed
 * (-EIO: the backend kept them, logged), or -EINVAL with err set: e keeps
 * its configuration and policies, and next is not referenced. next must
 * outlive e (or the next reload).
 */
int engine_reload(struct engine *e, const struct config *next, char *err, size_t errsz);

/* May an info line about a mapping change be written now (a shared rate
 * limit)? *more gets " (N more at debug level)" or "". Otherwise log it
 * at debug level. */
bool engine_log_change_ok(struct engine *e, char more[48]);

/* Monotonic ms of the next timer the engine needs run (lease expiry of
 * mappings and pinholes, the connection's timers and traffic sampling,
 * the backend's own, the lease file's compaction), 0 when none. */
uint64_t engine_next_deadline(struct engine *e);
/* Run everything due now: backend completions first, then the
 * connection's traffic sample and timers, then the expiry of mappings
 * (engine_maps_expire()) and pinholes, then the lease file's work. */
void engine_tick(struct engine *e);

/*
 * The upstream mirror's answer for one mapping, for a reply that tells
 * the client the port the internet sees (svc/ waits without knowing
 * net/: the layer rule). net/upstream_io.c registers itself; unregister
 * with the same impl (others are ignored).
 */
void engine_up_register(struct engine *e, const struct engine_up_ops *ops, void *impl);
void engine_up_unregister(struct engine *e, const void *impl);

/*
 * After the local mapping (proto, ext_port) was made: ENGINE_UP_NOW and
 * *now when the answer is known at once (nothing registered, mirroring
 * off, no slot, already held upstream, too many waiting), or
 * ENGINE_UP_LATER and *ret_id: fn(arg, outcome) then runs exactly once,
 * from the loop and never inside this call, at the latest timeout_ms
 * later (ENGINE_UP_TIMEOUT), unless engine_up_cancel(e, id) came first
 * (the client left). Shutdown (the mirror freed) answers every wait
 * ENGINE_UP_NOT_MIRRORED, ENGINE_UP_NO_UPSTREAM before it returns.
 */
#define ENGINE_UP_NOW   0
#define ENGINE_UP_LATER 1
int engine_up_wait(struct engine *e, uint8_t proto, uint16_t ext_port, uint64_t timeout_ms,
		   engine_up_fn fn, void *arg, struct engine_up_outcome *now, uint32_t *ret_id);
void engine_up_cancel(struct engine *e, uint32_t id);

#endif
