/*
 * test_ctl.c - the control socket: the request parser and the quoting
 * of proto/ctl.c, the commands of svc/ctl.c on the sim backend (admin
 * mappings, conflicts with UPnP entries, SystemUpdateID exactly +1 per
 * change, one change event, the lease file, listings in parts, the WAN
 * connection) and net/ctl_io.c over a real Unix socket (answers, the
 * line limit, the connection limit, a stale socket file).
 */
#define _GNU_SOURCE             /* unshare (harness.h) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/config.h"
#include "core/lan.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "core/wanconn.h"
#include "engine.h"
#include "engine_tx.h"
#include "harness.h"
#include "loop/loop.h"
#include "net/ctl_io.h"
#include "proto/ctl.h"
#include "store/leasefile.h"
#include "svc/action.h"
#include "svc/ctl.h"
#include "svc/pinholes.h"
#include "svc/portmap.h"
#include "svc/wanipconn.h"
#include "util/log.h"

#include "fixture.h"
#include "netns_child.h"

#define T0 FX_T0

struct fx {
	struct fx_engine x;
	struct ctl_session s;
	struct buf out;
};

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* The shared engine (fixture.h), a session of uid 0 on it. */
static struct fx *fx_new(const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_engine_init(&f->x, extra, 0);
	ctl_session_init(&f->s, &f->x.e, 0);
	buf_init(&f->out, IGDD_CTL_MAX_OUT);
	return f;
}

static void fx_free(struct fx *f)
{
	buf_free(&f->out);
	fx_engine_fini(&f->x);
	free(f);
}

/* Run a command; its whole answer (all parts of a listing). */
static const char *run(struct fx *f, const char *line)
{
	static char copy[1 << 20];
	size_t n = 0;
	int more;

	buf_reset(&f->out);
	more = ctl_handle(&f->s, line, strlen(line), &f->out);
	for (;;) {
		assert_false(f->out.toobig);
		assert_true(n + f->out.len < sizeof(copy));
		memcpy(copy + n, f->out.p, f->out.len);
		n += f->out.len;
		buf_reset(&f->out);
		if (!more)
			break;
		more = ctl_more(&f->s, &f->out);
	}
	copy[n] = '\0';
	return copy;
}

/* The status line of an answer. */
static const char *last_line(const char *answer)
{
	static char line[512];
	size_t n = strlen(answer);
	const char *p;

	assert_true(n > 0 && answer[n - 1] == '\n');
	for (p = answer + n - 1; p > answer && p[-1] != '\n'; p--)
		;
	snprintf(line, sizeof(line), "%.*s", (int)(answer + n - 1 - p), p);
	return line;
}

#define assert_ok(a) assert_string_equal(last_line(a), "ok")
#define assert_code(a, code) assert_memory_equal(last_line(a), "error " #code " ", 10)

/* ------------------------------------------------------------- parser */

static void test_parse_table(void **state)
{
	static const struct {
		const char *line;
		int code;
	} rows[] = {
		{ "status", 0 },
		{ "status --json", 0 },
		{ "  list\t--json  ", 0 },
		{ "list", 0 },
		{ "add TCP 80 192.168.1.2 8080", 0 },
		{ "add udp 1 192.168.1.2 65535 --lease 604800 --remote 8.8.8.8 --desc \"a \\\"b\\\" \\\\ c\"", 0 },
		{ "add TCP 80 --desc x 192.168.1.2 8080", 0 },
		{ "del TCP 80", 0 },
		{ "del UDP 80 --remote 1.2.3.4", 0 },
		{ "flush", 0 },
		{ "flush --client 192.168.1.9", 0 },
		{ "connect", 0 },
		{ "disconnect", 0 },
		{ "log-level debug", 0 },
		{ "log-level warn", 0 },
		{ "", 400 },
		{ "   ", 400 },
		{ "reload", 0 },
		{ "reload now", 400 },
		{ "reload --json", 400 },
		{ "STATUS", 400 },
		{ "status extra", 400 },
		{ "status --lease 1", 400 },
		{ "list --json --json", 400 },
		{ "add TCP 80 192.168.1.2", 400 },
		{ "add SCTP 80 192.168.1.2 80", 400 },
		{ "add TCP 0 192.168.1.2 80", 400 },
		{ "add TCP 65536 192.168.1.2 80", 400 },
		{ "add TCP -1 192.168.1.2 80", 400 },
		{ "add TCP +80 192.168.1.2 80", 400 },
		{ "add TCP 80 192.168.1 80", 400 },
		{ "add TCP 80 host.lan 80", 400 },
		{ "add TCP 80 192.168.1.2 0", 400 },
		{ "add TCP 80 192.168.1.2 80 --lease 604801", 400 },
		{ "add TCP 80 192.168.1.2 80 --lease", 400 },
		{ "add TCP 80 192.168.1.2 80 --lease 1 --lease 2", 400 },
		{ "add TCP 80 192.168.1.2 80 --remote ::1", 400 },
		{ "add TCP 80 192.168.1.2 80 --desc \"open", 400 },
		{ "add TCP 80 192.168.1.2 80 --desc \"a\"b", 400 },
		{ "add TCP 80 192.168.1.2 80 --desc a\"b", 400 },
		{ "add TCP 80 192.168.1.2 80 --desc \"a\\nb\"", 400 },
		{ "add TCP 80 192.168.1.2 80 --bogus 1", 400 },
		{ "del TCP", 400 },
		{ "del TCP 80 --lease 5", 400 },
		{ "flush --client", 400 },
		{ "flush --client x", 400 },
		{ "flush 192.168.1.2", 400 },
		{ "log-level", 400 },
		{ "log-level verbose", 400 },
		{ "connect now", 400 },
		{ "status\x01", 400 },
		{ "status\x7f", 400 },
		{ "a b c d e f g h i j k l m n o p q", 400 },
	};
	struct ctl_req *r = malloc(sizeof(*r));
	const char *err;
	size_t i;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err = NULL;
		int code = ctl_parse(rows[i].line, strlen(rows[i].line), r, &err);

		if (code != rows[i].code)
			fail_msg("'%s': %d, wanted %d (%s)", rows[i].line, code, rows[i].code,
				 err ? err : "");
		if (code)
			assert_non_null(err);
	}
	free(r);
}

