/*
 * gena.c - the GENA subscription manager (see gena.h): UPnP Device
 * Architecture 1.1 sections 4.1.2 - 4.1.4 (subscribe, renew, cancel),
 * 4.2 (initial event after the response), 4.3.2 (event messages, SEQ),
 * and WANIPConnection:2 section 2.4 (evented variables; SystemUpdateID
 * and PortMappingNumberOfEntries evented together).
 */
#include "svc/gena.h"

#include "engine.h"
#include "svc/action.h"
#include "svc/httpd.h"
#include "svc/wancommon.h"
#include "svc/wanipconn.h"
#include "svc/wanipv6fc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/uuid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define GENA_MAX_BODY           16384   /* one event body */
#define GENA_MAX_VALUE          4096    /* one variable's value */
#define GENA_MAX_VARS           64      /* bits in a variable mask */
#define GENA_WARN_INTERVAL_MS   10000   /* peer-triggered warnings */
#define GENA_MAX_BUILT          8       /* bodies shared within one change */

/* An event body, shared by the subscribers of one change. */
struct gena_body {
	unsigned refs;
	size_t len;
	char text[];
};

struct gena_event {
	uint64_t mask;                  /* bit i: svc->vars[i] */
	struct gena_body *body;
};

struct gena_sub {
	uint64_t id;                    /* never reused: stale reports are ignored */
	char sid[GENA_SID_SIZE];
	const struct service *svc;
	struct ipaddr source;           /* the requester, for max_per_source */
	unsigned lan;                   /* the LAN it subscribed on: its NOTIFYs go there */
	struct gena_url urls[IGDD_GENA_MAX_CALLBACK_URLS];
	unsigned nurls;
	uint64_t expires_ms;
	uint64_t deadline_ms;           /* expires_ms, or earlier while pending */
	bool active;                    /* the SUBSCRIBE response went out */
	bool in_flight;                 /* q[qhead] is with the sender */
	uint64_t hold_ms;               /* the initial event waits until then (0: no hold) */
	uint32_t next_seq;
	unsigned qhead, qlen, qcap;
	struct gena_event *q;           /* ring of qcap (p.max_queued) */
};

struct gena {
	struct engine *e;
	struct gena_params p;
	struct gena_sub **subs;         /* p.max_subscriptions slots */
	unsigned nsubs;
	unsigned cursor;                /* round robin for gena_next_delivery */
	uint64_t next_id;
	uint64_t rng;                   /* seeded mode */
	gena_notify_fn notify;
	void *notify_arg;
	uint64_t last_warn_ms;
};

/* Which variables each change names (WANIPConnection:2 Table 2-9, 2.4.4, 2.4.5). */
struct gena_rule {
	unsigned bit;
	const char *svc_type;
	const char *vars[2];
};

_Static_assert(GENA_CHG_WANCOMMON == ENGINE_CHG_WAN_LINK, "one bit for WANCommonInterfaceConfig");

static const struct gena_rule gena_rules[] = {
	{ ENGINE_CHG_MAPPINGS, WANIPCONN_TYPE, { "PortMappingNumberOfEntries", "SystemUpdateID" } },
	{ ENGINE_CHG_EXTERNAL_IP, WANIPCONN_TYPE, { "ExternalIPAddress", NULL } },
	{ ENGINE_CHG_CONNECTION, WANIPCONN_TYPE, { "ConnectionStatus", NULL } },
	{ GENA_CHG_WANCOMMON, WANCOMMON_TYPE, { "PhysicalLinkStatus", "EnabledForInternet" } },
	/* WANIPv6FirewallControl:1 2.5 [5.4]. */
	{ ENGINE_CHG_FIREWALL, WANIPV6FC_TYPE, { "FirewallEnabled", "InboundPinholeAllowed" } },
};

void gena_params_default(struct gena_params *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->timeout.def = GENA_TIMEOUT_DEFAULT;
	ret->timeout.min = GENA_TIMEOUT_MIN;
	ret->timeout.max = GENA_TIMEOUT_MAX;
	ret->max_subscriptions = IGDD_GENA_MAX_SUBSCRIPTIONS;
	ret->max_per_source = IGDD_GENA_MAX_PER_SOURCE;
	ret->max_queued = 8;
	ret->confirm_timeout_s = 30;
	ret->initial_hold_ms = GENA_INITIAL_HOLD_MS;
}

