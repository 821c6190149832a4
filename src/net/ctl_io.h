/*
 * ctl_io.h - the control socket (docs/CLI.md): a Unix stream socket in
 * the daemon's epoll loop that igddctl talks to. Socket I/O only; the
 * commands are svc/ctl.c's.
 *
 * Bounded: at most IGDD_CTL_MAX_CLIENTS connections (the next one is
 * answered "error 503" and closed), request lines of at most
 * IGDD_CTL_MAX_LINE bytes (longer: "error 413", closed), a connection
 * lives at most IGDD_CTL_TIMEOUT_S seconds ("error 408", closed), and at
 * most IGDD_CTL_MAX_OUT bytes of answer are buffered at a time (a
 * listing is written as the peer reads it). Every peer's credentials
 * are read with SO_PEERCRED: only root and the daemon's own uid are
 * served; others get "error 403" and a rate-limited warning.
 */
#ifndef IGDD_CTL_IO_H
#define IGDD_CTL_IO_H

#include <sys/types.h>

struct engine;
struct loop;
struct ctl_io;

/*
 * Listen on path: its directory is created (0755) when missing; a
 * socket file left there is replaced only when nothing answers on it (a
 * running daemon makes this fail with -EADDRINUSE); anything else at
 * path is left alone (-EEXIST). The socket is made mode 0660. Call
 * before dropping privileges. NULL with errno set (logged).
 */
struct ctl_io *ctl_io_new(struct engine *e, struct loop *l, const char *path);
/* Close every connection and the socket, and remove the socket file
 * (when the process still may). NULL is a no-op. */
void ctl_io_free(struct ctl_io *c);

/* A connection's deadline in ms instead of IGDD_CTL_TIMEOUT_S (tests). */
void ctl_io_set_timeout_ms(struct ctl_io *c, unsigned ms);
/* Connections open now (tests). */
unsigned ctl_io_clients(const struct ctl_io *c);

#endif
