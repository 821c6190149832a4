/*
 * test_gena.c - GENA eventing (UPnP Device Architecture 1.1 section 4;
 * WANIPConnection:2 section 2.4): proto/gena (header classification with
 * every error code, TIMEOUT forms, CALLBACK lists, the exact NOTIFY text,
 * SEQ wrap, status lines), svc/gena (SIDs, the initial event only after
 * the response was sent, one event per change, LAN-only callbacks,
 * limits, expiry on a fake clock, queue collapse) and net/gena_io on
 * loopback (order, URL fallback, a dead subscriber delays nobody).
 */
#define _GNU_SOURCE             /* accept4 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/config.h"
#include "core/clock.h"
#include "engine.h"
#include "harness.h"
#include "loop/loop.h"
#include "net/gena_io.h"
#include "net/http_io.h"
#include "proto/gena.h"
#include "svc/action.h"
#include "svc/gena.h"
#include "svc/httpd.h"
#include "svc/wancommon.h"
#include "svc/wanipconn.h"
#include "svc/wanipv6fc.h"
#include "util/buf.h"
#include "util/limits.h"

#include "fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct gena_timeout_range TR = { 1800, 300, GENA_TIMEOUT_MAX };

/* ---- classification (UDA 1.1 4.1.2 - 4.1.4) --------------------------- */

#define CB1 "<http://192.168.1.20:5000/notify>"
#define SID1 "uuid:0b6e1c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"

struct parse_case {
	const char *name;
	bool unsub;
	const char *callback, *nt, *sid, *timeout;
	enum gena_status want;
	int http;
	enum gena_kind kind;
	unsigned nurls, timeout_s;
};

static const struct parse_case parse_cases[] = {
	{ "new", false, CB1, "upnp:event", NULL, "Second-1800", GENA_OK, 200, GENA_SUBSCRIBE, 1, 1800 },
	{ "new, no TIMEOUT", false, CB1, "upnp:event", NULL, NULL, GENA_OK, 200, GENA_SUBSCRIBE, 1, 1800 },
	{ "new, NT in other case", false, CB1, " UPnP:Event ", NULL, NULL, GENA_OK, 200, GENA_SUBSCRIBE, 1, 1800 },
	{ "new, four URLs", false, "<http://1.2.3.4/a><http://1.2.3.5/b> <http://1.2.3.6/c>\t<http://1.2.3.7/d>",
	  "upnp:event", NULL, "Second-600", GENA_OK, 200, GENA_SUBSCRIBE, 4, 600 },
	{ "NT missing", false, CB1, NULL, NULL, NULL, GENA_E_NT, 412, 0, 0, 0 },
	{ "NT empty", false, CB1, "", NULL, NULL, GENA_E_NT, 412, 0, 0, 0 },
	{ "NT wrong", false, CB1, "upnp:propchange", NULL, NULL, GENA_E_NT, 412, 0, 0, 0 },
	{ "CALLBACK missing", false, NULL, "upnp:event", NULL, NULL, GENA_E_CALLBACK, 412, 0, 0, 0 },
	{ "CALLBACK empty", false, "", "upnp:event", NULL, NULL, GENA_E_CALLBACK, 412, 0, 0, 0 },
	{ "CALLBACK https", false, "<https://192.168.1.20/n>", "upnp:event", NULL, NULL, GENA_E_CALLBACK, 412, 0, 0, 0 },
	{ "CALLBACK host name", false, "<http://cp.local:5000/n>", "upnp:event", NULL, NULL, GENA_E_CALLBACK, 412, 0, 0, 0 },
	{ "CALLBACK no brackets", false, "http://192.168.1.20/n", "upnp:event", NULL, NULL, GENA_E_CALLBACK, 412, 0, 0, 0 },
	{ "CALLBACK one bad of two", false, CB1 "<ftp://192.168.1.20/>", "upnp:event", NULL, NULL,
	  GENA_E_CALLBACK, 412, 0, 0, 0 },
	{ "CALLBACK five URLs", false, "<http://1.2.3.4/><http://1.2.3.4/><http://1.2.3.4/><http://1.2.3.4/><http://1.2.3.4/>",
	  "upnp:event", NULL, NULL, GENA_E_CALLBACK, 412, 0, 0, 0 },
	/* NT is checked before CALLBACK; both 412 anyway. */
	{ "NT and CALLBACK missing", false, NULL, NULL, NULL, NULL, GENA_E_NT, 412, 0, 0, 0 },
	{ "SID with NT", false, NULL, "upnp:event", SID1, NULL, GENA_E_INCOMPATIBLE, 400, 0, 0, 0 },
	{ "SID with CALLBACK", false, CB1, NULL, SID1, NULL, GENA_E_INCOMPATIBLE, 400, 0, 0, 0 },
	{ "SID with both", false, CB1, "upnp:event", SID1, NULL, GENA_E_INCOMPATIBLE, 400, 0, 0, 0 },
	{ "empty SID with NT", false, NULL, "upnp:event", "", NULL, GENA_E_INCOMPATIBLE, 400, 0, 0, 0 },
	{ "renew", false, NULL, NULL, SID1, "Second-1200", GENA_OK, 200, GENA_RENEW, 0, 1200 },
	{ "renew, more than granted", false, NULL, NULL, SID1, "Second-3600", GENA_OK, 200, GENA_RENEW, 0, 1800 },
	{ "renew, no TIMEOUT", false, NULL, NULL, SID1, NULL, GENA_OK, 200, GENA_RENEW, 0, 1800 },
	{ "renew, empty SID", false, NULL, NULL, "", NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "renew, SID not uuid:", false, NULL, NULL, "0b6e1c7e", NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "renew, SID only uuid:", false, NULL, NULL, "uuid:", NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "renew, SID too long", false, NULL, NULL, SID1 "0", NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "renew, SID with space", false, NULL, NULL, "uuid:a b", NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "unsubscribe", true, NULL, NULL, SID1, NULL, GENA_OK, 200, GENA_UNSUBSCRIBE, 0, 0 },
	{ "unsubscribe, no SID", true, NULL, NULL, NULL, NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "unsubscribe, empty SID", true, NULL, NULL, " ", NULL, GENA_E_SID, 412, 0, 0, 0 },
	{ "unsubscribe, SID with NT", true, NULL, "upnp:event", SID1, NULL, GENA_E_INCOMPATIBLE, 400, 0, 0, 0 },
	{ "unsubscribe, SID with CALLBACK", true, CB1, NULL, SID1, NULL, GENA_E_INCOMPATIBLE, 400, 0, 0, 0 },
	{ "unsubscribe, NT and CALLBACK only", true, CB1, "upnp:event", NULL, NULL, GENA_E_SID, 412, 0, 0, 0 },
};

static void test_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct gena_headers h = { c->callback, c->nt, c->sid, c->timeout };
		struct gena_request r;
		enum gena_status st;

		memset(&r, 0xa5, sizeof(r));
		st = gena_parse(c->unsub, &h, &TR, &r);
		if (st != c->want || gena_http_status(st) != c->http)
			fail_msg("%s: status %d (HTTP %d), want %d (HTTP %d)", c->name, (int)st,
				 gena_http_status(st), (int)c->want, c->http);
		if (st != GENA_OK)
			continue;
		if (r.kind != c->kind || r.nurls != c->nurls || r.timeout_s != c->timeout_s)
			fail_msg("%s: kind %d nurls %u timeout %u", c->name, (int)r.kind, r.nurls, r.timeout_s);
		if (c->kind != GENA_SUBSCRIBE && strcmp(r.sid, c->sid) != 0)
			fail_msg("%s: sid '%s'", c->name, r.sid);
	}
	assert_int_equal(gena_http_status(GENA_E_LIMIT), 503);
	assert_int_equal(gena_http_status(GENA_E_INTERNAL), 500);
}

/* ---- TIMEOUT ------------------------------------------------------------ */

struct timeout_case {
	const char *in;
	unsigned want;
};

static const struct timeout_case timeout_cases[] = {
	{ NULL, 1800 },
	{ "Second-1800", 1800 },
	{ "second-1200", 1200 },
	{ "second-3600", 1800 },
	{ "SECOND-600", 600 },
	{ " Second-600 ", 600 },
	{ "Second-300", 300 },
	{ "Second-299", 300 },
	{ "Second-0", 300 },
	{ "Second-86400", 1800 },
	{ "Second-86401", 1800 },
	{ "Second-4294967296", 1800 },
	{ "Second-99999999999999999999999", 1800 },
	{ "Second-infinite", 1800 },
	{ "Second-INFINITE", 1800 },
	{ "Second-", 1800 },
	{ "Second-abc", 1800 },
	{ "Second--5", 1800 },
	{ "Second-+5", 1800 },
	{ "Second-5x", 1800 },
	{ "Minute-5", 1800 },
	{ "1800", 1800 },
	{ "", 1800 },
};

static void test_timeout(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(timeout_cases); i++) {
		unsigned got = gena_parse_timeout(timeout_cases[i].in, &TR);

		if (got != timeout_cases[i].want)
			fail_msg("TIMEOUT '%s': %u, want %u",
				 timeout_cases[i].in ? timeout_cases[i].in : "(none)", got,
				 timeout_cases[i].want);
	}
}

/* ---- CALLBACK ------------------------------------------------------------ */

struct url_want {
	const char *addr;
	unsigned port;
	const char *path;
};

struct callback_case {
	const char *in;
	int n;                          /* -EINVAL or the count */
	struct url_want u[IGDD_GENA_MAX_CALLBACK_URLS];
};

static char long_ok[IGDD_GENA_MAX_CALLBACK_LEN + 3];      /* "<" + 512 + ">" */
static char long_bad[IGDD_GENA_MAX_CALLBACK_LEN + 4];     /* one more */

