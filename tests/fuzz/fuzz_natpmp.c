/*
 * fuzz_natpmp.c - libFuzzer target for NAT-PMP (RFC 6886): the parser
 * and builders of proto/natpmp.c, and requests (version 0 forced) through
 * svc/pcp.c into the mapping table of a sim-backend engine. Input format
 * and checks: fuzz_pcp_drive.h. Every record's data also goes to
 * natpmp_parse() as is: what parses is within the lengths of 3.2 / 3.3.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pcp_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct natpmp_request q;
	uint8_t b[NATPMP_RESP_MAX];

	switch (natpmp_parse(data, size, &q)) {
	case NATPMP_PARSE_OK:
		FUZZ_CHECK(size == 2 || size == 12);
		FUZZ_CHECK(q.opcode <= NATPMP_OP_MAP_TCP);
		FUZZ_CHECK(natpmp_build_map(b, q.opcode, 0, 1, q.int_port, q.ext_port,
					    q.lifetime) == NATPMP_RESP_MAP_LEN);
		break;
	case NATPMP_PARSE_BAD_OPCODE:
	case NATPMP_PARSE_BAD_VERSION:
		FUZZ_CHECK(size >= 2 && q.opcode < 128);
		FUZZ_CHECK(natpmp_build_error(b, q.opcode, NATPMP_UNSUPP_OPCODE, 1) ==
			   NATPMP_RESP_ERROR_LEN);
		break;
	case NATPMP_PARSE_DROP:
		break;
	}
	fuzz_pcp_drive(data, size, NATPMP_VERSION);
	return 0;
}
