/*
 * pinholes.h - the one path by which IPv6 pinholes change (UPnP's
 * WANIPv6FirewallControl:1 in svc/wanipv6fc.c, PCP MAP in firewall mode
 * in svc/pcp.c, the admin's igddctl in svc/ctl.c, lease expiry): the
 * pinhole table (core/pinhole.h), the policy (core/pin_policy.h) and the
 * backend kept in step, with one log line and one change event each.
 * Spec sections: WANIPv6FirewallControl:1 2.6.3 - 2.6.7 [5.5.4 - 5.5.8];
 * RFC 6887 sections 11.1 and 15 (a lifetime of 0 deletes).
 */
#ifndef IGDD_PINHOLES_H
#define IGDD_PINHOLES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pinhole.h"
#include "core/policy.h"

struct engine;

/* What pinholes_open() decided (each front end maps it to its codes). */
enum pinholes_status {
	PINHOLES_OK,
	PINHOLES_DENIED,                /* the policy (*ret_verdict says which step) */
	PINHOLES_FULL,                  /* max_pinholes or max_pinholes_per_client */
	PINHOLES_FAILED,                /* the backend refused, or out of memory */
};

/* FirewallEnabled (2.4.2 [5.3.2]): ipv6_firewall. */
bool pinholes_firewall_enabled(const struct engine *e);
/* InboundPinholeAllowed (2.4.3 [5.3.3]): pinholes = yes and a backend
 * that can open them. */
bool pinholes_allowed(const struct engine *e);

/* The policy's verdict for peer (asking on lan) on a pinhole to
 * client:int_port (core/pin_policy.h). */
enum policy_verdict pinholes_check(const struct engine *e, unsigned lan, const struct ipaddr *peer,
				   const struct in6_addr *client, uint16_t int_port);
/* Whether peer, asking on lan, may see and change p (the policy allows
 * it p's internal client and port); others answer as if p did not exist. */
bool pinholes_visible(const struct engine *e, unsigned lan, const struct ipaddr *peer,
		      const struct pinhole *p);

/*
 * Open the pinhole *tmpl (uid 0; remote, ports, internal, proto, origin,
 * owner, lan, nonce) for lease_s seconds (0: static, the admin's only),
 * after the policy check for tmpl->owner unless the origin is static.
 * The same tuple again (2.6.3 [5.5.4]) extends that pinhole's lease and
 * returns it. *ret gets the stored pinhole on PINHOLES_OK.
 */
enum pinholes_status pinholes_open(struct engine *e, const struct pinhole *tmpl, uint32_t lease_s,
				   enum policy_verdict *ret_verdict, struct pinhole **ret);
/* A new lease of lease_s seconds from now (UpdatePinhole, a PCP renewal).
 * 0, or -errno when the lease file could not take it (p unchanged). */
int pinholes_set_lease(struct engine *e, struct pinhole *p, uint32_t lease_s);
/* Close p (DeletePinhole, PCP lifetime 0, igddctl); why for the log. 0,
 * or -errno when the backend could not remove it or the lease file could
 * not take it (p stays; engine_tx.h). */
int pinholes_close(struct engine *e, struct pinhole *p, const char *why);
/*
 * The same changes on the caller's transaction tx (engine_tx_init()
 * done; with tx->done set the change may complete later: they answer
 * ENGINE_TX_PENDING then, as engine_tx.h says), for a front end that
 * answers at completion (svc/wanipv6fc.c).
 * pinholes_open_tx(): -EACCES with nothing started when the policy
 * refuses (*ret_verdict says which step); else the engine's answer,
 * *ret_renew true when the tuple existed (its lease is renewed).
 * pinholes_opened(): the status of that open from tx's outcome (and
 * its log line; tmpl, when not NULL, names a failed one), *ret the
 * pinhole on PINHOLES_OK.
 * pinholes_delete_tx(): close p, logged "deleted".
 */
struct engine_tx;
int pinholes_open_tx(struct engine *e, struct engine_tx *tx, const struct pinhole *tmpl,
		     uint32_t lease_s, enum policy_verdict *ret_verdict, bool *ret_renew);
enum pinholes_status pinholes_opened(struct engine *e, const struct engine_tx *tx, bool renew,
				     const struct pinhole *tmpl, struct pinhole **ret);
int pinholes_set_lease_tx(struct engine *e, struct engine_tx *tx, struct pinhole *p,
			  uint32_t lease_s);
int pinholes_delete_tx(struct engine *e, struct engine_tx *tx, struct pinhole *p);
/* Inbound packets through p since it was opened (GetPinholePackets). */
int pinholes_packets(struct engine *e, const struct pinhole *p, uint64_t *ret);

/* Close every pinhole whose lease ran out. */
void pinholes_expire(struct engine *e);
uint64_t pinholes_next_expiry(const struct engine *e);
/* After a reload or a LAN change: close every pinhole (but the admin's)
 * the policy now refuses, and all of them when pinholes are no longer
 * allowed. The number closed. */
int pinholes_enforce_policy(struct engine *e, const char *why);

#endif
