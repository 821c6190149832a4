/*
 * engine.c - one igdd instance's state (see engine.h).
 */
#include "engine.h"

#include "conf/config.h"
#include "core/mapping.h"
#include "core/policy.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int engine_init(struct engine *e, const struct config *cfg, const struct clock *clk)
{
	struct map_limits lim;
	char err[256];
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
	memcpy(e->uuid_root, cfg->uuid, 37);
	derive_uuid(e->uuid_root, e->uuid_wandev, 1);
	derive_uuid(e->uuid_root, e->uuid_wanconn, 2);

	switch (cfg->backend) {
	case CONFIG_BACKEND_SIM:
		e->backend.ops = &backend_sim_ops;
		break;
	default:
		log_warnx("backend nft is not available in this build");
		return -ENOTSUP;
	}
	r = e->backend.ops->init(&e->backend, cfg);
	if (r < 0)
		return r;

	memset(&lim, 0, sizeof(lim));
	lim.max_mappings = cfg->max_mappings;
	lim.max_per_client = cfg->max_mappings_per_client;
	e->maps = map_table_new(&lim, &e->clock);
	if (!e->maps) {
		e->backend.ops->shutdown(&e->backend);
		return -ENOMEM;
	}
	/* The IGD:2 policy and the ACL, compiled once (core/policy.h). */
	e->policy = policy_new(cfg, err, sizeof(err));
	if (!e->policy) {
		log_warnx("%s", err);
		map_table_free(e->maps);
		e->maps = NULL;
		e->backend.ops->shutdown(&e->backend);
		return -EINVAL;
	}
	return 0;
}

void engine_fini(struct engine *e)
{
	policy_free(e->policy);
	e->policy = NULL;
	map_table_free(e->maps);
	e->maps = NULL;
	if (e->backend.ops)
		e->backend.ops->shutdown(&e->backend);
	e->backend.ops = NULL;
}

void engine_set_lan(struct engine *e, struct in_addr addr, struct in_addr mask)
{
	e->lan_addr = addr;
	e->lan_mask = mask;
}

bool engine_on_lan(const struct engine *e, struct in_addr addr)
{
	if (e->lan_mask.s_addr == 0)
		return false;
	return (addr.s_addr & e->lan_mask.s_addr) == (e->lan_addr.s_addr & e->lan_mask.s_addr);
}

void engine_changed(struct engine *e, unsigned changes)
{
	if (changes & ENGINE_CHG_MAPPINGS)
		e->system_update_id++;
	if (e->on_change)
		e->on_change(e, changes, e->on_change_arg);
}

void engine_external_ip(struct engine *e, char out[INET_ADDRSTRLEN])
{
	struct backend_wan w;

	out[0] = '\0';
	memset(&w, 0, sizeof(w));
	if (e->backend.ops->wan_status(&e->backend, &w) == 0 && w.have_ip)
		inet_ntop(AF_INET, &w.external_ip, out, INET_ADDRSTRLEN);
}
