/*
 * ssdp_io.c - SSDP on the LAN interface (UPnP Device Architecture 1.1
 * section 1): one UDP socket on *:1900 in the 239.255.255.250 group,
 * M-SEARCH answers (1.3.3; multicast ones after a random delay of up to
 * MX seconds through loop timers, unicast ones at once), ssdp:byebye then
 * ssdp:alive at start and periodic ssdp:alive (1.2.2, 1.2.3), ssdp:byebye
 * on clean shutdown. The texts come from proto/ssdp.c.
 *
 * What a LAN host can make us do is bounded: only datagrams that arrive
 * on the LAN interface from an address inside the LAN subnet are looked
 * at, delayed answers wait in a fixed table of IGDD_SSDP_MAX_PENDING
 * slots, every answer sent takes a token from a bucket (a spoofed ssdp:all
 * turns one datagram into nine), and what is dropped is logged at most
 * once per SSDP_LOG_INTERVAL_MS. We send only to the SSDP group or to a
 * searcher inside the LAN subnet (ssdp_send() checks it again).
 */
#include "net/ssdp_io.h"

#include "conf/config.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/udp.h"
#include "proto/ssdp.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SSDP_REPEAT_MS        100    /* each advertisement set goes out twice */
#define SSDP_MX_MARGIN_MS     100    /* answer this much before MX runs out */
#define SSDP_RX_BUDGET        64     /* datagrams read per wake-up */
#define SSDP_ANSWER_BURST     512    /* answers sent back to back at most, */
#define SSDP_ANSWER_RATE      256    /* then this many per second */
#define SSDP_LOG_INTERVAL_MS  10000
#define SSDP_MIN_INTERVAL_S   30     /* the config's lower bound for notify_interval */

struct ssdp_io;

/* A delayed answer to a multicast search; free while timer == 0. */
struct ssdp_pending {
	struct ssdp_io *io;
	int64_t timer;
	struct sockaddr_in to;
	struct ssdp_answer ans;
};

/* One kind of rate-limited log line. */
struct ssdp_ratelog {
	bool used;
	uint64_t last_ms;
	unsigned suppressed;
};

/* The advertisement cycle (1.2.2): twice byebye, then twice alive, repeated. */
enum ssdp_phase { SSDP_PHASE_BYEBYE1, SSDP_PHASE_BYEBYE2, SSDP_PHASE_ALIVE1, SSDP_PHASE_ALIVE2 };

struct ssdp_io {
	struct engine *e;
	struct loop *l;
	int fd;
	unsigned ifindex;
	unsigned lo_ifindex;              /* 0 when there is no "lo" */
	char server[SSDP_SERVER_MAX];
	enum ssdp_phase phase;
	int64_t announce_timer;
	struct ssdp_pending *pending[IGDD_SSDP_MAX_PENDING];  /* allocated on first use */
	size_t npending;
	unsigned tokens;
	uint64_t tokens_ms;
	uint64_t rng;
	struct buf out;
	struct ssdp_ratelog log_full, log_tokens, log_send, log_recv, log_refuse;
};

/* ---- helpers -------------------------------------------------------- */

static bool ratelog_ok(struct ssdp_io *s, struct ssdp_ratelog *rl, unsigned *ret_suppressed)
{
	uint64_t now = loop_now_ms(s->l);

	if (rl->used && now - rl->last_ms < SSDP_LOG_INTERVAL_MS) {
		rl->suppressed++;
		return false;
	}
	*ret_suppressed = rl->suppressed;
	rl->used = true;
	rl->last_ms = now;
	rl->suppressed = 0;
	return true;
}

