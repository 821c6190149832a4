/*
 * test_pcp_client.c - proto/pcp_client: PCP MAP and ANNOUNCE requests
 * byte for byte (RFC 6887 7.1, 11.1, 13.2), responses as Debian's
 * miniupnpd 2.3.1 and igdd's own server send them, what a client drops
 * (8.3), the epoch checks (RFC 6887 8.5, RFC 6886 3.6), the renewal
 * schedule (11.2.1), and NAT-PMP requests and responses (RFC 6886 3.2 -
 * 3.5).
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

#include "proto/pcp.h"
#include "proto/pcp_client.h"

static const uint8_t nonce[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

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

static void test_build_map(void **state)
{
	uint8_t b[PCPC_MAP_REQ_MAX], want[80];
	struct pcp_request q;
	size_t n;

	(void)state;
	n = unhex("02010000 00001c20 00000000000000000000ffff0a000002"
		  "0102030405060708090a0b0c 06000000 1f90 1f90 00000000000000000000ffff00000000",
		  want, sizeof(want));
	assert_int_equal(pcpc_build_map(b, ip("10.0.0.2"), 7200, nonce, 6, 8080, 8080, false), n);
	assert_memory_equal(b, want, n);
	/* with PREFER_FAILURE; and igdd's own server parses it back */
	assert_int_equal(pcpc_build_map(b, ip("10.0.0.2"), 7200, nonce, 17, 5000, 6000, true), 64);
	assert_memory_equal(b + 60, "\x02\x00\x00\x00", 4);
	assert_int_equal(pcp_parse(b, 64, &q), PCP_SUCCESS);
	assert_int_equal(q.opcode, PCP_OP_MAP);
	assert_int_equal(q.lifetime, 7200);
	assert_int_equal(q.protocol, 17);
	assert_int_equal(q.int_port, 5000);
	assert_int_equal(q.ext_port, 6000);
	assert_true(q.prefer_failure);
	assert_memory_equal(q.nonce, nonce, 12);
	assert_true(pcp_addr_is_any(q.ext_ip));
	assert_int_equal(pcp_addr_v4(q.client_ip).s_addr, ip("10.0.0.2").s_addr);
	/* a delete */
	assert_int_equal(pcpc_build_map(b, ip("10.0.0.2"), 0, nonce, 6, 8080, 0, false), 60);
	assert_int_equal(pcp_parse(b, 60, &q), PCP_SUCCESS);
	assert_int_equal(q.lifetime, 0);
}

static void test_build_announce(void **state)
{
	uint8_t b[24], want[24];
	struct pcp_request q;
	size_t n = unhex("02000000 00000000 00000000000000000000ffffc0000201", want, sizeof(want));

	(void)state;
	assert_int_equal(pcpc_build_announce(b, ip("192.0.2.1")), n);
	assert_memory_equal(b, want, n);
	assert_int_equal(pcp_parse(b, n, &q), PCP_SUCCESS);
	assert_int_equal(q.opcode, PCP_OP_ANNOUNCE);
}

/* The responses of igdd's own server (proto/pcp.c) parse back. */
static void test_parse_own_server(void **state)
{
	uint8_t req[PCPC_MAP_REQ_MAX], resp[PCP_MAX_MSG], ext[16];
	struct pcp_request q;
	struct pcpc_response r;
	size_t n;

	(void)state;
	n = pcpc_build_map(req, ip("10.0.0.2"), 3600, nonce, 6, 8080, 8080, true);
	assert_int_equal(pcp_parse(req, n, &q), PCP_SUCCESS);
	pcp_addr_from_v4(ext, ip("198.51.100.1"));
	n = pcp_build_response(resp, &q, PCP_SUCCESS, 3600, 77, 8081, ext);
	assert_int_equal(pcpc_parse(resp, n, &r), 0);
	assert_false(r.natpmp_only);
	assert_int_equal(r.opcode, PCP_OP_MAP);
	assert_int_equal(r.result, PCP_SUCCESS);
	assert_int_equal(r.lifetime, 3600);
	assert_int_equal(r.epoch, 77);
	assert_memory_equal(r.nonce, nonce, 12);
	assert_int_equal(r.protocol, 6);
	assert_int_equal(r.int_port, 8080);
	assert_int_equal(r.ext_port, 8081);
	assert_true(r.ext_is_v4);
	assert_int_equal(r.ext_addr.s_addr, ip("198.51.100.1").s_addr);
	/* an error copy of the request (8.3) */
	n = pcp_build_error(resp, req, 64, PCP_NO_RESOURCES, 30, 78);
	assert_int_equal(pcpc_parse(resp, n, &r), 0);
	assert_int_equal(r.result, PCP_NO_RESOURCES);
	assert_int_equal(r.lifetime, 30);
	assert_int_equal(r.epoch, 78);
	/* unsolicited ANNOUNCE */
	n = pcp_build_announce(resp, 0);
	assert_int_equal(pcpc_parse(resp, n, &r), 0);
	assert_int_equal(r.opcode, PCP_OP_ANNOUNCE);
	assert_int_equal(r.epoch, 0);
}

