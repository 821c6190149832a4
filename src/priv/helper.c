/*
 * helper.c - the privileged helper process (see helper.h).
 *
 * It trusts nothing the engine sends: a request must have exactly the
 * size of struct priv_req and pass priv/guard.h (the message's shape,
 * the LAN prefix, the port rules and ACL unless an admin grant comes
 * with it, none of the gateway's own addresses, no port the gateway
 * itself holds); the copy refuses more than max_mappings. The
 * socketpair itself is the sender check: nobody but the engine holds
 * its other end.
 *
 * Everything it runs is built by priv/nft_rules.c from numbers. A
 * change is one transaction; if the kernel refuses it (an element we
 * think exists is gone, the table was deleted), the whole table is
 * rebuilt from the copy in one transaction, which also applies the
 * change; only if that fails too is the request refused.
 *
 * Every check_interval_ms it also looks again at what it installed:
 * mappings on a port the gateway itself now holds go (the router
 * wins), and when the configuration file changed, the port policy is
 * read again and the mappings it refuses go; each removal is reported
 * to the engine as a PRIV_EVENT_GONE message and logged.
 */
#include "priv/helper.h"

#include "core/clock.h"
#include "priv/guard.h"
#include "priv/nft_pin.h"
#include "priv/nft_state.h"
#include "priv/nft_verify.h"
#include "priv/nftlib.h"
#include "priv/priv.h"
#include "util/buf.h"
#include "util/fdpass.h"
#include "util/log.h"
#include "util/ratelimit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELPER_CMD_MAX (64u << 20)      /* a full table of 131070 mappings is ~25 MB */
#define HELPER_CMD_STOP_MS 5000         /* a stopped WAN command gets SIGKILL after this */
#define HELPER_DROP_BATCH 1024          /* mappings removed in one transaction */
#define HELPER_SEND_TIMEOUT_S 10        /* an engine that reads nothing this long is gone */

/* The WAN command running (at most one), and the request waiting for it. */
struct helper_wan {
	pid_t pid;                      /* 0: none runs */
	uint32_t seq;                   /* the request that started it */
	uint16_t op;
	uint64_t deadline;              /* SIGKILL then (0: sent already) */
	int end;                        /* 0, or why it was stopped: -ECANCELED, -ETIMEDOUT */
	bool waiting;                   /* a newer request waits: next_seq, next_op */
	uint32_t next_seq;
	uint16_t next_op;
};

struct helper {
	const struct priv_helper_conf *c;
	int fd;
	int sigfd;
	struct nft_ctx *nft;
	struct nft_state *st;
	struct nft_verify *ver;
	struct buf cmd;
	struct in_addr hairpin[HELPER_MAX_HAIRPIN];
	size_t nhairpin;
	struct guard *guard;
	struct ratelimit rl_refused;    /* warnings about refused requests */
	bool verify_failing;            /* warned that verification does not work */
	bool router_failing;            /* warned that the router's ports cannot be read */
	uint64_t verify_ms;             /* how long the last read-back took */
	struct helper_wan wan;
	struct nft_pin *pins;           /* the IPv6 pinholes installed (table ip6 igdd) */
	size_t npins;
	uint64_t reply_value;           /* the value of the next reply (PRIV_OP_PIN_PACKETS) */
	bool pins_failing;              /* table ip6 igdd could not be made */
	union {
		struct priv_req req;
		char raw[sizeof(struct priv_req) + 1];
	} in;
	struct priv_gone gone;
};

/* ---- running nft ---- */

/* Run text as one transaction. 0 or -EIO (the error is logged at debug
 * level: the caller decides whether it matters). */
static int run(struct helper *h, const char *text)
{
	const char *err;
	char line[256];
	size_t n;

	if (nftlib_run_cmd_from_buffer(h->nft, text) == 0) {
		if (h->guard)
			guard_committed(h->guard);      /* our own generation */
		return 0;
	}
	err = nftlib_ctx_get_error_buffer(h->nft);
	if (!err)
		err = "";
	n = strcspn(err, "\n");
	log_debug("helper: nft: %s", log_escape(line, sizeof(line), err, n));
	return -EIO;
}

/* The addresses hairpinned traffic is sent to: the WAN interface's IPv4
 * addresses and the configured external_ip. */
