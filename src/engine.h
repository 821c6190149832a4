/*
 * engine.h - the state of one igdd instance, passed first to everything
 * (no globals): configuration, clock, backend, mapping table, policy,
 * identifiers of the device (UDA 1.1 sections 1.1.4, 2.1) and the
 * hook through which state changes reach eventing.
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
#include "core/clock.h"

struct config;
struct map_table;
struct policy;
struct engine;

/* What changed (a bit set), for eventing (GENA, issue: eventing). */
enum engine_change {
	ENGINE_CHG_MAPPINGS = 1u << 0,    /* SystemUpdateID + PortMappingNumberOfEntries */
	ENGINE_CHG_EXTERNAL_IP = 1u << 1,
	ENGINE_CHG_CONNECTION = 1u << 2,  /* ConnectionStatus */
};

typedef void (*engine_change_fn)(struct engine *e, unsigned changes, void *arg);

struct engine {
	const struct config *cfg;
	struct clock clock;
	struct backend backend;
	struct map_table *maps;
	struct policy *policy;

	uint32_t system_update_id;     /* WANIPConnection:2 2.3.23 */
	uint32_t boot_id;              /* BOOTID.UPNP.ORG */
	uint32_t config_id;            /* CONFIGID.UPNP.ORG (0..16777215) */
	char uuid_root[37];            /* InternetGatewayDevice */
	char uuid_wandev[37];          /* WANDevice */
	char uuid_wanconn[37];         /* WANConnectionDevice */

	struct in_addr lan_addr;       /* the LAN interface's IPv4 address */
	struct in_addr lan_mask;
	uint16_t http_port;            /* the port the HTTP server listens on */
	uint64_t started_ms;           /* clock at engine_init (Uptime, 2.3.6) */

	engine_change_fn on_change;
	void *on_change_arg;
};

/*
 * Set up e from cfg (which must outlive e): backend init, mapping table,
 * policy, device UUIDs (cfg->uuid must be set: main fills it from the
 * state file when the config has none). clk is copied. 0 or -errno.
 */
int engine_init(struct engine *e, const struct config *cfg, const struct clock *clk);
void engine_fini(struct engine *e);

void engine_set_lan(struct engine *e, struct in_addr addr, struct in_addr mask);

/* True when addr is inside the LAN interface's subnet. */
bool engine_on_lan(const struct engine *e, struct in_addr addr);

/* Report a change: bumps SystemUpdateID once for ENGINE_CHG_MAPPINGS and
 * calls the change hook once with the whole set. */
void engine_changed(struct engine *e, unsigned changes);

/* The external address as a string ("" when unknown: 2.3.13). */
void engine_external_ip(struct engine *e, char out[INET_ADDRSTRLEN]);

#endif