static void test_parse_drops(void **state)
{
	static const char *const bad[] = {
		"",
		"0281000000000000",                                     /* short */
		"02010000000000000000000000000000000000000000000000000000", /* R bit clear */
		"01810000000000000000000000000000000000000000000000000000", /* version 1 */
		"028200000000000000000000000000000000000000000000",     /* PEER */
		"0281000000000000000000000000000000000000000000000000",   /* not a multiple of 4 */
		"028100000000000000000000000000000000000000000000",     /* MAP without data */
	};
	uint8_t m[128];
	struct pcpc_response r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = unhex(bad[i], m, sizeof(m));
		if (pcpc_parse(m, n, &r) != -EINVAL)
			fail_msg("row %zu parsed", i);
	}
	memset(m, 0, sizeof(m));
	m[0] = 2;
	m[1] = 0x81;
	assert_int_equal(pcpc_parse(m, 1104, &r), -EINVAL);  /* over 1100 */
	/* a NAT-PMP-only server answers version 2 with "unsupported version" */
	n = unhex("0081000100000e10", m, sizeof(m));
	assert_int_equal(pcpc_parse(m, n, &r), 0);
	assert_true(r.natpmp_only);
	assert_int_equal(r.result, 1);
}

static void test_epoch(void **state)
{
	(void)state;
	assert_true(pcp_epoch_valid(false, 0, 0, 5, 1000));
	assert_true(pcp_epoch_valid(true, 100, 1000, 110, 1010));
	assert_true(pcp_epoch_valid(true, 100, 1000, 99, 1000));      /* one second back */
	assert_false(pcp_epoch_valid(true, 100, 1000, 98, 1000));     /* two */
	assert_false(pcp_epoch_valid(true, 90, 1000, 17, 1030));      /* a restart */
	assert_false(pcp_epoch_valid(true, 100, 1000, 200, 1010));    /* server ran ahead */
	assert_false(pcp_epoch_valid(true, 100, 1000, 110, 1100));    /* server fell behind */
	assert_true(pcp_epoch_valid(true, 100, 1000, 1700, 2600));    /* 1600 s, 1/16 slack */
	/* NAT-PMP 3.6: 7/8 of the client's elapsed time, 2 s of slack */
	assert_true(natpmp_epoch_valid(false, 0, 0, 0, 0));
	assert_true(natpmp_epoch_valid(true, 1000, 0, 1008, 8000));
	assert_true(natpmp_epoch_valid(true, 1000, 0, 1005, 8000));   /* 7 expected, 2 slack */
	assert_false(natpmp_epoch_valid(true, 1000, 0, 1004, 8000));
	assert_false(natpmp_epoch_valid(true, 1000, 0, 3, 8000));
}

static void test_renew(void **state)
{
	(void)state;
	assert_int_equal(pcp_renew_delay(3600, 0, 0.0, 0), 1800000);
	assert_true(pcp_renew_delay(3600, 0, 0.999999, 0) <= 2250000);
	assert_true(pcp_renew_delay(3600, 0, 0.999999, 0) > 2249000);
	assert_int_equal(pcp_renew_delay(3600, 1, 0.0, 0), 2700000);           /* 3/4 */
	assert_int_equal(pcp_renew_delay(3600, 1, 0.5, 0), 2812500);           /* + 1/32 */
	assert_int_equal(pcp_renew_delay(3600, 2, 0.0, 0), 3150000);           /* 7/8 */
	/* never within 4 s of the previous attempt */
	assert_int_equal(pcp_renew_delay(120, 5, 0.0, 118000), 122000);
	assert_int_equal(pcp_renew_delay(120, 0, 2.0, 0), 60000);              /* r out of range */
}

static void test_natpmp(void **state)
{
	uint8_t b[16], m[32];
	struct natpmpc_response r;
	size_t n;

	(void)state;
	assert_int_equal(natpmpc_build_external(b), 2);
	assert_memory_equal(b, "\x00\x00", 2);
	assert_int_equal(natpmpc_build_map(b, 6, 8080, 8080, 7200), 12);
	assert_memory_equal(b, "\x00\x02\x00\x00\x1f\x90\x1f\x90\x00\x00\x1c\x20", 12);
	assert_int_equal(natpmpc_build_map(b, 17, 53, 0, 0), 12);
	assert_memory_equal(b, "\x00\x01\x00\x00\x00\x35\x00\x00\x00\x00\x00\x00", 12);
	/* 3.2 external address */
	n = unhex("008000000000002ac6336401", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), 0);
	assert_int_equal(r.opcode, 0);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.epoch, 42);
	assert_int_equal(r.ext_addr.s_addr, ip("198.51.100.1").s_addr);
	/* 3.3 map TCP */
	n = unhex("0082000000000030 1f90 1f91 00001c20", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), 0);
	assert_int_equal(r.opcode, 2);
	assert_int_equal(r.int_port, 8080);
	assert_int_equal(r.ext_port, 8081);
	assert_int_equal(r.lifetime, 7200);
	/* an error (4 out of resources) with the internal port */
	n = unhex("0082000400000030 1f90 0000 00000000", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), 0);
	assert_int_equal(r.result, 4);
	assert_int_equal(r.int_port, 8080);
	/* drops: version, request, opcode, short success */
	n = unhex("018000000000002ac6336401", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), -EINVAL);
	n = unhex("000000000000002ac6336401", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), -EINVAL);
	n = unhex("008300000000002ac6336401", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), -EINVAL);
	n = unhex("0080000000000030", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), -EINVAL);
	n = unhex("00820000000000301f901f91", m, sizeof(m));
	assert_int_equal(natpmpc_parse(m, n, &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_map),
		cmocka_unit_test(test_build_announce),
		cmocka_unit_test(test_parse_own_server),
		cmocka_unit_test(test_parse_drops),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_natpmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