struct gena *gena_new(struct engine *e, const struct gena_params *p)
{
	struct gena *g;

	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->e = e;
	if (p)
		g->p = *p;
	else
		gena_params_default(&g->p);
	if (g->p.max_queued < 2 || g->p.max_subscriptions == 0 ||
	    g->p.timeout.min > g->p.timeout.def || g->p.timeout.def > g->p.timeout.max) {
		free(g);
		return NULL;
	}
	g->subs = calloc(g->p.max_subscriptions, sizeof(*g->subs));
	if (!g->subs) {
		free(g);
		return NULL;
	}
	g->next_id = 1;
	g->rng = g->p.seed;
	return g;
}

static uint64_t now_ms(const struct gena *g)
{
	return clock_now(&g->e->clock);
}

/* ---- bodies -------------------------------------------------------- */

static void body_release(struct gena_body *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static struct gena_body *body_ref(struct gena_body *b)
{
	b->refs++;
	return b;
}

/* Every evented variable of svc (the initial event, UDA 1.1 4.2). */
static uint64_t mask_all(const struct service *svc)
{
	uint64_t m = 0;
	unsigned i;

	for (i = 0; i < svc->nvars && i < GENA_MAX_VARS; i++)
		if (svc->vars[i].evented && svc->vars[i].min_version <= svc->version)
			m |= UINT64_C(1) << i;
	return m;
}

/* The variables of svc that changes names. */
static uint64_t mask_changes(const struct service *svc, unsigned changes)
{
	uint64_t all = mask_all(svc), m = 0;
	size_t r, k;
	unsigned i;

	for (r = 0; r < sizeof(gena_rules) / sizeof(gena_rules[0]); r++) {
		if (!(changes & gena_rules[r].bit) || strcmp(svc->type, gena_rules[r].svc_type) != 0)
			continue;
		for (k = 0; k < 2 && gena_rules[r].vars[k]; k++)
			for (i = 0; i < svc->nvars && i < GENA_MAX_VARS; i++)
				if (strcmp(svc->vars[i].name, gena_rules[r].vars[k]) == 0)
					m |= UINT64_C(1) << i;
	}
	return m & all;
}

/* The propertyset for the variables of mask with their current values;
 * NULL when out of memory or when no variable could be read. */
static struct gena_body *body_build(struct gena *g, const struct service *svc, uint64_t mask)
{
	struct gena_body *body = NULL;
	struct buf b, v;
	unsigned i, n = 0;

	buf_init(&b, GENA_MAX_BODY);
	buf_init(&v, GENA_MAX_VALUE);
	gena_body_begin(&b);
	for (i = 0; i < svc->nvars && i < GENA_MAX_VARS; i++) {
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		buf_reset(&v);
		if (!svc->query || svc->query(g->e, &svc->vars[i], &v) != 0 || v.toobig) {
			log_debug("gena: %s: cannot read %s", svc->service_id, svc->vars[i].name);
			continue;
		}
		gena_body_add(&b, svc->vars[i].name, v.p ? v.p : "", v.len);
		n++;
	}
	gena_body_end(&b);
	if (n == 0 || b.toobig || !b.p)
		goto out;
	body = malloc(sizeof(*body) + b.len + 1);
	if (!body)
		goto out;
	body->refs = 1;
	body->len = b.len;
	memcpy(body->text, b.p, b.len + 1);
out:
	buf_free(&v);
	buf_free(&b);
	return body;
}

/* ---- subscriptions ---------------------------------------------------- */

static void sub_free(struct gena_sub *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; s->q && i < s->qlen; i++)
		body_release(s->q[(s->qhead + i) % s->qcap].body);
	free(s->q);
	free(s);
}

void gena_free(struct gena *g)
{
	unsigned i;

	if (!g)
		return;
	for (i = 0; i < g->nsubs; i++)
		sub_free(g->subs[i]);
	free(g->subs);
	free(g);
}

static void notify(struct gena *g)
{
	if (g->notify)
		g->notify(g->notify_arg);
}

void gena_set_notify(struct gena *g, gena_notify_fn fn, void *arg)
{
	g->notify = fn;
	g->notify_arg = arg;
}

static void sub_remove(struct gena *g, unsigned idx)
{
	sub_free(g->subs[idx]);
	g->subs[idx] = g->subs[--g->nsubs];
	g->subs[g->nsubs] = NULL;
	if (g->cursor >= g->nsubs)
		g->cursor = 0;
}

