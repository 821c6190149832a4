/*
 * ssdp_io.c - SSDP on the LANs (UPnP Device Architecture 1.1 section 1,
 * and Annex A for IPv6): one IPv4 UDP socket on *:1900 in the
 * 239.255.255.250 group and one IPv6 socket on [::]:1900 (IPV6_V6ONLY)
 * in ff02::c, ff05::c and ff0e::c, the groups joined on each LAN's
 * interface only; M-SEARCH answers (1.3.3; multicast ones after a random
 * delay of up to MX seconds through loop timers, unicast ones at once),
 * ssdp:byebye then ssdp:alive at start and periodic ssdp:alive (1.2.2,
 * 1.2.3), each LAN on its own cycle, started again when its addresses
 * change; ssdp:byebye on clean shutdown. The texts come from
 * proto/ssdp.c.
 *
 * A search is answered on the LAN it arrived on (the interface of its
 * packet information), with that LAN's address in LOCATION: IPv4 its
 * address; IPv6 the address core/lan.h lan_location() chooses for the
 * searcher (a global one, so that the client's own source address for
 * it is its global address: the one it names as InternalClient), in
 * brackets and never with a zone. Announcements go to 239.255.255.250,
 * to ff02::c from the LAN's link-local address and, when it has a ULA
 * or global address, to ff05::c from that address (where GUPnP's ULA
 * and global contexts listen); ff0e::c is listened on (GUPnP's ULA and
 * global contexts search there) but never sent to (UDA 2.0 Annex A:
 * no global-scope multicast).
 *
 * What a LAN host can make us do is bounded: only datagrams that arrive
 * on a LAN interface from a peer of that LAN are looked at (a search
 * arriving on the WAN, or from another LAN's subnet, gets nothing),
 * delayed answers wait in a fixed table of IGDD_SSDP_MAX_PENDING slots,
 * every answer sent takes a token from a bucket (a spoofed ssdp:all
 * turns one datagram into nine), and what is dropped is logged at most
 * once per SSDP_LOG_INTERVAL_MS. We send only to the SSDP groups or to
 * a searcher of the LAN (ssdp_send() checks it again).
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
#include <time.h>
#include <unistd.h>

#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29   /* Linux 4.20, linux/in6.h */
#endif

#define SSDP_REPEAT_MS        100    /* each advertisement set goes out twice */
#define SSDP_MX_MARGIN_MS     100    /* answer this much before MX runs out */
#define SSDP_RX_BUDGET        64     /* datagrams read per wake-up */
#define SSDP_ANSWER_BURST     512    /* answers sent back to back at most, */
#define SSDP_ANSWER_RATE      256    /* then this many per second */
#define SSDP_LOG_INTERVAL_MS  10000
#define SSDP_MIN_INTERVAL_S   30     /* the config's lower bound for notify_interval */
#define SSDP_HOPS             2      /* multicast TTL / hop limit (UDA 1.1 1.1.2: 2 by default) */

static const char *const ssdp_groups6[] = { SSDP_MCAST6_LINK, SSDP_MCAST6_SITE,
					    SSDP_MCAST6_GLOBAL };
#define SSDP_NGROUPS6 (sizeof(ssdp_groups6) / sizeof(ssdp_groups6[0]))

struct ssdp_io;

/* A delayed answer to a multicast search; free while timer == 0. */
struct ssdp_pending {
	struct ssdp_io *io;
	int64_t timer;
	unsigned lan;
	struct ipaddr to;
	uint16_t port;
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

/* One LAN's part: its announcement cycle and the interface its groups
 * are joined on. */
struct ssdp_lan {
	struct ssdp_io *io;
	unsigned index;
	enum ssdp_phase phase;
	int64_t announce_timer;
	unsigned joined4;                 /* interface index joined (0: none) */
	unsigned joined6;
};

struct ssdp_io {
	struct engine *e;
	struct loop *l;
	int fd4, fd6;                     /* -1: none */
	unsigned lo_ifindex;              /* 0 when there is no "lo" */
	char server[SSDP_SERVER_MAX];
	struct ssdp_lan lans[IGDD_CONF_MAX_LANS];
	struct in6_addr group6[SSDP_NGROUPS6];
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

static void peer_format(const struct ipaddr *a, uint16_t port, char *out, size_t outsz)
{
	char ip[IPADDR_STRLEN];

	if (ipaddr_url_host(a, ip, sizeof(ip)) < 0)
		snprintf(ip, sizeof(ip), "?");
	snprintf(out, outsz, "%s:%u", ip, (unsigned)port);
}

static bool is_group(const struct ssdp_io *s, const struct ipaddr *a)
{
	size_t i;

	if (ipaddr_is_v4(a))
		return a->u.v4.s_addr == htonl(SSDP_MCAST_ADDR_HOST);
	if (!ipaddr_is_v6(a))
		return false;
	for (i = 0; i < SSDP_NGROUPS6; i++)
		if (memcmp(&a->u.v6, &s->group6[i], sizeof(a->u.v6)) == 0)
			return true;
	return false;
}

/* The texts' inputs, read from the engine each time (IDs may change);
 * LOCATION names addr. */
static void ssdp_device_of(const struct ssdp_io *s, const struct ipaddr *addr,
			   struct ssdp_device *d)
{
	const struct engine *e = s->e;
	unsigned interval = e->cfg->notify_interval;

