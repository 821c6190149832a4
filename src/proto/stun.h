/*
 * stun.h - STUN (RFC 8489) Binding messages for a client, built and
 * parsed purely: no I/O, no allocation, no clock. With the RFC 5780
 * attributes a client needs to learn how the NAT in front of it behaves.
 *
 * RFC 8489: 5 (message structure: header, magic cookie, transaction
 * ID), 6.1 (a Binding request needs no attribute), 6.2.1 (the
 * retransmission schedule: stun_retransmit_delay()), 6.3 (what a client
 * accepts), 6.3.3 (success: XOR-MAPPED-ADDRESS, MAPPED-ADDRESS from
 * RFC 3489 servers as a fallback, an unknown comprehension-required
 * attribute fails the transaction), 6.3.4 (error responses), 14 (the
 * attributes: 14.1 MAPPED-ADDRESS, 14.2 XOR-MAPPED-ADDRESS, 14.8
 * ERROR-CODE). RFC 5780: 7.2 CHANGE-REQUEST, 7.3 RESPONSE-ORIGIN, 7.4
 * OTHER-ADDRESS (and the RFC 3489 code points 0x0004 SOURCE-ADDRESS and
 * 0x0005 CHANGED-ADDRESS that older servers send instead), 4.3 and 4.4
 * (the mapping and filtering tests: stun_mapping_verdict()).
 *
 * IPv4 only: an IPv6 address attribute is well-formed input but ignored.
 */
#ifndef IGDD_PROTO_STUN_H
#define IGDD_PROTO_STUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_PORT               3478    /* RFC 8489 18.5 */
#define STUN_HEADER_LEN         20
#define STUN_MAGIC_COOKIE       0x2112A442u
#define STUN_TXID_LEN           12
#define STUN_MAX_MSG            548     /* what igdd reads: 6.2.1's UDP path MTU floor (576 - 28) */

#define STUN_BINDING_REQUEST    0x0001
#define STUN_BINDING_SUCCESS    0x0101
#define STUN_BINDING_ERROR      0x0111

/* RFC 5780 7.2 CHANGE-REQUEST flags */
#define STUN_CHANGE_IP          0x4
#define STUN_CHANGE_PORT        0x2

enum stun_attr_type {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_CHANGE_REQUEST = 0x0003,
	STUN_ATTR_SOURCE_ADDRESS = 0x0004,      /* RFC 3489 */
	STUN_ATTR_CHANGED_ADDRESS = 0x0005,     /* RFC 3489 */
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_RESPONSE_ORIGIN = 0x802B,
	STUN_ATTR_OTHER_ADDRESS = 0x802C,
};

/* An IPv4 transport address, host byte order port. */
struct stun_addr {
	struct in_addr addr;
	uint16_t port;
};

struct stun_response {
	bool success;                   /* 0x0101; false: error response 0x0111 */
	uint8_t txid[STUN_TXID_LEN];
	bool have_mapped;               /* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (IPv4) */
	bool mapped_from_xor;
	struct stun_addr mapped;
	bool have_other;                /* OTHER-ADDRESS, else CHANGED-ADDRESS */
	struct stun_addr other;
	bool have_origin;               /* RESPONSE-ORIGIN, else SOURCE-ADDRESS */
	struct stun_addr origin;
	unsigned error_code;            /* error responses: 300..699 from ERROR-CODE, 1 when
	                                 * it is missing or out of range; 0 on success */
	uint16_t unknown_required;      /* success: a comprehension-required type
	                                 * igdd does not know (0: none) */
};

/*
 * A Binding request (6.1) into buf (at least STUN_HEADER_LEN + 8 bytes):
 * no attribute, or a CHANGE-REQUEST when change (STUN_CHANGE_*) is not 0.
 * Its length, or -ENOSPC.
 */
int stun_build_binding(uint8_t *buf, size_t size, const uint8_t txid[STUN_TXID_LEN],
		       unsigned change);

/*
 * Parse a datagram as a Binding response (6.3): 0 and *ret, or -EINVAL
 * when it is not one (to be dropped silently: not a STUN message, not
 * Binding, a request or an indication, a length or attribute framing
 * error). A success without a usable mapped address is still returned
 * (have_mapped false): the caller decides. The transaction ID is not
 * checked here.
 */
int stun_parse_response(const uint8_t *buf, size_t len, struct stun_response *ret);

/*
 * RFC 8489 6.2.1 schedule: after the n-th request sent (n >= 1), how long
 * to wait before the next send, with initial rto_ms; 0 when n == rc (the
 * last one was sent): then wait stun_final_wait(). RTO doubles after each
 * retransmission.
 */
uint64_t stun_retransmit_delay(unsigned n, unsigned rc, uint64_t rto_ms);
/* After the last request: Rm times the initial RTO (6.2.1). */
static inline uint64_t stun_final_wait(unsigned rm, uint64_t rto_ms)
{
	return (uint64_t)rm * rto_ms;
}

/* RFC 5780 4.3 mapping behaviour, 4.4 filtering behaviour. */
enum stun_behaviour {
	STUN_UNKNOWN = 0,               /* not tested (no OTHER-ADDRESS, no answer) */
	STUN_NO_NAT,                    /* mapped == local: no NAT in between */
	STUN_ENDPOINT_INDEPENDENT,
	STUN_ADDRESS_DEPENDENT,
	STUN_ADDRESS_PORT_DEPENDENT,
};

const char *stun_behaviour_name(enum stun_behaviour b);

/*
 * 4.3: the mapping behaviour from the mapped addresses of Test I (to the
 * primary address), Test II (alternate IP, primary port) and, when
 * Test II differs from Test I, Test III (alternate IP and port; NULL
 * when not run). local is the socket's own address.
 */
enum stun_behaviour stun_mapping_verdict(const struct stun_addr *local,
					 const struct stun_addr *t1,
					 const struct stun_addr *t2,
					 const struct stun_addr *t3);

/* What the STUN client learnt (net/stun_io.c), for the status. */
enum stun_state {
	STUN_STATE_OFF = 0,             /* no stun_server configured */
	STUN_STATE_WAITING,             /* no WAN address to query from */
	STUN_STATE_QUERYING,            /* a run in progress (results of the last one kept) */
	STUN_STATE_OK,                  /* the last run learnt the mapped address */
	STUN_STATE_FAILED,              /* no server answered the last run */
};

struct stun_status {
	enum stun_state state;
	bool have_result;               /* the fields below hold the last good run */
	struct stun_addr server;        /* the server that answered */
	struct stun_addr local;         /* igdd's socket (the WAN address) */
	struct stun_addr mapped;        /* what the internet sees */
	bool port_preserved;            /* mapped.port == local.port (one sample) */
	enum stun_behaviour mapping;    /* RFC 5780 4.3 */
	enum stun_behaviour filtering;  /* RFC 5780 4.4 */
	unsigned runs, failed_runs;     /* since start */
};

const char *stun_state_name(enum stun_state s);

static inline bool stun_addr_equal(const struct stun_addr *a, const struct stun_addr *b)
{
	return a->addr.s_addr == b->addr.s_addr && a->port == b->port;
}

#endif
