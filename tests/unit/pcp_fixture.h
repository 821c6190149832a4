/*
 * pcp_fixture.h - the engine the NAT-PMP and PCP unit tests share
 * (test_natpmp.c, test_pcp.c): the shared engine (fixture.h) with
 * counting apply/remove
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

#include "fixture.h"

#define T0 FX_T0

struct fx {
	struct fx_engine x;             /* x.chg.maps: the mapping change events */
	struct pcp_svc svc;
	int applied, removed;
	bool fail_apply;
	uint8_t out[PCP_SVC_OUT_MAX];
	size_t outlen;
};

static struct fx *cur;

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
	struct backend_ops *ops;
	char text[1024];

	assert_non_null(f);
	snprintf(text, sizeof(text), "external_ip = 203.0.113.1\n%s", extra);
	fx_engine_init(&f->x, text, 0);
	ops = fx_engine_ops(&f->x);
	ops->apply = count_apply;
	ops->remove = count_remove;
	ops->apply_many = NULL;
	ops->remove_many = NULL;
	pcp_svc_init(&f->svc, &f->x.e);
	cur = f;
	return f;
}

static inline void fx_free(struct fx *f)
{
	fx_engine_fini(&f->x);
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
		from.scope = f->x.e.lans[0].ifindex;
	f->outlen = pcp_svc_handle(&f->svc, &from, 0, p, len, f->out);
	return f->outlen;
}

#endif
