/*
 * golden.c - golden request -> response cases (tests/data/NAME.case) run
 * through httpd_handle() with the sim backend, a fake clock and no
 * sockets: UDA 1.1 sections 2 (descriptions) and 3 (SOAP control),
 * WANIPConnection:2 section 2.5 as seen by a control point.
 *
 * Usage: golden DIR   (every DIR/NAME.case, in name order)
 *        IGDD_GOLDEN_UPDATE=1 golden DIR   prints each case back with the
 *        actual responses in place of the expected ones (to write new
 *        cases; never writes a file).
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
 *   <<< STATUS                 the expected status; the expected body
 *   <body>                     follows up to the next ">>>", "clock:" or EOF
 *   clock: +N                  advance the fake clock N seconds, then
 *                              engine_tick() (leases, the WAN
 *                              connection's timers, the sim link)
 *   natpmp: PEER PROTO INTERNAL SUGGESTED LIFETIME -> RESULT EXTERNAL LIFETIME
 *                              a NAT-PMP mapping request (RFC 6886 3.3;
 *                              PROTO TCP or UDP, LIFETIME 0 deletes) from
 *                              PEER through svc/pcp.c, and the answer's
 *                              result code, mapped port and lifetime
 *                              (the epoch is not compared)
 * Bodies compare line by line (CR before LF ignored), trailing white
 * space at the end of the body ignored. The request body is taken as
 * written (lines joined with LF, trailing blank lines dropped);
 * Content-Length in the case text is ignored.
 *
 * config: lines for a repeatable key (lan_interface, acl,
 * connection_control, sim_static_forward) add to each other; for any
 * other key the last one wins.
 *
 * Base configuration: backend sim, lan_interface lan0, uuid
 * 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab, external_ip 203.0.113.1,
 * friendly_name "igdd test", http_port 5000, sim_router_ports no (the
 * gateway's own ports come from sim_static_forward lines of a case, never
 * from this host's sockets); LAN 0 192.168.1.1/24,
 * 2001:db8:1::1/64, fd00:1::1/64, fe80::1/64 (interface index 2); a
 * second lan_interface (config: lan_interface = guest0) is LAN 1,
 * 192.168.2.1/24, 2001:db8:2::1/64, fe80::1/64 (index 3); fake clock
 * starting at 1000000 ms.
 */
#include "conf/config.h"
#include "core/clock.h"
#include "engine.h"
#include "svc/httpd.h"
#include "svc/pcp.h"
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
	       str_startswith_cstr(s, "natpmp:");
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
		 str_eq_cstr(key, "sim_static_forward") || str_eq_cstr(key, "lan_interface");
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

struct request_text {
	char *copy;                     /* NUL-separated request text */
	struct http_header headers[IGDD_HTTP_MAX_HEADERS];
	struct http_request req;
	struct buf body;
};

/* Request line, headers, blank line, body: into rt (strings in rt->copy). */
static int parse_request(struct lines *l, struct request_text *rt, struct str *ret_status_line)
{
	struct str s = STR_LIT("");
	char *p, *sp1, *sp2, *colon;
	bool in_body = false;

	memset(rt, 0, sizeof(*rt));
	buf_init(&rt->body, 1u << 22);
	rt->req.headers = rt->headers;
	while (next_line(l, &s) && !str_startswith_cstr(s, "<<<")) {
		if (in_body) {
			buf_append(&rt->body, s.p, s.len);
			buf_puts(&rt->body, "\n");
			continue;
		}
		if (s.len == 0 && rt->copy) {
			in_body = true;
			continue;
		}
		if (s.len == 0)
			continue;
		p = strndup(s.p, s.len);
		if (!p)
			return -ENOMEM;
		if (!rt->copy) {
			rt->copy = p;
			sp1 = strchr(p, ' ');
			sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
			if (!sp1 || !sp2)
				return -EINVAL;
			*sp1 = *sp2 = '\0';
			rt->req.method = p;
			rt->req.url = sp1 + 1;
			rt->req.http_minor = strcmp(sp2 + 1, "HTTP/1.0") == 0 ? 0 : 1;
			if ((p = strchr(sp1 + 1, '?')) != NULL)
				*p = '\0';
			continue;
		}
		colon = strchr(p, ':');
		if (!colon || rt->req.nheaders == IGDD_HTTP_MAX_HEADERS) {
			free(p);
			return -EINVAL;
		}
		*colon = '\0';
		rt->headers[rt->req.nheaders].name = p;
		rt->headers[rt->req.nheaders].value = colon + 1 + strspn(colon + 1, " \t");
		rt->req.nheaders++;
	}
	if (!str_startswith_cstr(s, "<<<") || !rt->copy)
		return -EINVAL;
	while (rt->body.len && rt->body.p[rt->body.len - 1] == '\n')
		rt->body.len--;
	rt->req.body = str_from(rt->body.p ? rt->body.p : "", rt->body.len);
	*ret_status_line = s;
	return 0;
}

