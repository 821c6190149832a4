/*
 * http_io.c - the HTTP/1.1 server (http_io.h) of UDA 1.1 sections 2
 * (description), 3 (control) and 4 (eventing), in the daemon's loop.
 * Requests are parsed by proto/http.c (RFC 9112) and answered by
 * httpd_handle(); this file does sockets, limits and time, nothing else.
 *
 * One non-blocking listening socket per LAN address (each LAN's primary
 * IPv4 address, and each of its IPv6 addresses: link-local, ULA,
 * global; never a wildcard address, so nothing answers on the WAN), all
 * on one port; http_io_sync() opens and closes them as the LANs'
 * addresses change. accept4() in a bounded batch per readiness. A
 * connection belongs to the LAN of the socket that accepted it; peers
 * not on that LAN are closed at once, so are connections past
 * http_max_per_ip from one address (a connection lingering after its
 * final answer is not counted there, only in the total); at
 * http_max_connections the listening sockets leave the epoll set and
 * further connections wait in the listen backlogs, to be accepted as
 * soon as a slot frees.
 *
 * Each connection is a small state machine:
 *
 *   idle ──first byte──► head ──head parsed──► body ──complete──► write
 *     ▲                                                             │
 *     └───────────── kept alive (RFC 9112 9.3) ◄────────────────────┤
 *                                                       closing ──► linger ──► closed
 *
 * Its input buffer holds IGDD_HTTP_MAX_HEAD bytes and some room for the
 * body passing through into its struct buf (IGDD_HTTP_MAX_BODY). The
 * response (status line and fields in one buffer, the body as the
 * handler built it) goes out with one sendmsg() when the socket takes it,
 * the rest on EPOLLOUT. Pipelined requests wait in the input buffer and
 * are served in order once the previous response is out. An error from
 * the parser (400, 413, 414, 417, 431, 501, 505) or a method other than
 * the five UPnP uses (405) is answered with a short text and
 * "Connection: close"; the connection is then shut down for writing and
 * its input drained for a short while, so that the peer reads the whole
 * answer instead of a reset.
 *
 * Time (ARCHITECTURE rule 4): a request must arrive within http_timeout
 * from its first byte (slow loris), a connection may be idle (after
 * accept or between requests) for http_timeout, a response of which the
 * peer takes nothing for http_timeout is abandoned, and a closing
 * connection lingers at most HTTP_IO_LINGER_MS. Every deadline is now
 * plus one of two constants, so two FIFO lists in deadline order and one
 * loop timer at the earliest head do.
 *
 * GENA (UDA 1.1 4.1.1): a SUBSCRIBE's initial event is queued only once
 * its response has been written completely (gena_response_sent()); a
 * connection that dies first reports it failed. The event is then held
 * until the peer has read the response: its next request on a
 * connection kept open or its close (gena_response_taken()), or a time
 * (svc/gena.h, GENA_INITIAL_HOLD_MS).
 */
#define _GNU_SOURCE             /* accept4 */

#include "net/http_io.h"

#include "conf/config.h"
#include "engine.h"
#include "loop/loop.h"
#include "proto/http.h"
#include "proto/ssdp.h"
#include "svc/action.h"
#include "svc/gena.h"
#include "svc/httpd.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HTTP_IO_BACKLOG 128u
#define HTTP_IO_ACCEPT_BATCH 32         /* accept4() calls per readiness */
#define HTTP_IO_IN_SIZE (IGDD_HTTP_MAX_HEAD + 2048)
#define HTTP_IO_OUT_HEAD_MAX 4096       /* status line and header fields */
#define HTTP_IO_LINGER_MS 2000u         /* a closing connection drains input this long */
#define HTTP_IO_LINGER_BYTES (256u << 10)
#define HTTP_IO_PAUSE_MS 1000u          /* out of descriptors: accept again after */
#define HTTP_IO_WARN_INTERVAL_MS 60000  /* peer-triggered warnings: a few per minute */
#define HTTP_IO_WARN_BURST 5

enum conn_state { C_IDLE, C_HEAD, C_BODY, C_WAIT, C_WRITE, C_LINGER };

enum { Q_TIMEOUT, Q_LINGER, Q_COUNT, Q_NONE = -1 };

struct http_conn {
	struct http_io *h;
	struct http_conn *prev, *next;          /* every connection */
	struct http_conn *qprev, *qnext;        /* the deadline list it is on */
	int q;                                  /* Q_TIMEOUT, Q_LINGER or Q_NONE */
	uint64_t deadline_ms;
	int fd;
	uint32_t events;                        /* epoll interest */
	bool registered;                        /* in the loop (after the first read) */
	struct ipaddr peer;
	unsigned lan;                           /* the LAN it was accepted on */
	enum conn_state state;                  /* set by conn_state() */
	uint64_t born_ms;                       /* accepted at */
	unsigned nreq;                          /* requests answered */
	struct http_parser ps;
	size_t in_len;                          /* bytes in in[] */
	size_t head_len;                        /* in[0..head_len): the parsed head */
	struct buf body;                        /* decoded request body */
	struct buf out;                         /* status line, fields (and an error's text) */
	char *out_body;                         /* the handler's body (or part), sent after out */
	size_t out_body_len;
	struct buf_stream more;                 /* the rest of a body written in parts */
	bool chunked;                           /* those parts go as chunks (RFC 9112 7.1) */
	char chunk_head[20];                    /* "<hex size>\r\n" before out_body */
	size_t chunk_head_len;
	const char *chunk_tail;                 /* "\r\n" after it, then the last chunk */
	size_t chunk_tail_len;
	size_t out_sent;                        /* bytes of the segments above sent */
	uint64_t sent_total;                    /* bytes of the whole response sent */
	uint64_t out_mark;                      /* sent_total when the write deadline was set */
	bool close_after;                       /* close once the response is out */
	bool error;                             /* the response is an error: linger */
	size_t drained;                         /* bytes thrown away while lingering */
	struct action_later *later;             /* C_WAIT: the answer that comes later */
	size_t req_end;                         /* C_WAIT: the end of its request in in[] */
	char gena_sid[GENA_SID_SIZE];           /* a SUBSCRIBE's SID until its response is out, */
	bool gena_out;                          /* and then until the peer's next move */
	char in[HTTP_IO_IN_SIZE];
};

