/*
 * bench_leasefile.c - what lease persistence (store/leasefile.h) costs an
 * AddPortMapping / DeletePortMapping (WANIPConnection:2 2.5.16, 2.5.18):
 * the table change, its journal record and the per-action commit, with
 * and without the fdatasync, at 100 and 65,535 entries; the compactions
 * this work triggers run as the loop would run them (leasefile_tick())
 * and are counted in; then the full compaction, the incremental one and
 * the load at 131,070 entries.
 *
 * Not a test: prints one table. Usage: bench_leasefile [DIR] (default: a
 * new directory under /tmp, removed at the end). The numbers are the
 * disk's as much as the code's: the file system is printed with them.
 */
#include "core/clock.h"
#include "core/mapping.h"
#include "store/leasefile.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

struct bench {
	char dir[512];
	struct clock mono;
	struct map_table *t;
	struct leasefile *lf;
	double tick_max;                /* longest leasefile_tick(), s */
	size_t ticks;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int restore_cb(const struct mapping *m, uint32_t remaining_s, void *arg)
{
	struct bench *b = arg;
	struct mapping tmpl = *m;

	tmpl.lease_end_ms = map_lease_end(b->t, remaining_s);
	return map_add(b->t, &tmpl, str_cstr(m->desc), NULL) == MAP_OK ? LEASEFILE_KEEP
								      : LEASEFILE_DROP;
}

static void open_files(struct bench *b)
{
	struct map_limits lim = { 0, 0 };
	char err[256];

	b->t = map_table_new(&lim, &b->mono);
	b->lf = leasefile_open(b->dir, &b->mono, NULL, err, sizeof(err));
	if (!b->t || !b->lf) {
		fprintf(stderr, "%s\n", b->lf ? "out of memory" : err);
		exit(1);
	}
	if (leasefile_load(b->lf, restore_cb, b, NULL) < 0) {
		fprintf(stderr, "leasefile_load failed\n");
		exit(1);
	}
}

static void close_files(struct bench *b)
{
	leasefile_close(b->lf);
	b->lf = NULL;
	map_table_free(b->t);
	b->t = NULL;
}

static void remove_files(const char *dir)
{
	static const char *const names[] = { "leases.snap", "leases.journal",
					     "leases.journal.prev", "leases.snap.tmp",
					     "leases.journal.tmp" };
	char path[600];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
}

/* Entry i of a table of n: TCP first, then UDP, 250 clients. */
static struct mapping entry(uint32_t i)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.proto = (uint8_t)(i / 65535);
	m.ext_port = (uint16_t)(i % 65535 + 1);
	m.int_port = m.ext_port;
	m.internal_client.s_addr = htonl(0xc0a80100u + 1 + i % 250);
	m.owner = m.internal_client;
	m.enabled = true;
	m.origin = MAP_ORIGIN_UPNP;
	return m;
}

/* An AddPortMapping as portmap.c does it: table, record, commit. */
static void add_one(struct bench *b, uint32_t i)
{
	struct mapping tmpl = entry(i), *m;

	tmpl.lease_end_ms = map_lease_end(b->t, 3600);
	if (map_add(b->t, &tmpl, STR_LIT("bench mapping, a typical description"), &m) != MAP_OK ||
	    leasefile_record_put(b->lf, m) < 0 || leasefile_commit(b->lf) < 0) {
		fprintf(stderr, "add %u failed\n", i);
		exit(1);
	}
}

static void delete_one(struct bench *b, uint32_t i)
{
	struct mapping key = entry(i), *m = map_find(b->t, key.proto, key.ext_port,
						     key.remote_host);

	if (!m || leasefile_record_delete(b->lf, m) < 0) {
		fprintf(stderr, "delete %u failed\n", i);
		exit(1);
	}
	map_remove(b->t, m);
	if (leasefile_commit(b->lf) < 0) {
		fprintf(stderr, "commit failed\n");
		exit(1);
	}
}

/* What the loop does between requests. */
static void tick(struct bench *b)
{
	uint64_t due = leasefile_next_deadline(b->lf);
	double t0, dt;

	if (!due || due > clock_now(&b->mono))
		return;
	t0 = now_s();
	leasefile_tick(b->lf, b->t);
	dt = now_s() - t0;
	if (dt > b->tick_max)
		b->tick_max = dt;
	b->ticks++;
}

/* A table of n entries, written, then compacted: the steady state. */
static void build(struct bench *b, uint32_t n)
{
	uint32_t i;

	remove_files(b->dir);
	open_files(b);
	leasefile_set_sync(b->lf, false);
	for (i = 0; i < n; i++)
		add_one(b, i);
	if (leasefile_compact(b->lf, b->t) < 0) {
		fprintf(stderr, "compaction failed\n");
		exit(1);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One window of k deletes then k adds on b (about n entries); the time
 * of each add into adds[], of the deletes into *t_del. */
static void window(struct bench *b, uint32_t n, uint32_t k, size_t round, double *adds,
		   double *t_del)
{
	uint32_t w = (uint32_t)((round * 7919u) % (n - k + 1)), j;
	double t0 = now_s();

	for (j = 0; j < k; j++) {
		delete_one(b, w + j);
		tick(b);
	}
	*t_del += now_s() - t0;
	for (j = 0; j < k; j++) {
		t0 = now_s();
		add_one(b, w + j);
		tick(b);
		adds[j] = now_s() - t0;
	}
}

static void report(const char *what, uint32_t n, double *adds, size_t ops, double t_del,
		   const struct bench *b)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < ops; i++)
		sum += adds[i];
	qsort(adds, ops, sizeof(*adds), cmp_double);
	printf("%-22s %7u %10.1f %8.1f %8.1f %9.0f %10.1f %6zu %8.1f\n", what, n,
	       sum / (double)ops * 1e6, adds[ops / 2] * 1e6, adds[ops * 99 / 100] * 1e6,
	       (double)ops / sum, t_del / (double)ops * 1e6, b->ticks, b->tick_max * 1e3);
}

