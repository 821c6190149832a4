/*
 * pcp.h - Port Control Protocol version 2 (RFC 6887) messages, parsed
 * and built purely: no I/O, no allocation, no clock.
 *
 * Supported: the common request/response headers (7.1, 7.2), options
 * (7.3), the ANNOUNCE (14.1) and MAP (11.1) opcodes, the options
 * THIRD_PARTY (13.1), PREFER_FAILURE (13.2) and FILTER (13.3). PEER
 * (12) is recognised and answered UNSUPP_OPCODE. Addresses are 16 bytes
 * as on the wire; igdd serves IPv4 only, carried as IPv4-mapped IPv6
 * addresses (5).
 */
#ifndef IGDD_PROTO_PCP_H
#define IGDD_PROTO_PCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCP_PORT                5351    /* the server's port (19.1) */
#define PCP_CLIENT_PORT         5350    /* ANNOUNCE multicast goes here (14.1.1) */
#define PCP_VERSION             2
#define PCP_MAX_MSG             1100    /* 7: no message is longer */
#define PCP_HEADER_LEN          24      /* 7.1, 7.2 */
#define PCP_MAP_LEN             36      /* 11.1 */
#define PCP_PEER_LEN            56      /* 12.1 */
#define PCP_NONCE_LEN           12
#define PCP_R_BIT               0x80

enum pcp_opcode { PCP_OP_ANNOUNCE = 0, PCP_OP_MAP = 1, PCP_OP_PEER = 2 };

enum pcp_option_code {
	PCP_OPT_THIRD_PARTY = 1,
	PCP_OPT_PREFER_FAILURE = 2,
	PCP_OPT_FILTER = 3,
};

/* Result codes (7.4). */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* What pcp_parse() makes of a datagram, besides a result code. */
#define PCP_PARSE_DROP          (-1)    /* < 2 bytes or R bit set: never answered (8.3) */
#define PCP_PARSE_NATPMP        (-2)    /* version 0: a NAT-PMP request (9, RFC 6886) */

struct pcp_filter {
	uint8_t prefix_len;             /* 0..128 */
	uint16_t port;                  /* 0 = all ports */
	uint8_t addr[16];
};

struct pcp_request {
	uint8_t version;
	uint8_t opcode;
	uint32_t lifetime;
	uint8_t client_ip[16];
	/* MAP (11.1) */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;               /* IANA number: 0 all, 6 TCP, 17 UDP */
	uint16_t int_port;
	uint16_t ext_port;              /* suggested */
	uint8_t ext_ip[16];             /* suggested */
	/* options (13) */
	bool third_party;
	uint8_t third_party_ip[16];
	bool prefer_failure;
	unsigned nfilters;
	struct pcp_filter filter;       /* the first FILTER */
	uint8_t unsupp_option;          /* a mandatory option we do not know */
};

/*
 * Parse one datagram (len bytes, however long). Returns PCP_SUCCESS with
 * *req filled, a result code to answer with (pcp_build_error()), or
 * PCP_PARSE_DROP / PCP_PARSE_NATPMP. The checks, in order (8.3): length
 * < 2 or R set: drop; version 0: NAT-PMP; version other than 2:
 * UNSUPP_VERSION; length > 1100, not a multiple of 4 or shorter than the
 * header and the opcode's data: MALFORMED_REQUEST; an opcode other than
 * ANNOUNCE and MAP: UNSUPP_OPCODE; options: MALFORMED_OPTION (bad
 * length, repeated, not valid with the opcode), UNSUPP_OPTION (unknown,
 * mandatory to process, 0..127); MAP with protocol 0 and an internal
 * port: MALFORMED_REQUEST (11.1).
 */
int pcp_parse(const uint8_t *p, size_t len, struct pcp_request *req);

/* The common response header (7.2) into out[0..24). */
void pcp_build_header(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t lifetime,
		      uint32_t epoch);

/*
 * A success (or error) response to a parsed request: header, the
 * opcode's data (MAP: nonce, protocol, internal port, the assigned
 * external port and address), then the options processed (THIRD_PARTY,
 * PREFER_FAILURE, the first FILTER), into out (PCP_MAX_MSG bytes).
 * Returns the length.
 */
size_t pcp_build_response(uint8_t *out, const struct pcp_request *req, uint8_t result,
			  uint32_t lifetime, uint32_t epoch, uint16_t ext_port,
			  const uint8_t ext_ip[16]);

/*
 * An error response to a request that may not have parsed (7.2, 8.3):
 * the request copied (at most 1100 bytes, cut to a multiple of 4, at
 * least the 24 bytes of the header), the R bit set, the version set to 2,
 * the result, lifetime and epoch written, the header's reserved fields
 * zeroed. Returns the length written into out (PCP_MAX_MSG bytes).
 */
size_t pcp_build_error(uint8_t *out, const uint8_t *req, size_t req_len, uint8_t result,
		       uint32_t lifetime, uint32_t epoch);

/* An unsolicited ANNOUNCE response (14.1.1): SUCCESS, lifetime 0. */
size_t pcp_build_announce(uint8_t *out, uint32_t epoch);

/* Long lifetime errors (7.4) are valid for longer than short ones. */
bool pcp_result_is_long(uint8_t result);
const char *pcp_result_str(uint8_t result);

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) to and from an IPv4 address. */
bool pcp_addr_is_v4(const uint8_t a[16]);
struct in_addr pcp_addr_v4(const uint8_t a[16]);
void pcp_addr_from_v4(uint8_t out[16], struct in_addr a);
/* :: or ::ffff:0.0.0.0 (the wildcard, 11.1). */
bool pcp_addr_is_any(const uint8_t a[16]);

#endif