struct http_list {
	struct http_conn *head, *tail;
};

/* One listening socket: one address of one LAN. */
struct http_listener {
	struct http_io *h;
	int fd;                                 /* -1: slot free */
	unsigned lan;
	struct ipaddr addr;
};

#define HTTP_IO_MAX_LISTENERS (IGDD_CONF_MAX_LANS * IGDD_LAN_MAX_ADDRS)

struct http_io {
	struct engine *e;
	struct loop *l;
	struct http_listener ls[HTTP_IO_MAX_LISTENERS];
	bool listening;                         /* the listeners are in the epoll set for EPOLLIN */
	bool freeing;
	int64_t timer;                          /* deadline timer (0: none) */
	uint64_t timer_when;
	int64_t pause_timer;
	char server[160];                       /* SERVER: OS/version UPnP/1.1 igdd/version */
	struct http_conn *conns;
	unsigned nconns;
	unsigned nidle;                         /* connections a new host may take (conn_takeable) */
	struct http_list q[Q_COUNT];
	uint64_t q_delay[Q_COUNT];
	struct http_conn *spare;                /* one closed connection kept for the next */
	struct http_conn *probe;                /* read at accept; NULL once it closed */
	char date[40];                          /* Date field value, for date_sec */
	int64_t date_sec;
	struct ratelimit warn_slow, warn_stuck, warn_big;
};

static int conn_process(struct http_conn *c);

/* " (N similar not logged)" after a rate-limited warning, or "". */
static const char *http_io_more(char out[48], unsigned suppressed)
{
	out[0] = '\0';
	if (suppressed)
		snprintf(out, 48, " (%u similar not logged)", suppressed);
	return out;
}

/* ---- deadlines ---- */

static void http_io_on_timer(struct loop *l, void *arg);

static void http_io_arm(struct http_io *h)
{
	uint64_t when = UINT64_MAX;
	int64_t id;
	int i;

	for (i = 0; i < Q_COUNT; i++)
		if (h->q[i].head && h->q[i].head->deadline_ms < when)
			when = h->q[i].head->deadline_ms;
	if (when == UINT64_MAX)
		return;                 /* a pending timer finds nothing; fine */
	if (h->timer > 0 && h->timer_when <= when)
		return;
	if (h->timer > 0)
		loop_timer_cancel(h->l, h->timer);
	h->timer = 0;
	id = loop_timer_at(h->l, when, http_io_on_timer, h);
	if (id < 0) {
		log_warnx("http: cannot arm the timer: %s", strerror((int)-id));
		return;
	}
	h->timer = id;
	h->timer_when = when;
}

static void dl_remove(struct http_conn *c)
{
	struct http_list *q;

	if (c->q == Q_NONE)
		return;
	q = &c->h->q[c->q];
	if (c->qprev)
		c->qprev->qnext = c->qnext;
	else
		q->head = c->qnext;
	if (c->qnext)
		c->qnext->qprev = c->qprev;
	else
		q->tail = c->qprev;
	c->qprev = c->qnext = NULL;
	c->q = Q_NONE;
}

/* c's deadline is now + the list's delay: it goes to the tail. */
static void dl_push(struct http_conn *c, int qi)
{
	struct http_io *h = c->h;
	struct http_list *q = &h->q[qi];

	dl_remove(c);
	c->deadline_ms = loop_now_ms(h->l) + h->q_delay[qi];
	c->q = qi;
	c->qprev = q->tail;
	if (q->tail)
		q->tail->qnext = c;
	else
		q->head = c;
	q->tail = c;
	if (!h->timer || c->deadline_ms < h->timer_when)
		http_io_arm(h);
}

/* ---- connections ---- */

static void conn_events(struct http_conn *c, uint32_t events)
{
	if (!c->registered) {
		c->events = events;     /* registered with these after the first read */
		return;
	}
	if (c->events == events)
		return;
	if (loop_fd_mod(c->h->l, c->fd, events) == 0)
		c->events = events;
}

static void listen_set(struct http_io *h, bool on)
{
	size_t i;

	if (h->listening == on)
		return;
	h->listening = on;
	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++)
		if (h->ls[i].fd >= 0 && loop_fd_mod(h->l, h->ls[i].fd, on ? EPOLLIN : 0) < 0)
			log_debug("http: cannot %s a listening socket", on ? "resume" : "pause");
}

/* A connection whose slot a new host may take when every slot is held:
 * idle between requests, or lingering (its final answer is out, its
 * input only drained). */
static bool conn_takeable(enum conn_state st)
{
	return st == C_IDLE || st == C_LINGER;
}

/* Whether a connection could be accepted now: a free slot, or a
 * connection a new host could take (http_io_on_listen()). */
static bool http_io_can_accept(const struct http_io *h)
{
	return h->nconns < h->e->cfg->http_max_connections || h->nidle > 0;
}

/* Every state change goes through here: the idle count follows. */
static void conn_state(struct http_conn *c, enum conn_state st)
{
	struct http_io *h = c->h;

	if (conn_takeable(c->state) && !conn_takeable(st))
		h->nidle--;
	else if (!conn_takeable(c->state) && conn_takeable(st))
		h->nidle++;
	c->state = st;
	/* At the limit, such a connection is a slot a new host may take. */
	if (conn_takeable(st) && !h->listening && !h->freeing && !h->pause_timer)
		listen_set(h, true);
}

/* The peer moved after a SUBSCRIBE response (a new request, its close):
 * it has read the response, the initial event may go. */
static void conn_gena_taken(struct http_conn *c)
{
	if (c->gena_out && c->h->e->gena)
		gena_response_taken(c->h->e->gena, c->gena_sid);
	c->gena_out = false;
	c->gena_sid[0] = '\0';
}

