/*
 * test_pinhole.c - core/pinhole (the IPv6 pinhole table,
 * WANIPv6FirewallControl:1 2.4.9 UniqueID, 2.6.3 - 2.6.5) and
 * core/pin_policy (2.6.3.3 AddPinhole's service requirements and the
 * pinhole_acl rules), as rows of (configuration, request) -> verdict.
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
#include "conf/policy_conf.h"
#include "core/clock.h"
#include "core/lan.h"
#include "core/pin_policy.h"
#include "core/pinhole.h"
#include "util/ipaddr.h"
#include "util/str.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t fake_now = 1000000;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct pinhole tmpl(const char *client, uint16_t port, uint8_t proto)
{
	struct pinhole p;

	memset(&p, 0, sizeof(p));
	p.internal = a6(client);
	p.int_port = port;
	p.proto = proto;
	p.owner = ipaddr_from_v6(&p.internal, 0);
	return p;
}

/* UniqueIDs are distinct, never 0, and not a sequence: the second
 * differs from the first plus one (a probing client learns nothing). */
static void test_uids(void **state)
{
	struct clock clk = { fake_clock, NULL };
	struct pin_limits lim = { 20000, 0 };
	struct pin_table *t = pin_table_new(&lim, &clk, 0x1234);
	static bool seen[65536];
	struct pinhole p = tmpl("2001:db8:1::20", 1, PIN_PROTO_TCP), *got, *first = NULL;
	unsigned i, seq = 0;
	uint16_t prev = 0;

	(void)state;
	assert_non_null(t);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 10000; i++) {
		p.int_port = (uint16_t)(1 + i);
		p.owner.family = 0;
		assert_int_equal(pin_add(t, &p, &got), PIN_OK);
		assert_int_not_equal(got->uid, 0);
		assert_false(seen[got->uid]);
		seen[got->uid] = true;
		if (i && got->uid == (uint16_t)(prev + 1))
			seq++;
		prev = got->uid;
		if (!first)
			first = got;
	}
	assert_true(seq < 10);
	assert_int_equal(pin_count(t), 10000);
	/* Sorted walk and lookups. */
	prev = 0;
	for (got = pin_first(t), i = 0; got; got = pin_next(t, got), i++) {
		assert_true(got->uid > prev);
		prev = got->uid;
		assert_ptr_equal(pin_find(t, got->uid), got);
	}
	assert_int_equal(i, 10000);
	assert_non_null(pin_find_tuple(t, &first->remote, 0, &first->internal, 1, PIN_PROTO_TCP));
	assert_null(pin_find_tuple(t, &first->remote, 0, &first->internal, 1, PIN_PROTO_UDP));
	pin_table_free(t);
}

/* The total and the per-client / per-owner limits (701). */
static void test_limits(void **state)
{
	struct clock clk = { fake_clock, NULL };
	struct pin_limits lim = { 5, 2 };
	struct pin_table *t = pin_table_new(&lim, &clk, 1);
	struct pinhole p = tmpl("2001:db8:1::20", 5000, PIN_PROTO_TCP), *got;

	(void)state;
	assert_int_equal(pin_add(t, &p, &got), PIN_OK);
	p.int_port++;
	assert_int_equal(pin_add(t, &p, &got), PIN_OK);
	p.int_port++;
	assert_int_equal(pin_add(t, &p, &got), PIN_CLIENT_FULL);
	/* Another owner for the same client: the client's count still holds. */
	p.owner = ipaddr_from_v6((const struct in6_addr[]){ a6("2001:db8:1::99") }, 0);
	assert_int_equal(pin_add(t, &p, &got), PIN_CLIENT_FULL);
	/* The same owner for other clients: its own count holds. */
	p = tmpl("2001:db8:1::30", 5000, PIN_PROTO_UDP);
	p.owner = ipaddr_from_v6((const struct in6_addr[]){ a6("2001:db8:1::20") }, 0);
	assert_int_equal(pin_add(t, &p, &got), PIN_CLIENT_FULL);
	p.owner.family = 0;
	assert_int_equal(pin_add(t, &p, &got), PIN_OK);
	p.int_port++;
	assert_int_equal(pin_add(t, &p, &got), PIN_OK);
	p = tmpl("2001:db8:1::40", 5000, PIN_PROTO_UDP);
	assert_int_equal(pin_add(t, &p, &got), PIN_OK);
	p.int_port++;
	assert_int_equal(pin_add(t, &p, &got), PIN_FULL);
	assert_int_equal(pin_count(t), 5);
	assert_int_equal(pin_client_count(t, &p.internal), 1);
	pin_table_free(t);
}

static unsigned expired_n;

static void on_expired(const struct pinhole *p, void *arg)
{
	(void)p;
	(void)arg;
	expired_n++;
}

