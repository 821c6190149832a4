/*
 * leasefile.c - leases survive restarts (see leasefile.h): a snapshot
 * and an append-only journal under the state directory.
 *
 * Format, version 1. Text, one record a line, every line
 *     <crc> <body>\n
 * where <crc> is the CRC-32 (IEEE 802.3, as zlib's crc32()) of <body> in 8
 * lower-case hex digits, and <body> is tokens separated by one space:
 *     igdd-leases 1 snapshot <gen> <time>      first line of leases.snap
 *     igdd-leases 1 journal <gen> <time>       first line of leases.journal
 *     m <proto> <ext port> <remote host> <internal client> <int port>
 *       <enabled> <origin> <owner> <expiry> <desc> [<nonce>]
 *                                              the entry as it now is
 *     d <proto> <ext port> <remote host>       the lease of that key is gone
 *     p <uid> <proto> <remote> <remote port> <internal> <int port> <origin>
 *       <owner> <lan> <expiry>                 an IPv6 pinhole (core/pinhole.h) as
 *                                              it now is: proto its IANA number,
 *                                              addresses IPv6 text (remote :: and
 *                                              port 0: any), origin upnp|pcp,
 *                                              owner the control point's address
 *     q <uid>                                  the pinhole of that UniqueID is gone
 *     c <n> <time>                             journal: the n lines before
 *                                              this one (since the last c)
 *                                              are one committed action
 *     end <n>                                  snapshot: last line, n leases
 * proto TCP|UDP; addresses dotted quads (remote host 0.0.0.0: wildcard);
 * enabled 0|1; origin upnp|natpmp|pcp|static; <expiry> and <time> wall-clock
 * seconds since the epoch, <expiry> 0 for a permanent entry (no lease: the
 * admin's igddctl add without --lease); <desc> the description with '%'
 * and every byte outside 0x21..0x7e written %XX, so no byte of it can end
 * a token or a line (an empty description leaves the line ending in a
 * space, or two spaces before a nonce); <nonce> the PCP MAP nonce (RFC
 * 6887 11.1) in 24 lower-case hex digits, only when the entry has one
 * (files written before it existed read the same, without nonces).
 *
 * Reading: a line whose CRC does not match is skipped (and logged); the
 * rest is restored. In the journal only committed actions count: lines
 * after the last "c" (a crash in the middle of an append: the client was
 * never answered) are dropped, so a multi-entry action (a range delete)
 * is restored whole or not at all.
 *
 * Generations. Each snapshot and journal carries a generation; a journal
 * holds the changes made since its generation began. What is restored is
 * the snapshot of generation S, then every journal of generation >= S in
 * order (older ones are stale). leasefile_load() then writes snapshot
 * N+1 of what it restored and starts an empty journal N+1, so every run
 * starts clean. Compaction from generation G, spread over ticks:
 *   1. journal G+1 is created (temporary file, header, fdatasync); the
 *      journal G is renamed leases.journal.prev and G+1 renamed in its
 *      place, then the directory is fsync'd: commits now go to G+1;
 *   2. the table is copied into leases.snap.tmp (generation G+1) in key
 *      order, at most LF_STEP entries per tick, a cursor remembering
 *      where it is;
 *   3. fdatasync, rename to leases.snap, fsync the directory, unlink
 *      leases.journal.prev.
 * The copy in 2 is fuzzy (entries copied at different times) but every
 * record states an entry whole (nothing is an increment), so snapshot
 * G+1 + journal G+1 is exact: a key changed after step 1 ends as its last
 * journal record says; a key not changed since is as it was copied.
 * Until step 3's rename, snapshot G + prev G + journal G+1 restore it.
 * A journal I/O error, whatever state the files are in, is repaired by a
 * complete snapshot of the table (leasefile_compact()): it makes every
 * older file stale.
 *
 * Time. <expiry> is the wall clock at the write plus the lease left on
 * the table's monotonic clock. The wall clock used is never behind the
 * latest <time> found at load plus the monotonic time since (a router
 * without a battery-backed clock starts in 1970 until NTP answers:
 * leases then keep what they had left at the last write instead of
 * living for ever). Restored leases are capped at IGDD_LEASE_MAX.
 */
#define _GNU_SOURCE             /* sync_file_range */
#include "store/leasefile.h"

#include "core/leaserec.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LF_SNAP          "leases.snap"
#define LF_SNAP_TMP      "leases.snap.tmp"
#define LF_JOURNAL       "leases.journal"
#define LF_JOURNAL_TMP   "leases.journal.tmp"
#define LF_JOURNAL_PREV  "leases.journal.prev"
#define LF_MAGIC         "igdd-leases"
#define LF_VERSION       "1"

#define LF_STEP          4096            /* entries copied per compaction tick */
#define LF_JOURNAL_MIN   (1u << 20)      /* compact past max(this, 2 x snapshot) bytes */
#define LF_PENDING_MAX   (32u << 20)     /* records of one action (a range delete of all) */
#define LF_SNAPBUF_MAX   (1u << 20)
#define LF_SNAPBUF_FLUSH (256u << 10)
#define LF_RETRY_MS      60000           /* after an error */
#define LF_LOG_BAD       5               /* bad lines logged one by one, then counted */
#define LF_WAITERS_MAX   LEASEFILE_WAITERS_MAX /* commits waiting for the writer thread */

enum lf_state {
	LF_IDLE,        /* one journal, one snapshot */
	LF_ROTATED,     /* step 1 done: prev + journal, snapshot to write */
	LF_WRITING,     /* step 2 in progress */
};

/* A snapshot being written to LF_SNAP_TMP. */
struct lf_snapw {
	int fd;                 /* -1: none */
	struct buf out;
	uint64_t off;           /* bytes written to fd */
	size_t count;
};

/* One leasefile_commit_async() waiting for its fdatasync. */
struct lf_waiter {
	uint64_t seq;                   /* covered once the writer synced this far */
	int err;                        /* set when the journal broke under it */
	leasefile_commit_fn cb;
	void *arg;
};

/*
 * The writer thread (leasefile_commit_async()) and what it shares with
 * the loop. The loop writes the records, then raises requested; the
 * thread takes everything requested so far as one batch (taken), runs
 * one fdatasync for it, and sets synced (and ok while no sync failed),
 * then writes efd. The fields marked "mu" are read and written under mu
 * only; the others belong to the loop.
 */
