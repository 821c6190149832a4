/*
 * test_stun_io.c - net/stun_io: the STUN client against STUN servers of
 * this test on the loopback (127.0.0.1 and 127.0.0.2, ports 3478 and
 * 3479, in a network namespace of the test's own), whose answers play a
 * NAT of each RFC 5780 kind: the mapped address they report depends on
 * which server address the request reached (mapping), and they leave
 * out the answers a filtering NAT would drop (filtering). Short timers
 * (the schedule's shape is test_stun's); every wait is for the result,
 * bounded by the safety timeout.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/config.h"
#include "engine.h"
#include "harness.h"
#include "loop/loop.h"
#include "net/stun_io.h"
#include "proto/stun.h"

#include "fixture.h"

static bool own_netns;

/* ---- the fake servers ---- */

struct srv {
	struct loop *l;
	int fd[2][2];                   /* [ip 127.0.0.1 / .2][port 3478 / 3479] */
	enum stun_behaviour mapping, filtering;
	bool other;                     /* send OTHER-ADDRESS */
	bool keep_port;                 /* the mapped port is the source port */
	bool silent;                    /* answer nothing */
	bool err_on_change;             /* 420 to every CHANGE-REQUEST */
	bool junk_first;                /* a wrong transaction ID first */
	unsigned requests;
	struct sockaddr_in last_from;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t put_addr(uint8_t *p, unsigned type, struct in_addr a, uint16_t port, bool xor)
{
	uint32_t h = ntohl(a.s_addr);

	if (xor) {
		port ^= 0x2112;
		h ^= STUN_MAGIC_COOKIE;
	}
	put16(p, type);
	put16(p + 2, 8);
	p[4] = 0;
	p[5] = 1;
	put16(p + 6, port);
	put16(p + 8, h >> 16);
	put16(p + 10, h & 0xffff);
	return 12;
}

static void srv_read(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct srv *s = arg;
	uint8_t in[256], out[128];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
	int ip = 0, port = 0, i, j, sip, sport;
	unsigned change = 0;
	struct in_addr pub, alt;
	uint16_t mport;
	size_t len = 20;

	(void)l;
	(void)ev;
	if (n < 20)
		return;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			if (s->fd[i][j] == fd) {
				ip = i;
				port = j;
			}
	s->requests++;
	s->last_from = from;
	if (n >= 28 && in[20] == 0 && in[21] == 3)
		change = in[27];
	if (s->silent)
		return;
	/* what the NAT would do: a filtering NAT drops the changed answers */
	if ((change & STUN_CHANGE_IP) && s->filtering != STUN_ENDPOINT_INDEPENDENT)
		return;
	if ((change & STUN_CHANGE_PORT) && s->filtering == STUN_ADDRESS_PORT_DEPENDENT)
		return;
	sip = change & STUN_CHANGE_IP ? !ip : ip;
	sport = change & STUN_CHANGE_PORT ? !port : port;
	inet_pton(AF_INET, "203.0.113.9", &pub);
	inet_pton(AF_INET, ip ? "127.0.0.1" : "127.0.0.2", &alt);
	mport = s->keep_port ? ntohs(from.sin_port) : (uint16_t)(ntohs(from.sin_port) % 20000 + 30000);
	if (s->mapping == STUN_ADDRESS_DEPENDENT || s->mapping == STUN_ADDRESS_PORT_DEPENDENT)
		mport = (uint16_t)(mport + ip);
	if (s->mapping == STUN_ADDRESS_PORT_DEPENDENT)
		mport = (uint16_t)(mport + 2 * port);
	memcpy(out, in, 20);
	if (change && s->err_on_change) {
		put16(out, STUN_BINDING_ERROR);
		put16(out + 20, STUN_ATTR_ERROR_CODE);
		put16(out + 22, 4);
		out[24] = out[25] = 0;
		out[26] = 4;
		out[27] = 20;
		len = 28;
		sip = ip;
		sport = port;
	} else {
		put16(out, STUN_BINDING_SUCCESS);
		len += put_addr(out + len, STUN_ATTR_XOR_MAPPED_ADDRESS, pub, mport, true);
		if (s->other)
			len += put_addr(out + len, STUN_ATTR_OTHER_ADDRESS, alt, port ? 3478 : 3479,
					false);
	}
	put16(out + 2, (unsigned)(len - 20));
	if (s->junk_first) {
		out[19] ^= 0xff;
		sendto(s->fd[sip][sport], out, len, 0, (struct sockaddr *)&from, sizeof(from));
		out[19] ^= 0xff;
	}
	sendto(s->fd[sip][sport], out, len, 0, (struct sockaddr *)&from, sizeof(from));
}

static void srv_open(struct srv *s, struct loop *l)
{
	static const char *const ips[2] = { "127.0.0.1", "127.0.0.2" };
	int i, j;

	memset(s, 0, sizeof(*s));
	s->l = l;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(3478 + j) };