/* Leases: the earliest end, expiry at and after it, static never. */
static void test_expire(void **state)
{
	struct clock clk = { fake_clock, NULL };
	struct pin_limits lim = { 10, 0 };
	struct pin_table *t = pin_table_new(&lim, &clk, 1);
	struct pinhole p = tmpl("2001:db8:1::20", 5000, PIN_PROTO_TCP), *a, *b, *c;

	(void)state;
	fake_now = 1000000;
	p.lease_end_ms = pin_lease_end(t, 60);
	assert_int_equal(pin_add(t, &p, &a), PIN_OK);
	p.int_port++;
	p.lease_end_ms = pin_lease_end(t, 30);
	assert_int_equal(pin_add(t, &p, &b), PIN_OK);
	p.int_port++;
	p.lease_end_ms = 0;
	assert_int_equal(pin_add(t, &p, &c), PIN_OK);
	assert_int_equal(pin_next_expiry(t), 1030000);
	assert_int_equal(pin_lease_remaining(t, a), 60);
	assert_int_equal(pin_lease_remaining(t, c), 0);
	fake_now = 1029999;
	expired_n = 0;
	assert_int_equal(pin_expire(t, fake_now, on_expired, NULL), 0);
	fake_now = 1030000;
	assert_int_equal(pin_expire(t, fake_now, on_expired, NULL), 1);
	assert_int_equal(expired_n, 1);
	assert_int_equal(pin_next_expiry(t), 1060000);
	fake_now = 99999999;
	assert_int_equal(pin_expire(t, fake_now, NULL, NULL), 1);
	assert_int_equal(pin_count(t), 1);
	assert_int_equal(pin_next_expiry(t), 0);
	pin_table_free(t);
}

/* ---- the policy ---- */

struct row {
	const char *acl[3];
	const char *peer;
	const char *client;
	uint16_t port;
	unsigned lan;                   /* the LAN the request arrived on */
	enum policy_verdict want;
};

static const struct row rows[] = {
	/* No rule: own address, port >= 1024. */
	{ { NULL }, "2001:db8:1::20", "2001:db8:1::20", 5555, 0, POLICY_ALLOW },
	{ { NULL }, "2001:db8:1::20", "2001:db8:1::20", 1024, 0, POLICY_ALLOW },
	{ { NULL }, "2001:db8:1::20", "2001:db8:1::20", 1023, 0, POLICY_DENY_PORT },
	{ { NULL }, "2001:db8:1::20", "2001:db8:1::30", 5555, 0, POLICY_DENY_THIRD_PARTY },
	/* A link-local control point asking for its GUA: not its own address. */
	{ { NULL }, "fe80::20", "2001:db8:1::20", 5555, 0, POLICY_DENY_THIRD_PARTY },
	/* Step 1: never outside the LAN's global prefixes or the gateway. */
	{ { NULL }, "2001:db8:1::1", "2001:db8:1::1", 5555, 0, POLICY_DENY_CLIENT },
	{ { NULL }, "fd00:1::20", "fd00:1::20", 5555, 0, POLICY_DENY_CLIENT },
	{ { NULL }, "fe80::20", "fe80::20", 5555, 0, POLICY_DENY_CLIENT },
	{ { NULL }, "2001:db8:9::20", "2001:db8:9::20", 5555, 0, POLICY_DENY_CLIENT },
	{ { NULL }, "2001:db8:2::20", "2001:db8:2::20", 5555, 0, POLICY_DENY_CLIENT },
	{ { NULL }, "2001:db8:2::20", "2001:db8:2::20", 5555, 1, POLICY_ALLOW },
	/* Step 1b. */
	{ { NULL }, "192.168.1.20", "2001:db8:1::20", 5555, 0, POLICY_DENY_FAMILY },
	/* Rules: allow lifts third party and port; deny wins when first. */
	{ { "allow 2001:db8:1::/64 1-65535" }, "2001:db8:1::20", "2001:db8:1::30", 80, 0,
	  POLICY_ALLOW },
	{ { "allow 2001:db8:1::/64 1-65535" }, "2001:db8:1::20", "2001:db8:1::1", 5555, 0,
	  POLICY_DENY_CLIENT },
	{ { "allow 2001:db8:1::/64 1-65535" }, "192.168.1.20", "2001:db8:1::30", 5555, 0,
	  POLICY_DENY_FAMILY },
	{ { "deny ::/0 0-65535" }, "2001:db8:1::20", "2001:db8:1::20", 5555, 0,
	  POLICY_DENY_RULE },
	{ { "deny 2001:db8:1::20 6000-6999", "allow ::/0 0-65535" }, "2001:db8:1::20",
	  "2001:db8:1::20", 6001, 0, POLICY_DENY_RULE },
	{ { "deny 2001:db8:1::20 6000-6999", "allow ::/0 0-65535" }, "2001:db8:1::20",
	  "2001:db8:1::20", 7000, 0, POLICY_ALLOW },
	/* A rule naming a LAN applies to requests arriving on it only. */
	{ { "allow 2001:db8:2::/64 1-65535 on guest0" }, "2001:db8:2::20", "2001:db8:2::30", 5555,
	  1, POLICY_ALLOW },
	{ { "allow 2001:db8:1::/64 1-65535 on guest0" }, "2001:db8:1::20", "2001:db8:1::30", 5555,
	  0, POLICY_DENY_THIRD_PARTY },
};

