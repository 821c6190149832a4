/*
 * pcp_io.c - NAT-PMP (RFC 6886) and PCP (RFC 6887) over UDP on the LANs
 * (RFC 6886 3.1, RFC 6887 19.1: port 5351): one socket per LAN bound to
 * its IPv4 address, and one IPv6 socket bound to [::]:5351 (IPV6_V6ONLY)
 * that answers only what arrives on a LAN interface, addressed to one of
 * that LAN's own addresses (its link-local address, the one clients know
 * as their default router, RFC 6887 8.1), and answers from that same
 * address. Only datagrams from a host of that LAN are answered, each
 * source at most IGDD_PCP_RATE_BURST at once and IGDD_PCP_RATE_PER_S per
 * second after (the sources tracked are bounded, the least recently seen
 * one is forgotten first); datagrams longer than IGDD_PCP_MAX_DATAGRAM
 * are dropped. What is dropped is logged at a bounded rate.
 *
 * A request that changes mappings (pcp_svc_changes()) while a change is
 * under way (engine_tx.h) waits for its turn in the engine's queue, a
 * copy of the datagram kept (at most ENGINE_TX_QUEUE_MAX in all,
 * ENGINE_TX_QUEUE_PER_HOST per host; past that it is answered
 * NO_RESOURCES at once), and is answered when it has run; its own change
 * then completes before the answer goes. Reads are answered at once.
 *
 * Announcements (RFC 6886 3.2.1, RFC 6887 14.1.1): at start, when the
 * external address changes or the WAN comes back, and on a LAN whose
 * addresses changed (the epoch then restarts, RFC 6887 8.5), the NAT-PMP
 * external address response and the PCP ANNOUNCE response go to
 * 224.0.0.1:5350 on each LAN interface with an IPv4 address, and the PCP
 * ANNOUNCE to ff02::1:5350 from the LAN's link-local address,
 * IGDD_PCP_ANNOUNCE_COUNT times, the first at once, then after 250 ms,
 * the interval doubling each time. Never on the WAN.
 */
#include "net/pcp_io.h"

#include "conf/config.h"
#include "engine.h"
#include "engine_tx.h"
#include "loop/loop.h"
#include "net/udp.h"
#include "proto/natpmp.h"
#include "proto/pcp.h"
#include "svc/pcp.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PCP_RX_BUDGET           64      /* datagrams read per wake-up */
#define PCP_ANNOUNCE_FIRST_MS   250
#define PCP_ALL_HOSTS           0xe0000001u     /* 224.0.0.1 */
#define PCP_ALL_NODES6          "ff02::1"
#define PCP_LOG_INTERVAL_MS     10000

struct pcp_io;

struct pcp_source {
	struct ipaddr addr;
	unsigned tokens;
	uint64_t last_ms;               /* last refill; 0: slot free */
};

/* One LAN: its IPv4 socket and its announcements. */
struct pcp_lan {
	struct pcp_io *p;
	unsigned index;
	int fd4;                        /* -1: none (no IPv4 address) */
	struct in_addr bound4;
	int64_t announce_timer;
	unsigned announce_left;
	uint64_t announce_delay_ms;
};

/* A change request waiting for its turn: the datagram and where it came. */
struct pcp_wait {
	struct engine_waiter w;
	struct pcp_io *p;
	struct pcp_wait *prev, *next;   /* the io's list */
	int lan;                        /* the IPv4 socket's LAN, or -1: the IPv6 socket */
	unsigned lan_of;                /* the LAN it arrived on */
	struct udp_dgram d;
	size_t len;
	uint8_t data[IGDD_PCP_MAX_DATAGRAM];
};

/* A MAP's answer held until the upstream mirror answers about its
 * mapping (engine_up_wait(), docs/POLICY.md "Behind another NAT"). */
struct pcp_hold {
	struct pcp_io *p;
	struct pcp_hold *prev, *next;   /* the io's list */
	uint32_t id;
	int lan;                        /* as pcp_wait's */
	struct udp_dgram d;
	size_t n, at;                   /* the answer's length, its external port's offset */
	uint8_t out[PCP_SVC_OUT_MAX];
};