static const struct callback_case callback_cases[] = {
	{ "<http://192.168.1.20/>", 1, { { "192.168.1.20", 80, "/" } } },
	{ "<http://192.168.1.20>", 1, { { "192.168.1.20", 80, "/" } } },
	{ "<http://192.168.1.20:5000>", 1, { { "192.168.1.20", 5000, "/" } } },
	{ "<HTTP://192.168.1.20:8080/a/b?c=d&e=%20>", 1, { { "192.168.1.20", 8080, "/a/b?c=d&e=%20" } } },
	{ "  <http://10.0.0.1:1/x> , <http://10.0.0.2:65535/y>  ", 2,
	  { { "10.0.0.1", 1, "/x" }, { "10.0.0.2", 65535, "/y" } } },
	{ "<http://1.1.1.1/1><http://2.2.2.2/2><http://3.3.3.3/3><http://4.4.4.4/4>", 4,
	  { { "1.1.1.1", 80, "/1" }, { "2.2.2.2", 80, "/2" }, { "3.3.3.3", 80, "/3" }, { "4.4.4.4", 80, "/4" } } },
	{ "<http://1.1.1.1/1><http://2.2.2.2/2><http://3.3.3.3/3><http://4.4.4.4/4><http://5.5.5.5/5>", -EINVAL, { { 0 } } },
	{ "", -EINVAL, { { 0 } } },
	{ " , ", -EINVAL, { { 0 } } },
	{ "<>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20/", -EINVAL, { { 0 } } },
	{ "http://192.168.1.20/", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20/> junk", -EINVAL, { { 0 } } },
	{ "<https://192.168.1.20/>", -EINVAL, { { 0 } } },
	{ "<http:/192.168.1.20/>", -EINVAL, { { 0 } } },
	{ "<ftp://192.168.1.20/>", -EINVAL, { { 0 } } },
	{ "<http://cp.example/>", -EINVAL, { { 0 } } },
	{ "<http://localhost:80/>", -EINVAL, { { 0 } } },
	/* IPv6 literals in brackets (UDA 1.1 Annex A); no zone, no bare literal. */
	{ "<http://[fe80::1]:80/>", 1, { { "fe80::1", 80, "/" } } },
	{ "<http://[2001:db8:1::20]:49152/ServiceProxy0>", 1,
	  { { "2001:db8:1::20", 49152, "/ServiceProxy0" } } },
	{ "<http://[FD00::20]/a>", 1, { { "fd00::20", 80, "/a" } } },
	{ "<http://[::ffff:192.168.1.20]:5000/a>", 1, { { "192.168.1.20", 5000, "/a" } } },
	{ "<http://[fe80::1%25eth0]:80/>", -EINVAL, { { 0 } } },
	{ "<http://[fe80::1%eth0]:80/>", -EINVAL, { { 0 } } },
	{ "<http://[2001:db8::1]x/>", -EINVAL, { { 0 } } },
	{ "<http://[2001:db8::1/>", -EINVAL, { { 0 } } },
	{ "<http://2001:db8::1/>", -EINVAL, { { 0 } } },
	{ "<http://[192.168.1.20]/>", -EINVAL, { { 0 } } },
	{ "<http://[]/>", -EINVAL, { { 0 } } },
	{ "<http://[2001:db8::1]:/>", -EINVAL, { { 0 } } },
	{ "<http://[2001:db8::1]:0/>", -EINVAL, { { 0 } } },
	{ "<http://user@192.168.1.20/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.020/>", -EINVAL, { { 0 } } },
	{ "<http://3232235796/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20:0/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20:65536/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20:+80/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20:/>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20:80x/>", -EINVAL, { { 0 } } },
	{ "<http:///>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20/a b>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20/a#frag>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20/a\r\nX: y>", -EINVAL, { { 0 } } },
	{ "<http://192.168.1.20/\x80>", -EINVAL, { { 0 } } },
	{ long_ok, 1, { { "192.168.1.20", 80, NULL } } },
	{ long_bad, -EINVAL, { { 0 } } },
};

/* "<http://192.168.1.20/aaaa...>" with a URL of exactly url_len bytes. */
static void make_long(char *out, size_t url_len)
{
	static const char head[] = "http://192.168.1.20/";
	size_t i;

	out[0] = '<';
	memcpy(out + 1, head, sizeof(head) - 1);
	for (i = sizeof(head) - 1; i < url_len; i++)
		out[1 + i] = 'a';
	out[1 + url_len] = '>';
	out[2 + url_len] = '\0';
}

static void test_callback(void **state)
{
	size_t i;
	int k;

	(void)state;
	make_long(long_ok, IGDD_GENA_MAX_CALLBACK_LEN);
	make_long(long_bad, IGDD_GENA_MAX_CALLBACK_LEN + 1);
	for (i = 0; i < N(callback_cases); i++) {
		const struct callback_case *c = &callback_cases[i];
		struct gena_url urls[IGDD_GENA_MAX_CALLBACK_URLS];
		char addr[IPADDR_STRLEN];
		int n = gena_parse_callback(c->in, urls, IGDD_GENA_MAX_CALLBACK_URLS);

		if (n != c->n)
			fail_msg("case %zu '%.60s': %d URLs, want %d", i, c->in, n, c->n);
		for (k = 0; k < n; k++) {
			ipaddr_ntop(&urls[k].addr, addr, sizeof(addr));
			if (strcmp(addr, c->u[k].addr) != 0 || urls[k].port != c->u[k].port ||
			    (c->u[k].path && strcmp(urls[k].path, c->u[k].path) != 0))
				fail_msg("case %zu URL %d: %s:%u%s", i, k, addr, urls[k].port, urls[k].path);
		}
	}
	/* The long one keeps its whole path. */
	{
		struct gena_url u;

		assert_int_equal(gena_parse_callback(long_ok, &u, 1), 1);
		assert_int_equal(strlen(u.path), IGDD_GENA_MAX_CALLBACK_LEN - strlen("http://192.168.1.20"));
	}
	assert_int_equal(gena_parse_callback(NULL, NULL, 1), -EINVAL);
}

/* ---- NOTIFY text (4.3.2), SEQ, status lines ------------------------------ */

static void test_notify_text(void **state)
{
	struct gena_url u;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(gena_body_begin(&b), 0);
	assert_int_equal(gena_body_add(&b, "SystemUpdateID", "5", 1), 0);
	assert_int_equal(gena_body_add(&b, "PortMappingDescription", "<a&b> \"q\" 'x'", 13), 0);
	assert_int_equal(gena_body_add(&b, "Empty", "", 0), 0);
	assert_int_equal(gena_body_end(&b), 0);
	assert_string_equal(b.p,
		"<?xml version=\"1.0\"?>"
		"<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">"
		"<e:property><SystemUpdateID>5</SystemUpdateID></e:property>"
		"<e:property><PortMappingDescription>&lt;a&amp;b&gt; &quot;q&quot; &apos;x&apos;"
		"</PortMappingDescription></e:property>"
		"<e:property><Empty></Empty></e:property>"
		"</e:propertyset>");

	buf_reset(&b);
	assert_int_equal(gena_parse_callback("<http://192.168.1.20:5000/cb/1?x=y>", &u, 1), 1);
	assert_int_equal(gena_build_notify_head(&b, &u, SID1, 4294967295u, 321), 0);
	assert_string_equal(b.p,
		"NOTIFY /cb/1?x=y HTTP/1.1\r\n"
		"HOST: 192.168.1.20:5000\r\n"
		"CONTENT-TYPE: text/xml; charset=\"utf-8\"\r\n"
		"CONTENT-LENGTH: 321\r\n"
		"NT: upnp:event\r\n"
		"NTS: upnp:propchange\r\n"
		"SID: " SID1 "\r\n"
		"SEQ: 4294967295\r\n"
		"CONNECTION: close\r\n"
		"\r\n");
	buf_free(&b);
}

static void test_seq_wrap(void **state)
{
	(void)state;
	assert_int_equal(gena_seq_next(0), 1);
	assert_int_equal(gena_seq_next(1), 2);
	assert_int_equal(gena_seq_next(4294967294u), 4294967295u);
	assert_int_equal(gena_seq_next(4294967295u), 1);      /* never back to 0 */
}

struct status_case {
	const char *in;
	int want;
};

static const struct status_case status_cases[] = {
	{ "HTTP/1.1 200 OK\r\n", 200 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200 },
	{ "HTTP/1.0 412 Precondition Failed\r\n", 412 },
	{ "HTTP/1.1 200\r\n", 200 },
	{ "HTTP/1.1 200\n", 200 },
	{ "HTTP/1.1 599 x\n", 599 },
	{ "HTTP/1.1 200 OK", -EAGAIN },
	{ "", -EAGAIN },
	{ "HTTP/2 200 OK\r\n", -EINVAL },
	{ "HTTP/1.1 2000 OK\r\n", -EINVAL },
	{ "HTTP/1.1 099 OK\r\n", -EINVAL },
	{ "HTTP/1.1 600 OK\r\n", -EINVAL },
	{ "HTTP/1.1 +20 OK\r\n", -EINVAL },
	{ "HTTP/1.1  200 OK\r\n", -EINVAL },
	{ "ICY 200 OK\r\n", -EINVAL },
	{ "\r\n", -EINVAL },
};

static void test_status_line(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(status_cases); i++) {
		int got = gena_parse_status_line(status_cases[i].in, strlen(status_cases[i].in));

		if (got != status_cases[i].want)
			fail_msg("'%s': %d, want %d", status_cases[i].in, got, status_cases[i].want);
	}
}

/* ---- the manager ---------------------------------------------------------- */

#define LAN_PEER "192.168.1.20"
#define CB_PEER "<http://192.168.1.20:5000/notify>"

struct fx {
	struct fx_engine x;
	struct gena *g;
	unsigned notified;
};

static void on_notify(void *arg)
{
	struct fx *f = arg;

	f->notified++;
}

