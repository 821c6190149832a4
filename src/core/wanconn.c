/*
 * wanconn.c - the WAN connection state machine of WANIPConnection:2
 * (sections 2.3.3 - 2.3.10 state variables, 2.5.1 - 2.5.12 actions,
 * 2.6.1 / 2.6.2 connection initiation and termination, Figure 2-5).
 *
 *                  RequestConnection                 link_up
 *   Disconnected ----------------------> Connecting ----------> Connected
 *     ^   ^     link_failed,                  |                  |     ^
 *     |   +---- connect timeout --------------+  RequestTermina- |     | Request-
 *     |                                          tion, auto/idle |     | Connection
 *     | link_down_done                           (warn > 0)      v     |
 *     +------------- Disconnecting <----------------------- PendingDisconnect
 *                                      warn delay over
 *
 * Force/RequestTermination (warn = 0), EnabledForInternet = 0 and an abort
 * while Connecting go straight to Disconnecting; a link lost while up goes
 * straight to Disconnected; an always-on link that comes up by itself goes
 * from Disconnected to Connected. Unconfigured is the status of
 * ConnectionType Unconfigured. The header explains the callback (re-entrancy) rule.
 */
#include "core/wanconn.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/log.h"

#define WANCONN_QUEUE_LEN 16
#define WANCONN_TICK_STEPS 4    /* longest chain of due timers in one tick */

enum wanconn_out_kind { OUT_STATUS, OUT_BRING_UP, OUT_BRING_DOWN };

struct wanconn_out {
	enum wanconn_out_kind kind;
	enum wanconn_status old_status, new_status;
};

struct wanconn {
	const struct wanconn_ops *ops;
	void *arg;
	bool type_read_only;
	bool termination_supported;
	unsigned possible;
	char possible_csv[32];
	uint32_t connect_timeout_s;
	uint32_t disconnect_timeout_s;

	enum wanconn_type type;
	enum wanconn_status status;
	enum wanconn_lasterror last_error;
	enum wanconn_lasterror pending_cause;   /* why PendingDisconnect */
	bool enabled;
	uint32_t auto_s, idle_s, warn_s;

	uint64_t status_since;      /* entry into Connecting, Pending, Disconnecting */
	uint64_t up_since;          /* Uptime: the connection came up */
	uint64_t connected_since;   /* AutoDisconnectTime: last entry into Connected */
	uint64_t last_activity;     /* IdleDisconnectTime */
	uint32_t attempt_seq;       /* RequestConnection attempts started */
	uint32_t failed_seq;        /* the last attempt that failed */

	struct wanconn_out queue[WANCONN_QUEUE_LEN];
	unsigned q_head, q_len;
	bool dispatching;
};

/* --- Value strings (Tables 2-3, 2-4, 2-5) ---------------------------- */

static const char *const type_names[WANCONN_TYPE_COUNT + 1] = {
	[WANCONN_TYPE_UNCONFIGURED] = "Unconfigured",
	[WANCONN_TYPE_IP_ROUTED] = "IP_Routed",
	[WANCONN_TYPE_IP_BRIDGED] = "IP_Bridged",
	[WANCONN_TYPE_COUNT] = NULL,
};

static const char *const status_names[WANCONN_STATUS_COUNT + 1] = {
	[WANCONN_UNCONFIGURED] = "Unconfigured",
	[WANCONN_CONNECTING] = "Connecting",
	[WANCONN_CONNECTED] = "Connected",
	[WANCONN_PENDING_DISCONNECT] = "PendingDisconnect",
	[WANCONN_DISCONNECTING] = "Disconnecting",
	[WANCONN_DISCONNECTED] = "Disconnected",
	[WANCONN_STATUS_COUNT] = NULL,
};

/* Table 2-5 prints "ERROR_ISP_DISCONNECT." with a stray full stop; the
 * value is spelt without it, like every other entry of the table. */
