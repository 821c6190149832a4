/*
 * pcp.c - Port Control Protocol version 2 (RFC 6887) parsing and
 * building: common headers (7.1, 7.2), options (7.3), result codes
 * (7.4), server-side validation (8.3), version negotiation (9), MAP
 * (11.1), the options of section 13 and ANNOUNCE (14.1). Pure: see
 * pcp.h.
 */
#include "proto/pcp.h"

#include "util/be.h"

#include <string.h>

static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool pcp_addr_is_v4(const uint8_t a[16])
{
	return memcmp(a, v4_prefix, sizeof(v4_prefix)) == 0;
}

struct in_addr pcp_addr_v4(const uint8_t a[16])
{
	struct in_addr r;

	memcpy(&r.s_addr, a + 12, 4);
	return r;
}

void pcp_addr_from_v4(uint8_t out[16], struct in_addr a)
{
	memcpy(out, v4_prefix, sizeof(v4_prefix));
	memcpy(out + 12, &a.s_addr, 4);
}

bool pcp_addr_is_any(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0 ||
	       (pcp_addr_is_v4(a) && memcmp(a + 12, zero, 4) == 0);
}

/* The options after the opcode's data (7.3, 13). */
static int parse_options(const uint8_t *p, size_t len, size_t off, struct pcp_request *req)
{
	while (off < len) {
		uint8_t code;
		size_t olen, padded;

		if (len - off < 4)
			return PCP_MALFORMED_OPTION;
		code = p[off];
		olen = be16_get(p + off + 2);
		padded = (olen + 3) & ~(size_t)3;
		off += 4;
		if (padded > len - off)
			return PCP_MALFORMED_OPTION;
		switch (code) {
		case PCP_OPT_THIRD_PARTY:               /* 13.1: MAP, PEER; once */
			if (olen != 16 || req->third_party || req->opcode == PCP_OP_ANNOUNCE)
				return PCP_MALFORMED_OPTION;
			req->third_party = true;
			memcpy(req->third_party_ip, p + off, 16);
			break;
		case PCP_OPT_PREFER_FAILURE:            /* 13.2: MAP only; once */
			if (olen != 0 || req->prefer_failure || req->opcode != PCP_OP_MAP)
				return PCP_MALFORMED_OPTION;
			req->prefer_failure = true;
			break;
		case PCP_OPT_FILTER:                    /* 13.3: MAP only; repeatable */
			if (olen != 20 || req->opcode != PCP_OP_MAP || p[off + 1] > 128)
				return PCP_MALFORMED_OPTION;
			/* An IPv4-mapped peer prefix is at least 96 bits. */
			if (p[off + 1] != 0 && pcp_addr_is_v4(p + off + 4) && p[off + 1] < 96)
				return PCP_MALFORMED_OPTION;
			if (req->nfilters++ == 0) {
				req->filter.prefix_len = p[off + 1];
				req->filter.port = be16_get(p + off + 2);
				memcpy(req->filter.addr, p + off + 4, 16);
			}
			break;
		default:
			/* 7.3: 0..127 mandatory to process, 128..255 optional. */
			if (code < 128 && !req->unsupp_option) {
				req->unsupp_option = code ? code : 0xff;
				return PCP_UNSUPP_OPTION;
			}
			break;
		}
		off += padded;
	}
	return PCP_SUCCESS;
}

int pcp_parse(const uint8_t *p, size_t len, struct pcp_request *req)
{
	size_t oplen;

	memset(req, 0, sizeof(*req));
	if (len < 2 || (p[1] & PCP_R_BIT))
		return PCP_PARSE_DROP;
	req->version = p[0];
	req->opcode = p[1];
	if (p[0] == 0)
		return PCP_PARSE_NATPMP;
	if (p[0] != PCP_VERSION)
		return PCP_UNSUPP_VERSION;
	if (len > PCP_MAX_MSG || len % 4 != 0 || len < PCP_HEADER_LEN)
		return PCP_MALFORMED_REQUEST;
	req->lifetime = be32_get(p + 4);
	memcpy(req->client_ip, p + 8, 16);
	switch (p[1]) {
	case PCP_OP_ANNOUNCE:
		oplen = 0;
		break;
	case PCP_OP_MAP:
		oplen = PCP_MAP_LEN;
		break;
	default:
		return PCP_UNSUPP_OPCODE;       /* PEER (12) is not implemented */
	}
	if (len < PCP_HEADER_LEN + oplen)
		return PCP_MALFORMED_REQUEST;
	if (p[1] == PCP_OP_MAP) {
		const uint8_t *m = p + PCP_HEADER_LEN;

		memcpy(req->nonce, m, PCP_NONCE_LEN);
		req->protocol = m[12];
		req->int_port = be16_get(m + 16);
		req->ext_port = be16_get(m + 18);
		memcpy(req->ext_ip, m + 20, 16);
	}
	{
		int r = parse_options(p, len, PCP_HEADER_LEN + oplen, req);

		if (r != PCP_SUCCESS)
			return r;
	}
	/* 11.1: protocol 0 (all) goes with internal port 0 (all). */
	if (req->opcode == PCP_OP_MAP && req->protocol == 0 && req->int_port != 0)
		return PCP_MALFORMED_REQUEST;
	return PCP_SUCCESS;
}

