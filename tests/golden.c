/*
 * golden.c - golden request -> response cases (tests/data/NAME.case) run
 * through the daemon's own HTTP path without sockets: each request is
 * turned into bytes and parsed by proto/http.c (RFC 9112), refused as
 * net/http_io.c refuses (the same svc/httpd.h writer), or answered by
 * httpd_handle() with the sim backend and a fake clock, its head written
 * by httpd_write_head() as the daemon writes it; the runner then reads
 * the answer as a control point would. UDA 1.1 sections 2
 * (descriptions) and 3 (SOAP control), WANIPConnection:2 section 2.5 as
 * seen by a control point.
 *
 * Usage: golden DIR   (every DIR/NAME.case, in name order)
 *        IGDD_GOLDEN_UPDATE=1 golden DIR   prints each case back with the
 *        actual responses in place of the expected ones (to write new
 *        cases; never writes a file). tests/golden_headers.py writes the
 *        header sections of every case from it.
 *
 * Case format:
 *   # comment lines, only before the first exchange
 *   config: KEY = VALUE        before the first exchange; overrides the base
 *                              configuration (config_parse() syntax)
 *   >>> PEER_IP [on LAN]       a request from PEER_IP (IPv4 or IPv6 text),
 *   POST /ctl/IPConn HTTP/1.1  received on the LAN named (a lan_interface;
 *   Host: ...                  by default the LAN whose subnet or prefixes
 *                              hold the peer, else LAN 0): the raw HTTP
 *                              text follows (request line, headers, blank
 *                              line, body; LF or CRLF)
 *
 *   <body>
 *   <<< STATUS                 the expected status; then the expected
 *   Content-Type: ...          header fields, every one the answer has
 *   EXT:                       but Date, Server and Content-Length, in
 *                              order, up to an empty line; then the
 *   <body>                     expected body up to the next ">>>",
 *                              "clock:" or EOF
 *   clock: +N                  advance the fake clock N seconds, then
 *                              engine_tick() (leases, the WAN
 *                              connection's timers, the sim link)
 *   natpmp: PEER PROTO INTERNAL SUGGESTED LIFETIME -> RESULT EXTERNAL LIFETIME
 *                              a NAT-PMP mapping request (RFC 6886 3.3;
 *                              PROTO TCP or UDP, LIFETIME 0 deletes) from
 *                              PEER through svc/pcp.c, and the answer's
 *                              result code, mapped port and lifetime
 *                              (the epoch is not compared)
 *   traffic: UID N             N inbound packets through the pinhole with
 *                              UniqueID UID, as if the WAN had sent them
 *                              (the sim backend's counter)
 * The request goes on the wire with CRLF line ends; its body is taken as
 * written (lines joined with LF, trailing blank lines dropped) and its
 * Content-Length is that body's length (the case's value is replaced; a
 * POST or a body without Content-Length or Transfer-Encoding gets one).
 * Every answer is held to the rules of wire_read() (status line and
 * reason, CRLF, Date, the Server shape, Content-Length equal to the body
 * sent, or well-formed chunks); its remaining header fields compare
 * with the case's line by line; its body (decoded from chunks; for HEAD,
 * the body a GET carries, whose length the Content-Length must be)
 * compares line by line (CR before LF ignored), trailing white space at
 * the end ignored.
 *
 * config: lines for a repeatable key (lan_interface, acl,
 * connection_control, sim_static_forward, pinhole_acl) add to each other; for
 * any other key the last one wins.
 *
 * Base configuration: backend sim, lan_interface lan0, uuid
 * 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab, external_ip 203.0.113.1,
 * friendly_name "igdd test", http_port 5000, sim_router_ports no (the
 * gateway's own ports come from sim_static_forward lines of a case, never
 * from this host's sockets); LAN 0 192.168.1.1/24,
 * 2001:db8:1::1/64, fd00:1::1/64, fe80::1/64 (interface index 2); a
 * second lan_interface (config: lan_interface = guest0) is LAN 1,
 * 192.168.2.1/24, 2001:db8:2::1/64, fe80::1/64 (index 3); fake clock
 * starting at 1000000 ms. Pinhole UniqueIDs come from a fixed key (1),
 * so they are the same at every run.
 */
#define _GNU_SOURCE             /* memmem */

#include "conf/config.h"
#include "core/clock.h"
#include "core/pinhole.h"
#include "engine.h"
#include "svc/httpd.h"
#include "svc/pcp.h"
#include "proto/http.h"
#include "proto/ssdp.h"
#include "util/be.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLOCK_START_MS 1000000u
#define MAX_CONFIG_KEYS 64

static const char *const base_config[][2] = {
	{ "backend", "sim" },
	{ "lan_interface", "lan0" },
	{ "uuid", "5b1c6f3e-6a2c-4c8e-9a55-0123456789ab" },
	{ "external_ip", "203.0.113.1" },
	{ "friendly_name", "\"igdd test\"" },
	{ "http_port", "5000" },
	{ "sim_router_ports", "no" },   /* not this host's sockets: cases are host-free */
};

