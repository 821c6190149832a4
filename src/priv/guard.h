/*
 * guard.h - what the privileged helper refuses, whatever the engine asks
 * (docs/NFT.md, "What the helper refuses"; docs/LIMITS.md): a mapping
 * that no UPnP, NAT-PMP or PCP request could obtain.
 *
 *   - the message itself (priv_msg_check()): size, version, operation,
 *     entries; internal address inside one of the LANs' prefixes (read
 *     at start, and from the kernel again when a request names a client
 *     outside them: a LAN renumbered) and not its network or broadcast
 *     address; a unicast remote host;
 *   - the port rules and the ACL of the configuration (core/policy.h
 *     policy_check_ports(); a rule naming a LAN applies to the clients
 *     inside that LAN's prefix): well-known ports and acl deny rules, unless
 *     the request carries a valid admin grant (priv_msg.h);
 *   - the internal address is none of the gateway's own addresses
 *     (priv/localaddr.h: every local route, followed as it changes);
 *   - the external port is none the gateway itself holds: a TCP listener
 *     or an unconnected UDP socket on the wildcard or a WAN address
 *     (util/sockdiag.h, asked for that port at each request), or a port
 *     the firewall forwards statically (priv/nft_forwards.h, read again
 *     whenever the ruleset's generation moved). Not even a grant lifts
 *     this one, nor the gateway's own addresses.
 *
 * The helper keeps its own copy of the port policy: read from the
 * configuration at start (before the engine reads the network), and
 * from the configuration file again on PRIV_OP_RELOAD and whenever its
 * periodic check sees the file changed. The engine can make it read the
 * file, but not choose what it reads.
 */
#ifndef IGDD_GUARD_H
#define IGDD_GUARD_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "priv/nft_rules.h"
#include "priv/priv_msg.h"
#include "util/portset.h"

struct guard;
struct policy;

struct guard_conf {
	struct priv_policy policy;      /* LAN prefixes at start; .ports is taken from ports below */
	char lan_if[IGDD_CONF_MAX_LANS][IF_NAMESIZE];   /* lan_interface: the prefixes are
	                                                 * read again from these */
	size_t nlan_if;
	struct policy *ports;           /* the port rules and ACL at start (owned by the guard) */
	char wan_if[IF_NAMESIZE];
	bool have_external_ip;          /* external_ip also counts as a WAN address */
	struct in_addr external_ip;
	char conf_path[PATH_MAX];       /* the configuration file ("": none to follow) */
	size_t max_grants;              /* admin mappings granted beyond the policy */
};

/* NULL with errno set; c->ports then still belongs to the caller. */
struct guard *guard_new(const struct guard_conf *c);
void guard_free(struct guard *g);

/*
 * Check a request as received (len bytes at msg), fd the descriptor
 * that came with it (-1: none; the guard closes it). 0, or -EINVAL
 * (malformed), -EACCES (the policy, the gateway's own address, a bad
 * grant), -EADDRINUSE (the gateway itself holds the external port),
 * -ENOSPC (too many grants) or -EAGAIN (the kernel could not be asked:
 * refused until it can), with *ret_why set. *ret_granted: the mapping of
 * this APPLY is granted beyond the port policy.
 */
int guard_request(struct guard *g, const void *msg, size_t len, int fd, bool *ret_granted,
		  const char **ret_why);

/* The helper committed a transaction of its own: note the ruleset's
 * generation, so that the next request need not read the ruleset again. */
void guard_committed(struct guard *g);

/*
 * The ports the gateway holds now, for the periodic check (the router
 * wins over a mapping made before): TCP listeners and static forwards at
 * once; UDP sockets only when seen at two checks in a row (a client's
 * query socket comes and goes). 0 or -errno.
 */
int guard_router_ports(struct guard *g, struct portset *tcp, struct portset *udp);

/*
 * Read the port policy from the configuration file again (only_changed:
 * only when the file changed since the last read). 1 read and replaced,
 * 0 nothing to do, -errno (the policy in force stays; logged).
 */
int guard_reload(struct guard *g, bool only_changed);

/* Whether an installed mapping passes the port policy in force (granted
 * ones always do). */
bool guard_allows(const struct guard *g, const struct priv_entry *e);

/* Keys (protocol, external port, remote host) granted beyond the
 * policy: set after the grant's mapping was installed, dropped when the
 * key is replaced without one or removed. */
void guard_grant_set(struct guard *g, const struct priv_entry *e, bool granted);
void guard_grant_clear(struct guard *g);
size_t guard_grant_count(const struct guard *g);

#endif
