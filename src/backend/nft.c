/*
 * nft.c - the real NAT backend: the engine's side of the privileged
 * helper (priv/priv.h) that applies mappings to nftables table ip igdd
 * (priv/nft_rules.h, docs/NFT.md).
 *
 * apply/remove/flush are one request each, answered before they return
 * (bounded by PRIV_TIMEOUT_MS: a timeout is a failure, and the action
 * answers 501). Their asynchronous form (submit, what the engine's
 * transactions use) sends the same requests with priv_send() and
 * returns at once: a job of many mappings is cut into requests of
 * PRIV_BATCH_MAX, at most NFT_JOB_WINDOW of them in flight (the rest of
 * the channel's PRIV_INFLIGHT_MAX stays free for the synchronous calls),
 * the next sent as each is answered; the job completes when the last
 * is answered (from main's readiness of the helper's socket, or
 * priv_expire() at tick for a timeout), its status the first failure. Only enabled mappings are installed: applying a disabled
 * one removes its key. Applying an existing key replaces it. The helper
 * answers -EADDRINUSE for a port the gateway itself holds and -EACCES
 * for what its policy refuses (priv/guard.h); an admin mapping carries
 * igddctl's grant (apply_granted). The mappings the helper removes by
 * itself arrive as events and reach the engine from tick (on_gone).
 *
 * wan_status reads the WAN interface directly, without privilege, in
 * igdd's own network namespace: its IPv4 address (external_ip in the
 * configuration overrides it; a private or CGNAT address is reported as
 * it is, with one warning), and its counters, operational state and
 * speed over rtnetlink and ethtool (util/iflink.h; never /sys/class/net,
 * which in a container may show another namespace's interfaces)
 * (WANCommonInterfaceConfig:1; WANIPConnection:2 2.3.13).
 *
 * wan_up / wan_down (WANIPConnection:2 2.6.1, 2.6.2) exist only when the
 * admin configured wan_up_command (and wan_down_command): the helper
 * runs it (priv_wan_start) and reports its end as an event, which tick
 * turns into b->on_link. An up command that succeeded is not yet a
 * connection: the link must be up too, now or later (the rtnetlink
 * watch in main.c reports it). A failed one fails the attempt
 * (LastConnectionError ERROR_UNKNOWN). A down command ends the
 * disconnect whatever its exit status (a failure is logged). Events of
 * a request replaced by a newer one are dropped. Without wan_down_command
 * the link is always on: termination answers 501.
 */
#include "backend/nft.h"

#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "core/stats.h"
#include "priv/nft_pin.h"
#include "priv/nft_rules.h"
#include "priv/priv.h"
#include "util/ifaddr.h"
#include "util/iflink.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NFT_JOB_WINDOW 4                /* requests of one job in flight */

/* A change submitted (backend_ops.submit). */
struct nft_job {
	struct nft_job *next;           /* the backend's list, in submission order */
	struct backend *b;
	struct priv_entry *e;           /* entries [0, napply) applied, then removed */
	size_t n, napply;
	size_t sent;                    /* entries sent so far */
	unsigned inflight;
	bool pin;                       /* a pinhole op: op and np */
	enum priv_op op;
	struct nft_pin np;
	int status;                     /* the first failure */
	struct timespec t0;             /* the last request sent or answered */
	backend_done_fn done;
	void *arg;
};

struct nft_backend {
	struct priv *helper;            /* borrowed from main */
	struct nft_job *jobs;           /* submitted, not yet completed */
	char wan_if[IF_NAMESIZE];
	bool have_override;
	struct in_addr override;
	uint32_t wan_seq;               /* the WAN command request in flight (0: none) */
	struct ratelimit warn_call;     /* failed requests: a client can cause them */
	int link_err;                   /* the last iflink_read() error (0: none) */
};

static const struct backend_ops nft_ops_up, nft_ops_up_down;

