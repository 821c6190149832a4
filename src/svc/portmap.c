/*
 * portmap.c - placeholder until the mapping table lands: every
 * port-mapping action answers a clean UPnP error (501 Action Failed).
 */
#include "svc/portmap.h"

int portmap_get_generic_entry(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
int portmap_get_specific_entry(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
int portmap_add(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
int portmap_add_any(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
int portmap_delete(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
int portmap_delete_range(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
int portmap_get_list(struct action_ctx *ctx) { (void)ctx; return UPNP_E_ACTION_FAILED; }
void portmap_expire(struct engine *e) { (void)e; }
uint64_t portmap_next_expiry(struct engine *e) { (void)e; return 0; }
