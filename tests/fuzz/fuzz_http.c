/*
 * fuzz_http.c - libFuzzer target for the HTTP server's request path as
 * net/http_io.c drives it: proto/http.c's parser (RFC 9112: request
 * line, fields, Content-Length and chunked bodies, pipelining) into
 * svc/httpd.c's router (UDA 1.1 sections 2 - 4: the LAN and Host
 * checks, description documents, SOAP control, GENA SUBSCRIBE /
 * UNSUBSCRIBE) with the sim backend and a GENA manager.
 *
 * Input: byte 0 picks the configuration. Then up to MAX_SEGMENTS
 * segments separated by a line starting with ">>>" (the golden cases'
 * marker), each the bytes one connection sends: a control byte (bits 0-2
 * the peer, bits 3-4 how far the clock moves first, bit 5 the SUBSCRIBE
 * response is lost, bit 6 event deliveries fail, bit 7 the bytes arrive
 * one at a time) followed by raw HTTP: one request or several pipelined
 * ones (at most MAX_REQUESTS in all), served in order as long as the
 * connection stays open. Like the server, the target stops a segment at
 * a parse error (checked to be one of the statuses proto/http.h names),
 * a method other than the five UPnP uses, an incomplete request, or a
 * request that closes the connection.
 *
 * Checks: parsing one byte at a time gives the same head and body as all
 * at once; no body over IGDD_HTTP_MAX_BODY; a status in 100..599; no CR
 * or LF in a response header; every XML body (documents, SOAP answers)
 * and every NOTIFY body well-formed; no response over its limit; NOTIFY
 * heads well-formed.
 */
#define _GNU_SOURCE             /* memmem */

#include "fuzz_env.h"

#include "proto/http.h"
#include "svc/gena.h"
#include "svc/httpd.h"
#include "util/buf.h"
#include "util/limits.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEGMENTS 8
#define MAX_REQUESTS 16
#define MAX_BYTEWISE 20000      /* longest head or body checked byte by byte */

static const char *const methods[] = { "GET", "HEAD", "POST", "SUBSCRIBE", "UNSUBSCRIBE" };

static bool method_ok(const char *m)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i]) == 0)
			return true;
	return false;
}

static bool head_status_ok(int r)
{
	switch (-r) {
	case 400: case 413: case 414: case 417: case 431: case 501: case 505:
		return true;
	default:
		return false;
	}
}

/* The head of p[0..len) fed one byte at a time: the same as at once. */
static void check_head_bytewise(const char *p, size_t len, int want, const struct http_head *hw)
{
	struct http_parser ps;
	char *copy;
	size_t i;
	int r = 0;

	if (len > MAX_BYTEWISE)
		return;
	copy = fuzz_strndup(p, len);
	http_parser_init(&ps, IGDD_HTTP_MAX_HEAD, IGDD_HTTP_MAX_BODY);
	for (i = 1; i <= len && r == 0; i++)
		r = http_parse_head(&ps, copy, i);
	FUZZ_CHECK(r == want);
	if (r > 0) {
		FUZZ_CHECK(strcmp(ps.head.method, hw->method) == 0);
		FUZZ_CHECK(strcmp(ps.head.path, hw->path) == 0);
		FUZZ_CHECK(ps.head.nfields == hw->nfields);
		FUZZ_CHECK(ps.head.framing == hw->framing);
		FUZZ_CHECK(ps.head.keep_alive == hw->keep_alive);
		FUZZ_CHECK(ps.head.expect_continue == hw->expect_continue);
	}
	free(copy);
}

/*
 * The body at in[0..len) into body, in pieces of step bytes (0: at
 * once). 1 complete (*ret_used bytes), 0 incomplete, -status.
 */
static int read_body(struct http_parser *ps, const char *in, size_t len, size_t step,
		     struct buf *body, size_t *ret_used)
{
	size_t off = 0, avail = step && step < len ? step : len, used;
	struct str d;
	int r;

	for (;;) {
		r = http_parse_body(ps, in + off, avail - off, &used, &d);
		if (r < 0)
			return r;
		if (d.len)
			FUZZ_CHECK(buf_append(body, d.p, d.len) == 0);
		off += used;
		if (r == 1)
			break;
		if (used == 0 || off == avail) {
			if (avail == len)
				break;
			avail++;
		}
	}
	*ret_used = off;
	return r;
}

static void check_header_text(const char *s)
{
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(strpbrk(s, "\r\n") == NULL);
}

static void check_response(const struct http_response *resp)
{
	size_t i;

	FUZZ_CHECK(resp->status >= 100 && resp->status <= 599);
	FUZZ_CHECK(!resp->body.toobig);
	FUZZ_CHECK(resp->nheaders <= HTTP_MAX_RESP_HEADERS);
	for (i = 0; i < resp->nheaders; i++) {
		check_header_text(resp->hdr_name[i]);
		check_header_text(resp->hdr_value[i]);
	}
	if (resp->content_type && strstr(resp->content_type, "xml") && resp->body.len)
		FUZZ_CHECK(fuzz_xml_well_formed(resp->body.p, resp->body.len));
}

/* A body written in parts (a listing) read whole, as a client reads it:
 * the parts together are the document checked below. */
static void drain_body(struct http_response *resp)
{
	struct buf whole;

	if (!resp->stream.fill)
		return;
	buf_init(&whole, 1u << 26);
	buf_append(&whole, resp->body.p ? resp->body.p : "", resp->body.len);
	FUZZ_CHECK(buf_stream_fill(&resp->stream, &whole, SIZE_MAX) == 0);
	buf_free(&resp->body);
	resp->body = whole;
}

/*
 * The Host field as svc/httpd.c reads it (proto/http.c http_parse_host()):
 * an address that parses is an IP literal that reads back the same when
 * written as a URL's host (IPv6 in brackets, the zone dropped).
 */
