/*
 * upstream_io.h - behind another NAT: igdd as a PCP (RFC 6887) client of
 * the WAN default gateway, NAT-PMP (RFC 6886) when that is all it
 * speaks, or a UPnP IGD on the WAN segment when neither answers
 * (net/upstream_upnp.c), mirroring the local mappings there so that the
 * internet reaches them through both NATs (docs/POLICY.md "Behind
 * another NAT").
 *
 * Active when upstream_pcp = yes (the default) and the WAN address is
 * not public (engine_wan_public()). One UDP socket bound to the WAN
 * address and connected to the gateway's port 5351, in the loop, one
 * request in flight at a time. Results in e->upstream; the external
 * address every protocol reports becomes the upstream's.
 */
#ifndef IGDD_UPSTREAM_IO_H
#define IGDD_UPSTREAM_IO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct engine;
struct loop;
struct upstream_io;

struct upstream_io_params {
	bool have_server;               /* tests: this server instead of the default gateway */
	struct in_addr server;
	uint16_t port;                  /* 0: 5351 */
	uint64_t irt_ms;                /* first retransmission (RFC 6887 8.1.1: 3 s) */
	unsigned sends;                 /* sends per request */
	uint64_t retry_ms;              /* a failed request again after */
	uint64_t reprobe_ms;            /* no PCP/NAT-PMP: ask again after, */
	uint64_t reprobe_max_ms;        /* ... doubling up to this */
	uint32_t lifetime;              /* asked for */
	uint64_t gap_ms;                /* between two new requests */
	uint64_t upnp_wait_ms;          /* M-SEARCH answers collected */
	uint64_t upnp_timeout_ms;       /* one HTTP exchange with the IGD */
	uint64_t upnp_check_ms;         /* M-SEARCH again while an IGD is used */
};

void upstream_io_default_params(struct upstream_io_params *p);

/* NULL params: the defaults. NULL only on failure (logged); with
 * upstream_pcp = no it exists and stays off. Subscribes to the engine's
 * changes (engine_subscribe(); upstream_io_free() unsubscribes). */
struct upstream_io *upstream_io_new(struct engine *e, struct loop *l,
				    const struct upstream_io_params *params);
/* Deletes what it holds upstream (one datagram each, not waited for). */
void upstream_io_free(struct upstream_io *u);

/* After engine_wan_classify(): start, stop or restart for the WAN
 * address as it is now (re-creating every mapping on a new address). */
void upstream_io_wan_changed(struct upstream_io *u);

#endif