static void to_entry(const struct mapping *m, struct priv_entry *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->remote_host = m->remote_host;
	ret->internal = m->internal_client;
	ret->ext_port = m->ext_port;
	ret->int_port = m->int_port;
	ret->proto = m->proto == MAP_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static int nft_init(struct backend *b, const struct config *cfg)
{
	struct nft_backend *n;

	if (!b->helper) {
		log_warnx("backend nft: the privileged helper is not running");
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->helper = b->helper;
	memcpy(n->wan_if, cfg->wan_interface, sizeof(n->wan_if));
	n->have_override = cfg->have_external_ip;
	n->override = cfg->external_ip;
	n->warn_call = RATELIMIT_INIT(60000, 5);
	b->priv = n;
	/* The variant with the WAN operations the configuration allows. */
	if (cfg->wan_down_command[0])
		b->ops = &nft_ops_up_down;
	else if (cfg->wan_up_command[0])
		b->ops = &nft_ops_up;
	return 0;
}

/* A failed request, logged here at most a few times a minute (a client
 * that repeats a request the helper refuses must not flood the log); but
 * a refusal of what the helper keeps (a port of the gateway's,
 * -EADDRINUSE) or its policy refuses (-EACCES) only at debug level: a LAN
 * host may ask for those as often as it likes, the caller answers it, and
 * the helper logs what matters. */
static void log_failed(struct backend *b, enum priv_op op, size_t n, int r)
{
	struct nft_backend *nb = b->priv;
	const char *what = op == PRIV_OP_APPLY ? "apply" : op == PRIV_OP_REMOVE ? "removal" : "flush";
	unsigned suppressed;
	char more[48] = "";

	if (r == -EADDRINUSE || r == -EACCES) {
		log_debug("backend nft: %s refused by the helper: %s", what, strerror(-r));
		return;
	}
	if (ratelimit_ok(&nb->warn_call, clock_now(b->clock), &suppressed)) {
		if (suppressed)
			snprintf(more, sizeof(more), " (%u similar not logged)", suppressed);
		log_warnx("backend nft: %s of %zu mapping%s failed: %s%s", what, n,
			  n == 1 ? "" : "s", strerror(-r), more);
	}
	else
		log_debug("backend nft: %s of %zu mapping%s failed: %s", what, n,
			  n == 1 ? "" : "s", strerror(-r));
}

/* The round trip of a request since t0, for the counters (igddctl stats);
 * a refusal by the helper's rules (-EADDRINUSE, -EACCES) is an answer,
 * not a failure of the helper. */
static void count_call(struct backend *b, const struct timespec *t0, int r)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats_helper(b->stats, (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000000 +
					  (t1.tv_nsec - t0->tv_nsec) / 1000),
		     r < 0 && r != -EADDRINUSE && r != -EACCES);
}

/* One request. */
static int call(struct backend *b, enum priv_op op, const struct priv_entry *v, size_t n)
{
	struct nft_backend *nb = b->priv;
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = priv_call(nb->helper, op, v, n, NULL);
	count_call(b, &t0, r);
	if (r < 0)
		log_failed(b, op, n, r);
	return r;
}

static int nft_apply(struct backend *b, const struct mapping *m)
{
	struct priv_entry e;

	to_entry(m, &e);
	return call(b, m->enabled ? PRIV_OP_APPLY : PRIV_OP_REMOVE, &e, 1);
}

/* An admin mapping with igddctl's grant (priv_msg.h). */
static int nft_apply_granted(struct backend *b, const struct mapping *m, int grant_fd)
{
	struct nft_backend *nb = b->priv;
	struct timespec t0;
	struct priv_entry e;
	int r;

	if (!m->enabled || grant_fd < 0)
		return nft_apply(b, m);
	to_entry(m, &e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = priv_call_granted(nb->helper, &e, grant_fd, NULL);
	count_call(b, &t0, r);
	if (r < 0)
		log_failed(b, PRIV_OP_APPLY, 1, r);
	return r;
}

/* The helper reads its port policy from the configuration file again. */
static int nft_reload(struct backend *b)
{
	struct nft_backend *nb = b->priv;

	return priv_call(nb->helper, PRIV_OP_RELOAD, NULL, 0, NULL);
}

static int nft_remove(struct backend *b, const struct mapping *m)
{
	struct priv_entry e;

	to_entry(m, &e);
	return call(b, PRIV_OP_REMOVE, &e, 1);
}

static int nft_flush(struct backend *b)
{
	return call(b, PRIV_OP_FLUSH, NULL, 0);
}

static void nft_drain(struct backend *b);

static void nft_shutdown(struct backend *b)
{
	if (b->priv)
		nft_drain(b);
	free(b->priv);
	b->priv = NULL;
}

/* Requests of op for the mappings of v that want (enabled or not). */
static int many(struct backend *b, enum priv_op op, const struct mapping *v, size_t n,
		bool enabled_only, bool disabled_only)
{
	struct priv_entry e[PRIV_BATCH_MAX];
	size_t i, k = 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if ((enabled_only && !v[i].enabled) || (disabled_only && v[i].enabled))
			continue;
		to_entry(&v[i], &e[k++]);
		if (k == PRIV_BATCH_MAX) {
			r = call(b, op, e, k);
			k = 0;
		}
	}
	if (r == 0 && k > 0)
		r = call(b, op, e, k);
	return r;
}

int backend_nft_apply_many(struct backend *b, const struct mapping *v, size_t n)
{
	int r = many(b, PRIV_OP_APPLY, v, n, true, false);

	return r < 0 ? r : many(b, PRIV_OP_REMOVE, v, n, false, true);
}

int backend_nft_remove_many(struct backend *b, const struct mapping *v, size_t n)
{
	return many(b, PRIV_OP_REMOVE, v, n, false, false);
}


/* ---- the asynchronous form (submit) ---- */

static void job_sent(void *arg, uint32_t seq, const struct priv_result *res);

/* The next request of j: the entries from j->sent on, as far as the
 * apply / remove boundary and PRIV_BATCH_MAX; how many. */
static size_t job_chunk(const struct nft_job *j, enum priv_op *ret_op)
{
	size_t end = j->sent < j->napply ? j->napply : j->n;

	*ret_op = j->sent < j->napply ? PRIV_OP_APPLY : PRIV_OP_REMOVE;
	return end - j->sent < PRIV_BATCH_MAX ? end - j->sent : PRIV_BATCH_MAX;
}

/* Send what the window allows; 0, or the error of a send that failed
 * (j->status set). -EBUSY (the channel full): sent later, from tick. */
static int job_pump(struct nft_job *j, int grant_fd)
{
	struct nft_backend *nb = j->b->priv;
	struct priv_send_args a = { .grant_fd = grant_fd };
	size_t k;
	int r;

	if (j->pin && j->sent == 0 && j->inflight == 0) {
		a.op = j->op;
		a.pin = &j->np;
		if ((r = priv_send(nb->helper, &a, job_sent, j, NULL)) < 0)
			return r == -EBUSY ? r : (j->status = r);
		j->inflight++;
		j->sent = 1;
		return 0;
	}
	while (!j->pin && j->status == 0 && j->sent < j->n && j->inflight < NFT_JOB_WINDOW) {
		k = job_chunk(j, &a.op);
		a.v = &j->e[j->sent];
		a.n = k;
		if ((r = priv_send(nb->helper, &a, job_sent, j, NULL)) < 0) {
			if (r != -EBUSY)
				j->status = r;
			return r;
		}
		if (j->inflight == 0)
			clock_gettime(CLOCK_MONOTONIC, &j->t0);
		j->inflight++;
		j->sent += k;
		a.grant_fd = -1;
	}
	return 0;
}

static bool job_over(const struct nft_job *j)
{
	return j->inflight == 0 && (j->status < 0 || j->sent >= (j->pin ? 1 : j->n));
}

static void job_unlink(struct nft_job *j)
{
	struct nft_backend *nb = j->b->priv;
	struct nft_job **pp;

	for (pp = &nb->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
}

static void job_free(struct nft_job *j)
{
	free(j->e);
	free(j);
}

/* When j is over: out of the list, completed, freed; whether it was. */
static bool job_end(struct nft_job *j)
{
	if (!job_over(j))
		return false;
	job_unlink(j);
	j->done(j->b, j->status, j->arg);
	job_free(j);
	return true;
}

/* One request of the job answered. */
static void job_sent(void *arg, uint32_t seq, const struct priv_result *res)
{
	struct nft_job *j = arg;
	struct backend *b = j->b;
	int r = res->status;

	(void)seq;
	j->inflight--;
	count_call(b, &j->t0, r);
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	if (r < 0 && j->status == 0) {
		j->status = r;
		log_failed(b, j->pin ? PRIV_OP_APPLY : j->sent <= j->napply ? PRIV_OP_APPLY :
			   PRIV_OP_REMOVE, j->n, r);
	}
	if (j->status == 0 && r != -EPIPE)
		(void)job_pump(j, -1);
	(void)job_end(j);
}

/* The entries of job: the enabled ones to apply first, then the others. */
static int job_entries(struct nft_job *j, const struct backend_job *job)
{
	size_t i, k = 0;
	bool apply = job->op == BACKEND_JOB_APPLY;

	if (job->n && !(j->e = calloc(job->n, sizeof(*j->e))))
		return -ENOMEM;
	for (i = 0; i < job->n; i++)
		if (!apply || job->v[i].enabled)
			to_entry(&job->v[i], &j->e[k++]);
	j->napply = apply ? k : 0;
	for (i = 0; apply && i < job->n; i++)
		if (!job->v[i].enabled)
			to_entry(&job->v[i], &j->e[k++]);
	j->n = k;
	return 0;
}

static int nft_submit(struct backend *b, const struct backend_job *job, backend_done_fn done,
		      void *arg)
{
	struct nft_backend *nb = b->priv;
	struct nft_job *j = calloc(1, sizeof(*j)), **pp;
	int r;

	if (!j)
		return -ENOMEM;
	j->b = b;
	j->done = done;
	j->arg = arg;
	if (job->op == BACKEND_JOB_PIN_APPLY || job->op == BACKEND_JOB_PIN_REMOVE) {
		j->pin = true;
		j->op = job->op == BACKEND_JOB_PIN_APPLY ? PRIV_OP_PIN_ADD : PRIV_OP_PIN_DEL;
		nft_pin_from(job->pin, &j->np);
	} else if ((r = job_entries(j, job)) < 0) {
		job_free(j);
		return r;
	}
	/* Nothing to send: completed at the next tick (never inside submit). */
	if (j->pin || j->n > 0) {
		clock_gettime(CLOCK_MONOTONIC, &j->t0);
		r = job_pump(j, job->n == 1 ? job->grant_fd : -1);
		if (r < 0 && r != -EBUSY && j->inflight == 0) {
			job_free(j);    /* nothing sent: done never runs */
			return r;
		}
	}
	for (pp = &nb->jobs; *pp; pp = &(*pp)->next)
		;
	*pp = j;                /* in submission order */
	return 0;
}

/* Jobs that wait for room in the channel, or have nothing to send. */
static bool job_idle(const struct nft_job *j)
{
	return j->inflight == 0;
}

/* Send what waits for room; complete the jobs that are over. */
static void jobs_pump(struct backend *b)
{
	struct nft_backend *nb = b->priv;
	struct nft_job *j, *next;

	for (j = nb->jobs; j; j = next) {
		next = j->next;
		if (!job_idle(j))
			continue;
		if (j->status == 0)
			(void)job_pump(j, -1);
		(void)job_end(j);
	}
}

static void nft_drain(struct backend *b)
{
	struct nft_backend *nb = b->priv;

	while (nb->jobs) {
		jobs_pump(b);
		priv_wait_all(nb->helper);
	}
}

/* ---- the WAN side ---- */

/*
 * The WAN interface's link and counters in igdd's own network namespace
 * (util/iflink.h: not /sys/class/net, which in a container may list
 * another namespace's interfaces); true when it is up. A failure to read
 * it is logged when it starts and when it ends, not at every request.
 */
static bool wan_link(struct nft_backend *nb, struct iflink *ret)
{
	int r = iflink_read(nb->wan_if, ret);

	if (r < 0 && r != nb->link_err)
		log_warnx("backend nft: WAN interface %s: %s: reported as down",
			  nb->wan_if, r == -ENODEV ? "no such interface in igdd's network namespace" :
			  strerror(-r));
	else if (r == 0 && nb->link_err != 0)
		log_info("backend nft: WAN interface %s is back", nb->wan_if);
	nb->link_err = r;
	if (r < 0)
		memset(ret, 0, sizeof(*ret));
	return ret->up;
}

/* The WAN address; the engine classifies it (engine_wan_classify()). */
static void external_ip(struct nft_backend *nb, struct backend_wan *ret)
{
	struct ifaddr_ipv4 a;

	if (nb->have_override) {
		ret->have_ip = true;
		ret->external_ip = nb->override;
	} else if (ifaddr_lookup_ipv4(nb->wan_if, &a) == 0) {
		ret->have_ip = true;
		ret->external_ip = a.addr;
	}
}

static int nft_wan_packets(struct backend *b, uint64_t *ret)
{
	struct iflink l;

	wan_link(b->priv, &l);
	*ret = l.rx_packets + l.tx_packets;
	return 0;
}

static int nft_wan_status(struct backend *b, struct backend_wan *ret)
{
	struct nft_backend *nb = b->priv;
	struct iflink l;
	uint64_t mbps;

	memset(ret, 0, sizeof(*ret));
	external_ip(nb, ret);
	wan_link(nb, &l);
	ret->link_up = l.up;
	ret->bytes_sent = l.tx_bytes;
	ret->bytes_received = l.rx_bytes;
	ret->packets_sent = l.tx_packets;
	ret->packets_received = l.rx_packets;
	mbps = l.speed_mbps;
	if (mbps > UINT32_MAX / 1000000u)
		mbps = UINT32_MAX / 1000000u;
	ret->up_bitrate = ret->down_bitrate = (uint32_t)(mbps * 1000000u);
	memcpy(ret->access_type, "Ethernet", sizeof("Ethernet"));
	return 0;
}

/* ---- the admin's WAN commands ---- */

static int wan_start(struct backend *b, enum priv_op op)
{
	struct nft_backend *nb = b->priv;
	uint32_t seq = 0;
	int r = priv_wan_start(nb->helper, op, &seq);

	if (r < 0) {
		log_warnx("backend nft: cannot run %s: %s",
			  op == PRIV_OP_WAN_UP ? "wan_up_command" : "wan_down_command", strerror(-r));
		return r;
	}
	nb->wan_seq = seq;
	return 0;
}

static int nft_wan_up(struct backend *b)
{
	return wan_start(b, PRIV_OP_WAN_UP);
}

static int nft_wan_down(struct backend *b)
{
	return wan_start(b, PRIV_OP_WAN_DOWN);
}

/* An event is waiting in the channel's queue: due now. */
static uint64_t nft_next_deadline(struct backend *b)
{
	struct nft_backend *nb = b->priv;
	uint64_t now = clock_now(b->clock), mono, due;
	struct nft_job *j;

	if (!now)
		now = 1;
	if (priv_event_pending(nb->helper))
		return now;
	for (j = nb->jobs; j; j = j->next)
		if (job_idle(j))
			return now;
	due = priv_next_deadline(nb->helper);
	if (due == UINT64_MAX)
		return 0;
	/* The channel's deadlines are on the monotonic clock; b->clock may
	 * be another (tests). */
	mono = clock_monotonic_ms(NULL);
	return due <= mono ? now : now + (due - mono);
}

static void report(struct backend *b, enum backend_link_event ev, enum backend_link_cause cause)
{
	if (b->on_link)
		b->on_link(b, ev, cause, b->on_link_arg);
}

/* Mappings the helper removed by itself, to the engine (b->on_gone). */
static void report_gone(struct backend *b)
{
	struct nft_backend *nb = b->priv;
	struct priv_removed got[64];
	struct backend_gone v[64];
	size_t n, i;

	while ((n = priv_removed_take(nb->helper, got, 64)) > 0) {
		for (i = 0; i < n; i++) {
			memset(&v[i], 0, sizeof(v[i]));
			v[i].proto = got[i].e.proto == IPPROTO_UDP ? MAP_UDP : MAP_TCP;
			v[i].ext_port = got[i].e.ext_port;
			v[i].remote_host = got[i].e.remote_host;
			v[i].why = got[i].why == -EADDRINUSE ? BACKEND_GONE_ROUTER_PORT :
				   BACKEND_GONE_POLICY;
		}
		if (b->on_gone)
			b->on_gone(b, v, n, b->on_gone_arg);
	}
}

/* The commands that ended, as link events (see the top of this file);
 * the mappings the helper removed. */
static void nft_tick(struct backend *b, uint64_t now)
{
	struct nft_backend *nb = b->priv;
	struct priv_wan_done d;
	struct iflink l;

	(void)now;
	priv_expire(nb->helper, clock_monotonic_ms(NULL));
	jobs_pump(b);
	report_gone(b);
	while (priv_event_take(nb->helper, &d) == 0) {
		if (d.seq != nb->wan_seq) {
			log_debug("backend nft: end of replaced WAN request %u ignored", d.seq);
			continue;
		}
		nb->wan_seq = 0;
		if (d.op == PRIV_OP_WAN_DOWN)
			report(b, BACKEND_LINK_DOWN_DONE, BACKEND_CAUSE_NONE);
		else if (d.status < 0)
			report(b, BACKEND_LINK_FAILED, BACKEND_CAUSE_NONE);
		else if (wan_link(nb, &l))
			report(b, BACKEND_LINK_UP, BACKEND_CAUSE_NONE);
		else
			log_info("backend nft: wan_up_command done; waiting for %s to come up",
				 nb->wan_if);
	}
}

/* ---- IPv6 pinholes (table ip6 igdd, priv/nft_pin.h) ---- */

static int pin_call(struct backend *b, enum priv_op op, const struct pinhole *p, uint64_t *ret)
{
	struct nft_backend *nb = b->priv;
	struct nft_pin np;
	unsigned suppressed;
	char more[48] = "";
	int r;

	nft_pin_from(p, &np);
	r = priv_pin_call(nb->helper, op, &np, ret);
	if (r < 0 && ratelimit_ok(&nb->warn_call, clock_now(b->clock), &suppressed)) {
		if (suppressed)
			snprintf(more, sizeof(more), " (%u similar not logged)", suppressed);
		log_warnx("backend nft: pinhole %u: %s failed: %s%s", p->uid,
			  op == PRIV_OP_PIN_ADD ? "adding" : op == PRIV_OP_PIN_DEL ? "removal" :
			  "reading its counter", strerror(-r), more);
	}
	return r;
}

static int nft_pin_apply(struct backend *b, const struct pinhole *p)
{
	return pin_call(b, PRIV_OP_PIN_ADD, p, NULL);
}

static int nft_pin_remove(struct backend *b, const struct pinhole *p)
{
	return pin_call(b, PRIV_OP_PIN_DEL, p, NULL);
}

static int nft_pin_packets(struct backend *b, const struct pinhole *p, uint64_t *ret)
{
	return pin_call(b, PRIV_OP_PIN_PACKETS, p, ret);
}

/* The conntrack timeouts of igdd's network namespace (readable without
 * privilege): the state an outbound flow keeps. */
static int nft_pin_outbound_timeout(struct backend *b, uint8_t proto, uint32_t *ret)
{
	const char *path;
	char text[32];
	uint64_t v;
	FILE *f;
	size_t n;

	(void)b;
	switch (proto) {
	case PIN_PROTO_TCP:
		path = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established";
		break;
	case PIN_PROTO_UDP:
	case PIN_PROTO_UDPLITE:         /* UDP-Lite has no timeout of its own in Linux */
		path = "/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream";
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	if (str_to_u64(str_from(text, n), UINT32_MAX, &v) < 0)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* wan_up / wan_down NULL: an always-on link (WANIPConnection:2 2.6.1),
 * the variant without admin commands. */
#define NFT_OPS_COMMON \
	.name = "nft", \
	.init = nft_init, \
	.apply = nft_apply, \
	.apply_granted = nft_apply_granted, \
	.reload = nft_reload, \
	.remove = nft_remove, \
	.flush = nft_flush, \
	.shutdown = nft_shutdown, \
	.wan_status = nft_wan_status, \
	.wan_packets = nft_wan_packets, \
	.apply_many = backend_nft_apply_many, \
	.remove_many = backend_nft_remove_many, \
	.next_deadline = nft_next_deadline, \
	.tick = nft_tick, \
	.submit = nft_submit, \
	.drain = nft_drain, \
	.pin_apply = nft_pin_apply, \
	.pin_remove = nft_pin_remove, \
	.pin_packets = nft_pin_packets, \
	.pin_outbound_timeout = nft_pin_outbound_timeout

const struct backend_ops backend_nft_ops = { NFT_OPS_COMMON };

/* wan_up_command alone: connecting, but no termination (501). */
static const struct backend_ops nft_ops_up = { NFT_OPS_COMMON, .wan_up = nft_wan_up };

static const struct backend_ops nft_ops_up_down = {
	NFT_OPS_COMMON, .wan_up = nft_wan_up, .wan_down = nft_wan_down,
};
