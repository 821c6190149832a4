/*
 * httpd.h - what the HTTP server answers, without sockets: description
 * documents (UDA 1.1 section 2), SOAP control (section 3), and GENA
 * (section 4). net/http_io.c turns each request parsed by proto/http.c
 * into struct http_request and sends struct http_response back; the golden
 * tests call httpd_handle() directly.
 */
#ifndef IGDD_HTTPD_H
#define IGDD_HTTPD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto/http.h"
#include "util/buf.h"
#include "util/ipaddr.h"
#include "util/str.h"

struct engine;

struct http_request {
	const char *method;             /* "GET", "POST", "SUBSCRIBE", ... */
	const char *url;                /* path, without query */
	int http_minor;                 /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
	const struct http_header *headers;
	size_t nheaders;
	struct str body;
	struct ipaddr peer;             /* the control point */
	unsigned lan;                   /* the LAN the request arrived on (engine_lan()) */
	bool can_wait;                  /* the transport can wait for a later answer */
};

#define HTTP_MAX_RESP_HEADERS 8

struct http_response {
	int status;
	const char *content_type;       /* static string or NULL */
	struct buf body;                /* the body, or its start when stream follows */
	struct buf_stream stream;       /* the rest of a long body, written in parts
	                                 * (a listing); fill NULL: body is all of it */
	size_t nheaders;                /* extra headers, owned strings */
	char *hdr_name[HTTP_MAX_RESP_HEADERS];
	char *hdr_value[HTTP_MAX_RESP_HEADERS];
	/* Not NULL (only when the request can_wait): no answer yet, it comes
	 * later (svc/action.h action_later_bind(); the transport owns it:
	 * bind it, or drop it when its client leaves); status is 0. */
	struct action_later *later;
};

struct action_later;

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);
int http_response_add_header(struct http_response *r, const char *name, const char *value);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);

void httpd_handle(struct engine *e, const struct http_request *req, struct http_response *resp);
/* A control answer that came later (action_later_fn's status, with its
 * body and stream moved into resp): the status and fields of a SOAP
 * answer, as httpd_handle() gives one at once. */
void httpd_control_answer(struct http_response *resp, int status);

/*
 * The wire side both the daemon (net/http_io.c) and the golden tests
 * (tests/golden.c) use, so that what the tests compare is what is sent.
 */

/* The methods served (UDA 1.1: GET and HEAD for descriptions, POST for
 * control, SUBSCRIBE and UNSUBSCRIBE for eventing); any other is
 * answered 405 with HTTPD_ALLOW as its Allow field before a body is read. */
#define HTTPD_ALLOW "GET, HEAD, POST, SUBSCRIBE, UNSUBSCRIBE"
#define HTTPD_TEXT_TYPE "text/plain; charset=utf-8"    /* error answers' Content-Type */
bool httpd_method_ok(const char *method);

/* The request httpd_handle() takes, from a head proto/http.c parsed and
 * its decoded body (strings stay the parser's). */
void httpd_request_init(struct http_request *req, const struct http_head *hd, struct str body,
			const struct ipaddr *peer, unsigned lan);

/* How the end of a response body is known (RFC 9112 section 6.3). */
enum httpd_framing {
	HTTPD_FRAME_LENGTH,             /* Content-Length: the body is whole in memory */
	HTTPD_FRAME_CHUNKED,            /* written in parts, HTTP/1.1 (section 7.1) */
	HTTPD_FRAME_CLOSE,              /* written in parts, HTTP/1.0: the close ends it */
};

/* What the head of an answer says. */
struct httpd_head {
	unsigned status;
	const char *date;               /* Date field value (RFC 9110 6.6.1); NULL or "": none */
	const char *server;             /* Server field value (proto/ssdp.h ssdp_server_string()) */
	bool close;                     /* the connection closes after it: "Connection: close" */
	int request_minor;              /* the request's HTTP/1.x: 1.0 kept open says keep-alive */
	const char *content_type;       /* NULL: none */
	const char *allow;              /* Allow field (a 405 of the transport); NULL: none */
	const struct http_response *resp; /* its extra fields (EXT, SID, ...), or NULL */
	size_t body_len;                /* for HTTPD_FRAME_LENGTH */
	enum httpd_framing framing;
};

/* Status line (RFC 9112 section 4) and fields, then the empty line, into
 * b (reset first); false when they do not fit b's limit. */
bool httpd_write_head(struct buf *b, const struct httpd_head *h);

/* The short text body of an answer the transport refuses a request with
 * ("400 Bad Request\n", with proto/http.c's reason phrase) into out;
 * its length. */
size_t httpd_error_text(unsigned status, char *out, size_t outsz);

#endif
