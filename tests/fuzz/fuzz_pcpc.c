/*
 * fuzz_pcpc.c - libFuzzer target for proto/pcp_client.c: a datagram from
 * the upstream gateway's port 5351 parsed as a PCP response (RFC 6887
 * 8.3) and as a NAT-PMP response (RFC 6886 3.2 - 3.5), the two answers a
 * gateway behind another NAT reads. The input is the datagram.
 *
 * Checks: a PCP response parsed has version 2, the R bit, a length of
 * 24..1100 that is a multiple of 4 (60 or more for MAP), or is a version-0
 * datagram flagged natpmp_only; the parsed fields are the bytes at their
 * offsets; a NAT-PMP response is version 0 with the response bit and an
 * opcode of at most 2, and long enough for what a success carries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pcp_client.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcpc_response r;
	struct natpmpc_response n;

	if (pcpc_parse(data, size, &r) == 0) {
		if (r.natpmp_only) {
			CHECK(size >= 8 && data[0] == 0 && (data[1] & 0x80));
		} else {
			CHECK(size >= PCP_HEADER_LEN && size <= PCP_MAX_MSG && size % 4 == 0);
			CHECK(data[0] == PCP_VERSION && (data[1] & PCP_R_BIT));
			CHECK(r.opcode == (data[1] & 0x7f) && r.result == data[3]);
			CHECK(r.opcode == PCP_OP_ANNOUNCE || r.opcode == PCP_OP_MAP);
			if (r.opcode == PCP_OP_MAP) {
				CHECK(size >= PCPC_MAP_REQ_LEN);
				CHECK(memcmp(r.nonce, data + PCP_HEADER_LEN, PCP_NONCE_LEN) == 0);
				CHECK(r.int_port == ((data[40] << 8) | data[41]));
				CHECK(r.ext_port == ((data[42] << 8) | data[43]));
			}
		}
	}
	if (natpmpc_parse(data, size, &n) == 0) {
		CHECK(size >= 8 && data[0] == 0 && (data[1] & 0x80) && n.opcode <= 2);
		if (n.result == 0)
			CHECK(size >= (n.opcode == 0 ? 12u : 16u));
	}
	return 0;
}