static void conn_close(struct http_conn *c)
{
	struct http_io *h = c->h;

	if (c->gena_out)
		conn_gena_taken(c);
	else if (c->gena_sid[0] && h->e->gena)
		gena_response_failed(h->e->gena, c->gena_sid);
	c->gena_sid[0] = '\0';
	dl_remove(c);
	if (c->later)                   /* its change completes; the answer is dropped */
		action_later_drop(c->later);
	c->later = NULL;
	if (h->probe == c)
		h->probe = NULL;
	if (c->registered)
		loop_fd_forget(h->l, c->fd);    /* close() leaves the epoll set */
	c->registered = false;
	if (conn_takeable(c->state))
		h->nidle--;
	c->state = C_HEAD;              /* counted nowhere any more */
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->out_body);
	c->out_body = NULL;
	buf_stream_release(&c->more);
	h->nconns--;
	if (!h->spare && !h->freeing) {
		h->spare = c;           /* its buffers too, for the next connection */
	} else {
		buf_free(&c->body);
		buf_free(&c->out);
		free(c);
	}
	/* A slot is free: the backlog is served on the next loop turn. */
	if (!h->freeing && !h->pause_timer && http_io_can_accept(h))
		listen_set(h, true);
}

/* The response is out and the connection ends: close, or drain first. */
static void conn_finish(struct http_conn *c)
{
	if (!c->error && c->in_len == 0) {
		conn_close(c);  /* the request was read whole: nothing to reset */
		return;
	}
	shutdown(c->fd, SHUT_WR);
	conn_state(c, C_LINGER);
	c->drained = 0;
	conn_events(c, EPOLLIN);
	dl_push(c, Q_LINGER);
}

/* The chunk framing around the part in out_body (none without chunks). */
static void conn_frame(struct http_conn *c, bool last)
{
	static const char tail[] = "\r\n", last_tail[] = "\r\n0\r\n\r\n";

	c->chunk_head_len = 0;
	c->chunk_tail = NULL;
	c->chunk_tail_len = 0;
	if (!c->chunked)
		return;
	if (c->out_body_len) {
		c->chunk_head_len = (size_t)snprintf(c->chunk_head, sizeof(c->chunk_head),
						     "%zx\r\n", c->out_body_len);
		c->chunk_tail = last ? last_tail : tail;
		c->chunk_tail_len = last ? sizeof(last_tail) - 1 : sizeof(tail) - 1;
	} else if (last) {
		c->chunk_tail = last_tail + 2;  /* "0\r\n\r\n" */
		c->chunk_tail_len = sizeof(last_tail) - 3;
	}
}

/*
 * The next part of a body written in parts into out_body (the head has
 * gone): at most IGDD_HTTP_MAX_RESPONSE bytes in memory for it,
 * whatever the whole. 0, or -1 when the producer failed (c is closed:
 * the peer sees the answer cut short).
 */
static int conn_next_part(struct http_conn *c)
{
	struct buf part;
	char peer[IPADDR_STRLEN];
	int r;

	buf_reset(&c->out);
	free(c->out_body);
	c->out_body = NULL;
	c->out_body_len = 0;
	c->out_sent = 0;
	buf_init(&part, IGDD_HTTP_MAX_RESPONSE);
	r = buf_stream_fill(&c->more, &part, IGDD_HTTP_STREAM_PART);
	if (r >= 0 && part.len && !(c->out_body = buf_steal(&part, &c->out_body_len)))
		r = -ENOMEM;
	buf_free(&part);
	if (r < 0) {
		log_debug("%s: HTTP response cut short: %s", ipaddr_ntop(&c->peer, peer, sizeof(peer)),
			  strerror(-r));
		conn_close(c);
		return -1;
	}
	conn_frame(c, r == 0);
	return 0;
}

/*
 * Send what is left of the response: the head, then the body (each part
 * of a long one in its chunk framing). 1: all of it is out; 0: the
 * socket is full (EPOLLOUT armed, the write deadline running); -1: c is
 * closed.
 */
static int conn_flush(struct http_conn *c)
{
	for (;;) {
		struct { const char *p; size_t len; } seg[4] = {
			{ c->out.p, c->out.len },
			{ c->chunk_head, c->chunk_head_len },
			{ c->out_body, c->out_body_len },
			{ c->chunk_tail, c->chunk_tail_len },
		};
		struct iovec iov[4];
		struct msghdr msg;
		size_t niov = 0, skip = c->out_sent, i;
		ssize_t n;

		for (i = 0; i < 4; i++) {
			if (skip >= seg[i].len) {
				skip -= seg[i].len;
				continue;
			}
			iov[niov].iov_base = (char *)(uintptr_t)(seg[i].p + skip);
			iov[niov].iov_len = seg[i].len - skip;
			niov++;
			skip = 0;
		}
		if (niov == 0) {                /* all of this part is out */
			if (!c->more.fill)
				return 1;
			if (conn_next_part(c) < 0)
				return -1;
			continue;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = niov;
		/* Closing after this answer: hold its last segment until
		 * close() / shutdown(), which then leaves with the FIN. */
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT |
			    (c->close_after && !c->more.fill ? MSG_MORE : 0));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* The deadline runs while the peer takes nothing. */
				if (c->events != EPOLLOUT || c->sent_total != c->out_mark) {
					conn_events(c, EPOLLOUT);
					dl_push(c, Q_TIMEOUT);
					c->out_mark = c->sent_total;
				}
				return 0;
			}
			log_debug("http: send: %s", strerror(errno));
			conn_close(c);
			return -1;
		}
		c->out_sent += (size_t)n;
		c->sent_total += (uint64_t)n;
	}
}