static size_t hairpin_addrs(const struct helper *h, struct in_addr *out)
{
	struct ifaddrs *list = NULL, *ifa;
	size_t n = 0, i;

	if (h->c->have_external_ip)
		out[n++] = h->c->external_ip;
	if (getifaddrs(&list) < 0)
		return n;
	for (ifa = list; ifa && n < HELPER_MAX_HAIRPIN; ifa = ifa->ifa_next) {
		const struct sockaddr_in *a = (const void *)ifa->ifa_addr;

		if (!a || a->sin_family != AF_INET || strcmp(ifa->ifa_name, h->c->table.wan_if) != 0)
			continue;
		for (i = 0; i < n && out[i].s_addr != a->sin_addr.s_addr; i++)
			;
		if (i == n)
			out[n++] = a->sin_addr;
	}
	freeifaddrs(list);
	return n;
}

/* table ip6 igdd and every pinhole of the copy, appended to h->cmd. */
static int pins_dump(struct helper *h)
{
	size_t i;
	int r = nft_pin_table(&h->cmd, h->c->table.wan_if);

	for (i = 0; r == 0 && i < h->npins; i++)
		r = nft_pin_elem(&h->cmd, true, &h->pins[i]);
	return r;
}

/* table ip6 igdd with the copy's pinholes, in a transaction of its own:
 * a kernel without IPv6 nf_tables keeps its IPv4 mappings (pinholes are
 * then refused, -EOPNOTSUPP, and the failure logged once). */
static int pins_rebuild(struct helper *h)
{
	int r;

	buf_reset(&h->cmd);
	r = pins_dump(h);
	if (r == 0)
		r = run(h, h->cmd.p);
	if (r < 0 && !h->pins_failing)
		log_warnx("helper: cannot make table ip6 %s: IPv6 pinholes refused (%s)",
			  nft_pin_table_name(), nftlib_ctx_get_error_buffer(h->nft));
	h->pins_failing = r < 0;
	return r;
}

/* Rebuild the whole table from the copy in one transaction (then the
 * pinholes' table in another). */
static int rebuild(struct helper *h)
{
	int r;

	buf_reset(&h->cmd);
	r = nft_rules_table(&h->cmd, &h->c->table);
	if (r == 0)
		r = nft_state_dump(h->st, &h->cmd);
	if (r == 0 && h->c->table.hairpin) {
		h->nhairpin = hairpin_addrs(h, h->hairpin);
		r = nft_rules_hairpin(&h->cmd, h->hairpin, h->nhairpin);
	}
	if (r == 0)
		r = run(h, h->cmd.p);
	if (r == 0)
		pins_rebuild(h);
	return r;
}

/* Hairpin: follow the WAN address (checked with the table). */
static void hairpin_refresh(struct helper *h)
{
	struct in_addr now[HELPER_MAX_HAIRPIN];
	size_t n;

	if (!h->c->table.hairpin)
		return;
	n = hairpin_addrs(h, now);
	if (n == h->nhairpin && memcmp(now, h->hairpin, n * sizeof(now[0])) == 0)
		return;
	buf_reset(&h->cmd);
	if (nft_rules_hairpin(&h->cmd, now, n) == 0 && run(h, h->cmd.p) == 0) {
		memcpy(h->hairpin, now, n * sizeof(now[0]));
		h->nhairpin = n;
		log_info("helper: hairpin addresses updated (%zu)", n);
	}
}

/* ---- verifying ---- */

static unsigned verified_sets(const struct helper *h)
{
	unsigned sets = (1u << NFT_SET_HAIRPIN) - 1;

	return h->c->table.hairpin ? sets | 1u << NFT_SET_HAIRPIN : sets;
}

/* Count the non-overlapping occurrences of word in text. */
static size_t count_words(const char *text, const char *word)
{
	size_t n = 0, len = strlen(word);

	while (text && (text = strstr(text, word)) != NULL) {
		n++;
		text += len;
	}
	return n;
}

/* Does table ip6 igdd hold the copy's pinholes and its rules? NULL, or
 * what is wrong. */