/* The index of the un-expired subscription sid (of svc when not NULL), or -1. */
static int sub_find(const struct gena *g, const char *sid, const struct service *svc)
{
	uint64_t now = now_ms(g);
	unsigned i;

	for (i = 0; i < g->nsubs; i++) {
		const struct gena_sub *s = g->subs[i];

		if (strcasecmp(s->sid, sid) == 0 && (!svc || s->svc == svc) && s->deadline_ms > now)
			return (int)i;
	}
	return -1;
}

static struct gena_sub *sub_by_id(const struct gena *g, uint64_t id)
{
	unsigned i;

	for (i = 0; i < g->nsubs; i++)
		if (g->subs[i]->id == id)
			return g->subs[i];
	return NULL;
}

static struct gena_event *q_at(struct gena_sub *s, unsigned i)
{
	return &s->q[(s->qhead + i) % s->qcap];
}

/*
 * Queue an event (takes a reference on body). A full queue collapses: the
 * events not yet handed out are replaced by one with the union of their
 * variables, read now (SEQ is assigned at hand-out, so none is skipped).
 */
static void sub_enqueue(struct gena *g, struct gena_sub *s, uint64_t mask, struct gena_body *body)
{
	unsigned keep = s->in_flight ? 1 : 0, i;
	struct gena_body *merged;
	uint64_t all = mask;

	if (s->qlen == s->qcap) {
		for (i = keep; i < s->qlen; i++) {
			all |= q_at(s, i)->mask;
			body_release(q_at(s, i)->body);
		}
		s->qlen = keep;
		merged = body_build(g, s->svc, all);
		log_debug("gena: %s: event queue full, %u events collapsed into one",
			  s->sid, s->qcap - keep);
		if (merged) {
			*q_at(s, s->qlen++) = (struct gena_event){ all, merged };
			return;
		}
	}
	*q_at(s, s->qlen++) = (struct gena_event){ mask, body_ref(body) };
}

static void sub_pop(struct gena_sub *s)
{
	if (s->qlen == 0)
		return;
	body_release(s->q[s->qhead].body);
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qlen--;
}

/* ---- SIDs ------------------------------------------------------------ */

/* splitmix64: reproducible SIDs for tests (gena_params.seeded). */
static uint64_t gena_rand64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* "uuid:" + a random (version 4, RFC 4122 4.4) UUID. */
static int sid_generate(struct gena *g, char out[GENA_SID_SIZE])
{
	unsigned char b[UUID_BYTES];
	char uuid[UUID_STR_SIZE];
	size_t i;
	int r;

	_Static_assert(GENA_SID_SIZE == 5 + UUID_STR_SIZE, "a SID is uuid: and a UUID");
	if (g->p.seeded) {
		for (i = 0; i < sizeof(b); i += 8) {
			uint64_t v = gena_rand64(&g->rng);

			memcpy(b + i, &v, 8);
		}
	} else {
		r = random_bytes(b, sizeof(b));
		if (r < 0)
			return r;
	}
	uuid_v4_format(b, uuid);
	snprintf(out, GENA_SID_SIZE, "uuid:%s", uuid);
	return 0;
}

/* ---- SUBSCRIBE / UNSUBSCRIBE (UDA 1.1 4.1.2 - 4.1.4) ------------------- */

/*
 * CallStranger (CVE-2020-12695): a delivery address must be the
 * subscriber's own (subscribe_new()), so that no one can point a
 * stream of NOTIFYs with a path of its choosing at another host; and
 * the subscriber must be a host of the LAN the SUBSCRIBE came in on: not
 * the gateway itself (its own services are no subscriber), not the
 * network or broadcast address of an IPv4 subnet that has them.
 *
 * One exception, for IPv6: GUPnP's IPv6 contexts subscribe from the
 * address the kernel picks for the description's host (a global one)
 * and name their own context's address in CALLBACK (link-local, or a
 * ULA), both the same host's. Such a callback is accepted when it is
 * IPv6 too, a host of the same LAN (link-local on it, or in its
 * prefixes), and the neighbour table of the LAN's interface maps it and
 * the subscriber's address to one link-layer address (e->same_host,
 * net/neigh.c): a host can then only name itself. Spoofing the table
 * gains nothing: packets for an address go to the MAC the table names,
 * so a SUBSCRIBE from an address whose entry names another host's MAC
 * never completes its handshake, and a callback address claimed for the
 * attacker's MAC delivers to the attacker. IPv4 keeps the exact rule.
 */
