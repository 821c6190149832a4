/*
 * sim.c - the simulated backend: no privilege, no kernel state.
 *
 * It keeps a count of what it would have installed (so tests can check
 * that the table and its projection agree) and reports a configured WAN
 * address with plausible, monotonically growing interface counters.
 *
 * It also simulates the WAN link behind the connection state machine
 * (WANIPConnection:2 2.6): the link is up at start; wan_up() completes
 * after sim_connect_delay ms (or fails with no carrier when
 * sim_connect_fail is set), wan_down() after sim_disconnect_delay ms. A
 * zero delay completes synchronously, inside the call: the engine then
 * sees the outcome before the action returns, which is what lets
 * RequestConnection answer 704 at once. A non-zero delay is a deadline
 * the engine polls through next_deadline / tick (no file descriptor).
 * PhysicalLinkStatus follows the simulated link.
 *
 * It keeps the gateway's own ports as the nft helper does (docs/NFT.md,
 * "Ports the gateway keeps"), without privilege: apply() answers
 * -EADDRINUSE for a port this host's own sockets hold (a TCP listener or
 * an unconnected UDP socket on the wildcard or the external address,
 * read with sock_diag, which needs no privilege; sim_router_ports = no
 * turns it off) or that sim_static_forward names; and every
 * SIM_CHECK_MS, while mappings are installed, the ports its sockets hold
 * are reported to the engine (b->on_gone), which removes the mappings
 * on them: the router wins.
 *
 * Its asynchronous form (submit) keeps each job and runs it with the
 * synchronous operations at its next tick (a deadline due at once),
 * never inside submit, so that every test on sim takes the engine's
 * asynchronous path; backend_sim_hold() lets a unit test keep jobs
 * waiting and complete (or fail) them one at a time.
 */
#include "backend/backend.h"

#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "priv/nft_pin.h"
#include "util/log.h"
#include "util/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DEFAULT_EXTERNAL_IP "203.0.113.1"
#define SIM_CHECK_MS 3000               /* the router's ports looked at again */

/* What the simulated link is doing. */
enum sim_pending { SIM_IDLE, SIM_CONNECTING, SIM_DISCONNECTING };

struct sim {
	struct in_addr external_ip;
	size_t installed;
	uint64_t started_ms;

	bool link_up;
	enum sim_pending pending;
	uint64_t due_ms;                /* when pending completes */
	unsigned connect_delay_ms, disconnect_delay_ms;
	bool connect_fail;

	/* Installed pinholes: the same key as nft's sets (the tuple), and
	 * each one's counter of inbound packets. */
	struct sim_pin {
		struct nft_pin key;     /* the same key as nft's elements */
		uint64_t packets;
	} *pins;
	size_t npins, cappins;
	struct sockdiag *sd;            /* NULL: this host's sockets do not count */
	bool sd_failing;                /* warned that they cannot be read */
	struct portset fwd[2];          /* sim_static_forward: TCP, UDP */
	struct portset udp_seen;        /* sockdiag_held()'s memory */
	uint64_t next_check_ms;

	/* Jobs submitted, the oldest first, run at the next tick. */
	struct sim_job {
		struct sim_job *next;
		struct backend_job job;         /* v and pin point at the copies below */
		struct mapping *v;
		struct pinhole pin;
		backend_done_fn done;
		void *arg;
	} *jobs, **jobs_tail;
	size_t njobs;
	bool hold;                      /* backend_sim_hold() */
};

static int pidx(uint8_t proto)
{
	return proto == MAP_UDP ? 1 : 0;
}

static int sim_init(struct backend *b, const struct config *cfg)
{
	struct sim *s = calloc(1, sizeof(*s));
	size_t i;

	if (!s)
		return -ENOMEM;
	if (cfg->have_external_ip)
		s->external_ip = cfg->external_ip;
	else
		inet_pton(AF_INET, SIM_DEFAULT_EXTERNAL_IP, &s->external_ip);
	s->started_ms = clock_monotonic_ms(NULL);
	s->link_up = true;
	s->connect_delay_ms = cfg->sim_connect_delay;
	s->disconnect_delay_ms = cfg->sim_disconnect_delay;
	s->connect_fail = cfg->sim_connect_fail;
	for (i = 0; i < cfg->nsim_static_forward; i++) {
		const struct config_ports *fw = &cfg->sim_static_forward[i];

		portset_add_range(&s->fwd[fw->proto == IPPROTO_UDP ? 1 : 0], fw->lo, fw->hi);
	}
	if (cfg->sim_router_ports) {
		s->sd = sockdiag_new();
		if (!s->sd)
			log_warn("backend sim: cannot read this host's sockets (sock_diag): "
				 "its own ports are not kept");
	}
	b->priv = s;
	return 0;
}

