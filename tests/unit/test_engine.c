/*
 * test_engine.c - engine.c: the WAN connection wired to the sim backend's
 * simulated link (WANIPConnection:2 2.6), the change events it raises
 * (2.4.2, 2.4.3, WANCommonInterfaceConfig's PhysicalLinkStatus), the
 * deadlines and ticks that drive it, the external address while the
 * connection is down (2.3.13) and connection_control.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "core/policy.h"
#include "core/wanconn.h"
#include "engine.h"
#include "svc/action.h"
#include "fixture.h"
#include "svc/wanipconn.h"

#define T0 FX_T0

struct fx {
	struct fx_engine x;         /* x.chg: the engine_changed() sets, in order */
};

/* An engine on the sim backend with extra configuration lines. */
static struct fx *fx_new(const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_engine_init(&f->x, extra, FX_NO_LAN);
	return f;
}

static void fx_free(struct fx *f)
{
	fx_engine_fini(&f->x);
	free(f);
}

static enum wanconn_status status(const struct fx *f)
{
	return wanconn_status(f->x.e.wan);
}

static const char *ext_ip(struct fx *f)
{
	static char ip[INET_ADDRSTRLEN];

	engine_external_ip(&f->x.e, ip);
	return ip;
}

static void advance(struct fx *f, uint64_t ms)
{
	f->x.now += ms;
	engine_tick(&f->x.e);
}

/* --- Start-up ----------------------------------------------------------- */

static void test_start_connected(void **state)
{
	struct fx *f = fx_new("");

	(void)state;
	assert_int_equal(status(f), WANCONN_CONNECTED);
	assert_int_equal(wanconn_last_error(f->x.e.wan), WANCONN_LASTERR_NONE);
	assert_true(f->x.e.wan_link_up);
	assert_true(wanconn_termination_supported(f->x.e.wan));
	assert_string_equal(wanconn_possible_types(f->x.e.wan), "IP_Routed");
	assert_string_equal(ext_ip(f), "203.0.113.1");
	assert_int_equal(engine_next_deadline(&f->x.e), 0);
	advance(f, 90000);
	assert_int_equal(wanconn_uptime(f->x.e.wan, f->x.now), 90);
	assert_int_equal(f->x.chg.n, 0);
	fx_free(f);
}

static void test_config_applied(void **state)
{
	struct fx *f = fx_new("connection_type_read_only = yes\nauto_disconnect_time = 7\n"
			      "idle_disconnect_time = 8\nwarn_disconnect_delay = 9\n"
			      "sim_ip_bridged = yes");

	(void)state;
	assert_true(wanconn_type_read_only(f->x.e.wan));
	assert_int_equal(wanconn_auto_disconnect_time(f->x.e.wan), 7);
	assert_int_equal(wanconn_idle_disconnect_time(f->x.e.wan), 8);
	assert_int_equal(wanconn_warn_disconnect_delay(f->x.e.wan), 9);
	assert_string_equal(wanconn_possible_types(f->x.e.wan), "IP_Routed,IP_Bridged");
	/* the auto timer (7 s), earlier than the idle one, is the next deadline */
	assert_int_equal(engine_next_deadline(&f->x.e), T0 + 7000);
	fx_free(f);
}

/* --- The idle timer sees WAN traffic --------------------------------------- */

static uint64_t fake_packets;

static int fake_wan_packets(struct backend *b, uint64_t *ret)
{
	(void)b;
	*ret = fake_packets;
	return 0;
}

/*
 * IdleDisconnectTime 8 s on a backend that counts packets: traffic every
 * 2 s keeps the connection up well past 8 s; once it stops, the
 * connection goes down 8 s after the last sample that saw it grow
 * (at the latest: samples are at most 2 s apart here, a quarter of it).
 */
static void test_idle_sees_traffic(void **state)
{
	struct fx *f = fx_new("idle_disconnect_time = 8");
	struct backend_ops ops = *f->x.e.backend.ops;
	uint64_t quiet_from;
	int i;

	(void)state;
	ops.wan_packets = fake_wan_packets;
	f->x.e.backend.ops = &ops;
	fake_packets = 100;
	advance(f, 0);                  /* the first sample: a baseline */
	for (i = 0; i < 15; i++) {      /* 30 s of traffic */
		fake_packets += 7;
		advance(f, 2000);
		assert_int_equal(status(f), WANCONN_CONNECTED);
	}
	quiet_from = f->x.now;
	for (i = 0; i < 100 && status(f) == WANCONN_CONNECTED; i++) {
		uint64_t next = engine_next_deadline(&f->x.e);

		assert_true(next > f->x.now);
		advance(f, next - f->x.now);
	}
	assert_int_not_equal(status(f), WANCONN_CONNECTED);
	assert_true(f->x.now >= quiet_from + 6000 && f->x.now <= quiet_from + 8000);
	assert_int_equal(wanconn_last_error(f->x.e.wan), WANCONN_LASTERR_IDLE_DISCONNECT);
	f->x.e.backend.ops = &backend_sim_ops;   /* not the copy on this stack */
	fx_free(f);
}

