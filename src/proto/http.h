/*
 * http.h - HTTP/1.x request parsing (RFC 9112), pure: no sockets, no
 * clock, no allocation. The caller owns the input buffer and feeds it as
 * it grows; the parser remembers how far it has looked.
 *
 *   request line      RFC 9112 section 3: method token SP request-target
 *                     SP "HTTP/" DIGIT "." DIGIT; 1.0 and 1.1 are served,
 *                     another well-formed version is 505, anything else
 *                     400. A line longer than the head limit is 414.
 *   request-target    section 3.2: origin-form, or absolute-form
 *                     ("http://host:port/path": the path is served and
 *                     the authority replaces Host, section 3.2.2); the
 *                     query is cut off (UPnP never uses one).
 *   header fields     section 5: name ":" OWS value OWS. Obsolete line
 *                     folding (5.2), white space before the colon (5.1),
 *                     a bare CR (2.2), NUL and other control characters
 *                     are 400; more than IGDD_HTTP_MAX_HEADERS fields or
 *                     a head over its limit 431 (RFC 6585 section 5).
 *                     A single LF ends a line as well as CRLF (2.2), and
 *                     empty lines before the request line are skipped.
 *   message body      section 6: Content-Length (digits only; over the
 *                     body limit 413 before any byte is read), chunked
 *                     (section 7.1: sizes in hex, extensions ignored,
 *                     trailer fields read and dropped, the decoded size
 *                     bounded: 413), no body otherwise. Two Content-Length
 *                     fields, Content-Length with Transfer-Encoding
 *                     (section 6.3: the way requests are smuggled),
 *                     Transfer-Encoding in HTTP/1.0 (6.1) are 400; a
 *                     transfer coding other than chunked is 501.
 *   persistence       section 9.3: HTTP/1.1 keeps the connection unless
 *                     "Connection: close"; HTTP/1.0 closes it unless
 *                     "Connection: keep-alive".
 *   Expect            RFC 9110 section 10.1.1: "100-continue" is
 *                     reported (the caller sends 100 Continue before it
 *                     reads the body); any other expectation is 417.
 *                     HTTP/1.0 requests' Expect is ignored.
 *
 * Errors are returned as the negative HTTP status to answer with; the
 * connection must be closed after such an answer.
 */
#ifndef IGDD_PROTO_HTTP_H
#define IGDD_PROTO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"
#include "util/limits.h"
#include "util/str.h"

/* One header field; strings NUL-terminated in the caller's buffer. */
struct http_header {
	const char *name;
	const char *value;
};

enum http_framing {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,               /* content_length bytes */
	HTTP_BODY_CHUNKED,
};

/* A parsed request head. Every string points into the caller's buffer. */
struct http_head {
	const char *method;
	const char *path;               /* origin-form path, query cut off */
	int minor;                      /* 0: HTTP/1.0, 1: HTTP/1.1 */
	struct http_header fields[IGDD_HTTP_MAX_HEADERS + 1]; /* +1: Host from absolute-form */
	size_t nfields;
	enum http_framing framing;
	uint64_t content_length;
	bool keep_alive;                /* the connection may serve another request */
	bool expect_continue;           /* "Expect: 100-continue" in HTTP/1.1 */
};

struct http_parser {
	size_t max_head;                /* request line + fields + empty line */
	uint64_t max_body;              /* decoded body bytes */
	/* head */
	size_t scanned;                 /* bytes looked at for the end of the head */
	size_t skip;                    /* empty lines before the request line */
	bool line_seen;                 /* the request line is complete */
	struct http_head head;
	/* body */
	int bstate;
	uint64_t left;                  /* bytes of the body or of the chunk still due */
	uint64_t body_len;              /* decoded so far */
	size_t line_len;                /* bytes of the current chunk-size or trailer line */
	size_t trailer_len;
	unsigned digits;
};

/* Set the limits and start a request; http_parser_reset() starts the next. */
void http_parser_init(struct http_parser *p, size_t max_head, uint64_t max_body);
void http_parser_reset(struct http_parser *p);

/* After http_parser_init(): the body that follows is chunked (a message
 * whose head was read elsewhere, e.g. a response: proto/igdc.c); then
 * http_parse_body() decodes it, max_head bounding its trailer. */
void http_parser_start_chunked(struct http_parser *p);

/*
 * Look for a complete head at the start of buf[0..len), which holds what
 * has arrived so far (the same bytes again, and more, on the next call).
 * Returns 0 while the head is incomplete, the number of bytes it takes
 * (empty lines before it included) once it is complete and valid, or
 * -status (400, 414, 417, 431, 413, 501, 505). On success p->head is
 * filled and buf is modified in place (separators become NULs); the
 * strings stay valid as long as buf[0..return) is left alone.
 */
int http_parse_head(struct http_parser *p, char *buf, size_t len);

/*
 * Decode body framing from in[0..len) (bytes after the head, and then
 * after what the previous calls used). *ret_used bytes were consumed and
 * *ret_data is body data found among them (a view into in, possibly
 * empty); call again with the rest while it returns 0 and used bytes.
 * Returns 1 once the body is complete (bytes past *ret_used belong to the
 * next request), 0 when more input is needed, or -status (400, 413, 431).
 */
int http_parse_body(struct http_parser *p, const char *in, size_t len, size_t *ret_used,
		    struct str *ret_data);

/*
 * A Host field value (or an absolute-form authority) as igdd takes it
 * (RFC 9110 7.2, RFC 3986 3.2.2; UDA 1.1 Annex A: IPv6 literals in
 * brackets): an IP literal only, never a name (DNS rebinding: a name
 * says nothing about who is asked), optionally ":" and a port of 1 to 5
 * digits (0..65535). "[v6]", "[v6]:port", and for a link-local address
 * "[fe80::x%25zone]:port" (what miniupnpc sends in SOAP requests) or
 * "[fe80::x%zone]" (the zone is dropped: it names the client's own
 * interface). White space around the value is ignored. 0, or -EINVAL;
 * *ret_has_port tells whether a port was given.
 */
int http_parse_host(struct str value, struct ipaddr *ret_addr, bool *ret_has_port,
		    uint16_t *ret_port);

/* The reason phrase for a status code (RFC 9110 section 15), "" when unknown. */
const char *http_reason(unsigned status);

#endif
