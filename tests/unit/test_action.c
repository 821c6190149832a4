/*
 * test_action.c - svc/action: the SOAP dispatcher over a small test
 * service (UDA 1.1 3.2): version and action resolution (401), argument
 * matching and types (402), allowed values and ranges (601), handler
 * errors and OUT arguments, QueryStateVariable, error texts; and the
 * WANCommonInterfaceConfig:1 counters (ui4, modulo 2^32) over a fake backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "conf/config.h"
#include "engine.h"
#include "svc/action.h"
#include "svc/wancommon.h"

#define TYPE "urn:test:service:Test"
#define NS1 TYPE ":1"
#define NS2 TYPE ":2"

static const char *const protos[] = { "TCP", "UDP", NULL };

static const struct statevar vars[] = {
	{ .name = "Proto", .type = SVAR_STRING, .allowed = protos, .min_version = 1 },
	{ .name = "Port", .type = SVAR_UI2, .min_version = 1 },
	{ .name = "Lease", .type = SVAR_UI4, .ranged = true, .min = 0, .max = 604800,
	  .min_version = 1 },
	{ .name = "Offset", .type = SVAR_I4, .ranged = true, .min = (uint32_t)-100, .max = 100,
	  .min_version = 1 },
	{ .name = "Flag", .type = SVAR_BOOLEAN, .evented = true, .min_version = 1 },
	{ .name = "Text", .type = SVAR_STRING, .min_version = 1 },
	{ .name = "Count", .type = SVAR_UI4, .evented = true, .min_version = 2 },
};

static const struct action_arg echo_args[] = {
	{ "NewProto", false, "Proto" },
	{ "NewPort", false, "Port" },
	{ "NewLease", false, "Lease" },
	{ "NewOffset", false, "Offset" },
	{ "NewFlag", false, "Flag" },
	{ "NewText", false, "Text" },
	{ "OutProto", true, "Proto" },
	{ "OutPort", true, "Port" },
	{ "OutLease", true, "Lease" },
	{ "OutOffset", true, "Offset" },
	{ "OutFlag", true, "Flag" },
	{ "OutText", true, "Text" },
};

/* The tolerances of enum arg_empty, one per argument. */
static const struct action_arg tolerant_args[] = {
	{ "NewPort", false, "Port", ARG_EMPTY_ZERO },
	{ "NewProto", false, "Proto", ARG_EMPTY_HANDLER },
	{ "NewLease", false, "Lease", ARG_EMPTY_CHECKED },
	{ "OutPort", true, "Port", ARG_EMPTY_CHECKED },
	{ "OutText", true, "Text", ARG_EMPTY_CHECKED },
};

static const struct action_arg lazy_args[] = {
	{ "OutPort", true, "Port" },
};

/* Writes back what it was given, in schema order. */
static int echo(struct action_ctx *ctx)
{
	struct str text = action_in_str(ctx, "NewText");
	char off[16];

	action_out_strn(ctx, "OutProto", action_in_str(ctx, "NewProto").p,
			action_in_str(ctx, "NewProto").len);
	action_out_u32(ctx, "OutPort", action_in_u32(ctx, "NewPort"));
	action_out_u32(ctx, "OutLease", action_in_u32(ctx, "NewLease"));
	snprintf(off, sizeof(off), "%d", (int32_t)action_in_u32(ctx, "NewOffset"));
	action_out_str(ctx, "OutOffset", off);
	action_out_bool(ctx, "OutFlag", action_in_bool(ctx, "NewFlag"));
	action_out_strn(ctx, "OutText", text.p, text.len);
	return 0;
}

/* OutText: "[protocol as received]". */
static int tolerant(struct action_ctx *ctx)
{
	struct str proto = action_in_str(ctx, "NewProto");
	char text[16];

	action_out_u32(ctx, "OutPort", action_in_u32(ctx, "NewPort"));
	snprintf(text, sizeof(text), "[%.*s]", (int)proto.len, proto.p);
	action_out_str(ctx, "OutText", text);
	return 0;
}

