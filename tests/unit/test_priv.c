/*
 * test_priv.c - privilege separation (priv/): the helper's message
 * checks (exact size, version, operation, count, policy, port rules),
 * admin grants, the capability drop (CapEff read back from
 * /proc/self/status), and, when run as root with CAP_NET_ADMIN (not in a
 * container that withholds it) and nfnetlink, the whole helper in a
 * network namespace of its own: start-up, capabilities of both
 * processes, apply / replace / remove, refusals, its limit, repair after
 * `flush ruleset`, table deleted on a clean stop, when the engine dies
 * and when it stops reading; and what a compromised engine cannot make it do (crafted
 * requests: the gateway's own addresses, well-known ports, ports the
 * gateway itself listens on or forwards statically, forged grants), the
 * router winning over a mapping made before its service started, and the
 * port policy following the configuration file. And the engine's end
 * of pipelined requests against a fake helper (a socketpair the test
 * answers by hand): replies in and out of turn, a failure, one that comes
 * too late, the bound on requests in flight, the helper's end, and a
 * synchronous call while others are in flight.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "conf/policy_conf.h"
#include "core/policy.h"
#include "harness.h"
#include "priv/caps.h"
#include "priv/nft_verify.h"
#include "priv/priv.h"
#include "priv/priv_msg.h"
#include "util/fdpass.h"

#include "netns_child.h"

/* ---- message checks ---- */

static struct priv_policy lan(void)
{
	struct priv_policy p;

	memset(&p, 0, sizeof(p));
	inet_pton(AF_INET, "192.168.77.0", &p.lan[0].net);
	p.lan[0].plen = 24;
	inet_pton(AF_INET, "192.168.88.0", &p.lan[1].net);     /* a second LAN */
	p.lan[1].plen = 24;
	p.lan[1].index = 1;
	p.nlan = 2;
	inet_pton(AF_INET6, "2001:db8:77::", &p.lan6[0].net);
	p.lan6[0].plen = 64;
	p.nlan6 = 1;
	inet_pton(AF_INET6, "2001:db8:77::1", &p.own6[0]);     /* the gateway's */
	p.nown6 = 1;
	return p;
}

static void good_req(struct priv_req *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->version = PRIV_MSG_VERSION;
	rq->seq = 7;
	rq->op = PRIV_OP_APPLY;
	rq->count = 1;
	inet_pton(AF_INET, "192.168.77.2", &rq->e[0].internal);
	rq->e[0].ext_port = 18080;
	rq->e[0].int_port = 8080;
	rq->e[0].proto = IPPROTO_TCP;
}

struct check_row {
	const char *what;
	void (*spoil)(struct priv_req *rq);
	const char *why;                /* NULL: accepted */
};

static void ok(struct priv_req *rq) { (void)rq; }
static void version(struct priv_req *rq) { rq->version = PRIV_MSG_VERSION + 1; }
static void pad(struct priv_req *rq) { rq->pad = 1; }
static void op0(struct priv_req *rq) { rq->op = 0; }
static void op9(struct priv_req *rq) { rq->op = 9; }
static void count0(struct priv_req *rq) { rq->count = 0; }
static void count_big(struct priv_req *rq) { rq->count = PRIV_BATCH_MAX + 1; }
static void flush_ok(struct priv_req *rq) { rq->op = PRIV_OP_FLUSH; rq->count = 0; }
static void flush_entries(struct priv_req *rq) { rq->op = PRIV_OP_FLUSH; }
static void remove_ok(struct priv_req *rq) { rq->op = PRIV_OP_REMOVE; }
static void wan_up(struct priv_req *rq) { memset(rq->e, 0, sizeof(rq->e)); rq->op = PRIV_OP_WAN_UP; rq->count = 0; }
static void wan_down(struct priv_req *rq) { wan_up(rq); rq->op = PRIV_OP_WAN_DOWN; }
static void wan_entries(struct priv_req *rq) { rq->op = PRIV_OP_WAN_DOWN; }
static void op7(struct priv_req *rq) { rq->op = 7; rq->count = 0; }
static void reload(struct priv_req *rq) { memset(rq->e, 0, sizeof(rq->e)); rq->op = PRIV_OP_RELOAD; rq->count = 0; }
static void reload_entries(struct priv_req *rq) { rq->op = PRIV_OP_RELOAD; }
static void pin_empty(struct priv_req *rq) { memset(rq->e, 0, sizeof(rq->e)); rq->op = PRIV_OP_PIN_ADD; rq->count = 0; }
static void pin_good(struct priv_req *rq)
{
	memset(rq->e, 0, sizeof(rq->e));
	rq->op = PRIV_OP_PIN_ADD;
	rq->count = 0;
	inet_pton(AF_INET6, "2001:db8:77::20", &rq->pin.internal);
	rq->pin.int_port = 5555;
	rq->pin.proto = 6;
}
static void pin_del(struct priv_req *rq) { pin_good(rq); rq->op = PRIV_OP_PIN_DEL; }
static void pin_packets(struct priv_req *rq) { pin_good(rq); rq->op = PRIV_OP_PIN_PACKETS; }
static void pin_udplite_rh(struct priv_req *rq)
{
	pin_good(rq);
	rq->pin.proto = 136;
	inet_pton(AF_INET6, "2001:db8:9::1", &rq->pin.remote);
	rq->pin.remote_port = 53;
}
static void pin_entries(struct priv_req *rq) { pin_good(rq); rq->count = 1; }
static void pin_icmp(struct priv_req *rq) { pin_good(rq); rq->pin.proto = 58; }
static void pin_port0(struct priv_req *rq) { pin_good(rq); rq->pin.int_port = 0; }
static void pin_pad(struct priv_req *rq) { pin_good(rq); rq->pin.pad[1] = 1; }
static void pin_outside(struct priv_req *rq)
{
	pin_good(rq);
	inet_pton(AF_INET6, "2001:db8:78::20", &rq->pin.internal);
}
static void pin_gateway(struct priv_req *rq)
{
	pin_good(rq);
	inet_pton(AF_INET6, "2001:db8:77::1", &rq->pin.internal);
}
static void pin_ula(struct priv_req *rq) { pin_good(rq); inet_pton(AF_INET6, "fd00::20", &rq->pin.internal); }
static void pin_ll(struct priv_req *rq) { pin_good(rq); inet_pton(AF_INET6, "fe80::20", &rq->pin.internal); }
static void pin_rh_mcast(struct priv_req *rq) { pin_good(rq); inet_pton(AF_INET6, "ff02::1", &rq->pin.remote); }
static void icmp(struct priv_req *rq) { rq->e[0].proto = IPPROTO_ICMP; }
static void udp(struct priv_req *rq) { rq->e[0].proto = IPPROTO_UDP; }
static void ext0(struct priv_req *rq) { rq->e[0].ext_port = 0; }
static void int0(struct priv_req *rq) { rq->e[0].int_port = 0; }
static void epad(struct priv_req *rq) { rq->e[0].pad[2] = 1; }
static void outside(struct priv_req *rq) { inet_pton(AF_INET, "192.168.78.2", &rq->e[0].internal); }
static void netaddr(struct priv_req *rq) { inet_pton(AF_INET, "192.168.77.0", &rq->e[0].internal); }
static void bcast(struct priv_req *rq) { inet_pton(AF_INET, "192.168.77.255", &rq->e[0].internal); }
static void lan2(struct priv_req *rq) { inet_pton(AF_INET, "192.168.88.5", &rq->e[0].internal); }
static void lan2_bcast(struct priv_req *rq) { inet_pton(AF_INET, "192.168.88.255", &rq->e[0].internal); }
static void rh_ok(struct priv_req *rq) { inet_pton(AF_INET, "203.0.113.3", &rq->e[0].remote_host); }
static void rh_mcast(struct priv_req *rq) { inet_pton(AF_INET, "224.0.0.1", &rq->e[0].remote_host); }
static void rh_loop(struct priv_req *rq) { inet_pton(AF_INET, "127.0.0.1", &rq->e[0].remote_host); }
static void rh_bcast(struct priv_req *rq) { inet_pton(AF_INET, "255.255.255.255", &rq->e[0].remote_host); }
static void second_bad(struct priv_req *rq)
{
	rq->count = 2;
	rq->e[1] = rq->e[0];
	rq->e[1].int_port = 0;
}

