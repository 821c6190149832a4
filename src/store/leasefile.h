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
 *                   at a time and fdatasync'd by leasefile_commit().
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
 * lock on it. Not thread-safe (the loop is single-threaded).
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

/* Close the files and drop the lock; uncommitted records are lost. NULL
 * is a no-op. */
void leasefile_close(struct leasefile *lf);

#endif