	memset(d, 0, sizeof(*d));
	d->uuid[SSDP_DEV_ROOT] = e->uuid_root;
	d->uuid[SSDP_DEV_WAN] = e->uuid_wandev;
	d->uuid[SSDP_DEV_WANCONN] = e->uuid_wanconn;
	d->addr = *addr;
	d->http_port = e->http_port;
	d->boot_id = e->boot_id;
	d->config_id = e->config_id;
	d->max_age = ssdp_max_age(interval < SSDP_MIN_INTERVAL_S ? SSDP_MIN_INTERVAL_S : interval);
	d->server = s->server;
}

/*
 * Send b to to:port on LAN lan, from src (family 0: the kernel's choice
 * for the destination): out of the LAN's interface for IPv4, IPv6
 * multicast and IPv6 link-local destinations.
 */
static void ssdp_send(struct ssdp_io *s, unsigned lan, const struct ipaddr *to, uint16_t port,
		      const struct ipaddr *src, const struct buf *b)
{
	const struct lan *l = engine_lan(s->e, lan);
	int fd = ipaddr_is_v4(to) ? s->fd4 : s->fd6;
	unsigned suppressed, ifindex = 0;
	char peer[IPADDR_STRLEN + 8];
	int r;

	if (!l || fd < 0)
		return;
	if (!is_group(s, to) && !engine_lan_peer(s->e, lan, to)) {
		/* Answers queued before the LAN address changed can all land
		 * here at once. */
		if (ratelog_ok(s, &s->log_refuse, &suppressed)) {
			peer_format(to, port, peer, sizeof(peer));
			log_warnx("%s: SSDP: refusing to send outside the LAN (%u more not logged)",
				  peer, suppressed);
		}
		return;
	}
	if (ipaddr_is_v4(to) || is_group(s, to) || ipaddr_is_linklocal(to))
		ifindex = l->ifindex;
	r = udp_send(fd, to, port, ifindex, src, b->p, b->len);
	if (r < 0 && ratelog_ok(s, &s->log_send, &suppressed)) {
		peer_format(to, port, peer, sizeof(peer));
		errno = -r;
		log_warn("%s: SSDP: send (%u more failures not logged)", peer, suppressed);
	}
}

/* ---- advertisements (1.2.2, 1.2.3) ---------------------------------- */

/* The set to group:1900 on LAN lan, LOCATION location, from src. */
static void announce_to(struct ssdp_io *s, unsigned lan, enum ssdp_nts nts,
			const struct ipaddr *group, const char *host, const struct ipaddr *location,
			const struct ipaddr *src)
{
	struct ssdp_answer set[SSDP_ANNOUNCE_COUNT];
	struct ssdp_device d;
	size_t n, i;

	ssdp_device_of(s, location, &d);
	d.notify_host = host;
	n = ssdp_announce_set(&d, set);
	for (i = 0; i < n; i++) {
		if (ssdp_build_notify(&d, &set[i], nts, &s->out) < 0) {
			log_warnx("SSDP: NOTIFY for '%s' does not fit", set[i].st);
			continue;
		}
		ssdp_send(s, lan, group, SSDP_PORT, src, &s->out);
	}
}

static void ssdp_announce(struct ssdp_io *s, unsigned lan, enum ssdp_nts nts)
{
	const struct lan *l = engine_lan(s->e, lan);
	struct ipaddr group, loc, ll, global;
	struct in_addr g4;

	if (!l || l->ifindex == 0 || s->e->http_port == 0)
		return;
	if (lan_has_v4(l) && s->fd4 >= 0) {
		g4.s_addr = htonl(SSDP_MCAST_ADDR_HOST);
		group = ipaddr_from_v4(g4);
		loc = ipaddr_from_v4(l->addr);
		announce_to(s, lan, nts, &group, NULL, &loc, &loc);
	}
	if (s->fd6 < 0 || !s->lans[lan].joined6 || !lan_linklocal(l, &ll))
		return;
	/* ff02::c from the link-local address; LOCATION as for a
	 * link-local searcher (lan_location()). */
	if (!lan_location(l, &ll, &loc))
		return;
	group = ipaddr_from_v6(&s->group6[0], l->ifindex);
	announce_to(s, lan, nts, &group, "[FF02::C]:1900", &loc, &ll);
	if (lan_global(l, &global)) {
		group = ipaddr_from_v6(&s->group6[1], 0);
		announce_to(s, lan, nts, &group, "[FF05::C]:1900", &global, &global);
	}
}

static void ssdp_on_announce(struct loop *l, void *arg)
{
	struct ssdp_lan *sl = arg;
	struct ssdp_io *s = sl->io;
	unsigned interval = s->e->cfg->notify_interval;
	uint64_t delay = SSDP_REPEAT_MS;
	int64_t id;

	sl->announce_timer = 0;
	switch (sl->phase) {
	case SSDP_PHASE_BYEBYE1:
	case SSDP_PHASE_BYEBYE2:
		ssdp_announce(s, sl->index, SSDP_NTS_BYEBYE);
		sl->phase = sl->phase == SSDP_PHASE_BYEBYE1 ? SSDP_PHASE_BYEBYE2 : SSDP_PHASE_ALIVE1;
		break;
	case SSDP_PHASE_ALIVE1:
		ssdp_announce(s, sl->index, SSDP_NTS_ALIVE);
		sl->phase = SSDP_PHASE_ALIVE2;
		break;
	case SSDP_PHASE_ALIVE2:
		ssdp_announce(s, sl->index, SSDP_NTS_ALIVE);
		sl->phase = SSDP_PHASE_ALIVE1;
		/* 1.2.2: at randomly spread intervals, well under max-age / 2. */
		if (interval < SSDP_MIN_INTERVAL_S)
			interval = SSDP_MIN_INTERVAL_S;
		delay = (uint64_t)interval * 1000u - ssdp_random(s) % ((uint64_t)interval * 100u);
		break;
	}
	id = loop_timer_in(l, delay, ssdp_on_announce, sl);
	if (id < 0) {
		errno = (int)-id;
		log_warn("SSDP: cannot schedule the next advertisement");
		return;
	}
	sl->announce_timer = id;
}

/* LAN lan's announcement cycle again, from phase: from BYEBYE1 (1.2.2:
 * byebye first, for stale caches from an earlier run or an address gone,
 * then alive), or from ALIVE1 after ssdp_io_byebye(); nothing goes out
 * before the loop runs. */
static void announce_from(struct ssdp_io *s, unsigned lan, enum ssdp_phase phase)
{
	struct ssdp_lan *sl = &s->lans[lan];

	if (sl->announce_timer > 0)
		loop_timer_cancel(s->l, sl->announce_timer);
	sl->phase = phase;
	sl->announce_timer = loop_timer_in(s->l, 0, ssdp_on_announce, sl);
	if (sl->announce_timer < 0) {
		errno = (int)-sl->announce_timer;
		sl->announce_timer = 0;
		log_warn("SSDP: timer");
	}
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

static void ssdp_send_answer(struct ssdp_io *s, unsigned lan, const struct ipaddr *to,
			     uint16_t port, const struct ssdp_answer *a)
{
	const struct lan *l = engine_lan(s->e, lan);
	struct ssdp_device d;
	struct ipaddr loc;
	unsigned suppressed;
	char peer[IPADDR_STRLEN + 8];

	if (!ssdp_take_token(s)) {
		stats_refused(&s->e->stats, STATS_REF_SSDP_RATE);
		if (ratelog_ok(s, &s->log_tokens, &suppressed)) {
			peer_format(to, port, peer, sizeof(peer));
			log_warnx("%s: SSDP: answer rate limit reached, dropping answers "
				  "(%u more not logged)", peer, suppressed);
		}
		return;
	}
	/* The LAN's address now (it may have changed since the search). */
	if (!l || !lan_location(l, to, &loc))
		return;
	ssdp_device_of(s, &loc, &d);
	if (ssdp_build_response(&d, a, time(NULL), &s->out) < 0) {
		log_warnx("SSDP: response for '%s' does not fit", a->st);
		return;
	}
	/* IPv4 from the LAN's address; IPv6 from the kernel's choice for
	 * the searcher (link-local for a link-local searcher). */
	ssdp_send(s, lan, to, port, ipaddr_is_v4(to) ? &loc : NULL, &s->out);
}

static void ssdp_on_pending(struct loop *l, void *arg)
{
	struct ssdp_pending *p = arg;
	struct ssdp_io *s = p->io;

	(void)l;
	p->timer = 0;
	s->npending--;
	ssdp_send_answer(s, p->lan, &p->to, p->port, &p->ans);
}

/* Queue a to be sent after a random part of mx seconds (1.3.3). */
static void ssdp_queue(struct ssdp_io *s, unsigned lan, const struct ipaddr *to, uint16_t port,
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
	p->lan = lan;
	p->to = *to;
	p->port = port;
	p->ans = *a;
	s->npending++;
}

static void ssdp_on_search(struct ssdp_io *s, unsigned lan, const struct udp_dgram *dg,
			   bool multicast, const struct ssdp_msearch *m, const char *peer)
{
	struct ssdp_answer ans[SSDP_MAX_ANSWERS];
	struct ssdp_device d;
	struct ipaddr loc;
	char st[96], ua[96];
	size_t n, i;

	if (!lan_location(engine_lan(s->e, lan), &dg->from, &loc))
		return;         /* no address of the searcher's family on this LAN (yet) */
	ssdp_device_of(s, &loc, &d);
	n = ssdp_answers(&d, m->st, ans);
	if (log_get_verbose()) {
		log_escape(st, sizeof(st), m->st.p, m->st.len);
		log_escape(ua, sizeof(ua), m->user_agent.p, m->user_agent.len);
		log_debug("%s: M-SEARCH '%s' %s on %s MX %u agent '%s': %zu answers", peer, st,
			  multicast ? "multicast" : "unicast", engine_lan(s->e, lan)->name, m->mx,
			  ua, n);
	}
	for (i = 0; i < n; i++) {
		if (multicast)
			ssdp_queue(s, lan, &dg->from, dg->from_port, &ans[i], m->mx, peer);
		else
			ssdp_send_answer(s, lan, &dg->from, dg->from_port, &ans[i]);
	}
}

/* ---- receiving ------------------------------------------------------ */

/*
 * The LAN a datagram arrived on, or -1: the LAN of its interface. A
 * control point on the gateway itself searching a LAN address arrives
 * through lo, from that same address: that LAN.
 */
static int arrival_lan(const struct ssdp_io *s, const struct udp_dgram *d)
{
	const struct engine *e = s->e;
	size_t i;

	for (i = 0; i < e->nlans; i++)
		if (e->lans[i].ifindex && e->lans[i].ifindex == d->ifindex)
			return (int)i;
	if (!s->lo_ifindex || d->ifindex != s->lo_ifindex || !ipaddr_eq(&d->from, &d->dst))
		return -1;
	for (i = 0; i < e->nlans; i++)
		if (lan_is_own(&e->lans[i], &d->dst))
			return (int)i;
	return -1;
}

static void ssdp_on_datagram(struct ssdp_io *s, struct udp_dgram *d, const char *data,
			     size_t len)
{
	struct ssdp_msearch m;
	enum ssdp_parse_status st;
	bool multicast;
	char peer[IPADDR_STRLEN + 8];
	int lan;

	if (!d->from_ok || !d->have_pktinfo)
		return;
	peer_format(&d->from, d->from_port, peer, sizeof(peer));
	lan = arrival_lan(s, d);
	if (lan < 0) {
		log_debug("%s: SSDP: ignored, not received on a LAN interface", peer);
		return;
	}
	if (is_group(s, &d->dst))
		multicast = true;
	else if (lan_is_own(engine_lan(s->e, (unsigned)lan), &d->dst))
		multicast = false;
	else
		return;    /* broadcast, or an address of ours on another interface */
	if (d->from_port == 0 || !engine_lan_peer(s->e, (unsigned)lan, &d->from)) {
		log_debug("%s: SSDP: ignored, source not on the LAN", peer);
		return;
	}
	if (d->truncated) {
		log_debug("%s: SSDP: ignored, datagram too long", peer);
		return;
	}
	st = ssdp_parse(data, len, multicast, &m);
	if (st == SSDP_PARSE_OK)
		ssdp_on_search(s, (unsigned)lan, d, multicast, &m, peer);
	else if (st != SSDP_PARSE_NOTIFY)
		log_debug("%s: SSDP: ignored, %s", peer, ssdp_parse_status_str(st));
}

static void ssdp_on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ssdp_io *s = arg;
	unsigned suppressed;
	int i;

	(void)l;
	(void)events;
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

/* The socket of family on *:1900, or -errno (logged). */
static int ssdp_socket_open(int family)
{
	struct sockaddr_storage ss;
	struct ipaddr any;
	socklen_t len;
	int fd, one = 1, zero = 0, hops = SSDP_HOPS, r;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		if (family == AF_INET6)
			log_info("SSDP: no IPv6 socket (%s): IPv4 only", strerror(errno));
		else
			log_warn("SSDP: socket");
		return r;
	}
	r = ssdp_setopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), "SO_REUSEADDR");
	if (r == 0 && (r = udp_want_pktinfo(fd, family)) < 0) {
		errno = -r;
		log_warn("SSDP: setsockopt PKTINFO");
	}
	if (r < 0)
		goto fail;
	memset(&any, 0, sizeof(any));
	any.family = (sa_family_t)family;
	if (family == AF_INET6) {
		r = ssdp_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one), "IPV6_V6ONLY");
		if (r == 0)
			r = ssdp_setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops),
					"IPV6_MULTICAST_HOPS");
		/* Without this Linux delivers every group joined by anyone on
		 * the host to a socket bound to the wildcard. Best effort. */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof(zero));
	} else {
		r = ssdp_setopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops),
				"IP_MULTICAST_TTL");
		(void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero));
	}
	if (r < 0)
		goto fail;
	len = ipaddr_to_sockaddr(&any, SSDP_PORT, &ss);
	if (bind(fd, (const struct sockaddr *)&ss, len) < 0) {
		r = -errno;
		log_warn("SSDP: bind %s:%d", family == AF_INET6 ? "[::]" : "*", SSDP_PORT);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

/* Join (or leave) the IPv4 group on ifindex. 0 or -errno. */
static int join4(int fd, unsigned ifindex, bool join)
{
	struct ip_mreqn mreq;

	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_multiaddr.s_addr = htonl(SSDP_MCAST_ADDR_HOST);
	mreq.imr_ifindex = (int)ifindex;
	if (setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mreq,
		       sizeof(mreq)) < 0)
		return -errno;
	return 0;
}

