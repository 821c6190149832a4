/*
 * nft_bulk.c - many mappings through the privileged helper, the way the
 * engine's nft backend sends them (tests/netns/test_nft.sh runs it in
 * the gateway namespace; not a unit test: it needs nftables).
 *
 *   nft_bulk [-t] CONF N
 *
 * Starts the helper for CONF (backend nft), applies N mappings one
 * request each (as N AddPortMapping actions would; "applied K" every
 * 500, so that a caller can wait on progress rather than on a clock),
 * removes them in batches, applies them again in batches
 * (PRIV_BATCH_MAX per request: a start-up restore), printing the
 * kernel's counts after each phase, then prints "ready" and waits for
 * its standard input to close (the caller lists the ruleset meanwhile)
 * before stopping the helper, which deletes the table.
 *
 * -t adds the time of each phase: figures for bench/nft_bulk.sh, never
 * checked by a test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/nft.h"
#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "priv/nft_verify.h"
#include "priv/priv.h"
#include "util/ifaddr.h"
#include "util/log.h"

/* N mappings: TCP and UDP alternately, external ports 1024.., internal
 * clients spread over the LAN prefix, every 10th narrowed to a remote
 * host. */
static struct mapping *make(size_t n, struct in_addr lan, struct in_addr mask)
{
	struct mapping *v = calloc(n, sizeof(*v));
	uint32_t net = ntohl(lan.s_addr & mask.s_addr), hosts = ~ntohl(mask.s_addr);
	size_t i;

	if (!v || hosts < 3)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i].proto = i % 2 ? MAP_UDP : MAP_TCP;
		v[i].ext_port = (uint16_t)(1024 + i / 2);   /* the port rules: not well-known */
		v[i].int_port = (uint16_t)(1024 + i % 60000);
		v[i].internal_client.s_addr = htonl(net + 2 + (uint32_t)(i % (hosts - 2)));
		if (i % 10 == 9)
			v[i].remote_host.s_addr = htonl(0xc6336400u + (uint32_t)(i % 200) + 1);
		v[i].enabled = true;
	}
	return v;
}

static bool timed;

/* " in N ms" after a phase that started at t0, with -t only. */
static void took(uint64_t t0)
{
	if (timed)
		printf(" in %llu ms", (unsigned long long)(clock_monotonic_ms(NULL) - t0));
	printf("\n");
	fflush(stdout);
}

static void counts(const char *when)
{
	struct nft_verify *v = nft_verify_new();
	size_t c[NFT_NSETS];
	unsigned rules = 0;
	uint64_t t0 = clock_monotonic_ms(NULL);
	int r = v ? nft_verify_read(v, (1u << NFT_SET_HAIRPIN) - 1, &rules, c) : -errno;
	uint64_t ms = clock_monotonic_ms(NULL) - t0;

	nft_verify_free(v);
	if (r < 0) {
		printf("%s: cannot read the table: %s\n", when, strerror(-r));
		return;
	}
	printf("%s: rules %u, elements dnat_rh %zu dnat_any %zu allow_rh %zu allow_any %zu "
	       "snat_rh %zu snat_any %zu", when, rules, c[NFT_SET_DNAT_RH],
	       c[NFT_SET_DNAT_ANY], c[NFT_SET_ALLOW_RH], c[NFT_SET_ALLOW_ANY], c[NFT_SET_SNAT_RH],
	       c[NFT_SET_SNAT_ANY]);
	if (timed)
		printf(" (read back in %llu ms)", (unsigned long long)ms);
	printf("\n");
	fflush(stdout);
}

static int run(struct backend *b, const struct mapping *v, size_t n)
{
	uint64_t t0 = clock_monotonic_ms(NULL);
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		r = b->ops->apply(b, &v[i]);
		if (r < 0) {
			printf("apply %zu failed: %s\n", i, strerror(-r));
			return 1;
		}
		if ((i + 1) % 500 == 0 && i + 1 < n) {
			printf("applied %zu\n", i + 1);
			fflush(stdout);
		}
	}
	printf("single: %zu mappings applied one request each", n);
	took(t0);
	counts("after single");
	t0 = clock_monotonic_ms(NULL);
	if ((r = backend_nft_remove_many(b, v, n)) < 0)
		return 1;
	printf("batch: %zu mappings removed", n);
	took(t0);
	counts("after batch removal");
	t0 = clock_monotonic_ms(NULL);
	if ((r = backend_nft_apply_many(b, v, n)) < 0)
		return 1;
	printf("batch: %zu mappings applied", n);
	took(t0);
	counts("after batch");
	return 0;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	struct backend b;
	struct ifaddr_ipv4 lan;
	struct priv *p = NULL;
	struct mapping *v;
	char err[512], line[64];
	size_t n;
	int r;

	if (argc == 4 && strcmp(argv[1], "-t") == 0) {
		timed = true;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: nft_bulk [-t] CONF N\n");
		return 2;
	}
	log_init("nft_bulk", 1, 0);
	n = strtoul(argv[2], NULL, 10);
	if (config_load(argv[1], &cfg, err, sizeof(err)) < 0 || cfg.backend != CONFIG_BACKEND_NFT) {
		fprintf(stderr, "%s\n", err[0] ? err : "backend nft needed");
		return 2;
	}
	if (ifaddr_lookup_ipv4(cfg.lan_interface[0], &lan) < 0 || !(v = make(n, lan.addr, lan.mask)))
		return 2;
	if (priv_start(&cfg, NULL, true, &p) < 0)
		return 1;
	memset(&b, 0, sizeof(b));
	b.ops = &backend_nft_ops;
	b.helper = p;
	r = b.ops->init(&b, &cfg) < 0 ? 1 : run(&b, v, n);
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	b.ops->shutdown(&b);
	priv_stop(p);
	free(v);
	return r;
}
