/*
 * portmap.h - the port-mapping actions of WANIPConnection:2
 * (sections 2.5.14 - 2.5.21) over the mapping table in core/mapping.h,
 * under the security policy of core/policy.h. Registered in the
 * WANIPConnection action table (svc/wanipconn.c).
 */
#ifndef IGDD_PORTMAP_H
#define IGDD_PORTMAP_H

#include <stdint.h>

#include "svc/action.h"

int portmap_get_generic_entry(struct action_ctx *ctx);     /* 2.5.14 */
int portmap_get_specific_entry(struct action_ctx *ctx);    /* 2.5.15 */
int portmap_add(struct action_ctx *ctx);                   /* 2.5.16 */
int portmap_add_any(struct action_ctx *ctx);               /* 2.5.17 */
int portmap_delete(struct action_ctx *ctx);                /* 2.5.18 */
int portmap_delete_range(struct action_ctx *ctx);          /* 2.5.19 */
int portmap_get_list(struct action_ctx *ctx);              /* 2.5.21 */

struct engine;

/* After a reload or a LAN's renumbering (why, for the log: "reload"):
 * remove every mapping (but the admin's) that the engine's policy no
 * longer allows, with one change event. The number removed, or -errno
 * (nothing removed). */
int portmap_enforce_policy(struct engine *e, const char *why);
/* The backend took these mappings away by itself (backend.h on_gone):
 * remove them from the table and the lease file, logged, with one
 * change event. 0 or -ENOMEM. */
struct backend_gone;
int portmap_backend_gone(struct engine *e, const struct backend_gone *v, size_t n);
/* Monotonic ms of the next lease end, or 0 when no lease is pending. */
uint64_t portmap_next_expiry(struct engine *e);

#endif
