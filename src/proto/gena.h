/*
 * gena.h - GENA eventing text, without sockets, clocks or state (UPnP
 * Device Architecture 1.1 section 4): classify the header set of a
 * SUBSCRIBE (4.1.2 new subscription, 4.1.3 renewal) or UNSUBSCRIBE
 * (4.1.4) request, parse CALLBACK delivery URLs and TIMEOUT, and build
 * the event message (4.3.2): the NOTIFY request head and its
 * e:propertyset body.
 *
 * The subscription manager (svc/gena.c) adds what needs state: unknown
 * SIDs (412), the LAN check of every delivery address, the limits.
 * Everything here is a function of its arguments.
 */
#ifndef IGDD_PROTO_GENA_H
#define IGDD_PROTO_GENA_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/ipaddr.h"
#include "util/limits.h"
#include "util/str.h"

/*
 * TIMEOUT clamp defaults (seconds). UDA 1.1 4.1.2: the subscriber asks
 * (SHOULD be >= 1800 s), the publisher decides and answers what it
 * granted. A subscription lives at most GENA_TIMEOUT_MAX without a
 * renewal ("Second-infinite" gets it too), so slots left by a
 * subscriber that went away come back within half an hour.
 */
#define GENA_TIMEOUT_DEFAULT     1800
#define GENA_TIMEOUT_MIN         300
#define GENA_TIMEOUT_MAX         1800

/* "uuid:" + 36 characters + NUL. Longer SIDs are never ours (412). */
#define GENA_SID_SIZE            42

/*
 * Client-visible outcomes; gena_http_status() maps them to HTTP codes
 * (UDA 1.1 4.1.2 - 4.1.4 error tables):
 *   400 Incompatible headers: SID together with NT or CALLBACK.
 *   412 Precondition Failed: NT missing or not upnp:event; CALLBACK
 *       missing or without a usable delivery URL; SID missing, empty or
 *       not naming a known, un-expired subscription.
 *   5xx: the publisher cannot accept the subscription (limits: 503).
 */
enum gena_status {
	GENA_OK,
	GENA_E_INCOMPATIBLE,     /* 400 */
	GENA_E_NT,               /* 412 */
	GENA_E_CALLBACK,         /* 412 (also: a delivery address outside the LAN) */
	GENA_E_SID,              /* 412 */
	GENA_E_LIMIT,            /* 503: too many subscriptions */
	GENA_E_INTERNAL,         /* 500: no randomness, no memory */
};

int gena_http_status(enum gena_status st);

enum gena_kind {
	GENA_SUBSCRIBE,          /* new subscription: NT + CALLBACK */
	GENA_RENEW,              /* SUBSCRIBE with SID */
	GENA_UNSUBSCRIBE,
};

/* One delivery URL: http://A.B.C.D[:port][/path] or http://[IPv6][:port][/path]. */
struct gena_url {
	struct ipaddr addr;                             /* scope 0: set from the LAN */
	uint16_t port;                                  /* 80 when absent */
	char path[IGDD_GENA_MAX_CALLBACK_LEN + 1];      /* "/" when absent; printable, no spaces */
};

struct gena_timeout_range {
	unsigned def, min, max;                         /* seconds; min <= def <= max */
};

/* The raw header values of the request; NULL when a header is absent. */
struct gena_headers {
	const char *callback;
	const char *nt;
	const char *sid;
	const char *timeout;
};

struct gena_request {
	enum gena_kind kind;
	struct gena_url urls[IGDD_GENA_MAX_CALLBACK_URLS];  /* GENA_SUBSCRIBE */
	unsigned nurls;
	char sid[GENA_SID_SIZE];        /* GENA_RENEW, GENA_UNSUBSCRIBE: as sent */
	unsigned timeout_s;             /* GENA_SUBSCRIBE, GENA_RENEW: clamped */
};

/*
 * Classify a SUBSCRIBE (unsubscribe false) or UNSUBSCRIBE header set and
 * parse it into *ret (written only on GENA_OK). Rules, in this order:
 * SID present (even empty) together with NT or CALLBACK -> 400; SID
 * present: renewal / cancellation, the SID must be "uuid:" + 1..36
 * characters -> else 412; UNSUBSCRIBE without SID -> 412; otherwise a
 * new subscription: NT must be upnp:event (412) and CALLBACK must parse
 * (gena_parse_callback; 412). A missing or unparsable TIMEOUT means
 * tr->def (UDA defines no error for it). STATEVAR (4.1.2, optional) is
 * not looked at: every evented variable is sent.
 */
enum gena_status gena_parse(bool unsubscribe, const struct gena_headers *h,
			    const struct gena_timeout_range *tr, struct gena_request *ret);

/*
 * CALLBACK: one or more "<URL>" separated by optional white space (a
 * comma between them is tolerated). Each URL must be http:// (scheme
 * case-insensitive), its host a dotted-quad IPv4 address or an IPv6
 * literal in brackets (UDA 1.1 Annex A; no zone: a link-local address is
 * on the subscriber's LAN) (no names: no DNS lookup may ever block the
 * loop; no userinfo), an optional port 1..65535, a path of printable ASCII without spaces and
 * without '#' of at most IGDD_GENA_MAX_CALLBACK_LEN bytes; the whole
 * URL at most IGDD_GENA_MAX_CALLBACK_LEN bytes. More than max URLs is an
 * error, not a truncation. Returns the number of URLs (>= 1) written to
 * urls, or -EINVAL.
 */
int gena_parse_callback(const char *value, struct gena_url *urls, unsigned max);

/* One URL, without the angle brackets. 0 or -EINVAL. */
int gena_parse_url(struct str s, struct gena_url *ret);

/*
 * TIMEOUT: "Second-N" ("Second-" case-insensitive) or "Second-infinite"
 * (UDA 1.0; mapped to tr->max). N is clamped to tr->min..tr->max;
 * absent (NULL) or malformed values give tr->def.
 */
unsigned gena_parse_timeout(const char *value, const struct gena_timeout_range *tr);

/* SEQ after seq: 0, 1, ... 4294967295, then 1 (0 is the initial event only). */
uint32_t gena_seq_next(uint32_t seq);

/*
 * The event body (4.3.2), no white space between elements:
 *   <?xml version="1.0"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">
 *   <e:property><Name>escaped value</Name></e:property>...</e:propertyset>
 * Call begin, add once per variable, end. Each returns 0 or -E2BIG.
 */
int gena_body_begin(struct buf *b);
int gena_body_add(struct buf *b, const char *name, const char *value, size_t len);
int gena_body_end(struct buf *b);

/*
 * The NOTIFY request head for url (4.3.2), ending with the blank line:
 *   NOTIFY path HTTP/1.1, HOST: A.B.C.D:port or [IPv6]:port, CONTENT-TYPE: text/xml;
 *   charset="utf-8", CONTENT-LENGTH, NT: upnp:event, NTS:
 *   upnp:propchange, SID, SEQ, CONNECTION: close.
 * 0 or -E2BIG.
 */
int gena_build_notify_head(struct buf *b, const struct gena_url *url, const char *sid,
			   uint32_t seq, size_t body_len);

/*
 * The status code of an HTTP response's first line ("HTTP/1.x NNN ...")
 * in p[0..len). Returns the code (100..599), -EAGAIN when no complete
 * line is there yet, -EINVAL when it is not an HTTP status line.
 */
int gena_parse_status_line(const char *p, size_t len);

#endif
