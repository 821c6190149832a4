/*
 * stun_io.c - the STUN client on the WAN (stun_io.h).
 *
 * RFC 8489: 6.2.1 (retransmission: RTO doubling, Rc requests, then Rm x
 * RTO), 6.3 (responses are matched by transaction ID: a 96-bit random
 * value from getrandom(), new for each transaction), 6.3.3 / 6.3.4
 * (success and error). RFC 5780: 4.3 (mapping: Test II to the alternate
 * address and primary port, Test III to the alternate address and port),
 * 4.4 (filtering: Test II asks the server to answer from its other
 * address and port, Test III from its other port only; silence is the
 * answer, so those tests send IGDD_STUN_RC_BEHAVIOUR requests only).
 *
 * Nothing a LAN host does starts a run: only the start, a WAN address
 * change and the timers do, so the traffic towards the servers is
 * bounded by the schedule (docs/LIMITS.md "Behind another NAT").
 */
#include "net/stun_io.h"

#include "conf/config.h"
#include "core/backoff.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/wansock.h"
#include "proto/stun.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define STUN_RX_BUDGET  16      /* datagrams read per wake-up */

enum step { STEP_IDLE, STEP_T1, STEP_MAP2, STEP_MAP3, STEP_FILT2, STEP_FILT3 };

struct stun_io {
	struct engine *e;
	struct loop *l;
	struct stun_io_params p;
	int fd;                         /* -1: not open */
	struct stun_addr local;         /* what fd is bound to */

	/* the transaction in flight */
	enum step step;
	uint8_t txid[STUN_TXID_LEN];
	struct stun_addr dest;
	unsigned change;                /* CHANGE-REQUEST flags */
	unsigned sent, rc;
	int64_t tx_timer;

	/* the run in progress */
	size_t server;                  /* index into cfg->stun_server */
	struct stun_status res;         /* what this run learnt so far */
	struct stun_addr other;         /* the server's OTHER-ADDRESS */
	struct stun_addr map2;          /* Test II of 4.3 */

	int64_t run_timer;
	uint64_t last_start_ms;         /* 0: never started */
	struct backoff retry;           /* the waits after failures */
	bool warned_bind, warned_random;
	bool warned_failed;             /* the last run failed and was logged */
	bool seen_wan;                  /* the WAN address the runs are for */
	struct in_addr seen_addr;
};

void stun_io_default_params(struct stun_io_params *p)
{
	p->rto_ms = IGDD_STUN_RTO_MS;
	p->rc = IGDD_STUN_RC;
	p->rc_behaviour = IGDD_STUN_RC_BEHAVIOUR;
	p->rm = IGDD_STUN_RM;
	p->interval_ms = IGDD_STUN_INTERVAL_S * 1000ull;
	p->retry_ms = IGDD_STUN_RETRY_S * 1000ull;
	p->min_gap_ms = IGDD_STUN_MIN_GAP_S * 1000ull;
}

static const char *addr_text(const struct stun_addr *a, char out[INET_ADDRSTRLEN + 6])
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->addr, ip, sizeof(ip));
	snprintf(out, INET_ADDRSTRLEN + 6, "%s:%u", ip, (unsigned)a->port);
	return out;
}

static void run_start(struct loop *l, void *arg);

/* Start the next run delay_ms from now, never within min_gap_ms of the
 * last start: the one run timer. */
static void schedule_run(struct stun_io *s, uint64_t delay_ms)
{
	uint64_t now = loop_now_ms(s->l), at = now + delay_ms;

	if (s->last_start_ms && at < s->last_start_ms + s->p.min_gap_ms)
		at = s->last_start_ms + s->p.min_gap_ms;
	loop_timer_set_at(s->l, &s->run_timer, at, run_start, s);
}

static void socket_close(struct stun_io *s)
{
	if (s->fd < 0)
		return;
	loop_fd_del(s->l, s->fd);
	close(s->fd);
	s->fd = -1;
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg);

