/*
 * priv.c - starting the privileged helper, and the engine's end of the
 * channel to it (see priv.h).
 *
 * Requests are pipelined: priv_send() sends one and returns; the helper
 * reads them in order and answers each in turn. Each request in flight
 * is a pending entry (its sequence number, its deadline PRIV_TIMEOUT_MS
 * after it was sent, a completion callback), at most PRIV_INFLIGHT_MAX.
 * A reply completes the entry with its sequence number, wherever it
 * stands (the helper answers in order, but nothing relies on it); a
 * reply nobody waits for (its request timed out) is logged and
 * dropped. A deadline that passes completes its entry with -ETIMEDOUT
 * (priv_expire()), the helper's end (EOF) completes every entry with
 * -EPIPE. priv_call() and its siblings are priv_send() and a wait for
 * that one completion; other requests' completions that arrive
 * meanwhile are delivered too.
 *
 * Events (a WAN command ended) can arrive at any time, also while a
 * reply is awaited: they are queued here and the nft backend takes them
 * from its tick, so they reach the WAN state machine from the loop and
 * never from inside another request.
 */
#include "priv/priv.h"

#include "conf/config.h"
#include "conf/policy_conf.h"
#include "core/clock.h"
#include "core/policy.h"
#include "priv/caps.h"
#include "priv/helper.h"
#include "priv/nft_pin.h"
#include "priv/nft_rules.h"
#include "util/fdpass.h"
#include "util/ifaddr.h"
#include "util/ipaddr.h"
#include "util/log.h"
#include "util/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PRIV_EVENT_QUEUE 8      /* events kept; more drop the oldest */
#define PRIV_GONE_KEEP (1u << 20)       /* removed mappings kept until taken */
#define PRIV_LANS_BUF (32u * 1024u)     /* one read of the address dump */
#define PRIV_LANS_TIMEOUT_MS 2000       /* the kernel answers at once */
#define PRIV_SEQ_START 0                /* the helper's start-up report */

/* A request in flight. */
struct priv_pending {
	uint32_t seq;
	uint64_t deadline;              /* monotonic ms */
	priv_done_fn done;
	void *arg;
};

/* What the helper sends: a reply or event, or a list of removed mappings. */
union priv_in {
	struct priv_reply rp;
	struct priv_gone gone;
	char raw[sizeof(struct priv_gone) + 1];
};

struct priv {
	int fd;
	pid_t pid;
	uint32_t seq;
	struct priv_wan_done ev[PRIV_EVENT_QUEUE];
	size_t nev;
	struct priv_removed *gone;      /* PRIV_EVENT_GONE entries not yet taken */
	size_t ngone, capgone;
	union priv_in in;
	bool switch_user;
	struct caps_user user;
	char user_name[64];
	struct priv_req req;
	struct priv_pending pend[PRIV_INFLIGHT_MAX];    /* in the order sent */
	size_t npend;
};

int priv_fd(const struct priv *p)
{
	return p->fd;
}

pid_t priv_pid(const struct priv *p)
{
	return p->pid;
}

/* ---- start-up ---- */

/* The interfaces asked for, and the first (primary) IPv4 address's
 * prefix found on each. */
struct lans_dump {
	unsigned ifindex[IGDD_CONF_MAX_LANS];   /* 0: no such interface */
	struct priv_lan_net net[IGDD_CONF_MAX_LANS];
	bool have[IGDD_CONF_MAX_LANS];
	size_t n;
};

/* One RTM_NEWADDR of the dump. */
static int lans_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lans_dump *d = data;
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	struct in_addr local = { 0 }, address = { 0 };
	bool have_local = false, have_address = false;
	uint32_t mask;
	size_t i;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET || (ifa->ifa_flags & IFA_F_SECONDARY) ||
	    ifa->ifa_prefixlen == 0 || ifa->ifa_prefixlen > 32)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_payload_len(a) != sizeof(struct in_addr))
			continue;
		if (mnl_attr_get_type(a) == IFA_LOCAL) {
			memcpy(&local, mnl_attr_get_payload(a), sizeof(local));
			have_local = true;
		} else if (mnl_attr_get_type(a) == IFA_ADDRESS) {
			memcpy(&address, mnl_attr_get_payload(a), sizeof(address));
			have_address = true;
		}
	}
	if (!have_local && !have_address)
		return MNL_CB_OK;
	mask = htonl(UINT32_MAX << (32 - ifa->ifa_prefixlen));
	for (i = 0; i < d->n; i++) {
		if (d->have[i] || d->ifindex[i] == 0 || d->ifindex[i] != ifa->ifa_index)
			continue;
		d->net[i].net.s_addr = (have_local ? local : address).s_addr & mask;
		d->net[i].plen = ifa->ifa_prefixlen;
		d->net[i].index = (unsigned)i;
		d->have[i] = true;
	}
	return MNL_CB_OK;
}