static void test_parse_values(void **state)
{
	struct ctl_req *r = malloc(sizeof(*r));
	const char *line = "add udp 1 192.168.1.2 65535 --remote 8.8.8.8 --lease 600 "
			   "--desc \"a \\\"b\\\" \\\\ c\"";
	const char *err;
	char big[IGDD_CTL_MAX_LINE + 2];

	(void)state;
	assert_int_equal(ctl_parse(line, strlen(line), r, &err), 0);
	assert_int_equal(r->cmd, CTL_ADD);
	assert_int_equal(r->proto, MAP_UDP);
	assert_int_equal(r->ext_port, 1);
	assert_int_equal(r->int_port, 65535);
	assert_int_equal(r->client.s_addr, ip("192.168.1.2").s_addr);
	assert_int_equal(r->remote_host.s_addr, ip("8.8.8.8").s_addr);
	assert_int_equal(r->lease_s, 600);
	assert_string_equal(r->desc, "a \"b\" \\ c");
	assert_int_equal(r->desc_len, 9);

	assert_int_equal(ctl_parse("list --json", 11, r, &err), 0);
	assert_true(r->json);
	assert_int_equal(ctl_parse("flush --client 10.0.0.1", 23, r, &err), 0);
	assert_true(r->have_client);
	assert_int_equal(ctl_parse("log-level info", 14, r, &err), 0);
	assert_int_equal(r->level, CTL_LOG_INFO);

	/* The line limit: IGDD_CTL_MAX_LINE is fine, one more is 413. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "status", 6);
	assert_int_equal(ctl_parse(big, IGDD_CTL_MAX_LINE, r, &err), 0);
	assert_int_equal(ctl_parse(big, IGDD_CTL_MAX_LINE + 1, r, &err), CTL_E_TOO_LONG);
	free(r);
}

/* What the client quotes, the daemon splits back into the same words. */
static void test_quote_round_trip(void **state)
{
	static const char *words[] = { "add", "", "a b", "\"", "\\", "x\"y\\z", "tab\there",
				       "caf\xc3\xa9", "--desc", "\"quoted\"" };
	const char *got[CTL_MAX_WORDS], *err = NULL;
	char text[IGDD_CTL_MAX_LINE + 1];
	struct buf b;
	size_t i;
	int n;

	(void)state;
	buf_init(&b, IGDD_CTL_MAX_LINE);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (i)
			buf_puts(&b, " ");
		assert_int_equal(ctl_quote(&b, words[i]), 0);
	}
	n = ctl_split(b.p, b.len, text, got, CTL_MAX_WORDS, &err);
	assert_int_equal(n, (int)(sizeof(words) / sizeof(words[0])));
	for (i = 0; i < (size_t)n; i++)
		assert_string_equal(got[i], words[i]);
	buf_reset(&b);
	assert_int_equal(ctl_quote(&b, "new\nline"), -EINVAL);
	buf_free(&b);
}

static void test_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	ctl_escape_json(&b, "a\"\\\n\x01 caf\xc3\xa9 \xff \xed\xa0\x80 \xc0\xaf", 20);
	assert_string_equal(b.p, "\"a\\\"\\\\\\u000a\\u0001 caf\xc3\xa9 \\ufffd "
			    "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"");
	buf_reset(&b);
	ctl_escape_text(&b, "ok \"x\"\\\n\xc3\xa9", 10);
	assert_string_equal(b.p, "ok \\x22x\\x22\\x5c\\x0a\\xc3\\xa9");
	buf_free(&b);
}

/* ------------------------------------------------------------- dispatch */

/* A UPnP entry, as svc/portmap.c would make it. */
static void upnp_add(struct fx *f, uint16_t port, const char *client)
{
	struct mapping tmpl, *m;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.internal_client = ip(client);
	tmpl.owner = ip(client);
	tmpl.ext_port = port;
	tmpl.int_port = port;
	tmpl.proto = MAP_TCP;
	tmpl.origin = MAP_ORIGIN_UPNP;
	tmpl.enabled = true;
	tmpl.lease_end_ms = map_lease_end(f->x.e.maps, 3600);
	assert_int_equal(map_add(f->x.e.maps, &tmpl, STR_LIT("upnp"), &m), MAP_OK);
	assert_int_equal(f->x.e.backend.ops->apply(&f->x.e.backend, m), 0);
}

static void test_add_del(void **state)
{
	struct fx *f = fx_new("");
	const char *a;
	struct mapping *m;
	uint32_t id = f->x.e.system_update_id;

	(void)state;
	a = run(f, "add TCP 8080 192.168.1.20 80 --desc \"web server\"");
	assert_ok(a);
	assert_non_null(strstr(a, "added TCP/8080 -> 192.168.1.20:80"));
	assert_int_equal(f->x.e.system_update_id, id + 1);
	assert_int_equal(f->x.chg.n, 1);
	assert_true(f->x.chg.last & ENGINE_CHG_MAPPINGS);
	m = map_find(f->x.e.maps, MAP_TCP, 8080, ip("0.0.0.0"));
	assert_non_null(m);
	assert_int_equal(m->origin, MAP_ORIGIN_STATIC);
	assert_int_equal(m->lease_end_ms, 0);          /* permanent */
	assert_int_equal(m->owner.s_addr, 0);
	assert_string_equal(m->desc, "web server");

	/* Admin bypasses the UPnP policy (well-known port, other client)... */
	assert_ok(run(f, "add UDP 53 192.168.1.30 53 --lease 60 --remote 8.8.4.4"));
	assert_int_equal(f->x.e.system_update_id, id + 2);
	m = map_find(f->x.e.maps, MAP_UDP, 53, ip("8.8.4.4"));
	assert_non_null(m);
	assert_int_equal(map_lease_remaining(f->x.e.maps, m), 60);
	/* ...but not the LAN. */
	assert_code(run(f, "add TCP 81 10.0.0.1 80"), 422);
	assert_code(run(f, "add TCP 81 192.168.1.0 80"), 422);
	assert_code(run(f, "add TCP 81 192.168.1.255 80"), 422);
	assert_code(run(f, "add TCP 81 192.168.1.2 80 --remote 127.0.0.1"), 422);
	assert_code(run(f, "add TCP 81 192.168.1.2 80 --remote 224.0.0.1"), 422);
	/* Another client on the same port. */
	assert_code(run(f, "add TCP 8080 192.168.1.21 80"), 409);
	assert_code(run(f, "add TCP 8080 192.168.1.21 80 --remote 1.2.3.4"), 409);
	assert_int_equal(f->x.e.system_update_id, id + 2);
	assert_int_equal(f->x.chg.n, 2);

	/* The admin's own entry again: replaced, +1. */
	assert_ok(run(f, "add TCP 8080 192.168.1.20 81 --lease 100"));
	m = map_find(f->x.e.maps, MAP_TCP, 8080, ip("0.0.0.0"));
	assert_int_equal(m->int_port, 81);
	assert_int_equal(map_lease_remaining(f->x.e.maps, m), 100);
	assert_int_equal(f->x.e.system_update_id, id + 3);

	assert_code(run(f, "del TCP 8081"), 404);
	assert_code(run(f, "del UDP 53"), 404);        /* the wildcard entry: none */
	assert_ok(run(f, "del UDP 53 --remote 8.8.4.4"));
	assert_ok(run(f, "del TCP 8080"));
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->x.e.system_update_id, id + 5);
	assert_int_equal(f->x.chg.n, 5);
	fx_free(f);
}