struct lf_writer {
	pthread_mutex_t mu;
	pthread_cond_t wake;            /* the thread: work to do, or stop */
	pthread_cond_t idle;            /* the loop: a batch is synced */
	pthread_t thread;
	bool running;                   /* the thread was started (lazily) */
	int efd;                        /* eventfd: the loop's wake-up */
	int fd;                         /* mu: the journal the thread syncs */
	bool sync;                      /* mu: fdatasync at all (leasefile_set_sync) */
	leasefile_sync_fn sync_fn;      /* mu */
	void *sync_arg;                 /* mu */
	uint64_t requested;             /* mu: the last commit written */
	uint64_t taken;                 /* mu: the last commit a batch took */
	uint64_t synced;                /* mu: the last commit a finished batch covered */
	uint64_t ok;                    /* mu: ... and no batch failed up to it */
	int err;                        /* mu: a batch failed (taken by the loop) */
	bool stop;                      /* mu */
	bool draining;                  /* mu: the loop waits for the thread */
	uint64_t syncs, drains;         /* mu: statistics */
	uint64_t commits;
	struct lf_waiter *q;            /* a ring of LF_WAITERS_MAX, in request order */
	size_t qhead, qlen;
};

struct leasefile {
	int dirfd;
	char dir[PATH_MAX];
	const struct clock *mono;
	struct clock wall;
	uint64_t anchor_wall_s;         /* the wall clock never reads less than */
	uint64_t anchor_mono_ms;        /* ... this plus the monotonic time since this */
	bool loaded;                    /* leasefile_load() read the files */
	bool sync;
	int jfd;                        /* the journal, -1 when not started */
	uint64_t jgen;
	uint64_t jlen;                  /* bytes of the journal */
	uint64_t snap_bytes;            /* of the last snapshot */
	struct buf pending;             /* records not yet committed */
	size_t npending;
	bool recorded;                  /* a record since the last commit (kept or not) */
	int broken;                     /* 0, or the -errno that stopped the journal */
	enum lf_state state;
	struct lf_snapw sw;
	uint8_t cur_proto;              /* compaction cursor: next key to copy */
	uint16_t cur_port;
	bool want;                      /* the journal is past its bound */
	uint64_t retry_at;              /* mono ms; 0: no back-off */
	const struct pin_table *pins;   /* the pinholes every snapshot holds (NULL: none) */
	leasefile_pin_restore_fn pin_fn;
	void *pin_arg;
	struct lf_writer w;
};

/* --------------------------------------------------------------- time */

static uint64_t wall_default_ms(void *ctx)
{
	(void)ctx;
	return clock_realtime_s() * 1000u;
}

/* The wall clock, not behind the anchor plus the monotonic time since. */
static uint64_t wall_now_s(const struct leasefile *lf, uint64_t mono_ms)
{
	uint64_t wall = clock_now(&lf->wall) / 1000u;
	uint64_t floor = lf->anchor_wall_s;

	if (mono_ms > lf->anchor_mono_ms)
		floor += (mono_ms - lf->anchor_mono_ms) / 1000u;
	return wall > floor ? wall : floor;
}

static int write_at(int fd, const void *data, size_t len, uint64_t off)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int sync_dir(const struct leasefile *lf)
{
	return fsync(lf->dirfd) < 0 ? -errno : 0;
}

static int create_in_dir(const struct leasefile *lf, const char *name)
{
	int fd = openat(lf->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			0600);

	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------ the snapshot */

static void snapw_abort(struct leasefile *lf)
{
	if (lf->sw.fd >= 0) {
		close(lf->sw.fd);
		unlinkat(lf->dirfd, LF_SNAP_TMP, 0);
	}
	lf->sw.fd = -1;
	buf_reset(&lf->sw.out);
}

static int snapw_flush(struct leasefile *lf, bool start_writeback)
{
	struct lf_snapw *sw = &lf->sw;
	int r;

	if (sw->out.len == 0)
		return 0;
	r = write_at(sw->fd, sw->out.p, sw->out.len, sw->off);
	if (r < 0)
		return r;
	/* Let the disk start now, so that the final fdatasync waits less. */
	if (start_writeback)
		sync_file_range(sw->fd, (off_t)sw->off, (off_t)sw->out.len, SYNC_FILE_RANGE_WRITE);
	sw->off += sw->out.len;
	buf_reset(&sw->out);
	return 0;
}

static int snapw_line(struct leasefile *lf, const char *line, size_t len)
{
	int r = buf_append(&lf->sw.out, line, len);

	if (r == 0 && lf->sw.out.len >= LF_SNAPBUF_FLUSH)
		r = snapw_flush(lf, false);
	return r;
}

static int snapw_begin(struct leasefile *lf, uint64_t gen, uint64_t wall_s)
{
	char line[LEASEREC_LINE_MAX];
	int fd;

	snapw_abort(lf);
	fd = create_in_dir(lf, LF_SNAP_TMP);
	if (fd < 0)
		return fd;
	lf->sw.fd = fd;
	lf->sw.off = 0;
	lf->sw.count = 0;
	return snapw_line(lf, line, leaserec_words(line, LF_MAGIC " " LF_VERSION " snapshot", gen,
						 &wall_s));
}

static int snapw_add(struct leasefile *lf, const struct mapping *m, uint64_t expiry)
{
	char line[LEASEREC_LINE_MAX];

	lf->sw.count++;
	return snapw_line(lf, line, leaserec_put(line, m, expiry));
}

/* Every persisted pinhole of lf->pins (at most IGDD_MAX_PINHOLES: in one go). */
static int snapw_pins(struct leasefile *lf)
{
	uint64_t mono = clock_now(lf->mono), wall = wall_now_s(lf, mono);
	const struct pinhole *ph;
	char line[LEASEREC_LINE_MAX];
	int r = 0;

	if (!lf->pins)
		return 0;
	for (ph = pin_first(lf->pins); ph && r == 0; ph = pin_next(lf->pins, ph)) {
		if (!leaserec_pin_persisted(ph))
			continue;
		lf->sw.count++;
		r = snapw_line(lf, line, leaserec_pin_put(line, ph, leaserec_pin_expiry(ph, mono, wall)));
	}
	return r;
}

/* Trailer, fdatasync, rename into place, fsync the directory. */
static int snapw_finish(struct leasefile *lf)
{
	char line[LEASEREC_LINE_MAX];
	int r;

	r = snapw_line(lf, line, leaserec_words(line, "end", lf->sw.count, NULL));
	if (r == 0)
		r = snapw_flush(lf, false);
	if (r == 0 && fdatasync(lf->sw.fd) < 0)
		r = -errno;
	if (r == 0 && renameat(lf->dirfd, LF_SNAP_TMP, lf->dirfd, LF_SNAP) < 0)
		r = -errno;
	if (r < 0) {
		snapw_abort(lf);
		return r;
	}
	close(lf->sw.fd);
	lf->sw.fd = -1;
	lf->snap_bytes = lf->sw.off;
	return sync_dir(lf);
}

/* ------------------------------------------ the writer thread's side */

static int sync_default(int fd, void *arg)
{
	(void)arg;
	return fdatasync(fd) < 0 ? -errno : 0;
}

static void efd_poke(int efd)
{
	uint64_t one = 1;

	/* Fails only when the counter is full (then it is readable anyway). */
	if (write(efd, &one, sizeof(one)) < 0)
		return;
}

/* The thread: one fdatasync for everything requested since the last
 * batch, until stopped with nothing left to sync. */
static void *writer_main(void *p)
{
	struct lf_writer *w = p;
	leasefile_sync_fn fn;
	uint64_t target;
	bool sync;
	void *arg;
	int fd, r;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->requested == w->taken)
			pthread_cond_wait(&w->wake, &w->mu);
		if (w->requested == w->taken)
			break;
		target = w->taken = w->requested;
		fd = w->fd;
		sync = w->sync;
		fn = w->sync_fn;
		arg = w->sync_arg;
		pthread_mutex_unlock(&w->mu);
		r = sync ? fn(fd, arg) : 0;
		pthread_mutex_lock(&w->mu);
		w->synced = target;
		w->syncs++;
		if (r < 0 && !w->err)
			w->err = r;
		if (!w->err)
			w->ok = target;
		pthread_cond_broadcast(&w->idle);
		efd_poke(w->efd);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ------------------------------------------------- the loop's side */

static int writer_init(struct lf_writer *w)
{
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->fd = -1;
	w->sync = true;
	w->sync_fn = sync_default;
	if (w->efd < 0)
		return -errno;
	w->q = calloc(LF_WAITERS_MAX, sizeof(*w->q));
	return w->q ? 0 : -ENOMEM;
}

static int writer_start(struct lf_writer *w)
{
	int r;

	if (w->running)
		return 0;
	r = pthread_create(&w->thread, NULL, writer_main, w);
	if (r != 0)
		return -r;
	w->running = true;
	return 0;
}

/*
 * Wait until the thread has synced every commit requested (the loop
 * blocks for the fdatasync in progress and at most one more batch).
 * Before the journal it syncs is replaced or closed.
 */
static void writer_drain(struct lf_writer *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->synced < w->requested) {
		w->drains++;
		w->draining = true;
		while (w->synced < w->requested)
			pthread_cond_wait(&w->idle, &w->mu);
		w->draining = false;
	}
	pthread_mutex_unlock(&w->mu);
}

