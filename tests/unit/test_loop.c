/*
 * test_loop.c - loop/: timer order and cancellation, fd readiness,
 * signals through signalfd, sockets read before overdue deadlines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/clock.h"
#include "loop/loop.h"

struct rec {
	int order[16];
	int n;
};

struct targ {
	struct rec *r;
	int id;
	int stop_after;
};

static void on_timer(struct loop *l, void *arg)
{
	struct targ *t = arg;

	t->r->order[t->r->n++] = t->id;
	if (t->r->n == t->stop_after)
		loop_stop(l);
}

static void test_timers_in_order(void **state)
{
	struct loop *l = loop_new();
	struct rec r = { .n = 0 };
	struct targ a = { &r, 1, 3 }, b = { &r, 2, 3 }, c = { &r, 3, 3 }, d = { &r, 4, 3 };
	uint64_t now = clock_monotonic_ms(NULL);
	int64_t idc;

	(void)state;
	assert_non_null(l);
	assert_true(loop_timer_at(l, now + 30, on_timer, &c) > 0);
	assert_true(loop_timer_at(l, now + 10, on_timer, &a) > 0);
	idc = loop_timer_at(l, now + 15, on_timer, &d);
	assert_true(loop_timer_at(l, now + 20, on_timer, &b) > 0);
	loop_timer_cancel(l, idc);
	loop_timer_cancel(l, 9999);     /* unknown id: harmless */
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.order[0], 1);
	assert_int_equal(r.order[1], 2);
	assert_int_equal(r.order[2], 3);
	loop_free(l);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	char c;
	int *got = arg;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	*got = c;
	loop_stop(l);
}

static void test_fd_ready(void **state)
{
	struct loop *l = loop_new();
	int p[2], got = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_fd_add(l, p[0], EPOLLIN, on_readable, &got), 0);
	assert_int_equal(loop_fd_add(l, p[0], EPOLLIN, on_readable, &got), -22);  /* twice: -EINVAL */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(got, 'x');
	loop_fd_del(l, p[0]);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

struct race {
	int64_t deadline;
	int read_first;         /* the fd's callback ran before the deadline's */
	int fired;
};

static void on_deadline(struct loop *l, void *arg)
{
	struct race *r = arg;

	r->fired = 1;
	loop_stop(l);
}

static void on_answer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct race *r = arg;
	char c;

	(void)events;
	assert_int_equal(read(fd, &c, 1), 1);
	if (!r->fired) {
		r->read_first = 1;
		loop_timer_cancel(l, r->deadline);     /* the answer came in time */
	}
	loop_stop(l);
}

/* An answer already waiting when its deadline is overdue wins. */
static void test_fd_before_overdue_timer(void **state)
{
	struct loop *l = loop_new();
	struct race r = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_fd_add(l, p[0], EPOLLIN, on_answer, &r), 0);
	r.deadline = loop_timer_at(l, clock_monotonic_ms(NULL), on_deadline, &r);
	assert_true(r.deadline > 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.read_first, 1);
	assert_int_equal(r.fired, 0);
	/* Nothing readable: the overdue deadline fires. */
	r = (struct race){ 0 };
	r.deadline = loop_timer_at(l, clock_monotonic_ms(NULL), on_deadline, &r);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.fired, 1);
	assert_int_equal(r.read_first, 0);
	loop_fd_del(l, p[0]);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	*(int *)arg = signo;
	loop_stop(l);
}

static void test_signal(void **state)
{
	struct loop *l = loop_new();
	int got = 0;

	(void)state;
	assert_int_equal(loop_signal_add(l, SIGUSR1, on_signal, &got), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(got, SIGUSR1);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_fd_ready),
		cmocka_unit_test(test_fd_before_overdue_timer),
		cmocka_unit_test(test_signal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
