/*
 * upstream_io.c - the PCP / NAT-PMP / UPnP IGD client of the upstream
 * gateway (upstream_io.h). UPnP (when neither PCP nor NAT-PMP answers,
 * docs/POLICY.md): the transport is net/upstream_upnp.c; here the order
 * (no_server() -> upnp_find()), the calls of WANIPConnection:2 2.5.16 -
 * 2.5.20 (upnp_ask(), upnp_map(): 718/729 -> AddAnyPortMapping, 725 ->
 * lease 0, 714 on delete), the search again every upnp_check_ms and the
 * re-creation on a new BOOTID.UPNP.ORG (UDA 1.1 1.3.3, upnp_found()).
 *
 * RFC 6887: 8.1 / 8.1.1 (requests from the WAN address, retransmitted
 * from 3 s, doubling), 8.3 (responses: from the server, matched to the
 * request in flight by opcode and, for MAP, nonce, protocol and internal
 * port), 8.5 (every response's epoch is checked: a server that lost its
 * state gets every mapping again, 16.3.1), 11.1 (MAP: the internal port
 * is igdd's local external port, the same port suggested, no address),
 * 11.2.1 (renewals at the random points of pcp_renew_delay()), 15
 * (lifetime 0 deletes), 9 (a version-0 answer: the server speaks
 * NAT-PMP only). RFC 6886: 3.2 (external address), 3.3 (map), 3.4
 * (delete), 3.6 (epoch), 3.7 (requests one at a time).
 *
 * Bounds (docs/LIMITS.md): at most IGDD_UPSTREAM_MAX_MAPPINGS mirrored,
 * shared fairly among the LAN hosts (fair_place(): a host holding at
 * least two fewer than the host holding the most takes one of its slots,
 * so one host's hundreds of mappings never keep another's out), and the
 * requests taken round-robin across the hosts with work due (pick());
 * one request in flight, IGDD_UPSTREAM_SENDS sends each; new requests at
 * most one per IGDD_UPSTREAM_GAP_MS, so a LAN host churning mappings
 * cannot make igdd flood the upstream; a failed request waits
 * IGDD_UPSTREAM_RETRY_S (or the error's lifetime, 7.2); a silent gateway
 * is asked again after IGDD_UPSTREAM_REPROBE_S.
 */
#include "net/upstream_io.h"

#include "conf/config.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/upstream_upnp.h"
#include "net/wansock.h"
#include "proto/natpmp.h"
#include "proto/pcp.h"
#include "proto/pcp_client.h"
#include "util/ifaddr.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

enum entry_state {
	E_FREE = 0,
	E_WANT,                         /* to be asked (new, renewal, re-creation) */
	E_HELD,                         /* granted; renewal at next_ms */
	E_DROP,                         /* the local mapping is gone: delete upstream */
};

struct entry {
	enum entry_state state;
	uint8_t proto;                  /* enum map_proto */
	uint16_t port;                  /* the local external port = the internal port upstream */
	uint16_t granted;               /* the upstream's external port (0: none yet) */
	struct in_addr host;            /* the LAN host of the mapping: its share */
	bool evicted;                   /* E_DROP: given up for another host's mapping */
	bool has_next;                  /* evicted: the slot goes to this mapping after */
	uint8_t next_proto;
	uint16_t next_port;
	struct in_addr next_host;
	uint8_t nonce[PCP_NONCE_LEN];
	uint32_t lifetime;
	uint64_t granted_ms;
	unsigned renew_n;
	uint64_t next_ms;               /* when to act (0: now) */
	bool logged_other;
	bool on_upnp;                   /* held on the UPnP IGD left for PCP / NAT-PMP:
					 * deleted there first (granted: its port) */
	uint32_t answers;               /* add/renewal requests ended, for the waits */
	uint8_t last;                   /* the last one's enum engine_up_result */
};

/* A reply waiting for one mapping's answer (engine_up_wait()). */
struct waiter {
	struct upstream_io *u;
	uint32_t id;                    /* 0: free */
	uint8_t proto;
	uint16_t port;
	struct in_addr host;            /* the mapping's internal client (its share) */
	uint32_t seen;                  /* the entry's answers when the wait began */
	bool done;                      /* out is the answer, delivered at the timer */
	struct engine_up_outcome out;
	int64_t timer;                  /* the deadline, then the delivery */
	engine_up_fn fn;
	void *arg;
};

/* The slots by the local mapping (protocol, external port) they mirror
 * (x) or are promised to or leaving for (busy): reconcile() looks each
 * local mapping up here in O(1) instead of comparing it with every slot.
 * Open addressing; rebuilt from the slots at each reconcile(). At most
 * two keys per slot at the start, one more per placement after. */
#define SLOT_INDEX_SIZE (IGDD_UPSTREAM_MAX_MAPPINGS * 8)

struct slot_key {
	uint32_t key;                   /* (proto << 16 | port) + 1; 0: empty */
	struct entry *x;
	bool busy;
};

struct host_key {
	uint32_t addr;                  /* network order; 0: empty */
	bool ok;                        /* fair_place() may give its mappings a slot */
};

enum req_kind {
	REQ_NONE, REQ_PROBE, REQ_NATPMP_EXT, REQ_MAP,
	REQ_UPNP_FIND,                  /* SSDP discovery and the description */
	REQ_UPNP_EXT,                   /* GetExternalIPAddress */
	REQ_UPNP_MAP,                   /* Add(Any)PortMapping, DeletePortMapping */
};

struct upstream_io {
	struct engine *e;
	struct loop *l;
	struct upstream_io_params p;
	int fd;
	int ann_fd;                     /* 224.0.0.1:5350 on the WAN: ANNOUNCE (14.1.3) */
	bool active;
	struct in_addr wan;             /* the address the socket is bound to */
	struct entry ent[IGDD_UPSTREAM_MAX_MAPPINGS];
	struct slot_key idx[SLOT_INDEX_SIZE];
	struct host_key hosts[SLOT_INDEX_SIZE]; /* placeable()'s verdict per host */
	bool outside_ok;                /* ... for a host none of whose mappings holds a slot */

	/* the request in flight */
	enum req_kind kind;
	struct entry *req_entry;
	bool req_delete;
	uint8_t req[PCPC_MAP_REQ_MAX];
	size_t req_len;
	unsigned sent;
	int64_t timer;                  /* retransmission, or the next action */
	uint64_t last_new_ms;
	uint32_t rr_host;               /* the host served last (host order), for pick() */

	/* the epoch check (RFC 6887 8.5, RFC 6886 3.6) */
	bool have_epoch;
	uint32_t epoch;
	uint64_t epoch_ms;
	bool warned_none, warned_full;

	/* the UPnP IGD control point (net/upstream_upnp.c), when neither
	 * PCP nor NAT-PMP answers */
	struct upnp_link *upnp;         /* NULL with upstream_upnp = no */
	bool upnp_on;                   /* upstream_upnp when started */
	bool upnp_any;                  /* the request in flight is AddAnyPortMapping */
	bool upnp_perm;                 /* the IGD takes only lease 0 (725) */
	bool upnp_lost;                 /* the last check found it no more */
	bool have_bootid;
	uint32_t bootid;
	uint64_t upnp_check_ms;         /* when to M-SEARCH again */

	/* PCP / NAT-PMP looked for again while UPnP or nothing is used
	 * (a server that appears later is taken: reprobe_answer()) */
	struct backoff reprobe;
	int64_t reprobe_timer;
	bool bg_probe;                  /* an ANNOUNCE in flight beside the UPnP work */
	unsigned bg_sent;

	/* reconcile()'s walk of the local table for mappings to give a
	 * slot: at most IGDD_UPSTREAM_WALK_BATCH of them per loop turn,
	 * resumed after the key last looked at (walk_next()) */
	bool walking;
	bool walk_have;                 /* the key below is the last looked at */
	uint8_t walk_proto;
	uint16_t walk_port;
	struct in_addr walk_rh;
	size_t walk_lap;                /* looked at since the last placement or change */
	struct waiter waiters[IGDD_UPSTREAM_MAX_WAITERS];
	uint32_t waiter_id;             /* the last id handed out */
	unsigned nwaiters;
	bool req_timed_out;             /* the request in flight ended without an answer */
	bool walk_resume;               /* reconcile() called to go on, nothing else new */
	int64_t walk_timer;
};

