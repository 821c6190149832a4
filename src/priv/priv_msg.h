/*
 * priv_msg.h - the messages between the engine and the privileged
 * helper (docs/ARCHITECTURE.md rule 3), over a SOCK_SEQPACKET
 * socketpair: one request, one reply, each of one fixed size.
 *
 * A request carries only numbers: an operation, a sequence number and up
 * to PRIV_BATCH_MAX mappings (protocol, ports, addresses). The helper
 * accepts a request only when it has exactly sizeof(struct priv_req)
 * bytes and passes priv_msg_check(): the helper's own copy of the static
 * policy (the LAN prefix, the port rules and ACL of core/policy.h), so a
 * compromised engine can ask for no more than a correct one could. What
 * the helper checks beyond the message (the gateway's own addresses, the
 * ports the gateway itself holds) is in priv/helper.c. The reply echoes
 * the sequence number, so a late reply to a request the engine gave up
 * on is recognised and dropped.
 *
 * An admin mapping that the port rules refuse needs a grant: the APPLY
 * request of that one mapping carries, as SCM_RIGHTS, one end of a
 * SOCK_SEQPACKET socketpair that igddctl created and into whose other
 * end it wrote a struct priv_grant naming exactly that mapping. The
 * kernel records the creator's credentials on the socketpair
 * (SO_PEERCRED), so the helper knows root made it; the engine, which
 * runs as another user, can pass such a socket on but can neither make
 * one nor write into it (docs/NFT.md, "Admin mappings").
 *
 * PRIV_OP_WAN_UP / PRIV_OP_WAN_DOWN carry no data at all: the helper runs
 * the command of its own copy of the configuration (wan_up_command,
 * wan_down_command), never anything from the message. The reply says
 * whether the command started; when it ends the helper sends one more
 * message, unasked: an event (PRIV_EVENT_WAN_DONE) with the starting
 * request's sequence number and the outcome. PRIV_OP_RELOAD carries no
 * data either: the helper reads the configuration file itself.
 *
 * The helper also sends PRIV_EVENT_GONE, unasked: mappings it removed by
 * itself (a port the gateway itself now uses; a reloaded policy that
 * refuses them), as a struct priv_gone.
 */
#ifndef IGDD_PRIV_MSG_H
#define IGDD_PRIV_MSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "priv/nft_pin.h"
#include "util/limits.h"


#define PRIV_MSG_VERSION 2
#define PRIV_BATCH_MAX 256      /* mappings in one request: one nft transaction */

enum priv_op {
	PRIV_OP_APPLY = 1,      /* add or replace count mappings */
	PRIV_OP_REMOVE = 2,     /* remove count mappings (by key; unknown keys are no error) */
	PRIV_OP_FLUSH = 3,      /* remove every mapping (count 0) */
	PRIV_OP_WAN_UP = 4,     /* run wan_up_command (count 0) */
	PRIV_OP_WAN_DOWN = 5,   /* run wan_down_command (count 0) */
	PRIV_OP_RELOAD = 6,     /* read the policy from the configuration file again (count 0) */
	/* IPv6 pinholes (numbers apart from the mappings' operations) */
	PRIV_OP_PIN_ADD = 16,   /* install the IPv6 pinhole pin (count 0) */
	PRIV_OP_PIN_DEL = 17,   /* remove it (unknown ones are no error) */
	PRIV_OP_PIN_PACKETS = 18,/* its packet counter, in the reply's value */
};

/* What a message from the helper is. */
enum priv_event {
	PRIV_EVENT_NONE = 0,    /* the reply to request seq */
	PRIV_EVENT_WAN_DONE = 1,/* the command request seq started has ended: status 0
	                         * (exit 0), -EIO (other exit, or a signal), -ETIMEDOUT
	                         * (killed after PRIV_WAN_CMD_TIMEOUT_MS), -ECANCELED
	                         * (replaced by a newer request), or the -errno of
	                         * starting it */
	PRIV_EVENT_GONE = 2,    /* a struct priv_gone: mappings the helper removed */
};

#define PRIV_WAN_CMD_TIMEOUT_MS 60000   /* a WAN command is killed after this */

/* One mapping, the one type it has outside the engine's table: the
 * engine's backend/nft.c fills it from a struct mapping, and the helper
 * checks it (priv_req_check), keeps it (priv/nft_state.h) and prints it
 * (priv/nft_rules.h). Addresses in network byte order, ports in host
 * order; on the wire the padding is zero (priv_entry_put). */
struct priv_entry {
	struct in_addr remote_host;     /* 0.0.0.0: any remote host (the _any sets) */
	struct in_addr internal;
	uint16_t ext_port;              /* 1..65535 */
	uint16_t int_port;              /* 1..65535 */
	uint8_t proto;                  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t pad[3];                 /* zero */
};

struct priv_req {
	uint32_t version;       /* PRIV_MSG_VERSION */
	uint32_t seq;
	uint16_t op;            /* enum priv_op */
	uint16_t count;         /* entries used in e[] */
	uint32_t pad;           /* zero */
	struct priv_entry e[PRIV_BATCH_MAX];
	struct nft_pin pin;     /* PRIV_OP_PIN_*: the pinhole (priv/nft_pin.h) */
};