static struct fx *fx_new(const char *lan, const char *mask, const struct gena_params *p)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct in_addr a, m;
	struct gena_params gp;

	assert_non_null(f);
	fx_engine_init(&f->x, "uuid = 2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a50\n"
		       "external_ip = 203.0.113.7\n", FX_NO_LAN);
	inet_pton(AF_INET, lan, &a);
	inet_pton(AF_INET, mask, &m);
	engine_set_lan(&f->x.e, a, m);
	if (!p) {
		gena_params_default(&gp);
		gp.seeded = true;
		gp.seed = 42;
		gp.initial_hold_ms = 0;         /* test_initial_hold() has it */
		p = &gp;
	}
	f->g = gena_new(&f->x.e, p);
	assert_non_null(f->g);
	gena_set_notify(f->g, on_notify, f);
	assert_int_equal(engine_subscribe(&f->x.e, gena_on_change, f->g), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	engine_unsubscribe(&f->x.e, gena_on_change, f->g);
	gena_free(f->g);
	fx_engine_fini(&f->x);
	free(f);
}

static int fx_setup(void **state)
{
	*state = fx_new("192.168.1.1", "255.255.255.0", NULL);
	return 0;
}

static int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

struct req_in {
	const char *method, *peer, *callback, *nt, *sid, *timeout;
};

/* One request through gena_handle; resp must be freed by the caller. */
static int fx_request(struct fx *f, const struct service *svc, const struct req_in *in,
		      struct http_response *resp)
{
	struct http_header h[4];
	struct http_request req;
	size_t n = 0;

	memset(&req, 0, sizeof(req));
	if (in->callback)
		h[n++] = (struct http_header){ "Callback", in->callback };
	if (in->nt)
		h[n++] = (struct http_header){ "NT", in->nt };
	if (in->sid)
		h[n++] = (struct http_header){ "SID", in->sid };
	if (in->timeout)
		h[n++] = (struct http_header){ "Timeout", in->timeout };
	req.method = in->method;
	req.url = svc->event_url;
	req.http_minor = 1;
	req.headers = h;
	req.nheaders = n;
	assert_int_equal(ipaddr_parse(str_cstr(in->peer ? in->peer : LAN_PEER), &req.peer), 0);
	if (ipaddr_is_linklocal(&req.peer))
		req.peer.scope = f->x.e.lans[0].ifindex;
	req.lan = 0;
	http_response_init(resp);
	gena_handle(f->g, svc, &req, resp);
	return resp->status;
}

static const char *resp_header(const struct http_response *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hdr_name[i], name) == 0)
			return r->hdr_value[i];
	return NULL;
}

/* SUBSCRIBE; the SID into sid (when 200). Returns the status. */
static int fx_subscribe(struct fx *f, const struct service *svc, const char *peer,
			const char *callback, const char *timeout, char sid[GENA_SID_SIZE])
{
	struct req_in in = { "SUBSCRIBE", peer, callback, "upnp:event", NULL, timeout };
	struct http_response r;
	int st = fx_request(f, svc, &in, &r);

	if (st == 200) {
		assert_true(gena_response_sid(&r, sid));
		assert_string_equal(resp_header(&r, "SID"), sid);
	}
	http_response_free(&r);
	return st;
}

static int fx_renew(struct fx *f, const struct service *svc, const char *sid, const char *timeout,
		    char tout[32])
{
	struct req_in in = { "SUBSCRIBE", NULL, NULL, NULL, sid, timeout };
	struct http_response r;
	int st = fx_request(f, svc, &in, &r);

	if (st == 200 && tout)
		strlcpy_checked(tout, resp_header(&r, "TIMEOUT"), 32);
	http_response_free(&r);
	return st;
}

static int fx_unsubscribe(struct fx *f, const struct service *svc, const char *sid)
{
	struct req_in in = { "UNSUBSCRIBE", NULL, NULL, NULL, sid, NULL };
	struct http_response r;
	int st = fx_request(f, svc, &in, &r);

	http_response_free(&r);
	return st;
}

static const char *req_body(const struct gena_delivery *d, unsigned t)
{
	const char *p = strstr(d->t[t].req, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

/* "<e:property><name>value</name></e:property>" with the current value. */
static void want_prop(struct fx *f, const struct service *svc, const char *name, struct buf *out)
{
	struct buf v;
	unsigned i;

	buf_init(&v, 4096);
	for (i = 0; i < svc->nvars; i++)
		if (strcmp(svc->vars[i].name, name) == 0)
			break;
	assert_true(i < svc->nvars);
	assert_int_equal(svc->query(&f->x.e, &svc->vars[i], &v), 0);
	gena_body_add(out, name, v.p ? v.p : "", v.len);
	buf_free(&v);
}

/* The body that names exactly these variables, in this order. */
static void want_body(struct fx *f, const struct service *svc, const char *const *names,
		      struct buf *out)
{
	buf_reset(out);
	gena_body_begin(out);
	for (; *names; names++)
		want_prop(f, svc, *names, out);
	gena_body_end(out);
}

/* Take the next delivery, check SEQ and body, report it delivered. */
static void expect_event(struct fx *f, const struct service *svc, const char *sid, uint32_t seq,
			 const char *const *names)
{
	struct gena_delivery d;
	struct buf want;
	char head[64];

	buf_init(&want, 16384);
	want_body(f, svc, names, &want);
	assert_int_equal(gena_next_delivery(f->g, &d), 1);
	assert_string_equal(d.sid, sid);
	assert_int_equal(d.seq, seq);
	assert_true(d.ntargets >= 1);
	snprintf(head, sizeof(head), "\r\nSEQ: %u\r\n", (unsigned)seq);
	assert_non_null(strstr(d.t[0].req, head));
	assert_string_equal(req_body(&d, 0), want.p);
	gena_delivery_done(f->g, d.sub_id, true);
	gena_delivery_free(&d);
	buf_free(&want);
}

static void expect_nothing(struct fx *f)
{
	struct gena_delivery d;

	assert_int_equal(gena_next_delivery(f->g, &d), 0);
}

static const char *const ip_all[] = { "PossibleConnectionTypes", "ConnectionStatus",
	"ExternalIPAddress", "PortMappingNumberOfEntries", "SystemUpdateID", NULL };
static const char *const ip_mappings[] = { "PortMappingNumberOfEntries", "SystemUpdateID", NULL };
static const char *const ip_extip[] = { "ExternalIPAddress", NULL };
static const char *const ip_conn[] = { "ConnectionStatus", NULL };
static const char *const ip_three[] = { "ExternalIPAddress", "PortMappingNumberOfEntries",
	"SystemUpdateID", NULL };
static const char *const cmn_all[] = { "PhysicalLinkStatus", "EnabledForInternet", NULL };

/* The initial event goes out only after the response was written, and it
 * carries every evented variable (and no other); SEQ 0, then 1, 2, ... */
static void test_initial_event_after_response(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE], sid2[GENA_SID_SIZE];
	struct gena_delivery d;

	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, "Second-1800", sid), 200);
	assert_int_equal(strlen(sid), 41);
	assert_memory_equal(sid, "uuid:", 5);
	assert_int_equal(gena_count(f->g), 1);
	expect_nothing(f);
	/* A change before the response is out: no event of its own. */
	engine_changed(&f->x.e, ENGINE_CHG_MAPPINGS);
	expect_nothing(f);
	gena_response_sent(f->g, sid);
	expect_event(f, ip, sid, 0, ip_all);
	expect_nothing(f);
	gena_response_sent(f->g, sid);         /* again (a renewal's response): no-op */
	expect_nothing(f);
	/* The whole first request, exactly. */
	engine_changed(&f->x.e, ENGINE_CHG_MAPPINGS);
	assert_int_equal(gena_next_delivery(f->g, &d), 1);
	assert_int_equal(d.ntargets, 1);
	assert_int_equal(d.t[0].addr.family, AF_INET);
	assert_int_equal(d.t[0].port, 5000);
	assert_int_equal(ntohl(d.t[0].addr.u.v4.s_addr), 0xc0a80114u);
	{
		char want[1024];

		snprintf(want, sizeof(want),
			"NOTIFY /notify HTTP/1.1\r\nHOST: 192.168.1.20:5000\r\n"
			"CONTENT-TYPE: text/xml; charset=\"utf-8\"\r\nCONTENT-LENGTH: 235\r\n"
			"NT: upnp:event\r\nNTS: upnp:propchange\r\nSID: %s\r\nSEQ: 1\r\n"
			"CONNECTION: close\r\n\r\n"
			"<?xml version=\"1.0\"?><e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">"
			"<e:property><PortMappingNumberOfEntries>0</PortMappingNumberOfEntries></e:property>"
			"<e:property><SystemUpdateID>3</SystemUpdateID></e:property></e:propertyset>", sid);
		assert_string_equal(d.t[0].req, want);
		assert_int_equal(d.t[0].len, strlen(want));
		assert_int_equal(strlen(req_body(&d, 0)), 235);
	}
	gena_delivery_done(f->g, d.sub_id, true);
	gena_delivery_free(&d);
	/* A second subscriber starts at SEQ 0 too; SEQ is per subscription. */
	assert_int_equal(fx_subscribe(f, ip, "192.168.1.21", "<http://192.168.1.21/>", NULL, sid2), 200);
	assert_string_not_equal(sid, sid2);
	gena_response_sent(f->g, sid2);
	expect_event(f, ip, sid2, 0, ip_all);
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	expect_event(f, ip, sid, 2, ip_conn);
	expect_event(f, ip, sid2, 1, ip_conn);
	expect_nothing(f);
}

/*
 * The initial event waits until the subscriber has taken the response
 * in (gena_response_taken(): its next request or its close on that
 * connection) or initial_hold_ms has passed (gena_tick()), whichever
 * comes first. Meanwhile every other subscriber's events go as usual,
 * and this subscriber's changes queue behind its initial event.
 */
