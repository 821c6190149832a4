/*
 * priv.h - privilege separation for the nft backend
 * (docs/ARCHITECTURE.md rule 3; docs/NFT.md for admins).
 *
 * Two processes:
 *   - the engine (everything that reads the network) ends up as an
 *     unprivileged user (config `user`, default "igdd", "nobody" when
 *     that does not exist) with no capabilities at all;
 *   - the helper (priv/helper.h), forked by priv_start() before the
 *     engine reads any network input, keeps CAP_NET_ADMIN and nothing
 *     else, and is the only process that changes nftables.
 * They talk over a SOCK_SEQPACKET socketpair in fixed-size messages
 * (priv/priv_msg.h). If either dies the other exits: the helper on EOF
 * (or SIGTERM from PR_SET_PDEATHSIG), deleting table ip igdd; the engine
 * when priv_on_readable() reports EOF.
 *
 * Not started as root (systemd User= with AmbientCapabilities=
 * CAP_NET_ADMIN): no user is switched; the helper keeps CAP_NET_ADMIN
 * from what it was given and the engine drops it.
 */
#ifndef IGDD_PRIV_H
#define IGDD_PRIV_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "priv/nft_rules.h"
#include "priv/priv_msg.h"

struct config;
struct priv_entry;
struct priv;

#define PRIV_TIMEOUT_MS 5000            /* longest wait for one reply */
#define PRIV_START_TIMEOUT_MS 10000     /* for the helper's start-up report */
#define PRIV_CHECK_INTERVAL_MS 3000     /* the helper verifies the kernel's table */
#define PRIV_MAX_GRANTS 1024            /* admin mappings granted beyond the port policy */
#define PRIV_DEFAULT_USER "igdd"
#define PRIV_FALLBACK_USER "nobody"

/*
 * Fork the helper for cfg (backend nft): it drops to CAP_NET_ADMIN,
 * installs an empty table ip igdd (replacing a stale one) and reports.
 * The LAN prefixes it enforces are every lan_interface's IPv4 prefix,
 * read now and again whenever a request names a client outside them (a
 * LAN renumbered: priv_read_lans()); its port policy is cfg's, and
 * later conf_path's (the file cfg came from, which it reads again on
 * PRIV_OP_RELOAD and when it changes; NULL: none). foreground: the
 * helper keeps logging to stderr, else to syslog. Call before the
 * engine reads the network, and before any signal is routed through a
 * signalfd. *ret is the engine's end. 0 or -errno (logged).
 */
int priv_start(const struct config *cfg, const char *conf_path, bool foreground,
	       struct priv **ret);

/*
 * The IPv4 prefixes of the n interfaces named (each one's primary
 * address; those without one are left out) into *ret, as the kernel has
 * them now: one RTM_GETADDR dump (util/rtnl.h, the rtnetlink request
 * path priv/localaddr.c's reads share: util/nl.h). 0, -EADDRNOTAVAIL
 * when none has an IPv4 address, or another -errno (rtnetlink).
 */
int priv_read_lans(const char (*names)[IF_NAMESIZE], size_t n, struct priv_policy *ret);

/*
 * The engine gives up privilege for good: when running as root it
 * becomes the user priv_start() chose (cfg->user); it keeps no
 * capability. Call once its privileged
 * resources are open (sockets bound) and before it reads any input.
 * 0 or -errno (logged).
 */
int priv_drop_engine(const struct priv *p);

/*
 * The user the engine becomes in priv_drop_engine(): true and its ids
 * when started as root (a user switch), false when it keeps its uid.
 */
bool priv_engine_user(const struct priv *p, uid_t *ret_uid, gid_t *ret_gid);

int priv_fd(const struct priv *p);
pid_t priv_pid(const struct priv *p);

/*
 * One request (op, n <= PRIV_BATCH_MAX mappings) and its reply, waiting
 * at most PRIV_TIMEOUT_MS. The helper's status (0 or -errno: -EINVAL
 * refused by its policy, -ENOSPC its limit, -EIO nft failed),
 * -ETIMEDOUT, or -EPIPE when the helper is gone. ret_count (optional):
 * the mappings installed after it.
 */
int priv_call(struct priv *p, enum priv_op op, const struct priv_entry *v, size_t n,
	      size_t *ret_count);
/* The same for one IPv6 pinhole (PRIV_OP_PIN_ADD, _DEL, _PACKETS);
 * *ret_value (optional) gets the packet count of _PACKETS. */
struct nft_pin;
int priv_pin_call(struct priv *p, enum priv_op op, const struct nft_pin *pin, uint64_t *ret_value);