/* The LANs' global IPv6 prefixes and every IPv6 address of the gateway
 * (pinholes: priv_msg.h). */
static void lan_prefixes6(const char (*names)[IF_NAMESIZE], size_t n, struct priv_policy *pol)
{
	struct ifaddrs *list = NULL, *ifa;
	size_t i;

	if (getifaddrs(&list) < 0)
		return;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in6 *a = (const void *)ifa->ifa_addr;
		const struct sockaddr_in6 *m = (const void *)ifa->ifa_netmask;
		struct priv_lan_net6 net;
		unsigned b;

		if (!a || a->sin6_family != AF_INET6)
			continue;
		if (pol->nown6 < PRIV_MAX_OWN6)
			pol->own6[pol->nown6++] = a->sin6_addr;
		else
			pol->own6_overflow = true;
		if (!m || !in6_is_unicast_global(&a->sin6_addr) || in6_is_ula(&a->sin6_addr))
			continue;
		for (i = 0; i < n && strcmp(names[i], ifa->ifa_name) != 0; i++)
			;
		if (i == n || pol->nlan6 >= PRIV_MAX_NET6)
			continue;
		memset(&net, 0, sizeof(net));
		for (b = 0; b < 128 && (m->sin6_addr.s6_addr[b / 8] & (0x80u >> (b % 8))); b++)
			net.net.s6_addr[b / 8] |= a->sin6_addr.s6_addr[b / 8] & (0x80u >> (b % 8));
		net.plen = b;
		if (b == 0)
			continue;
		for (i = 0; i < pol->nlan6; i++)
			if (pol->lan6[i].plen == b && IN6_ARE_ADDR_EQUAL(&pol->lan6[i].net, &net.net))
				break;
		if (i == pol->nlan6)
			pol->lan6[pol->nlan6++] = net;
	}
	freeifaddrs(list);
}

int priv_read_lans(const char (*names)[IF_NAMESIZE], size_t n, struct priv_policy *ret)
{
	struct priv_policy pol;
	struct lans_dump d;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	char *buf = malloc(PRIV_LANS_BUF);
	size_t i;
	int r;

	memset(&pol, 0, sizeof(pol));
	memset(&d, 0, sizeof(d));
	*ret = pol;
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n && i < IGDD_CONF_MAX_LANS; i++)
		d.ifindex[i] = if_nametoindex(names[i]);
	d.n = i;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	r = rtnl_request(nlh, buf, PRIV_LANS_BUF, PRIV_LANS_TIMEOUT_MS, lans_addr_cb, &d);
	free(buf);
	if (r < 0)
		return r;
	for (i = 0; i < d.n; i++)
		if (d.have[i])
			pol.lan[pol.nlan++] = d.net[i];
	lan_prefixes6(names, n < IGDD_CONF_MAX_LANS ? n : IGDD_CONF_MAX_LANS, &pol);
	*ret = pol;
	return pol.nlan ? 0 : -EADDRNOTAVAIL;
}

/* Whom to become: cfg->user (the default falls back to "nobody"), when
 * started as root. */
static int resolve_user(struct priv *p, const struct config *cfg)
{
	const char *name = cfg->user;
	int r;

	if (geteuid() != 0) {
		struct caps_user u;

		/* Started as `user` already (the unit's User=): nothing to switch. */
		if (caps_lookup_user(name, &u) == 0 && u.uid == geteuid())
			snprintf(p->user_name, sizeof(p->user_name), "%s", name);
		else
			log_info("not started as root: staying uid %ld (user '%s' not used)",
				 (long)geteuid(), name);
		return 0;
	}
	r = caps_lookup_user(name, &p->user);
	if (r == -ENOENT && !cfg->have_user) {
		name = PRIV_FALLBACK_USER;
		r = caps_lookup_user(name, &p->user);
		if (r == 0)
			log_warnx("user '%s' does not exist: running as '%s' (see docs/NFT.md)",
				  cfg->user, name);
	}
	if (r < 0) {
		log_warnx("user '%s': %s", name, r == -ENOENT ? "no such user" : strerror(-r));
		return r;
	}
	if (p->user.uid == 0) {
		log_warnx("user '%s' is root: choose an unprivileged user", name);
		return -EINVAL;
	}
	p->switch_user = true;
	snprintf(p->user_name, sizeof(p->user_name), "%s", name);
	return 0;
}