struct priv_reply {
	uint32_t version;
	uint32_t seq;           /* the request's; 0 = the helper's start-up report */
	int32_t status;         /* 0 or -errno */
	uint32_t count;         /* mappings installed after the request */
	uint16_t event;         /* enum priv_event */
	uint16_t op;            /* an event: the op of request seq */
	uint32_t pad;
	uint64_t value;         /* PRIV_OP_PIN_PACKETS: the packets counted */
};

/* PRIV_EVENT_GONE: h.event PRIV_EVENT_GONE, h.seq 0, h.count entries of
 * e[] used, h.status why (-EADDRINUSE: the gateway itself now uses the
 * port; -EACCES: the reloaded policy refuses them). */
#define PRIV_GONE_MAX 64
struct priv_gone {
	struct priv_reply h;
	struct priv_entry e[PRIV_GONE_MAX];
};

/* What igddctl writes into the socketpair of a grant. */
#define PRIV_GRANT_MAGIC 0x69676467u    /* "igdg" */
#define PRIV_GRANT_MAX_AGE_MS 60000     /* a grant older than this is refused */
struct priv_grant {
	uint32_t magic;                 /* PRIV_GRANT_MAGIC */
	uint32_t version;               /* PRIV_MSG_VERSION */
	uint64_t created_ms;            /* CLOCK_MONOTONIC, when igddctl wrote it */
	struct priv_entry e;            /* the one mapping granted */
};

struct policy;

/* One LAN's IPv4 prefix. */
struct priv_lan_net {
	struct in_addr net;             /* masked */
	unsigned plen;                  /* 1..32 */
	unsigned index;                 /* the LAN's position in lan_interface */
};

/* What the helper enforces whatever the engine asks: internal addresses
 * must be hosts of one of these prefixes (each lan_interface's, read from
 * the kernel by the helper itself), and the port rules and ACL apply. */
/* One LAN's IPv6 prefix (a global address's). */
struct priv_lan_net6 {
	struct in6_addr net;            /* masked */
	unsigned plen;                  /* 1..128 */
};

#define PRIV_MAX_NET6 (IGDD_CONF_MAX_LANS * 4)
#define PRIV_MAX_OWN6 64

struct priv_policy {
	struct priv_lan_net lan[IGDD_CONF_MAX_LANS];
	unsigned nlan;
	const struct policy *ports;     /* port rules and ACL (policy_check_ports());
	                                 * NULL: none apply */
	/* Pinholes: the internal address must be in one of the LANs' IPv6
	 * prefixes and none of the gateway's own IPv6 addresses (any
	 * interface's; more than PRIV_MAX_OWN6 of them and every pinhole is
	 * refused, rather than one to an address not on the list). */
	struct priv_lan_net6 lan6[PRIV_MAX_NET6];
	unsigned nlan6;
	struct in6_addr own6[PRIV_MAX_OWN6];
	unsigned nown6;
	bool own6_overflow;
};

/* The position in lan_interface of the first LAN whose prefix holds a
 * (for ACL rules naming a LAN), or -1. */
int priv_lan_of(const struct priv_policy *pol, struct in_addr a);

/*
 * Check a request as received (len bytes at msg; fd: whether a
 * descriptor came with it). 0; -EINVAL (malformed) or -EACCES (an APPLY
 * entry the port rules or the ACL refuse, unless granted: then the
 * caller must check the grant) with *ret_why (optional) set to a static
 * text naming the first problem.
 */
int priv_msg_check(const void *msg, size_t len, bool fd, const struct priv_policy *pol,
		   bool granted, const char **ret_why);

/*
 * Check a grant read from its socketpair (len bytes at msg) against the
 * one mapping of the request (want), now being CLOCK_MONOTONIC ms. 0, or
 * -EINVAL with *ret_why set. (Who made the socketpair is the caller's
 * check: SO_PEERCRED uid 0.)
 */
int priv_grant_check(const void *msg, size_t len, const struct priv_entry *want, uint64_t now_ms,
		     const char **ret_why);

/* What a message from the helper is, as the engine reads it. */
enum priv_kind {
	PRIV_KIND_BAD,          /* malformed: logged and dropped */
	PRIV_KIND_REPLY,        /* a struct priv_reply with event PRIV_EVENT_NONE */
	PRIV_KIND_WAN_DONE,     /* a struct priv_reply, PRIV_EVENT_WAN_DONE of a WAN op */
	PRIV_KIND_GONE,         /* a struct priv_gone with 1..PRIV_GONE_MAX entries */
};

/* The kind of the len bytes at msg (aligned for struct priv_gone). Pure. */
enum priv_kind priv_msg_kind(const void *msg, size_t len);

/* The same prefixes and addresses (field by field: no padding compared). */
bool priv_policy_eq(const struct priv_policy *a, const struct priv_policy *b);


/* The same mapping: key and value, byte for byte. */
bool priv_entry_eq(const struct priv_entry *a, const struct priv_entry *b);

/* The pinhole into a request: a copy, its padding zeroed. */
void priv_pin_from_nft(const struct nft_pin *p, struct nft_pin *ret);
/* *dst = *src with the padding zero, as a message carries it. */
void priv_entry_put(struct priv_entry *dst, const struct priv_entry *src);

#endif
