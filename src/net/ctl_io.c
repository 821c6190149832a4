/*
 * ctl_io.c - the control socket's I/O (see ctl_io.h): listening,
 * credentials, request lines in, answers out, limits. Nothing blocks:
 * every socket is non-blocking and a connection that cannot be written
 * waits for EPOLLOUT while it reads nothing more. A request that comes
 * while a mapping change is under way (engine_tx.h) waits for its turn
 * in the engine's queue, reading nothing more meanwhile (a full queue:
 * 503 busy), then runs; what it changes completes before its answer.
 */
#define _GNU_SOURCE             /* struct ucred, accept4 */

#include "net/ctl_io.h"

#include "engine.h"
#include "engine_tx.h"
#include "loop/loop.h"
#include "proto/ctl.h"
#include "svc/ctl.h"
#include "util/buf.h"
#include "util/fdpass.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/ratelimit.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_ACCEPT_BATCH 16     /* accepts per wake-up */

struct ctl_conn {
	struct ctl_io *io;
	int fd;                         /* -1: free slot */
	int64_t timer;
	char in[IGDD_CTL_MAX_LINE + 1];
	size_t inlen;
	struct buf out;
	size_t sent;
	bool more;                      /* ctl_more() has more to write */
	bool eof;                       /* the peer has sent everything */
	bool closing;                   /* close once out is sent */
	struct engine_waiter w;         /* waiting for its turn (engine_tx.h) */
	struct ctl_session s;
};

struct ctl_io {
	struct engine *e;
	struct loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_conn conns[IGDD_CTL_MAX_CLIENTS];
	unsigned nconns;
	unsigned timeout_ms;            /* a connection's whole life */
	struct ratelimit rl_refused;
};

/* ------------------------------------------------------------ connections */

static void conn_close(struct ctl_conn *c)
{
	if (c->fd < 0)
		return;
	engine_tx_unwait(c->io->e, &c->w);
	loop_fd_del(c->io->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	ctl_session_fini(&c->s);
	if (c->timer > 0)
		loop_timer_cancel(c->io->loop, c->timer);
	c->timer = 0;
	buf_free(&c->out);
	c->io->nconns--;
}

/* A short answer to a peer that will not be served; never waits. */
static void say_and_close(int fd, int code, const char *text)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "error %d %s\n", code, text);

	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control socket: %s", strerror(errno));
	close(fd);
}

/* Process buffered lines while nothing is waiting to be written. */
static void conn_run(struct ctl_conn *c)
{
	while (c->out.len == 0 && !c->closing) {
		char *nl;
		size_t len;

		if (c->more) {
			c->more = ctl_more(&c->s, &c->out) == 1;
			continue;
		}
		nl = memchr(c->in, '\n', c->inlen);
		if (!nl && c->eof && c->inlen > 0)
			nl = c->in + c->inlen;          /* the last line, without newline */
		if (!nl) {
			if (c->inlen > IGDD_CTL_MAX_LINE) {
				ctl_error(&c->out, CTL_E_TOO_LONG, "request line longer than %u bytes",
					  (unsigned)IGDD_CTL_MAX_LINE);
				c->closing = true;
			} else if (c->eof) {
				c->closing = true;
			}
			break;
		}
		len = (size_t)(nl - c->in);
		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		if (engine_tx_busy(c->io->e)) {
			struct ipaddr local;

			memset(&local, 0, sizeof(local));       /* every admin: one share */
			if (engine_tx_wait(c->io->e, &c->w, &local) == 0)
				break;                  /* run at its turn (on_turn()) */
			ctl_error(&c->out, CTL_E_UNAVAILABLE, "busy: too many changes waiting");
		} else {
			c->more = ctl_handle(&c->s, c->in, len, &c->out) == 1;
		}
		len = nl < c->in + c->inlen ? (size_t)(nl - c->in) + 1 : c->inlen;
		memmove(c->in, c->in + len, c->inlen - len);
		c->inlen -= len;
	}
	if (c->out.toobig) {
		/* Cannot happen: the parts are sized to fit. Say so, not half. */
		buf_reset(&c->out);
		ctl_error(&c->out, CTL_E_FAILED, "answer too large");
		c->more = false;
		c->closing = true;
	}
}

/* Send what is buffered. 0, or -1 when the connection is gone. */
static int conn_flush(struct ctl_conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			log_debug("control socket: send: %s", strerror(errno));
			conn_close(c);
			return -1;
		}
		c->sent += (size_t)n;
	}
	buf_reset(&c->out);
	c->sent = 0;
	return 0;
}

