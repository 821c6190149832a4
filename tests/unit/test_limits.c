/*
 * test_limits.c - limits of src/util/limits.h that no other unit test
 * reaches at their real value (ARCHITECTURE rule 4), through the whole
 * SOAP dispatcher on the sim backend:
 *   - IGDD_MAX_MAPPINGS_PER_CLIENT (the default 4096): the next mapping
 *     of that client gets 728 NoPortMapsAvailable, another client does not;
 *     with secure_mode = no it bounds what one control point makes over
 *     all the internal clients it maps to;
 *   - IGDD_HTTP_MAX_RESPONSE: a GetListOfPortMappings over a table of
 *     entries with the longest, most escaped descriptions
 *     (IGDD_MAX_DESC_LEN), ~38 MB, is written in parts of
 *     IGDD_HTTP_STREAM_PART that each stay within the limit, every entry
 *     once, the table changing between parts;
 *   - IGDD_CONF_MAX_ACL_LEN: the longest rule is kept whole;
 *   - the info lines about mapping changes a LAN host can cause: at most
 *     50 per 10 s, the next one says how many went to debug level.
 * tests/netns/test_limits.sh tests the HTTP limits on the wire;
 * docs/LIMITS.md says where each limit is enforced and tested.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <expat.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "util/log.h"
#include "engine.h"
#include "svc/action.h"
#include "svc/wanipconn.h"
#include "util/buf.h"
#include "util/limits.h"

#include "fixture.h"

#define BASE "backend = sim\nexternal_ip = 203.0.113.1\nhttp_port = 5000\n"
#define V2 "urn:schemas-upnp-org:service:WANIPConnection:2"

struct env {
	struct fx_engine x;
};

static void env_init(struct env *v, const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	fx_engine_init(&v->x, text, 0);
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* One action from peer; the HTTP status, and the UPnP error code (or 0) in *ret_code. */
static int call(struct env *v, const char *peer, const char *action, const char *args,
		struct buf *out, int *ret_code)
{
	char sa[160];
	const char *c;
	struct buf body;
	int status;

	buf_init(&body, 1u << 16);
	buf_printf(&body, "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/"
		   "soap/envelope/\"><s:Body><u:%s xmlns:u=\"" V2 "\">%s</u:%s></s:Body>"
		   "</s:Envelope>", action, args, action);
	snprintf(sa, sizeof(sa), "\"" V2 "#%s\"", action);
	buf_reset(out);
	status = action_dispatch(&v->x.e, wanipconn_service(), sa, str_from(body.p, body.len),
				 &(struct ipaddr){ .family = AF_INET, .u.v4 = ip(peer) }, 0, out);
	buf_free(&body);
	c = out->p ? strstr(out->p, "<errorCode>") : NULL;
	*ret_code = c ? (int)strtol(c + 11, NULL, 10) : 0;
	return status;
}

static int add(struct env *v, const char *peer, const char *client, unsigned port, struct buf *out,
	       int *ret_code)
{
	char args[1024];

	snprintf(args, sizeof(args),
		 "<NewRemoteHost></NewRemoteHost><NewExternalPort>%u</NewExternalPort>"
		 "<NewProtocol>TCP</NewProtocol><NewInternalPort>%u</NewInternalPort>"
		 "<NewInternalClient>%s</NewInternalClient><NewEnabled>1</NewEnabled>"
		 "<NewPortMappingDescription>limit</NewPortMappingDescription>"
		 "<NewLeaseDuration>3600</NewLeaseDuration>", port, port, client);
	return call(v, peer, "AddPortMapping", args, out, ret_code);
}