/* Join (or leave) every IPv6 group on ifindex. 0 or -errno (the first failure). */
static int join6(struct ssdp_io *s, unsigned ifindex, bool join)
{
	struct ipv6_mreq mreq;
	size_t i;
	int r = 0;

	for (i = 0; i < SSDP_NGROUPS6; i++) {
		memset(&mreq, 0, sizeof(mreq));
		mreq.ipv6mr_multiaddr = s->group6[i];
		mreq.ipv6mr_interface = ifindex;
		if (setsockopt(s->fd6, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP,
			       &mreq, sizeof(mreq)) < 0 && r == 0)
			r = -errno;
	}
	return r;
}

/* The groups of LAN i joined on its interface now (again after its
 * interface changed; IPv6 once the LAN has IPv6). */
static void lan_join(struct ssdp_io *s, unsigned i)
{
	const struct lan *l = engine_lan(s->e, i);
	struct ssdp_lan *sl = &s->lans[i];
	int r;

	if (s->fd4 >= 0 && sl->joined4 != l->ifindex) {
		if (sl->joined4)
			(void)join4(s->fd4, sl->joined4, false);
		sl->joined4 = 0;
		if (l->ifindex && (r = join4(s->fd4, l->ifindex, true)) < 0)
			log_warnx("SSDP: %s: cannot join " SSDP_MCAST_ADDR ": %s", l->name,
				  strerror(-r));
		else
			sl->joined4 = l->ifindex;
	}
	if (s->fd6 >= 0 && sl->joined6 != l->ifindex) {
		if (sl->joined6)
			(void)join6(s, sl->joined6, false);
		sl->joined6 = 0;
		if (!l->ifindex || !lan_has_v6(l))
			return;
		r = join6(s, l->ifindex, true);
		if (r < 0) {
			log_warnx("SSDP: %s: cannot join the IPv6 SSDP groups: %s", l->name,
				  strerror(-r));
			(void)join6(s, l->ifindex, false);
		} else {
			sl->joined6 = l->ifindex;
		}
	}
}

