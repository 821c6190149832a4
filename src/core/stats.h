/*
 * stats.h - the counters an admin graphs (docs/MONITORING.md): requests
 * by protocol, action and result code; events sent and failed; the
 * privileged helper's round trips; refusals by the rate and connection
 * limits. Plain numbers, counted from the start of igdd (a reload keeps
 * them); written out as text and JSON for `igddctl stats` and in the
 * Prometheus text format (version 0.0.4) for the metrics endpoint. Pure:
 * the caller passes the gauges it reads elsewhere (mappings by origin).
 *
 * Bounded: action names are static strings of the action tables (never
 * a peer's bytes), at most STATS_MAX_REQ (protocol, action, code)
 * triples; past that a request is counted in requests_other.
 */
#ifndef IGDD_STATS_H
#define IGDD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum stats_proto { STATS_UPNP, STATS_NATPMP, STATS_PCP, STATS_NPROTO };

/* Where a limit refused something a peer sent. */
enum stats_refusal {
	STATS_REF_HTTP_PER_IP,          /* a connection past http_max_per_ip */
	STATS_REF_HTTP_BUSY,            /* every HTTP slot taken */
	STATS_REF_PCP_RATE,             /* a NAT-PMP/PCP source over its rate */
	STATS_REF_SSDP_RATE,            /* SSDP answers dropped (rate or queue) */
	STATS_NREFUSAL,
};

#define STATS_MAX_REQ 256

struct stats_req {
	const char *action;             /* static: an action table's name */
	uint16_t code;                  /* UPnP: 0 success or the error code; NAT-PMP/PCP: result */
	uint8_t proto;                  /* enum stats_proto */
	uint64_t count;
};

struct stats {
	struct stats_req req[STATS_MAX_REQ];
	size_t nreq;
	uint64_t requests_other;        /* past STATS_MAX_REQ triples */
	uint64_t events_sent, events_failed;
	uint64_t helper_calls, helper_failed;
	uint64_t helper_us_total, helper_us_max;       /* round trips, microseconds */
	uint64_t refused[STATS_NREFUSAL];
};

/* The gauges the caller reads at the time of writing. */
struct stats_gauges {
	uint64_t uptime_s;
	size_t mappings_by_origin[4];   /* enum map_origin: upnp, natpmp, pcp, static */
	unsigned gena_subscribers;
};

void stats_request(struct stats *s, enum stats_proto p, const char *action, unsigned code);
void stats_helper(struct stats *s, uint64_t us, bool failed);
void stats_refused(struct stats *s, enum stats_refusal why);
void stats_event(struct stats *s, bool delivered);

/* "key value" lines (igddctl stats). */
int stats_write_text(const struct stats *s, const struct stats_gauges *g, struct buf *out);
/* One JSON object and a newline (igddctl stats --json). */
int stats_write_json(const struct stats *s, const struct stats_gauges *g, struct buf *out);
/* The Prometheus text exposition format, metrics named igdd_*. */
int stats_write_prometheus(const struct stats *s, const struct stats_gauges *g,
			   struct buf *out);

#endif
