/*
 * pcp_fixture.h - the engine the NAT-PMP and PCP unit tests share
 * (test_natpmp.c, test_pcp.c): sim backend with counting apply/remove
 * (and a way to make apply fail), change events counted, LAN
 * 192.168.1.1/24, svc/pcp.c on top; send_raw() hands it one datagram.
 * Include it after cmocka.h.
 */
#ifndef IGDD_TEST_PCP_FIXTURE_H
#define IGDD_TEST_PCP_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "core/mapping.h"
#include "core/wanconn.h"
#include "engine.h"
#include "svc/pcp.h"
#include "util/be.h"

#define T0 1000000u

struct fx {
	struct config cfg;
	struct engine e;
	struct pcp_svc svc;
	struct backend_ops ops;
	uint64_t now;
	unsigned nchg;
	int applied, removed;
	bool fail_apply;
	uint8_t out[PCP_SVC_OUT_MAX];
	size_t outlen;
};

static struct fx *cur;

static inline void on_change(struct engine *e, unsigned changes, void *arg)
{
	struct fx *f = arg;

	(void)e;
	if (changes & ENGINE_CHG_MAPPINGS)
		f->nchg++;
}

static inline int count_apply(struct backend *b, const struct mapping *m)
{
	if (cur->fail_apply)
		return -EIO;
	cur->applied++;
	return backend_sim_ops.apply(b, m);
}

static inline int count_remove(struct backend *b, const struct mapping *m)
{
	cur->removed++;
	return backend_sim_ops.remove(b, m);
}

static inline struct fx *fx_new(const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));
	char text[1024], err[256];
	struct clock clk;

	assert_non_null(f);
	snprintf(text, sizeof(text),
		 "lan_interface = lan0\nuuid = 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab\n"
		 "external_ip = 203.0.113.1\nsim_router_ports = no\n%s\n", extra);
	if (config_parse("t.conf", text, strlen(text), &f->cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	f->now = T0;
	clk.now_ms = clock_fake_ms;
	clk.ctx = &f->now;
	assert_int_equal(engine_init(&f->e, &f->cfg, &clk), 0);
	f->ops = *f->e.backend.ops;
	f->ops.apply = count_apply;
	f->ops.remove = count_remove;
	f->ops.apply_many = NULL;
	f->ops.remove_many = NULL;
	f->e.backend.ops = &f->ops;
	f->e.on_change = on_change;
	f->e.on_change_arg = f;
	engine_set_lan(&f->e, (struct in_addr){ htonl(0xc0a80101) },
		       (struct in_addr){ htonl(0xffffff00) });
	pcp_svc_init(&f->svc, &f->e);
	cur = f;
	return f;
}

static inline void fx_free(struct fx *f)
{
	f->e.backend.ops = &backend_sim_ops;
	engine_fini(&f->e);
	free(f);
	cur = NULL;
}

static inline struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* A datagram from src (IPv4 or IPv6 text) received on LAN 0. */
static inline size_t send_raw(struct fx *f, const char *src, const uint8_t *p, size_t len)
{
	struct ipaddr from;

	assert_int_equal(ipaddr_parse(str_cstr(src), &from), 0);
	if (ipaddr_is_linklocal(&from))
		from.scope = f->e.lans[0].ifindex;
	f->outlen = pcp_svc_handle(&f->svc, &from, 0, p, len, f->out);
	return f->outlen;
}

#endif
