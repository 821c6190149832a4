/*
 * gena_io.c - the GENA NOTIFY sender (UPnP Device Architecture 1.1
 * section 4.3.2; see gena_io.h): non-blocking connects with deadlines,
 * one connection per delivery, URLs tried in order, and the subscription
 * expiry timer.
 *
 * The manager's notify hook only arms a zero-delay "kick" timer: the
 * hook fires from inside gena_* calls (a SOAP action's engine_changed(),
 * an HTTP request), and pulling deliveries there would re-enter the
 * manager. The kick pulls deliveries while connections are free and
 * re-arms the expiry timer.
 */
#include "net/gena_io.h"

#include "engine.h"
#include "loop/loop.h"
#include "proto/gena.h"
#include "svc/gena.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define GENA_IO_STATUS_MAX 256          /* bytes read looking for the status line */

enum gena_conn_state { GENA_CONN_CONNECTING, GENA_CONN_SENDING, GENA_CONN_READING };

struct gena_conn {
	struct gena_io *io;
	int fd;                         /* -1 between attempts */
	enum gena_conn_state state;
	struct gena_delivery d;
	unsigned target;                /* index into d.t being tried */
	size_t sent;
	char rbuf[GENA_IO_STATUS_MAX];
	size_t rlen;
	int64_t timer;                  /* deadline of this attempt (0: none) */
};

struct gena_io {
	struct gena *g;
	struct engine *e;
	struct loop *l;
	struct gena_io_params p;
	struct gena_conn **conns;       /* p.max_conns slots */
	unsigned nconns;
	int64_t kick_timer;
	int64_t expiry_timer;
	uint64_t expiry_when;           /* engine clock; 0: no timer */
};

static void conn_attempt(struct gena_conn *c);
static void io_schedule(struct gena_io *io);

void gena_io_params_default(struct gena_io_params *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->connect_timeout_ms = 2000;
	ret->response_timeout_ms = 5000;
	ret->max_conns = IGDD_GENA_MAX_SUBSCRIPTIONS;
}

unsigned gena_io_active(const struct gena_io *io)
{
	return io->nconns;
}

static const char *target_text(const struct gena_conn *c, char *out, size_t outsz)
{
	const struct gena_target *t = &c->d.t[c->target];
	char ip[IPADDR_STRLEN];

	if (ipaddr_url_host(&t->addr, ip, sizeof(ip)) < 0)
		snprintf(ip, sizeof(ip), "?");
	snprintf(out, outsz, "%s:%u", ip, (unsigned)t->port);
	return out;
}

