/*
 * gena.h - the GENA subscription manager (UPnP Device Architecture 1.1
 * section 4.1 subscription, renewal, cancellation; 4.2 - 4.3 event
 * messages; WANIPConnection:2 section 2.4 which variables are evented).
 * No sockets: net/gena_io.c delivers what this module hands out, and
 * the HTTP layer tells it when a SUBSCRIBE response has gone out.
 *
 * Life of a subscription:
 *   gena_handle(SUBSCRIBE)   -> pending: 200 with SID and TIMEOUT; no
 *                               event may be sent yet (a client may drop
 *                               a NOTIFY that beats the response).
 *   gena_response_sent(sid)  -> active: the initial event (SEQ 0, every
 *                               evented variable of the service) is
 *                               queued, and held (below).
 *                               gena_response_failed(sid) drops the
 *                               subscription instead; a pending one
 *                               never confirmed is dropped after
 *                               confirm_timeout_s.
 *   gena_response_taken(sid) -> the hold ends: the subscriber sent its
 *                               next request on the connection, or
 *                               closed it, so it has read the response.
 *   gena_changed(changes)    -> one event per change per subscriber.
 *   gena_handle(renewal)     -> new expiry; gena_handle(UNSUBSCRIBE) or
 *                               expiry (gena_tick) -> gone.
 *
 * Delivery (pull): when a subscription has an event ready and none in
 * flight, the notify hook fires; the sender then calls
 * gena_next_delivery() while it has capacity, sends, and reports with
 * gena_delivery_done(). One event per subscription is in flight at a
 * time, so each subscriber receives its events in SEQ order.
 *
 * SEQ is assigned when an event is handed out, not when it is queued:
 * an event dropped from a full queue therefore leaves no gap in SEQ.
 * A queue is bounded (max_queued, the in-flight one included); when a
 * change finds it full, every queued event not yet handed out is
 * replaced by one event carrying the union of their variables and of the
 * new change, with their current values. Since an event carries current
 * values, the subscriber still ends with every changed variable right.
 */
#ifndef IGDD_SVC_GENA_H
#define IGDD_SVC_GENA_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/gena.h"
#include "util/ipaddr.h"
#include "util/limits.h"

struct engine;
struct service;
struct http_request;
struct http_response;
struct gena;

/*
 * WANCommonInterfaceConfig's evented variables (PhysicalLinkStatus,
 * EnabledForInternet) changed: the bit the engine raises as
 * ENGINE_CHG_WAN_LINK (engine.h; gena.c checks they are one).
 */
#define GENA_CHG_WANCOMMON (1u << 8)

/*
 * The hold. A response written out is not yet a response read: GUPnP
 * 1.6 (gupnp-igd, libnice, GStreamer's webrtcbin) drops a NOTIFY that it
 * handles before its SUBSCRIBE callback has stored the SID (it answers
 * 200), and at the SEQ gap of the next event it unsubscribes and
 * subscribes again, where the same race repeats. One main loop serves
 * its HTTP client and its NOTIFY server; when the response and a NOTIFY
 * sent right behind it are both waiting at its next poll, the NOTIFY is
 * served first. Measured in the namespace lab with no hold: 3 to 47 of
 * 50 fresh subscriptions got their initial event, depending on the
 * machine's load (1 of 20 with four busy loops on two cores), and none
 * when GUPnP's loop was blocked for 0.2 s after its SUBSCRIBE.
 *
 * So the initial event waits until the subscriber has taken the response
 * in: its next request or its close on that connection
 * (gena_response_taken(), from net/http_io.c; GUPnP closes the
 * connection from the very callback that stores the SID, 1 ms after the
 * response when idle, at most 78 ms with eight busy loops on two cores),
 * or initial_hold_ms for a subscriber that does neither, and when igdd
 * closes the connection itself (Connection: close). The time alone
 * would not do: any time fails once GUPnP is held up longer (50 ms:
 * 0 of 10 with GUPnP blocked for 0.2 s); with the subscriber's move, 50
 * of 50 both idle and with GUPnP blocked for 0.2 s, 10 of 10 at 0.8 s,
 * and every change event after them arrived. Only that subscription
 * waits: the hold never delays another subscriber's events; its own
 * changes queue behind its initial event.
 */
#define GENA_INITIAL_HOLD_MS 1000

struct gena_params {
	struct gena_timeout_range timeout;      /* default 1800, 300..1800 s */
	unsigned max_subscriptions;             /* IGDD_GENA_MAX_SUBSCRIPTIONS */
	unsigned max_per_source;                /* IGDD_GENA_MAX_PER_SOURCE (by requester address) */
	unsigned max_queued;                    /* events per subscription, >= 2; default 8 */
	unsigned confirm_timeout_s;             /* pending -> dropped; default 30 */
	unsigned initial_hold_ms;               /* GENA_INITIAL_HOLD_MS at most; 0: no hold */
	bool seeded;                            /* tests: SIDs from seed, reproducible */
	uint64_t seed;
};

void gena_params_default(struct gena_params *ret);

/*
 * e must outlive the manager; p (copied) may be NULL for the defaults.
 * Returns NULL on ENOMEM or invalid params.
 */
struct gena *gena_new(struct engine *e, const struct gena_params *p);
void gena_free(struct gena *g);            /* NULL is a no-op */