/* A socket bound to the WAN address, any port. 0 or -errno. */
static int socket_open(struct stun_io *s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = wansock_open(SOCK_DGRAM, s->e->wan_addr, NULL), r;

	if (fd < 0)
		return fd;
	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = loop_fd_add(s->l, fd, EPOLLIN, on_readable, s);
	if (r < 0) {
		close(fd);
		return r;
	}
	s->fd = fd;
	s->local.addr = sin.sin_addr;
	s->local.port = ntohs(sin.sin_port);
	return 0;
}

static void tx_stop(struct stun_io *s)
{
	loop_timer_clear(s->l, &s->tx_timer);
	s->step = STEP_IDLE;
}

static void on_tx_timer(struct loop *l, void *arg);

static void tx_send(struct stun_io *s)
{
	uint8_t buf[STUN_HEADER_LEN + 8];
	struct sockaddr_in to;
	uint64_t wait;
	int n = stun_build_binding(buf, sizeof(buf), s->txid, s->change);

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr = s->dest.addr;
	to.sin_port = htons(s->dest.port);
	/* A failed send (no route yet, a full buffer) counts as sent: the
	 * schedule, not the error, ends the transaction. */
	if (n > 0 && sendto(s->fd, buf, (size_t)n, 0, (const struct sockaddr *)&to, sizeof(to)) < 0) {
		char d[INET_ADDRSTRLEN + 6];

		log_debug("STUN %s: send: %s", addr_text(&s->dest, d), strerror(errno));
	}
	s->sent++;
	wait = stun_retransmit_delay(s->sent, s->rc, s->p.rto_ms);
	if (wait == 0)
		wait = stun_final_wait(s->p.rm, s->p.rto_ms);
	s->tx_timer = loop_timer_in(s->l, wait, on_tx_timer, s);
}

/* A new transaction: a fresh random ID (6: cryptographically random). */
static bool tx_begin(struct stun_io *s, enum step step, const struct stun_addr *dest,
		     unsigned change)
{
	tx_stop(s);
	if (getrandom(s->txid, sizeof(s->txid), GRND_NONBLOCK) != (ssize_t)sizeof(s->txid)) {
		if (!s->warned_random)
			log_warnx("STUN: no random numbers yet (%s): trying later", strerror(errno));
		s->warned_random = true;
		return false;
	}
	s->step = step;
	s->dest = *dest;
	s->change = change;
	s->sent = 0;
	s->rc = step == STEP_T1 ? s->p.rc : s->p.rc_behaviour;
	tx_send(s);
	return true;
}

static void run_end(struct stun_io *s, bool ok);

static void begin_or_fail(struct stun_io *s, enum step step, const struct stun_addr *dest,
			  unsigned change)
{
	if (!tx_begin(s, step, dest, change))
		run_end(s, false);
}

/* Test I to the current server. */
static void try_server(struct stun_io *s)
{
	const struct config_hostport *hp = &s->e->cfg->stun_server[s->server];
	struct stun_addr dest = { hp->addr, hp->port };

	begin_or_fail(s, STEP_T1, &dest, 0);
}

static void filtering_start(struct stun_io *s)
{
	struct stun_addr dest = s->res.server;

	begin_or_fail(s, STEP_FILT2, &dest, STUN_CHANGE_IP | STUN_CHANGE_PORT);
}

static bool same_result(const struct stun_status *a, const struct stun_status *b)
{
	return a->have_result == b->have_result && stun_addr_equal(&a->mapped, &b->mapped) &&
	       stun_addr_equal(&a->local, &b->local) && a->mapping == b->mapping &&
	       a->filtering == b->filtering;
}

