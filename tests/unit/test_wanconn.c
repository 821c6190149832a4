/*
 * test_wanconn.c - core/wanconn: the WAN connection state machine of
 * WANIPConnection:2 (2.3.3 - 2.3.10, 2.5.1 - 2.5.12, 2.6): every
 * (state x action) pair, every timer path on a fake clock, Uptime, the
 * order of the callbacks and the value strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/wanconn.h"
#include "svc/action.h"
#include "svc/wanipconn.h"
#include "util/str.h"

/* --- Fixture: a recording driver ------------------------------------- */

enum drv_mode { DRV_ASYNC, DRV_SYNC_UP, DRV_SYNC_FAIL, DRV_SYNC_DOWN };

struct fx {
	struct wanconn *w;
	uint64_t now;
	enum drv_mode mode;
	unsigned ups, downs, changes;
	char log[512];
	/* on_status_change into this status calls RequestTermination() */
	int terminate_on;
	int nested_ret;
	enum wanconn_status seen_at_up;
};

static void logf_(struct fx *f, const char *s1, const char *s2, const char *s3)
{
	size_t len = strlen(f->log);

	snprintf(f->log + len, sizeof(f->log) - len, "%s%s%s;", s1, s2, s3);
}

static void cb_status(struct wanconn *w, enum wanconn_status o, enum wanconn_status n, void *arg)
{
	struct fx *f = arg;

	f->changes++;
	logf_(f, wanconn_status_str(o), ">", wanconn_status_str(n));
	if (f->terminate_on >= 0 && (int)n == f->terminate_on) {
		f->terminate_on = -1;
		f->nested_ret = wanipconn_error_code(wanconn_request_termination(w, f->now));
	}
}

static void cb_up(struct wanconn *w, void *arg)
{
	struct fx *f = arg;

	f->ups++;
	f->seen_at_up = wanconn_status(w);
	logf_(f, "up", "", "");
	if (f->mode == DRV_SYNC_UP)
		wanconn_link_up(w, f->now);
	else if (f->mode == DRV_SYNC_FAIL)
		wanconn_link_failed(w, f->now, WANCONN_LASTERR_NO_CARRIER);
}

static void cb_down(struct wanconn *w, void *arg)
{
	struct fx *f = arg;

	f->downs++;
	logf_(f, "down", "", "");
	if (f->mode == DRV_SYNC_DOWN)
		wanconn_link_down_done(w, f->now);
}

static const struct wanconn_ops fx_ops = {
	.on_status_change = cb_status,
	.on_bring_up = cb_up,
	.on_bring_down = cb_down,
};

static void fx_reset_log(struct fx *f)
{
	f->ups = f->downs = f->changes = 0;
	f->log[0] = '\0';
}

static void fx_init(struct fx *f, const struct wanconn_config *cfg)
{
	memset(f, 0, sizeof(*f));
	f->terminate_on = -1;
	f->now = 1000;
	f->w = wanconn_new(cfg, &fx_ops, f);
	assert_non_null(f->w);
}

static void fx_fini(struct fx *f)
{
	wanconn_free(f->w);
}

/* --- (state x action) table ------------------------------------------ */

enum { F_BRIDGED = 1, F_DISABLED = 2, F_NO_TERM = 4, F_READ_ONLY = 8, F_WARN0 = 16 };

enum act {
	A_REQ_CONN, A_REQ_TERM, A_FORCE_TERM, A_SET_TYPE, A_ENABLE_OFF, A_ENABLE_ON,
	A_LINK_UP, A_LINK_FAILED, A_LINK_DOWN_DONE, A_SET_AUTO10, A_SET_IDLE10,
};

#define ANY_ERR (-1)

struct sa_row {
	unsigned flags;
	enum wanconn_status from;
	enum act act;
	const char *arg;            /* SetConnectionType's text */
	int ret;
	enum wanconn_status to;
	int err;                    /* LastConnectionError afterwards, or ANY_ERR */
	unsigned ups, downs;
};

#define UNC WANCONN_UNCONFIGURED
#define CNG WANCONN_CONNECTING
#define CON WANCONN_CONNECTED
#define PND WANCONN_PENDING_DISCONNECT
#define DSG WANCONN_DISCONNECTING
#define DSC WANCONN_DISCONNECTED