			inet_pton(AF_INET, ips[i], &a.sin_addr);
			s->fd[i][j] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			assert_true(s->fd[i][j] >= 0);
			assert_int_equal(bind(s->fd[i][j], (struct sockaddr *)&a, sizeof(a)), 0);
			assert_int_equal(loop_fd_add(l, s->fd[i][j], EPOLLIN, srv_read, s), 0);
		}
}

static void srv_close(struct srv *s)
{
	int i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			loop_fd_del(s->l, s->fd[i][j]);
			close(s->fd[i][j]);
		}
}

/* ---- the client side ---- */

struct fx {
	struct config cfg;
	struct engine e;
	struct loop *l;
	struct srv srv;
	struct stun_io *io;
	unsigned want_runs;
};

static const struct stun_io_params fast = {
	.rto_ms = 20, .rc = 4, .rc_behaviour = 2, .rm = 4,
	.interval_ms = 3600000, .retry_ms = 50, .min_gap_ms = 0,
};

static struct fx *fx_new(const char *servers)
{
	struct fx *f = calloc(1, sizeof(*f));
	char text[512];

	assert_non_null(f);
	snprintf(text, sizeof(text), "external_ip = 127.0.0.1\n%s", servers);
	fx_engine_start(&f->cfg, &f->e, NULL, text, FX_REAL_CLOCK | FX_NO_LAN);
	assert_true(engine_wan_classify(&f->e));
	f->l = loop_new();
	assert_non_null(f->l);
	srv_open(&f->srv, f->l);
	return f;
}

static void fx_free(struct fx *f)
{
	stun_io_free(f->io);
	assert_int_equal(f->e.stun.state, STUN_STATE_OFF);
	srv_close(&f->srv);
	loop_free(f->l);
	engine_fini(&f->e);
	free(f);
}

static bool run_over(void *arg)
{
	struct fx *f = arg;
	const struct stun_status *st = &f->e.stun;

	return st->runs >= f->want_runs &&
	       (st->state == STUN_STATE_OK || st->state == STUN_STATE_FAILED);
}

static void start_and_wait(struct fx *f)
{
	f->io = stun_io_new(&f->e, f->l, &fast);
	assert_non_null(f->io);
	assert_int_equal(f->e.stun.state, STUN_STATE_WAITING);
	f->want_runs = 1;
	assert_true(test_loop_until(f->l, run_over, f));
}

static void assert_mapped(const struct stun_addr *a, const char *ip, uint16_t port)
{
	char text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->addr, text, sizeof(text));
	assert_string_equal(text, ip);
	assert_int_equal(a->port, port);
}

static void one_kind(enum stun_behaviour mapping, enum stun_behaviour filtering)
{
	struct fx *f;
	const struct stun_status *st;

	if (!own_netns)
		skip();
	f = fx_new("stun_server = 127.0.0.1:3478\n");
	f->srv.mapping = mapping;
	f->srv.filtering = filtering;
	f->srv.other = true;
	start_and_wait(f);
	st = &f->e.stun;
	assert_int_equal(st->state, STUN_STATE_OK);
	assert_true(st->have_result);
	assert_mapped(&st->local, "127.0.0.1", ntohs(f->srv.last_from.sin_port));
	assert_mapped(&st->mapped, "203.0.113.9", (uint16_t)(st->local.port % 20000 + 30000));
	assert_mapped(&st->server, "127.0.0.1", 3478);
	assert_false(st->port_preserved);
	if (st->mapping != mapping || st->filtering != filtering)
		fail_msg("mapping %s filtering %s, expected %s / %s", stun_behaviour_name(st->mapping),
			 stun_behaviour_name(st->filtering), stun_behaviour_name(mapping),
			 stun_behaviour_name(filtering));
	fx_free(f);
}

static void test_eim_eif(void **state)
{
	(void)state;
	one_kind(STUN_ENDPOINT_INDEPENDENT, STUN_ENDPOINT_INDEPENDENT);
}

static void test_adm_adf(void **state)
{
	(void)state;
	one_kind(STUN_ADDRESS_DEPENDENT, STUN_ADDRESS_DEPENDENT);
}

static void test_apdm_apdf(void **state)
{
	(void)state;
	one_kind(STUN_ADDRESS_PORT_DEPENDENT, STUN_ADDRESS_PORT_DEPENDENT);
}