static void test_initial_hold(void **state)
{
	struct gena_params p;
	struct fx *f;
	const struct service *ip = wanipconn_service();
	char a[GENA_SID_SIZE], b[GENA_SID_SIZE], c[GENA_SID_SIZE];
	struct gena_delivery d;
	struct buf want0;
	unsigned n;

	(void)state;
	buf_init(&want0, 16384);
	gena_params_default(&p);
	assert_int_equal(p.initial_hold_ms, GENA_INITIAL_HOLD_MS);
	p.seeded = true;
	p.initial_hold_ms = 50;
	f = fx_new("192.168.1.1", "255.255.255.0", &p);
	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, a), 200);
	gena_response_taken(f->g, a);           /* before the response: no-op */
	gena_response_sent(f->g, a);
	expect_nothing(f);
	assert_int_equal(gena_next_deadline(f->g), f->x.now + 50);
	n = f->notified;
	gena_response_taken(f->g, a);
	assert_true(f->notified > n);           /* the sender is told */
	expect_event(f, ip, a, 0, ip_all);
	gena_response_taken(f->g, a);           /* again: no-op */
	expect_nothing(f);

	/* b is held; a's changes are not. */
	assert_int_equal(fx_subscribe(f, ip, "192.168.1.21", "<http://192.168.1.21/>", NULL, b),
			 200);
	gena_response_sent(f->g, b);
	want_body(f, ip, ip_all, &want0);       /* the values of its response */
	engine_changed(&f->x.e, ENGINE_CHG_MAPPINGS);
	expect_event(f, ip, a, 1, ip_mappings);
	expect_nothing(f);
	f->x.now += 49;
	assert_int_equal(gena_tick(f->g), 0);
	expect_nothing(f);
	assert_int_equal(gena_next_deadline(f->g), f->x.now + 1);
	f->x.now += 1;
	n = f->notified;
	assert_int_equal(gena_tick(f->g), 0);   /* a release removes nothing */
	assert_true(f->notified > n);
	/* b: the initial event first (with the values of its response), then
	 * the change that came while it waited. */
	assert_int_equal(gena_next_delivery(f->g, &d), 1);
	assert_string_equal(d.sid, b);
	assert_int_equal(d.seq, 0);
	assert_string_equal(req_body(&d, 0), want0.p);
	gena_delivery_done(f->g, d.sub_id, true);
	gena_delivery_free(&d);
	expect_event(f, ip, b, 1, ip_mappings);
	expect_nothing(f);

	/* Past the hold, without gena_tick(): the hand-out itself lets it go. */
	assert_int_equal(fx_subscribe(f, ip, "192.168.1.22", "<http://192.168.1.22/>", NULL, c),
			 200);
	gena_response_sent(f->g, c);
	expect_nothing(f);
	f->x.now += 50;
	expect_event(f, ip, c, 0, ip_all);
	/* A renewal's response names an active subscription: nothing held. */
	assert_int_equal(fx_renew(f, ip, c, NULL, NULL), 200);
	gena_response_sent(f->g, c);
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	expect_event(f, ip, a, 2, ip_conn);
	expect_event(f, ip, b, 2, ip_conn);
	expect_event(f, ip, c, 1, ip_conn);
	expect_nothing(f);
	buf_free(&want0);
	fx_free(f);
}

/* Each change is one event, with exactly its variables. */
struct change_case {
	unsigned changes;
	const char *const *ip;          /* NULL: no event for WANIPConnection */
	const char *const *cmn;         /* NULL: none for WANCommonInterfaceConfig */
};

static const struct change_case change_cases[] = {
	{ ENGINE_CHG_MAPPINGS, ip_mappings, NULL },
	{ ENGINE_CHG_EXTERNAL_IP, ip_extip, NULL },
	{ ENGINE_CHG_CONNECTION, ip_conn, NULL },
	{ ENGINE_CHG_MAPPINGS | ENGINE_CHG_EXTERNAL_IP, ip_three, NULL },
	{ GENA_CHG_WANCOMMON, NULL, cmn_all },
	{ GENA_CHG_WANCOMMON | ENGINE_CHG_CONNECTION, ip_conn, cmn_all },
	{ 1u << 20, NULL, NULL },
	{ 0, NULL, NULL },
};

static void test_one_event_per_change(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service(), *cmn = wancommon_service();
	char sip[GENA_SID_SIZE], scmn[GENA_SID_SIZE];
	uint32_t seq_ip = 1, seq_cmn = 1;
	size_t i;

	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, sip), 200);
	assert_int_equal(fx_subscribe(f, cmn, LAN_PEER, CB_PEER, NULL, scmn), 200);
	gena_response_sent(f->g, sip);
	expect_event(f, ip, sip, 0, ip_all);
	gena_response_sent(f->g, scmn);
	expect_event(f, cmn, scmn, 0, cmn_all);
	for (i = 0; i < N(change_cases); i++) {
		const struct change_case *c = &change_cases[i];
		unsigned before = f->notified;

		engine_changed(&f->x.e, c->changes);
		if (c->ip)
			expect_event(f, ip, sip, seq_ip++, c->ip);
		if (c->cmn)
			expect_event(f, cmn, scmn, seq_cmn++, c->cmn);
		expect_nothing(f);
		if (!c->ip && !c->cmn)
			assert_int_equal(f->notified, before);
		else
			assert_true(f->notified > before);
	}
}

/*
 * WANIPv6FirewallControl:1 (2.5 [5.4]): the initial event carries
 * FirewallEnabled and InboundPinholeAllowed; ENGINE_CHG_FIREWALL (a
 * reload changed them) events both; a pinhole change or a mapping change
 * events nothing to it (the service has no SystemUpdateID).
 */
static void test_firewall_events(void **state)
{
	static const char *const fw_all[] = { "FirewallEnabled", "InboundPinholeAllowed", NULL };
	struct fx *f = *state;
	const struct service *fw = wanipv6fc_service();
	char sid[GENA_SID_SIZE];

	assert_int_equal(fx_subscribe(f, fw, LAN_PEER, CB_PEER, NULL, sid), 200);
	gena_response_sent(f->g, sid);
	expect_event(f, fw, sid, 0, fw_all);
	engine_changed(&f->x.e, ENGINE_CHG_PINHOLES | ENGINE_CHG_MAPPINGS);
	expect_nothing(f);
	engine_changed(&f->x.e, ENGINE_CHG_FIREWALL);
	expect_event(f, fw, sid, 1, fw_all);
	expect_nothing(f);
}

/* One event in flight per subscriber: the next waits for the report. */
static void test_in_order(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE];
	struct gena_delivery d;
	unsigned before;

	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, sid), 200);
	gena_response_sent(f->g, sid);
	assert_int_equal(gena_next_delivery(f->g, &d), 1);
	assert_int_equal(d.seq, 0);
	engine_changed(&f->x.e, ENGINE_CHG_EXTERNAL_IP);
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	expect_nothing(f);                      /* SEQ 0 still in flight */
	before = f->notified;
	gena_delivery_done(f->g, d.sub_id, false);      /* lost: SEQ 0 is spent */
	gena_delivery_free(&d);
	assert_true(f->notified > before);
	gena_delivery_done(f->g, d.sub_id, true);       /* a second report: ignored */
	expect_event(f, ip, sid, 1, ip_extip);
	expect_event(f, ip, sid, 2, ip_conn);
	expect_nothing(f);
	assert_int_equal(gena_count(f->g), 1);  /* a lost event keeps the subscription */
}

/* A full queue collapses into one event with the union of the variables;
 * SEQ has no gap. */
static void test_queue_collapse(void **state)
{
	struct gena_params p;
	struct fx *f;
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE];
	struct gena_delivery d;

	(void)state;
	gena_params_default(&p);
	p.seeded = true;
	p.max_queued = 3;
	p.initial_hold_ms = 0;
	f = fx_new("192.168.1.1", "255.255.255.0", &p);
	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, sid), 200);
	gena_response_sent(f->g, sid);
	assert_int_equal(gena_next_delivery(f->g, &d), 1);      /* SEQ 0 in flight */
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);           /* queued: 2 */
	engine_changed(&f->x.e, ENGINE_CHG_EXTERNAL_IP);          /* queued: 3 = full */
	engine_changed(&f->x.e, ENGINE_CHG_MAPPINGS);             /* collapses */
	engine_changed(&f->x.e, ENGINE_CHG_MAPPINGS);             /* queue has room again */
	gena_delivery_done(f->g, d.sub_id, true);
	gena_delivery_free(&d);
	/* The merged event holds the values of when it was merged
	 * (SystemUpdateID 2); the change after it has its own (3). */
	{
		struct buf want;

		buf_init(&want, 16384);
		gena_body_begin(&want);
		want_prop(f, ip, "ConnectionStatus", &want);
		want_prop(f, ip, "ExternalIPAddress", &want);
		gena_body_add(&want, "PortMappingNumberOfEntries", "0", 1);
		gena_body_add(&want, "SystemUpdateID", "2", 1);
		gena_body_end(&want);
		assert_int_equal(gena_next_delivery(f->g, &d), 1);
		assert_int_equal(d.seq, 1);
		assert_string_equal(req_body(&d, 0), want.p);
		gena_delivery_done(f->g, d.sub_id, true);
		gena_delivery_free(&d);
		buf_free(&want);
	}
	assert_int_equal(f->x.e.system_update_id, 3);
	expect_event(f, ip, sid, 2, ip_mappings);
	expect_nothing(f);
	/* Without anything in flight the whole queue collapses. */
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	engine_changed(&f->x.e, ENGINE_CHG_EXTERNAL_IP);
	{
		static const char *const merged[] = { "ConnectionStatus", "ExternalIPAddress", NULL };

		expect_event(f, ip, sid, 3, merged);
	}
	expect_nothing(f);
	fx_free(f);
}

/* CallStranger: every delivery address must be the requester's own, a
 * LAN host (not another LAN host: no NOTIFYs to a host that did not ask). */
struct lan_case {
	const char *peer;
	const char *callback;
	int want;
};

