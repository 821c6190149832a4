/*
 * test_nft_forwards.c - priv/nft_forwards.c: the ports the firewall
 * forwards statically, read back from a real ruleset in a network
 * namespace of its own (root only; skipped otherwise): each rule form
 * nft_forwards.h counts (a value, a range, comparisons, anonymous and
 * named sets, interval sets open to the end, the keys of a map, a
 * protocol set, `th dport` for both protocols, redirect, iptables-nft's
 * DNAT and REDIRECT when iptables-nft is there) and each it does not
 * (negation, no dnat, our own table ip igdd, an ip6 table, SNAT).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv/nft_forwards.h"

#include "netns_child.h"

static const char ruleset[] =
	"table inet fw4 {\n"
	"  set fwdports { type inet_service; elements = { 7000, 7001 } }\n"
	"  set fwdranges { type inet_service; flags interval; elements = { 7100-7110, 65000-65535 } }\n"
	"  chain dstnat { type nat hook prerouting priority dstnat; policy accept;\n"
	"    iifname \"wan\" jump dstnat_wan\n"
	"  }\n"
	"  chain dstnat_wan {\n"
	"    meta nfproto ipv4 tcp dport 8443 counter dnat ip to 192.168.1.10:443\n"
	"    udp dport 51821 dnat ip to 192.168.1.11\n"
	"    tcp dport 8000-8010 dnat ip to 192.168.1.12\n"
	"    tcp dport { 9000, 9005 } dnat ip to 192.168.1.13\n"
	"    meta l4proto { tcp, udp } th dport 9100 dnat ip to 192.168.1.14\n"
	"    th dport 9200 dnat ip to 192.168.1.14\n"
	"    tcp dport @fwdports dnat ip to 192.168.1.15\n"
	"    udp dport @fwdranges dnat ip to 192.168.1.15\n"
	"    tcp dport != 22 dnat ip to 192.168.1.16\n"
	"    tcp dport 3128 redirect to :8080\n"
	"    dnat ip to tcp dport map { 9300 : 192.168.1.17, 9301 : 192.168.1.18 }\n"
	"    tcp dport >= 9400 tcp dport <= 9402 dnat ip to 192.168.1.19\n"
	"    tcp dport 9500 accept\n"
	"  }\n"
	"  chain srcnat { type nat hook postrouting priority srcnat;\n"
	"    udp dport 9600 snat ip to 192.0.2.1\n"
	"  }\n"
	"}\n"
	"table ip other {\n"
	"  chain p { type nat hook prerouting priority dstnat;\n"
	"    tcp dport 9700 dnat to 192.168.1.20\n"
	"  }\n"
	"}\n"
	"table ip igdd {\n"
	"  chain p { type nat hook prerouting priority dstnat;\n"
	"    tcp dport 9800 dnat to 192.168.1.20\n"
	"  }\n"
	"}\n"
	"table ip6 v6 {\n"
	"  chain p { type nat hook prerouting priority dstnat;\n"
	"    tcp dport 9900 dnat to [fd00::1]\n"
	"  }\n"
	"}\n";

/* The expected ports, as "lo-hi" ranges. */
static const char *const want_tcp[] = {
	"3128", "7000-7001", "8000-8010", "8443", "9000", "9005", "9100", "9200", "9300-9301",
	"9400-9402", "9700", NULL,
};
static const char *const want_udp[] = {
	"7100-7110", "9100", "9200", "51821", "65000-65535", NULL,
};

/* The set as "lo-hi" ranges, compared with want. */
static int same(const struct portset *s, const char *const *want, const char *extra)
{
	char got[512] = "", exp[512] = "", part[32];
	int p, lo = -1, last = -2;
	size_t i;

	for (p = portset_next(s, 0);; p = portset_next(s, (uint32_t)p + 1)) {
		if (p >= 0 && p == last + 1) {
			last = p;
			continue;
		}
		if (lo >= 0) {
			if (lo == last)
				snprintf(part, sizeof(part), "%d ", lo);
			else
				snprintf(part, sizeof(part), "%d-%d ", lo, last);
			strncat(got, part, sizeof(got) - strlen(got) - 1);
		}
		if (p < 0)
			break;
		lo = last = p;
	}
	for (i = 0; want[i]; i++) {
		strncat(exp, want[i], sizeof(exp) - strlen(exp) - 1);
		strncat(exp, " ", sizeof(exp) - strlen(exp) - 1);
	}
	if (extra)
		strncat(exp, extra, sizeof(exp) - strlen(exp) - 1);
	if (strcmp(got, exp) != 0) {
		fprintf(stderr, "got:  %s\nwant: %s\n", got, exp);
		return -1;
	}
	return 0;
}

static int nft(const char *cmd)
{
	struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
	int r = nft_run_cmd_from_buffer(c, cmd);

	nft_ctx_free(c);
	return r;
}

static int run(void)
{
	struct nft_forwards *f;
	struct portset *tcp = calloc(2, sizeof(*tcp)), *udp;
	uint32_t g0 = 0, g1 = 0;

	if (netns_enter(false) != 0)
		return NETNS_SKIP;
	CHECK(tcp != NULL);
	udp = tcp + 1;
	f = nft_forwards_new();
	CHECK(f != NULL);
	CHECK(nft_forwards_read(f, tcp, udp) == 0);             /* an empty ruleset */
	CHECK(portset_next(tcp, 0) < 0 && portset_next(udp, 0) < 0);
	CHECK(nft_forwards_genid(f, &g0) == 0);
	CHECK(nft(ruleset) == 0);
	CHECK(nft_forwards_genid(f, &g1) == 0 && g1 != g0);
	CHECK(nft_forwards_read(f, tcp, udp) == 0);
	CHECK(same(tcp, want_tcp, NULL) == 0);
	CHECK(same(udp, want_udp, NULL) == 0);
	/* iptables-nft writes -j DNAT and -j REDIRECT as xt targets, its port
	 * matches as nftables expressions (-m multiport stays an xt match:
	 * not counted). */
	if (sh("command -v iptables-nft >/dev/null 2>&1") == 0) {
		CHECK(sh("iptables-nft -t nat -A PREROUTING -p tcp --dport 9950 -j DNAT "
			 "--to-destination 192.168.1.30 && "
			 "iptables-nft -t nat -A PREROUTING -p udp --dport 9970 -j REDIRECT "
			 "--to-ports 53") == 0);
		CHECK(nft_forwards_read(f, tcp, udp) == 0);
		CHECK(portset_has(tcp, 9950) && !portset_has(udp, 9950));
		CHECK(portset_has(udp, 9970) && !portset_has(tcp, 9970));
	} else {
		fprintf(stderr, "iptables-nft not installed: its part skipped\n");
	}
	CHECK(nft("flush ruleset") == 0);
	CHECK(nft_forwards_read(f, tcp, udp) == 0);
	CHECK(portset_next(tcp, 0) < 0 && portset_next(udp, 0) < 0);
	nft_forwards_free(f);
	free(tcp);
	return 0;
}

static void test_ruleset(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	run_in_child(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ruleset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
