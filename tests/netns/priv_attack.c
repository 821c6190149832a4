/*
 * priv_attack.c - a compromised engine, for tests/netns/test_router.sh:
 * it starts the privileged helper for CONF exactly as igdd does
 * (priv_start(), then priv_drop_engine(): the engine's user, no
 * capabilities) and then speaks the helper protocol with crafted
 * requests, none of which a UPnP, NAT-PMP or PCP request could make the
 * real engine send (not a test of the engine: of what the helper takes).
 *
 *   priv_attack CONF LAN_HOST
 *
 * LAN_HOST is a host of the LAN (the internal client of the requests
 * that are not about the internal address). Prints one line per request:
 * "attack NAME: refused: REASON" or "attack NAME: ACCEPTED", and for the
 * control requests (legitimate ones) "control NAME: accepted" or
 * "control NAME: FAILED: REASON"; then "ready", and waits for its
 * standard input to close (the caller lists the kernel's table
 * meanwhile) before stopping the helper.
 *
 * The ports the test's gateway keeps for itself: TCP 8443 and UDP 51820
 * (services listening), TCP 9443 (forwarded statically); 192.168.77.250
 * is a second address of the gateway's LAN interface.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/config.h"
#include "core/clock.h"
#include "priv/nft_rules.h"
#include "priv/priv.h"
#include "priv/priv_msg.h"
#include "util/fdpass.h"
#include "util/ifaddr.h"
#include "util/log.h"

static struct priv_entry el(struct in_addr in, unsigned ext, unsigned port, uint8_t proto)
{
	struct priv_entry e;

	memset(&e, 0, sizeof(e));
	e.internal = in;
	e.ext_port = (uint16_t)ext;
	e.int_port = (uint16_t)port;
	e.proto = proto;
	return e;
}

static struct in_addr addr(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static int fails;

static void attack(const char *name, int r)
{
	if (r < 0) {
		printf("attack %s: refused: %s\n", name, strerror(-r));
	} else {
		printf("attack %s: ACCEPTED\n", name);
		fails++;
	}
}

static void control(const char *name, int r)
{
	if (r == 0) {
		printf("control %s: accepted\n", name);
	} else {
		printf("control %s: FAILED: %s\n", name, strerror(-r));
		fails++;
	}
}

/* A raw request of any bytes; the helper's status. */
static int raw(struct priv *p, const void *msg, size_t len)
{
	struct priv_reply rp;

	if (send(priv_fd(p), msg, len, 0) != (ssize_t)len ||
	    recv(priv_fd(p), &rp, sizeof(rp), 0) != (ssize_t)sizeof(rp))
		return 0;               /* no answer: counts as not refused */
	return rp.status;
}

/* A grant root makes in another process (as igddctl would) for e. */
static int root_grant(const struct priv_entry *e)
{
	struct priv_grant g;
	int sv[2];

	memset(&g, 0, sizeof(g));
	g.magic = PRIV_GRANT_MAGIC;
	g.version = PRIV_MSG_VERSION;
	g.created_ms = clock_monotonic_ms(NULL);
	priv_entry_put(&g.e, e);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    send(sv[0], &g, sizeof(g), 0) != (ssize_t)sizeof(g))
		return -1;
	close(sv[0]);
	return sv[1];
}