/* Run, write, and wait for what comes next: more lines may be buffered
 * behind the one just answered (a client may send several at once). */
static void conn_step(struct ctl_conn *c)
{
	unsigned i;

	for (i = 0; i < 64 && c->fd >= 0; i++) {
		size_t before = c->inlen;
		bool was_more = c->more;

		conn_run(c);
		if (c->out.len == 0 && before == c->inlen && !was_more)
			break;                  /* nothing to do until more input */
		if (conn_flush(c) < 0)
			return;
		if (c->out.len > 0)
			break;                  /* the peer is slow: wait for EPOLLOUT */
	}
	if (c->fd < 0)
		return;
	if (c->w.queued) {
		loop_fd_mod(c->io->loop, c->fd, 0);     /* nothing read until its turn */
		return;
	}
	if (c->out.len == 0 && c->closing) {
		conn_close(c);
		return;
	}
	if (c->out.len > 0 || c->more || (i == 64 && c->inlen > 0)) {
		/* Blocked, or 64 answers in one go: resume on EPOLLOUT. */
		loop_fd_mod(c->io->loop, c->fd, EPOLLOUT);
		return;
	}
	loop_fd_mod(c->io->loop, c->fd, c->eof ? 0 : EPOLLIN);
}

/*
 * Read what the peer sent. A descriptor that comes along (SCM_RIGHTS: the
 * grant igddctl sends with an `add`, docs/CLI.md) is kept for the next
 * command; more than one, or anything else, is dropped (the kernel
 * closes what does not fit).
 */
static ssize_t conn_recv(struct ctl_conn *c)
{
	bool bad;
	int fd;
	ssize_t n = fdpass_recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0, &fd, &bad);

	if (fd >= 0)
		ctl_session_set_grant(&c->s, fd);
	return n;
}

/* Its turn came: the request waiting runs now; the engine stopping
 * closes the connection. */
static void on_turn(struct engine_waiter *w, int status)
{
	struct ctl_conn *c = w->arg;

	if (status < 0)
		conn_close(c);
	else
		conn_step(c);
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ctl_conn *c = arg;

	(void)l;
	(void)fd;
	if (c->w.queued) {
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(c);          /* its client left before its turn */
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof && c->out.len == 0) {
		ssize_t n = conn_recv(c);

		if (n == 0) {
			c->eof = true;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(c);
			return;
		} else if (n > 0) {
			c->inlen += (size_t)n;
		}
	}
	if ((events & (EPOLLHUP | EPOLLERR)) && c->out.len > 0 && !(events & EPOLLOUT)) {
		conn_close(c);
		return;
	}
	conn_step(c);
}

