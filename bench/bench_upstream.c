/*
 * bench_upstream.c - the cost of one mapping change to the upstream
 * mirror (net/upstream_io.c) with a large local table: the time of the
 * engine's change notification (engine_changed(ENGINE_CHG_MAPPINGS),
 * which the mirror follows synchronously, inside the event loop) after
 * one local mapping is added or removed.
 *
 * The set-up: the sim backend, WAN address 127.0.0.2 (private: mirroring
 * on), a PCP server of this program on 127.0.0.1 (an ephemeral port,
 * loopback only) answering with igdd's own server-side code
 * (proto/pcp.c; RFC 6887 11.1); N local mappings (default 65,535, TCP
 * ports 1..N) over 64 LAN hosts, the 128 upstream slots all held
 * (2 per host, docs/LIMITS.md). Then, each timed alone:
 *
 *   add        a UDP mapping of a host that already holds its share: no
 *              slot moves
 *   remove     that mapping removed again
 *   new host   the first mapping of a 65th host: it takes a slot from a
 *              host holding more (an eviction; the evicted one's slot
 *              is deleted upstream, then given to it)
 *   placed     the same change, until that mapping is promised its slot:
 *              the change's turn and the loop turns after it that the
 *              walk of the local table takes (IGDD_UPSTREAM_WALK_BATCH
 *              mappings each), the loop's own work between them included
 *
 * Not a test: prints ns per change (median and mean of the runs).
 *   bench_upstream [N [runs]]
 */
#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/upstream_io.h"
#include "proto/pcp.h"
#include "util/limits.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HOSTS 64

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The upstream PCP server: ANNOUNCE and MAP, every request granted. */
static void srv_read(struct loop *l, int fd, uint32_t ev, void *arg)
{
	uint8_t in[1100], out[PCP_MAX_MSG], ext[16];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
	struct pcp_request q;
	struct in_addr pub;
	size_t len;

	(void)l;
	(void)ev;
	(void)arg;
	if (n < 2 || in[0] == 0 || pcp_parse(in, (size_t)n, &q) != PCP_SUCCESS)
		return;
	inet_pton(AF_INET, "198.51.100.1", &pub);
	if (q.opcode == PCP_OP_ANNOUNCE) {
		len = pcp_build_announce(out, 1000);
	} else {
		pcp_addr_from_v4(ext, pub);
		len = pcp_build_response(out, &q, PCP_SUCCESS, q.lifetime, 1000, q.int_port, ext);
	}
	sendto(fd, out, len, 0, (struct sockaddr *)&from, sizeof(from));
}

struct until {
	struct engine *e;
	unsigned mirrored;
	uint64_t end;
};

static void tick(struct loop *l, void *arg)
{
	struct until *w = arg;

	if ((w->e->upstream.mode == UPSTREAM_PCP && w->e->upstream.mirrored >= w->mirrored &&
	     w->e->upstream.pending == 0) || clock_monotonic_ms(NULL) >= w->end) {
		loop_stop(l);
		return;
	}
	/* untimed: where a slot freed by an upstream delete waits for the
	 * next change (the code before its delete's end reconciled), one */
	if (w->e->upstream.mode == UPSTREAM_PCP && w->e->upstream.pending == 0)
		engine_changed(w->e, ENGINE_CHG_MAPPINGS);
	loop_timer_in(l, 10, tick, w);
}

static void poll_placed(struct loop *l, void *arg)
{
	struct until *w = arg;

	if (w->e->upstream.pending > 0 || clock_monotonic_ms(NULL) >= w->end) {
		loop_stop(l);
		return;
	}
	loop_timer_in(l, 0, poll_placed, w);
}

/* Run the loop until a slot is promised to a mapping (at most 120 s). */
static int until_placed(struct loop *l, struct engine *e)
{
	struct until w = { e, 0, clock_monotonic_ms(NULL) + 120000 };

	if (e->upstream.pending > 0)
		return 0;
	loop_timer_in(l, 0, poll_placed, &w);
	loop_run(l);
	return e->upstream.pending > 0 ? 0 : -1;
}

/* Run the loop until the mirror holds n (at most 120 s). */
static int settle(struct loop *l, struct engine *e, unsigned n)
{
	struct until w = { e, n, clock_monotonic_ms(NULL) + 120000 };

	loop_timer_in(l, 0, tick, &w);
	loop_run(l);
	return e->upstream.mode == UPSTREAM_PCP && e->upstream.mirrored >= n ? 0 : -1;
}

static void mapping_of(struct mapping *m, uint8_t proto, uint16_t port, uint32_t host)
{
	memset(m, 0, sizeof(*m));
	m->proto = proto;
	m->ext_port = port;
	m->int_port = port;
	m->internal_client.s_addr = htonl(host);
	m->owner = m->internal_client;
	m->enabled = true;
	m->lease_end_ms = clock_monotonic_ms(NULL) + 3600 * 1000;
}

