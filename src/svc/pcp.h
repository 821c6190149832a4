/*
 * pcp.h - NAT-PMP (RFC 6886) and PCP (RFC 6887) requests answered over
 * the engine's mapping table, under its policy (core/policy.h): the same
 * table, backend, leases, persistence and change events as the UPnP
 * port-mapping actions (svc/portmap.c). No sockets: net/pcp_io.c feeds
 * datagrams in and sends what comes back; the unit tests call it
 * directly. docs/PCP.md says what is supported.
 */
#ifndef IGDD_SVC_PCP_H
#define IGDD_SVC_PCP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/pcp.h"
#include "util/ipaddr.h"

struct engine;

/* The server's state besides the table: when its epoch began (RFC 6886
 * 3.6, RFC 6887 8.5). */
struct pcp_svc {
	struct engine *e;
	uint64_t epoch_start_ms;        /* on the engine's clock */
};

/* Room for any answer (a PCP error copies up to 1100 bytes). */
#define PCP_SVC_OUT_MAX PCP_MAX_MSG

/* Lifetimes of PCP error responses (7.4: long and short lifetime errors). */
#define PCP_ERROR_LIFETIME_LONG  1800
#define PCP_ERROR_LIFETIME_SHORT 30

void pcp_svc_init(struct pcp_svc *s, struct engine *e);
/* Start a new epoch (the external address changed, the WAN came back:
 * the mappings clients hold may be gone). */
void pcp_svc_reset_epoch(struct pcp_svc *s);
/* Seconds since the start of the epoch. */
uint32_t pcp_svc_epoch(const struct pcp_svc *s);

/*
 * Answer one datagram of len bytes from src, received on LAN lan (a
 * host of it; the caller has checked): version 0 is NAT-PMP (IPv4
 * only), version 2 PCP, as the configuration's enable_natpmp /
 * enable_pcp allow. Writes the answer into out (PCP_SVC_OUT_MAX bytes)
 * and returns its length; 0: no answer.
 */
size_t pcp_svc_handle(struct pcp_svc *s, const struct ipaddr *src, unsigned lan,
		      const uint8_t *p, size_t len, uint8_t *out);

/* Whether a datagram asks for a change of the mappings (a NAT-PMP
 * mapping request, a PCP MAP or PEER), which waits for its turn while
 * another change is under way (engine_tx.h); reads never wait. */
bool pcp_svc_changes(const uint8_t *p, size_t len);
/* The answer to such a request when the engine's queue is full:
 * NO_RESOURCES (NAT-PMP 4, PCP 8), as pcp_svc_handle() writes it; 0:
 * none (a malformed request). */
size_t pcp_svc_busy(struct pcp_svc *s, const struct ipaddr *src, const uint8_t *p, size_t len,
		    uint8_t *out);

#endif
