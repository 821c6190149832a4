/*
 * engine_tx.h - the one path every change of the mapping table takes
 * (UPnP actions, NAT-PMP and PCP, igddctl, lease expiry, policy
 * enforcement, the backend's removals, restore at start-up).
 *
 * The order, owned here and nowhere else:
 *   1. the table is checked (map_add() reserves the entry and enforces
 *      max_mappings, max_mappings_per_client and the key's uniqueness;
 *      the caller has already applied its protocol's own rules);
 *   2. the backend applies the change (one batch for a set, where the
 *      backend has a batch form); a refusal rolls the table back;
 *   3. the lease journal records it and commits (one fdatasync);
 *   4. the table takes the new state (a replace or a removal lands in
 *      the table only now);
 *   5. one change event (engine_changed(ENGINE_CHG_MAPPINGS): one
 *      SystemUpdateID increment however many entries, WANIPConnection:2
 *      2.3.23) when anything a client can see changed.
 *
 * The rule for a failed commit (docs/ARCHITECTURE.md, docs/POLICY.md):
 * a change a client asked for is undone, in the backend and the table,
 * and the request fails with its protocol's own error (UPnP 501, NAT-PMP
 * and PCP NO_RESOURCES, igddctl "failed"): a success answer always means
 * applied and on disk, an error answer always means nothing changed.
 * A change the gateway makes on its own (ENGINE_TX_KEEP: expiry, policy
 * enforcement, the backend's removals, restore) stands: it is logged,
 * and the lease file's next compaction writes the table as it is.
 *
 * The caller describes the change in a struct engine_tx and reads the
 * outcome from it.
 *
 * Asynchronous changes. Step 1 happens at the call (a new entry is in
 * the table, reserved, from then on: later requests see it and get
 * their conflicts right); step 2 is a job the backend completes later
 * (backend_ops.submit: the nft helper's replies, read by the loop; the
 * sim backend's next tick); steps 3-5 run at its completion, the commit
 * as one stage with its own continuation (commit_stage() in
 * engine_tx.c), then tx->done(tx, tx->done_arg) with the outcome in tx.
 * A backend failure rolls the table back exactly as before. With
 * tx->done set a call answers ENGINE_TX_PENDING when the change is
 * under way (tx must live until done runs; done is never called from
 * inside the call), or 0 / -errno when it finished at once (the table
 * refused it, or it needed no backend job): done is not called then.
 * Without tx->done the call waits for the backend (the loop stops
 * meanwhile: the synchronous path the callers not yet made
 * asynchronous take) and returns 0 or -errno.
 *
 * One change at a time: while one is under way (engine_tx_busy()) the
 * entries it holds must not be touched, so a front end that wants to
 * change something first waits its turn in the engine's queue
 * (engine_tx_wait(): bounded, ENGINE_TX_QUEUE_MAX in all and
 * ENGINE_TX_QUEUE_PER_HOST per LAN host, -EBUSY beyond, which the front
 * end answers as it answers a lack of resources), and runs its request
 * when resumed; reads never wait. A synchronous call made while one is
 * under way first waits for it (the gateway's own changes: policy
 * enforcement, the backend's removals, a LAN renumbered); lease expiry
 * is skipped while one is under way and runs when it ends.
 */
#ifndef IGDD_ENGINE_TX_H
#define IGDD_ENGINE_TX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/mapping.h"
#include "core/pinhole.h"
#include "util/ipaddr.h"
#include "util/str.h"

struct engine;
struct engine_tx;

/* A call with tx->done set: the change is under way; done will run. */
#define ENGINE_TX_PENDING 1

#define ENGINE_TX_QUEUE_MAX 64          /* requests waiting for their turn, all hosts */
#define ENGINE_TX_QUEUE_PER_HOST 8      /* of one LAN host */

enum engine_tx_flags {
	/* The gateway's own change: a failed commit does not undo it. */
	ENGINE_TX_KEEP = 1u << 0,
	/* A replace reaches the backend even when the entry's rule (internal
	 * port, enabled) is unchanged (a changed description; the admin's
	 * replace with a grant). */
	ENGINE_TX_REAPPLY = 1u << 1,
	/* Raise the change event even when nothing a client sees changed. */
	ENGINE_TX_EVENT = 1u << 2,
	/* A removal: the backend removed the entries itself; the table
	 * follows even if withdrawing them again fails. */
	ENGINE_TX_FORCE = 1u << 3,
	/* A removal: what the backend refuses stays (tx->kept counts it), the
	 * rest goes. Without it a set is removed all or none (2.5.19.2). */
	ENGINE_TX_EACH = 1u << 4,
};

