/*
 * upstream_upnp.c - igdd's UPnP IGD control point on the WAN segment
 * (upstream_upnp.h). UDA 1.1: 1.3.2 (M-SEARCH: multicast to
 * 239.255.255.250:1900, TTL 2, MX 2; answers unicast to the searching
 * port), 1.3.3 (the answer's LOCATION and BOOTID.UPNP.ORG), 2.3 (GET the
 * description), 3.2 (SOAP POST). Messages: proto/igdc.c.
 *
 * Discovery: M-SEARCH for InternetGatewayDevice:2, InternetGatewayDevice:1
 * (IGD:2 devices answer it too, some with a version 1 description) and
 * WANIPConnection:1, from a socket bound to the WAN address
 * with IP_MULTICAST_IF the WAN interface; answers collected for wait_ms;
 * only answers whose LOCATION names the address they came from count, at
 * most IGDD_UPSTREAM_UPNP_DEVICES, the preferred one (the default
 * gateway) first, an answer to the version 2 search before the others;
 * their descriptions fetched in turn until one has a WAN
 * connection service.
 */
#include "net/upstream_upnp.h"

#include "core/clock.h"
#include "loop/loop.h"
#include "net/wansock.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum link_state { L_IDLE, L_SEARCH, L_DESCRIBE, L_CALL };

struct upnp_link {
	struct loop *l;
	struct in_addr wan, prefer;
	unsigned ifindex;
	uint64_t wait_ms, timeout_ms;
	upnp_fn fn;
	void *arg;

	enum link_state state;
	int udp, tcp;
	int64_t timer;
	struct buf out, in;
	size_t sent;
	char action[40];
	bool sync, sync_done;           /* upnp_link_call_sync() */
	enum upnp_event sync_ev;
	struct upnp_reply sync_r;

	struct igdc_found dev[IGDD_UPSTREAM_UPNP_DEVICES];
	unsigned ndev, cur;
	bool have_service;
	struct igdc_service svc;
	bool have_bootid;
	uint32_t bootid;
};

static void tcp_close(struct upnp_link *k)
{
	if (k->tcp >= 0) {
		loop_fd_del(k->l, k->tcp);
		close(k->tcp);
		k->tcp = -1;
	}
}

static void udp_close(struct upnp_link *k)
{
	if (k->udp >= 0) {
		loop_fd_del(k->l, k->udp);
		close(k->udp);
		k->udp = -1;
	}
}

void upnp_link_cancel(struct upnp_link *k)
{
	loop_timer_clear(k->l, &k->timer);
	tcp_close(k);
	udp_close(k);
	k->state = L_IDLE;
}

static void finish(struct upnp_link *k, enum upnp_event ev, const struct upnp_reply *r)
{
	upnp_link_cancel(k);
	if (k->sync) {
		k->sync_done = true;
		k->sync_ev = ev;
		if (r)
			k->sync_r = *r;
		return;
	}
	k->fn(k->arg, ev, r);
}

/* ---- one HTTP exchange ---- */

static void describe_next(struct upnp_link *k);
static void on_deadline(struct loop *l, void *arg);

static void exchange_done(struct upnp_link *k, bool ok)
{
	struct upnp_reply r;
	size_t body, blen;
	bool chunked = false;
	int status, x;

	memset(&r, 0, sizeof(r));
	x = ok ? igdc_http_response(k->in.p ? k->in.p : "", k->in.len, true, &status, &body, &blen,
				    &chunked) : -1;
	if (x == 1 && chunked)
		blen = igdc_http_dechunk(k->in.p + body, blen);
	tcp_close(k);
	loop_timer_clear(k->l, &k->timer);
	if (k->state == L_DESCRIBE) {
		struct igdc_service s;

		if (x == 1 && status == 200 &&
		    igdc_parse_description(k->in.p + body, blen, &k->dev[k->cur].location, &s) == 0) {
			k->svc = s;
			k->have_service = true;
			k->have_bootid = k->dev[k->cur].have_bootid;
			k->bootid = k->dev[k->cur].bootid;
			finish(k, UPNP_FOUND, NULL);
			return;
		}
		k->cur++;
		describe_next(k);
		return;
	}
	if (x != 1 || (status != 200 && status != 500) ||
	    igdc_parse_soap(k->in.p + body, blen, k->action, &r.soap) < 0 ||
	    (status == 200) == r.soap.fault) {
		finish(k, UPNP_FAILED, NULL);
		return;
	}
	r.status = status;
	finish(k, UPNP_REPLY, &r);
}