static const char *const lasterror_names[WANCONN_LASTERR_COUNT + 1] = {
	[WANCONN_LASTERR_NONE] = "ERROR_NONE",
	[WANCONN_LASTERR_COMMAND_ABORTED] = "ERROR_COMMAND_ABORTED",
	[WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET] = "ERROR_NOT_ENABLED_FOR_INTERNET",
	[WANCONN_LASTERR_ISP_DISCONNECT] = "ERROR_ISP_DISCONNECT",
	[WANCONN_LASTERR_USER_DISCONNECT] = "ERROR_USER_DISCONNECT",
	[WANCONN_LASTERR_IDLE_DISCONNECT] = "ERROR_IDLE_DISCONNECT",
	[WANCONN_LASTERR_FORCED_DISCONNECT] = "ERROR_FORCED_DISCONNECT",
	[WANCONN_LASTERR_NO_CARRIER] = "ERROR_NO_CARRIER",
	[WANCONN_LASTERR_IP_CONFIGURATION] = "ERROR_IP_CONFIGURATION",
	[WANCONN_LASTERR_UNKNOWN] = "ERROR_UNKNOWN",
	[WANCONN_LASTERR_COUNT] = NULL,
};

const char *wanconn_type_str(enum wanconn_type t)
{
	return (unsigned)t < WANCONN_TYPE_COUNT ? type_names[t] : NULL;
}

const char *wanconn_status_str(enum wanconn_status s)
{
	return (unsigned)s < WANCONN_STATUS_COUNT ? status_names[s] : NULL;
}

const char *wanconn_lasterror_str(enum wanconn_lasterror e)
{
	return (unsigned)e < WANCONN_LASTERR_COUNT ? lasterror_names[e] : NULL;
}

const char *const *wanconn_type_values(void)
{
	return type_names;
}

const char *const *wanconn_status_values(void)
{
	return status_names;
}

const char *const *wanconn_lasterror_values(void)
{
	return lasterror_names;
}