struct pcp_io {
	struct engine *e;
	struct pcp_wait *waiting;       /* requests waiting for their turn */
	struct pcp_hold *held;          /* answers waiting for the upstream's */
	struct loop *l;
	int fd6;                        /* -1: no IPv6 */
	struct pcp_lan lans[IGDD_CONF_MAX_LANS];
	struct pcp_svc svc;
	char ext_ip[INET_ADDRSTRLEN];   /* announced last */
	struct pcp_source src[IGDD_PCP_RATE_SOURCES];
	struct ratelimit log_big, log_rate, log_io;
};

/* ---- sending -------------------------------------------------------- */

static void log_io_error(struct pcp_io *p, int r, const char *what)
{
	unsigned suppressed;

	if (ratelimit_ok(&p->log_io, loop_now_ms(p->l), &suppressed)) {
		errno = -r;
		log_warn("NAT-PMP/PCP: %s (%u more failures not logged)", what, suppressed);
	}
}

static void announce_once(struct pcp_lan *pl)
{
	struct pcp_io *p = pl->p;
	const struct config *c = p->e->cfg;
	const struct lan *l = engine_lan(p->e, pl->index);
	struct in_addr ext = { 0 }, all;
	struct in6_addr all6;
	struct ipaddr to, ll;
	uint8_t b[PCP_HEADER_LEN];
	uint32_t epoch = pcp_svc_epoch(&p->svc);
	int r;

	if (!l || l->ifindex == 0)
		return;
	if (pl->fd4 >= 0) {
		all.s_addr = htonl(PCP_ALL_HOSTS);
		to = ipaddr_from_v4(all);
		if (c->enable_natpmp && p->ext_ip[0] && inet_pton(AF_INET, p->ext_ip, &ext) == 1 &&
		    (r = udp_send(pl->fd4, &to, NATPMP_CLIENT_PORT, l->ifindex, NULL, b,
				  natpmp_build_external(b, NATPMP_SUCCESS, epoch, ext))) < 0)
			log_io_error(p, r, "send");
		if (c->enable_pcp && (r = udp_send(pl->fd4, &to, NATPMP_CLIENT_PORT, l->ifindex, NULL,
						   b, pcp_build_announce(b, epoch))) < 0)
			log_io_error(p, r, "send");
	}
	/* IPv6: PCP only (NAT-PMP is IPv4), from the router's link-local
	 * address, the one clients ask (RFC 6887 8.1). */
	if (p->fd6 >= 0 && c->enable_pcp && lan_linklocal(l, &ll)) {
		inet_pton(AF_INET6, PCP_ALL_NODES6, &all6);
		to = ipaddr_from_v6(&all6, 0);
		r = udp_send(p->fd6, &to, NATPMP_CLIENT_PORT, l->ifindex, &ll, b,
			     pcp_build_announce(b, epoch));
		if (r < 0)
			log_io_error(p, r, "send");
	}
}

static void on_announce(struct loop *l, void *arg)
{
	struct pcp_lan *pl = arg;
	int64_t id;

	pl->announce_timer = 0;
	announce_once(pl);
	if (--pl->announce_left == 0)
		return;
	id = loop_timer_in(l, pl->announce_delay_ms, on_announce, pl);
	pl->announce_delay_ms *= 2;
	if (id > 0)
		pl->announce_timer = id;
}

static void announce_start(struct pcp_lan *pl)
{
	int64_t id;

	if (pl->announce_timer > 0)
		loop_timer_cancel(pl->p->l, pl->announce_timer);
	pl->announce_timer = 0;
	pl->announce_left = IGDD_PCP_ANNOUNCE_COUNT;
	pl->announce_delay_ms = PCP_ANNOUNCE_FIRST_MS;
	id = loop_timer_in(pl->p->l, 0, on_announce, pl);
	if (id > 0)
		pl->announce_timer = id;
	else
		log_warnx("NAT-PMP/PCP: cannot schedule the announcements");
}

/* A change subscriber (engine_subscribe()): the external address or the
 * connection. */
static void on_change(struct engine *e, unsigned changes, void *arg)
{
	struct pcp_io *p = arg;
	char ip[INET_ADDRSTRLEN];
	size_t i;

	if (!(changes & (ENGINE_CHG_EXTERNAL_IP | ENGINE_CHG_CONNECTION)))
		return;
	engine_external_ip(e, ip);
	if (strcmp(ip, p->ext_ip) == 0)
		return;
	memcpy(p->ext_ip, ip, sizeof(ip));
	/* A new address (or none): the mappings clients knew are gone. */
	pcp_svc_reset_epoch(&p->svc);
	if (ip[0])
		for (i = 0; i < e->nlans; i++)
			announce_start(&p->lans[i]);
}