static const struct sa_row sa_rows[] = {
	/* RequestConnection() 2.5.3, Table 2-16 */
	{ 0, UNC, A_REQ_CONN, NULL, UPNP_E_CONNECTION_NOT_CONFIGURED, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_REQ_CONN, NULL, UPNP_E_CONNECTION_SETUP_IN_PROGRESS, CNG, ANY_ERR, 0, 0 },
	{ 0, CON, A_REQ_CONN, NULL, 0, CON, WANCONN_LASTERR_NONE, 0, 0 },
	{ 0, PND, A_REQ_CONN, NULL, 0, CON, WANCONN_LASTERR_NONE, 0, 0 },
	{ 0, DSG, A_REQ_CONN, NULL, UPNP_E_DISCONNECT_IN_PROGRESS, DSG, ANY_ERR, 0, 0 },
	{ 0, DSC, A_REQ_CONN, NULL, 0, CNG, ANY_ERR, 1, 0 },
	{ F_BRIDGED, DSC, A_REQ_CONN, NULL, UPNP_E_INVALID_CONNECTION_TYPE, DSC, ANY_ERR, 0, 0 },
	{ F_BRIDGED, CON, A_REQ_CONN, NULL, UPNP_E_INVALID_CONNECTION_TYPE, CON, ANY_ERR, 0, 0 },
	{ F_DISABLED, DSC, A_REQ_CONN, NULL, UPNP_E_INTERNET_ACCESS_DISABLED, DSC, ANY_ERR, 0, 0 },
	{ F_DISABLED, DSG, A_REQ_CONN, NULL, UPNP_E_INTERNET_ACCESS_DISABLED, DSG, ANY_ERR, 0, 0 },
	{ F_DISABLED, UNC, A_REQ_CONN, NULL, UPNP_E_CONNECTION_NOT_CONFIGURED, UNC, ANY_ERR, 0, 0 },
	{ F_NO_TERM, DSC, A_REQ_CONN, NULL, 0, CNG, ANY_ERR, 1, 0 },

	/* RequestTermination() 2.5.4, Table 2-17 */
	{ 0, UNC, A_REQ_TERM, NULL, UPNP_E_CONNECTION_NOT_CONFIGURED, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_REQ_TERM, NULL, 0, DSG, WANCONN_LASTERR_COMMAND_ABORTED, 0, 1 },
	{ 0, CON, A_REQ_TERM, NULL, 0, PND, WANCONN_LASTERR_NONE, 0, 0 },
	{ F_WARN0, CON, A_REQ_TERM, NULL, 0, DSG, WANCONN_LASTERR_USER_DISCONNECT, 0, 1 },
	{ F_WARN0, CNG, A_REQ_TERM, NULL, 0, DSG, WANCONN_LASTERR_COMMAND_ABORTED, 0, 1 },
	{ 0, PND, A_REQ_TERM, NULL, UPNP_E_DISCONNECT_IN_PROGRESS, PND, ANY_ERR, 0, 0 },
	{ 0, DSG, A_REQ_TERM, NULL, UPNP_E_DISCONNECT_IN_PROGRESS, DSG, ANY_ERR, 0, 0 },
	{ 0, DSC, A_REQ_TERM, NULL, UPNP_E_CONNECTION_ALREADY_TERMINATED, DSC, ANY_ERR, 0, 0 },
	{ F_BRIDGED, CON, A_REQ_TERM, NULL, UPNP_E_INVALID_CONNECTION_TYPE, CON, ANY_ERR, 0, 0 },
	{ F_BRIDGED, DSC, A_REQ_TERM, NULL, UPNP_E_INVALID_CONNECTION_TYPE, DSC, ANY_ERR, 0, 0 },
	{ F_NO_TERM, CON, A_REQ_TERM, NULL, UPNP_E_ACTION_FAILED, CON, ANY_ERR, 0, 0 },
	{ F_NO_TERM, CNG, A_REQ_TERM, NULL, UPNP_E_ACTION_FAILED, CNG, ANY_ERR, 0, 0 },
	{ F_NO_TERM, DSC, A_REQ_TERM, NULL, UPNP_E_CONNECTION_ALREADY_TERMINATED, DSC, ANY_ERR, 0, 0 },

	/* ForceTermination() 2.5.5, Table 2-18 */
	{ 0, UNC, A_FORCE_TERM, NULL, UPNP_E_CONNECTION_NOT_CONFIGURED, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_FORCE_TERM, NULL, 0, DSG, WANCONN_LASTERR_COMMAND_ABORTED, 0, 1 },
	{ 0, CON, A_FORCE_TERM, NULL, 0, DSG, WANCONN_LASTERR_FORCED_DISCONNECT, 0, 1 },
	{ 0, PND, A_FORCE_TERM, NULL, 0, DSG, WANCONN_LASTERR_FORCED_DISCONNECT, 0, 1 },
	{ 0, DSG, A_FORCE_TERM, NULL, UPNP_E_DISCONNECT_IN_PROGRESS, DSG, ANY_ERR, 0, 0 },
	{ 0, DSC, A_FORCE_TERM, NULL, UPNP_E_CONNECTION_ALREADY_TERMINATED, DSC, ANY_ERR, 0, 0 },
	{ F_BRIDGED, CON, A_FORCE_TERM, NULL, UPNP_E_INVALID_CONNECTION_TYPE, CON, ANY_ERR, 0, 0 },
	{ F_NO_TERM, CON, A_FORCE_TERM, NULL, UPNP_E_ACTION_FAILED, CON, ANY_ERR, 0, 0 },

	/* SetConnectionType() 2.5.1, Table 2-13 */
	{ 0, UNC, A_SET_TYPE, "IP_Routed", 0, DSC, WANCONN_LASTERR_NONE, 0, 0 },
	{ 0, UNC, A_SET_TYPE, "Unconfigured", 0, UNC, WANCONN_LASTERR_NONE, 0, 0 },
	{ 0, CNG, A_SET_TYPE, "IP_Routed", UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED, CNG, ANY_ERR, 0, 0 },
	{ 0, CON, A_SET_TYPE, "IP_Routed", UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED, CON, ANY_ERR, 0, 0 },
	{ 0, PND, A_SET_TYPE, "IP_Routed", UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED, PND, ANY_ERR, 0, 0 },
	{ 0, DSG, A_SET_TYPE, "IP_Routed", UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED, DSG, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_TYPE, "IP_Routed", 0, DSC, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_TYPE, "Unconfigured", 0, UNC, WANCONN_LASTERR_NONE, 0, 0 },
	{ 0, DSC, A_SET_TYPE, "IP_Bridged", UPNP_E_ARG_VALUE_OUT_OF_RANGE, DSC, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_TYPE, "PPPoE", UPNP_E_ARG_VALUE_OUT_OF_RANGE, DSC, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_TYPE, "ip_routed", UPNP_E_ARG_VALUE_OUT_OF_RANGE, DSC, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_TYPE, " IP_Routed", UPNP_E_ARG_VALUE_OUT_OF_RANGE, DSC, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_TYPE, "", UPNP_E_ARG_VALUE_OUT_OF_RANGE, DSC, ANY_ERR, 0, 0 },
	{ 0, CON, A_SET_TYPE, "nonsense", UPNP_E_ARG_VALUE_OUT_OF_RANGE, CON, ANY_ERR, 0, 0 },
	{ F_BRIDGED, DSC, A_SET_TYPE, "IP_Routed", 0, DSC, ANY_ERR, 0, 0 },
	{ F_READ_ONLY, DSC, A_SET_TYPE, "IP_Routed", UPNP_E_READ_ONLY, DSC, ANY_ERR, 0, 0 },
	{ F_READ_ONLY, CON, A_SET_TYPE, "IP_Routed", UPNP_E_READ_ONLY, CON, ANY_ERR, 0, 0 },
	{ F_READ_ONLY, DSC, A_SET_TYPE, "bogus", UPNP_E_ARG_VALUE_OUT_OF_RANGE, DSC, ANY_ERR, 0, 0 },

	/* EnabledForInternet (2.6.2 cause 4): no warning, straight down */
	{ 0, UNC, A_ENABLE_OFF, NULL, 0, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_ENABLE_OFF, NULL, 0, DSG, WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET, 0, 1 },
	{ 0, CON, A_ENABLE_OFF, NULL, 0, DSG, WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET, 0, 1 },
	{ 0, PND, A_ENABLE_OFF, NULL, 0, DSG, WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET, 0, 1 },
	{ 0, DSG, A_ENABLE_OFF, NULL, 0, DSG, WANCONN_LASTERR_FORCED_DISCONNECT, 0, 0 },
	{ 0, DSC, A_ENABLE_OFF, NULL, 0, DSC, ANY_ERR, 0, 0 },
	{ 0, CON, A_ENABLE_ON, NULL, 0, CON, ANY_ERR, 0, 0 },
	{ F_DISABLED, DSC, A_ENABLE_ON, NULL, 0, DSC, ANY_ERR, 0, 0 },
	{ F_NO_TERM, CON, A_ENABLE_OFF, NULL, UPNP_E_ACTION_FAILED, CON, ANY_ERR, 0, 0 },
	{ F_NO_TERM, DSC, A_ENABLE_OFF, NULL, 0, DSC, ANY_ERR, 0, 0 },

	/* Timer settings 2.5.6 - 2.5.8 */
	{ 0, CON, A_SET_AUTO10, NULL, 0, CON, ANY_ERR, 0, 0 },
	{ 0, DSC, A_SET_IDLE10, NULL, 0, DSC, ANY_ERR, 0, 0 },
	{ F_NO_TERM, CON, A_SET_AUTO10, NULL, UPNP_E_ACTION_FAILED, CON, ANY_ERR, 0, 0 },
	{ F_NO_TERM, DSC, A_SET_IDLE10, NULL, UPNP_E_ACTION_FAILED, DSC, ANY_ERR, 0, 0 },

	/* Driver: link up */
	{ 0, UNC, A_LINK_UP, NULL, -EALREADY, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_LINK_UP, NULL, 0, CON, WANCONN_LASTERR_NONE, 0, 0 },
	{ 0, CON, A_LINK_UP, NULL, -EALREADY, CON, ANY_ERR, 0, 0 },
	{ 0, PND, A_LINK_UP, NULL, -EALREADY, PND, ANY_ERR, 0, 0 },
	{ 0, DSG, A_LINK_UP, NULL, -EALREADY, DSG, ANY_ERR, 0, 0 },
	{ 0, DSC, A_LINK_UP, NULL, 0, CON, WANCONN_LASTERR_NONE, 0, 0 },
	{ F_DISABLED, DSC, A_LINK_UP, NULL, 0, DSG, WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET, 0, 1 },

	/* Driver: link failed (default error) */
	{ 0, UNC, A_LINK_FAILED, NULL, -EALREADY, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_LINK_FAILED, NULL, 0, DSC, WANCONN_LASTERR_UNKNOWN, 0, 0 },
	{ 0, CON, A_LINK_FAILED, NULL, 0, DSC, WANCONN_LASTERR_ISP_DISCONNECT, 0, 0 },
	{ 0, PND, A_LINK_FAILED, NULL, 0, DSC, WANCONN_LASTERR_ISP_DISCONNECT, 0, 0 },
	{ 0, DSG, A_LINK_FAILED, NULL, 0, DSC, WANCONN_LASTERR_FORCED_DISCONNECT, 0, 0 },
	{ 0, DSC, A_LINK_FAILED, NULL, -EALREADY, DSC, ANY_ERR, 0, 0 },

	/* Driver: bring-down finished */
	{ 0, UNC, A_LINK_DOWN_DONE, NULL, -EALREADY, UNC, ANY_ERR, 0, 0 },
	{ 0, CNG, A_LINK_DOWN_DONE, NULL, -EALREADY, CNG, ANY_ERR, 0, 0 },
	{ 0, CON, A_LINK_DOWN_DONE, NULL, -EALREADY, CON, ANY_ERR, 0, 0 },
	{ 0, PND, A_LINK_DOWN_DONE, NULL, -EALREADY, PND, ANY_ERR, 0, 0 },
	{ 0, DSG, A_LINK_DOWN_DONE, NULL, 0, DSC, WANCONN_LASTERR_FORCED_DISCONNECT, 0, 0 },
	{ 0, DSC, A_LINK_DOWN_DONE, NULL, -EALREADY, DSC, ANY_ERR, 0, 0 },
};