/* The whole response is out. 0: go on with the next request; -1: c is done. */
static int conn_sent(struct http_conn *c)
{
	struct http_io *h = c->h;

	/* UDA 1.1 4.1.1: the initial event only once the SUBSCRIBE response
	 * is out; it is held until the peer's next move on a connection kept
	 * open, its next request or its close (conn_gena_taken()), or for a
	 * while (svc/gena.h): that alone when this answer closes it. */
	if (c->gena_sid[0] && h->e->gena) {
		gena_response_sent(h->e->gena, c->gena_sid);
		c->gena_out = !c->close_after && c->in_len == 0;
	}
	if (!c->gena_out)
		c->gena_sid[0] = '\0';
	free(c->out_body);
	c->out_body = NULL;
	c->out_body_len = 0;
	c->out_sent = 0;
	c->chunked = false;
	conn_frame(c, false);
	if (c->close_after) {
		conn_finish(c);
		return -1;
	}
	conn_state(c, C_IDLE);
	conn_events(c, EPOLLIN);
	dl_push(c, Q_TIMEOUT);          /* idle until the next request */
	return 0;
}

/* Start sending the response in c->out / c->out_body. 0, or -1 (c gone or still writing). */
static int conn_send(struct http_conn *c)
{
	int r;

	conn_state(c, C_WRITE);
	c->out_sent = 0;
	c->sent_total = c->out_mark = 0;
	dl_remove(c);
	r = conn_flush(c);
	if (r <= 0)
		return -1;
	return conn_sent(c);
}