/* ---- receiving ------------------------------------------------------ */

/* Take a token of src's bucket; false when it is empty. */
static bool rate_ok(struct pcp_io *p, const struct ipaddr *a)
{
	uint64_t now = loop_now_ms(p->l) + 1;   /* 0 marks a free slot */
	struct pcp_source *s = NULL, *oldest = &p->src[0];
	uint64_t add;
	size_t i;

	for (i = 0; i < IGDD_PCP_RATE_SOURCES; i++) {
		if (p->src[i].last_ms && ipaddr_eq(&p->src[i].addr, a)) {
			s = &p->src[i];
			break;
		}
		if (p->src[i].last_ms < oldest->last_ms)
			oldest = &p->src[i];
	}
	if (!s) {
		s = oldest;
		s->addr = *a;
		s->tokens = IGDD_PCP_RATE_BURST;
		s->last_ms = now;
	}
	add = (now - s->last_ms) * IGDD_PCP_RATE_PER_S / 1000u;
	if (add > 0) {
		s->tokens = add >= IGDD_PCP_RATE_BURST - s->tokens ? IGDD_PCP_RATE_BURST
								   : s->tokens + (unsigned)add;
		s->last_ms = now;
	}
	if (s->tokens == 0)
		return false;
	s->tokens--;
	return true;
}

/* The LAN whose interface d arrived on, or -1. */
static int arrival_lan(const struct pcp_io *p, const struct udp_dgram *d)
{
	size_t i;

	for (i = 0; i < p->e->nlans; i++)
		if (p->e->lans[i].ifindex && p->e->lans[i].ifindex == d->ifindex)
			return (int)i;
	return -1;
}

/* The answer of n bytes (0: none) to d, from the address it was sent to
 * (a link-local one needs its interface: the one the request came in on). */
static void answer(struct pcp_io *p, int fd, const struct udp_dgram *d, const uint8_t *out,
		   size_t n)
{
	int r;

	if (n == 0 || fd < 0)
		return;
	r = udp_send(fd, &d->from, d->from_port, ipaddr_is_v6(&d->from) ? d->ifindex : 0, &d->dst,
		     out, n);
	if (r < 0)
		log_io_error(p, r, "send");
}

/*
 * A successful IPv4 mapping answer: NAT-PMP (RFC 6886 3.3: opcode 129 or
 * 130, result 0, a lifetime) or PCP MAP (RFC 6887 11.4: result SUCCESS, a
 * lifetime, an IPv4-mapped external address). Its protocol and the
 * offset of the external port in it.
 */
static bool mapped_answer(const uint8_t *out, size_t n, uint8_t *proto, size_t *at)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (n >= 16 && out[0] == 0 && (out[1] == 129 || out[1] == 130) && out[2] == 0 &&
	    out[3] == 0 && (out[12] | out[13] | out[14] | out[15])) {
		*proto = out[1] == 129 ? MAP_UDP : MAP_TCP;
		*at = 10;
		return true;
	}
	if (n >= 60 && out[0] == 2 && out[1] == (0x80 | PCP_OP_MAP) && out[3] == PCP_SUCCESS &&
	    (out[4] | out[5] | out[6] | out[7]) && memcmp(out + 44, v4mapped, 12) == 0 &&
	    (out[36] == 6 || out[36] == 17)) {
		*proto = out[36] == 17 ? MAP_UDP : MAP_TCP;
		*at = 42;
		return true;
	}
	return false;
}

/* The port the internet sees, where the upstream granted another. */
static void upstream_port(uint8_t *out, size_t at, const struct engine_up_outcome *o)
{
	if (o->result != ENGINE_UP_GRANTED || o->port == 0)
		return;
	out[at] = (uint8_t)(o->port >> 8);
	out[at + 1] = (uint8_t)o->port;
}

