/*
 * pinholes.c - IPv6 pinholes through table, policy and backend (see
 * pinholes.h; WANIPv6FirewallControl:1 2.6.3 - 2.6.7 [5.5.4 - 5.5.8]).
 */
#include "svc/pinholes.h"

#include "conf/config.h"
#include "core/pin_policy.h"
#include "engine.h"
#include "store/leasefile.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool pinholes_firewall_enabled(const struct engine *e)
{
	return e->cfg->ipv6_firewall;
}

bool pinholes_allowed(const struct engine *e)
{
	return e->cfg->pinholes && e->pins && e->pin_policy && e->backend.ops &&
	       e->backend.ops->pin_apply;
}

enum policy_verdict pinholes_check(const struct engine *e, unsigned lan, const struct ipaddr *peer,
				   const struct in6_addr *client, uint16_t int_port)
{
	struct policy_lan pl = engine_policy_lan(e, lan);

	if (!e->pin_policy)
		return POLICY_DENY_RULE;
	return pin_policy_check(e->pin_policy, &pl, peer, client, int_port);
}

bool pinholes_visible(const struct engine *e, unsigned lan, const struct ipaddr *peer,
		      const struct pinhole *p)
{
	return pinholes_check(e, lan, peer, &p->internal, p->int_port) == POLICY_ALLOW;
}

static void log_change(struct engine *e, const char *what, const struct pinhole *p)
{
	char d[160], owner[IPADDR_STRLEN], more[48];

	pin_describe(d, sizeof(d), p);
	if (p->owner.family)
		ipaddr_ntop(&p->owner, owner, sizeof(owner));
	else
		memcpy(owner, "admin", sizeof("admin"));
	if (engine_log_change_ok(e, more))
		log_info("%s: pinhole %s %s%s", owner, what, d, more);
	else
		log_debug("%s: pinhole %s %s", owner, what, d);
}

enum pinholes_status pinholes_open(struct engine *e, const struct pinhole *tmpl, uint32_t lease_s,
				   enum policy_verdict *ret_verdict, struct pinhole **ret)
{
	struct pinhole t = *tmpl, *p;
	enum policy_verdict v = POLICY_ALLOW;
	enum pin_status st;
	int r;

	if (tmpl->origin != PIN_ORIGIN_STATIC)
		v = pinholes_check(e, tmpl->lan, &tmpl->owner, &tmpl->internal, tmpl->int_port);
	if (ret_verdict)
		*ret_verdict = v;
	if (v != POLICY_ALLOW)
		return PINHOLES_DENIED;
	p = pin_find_tuple(e->pins, &t.remote, t.remote_port, &t.internal, t.int_port, t.proto);
	if (p) {
		if (p->origin == PIN_ORIGIN_PCP && tmpl->origin == PIN_ORIGIN_PCP)
			memcpy(p->nonce, tmpl->nonce, sizeof(p->nonce));   /* a restored one had none */
		pinholes_set_lease(e, p, lease_s);
		*ret = p;
		return PINHOLES_OK;
	}
	t.uid = 0;
	t.packets_base = 0;
	t.lease_end_ms = pin_lease_end(e->pins, lease_s);
	st = pin_add(e->pins, &t, &p);
	if (st == PIN_FULL || st == PIN_CLIENT_FULL)
		return PINHOLES_FULL;
	if (st != PIN_OK)
		return PINHOLES_FAILED;
	r = e->backend.ops->pin_apply(&e->backend, p);
	if (r < 0) {
		char d[160];

		pin_describe(d, sizeof(d), p);
		log_warnx("backend: could not open pinhole %s: %s", d, strerror(-r));
		pin_remove(e->pins, p);
		return PINHOLES_FAILED;
	}
	log_change(e, "opened", p);
	leasefile_record_pin_put(e->leases, p);
	engine_changed(e, ENGINE_CHG_PINHOLES);
	*ret = p;
	return PINHOLES_OK;
}

void pinholes_set_lease(struct engine *e, struct pinhole *p, uint32_t lease_s)
{
	p->lease_end_ms = pin_lease_end(e->pins, lease_s);
	leasefile_record_pin_put(e->leases, p);
	engine_changed(e, ENGINE_CHG_PINHOLES);
}

int pinholes_close(struct engine *e, struct pinhole *p, const char *why)
{
	int r = e->backend.ops->pin_remove ? e->backend.ops->pin_remove(&e->backend, p) : 0;

	if (r < 0) {
		char d[160];

		pin_describe(d, sizeof(d), p);
		log_warnx("backend: could not close pinhole %s: %s", d, strerror(-r));
		return r;
	}
	log_change(e, why, p);
	leasefile_record_pin_delete(e->leases, p);
	pin_remove(e->pins, p);
	engine_changed(e, ENGINE_CHG_PINHOLES);
	return 0;
}

int pinholes_packets(struct engine *e, const struct pinhole *p, uint64_t *ret)
{
	uint64_t n = 0;
	int r;

	if (!e->backend.ops->pin_packets)
		return -ENOTSUP;
	r = e->backend.ops->pin_packets(&e->backend, p, &n);
	if (r < 0)
		return r;
	*ret = p->packets_base + n;
	return 0;
}

struct expired {
	struct pinhole *v;
	size_t n, cap;
};

static void on_expired(const struct pinhole *p, void *arg)
{
	struct expired *x = arg;
	struct pinhole *nv;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;

		nv = realloc(x->v, cap * sizeof(*nv));
		if (!nv)
			return;         /* the backend keeps it; reconcile takes it out */
		x->v = nv;
		x->cap = cap;
	}
	x->v[x->n++] = *p;
}

void pinholes_expire(struct engine *e)
{
	struct expired x = { NULL, 0, 0 };
	size_t i, n;

	if (!e->pins)
		return;
	n = pin_expire(e->pins, clock_now(&e->clock), on_expired, &x);
	for (i = 0; i < x.n; i++) {
		if (e->backend.ops->pin_remove && e->backend.ops->pin_remove(&e->backend, &x.v[i]) < 0)
			log_warnx("backend: could not remove expired pinhole %u", x.v[i].uid);
		log_change(e, "expired", &x.v[i]);      /* the lease file's expiry says it too */
	}
	free(x.v);
	if (n)
		engine_changed(e, ENGINE_CHG_PINHOLES);
}

uint64_t pinholes_next_expiry(const struct engine *e)
{
	return e->pins ? pin_next_expiry(e->pins) : 0;
}

int pinholes_enforce_policy(struct engine *e, const char *why)
{
	struct pinhole *p, *next;
	bool all = !pinholes_allowed(e);
	int n = 0;

	if (!e->pins)
		return 0;
	for (p = pin_first(e->pins); p; p = next) {
		next = pin_next(e->pins, p);
		if (p->origin == PIN_ORIGIN_STATIC)
			continue;
		if (!all && pinholes_check(e, p->lan, &p->owner, &p->internal, p->int_port) ==
			    POLICY_ALLOW)
			continue;
		{
			uint16_t uid = p->uid;

			if (pinholes_close(e, p, why) == 0)
				n++;
			next = pin_after(e->pins, uid);
		}
	}
	return n;
}
