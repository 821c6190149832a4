/*
 * nft_rules.h - the text of every nft command igdd runs: the table
 * skeleton and the elements of its maps and sets (libnftables command
 * strings; no JSON, since OpenWrt ships nftables without it).
 *
 * Pure: values in, text out. Only validated values are printed:
 * addresses with inet_ntop() from a struct in_addr, ports and prefix
 * lengths as integers, the WAN interface name after nft_ifname_ok().
 * Nothing a peer sent as text (a description) ever reaches this module.
 *
 * One table of our own, `table ip igdd`; mappings are elements, never
 * rules (docs/NFT.md shows the table and explains every line):
 *
 *   dnat_rh   remote host . proto . external port : internal . internal port
 *   dnat_any           proto . external port : internal . internal port
 *   allow_rh  remote host . internal . proto . internal port
 *   allow_any                internal . proto . internal port
 *   snat_rh   internal . proto . internal port . remote host : external port
 *   snat_any  internal . proto . internal port : external port
 *
 * A narrowed mapping (a remote host) lives in the _rh sets only, so no
 * other host is forwarded. The snat maps make the internal port leave as
 * the external port (WANIPConnection:2 section 1.2, port triggering).
 * "dnat" and "snat" are nft keywords, hence the _any suffix.
 */
#ifndef IGDD_NFT_RULES_H
#define IGDD_NFT_RULES_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "priv/priv_msg.h"

struct buf;

#define NFT_TABLE_FAMILY "ip"
#define NFT_TABLE_NAME "igdd"           /* the default name of both tables */
#define NFT_TABLE_NAME_MAX 32           /* a table's name: 1..31 bytes */

/*
 * The names of igdd's tables (config nft_table for table ip, nft_table6
 * for table ip6; NFT_TABLE_NAME unless set), set once by the helper at
 * its start from the configuration it read: two instances with other
 * names run side by side (docs/NFT.md). A name is a letter, then
 * letters, digits and '_', 1..31 bytes; NULL or "" = NFT_TABLE_NAME.
 * 0, or -EINVAL (the name stays).
 */
bool nft_table_name_ok(const char *name);
/* name (or the default) into dst when valid: the setters' one path. */
int nft_table_name_set(char dst[NFT_TABLE_NAME_MAX], const char *name);
int nft_rules_set_table(const char *name);
const char *nft_rules_table_name(void);
/* Elements per `add element` / `delete element` command (a batch of more
 * becomes several commands of one transaction). */
#define NFT_RULES_CHUNK 1024

enum nft_set {
	NFT_SET_DNAT_RH,
	NFT_SET_DNAT_ANY,
	NFT_SET_ALLOW_RH,
	NFT_SET_ALLOW_ANY,
	NFT_SET_SNAT_RH,
	NFT_SET_SNAT_ANY,
	NFT_SET_HAIRPIN,        /* only with hairpin: the external addresses */
	NFT_NSETS
};

/* Which elements of a mapping a command touches (bits). */
#define NFT_EL_DNAT  (1u << 0)
#define NFT_EL_ALLOW (1u << 1)
#define NFT_EL_SNAT  (1u << 2)
#define NFT_EL_ALL   (NFT_EL_DNAT | NFT_EL_ALLOW | NFT_EL_SNAT)

struct nft_table_conf {
	char wan_if[IF_NAMESIZE];       /* iifname / oifname of the WAN side */
	bool hairpin;                   /* LAN hosts may reach mappings through the external address */
	struct in_addr lan_net;         /* the LAN prefix (hairpin masquerade), masked */
	unsigned lan_plen;              /* 0..32 */
};

enum nft_op { NFT_ADD, NFT_DEL };

/* The set's name in the table ("dnat_rh", ...). */
const char *nft_set_name(enum nft_set s);

/* An interface name nft text may carry: 1..IF_NAMESIZE-1 characters of
 * [A-Za-z0-9._-]. */
bool nft_ifname_ok(const char *name);

/* Ports 1..65535, TCP or UDP, an internal address that is not 0.0.0.0. */
bool nft_elem_ok(const struct priv_entry *e);

/*
 * The whole table, replacing any table of that name in the same
 * transaction ("add table; delete table; table ip igdd { ... }"), with
 * no elements. 0, -EINVAL (bad conf) or -E2BIG (out is full).
 */
int nft_rules_table(struct buf *out, const struct nft_table_conf *c);

/* "delete table ip igdd". */
int nft_rules_delete_table(struct buf *out);

/* The number of rules nft_rules_table() creates (6, or 8 with hairpin). */
unsigned nft_rules_count(const struct nft_table_conf *c);

/*
 * Add or delete the elements `what` (NFT_EL_*) of n mappings: one
 * command per set that gets any, at most NFT_RULES_CHUNK elements each,
 * in enum nft_set order. For the snat sets, ext_port is the value. A
 * mapping that fails nft_elem_ok() fails the call (-EINVAL) before
 * anything is written.
 */
int nft_rules_elems(struct buf *out, enum nft_op op, const struct priv_entry *v, size_t n,
		    unsigned what);

/* Replace the contents of hairpin_addr: "flush set" then the n addresses
 * (no add command when n is 0). */
int nft_rules_hairpin(struct buf *out, const struct in_addr *addrs, size_t n);

/* The set of an element of kind el (one NFT_EL_* bit). */
enum nft_set nft_elem_set(const struct priv_entry *e, unsigned el);

#endif
