/*
 * backend.h - the NAT backend interface (a vtable, like curl's Curl_ssl).
 *
 * The mapping table in core/ is the truth; a backend is its projection
 * into the kernel (nft) or into memory (sim). Backends see only validated
 * values (struct mapping), never request text.
 */
#ifndef IGDD_BACKEND_H
#define IGDD_BACKEND_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct clock;
struct config;
struct mapping;
struct pinhole;
struct backend;
struct priv;

/* What the backend knows of the WAN side. */
struct backend_wan {
	bool have_ip;
	struct in_addr external_ip;
	bool link_up;
	uint64_t bytes_sent, bytes_received;
	uint64_t packets_sent, packets_received;
	uint32_t up_bitrate, down_bitrate;      /* bits per second */
	char access_type[16];                   /* WANAccessType: Ethernet, DSL, ... */
};

/* What a backend reports about the WAN link, through b->on_link. */
enum backend_link_event {
	BACKEND_LINK_UP,                /* a wan_up() succeeded, or the link came up by itself */
	BACKEND_LINK_FAILED,            /* a wan_up() failed, or the up link was lost */
	BACKEND_LINK_DOWN_DONE,         /* a wan_down() finished */
};

/* Why a link failed or was lost (the engine maps it to LastConnectionError,
 * WANIPConnection:2 Table 2-5). */
enum backend_link_cause {
	BACKEND_CAUSE_NONE,             /* not known, or not a failure */
	BACKEND_CAUSE_NO_CARRIER,
	BACKEND_CAUSE_IP_CONFIGURATION,
	BACKEND_CAUSE_ISP_DISCONNECT,
};

typedef void (*backend_link_fn)(struct backend *b, enum backend_link_event ev,
				enum backend_link_cause cause, void *arg);

/* Why a backend took mappings away by itself (through b->on_gone). */
enum backend_gone_why {
	BACKEND_GONE_ROUTER_PORT,       /* the gateway itself now uses the external port */
	BACKEND_GONE_POLICY,            /* the nft helper's reloaded port policy refuses it */
};

/* A mapping taken away: by its key, or every mapping of the port. */
struct backend_gone {
	uint8_t proto;                  /* enum map_proto */
	uint16_t ext_port;
	bool whole_port;                /* every remote host of the port */
	struct in_addr remote_host;     /* the key's remote host (0: any) */
	enum backend_gone_why why;
};

typedef void (*backend_gone_fn)(struct backend *b, const struct backend_gone *v, size_t n,
				void *arg);

/* A change submitted to complete later (ops->submit). */
enum backend_job_op {
	BACKEND_JOB_APPLY,              /* v: the enabled ones installed, the others withdrawn
	                                 * (apply_many; one entry: apply / apply_granted) */
	BACKEND_JOB_REMOVE,             /* v withdrawn: remove_many, or all or none one by one */
	BACKEND_JOB_PIN_APPLY,          /* pin_apply(pin) */
	BACKEND_JOB_PIN_REMOVE,         /* pin_remove(pin) */
};

struct backend_job {
	enum backend_job_op op;
	const struct mapping *v;        /* read during the call only */
	size_t n;
	int grant_fd;                   /* APPLY of one entry: igddctl's grant, else -1 (borrowed) */
	const struct pinhole *pin;      /* the PIN_ ops (read during the call only) */
};

/* A submitted job ended: status 0 or -errno, as the synchronous form's. */
typedef void (*backend_done_fn)(struct backend *b, int status, void *arg);

struct backend_ops {
	const char *name;
	int (*init)(struct backend *b, const struct config *cfg);
	/*
	 * Add or replace the kernel state for m (atomic). 0 or -errno; the
	 * gateway keeps what is its own (docs/NFT.md, "Ports the gateway
	 * keeps"): -EADDRINUSE when the gateway itself holds m's external
	 * port (a socket of its own on the wildcard or a WAN address, a
	 * static forward of the firewall): the mapping must take another
	 * port; -EACCES when the backend's own copy of the policy refuses m
	 * (nft: the helper).
	 */
	int (*apply)(struct backend *b, const struct mapping *m);
	/*
	 * Optional: apply an admin mapping with the grant igddctl sent
	 * (grant_fd, borrowed; priv/priv_msg.h), which lets the nft helper
	 * install it beyond the port policy. NULL: apply.
	 */
	int (*apply_granted)(struct backend *b, const struct mapping *m, int grant_fd);
	/* Optional: the configuration was reloaded (nft: the helper reads its
	 * port policy from the file again). 0 or -errno. */
	int (*reload)(struct backend *b);
	int (*remove)(struct backend *b, const struct mapping *m);
	/* Remove everything this backend installed. */
	int (*flush)(struct backend *b);
	void (*shutdown)(struct backend *b);
	int (*wan_status)(struct backend *b, struct backend_wan *ret);
	/*
	 * Optional bulk forms (NULL: one apply/remove per mapping), for range
	 * deletes, expiry batches and start-up restore: n mappings in as few
	 * transactions as the backend can. 0, or -errno with part of the work
	 * possibly done (the caller restores what it needs).
	 */
	int (*apply_many)(struct backend *b, const struct mapping *v, size_t n);
	int (*remove_many)(struct backend *b, const struct mapping *v, size_t n);