/* max_mappings_per_client at its default: 4096 mappings, then 728. */
static void test_per_client_default(void **state)
{
	static struct env v;
	struct buf out;
	unsigned i;
	int code;

	(void)state;
	env_init(&v, "");
	assert_int_equal(v.x.cfg.max_mappings_per_client, IGDD_MAX_MAPPINGS_PER_CLIENT);
	buf_init(&out, IGDD_HTTP_MAX_RESPONSE);
	for (i = 0; i < IGDD_MAX_MAPPINGS_PER_CLIENT; i++)
		if (add(&v, "192.168.1.20", "192.168.1.20", 10000 + i, &out, &code) != 200)
			fail_msg("mapping %u refused (%d)", i, code);
	assert_int_equal(map_client_count(v.x.e.maps, ip("192.168.1.20")), IGDD_MAX_MAPPINGS_PER_CLIENT);
	assert_int_equal(add(&v, "192.168.1.20", "192.168.1.20", 9000, &out, &code), 500);
	assert_int_equal(code, UPNP_E_NO_PORT_MAPS_AVAILABLE);
	/* AddAnyPortMapping too (2.5.18: 728 when nothing can be added). */
	assert_int_equal(call(&v, "192.168.1.20", "AddAnyPortMapping",
			      "<NewRemoteHost></NewRemoteHost><NewExternalPort>9000</NewExternalPort>"
			      "<NewProtocol>TCP</NewProtocol><NewInternalPort>9000</NewInternalPort>"
			      "<NewInternalClient>192.168.1.20</NewInternalClient><NewEnabled>1"
			      "</NewEnabled><NewPortMappingDescription>x</NewPortMappingDescription>"
			      "<NewLeaseDuration>60</NewLeaseDuration>", &out, &code), 500);
	assert_int_equal(code, UPNP_E_NO_PORT_MAPS_AVAILABLE);
	/* Refreshing one it has is no new entry; another client is not affected. */
	assert_int_equal(add(&v, "192.168.1.20", "192.168.1.20", 10000, &out, &code), 200);
	assert_int_equal(add(&v, "192.168.1.30", "192.168.1.30", 9000, &out, &code), 200);
	assert_int_equal(map_count(v.x.e.maps), IGDD_MAX_MAPPINGS_PER_CLIENT + 1);
	buf_free(&out);
	fx_engine_fini(&v.x);
}

/* 200 adds in a burst log 50 lines at info; 10 s later, one more line says so. */
/*
 * secure_mode = no: a control point may map ports to any LAN host, and
 * the limit counts what it made, whatever the internal clients: 4096 in
 * all over four clients, then 728 for a fifth client too. NAT-PMP and
 * the other control points are not held back by it.
 */
static void test_per_client_open_mode(void **state)
{
	static const char *const clients[] = {
		"192.168.1.30", "192.168.1.31", "192.168.1.32", "192.168.1.33",
	};
	static struct env v;
	struct buf out;
	unsigned i;
	int code;

	(void)state;
	env_init(&v, "secure_mode = no\n");
	buf_init(&out, IGDD_HTTP_MAX_RESPONSE);
	for (i = 0; i < IGDD_MAX_MAPPINGS_PER_CLIENT; i++)
		if (add(&v, "192.168.1.20", clients[i % 4], 10000 + i, &out, &code) != 200)
			fail_msg("mapping %u refused (%d)", i, code);
	assert_int_equal(map_owner_count(v.x.e.maps, ip("192.168.1.20")), IGDD_MAX_MAPPINGS_PER_CLIENT);
	assert_int_equal(map_client_count(v.x.e.maps, ip("192.168.1.30")),
			 IGDD_MAX_MAPPINGS_PER_CLIENT / 4);
	assert_int_equal(add(&v, "192.168.1.20", "192.168.1.40", 9000, &out, &code), 500);
	assert_int_equal(code, UPNP_E_NO_PORT_MAPS_AVAILABLE);
	assert_int_equal(add(&v, "192.168.1.20", "192.168.1.20", 9001, &out, &code), 500);
	assert_int_equal(code, UPNP_E_NO_PORT_MAPS_AVAILABLE);
	/* Another control point maps to the same clients as before. */
	assert_int_equal(add(&v, "192.168.1.21", "192.168.1.30", 9002, &out, &code), 200);
	/* A deletion gives the owner one back. */
	assert_int_equal(call(&v, "192.168.1.20", "DeletePortMapping",
			      "<NewRemoteHost></NewRemoteHost><NewExternalPort>10000</NewExternalPort>"
			      "<NewProtocol>TCP</NewProtocol>", &out, &code), 200);
	assert_int_equal(add(&v, "192.168.1.20", "192.168.1.40", 9000, &out, &code), 200);
	assert_int_equal(map_owner_count(v.x.e.maps, ip("192.168.1.20")), IGDD_MAX_MAPPINGS_PER_CLIENT);
	buf_free(&out);
	fx_engine_fini(&v.x);
}

static void test_change_log_rate(void **state)
{
	static struct env v;
	char path[] = "/tmp/igdd-test-log.XXXXXX", line[512];
	unsigned i, lines = 0, noted = 0;
	int fd, saved, code;
	struct buf out;
	FILE *f;

	(void)state;
	env_init(&v, "");
	buf_init(&out, 1u << 16);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	log_init("test", 1, 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(add(&v, "192.168.1.20", "192.168.1.20", 20000 + i, &out, &code), 200);
	v.x.now += 10000;
	assert_int_equal(add(&v, "192.168.1.20", "192.168.1.20", 30000, &out, &code), 200);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "AddPortMapping TCP/"))
			lines++;
		if (strstr(line, "TCP/30000") && strstr(line, "(150 more at debug level)"))
			noted++;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(lines, 51);
	assert_int_equal(noted, 1);
	buf_free(&out);
	fx_engine_fini(&v.x);
}