void upstream_io_default_params(struct upstream_io_params *p)
{
	memset(p, 0, sizeof(*p));
	p->irt_ms = IGDD_UPSTREAM_IRT_MS;
	p->sends = IGDD_UPSTREAM_SENDS;
	p->retry_ms = IGDD_UPSTREAM_RETRY_S * 1000ull;
	p->reprobe_ms = IGDD_UPSTREAM_REPROBE_S * 1000ull;
	p->reprobe_max_ms = IGDD_UPSTREAM_REPROBE_MAX_S * 1000ull;
	p->lifetime = IGDD_UPSTREAM_LIFETIME_S;
	p->gap_ms = IGDD_UPSTREAM_GAP_MS;
	p->upnp_wait_ms = IGDD_UPSTREAM_UPNP_WAIT_MS;
	p->upnp_timeout_ms = IGDD_UPSTREAM_UPNP_TIMEOUT_MS;
	p->upnp_check_ms = IGDD_UPSTREAM_UPNP_CHECK_S * 1000ull;
}

static uint8_t iana_proto(uint8_t proto)
{
	return proto == MAP_UDP ? 17 : 6;
}

static void schedule(struct upstream_io *u);

static void count(struct upstream_io *u)
{
	struct upstream_status *st = &u->e->upstream;
	size_t i;

	st->mirrored = st->other_port = st->pending = 0;
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		const struct entry *x = &u->ent[i];

		if (x->state == E_HELD && x->granted) {
			st->mirrored++;
			if (x->granted != x->port)
				st->other_port++;
		} else if (x->state == E_WANT) {
			st->pending++;
		}
		if (x->state == E_DROP && x->has_next)
			st->pending++;          /* promised the slot after the delete */
	}
}

static void set_ext(struct upstream_io *u, bool have, struct in_addr a)
{
	struct upstream_status *st = &u->e->upstream;
	char t[INET_ADDRSTRLEN];

	if (st->have_ext == have && (!have || st->ext.s_addr == a.s_addr))
		return;
	st->have_ext = have;
	st->ext = a;
	if (have)
	{
		char x[INET_ADDRSTRLEN];

		log_info("upstream %s maps to %s: reported as the external address",
			 inet_ntop(AF_INET, &st->server, t, sizeof(t)) ? t : "?",
			 inet_ntop(AF_INET, &a, x, sizeof(x)) ? x : "?");
	}
	engine_changed(u->e, ENGINE_CHG_EXTERNAL_IP);
}

static void req_stop(struct upstream_io *u)
{
	loop_timer_clear(u->l, &u->timer);
	if (u->kind >= REQ_UPNP_FIND && u->upnp)
		upnp_link_cancel(u->upnp);
	u->kind = REQ_NONE;
	u->req_entry = NULL;
}

static void on_timer(struct loop *l, void *arg);

static void req_send(struct upstream_io *u)
{
	uint64_t wait = backoff_nth(u->p.irt_ms, u->sent, UINT64_MAX);

	if (send(u->fd, u->req, u->req_len, 0) < 0 && errno == ECONNREFUSED)
		u->sent = u->p.sends;   /* ICMP port unreachable: nobody there */
	u->sent++;
	u->e->upstream.requests++;
	u->timer = loop_timer_in(u->l, wait, on_timer, u);
}

static void req_begin(struct upstream_io *u, enum req_kind kind)
{
	u->kind = kind;
	u->sent = 0;
	u->last_new_ms = loop_now_ms(u->l);
	req_send(u);
}

static void map_done(struct upstream_io *u, bool ok, uint32_t lifetime, uint16_t granted);

/* The arguments of entry x's UPnP request (WANIPConnection:2 2.5.16 -
 * 2.5.18): a delete of the port held, or an add of the same external
 * port (the one granted, once one is) to the WAN address's local
 * external port, for the lifetime asked (0 where the IGD takes only
 * permanent leases). Returns the number of arguments. */
struct upnp_args {
	char ext[8], in[8], life[12], client[INET_ADDRSTRLEN];
	const char *names[8], *values[8];
};

static unsigned upnp_args(const struct upstream_io *u, const struct entry *x, bool del,
			  struct upnp_args *a)
{
	static const char *const add_names[] = {
		"NewRemoteHost", "NewExternalPort", "NewProtocol", "NewInternalPort",
		"NewInternalClient", "NewEnabled", "NewPortMappingDescription", "NewLeaseDuration",
	};

	snprintf(a->ext, sizeof(a->ext), "%u", (unsigned)(x->granted ? x->granted : x->port));
	snprintf(a->in, sizeof(a->in), "%u", (unsigned)x->port);
	snprintf(a->life, sizeof(a->life), "%u", u->upnp_perm ? 0u : (unsigned)u->p.lifetime);
	if (!inet_ntop(AF_INET, &u->wan, a->client, sizeof(a->client)))
		a->client[0] = '\0';
	memcpy(a->names, add_names, sizeof(a->names));
	a->values[0] = "";
	a->values[1] = a->ext;
	a->values[2] = x->proto == MAP_UDP ? "UDP" : "TCP";
	a->values[3] = a->in;
	a->values[4] = a->client;
	a->values[5] = "1";
	a->values[6] = "igdd";
	a->values[7] = a->life;
	return del ? 3 : 8;
}

/* A call that could not even start: failed from the loop, not from here
 * (map_done() schedules the next request, which may be this one's). */
static void on_upnp_unsent(struct loop *l, void *arg)
{
	struct upstream_io *u = arg;

	(void)l;
	u->timer = 0;
	u->req_timed_out = true;
	map_done(u, false, 0, 0);
}

static void upnp_ask(struct upstream_io *u, struct entry *x, bool del, bool any)
{
	struct upnp_args a;
	unsigned n = upnp_args(u, x, del, &a);

	u->req_entry = x;
	u->req_delete = del;
	u->upnp_any = any;
	u->kind = REQ_UPNP_MAP;
	u->last_new_ms = loop_now_ms(u->l);
	u->e->upstream.requests++;
	if (upnp_link_call(u->upnp, del ? "DeletePortMapping" : any ? "AddAnyPortMapping" :
			   "AddPortMapping", a.names, a.values, n) < 0)
		u->timer = loop_timer_in(u->l, 0, on_upnp_unsent, u);
}

/* The next request for entry x (PCP MAP, NAT-PMP map, or UPnP). */
static void ask(struct upstream_io *u, struct entry *x)
{
	bool del = x->state == E_DROP;
	uint32_t life = del ? 0 : u->p.lifetime;
	uint16_t want = del ? 0 : (x->granted ? x->granted : x->port);

	if (x->on_upnp && !u->upnp)
		x->on_upnp = false;             /* no link to delete it with: it expires there */
	if (x->on_upnp) {
		upnp_ask(u, x, true, false);    /* moving: off the IGD first */
		return;
	}
	if (u->e->upstream.mode == UPSTREAM_UPNP) {
		upnp_ask(u, x, del, false);
		return;
	}
	if (u->e->upstream.mode == UPSTREAM_NATPMP)
		u->req_len = natpmpc_build_map(u->req, iana_proto(x->proto), x->port, want, life);
	else
		u->req_len = pcpc_build_map(u->req, u->wan, life, x->nonce, iana_proto(x->proto),
					    x->port, del ? 0 : want, false);
	u->req_entry = x;
	u->req_delete = del;
	req_begin(u, REQ_MAP);
}

static void probe(struct upstream_io *u)
{
	u->e->upstream.mode = UPSTREAM_PROBING;
	u->req_len = pcpc_build_announce(u->req, u->wan);
	req_begin(u, REQ_PROBE);
}

/*
 * Of the entries due now, one of the LAN host that comes next after the
 * host served last (in address order, wrapping): the requests go
 * round-robin across the hosts with work due, so a host with hundreds of
 * entries due gets no more turns than a host with one. *next: the
 * earliest time an entry not yet due is.
 */
/* Whether x, never granted yet, asks for an external port that a slot
 * being deleted upstream still holds (a local mapping moved to the port
 * the upstream granted it): the delete goes first, or the upstream
 * would find the port taken and grant yet another. */
static bool blocked(const struct entry *x, const uint32_t *freeing, unsigned nfreeing)
{
	uint32_t k = (uint32_t)x->proto << 16 | x->port;
	unsigned j;

	if (x->state != E_WANT || x->granted)
		return false;
	for (j = 0; j < nfreeing; j++)
		if (freeing[j] == k)
			return true;
	return false;
}