static void on_upstream(void *arg, const struct engine_up_outcome *o)
{
	struct pcp_hold *h = arg;
	struct pcp_io *p = h->p;

	if (h->prev)
		h->prev->next = h->next;
	else
		p->held = h->next;
	if (h->next)
		h->next->prev = h->prev;
	upstream_port(h->out, h->at, o);
	answer(p, h->lan < 0 ? p->fd6 : p->lans[h->lan].fd4, &h->d, h->out, h->n);
	free(h);
}

/*
 * Answer, or for a mapping that the upstream mirrors, hold the answer
 * until the upstream's (at most IGDD_UPSTREAM_REPLY_WAIT_MS) and answer
 * the external port the internet sees: the one the upstream granted.
 * NAT-PMP and PCP name a mapping by its internal port, so the client's
 * renewals and deletes still find it; the local table keeps its port.
 */
static void answer_seen(struct pcp_io *p, int lan, int fd, const struct udp_dgram *d,
			const uint8_t *out, size_t n)
{
	struct engine_up_outcome now;
	struct pcp_hold *h;
	uint8_t proto;
	size_t at;
	uint32_t id = 0;

	if (!mapped_answer(out, n, &proto, &at) || !(h = malloc(sizeof(*h)))) {
		answer(p, fd, d, out, n);
		return;
	}
	memcpy(h->out, out, n);
	if (engine_up_wait(p->e, proto, (uint16_t)(out[at] << 8 | out[at + 1]),
			   IGDD_UPSTREAM_REPLY_WAIT_MS, on_upstream, h, &now, &id) == ENGINE_UP_NOW) {
		upstream_port(h->out, at, &now);
		answer(p, fd, d, h->out, n);
		free(h);
		return;
	}
	h->p = p;
	h->id = id;
	h->lan = lan;
	h->d = *d;
	h->n = n;
	h->at = at;
	h->prev = NULL;
	h->next = p->held;
	if (p->held)
		p->held->prev = h;
	p->held = h;
}

static void wait_unlink(struct pcp_wait *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		x->p->waiting = x->next;
	if (x->next)
		x->next->prev = x->prev;
}

/* Its turn came: handled now, answered from its socket as it is now (a
 * LAN that lost its address has none: no answer). */
static void on_turn(struct engine_waiter *w, int status)
{
	struct pcp_wait *x = w->arg;
	struct pcp_io *p = x->p;
	uint8_t out[PCP_SVC_OUT_MAX];
	size_t n;

	wait_unlink(x);
	if (status == 0) {
		n = pcp_svc_handle(&p->svc, &x->d.from, x->lan_of, x->data, x->len, out);
		answer_seen(p, x->lan, x->lan < 0 ? p->fd6 : p->lans[x->lan].fd4, &x->d, out, n);
	}
	free(x);
}