/* ---- lines of a case file ---- */

struct lines {
	const char *text;
	size_t len, pos;
	unsigned lineno;
};

static bool peek_line(const struct lines *l, struct str *ret)
{
	const char *p, *nl;
	size_t n;

	if (l->pos >= l->len)
		return false;
	p = l->text + l->pos;
	nl = memchr(p, '\n', l->len - l->pos);
	n = nl ? (size_t)(nl - p) : l->len - l->pos;
	if (n && p[n - 1] == '\r')
		n--;
	*ret = str_from(p, n);
	return true;
}

static bool next_line(struct lines *l, struct str *ret)
{
	const char *nl;

	if (!peek_line(l, ret))
		return false;
	nl = memchr(l->text + l->pos, '\n', l->len - l->pos);
	l->pos = nl ? (size_t)(nl - l->text) + 1 : l->len;
	l->lineno++;
	return true;
}

static bool is_exchange_end(struct str s)
{
	return str_startswith_cstr(s, ">>>") || str_startswith_cstr(s, "clock:") ||
	       str_startswith_cstr(s, "natpmp:") || str_startswith_cstr(s, "traffic:");
}

/* ---- configuration ---- */

struct case_config {
	unsigned n;
	char key[MAX_CONFIG_KEYS][64];
	char value[MAX_CONFIG_KEYS][IGDD_CONF_MAX_LINE];
};

/* Set (or, for a repeatable key, add) one key. */
static int config_set(struct case_config *cc, struct str key, struct str value)
{
	unsigned i = 0;
	bool repeat;

	key = str_trim(key);
	value = str_trim(value);
	repeat = str_eq_cstr(key, "acl") || str_eq_cstr(key, "connection_control") ||
		 str_eq_cstr(key, "sim_static_forward") || str_eq_cstr(key, "lan_interface") ||
		 str_eq_cstr(key, "pinhole_acl");
	if (!repeat)
		for (i = 0; i < cc->n && !str_eq_cstr(key, cc->key[i]); i++)
			;
	if (repeat || i == cc->n) {
		if (cc->n == MAX_CONFIG_KEYS)
			return -E2BIG;
		i = cc->n++;
	}
	if (str_copy(key, cc->key[i], sizeof(cc->key[i])) < 0 ||
	    str_copy(value, cc->value[i], sizeof(cc->value[i])) < 0)
		return -E2BIG;
	return 0;
}

/* Comments and config: lines before the first exchange. */
static int read_preamble(struct lines *l, struct case_config *cc, const char *name)
{
	struct str s;
	const char *eq;
	size_t i;

	memset(cc, 0, sizeof(*cc));
	for (i = 0; i < sizeof(base_config) / sizeof(base_config[0]); i++)
		config_set(cc, str_cstr(base_config[i][0]), str_cstr(base_config[i][1]));
	while (peek_line(l, &s) && !is_exchange_end(s)) {
		next_line(l, &s);
		if (s.len == 0 || s.p[0] == '#')
			continue;
		if (!str_startswith_cstr(s, "config:")) {
			fprintf(stderr, "%s:%u: unexpected line before the first exchange\n",
				name, l->lineno);
			return -EINVAL;
		}
		s = str_from(s.p + 7, s.len - 7);
		eq = memchr(s.p, '=', s.len);
		if (!eq || config_set(cc, str_from(s.p, (size_t)(eq - s.p)),
				      str_from(eq + 1, s.len - (size_t)(eq - s.p) - 1)) < 0) {
			fprintf(stderr, "%s:%u: bad config: line\n", name, l->lineno);
			return -EINVAL;
		}
	}
	return 0;
}

