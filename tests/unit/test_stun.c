/*
 * test_stun.c - proto/stun: Binding requests byte for byte, responses
 * captured from Debian's stund 0.97 and coturn 4.6.1 (RFC 8489 and
 * RFC 3489 attributes), error responses, every framing error, the
 * RFC 8489 6.2.1 schedule and the RFC 5780 4.3 verdicts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/stun.h"

static size_t unhex(const char *h, uint8_t *out, size_t size)
{
	size_t n = 0;
	unsigned v;

	while (h[0] && h[1]) {
		if (h[0] == ' ') {
			h++;
			continue;
		}
		assert_true(n < size);
		assert_int_equal(sscanf(h, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static void assert_addr(const struct stun_addr *a, const char *ip, uint16_t port)
{
	char text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->addr, text, sizeof(text));
	assert_string_equal(text, ip);
	assert_int_equal(a->port, port);
}

static void test_build(void **state)
{
	static const uint8_t txid[12] = { 0x34, 0x4e, 0x0a, 0x95, 0x9c, 0x86,
					  0x4d, 0xd0, 0x10, 0xef, 0x61, 0x97 };
	uint8_t buf[64], want[64];
	size_t n;

	(void)state;
	n = unhex("000100002112a442344e0a959c864dd010ef6197", want, sizeof(want));
	assert_int_equal(stun_build_binding(buf, sizeof(buf), txid, 0), (int)n);
	assert_memory_equal(buf, want, n);
	n = unhex("000100082112a442344e0a959c864dd010ef6197 00030004 00000006", want, sizeof(want));
	assert_int_equal(stun_build_binding(buf, sizeof(buf), txid,
					    STUN_CHANGE_IP | STUN_CHANGE_PORT), (int)n);
	assert_memory_equal(buf, want, n);
	n = unhex("000100082112a442344e0a959c864dd010ef6197 00030004 00000002", want, sizeof(want));
	assert_int_equal(stun_build_binding(buf, sizeof(buf), txid, STUN_CHANGE_PORT), (int)n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(stun_build_binding(buf, 19, txid, 0), -ENOSPC);
	assert_int_equal(stun_build_binding(buf, 27, txid, STUN_CHANGE_IP), -ENOSPC);
}

/* stund 0.97 (RFC 3489 attributes too), no NAT in between */
static void test_stund(void **state)
{
	uint8_t m[256];
	struct stun_response r;
	size_t n = unhex("010100442112a442344e0a959c864dd010ef61970001000800019c40c6336401"
			 "0004000800010d96c63364020005000800010d97c6336403002000080001bd52"
			 "e721c04380220010566f766964612e6f726720302e393700", m, sizeof(m));

	(void)state;
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_true(r.success);
	assert_true(r.have_mapped);
	assert_true(r.mapped_from_xor);
	assert_addr(&r.mapped, "198.51.100.1", 40000);
	assert_true(r.have_other);      /* CHANGED-ADDRESS */
	assert_addr(&r.other, "198.51.100.3", 3479);
	assert_true(r.have_origin);     /* SOURCE-ADDRESS */
	assert_addr(&r.origin, "198.51.100.2", 3478);
	assert_int_equal(r.error_code, 0);
	assert_int_equal(r.unknown_required, 0);
	assert_int_equal(r.txid[0], 0x34);
	assert_int_equal(r.txid[11], 0x97);
}

/* coturn 4.6.1 with two addresses, from behind a NAT */
static void test_coturn(void **state)
{
	uint8_t m[256];
	struct stun_response r;
	size_t n = unhex("010100482112a44254472d43013506b2059909ec00200008000186eae721c043"
			 "000100080001a7f8c6336401802b000800010d96c6336402802c000800010d97"
			 "c633640380220014436f7475726e2d342e362e312027476f72737427", m, sizeof(m));

	(void)state;
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_true(r.success);
	assert_addr(&r.mapped, "198.51.100.1", 43000);
	assert_addr(&r.origin, "198.51.100.2", 3478);
	assert_addr(&r.other, "198.51.100.3", 3479);
	/* a datagram longer than the message: the rest is ignored */
	m[n] = 0xff;
	assert_int_equal(stun_parse_response(m, n + 1, &r), 0);
}

