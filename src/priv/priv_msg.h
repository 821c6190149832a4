/*
 * priv_msg.h - the messages between the engine and the privileged
 * helper (docs/ARCHITECTURE.md rule 3), over a SOCK_SEQPACKET
 * socketpair: one request, one reply, each of one fixed size.
 *
 * A request carries only numbers: an operation, a sequence number and up
 * to PRIV_BATCH_MAX mappings (protocol, ports, addresses). The helper
 * accepts a request only when it has exactly sizeof(struct priv_req)
 * bytes and passes priv_msg_check(): the helper's own copy of the static
 * policy, so a compromised engine can ask for no more than a correct one
 * could. The reply echoes the sequence number, so a late reply to a
 * request the engine gave up on is recognised and dropped.
 *
 * PRIV_OP_WAN_UP / PRIV_OP_WAN_DOWN carry no data at all: the helper runs
 * the command of its own copy of the configuration (wan_up_command,
 * wan_down_command), never anything from the message. The reply says
 * whether the command started; when it ends the helper sends one more
 * message, unasked: an event (PRIV_EVENT_WAN_DONE) with the starting
 * request's sequence number and the outcome.
 */
#ifndef IGDD_PRIV_MSG_H
#define IGDD_PRIV_MSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

struct nft_elem;

#define PRIV_MSG_VERSION 1
#define PRIV_BATCH_MAX 256      /* mappings in one request: one nft transaction */

enum priv_op {
	PRIV_OP_APPLY = 1,      /* add or replace count mappings */
	PRIV_OP_REMOVE = 2,     /* remove count mappings (by key; unknown keys are no error) */
	PRIV_OP_FLUSH = 3,      /* remove every mapping (count 0) */
	PRIV_OP_WAN_UP = 4,     /* run wan_up_command (count 0) */
	PRIV_OP_WAN_DOWN = 5,   /* run wan_down_command (count 0) */
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
};

#define PRIV_WAN_CMD_TIMEOUT_MS 60000   /* a WAN command is killed after this */

/* One mapping. Addresses in network byte order, ports in host order. */
struct priv_entry {
	uint32_t remote_host;   /* 0 = any remote host */
	uint32_t internal;
	uint16_t ext_port;
	uint16_t int_port;
	uint8_t proto;          /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t pad[3];         /* zero */
};

/* One IPv6 pinhole (backend/nft_pin.h). Ports in host order. */
struct priv_pin {
	struct in6_addr remote;         /* :: = any remote host */
	struct in6_addr internal;
	uint16_t remote_port;           /* 0 = any */
	uint16_t int_port;
	uint8_t proto;                  /* 6, 17 or 136 */
	uint8_t pad[3];                 /* zero */
};

struct priv_req {
	uint32_t version;       /* PRIV_MSG_VERSION */
	uint32_t seq;
	uint16_t op;            /* enum priv_op */
	uint16_t count;         /* entries used in e[] */
	uint32_t pad;           /* zero */
	struct priv_entry e[PRIV_BATCH_MAX];
	struct priv_pin pin;    /* PRIV_OP_PIN_*: the pinhole */
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

/* One LAN's IPv4 prefix. */
struct priv_lan_net {
	struct in_addr net;             /* masked */
	unsigned plen;                  /* 1..32 */
};

/* What the helper enforces whatever the engine asks: internal addresses
 * must be hosts of one of these prefixes (each lan_interface's, read from
 * the kernel by the helper itself). */
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

/*
 * Check a request as received (len bytes at msg). 0, or -EINVAL with
 * *ret_why (optional) set to a static text naming the first problem.
 */
int priv_msg_check(const void *msg, size_t len, const struct priv_policy *pol,
		   const char **ret_why);

/* The same prefixes and addresses (field by field: no padding compared). */
bool priv_policy_eq(const struct priv_policy *a, const struct priv_policy *b);

/* A unicast address a remote host may have: not 0/8, 127/8, 224/4 or 240/4. */
bool priv_remote_ok(struct in_addr a);

void priv_entry_to_elem(const struct priv_entry *pe, struct nft_elem *ret);
struct nft_pin;
void priv_pin_to_nft(const struct priv_pin *pp, struct nft_pin *ret);
void priv_pin_from_nft(const struct nft_pin *p, struct priv_pin *ret);
void priv_entry_from_elem(const struct nft_elem *e, struct priv_entry *ret);

#endif