/* The helper's own copy of the policy, from the configuration the
 * engine read at start (before it read anything from the network). */
static int guard_conf(const struct config *cfg, const char *conf_path, struct guard_conf *gc)
{
	char err[256];
	int r;

	memcpy(gc->lan_if, cfg->lan_interface, sizeof(gc->lan_if));
	gc->nlan_if = cfg->nlans;
	r = priv_read_lans((const char (*)[IF_NAMESIZE])gc->lan_if, gc->nlan_if, &gc->policy);
	if (r < 0) {
		log_warnx("lan_interface: %s", r == -EADDRNOTAVAIL ? "no LAN has an IPv4 address" :
			  strerror(-r));
		return r;
	}
	gc->ports = config_policy_new(cfg, err, sizeof(err));
	if (!gc->ports) {
		log_warnx("%s", err);
		return -EINVAL;
	}
	memcpy(gc->wan_if, cfg->wan_interface, sizeof(gc->wan_if));
	gc->have_external_ip = cfg->have_external_ip;
	gc->external_ip = cfg->external_ip;
	if (conf_path && snprintf(gc->conf_path, sizeof(gc->conf_path), "%s", conf_path) >=
			 (int)sizeof(gc->conf_path))
		gc->conf_path[0] = '\0';
	gc->max_grants = PRIV_MAX_GRANTS;
	return 0;
}

_Static_assert(CONFIG_NFT_TABLE_MAX == NFT_TABLE_NAME_MAX, "nft table names: one size");

static int helper_conf(const struct priv *p, const struct config *cfg, const char *conf_path,
		       bool foreground, struct priv_helper_conf *hc)
{
	int r;

	memset(hc, 0, sizeof(*hc));
	if (!nft_ifname_ok(cfg->wan_interface)) {
		log_warnx("wan_interface '%s': nft rules take only letters, digits, '.', '_' and '-'",
			  cfg->wan_interface);
		return -EINVAL;
	}
	r = guard_conf(cfg, conf_path, &hc->guard);
	if (r < 0)
		return r;
	memcpy(hc->table.wan_if, cfg->wan_interface, sizeof(hc->table.wan_if));
	hc->table.hairpin = cfg->nft_hairpin;
	/* Hairpin masquerading covers the first LAN's prefix (docs/NFT.md). */
	hc->table.lan_net = hc->guard.policy.lan[0].net;
	hc->table.lan_plen = hc->guard.policy.lan[0].plen;
	hc->max_mappings = cfg->max_mappings;
	hc->have_external_ip = cfg->have_external_ip;
	hc->external_ip = cfg->external_ip;
	hc->switch_user = p->switch_user;
	hc->user = p->user;
	hc->foreground = foreground;
	hc->check_interval_ms = PRIV_CHECK_INTERVAL_MS;
	hc->parent = (int)getpid();
	memcpy(hc->wan_up_command, cfg->wan_up_command, sizeof(hc->wan_up_command));
	memcpy(hc->wan_down_command, cfg->wan_down_command, sizeof(hc->wan_down_command));
	memcpy(hc->nft_table, cfg->nft_table, sizeof(hc->nft_table));
	memcpy(hc->nft_table6, cfg->nft_table6, sizeof(hc->nft_table6));
	return 0;
}

/* ---- replies ---- */

/* An event from the helper (PRIV_KIND_WAN_DONE): queued for
 * priv_event_take(). */
static void keep_event(struct priv *p, const struct priv_reply *rp)
{
	if (p->nev == PRIV_EVENT_QUEUE) {
		log_warnx("helper: event queue full: event of request %u dropped", p->ev[0].seq);
		memmove(&p->ev[0], &p->ev[1], sizeof(p->ev[0]) * (PRIV_EVENT_QUEUE - 1));
		p->nev--;
	}
	p->ev[p->nev].seq = rp->seq;
	p->ev[p->nev].op = (enum priv_op)rp->op;
	p->ev[p->nev].status = rp->status;
	p->nev++;
}

