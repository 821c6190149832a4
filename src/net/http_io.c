/*
 * http_io.c - libmicrohttpd glue (http_io.h): the HTTP server of UDA 1.1
 * sections 2 (description), 3 (control) and 4 (eventing).
 *
 * MHD runs in external epoll mode: its epoll fd sits in our loop, and
 * MHD_run() is called when it is readable or when the timeout MHD asks
 * for (MHD_get_timeout) runs out, through one loop timer re-armed after
 * every run. No thread is ever started.
 *
 * Limits (ARCHITECTURE rule 4): connections in total and per source
 * address, an idle timeout, per-connection header memory (MHD options),
 * the body (IGDD_HTTP_MAX_BODY: 413 when Content-Length says so before
 * any byte is read; a chunked body that grows past it closes the
 * connection), header count (IGDD_HTTP_MAX_HEADERS: 431), and the time
 * to receive one request (http_timeout): MHD's timeout only measures
 * idleness, which a client sending a byte now and then (slow loris)
 * never reaches, so each connection receiving a request sits in a FIFO
 * by deadline and is shut down when its deadline passes. Peers outside
 * the LAN subnet are refused at accept time; methods other than the five
 * UPnP uses get 405 and a body framed twice (Content-Length twice, or
 * with Transfer-Encoding) 400, without reaching the handler.
 * docs/LIMITS.md lists every limit with the test that reaches it.
 */
#include "net/http_io.h"

#include "conf/config.h"
#include "engine.h"
#include "loop/loop.h"
#include "svc/gena.h"
#include "svc/httpd.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#define HTTP_IO_MAX_WAIT_MS 60000       /* re-run MHD at least this often */
#define HTTP_IO_BACKLOG 128u
#define HTTP_IO_WARN_INTERVAL_MS 60000  /* peer-triggered warnings: a few per minute */
#define HTTP_IO_WARN_BURST 5

/*
 * One connection (MHD's socket context). While it is receiving a
 * request (from accept, or from the end of the previous response on a
 * kept-alive connection, until the request is complete) it is queued
 * from http_io.recv_head; deadlines are all now + http_timeout, so the
 * queue is in deadline order and the head is the next to expire.
 */
struct http_io_conn {
	struct http_io_conn *prev, *next;
	bool queued;
	int fd;
	struct in_addr peer;
	uint64_t deadline_ms;
};

struct http_io {
	struct engine *e;
	struct loop *l;
	struct MHD_Daemon *mhd;
	int epfd;                       /* MHD's epoll fd, in our loop */
	int64_t timer;                  /* MHD timeout timer (0: none) */
	uint64_t timer_when;
	bool running;                   /* start-up done: MHD messages drop to debug */
	char server[160];               /* SERVER: OS/version UPnP/1.1 igdd/version */
	struct http_io_conn *recv_head, *recv_tail;  /* receiving, by deadline */
	unsigned nconns;                /* open connections */
	bool rerun;                     /* run MHD again at once (see http_io_arm) */
	struct ratelimit warn_slow, warn_big;
};

/* One request (MHD's con_cls): its body so far. */
struct http_io_req {
	struct buf body;
	bool too_big;
	char gena_sid[GENA_SID_SIZE];   /* a SUBSCRIBE's SID until its response is out */
};

/* Headers of one request, borrowed from MHD for the length of the call. */
struct http_io_headers {
	struct http_header h[IGDD_HTTP_MAX_HEADERS];
	size_t n;
	bool too_many;
};

static const char *const http_io_methods[] = {
	"GET", "HEAD", "POST", "SUBSCRIBE", "UNSUBSCRIBE",
};

static void http_io_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void http_io_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_io *h = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Once running, what MHD says is mostly about what a peer did. */
	if (h->running)
		log_debug("http: %s", msg);
	else
		log_warnx("http: %s", msg);
}