static const struct check_row check_rows[] = {
	{ "good", ok, NULL },
	{ "version", version, "wrong version" },
	{ "header padding", pad, "header padding not zero" },
	{ "op 0", op0, "unknown operation" },
	{ "op 9", op9, "unknown operation" },
	{ "count 0", count0, "entry count out of range" },
	{ "count too big", count_big, "entry count out of range" },
	{ "flush", flush_ok, NULL },
	{ "flush with entries", flush_entries, "flush with entries" },
	{ "remove", remove_ok, NULL },
	{ "wan up", wan_up, NULL },
	{ "wan down", wan_down, NULL },
	{ "wan command with entries", wan_entries, "WAN command with entries" },
	{ "op 7", op7, "unknown operation" },
	{ "reload", reload, NULL },
	{ "reload with entries", reload_entries, "reload with entries" },
	{ "pinhole without one", pin_empty, "pinhole protocol, port or address not valid" },
	{ "pinhole add", pin_good, NULL },
	{ "pinhole delete", pin_del, NULL },
	{ "pinhole packets", pin_packets, NULL },
	{ "pinhole UDP-Lite from a host and port", pin_udplite_rh, NULL },
	{ "pinhole with entries", pin_entries, "pinhole with entries" },
	{ "pinhole ICMPv6", pin_icmp, "pinhole protocol, port or address not valid" },
	{ "pinhole port 0", pin_port0, "pinhole protocol, port or address not valid" },
	{ "pinhole padding", pin_pad, "pinhole padding not zero" },
	{ "pinhole outside the LAN", pin_outside,
	  "pinhole internal address outside the LAN's IPv6 prefixes" },
	{ "pinhole to the gateway", pin_gateway, "pinhole to one of the gateway's own addresses" },
	{ "pinhole to a ULA", pin_ula, "pinhole internal address outside the LAN's IPv6 prefixes" },
	{ "pinhole to a link-local address", pin_ll, "pinhole protocol, port or address not valid" },
	{ "pinhole from a multicast remote", pin_rh_mcast,
	  "pinhole protocol, port or address not valid" },
	{ "icmp", icmp, "protocol is neither TCP nor UDP" },
	{ "udp", udp, NULL },
	{ "external port 0", ext0, "port 0" },
	{ "internal port 0", int0, "port 0" },
	{ "entry padding", epad, "entry padding not zero" },
	{ "outside the LAN", outside, "internal address outside the LAN prefix" },
	{ "network address", netaddr, "internal address outside the LAN prefix" },
	{ "broadcast address", bcast, "internal address outside the LAN prefix" },
	{ "second LAN", lan2, NULL },
	{ "second LAN's broadcast", lan2_bcast, "internal address outside the LAN prefix" },
	{ "remote host", rh_ok, NULL },
	{ "multicast remote host", rh_mcast, "remote host is not a unicast address" },
	{ "loopback remote host", rh_loop, "remote host is not a unicast address" },
	{ "broadcast remote host", rh_bcast, "remote host is not a unicast address" },
	{ "second entry bad", second_bad, "port 0" },
};

/* The helper reads the LANs' prefixes itself: lo's 127.0.0.0/8; a
 * missing interface is left out, none at all is an error. */
static void test_read_lans(void **state)
{
	static const char names[3][IF_NAMESIZE] = { "igdd-none0", "lo", "igdd-none1" };
	struct priv_policy pol;

	(void)state;
	assert_int_equal(priv_read_lans(names, 3, &pol), 0);
	assert_int_equal(pol.nlan, 1);
	assert_int_equal(pol.lan[0].plen, 8);
	assert_int_equal(ntohl(pol.lan[0].net.s_addr), 0x7f000000u);
	assert_int_equal(pol.lan[0].index, 1);          /* lo's place in the list */
	assert_int_equal(priv_read_lans(names, 1, &pol), -EADDRNOTAVAIL);
	assert_int_equal(pol.nlan, 0);
}

static void test_msg_check(void **state)
{
	struct priv_policy pol = lan();
	static struct priv_req rq;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(check_rows) / sizeof(check_rows[0]); i++) {
		good_req(&rq);
		check_rows[i].spoil(&rq);
		why = NULL;
		if (priv_msg_check(&rq, sizeof(rq), false, &pol, false, &why) == 0) {
			if (check_rows[i].why)
				fail_msg("%s: accepted", check_rows[i].what);
		} else if (!check_rows[i].why || !why || strcmp(why, check_rows[i].why) != 0) {
			fail_msg("%s: refused (%s)", check_rows[i].what, why ? why : "?");
		}
	}
	good_req(&rq);
	assert_int_equal(priv_msg_check(&rq, sizeof(rq) - 1, false, &pol, false, &why), -EINVAL);
	assert_string_equal(why, "wrong message size");
	assert_int_equal(priv_msg_check(&rq, sizeof(rq) + 1, false, &pol, false, &why), -EINVAL);
	assert_int_equal(priv_msg_check(&rq, 0, false, &pol, false, NULL), -EINVAL);
}

/* The port rules and the ACL, as the helper applies them (steps 3 and 4
 * of core/policy.h), and what a grant or a descriptor changes. */
struct port_row {
	const char *client;
	unsigned ext, in;
	bool fd, granted;
	int want;
	const char *why;
};

static const struct port_row port_rows[] = {
	{ "192.168.77.2", 18080, 8080, false, false, 0, NULL },
	{ "192.168.77.2", 22, 22, false, false, -EACCES, "well-known port" },
	{ "192.168.77.2", 18080, 80, false, false, -EACCES, "well-known port" },
	{ "192.168.77.20", 80, 8080, false, false, 0, NULL },          /* acl allow */
	{ "192.168.77.21", 80, 8080, false, false, -EACCES, "well-known port" },
	{ "192.168.77.2", 5500, 5500, false, false, -EACCES, "denied by acl" },
	{ "192.168.88.2", 6000, 6000, false, false, -EACCES, "denied by acl" },   /* on guest0 */
	{ "192.168.77.2", 6000, 6000, false, false, 0, NULL },         /* not guest0's host */
	{ "192.168.77.2", 22, 22, true, false, -EACCES, "well-known port" },   /* grant not read yet */
	{ "192.168.77.2", 22, 22, true, true, 0, NULL },                /* a grant lifts it */
	{ "192.168.77.2", 5500, 5500, true, true, 0, NULL },
	{ "192.168.78.2", 22, 22, true, true, -EINVAL, "internal address outside the LAN prefix" },
};

