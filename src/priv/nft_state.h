/*
 * nft_state.h - the privileged helper's own copy of what it installed in
 * table ip igdd, and the element commands that move the kernel from one
 * copy to the next. Pure: no I/O (the helper runs the text it gets).
 *
 * Mappings are keyed by (protocol, external port, remote host); applying
 * an existing key replaces it. Mappings that share an internal endpoint
 * (internal address, protocol, internal port, remote host) share one
 * allow element and one snat element; the snat value is the lowest
 * external port among them, a choice that does not depend on the order
 * of changes (so a rollback restores exactly the old value).
 *
 * The copy is what the helper re-installs when the ruleset was flushed
 * or edited behind its back.
 */
#ifndef IGDD_NFT_STATE_H
#define IGDD_NFT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "priv/nft_rules.h"

struct buf;
struct nft_state;

/* Entries one nft_state_change() takes at most. */
#define NFT_STATE_MAX_BATCH 1024

/* A copy that holds at most max mappings. NULL on ENOMEM. */
struct nft_state *nft_state_new(size_t max);
void nft_state_free(struct nft_state *st);

size_t nft_state_count(const struct nft_state *st);

/* How many elements each set holds when the kernel matches the copy
 * (hairpin_addr is not counted here: 0). */
void nft_state_counts(const struct nft_state *st, size_t counts[NFT_NSETS]);

/*
 * Apply (NFT_ADD: add or replace) or remove (NFT_DEL, by key; an unknown
 * key is no error) n mappings in the copy, in order, and append to cmd
 * the element commands (deletes first, then adds) that take the kernel
 * from the old copy to the new one. cmd stays empty when nothing
 * changes. Every element must pass nft_elem_ok().
 *
 * 0; -EINVAL (a bad element, n > NFT_STATE_MAX_BATCH), -ENOSPC (more
 * than max mappings), -ENOMEM or -E2BIG: then the copy is unchanged.
 * After success, exactly one of nft_state_commit() (the kernel took the
 * commands) or nft_state_rollback() (it did not) must follow before the
 * next change.
 */
int nft_state_change(struct nft_state *st, enum nft_op op, const struct priv_entry *v, size_t n,
		     struct buf *cmd);
void nft_state_commit(struct nft_state *st);
void nft_state_rollback(struct nft_state *st);

/* The mappings of (proto, external port), at most max into out: how many. */
size_t nft_state_at_port(const struct nft_state *st, uint8_t proto, uint16_t ext,
			 struct priv_entry *out, size_t max);

/* Every mapping, in (protocol, external port) order, at most max into
 * out: how many. */
size_t nft_state_list(const struct nft_state *st, struct priv_entry *out, size_t max);

/* Empty the copy (no pending change may be open). */
void nft_state_clear(struct nft_state *st);

/* Add commands for every element of the copy (after nft_rules_table()
 * in the same transaction). 0, -ENOMEM or -E2BIG. */
int nft_state_dump(const struct nft_state *st, struct buf *cmd);

#endif
