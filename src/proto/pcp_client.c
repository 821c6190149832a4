/*
 * pcp_client.c - PCP (RFC 6887) and NAT-PMP (RFC 6886) client messages
 * (pcp_client.h).
 */
#include "proto/pcp_client.h"

#include "util/be.h"

#include <errno.h>
#include <string.h>

/* 7.1: version, opcode (R clear), reserved, lifetime, client address. */
static void request_header(uint8_t *out, uint8_t opcode, uint32_t lifetime, struct in_addr client)
{
	memset(out, 0, PCP_HEADER_LEN);
	out[0] = PCP_VERSION;
	out[1] = opcode & 0x7f;
	be32_put(out + 4, lifetime);
	pcp_addr_from_v4(out + 8, client);
}

size_t pcpc_build_map(uint8_t *out, struct in_addr client, uint32_t lifetime,
		      const uint8_t nonce[PCP_NONCE_LEN], uint8_t protocol, uint16_t int_port,
		      uint16_t ext_port, bool prefer_failure)
{
	uint8_t *m = out + PCP_HEADER_LEN;
	struct in_addr any = { 0 };

	request_header(out, PCP_OP_MAP, lifetime, client);
	memset(m, 0, PCP_MAP_LEN);
	memcpy(m, nonce, PCP_NONCE_LEN);
	m[12] = protocol;
	be16_put(m + 16, int_port);
	be16_put(m + 18, ext_port);
	/* 11.1: no preference for the address: the all-zeros IPv4 address */
	pcp_addr_from_v4(m + 20, any);
	if (!prefer_failure)
		return PCPC_MAP_REQ_LEN;
	/* 13.2: PREFER_FAILURE, no data */
	out[PCPC_MAP_REQ_LEN] = PCP_OPT_PREFER_FAILURE;
	out[PCPC_MAP_REQ_LEN + 1] = 0;
	be16_put(out + PCPC_MAP_REQ_LEN + 2, 0);
	return PCPC_MAP_REQ_MAX;
}

size_t pcpc_build_announce(uint8_t *out, struct in_addr client)
{
	request_header(out, PCP_OP_ANNOUNCE, 0, client);
	return PCP_HEADER_LEN;
}

int pcpc_parse(const uint8_t *p, size_t len, struct pcpc_response *ret)
{
	struct pcpc_response r;
	const uint8_t *m;

	memset(&r, 0, sizeof(r));
	if (len >= 8 && p[0] == 0 && (p[1] & 0x80)) {
		r.natpmp_only = true;
		r.opcode = p[1] & 0x7f;
		r.result = (uint8_t)(be16_get(p + 2) > 255 ? 255 : be16_get(p + 2));
		*ret = r;
		return 0;
	}
	if (len < PCP_HEADER_LEN || len > PCP_MAX_MSG || (len & 3) || p[0] != PCP_VERSION ||
	    !(p[1] & PCP_R_BIT))
		return -EINVAL;
	r.opcode = p[1] & 0x7f;
	r.result = p[3];
	r.lifetime = be32_get(p + 4);
	r.epoch = be32_get(p + 8);
	if (r.opcode == PCP_OP_ANNOUNCE) {
		*ret = r;
		return 0;
	}
	if (r.opcode != PCP_OP_MAP || len < PCPC_MAP_REQ_LEN)
		return -EINVAL;
	m = p + PCP_HEADER_LEN;
	memcpy(r.nonce, m, PCP_NONCE_LEN);
	r.protocol = m[12];
	r.int_port = be16_get(m + 16);
	r.ext_port = be16_get(m + 18);
	r.ext_is_v4 = pcp_addr_is_v4(m + 20);
	if (r.ext_is_v4)
		r.ext_addr = pcp_addr_v4(m + 20);
	*ret = r;
	return 0;
}