static struct entry *pick(struct upstream_io *u, uint64_t now, uint64_t *next)
{
	struct entry *after = NULL, *lowest = NULL;
	uint32_t ah = 0, lh = 0, freeing[IGDD_UPSTREAM_MAX_MAPPINGS];
	unsigned nfreeing = 0;
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++)
		if (u->ent[i].state == E_DROP && u->ent[i].granted)
			freeing[nfreeing++] = (uint32_t)u->ent[i].proto << 16 | u->ent[i].granted;
	*next = UINT64_MAX;
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		struct entry *x = &u->ent[i];
		uint32_t h = ntohl(x->host.s_addr);

		if (x->state == E_FREE || (nfreeing && blocked(x, freeing, nfreeing)))
			continue;
		if (x->next_ms > now) {
			if (x->next_ms < *next)
				*next = x->next_ms;
			continue;
		}
		if (h > u->rr_host && (!after || h < ah)) {
			after = x;
			ah = h;
		}
		if (!lowest || h < lh) {
			lowest = x;
			lh = h;
		}
	}
	return after ? after : lowest;
}

/* ---- the waits of replies for one mapping's answer (engine_up_wait()) ---- */

/* The slot mirroring local mapping (proto, port), not leaving. */
static struct entry *entry_of(struct upstream_io *u, uint8_t proto, uint16_t port)
{
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		struct entry *x = &u->ent[i];

		if (x->state != E_FREE && x->state != E_DROP && !x->evicted && x->proto == proto &&
		    x->port == port)
			return x;
	}
	return NULL;
}

/* A slot given up for (proto, port), its delete upstream going first. */
static bool promised(const struct upstream_io *u, uint8_t proto, uint16_t port)
{
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++)
		if (u->ent[i].has_next && u->ent[i].next_proto == proto && u->ent[i].next_port == port)
			return true;
	return false;
}

/*
 * What a wait for (proto, port) can be told now (true and *o), or false:
 * not yet. seen: the entry's answers when the wait began (NULL: at its
 * start, where a mapping held already is granted).
 */
static bool up_answer(struct upstream_io *u, uint8_t proto, uint16_t port, const uint32_t *seen,
		      struct engine_up_outcome *o)
{
	enum upstream_mode mode = u->e->upstream.mode;
	struct entry *x;

	memset(o, 0, sizeof(*o));
	if (!u->active || (mode != UPSTREAM_PROBING && mode != UPSTREAM_PCP &&
			   mode != UPSTREAM_NATPMP && mode != UPSTREAM_UPNP)) {
		o->result = ENGINE_UP_NOT_MIRRORED;
		o->why = ENGINE_UP_NO_UPSTREAM;
		return true;
	}
	x = entry_of(u, proto, port);
	if (x && (seen ? x->answers > *seen : x->state == E_HELD && x->granted)) {
		o->result = seen ? (enum engine_up_result)x->last : ENGINE_UP_GRANTED;
		if (o->result == ENGINE_UP_GRANTED) {
			o->port = x->granted;
			o->have_ext = u->e->upstream.have_ext;
			o->ext = u->e->upstream.ext;
		}
		return true;
	}
	if (!x && mode != UPSTREAM_PROBING && !u->walking && !promised(u, proto, port)) {
		o->result = ENGINE_UP_NOT_MIRRORED;     /* no slot, none coming */
		o->why = ENGINE_UP_NO_SLOT;
		return true;
	}
	return false;
}

static void waiter_free(struct upstream_io *u, struct waiter *w)
{
	loop_timer_clear(u->l, &w->timer);
	w->id = 0;
	u->nwaiters--;
}

/* The deadline (ENGINE_UP_TIMEOUT), or the answer found earlier. */
static void on_waiter(struct loop *l, void *arg)
{
	struct waiter *w = arg;
	struct engine_up_outcome o = w->out;
	engine_up_fn fn = w->fn;
	void *fa = w->arg;

	(void)l;
	w->timer = 0;
	if (!w->done) {
		memset(&o, 0, sizeof(o));
		o.result = ENGINE_UP_TIMEOUT;
	}
	waiter_free(w->u, w);
	fn(fa, &o);
}

/* After any change of the mirror's state: the waits it answers are
 * delivered from the loop (never inside the caller of the change). */
static void waiters_check(struct upstream_io *u)
{
	size_t i;

	for (i = 0; u->nwaiters && i < IGDD_UPSTREAM_MAX_WAITERS; i++) {
		struct waiter *w = &u->waiters[i];

		if (!w->id || w->done || !up_answer(u, w->proto, w->port, &w->seen, &w->out))
			continue;
		w->done = true;
		loop_timer_set_in(u->l, &w->timer, 0, on_waiter, w);
	}
}

static int up_wait(void *impl, uint8_t proto, uint16_t port, uint64_t timeout_ms,
		   engine_up_fn fn, void *arg, struct engine_up_outcome *now, uint32_t *ret_id)
{
	struct upstream_io *u = impl;
	const struct mapping *m = map_find_port(u->e->maps, proto, port);
	struct in_addr host = { m ? m->internal_client.s_addr : 0 };
	struct waiter *w = NULL;
	struct entry *x;
	unsigned mine = 0;
	size_t i;

	if (up_answer(u, proto, port, NULL, now))
		return ENGINE_UP_NOW;
	/* A free wait, and at most IGDD_UPSTREAM_WAITERS_PER_HOST of one
	 * internal client's: one LAN host cannot take every other host's. */
	for (i = 0; i < IGDD_UPSTREAM_MAX_WAITERS; i++) {
		if (!u->waiters[i].id)
			w = w ? w : &u->waiters[i];
		else if (u->waiters[i].host.s_addr == host.s_addr)
			mine++;
	}
	if (!w || mine >= IGDD_UPSTREAM_WAITERS_PER_HOST) {
		memset(now, 0, sizeof(*now));
		now->result = ENGINE_UP_NOT_MIRRORED;
		now->why = ENGINE_UP_BUSY;
		return ENGINE_UP_NOW;
	}
	x = entry_of(u, proto, port);
	memset(w, 0, sizeof(*w));
	w->u = u;
	if (++u->waiter_id == 0)
		u->waiter_id = 1;
	w->id = u->waiter_id;
	w->proto = proto;
	w->port = port;
	w->host = host;
	w->seen = x ? x->answers : 0;
	w->fn = fn;
	w->arg = arg;
	u->nwaiters++;
	loop_timer_set_in(u->l, &w->timer, timeout_ms, on_waiter, w);
	*ret_id = w->id;
	return ENGINE_UP_LATER;
}

static void up_cancel(void *impl, uint32_t id)
{
	struct upstream_io *u = impl;
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_WAITERS; i++)
		if (u->waiters[i].id == id)
			waiter_free(u, &u->waiters[i]);
}

static const struct engine_up_ops up_ops = { up_wait, up_cancel };

/* Freed: every wait answered now (the loop will not run them). */
static void waiters_flush(struct upstream_io *u)
{
	size_t i;

	for (i = 0; u->nwaiters && i < IGDD_UPSTREAM_MAX_WAITERS; i++) {
		struct waiter *w = &u->waiters[i];
		struct engine_up_outcome o = w->out;
		engine_up_fn fn = w->fn;
		void *fa = w->arg;

		if (!w->id)
			continue;
		if (!w->done) {
			memset(&o, 0, sizeof(o));
			o.result = ENGINE_UP_NOT_MIRRORED;
			o.why = ENGINE_UP_NO_UPSTREAM;
		}
		waiter_free(u, w);
		fn(fa, &o);
	}
}

static int upnp_find(struct upstream_io *u);

/* Pick the next thing to do, or set the timer for it. */
static void schedule(struct upstream_io *u)
{
	uint64_t now = loop_now_ms(u->l), next;
	struct entry *x;

	count(u);
	waiters_check(u);
	if (!u->active || u->kind != REQ_NONE)
		return;
	if (u->e->upstream.mode != UPSTREAM_PCP && u->e->upstream.mode != UPSTREAM_NATPMP &&
	    u->e->upstream.mode != UPSTREAM_UPNP)
		return;                 /* the probe's timer runs */
	loop_timer_clear(u->l, &u->timer);
	if (u->e->upstream.mode == UPSTREAM_UPNP && now >= u->upnp_check_ms && upnp_find(u) == 0)
		return;                 /* BOOTID, gone, back (UDA 1.3.3) */
	x = pick(u, now, &next);
	if (x && now >= u->last_new_ms + u->p.gap_ms) {
		u->rr_host = ntohl(x->host.s_addr);
		if (x->state == E_HELD)
			x->state = E_WANT;      /* renewal: the same request */
		ask(u, x);
		return;
	}
	if (x)
		next = now;
	if (u->e->upstream.mode == UPSTREAM_UPNP && u->upnp_check_ms < next)
		next = u->upnp_check_ms;
	if (next != UINT64_MAX) {
		if (next < u->last_new_ms + u->p.gap_ms)
			next = u->last_new_ms + u->p.gap_ms;
		u->timer = loop_timer_at(u->l, next, on_timer, u);
	}
}

