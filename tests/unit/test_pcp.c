/*
 * test_pcp.c - PCP (RFC 6887): the parser and builders of proto/pcp.c
 * (7.1 - 7.4, 8.3, 9, 11.1, 13) and the MAP / ANNOUNCE semantics of
 * svc/pcp.c on the sim backend: every result code it answers with,
 * renewal with the same nonce keeping the port and refusal with another
 * (11.3), delete and delete all (15), THIRD_PARTY (13.1), PREFER_FAILURE
 * (13.2), FILTER (13.3), ADDRESS_MISMATCH, error lifetimes, epoch.
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
#include "core/lan.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "core/wanconn.h"
#include "engine.h"
#include "proto/pcp.h"
#include "svc/pcp.h"

#include "pcp_fixture.h"

#include "engine_tx.h"
#include "proto/natpmp.h"

static int noted;

static void tx_noted(struct engine_tx *tx, void *arg)
{
	(void)tx;
	(void)arg;
	noted++;
}

/* A PCP request under construction. */
struct req {
	uint8_t b[PCP_MAX_MSG + 16];
	size_t len;
};

static void v4(uint8_t out[16], const char *s)
{
	pcp_addr_from_v4(out, ip(s));
}

static void mk_header(struct req *r, uint8_t op, uint32_t life, const char *client)
{
	memset(r, 0, sizeof(*r));
	r->b[0] = 2;
	r->b[1] = op;
	be32_put(r->b + 4, life);
	if (strchr(client, ':'))
		assert_int_equal(inet_pton(AF_INET6, client, r->b + 8), 1);
	else
		v4(r->b + 8, client);
	r->len = PCP_HEADER_LEN;
}

static void mk_map(struct req *r, const char *client, uint8_t nonce, uint8_t proto,
		   uint16_t iport, uint16_t eport, uint32_t life)
{
	uint8_t *m;

	mk_header(r, PCP_OP_MAP, life, client);
	m = r->b + PCP_HEADER_LEN;
	memset(m, nonce, PCP_NONCE_LEN);
	m[12] = proto;
	be16_put(m + 16, iport);
	be16_put(m + 18, eport);
	r->len += PCP_MAP_LEN;
}

static void add_opt(struct req *r, uint8_t code, const uint8_t *data, uint16_t len)
{
	r->b[r->len] = code;
	be16_put(r->b + r->len + 2, len);
	if (len)
		memcpy(r->b + r->len + 4, data, len);
	r->len += 4 + (((size_t)len + 3) & ~(size_t)3);
}

/* Send r from src; returns the result code (the answer is in f->out). */
static unsigned send_req(struct fx *f, const char *src, const struct req *r)
{
	assert_true(send_raw(f, src, r->b, r->len) >= PCP_HEADER_LEN);
	assert_int_equal(f->out[0], 2);
	assert_int_equal(f->out[1], (r->b[1] & 0x7f) | 0x80);
	return f->out[3];
}

static uint32_t out_life(const struct fx *f)
{
	return be32_get(f->out + 4);
}

static uint16_t out_eport(const struct fx *f)
{
	return be16_get(f->out + PCP_HEADER_LEN + 18);
}

/* ---- parser ------------------------------------------------------------ */

static void test_parse_header(void **state)
{
	struct pcp_request q;
	struct req r;

	(void)state;
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "192.168.1.20");
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_SUCCESS);
	assert_int_equal(q.opcode, PCP_OP_ANNOUNCE);
	assert_true(pcp_addr_is_v4(q.client_ip));
	assert_int_equal(pcp_parse(r.b, 1, &q), PCP_PARSE_DROP);
	assert_int_equal(pcp_parse(r.b, 20, &q), PCP_MALFORMED_REQUEST);       /* short */
	assert_int_equal(pcp_parse(r.b, 26, &q), PCP_MALFORMED_REQUEST);       /* not 4n */
	assert_int_equal(pcp_parse(r.b, 1104, &q), PCP_MALFORMED_REQUEST);     /* > 1100 */
	r.b[1] = 0x80;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_PARSE_DROP);           /* R bit */
	r.b[1] = 0;
	r.b[0] = 0;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_PARSE_NATPMP);
	r.b[0] = 1;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_UNSUPP_VERSION);
	r.b[0] = 3;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_UNSUPP_VERSION);
	r.b[0] = 2;
	r.b[1] = PCP_OP_PEER;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_UNSUPP_OPCODE);
	r.b[1] = 99;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_UNSUPP_OPCODE);
	r.b[1] = PCP_OP_MAP;                    /* MAP without its 36 bytes */
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_REQUEST);
}

