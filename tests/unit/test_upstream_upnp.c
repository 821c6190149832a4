/*
 * test_upstream_upnp.c - net/upstream_io.c with net/upstream_upnp.c: igdd
 * as the UPnP IGD control point of an upstream that answers neither PCP
 * nor NAT-PMP, against an IGD of this test on the loopback of a network
 * namespace of its own (SSDP on lo, which the test makes multicast; the
 * description and SOAP on 127.0.0.1). The WAN address is 127.0.0.2, the
 * WAN interface lo. The IGD's answers are scripted per test: 718 then
 * AddAnyPortMapping, 725 then lease 0, a new BOOTID.UPNP.ORG, chunked
 * answers. A PCP (or NAT-PMP only) server of the test that starts on the
 * probed port after UPnP was settled on is found by the re-probe, and the
 * mappings move to it. Every wait is for the condition, bounded by the
 * safety timeout.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/config.h"
#include "engine.h"
#include "harness.h"
#include "loop/loop.h"
#include "net/upstream_io.h"
#include "proto/natpmp.h"
#include "proto/pcp.h"
#include "svc/ctl.h"
#include "util/buf.h"
#include "util/limits.h"

#include "upstream_srv.h"

static bool own_netns;

struct igd {
	struct loop *l;
	int ssdp, http, conn;
	uint16_t http_port;
	char in[8192];
	size_t in_len;
	unsigned version;               /* of WANIPConnection */
	uint32_t bootid;
	bool conflict;                  /* AddPortMapping answers 718 */
	bool perm_only;                 /* a lease other than 0 answers 725 */
	bool chunked;                   /* answers in chunks */
	unsigned searches, adds, anys, deletes, exts;
	unsigned last_lease;
	unsigned last_ext_port;
};

static const char desc_fmt[] =
	"<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>"
	"<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:%u</deviceType><deviceList><device>"
	"<deviceList><device><serviceList><service>"
	"<serviceType>urn:schemas-upnp-org:service:WANIPConnection:%u</serviceType>"
	"<controlURL>/ctl/IPConn</controlURL></service></serviceList></device></deviceList>"
	"</device></deviceList></device></root>";

static void igd_ssdp(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct igd *g = arg;
	char buf[1500], out[512];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
	int len;

	(void)l;
	(void)ev;
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strncmp(buf, "M-SEARCH", 8) != 0 || !strstr(buf, "InternetGatewayDevice:1"))
		return;
	g->searches++;
	len = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
		       "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\n"
		       "LOCATION: http://127.0.0.1:%u/d.xml\r\nBOOTID.UPNP.ORG: %u\r\n\r\n",
		       g->http_port, g->bootid);
	sendto(fd, out, (size_t)len, 0, (struct sockaddr *)&from, fl);
}

