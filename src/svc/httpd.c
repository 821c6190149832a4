/*
 * httpd.c - the HTTP request router, without sockets (see httpd.h):
 * description documents (UDA 1.1 section 2.11, retrieval with GET),
 * SOAP control (section 3.2, POST to a control URL) and, for now, a 501
 * for GENA (section 4) until eventing lands.
 *
 * Who may ask (WANIPConnection:2 section 2.3: "IGD MUST reject UPnP
 * requests from the WAN interfaces"): only peers on the LAN the request
 * arrived on (its subnet, its IPv6 link or prefixes; 403), and only
 * with a Host header naming one of that LAN's addresses as an IP literal
 * (IPv6 in brackets, a link-local zone tolerated: proto/http.c
 * http_parse_host()), so that a browser tricked by DNS rebinding into
 * posting to us is refused (400). HTTP/1.0 requests may omit Host.
 */
#include "svc/httpd.h"

#include "engine.h"
#include "svc/action.h"
#include "svc/describe.h"
#include "svc/gena.h"
#include "svc/wancommon.h"
#include "svc/wanipconn.h"
#include "svc/wanipv6fc.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XML_CONTENT_TYPE "text/xml; charset=\"utf-8\""

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, IGDD_HTTP_MAX_RESPONSE);
}

void http_response_free(struct http_response *r)
{
	size_t i;

	if (!r)
		return;
	buf_free(&r->body);
	buf_stream_release(&r->stream);
	for (i = 0; i < r->nheaders; i++) {
		free(r->hdr_name[i]);
		free(r->hdr_value[i]);
	}
	r->nheaders = 0;
}

int http_response_add_header(struct http_response *r, const char *name, const char *value)
{
	char *n, *v;

	if (r->nheaders >= HTTP_MAX_RESP_HEADERS)
		return -E2BIG;
	n = strdup(name);
	v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	r->hdr_name[r->nheaders] = n;
	r->hdr_value[r->nheaders] = v;
	r->nheaders++;
	return 0;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value ? req->headers[i].value : "";
	return NULL;
}

/* A short plain-text body naming the status (for people with curl). */
static void http_error(struct http_response *r, int status)
{
	r->status = status;
	r->content_type = HTTPD_TEXT_TYPE;
	buf_stream_release(&r->stream);
	buf_reset(&r->body);
	buf_printf(&r->body, "%d %s\n", status, http_reason((unsigned)status));
}

static void method_not_allowed(struct http_response *r, const char *allow)
{
	http_error(r, 405);
	http_response_add_header(r, "Allow", allow);
}

/* Host: an address of the LAN the request arrived on, optionally with
 * our HTTP port. A link-local address in Host has no zone that means
 * anything to us: it is the LAN's own link-local address. */
static bool host_ok(const struct engine *e, unsigned lan, const char *host)
{
	const struct lan *l = engine_lan(e, lan);
	struct ipaddr a;
	uint16_t port;
	bool has_port;

	if (!l || http_parse_host(str_cstr(host), &a, &has_port, &port) < 0)
		return false;
	if (has_port && port != e->http_port)
		return false;
	if (ipaddr_is_linklocal(&a))
		a.scope = l->ifindex;
	return lan_is_own(l, &a);
}

/* Content-Type: text/xml, parameters (charset) allowed. */
static bool is_text_xml(const char *ct)
{
	struct str s;

	if (!ct)
		return false;
	s = str_trim(str_cstr(ct));
	if (!str_casestartswith_cstr(s, "text/xml"))
		return false;
	s = str_trim(str_from(s.p + 8, s.len - 8));
	return s.len == 0 || s.p[0] == ';';
}

static void serve_document(struct engine *e, const struct http_request *req,
			   struct http_response *resp)
{
	const struct lan *l;
	struct ipaddr host;
	bool have_host;
	int r;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		method_not_allowed(resp, "GET, HEAD");
		return;
	}
	/* HEAD gets the same headers; the transport leaves the body out. */
	buf_reset(&resp->body);
	l = engine_lan(e, req->lan);
	have_host = l && lan_location(l, &req->peer, &host);
	r = describe_document(e, have_host ? &host : NULL, req->url, &resp->body);
	if (r < 0) {
		log_warnx("%s: cannot build (%d)", req->url, r);
		http_error(resp, 500);
		return;
	}
	resp->status = 200;
	resp->content_type = XML_CONTENT_TYPE;
}

static void serve_control(struct engine *e, const struct service *svc,
			  const struct http_request *req, struct http_response *resp)
{
	int status;

	if (strcmp(req->method, "POST") != 0) {
		method_not_allowed(resp, "POST");
		return;
	}
	if (!is_text_xml(http_request_header(req, "Content-Type"))) {
		http_error(resp, 415);
		return;
	}
	if (req->body.len > IGDD_HTTP_MAX_BODY) {
		http_error(resp, 413);
		return;
	}
	buf_reset(&resp->body);
	status = action_dispatch_wait(e, svc, http_request_header(req, "SOAPAction"), req->body,
				      &req->peer, req->lan, &resp->body, &resp->stream,
				      req->can_wait ? &resp->later : NULL);
	if (status == ACTION_WAIT && resp->later) {
		resp->status = 0;
		return;
	}
	httpd_control_answer(resp, status);
}

