/*
 * action.h - one table describes each UPnP service: its state variables
 * and its actions with their argument schema. The same table dispatches
 * SOAP requests (svc/action.c) and generates the SCPD documents
 * (svc/describe.c): one source (UDA 1.1 sections 2.5 and 3).
 *
 * A handler reads validated IN arguments and writes OUT arguments through
 * the accessors below; it returns 0 or a UPnP error code (401..899).
 */
#ifndef IGDD_ACTION_H
#define IGDD_ACTION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/ipaddr.h"
#include "util/limits.h"
#include "util/str.h"

struct engine;

enum svar_type { SVAR_STRING, SVAR_UI2, SVAR_UI4, SVAR_I4, SVAR_BOOLEAN };

struct statevar {
	const char *name;
	enum svar_type type;
	bool evented;
	const char *const *allowed;     /* NULL-terminated allowedValueList, or NULL */
	bool ranged;                    /* allowedValueRange min..max */
	uint32_t min, max;
	int range_error;                /* error for a value out of range (0: 601) */
	const char *default_value;      /* or NULL */
	unsigned min_version;           /* first service version with this variable */
};

/*
 * What an empty value of an IN argument means. By default it is checked
 * like any other value: not a number (402), not in the allowedValueList
 * (601). The other two are tolerances for forms real clients send
 * (docs/POLICY.md, "Known client bugs"), each on one argument only.
 */
enum arg_empty {
	ARG_EMPTY_CHECKED = 0,
	ARG_EMPTY_ZERO,                 /* a number: "" reads as 0 */
	ARG_EMPTY_HANDLER,              /* passes the checks; the handler gives "" its meaning */
};

struct action_arg {
	const char *name;
	bool out;
	const char *var;                /* relatedStateVariable */
	enum arg_empty empty;           /* IN arguments only */
};

struct action_ctx;
typedef int (*action_fn)(struct action_ctx *ctx);

struct action {
	const char *name;
	const struct action_arg *args;
	unsigned nargs;
	unsigned min_version;           /* 2 for actions new in WANIPConnection:2 */
	action_fn fn;
};

/*
 * QueryStateVariable (UDA 1.0 section 3.2.2; deprecated by UDA 1.1 but
 * still sent by some control points): write the current value of var,
 * a variable of this service, as plain text (the dispatcher escapes it).
 * Returns 0 or a UPnP error code (404 for a variable not reported).
 */
typedef int (*service_query_fn)(struct engine *e, const struct statevar *var, struct buf *out);

/* An errorDescription a service gives a code its own meaning for
 * (WANIPv6FirewallControl:1 reuses 701-709 with other names). */
struct service_error {
	int code;
	const char *text;
};

struct service {
	const char *type;               /* without version: "urn:schemas-upnp-org:service:WANIPConnection" */
	unsigned version;               /* highest version implemented */
	const char *service_id;         /* "urn:upnp-org:serviceId:WANIPConn1" */
	const char *control_url;        /* "/ctl/IPConn" */
	const char *event_url;          /* "/evt/IPConn" */
	const char *scpd_url;           /* "/WANIPCn.xml" (highest version) */
	const char *scpd_url_v1;        /* "/WANIPCn1.xml" (version 1 view) or NULL */
	const struct statevar *vars;
	unsigned nvars;
	const struct action *actions;
	unsigned nactions;
	service_query_fn query;         /* or NULL: QueryStateVariable gets 401 */
	const struct service_error *errors;     /* or NULL: upnp_error_text() alone */
	unsigned nerrors;
};

/* One validated argument value. */
struct action_value {
	bool present;
	struct str text;                /* raw text, entity-decoded */
	uint32_t u;                     /* ui2/ui4 (and i4 bits) */
	bool b;                         /* boolean */
};

struct action_later;

/* A handler's state that lives as long as its request (action_state()). */
#define ACTION_STATE_SIZE 128

struct action_ctx {
	struct engine *e;
	const struct service *svc;
	const struct action *act;
	unsigned version;               /* service version named by the request */
	struct ipaddr peer;             /* the control point */
	unsigned lan;                   /* the LAN its request arrived on (engine_lan()) */
	struct action_value in[IGDD_SOAP_MAX_ARGS];  /* indexed like act->args */
	struct buf *out;                /* response arguments as XML elements */
	unsigned nout;                  /* OUT arguments written so far */
	int out_err;
	struct buf_stream stream;       /* the last OUT argument, written in parts */
	const char *stream_name;        /* its name, when there is one */
	/* The answer may come later (the transport waits; NULL: it cannot,
	 * every change completes before the handler returns). */
	struct action_later *later;
	_Alignas(max_align_t) unsigned char state[ACTION_STATE_SIZE];
};