static void test_upnp_entries(void **state)
{
	struct fx *f = fx_new("");
	uint32_t id;

	(void)state;
	upnp_add(f, 5000, "192.168.1.40");
	id = f->x.e.system_update_id;
	/* An admin add never overwrites a UPnP entry: 409, delete first. */
	assert_code(run(f, "add TCP 5000 192.168.1.40 5000"), 409);
	assert_code(run(f, "add TCP 5000 192.168.1.41 5000"), 409);
	assert_int_equal(f->x.e.system_update_id, id);
	/* del takes anyone's. */
	assert_ok(run(f, "del tcp 5000"));
	assert_int_equal(f->x.e.system_update_id, id + 1);
	fx_free(f);
}

static void test_flush(void **state)
{
	struct fx *f = fx_new("");
	const char *a;
	uint32_t id;

	(void)state;
	upnp_add(f, 5000, "192.168.1.40");
	upnp_add(f, 5001, "192.168.1.40");
	upnp_add(f, 5002, "192.168.1.41");
	assert_ok(run(f, "add UDP 6000 192.168.1.41 6000"));
	id = f->x.e.system_update_id;
	f->x.chg.n = 0;
	a = run(f, "flush --client 192.168.1.40");
	assert_ok(a);
	assert_non_null(strstr(a, "removed 2 mappings of 192.168.1.40"));
	assert_int_equal(map_count(f->x.e.maps), 2);
	assert_int_equal(f->x.e.system_update_id, id + 1);
	assert_int_equal(f->x.chg.n, 1);
	a = run(f, "flush --client 192.168.1.40");
	assert_ok(a);
	assert_non_null(strstr(a, "removed 0 mappings"));
	assert_int_equal(f->x.e.system_update_id, id + 1);       /* nothing changed */
	assert_ok(run(f, "flush"));
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->x.e.system_update_id, id + 2);
	assert_int_equal(f->x.chg.n, 2);
	fx_free(f);
}

static void test_list(void **state)
{
	struct fx *f = fx_new("");
	const char *a;

	(void)state;
	a = run(f, "list");
	assert_ok(a);
	assert_int_equal(strncmp(a, "PROTO", 5), 0);
	upnp_add(f, 5000, "192.168.1.40");
	assert_ok(run(f, "add UDP 6000 192.168.1.41 60 --desc \"caf\xc3\xa9 \\\"x\\\"\""));
	a = run(f, "list");
	assert_non_null(strstr(a, "TCP    5000  *                192.168.1.40:5000      yes     3600  upnp    192.168.1.40     \"upnp\""));
	assert_non_null(strstr(a, "UDP    6000  *                192.168.1.41:60        yes        -  static  admin            \"caf\\xc3\\xa9 \\x22x\\x22\""));
	a = run(f, "list --json");
	assert_ok(a);
	assert_non_null(strstr(a, "{\"mappings\":[\n{\"protocol\":\"TCP\",\"external_port\":5000,"
			       "\"remote_host\":\"\",\"internal_client\":\"192.168.1.40\","
			       "\"internal_port\":5000,\"enabled\":true,\"lease_remaining\":3600,"
			       "\"description\":\"upnp\",\"owner\":\"192.168.1.40\",\"origin\":\"upnp\"}\n"
			       ",{\"protocol\":\"UDP\""));
	assert_non_null(strstr(a, "\"description\":\"caf\xc3\xa9 \\\"x\\\"\",\"owner\":\"admin\","
			       "\"origin\":\"static\"}\n]}\nok\n"));
	fx_free(f);
}

/* IPv6 pinholes: `pinholes` lists them (in parts: 300 of them), the
 * packet counter included; `pinhole-del` closes one whoever made it. */