static int make_config(const struct case_config *cc, struct config *ret, const char *name)
{
	char err[256];
	struct buf text;
	unsigned i;
	int r;

	buf_init(&text, 1u << 20);
	for (i = 0; i < cc->n; i++)
		buf_printf(&text, "%s = %s\n", cc->key[i], cc->value[i]);
	r = config_parse(name, text.p ? text.p : "", text.len, ret, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s\n", err);
	buf_free(&text);
	return r;
}

/* ---- one exchange ---- */

/*
 * The request as bytes on the wire: request line and header fields as
 * written, each ended by CRLF, the empty line, the body. Content-Length
 * is the body's length as the case writes it (the case's own value is
 * replaced; one is added to a body that has neither it nor
 * Transfer-Encoding), so that a case stays readable.
 */
struct request_text {
	struct buf raw;
	bool head_method;               /* HEAD: the answer has no body */
};

/* Request line, headers, blank line, body into rt->raw; the "<<<" line
 * that ends them in *ret_status_line. */
static int parse_request(struct lines *l, struct request_text *rt, struct str *ret_status_line)
{
	struct str s = STR_LIT(""), line;
	struct buf head, body;
	bool in_body = false, seen_line = false, framed = false;
	int r = 0;

	memset(rt, 0, sizeof(*rt));
	buf_init(&rt->raw, 1u << 22);
	buf_init(&head, 1u << 22);
	buf_init(&body, 1u << 22);
	while (next_line(l, &s) && !str_startswith_cstr(s, "<<<")) {
		if (in_body) {
			buf_append(&body, s.p, s.len);
			buf_puts(&body, "\n");
			continue;
		}
		if (s.len == 0) {
			in_body = seen_line;
			continue;
		}
		line = s;
		if (!seen_line) {
			seen_line = true;
			rt->head_method = str_startswith_cstr(s, "HEAD ");
		} else if (s.len >= 15 && strncasecmp(s.p, "Content-Length:", 15) == 0) {
			continue;       /* written below, from the body */
		} else if (s.len >= 18 && strncasecmp(s.p, "Transfer-Encoding:", 18) == 0) {
			framed = true;
		}
		buf_append(&head, line.p, line.len);
		buf_puts(&head, "\r\n");
	}
	if (!str_startswith_cstr(s, "<<<") || !seen_line) {
		r = -EINVAL;
		goto out;
	}
	while (body.len && body.p[body.len - 1] == '\n')
		body.len--;
	buf_append(&rt->raw, head.p, head.len);
	if (!framed && (body.len || str_startswith_cstr(str_from(head.p, head.len), "POST ")))
		buf_printf(&rt->raw, "Content-Length: %zu\r\n", body.len);
	buf_puts(&rt->raw, "\r\n");
	if (body.len)
		buf_append(&rt->raw, body.p, body.len);
	if (rt->raw.toobig)
		r = -E2BIG;
	*ret_status_line = s;
out:
	buf_free(&head);
	buf_free(&body);
	return r;
}

static void request_text_free(struct request_text *rt)
{
	buf_free(&rt->raw);
}

/* Body without trailing white space, for comparison. */
static struct str rtrim(struct str s)
{
	while (s.len && strchr(" \t\r\n", s.p[s.len - 1]))
		s.len--;
	return s;
}

/* Next line of s from *pos (CR before LF dropped); false at the end. */
static bool take_line(struct str s, size_t *pos, struct str *ret)
{
	const char *nl;
	size_t n;

	if (*pos > s.len || (*pos == s.len && s.len != 0) || s.len == 0)
		return false;
	nl = memchr(s.p + *pos, '\n', s.len - *pos);
	n = nl ? (size_t)(nl - (s.p + *pos)) : s.len - *pos;
	*ret = str_from(s.p + *pos, n && s.p[*pos + n - 1] == '\r' ? n - 1 : n);
	*pos += n + 1;
	return true;
}

/* Compare line by line; on a difference print it and return false. */
static bool same_lines(struct str want, struct str got, const char *where, const char *what)
{
	struct str a = STR_NULL, b = STR_NULL;
	size_t pa = 0, pb = 0;
	unsigned line = 0;
	bool ha, hb;

	want = rtrim(want);
	got = rtrim(got);
	for (;;) {
		ha = take_line(want, &pa, &a);
		hb = take_line(got, &pb, &b);
		line++;
		if (!ha && !hb)
			return true;
		if (ha != hb || !str_eq(a, b)) {
			fprintf(stderr, "%s: %s line %u differs\n  expected: %.*s\n  actual:   %.*s\n",
				where, what, line, ha ? (int)a.len : 5, ha ? a.p : "(end)",
				hb ? (int)b.len : 5, hb ? b.p : "(end)");
			return false;
		}
	}
}

/* The expected answer after "<<< STATUS": its header fields up to an
 * empty line (into hdr), then its body up to the next exchange, clock:
 * or EOF (into out). */
static void read_expected(struct lines *l, struct buf *hdr, struct buf *out)
{
	struct str s;

	while (peek_line(l, &s) && !is_exchange_end(s)) {
		next_line(l, &s);
		if (s.len == 0)
			break;
		buf_append(hdr, s.p, s.len);
		buf_puts(hdr, "\n");
	}
	while (peek_line(l, &s) && !is_exchange_end(s)) {
		next_line(l, &s);
		buf_append(out, s.p, s.len);
		buf_puts(out, "\n");
	}
}

/* ---- the daemon's side of one request (net/http_io.c, without sockets) ---- */

/* A fixed Date: the value is the daemon's clock, its presence is checked. */
#define GOLDEN_DATE "Sun, 06 Nov 1994 08:49:37 GMT"

/* The transport's refusal: a short text and Connection: close
 * (http_io.c conn_error()). */
static bool wire_error(struct buf *wire, const char *server, unsigned status, int minor,
		       bool head_only)
{
	char text[64];
	size_t n = httpd_error_text(status, text, sizeof(text));
	struct httpd_head hd = {
		.status = status, .date = GOLDEN_DATE, .server = server, .close = true,
		.request_minor = minor, .content_type = HTTPD_TEXT_TYPE,
		.allow = status == 405 ? HTTPD_ALLOW : NULL, .body_len = n,
		.framing = HTTPD_FRAME_LENGTH,
	};

	if (!httpd_write_head(wire, &hd))
		return false;
	if (!head_only)
		buf_append(wire, text, n);
	return true;
}

/* A chunk of a body written in parts (RFC 9112 7.1), as http_io.c frames it. */
static void wire_chunk(struct buf *wire, const struct buf *part)
{
	if (part->len) {
		buf_printf(wire, "%zx\r\n", part->len);
		buf_append(wire, part->p, part->len);
		buf_puts(wire, "\r\n");
	}
}

/*
 * Everything the daemon sends for the request bytes raw from peer on
 * LAN lan, into wire: proto/http.c parses the head and the body (its
 * refusals answered as http_io.c answers them), the method is checked,
 * httpd_handle() answers, httpd_write_head() writes the head, and the
 * body follows with Content-Length, in chunks, or up to the close. For
 * HEAD, the body a GET would carry (not sent) goes to head_body. 0, or
 * -1 when the request is not complete (a malformed case).
 */
static int wire_answer(struct engine *e, const char *server, struct buf *raw,
		       const struct ipaddr *peer, unsigned lan, struct buf *wire,
		       struct buf *head_body)
{
	struct http_parser ps;
	struct http_request req;
	struct http_response resp;
	struct buf body, part;
	struct str data;
	size_t off, used;
	bool head;
	int r, parts;
	struct httpd_head hd;

	http_parser_init(&ps, IGDD_HTTP_MAX_HEAD, IGDD_HTTP_MAX_BODY);
	r = http_parse_head(&ps, raw->p, raw->len);
	if (r == 0)
		return -1;
	if (r < 0)
		return wire_error(wire, server, (unsigned)-r, 1, false) ? 0 : -1;
	head = strcmp(ps.head.method, "HEAD") == 0;
	if (!httpd_method_ok(ps.head.method))
		return wire_error(wire, server, 405, ps.head.minor, false) ? 0 : -1;
	off = (size_t)r;
	buf_init(&body, IGDD_HTTP_MAX_BODY);
	for (;;) {
		r = http_parse_body(&ps, raw->p + off, raw->len - off, &used, &data);
		if (r < 0 || (data.len && buf_append(&body, data.p, data.len) < 0)) {
			buf_free(&body);
			return wire_error(wire, server, r < 0 ? (unsigned)-r : 413, ps.head.minor,
					  head) ? 0 : -1;
		}
		off += used;
		if (r == 1)
			break;
		if (used == 0) {
			buf_free(&body);
			return -1;
		}
	}
	httpd_request_init(&req, &ps.head, str_from(body.p ? body.p : "", body.len), peer, lan);
	http_response_init(&resp);
	httpd_handle(e, &req, &resp);
	parts = buf_stream_fill(&resp.stream, &resp.body, IGDD_HTTP_STREAM_PART);
	memset(&hd, 0, sizeof(hd));
	hd.status = resp.status >= 100 && resp.status <= 599 ? (unsigned)resp.status : 500;
	hd.date = GOLDEN_DATE;
	hd.server = server;
	hd.close = !ps.head.keep_alive;
	hd.request_minor = ps.head.minor;
	hd.content_type = resp.content_type;
	hd.resp = &resp;
	hd.body_len = resp.body.len;
	hd.framing = HTTPD_FRAME_LENGTH;
	if (resp.body.toobig || parts < 0) {
		r = wire_error(wire, server, 500, ps.head.minor, head) ? 0 : -1;
		goto out;
	}
	if (parts > 0 && !head) {
		hd.framing = ps.head.minor >= 1 ? HTTPD_FRAME_CHUNKED : HTTPD_FRAME_CLOSE;
		hd.close = hd.close || hd.framing == HTTPD_FRAME_CLOSE;
	}
	if (!httpd_write_head(wire, &hd)) {
		r = wire_error(wire, server, 500, ps.head.minor, head) ? 0 : -1;
		goto out;
	}
	r = 0;
	if (head) {
		/* What a GET would carry: its length is the Content-Length sent. */
		buf_append(head_body, resp.body.p ? resp.body.p : "", resp.body.len);
		goto out;
	}
	if (hd.framing == HTTPD_FRAME_LENGTH) {
		buf_append(wire, resp.body.p ? resp.body.p : "", resp.body.len);
		goto out;
	}
	part = resp.body;
	do {
		if (hd.framing == HTTPD_FRAME_CHUNKED)
			wire_chunk(wire, &part);
		else
			buf_append(wire, part.p ? part.p : "", part.len);
		buf_reset(&part);
		parts = parts > 0 ? buf_stream_fill(&resp.stream, &part, IGDD_HTTP_STREAM_PART) : 0;
		if (parts < 0) {
			fprintf(stderr, "the body written in parts failed\n");
			r = -1;
			break;
		}
	} while (part.len || parts > 0);
	resp.body = part;
	if (hd.framing == HTTPD_FRAME_CHUNKED)
		buf_puts(wire, "0\r\n\r\n");
out:
	http_response_free(&resp);
	buf_free(&body);
	return wire->toobig ? -1 : r;
}

/* ---- the control point's side: what it reads ---- */

struct wire_reply {
	unsigned status;
	struct buf fields;              /* the fields the case lists, one a line */
	struct buf body;                /* decoded */
};

/* Chunked body (RFC 9112 7.1) in s into out; false when malformed. */
static bool unchunk(struct str s, struct buf *out)
{
	size_t pos = 0;

	for (;;) {
		const char *crlf = memmem(s.p + pos, s.len - pos, "\r\n", 2);
		uint64_t n = 0;
		size_t i;

		if (!crlf || crlf == s.p + pos)
			return false;
		for (i = pos; s.p + i < crlf; i++) {
			static const char hex[] = "0123456789abcdef";
			const char *d = memchr(hex, s.p[i], 16);

			if (!d || n > (SIZE_MAX >> 4))
				return false;
			n = n * 16 + (uint64_t)(d - hex);
		}
		pos = (size_t)(crlf - s.p) + 2;
		if (n == 0)
			return s.len - pos == 2 && memcmp(s.p + pos, "\r\n", 2) == 0;
		if (s.len - pos < n + 2 || memcmp(s.p + pos + n, "\r\n", 2) != 0)
			return false;
		buf_append(out, s.p + pos, (size_t)n);
		pos += (size_t)n + 2;
	}
}

/*
 * Read wire as a control point does and check what every answer must
 * hold: "HTTP/1.1 NNN Reason" with the reason of the status, CRLF line
 * ends, a Date, a Server of the form "OS[/version] UPnP/1.1
 * igdd/<version>" (UDA 1.1 1.2.2 and 2.1), Content-Length equal to the
 * bytes that follow or Transfer-Encoding: chunked with a well-formed
 * chunked body, or neither and a close; after HEAD (head_body not NULL:
 * the body a GET would carry) no byte, and a Content-Length of
 * head_body's length, which then stands as the body compared. The other
 * fields go to ret->fields for the case to compare. false (said on
 * stderr) when a rule is broken.
 */
static bool wire_read(struct str wire, const struct buf *head_body, struct wire_reply *ret,
		      const char *where)
{
	const char *end = memmem(wire.p, wire.len, "\r\n\r\n", 4);
	char reason[64], server_tail[64];
	struct str headp, line, rest;
	size_t pos = 0, body_at;
	uint64_t clen = 0;
	bool has_len = false, chunked = false, has_date = false, has_server = false, close = false;
	unsigned status;
	int n;

	if (!end) {
		fprintf(stderr, "%s: the answer has no end of head\n", where);
		return false;
	}
	body_at = (size_t)(end - wire.p) + 4;
	headp = str_from(wire.p, body_at - 2);
	if (!take_line(headp, &pos, &line) || line.len < 13 ||
	    memcmp(line.p, "HTTP/1.1 ", 9) != 0 ||
	    str_to_u64(str_from(line.p + 9, 3), 999, &clen) < 0 || line.p[12] != ' ') {
		fprintf(stderr, "%s: bad status line %.*s\n", where, (int)line.len, line.p);
		return false;
	}
	status = (unsigned)clen;
	clen = 0;
	n = snprintf(reason, sizeof(reason), "%s", http_reason(status));
	if (n <= 0 || !str_eq_cstr(str_from(line.p + 13, line.len - 13), reason)) {
		fprintf(stderr, "%s: status line %.*s: reason phrase not \"%s\"\n", where,
			(int)line.len, line.p, reason);
		return false;
	}
	ret->status = status;
	snprintf(server_tail, sizeof(server_tail), " UPnP/1.1 igdd/%s", IGDD_VERSION);
	while (take_line(headp, &pos, &line) && line.len) {
		const char *colon = memchr(line.p, ':', line.len);
		struct str name, value;

		if (!colon || headp.p[pos - 2] != '\r') {
			fprintf(stderr, "%s: bad field line %.*s\n", where, (int)line.len, line.p);
			return false;
		}
		name = str_from(line.p, (size_t)(colon - line.p));
		value = str_trim(str_from(colon + 1, line.len - name.len - 1));
		if (str_eq_cstr(name, "Date")) {
			has_date = value.len > 0;
		} else if (str_eq_cstr(name, "Server")) {
			const char *sp = memchr(value.p, ' ', value.len);

			has_server = sp && sp > value.p &&
				     str_eq_cstr(str_from(sp, value.len - (size_t)(sp - value.p)),
						 server_tail);
			if (!has_server) {
				fprintf(stderr, "%s: Server: %.*s is not \"OS[/version]%s\"\n", where,
					(int)value.len, value.p, server_tail);
				return false;
			}
		} else if (str_eq_cstr(name, "Content-Length")) {
			if (has_len || str_to_u64(value, UINT32_MAX, &clen) < 0) {
				fprintf(stderr, "%s: bad Content-Length\n", where);
				return false;
			}
			has_len = true;
		} else {
			chunked |= str_eq_cstr(name, "Transfer-Encoding") &&
				   str_eq_cstr(value, "chunked");
			close |= str_eq_cstr(name, "Connection") && str_eq_cstr(value, "close");
			buf_append(&ret->fields, line.p, line.len);
			buf_puts(&ret->fields, "\n");
		}
	}
	if (!has_date || !has_server) {
		fprintf(stderr, "%s: no %s\n", where, has_date ? "Server" : "Date");
		return false;
	}
	rest = str_from(wire.p + body_at, wire.len - body_at);
	if (has_len && chunked) {
		fprintf(stderr, "%s: Content-Length with chunked\n", where);
		return false;
	}
	if (!has_len && !chunked && !close) {
		fprintf(stderr, "%s: neither Content-Length nor chunked, and no close\n", where);
		return false;
	}
	if (head_body) {
		if (rest.len || (has_len && clen != head_body->len)) {
			fprintf(stderr, "%s: HEAD: %zu body bytes, Content-Length %llu for a body of %zu\n",
				where, rest.len, (unsigned long long)clen, head_body->len);
			return false;
		}
		buf_append(&ret->body, head_body->p ? head_body->p : "", head_body->len);
	} else if (has_len) {
		if (clen != rest.len) {
			fprintf(stderr, "%s: Content-Length %llu, %zu bytes follow\n", where,
				(unsigned long long)clen, rest.len);
			return false;
		}
		buf_append(&ret->body, rest.p, rest.len);
	} else if (chunked) {
		if (!unchunk(rest, &ret->body)) {
			fprintf(stderr, "%s: malformed chunked body\n", where);
			return false;
		}
	} else {
		buf_append(&ret->body, rest.p, rest.len);
	}
	return true;
}

/* "PEER [on LAN]": the peer (a link-local one on the LAN's interface)
 * and the LAN its request arrives on. 0 or -1. */
static int parse_peer(const struct engine *e, struct str s, struct ipaddr *ret_peer,
		      unsigned *ret_lan)
{
	struct str words = str_trim(s), a = words, on = STR_NULL;
	const char *sp = memchr(words.p, ' ', words.len);
	int lan = -1;
	size_t i;

	if (sp) {
		a = str_from(words.p, (size_t)(sp - words.p));
		on = str_trim(str_from(sp + 1, words.len - a.len - 1));
		if (!str_startswith_cstr(on, "on "))
			return -1;
		on = str_trim(str_from(on.p + 3, on.len - 3));
		for (i = 0; i < e->nlans; i++)
			if (str_eq_cstr(on, e->lans[i].name))
				lan = (int)i;
		if (lan < 0)
			return -1;
	}
	if (ipaddr_parse(a, ret_peer) < 0)
		return -1;
	if (ipaddr_is_linklocal(ret_peer))
		ret_peer->scope = e->lans[lan < 0 ? 0 : lan].ifindex;
	if (lan < 0)
		lan = engine_lan_find(e, ret_peer);
	*ret_lan = lan < 0 ? 0 : (unsigned)lan;
	return 0;
}

/* Run one exchange; 0 pass, 1 fail, -1 malformed case. */
static int run_exchange(struct engine *e, struct lines *l, struct str head, bool update,
			const char *name)
{
	struct request_text rt;
	struct wire_reply got;
	struct str status_line;
	struct buf want, want_fields, wire, head_body;
	struct ipaddr peer;
	char where[300], server[160];
	unsigned lineno = l->lineno, lan;
	uint64_t want_status;
	int rc = 0;
	size_t start = l->pos;

	memset(&rt, 0, sizeof(rt));
	memset(&got, 0, sizeof(got));
	buf_init(&want, 1u << 24);
	buf_init(&want_fields, 1u << 16);
	buf_init(&wire, 1u << 26);
	buf_init(&head_body, 1u << 26);
	buf_init(&got.fields, 1u << 16);
	buf_init(&got.body, 1u << 26);
	snprintf(where, sizeof(where), "%s:%u", name, lineno);
	if (parse_request(l, &rt, &status_line) < 0 ||
	    parse_peer(e, str_from(head.p + 3, head.len - 3), &peer, &lan) < 0 ||
	    str_to_u64(str_trim(str_from(status_line.p + 3, status_line.len - 3)), 999,
		       &want_status) < 0) {
		fprintf(stderr, "%s: malformed exchange\n", where);
		rc = -1;
		goto out;
	}
	read_expected(l, &want_fields, &want);
	ssdp_server_string(e->cfg->server_os, IGDD_VERSION, server, sizeof(server));
	if (wire_answer(e, server, &rt.raw, &peer, lan, &wire, &head_body) < 0) {
		fprintf(stderr, "%s: the request is not complete, or its answer failed\n", where);
		rc = -1;
		goto out;
	}
	if (!wire_read(str_from(wire.p ? wire.p : "", wire.len), rt.head_method ? &head_body : NULL,
		       &got, where)) {
		rc = 1;
		goto out;
	}
	if (update) {
		printf("%.*s\n", (int)head.len, head.p);
		printf("%.*s", (int)(status_line.p - (l->text + start)), l->text + start);
		printf("<<< %u\n%.*s\n%.*s", got.status, (int)got.fields.len,
		       got.fields.p ? got.fields.p : "", (int)got.body.len,
		       got.body.p ? got.body.p : "");
		if (got.body.len && got.body.p[got.body.len - 1] != '\n')
			printf("\n");
	}
	if (got.status != want_status) {
		fprintf(stderr, "%s: status %u, expected %u\n", where, got.status,
			(unsigned)want_status);
		rc = 1;
	} else if (!same_lines(str_from(want_fields.p ? want_fields.p : "", want_fields.len),
			       str_from(got.fields.p ? got.fields.p : "", got.fields.len), where,
			       "header field")) {
		rc = 1;
	} else if (!same_lines(str_from(want.p ? want.p : "", want.len),
			       str_from(got.body.p ? got.body.p : "", got.body.len), where, "body")) {
		rc = 1;
	}
out:
	request_text_free(&rt);
	buf_free(&want);
	buf_free(&want_fields);
	buf_free(&wire);
	buf_free(&head_body);
	buf_free(&got.fields);
	buf_free(&got.body);
	return rc;
}

/* The next white-space separated word of *s. */
static struct str next_word(struct str *s)
{
	size_t i = 0, j;

	while (i < s->len && (s->p[i] == ' ' || s->p[i] == '\t'))
		i++;
	j = i;
	while (j < s->len && s->p[j] != ' ' && s->p[j] != '\t')
		j++;
	*s = str_from(s->p + j, s->len - j);
	return str_from(s->p - (j - i), j - i);
}

/* "natpmp: PEER PROTO INTERNAL SUGGESTED LIFETIME -> RESULT EXTERNAL
 * LIFETIME": 0 pass, 1 fail, -1 malformed. */
static int run_natpmp(struct engine *e, struct str line, bool update, const char *name,
		      unsigned lineno)
{
	struct str s = str_from(line.p + 7, line.len - 7), w[9];
	uint8_t req[12], out[PCP_SVC_OUT_MAX];
	uint64_t v[6];
	struct pcp_svc ps;
	struct ipaddr peer;
	size_t n, i;
	bool tcp;
	int lan;

	for (i = 0; i < 9; i++)
		w[i] = next_word(&s);
	tcp = str_eq_cstr(w[1], "TCP");
	if (ipaddr_parse(w[0], &peer) < 0 ||
	    (!tcp && !str_eq_cstr(w[1], "UDP")) || !str_eq_cstr(w[5], "->") ||
	    str_trim(s).len != 0) {
		fprintf(stderr, "%s:%u: bad natpmp: line\n", name, lineno);
		return -1;
	}
	for (i = 0; i < 6; i++) {
		if (str_to_u64(w[i < 3 ? i + 2 : i + 3], i == 2 || i == 5 ? UINT32_MAX : UINT16_MAX,
			       &v[i]) < 0) {
			fprintf(stderr, "%s:%u: bad natpmp: number\n", name, lineno);
			return -1;
		}
	}
	req[0] = 0;
	req[1] = tcp ? 2 : 1;
	be16_put(req + 2, 0);
	be16_put(req + 4, (uint16_t)v[0]);
	be16_put(req + 6, (uint16_t)v[1]);
	be32_put(req + 8, (uint32_t)v[2]);
	pcp_svc_init(&ps, e);
	lan = engine_lan_find(e, &peer);
	n = pcp_svc_handle(&ps, &peer, lan < 0 ? 0 : (unsigned)lan, req, sizeof(req), out);
	if (update)
		printf("natpmp: %.*s %.*s %u %u %u -> %u %u %u\n", (int)w[0].len, w[0].p,
		       (int)w[1].len, w[1].p, (unsigned)v[0], (unsigned)v[1], (unsigned)v[2],
		       n == 16 ? be16_get(out + 2) : 65535u, n == 16 ? be16_get(out + 10) : 0u,
		       n == 16 ? (unsigned)be32_get(out + 12) : 0u);
	if (n != 16 || out[1] != 128 + req[1]) {
		fprintf(stderr, "%s:%u: no NAT-PMP mapping answer\n", name, lineno);
		return 1;
	}
	if (be16_get(out + 2) != v[3] || be16_get(out + 10) != v[4] || be32_get(out + 12) != v[5]) {
		fprintf(stderr, "%s:%u: natpmp: got %u %u %u\n", name, lineno,
			(unsigned)be16_get(out + 2), (unsigned)be16_get(out + 10),
			(unsigned)be32_get(out + 12));
		return 1;
	}
	return 0;
}

/* ---- one case file ---- */

static char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 1u << 24);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(&b, tmp, n) < 0)
			break;
	fclose(f);
	if (b.toobig) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, ret_len);
}

