/*
 * engine_tx.c - the mapping transaction (engine_tx.h): the order of a
 * change (table, backend, lease journal, commit, table, event), its
 * rollback, and the rule for a failed commit, in one place.
 *
 * The backend holds enabled entries only; a set reaches it as one batch
 * (apply_many / remove_many) where it has one, as one call per entry
 * otherwise or when the batch fails.
 *
 * A change's main backend step is one job (backend_job: submit, or run
 * at once by a backend without the asynchronous form); what follows it
 * is a chain of steps (tx->next_), each taking the previous one's
 * result: backend -> commit stage -> the end (tx_end(): tx->done). The
 * rare paths after a failure (a batch refused, a commit that failed)
 * undo synchronously, as before.
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

/* Withdraw the entries of v one by one, marking those the backend keeps
 * in kept: how many it kept. */
static int withdraw_each(struct engine *e, struct mapping *const *v, size_t n, bool *kept)
{
	size_t i, failed = 0;

	for (i = 0; i < n; i++) {
		if (be_remove(e, v[i]) == 0)
			continue;
		kept[i] = true;
		failed++;
	}
	return (int)(failed > INT_MAX ? INT_MAX : failed);
}

/* ---------------------------------------------------------- commit */

/* The commit's outcome r: true when the change stands (committed, or a
 * kept change whose commit failed: logged). The warnings share the
 * engine's rate limit of change lines: while the disk is full, every
 * request that changes something fails. */