/* Whether the gateway keeps port for itself: 1, 0 (also when this host's
 * sockets cannot be read: warned once). */
static int sim_port_held(struct sim *s, uint8_t proto, uint16_t port)
{
	int r;

	if (portset_has(&s->fwd[pidx(proto)], port))
		return 1;
	if (!s->sd)
		return 0;
	r = sockdiag_bound(s->sd, proto == MAP_UDP ? IPPROTO_UDP : IPPROTO_TCP, port,
			   &s->external_ip, 1, 0);
	if (r < 0 && !s->sd_failing)
		log_warnx("backend sim: cannot read this host's sockets: %s", strerror(-r));
	s->sd_failing = r < 0;
	return r > 0;
}

static int sim_apply(struct backend *b, const struct mapping *m)
{
	struct sim *s = b->priv;

	if (sim_port_held(s, m->proto, m->ext_port))
		return -EADDRINUSE;
	s->installed++;
	if (s->sd && s->next_check_ms == 0)
		s->next_check_ms = clock_now(b->clock) + SIM_CHECK_MS;
	return 0;
}

static int sim_remove(struct backend *b, const struct mapping *m)
{
	struct sim *s = b->priv;

	(void)m;
	if (s->installed > 0)
		s->installed--;
	return 0;
}

static int sim_flush(struct backend *b)
{
	struct sim *s = b->priv;

	s->installed = 0;
	s->npins = 0;
	return 0;
}

static struct sim_pin *pin_lookup(const struct sim *s, const struct pinhole *p)
{
	struct nft_pin k;
	size_t i;

	nft_pin_from(p, &k);
	for (i = 0; i < s->npins; i++)
		if (nft_pin_eq(&s->pins[i].key, &k))
			return &s->pins[i];
	return NULL;
}