/* " (N similar not logged)" after a rate-limited warning, or "". */
static const char *http_io_more(char out[48], unsigned suppressed)
{
	out[0] = '\0';
	if (suppressed)
		snprintf(out, 48, " (%u similar not logged)", suppressed);
	return out;
}

/* ---- the request time limit ---- */

static void conn_unqueue(struct http_io *h, struct http_io_conn *c)
{
	if (!c || !c->queued)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->recv_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->recv_tail = c->prev;
	c->prev = c->next = NULL;
	c->queued = false;
}

/* A request starts arriving on c: it has http_timeout seconds. */
static void conn_receiving(struct http_io *h, struct http_io_conn *c)
{
	if (!c)
		return;
	conn_unqueue(h, c);
	c->deadline_ms = loop_now_ms(h->l) + (uint64_t)h->e->cfg->http_timeout * 1000u;
	c->prev = h->recv_tail;
	if (h->recv_tail)
		h->recv_tail->next = c;
	else
		h->recv_head = c;
	h->recv_tail = c;
	c->queued = true;
}

static struct http_io_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void http_io_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
				  enum MHD_ConnectionNotificationCode toe)
{
	struct http_io *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_io_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* A slot freed at the connection limit: see http_io_arm(). */
		if (h->nconns-- >= h->e->cfg->http_max_connections)
			h->rerun = true;
		conn_unqueue(h, c);
		free(c);
		*socket_context = NULL;
		return;
	}
	h->nconns++;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;         /* MHD's idle timeout still applies */
	c->fd = -1;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		c->fd = ci->connect_fd;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		c->peer = ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr;
	*socket_context = c;
	conn_receiving(h, c);
}

/*
 * Shut down every connection whose request is not in by its deadline.
 * MHD sees the end of the stream on its next run and closes it.
 */
static void http_io_expire(struct http_io *h)
{
	uint64_t now = loop_now_ms(h->l);
	char peer[INET_ADDRSTRLEN];
	struct http_io_conn *c;
	unsigned n = 0, suppressed;
	char more[48];

	while ((c = h->recv_head) != NULL && c->deadline_ms <= now) {
		conn_unqueue(h, c);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		n++;
		if (ratelimit_ok(&h->warn_slow, now, &suppressed)) {
			inet_ntop(AF_INET, &c->peer, peer, sizeof(peer));
			log_warnx("%s: HTTP request not complete after %u s, connection closed%s",
				  peer, h->e->cfg->http_timeout, http_io_more(more, suppressed));
		}
	}
	if (n)
		log_debug("http: %u slow connection(s) closed", n);
}

static enum MHD_Result http_io_on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct http_io *h = cls;
	const struct sockaddr_in *sin = (const void *)sa;
	char peer[INET_ADDRSTRLEN];

	if (sa->sa_family != AF_INET || len < (socklen_t)sizeof(*sin))
		return MHD_NO;
	if (!engine_on_lan(h->e, sin->sin_addr)) {
		inet_ntop(AF_INET, &sin->sin_addr, peer, sizeof(peer));
		log_debug("%s: HTTP connection refused: not on the LAN", peer);
		return MHD_NO;
	}
	return MHD_YES;
}

static bool http_io_method_ok(const char *method)
{
	size_t i;

	for (i = 0; i < sizeof(http_io_methods) / sizeof(http_io_methods[0]); i++)
		if (strcmp(method, http_io_methods[i]) == 0)
			return true;
	return false;
}

/*
 * MHD 0.9.75 refuses an empty value, which UDA needs for "EXT:" (3.2.2):
 * one space is sent instead, an empty field value once optional white
 * space is trimmed (RFC 7230 section 3.2).
 */
static void http_io_add_header(struct MHD_Response *r, const char *name, const char *value)
{
	if (!value || !value[0])
		value = " ";
	if (MHD_add_response_header(r, name, value) != MHD_YES)
		log_debug("http: cannot add header '%s'", name);
}

