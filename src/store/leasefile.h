/*
 * leasefile.h - leases survive restarts: every leased mapping of the
 * table (WANIPConnection:2 2.3.16, 2.4.6) is kept on disk with its
 * absolute expiry, and restored at start-up with what is left of it.
 *
 * Two files under the state directory (created 0700 if missing):
 *   leases.snap     a snapshot, written whole and then renamed into place
 *                   (temporary file, fdatasync, rename, fsync of the
 *                   directory);
 *   leases.journal  the changes since that snapshot, appended one action
 *                   at a time and fdatasync'd by leasefile_commit(), or
 *                   by a writer thread (leasefile_commit_async()).
 * The journal is folded into a new snapshot when it grows past twice the
 * snapshot (at least 1 MiB), a bounded number of entries at a time from
 * the loop (leasefile_tick()), so no single request pays for it. The
 * format, the crash-safety argument and the clock rules are written out
 * at the top of leasefile.c.
 *
 * What is kept: every entry of the table made by UPnP, NAT-PMP, PCP or
 * the admin (igddctl add: origin static), leased or permanent (no lease,
 * lease_end_ms 0: the admin's entries without --lease), with its PCP
 * nonce when it has one.
 *
 * The guarantee: a change whose leasefile_commit() returned 0 is on disk;
 * after any crash the table restored is the one of the last commit (or
 * later), less the leases that ran out meanwhile. The caller answers a
 * request only after its commit; if the commit failed it undoes the
 * change and refuses it (src/engine_tx.h).
 *
 * One instance per state directory: leasefile_open() takes an exclusive
 * lock on it. Not thread-safe: every call comes from the loop's thread
 * (the asynchronous commit's writer thread is internal, see
 * leasefile_commit_async()).
 */
#ifndef IGDD_LEASEFILE_H
#define IGDD_LEASEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

struct leasefile;
struct map_table;
struct mapping;
struct pin_table;
struct pinhole;

/* What the restore callback decided about one lease. */
enum leasefile_verdict {
	LEASEFILE_KEEP = 0,     /* restored: it stays in the files */
	LEASEFILE_DROP = 1,     /* refused (conflict, policy, backend): forgotten */
};

/*
 * One unexpired lease read back. m is borrowed for the call (m->desc
 * too); m->lease_end_ms is 0: the caller sets it with map_lease_end(t,
 * remaining_s) on the table's clock. remaining_s is 1..IGDD_LEASE_MAX,
 * or 0 for a permanent entry (map_lease_end(t, 0) keeps it permanent).
 * Returns a leasefile_verdict, or a negative errno that stops the load.
 */
typedef int (*leasefile_restore_fn)(const struct mapping *m, uint32_t remaining_s, void *arg);

/* What leasefile_load() found. */
struct leasefile_stats {
	size_t restored;        /* the callback kept them */
	size_t dropped;         /* the callback refused them */
	size_t expired;         /* their lease had run out */
	size_t bad;             /* malformed lines or records skipped */
	size_t uncommitted;     /* journal lines after the last commit (a crash mid-write) */
	bool clock_behind;      /* the wall clock was behind the files' last write */
};

/*
 * Open the lease files of dir (created with mode 0700 if missing) and
 * lock it. mono: the mapping table's clock (must outlive lf); wall: the
 * wall clock in ms since the epoch, or NULL for CLOCK_REALTIME (tests
 * pass a fake; copied). Nothing is read yet. NULL and a message in err
 * on failure (another igdd holds the directory, permissions, ...).
 */
struct leasefile *leasefile_open(const char *dir, const struct clock *mono,
				 const struct clock *wall, char *err, size_t errsz);

