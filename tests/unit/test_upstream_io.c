/*
 * test_upstream_io.c - net/upstream_io: igdd as the PCP / NAT-PMP client
 * of an upstream gateway, against a server of this test on the loopback
 * (127.0.0.1:5351, in a network namespace of the test's own) that
 * answers with igdd's own server-side message code (proto/pcp.c,
 * proto/natpmp.c). The WAN address is 127.0.0.2 (not public: the client
 * is active). Local mappings are made and removed through the control
 * commands (svc/ctl.c). Every wait is for the condition, bounded by the
 * safety timeout.
 */
#define _GNU_SOURCE
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
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/config.h"
#include "core/mapping.h"
#include "engine.h"
#include "harness.h"
#include "loop/loop.h"
#include "net/upstream_io.h"
#include "proto/natpmp.h"
#include "proto/pcp.h"
#include "svc/ctl.h"
#include "util/buf.h"
#include "util/limits.h"

#include "fixture.h"
#include "upstream_srv.h"

static bool own_netns;

struct fx {
	struct config cfg;
	struct engine e;
	struct loop *l;
	struct srv srv;
	struct upstream_io *u;
	struct ctl_session s;
	struct buf out;
};

static struct upstream_io_params params(uint16_t port)
{
	struct upstream_io_params p;

	upstream_io_default_params(&p);
	p.have_server = true;
	inet_pton(AF_INET, "127.0.0.1", &p.server);
	p.port = port;
	p.irt_ms = 30;
	p.sends = 3;
	p.retry_ms = 100;
	p.reprobe_ms = 100;
	p.lifetime = 600;
	p.gap_ms = 0;
	return p;
}

static struct fx *fx_new(const char *extra, uint16_t port)
{
	struct fx *f = calloc(1, sizeof(*f));
	char text[768];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5351) };
	struct upstream_io_params p = params(port);

	assert_non_null(f);
	snprintf(text, sizeof(text), "external_ip = 127.0.0.2\n%s", extra);
	fx_engine_start(&f->cfg, &f->e, NULL, text, FX_REAL_CLOCK);
	assert_true(engine_wan_classify(&f->e));
	f->l = loop_new();
	assert_non_null(f->l);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	f->srv.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f->srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(loop_fd_add(f->l, f->srv.fd, EPOLLIN, srv_read, &f->srv), 0);
	f->srv.epoch = 1000;
	ctl_session_init(&f->s, &f->e, 0);
	buf_init(&f->out, IGDD_CTL_MAX_OUT);
	f->u = upstream_io_new(&f->e, f->l, &p);
	assert_non_null(f->u);
	return f;
}

static void fx_free(struct fx *f)
{
	upstream_io_free(f->u);
	loop_fd_del(f->l, f->srv.fd);
	close(f->srv.fd);
	buf_free(&f->out);
	loop_free(f->l);
	engine_fini(&f->e);
	free(f);
}

static void ctl(struct fx *f, const char *line)
{
	buf_reset(&f->out);
	ctl_handle(&f->s, line, strlen(line), &f->out);
	if (!strstr(f->out.p, "ok"))
		fail_msg("%s: %.*s", line, (int)f->out.len, f->out.p);
}

static struct fx *cur;
static unsigned want_mirrored, want_maps, want_deletes;
static enum upstream_mode want_mode;

static bool mode_is(void *arg)
{
	(void)arg;
	return cur->e.upstream.mode == want_mode;
}

static bool mirrored_is(void *arg)
{
	(void)arg;
	return cur->e.upstream.mirrored == want_mirrored && cur->e.upstream.pending == 0;
}

static bool srv_counts(void *arg)
{
	(void)arg;
	return cur->srv.maps >= want_maps && cur->srv.deletes >= want_deletes;
}

static bool have_ext(void *arg)
{
	(void)arg;
	return cur->e.upstream.have_ext;
}

static void wait_mode(struct fx *f, enum upstream_mode m)
{
	cur = f;
	want_mode = m;
	assert_true(test_loop_until(f->l, mode_is, NULL));
}

static void wait_mirrored(struct fx *f, unsigned n)
{
	cur = f;
	want_mirrored = n;
	assert_true(test_loop_until(f->l, mirrored_is, NULL));
}