static const char *http_io_date(struct http_io *h)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != h->date_sec) {
		h->date_sec = ts.tv_sec;
		if (!gmtime_r(&ts.tv_sec, &tm) ||
		    strftime(h->date, sizeof(h->date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
			h->date[0] = '\0';
	}
	return h->date;
}

/* Status line and fields into c->out (svc/httpd.c httpd_write_head());
 * false when they do not fit. */
static bool conn_head(struct http_conn *c, unsigned status, const char *ctype,
		      const struct http_response *resp, const char *allow, size_t body_len,
		      enum httpd_framing framing)
{
	struct httpd_head hd = {
		.status = status,
		.date = http_io_date(c->h),
		.server = c->h->server,
		.close = c->close_after,
		.request_minor = c->ps.head.minor,
		.content_type = ctype,
		.allow = allow,
		.resp = resp,
		.body_len = body_len,
		.framing = framing,
	};

	return httpd_write_head(&c->out, &hd);
}

/* Answer status with a short text and close; -1 (c is done). */
static int conn_error(struct http_conn *c, unsigned status)
{
	char peer[IPADDR_STRLEN], text[64];
	bool head = c->ps.head.method && strcmp(c->ps.head.method, "HEAD") == 0 &&
		    c->state == C_BODY;
	size_t n;

	ipaddr_ntop(&c->peer, peer, sizeof(peer));
	log_debug("%s: HTTP request refused: %u", peer, status);
	free(c->out_body);
	c->out_body = NULL;
	c->out_body_len = 0;
	buf_stream_release(&c->more);
	c->chunked = false;
	conn_frame(c, false);
	if (c->gena_sid[0] && c->h->e->gena)
		gena_response_failed(c->h->e->gena, c->gena_sid);  /* that answer is not sent */
	c->gena_sid[0] = '\0';
	c->close_after = true;
	c->error = true;
	n = httpd_error_text(status, text, sizeof(text));
	if (!conn_head(c, status, HTTPD_TEXT_TYPE, NULL,
		       status == 405 ? HTTPD_ALLOW : NULL, n, HTTPD_FRAME_LENGTH)) {
		conn_close(c);
		return -1;
	}
	if (!head)
		buf_append(&c->out, text, n);
	return conn_send(c);
}

static int conn_answer(struct http_conn *c, const struct http_response *r);
static void conn_on_later(void *arg, int status, struct buf *out, struct buf_stream *stream);

/*
 * The request is complete: ask httpd_handle(), queue the answer. 0, -1
 * (c is done), or 1: the answer comes later (a change under way,
 * svc/action.h): the connection waits (C_WAIT), reading nothing more,
 * until conn_on_later() sends it.
 */
static int conn_respond(struct http_conn *c)
{
	struct http_io *h = c->h;
	const struct http_head *hd = &c->ps.head;
	struct http_request req;
	struct http_response resp;

	httpd_request_init(&req, hd, str_from(c->body.p ? c->body.p : "", c->body.len), &c->peer,
			   c->lan);
	req.can_wait = true;
	http_response_init(&resp);
	httpd_handle(h->e, &req, &resp);
	if (resp.later) {
		c->later = resp.later;
		action_later_bind(c->later, conn_on_later, c);
		http_response_free(&resp);
		conn_state(c, C_WAIT);
		conn_events(c, 0);      /* a hang-up still reports */
		dl_push(c, Q_TIMEOUT);  /* a bounded wait */
		return 1;
	}
	return conn_answer(c, &resp);
}

/* The answer r (freed here) into c's output. 0 or -1 (c is done). */
static int conn_answer(struct http_conn *c, const struct http_response *r)
{
	struct http_io *h = c->h;
	const struct http_head *hd = &c->ps.head;
	struct http_response resp = *r;
	bool head = strcmp(hd->method, "HEAD") == 0;
	enum httpd_framing framing;
	unsigned status;
	size_t len = 0;
	int parts;

	status = resp.status >= 100 && resp.status <= 599 ? (unsigned)resp.status : 500;
	/* A long body: its first part now, the rest as the peer takes it. */
	parts = buf_stream_fill(&resp.stream, &resp.body, IGDD_HTTP_STREAM_PART);
	if (head && parts > 0)
		buf_stream_release(&resp.stream);
	if (resp.body.toobig || parts < 0) {
		char peer[IPADDR_STRLEN], more[48];
		unsigned suppressed;

		if (ratelimit_ok(&h->warn_big, loop_now_ms(h->l), &suppressed)) {
			ipaddr_ntop(&c->peer, peer, sizeof(peer));
			log_warnx("%s: %s: response larger than its limit, answering 500%s", peer,
				  hd->method, http_io_more(more, suppressed));
		}
		http_response_free(&resp);
		return conn_error(c, 500);
	}
	/* Fair shares: a kept-alive connection serves IGDD_HTTP_MAX_REQUESTS
	 * requests, and none that starts after http_max_lifetime; then the
	 * client connects again, in turn with everyone else. */
	c->nreq++;
	c->close_after = !hd->keep_alive || c->nreq >= IGDD_HTTP_MAX_REQUESTS ||
			 loop_now_ms(h->l) - c->born_ms >=
			 (uint64_t)h->e->cfg->http_max_lifetime * 1000u;
	c->error = false;
	c->gena_sid[0] = '\0';
	if (h->e->gena && strcmp(hd->method, "SUBSCRIBE") == 0 &&
	    !gena_response_sid(&resp, c->gena_sid))
		c->gena_sid[0] = '\0';
	framing = HTTPD_FRAME_LENGTH;
	if (resp.stream.fill) {
		c->more = resp.stream;
		memset(&resp.stream, 0, sizeof(resp.stream));
		c->chunked = hd->minor >= 1;
		framing = c->chunked ? HTTPD_FRAME_CHUNKED : HTTPD_FRAME_CLOSE;
		if (!c->chunked)
			c->close_after = true;  /* HTTP/1.0: the close ends the body */
	}
	c->out_body = buf_steal(&resp.body, &len);
	if (!c->out_body || !conn_head(c, status, resp.content_type, &resp, NULL, len, framing)) {
		http_response_free(&resp);
		return conn_error(c, 500);
	}
	http_response_free(&resp);
	c->out_body_len = head ? 0 : len;       /* HEAD: the fields of GET, no body */
	conn_frame(c, false);
	return 0;
}

/* Headers in: method allowed, 100 Continue when asked. 0 or -1. */
static int conn_head_done(struct http_conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	ssize_t n;

	if (!httpd_method_ok(c->ps.head.method))
		return conn_error(c, 405);
	conn_state(c, C_BODY);
	buf_reset(&c->body);
	/* RFC 9110 10.1.1: not when the body is on its way already. */
	if (c->ps.head.expect_continue && c->in_len == c->head_len) {
		n = send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != (ssize_t)sizeof(cont) - 1) {
			log_debug("http: cannot send 100 Continue");
			conn_close(c);
			return -1;
		}
	}
	return 0;
}

/*
 * Body bytes after the head go into c->body; the rest moves down to
 * head_len. 1: the request is complete (*ret_end: its last byte + 1),
 * 0: more input needed, -1: c is done.
 */
static int conn_body(struct http_conn *c, size_t *ret_end)
{
	size_t off = c->head_len, used;
	struct str data;
	int r;

	for (;;) {
		r = http_parse_body(&c->ps, c->in + off, c->in_len - off, &used, &data);
		if (r < 0)
			return conn_error(c, (unsigned)-r);
		if (data.len && buf_append(&c->body, data.p, data.len) < 0)
			return conn_error(c, c->body.toobig ? 413 : 500);
		off += used;
		if (r == 1) {
			*ret_end = off;
			return 1;
		}
		if (used == 0 || off == c->in_len)
			break;
	}
	memmove(c->in + c->head_len, c->in + off, c->in_len - off);
	c->in_len = c->head_len + (c->in_len - off);
	return 0;
}

/* The answer is queued: the next request (pipelined) moves to the
 * front, the answer goes. 0, or -1 when c is gone or still writing. */
static int conn_next(struct http_conn *c, size_t end)
{
	memmove(c->in, c->in + end, c->in_len - end);
	c->in_len -= end;
	c->head_len = 0;
	return conn_send(c);
}

/* The answer that came later (action_later_fn): sent, then the
 * connection goes on with what waits in its input. */
static void conn_on_later(void *arg, int status, struct buf *out, struct buf_stream *stream)
{
	struct http_conn *c = arg;
	struct http_response resp;
	struct buf empty;

	c->later = NULL;
	http_response_init(&resp);
	empty = resp.body;
	resp.body = *out;
	*out = empty;
	resp.stream = *stream;
	memset(stream, 0, sizeof(*stream));
	httpd_control_answer(&resp, status);
	if (conn_answer(c, &resp) < 0 || conn_next(c, c->req_end) < 0)
		return;
	conn_process(c);
}

/* Serve what the input buffer holds, in order. 0, or -1 when c is gone or still writing. */
static int conn_process(struct http_conn *c)
{
	size_t end = 0;
	int r;

	for (;;) {
		switch (c->state) {
		case C_IDLE:
			if (c->in_len == 0)
				return 0;
			conn_state(c, C_HEAD);
			dl_push(c, Q_TIMEOUT);  /* the request has http_timeout from here */
			http_parser_reset(&c->ps);
			/* fall through */
		case C_HEAD:
			r = http_parse_head(&c->ps, c->in, c->in_len);
			if (r == 0)
				return 0;
			if (r < 0)
				return conn_error(c, (unsigned)-r);
			c->head_len = (size_t)r;
			if (conn_head_done(c) < 0)
				return -1;
			/* fall through */
		case C_BODY:
			r = conn_body(c, &end);
			if (r <= 0)
				return r;
			r = conn_respond(c);
			if (r < 0)
				return -1;
			if (r == 1) {
				c->req_end = end;
				return 0;
			}
			if (conn_next(c, end) < 0)
				return -1;
			break;
		default:
			return 0;
		}
	}
}

static void conn_read(struct http_conn *c)
{
	char peer[IPADDR_STRLEN];
	ssize_t n;

	do {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (c->gena_out)
		conn_gena_taken(c);
	if (n <= 0) {
		if (c->state != C_IDLE || c->in_len) {
			log_debug("%s: HTTP connection closed in the middle of a request",
				  ipaddr_ntop(&c->peer, peer, sizeof(peer)));
		}
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	conn_process(c);
}

/* Lingering: throw input away until the peer closes or time runs out. */
static void conn_drain(struct http_conn *c)
{
	ssize_t n;

	n = recv(c->fd, c->in, sizeof(c->in), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (c->gena_out)
		conn_gena_taken(c);
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->drained += (size_t)n;
	if (c->drained > HTTP_IO_LINGER_BYTES)
		conn_close(c);
}

static void conn_on_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_conn *c = arg;

	(void)l;
	(void)fd;
	switch (c->state) {
	case C_IDLE:
	case C_HEAD:
	case C_BODY:
		conn_read(c);
		break;
	case C_WRITE:
		if (conn_flush(c) == 1 && conn_sent(c) == 0)
			conn_process(c);
		break;
	case C_LINGER:
		conn_drain(c);
		break;
	case C_WAIT:
		/* Nothing is read while the answer waits; a hang-up ends it. */
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(c);
		break;
	}
}

/* A deadline passed. */
static void conn_expire(struct http_conn *c)
{
	struct http_io *h = c->h;
	char peer[IPADDR_STRLEN], more[48];
	unsigned suppressed;

	switch (c->state) {
	case C_HEAD:
	case C_BODY:
		if (ratelimit_ok(&h->warn_slow, loop_now_ms(h->l), &suppressed)) {
			ipaddr_ntop(&c->peer, peer, sizeof(peer));
			log_warnx("%s: HTTP request not complete after %u s, connection closed%s",
				  peer, h->e->cfg->http_timeout, http_io_more(more, suppressed));
		}
		break;
	case C_WRITE:
		if (ratelimit_ok(&h->warn_stuck, loop_now_ms(h->l), &suppressed)) {
			ipaddr_ntop(&c->peer, peer, sizeof(peer));
			log_warnx("%s: HTTP response not taken in %u s, connection closed%s",
				  peer, h->e->cfg->http_timeout, http_io_more(more, suppressed));
		}
		break;
	default:
		break;          /* idle or lingering: nothing to say */
	}
	conn_close(c);
}

static void http_io_on_timer(struct loop *l, void *arg)
{
	struct http_io *h = arg;
	uint64_t now = loop_now_ms(l);
	struct http_conn *c;
	unsigned n = 0;
	int i;

	h->timer = 0;
	for (i = 0; i < Q_COUNT; i++) {
		while ((c = h->q[i].head) != NULL && c->deadline_ms <= now) {
			conn_expire(c);
			n++;
		}
	}
	if (n)
		log_debug("http: %u connection(s) past their deadline closed", n);
	http_io_arm(h);
}

static struct http_conn *conn_new(struct http_io *h, int fd, const struct ipaddr *peer,
				  unsigned lan)
{
	struct http_conn *c = h->spare;

	if (c) {
		h->spare = NULL;
	} else {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		buf_init(&c->body, IGDD_HTTP_MAX_BODY);
		buf_init(&c->out, HTTP_IO_OUT_HEAD_MAX);
	}
	c->h = h;
	c->prev = NULL;
	c->next = h->conns;
	c->qprev = c->qnext = NULL;
	c->q = Q_NONE;
	c->deadline_ms = 0;
	c->fd = fd;
	c->events = EPOLLIN;
	c->registered = false;
	c->peer = *peer;
	c->lan = lan;
	c->state = C_HEAD;              /* not takeable yet: conn_state() below counts it */
	c->born_ms = loop_now_ms(h->l);
	c->nreq = 0;
	http_parser_init(&c->ps, IGDD_HTTP_MAX_HEAD, IGDD_HTTP_MAX_BODY);
	c->in_len = c->head_len = 0;
	buf_reset(&c->body);
	buf_reset(&c->out);
	c->out_body = NULL;
	c->out_body_len = c->out_sent = 0;
	c->sent_total = c->out_mark = 0;
	memset(&c->more, 0, sizeof(c->more));
	c->chunked = false;
	conn_frame(c, false);
	c->close_after = c->error = false;
	c->drained = 0;
	c->gena_sid[0] = '\0';
	c->gena_out = false;
	c->later = NULL;
	c->req_end = 0;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	conn_state(c, C_IDLE);
	dl_push(c, Q_TIMEOUT);          /* idle from accept */
	return c;
}

static void http_io_on_pause_end(struct loop *l, void *arg)
{
	struct http_io *h = arg;

	(void)l;
	h->pause_timer = 0;
	if (h->nconns < h->e->cfg->http_max_connections)
		listen_set(h, true);
}

/*
 * Connections from a that count against http_max_per_ip: not those
 * lingering (their final answer is out, their input is only drained for
 * at most HTTP_IO_LINGER_MS): how many of one host's answered malformed
 * requests are still draining depends on the machine's speed, not on
 * the host. They still hold a slot of http_max_connections.
 */
static unsigned http_io_count_peer(const struct http_io *h, const struct ipaddr *a)
{
	const struct http_conn *c;
	unsigned n = 0;

	for (c = h->conns; c; c = c->next)
		if (c->state != C_LINGER && ipaddr_eq(&c->peer, a))
			n++;
	return n;
}

static int cmp_addr(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

/* Connections from a, in the sorted array v of every connection's peer. */
static unsigned count_sorted(const struct ipaddr *v, size_t n, const struct ipaddr *a)
{
	size_t lo = 0, hi = n, first;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ipaddr_cmp(&v[mid], a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < n && ipaddr_cmp(&v[lo], a) == 0)
		lo++;
	return (unsigned)(lo - first);
}

/*
 * Every slot is taken and a host holding held connections wants one:
 * close a lingering connection (the one nearest its end), or else the
 * idle connection (between kept-alive requests, or not yet
 * used) of the host holding the most connections, the one idle longest
 * among its, provided that host holds more than the newcomer. So hosts
 * that keep many connections open give way to hosts with few, and no
 * number of addresses holding connections shuts another host out. 0, or
 * -EBUSY (nothing to take: the newcomer is refused).
 */
static int http_io_make_room(struct http_io *h, unsigned held)
{
	struct http_conn *c, *victim = NULL;
	unsigned best = held, n;
	struct ipaddr *v;
	size_t k = 0;

	if (h->nidle == 0)
		return -EBUSY;
	/* A lingering connection first: its answer is out, so taking it
	 * costs its host nothing but the drain (one host's stream of
	 * answered malformed requests cannot hold every slot). */
	for (c = h->conns; c; c = c->next)
		if (c->state == C_LINGER && (!victim || c->deadline_ms < victim->deadline_ms))
			victim = c;
	if (victim) {
		if (log_get_verbose() >= 1) {
			char addr[IPADDR_STRLEN];

			log_debug("%s: lingering HTTP connection closed: every slot taken",
				  ipaddr_ntop(&victim->peer, addr, sizeof(addr)));
		}
		conn_close(victim);
		return 0;
	}
	v = malloc(h->nconns * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (c = h->conns; c; c = c->next)
		v[k++] = c->peer;
	qsort(v, k, sizeof(*v), cmp_addr);
	for (c = h->conns; c; c = c->next) {
		if (c->state != C_IDLE)
			continue;
		n = count_sorted(v, k, &c->peer);
		if (n > best || (victim && n == best && c->deadline_ms < victim->deadline_ms)) {
			best = n;
			victim = c;
		}
	}
	free(v);
	if (!victim)
		return -EBUSY;
	if (log_get_verbose() >= 1) {
		char addr[IPADDR_STRLEN];

		log_debug("%s: idle HTTP connection closed: every slot taken, and it holds %u",
			  ipaddr_ntop(&victim->peer, addr, sizeof(addr)), best);
	}
	conn_close(victim);
	return 0;
}

/* One accepted connection: the LAN checks, the shares, then read it at once. */
static void http_io_take(struct http_io *h, const struct http_listener *ls, int cfd,
			 const struct sockaddr_storage *ss, socklen_t len)
{
	const struct config *cfg = h->e->cfg;
	char peer[IPADDR_STRLEN];
	struct http_conn *c;
	struct ipaddr from;
	unsigned held;

	if (!ipaddr_from_sockaddr((const struct sockaddr *)ss, len, &from, NULL)) {
		close(cfd);
		return;
	}
	ipaddr_ntop(&from, peer, sizeof(peer));
	/* A host of the listener's LAN only: another LAN's hosts reach this
	 * address through the gateway, and are no host of this LAN. */
	if (!engine_lan(h->e, ls->lan) || !lan_contains(engine_lan(h->e, ls->lan), &h->e->wan6,
							&from)) {
		log_debug("%s: HTTP connection refused: not on the LAN", peer);
		close(cfd);
		return;
	}
	held = http_io_count_peer(h, &from);
	if (held >= cfg->http_max_per_ip) {
		stats_refused(&h->e->stats, STATS_REF_HTTP_PER_IP);
		log_debug("%s: HTTP connection refused: %u connections from it already",
			  peer, cfg->http_max_per_ip);
		close(cfd);
		return;
	}
	if (h->nconns >= cfg->http_max_connections && http_io_make_room(h, held) < 0) {
		stats_refused(&h->e->stats, STATS_REF_HTTP_BUSY);
		log_debug("%s: HTTP connection refused: every slot busy or held by hosts "
			  "with no more connections than it", peer);
		close(cfd);
		return;
	}
	c = conn_new(h, cfd, &from, ls->lan);
	if (!c) {
		log_debug("%s: HTTP connection dropped: out of memory", peer);
		close(cfd);
		return;
	}
	/*
	 * A client sends its request right after the handshake, so it
	 * is often here already: read at once, and join the loop only
	 * if the connection outlives that (a whole request answered
	 * with Connection: close then costs no epoll_ctl and no wait).
	 * TCP_DEFER_ACCEPT would make that certain, but it keeps idle
	 * connections from the per-address limit.
	 */
	h->probe = c;
	conn_read(c);
	if (h->probe == c) {
		h->probe = NULL;
		if (loop_fd_add(h->l, c->fd, c->events, conn_on_event, c) < 0) {
			log_debug("%s: HTTP connection dropped: cannot watch it", peer);
			conn_close(c);
		} else {
			c->registered = true;
		}
	}
}

static void http_io_on_listen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_listener *ls = arg;
	struct http_io *h = ls->h;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, cfd;

	(void)events;
	for (i = 0; i < HTTP_IO_ACCEPT_BATCH; i++) {
		if (!http_io_can_accept(h)) {
			listen_set(h, false);   /* the rest waits in the backlog */
			return;
		}
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: do not spin on the backlog. */
			log_warnx("http: accept: %s", strerror(errno));
			listen_set(h, false);
			if (!h->pause_timer) {
				int64_t id = loop_timer_in(l, HTTP_IO_PAUSE_MS, http_io_on_pause_end, h);

				h->pause_timer = id > 0 ? id : 0;
				if (id <= 0)
					listen_set(h, true);
			}
			return;
		}
		http_io_take(h, ls, cfd, &ss, len);
	}
}

/* Open a listening socket on a (of LAN lan), at port (0: the kernel's
 * choice). The port bound, or -errno. */
static int listener_open(struct http_io *h, struct http_listener *ls, unsigned lan,
			 const struct ipaddr *a, uint16_t port)
{
	const struct config *cfg = h->e->cfg;
	unsigned backlog = cfg->http_max_connections > HTTP_IO_BACKLOG ?
			   cfg->http_max_connections : HTTP_IO_BACKLOG;
	struct sockaddr_storage ss;
	socklen_t len = ipaddr_to_sockaddr(a, port, &ss);
	uint16_t bound = 0;
	struct ipaddr got;
	int one = 1, fd, r;

	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (a->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, (int)backlog) < 0) {
		r = -errno;
		goto fail;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !ipaddr_from_sockaddr((struct sockaddr *)&ss, len, &got, &bound)) {
		r = -EINVAL;
		goto fail;
	}
	r = loop_fd_add(h->l, fd, h->listening ? EPOLLIN : 0, http_io_on_listen, ls);
	if (r < 0)
		goto fail;
	ls->h = h;
	ls->fd = fd;
	ls->lan = lan;
	ls->addr = *a;
	return bound;
fail:
	close(fd);
	return r;
}

static void listener_close(struct http_listener *ls)
{
	if (ls->fd < 0)
		return;
	loop_fd_del(ls->h->l, ls->fd);
	close(ls->fd);
	ls->fd = -1;
}

/* The addresses of lan that get a listener: the primary IPv4 address
 * and every IPv6 one. */
static size_t wanted_addrs(const struct lan *l, struct ipaddr *out)
{
	size_t n = 0, i;

	if (lan_has_v4(l))
		out[n++] = ipaddr_from_v4(l->addr);
	for (i = 0; i < l->naddrs && n < IGDD_LAN_MAX_ADDRS; i++)
		if (l->addrs[i].a.family == AF_INET6)
			out[n++] = l->addrs[i].a;
	return n;
}

static bool listener_wanted(const struct http_io *h, const struct http_listener *ls)
{
	const struct lan *l = engine_lan(h->e, ls->lan);
	struct ipaddr want[IGDD_LAN_MAX_ADDRS];
	size_t n, i;

	if (!l)
		return false;
	n = wanted_addrs(l, want);
	for (i = 0; i < n; i++)
		if (ipaddr_eq(&want[i], &ls->addr))
			return true;
	return false;
}

static struct http_listener *listener_find(struct http_io *h, unsigned lan, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++)
		if (h->ls[i].fd >= 0 && h->ls[i].lan == lan && ipaddr_eq(&h->ls[i].addr, a))
			return &h->ls[i];
	return NULL;
}

static struct http_listener *listener_slot(struct http_io *h)
{
	size_t i;

	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++)
		if (h->ls[i].fd < 0)
			return &h->ls[i];
	return NULL;
}