static void row_config(const struct sa_row *r, struct wanconn_config *cfg)
{
	wanconn_config_default(cfg);
	cfg->warn_disconnect_s = 5;
	if (r->flags & F_BRIDGED) {
		cfg->type = WANCONN_TYPE_IP_BRIDGED;
		cfg->possible = WANCONN_TYPE_BIT(WANCONN_TYPE_IP_ROUTED) |
		                WANCONN_TYPE_BIT(WANCONN_TYPE_IP_BRIDGED);
	}
	if (r->flags & F_NO_TERM)
		cfg->termination_supported = false;
	if (r->flags & F_READ_ONLY)
		cfg->type_read_only = true;
	if (r->from == UNC)
		cfg->type = WANCONN_TYPE_UNCONFIGURED;
}

/* Drive a fresh module into status s by the ordinary paths. */
static void reach(struct fx *f, enum wanconn_status s)
{
	switch (s) {
	case UNC:
	case DSC:
		break;
	case CNG:
		assert_int_equal(wanconn_request_connection(f->w, f->now), 0);
		break;
	case CON:
		assert_int_equal(wanconn_link_up(f->w, f->now), 0);
		break;
	case PND:
		assert_int_equal(wanconn_link_up(f->w, f->now), 0);
		assert_int_equal(wanconn_request_termination(f->w, f->now), 0);
		break;
	case DSG:
		assert_int_equal(wanconn_link_up(f->w, f->now), 0);
		assert_int_equal(wanconn_force_termination(f->w, f->now), 0);
		break;
	default:
		fail();
	}
	assert_int_equal(wanconn_status(f->w), s);
}