static const char *pins_problem(struct helper *h)
{
	static char what[96 + NFT_TABLE_NAME_MAX];
	const char *out;
	char cmd[32 + NFT_TABLE_NAME_MAX];

	if (h->pins_failing)
		return NULL;            /* logged once; a pinhole request tries again */
	snprintf(cmd, sizeof(cmd), "list table %s %s", NFT_PIN_FAMILY, nft_pin_table_name());
	out = run(h, cmd) < 0 ? NULL : nftlib_ctx_get_output_buffer(h->nft);
	if (!out)
		snprintf(what, sizeof(what), "table ip6 %s is gone", nft_pin_table_name());
	else if (count_words(out, "meta mark set") != NFT_PIN_RULES)
		snprintf(what, sizeof(what), "the rules of table ip6 %s changed",
			 nft_pin_table_name());
	else if (count_words(out, "counter packets ") != h->npins)
		snprintf(what, sizeof(what), "the pinholes of table ip6 %s changed",
			 nft_pin_table_name());
	else
		return NULL;
	return what;
}

/*
 * Does the kernel still hold what the copy says? When not (the ruleset
 * was flushed, a firewall reload, someone edited our table), rebuild it
 * and say so.
 */
static void check(struct helper *h)
{
	size_t want[NFT_NSETS], got[NFT_NSETS];
	uint64_t t0 = clock_monotonic_ms(NULL);
	unsigned rules = 0;
	static char gone[64 + NFT_TABLE_NAME_MAX];
	int r, s;
	const char *what = NULL;

	nft_state_counts(h->st, want);
	want[NFT_SET_HAIRPIN] = h->nhairpin;
	r = nft_verify_read(h->ver, verified_sets(h), &rules, got);
	h->verify_ms = clock_monotonic_ms(NULL) - t0;
	if (r == -ENOENT) {
		snprintf(gone, sizeof(gone), "table ip %s or one of its sets is gone",
			 nft_rules_table_name());
		what = gone;
	} else if (r < 0) {
		if (!h->verify_failing)
			log_warnx("helper: cannot read table ip %s back: %s", nft_rules_table_name(),
				  strerror(-r));
		h->verify_failing = true;
		return;
	} else if (rules != nft_rules_count(&h->c->table)) {
		what = "its rules changed";
	} else {
		for (s = 0; s < NFT_NSETS && !what; s++)
			if ((verified_sets(h) & 1u << s) && got[s] != want[s])
				what = "its elements changed";
	}
	h->verify_failing = false;
	if (!what)
		what = pins_problem(h);
	if (!what) {
		hairpin_refresh(h);
		return;
	}
	r = rebuild(h);
	if (r == 0)
		log_warnx("helper: %s (flushed or edited behind our back): recreated the table with %zu mappings",
			  what, nft_state_count(h->st));
	else
		log_warnx("helper: %s, and recreating the table failed", what);
}

/* ---- requests ---- */

/* PRIV_OP_PIN_*: the copy and the kernel in step; *ret_value the
 * packets of _PACKETS. */
static int handle_pin(struct helper *h, const struct priv_req *rq, uint64_t *ret_value)
{
	const struct nft_pin *p = &rq->pin;       /* priv_msg_check() passed it */
	size_t i;
	int r;

	if (h->pins_failing && pins_rebuild(h) < 0)
		return -EOPNOTSUPP;
	for (i = 0; i < h->npins && !nft_pin_eq(&h->pins[i], p); i++)
		;
	buf_reset(&h->cmd);
	switch (rq->op) {
	case PRIV_OP_PIN_ADD:
		if (i < h->npins)
			return 0;
		if (h->npins >= IGDD_MAX_PINHOLES)
			return -ENOSPC;
		r = nft_pin_elem(&h->cmd, true, p);
		if (r < 0)
			return r;
		h->pins[h->npins++] = *p;
		if (run(h, h->cmd.p) == 0)
			return 0;
		/* Refused: the table is not what the copy says. Make it again
		 * with this pinhole; failing that, without it. */
		r = pins_rebuild(h);
		if (r < 0)
			h->npins--;
		return r;
	case PRIV_OP_PIN_DEL:
		if (i == h->npins)
			return 0;
		h->pins[i] = h->pins[--h->npins];
		r = nft_pin_elem(&h->cmd, false, p);
		if (r == 0 && run(h, h->cmd.p) < 0)
			r = pins_rebuild(h);    /* the copy is the truth: without it */
		return r;
	default:
		if (i == h->npins)
			return -ENOENT;
		r = nft_pin_get(&h->cmd, p);
		if (r == 0)
			r = run(h, h->cmd.p);
		if (r == 0)
			r = nft_pin_parse_packets(nftlib_ctx_get_output_buffer(h->nft), ret_value);
		return r;
	}
}