/*
 * PRIV_OP_APPLY of one admin mapping e with its grant (grant_fd: the
 * socket igddctl sent; priv_msg.h), which the helper checks and closes
 * on its side (the caller still closes its own). As priv_call(); the
 * helper answers -EACCES when the port policy refuses e and the grant
 * does not hold.
 */
int priv_call_granted(struct priv *p, const struct priv_entry *e, int grant_fd, size_t *ret_count);

/*
 * Start wan_up_command (op PRIV_OP_WAN_UP) or wan_down_command
 * (PRIV_OP_WAN_DOWN) in the helper, which runs the command of its own
 * configuration. 0 once it started (or waits for the one still running,
 * which it stops), with *ret_seq the request's sequence number, which
 * the command's PRIV_EVENT_WAN_DONE carries; -ENOTSUP when that command
 * is not configured; else as priv_call().
 */
int priv_wan_start(struct priv *p, enum priv_op op, uint32_t *ret_seq);

/*
 * Pipelined requests (priv.c): priv_send() sends one and returns at
 * once; the helper applies requests in the order sent and answers each.
 * done(arg, seq, res) runs once per request sent: with the helper's
 * reply (res->status as priv_call()'s, res->count, res->value), with
 * -ETIMEDOUT when no reply came within PRIV_TIMEOUT_MS (priv_expire()),
 * or with -EPIPE when the helper has gone. It runs from
 * priv_on_readable(), priv_expire(), or any synchronous call of this
 * file that reads the socket meanwhile, never from priv_send() itself.
 * At most PRIV_INFLIGHT_MAX requests are in flight (synchronous ones
 * included); priv_send() answers -EBUSY beyond, or when the socket has
 * no room, -EINVAL for a malformed request, -EPIPE when the helper has
 * gone (done is not called then).
 */
#define PRIV_INFLIGHT_MAX 8     /* below the kernel's queue of a Unix datagram or
                                 * seqpacket socket (net.unix.max_dgram_qlen, 10 by
                                 * default), so a request in bound finds room */

struct priv_result {
	int status;
	size_t count;
	uint64_t value;
};

typedef void (*priv_done_fn)(void *arg, uint32_t seq, const struct priv_result *res);

struct priv_send_args {
	enum priv_op op;
	const struct priv_entry *v;     /* n <= PRIV_BATCH_MAX entries */
	size_t n;
	int grant_fd;                   /* -1: none */
	const struct nft_pin *pin;      /* the pinhole ops, else NULL */
};

int priv_send(struct priv *p, const struct priv_send_args *a, priv_done_fn done, void *arg,
	      uint32_t *ret_seq);
/* Requests in flight; the earliest deadline among them (UINT64_MAX: none);
 * complete those whose deadline is <= now with -ETIMEDOUT. */
size_t priv_inflight(const struct priv *p);
uint64_t priv_next_deadline(const struct priv *p);
void priv_expire(struct priv *p, uint64_t now);
/* Block until no request is in flight (each completed: replied, timed
 * out, or -EPIPE); completions that send more requests are waited for too. */
void priv_wait_all(struct priv *p);

/* The engine's end over fd, a socket already connected to something
 * that speaks the helper's side (the unit tests' fake helper); no
 * process to wait for. priv_stop() closes fd. NULL: no memory. */
struct priv *priv_attach(int fd);

/* An event the helper sent (priv_msg.h), kept until taken. */
struct priv_wan_done {
	uint32_t seq;                   /* the request that started the command */
	enum priv_op op;                /* PRIV_OP_WAN_UP or PRIV_OP_WAN_DOWN */
	int status;                     /* enum priv_event PRIV_EVENT_WAN_DONE */
};

/* A mapping the helper removed by itself (PRIV_EVENT_GONE). */
struct priv_removed {
	struct priv_entry e;
	int why;                        /* -EADDRINUSE: the gateway itself uses the port;
	                                 * -EACCES: the reloaded port policy refuses it */
};

/* Events received (by priv_call() or priv_on_readable()) and not yet
 * taken (WAN commands' ends, removed mappings); the oldest first.
 * priv_event_take: 0, or -EAGAIN when none. priv_removed_take: at most
 * max removed mappings into out, how many. */
bool priv_event_pending(const struct priv *p);
int priv_event_take(struct priv *p, struct priv_wan_done *ret);
size_t priv_removed_take(struct priv *p, struct priv_removed *out, size_t max);

/* The socket became readable: keep events, complete the requests
 * answered, drop late replies. -EPIPE when the helper has gone (every
 * request in flight completed with it; the engine should exit), else 0. */
int priv_on_readable(struct priv *p);

/* Close the channel: the helper deletes table ip igdd and exits; wait
 * for it (at most 3 s, then SIGKILL). Requests still in flight are
 * dropped without completion. NULL is a no-op. */
void priv_stop(struct priv *p);

#endif