static int run_act(struct fx *f, const struct sa_row *r)
{
	switch (r->act) {
	case A_REQ_CONN:
		return wanipconn_error_code(wanconn_request_connection(f->w, f->now));
	case A_REQ_TERM:
		return wanipconn_error_code(wanconn_request_termination(f->w, f->now));
	case A_FORCE_TERM:
		return wanipconn_error_code(wanconn_force_termination(f->w, f->now));
	case A_SET_TYPE:
		return wanipconn_error_code(wanconn_set_connection_type(f->w, str_cstr(r->arg)));
	case A_ENABLE_OFF:
		return wanipconn_error_code(wanconn_set_enabled_for_internet(f->w, false, f->now));
	case A_ENABLE_ON:
		return wanipconn_error_code(wanconn_set_enabled_for_internet(f->w, true, f->now));
	case A_LINK_UP:
		return wanconn_link_up(f->w, f->now);
	case A_LINK_FAILED:
		return wanconn_link_failed(f->w, f->now, WANCONN_LASTERR_NONE);
	case A_LINK_DOWN_DONE:
		return wanconn_link_down_done(f->w, f->now);
	case A_SET_AUTO10:
		return wanipconn_error_code(wanconn_set_auto_disconnect_time(f->w, 10));
	case A_SET_IDLE10:
		return wanipconn_error_code(wanconn_set_idle_disconnect_time(f->w, 10));
	}
	fail();
	return 0;
}

static void test_state_action_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sa_rows) / sizeof(sa_rows[0]); i++) {
		const struct sa_row *r = &sa_rows[i];
		struct wanconn_config cfg;
		struct fx f;
		int ret;

		row_config(r, &cfg);
		fx_init(&f, &cfg);
		reach(&f, r->from);
		if (r->flags & F_DISABLED)
			assert_int_equal(wanconn_set_enabled_for_internet(f.w, false, f.now), 0);
		if (r->flags & F_WARN0)
			assert_int_equal(wanconn_set_warn_disconnect_delay(f.w, 0), 0);
		fx_reset_log(&f);
		ret = run_act(&f, r);
		if (ret != r->ret || wanconn_status(f.w) != r->to ||
		    (r->err != ANY_ERR && (int)wanconn_last_error(f.w) != r->err) ||
		    f.ups != r->ups || f.downs != r->downs)
			fail_msg("row %zu (%s, act %d): ret %d status %s err %s ups %u downs %u",
			         i, wanconn_status_str(r->from), (int)r->act, ret,
			         wanconn_status_str(wanconn_status(f.w)),
			         wanconn_lasterror_str(wanconn_last_error(f.w)), f.ups, f.downs);
		/* A refused action changes nothing and tells nobody. */
		if (ret != 0)
			assert_int_equal(f.changes, 0);
		fx_fini(&f);
	}
}

/* --- Timers ---------------------------------------------------------- */

static void connected_fx(struct fx *f, uint32_t auto_s, uint32_t idle_s, uint32_t warn_s)
{
	struct wanconn_config cfg;

	wanconn_config_default(&cfg);
	cfg.auto_disconnect_s = auto_s;
	cfg.idle_disconnect_s = idle_s;
	cfg.warn_disconnect_s = warn_s;
	fx_init(f, &cfg);
	assert_int_equal(wanconn_request_connection(f->w, f->now), 0);
	assert_int_equal(wanconn_link_up(f->w, f->now), 0);
	fx_reset_log(f);
}

static void test_auto_disconnect_no_warn(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 10, 0, 0);                     /* up at 1000 ms */
	assert_int_equal(wanconn_next_deadline(f.w), 11000);
	wanconn_tick(f.w, 10999);
	assert_int_equal(wanconn_status(f.w), CON);
	assert_int_equal(f.changes, 0);
	f.now = 11000;
	wanconn_tick(f.w, f.now);
	assert_int_equal(wanconn_status(f.w), DSG);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_USER_DISCONNECT);
	assert_string_equal(f.log, "Connected>Disconnecting;down;");
	assert_int_equal(wanconn_next_deadline(f.w), 11000 + 60000);
	assert_int_equal(wanconn_link_down_done(f.w, 12000), 0);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(wanconn_next_deadline(f.w), 0);
	fx_fini(&f);
}

static void test_auto_disconnect_with_warn(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 10, 0, 5);
	wanconn_tick(f.w, 11000);
	assert_int_equal(wanconn_status(f.w), PND);
	/* still up during the warning: no bring-down yet, Uptime runs on */
	assert_int_equal(f.downs, 0);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NONE);
	assert_int_equal(wanconn_uptime(f.w, 13000), 12);
	assert_int_equal(wanconn_next_deadline(f.w), 16000);
	wanconn_tick(f.w, 15999);
	assert_int_equal(wanconn_status(f.w), PND);
	wanconn_tick(f.w, 16000);
	assert_int_equal(wanconn_status(f.w), DSG);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_USER_DISCONNECT);
	assert_string_equal(f.log,
	                    "Connected>PendingDisconnect;PendingDisconnect>Disconnecting;down;");
	assert_int_equal(wanconn_uptime(f.w, 16000), 0);
	fx_fini(&f);
}

static void test_late_tick_keeps_full_warning(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 10, 0, 5);
	/* the loop was late by far more than the warning: clients still get
	 * their full WarnDisconnectDelay, counted from the transition */
	wanconn_tick(f.w, 100000);
	assert_int_equal(wanconn_status(f.w), PND);
	assert_int_equal(wanconn_next_deadline(f.w), 105000);
	fx_fini(&f);
}

static void test_idle_disconnect_reset_by_activity(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 0, 30, 0);                     /* up at 1000 */
	assert_int_equal(wanconn_next_deadline(f.w), 31000);
	wanconn_activity(f.w, 20000);
	assert_int_equal(wanconn_next_deadline(f.w), 50000);
	wanconn_activity(f.w, 15000);                   /* older: no effect */
	assert_int_equal(wanconn_next_deadline(f.w), 50000);
	wanconn_tick(f.w, 31000);
	assert_int_equal(wanconn_status(f.w), CON);
	wanconn_tick(f.w, 50000);
	assert_int_equal(wanconn_status(f.w), DSG);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_IDLE_DISCONNECT);
	/* activity outside Connected is ignored */
	wanconn_activity(f.w, 60000);
	assert_int_equal(wanconn_status(f.w), DSG);
	fx_fini(&f);
}