static void test_msg_ports(void **state)
{
	static const char text[] = "lan_interface = lo\n"
				   "lan_interface = guest0\n"
				   "acl = allow 80 192.168.77.20 8080\n"
				   "acl = deny 5000-5999 0.0.0.0/0 0-65535\n"
				   "acl = deny 6000 0.0.0.0/0 6000 on guest0\n";
	struct priv_policy pol = lan();
	static struct priv_req rq;
	struct config cfg;
	char err[256];
	const char *why;
	size_t i;
	int r;

	(void)state;
	assert_int_equal(config_parse("t.conf", text, sizeof(text) - 1, &cfg, err, sizeof(err)), 0);
	pol.ports = config_policy_new(&cfg, err, sizeof(err));
	assert_non_null(pol.ports);
	for (i = 0; i < sizeof(port_rows) / sizeof(port_rows[0]); i++) {
		const struct port_row *row = &port_rows[i];

		good_req(&rq);
		inet_pton(AF_INET, row->client, &rq.e[0].internal);
		rq.e[0].ext_port = (uint16_t)row->ext;
		rq.e[0].int_port = (uint16_t)row->in;
		why = NULL;
		r = priv_msg_check(&rq, sizeof(rq), row->fd, &pol, row->granted, &why);
		if (r != row->want || (row->why && (!why || strcmp(why, row->why) != 0)))
			fail_msg("row %zu: %d (%s)", i, r, why ? why : "-");
	}
	/* Removing is never refused by the port rules. */
	good_req(&rq);
	rq.op = PRIV_OP_REMOVE;
	rq.e[0].ext_port = 22;
	assert_int_equal(priv_msg_check(&rq, sizeof(rq), false, &pol, false, &why), 0);
	/* A descriptor only with an APPLY of exactly one mapping. */
	rq.op = PRIV_OP_FLUSH;
	rq.count = 0;
	assert_int_equal(priv_msg_check(&rq, sizeof(rq), true, &pol, false, &why), -EINVAL);
	good_req(&rq);
	rq.count = 2;
	rq.e[1] = rq.e[0];
	rq.e[1].ext_port = 18081;
	assert_int_equal(priv_msg_check(&rq, sizeof(rq), true, &pol, true, &why), -EINVAL);
	assert_string_equal(why, "a grant with something else than one mapping to apply");
	policy_free((struct policy *)pol.ports);
}

/* A grant as read from its socketpair. */
static void test_grant_check(void **state)
{
	struct priv_grant g;
	struct priv_entry want;
	const char *why;
	uint64_t now = 1000000;
	char raw[sizeof(g) + 1];

	(void)state;
	memset(&g, 0, sizeof(g));
	g.magic = PRIV_GRANT_MAGIC;
	g.version = PRIV_MSG_VERSION;
	g.created_ms = now - 10;
	inet_pton(AF_INET, "192.168.77.2", &g.e.internal);
	g.e.ext_port = 22;
	g.e.int_port = 22;
	g.e.proto = IPPROTO_TCP;
	want = g.e;
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), 0);
	memcpy(raw, &g, sizeof(g));
	assert_int_equal(priv_grant_check(raw, sizeof(raw), &want, now, &why), -EINVAL);
	assert_string_equal(why, "grant of the wrong size");
	assert_int_equal(priv_grant_check(&g, sizeof(g) - 1, &want, now, &why), -EINVAL);
	g.magic++;
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
	assert_string_equal(why, "not a grant of this version");
	g.magic--;
	g.version++;
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
	g.version--;
	g.created_ms = now - PRIV_GRANT_MAX_AGE_MS - 1;
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
	assert_string_equal(why, "grant too old");
	g.created_ms = now + 1;                         /* from the future */
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
	g.created_ms = now;
	want.int_port = 23;                             /* another mapping */
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
	assert_string_equal(why, "grant names another mapping");
	want.int_port = 22;
	want.remote_host.s_addr = 1;
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
	want.remote_host.s_addr = 0;
	g.e.pad[0] = 1;
	assert_int_equal(priv_grant_check(&g, sizeof(g), &want, now, &why), -EINVAL);
}

/* ---- capabilities (in children: the test process keeps its own) ---- */


static int drop_all(void)
{
	uint64_t eff = 1, prm = 1, bnd = 0;

	CHECK(caps_drop(NULL, 0, NULL) == 0);
	CHECK(caps_proc_status(0, "CapEff", &eff) == 0 && eff == 0);
	CHECK(caps_proc_status(0, "CapPrm", &prm) == 0 && prm == 0);
	CHECK(caps_proc_status(0, "CapAmb", &eff) == 0 && eff == 0);
	if (geteuid() == 0)
		CHECK(caps_proc_status(0, "CapBnd", &bnd) == 0 && bnd == 0);
	return 0;
}

static int drop_to_nobody(void)
{
	struct caps_user u;
	uint64_t eff = 0, bnd = 0;

	CHECK(caps_lookup_user("nobody", &u) == 0);
	CHECK(caps_drop(&u, CAPS_BIT(CAP_NET_ADMIN), NULL) == 0);
	CHECK(getuid() == u.uid && geteuid() == u.uid && getgid() == u.gid);
	CHECK(caps_proc_status(0, "CapEff", &eff) == 0 && eff == CAPS_BIT(CAP_NET_ADMIN));
	CHECK(caps_proc_status(0, "CapBnd", &bnd) == 0 && bnd == CAPS_BIT(CAP_NET_ADMIN));
	/* Root's other powers are gone: no way back. */
	CHECK(setuid(0) < 0);
	return 0;
}

/*
 * Root with the capabilities switching to nobody with CAP_NET_ADMIN takes.
 * Root in a container or a build chroot often lacks some (systemd-nspawn
 * and Docker keep CAP_NET_ADMIN only with a network of their own): the
 * tests that need them say so and skip, as they do for a user.
 */
static bool root_with_caps(const char *test)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN" }, { CAP_SETUID, "CAP_SETUID" },
		{ CAP_SETGID, "CAP_SETGID" }, { CAP_SETPCAP, "CAP_SETPCAP" },
	};
	uint64_t eff = 0;
	size_t i;

	if (geteuid() != 0)
		return false;
	if (caps_proc_status(0, "CapEff", &eff) < 0)
		eff = 0;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!(eff & CAPS_BIT(need[i].cap))) {
			fprintf(stderr, "%s: root without %s (a container?): skipped\n",
				test, need[i].name);
			return false;
		}
	}
	return true;
}

static void test_caps(void **state)
{
	struct caps_user u;

	(void)state;
	assert_int_equal(caps_lookup_user("no-such-user-igdd-test", &u), -ENOENT);
	assert_int_equal(child_status(drop_all), 0);
	if (!root_with_caps("test_caps"))
		skip();
	assert_int_equal(child_status(drop_to_nobody), 0);
}

/* ---- the helper, end to end, in a network namespace of its own ---- */

/* The namespace's LAN (10.77.0.1/24 on lan0) and WAN (203.0.113.1/24 on
 * wan0): veth pairs, so that addresses are real. */
static const char lab_cmds[] =
	"ip link set lo up && "
	"ip link add lan0 type veth peer name lan1 && ip link set lan1 up && "
	"ip addr add 10.77.0.1/24 dev lan0 && ip link set lan0 up && "
	"ip link add wan0 type veth peer name wan1 && ip link set wan1 up && "
	"ip addr add 203.0.113.1/24 dev wan0 && ip link set wan0 up";

#define CONF_BASE \
	"backend = nft\n" \
	"lan_interface = lan0\n" \
	"wan_interface = wan0\n" \
	"max_mappings = 8\n" \
	"user = nobody\n"
static const char conf_text[] = CONF_BASE "acl = allow 80 10.77.0.20 8080\n";

static char conf_path[] = "/tmp/igdd-test-priv.XXXXXX";

