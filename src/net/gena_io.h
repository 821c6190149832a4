/*
 * gena_io.h - the GENA event sender (UPnP Device Architecture 1.1
 * section 4.3.2, event messages) inside the epoll loop: it takes the
 * deliveries that svc/gena.c hands out and sends each NOTIFY over its
 * own non-blocking TCP connection, and it runs the subscription expiry
 * timer. Nothing here ever blocks.
 *
 * Per delivery: the URLs are tried in order until one answers with an
 * HTTP status line (any status: the subscriber has it); each attempt has
 * a connect deadline and then a deadline for the whole exchange (send +
 * status line); the connection is closed after the status line. One
 * delivery per subscription is in flight (the manager's rule), so each
 * subscriber gets its events in order; connections are bounded by
 * max_conns, by default IGDD_GENA_MAX_SUBSCRIPTIONS, so that every
 * subscription can have its delivery in flight at once and a slow or
 * dead subscriber never makes another one wait. Only hosts of the
 * subscriber's LAN (IPv4 or IPv6) are ever connected to (checked again
 * here), so its NOTIFYs go out on its LAN.
 */
#ifndef IGDD_GENA_IO_H
#define IGDD_GENA_IO_H

#include <stdint.h>

struct engine;
struct gena;
struct loop;
struct gena_io;

struct gena_io_params {
	unsigned connect_timeout_ms;    /* default 2000 */
	unsigned response_timeout_ms;   /* after connecting; default 5000 */
	unsigned max_conns;             /* default IGDD_GENA_MAX_SUBSCRIPTIONS */
};

void gena_io_params_default(struct gena_io_params *ret);

/*
 * Start sending for g: installs itself as g's notify hook (gena_set_notify)
 * and keeps a loop timer at gena_next_deadline() that runs gena_tick().
 * g, e and l must outlive the returned object; p (copied) may be NULL
 * for the defaults. NULL on ENOMEM.
 */
struct gena_io *gena_io_new(struct gena *g, struct engine *e, struct loop *l,
			    const struct gena_io_params *p);

/* Close every connection (their events are reported lost), cancel the
 * timers, remove the notify hook. NULL is a no-op. */
void gena_io_free(struct gena_io *io);

/* Connections open right now (tests). */
unsigned gena_io_active(const struct gena_io *io);

#endif
