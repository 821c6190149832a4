/*
 * pin_policy.h - who may open which IPv6 pinhole (WANIPv6FirewallControl:1
 * section 2.6.3.3 [5.5.4.4] AddPinhole "Service Requirements": the device
 * applies its security policy and answers 606 without permission; it
 * recommends InternalPort >= 1024 and InternalClient equal to the control
 * point's own address for unauthenticated control points, and requires
 * that InternalClient is none of the gateway's own addresses), with the
 * administrator's pinhole_acl rules (docs/POLICY.md, "IPv6 pinholes").
 * PCP MAP in firewall mode (RFC 6887 sections 11.1, 13.1) asks the same
 * question with the PCP client as the control point.
 *
 * The decision, on the LAN the request arrived on:
 *   1. the internal client is a global unicast address in one of that
 *      LAN's prefixes, not one of the gateway's own addresses, not in a
 *      WAN prefix (link-local and ULA addresses cannot be reached from
 *      the WAN: a pinhole for them opens nothing);
 *   1b. the control point is IPv6 (an IPv4 one has no IPv6 address of
 *      its own to name);
 *   2. the first pinhole_acl rule matching (internal client, internal
 *      port, and the LAN when the rule names one) decides, allow or deny;
 *   3. no rule matched: the internal client must be the control point's
 *      own address and the internal port >= 1024.
 * A rule cannot lift step 1 or 1b.
 */
#ifndef IGDD_PIN_POLICY_H
#define IGDD_PIN_POLICY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "core/policy.h"

struct pin_policy;

/* Compile pc->pinhole_acl (core/policy.h: the parser's normalised
 * strings). NULL on a bad rule or ENOMEM, with the reason in err. */
struct pin_policy *pin_policy_new(const struct policy_conf *pc, char *err, size_t errsz);
void pin_policy_free(struct pin_policy *p);

/* The verdict for peer's pinhole to client:int_port on lan (the values of
 * enum policy_verdict; POLICY_DENY_FAMILY for step 1b). */
enum policy_verdict pin_policy_check(const struct pin_policy *p, const struct policy_lan *lan,
				     const struct ipaddr *peer, const struct in6_addr *client,
				     uint16_t int_port);
const char *pin_policy_verdict_str(enum policy_verdict v);
size_t pin_policy_rule_count(const struct pin_policy *p);

#endif
