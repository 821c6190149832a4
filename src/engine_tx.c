/*
 * engine_tx.c - the mapping transaction (engine_tx.h): the order of a
 * change (table, backend, lease journal, commit, table, event), its
 * rollback, and the rule for a failed commit, in one place.
 *
 * The backend holds enabled entries only; a set reaches it as one batch
 * (apply_many / remove_many) where it has one, as one call per entry
 * otherwise or when the batch fails.
 */
#include "engine_tx.h"

#include "store/leasefile.h"
#include "engine.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void engine_tx_init(struct engine_tx *tx, unsigned flags)
{
	memset(tx, 0, sizeof(*tx));
	tx->flags = flags;
	tx->grant_fd = -1;
}

static void outcome_reset(struct engine_tx *tx)
{
	tx->stage = ENGINE_TX_DONE;
	tx->map = MAP_OK;
	tx->pin = PIN_OK;
	tx->p = NULL;
	tx->err = 0;
	tx->m = NULL;
	tx->removed = 0;
	tx->kept = 0;
	tx->changed = false;
}

static int fail(struct engine_tx *tx, enum engine_tx_stage stage, int err)
{
	tx->stage = stage;
	tx->err = err;
	return err;
}

/* ---------------------------------------------------------- backend */

static int be_apply(struct engine *e, const struct engine_tx *tx, const struct mapping *m)
{
	if (!m->enabled)
		return 0;
	if (tx && tx->grant_fd >= 0 && e->backend.ops->apply_granted)
		return e->backend.ops->apply_granted(&e->backend, m, tx->grant_fd);
	return e->backend.ops->apply(&e->backend, m);
}

static int be_remove(struct engine *e, const struct mapping *m)
{
	return m->enabled ? e->backend.ops->remove(&e->backend, m) : 0;
}

/* Move the backend from old to next (same key). */
static int be_change(struct engine *e, const struct engine_tx *tx, const struct mapping *old,
		     const struct mapping *next)
{
	return next->enabled ? be_apply(e, tx, next) : be_remove(e, old);
}

/*
 * The backend's batch form over the k entries of copy (enabled ones
 * only, descriptions NULL: the backend never reads them). 1 when it has
 * no batch form, else 0 or -errno.
 */
static int be_batch_copies(struct engine *e, const struct mapping *copy, size_t k, bool add)
{
	int (*many)(struct backend *, const struct mapping *, size_t) =
		add ? e->backend.ops->apply_many : e->backend.ops->remove_many;

	if (!many)
		return 1;
	return k ? many(&e->backend, copy, k) : 0;
}

/* The same over the enabled entries of v not marked in skip (NULL: none). */
static int be_batch(struct engine *e, struct mapping *const *v, size_t n, const bool *skip,
		    bool add)
{
	struct mapping *copy;
	size_t i, k = 0;
	int r;

	if (!(add ? e->backend.ops->apply_many : e->backend.ops->remove_many))
		return 1;
	copy = calloc(n ? n : 1, sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!v[i]->enabled || (skip && skip[i]))
			continue;
		copy[k] = *v[i];
		copy[k++].desc = NULL;
	}
	r = be_batch_copies(e, copy, k, add);
	free(copy);
	return r;
}

static void log_restore_failed(const struct mapping *m)
{
	log_warnx("backend: could not restore %s/%u", map_proto_name(m->proto),
		  (unsigned)m->ext_port);
}

/* Apply again what withdraw() took (those not marked in kept). */
static void reapply(struct engine *e, const struct engine_tx *tx, struct mapping *const *v,
		    size_t n, const bool *kept)
{
	size_t i;
	int r = be_batch(e, v, n, kept, true);

	if (r == 0)
		return;
	for (i = 0; i < n; i++)
		if ((!kept || !kept[i]) && be_apply(e, tx, v[i]) < 0)
			log_restore_failed(v[i]);
}