void pcp_build_header(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t lifetime,
		      uint32_t epoch)
{
	memset(out, 0, PCP_HEADER_LEN);
	out[0] = PCP_VERSION;
	out[1] = (uint8_t)(opcode | PCP_R_BIT);
	out[3] = result;
	be32_put(out + 4, lifetime);
	be32_put(out + 8, epoch);
}

static size_t put_option(uint8_t *out, uint8_t code, const uint8_t *data, uint16_t len)
{
	out[0] = code;
	out[1] = 0;
	be16_put(out + 2, len);
	if (len)
		memcpy(out + 4, data, len);
	return 4 + (((size_t)len + 3) & ~(size_t)3);
}

size_t pcp_build_response(uint8_t *out, const struct pcp_request *req, uint8_t result,
			  uint32_t lifetime, uint32_t epoch, uint16_t ext_port,
			  const uint8_t ext_ip[16])
{
	size_t n = PCP_HEADER_LEN;

	pcp_build_header(out, req->opcode, result, lifetime, epoch);
	if (req->opcode != PCP_OP_MAP)
		return n;
	memset(out + n, 0, PCP_MAP_LEN);
	memcpy(out + n, req->nonce, PCP_NONCE_LEN);
	out[n + 12] = req->protocol;
	be16_put(out + n + 16, req->int_port);
	be16_put(out + n + 18, ext_port);
	memcpy(out + n + 20, ext_ip, 16);
	n += PCP_MAP_LEN;
	if (req->third_party)
		n += put_option(out + n, PCP_OPT_THIRD_PARTY, req->third_party_ip, 16);
	if (req->prefer_failure)
		n += put_option(out + n, PCP_OPT_PREFER_FAILURE, NULL, 0);
	if (req->nfilters) {
		uint8_t f[20];

		f[0] = 0;
		f[1] = req->filter.prefix_len;
		be16_put(f + 2, req->filter.port);
		memcpy(f + 4, req->filter.addr, 16);
		n += put_option(out + n, PCP_OPT_FILTER, f, sizeof(f));
	}
	return n;
}

size_t pcp_build_error(uint8_t *out, const uint8_t *req, size_t req_len, uint8_t result,
		       uint32_t lifetime, uint32_t epoch)
{
	size_t n = req_len > PCP_MAX_MSG ? PCP_MAX_MSG : req_len;
	uint8_t opcode = req_len >= 2 ? (uint8_t)(req[1] & 0x7f) : 0;

	n &= ~(size_t)3;
	if (n < PCP_HEADER_LEN) {
		memset(out, 0, PCP_HEADER_LEN);
		n = PCP_HEADER_LEN;
	} else {
		memcpy(out, req, n);
	}
	pcp_build_header(out, opcode, result, lifetime, epoch);
	return n;
}

size_t pcp_build_announce(uint8_t *out, uint32_t epoch)
{
	pcp_build_header(out, PCP_OP_ANNOUNCE, PCP_SUCCESS, 0, epoch);
	return PCP_HEADER_LEN;
}

bool pcp_result_is_long(uint8_t result)
{
	switch (result) {
	case PCP_NETWORK_FAILURE:
	case PCP_NO_RESOURCES:
	case PCP_USER_EX_QUOTA:
	case PCP_CANNOT_PROVIDE_EXTERNAL:
		return false;
	}
	return true;
}

const char *pcp_result_str(uint8_t result)
{
	static const char *const names[] = {
		"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST",
		"UNSUPP_OPCODE", "UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE",
		"NO_RESOURCES", "UNSUPP_PROTOCOL", "USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL",
		"ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
	};

	return result < sizeof(names) / sizeof(names[0]) ? names[result] : "unknown";
}