static bool callback_allowed(const struct gena *g, unsigned lan, const struct ipaddr *peer,
			     const struct ipaddr *cb)
{
	const struct engine *e = g->e;
	const struct lan *l = engine_lan(e, lan);

	if (!l || !engine_lan_host(e, lan, peer))
		return false;
	if (ipaddr_eq(cb, peer))
		return true;
	if (!ipaddr_is_v6(cb) || !ipaddr_is_v6(peer) || !engine_lan_host(e, lan, cb))
		return false;
	return e->same_host && e->same_host(e->same_host_arg, l->ifindex, peer, cb);
}

static void respond_status(struct http_response *resp, enum gena_status st)
{
	resp->status = gena_http_status(st);
	resp->content_type = NULL;
	buf_reset(&resp->body);
}

static void respond_sid(struct http_response *resp, const struct gena_sub *s, unsigned timeout_s)
{
	char t[32];

	respond_status(resp, GENA_OK);
	snprintf(t, sizeof(t), "Second-%u", timeout_s);
	http_response_add_header(resp, "SID", s->sid);
	http_response_add_header(resp, "TIMEOUT", t);
}

static unsigned count_source(const struct gena *g, const struct ipaddr *src)
{
	unsigned i, n = 0;

	for (i = 0; i < g->nsubs; i++)
		if (ipaddr_eq(&g->subs[i]->source, src))
			n++;
	return n;
}

/* Refuse a delivery address; the warning is rate-limited (a peer can trigger it). */
static void refuse_callback(struct gena *g, const char *peer, const struct ipaddr *a)
{
	char addr[IPADDR_STRLEN];
	uint64_t now = now_ms(g);

	ipaddr_ntop(a, addr, sizeof(addr));
	if (g->last_warn_ms == 0 || now - g->last_warn_ms >= GENA_WARN_INTERVAL_MS) {
		g->last_warn_ms = now;
		log_warnx("%s: SUBSCRIBE refused: CALLBACK address %s is not the subscriber's own",
			  peer, addr);
	} else {
		log_debug("%s: SUBSCRIBE refused: CALLBACK address %s is not the subscriber's own",
			  peer, addr);
	}
}

/*
 * Every slot is taken and peer, holding held subscriptions, wants one:
 * drop the oldest subscription of the address holding the most, if it
 * holds more than peer. So addresses that take many slots give way to
 * those with few, and no number of addresses can shut one out. The
 * subscriber dropped learns it at its next renewal (412) and may
 * subscribe again (UDA 1.1 4.1.2). true when a slot was freed.
 */
static bool make_room(struct gena *g, const struct ipaddr *peer, unsigned held)
{
	unsigned i, n, best = held;
	int victim = -1;

	for (i = 0; i < g->nsubs; i++) {
		n = count_source(g, &g->subs[i]->source);
		if (n > best || (victim >= 0 && n == best && g->subs[i]->id < g->subs[victim]->id)) {
			best = n;
			victim = (int)i;
		}
	}
	if (victim < 0)
		return false;
	if (log_get_verbose() >= 1) {
		char vs[IPADDR_STRLEN], ps[IPADDR_STRLEN];

		ipaddr_ntop(&g->subs[victim]->source, vs, sizeof(vs));
		ipaddr_ntop(peer, ps, sizeof(ps));
		log_debug("%s: gena: %s dropped (its address holds %u) for %s", vs,
			  g->subs[victim]->sid, best, ps);
	}
	sub_remove(g, (unsigned)victim);
	return true;
}

static enum gena_status subscribe_new(struct gena *g, const struct service *svc,
				      const struct http_request *req, struct gena_request *r,
				      struct gena_sub **ret)
{
	const struct ipaddr *peer = &req->peer;
	const struct lan *l = engine_lan(g->e, req->lan);
	char ps[IPADDR_STRLEN];
	struct gena_sub *s;
	uint64_t now = now_ms(g);
	unsigned i, held;

