/*
 * nft_verify.h - what the kernel holds in table ip igdd, read back over
 * netlink (libmnl): the number of rules and of each set's elements. The
 * helper compares that with its own copy (priv/nft_state.h) every few
 * seconds and rebuilds the table when they differ: a firewall reload or
 * `nft flush ruleset` removes it behind our back.
 *
 * Counting is cheap (no text, no parsing of element values): one rule
 * dump and one element dump per set.
 */
#ifndef IGDD_NFT_VERIFY_H
#define IGDD_NFT_VERIFY_H

#include <stddef.h>

#include "priv/nft_rules.h"

struct nft_verify;

/* A netlink socket for reading nf_tables. NULL and errno on failure. */
struct nft_verify *nft_verify_new(void);
void nft_verify_free(struct nft_verify *v);

/*
 * The rules of table ip igdd and the elements of every set whose bit
 * (1u << enum nft_set) is in sets. 0; -ENOENT when the table or one of
 * those sets does not exist; another -errno.
 */
int nft_verify_read(struct nft_verify *v, unsigned sets, unsigned *ret_rules,
		    size_t counts[NFT_NSETS]);

#endif