/*
 * Withdraw v from the backend. Without kept: all or none (on a failure
 * what was withdrawn is applied again, 2.5.19.2 "atomic"): 0 or -errno.
 * With kept (ENGINE_TX_EACH): as many as the backend lets go, the others
 * marked; the number kept.
 */
static int withdraw(struct engine *e, const struct engine_tx *tx, struct mapping *const *v,
		    size_t n, bool *kept)
{
	size_t i, failed = 0;
	int r = be_batch(e, v, n, NULL, false);

	if (r == 0)
		return 0;
	if (r < 0 && !kept) {
		if (be_batch(e, v, n, NULL, true) < 0)
			log_warnx("backend: could not restore a set after a failed removal");
		return r;
	}
	for (i = 0; i < n; i++) {
		if ((r = be_remove(e, v[i])) == 0)
			continue;
		if (!kept)
			break;
		kept[i] = true;
		failed++;
	}
	if (kept)
		return (int)(failed > INT_MAX ? INT_MAX : failed);
	if (i == n)
		return 0;
	while (i-- > 0)
		if (be_apply(e, tx, v[i]) < 0)
			log_restore_failed(v[i]);
	return r < 0 ? r : -EIO;
}

/* ---------------------------------------------------------- commit */

/* Commit the records; true when the change stands (committed, or a kept
 * change whose commit failed: logged). The warnings share the engine's
 * rate limit of change lines: while the disk is full, every request
 * that changes something fails. */
static bool commit(struct engine *e, struct engine_tx *tx)
{
	int r = leasefile_commit(e->leases);
	bool keep = tx->flags & ENGINE_TX_KEEP;
	char more[48];

	if (r == 0)
		return true;
	if (engine_log_change_ok(e, more))
		log_warnx("lease file: %s: %s%s", strerror(-r), keep ? "a change is not written "
			  "yet; the next compaction writes it" : "the change is undone and refused",
			  more);
	else
		log_debug("lease file: %s: %s", strerror(-r), keep ? "a change is not written yet" :
			  "the change is undone and refused");
	if (keep)
		return true;
	fail(tx, ENGINE_TX_COMMIT, r);
	return false;
}

static void event_of(struct engine *e, struct engine_tx *tx, unsigned what)
{
	tx->changed = true;
	engine_changed(e, what);
}

static void event(struct engine *e, struct engine_tx *tx)
{
	event_of(e, tx, ENGINE_CHG_MAPPINGS);
}

/* Entry i of a committed removal leaves its table, reported first: set
 * holds mappings, or pinholes (pins). */
static void take(struct engine *e, const struct engine_tx *tx, const void *set, size_t i,
		 bool pins)
{
	struct mapping *m = pins ? NULL : ((struct mapping *const *)set)[i];
	struct pinhole *p = pins ? ((struct pinhole *const *)set)[i] : NULL;

	if (m && tx->each)
		tx->each(m, tx->each_arg);
	if (p && tx->pin_each)
		tx->pin_each(p, tx->each_arg);
	if (m)
		map_remove(e->maps, m);
	else
		pin_remove(e->pins, p);
}

/*
 * The end of a committed removal of the n entries of set (mappings, or
 * pinholes): those marked in kept (NULL: none) counted, the others
 * reported and taken out of their table, one event when any went.
 * Frees kept.
 */
static int removal_done(struct engine *e, struct engine_tx *tx, const void *set, size_t n,
			bool *kept, bool pins)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (kept && kept[i]) {
			tx->kept++;
			continue;
		}
		take(e, tx, set, i, pins);
		tx->removed++;
	}
	free(kept);
	if (tx->removed)
		event_of(e, tx, pins ? ENGINE_CHG_PINHOLES : ENGINE_CHG_MAPPINGS);
	if (tx->kept)
		return fail(tx, ENGINE_TX_BACKEND, tx->err < 0 ? tx->err : -EIO);
	tx->err = 0;
	return 0;
}

/* ------------------------------------------------------------- API */

static int map_errno(enum map_status st)
{
	switch (st) {
	case MAP_OK: return 0;
	case MAP_EXISTS:
	case MAP_CONFLICT: return -EEXIST;
	case MAP_FULL:
	case MAP_CLIENT_FULL: return -ENOSPC;
	case MAP_NOMEM: break;
	}
	return -ENOMEM;
}