/*
 * Answer a SUBSCRIBE or UNSUBSCRIBE sent to svc's event URL (the router
 * has checked the peer is on the LAN and the Host header). resp must
 * come from http_response_init(). Fills:
 *   200 + "SID: uuid:..." + "TIMEOUT: Second-N" (SUBSCRIBE, renewal)
 *   200 (UNSUBSCRIBE)
 *   400 / 412 / 503 / 500 with an empty body (see enum gena_status);
 *   405 + Allow for another method.
 * Every CALLBACK address must be the requester's own address, a host of
 * the LAN the request arrived on (not one of the gateway's addresses,
 * not the subnet's network or broadcast address): CallStranger,
 * CVE-2020-12695, and no NOTIFYs to a host that did not ask for them.
 * For IPv6 only, another address of the same host on that LAN (its
 * link-local address, a ULA) is accepted when the neighbour table maps
 * both to one link-layer address (engine same_host; svc/gena.c says
 * why this is safe). Otherwise 412. TIMEOUT is
 * granted within p.timeout (at most GENA_TIMEOUT_MAX, 1800 s). At most
 * max_per_source subscriptions per requester (503); when all
 * max_subscriptions are taken, the oldest of the address holding the
 * most gives way to a requester holding fewer (503 if none does).
 */
void gena_handle(struct gena *g, const struct service *svc, const struct http_request *req,
		 struct http_response *resp);

/*
 * The SID that resp (filled by gena_handle) names when it is a 200 to a
 * SUBSCRIBE (new or renewal), for the HTTP layer to keep until the
 * response is written; false for any other response. Passing a
 * renewal's SID on to gena_response_sent() is harmless: it is a no-op
 * for an active subscription.
 */
bool gena_response_sid(const struct http_response *resp, char ret_sid[GENA_SID_SIZE]);

/* The SUBSCRIBE response naming sid was written out completely: queue
 * the initial event. Unknown or already active SIDs are ignored. */
void gena_response_sent(struct gena *g, const char *sid);
/* It could not be (connection closed, shutdown): drop a pending one. */
void gena_response_failed(struct gena *g, const char *sid);
/* The subscriber has read the response: it sent its next request on the
 * connection or closed it. A held initial event goes now; otherwise a
 * no-op (unknown SID, pending, not held). */
void gena_response_taken(struct gena *g, const char *sid);

/* A set of enum engine_change bits: queue one event per affected active
 * subscription:
 *   ENGINE_CHG_MAPPINGS    -> PortMappingNumberOfEntries + SystemUpdateID, together
 *   ENGINE_CHG_EXTERNAL_IP -> ExternalIPAddress
 *   ENGINE_CHG_CONNECTION  -> ConnectionStatus
 *   ENGINE_CHG_WAN_LINK    -> PhysicalLinkStatus + EnabledForInternet
 *                             (WANCommonInterfaceConfig; GENA_CHG_WANCOMMON)
 *   ENGINE_CHG_FIREWALL    -> FirewallEnabled + InboundPinholeAllowed
 *                             (WANIPv6FirewallControl)
 * ENGINE_CHG_PINHOLES is no evented variable: ignored. Bits for one
 * service given together make one event. */
void gena_changed(struct gena *g, unsigned changes);

/* An engine_change_fn for engine_subscribe(); arg is the struct gena. */
void gena_on_change(struct engine *e, unsigned changes, void *arg);

/* Earliest expiry (engine clock, ms) of any subscription; 0: none. */
uint64_t gena_next_deadline(const struct gena *g);
/* Drop expired subscriptions (and pending ones never confirmed). Returns how many. */
unsigned gena_tick(struct gena *g);

/* Subscriptions, pending ones included. */
unsigned gena_count(const struct gena *g);

/*
 * Called (synchronously, from inside gena_* calls) when a delivery may
 * have become ready or the next deadline may have moved. The hook must
 * not call back into the manager; it should schedule work (a zero-delay
 * timer) instead.
 */
typedef void (*gena_notify_fn)(void *arg);
void gena_set_notify(struct gena *g, gena_notify_fn fn, void *arg);

/* One event message to one subscriber: the delivery URLs in order, each
 * with its whole request (head + body). Owned by the caller once handed
 * out: release with gena_delivery_free(). */
struct gena_target {
	struct ipaddr addr;             /* link-local: scope is the LAN's interface */
	uint16_t port;
	char *req;
	size_t len;
};

struct gena_delivery {
	uint64_t sub_id;                /* for gena_delivery_done() */
	unsigned lan;                   /* the subscriber's LAN: every URL is on it */
	uint32_t seq;
	char sid[GENA_SID_SIZE];
	unsigned ntargets;
	struct gena_target t[IGDD_GENA_MAX_CALLBACK_URLS];
};

/*
 * Hand out the next event of a subscription with none in flight (round
 * robin across subscriptions): SEQ is assigned now. Returns 1 and fills
 * *ret, or 0 when nothing is ready. An event whose message cannot be
 * built (out of memory) is dropped without spending a SEQ.
 */
int gena_next_delivery(struct gena *g, struct gena_delivery *ret);
void gena_delivery_free(struct gena_delivery *d);

/*
 * The sender is done with the delivery of sub_id: delivered (some URL
 * answered with a status line) or not (every URL failed; the event is
 * lost and the subscription kept, UDA 1.1 4.3.2). A subscription gone
 * meanwhile is ignored.
 */
void gena_delivery_done(struct gena *g, uint64_t sub_id, bool delivered);

#endif