/* The thread syncs fd from now on: nothing of the old journal is left
 * to sync (the loop closes it next). */
static void writer_set_fd(struct lf_writer *w, int fd)
{
	writer_drain(w);
	pthread_mutex_lock(&w->mu);
	w->fd = fd;
	pthread_mutex_unlock(&w->mu);
}

/* Every waiting commit not yet synced fails with err (the journal they
 * are in broke: its later fdatasyncs prove nothing); called back from
 * leasefile_on_ready(), which the eventfd brings. */
static void waiters_fail(struct lf_writer *w, int err)
{
	uint64_t ok;
	size_t i;

	pthread_mutex_lock(&w->mu);
	ok = w->ok;
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->qlen; i++) {
		struct lf_waiter *x = &w->q[(w->qhead + i) % LF_WAITERS_MAX];

		if (!x->err && x->seq > ok)
			x->err = err;
	}
	if (w->qlen > 0)
		efd_poke(w->efd);
}

/* Call back, in request order, the commits synced up to ok or failed;
 * stop at the first still waiting. A callback may commit again. */
static void waiters_complete(struct lf_writer *w, uint64_t ok)
{
	while (w->qlen > 0) {
		struct lf_waiter x = w->q[w->qhead];

		if (!x.err && x.seq > ok)
			break;
		w->qhead = (w->qhead + 1) % LF_WAITERS_MAX;
		w->qlen--;
		x.cb(x.err, x.arg);
	}
}

/* The thread's failure (ok does not move while it is set). */
static int writer_err(struct lf_writer *w)
{
	int err;

	pthread_mutex_lock(&w->mu);
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	return err;
}

/* The failure is dealt with (its waiters marked): ok moves again, and
 * the commits synced up to it can be called back. */
static uint64_t writer_clear(struct lf_writer *w)
{
	uint64_t ok;

	pthread_mutex_lock(&w->mu);
	w->err = 0;
	ok = w->ok;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* Stop and join the thread (it syncs what was requested first), then
 * call back every waiting commit with its outcome. */
static void writer_fini(struct lf_writer *w)
{
	int err;

	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	err = writer_err(w);
	if (err)
		waiters_fail(w, err);
	waiters_complete(w, writer_clear(w));   /* joined: every commit synced or failed */
}

/* ------------------------------------------------------- the journal */

/* A new journal of generation gen in LF_JOURNAL_TMP, header synced. */
static int journal_create(struct leasefile *lf, uint64_t gen, int *ret_fd, uint64_t *ret_len)
{
	uint64_t wall = wall_now_s(lf, clock_now(lf->mono));
	char line[LEASEREC_LINE_MAX];
	size_t len = leaserec_words(line, LF_MAGIC " " LF_VERSION " journal", gen, &wall);
	int fd = create_in_dir(lf, LF_JOURNAL_TMP), r;

	if (fd < 0)
		return fd;
	r = write_at(fd, line, len, 0);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlinkat(lf->dirfd, LF_JOURNAL_TMP, 0);
		return r;
	}
	*ret_fd = fd;
	*ret_len = len;
	return 0;
}

static void journal_use(struct leasefile *lf, int fd, uint64_t gen, uint64_t len)
{
	writer_set_fd(&lf->w, fd);      /* the old journal's commits synced first */
	if (lf->jfd >= 0)
		close(lf->jfd);
	lf->jfd = fd;
	lf->jgen = gen;
	lf->jlen = len;
	lf->broken = 0;
	buf_reset(&lf->pending);
	lf->npending = 0;
}