	/*
	 * The WAN link; all four optional. wan_up starts connecting,
	 * wan_down disconnects (or aborts a wan_up still in progress). Each
	 * returns 0 when started, its outcome reported later through
	 * b->on_link (or before it returns: the engine accepts both), or
	 * -errno when it could not start. wan_down NULL: an always-on link
	 * that cannot be brought down (WANIPConnection:2 2.6.1 "always on").
	 */
	int (*wan_up)(struct backend *b);
	int (*wan_down)(struct backend *b);
	/* For a backend that has timers but no file descriptor (sim), or
	 * reports already received but not yet delivered (nft: a WAN
	 * command's end): its next deadline (monotonic ms of *b->clock,
	 * 0 = none), and running what is due at now. */
	uint64_t (*next_deadline)(struct backend *b);
	void (*tick)(struct backend *b, uint64_t now);
	/* Optional: packets through the WAN interface so far, both ways
	 * (real traffic: the idle timer of WANIPConnection:2 2.3.9 restarts
	 * when it grows). NULL: the backend sees no traffic. 0 or -errno. */
	int (*wan_packets)(struct backend *b, uint64_t *ret);

	/*
	 * IPv6 pinholes (core/pinhole.h; WANIPv6FirewallControl:1, PCP MAP
	 * in firewall mode). pin_apply NULL: the backend cannot open
	 * pinholes (InboundPinholeAllowed reads false). pin_apply installs p
	 * (an existing identical one stays, with its counter); pin_remove
	 * takes it out; pin_packets reads the inbound packets its rule has
	 * let through since it was installed; pin_outbound_timeout the
	 * seconds the firewall keeps the state of an outbound flow of proto
	 * (IANA number). 0 or -errno.
	 */
	int (*pin_apply)(struct backend *b, const struct pinhole *p);
	int (*pin_remove)(struct backend *b, const struct pinhole *p);
	int (*pin_packets)(struct backend *b, const struct pinhole *p, uint64_t *ret);
	int (*pin_outbound_timeout)(struct backend *b, uint8_t proto, uint32_t *ret);

	/*
	 * Optional asynchronous form of the changes above (NULL: the engine
	 * calls the synchronous ones). submit takes job (copying what it
	 * needs) and returns 0, then done(b, status, arg) runs exactly once,
	 * later, from the loop (the backend's tick, the helper's socket) or
	 * from drain, never inside submit; or -errno, and done never runs.
	 * Jobs complete in the order submitted. drain blocks until every
	 * job submitted has completed (shutdown; a synchronous change that
	 * must not overtake one in flight).
	 */
	int (*submit)(struct backend *b, const struct backend_job *job, backend_done_fn done,
		      void *arg);
	void (*drain)(struct backend *b);
};

/* A job run with the synchronous operations (backend/job.c), for a backend
 * whose asynchronous form defers them (sim) and for one without it. */
int backend_job_run(struct backend *b, const struct backend_job *job);

/* Set up by the engine before ops->init: clock, on_link and on_gone live
 * as long as the backend. init may point ops at a variant of the same backend
 * (nft: with wan_up / wan_down only when their commands are configured). */
struct stats;

struct backend {
	const struct backend_ops *ops;
	void *priv;
	const struct clock *clock;
	backend_link_fn on_link;
	void *on_link_arg;
	backend_gone_fn on_gone;        /* mappings the backend took away, from tick */
	void *on_gone_arg;
	struct priv *helper;            /* nft: the privileged helper (priv/priv.h), borrowed */
	struct stats *stats;            /* the engine's counters (core/stats.h), or NULL */
};

extern const struct backend_ops backend_sim_ops;
extern const struct backend_ops backend_nft_ops;        /* backend/nft.c */

/* The sim backend only: n inbound packets through pinhole p, as if the
 * WAN had sent them (tests). -ENOENT when p is not installed. */
int backend_sim_pin_traffic(struct backend *b, const struct pinhole *p, uint64_t n);
/* The sim backend only: how many pinholes it holds. */
size_t backend_sim_pin_count(const struct backend *b);
/* The sim backend only (tests): hold the jobs submitted (hold true: they
 * wait, neither tick nor next_deadline runs them; false: the next tick
 * does); complete at most max of the held ones now (each with status,
 * when status is not 0, instead of running it); how many wait. */
void backend_sim_hold(struct backend *b, bool hold);
size_t backend_sim_complete(struct backend *b, size_t max, int status);
size_t backend_sim_jobs(const struct backend *b);

#endif