/* Keep the datagram until its turn: 0, or -errno (queue full, memory). */
static int wait_turn(struct pcp_io *p, int lan, unsigned lan_of, const struct udp_dgram *d,
		     const uint8_t *data, size_t len)
{
	struct pcp_wait *x = malloc(sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->w.resume = on_turn;
	x->w.arg = x;
	x->w.queued = false;
	if (engine_tx_wait(p->e, &x->w, &d->from) < 0) {
		free(x);
		return -EBUSY;
	}
	x->p = p;
	x->lan = lan;
	x->lan_of = lan_of;
	x->d = *d;
	x->len = len;
	memcpy(x->data, data, len);
	x->prev = NULL;
	x->next = p->waiting;
	if (p->waiting)
		p->waiting->prev = x;
	p->waiting = x;
	return 0;
}

/*
 * One datagram on fd (a LAN's IPv4 socket when lan >= 0, else the IPv6
 * socket): from a host of the LAN it arrived on, to an address of that
 * LAN; answered from the address it was sent to.
 */
static void on_datagram(struct pcp_io *p, int fd, int lan, const struct udp_dgram *d,
			const uint8_t *data, size_t len)
{
	uint8_t out[PCP_SVC_OUT_MAX];
	char peer[IPADDR_STRLEN];
	unsigned suppressed;
	size_t n;

	if (!d->from_ok || d->from_port == 0 || !d->have_pktinfo)
		return;
	ipaddr_ntop(&d->from, peer, sizeof(peer));
	/* The IPv4 socket is its LAN's; the IPv6 one is every LAN's. */
	if (lan < 0)
		lan = arrival_lan(p, d);
	if (lan < 0 || (unsigned)lan >= p->e->nlans || d->ifindex != p->e->lans[lan].ifindex) {
		log_debug("%s: NAT-PMP/PCP: ignored, not received on a LAN interface", peer);
		return;
	}
	if (!lan_is_own(engine_lan(p->e, (unsigned)lan), &d->dst) ||
	    !engine_lan_host(p->e, (unsigned)lan, &d->from)) {
		log_debug("%s: NAT-PMP/PCP: ignored, not from the LAN", peer);
		return;
	}
	if (d->truncated) {
		if (ratelimit_ok(&p->log_big, loop_now_ms(p->l), &suppressed))
			log_warnx("%s: NAT-PMP/PCP: datagram longer than %d bytes dropped "
				  "(%u more not logged)", peer, IGDD_PCP_MAX_DATAGRAM, suppressed);
		return;
	}
	if (!rate_ok(p, &d->from)) {
		stats_refused(&p->e->stats, STATS_REF_PCP_RATE);
		if (ratelimit_ok(&p->log_rate, loop_now_ms(p->l), &suppressed))
			log_warnx("%s: NAT-PMP/PCP: rate limit reached, dropping requests "
				  "(%u more not logged)", peer, suppressed);
		return;
	}
	if (engine_tx_busy(p->e) && pcp_svc_changes(data, len)) {
		if (wait_turn(p, fd == p->fd6 ? -1 : lan, (unsigned)lan, d, data, len) == 0)
			return;
		n = pcp_svc_busy(&p->svc, &d->from, data, len, out);
		answer(p, fd, d, out, n);
		return;
	}
	n = pcp_svc_handle(&p->svc, &d->from, (unsigned)lan, data, len, out);
	answer_seen(p, fd == p->fd6 ? -1 : lan, fd, d, out, n);
}

static void read_all(struct pcp_io *p, int fd, int lan)
{
	int i;

	for (i = 0; i < PCP_RX_BUDGET; i++) {
		uint8_t data[IGDD_PCP_MAX_DATAGRAM];
		struct udp_dgram d;
		ssize_t n = udp_recv(fd, data, sizeof(data), &d);

		if (n < 0) {
			if (n != -EAGAIN)
				log_io_error(p, (int)n, "receive");
			return;
		}
		on_datagram(p, fd, lan, &d, data, (size_t)n);
	}
}

static void on_readable4(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pcp_lan *pl = arg;

	(void)l;
	(void)events;
	read_all(pl->p, fd, (int)pl->index);
}

static void on_readable6(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)events;
	read_all(arg, fd, -1);
}

/* ---- set-up and tear-down ------------------------------------------- */

