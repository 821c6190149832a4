/*
 * pcp_io.c - NAT-PMP (RFC 6886) and PCP (RFC 6887) over UDP on the LAN:
 * one socket bound to the LAN address, port 5351 (RFC 6886 3.1, RFC 6887
 * 19.1). Only datagrams received on the LAN interface from a host of the
 * LAN subnet are answered, each source at most IGDD_PCP_RATE_BURST at
 * once and IGDD_PCP_RATE_PER_S per second after (the sources tracked are
 * bounded, the least recently seen one is forgotten first); datagrams
 * longer than IGDD_PCP_MAX_DATAGRAM are dropped. What is dropped is
 * logged at a bounded rate.
 *
 * Announcements (RFC 6886 3.2.1, RFC 6887 14.1.1): at start, and when
 * the external address changes or the WAN comes back (the epoch then
 * restarts, RFC 6887 8.5), the NAT-PMP external address response and the
 * PCP ANNOUNCE response go to 224.0.0.1:5350 on the LAN interface,
 * IGDD_PCP_ANNOUNCE_COUNT times, the first at once, then after 250 ms,
 * the interval doubling each time.
 */
#include "net/pcp_io.h"

#include "conf/config.h"
#include "engine.h"
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
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PCP_RX_BUDGET           64      /* datagrams read per wake-up */
#define PCP_ANNOUNCE_FIRST_MS   250
#define PCP_ALL_HOSTS           0xe0000001u     /* 224.0.0.1 */
#define PCP_LOG_INTERVAL_MS     10000

struct pcp_source {
	struct in_addr addr;
	unsigned tokens;
	uint64_t last_ms;               /* last refill; 0: slot free */
};

struct pcp_io {
	struct engine *e;
	struct loop *l;
	int fd;
	unsigned ifindex;
	struct pcp_svc svc;
	engine_change_fn prev_fn;
	void *prev_arg;
	char ext_ip[INET_ADDRSTRLEN];   /* announced last */
	int64_t announce_timer;
	unsigned announce_left;
	uint64_t announce_delay_ms;
	struct pcp_source src[IGDD_PCP_RATE_SOURCES];
	struct ratelimit log_big, log_rate, log_io;
};

/* ---- sending -------------------------------------------------------- */

static void pcp_send(struct pcp_io *p, const struct sockaddr_in *to, const uint8_t *b, size_t n)
{
	unsigned suppressed;

	if (sendto(p->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)to,
		   sizeof(*to)) < 0 &&
	    ratelimit_ok(&p->log_io, loop_now_ms(p->l), &suppressed))
		log_warn("NAT-PMP/PCP: send (%u more failures not logged)", suppressed);
}

static void announce_once(struct pcp_io *p)
{
	const struct config *c = p->e->cfg;
	struct sockaddr_in to;
	struct in_addr ext = { 0 };
	uint8_t b[PCP_HEADER_LEN];
	uint32_t epoch = pcp_svc_epoch(&p->svc);

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(PCP_ALL_HOSTS);
	to.sin_port = htons(NATPMP_CLIENT_PORT);
	if (c->enable_natpmp && p->ext_ip[0] && inet_pton(AF_INET, p->ext_ip, &ext) == 1)
		pcp_send(p, &to, b, natpmp_build_external(b, NATPMP_SUCCESS, epoch, ext));
	if (c->enable_pcp)
		pcp_send(p, &to, b, pcp_build_announce(b, epoch));
}

static void on_announce(struct loop *l, void *arg)
{
	struct pcp_io *p = arg;
	int64_t id;

	p->announce_timer = 0;
	announce_once(p);
	if (--p->announce_left == 0)
		return;
	id = loop_timer_in(l, p->announce_delay_ms, on_announce, p);
	p->announce_delay_ms *= 2;
	if (id > 0)
		p->announce_timer = id;
}