/* Mappings the helper removed: kept for priv_removed_take(). */
static void keep_gone(struct priv *p, const struct priv_gone *g)
{
	size_t i, n = g->h.count;

	if (p->ngone + n > PRIV_GONE_KEEP) {
		log_warnx("helper: a list of %zu removed mappings dropped", n);
		return;
	}
	if (p->ngone + n > p->capgone) {
		size_t cap = p->capgone ? p->capgone * 2 : 64;
		struct priv_removed *v;

		while (cap < p->ngone + n)
			cap *= 2;
		v = realloc(p->gone, cap * sizeof(*v));
		if (!v) {
			log_warnx("helper: out of memory: %zu removed mappings not reported", n);
			return;
		}
		p->gone = v;
		p->capgone = cap;
	}
	for (i = 0; i < n; i++) {
		p->gone[p->ngone].e = g->e[i];
		p->gone[p->ngone++].why = g->h.status;
	}
}

/* ---- requests in flight ---- */

static int pend_push(struct priv *p, uint32_t seq, uint64_t deadline, priv_done_fn done,
		     void *arg)
{
	if (p->npend == PRIV_INFLIGHT_MAX)
		return -EBUSY;
	p->pend[p->npend].seq = seq;
	p->pend[p->npend].deadline = deadline;
	p->pend[p->npend].done = done;
	p->pend[p->npend].arg = arg;
	p->npend++;
	return 0;
}

/* Take the i-th entry out of the list and complete it with res. */
static void pend_complete(struct priv *p, size_t i, const struct priv_result *res)
{
	struct priv_pending pe = p->pend[i];

	memmove(&p->pend[i], &p->pend[i + 1], sizeof(p->pend[0]) * (p->npend - i - 1));
	p->npend--;
	if (pe.done)
		pe.done(pe.arg, pe.seq, res);
}

/* Complete the entries whose deadline passed, or all with -EPIPE. */
static void pend_fail(struct priv *p, uint64_t now, int err)
{
	struct priv_result res = { .status = err };
	size_t i = 0;

	while (i < p->npend) {
		if (err == -EPIPE || p->pend[i].deadline <= now)
			pend_complete(p, i, &res);
		else
			i++;
	}
}

/*
 * One message from the helper (n bytes in p->in): events are kept, a
 * reply completes its request.
 */
static void on_message(struct priv *p, ssize_t n)
{
	const struct priv_reply *rp = &p->in.rp;
	struct priv_result res;
	size_t i;

	switch (priv_msg_kind(p->in.raw, (size_t)n)) {
	case PRIV_KIND_GONE:
		keep_gone(p, &p->in.gone);
		return;
	case PRIV_KIND_WAN_DONE:
		keep_event(p, rp);
		return;
	case PRIV_KIND_BAD:
		log_warnx("helper: malformed message (%zd bytes) dropped", n);
		return;
	case PRIV_KIND_REPLY:
		break;
	}
	for (i = 0; i < p->npend; i++)
		if (p->pend[i].seq == rp->seq)
			break;
	if (i == p->npend) {
		log_warnx("helper: late reply to request %u (status %d) dropped", rp->seq,
			  (int)rp->status);
		return;
	}
	res.status = rp->status;
	res.count = rp->count;
	res.value = rp->value;
	pend_complete(p, i, &res);
}

/* Read what the helper sent; 0 when nothing more waits, -EPIPE at its
 * end (every request in flight failed with it). */
static int read_messages(struct priv *p)
{
	ssize_t n;

	for (;;) {
		n = recv(p->fd, p->in.raw, sizeof(p->in.raw), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			pend_fail(p, 0, -EPIPE);
			return -EPIPE;
		}
		on_message(p, n);
	}
}

/* A synchronous caller's completion. */
struct priv_wait {
	bool done;
	struct priv_result res;
};

static void wait_done(void *arg, uint32_t seq, const struct priv_result *res)
{
	struct priv_wait *w = arg;

	(void)seq;
	w->done = true;
	w->res = *res;
}

/* Wait until w completes (NULL: until no request is in flight): its
 * reply, its deadline (-ETIMEDOUT) or the helper's end (-EPIPE). */
