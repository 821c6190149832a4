/*
 * pinholes.c - IPv6 pinholes through table, policy and backend (see
 * pinholes.h; WANIPv6FirewallControl:1 2.6.3 - 2.6.7 [5.5.4 - 5.5.8]).
 */
#include "svc/pinholes.h"

#include "conf/config.h"
#include "core/pin_policy.h"
#include "engine.h"
#include "engine_tx.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
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

int pinholes_open_tx(struct engine *e, struct engine_tx *tx, const struct pinhole *tmpl,
		     uint32_t lease_s, enum policy_verdict *ret_verdict, bool *ret_renew)
{
	struct pinhole t = *tmpl, *p;
	enum policy_verdict v = POLICY_ALLOW;

	if (tmpl->origin != PIN_ORIGIN_STATIC)
		v = pinholes_check(e, tmpl->lan, &tmpl->owner, &tmpl->internal, tmpl->int_port);
	*ret_verdict = v;
	*ret_renew = false;
	if (v != POLICY_ALLOW)
		return -EACCES;
	p = pin_find_tuple(e->pins, &t.remote, t.remote_port, &t.internal, t.int_port, t.proto);
	if (p) {
		/* A restored PCP pinhole had no nonce: it takes this one. */
		bool nonce = p->origin == PIN_ORIGIN_PCP && tmpl->origin == PIN_ORIGIN_PCP;

		*ret_renew = true;
		return engine_pin_renew(e, tx, p, pin_lease_end(e->pins, lease_s),
					nonce ? tmpl->nonce : NULL);
	}
	t.uid = 0;
	t.packets_base = 0;
	t.lease_end_ms = pin_lease_end(e->pins, lease_s);
	return engine_pin_add(e, tx, &t);
}

enum pinholes_status pinholes_opened(struct engine *e, const struct engine_tx *tx, bool renew,
				     const struct pinhole *tmpl, struct pinhole **ret)
{
	char d[160] = "";

	if (tx->stage == ENGINE_TX_DONE) {
		if (!renew)
			log_change(e, "opened", tx->p);
		*ret = tx->p;
		return PINHOLES_OK;
	}
	if (renew)
		return PINHOLES_FAILED;
	if (tx->stage == ENGINE_TX_TABLE)
		return PINHOLES_FULL;
	if (tmpl)
		pin_describe(d, sizeof(d), tmpl);
	log_warnx("could not open pinhole %s: %s", tmpl ? d : "(a client's)",
		  tx->stage == ENGINE_TX_COMMIT ? "the lease file could not be written" :
		  strerror(-tx->err));
	return PINHOLES_FAILED;
}

enum pinholes_status pinholes_open(struct engine *e, const struct pinhole *tmpl, uint32_t lease_s,
				   enum policy_verdict *ret_verdict, struct pinhole **ret)
{
	enum policy_verdict v;
	struct engine_tx tx;
	bool renew;

	engine_tx_init(&tx, 0);
	(void)pinholes_open_tx(e, &tx, tmpl, lease_s, &v, &renew);
	if (ret_verdict)
		*ret_verdict = v;
	if (v != POLICY_ALLOW)
		return PINHOLES_DENIED;
	return pinholes_opened(e, &tx, renew, tmpl, ret);
}

int pinholes_set_lease_tx(struct engine *e, struct engine_tx *tx, struct pinhole *p,
			  uint32_t lease_s)
{
	return engine_pin_renew(e, tx, p, pin_lease_end(e->pins, lease_s), NULL);
}

int pinholes_set_lease(struct engine *e, struct pinhole *p, uint32_t lease_s)
{
	struct engine_tx tx;

	engine_tx_init(&tx, 0);
	return pinholes_set_lease_tx(e, &tx, p, lease_s);
}

struct close_log {
	struct engine *e;
	const char *why;
};

static void close_logged(const struct pinhole *p, void *arg)
{
	const struct close_log *l = arg;

	log_change(l->e, l->why, p);
}

/* Close the n pinholes of v in one transaction (flags: engine_tx.h). */
static int close_set(struct engine *e, struct pinhole *const *v, size_t n, const char *why,
		     unsigned flags, size_t *ret_removed)
{
	struct close_log l = { e, why };
	struct engine_tx tx;
	int r;

	engine_tx_init(&tx, flags);
	tx.pin_each = close_logged;
	tx.each_arg = &l;
	r = engine_pin_remove_set(e, &tx, v, n);
	if (ret_removed)
		*ret_removed = tx.removed;
	return r;
}

int pinholes_close(struct engine *e, struct pinhole *p, const char *why)
{
	return close_set(e, &p, 1, why, 0, NULL);
}

/* The log line of a pinhole DeletePinhole closed (arg: the engine). */
static void deleted_logged(const struct pinhole *p, void *arg)
{
	log_change(arg, "deleted", p);
}

int pinholes_delete_tx(struct engine *e, struct engine_tx *tx, struct pinhole *p)
{
	tx->pin_each = deleted_logged;
	tx->each_arg = e;
	return engine_pin_remove_set(e, tx, &p, 1);
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

static void expired_logged(const struct pinhole *p, void *arg)
{
	log_change(arg, "expired", p);  /* the lease file's expiry says it too */
}

void pinholes_expire(struct engine *e)
{
	engine_pins_expire(e, expired_logged, e);
}

uint64_t pinholes_next_expiry(const struct engine *e)
{
	return e->pins ? pin_next_expiry(e->pins) : 0;
}

int pinholes_enforce_policy(struct engine *e, const char *why)
{
	struct pinhole *p, **v = NULL, **nv;
	bool all = !pinholes_allowed(e);
	size_t n = 0, cap = 0, removed = 0;

	if (!e->pins)
		return 0;
	for (p = pin_first(e->pins); p; p = pin_next(e->pins, p)) {
		if (p->origin == PIN_ORIGIN_STATIC)
			continue;
		if (!all && pinholes_check(e, p->lan, &p->owner, &p->internal, p->int_port) ==
			    POLICY_ALLOW)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;          /* the rest next time */
			v = nv;
		}
		v[n++] = p;
	}
	close_set(e, v, n, why, ENGINE_TX_KEEP, &removed);
	free(v);
	return (int)(removed > INT_MAX ? INT_MAX : removed);
}