static void test_idle_with_warn(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 0, 10, 3);
	wanconn_tick(f.w, 11000);
	assert_int_equal(wanconn_status(f.w), PND);
	wanconn_activity(f.w, 12000);   /* traffic does not cancel the warning */
	wanconn_tick(f.w, 14000);
	assert_int_equal(wanconn_status(f.w), DSG);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_IDLE_DISCONNECT);
	fx_fini(&f);
}

static void test_auto_idle_earliest_wins(void **state)
{
	struct fx f;

	(void)state;
	/* idle first */
	connected_fx(&f, 20, 10, 0);
	assert_int_equal(wanconn_next_deadline(f.w), 11000);
	wanconn_tick(f.w, 11000);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_IDLE_DISCONNECT);
	fx_fini(&f);
	/* auto first, despite traffic */
	connected_fx(&f, 10, 10, 0);
	wanconn_activity(f.w, 5000);
	assert_int_equal(wanconn_next_deadline(f.w), 11000);
	wanconn_tick(f.w, 11000);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_USER_DISCONNECT);
	fx_fini(&f);
	/* a tie goes to auto */
	connected_fx(&f, 10, 10, 0);
	wanconn_tick(f.w, 11000);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_USER_DISCONNECT);
	fx_fini(&f);
}

static void test_timer_changes_apply_to_running_timer(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 0, 0, 0);
	assert_int_equal(wanconn_next_deadline(f.w), 0);
	f.now = 50000;
	assert_int_equal(wanconn_set_auto_disconnect_time(f.w, 100), 0);
	assert_int_equal(wanconn_auto_disconnect_time(f.w), 100);
	/* measured from the transition to Connected (2.3.8), not the Set */
	assert_int_equal(wanconn_next_deadline(f.w), 101000);
	assert_int_equal(wanconn_set_auto_disconnect_time(f.w, 0), 0);
	assert_int_equal(wanconn_next_deadline(f.w), 0);
	assert_int_equal(wanconn_set_idle_disconnect_time(f.w, 7), 0);
	assert_int_equal(wanconn_idle_disconnect_time(f.w), 7);
	assert_int_equal(wanconn_next_deadline(f.w), 8000);   /* already due */
	assert_int_equal(wanconn_set_warn_disconnect_delay(f.w, 9), 0);
	assert_int_equal(wanconn_warn_disconnect_delay(f.w), 9);
	wanconn_tick(f.w, f.now);
	assert_int_equal(wanconn_status(f.w), PND);
	assert_int_equal(wanconn_next_deadline(f.w), 59000);
	/* a shorter warning shortens the running one */
	assert_int_equal(wanconn_set_warn_disconnect_delay(f.w, 2), 0);
	assert_int_equal(wanconn_next_deadline(f.w), 52000);
	fx_fini(&f);
}

static void test_pending_cancelled_by_request_connection(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 0, 10, 5);                     /* up at 1000 */
	wanconn_tick(f.w, 11000);
	assert_int_equal(wanconn_status(f.w), PND);
	f.now = 12000;
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	assert_int_equal(wanconn_status(f.w), CON);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NONE);
	assert_int_equal(f.ups, 0);                     /* the link never went down */
	assert_int_equal(f.downs, 0);
	assert_string_equal(f.log, "Connected>PendingDisconnect;PendingDisconnect>Connected;");
	/* Uptime counts from the real connection, the idle timer restarts */
	assert_int_equal(wanconn_uptime(f.w, 13000), 12);
	assert_int_equal(wanconn_next_deadline(f.w), 22000);
	wanconn_tick(f.w, 16000);                       /* the old warning's end */
	assert_int_equal(wanconn_status(f.w), CON);
	fx_fini(&f);

	/* the same for a client's RequestTermination(), and AutoDisconnectTime
	 * counts from the return to Connected */
	connected_fx(&f, 20, 0, 5);
	assert_int_equal(wanconn_request_termination(f.w, 2000), 0);
	assert_int_equal(wanconn_status(f.w), PND);
	assert_int_equal(wanconn_request_connection(f.w, 3000), 0);
	assert_int_equal(wanconn_next_deadline(f.w), 23000);
	fx_fini(&f);
}

static void test_connecting_timeout(void **state)
{
	struct wanconn_config cfg;
	struct fx f;

	(void)state;
	wanconn_config_default(&cfg);
	fx_init(&f, &cfg);
	f.now = 0;
	assert_int_equal(wanconn_request_connection(f.w, 0), 0);
	assert_int_equal(wanconn_next_deadline(f.w), 60000);
	wanconn_tick(f.w, 59999);
	assert_int_equal(wanconn_status(f.w), CNG);
	fx_reset_log(&f);
	wanconn_tick(f.w, 60000);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_UNKNOWN);
	/* the driver is told to abort; its completion report is ignored */
	assert_string_equal(f.log, "Connecting>Disconnected;down;");
	assert_int_equal(wanconn_link_down_done(f.w, 61000), -EALREADY);
	assert_int_equal(wanconn_next_deadline(f.w), 0);
	/* a new attempt is allowed */
	assert_int_equal(wanconn_request_connection(f.w, 70000), 0);
	assert_int_equal(wanconn_status(f.w), CNG);
	fx_fini(&f);

	/* configured timeout */
	cfg.connect_timeout_s = 5;
	fx_init(&f, &cfg);
	assert_int_equal(wanconn_request_connection(f.w, 1000), 0);
	assert_int_equal(wanconn_next_deadline(f.w), 6000);
	wanconn_tick(f.w, 6000);
	assert_int_equal(wanconn_status(f.w), DSC);
	fx_fini(&f);
}

static void test_disconnecting_timeout(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 0, 0, 0);
	assert_int_equal(wanconn_force_termination(f.w, 2000), 0);
	assert_int_equal(wanconn_next_deadline(f.w), 62000);
	wanconn_tick(f.w, 61999);
	assert_int_equal(wanconn_status(f.w), DSG);
	wanconn_tick(f.w, 62000);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_FORCED_DISCONNECT);
	fx_fini(&f);
}