static void test_parse_map_options(void **state)
{
	uint8_t tp[16], filter[20] = { 0 };
	struct pcp_request q;
	struct req r, base;

	(void)state;
	v4(tp, "192.168.1.50");
	mk_map(&base, "192.168.1.20", 7, 6, 8080, 8081, 3600);
	r = base;
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_SUCCESS);
	assert_int_equal(q.protocol, 6);
	assert_int_equal(q.int_port, 8080);
	assert_int_equal(q.ext_port, 8081);
	assert_int_equal(q.lifetime, 3600);
	assert_int_equal(q.nonce[11], 7);
	assert_true(pcp_addr_is_any(q.ext_ip));
	add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 16);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	filter[1] = 128;
	v4(filter + 4, "198.51.100.9");
	add_opt(&r, PCP_OPT_FILTER, filter, 20);
	add_opt(&r, 200, tp, 3);                /* optional to process: ignored */
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_SUCCESS);
	assert_true(q.third_party);
	assert_true(q.prefer_failure);
	assert_int_equal(q.nfilters, 1);
	assert_int_equal(q.filter.prefix_len, 128);
	/* Repeated, wrong length, wrong opcode, past the end. */
	r = base;
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_OPTION);
	r = base;
	add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 8);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_OPTION);
	r = base;
	filter[1] = 64;                         /* an IPv4-mapped prefix < 96 */
	add_opt(&r, PCP_OPT_FILTER, filter, 20);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_OPTION);
	r = base;
	filter[1] = 129;
	add_opt(&r, PCP_OPT_FILTER, filter, 20);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_OPTION);
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "192.168.1.20");
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_OPTION);
	r = base;
	add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 16);
	be16_put(r.b + base.len + 2, 40);          /* longer than what follows */
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_OPTION);
	r = base;
	add_opt(&r, 42, NULL, 0);               /* mandatory, unknown */
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_UNSUPP_OPTION);
	assert_int_equal(q.unsupp_option, 42);
	/* Protocol 0 needs internal port 0 (11.1). */
	mk_map(&r, "192.168.1.20", 1, 0, 80, 0, 0);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_MALFORMED_REQUEST);
}

static void test_build(void **state)
{
	uint8_t out[PCP_MAX_MSG], ext[16];
	struct pcp_request q;
	struct req r;
	size_t n;

	(void)state;
	mk_map(&r, "192.168.1.20", 9, 17, 5000, 0, 600);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(pcp_parse(r.b, r.len, &q), PCP_SUCCESS);
	v4(ext, "203.0.113.1");
	n = pcp_build_response(out, &q, PCP_SUCCESS, 600, 77, 5001, ext);
	assert_int_equal(n, PCP_HEADER_LEN + PCP_MAP_LEN + 4);
	assert_int_equal(out[1], 0x81);
	assert_int_equal(out[3], 0);
	assert_int_equal(be32_get(out + 4), 600);
	assert_int_equal(be32_get(out + 8), 77);
	assert_memory_equal(out + 12, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
	assert_memory_equal(out + 24, r.b + 24, 12);            /* nonce */
	assert_int_equal(be16_get(out + 24 + 18), 5001);
	assert_memory_equal(out + 24 + 20, ext, 16);
	assert_int_equal(out[60], PCP_OPT_PREFER_FAILURE);
	/* Errors copy the request, at most 1100 bytes, multiple of 4. */
	n = pcp_build_error(out, r.b, r.len, PCP_NOT_AUTHORIZED, 1800, 5);
	assert_int_equal(n, r.len);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 0x81);
	assert_int_equal(out[3], PCP_NOT_AUTHORIZED);
	assert_memory_equal(out + 24, r.b + 24, r.len - 24);
	memset(r.b, 0, sizeof(r.b));
	r.b[0] = 2;
	assert_int_equal(pcp_build_error(out, r.b, 1103, PCP_MALFORMED_REQUEST, 1, 1), 1100);
	assert_int_equal(pcp_build_error(out, r.b, 3, PCP_MALFORMED_REQUEST, 1, 1), 24);
	assert_int_equal(pcp_build_announce(out, 9), 24);
	assert_int_equal(out[1], 0x80);
	assert_true(pcp_result_is_long(PCP_NOT_AUTHORIZED));
	assert_false(pcp_result_is_long(PCP_NETWORK_FAILURE));
	assert_string_equal(pcp_result_str(PCP_ADDRESS_MISMATCH), "ADDRESS_MISMATCH");
	assert_string_equal(pcp_result_str(200), "unknown");
}

