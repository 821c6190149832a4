/*
 * lanwatch.h - the LANs' addresses, IPv4 and IPv6, and the WAN's IPv6
 * addresses, followed over rtnetlink (libmnl; groups RTMGRP_LINK,
 * RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR; rtnetlink(7)): a DHCP lease
 * on a LAN, a renumbering, a delegated prefix that changes (RFC 8415
 * IA_PD, RFC 7084 L-2: one /64 of it per LAN), an interface created
 * again. The kernel's view is written into e->lans[] and e->wan6
 * (core/lan.h); the callback says which LANs changed, and the caller
 * re-binds and re-announces what depends on them.
 *
 * At start the addresses are read with one RTM_GETADDR dump, before any
 * socket that depends on them is opened; lost notifications (ENOBUFS)
 * and link changes of a LAN (its interface deleted, created again, a
 * new index) are answered with a new dump.
 */
#ifndef IGDD_LANWATCH_H
#define IGDD_LANWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine;
struct loop;
struct lanwatch;

/* lans: bit i set when e->lans[i] changed; wan6: the WAN's IPv6 addresses changed. */
typedef void (*lanwatch_fn)(struct lanwatch *w, uint32_t lans, bool wan6, void *arg);

/*
 * Follow e's LANs (e->lans[i].name) and wan_ifname (NULL or "": no WAN
 * to follow). Reads the present state into e at once (lans that exist
 * get their index and addresses). l NULL: no loop (tests; lanwatch_parse()
 * only). NULL and errno on failure.
 */
struct lanwatch *lanwatch_new(struct engine *e, struct loop *l, const char *wan_ifname,
			      lanwatch_fn cb, void *arg);
void lanwatch_free(struct lanwatch *w);

/* Read the whole state again (as after lost notifications); the LANs changed. */
uint32_t lanwatch_resync(struct lanwatch *w, bool *ret_wan6);

/*
 * For tests: apply one buffer of rtnetlink messages (len bytes). Returns
 * the LANs changed; *ret_wan6 whether the WAN's IPv6 addresses did;
 * *ret_resync whether a link message asks for a new dump.
 */
uint32_t lanwatch_parse(struct lanwatch *w, const void *buf, size_t len, bool *ret_wan6,
			bool *ret_resync);

#endif