int http_io_sync(struct http_io *h)
{
	struct engine *e = h->e;
	struct ipaddr want[IGDD_LAN_MAX_ADDRS];
	char addr[IPADDR_STRLEN];
	size_t i, j, n;
	int opened = 0, failed = 0, r;

	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++) {
		if (h->ls[i].fd >= 0 && !listener_wanted(h, &h->ls[i])) {
			log_info("http: no longer listening on %s",
				  ipaddr_ntop(&h->ls[i].addr, addr, sizeof(addr)));
			listener_close(&h->ls[i]);
		}
	}
	for (i = 0; i < e->nlans; i++) {
		n = wanted_addrs(&e->lans[i], want);
		for (j = 0; j < n; j++) {
			struct http_listener *ls;

			if (listener_find(h, (unsigned)i, &want[j]))
				continue;
			ls = listener_slot(h);
			if (!ls)
				break;
			/* One port for every address: the first bind chooses it
			 * when http_port is 0. */
			r = listener_open(h, ls, (unsigned)i, &want[j],
					  e->http_port ? e->http_port : e->cfg->http_port);
			ipaddr_ntop(&want[j], addr, sizeof(addr));
			if (r < 0) {
				log_warnx("http: cannot listen on %s (%s) port %u: %s", addr,
					  e->lans[i].name,
					  (unsigned)(e->http_port ? e->http_port : e->cfg->http_port),
					  strerror(-r));
				failed++;
				continue;
			}
			e->http_port = (uint16_t)r;
			opened++;
			log_info("http: listening on %s (%s) port %d", addr, e->lans[i].name, r);
		}
	}
	return failed && !opened && !http_io_listeners(h) ? -EADDRNOTAVAIL : opened;
}

