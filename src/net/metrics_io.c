/*
 * metrics_io.c - the metrics endpoint's I/O (metrics_io.h). The request
 * is read up to the end of its head (RFC 9112 section 2.1: request line
 * and fields, then an empty line), at most METRICS_IO_MAX_REQUEST bytes;
 * GET or HEAD of /metrics gets 200 with the text format 0.0.4
 * (Content-Type: text/plain; version=0.0.4), any other path 404, any
 * other method 405, anything unreadable 400; every answer closes the
 * connection. Nothing blocks: the answer waits for EPOLLOUT when the
 * socket does not take it whole.
 */
#define _GNU_SOURCE             /* accept4 */

#include "net/metrics_io.h"

#include "core/stats.h"
#include "engine.h"
#include "loop/loop.h"
#include "util/ipaddr.h"
#include "util/buf.h"
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

#define METRICS_IO_MAX_OUT (256u << 10)

struct metrics_conn {
	struct metrics_io *io;
	int fd;                         /* -1: free */
	int64_t timer;
	char in[METRICS_IO_MAX_REQUEST + 1];
	size_t inlen;
	struct buf out;
	size_t sent;
	bool answering;
};

struct metrics_io {
	struct engine *e;
	struct loop *l;
	int fd;
	uint16_t port;
	bool loopback;                  /* on a loopback address: loopback peers only */
	struct metrics_conn c[METRICS_IO_MAX_CONNS];
};

static void conn_close(struct metrics_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->timer > 0)
		loop_timer_cancel(c->io->l, c->timer);
	c->timer = 0;
	loop_fd_del(c->io->l, c->fd);
	close(c->fd);
	c->fd = -1;
	buf_free(&c->out);
}

static void on_timeout(struct loop *l, void *arg)
{
	struct metrics_conn *c = arg;

	(void)l;
	c->timer = 0;
	conn_close(c);
}

/* Write what the socket takes; closed when all is sent or on error. */
static void conn_flush(struct metrics_conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->sent, c->out.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_fd_mod(c->io->l, c->fd, EPOLLOUT);
			return;
		}
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	conn_close(c);
}

static void answer(struct metrics_conn *c, unsigned status, const char *reason, bool head)
{
	struct engine *e = c->io->e;
	struct stats_gauges g;
	struct buf body;
	size_t len;

	buf_init(&body, METRICS_IO_MAX_OUT);
	if (status == 200) {
		engine_gauges(e, &g);
		if (stats_write_prometheus(&e->stats, &g, &body) < 0) {
			buf_reset(&body);
			status = 500;
			reason = "Internal Server Error";
		}
	}
	if (status != 200)
		buf_printf(&body, "%u %s\n", status, reason);
	len = body.len;
	buf_init(&c->out, METRICS_IO_MAX_OUT + 256);
	buf_printf(&c->out, "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "%sConnection: close\r\n\r\n", status, reason,
		   status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
		   "text/plain; charset=utf-8", len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head)
		buf_append(&c->out, body.p, body.len);
	buf_free(&body);
	c->answering = true;
	shutdown(c->fd, SHUT_RD);
	conn_flush(c);
}

/* The request line of a complete head: method, then target. */
static void handle(struct metrics_conn *c)
{
	char *sp1, *sp2, *eol = strstr(c->in, "\r\n");

	if (!eol)
		eol = strchr(c->in, '\n');
	sp1 = memchr(c->in, ' ', eol ? (size_t)(eol - c->in) : 0);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		answer(c, 400, "Bad Request", false);
		return;
	}
	*sp1 = *sp2 = '\0';
	if (strcmp(c->in, "GET") != 0 && strcmp(c->in, "HEAD") != 0) {
		answer(c, 405, "Method Not Allowed", false);
		return;
	}
	if (strcmp(sp1 + 1, "/metrics") != 0 && strncmp(sp1 + 1, "/metrics?", 9) != 0) {
		answer(c, 404, "Not Found", strcmp(c->in, "HEAD") == 0);
		return;
	}
	answer(c, 200, "OK", strcmp(c->in, "HEAD") == 0);
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct metrics_conn *c = arg;
	ssize_t n;

	(void)l;
	(void)fd;
	if (c->answering) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_flush(c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, METRICS_IO_MAX_REQUEST - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (memchr(c->in, '\0', c->inlen)) {
		answer(c, 400, "Bad Request", false);
		return;
	}
	if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n"))
		handle(c);
	else if (c->inlen == METRICS_IO_MAX_REQUEST)
		answer(c, 431, "Request Header Fields Too Large", false);
}

