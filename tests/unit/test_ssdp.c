/*
 * test_ssdp.c - proto/ssdp.c (UPnP Device Architecture 1.1 section 1):
 * the M-SEARCH parser (1.3.2), the answer decision for every search
 * target form (1.3.3), the advertisement set (1.2.2) and the exact text
 * of a search response and of the NOTIFY messages (1.2.2, 1.2.3); then
 * net/ssdp_io.c on the loopback, in a network namespace of this process's
 * own (root, or an unprivileged user namespace) so that UDP 1900 is
 * ours alone; where no namespace can be made, on the host's loopback,
 * skipped when another process holds UDP 1900.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/config.h"
#include "engine.h"
#include "harness.h"
#include "loop/loop.h"
#include "net/ssdp_io.h"
#include "proto/ssdp.h"
#include "util/limits.h"

#define U_ROOT    "2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a50"
#define U_WAN     "2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a51"
#define U_WANCONN "2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a52"
#define URN       "urn:schemas-upnp-org:"
#define IGD       URN "device:InternetGatewayDevice:"
#define WANDEV    URN "device:WANDevice:"
#define WANCONN   URN "device:WANConnectionDevice:"
#define WANCIC    URN "service:WANCommonInterfaceConfig:"
#define WANIP     URN "service:WANIPConnection:"
#define LOC2      "http://192.168.1.1:5000/rootDesc.xml"
#define LOC1      "http://192.168.1.1:5000/rootDesc1.xml"
#define SERVER    "Linux/6.1.0-18-amd64 UPnP/1.1 igdd/0.1.0"

static void test_device(struct ssdp_device *d)
{
	memset(d, 0, sizeof(*d));
	d->uuid[SSDP_DEV_ROOT] = U_ROOT;
	d->uuid[SSDP_DEV_WAN] = U_WAN;
	d->uuid[SSDP_DEV_WANCONN] = U_WANCONN;
	{
		struct in_addr a;

		inet_pton(AF_INET, "192.168.1.1", &a);
		d->addr = ipaddr_from_v4(a);
	}
	d->http_port = 5000;
	d->boot_id = 1700000000;
	d->config_id = 1;
	d->max_age = 1800;
	d->server = SERVER;
}

/* ---- parser ---------------------------------------------------------- */

#define MS(headers) "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n" headers "\r\n"
#define MAN_OK "MAN: \"ssdp:discover\"\r\n"

struct parse_case {
	const char *name;
	const char *in;
	size_t len;                 /* 0: strlen(in) */
	bool multicast;
	enum ssdp_parse_status want;
	const char *st;             /* when SSDP_PARSE_OK */
	unsigned mx;
	const char *ua;
};

