/*
 * natpmp.c - NAT-PMP (RFC 6886) parsing and building: the external
 * address request and response (3.2), the mapping requests and
 * responses (3.3), result codes and the error responses (3.5), the
 * epoch field (3.6). Pure: see natpmp.h.
 */
#include "proto/natpmp.h"

#include "util/be.h"

#include <string.h>

enum natpmp_parse_status natpmp_parse(const uint8_t *p, size_t len, struct natpmp_request *req)
{
	memset(req, 0, sizeof(*req));
	if (len < 2)
		return NATPMP_PARSE_DROP;
	req->opcode = p[1];
	/* 3.5: a message with the top bit set is a response, never answered. */
	if (p[1] & NATPMP_OP_RESPONSE)
		return NATPMP_PARSE_DROP;
	if (p[0] != NATPMP_VERSION)
		return NATPMP_PARSE_BAD_VERSION;
	switch (p[1]) {
	case NATPMP_OP_EXTERNAL:
		return len == NATPMP_REQ_EXTERNAL_LEN ? NATPMP_PARSE_OK : NATPMP_PARSE_DROP;
	case NATPMP_OP_MAP_UDP:
	case NATPMP_OP_MAP_TCP:
		if (len != NATPMP_REQ_MAP_LEN)
			return NATPMP_PARSE_DROP;
		/* Bytes 2-3 are reserved: sent as 0, ignored on receipt. */
		req->int_port = be16_get(p + 4);
		req->ext_port = be16_get(p + 6);
		req->lifetime = be32_get(p + 8);
		return NATPMP_PARSE_OK;
	default:
		return NATPMP_PARSE_BAD_OPCODE;
	}
}

static void header(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t epoch)
{
	out[0] = NATPMP_VERSION;
	out[1] = (uint8_t)(opcode | NATPMP_OP_RESPONSE);
	be16_put(out + 2, result);
	be32_put(out + 4, epoch);
}

size_t natpmp_build_external(uint8_t *out, uint8_t result, uint32_t epoch, struct in_addr ext)
{
	header(out, NATPMP_OP_EXTERNAL, result, epoch);
	memcpy(out + 8, &ext.s_addr, 4);        /* already in network order */
	return NATPMP_RESP_EXTERNAL_LEN;
}

size_t natpmp_build_map(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t epoch,
			uint16_t int_port, uint16_t ext_port, uint32_t lifetime)
{
	header(out, opcode, result, epoch);
	be16_put(out + 8, int_port);
	be16_put(out + 10, ext_port);
	be32_put(out + 12, lifetime);
	return NATPMP_RESP_MAP_LEN;
}

size_t natpmp_build_error(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t epoch)
{
	header(out, (uint8_t)(opcode & 0x7f), result, epoch);
	return NATPMP_RESP_ERROR_LEN;
}

const char *natpmp_result_str(uint8_t result)
{
	switch (result) {
	case NATPMP_SUCCESS: return "success";
	case NATPMP_UNSUPP_VERSION: return "unsupported version";
	case NATPMP_NOT_AUTHORIZED: return "not authorized";
	case NATPMP_NETWORK_FAILURE: return "network failure";
	case NATPMP_OUT_OF_RESOURCES: return "out of resources";
	case NATPMP_UNSUPP_OPCODE: return "unsupported opcode";
	}
	return "unknown";
}