static void wait_srv(struct fx *f, unsigned maps, unsigned deletes)
{
	cur = f;
	want_maps = maps;
	want_deletes = deletes;
	assert_true(test_loop_until(f->l, srv_counts, NULL));
}

static void assert_ext(struct fx *f, const char *want)
{
	char ip[INET_ADDRSTRLEN];

	engine_external_ip(&f->e, ip);
	assert_string_equal(ip, want);
}

/* PCP: found by ANNOUNCE; a mapping mirrored on the same port, the
 * external address becomes the upstream's; deleted with the local one. */
static void test_pcp_mirror(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	assert_int_equal(f->srv.announces, 1);
	/* the server speaks NAT-PMP too: its external address before any mapping */
	cur = f;
	assert_true(test_loop_until(f->l, have_ext, NULL));
	assert_ext(f, "198.51.100.1");
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	assert_int_equal(f->srv.last_port, 8080);
	assert_int_equal(f->e.upstream.other_port, 0);
	assert_ext(f, "198.51.100.1");
	ctl(f, "del TCP 8080");
	wait_srv(f, 1, 1);
	wait_mirrored(f, 0);
	/* gone upstream (the MAP may have been sent more than once: a
	 * retransmission after irt_ms on a loaded machine) */
	assert_false(f->srv.held[8080]);
	fx_free(f);
}

/* The upstream grants another port: counted and logged. */
static void test_other_port(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	f->srv.port_shift = 1;
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add UDP 5000 192.168.1.20 5000");
	wait_mirrored(f, 1);
	assert_int_equal(f->e.upstream.other_port, 1);
	fx_free(f);
}

/* Renewals before the lease ends; an epoch that goes back (a restart)
 * makes the client ask again for every mapping. */
static void test_renew_and_epoch_reset(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	f->srv.lifetime = 2;                    /* renewals from 1 s on */
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add TCP 1000 192.168.1.20 1000");
	ctl(f, "add TCP 1001 192.168.1.20 1001");
	wait_mirrored(f, 2);
	wait_srv(f, 4, 0);                      /* both renewed at least once */
	assert_int_equal(f->e.upstream.epoch_resets, 0);
	f->srv.epoch = 0;                       /* the upstream restarted */
	f->srv.lifetime = 600;
	cur = f;
	want_maps = f->srv.maps + 2;
	want_deletes = 0;
	assert_true(test_loop_until(f->l, srv_counts, NULL));
	assert_int_equal(f->e.upstream.epoch_resets, 1);
	wait_mirrored(f, 2);
	fx_free(f);
}

/* A NAT-PMP-only upstream: external address from opcode 0, NAT-PMP maps. */
static void test_natpmp_only(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	f->srv.natpmp_only = true;
	wait_mode(f, UPSTREAM_NATPMP);
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	assert_ext(f, "198.51.100.1");
	ctl(f, "del TCP 8080");
	wait_srv(f, 1, 1);
	fx_free(f);
}

/* Nobody on the port: mode none, the WAN address reported as it is;
 * asked again later (bounded by the reprobe time). */
static void test_no_server(void **state)
{
	struct fx *f;
	unsigned before;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5352);
	wait_mode(f, UPSTREAM_NONE);
	assert_ext(f, "127.0.0.2");
	ctl(f, "add TCP 8080 192.168.1.20 80");
	before = f->e.upstream.requests;
	test_loop_for(f->l, 50);
	assert_true(f->e.upstream.requests <= before + 3);
	fx_free(f);
}

/* A silent server: probes time out after the bounded number of sends. */
static void test_silent(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	f->srv.silent = true;
	wait_mode(f, UPSTREAM_NONE);
	assert_int_equal(f->e.upstream.requests, 3);
	fx_free(f);
}

/* Off: upstream_pcp = no, or a public WAN address (wan_public = yes). */
static void test_off(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("upstream_pcp = no\n", 5351);
	test_loop_for(f->l, 50);
	assert_int_equal(f->e.upstream.mode, UPSTREAM_OFF);
	assert_int_equal(f->srv.announces, 0);
	fx_free(f);
	f = fx_new("wan_public = yes\n", 5351);
	test_loop_for(f->l, 50);
	assert_int_equal(f->e.upstream.mode, UPSTREAM_OFF);
	assert_int_equal(f->srv.announces, 0);
	fx_free(f);
}