static void test_link_failure(void **state)
{
	struct wanconn_config cfg;
	struct fx f;

	(void)state;
	/* ISP disconnect while Connected: straight to Disconnected */
	connected_fx(&f, 0, 0, 0);
	assert_int_equal(wanconn_link_failed(f.w, 5000, WANCONN_LASTERR_NONE), 0);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_ISP_DISCONNECT);
	assert_string_equal(f.log, "Connected>Disconnected;");
	assert_int_equal(wanconn_uptime(f.w, 6000), 0);
	/* the driver's own reason is kept */
	assert_int_equal(wanconn_link_up(f.w, 7000), 0);
	assert_int_equal(wanconn_link_failed(f.w, 8000, WANCONN_LASTERR_NO_CARRIER), 0);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NO_CARRIER);
	fx_fini(&f);

	/* a failed attempt */
	wanconn_config_default(&cfg);
	fx_init(&f, &cfg);
	assert_int_equal(wanconn_request_connection(f.w, 1000), 0);
	assert_int_equal(wanconn_link_failed(f.w, 2000, WANCONN_LASTERR_IP_CONFIGURATION), 0);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_IP_CONFIGURATION);
	/* success clears it */
	assert_int_equal(wanconn_request_connection(f.w, 3000), 0);
	assert_int_equal(wanconn_link_up(f.w, 4000), 0);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NONE);
	fx_fini(&f);
}

static void test_enabled_for_internet(void **state)
{
	struct fx f;

	(void)state;
	connected_fx(&f, 0, 0, 5);
	assert_true(wanconn_enabled_for_internet(f.w));
	assert_int_equal(wanconn_set_enabled_for_internet(f.w, false, 2000), 0);
	assert_false(wanconn_enabled_for_internet(f.w));
	/* cause 4: no PendingDisconnect even with a warning delay */
	assert_string_equal(f.log, "Connected>Disconnecting;down;");
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET);
	assert_int_equal(wanconn_link_down_done(f.w, 3000), 0);
	assert_int_equal(wanipconn_error_code(wanconn_request_connection(f.w, 4000)), UPNP_E_INTERNET_ACCESS_DISABLED);
	/* an always-on link that comes back anyway is taken down again */
	fx_reset_log(&f);
	assert_int_equal(wanconn_link_up(f.w, 5000), 0);
	assert_string_equal(f.log, "Disconnected>Connected;Connected>Disconnecting;down;");
	assert_int_equal(wanconn_link_down_done(f.w, 6000), 0);
	/* enabling again does not reconnect by itself */
	fx_reset_log(&f);
	assert_int_equal(wanconn_set_enabled_for_internet(f.w, true, 7000), 0);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(f.changes, 0);
	assert_int_equal(wanconn_request_connection(f.w, 8000), 0);
	assert_int_equal(wanconn_status(f.w), CNG);
	fx_fini(&f);
}

/* --- Uptime (2.3.6) -------------------------------------------------- */

struct uptime_row {
	uint64_t up_at, now;
	uint32_t want;
};

static void test_uptime(void **state)
{
	static const struct uptime_row rows[] = {
		{ 1500, 1500, 0 },
		{ 1500, 2499, 0 },
		{ 1500, 2500, 1 },
		{ 1500, 1500 + 3600 * 1000, 3600 },
		{ 1500, 1000, 0 },                              /* clock before up */
		{ 0, (uint64_t)UINT32_MAX * 1000, UINT32_MAX },
		{ 0, ((uint64_t)UINT32_MAX + 5) * 1000, UINT32_MAX },  /* saturates */
	};
	struct wanconn_config cfg;
	struct fx f;
	size_t i;

	(void)state;
	wanconn_config_default(&cfg);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fx_init(&f, &cfg);
		assert_int_equal(wanconn_uptime(f.w, rows[i].now), 0);   /* Disconnected */
		assert_int_equal(wanconn_link_up(f.w, rows[i].up_at), 0);
		assert_int_equal(wanconn_uptime(f.w, rows[i].now), rows[i].want);
		fx_fini(&f);
	}

	/* 0 outside Connected / PendingDisconnect; restarts on a new connection */
	cfg.warn_disconnect_s = 10;
	fx_init(&f, &cfg);
	assert_int_equal(wanconn_request_connection(f.w, 0), 0);
	assert_int_equal(wanconn_uptime(f.w, 5000), 0);            /* Connecting */
	assert_int_equal(wanconn_link_up(f.w, 5000), 0);
	assert_int_equal(wanconn_uptime(f.w, 65000), 60);
	assert_int_equal(wanconn_request_termination(f.w, 65000), 0);
	assert_int_equal(wanconn_uptime(f.w, 70000), 65);          /* Pending: still up */
	assert_int_equal(wanconn_force_termination(f.w, 70000), 0);
	assert_int_equal(wanconn_uptime(f.w, 71000), 0);           /* Disconnecting */
	assert_int_equal(wanconn_link_down_done(f.w, 72000), 0);
	assert_int_equal(wanconn_uptime(f.w, 73000), 0);
	assert_int_equal(wanconn_link_up(f.w, 80000), 0);
	assert_int_equal(wanconn_uptime(f.w, 83000), 3);
	fx_fini(&f);
}

/* --- Callbacks: order and re-entrancy -------------------------------- */

static void test_callbacks_async_order(void **state)
{
	struct wanconn_config cfg;
	struct fx f;

	(void)state;
	wanconn_config_default(&cfg);
	fx_init(&f, &cfg);
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	/* the status is evented before the driver is asked */
	assert_string_equal(f.log, "Disconnected>Connecting;up;");
	assert_int_equal(f.seen_at_up, CNG);
	assert_int_equal(wanconn_link_up(f.w, f.now), 0);
	assert_int_equal(wanconn_force_termination(f.w, f.now), 0);
	assert_int_equal(wanconn_link_down_done(f.w, f.now), 0);
	assert_string_equal(f.log, "Disconnected>Connecting;up;Connecting>Connected;"
	                           "Connected>Disconnecting;down;Disconnecting>Disconnected;");
	fx_fini(&f);
}

