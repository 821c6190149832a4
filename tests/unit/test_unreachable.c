/*
 * test_unreachable.c - unreachable_wan (docs/POLICY.md "Behind another
 * NAT", docs/CONFIG.md): with refuse, while the WAN address is not
 * public and no upstream mirrors mappings, a new mapping is refused by
 * every LAN protocol: UPnP AddPortMapping / AddAnyPortMapping 729
 * ConflictWithOtherMechanisms (WANIPConnection:2 2.5.16.6), NAT-PMP 3
 * Network Failure (RFC 6886 3.5), PCP MAP NETWORK_FAILURE (RFC 6887
 * 7.4); existing mappings stay and renew; keep, a public address
 * (wan_public = yes) or a mirroring upstream grant as before. igddctl's
 * mappings are the admin's and never refused.
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
#include "proto/pcp.h"
#include "svc/action.h"
#include "svc/ctl.h"
#include "svc/pcp.h"
#include "svc/wanipconn.h"
#include "util/buf.h"
#include "util/str.h"

#include "pcp_fixture.h"

/* The fixture's WAN address, 203.0.113.1 (TEST-NET-3): not public by
 * its class (core/addrclass.h). */
#define PRIVATE_WAN ""

/* The engine with extra, its WAN address classified as the daemon does
 * at start. */
static struct fx *fx_wan(const char *extra)
{
	struct fx *f = fx_new(extra);

	engine_wan_classify(&f->x.e);
	assert_true(f->x.e.wan_classified);
	return f;
}

static const struct action *find_action(const char *name)
{
	const struct service *svc = wanipconn_service();
	unsigned i;

	for (i = 0; i < svc->nactions; i++)
		if (strcmp(svc->actions[i].name, name) == 0)
			return &svc->actions[i];
	fail_msg("no action %s", name);
	return NULL;
}

/* AddPortMapping or AddAnyPortMapping from 192.168.1.20 for itself,
 * TCP port (external and internal), an hour: the UPnP code (0: done). */
static int upnp_add(struct fx *f, const char *action, unsigned port)
{
	static const char *const names[] = {
		"NewRemoteHost", "NewExternalPort", "NewProtocol", "NewInternalPort",
		"NewInternalClient", "NewEnabled", "NewPortMappingDescription",
		"NewLeaseDuration",
	};
	char p[8];
	const char *vals[8] = { "", p, "TCP", p, "192.168.1.20", "1", "t", "3600" };
	struct action_ctx ctx;
	struct buf out;
	unsigned j, k;
	int r;

	snprintf(p, sizeof(p), "%u", port);
	memset(&ctx, 0, sizeof(ctx));
	ctx.e = &f->x.e;
	ctx.svc = wanipconn_service();
	ctx.act = find_action(action);
	ctx.version = 2;
	ctx.peer = ipaddr_from_v4(ip("192.168.1.20"));
	for (j = 0; j < ctx.act->nargs; j++) {
		uint64_t u = 0;

		if (ctx.act->args[j].out)
			continue;
		for (k = 0; k < 8 && strcmp(names[k], ctx.act->args[j].name); k++)
			;
		assert_true(k < 8);
		ctx.in[j].present = true;
		ctx.in[j].text = str_cstr(vals[k]);
		if (k == 1 || k == 3 || k == 7)
			assert_int_equal(str_to_u64(ctx.in[j].text, UINT32_MAX, &u), 0);
		if (k == 5)
			assert_int_equal(str_to_bool(ctx.in[j].text, &ctx.in[j].b), 0);
		ctx.in[j].u = (uint32_t)u;
	}
	buf_init(&out, 1 << 16);
	ctx.out = &out;
	r = ctx.act->fn(&ctx);
	buf_free(&out);
	return r;
}

/* A NAT-PMP TCP map request from 192.168.1.20: its result code. */
static unsigned natpmp_map(struct fx *f, uint16_t port, uint32_t life)
{
	uint8_t q[12] = { 0, 2, 0, 0, (uint8_t)(port >> 8), (uint8_t)port,
			  (uint8_t)(port >> 8), (uint8_t)port, (uint8_t)(life >> 24),
			  (uint8_t)(life >> 16), (uint8_t)(life >> 8), (uint8_t)life };

	assert_int_equal(send_raw(f, "192.168.1.20", q, sizeof(q)), NATPMP_RESP_MAP_LEN);
	return be16_get(f->out + 2);
}