/* Move the copy and the kernel by n mappings (op): one transaction, the
 * whole table rebuilt when the kernel refuses it. 0 or -errno. */
static int change(struct helper *h, enum nft_op op, const struct priv_entry *v, size_t n)
{
	int r;

	buf_reset(&h->cmd);
	r = nft_state_change(h->st, op, v, n, &h->cmd);
	if (r < 0)
		return r;
	if (h->cmd.len == 0 || run(h, h->cmd.p) == 0) {
		nft_state_commit(h->st);
		return 0;
	}
	/* Refused: the kernel is not what the copy says. Rebuild with the
	 * change; failing that, without it. */
	if (rebuild(h) == 0) {
		nft_state_commit(h->st);
		log_warnx("helper: table ip %s differed from our copy: recreated it with %zu mappings",
			  nft_rules_table_name(), nft_state_count(h->st));
		return 0;
	}
	nft_state_rollback(h->st);
	if (rebuild(h) < 0)
		log_warnx("helper: cannot recreate table ip %s", nft_rules_table_name());
	return -EIO;
}

static int handle(struct helper *h, const struct priv_req *rq, bool granted)
{
	size_t i;
	int r;

	if (rq->op == PRIV_OP_FLUSH) {
		nft_state_clear(h->st);
		guard_grant_clear(h->guard);
		h->npins = 0;
		return rebuild(h);
	}
	r = change(h, rq->op == PRIV_OP_APPLY ? NFT_ADD : NFT_DEL, rq->e, rq->count);
	for (i = 0; r == 0 && i < rq->count; i++)
		guard_grant_set(h->guard, &rq->e[i], granted && rq->op == PRIV_OP_APPLY);
	return r;
}

static int send_msg(struct helper *h, uint32_t seq, int status, enum priv_event event,
		    uint16_t op)
{
	struct priv_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.value = h->reply_value;
	h->reply_value = 0;
	rp.version = PRIV_MSG_VERSION;
	rp.seq = seq;
	rp.status = status;
	rp.count = h->st ? (uint32_t)nft_state_count(h->st) : 0;
	rp.event = (uint16_t)event;
	rp.op = op;
	if (send(h->fd, &rp, sizeof(rp), MSG_NOSIGNAL) != (ssize_t)sizeof(rp))
		return -errno;
	return 0;
}

static int reply(struct helper *h, uint32_t seq, int status)
{
	return send_msg(h, seq, status, PRIV_EVENT_NONE, 0);
}

/* ---- mappings the helper removes by itself ---- */

/* Tell the engine (PRIV_EVENT_GONE, PRIV_GONE_MAX at a time). */
static int send_gone(struct helper *h, const struct priv_entry *v, size_t n, int why)
{
	size_t i, k;

	for (i = 0; i < n; i += k) {
		memset(&h->gone, 0, sizeof(h->gone));
		h->gone.h.version = PRIV_MSG_VERSION;
		h->gone.h.status = why;
		h->gone.h.event = PRIV_EVENT_GONE;
		for (k = 0; k < PRIV_GONE_MAX && i + k < n; k++)
			priv_entry_put(&h->gone.e[k], &v[i + k]);
		h->gone.h.count = (uint32_t)k;
		if (send(h->fd, &h->gone, sizeof(h->gone), MSG_NOSIGNAL) != (ssize_t)sizeof(h->gone))
			return -errno;
	}
	return 0;
}

/* Remove n mappings of the copy and the kernel, and tell the engine why
 * (-EADDRINUSE: the gateway's own port; -EACCES: the policy). 0, or
 * -EPIPE when the engine is gone. */
static int drop(struct helper *h, const struct priv_entry *v, size_t n, int why)
{
	size_t i, j, k;
	int r;

	for (i = 0; i < n; i += k) {
		k = n - i;
		if (k > HELPER_DROP_BATCH)
			k = HELPER_DROP_BATCH;
		r = change(h, NFT_DEL, v + i, k);
		if (r < 0) {
			log_warnx("helper: cannot remove %zu mappings: %s", k, strerror(-r));
			continue;
		}
		for (j = 0; j < k; j++)
			guard_grant_set(h->guard, &v[i + j], false);
		if (send_gone(h, v + i, k, why) < 0)
			return -EPIPE;
	}
	return 0;
}