static void test_pinholes(void **state)
{
	struct fx *f = fx_new("max_pinholes = 400\nmax_pinholes_per_client = 400");
	struct lan_addr_event ev;
	struct pinhole t, *p, *first = NULL;
	enum policy_verdict v;
	const char *a;
	char line[64], *dup;
	unsigned i, n;

	(void)state;
	lan_set_ifindex(&f->x.e.lans[0], 7);
	assert_int_equal(lan_event_parse(str_cstr("fe80::1/64"), 7, true, 0, &ev), 0);
	lan_apply(&f->x.e.lans[0], &ev);
	assert_int_equal(lan_event_parse(str_cstr("2001:db8:1::1/64"), 7, true, 0, &ev), 0);
	lan_apply(&f->x.e.lans[0], &ev);
	pin_reseed(f->x.e.pins, 1);
	a = run(f, "pinholes");
	assert_ok(a);
	assert_int_equal(strncmp(a, "   ID  PROTO", 12), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::20", &t.internal), 1);
	t.owner = ipaddr_from_v6(&t.internal, 0);
	t.proto = PIN_PROTO_TCP;
	for (i = 0; i < 300; i++) {
		t.int_port = (uint16_t)(2000 + i);
		assert_int_equal(pinholes_open(&f->x.e, &t, 600, &v, &p), PINHOLES_OK);
		if (!first)
			first = p;
	}
	assert_int_equal(backend_sim_pin_traffic(&f->x.e.backend, first, 5), 0);
	a = run(f, "pinholes");
	assert_ok(a);
	for (n = 0, dup = strchr(a, '\n'); dup; dup = strchr(dup + 1, '\n'))
		n++;
	assert_int_equal(n, 1 + 300 + 1);       /* header, one line each, ok */
	snprintf(line, sizeof(line), "%5u  TCP      *", first->uid);
	assert_non_null(strstr(a, line));
	assert_non_null(strstr(a, "2001:db8:1::20                           2000      600         5  upnp    2001:db8:1::20\n"));
	a = run(f, "pinholes --json");
	assert_ok(a);
	snprintf(line, sizeof(line), "{\"id\":%u,\"protocol\":\"TCP\"", first->uid);
	assert_non_null(strstr(a, line));
	assert_non_null(strstr(a, "\"internal_port\":2000,\"lease_remaining\":600,\"packets\":5,"
			       "\"owner\":\"2001:db8:1::20\",\"origin\":\"upnp\"}"));
	snprintf(line, sizeof(line), "pinhole-del %u", first->uid);
	assert_ok(run(f, line));
	assert_int_equal(pin_count(f->x.e.pins), 299);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 299);
	assert_code(run(f, line), 404);
	assert_code(run(f, "pinhole-del 0"), 400);
	assert_code(run(f, "pinhole-del x"), 400);
	fx_free(f);
}

/* A listing larger than one part comes in several, each entry once, in
 * table order, even when the table changes between parts. */
static void test_list_parts(void **state)
{
	struct fx *f = fx_new("");
	char line[300], *all = malloc(4u << 20), *p, *nl;
	size_t n = 0;
	unsigned i, parts = 0, rows = 0, last = 0;
	int more;

	(void)state;
	assert_non_null(all);
	for (i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line), "add %s %u 192.168.1.%u %u --desc %0200u",
			 i % 2 ? "UDP" : "TCP", 1000 + i / 2, 2 + i % 200, 1 + i, i);
		assert_ok(run(f, line));
	}
	buf_reset(&f->out);
	more = ctl_handle(&f->s, "list", 4, &f->out);
	assert_int_equal(more, 1);
	for (;;) {
		parts++;
		assert_false(f->out.toobig);
		assert_true(f->out.len <= IGDD_CTL_MAX_OUT);
		memcpy(all + n, f->out.p, f->out.len);
		n += f->out.len;
		if (!more)
			break;
		if (parts == 1) {
			/* Between parts: one entry still to come goes, one already
			 * listed goes, the session's own key survives either. */
			struct ctl_session keep = f->s;
			struct buf saved = f->out;

			buf_init(&f->out, IGDD_CTL_MAX_OUT);
			assert_ok(run(f, "del UDP 2499"));
			assert_ok(run(f, "del TCP 1000"));
			buf_free(&f->out);
			f->out = saved;
			f->s = keep;
		}
		buf_reset(&f->out);
		more = ctl_more(&f->s, &f->out);
	}
	all[n] = '\0';
	assert_true(parts > 3);
	for (p = all; (nl = strchr(p, '\n')); p = nl + 1) {
		unsigned key;

		if (strncmp(p, "TCP", 3) != 0 && strncmp(p, "UDP", 3) != 0)
			continue;
		key = (p[0] == 'U' ? 100000u : 0u) + (unsigned)strtoul(p + 5, NULL, 10);
		assert_true(key > last);
		last = key;
		rows++;
	}
	/* TCP 1000 was listed before it went; UDP 2499 went before its turn. */
	assert_int_equal(rows, 2999);
	assert_null(strstr(all, "UDP    2499"));
	assert_string_equal(last_line(all), "ok");
	free(all);
	fx_free(f);
}

/* Admin entries are kept across a restart, leased ones with their lease,
 * permanent ones permanent. */