static void reply(struct igd *g, int status, const char *body)
{
	char head[256], size[16];
	size_t len = strlen(body), off, c;
	int n;

	if (!g->chunked) {
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: text/xml\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
		(void)!send(g->conn, head, (size_t)n, MSG_NOSIGNAL);
		(void)!send(g->conn, body, len, MSG_NOSIGNAL);
		return;
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: text/xml\r\n"
		     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", status);
	(void)!send(g->conn, head, (size_t)n, MSG_NOSIGNAL);
	for (off = 0; off < len; off += c) {
		c = len - off < 37 ? len - off : 37;
		n = snprintf(size, sizeof(size), "%zx\r\n", c);
		(void)!send(g->conn, size, (size_t)n, MSG_NOSIGNAL);
		(void)!send(g->conn, body + off, c, MSG_NOSIGNAL);
		(void)!send(g->conn, "\r\n", 2, MSG_NOSIGNAL);
	}
	(void)!send(g->conn, "0\r\n\r\n", 5, MSG_NOSIGNAL);
}

static void soap_ok(struct igd *g, const char *action, const char *args)
{
	char body[4096];

	snprintf(body, sizeof(body), "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
		 "<s:Body><u:%sResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:%u\">%s"
		 "</u:%sResponse></s:Body></s:Envelope>", action, g->version, args, action);
	reply(g, 200, body);
}

static void soap_fault(struct igd *g, int code)
{
	char body[1024];

	snprintf(body, sizeof(body), "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
		 "<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
		 "<detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>%d</errorCode>"
		 "</UPnPError></detail></s:Fault></s:Body></s:Envelope>", code);
	reply(g, 500, body);
}

static unsigned arg_u(const char *req, const char *name)
{
	char open[64];
	const char *p;

	snprintf(open, sizeof(open), "<%s>", name);
	p = strstr(req, open);
	return p ? (unsigned)strtoul(p + strlen(open), NULL, 10) : 0;
}

static void igd_answer(struct igd *g)
{
	char body[2048];

	if (strncmp(g->in, "GET /d.xml", 10) == 0) {
		snprintf(body, sizeof(body), desc_fmt, g->version, g->version);
		reply(g, 200, body);
	} else if (strstr(g->in, "#GetExternalIPAddress\"")) {
		g->exts++;
		soap_ok(g, "GetExternalIPAddress", "<NewExternalIPAddress>198.51.100.1</NewExternalIPAddress>");
	} else if (strstr(g->in, "#AddPortMapping\"")) {
		g->last_lease = arg_u(g->in, "NewLeaseDuration");
		g->last_ext_port = arg_u(g->in, "NewExternalPort");
		if (g->conflict)
			soap_fault(g, 718);
		else if (g->perm_only && g->last_lease != 0)
			soap_fault(g, 725);
		else
			g->adds++, soap_ok(g, "AddPortMapping", "");
	} else if (strstr(g->in, "#AddAnyPortMapping\"")) {
		char port[64];

		g->anys++;
		snprintf(port, sizeof(port), "<NewReservedPort>%u</NewReservedPort>",
			 arg_u(g->in, "NewExternalPort") + 1);
		soap_ok(g, "AddAnyPortMapping", port);
	} else if (strstr(g->in, "#DeletePortMapping\"")) {
		g->deletes++;
		soap_ok(g, "DeletePortMapping", "");
	} else {
		reply(g, 404, "");
	}
}

static void igd_conn(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct igd *g = arg;
	ssize_t n = read(fd, g->in + g->in_len, sizeof(g->in) - 1 - g->in_len);
	const char *end, *cl;

	(void)ev;
	if (n > 0) {
		g->in_len += (size_t)n;
		g->in[g->in_len] = '\0';
		end = strstr(g->in, "\r\n\r\n");
		if (!end)
			return;
		cl = strstr(g->in, "Content-Length: ");
		if (cl && cl < end && g->in_len < (size_t)(end + 4 - g->in) + strtoul(cl + 16, NULL, 10))
			return;
		igd_answer(g);
	}
	loop_fd_del(l, fd);
	close(fd);
	g->conn = -1;
}

static void igd_accept(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct igd *g = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)ev;
	if (c < 0)
		return;
	if (g->conn >= 0) {             /* one at a time, as the client does */
		close(c);
		return;
	}
	g->conn = c;
	g->in_len = 0;
	assert_int_equal(loop_fd_add(l, c, EPOLLIN, igd_conn, g), 0);
}

static void igd_open(struct igd *g, struct loop *l)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct ip_mreqn mr;
	socklen_t al = sizeof(a);
	int one = 1;

	memset(g, 0, sizeof(*g));
	g->l = l;
	g->conn = -1;
	g->version = 2;
	g->bootid = 100;
	g->ssdp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(g->ssdp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons(1900);
	assert_int_equal(bind(g->ssdp, (struct sockaddr *)&a, sizeof(a)), 0);
	memset(&mr, 0, sizeof(mr));
	mr.imr_multiaddr.s_addr = htonl(0xeffffffau);
	mr.imr_ifindex = (int)if_nametoindex("lo");
	assert_int_equal(setsockopt(g->ssdp, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)), 0);
	assert_int_equal(loop_fd_add(l, g->ssdp, EPOLLIN, igd_ssdp, g), 0);
	g->http = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = 0;
	assert_int_equal(bind(g->http, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(g->http, 8), 0);
	getsockname(g->http, (struct sockaddr *)&a, &al);
	g->http_port = ntohs(a.sin_port);
	assert_int_equal(loop_fd_add(l, g->http, EPOLLIN, igd_accept, g), 0);
}