/* A slot taken for local mapping m: asked for next. */
static void entry_claim(struct entry *x, const struct mapping *m)
{
	memset(x, 0, sizeof(*x));
	x->state = E_WANT;
	x->proto = m->proto;
	x->port = m->ext_port;
	x->host = m->internal_client;
	if (getrandom(x->nonce, sizeof(x->nonce), GRND_NONBLOCK) != (ssize_t)sizeof(x->nonce))
		memcpy(x->nonce, &m->nonce, sizeof(x->nonce));
}

/* A slot whose upstream delete is done: free, or the mapping it was
 * promised to when it was given up (fair_place()). */
static void slot_release(struct upstream_io *u, struct entry *x)
{
	const struct mapping *m = x->has_next ?
				  map_find_port(u->e->maps, x->next_proto, x->next_port) : NULL;

	memset(x, 0, sizeof(*x));
	if (m)
		entry_claim(x, m);
}

/* Slots per LAN host: asked for or held, and promised after an eviction
 * (not those leaving). At most one host per slot. */
struct share {
	struct in_addr host;
	unsigned n;
};

static struct share *share_of(struct share *hs, unsigned *nh, struct in_addr host, bool add)
{
	unsigned k;

	for (k = 0; k < *nh; k++)
		if (hs[k].host.s_addr == host.s_addr)
			return &hs[k];
	if (!add || *nh >= IGDD_UPSTREAM_MAX_MAPPINGS)
		return NULL;
	hs[*nh].host = host;
	hs[*nh].n = 0;
	return &hs[(*nh)++];
}

static unsigned shares_count(const struct upstream_io *u, struct share *hs)
{
	unsigned nh = 0;
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		const struct entry *x = &u->ent[i];
		struct share *s = NULL;

		if (x->state == E_WANT || x->state == E_HELD)
			s = share_of(hs, &nh, x->host, true);
		else if (x->state == E_DROP && x->has_next)
			s = share_of(hs, &nh, x->next_host, true);
		if (s)
			s->n++;
	}
	return nh;
}

/*
 * A slot for local mapping m, which has none: a free one; when none is
 * free, one of the host holding the most, if m's host holds at least two
 * fewer (max-min fairness: each eviction narrows the gap between two
 * hosts, so the shares settle and never swap back and forth). The victim
 * is, if its host has one, an entry never granted and not in flight
 * (replaced at no cost upstream); otherwise a granted one, deleted
 * upstream first and its slot promised to m (slot_release()). 1 and *out
 * to claim now, 0 promised (*out: the slot given up), -1 no slot for m.
 */
static int fair_place(struct upstream_io *u, const struct mapping *m, struct share *hs,
		      unsigned *nh, struct entry **out)
{
	struct share *mine = share_of(hs, nh, m->internal_client, false), *most = NULL;
	struct entry *cheap = NULL, *costly = NULL;
	unsigned have = mine ? mine->n : 0, k;
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		if (u->ent[i].state == E_FREE) {
			*out = &u->ent[i];
			goto take;
		}
	}
	for (k = 0; k < *nh; k++)
		if (!most || hs[k].n > most->n)
			most = &hs[k];
	if (!most || most->n < have + 2)
		return -1;
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS && !cheap; i++) {
		struct entry *x = &u->ent[i];

		if (x == u->req_entry || x->host.s_addr != most->host.s_addr ||
		    (x->state != E_WANT && x->state != E_HELD))
			continue;
		if (x->state == E_WANT && !x->granted)
			cheap = x;
		else if (!costly)
			costly = x;
	}
	if (!cheap && !costly)
		return -1;      /* all of it in flight: the next reconcile */
	most->n--;
	if (cheap) {
		*out = cheap;
		goto take;
	}
	costly->state = E_DROP;
	costly->evicted = true;
	costly->has_next = true;
	costly->next_proto = m->proto;
	costly->next_port = m->ext_port;
	costly->next_host = m->internal_client;
	costly->next_ms = 0;
	*out = costly;
	if ((mine = share_of(hs, nh, m->internal_client, true)))
		mine->n++;
	return 0;
take:
	if ((mine = share_of(hs, nh, m->internal_client, true)))
		mine->n++;
	return 1;
}

static struct slot_key *idx_at(struct upstream_io *u, uint8_t proto, uint16_t port, bool add)
{
	uint32_t k = ((uint32_t)proto << 16 | port) + 1;
	size_t i = (size_t)((k * 2654435761u) % SLOT_INDEX_SIZE), n;

	for (n = 0; n < SLOT_INDEX_SIZE; n++, i = (i + 1) % SLOT_INDEX_SIZE) {
		struct slot_key *b = &u->idx[i];

		if (b->key == k)
			return b;
		if (b->key == 0) {
			if (!add)
				return NULL;
			b->key = k;
			b->x = NULL;
			b->busy = false;
			return b;
		}
	}
	return NULL;
}

/* The index as the slots are: a slot's own key names it (the last one
 * if two share a key), or marks it busy while an evicted one's delete
 * goes first; a promise marks the promised mapping's key busy. */
static void idx_build(struct upstream_io *u)
{
	size_t i;

	memset(u->idx, 0, sizeof(u->idx));
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		struct entry *y = &u->ent[i];
		struct slot_key *b;

		if (y->has_next && (b = idx_at(u, y->next_proto, y->next_port, true)))
			b->busy = true;
		if (y->state == E_FREE || !(b = idx_at(u, y->proto, y->port, true)))
			continue;
		if (y->evicted)
			b->busy = true;
		else
			b->x = y;
	}
}

static bool idx_settled(struct upstream_io *u, const struct mapping *m)
{
	const struct slot_key *b = idx_at(u, m->proto, m->ext_port, false);

	return b && (b->x || b->busy);
}

/* The verdict of placeable() for host a (add: make its bucket). */
static struct host_key *host_at(struct upstream_io *u, struct in_addr a, bool add)
{
	size_t i = (size_t)((a.s_addr * 2654435761u) % SLOT_INDEX_SIZE), n;

	for (n = 0; n < SLOT_INDEX_SIZE; n++, i = (i + 1) % SLOT_INDEX_SIZE) {
		struct host_key *h = &u->hosts[i];

		if (h->addr == a.s_addr && a.s_addr)
			return h;
		if (h->addr == 0) {
			if (!add || a.s_addr == 0)
				return NULL;
			h->addr = a.s_addr;
			h->ok = false;
			return h;
		}
	}
	return NULL;
}

/* Whether fair_place() may place m, as placeable() last judged it:
 * never false where fair_place() would give m a slot. */
static bool host_may(struct upstream_io *u, const struct mapping *m)
{
	const struct host_key *h = host_at(u, m->internal_client, false);

	return h ? h->ok : u->outside_ok;
}

/*
 * Whether some local mapping holding no slot (and promised none) could
 * be given one now by fair_place()'s rule: a slot is free, or its host
 * holds at least two fewer than the host holding the most. Decided from
 * the index and the table's per-host counts (map_client_count()), so
 * O(slots) whatever the size of the local table; the verdict per host
 * is kept for host_may(). *unplaced: some local mapping holds no slot.
 */
static bool placeable(struct upstream_io *u, struct share *hs, unsigned nh, bool *unplaced)
{
	struct share set[SLOT_INDEX_SIZE];      /* settled mappings per host */
	unsigned ns = 0, most = 0, k;
	size_t i, settled = 0, total = map_count(u->e->maps), sum = 0;
	bool free_slot = false, any = false;

	*unplaced = false;
	memset(u->hosts, 0, sizeof(u->hosts));
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++)
		free_slot |= u->ent[i].state == E_FREE;
	for (k = 0; k < nh; k++)
		if (hs[k].n > most)
			most = hs[k].n;
	u->outside_ok = free_slot || most >= 2;
	for (i = 0; i < SLOT_INDEX_SIZE; i++) {
		const struct slot_key *b = &u->idx[i];
		const struct mapping *m;

		if (!b->key || (!b->x && !b->busy) ||
		    !(m = map_find_port(u->e->maps, (uint8_t)((b->key - 1) >> 16),
					(uint16_t)(b->key - 1))))
			continue;
		settled++;
		if (!host_at(u, m->internal_client, true))
			continue;       /* no room: judged as a host outside */
		for (k = 0; k < ns && set[k].host.s_addr != m->internal_client.s_addr; k++)
			;
		if (k == ns) {
			set[ns].host = m->internal_client;
			set[ns++].n = 0;
		}
		set[k].n++;
	}
	for (k = 0; k < ns; k++) {
		size_t c = map_client_count(u->e->maps, set[k].host);
		const struct share *s = share_of(hs, &nh, set[k].host, false);
		unsigned have = s ? s->n : 0;
		struct host_key *h = host_at(u, set[k].host, false);

		sum += c;
		if (h)
			h->ok = free_slot || most >= have + 2;
		if (c > set[k].n && (free_slot || most >= have + 2))
			any = true;
	}
	*unplaced = settled < total;
	if (!*unplaced)
		return false;
	/* hosts none of whose mappings holds a slot: a share of 0 (at least) */
	return any || (total > sum && u->outside_ok);
}