static void check_host(const struct http_head *hd)
{
	char text[IPADDR_STRLEN];
	struct ipaddr a, b;
	uint16_t port;
	bool has_port;
	size_t i;

	for (i = 0; i < hd->nfields; i++) {
		if (!hd->fields[i].name || strcasecmp(hd->fields[i].name, "Host") != 0)
			continue;
		if (http_parse_host(str_cstr(hd->fields[i].value), &a, &has_port, &port) < 0)
			continue;
		FUZZ_CHECK(a.family == AF_INET || a.family == AF_INET6);
		FUZZ_CHECK(a.scope == 0);
		FUZZ_CHECK(ipaddr_url_host(&a, text, sizeof(text)) == 0);
		FUZZ_CHECK(ipaddr_parse_host(str_cstr(text), false, &b) == 0);
		FUZZ_CHECK(ipaddr_eq(&a, &b));
	}
}

/* One parsed request into the router, as net/http_io.c does. */
static void handle(struct fuzz_env *env, uint8_t ctl, const struct http_head *hd,
		   const struct buf *body)
{
	struct http_request req;
	struct http_response resp;
	char sid[GENA_SID_SIZE];

	memset(&req, 0, sizeof(req));
	req.method = hd->method;
	req.url = hd->path;
	req.http_minor = hd->minor;
	req.headers = hd->fields;
	req.nheaders = hd->nfields;
	req.body = str_from(body->p ? body->p : "", body->len);
	req.peer = fuzz_peer(ctl & 7);
	check_host(hd);
	http_response_init(&resp);
	httpd_handle(&env->e, &req, &resp);
	drain_body(&resp);
	check_response(&resp);
	if (env->gena && strcmp(hd->method, "SUBSCRIBE") == 0 && gena_response_sid(&resp, sid)) {
		if (ctl & 0x20)
			gena_response_failed(env->gena, sid);
		else
			gena_response_sent(env->gena, sid);
	}
	http_response_free(&resp);
	if (env->gena)
		fuzz_drain_events(env->gena, ctl & 0x40);
}

/* One connection's bytes p[0..len): its requests in order. */
static void run_segment(struct fuzz_env *env, uint8_t ctl, const char *p, size_t len,
			unsigned *nreq)
{
	static const uint64_t advance_ms[4] = { 0, 1000, 61000, 3601000 };
	char *copy = fuzz_strndup(p, len);
	struct http_parser ps, ps1;
	struct buf body, body1;
	size_t off = 0, used, used1;
	int r, r1;

	if (advance_ms[(ctl >> 3) & 3])
		fuzz_env_advance(env, advance_ms[(ctl >> 3) & 3]);
	buf_init(&body, IGDD_HTTP_MAX_BODY);
	buf_init(&body1, IGDD_HTTP_MAX_BODY);
	while (off < len && (*nreq)++ < MAX_REQUESTS) {
		http_parser_init(&ps, IGDD_HTTP_MAX_HEAD, IGDD_HTTP_MAX_BODY);
		r = http_parse_head(&ps, copy + off, len - off);
		if (ctl & 0x80)
			check_head_bytewise(p + off, len - off, r, &ps.head);
		if (r <= 0) {
			FUZZ_CHECK(r == 0 || head_status_ok(r));
			break;          /* incomplete, or answered and closed */
		}
		FUZZ_CHECK((size_t)r <= IGDD_HTTP_MAX_HEAD && (size_t)r <= len - off);
		if (!method_ok(ps.head.method))
			break;          /* 405, closed */
		off += (size_t)r;
		ps1 = ps;
		buf_reset(&body);
		r = read_body(&ps, copy + off, len - off, 0, &body, &used);
		if ((ctl & 0x80) && len - off <= MAX_BYTEWISE) {
			buf_reset(&body1);
			r1 = read_body(&ps1, copy + off, len - off, 1, &body1, &used1);
			FUZZ_CHECK(r1 == r);
			FUZZ_CHECK(r < 0 || (used1 == used && body1.len == body.len &&
					     memcmp(body1.p ? body1.p : "", body.p ? body.p : "",
						    body.len) == 0));
		}
		if (r <= 0) {
			FUZZ_CHECK(r == 0 || r == -400 || r == -413 || r == -431);
			break;
		}
		FUZZ_CHECK(body.len <= IGDD_HTTP_MAX_BODY);
		FUZZ_CHECK(ps.head.framing != HTTP_BODY_LENGTH ||
			   body.len == ps.head.content_length);
		off += used;
		handle(env, ctl, &ps.head, &body);
		if (!ps.head.keep_alive)
			break;
	}
	buf_free(&body);
	buf_free(&body1);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end, *mark;
	struct fuzz_env env;
	unsigned n = 0, nreq = 0;

	if (size < 2 || size > 8 * IGDD_HTTP_MAX_BODY)
		return 0;
	if (fuzz_env_init(&env, (enum fuzz_config)(data[0] % FUZZ_CONFIG_COUNT), true) < 0)
		return 0;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && n++ < MAX_SEGMENTS && nreq < MAX_REQUESTS) {
		uint8_t ctl = (uint8_t)*p++;

		mark = memmem(p, (size_t)(end - p), "\n>>>", 4);
		run_segment(&env, ctl, p, (size_t)((mark ? mark + 1 : end) - p), &nreq);
		if (!mark)
			break;
		p = mark + 4;
		/* The rest of the marker line (a peer address in a golden case). */
		while (p < end && *p != '\n')
			p++;
		if (p < end)
			p++;
	}
	fuzz_env_advance(&env, 86401u * 1000u);
	fuzz_env_fini(&env);
	return 0;
}