/* Where a change stopped. */
enum engine_tx_stage {
	ENGINE_TX_DONE,         /* applied, recorded and committed */
	ENGINE_TX_TABLE,        /* the table refused it (tx->map says why) */
	ENGINE_TX_BACKEND,      /* the backend refused it (tx->err) */
	ENGINE_TX_COMMIT,       /* the lease file could not be written (tx->err): undone */
	ENGINE_TX_NOMEM,
};

typedef void (*engine_tx_each_fn)(const struct mapping *m, void *arg);

struct engine_tx {
	/* In: */
	unsigned flags;                 /* enum engine_tx_flags */
	int grant_fd;                   /* a grant from root for the backend, or -1 */
	/* Called for each entry a removal takes, just before it leaves the
	 * table (the change is committed by then): the caller's log line. */
	engine_tx_each_fn each;
	void (*pin_each)(const struct pinhole *p, void *arg);  /* the same for pinholes */
	void *each_arg;

	/* Out (the outcome): */
	enum engine_tx_stage stage;
	enum map_status map;            /* stage TABLE: map_add()'s verdict */
	int err;                        /* stage BACKEND / COMMIT: -errno */
	struct mapping *m;              /* add, replace: the entry (NULL when it failed) */
	enum pin_status pin;            /* pinholes, stage TABLE: pin_add()'s verdict */
	struct pinhole *p;              /* engine_pin_add(): the pinhole */
	size_t removed;                 /* removals: entries taken out */
	size_t kept;                    /* ENGINE_TX_EACH: entries the backend kept */
	bool changed;                   /* a change event was raised */

	/* In, optional: the completion of a change under way (above). */
	void (*done)(struct engine_tx *tx, void *arg);
	void *done_arg;

	/* Private (engine_tx.c): the change under way. */
	struct engine *e_;
	void (*next_)(struct engine_tx *tx, int r);
	bool pending_;
	struct mapping *m_;             /* add, replace: the entry */
	struct mapping now_;            /* replace: the entry as it is to be */
	char *desc_;                    /* replace: the new description (taken) */
	bool backend_, visible_;        /* replace */
	struct mapping **v_;            /* removal: the set (a copy) */
	size_t n_;
	bool *kept_;
};

/* A request waiting for its turn (engine_tx_wait()). */
struct engine_waiter {
	struct engine_waiter *next;
	struct ipaddr host;
	/* Its turn came (status 0: nothing is under way; run the request),
	 * or the engine stops (-ECANCELED). Out of the queue by then. */
	void (*resume)(struct engine_waiter *w, int status);
	void *arg;
	bool queued;
};

/* Whether a change is under way. */
bool engine_tx_busy(const struct engine *e);
/* Queue w (resume and arg set) for host: 0, or -EBUSY when the queue or
 * host's share of it is full. w must live until resumed or unqueued. */
int engine_tx_wait(struct engine *e, struct engine_waiter *w, const struct ipaddr *host);
/* Take w out of the queue (its client left); a no-op when not queued. */
void engine_tx_unwait(struct engine *e, struct engine_waiter *w);
/* From engine_tick(): resume waiting requests while nothing is under
 * way; the next deadline for that (now, or 0: none). */
void engine_tx_resume(struct engine *e);
bool engine_tx_resumable(const struct engine *e);
/* Complete the change under way first (the loop waits for the backend):
 * a front end or a path of the gateway's own that reads the table and
 * then changes it synchronously calls this before it reads. */
void engine_tx_settle(struct engine *e);
/* Shutdown: complete what is under way (the backend drains), then
 * resume every waiter with -ECANCELED. */
void engine_tx_flush(struct engine *e);

/* A transaction with flags, no grant, no callback, no completion. */
void engine_tx_init(struct engine_tx *tx, unsigned flags);