/* A LAN host churning mappings cannot make igdd flood the upstream: new
 * requests at most one per gap, whatever the table does (the bound is
 * derived from the time measured: slowness only lowers the count). */
static void test_churn_bounded(void **state)
{
	struct upstream_io_params p = params(5351);
	struct fx *f;
	uint64_t t0, elapsed;
	unsigned sent, i;
	char line[64];

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	upstream_io_free(f->u);
	p.gap_ms = 100;
	f->u = upstream_io_new(&f->e, f->l, &p);
	wait_mode(f, UPSTREAM_PCP);
	t0 = clock_monotonic_ms(NULL);
	sent = f->e.upstream.requests;
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "add TCP %u 192.168.1.20 %u", 2000 + i, 2000 + i);
		ctl(f, line);
		snprintf(line, sizeof(line), "del TCP %u", 2000 + i);
		if (i % 2)
			ctl(f, line);
	}
	test_loop_for(f->l, 500);
	elapsed = clock_monotonic_ms(NULL) - t0;
	sent = f->e.upstream.requests - sent;
	if (sent > elapsed / 100 + 2)
		fail_msg("%u requests in %llu ms", sent, (unsigned long long)elapsed);
	assert_true(sent >= 1);
	/* and all of it settles: 20 mappings held, nothing left to delete */
	wait_mirrored(f, 20);
	fx_free(f);
}

/* Shutdown deletes what is held upstream. */
static void test_free_deletes(void **state)
{
	struct fx *f;
	struct srv *s;
	int fd;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	upstream_io_free(f->u);
	f->u = NULL;
	s = &f->srv;
	fd = s->fd;
	cur = f;
	want_maps = 1;
	want_deletes = 1;
	assert_true(test_loop_until(f->l, srv_counts, NULL));
	(void)fd;
	fx_free(f);
}

static void add_range(struct fx *f, const char *host, unsigned first, unsigned n)
{
	char line[96];
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "add TCP %u %s %u", first + i, host, first + i);
		ctl(f, line);
	}
}

static uint16_t watch_port;
static uint16_t watch_maps;

static bool port_mapped(void *arg)
{
	(void)arg;
	return cur->srv.held[watch_port] && cur->srv.port_maps[watch_port] >= watch_maps;
}

static void wait_port(struct fx *f, uint16_t port, uint16_t maps)
{
	cur = f;
	watch_port = port;
	watch_maps = maps;
	assert_true(test_loop_until(f->l, port_mapped, NULL));
}

static unsigned srv_requests(const struct fx *f)
{
	return f->srv.maps + f->srv.deletes;
}

/*
 * The hostile LAN host (docs/LIMITS.md): host .20 makes 300 mappings, far
 * more than the 128 slots, and holds all of them upstream; a mapping of
 * host .30 is still mirrored, within a bounded number of requests (one of
 * .20's deleted, then .30's asked for), and ten more of .30's all are.
 */
static void test_fair_slots(void **state)
{
	struct fx *f;
	unsigned r0, i, a = 0;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("max_mappings_per_client = 1000\n", 5351);
	wait_mode(f, UPSTREAM_PCP);
	add_range(f, "192.168.1.20", 10000, 300);
	wait_mirrored(f, IGDD_UPSTREAM_MAX_MAPPINGS);
	r0 = srv_requests(f);
	ctl(f, "add TCP 9000 192.168.1.30 9000");
	wait_port(f, 9000, 1);
	if (f->srv.at[9000] - r0 > 3)
		fail_msg("%u requests up to the second host's mapping", f->srv.at[9000] - r0);
	add_range(f, "192.168.1.30", 9001, 10);
	for (i = 0; i < 10; i++)
		wait_port(f, (uint16_t)(9001 + i), 1);
	wait_mirrored(f, IGDD_UPSTREAM_MAX_MAPPINGS);
	for (i = 10000; i < 10300; i++)
		a += f->srv.held[i];
	assert_int_equal(a, IGDD_UPSTREAM_MAX_MAPPINGS - 11);
	fx_free(f);
}