/* A PCP MAP for TCP port from 192.168.1.20: its result code. */
static unsigned pcp_map(struct fx *f, uint16_t port)
{
	uint8_t q[PCP_HEADER_LEN + PCP_MAP_LEN];
	uint8_t *m = q + PCP_HEADER_LEN;

	memset(q, 0, sizeof(q));
	q[0] = 2;
	q[1] = PCP_OP_MAP;
	be32_put(q + 4, 3600);
	pcp_addr_from_v4(q + 8, ip("192.168.1.20"));
	memset(m, 7, PCP_NONCE_LEN);
	m[12] = 6;
	be16_put(m + 16, port);
	be16_put(m + 18, port);
	assert_true(send_raw(f, "192.168.1.20", q, sizeof(q)) >= PCP_HEADER_LEN);
	assert_int_equal(f->out[1], PCP_OP_MAP | 0x80);
	return f->out[3];
}

/* Every LAN protocol gets code ok (true) or the refusal (false). */
static void check_all(struct fx *f, bool ok)
{
	size_t before = map_count(f->x.e.maps);

	assert_int_equal(upnp_add(f, "AddPortMapping", 5001),
			 ok ? 0 : UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS);
	assert_int_equal(upnp_add(f, "AddAnyPortMapping", 5002),
			 ok ? 0 : UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS);
	assert_int_equal(natpmp_map(f, 5003, 3600), ok ? NATPMP_SUCCESS : NATPMP_NETWORK_FAILURE);
	assert_int_equal(pcp_map(f, 5004), ok ? PCP_SUCCESS : PCP_NETWORK_FAILURE);
	assert_int_equal(map_count(f->x.e.maps), before + (ok ? 4 : 0));
}

static void test_refuse_private_no_upstream(void **state)
{
	struct fx *f = fx_wan(PRIVATE_WAN "unreachable_wan = refuse");

	(void)state;
	assert_false(engine_wan_public(&f->x.e));
	assert_int_equal(f->x.e.upstream.mode, UPSTREAM_OFF);
	check_all(f, false);
	assert_int_equal(f->x.e.upstream.mode, UPSTREAM_OFF);
	f->x.e.upstream.mode = UPSTREAM_NONE;   /* asked, nobody answered */
	check_all(f, false);
	fx_free(f);
}

static void test_keep(void **state)
{
	struct fx *f = fx_wan("");              /* the default: keep */

	(void)state;
	assert_int_equal(f->x.cfg.unreachable_wan, CONFIG_UNREACHABLE_KEEP);
	check_all(f, true);
	fx_free(f);
}

static void test_public(void **state)
{
	struct fx *f = fx_wan(PRIVATE_WAN "unreachable_wan = refuse\nwan_public = yes");

	(void)state;
	check_all(f, true);
	fx_free(f);
}

/* An upstream that mirrors mappings (or may: still probing) makes them
 * reachable: granted. */
static void test_upstream_mirrors(void **state)
{
	static const enum upstream_mode modes[] = {
		UPSTREAM_PROBING, UPSTREAM_PCP, UPSTREAM_NATPMP, UPSTREAM_UPNP,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct fx *f = fx_wan(PRIVATE_WAN "unreachable_wan = refuse");

		f->x.e.upstream.mode = modes[i];
		check_all(f, true);
		fx_free(f);
	}
}

/* A reload to refuse: what exists stays and renews; new ones are
 * refused; back to keep, granted again. */
static void test_existing_stay(void **state)
{
	struct fx *f = fx_wan("");
	size_t n;

	(void)state;
	check_all(f, true);
	n = map_count(f->x.e.maps);
	f->x.cfg.unreachable_wan = CONFIG_UNREACHABLE_REFUSE;
	assert_int_equal(natpmp_map(f, 5003, 7200), NATPMP_SUCCESS);   /* a renewal */
	assert_int_equal(pcp_map(f, 5004), PCP_SUCCESS);               /* same nonce */
	assert_int_equal(upnp_add(f, "AddPortMapping", 5001), 0);      /* a refresh */
	assert_int_equal(natpmp_map(f, 6003, 3600), NATPMP_NETWORK_FAILURE);
	assert_int_equal(upnp_add(f, "AddPortMapping", 6001), UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS);
	assert_int_equal(map_count(f->x.e.maps), n);
	f->x.cfg.unreachable_wan = CONFIG_UNREACHABLE_KEEP;
	assert_int_equal(natpmp_map(f, 6003, 3600), NATPMP_SUCCESS);
	assert_int_equal(map_count(f->x.e.maps), n + 1);
	fx_free(f);
}

/* The refusal is logged once per change of state, not per request. */
static void test_state_once(void **state)
{
	struct fx *f = fx_wan(PRIVATE_WAN "unreachable_wan = refuse");

	(void)state;
	assert_false(f->x.e.refusing_unreachable);
	assert_true(engine_refuses_unreachable(&f->x.e));
	assert_true(f->x.e.refusing_unreachable);
	f->x.e.upstream.mode = UPSTREAM_PCP;
	assert_false(engine_refuses_unreachable(&f->x.e));
	assert_false(f->x.e.refusing_unreachable);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuse_private_no_upstream),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_upstream_mirrors),
		cmocka_unit_test(test_existing_stay),
		cmocka_unit_test(test_state_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
