/*
 * nft_pin.h - the text of the nft commands for IPv6 pinholes
 * (WANIPv6FirewallControl:1, PCP MAP in firewall mode; docs/NFT.md,
 * "IPv6 pinholes"). Pure: validated numbers in, text out.
 *
 * A table of its own, `table ip6 igdd` (table ip igdd, the IPv4 NAT,
 * stays as it is), with one exact-match set per wildcard combination (a
 * single interval set cannot hold a wildcard pinhole and a narrower one
 * of the same client and port: the kernel refuses overlapping elements),
 * each element with its own counter (the set's `counter` flag) for
 * GetPinholePackets:
 *
 *   pin6_rh_rp  remote . remote port . internal . proto . internal port
 *   pin6_rh     remote . internal . proto . internal port
 *   pin6_rp     remote port . internal . proto . internal port
 *   pin6_any    internal . proto . internal port
 *
 * and one forward chain that runs before the router's own filter
 * (priority filter - 10): a packet from the WAN interface that matches a
 * pinhole gets the mark bit NFT_PIN_MARK. igdd's table cannot accept a
 * packet past a router that drops it (nft(8), VERDICT STATEMENT): the
 * router's forward chain accepts marked packets with one line
 * (docs/NFT.md shows it for OpenWrt's fw4 and a plain Debian ruleset).
 */
#ifndef IGDD_NFT_PIN_H
#define IGDD_NFT_PIN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define NFT_PIN_FAMILY "ip6"

/* The name of table ip6 (config nft_table6), as nft_rules_set_table(). */
int nft_pin_set_table(const char *name);
const char *nft_pin_table_name(void);
#define NFT_PIN_MARK 0x00010000u
#define NFT_PIN_NSETS 4
#define NFT_PIN_RULES 4         /* rules of the forward chain */

/* One pinhole as nft sees it, and the one type of a pinhole outside the
 * engine's table: the helper's request carries it as it is
 * (priv/priv_msg.h, struct priv_req). Ports in host order. */
struct nft_pin {
	struct in6_addr remote;         /* :: = any */
	struct in6_addr internal;
	uint16_t remote_port;           /* 0 = any */
	uint16_t int_port;              /* 1..65535 */
	uint8_t proto;                  /* 6, 17, 136 */
	uint8_t pad[3];                 /* zero (the helper refuses anything else) */
};

/* ret zeroed (padding too), then the five fields set: the one copy into
 * a struct nft_pin, whatever struct the pinhole comes from. */
void nft_pin_fill(struct nft_pin *ret, const struct in6_addr *remote,
		  const struct in6_addr *internal, uint16_t remote_port, uint16_t int_port,
		  uint8_t proto);

struct pinhole;
/* The nft view of a pinhole of the table (core/pinhole.h). */
void nft_pin_from(const struct pinhole *p, struct nft_pin *ret);

/* The same pinhole (every field). */
bool nft_pin_eq(const struct nft_pin *a, const struct nft_pin *b);

/* TCP, UDP or UDP-Lite; internal port not 0; internal a global unicast
 * address; the remote host (when given) not multicast, loopback or
 * unspecified-looking. */
bool nft_pin_ok(const struct nft_pin *p);
/* The set a pinhole lives in (0..NFT_PIN_NSETS-1) and its name. */
unsigned nft_pin_set(const struct nft_pin *p);
const char *nft_pin_set_name(unsigned set);

/* The whole table, replacing one of that name, with no elements; wan_if
 * passed nft_ifname_ok(). 0, -EINVAL or -E2BIG. */
int nft_pin_table(struct buf *out, const char *wan_if);
/* "delete table ip6 igdd". */
int nft_pin_delete_table(struct buf *out);
/* "add element ..." / "delete element ..." of one pinhole (-EINVAL when
 * it fails nft_pin_ok()). */
int nft_pin_elem(struct buf *out, bool add, const struct nft_pin *p);
/* "get element ..." of one pinhole: its counter. */
int nft_pin_get(struct buf *out, const struct nft_pin *p);
/* The packet count in what `get element` printed: 0, or -ENOENT. */
int nft_pin_parse_packets(const char *text, uint64_t *ret);

#endif