static void attacks(struct priv *p, struct in_addr gw, struct in_addr host, int grant23)
{
	struct priv_entry v[2];
	struct priv_req *rq = calloc(1, sizeof(*rq));
	char junk[10] = "junk";

	v[0] = el(gw, 18000, 22, IPPROTO_TCP);
	attack("dnat-to-the-gateways-lan-address", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(addr("192.168.77.250"), 18000, 22, IPPROTO_TCP);
	attack("dnat-to-a-second-gateway-address", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(addr("127.0.0.1"), 18000, 22, IPPROTO_TCP);
	attack("dnat-to-the-loopback", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(addr("10.0.0.5"), 18000, 18000, IPPROTO_TCP);
	attack("dnat-outside-the-lan", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(host, 22, 22, IPPROTO_TCP);
	attack("well-known-external-port-22", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(host, 18001, 80, IPPROTO_TCP);
	attack("well-known-internal-port-80", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(host, 8443, 8443, IPPROTO_TCP);
	attack("the-gateways-tcp-service-8443", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(host, 51820, 51820, IPPROTO_UDP);
	attack("the-gateways-udp-service-51820", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(host, 9443, 9443, IPPROTO_TCP);
	attack("a-static-forward-9443", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
	v[0] = el(host, 18002, 18002, IPPROTO_TCP);
	v[1] = el(gw, 18003, 18003, IPPROTO_TCP);
	attack("a-batch-with-one-bad-entry", priv_call(p, PRIV_OP_APPLY, v, 2, NULL));
	v[0] = el(host, 22, 22, IPPROTO_TCP);
	attack("forged-grant-the-engines-own-channel",
	       priv_call_granted(p, v, priv_fd(p), NULL));
	attack("root-grant-for-another-mapping",
	       grant23 >= 0 ? priv_call_granted(p, v, grant23, NULL) : 0);
	attack("garbage-message", raw(p, junk, sizeof(junk)));
	if (rq) {
		rq->version = PRIV_MSG_VERSION;
		rq->seq = 0x7fffffff;
		rq->op = PRIV_OP_APPLY;
		rq->count = PRIV_BATCH_MAX + 44;
		attack("entry-count-overflow", raw(p, rq, sizeof(*rq)));
		rq->count = 1;
		rq->e[0].proto = IPPROTO_TCP;
		rq->e[0].internal = host;
		rq->e[0].ext_port = 18004;
		rq->e[0].int_port = 18004;
		rq->e[0].pad[1] = 7;
		attack("non-zero-padding", raw(p, rq, sizeof(*rq)));
		free(rq);
	}
	/* Reload: the helper reads the file itself; the engine cannot make
	 * it loosen anything. */
	control("reload", priv_call(p, PRIV_OP_RELOAD, NULL, 0, NULL));
	v[0] = el(host, 22, 22, IPPROTO_TCP);
	attack("well-known-port-after-a-reload", priv_call(p, PRIV_OP_APPLY, v, 1, NULL));
}

int main(int argc, char **argv)
{
	static struct config cfg;
	struct ifaddr_ipv4 lan;
	struct priv *p = NULL;
	struct priv_entry v, other;
	char err[512], line[64];
	int grant23;

	if (argc != 3) {
		fprintf(stderr, "usage: priv_attack CONF LAN_HOST\n");
		return 2;
	}
	log_init("priv_attack", 1, 0);
	if (config_load(argv[1], &cfg, err, sizeof(err)) < 0 || cfg.backend != CONFIG_BACKEND_NFT) {
		fprintf(stderr, "%s\n", err[0] ? err : "backend nft needed");
		return 2;
	}
	if (ifaddr_lookup_ipv4(cfg.lan_interface[0], &lan) < 0)
		return 2;
	/* Made before the fork, as igdd makes its channel; a grant root made
	 * for TCP/23 in a process of its own. */
	other = el(addr(argv[2]), 23, 23, IPPROTO_TCP);
	grant23 = -1;
	{
		int link[2];
		bool bad;
		char b = 'g';
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, link) == 0 && (pid = fork()) >= 0) {
			if (pid == 0) {
				int g = root_grant(&other);

				_exit(g >= 0 && fdpass_send(link[1], &b, 1, g, 0) == 1 ? 0 : 1);
			}
			if (fdpass_recv(link[0], &b, 1, 0, &grant23, &bad) != 1 || bad)
				grant23 = -1;
			waitpid(pid, NULL, 0);
			close(link[0]);
			close(link[1]);
		}
	}
	if (priv_start(&cfg, argv[1], true, &p) < 0)
		return 1;
	if (priv_drop_engine(p) < 0)
		return 1;
	v = el(addr(argv[2]), 18080, 8080, IPPROTO_TCP);
	control("an-ordinary-mapping", priv_call(p, PRIV_OP_APPLY, &v, 1, NULL));
	attacks(p, lan.addr, addr(argv[2]), grant23);
	printf("%d attacks accepted\nready\n", fails);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	priv_stop(p);
	return fails ? 1 : 0;
}