static const struct lan_case lan_cases[] = {
	{ "192.168.1.20", "<http://192.168.1.20:5000/n>", 200 },
	{ "192.168.1.20", "<http://192.168.1.30:5000/n>", 412 },        /* another LAN host */
	{ "192.168.1.20", "<http://192.168.1.20/a><http://192.168.1.254/b>", 412 },
	{ "192.168.1.20", "<http://192.168.1.20/a><http://192.168.1.20:49152/b>", 200 },
	{ "192.168.1.30", "<http://192.168.1.30/a>", 200 },
	{ "192.168.1.255", "<http://192.168.1.255/a>", 412 },           /* its own, but broadcast */
	{ "192.168.1.20", "<http://10.0.0.5/n>", 412 },
	{ "192.168.1.20", "<http://8.8.8.8/n>", 412 },
	{ "192.168.1.20", "<http://203.0.113.7/n>", 412 },              /* our WAN address */
	{ "192.168.1.20", "<http://127.0.0.1:5000/n>", 412 },
	{ "192.168.1.20", "<http://192.168.1.1/n>", 412 },              /* the gateway itself */
	{ "192.168.1.20", "<http://192.168.1.0/n>", 412 },              /* network */
	{ "192.168.1.20", "<http://192.168.1.255/n>", 412 },            /* broadcast */
	{ "192.168.1.20", "<http://255.255.255.255/n>", 412 },
	{ "192.168.1.20", "<http://192.168.1.20/a><http://10.0.0.5/b>", 412 },
	{ "192.168.1.20", "<http://10.0.0.5/b><http://192.168.1.20/a>", 412 },
	{ "192.168.1.20", "<http://192.168.2.20/n>", 412 },
	{ "192.168.1.20", "<http://cp.lan/n>", 412 },
	{ "192.168.1.20", "<https://192.168.1.20/n>", 412 },
};

static void test_callback_lan_only(void **state)
{
	struct fx *f = *state;
	char sid[GENA_SID_SIZE];
	size_t i;

	for (i = 0; i < N(lan_cases); i++) {
		int st = fx_subscribe(f, wanipconn_service(), lan_cases[i].peer, lan_cases[i].callback,
				      NULL, sid);

		if (st != lan_cases[i].want)
			fail_msg("%s: %d, want %d", lan_cases[i].callback, st, lan_cases[i].want);
	}
	assert_int_equal(gena_count(f->g), 3);
}

/*
 * IPv6 (svc/gena.c callback_allowed()): the subscriber's own address, or
 * (IPv6 only) another address of the same host on the same LAN, judged by
 * the neighbour table (here a stub: a few addresses and their MACs).
 */
#define IFX6 7

static const struct {
	const char *addr;
	int mac;
} neighbours[] = {
	{ "2001:db8:1::20", 1 }, { "fe80::20", 1 }, { "fd00:1::20", 1 }, { "192.168.1.20", 1 },
	{ "2001:db8:1::30", 2 }, { "fe80::30", 2 },
	{ "2001:db8:9::20", 1 },        /* outside the LAN's prefixes, even if the table says so */
};

static int stub_mac(const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < N(neighbours); i++) {
		struct ipaddr x;

		assert_int_equal(ipaddr_parse(str_cstr(neighbours[i].addr), &x), 0);
		if (x.family == a->family && memcmp(&x.u, &a->u, x.family == AF_INET ? 4 : 16) == 0)
			return neighbours[i].mac;
	}
	return 0;
}

static unsigned stub_calls, stub_ifindex;

static bool stub_same_host(void *arg, unsigned ifindex, const struct ipaddr *a,
			   const struct ipaddr *b)
{
	(void)arg;
	stub_calls++;
	stub_ifindex = ifindex;
	return stub_mac(a) && stub_mac(a) == stub_mac(b);
}

static void lan6_add(struct lan *l, const char *text)
{
	struct lan_addr_event ev;

	assert_int_equal(lan_event_parse(str_cstr(text), l->ifindex, true, 0, &ev), 0);
	assert_true(lan_apply(l, &ev));
}

/* LAN 0 on interface IFX6: 192.168.1.1/24, 2001:db8:1::1/64, fd00:1::1/64, fe80::1/64. */
static struct fx *fx_new6(void)
{
	struct fx *f = fx_new("192.168.1.1", "255.255.255.0", NULL);
	struct lan *l = &f->x.e.lans[0];

	lan_set_ifindex(l, IFX6);
	lan6_add(l, "192.168.1.1/24");
	lan6_add(l, "2001:db8:1::1/64");
	lan6_add(l, "fd00:1::1/64");
	lan6_add(l, "fe80::1/64");
	f->x.e.same_host = stub_same_host;
	return f;
}

static const struct lan_case lan6_cases[] = {
	{ "2001:db8:1::20", "<http://[2001:db8:1::20]:5000/n>", 200 },             /* its own */
	{ "2001:db8:1::20", "<http://[fe80::20]:45686/ServiceProxy0>", 200 },      /* GUPnP */
	{ "2001:db8:1::20", "<http://[fd00:1::20]:45687/ServiceProxy1>", 200 },    /* GUPnP's ULA context */
	{ "fe80::20", "<http://[fe80::20]:5000/n>", 200 },
	{ "fe80::20", "<http://[2001:db8:1::20]:5000/n>", 200 },
	{ "2001:db8:1::20", "<http://[fe80::30]:5000/n>", 412 },                   /* another MAC */
	{ "2001:db8:1::20", "<http://[2001:db8:1::30]:5000/n>", 412 },
	{ "2001:db8:1::20", "<http://[fe80::99]:5000/n>", 412 },                   /* no neighbour entry */
	{ "2001:db8:1::20", "<http://[2001:db8:9::20]:5000/n>", 412 },             /* not on the LAN */
	{ "2001:db8:1::20", "<http://[2001:db8:1::1]:5000/n>", 412 },              /* the gateway */
	{ "2001:db8:1::20", "<http://[fe80::1]:5000/n>", 412 },
	{ "2001:db8:1::20", "<http://[ff02::1]:5000/n>", 412 },
	{ "2001:db8:1::20", "<http://192.168.1.20:5000/n>", 412 },                 /* across families */
	{ "192.168.1.20", "<http://[fe80::20]:5000/n>", 412 },                     /* IPv4 keeps the exact rule */
	{ "2001:db8:1::20", "<http://[2001:db8:1::20]/a><http://[fe80::30]/b>", 412 },
	{ "2001:db8:9::20", "<http://[2001:db8:9::20]:5000/n>", 412 },             /* a subscriber off the LAN */
};

static void test_callback_ipv6(void **state)
{
	struct fx *f = fx_new6();
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE];
	struct gena_delivery d;
	size_t i;

	(void)state;
	for (i = 0; i < N(lan6_cases); i++) {
		int st = fx_subscribe(f, ip, lan6_cases[i].peer, lan6_cases[i].callback, NULL, sid);

		if (st != lan6_cases[i].want)
			fail_msg("%s from %s: %d, want %d", lan6_cases[i].callback, lan6_cases[i].peer,
				 st, lan6_cases[i].want);
	}
	assert_int_equal(gena_count(f->g), 5);
	assert_int_equal(stub_ifindex, IFX6);         /* asked about the LAN's interface */
	/* The GUPnP-like subscription's NOTIFY: to fe80::20 on the LAN's
	 * interface, HOST in brackets. */
	fx_free(f);
	f = fx_new6();
	assert_int_equal(fx_subscribe(f, ip, "2001:db8:1::20", "<http://[fe80::20]:45686/ServiceProxy0>",
				      NULL, sid), 200);
	gena_response_sent(f->g, sid);
	assert_int_equal(gena_next_delivery(f->g, &d), 1);
	assert_int_equal(d.lan, 0);
	assert_int_equal(d.t[0].addr.family, AF_INET6);
	assert_int_equal(d.t[0].addr.scope, IFX6);
	assert_int_equal(d.t[0].port, 45686);
	assert_non_null(strstr(d.t[0].req, "NOTIFY /ServiceProxy0 HTTP/1.1\r\nHOST: [fe80::20]:45686\r\n"));
	gena_delivery_done(f->g, d.sub_id, true);
	gena_delivery_free(&d);
	/* Without a neighbour table, only the subscriber's own address. */
	f->x.e.same_host = NULL;
	stub_calls = 0;
	assert_int_equal(fx_subscribe(f, ip, "2001:db8:1::20", "<http://[fe80::20]:45686/x>", NULL, sid),
			 412);
	assert_int_equal(fx_subscribe(f, ip, "2001:db8:1::20", "<http://[2001:db8:1::20]:1/x>", NULL, sid),
			 200);
	assert_int_equal(stub_calls, 0);
	fx_free(f);
}

/* Header classification through the manager, unknown SIDs, other methods. */
static void test_handle_errors(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service(), *cmn = wancommon_service();
	char sid[GENA_SID_SIZE], tout[32];
	struct http_response r;
	struct req_in in;

	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, "Second-100", sid), 200);
	in = (struct req_in){ "SUBSCRIBE", NULL, CB_PEER, "upnp:event", sid, NULL };
	assert_int_equal(fx_request(f, ip, &in, &r), 400);
	assert_null(resp_header(&r, "SID"));
	assert_int_equal(r.body.len, 0);
	http_response_free(&r);
	in = (struct req_in){ "SUBSCRIBE", NULL, CB_PEER, NULL, NULL, NULL };
	assert_int_equal(fx_request(f, ip, &in, &r), 412);
	http_response_free(&r);
	in = (struct req_in){ "NOTIFY", NULL, NULL, NULL, sid, NULL };
	assert_int_equal(fx_request(f, ip, &in, &r), 405);
	assert_string_equal(resp_header(&r, "Allow"), "SUBSCRIBE, UNSUBSCRIBE");
	http_response_free(&r);
	/* Renewal: TIMEOUT clamped, SID of the other service or unknown: 412. */
	assert_int_equal(fx_renew(f, ip, sid, "Second-100", tout), 200);
	assert_string_equal(tout, "Second-300");
	assert_int_equal(fx_renew(f, ip, sid, "Second-infinite", tout), 200);
	assert_string_equal(tout, "Second-1800");
	assert_int_equal(fx_renew(f, ip, sid, "Second-86400", tout), 200);
	assert_string_equal(tout, "Second-1800");
	assert_int_equal(fx_renew(f, cmn, sid, NULL, NULL), 412);
	assert_int_equal(fx_renew(f, ip, SID1, NULL, NULL), 412);
	/* SIDs compare without regard to case (hex digits). */
	{
		char upper[GENA_SID_SIZE];
		size_t i;

		for (i = 0; i <= strlen(sid); i++)
			upper[i] = (char)((sid[i] >= 'a' && sid[i] <= 'f') ? sid[i] - 32 : sid[i]);
		assert_int_equal(fx_renew(f, ip, upper, NULL, NULL), 200);
	}
	assert_int_equal(fx_unsubscribe(f, cmn, sid), 412);
	assert_int_equal(fx_unsubscribe(f, ip, sid), 200);
	assert_int_equal(fx_unsubscribe(f, ip, sid), 412);
	assert_int_equal(fx_renew(f, ip, sid, NULL, NULL), 412);
	assert_int_equal(gena_count(f->g), 0);
}

