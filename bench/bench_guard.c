/*
 * bench_guard.c - what the privileged helper's checks cost per request
 * (priv/guard.h): the parts it runs for every APPLY, and the periodic
 * ones, in a network namespace of its own (root: a WAN address on a veth
 * pair, a listener, and a small firewall4-like ruleset with a dnat
 * chain; without root: this host's namespace, read only).
 *
 * Not a test: prints microseconds per call.
 *
 *   genid           NFT_MSG_GETGEN (every request, and after each of the
 *                   helper's own transactions)
 *   local drain     the rtnetlink watch socket drained (every request)
 *   lookup tcp/udp  sockdiag_bound() of one port (every APPLY entry)
 *   forwards read   nft_forwards_read() (when the ruleset moved; and at
 *                   the periodic check)
 *   ports dump x2   sockdiag_ports() TCP and UDP (the periodic check)
 */
#define _GNU_SOURCE
#include "core/clock.h"
#include "priv/localaddr.h"
#include "priv/nft_forwards.h"
#include "util/sockdiag.h"

#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define N 20000

static const char ruleset[] =
	"ip link set lo up && ip link add wan0 type veth peer name wan1 && "
	"ip addr add 203.0.113.1/24 dev wan0 && ip link set wan0 up && ip link set wan1 up && "
	"nft -f - <<'EOF'\n"
	"table inet fw4 {\n"
	"  chain input { type filter hook input priority filter; policy accept;\n"
	"    ct state established,related accept\n    iifname lo accept\n"
	"    tcp dport 22 accept\n    udp dport 53 accept\n    tcp dport 80 accept\n"
	"    meta l4proto icmp accept\n    counter drop\n  }\n"
	"  chain forward { type filter hook forward priority filter; policy drop;\n"
	"    ct state established,related accept\n    ct status dnat accept\n"
	"    iifname br-lan accept\n    counter drop\n  }\n"
	"  chain dstnat { type nat hook prerouting priority dstnat;\n    iifname wan0 jump dstnat_wan\n  }\n"
	"  chain dstnat_wan {\n"
	"    tcp dport 8443 dnat ip to 192.168.1.10:443\n"
	"    udp dport 51820 dnat ip to 192.168.1.11\n"
	"    tcp dport { 9000, 9005 } dnat ip to 192.168.1.13\n"
	"    tcp dport 8000-8010 dnat ip to 192.168.1.12\n  }\n"
	"  chain srcnat { type nat hook postrouting priority srcnat;\n    oifname wan0 masquerade\n  }\n"
	"}\n"
	"EOF";

static double per_call(uint64_t t0, unsigned n)
{
	return (double)(clock_monotonic_ms(NULL) - t0) * 1000.0 / n;
}

int main(void)
{
	struct nft_forwards *f;
	struct localaddr *l;
	struct sockdiag *d;
	struct portset *ps = calloc(2, sizeof(*ps));
	struct in_addr wan;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8080) };
	uint64_t t0;
	uint32_t g;
	unsigned i;
	int fd;

	if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0 && system(ruleset) != 0)
		fprintf(stderr, "bench_guard: the namespace's set-up failed\n");
	inet_pton(AF_INET, "203.0.113.1", &wan);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
		fprintf(stderr, "bench_guard: no listener on 8080\n");
	f = nft_forwards_new();
	l = localaddr_new();
	d = sockdiag_new();
	if (!ps || !l || !d) {
		fprintf(stderr, "bench_guard: cannot open the netlink sockets\n");
		return 1;
	}
	if (f) {
		t0 = clock_monotonic_ms(NULL);
		for (i = 0; i < N; i++)
			nft_forwards_genid(f, &g);
		printf("genid           %7.1f us\n", per_call(t0, N));
	}
	t0 = clock_monotonic_ms(NULL);
	for (i = 0; i < N; i++)
		localaddr_refresh(l);
	printf("local drain     %7.1f us\n", per_call(t0, N));
	t0 = clock_monotonic_ms(NULL);
	for (i = 0; i < N; i++)
		sockdiag_bound(d, IPPROTO_TCP, (uint16_t)(8000 + i % 1000), &wan, 1, 0);
	printf("lookup tcp      %7.1f us\n", per_call(t0, N));
	t0 = clock_monotonic_ms(NULL);
	for (i = 0; i < N; i++)
		sockdiag_bound(d, IPPROTO_UDP, (uint16_t)(8000 + i % 1000), &wan, 1, 0);
	printf("lookup udp      %7.1f us\n", per_call(t0, N));
	if (f) {
		t0 = clock_monotonic_ms(NULL);
		for (i = 0; i < N / 20; i++)
			nft_forwards_read(f, &ps[0], &ps[1]);
		printf("forwards read   %7.1f us\n", per_call(t0, N / 20));
	} else {
		printf("forwards read   (needs CAP_NET_ADMIN)\n");
	}
	t0 = clock_monotonic_ms(NULL);
	for (i = 0; i < N / 20; i++) {
		sockdiag_ports(d, IPPROTO_TCP, &wan, 1, 0, &ps[0]);
		sockdiag_ports(d, IPPROTO_UDP, &wan, 1, 0, &ps[1]);
	}
	printf("ports dump x2   %7.1f us\n", per_call(t0, N / 20));
	nft_forwards_free(f);
	localaddr_free(l);
	sockdiag_free(d);
	free(ps);
	return 0;
}
