/*
 * wanconn.h - the WAN connection state machine of WANIPConnection:2:
 * ConnectionType, PossibleConnectionTypes, ConnectionStatus, Uptime,
 * LastConnectionError and the disconnect timers (sections 2.3.3 - 2.3.10),
 * the connection actions (2.5.1 - 2.5.12), the behavioural model of
 * connection initiation and termination (2.6.1, 2.6.2), plus
 * EnabledForInternet of WANCommonInterfaceConfig.
 *
 * A pure module: no sockets, no clock reads, no logging above debug. Time
 * comes in as a monotonic millisecond argument (`now`). The owner learns
 * what to do and what changed through struct wanconn_ops; after every call
 * it re-reads wanconn_next_deadline() and calls wanconn_tick() then.
 *
 * Action calls return an enum wanconn_result: WANCONN_OK or the reason
 * for a refusal, one for each error of the spec's tables; svc/wanipconn.c
 * (wanipconn_error_code()) turns it into the UPnP code (the layer rule:
 * core knows no svc).
 * Driver calls (link_up, ...) return 0 or a negative errno.
 *
 * Callback rule (re-entrancy): the module finishes each state change
 * before it tells anyone, and queues its outputs (status changes, bring
 * up, bring down) in the order the changes happened. The outermost call
 * into the module delivers the queue; a callback MAY call back into the
 * module (e.g. a synchronous driver reporting wanconn_link_up() from
 * on_bring_up()), in which case the nested call only changes state and
 * queues, and the outer loop delivers its outputs after the current
 * callback returns. So callbacks are never nested, and always seen in
 * transition order; a callback reading wanconn_status() sees the newest
 * state, which can be ahead of the transition it is being told about.
 * A callback must not call wanconn_free().
 */
#ifndef IGDD_WANCONN_H
#define IGDD_WANCONN_H

#include <stdbool.h>
#include <stdint.h>

#include "util/str.h"

/* ConnectionType, Table 2-3 (2.3.3). */
enum wanconn_type {
	WANCONN_TYPE_UNCONFIGURED,
	WANCONN_TYPE_IP_ROUTED,
	WANCONN_TYPE_IP_BRIDGED,
	WANCONN_TYPE_COUNT
};

#define WANCONN_TYPE_BIT(t) (1u << (t))

/* ConnectionStatus, Table 2-4 (2.3.5). */
enum wanconn_status {
	WANCONN_UNCONFIGURED,
	WANCONN_CONNECTING,
	WANCONN_CONNECTED,
	WANCONN_PENDING_DISCONNECT,
	WANCONN_DISCONNECTING,
	WANCONN_DISCONNECTED,
	WANCONN_STATUS_COUNT
};

/* LastConnectionError, Table 2-5 (2.3.7). */
enum wanconn_lasterror {
	WANCONN_LASTERR_NONE,
	WANCONN_LASTERR_COMMAND_ABORTED,
	WANCONN_LASTERR_NOT_ENABLED_FOR_INTERNET,
	WANCONN_LASTERR_ISP_DISCONNECT,
	WANCONN_LASTERR_USER_DISCONNECT,
	WANCONN_LASTERR_IDLE_DISCONNECT,
	WANCONN_LASTERR_FORCED_DISCONNECT,
	WANCONN_LASTERR_NO_CARRIER,
	WANCONN_LASTERR_IP_CONFIGURATION,
	WANCONN_LASTERR_UNKNOWN,
	WANCONN_LASTERR_COUNT
};

#define WANCONN_CONNECT_TIMEOUT_DEFAULT_S     60
#define WANCONN_DISCONNECT_TIMEOUT_DEFAULT_S  60

struct wanconn_config {
	enum wanconn_type type;         /* initial ConnectionType (IP_Routed) */
	unsigned possible;              /* PossibleConnectionTypes: WANCONN_TYPE_BIT()s of
	                                 * IP_Routed / IP_Bridged (IP_Routed only) */
	bool type_read_only;            /* SetConnectionType() -> 731 (false) */
	bool termination_supported;     /* false: always-on link that cannot be
	                                 * brought down (true) */
	bool enabled_for_internet;      /* WANCommonInterfaceConfig (true) */
	uint32_t auto_disconnect_s;     /* AutoDisconnectTime (0 = off) */
	uint32_t idle_disconnect_s;     /* IdleDisconnectTime (0 = off) */
	uint32_t warn_disconnect_s;     /* WarnDisconnectDelay (0) */
	uint32_t connect_timeout_s;     /* longest Connecting (2.5.3.2; 60) */
	uint32_t disconnect_timeout_s;  /* longest Disconnecting (60) */
};