/* The router wins: mappings on a port the gateway itself now holds go. */
static int router_check(struct helper *h)
{
	struct portset *held = malloc(2 * sizeof(*held));
	struct priv_entry *v = NULL;
	size_t n = 0, cap = 0, got;
	int p, proto, r;

	if (!held)
		return 0;
	r = guard_router_ports(h->guard, &held[0], &held[1]);
	if (r < 0) {
		if (!h->router_failing)
			log_warnx("helper: cannot read the gateway's own ports: %s", strerror(-r));
		h->router_failing = true;
		free(held);
		return 0;
	}
	h->router_failing = false;
	for (proto = 0; proto < 2; proto++) {
		for (p = portset_next(&held[proto], 1); p > 0; p = portset_next(&held[proto], (uint32_t)p + 1)) {
			struct priv_entry at[64];

			got = nft_state_at_port(h->st, proto ? IPPROTO_UDP : IPPROTO_TCP, (uint16_t)p, at, 64);
			if (got == 0)
				continue;
			if (n + got > cap) {
				struct priv_entry *nv = realloc(v, (cap + got + 64) * sizeof(*v));

				if (!nv)
					break;
				v = nv;
				cap += got + 64;
			}
			memcpy(v + n, at, got * sizeof(*v));
			n += got;
			log_warnx("helper: the gateway itself now uses %s/%d: its %zu mapping%s removed",
				  proto ? "UDP" : "TCP", p, got, got == 1 ? "" : "s");
		}
	}
	r = n ? drop(h, v, n, -EADDRINUSE) : 0;
	free(v);
	free(held);
	return r;
}

/* The port policy changed: the mappings it refuses now go (granted ones
 * stay). */
static int policy_check_all(struct helper *h)
{
	size_t n = nft_state_count(h->st), i, k = 0;
	struct priv_entry *v = calloc(n ? n : 1, sizeof(*v));
	int r;

	if (!v)
		return 0;
	n = nft_state_list(h->st, v, n);
	for (i = 0; i < n; i++)
		if (!guard_allows(h->guard, &v[i]))
			v[k++] = v[i];
	if (k)
		log_warnx("helper: the port policy now refuses %zu installed mapping%s: removed", k,
			  k == 1 ? "" : "s");
	r = k ? drop(h, v, k, -EACCES) : 0;
	free(v);
	return r;
}

/* Read the policy again (when_changed: only if the file changed) and
 * apply it. The status for PRIV_OP_RELOAD; -EPIPE when the engine is gone. */
static int reload_policy(struct helper *h, bool when_changed)
{
	int r = guard_reload(h->guard, when_changed);

	if (r > 0 && policy_check_all(h) < 0)
		return -EPIPE;
	return r < 0 ? r : 0;
}

/* ---- the admin's WAN commands ---- */

static const char *wan_key(uint16_t op)
{
	return op == PRIV_OP_WAN_UP ? "wan_up_command" : "wan_down_command";
}

static void close_others(int keep);

/* The child: the configured line split on spaces, run without a shell,
 * with CAP_NET_ADMIN as its only capability. Never returns. */