static void announce_start(struct pcp_io *p)
{
	int64_t id;

	if (p->announce_timer > 0)
		loop_timer_cancel(p->l, p->announce_timer);
	p->announce_timer = 0;
	p->announce_left = IGDD_PCP_ANNOUNCE_COUNT;
	p->announce_delay_ms = PCP_ANNOUNCE_FIRST_MS;
	id = loop_timer_in(p->l, 0, on_announce, p);
	if (id > 0)
		p->announce_timer = id;
	else
		log_warnx("NAT-PMP/PCP: cannot schedule the announcements");
}

/* The engine's change hook: the external address or the connection. */
static void on_change(struct engine *e, unsigned changes, void *arg)
{
	struct pcp_io *p = arg;
	char ip[INET_ADDRSTRLEN];

	if (p->prev_fn)
		p->prev_fn(e, changes, p->prev_arg);
	if (!(changes & (ENGINE_CHG_EXTERNAL_IP | ENGINE_CHG_CONNECTION)))
		return;
	engine_external_ip(e, ip);
	if (strcmp(ip, p->ext_ip) == 0)
		return;
	memcpy(p->ext_ip, ip, sizeof(ip));
	/* A new address (or none): the mappings clients knew are gone. */
	pcp_svc_reset_epoch(&p->svc);
	if (ip[0])
		announce_start(p);
}

/* ---- receiving ------------------------------------------------------ */