void httpd_control_answer(struct http_response *resp, int status)
{
	if (status != 200 && status != 500) {
		http_error(resp, status);
		return;
	}
	resp->status = status;
	resp->content_type = XML_CONTENT_TYPE;
	http_response_add_header(resp, "EXT", "");      /* UDA 1.1 3.2.2 (UDA 1.0 compatibility) */
}

void httpd_handle(struct engine *e, const struct http_request *req, struct http_response *resp)
{
	const struct service *svcs[3] = { wanipconn_service(), wancommon_service(),
					  wanipv6fc_service() };
	const char *host;
	char peer[IPADDR_STRLEN];
	unsigned i;

	if (!engine_lan(e, req->lan) ||
	    !lan_contains(engine_lan(e, req->lan), &e->wan6, &req->peer)) {
		log_debug("%s: HTTP request from outside the LAN refused",
			  ipaddr_ntop(&req->peer, peer, sizeof(peer)));
		http_error(resp, 403);
		return;
	}
	host = http_request_header(req, "Host");
	if (!req->method || !req->url ||
	    (host ? !host_ok(e, req->lan, host) : req->http_minor != 0)) {
		http_error(resp, 400);
		return;
	}
	if (describe_is_document(req->url)) {
		serve_document(e, req, resp);
		return;
	}
	for (i = 0; i < 3; i++) {
		if (strcmp(req->url, svcs[i]->control_url) == 0) {
			serve_control(e, svcs[i], req, resp);
			return;
		}
		if (strcmp(req->url, svcs[i]->event_url) == 0) {
			if (strcmp(req->method, "SUBSCRIBE") != 0 &&
			    strcmp(req->method, "UNSUBSCRIBE") != 0)
				method_not_allowed(resp, "SUBSCRIBE, UNSUBSCRIBE");
			else if (!e->gena)
				http_error(resp, 501);
			else
				gena_handle(e->gena, svcs[i], req, resp);
			return;
		}
	}
	http_error(resp, 404);
}

/* ---- the wire side (httpd.h): one writer for the daemon and the tests ---- */

bool httpd_method_ok(const char *method)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "SUBSCRIBE", "UNSUBSCRIBE" };
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i]) == 0)
			return true;
	return false;
}

void httpd_request_init(struct http_request *req, const struct http_head *hd, struct str body,
			const struct ipaddr *peer, unsigned lan)
{
	memset(req, 0, sizeof(*req));
	req->method = hd->method;
	req->url = hd->path;
	req->http_minor = hd->minor;
	req->headers = hd->fields;
	req->nheaders = hd->nfields;
	req->body = body;
	req->peer = *peer;
	req->lan = lan;
}

bool httpd_write_head(struct buf *b, const struct httpd_head *h)
{
	const struct http_response *resp = h->resp;
	size_t i;

	buf_reset(b);
	buf_printf(b, "HTTP/1.1 %u %s\r\n", h->status, http_reason(h->status));
	if (h->date && h->date[0])
		buf_printf(b, "Date: %s\r\n", h->date);
	if (h->close)
		buf_puts(b, "Connection: close\r\n");
	else if (h->request_minor == 0)
		buf_puts(b, "Connection: keep-alive\r\n");
	buf_printf(b, "Server: %s\r\n", h->server);
	if (h->content_type)
		buf_printf(b, "Content-Type: %s\r\n", h->content_type);
	if (h->allow)
		buf_printf(b, "Allow: %s\r\n", h->allow);
	for (i = 0; resp && i < resp->nheaders && i < HTTP_MAX_RESP_HEADERS; i++) {
		/* An empty value (UDA 1.1 3.2.2 "EXT:") is sent as such. */
		if (resp->hdr_value[i][0])
			buf_printf(b, "%s: %s\r\n", resp->hdr_name[i], resp->hdr_value[i]);
		else
			buf_printf(b, "%s:\r\n", resp->hdr_name[i]);
	}
	if (h->framing == HTTPD_FRAME_LENGTH)
		buf_printf(b, "Content-Length: %zu\r\n", h->body_len);
	else if (h->framing == HTTPD_FRAME_CHUNKED)
		buf_puts(b, "Transfer-Encoding: chunked\r\n");
	buf_puts(b, "\r\n");
	return !b->toobig;
}

size_t httpd_error_text(unsigned status, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%u %s\n", status, http_reason(status));

	if (n < 0)
		return 0;
	return (size_t)n < outsz ? (size_t)n : outsz - 1;
}