/* ---- semantics --------------------------------------------------------- */

static void test_announce_and_mismatch(void **state)
{
	struct fx *f = fx_new("");
	struct req r;

	(void)state;
	f->x.now += 5000;
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "192.168.1.20");
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(f->outlen, 24);
	assert_int_equal(be32_get(f->out + 8), 5);         /* epoch */
	assert_int_equal(out_life(f), 0);
	/* The header's address is not the source. */
	assert_int_equal(send_req(f, "192.168.1.30", &r), PCP_ADDRESS_MISMATCH);
	assert_int_equal(out_life(f), PCP_ERROR_LIFETIME_LONG);
	mk_map(&r, "192.168.1.20", 1, 6, 8000, 8000, 600);
	assert_int_equal(send_req(f, "192.168.1.30", &r), PCP_ADDRESS_MISMATCH);
	assert_int_equal(map_count(f->x.e.maps), 0);
	/* An IPv6 client address cannot be ours either. */
	memset(r.b + 8, 0x20, 16);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_ADDRESS_MISMATCH);
	/* The parser's codes reach the client. */
	r.b[0] = 1;
	assert_int_equal(send_raw(f, "192.168.1.20", r.b, r.len), r.len);
	assert_int_equal(f->out[0], 2);
	assert_int_equal(f->out[3], PCP_UNSUPP_VERSION);
	mk_header(&r, PCP_OP_PEER, 600, "192.168.1.20");
	r.len += PCP_PEER_LEN;
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_UNSUPP_OPCODE);
	r.len = 1104;
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_MALFORMED_REQUEST);
	assert_int_equal(f->outlen, 1100);
	mk_map(&r, "192.168.1.20", 1, 6, 8000, 8000, 600);
	add_opt(&r, 5, NULL, 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_UNSUPP_OPTION);
	mk_map(&r, "192.168.1.20", 1, 6, 8000, 8000, 600);
	add_opt(&r, PCP_OPT_THIRD_PARTY, NULL, 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_MALFORMED_OPTION);
	fx_free(f);
}

/*
 * PCP over IPv6 (net/pcp_io.c answers on the LANs' IPv6 addresses): the
 * header's client address is the IPv6 source; ANNOUNCE answered; MAP for
 * an IPv6 address is the firewall case (pinholes, test_ipv6_pinhole): on
 * a LAN without an IPv6 prefix, NOT_AUTHORIZED, nothing made; NAT-PMP
 * (IPv4 only) gets UNSUPP_VERSION.
 */
static void test_ipv6(void **state)
{
	struct fx *f = fx_new("");
	struct req r;
	uint8_t natpmp[2] = { 0, 0 };

	(void)state;
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "2001:db8:1::20");
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	assert_int_equal(send_req(f, "2001:db8:1::30", &r), PCP_ADDRESS_MISMATCH);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_ADDRESS_MISMATCH);
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "192.168.1.20");
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_ADDRESS_MISMATCH);
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "fe80::20");
	assert_int_equal(send_req(f, "fe80::20", &r), PCP_SUCCESS);
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 8000, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(out_life(f), PCP_ERROR_LIFETIME_LONG);
	mk_map(&r, "2001:db8:1::20", 1, 17, 8000, 8000, 0);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_NOT_AUTHORIZED);
	/* THIRD_PARTY naming an IPv4 host does not turn it into an IPv4 mapping. */
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 8000, 600);
	{
		uint8_t tp[16];

		v4(tp, "192.168.1.20");
		add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 16);
	}
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->x.chg.maps, 0);
	/* NAT-PMP is IPv4 only. */
	assert_int_equal(send_raw(f, "2001:db8:1::20", natpmp, 2), PCP_HEADER_LEN);
	assert_int_equal(f->out[0], 2);
	assert_int_equal(f->out[3], PCP_UNSUPP_VERSION);
	fx_free(f);
	/* NAT-PMP only, asked over IPv6: no answer at all. */
	f = fx_new("enable_pcp = no");
	assert_int_equal(send_raw(f, "2001:db8:1::20", natpmp, 2), 0);
	assert_int_equal(send_raw(f, "192.168.1.20", natpmp, 2), 12);
	fx_free(f);
}

