/*
 * test_natpmp.c - NAT-PMP (RFC 6886): the parser and builders of
 * proto/natpmp.c (3.2, 3.3, 3.5) and the semantics of svc/pcp.c on the
 * sim backend: external address (3.2) and network failure, mapping,
 * renewal keeping the port (3.3), lifetimes clamped, delete and delete
 * all (3.4), the policy (result 2), conflicts with other clients and
 * UPnP entries, full table (result 4), unsupported version and opcode
 * (result 1, 5), the change events and epoch (3.6).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "core/mapping.h"
#include "core/wanconn.h"
#include "engine.h"
#include "proto/natpmp.h"
#include "svc/pcp.h"

#include "pcp_fixture.h"

/* A map request; asserts a 16-byte answer and returns its result code. */
static unsigned map_req(struct fx *f, const char *src, uint8_t op, uint16_t iport,
			uint16_t eport, uint32_t life)
{
	uint8_t q[12] = { 0, op, 0, 0, (uint8_t)(iport >> 8), (uint8_t)iport,
			  (uint8_t)(eport >> 8), (uint8_t)eport, (uint8_t)(life >> 24),
			  (uint8_t)(life >> 16), (uint8_t)(life >> 8), (uint8_t)life };

	assert_int_equal(send_raw(f, src, q, sizeof(q)), NATPMP_RESP_MAP_LEN);
	assert_int_equal(f->out[0], 0);
	assert_int_equal(f->out[1], 128 + op);
	assert_int_equal(be16_get(f->out + 8), iport);
	return be16_get(f->out + 2);
}

static uint16_t out_eport(const struct fx *f)
{
	return be16_get(f->out + 10);
}

static uint32_t out_life(const struct fx *f)
{
	return be32_get(f->out + 12);
}

/* ---- parser ------------------------------------------------------------ */

static void test_parse(void **state)
{
	static const uint8_t ext[2] = { 0, 0 };
	static const uint8_t map[12] = { 0, 2, 0, 0, 0x1f, 0x90, 0x1f, 0x91, 0, 0, 0x1c, 0x20 };
	struct natpmp_request q;
	uint8_t big[13] = { 0, 1 };

	(void)state;
	assert_int_equal(natpmp_parse(ext, 2, &q), NATPMP_PARSE_OK);
	assert_int_equal(q.opcode, 0);
	assert_int_equal(natpmp_parse(ext, 1, &q), NATPMP_PARSE_DROP);
	assert_int_equal(natpmp_parse(ext, 0, &q), NATPMP_PARSE_DROP);
	assert_int_equal(natpmp_parse(map, 3, &q), NATPMP_PARSE_DROP);    /* op 2, short */
	assert_int_equal(natpmp_parse(map, 12, &q), NATPMP_PARSE_OK);
	assert_int_equal(q.opcode, 2);
	assert_int_equal(q.int_port, 8080);
	assert_int_equal(q.ext_port, 8081);
	assert_int_equal(q.lifetime, 7200);
	assert_int_equal(natpmp_parse(map, 11, &q), NATPMP_PARSE_DROP);
	assert_int_equal(natpmp_parse(big, 13, &q), NATPMP_PARSE_DROP);
	big[1] = 129;                                   /* a response */
	assert_int_equal(natpmp_parse(big, 12, &q), NATPMP_PARSE_DROP);
	big[1] = 3;
	assert_int_equal(natpmp_parse(big, 12, &q), NATPMP_PARSE_BAD_OPCODE);
	big[0] = 1;
	big[1] = 0;
	assert_int_equal(natpmp_parse(big, 2, &q), NATPMP_PARSE_BAD_VERSION);
	assert_string_equal(natpmp_result_str(NATPMP_OUT_OF_RESOURCES), "out of resources");
	assert_string_equal(natpmp_result_str(77), "unknown");
}

static void test_build(void **state)
{
	uint8_t b[NATPMP_RESP_MAX];

	(void)state;
	assert_int_equal(natpmp_build_external(b, 0, 0x01020304, (struct in_addr){ htonl(0xcb007101) }),
			 12);
	assert_memory_equal(b, "\x00\x80\x00\x00\x01\x02\x03\x04\xcb\x00\x71\x01", 12);
	assert_int_equal(natpmp_build_map(b, 1, 0, 5, 1234, 4321, 7200), 16);
	assert_memory_equal(b, "\x00\x81\x00\x00\x00\x00\x00\x05\x04\xd2\x10\xe1\x00\x00\x1c\x20",
			    16);
	assert_int_equal(natpmp_build_error(b, 9, NATPMP_UNSUPP_OPCODE, 7), 8);
	assert_memory_equal(b, "\x00\x89\x00\x05\x00\x00\x00\x07", 8);
}