/* The first server is silent (nothing listens there): the second one
 * answers; without OTHER-ADDRESS the behaviour stays unknown; a wrong
 * transaction ID is dropped. */
static void test_fallover_no_other(void **state)
{
	struct fx *f;
	const struct stun_status *st;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("stun_server = 127.0.0.3:3478\nstun_server = 127.0.0.1:3479\n");
	f->srv.keep_port = true;
	f->srv.junk_first = true;
	start_and_wait(f);
	st = &f->e.stun;
	assert_int_equal(st->state, STUN_STATE_OK);
	assert_mapped(&st->server, "127.0.0.1", 3479);
	assert_mapped(&st->mapped, "203.0.113.9", st->local.port);
	assert_true(st->port_preserved);
	assert_int_equal(st->mapping, STUN_UNKNOWN);
	assert_int_equal(st->filtering, STUN_UNKNOWN);
	assert_int_equal(f->srv.requests, 1);   /* Test I only */
	fx_free(f);
}

/* 420 to CHANGE-REQUEST (a server with one address): filtering unknown. */
static void test_change_refused(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("stun_server = 127.0.0.1:3478\n");
	f->srv.mapping = STUN_ENDPOINT_INDEPENDENT;
	f->srv.filtering = STUN_ENDPOINT_INDEPENDENT;
	f->srv.other = true;
	f->srv.err_on_change = true;
	start_and_wait(f);
	assert_int_equal(f->e.stun.state, STUN_STATE_OK);
	assert_int_equal(f->e.stun.mapping, STUN_ENDPOINT_INDEPENDENT);
	assert_int_equal(f->e.stun.filtering, STUN_UNKNOWN);
	fx_free(f);
}

/* Nobody answers: the run fails after Rc requests, and retries; when the
 * server answers again the next run succeeds. */
static void test_fail_then_retry(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("stun_server = 127.0.0.1:3478\n");
	f->srv.silent = true;
	start_and_wait(f);
	assert_int_equal(f->e.stun.state, STUN_STATE_FAILED);
	assert_false(f->e.stun.have_result);
	assert_int_equal(f->srv.requests, fast.rc);     /* bounded: Rc, no more */
	assert_int_equal(f->e.stun.failed_runs, 1);
	f->srv.silent = false;
	f->want_runs = f->e.stun.runs + 1;
	assert_true(test_loop_until(f->l, run_over, f));
	while (f->e.stun.state != STUN_STATE_OK) {
		f->want_runs = f->e.stun.runs + 1;
		assert_true(test_loop_until(f->l, run_over, f));
	}
	assert_true(f->e.stun.have_result);
	fx_free(f);
}

/* A new WAN address: the socket moves to it and the run starts again. */
static void test_wan_change(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("stun_server = 127.0.0.1:3478\n");
	start_and_wait(f);
	assert_mapped(&f->e.stun.local, "127.0.0.1", f->e.stun.local.port);
	inet_pton(AF_INET, "127.0.0.5", &f->e.wan_addr);
	stun_io_wan_changed(f->io);
	assert_false(f->e.stun.have_result);
	f->want_runs = 2;
	assert_true(test_loop_until(f->l, run_over, f));
	assert_int_equal(f->e.stun.state, STUN_STATE_OK);
	assert_mapped(&f->e.stun.local, "127.0.0.5", f->e.stun.local.port);
	assert_string_equal(inet_ntoa(f->srv.last_from.sin_addr), "127.0.0.5");
	/* the same address again: nothing restarts */
	stun_io_wan_changed(f->io);
	assert_int_equal(f->e.stun.runs, 2);
	assert_int_equal(f->e.stun.state, STUN_STATE_OK);
	fx_free(f);
}

/* No stun_server: no client, status off. */
static void test_off(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new("");
	assert_null(stun_io_new(&f->e, f->l, NULL));
	assert_int_equal(f->e.stun.state, STUN_STATE_OFF);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eim_eif),
		cmocka_unit_test(test_adm_adf),
		cmocka_unit_test(test_apdm_apdf),
		cmocka_unit_test(test_fallover_no_other),
		cmocka_unit_test(test_change_refused),
		cmocka_unit_test(test_fail_then_retry),
		cmocka_unit_test(test_wan_change),
		cmocka_unit_test(test_off),
	};
	int r = test_own_netns();

	own_netns = r == 0;
	if (!own_netns)
		fprintf(stderr, "no network namespace of our own (%s): the tests that bind "
			"127.0.0.2 and ports 3478/3479 skip\n", strerror(-r));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