/* The local mapping after the one the walk looked at last, in table
 * order, wrapping around to the first; NULL: the table is empty. */
static const struct mapping *walk_next(struct upstream_io *u)
{
	const struct map_table *t = u->e->maps;
	const struct mapping *m = NULL;
	unsigned p;

	if (u->walk_have) {
		m = map_range_after(t, u->walk_proto, u->walk_port, u->walk_rh, UINT16_MAX);
		for (p = u->walk_proto + 1u; !m && p < MAP_NPROTO; p++)
			m = map_range_first(t, (uint8_t)p, 0, UINT16_MAX);
	}
	if (!m)
		m = map_first(t);
	if (m) {
		u->walk_have = true;
		u->walk_proto = m->proto;
		u->walk_port = m->ext_port;
		u->walk_rh = m->remote_host;
	}
	return m;
}

static void walk_end(struct upstream_io *u)
{
	loop_timer_clear(u->l, &u->walk_timer);
	u->walking = u->walk_have = false;
}

static void reconcile(struct upstream_io *u);

static void on_walk(struct loop *l, void *arg)
{
	struct upstream_io *u = arg;

	(void)l;
	u->walk_timer = 0;
	if (u->active) {
		u->walk_resume = true;
		reconcile(u);
	}
}

/* The local table as it is now: new mappings to ask for, gone ones to
 * delete. A mapping is mirrored by (protocol, external port). The walk
 * over the local table runs only while a mapping holding no slot can
 * get one (placeable()): from the first mapping in table order, at most
 * IGDD_UPSTREAM_WALK_BATCH mappings per loop turn (the rest at the next
 * turn, or at the next change, from where it stopped), wrapping around,
 * until none more can be placed or a whole lap placed none. A change
 * that moves no slot costs O(slots), not O(local table); one that does
 * costs at most a batch per loop turn. */
static void reconcile(struct upstream_io *u)
{
	struct share hs[IGDD_UPSTREAM_MAX_MAPPINGS];
	const struct mapping *m;
	bool unplaced, full = false, resume = u->walk_resume;
	unsigned nh;
	size_t i, batch;

	u->walk_resume = false;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		struct entry *x = &u->ent[i];

		if (x->has_next && !map_find_port(u->e->maps, x->next_proto, x->next_port))
			x->has_next = false;    /* the promised mapping went meanwhile */
		if (x->state != E_FREE && x->state != E_DROP &&
		    !map_find_port(u->e->maps, x->proto, x->port)) {
			/* asked for or held upstream: delete it there */
			x->state = x->granted || x == u->req_entry ? E_DROP : E_FREE;
			x->next_ms = 0;
		}
	}
	nh = shares_count(u, hs);
	idx_build(u);
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		struct entry *x = &u->ent[i];
		const struct slot_key *b;
		struct share *s;

		if (x->state != E_DROP || x->evicted ||
		    !(b = idx_at(u, x->proto, x->port, false)) || b->x != x ||
		    !(m = map_find_port(u->e->maps, x->proto, x->port)))
			continue;
		x->state = E_WANT;              /* made again before the delete went */
		x->host = m->internal_client;
		if ((s = share_of(hs, &nh, x->host, true)))
			s->n++;
	}
	if (!placeable(u, hs, nh, &unplaced)) {
		walk_end(u);
		goto out;
	}
	if (!u->walking) {
		u->walking = true;
		u->walk_have = false;           /* from the first mapping */
	}
	if (!resume)
		u->walk_lap = 0;                /* something changed: a whole lap again */
	for (batch = 0; batch < IGDD_UPSTREAM_WALK_BATCH; batch++) {
		struct entry *x = NULL;
		struct slot_key *b;

		m = walk_next(u);
		if (!m || ++u->walk_lap > map_count(u->e->maps)) {
			walk_end(u);            /* a whole lap and nothing placed */
			full = true;
			goto out;
		}
		if (idx_settled(u, m) || !host_may(u, m))
			continue;
		switch (fair_place(u, m, hs, &nh, &x)) {
		case 1:
			if (x->state != E_FREE && (b = idx_at(u, x->proto, x->port, false)) &&
			    b->x == x)
				b->x = NULL;    /* the victim's mapping holds no slot now */
			entry_claim(x, m);
			if ((b = idx_at(u, m->proto, m->ext_port, true)))
				b->x = x;
			break;
		case 0:
			if ((b = idx_at(u, x->proto, x->port, true))) {
				b->x = NULL;    /* its delete goes first */
				b->busy = true;
			}
			if ((b = idx_at(u, m->proto, m->ext_port, true)))
				b->busy = true;
			break;
		default:
			full = true;
			continue;
		}
		u->walk_lap = 0;
		if (!placeable(u, hs, nh, &unplaced)) {
			walk_end(u);
			goto out;
		}
	}
	/* the batch is used up: the rest at the next loop turn */
	loop_timer_set_in(u->l, &u->walk_timer, 0, on_walk, u);
	schedule(u);
	return;
out:
	if ((full || unplaced) && !u->warned_full)
		log_warnx("upstream: %d mappings mirrored, the most it holds, shared "
			  "among the LAN hosts: others reach only as far as the upstream",
			  IGDD_UPSTREAM_MAX_MAPPINGS);
	if (full || unplaced)
		u->warned_full = true;
	schedule(u);
}

/* The upstream lost its state (or its address changed): ask again for
 * everything held. */
static void recreate_all(struct upstream_io *u, const char *why)
{
	size_t i;

	log_info("upstream: %s: asking again for every mapping", why);
	u->e->upstream.epoch_resets++;
	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		if (u->ent[i].state == E_HELD) {
			u->ent[i].state = E_WANT;
			u->ent[i].next_ms = 0;
		}
	}
}

/* RFC 6887 8.5 / RFC 6886 3.6 on every response. */
static void check_epoch(struct upstream_io *u, uint32_t epoch, bool natpmp)
{
	uint64_t now = loop_now_ms(u->l);
	bool ok = natpmp ? natpmp_epoch_valid(u->have_epoch, u->epoch, u->epoch_ms, epoch, now) :
		  pcp_epoch_valid(u->have_epoch, u->epoch, u->epoch_ms / 1000, epoch, now / 1000);

	if (!ok)
		recreate_all(u, "its epoch went back (it restarted)");
	u->have_epoch = true;
	u->epoch = epoch;
	u->epoch_ms = now;
}

/* Neither PCP, NAT-PMP nor a UPnP IGD: asked again after reprobe_ms,
 * doubling up to reprobe_max_ms. */
static void none_found(struct upstream_io *u)
{
	char t[INET_ADDRSTRLEN];

	u->e->upstream.mode = UPSTREAM_NONE;
	if (!u->warned_none)
		log_warnx("upstream: no PCP or NAT-PMP server answers at %s:%u and %s: "
			  "mappings reach only as far as the upstream, reported as they are "
			  "(docs/POLICY.md)",
			  inet_ntop(AF_INET, &u->e->upstream.server, t, sizeof(t)) ? t : "?",
			  (unsigned)(u->p.port ? u->p.port : PCP_PORT),
			  u->upnp_on ? "no UPnP IGD on the WAN" : "upstream_upnp = no");
	u->warned_none = true;
	set_ext(u, false, u->e->upstream.server);
	loop_timer_set_in(u->l, &u->timer, backoff_take(&u->reprobe), on_timer, u);
	waiters_check(u);
}

/* SSDP on the WAN: at start when PCP and NAT-PMP are silent, and every
 * upnp_check_ms while a UPnP IGD is used. 0 (the search runs) or -errno
 * (the next one after upnp_check_ms). */
static int upnp_find(struct upstream_io *u)
{
	int r = u->upnp ? upnp_link_discover(u->upnp) : -ENODEV;

	if (r < 0) {
		u->upnp_check_ms = loop_now_ms(u->l) + u->p.upnp_check_ms;
		return r;
	}
	u->kind = REQ_UPNP_FIND;
	return 0;
}