static void run_end(struct stun_io *s, bool ok)
{
	struct stun_status *st = &s->e->stun;
	char srv[INET_ADDRSTRLEN + 6], loc[INET_ADDRSTRLEN + 6], map[INET_ADDRSTRLEN + 6];
	uint64_t wait;

	tx_stop(s);
	if (ok) {
		bool changed = !same_result(st, &s->res);

		s->res.state = STUN_STATE_OK;
		s->res.runs = st->runs;
		s->res.failed_runs = st->failed_runs;
		*st = s->res;
		if (changed)
			log_info("STUN %s: the internet sees %s as %s (%s); mapping %s, filtering %s",
				 addr_text(&st->server, srv), addr_text(&st->local, loc),
				 addr_text(&st->mapped, map),
				 st->port_preserved ? "port kept" : "port changed",
				 stun_behaviour_name(st->mapping), stun_behaviour_name(st->filtering));
		backoff_reset(&s->retry);
		s->warned_failed = false;
		schedule_run(s, s->p.interval_ms);
		return;
	}
	st->failed_runs++;
	wait = backoff_take(&s->retry);
	if (!s->warned_failed)
		log_warnx("STUN: none of the %zu stun_server answered from %s; trying again "
			  "in %llu s", s->e->cfg->nstun_server, addr_text(&s->local, loc),
			  (unsigned long long)(wait / 1000));
	s->warned_failed = true;
	st->state = STUN_STATE_FAILED;
	schedule_run(s, wait);
}

static void run_start(struct loop *l, void *arg)
{
	struct stun_io *s = arg;
	char a[INET_ADDRSTRLEN];
	int r;

	(void)l;
	s->run_timer = 0;
	tx_stop(s);
	if (!s->e->wan_classified) {
		socket_close(s);
		s->e->stun.state = STUN_STATE_WAITING;
		return;                 /* stun_io_wan_changed() starts the next */
	}
	if (s->fd >= 0 && s->local.addr.s_addr != s->e->wan_addr.s_addr)
		socket_close(s);
	if (s->fd < 0 && (r = socket_open(s)) < 0) {
		if (!s->warned_bind)
			log_warnx("STUN: cannot bind a socket to the WAN address %s: %s",
				  inet_ntop(AF_INET, &s->e->wan_addr, a, sizeof(a)) ? a : "?",
				  strerror(-r));
		s->warned_bind = true;
		s->e->stun.state = STUN_STATE_FAILED;
		schedule_run(s, backoff_take(&s->retry));
		return;
	}
	s->warned_bind = false;
	s->last_start_ms = loop_now_ms(s->l);
	s->e->stun.runs++;
	s->e->stun.state = STUN_STATE_QUERYING;
	memset(&s->res, 0, sizeof(s->res));
	s->res.local = s->local;
	s->server = 0;
	try_server(s);
}

/* No answer to the transaction in flight. */
static void tx_timeout(struct stun_io *s)
{
	struct stun_addr dest;

	switch (s->step) {
	case STEP_T1:
		if (++s->server < s->e->cfg->nstun_server)
			try_server(s);
		else
			run_end(s, false);
		break;
	case STEP_MAP2:
	case STEP_MAP3:
		filtering_start(s);     /* mapping stays unknown */
		break;
	case STEP_FILT2:
		dest = s->res.server;
		begin_or_fail(s, STEP_FILT3, &dest, STUN_CHANGE_PORT);
		break;
	case STEP_FILT3:
		s->res.filtering = STUN_ADDRESS_PORT_DEPENDENT;
		run_end(s, true);
		break;
	case STEP_IDLE:
		break;
	}
}

static void on_tx_timer(struct loop *l, void *arg)
{
	struct stun_io *s = arg;

	(void)l;
	s->tx_timer = 0;
	if (s->step == STEP_IDLE)
		return;
	if (s->sent < s->rc)
		tx_send(s);
	else
		tx_timeout(s);
}

static void answer_t1(struct stun_io *s, const struct stun_response *r)
{
	char srv[INET_ADDRSTRLEN + 6];
	struct stun_addr dest;

	if (!r->success || r->unknown_required || !r->have_mapped) {
		log_info("STUN %s: %s%u", addr_text(&s->dest, srv),
			 !r->success ? "error response " : r->unknown_required ?
			 "unknown comprehension-required attribute 0x" : "no IPv4 mapped address",
			 !r->success ? r->error_code : r->unknown_required);
		tx_timeout(s);          /* the next server, as for silence */
		return;
	}
	s->res.have_result = true;
	s->res.server = s->dest;
	s->res.mapped = r->mapped;
	s->res.port_preserved = r->mapped.port == s->local.port;
	if (stun_addr_equal(&r->mapped, &s->local))
		s->res.mapping = STUN_NO_NAT;
	if (!r->have_other) {
		run_end(s, true);       /* behaviour unknown: no alternate address */
		return;
	}
	s->other = r->other;
	if (s->res.mapping == STUN_NO_NAT) {
		filtering_start(s);
		return;
	}
	dest.addr = s->other.addr;
	dest.port = s->res.server.port;
	begin_or_fail(s, STEP_MAP2, &dest, 0);
}