bool pcp_epoch_valid(bool have_prev, uint32_t prev_server, uint64_t prev_client,
		     uint32_t cur_server, uint64_t cur_client)
{
	int64_t client_delta, server_delta;

	if (!have_prev)
		return true;
	/* "by more than one second" behind the previous: lost state */
	if ((int64_t)cur_server < (int64_t)prev_server - 1)
		return false;
	client_delta = (int64_t)(cur_client - prev_client);
	server_delta = (int64_t)cur_server - (int64_t)prev_server;
	if (client_delta + 2 < server_delta - server_delta / 16 ||
	    server_delta + 2 < client_delta - client_delta / 16)
		return false;
	return true;
}

uint64_t pcp_renew_delay(uint32_t lifetime, unsigned n, double r, uint64_t prev_ms)
{
	double lo, hi, at;
	uint64_t ms;

	if (n > 30)
		n = 30;
	lo = 1.0 - 1.0 / (double)(2ull << n);           /* 1/2, 3/4, 7/8 ... */
	hi = lo + 1.0 / (double)(8ull << n);            /* 5/8, 7/8, 15/16 ... */
	if (r < 0.0 || r >= 1.0)
		r = 0.0;
	at = ((lo + (hi - lo) * r) * (double)lifetime) * 1000.0;
	ms = (uint64_t)at;
	if (prev_ms && ms < prev_ms + 4000)
		ms = prev_ms + 4000;
	return ms;
}

/* ---- NAT-PMP ---- */

size_t natpmpc_build_external(uint8_t *out)
{
	out[0] = 0;
	out[1] = 0;
	return 2;
}

size_t natpmpc_build_map(uint8_t *out, uint8_t protocol, uint16_t int_port, uint16_t ext_port,
			 uint32_t lifetime)
{
	out[0] = 0;
	out[1] = protocol == 6 ? 2 : 1;
	out[2] = out[3] = 0;
	be16_put(out + 4, int_port);
	be16_put(out + 6, ext_port);
	be32_put(out + 8, lifetime);
	return 12;
}

int natpmpc_parse(const uint8_t *p, size_t len, struct natpmpc_response *ret)
{
	struct natpmpc_response r;

	if (len < 8 || p[0] != 0 || !(p[1] & 0x80) || (p[1] & 0x7f) > 2)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.opcode = p[1] & 0x7f;
	r.result = be16_get(p + 2);
	r.epoch = be32_get(p + 4);
	if (r.result == 0) {
		if (r.opcode == 0) {
			if (len < 12)
				return -EINVAL;
			memcpy(&r.ext_addr.s_addr, p + 8, 4);
		} else {
			if (len < 16)
				return -EINVAL;
			r.int_port = be16_get(p + 8);
			r.ext_port = be16_get(p + 10);
			r.lifetime = be32_get(p + 12);
		}
	} else if (r.opcode != 0 && len >= 12) {
		r.int_port = be16_get(p + 8);      /* 3.5: errors carry the internal port */
	}
	*ret = r;
	return 0;
}

bool natpmp_epoch_valid(bool have_prev, uint32_t prev_server, uint64_t prev_client_ms,
			uint32_t cur_server, uint64_t cur_client_ms)
{
	uint64_t elapsed_ms, expect;

	if (!have_prev)
		return true;
	elapsed_ms = cur_client_ms >= prev_client_ms ? cur_client_ms - prev_client_ms : 0;
	expect = (uint64_t)prev_server + (elapsed_ms * 7 / 8) / 1000;
	return (uint64_t)cur_server + 2 >= expect;
}

const char *upstream_mode_name(enum upstream_mode m)
{
	switch (m) {
	case UPSTREAM_PROBING:
		return "probing";
	case UPSTREAM_PCP:
		return "pcp";
	case UPSTREAM_NATPMP:
		return "natpmp";
	case UPSTREAM_NONE:
		return "none";
	case UPSTREAM_UPNP:
		return "upnp";
	default:
		return "off";
	}
}