/* xorshift64*: the delays only need to be spread, not secret. */
static uint32_t ssdp_random(struct ssdp_io *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static void ssdp_seed(struct ssdp_io *s)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = loop_now_ms(s->l) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static void peer_format(const struct sockaddr_in *sin, char *out, size_t outsz)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(out, outsz, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
}

/*
 * A searcher we may answer: inside the LAN subnet, and not its network
 * or broadcast address (a spoofed source there would make our unicast
 * answer a LAN broadcast).
 */
static bool peer_ok(const struct ssdp_io *s, struct in_addr a)
{
	uint32_t mask = ntohl(s->e->lan_mask.s_addr), host = ntohl(a.s_addr);

	if (!engine_on_lan(s->e, a))
		return false;
	if (mask < 0xfffffffeU && ((host & ~mask) == 0 || (host & ~mask) == ~mask))
		return false;
	return true;
}

/* The texts' inputs, read from the engine each time (IDs may change). */
static void ssdp_device_of(const struct ssdp_io *s, struct ssdp_device *d)
{
	const struct engine *e = s->e;
	unsigned interval = e->cfg->notify_interval;

	memset(d, 0, sizeof(*d));
	d->uuid[SSDP_DEV_ROOT] = e->uuid_root;
	d->uuid[SSDP_DEV_WAN] = e->uuid_wandev;
	d->uuid[SSDP_DEV_WANCONN] = e->uuid_wanconn;
	d->addr = e->lan_addr;
	d->http_port = e->http_port;
	d->boot_id = e->boot_id;
	d->config_id = e->config_id;
	d->max_age = ssdp_max_age(interval < SSDP_MIN_INTERVAL_S ? SSDP_MIN_INTERVAL_S : interval);
	d->server = s->server;
}

/* Send b to *to from the LAN address on the LAN interface. */
static void ssdp_send(struct ssdp_io *s, const struct sockaddr_in *to, const struct buf *b)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = b->p, .iov_len = b->len };
	struct msghdr msg;
	struct cmsghdr *cm;
	struct in_pktinfo pi;
	unsigned suppressed;
	char peer[INET_ADDRSTRLEN + 8];

	if (to->sin_addr.s_addr != htonl(SSDP_MCAST_ADDR_HOST) && !peer_ok(s, to->sin_addr)) {
		/* Answers queued before the LAN address changed can all land
		 * here at once. */
		if (ratelog_ok(s, &s->log_refuse, &suppressed)) {
			peer_format(to, peer, sizeof(peer));
			log_warnx("%s: SSDP: refusing to send outside the LAN (%u more not logged)",
				  peer, suppressed);
		}
		return;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&ctl, 0, sizeof(ctl));
	memset(&pi, 0, sizeof(pi));
	msg.msg_name = (void *)to;
	msg.msg_namelen = sizeof(*to);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	pi.ipi_ifindex = (int)s->ifindex;
	pi.ipi_spec_dst = s->e->lan_addr;
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	if (sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    ratelog_ok(s, &s->log_send, &suppressed)) {
		peer_format(to, peer, sizeof(peer));
		log_warn("%s: SSDP: send (%u more failures not logged)", peer, suppressed);
	}
}

/* ---- advertisements (1.2.2, 1.2.3) ---------------------------------- */

static void ssdp_announce(struct ssdp_io *s, enum ssdp_nts nts)
{
	struct ssdp_answer set[SSDP_ANNOUNCE_COUNT];
	struct ssdp_device d;
	struct sockaddr_in group;
	size_t n, i;

	memset(&group, 0, sizeof(group));
	group.sin_family = AF_INET;
	group.sin_addr.s_addr = htonl(SSDP_MCAST_ADDR_HOST);
	group.sin_port = htons(SSDP_PORT);
	ssdp_device_of(s, &d);
	n = ssdp_announce_set(&d, set);
	for (i = 0; i < n; i++) {
		if (ssdp_build_notify(&d, &set[i], nts, &s->out) < 0) {
			log_warnx("SSDP: NOTIFY for '%s' does not fit", set[i].st);
			continue;
		}
		ssdp_send(s, &group, &s->out);
	}
}

