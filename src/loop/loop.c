/*
 * loop.c - epoll, timer heap, signalfd.
 */
#include "loop/loop.h"

#include "core/clock.h"
#include "util/log.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define LOOP_MAX_FDS 65536         /* fds above are refused */
#define LOOP_MIN_FDS 64
#define LOOP_MAX_SIGNALS 8

struct loop_fd {
	loop_fd_fn cb;                  /* NULL: slot free */
	void *arg;
};

struct loop_timer {
	uint64_t when;
	int64_t id;
	loop_timer_fn cb;
	void *arg;
};

struct loop_sig {
	int signo;
	loop_signal_fn cb;
	void *arg;
};

struct loop {
	int epfd;
	int sigfd;
	sigset_t sigmask;
	int stop;
	struct loop_fd *fds;            /* indexed by fd, grown on demand */
	size_t nfds;
	struct loop_timer *heap;
	size_t nheap, capheap;
	int64_t next_id;
	struct loop_sig sigs[LOOP_MAX_SIGNALS];
	size_t nsigs;
	loop_prepare_fn prepare;
	void *prepare_arg;
};

/* The slot of fd, or NULL when fd is not in the loop. */
static struct loop_fd *loop_fd_get(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].cb)
		return NULL;
	return &l->fds[fd];
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->next_id = 1;
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	free(l->fds);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l->heap);
	free(l);
}

int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_fn cb, void *arg)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || fd >= LOOP_MAX_FDS || !cb || loop_fd_get(l, fd))
		return -EINVAL;
	if ((size_t)fd >= l->nfds) {
		size_t n = l->nfds ? l->nfds : LOOP_MIN_FDS;
		struct loop_fd *grown;

		while (n <= (size_t)fd)
			n *= 2;
		grown = realloc(l->fds, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + l->nfds, 0, (n - l->nfds) * sizeof(*grown));
		l->fds = grown;
		l->nfds = n;
	}
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->fds[fd].cb = cb;
	l->fds[fd].arg = arg;
	return 0;
}

int loop_fd_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (!loop_fd_get(l, fd))
		return -EINVAL;
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_fd_del(struct loop *l, int fd)
{
	struct loop_fd *f = loop_fd_get(l, fd);

	if (!f)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	f->cb = NULL;
	f->arg = NULL;
}

void loop_fd_forget(struct loop *l, int fd)
{
	struct loop_fd *f = loop_fd_get(l, fd);

	if (!f)
		return;
	f->cb = NULL;
	f->arg = NULL;
}

static void heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (l->heap[p].when <= l->heap[i].when)
			break;
		heap_swap(l, p, i);
		i = p;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->nheap && l->heap[c].when < l->heap[m].when)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1].when < l->heap[m].when)
			m = c + 1;
		if (m == i)
			break;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_remove_at(struct loop *l, size_t i)
{
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	heap_down(l, i);
	heap_up(l, i);
}