static int ok(struct action_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static int fails(struct action_ctx *ctx)
{
	(void)ctx;
	return UPNP_E_NO_SUCH_ENTRY_IN_ARRAY;
}

static int lazy(struct action_ctx *ctx)
{
	(void)ctx;
	return 0;               /* forgets its OUT argument */
}

static const struct action actions[] = {
	{ "Echo", echo_args, 12, 1, echo },
	{ "NoArgs", NULL, 0, 1, ok },
	{ "V2Only", NULL, 0, 2, ok },
	{ "Fails", NULL, 0, 1, fails },
	{ "Lazy", lazy_args, 1, 1, lazy },
	{ "Tolerant", tolerant_args, 5, 1, tolerant },
};

static int query(struct engine *e, const struct statevar *var, struct buf *out)
{
	(void)e;
	if (strcmp(var->name, "Count") == 0)
		return buf_puts(out, "42<") < 0 ? UPNP_E_ACTION_FAILED : 0;
	return UPNP_E_INVALID_VAR;
}

static const struct service svc = {
	.type = TYPE, .version = 2, .service_id = "urn:test:serviceId:T1",
	.control_url = "/ctl/T", .event_url = "/evt/T", .scpd_url = "/T.xml",
	.vars = vars, .nvars = 7, .actions = actions, .nactions = 6, .query = query,
};

#define ENV_OPEN "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>"

/* Run one request; the response in out (NUL-terminated). */
static int run(const char *soapaction, const char *ns, const char *action, const char *args,
	       struct buf *out)
{
	struct buf body;
	int status;

	buf_init(&body, 65536);
	buf_printf(&body, ENV_OPEN "<u:%s xmlns:u=\"%s\">%s</u:%s>" ENV_CLOSE, action, ns, args,
		   action);
	buf_reset(out);
	status = action_dispatch(NULL, &svc, soapaction, str_from(body.p, body.len),
				 &(struct ipaddr){ .family = AF_INET, .u.v4 = { 0x0101a8c0 } }, 0, out);
	buf_free(&body);
	return status;
}

#define GOOD "<NewProto>TCP</NewProto><NewPort>8080</NewPort><NewLease>3600</NewLease>" \
	"<NewOffset>-5</NewOffset><NewFlag>1</NewFlag><NewText>hi</NewText>"

struct row {
	const char *name;
	const char *ns;
	const char *action;
	const char *args;
	int status;
	const char *needle;     /* a substring the response must hold */
};

static const struct row rows[] = {
	{ "all good", NS2, "Echo", GOOD, 200,
	  "<u:EchoResponse xmlns:u=\"" NS2 "\"><OutProto>TCP</OutProto><OutPort>8080</OutPort>"
	  "<OutLease>3600</OutLease><OutOffset>-5</OutOffset><OutFlag>1</OutFlag>"
	  "<OutText>hi</OutText></u:EchoResponse>" },
	{ "version 1 namespace echoed", NS1, "Echo", GOOD, 200, "xmlns:u=\"" NS1 "\"" },
	{ "any order, empty text",
	  NS2, "Echo", "<NewText/><NewFlag>no</NewFlag><NewOffset>+7</NewOffset><NewLease>0</NewLease>"
	  "<NewPort>0</NewPort><NewProto>udp</NewProto>", 200,
	  "<OutProto>UDP</OutProto><OutPort>0</OutPort><OutLease>0</OutLease><OutOffset>7</OutOffset>"
	  "<OutFlag>0</OutFlag><OutText></OutText>" },
	{ "text escaped on the way out", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>true</NewFlag><NewText>a&amp;b&lt;</NewText>", 200,
	  "<OutFlag>1</OutFlag><OutText>a&amp;b&lt;</OutText>" },
	{ "limits inclusive", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>65535</NewPort><NewLease>604800</NewLease>"
	  "<NewOffset>-100</NewOffset><NewFlag>YES</NewFlag><NewText/>", 200,
	  "<OutPort>65535</OutPort><OutLease>604800</OutLease><OutOffset>-100</OutOffset>" },
	{ "no arguments", NS2, "NoArgs", "", 200, "<u:NoArgsResponse xmlns:u=\"" NS2 "\"></u:NoArgsResponse>" },

	{ "unknown action", NS2, "Nope", "", 500, "<errorCode>401</errorCode><errorDescription>Invalid Action</errorDescription>" },
	{ "v2 action, v1 namespace (tolerated)", NS1, "V2Only", "", 200, "<u:V2OnlyResponse xmlns:u=\"urn:test:service:Test:1\">" },
	{ "v2 action, v2 namespace", NS2, "V2Only", "", 200, "<u:V2OnlyResponse" },
	{ "version 3", TYPE ":3", "NoArgs", "", 500, "<errorCode>401</errorCode>" },
	{ "version 0", TYPE ":0", "NoArgs", "", 500, "<errorCode>401</errorCode>" },
	{ "no version", TYPE, "NoArgs", "", 500, "<errorCode>401</errorCode>" },
	{ "other service", "urn:test:service:Other:1", "NoArgs", "", 500, "<errorCode>401</errorCode>" },
	{ "case of the action", NS2, "noargs", "", 500, "<errorCode>401</errorCode>" },

	{ "missing argument", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag>", 500, "<errorCode>402</errorCode><errorDescription>Invalid Args</errorDescription>" },
	{ "unknown argument", NS2, "Echo", GOOD "<NewExtra/>", 500, "<errorCode>402</errorCode>" },
	{ "repeated argument", NS2, "Echo", GOOD "<NewPort>1</NewPort>", 500, "<errorCode>402</errorCode>" },
	{ "OUT argument sent", NS2, "Echo", GOOD "<OutPort>1</OutPort>", 500, "<errorCode>402</errorCode>" },
	{ "argument to NoArgs", NS2, "NoArgs", "<X/>", 500, "<errorCode>402</errorCode>" },
	{ "argument name case", NS2, "Echo",
	  "<NewProto>TCP</NewProto><newport>1</newport><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "ui2 too big", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>65536</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "ui2 empty", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort/><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "ui2 negative", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>-1</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "ui2 with space", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>80 </NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "ui2 hex", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>0x50</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "ui4 too big", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>4294967296</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "i4 lone sign", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>-</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "i4 double sign", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>-+1</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "i4 overflow", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>-2147483649</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "boolean word", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>on</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },
	{ "402 before 601", NS2, "Echo",
	  "<NewProto>ICMP</NewProto><NewPort>x</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>402</errorCode>" },

	{ "not in allowed list", NS2, "Echo",
	  "<NewProto>ICMP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500,
	  "<errorCode>601</errorCode><errorDescription>Argument Value Out of Range</errorDescription>" },
	{ "allowed list, empty", NS2, "Echo",
	  "<NewProto/><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>601</errorCode>" },
	{ "above range", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>604801</NewLease><NewOffset>0</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>601</errorCode>" },
	{ "below signed range", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>-101</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>601</errorCode>" },
	{ "above signed range", NS2, "Echo",
	  "<NewProto>TCP</NewProto><NewPort>1</NewPort><NewLease>1</NewLease><NewOffset>101</NewOffset>"
	  "<NewFlag>1</NewFlag><NewText/>", 500, "<errorCode>601</errorCode>" },

	{ "empty number read as 0 (ARG_EMPTY_ZERO)", NS2, "Tolerant",
	  "<NewPort></NewPort><NewProto>udp</NewProto><NewLease>1</NewLease>", 200,
	  "<OutPort>0</OutPort><OutText>[UDP]</OutText>" },
	{ "empty allowed-list value to the handler (ARG_EMPTY_HANDLER)", NS2, "Tolerant",
	  "<NewPort>7</NewPort><NewProto/><NewLease>1</NewLease>", 200,
	  "<OutPort>7</OutPort><OutText>[]</OutText>" },
	{ "tolerances are per argument: an empty ui4 elsewhere", NS2, "Tolerant",
	  "<NewPort>7</NewPort><NewProto>TCP</NewProto><NewLease/>", 500, "<errorCode>402</errorCode>" },
	{ "a space is not empty (ARG_EMPTY_ZERO)", NS2, "Tolerant",
	  "<NewPort> </NewPort><NewProto>TCP</NewProto><NewLease>1</NewLease>", 500,
	  "<errorCode>402</errorCode>" },
	{ "a bad number still 402 (ARG_EMPTY_ZERO)", NS2, "Tolerant",
	  "<NewPort>x</NewPort><NewProto>TCP</NewProto><NewLease>1</NewLease>", 500,
	  "<errorCode>402</errorCode>" },
	{ "another value still 601 (ARG_EMPTY_HANDLER)", NS2, "Tolerant",
	  "<NewPort>7</NewPort><NewProto>ICMP</NewProto><NewLease>1</NewLease>", 500,
	  "<errorCode>601</errorCode>" },

	{ "handler error", NS2, "Fails", "", 500,
	  "<errorCode>714</errorCode><errorDescription>NoSuchEntryInArray</errorDescription>" },
	{ "handler forgets OUT", NS2, "Lazy", "", 500, "<errorCode>501</errorCode>" },
};

static void test_dispatch_table(void **state)
{
	char sa[256];
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		int status;

		snprintf(sa, sizeof(sa), "\"%s#%s\"", r->ns, r->action);
		status = run(sa, r->ns, r->action, r->args, &out);
		if (status != r->status || !strstr(out.p ? out.p : "", r->needle))
			fail_msg("%s: status %d (expected %d)\n%s\nexpected to contain\n%s", r->name,
				 status, r->status, out.p ? out.p : "", r->needle);
		if (status == 500)
			assert_non_null(strstr(out.p, "<faultcode>s:Client</faultcode>"
					       "<faultstring>UPnPError</faultstring><detail>"
					       "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"));
	}
	buf_free(&out);
}

static void test_soapaction_header(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(run(NS2 "#NoArgs", NS2, "NoArgs", "", &out), 200);
	assert_int_equal(run(NULL, NS2, "NoArgs", "", &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>401</errorCode>"));
	assert_int_equal(run("\"" NS1 "#NoArgs\"", NS2, "NoArgs", "", &out), 500);
	assert_int_equal(run("\"" NS2 "#Fails\"", NS2, "NoArgs", "", &out), 500);
	assert_int_equal(run("garbage", NS2, "NoArgs", "", &out), 500);
	buf_free(&out);
}

static void test_not_soap(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	buf_puts(&out, "stale");
	assert_int_equal(action_dispatch(NULL, &svc, "\"" NS2 "#NoArgs\"", STR_LIT("<a"),
					 &(struct ipaddr){ .family = AF_INET }, 0, &out), 400);
	assert_int_equal(out.len, 0);
	assert_int_equal(action_dispatch(NULL, &svc, "\"" NS2 "#NoArgs\"",
					 STR_LIT("<!DOCTYPE a><a/>"), &(struct ipaddr){ .family = AF_INET }, 0, &out), 400);
	assert_int_equal(action_dispatch(NULL, &svc, "\"" NS2 "#NoArgs\"", STR_NULL,
					 &(struct ipaddr){ .family = AF_INET }, 0, &out), 400);
	assert_int_equal(action_dispatch(NULL, &svc, "\"" NS2 "#NoArgs\"", STR_LIT("<a/>"),
					 &(struct ipaddr){ .family = AF_INET }, 0, &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>401</errorCode>"));
	buf_free(&out);
}

static void test_query(void **state)
{
	static const char qsv[] = "\"" UPNP_CONTROL_NS "#QueryStateVariable\"";
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(run(qsv, UPNP_CONTROL_NS, "QueryStateVariable",
			     "<u:varName>Count</u:varName>", &out), 200);
	assert_non_null(strstr(out.p, "<u:QueryStateVariableResponse xmlns:u=\"" UPNP_CONTROL_NS
				      "\"><return>42&lt;</return></u:QueryStateVariableResponse>"));
	assert_int_equal(run(qsv, UPNP_CONTROL_NS, "QueryStateVariable",
			     "<u:varName>Flag</u:varName>", &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>404</errorCode><errorDescription>Invalid Var"));
	assert_int_equal(run(qsv, UPNP_CONTROL_NS, "QueryStateVariable",
			     "<u:varName>Nope</u:varName>", &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>404</errorCode>"));
	assert_int_equal(run(qsv, UPNP_CONTROL_NS, "QueryStateVariable", "", &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>402</errorCode>"));
	assert_int_equal(run(qsv, UPNP_CONTROL_NS, "QueryStateVariable",
			     "<u:varName>Count</u:varName><x/>", &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>402</errorCode>"));
	assert_int_equal(run(NULL, UPNP_CONTROL_NS, "QueryStateVariable",
			     "<u:varName>Count</u:varName>", &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>401</errorCode>"));
	buf_free(&out);
}

static void test_error_text(void **state)
{
	static const struct {
		int code;
		const char *text;
	} rows_[] = {
		{ 401, "Invalid Action" }, { 402, "Invalid Args" }, { 501, "Action Failed" },
		{ 600, "Argument Value Invalid" }, { 601, "Argument Value Out of Range" },
		{ 606, "Action not authorized" }, { 714, "NoSuchEntryInArray" },
		{ 718, "ConflictInMappingEntry" }, { 728, "NoPortMapsAvailable" },
		{ 733, "InconsistentParameters" }, { 999, "Error" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows_) / sizeof(rows_[0]); i++)
		assert_string_equal(upnp_error_text(rows_[i].code), rows_[i].text);
}

/* WANCommonInterfaceConfig counters are ui4: they wrap modulo 2^32. */
static int fake_wan_status(struct backend *b, struct backend_wan *ret)
{
	(void)b;
	memset(ret, 0, sizeof(*ret));
	ret->link_up = false;
	ret->bytes_sent = (5ull << 32) + 7;
	ret->bytes_received = 0xffffffffull;
	ret->packets_sent = 1ull << 32;
	ret->packets_received = 12345;
	ret->up_bitrate = 1000;
	ret->down_bitrate = 2000;
	return 0;
}

static const struct backend_ops fake_ops = { .name = "fake", .wan_status = fake_wan_status };

static void test_wancommon_counters(void **state)
{
	static const struct {
		const char *action, *needle;
	} cases[] = {
		{ "GetTotalBytesSent", "<NewTotalBytesSent>7</NewTotalBytesSent>" },
		{ "GetTotalBytesReceived", "<NewTotalBytesReceived>4294967295</NewTotalBytesReceived>" },
		{ "GetTotalPacketsSent", "<NewTotalPacketsSent>0</NewTotalPacketsSent>" },
		{ "GetTotalPacketsReceived", "<NewTotalPacketsReceived>12345</NewTotalPacketsReceived>" },
		{ "GetCommonLinkProperties", "<NewWANAccessType>Ethernet</NewWANAccessType>"
		  "<NewLayer1UpstreamMaxBitRate>1000</NewLayer1UpstreamMaxBitRate>"
		  "<NewLayer1DownstreamMaxBitRate>2000</NewLayer1DownstreamMaxBitRate>"
		  "<NewPhysicalLinkStatus>Down</NewPhysicalLinkStatus>" },
	};
	static const char ns[] = "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1";
	static struct config cfg;       /* the defaults: the backend's link values */
	struct engine e;
	struct buf body, out;
	char sa[128];
	size_t i;

	(void)state;
	memset(&e, 0, sizeof(e));
	config_defaults(&cfg);
	e.cfg = &cfg;
	e.backend.ops = &fake_ops;
	buf_init(&body, 4096);
	buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&body);
		buf_printf(&body, ENV_OPEN "<u:%s xmlns:u=\"%s\"/>" ENV_CLOSE, cases[i].action, ns);
		snprintf(sa, sizeof(sa), "\"%s#%s\"", ns, cases[i].action);
		assert_int_equal(action_dispatch(&e, wancommon_service(), sa,
						 str_from(body.p, body.len), &(struct ipaddr){ .family = AF_INET }, 0, &out),
				 200);
		if (!strstr(out.p, cases[i].needle))
			fail_msg("%s: %s", cases[i].action, out.p);
	}
	buf_free(&body);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_table),
		cmocka_unit_test(test_soapaction_header),
		cmocka_unit_test(test_not_soap),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_wancommon_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
