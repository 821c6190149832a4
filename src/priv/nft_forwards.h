/*
 * nft_forwards.h - the ports the firewall already forwards statically,
 * read from the kernel's nftables ruleset over netlink (libmnl, in the
 * privileged helper: listing nftables needs CAP_NET_ADMIN). A UPnP,
 * NAT-PMP or PCP mapping never takes such a port (docs/NFT.md, "Ports
 * the gateway keeps").
 *
 * What counts: a rule of any table of family ip or inet except our own
 * table ip igdd, in any chain, holding a destination NAT statement
 * (`dnat`, `redirect`, iptables-nft's -j DNAT / -j REDIRECT) and a
 * match of the transport destination port (`tcp dport`, `udp dport`,
 * `th dport`) against a literal: a value, a range (`8000-8100`, or `>=`
 * / `<=` comparisons), or the elements of a set (`{ 80, 443 }`, a named
 * set, the keys of a map `dnat to tcp dport map { ... }`). The protocol
 * comes from a `meta l4proto` / `ip protocol` match (a value or a set);
 * without one both TCP and UDP count.
 *
 * What does not: negated matches (`tcp dport != 22`), a rule that
 * forwards without a literal port (a DMZ host: every port would count),
 * ports inside concatenations (`ip daddr . tcp dport`), xt matches that
 * iptables-nft hands the kernel as opaque compat blobs (`-m multiport
 * --dports`), and rules of iptables-legacy (x_tables, not nftables).
 * The interface the rule applies to is not looked at: a LAN-side
 * redirect also keeps its port.
 */
#ifndef IGDD_NFT_FORWARDS_H
#define IGDD_NFT_FORWARDS_H

#include <stdint.h>

#include "util/portset.h"

struct nft_forwards;

/* A netlink socket and its buffers; NULL with errno set. */
struct nft_forwards *nft_forwards_new(void);
void nft_forwards_free(struct nft_forwards *f);

/* Read the ruleset: the statically forwarded ports into *tcp and *udp
 * (cleared first). 0 or -errno. */
int nft_forwards_read(struct nft_forwards *f, struct portset *tcp, struct portset *udp);

/* The ruleset's generation (NFT_MSG_GETGEN): it changes with every
 * committed transaction. 0 or -errno. */
int nft_forwards_genid(struct nft_forwards *f, uint32_t *ret);

#endif