static int add_fd(struct ssdp_io *s, int fd)
{
	int r = loop_fd_add(s->l, fd, EPOLLIN, ssdp_on_readable, s);

	if (r < 0) {
		errno = -r;
		log_warn("SSDP: loop");
	}
	return r;
}

struct ssdp_io *ssdp_io_new(struct engine *e, struct loop *l)
{
	struct ssdp_io *s;
	size_t i;

	s = calloc(1, sizeof(*s));
	if (!s) {
		log_warnx("SSDP: out of memory");
		return NULL;
	}
	s->e = e;
	s->l = l;
	s->fd4 = s->fd6 = -1;
	buf_init(&s->out, IGDD_SSDP_MAX_DATAGRAM);
	for (i = 0; i < SSDP_NGROUPS6; i++)
		inet_pton(AF_INET6, ssdp_groups6[i], &s->group6[i]);
	s->lo_ifindex = if_nametoindex("lo");
	ssdp_server_string(e->cfg->server_os, IGDD_VERSION, s->server, sizeof(s->server));
	ssdp_seed(s);
	s->tokens = SSDP_ANSWER_BURST;
	s->tokens_ms = loop_now_ms(l);
	s->fd4 = ssdp_socket_open(AF_INET);
	if (s->fd4 < 0 || add_fd(s, s->fd4) < 0)
		goto fail;
	s->fd6 = ssdp_socket_open(AF_INET6);
	if (s->fd6 >= 0 && add_fd(s, s->fd6) < 0) {
		close(s->fd6);
		s->fd6 = -1;
	}
	for (i = 0; i < e->nlans; i++) {
		s->lans[i].io = s;
		s->lans[i].index = (unsigned)i;
		lan_join(s, (unsigned)i);
		announce_from(s, (unsigned)i, SSDP_PHASE_BYEBYE1);
		log_info("SSDP: listening on %s (*:%d, group " SSDP_MCAST_ADDR "%s), %s",
			 e->lans[i].name, SSDP_PORT,
			 s->lans[i].joined6 ? ", " SSDP_MCAST6_LINK " " SSDP_MCAST6_SITE " "
					      SSDP_MCAST6_GLOBAL : "", s->server);
	}
	return s;
fail:
	if (s->fd4 >= 0) {
		loop_fd_del(l, s->fd4);
		close(s->fd4);
	}
	buf_free(&s->out);
	free(s);
	return NULL;
}