static void no_server(struct upstream_io *u)
{
	if (upnp_find(u) < 0)
		none_found(u);
}

static void upnp_found(struct upstream_io *u, enum upnp_event ev)
{
	const struct igdc_service *svc = upnp_link_service(u->upnp);
	bool using = u->e->upstream.mode == UPSTREAM_UPNP;
	uint32_t bootid = 0;
	bool have_bootid = ev == UPNP_FOUND && upnp_link_bootid(u->upnp, &bootid);

	u->kind = REQ_NONE;
	if (ev != UPNP_FOUND) {
		if (!using) {
			none_found(u);
			return;
		}
		if (!u->upnp_lost)
			log_warnx("upstream: the UPnP IGD answers M-SEARCH no more");
		u->upnp_lost = true;
		u->upnp_check_ms = loop_now_ms(u->l) + u->p.upnp_check_ms;
		schedule(u);
		return;
	}
	if (using && u->upnp_lost)
		recreate_all(u, "its UPnP IGD answers again");
	else if (using && have_bootid && u->have_bootid && bootid != u->bootid)
		recreate_all(u, "its BOOTID.UPNP.ORG changed (it restarted)");
	u->upnp_lost = false;
	u->have_bootid = have_bootid;
	u->bootid = bootid;
	if (!using) {
		char t[INET_ADDRSTRLEN];

		log_info("upstream: no PCP or NAT-PMP: UPnP %s at http://%s:%u%s",
			 svc ? svc->type : "?", svc && inet_ntop(AF_INET, &svc->control.addr.u.v4, t,
			 sizeof(t)) ? t : "?", svc ? svc->control.port : 0, svc ? svc->control.path : "");
	}
	u->kind = REQ_UPNP_EXT;
	u->e->upstream.requests++;
	if (upnp_link_call(u->upnp, "GetExternalIPAddress", NULL, NULL, 0) < 0) {
		u->kind = REQ_NONE;
		if (!using)
			none_found(u);
	}
}

static void reprobe_arm(struct upstream_io *u);

static void upnp_ext(struct upstream_io *u, enum upnp_event ev, const struct upnp_reply *r)
{
	struct in_addr a;

	u->kind = REQ_NONE;
	if (ev == UPNP_REPLY && !r->soap.fault && r->soap.have_ext_ip &&
	    inet_pton(AF_INET, r->soap.ext_ip, &a) == 1)
		set_ext(u, true, a);
	if (u->e->upstream.mode != UPSTREAM_UPNP) {
		if (ev != UPNP_REPLY) {
			none_found(u);
			return;
		}
		u->e->upstream.mode = UPSTREAM_UPNP;
		backoff_reset(&u->reprobe);
		reprobe_arm(u);
	}
	u->upnp_check_ms = loop_now_ms(u->l) + u->p.upnp_check_ms;
	reconcile(u);
}

/* WANIPConnection:2 2.5.16.3 / 2.5.17.3: 718 (the port held by another
 * client) or 729 (held by another mechanism: a static or NAT-PMP/PCP
 * entry) where AddAnyPortMapping exists (version 2) asks for any port,
 * the one reserved recorded; 725 (only permanent leases, a version 1
 * IGD) asks again with lease 0 (then deleted at shutdown). A delete
 * answered 714 (no such entry) is done. */
static void upnp_map(struct upstream_io *u, enum upnp_event ev, const struct upnp_reply *r)
{
	struct entry *x = u->req_entry;
	const struct igdc_service *svc = upnp_link_service(u->upnp);
	uint16_t want = x ? (x->granted ? x->granted : x->port) : 0;
	bool any = u->upnp_any;

	u->kind = REQ_NONE;
	u->upnp_any = false;
	if (ev != UPNP_REPLY) {
		u->upnp_check_ms = loop_now_ms(u->l);   /* gone? M-SEARCH at the next turn */
		u->req_timed_out = true;
		map_done(u, false, 0, 0);
		return;
	}
	if (u->req_delete) {
		map_done(u, !r->soap.fault || r->soap.error_code == 714, 0, 0);
		return;
	}
	if (!r->soap.fault) {
		map_done(u, true, u->p.lifetime, any && r->soap.have_port ? r->soap.port : want);
		return;
	}
	if ((r->soap.error_code == 718 || r->soap.error_code == 729) && !any && svc && !svc->ppp &&
	    svc->version >= 2) {
		upnp_ask(u, x, false, true);
		return;
	}
	if (r->soap.error_code == 725 && !u->upnp_perm) {
		log_info("upstream: the UPnP IGD takes only permanent leases: lease 0, deleted "
			 "with the local mapping and at shutdown");
		u->upnp_perm = true;
		upnp_ask(u, x, false, any);
		return;
	}
	log_warnx("upstream: %s %s port %u: UPnP error %d", any ? "AddAnyPortMapping" :
		  "AddPortMapping", x && x->proto == MAP_UDP ? "UDP" : "TCP", (unsigned)want,
		  r->soap.error_code);
	map_done(u, false, 0, 0);
}

static void on_upnp(void *arg, enum upnp_event ev, const struct upnp_reply *r)
{
	struct upstream_io *u = arg;

	switch (u->kind) {
	case REQ_UPNP_FIND:
		upnp_found(u, ev);
		break;
	case REQ_UPNP_EXT:
		upnp_ext(u, ev, r);
		break;
	case REQ_UPNP_MAP:
		upnp_map(u, ev, r);
		break;
	default:
		break;
	}
}

static void map_done(struct upstream_io *u, bool ok, uint32_t lifetime, uint16_t granted)
{
	struct entry *x = u->req_entry;
	uint64_t now = loop_now_ms(u->l);
	double r = (double)(now % 1000) / 1000.0;

	bool timed_out = u->req_timed_out;

	u->req_timed_out = false;
	req_stop(u);
	if (!u->req_delete && x->state != E_DROP) {
		x->answers++;
		x->last = ok ? ENGINE_UP_GRANTED : timed_out ? ENGINE_UP_TIMEOUT : ENGINE_UP_REFUSED;
	}
	if (u->req_delete && x->on_upnp && x->state != E_DROP) {
		x->on_upnp = false;             /* off the IGD: asked of the new server */
		x->granted = 0;
		x->next_ms = 0;
		schedule(u);
		return;
	}
	if (u->req_delete) {
		slot_release(u, x);             /* deleted, or never to be */
		reconcile(u);                   /* a slot left free: to a mapping holding none */
		return;
	}
	if (!ok) {
		x->next_ms = now + (lifetime * 1000ull > u->p.retry_ms ? lifetime * 1000ull :
				    u->p.retry_ms);
		schedule(u);
		return;
	}
	if (x->state == E_DROP) {               /* deleted locally meanwhile */
		x->granted = granted;
		x->next_ms = 0;
		schedule(u);
		return;
	}
	x->state = E_HELD;
	x->granted = granted;
	x->lifetime = lifetime;
	x->granted_ms = now;
	x->renew_n = 0;
	x->next_ms = now + pcp_renew_delay(lifetime, 0, r, 0);
	if (granted != x->port && !x->logged_other) {
		log_warnx("upstream: %s port %u is reachable from the internet as port %u",
			  x->proto == MAP_UDP ? "UDP" : "TCP", x->port, granted);
		x->logged_other = true;
	}
	schedule(u);
}

static void natpmp_found(struct upstream_io *u)
{
	u->e->upstream.mode = UPSTREAM_NATPMP;
	log_info("upstream: the gateway speaks NAT-PMP only");
	u->req_len = natpmpc_build_external(u->req);
	req_begin(u, REQ_NATPMP_EXT);
}

static void pcp_found(struct upstream_io *u)
{
	uint8_t ext_req[2];

	u->e->upstream.mode = UPSTREAM_PCP;
	log_info("upstream: PCP server at the WAN gateway");
	/* PCP has no request for the external address alone; a server
	 * that speaks NAT-PMP too answers one (RFC 6886 3.2): one
	 * datagram, not retransmitted; the first MAP tells it anyway */
	if (send(u->fd, ext_req, natpmpc_build_external(ext_req), 0) >= 0)
		u->e->upstream.requests++;
	reconcile(u);
}

static void bg_stop(struct upstream_io *u)
{
	loop_timer_clear(u->l, &u->reprobe_timer);
	u->bg_probe = false;
}