	ipaddr_ntop(peer, ps, sizeof(ps));
	for (i = 0; i < r->nurls; i++) {
		/* A link-local callback is on the LAN the request came in on. */
		if (l && ipaddr_is_linklocal(&r->urls[i].addr))
			r->urls[i].addr.scope = l->ifindex;
		if (!callback_allowed(g, req->lan, peer, &r->urls[i].addr)) {
			refuse_callback(g, ps, &r->urls[i].addr);
			return GENA_E_CALLBACK;
		}
	}
	held = count_source(g, peer);
	if (held >= g->p.max_per_source ||
	    (g->nsubs >= g->p.max_subscriptions && !make_room(g, peer, held))) {
		log_debug("%s: SUBSCRIBE %s refused: subscription limit", ps, svc->event_url);
		return GENA_E_LIMIT;
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->q = calloc(g->p.max_queued, sizeof(*s->q));
	if (!s || !s->q) {
		sub_free(s);
		return GENA_E_INTERNAL;
	}
	do {
		if (sid_generate(g, s->sid) < 0) {
			log_warnx("gena: no randomness for a SID");
			sub_free(s);
			return GENA_E_INTERNAL;
		}
	} while (sub_find(g, s->sid, NULL) >= 0);
	s->id = g->next_id++;
	s->svc = svc;
	s->source = *peer;
	s->lan = req->lan;
	memcpy(s->urls, r->urls, sizeof(s->urls));
	s->nurls = r->nurls;
	s->qcap = g->p.max_queued;
	s->expires_ms = now + (uint64_t)r->timeout_s * 1000u;
	s->deadline_ms = now + (uint64_t)g->p.confirm_timeout_s * 1000u;
	if (s->deadline_ms > s->expires_ms)
		s->deadline_ms = s->expires_ms;
	g->subs[g->nsubs++] = s;
	log_debug("%s: SUBSCRIBE %s: %s for %u s, %u URL(s)", ps, svc->event_url, s->sid,
		  r->timeout_s, s->nurls);
	*ret = s;
	return GENA_OK;
}

static enum gena_status renew(struct gena *g, const struct service *svc,
			      const struct gena_request *r, struct gena_sub **ret)
{
	int i = sub_find(g, r->sid, svc);
	struct gena_sub *s;

	if (i < 0)
		return GENA_E_SID;
	s = g->subs[i];
	s->expires_ms = now_ms(g) + (uint64_t)r->timeout_s * 1000u;
	if (s->active || s->deadline_ms > s->expires_ms)
		s->deadline_ms = s->expires_ms;
	*ret = s;
	return GENA_OK;
}

static enum gena_status unsubscribe(struct gena *g, const struct service *svc,
				    const struct ipaddr *peer, const struct gena_request *r)
{
	char ps[IPADDR_STRLEN];
	int i = sub_find(g, r->sid, svc);

	if (i < 0)
		return GENA_E_SID;
	ipaddr_ntop(peer, ps, sizeof(ps));
	log_debug("%s: UNSUBSCRIBE %s: %s", ps, svc->event_url, g->subs[i]->sid);
	sub_remove(g, (unsigned)i);
	return GENA_OK;
}

void gena_handle(struct gena *g, const struct service *svc, const struct http_request *req,
		 struct http_response *resp)
{
	struct gena_headers h;
	struct gena_request r;
	struct gena_sub *s = NULL;
	enum gena_status st;
	bool unsub;

	unsub = strcmp(req->method, "UNSUBSCRIBE") == 0;
	if (!unsub && strcmp(req->method, "SUBSCRIBE") != 0) {
		resp->status = 405;
		buf_reset(&resp->body);
		http_response_add_header(resp, "Allow", "SUBSCRIBE, UNSUBSCRIBE");
		return;
	}
	h.callback = http_request_header(req, "CALLBACK");
	h.nt = http_request_header(req, "NT");
	h.sid = http_request_header(req, "SID");
	h.timeout = http_request_header(req, "TIMEOUT");
	st = gena_parse(unsub, &h, &g->p.timeout, &r);
	if (st == GENA_OK) {
		switch (r.kind) {
		case GENA_SUBSCRIBE:
			st = subscribe_new(g, svc, req, &r, &s);
			break;
		case GENA_RENEW:
			st = renew(g, svc, &r, &s);
			break;
		default:
			st = unsubscribe(g, svc, &req->peer, &r);
			break;
		}
	}
	if (s) {
		respond_sid(resp, s, r.timeout_s);
		notify(g);      /* the next deadline may have moved */
	} else {
		respond_status(resp, st);
	}
}

bool gena_response_sid(const struct http_response *resp, char ret_sid[GENA_SID_SIZE])
{
	size_t i;

	if (resp->status != 200)
		return false;
	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->hdr_name[i], "SID") == 0)
			return strlcpy_checked(ret_sid, resp->hdr_value[i], GENA_SID_SIZE) == 0;
	return false;
}