int64_t loop_timer_at(struct loop *l, uint64_t when_ms, loop_timer_fn cb, void *arg)
{
	if (l->nheap == l->capheap) {
		size_t ncap = l->capheap ? l->capheap * 2 : 64;
		struct loop_timer *nh = realloc(l->heap, ncap * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		l->heap = nh;
		l->capheap = ncap;
	}
	l->heap[l->nheap] = (struct loop_timer){ when_ms, l->next_id, cb, arg };
	heap_up(l, l->nheap);
	l->nheap++;
	return l->next_id++;
}

int64_t loop_timer_in(struct loop *l, uint64_t delay_ms, loop_timer_fn cb, void *arg)
{
	return loop_timer_at(l, clock_monotonic_ms(NULL) + delay_ms, cb, arg);
}

void loop_timer_cancel(struct loop *l, int64_t id)
{
	size_t i;

	/* Linear, but the heap holds a handful of timers (announce, leases,
	 * delayed SSDP answers bounded by IGDD_SSDP_MAX_PENDING). */
	for (i = 0; i < l->nheap; i++) {
		if (l->heap[i].id == id) {
			heap_remove_at(l, i);
			return;
		}
	}
}

void loop_timer_clear(struct loop *l, int64_t *id)
{
	if (*id > 0)
		loop_timer_cancel(l, *id);
	*id = 0;
}

void loop_timer_set_at(struct loop *l, int64_t *id, uint64_t when_ms, loop_timer_fn cb, void *arg)
{
	loop_timer_clear(l, id);
	*id = loop_timer_at(l, when_ms, cb, arg);
}

void loop_timer_set_in(struct loop *l, int64_t *id, uint64_t delay_ms, loop_timer_fn cb, void *arg)
{
	loop_timer_clear(l, id);
	*id = loop_timer_in(l, delay_ms, cb, arg);
}

static void loop_on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	size_t i;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < l->nsigs; i++)
			if (l->sigs[i].signo == (int)si.ssi_signo)
				l->sigs[i].cb(l, (int)si.ssi_signo, l->sigs[i].arg);
	}
}

int loop_signal_add(struct loop *l, int signo, loop_signal_fn cb, void *arg)
{
	int fd;

	if (l->nsigs >= LOOP_MAX_SIGNALS)
		return -ENOSPC;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		int r = loop_fd_add(l, fd, EPOLLIN, loop_on_signal, NULL);

		if (r < 0) {
			close(fd);
			return r;
		}
		l->sigfd = fd;
	}
	l->sigs[l->nsigs++] = (struct loop_sig){ signo, cb, arg };
	return 0;
}

void loop_set_prepare(struct loop *l, loop_prepare_fn cb, void *arg)
{
	l->prepare = cb;
	l->prepare_arg = arg;
}

uint64_t loop_now_ms(const struct loop *l)
{
	(void)l;
	return clock_monotonic_ms(NULL);
}

static void loop_run_timers(struct loop *l)
{
	uint64_t now = clock_monotonic_ms(NULL);
	size_t budget = l->nheap;    /* timers added while running wait a turn */

	while (l->nheap > 0 && budget-- > 0 && l->heap[0].when <= now) {
		struct loop_timer t = l->heap[0];

		heap_remove_at(l, 0);
		t.cb(l, t.arg);
	}
}

static bool loop_timers_due(const struct loop *l)
{
	return l->nheap > 0 && l->heap[0].when <= clock_monotonic_ms(NULL);
}

/* One epoll_wait and the callbacks of what it returned: n >= 0 or -errno. */
static int loop_poll(struct loop *l, int timeout)
{
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(l->epfd, evs, 64, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		struct loop_fd *f = loop_fd_get(l, fd);

		/* f may move if the callback adds an fd: not used after. */
		if (f)
			f->cb(l, fd, evs[i].events, f->arg);
	}
	return n;
}

/*
 * Sockets before deadlines: when timers are due (after a callback that
 * took long, or a process that was not scheduled for a while), what is
 * already readable is handled first, so that an answer which arrived
 * before its deadline is never taken for a timeout only because the
 * loop looked at the clock before it looked at the socket.
 */
int loop_run(struct loop *l)
{
	l->stop = 0;
	while (!l->stop) {
		int timeout = -1, r;

		if (loop_timers_due(l)) {
			r = loop_poll(l, 0);
			if (r < 0)
				return r;
			if (l->stop)
				break;
			loop_run_timers(l);
			if (l->stop)
				break;
		}
		if (l->nheap > 0) {
			uint64_t now = clock_monotonic_ms(NULL);
			uint64_t when = l->heap[0].when;

			timeout = when <= now ? 0 : (when - now > 60000 ? 60000 : (int)(when - now));
		}
		if (l->prepare) {
			int t = l->prepare(l, l->prepare_arg);

			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		r = loop_poll(l, timeout);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}