/*
 * Start journal gen. rotate: keep the current one as LF_JOURNAL_PREV
 * (compaction step 1); else it is replaced (a complete snapshot made it
 * stale). lf->jgen == gen tells whether the switch happened: it has when
 * only the directory fsync failed, and then the journal is marked broken
 * (its name may not be on disk yet).
 */
static int journal_start(struct leasefile *lf, uint64_t gen, bool rotate)
{
	uint64_t len;
	int fd, r;

	r = journal_create(lf, gen, &fd, &len);
	if (r < 0)
		return r;
	if (rotate && renameat(lf->dirfd, LF_JOURNAL, lf->dirfd, LF_JOURNAL_PREV) < 0) {
		r = -errno;
		goto fail;
	}
	if (renameat(lf->dirfd, LF_JOURNAL_TMP, lf->dirfd, LF_JOURNAL) < 0) {
		r = -errno;
		if (rotate)
			renameat(lf->dirfd, LF_JOURNAL_PREV, lf->dirfd, LF_JOURNAL);
		goto fail;
	}
	r = sync_dir(lf);
	journal_use(lf, fd, gen, len);  /* renamed: this is the journal now */
	if (r < 0)
		lf->broken = r;
	return r;
fail:
	close(fd);
	unlinkat(lf->dirfd, LF_JOURNAL_TMP, 0);
	return r;
}

static void drop_pending(struct leasefile *lf)
{
	buf_reset(&lf->pending);
	lf->npending = 0;
}

static void journal_break(struct leasefile *lf, int err, const char *what)
{
	if (!lf->broken)
		log_warnx("%s/%s: %s: %s; leases will be rewritten whole", lf->dir, LF_JOURNAL,
			  what, strerror(-err));
	lf->broken = err;
	drop_pending(lf);
}

/* An I/O error of the journal: what waits for its fdatasync fails too
 * (a later fdatasync of the same file may return 0 without the lost
 * pages: Linux reports a writeback error once). */
static void journal_fail(struct leasefile *lf, int err, const char *what)
{
	journal_break(lf, err, what);
	waiters_fail(&lf->w, err);
}

static int record_line(struct leasefile *lf, const char *line, size_t len)
{
	int r;

	lf->recorded = true;
	if (lf->broken)
		return lf->broken;
	if (lf->jfd < 0)
		return -EBADF;
	r = buf_append(&lf->pending, line, len);
	if (r < 0) {
		journal_break(lf, r == -E2BIG ? -ENOBUFS : r, "too many records in one action");
		return lf->broken;
	}
	lf->npending++;
	return 0;
}

int leasefile_record_put(struct leasefile *lf, const struct mapping *m)
{
	char line[LEASEREC_LINE_MAX];
	uint64_t mono;

	if (!lf || !leaserec_persisted(m))
		return 0;
	mono = clock_now(lf->mono);
	return record_line(lf, line, leaserec_put(line, m, leaserec_expiry(m, mono, wall_now_s(lf, mono))));
}

int leasefile_record_delete(struct leasefile *lf, const struct mapping *m)
{
	char line[LEASEREC_LINE_MAX];

	if (!lf || !leaserec_persisted(m))
		return 0;
	return record_line(lf, line, leaserec_delete(line, m));
}

int leasefile_record_pin_put(struct leasefile *lf, const struct pinhole *ph)
{
	uint64_t mono;
	char line[LEASEREC_LINE_MAX];

	if (!lf || !leaserec_pin_persisted(ph))
		return 0;
	mono = clock_now(lf->mono);
	return record_line(lf, line, leaserec_pin_put(line, ph, leaserec_pin_expiry(ph, mono,
									  wall_now_s(lf, mono))));
}

int leasefile_record_pin_delete(struct leasefile *lf, const struct pinhole *ph)
{
	char line[LEASEREC_LINE_MAX];

	if (!lf || !leaserec_pin_persisted(ph))
		return 0;
	return record_line(lf, line, leaserec_pin_delete(line, ph));
}

void leasefile_set_pins(struct leasefile *lf, const struct pin_table *pins,
			leasefile_pin_restore_fn fn, void *arg)
{
	if (!lf)
		return;
	lf->pins = pins;
	lf->pin_fn = fn;
	lf->pin_arg = arg;
}

/*
 * Append the records since the last commit and their "c" line to the
 * journal (write(), no fdatasync). 1: written; 0: nothing recorded; or
 * a negative errno (the journal is broken: the records are dropped).
 */
static int commit_append(struct leasefile *lf)
{
	char line[LEASEREC_LINE_MAX];
	uint64_t wall;
	int r;

	if (!lf->recorded)
		return 0;
	lf->recorded = false;
	if (lf->broken || lf->jfd < 0)
		return lf->broken ? lf->broken : -EBADF;
	wall = wall_now_s(lf, clock_now(lf->mono));
	r = buf_append(&lf->pending, line, leaserec_words(line, "c", lf->npending, &wall));
	if (r == -E2BIG)
		r = -ENOBUFS;
	if (r == 0)
		r = write_at(lf->jfd, lf->pending.p, lf->pending.len, lf->jlen);
	if (r < 0) {
		journal_fail(lf, r, "cannot append");
		return r;
	}
	lf->jlen += lf->pending.len;
	drop_pending(lf);
	if (lf->state == LF_IDLE && lf->jlen > LF_JOURNAL_MIN && lf->jlen > 2 * lf->snap_bytes)
		lf->want = true;
	return 1;
}

int leasefile_commit(struct leasefile *lf)
{
	int r;

	if (!lf)
		return 0;
	r = commit_append(lf);
	if (r <= 0)
		return r;
	if (lf->sync && fdatasync(lf->jfd) < 0) {
		r = -errno;
		journal_fail(lf, r, "cannot sync");
		return r;
	}
	return 0;
}

