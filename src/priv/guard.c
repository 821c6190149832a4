/*
 * guard.c - the privileged helper's checks beyond the message's shape
 * (see guard.h).
 *
 * Cost per request: the message check (pure), draining the rtnetlink
 * watch socket (one recv that finds nothing), one NFT_MSG_GETGEN to see
 * whether the ruleset moved since the static forwards were read, and
 * for each entry of an APPLY one exact inet_diag request (the kernel's
 * own socket lookup for the port; util/sockdiag.h); a batch of more than
 * GUARD_BATCH_DUMP entries reads every bound port once instead.
 */
#define _GNU_SOURCE             /* struct ucred */

#include "priv/guard.h"

#include "conf/config.h"
#include "conf/policy_conf.h"
#include "core/clock.h"
#include "core/policy.h"
#include "priv/localaddr.h"
#include "priv/nft_forwards.h"
#include "priv/priv.h"
#include "util/log.h"
#include "util/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define GUARD_MAX_WAN 16                /* WAN addresses a socket may be bound to */
#define GUARD_BATCH_DUMP 8              /* more entries: one full dump per protocol */

struct file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool have;
};

struct guard {
	struct guard_conf c;
	struct priv_policy pol;         /* c.policy with .ports = ports */
	struct policy *ports;
	struct file_stamp stamp;        /* the configuration file as last read */
	struct localaddr *la;
	struct sockdiag *sd;
	struct nft_forwards *fw;
	struct portset fwd[2];          /* static forwards: TCP, UDP */
	bool fwd_valid;
	uint32_t fwd_gen;               /* the generation they were read at */
	struct portset udp_seen;        /* bound UDP ports at the last periodic check */
	struct priv_entry *grants;        /* granted keys */
	size_t ngrants;
};

static int pidx(uint8_t proto)
{
	return proto == IPPROTO_UDP ? 1 : 0;
}

static void stamp_of(const struct stat *st, struct file_stamp *ret)
{
	ret->dev = st->st_dev;
	ret->ino = st->st_ino;
	ret->size = st->st_size;
	ret->mtime = st->st_mtim;
	ret->ctime = st->st_ctim;
	ret->have = true;
}

static bool stamp_eq(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->have == b->have && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

struct guard *guard_new(const struct guard_conf *c)
{
	struct guard *g = calloc(1, sizeof(*g));
	struct stat st;
	int e;

	if (!g)
		return NULL;
	g->c = *c;
	g->grants = calloc(c->max_grants ? c->max_grants : 1, sizeof(*g->grants));
	g->la = localaddr_new();
	g->sd = sockdiag_new();
	g->fw = nft_forwards_new();
	if (!g->grants || !g->la || !g->sd || !g->fw) {
		e = errno ? errno : ENOMEM;
		localaddr_free(g->la);
		sockdiag_free(g->sd);
		nft_forwards_free(g->fw);
		free(g->grants);
		free(g);
		errno = e;
		return NULL;
	}
	g->ports = c->ports;
	g->pol = c->policy;
	g->pol.ports = g->ports;
	if (c->conf_path[0] && stat(c->conf_path, &st) == 0)
		stamp_of(&st, &g->stamp);       /* what the start-up policy came from */
	return g;
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	policy_free(g->ports);
	localaddr_free(g->la);
	sockdiag_free(g->sd);
	nft_forwards_free(g->fw);
	free(g->grants);
	free(g);
}

/* ---- grants ---- */

static bool same_key(const struct priv_entry *a, const struct priv_entry *b)
{
	return a->proto == b->proto && a->ext_port == b->ext_port &&
	       a->remote_host.s_addr == b->remote_host.s_addr;
}

static size_t grant_find(const struct guard *g, const struct priv_entry *e)
{
	size_t i;

	for (i = 0; i < g->ngrants && !same_key(&g->grants[i], e); i++)
		;
	return i;
}

void guard_grant_set(struct guard *g, const struct priv_entry *e, bool granted)
{
	size_t i = grant_find(g, e);

	if (granted && i == g->ngrants && g->ngrants < g->c.max_grants)
		g->grants[g->ngrants++] = *e;
	else if (!granted && i < g->ngrants)
		g->grants[i] = g->grants[--g->ngrants];
}

void guard_grant_clear(struct guard *g)
{
	g->ngrants = 0;
}

size_t guard_grant_count(const struct guard *g)
{
	return g->ngrants;
}

/*
 * A grant: a SOCK_SEQPACKET Unix socket that root created (SO_PEERCRED;
 * not the engine's own start-up sockets, which root created too: their
 * pid is the engine's), holding exactly one struct priv_grant for e.
 */
static int grant_ok(int fd, const struct priv_entry *e, const char **why)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int type = 0, domain = 0;
	socklen_t tlen = sizeof(type), dlen = sizeof(domain);
	union {
		struct priv_grant g;
		char raw[sizeof(struct priv_grant) + 1];
	} in;
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0 || domain != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_SEQPACKET ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		*why = "the grant is not a Unix seqpacket socket";
		return -EACCES;
	}
	if (cr.uid != 0 || cr.pid == getppid() || cr.pid == getpid()) {
		*why = "the grant was not made by root";
		return -EACCES;
	}
	n = recv(fd, in.raw, sizeof(in.raw), MSG_DONTWAIT);
	if (n < 0 || priv_grant_check(&in.g, (size_t)n, e, clock_monotonic_ms(NULL), why) < 0) {
		if (n < 0)
			*why = "the grant socket holds no grant";
		return -EACCES;
	}
	return 0;
}