/* Write the configuration file the helper follows (readable by nobody). */
static int write_conf(const char *text)
{
	char tmp[sizeof(conf_path) + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", conf_path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(tmp, 0644) < 0)
		return -1;
	return rename(tmp, conf_path);          /* a new file, as an editor writes it */
}

static struct priv_entry el(const char *in, unsigned ext, unsigned port)
{
	struct priv_entry e;

	memset(&e, 0, sizeof(e));
	inet_pton(AF_INET, in, &e.internal);
	e.ext_port = (uint16_t)ext;
	e.int_port = (uint16_t)port;
	e.proto = IPPROTO_TCP;
	return e;
}

static struct priv_entry udp_el(const char *in, unsigned ext, unsigned port)
{
	struct priv_entry e = el(in, ext, port);

	e.proto = IPPROTO_UDP;
	return e;
}

/* The kernel's counts: -ENOENT when our table is gone. */
static int counts(size_t c[NFT_NSETS], unsigned *rules)
{
	struct nft_verify *v = nft_verify_new();
	int r = v ? nft_verify_read(v, (1u << NFT_SET_HAIRPIN) - 1, rules, c) : -errno;

	nft_verify_free(v);
	return r;
}

static int nft(const char *cmd)
{
	struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
	int r = nft_run_cmd_from_buffer(c, cmd);

	nft_ctx_free(c);
	return r;
}

static size_t dnat_count(void)
{
	size_t c[NFT_NSETS];
	unsigned rules;

	return counts(c, &rules) == 0 ? c[NFT_SET_DNAT_ANY] + c[NFT_SET_DNAT_RH] : (size_t)-1;
}

/* The table holds *(size_t *)arg DNAT elements (any and remote host). */
static bool dnat_holds(void *arg)
{
	return dnat_count() == *(size_t *)arg;
}

/* The table holds *(size_t *)arg dnat_any elements and its 6 rules. */
static bool table_holds(void *arg)
{
	size_t c[NFT_NSETS];
	unsigned rules;

	return counts(c, &rules) == 0 && rules == 6 && c[NFT_SET_DNAT_ANY] == *(size_t *)arg;
}

static bool table_gone(void *arg)
{
	size_t c[NFT_NSETS];
	unsigned rules;

	(void)arg;
	return counts(c, &rules) == -ENOENT;
}

/* Now, or (wait) until the helper gets there, at most the safety timeout. */
static bool wait_table(size_t n, bool wait)
{
	return wait ? test_poll_until(table_holds, &n) : table_holds(&n);
}

static bool wait_gone(bool wait)
{
	return wait ? test_poll_until(table_gone, NULL) : table_gone(NULL);
}

/* A raw message of the wrong size is refused, and the helper goes on. */
static int raw_garbage(struct priv *p)
{
	struct priv_reply rp;
	char junk[10] = "junk";

	CHECK(send(priv_fd(p), junk, sizeof(junk), 0) == (ssize_t)sizeof(junk));
	CHECK(recv(priv_fd(p), &rp, sizeof(rp), 0) == (ssize_t)sizeof(rp));
	CHECK(rp.status == -EINVAL && rp.seq == 0);
	return 0;
}

static int helper_changes(struct priv *p)
{
	struct priv_entry v[4];
	size_t c[NFT_NSETS], n = 0;
	unsigned rules = 0;

	v[0] = el("10.77.0.5", 18080, 8080);
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 1, &n) == 0 && n == 1);
	CHECK(counts(c, &rules) == 0 && rules == 6);
	CHECK(c[NFT_SET_DNAT_ANY] == 1 && c[NFT_SET_ALLOW_ANY] == 1 && c[NFT_SET_SNAT_ANY] == 1);
	v[0].int_port = 8081;                                   /* replace */
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 1, &n) == 0 && n == 1);
	v[1] = el("10.78.0.5", 18081, 8080);                    /* outside the LAN */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[1], 1, NULL) == -EINVAL);
	CHECK(raw_garbage(p) == 0);
	v[1] = el("10.77.0.6", 2001, 2001);
	v[2] = el("10.77.0.6", 2002, 2002);
	v[3] = el("10.77.0.6", 2003, 2003);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[1], 3, &n) == 0 && n == 4);
	CHECK(priv_call(p, PRIV_OP_REMOVE, &v[2], 2, &n) == 0 && n == 2);
	CHECK(counts(c, &rules) == 0 && c[NFT_SET_DNAT_ANY] == 2 && c[NFT_SET_ALLOW_ANY] == 2);
	/* Flushed behind its back: the next change rebuilds the table... */
	CHECK(nft("flush ruleset") == 0);
	CHECK(priv_call(p, PRIV_OP_REMOVE, &v[0], 1, &n) == 0 && n == 1);
	CHECK(wait_table(1, false));
	/* ...and so does the periodic check (every PRIV_CHECK_INTERVAL_MS). */
	CHECK(nft("flush ruleset") == 0);
	CHECK(wait_table(1, true));
	CHECK(priv_call(p, PRIV_OP_FLUSH, NULL, 0, &n) == 0 && n == 0);
	CHECK(wait_table(0, false));
	return 0;
}

/* max_mappings holds. */
static int helper_limit(struct priv *p)
{
	struct priv_entry v[9];
	size_t i, n = 0;

	for (i = 0; i < 9; i++)
		v[i] = el("10.77.0.6", 2001 + (unsigned)i, 2001);
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 8, &n) == 0 && n == 8);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[8], 1, NULL) == -ENOSPC);
	CHECK(priv_call(p, PRIV_OP_FLUSH, NULL, 0, &n) == 0 && n == 0);
	return 0;
}

/* A socket of type bound to addr:port (and listening, for TCP). */
static int bound(int family, int type, const char *addr, unsigned port, bool v6only)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC, 0), one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		one = v6only;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0)) {
		fprintf(stderr, "bind %s:%u: %s\n", addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* What a compromised engine asks for and does not get (crafted
 * requests): the gateway's own addresses, followed as they change;
 * well-known ports; ports the gateway listens on (wildcard, WAN
 * address, dual-stack ::) or forwards statically. What stays allowed:
 * ports bound only on the LAN or loopback address, an IPv6-only socket,
 * the other protocol. */
static int helper_refusals(struct priv *p)
{
	struct priv_entry v;
	int fds[9], i;

	v = el("10.77.0.1", 18082, 8080);                       /* the gateway's LAN address */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EACCES);
	v = el("10.77.0.9", 18082, 8080);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	CHECK(sh("ip addr add 10.77.0.9/24 dev lan0") == 0);     /* now the gateway's too */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EACCES);
	CHECK(sh("ip addr del 10.77.0.9/24 dev lan0") == 0);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	v = el("10.77.0.5", 22, 22);                            /* well-known */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EACCES);
	v = el("10.77.0.5", 18083, 80);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EACCES);
	v = el("10.77.0.20", 80, 8080);                         /* the acl allows this one */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);

	fds[0] = bound(AF_INET, SOCK_STREAM, "0.0.0.0", 18443, false);
	fds[1] = bound(AF_INET, SOCK_DGRAM, "0.0.0.0", 18444, false);
	fds[2] = bound(AF_INET, SOCK_STREAM, "127.0.0.1", 18445, false);
	fds[3] = bound(AF_INET, SOCK_STREAM, "10.77.0.1", 18446, false);
	fds[4] = bound(AF_INET, SOCK_STREAM, "203.0.113.1", 18447, false);
	fds[5] = bound(AF_INET6, SOCK_STREAM, "::", 18448, false);
	fds[6] = bound(AF_INET6, SOCK_STREAM, "::", 18449, true);
	fds[7] = bound(AF_INET6, SOCK_DGRAM, "::ffff:203.0.113.1", 18451, false);
	fds[8] = bound(AF_INET, SOCK_STREAM, "0.0.0.0", 18452, false);
	for (i = 0; i < 9; i++)
		CHECK(fds[i] >= 0);
	v = el("10.77.0.5", 18443, 8443);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EADDRINUSE);
	v = udp_el("10.77.0.5", 18443, 8443);                   /* the other protocol */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	v = udp_el("10.77.0.5", 18444, 8443);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EADDRINUSE);
	v = el("10.77.0.5", 18445, 8443);                       /* loopback only */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	v = el("10.77.0.5", 18446, 8443);                       /* LAN address only */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	v = el("10.77.0.5", 18447, 8443);                       /* the WAN address */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EADDRINUSE);
	v = el("10.77.0.5", 18448, 8443);                       /* :: takes IPv4 too */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EADDRINUSE);
	v = el("10.77.0.5", 18449, 8443);                       /* IPv6 only */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	v = udp_el("10.77.0.5", 18451, 8443);                   /* ::ffff:WAN */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EADDRINUSE);
	{
		/* A batch is checked whole: one held port refuses all of it. */
		struct priv_entry b[10];

		CHECK(priv_call(p, PRIV_OP_FLUSH, NULL, 0, NULL) == 0);
		for (i = 0; i < 10; i++)
			b[i] = el("10.77.0.7", 19000 + (unsigned)i, 9000);
		b[9] = el("10.77.0.7", 18452, 9000);
		CHECK(priv_call(p, PRIV_OP_APPLY, b + 2, 8, NULL) == -EADDRINUSE);
		CHECK(priv_call(p, PRIV_OP_APPLY, b, 10, NULL) == -EADDRINUSE);
		CHECK(priv_call(p, PRIV_OP_APPLY, b, 8, NULL) == 0);
		CHECK(priv_call(p, PRIV_OP_REMOVE, b, 8, NULL) == 0);
	}
	for (i = 0; i < 9; i++)
		close(fds[i]);

	CHECK(nft("add table ip fw\n"
		  "add chain ip fw dstnat { type nat hook prerouting priority dstnat; }\n"
		  "add rule ip fw dstnat iifname \"wan0\" tcp dport 18450 dnat to 10.77.0.30\n") == 0);
	v = el("10.77.0.5", 18450, 8443);                       /* forwarded statically */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == -EADDRINUSE);
	v = udp_el("10.77.0.5", 18450, 8443);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	CHECK(nft("delete table ip fw\n") == 0);
	v = el("10.77.0.5", 18450, 8443);                       /* and no more */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	CHECK(priv_call(p, PRIV_OP_FLUSH, NULL, 0, NULL) == 0);
	return 0;
}