/* The LAN of the fixture with an IPv6 prefix too. */
static struct fx *fx_new6(const char *extra)
{
	static const char *const addrs[] = { "fe80::1/64", "2001:db8:1::1/64" };
	struct fx *f = fx_new(extra);
	struct lan_addr_event ev;
	size_t i;

	if (f->x.e.lans[0].ifindex == 0)
		lan_set_ifindex(&f->x.e.lans[0], 7);
	for (i = 0; i < 2; i++) {
		assert_int_equal(lan_event_parse(str_cstr(addrs[i]), f->x.e.lans[0].ifindex, true, 0,
						 &ev), 0);
		lan_apply(&f->x.e.lans[0], &ev);
	}
	return f;
}

static const uint8_t *out_ext_ip(const struct fx *f)
{
	return f->out + PCP_HEADER_LEN + 20;
}

/*
 * MAP for an IPv6 address in firewall mode (RFC 6887 sections 10, 11.1,
 * 11.3, 13.2, 15): a pinhole from anywhere to the client's own address
 * and port; the assigned external address and port are the internal
 * ones; the nonce guards renewal and deletion; the pinhole policy
 * (own address, port >= 1024, the LAN's global prefix), its limits and
 * protocols (TCP, UDP, UDP-Lite) apply; pinholes = no refuses.
 */
static void test_ipv6_pinhole(void **state)
{
	struct fx *f = fx_new6("max_pinholes_per_client = 2");
	struct in6_addr a;
	struct req r;
	uint8_t tp[16];

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::20", &a), 1);
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	assert_int_equal(out_life(f), 600);
	assert_int_equal(out_eport(f), 8000);
	assert_memory_equal(out_ext_ip(f), a.s6_addr, 16);
	assert_int_equal(pin_count(f->x.e.pins), 1);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 1);
	assert_int_equal(map_count(f->x.e.maps), 0);
	/* A renewal with another suggested port: the internal port again. */
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 9000, 1200);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	assert_int_equal(out_eport(f), 8000);
	assert_int_equal(pin_count(f->x.e.pins), 1);
	/* ... which PREFER_FAILURE turns into CANNOT_PROVIDE_EXTERNAL (13.2). */
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_CANNOT_PROVIDE_EXTERNAL);
	/* Another nonce may neither renew nor delete it (11.3). */
	mk_map(&r, "2001:db8:1::20", 2, 6, 8000, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_NOT_AUTHORIZED);
	mk_map(&r, "2001:db8:1::20", 2, 6, 8000, 0, 0);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(pin_count(f->x.e.pins), 1);
	/* Protocols: UDP-Lite yes, ICMPv6 no. */
	mk_map(&r, "2001:db8:1::20", 1, 136, 8001, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	mk_map(&r, "2001:db8:1::20", 1, 58, 8001, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_UNSUPP_PROTOCOL);
	/* The policy: a well-known port, another host (THIRD_PARTY), an
	 * address outside the LAN's global prefix. */
	mk_map(&r, "2001:db8:1::30", 1, 6, 80, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::30", &r), PCP_NOT_AUTHORIZED);
	mk_map(&r, "2001:db8:1::30", 1, 6, 8000, 0, 600);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::40", tp), 1);
	add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 16);
	assert_int_equal(send_req(f, "2001:db8:1::30", &r), PCP_NOT_AUTHORIZED);
	mk_map(&r, "2001:db8:7::30", 1, 6, 8000, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:7::30", &r), PCP_NOT_AUTHORIZED);
	/* The per-client limit: USER_EX_QUOTA. */
	mk_map(&r, "2001:db8:1::20", 1, 17, 8002, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_USER_EX_QUOTA);
	assert_int_equal(pin_count(f->x.e.pins), 2);
	/* Lifetime 0 with the nonce deletes (15); again: nothing to delete. */
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 0, 0);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	assert_int_equal(pin_count(f->x.e.pins), 1);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	/* Protocol 0, lifetime 0: every PCP pinhole of the client's port. */
	mk_map(&r, "2001:db8:1::20", 1, 0, 0, 0, 0);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	assert_int_equal(pin_count(f->x.e.pins), 0);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 0);
	/* Leases: a pinhole's lifetime runs on the engine's clock. */
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	f->x.now += 601u * 1000u;
	engine_tick(&f->x.e);
	assert_int_equal(pin_count(f->x.e.pins), 0);
	fx_free(f);

	f = fx_new6("pinholes = no");
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(out_life(f), PCP_ERROR_LIFETIME_LONG);
	fx_free(f);
}