unsigned http_io_listeners(const struct http_io *h)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++)
		if (h->ls[i].fd >= 0)
			n++;
	return n;
}

struct http_io *http_io_new(struct engine *e, struct loop *l)
{
	struct http_io *h;
	size_t i;

	h = calloc(1, sizeof(*h));
	if (!h) {
		log_warnx("http: out of memory");
		return NULL;
	}
	h->e = e;
	h->l = l;
	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++)
		h->ls[i].fd = -1;
	h->q_delay[Q_TIMEOUT] = (uint64_t)e->cfg->http_timeout * 1000u;
	h->q_delay[Q_LINGER] = HTTP_IO_LINGER_MS < h->q_delay[Q_TIMEOUT] ?
			       HTTP_IO_LINGER_MS : h->q_delay[Q_TIMEOUT];
	h->date_sec = -1;
	h->warn_slow = RATELIMIT_INIT(HTTP_IO_WARN_INTERVAL_MS, HTTP_IO_WARN_BURST);
	h->warn_stuck = RATELIMIT_INIT(HTTP_IO_WARN_INTERVAL_MS, HTTP_IO_WARN_BURST);
	h->warn_big = RATELIMIT_INIT(HTTP_IO_WARN_INTERVAL_MS, HTTP_IO_WARN_BURST);
	ssdp_server_string(e->cfg->server_os, IGDD_VERSION, h->server, sizeof(h->server));
	h->listening = true;
	if (http_io_sync(h) < 0) {
		http_io_free(h);
		return NULL;
	}
	return h;
}

void http_io_free(struct http_io *h)
{
	struct http_conn *c, *next;
	size_t i;

	if (!h)
		return;
	h->freeing = true;
	for (c = h->conns; c; c = next) {
		next = c->next;
		conn_close(c);  /* pending SUBSCRIBE responses reported failed */
	}
	if (h->spare) {
		buf_free(&h->spare->body);
		buf_free(&h->spare->out);
		free(h->spare);
	}
	if (h->timer > 0)
		loop_timer_cancel(h->l, h->timer);
	if (h->pause_timer > 0)
		loop_timer_cancel(h->l, h->pause_timer);
	for (i = 0; i < HTTP_IO_MAX_LISTENERS; i++)
		listener_close(&h->ls[i]);
	free(h);
}
