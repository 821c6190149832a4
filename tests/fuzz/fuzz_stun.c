/*
 * fuzz_stun.c - libFuzzer target for proto/stun.c: a datagram from the
 * WAN parsed as a STUN Binding response (RFC 8489 6.3), as net/stun_io.c
 * does with whatever reaches its socket. The input is the datagram.
 *
 * Checks: a parsed message is a Binding success or error response whose
 * length field fits the input; success carries no error code, an error
 * carries 300..699 or 1; the same bytes cut to the message's own length
 * parse to the same result (trailing bytes never matter); a mapped,
 * alternate or origin address is only reported as IPv4 with, for the
 * alternate, a non-zero address and port.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stun.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_response r, again;
	size_t mlen;

	memset(&r, 0x5a, sizeof(r));
	if (stun_parse_response(data, size, &r) < 0)
		return 0;
	CHECK(size >= STUN_HEADER_LEN);
	mlen = ((size_t)data[2] << 8) | data[3];
	CHECK(mlen % 4 == 0 && STUN_HEADER_LEN + mlen <= size);
	CHECK(r.success == (data[0] == 0x01 && data[1] == 0x01));
	if (r.success)
		CHECK(r.error_code == 0);
	else
		CHECK(r.error_code == 1 || (r.error_code >= 300 && r.error_code <= 699));
	CHECK(memcmp(r.txid, data + 8, STUN_TXID_LEN) == 0);
	if (r.have_other)
		CHECK(r.other.addr.s_addr != 0 && r.other.port != 0);
	CHECK(!r.mapped_from_xor || r.have_mapped);
	CHECK(r.unknown_required < 0x8000);
	memset(&again, 0, sizeof(again));
	CHECK(stun_parse_response(data, STUN_HEADER_LEN + mlen, &again) == 0);
	CHECK(again.success == r.success && again.error_code == r.error_code &&
	      again.have_mapped == r.have_mapped && again.have_other == r.have_other &&
	      again.have_origin == r.have_origin && again.unknown_required == r.unknown_required);
	if (r.have_mapped)
		CHECK(stun_addr_equal(&again.mapped, &r.mapped));
	return 0;
}