int leasefile_commit_async(struct leasefile *lf, leasefile_commit_fn cb, void *arg)
{
	struct lf_writer *w;
	uint64_t seq;
	int r;

	if (!lf)
		return 1;
	w = &lf->w;
	if (!lf->recorded && w->qlen == 0)
		return 1;
	r = w->qlen < LF_WAITERS_MAX ? writer_start(w) : -EAGAIN;
	if (r < 0) {
		/* Nothing of this action was written: it is not committed. */
		lf->recorded = false;
		drop_pending(lf);
		return r;
	}
	r = commit_append(lf);
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->mu);
	if (r > 0) {
		w->requested++;
		pthread_cond_signal(&w->wake);
	}
	seq = w->requested;
	pthread_mutex_unlock(&w->mu);
	w->q[(w->qhead + w->qlen) % LF_WAITERS_MAX] = (struct lf_waiter){ seq, 0, cb, arg };
	w->qlen++;
	w->commits++;
	if (r == 0)             /* nothing to write: done when the commits before it are */
		efd_poke(w->efd);
	return 0;
}

int leasefile_ready_fd(const struct leasefile *lf)
{
	return lf ? lf->w.efd : -1;
}

void leasefile_on_ready(struct leasefile *lf)
{
	struct lf_writer *w;
	uint64_t v;
	int err;

	if (!lf)
		return;
	w = &lf->w;
	while (read(w->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	err = writer_err(w);
	if (err)
		journal_fail(lf, err, "cannot sync");
	waiters_complete(w, writer_clear(w));
}

void leasefile_async_stats(struct leasefile *lf, struct leasefile_async_stats *st)
{
	struct lf_writer *w = &lf->w;

	pthread_mutex_lock(&w->mu);
	st->commits = w->commits;
	st->syncs = w->syncs;
	st->drains = w->drains;
	st->draining = w->draining;
	pthread_mutex_unlock(&w->mu);
	st->waiting = w->qlen;
}

void leasefile_set_sync_fn(struct leasefile *lf, leasefile_sync_fn fn, void *arg)
{
	pthread_mutex_lock(&lf->w.mu);
	lf->w.sync_fn = fn ? fn : sync_default;
	lf->w.sync_arg = fn ? arg : NULL;
	pthread_mutex_unlock(&lf->w.mu);
}

/* -------------------------------------------------------- compaction */

/* The first entry at or after (proto, port) in table order. */
static const struct mapping *entry_at(const struct map_table *t, uint8_t proto, uint16_t port)
{
	const struct mapping *m = map_range_first(t, proto, port, 65535);

	if (!m && proto == MAP_TCP)
		m = map_range_first(t, MAP_UDP, 0, 65535);
	return m;
}

/*
 * Copy entries from the cursor into the snapshot, about budget of them,
 * always whole ports (a cursor is a port). 1: more to copy; 0: done.
 */
static int copy_entries(struct leasefile *lf, const struct map_table *t, size_t budget)
{
	uint64_t mono = clock_now(lf->mono), wall = wall_now_s(lf, mono);
	const struct mapping *m, *last = NULL;
	size_t n = 0;
	int r;

	for (m = entry_at(t, lf->cur_proto, lf->cur_port); m; m = map_next(t, m)) {
		if (n >= budget && (m->proto != last->proto || m->ext_port != last->ext_port)) {
			lf->cur_proto = m->proto;
			lf->cur_port = m->ext_port;
			return 1;
		}
		if (leaserec_persisted(m) && (r = snapw_add(lf, m, leaserec_expiry(m, mono, wall))) < 0)
			return r;
		last = m;
		n++;
	}
	return 0;
}

/* Step 1: rotate the journal. */
static int compact_begin(struct leasefile *lf)
{
	uint64_t gen = lf->jgen + 1;
	int r = journal_start(lf, gen, true);

	if (lf->jgen == gen) {          /* prev holds generation gen - 1 now */
		lf->state = LF_ROTATED;
		lf->want = false;
	}
	return r;
}

/* Step 2 (one slice), then step 3 when the copy is complete. */
static int compact_step(struct leasefile *lf, const struct map_table *t)
{
	uint64_t mono = clock_now(lf->mono);
	int r;

	if (lf->state == LF_ROTATED) {
		r = snapw_begin(lf, lf->jgen, wall_now_s(lf, mono));
		if (r == 0)
			r = snapw_pins(lf);
		if (r < 0)
			goto fail;
		lf->cur_proto = MAP_TCP;
		lf->cur_port = 0;
		lf->state = LF_WRITING;
	}
	r = copy_entries(lf, t, LF_STEP);
	if (r > 0)
		r = snapw_flush(lf, true);
	else if (r == 0)
		r = snapw_finish(lf);
	if (r < 0)
		goto fail;
	if (lf->sw.fd < 0) {
		unlinkat(lf->dirfd, LF_JOURNAL_PREV, 0);
		lf->state = LF_IDLE;
		return 0;
	}
	return 1;
fail:
	snapw_abort(lf);
	lf->state = LF_ROTATED;         /* the copy starts over, journal kept */
	return r;
}

int leasefile_compact(struct leasefile *lf, const struct map_table *t)
{
	uint64_t gen, mono;
	int r;

	if (!lf->loaded)
		return -EBADF;
	if (lf->state == LF_WRITING) {
		snapw_abort(lf);
		lf->state = LF_ROTATED;
	}
	gen = lf->jgen + 1;
	mono = clock_now(lf->mono);
	r = snapw_begin(lf, gen, wall_now_s(lf, mono));
	lf->cur_proto = MAP_TCP;
	lf->cur_port = 0;
	if (r == 0)
		r = snapw_pins(lf);
	if (r == 0)
		r = copy_entries(lf, t, SIZE_MAX);
	if (r == 0)
		r = snapw_finish(lf);
	if (r < 0) {
		snapw_abort(lf);
		return r;
	}
	/* Snapshot gen is complete: every older file is stale from here,
	 * the journal too until it is replaced. */
	r = journal_start(lf, gen, false);
	if (r < 0) {
		lf->jgen = gen;         /* the next attempt must go past the snapshot */
		if (!lf->broken)
			lf->broken = r;
		return r;
	}
	unlinkat(lf->dirfd, LF_JOURNAL_PREV, 0);
	lf->state = LF_IDLE;
	lf->want = false;
	return 0;
}

uint64_t leasefile_next_deadline(const struct leasefile *lf)
{
	uint64_t now;

	if (!lf || !lf->loaded || (!lf->broken && lf->jfd >= 0 && lf->state == LF_IDLE &&
				   !lf->want))
		return 0;
	now = clock_now(lf->mono);
	if (lf->retry_at > now)
		return lf->retry_at;
	return now ? now : 1;
}

void leasefile_tick(struct leasefile *lf, const struct map_table *t)
{
	uint64_t due = leasefile_next_deadline(lf), now;
	int r;

	if (!due || due > (now = clock_now(lf->mono)))
		return;
	if (lf->broken || lf->jfd < 0) {
		r = leasefile_compact(lf, t);
		if (r == 0)
			log_info("%s: leases rewritten; the journal works again", lf->dir);
	} else {
		r = lf->state == LF_IDLE ? compact_begin(lf) : 0;
		if (r == 0)
			r = compact_step(lf, t);
	}
	if (r < 0) {
		log_warnx("%s: lease compaction failed: %s; retrying in %u s", lf->dir,
			  strerror(-r), LF_RETRY_MS / 1000);
		lf->retry_at = now + LF_RETRY_MS;
	} else {
		lf->retry_at = 0;
	}
}

/* ----------------------------------------------------------- reading */

/* One of the three files, mapped. */
struct lf_file {
	const char *name;
	const char *kind;               /* "snapshot" or "journal" */
	char *p;                        /* NULL when absent or empty */
	size_t len;
	bool mapped;                    /* p is a mapping of the file (not the caller's memory) */
	bool usable;                    /* its header was read */
	uint64_t gen, time;
	struct leaserec_lines body;           /* the lines after the header */
};

struct lf_load {
	const char *dir;                /* for messages */
	struct leaserec_map map;
	struct leaserec_pins pins;
	struct leasefile_stats st;
	uint64_t newest;                /* the latest <time> read */
	size_t nbad;                    /* bad lines seen (the first few logged) */
	int err;                        /* -ENOMEM */
};

/* One record of a snapshot or a committed journal group. */
static int apply_record(struct lf_load *c, const struct leaserec *rec)
{
	switch (rec->type) {
	case 'm': return leaserec_map_put(&c->map, rec);
	case 'p': return leaserec_pins_put(&c->pins, rec);
	case 'q': leaserec_pins_del(&c->pins, rec->pin.uid); return 0;
	default: leaserec_map_del(&c->map, &rec->m); return 0;
	}
}

static void bad_line(struct lf_load *c, const char *file, size_t lineno, const char *why)
{
	c->st.bad++;
	if (c->nbad++ < LF_LOG_BAD)
		log_warnx("%s/%s:%zu: %s; skipped", c->dir, file, lineno, why);
}

static int file_map(const struct leasefile *lf, struct lf_file *f)
{
	int fd = openat(lf->dirfd, f->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
	struct stat st;
	void *p;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
	} else if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			r = -errno;
		} else {
			f->p = p;
			f->len = (size_t)st.st_size;
			f->mapped = true;
		}
	}
	close(fd);
	return r;
}