void ssdp_io_lans_changed(struct ssdp_io *s, uint32_t lans)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->e->nlans; i++) {
		if (!(lans & (1u << i)))
			continue;
		lan_join(s, (unsigned)i);
		announce_from(s, (unsigned)i, SSDP_PHASE_BYEBYE1);
	}
}

void ssdp_io_byebye(struct ssdp_io *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->e->nlans; i++)
		ssdp_announce(s, (unsigned)i, SSDP_NTS_BYEBYE);     /* 1.2.3 */
}

void ssdp_io_announce(struct ssdp_io *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->e->nlans; i++)
		announce_from(s, (unsigned)i, SSDP_PHASE_ALIVE1);
}

void ssdp_io_free(struct ssdp_io *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < IGDD_CONF_MAX_LANS; i++)
		if (s->lans[i].announce_timer > 0)
			loop_timer_cancel(s->l, s->lans[i].announce_timer);
	for (i = 0; i < IGDD_SSDP_MAX_PENDING; i++)
		if (s->pending[i] && s->pending[i]->timer > 0)
			loop_timer_cancel(s->l, s->pending[i]->timer);
	ssdp_io_byebye(s);
	loop_fd_del(s->l, s->fd4);
	close(s->fd4);
	if (s->fd6 >= 0) {
		loop_fd_del(s->l, s->fd6);
		close(s->fd6);
	}
	buf_free(&s->out);
	for (i = 0; i < IGDD_SSDP_MAX_PENDING; i++)
		free(s->pending[i]);
	free(s);
}
