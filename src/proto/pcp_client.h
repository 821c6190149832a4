/*
 * pcp_client.h - the client side of PCP (RFC 6887) and NAT-PMP
 * (RFC 6886): the requests a gateway behind another NAT sends to the
 * upstream's server, and the parsing of what comes back. Pure: no I/O,
 * no allocation, no clock (times are passed in).
 *
 * RFC 6887: 7.1 (request header), 7.2 (response header: result,
 * lifetime, epoch), 7.3 / 13.2 (the PREFER_FAILURE option), 8.3 (a
 * client accepts a response only with the R bit, its opcode, a length
 * that is a multiple of 4 and at most 1100), 8.5 (the epoch check:
 * pcp_epoch_valid()), 11.1 (MAP request and response data), 11.2.1
 * (renewal: pcp_renew_delay()), 14.1 (ANNOUNCE). A version-0 answer to a
 * PCP request is a NAT-PMP-only server (RFC 6887 9, RFC 6886 3.5).
 * RFC 6886: 3.2 (external address request and response), 3.3 / 3.4
 * (map and delete), 3.5 (result codes), 3.6 (the epoch check:
 * natpmp_epoch_valid()).
 *
 * Addresses are IPv4 (the PCP wire form is IPv4-mapped IPv6).
 */
#ifndef IGDD_PROTO_PCP_CLIENT_H
#define IGDD_PROTO_PCP_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/pcp.h"

#define PCPC_MAP_REQ_LEN        (PCP_HEADER_LEN + PCP_MAP_LEN)          /* 60 */
#define PCPC_MAP_REQ_MAX        (PCPC_MAP_REQ_LEN + 4)                  /* with PREFER_FAILURE */

/* A MAP request (11.1): from client (the WAN address, which must be the
 * packet's source), for protocol (6 TCP, 17 UDP) and int_port, suggesting
 * ext_port (0: any) and no external address; lifetime 0 deletes.
 * prefer_failure adds PREFER_FAILURE (13.2): fail rather than another
 * port. out: PCPC_MAP_REQ_MAX bytes. Returns the length. */
size_t pcpc_build_map(uint8_t *out, struct in_addr client, uint32_t lifetime,
		      const uint8_t nonce[PCP_NONCE_LEN], uint8_t protocol, uint16_t int_port,
		      uint16_t ext_port, bool prefer_failure);

/* An ANNOUNCE request (14.1): the header only, lifetime 0. out: 24 bytes. */
size_t pcpc_build_announce(uint8_t *out, struct in_addr client);

struct pcpc_response {
	bool natpmp_only;               /* version 0: the server speaks NAT-PMP only */
	uint8_t opcode;                 /* without the R bit */
	uint8_t result;                 /* enum pcp_result */
	uint32_t lifetime;              /* granted, or how long an error holds (7.2) */
	uint32_t epoch;
	/* MAP (11.1): what the server assigned */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t int_port;
	uint16_t ext_port;
	bool ext_is_v4;
	struct in_addr ext_addr;
};

/*
 * Parse a datagram from the server as a response (8.3): 0 and *ret, or
 * -EINVAL to drop it (shorter than a header, no R bit, a version other
 * than 0 and 2, longer than 1100 or not a multiple of 4, MAP shorter than
 * its data, an opcode other than ANNOUNCE and MAP). A version-0 datagram
 * of at least 8 bytes is returned with natpmp_only set and nothing else.
 */
int pcpc_parse(const uint8_t *p, size_t len, struct pcpc_response *ret);

/*
 * RFC 6887 8.5: is the epoch of a response consistent with the previous
 * one? prev_* are the server's epoch and the client's clock (seconds) at
 * the previous response; have_prev false for the first. False means the
 * server lost its state: re-create every mapping.
 */
bool pcp_epoch_valid(bool have_prev, uint32_t prev_server, uint64_t prev_client,
		     uint32_t cur_server, uint64_t cur_client);

/*
 * RFC 6887 11.2.1: when to send renewal attempt n (0 = the first) of a
 * mapping granted for lifetime seconds, in ms after the grant: a point
 * in [1/2, 5/8] of the lifetime for n = 0, then [3/4, 3/4 + 1/16],
 * [7/8, 7/8 + 1/32] ...: from 1 - 2^-(n+1), 2^-(n+3) wide; r in [0, 1)
 * picks the point. Never less than 4 s after the previous attempt
 * (prev_ms, in ms after the grant; 0 for the first).
 */
uint64_t pcp_renew_delay(uint32_t lifetime, unsigned n, double r, uint64_t prev_ms);

/* ---- NAT-PMP (RFC 6886) ---- */

/* 3.2: the external address request (2 bytes). */
size_t natpmpc_build_external(uint8_t *out);
/* 3.3 / 3.4: a map request (12 bytes); protocol 6 or 17; lifetime 0 deletes. */
size_t natpmpc_build_map(uint8_t *out, uint8_t protocol, uint16_t int_port, uint16_t ext_port,
			 uint32_t lifetime);

struct natpmpc_response {
	uint8_t opcode;                 /* without the 128 */
	uint16_t result;
	uint32_t epoch;                 /* seconds since start of epoch */
	struct in_addr ext_addr;        /* opcode 0 with success */
	uint16_t int_port, ext_port;    /* opcodes 1, 2 */
	uint32_t lifetime;
};

/* A NAT-PMP response (3.2, 3.3, 3.5): 0 and *ret, -EINVAL to drop
 * (version not 0, not a response, an opcode above 2, too short for what
 * its result says). Error answers are 8 bytes or more. */
int natpmpc_parse(const uint8_t *p, size_t len, struct natpmpc_response *ret);

/* RFC 6886 3.6: the gateway lost its state when its new epoch is more
 * than 2 s below the previous one plus 7/8 of the client time elapsed. */
bool natpmp_epoch_valid(bool have_prev, uint32_t prev_server, uint64_t prev_client_ms,
			uint32_t cur_server, uint64_t cur_client_ms);

/* What the upstream client (net/upstream_io.c) knows, for the status and
 * for the external address every protocol reports (engine_external_ip()). */
enum upstream_mode {
	UPSTREAM_OFF = 0,               /* upstream_pcp = no, or the WAN address is public */
	UPSTREAM_PROBING,               /* asking the WAN gateway */
	UPSTREAM_PCP,
	UPSTREAM_NATPMP,
	UPSTREAM_NONE,                  /* nobody answers on port 5351 nor SSDP: no mirroring */
	UPSTREAM_UPNP,                  /* a UPnP IGD on the WAN segment (net/upstream_upnp.c) */
};

struct upstream_status {
	enum upstream_mode mode;
	struct in_addr server;          /* the WAN default gateway */
	bool have_ext;                  /* the address the upstream maps to */
	struct in_addr ext;
	unsigned mirrored;              /* mappings the upstream granted and holds */
	unsigned other_port;            /* ... of them on another port than asked */
	unsigned pending;               /* waiting to be asked or retried */
	unsigned requests;              /* sent since start (retransmissions too) */
	unsigned epoch_resets;          /* times the upstream lost its state */
};

const char *upstream_mode_name(enum upstream_mode m);

#endif