static const struct parse_case parse_cases[] = {
	{ "multicast, all headers", MS(MAN_OK "MX: 2\r\nST: ssdp:all\r\nUSER-AGENT: x/1 UPnP/1.1 y/2\r\n"),
	  0, true, SSDP_PARSE_OK, "ssdp:all", 2, "x/1 UPnP/1.1 y/2" },
	{ "header names in any case", "M-SEARCH * HTTP/1.1\r\nhost: 239.255.255.250:1900\r\n"
	  "man: \"ssdp:discover\"\r\nmx: 1\r\nst: upnp:rootdevice\r\nUser-Agent: a\r\n\r\n",
	  0, true, SSDP_PARSE_OK, "upnp:rootdevice", 1, "a" },
	{ "mixed case names", "M-SEARCH * HTTP/1.1\r\nMan: \"ssdp:discover\"\r\nMx: 3\r\nSt: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_OK, "ssdp:all", 3, "" },
	{ "values trimmed", MS("MAN:\t \"ssdp:discover\" \r\nMX:   4\t\r\nST:  " IGD "1  \r\n"),
	  0, true, SSDP_PARSE_OK, IGD "1", 4, "" },
	{ "bare LF line ends", "M-SEARCH * HTTP/1.1\nMAN: \"ssdp:discover\"\nMX: 1\nST: ssdp:all\n\n",
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "no final empty line", "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n",
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "no final CRLF at all", "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all",
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "body after empty line ignored", MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n") "junk without colon\r\n\x01\r\n",
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "MAN without quotes", MS("MAN: ssdp:discover\r\nMX: 1\r\nST: ssdp:all\r\n"),
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "HTTP/1.0", "M-SEARCH * HTTP/1.0\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "unknown headers ignored", MS(MAN_OK "X-Foo: bar\r\nCPFN.UPNP.ORG: me\r\nMX: 1\r\nST: ssdp:all\r\n"),
	  0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },

	/* MX (1.3.2): required for multicast, an integer, > 5 counts as 5. */
	{ "MX missing, multicast", MS(MAN_OK "ST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MX, NULL, 0, NULL },
	{ "MX missing, unicast", MS(MAN_OK "ST: ssdp:all\r\n"), 0, false, SSDP_PARSE_OK, "ssdp:all", 0, "" },
	{ "MX 0", MS(MAN_OK "MX: 0\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_OK, "ssdp:all", 0, "" },
	{ "MX 1", MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_OK, "ssdp:all", 1, "" },
	{ "MX 5", MS(MAN_OK "MX: 5\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_OK, "ssdp:all", 5, "" },
	{ "MX 6", MS(MAN_OK "MX: 6\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_OK, "ssdp:all", 5, "" },
	{ "MX 120", MS(MAN_OK "MX: 120\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_OK, "ssdp:all", 5, "" },
	{ "MX beyond 64 bits", MS(MAN_OK "MX: 99999999999999999999999\r\nST: ssdp:all\r\n"),
	  0, true, SSDP_PARSE_OK, "ssdp:all", 5, "" },
	{ "MX abc", MS(MAN_OK "MX: abc\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MX, NULL, 0, NULL },
	{ "MX -1", MS(MAN_OK "MX: -1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MX, NULL, 0, NULL },
	{ "MX empty", MS(MAN_OK "MX:\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MX, NULL, 0, NULL },
	{ "MX 1.5", MS(MAN_OK "MX: 1.5\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MX, NULL, 0, NULL },
	{ "MX 2 3", MS(MAN_OK "MX: 2 3\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MX, NULL, 0, NULL },
	{ "MX abc, unicast", MS(MAN_OK "MX: abc\r\nST: ssdp:all\r\n"), 0, false, SSDP_PARSE_OK, "ssdp:all", 0, "" },
	{ "MX 3, unicast", MS(MAN_OK "MX: 3\r\nST: ssdp:all\r\n"), 0, false, SSDP_PARSE_OK, "ssdp:all", 0, "" },

	/* MAN and ST. */
	{ "MAN missing", MS("MX: 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MAN, NULL, 0, NULL },
	{ "MAN missing, unicast", MS("ST: ssdp:all\r\n"), 0, false, SSDP_PARSE_BAD_MAN, NULL, 0, NULL },
	{ "MAN other", MS("MAN: \"ssdp:alive\"\r\nMX: 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_BAD_MAN, NULL, 0, NULL },
	{ "ST missing", MS(MAN_OK "MX: 1\r\n"), 0, true, SSDP_PARSE_BAD_ST, NULL, 0, NULL },
	{ "ST empty", MS(MAN_OK "MX: 1\r\nST:  \r\n"), 0, true, SSDP_PARSE_BAD_ST, NULL, 0, NULL },

	/* Not ours to answer. */
	{ "NOTIFY", "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n"
	  "NTS: ssdp:alive\r\n\r\n", 0, true, SSDP_PARSE_NOTIFY, NULL, 0, NULL },
	{ "search response", "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n", 0, false,
	  SSDP_PARSE_NOT_MSEARCH, NULL, 0, NULL },
	{ "GET", "GET / HTTP/1.1\r\n\r\n", 0, false, SSDP_PARSE_NOT_MSEARCH, NULL, 0, NULL },
	{ "method in lower case", "m-search * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_NOT_MSEARCH, NULL, 0, NULL },
	{ "empty", "", 0, true, SSDP_PARSE_NOT_MSEARCH, NULL, 0, NULL },

	/* Malformed. */
	{ "target not *", "M-SEARCH / HTTP/1.1\r\n" MAN_OK "MX: 1\r\nST: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "HTTP/2.0", "M-SEARCH * HTTP/2.0\r\n" MAN_OK "MX: 1\r\nST: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "request line too long", "M-SEARCH * HTTP/1.1 x\r\n" MAN_OK "MX: 1\r\nST: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "request line only M-SEARCH", "M-SEARCH\r\n" MAN_OK "MX: 1\r\nST: ssdp:all\r\n\r\n",
	  0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "header without colon", MS(MAN_OK "MX 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "empty header name", MS(MAN_OK ": 1\r\nMX: 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "continuation line", MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n  folded\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "duplicate ST", MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\nST: upnp:rootdevice\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "duplicate MX", MS(MAN_OK "MX: 1\r\nMX: 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "duplicate MAN", MS(MAN_OK MAN_OK "MX: 1\r\nST: ssdp:all\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "stray CR in a value", MS(MAN_OK "MX: 1\r\nST: ssdp:all\rX\r\n"), 0, true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "NUL in a value", "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\0x\r\n\r\n",
	  sizeof("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\0x\r\n\r\n") - 1,
	  true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
	{ "NUL in the request line", "M-SEARCH *\0HTTP/1.1\r\n", sizeof("M-SEARCH *\0HTTP/1.1\r\n") - 1,
	  true, SSDP_PARSE_MALFORMED, NULL, 0, NULL },
};

static void test_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct ssdp_msearch m;
		enum ssdp_parse_status st;

		memset(&m, 0xa5, sizeof(m));
		st = ssdp_parse(c->in, c->len ? c->len : strlen(c->in), c->multicast, &m);
		if (st != c->want)
			fail_msg("%s: status %s, want %s", c->name, ssdp_parse_status_str(st),
				 ssdp_parse_status_str(c->want));
		if (st != SSDP_PARSE_OK)
			continue;
		if (!str_eq_cstr(m.st, c->st))
			fail_msg("%s: ST '%.*s', want '%s'", c->name, (int)m.st.len, m.st.p, c->st);
		if (m.mx != c->mx)
			fail_msg("%s: MX %u, want %u", c->name, m.mx, c->mx);
		if (m.have_mx != c->multicast)
			fail_msg("%s: have_mx %d", c->name, m.have_mx);
		if (!str_eq_cstr(m.user_agent, c->ua))
			fail_msg("%s: USER-AGENT '%.*s', want '%s'", c->name, (int)m.user_agent.len,
				 m.user_agent.p, c->ua);
	}
}

static void test_parse_too_long(void **state)
{
	static char big[IGDD_SSDP_MAX_DATAGRAM + 2];
	static const char head[] = MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n");
	struct ssdp_msearch m;

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, head, sizeof(head) - 1);
	/* The body is ignored, but a datagram over the limit is not looked at. */
	assert_int_equal(ssdp_parse(big, IGDD_SSDP_MAX_DATAGRAM, true, &m), SSDP_PARSE_OK);
	assert_int_equal(ssdp_parse(big, IGDD_SSDP_MAX_DATAGRAM + 1, true, &m), SSDP_PARSE_MALFORMED);
}

/* ---- answer decision ------------------------------------------------ */

struct answer_case {
	const char *st;
	size_t n;                   /* 0 or 1 here; ssdp:all has its own test */
	const char *want_st;
	const char *want_usn;
	enum ssdp_desc desc;
};

static const struct answer_case answer_cases[] = {
	{ "upnp:rootdevice", 1, "upnp:rootdevice", "uuid:" U_ROOT "::upnp:rootdevice", SSDP_DESC_V2 },
	{ "uuid:" U_ROOT, 1, "uuid:" U_ROOT, "uuid:" U_ROOT, SSDP_DESC_V2 },
	{ "uuid:" U_WAN, 1, "uuid:" U_WAN, "uuid:" U_WAN, SSDP_DESC_V2 },
	{ "uuid:" U_WANCONN, 1, "uuid:" U_WANCONN, "uuid:" U_WANCONN, SSDP_DESC_V2 },
	{ "uuid:2F0E8B3A-5C1D-4E6F-9A7B-0C1D2E3F4A52", 1, "uuid:" U_WANCONN, "uuid:" U_WANCONN, SSDP_DESC_V2 },
	{ IGD "1", 1, IGD "1", "uuid:" U_ROOT "::" IGD "1", SSDP_DESC_V1 },
	{ IGD "2", 1, IGD "2", "uuid:" U_ROOT "::" IGD "2", SSDP_DESC_V2 },
	{ WANDEV "1", 1, WANDEV "1", "uuid:" U_WAN "::" WANDEV "1", SSDP_DESC_V1 },
	{ WANDEV "2", 1, WANDEV "2", "uuid:" U_WAN "::" WANDEV "2", SSDP_DESC_V2 },
	{ WANCONN "1", 1, WANCONN "1", "uuid:" U_WANCONN "::" WANCONN "1", SSDP_DESC_V1 },
	{ WANCONN "2", 1, WANCONN "2", "uuid:" U_WANCONN "::" WANCONN "2", SSDP_DESC_V2 },
	{ WANCIC "1", 1, WANCIC "1", "uuid:" U_WAN "::" WANCIC "1", SSDP_DESC_V2 },
	{ WANIP "1", 1, WANIP "1", "uuid:" U_WANCONN "::" WANIP "1", SSDP_DESC_V1 },
	{ WANIP "2", 1, WANIP "2", "uuid:" U_WANCONN "::" WANIP "2", SSDP_DESC_V2 },

	/* Newer than we implement, other types, near misses: silence. */
	{ IGD "3", 0, NULL, NULL, 0 },
	{ WANDEV "3", 0, NULL, NULL, 0 },
	{ WANCONN "3", 0, NULL, NULL, 0 },
	{ WANCIC "2", 0, NULL, NULL, 0 },
	{ WANIP "3", 0, NULL, NULL, 0 },
	{ IGD "0", 0, NULL, NULL, 0 },
	{ IGD "01", 0, NULL, NULL, 0 },
	{ IGD "1x", 0, NULL, NULL, 0 },
	{ IGD "", 0, NULL, NULL, 0 },
	{ IGD "4294967297", 0, NULL, NULL, 0 },
	{ URN "device:InternetGatewayDevice", 0, NULL, NULL, 0 },
	{ URN "device:internetgatewaydevice:1", 0, NULL, NULL, 0 },
	{ URN "service:InternetGatewayDevice:1", 0, NULL, NULL, 0 },
	{ URN "device:WANIPConnection:1", 0, NULL, NULL, 0 },
	{ URN "service:WANPPPConnection:1", 0, NULL, NULL, 0 },
	{ URN "service:Layer3Forwarding:1", 0, NULL, NULL, 0 },
	{ URN "device:MediaServer:1", 0, NULL, NULL, 0 },
	{ "urn:schemas-example-com:device:InternetGatewayDevice:1", 0, NULL, NULL, 0 },
	{ "uuid:", 0, NULL, NULL, 0 },
	{ "uuid:" U_ROOT "0", 0, NULL, NULL, 0 },
	{ "uuid:00000000-0000-0000-0000-000000000000", 0, NULL, NULL, 0 },
	{ "ssdp:ALL", 0, NULL, NULL, 0 },
	{ "ssdp:all ", 0, NULL, NULL, 0 },
	{ "upnp:rootdevices", 0, NULL, NULL, 0 },
	{ "x", 0, NULL, NULL, 0 },
};

static void test_answers(void **state)
{
	struct ssdp_device d;
	size_t i;

	(void)state;
	test_device(&d);
	for (i = 0; i < sizeof(answer_cases) / sizeof(answer_cases[0]); i++) {
		const struct answer_case *c = &answer_cases[i];
		struct ssdp_answer a[SSDP_MAX_ANSWERS];
		size_t n;

		n = ssdp_answers(&d, str_cstr(c->st), a);
		if (n != c->n)
			fail_msg("'%s': %zu answers, want %zu", c->st, n, c->n);
		if (n == 0)
			continue;
		if (strcmp(a[0].st, c->want_st) != 0)
			fail_msg("'%s': ST '%s', want '%s'", c->st, a[0].st, c->want_st);
		if (strcmp(a[0].usn, c->want_usn) != 0)
			fail_msg("'%s': USN '%s', want '%s'", c->st, a[0].usn, c->want_usn);
		if (a[0].desc != c->desc)
			fail_msg("'%s': desc %d, want %d", c->st, a[0].desc, c->desc);
	}
}

/* The 9 of ssdp:all (1.3.3), which are also the first 9 advertisements. */
static const struct answer_case all_v2[] = {
	{ NULL, 0, "upnp:rootdevice", "uuid:" U_ROOT "::upnp:rootdevice", SSDP_DESC_V2 },
	{ NULL, 0, "uuid:" U_ROOT, "uuid:" U_ROOT, SSDP_DESC_V2 },
	{ NULL, 0, IGD "2", "uuid:" U_ROOT "::" IGD "2", SSDP_DESC_V2 },
	{ NULL, 0, "uuid:" U_WAN, "uuid:" U_WAN, SSDP_DESC_V2 },
	{ NULL, 0, WANDEV "2", "uuid:" U_WAN "::" WANDEV "2", SSDP_DESC_V2 },
	{ NULL, 0, "uuid:" U_WANCONN, "uuid:" U_WANCONN, SSDP_DESC_V2 },
	{ NULL, 0, WANCONN "2", "uuid:" U_WANCONN "::" WANCONN "2", SSDP_DESC_V2 },
	{ NULL, 0, WANCIC "1", "uuid:" U_WAN "::" WANCIC "1", SSDP_DESC_V2 },
	{ NULL, 0, WANIP "2", "uuid:" U_WANCONN "::" WANIP "2", SSDP_DESC_V2 },
};

static const struct answer_case announce_v1[] = {
	{ NULL, 0, IGD "1", "uuid:" U_ROOT "::" IGD "1", SSDP_DESC_V1 },
	{ NULL, 0, WANDEV "1", "uuid:" U_WAN "::" WANDEV "1", SSDP_DESC_V1 },
	{ NULL, 0, WANCONN "1", "uuid:" U_WANCONN "::" WANCONN "1", SSDP_DESC_V1 },
	{ NULL, 0, WANIP "1", "uuid:" U_WANCONN "::" WANIP "1", SSDP_DESC_V1 },
};

static void check_answer(const char *what, size_t i, const struct ssdp_answer *a,
			 const struct answer_case *want)
{
	if (strcmp(a->st, want->want_st) != 0 || strcmp(a->usn, want->want_usn) != 0 ||
	    a->desc != want->desc)
		fail_msg("%s[%zu]: '%s' '%s' %d, want '%s' '%s' %d", what, i, a->st, a->usn,
			 a->desc, want->want_st, want->want_usn, want->desc);
}

static void test_answers_all(void **state)
{
	struct ssdp_answer a[SSDP_MAX_ANSWERS];
	struct ssdp_device d;
	size_t n, i;

	(void)state;
	test_device(&d);
	n = ssdp_answers(&d, STR_LIT("ssdp:all"), a);
	assert_int_equal(n, 9);
	for (i = 0; i < n; i++)
		check_answer("ssdp:all", i, &a[i], &all_v2[i]);
}

static void test_announce_set(void **state)
{
	struct ssdp_answer a[SSDP_ANNOUNCE_COUNT];
	struct ssdp_device d;
	size_t n, i;

	(void)state;
	test_device(&d);
	n = ssdp_announce_set(&d, a);
	assert_int_equal(n, SSDP_ANNOUNCE_COUNT);
	for (i = 0; i < 9; i++)
		check_answer("announce", i, &a[i], &all_v2[i]);
	for (i = 9; i < n; i++)
		check_answer("announce", i, &a[i], &announce_v1[i - 9]);
}

/* A search parsed from a datagram receives the answers of its ST. */
static void test_parse_then_answer(void **state)
{
	static const char req[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
				  "MAN: \"ssdp:discover\"\r\nMX: 2\r\nST: " WANIP "1\r\n\r\n";
	struct ssdp_answer a[SSDP_MAX_ANSWERS];
	struct ssdp_msearch m;
	struct ssdp_device d;

	(void)state;
	test_device(&d);
	assert_int_equal(ssdp_parse(req, sizeof(req) - 1, true, &m), SSDP_PARSE_OK);
	assert_int_equal(ssdp_answers(&d, m.st, a), 1);
	assert_string_equal(a[0].st, WANIP "1");
	assert_int_equal(a[0].desc, SSDP_DESC_V1);
}

/* ---- texts ---------------------------------------------------------- */

static void test_response_text(void **state)
{
	struct ssdp_answer a[SSDP_MAX_ANSWERS];
	struct ssdp_device d;
	struct buf b;

	(void)state;
	test_device(&d);
	buf_init(&b, IGDD_SSDP_MAX_DATAGRAM);
	assert_int_equal(ssdp_answers(&d, STR_LIT(IGD "1"), a), 1);
	/* 784111777 is the RFC 7231 example date. */
	assert_int_equal(ssdp_build_response(&d, &a[0], 784111777, &b), 0);
	assert_string_equal(b.p,
		"HTTP/1.1 200 OK\r\n"
		"CACHE-CONTROL: max-age=1800\r\n"
		"DATE: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		"EXT:\r\n"
		"LOCATION: " LOC1 "\r\n"
		"SERVER: " SERVER "\r\n"
		"ST: " IGD "1\r\n"
		"USN: uuid:" U_ROOT "::" IGD "1\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");

	/* The v2 view, another date; the buffer is reset each time. */
	assert_int_equal(ssdp_answers(&d, STR_LIT("upnp:rootdevice"), a), 1);
	d.max_age = 3600;
	assert_int_equal(ssdp_build_response(&d, &a[0], 1709251199, &b), 0);
	assert_string_equal(b.p,
		"HTTP/1.1 200 OK\r\n"
		"CACHE-CONTROL: max-age=3600\r\n"
		"DATE: Thu, 29 Feb 2024 23:59:59 GMT\r\n"
		"EXT:\r\n"
		"LOCATION: " LOC2 "\r\n"
		"SERVER: " SERVER "\r\n"
		"ST: upnp:rootdevice\r\n"
		"USN: uuid:" U_ROOT "::upnp:rootdevice\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");

	/* A buffer too small fails cleanly. */
	buf_free(&b);
	buf_init(&b, 64);
	assert_int_equal(ssdp_build_response(&d, &a[0], 0, &b), -E2BIG);
	buf_free(&b);
}

/* IPv6 (UDA 1.1 Annex A): LOCATION with the address in brackets, the
 * longest one fitting; never a zone, even for a link-local address; the
 * NOTIFY's HOST is the IPv6 group's. The answer decision is the same. */
static void test_ipv6_text(void **state)
{
	struct ssdp_answer a[SSDP_ANNOUNCE_COUNT];
	struct ssdp_device d;
	struct in6_addr a6;
	struct buf b;

	(void)state;
	test_device(&d);
	inet_pton(AF_INET6, "2001:db8:1::1", &a6);
	d.addr = ipaddr_from_v6(&a6, 0);
	buf_init(&b, IGDD_SSDP_MAX_DATAGRAM);
	assert_int_equal(ssdp_answers(&d, STR_LIT(IGD "1"), a), 1);
	assert_int_equal(ssdp_build_response(&d, &a[0], 784111777, &b), 0);
	assert_string_equal(b.p,
		"HTTP/1.1 200 OK\r\n"
		"CACHE-CONTROL: max-age=1800\r\n"
		"DATE: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		"EXT:\r\n"
		"LOCATION: http://[2001:db8:1::1]:5000/rootDesc1.xml\r\n"
		"SERVER: " SERVER "\r\n"
		"ST: " IGD "1\r\n"
		"USN: uuid:" U_ROOT "::" IGD "1\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");
	/* the longest address text there is, and the largest port */
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &a6);
	d.addr = ipaddr_from_v6(&a6, 0);
	d.http_port = 65535;
	assert_int_equal(ssdp_build_response(&d, &a[0], 0, &b), 0);
	assert_non_null(strstr(b.p, "\r\nLOCATION: http://[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535/rootDesc1.xml\r\n"));
	/* a link-local LOCATION carries no zone */
	inet_pton(AF_INET6, "fe80::1", &a6);
	d.addr = ipaddr_from_v6(&a6, 7);
	d.http_port = 5000;
	d.notify_host = "[FF02::C]:1900";
	assert_int_equal(ssdp_announce_set(&d, a), SSDP_ANNOUNCE_COUNT);
	assert_int_equal(ssdp_build_notify(&d, &a[0], SSDP_NTS_ALIVE, &b), 0);
	assert_string_equal(b.p,
		"NOTIFY * HTTP/1.1\r\n"
		"HOST: [FF02::C]:1900\r\n"
		"CACHE-CONTROL: max-age=1800\r\n"
		"LOCATION: http://[fe80::1]:5000/rootDesc.xml\r\n"
		"NT: upnp:rootdevice\r\n"
		"NTS: ssdp:alive\r\n"
		"SERVER: " SERVER "\r\n"
		"USN: uuid:" U_ROOT "::upnp:rootdevice\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");
	d.notify_host = "[FF05::C]:1900";
	assert_int_equal(ssdp_build_notify(&d, &a[0], SSDP_NTS_BYEBYE, &b), 0);
	assert_string_equal(b.p,
		"NOTIFY * HTTP/1.1\r\n"
		"HOST: [FF05::C]:1900\r\n"
		"NT: upnp:rootdevice\r\n"
		"NTS: ssdp:byebye\r\n"
		"USN: uuid:" U_ROOT "::upnp:rootdevice\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");
	/* no address: no LOCATION, no text */
	memset(&d.addr, 0, sizeof(d.addr));
	assert_true(ssdp_build_notify(&d, &a[0], SSDP_NTS_ALIVE, &b) < 0);
	assert_true(ssdp_build_response(&d, &a[0], 0, &b) < 0);
	buf_free(&b);
}

/* An M-SEARCH to an IPv6 group (HOST in brackets, GUPnP's own fields) parses like any. */
static void test_parse_ipv6(void **state)
{
	static const char gupnp[] =
		"M-SEARCH * HTTP/1.1\r\nHost: [FF0E::C]:1900\r\nMan: \"ssdp:discover\"\r\n"
		"ST: " WANIP "2\r\nMX: 3\r\nUser-Agent: Linux/6.1 UPnP/1.1 GUPnP/1.6.3\r\n"
		"CONFIGID.UPNP.ORG: -1\r\nBOOTID.UPNP.ORG: 7\r\n\r\n";
	static const char upnpc[] =
		"M-SEARCH * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nST: " IGD "1\r\n"
		"MAN: \"ssdp:discover\"\r\nMX: 2\r\n\r\n";
	struct ssdp_msearch m;

	(void)state;
	assert_int_equal(ssdp_parse(gupnp, sizeof(gupnp) - 1, true, &m), SSDP_PARSE_OK);
	assert_int_equal(m.mx, 3);
	assert_true(str_eq_cstr(m.st, WANIP "2"));
	assert_int_equal(ssdp_parse(upnpc, sizeof(upnpc) - 1, true, &m), SSDP_PARSE_OK);
	assert_true(str_eq_cstr(m.st, IGD "1"));
}

static void test_notify_text(void **state)
{
	struct ssdp_answer a[SSDP_ANNOUNCE_COUNT];
	struct ssdp_device d;
	struct buf b;

	(void)state;
	test_device(&d);
	buf_init(&b, IGDD_SSDP_MAX_DATAGRAM);
	assert_int_equal(ssdp_announce_set(&d, a), SSDP_ANNOUNCE_COUNT);

	assert_int_equal(ssdp_build_notify(&d, &a[8], SSDP_NTS_ALIVE, &b), 0);
	assert_string_equal(b.p,
		"NOTIFY * HTTP/1.1\r\n"
		"HOST: 239.255.255.250:1900\r\n"
		"CACHE-CONTROL: max-age=1800\r\n"
		"LOCATION: " LOC2 "\r\n"
		"NT: " WANIP "2\r\n"
		"NTS: ssdp:alive\r\n"
		"SERVER: " SERVER "\r\n"
		"USN: uuid:" U_WANCONN "::" WANIP "2\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");

	assert_int_equal(ssdp_build_notify(&d, &a[12], SSDP_NTS_ALIVE, &b), 0);
	assert_string_equal(b.p,
		"NOTIFY * HTTP/1.1\r\n"
		"HOST: 239.255.255.250:1900\r\n"
		"CACHE-CONTROL: max-age=1800\r\n"
		"LOCATION: " LOC1 "\r\n"
		"NT: " WANIP "1\r\n"
		"NTS: ssdp:alive\r\n"
		"SERVER: " SERVER "\r\n"
		"USN: uuid:" U_WANCONN "::" WANIP "1\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");

	/* byebye: no CACHE-CONTROL, LOCATION or SERVER (1.2.3). */
	assert_int_equal(ssdp_build_notify(&d, &a[1], SSDP_NTS_BYEBYE, &b), 0);
	assert_string_equal(b.p,
		"NOTIFY * HTTP/1.1\r\n"
		"HOST: 239.255.255.250:1900\r\n"
		"NT: uuid:" U_ROOT "\r\n"
		"NTS: ssdp:byebye\r\n"
		"USN: uuid:" U_ROOT "\r\n"
		"BOOTID.UPNP.ORG: 1700000000\r\n"
		"CONFIGID.UPNP.ORG: 1\r\n"
		"\r\n");
	buf_free(&b);
}

struct max_age_case {
	unsigned interval, want;
};

static void test_max_age(void **state)
{
	static const struct max_age_case cases[] = {
		{ 0, 1800 }, { 30, 1800 }, { 900, 1800 }, { 901, 1802 }, { 1800, 3600 },
		{ 86400, 172800 }, { 4000000000u, 4294967295u },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ssdp_max_age(cases[i].interval) != cases[i].want)
			fail_msg("interval %u: max-age %u, want %u", cases[i].interval,
				 ssdp_max_age(cases[i].interval), cases[i].want);
}

struct server_case {
	const char *release, *version;
	size_t outsz;
	int want_ret;
	const char *want;
};

static void test_server_string(void **state)
{
	static const struct server_case cases[] = {
		{ "Linux/6.1.0-18-amd64", "0.1.0", SSDP_SERVER_MAX, 0, SERVER },
		{ "Linux", "0.1.0", SSDP_SERVER_MAX, 0, "Linux UPnP/1.1 igdd/0.1.0" },
		{ "", "0.1.0", SSDP_SERVER_MAX, 0, "Linux UPnP/1.1 igdd/0.1.0" },
		{ "OpenWrt/23.05", "", SSDP_SERVER_MAX, 0, "OpenWrt/23.05 UPnP/1.1 igdd/unknown" },
		{ "5.4 #1 SMP/x\r\n", "1/2", SSDP_SERVER_MAX, 0, "5.4_#1_SMP/x__ UPnP/1.1 igdd/1_2" },
		{ "Linux/6.1", "0.1.0", 32, 0, "Linux/6.1 UPnP/1.1 igdd/0.1.0" },
		{ "Linux/6.1", "0.1.0", 29, -E2BIG, "Linux/6.1 UPnP/1.1 igdd/0.1." },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct server_case *c = &cases[i];
		char out[SSDP_SERVER_MAX];
		int r;

		r = ssdp_server_string(c->release, c->version, out, c->outsz);
		if (r != c->want_ret || strcmp(out, c->want) != 0)
			fail_msg("'%s': %d '%s', want %d '%s'", c->release, r, out, c->want_ret, c->want);
	}
}

/* ---- net/ssdp_io.c end to end, on the loopback interface only ------ */

#define CAP_MAX 128

struct capture {
	int fd;
	size_t n;
	char msg[CAP_MAX][IGDD_SSDP_MAX_DATAGRAM + 1];
};

static void capture_read(struct capture *c)
{
	char tmp[IGDD_SSDP_MAX_DATAGRAM];
	ssize_t n;

	while ((n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT)) >= 0) {
		if (c->n < CAP_MAX) {
			memcpy(c->msg[c->n], tmp, (size_t)n);
			c->msg[c->n][n] = '\0';
		}
		c->n++;
	}
}

static void capture_on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	capture_read(arg);
}

/* Set by main(): this process has a network namespace of its own. */
static bool own_netns;

/* A UDP socket bound to addr:port, sending multicast out of lo. */
static int udp_socket(const char *addr, uint16_t port, bool join)
{
	struct sockaddr_in sin;
	struct ip_mreqn mreq;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_multiaddr.s_addr = htonl(SSDP_MCAST_ADDR_HOST);
	mreq.imr_address.s_addr = htonl(INADDR_LOOPBACK);
	mreq.imr_ifindex = (int)if_nametoindex("lo");
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)), 0);
	if (join && setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
		close(fd);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin.sin_addr);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_to(int fd, const char *addr, const char *text)
{
	struct sockaddr_in to;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &to.sin_addr);
	to.sin_port = htons(SSDP_PORT);
	assert_int_equal(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)strlen(text));
}

/* Keep, in order, the messages that start with prefix and contain mark. */
static void capture_keep(struct capture *c, const char *prefix, const char *mark)
{
	size_t i, j = 0;

	for (i = 0; i < c->n && i < CAP_MAX; i++)
		if (strncmp(c->msg[i], prefix, strlen(prefix)) == 0 && strstr(c->msg[i], mark))
			memmove(c->msg[j++], c->msg[i], sizeof(c->msg[i]));
	c->n = j;
}

/* True when some socket on this host holds UDP 1900 (another SSDP
 * daemon, or this test running from another build directory). */
static bool port_1900_busy(void)
{
	if (own_netns)
		return false;
	struct sockaddr_in sin;
	int fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(SSDP_PORT);
	r = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return r < 0;
}

static size_t count_with(const struct capture *c, size_t from, size_t to, const char *needle)
{
	size_t i, n = 0;

	for (i = from; i < to && i < CAP_MAX; i++)
		if (strstr(c->msg[i], needle))
			n++;
	return n;
}

/* Messages of c that start with prefix and contain mark (as kept by
 * capture_keep, without dropping the others). */
static size_t count_marked(const struct capture *c, const char *prefix, const char *mark)
{
	size_t i, n = 0;

	for (i = 0; i < c->n && i < CAP_MAX; i++)
		if (strncmp(c->msg[i], prefix, strlen(prefix)) == 0 && strstr(c->msg[i], mark))
			n++;
	return n;
}

static void skip_busy(const char *what)
{
	fprintf(stderr, "UDP port 1900 is in use on this host, and this process could not "
		"have a network namespace of its own (neither root nor unprivileged user "
		"namespaces): %s skipped\n", what);
	skip();
}

struct loopback_want {
	const struct capture *in, *notes;
	const char *mark;
};

/* Every answer and announcement test_io_loopback waits for is in. */
static bool loopback_all_in(void *arg)
{
	const struct loopback_want *w = arg;

	return count_marked(w->in, "HTTP/1.1 200 OK\r\n", w->mark) >= 11 &&
	       count_marked(w->notes, "NOTIFY * HTTP/1.1\r\n", w->mark) >= 4 * SSDP_ANNOUNCE_COUNT;
}

/*
 * LAN = 127.0.0.1/30 on lo: a searcher at 127.0.0.2 is inside, one at
 * 127.0.0.5 outside. Skips when lo cannot take the SSDP group or when
 * UDP 1900 is already in use on this host; messages are told apart from
 * any other instance's by a BOOTID unique to this run.
 */
static void test_io_loopback(void **state)
{
	static struct capture in, out, notes;
	struct config cfg;
	struct engine e;
	struct in_addr a, m;
	struct ssdp_io *s;
	struct loop *l;
	struct pollfd pfd;
	struct loopback_want want;
	uint64_t t0, end;
	char mark[64];

	(void)state;
	if (port_1900_busy())
		skip_busy("loopback test");
	memset(&cfg, 0, sizeof(cfg));
	cfg.notify_interval = 900;
	memset(&e, 0, sizeof(e));
	e.cfg = &cfg;
	memcpy(e.uuid_root, U_ROOT, 37);
	memcpy(e.uuid_wandev, U_WAN, 37);
	memcpy(e.uuid_wanconn, U_WANCONN, 37);
	e.boot_id = (uint32_t)getpid();
	e.config_id = 1;
	snprintf(mark, sizeof(mark), "\r\nBOOTID.UPNP.ORG: %u\r\n", (unsigned)e.boot_id);
	want.in = &in;
	want.notes = &notes;
	want.mark = mark;
	e.http_port = 5000;
	inet_pton(AF_INET, "127.0.0.1", &a);
	inet_pton(AF_INET, "255.255.255.252", &m);
	lan_init(&e.lans[0], 0, "lo");
	lan_set_ifindex(&e.lans[0], if_nametoindex("lo"));
	engine_set_lan(&e, a, m);

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	memset(&notes, 0, sizeof(notes));
	notes.fd = udp_socket(SSDP_MCAST_ADDR, SSDP_PORT, true);
	if (notes.fd < 0)
		skip();
	in.fd = udp_socket("127.0.0.2", 0, false);
	out.fd = udp_socket("127.0.0.5", 0, false);
	assert_true(in.fd >= 0 && out.fd >= 0);
	l = loop_new();
	assert_non_null(l);
	s = ssdp_io_new(&e, l);
	if (!s) {
		loop_free(l);
		close(in.fd);
		close(out.fd);
		close(notes.fd);
		skip();
	}
	assert_int_equal(loop_fd_add(l, in.fd, EPOLLIN, capture_on_readable, &in), 0);
	assert_int_equal(loop_fd_add(l, out.fd, EPOLLIN, capture_on_readable, &out), 0);
	assert_int_equal(loop_fd_add(l, notes.fd, EPOLLIN, capture_on_readable, &notes), 0);

	/* Unicast, no MX: answered at once. */
	t0 = clock_monotonic_ms(NULL);
	send_to(in.fd, "127.0.0.1", MS(MAN_OK "ST: upnp:rootdevice\r\n"));
	/* Multicast: 9 + 1 answers within MX; without MX: silence. */
	send_to(in.fd, SSDP_MCAST_ADDR, MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n"));
	send_to(in.fd, SSDP_MCAST_ADDR, MS(MAN_OK "ST: ssdp:all\r\n"));
	send_to(in.fd, SSDP_MCAST_ADDR, MS(MAN_OK "MX: 1\r\nST: " WANIP "1\r\n"));
	/* From outside the LAN subnet: silence. */
	send_to(out.fd, "127.0.0.1", MS(MAN_OK "ST: ssdp:all\r\n"));
	send_to(out.fd, SSDP_MCAST_ADDR, MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n"));

	/* Until every answer and announcement is in, and at least 1.5 s (MX 1
	 * and then some): the window in which an answer that must not come
	 * (no MX, outside the LAN, one too many) would. */
	if (!test_loop_until(l, loopback_all_in, &want))
		fail_msg("answers %zu, announcements %zu: not all in",
			 count_marked(&in, "HTTP/1.1 200 OK\r\n", mark),
			 count_marked(&notes, "NOTIFY * HTTP/1.1\r\n", mark));
	if (clock_monotonic_ms(NULL) < t0 + 1500)
		test_loop_for(l, t0 + 1500 - clock_monotonic_ms(NULL));

	assert_int_equal(out.n, 0);
	capture_keep(&in, "HTTP/1.1 200 OK\r\n", mark);
	assert_int_equal(in.n, 11);
	assert_int_equal(count_with(&in, 0, in.n, "HTTP/1.1 200 OK\r\n"), 11);
	assert_int_equal(count_with(&in, 0, in.n, "\r\nST: upnp:rootdevice\r\n"), 2);
	assert_int_equal(count_with(&in, 0, in.n, "\r\nLOCATION: http://127.0.0.1:5000/rootDesc1.xml\r\n"), 1);
	assert_int_equal(count_with(&in, 0, in.n, "\r\nLOCATION: http://127.0.0.1:5000/rootDesc.xml\r\n"), 10);
	assert_int_equal(count_with(&in, 0, 1, "\r\nST: upnp:rootdevice\r\n"), 1);

	/* The searches we sent went to the group too; keep our NOTIFYs. */
	capture_keep(&notes, "NOTIFY * HTTP/1.1\r\n", mark);
	/* Twice byebye, then twice alive (the messages keep their order on lo). */
	assert_int_equal(notes.n, 4 * SSDP_ANNOUNCE_COUNT);
	assert_int_equal(count_with(&notes, 0, 26, "\r\nNTS: ssdp:byebye\r\n"), 26);
	assert_int_equal(count_with(&notes, 26, 52, "\r\nNTS: ssdp:alive\r\n"), 26);
	assert_int_equal(count_with(&notes, 26, 52, "/rootDesc1.xml\r\n"), 8);

	/* Shutdown: byebye for everything (sent before ssdp_io_free returns;
	 * read until they are all in, at most the safety timeout). */
	ssdp_io_free(s);
	notes.n = 0;
	pfd.fd = notes.fd;
	pfd.events = POLLIN;
	end = clock_monotonic_ms(NULL) + test_timeout_ms();
	while (count_marked(&notes, "NOTIFY * HTTP/1.1\r\n", mark) < SSDP_ANNOUNCE_COUNT &&
	       clock_monotonic_ms(NULL) < end)
		if (poll(&pfd, 1, 100) > 0)
			capture_read(&notes);
	capture_keep(&notes, "NOTIFY * HTTP/1.1\r\n", mark);
	assert_int_equal(notes.n, SSDP_ANNOUNCE_COUNT);
	assert_int_equal(count_with(&notes, 0, notes.n, "\r\nNTS: ssdp:byebye\r\n"),
			 SSDP_ANNOUNCE_COUNT);

	loop_free(l);
	close(in.fd);
	close(out.fd);
	close(notes.fd);
}

static bool pending_all_in(void *arg)
{
	return ((const struct capture *)arg)->n >= IGDD_SSDP_MAX_PENDING;
}

/*
 * IGDD_SSDP_MAX_PENDING: 40 multicast searches for ssdp:all (MX 1) ask
 * for 40 x 9 delayed answers; 256 wait at most, the rest are dropped, so
 * exactly 256 arrive (all within MX; the test waits for them however long
 * they take, and at least 1.5 s for one too many). The answer rate limit
 * allows 512 back to back and is not what stops them. (The 40 searches
 * are all read in one wake-up, before any answer's timer can run.)
 */
static void test_io_pending_limit(void **state)
{
	static struct capture in;
	struct config cfg;
	struct engine e;
	struct in_addr a, m;
	struct ssdp_io *s;
	struct loop *l;
	uint64_t t0;
	unsigned i;

	(void)state;
	if (port_1900_busy())
		skip_busy("pending-limit test");
	memset(&cfg, 0, sizeof(cfg));
	cfg.notify_interval = 900;
	memset(&e, 0, sizeof(e));
	e.cfg = &cfg;
	memcpy(e.uuid_root, U_ROOT, 37);
	memcpy(e.uuid_wandev, U_WAN, 37);
	memcpy(e.uuid_wanconn, U_WANCONN, 37);
	e.boot_id = (uint32_t)getpid();
	e.config_id = 1;
	e.http_port = 5000;
	inet_pton(AF_INET, "127.0.0.1", &a);
	inet_pton(AF_INET, "255.255.255.252", &m);
	lan_init(&e.lans[0], 0, "lo");
	lan_set_ifindex(&e.lans[0], if_nametoindex("lo"));
	engine_set_lan(&e, a, m);
	memset(&in, 0, sizeof(in));
	in.fd = udp_socket("127.0.0.2", 0, false);
	assert_true(in.fd >= 0);
	l = loop_new();
	assert_non_null(l);
	s = ssdp_io_new(&e, l);
	if (!s) {
		loop_free(l);
		close(in.fd);
		skip();
	}
	assert_int_equal(loop_fd_add(l, in.fd, EPOLLIN, capture_on_readable, &in), 0);
	t0 = clock_monotonic_ms(NULL);
	for (i = 0; i < 40; i++)
		send_to(in.fd, SSDP_MCAST_ADDR, MS(MAN_OK "MX: 1\r\nST: ssdp:all\r\n"));
	if (!test_loop_until(l, pending_all_in, &in))
		fail_msg("%zu answers of %u", in.n, IGDD_SSDP_MAX_PENDING);
	if (clock_monotonic_ms(NULL) < t0 + 1500)
		test_loop_for(l, t0 + 1500 - clock_monotonic_ms(NULL));
	capture_read(&in);
	assert_int_equal(in.n, IGDD_SSDP_MAX_PENDING);

	ssdp_io_free(s);
	loop_free(l);
	close(in.fd);
}

int main(void)
{
	int r;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_too_long),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_answers_all),
		cmocka_unit_test(test_announce_set),
		cmocka_unit_test(test_parse_then_answer),
		cmocka_unit_test(test_ipv6_text),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_response_text),
		cmocka_unit_test(test_notify_text),
		cmocka_unit_test(test_max_age),
		cmocka_unit_test(test_server_string),
		cmocka_unit_test(test_io_loopback),
		cmocka_unit_test(test_io_pending_limit),
	};

	r = test_own_netns();
	own_netns = r == 0;
	if (!own_netns)
		fprintf(stderr, "no network namespace of our own (%s): the I/O tests use the "
			"host's loopback\n", strerror(-r));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