static void ssdp_on_announce(struct loop *l, void *arg)
{
	struct ssdp_io *s = arg;
	unsigned interval = s->e->cfg->notify_interval;
	uint64_t delay = SSDP_REPEAT_MS;
	int64_t id;

	s->announce_timer = 0;
	switch (s->phase) {
	case SSDP_PHASE_BYEBYE1:
	case SSDP_PHASE_BYEBYE2:
		ssdp_announce(s, SSDP_NTS_BYEBYE);
		s->phase = s->phase == SSDP_PHASE_BYEBYE1 ? SSDP_PHASE_BYEBYE2 : SSDP_PHASE_ALIVE1;
		break;
	case SSDP_PHASE_ALIVE1:
		ssdp_announce(s, SSDP_NTS_ALIVE);
		s->phase = SSDP_PHASE_ALIVE2;
		break;
	case SSDP_PHASE_ALIVE2:
		ssdp_announce(s, SSDP_NTS_ALIVE);
		s->phase = SSDP_PHASE_ALIVE1;
		/* 1.2.2: at randomly spread intervals, well under max-age / 2. */
		if (interval < SSDP_MIN_INTERVAL_S)
			interval = SSDP_MIN_INTERVAL_S;
		delay = (uint64_t)interval * 1000u - ssdp_random(s) % ((uint64_t)interval * 100u);
		break;
	}
	id = loop_timer_in(l, delay, ssdp_on_announce, s);
	if (id < 0) {
		errno = (int)-id;
		log_warn("SSDP: cannot schedule the next advertisement");
		return;
	}
	s->announce_timer = id;
}

/* ---- answers (1.3.3) ------------------------------------------------ */

/* Take one token of the answer bucket; false when empty. */
static bool ssdp_take_token(struct ssdp_io *s)
{
	uint64_t now = loop_now_ms(s->l), add;

	add = (now - s->tokens_ms) * SSDP_ANSWER_RATE / 1000u;
	if (add > 0) {
		s->tokens = add >= SSDP_ANSWER_BURST - s->tokens ? SSDP_ANSWER_BURST
								  : s->tokens + (unsigned)add;
		s->tokens_ms = now;
	}
	if (s->tokens == 0)
		return false;
	s->tokens--;
	return true;
}

static void ssdp_send_answer(struct ssdp_io *s, const struct sockaddr_in *to,
			     const struct ssdp_answer *a)
{
	struct ssdp_device d;
	unsigned suppressed;
	char peer[INET_ADDRSTRLEN + 8];

	if (!ssdp_take_token(s)) {
		stats_refused(&s->e->stats, STATS_REF_SSDP_RATE);
		if (ratelog_ok(s, &s->log_tokens, &suppressed)) {
			peer_format(to, peer, sizeof(peer));
			log_warnx("%s: SSDP: answer rate limit reached, dropping answers "
				  "(%u more not logged)", peer, suppressed);
		}
		return;
	}
	ssdp_device_of(s, &d);
	if (ssdp_build_response(&d, a, time(NULL), &s->out) < 0) {
		log_warnx("SSDP: response for '%s' does not fit", a->st);
		return;
	}
	ssdp_send(s, to, &s->out);
}

static void ssdp_on_pending(struct loop *l, void *arg)
{
	struct ssdp_pending *p = arg;
	struct ssdp_io *s = p->io;

	p->timer = 0;
	s->npending--;
	ssdp_send_answer(s, &p->to, &p->ans);
}

/* Queue a to be sent after a random part of mx seconds (1.3.3). */
static void ssdp_queue(struct ssdp_io *s, const struct sockaddr_in *to,
		       const struct ssdp_answer *a, unsigned mx, const char *peer)
{
	struct ssdp_pending *p = NULL;
	uint64_t window = 0;
	unsigned suppressed;
	int64_t id;
	size_t i;

	for (i = 0; s->npending < IGDD_SSDP_MAX_PENDING && i < IGDD_SSDP_MAX_PENDING; i++) {
		if (!s->pending[i])
			s->pending[i] = calloc(1, sizeof(*s->pending[i]));
		if (!s->pending[i])
			break;
		if (s->pending[i]->timer == 0) {
			p = s->pending[i];
			break;
		}
	}
	if (!p) {
		stats_refused(&s->e->stats, STATS_REF_SSDP_RATE);
		if (ratelog_ok(s, &s->log_full, &suppressed))
			log_warnx("%s: SSDP: %u answers already waiting, dropping "
				  "(%u more not logged)", peer, IGDD_SSDP_MAX_PENDING, suppressed);
		return;
	}
	if (mx > 0)
		window = (uint64_t)mx * 1000u - SSDP_MX_MARGIN_MS;
	id = loop_timer_in(s->l, ssdp_random(s) % (window + 1), ssdp_on_pending, p);
	if (id < 0) {
		errno = (int)-id;
		log_warn("%s: SSDP: cannot schedule an answer", peer);
		return;
	}
	p->io = s;
	p->timer = id;
	p->to = *to;
	p->ans = *a;
	s->npending++;
}