/* Wait for n mappings the helper removed by itself (at most the safety
 * timeout). */
static int wait_removed(struct priv *p, size_t n, struct priv_removed *out)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint64_t end = clock_monotonic_ms(NULL) + test_timeout_ms();
	size_t got = 0;

	while (got < n) {
		CHECK(priv_on_readable(p) == 0);
		got += priv_removed_take(p, out + got, n - got);
		if (got == n)
			break;
		if (clock_monotonic_ms(NULL) >= end)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* A service that starts listening on a port a mapping holds wins: the
 * helper removes the mapping at its next check (UDP: at the second, a
 * client's query socket comes and goes) and tells the engine. */
static int helper_router_wins(struct priv *p)
{
	struct priv_entry v[3];
	struct priv_removed got[2];
	int tcp, udp, lan_only;

	v[0] = el("10.77.0.5", 18460, 8460);
	v[1] = udp_el("10.77.0.5", 18461, 8461);
	v[2] = el("10.77.0.5", 18462, 8462);
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 3, NULL) == 0);
	CHECK(dnat_count() == 3);
	tcp = bound(AF_INET, SOCK_STREAM, "0.0.0.0", 18460, false);
	udp = bound(AF_INET, SOCK_DGRAM, "0.0.0.0", 18461, false);
	lan_only = bound(AF_INET, SOCK_STREAM, "10.77.0.1", 18462, false);
	CHECK(tcp >= 0 && udp >= 0 && lan_only >= 0);
	CHECK(wait_removed(p, 2, got) == 0);
	CHECK(got[0].why == -EADDRINUSE && got[1].why == -EADDRINUSE);
	CHECK((got[0].e.ext_port == 18460 && got[1].e.ext_port == 18461) ||
	      (got[0].e.ext_port == 18461 && got[1].e.ext_port == 18460));
	CHECK(dnat_count() == 1);                       /* the LAN-only one stays */
	close(tcp);
	close(udp);
	close(lan_only);
	CHECK(priv_call(p, PRIV_OP_FLUSH, NULL, 0, NULL) == 0);
	return 0;
}

/* A grant made in another process (as igddctl does), by uid: one end of
 * a SOCK_SEQPACKET socketpair holding g, passed back over a socketpair.
 * The end, or -1. */
static int grant_from(uid_t uid, const struct priv_grant *g)
{
	char byte = 'g';
	int link[2], fd = -1;
	bool bad;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, link) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int sv[2];

		close(link[0]);
		if ((uid && setuid(uid) < 0) ||
		    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
		    send(sv[0], g, sizeof(*g), 0) != (ssize_t)sizeof(*g))
			_exit(1);
		_exit(fdpass_send(link[1], &byte, 1, sv[1], 0) == 1 ? 0 : 1);
	}
	close(link[1]);
	if (pid > 0 && (fdpass_recv(link[0], &byte, 1, 0, &fd, &bad) != 1 || bad) && fd >= 0) {
		close(fd);
		fd = -1;
	}
	close(link[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return fd;
}

static struct priv_grant grant_for(const struct priv_entry *e)
{
	struct priv_grant g;

	memset(&g, 0, sizeof(g));
	g.magic = PRIV_GRANT_MAGIC;
	g.version = PRIV_MSG_VERSION;
	g.created_ms = clock_monotonic_ms(NULL);
	priv_entry_put(&g.e, e);
	return g;
}

/* Admin mappings beyond the port policy: only with a grant root made
 * for exactly that mapping; never the gateway's own address or port. */
static int helper_grants(struct priv *p)
{
	struct priv_entry v = el("10.77.0.5", 22, 22), other = el("10.77.0.5", 23, 23);
	struct priv_grant g = grant_for(&v);
	struct caps_user nobody;
	int fd, listener;

	CHECK(caps_lookup_user("nobody", &nobody) == 0);
	/* Not made by root. */
	fd = grant_from(nobody.uid, &g);
	CHECK(fd >= 0 && priv_call_granted(p, &v, fd, NULL) == -EACCES);
	close(fd);
	/* Made by root, for another mapping. */
	fd = grant_from(0, &g);
	CHECK(fd >= 0 && priv_call_granted(p, &other, fd, NULL) == -EACCES);
	close(fd);
	/* The engine's own channel, which root created at start: no grant. */
	CHECK(priv_call_granted(p, &v, priv_fd(p), NULL) == -EACCES);
	/* Used up: a grant is read once. */
	fd = grant_from(0, &g);
	CHECK(fd >= 0 && priv_call_granted(p, &v, fd, NULL) == 0);
	CHECK(priv_call_granted(p, &v, fd, NULL) == -EACCES);
	close(fd);
	CHECK(dnat_count() == 1);
	/* Never the gateway's own address, nor a port it listens on. */
	v = el("10.77.0.1", 2222, 22);
	g = grant_for(&v);
	fd = grant_from(0, &g);
	CHECK(fd >= 0 && priv_call_granted(p, &v, fd, NULL) == -EACCES);
	close(fd);
	listener = bound(AF_INET, SOCK_STREAM, "0.0.0.0", 80, false);
	v = el("10.77.0.5", 80, 80);
	g = grant_for(&v);
	fd = grant_from(0, &g);
	CHECK(listener >= 0 && fd >= 0 && priv_call_granted(p, &v, fd, NULL) == -EADDRINUSE);
	close(fd);
	close(listener);
	return 0;
}

/* The port policy follows the configuration file: on PRIV_OP_RELOAD and
 * when the file changes; installed mappings it now refuses go (granted
 * ones stay), reported as removed. */
static int helper_reload(struct priv *p)
{
	struct priv_entry v[2] = { el("10.77.0.5", 18080, 8080), el("10.77.0.5", 3000, 3000) };
	struct priv_removed got[2];
	size_t n;

	CHECK(priv_call(p, PRIV_OP_APPLY, v, 2, NULL) == 0);
	CHECK(dnat_count() == 3);                               /* and TCP/22, granted */
	CHECK(write_conf(CONF_BASE "acl = deny 18000-18999 0.0.0.0/0 0-65535\n") == 0);
	CHECK(priv_call(p, PRIV_OP_RELOAD, NULL, 0, NULL) == 0);
	CHECK(wait_removed(p, 1, got) == 0);
	CHECK(got[0].why == -EACCES && got[0].e.ext_port == 18080);
	CHECK(dnat_count() == 2);
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 1, NULL) == -EACCES);
	/* Written without a word to the helper: it follows the file. */
	CHECK(write_conf(CONF_BASE "acl = deny 3000 0.0.0.0/0 0-65535\n") == 0);
	CHECK(wait_removed(p, 1, got) == 0);
	CHECK(got[0].why == -EACCES && got[0].e.ext_port == 3000);
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 1, NULL) == 0);   /* 18080 is allowed again */
	n = 2;
	CHECK(test_poll_until(dnat_holds, &n));                 /* TCP/22 (granted), 18080 */
	/* A file that does not load leaves the policy as it was. */
	CHECK(write_conf("backend = nft\nno_such_key = 1\n") == 0);
	CHECK(priv_call(p, PRIV_OP_RELOAD, NULL, 0, NULL) == -EINVAL);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[1], 1, NULL) == -EACCES);
	CHECK(write_conf(conf_text) == 0);
	CHECK(priv_call(p, PRIV_OP_FLUSH, NULL, 0, NULL) == 0);
	return 0;
}