static void file_unmap(struct lf_file *f)
{
	if (f->p && f->mapped)
		munmap(f->p, f->len);
	f->p = NULL;
	f->mapped = false;
}

/* "igdd-leases 1 <kind> <gen> <time>": the file is usable. */
static void file_header(struct lf_load *c, struct lf_file *f)
{
	struct str line, body, t[6];
	const char *why;
	bool torn;

	/* An absent file has no bytes: no pointer arithmetic on NULL. */
	f->body = (struct leaserec_lines){ f->p, f->p ? f->p + f->len : NULL, 0 };
	if (!f->p || !leaserec_next_line(&f->body, &line, &torn))
		return;
	why = torn ? "incomplete header" : leaserec_check_line(line, &body);
	if (!why) {
		if (leaserec_split(body, t, 5) != 5 || !str_eq_cstr(t[0], LF_MAGIC))
			why = "not a lease file";
		else if (!str_eq_cstr(t[1], LF_VERSION))
			why = "unsupported format version";
		else if (!str_eq_cstr(t[2], f->kind) || !leaserec_parse_u64(t[3], UINT64_MAX / 4, &f->gen) ||
			 !leaserec_parse_u64(t[4], LEASEREC_EXPIRY_MAX, &f->time))
			why = "bad header";
	}
	if (why) {
		c->st.bad++;
		log_warnx("%s/%s: %s; file ignored", c->dir, f->name, why);
		return;
	}
	f->usable = true;
	if (f->time > c->newest)
		c->newest = f->time;
}

static void replay_snapshot(struct lf_load *c, struct lf_file *f)
{
	struct str line, body, t[3];
	struct leaserec rec;
	const char *why;
	bool torn, ended = false;
	uint64_t n;

	while (!c->err && leaserec_next_line(&f->body, &line, &torn)) {
		why = torn ? "incomplete line" : leaserec_check_line(line, &body);
		if (!why && ended)
			why = "line after the end line";
		if (!why && str_startswith_cstr(body, "end ")) {
			ended = true;
			if (leaserec_split(body, t, 2) == 2 && leaserec_parse_u64(t[1], SIZE_MAX, &n))
				continue;
			why = "bad end line";
		}
		if (!why)
			why = leaserec_parse(body, &rec);
		if (!why && rec.type != 'm' && rec.type != 'p')
			why = "delete record in a snapshot";
		if (why)
			bad_line(c, f->name, f->body.lineno, why);
		else
			c->err = apply_record(c, &rec);
	}
	if (!ended) {
		c->st.bad++;
		log_warnx("%s/%s: no end line: the snapshot is incomplete", c->dir, f->name);
	}
}

static bool is_commit(struct str body, uint64_t *ret_n, uint64_t *ret_time)
{
	struct str t[4];

	return leaserec_split(body, t, 3) == 3 && str_eq_cstr(t[0], "c") &&
	       leaserec_parse_u64(t[1], SIZE_MAX, ret_n) && leaserec_parse_u64(t[2], LEASEREC_EXPIRY_MAX, ret_time);
}

/* Apply the lines of it up to stop (a commit that counts n lines). */
static void apply_group(struct lf_load *c, const char *file, struct leaserec_lines *it,
			const char *stop, uint64_t n)
{
	struct str line, body;
	struct leaserec rec;
	const char *why;
	uint64_t seen = 0;
	bool torn;

	while (!c->err && it->p < stop && leaserec_next_line(it, &line, &torn)) {
		seen++;
		why = leaserec_check_line(line, &body);
		if (!why)
			why = leaserec_parse(body, &rec);
		if (why)
			bad_line(c, file, it->lineno, why);
		else
			c->err = apply_record(c, &rec);
	}
	if (!c->err && seen != n)
		bad_line(c, file, it->lineno + 1, "commit does not count the lines before it");
}

