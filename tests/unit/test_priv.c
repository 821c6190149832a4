/*
 * test_priv.c - privilege separation (priv/): the helper's message
 * checks (exact size, version, operation, count, policy), the
 * capability drop (CapEff read back from /proc/self/status), and, when
 * run as root with CAP_NET_ADMIN (not in a container that withholds it),
 * the whole helper in a network namespace of its own:
 * start-up, capabilities of both processes, apply / replace / remove,
 * refusals, its limit, repair after `flush ruleset`, table deleted on
 * a clean stop and when the engine dies.
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
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "harness.h"
#include "priv/caps.h"
#include "priv/nft_verify.h"
#include "priv/priv.h"
#include "priv/priv_msg.h"

/* ---- message checks ---- */

static struct priv_policy lan(void)
{
	struct priv_policy p;

	memset(&p, 0, sizeof(p));
	inet_pton(AF_INET, "192.168.77.0", &p.lan[0].net);
	p.lan[0].plen = 24;
	inet_pton(AF_INET, "192.168.88.0", &p.lan[1].net);     /* a second LAN */
	p.lan[1].plen = 24;
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
static void version(struct priv_req *rq) { rq->version = 2; }
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
static void op6(struct priv_req *rq) { rq->op = 6; rq->count = 0; }
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
	{ "op 6", op6, "unknown operation" },
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
		if (priv_msg_check(&rq, sizeof(rq), &pol, &why) == 0) {
			if (check_rows[i].why)
				fail_msg("%s: accepted", check_rows[i].what);
		} else if (!check_rows[i].why || !why || strcmp(why, check_rows[i].why) != 0) {
			fail_msg("%s: refused (%s)", check_rows[i].what, why ? why : "?");
		}
	}
	good_req(&rq);
	assert_int_equal(priv_msg_check(&rq, sizeof(rq) - 1, &pol, &why), -EINVAL);
	assert_string_equal(why, "wrong message size");
	assert_int_equal(priv_msg_check(&rq, sizeof(rq) + 1, &pol, &why), -EINVAL);
	assert_int_equal(priv_msg_check(&rq, 0, &pol, NULL), -EINVAL);
}

/* ---- capabilities (in children: the test process keeps its own) ---- */

/* Run fn in a child; its exit status. */
static int in_child(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			return 1; \
		} \
	} while (0)

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
	assert_int_equal(in_child(drop_all), 0);
	if (!root_with_caps("test_caps"))
		skip();
	assert_int_equal(in_child(drop_to_nobody), 0);
}

/* ---- the helper, end to end, in a network namespace of its own ---- */

static const char conf_text[] =
	"backend = nft\n"
	"lan_interface = lo\n"
	"wan_interface = wan0\n"
	"max_mappings = 4\n"
	"user = nobody\n";

static struct nft_elem el(const char *in, unsigned ext, unsigned port)
{
	struct nft_elem e;

	memset(&e, 0, sizeof(e));
	inet_pton(AF_INET, in, &e.internal);
	e.ext_port = (uint16_t)ext;
	e.int_port = (uint16_t)port;
	e.proto = IPPROTO_TCP;
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
	struct nft_elem v[4];
	size_t c[NFT_NSETS], n = 0;
	unsigned rules = 0;

	v[0] = el("127.0.0.5", 18080, 8080);
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 1, &n) == 0 && n == 1);
	CHECK(counts(c, &rules) == 0 && rules == 6);
	CHECK(c[NFT_SET_DNAT_ANY] == 1 && c[NFT_SET_ALLOW_ANY] == 1 && c[NFT_SET_SNAT_ANY] == 1);
	v[0].int_port = 8081;                                   /* replace */
	CHECK(priv_call(p, PRIV_OP_APPLY, v, 1, &n) == 0 && n == 1);
	v[1] = el("10.0.0.5", 18081, 8080);                     /* outside the LAN (127/8) */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[1], 1, NULL) == -EINVAL);
	CHECK(raw_garbage(p) == 0);
	v[1] = el("127.0.0.6", 1, 1);
	v[2] = el("127.0.0.6", 2, 2);
	v[3] = el("127.0.0.6", 3, 3);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[1], 3, &n) == 0 && n == 4);
	v[1].ext_port = 4;                                      /* a fifth: over max_mappings */
	CHECK(priv_call(p, PRIV_OP_APPLY, &v[1], 1, NULL) == -ENOSPC);
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
		_exit(priv_start(cfg, true, &p) == 0 ? 0 : 1);   /* exit without priv_stop */
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(wait_gone(true));
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
	static const char text[] = "backend = nft\nlan_interface = lo\nwan_interface = wan0\n"
				   "user = nobody\nwan_up_command = /bin/sleep 30\n"
				   "wan_down_command = /bin/false\n";
	struct config cfg;
	struct priv *p = NULL;
	struct priv_wan_done d;
	uint32_t s1 = 0, s2 = 0;
	char err[256];

	CHECK(config_parse("t.conf", text, sizeof(text) - 1, &cfg, err, sizeof(err)) == 0);
	CHECK(priv_start(&cfg, true, &p) == 0);
	CHECK(priv_wan_start(p, PRIV_OP_WAN_UP, &s1) == 0);
	CHECK(priv_wan_start(p, PRIV_OP_WAN_DOWN, &s2) == 0 && s2 != s1);
	CHECK(wan_event(p, &d) == 0);
	CHECK(d.seq == s1 && d.op == PRIV_OP_WAN_UP && d.status == -ECANCELED);
	CHECK(wan_event(p, &d) == 0);
	CHECK(d.seq == s2 && d.op == PRIV_OP_WAN_DOWN && d.status == -EIO);
	priv_stop(p);
	cfg.wan_down_command[0] = '\0';
	cfg.wan_up_command[0] = '\0';
	CHECK(priv_start(&cfg, true, &p) == 0);
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
	struct nft_elem v = el("127.0.0.5", 18080, 8080);
	uint64_t eff = 1;
	char err[256];

	if (test_own_netns() < 0)
		return 77;
	if (!nfnetlink_available())
		return 77;
	CHECK(config_parse("t.conf", conf_text, sizeof(conf_text) - 1, &cfg, err, sizeof(err)) == 0);
	CHECK(priv_start(&cfg, true, &p) == 0);
	CHECK(wait_table(0, false));
	CHECK(helper_caps(p) == 0);
	CHECK(helper_changes(p) == 0);
	priv_stop(p);                                   /* a clean stop deletes the table */
	CHECK(wait_gone(false));
	CHECK(engine_dies(&cfg) == 0);
	CHECK(helper_wan() == 0);
	/* The engine without privilege still gets its changes made. */
	CHECK(priv_start(&cfg, true, &p) == 0);
	CHECK(priv_drop_engine(p) == 0);
	CHECK(caps_proc_status(0, "CapEff", &eff) == 0 && eff == 0);
	CHECK(getuid() != 0);
	CHECK(priv_call(p, PRIV_OP_APPLY, &v, 1, NULL) == 0);
	priv_stop(p);
	return 0;
}

static void test_helper(void **state)
{
	int r;

	(void)state;
	if (!root_with_caps("test_helper"))
		skip();
	r = in_child(helper_e2e);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_check),
		cmocka_unit_test(test_read_lans),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_helper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