struct list_count {
	unsigned entries, last_port, port;
	bool in_port;
};

static void XMLCALL list_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct list_count *lc = ud;

	(void)atts;
	if (strcmp(name, "p:PortMappingEntry") == 0)
		lc->entries++;
	lc->in_port = strcmp(name, "p:NewExternalPort") == 0;
	lc->port = 0;
}

static void XMLCALL list_end(void *ud, const XML_Char *name)
{
	struct list_count *lc = ud;

	if (lc->in_port)
		lc->last_port = lc->port;
	lc->in_port = false;
	(void)name;
}

static void XMLCALL list_text(void *ud, const XML_Char *s, int len)
{
	struct list_count *lc = ud;
	int i;

	for (i = 0; lc->in_port && i < len; i++)
		lc->port = lc->port * 10 + (unsigned)(s[i] - '0');
}

/* The PortMappingList of a response: the CDATA section of NewPortListing. */
static struct str fragment_of(const struct buf *out)
{
	const char *a = strstr(out->p, "<NewPortListing><![CDATA["), *b;

	assert_non_null(a);
	a += strlen("<NewPortListing><![CDATA[");
	b = strstr(a, "]]></NewPortListing>");
	assert_non_null(b);
	return str_from(a, (size_t)(b - a));
}

/* Entries in a fragment (well-formed XML), and the last external port listed. */
static unsigned count_entries(struct str frag, unsigned *ret_last_port)
{
	XML_Parser xp = XML_ParserCreate(NULL);
	struct list_count lc;

	memset(&lc, 0, sizeof(lc));
	XML_SetUserData(xp, &lc);
	XML_SetElementHandler(xp, list_start, list_end);
	XML_SetCharacterDataHandler(xp, list_text);
	if (XML_Parse(xp, frag.p, (int)frag.len, XML_TRUE) != XML_STATUS_OK)
		fail_msg("the PortMappingList is not well-formed XML");
	XML_ParserFree(xp);
	*ret_last_port = lc.last_port;
	return lc.entries;
}

/*
 * The memory of a listing: 20000 entries whose descriptions are 256 '"'
 * (each written as &quot;, the longest escape) make a PortMappingList of
 * ~38 MB. The response is written in parts: what the dispatcher builds
 * at once and every part stay within IGDD_HTTP_MAX_RESPONSE, and the
 * parts together are the whole list, well-formed, every entry once, in
 * order. Entries added and removed between parts: one removed ahead of
 * the cursor is not written, one added ahead is, one added behind is
 * not, and nothing is written twice.
 */
static void test_listing_in_parts(void **state)
{
	static struct env v;
	enum { N = 20000, FIRST = 20000 };
	char desc[IGDD_MAX_DESC_LEN + 1], args[512];
	struct buf_stream rest = { NULL, NULL, NULL };
	struct mapping tmpl;
	struct buf out, part, whole;
	unsigned i, parts = 0, last, n;
	size_t biggest = 0;
	int r;

	(void)state;
	env_init(&v, "secure_mode = no\nmax_mappings_per_client = 131070\n");
	memset(desc, '"', IGDD_MAX_DESC_LEN);
	desc[IGDD_MAX_DESC_LEN] = '\0';
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.internal_client = ip("192.168.1.20");
	tmpl.owner = tmpl.internal_client;
	tmpl.proto = MAP_TCP;
	tmpl.enabled = true;
	tmpl.lease_end_ms = map_lease_end(v.x.e.maps, 3600);
	for (i = 0; i < N; i++) {
		tmpl.ext_port = tmpl.int_port = (uint16_t)(FIRST + i);
		assert_int_equal(map_add(v.x.e.maps, &tmpl, str_from(desc, strlen(desc)), NULL), MAP_OK);
	}
	buf_init(&out, IGDD_HTTP_MAX_RESPONSE);
	buf_init(&part, IGDD_HTTP_MAX_RESPONSE);
	buf_init(&whole, 1u << 26);
	snprintf(args, sizeof(args),
		 "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/"
		 "envelope/\"><s:Body><u:GetListOfPortMappings xmlns:u=\"" V2 "\">"
		 "<NewStartPort>0</NewStartPort><NewEndPort>65535</NewEndPort>"
		 "<NewProtocol>TCP</NewProtocol><NewManage>1</NewManage>"
		 "<NewNumberOfPorts>0</NewNumberOfPorts></u:GetListOfPortMappings></s:Body>"
		 "</s:Envelope>");
	assert_int_equal(action_dispatch_stream(&v.x.e, wanipconn_service(),
						"\"" V2 "#GetListOfPortMappings\"",
						str_cstr(args),
						&(struct ipaddr){ .family = AF_INET, .u.v4 = ip("192.168.1.20") },
						0, &out, &rest), 200);
	assert_non_null(rest.fill);
	assert_true(out.len < 1024);            /* the envelope's start only */
	buf_append(&whole, out.p, out.len);
	do {
		buf_reset(&part);
		r = buf_stream_fill(&rest, &part, IGDD_HTTP_STREAM_PART);
		assert_true(r >= 0);
		assert_false(part.toobig);
		if (part.len > biggest)
			biggest = part.len;
		buf_append(&whole, part.p, part.len);
		if (++parts == 3) {
			/* Between parts: the table changes around the cursor. */
			map_remove(v.x.e.maps, map_find(v.x.e.maps, MAP_TCP, FIRST + N - 1,
						      (struct in_addr){ 0 }));
			tmpl.ext_port = tmpl.int_port = FIRST + N + 5;          /* ahead */
			assert_int_equal(map_add(v.x.e.maps, &tmpl, STR_LIT("ahead"), NULL), MAP_OK);
			tmpl.ext_port = tmpl.int_port = FIRST - 5;              /* behind */
			assert_int_equal(map_add(v.x.e.maps, &tmpl, STR_LIT("behind"), NULL), MAP_OK);
		}
	} while (r == 1);
	assert_false(whole.toobig);
	assert_true(parts > 500);               /* ~38 MB in parts of 64 KiB */
	assert_true(biggest <= IGDD_HTTP_STREAM_PART + 4096);
	assert_non_null(strstr(whole.p, "</u:GetListOfPortMappingsResponse></s:Body></s:Envelope>"));
	n = count_entries(fragment_of(&whole), &last);
	assert_int_equal(n, N);                 /* N - 1 removed ahead, + 1 added ahead */
	assert_int_equal(last, FIRST + N + 5);
	assert_null(strstr(whole.p, "behind"));
	assert_non_null(strstr(whole.p, "ahead"));
	buf_free(&whole);
	buf_free(&part);
	buf_free(&out);
	fx_engine_fini(&v.x);
}