/* A new delegated prefix: pinholes to the old one close once the LAN has
 * the new one (engine_lan_changed()), not while it has none. */
static void test_ipv6_pinhole_renumbered(void **state)
{
	struct fx *f = fx_new6("");
	struct lan_addr_event ev;
	struct req r;

	(void)state;
	mk_map(&r, "2001:db8:1::20", 1, 6, 8000, 0, 600);
	assert_int_equal(send_req(f, "2001:db8:1::20", &r), PCP_SUCCESS);
	assert_int_equal(lan_event_parse(str_cstr("2001:db8:1::1/64"), f->x.e.lans[0].ifindex, false,
					 0, &ev), 0);
	lan_apply(&f->x.e.lans[0], &ev);
	assert_int_equal(engine_lan_changed(&f->x.e, 0), 0);     /* no global prefix: kept */
	assert_int_equal(pin_count(f->x.e.pins), 1);
	assert_int_equal(lan_event_parse(str_cstr("2001:db8:2::1/64"), f->x.e.lans[0].ifindex, true,
					 0, &ev), 0);
	lan_apply(&f->x.e.lans[0], &ev);
	assert_int_equal(engine_lan_changed(&f->x.e, 0), 1);
	assert_int_equal(pin_count(f->x.e.pins), 0);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 0);
	fx_free(f);
}