static int wait_for(struct priv *p, struct priv_wait *w)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	uint64_t now, next;

	while (w ? !w->done : p->npend > 0) {
		now = clock_monotonic_ms(NULL);
		next = priv_next_deadline(p);
		if (next <= now) {
			pend_fail(p, now, -ETIMEDOUT);
			continue;
		}
		if (poll(&pfd, 1, (int)(next - now)) < 0 && errno != EINTR) {
			pend_fail(p, 0, -EPIPE);
			break;
		}
		(void)read_messages(p);
	}
	return w ? w->res.status : 0;
}

void priv_wait_all(struct priv *p)
{
	(void)wait_for(p, NULL);
}

uint64_t priv_next_deadline(const struct priv *p)
{
	/* Deadlines are the send time + one constant: the first is the
	 * earliest (the start-up report's is the only other kind, and it
	 * is alone). */
	return p->npend ? p->pend[0].deadline : UINT64_MAX;
}

size_t priv_inflight(const struct priv *p)
{
	return p->npend;
}

void priv_expire(struct priv *p, uint64_t now)
{
	pend_fail(p, now, -ETIMEDOUT);
}

bool priv_event_pending(const struct priv *p)
{
	return p->nev > 0 || p->ngone > 0;
}

int priv_event_take(struct priv *p, struct priv_wan_done *ret)
{
	if (p->nev == 0)
		return -EAGAIN;
	*ret = p->ev[0];
	memmove(&p->ev[0], &p->ev[1], sizeof(p->ev[0]) * (p->nev - 1));
	p->nev--;
	return 0;
}

size_t priv_removed_take(struct priv *p, struct priv_removed *out, size_t max)
{
	size_t n = p->ngone < max ? p->ngone : max;

	if (n == 0)
		return 0;               /* p->gone may not exist yet */
	memcpy(out, p->gone, n * sizeof(*out));
	memmove(p->gone, p->gone + n, (p->ngone - n) * sizeof(*out));
	p->ngone -= n;
	return n;
}

static void reap(pid_t pid, unsigned wait_ms)
{
	unsigned waited = 0;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (waited >= wait_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		nanosleep(&ts, NULL);
		waited += 10;
	}
}

int priv_start(const struct config *cfg, const char *conf_path, bool foreground,
	       struct priv **ret)
{
	struct priv_helper_conf hc;
	struct priv *p = calloc(1, sizeof(*p));
	int sv[2], r;

	if (!p)
		return -ENOMEM;
	p->fd = -1;
	memset(&hc, 0, sizeof(hc));
	if ((r = resolve_user(p, cfg)) < 0 ||
	    (r = helper_conf(p, cfg, conf_path, foreground, &hc)) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		log_warn("socketpair");
		goto fail;
	}
	p->pid = fork();
	if (p->pid < 0) {
		r = -errno;
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (p->pid == 0) {
		close(sv[0]);
		priv_helper_run(&hc, sv[1]);
	}
	close(sv[1]);
	p->fd = sv[0];
	{
		struct priv_wait w = { .done = false };

		r = pend_push(p, PRIV_SEQ_START, clock_monotonic_ms(NULL) + PRIV_START_TIMEOUT_MS,
			      wait_done, &w);
		if (r == 0)
			r = wait_for(p, &w);
	}
	if (r < 0) {
		log_warnx("the privileged helper did not start: %s", strerror(-r));
		goto fail;
	}
	log_info("privileged helper %ld is up (CAP_NET_ADMIN only)", (long)p->pid);
	policy_free(hc.guard.ports);    /* the helper's copy lives in the helper */
	*ret = p;
	return 0;
fail:
	policy_free(hc.guard.ports);
	priv_stop(p);
	return r;
}

int priv_drop_engine(const struct priv *p)
{
	const char *why = "?";
	int r;

	r = caps_drop(p->switch_user ? &p->user : NULL, 0, &why);
	if (r < 0) {
		log_warnx("cannot drop privileges: %s: %s", why, strerror(-r));
		return r;
	}
	if (p->user_name[0])
		log_info("running as user '%s' with no capabilities", p->user_name);
	else
		log_info("running as uid %ld with no capabilities", (long)getuid());
	return 0;
}

/* ---- requests ---- */

/* Send one request (with grant_fd, when not -1); done(arg) when it
 * completes. timeout_ms: how long to wait for room in the socket. */
static int send_req(struct priv *p, enum priv_op op, const struct priv_entry *v, size_t n,
		    int grant_fd, const struct nft_pin *pin, int timeout_ms, priv_done_fn done,
		    void *arg, uint32_t *ret_seq)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
	uint64_t deadline = clock_monotonic_ms(NULL) + PRIV_TIMEOUT_MS;
	bool waited = false;
	uint32_t seq;
	size_t i;
	int r;