/* MAPPED-ADDRESS only (an RFC 3489 server): the fallback */
static void test_mapped_only(void **state)
{
	uint8_t m[64];
	struct stun_response r;
	size_t n = unhex("0101000c2112a442000000000000000000000001 0001000800011f90c0000201",
			 m, sizeof(m));

	(void)state;
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_true(r.have_mapped);
	assert_false(r.mapped_from_xor);
	assert_addr(&r.mapped, "192.0.2.1", 8080);
	assert_false(r.have_other);
	/* the first occurrence counts (14) */
	n = unhex("010100182112a442000000000000000000000001 0001000800011f90c0000201"
		  "0001000800011f91c0000202", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_addr(&r.mapped, "192.0.2.1", 8080);
	/* XOR-MAPPED wins over MAPPED whatever the order */
	n = unhex("010100182112a442000000000000000000000001 0001000800011f90c0000201"
		  "00200008000186eae721c043", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_true(r.mapped_from_xor);
	assert_addr(&r.mapped, "198.51.100.1", 43000);
}

/* IPv6 mapped address: well formed, ignored; a success without a
 * usable address still parses */
static void test_ipv6_ignored(void **state)
{
	uint8_t m[64];
	struct stun_response r;
	size_t n = unhex("010100182112a442000000000000000000000001 00200014000286ea"
			 "00000000000000000000000000000001", m, sizeof(m));

	(void)state;
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_false(r.have_mapped);
	/* a bad IPv6 length is malformed */
	n = unhex("010100142112a442000000000000000000000001 00200010000286ea"
		  "000000000000000000000000", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), -EINVAL);
}

/* coturn with one address: 420 with a NUL-padded reason, no UNKNOWN-ATTRIBUTES */
static void test_errors(void **state)
{
	uint8_t m[128];
	struct stun_response r;
	size_t n = unhex("011100142112a442000000000000000000000007 00090010000004144e6f7065"
			 "0000000000000000", m, sizeof(m));

	(void)state;
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_false(r.success);
	assert_int_equal(r.error_code, 420);
	/* 500 Server Error */
	n = unhex("011100082112a442000000000000000000000007 0009000400000500", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_int_equal(r.error_code, 500);
	/* no ERROR-CODE: failed (6.3.4) */
	n = unhex("011100002112a442000000000000000000000007", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_int_equal(r.error_code, 1);
	/* class out of range */
	n = unhex("011100082112a442000000000000000000000007 0009000400000764", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_int_equal(r.error_code, 1);
	/* short ERROR-CODE */
	n = unhex("011100082112a442000000000000000000000007 0009000200000000", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), -EINVAL);
}

static void test_unknown_attributes(void **state)
{
	uint8_t m[64];
	struct stun_response r;
	size_t n;

	(void)state;
	/* unknown comprehension-required 0x7fff: reported */
	n = unhex("010100142112a442000000000000000000000001 00200008000186eae721c043"
		  "7fff000100000000", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_int_equal(r.unknown_required, 0x7fff);
	/* unknown comprehension-optional 0x8fff with padding: ignored */
	n = unhex("010100142112a442000000000000000000000001 00200008000186eae721c043"
		  "8fff0003aabbcc00", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_int_equal(r.unknown_required, 0);
	assert_true(r.have_mapped);
}

static void test_not_a_response(void **state)
{
	static const char *const bad[] = {
		"",                                                     /* empty */
		"0101000000000000000000000000000000000000",              /* no cookie */
		"010100002112a4420000000000000000000000",                /* short header */
		"000100002112a442000000000000000000000001",              /* a request */
		"001100002112a442000000000000000000000001",              /* an indication */
		"010300002112a442000000000000000000000001",              /* another method */
		"410100002112a442000000000000000000000001",              /* top bits set */
		"010100042112a442000000000000000000000001",              /* length past the end */
		"010100022112a442000000000000000000000001 0000",         /* length not a multiple of 4 */
		"010100042112a442000000000000000000000001 80220008",     /* attribute past the end */
		"010100082112a442000000000000000000000001 00200004 00010000", /* short address */
		"0101000c2112a442000000000000000000000001 00200008 00030000c0000201", /* family 3 */
	};
	uint8_t m[64];
	struct stun_response r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = unhex(bad[i], m, sizeof(m));
		if (stun_parse_response(m, n, &r) != -EINVAL)
			fail_msg("row %zu parsed", i);
	}
	/* stund with one address announces 0.0.0.0:3479: no alternate */
	n = unhex("010100182112a442000000000000000000000001 00200008000186eae721c043"
		  "0005000800010d9700000000", m, sizeof(m));
	assert_int_equal(stun_parse_response(m, n, &r), 0);
	assert_false(r.have_other);
}

static void test_schedule(void **state)
{
	uint64_t t = 0;
	unsigned n;

	(void)state;
	/* RFC 8489 6.2.1 example: sends at 0, 500, 1500, ..., 31500; fails at 39500 */
	for (n = 1; n < 7; n++)
		t += stun_retransmit_delay(n, 7, 500);
	assert_int_equal(t, 31500);
	assert_int_equal(stun_retransmit_delay(7, 7, 500), 0);
	assert_int_equal(t + stun_final_wait(16, 500), 39500);
	assert_int_equal(stun_retransmit_delay(0, 7, 500), 0);
	assert_int_equal(stun_retransmit_delay(1, 2, 500), 500);
}

static struct stun_addr sa(const char *ip, uint16_t port)
{
	struct stun_addr a;

	assert_int_equal(inet_pton(AF_INET, ip, &a.addr), 1);
	a.port = port;
	return a;
}

static void test_verdict(void **state)
{
	struct stun_addr local = sa("10.0.0.2", 4000), m1 = sa("198.51.100.1", 4000);
	struct stun_addr m2 = sa("198.51.100.1", 4001), m3 = sa("198.51.100.1", 4002);

	(void)state;
	assert_int_equal(stun_mapping_verdict(&local, NULL, NULL, NULL), STUN_UNKNOWN);
	assert_int_equal(stun_mapping_verdict(&local, &local, NULL, NULL), STUN_NO_NAT);
	assert_int_equal(stun_mapping_verdict(&local, &m1, NULL, NULL), STUN_UNKNOWN);
	assert_int_equal(stun_mapping_verdict(&local, &m1, &m1, NULL), STUN_ENDPOINT_INDEPENDENT);
	assert_int_equal(stun_mapping_verdict(&local, &m1, &m2, NULL), STUN_UNKNOWN);
	assert_int_equal(stun_mapping_verdict(&local, &m1, &m2, &m2), STUN_ADDRESS_DEPENDENT);
	assert_int_equal(stun_mapping_verdict(&local, &m1, &m2, &m3), STUN_ADDRESS_PORT_DEPENDENT);
	assert_string_equal(stun_behaviour_name(STUN_ADDRESS_PORT_DEPENDENT),
			    "address-and-port-dependent");
	assert_string_equal(stun_behaviour_name(STUN_UNKNOWN), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_stund),
		cmocka_unit_test(test_coturn),
		cmocka_unit_test(test_mapped_only),
		cmocka_unit_test(test_ipv6_ignored),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unknown_attributes),
		cmocka_unit_test(test_not_a_response),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