static void test_callbacks_sync_driver(void **state)
{
	struct wanconn_config cfg;
	struct fx f;

	(void)state;
	wanconn_config_default(&cfg);

	/* a driver reporting success from inside on_bring_up() */
	fx_init(&f, &cfg);
	f.mode = DRV_SYNC_UP;
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	assert_int_equal(wanconn_status(f.w), CON);
	assert_string_equal(f.log, "Disconnected>Connecting;up;Connecting>Connected;");
	fx_fini(&f);

	/* ... or failure: RequestConnection() itself reports 704 */
	fx_init(&f, &cfg);
	f.mode = DRV_SYNC_FAIL;
	assert_int_equal(wanipconn_error_code(wanconn_request_connection(f.w, f.now)), UPNP_E_CONNECTION_SETUP_FAILED);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NO_CARRIER);
	assert_string_equal(f.log, "Disconnected>Connecting;up;Connecting>Disconnected;");
	/* a later, asynchronous failure does not turn the next call into 704 */
	f.mode = DRV_ASYNC;
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	assert_int_equal(wanconn_link_failed(f.w, f.now, WANCONN_LASTERR_NONE), 0);
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	fx_fini(&f);

	/* a synchronous bring-down */
	fx_init(&f, &cfg);
	f.mode = DRV_SYNC_DOWN;
	assert_int_equal(wanconn_link_up(f.w, f.now), 0);
	fx_reset_log(&f);
	assert_int_equal(wanconn_force_termination(f.w, f.now), 0);
	assert_int_equal(wanconn_status(f.w), DSC);
	assert_string_equal(f.log, "Connected>Disconnecting;down;Disconnecting>Disconnected;");
	fx_fini(&f);
}

static void test_callbacks_reentry_from_status(void **state)
{
	struct wanconn_config cfg;
	struct fx f;

	(void)state;
	wanconn_config_default(&cfg);
	fx_init(&f, &cfg);
	/* the status handler terminates as soon as it sees Connecting: the
	 * outer call's own bring-up is still delivered, in order, before the
	 * nested call's outputs */
	f.terminate_on = CNG;
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	assert_int_equal(f.nested_ret, 0);
	assert_int_equal(wanconn_status(f.w), DSG);
	assert_string_equal(f.log, "Disconnected>Connecting;up;Connecting>Disconnecting;down;");
	/* never nested: on_bring_up already saw the newest state */
	assert_int_equal(f.seen_at_up, DSG);
	fx_fini(&f);

	/* the same from a tick: the handler reacts to PendingDisconnect */
	cfg.auto_disconnect_s = 1;
	cfg.warn_disconnect_s = 5;
	fx_init(&f, &cfg);
	assert_int_equal(wanconn_link_up(f.w, 0), 0);
	f.terminate_on = PND;
	fx_reset_log(&f);
	wanconn_tick(f.w, 1000);
	assert_int_equal(f.nested_ret, UPNP_E_DISCONNECT_IN_PROGRESS);
	assert_int_equal(wanconn_status(f.w), PND);
	assert_string_equal(f.log, "Connected>PendingDisconnect;");
	fx_fini(&f);
}

static void test_no_ops(void **state)
{
	struct wanconn_config cfg;
	struct wanconn *w;

	(void)state;
	wanconn_config_default(&cfg);
	cfg.warn_disconnect_s = 1;
	w = wanconn_new(&cfg, NULL, NULL);
	assert_non_null(w);
	assert_int_equal(wanconn_request_connection(w, 0), 0);
	assert_int_equal(wanconn_link_up(w, 0), 0);
	assert_int_equal(wanconn_request_termination(w, 0), 0);
	wanconn_tick(w, 1000);
	assert_int_equal(wanconn_status(w), DSG);
	wanconn_free(w);
	wanconn_free(NULL);
}

/* --- Configuration, ConnectionType -------------------------------- */

struct cfg_row {
	enum wanconn_type type;
	unsigned possible;
	bool term;
	uint32_t auto_s, idle_s;
	const char *csv;            /* NULL: wanconn_new() fails with EINVAL */
};

#define R WANCONN_TYPE_BIT(WANCONN_TYPE_IP_ROUTED)
#define B WANCONN_TYPE_BIT(WANCONN_TYPE_IP_BRIDGED)

static void test_config(void **state)
{
	static const struct cfg_row rows[] = {
		{ WANCONN_TYPE_IP_ROUTED, 0, true, 0, 0, "IP_Routed" },
		{ WANCONN_TYPE_IP_ROUTED, R, true, 0, 0, "IP_Routed" },
		{ WANCONN_TYPE_IP_ROUTED, R | B, true, 0, 0, "IP_Routed,IP_Bridged" },
		{ WANCONN_TYPE_IP_BRIDGED, B, true, 0, 0, "IP_Bridged" },
		{ WANCONN_TYPE_UNCONFIGURED, 0, true, 0, 0, "IP_Routed" },
		{ WANCONN_TYPE_IP_BRIDGED, R, true, 0, 0, NULL },
		{ WANCONN_TYPE_IP_ROUTED, B, true, 0, 0, NULL },
		{ WANCONN_TYPE_IP_ROUTED, R | 1u, true, 0, 0, NULL },
		{ WANCONN_TYPE_IP_ROUTED, R | (1u << 7), true, 0, 0, NULL },
		{ WANCONN_TYPE_COUNT, R, true, 0, 0, NULL },
		{ WANCONN_TYPE_IP_ROUTED, R, false, 0, 0, "IP_Routed" },
		{ WANCONN_TYPE_IP_ROUTED, R, false, 10, 0, NULL },
		{ WANCONN_TYPE_IP_ROUTED, R, false, 0, 10, NULL },
		{ WANCONN_TYPE_IP_ROUTED, R, true, 10, 10, "IP_Routed" },
	};
	struct wanconn_config cfg;
	struct wanconn *w;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		wanconn_config_default(&cfg);
		cfg.type = rows[i].type;
		cfg.possible = rows[i].possible;
		cfg.termination_supported = rows[i].term;
		cfg.auto_disconnect_s = rows[i].auto_s;
		cfg.idle_disconnect_s = rows[i].idle_s;
		errno = 0;
		w = wanconn_new(&cfg, NULL, NULL);
		if (rows[i].csv == NULL) {
			assert_null(w);
			assert_int_equal(errno, EINVAL);
			continue;
		}
		assert_non_null(w);
		assert_string_equal(wanconn_possible_types(w), rows[i].csv);
		assert_int_equal(wanconn_connection_type(w), rows[i].type);
		assert_int_equal(wanconn_status(w), rows[i].type == WANCONN_TYPE_UNCONFIGURED
		                                    ? UNC : DSC);
		assert_int_equal(wanconn_termination_supported(w), rows[i].term);
		assert_int_equal(wanconn_auto_disconnect_time(w), rows[i].auto_s);
		wanconn_free(w);
	}

	/* defaults */
	wanconn_config_default(&cfg);
	w = wanconn_new(&cfg, NULL, NULL);
	assert_non_null(w);
	assert_int_equal(wanconn_connection_type(w), WANCONN_TYPE_IP_ROUTED);
	assert_int_equal(wanconn_last_error(w), WANCONN_LASTERR_NONE);
	assert_true(wanconn_enabled_for_internet(w));
	assert_false(wanconn_type_read_only(w));
	assert_int_equal(wanconn_warn_disconnect_delay(w), 0);
	wanconn_free(w);
}