static void request_text_free(struct request_text *rt)
{
	size_t i;

	for (i = 0; i < rt->req.nheaders; i++)
		free((char *)rt->headers[i].name);
	free(rt->copy);
	buf_free(&rt->body);
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
static bool same_body(struct str want, struct str got, const char *where)
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
			fprintf(stderr, "%s: body line %u differs\n  expected: %.*s\n  actual:   %.*s\n",
				where, line, ha ? (int)a.len : 5, ha ? a.p : "(end)",
				hb ? (int)b.len : 5, hb ? b.p : "(end)");
			return false;
		}
	}
}

/* The expected body: lines up to the next exchange, clock: or EOF. */
static void read_expected(struct lines *l, struct buf *out)
{
	struct str s;

	while (peek_line(l, &s) && !is_exchange_end(s)) {
		next_line(l, &s);
		buf_append(out, s.p, s.len);
		buf_puts(out, "\n");
	}
}

/* A body written in parts (a listing, buf_stream): all of it into
 * resp->body, as the client reads it. 0 or -errno. */
static int drain_body(struct http_response *resp)
{
	struct buf whole;
	int r;

	if (!resp->stream.fill)
		return 0;
	buf_init(&whole, 1u << 26);
	r = buf_append(&whole, resp->body.p ? resp->body.p : "", resp->body.len);
	if (r == 0)
		r = buf_stream_fill(&resp->stream, &whole, SIZE_MAX);
	buf_free(&resp->body);
	resp->body = whole;
	return r;
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
	struct http_response resp;
	struct str status_line;
	struct buf want;
	char where[300];
	unsigned lineno = l->lineno;
	uint64_t want_status;
	int rc = 0;
	size_t start = l->pos;

	memset(&rt, 0, sizeof(rt));
	buf_init(&want, 1u << 24);
	http_response_init(&resp);
	snprintf(where, sizeof(where), "%s:%u", name, lineno);
	if (parse_request(l, &rt, &status_line) < 0 ||
	    parse_peer(e, str_from(head.p + 3, head.len - 3), &rt.req.peer, &rt.req.lan) < 0 ||
	    str_to_u64(str_trim(str_from(status_line.p + 3, status_line.len - 3)), 999,
		       &want_status) < 0) {
		fprintf(stderr, "%s: malformed exchange\n", where);
		rc = -1;
		goto out;
	}
	read_expected(l, &want);
	httpd_handle(e, &rt.req, &resp);
	if (drain_body(&resp) < 0) {
		fprintf(stderr, "%s: the body written in parts failed\n", where);
		rc = 1;
		goto out;
	}
	if (update) {
		printf("%.*s\n", (int)head.len, head.p);
		printf("%.*s", (int)(status_line.p - (l->text + start)), l->text + start);
		printf("<<< %d\n%.*s", resp.status, (int)resp.body.len, resp.body.p ? resp.body.p : "");
		if (resp.body.len && resp.body.p[resp.body.len - 1] != '\n')
			printf("\n");
	}
	if ((uint64_t)resp.status != want_status) {
		fprintf(stderr, "%s: status %d, expected %u\n", where, resp.status,
			(unsigned)want_status);
		rc = 1;
	} else if (!same_body(str_from(want.p ? want.p : "", want.len),
			      str_from(resp.body.p ? resp.body.p : "", resp.body.len), where)) {
		rc = 1;
	}
out:
	request_text_free(&rt);
	http_response_free(&resp);
	buf_free(&want);
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