static int sim_pin_apply(struct backend *b, const struct pinhole *p)
{
	struct sim *s = b->priv;
	struct sim_pin *v;
	struct nft_pin k;

	nft_pin_from(p, &k);
	if (!nft_pin_ok(&k))
		return -EINVAL;         /* what nft's text refuses too */
	if (pin_lookup(s, p))
		return 0;
	if (s->npins == s->cappins) {
		size_t cap = s->cappins ? s->cappins * 2 : 16;

		v = realloc(s->pins, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->pins = v;
		s->cappins = cap;
	}
	v = &s->pins[s->npins++];
	v->key = k;
	v->packets = 0;
	return 0;
}

static int sim_pin_remove(struct backend *b, const struct pinhole *p)
{
	struct sim *s = b->priv;
	struct sim_pin *x = pin_lookup(s, p);

	if (!x)
		return 0;
	*x = s->pins[--s->npins];
	return 0;
}

static int sim_pin_packets(struct backend *b, const struct pinhole *p, uint64_t *ret)
{
	struct sim_pin *x = pin_lookup(b->priv, p);

	if (!x)
		return -ENOENT;
	*ret = x->packets;
	return 0;
}

/* Linux's defaults (nf_conntrack_tcp_timeout_established,
 * nf_conntrack_udp_timeout_stream, nf_conntrack_udplite_timeout_stream). */
static int sim_pin_outbound_timeout(struct backend *b, uint8_t proto, uint32_t *ret)
{
	(void)b;
	switch (proto) {
	case PIN_PROTO_TCP: *ret = 432000; return 0;
	case PIN_PROTO_UDP:
	case PIN_PROTO_UDPLITE: *ret = 120; return 0;
	default: return -EPROTONOSUPPORT;
	}
}

int backend_sim_pin_traffic(struct backend *b, const struct pinhole *p, uint64_t n)
{
	struct sim_pin *x;

	if (!b->ops || b->ops->pin_apply != sim_pin_apply)
		return -ENOTSUP;        /* not the sim (a test's copy of its ops is) */
	x = pin_lookup(b->priv, p);
	if (!x)
		return -ENOENT;
	x->packets += n;
	return 0;
}

size_t backend_sim_pin_count(const struct backend *b)
{
	const struct sim *s = b->priv;

	return b->ops && b->ops->pin_apply == sim_pin_apply && s ? s->npins : 0;
}

/* ---- jobs (submit) ---- */

static int sim_submit(struct backend *b, const struct backend_job *job, backend_done_fn done,
		      void *arg)
{
	struct sim *s = b->priv;
	struct sim_job *j = calloc(1, sizeof(*j));
	size_t i;

	if (!j)
		return -ENOMEM;
	if (job->n && !(j->v = calloc(job->n, sizeof(*j->v)))) {
		free(j);
		return -ENOMEM;
	}
	for (i = 0; i < job->n; i++) {
		j->v[i] = job->v[i];
		j->v[i].desc = NULL;            /* never read by a backend */
	}
	if (job->pin)
		j->pin = *job->pin;
	j->job = *job;
	j->job.v = j->v;
	j->job.pin = job->pin ? &j->pin : NULL;
	j->job.grant_fd = -1;           /* sim grants nothing */
	j->done = done;
	j->arg = arg;
	if (!s->jobs_tail)
		s->jobs_tail = &s->jobs;
	*s->jobs_tail = j;
	s->jobs_tail = &j->next;
	s->njobs++;
	return 0;
}

/* Complete the oldest job: run it, or fail it with status. */
static void job_complete(struct backend *b, int status)
{
	struct sim *s = b->priv;
	struct sim_job *j = s->jobs;
	int r;

	s->jobs = j->next;
	if (!s->jobs)
		s->jobs_tail = &s->jobs;
	s->njobs--;
	r = status ? status : backend_job_run(b, &j->job);
	j->done(b, r, j->arg);
	free(j->v);
	free(j);
}

/* At most max jobs, those submitted before the call (done may submit). */
static size_t jobs_run(struct backend *b, size_t max, int status)
{
	struct sim *s = b->priv;
	size_t n = s->njobs < max ? s->njobs : max, i;

	for (i = 0; i < n && s->jobs; i++)
		job_complete(b, status);
	return i;
}

static void sim_drain(struct backend *b)
{
	struct sim *s = b->priv;

	while (s->jobs)
		job_complete(b, 0);
}

void backend_sim_hold(struct backend *b, bool hold)
{
	struct sim *s = b->priv;

	s->hold = hold;
}

size_t backend_sim_complete(struct backend *b, size_t max, int status)
{
	return jobs_run(b, max, status);
}

size_t backend_sim_jobs(const struct backend *b)
{
	const struct sim *s = b->priv;

	return s ? s->njobs : 0;
}

static void sim_shutdown(struct backend *b)
{
	struct sim *s = b->priv;

	if (s) {
		sim_drain(b);
		free(s->pins);
		sockdiag_free(s->sd);
	}
	free(s);
	b->priv = NULL;
}

static int sim_wan_status(struct backend *b, struct backend_wan *ret)
{
	struct sim *s = b->priv;
	uint64_t secs = (clock_monotonic_ms(NULL) - s->started_ms) / 1000u;

	memset(ret, 0, sizeof(*ret));
	ret->have_ip = s->external_ip.s_addr != 0;
	ret->external_ip = s->external_ip;
	ret->link_up = s->link_up;
	/* A quiet simulated link: about 2 kB/s each way, 1.2 kB packets. */
	ret->bytes_sent = secs * 2000u;
	ret->bytes_received = secs * 2400u;
	ret->packets_sent = ret->bytes_sent / 1200u;
	ret->packets_received = ret->bytes_received / 1200u;
	ret->up_bitrate = 100000000u;
	ret->down_bitrate = 100000000u;
	memcpy(ret->access_type, "Ethernet", sizeof("Ethernet"));
	return 0;
}

/* ---- the simulated link ---- */

static void report(struct backend *b, enum backend_link_event ev, enum backend_link_cause cause)
{
	if (b->on_link)
		b->on_link(b, ev, cause, b->on_link_arg);
}

/* The pending operation is over: change the link, then tell the engine. */
static void sim_complete(struct backend *b)
{
	struct sim *s = b->priv;
	enum sim_pending done = s->pending;

	s->pending = SIM_IDLE;
	s->due_ms = 0;
	switch (done) {
	case SIM_CONNECTING:
		s->link_up = !s->connect_fail;
		if (s->connect_fail)
			report(b, BACKEND_LINK_FAILED, BACKEND_CAUSE_NO_CARRIER);
		else
			report(b, BACKEND_LINK_UP, BACKEND_CAUSE_NONE);
		break;
	case SIM_DISCONNECTING:
		s->link_up = false;
		report(b, BACKEND_LINK_DOWN_DONE, BACKEND_CAUSE_NONE);
		break;
	default:
		break;
	}
}

/* Start op: at once when delay_ms is 0, else at now + delay_ms. The
 * newest request replaces one still pending (a wan_down aborts a
 * wan_up in progress). */
static int sim_start(struct backend *b, enum sim_pending op, unsigned delay_ms)
{
	struct sim *s = b->priv;

	s->pending = op;
	s->due_ms = 0;
	if (delay_ms == 0) {
		sim_complete(b);
		return 0;
	}
	s->due_ms = clock_now(b->clock) + delay_ms;
	return 0;
}

static int sim_wan_up(struct backend *b)
{
	struct sim *s = b->priv;

	return sim_start(b, SIM_CONNECTING, s->connect_delay_ms);
}

static int sim_wan_down(struct backend *b)
{
	struct sim *s = b->priv;

	return sim_start(b, SIM_DISCONNECTING, s->disconnect_delay_ms);
}

/* ---- the router's own ports ---- */

/* The ports this host's sockets hold now, every mapping on them to the
 * engine (which finds nothing on most). */
static void sim_check(struct backend *b, uint64_t now)
{
	struct sim *s = b->priv;
	struct portset *held = malloc(2 * sizeof(*held));
	struct backend_gone v[64];
	size_t n = 0;
	int p, k, r;

	s->next_check_ms = s->installed ? now + SIM_CHECK_MS : 0;
	if (!held)
		return;
	r = sockdiag_held(s->sd, &s->external_ip, 1, 0, &s->udp_seen, &held[0], &held[1]);
	for (k = 0; r == 0 && k < 2; k++) {
		for (p = portset_next(&held[k], 1); p > 0; p = portset_next(&held[k], (uint32_t)p + 1)) {
			memset(&v[n], 0, sizeof(v[n]));
			v[n].proto = k ? MAP_UDP : MAP_TCP;
			v[n].ext_port = (uint16_t)p;
			v[n].whole_port = true;
			v[n].why = BACKEND_GONE_ROUTER_PORT;
			if (++n == 64 && b->on_gone) {
				b->on_gone(b, v, n, b->on_gone_arg);
				n = 0;
			}
		}
	}
	if (n && b->on_gone)
		b->on_gone(b, v, n, b->on_gone_arg);
	free(held);
}

static uint64_t earliest(uint64_t a, uint64_t c)
{
	return a == 0 ? c : c == 0 ? a : a < c ? a : c;
}

static uint64_t sim_next_deadline(struct backend *b)
{
	struct sim *s = b->priv;

	uint64_t t = earliest(s->pending != SIM_IDLE ? s->due_ms : 0, s->next_check_ms);

	if (s->jobs && !s->hold) {
		uint64_t now = clock_now(b->clock);

		t = earliest(t, now ? now : 1);
	}
	return t;
}

static void sim_tick(struct backend *b, uint64_t now)
{
	struct sim *s = b->priv;

	if (s->pending != SIM_IDLE && s->due_ms <= now)
		sim_complete(b);
	if (s->next_check_ms && s->next_check_ms <= now)
		sim_check(b, now);
	if (!s->hold)
		jobs_run(b, SIZE_MAX, 0);
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.init = sim_init,
	.apply = sim_apply,
	.remove = sim_remove,
	.flush = sim_flush,
	.shutdown = sim_shutdown,
	.wan_status = sim_wan_status,
	.wan_up = sim_wan_up,
	.wan_down = sim_wan_down,
	.next_deadline = sim_next_deadline,
	.tick = sim_tick,
	.pin_apply = sim_pin_apply,
	.pin_remove = sim_pin_remove,
	.pin_packets = sim_pin_packets,
	.pin_outbound_timeout = sim_pin_outbound_timeout,
	.submit = sim_submit,
	.drain = sim_drain,
};