static void test_set_connection_type_cycle(void **state)
{
	struct wanconn_config cfg;
	struct fx f;

	(void)state;
	wanconn_config_default(&cfg);
	cfg.possible = R | B;
	fx_init(&f, &cfg);
	/* a failed attempt leaves an error; Unconfigured resets it (2.4.6) */
	assert_int_equal(wanconn_request_connection(f.w, f.now), 0);
	assert_int_equal(wanconn_link_failed(f.w, f.now, WANCONN_LASTERR_NO_CARRIER), 0);
	fx_reset_log(&f);
	assert_int_equal(wanconn_set_connection_type(f.w, STR_LIT("Unconfigured")), 0);
	assert_int_equal(wanconn_connection_type(f.w), WANCONN_TYPE_UNCONFIGURED);
	assert_int_equal(wanconn_last_error(f.w), WANCONN_LASTERR_NONE);
	assert_int_equal(wanconn_set_connection_type(f.w, STR_LIT("IP_Bridged")), 0);
	assert_int_equal(wanconn_connection_type(f.w), WANCONN_TYPE_IP_BRIDGED);
	assert_int_equal(wanipconn_error_code(wanconn_request_connection(f.w, f.now)), UPNP_E_INVALID_CONNECTION_TYPE);
	assert_int_equal(wanconn_set_connection_type(f.w, STR_LIT("IP_Routed")), 0);
	assert_int_equal(wanconn_connection_type(f.w), WANCONN_TYPE_IP_ROUTED);
	/* Disconnected -> Disconnected is no change, no event */
	assert_string_equal(f.log, "Disconnected>Unconfigured;Unconfigured>Disconnected;");
	fx_fini(&f);
}

/* --- Value strings --------------------------------------------------- */

static void check_values(const char *const *v, const char *(*str)(int), unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], str((int)i));
	}
	assert_null(v[n]);
	assert_null(str((int)n));
	assert_null(str(-1));
}

static const char *type_str_i(int i) { return wanconn_type_str((enum wanconn_type)i); }
static const char *status_str_i(int i) { return wanconn_status_str((enum wanconn_status)i); }
static const char *lasterror_str_i(int i) { return wanconn_lasterror_str((enum wanconn_lasterror)i); }

struct parse_row {
	const char *in;
	int ret;
	enum wanconn_type want;
};

static void test_strings(void **state)
{
	static const struct parse_row rows[] = {
		{ "Unconfigured", 0, WANCONN_TYPE_UNCONFIGURED },
		{ "IP_Routed", 0, WANCONN_TYPE_IP_ROUTED },
		{ "IP_Bridged", 0, WANCONN_TYPE_IP_BRIDGED },
		{ "IP_routed", -EINVAL, 0 },
		{ "IP_Routed ", -EINVAL, 0 },
		{ "IP_Route", -EINVAL, 0 },
		{ "IP_RoutedX", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "PPPoE_Bridged", -EINVAL, 0 },
	};
	enum wanconn_type t;
	size_t i;

	(void)state;
	check_values(wanconn_type_values(), type_str_i, 3);
	check_values(wanconn_status_values(), status_str_i, 6);
	check_values(wanconn_lasterror_values(), lasterror_str_i, 10);
	assert_string_equal(wanconn_type_str(WANCONN_TYPE_IP_ROUTED), "IP_Routed");
	assert_string_equal(wanconn_status_str(PND), "PendingDisconnect");
	assert_string_equal(wanconn_lasterror_str(WANCONN_LASTERR_ISP_DISCONNECT),
	                    "ERROR_ISP_DISCONNECT");
	assert_string_equal(wanconn_lasterror_str(WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET),
	                    "ERROR_NOT_ENABLED_FOR_INTERNET");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t = WANCONN_TYPE_COUNT;
		assert_int_equal(wanconn_type_parse(str_cstr(rows[i].in), &t), rows[i].ret);
		if (rows[i].ret == 0)
			assert_int_equal(t, rows[i].want);
		else
			assert_int_equal(t, WANCONN_TYPE_COUNT);   /* untouched */
	}
	/* a view, not a C string: only len bytes count */
	assert_int_equal(wanconn_type_parse(str_from("IP_Routed_extra", 9), &t), 0);
	assert_int_equal(t, WANCONN_TYPE_IP_ROUTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_action_table),
		cmocka_unit_test(test_auto_disconnect_no_warn),
		cmocka_unit_test(test_auto_disconnect_with_warn),
		cmocka_unit_test(test_late_tick_keeps_full_warning),
		cmocka_unit_test(test_idle_disconnect_reset_by_activity),
		cmocka_unit_test(test_idle_with_warn),
		cmocka_unit_test(test_auto_idle_earliest_wins),
		cmocka_unit_test(test_timer_changes_apply_to_running_timer),
		cmocka_unit_test(test_pending_cancelled_by_request_connection),
		cmocka_unit_test(test_connecting_timeout),
		cmocka_unit_test(test_disconnecting_timeout),
		cmocka_unit_test(test_link_failure),
		cmocka_unit_test(test_enabled_for_internet),
		cmocka_unit_test(test_uptime),
		cmocka_unit_test(test_callbacks_async_order),
		cmocka_unit_test(test_callbacks_sync_driver),
		cmocka_unit_test(test_callbacks_reentry_from_status),
		cmocka_unit_test(test_no_ops),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_set_connection_type_cycle),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