static void on_deadline(struct loop *l, void *arg)
{
	struct ctl_conn *c = arg;

	(void)l;
	c->timer = 0;
	log_debug("control socket: a connection reached its %u ms deadline", c->io->timeout_ms);
	if (c->out.len == 0) {
		struct buf b;

		buf_init(&b, 256);
		ctl_error(&b, CTL_E_TIMEOUT, "deadline of %u ms reached", c->io->timeout_ms);
		if (send(c->fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control socket: %s", strerror(errno));
		buf_free(&b);
	}
	conn_close(c);
}

/* ------------------------------------------------------------- accepting */

/* Root, or the daemon's own uid. */
static bool peer_allowed(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static void refuse_peer(struct ctl_io *io, int fd, const struct ucred *cr)
{
	unsigned suppressed = 0;

	if (ratelimit_ok(&io->rl_refused, loop_now_ms(io->loop), &suppressed))
		log_warnx("control socket: refused uid %ld (pid %ld): only root and uid %ld may "
			  "use it%s", (long)cr->uid, (long)cr->pid, (long)geteuid(),
			  suppressed ? " (and more refusals not logged)" : "");
	say_and_close(fd, CTL_E_DENIED, "permission denied: only root and the daemon's user");
}

static void on_listen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ctl_io *io = arg;
	unsigned i, k;

	(void)events;
	for (i = 0; i < CTL_ACCEPT_BATCH; i++) {
		struct ucred cr;
		socklen_t crlen = sizeof(cr);
		struct ctl_conn *c = NULL;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("control socket: accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
			close(cfd);
			continue;
		}
		if (!peer_allowed(cr.uid)) {
			refuse_peer(io, cfd, &cr);
			continue;
		}
		for (k = 0; k < IGDD_CTL_MAX_CLIENTS && !c; k++)
			if (io->conns[k].fd < 0)
				c = &io->conns[k];
		if (!c) {
			say_and_close(cfd, CTL_E_UNAVAILABLE, "too many control connections");
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->io = io;
		c->fd = cfd;
		c->w.resume = on_turn;
		c->w.arg = c;
		buf_init(&c->out, IGDD_CTL_MAX_OUT);
		ctl_session_init(&c->s, io->e, cr.uid);
		if (loop_fd_add(l, cfd, EPOLLIN, on_conn, c) < 0) {
			buf_free(&c->out);
			close(cfd);
			c->fd = -1;
			continue;
		}
		io->nconns++;
		c->timer = loop_timer_in(l, io->timeout_ms, on_deadline, c);
		if (c->timer < 0) {
			c->timer = 0;
			conn_close(c);
		}
	}
}

/* ------------------------------------------------------------- the socket */

/* The directory of path (shorter than sun_path), created 0755 when
 * missing (one level). */
static int make_dir(const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *dir;

	memcpy(tmp, path, strlen(path) + 1);
	dir = dirname(tmp);
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Whether something answers on the socket file at addr. */
static bool answers(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno == EAGAIN;
	close(fd);
	return yes;
}

/* Clear the way for bind(): 0, or -errno. */
static int clear_stale(const struct sockaddr_un *addr)
{
	struct stat st;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (answers(addr))
		return -EADDRINUSE;
	if (unlink(addr->sun_path) < 0 && errno != ENOENT)
		return -errno;
	log_info("control socket %s: replaced a stale socket file", addr->sun_path);
	return 0;
}

/*
 * bind() creating the socket file with mode 0660 from the start: the
 * umask decides a new socket file's mode, so no chmod() of the path is
 * needed afterwards (one would follow a symlink put there meanwhile).
 * The loop is single-threaded, so the umask is changed for no one else.
 */
static int bind_0660(int fd, const struct sockaddr_un *addr)
{
	mode_t old = umask(0117);
	int r = bind(fd, (const struct sockaddr *)addr, sizeof(*addr));
	int err = errno;

	umask(old);
	errno = err;
	return r;
}

struct ctl_io *ctl_io_new(struct engine *e, struct loop *l, const char *path)
{
	struct sockaddr_un addr;
	struct ctl_io *io;
	unsigned i;
	int r;

	if (strlen(path) >= sizeof(addr.sun_path) || path[0] != '/') {
		log_warnx("control socket '%s': not an absolute path of at most %zu bytes", path,
			  sizeof(addr.sun_path) - 1);
		errno = EINVAL;
		return NULL;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->e = e;
	io->loop = l;
	io->fd = -1;
	io->timeout_ms = IGDD_CTL_TIMEOUT_S * 1000u;
	io->rl_refused = RATELIMIT_INIT(10000, 3);
	for (i = 0; i < IGDD_CTL_MAX_CLIENTS; i++)
		io->conns[i].fd = -1;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	memcpy(io->path, addr.sun_path, sizeof(io->path));

	r = make_dir(path);
	if (r == 0)
		r = clear_stale(&addr);
	if (r == 0) {
		io->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (io->fd < 0 || bind_0660(io->fd, &addr) < 0 || listen(io->fd, 16) < 0)
			r = -errno;
		else
			r = loop_fd_add(l, io->fd, EPOLLIN, on_listen, io);
	}
	if (r < 0) {
		if (r == -EADDRINUSE)
			log_warnx("control socket %s: another process answers on it (igdd already "
				  "running?)", path);
		else if (r == -EEXIST)
			log_warnx("control socket %s: exists and is not a socket; left alone", path);
		else
			log_warnx("control socket %s: %s", path, strerror(-r));
		if (io->fd >= 0) {
			close(io->fd);
			if (r != -EADDRINUSE && r != -EEXIST)
				unlink(path);
		}
		free(io);
		errno = -r;
		return NULL;
	}
	log_debug("control socket on %s", path);
	return io;
}

void ctl_io_free(struct ctl_io *io)
{
	unsigned i;

	if (!io)
		return;
	for (i = 0; i < IGDD_CTL_MAX_CLIENTS; i++)
		conn_close(&io->conns[i]);
	if (io->fd >= 0) {
		loop_fd_del(io->loop, io->fd);
		close(io->fd);
		if (unlink(io->path) < 0 && errno != ENOENT)
			log_debug("control socket %s: not removed: %s", io->path, strerror(errno));
	}
	free(io);
}

void ctl_io_set_timeout_ms(struct ctl_io *io, unsigned ms)
{
	io->timeout_ms = ms;
}

unsigned ctl_io_clients(const struct ctl_io *io)
{
	return io ? io->nconns : 0;
}
