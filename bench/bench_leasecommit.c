/*
 * bench_leasecommit.c - what the lease commit's fdatasync costs the event
 * loop (store/leasefile.h): leasefile_commit(), which syncs on the loop,
 * against leasefile_commit_async(), whose writer thread syncs a group of
 * commits while the loop goes on.
 *
 * One process, the daemon's own loop (loop/loop.h): 1 or 8 clients each
 * refresh their mapping (one record and one commit per request, as an
 * AddPortMapping renewal is) and send the next request as soon as the
 * previous one is committed; a probe, due every PROBE_MS, stands for
 * another client's read and measures how late the loop gets to it (the
 * loop stall). fdatasync is slowed by 0, 10 or 50 ms (this file's own
 * fdatasync, the same idea as bench/slowsync.c: sleep, then the real
 * system call), as on a slow SD card or NAND flash.
 *
 * Not a test: prints one table (commits/s, fdatasyncs/s, probe lateness
 * p50 / p99 / max). Usage: bench_leasecommit [DIR] [SECONDS] (default: a
 * new directory under /tmp, removed at the end; 3 s per row).
 */
#define _GNU_SOURCE
#include "core/clock.h"
#include "core/mapping.h"
#include "loop/loop.h"
#include "store/leasefile.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS_MAX 8
#define PROBE_MS  2
#define PROBES_MAX 100000

/* ---------------------------------------------------- a slow flush */

static long delay_us;

int fdatasync(int fd);

int fdatasync(int fd)
{
	struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	return (int)syscall(SYS_fdatasync, fd);
}

/* ---------------------------------------------------------- the run */

struct run;

struct client {
	struct run *run;
	struct mapping *m;
	bool waiting;
};

struct run {
	struct loop *loop;
	struct map_table *t;
	struct leasefile *lf;
	struct clock mono;
	bool async;
	bool stopping;
	uint64_t commits, failed;
	struct client c[CLIENTS_MAX];
	uint64_t probe_due_ns;
	double late_ms[PROBES_MAX];
	size_t nprobes;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void *ctx)
{
	(void)ctx;
	return now_ns() / 1000000u;
}

static void request(struct loop *l, void *arg);

static void committed(int err, void *arg)
{
	struct client *c = arg;
	struct run *r = c->run;

	c->waiting = false;
	if (err)
		r->failed++;
	else
		r->commits++;
	if (!r->stopping && loop_timer_in(r->loop, 0, request, c) < 0)
		exit(1);
}

/* One client's request: refresh its mapping's lease, record, commit. */
static void request(struct loop *l, void *arg)
{
	struct client *c = arg;
	struct run *r = c->run;
	int e;

	(void)l;
	if (r->stopping)
		return;
	map_update(r->t, c->m, c->m->int_port, true, map_desc_dup(str_cstr("bench")),
		   map_lease_end(r->t, 3600));
	if (leasefile_record_put(r->lf, c->m) < 0)
		exit(1);
	if (!r->async) {
		committed(leasefile_commit(r->lf), c);
		return;
	}
	c->waiting = true;
	e = leasefile_commit_async(r->lf, committed, c);
	if (e != 0)
		committed(e > 0 ? 0 : e, c);
}

static void probe(struct loop *l, void *arg)
{
	struct run *r = arg;
	uint64_t now = now_ns();

	if (r->nprobes < PROBES_MAX)
		r->late_ms[r->nprobes++] = now > r->probe_due_ns ?
			(double)(now - r->probe_due_ns) / 1e6 : 0;
	if (r->stopping)
		return;
	r->probe_due_ns = now + PROBE_MS * 1000000u;
	if (loop_timer_in(l, PROBE_MS, probe, r) < 0)
		exit(1);
}

static void on_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct run *r = arg;

	(void)l;
	(void)fd;
	(void)events;
	leasefile_on_ready(r->lf);
}

static void finish(struct loop *l, void *arg)
{
	struct run *r = arg;

	r->stopping = true;
	loop_stop(l);
}

static int restore_cb(const struct mapping *m, uint32_t remaining_s, void *arg)
{
	(void)m;
	(void)remaining_s;
	(void)arg;
	return LEASEFILE_DROP;          /* every row starts empty */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : 0;
}