/* Without wan_packets (the sim backend) the idle timer runs from connect. */
static void test_idle_without_counters(void **state)
{
	struct fx *f = fx_new("idle_disconnect_time = 8");

	(void)state;
	assert_int_equal(engine_next_deadline(&f->x.e), T0 + 8000);
	advance(f, 8000);
	assert_int_not_equal(status(f), WANCONN_CONNECTED);
	fx_free(f);
}

/* --- Change events -------------------------------------------------------- */

/*
 * ForceTermination with a synchronous sim: Connected -> Disconnecting
 * (ConnectionStatus and ExternalIPAddress), the link goes down
 * (PhysicalLinkStatus), Disconnecting -> Disconnected (ConnectionStatus
 * only: the address was already gone).
 */
static void test_changes_force_termination(void **state)
{
	struct fx *f = fx_new("");

	(void)state;
	assert_int_equal(wanconn_force_termination(f->x.e.wan, f->x.now), 0);
	assert_int_equal(status(f), WANCONN_DISCONNECTED);
	assert_int_equal(f->x.chg.n, 3);
	assert_int_equal(f->x.chg.v[0], ENGINE_CHG_CONNECTION | ENGINE_CHG_EXTERNAL_IP);
	assert_int_equal(f->x.chg.v[1], ENGINE_CHG_WAN_LINK);
	assert_int_equal(f->x.chg.v[2], ENGINE_CHG_CONNECTION);
	assert_false(f->x.e.wan_link_up);
	assert_string_equal(ext_ip(f), "");
	assert_int_equal(wanconn_last_error(f->x.e.wan), WANCONN_LASTERR_FORCED_DISCONNECT);

	/* and back: Connecting, the link comes up (inside wan_up: the machine
	 * queues that and tells Connected after Connecting), Connected with
	 * an address */
	f->x.chg.n = 0;
	assert_int_equal(wanconn_request_connection(f->x.e.wan, f->x.now), 0);
	assert_int_equal(status(f), WANCONN_CONNECTED);
	assert_int_equal(f->x.chg.n, 3);
	assert_int_equal(f->x.chg.v[0], ENGINE_CHG_CONNECTION);
	assert_int_equal(f->x.chg.v[1], ENGINE_CHG_WAN_LINK);
	assert_int_equal(f->x.chg.v[2], ENGINE_CHG_CONNECTION | ENGINE_CHG_EXTERNAL_IP);
	assert_true(f->x.e.wan_link_up);
	assert_string_equal(ext_ip(f), "203.0.113.1");
	fx_free(f);
}

/* PendingDisconnect keeps the address (2.3.5.4: packets still flow). */
static void test_pending_keeps_address(void **state)
{
	struct fx *f = fx_new("warn_disconnect_delay = 5");

	(void)state;
	assert_int_equal(wanconn_request_termination(f->x.e.wan, f->x.now), 0);
	assert_int_equal(status(f), WANCONN_PENDING_DISCONNECT);
	assert_int_equal(f->x.chg.n, 1);
	assert_int_equal(f->x.chg.v[0], ENGINE_CHG_CONNECTION);
	assert_string_equal(ext_ip(f), "203.0.113.1");
	assert_int_equal(engine_next_deadline(&f->x.e), T0 + 5000);
	advance(f, 4999);
	assert_int_equal(status(f), WANCONN_PENDING_DISCONNECT);
	advance(f, 1);
	assert_int_equal(status(f), WANCONN_DISCONNECTED);
	assert_int_equal(wanconn_last_error(f->x.e.wan), WANCONN_LASTERR_USER_DISCONNECT);
	assert_string_equal(ext_ip(f), "");
	fx_free(f);
}

/* --- Deadlines and ticks: the sim's delayed completions ----------------- */