static void wan_exec(const char *line)
{
	char buf[CONFIG_WAN_COMMAND_MAX], path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	char *argv[CONFIG_WAN_COMMAND_ARGS + 1], *envp[] = { path, NULL }, *s = buf;
	sigset_t none;
	size_t n = 0;
	int null;

	memcpy(buf, line, sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	while (*s && n < CONFIG_WAN_COMMAND_ARGS) {
		argv[n++] = s;
		s += strcspn(s, " ");
		if (*s)
			*s++ = '\0';
	}
	argv[n] = NULL;
	if (n == 0)                     /* the parser never lets this through */
		_exit(127);
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0)
		_exit(126);
	close_others(-1);
	if (caps_pass_on_exec(CAPS_BIT(CAP_NET_ADMIN)) < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Start the command of op. 0 or -errno (-ENOTSUP: not configured). */
static int wan_spawn(struct helper *h, uint32_t seq, uint16_t op)
{
	const char *line = op == PRIV_OP_WAN_UP ? h->c->wan_up_command : h->c->wan_down_command;
	pid_t pid;

	if (!line[0])
		return -ENOTSUP;
	pid = fork();
	if (pid < 0) {
		log_warn("helper: %s: fork", wan_key(op));
		return -errno;
	}
	if (pid == 0)
		wan_exec(line);
	setpgid(pid, pid);              /* also here: no race with a kill(-pid) */
	h->wan.pid = pid;
	h->wan.seq = seq;
	h->wan.op = op;
	h->wan.end = 0;
	h->wan.deadline = clock_monotonic_ms(NULL) + PRIV_WAN_CMD_TIMEOUT_MS;
	log_info("helper: %s started (pid %ld)", wan_key(op), (long)pid);
	return 0;
}

/* PRIV_OP_WAN_UP / DOWN: the status of the reply. A command still
 * running is stopped (SIGTERM to its group) and this one waits for it;
 * a request that was waiting already is answered ECANCELED. */
static int wan_request(struct helper *h, const struct priv_req *rq)
{
	const char *line = rq->op == PRIV_OP_WAN_UP ? h->c->wan_up_command :
			   h->c->wan_down_command;

	if (!line[0])
		return -ENOTSUP;
	if (h->wan.pid <= 0)
		return wan_spawn(h, rq->seq, rq->op);
	if (h->wan.waiting && send_msg(h, h->wan.next_seq, -ECANCELED, PRIV_EVENT_WAN_DONE,
				       h->wan.next_op) < 0)
		return -EPIPE;
	h->wan.waiting = true;
	h->wan.next_seq = rq->seq;
	h->wan.next_op = rq->op;
	if (h->wan.end == 0) {
		kill(-h->wan.pid, SIGTERM);
		h->wan.end = -ECANCELED;
		h->wan.deadline = clock_monotonic_ms(NULL) + HELPER_CMD_STOP_MS;
	}
	return 0;
}

/* How the command ended, logged. */
static int wan_status(const struct helper *h, int ws)
{
	const char *key = wan_key(h->wan.op);

	if (h->wan.end == -ETIMEDOUT)
		log_warnx("helper: %s killed after %u s", key, PRIV_WAN_CMD_TIMEOUT_MS / 1000);
	else if (h->wan.end < 0)
		log_info("helper: %s stopped for a newer request", key);
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		log_info("helper: %s done", key);
	else if (WIFEXITED(ws))
		log_warnx("helper: %s failed: exit status %d%s", key, WEXITSTATUS(ws),
			  WEXITSTATUS(ws) == 127 ? " (cannot execute it)" : "");
	else
		log_warnx("helper: %s failed: killed by signal %d", key,
			  WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	if (h->wan.end < 0)
		return h->wan.end;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : -EIO;
}

/* SIGCHLD: report the command that ended, start the one waiting. 0, or
 * -EPIPE when the engine is gone. */
static int wan_reap(struct helper *h)
{
	int ws = 0, r;

	if (h->wan.pid <= 0 || waitpid(h->wan.pid, &ws, WNOHANG) != h->wan.pid)
		return 0;
	h->wan.pid = 0;
	if (send_msg(h, h->wan.seq, wan_status(h, ws), PRIV_EVENT_WAN_DONE, h->wan.op) < 0)
		return -EPIPE;
	if (!h->wan.waiting)
		return 0;
	h->wan.waiting = false;
	r = wan_spawn(h, h->wan.next_seq, h->wan.next_op);
	if (r < 0 && send_msg(h, h->wan.next_seq, r, PRIV_EVENT_WAN_DONE, h->wan.next_op) < 0)
		return -EPIPE;
	return 0;
}

/* Past its deadline: SIGKILL to the command's process group. */
static void wan_timeout(struct helper *h, uint64_t now)
{
	if (h->wan.pid <= 0 || h->wan.deadline == 0 || now < h->wan.deadline)
		return;
	kill(-h->wan.pid, SIGKILL);
	kill(h->wan.pid, SIGKILL);
	if (h->wan.end == 0)
		h->wan.end = -ETIMEDOUT;
	h->wan.deadline = 0;
}

/* Read one request and the descriptor that came with it (*ret_fd, -1:
 * none). The length, 0 at EOF, or -errno. More than one descriptor, or
 * cut control data, makes the request malformed: *ret_bad. */
static ssize_t recv_req(struct helper *h, int *ret_fd, bool *ret_bad)
{
	ssize_t n = fdpass_recv(h->fd, h->in.raw, sizeof(h->in.raw), MSG_DONTWAIT, ret_fd, ret_bad);

	return n < 0 ? -errno : n;
}

/* A refusal: a port the gateway holds is a normal answer (debug); an
 * admin mapping that came with a grant is the admin's (info: igddctl
 * says why too); anything else means the engine asked for what no
 * request could obtain (a warning, rate-limited). */
static void log_refused(struct helper *h, int status, bool grant, const char *why)
{
	unsigned suppressed = 0;

	if (status == -EADDRINUSE) {
		log_debug("helper: refused: %s", why);
		return;
	}
	if (grant) {
		log_info("helper: an admin mapping refused: %s", why);
		return;
	}
	if (ratelimit_ok(&h->rl_refused, clock_monotonic_ms(NULL), &suppressed))
		log_warnx("helper: refused a request from the engine: %s%s", why,
			  suppressed ? " (and more not logged)" : "");
}

/* One request from the engine. 0 to go on, -EPIPE when it is gone. */
static int receive(struct helper *h)
{
	const char *why = "?";
	bool bad, grant, granted = false;
	int status, fd;
	ssize_t n;

	n = recv_req(h, &fd, &bad);
	if (n < 0)
		return n == -EINTR || n == -EAGAIN ? 0 : -EPIPE;
	if (n == 0) {
		if (fd >= 0)
			close(fd);
		return -EPIPE;
	}
	grant = fd >= 0 && !bad;
	if (bad) {
		if (fd >= 0)
			close(fd);
		why = "unexpected control data, or a message too long";
		status = -EINVAL;
	} else {
		status = guard_request(h->guard, h->in.raw, (size_t)n, fd, &granted, &why);
	}
	if (status < 0) {
		log_refused(h, status, grant, why);
	} else {
		if (h->in.req.op == PRIV_OP_WAN_UP || h->in.req.op == PRIV_OP_WAN_DOWN)
			status = wan_request(h, &h->in.req);
		else if (h->in.req.op >= PRIV_OP_PIN_ADD && h->in.req.op <= PRIV_OP_PIN_PACKETS)
			status = handle_pin(h, &h->in.req, &h->reply_value);
		else if (h->in.req.op == PRIV_OP_RELOAD)
			status = reload_policy(h, false);
		else
			status = handle(h, &h->in.req, granted);
		if (status == -EPIPE)
			return -EPIPE;
		if (status < 0)
			log_debug("helper: request %u failed: %s", h->in.req.seq, strerror(-status));
		else if (granted)
			log_info("helper: an admin mapping beyond the port policy, granted by root, "
				 "installed (%s/%u)", h->in.req.e[0].proto == IPPROTO_UDP ? "UDP" : "TCP",
				 (unsigned)h->in.req.e[0].ext_port);
	}
	return reply(h, (size_t)n >= 8 ? h->in.req.seq : 0, status) < 0 ? -EPIPE : 0;
}

/* ---- start-up and the loop ---- */

/* Close every descriptor but 0-2 and keep (the helper must not hold the
 * engine's sockets, nor the daemonising pipe). */
static void close_others(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fd;

	if (!d) {
		for (fd = 3; fd < 1024; fd++)
			if (fd != keep)
				close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		fd = (int)strtol(de->d_name, NULL, 10);
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd > 2 && fd != keep &&
		    fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

static void detach(const struct priv_helper_conf *c)
{
	if (c->foreground)
		return;
	log_detach_stdio();
	log_init("igdd", 0, log_get_verbose());
}

/* SIGTERM and SIGCHLD (a WAN command ended) through a signalfd; SIGINT
 * and SIGHUP belong to the engine. */
static int signals(void)
{
	sigset_t set;

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_SETMASK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int setup(struct helper *h, const struct priv_helper_conf *c, int fd)
{
	struct timeval stuck = { HELPER_SEND_TIMEOUT_S, 0 };
	const char *why = "?";
	int r;

	memset(h, 0, sizeof(*h));
	h->c = c;
	h->fd = fd;
	/* The tables' names, from the configuration read at start (never from
	 * a request: the engine cannot point the helper at another table). */
	if (nft_rules_set_table(c->nft_table) < 0 || nft_pin_set_table(c->nft_table6) < 0) {
		log_warnx("helper: invalid nft_table '%s' or nft_table6 '%s'", c->nft_table,
			  c->nft_table6);
		return -EINVAL;
	}
	buf_init(&h->cmd, HELPER_CMD_MAX);
	/* An engine that reads nothing of what we send for this long is
	 * taken for gone (we then delete the table and exit): it cannot
	 * hold the periodic check, and the router's ports, hostage. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stuck, sizeof(stuck)) < 0)
		return -errno;
	h->sigfd = signals();
	if (h->sigfd < 0)
		return h->sigfd;
	r = caps_drop(c->switch_user ? &c->user : NULL, CAPS_BIT(CAP_NET_ADMIN), &why);
	if (r < 0) {
		log_warnx("helper: cannot keep CAP_NET_ADMIN alone: %s: %s", why, strerror(-r));
		return r;
	}
	r = nftlib_load(&why);
	if (r < 0) {
		log_warnx("helper: %s", why);
		return r;
	}
	h->nft = nftlib_ctx_new(NFT_CTX_DEFAULT);
	h->st = nft_state_new(c->max_mappings);
	h->pins = calloc(IGDD_MAX_PINHOLES, sizeof(*h->pins));
	h->ver = nft_verify_new();
	h->guard = guard_new(&c->guard);
	h->rl_refused = RATELIMIT_INIT(10000, 5);
	if (!h->nft || !h->st || !h->ver || !h->guard || !h->pins)
		return -ENOMEM;
	nftlib_ctx_buffer_output(h->nft);
	nftlib_ctx_buffer_error(h->nft);
	r = rebuild(h);
	if (r < 0)
		log_warnx("helper: cannot create table ip %s: %s", nft_rules_table_name(),
			  nftlib_ctx_get_error_buffer(h->nft));
	return r;
}

/* The next check: check_interval_ms from now, or later when reading a
 * big table back takes long, so verifying stays under 1% of a CPU. */
static uint64_t next_check(const struct helper *h, uint64_t now)
{
	uint64_t wait = h->verify_ms * 100;

	return now + (wait > h->c->check_interval_ms ? wait : h->c->check_interval_ms);
}

/* The signals that arrived: -EINTR for SIGTERM, -EPIPE when the engine
 * is gone, else 0. */
static int on_signals(struct helper *h)
{
	struct signalfd_siginfo si;
	int r = 0;

	while (r == 0 && read(h->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM)
			r = -EINTR;
		else if (si.ssi_signo == SIGCHLD)
			r = wan_reap(h);
	}
	return r;
}

static void loop(struct helper *h)
{
	uint64_t next = clock_monotonic_ms(NULL) + h->c->check_interval_ms, now, wake;
	struct pollfd p[2];
	int r;

	for (;;) {
		now = clock_monotonic_ms(NULL);
		if (now >= next) {
			check(h);
			if (router_check(h) < 0 || reload_policy(h, true) == -EPIPE)
				return;
			now = clock_monotonic_ms(NULL);
			next = next_check(h, now);
		}
		wan_timeout(h, now);
		wake = h->wan.pid > 0 && h->wan.deadline && h->wan.deadline < next ?
		       h->wan.deadline : next;
		p[0].fd = h->fd;
		p[0].events = POLLIN;
		p[1].fd = h->sigfd;
		p[1].events = POLLIN;
		if (poll(p, 2, wake > now ? (int)(wake - now) : 0) < 0 && errno != EINTR)
			return;
		if ((p[1].revents & POLLIN) && (r = on_signals(h)) < 0) {
			if (r == -EINTR)
				log_info("helper: SIGTERM");
			return;
		}
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && receive(h) < 0)
			return;
	}
}

void priv_helper_run(const struct priv_helper_conf *c, int fd)
{
	struct helper h;
	int r;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != c->parent)
		_exit(1);
	close_others(fd);
	detach(c);
	r = setup(&h, c, fd);
	if (reply(&h, 0, r) < 0 || r < 0)
		_exit(1);
	log_debug("helper: ready, holding CAP_NET_ADMIN only");
	loop(&h);
	buf_reset(&h.cmd);
	nft_rules_delete_table(&h.cmd);
	if (run(&h, h.cmd.p) == 0)
		log_info("helper: table ip %s deleted", nft_rules_table_name());
	else
		log_warnx("helper: could not delete table ip %s", nft_rules_table_name());
	buf_reset(&h.cmd);
	nft_pin_delete_table(&h.cmd);
	if (run(&h, h.cmd.p) < 0)
		log_warnx("helper: could not delete table ip6 %s", nft_pin_table_name());
	_exit(0);
}