static void on_response(struct stun_io *s, const struct stun_response *r)
{
	switch (s->step) {
	case STEP_T1:
		answer_t1(s, r);
		break;
	case STEP_MAP2:
		if (!r->success || !r->have_mapped) {
			filtering_start(s);
		} else if (stun_addr_equal(&r->mapped, &s->res.mapped)) {
			s->res.mapping = STUN_ENDPOINT_INDEPENDENT;
			filtering_start(s);
		} else {
			s->map2 = r->mapped;
			begin_or_fail(s, STEP_MAP3, &s->other, 0);
		}
		break;
	case STEP_MAP3:
		if (r->success && r->have_mapped)
			s->res.mapping = stun_mapping_verdict(&s->local, &s->res.mapped, &s->map2,
							      &r->mapped);
		filtering_start(s);
		break;
	case STEP_FILT2:
	case STEP_FILT3:
		/* an error (420: the server cannot change) leaves it unknown */
		if (r->success)
			s->res.filtering = s->step == STEP_FILT2 ? STUN_ENDPOINT_INDEPENDENT :
					   STUN_ADDRESS_DEPENDENT;
		run_end(s, true);
		break;
	case STEP_IDLE:
		break;
	}
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct stun_io *s = arg;
	uint8_t buf[STUN_MAX_MSG];
	struct stun_response r;
	unsigned i;

	(void)l;
	(void)events;
	for (i = 0; i < STUN_RX_BUDGET && s->fd == fd; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;          /* EAGAIN; an ICMP error: the schedule ends it */
		}
		/* 6.3: what is not a response to the transaction in flight is
		 * dropped silently (a late answer to an earlier one included) */
		if ((size_t)n > sizeof(buf) || s->step == STEP_IDLE ||
		    stun_parse_response(buf, (size_t)n, &r) < 0 ||
		    memcmp(r.txid, s->txid, STUN_TXID_LEN) != 0)
			continue;
		on_response(s, &r);
	}
}

struct stun_io *stun_io_new(struct engine *e, struct loop *l, const struct stun_io_params *params)
{
	struct stun_io *s;

	if (!e->cfg || e->cfg->nstun_server == 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_warnx("STUN: out of memory");
		return NULL;
	}
	s->e = e;
	s->l = l;
	s->fd = -1;
	if (params)
		s->p = *params;
	else
		stun_io_default_params(&s->p);
	backoff_init(&s->retry, s->p.retry_ms, s->p.interval_ms);
	s->seen_wan = e->wan_classified;
	s->seen_addr = e->wan_addr;
	memset(&e->stun, 0, sizeof(e->stun));
	e->stun.state = STUN_STATE_WAITING;
	schedule_run(s, 0);
	return s;
}

void stun_io_wan_changed(struct stun_io *s)
{
	if (!s || (s->seen_wan == s->e->wan_classified &&
		   s->seen_addr.s_addr == s->e->wan_addr.s_addr))
		return;
	s->seen_wan = s->e->wan_classified;
	s->seen_addr = s->e->wan_addr;
	tx_stop(s);
	socket_close(s);
	/* what was learnt belongs to the old address */
	s->e->stun.have_result = false;
	s->e->stun.state = s->e->wan_classified ? STUN_STATE_QUERYING : STUN_STATE_WAITING;
	backoff_reset(&s->retry);
	schedule_run(s, 0);
}

void stun_io_free(struct stun_io *s)
{
	if (!s)
		return;
	tx_stop(s);
	loop_timer_clear(s->l, &s->run_timer);
	socket_close(s);
	s->e->stun.state = STUN_STATE_OFF;
	free(s);
}
