/*
 * ctl.h - the commands of the control socket (igddctl, docs/CLI.md) run
 * against the engine, no sockets involved: net/ctl_io.c feeds it lines
 * and sends what it answers; the unit tests call it directly.
 *
 * Changes take the same path as UPnP's: the engine's mapping transaction
 * (engine_tx.h: the table checked, the backend, the lease file committed,
 * then one engine_changed() per command), so SystemUpdateID grows by
 * exactly one per command that changed the table and subscribers get one
 * event. A command whose change the lease file could not take is undone
 * and answered as failed.
 */
#ifndef IGDD_SVC_CTL_H
#define IGDD_SVC_CTL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"

struct engine;
struct engine_later;

/* One connection's state: who it is, and a listing being written. */
struct ctl_session {
	struct engine *e;
	uid_t uid;                      /* the peer, for the log */
	bool listing;                   /* a `list` answer is not complete yet */
	bool json;
	bool any;                       /* an entry of the listing was written */
	uint8_t proto;                  /* the key of the last entry written */
	uint16_t port;
	struct in_addr rh;
	size_t count;
	int grant_fd;                   /* an admin grant igddctl sent (-1: none), for the
	                                 * next command: `add` passes it to the backend */
	bool pinholes;                  /* the listing is of the pinholes (resume after pin_uid) */
	uint16_t pin_uid;

	/* A change whose answer comes at its completion (ctl_session_can_wait()). */
	void (*answered)(struct ctl_session *s, void *arg);
	void *answered_arg;
	struct engine_later *later;     /* the change under way, or NULL */
	struct buf *later_out;          /* where its answer goes */
	int pend;                       /* which command (ctl.c) */
	uint32_t pend_lease;
	char pend_what[96];
	char pend_who[32];
};

void ctl_session_init(struct ctl_session *s, struct engine *e, uid_t uid);
/* A grant (a descriptor that came with the peer's bytes) for the next
 * command; the session owns it, and closes one it held already. */
void ctl_session_set_grant(struct ctl_session *s, int fd);
/*
 * The connection can wait for an answer: a command that changes the
 * table (add, del, flush) answers when its change has completed
 * (applied by the backend, committed to the lease file): ctl_handle()
 * returns CTL_PENDING, and answered(s, arg) runs from the loop once the
 * answer is in the out buffer ctl_handle() was given (which must stay
 * until then). Without it (the tests) the change completes inside
 * ctl_handle(), the loop waiting for it.
 */
#define CTL_PENDING 2
void ctl_session_can_wait(struct ctl_session *s, void (*answered)(struct ctl_session *s,
								    void *arg), void *arg);
/* Close what the session holds (its grant; a change under way completes
 * without its answer). */
void ctl_session_fini(struct ctl_session *s);

/*
 * Run one request line (len bytes, without its newline) and append its
 * answer to out: data lines, then the status line. Returns 1 when the
 * answer is not complete (a long listing): call ctl_more() once out has
 * been sent, until it returns 0. CTL_PENDING: the answer comes later
 * (ctl_session_can_wait()); nothing more may be handled until then.
 * Otherwise 0.
 */
int ctl_handle(struct ctl_session *s, const char *line, size_t len, struct buf *out);
/* Append the next part of a listing (about IGDD_CTL_MAX_OUT / 2 bytes
 * at most); 1 while more is to come, 0 once the status line is out. */
int ctl_more(struct ctl_session *s, struct buf *out);

/* An "error CODE TEXT" status line. */
void ctl_error(struct buf *out, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
