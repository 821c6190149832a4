/*
 * upstream_upnp.h - the transport of igdd's UPnP IGD control point on the
 * WAN segment (docs/POLICY.md "Behind another NAT"), used by
 * net/upstream_io.c when the upstream answers neither PCP nor NAT-PMP:
 * SSDP discovery on the WAN interface only (a socket bound to the WAN
 * address, IP_MULTICAST_IF the WAN, TTL 2, never port 1900, never
 * answering), the description fetched and its WAN connection service
 * found (proto/igdc.c), then SOAP calls to its control URL.
 *
 * Non-blocking, in the loop: one transaction at a time (a discovery, or
 * one HTTP exchange on a fresh TCP connection from the WAN address),
 * each with a deadline; responses bounded (IGDD_UPSTREAM_UPNP_MAX_BODY),
 * devices considered bounded (IGDD_UPSTREAM_UPNP_DEVICES). The one
 * exception is upnp_link_call_sync(), for the deletes at shutdown, with
 * a deadline of its own.
 */
#ifndef IGDD_NET_UPSTREAM_UPNP_H
#define IGDD_NET_UPSTREAM_UPNP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/igdc.h"

struct loop;
struct upnp_link;

enum upnp_event {
	UPNP_FOUND,             /* discovery: a WAN connection service (upnp_link_service()) */
	UPNP_NOT_FOUND,         /* discovery: none answered, or none usable */
	UPNP_REPLY,             /* a call answered: status and soap */
	UPNP_FAILED,            /* a call: no connection, no complete answer in time, garbage */
};

struct upnp_reply {
	int status;             /* HTTP */
	struct igdc_soap soap;
};

typedef void (*upnp_fn)(void *arg, enum upnp_event ev, const struct upnp_reply *r);

/* wan: the source of everything; prefer: the device to take first (the
 * default gateway); wait_ms: how long answers to M-SEARCH are collected;
 * timeout_ms: the deadline of one HTTP exchange. */
struct upnp_link *upnp_link_new(struct loop *l, struct in_addr wan, unsigned ifindex,
				struct in_addr prefer, uint64_t wait_ms, uint64_t timeout_ms,
				upnp_fn fn, void *arg);
void upnp_link_free(struct upnp_link *k);

/* Start a discovery (cancelling what runs). 0 or -errno. */
int upnp_link_discover(struct upnp_link *k);
/* Call action on the service found, arguments in order. 0 or -errno. */
int upnp_link_call(struct upnp_link *k, const char *action, const char *const *names,
		   const char *const *values, unsigned n);
/* The same, waiting at most timeout_ms (shutdown only). 0 and *r, or -errno. */
int upnp_link_call_sync(struct upnp_link *k, const char *action, const char *const *names,
			const char *const *values, unsigned n, uint64_t timeout_ms,
			struct upnp_reply *r);
void upnp_link_cancel(struct upnp_link *k);

/* After UPNP_FOUND: the service, and the device's BOOTID.UPNP.ORG. */
const struct igdc_service *upnp_link_service(const struct upnp_link *k);
bool upnp_link_bootid(const struct upnp_link *k, uint32_t *ret);

#endif