void gena_response_sent(struct gena *g, const char *sid)
{
	struct gena_body *body;
	struct gena_sub *s;
	uint64_t mask;
	int i = sub_find(g, sid, NULL);

	if (i < 0 || g->subs[i]->active)
		return;
	s = g->subs[i];
	s->active = true;
	s->deadline_ms = s->expires_ms;
	/* The initial event: every evented variable, SEQ 0 (UDA 1.1 4.2).
	 * It waits until the subscriber has taken the response in (see
	 * gena.h): until gena_response_taken() or initial_hold_ms. */
	if (g->p.initial_hold_ms)
		s->hold_ms = now_ms(g) + g->p.initial_hold_ms;
	mask = mask_all(s->svc);
	body = body_build(g, s->svc, mask);
	if (body) {
		sub_enqueue(g, s, mask, body);
		body_release(body);
	} else {
		log_warnx("gena: %s: cannot build the initial event", s->sid);
	}
	notify(g);
}

void gena_response_taken(struct gena *g, const char *sid)
{
	struct gena_sub *s;
	int i = sub_find(g, sid, NULL);

	if (i < 0 || !g->subs[i]->active || g->subs[i]->hold_ms == 0)
		return;
	s = g->subs[i];
	log_debug("gena: %s: response taken in after %llu ms: initial event released", s->sid,
		  (unsigned long long)(now_ms(g) + g->p.initial_hold_ms - s->hold_ms));
	s->hold_ms = 0;
	notify(g);
}

void gena_response_failed(struct gena *g, const char *sid)
{
	int i = sub_find(g, sid, NULL);

	if (i >= 0 && !g->subs[i]->active) {
		log_debug("gena: %s: SUBSCRIBE response not delivered; dropped", sid);
		sub_remove(g, (unsigned)i);
	}
}

/* ---- changes ----------------------------------------------------------- */

struct gena_built {
	const struct service *svc;
	uint64_t mask;
	struct gena_body *body;
};

/* The body for (svc, mask), built once per change for all its subscribers. */
static struct gena_body *body_for(struct gena *g, struct gena_built *built, unsigned *nbuilt,
				  const struct service *svc, uint64_t mask, bool *ret_owned)
{
	struct gena_body *b;
	unsigned i;

	*ret_owned = false;
	for (i = 0; i < *nbuilt; i++)
		if (built[i].svc == svc && built[i].mask == mask)
			return built[i].body;
	b = body_build(g, svc, mask);
	if (b && *nbuilt < GENA_MAX_BUILT)
		built[(*nbuilt)++] = (struct gena_built){ svc, mask, b };
	else
		*ret_owned = b != NULL;
	return b;
}

void gena_changed(struct gena *g, unsigned changes)
{
	struct gena_built built[GENA_MAX_BUILT];
	unsigned nbuilt = 0, i, queued = 0;

	for (i = 0; i < g->nsubs; i++) {
		struct gena_sub *s = g->subs[i];
		struct gena_body *b;
		uint64_t mask;
		bool owned;

		/* A pending subscription's initial event will carry the new values. */
		if (!s->active)
			continue;
		mask = mask_changes(s->svc, changes);
		if (!mask)
			continue;
		b = body_for(g, built, &nbuilt, s->svc, mask, &owned);
		if (!b)
			continue;
		sub_enqueue(g, s, mask, b);
		if (owned)
			body_release(b);
		queued++;
	}
	for (i = 0; i < nbuilt; i++)
		body_release(built[i].body);
	if (queued)
		notify(g);
}

void gena_on_change(struct engine *e, unsigned changes, void *arg)
{
	(void)e;
	gena_changed(arg, changes);
}

/* ---- expiry ------------------------------------------------------------ */