/* ---- the gateway's own ports ---- */

/* The WAN side's addresses: the WAN interface's own, and external_ip;
 * *ret_ifindex the WAN interface (0: none now). */
static size_t wan_addrs(struct guard *g, struct in_addr *out, unsigned *ret_ifindex)
{
	unsigned idx = if_nametoindex(g->c.wan_if);
	size_t n = 0;

	if (g->c.have_external_ip)
		out[n++] = g->c.external_ip;
	if (idx)
		n += localaddr_on(g->la, idx, out + n, GUARD_MAX_WAN - n);
	*ret_ifindex = idx;
	return n;
}

/* The static forwards, read again when the ruleset moved. */
static int forwards_fresh(struct guard *g)
{
	uint32_t gen = 0;
	int r = nft_forwards_genid(g->fw, &gen);

	if (r < 0)
		return r;
	if (g->fwd_valid && gen == g->fwd_gen)
		return 0;
	r = nft_forwards_read(g->fw, &g->fwd[0], &g->fwd[1]);
	if (r < 0) {
		g->fwd_valid = false;
		return r;
	}
	/* A change between the two reads shows as a newer generation next time. */
	g->fwd_gen = gen;
	g->fwd_valid = true;
	return 0;
}

void guard_committed(struct guard *g)
{
	uint32_t gen = 0;

	/* Our own transaction moved the generation by one; more means
	 * someone else's came in between: read the forwards again then. */
	if (g->fwd_valid && nft_forwards_genid(g->fw, &gen) == 0 && gen == g->fwd_gen + 1)
		g->fwd_gen = gen;
}

/* Whether any APPLY entry's external port is the gateway's own. */
static int router_port(struct guard *g, const struct priv_req *rq, const char **why)
{
	struct in_addr wan[GUARD_MAX_WAN];
	struct portset *bound = NULL;
	unsigned ifindex;
	size_t nwan, i;
	int r;

	if (forwards_fresh(g) < 0) {
		*why = "cannot read the ruleset";
		return -EAGAIN;
	}
	nwan = wan_addrs(g, wan, &ifindex);
	if (rq->count > GUARD_BATCH_DUMP) {
		bound = malloc(2 * sizeof(*bound));
		if (!bound || sockdiag_ports(g->sd, IPPROTO_TCP, wan, nwan, ifindex, &bound[0]) < 0 ||
		    sockdiag_ports(g->sd, IPPROTO_UDP, wan, nwan, ifindex, &bound[1]) < 0) {
			free(bound);
			*why = "cannot read the gateway's sockets";
			return -EAGAIN;
		}
	}
	for (i = 0, r = 0; i < rq->count && r == 0; i++) {
		const struct priv_entry *e = &rq->e[i];

		if (portset_has(&g->fwd[pidx(e->proto)], e->ext_port)) {
			*why = "the firewall forwards the external port statically";
			r = -EADDRINUSE;
		} else if (bound ? portset_has(&bound[pidx(e->proto)], e->ext_port) :
			   (r = sockdiag_bound(g->sd, e->proto, e->ext_port, wan, nwan, ifindex)) > 0) {
			*why = "the gateway itself listens on the external port";
			r = -EADDRINUSE;
		} else if (r < 0) {
			*why = "cannot read the gateway's sockets";
			r = -EAGAIN;
		}
	}
	free(bound);
	return r;
}