static void on_tcp(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upnp_link *k = arg;
	char tmp[4096];
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)l;
	if (k->sent < k->out.len) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			exchange_done(k, false);
			return;
		}
		n = send(fd, k->out.p + k->sent, k->out.len - k->sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			exchange_done(k, false);
			return;
		}
		k->sent += (size_t)n;
		if (k->sent == k->out.len)
			loop_fd_mod(k->l, fd, EPOLLIN);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		int st;
		size_t b, bl;
		bool ch;

		n = recv(fd, tmp, sizeof(tmp), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* complete (a Content-Length, or the last chunk) before the close */
			if (igdc_http_response(k->in.p ? k->in.p : "", k->in.len, false, &st, &b, &bl,
					       &ch) == 1)
				exchange_done(k, true);
			return;
		}
		if (n <= 0) {
			exchange_done(k, n == 0);
			return;
		}
		if (buf_append(&k->in, tmp, (size_t)n) < 0) {
			exchange_done(k, false);        /* beyond IGDD_UPSTREAM_UPNP_MAX_BODY */
			return;
		}
	}
}

/* Watch the link's new socket fd for events (cb), with the deadline
 * ms from now: 0, or -errno with fd closed. */
static int link_watch(struct upnp_link *k, int fd, uint32_t events, loop_fd_fn cb, uint64_t ms)
{
	int r = loop_fd_add(k->l, fd, events, cb, k);

	if (r < 0) {
		close(fd);
		return r;
	}
	loop_timer_set_in(k->l, &k->timer, ms, on_deadline, k);
	return 0;
}

/* Connect to url from the WAN address and send k->out. */
static int exchange_start(struct upnp_link *k, const struct gena_url *url)
{
	struct sockaddr_in a;
	int fd, r;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr = url->addr.u.v4;
	a.sin_port = htons(url->port);
	fd = wansock_open(SOCK_STREAM, k->wan, &a);
	if (fd < 0)
		return fd;
	if ((r = link_watch(k, fd, EPOLLOUT, on_tcp, k->timeout_ms)) < 0)
		return r;
	k->tcp = fd;
	k->sent = 0;
	buf_reset(&k->in);
	return 0;
}

/* ---- discovery ---- */

static void describe_next(struct upnp_link *k)
{
	for (; k->cur < k->ndev; k->cur++) {
		buf_reset(&k->out);
		if (igdc_build_get(&k->out, &k->dev[k->cur].location) == 0 &&
		    exchange_start(k, &k->dev[k->cur].location) == 0)
			return;
	}
	finish(k, UPNP_NOT_FOUND, NULL);
}

static void on_deadline(struct loop *l, void *arg)
{
	struct upnp_link *k = arg;

	(void)l;
	k->timer = 0;
	if (k->state == L_SEARCH) {
		udp_close(k);
		k->state = L_DESCRIBE;
		k->cur = 0;
		describe_next(k);
		return;
	}
	exchange_done(k, false);
}

static unsigned rank(const struct upnp_link *k, const struct igdc_found *f)
{
	size_t n = strlen(f->st);

	return (f->location.addr.u.v4.s_addr == k->prefer.s_addr ? 2u : 0u) +
	       (n && f->st[n - 1] == '2' ? 1u : 0u);
}

static void on_udp(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upnp_link *k = arg;
	char buf[1500];
	unsigned i;

	(void)l;
	(void)events;
	for (i = 0; i < 32; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		struct igdc_found f;
		unsigned j;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		if (igdc_parse_search(buf, (size_t)n, &f) < 0 ||
		    f.location.addr.u.v4.s_addr != from.sin_addr.s_addr)
			continue;       /* a LOCATION elsewhere than its sender: not taken */
		for (j = 0; j < k->ndev; j++)
			if (k->dev[j].location.addr.u.v4.s_addr == f.location.addr.u.v4.s_addr &&
			    k->dev[j].location.port == f.location.port &&
			    strcmp(k->dev[j].location.path, f.location.path) == 0)
				break;
		if (j < k->ndev) {
			if (f.have_bootid && !k->dev[j].have_bootid)
				k->dev[j] = f;
			continue;
		}
		if (k->ndev == IGDD_UPSTREAM_UPNP_DEVICES)
			continue;
		/* in order of rank: the preferred device first, then an
		 * answer to a version 2 search (its description names the
		 * version 2 service, with AddAnyPortMapping) */
		for (j = k->ndev; j > 0 && rank(k, &k->dev[j - 1]) < rank(k, &f); j--)
			k->dev[j] = k->dev[j - 1];
		k->dev[j] = f;
		k->ndev++;
	}
}