struct wanconn;

/*
 * What the module asks of its owner. Every member may be NULL. w is the
 * module itself, arg the pointer given to wanconn_new(). See the callback
 * rule above.
 *
 * on_status_change: ConnectionStatus changed (evented: 2.4.2).
 * on_bring_up: start connecting; report the outcome with wanconn_link_up()
 *   or wanconn_link_failed(), synchronously or later.
 * on_bring_down: start disconnecting (or abort a connect attempt); report
 *   completion with wanconn_link_down_done(). After a connect timeout the
 *   module is already Disconnected and ignores that report.
 */
struct wanconn_ops {
	void (*on_status_change)(struct wanconn *w, enum wanconn_status old_status,
	                         enum wanconn_status new_status, void *arg);
	void (*on_bring_up)(struct wanconn *w, void *arg);
	void (*on_bring_down)(struct wanconn *w, void *arg);
};

/* Fill c with the defaults noted in struct wanconn_config. */
void wanconn_config_default(struct wanconn_config *c);

/*
 * A new connection in Disconnected (Unconfigured when cfg->type is
 * Unconfigured); an always-on driver then reports wanconn_link_up(). cfg
 * is copied; ops (when not NULL) and arg must outlive the module. NULL
 * with errno EINVAL for an inconsistent cfg (type not among possible,
 * auto/idle timers without termination support), ENOMEM.
 */
struct wanconn *wanconn_new(const struct wanconn_config *cfg,
                            const struct wanconn_ops *ops, void *arg);
void wanconn_free(struct wanconn *w);

/* --- Actions (2.5): WANCONN_OK or the refusal ------------------------- */

/* Why an action is refused; the UPnP error code each becomes
 * (wanipconn_error_code()) in the comment. */
enum wanconn_result {
	WANCONN_OK = 0,
	WANCONN_E_BAD_VALUE,                    /* 601 ArgumentValueOutOfRange */
	WANCONN_E_INACTIVE_REQUIRED,            /* 703 InactiveConnectionStateRequired */
	WANCONN_E_SETUP_FAILED,                 /* 704 ConnectionSetupFailed */
	WANCONN_E_SETUP_IN_PROGRESS,            /* 705 ConnectionSetupInProgress */
	WANCONN_E_NOT_CONFIGURED,               /* 706 ConnectionNotConfigured */
	WANCONN_E_DISCONNECT_IN_PROGRESS,       /* 707 DisconnectInProgress */
	WANCONN_E_INTERNET_DISABLED,            /* 709 InternetAccessDisabled */
	WANCONN_E_INVALID_TYPE,                 /* 710 InvalidConnectionType */
	WANCONN_E_ALREADY_TERMINATED,           /* 711 ConnectionAlreadyTerminated */
	WANCONN_E_READ_ONLY,                    /* 731 ReadOnly */
	WANCONN_E_CANNOT_TERMINATE,             /* 501 ActionFailed: no way down */
};

/* SetConnectionType() 2.5.1: text is NewConnectionType. 601, 731, 703. */
enum wanconn_result wanconn_set_connection_type(struct wanconn *w, struct str text);
/* RequestConnection() 2.5.3: 706, 710, 709, 705, 707, 704. */
enum wanconn_result wanconn_request_connection(struct wanconn *w, uint64_t now);
/* RequestTermination() 2.5.4: 706, 710, 711, 707, 501. */
enum wanconn_result wanconn_request_termination(struct wanconn *w, uint64_t now);
/* ForceTermination() 2.5.5: 706, 710, 711, 707, 501. */
enum wanconn_result wanconn_force_termination(struct wanconn *w, uint64_t now);
/* Set{AutoDisconnectTime,IdleDisconnectTime,WarnDisconnectDelay}()
 * 2.5.6 - 2.5.8, in seconds: 0, or 501 for a non-zero auto/idle time
 * when termination is not supported. A change applies to the running
 * timer, measured from its original start. */