/*
 * The walk for a mapping to give a slot is spread over loop turns: host
 * .20 holds all 128 slots and 5000 TCP mappings; host .30's UDP mapping
 * (after every TCP one in table order) gets no slot in the change's own
 * turn (the walk looks at IGDD_UPSTREAM_WALK_BATCH mappings per turn),
 * and gets one once the loop has run the following turns.
 */
static void test_walk_spread(void **state)
{
	struct fx *f;
	unsigned i;

	(void)state;
	if (!own_netns)
		skip();
	assert_true(5000 > 2 * IGDD_UPSTREAM_WALK_BATCH);
	f = fx_new("max_mappings = 10000\nmax_mappings_per_client = 8000\n", 5351);
	wait_mode(f, UPSTREAM_PCP);
	for (i = 0; i < 5000; i++) {
		struct mapping m;

		memset(&m, 0, sizeof(m));
		m.proto = MAP_TCP;
		m.ext_port = m.int_port = (uint16_t)(10000 + i);
		inet_pton(AF_INET, "192.168.1.20", &m.internal_client);
		m.owner = m.internal_client;
		m.enabled = true;
		m.lease_end_ms = 0;
		assert_int_equal(map_add(f->e.maps, &m, str_cstr("t"), NULL), MAP_OK);
	}
	engine_changed(&f->e, ENGINE_CHG_MAPPINGS);
	wait_mirrored(f, IGDD_UPSTREAM_MAX_MAPPINGS);
	ctl(f, "add UDP 9000 192.168.1.30 9000");
	/* the change's own turn: the walk has not reached it */
	assert_int_equal(f->e.upstream.pending, 0);
	assert_false(f->srv.held[9000]);
	wait_port(f, 9000, 1);
	wait_mirrored(f, IGDD_UPSTREAM_MAX_MAPPINGS);
	fx_free(f);
}

/*
 * A local mapping moved to the port the upstream granted it (8080,
 * reachable as 8081, becomes 8081): the old one's delete upstream goes
 * before the new one's request, which asks for the port the delete
 * frees, even when the new one's slot comes first (a free slot below).
 */
static void test_move_order(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add TCP 7000 192.168.1.20 7000");       /* slot 0 */
	f->srv.port_shift = 1;
	ctl(f, "add TCP 8080 192.168.1.20 80");         /* slot 1: granted 8081 */
	wait_port(f, 8080, 1);
	wait_mirrored(f, 2);
	f->srv.port_shift = 0;
	ctl(f, "del TCP 7000");                         /* slot 0 free again */
	wait_srv(f, 2, 1);
	wait_mirrored(f, 1);
	/* both in one change, as a move is */
	{
		struct mapping m = *map_find_port(f->e.maps, MAP_TCP, 8080);

		map_remove(f->e.maps, map_find_port(f->e.maps, MAP_TCP, 8080));
		m.ext_port = 8081;
		m.desc = NULL;
		assert_int_equal(map_add(f->e.maps, &m, str_cstr("moved"), NULL), MAP_OK);
		engine_changed(&f->e, ENGINE_CHG_MAPPINGS);     /* 8081 takes slot 0 */
	}
	wait_port(f, 8081, 1);
	assert_true(f->srv.del_at[8080] != 0);
	if (f->srv.del_at[8080] > f->srv.at[8081])
		fail_msg("8081 asked for (request %u) before 8080 was deleted (request %u)",
			 f->srv.at[8081], f->srv.del_at[8080]);
	wait_mirrored(f, 1);
	assert_int_equal(f->e.upstream.other_port, 0);
	fx_free(f);
}

/* ---- replies waiting for the upstream's answer (engine_up_wait()) ---- */

struct rec {
	unsigned called;
	struct engine_up_outcome o;
};

static void on_answer(void *arg, const struct engine_up_outcome *o)
{
	struct rec *r = arg;

	r->called++;
	r->o = *o;
}

static struct rec *watch_rec;

static bool answered(void *arg)
{
	(void)arg;
	return watch_rec->called > 0;
}