static int helper_caps(struct priv *p)
{
	uint64_t eff = 0, bnd = 0;

	CHECK(caps_proc_status(priv_pid(p), "CapEff", &eff) == 0 && eff == CAPS_BIT(CAP_NET_ADMIN));
	CHECK(caps_proc_status(priv_pid(p), "CapPrm", &eff) == 0 && eff == CAPS_BIT(CAP_NET_ADMIN));
	CHECK(caps_proc_status(priv_pid(p), "CapBnd", &bnd) == 0 && bnd == CAPS_BIT(CAP_NET_ADMIN));
	return 0;
}

/* The engine dies without a word: the helper deletes the table. */
static int engine_dies(const struct config *cfg)
{
	struct priv *p = NULL;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(priv_start(cfg, NULL, true, &p) == 0 ? 0 : 1);   /* exit without priv_stop */
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(wait_gone(true));
	return 0;
}

/* An engine that stops reading what the helper sends: the helper gives
 * up on it (after 10 s of a full socket), deletes the table and exits.
 * Requests, never a reply read, until the table is gone: the replies
 * fill the engine's socket, the helper blocks sending them and, once it
 * no longer reads either, this end cannot send (at most 20000 requests
 * and the safety timeout). */
static int engine_stuck(const struct config *cfg)
{
	static struct priv_req rq;
	struct priv *p = NULL;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint64_t end;
	unsigned sent = 0;
	bool closed = false;

	CHECK(priv_start(cfg, NULL, true, &p) == 0);
	memset(&rq, 0, sizeof(rq));
	rq.version = PRIV_MSG_VERSION;
	rq.op = PRIV_OP_FLUSH;
	end = clock_monotonic_ms(NULL) + test_timeout_ms();
	while (!table_gone(NULL)) {
		struct pollfd pfd = { .fd = priv_fd(p), .events = POLLOUT };

		CHECK(clock_monotonic_ms(NULL) < end);
		if (closed) {                   /* it went: the table goes with it */
			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&pfd, 1, 100) == 1 && (pfd.revents & POLLOUT) && sent < 20000) {
			rq.seq = ++sent;
			if (send(priv_fd(p), &rq, sizeof(rq), MSG_DONTWAIT | MSG_NOSIGNAL) !=
			    (ssize_t)sizeof(rq)) {
				/* Full, or the helper already gave up and closed. */
				CHECK(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET);
				closed = errno != EAGAIN;
			}
		}
		CHECK(sent < 20000 || !(pfd.revents & POLLOUT));
	}
	priv_stop(p);
	return 0;
}

