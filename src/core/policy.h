/*
 * policy.h - the IGD:2 security policy for port mappings
 * (WANIPConnection:2 section 1.2 and the "Service Requirements" of
 * 2.5.14 - 2.5.21), with the administrator's ACL (docs/POLICY.md).
 *
 * The decision for a control point (peer) and a mapping it asks to
 * create, or one it asks to see, change or delete, on the LAN the
 * request arrived on (core/lan.h; a control point of one LAN never maps
 * to another LAN's hosts):
 *   1. the internal client must be a host of that LAN: inside its
 *      subnet (IPv6: its link or prefixes), not one of the gateway's own
 *      addresses, not the subnet's network or broadcast address (subnets
 *      up to /30). The limited broadcast 255.255.255.255 is accepted for
 *      UDP only (2.3.21), and only through an explicit ACL allow rule
 *      (step 4);
 *   1b. the internal client and the control point are of one address
 *      family: an IPv4 port mapping is for an IPv4 control point (an
 *      IPv6 one has no IPv4 address of its own to name, and limits are
 *      counted per IPv4 control point);
 *   2. secure_mode = yes (default, the spec's recommendation for
 *      unauthenticated control points): the internal client must be the
 *      peer itself. secure_mode = no: any host of that LAN (the 3-box
 *      model);
 *   3. the first ACL rule matching (external port, internal client,
 *      internal port, and the LAN when the rule names one) decides,
 *      allow or deny; rules name IPv4 clients only;
 *   4. no rule matched: both ports must be >= 1024, and the internal
 *      client must not be 255.255.255.255.
 * An ACL rule cannot lift steps 1, 1b and 2.
 *
 * NewManage (2.5.19, 2.5.21) is honoured only when secure_mode = no: an
 * unauthenticated control point's NewManage "SHOULD be ignored".
 */
#ifndef IGDD_POLICY_H
#define IGDD_POLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/lan.h"
#include "util/ipaddr.h"
#include "util/limits.h"

struct policy;

/* The LAN the request arrived on, as the engine sees it now (its
 * addresses may change at run time). */
struct policy_lan {
	const struct lan *lan;          /* NULL = unknown: nothing is allowed */
	const struct lan_wan6 *wan6;    /* the WAN's IPv6 prefixes (never LAN hosts); may be NULL */
};

/* A mapping asked for, or an existing one looked at. */
struct policy_subject {
	struct ipaddr peer;             /* the control point */
	struct ipaddr internal_client;
	uint16_t ext_port;
	uint16_t int_port;
	uint8_t proto;                  /* enum map_proto */
};

enum policy_verdict {
	POLICY_ALLOW,
	POLICY_DENY_CLIENT,             /* step 1 (or broadcast with no allow rule) */
	POLICY_DENY_FAMILY,             /* step 1b: the control point's family is not the client's */
	POLICY_DENY_THIRD_PARTY,        /* step 2 */
	POLICY_DENY_RULE,               /* step 3: a deny rule matched */
	POLICY_DENY_PORT,               /* step 4: a port below 1024 */
};

struct policy_range {
	uint16_t lo, hi;
};

/* Enough for any rule set: each rule adds at most two boundaries. */
#define POLICY_MAX_RANGES (2 * IGDD_CONF_MAX_ACL + 2)

/*
 * The values both policies are compiled from: the configuration's
 * secure_mode, acl, pinhole_acl and lan_interface keys, as the parser
 * normalised them (conf/policy_conf.c fills this from a struct config;
 * core knows no conf). The strings are borrowed for the call only.
 */
struct policy_conf {
	bool secure;                            /* secure_mode */
	size_t nacl;
	const char *acl[IGDD_CONF_MAX_ACL];     /* "allow|deny EXT ADDR[/PREFIX] INT [on LAN]" */
	size_t npinhole_acl;
	const char *pinhole_acl[IGDD_CONF_MAX_ACL]; /* "allow|deny ADDR6[/PREFIX] PORTS [on LAN]" */
	size_t nlans;
	const char *lans[IGDD_CONF_MAX_LANS];   /* lan_interface, in order */
};

/* The index of the LAN named name (0..nlans-1), or -1. */
int policy_conf_lan_index(const struct policy_conf *pc, const char *name, size_t len);

/*
 * Compile pc->secure and pc->acl (a LAN named by its position in
 * pc->lans; pc may go away after). NULL on a bad rule (or a LAN that is
 * not a lan_interface) or ENOMEM, with the reason in err.
 */
struct policy *policy_new(const struct policy_conf *pc, char *err, size_t errsz);
void policy_free(struct policy *p);

/* A unicast address a remote host may have: not 0/8, 127/8, 224/4 or
 * 240/4 (the services' check of a RemoteHost, and the helper's). */
bool policy_remote_host_ok(struct in_addr a);

enum policy_verdict policy_check(const struct policy *p, const struct policy_lan *lan,
				 const struct policy_subject *s);
/*
 * Steps 3 and 4 alone, for what is known without the control point (the
 * privileged helper's check, priv/priv_msg.h): the first ACL rule
 * matching (ext_port, client, int_port, and lan when the rule names a
 * LAN: lan is the position in lan_interface of the client's LAN, -1
 * unknown: then no rule naming a LAN matches) decides; none: both ports
 * 1024 or above and client not 255.255.255.255.
 */
enum policy_verdict policy_check_ports(const struct policy *p, int lan, struct in_addr client,
				       uint16_t ext_port, uint16_t int_port);
/* Short text for logs: "allowed", "internal client not a LAN host", ... */
const char *policy_verdict_str(enum policy_verdict v);

bool policy_secure(const struct policy *p);
/* Whether NewManage = 1 widens a listing or a range delete. */
bool policy_manage_allowed(const struct policy *p);

/*
 * The external ports (1..65535) that s may be given, whatever
 * s->ext_port says: sorted, disjoint, not adjacent ranges written into
 * out (room for POLICY_MAX_RANGES). Returns how many (0: none).
 */
size_t policy_ext_ranges(const struct policy *p, const struct policy_lan *lan,
			 const struct policy_subject *s, struct policy_range *out);

size_t policy_rule_count(const struct policy *p);

#endif
