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
};

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);
int http_response_add_header(struct http_response *r, const char *name, const char *value);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);

void httpd_handle(struct engine *e, const struct http_request *req, struct http_response *resp);

#endif