/* The next event, polling the channel (at most the safety timeout). */
static int wan_event(struct priv *p, struct priv_wan_done *ret)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint64_t end = clock_monotonic_ms(NULL) + test_timeout_ms();

	while (clock_monotonic_ms(NULL) < end) {
		CHECK(priv_on_readable(p) == 0);
		if (priv_event_take(p, ret) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/* The admin's WAN commands: run by the helper, their end an event with
 * the starting request's sequence number; a newer request replaces a
 * running command; not configured: -ENOTSUP. */
static int helper_wan(void)
{
	static const char text[] = CONF_BASE "wan_up_command = /bin/sleep 30\n"
				   "wan_down_command = /bin/false\n";
	struct config cfg;
	struct priv *p = NULL;
	struct priv_wan_done d;
	uint32_t s1 = 0, s2 = 0;
	char err[256];

	CHECK(config_parse("t.conf", text, sizeof(text) - 1, &cfg, err, sizeof(err)) == 0);
	CHECK(priv_start(&cfg, NULL, true, &p) == 0);
	CHECK(priv_wan_start(p, PRIV_OP_WAN_UP, &s1) == 0);
	CHECK(priv_wan_start(p, PRIV_OP_WAN_DOWN, &s2) == 0 && s2 != s1);
	CHECK(wan_event(p, &d) == 0);
	CHECK(d.seq == s1 && d.op == PRIV_OP_WAN_UP && d.status == -ECANCELED);
	CHECK(wan_event(p, &d) == 0);
	CHECK(d.seq == s2 && d.op == PRIV_OP_WAN_DOWN && d.status == -EIO);
	priv_stop(p);
	cfg.wan_down_command[0] = '\0';
	cfg.wan_up_command[0] = '\0';
	CHECK(priv_start(&cfg, NULL, true, &p) == 0);
	CHECK(priv_wan_start(p, PRIV_OP_WAN_UP, &s1) == -ENOTSUP);
	priv_stop(p);
	return 0;
}

/* nftables' netlink family: absent under qemu-user, which translates
 * only NETLINK_ROUTE for its guests (scripts/cross-test.sh). */
static bool nfnetlink_available(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd < 0) {
		fprintf(stderr, "test_helper: no NETLINK_NETFILTER socket (%s): skipped\n",
			strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static int helper_e2e(void)
{
	struct config cfg;
	struct priv *p = NULL;
	struct priv_entry v = el("10.77.0.5", 18080, 8080);
	uint64_t eff = 1;
	char err[256];

	if (netns_enter(false) != 0 || sh("command -v ip >/dev/null") < 0)
		return NETNS_SKIP;
	if (!nfnetlink_available())
		return NETNS_SKIP;
	CHECK(sh(lab_cmds) == 0);
	CHECK(write_conf(conf_text) == 0);
	CHECK(config_load(conf_path, &cfg, err, sizeof(err)) == 0);
	CHECK(priv_start(&cfg, conf_path, true, &p) == 0);
	CHECK(wait_table(0, false));
	CHECK(helper_caps(p) == 0);
	CHECK(helper_changes(p) == 0);
	CHECK(helper_limit(p) == 0);
	CHECK(helper_refusals(p) == 0);
	CHECK(helper_router_wins(p) == 0);
	CHECK(helper_grants(p) == 0);
	CHECK(helper_reload(p) == 0);
	priv_stop(p);                                   /* a clean stop deletes the table */
	CHECK(wait_gone(false));
	CHECK(engine_dies(&cfg) == 0);
	CHECK(engine_stuck(&cfg) == 0);
	CHECK(helper_wan() == 0);
	/* The engine without privilege still gets its changes made. */
	CHECK(priv_start(&cfg, NULL, true, &p) == 0);
	CHECK(priv_drop_engine(p) == 0);
	CHECK(caps_proc_status(0, "CapEff", &eff) == 0 && eff == 0);
	CHECK(getuid() != 0);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	priv_stop(p);
	return 0;
}

static void test_helper(void **state)
{
	int r, fd;

	(void)state;
	if (!root_with_caps("test_helper"))
		skip();
	fd = mkstemp(conf_path);                /* the file the helper follows */
	assert_true(fd >= 0);
	close(fd);
	r = child_status(helper_e2e);
	unlink(conf_path);
	if (r == NETNS_SKIP)
		skip();
	assert_int_equal(r, 0);
}

/* ---- pipelined requests against a fake helper ---- */

#define FAKE_DONE_MAX (PRIV_INFLIGHT_MAX + 8)

/* The completions seen, in the order they came. */
struct fake_log {
	size_t n;
	uint32_t seq[FAKE_DONE_MAX];
	struct priv_result res[FAKE_DONE_MAX];
};

static void fake_done(void *arg, uint32_t seq, const struct priv_result *res)
{
	struct fake_log *fl = arg;

	assert_true(fl->n < FAKE_DONE_MAX);
	fl->seq[fl->n] = seq;
	fl->res[fl->n++] = *res;
}

/* The fake helper's end: one request, read within the safety timeout. */
static void fake_read(int fd, struct priv_req *req)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, (int)test_timeout_ms()), 1);
	assert_int_equal(recv(fd, req, sizeof(*req), 0), (ssize_t)sizeof(*req));
	assert_int_equal(req->version, PRIV_MSG_VERSION);
}

static void fake_answer(int fd, uint32_t seq, int status, uint32_t count)
{
	struct priv_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.version = PRIV_MSG_VERSION;
	rp.seq = seq;
	rp.status = status;
	rp.count = count;
	rp.event = PRIV_EVENT_NONE;
	assert_int_equal(send(fd, &rp, sizeof(rp), 0), (ssize_t)sizeof(rp));
}

/* A struct priv over one end of a socketpair; *ret_fake: the other. */
static struct priv *fake_helper(int *ret_fake)
{
	struct priv *p;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	p = priv_attach(sv[0]);
	assert_non_null(p);
	*ret_fake = sv[1];
	return p;
}

static struct priv_entry fake_entry(uint16_t port)
{
	struct priv_entry e;

	memset(&e, 0, sizeof(e));
	e.proto = IPPROTO_TCP;
	e.ext_port = port;
	e.int_port = port;
	inet_pton(AF_INET, "192.168.77.2", &e.internal);
	return e;
}

/* The engine's end, the fake helper's end, the completions, and one
 * APPLY request of a mapping on port. */
struct fake {
	struct priv *p;
	int fd;
	struct fake_log fl;
	struct priv_entry e;
	struct priv_send_args a;
};

static void fake_start(struct fake *f, uint16_t port)
{
	memset(f, 0, sizeof(*f));
	f->p = fake_helper(&f->fd);
	f->e = fake_entry(port);
	f->a.op = PRIV_OP_APPLY;
	f->a.v = &f->e;
	f->a.n = 1;
	f->a.grant_fd = -1;
}

static void fake_end(struct fake *f)
{
	priv_stop(f->p);
	if (f->fd >= 0)
		close(f->fd);
}

/* Sent without waiting, applied in order, answered out of turn: each
 * completion carries its own request's outcome, a failed one does not
 * stop the ones queued behind it. */
static void test_pipeline_order(void **state)
{
	struct priv_entry e[3] = { fake_entry(1000), fake_entry(1001), fake_entry(1002) };
	struct fake_log fl = { 0 };
	struct priv_req req[3];
	uint32_t seq[3];
	struct priv *p;
	int fake, i;

	(void)state;
	p = fake_helper(&fake);
	for (i = 0; i < 3; i++) {
		struct priv_send_args a = { .op = i == 1 ? PRIV_OP_REMOVE : PRIV_OP_APPLY,
					    .v = &e[i], .n = 1, .grant_fd = -1 };

		assert_int_equal(priv_send(p, &a, fake_done, &fl, &seq[i]), 0);
	}
	assert_int_equal(priv_inflight(p), 3);
	assert_true(priv_next_deadline(p) != UINT64_MAX);
	assert_int_equal(fl.n, 0);                      /* nothing completes in priv_send() */
	for (i = 0; i < 3; i++) {                       /* the helper reads them in order */
		fake_read(fake, &req[i]);
		assert_int_equal(req[i].seq, seq[i]);
		assert_int_equal(req[i].count, 1);
		assert_int_equal(req[i].e[0].ext_port, 1000 + i);
	}
	assert_int_equal(req[1].op, PRIV_OP_REMOVE);
	assert_true(seq[0] != seq[1] && seq[1] != seq[2]);

	fake_answer(fake, seq[1], -EIO, 0);             /* out of turn, failed */
	assert_int_equal(priv_on_readable(p), 0);
	assert_int_equal(fl.n, 1);
	assert_int_equal(fl.seq[0], seq[1]);
	assert_int_equal(fl.res[0].status, -EIO);
	assert_int_equal(priv_inflight(p), 2);

	fake_answer(fake, seq[0], 0, 7);
	fake_answer(fake, seq[2], 0, 8);
	assert_int_equal(priv_on_readable(p), 0);
	assert_int_equal(fl.n, 3);
	assert_int_equal(fl.seq[1], seq[0]);
	assert_int_equal(fl.res[1].status, 0);
	assert_int_equal(fl.res[1].count, 7);
	assert_int_equal(fl.seq[2], seq[2]);
	assert_int_equal(fl.res[2].count, 8);
	assert_int_equal(priv_inflight(p), 0);
	assert_true(priv_next_deadline(p) == UINT64_MAX);

	fake_answer(fake, seq[2], 0, 9);                /* a second reply: nobody waits */
	assert_int_equal(priv_on_readable(p), 0);
	assert_int_equal(fl.n, 3);
	priv_stop(p);
	close(fake);
}

/* A request not answered by its deadline fails with -ETIMEDOUT; its
 * late reply is dropped; the next request still completes. */
static void test_pipeline_late(void **state)
{
	struct fake f;
	struct priv_req req;
	uint32_t s1, s2;

	(void)state;
	fake_start(&f, 2000);
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &s1), 0);
	priv_expire(f.p, priv_next_deadline(f.p) - 1);      /* not yet */
	assert_int_equal(f.fl.n, 0);
	priv_expire(f.p, priv_next_deadline(f.p));
	assert_int_equal(f.fl.n, 1);
	assert_int_equal(f.fl.seq[0], s1);
	assert_int_equal(f.fl.res[0].status, -ETIMEDOUT);
	assert_int_equal(priv_inflight(f.p), 0);

	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &s2), 0);
	fake_read(f.fd, &req);
	fake_read(f.fd, &req);
	assert_int_equal(req.seq, s2);
	fake_answer(f.fd, s1, 0, 1);                    /* late: dropped */
	fake_answer(f.fd, s2, 0, 1);
	assert_int_equal(priv_on_readable(f.p), 0);
	assert_int_equal(f.fl.n, 2);
	assert_int_equal(f.fl.seq[1], s2);
	assert_int_equal(f.fl.res[1].status, 0);
	fake_end(&f);
}

/* At most PRIV_INFLIGHT_MAX in flight: the next is refused (-EBUSY,
 * nothing sent, no completion) until one completes. */