/* gena_response_sid() only for a 200 carrying a SID. */
static void test_response_sid(void **state)
{
	struct http_response r;
	char sid[GENA_SID_SIZE];

	(void)state;
	http_response_init(&r);
	r.status = 200;
	assert_false(gena_response_sid(&r, sid));
	http_response_add_header(&r, "SID", SID1);
	assert_true(gena_response_sid(&r, sid));
	assert_string_equal(sid, SID1);
	r.status = 412;
	assert_false(gena_response_sid(&r, sid));
	http_response_free(&r);
}

/* A response that never went out drops the pending subscription; so
 * does a confirmation that never comes. */
static void test_response_failed(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service();
	char a[GENA_SID_SIZE], b[GENA_SID_SIZE];

	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, a), 200);
	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, b), 200);
	gena_response_failed(f->g, a);
	assert_int_equal(gena_count(f->g), 1);
	gena_response_failed(f->g, SID1);       /* unknown: ignored */
	assert_int_equal(gena_count(f->g), 1);
	assert_int_equal(gena_next_deadline(f->g), f->x.now + 30000);
	f->x.now += 29999;
	assert_int_equal(gena_tick(f->g), 0);
	f->x.now += 1;
	assert_int_equal(gena_tick(f->g), 1);
	assert_int_equal(gena_count(f->g), 0);
	gena_response_sent(f->g, b);            /* too late: nothing happens */
	expect_nothing(f);
	/* An active one is not dropped by a late failure report. */
	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, NULL, a), 200);
	gena_response_sent(f->g, a);
	gena_response_failed(f->g, a);
	assert_int_equal(gena_count(f->g), 1);
}

/* Expiry on the engine's (fake) clock; renewal moves it. */
static void test_expiry(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE], tout[32];
	uint64_t t0 = f->x.now;

	assert_int_equal(gena_next_deadline(f->g), 0);
	assert_int_equal(fx_subscribe(f, ip, LAN_PEER, CB_PEER, "Second-300", sid), 200);
	gena_response_sent(f->g, sid);
	assert_int_equal(gena_next_deadline(f->g), t0 + 300000);
	f->x.now = t0 + 299999;
	assert_int_equal(gena_tick(f->g), 0);
	assert_int_equal(fx_renew(f, ip, sid, "Second-600", tout), 200);
	assert_string_equal(tout, "Second-600");
	assert_int_equal(gena_next_deadline(f->g), t0 + 299999 + 600000);
	f->x.now = t0 + 299999 + 599999;
	assert_int_equal(gena_tick(f->g), 0);
	f->x.now += 1;
	/* Expired but not yet swept: already unknown. */
	assert_int_equal(fx_renew(f, ip, sid, NULL, NULL), 412);
	assert_int_equal(gena_tick(f->g), 1);
	assert_int_equal(gena_count(f->g), 0);
	assert_int_equal(gena_next_deadline(f->g), 0);
	assert_int_equal(fx_unsubscribe(f, ip, sid), 412);
}

/* A subscription from peer whose callback is peer's own address. */
static int fx_subscribe_own(struct fx *f, const char *peer, char sid[GENA_SID_SIZE])
{
	char cb[64];

	snprintf(cb, sizeof(cb), "<http://%s:5000/n>", peer);
	return fx_subscribe(f, wanipconn_service(), peer, cb, NULL, sid);
}

/*
 * IGDD_GENA_MAX_PER_SOURCE per requester (503 past it); at
 * IGDD_GENA_MAX_SUBSCRIPTIONS in all, a requester holding fewer takes
 * the oldest subscription of the address holding the most; 503 when
 * every address holds as few as it.
 */
static void test_limits(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE], first[GENA_SID_SIZE], peer[INET_ADDRSTRLEN];
	unsigned i, total = 0;

	for (i = 0; i < IGDD_GENA_MAX_PER_SOURCE; i++, total++) {
		assert_int_equal(fx_subscribe_own(f, "192.168.1.10", sid), 200);
		if (i == 0)
			memcpy(first, sid, sizeof(first));
	}
	assert_int_equal(fx_subscribe_own(f, "192.168.1.10", sid), 503);
	assert_int_equal(fx_subscribe_own(f, "192.168.1.11", sid), 200);
	total++;
	/* The rest filled by addresses holding IGDD_GENA_MAX_PER_SOURCE - 1 each. */
	for (i = 0; total < IGDD_GENA_MAX_SUBSCRIPTIONS; i++, total++) {
		snprintf(peer, sizeof(peer), "192.168.1.%u", 100 + i / (IGDD_GENA_MAX_PER_SOURCE - 1));
		assert_int_equal(fx_subscribe_own(f, peer, sid), 200);
	}
	assert_int_equal(gena_count(f->g), IGDD_GENA_MAX_SUBSCRIPTIONS);
	/* Full: .200 (none) takes .10's oldest (.10 holds the most). */
	assert_int_equal(fx_subscribe_own(f, "192.168.1.200", sid), 200);
	assert_int_equal(gena_count(f->g), IGDD_GENA_MAX_SUBSCRIPTIONS);
	assert_int_equal(fx_renew(f, ip, first, NULL, NULL), 412);
	/* .11 (one) takes the oldest of an address holding seven. */
	assert_int_equal(fx_subscribe_own(f, "192.168.1.11", sid), 200);
	assert_int_equal(gena_count(f->g), IGDD_GENA_MAX_SUBSCRIPTIONS);
}

/* When every address holds as few as the requester, nothing gives way: 503. */
static void test_limits_full(void **state)
{
	struct gena_params p;
	struct fx *f;
	char a1[GENA_SID_SIZE], sid[GENA_SID_SIZE];

	(void)state;
	gena_params_default(&p);
	p.seeded = true;
	p.max_subscriptions = 4;
	p.max_per_source = 3;
	f = fx_new("192.168.1.1", "255.255.255.0", &p);
	assert_int_equal(fx_subscribe_own(f, "192.168.1.10", a1), 200);
	assert_int_equal(fx_subscribe_own(f, "192.168.1.10", sid), 200);
	assert_int_equal(fx_subscribe_own(f, "192.168.1.11", sid), 200);
	assert_int_equal(fx_subscribe_own(f, "192.168.1.12", sid), 200);
	/* .10 holds two, the others one: .10 cannot take theirs. */
	assert_int_equal(fx_subscribe_own(f, "192.168.1.10", sid), 503);
	/* .13 holds none: .10's oldest goes. */
	assert_int_equal(fx_subscribe_own(f, "192.168.1.13", sid), 200);
	assert_int_equal(fx_renew(f, wanipconn_service(), a1, NULL, NULL), 412);
	/* Now all four hold one: a fifth address with none takes the oldest. */
	assert_int_equal(fx_subscribe_own(f, "192.168.1.14", sid), 200);
	assert_int_equal(gena_count(f->g), 4);
	/* .14 (one) cannot take another: nobody holds more. */
	assert_int_equal(fx_subscribe_own(f, "192.168.1.14", sid), 503);
	fx_free(f);
}

/* Seeded SIDs are reproducible (tests); the unseeded ones are random. */
static void test_sids(void **state)
{
	struct fx *a = fx_new("192.168.1.1", "255.255.255.0", NULL);
	struct fx *b = fx_new("192.168.1.1", "255.255.255.0", NULL);
	struct fx *c;
	struct gena_params p;
	char s1[GENA_SID_SIZE], s2[GENA_SID_SIZE], s3[GENA_SID_SIZE], s4[GENA_SID_SIZE];

	(void)state;
	assert_int_equal(fx_subscribe(a, wanipconn_service(), LAN_PEER, CB_PEER, NULL, s1), 200);
	assert_int_equal(fx_subscribe(b, wanipconn_service(), LAN_PEER, CB_PEER, NULL, s2), 200);
	assert_string_equal(s1, s2);
	assert_int_equal(s1[5 + 14], '4');      /* version 4 */
	assert_non_null(strchr("89ab", s1[5 + 19]));
	gena_params_default(&p);
	c = fx_new("192.168.1.1", "255.255.255.0", &p);
	assert_int_equal(fx_subscribe(c, wanipconn_service(), LAN_PEER, CB_PEER, NULL, s3), 200);
	assert_int_equal(fx_subscribe(c, wanipconn_service(), LAN_PEER, CB_PEER, NULL, s4), 200);
	assert_string_not_equal(s3, s4);
	assert_string_not_equal(s3, s1);
	fx_free(a);
	fx_free(b);
	fx_free(c);
}

/* A subscription removed while its event is in flight: the late report
 * is ignored; a delivery names every URL in order. */