int upnp_link_discover(struct upnp_link *k)
{
	static const char *const sts[] = {
		"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
		"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
		"urn:schemas-upnp-org:service:WANIPConnection:1",
	};
	struct sockaddr_in a;
	struct ip_mreqn mr;
	int fd, ttl = 2, zero = 0, r;
	char msg[256];
	size_t i, n;

	upnp_link_cancel(k);
	k->ndev = 0;
	k->have_service = false;
	fd = wansock_open(SOCK_DGRAM, k->wan, NULL);
	if (fd < 0)
		return fd;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	memset(&mr, 0, sizeof(mr));
	mr.imr_address = k->wan;
	mr.imr_ifindex = (int)k->ifindex;
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)) < 0)
		goto fail;
	a.sin_addr.s_addr = htonl(0xeffffffau);        /* 239.255.255.250 */
	a.sin_port = htons(1900);
	for (i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
		n = igdc_build_msearch(msg, sizeof(msg), sts[i]);
		if (n && sendto(fd, msg, n, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
	}
	if ((r = link_watch(k, fd, EPOLLIN, on_udp, k->wait_ms)) < 0)
		return r;
	k->udp = fd;
	k->state = L_SEARCH;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

int upnp_link_call(struct upnp_link *k, const char *action, const char *const *names,
		   const char *const *values, unsigned n)
{
	int r;

	upnp_link_cancel(k);
	if (!k->have_service)
		return -ENOENT;
	buf_reset(&k->out);
	if (igdc_build_soap(&k->out, &k->svc.control, k->svc.type, action, names, values, n) < 0)
		return -E2BIG;
	snprintf(k->action, sizeof(k->action), "%s", action);
	r = exchange_start(k, &k->svc.control);
	if (r == 0)
		k->state = L_CALL;
	return r;
}

int upnp_link_call_sync(struct upnp_link *k, const char *action, const char *const *names,
			const char *const *values, unsigned n, uint64_t timeout_ms,
			struct upnp_reply *ret)
{
	uint64_t end = clock_monotonic_ms(NULL) + timeout_ms, now;
	int rc;

	rc = upnp_link_call(k, action, names, values, n);
	if (rc < 0)
		return rc;
	k->sync = true;
	k->sync_done = false;
	while (!k->sync_done && (now = clock_monotonic_ms(NULL)) < end) {
		struct pollfd pf = { k->tcp, (short)(k->sent < k->out.len ? POLLOUT : POLLIN), 0 };
		int w = poll(&pf, 1, (int)(end - now));

		if (w < 0 && errno != EINTR)
			break;
		if (w > 0)
			on_tcp(k->l, k->tcp, ((pf.revents & POLLOUT) ? EPOLLOUT : 0) |
			       ((pf.revents & (POLLIN | POLLHUP | POLLERR)) ? EPOLLIN : 0), k);
	}
	k->sync = false;
	if (!k->sync_done) {
		upnp_link_cancel(k);
		return -ETIMEDOUT;
	}
	if (k->sync_ev != UPNP_REPLY)
		return -EIO;
	*ret = k->sync_r;
	return 0;
}

const struct igdc_service *upnp_link_service(const struct upnp_link *k)
{
	return k->have_service ? &k->svc : NULL;
}

bool upnp_link_bootid(const struct upnp_link *k, uint32_t *ret)
{
	if (k->have_bootid)
		*ret = k->bootid;
	return k->have_bootid;
}

struct upnp_link *upnp_link_new(struct loop *l, struct in_addr wan, unsigned ifindex,
				struct in_addr prefer, uint64_t wait_ms, uint64_t timeout_ms,
				upnp_fn fn, void *arg)
{
	struct upnp_link *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->l = l;
	k->wan = wan;
	k->ifindex = ifindex;
	k->prefer = prefer;
	k->wait_ms = wait_ms;
	k->timeout_ms = timeout_ms;
	k->fn = fn;
	k->arg = arg;
	k->udp = k->tcp = -1;
	buf_init(&k->out, 8192);
	buf_init(&k->in, IGDD_UPSTREAM_UPNP_MAX_BODY);
	return k;
}

void upnp_link_free(struct upnp_link *k)
{
	if (!k)
		return;
	upnp_link_cancel(k);
	buf_free(&k->out);
	buf_free(&k->in);
	free(k);
}