/* Wait for (proto, port)'s answer: LATER, then the answer from the loop. */
static void wait_answer(struct fx *f, uint8_t proto, uint16_t port, uint64_t ms, struct rec *r)
{
	struct engine_up_outcome now;
	uint32_t id = 0;

	memset(r, 0, sizeof(*r));
	assert_int_equal(engine_up_wait(&f->e, proto, port, ms, on_answer, r, &now, &id),
			 ENGINE_UP_LATER);
	assert_true(id != 0);
	assert_int_equal(r->called, 0);         /* never inside the call */
	watch_rec = r;
	assert_true(test_loop_until(f->l, answered, NULL));
	assert_int_equal(r->called, 1);
}

/* A wait for (proto, port) answered at once: its answer. */
static struct engine_up_outcome up_now(struct fx *f, uint8_t proto, uint16_t port)
{
	struct engine_up_outcome now;
	struct rec r;
	uint32_t id = 0;

	memset(&r, 0, sizeof(r));
	assert_int_equal(engine_up_wait(&f->e, proto, port, 60000, on_answer, &r, &now, &id),
			 ENGINE_UP_NOW);
	assert_int_equal(r.called, 0);
	return now;
}

/* Granted: the port the internet sees (the same, or another) and the
 * upstream's external address; a mapping held already: at once. */
static void test_wait_granted(void **state)
{
	struct engine_up_outcome now;
	struct rec r;
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_answer(f, MAP_TCP, 8080, 60000, &r);
	assert_int_equal(r.o.result, ENGINE_UP_GRANTED);
	assert_int_equal(r.o.port, 8080);
	assert_true(r.o.have_ext);
	assert_int_equal(r.o.ext.s_addr, htonl(0xc6336401u));   /* 198.51.100.1 */
	now = up_now(f, MAP_TCP, 8080);
	assert_int_equal(now.result, ENGINE_UP_GRANTED);
	assert_int_equal(now.port, 8080);
	f->srv.port_shift = 1;
	ctl(f, "add UDP 9000 192.168.1.20 9000");
	wait_answer(f, MAP_UDP, 9000, 60000, &r);
	assert_int_equal(r.o.result, ENGINE_UP_GRANTED);
	assert_int_equal(r.o.port, 9001);
	fx_free(f);
}

/* An error answer: refused; a silent server: timed out, by the request's
 * sends or by the wait's own deadline, whichever ends first. */
static void test_wait_refused_timeout(void **state)
{
	struct rec r;
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	f->srv.result = PCP_NOT_AUTHORIZED;
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_answer(f, MAP_TCP, 8080, 60000, &r);
	assert_int_equal(r.o.result, ENGINE_UP_REFUSED);
	f->srv.result = 0;
	f->srv.silent = true;
	ctl(f, "add TCP 8081 192.168.1.20 81");
	wait_answer(f, MAP_TCP, 8081, 60000, &r);        /* the sends run out */
	assert_int_equal(r.o.result, ENGINE_UP_TIMEOUT);
	ctl(f, "add TCP 8082 192.168.1.20 82");
	wait_answer(f, MAP_TCP, 8082, 1, &r);            /* the wait's deadline */
	assert_int_equal(r.o.result, ENGINE_UP_TIMEOUT);
	fx_free(f);
}

/* Not mirrored: mirroring off, no slot (the host holds its share and
 * every slot), nothing registered (the mirror gone). */
static void test_wait_not_mirrored(void **state)
{
	struct engine_up_outcome now;
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("upstream_pcp = no\n", 5351);
	ctl(f, "add TCP 8080 192.168.1.20 80");
	now = up_now(f, MAP_TCP, 8080);
	assert_int_equal(now.result, ENGINE_UP_NOT_MIRRORED);
	assert_int_equal(now.why, ENGINE_UP_NO_UPSTREAM);
	fx_free(f);

	f = fx_new("max_mappings_per_client = 1000\n", 5351);
	wait_mode(f, UPSTREAM_PCP);
	add_range(f, "192.168.1.20", 10000, IGDD_UPSTREAM_MAX_MAPPINGS + 1);
	wait_mirrored(f, IGDD_UPSTREAM_MAX_MAPPINGS);
	/* the one left out (whichever it is) */
	{
		unsigned i, outside = 0;

		for (i = 10000; i <= 10000 + IGDD_UPSTREAM_MAX_MAPPINGS; i++)
			if (!f->srv.held[i])
				outside = i;
		assert_true(outside != 0);
		now = up_now(f, MAP_TCP, (uint16_t)outside);
		assert_int_equal(now.result, ENGINE_UP_NOT_MIRRORED);
		assert_int_equal(now.why, ENGINE_UP_NO_SLOT);
	}
	upstream_io_free(f->u);
	f->u = NULL;
	now = up_now(f, MAP_TCP, 10000);
	assert_int_equal(now.why, ENGINE_UP_NO_UPSTREAM);
	fx_free(f);
}