/* A short plain answer made here (405, 413, 431, 500). */
static enum MHD_Result http_io_queue_status(struct http_io *h, struct MHD_Connection *conn,
					    unsigned status)
{
	static const char body[] = "";
	struct MHD_Response *r;
	enum MHD_Result ret;

	conn_unqueue(h, conn_of(conn));         /* the request is over */
	r = MHD_create_response_from_buffer(0, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	http_io_add_header(r, MHD_HTTP_HEADER_SERVER, h->server);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		http_io_add_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST, SUBSCRIBE, UNSUBSCRIBE");
	if (status != MHD_HTTP_METHOD_NOT_ALLOWED)
		http_io_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_io_collect_header(void *cls, enum MHD_ValueKind kind,
					      const char *key, const char *value)
{
	struct http_io_headers *hs = cls;

	(void)kind;
	if (hs->n == IGDD_HTTP_MAX_HEADERS) {
		hs->too_many = true;
		return MHD_NO;
	}
	hs->h[hs->n].name = key;
	hs->h[hs->n].value = value ? value : "";
	hs->n++;
	return MHD_YES;
}

/* The handler's answer as an MHD response (the body is handed over). */
static struct MHD_Response *http_io_make_response(struct http_io *h, struct http_response *resp)
{
	struct MHD_Response *r;
	size_t len = 0, i;
	char *body;

	body = buf_steal(&resp->body, &len);
	if (!body)
		return NULL;
	/* MHD frees body with free() once the response is sent. */
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return NULL;
	}
	http_io_add_header(r, MHD_HTTP_HEADER_SERVER, h->server);
	if (resp->content_type)
		http_io_add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (i = 0; i < resp->nheaders && i < HTTP_MAX_RESP_HEADERS; i++)
		http_io_add_header(r, resp->hdr_name[i], resp->hdr_value[i]);
	return r;
}

/* The request is complete: build it, ask httpd_handle(), queue the answer. */
static enum MHD_Result http_io_respond(struct http_io *h, struct MHD_Connection *conn,
				       struct http_io_req *st, const char *url,
				       const char *method, const char *version)
{
	const union MHD_ConnectionInfo *ci;
	struct http_io_headers hs;
	struct http_request req;
	struct http_response resp;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status;

	conn_unqueue(h, conn_of(conn));         /* the request is in */
	memset(&req, 0, sizeof(req));
	memset(&hs, 0, sizeof(hs));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, http_io_collect_header, &hs);
	if (hs.too_many)
		return http_io_queue_status(h, conn, 431);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return MHD_NO;
	req.peer = ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr;
	req.method = method;
	req.url = url;
	req.http_minor = strcmp(version, MHD_HTTP_VERSION_1_0) == 0 ? 0 : 1;
	req.headers = hs.h;
	req.nheaders = hs.n;
	req.body = str_from(st->body.p ? st->body.p : "", st->body.len);

	http_response_init(&resp);
	httpd_handle(h->e, &req, &resp);
	status = resp.status >= 100 && resp.status <= 599 ? (unsigned)resp.status : 500;
	if (resp.body.toobig) {
		char peer[INET_ADDRSTRLEN], more[48];
		unsigned suppressed;

		if (ratelimit_ok(&h->warn_big, loop_now_ms(h->l), &suppressed)) {
			inet_ntop(AF_INET, &req.peer, peer, sizeof(peer));
			log_warnx("%s: %s: response larger than its limit, answering 500%s", peer,
				  method, http_io_more(more, suppressed));
		}
		http_response_free(&resp);
		return http_io_queue_status(h, conn, 500);
	}
	r = http_io_make_response(h, &resp);
	if (r && h->e->gena && strcmp(method, "SUBSCRIBE") == 0)
		gena_response_sid(&resp, st->gena_sid);
	http_response_free(&resp);
	if (!r)
		return http_io_queue_status(h, conn, 500);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Content-Length and Transfer-Encoding headers of a request. */
struct http_io_framing {
	unsigned content_length, transfer_encoding;
};

static enum MHD_Result http_io_count_framing(void *cls, enum MHD_ValueKind kind,
					     const char *key, const char *value)
{
	struct http_io_framing *f = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->content_length++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		f->transfer_encoding++;
	return MHD_YES;
}

/* First call for a request: headers are in, no body byte read yet. */
static enum MHD_Result http_io_begin(struct http_io *h, struct MHD_Connection *conn,
				     const char *method, void **con_cls)
{
	struct http_io_framing fr = { 0, 0 };
	const char *cl;
	struct http_io_req *st;

	if (!http_io_method_ok(method))
		return http_io_queue_status(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED);
	/*
	 * A body framed twice (two Content-Length, or Content-Length with
	 * Transfer-Encoding) is how requests are smuggled past a proxy that
	 * reads the other framing: refused, and the connection closed
	 * (RFC 9112 sections 6.1 and 6.3).
	 */
	MHD_get_connection_values(conn, MHD_HEADER_KIND, http_io_count_framing, &fr);
	if (fr.content_length > 1 || fr.transfer_encoding > 1 ||
	    (fr.content_length && fr.transfer_encoding))
		return http_io_queue_status(h, conn, MHD_HTTP_BAD_REQUEST);
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		uint64_t n;

		/* MHD has checked the syntax; only the size matters here. */
		if (str_to_u64(str_cstr(cl), UINT64_MAX, &n) == 0 && n > IGDD_HTTP_MAX_BODY)
			return http_io_queue_status(h, conn, MHD_HTTP_CONTENT_TOO_LARGE);
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return MHD_NO;
	buf_init(&st->body, IGDD_HTTP_MAX_BODY);
	*con_cls = st;
	return MHD_YES;         /* MHD answers "Expect: 100-continue" now */
}

static enum MHD_Result http_io_on_request(void *cls, struct MHD_Connection *conn,
					  const char *url, const char *method,
					  const char *version, const char *upload_data,
					  size_t *upload_data_size, void **con_cls)
{
	struct http_io *h = cls;
	struct http_io_req *st = *con_cls;

	if (!st)
		return http_io_begin(h, conn, method, con_cls);
	if (*upload_data_size > 0) {
		if (!st->too_big && buf_append(&st->body, upload_data, *upload_data_size) < 0)
			st->too_big = true;
		*upload_data_size = 0;
		/* A chunked body past the limit: stop reading, close. */
		return st->too_big ? MHD_NO : MHD_YES;
	}
	return http_io_respond(h, conn, st, url, method, version);
}

static void http_io_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
				 enum MHD_RequestTerminationCode toe)
{
	struct http_io *h = cls;
	struct http_io_req *st = *con_cls;