static void ssdp_on_search(struct ssdp_io *s, const struct sockaddr_in *from, bool multicast,
			   const struct ssdp_msearch *m, const char *peer)
{
	struct ssdp_answer ans[SSDP_MAX_ANSWERS];
	struct ssdp_device d;
	char st[96], ua[96];
	size_t n, i;

	ssdp_device_of(s, &d);
	n = ssdp_answers(&d, m->st, ans);
	if (log_get_verbose()) {
		log_escape(st, sizeof(st), m->st.p, m->st.len);
		log_escape(ua, sizeof(ua), m->user_agent.p, m->user_agent.len);
		log_debug("%s: M-SEARCH '%s' %s MX %u agent '%s': %zu answers", peer, st,
			  multicast ? "multicast" : "unicast", m->mx, ua, n);
	}
	for (i = 0; i < n; i++) {
		if (multicast)
			ssdp_queue(s, from, &ans[i], m->mx, peer);
		else
			ssdp_send_answer(s, from, &ans[i]);
	}
}

/* ---- receiving ------------------------------------------------------ */

static void ssdp_on_datagram(struct ssdp_io *s, const struct udp_dgram *d, const char *data,
			     size_t len)
{
	const struct sockaddr_in *from = &d->from;
	const struct in_pktinfo pi = d->pi;
	struct ssdp_msearch m;
	enum ssdp_parse_status st;
	bool multicast;
	char peer[INET_ADDRSTRLEN + 8];

	if (!d->from_ok)
		return;
	peer_format(from, peer, sizeof(peer));
	if (!d->have_pktinfo)
		return;
	/* A control point on the gateway itself searching our LAN address
	 * arrives through lo, from that same address. */
	if ((unsigned)pi.ipi_ifindex != s->ifindex &&
	    !(s->lo_ifindex && (unsigned)pi.ipi_ifindex == s->lo_ifindex &&
	      from->sin_addr.s_addr == s->e->lan_addr.s_addr &&
	      pi.ipi_addr.s_addr == s->e->lan_addr.s_addr)) {
		log_debug("%s: SSDP: ignored, not received on the LAN interface", peer);
		return;
	}
	if (pi.ipi_addr.s_addr == htonl(SSDP_MCAST_ADDR_HOST))
		multicast = true;
	else if (pi.ipi_addr.s_addr == s->e->lan_addr.s_addr)
		multicast = false;
	else
		return;    /* broadcast or another address of ours */
	if (from->sin_port == 0 || !peer_ok(s, from->sin_addr)) {
		log_debug("%s: SSDP: ignored, source outside the LAN", peer);
		return;
	}
	if (d->truncated) {
		log_debug("%s: SSDP: ignored, datagram too long", peer);
		return;
	}
	st = ssdp_parse(data, len, multicast, &m);
	if (st == SSDP_PARSE_OK)
		ssdp_on_search(s, from, multicast, &m, peer);
	else if (st != SSDP_PARSE_NOTIFY)
		log_debug("%s: SSDP: ignored, %s", peer, ssdp_parse_status_str(st));
}

static void ssdp_on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ssdp_io *s = arg;
	unsigned suppressed;
	int i;

	for (i = 0; i < SSDP_RX_BUDGET; i++) {
		char data[IGDD_SSDP_MAX_DATAGRAM];
		struct udp_dgram d;
		ssize_t n = udp_recv(fd, data, sizeof(data), &d);

		if (n < 0) {
			if (n != -EAGAIN && ratelog_ok(s, &s->log_recv, &suppressed)) {
				errno = (int)-n;
				log_warn("SSDP: receive (%u more failures not logged)", suppressed);
			}
			return;
		}
		ssdp_on_datagram(s, &d, data, (size_t)n);
	}
}

/* ---- set-up and tear-down ------------------------------------------- */

static int ssdp_setopt(int fd, int level, int name, const void *val, socklen_t len,
		       const char *what)
{
	if (setsockopt(fd, level, name, val, len) < 0) {
		int r = -errno;

		log_warn("SSDP: setsockopt %s", what);
		return r;
	}
	return 0;
}