/* A wait cancelled (the client left) is never answered; the waits are
 * bounded (ENGINE_UP_BUSY beyond IGDD_UPSTREAM_MAX_WAITERS, and beyond
 * IGDD_UPSTREAM_WAITERS_PER_HOST for one internal client); shutdown
 * answers every wait before it returns. */
static void test_wait_cancel_busy(void **state)
{
	static struct rec many[IGDD_UPSTREAM_MAX_WAITERS];
	struct engine_up_outcome now;
	struct rec r, r2;
	struct fx *f;
	uint32_t id = 0, id2 = 0;
	unsigned i;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add TCP 8080 192.168.1.20 80");
	memset(&r, 0, sizeof(r));
	assert_int_equal(engine_up_wait(&f->e, MAP_TCP, 8080, 60000, on_answer, &r, &now, &id),
			 ENGINE_UP_LATER);
	engine_up_cancel(&f->e, id);
	wait_answer(f, MAP_TCP, 8080, 60000, &r2);       /* a second one, after it */
	assert_int_equal(r2.o.result, ENGINE_UP_GRANTED);
	assert_int_equal(r.called, 0);
	f->srv.silent = true;
	/* One host's share: IGDD_UPSTREAM_WAITERS_PER_HOST waits, the next
	 * one of its own answered at once; every other host still waits. */
	for (i = 0; i < IGDD_UPSTREAM_MAX_WAITERS / IGDD_UPSTREAM_WAITERS_PER_HOST + 1; i++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "add TCP %u 192.168.1.%u 81", 8081 + i, 20 + i);
		ctl(f, cmd);
	}
	memset(many, 0, sizeof(many));
	for (i = 0; i < IGDD_UPSTREAM_MAX_WAITERS; i++) {
		uint16_t port = (uint16_t)(8081 + i / IGDD_UPSTREAM_WAITERS_PER_HOST);

		assert_int_equal(engine_up_wait(&f->e, MAP_TCP, port, 600000, on_answer, &many[i],
						&now, &id), ENGINE_UP_LATER);
		if (i == IGDD_UPSTREAM_WAITERS_PER_HOST - 1) {
			assert_int_equal(engine_up_wait(&f->e, MAP_TCP, 8081, 600000, on_answer, &r,
							&now, &id2), ENGINE_UP_NOW);
			assert_int_equal(now.result, ENGINE_UP_NOT_MIRRORED);
			assert_int_equal(now.why, ENGINE_UP_BUSY);
		}
	}
	/* The pool is full: a host with no wait of its own is answered at once. */
	assert_int_equal(engine_up_wait(&f->e, MAP_TCP,
					(uint16_t)(8081 + IGDD_UPSTREAM_MAX_WAITERS /
						   IGDD_UPSTREAM_WAITERS_PER_HOST),
					600000, on_answer, &r, &now, &id2), ENGINE_UP_NOW);
	assert_int_equal(now.result, ENGINE_UP_NOT_MIRRORED);
	assert_int_equal(now.why, ENGINE_UP_BUSY);
	assert_int_equal(r.called, 0);
	upstream_io_free(f->u);
	f->u = NULL;
	for (i = 0; i < IGDD_UPSTREAM_MAX_WAITERS; i++) {
		assert_int_equal(many[i].called, 1);
		assert_int_equal(many[i].o.result, ENGINE_UP_NOT_MIRRORED);
		assert_int_equal(many[i].o.why, ENGINE_UP_NO_UPSTREAM);
	}
	fx_free(f);
}