enum wanconn_result wanconn_set_auto_disconnect_time(struct wanconn *w, uint32_t seconds);
enum wanconn_result wanconn_set_idle_disconnect_time(struct wanconn *w, uint32_t seconds);
enum wanconn_result wanconn_set_warn_disconnect_delay(struct wanconn *w, uint32_t seconds);
/* SetEnabledForInternet() of WANCommonInterfaceConfig: false terminates an
 * active connection (2.6.2 cause 4); 501 when that would need a
 * termination that is not supported (nothing changes then). */
enum wanconn_result wanconn_set_enabled_for_internet(struct wanconn *w, bool enabled, uint64_t now);

/* --- State variables (GetConnectionTypeInfo, GetStatusInfo, Get*) ----- */

enum wanconn_type wanconn_connection_type(const struct wanconn *w);
/* PossibleConnectionTypes as CSV ("IP_Routed"); lives as long as w. */
const char *wanconn_possible_types(const struct wanconn *w);
enum wanconn_status wanconn_status(const struct wanconn *w);
enum wanconn_lasterror wanconn_last_error(const struct wanconn *w);
/* Uptime (2.3.6): whole seconds since the connection came up while it is
 * up (Connected or PendingDisconnect), else 0; saturates at UINT32_MAX. */
uint32_t wanconn_uptime(const struct wanconn *w, uint64_t now);
uint32_t wanconn_auto_disconnect_time(const struct wanconn *w);
uint32_t wanconn_idle_disconnect_time(const struct wanconn *w);
uint32_t wanconn_warn_disconnect_delay(const struct wanconn *w);
bool wanconn_enabled_for_internet(const struct wanconn *w);
bool wanconn_type_read_only(const struct wanconn *w);
bool wanconn_termination_supported(const struct wanconn *w);

/* --- Driver events: 0, or -EALREADY when the event does not apply in
 * the current state (ignored, state unchanged) ------------------------- */

/* The connect attempt succeeded, or an always-on link came up by itself:
 * Connecting or Disconnected -> Connected, LastConnectionError
 * ERROR_NONE, Uptime and the auto/idle timers start. If EnabledForInternet
 * is false the module then terminates the connection at once. */
int wanconn_link_up(struct wanconn *w, uint64_t now);
/* The connect attempt failed or the up link went down: -> Disconnected.
 * err is recorded as LastConnectionError; WANCONN_LASTERR_NONE stands for
 * the default, ERROR_UNKNOWN for a failed attempt and ERROR_ISP_DISCONNECT
 * for a lost connection. While Disconnecting it simply completes the
 * disconnect (the termination's cause is kept). */
int wanconn_link_failed(struct wanconn *w, uint64_t now, enum wanconn_lasterror err);
/* The disconnect asked by on_bring_down() finished: Disconnecting ->
 * Disconnected. */
int wanconn_link_down_done(struct wanconn *w, uint64_t now);
/* Traffic was seen (not layer 2 heartbeats: 2.3.9): restarts the idle
 * timer while Connected; ignored otherwise. */
void wanconn_activity(struct wanconn *w, uint64_t now);

/* --- Timers ----------------------------------------------------------- */

/* Monotonic ms of the next due timer, 0 when none runs. */
uint64_t wanconn_next_deadline(const struct wanconn *w);
/* Apply every timer due at now: auto / idle disconnect, the end of
 * PendingDisconnect, the connect and disconnect timeouts. */
void wanconn_tick(struct wanconn *w, uint64_t now);

/* --- Value strings ---------------------------------------------------- */

/* The spec's spelling, or NULL for an out-of-range value. */
const char *wanconn_type_str(enum wanconn_type t);
const char *wanconn_status_str(enum wanconn_status s);
const char *wanconn_lasterror_str(enum wanconn_lasterror e);
/* NULL-terminated allowedValueLists (Tables 2-3, 2-4, 2-5) for the SCPD. */
const char *const *wanconn_type_values(void);
const char *const *wanconn_status_values(void);
const char *const *wanconn_lasterror_values(void);
/* Exact (case-sensitive) match against Table 2-3: 0 or -EINVAL. */
int wanconn_type_parse(struct str s, enum wanconn_type *ret);

#endif