int engine_map_add(struct engine *e, struct engine_tx *tx, const struct mapping *tmpl,
		   struct str desc)
{
	struct mapping *m;
	int r;

	outcome_reset(tx);
	tx->map = map_add(e->maps, tmpl, desc, &m);
	if (tx->map != MAP_OK)
		return fail(tx, tx->map == MAP_NOMEM ? ENGINE_TX_NOMEM : ENGINE_TX_TABLE,
			    map_errno(tx->map));
	if ((r = be_apply(e, tx, m)) < 0) {
		map_remove(e->maps, m);
		return fail(tx, ENGINE_TX_BACKEND, r);
	}
	leasefile_record_put(e->leases, m);
	if (!commit(e, tx)) {
		if (be_remove(e, m) < 0)
			log_warnx("backend: could not withdraw %s/%u", map_proto_name(m->proto),
				  (unsigned)m->ext_port);
		leasefile_record_delete(e->leases, m);
		map_remove(e->maps, m);
		return tx->err;
	}
	tx->m = m;
	event(e, tx);
	return 0;
}

int engine_map_replace(struct engine *e, struct engine_tx *tx, struct mapping *m,
		       const struct mapping *next)
{
	struct mapping now = *m;        /* the entry as it is to be */
	bool rules, visible, backend;
	int r;

	outcome_reset(tx);
	now.int_port = next->int_port;
	now.enabled = next->enabled;
	now.lease_end_ms = next->lease_end_ms;
	now.upnp_joined = next->upnp_joined;
	memcpy(now.nonce, next->nonce, sizeof(now.nonce));
	if (next->desc)
		now.desc = next->desc;
	rules = now.int_port != m->int_port || now.enabled != m->enabled;
	visible = rules || strcmp(now.desc, m->desc) != 0 || now.upnp_joined != m->upnp_joined ||
		  (tx->flags & ENGINE_TX_EVENT);
	backend = rules || (tx->flags & ENGINE_TX_REAPPLY);
	if (backend && (r = be_change(e, tx, m, &now)) < 0) {
		free(next->desc);
		return fail(tx, ENGINE_TX_BACKEND, r);
	}
	leasefile_record_put(e->leases, &now);
	if (!commit(e, tx)) {
		if (backend && be_change(e, tx, &now, m) < 0)
			log_restore_failed(m);
		leasefile_record_put(e->leases, m);
		free(next->desc);
		return tx->err;
	}
	m->upnp_joined = now.upnp_joined;
	memcpy(m->nonce, now.nonce, sizeof(m->nonce));
	map_update(e->maps, m, now.int_port, now.enabled, next->desc, now.lease_end_ms);
	tx->m = m;
	if (visible)
		event(e, tx);
	return 0;
}

int engine_map_remove(struct engine *e, struct engine_tx *tx, struct mapping *m)
{
	return engine_map_remove_set(e, tx, &m, 1);
}

int engine_map_remove_set(struct engine *e, struct engine_tx *tx, struct mapping *const *v,
			  size_t n)
{
	bool *kept = NULL;
	size_t i;
	int r = 0;

	outcome_reset(tx);
	if (n == 0)
		return 0;
	if ((tx->flags & ENGINE_TX_EACH) && !(kept = calloc(n, sizeof(*kept))))
		return fail(tx, ENGINE_TX_NOMEM, -ENOMEM);
	r = withdraw(e, tx, v, n, kept);
	if (r < 0 && !(tx->flags & ENGINE_TX_FORCE)) {
		free(kept);
		return fail(tx, ENGINE_TX_BACKEND, r);
	}
	for (i = 0; i < n; i++)
		if (!kept || !kept[i])
			leasefile_record_delete(e->leases, v[i]);
	if (!commit(e, tx)) {
		for (i = 0; i < n; i++)
			if (!kept || !kept[i])
				leasefile_record_put(e->leases, v[i]);
		reapply(e, tx, v, n, kept);
		free(kept);
		return tx->err;
	}
	return removal_done(e, tx, v, n, kept, false);
}