uint64_t gena_next_deadline(const struct gena *g)
{
	uint64_t next = 0;
	unsigned i;

	for (i = 0; i < g->nsubs; i++) {
		const struct gena_sub *s = g->subs[i];
		uint64_t d = s->hold_ms && s->hold_ms < s->deadline_ms ? s->hold_ms : s->deadline_ms;

		if (next == 0 || d < next)
			next = d;
	}
	return next;
}

unsigned gena_tick(struct gena *g)
{
	uint64_t now = now_ms(g);
	unsigned i = 0, n = 0, released = 0;

	while (i < g->nsubs) {
		if (g->subs[i]->hold_ms && g->subs[i]->hold_ms <= now) {
			g->subs[i]->hold_ms = 0;
			released++;
		}
		if (g->subs[i]->deadline_ms <= now) {
			log_debug("gena: %s: %s", g->subs[i]->sid,
				  g->subs[i]->active ? "expired" : "never confirmed; dropped");
			sub_remove(g, i);
			n++;
		} else {
			i++;
		}
	}
	if (released)
		notify(g);
	return n;
}

unsigned gena_count(const struct gena *g)
{
	return g->nsubs;
}

/* ---- delivery ---------------------------------------------------------- */

void gena_delivery_free(struct gena_delivery *d)
{
	unsigned i;

	if (!d)
		return;
	for (i = 0; i < d->ntargets; i++) {
		free(d->t[i].req);
		d->t[i].req = NULL;
	}
	d->ntargets = 0;
}

/* The whole NOTIFY request for one URL. */
static int build_target(const struct gena_sub *s, const struct gena_url *u, uint32_t seq,
			const struct gena_body *body, struct gena_target *ret)
{
	struct buf b;
	size_t len;
	char *p;

	buf_init(&b, GENA_MAX_BODY + IGDD_GENA_MAX_CALLBACK_LEN + 512);
	gena_build_notify_head(&b, u, s->sid, seq, body->len);
	buf_append(&b, body->text, body->len);
	if (b.toobig) {
		buf_free(&b);
		return -E2BIG;
	}
	p = buf_steal(&b, &len);
	buf_free(&b);
	if (!p)
		return -ENOMEM;
	memset(ret, 0, sizeof(*ret));
	ret->addr = u->addr;
	ret->port = u->port;
	ret->req = p;
	ret->len = len;
	return 0;
}

static int sub_deliver(struct gena_sub *s, struct gena_delivery *ret)
{
	struct gena_delivery d;
	const struct gena_event *ev = &s->q[s->qhead];
	unsigned i;
	int r;

	memset(&d, 0, sizeof(d));
	d.sub_id = s->id;
	d.lan = s->lan;
	d.seq = s->next_seq;
	memcpy(d.sid, s->sid, sizeof(d.sid));
	for (i = 0; i < s->nurls; i++) {
		r = build_target(s, &s->urls[i], d.seq, ev->body, &d.t[i]);
		if (r < 0) {
			gena_delivery_free(&d);
			return r;
		}
		d.ntargets++;
	}
	s->next_seq = gena_seq_next(s->next_seq);
	s->in_flight = true;
	*ret = d;
	return 1;
}

int gena_next_delivery(struct gena *g, struct gena_delivery *ret)
{
	uint64_t now = now_ms(g);
	unsigned k, idx;

	for (k = 0; k < g->nsubs; k++) {
		struct gena_sub *s;

		idx = (g->cursor + k) % g->nsubs;
		s = g->subs[idx];
		if (!s->active || s->in_flight || s->qlen == 0)
			continue;
		if (s->hold_ms > now)
			continue;       /* the initial event waits (gena_response_sent) */
		s->hold_ms = 0;
		g->cursor = (idx + 1) % g->nsubs;
		if (sub_deliver(s, ret) > 0)
			return 1;
		/* Out of memory: drop this event (no SEQ spent), try the others. */
		log_warnx("gena: %s: cannot build an event message; dropped", s->sid);
		sub_pop(s);
	}
	return 0;
}

void gena_delivery_done(struct gena *g, uint64_t sub_id, bool delivered)
{
	struct gena_sub *s = sub_by_id(g, sub_id);

	if (!s || !s->in_flight)
		return;
	stats_event(&g->e->stats, delivered);
	if (!delivered)
		log_debug("gena: %s: event lost: no delivery URL answered", s->sid);
	sub_pop(s);
	s->in_flight = false;
	if (s->qlen > 0)
		notify(g);
}
