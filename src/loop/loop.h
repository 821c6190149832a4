/*
 * loop.h - the one epoll loop that runs the engine: file descriptors,
 * timers (a binary min-heap on monotonic milliseconds) and signals
 * (signalfd). Nothing registered here may block.
 */
#ifndef IGDD_LOOP_H
#define IGDD_LOOP_H

#include <stdint.h>

struct loop;

typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct loop *l, void *arg);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* events: EPOLLIN/EPOLLOUT/... Returns 0 or -errno. */
int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_fn cb, void *arg);
int loop_fd_mod(struct loop *l, int fd, uint32_t events);
void loop_fd_del(struct loop *l, int fd);
/* The same for an fd about to be closed (and not shared with another
 * process or descriptor): close() takes it out of the epoll set, so no
 * system call is made here. */
void loop_fd_forget(struct loop *l, int fd);

/*
 * Run cb once at monotonic time when_ms. Returns a timer id (> 0) or
 * -errno. Cancelling an id that already fired is harmless.
 */
int64_t loop_timer_at(struct loop *l, uint64_t when_ms, loop_timer_fn cb, void *arg);
int64_t loop_timer_in(struct loop *l, uint64_t delay_ms, loop_timer_fn cb, void *arg);
void loop_timer_cancel(struct loop *l, int64_t id);
/* The timer *id holds (> 0), if any, cancelled; *id = 0. */
void loop_timer_clear(struct loop *l, int64_t *id);
/* *id's timer (cancelled first, if any) set for when_ms / delay_ms. */
void loop_timer_set_at(struct loop *l, int64_t *id, uint64_t when_ms, loop_timer_fn cb, void *arg);
void loop_timer_set_in(struct loop *l, int64_t *id, uint64_t delay_ms, loop_timer_fn cb, void *arg);

/* Blocks the signal and delivers it through signalfd. */
int loop_signal_add(struct loop *l, int signo, loop_signal_fn cb, void *arg);

/* Hook run before every epoll_wait; returns a wait bound in ms (-1: none). */
typedef int (*loop_prepare_fn)(struct loop *l, void *arg);
void loop_set_prepare(struct loop *l, loop_prepare_fn cb, void *arg);

uint64_t loop_now_ms(const struct loop *l);
int loop_run(struct loop *l);      /* until loop_stop(); 0 or -errno */
void loop_stop(struct loop *l);

#endif