static bool commit_ok(struct engine *e, struct engine_tx *tx, int r)
{
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

static bool commit(struct engine *e, struct engine_tx *tx)
{
	return commit_ok(e, tx, leasefile_commit(e->leases));
}

static void on_committed(int err, void *arg)
{
	struct engine_tx *tx = arg;

	tx->e_->tx_steps++;
	tx->committing_ = false;
	tx->next_(tx, err);
}

/*
 * The commit stage of a change: the records are written, then next(tx,
 * 0 or -errno). A change with a completion (tx->done) commits with the
 * lease file's asynchronous group commit: its fdatasync runs on the
 * writer thread while the loop goes on, and next runs from
 * leasefile_on_ready(). The change stays the one under way (e->tx_cur)
 * until then, so nothing queued starts before the commit's outcome is
 * known and an undo after a failed commit finds the table and the
 * backend as this change left them. A change without a completion
 * commits synchronously; no asynchronous commit waits then (every
 * change first settles the one under way), so the order holds.
 */
static void commit_stage(struct engine_tx *tx, void (*next)(struct engine_tx *tx, int r))
{
	struct engine *e = tx->e_;
	int r;

	if (!tx->done) {
		next(tx, leasefile_commit(e->leases));
		return;
	}
	tx->next_ = next;
	r = leasefile_commit_async(e->leases, on_committed, tx);
	if (r != 0) {
		next(tx, r > 0 ? 0 : r);
		return;
	}
	tx->committing_ = true;
	tx->pending_ = true;
	e->tx_cur = tx;
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

/* ------------------------------------------------ one change at a time */

bool engine_tx_busy(const struct engine *e)
{
	return e->tx_cur != NULL;
}

/* A synchronous change, or an asynchronous one made while another is
 * under way: that one completes first (the loop waits). */
/* Wait for the stage the change under way is in (its commit, or its
 * backend job): whether anything moved (e->tx_steps counts the stages
 * completed; a completion may start another change on the same tx). */
static bool settle_stage(struct engine *e)
{
	unsigned long steps = e->tx_steps;

	if (e->tx_cur->committing_)
		leasefile_commit_settle(e->leases);     /* calls back every commit */
	else if (e->backend.ops->drain)
		e->backend.ops->drain(&e->backend);
	return e->tx_steps != steps;
}

static void settle(struct engine *e)
{
	while (e->tx_cur)
		if (!settle_stage(e))
			break;          /* no progress: the backend cannot drain */
}

void engine_tx_settle(struct engine *e)
{
	if (e->backend.ops)
		settle(e);
}

int engine_tx_wait(struct engine *e, struct engine_waiter *w, const struct ipaddr *host)
{
	struct engine_waiter *x;
	size_t mine = 0;

	if (e->tx_nwait >= ENGINE_TX_QUEUE_MAX)
		return -EBUSY;
	for (x = e->tx_wait; x; x = x->next)
		if (ipaddr_eq(&x->host, host))
			mine++;
	if (mine >= ENGINE_TX_QUEUE_PER_HOST)
		return -EBUSY;
	w->host = *host;
	w->next = NULL;
	w->queued = true;
	if (!e->tx_wait)
		e->tx_wait_tail = &e->tx_wait;
	*e->tx_wait_tail = w;
	e->tx_wait_tail = &w->next;
	e->tx_nwait++;
	return 0;
}

void engine_tx_unwait(struct engine *e, struct engine_waiter *w)
{
	struct engine_waiter **pp;

	if (!w->queued)
		return;
	for (pp = &e->tx_wait; *pp; pp = &(*pp)->next)
		if (*pp == w)
			break;
	if (!*pp)
		return;
	*pp = w->next;
	if (!*pp)
		e->tx_wait_tail = pp;
	e->tx_nwait--;
	w->queued = false;
	w->next = NULL;
}

static struct engine_waiter *wait_pop(struct engine *e)
{
	struct engine_waiter *w = e->tx_wait;

	if (w)
		engine_tx_unwait(e, w);
	return w;
}

bool engine_tx_resumable(const struct engine *e)
{
	return !e->tx_cur && e->tx_wait;
}

void engine_tx_resume(struct engine *e)
{
	struct engine_waiter *w;

	while (!e->tx_cur && (w = wait_pop(e)))
		w->resume(w, 0);
}

void engine_tx_flush(struct engine *e)
{
	struct engine_waiter *w;

	if (e->backend.ops)
		settle(e);
	while ((w = wait_pop(e)))
		w->resume(w, -ECANCELED);
}

/* The end of a change: the outcome is in tx; done when it was under way. */
static void tx_end(struct engine_tx *tx)
{
	struct engine *e = tx->e_;
	bool pending = tx->pending_;

	tx->pending_ = false;
	if (e->tx_cur == tx)
		e->tx_cur = NULL;
	free(tx->v_);
	tx->v_ = NULL;
	free(tx->pv_);
	tx->pv_ = NULL;
	if (pending && tx->done)
		tx->done(tx, tx->done_arg);
}

static int tx_result(const struct engine_tx *tx)
{
	if (tx->pending_)
		return ENGINE_TX_PENDING;
	return tx->stage == ENGINE_TX_DONE ? 0 : (tx->err < 0 ? tx->err : -EIO);
}

static void on_job_done(struct backend *b, int status, void *arg)
{
	struct engine_tx *tx = arg;

	(void)b;
	tx->e_->tx_steps++;
	tx->next_(tx, status);
}

/*
 * The backend step of tx: job (NULL: none, next runs at once with 0),
 * submitted when the backend can complete it later, then next(tx, r).
 * What the call answers: ENGINE_TX_PENDING, or the outcome.
 */
static int be_step(struct engine_tx *tx, const struct backend_job *job,
		   void (*next)(struct engine_tx *tx, int r))
{
	struct engine *e = tx->e_;
	int r = 0;

	tx->next_ = next;
	if (job && e->backend.ops->submit) {
		r = e->backend.ops->submit(&e->backend, job, on_job_done, tx);
		if (r == 0) {
			tx->pending_ = true;
			e->tx_cur = tx;
			if (!tx->done)
				e->backend.ops->drain(&e->backend);
			return tx_result(tx);
		}
	} else if (job) {
		r = backend_job_run(&e->backend, job);
	}
	next(tx, r);
	return tx_result(tx);
}

/* The start of every change. */
static void tx_begin(struct engine *e, struct engine_tx *tx)
{
	settle(e);
	outcome_reset(tx);
	tx->e_ = e;
	tx->pending_ = false;
	tx->committing_ = false;
	tx->v_ = NULL;
	tx->kept_ = NULL;
	tx->desc_ = NULL;
	tx->pv_ = NULL;
	tx->p_ = NULL;
}

/* ------------------------------------------------- a held reply */

static void later_done(struct engine_tx *tx, void *arg)
{
	struct engine_later *l = arg;

	if (!l->dropped)
		l->finish(l, l->arg);
	free(l);
}

struct engine_later *engine_later_new(unsigned flags,
				      void (*finish)(struct engine_later *l, void *arg),
				      void *arg)
{
	struct engine_later *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	engine_tx_init(&l->tx, flags);
	l->tx.done = later_done;
	l->tx.done_arg = l;
	l->finish = finish;
	l->arg = arg;
	return l;
}

void engine_later_drop(struct engine_later *l)
{
	if (!l)
		return;
	if (l->tx.pending_)
		l->dropped = true;      /* its change completes; nobody hears of it */
	else
		free(l);
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

static void add_committed(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	struct mapping *m = tx->m_;

	if (!commit_ok(e, tx, r)) {
		if (be_remove(e, m) < 0)
			log_warnx("backend: could not withdraw %s/%u", map_proto_name(m->proto),
				  (unsigned)m->ext_port);
		leasefile_record_delete(e->leases, m);
		map_remove(e->maps, m);
	} else {
		tx->m = m;
		event(e, tx);
	}
	tx_end(tx);
}

static void add_applied(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;

	if (r < 0) {
		map_remove(e->maps, tx->m_);
		fail(tx, ENGINE_TX_BACKEND, r);
		tx_end(tx);
		return;
	}
	leasefile_record_put(e->leases, tx->m_);
	commit_stage(tx, add_committed);
}

/* The job that applies m (one entry, with tx's grant). */
static void job_apply(struct backend_job *j, const struct engine_tx *tx, const struct mapping *m)
{
	memset(j, 0, sizeof(*j));
	j->op = BACKEND_JOB_APPLY;
	j->v = m;
	j->n = 1;
	j->grant_fd = tx->grant_fd;
}

int engine_map_add(struct engine *e, struct engine_tx *tx, const struct mapping *tmpl,
		   struct str desc)
{
	struct backend_job job;

	tx_begin(e, tx);
	tx->map = map_add(e->maps, tmpl, desc, &tx->m_);
	if (tx->map != MAP_OK)
		return fail(tx, tx->map == MAP_NOMEM ? ENGINE_TX_NOMEM : ENGINE_TX_TABLE,
			    map_errno(tx->map));
	job_apply(&job, tx, tx->m_);
	return be_step(tx, tx->m_->enabled ? &job : NULL, add_applied);
}

static void replace_committed(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	struct mapping *m = tx->m_;

	if (!commit_ok(e, tx, r)) {
		if (tx->backend_ && be_change(e, tx, &tx->now_, m) < 0)
			log_restore_failed(m);
		leasefile_record_put(e->leases, m);
		free(tx->desc_);
	} else {
		m->upnp_joined = tx->now_.upnp_joined;
		memcpy(m->nonce, tx->now_.nonce, sizeof(m->nonce));
		map_update(e->maps, m, tx->now_.int_port, tx->now_.enabled, tx->desc_,
			   tx->now_.lease_end_ms);
		tx->m = m;
		if (tx->visible_)
			event(e, tx);
	}
	tx->desc_ = NULL;
	tx_end(tx);
}

static void replace_applied(struct engine_tx *tx, int r)
{
	if (r < 0) {
		free(tx->desc_);
		tx->desc_ = NULL;
		fail(tx, ENGINE_TX_BACKEND, r);
		tx_end(tx);
		return;
	}
	leasefile_record_put(tx->e_->leases, &tx->now_);
	commit_stage(tx, replace_committed);
}

int engine_map_replace(struct engine *e, struct engine_tx *tx, struct mapping *m,
		       const struct mapping *next)
{
	struct mapping *now = &tx->now_;        /* the entry as it is to be */
	struct backend_job job, *jp = NULL;
	bool rules;

	tx_begin(e, tx);
	*now = *m;
	tx->m_ = m;
	tx->desc_ = next->desc;
	now->int_port = next->int_port;
	now->enabled = next->enabled;
	now->lease_end_ms = next->lease_end_ms;
	now->upnp_joined = next->upnp_joined;
	memcpy(now->nonce, next->nonce, sizeof(now->nonce));
	if (next->desc)
		now->desc = next->desc;
	rules = now->int_port != m->int_port || now->enabled != m->enabled;
	tx->visible_ = rules || strcmp(now->desc, m->desc) != 0 ||
		       now->upnp_joined != m->upnp_joined || (tx->flags & ENGINE_TX_EVENT);
	tx->backend_ = rules || (tx->flags & ENGINE_TX_REAPPLY);
	/* be_change() as a job: apply the new state, or withdraw the old. */
	if (tx->backend_ && now->enabled) {
		job_apply(&job, tx, now);
		jp = &job;
	} else if (tx->backend_ && m->enabled) {
		memset(&job, 0, sizeof(job));
		job.op = BACKEND_JOB_REMOVE;
		job.v = m;
		job.n = 1;
		job.grant_fd = -1;
		jp = &job;
	}
	return be_step(tx, jp, replace_applied);
}

int engine_map_remove(struct engine *e, struct engine_tx *tx, struct mapping *m)
{
	return engine_map_remove_set(e, tx, &m, 1);
}

static void remove_committed(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	size_t i;

	if (!commit_ok(e, tx, r)) {
		for (i = 0; i < tx->n_; i++)
			if (!tx->kept_ || !tx->kept_[i])
				leasefile_record_put(e->leases, tx->v_[i]);
		reapply(e, tx, tx->v_, tx->n_, tx->kept_);
		free(tx->kept_);
	} else {
		(void)removal_done(e, tx, tx->v_, tx->n_, tx->kept_, false);
	}
	tx->kept_ = NULL;
	tx_end(tx);
}

/*
 * The set withdrawn by one job (r its outcome). A failure: without
 * ENGINE_TX_EACH what a batch took is applied again (all or none; a
 * backend without one restored it itself), with it one by one, those
 * the backend keeps marked (withdraw()).
 */
static void remove_withdrawn(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	size_t i;

	if (r < 0 && !tx->kept_ && e->backend.ops->remove_many && tx->n_ > 1 &&
	    be_batch(e, tx->v_, tx->n_, NULL, true) < 0)
		log_warnx("backend: could not restore a set after a failed removal");
	if (r < 0 && tx->kept_)
		r = withdraw_each(e, tx->v_, tx->n_, tx->kept_);
	if (r < 0 && !(tx->flags & ENGINE_TX_FORCE)) {
		free(tx->kept_);
		tx->kept_ = NULL;
		fail(tx, ENGINE_TX_BACKEND, r);
		tx_end(tx);
		return;
	}
	for (i = 0; i < tx->n_; i++)
		if (!tx->kept_ || !tx->kept_[i])
			leasefile_record_delete(e->leases, tx->v_[i]);
	commit_stage(tx, remove_committed);
}

int engine_map_remove_set(struct engine *e, struct engine_tx *tx, struct mapping *const *v,
			  size_t n)
{
	struct backend_job job;
	struct mapping *copy = NULL;
	size_t i, k = 0;
	int r;

	tx_begin(e, tx);
	if (n == 0)
		return 0;
	tx->v_ = malloc(n * sizeof(*tx->v_));
	copy = malloc(n * sizeof(*copy));
	if (!tx->v_ || !copy ||
	    ((tx->flags & ENGINE_TX_EACH) && !(tx->kept_ = calloc(n, sizeof(*tx->kept_))))) {
		free(copy);
		free(tx->v_);
		tx->v_ = NULL;
		return fail(tx, ENGINE_TX_NOMEM, -ENOMEM);
	}
	memcpy(tx->v_, v, n * sizeof(*v));
	tx->n_ = n;
	for (i = 0; i < n; i++) {
		if (!v[i]->enabled)
			continue;
		copy[k] = *v[i];
		copy[k++].desc = NULL;  /* never read by a backend */
	}
	memset(&job, 0, sizeof(job));
	job.op = BACKEND_JOB_REMOVE;
	job.v = copy;
	job.n = k;
	job.grant_fd = -1;
	r = be_step(tx, k ? &job : NULL, remove_withdrawn);
	free(copy);
	return r;
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

static void pin_add_committed(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	struct pinhole *p = tx->p_;

	if (!commit_ok(e, tx, r)) {
		if (pin_be_remove(e, p) < 0)
			log_warnx("backend: could not withdraw pinhole %u", p->uid);
		leasefile_record_pin_delete(e->leases, p);
		pin_remove(e->pins, p);
	} else {
		tx->p = p;
		event_of(e, tx, ENGINE_CHG_PINHOLES);
	}
	tx_end(tx);
}

static void pin_add_applied(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;

	if (r < 0) {
		pin_remove(e->pins, tx->p_);
		fail(tx, ENGINE_TX_BACKEND, r);
		tx_end(tx);
		return;
	}
	leasefile_record_pin_put(e->leases, tx->p_);
	commit_stage(tx, pin_add_committed);
}

/* The backend job of one pinhole (op: PIN_APPLY or PIN_REMOVE). */
static void job_pin(struct backend_job *j, enum backend_job_op op, const struct pinhole *p)
{
	memset(j, 0, sizeof(*j));
	j->op = op;
	j->pin = p;
	j->grant_fd = -1;
}

int engine_pin_add(struct engine *e, struct engine_tx *tx, const struct pinhole *tmpl)
{
	struct backend_job job;

	tx_begin(e, tx);
	tx->pin = pin_add(e->pins, tmpl, &tx->p_);
	if (tx->pin != PIN_OK)
		return fail(tx, tx->pin == PIN_FULL || tx->pin == PIN_CLIENT_FULL ?
			    ENGINE_TX_TABLE : ENGINE_TX_NOMEM,
			    tx->pin == PIN_FULL || tx->pin == PIN_CLIENT_FULL ? -ENOSPC : -ENOMEM);
	job_pin(&job, BACKEND_JOB_PIN_APPLY, tx->p_);
	return be_step(tx, &job, pin_add_applied);
}

static void pin_renew_committed(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	struct pinhole *p = tx->p_;

	if (!commit_ok(e, tx, r)) {
		leasefile_record_pin_put(e->leases, p);
	} else {
		p->lease_end_ms = tx->pnow_.lease_end_ms;
		memcpy(p->nonce, tx->pnow_.nonce, sizeof(p->nonce));
		tx->p = p;
		event_of(e, tx, ENGINE_CHG_PINHOLES);
	}
	tx_end(tx);
}

static void pin_renew_recorded(struct engine_tx *tx, int r)
{
	(void)r;                /* no backend step */
	leasefile_record_pin_put(tx->e_->leases, &tx->pnow_);
	commit_stage(tx, pin_renew_committed);
}

int engine_pin_renew(struct engine *e, struct engine_tx *tx, struct pinhole *p,
		     uint64_t lease_end_ms, const uint8_t *nonce)
{
	tx_begin(e, tx);
	tx->p_ = p;
	tx->pnow_ = *p;
	tx->pnow_.lease_end_ms = lease_end_ms;
	if (nonce)
		memcpy(tx->pnow_.nonce, nonce, sizeof(tx->pnow_.nonce));
	return be_step(tx, NULL, pin_renew_recorded);
}

static void pin_remove_committed(struct engine_tx *tx, int r)
{
	struct engine *e = tx->e_;
	size_t i;

	if (!commit_ok(e, tx, r)) {
		for (i = 0; i < tx->n_; i++) {
			if (tx->kept_[i])
				continue;
			leasefile_record_pin_put(e->leases, tx->pv_[i]);
			if (pin_be_apply(e, tx->pv_[i]) < 0)
				log_warnx("backend: could not reopen pinhole %u", tx->pv_[i]->uid);
		}
		free(tx->kept_);
	} else {
		(void)removal_done(e, tx, tx->pv_, tx->n_, tx->kept_, true);
	}
	tx->kept_ = NULL;
	tx_end(tx);
}

/* Pinhole i of the set closed in the backend (r 0) or kept (r < 0). */
static void pin_withdrawn(struct engine_tx *tx, size_t i, int r)
{
	if (r == 0) {
		leasefile_record_pin_delete(tx->e_->leases, tx->pv_[i]);
		return;
	}
	log_warnx("backend: could not close pinhole %u: %s", tx->pv_[i]->uid, strerror(-r));
	tx->kept_[i] = true;
	tx->err = r;
}

/* The job of a set of one ended. */
static void pin_removed_one(struct engine_tx *tx, int r)
{
	pin_withdrawn(tx, 0, r);
	commit_stage(tx, pin_remove_committed);
}

int engine_pin_remove_set(struct engine *e, struct engine_tx *tx, struct pinhole *const *v,
			  size_t n)
{
	struct backend_job job;
	size_t i;

	tx_begin(e, tx);
	if (n == 0)
		return 0;
	tx->pv_ = malloc(n * sizeof(*tx->pv_));
	tx->kept_ = calloc(n, sizeof(*tx->kept_));
	if (!tx->pv_ || !tx->kept_) {
		free(tx->pv_);
		free(tx->kept_);
		tx->pv_ = NULL;
		tx->kept_ = NULL;
		return fail(tx, ENGINE_TX_NOMEM, -ENOMEM);
	}
	memcpy(tx->pv_, v, n * sizeof(*v));
	tx->n_ = n;
	if (n == 1) {
		job_pin(&job, BACKEND_JOB_PIN_REMOVE, v[0]);
		return be_step(tx, &job, pin_removed_one);
	}
	for (i = 0; i < n; i++)
		pin_withdrawn(tx, i, pin_be_remove(e, v[i]));
	commit_stage(tx, pin_remove_committed);
	return tx_result(tx);
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

	if (e->tx_cur)
		return;         /* a change under way holds entries: after it */
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
	settle(e);
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

	if (!e->pins || e->tx_cur)
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
