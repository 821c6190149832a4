/*
 * natpmp.h - NAT-PMP (RFC 6886) messages, parsed and built purely: no
 * I/O, no allocation, no clock (the caller passes the epoch seconds).
 *
 * Requests (section 3): version 0, then opcode 0 (external address, 2
 * bytes, 3.2), 1 (map UDP) or 2 (map TCP) (12 bytes, 3.3). Responses
 * set the opcode's top bit and carry a result code (3.5) and the
 * seconds since the start of epoch (3.6).
 */
#ifndef IGDD_PROTO_NATPMP_H
#define IGDD_PROTO_NATPMP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define NATPMP_PORT             5351    /* the server's port (3.1) */
#define NATPMP_CLIENT_PORT      5350    /* announcements go here (3.2.1) */
#define NATPMP_VERSION          0

#define NATPMP_OP_EXTERNAL      0
#define NATPMP_OP_MAP_UDP       1
#define NATPMP_OP_MAP_TCP       2
#define NATPMP_OP_RESPONSE      128

#define NATPMP_REQ_EXTERNAL_LEN 2
#define NATPMP_REQ_MAP_LEN      12
#define NATPMP_RESP_EXTERNAL_LEN 12
#define NATPMP_RESP_MAP_LEN     16
#define NATPMP_RESP_ERROR_LEN   8       /* version, opcode, result, epoch */
#define NATPMP_RESP_MAX         16

/* Result codes (3.5). */
enum natpmp_result {
	NATPMP_SUCCESS = 0,
	NATPMP_UNSUPP_VERSION = 1,
	NATPMP_NOT_AUTHORIZED = 2,      /* "Not Authorized/Refused" */
	NATPMP_NETWORK_FAILURE = 3,     /* e.g. no external address */
	NATPMP_OUT_OF_RESOURCES = 4,
	NATPMP_UNSUPP_OPCODE = 5,
};

enum natpmp_parse_status {
	NATPMP_PARSE_OK,
	NATPMP_PARSE_DROP,              /* too short, a response, wrong length: no answer */
	NATPMP_PARSE_BAD_VERSION,       /* answer NATPMP_UNSUPP_VERSION */
	NATPMP_PARSE_BAD_OPCODE,        /* answer NATPMP_UNSUPP_OPCODE */
};

struct natpmp_request {
	uint8_t opcode;                 /* as received (0..127) */
	uint16_t int_port;              /* map requests only */
	uint16_t ext_port;              /* suggested external port */
	uint32_t lifetime;              /* requested, seconds; 0 = delete */
};

/*
 * Parse one datagram. Lengths are exact: 2 bytes for opcode 0, 12 for
 * opcodes 1 and 2 (anything else is dropped: NAT-PMP has no "malformed"
 * code). For BAD_VERSION and BAD_OPCODE, req->opcode is set for the
 * answer.
 */
enum natpmp_parse_status natpmp_parse(const uint8_t *p, size_t len, struct natpmp_request *req);

/* The responses; each returns the length written into out
 * (NATPMP_RESP_MAX bytes of room). */
size_t natpmp_build_external(uint8_t *out, uint8_t result, uint32_t epoch, struct in_addr ext);
size_t natpmp_build_map(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t epoch,
			uint16_t int_port, uint16_t ext_port, uint32_t lifetime);
/* An error without body (unsupported version or opcode, 3.5). */
size_t natpmp_build_error(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t epoch);

const char *natpmp_result_str(uint8_t result);

#endif