static void test_map_renew_delete(void **state)
{
	struct fx *f = fx_new("");
	struct mapping *m;
	uint8_t ext[16];
	struct req r;

	(void)state;
	v4(ext, "203.0.113.1");
	mk_map(&r, "192.168.1.20", 1, 6, 8080, 9090, 3600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(f->outlen, PCP_HEADER_LEN + PCP_MAP_LEN);
	assert_int_equal(out_eport(f), 9090);
	assert_int_equal(out_life(f), 3600);
	assert_memory_equal(f->out + 24, r.b + 24, 12);
	assert_memory_equal(f->out + 24 + 20, ext, 16);
	assert_int_equal(f->x.chg.maps, 1);
	m = map_find(f->x.e.maps, MAP_TCP, 9090, (struct in_addr){ 0 });
	assert_non_null(m);
	assert_int_equal(m->origin, MAP_ORIGIN_PCP);
	assert_string_equal(m->desc, "PCP 192.168.1.20:8080");
	/* Renewal, same nonce: same port, no event. */
	f->x.now += 100000;
	mk_map(&r, "192.168.1.20", 1, 6, 8080, 0, 10);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(out_eport(f), 9090);
	assert_int_equal(out_life(f), 120);
	assert_int_equal(f->x.chg.maps, 1);
	/* Another nonce: NOT_AUTHORIZED, for renewals and deletes (11.3). */
	mk_map(&r, "192.168.1.20", 2, 6, 8080, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	mk_map(&r, "192.168.1.20", 2, 6, 8080, 0, 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(map_count(f->x.e.maps), 1);
	/* Delete with the nonce. */
	mk_map(&r, "192.168.1.20", 1, 6, 8080, 0, 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(out_life(f), 0);
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->x.chg.maps, 2);
	assert_int_equal(f->removed, 1);
	/* UDP, and a protocol we do not map. */
	mk_map(&r, "192.168.1.20", 1, 17, 5353, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(out_eport(f), 5353);
	mk_map(&r, "192.168.1.20", 1, 132, 5353, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_UNSUPP_PROTOCOL);
	mk_map(&r, "192.168.1.20", 1, 0, 0, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_UNSUPP_PROTOCOL);
	/* "All ports" is not offered. */
	mk_map(&r, "192.168.1.20", 1, 6, 0, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	fx_free(f);
}

static void test_delete_all(void **state)
{
	struct fx *f = fx_new("");
	struct req r;

	(void)state;
	mk_map(&r, "192.168.1.20", 1, 6, 6001, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	mk_map(&r, "192.168.1.20", 1, 17, 6002, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	mk_map(&r, "192.168.1.20", 3, 17, 6003, 0, 600);       /* another nonce */
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	assert_int_equal(f->x.chg.maps, 3);
	/* Protocol 0, port 0, lifetime 0: every mapping of that nonce. */
	mk_map(&r, "192.168.1.20", 1, 0, 0, 0, 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	assert_int_equal(map_count(f->x.e.maps), 1);
	assert_int_equal(f->x.chg.maps, 4);
	assert_non_null(map_find(f->x.e.maps, MAP_UDP, 6003, (struct in_addr){ 0 }));
	fx_free(f);
}

static void test_prefer_failure_and_conflict(void **state)
{
	struct fx *f = fx_new("");
	uint8_t other[16];
	struct req r;

	(void)state;
	mk_map(&r, "192.168.1.20", 1, 6, 7000, 7000, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	/* Held by another client: another port, or CANNOT_PROVIDE_EXTERNAL. */
	mk_map(&r, "192.168.1.30", 1, 6, 7000, 7000, 600);
	assert_int_equal(send_req(f, "192.168.1.30", &r), 0);
	assert_int_equal(out_eport(f), 7001);
	mk_map(&r, "192.168.1.30", 2, 6, 7005, 7000, 600);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(send_req(f, "192.168.1.30", &r), PCP_CANNOT_PROVIDE_EXTERNAL);
	assert_int_equal(out_life(f), PCP_ERROR_LIFETIME_SHORT);
	/* An external address we do not have, with PREFER_FAILURE. */
	mk_map(&r, "192.168.1.30", 2, 6, 7005, 7005, 600);
	v4(other, "198.51.100.1");
	memcpy(r.b + 24 + 20, other, 16);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(send_req(f, "192.168.1.30", &r), PCP_CANNOT_PROVIDE_EXTERNAL);
	/* Without it: our address, and the option's echo. */
	mk_map(&r, "192.168.1.30", 2, 6, 7005, 7005, 600);
	memcpy(r.b + 24 + 20, other, 16);
	assert_int_equal(send_req(f, "192.168.1.30", &r), 0);
	assert_int_equal(out_eport(f), 7005);
	assert_memory_equal(f->out + 24 + 32, "\xcb\x00\x71\x01", 4);
	mk_map(&r, "192.168.1.30", 2, 6, 7006, 7006, 600);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(send_req(f, "192.168.1.30", &r), 0);
	assert_int_equal(f->outlen, PCP_HEADER_LEN + PCP_MAP_LEN + 4);
	fx_free(f);
}

/* Ports the gateway keeps (sim_static_forward here): another port, or
 * CANNOT_PROVIDE_EXTERNAL with PREFER_FAILURE. */
static void test_router_ports(void **state)
{
	struct fx *f = fx_new("sim_static_forward = TCP 8443\nsim_static_forward = UDP 3478-3479");
	struct req r;

	(void)state;
	mk_map(&r, "192.168.1.20", 1, 6, 8443, 8443, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	assert_int_equal(out_eport(f), 8444);
	mk_map(&r, "192.168.1.20", 2, 17, 3478, 3478, 600);
	add_opt(&r, PCP_OPT_PREFER_FAILURE, NULL, 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_CANNOT_PROVIDE_EXTERNAL);
	mk_map(&r, "192.168.1.20", 2, 17, 3478, 3478, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	assert_int_equal(out_eport(f), 3480);
	assert_int_equal(map_count(f->x.e.maps), 2);
	fx_free(f);
}

static void test_filter(void **state)
{
	struct fx *f = fx_new("");
	uint8_t filter[20] = { 0 };
	struct req r;

	(void)state;
	/* A real filter cannot be kept: UNSUPP_OPTION (13.3 is mandatory). */
	mk_map(&r, "192.168.1.20", 1, 6, 7000, 7000, 600);
	filter[1] = 128;
	v4(filter + 4, "198.51.100.9");
	add_opt(&r, PCP_OPT_FILTER, filter, 20);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_UNSUPP_OPTION);
	assert_int_equal(map_count(f->x.e.maps), 0);
	/* Prefix 0 ("no filter") is what we do anyway. */
	mk_map(&r, "192.168.1.20", 1, 6, 7000, 7000, 600);
	memset(filter, 0, sizeof(filter));
	add_opt(&r, PCP_OPT_FILTER, filter, 20);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	assert_int_equal(f->outlen, PCP_HEADER_LEN + PCP_MAP_LEN + 24);
	fx_free(f);
}

static void test_third_party(void **state)
{
	struct fx *f = fx_new("");
	struct mapping *m;
	uint8_t tp[16];
	struct req r;

	(void)state;
	v4(tp, "192.168.1.50");
	mk_map(&r, "192.168.1.20", 1, 6, 7000, 7000, 600);
	add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 16);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(map_count(f->x.e.maps), 0);
	fx_free(f);

	/* secure_mode = no alone does not allow it: its own key does. */
	f = fx_new("secure_mode = no");
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(map_count(f->x.e.maps), 0);
	fx_free(f);

	/* pcp_third_party = yes, in secure mode too: the mapping is the
	 * named host's own (owner, policy, restore and reload checks). */
	f = fx_new("pcp_third_party = yes");
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	m = map_find(f->x.e.maps, MAP_TCP, 7000, (struct in_addr){ 0 });
	assert_non_null(m);
	assert_int_equal(m->internal_client.s_addr, ip("192.168.1.50").s_addr);
	assert_int_equal(m->owner.s_addr, ip("192.168.1.50").s_addr);
	assert_true(engine_policy_allows(&f->x.e, m));
	assert_int_equal(f->outlen, PCP_HEADER_LEN + PCP_MAP_LEN + 20);
	/* The same request again renews it (same nonce, same third party). */
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(map_count(f->x.e.maps), 1);
	/* The ACL still judges the named host. */
	fx_free(f);
	f = fx_new("pcp_third_party = yes\nacl = deny 0-65535 192.168.1.50 0-65535");
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	assert_int_equal(map_count(f->x.e.maps), 0);
	/* Not a LAN host. */
	v4(tp, "10.9.9.9");
	mk_map(&r, "192.168.1.20", 1, 6, 7001, 7001, 600);
	add_opt(&r, PCP_OPT_THIRD_PARTY, tp, 16);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	fx_free(f);
}

static void test_failures(void **state)
{
	struct fx *f = fx_new("max_mappings = 2\nmax_mappings_per_client = 1\n"
			      "acl = deny 1024-65535 192.168.1.66 0-65535");
	struct req r;

	(void)state;
	mk_map(&r, "192.168.1.20", 1, 6, 7000, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), 0);
	mk_map(&r, "192.168.1.20", 1, 6, 7001, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_USER_EX_QUOTA);
	assert_int_equal(out_life(f), PCP_ERROR_LIFETIME_SHORT);
	mk_map(&r, "192.168.1.30", 1, 6, 7001, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.30", &r), 0);
	mk_map(&r, "192.168.1.40", 1, 6, 7002, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.40", &r), PCP_NO_RESOURCES);
	/* Policy: a well-known port, an ACL deny. */
	mk_map(&r, "192.168.1.40", 1, 6, 22, 22, 600);
	assert_int_equal(send_req(f, "192.168.1.40", &r), PCP_NOT_AUTHORIZED);
	mk_map(&r, "192.168.1.66", 1, 6, 7003, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.66", &r), PCP_NOT_AUTHORIZED);
	/* The WAN down: NETWORK_FAILURE (short lifetime error). */
	assert_int_equal(wanconn_request_termination(f->x.e.wan, f->x.now), 0);
	mk_map(&r, "192.168.1.30", 1, 6, 7001, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.30", &r), PCP_NETWORK_FAILURE);
	assert_int_equal(out_life(f), PCP_ERROR_LIFETIME_SHORT);
	fx_free(f);
}

static void test_backend_failure_and_natpmp_shared(void **state)
{
	struct fx *f = fx_new("");
	static const uint8_t natpmp_map[12] = { 0, 2, 0, 0, 0x1b, 0x58, 0x1b, 0x58,
						0, 0, 0x02, 0x58 };
	struct req r;

	(void)state;
	f->fail_apply = true;
	mk_map(&r, "192.168.1.20", 1, 6, 7000, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NO_RESOURCES);
	assert_int_equal(map_count(f->x.e.maps), 0);
	f->fail_apply = false;
	/* A NAT-PMP mapping (no nonce) is renewed by PCP (RFC 6887 Appendix A)
	 * and takes the PCP nonce. */
	assert_int_equal(send_raw(f, "192.168.1.20", natpmp_map, 12), 16);
	assert_int_equal(be16_get(f->out + 2), 0);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_int_equal(out_eport(f), 7000);
	assert_int_equal(map_count(f->x.e.maps), 1);
	mk_map(&r, "192.168.1.20", 9, 6, 7000, 0, 600);
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_NOT_AUTHORIZED);
	fx_free(f);
}

/* While a change is under way (engine_tx.h): a MAP or PEER and a
 * NAT-PMP mapping request are changes (net/pcp_io.c lets them wait for
 * their turn), an ANNOUNCE and the NAT-PMP address request are not; a
 * change refused for a full queue answers NO_RESOURCES; a request handled
 * meanwhile first lets the change under way complete. */
static void test_change_under_way(void **state)
{
	struct fx *f = fx_new("");
	struct ipaddr from = ipaddr_from_v4(ip("192.168.1.20"));
	uint8_t np_ext[2] = { 0, 0 }, np_map[12] = { 0, 2 };
	struct mapping t;
	struct engine_tx tx;
	struct req r;
	size_t n;

	(void)state;
	mk_map(&r, "192.168.1.20", 1, 6, 8080, 9090, 3600);
	assert_true(pcp_svc_changes(r.b, r.len));
	mk_header(&r, PCP_OP_ANNOUNCE, 0, "192.168.1.20");
	assert_false(pcp_svc_changes(r.b, r.len));
	assert_false(pcp_svc_changes(np_ext, sizeof(np_ext)));
	assert_true(pcp_svc_changes(np_map, sizeof(np_map)));
	mk_map(&r, "192.168.1.20", 1, 6, 8080, 9090, 3600);
	n = pcp_svc_busy(&f->svc, &from, r.b, r.len, f->out);
	assert_true(n >= PCP_HEADER_LEN);
	assert_int_equal(f->out[3], PCP_NO_RESOURCES);
	be16_put(np_map + 4, 8080);
	be16_put(np_map + 6, 9090);
	be32_put(np_map + 8, 3600);
	assert_int_equal(pcp_svc_busy(&f->svc, &from, np_map, sizeof(np_map), f->out), 16);
	assert_int_equal(be16_get(f->out + 2), NATPMP_OUT_OF_RESOURCES);
	assert_int_equal(map_count(f->x.e.maps), 0);

	/* An add under way (held); a PCP MAP of the same port completes it
	 * first, then sees it: another port. */
	t = fx_mapping("192.168.1.30", 9090);
	backend_sim_hold(&f->x.e.backend, true);
	engine_tx_init(&tx, 0);
	tx.done = tx_noted;
	assert_int_equal(engine_map_add(&f->x.e, &tx, &t, STR_LIT("u")), ENGINE_TX_PENDING);
	assert_true(engine_tx_busy(&f->x.e));
	assert_int_equal(send_req(f, "192.168.1.20", &r), PCP_SUCCESS);
	assert_false(engine_tx_busy(&f->x.e));
	assert_int_equal(noted, 1);
	assert_true(out_eport(f) != 9090);
	assert_int_equal(map_count(f->x.e.maps), 2);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_parse_map_options),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_announce_and_mismatch),
		cmocka_unit_test(test_map_renew_delete),
		cmocka_unit_test(test_change_under_way),
		cmocka_unit_test(test_delete_all),
		cmocka_unit_test(test_prefer_failure_and_conflict),
		cmocka_unit_test(test_router_ports),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_third_party),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ipv6_pinhole),
		cmocka_unit_test(test_ipv6_pinhole_renumbered),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_backend_failure_and_natpmp_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