static bool peer_ok(const struct metrics_io *m, struct in_addr a)
{
	struct ipaddr from = ipaddr_from_v4(a);

	if (m->loopback)
		return (ntohl(a.s_addr) >> 24) == 127;
	return engine_lan_find(m->e, &from) >= 0;     /* a host of any LAN */
}

/* addr is one of the gateway's own addresses on one of its LANs. */
static bool lan_address(const struct engine *e, struct in_addr addr)
{
	struct ipaddr a = ipaddr_from_v4(addr);
	size_t i;

	for (i = 0; i < e->nlans; i++)
		if (lan_is_own(&e->lans[i], &a))
			return true;
	return false;
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct metrics_io *m = arg;
	struct sockaddr_in sin;
	socklen_t slen;
	int cfd, i;

	(void)events;
	for (;;) {
		struct metrics_conn *c = NULL;

		memset(&sin, 0, sizeof(sin));
		slen = sizeof(sin);
		cfd = accept4(fd, (struct sockaddr *)&sin, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		for (i = 0; i < METRICS_IO_MAX_CONNS && !c; i++)
			if (m->c[i].fd < 0)
				c = &m->c[i];
		if (!c || !peer_ok(m, sin.sin_addr) ||
		    loop_fd_add(l, cfd, EPOLLIN, on_conn, c) < 0) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->inlen = 0;
		c->sent = 0;
		c->answering = false;
		buf_init(&c->out, 0);
		c->timer = loop_timer_in(l, METRICS_IO_TIMEOUT_MS, on_timeout, c);
	}
}

struct metrics_io *metrics_io_new(struct engine *e, struct loop *l, struct in_addr addr,
				  uint16_t port, char *err, size_t errsz)
{
	struct metrics_io *m;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	bool loopback = (ntohl(addr.s_addr) >> 24) == 127;
	char a[INET_ADDRSTRLEN];
	int one = 1, i;

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (!loopback && !lan_address(e, addr)) {
		snprintf(err, errsz, "metrics_listen %s is neither a loopback address nor a LAN "
			 "address: igdd serves its metrics on no other (never on the WAN)", a);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	m->e = e;
	m->l = l;
	m->loopback = loopback;
	for (i = 0; i < METRICS_IO_MAX_CONNS; i++) {
		m->c[i].fd = -1;
		m->c[i].io = m;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = addr;
	sin.sin_port = htons(port);
	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(m->fd, 8) < 0 ||
	    getsockname(m->fd, (struct sockaddr *)&sin, &slen) < 0 ||
	    loop_fd_add(l, m->fd, EPOLLIN, on_accept, m) < 0) {
		snprintf(err, errsz, "metrics_listen %s:%u: %s", a, (unsigned)port, strerror(errno));
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return NULL;
	}
	m->port = ntohs(sin.sin_port);
	log_info("metrics: listening on %s:%u (GET /metrics)", a, (unsigned)m->port);
	return m;
}

uint16_t metrics_io_port(const struct metrics_io *m)
{
	return m->port;
}

void metrics_io_free(struct metrics_io *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < METRICS_IO_MAX_CONNS; i++)
		conn_close(&m->c[i]);
	loop_fd_del(m->l, m->fd);
	close(m->fd);
	free(m);
}