static void test_delayed_link(void **state)
{
	struct fx *f = fx_new("sim_connect_delay = 5000\nsim_disconnect_delay = 2000");

	(void)state;
	assert_int_equal(wanconn_force_termination(f->x.e.wan, f->x.now), 0);
	assert_int_equal(status(f), WANCONN_DISCONNECTING);
	assert_true(f->x.e.wan_link_up);
	/* the sim's completion comes before the 60 s disconnect timeout */
	assert_int_equal(engine_next_deadline(&f->x.e), T0 + 2000);
	advance(f, 1999);
	assert_int_equal(status(f), WANCONN_DISCONNECTING);
	advance(f, 1);
	assert_int_equal(status(f), WANCONN_DISCONNECTED);
	assert_false(f->x.e.wan_link_up);
	assert_int_equal(engine_next_deadline(&f->x.e), 0);

	assert_int_equal(wanconn_request_connection(f->x.e.wan, f->x.now), 0);
	assert_int_equal(status(f), WANCONN_CONNECTING);
	assert_int_equal(engine_next_deadline(&f->x.e), T0 + 2000 + 5000);
	assert_string_equal(ext_ip(f), "");
	advance(f, 4999);
	assert_int_equal(status(f), WANCONN_CONNECTING);
	advance(f, 1);
	assert_int_equal(status(f), WANCONN_CONNECTED);
	assert_true(f->x.e.wan_link_up);
	assert_int_equal(engine_next_deadline(&f->x.e), 0);
	advance(f, 3000);
	assert_int_equal(wanconn_uptime(f->x.e.wan, f->x.now), 3);
	fx_free(f);
}

/* A link slower than the connect timeout: the timeout wins, the attempt
 * is aborted, and the late completion never arrives. */
static void test_connect_timeout(void **state)
{
	struct fx *f = fx_new("sim_connect_delay = 90000");

	(void)state;
	assert_int_equal(wanconn_force_termination(f->x.e.wan, f->x.now), 0);
	assert_int_equal(wanconn_request_connection(f->x.e.wan, f->x.now), 0);
	assert_int_equal(engine_next_deadline(&f->x.e),
			 T0 + WANCONN_CONNECT_TIMEOUT_DEFAULT_S * 1000u);
	advance(f, WANCONN_CONNECT_TIMEOUT_DEFAULT_S * 1000u);
	assert_int_equal(status(f), WANCONN_DISCONNECTED);
	assert_int_equal(wanconn_last_error(f->x.e.wan), WANCONN_LASTERR_UNKNOWN);
	assert_int_equal(engine_next_deadline(&f->x.e), 0);
	advance(f, 60000);
	assert_int_equal(status(f), WANCONN_DISCONNECTED);
	fx_free(f);
}

/* sim_connect_fail: synchronous failure -> 704 and ERROR_NO_CARRIER. */
static void test_connect_fail(void **state)
{
	struct fx *f = fx_new("sim_connect_fail = yes");

	(void)state;
	assert_int_equal(wanconn_force_termination(f->x.e.wan, f->x.now), 0);
	assert_int_equal(wanipconn_error_code(wanconn_request_connection(f->x.e.wan, f->x.now)),
			 UPNP_E_CONNECTION_SETUP_FAILED);
	assert_int_equal(status(f), WANCONN_DISCONNECTED);
	assert_int_equal(wanconn_last_error(f->x.e.wan), WANCONN_LASTERR_NO_CARRIER);
	assert_false(f->x.e.wan_link_up);
	assert_string_equal(ext_ip(f), "");
	fx_free(f);
}

/* --- Backend reports ------------------------------------------------------ */

struct event_row {
	enum backend_link_event ev;
	enum backend_link_cause cause;
	enum wanconn_status want_status;
	enum wanconn_lasterror want_error;
};

/* Each row against a Connected link. */
static const struct event_row event_rows[] = {
	/* a late or repeated report changes nothing */
	{ BACKEND_LINK_UP, BACKEND_CAUSE_NONE, WANCONN_CONNECTED, WANCONN_LASTERR_NONE },
	{ BACKEND_LINK_DOWN_DONE, BACKEND_CAUSE_NONE, WANCONN_CONNECTED, WANCONN_LASTERR_NONE },
	/* the link lost: straight to Disconnected, the cause mapped */
	{ BACKEND_LINK_FAILED, BACKEND_CAUSE_NONE, WANCONN_DISCONNECTED,
	  WANCONN_LASTERR_ISP_DISCONNECT },
	{ BACKEND_LINK_FAILED, BACKEND_CAUSE_NO_CARRIER, WANCONN_DISCONNECTED,
	  WANCONN_LASTERR_NO_CARRIER },
	{ BACKEND_LINK_FAILED, BACKEND_CAUSE_IP_CONFIGURATION, WANCONN_DISCONNECTED,
	  WANCONN_LASTERR_IP_CONFIGURATION },
	{ BACKEND_LINK_FAILED, BACKEND_CAUSE_ISP_DISCONNECT, WANCONN_DISCONNECTED,
	  WANCONN_LASTERR_ISP_DISCONNECT },
};

