/*
 * test_policy.c - core/policy: the IGD:2 security policy
 * (WANIPConnection:2 section 1.2, the "Service Requirements" of 2.5.14 -
 * 2.5.21, 2.3.21 for the broadcast client) and the ACL, as rows of
 * (configuration, request) -> verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "conf/config.h"
#include "conf/policy_conf.h"
#include "core/lan.h"
#include "core/mapping.h"
#include "core/policy.h"
#include "util/ipaddr.h"
#include "util/str.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define IFX_LAN 7               /* the interface indexes of the two LANs */
#define IFX_GUEST 8

/* Any address text; a link-local one on LAN 0's interface. */
static struct ipaddr addr(const char *s)
{
	struct ipaddr a;

	assert_int_equal(ipaddr_parse(str_cstr(s), &a), 0);
	if (ipaddr_is_linklocal(&a))
		a.scope = IFX_LAN;
	return a;
}

static void add_addr(struct lan *l, const char *text, unsigned plen)
{
	struct lan_addr_event ev;
	char cidr[64];

	snprintf(cidr, sizeof(cidr), "%s/%u", text, plen);
	assert_int_equal(lan_event_parse(str_cstr(cidr), l->ifindex, true, 0, &ev), 0);
	assert_true(lan_apply(l, &ev));
}

static unsigned mask_plen(const char *mask)
{
	struct ipaddr m = addr(mask);
	uint32_t v = ntohl(m.u.v4.s_addr);
	unsigned n = 0;

	while (v & 0x80000000u) {
		v <<= 1;
		n++;
	}
	return n;
}

/*
 * LAN 0 "lan0": v4 (no IPv4 when v4 is 0.0.0.0), 2001:db8:1::1/64,
 * fd00:1::1/64, fe80::1/64; LAN 1 "guest0": 192.168.2.1/24,
 * 2001:db8:2::1/64, fe80::1/64 (its own link).
 */
static void make_lans(struct lan lans[2], const char *v4, const char *mask)
{
	lan_init(&lans[0], 0, "lan0");
	lan_set_ifindex(&lans[0], IFX_LAN);
	if (strcmp(v4, "0.0.0.0") != 0)
		add_addr(&lans[0], v4, mask_plen(mask));
	add_addr(&lans[0], "2001:db8:1::1", 64);
	add_addr(&lans[0], "fd00:1::1", 64);
	add_addr(&lans[0], "fe80::1", 64);
	lan_init(&lans[1], 1, "guest0");
	lan_set_ifindex(&lans[1], IFX_GUEST);
	add_addr(&lans[1], "192.168.2.1", 24);
	add_addr(&lans[1], "2001:db8:2::1", 64);
	add_addr(&lans[1], "fe80::1", 64);         /* its own link: scope IFX_GUEST */
}

static struct policy *make(bool secure, const char *const *acl, char *err, size_t errsz)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.secure_mode = secure;
	c.nlans = 2;
	strlcpy_checked(c.lan_interface[0], "lan0", IF_NAMESIZE);
	strlcpy_checked(c.lan_interface[1], "guest0", IF_NAMESIZE);
	while (acl && *acl)
		strlcpy_checked(c.acl[c.nacl++], *acl++, IGDD_CONF_MAX_ACL_LEN);
	return config_policy_new(&c, err, errsz);
}