/*
 * Add a new entry made from tmpl (its key must be free: the caller has
 * looked) with description desc. 0 and tx->m, or a negative errno with
 * tx->stage: TABLE (tx->map), BACKEND (tx->err; -EADDRINUSE: the
 * gateway itself holds the port, -EACCES: the helper's policy refuses),
 * COMMIT, NOMEM. Nothing is left behind on failure.
 */
int engine_map_add(struct engine *e, struct engine_tx *tx, const struct mapping *tmpl,
		   struct str desc);

/*
 * Give m (an entry of the table) the mutable fields of next (same key):
 * internal port, enabled, lease end, upnp_joined, nonce, and next->desc
 * (a string from map_desc_dup() that the call takes, whatever happens;
 * NULL: the description stays). The
 * backend sees it when the rule changes (internal port or enabled) or
 * with ENGINE_TX_REAPPLY; the change event is raised when the rule or
 * the description or upnp_joined changes, or with ENGINE_TX_EVENT. A
 * lease-only change (a refresh, a renewal) is recorded and committed,
 * with no backend call and no event. 0, or -errno with tx->stage
 * (BACKEND, COMMIT, NOMEM): m unchanged.
 */
int engine_map_replace(struct engine *e, struct engine_tx *tx, struct mapping *m,
		       const struct mapping *next);

/* Remove m: engine_map_remove_set() of one. */
int engine_map_remove(struct engine *e, struct engine_tx *tx, struct mapping *m);

/*
 * Remove the n distinct entries of v (entries of the table) with one
 * backend batch where the backend has one: all or none, or with
 * ENGINE_TX_EACH the ones the backend lets go, or with ENGINE_TX_FORCE
 * all whatever the backend says. One change event when any went.
 * tx->removed, tx->kept. 0, or -errno with tx->stage (BACKEND: nothing
 * removed, or with ENGINE_TX_EACH tx->kept stayed; COMMIT: nothing
 * removed). The pointers of the removed entries are dangling after.
 */
int engine_map_remove_set(struct engine *e, struct engine_tx *tx, struct mapping *const *v,
			  size_t n);

/*
 * Lease expiry (2.4.6): the entries whose lease ran out leave the table
 * (each logged), the backend in one batch, one change event. The lease
 * file drops them itself (leasefile_tick()).
 */
void engine_maps_expire(struct engine *e);

/*
 * Start-up: the table holds the restored leases and nothing else; they
 * reach the backend in one batch (or one by one when that fails, the
 * refused ones dropped from the table and the lease file). A kept change.
 */
void engine_maps_restore(struct engine *e);

/*
 * IPv6 pinholes (core/pinhole.h) take the same path, with
 * ENGINE_CHG_PINHOLES for the event. The backend has no batch form for
 * them: a set is one call per pinhole, one commit, one event.
 *
 * engine_pin_add(): a new pinhole from tmpl (the caller checked policy
 * and that the tuple is free); 0 and tx->p, or -errno with tx->stage
 * (TABLE: tx->pin), nothing left behind.
 * engine_pin_renew(): p's lease ends at lease_end_ms (and a PCP
 * pinhole takes nonce, when not NULL); 0 or -errno (p unchanged).
 * engine_pin_remove_set(): close the n distinct pinholes of v, each one
 * the backend lets go (tx->removed, tx->kept; tx->pin_each for each).
 */
int engine_pin_add(struct engine *e, struct engine_tx *tx, const struct pinhole *tmpl);
int engine_pin_renew(struct engine *e, struct engine_tx *tx, struct pinhole *p,
		     uint64_t lease_end_ms, const uint8_t *nonce);
int engine_pin_remove_set(struct engine *e, struct engine_tx *tx, struct pinhole *const *v,
			  size_t n);
/* Expiry: the pinholes whose lease ran out leave the table and the
 * backend, each passed to each (may be NULL), one event. */
void engine_pins_expire(struct engine *e, void (*each)(const struct pinhole *p, void *arg),
			void *arg);
/* Start-up, while the lease file loads (nothing is recorded): a pinhole
 * read back into the table with its UniqueID uid, and the backend. 0, or
 * -errno with nothing left behind. */
int engine_pin_restore(struct engine *e, const struct pinhole *tmpl, uint16_t uid);

#endif