int wanconn_type_parse(struct str s, enum wanconn_type *ret)
{
	unsigned i;

	for (i = 0; i < WANCONN_TYPE_COUNT; i++) {
		if (str_eq_cstr(s, type_names[i])) {
			*ret = (enum wanconn_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* --- Output queue and transitions ------------------------------------ */

static void emit(struct wanconn *w, enum wanconn_out_kind kind,
                 enum wanconn_status old_status, enum wanconn_status new_status)
{
	struct wanconn_out *o;

	/* Only a callback that keeps feeding the module from inside its own
	 * outputs can fill the queue: a programmer error. */
	assert(w->q_len < WANCONN_QUEUE_LEN);
	if (w->q_len >= WANCONN_QUEUE_LEN) {
		log_debug("wanconn: output queue full, output dropped");
		return;
	}
	o = &w->queue[(w->q_head + w->q_len) % WANCONN_QUEUE_LEN];
	o->kind = kind;
	o->old_status = old_status;
	o->new_status = new_status;
	w->q_len++;
}

/* Deliver the queued outputs, unless an outer call is already doing so. */
static void dispatch(struct wanconn *w)
{
	const struct wanconn_ops *ops = w->ops;
	struct wanconn_out o;

	if (w->dispatching)
		return;
	w->dispatching = true;
	while (w->q_len > 0) {
		o = w->queue[w->q_head];
		w->q_head = (w->q_head + 1) % WANCONN_QUEUE_LEN;
		w->q_len--;
		if (ops == NULL)
			continue;
		switch (o.kind) {
		case OUT_STATUS:
			if (ops->on_status_change)
				ops->on_status_change(w, o.old_status, o.new_status, w->arg);
			break;
		case OUT_BRING_UP:
			if (ops->on_bring_up)
				ops->on_bring_up(w, w->arg);
			break;
		case OUT_BRING_DOWN:
			if (ops->on_bring_down)
				ops->on_bring_down(w, w->arg);
			break;
		}
	}
	w->dispatching = false;
}

/* Change ConnectionStatus and note the times the timers count from. now
 * is unused for Unconfigured and Disconnected. */
static void set_status(struct wanconn *w, enum wanconn_status s, uint64_t now)
{
	enum wanconn_status old = w->status;

	if (old == s)
		return;
	w->status = s;
	w->status_since = now;
	if (s == WANCONN_CONNECTED) {
		/* Back from PendingDisconnect the connection never went down:
		 * Uptime goes on, but AutoDisconnectTime counts from the
		 * transition to Connected (2.3.8) and the idle timer restarts. */
		if (old != WANCONN_PENDING_DISCONNECT)
			w->up_since = now;
		w->connected_since = now;
		w->last_activity = now;
	}
	if (s != WANCONN_PENDING_DISCONNECT)
		w->pending_cause = WANCONN_LASTERR_NONE;
	log_debug("wanconn: %s -> %s", status_names[old], status_names[s]);
	emit(w, OUT_STATUS, old, s);
}

/* The link is going down now: Disconnecting and ask the driver. */
static void begin_disconnect(struct wanconn *w, uint64_t now, enum wanconn_lasterror cause)
{
	w->last_error = cause;
	set_status(w, WANCONN_DISCONNECTING, now);
	emit(w, OUT_BRING_DOWN, w->status, w->status);
}

/*
 * 2.6.2: a termination by a client's RequestTermination() (cause 1) or by
 * AutoDisconnectTime / IdleDisconnectTime (cause 2) warns the clients in
 * PendingDisconnect when WarnDisconnectDelay is non-zero; everything else
 * goes to Disconnecting at once. The cause becomes LastConnectionError when
 * the link actually starts going down.
 */
static void start_termination(struct wanconn *w, uint64_t now,
                              enum wanconn_lasterror cause, bool may_warn)
{
	if (may_warn && w->warn_s > 0 && w->status == WANCONN_CONNECTED) {
		set_status(w, WANCONN_PENDING_DISCONNECT, now);
		w->pending_cause = cause;
		return;
	}
	begin_disconnect(w, now, cause);
}

static bool is_active(enum wanconn_status s)
{
	return s == WANCONN_CONNECTING || s == WANCONN_CONNECTED ||
	       s == WANCONN_PENDING_DISCONNECT;
}

/* --- Life cycle ------------------------------------------------------ */

void wanconn_config_default(struct wanconn_config *c)
{
	*c = (struct wanconn_config){
		.type = WANCONN_TYPE_IP_ROUTED,
		.possible = WANCONN_TYPE_BIT(WANCONN_TYPE_IP_ROUTED),
		.type_read_only = false,
		.termination_supported = true,
		.enabled_for_internet = true,
		.connect_timeout_s = WANCONN_CONNECT_TIMEOUT_DEFAULT_S,
		.disconnect_timeout_s = WANCONN_DISCONNECT_TIMEOUT_DEFAULT_S,
	};
}

static bool config_valid(const struct wanconn_config *c, unsigned possible)
{
	const unsigned types = WANCONN_TYPE_BIT(WANCONN_TYPE_IP_ROUTED) |
	                       WANCONN_TYPE_BIT(WANCONN_TYPE_IP_BRIDGED);

	if ((unsigned)c->type >= WANCONN_TYPE_COUNT || (possible & ~types) != 0)
		return false;
	if (c->type != WANCONN_TYPE_UNCONFIGURED && !(possible & WANCONN_TYPE_BIT(c->type)))
		return false;
	/* A link that cannot be brought down cannot honour these timers. */
	if (!c->termination_supported && (c->auto_disconnect_s || c->idle_disconnect_s))
		return false;
	return true;
}

static void build_possible_csv(struct wanconn *w)
{
	const char *routed = "", *sep = "", *bridged = "";

	if (w->possible & WANCONN_TYPE_BIT(WANCONN_TYPE_IP_ROUTED))
		routed = type_names[WANCONN_TYPE_IP_ROUTED];
	if (w->possible & WANCONN_TYPE_BIT(WANCONN_TYPE_IP_BRIDGED))
		bridged = type_names[WANCONN_TYPE_IP_BRIDGED];
	if (*routed && *bridged)
		sep = ",";
	snprintf(w->possible_csv, sizeof(w->possible_csv), "%s%s%s", routed, sep, bridged);
}

struct wanconn *wanconn_new(const struct wanconn_config *cfg,
                            const struct wanconn_ops *ops, void *arg)
{
	struct wanconn *w = NULL;
	unsigned possible = cfg->possible;

	if (possible == 0)
		possible = WANCONN_TYPE_BIT(WANCONN_TYPE_IP_ROUTED);
	if (!config_valid(cfg, possible)) {
		errno = EINVAL;
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out;
	w->ops = ops;
	w->arg = arg;
	w->type_read_only = cfg->type_read_only;
	w->termination_supported = cfg->termination_supported;
	w->possible = possible;
	build_possible_csv(w);
	w->connect_timeout_s = cfg->connect_timeout_s ? cfg->connect_timeout_s
	                                              : WANCONN_CONNECT_TIMEOUT_DEFAULT_S;
	w->disconnect_timeout_s = cfg->disconnect_timeout_s ? cfg->disconnect_timeout_s
	                                                    : WANCONN_DISCONNECT_TIMEOUT_DEFAULT_S;
	w->type = cfg->type;
	w->status = cfg->type == WANCONN_TYPE_UNCONFIGURED ? WANCONN_UNCONFIGURED
	                                                   : WANCONN_DISCONNECTED;
	w->last_error = WANCONN_LASTERR_NONE;
	w->pending_cause = WANCONN_LASTERR_NONE;
	w->enabled = cfg->enabled_for_internet;
	w->auto_s = cfg->auto_disconnect_s;
	w->idle_s = cfg->idle_disconnect_s;
	w->warn_s = cfg->warn_disconnect_s;
out:
	return w;
}

void wanconn_free(struct wanconn *w)
{
	if (w == NULL)
		return;
	assert(!w->dispatching);
	free(w);
}

/* --- Actions --------------------------------------------------------- */

/*
 * SetConnectionType() 2.5.1, Table 2-13:
 *   601 ArgumentValueOutOfRange   not in Table 2-3 (2.5.1.3), or a type
 *                                 outside PossibleConnectionTypes (2.3.4)
 *   731 ReadOnly                  ConnectionType is auto-configured
 *   703 InactiveConnectionStateRequired  ConnectionStatus is neither
 *                                 Disconnected nor Unconfigured (2.5.1.5)
 * (606 is the security policy's, before this is called.)
 * Unconfigured is always a valid value; setting it makes ConnectionStatus
 * Unconfigured and LastConnectionError its default (2.4.6), and setting a
 * real type from there makes it Disconnected.
 */
enum wanconn_result wanconn_set_connection_type(struct wanconn *w, struct str text)
{
	enum wanconn_type t;
	enum wanconn_result ret = WANCONN_OK;

	if (wanconn_type_parse(text, &t) < 0) {
		ret = WANCONN_E_BAD_VALUE;
		goto out;
	}
	if (w->type_read_only) {
		ret = WANCONN_E_READ_ONLY;
		goto out;
	}
	if (t != WANCONN_TYPE_UNCONFIGURED && !(w->possible & WANCONN_TYPE_BIT(t))) {
		ret = WANCONN_E_BAD_VALUE;
		goto out;
	}
	if (w->status != WANCONN_DISCONNECTED && w->status != WANCONN_UNCONFIGURED) {
		ret = WANCONN_E_INACTIVE_REQUIRED;
		goto out;
	}
	w->type = t;
	if (t == WANCONN_TYPE_UNCONFIGURED) {
		w->last_error = WANCONN_LASTERR_NONE;
		set_status(w, WANCONN_UNCONFIGURED, 0);
	} else {
		set_status(w, WANCONN_DISCONNECTED, 0);
	}
	dispatch(w);
out:
	return ret;
}

/*
 * RequestConnection() 2.5.3, Table 2-16, checked in this order:
 *   706 ConnectionNotConfigured   ConnectionStatus is Unconfigured
 *   710 InvalidConnectionType     ConnectionType is not IP_Routed (2.5.3.4)
 *   709 InternetAccessDisabled    EnabledForInternet is false
 *   705 ConnectionSetupInProgress ConnectionStatus is Connecting
 *   707 DisconnectInProgress      ConnectionStatus is Disconnecting
 *   704 ConnectionSetupFailed     the driver failed the attempt before
 *                                 this call returned
 * Configuration errors come before the transient ones: retrying does not
 * cure them. Connected: success, nothing to do. PendingDisconnect: the
 * termination is cancelled (2.5.3.2, 2.6.2), back to Connected.
 */
enum wanconn_result wanconn_request_connection(struct wanconn *w, uint64_t now)
{
	uint32_t seq;
	bool outermost;
	enum wanconn_result ret = WANCONN_OK;

	if (w->status == WANCONN_UNCONFIGURED)
		ret = WANCONN_E_NOT_CONFIGURED;
	else if (w->type != WANCONN_TYPE_IP_ROUTED)
		ret = WANCONN_E_INVALID_TYPE;
	else if (!w->enabled)
		ret = WANCONN_E_INTERNET_DISABLED;
	else if (w->status == WANCONN_CONNECTING)
		ret = WANCONN_E_SETUP_IN_PROGRESS;
	else if (w->status == WANCONN_DISCONNECTING)
		ret = WANCONN_E_DISCONNECT_IN_PROGRESS;
	if (ret != 0)
		goto out;

	switch (w->status) {
	case WANCONN_PENDING_DISCONNECT:
		set_status(w, WANCONN_CONNECTED, now);
		dispatch(w);
		break;
	case WANCONN_DISCONNECTED:
		seq = ++w->attempt_seq;
		outermost = !w->dispatching;
		set_status(w, WANCONN_CONNECTING, now);
		emit(w, OUT_BRING_UP, w->status, w->status);
		dispatch(w);
		if (outermost && w->failed_seq == seq)
			ret = WANCONN_E_SETUP_FAILED;
		break;
	default:        /* Connected */
		break;
	}
out:
	return ret;
}

/*
 * The checks RequestTermination() and ForceTermination() share
 * (Tables 2-17 and 2-18), in this order:
 *   706 ConnectionNotConfigured   ConnectionStatus is Unconfigured
 *   710 InvalidConnectionType     ConnectionType is not IP_Routed
 *   711 ConnectionAlreadyTerminated  ConnectionStatus is Disconnected
 *   707 DisconnectInProgress      Disconnecting (and, for
 *                                 RequestTermination only, PendingDisconnect)
 *   501 ActionFailed              an always-on link with no way down (3.1.3
 *                                 NOTES: "an appropriate error code"; UDA's
 *                                 501 is the code for "the current state of
 *                                 the service prevents the action", 602
 *                                 would wrongly call ForceTermination, a
 *                                 REQUIRED action, unimplemented)
 */
static enum wanconn_result termination_check(const struct wanconn *w, bool pending_in_progress)
{
	if (w->status == WANCONN_UNCONFIGURED)
		return WANCONN_E_NOT_CONFIGURED;
	if (w->type != WANCONN_TYPE_IP_ROUTED)
		return WANCONN_E_INVALID_TYPE;
	if (w->status == WANCONN_DISCONNECTED)
		return WANCONN_E_ALREADY_TERMINATED;
	if (w->status == WANCONN_DISCONNECTING ||
	    (pending_in_progress && w->status == WANCONN_PENDING_DISCONNECT))
		return WANCONN_E_DISCONNECT_IN_PROGRESS;
	if (!w->termination_supported)
		return WANCONN_E_CANNOT_TERMINATE;
	return WANCONN_OK;
}

/*
 * RequestTermination() 2.5.4 (errors above). Connected: PendingDisconnect
 * when WarnDisconnectDelay > 0, else Disconnecting (ERROR_USER_DISCONNECT).
 * Connecting: the attempt is aborted, straight to Disconnecting without a
 * warning (2.6.2: "transitions to Disconnecting directly"; 2.5.4.4 says
 * Disconnected, which is what an implementation without the Disconnecting
 * state does - this one has it, and the driver must still stop its
 * attempt), LastConnectionError ERROR_COMMAND_ABORTED.
 */
enum wanconn_result wanconn_request_termination(struct wanconn *w, uint64_t now)
{
	enum wanconn_result ret = termination_check(w, true);

	if (ret != 0)
		goto out;
	if (w->status == WANCONN_CONNECTING)
		begin_disconnect(w, now, WANCONN_LASTERR_COMMAND_ABORTED);
	else
		start_termination(w, now, WANCONN_LASTERR_USER_DISCONNECT, true);
	dispatch(w);
out:
	return ret;
}

/*
 * ForceTermination() 2.5.5 (errors above): Connected, Connecting or
 * PendingDisconnect go to Disconnecting at once, whatever
 * WarnDisconnectDelay says. ERROR_FORCED_DISCONNECT, or
 * ERROR_COMMAND_ABORTED for an attempt still Connecting.
 */
enum wanconn_result wanconn_force_termination(struct wanconn *w, uint64_t now)
{
	enum wanconn_result ret = termination_check(w, false);

	if (ret != 0)
		goto out;
	begin_disconnect(w, now, w->status == WANCONN_CONNECTING
	                         ? WANCONN_LASTERR_COMMAND_ABORTED
	                         : WANCONN_LASTERR_FORCED_DISCONNECT);
	dispatch(w);
out:
	return ret;
}

/* Set*DisconnectTime() 2.5.6, 2.5.7 (Tables 2-20, 2-22 list only 606):
 * 501 for a timer that would need a termination this link cannot do. */
enum wanconn_result wanconn_set_auto_disconnect_time(struct wanconn *w, uint32_t seconds)
{
	if (seconds != 0 && !w->termination_supported)
		return WANCONN_E_CANNOT_TERMINATE;
	w->auto_s = seconds;
	return WANCONN_OK;
}

enum wanconn_result wanconn_set_idle_disconnect_time(struct wanconn *w, uint32_t seconds)
{
	if (seconds != 0 && !w->termination_supported)
		return WANCONN_E_CANNOT_TERMINATE;
	w->idle_s = seconds;
	return WANCONN_OK;
}

/* SetWarnDisconnectDelay() 2.5.8 (Table 2-24: only 606). */
enum wanconn_result wanconn_set_warn_disconnect_delay(struct wanconn *w, uint32_t seconds)
{
	w->warn_s = seconds;
	return WANCONN_OK;
}

/* EnabledForInternet = 0 terminates without warning (2.6.2 cause 4, listed
 * under Disconnecting); 501 as for the termination actions when the link
 * cannot be brought down. Enabling again does not reconnect by itself. */
enum wanconn_result wanconn_set_enabled_for_internet(struct wanconn *w, bool enabled, uint64_t now)
{
	enum wanconn_result ret = WANCONN_OK;

	if (enabled) {
		w->enabled = true;
		goto out;
	}
	if (is_active(w->status) && !w->termination_supported) {
		ret = WANCONN_E_CANNOT_TERMINATE;
		goto out;
	}
	w->enabled = false;
	if (is_active(w->status))
		begin_disconnect(w, now, WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET);
	dispatch(w);
out:
	return ret;
}

/* --- State variables ------------------------------------------------- */

enum wanconn_type wanconn_connection_type(const struct wanconn *w)
{
	return w->type;
}

const char *wanconn_possible_types(const struct wanconn *w)
{
	return w->possible_csv;
}

enum wanconn_status wanconn_status(const struct wanconn *w)
{
	return w->status;
}

enum wanconn_lasterror wanconn_last_error(const struct wanconn *w)
{
	return w->last_error;
}

uint32_t wanconn_uptime(const struct wanconn *w, uint64_t now)
{
	uint64_t s;

	if (w->status != WANCONN_CONNECTED && w->status != WANCONN_PENDING_DISCONNECT)
		return 0;
	if (now < w->up_since)
		return 0;
	s = (now - w->up_since) / 1000u;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

uint32_t wanconn_auto_disconnect_time(const struct wanconn *w)
{
	return w->auto_s;
}

uint32_t wanconn_idle_disconnect_time(const struct wanconn *w)
{
	return w->idle_s;
}

uint32_t wanconn_warn_disconnect_delay(const struct wanconn *w)
{
	return w->warn_s;
}

bool wanconn_enabled_for_internet(const struct wanconn *w)
{
	return w->enabled;
}

bool wanconn_type_read_only(const struct wanconn *w)
{
	return w->type_read_only;
}

bool wanconn_termination_supported(const struct wanconn *w)
{
	return w->termination_supported;
}

/* --- Driver events --------------------------------------------------- */

int wanconn_link_up(struct wanconn *w, uint64_t now)
{
	int ret = 0;

	if (w->status != WANCONN_CONNECTING && w->status != WANCONN_DISCONNECTED) {
		/* Already up, or being brought down (a late success after an
		 * abort: the driver reports the end of the bring-down). */
		ret = -EALREADY;
		goto out;
	}
	w->last_error = WANCONN_LASTERR_NONE;
	set_status(w, WANCONN_CONNECTED, now);
	if (!w->enabled && w->termination_supported)
		begin_disconnect(w, now, WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET);
	dispatch(w);
out:
	return ret;
}

/* A lost link has nothing left to tear down, so it goes straight to
 * Disconnected rather than through Disconnecting (2.6.2 cause 5). */
int wanconn_link_failed(struct wanconn *w, uint64_t now, enum wanconn_lasterror err)
{
	int ret = 0;

	assert((unsigned)err < WANCONN_LASTERR_COUNT);
	switch (w->status) {
	case WANCONN_CONNECTING:
		w->last_error = err != WANCONN_LASTERR_NONE ? err : WANCONN_LASTERR_UNKNOWN;
		w->failed_seq = w->attempt_seq;
		break;
	case WANCONN_CONNECTED:
	case WANCONN_PENDING_DISCONNECT:
		w->last_error = err != WANCONN_LASTERR_NONE ? err : WANCONN_LASTERR_ISP_DISCONNECT;
		break;
	case WANCONN_DISCONNECTING:
		break;
	default:
		ret = -EALREADY;
		goto out;
	}
	set_status(w, WANCONN_DISCONNECTED, now);
	dispatch(w);
out:
	return ret;
}

int wanconn_link_down_done(struct wanconn *w, uint64_t now)
{
	if (w->status != WANCONN_DISCONNECTING)
		return -EALREADY;
	set_status(w, WANCONN_DISCONNECTED, now);
	dispatch(w);
	return 0;
}

void wanconn_activity(struct wanconn *w, uint64_t now)
{
	if (w->status == WANCONN_CONNECTED && now > w->last_activity)
		w->last_activity = now;
}

/* --- Timers ---------------------------------------------------------- */

static uint64_t after(uint64_t since, uint32_t seconds)
{
	uint64_t t = since + (uint64_t)seconds * 1000u;

	return t > 0 ? t : 1;   /* 0 means "no deadline" */
}

/* The earlier of the auto and idle deadlines while Connected (0: none);
 * *ret_cause says which one, auto winning a tie. */
static uint64_t connected_deadline(const struct wanconn *w, enum wanconn_lasterror *ret_cause)
{
	uint64_t auto_at = 0, idle_at = 0;

	if (w->auto_s > 0)
		auto_at = after(w->connected_since, w->auto_s);
	if (w->idle_s > 0)
		idle_at = after(w->last_activity, w->idle_s);
	if (idle_at != 0 && (auto_at == 0 || idle_at < auto_at)) {
		*ret_cause = WANCONN_LASTERR_IDLE_DISCONNECT;
		return idle_at;
	}
	/* AutoDisconnectTime is the user's own limit on a session, set
	 * through SetAutoDisconnectTime(): a user disconnect. */
	*ret_cause = WANCONN_LASTERR_USER_DISCONNECT;
	return auto_at;
}

uint64_t wanconn_next_deadline(const struct wanconn *w)
{
	enum wanconn_lasterror cause;

	switch (w->status) {
	case WANCONN_CONNECTING:
		return after(w->status_since, w->connect_timeout_s);
	case WANCONN_CONNECTED:
		return connected_deadline(w, &cause);
	case WANCONN_PENDING_DISCONNECT:
		return after(w->status_since, w->warn_s);
	case WANCONN_DISCONNECTING:
		return after(w->status_since, w->disconnect_timeout_s);
	default:
		return 0;
	}
}

/* Apply the timer of the current state if it is due; true if it was. A
 * transition is dated now, not at the deadline, so a late tick never
 * shortens the PendingDisconnect warning. */
static bool tick_once(struct wanconn *w, uint64_t now)
{
	enum wanconn_lasterror cause = WANCONN_LASTERR_NONE;
	uint64_t due = wanconn_next_deadline(w);

	if (due == 0 || due > now)
		return false;
	switch (w->status) {
	case WANCONN_CONNECTING:
		/* 2.5.3.2: no endless Connecting. The cause is not known. */
		w->last_error = WANCONN_LASTERR_UNKNOWN;
		set_status(w, WANCONN_DISCONNECTED, now);
		emit(w, OUT_BRING_DOWN, w->status, w->status);   /* abort it */
		break;
	case WANCONN_CONNECTED:
		connected_deadline(w, &cause);
		start_termination(w, now, cause, true);
		break;
	case WANCONN_PENDING_DISCONNECT:
		begin_disconnect(w, now, w->pending_cause);
		break;
	case WANCONN_DISCONNECTING:
		/* The driver never reported: do not stay stuck refusing
		 * RequestConnection() with 707 forever. */
		log_debug("wanconn: disconnect not confirmed in %u s", w->disconnect_timeout_s);
		set_status(w, WANCONN_DISCONNECTED, now);
		break;
	default:
		return false;
	}
	return true;
}

void wanconn_tick(struct wanconn *w, uint64_t now)
{
	unsigned i;

	for (i = 0; i < WANCONN_TICK_STEPS; i++) {
		if (!tick_once(w, now))
			break;
	}
	dispatch(w);
}