static void test_persist(void **state)
{
	char dir[] = "/tmp/igdd-test-ctl.XXXXXX", cmd[64];
	struct fx *f = fx_new("");
	struct mapping *m;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(engine_leases_start(&f->x.e, dir), 0);
	assert_ok(run(f, "add TCP 7000 192.168.1.50 7000 --lease 3600 --desc kept"));
	assert_ok(run(f, "add TCP 7001 192.168.1.50 7001"));
	assert_ok(run(f, "add TCP 7002 192.168.1.50 7002 --lease 3600"));
	assert_ok(run(f, "del TCP 7002"));
	fx_free(f);

	f = fx_new("");
	assert_int_equal(engine_leases_start(&f->x.e, dir), 0);
	assert_int_equal(map_count(f->x.e.maps), 2);
	m = map_find(f->x.e.maps, MAP_TCP, 7000, ip("0.0.0.0"));
	assert_non_null(m);
	assert_int_equal(m->origin, MAP_ORIGIN_STATIC);
	assert_string_equal(m->desc, "kept");
	assert_true(m->lease_end_ms != 0);
	m = map_find(f->x.e.maps, MAP_TCP, 7001, ip("0.0.0.0"));
	assert_non_null(m);
	assert_int_equal(m->origin, MAP_ORIGIN_STATIC);
	assert_int_equal(m->lease_end_ms, 0);
	fx_free(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_connection(void **state)
{
	struct fx *f = fx_new("");
	const char *a;
	uint32_t id = f->x.e.system_update_id;

	(void)state;
	assert_int_equal(wanconn_status(f->x.e.wan), WANCONN_CONNECTED);
	a = run(f, "disconnect");
	assert_ok(a);
	assert_non_null(strstr(a, "connection_status: Disconnected"));
	assert_code(run(f, "disconnect"), 409);
	a = run(f, "connect");
	assert_ok(a);
	assert_non_null(strstr(a, "connection_status: Connected"));
	assert_int_equal(f->x.e.system_update_id, id);
	fx_free(f);
}

static void test_status(void **state)
{
	struct fx *f = fx_new("");
	const char *a;

	(void)state;
	upnp_add(f, 5000, "192.168.1.40");
	assert_ok(run(f, "add UDP 6000 192.168.1.41 60"));
	f->x.now += 5000;
	a = run(f, "status");
	assert_ok(a);
	assert_non_null(strstr(a, "version: " IGDD_VERSION "\nuptime: 5\nbackend: sim\n"
			       "lan_interface: lan0\nlan_address: 192.168.1.1/24\n"
			       "lan lan0: 192.168.1.1/24\n"
			       "external_ip: 203.0.113.1\nconnection_status: Connected\n"
			       "connection_uptime: 5\n"));
	/* the sim's default WAN address is a documentation one (RFC 5737) */
	assert_non_null(strstr(a, "wan_class: documentation\nwan_public: no\nstun: off\n"
			       "stun_server: -\nstun_mapped: -\nstun_port_preserved: -\n"));
	assert_non_null(strstr(a, "mappings: 2\nmappings_upnp: 1\nmappings_natpmp: 0\n"
			       "mappings_pcp: 0\nmappings_static: 1\nsystem_update_id: 2\n"));
	assert_non_null(strstr(a, "gena_subscribers: 0\n"));
	a = run(f, "status --json");
	assert_ok(a);
	assert_non_null(strstr(a, "\"mappings_static\":1,\"system_update_id\":2,"));
	assert_non_null(strstr(a, "\"external_ip\":\"203.0.113.1\",\"wan_class\":\"documentation\","
			       "\"wan_public\":false,"));
	assert_non_null(strstr(a, ",\"stun\":{\"state\":\"off\",\"server\":\"-\",\"mapped\":\"-\","
			       "\"port_preserved\":\"-\",\"mapping\":\"unknown\","
			       "\"filtering\":\"unknown\",\"runs\":0,\"failed_runs\":0},"
			       "\"upstream\":{\"mode\":\"off\",\"server\":\"-\",\"external_ip\":\"-\","
			       "\"mirrored\":0,\"other_port\":0,\"pending\":0,\"requests\":0,"
			       "\"epoch_resets\":0},"));
	assert_non_null(strstr(a, ",\"lans\":[{\"name\":\"lan0\",\"addresses\":[\"192.168.1.1/24\"]}]}\n"));
	assert_ok(run(f, "log-level warn"));
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	assert_non_null(strstr(run(f, "status"), "log_level: warn\n"));
	assert_ok(run(f, "log-level info"));
	assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
	assert_code(run(f, "status please"), 400);
	fx_free(f);
}

/* igddctl stats: the counters the actions feed, in text and JSON. */
static void test_stats(void **state)
{
	static const char ns[] = "urn:schemas-upnp-org:service:WANIPConnection:2";
	static const char env[] = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
				  "<s:Body><u:GetExternalIPAddress xmlns:u=\"%s\"/></s:Body></s:Envelope>";
	struct fx *f = fx_new("");
	struct ipaddr peer = ipaddr_from_v4(ip("192.168.1.40"));
	struct buf body, out;
	char sa[128];
	const char *a;

	(void)state;
	buf_init(&body, 4096);
	buf_init(&out, 1 << 16);
	buf_printf(&body, env, ns);
	snprintf(sa, sizeof(sa), "\"%s#GetExternalIPAddress\"", ns);
	assert_int_equal(action_dispatch(&f->x.e, wanipconn_service(), sa,
					 str_from(body.p, body.len), &peer, 0, &out), 200);
	buf_reset(&out);
	assert_int_equal(action_dispatch(&f->x.e, wanipconn_service(), sa,
					 str_from(body.p, body.len), &peer, 0, &out), 200);
	buf_reset(&out);
	snprintf(sa, sizeof(sa), "\"%s#NoSuchAction\"", ns);
	assert_int_equal(action_dispatch(&f->x.e, wanipconn_service(), sa,
					 str_from(body.p, body.len), &peer, 0, &out), 500);
	buf_reset(&out);
	assert_int_equal(action_dispatch(&f->x.e, wanipconn_service(), sa, STR_LIT("<x"),
					 &peer, 0, &out), 400);
	upnp_add(f, 5000, "192.168.1.40");
	assert_ok(run(f, "add UDP 6000 192.168.1.41 60"));
	a = run(f, "stats");
	assert_ok(a);
	assert_non_null(strstr(a, "requests: 4\n"
			       "requests upnp GetExternalIPAddress 0: 2\n"
			       "requests upnp (invalid) 401: 1\n"
			       "requests upnp (malformed) 400: 1\n"));
	assert_non_null(strstr(a, "mappings_upnp: 1\nmappings_natpmp: 0\nmappings_pcp: 0\n"
			       "mappings_static: 1\n"));
	a = run(f, "stats --json");
	assert_ok(a);
	assert_non_null(strstr(a, "{\"protocol\":\"upnp\",\"action\":\"GetExternalIPAddress\","
			       "\"code\":0,\"count\":2}"));
	assert_code(run(f, "stats now"), 400);
	buf_free(&body);
	buf_free(&out);
	fx_free(f);
}

/* A WAN address the test sets (0: none), behind the sim's other ops. */
static struct in_addr fake_wan;

static int fake_wan_status(struct backend *b, struct backend_wan *ret)
{
	(void)b;
	memset(ret, 0, sizeof(*ret));
	ret->link_up = true;
	ret->have_ip = fake_wan.s_addr != 0;
	ret->external_ip = fake_wan;
	return 0;
}

/* engine_wan_classify() reports each change once, and only changes. */
static void test_wan_classify_follows(void **state)
{
	struct fx *f = fx_new("");
	const struct backend_ops *sim = f->x.e.backend.ops;
	struct backend_ops ops = *sim;

	(void)state;
	ops.wan_status = fake_wan_status;
	f->x.e.backend.ops = &ops;
	fake_wan = ip("192.168.0.2");
	assert_true(engine_wan_classify(&f->x.e));
	assert_false(engine_wan_classify(&f->x.e));
	assert_int_equal(f->x.e.wan_class, ADDR_PRIVATE);
	assert_false(engine_wan_public(&f->x.e));
	fake_wan = ip("100.100.0.1");
	assert_true(engine_wan_classify(&f->x.e));
	assert_int_equal(f->x.e.wan_class, ADDR_SHARED);
	fake_wan = ip("198.51.99.1");
	assert_true(engine_wan_classify(&f->x.e));
	assert_false(engine_wan_classify(&f->x.e));
	assert_int_equal(f->x.e.wan_class, ADDR_PUBLIC);
	assert_true(engine_wan_public(&f->x.e));
	assert_non_null(strstr(run(f, "status"), "wan_class: public\nwan_public: yes\n"));
	fake_wan.s_addr = 0;
	assert_true(engine_wan_classify(&f->x.e));
	assert_false(engine_wan_classify(&f->x.e));
	assert_false(engine_wan_public(&f->x.e));
	assert_non_null(strstr(run(f, "status"), "wan_class: -\nwan_public: no\n"));
	f->x.e.backend.ops = sim;
	fx_free(f);
}

/* wan_public overrides the class; the class follows the address. */
static void test_status_wan_public(void **state)
{
	struct fx *f = fx_new("wan_public = yes\n");
	const char *a;

	(void)state;
	a = run(f, "status");
	assert_non_null(strstr(a, "wan_class: documentation\nwan_public: yes\n"));
	fx_free(f);
	f = fx_new("external_ip = 100.64.1.2\n");
	a = run(f, "status");
	assert_non_null(strstr(a, "wan_class: shared\nwan_public: no\n"));
	fx_free(f);
	f = fx_new("external_ip = 192.0.0.9\n");
	a = run(f, "status --json");
	assert_non_null(strstr(a, "\"wan_class\":\"public\",\"wan_public\":true,"));
	fx_free(f);
	f = fx_new("external_ip = 8.8.8.8\nwan_public = no\n");
	a = run(f, "status");
	assert_non_null(strstr(a, "wan_class: public\nwan_public: no\n"));
	fx_free(f);
}

/* ------------------------------------------------------ the socket I/O */

struct client {
	int fd;
	char in[1 << 20];
	size_t len;
	bool eof;
};

static void on_client(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	ssize_t n = recv(fd, c->in + c->len, sizeof(c->in) - 1 - c->len, 0);

	(void)events;
	if (n > 0) {
		c->len += (size_t)n;
		c->in[c->len] = '\0';
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	c->eof = true;
	loop_fd_del(l, fd);
	loop_stop(l);
}

static int client_connect(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static bool client_done(void *arg)
{
	return ((struct client *)arg)->eof;
}

/* Send req, half-close, run the loop until the daemon closes; the
 * answer. */
static void ask(struct loop *l, struct client *c, const char *path, const char *req, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->fd = client_connect(path);
	if (len)
		assert_int_equal(send(c->fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	shutdown(c->fd, SHUT_WR);
	assert_int_equal(loop_fd_add(l, c->fd, EPOLLIN, on_client, c), 0);
	if (!test_loop_until(l, client_done, c))
		fail_msg("no end of the answer to '%.20s' (have '%.200s')", req, c->in);
	close(c->fd);
}

struct clients_arg {
	struct ctl_io *io;
	unsigned n;
};

static bool clients_are(void *arg)
{
	struct clients_arg *a = arg;

	return ctl_io_clients(a->io) == a->n;
}

struct answered_arg {
	struct ctl_io *io;
	const int *fd;
	int n;
};

/* Every one of the n client sockets has something to read (an answer or
 * the end), and the daemon holds no connection. */
static bool all_answered(void *arg)
{
	struct answered_arg *a = arg;
	struct pollfd p;
	int i;

	for (i = 0; i < a->n; i++) {
		p.fd = a->fd[i];
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) != 1)
			return false;
	}
	return ctl_io_clients(a->io) == 0;
}

/* Run the loop until ctl_io has n connections open. */
static void wait_clients(struct loop *l, struct ctl_io *io, unsigned n)
{
	struct clients_arg a = { io, n };

	if (!test_loop_until(l, clients_are, &a))
		fail_msg("%u control connections open, waited for %u", ctl_io_clients(io), n);
}

struct io_fx {
	struct fx *f;
	struct loop *l;
	struct ctl_io *io;
	char dir[40];
	char path[64];
};

static void io_up(struct io_fx *x)
{
	x->f = fx_new("");
	x->l = loop_new();
	assert_non_null(x->l);
	snprintf(x->dir, sizeof(x->dir), "/tmp/igdd-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/run/igdd.sock", x->dir);
	x->io = ctl_io_new(&x->f->x.e, x->l, x->path);
	assert_non_null(x->io);
}

static void io_down(struct io_fx *x)
{
	char cmd[128];

	ctl_io_free(x->io);
	loop_free(x->l);
	fx_free(x->f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_io_answers(void **state)
{
	struct io_fx x;
	struct client *c = malloc(sizeof(*c));
	struct stat st;
	char big[IGDD_CTL_MAX_LINE + 64];

	(void)state;
	assert_non_null(c);
	io_up(&x);
	assert_int_equal(stat(x.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);

	ask(x.l, c, x.path, "status\n", 7);
	assert_true(c->eof);
	assert_non_null(strstr(c->in, "backend: sim\n"));
	assert_ok(c->in);

	/* Two requests on one connection, CRLF and a last line without
	 * newline: answered in order. */
	ask(x.l, c, x.path, "add TCP 80 192.168.1.9 80\r\nlist --json\nstatus", 45);
	assert_non_null(strstr(c->in, "added TCP/80 -> 192.168.1.9:80\nok\n{\"mappings\":[\n"));
	assert_non_null(strstr(c->in, "]}\nok\nversion: "));
	assert_ok(c->in);

	/* The line limit: a longer line gets 413 and the connection ends. */
	memset(big, 'x', sizeof(big));
	ask(x.l, c, x.path, big, sizeof(big));
	assert_true(c->eof);
	assert_string_equal(c->in, "error 413 request line longer than 1024 bytes\n");
	/* Exactly the limit is served. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "status", 6);
	big[IGDD_CTL_MAX_LINE] = '\n';
	ask(x.l, c, x.path, big, IGDD_CTL_MAX_LINE + 1);
	assert_ok(c->in);

	/* A big listing through the socket: every entry, then ok. */
	{
		unsigned i, rows = 0;
		char line[192];
		const char *p;

		for (i = 0; i < 600; i++) {
			snprintf(line, sizeof(line), "add UDP %u 192.168.1.10 %u --desc %090u",
				 2000 + i, 2000 + i, i);
			assert_ok(run(x.f, line));
		}
		ask(x.l, c, x.path, "list\n", 5);
		for (p = c->in; (p = strstr(p, "\nUDP ")); p++)
			rows++;
		assert_int_equal(rows, 600);
		assert_ok(c->in);
	}
	assert_int_equal(ctl_io_clients(x.io), 0);
	io_down(&x);
	free(c);
}

/* IGDD_CTL_MAX_CLIENTS idle connections: the next is refused with 503.
 * Then with a deadline of 300 ms: idle ones reach it (408, never
 * sooner) and the slots free. (Two rounds, so that the first does not
 * race the deadline however slow this machine is.) */
static void test_io_limits(void **state)
{
	struct io_fx x;
	struct client *c = malloc(sizeof(*c));
	int idle[IGDD_CTL_MAX_CLIENTS], i;
	uint64_t t0;
	char got[128];
	ssize_t n;

	(void)state;
	assert_non_null(c);
	io_up(&x);
	ctl_io_set_timeout_ms(x.io, (unsigned)test_timeout_ms());
	for (i = 0; i < IGDD_CTL_MAX_CLIENTS; i++)
		idle[i] = client_connect(x.path);
	wait_clients(x.l, x.io, IGDD_CTL_MAX_CLIENTS);
	ask(x.l, c, x.path, "status\n", 7);
	assert_string_equal(c->in, "error 503 too many control connections\n");
	for (i = 0; i < IGDD_CTL_MAX_CLIENTS; i++)
		close(idle[i]);
	wait_clients(x.l, x.io, 0);

	/* The deadline ends the idle ones. */
	ctl_io_set_timeout_ms(x.io, 300);
	t0 = clock_monotonic_ms(NULL);
	for (i = 0; i < IGDD_CTL_MAX_CLIENTS; i++)
		idle[i] = client_connect(x.path);
	{
		struct answered_arg a = { x.io, idle, IGDD_CTL_MAX_CLIENTS };

		if (!test_loop_until(x.l, all_answered, &a))
			fail_msg("the idle connections did not reach their deadline");
	}
	assert_true(clock_monotonic_ms(NULL) - t0 >= 300);
	for (i = 0; i < IGDD_CTL_MAX_CLIENTS; i++) {
		n = recv(idle[i], got, sizeof(got) - 1, 0);
		assert_true(n > 0);
		got[n] = '\0';
		assert_string_equal(got, "error 408 deadline of 300 ms reached\n");
		close(idle[i]);
	}
	ask(x.l, c, x.path, "status\n", 7);
	assert_ok(c->in);
	io_down(&x);
	free(c);
}

/* A live socket is never taken over; a stale one is replaced; anything
 * else at the path is left alone. */
static void test_io_stale(void **state)
{
	struct io_fx x;
	struct sockaddr_un a;
	struct ctl_io *second;
	char other[100];
	int fd;

	(void)state;
	io_up(&x);
	errno = 0;
	second = ctl_io_new(&x.f->x.e, x.l, x.path);
	assert_null(second);
	assert_int_equal(errno, EADDRINUSE);

	/* A socket file nobody listens on. */
	snprintf(other, sizeof(other), "%s/stale.sock", x.dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", other);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	second = ctl_io_new(&x.f->x.e, x.l, other);
	assert_non_null(second);
	ctl_io_free(second);
	assert_int_equal(access(other, F_OK), -1);     /* removed at the end */

	/* A regular file. */
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(ctl_io_new(&x.f->x.e, x.l, other));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(other, F_OK), 0);
	assert_null(ctl_io_new(&x.f->x.e, x.l, "relative.sock"));
	io_down(&x);
}

/* --------------------------------------------- the gateway's own ports */

/* An admin mapping never takes a port the gateway keeps, nor the gateway
 * itself; a grant that came with a command is closed after it. */
static void test_router_ports(void **state)
{
	struct fx *f = fx_new("sim_static_forward = TCP 8443");
	const char *a;
	int pipefd[2];

	(void)state;
	a = run(f, "add TCP 8443 192.168.1.20 443");
	assert_code(a, 409);
	assert_non_null(strstr(a, "the gateway itself uses this port"));
	assert_ok(run(f, "add UDP 8443 192.168.1.20 443"));
	assert_code(run(f, "add TCP 2222 192.168.1.1 22"), 422);       /* the gateway itself */
	assert_int_equal(map_count(f->x.e.maps), 1);
	assert_int_equal(f->x.chg.n, 1);
	/* A grant (any descriptor here: the sim backend has no helper) is
	 * the next command's, then closed. */
	assert_int_equal(pipe(pipefd), 0);
	ctl_session_set_grant(&f->s, pipefd[0]);
	assert_ok(run(f, "add TCP 22 192.168.1.20 22"));
	assert_int_equal(f->s.grant_fd, -1);
	assert_int_equal(fcntl(pipefd[0], F_GETFD), -1);         /* closed */
	assert_int_equal(pipe(pipefd), 0);
	ctl_session_set_grant(&f->s, pipefd[0]);
	assert_code(run(f, "no such command"), 400);
	assert_int_equal(fcntl(pipefd[0], F_GETFD), -1);
	close(pipefd[1]);
	fx_free(f);
}

/* The backend takes mappings away by itself (engine's on_gone): every
 * mapping of a port, or one key; logged, from the table and the lease
 * file, with one change event per kind. */
static void test_backend_gone(void **state)
{
	struct fx *f = fx_new("");
	struct backend_gone v[3];

	(void)state;
	assert_ok(run(f, "add TCP 9000 192.168.1.20 9000"));
	assert_ok(run(f, "add TCP 9000 192.168.1.20 9000 --remote 198.51.100.7"));
	assert_ok(run(f, "add UDP 9000 192.168.1.20 9000"));
	assert_ok(run(f, "add UDP 9001 192.168.1.20 9001"));
	f->x.chg.n = 0;
	memset(v, 0, sizeof(v));
	v[0].proto = MAP_TCP;
	v[0].ext_port = 9000;
	v[0].whole_port = true;
	v[0].why = BACKEND_GONE_ROUTER_PORT;
	v[1] = v[0];                                    /* named twice: removed once */
	v[1].whole_port = false;
	v[1].remote_host = ip("198.51.100.7");
	v[2].proto = MAP_UDP;
	v[2].ext_port = 9001;
	v[2].why = BACKEND_GONE_POLICY;
	f->x.e.backend.on_gone(&f->x.e.backend, v, 3, f->x.e.backend.on_gone_arg);
	assert_int_equal(map_count(f->x.e.maps), 1);
	assert_non_null(map_find(f->x.e.maps, MAP_UDP, 9000, (struct in_addr){ 0 }));
	assert_int_equal(f->x.chg.n, 2);
	/* Nothing there: nothing changes. */
	f->x.e.backend.on_gone(&f->x.e.backend, v, 3, f->x.e.backend.on_gone_arg);
	assert_int_equal(f->x.chg.n, 2);
	assert_int_equal(portmap_backend_gone(&f->x.e, v, 0), 0);
	fx_free(f);
}

static int listener(int type, const char *addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &a.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0))
		return -1;
	return fd;
}

/* The sim backend reads this host's sockets (here: a namespace's) as the
 * helper does: a listening port is refused, and a service that starts on
 * a mapped port wins at the next check (UDP at the second). */
static int sim_sockets(void)
{
	struct fx *f;
	int tcp, udp, lan;

	if (netns_enter(true) != 0)
		return NETNS_SKIP;
	f = fx_new("sim_router_ports = yes\nexternal_ip = 127.0.0.1");
	tcp = listener(SOCK_STREAM, "0.0.0.0", 20100);
	CHECK(tcp >= 0);
	CHECK(strncmp(last_line(run(f, "add TCP 20100 192.168.1.20 20100")), "error 409", 9) == 0);
	close(tcp);
	CHECK(strcmp(last_line(run(f, "add TCP 20101 192.168.1.20 20101")), "ok") == 0);
	CHECK(strcmp(last_line(run(f, "add UDP 20102 192.168.1.20 20102")), "ok") == 0);
	CHECK(strcmp(last_line(run(f, "add TCP 20103 192.168.1.20 20103")), "ok") == 0);
	CHECK(engine_next_deadline(&f->x.e) == f->x.now + 3000);
	tcp = listener(SOCK_STREAM, "0.0.0.0", 20101);
	udp = listener(SOCK_DGRAM, "0.0.0.0", 20102);
	lan = listener(SOCK_STREAM, "127.0.0.2", 20103);       /* not the WAN side */
	CHECK(tcp >= 0 && udp >= 0 && lan >= 0);
	f->x.now += 3000;
	engine_tick(&f->x.e);
	CHECK(map_count(f->x.e.maps) == 2);                       /* TCP/20101 went */
	CHECK(!map_find(f->x.e.maps, MAP_TCP, 20101, (struct in_addr){ 0 }));
	f->x.now += 3000;
	engine_tick(&f->x.e);
	CHECK(map_count(f->x.e.maps) == 1);                       /* UDP/20102 at the second */
	CHECK(map_find(f->x.e.maps, MAP_TCP, 20103, (struct in_addr){ 0 }));
	close(tcp);
	close(udp);
	close(lan);
	fx_free(f);
	return 0;
}

static void test_sim_sockets(void **state)
{
	(void)state;
	run_in_child(sim_sockets);
}

static void tx_ignored(struct engine_tx *tx, void *arg)
{
	(void)tx;
	(void)arg;
}

static bool one_waits(void *arg)
{
	return ((struct engine *)arg)->tx_nwait == 1;
}

/* A request that comes while a change is under way (engine_tx.h) waits
 * for its turn, unanswered; it runs and is answered once that change
 * has completed and the engine's tick gives it its turn. */
static void test_io_waits_turn(void **state)
{
	struct io_fx x;
	struct client *c = calloc(1, sizeof(*c));
	struct engine_tx tx;
	struct mapping t;
	struct engine *e;

	(void)state;
	assert_non_null(c);
	io_up(&x);
	e = &x.f->x.e;
	t = fx_mapping("192.168.1.30", 7000);
	backend_sim_hold(&e->backend, true);
	engine_tx_init(&tx, 0);
	tx.done = tx_ignored;
	assert_int_equal(engine_map_add(e, &tx, &t, STR_LIT("u")), ENGINE_TX_PENDING);

	c->fd = client_connect(x.path);
	assert_int_equal(send(c->fd, "list\n", 5, MSG_NOSIGNAL), 5);
	shutdown(c->fd, SHUT_WR);
	assert_int_equal(loop_fd_add(x.l, c->fd, EPOLLIN, on_client, c), 0);
	if (!test_loop_until(x.l, one_waits, e))
		fail_msg("the request did not wait for its turn");
	assert_int_equal(c->len, 0);
	assert_true(engine_tx_busy(e));
	assert_int_equal(backend_sim_complete(&e->backend, 1, 0), 1);
	engine_tick(e);                 /* its turn */
	if (!test_loop_until(x.l, client_done, c))
		fail_msg("no answer after its turn (have '%.200s')", c->in);
	assert_non_null(strstr(c->in, "7000"));        /* the change it waited for */
	assert_ok(c->in);
	close(c->fd);
	io_down(&x);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_quote_round_trip),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_add_del),
		cmocka_unit_test(test_upnp_entries),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_pinholes),
		cmocka_unit_test(test_list_parts),
		cmocka_unit_test(test_persist),
		cmocka_unit_test(test_connection),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_status_wan_public),
		cmocka_unit_test(test_wan_classify_follows),
		cmocka_unit_test(test_io_answers),
		cmocka_unit_test(test_io_waits_turn),
		cmocka_unit_test(test_io_limits),
		cmocka_unit_test(test_io_stale),
		cmocka_unit_test(test_router_ports),
		cmocka_unit_test(test_backend_gone),
		cmocka_unit_test(test_sim_sockets),
	};

	log_set_verbose(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