/* ---- semantics --------------------------------------------------------- */

static void test_external_address(void **state)
{
	struct fx *f = fx_new("");
	static const uint8_t q[2] = { 0, 0 };

	(void)state;
	f->x.now += 42000;
	assert_int_equal(send_raw(f, "192.168.1.20", q, 2), 12);
	assert_int_equal(be16_get(f->out + 2), NATPMP_SUCCESS);
	assert_int_equal(be32_get(f->out + 4), 42);        /* seconds since start of epoch */
	assert_memory_equal(f->out + 8, "\xcb\x00\x71\x01", 4);
	pcp_svc_reset_epoch(&f->svc);
	f->x.now += 3000;
	send_raw(f, "192.168.1.20", q, 2);
	assert_int_equal(be32_get(f->out + 4), 3);
	/* The WAN goes down: network failure, address 0 (3.2). */
	assert_int_equal(wanconn_request_termination(f->x.e.wan, f->x.now), 0);
	assert_int_equal(send_raw(f, "192.168.1.20", q, 2), 12);
	assert_int_equal(be16_get(f->out + 2), NATPMP_NETWORK_FAILURE);
	assert_memory_equal(f->out + 8, "\0\0\0\0", 4);
	assert_int_equal(map_req(f, "192.168.1.20", 2, 5000, 5000, 3600), NATPMP_NETWORK_FAILURE);
	assert_int_equal(map_count(f->x.e.maps), 0);
	fx_free(f);
}

static void test_map_renew_delete(void **state)
{
	struct fx *f = fx_new("");
	struct mapping *m;

	(void)state;
	assert_int_equal(map_req(f, "192.168.1.20", 2, 8080, 8080, 7200), NATPMP_SUCCESS);
	assert_int_equal(out_eport(f), 8080);
	assert_int_equal(out_life(f), 7200);
	assert_int_equal(f->x.chg.maps, 1);
	assert_int_equal(f->applied, 1);
	m = map_find(f->x.e.maps, MAP_TCP, 8080, (struct in_addr){ 0 });
	assert_non_null(m);
	assert_int_equal(m->origin, MAP_ORIGIN_NATPMP);
	assert_string_equal(m->desc, "NAT-PMP 192.168.1.20:8080");
	assert_int_equal(m->internal_client.s_addr, ip("192.168.1.20").s_addr);
	assert_true(m->enabled);
	/* UDP is another mapping. */
	assert_int_equal(map_req(f, "192.168.1.20", 1, 8080, 0, 60), NATPMP_SUCCESS);
	assert_int_equal(out_eport(f), 8080);
	assert_int_equal(out_life(f), 120);             /* clamped to pcp_min_lifetime */
	assert_int_equal(f->x.chg.maps, 2);
	/* Renewal with another suggestion keeps the port, no change event. */
	f->x.now += 1000000;
	assert_int_equal(map_req(f, "192.168.1.20", 2, 8080, 9999, 999999), NATPMP_SUCCESS);
	assert_int_equal(out_eport(f), 8080);
	assert_int_equal(out_life(f), 86400);           /* clamped to pcp_max_lifetime */
	assert_int_equal(f->x.chg.maps, 2);
	assert_int_equal(map_count(f->x.e.maps), 2);
	assert_int_equal(map_lease_remaining(f->x.e.maps, m), 86400);
	/* Delete: external port 0, lifetime 0 in the answer (3.4). */
	assert_int_equal(map_req(f, "192.168.1.20", 2, 8080, 0, 0), NATPMP_SUCCESS);
	assert_int_equal(out_eport(f), 0);
	assert_int_equal(out_life(f), 0);
	assert_int_equal(f->x.chg.maps, 3);
	assert_int_equal(f->removed, 1);
	assert_null(map_find(f->x.e.maps, MAP_TCP, 8080, (struct in_addr){ 0 }));
	/* Deleting what is not there succeeds, changes nothing. */
	assert_int_equal(map_req(f, "192.168.1.20", 2, 8080, 0, 0), NATPMP_SUCCESS);
	assert_int_equal(f->x.chg.maps, 3);
	fx_free(f);
}

