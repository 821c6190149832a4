/*
 * fuzz_pcp.c - libFuzzer target for PCP (RFC 6887): the parser and
 * builders of proto/pcp.c, and requests through svc/pcp.c (versions as
 * given: NAT-PMP, PCP and others) into the mapping table of a
 * sim-backend engine. Input format and checks: fuzz_pcp_drive.h. The
 * whole input also goes to pcp_parse() as one datagram: a parsed request
 * rebuilds into a bounded response, an error copies at most 1100 bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pcp_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_request q;
	uint8_t b[PCP_MAX_MSG];
	int r = pcp_parse(data, size, &q);
	size_t n;

	if (r == PCP_SUCCESS) {
		FUZZ_CHECK(size >= PCP_HEADER_LEN && size <= PCP_MAX_MSG && size % 4 == 0);
		FUZZ_CHECK(q.opcode == PCP_OP_MAP || q.opcode == PCP_OP_ANNOUNCE);
		n = pcp_build_response(b, &q, PCP_SUCCESS, 1, 1, 1, q.ext_ip);
		FUZZ_CHECK(n >= PCP_HEADER_LEN && n <= PCP_HEADER_LEN + PCP_MAP_LEN + 48);
	} else if (r >= 0) {
		FUZZ_CHECK(r <= PCP_EXCESSIVE_REMOTE_PEERS);
		n = pcp_build_error(b, data, size, (uint8_t)r, 1, 1);
		FUZZ_CHECK(n >= PCP_HEADER_LEN && n <= PCP_MAX_MSG && n % 4 == 0);
	} else {
		FUZZ_CHECK(r == PCP_PARSE_DROP || r == PCP_PARSE_NATPMP);
	}
	fuzz_pcp_drive(data, size, -1);
	return 0;
}