	/* A kept-alive connection waits for its next request: the clock
	 * restarts (a closing one is unqueued again when it is closed). */
	conn_receiving(h, conn_of(conn));
	if (!st)
		return;
	/* UDA 1.1 4.2: the initial event only once the SUBSCRIBE response is out. */
	if (st->gena_sid[0] && h->e->gena) {
		if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
			gena_response_sent(h->e->gena, st->gena_sid);
		else
			gena_response_failed(h->e->gena, st->gena_sid);
	}
	buf_free(&st->body);
	free(st);
	*con_cls = NULL;
}

static void http_io_arm(struct http_io *h);

static void http_io_on_timer(struct loop *l, void *arg)
{
	struct http_io *h = arg;

	(void)l;
	h->timer = 0;
	http_io_expire(h);
	MHD_run(h->mhd);
	http_io_arm(h);
}

static void http_io_on_epoll(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_io *h = arg;

	(void)l;
	(void)fd;
	(void)events;
	MHD_run(h->mhd);
	http_io_arm(h);
}

/*
 * Keep one timer at the time MHD wants to run next (timeouts, pending
 * data) or the first request deadline, whichever comes first. At the
 * connection limit MHD takes its listening socket out of its epoll set,
 * and puts it back only at the start of a run: when a slot frees there,
 * run it again at once, or a connection waiting in the backlog would
 * wait for the next timeout.
 */