static void test_delete_all(void **state)
{
	struct fx *f = fx_new("");

	(void)state;
	assert_int_equal(map_req(f, "192.168.1.20", 1, 5001, 0, 600), 0);
	assert_int_equal(map_req(f, "192.168.1.20", 1, 5002, 0, 600), 0);
	assert_int_equal(map_req(f, "192.168.1.20", 2, 5003, 0, 600), 0);
	assert_int_equal(map_req(f, "192.168.1.30", 1, 5004, 0, 600), 0);
	assert_int_equal(f->x.chg.maps, 4);
	/* Internal port 0, lifetime 0: all UDP mappings of .20 (3.4). */
	assert_int_equal(map_req(f, "192.168.1.20", 1, 0, 0, 0), 0);
	assert_int_equal(map_count(f->x.e.maps), 2);
	assert_int_equal(f->x.chg.maps, 5);                   /* one event for the batch */
	assert_non_null(map_find(f->x.e.maps, MAP_TCP, 5003, (struct in_addr){ 0 }));
	assert_non_null(map_find(f->x.e.maps, MAP_UDP, 5004, (struct in_addr){ 0 }));
	/* Internal port 0 with a lifetime is refused. */
	assert_int_equal(map_req(f, "192.168.1.20", 1, 0, 0, 600), NATPMP_NOT_AUTHORIZED);
	fx_free(f);
}

static void test_conflicts(void **state)
{
	struct fx *f = fx_new("");
	struct mapping tmpl;

	(void)state;
	/* The port another client holds is not taken: another one is. */
	assert_int_equal(map_req(f, "192.168.1.20", 2, 6000, 6000, 600), 0);
	assert_int_equal(map_req(f, "192.168.1.30", 2, 6000, 6000, 600), 0);
	assert_int_equal(out_eport(f), 6001);
	/* A UPnP entry's port neither. */
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.internal_client = ip("192.168.1.40");
	tmpl.owner = tmpl.internal_client;
	tmpl.ext_port = 7000;
	tmpl.int_port = 7000;
	tmpl.proto = MAP_TCP;
	tmpl.origin = MAP_ORIGIN_UPNP;
	tmpl.enabled = true;
	assert_int_equal(map_add(f->x.e.maps, &tmpl, str_cstr("upnp"), NULL), MAP_OK);
	assert_int_equal(map_req(f, "192.168.1.20", 2, 7000, 7000, 600), 0);
	assert_int_equal(out_eport(f), 7001);
	/* Nor is .40's UPnP mapping touched by its NAT-PMP delete. */
	assert_int_equal(map_req(f, "192.168.1.40", 2, 7000, 0, 0), 0);
	assert_non_null(map_find(f->x.e.maps, MAP_TCP, 7000, (struct in_addr){ 0 }));
	/* Suggestion 0: the internal port when free. */
	assert_int_equal(map_req(f, "192.168.1.20", 1, 40000, 0, 600), 0);
	assert_int_equal(out_eport(f), 40000);
	fx_free(f);
}

/* Ports the gateway keeps (its own services, static forwards; here the
 * sim's sim_static_forward): never granted, the next free one is. */
static void test_router_ports(void **state)
{
	struct fx *f = fx_new("sim_static_forward = UDP 51820\nsim_static_forward = TCP 8443-8444");

	(void)state;
	assert_int_equal(map_req(f, "192.168.1.20", 1, 51820, 51820, 600), 0);
	assert_int_equal(out_eport(f), 51821);
	assert_int_equal(map_req(f, "192.168.1.20", 2, 8443, 8443, 600), 0);
	assert_int_equal(out_eport(f), 8445);
	/* No suggestion: the internal port, kept too. */
	assert_int_equal(map_req(f, "192.168.1.30", 2, 8444, 0, 600), 0);
	assert_int_equal(out_eport(f), 8446);
	/* The other protocol is free. */
	assert_int_equal(map_req(f, "192.168.1.30", 1, 8443, 8443, 600), 0);
	assert_int_equal(out_eport(f), 8443);
	assert_null(map_find(f->x.e.maps, MAP_TCP, 8443, (struct in_addr){ 0 }));
	assert_null(map_find(f->x.e.maps, MAP_UDP, 51820, (struct in_addr){ 0 }));
	assert_int_equal(map_count(f->x.e.maps), 4);
	fx_free(f);
}