static void test_stale_report(void **state)
{
	struct fx *f = *state;
	const struct service *ip = wanipconn_service();
	char sid[GENA_SID_SIZE];
	struct gena_delivery d;

	assert_int_equal(fx_subscribe(f, ip, LAN_PEER,
		"<http://192.168.1.20:1/a><http://192.168.1.20:2/b><http://192.168.1.20:3/c>", NULL, sid), 200);
	gena_response_sent(f->g, sid);
	assert_int_equal(gena_next_delivery(f->g, &d), 1);
	assert_int_equal(d.ntargets, 3);
	assert_int_equal(d.t[2].port, 3);
	assert_non_null(strstr(d.t[1].req, "NOTIFY /b HTTP/1.1\r\nHOST: 192.168.1.20:2\r\n"));
	assert_string_equal(req_body(&d, 0), req_body(&d, 2));
	assert_int_equal(fx_unsubscribe(f, ip, sid), 200);
	gena_delivery_done(f->g, d.sub_id, true);
	gena_delivery_free(&d);
	gena_delivery_free(NULL);
	expect_nothing(f);
}

/* ---- net/gena_io on loopback ------------------------------------------- */

struct rec {
	uint32_t seq;
	char sid[GENA_SID_SIZE];
	char path[64];
	uint64_t at_ms;
};

struct srv {
	struct loop *l;
	int lfd;
	uint16_t port;
	bool dead;                      /* accept, read nothing, answer nothing */
	int held[8];
	unsigned nheld;
	struct rec recs[16];
	unsigned nrec;
	unsigned open, max_open;
	struct sconn *conns[16];        /* open ones */
	bool (*done)(void *arg);
	void *done_arg, *done_arg2;
};

struct sconn {
	struct srv *s;
	int fd;
	char buf[8192];
	size_t len;
};

static void sconn_close(struct sconn *c)
{
	unsigned i;

	for (i = 0; i < 16; i++)
		if (c->s->conns[i] == c)
			c->s->conns[i] = NULL;
	loop_fd_del(c->s->l, c->fd);
	close(c->fd);
	c->s->open--;
	free(c);
}

/* The value of header name in the request head text, copied into out. */
static void head_value(const char *head, const char *name, char *out, size_t outsz)
{
	const char *p = strstr(head, name), *e;

	assert_non_null(p);
	p += strlen(name);
	e = strstr(p, "\r\n");
	assert_non_null(e);
	assert_true((size_t)(e - p) < outsz);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static void sconn_on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct sconn *c = arg;
	struct srv *s = c->s;
	struct rec *r;
	char *end, v[64];
	ssize_t n;

	(void)fd;
	(void)events;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		sconn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return;
	head_value(c->buf, "\r\nCONTENT-LENGTH: ", v, sizeof(v));
	if ((size_t)(end + 4 - c->buf) + strtoul(v, NULL, 10) > c->len)
		return;                 /* body not complete yet */
	assert_true(s->nrec < 16);
	r = &s->recs[s->nrec++];
	head_value(c->buf, "\r\nSEQ: ", v, sizeof(v));
	r->seq = (uint32_t)strtoul(v, NULL, 10);
	head_value(c->buf, "\r\nSID: ", r->sid, sizeof(r->sid));
	head_value(c->buf, "NOTIFY ", r->path, sizeof(r->path));
	r->at_ms = clock_monotonic_ms(NULL);
	assert_int_equal(write(c->fd, ok, sizeof(ok) - 1), (ssize_t)(sizeof(ok) - 1));
	sconn_close(c);
	if (s->done && s->done(s->done_arg))
		loop_stop(l);
}

static void srv_on_listen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct srv *s = arg;
	struct sconn *c;
	unsigned i;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (s->dead) {
		assert_true(s->nheld < 8);
		s->held[s->nheld++] = cfd;
		return;
	}
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->s = s;
	c->fd = cfd;
	for (i = 0; i < 16 && s->conns[i]; i++)
		;
	assert_true(i < 16);
	s->conns[i] = c;
	if (++s->open > s->max_open)
		s->max_open = s->open;
	assert_int_equal(loop_fd_add(l, cfd, EPOLLIN, sconn_on_fd, c), 0);
}

static void srv_start(struct srv *s, struct loop *l, bool dead)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->l = l;
	s->dead = dead;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(loop_fd_add(l, s->lfd, EPOLLIN, srv_on_listen, s), 0);
}

static void srv_stop(struct srv *s)
{
	unsigned i;

	loop_fd_del(s->l, s->lfd);
	close(s->lfd);
	for (i = 0; i < s->nheld; i++)
		close(s->held[i]);
	for (i = 0; i < 16; i++)
		if (s->conns[i])
			sconn_close(s->conns[i]);
}

/* A loopback port with nobody listening (connect: ECONNREFUSED). */
static uint16_t closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Run l until cond(arg); fail (saying what) after the safety timeout. */
static void run_until(struct loop *l, bool (*cond)(void *arg), void *arg, const char *what)
{
	if (!test_loop_until(l, cond, arg))
		fail_msg("%s never happened", what);
}

/* The LAN is 127.0.0.0/8 with the gateway at 127.0.0.2, so that the
 * subscriber at 127.0.0.1 passes the LAN check; real time. hold_ms: the
 * initial event's hold (0 for the tests that time the sender itself). */
static struct fx *fx_loopback(unsigned confirm_timeout_s, unsigned hold_ms)
{
	struct gena_params p;
	struct fx *f;

	gena_params_default(&p);
	p.seeded = true;
	p.confirm_timeout_s = confirm_timeout_s;
	p.initial_hold_ms = hold_ms;
	f = fx_new("127.0.0.2", "255.0.0.0", &p);
	f->x.e.clock.now_ms = clock_monotonic_ms;
	f->x.e.clock.ctx = NULL;
	return f;
}

static bool srv_has(void *arg)
{
	struct srv *s = arg;

	return s->nrec >= 4;
}

/* Events reach one subscriber in SEQ order, one connection at a time;
 * the initial event's hold (nobody calls gena_response_taken() here)
 * ends by the sender's timer, and the changes wait behind it. */
static void test_io_order(void **state)
{
	struct fx *f = fx_loopback(30, GENA_INITIAL_HOLD_MS);
	struct loop *l = loop_new();
	struct gena_io *io;
	struct srv s;
	char cb[64], sid[GENA_SID_SIZE];
	unsigned i;

	(void)state;
	assert_non_null(l);
	io = gena_io_new(f->g, &f->x.e, l, NULL);
	assert_non_null(io);
	srv_start(&s, l, false);
	s.done = srv_has;
	s.done_arg = &s;
	snprintf(cb, sizeof(cb), "<http://127.0.0.1:%u/ev>", (unsigned)s.port);
	assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", cb, NULL, sid), 200);
	gena_response_sent(f->g, sid);
	engine_changed(&f->x.e, ENGINE_CHG_MAPPINGS);
	engine_changed(&f->x.e, ENGINE_CHG_EXTERNAL_IP);
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	run_until(l, srv_has, &s, "four events");
	assert_int_equal(s.nrec, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s.recs[i].seq, i);
		assert_string_equal(s.recs[i].sid, sid);
		assert_string_equal(s.recs[i].path, "/ev HTTP/1.1");
	}
	assert_int_equal(s.max_open, 1);
	gena_io_free(io);
	srv_stop(&s);
	loop_free(l);
	fx_free(f);
}

struct counts {
	struct srv *s;
	unsigned n;
	struct srv *held;               /* and this one has accepted (or NULL) */
};

static bool has_n(void *arg)
{
	struct counts *c = arg;

	return c->s->nrec >= c->n && (!c->held || c->held->nheld >= 1);
}

/*
 * URLs are tried in order until one answers: sub1 names a dead
 * subscriber (accepts, never answers) then L1; sub2 a closed port then
 * L2; sub3 L2. sub2 and sub3 are served while sub1's first URL still
 * hangs: a dead subscriber delays nobody else. (The response time limit
 * is the safety timeout here, so the order cannot come from this
 * machine's speed; test_io_fallback has the limit run out.)
 */
static void test_io_dead(void **state)
{
	struct fx *f = fx_loopback(30, 0);
	struct loop *l = loop_new();
	struct gena_io_params p;
	struct gena_io *io;
	struct srv dead, l1, l2;
	struct counts two = { &l2, 2, &dead }, four = { &l2, 4, NULL };
	char cb[128], s1[GENA_SID_SIZE], s2[GENA_SID_SIZE], s3[GENA_SID_SIZE];
	unsigned i;

	(void)state;
	gena_io_params_default(&p);
	p.response_timeout_ms = (unsigned)test_timeout_ms();
	io = gena_io_new(f->g, &f->x.e, l, &p);
	assert_non_null(io);
	srv_start(&dead, l, true);
	srv_start(&l1, l, false);
	srv_start(&l2, l, false);
	snprintf(cb, sizeof(cb), "<http://127.0.0.1:%u/dead><http://127.0.0.1:%u/l1>",
		 (unsigned)dead.port, (unsigned)l1.port);
	assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", cb, NULL, s1), 200);
	snprintf(cb, sizeof(cb), "<http://127.0.0.1:%u/closed><http://127.0.0.1:%u/l2>",
		 (unsigned)closed_port(), (unsigned)l2.port);
	assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", cb, NULL, s2), 200);
	snprintf(cb, sizeof(cb), "<http://127.0.0.1:%u/only>", (unsigned)l2.port);
	assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", cb, NULL, s3), 200);
	gena_response_sent(f->g, s1);
	gena_response_sent(f->g, s2);
	gena_response_sent(f->g, s3);
	run_until(l, has_n, &two, "the initial events of sub2 and sub3");
	for (i = 0; i < 2; i++)
		assert_int_equal(l2.recs[i].seq, 0);
	assert_int_equal(dead.nheld, 1);        /* sub1's delivery still hangs */
	assert_int_equal(l1.nrec, 0);
	/* A change: sub2 and sub3 get it too; shut down with sub1's delivery
	 * still stuck on the dead subscriber. */
	engine_changed(&f->x.e, ENGINE_CHG_CONNECTION);
	run_until(l, has_n, &four, "the change events of sub2 and sub3");
	assert_int_equal(l1.nrec, 0);
	assert_true(gena_io_active(io) >= 1);
	gena_io_free(io);
	srv_stop(&dead);
	srv_stop(&l1);
	srv_stop(&l2);
	loop_free(l);
	fx_free(f);
}