static int add(struct engine *e, uint8_t proto, uint16_t port, uint32_t host)
{
	struct mapping m;

	mapping_of(&m, proto, port, host);
	return map_add(e->maps, &m, (struct str){ "bench", 5 }, NULL) == MAP_OK ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, unsigned runs)
{
	double sum = 0;
	unsigned i;

	for (i = 0; i < runs; i++)
		sum += t[i];
	qsort(t, runs, sizeof(*t), cmp);
	printf("%-10s %12.0f %12.0f\n", what, t[runs / 2], sum / runs);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 65535, runs = argc > 2 ? (unsigned)atoi(argv[2]) : 50;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct clock clk = { clock_monotonic_ms, NULL };
	struct upstream_io_params p;
	static struct config cfg;
	static struct engine e;
	struct upstream_io *u;
	struct loop *l;
	char text[512], err[256];
	double *t_add, *t_del, *t_new, *t_placed;
	unsigned i;
	int fd;

	if (n < 1000 || n > 65535 || runs < 1 || runs > 10000) {
		fprintf(stderr, "usage: bench_upstream [N 1000..65535 [runs]]\n");
		return 2;
	}
	t_add = calloc(runs, sizeof(double));
	t_del = calloc(runs, sizeof(double));
	t_new = calloc(runs, sizeof(double));
	t_placed = calloc(runs, sizeof(double));
	snprintf(text, sizeof(text), "lan_interface = lan0\nuuid = 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab\n"
		 "sim_router_ports = no\nexternal_ip = 127.0.0.2\nmax_mappings = 131070\n"
		 "max_mappings_per_client = 4096\n");
	if (!t_add || !t_del || !t_new || !t_placed ||
	    config_parse("bench.conf", text, strlen(text), &cfg, err, sizeof(err)) != 0 ||
	    engine_init(&e, &cfg, &clk) != 0) {
		fprintf(stderr, "set-up failed: %s\n", err);
		return 1;
	}
	inet_pton(AF_INET, "192.168.1.1", &a.sin_addr);
	{
		struct in_addr mask;

		inet_pton(AF_INET, "255.255.255.0", &mask);
		engine_set_lan(&e, a.sin_addr, mask);
	}
	engine_wan_classify(&e);
	l = loop_new();
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!l || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0 ||
	    loop_fd_add(l, fd, EPOLLIN, srv_read, NULL) < 0) {
		perror("server socket");
		return 1;
	}
	upstream_io_default_params(&p);
	p.have_server = true;
	p.server = a.sin_addr;
	p.port = ntohs(a.sin_port);
	p.gap_ms = 0;
	p.lifetime = 3600;
	for (i = 1; i <= n; i++) {
		if (add(&e, MAP_TCP, (uint16_t)i, 0xc0a80114u + (i % HOSTS)) < 0) {
			fprintf(stderr, "map_add %u failed\n", i);
			return 1;
		}
	}
	u = upstream_io_new(&e, l, &p);
	if (!u || settle(l, &e, IGDD_UPSTREAM_MAX_MAPPINGS) < 0) {
		fprintf(stderr, "the mirror did not fill (mode %d, %u mirrored)\n",
			(int)e.upstream.mode, e.upstream.mirrored);
		return 1;
	}
	for (i = 0; i < runs; i++) {
		/* the timed mapping: UDP (every TCP port may be taken), host .20,
		 * which holds its share already */
		uint16_t port = (uint16_t)(1 + i);
		double t0;

		if (add(&e, MAP_UDP, port, 0xc0a80114u) < 0)
			return 1;
		t0 = now_ns();
		engine_changed(&e, ENGINE_CHG_MAPPINGS);
		t_add[i] = now_ns() - t0;
		settle(l, &e, IGDD_UPSTREAM_MAX_MAPPINGS);
		map_remove(e.maps, map_find_port(e.maps, MAP_UDP, port));
		t0 = now_ns();
		engine_changed(&e, ENGINE_CHG_MAPPINGS);
		t_del[i] = now_ns() - t0;
		settle(l, &e, IGDD_UPSTREAM_MAX_MAPPINGS);
		/* a 65th host's first mapping: an eviction */
		if (add(&e, MAP_UDP, port, 0xc0a80114u + HOSTS) < 0)
			return 1;
		t0 = now_ns();
		engine_changed(&e, ENGINE_CHG_MAPPINGS);
		t_new[i] = now_ns() - t0;
		if (until_placed(l, &e) < 0) {
			fprintf(stderr, "the new host's mapping got no slot\n");
			return 1;
		}
		t_placed[i] = now_ns() - t0;
		settle(l, &e, IGDD_UPSTREAM_MAX_MAPPINGS);
		map_remove(e.maps, map_find_port(e.maps, MAP_UDP, port));
		engine_changed(&e, ENGINE_CHG_MAPPINGS);
		settle(l, &e, IGDD_UPSTREAM_MAX_MAPPINGS);
	}
	printf("upstream mirror, %u local mappings, %u hosts, %d slots held, %u runs\n", n, HOSTS,
	       IGDD_UPSTREAM_MAX_MAPPINGS, runs);
	printf("%-10s %12s %12s\n", "change", "median ns", "mean ns");
	report("add", t_add, runs);
	report("remove", t_del, runs);
	report("new host", t_new, runs);
	report("placed", t_placed, runs);
	upstream_io_free(u);
	loop_fd_del(l, fd);
	close(fd);
	loop_free(l);
	engine_fini(&e);
	free(t_add);
	free(t_del);
	free(t_new);
	free(t_placed);
	return 0;
}