/*
 * The request budget goes round-robin across hosts: after an upstream
 * restart host .20's 100 mappings and host .30's one are all due again;
 * .30's is asked for within the next few requests, not after .20's 100.
 */
static void test_fair_requests(void **state)
{
	struct fx *f;
	unsigned r0;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("", 5351);
	wait_mode(f, UPSTREAM_PCP);
	add_range(f, "192.168.1.20", 10000, 100);
	ctl(f, "add TCP 9000 192.168.1.30 9000");
	wait_mirrored(f, 101);
	f->srv.epoch = 0;                       /* the upstream restarted */
	r0 = srv_requests(f);
	ctl(f, "add TCP 20000 192.168.1.20 20000");     /* its answer shows the epoch */
	wait_port(f, 9000, 2);
	if (f->srv.at[9000] - r0 > 3)
		fail_msg("%u requests up to the second host's mapping", f->srv.at[9000] - r0);
	assert_int_equal(f->e.upstream.epoch_resets, 1);
	wait_mirrored(f, 102);
	fx_free(f);
}

/* Send a PCP ANNOUNCE response with epoch to 224.0.0.1:5350 on lo from
 * fd (bound to the source to show). */
static void announce_from(int fd, uint32_t epoch)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PCP_CLIENT_PORT) };
	struct ip_mreqn mr;
	uint8_t out[PCP_MAX_MSG];
	size_t len = pcp_build_announce(out, epoch);

	memset(&mr, 0, sizeof(mr));
	mr.imr_ifindex = (int)if_nametoindex("lo");
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)), 0);
	to.sin_addr.s_addr = htonl(0xe0000001u);
	assert_int_equal(sendto(fd, out, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

static int bound_udp(const char *addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, addr, &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static bool epoch_reset(void *arg)
{
	(void)arg;
	return cur->e.upstream.epoch_resets >= 1;
}

/*
 * The spoofed ANNOUNCE (docs/LIMITS.md): an ANNOUNCE with a reset epoch
 * from any source but the server's address and port 5351 is ignored. The
 * forged ones (another address, the server's address from another port)
 * come first, then the server's own with its current epoch, then the
 * server's own with a reset epoch: exactly one reset, the last one's.
 * Had a forged one been taken, the current epoch would have counted as
 * consistent with it and the last reset would have made a second.
 */
static void test_spoofed_announce(void **state)
{
	struct fx *f;
	struct ifreq ifr;
	int fd, forged1, forged2;

	(void)state;
	if (!own_netns)
		skip();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_MULTICAST;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
	f = fx_new("wan_interface = lo\n", 5351);
	wait_mode(f, UPSTREAM_PCP);
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	forged1 = bound_udp("127.0.0.3", 5351);
	forged2 = bound_udp("127.0.0.1", 5352);
	announce_from(forged1, 0);
	announce_from(forged2, 0);
	announce_from(f->srv.fd, f->srv.epoch);
	announce_from(f->srv.fd, 0);
	f->srv.epoch = 0;
	cur = f;
	assert_true(test_loop_until(f->l, epoch_reset, NULL));
	wait_port(f, 8080, 2);                  /* asked again after the reset */
	assert_int_equal(f->e.upstream.epoch_resets, 1);
	close(forged1);
	close(forged2);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcp_mirror),
		cmocka_unit_test(test_other_port),
		cmocka_unit_test(test_renew_and_epoch_reset),
		cmocka_unit_test(test_natpmp_only),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_free_deletes),
		cmocka_unit_test(test_churn_bounded),
		cmocka_unit_test(test_fair_slots),
		cmocka_unit_test(test_fair_requests),
		cmocka_unit_test(test_walk_spread),
		cmocka_unit_test(test_move_order),
		cmocka_unit_test(test_wait_granted),
		cmocka_unit_test(test_wait_refused_timeout),
		cmocka_unit_test(test_wait_not_mirrored),
		cmocka_unit_test(test_wait_cancel_busy),
		cmocka_unit_test(test_spoofed_announce),
	};
	int r = test_own_netns();

	own_netns = r == 0;
	if (!own_netns)
		fprintf(stderr, "no network namespace of our own (%s): the tests that bind "
			"127.0.0.1:5351 skip\n", strerror(-r));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