int guard_router_ports(struct guard *g, struct portset *tcp, struct portset *udp)
{
	struct in_addr wan[GUARD_MAX_WAN];
	unsigned ifindex;
	size_t nwan, i;
	int r;

	if (localaddr_refresh(g->la) < 0)
		return -EAGAIN;
	nwan = wan_addrs(g, wan, &ifindex);
	g->fwd_valid = false;           /* read again whatever the generation says */
	if ((r = forwards_fresh(g)) < 0 ||
	    (r = sockdiag_held(g->sd, wan, nwan, ifindex, &g->udp_seen, tcp, udp)) < 0)
		return r;
	for (i = 0; i < sizeof(udp->w) / sizeof(udp->w[0]); i++) {
		tcp->w[i] |= g->fwd[0].w[i];
		udp->w[i] |= g->fwd[1].w[i];
	}
	return 0;
}

/* ---- requests ---- */

static const char *local_client(struct guard *g, const struct priv_req *rq)
{
	size_t i;

	for (i = 0; i < rq->count; i++) {
		if (localaddr_is_local(g->la, rq->e[i].internal))
			return "the internal address is one of the gateway's own";
	}
	return NULL;
}

/* A LAN renumbered since: the kernel's prefixes of now (never the
 * engine's word for them). true when they changed. */
static bool lans_moved(struct guard *g)
{
	struct priv_policy now;

	if (priv_read_lans((const char (*)[IF_NAMESIZE])g->c.lan_if, g->c.nlan_if, &now) < 0 ||
	    priv_policy_eq(&now, &g->pol))     /* the IPv6 prefixes of pinholes too */
		return false;
	now.ports = g->pol.ports;
	g->pol = now;
	log_info("helper: LAN prefixes read again (%u)", now.nlan);
	return true;
}

int guard_request(struct guard *g, const void *msg, size_t len, int fd, bool *ret_granted,
		  const char **ret_why)
{
	const struct priv_req *rq = msg;
	const char *why = "?";
	bool granted = false;
	int r;

	r = priv_msg_check(msg, len, fd >= 0, &g->pol, false, &why);
	if (r == -EINVAL && lans_moved(g))
		r = priv_msg_check(msg, len, fd >= 0, &g->pol, false, &why);
	if (r == -EACCES && fd >= 0 && (r = grant_ok(fd, &rq->e[0], &why)) == 0) {
		granted = true;
		r = priv_msg_check(msg, len, true, &g->pol, true, &why);
	}
	if (fd >= 0)
		close(fd);
	if (r < 0 || rq->op != PRIV_OP_APPLY)
		goto out;
	if (localaddr_refresh(g->la) < 0) {
		why = "cannot read the gateway's addresses";
		r = -EAGAIN;
	} else if ((why = local_client(g, rq)) != NULL) {
		r = -EACCES;
	} else {
		r = router_port(g, rq, &why);
	}
	if (r == 0 && granted) {
		if (grant_find(g, &rq->e[0]) == g->ngrants && g->ngrants == g->c.max_grants) {
			why = "too many admin mappings granted beyond the policy";
			r = -ENOSPC;
		}
	}
out:
	if (r < 0)
		*ret_why = why;
	else
		*ret_granted = granted;
	return r;
}

bool guard_allows(const struct guard *g, const struct priv_entry *e)
{
	if (grant_find(g, e) < g->ngrants || !g->ports)
		return true;
	return policy_check_ports(g->ports, priv_lan_of(&g->pol, e->internal), e->internal,
				  e->ext_port, e->int_port) == POLICY_ALLOW;
}

/* ---- the configuration file ---- */

int guard_reload(struct guard *g, bool only_changed)
{
	struct file_stamp now = { 0 };
	struct config *cfg;
	struct policy *p;
	struct stat st;
	char err[256];
	int r = -1;

	if (!g->c.conf_path[0])
		return only_changed ? 0 : -ENOENT;
	if (stat(g->c.conf_path, &st) == 0)
		stamp_of(&st, &now);
	if (only_changed && stamp_eq(&now, &g->stamp))
		return 0;
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	if (config_load(g->c.conf_path, cfg, err, sizeof(err)) < 0 ||
	    !(p = config_policy_new(cfg, err, sizeof(err)))) {
		log_warnx("helper: %s; its port policy stays as it was", err);
		r = -EINVAL;
	} else {
		policy_free(g->ports);
		g->ports = p;
		g->pol.ports = p;
		log_info("helper: port policy read from %s (%zu acl rules)", g->c.conf_path,
			 policy_rule_count(p));
		r = 1;
	}
	free(cfg);
	g->stamp = now;                 /* a bad file is not read again until it changes */
	return r;
}