/* The socket of the header comment, or -errno (logged). */
static int ssdp_socket_open(const struct ssdp_io *s)
{
	struct sockaddr_in sin;
	struct ip_mreqn mreq;
	int fd, one = 1, zero = 0, ttl = 2, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_warn("SSDP: socket");
		return r;
	}
	r = ssdp_setopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), "SO_REUSEADDR");
	if (r < 0)
		goto fail;
	r = ssdp_setopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one), "IP_PKTINFO");
	if (r < 0)
		goto fail;
	/* Without this Linux delivers every group joined by anyone on the
	 * host to a socket bound to INADDR_ANY. Best effort. */
	(void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	sin.sin_port = htons(SSDP_PORT);
	if (bind(fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0) {
		r = -errno;
		log_warn("SSDP: bind *:%d", SSDP_PORT);
		goto fail;
	}
	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_multiaddr.s_addr = htonl(SSDP_MCAST_ADDR_HOST);
	mreq.imr_address = s->e->lan_addr;
	mreq.imr_ifindex = (int)s->ifindex;
	r = ssdp_setopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq),
			"IP_ADD_MEMBERSHIP " SSDP_MCAST_ADDR);
	if (r < 0)
		goto fail;
	r = ssdp_setopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq), "IP_MULTICAST_IF");
	if (r < 0)
		goto fail;
	r = ssdp_setopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl), "IP_MULTICAST_TTL");
	if (r < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return r;
}

struct ssdp_io *ssdp_io_new(struct engine *e, struct loop *l, const char *ifname)
{
	struct ssdp_io *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		log_warnx("SSDP: out of memory");
		return NULL;
	}
	s->e = e;
	s->l = l;
	s->fd = -1;
	buf_init(&s->out, IGDD_SSDP_MAX_DATAGRAM);
	s->ifindex = if_nametoindex(ifname);
	if (s->ifindex == 0) {
		log_warn("SSDP: interface %s", ifname);
		goto fail;
	}
	s->lo_ifindex = if_nametoindex("lo");
	if (e->lan_addr.s_addr == htonl(INADDR_ANY)) {
		log_warnx("SSDP: interface %s has no IPv4 address", ifname);
		goto fail;
	}
	ssdp_server_string(e->cfg->server_os, IGDD_VERSION, s->server, sizeof(s->server));
	ssdp_seed(s);
	s->tokens = SSDP_ANSWER_BURST;
	s->tokens_ms = loop_now_ms(l);
	s->fd = ssdp_socket_open(s);
	if (s->fd < 0)
		goto fail;
	r = loop_fd_add(l, s->fd, EPOLLIN, ssdp_on_readable, s);
	if (r < 0) {
		errno = -r;
		log_warn("SSDP: loop");
		goto fail;
	}
	/* 1.2.2: byebye first (stale caches from an earlier run), then alive;
	 * nothing goes out before the loop runs. */
	s->phase = SSDP_PHASE_BYEBYE1;
	s->announce_timer = loop_timer_in(l, 0, ssdp_on_announce, s);
	if (s->announce_timer < 0) {
		errno = (int)-s->announce_timer;
		s->announce_timer = 0;
		log_warn("SSDP: timer");
		loop_fd_del(l, s->fd);
		goto fail;
	}
	log_info("SSDP: listening on %s (*:%d, group " SSDP_MCAST_ADDR "), %s",
		 ifname, SSDP_PORT, s->server);
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->out);
	free(s);
	return NULL;
}

void ssdp_io_free(struct ssdp_io *s)
{
	size_t i;

	if (!s)
		return;
	if (s->announce_timer > 0)
		loop_timer_cancel(s->l, s->announce_timer);
	for (i = 0; i < IGDD_SSDP_MAX_PENDING; i++)
		if (s->pending[i] && s->pending[i]->timer > 0)
			loop_timer_cancel(s->l, s->pending[i]->timer);
	ssdp_announce(s, SSDP_NTS_BYEBYE);     /* 1.2.3 */
	loop_fd_del(s->l, s->fd);
	close(s->fd);
	buf_free(&s->out);
	for (i = 0; i < IGDD_SSDP_MAX_PENDING; i++)
		free(s->pending[i]);
	free(s);
}