static void test_pipeline_full(void **state)
{
	struct fake f;
	struct priv_req req;
	uint32_t seq, first = 0;
	size_t i;

	(void)state;
	fake_start(&f, 3000);
	for (i = 0; i < PRIV_INFLIGHT_MAX; i++) {
		assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), 0);
		if (i == 0)
			first = seq;
	}
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), -EBUSY);
	assert_int_equal(priv_inflight(f.p), PRIV_INFLIGHT_MAX);
	for (i = 0; i < PRIV_INFLIGHT_MAX; i++)
		fake_read(f.fd, &req);
	assert_int_equal(req.seq, first + PRIV_INFLIGHT_MAX - 1);  /* the refused one never left */
	fake_answer(f.fd, first, 0, 1);
	assert_int_equal(priv_on_readable(f.p), 0);
	assert_int_equal(f.fl.n, 1);
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), 0);
	assert_int_equal(seq, first + PRIV_INFLIGHT_MAX);
	fake_end(&f);
}

/* The helper's end fails every request in flight with -EPIPE; nothing
 * more is sent. */
static void test_pipeline_eof(void **state)
{
	struct fake f;
	uint32_t seq;

	(void)state;
	fake_start(&f, 4000);
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), 0);
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), 0);
	close(f.fd);
	f.fd = -1;
	assert_int_equal(priv_on_readable(f.p), -EPIPE);
	assert_int_equal(f.fl.n, 2);
	assert_int_equal(f.fl.res[0].status, -EPIPE);
	assert_int_equal(f.fl.res[1].status, -EPIPE);
	assert_true(f.fl.seq[0] < f.fl.seq[1]);
	assert_int_equal(priv_inflight(f.p), 0);
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), -EPIPE);
	assert_int_equal(f.fl.n, 2);
	fake_end(&f);
}

/* A synchronous call while another request is in flight: the helper
 * answers both (the earlier first, an event between them); the earlier
 * one's completion is delivered, the call returns its own status, the
 * event is kept. */
static void test_pipeline_sync(void **state)
{
	struct fake f;
	struct priv_wan_done ev;
	struct priv_reply rp;
	struct priv_req req;
	size_t count = 0;
	uint32_t seq;

	(void)state;
	fake_start(&f, 5000);
	assert_int_equal(priv_send(f.p, &f.a, fake_done, &f.fl, &seq), 0);
	fake_answer(f.fd, seq, -EACCES, 0);
	memset(&rp, 0, sizeof(rp));
	rp.version = PRIV_MSG_VERSION;
	rp.seq = 77;
	rp.event = PRIV_EVENT_WAN_DONE;
	rp.op = PRIV_OP_WAN_UP;
	assert_int_equal(send(f.fd, &rp, sizeof(rp), 0), (ssize_t)sizeof(rp));
	fake_answer(f.fd, seq + 1, -ENOSPC, 12);        /* the call's, already waiting */
	assert_int_equal(priv_call(f.p, PRIV_OP_APPLY, &f.e, 1, &count), -ENOSPC);
	assert_int_equal(count, 12);
	assert_int_equal(f.fl.n, 1);
	assert_int_equal(f.fl.seq[0], seq);
	assert_int_equal(f.fl.res[0].status, -EACCES);
	assert_int_equal(priv_inflight(f.p), 0);
	assert_true(priv_event_pending(f.p));
	assert_int_equal(priv_event_take(f.p, &ev), 0);
	assert_int_equal(ev.seq, 77);
	fake_read(f.fd, &req);
	fake_read(f.fd, &req);
	assert_int_equal(req.seq, seq + 1);
	fake_end(&f);
}

/* ---- the nft backend's asynchronous form against a fake helper ---- */

struct job_seen {
	int n, status;
};

static void job_done(struct backend *b, int status, void *arg)
{
	struct job_seen *s = arg;

	(void)b;
	s->n++;
	s->status = status;
}

/* The nft backend over a fake helper; its config's WAN is the loopback. */
static void nft_over_fake(struct backend *b, struct config *cfg, struct clock *clk,
			  struct priv *p)
{
	config_defaults(cfg);
	snprintf(cfg->wan_interface, sizeof(cfg->wan_interface), "lo");
	memset(b, 0, sizeof(*b));
	clk->now_ms = clock_monotonic_ms;
	clk->ctx = NULL;
	b->ops = &backend_nft_ops;
	b->clock = clk;
	b->helper = p;
	assert_int_equal(b->ops->init(b, cfg), 0);
}

/* A job of 600 mappings (3 requests of PRIV_BATCH_MAX at most), the
 * enabled ones applied first, then the disabled ones withdrawn: sent from
 * submit without waiting, completed once the last request is answered,
 * never inside submit; a failure is the job's status. */
static void test_nft_jobs(void **state)
{
	struct mapping *v = calloc(600, sizeof(*v));
	struct backend_job job = { .op = BACKEND_JOB_APPLY, .grant_fd = -1 };
	struct job_seen seen = { 0 };
	struct priv_req req;
	struct backend b;
	struct config cfg;
	struct clock clk;
	struct priv *p;
	size_t i, got = 0, reqs = 0;
	int fake;

	(void)state;
	assert_non_null(v);
	p = fake_helper(&fake);
	nft_over_fake(&b, &cfg, &clk, p);
	for (i = 0; i < 600; i++) {
		v[i].proto = MAP_TCP;
		v[i].ext_port = (uint16_t)(1000 + i);
		v[i].int_port = v[i].ext_port;
		inet_pton(AF_INET, "192.168.77.2", &v[i].internal_client);
		v[i].enabled = i < 500;
	}
	job.v = v;
	job.n = 600;
	assert_int_equal(b.ops->submit(&b, &job, job_done, &seen), 0);
	assert_int_equal(seen.n, 0);
	/* Each request read and answered; the next ones follow as the
	 * window frees (priv_on_readable(), as the loop calls it). */
	while (got < 600) {
		fake_read(fake, &req);
		reqs++;
		assert_true(req.count <= PRIV_BATCH_MAX);
		assert_int_equal(req.op, got < 500 ? PRIV_OP_APPLY : PRIV_OP_REMOVE);
		got += req.count;
		fake_answer(fake, req.seq, 0, 0);
		assert_int_equal(priv_on_readable(p), 0);
	}
	assert_int_equal(got, 600);
	assert_int_equal(reqs, 3);              /* 256 + 244 applied, 100 withdrawn */
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.status, 0);

	/* A removal the helper refuses: the job fails with its status. */
	job.op = BACKEND_JOB_REMOVE;
	job.n = 10;
	assert_int_equal(b.ops->submit(&b, &job, job_done, &seen), 0);
	fake_read(fake, &req);
	assert_int_equal(req.op, PRIV_OP_REMOVE);
	fake_answer(fake, req.seq, -EIO, 0);
	assert_int_equal(priv_on_readable(p), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.status, -EIO);

	/* The helper goes away mid-job: -EPIPE, and drain returns. */
	job.n = 600;
	assert_int_equal(b.ops->submit(&b, &job, job_done, &seen), 0);
	close(fake);
	b.ops->drain(&b);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.status, -EPIPE);
	b.ops->shutdown(&b);
	priv_stop(p);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_check),
		cmocka_unit_test(test_msg_ports),
		cmocka_unit_test(test_grant_check),
		cmocka_unit_test(test_read_lans),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_helper),
		cmocka_unit_test(test_pipeline_order),
		cmocka_unit_test(test_pipeline_late),
		cmocka_unit_test(test_pipeline_full),
		cmocka_unit_test(test_pipeline_eof),
		cmocka_unit_test(test_pipeline_sync),
		cmocka_unit_test(test_nft_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