/*
 * Answers that come later (docs/ARCHITECTURE.md, "Holding a reply").
 * A handler that changes mappings calls action_turn() first: the
 * engine runs one change at a time (engine_tx.h), and a request that
 * comes while one is under way waits for its turn in the engine's queue
 * (the handler runs again, whole, then). Its change then takes
 * action_tx()'s transaction; a call that answers ENGINE_TX_PENDING is
 * followed by return action_pending(ctx, finish): finish(ctx, tx) runs
 * when the change completes and returns the handler's code (0, a UPnP
 * error, or ACTION_PENDING again after starting another change), its
 * OUT arguments written then. Without ctx->later all of this completes
 * before the handler returns (the tests' dispatch, action_dispatch()).
 */
#define ACTION_PENDING 1
struct engine_tx;
typedef int (*action_finish_fn)(struct action_ctx *ctx, struct engine_tx *tx);
/* 0: change now; ACTION_PENDING: wait for the turn; 501 when the queue
 * (or this host's share of it) is full. */
int action_turn(struct action_ctx *ctx);
/* The transaction for a change: the later answer's own (completion set),
 * or *local, initialised with flags. */
struct engine_tx *action_tx(struct action_ctx *ctx, struct engine_tx *local, unsigned flags);
int action_pending(struct action_ctx *ctx, action_finish_fn finish);
/*
 * Answer only once the upstream mirror has answered about the mapping
 * (proto, ext_port) just made (engine_up_wait(), docs/POLICY.md "Behind
 * another NAT"), at most IGDD_UPSTREAM_REPLY_WAIT_MS: finish(ctx, o)
 * then runs from the loop and returns the handler's code as a finish of
 * action_pending() does; at once where the answer is known or the
 * answer cannot wait (no ctx->later: o is NULL).
 */
struct engine_up_outcome;
typedef int (*action_up_fn)(struct action_ctx *ctx, const struct engine_up_outcome *o);
int action_up_wait(struct action_ctx *ctx, uint8_t proto, uint16_t ext_port, action_up_fn finish);
/* ctx->state, for a handler's own state (size at most ACTION_STATE_SIZE). */
void *action_state(struct action_ctx *ctx, size_t size);


/* IN accessors: name must be an IN argument of the action (programmer
 * error otherwise: asserts). Absent optional text reads as empty. */
struct str action_in_str(const struct action_ctx *ctx, const char *name);
uint32_t action_in_u32(const struct action_ctx *ctx, const char *name);
bool action_in_bool(const struct action_ctx *ctx, const char *name);

/* OUT writers: must be called in the schema's order for the OUT
 * arguments; the value is XML-escaped. */
void action_out_str(struct action_ctx *ctx, const char *name, const char *value);
void action_out_strn(struct action_ctx *ctx, const char *name, const char *value, size_t len);
/* An XML fragment (A_ARG_TYPE_PortListing), sent as CDATA. */
void action_out_fragment(struct action_ctx *ctx, const char *name, const char *value, size_t len);
/*
 * The same as a body written in parts (buf_stream, util/buf.h) as the
 * peer takes them, for a fragment too long to hold whole (a listing of
 * the table): it must be the action's last OUT argument, and its parts
 * must be XML text that never holds "]]>" (values escaped, '>' too),
 * since it travels as CDATA. Takes *s (emptied); released on an error.
 */
void action_out_stream(struct action_ctx *ctx, const char *name, struct buf_stream *s);
void action_out_u32(struct action_ctx *ctx, const char *name, uint32_t value);
void action_out_bool(struct action_ctx *ctx, const char *name, bool value);

/* The errorDescription for a UPnP error code ("Invalid Args", ...). */
const char *upnp_error_text(int code);
/* The same in svc's own table first (svc may be NULL). */
const char *service_error_text(const struct service *svc, int code);