/*
 * Read the files, call fn for each unexpired lease (the final state of
 * each key after the snapshot and the journals), then write a fresh
 * snapshot of the leases fn kept and start an empty journal. Must be
 * called once, before any record: it starts the journal. Malformed
 * content is never an error: bad lines are skipped and logged (the first
 * few one by one, then a count), the rest restored. Returns the number
 * kept, or a negative errno: the files could not be read (fn was not
 * called), fn failed, or the new files could not be written (the old
 * ones still restore the same leases). After a failure the caller closes
 * lf and runs without persistence. *ret_stats (optional) is written in
 * every case.
 */
int leasefile_load(struct leasefile *lf, leasefile_restore_fn fn, void *arg,
		   struct leasefile_stats *ret_stats);

/* The contents of the three lease files, held in memory (NULL: absent). */
struct leasefile_texts {
	const char *snap, *prev, *journal;
	size_t snap_len, prev_len, journal_len;
};

/*
 * What leasefile_load() reads, from contents in memory and writing
 * nothing (the fuzzer, tests): the headers, the snapshot and the
 * journals in generation order, then fn for each lease unexpired at
 * now_s (wall-clock seconds; never behind the files' own latest time).
 * name is used in messages. Returns the number fn kept or a negative
 * errno (-ENOMEM, or fn's); *ret_stats (optional) in every case.
 */
int leasefile_parse(const char *name, const struct leasefile_texts *t, uint64_t now_s,
		    leasefile_restore_fn fn, void *arg, struct leasefile_stats *ret_stats);

/*
 * Record that m (an entry of the table, after map_add / map_update) now
 * is as it is, or that it is about to go (before map_remove; only its key
 * is read). Buffered until leasefile_commit(). Entries that are not kept
 * (see above) are ignored. lf NULL: no-op. 0, or a negative errno when
 * the journal is unusable (the commit will report it too).
 */
int leasefile_record_put(struct leasefile *lf, const struct mapping *m);
int leasefile_record_delete(struct leasefile *lf, const struct mapping *m);

/*
 * IPv6 pinholes (core/pinhole.h) are kept in the same files: leased
 * ones made by UPnP or PCP, with their UniqueID, tuple, origin, owner,
 * LAN and absolute expiry (a PCP nonce is not kept: a restored PCP
 * pinhole takes the first nonce offered, as a restored PCP mapping does).
 * leasefile_set_pins() before leasefile_load(): pins is the table every
 * snapshot copies (whole, at the start of each), fn is called for each
 * unexpired pinhole read back (its lease_end_ms is 0; remaining_s as for
 * mappings) and returns a leasefile_verdict. The records, like mappings':
 */
typedef int (*leasefile_pin_restore_fn)(const struct pinhole *p, uint32_t remaining_s, void *arg);
void leasefile_set_pins(struct leasefile *lf, const struct pin_table *pins,
			leasefile_pin_restore_fn fn, void *arg);
int leasefile_record_pin_put(struct leasefile *lf, const struct pinhole *p);
int leasefile_record_pin_delete(struct leasefile *lf, const struct pinhole *p);

/*
 * Make the records since the last commit durable: one append and one
 * fdatasync for them all. Call once per action, after its last record,
 * before the response goes out. 0 (also when there was nothing to do,
 * or lf is NULL), or a negative errno: the changes are not on disk (the
 * table keeps them; the next compaction will write them).
 */
int leasefile_commit(struct leasefile *lf);