static void http_io_arm(struct http_io *h)
{
	MHD_UNSIGNED_LONG_LONG t;
	uint64_t when;
	int64_t id;

	if (MHD_get_timeout(h->mhd, &t) != MHD_YES || t > HTTP_IO_MAX_WAIT_MS)
		t = HTTP_IO_MAX_WAIT_MS;
	if (h->rerun) {
		h->rerun = false;
		t = 0;
	}
	when = loop_now_ms(h->l) + t;
	if (h->recv_head && h->recv_head->deadline_ms < when)
		when = h->recv_head->deadline_ms;
	if (h->timer > 0 && h->timer_when <= when)
		return;         /* an earlier run is due anyway; it re-arms */
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

static void http_io_server_string(char *out, size_t outsz)
{
	struct utsname u;

	if (uname(&u) < 0) {
		snprintf(out, outsz, "Linux/unknown UPnP/1.1 igdd/%s", IGDD_VERSION);
		return;
	}
	snprintf(out, outsz, "%s/%s UPnP/1.1 igdd/%s", u.sysname, u.release, IGDD_VERSION);
}

static struct MHD_Daemon *http_io_start(struct http_io *h)
{
	const struct config *cfg = h->e->cfg;
	struct sockaddr_in sin;
	unsigned backlog = cfg->http_max_connections > HTTP_IO_BACKLOG ?
			   cfg->http_max_connections : HTTP_IO_BACKLOG;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = h->e->lan_addr;
	sin.sin_port = htons(cfg->http_port);
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, cfg->http_port,
		http_io_on_accept, h, http_io_on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, http_io_mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->http_max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->http_max_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->http_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)IGDD_HTTP_CONN_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, backlog,
		MHD_OPTION_NOTIFY_COMPLETED, http_io_on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, http_io_on_connection, h,
		MHD_OPTION_END);
}

struct http_io *http_io_new(struct engine *e, struct loop *l)
{
	const union MHD_DaemonInfo *info;
	char addr[INET_ADDRSTRLEN];
	struct http_io *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h) {
		log_warnx("http: out of memory");
		return NULL;
	}
	h->e = e;
	h->l = l;
	h->epfd = -1;
	h->warn_slow = RATELIMIT_INIT(HTTP_IO_WARN_INTERVAL_MS, HTTP_IO_WARN_BURST);
	h->warn_big = RATELIMIT_INIT(HTTP_IO_WARN_INTERVAL_MS, HTTP_IO_WARN_BURST);
	http_io_server_string(h->server, sizeof(h->server));
	inet_ntop(AF_INET, &e->lan_addr, addr, sizeof(addr));
	h->mhd = http_io_start(h);
	if (!h->mhd) {
		log_warnx("http: cannot listen on %s port %u", addr, (unsigned)e->cfg->http_port);
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		log_warnx("http: libmicrohttpd has no epoll fd");
		goto fail;
	}
	h->epfd = info->epoll_fd;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0) {
		log_warnx("http: cannot learn the bound port");
		goto fail;
	}
	e->http_port = info->port;
	r = loop_fd_add(l, h->epfd, EPOLLIN, http_io_on_epoll, h);
	if (r < 0) {
		log_warnx("http: cannot add the epoll fd to the loop: %s", strerror(-r));
		h->epfd = -1;
		goto fail;
	}
	http_io_arm(h);
	h->running = true;
	log_debug("http: listening on %s:%u", addr, (unsigned)e->http_port);
	return h;
fail:
	http_io_free(h);
	return NULL;
}

void http_io_free(struct http_io *h)
{
	if (!h)
		return;
	if (h->timer > 0)
		loop_timer_cancel(h->l, h->timer);
	if (h->epfd >= 0)
		loop_fd_del(h->l, h->epfd);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}