/* When the dead subscriber's time runs out (1 s), the event goes to the
 * next URL: never before that time. */
static void test_io_fallback(void **state)
{
	struct fx *f = fx_loopback(30, 0);
	struct loop *l = loop_new();
	struct gena_io_params p;
	struct gena_io *io;
	struct srv dead, l1;
	struct counts one = { &l1, 1, NULL };
	char cb[128], s1[GENA_SID_SIZE];
	uint64_t t0;

	(void)state;
	gena_io_params_default(&p);
	p.response_timeout_ms = 1000;
	io = gena_io_new(f->g, &f->x.e, l, &p);
	assert_non_null(io);
	srv_start(&dead, l, true);
	srv_start(&l1, l, false);
	snprintf(cb, sizeof(cb), "<http://127.0.0.1:%u/dead><http://127.0.0.1:%u/l1>",
		 (unsigned)dead.port, (unsigned)l1.port);
	assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", cb, NULL, s1), 200);
	t0 = clock_monotonic_ms(NULL);
	gena_response_sent(f->g, s1);
	run_until(l, has_n, &one, "the fallback to the second URL");
	assert_int_equal(dead.nheld, 1);
	assert_int_equal(l1.nrec, 1);
	assert_string_equal(l1.recs[0].sid, s1);
	assert_int_equal(l1.recs[0].seq, 0);
	assert_true(l1.recs[0].at_ms >= t0 + 900);
	gena_io_free(io);
	srv_stop(&dead);
	srv_stop(&l1);
	loop_free(l);
	fx_free(f);
}

static bool held_2(void *arg)
{
	return ((struct srv *)arg)->nheld >= 2;
}

/*
 * The sender's connection bound (gena_io_params.max_conns, by default
 * IGDD_GENA_MAX_SUBSCRIPTIONS): with max_conns 2 and four subscribers
 * behind a dead server, two NOTIFY connections are open, never more; the
 * other two deliveries wait for a free slot.
 */
static void test_io_max_conns(void **state)
{
	struct fx *f = fx_loopback(30, 0);
	struct loop *l = loop_new();
	struct gena_io_params p;
	struct gena_io *io;
	struct srv dead;
	char cb[128], sid[GENA_SID_SIZE];
	unsigned i;

	(void)state;
	gena_io_params_default(&p);
	assert_int_equal(p.max_conns, IGDD_GENA_MAX_SUBSCRIPTIONS);
	p.max_conns = 2;
	p.response_timeout_ms = (unsigned)test_timeout_ms();
	io = gena_io_new(f->g, &f->x.e, l, &p);
	assert_non_null(io);
	srv_start(&dead, l, true);
	snprintf(cb, sizeof(cb), "<http://127.0.0.1:%u/dead>", (unsigned)dead.port);
	for (i = 0; i < 4; i++) {
		assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", cb, NULL, sid), 200);
		gena_response_sent(f->g, sid);
	}
	run_until(l, held_2, &dead, "two connections to the dead server");
	test_loop_for(l, 200);                  /* a third would come now */
	assert_int_equal(gena_io_active(io), 2);
	assert_int_equal(dead.nheld, 2);
	gena_io_free(io);
	srv_stop(&dead);
	loop_free(l);
	fx_free(f);
}

static bool count_zero(void *arg)
{
	return gena_count(arg) == 0;
}

/* The expiry timer: a subscription never confirmed goes after
 * confirm_timeout_s (never sooner). */
static void test_io_expiry(void **state)
{
	struct fx *f = fx_loopback(1, 0);
	struct loop *l = loop_new();
	struct gena_io *io;
	char sid[GENA_SID_SIZE];
	uint64_t t0;

	(void)state;
	io = gena_io_new(f->g, &f->x.e, l, NULL);
	assert_int_equal(fx_subscribe(f, wanipconn_service(), "127.0.0.1", "<http://127.0.0.1:9/>",
				      NULL, sid), 200);
	t0 = clock_monotonic_ms(NULL);
	run_until(l, count_zero, f->g, "the expiry");
	assert_int_equal(gena_count(f->g), 0);
	assert_true(clock_monotonic_ms(NULL) >= t0 + 1000);
	gena_io_free(io);
	loop_free(l);
	fx_free(f);
}

/* ---- net/http_io.c: the hold ends when the subscriber moves ----------- */

struct client {
	char buf[2048];
	size_t len;
	bool done;                      /* a whole response head, or the end */
};

static void client_on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);

	(void)events;
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
	if (n <= 0 || strstr(c->buf, "\r\n\r\n")) {
		c->done = true;
		loop_stop(l);
	}
}

static bool client_done(void *arg)
{
	return ((struct client *)arg)->done;
}

static bool srv_has_n(void *arg)
{
	struct srv *s = arg;

	return s->nrec >= (unsigned)(uintptr_t)s->done_arg2;
}

/*
 * A SUBSCRIBE through igdd's HTTP server: the initial event waits for the
 * subscriber's next move on a connection kept open: its close (round 0),
 * its next request (round 1). The hold time here is far beyond the test,
 * so only the move can release it; meanwhile no NOTIFY is sent. Round 2:
 * igdd's own close after a "Connection: close" answer is no move of the
 * subscriber's: the event still waits (for the hold time alone).
 */
static void test_io_hold_until_taken(void **state)
{
	static const char *const second[] = { NULL, "GET /rootDesc.xml HTTP/1.1\r\n", NULL };
	static const char *const conn[] = { "", "", "Connection: close\r\n" };
	struct gena_params p;
	struct fx *f;
	struct loop *l = loop_new();
	struct http_io *h;
	struct gena_io *io;
	struct srv s;
	struct sockaddr_in a;
	char req[512], host[32], sid[GENA_SID_SIZE];
	unsigned round;

	(void)state;
	assert_non_null(l);
	gena_params_default(&p);
	p.seeded = true;
	p.initial_hold_ms = 600000;
	f = fx_new("127.0.0.2", "255.0.0.0", &p);
	f->x.e.clock.now_ms = clock_monotonic_ms;
	f->x.e.clock.ctx = NULL;
	f->x.e.gena = f->g;
	f->x.cfg.http_port = 0;
	h = http_io_new(&f->x.e, l);
	assert_non_null(h);
	io = gena_io_new(f->g, &f->x.e, l, NULL);
	assert_non_null(io);
	srv_start(&s, l, false);
	s.done = srv_has_n;
	s.done_arg = &s;
	snprintf(host, sizeof(host), "127.0.0.2:%u", (unsigned)f->x.e.http_port);
	for (round = 0; round < 3; round++) {
		struct client c = { .len = 0, .done = false };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		const char *p1;

		assert_true(fd >= 0);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons(f->x.e.http_port);
		inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		snprintf(req, sizeof(req),
			 "SUBSCRIBE /evt/IPConn HTTP/1.1\r\nHost: %s\r\n"
			 "Callback: <http://127.0.0.1:%u/r%u>\r\nNT: upnp:event\r\n"
			 "Timeout: Second-1800\r\n%s\r\n", host, (unsigned)s.port, round,
			 conn[round]);
		assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
		assert_int_equal(loop_fd_add(l, fd, EPOLLIN, client_on_fd, &c), 0);
		run_until(l, client_done, &c, "the SUBSCRIBE response");
		loop_fd_del(l, fd);
		assert_memory_equal(c.buf, "HTTP/1.1 200 OK\r\n", 17);
		assert_true(!strstr(c.buf, "Connection: close") == !conn[round][0]);
		p1 = strstr(c.buf, "\r\nSID: ");
		assert_non_null(p1);
		memcpy(sid, p1 + 7, 41);
		sid[41] = '\0';
		s.done_arg2 = (void *)(uintptr_t)(round + 1);
		test_loop_for(l, 300);                  /* held: nothing comes (a short
							 * window: slowness only passes it) */
		assert_int_equal(s.nrec, round);
		if (second[round]) {
			snprintf(req, sizeof(req), "%sHost: %s\r\n\r\n", second[round], host);
			assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
		} else {
			close(fd);
			fd = -1;
		}
		if (conn[round][0]) {
			test_loop_for(l, 300);          /* still held */
			assert_int_equal(s.nrec, round);
			break;
		}
		run_until(l, srv_has_n, &s, "the initial event");
		assert_int_equal(s.nrec, round + 1);
		assert_int_equal(s.recs[round].seq, 0);
		assert_string_equal(s.recs[round].sid, sid);
		if (fd >= 0)
			close(fd);
	}
	gena_io_free(io);
	http_io_free(h);
	srv_stop(&s);
	loop_free(l);
	f->x.e.gena = NULL;
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_callback),
		cmocka_unit_test(test_notify_text),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_status_line),
		cmocka_unit_test_setup_teardown(test_initial_event_after_response, fx_setup, fx_teardown),
		cmocka_unit_test(test_initial_hold),
		cmocka_unit_test_setup_teardown(test_one_event_per_change, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_firewall_events, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_in_order, fx_setup, fx_teardown),
		cmocka_unit_test(test_queue_collapse),
		cmocka_unit_test_setup_teardown(test_callback_lan_only, fx_setup, fx_teardown),
		cmocka_unit_test(test_callback_ipv6),
		cmocka_unit_test_setup_teardown(test_handle_errors, fx_setup, fx_teardown),
		cmocka_unit_test(test_response_sid),
		cmocka_unit_test_setup_teardown(test_response_failed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expiry, fx_setup, fx_teardown),
		cmocka_unit_test(test_limits_full),
		cmocka_unit_test_setup_teardown(test_limits, fx_setup, fx_teardown),
		cmocka_unit_test(test_sids),
		cmocka_unit_test_setup_teardown(test_stale_report, fx_setup, fx_teardown),
		cmocka_unit_test(test_io_order),
		cmocka_unit_test(test_io_dead),
		cmocka_unit_test(test_io_fallback),
		cmocka_unit_test(test_io_max_conns),
		cmocka_unit_test(test_io_expiry),
		cmocka_unit_test(test_io_hold_until_taken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