static void test_wan_events(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(event_rows) / sizeof(event_rows[0]); i++) {
		const struct event_row *r = &event_rows[i];
		struct fx *f = fx_new("");

		engine_wan_event(&f->x.e, r->ev, r->cause);
		if (status(f) != r->want_status || wanconn_last_error(f->x.e.wan) != r->want_error)
			fail_msg("row %zu: %s / %s", i, wanconn_status_str(status(f)),
				 wanconn_lasterror_str(wanconn_last_error(f->x.e.wan)));
		if (r->want_status == WANCONN_DISCONNECTED) {
			assert_int_equal(f->x.chg.n, 1);
			assert_int_equal(f->x.chg.v[0], ENGINE_CHG_CONNECTION | ENGINE_CHG_EXTERNAL_IP);
		} else {
			assert_int_equal(f->x.chg.n, 0);
		}
		fx_free(f);
	}
}

/* --- connection_control --------------------------------------------------- */

struct control_row {
	const char *config;
	const char *peer;
	bool want;
};

static const struct control_row control_rows[] = {
	{ "", "192.168.1.20", false },
	{ "connection_control = all", "192.168.1.20", true },
	{ "connection_control = all", "10.9.8.7", true },
	{ "connection_control = 192.168.1.20", "192.168.1.20", true },
	{ "connection_control = 192.168.1.20", "192.168.1.21", false },
	{ "connection_control = 192.168.1.20", "192.168.1.2", false },
	{ "connection_control = 192.168.1.40/28", "192.168.1.32", true },
	{ "connection_control = 192.168.1.40/28", "192.168.1.47", true },
	{ "connection_control = 192.168.1.40/28", "192.168.1.48", false },
	{ "connection_control = 192.168.1.40/28", "192.168.1.31", false },
	{ "connection_control = 10.0.0.1\nconnection_control = 192.168.0.0/16", "192.168.200.1", true },
	{ "connection_control = 10.0.0.1\nconnection_control = 192.168.0.0/16", "10.0.0.1", true },
	{ "connection_control = 10.0.0.1\nconnection_control = 192.168.0.0/16", "10.0.0.2", false },
	{ "connection_control = 0.0.0.0/0", "172.16.5.4", true },
	{ "connection_control = 192.168.1.21/31", "192.168.1.20", true },
	{ "connection_control = 192.168.1.21/31", "192.168.1.22", false },
	/* An IPv6 control point: only "all" names it (the entries are IPv4). */
	{ "connection_control = all", "2001:db8:1::20", true },
	{ "connection_control = 0.0.0.0/0", "2001:db8:1::20", false },
	{ "connection_control = 0.0.0.0/0", "::ffff:10.1.2.3", true },
	{ "", "fe80::20", false },
};

static void test_connection_allowed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(control_rows) / sizeof(control_rows[0]); i++) {
		const struct control_row *r = &control_rows[i];
		struct fx *f = fx_new(r->config);
		struct ipaddr peer;

		assert_int_equal(ipaddr_parse(str_cstr(r->peer), &peer), 0);
		if (engine_connection_allowed(&f->x.e, &peer) != r->want)
			fail_msg("row %zu: '%s' %s: want %d", i, r->config, r->peer, r->want);
		fx_free(f);
	}
}

/* ---- change subscribers ---- */

/* A subscriber that records its calls and, on its first call, may add or
 * remove others (or itself). */
struct sub {
	struct fx *f;
	unsigned calls;
	char name;
	struct sub *drop, *join;        /* unsubscribe / subscribe on the first call */
	char *log;                      /* the order of calls, one letter each */
};

static void sub_on(struct engine *e, unsigned changes, void *arg)
{
	struct sub *s = arg;
	size_t n = strlen(s->log);

	(void)changes;
	s->log[n] = s->name;
	s->log[n + 1] = '\0';
	if (s->calls++ > 0)
		return;
	if (s->drop)
		engine_unsubscribe(e, sub_on, s->drop);
	if (s->join)
		assert_int_equal(engine_subscribe(e, sub_on, s->join), 0);
}

/*
 * Subscribers hear of changes in the order they came; one removed during
 * a notification (by another, or by itself) is not called again, not
 * even by that notification; one added during it hears the next change
 * only; each leaves on its own, in any order.
 */