/* Take a token of src's bucket; false when it is empty. */
static bool rate_ok(struct pcp_io *p, struct in_addr a)
{
	uint64_t now = loop_now_ms(p->l) + 1;   /* 0 marks a free slot */
	struct pcp_source *s = NULL, *oldest = &p->src[0];
	uint64_t add;
	size_t i;

	for (i = 0; i < IGDD_PCP_RATE_SOURCES; i++) {
		if (p->src[i].last_ms && p->src[i].addr.s_addr == a.s_addr) {
			s = &p->src[i];
			break;
		}
		if (p->src[i].last_ms < oldest->last_ms)
			oldest = &p->src[i];
	}
	if (!s) {
		s = oldest;
		s->addr = a;
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

/* A host of the LAN subnet, not its network or broadcast address. */
static bool peer_ok(const struct pcp_io *p, struct in_addr a)
{
	uint32_t mask = ntohl(p->e->lan_mask.s_addr), host = ntohl(a.s_addr);

	if (!engine_on_lan(p->e, a) || a.s_addr == p->e->lan_addr.s_addr)
		return false;
	if (mask < 0xfffffffeU && ((host & ~mask) == 0 || (host & ~mask) == ~mask))
		return false;
	return true;
}

static void on_datagram(struct pcp_io *p, const struct udp_dgram *d, const uint8_t *data,
			size_t len)
{
	const struct sockaddr_in *from = &d->from;
	uint8_t out[PCP_SVC_OUT_MAX];
	char peer[INET_ADDRSTRLEN];
	unsigned suppressed;
	size_t n;

	if (!d->from_ok || from->sin_port == 0)
		return;
	inet_ntop(AF_INET, &from->sin_addr, peer, sizeof(peer));
	if (!d->have_pktinfo || (unsigned)d->pi.ipi_ifindex != p->ifindex ||
	    !peer_ok(p, from->sin_addr)) {
		log_debug("%s: NAT-PMP/PCP: ignored, not from the LAN", peer);
		return;
	}
	if (d->truncated) {
		if (ratelimit_ok(&p->log_big, loop_now_ms(p->l), &suppressed))
			log_warnx("%s: NAT-PMP/PCP: datagram longer than %d bytes dropped "
				  "(%u more not logged)", peer, IGDD_PCP_MAX_DATAGRAM, suppressed);
		return;
	}
	if (!rate_ok(p, from->sin_addr)) {
		stats_refused(&p->e->stats, STATS_REF_PCP_RATE);
		if (ratelimit_ok(&p->log_rate, loop_now_ms(p->l), &suppressed))
			log_warnx("%s: NAT-PMP/PCP: rate limit reached, dropping requests "
				  "(%u more not logged)", peer, suppressed);
		return;
	}
	n = pcp_svc_handle(&p->svc, from->sin_addr, data, len, out);
	if (n > 0)
		pcp_send(p, from, out, n);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pcp_io *p = arg;
	unsigned suppressed;
	int i;

	(void)l;
	(void)events;
	for (i = 0; i < PCP_RX_BUDGET; i++) {
		uint8_t data[IGDD_PCP_MAX_DATAGRAM];
		struct udp_dgram d;
		ssize_t n = udp_recv(fd, data, sizeof(data), &d);

		if (n < 0) {
			if (n != -EAGAIN && ratelimit_ok(&p->log_io, loop_now_ms(p->l), &suppressed)) {
				errno = (int)-n;
				log_warn("NAT-PMP/PCP: receive (%u more failures not logged)",
					 suppressed);
			}
			return;
		}
		on_datagram(p, &d, data, (size_t)n);
	}
}

/* ---- set-up and tear-down ------------------------------------------- */

static int socket_open(const struct pcp_io *p)
{
	struct sockaddr_in sin;
	struct ip_mreqn mreq;
	int fd, one = 1, ttl = 1, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_address = p->e->lan_addr;
	mreq.imr_ifindex = (int)p->ifindex;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = p->e->lan_addr;
	sin.sin_port = htons(PCP_PORT);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    bind(fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

struct pcp_io *pcp_io_new(struct engine *e, struct loop *l, const char *ifname)
{
	struct pcp_io *p;
	char lan[INET_ADDRSTRLEN];
	int r;

	p = calloc(1, sizeof(*p));
	if (!p) {
		log_warnx("NAT-PMP/PCP: out of memory");
		return NULL;
	}
	p->e = e;
	p->l = l;
	p->log_big = RATELIMIT_INIT(PCP_LOG_INTERVAL_MS, 1);
	p->log_rate = RATELIMIT_INIT(PCP_LOG_INTERVAL_MS, 1);
	p->log_io = RATELIMIT_INIT(PCP_LOG_INTERVAL_MS, 1);
	pcp_svc_init(&p->svc, e);
	p->ifindex = if_nametoindex(ifname);
	if (p->ifindex == 0) {
		log_warn("NAT-PMP/PCP: interface %s", ifname);
		free(p);
		return NULL;
	}
	inet_ntop(AF_INET, &e->lan_addr, lan, sizeof(lan));
	p->fd = socket_open(p);
	if (p->fd < 0) {
		errno = -p->fd;
		log_warn("NAT-PMP/PCP: socket on %s:%d", lan, PCP_PORT);
		free(p);
		return NULL;
	}
	r = loop_fd_add(l, p->fd, EPOLLIN, on_readable, p);
	if (r < 0) {
		errno = -r;
		log_warn("NAT-PMP/PCP: loop");
		close(p->fd);
		free(p);
		return NULL;
	}
	p->prev_fn = e->on_change;
	p->prev_arg = e->on_change_arg;
	e->on_change = on_change;
	e->on_change_arg = p;
	engine_external_ip(e, p->ext_ip);
	announce_start(p);
	log_info("NAT-PMP %s, PCP %s: listening on %s (%s:%d)",
		 e->cfg->enable_natpmp ? "on" : "off", e->cfg->enable_pcp ? "on" : "off",
		 ifname, lan, PCP_PORT);
	return p;
}

void pcp_io_free(struct pcp_io *p)
{
	if (!p)
		return;
	if (p->e->on_change == on_change && p->e->on_change_arg == p) {
		p->e->on_change = p->prev_fn;
		p->e->on_change_arg = p->prev_arg;
	}
	if (p->announce_timer > 0)
		loop_timer_cancel(p->l, p->announce_timer);
	loop_fd_del(p->l, p->fd);
	close(p->fd);
	free(p);
}