/* Rule sets the rows refer to. */
static const char *const acl_none[] = { NULL };
static const char *const acl_admin[] = {
	"allow 80 192.168.1.20/32 80",              /* a web server */
	"deny 0-65535 192.168.1.66/32 0-65535",     /* a banned host */
	"allow 443 192.168.1.0/28 8443",            /* .0 - .15 */
	"deny 8000-8999 192.168.1.0/24 0-65535",    /* first match wins ... */
	"allow 8080 192.168.1.20/32 8080",          /* ... so this never applies */
	NULL,
};
static const char *const acl_broadcast[] = {
	"allow 1024-65535 0.0.0.0/0 1024-65535",    /* does not cover 255.255.255.255 */
	"allow 5000-5100 255.255.255.255/32 5000-5100",
	NULL,
};
static const char *const acl_open_low[] = {
	"allow 1-65535 192.168.1.0/24 1-65535",
	NULL,
};
/* Rules naming a LAN: the guest LAN gets nothing, lan0 its well-known ports. */
static const char *const acl_lans[] = {
	"deny 0-65535 0.0.0.0/0 0-65535 on guest0",
	"allow 80 0.0.0.0/0 80 on lan0",
	NULL,
};

struct check_row {
	const char *name;
	bool secure;
	const char *const *acl;
	const char *lan, *mask;
	const char *peer, *client;
	uint16_t ext, in;
	uint8_t proto;
	enum policy_verdict want;
	unsigned on;                    /* the LAN the request arrived on (0: lan0) */
};

#define LAN "192.168.1.1", "255.255.255.0"