static bool exchanges(struct engine *e, uint64_t *now, struct lines *l, bool update,
		      const char *name)
{
	struct str line, s;
	uint64_t secs;
	bool ok = true;
	int r;

	while (next_line(l, &line)) {
		s = line;
		if (str_startswith_cstr(s, ">>>")) {
			r = run_exchange(e, l, s, update, name);
			if (r != 0)
				ok = false;
			if (r < 0)
				break;
		} else if (str_startswith_cstr(s, "clock:")) {
			s = str_trim(str_from(s.p + 6, s.len - 6));
			if (!str_startswith_cstr(s, "+") ||
			    str_to_u64(str_from(s.p + 1, s.len - 1), UINT32_MAX, &secs) < 0) {
				fprintf(stderr, "%s:%u: bad clock: line\n", name, l->lineno);
				return false;
			}
			if (update)
				printf("%.*s\n", (int)line.len, line.p);
			*now += secs * 1000u;
			engine_tick(e);
		} else if (str_startswith_cstr(s, "traffic:")) {
			struct str rest = str_from(s.p + 8, s.len - 8), w1, w2;
			uint64_t uid, n;
			struct pinhole *p;

			w1 = next_word(&rest);
			w2 = next_word(&rest);
			if (str_to_u64(w1, UINT16_MAX, &uid) < 0 || str_to_u64(w2, UINT32_MAX, &n) < 0 ||
			    !(p = pin_find(e->pins, (uint16_t)uid)) ||
			    backend_sim_pin_traffic(&e->backend, p, n) < 0) {
				fprintf(stderr, "%s:%u: bad traffic: line (no such pinhole?)\n", name,
					l->lineno);
				return false;
			}
			if (update)
				printf("%.*s\n", (int)line.len, line.p);
		} else if (str_startswith_cstr(s, "natpmp:")) {
			r = run_natpmp(e, s, update, name, l->lineno);
			if (r != 0)
				ok = false;
			if (r < 0)
				break;
		} else if (s.len != 0) {
			fprintf(stderr, "%s:%u: unexpected line\n", name, l->lineno);
			return false;
		}
	}
	return ok;
}