/*
 * The same, without blocking the loop: an asynchronous group commit.
 * The records since the last commit and their commit line are written
 * (write()) now, by the caller; their fdatasync runs in one writer
 * thread, which syncs everything requested while its previous fdatasync
 * ran with one more fdatasync (a group: N commits arriving during one
 * slow sync cost two syncs, not N). cb(err, arg) is called later from
 * leasefile_on_ready() on the caller's thread (the loop), exactly once,
 * and in request order: err 0 when the commit is on disk, else a
 * negative errno: the caller undoes the change and refuses it
 * (src/engine_tx.h). A failed fdatasync fails every commit it covered
 * and every commit still waiting (they follow it in a journal that is
 * rewritten whole at the next leasefile_tick(); as for
 * leasefile_commit(), later commits fail until then).
 *
 * Returns 0: cb will be called. 1: nothing to wait for (lf NULL, or
 * nothing recorded and no commit waiting): committed, cb will not be
 * called. A negative errno: not committed and cb will not be called:
 * the journal is broken (as leasefile_commit()), or -EAGAIN when
 * LEASEFILE_WAITERS_MAX commits already wait (docs/LIMITS.md), or the
 * writer thread could not be started (pthread_create's error): then the
 * action's records are dropped, nothing of it reached the file.
 *
 * Wiring: leasefile_ready_fd(lf) is an eventfd that becomes readable
 * when a batch is synced or failed; register it for EPOLLIN with the
 * loop and call leasefile_on_ready(lf) when it is. The thread starts at
 * the first asynchronous commit (never before: a daemon that forks
 * later keeps it). Compaction (leasefile_tick(), leasefile_compact())
 * waits for the thread before it replaces the journal; leasefile_close()
 * stops the thread after its last fdatasync and calls back every
 * waiting commit with its outcome before it returns (cb must not close
 * lf). Do not mix with leasefile_commit() when order matters: a
 * synchronous commit completes before asynchronous ones requested
 * earlier (both are durable when they report 0).
 */
#define LEASEFILE_WAITERS_MAX 4096
typedef void (*leasefile_commit_fn)(int err, void *arg);
int leasefile_commit_async(struct leasefile *lf, leasefile_commit_fn cb, void *arg);
/* The eventfd to watch (-1 for NULL lf); its owner is lf. */
int leasefile_ready_fd(const struct leasefile *lf);
/* Read the eventfd and call back the commits that are done. NULL: no-op. */
void leasefile_on_ready(struct leasefile *lf);

/* What the writer did (benchmarks, tests): commits requested
 * asynchronously, fdatasyncs run for them, how often the loop waited
 * for the thread before replacing the journal (and whether it waits
 * now: another thread may read it), commits waiting for their callback. */
struct leasefile_async_stats {
	uint64_t commits, syncs, drains;
	bool draining;
	size_t waiting;
};
/* Callable from any thread for syncs, drains and draining; commits and
 * waiting are the loop's. */
void leasefile_async_stats(struct leasefile *lf, struct leasefile_async_stats *st);

/* The writer thread's fdatasync (tests: count, delay or fail it); it
 * runs on the writer thread. fn NULL: fdatasync. 0 or -errno. */
typedef int (*leasefile_sync_fn)(int fd, void *arg);
void leasefile_set_sync_fn(struct leasefile *lf, leasefile_sync_fn fn, void *arg);

/*
 * Background work: the monotonic ms (lf's mono clock) at which
 * leasefile_tick() wants to run, 0 when it has nothing to do. It is due
 * at once while a compaction is in progress (one bounded step per call),
 * later after an error (retried every minute).
 */
uint64_t leasefile_next_deadline(const struct leasefile *lf);
/* Run one step of what is due, over the table t. Logs its own errors. */
void leasefile_tick(struct leasefile *lf, const struct map_table *t);

/*
 * Write a complete snapshot of t now and start an empty journal
 * (replaces a compaction in progress). Takes time proportional to the
 * table: for start-up, tests and benchmarks, and what leasefile_tick()
 * does after a journal I/O error. 0 or a negative errno.
 */
int leasefile_compact(struct leasefile *lf, const struct map_table *t);

/* Commits without fdatasync (benchmarks and tests only: the daemon
 * never turns it off). Snapshots are synced regardless. */
void leasefile_set_sync(struct leasefile *lf, bool sync);

/* Whether name is one of the files the lease files keep in a state
 * directory (leases.snap, leases.journal and their temporary forms). */
bool leasefile_file_name(const char *name);

/* Close the files and drop the lock; uncommitted records are lost (those
 * of leasefile_commit_async() are synced first and called back). NULL
 * is a no-op. */
void leasefile_close(struct leasefile *lf);

#endif
