/*
 * igdc.h - the control point side of UPnP IGD, for a gateway behind
 * another NAT whose upstream offers UPnP only (docs/POLICY.md "Behind
 * another NAT"): the messages igdd sends to the upstream's IGD on the
 * WAN segment and the parsing of what comes back. Pure: no I/O, no
 * clock.
 *
 * UDA 1.1 / 2.0: 1.3.2 (M-SEARCH), 1.3.3 (the search response: LOCATION,
 * ST, CACHE-CONTROL, BOOTID.UPNP.ORG), 2.3 (the device description:
 * serviceList/service, serviceType, controlURL resolved against the URL
 * the description came from; URLBase still honoured), 3.2.1 / 3.2.2
 * (SOAP request, response), 3.2.2 (UPnPError in a Fault). WANIPConnection:2
 * 2.5.16 (AddPortMapping), 2.5.17 (AddAnyPortMapping: NewReservedPort),
 * 2.5.18 (DeletePortMapping), 2.5.20 (GetExternalIPAddress). RFC 9112
 * 6.3 (a response body: Content-Length, or up to the close).
 *
 * Only http:// URLs with an IPv4 literal (gena_parse_url(): no names,
 * nothing that could make the loop wait on DNS); a chunked body (RFC 9112
 * 7.1: what an HTTP/1.1 server may send even to a request with
 * Connection: close) is decoded, within the same bound as any answer;
 * DOCTYPE refused in every XML document.
 */
#ifndef IGDD_PROTO_IGDC_H
#define IGDD_PROTO_IGDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/gena.h"
#include "util/buf.h"

#define IGDC_MAX_TYPE   96              /* a serviceType or ST */

/* An SSDP search response (UDA 1.3.3) from an IGD or its WAN connection
 * service. */
struct igdc_found {
	struct gena_url location;
	char st[IGDC_MAX_TYPE + 1];
	bool have_bootid;
	uint32_t bootid;                /* BOOTID.UPNP.ORG */
};

/*
 * 0 and *ret for "HTTP/1.1 200" with a LOCATION that gena_parse_url()
 * takes and an ST of an InternetGatewayDevice, WANIPConnection or
 * WANPPPConnection (any version); -EINVAL otherwise. Header names are
 * case-insensitive; a header line longer than the datagram is not one.
 */
int igdc_parse_search(const char *p, size_t len, struct igdc_found *ret);

/* The M-SEARCH for st (MX 2, TTL by the caller). Returns the length, or
 * 0 when it does not fit in outsz. */
size_t igdc_build_msearch(char *out, size_t outsz, const char *st);

/* The WAN connection service of a description. */
struct igdc_service {
	char type[IGDC_MAX_TYPE + 1];   /* as found: the SOAP namespace and action prefix */
	unsigned version;               /* of WANIPConnection; WANPPPConnection: 1 */
	bool ppp;
	struct gena_url control;        /* resolved */
};

/*
 * The description document at location: the best WAN connection service
 * (WANIPConnection, the highest version, before WANPPPConnection) with its
 * controlURL, resolved against URLBase when present and else against
 * location, and on the same host as location. 0, -ENOENT (no such
 * service, or its URL points elsewhere), -EINVAL (not well-formed XML, a
 * DOCTYPE, a controlURL that does not parse).
 */
int igdc_parse_description(const char *xml, size_t len, const struct gena_url *location,
			   struct igdc_service *ret);

/* A SOAP response (UDA 3.2.2): success, or a Fault with its UPnPError. */
struct igdc_soap {
	bool fault;
	int error_code;                 /* fault: errorCode, -1 when absent or not a number */
	bool have_ext_ip;
	char ext_ip[16];                /* NewExternalIPAddress, dotted quad */
	bool have_port;
	uint16_t port;                  /* NewReservedPort */
};

/*
 * body is the body of an HTTP response to action; 0 and *ret for a
 * well-formed Envelope whose Body holds "<action>Response" or a Fault;
 * -EINVAL otherwise (DOCTYPE, another element in the Body, an
 * NewExternalIPAddress that is not an IPv4 address, a NewReservedPort
 * outside 1..65535).
 */
int igdc_parse_soap(const char *body, size_t len, const char *action, struct igdc_soap *ret);

/*
 * The framing of an HTTP/1.x response in p[0..len): closed says the
 * peer closed the connection (the body then ends there when there is no
 * Content-Length and it is not chunked). 1 and *status, *body, *body_len
 * and *chunked when complete (chunked: p[*body..+*body_len) is the body
 * as sent, up to the end of the last chunk's trailer; igdc_http_dechunk()
 * decodes it); 0 when more is needed; -EINVAL malformed (no status line,
 * a bad or repeated Content-Length, a body beyond it, a chunk that does
 * not parse, Content-Length with chunked, bytes after the last chunk),
 * -ENOTSUP another transfer coding.
 */
int igdc_http_response(const char *p, size_t len, bool closed, int *status, size_t *body,
		       size_t *body_len, bool *chunked);

/* The chunked body that igdc_http_response() found complete, decoded in
 * place (the data only moves towards the start). Returns its length. */
size_t igdc_http_dechunk(char *body, size_t len);

/* GET url's path, Connection: close. 0 or -E2BIG. */
int igdc_build_get(struct buf *b, const struct gena_url *url);

/* POST a SOAP action of service_type to url: the n arguments in order,
 * values escaped. 0 or -E2BIG. */
int igdc_build_soap(struct buf *b, const struct gena_url *url, const char *service_type,
		    const char *action, const char *const *names, const char *const *values,
		    unsigned n);

#endif