/*
 * ops deletes and as many adds on a table of 100 and one of 65,535
 * entries, in alternating windows of 10 and 100 changes (each one
 * action) so that both see the same disk, the loop's ticks in between.
 */
static void run_changes(struct bench *small, struct bench *big, bool sync, size_t ops)
{
	double *a_small = calloc(ops + 100, sizeof(double));
	double *a_big = calloc(ops + 100, sizeof(double));
	double d_small = 0, d_big = 0;
	size_t done_small = 0, done_big = 0, round = 0;
	const char *what = sync ? "commit + fdatasync" : "commit, no fdatasync";

	if (!a_small || !a_big)
		exit(1);
	build(small, 100);
	build(big, 65535);
	leasefile_set_sync(small->lf, sync);
	leasefile_set_sync(big->lf, sync);
	small->tick_max = big->tick_max = 0;
	small->ticks = big->ticks = 0;
	while (done_small < ops || done_big < ops) {
		if (round % 11 < 10 && done_small < ops) {      /* 10 windows of 10 ... */
			window(small, 100, 10, round, a_small + done_small, &d_small);
			done_small += 10;
		} else if (done_big < ops) {                     /* ... per window of 100 */
			window(big, 65535, 100, round, a_big + done_big, &d_big);
			done_big += 100;
		}
		round++;
	}
	report(what, 100, a_small, done_small, d_small, small);
	report(what, 65535, a_big, done_big, d_big, big);
	close_files(small);
	close_files(big);
	free(a_small);
	free(a_big);
}

static void run_131070(struct bench *b)
{
	double t0, t_full, t_inc, t_load;
	size_t steps = 0;
	struct stat st;
	char path[600];

	build(b, 131070);
	t0 = now_s();
	if (leasefile_compact(b->lf, b->t) < 0)
		exit(1);
	t_full = now_s() - t0;
	snprintf(path, sizeof(path), "%s/leases.snap", b->dir);
	if (stat(path, &st) < 0)
		exit(1);
	/* The incremental one: enough journal to want it, then tick. */
	leasefile_set_sync(b->lf, false);
	while (!leasefile_next_deadline(b->lf)) {
		delete_one(b, 7);
		add_one(b, 7);
	}
	b->tick_max = 0;
	t0 = now_s();
	while (leasefile_next_deadline(b->lf)) {
		tick(b);
		steps++;
	}
	t_inc = now_s() - t0;
	close_files(b);
	t0 = now_s();
	open_files(b);
	t_load = now_s() - t0;
	printf("\nat 131070 entries (snapshot %.1f MB):\n", (double)st.st_size / 1e6);
	printf("  full compaction (leasefile_compact)         %8.1f ms\n", t_full * 1e3);
	printf("  incremental compaction: %3zu ticks, total    %8.1f ms, longest tick %.1f ms\n",
	       steps, t_inc * 1e3, b->tick_max * 1e3);
	printf("  start-up load (read, restore into the table, rewrite) %8.1f ms\n",
	       t_load * 1e3);
	close_files(b);
}

static const char *fs_name(const char *dir)
{
	struct statfs s;

	if (statfs(dir, &s) < 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case 0xef53: return "ext2/3/4";
	case 0x01021994: return "tmpfs";
	case 0x58465342: return "xfs";
	case 0x9123683e: return "btrfs";
	case 0x794c7630: return "overlayfs";
	case 0x24051905: return "ubifs";
	case 0x73717368: return "squashfs";
	case 0x4d44: return "vfat";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	struct bench small, big;
	char top[512];
	bool own_dir = argc < 2;

	memset(&small, 0, sizeof(small));
	memset(&big, 0, sizeof(big));
	log_init("bench_leasefile", 1, 0);
	small.mono = big.mono = (struct clock){ clock_monotonic_ms, NULL };
	if (own_dir) {
		snprintf(top, sizeof(top), "/tmp/igdd-bench-lease-XXXXXX");
		if (!mkdtemp(top))
			return 1;
	} else {
		snprintf(top, sizeof(top), "%s", argv[1]);
	}
	snprintf(small.dir, sizeof(small.dir), "%.400s/small", top);
	snprintf(big.dir, sizeof(big.dir), "%.400s/big", top);
	/* The loads' log lines are not the benchmark's output. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	printf("lease files in %s (%s)\n\n", top, fs_name(top));
	printf("%-22s %7s %10s %8s %8s %9s %10s %6s %8s\n", "", "entries", "add us/op",
	       "p50", "p99", "adds/s", "delete us", "ticks", "max ms");
	run_changes(&small, &big, true, 3000);
	run_changes(&small, &big, false, 300000);
	run_131070(&big);
	remove_files(small.dir);
	remove_files(big.dir);
	rmdir(small.dir);
	rmdir(big.dir);
	if (own_dir)
		rmdir(top);
	return 0;
}