static void lan_add(struct lan *l, const char *text)
{
	struct lan_addr_event ev;

	if (lan_event_parse(str_cstr(text), l->ifindex, true, 0, &ev) < 0)
		abort();
	lan_apply(l, &ev);
}

/* The LANs of the header comment. */
static void set_lans(struct engine *e)
{
	static const char *const v4[2] = { "192.168.1.1/24", "192.168.2.1/24" };
	static const char *const v6[2] = { "2001:db8:1::1/64", "2001:db8:2::1/64" };
	size_t i;

	for (i = 0; i < e->nlans && i < 2; i++) {
		struct lan *l = &e->lans[i];

		lan_set_ifindex(l, 2 + (unsigned)i);
		lan_add(l, v4[i]);
		lan_add(l, v6[i]);
		if (i == 0)
			lan_add(l, "fd00:1::1/64");
		lan_add(l, "fe80::1/64");
		engine_lan_changed(e, (unsigned)i);
	}
}

static bool run_case(const char *dir, const char *name, bool update)
{
	struct case_config *cc = calloc(1, sizeof(*cc));
	struct lines l = { 0 };
	struct config cfg;
	struct engine e;
	struct clock clk;
	uint64_t now = CLOCK_START_MS;
	char path[4096];
	char *text = NULL;
	bool ok = false;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = read_file(path, &len);
	if (!cc || !text) {
		fprintf(stderr, "%s: cannot read\n", path);
		goto out;
	}
	l.text = text;
	l.len = len;
	if (update)
		printf("==== %s\n", name);
	if (read_preamble(&l, cc, name) < 0 || make_config(cc, &cfg, name) < 0)
		goto out;
	if (update)
		printf("%.*s", (int)l.pos, text);
	clk.now_ms = clock_fake_ms;
	clk.ctx = &now;
	if (engine_init(&e, &cfg, &clk) < 0) {
		fprintf(stderr, "%s: engine_init failed\n", name);
		goto out;
	}
	set_lans(&e);
	pin_reseed(e.pins, 1);
	e.http_port = cfg.http_port;
	ok = exchanges(&e, &now, &l, update, name);
	engine_fini(&e);
out:
	free(text);
	free(cc);
	return ok;
}

static int is_case(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && strcmp(d->d_name + n - 5, ".case") == 0;
}

int main(int argc, char **argv)
{
	struct dirent **names;
	bool update;
	int n, i, passed = 0, failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: golden DIR\n");
		return 2;
	}
	update = getenv("IGDD_GOLDEN_UPDATE") && strcmp(getenv("IGDD_GOLDEN_UPDATE"), "1") == 0;
	n = scandir(argv[1], &names, is_case, alphasort);
	if (n < 0) {
		perror(argv[1]);
		return 2;
	}
	for (i = 0; i < n; i++) {
		bool ok = run_case(argv[1], names[i]->d_name, update);

		fprintf(update ? stderr : stdout, "%s %s\n", ok ? "PASS" : "FAIL", names[i]->d_name);
		if (ok)
			passed++;
		else
			failed++;
		free(names[i]);
	}
	free(names);
	fprintf(update ? stderr : stdout, "%d passed, %d failed\n", passed, failed);
	return failed || n == 0 ? 1 : 0;
}