static void add_addr(struct lan *l, const char *cidr)
{
	struct lan_addr_event ev;

	assert_int_equal(lan_event_parse(str_cstr(cidr), l->ifindex, true, 0, &ev), 0);
	lan_apply(l, &ev);
}

static void test_policy_rows(void **state)
{
	struct lan lans[2];
	size_t i, k;

	(void)state;
	lan_init(&lans[0], 0, "lan0");
	lan_set_ifindex(&lans[0], 7);
	add_addr(&lans[0], "192.168.1.1/24");
	add_addr(&lans[0], "2001:db8:1::1/64");
	add_addr(&lans[0], "fd00:1::1/64");
	add_addr(&lans[0], "fe80::1/64");
	lan_init(&lans[1], 1, "guest0");
	lan_set_ifindex(&lans[1], 8);
	add_addr(&lans[1], "2001:db8:2::1/64");
	for (i = 0; i < N(rows); i++) {
		static struct config cfg;
		char text[1024], err[256];
		int len;
		struct pin_policy *p;
		struct policy_lan pl = { &lans[rows[i].lan], NULL };
		struct ipaddr peer;
		struct in6_addr client = a6(rows[i].client);

		len = snprintf(text, sizeof(text), "lan_interface = lan0\nlan_interface = guest0\n");
		for (k = 0; k < 3 && rows[i].acl[k]; k++)
			len += snprintf(text + len, sizeof(text) - (size_t)len, "pinhole_acl = %s\n",
					rows[i].acl[k]);
		if (config_parse("t", text, (size_t)len, &cfg, err, sizeof(err)) < 0)
			fail_msg("row %zu: %s", i, err);
		p = config_pin_policy_new(&cfg, err, sizeof(err));
		if (!p)
			fail_msg("row %zu: %s", i, err);
		assert_int_equal(ipaddr_parse(str_cstr(rows[i].peer), &peer), 0);
		if (ipaddr_is_linklocal(&peer))
			peer.scope = lans[rows[i].lan].ifindex;
		if (pin_policy_check(p, &pl, &peer, &client, rows[i].port) != rows[i].want)
			fail_msg("row %zu: %s for %s port %u: %s, want %s", i, rows[i].peer,
				 rows[i].client, rows[i].port,
				 pin_policy_verdict_str(pin_policy_check(p, &pl, &peer, &client,
									 rows[i].port)),
				 pin_policy_verdict_str(rows[i].want));
		pin_policy_free(p);
	}
}

/* Bad pinhole_acl values are refused at their line. */
/* The words of a refusal: the pinhole's own where its meaning differs
 * from a mapping's, the mapping's where it is the same. */
static void test_verdict_words(void **state)
{
	(void)state;
	assert_string_equal(pin_policy_verdict_str(POLICY_DENY_CLIENT),
			    "internal client not a global address of the LAN");
	assert_string_equal(pin_policy_verdict_str(POLICY_DENY_FAMILY),
			    "an IPv6 pinhole for an IPv4 control point");
	assert_string_equal(pin_policy_verdict_str(POLICY_DENY_RULE), "denied by pinhole_acl");
	assert_string_equal(pin_policy_verdict_str(POLICY_ALLOW), "allowed");
	assert_string_equal(pin_policy_verdict_str(POLICY_DENY_THIRD_PARTY),
			    "internal client is not the control point");
	assert_string_equal(pin_policy_verdict_str(POLICY_DENY_PORT), "well-known port");
	assert_string_equal(pin_policy_verdict_str((enum policy_verdict)99), "?");
}

static void test_acl_syntax(void **state)
{
	static const char *const bad[] = {
		"allow 192.168.1.0/24 1024", "allow 2001:db8::/129 1024", "permit ::/0 1",
		"allow ::/0 70000", "allow ::/0 5-4", "allow ::/0 1 on", "allow ::/0 1 at lan0",
		"allow ::/0 1 on nosuch0",
	};
	static struct config cfg;
	char text[256], err[256];
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		len = snprintf(text, sizeof(text), "lan_interface = lan0\npinhole_acl = %s\n", bad[i]);
		if (config_parse("t", text, (size_t)len, &cfg, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	}
	len = snprintf(text, sizeof(text),
		       "lan_interface = lan0\npinhole_acl = allow 2001:db8:1::77/64 1024-2000 on lan0\n");
	assert_int_equal(config_parse("t", text, (size_t)len, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.pinhole_acl[0], "allow 2001:db8:1::/64 1024-2000 on lan0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uids),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_policy_rows),
		cmocka_unit_test(test_acl_syntax),
		cmocka_unit_test(test_verdict_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