/* ---------------------------------------------------------- pinholes */

static int pin_be_apply(struct engine *e, const struct pinhole *p)
{
	return e->backend.ops->pin_apply ? e->backend.ops->pin_apply(&e->backend, p) : -ENOTSUP;
}

static int pin_be_remove(struct engine *e, const struct pinhole *p)
{
	return e->backend.ops->pin_remove ? e->backend.ops->pin_remove(&e->backend, p) : 0;
}

int engine_pin_add(struct engine *e, struct engine_tx *tx, const struct pinhole *tmpl)
{
	struct pinhole *p;
	int r;

	outcome_reset(tx);
	tx->pin = pin_add(e->pins, tmpl, &p);
	if (tx->pin != PIN_OK)
		return fail(tx, tx->pin == PIN_FULL || tx->pin == PIN_CLIENT_FULL ?
			    ENGINE_TX_TABLE : ENGINE_TX_NOMEM,
			    tx->pin == PIN_FULL || tx->pin == PIN_CLIENT_FULL ? -ENOSPC : -ENOMEM);
	if ((r = pin_be_apply(e, p)) < 0) {
		pin_remove(e->pins, p);
		return fail(tx, ENGINE_TX_BACKEND, r);
	}
	leasefile_record_pin_put(e->leases, p);
	if (!commit(e, tx)) {
		if (pin_be_remove(e, p) < 0)
			log_warnx("backend: could not withdraw pinhole %u", p->uid);
		leasefile_record_pin_delete(e->leases, p);
		pin_remove(e->pins, p);
		return tx->err;
	}
	tx->p = p;
	event_of(e, tx, ENGINE_CHG_PINHOLES);
	return 0;
}

int engine_pin_renew(struct engine *e, struct engine_tx *tx, struct pinhole *p,
		     uint64_t lease_end_ms, const uint8_t *nonce)
{
	struct pinhole now = *p;

	outcome_reset(tx);
	now.lease_end_ms = lease_end_ms;
	if (nonce)
		memcpy(now.nonce, nonce, sizeof(now.nonce));
	leasefile_record_pin_put(e->leases, &now);
	if (!commit(e, tx)) {
		leasefile_record_pin_put(e->leases, p);
		return tx->err;
	}
	p->lease_end_ms = now.lease_end_ms;
	memcpy(p->nonce, now.nonce, sizeof(p->nonce));
	tx->p = p;
	event_of(e, tx, ENGINE_CHG_PINHOLES);
	return 0;
}

int engine_pin_remove_set(struct engine *e, struct engine_tx *tx, struct pinhole *const *v,
			  size_t n)
{
	bool *kept;
	size_t i;
	int r;

	outcome_reset(tx);
	if (n == 0)
		return 0;
	if (!(kept = calloc(n, sizeof(*kept))))
		return fail(tx, ENGINE_TX_NOMEM, -ENOMEM);
	for (i = 0; i < n; i++) {
		if ((r = pin_be_remove(e, v[i])) == 0) {
			leasefile_record_pin_delete(e->leases, v[i]);
			continue;
		}
		log_warnx("backend: could not close pinhole %u: %s", v[i]->uid, strerror(-r));
		kept[i] = true;
		tx->err = r;
	}
	if (!commit(e, tx)) {
		for (i = 0; i < n; i++) {
			if (kept[i])
				continue;
			leasefile_record_pin_put(e->leases, v[i]);
			if (pin_be_apply(e, v[i]) < 0)
				log_warnx("backend: could not reopen pinhole %u", v[i]->uid);
		}
		free(kept);
		return tx->err;
	}
	return removal_done(e, tx, v, n, kept, true);
}

/* ------------------------------------------------ the gateway's own */

/* The entries one expiry run removed, for one backend batch. */
struct expired {
	struct engine *e;
	struct mapping *v;
	size_t n, cap;
};

