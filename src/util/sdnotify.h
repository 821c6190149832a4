/*
 * sdnotify.h - readiness and status for the service manager, the
 * sd_notify(3) protocol written out (no libsystemd): one datagram of
 * newline-separated VARIABLE=VALUE lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name
 * (systemd.exec(5), "$NOTIFY_SOCKET"; sd_notify(3) for the variables:
 * READY=1, RELOADING=1 with MONOTONIC_USEC=, STOPPING=1, STATUS=).
 *
 * igdd opens the socket once at start-up, while it may still reach a path
 * the unprivileged user could not, and connects it: later sends need no
 * permission on the path. Without $NOTIFY_SOCKET everything is a no-op.
 */
#ifndef IGDD_SDNOTIFY_H
#define IGDD_SDNOTIFY_H

#include <stddef.h>

#define SDNOTIFY_MAX 512        /* one message, bytes */

struct sdnotify;

/*
 * Read $NOTIFY_SOCKET, remove it from the environment (children must not
 * notify in igdd's name), connect a datagram socket to it. NULL when the
 * variable is unset (not an error); also NULL, with a message in err,
 * when it is set but unusable (too long, not absolute or abstract, the
 * connect failed).
 */
struct sdnotify *sdnotify_open(char *err, size_t errsz);

/* Send text (VARIABLE=VALUE lines); 0 or a negative errno. NULL: 0. */
int sdnotify_send(struct sdnotify *n, const char *text);

/* printf-style, at most SDNOTIFY_MAX bytes (longer is -EMSGSIZE). */
int sdnotify_sendf(struct sdnotify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* NULL is a no-op. */
void sdnotify_free(struct sdnotify *n);

#endif
