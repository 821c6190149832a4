/*
 * stun_io.h - the STUN client on the WAN (RFC 8489 Binding, RFC 5780
 * behaviour discovery): what address and port the internet sees for the
 * gateway, whether the NAT in front of it keeps ports, and how it maps
 * and filters. Results go to e->stun (proto/stun.h).
 *
 * Off unless stun_server is configured. One UDP socket bound to the WAN
 * address (port chosen by the kernel), in the loop, never blocking. A
 * run: Test I to each configured server in turn until one answers; with
 * the server's OTHER-ADDRESS, the mapping tests (RFC 5780 4.3) and the
 * filtering tests (4.4). Runs at start, when the WAN address changes,
 * and every IGDD_STUN_INTERVAL_S (after a failure sooner, with backoff);
 * never two runs within IGDD_STUN_MIN_GAP_S, one transaction in flight.
 */
#ifndef IGDD_STUN_IO_H
#define IGDD_STUN_IO_H

#include <stdint.h>

struct engine;
struct loop;
struct stun_io;

/* The timing (util/limits.h defaults; tests shorten them). */
struct stun_io_params {
	uint64_t rto_ms;                /* RFC 8489 6.2.1 initial RTO */
	unsigned rc;                    /* requests of Test I */
	unsigned rc_behaviour;          /* requests of the RFC 5780 tests */
	unsigned rm;                    /* the last wait, in RTOs */
	uint64_t interval_ms;           /* between good runs */
	uint64_t retry_ms;              /* after a failed run (doubling up to interval_ms) */
	uint64_t min_gap_ms;            /* between the starts of two runs */
};

void stun_io_default_params(struct stun_io_params *p);

/* NULL params: the defaults. NULL when e->cfg names no stun_server (e->stun
 * stays OFF) or on failure (logged). The first run starts from the loop. */
struct stun_io *stun_io_new(struct engine *e, struct loop *l, const struct stun_io_params *params);
void stun_io_free(struct stun_io *s);

/* After engine_wan_classify(): when the WAN address is not the one the
 * runs are for, drop the run in progress and the socket and start again
 * from the new address (no-op otherwise, and with s NULL). */
void stun_io_wan_changed(struct stun_io *s);

#endif