/* Close the current attempt's socket and timer. */
static void conn_close(struct gena_conn *c)
{
	if (c->timer > 0)
		loop_timer_cancel(c->io->l, c->timer);
	c->timer = 0;
	if (c->fd >= 0) {
		loop_fd_del(c->io->l, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	c->sent = 0;
	c->rlen = 0;
}

/* The delivery is over: report it, free the connection, let others go. */
static void conn_finish(struct gena_conn *c, bool delivered)
{
	struct gena_io *io = c->io;
	unsigned i;

	conn_close(c);
	for (i = 0; i < io->nconns; i++) {
		if (io->conns[i] == c) {
			io->conns[i] = io->conns[--io->nconns];
			io->conns[io->nconns] = NULL;
			break;
		}
	}
	gena_delivery_done(io->g, c->d.sub_id, delivered);
	gena_delivery_free(&c->d);
	free(c);
	io_schedule(io);
}

/* This URL failed: on to the next one (or the delivery failed). */
static void conn_next(struct gena_conn *c, const char *why)
{
	char t[IPADDR_STRLEN + 8];

	log_debug("gena: %s SEQ %u to %s: %s", c->d.sid, (unsigned)c->d.seq,
		  target_text(c, t, sizeof(t)), why);
	conn_close(c);
	c->target++;
	conn_attempt(c);
}

static void conn_on_timer(struct loop *l, void *arg)
{
	struct gena_conn *c = arg;

	(void)l;
	c->timer = 0;
	conn_next(c, c->state == GENA_CONN_CONNECTING ? "connect timed out" : "no answer in time");
}

static bool conn_arm(struct gena_conn *c, unsigned ms)
{
	int64_t id;

	if (c->timer > 0)
		loop_timer_cancel(c->io->l, c->timer);
	c->timer = 0;
	id = loop_timer_in(c->io->l, ms, conn_on_timer, c);
	if (id < 0)
		return false;
	c->timer = id;
	return true;
}

static void conn_send(struct gena_conn *c)
{
	const struct gena_target *t = &c->d.t[c->target];

	while (c->sent < t->len) {
		ssize_t n = send(c->fd, t->req + c->sent, t->len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_next(c, strerror(n < 0 ? errno : EPIPE));
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = GENA_CONN_READING;
	if (loop_fd_mod(c->io->l, c->fd, EPOLLIN) < 0)
		conn_next(c, "cannot wait for the answer");
}

static void conn_read(struct gena_conn *c)
{
	ssize_t n;
	int st;

	for (;;) {
		n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_next(c, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_next(c, "closed without a status line");
			return;
		}
		c->rlen += (size_t)n;
		st = gena_parse_status_line(c->rbuf, c->rlen);
		if (st > 0) {
			if (st < 200 || st > 299)
				log_debug("gena: %s SEQ %u: subscriber answered %d", c->d.sid,
					  (unsigned)c->d.seq, st);
			conn_finish(c, true);
			return;
		}
		if (st == -EINVAL || c->rlen == sizeof(c->rbuf)) {
			conn_next(c, "not an HTTP answer");
			return;
		}
	}
}

static bool conn_connected(int fd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	return getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
}

static void conn_on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct gena_conn *c = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)l;
	(void)events;
	if (fd != c->fd)
		return;
	switch (c->state) {
	case GENA_CONN_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_next(c, strerror(err));
			return;
		}
		/* A stale event (the fd number was reused within one epoll
		 * batch) must not pass for a finished connect. */
		if (!conn_connected(fd))
			return;
		c->state = GENA_CONN_SENDING;
		if (!conn_arm(c, c->io->p.response_timeout_ms)) {
			conn_next(c, "cannot arm a timer");
			return;
		}
		conn_send(c);
		return;
	case GENA_CONN_SENDING:
		conn_send(c);
		return;
	default:
		conn_read(c);
		return;
	}
}

/* Open a connection to target c->target, or to the next that works. */
static int conn_open(struct gena_conn *c)
{
	const struct gena_target *t = &c->d.t[c->target];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, r;

	/* Defence in depth: the manager admits hosts of the subscriber's LAN only. */
	if (!engine_lan_host(c->io->e, c->d.lan, &t->addr))
		return -EACCES;
	sslen = ipaddr_to_sockaddr(&t->addr, t->port, &ss);
	fd = socket(t->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	c->fd = fd;
	r = connect(fd, (const struct sockaddr *)&ss, sslen);
	if (r == 0) {
		c->state = GENA_CONN_SENDING;
	} else if (errno == EINPROGRESS) {
		c->state = GENA_CONN_CONNECTING;
	} else {
		r = -errno;
		goto fail;
	}
	r = loop_fd_add(c->io->l, fd, EPOLLOUT, conn_on_fd, c);
	if (r < 0)
		goto fail;
	if (!conn_arm(c, c->state == GENA_CONN_CONNECTING ? c->io->p.connect_timeout_ms
							  : c->io->p.response_timeout_ms)) {
		loop_fd_del(c->io->l, fd);
		r = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	close(fd);
	c->fd = -1;
	return r;
}

static void conn_attempt(struct gena_conn *c)
{
	char t[IPADDR_STRLEN + 8];
	int r;

	for (; c->target < c->d.ntargets; c->target++) {
		r = conn_open(c);
		if (r == 0)
			return;         /* conn_on_fd sends once writable */
		log_debug("gena: %s SEQ %u to %s: %s", c->d.sid, (unsigned)c->d.seq,
			  target_text(c, t, sizeof(t)), strerror(-r));
	}
	conn_finish(c, false);
}

/* ---- kick and expiry ---------------------------------------------------- */

static void io_on_expiry(struct loop *l, void *arg);

/* Keep one timer at the manager's next deadline. */
static void io_arm_expiry(struct gena_io *io)
{
	uint64_t next = gena_next_deadline(io->g), now;
	int64_t id;

	if (next == io->expiry_when && (next == 0 || io->expiry_timer > 0))
		return;
	if (io->expiry_timer > 0)
		loop_timer_cancel(io->l, io->expiry_timer);
	io->expiry_timer = 0;
	io->expiry_when = 0;
	if (next == 0)
		return;
	/* The deadline is on the engine's clock; the loop counts its own. */
	now = clock_now(&io->e->clock);
	id = loop_timer_in(io->l, next > now ? next - now : 0, io_on_expiry, io);
	if (id < 0) {
		log_warnx("gena: cannot arm the expiry timer: %s", strerror((int)-id));
		return;
	}
	io->expiry_timer = id;
	io->expiry_when = next;
}

static void io_on_expiry(struct loop *l, void *arg)
{
	struct gena_io *io = arg;

	(void)l;
	io->expiry_timer = 0;
	io->expiry_when = 0;
	gena_tick(io->g);
	io_arm_expiry(io);
}

static void io_start(struct gena_io *io, struct gena_delivery *d)
{
	struct gena_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		gena_delivery_done(io->g, d->sub_id, false);
		gena_delivery_free(d);
		return;
	}
	c->io = io;
	c->fd = -1;
	c->d = *d;                      /* the requests are the connection's now */
	io->conns[io->nconns++] = c;
	conn_attempt(c);
}

static void io_on_kick(struct loop *l, void *arg)
{
	struct gena_io *io = arg;
	struct gena_delivery d;

	(void)l;
	io->kick_timer = 0;
	while (io->nconns < io->p.max_conns && gena_next_delivery(io->g, &d) > 0)
		io_start(io, &d);
	io_arm_expiry(io);
}

static void io_schedule(struct gena_io *io)
{
	int64_t id;

	if (io->kick_timer > 0)
		return;
	id = loop_timer_in(io->l, 0, io_on_kick, io);
	if (id < 0)
		log_warnx("gena: cannot schedule event delivery: %s", strerror((int)-id));
	else
		io->kick_timer = id;
}

static void io_on_notify(void *arg)
{
	io_schedule(arg);
}

struct gena_io *gena_io_new(struct gena *g, struct engine *e, struct loop *l,
			    const struct gena_io_params *p)
{
	struct gena_io *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	io->g = g;
	io->e = e;
	io->l = l;
	if (p)
		io->p = *p;
	else
		gena_io_params_default(&io->p);
	if (io->p.max_conns == 0)
		io->p.max_conns = 1;
	io->conns = calloc(io->p.max_conns, sizeof(*io->conns));
	if (!io->conns) {
		free(io);
		return NULL;
	}
	gena_set_notify(g, io_on_notify, io);
	io_schedule(io);                /* subscriptions may exist already */
	return io;
}

void gena_io_free(struct gena_io *io)
{
	if (!io)
		return;
	gena_set_notify(io->g, NULL, NULL);
	while (io->nconns > 0)
		conn_finish(io->conns[io->nconns - 1], false);
	if (io->kick_timer > 0)
		loop_timer_cancel(io->l, io->kick_timer);
	if (io->expiry_timer > 0)
		loop_timer_cancel(io->l, io->expiry_timer);
	free(io->conns);
	free(io);
}