/*
 * PCP or NAT-PMP answers while the UPnP IGD is used: it is taken (the
 * order of mechanisms, docs/POLICY.md), and each mapping moves: deleted
 * on the IGD (DeletePortMapping of the port it granted, ask()), then
 * asked of the new server. What the IGD was doing is dropped: an add
 * in flight is deleted too (714 counts as done).
 */
static void upnp_leave(struct upstream_io *u)
{
	size_t i;

	for (i = 0; i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
		struct entry *x = &u->ent[i];

		if (x->state == E_FREE || (!x->granted && x != u->req_entry))
			continue;
		x->on_upnp = true;
		if (x->state == E_HELD)
			x->state = E_WANT;
		x->next_ms = 0;
	}
	req_stop(u);
	bg_stop(u);
	u->upnp_lost = false;
	log_info("upstream: PCP or NAT-PMP answers now: the mappings move there from the UPnP IGD");
}

/* The answer to the ANNOUNCE sent while UPnP is used. */
static void reprobe_answer(struct upstream_io *u, const struct pcpc_response *r)
{
	if (!r->natpmp_only && r->opcode != PCP_OP_ANNOUNCE)
		return;
	upnp_leave(u);
	backoff_reset(&u->reprobe);
	if (r->natpmp_only) {
		natpmp_found(u);
		return;
	}
	check_epoch(u, r->epoch, false);
	pcp_found(u);
}

static void on_reprobe(struct loop *l, void *arg);

/* The next look for PCP / NAT-PMP while UPnP is used, after the wait
 * the backoff gives (reprobe_ms doubling up to reprobe_max_ms). */
static void reprobe_arm(struct upstream_io *u)
{
	u->bg_probe = false;
	loop_timer_set_in(u->l, &u->reprobe_timer, backoff_take(&u->reprobe), on_reprobe, u);
}

/* One ANNOUNCE (RFC 6887 14.1: the probe) beside the UPnP work, sent
 * like any request (sends times, the waits doubling from irt_ms); no
 * answer, or ICMP port unreachable: reprobe_arm(). */
static void on_reprobe(struct loop *l, void *arg)
{
	struct upstream_io *u = arg;
	uint8_t req[PCPC_MAP_REQ_MAX];
	size_t n;

	(void)l;
	u->reprobe_timer = 0;
	if (!u->active || u->e->upstream.mode != UPSTREAM_UPNP)
		return;
	if (u->bg_probe && u->bg_sent >= u->p.sends) {
		reprobe_arm(u);
		return;
	}
	if (!u->bg_probe) {
		u->bg_probe = true;
		u->bg_sent = 0;
	}
	n = pcpc_build_announce(req, u->wan);
	if (send(u->fd, req, n, 0) < 0 && errno == ECONNREFUSED)
		u->bg_sent = u->p.sends;
	u->e->upstream.requests++;
	loop_timer_set_in(u->l, &u->reprobe_timer, backoff_nth(u->p.irt_ms, u->bg_sent, UINT64_MAX),
			  on_reprobe, u);
	u->bg_sent++;
}

static void on_pcp(struct upstream_io *u, const struct pcpc_response *r)
{
	struct entry *x = u->req_entry;

	if (r->natpmp_only) {
		if (u->kind != REQ_PROBE)
			return;
		req_stop(u);
		natpmp_found(u);
		return;
	}
	check_epoch(u, r->epoch, false);
	if (u->kind == REQ_PROBE && r->opcode == PCP_OP_ANNOUNCE) {
		req_stop(u);
		pcp_found(u);
		return;
	}
	if (u->kind != REQ_MAP || r->opcode != PCP_OP_MAP || !x ||
	    memcmp(r->nonce, x->nonce, PCP_NONCE_LEN) != 0 || r->protocol != iana_proto(x->proto) ||
	    r->int_port != x->port)
		return;                 /* not the answer to the request in flight */
	if (r->result == PCP_SUCCESS && r->ext_is_v4 && !u->req_delete)
		set_ext(u, true, r->ext_addr);
	/* a delete of what the server no longer has: NO_RESOURCES (miniupnpd) */
	map_done(u, r->result == PCP_SUCCESS || (u->req_delete && r->result == PCP_NO_RESOURCES),
		 r->lifetime, r->ext_port);
}

static void on_natpmp(struct upstream_io *u, const struct natpmpc_response *r)
{
	struct entry *x = u->req_entry;

	check_epoch(u, r->epoch, true);
	if (u->kind == REQ_NATPMP_EXT && r->opcode == NATPMP_OP_EXTERNAL) {
		req_stop(u);
		if (r->result == NATPMP_SUCCESS)
			set_ext(u, true, r->ext_addr);
		reconcile(u);
		return;
	}
	if (u->kind != REQ_MAP || !x || r->opcode != (x->proto == MAP_UDP ? 1 : 2) ||
	    r->int_port != x->port)
		return;
	map_done(u, r->result == NATPMP_SUCCESS, r->result == NATPMP_SUCCESS ? r->lifetime : 0,
		 r->ext_port);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upstream_io *u = arg;
	uint8_t buf[PCP_MAX_MSG];
	unsigned i;

	(void)l;
	(void)events;
	/* connected: only the gateway's port 5351 reaches this socket */
	for (i = 0; i < 16 && u->fd == fd; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		struct pcpc_response r;
		struct natpmpc_response nr;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNREFUSED && u->kind == REQ_PROBE) {
			req_stop(u);
			no_server(u);   /* ICMP port unreachable: nobody listens */
			return;
		}
		if (n < 0 && errno == ECONNREFUSED && u->bg_probe) {
			reprobe_arm(u);
			continue;
		}
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf))
			continue;
		/* the answer to the external address query sent with PCP found */
		if (u->e->upstream.mode == UPSTREAM_PCP && n >= 1 && buf[0] == 0) {
			if (natpmpc_parse(buf, (size_t)n, &nr) == 0 && nr.opcode == NATPMP_OP_EXTERNAL &&
			    nr.result == NATPMP_SUCCESS && !u->e->upstream.have_ext)
				set_ext(u, true, nr.ext_addr);
			continue;
		}
		if (u->e->upstream.mode == UPSTREAM_UPNP) {
			if (u->bg_probe && pcpc_parse(buf, (size_t)n, &r) == 0)
				reprobe_answer(u, &r);
			continue;
		}
		if (u->kind == REQ_NONE)
			continue;
		if (u->e->upstream.mode == UPSTREAM_NATPMP) {
			if (natpmpc_parse(buf, (size_t)n, &nr) == 0)
				on_natpmp(u, &nr);
		} else if (pcpc_parse(buf, (size_t)n, &r) == 0) {
			on_pcp(u, &r);
		}
	}
}

static void on_timer(struct loop *l, void *arg)
{
	struct upstream_io *u = arg;

	(void)l;
	u->timer = 0;
	if (!u->active)
		return;
	if (u->kind != REQ_NONE && u->kind < REQ_UPNP_FIND && u->sent < u->p.sends) {
		req_send(u);
		return;
	}
	switch (u->kind) {
	case REQ_PROBE:
		req_stop(u);
		no_server(u);
		return;
	case REQ_NATPMP_EXT:
		req_stop(u);
		reconcile(u);
		return;
	case REQ_MAP:
		u->req_timed_out = true;        /* every send unanswered */
		map_done(u, false, 0, 0);
		return;
	case REQ_UPNP_FIND:
	case REQ_UPNP_EXT:
	case REQ_UPNP_MAP:
		return;                 /* the link's own deadline */
	case REQ_NONE:
		break;
	}
	if (u->e->upstream.mode == UPSTREAM_NONE || u->e->upstream.mode == UPSTREAM_PROBING) {
		probe(u);
		return;
	}
	schedule(u);
}

/*
 * RFC 6887 14.1.3: a server that lost its state multicasts an ANNOUNCE
 * response to 224.0.0.1:5350; only the server's own are read (the source
 * checked), and only the WAN's: membership on the WAN interface alone,
 * IP_MULTICAST_ALL off, so igdd's own announcements on the LAN never
 * arrive here. NAT-PMP's address announcements (RFC 6886 3.2.1) come the
 * same way and are checked the same (3.6).
 */
