/*
 * nft.h - the nft backend's extras beyond struct backend_ops
 * (backend_nft_ops is declared in backend.h with the others).
 *
 * The backend is the engine's side of the privileged helper
 * (priv/priv.h): apply/remove/flush become requests to it; wan_status
 * reads the WAN interface itself (address, /sys counters, operstate).
 * It needs b->helper set (engine_init_with_helper()).
 */
#ifndef IGDD_BACKEND_NFT_H
#define IGDD_BACKEND_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend/backend.h"

struct mapping;

/*
 * Bulk changes (start-up restore, range deletes, a batch of expired
 * leases): n mappings in requests of PRIV_BATCH_MAX, one nft transaction
 * each. Disabled mappings are removed rather than applied. 0, or the
 * first error (requests before it stay done).
 */
int backend_nft_apply_many(struct backend *b, const struct mapping *v, size_t n);
int backend_nft_remove_many(struct backend *b, const struct mapping *v, size_t n);

#endif