/* UPnP error codes used across the services (UDA 1.1 3.2.2, WANIPConnection:2 2.5.23). */
enum upnp_error {
	UPNP_E_INVALID_ACTION = 401,
	UPNP_E_INVALID_ARGS = 402,
	UPNP_E_INVALID_VAR = 404,       /* QueryStateVariable only (UDA 1.0 3.2.2) */
	UPNP_E_ACTION_FAILED = 501,
	UPNP_E_ARG_VALUE_INVALID = 600,
	UPNP_E_ARG_VALUE_OUT_OF_RANGE = 601,
	UPNP_E_OPTIONAL_ACTION_NOT_IMPLEMENTED = 602,
	UPNP_E_OUT_OF_MEMORY = 603,
	UPNP_E_HUMAN_INTERVENTION = 604,
	UPNP_E_STRING_TOO_LONG = 605,
	UPNP_E_ACTION_NOT_AUTHORIZED = 606,
	UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED = 703,
	UPNP_E_CONNECTION_SETUP_FAILED = 704,
	UPNP_E_CONNECTION_SETUP_IN_PROGRESS = 705,
	UPNP_E_CONNECTION_NOT_CONFIGURED = 706,
	UPNP_E_DISCONNECT_IN_PROGRESS = 707,
	UPNP_E_INVALID_LAYER2_ADDRESS = 708,
	UPNP_E_INTERNET_ACCESS_DISABLED = 709,
	UPNP_E_INVALID_CONNECTION_TYPE = 710,
	UPNP_E_CONNECTION_ALREADY_TERMINATED = 711,
	UPNP_E_SPECIFIED_ARRAY_INDEX_INVALID = 713,
	UPNP_E_NO_SUCH_ENTRY_IN_ARRAY = 714,
	UPNP_E_WILDCARD_NOT_PERMITTED_IN_SRC_IP = 715,
	UPNP_E_WILDCARD_NOT_PERMITTED_IN_EXT_PORT = 716,
	UPNP_E_CONFLICT_IN_MAPPING_ENTRY = 718,
	UPNP_E_NO_PORT_MAPS_AVAILABLE = 728,
	UPNP_E_CONFLICT_WITH_OTHER_MECHANISMS = 729,
	UPNP_E_PORT_MAPPING_NOT_FOUND = 730,
	UPNP_E_READ_ONLY = 731,
	UPNP_E_WILDCARD_NOT_PERMITTED_IN_INT_PORT = 732,
	UPNP_E_INCONSISTENT_PARAMETERS = 733,
};

/* The namespace of QueryStateVariable and of UPnPError (UDA 1.1 3.2). */
#define UPNP_CONTROL_NS "urn:schemas-upnp-org:control-1-0"

/*
 * Run one SOAP control request (UDA 1.1 section 3.2) against svc, the
 * service at the control URL it was posted to: the SOAPACTION header
 * (NULL when absent) must agree with the body; the body may name any
 * version of the service up to svc->version; the arguments must fit the
 * schema. Calls the handler and writes the whole response envelope, or
 * a UPnPError fault, into out. Returns the HTTP status: 200, 500 (fault
 * in out), or 400 when the body is no SOAP request at all (not
 * well-formed, a DOCTYPE, too deep; out is left empty).
 */
int action_dispatch(struct engine *e, const struct service *svc, const char *soapaction,
		    struct str body, const struct ipaddr *peer, unsigned lan, struct buf *out);
/*
 * The same, for an HTTP server that writes a long answer in parts: when
 * the action streamed its last argument (action_out_stream()), out holds
 * the response up to there and *ret_stream (the caller's from then on)
 * writes the rest, end of the envelope included; otherwise
 * *ret_stream is left empty. (action_dispatch() writes it all into out,
 * answering 501 if out's maximum is too small.)
 */
int action_dispatch_stream(struct engine *e, const struct service *svc, const char *soapaction,
			   struct str body, const struct ipaddr *peer, unsigned lan,
			   struct buf *out, struct buf_stream *ret_stream);

/*
 * The same for a transport that can wait for the answer: ACTION_WAIT
 * (0) and *ret_later when it comes later. The transport then binds it
 * (fn(arg, status, out, stream) runs once, from the loop, with the
 * answer as action_dispatch_stream() writes it: fn takes out's contents
 * and *stream), or drops it when its client left (the change under way
 * still completes; nothing is answered; a request still waiting for
 * its turn is withdrawn).
 */
#define ACTION_WAIT 0
typedef void (*action_later_fn)(void *arg, int status, struct buf *out, struct buf_stream *stream);
int action_dispatch_wait(struct engine *e, const struct service *svc, const char *soapaction,
			 struct str body, const struct ipaddr *peer, unsigned lan,
			 struct buf *out, struct buf_stream *ret_stream,
			 struct action_later **ret_later);
void action_later_bind(struct action_later *l, action_later_fn fn, void *arg);
void action_later_drop(struct action_later *l);

#endif