static void test_subscribers(void **state)
{
	struct fx *f = fx_new("");
	char log[64] = "";
	struct sub a = { f, 0, 'a', NULL, NULL, log }, b = { f, 0, 'b', NULL, NULL, log },
		   c = { f, 0, 'c', NULL, NULL, log }, d = { f, 0, 'd', NULL, NULL, log };
	struct engine *e = &f->x.e;

	(void)state;
	a.drop = &b;                    /* a removes b before b's turn */
	a.join = &d;                    /* ... and adds d */
	c.drop = &c;                    /* c removes itself */
	assert_int_equal(engine_subscribe(e, sub_on, &a), 0);
	assert_int_equal(engine_subscribe(e, sub_on, &b), 0);
	assert_int_equal(engine_subscribe(e, sub_on, &c), 0);
	assert_int_equal(engine_subscribe(e, sub_on, &a), -EEXIST);
	engine_changed(e, ENGINE_CHG_MAPPINGS);
	assert_string_equal(log, "ac");
	engine_changed(e, ENGINE_CHG_MAPPINGS);
	assert_string_equal(log, "acad");
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	/* Leave in any order; the fixture's own counter still hears. */
	engine_unsubscribe(e, sub_on, &a);
	engine_unsubscribe(e, sub_on, &a);              /* twice: ignored */
	engine_changed(e, ENGINE_CHG_CONNECTION);
	assert_string_equal(log, "acadd");
	engine_unsubscribe(e, sub_on, &d);
	engine_changed(e, ENGINE_CHG_CONNECTION);
	assert_string_equal(log, "acadd");
	assert_int_equal(f->x.chg.n, 4);
	assert_int_equal(f->x.chg.last, ENGINE_CHG_CONNECTION);
	fx_free(f);
}

/* No more than ENGINE_MAX_SUBSCRIBERS, and a slot freed is free again. */
static void test_subscribers_full(void **state)
{
	struct fx *f = fx_new("");
	char log[4] = "";
	struct sub v[ENGINE_MAX_SUBSCRIBERS];
	size_t i;

	(void)state;
	memset(v, 0, sizeof(v));
	for (i = 0; i + 1 < ENGINE_MAX_SUBSCRIBERS; i++) {     /* the fixture holds one */
		v[i].log = log;
		assert_int_equal(engine_subscribe(&f->x.e, sub_on, &v[i]), 0);
	}
	v[i].log = log;
	assert_int_equal(engine_subscribe(&f->x.e, sub_on, &v[i]), -ENOSPC);
	engine_unsubscribe(&f->x.e, sub_on, &v[0]);
	assert_int_equal(engine_subscribe(&f->x.e, sub_on, &v[i]), 0);
	fx_free(f);
}

/* --- Reload -------------------------------------------------------------- */

/* engine_reload() takes the new configuration whole: the engine reads
 * it from then on, its policy applies (secure_mode off: a control point
 * may map to another host), the old one is no longer referenced. */
static void test_reload_swaps(void **state)
{
	struct fx *f = fx_new("secure_mode = yes\nmax_mappings_per_client = 3");
	struct config *next = malloc(sizeof(*next));
	const char *text = "lan_interface = lan0\nuuid = 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab\n"
			   "sim_router_ports = no\nsecure_mode = no\nmax_mappings_per_client = 7\n"
			   "friendly_name = next\n";
	char err[256];

	(void)state;
	assert_non_null(next);
	if (config_parse("t.conf", text, strlen(text), next, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(f->x.e.cfg == &f->x.cfg);
	assert_true(policy_secure(f->x.e.policy));
	assert_true(engine_reload(&f->x.e, next, err, sizeof(err)) >= 0);
	assert_true(f->x.e.cfg == next);
	assert_false(policy_secure(f->x.e.policy));
	memset(&f->x.cfg, 0xa5, sizeof(f->x.cfg));  /* the old one is gone */
	assert_string_equal(f->x.e.cfg->friendly_name, "next");
	fx_free(f);
	free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_connected),
		cmocka_unit_test(test_config_applied),
		cmocka_unit_test(test_changes_force_termination),
		cmocka_unit_test(test_pending_keeps_address),
		cmocka_unit_test(test_delayed_link),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_connect_fail),
		cmocka_unit_test(test_wan_events),
		cmocka_unit_test(test_connection_allowed),
		cmocka_unit_test(test_idle_sees_traffic),
		cmocka_unit_test(test_idle_without_counters),
		cmocka_unit_test(test_subscribers),
		cmocka_unit_test(test_subscribers_full),
		cmocka_unit_test(test_reload_swaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