static void igd_close(struct igd *g)
{
	if (g->conn >= 0) {
		loop_fd_del(g->l, g->conn);
		close(g->conn);
	}
	loop_fd_del(g->l, g->ssdp);
	close(g->ssdp);
	loop_fd_del(g->l, g->http);
	close(g->http);
}

/* A PCP server (or NAT-PMP only) on 127.0.0.1:5352 that starts late:
 * grants the port asked, 198.51.100.9 as the external address. */
static void pcpsrv_open(struct srv *s, struct loop *l, bool natpmp_only)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5352) };

	memset(s, 0, sizeof(*s));
	s->natpmp_only = natpmp_only;
	s->epoch = 7;
	inet_pton(AF_INET, "198.51.100.9", &s->pub);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(loop_fd_add(l, s->fd, EPOLLIN, srv_read, s), 0);
}

static void pcpsrv_close(struct srv *s, struct loop *l)
{
	loop_fd_del(l, s->fd);
	close(s->fd);
}

struct fx {
	struct config cfg;
	struct engine e;
	struct loop *l;
	struct igd igd;
	struct upstream_io *u;
	struct ctl_session s;
	struct buf out;
};

static struct fx *cur;

static struct fx *fx_new_conf(unsigned version, const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256], text[512];
	struct clock clk = { clock_monotonic_ms, NULL };
	struct upstream_io_params p;
	struct in_addr lan, mask;

	assert_non_null(f);
	snprintf(text, sizeof(text), "lan_interface = lan0\nexternal_ip = 127.0.0.2\n"
		 "wan_interface = lo\nuuid = 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab\n%s", extra);
	if (config_parse("t.conf", text, strlen(text), &f->cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(engine_init(&f->e, &f->cfg, &clk), 0);
	inet_pton(AF_INET, "192.168.1.1", &lan);
	inet_pton(AF_INET, "255.255.255.0", &mask);
	engine_set_lan(&f->e, lan, mask);
	assert_true(engine_wan_classify(&f->e));
	f->l = loop_new();
	assert_non_null(f->l);
	igd_open(&f->igd, f->l);
	f->igd.version = version;
	ctl_session_init(&f->s, &f->e, 0);
	buf_init(&f->out, IGDD_CTL_MAX_OUT);
	upstream_io_default_params(&p);
	p.have_server = true;
	inet_pton(AF_INET, "127.0.0.1", &p.server);
	p.port = 5352;                  /* nobody: ICMP port unreachable, then SSDP */
	p.irt_ms = 30;
	p.sends = 2;
	p.retry_ms = 100;
	p.reprobe_ms = 100;
	p.reprobe_max_ms = 400;
	p.gap_ms = 0;
	p.upnp_wait_ms = 200;
	p.upnp_timeout_ms = 2000;
	p.upnp_check_ms = 300;
	f->u = upstream_io_new(&f->e, f->l, &p);
	assert_non_null(f->u);
	cur = f;
	return f;
}

static struct fx *fx_new(unsigned version)
{
	return fx_new_conf(version, "");
}

static void fx_free(struct fx *f)
{
	upstream_io_free(f->u);
	igd_close(&f->igd);
	buf_free(&f->out);
	loop_free(f->l);
	engine_fini(&f->e);
	free(f);
}

static void ctl(struct fx *f, const char *line)
{
	buf_reset(&f->out);
	ctl_handle(&f->s, line, strlen(line), &f->out);
	if (!strstr(f->out.p, "ok"))
		fail_msg("%s: %.*s", line, (int)f->out.len, f->out.p);
}

static unsigned want;

static bool is_upnp(void *arg)
{
	(void)arg;
	return cur->e.upstream.mode == UPSTREAM_UPNP && cur->e.upstream.have_ext;
}

static bool mirrored(void *arg)
{
	(void)arg;
	return cur->e.upstream.mirrored == want && cur->e.upstream.pending == 0;
}

static bool deleted(void *arg)
{
	(void)arg;
	return cur->igd.deletes >= want;
}

static bool added(void *arg)
{
	(void)arg;
	return cur->igd.adds >= want;
}

static void wait_mirrored(struct fx *f, unsigned n)
{
	want = n;
	assert_true(test_loop_until(f->l, mirrored, NULL));
}

static void lo_multicast(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_MULTICAST;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

/* Found by SSDP, the external address from GetExternalIPAddress; a
 * mapping added on the same port with the lease asked, deleted with the
 * local one. */
static void test_mirror(void **state)
{
	struct fx *f;
	char ip[INET_ADDRSTRLEN];

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new(2);
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	engine_external_ip(&f->e, ip);
	assert_string_equal(ip, "198.51.100.1");
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	assert_int_equal(f->igd.adds, 1);
	assert_int_equal(f->igd.last_ext_port, 8080);
	assert_int_equal(f->igd.last_lease, IGDD_UPSTREAM_LIFETIME_S);
	assert_int_equal(f->e.upstream.other_port, 0);
	ctl(f, "del TCP 8080");
	want = 1;
	assert_true(test_loop_until(f->l, deleted, NULL));
	wait_mirrored(f, 0);
	fx_free(f);
}

/* 718 on a version 2 service: AddAnyPortMapping, the port reserved
 * recorded (another port than asked). */
static void test_conflict_any(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new(2);
	f->igd.conflict = true;
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	assert_int_equal(f->igd.anys, 1);
	assert_int_equal(f->e.upstream.other_port, 1);
	fx_free(f);
}

/* 725 (a version 1 IGD with permanent leases only): asked again with
 * lease 0; deleted at shutdown. */
static void test_permanent_only(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new(1);
	f->igd.perm_only = true;
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	ctl(f, "add UDP 5000 192.168.1.20 5000");
	wait_mirrored(f, 1);
	assert_int_equal(f->igd.last_lease, 0);
	assert_int_equal(f->igd.adds, 1);
	/* shutdown deletes it (the client waits for the answer while this
	 * loop does not run: the IGD reads the request afterwards) */
	upstream_io_free(f->u);
	f->u = NULL;
	want = 1;
	assert_true(test_loop_until(f->l, deleted, NULL));
	fx_free(f);
}

/* A new BOOTID.UPNP.ORG at the next search: every mapping added again. */
static void test_bootid(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new(2);
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	ctl(f, "add TCP 8080 192.168.1.20 80");
	ctl(f, "add TCP 8081 192.168.1.20 81");
	wait_mirrored(f, 2);
	assert_int_equal(f->e.upstream.epoch_resets, 0);
	f->igd.bootid = 101;
	want = 4;
	assert_true(test_loop_until(f->l, added, NULL));
	assert_int_equal(f->e.upstream.epoch_resets, 1);
	wait_mirrored(f, 2);
	fx_free(f);
}

/* The IGD answers chunked (description and SOAP): the same as in
 * test_mirror, the 718 path included. */
static void test_chunked(void **state)
{
	struct fx *f;
	char ip[INET_ADDRSTRLEN];

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new(2);
	f->igd.chunked = true;
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	engine_external_ip(&f->e, ip);
	assert_string_equal(ip, "198.51.100.1");
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	assert_int_equal(f->igd.adds, 1);
	f->igd.conflict = true;
	ctl(f, "add TCP 8081 192.168.1.20 81");
	wait_mirrored(f, 2);
	assert_int_equal(f->igd.anys, 1);
	assert_int_equal(f->e.upstream.other_port, 1);
	fx_free(f);
}

static struct srv *cur_srv;
static enum upstream_mode want_mode;

static bool moved(void *arg)
{
	(void)arg;
	return cur->e.upstream.mode == want_mode && cur->e.upstream.mirrored == want &&
	       cur->e.upstream.pending == 0 && cur->igd.deletes >= want && cur_srv->maps >= want &&
	       cur->e.upstream.have_ext && cur->e.upstream.ext.s_addr == htonl(0xc6336409u);
}

static bool srv_deleted(void *arg)
{
	(void)arg;
	return cur_srv->deletes >= want && cur->e.upstream.mirrored == 1;
}

/* A PCP (or NAT-PMP) server that starts after UPnP was settled on is
 * found by the re-probe: each mapping is deleted on the IGD and made on
 * the new server, whose external address is reported; a local delete
 * then goes to the new server only. */
static void pcp_appears(bool natpmp_only)
{
	static struct srv srv;
	struct fx *f;
	unsigned igd_deletes;

	if (!own_netns)
		skip();
	f = fx_new(2);
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	ctl(f, "add TCP 8080 192.168.1.20 80");
	ctl(f, "add UDP 9000 192.168.1.21 9000");
	wait_mirrored(f, 2);
	assert_int_equal(f->igd.adds, 2);
	assert_int_equal(f->igd.deletes, 0);
	pcpsrv_open(&srv, f->l, natpmp_only);
	cur_srv = &srv;
	want = 2;
	want_mode = natpmp_only ? UPSTREAM_NATPMP : UPSTREAM_PCP;
	assert_true(test_loop_until(f->l, moved, NULL));
	assert_int_equal(f->igd.deletes, 2);
	assert_true(srv.maps >= 2);         /* a MAP may be sent again (irt_ms) */
	igd_deletes = f->igd.deletes;
	ctl(f, "del TCP 8080");
	want = 1;
	assert_true(test_loop_until(f->l, srv_deleted, NULL));
	assert_int_equal(f->igd.deletes, igd_deletes);
	assert_int_equal(f->igd.adds, 2);
	pcpsrv_close(&srv, f->l);
	fx_free(f);
}

static void test_pcp_appears(void **state)
{
	(void)state;
	pcp_appears(false);
}

static void test_natpmp_appears(void **state)
{
	(void)state;
	pcp_appears(true);
}

static bool is_none(void *arg)
{
	(void)arg;
	return cur->e.upstream.mode == UPSTREAM_NONE;
}

/* the probes sent, and the last one over */
static bool probed(void *arg)
{
	(void)arg;
	return cur->e.upstream.requests >= want && cur->e.upstream.mode == UPSTREAM_NONE;
}

/* upstream_upnp = no: PCP and NAT-PMP asked, no search on the WAN. */
static void test_upnp_off(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new_conf(2, "upstream_upnp = no\n");
	assert_true(test_loop_until(f->l, is_none, NULL));
	ctl(f, "add TCP 8080 192.168.1.20 80");
	/* the probe again (reprobe_ms 100 ms doubling to 400 ms), still no search */
	want = 4;
	assert_true(test_loop_until(f->l, probed, NULL));
	assert_int_equal(f->igd.searches, 0);
	assert_int_equal(f->igd.adds, 0);
	assert_false(f->e.upstream.have_ext);
	fx_free(f);
}

/* upstream_upnp turned off by a reload while the IGD is used: the
 * mapping deleted there, nothing found any more; on again: found and
 * mirrored again. */
static void test_upnp_reload(void **state)
{
	struct fx *f;

	(void)state;
	if (!own_netns)
		skip();
	f = fx_new(2);
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	ctl(f, "add TCP 8080 192.168.1.20 80");
	wait_mirrored(f, 1);
	f->cfg.upstream_upnp = false;
	upstream_io_wan_changed(f->u);
	want = 1;
	assert_true(test_loop_until(f->l, deleted, NULL));   /* read after the sync delete */
	assert_true(test_loop_until(f->l, is_none, NULL));
	assert_int_equal(f->e.upstream.mirrored, 0);
	f->cfg.upstream_upnp = true;
	upstream_io_wan_changed(f->u);
	assert_true(test_loop_until(f->l, is_upnp, NULL));
	wait_mirrored(f, 1);
	assert_int_equal(f->igd.adds, 2);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirror),
		cmocka_unit_test(test_conflict_any),
		cmocka_unit_test(test_permanent_only),
		cmocka_unit_test(test_bootid),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_pcp_appears),
		cmocka_unit_test(test_natpmp_appears),
		cmocka_unit_test(test_upnp_off),
		cmocka_unit_test(test_upnp_reload),
	};
	int r = test_own_netns();

	own_netns = r == 0;
	if (own_netns)
		lo_multicast();
	else
		fprintf(stderr, "no network namespace of our own (%s): the tests skip\n", strerror(-r));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