static void on_expired(const struct mapping *m, void *arg)
{
	struct expired *x = arg;
	char owner[INET_ADDRSTRLEN], what[96], more[48];

	inet_ntop(AF_INET, &m->owner, owner, sizeof(owner));
	map_describe(what, sizeof(what), m);
	if (engine_log_change_ok(x->e, more))
		log_info("%s: lease expired: %s%s", owner, what, more);
	else
		log_debug("%s: lease expired: %s", owner, what);
	if (!m->enabled)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct mapping *nv = realloc(x->v, cap * sizeof(*nv));

		if (!nv) {                      /* out of memory: this one alone */
			if (be_remove(x->e, m) < 0)
				log_warnx("backend: could not remove expired %s", what);
			return;
		}
		x->v = nv;
		x->cap = cap;
	}
	x->v[x->n] = *m;
	x->v[x->n++].desc = NULL;       /* freed with the entry; never read */
}

void engine_maps_expire(struct engine *e)
{
	struct expired x = { .e = e };
	size_t i, removed;

	removed = map_expire(e->maps, clock_now(&e->clock), on_expired, &x);
	if (be_batch_copies(e, x.v, x.n, false) != 0)
		for (i = 0; i < x.n; i++)
			if (be_remove(e, &x.v[i]) < 0)
				log_warnx("backend: could not remove expired %s/%u",
					  map_proto_name(x.v[i].proto), (unsigned)x.v[i].ext_port);
	free(x.v);
	if (removed > 0)
		engine_changed(e, ENGINE_CHG_MAPPINGS);
}

void engine_maps_restore(struct engine *e)
{
	struct engine_tx tx;
	struct mapping **v, *m, *next;
	size_t n = map_count(e->maps), k = 0;
	int r = -ENOMEM;

	if (n == 0)
		return;
	v = calloc(n, sizeof(*v));
	for (m = map_first(e->maps); v && m; m = map_next(e->maps, m))
		v[k++] = m;
	if (v)
		r = be_batch(e, v, k, NULL, true);
	free(v);
	if (r == 0)
		return;
	/* One by one: the refused ones leave the table and the lease file. */
	engine_tx_init(&tx, ENGINE_TX_KEEP);
	for (m = map_first(e->maps); m; m = next) {
		next = map_next(e->maps, m);
		if (be_apply(e, &tx, m) == 0)
			continue;
		log_warnx("backend refused a restored lease (%s/%u): dropped",
			  m->proto == MAP_TCP ? "TCP" : "UDP", (unsigned)m->ext_port);
		leasefile_record_delete(e->leases, m);
		map_remove(e->maps, m);
	}
	commit(e, &tx);
}

/* The pinholes one expiry run removed. */
struct pins_expired {
	struct pinhole *v;
	size_t n, cap;
};

static void pin_on_expired(const struct pinhole *p, void *arg)
{
	struct pins_expired *x = arg;
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

void engine_pins_expire(struct engine *e, void (*each)(const struct pinhole *p, void *arg),
			void *arg)
{
	struct pins_expired x = { NULL, 0, 0 };
	size_t i, n;

	if (!e->pins)
		return;
	n = pin_expire(e->pins, clock_now(&e->clock), pin_on_expired, &x);
	for (i = 0; i < x.n; i++) {
		if (pin_be_remove(e, &x.v[i]) < 0)
			log_warnx("backend: could not remove expired pinhole %u", x.v[i].uid);
		if (each)
			each(&x.v[i], arg);
	}
	free(x.v);
	if (n)
		engine_changed(e, ENGINE_CHG_PINHOLES);
}

int engine_pin_restore(struct engine *e, const struct pinhole *tmpl, uint16_t uid)
{
	struct pinhole *p;

	if (pin_add(e->pins, tmpl, &p) != PIN_OK)
		return -ENOSPC;
	if (p->uid != uid || pin_be_apply(e, p) < 0) {
		pin_remove(e->pins, p);
		return -EIO;
	}
	return 0;
}