static void on_announce(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upstream_io *u = arg;
	uint8_t buf[PCP_MAX_MSG];
	unsigned i;

	(void)l;
	(void)events;
	for (i = 0; i < 16; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		struct pcpc_response r;
		struct natpmpc_response nr;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf) || from.sin_addr.s_addr != u->e->upstream.server.s_addr ||
		    ntohs(from.sin_port) != (u->p.port ? u->p.port : PCP_PORT))
			continue;
		if (u->e->upstream.mode == UPSTREAM_PCP && pcpc_parse(buf, (size_t)n, &r) == 0 &&
		    !r.natpmp_only && r.opcode == PCP_OP_ANNOUNCE) {
			check_epoch(u, r.epoch, false);
		} else if (u->e->upstream.mode == UPSTREAM_NATPMP &&
			   natpmpc_parse(buf, (size_t)n, &nr) == 0 && nr.opcode == NATPMP_OP_EXTERNAL) {
			check_epoch(u, nr.epoch, true);
		} else {
			continue;
		}
		schedule(u);
	}
}

/* The listener; without it igdd still notices a restart at its next
 * exchange with the server (8.5). 0 or -errno. */
static int announce_open(struct upstream_io *u)
{
	struct sockaddr_in a;
	struct ip_mreqn mreq;
	int fd, one = 1, zero = 0, r;
	unsigned ifindex = u->e->cfg->wan_interface[0] ? if_nametoindex(u->e->cfg->wan_interface) : 0;

	if (ifindex == 0)
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0xe0000001u);         /* 224.0.0.1 */
	a.sin_port = htons(PCP_CLIENT_PORT);
	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_multiaddr = a.sin_addr;
	mreq.imr_address = u->e->wan_addr;
	mreq.imr_ifindex = (int)ifindex;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = loop_fd_add(u->l, fd, EPOLLIN, on_announce, u);
	if (r < 0) {
		close(fd);
		return r;
	}
	u->ann_fd = fd;
	return 0;
}

/* At shutdown or a WAN change the loop does not run on: the UPnP deletes
 * one after the other, IGDD_UPSTREAM_UPNP_STOP_MS for all of them. */
static void upnp_delete_sync(struct upstream_io *u, const struct entry *x, uint64_t end)
{
	uint64_t now = clock_monotonic_ms(NULL);
	struct upnp_reply r;
	struct upnp_args a;
	unsigned n = upnp_args(u, x, true, &a);

	if (now < end)
		upnp_link_call_sync(u->upnp, "DeletePortMapping", a.names, a.values, n, end - now, &r);
}

static void stop(struct upstream_io *u, bool delete_held)
{
	bool upnp = u->e->upstream.mode == UPSTREAM_UPNP && u->upnp;
	uint64_t end = clock_monotonic_ms(NULL) + IGDD_UPSTREAM_UPNP_STOP_MS;
	size_t i;

	req_stop(u);
	bg_stop(u);
	walk_end(u);
	if (u->fd >= 0) {
		for (i = 0; delete_held && i < IGDD_UPSTREAM_MAX_MAPPINGS; i++) {
			struct entry *x = &u->ent[i];

			if (!x->granted || (x->state != E_HELD && x->state != E_DROP && !x->on_upnp))
				continue;
			x->state = E_DROP;
			if (u->upnp && (upnp || x->on_upnp)) {
				upnp_delete_sync(u, x, end);
				continue;
			}
			ask(u, x);      /* one datagram, not waited for */
			req_stop(u);
		}
		loop_fd_del(u->l, u->fd);
		close(u->fd);
		u->fd = -1;
	}
	if (u->ann_fd >= 0) {
		loop_fd_del(u->l, u->ann_fd);
		close(u->ann_fd);
		u->ann_fd = -1;
	}
	upnp_link_free(u->upnp);
	u->upnp = NULL;
	u->upnp_any = u->upnp_perm = u->upnp_lost = u->have_bootid = false;
	memset(u->ent, 0, sizeof(u->ent));
	u->active = false;
	u->have_epoch = false;
	u->e->upstream.mode = UPSTREAM_OFF;
	if (u->e->upstream.have_ext) {
		u->e->upstream.have_ext = false;
		engine_changed(u->e, ENGINE_CHG_EXTERNAL_IP);
	}
	count(u);
	waiters_check(u);
}

static int start(struct upstream_io *u)
{
	struct sockaddr_in a;
	unsigned ifindex;
	int fd, r;

	u->e->upstream.server = u->p.server;
	if (!u->p.have_server &&
	    (r = ifaddr_default_gateway(u->e->cfg->wan_interface, &u->e->upstream.server)) < 0)
		return r;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr = u->e->upstream.server;
	a.sin_port = htons(u->p.port ? u->p.port : PCP_PORT);
	fd = wansock_open(SOCK_DGRAM, u->e->wan_addr, &a);
	if (fd < 0)
		return fd;
	if ((r = loop_fd_add(u->l, fd, EPOLLIN, on_readable, u)) < 0) {
		close(fd);
		return r;
	}
	u->fd = fd;
	u->wan = u->e->wan_addr;
	u->active = true;
	ifindex = u->e->cfg->wan_interface[0] ? if_nametoindex(u->e->cfg->wan_interface) : 0;
	u->upnp_on = u->e->cfg->upstream_upnp;
	if (ifindex && u->upnp_on)
		u->upnp = upnp_link_new(u->l, u->wan, ifindex, u->e->upstream.server,
					u->p.upnp_wait_ms, u->p.upnp_timeout_ms, on_upnp, u);
	r = announce_open(u);
	if (r < 0)
		log_info("upstream: not listening for announcements on 224.0.0.1:%d: %s",
			 PCP_CLIENT_PORT, strerror(-r));
	u->warned_none = false;
	backoff_init(&u->reprobe, u->p.reprobe_ms, u->p.reprobe_max_ms);
	probe(u);
	return 0;
}

void upstream_io_wan_changed(struct upstream_io *u)
{
	bool want;
	int r;

	if (!u)
		return;
	/* the sim backend simulates the WAN: no upstream to ask (tests name one) */
	want = u->e->cfg->upstream_pcp && u->e->wan_classified && !engine_wan_public(u->e) &&
	       (u->e->cfg->backend == CONFIG_BACKEND_NFT || u->p.have_server);
	/* upstream_upnp changed by a reload: a new start where it matters
	 * (the IGD used and now refused, or nothing found and now allowed) */
	if (u->active && want && u->wan.s_addr == u->e->wan_addr.s_addr &&
	    (u->upnp_on == u->e->cfg->upstream_upnp ||
	     (u->e->upstream.mode != UPSTREAM_UPNP && u->e->upstream.mode != UPSTREAM_NONE))) {
		u->upnp_on = u->e->cfg->upstream_upnp;
		if (!u->upnp_on && u->upnp) {
			/* not used (PCP, NAT-PMP or probing), but for a delete
			 * of a mapping moving off it: left to expire there */
			bool searching = u->kind == REQ_UPNP_FIND;

			if (u->kind >= REQ_UPNP_FIND)
				req_stop(u);
			upnp_link_free(u->upnp);
			u->upnp = NULL;
			if (searching && u->e->upstream.mode == UPSTREAM_PROBING)
				none_found(u);  /* the probe's last step, cut short */
			else
				schedule(u);
		}
		return;
	}
	if (u->active)
		stop(u, u->wan.s_addr == u->e->wan_addr.s_addr);
	if (!want)
		return;
	r = start(u);
	if (r < 0) {
		log_warnx("upstream: cannot ask the WAN gateway: %s",
			  r == -ENOENT ? "no IPv4 default route on the WAN interface" : strerror(-r));
		u->e->upstream.mode = UPSTREAM_NONE;
		waiters_check(u);
		return;
	}
	reconcile(u);
}

static void on_change(struct engine *e, unsigned changes, void *arg)
{
	struct upstream_io *u = arg;

	(void)e;
	if ((changes & ENGINE_CHG_MAPPINGS) && u->active)
		reconcile(u);
}

struct upstream_io *upstream_io_new(struct engine *e, struct loop *l,
				    const struct upstream_io_params *params)
{
	struct upstream_io *u = calloc(1, sizeof(*u));

	if (!u) {
		log_warnx("upstream: out of memory");
		return NULL;
	}
	u->e = e;
	u->l = l;
	u->fd = -1;
	u->ann_fd = -1;
	if (params)
		u->p = *params;
	else
		upstream_io_default_params(&u->p);
	memset(&e->upstream, 0, sizeof(e->upstream));
	if (engine_subscribe(e, on_change, u) < 0) {
		log_warnx("upstream: cannot follow the mappings (too many subscribers)");
		free(u);
		return NULL;
	}
	engine_up_register(e, &up_ops, u);
	upstream_io_wan_changed(u);
	return u;
}

void upstream_io_free(struct upstream_io *u)
{
	if (!u)
		return;
	stop(u, true);
	waiters_flush(u);
	engine_up_unregister(u->e, u);
	engine_unsubscribe(u->e, on_change, u);
	free(u);
}