/* Committed groups are applied; what follows the last commit is not. */
static void replay_journal(struct lf_load *c, struct lf_file *f)
{
	struct leaserec_lines group = f->body;
	struct str line, body;
	uint64_t n, time;
	size_t pending = 0;
	bool torn;

	while (!c->err && leaserec_next_line(&f->body, &line, &torn)) {
		if (torn || leaserec_check_line(line, &body) || !is_commit(body, &n, &time)) {
			pending++;
			continue;
		}
		apply_group(c, f->name, &group, line.p, n);
		if (time > c->newest)
			c->newest = time;
		group = f->body;
		pending = 0;
	}
	c->st.uncommitted += pending;
}

/* The snapshot, then the journals of its generation or later, in
 * generation order (f: snapshot, prev, journal). */
static void replay(struct lf_load *c, struct lf_file *f)
{
	uint64_t s = f[0].usable ? f[0].gen : 0;
	struct lf_file *j[2] = { &f[1], &f[2] }, *tmp;
	bool first = true;
	int i;

	if (f[0].usable)
		replay_snapshot(c, &f[0]);
	if (j[0]->usable && j[1]->usable && j[0]->gen > j[1]->gen) {
		tmp = j[0];
		j[0] = j[1];
		j[1] = tmp;
	}
	for (i = 0; i < 2 && !c->err; i++) {
		if (!j[i]->usable)
			continue;
		if (j[i]->gen < s) {
			log_debug("%s/%s: older than the snapshot: stale", c->dir, j[i]->name);
			continue;
		}
		if (first && j[i]->gen != s)
			log_warnx("%s/%s: generation %llu has no snapshot (found %llu): restoring "
				  "what the journals hold", c->dir, j[i]->name,
				  (unsigned long long)j[i]->gen, (unsigned long long)s);
		first = false;
		replay_journal(c, j[i]);
	}
}

/* The wall clock for the restore: not behind the files' last write. */
static uint64_t set_anchor(struct leasefile *lf, uint64_t newest, struct leasefile_stats *st)
{
	uint64_t wall = clock_now(&lf->wall) / 1000u;

	lf->anchor_mono_ms = clock_now(lf->mono);
	lf->anchor_wall_s = newest > wall ? newest : wall;
	st->clock_behind = newest > wall;
	if (newest > wall + 2)
		log_warnx("%s: the wall clock is %llu s behind the lease files' last write: "
			  "leases count from that write", lf->dir, (unsigned long long)(newest - wall));
	return lf->anchor_wall_s;
}

/* fn for each unexpired lease and each permanent entry; the kept leases
 * get their (capped) expiry, permanent entries keep expiry 0. */
static int restore_all(struct lf_load *c, uint64_t now_s, leasefile_restore_fn fn, void *arg)
{
	size_t i;
	int v;

	for (i = 0; i < c->map.n; i++) {
		struct leaserec_entry *e = &c->map.v[i];
		uint64_t left = 0;

		if (!e->live)
			continue;
		if (e->expiry != 0 && e->expiry <= now_s) {
			e->live = false;
			c->st.expired++;
			continue;
		}
		if (e->expiry != 0)
			left = e->expiry - now_s < IGDD_LEASE_MAX ? e->expiry - now_s : IGDD_LEASE_MAX;
		v = fn(&e->m, (uint32_t)left, arg);
		if (v < 0)
			return v;
		if (v != LEASEFILE_KEEP) {
			e->live = false;
			c->st.dropped++;
			continue;
		}
		if (e->expiry != 0)
			e->expiry = now_s + left;
		c->st.restored++;
	}
	return 0;
}

/* The pinholes' restore: fn for each unexpired one (pinholes count in
 * the same statistics as mappings). */
static int restore_pins(struct lf_load *c, uint64_t now_s, leasefile_pin_restore_fn fn, void *arg)
{
	size_t i;
	int v;

	for (i = 0; i < c->pins.n; i++) {
		struct leaserec_pin *e = &c->pins.v[i];
		uint64_t left;

		if (!e->live)
			continue;
		if (e->expiry <= now_s) {
			c->st.expired++;
			continue;
		}
		left = e->expiry - now_s;
		if (left > IGDD_LEASE_MAX)
			left = IGDD_LEASE_MAX;
		v = fn ? fn(&e->p, (uint32_t)left, arg) : LEASEFILE_DROP;
		if (v < 0)
			return v;
		if (v != LEASEFILE_KEEP) {
			c->st.dropped++;
			continue;
		}
		c->st.restored++;
	}
	return 0;
}

/* Snapshot gen of what was restored, then an empty journal gen. */
static int write_restored(struct leasefile *lf, const struct leaserec_map *map, uint64_t gen,
			  uint64_t wall_s)
{
	size_t i;
	int r;

	r = snapw_begin(lf, gen, wall_s);
	if (r == 0)
		r = snapw_pins(lf);     /* those restored: the table holds nothing else yet */
	for (i = 0; r == 0 && i < map->n; i++)
		if (map->v[i].live)
			r = snapw_add(lf, &map->v[i].m, map->v[i].expiry);
	if (r == 0)
		r = snapw_finish(lf);
	if (r < 0) {
		snapw_abort(lf);
		return r;
	}
	lf->jgen = gen;                 /* a later compaction goes past it */
	r = journal_start(lf, gen, false);
	if (r == 0)
		unlinkat(lf->dirfd, LF_JOURNAL_PREV, 0);
	return r;
}

static uint64_t max_gen(const struct lf_file *f, size_t n)
{
	uint64_t g = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i].usable && f[i].gen > g)
			g = f[i].gen;
	return g;
}

static void log_loaded(const struct lf_load *c)
{
	const struct leasefile_stats *s = &c->st;

	if (c->nbad > LF_LOG_BAD)
		log_warnx("%s: %zu more bad lines in the lease files skipped", c->dir,
			  c->nbad - LF_LOG_BAD);
	log_info("%zu leases restored from %s (%zu expired, %zu refused, %zu bad lines, "
		 "%zu uncommitted)", s->restored, c->dir, s->expired, s->dropped, s->bad,
		 s->uncommitted);
}

#define LF_FILES_INIT { \
	{ .name = LF_SNAP, .kind = "snapshot" }, \
	{ .name = LF_JOURNAL_PREV, .kind = "journal" }, \
	{ .name = LF_JOURNAL, .kind = "journal" }, \
}