static void test_policy(void **state)
{
	struct fx *f = fx_new("acl = deny 5000-5999 0.0.0.0/0 0-65535");

	(void)state;
	/* A well-known internal port: refused (result 2). */
	assert_int_equal(map_req(f, "192.168.1.20", 2, 80, 80, 600), NATPMP_NOT_AUTHORIZED);
	/* The ACL's denied external range is skipped. */
	assert_int_equal(map_req(f, "192.168.1.20", 2, 5500, 5500, 600), 0);
	assert_int_equal(out_eport(f), 6000);
	/* Not a LAN host (the gateway itself, the broadcast address). */
	assert_int_equal(map_req(f, "192.168.1.1", 2, 5500, 5500, 600), NATPMP_NOT_AUTHORIZED);
	assert_int_equal(map_req(f, "192.168.1.255", 2, 5500, 5500, 600), NATPMP_NOT_AUTHORIZED);
	assert_int_equal(map_count(f->x.e.maps), 1);
	fx_free(f);
}

static void test_resources(void **state)
{
	struct fx *f = fx_new("max_mappings = 2\nmax_mappings_per_client = 1");

	(void)state;
	assert_int_equal(map_req(f, "192.168.1.20", 2, 6000, 0, 600), 0);
	assert_int_equal(map_req(f, "192.168.1.20", 2, 6001, 0, 600), NATPMP_OUT_OF_RESOURCES);
	assert_int_equal(map_req(f, "192.168.1.30", 2, 6001, 0, 600), 0);
	assert_int_equal(map_req(f, "192.168.1.40", 2, 6002, 0, 600), NATPMP_OUT_OF_RESOURCES);
	/* The backend refusing: result 4, nothing kept. */
	f->fail_apply = true;
	assert_int_equal(map_req(f, "192.168.1.20", 2, 6000, 0, 0), 0);
	assert_int_equal(map_req(f, "192.168.1.20", 2, 6003, 0, 600), NATPMP_OUT_OF_RESOURCES);
	assert_int_equal(map_count(f->x.e.maps), 1);
	fx_free(f);
}

static void test_expiry(void **state)
{
	struct fx *f = fx_new("");

	(void)state;
	assert_int_equal(map_req(f, "192.168.1.20", 2, 6000, 0, 200), 0);
	f->x.now += 199000;
	engine_tick(&f->x.e);
	assert_int_equal(map_count(f->x.e.maps), 1);
	f->x.now += 1000;
	engine_tick(&f->x.e);
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->removed, 1);
	assert_int_equal(f->x.chg.maps, 2);
	fx_free(f);
}

static void test_versions_opcodes(void **state)
{
	struct fx *f = fx_new("");
	uint8_t q[12] = { 1, 0 };

	(void)state;
	/* PCP on too: another version gets PCP's UNSUPP_VERSION. */
	assert_int_equal(send_raw(f, "192.168.1.20", q, 2), 24);
	assert_int_equal(f->out[0], 2);
	assert_int_equal(f->out[3], PCP_UNSUPP_VERSION);
	q[0] = 0;
	q[1] = 7;
	assert_int_equal(send_raw(f, "192.168.1.20", q, 12), 8);
	assert_int_equal(f->out[1], 128 + 7);
	assert_int_equal(be16_get(f->out + 2), NATPMP_UNSUPP_OPCODE);
	q[1] = 128;                                     /* a response: ignored */
	assert_int_equal(send_raw(f, "192.168.1.20", q, 12), 0);
	fx_free(f);

	/* NAT-PMP only: result 1 (3.5). */
	f = fx_new("enable_pcp = no");
	q[0] = 2;
	q[1] = 1;
	assert_int_equal(send_raw(f, "192.168.1.20", q, 12), 8);
	assert_int_equal(f->out[0], 0);
	assert_int_equal(f->out[1], 129);
	assert_int_equal(be16_get(f->out + 2), NATPMP_UNSUPP_VERSION);
	fx_free(f);

	/* NAT-PMP off, PCP on: a NAT-PMP request gets UNSUPP_VERSION (RFC 6887 9). */
	f = fx_new("enable_natpmp = no");
	q[0] = 0;
	q[1] = 0;
	assert_int_equal(send_raw(f, "192.168.1.20", q, 2), 24);
	assert_int_equal(f->out[0], 2);
	assert_int_equal(f->out[3], PCP_UNSUPP_VERSION);
	fx_free(f);

	/* Both off: silence. */
	f = fx_new("enable_natpmp = no\nenable_pcp = no");
	assert_int_equal(send_raw(f, "192.168.1.20", q, 2), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_external_address),
		cmocka_unit_test(test_map_renew_delete),
		cmocka_unit_test(test_delete_all),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_router_ports),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_versions_opcodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