/*
 * Without a stream to hand back (action_dispatch(): tests, fuzzers) the
 * whole list goes into the caller's buffer, or, when it does not fit
 * there, the answer is 501 instead of a list cut short.
 */
static void test_listing_whole(void **state)
{
	static struct env v;
	struct buf out;
	unsigned i, last;
	int code;

	(void)state;
	env_init(&v, "");
	buf_init(&out, IGDD_HTTP_MAX_RESPONSE);
	for (i = 0; i < 200; i++)
		assert_int_equal(add(&v, "192.168.1.20", "192.168.1.20", 30000 + i, &out, &code), 200);
	assert_int_equal(call(&v, "192.168.1.20", "GetListOfPortMappings",
			      "<NewStartPort>0</NewStartPort><NewEndPort>65535</NewEndPort>"
			      "<NewProtocol>TCP</NewProtocol><NewManage>0</NewManage>"
			      "<NewNumberOfPorts>0</NewNumberOfPorts>", &out, &code), 200);
	assert_int_equal(count_entries(fragment_of(&out), &last), 200);
	assert_int_equal(last, 30199);
	buf_free(&out);
	buf_init(&out, 4096);
	assert_int_equal(call(&v, "192.168.1.20", "GetListOfPortMappings",
			      "<NewStartPort>0</NewStartPort><NewEndPort>65535</NewEndPort>"
			      "<NewProtocol>TCP</NewProtocol><NewManage>0</NewManage>"
			      "<NewNumberOfPorts>0</NewNumberOfPorts>", &out, &code), 500);
	assert_int_equal(code, UPNP_E_ACTION_FAILED);
	buf_free(&out);
	fx_engine_fini(&v.x);
}

/* IGDD_CONF_MAX_ACL_LEN: the longest rule there can be (widest ranges,
 * a /32 of the longest dotted quad) is stored and prints back whole. The
 * rule count is test_config's test_acl_limit_and_order. */
static void test_acl_len(void **state)
{
	static struct config c;
	const char *longest = "allow 10000-65535 255.255.255.255/32 10000-65535";
	char text[256], err[256];
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "lan_interface = lan0\nacl = %s\n", longest);
	assert_int_equal(config_parse("t.conf", text, (size_t)n, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nacl, 1);
	assert_string_equal(c.acl[0], longest);
	assert_true(strlen(longest) < IGDD_CONF_MAX_ACL_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_client_default),
		cmocka_unit_test(test_per_client_open_mode),
		cmocka_unit_test(test_listing_in_parts),
		cmocka_unit_test(test_listing_whole),
		cmocka_unit_test(test_acl_len),
		cmocka_unit_test(test_change_log_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