/* The headers and records of the three files (f: snapshot, prev,
 * journal; any may be empty) into c's map. 0 or -ENOMEM. */
static int read_files(struct lf_load *c, struct lf_file f[3])
{
	int i;

	for (i = 0; i < 3; i++)
		file_header(c, &f[i]);
	replay(c, f);
	return c->err;
}

int leasefile_parse(const char *name, const struct leasefile_texts *t, uint64_t now_s,
		    leasefile_restore_fn fn, void *arg, struct leasefile_stats *ret_stats)
{
	struct lf_file f[3] = LF_FILES_INIT;
	struct lf_load c;
	int r;

	memset(&c, 0, sizeof(c));
	c.dir = name;
	f[0].p = (char *)(uintptr_t)t->snap;
	f[0].len = t->snap ? t->snap_len : 0;
	f[1].p = (char *)(uintptr_t)t->prev;
	f[1].len = t->prev ? t->prev_len : 0;
	f[2].p = (char *)(uintptr_t)t->journal;
	f[2].len = t->journal ? t->journal_len : 0;
	r = read_files(&c, f);
	if (r == 0) {
		/* As leasefile_load(): time never runs behind the files' last write. */
		c.st.clock_behind = c.newest > now_s;
		r = restore_all(&c, c.newest > now_s ? c.newest : now_s, fn, arg);
	}
	leaserec_map_free(&c.map);
	leaserec_pins_free(&c.pins);
	if (ret_stats)
		*ret_stats = c.st;
	return r < 0 ? r : (int)c.st.restored;
}

int leasefile_load(struct leasefile *lf, leasefile_restore_fn fn, void *arg,
		   struct leasefile_stats *ret_stats)
{
	struct lf_file f[3] = LF_FILES_INIT;
	struct lf_load c;
	uint64_t now_s, gen;
	int r = 0, i;

	memset(&c, 0, sizeof(c));
	c.dir = lf->dir;
	for (i = 0; i < 3 && r == 0; i++)
		r = file_map(lf, &f[i]);
	if (r == 0)
		r = read_files(&c, f);
	gen = max_gen(f, 3);
	for (i = 0; i < 3; i++)
		file_unmap(&f[i]);
	if (r < 0) {
		log_warnx("%s: cannot read the lease files: %s", lf->dir, strerror(-r));
		goto out;
	}
	now_s = set_anchor(lf, c.newest, &c.st);
	r = restore_all(&c, now_s, fn, arg);
	if (r == 0)
		r = restore_pins(&c, now_s, lf->pin_fn, lf->pin_arg);
	if (r < 0)
		goto out;
	lf->loaded = true;
	lf->jgen = gen;
	unlinkat(lf->dirfd, LF_SNAP_TMP, 0);
	unlinkat(lf->dirfd, LF_JOURNAL_TMP, 0);
	r = write_restored(lf, &c.map, gen + 1, now_s);
	if (r < 0) {
		lf->broken = r;
		log_warnx("%s: cannot write the lease files: %s", lf->dir, strerror(-r));
	}
	lf->recorded = false;           /* records the callback may have tried */
	log_loaded(&c);
out:
	leaserec_map_free(&c.map);
	leaserec_pins_free(&c.pins);
	if (ret_stats)
		*ret_stats = c.st;
	return r < 0 ? r : (int)c.st.restored;
}

/* ------------------------------------------------------------ set-up */

bool leasefile_file_name(const char *name)
{
	static const char *const names[] = {
		LF_SNAP, LF_SNAP_TMP, LF_JOURNAL, LF_JOURNAL_TMP, LF_JOURNAL_PREV,
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

void leasefile_set_sync(struct leasefile *lf, bool sync)
{
	if (!lf)
		return;
	lf->sync = sync;
	pthread_mutex_lock(&lf->w.mu);
	lf->w.sync = sync;
	pthread_mutex_unlock(&lf->w.mu);
}

struct leasefile *leasefile_open(const char *dir, const struct clock *mono,
				 const struct clock *wall, char *err, size_t errsz)
{
	struct leasefile *lf = calloc(1, sizeof(*lf));
	const char *what = NULL;
	int e = 0;

	if (!lf) {
		snprintf(err, errsz, "%s: out of memory", dir);
		return NULL;
	}
	lf->dirfd = lf->jfd = lf->sw.fd = -1;
	pthread_mutex_init(&lf->w.mu, NULL);
	pthread_cond_init(&lf->w.wake, NULL);
	pthread_cond_init(&lf->w.idle, NULL);
	e = -writer_init(&lf->w);
	lf->sync = true;
	lf->mono = mono;
	lf->wall = wall ? *wall : (struct clock){ wall_default_ms, NULL };
	lf->anchor_mono_ms = clock_now(mono);
	buf_init(&lf->pending, LF_PENDING_MAX);
	buf_init(&lf->sw.out, LF_SNAPBUF_MAX);
	if (e) {
		what = "cannot create the writer's eventfd";
	} else if (strlcpy_checked(lf->dir, dir, sizeof(lf->dir)) < 0) {
		what = "path too long";
	} else if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		e = errno;
		what = "cannot create the directory";
	} else if ((lf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		e = errno;
		what = "cannot open the directory";
	} else if (flock(lf->dirfd, LOCK_EX | LOCK_NB) < 0) {
		e = errno == EWOULDBLOCK ? 0 : errno;
		what = e ? "cannot lock the directory" : "in use by another igdd";
	}
	if (!what)
		return lf;
	if (e)
		snprintf(err, errsz, "%s: %s: %s", dir, what, strerror(e));
	else
		snprintf(err, errsz, "%s: %s", dir, what);
	leasefile_close(lf);
	return NULL;
}

void leasefile_close(struct leasefile *lf)
{
	if (!lf)
		return;
	writer_fini(&lf->w);            /* pending commits synced and called back */
	if (lf->sw.fd >= 0)
		snapw_abort(lf);        /* a compaction in progress starts over next time */
	if (lf->jfd >= 0)
		close(lf->jfd);
	if (lf->dirfd >= 0)
		close(lf->dirfd);
	if (lf->w.efd >= 0)
		close(lf->w.efd);
	free(lf->w.q);
	pthread_cond_destroy(&lf->w.idle);
	pthread_cond_destroy(&lf->w.wake);
	pthread_mutex_destroy(&lf->w.mu);
	buf_free(&lf->pending);
	buf_free(&lf->sw.out);
	free(lf);
}