	if (n > PRIV_BATCH_MAX)
		return -EINVAL;
	if (p->npend == PRIV_INFLIGHT_MAX)
		return -EBUSY;
	seq = p->seq + 1;
	if (seq == PRIV_SEQ_START)
		seq = 1;
	memset(&p->req, 0, sizeof(p->req));
	p->req.version = PRIV_MSG_VERSION;
	p->req.seq = seq;
	p->req.op = (uint16_t)op;
	p->req.count = (uint16_t)n;
	for (i = 0; i < n; i++)
		priv_entry_put(&p->req.e[i], &v[i]);
	if (pin)
		priv_pin_from_nft(pin, &p->req.pin);
	/* Try first: poll() reports a Unix socket writable only while a
	 * quarter of its buffer is in use, long before a send fails. */
	while (fdpass_send(p->fd, &p->req, sizeof(p->req), grant_fd,
			   MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(p->req)) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -EPIPE;
		if (timeout_ms <= 0)
			return -EBUSY;
		if (waited)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		waited = true;          /* one wait, then one more try */
	}
	p->seq = seq;
	(void)pend_push(p, seq, deadline, done, arg);   /* room checked above */
	if (ret_seq)
		*ret_seq = seq;
	return 0;
}

int priv_send(struct priv *p, const struct priv_send_args *a, priv_done_fn done, void *arg,
	      uint32_t *ret_seq)
{
	return send_req(p, a->op, a->v, a->n, a->grant_fd, a->pin, 0, done, arg, ret_seq);
}

/* Send one request and wait for its reply; *ret_seq (optional): its
 * sequence number. */
static int request(struct priv *p, enum priv_op op, const struct priv_entry *v, size_t n,
		   int grant_fd, const struct nft_pin *pin, size_t *ret_count, uint32_t *ret_seq,
		   uint64_t *ret_value)
{
	struct priv_wait w = { .done = false };
	int r;

	r = send_req(p, op, v, n, grant_fd, pin, PRIV_TIMEOUT_MS, wait_done, &w, ret_seq);
	if (r < 0)
		return r;
	r = wait_for(p, &w);
	if (ret_count)
		*ret_count = w.res.count;
	if (ret_value)
		*ret_value = w.res.value;
	return r;
}

int priv_call(struct priv *p, enum priv_op op, const struct priv_entry *v, size_t n,
	      size_t *ret_count)
{
	return request(p, op, v, n, -1, NULL, ret_count, NULL, NULL);
}

int priv_call_granted(struct priv *p, const struct priv_entry *e, int grant_fd, size_t *ret_count)
{
	return request(p, PRIV_OP_APPLY, e, 1, grant_fd, NULL, ret_count, NULL, NULL);
}

int priv_pin_call(struct priv *p, enum priv_op op, const struct nft_pin *pin, uint64_t *ret_value)
{
	if (op != PRIV_OP_PIN_ADD && op != PRIV_OP_PIN_DEL && op != PRIV_OP_PIN_PACKETS)
		return -EINVAL;
	return request(p, op, NULL, 0, -1, pin, NULL, NULL, ret_value);
}

int priv_wan_start(struct priv *p, enum priv_op op, uint32_t *ret_seq)
{
	uint32_t seq = 0;
	int r;

	if (op != PRIV_OP_WAN_UP && op != PRIV_OP_WAN_DOWN)
		return -EINVAL;
	r = request(p, op, NULL, 0, -1, NULL, NULL, &seq, NULL);
	if (r == 0)
		*ret_seq = seq;
	return r;
}

int priv_on_readable(struct priv *p)
{
	return read_messages(p);
}

struct priv *priv_attach(int fd)
{
	struct priv *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fd = fd;
	return p;
}

void priv_stop(struct priv *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	if (p->pid > 0)
		reap(p->pid, 3000);
	free(p->gone);
	free(p);
}

bool priv_engine_user(const struct priv *p, uid_t *ret_uid, gid_t *ret_gid)
{
	if (!p || !p->switch_user)
		return false;
	*ret_uid = p->user.uid;
	*ret_gid = p->user.gid;
	return true;
}