/* A UDP socket of a's family bound to a:5351 (the IPv6 one to [::]). */
static int socket_open(const struct ipaddr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = ipaddr_to_sockaddr(a, PCP_PORT, &ss);
	int fd, one = 1, hops = 1, r;

	fd = socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    udp_want_pktinfo(fd, a->family) < 0 ||
	    (a->family == AF_INET &&
	     setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops)) < 0) ||
	    (a->family == AF_INET6 &&
	     (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0)) ||
	    bind(fd, (const struct sockaddr *)&ss, len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void lan_close4(struct pcp_lan *pl)
{
	if (pl->fd4 < 0)
		return;
	loop_fd_del(pl->p->l, pl->fd4);
	close(pl->fd4);
	pl->fd4 = -1;
	pl->bound4.s_addr = 0;
}

/* The LAN's IPv4 socket on its address of now. 0 or -errno (logged). */
static int lan_bind4(struct pcp_lan *pl)
{
	struct pcp_io *p = pl->p;
	const struct lan *l = engine_lan(p->e, pl->index);
	char addr[INET_ADDRSTRLEN];
	struct ipaddr a;
	int fd, r;

	if (pl->fd4 >= 0 && lan_has_v4(l) && pl->bound4.s_addr == l->addr.s_addr)
		return 0;
	lan_close4(pl);
	if (!lan_has_v4(l))
		return 0;
	a = ipaddr_from_v4(l->addr);
	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	fd = socket_open(&a);
	if (fd < 0) {
		errno = -fd;
		log_warn("NAT-PMP/PCP: socket on %s:%d (%s)", addr, PCP_PORT, l->name);
		return fd;
	}
	r = loop_fd_add(p->l, fd, EPOLLIN, on_readable4, pl);
	if (r < 0) {
		close(fd);
		return r;
	}
	pl->fd4 = fd;
	pl->bound4 = l->addr;
	log_info("NAT-PMP %s, PCP %s: listening on %s (%s:%d)",
		 p->e->cfg->enable_natpmp ? "on" : "off", p->e->cfg->enable_pcp ? "on" : "off",
		 l->name, addr, PCP_PORT);
	return 0;
}

static void open6(struct pcp_io *p)
{
	struct ipaddr any;
	int r;

	memset(&any, 0, sizeof(any));
	any.family = AF_INET6;
	p->fd6 = socket_open(&any);
	if (p->fd6 < 0) {
		log_info("NAT-PMP/PCP: no IPv6 socket (%s): IPv4 only", strerror(-p->fd6));
		p->fd6 = -1;
		return;
	}
	r = loop_fd_add(p->l, p->fd6, EPOLLIN, on_readable6, p);
	if (r < 0) {
		close(p->fd6);
		p->fd6 = -1;
		return;
	}
	log_info("PCP %s over IPv6: port %d on the LANs' IPv6 addresses",
		 p->e->cfg->enable_pcp ? "on" : "off", PCP_PORT);
}

void pcp_io_lans_changed(struct pcp_io *p, uint32_t lans)
{
	size_t i;

	if (!p)
		return;
	/* The addresses clients map to or through may have changed. */
	pcp_svc_reset_epoch(&p->svc);
	for (i = 0; i < p->e->nlans; i++) {
		if (!(lans & (1u << i)))
			continue;
		lan_bind4(&p->lans[i]);
		announce_start(&p->lans[i]);
	}
}

struct pcp_io *pcp_io_new(struct engine *e, struct loop *l)
{
	struct pcp_io *p;
	size_t i;

	p = calloc(1, sizeof(*p));
	if (!p) {
		log_warnx("NAT-PMP/PCP: out of memory");
		return NULL;
	}
	p->e = e;
	p->l = l;
	p->fd6 = -1;
	p->log_big = RATELIMIT_INIT(PCP_LOG_INTERVAL_MS, 1);
	p->log_rate = RATELIMIT_INIT(PCP_LOG_INTERVAL_MS, 1);
	p->log_io = RATELIMIT_INIT(PCP_LOG_INTERVAL_MS, 1);
	pcp_svc_init(&p->svc, e);
	for (i = 0; i < IGDD_CONF_MAX_LANS; i++) {
		p->lans[i].p = p;
		p->lans[i].index = (unsigned)i;
		p->lans[i].fd4 = -1;
	}
	for (i = 0; i < e->nlans; i++) {
		if (lan_bind4(&p->lans[i]) < 0) {
			pcp_io_free(p);
			return NULL;
		}
	}
	open6(p);
	if (engine_subscribe(e, on_change, p) < 0) {
		log_warnx("NAT-PMP/PCP: cannot follow the external address (too many subscribers)");
		pcp_io_free(p);
		return NULL;
	}
	engine_external_ip(e, p->ext_ip);
	for (i = 0; i < e->nlans; i++)
		announce_start(&p->lans[i]);
	return p;
}

void pcp_io_free(struct pcp_io *p)
{
	size_t i;

	if (!p)
		return;
	engine_unsubscribe(p->e, on_change, p);
	while (p->waiting) {            /* their clients hear nothing */
		struct pcp_wait *x = p->waiting;

		p->waiting = x->next;
		engine_tx_unwait(p->e, &x->w);
		free(x);
	}
	while (p->held) {               /* likewise */
		struct pcp_hold *h = p->held;

		p->held = h->next;
		engine_up_cancel(p->e, h->id);
		free(h);
	}
	for (i = 0; i < IGDD_CONF_MAX_LANS; i++) {
		if (p->lans[i].announce_timer > 0)
			loop_timer_cancel(p->l, p->lans[i].announce_timer);
		lan_close4(&p->lans[i]);
	}
	if (p->fd6 >= 0) {
		loop_fd_del(p->l, p->fd6);
		close(p->fd6);
	}
	free(p);
}