static const struct check_row check_rows[] = {
	/* the default policy (secure_mode = yes) */
	{ "own, high ports", true, acl_none, LAN, "192.168.1.20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_ALLOW },
	{ "own, 1024 exactly", true, acl_none, LAN, "192.168.1.20", "192.168.1.20", 1024, 1024, MAP_UDP, POLICY_ALLOW },
	{ "own, ext 1023", true, acl_none, LAN, "192.168.1.20", "192.168.1.20", 1023, 8080, MAP_TCP, POLICY_DENY_PORT },
	{ "own, int 80", true, acl_none, LAN, "192.168.1.20", "192.168.1.20", 8080, 80, MAP_TCP, POLICY_DENY_PORT },
	{ "other client", true, acl_none, LAN, "192.168.1.20", "192.168.1.30", 8080, 8080, MAP_TCP, POLICY_DENY_THIRD_PARTY },
	{ "gateway itself", true, acl_none, LAN, "192.168.1.1", "192.168.1.1", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	/* a loopback LAN (the sim backend on lo): the gateway's address is every client's */
	{ "loopback LAN, own", true, acl_none, "127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1", 8080, 8080, MAP_TCP, POLICY_ALLOW },
	{ "loopback LAN, well-known", true, acl_none, "127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1", 80, 80, MAP_TCP, POLICY_DENY_PORT },
	{ "loopback LAN, 3-box", true, acl_none, "127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.2", 8080, 8080, MAP_TCP, POLICY_DENY_THIRD_PARTY },
	{ "network address", true, acl_none, LAN, "192.168.1.0", "192.168.1.0", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "subnet broadcast", true, acl_none, LAN, "192.168.1.255", "192.168.1.255", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "outside the LAN", true, acl_none, LAN, "10.0.0.5", "10.0.0.5", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "LAN unknown", true, acl_none, "0.0.0.0", "0.0.0.0", "192.168.1.20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "broadcast UDP, secure", true, acl_none, LAN, "192.168.1.20", "255.255.255.255", 8080, 8080, MAP_UDP, POLICY_DENY_THIRD_PARTY },
	{ "broadcast TCP", false, acl_none, LAN, "192.168.1.20", "255.255.255.255", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	/* secure_mode = no: the 3-box model inside the LAN */
	{ "3-box", false, acl_none, LAN, "192.168.1.20", "192.168.1.30", 8080, 8080, MAP_TCP, POLICY_ALLOW },
	{ "3-box, low port", false, acl_none, LAN, "192.168.1.20", "192.168.1.30", 80, 80, MAP_TCP, POLICY_DENY_PORT },
	{ "3-box outside the LAN", false, acl_none, LAN, "192.168.1.20", "10.0.0.5", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "3-box to the gateway", false, acl_none, LAN, "192.168.1.20", "192.168.1.1", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "broadcast UDP, no rule", false, acl_none, LAN, "192.168.1.20", "255.255.255.255", 8080, 8080, MAP_UDP, POLICY_DENY_CLIENT },
	{ "broadcast UDP, /0 rule", false, acl_broadcast, LAN, "192.168.1.20", "255.255.255.255", 6000, 6000, MAP_UDP, POLICY_DENY_CLIENT },
	{ "broadcast UDP, /32 rule", false, acl_broadcast, LAN, "192.168.1.20", "255.255.255.255", 5050, 5050, MAP_UDP, POLICY_ALLOW },
	{ "/0 rule for a host", false, acl_broadcast, LAN, "192.168.1.20", "192.168.1.30", 6000, 6000, MAP_UDP, POLICY_ALLOW },
	/* ACL rows (secure) */
	{ "acl opens 80 for .20", true, acl_admin, LAN, "192.168.1.20", "192.168.1.20", 80, 80, MAP_TCP, POLICY_ALLOW },
	{ "acl: 80->81 not covered", true, acl_admin, LAN, "192.168.1.20", "192.168.1.20", 80, 81, MAP_TCP, POLICY_DENY_PORT },
	{ "acl: 80 not for .21", true, acl_admin, LAN, "192.168.1.21", "192.168.1.21", 80, 80, MAP_TCP, POLICY_DENY_PORT },
	{ "acl cannot lift secure mode", true, acl_admin, LAN, "192.168.1.21", "192.168.1.20", 80, 80, MAP_TCP, POLICY_DENY_THIRD_PARTY },
	{ "acl denies a host", true, acl_admin, LAN, "192.168.1.66", "192.168.1.66", 20000, 20000, MAP_TCP, POLICY_DENY_RULE },
	{ "acl prefix /28 inside", true, acl_admin, LAN, "192.168.1.15", "192.168.1.15", 443, 8443, MAP_TCP, POLICY_ALLOW },
	{ "acl prefix /28 outside", true, acl_admin, LAN, "192.168.1.16", "192.168.1.16", 443, 8443, MAP_TCP, POLICY_DENY_PORT },
	{ "acl first match wins", true, acl_admin, LAN, "192.168.1.20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_DENY_RULE },
	{ "acl range edge 7999", true, acl_admin, LAN, "192.168.1.20", "192.168.1.20", 7999, 7999, MAP_TCP, POLICY_ALLOW },
	{ "acl range edge 9000", true, acl_admin, LAN, "192.168.1.20", "192.168.1.20", 9000, 9000, MAP_TCP, POLICY_ALLOW },
	{ "acl open low ports", true, acl_open_low, LAN, "192.168.1.20", "192.168.1.20", 22, 22, MAP_TCP, POLICY_ALLOW },
	{ "acl cannot lift the LAN check", false, acl_open_low, LAN, "192.168.1.20", "192.168.1.1", 22, 22, MAP_TCP, POLICY_DENY_CLIENT },
	/* small subnets */
	{ "/31: both hosts usable", true, acl_none, "10.0.0.0", "255.255.255.254", "10.0.0.1", "10.0.0.1", 8080, 8080, MAP_TCP, POLICY_ALLOW },
	{ "/30: network", true, acl_none, "10.0.0.1", "255.255.255.252", "10.0.0.0", "10.0.0.0", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "/30: broadcast", true, acl_none, "10.0.0.1", "255.255.255.252", "10.0.0.3", "10.0.0.3", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT },
	{ "/30: host", true, acl_none, "10.0.0.1", "255.255.255.252", "10.0.0.2", "10.0.0.2", 8080, 8080, MAP_TCP, POLICY_ALLOW },
	{ "/8 LAN", true, acl_none, "10.0.0.1", "255.0.0.0", "10.200.3.4", "10.200.3.4", 8080, 8080, MAP_TCP, POLICY_ALLOW },
	/* several LANs: a request is judged by the LAN it arrived on */
	{ "guest host on its LAN", true, acl_none, LAN, "192.168.2.20", "192.168.2.20", 8080, 8080, MAP_TCP, POLICY_ALLOW, 1 },
	{ "guest host via lan0", true, acl_none, LAN, "192.168.2.20", "192.168.2.20", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT, 0 },
	{ "lan0 host via guest", true, acl_none, LAN, "192.168.1.20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT, 1 },
	{ "3-box into the other LAN", false, acl_none, LAN, "192.168.2.20", "192.168.1.30", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT, 1 },
	{ "3-box in the guest LAN", false, acl_none, LAN, "192.168.2.20", "192.168.2.30", 8080, 8080, MAP_TCP, POLICY_ALLOW, 1 },
	{ "guest gateway address", false, acl_none, LAN, "192.168.2.20", "192.168.2.1", 8080, 8080, MAP_TCP, POLICY_DENY_CLIENT, 1 },
	{ "acl names the guest LAN", true, acl_lans, LAN, "192.168.2.20", "192.168.2.20", 8080, 8080, MAP_TCP, POLICY_DENY_RULE, 1 },
	{ "acl for guest0 not lan0", true, acl_lans, LAN, "192.168.1.20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_ALLOW, 0 },
	{ "acl opens 80 on lan0", true, acl_lans, LAN, "192.168.1.20", "192.168.1.20", 80, 80, MAP_TCP, POLICY_ALLOW, 0 },
	/* an IPv6 control point and IPv4 mappings: refused (step 1b) */
	{ "IPv6 peer, IPv4 client", true, acl_none, LAN, "2001:db8:1::20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_DENY_FAMILY },
	{ "IPv6 peer, IPv4 client, 3-box", false, acl_none, LAN, "2001:db8:1::20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_DENY_FAMILY },
	{ "link-local peer, IPv4 client", false, acl_open_low, LAN, "fe80::20", "192.168.1.20", 8080, 8080, MAP_TCP, POLICY_DENY_FAMILY },
	{ "IPv4 peer, IPv6 client", false, acl_none, LAN, "192.168.1.20", "2001:db8:1::20", 8080, 8080, MAP_TCP, POLICY_DENY_FAMILY },
	/* IPv6 internal clients (for the pinholes): a host of the LAN's link or prefixes */
	{ "IPv6 own GUA", true, acl_none, LAN, "2001:db8:1::20", "2001:db8:1::20", 8080, 8080, MAP_UDP, POLICY_ALLOW },
	{ "IPv6 own ULA", true, acl_none, LAN, "fd00:1::20", "fd00:1::20", 8080, 8080, MAP_UDP, POLICY_ALLOW },
	{ "IPv6 own, low port", true, acl_none, LAN, "2001:db8:1::20", "2001:db8:1::20", 80, 80, MAP_UDP, POLICY_DENY_PORT },
	{ "IPv6 other host", true, acl_none, LAN, "2001:db8:1::20", "2001:db8:1::30", 8080, 8080, MAP_UDP, POLICY_DENY_THIRD_PARTY },
	{ "IPv6 the gateway", false, acl_none, LAN, "2001:db8:1::20", "2001:db8:1::1", 8080, 8080, MAP_UDP, POLICY_DENY_CLIENT },
	{ "IPv6 outside the prefixes", true, acl_none, LAN, "2001:db8:9::20", "2001:db8:9::20", 8080, 8080, MAP_UDP, POLICY_DENY_CLIENT },
	{ "IPv6 the guest's prefix", true, acl_none, LAN, "2001:db8:2::20", "2001:db8:2::20", 8080, 8080, MAP_UDP, POLICY_DENY_CLIENT, 0 },
	{ "IPv6 guest on its LAN", true, acl_none, LAN, "2001:db8:2::20", "2001:db8:2::20", 8080, 8080, MAP_UDP, POLICY_ALLOW, 1 },
	{ "IPv6 link-local on its link", true, acl_none, LAN, "fe80::20", "fe80::20", 8080, 8080, MAP_UDP, POLICY_ALLOW },
	{ "IPv6 multicast", false, acl_none, LAN, "2001:db8:1::20", "ff02::1", 8080, 8080, MAP_UDP, POLICY_DENY_CLIENT },
	{ "IPv6 rules do not match v4 prefixes", true, acl_lans, LAN, "2001:db8:2::20", "2001:db8:2::20", 8080, 8080, MAP_UDP, POLICY_ALLOW, 1 },
};

static void test_check_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(check_rows); i++) {
		const struct check_row *r = &check_rows[i];
		struct lan lans[2];
		struct policy_lan lan;
		struct policy_subject s = { addr(r->peer), addr(r->client), r->ext, r->in, r->proto };
		char err[128];
		struct policy *p = make(r->secure, r->acl, err, sizeof(err));
		enum policy_verdict v;

		make_lans(lans, r->lan, r->mask);
		lan.lan = &lans[r->on];
		lan.wan6 = NULL;
		if (r->on && ipaddr_is_linklocal(&s.peer))
			s.peer.scope = s.internal_client.scope = IFX_GUEST;
		assert_non_null(p);
		v = policy_check(p, &lan, &s);
		if (v != r->want)
			fail_msg("%s: %s, want %s", r->name, policy_verdict_str(v),
				 policy_verdict_str(r->want));
		policy_free(p);
	}
}

/*
 * policy_check_ports() (the privileged helper's copy: steps 3 and 4
 * without the control point, the LAN given by its position) agrees with
 * policy_check() for IPv4 clients wherever the client steps pass;
 * without any rule the broadcast client is refused, as in step 4; a
 * rule naming a LAN matches only that LAN's clients, and none when the
 * LAN is unknown (-1).
 */
static void test_check_ports(void **state)
{
	size_t i, compared = 0;

	(void)state;
	for (i = 0; i < N(check_rows); i++) {
		const struct check_row *r = &check_rows[i];
		struct lan lans[2];
		struct policy_lan lan;
		struct policy_subject s = { addr(r->peer), addr(r->client), r->ext, r->in, r->proto };
		char err[128];
		struct policy *p = make(r->secure, r->acl, err, sizeof(err));
		enum policy_verdict full, ports;

		assert_non_null(p);
		make_lans(lans, r->lan, r->mask);
		lan.lan = &lans[r->on];
		lan.wan6 = NULL;
		if (r->on && ipaddr_is_linklocal(&s.peer))
			s.peer.scope = s.internal_client.scope = IFX_GUEST;
		full = policy_check(p, &lan, &s);
		if (ipaddr_is_v4(&s.internal_client) && full != POLICY_DENY_CLIENT &&
		    full != POLICY_DENY_FAMILY && full != POLICY_DENY_THIRD_PARTY) {
			ports = policy_check_ports(p, (int)r->on, s.internal_client.u.v4, s.ext_port,
						   s.int_port);
			if (ports != full)
				fail_msg("%s: ports %s, full %s", r->name, policy_verdict_str(ports),
					 policy_verdict_str(full));
			compared++;
		}
		policy_free(p);
	}
	assert_true(compared > 10);
	{
		char err[128];
		struct policy *p = make(false, acl_none, err, sizeof(err));

		assert_non_null(p);
		assert_int_equal(policy_check_ports(p, 0, addr("255.255.255.255").u.v4, 5000, 5000),
				 POLICY_DENY_CLIENT);
		assert_int_equal(policy_check_ports(p, 0, addr("192.168.1.1").u.v4, 5000, 5000),
				 POLICY_ALLOW);
		assert_int_equal(policy_check_ports(p, 0, addr("192.168.1.20").u.v4, 5000, 1023),
				 POLICY_DENY_PORT);
		policy_free(p);
	}
	{
		char err[128];
		struct policy *p = make(true, acl_lans, err, sizeof(err));

		assert_non_null(p);
		assert_int_equal(policy_check_ports(p, 1, addr("192.168.2.20").u.v4, 8080, 8080),
				 POLICY_DENY_RULE);
		assert_int_equal(policy_check_ports(p, 0, addr("192.168.1.20").u.v4, 8080, 8080),
				 POLICY_ALLOW);
		assert_int_equal(policy_check_ports(p, 0, addr("192.168.1.20").u.v4, 80, 80),
				 POLICY_ALLOW);
		assert_int_equal(policy_check_ports(p, -1, addr("192.168.1.20").u.v4, 80, 80),
				 POLICY_DENY_PORT);
		assert_int_equal(policy_check_ports(p, -1, addr("192.168.2.20").u.v4, 8080, 8080),
				 POLICY_ALLOW);
		policy_free(p);
	}
}

struct range_row {
	const char *name;
	bool secure;
	const char *const *acl;
	const char *peer, *client;
	uint16_t in;
	uint8_t proto;
	size_t n;
	struct policy_range want[4];
};

static const char *const acl_hole[] = { "deny 6000-6999 192.168.1.0/24 0-65535", NULL };
static const char *const acl_adjacent[] = { "allow 1000-1023 192.168.1.20 0-65535", NULL };
static const char *const acl_low_int[] = { "allow 80 192.168.1.20/32 80", NULL };
static const char *const acl_edges[] = {
	"allow 0 192.168.1.20 0-65535",             /* port 0 is never a mapping's */
	"deny 65535 192.168.1.20 0-65535",
	NULL,
};

static const struct range_row range_rows[] = {
	{ "default", true, acl_none, "192.168.1.20", "192.168.1.20", 8080, MAP_TCP, 1, { { 1024, 65535 } } },
	{ "third party", true, acl_none, "192.168.1.20", "192.168.1.30", 8080, MAP_TCP, 0, { { 0, 0 } } },
	{ "low internal port", true, acl_none, "192.168.1.20", "192.168.1.20", 80, MAP_TCP, 0, { { 0, 0 } } },
	{ "acl for a low internal port", true, acl_low_int, "192.168.1.20", "192.168.1.20", 80, MAP_TCP, 1, { { 80, 80 } } },
	{ "acl rule not matching int", true, acl_low_int, "192.168.1.20", "192.168.1.20", 8080, MAP_TCP, 1, { { 1024, 65535 } } },
	{ "hole", true, acl_hole, "192.168.1.20", "192.168.1.20", 8080, MAP_TCP, 2, { { 1024, 5999 }, { 7000, 65535 } } },
	{ "adjacent merge", true, acl_adjacent, "192.168.1.20", "192.168.1.20", 8080, MAP_TCP, 1, { { 1000, 65535 } } },
	{ "all ports", true, acl_open_low, "192.168.1.20", "192.168.1.20", 8080, MAP_TCP, 1, { { 1, 65535 } } },
	{ "edges", true, acl_edges, "192.168.1.20", "192.168.1.20", 8080, MAP_TCP, 1, { { 1024, 65534 } } },
	{ "broadcast /32 rule", false, acl_broadcast, "192.168.1.20", "255.255.255.255", 5000, MAP_UDP, 1, { { 5000, 5100 } } },
	{ "broadcast TCP", false, acl_broadcast, "192.168.1.20", "255.255.255.255", 5000, MAP_TCP, 0, { { 0, 0 } } },
};

static void test_ext_ranges(void **state)
{
	struct lan lans[2];
	struct policy_lan lan = { &lans[0], NULL };
	size_t i, j;

	(void)state;
	make_lans(lans, "192.168.1.1", "255.255.255.0");
	for (i = 0; i < N(range_rows); i++) {
		const struct range_row *r = &range_rows[i];
		struct policy_subject s = { addr(r->peer), addr(r->client), 0, r->in, r->proto };
		struct policy_range out[POLICY_MAX_RANGES];
		char err[128];
		struct policy *p = make(r->secure, r->acl, err, sizeof(err));
		size_t n;

		assert_non_null(p);
		n = policy_ext_ranges(p, &lan, &s, out);
		if (n != r->n)
			fail_msg("%s: %zu ranges, want %zu", r->name, n, r->n);
		for (j = 0; j < n; j++)
			if (out[j].lo != r->want[j].lo || out[j].hi != r->want[j].hi)
				fail_msg("%s: range %zu is %u-%u", r->name, j, out[j].lo, out[j].hi);
		/* every port agrees with policy_check */
		for (j = 1; j <= 65535; j += 13) {
			size_t k;
			bool in = false;

			s.ext_port = (uint16_t)j;
			for (k = 0; k < n; k++)
				in |= j >= out[k].lo && j <= out[k].hi;
			if (in != (policy_check(p, &lan, &s) == POLICY_ALLOW))
				fail_msg("%s: port %zu disagrees", r->name, j);
		}
		policy_free(p);
	}
}

/* Every rule shape the admin (or the config parser) may hand over. */
struct parse_row {
	const char *rule;
	bool ok;
};

static const struct parse_row parse_rows[] = {
	{ "allow 1024-65535 192.168.1.0/24 1024-65535", true },
	{ "deny 0-65535 0.0.0.0/0 0-65535", true },
	{ "allow 80 192.168.1.20 80", true },           /* no prefix: /32 */
	{ "allow\t80\t192.168.1.20/32\t80", true },
	{ "allow 80 192.168.1.20/33 80", false },
	{ "allow 80 192.168.1 80", false },
	{ "allow 80 host.lan 80", false },
	{ "permit 80 192.168.1.20 80", false },
	{ "Allow 80 192.168.1.20 80", false },
	{ "allow 90-80 192.168.1.20 80", false },
	{ "allow 70000 192.168.1.20 80", false },
	{ "allow -1 192.168.1.20 80", false },
	{ "allow 80 192.168.1.20", false },
	{ "allow 80 192.168.1.20 80 extra", false },
	{ "allow 80- 192.168.1.20 80", false },
	{ "", false },
	/* naming a LAN */
	{ "allow 80 192.168.1.20 80 on lan0", true },
	{ "deny 0-65535 0.0.0.0/0 0-65535 on guest0", true },
	{ "deny 0-65535 0.0.0.0/0 0-65535\ton\tguest0", true },
	{ "allow 80 192.168.1.20 80 on wan0", false },          /* not a lan_interface */
	{ "allow 80 192.168.1.20 80 on", false },
	{ "allow 80 192.168.1.20 80 at lan0", false },
	{ "allow 80 192.168.1.20 80 on lan0 extra", false },
	{ "allow 80 192.168.1.20 80 on lan", false },
};

static void test_rule_parsing(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(parse_rows); i++) {
		const char *acl[] = { "allow 1 192.168.1.2 1", parse_rows[i].rule, NULL };
		char err[160] = "";
		struct policy *p = make(true, acl, err, sizeof(err));

		if ((p != NULL) != parse_rows[i].ok)
			fail_msg("'%s': %s", parse_rows[i].rule, p ? "accepted" : err);
		if (p)
			assert_int_equal(policy_rule_count(p), 2);
		else
			assert_non_null(strstr(err, "acl rule 2"));
		policy_free(p);
	}
}

static void test_manage_and_mode(void **state)
{
	char err[64];
	struct policy *p = make(true, NULL, err, sizeof(err));

	(void)state;
	assert_true(policy_secure(p));
	assert_false(policy_manage_allowed(p));        /* NewManage ignored */
	policy_free(p);
	p = make(false, NULL, err, sizeof(err));
	assert_false(policy_secure(p));
	assert_true(policy_manage_allowed(p));
	policy_free(p);
	policy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_rows),
		cmocka_unit_test(test_check_ports),
		cmocka_unit_test(test_ext_ranges),
		cmocka_unit_test(test_rule_parsing),
		cmocka_unit_test(test_manage_and_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