static void one_row(const char *dir, int clients, bool async, long delay, unsigned seconds)
{
	static struct run r;
	struct map_limits lim = { 0, 0 };
	struct leasefile_async_stats st = { 0 };
	char err[256];
	double t0, t1;
	int i;

	memset(&r, 0, sizeof(r));
	r.async = async;
	r.mono = (struct clock){ mono_ms, NULL };
	r.loop = loop_new();
	r.t = map_table_new(&lim, &r.mono);
	r.lf = leasefile_open(dir, &r.mono, NULL, err, sizeof(err));
	if (!r.loop || !r.t || !r.lf) {
		fprintf(stderr, "%s\n", r.lf ? "out of memory" : err);
		exit(1);
	}
	delay_us = 0;
	if (leasefile_load(r.lf, restore_cb, &r, NULL) < 0 ||
	    loop_fd_add(r.loop, leasefile_ready_fd(r.lf), EPOLLIN, on_ready, &r) < 0)
		exit(1);
	for (i = 0; i < clients; i++) {
		struct mapping tmpl;

		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.proto = MAP_UDP;
		tmpl.ext_port = (uint16_t)(40000 + i);
		tmpl.int_port = tmpl.ext_port;
		inet_pton(AF_INET, "192.168.1.20", &tmpl.internal_client);
		tmpl.owner = tmpl.internal_client;
		tmpl.enabled = true;
		tmpl.origin = MAP_ORIGIN_UPNP;
		tmpl.lease_end_ms = map_lease_end(r.t, 3600);
		if (map_add(r.t, &tmpl, str_cstr("bench"), &r.c[i].m) != MAP_OK)
			exit(1);
		r.c[i].run = &r;
		loop_timer_in(r.loop, 0, request, &r.c[i]);
	}
	delay_us = delay;
	r.probe_due_ns = now_ns() + PROBE_MS * 1000000u;
	loop_timer_in(r.loop, PROBE_MS, probe, &r);
	loop_timer_in(r.loop, seconds * 1000u, finish, &r);
	t0 = (double)now_ns() / 1e9;
	loop_run(r.loop);
	t1 = (double)now_ns() / 1e9;
	if (async)
		leasefile_async_stats(r.lf, &st);
	loop_fd_del(r.loop, leasefile_ready_fd(r.lf));
	leasefile_close(r.lf);          /* calls back what still waits */
	delay_us = 0;
	qsort(r.late_ms, r.nprobes, sizeof(r.late_ms[0]), cmp_double);
	printf("| %d | %-5s | %5.0f | %9.0f | %12.0f | %6.2f | %6.2f | %6.2f | %zu |\n",
	       clients, async ? "async" : "sync", (double)delay / 1000, (double)r.commits / (t1 - t0),
	       async ? (double)st.syncs / (t1 - t0) : (double)r.commits / (t1 - t0),
	       pct(r.late_ms, r.nprobes, 0.5), pct(r.late_ms, r.nprobes, 0.99),
	       pct(r.late_ms, r.nprobes, 1.0), (size_t)r.failed);
	map_table_free(r.t);
	loop_free(r.loop);
}

/* The lease files this run left in dir, then dir. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (leasefile_file_name(de->d_name))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	static const long delays[] = { 0, 10000, 50000 };
	char dir[512] = "/tmp/igdd-bench-commit-XXXXXX";
	unsigned seconds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
	bool own = argc < 2;
	size_t i;
	int n;

	log_set_level(LOG_LEVEL_WARN);
	if (!own)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else if (!mkdtemp(dir))
		return 1;
	if (seconds < 1 || seconds > 600)
		seconds = 3;
	printf("one commit in flight per client; probe every %d ms; %u s per row; %s\n\n",
	       PROBE_MS, seconds, dir);
	printf("| clients | commit | sync delay ms | commits/s | fdatasyncs/s | probe late p50 ms | p99 ms "
	       "| max ms | failed |\n|---|---|---|---|---|---|---|---|---|\n");
	for (n = 1; n <= CLIENTS_MAX; n *= CLIENTS_MAX) {
		for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
			one_row(dir, n, false, delays[i], seconds);
			one_row(dir, n, true, delays[i], seconds);
		}
	}
	if (own)
		remove_dir(dir);
	return 0;
}
