/*
 * wanipconn.c - the WANIPConnection:2 service table (WANIPConnection:2
 * sections 2.3 state variables, 2.4 eventing, 2.5 actions, 4 service
 * description) and the handlers of the connection and status actions
 * (sections 2.5.1 - 2.5.13, 2.5.20). One table serves both versions:
 * entries with min_version 2 are absent from the version-1 view.
 *
 * The connection actions run the WAN connection state machine
 * (core/wanconn.h, which returns the codes of Tables 2-13 - 2-24). The
 * ones that change the connection for every client need authorization,
 * as the spec recommends by default (2.5.1.3, 2.5.3.2, 2.5.4.2, 2.5.5.2,
 * 2.5.6.3 - 2.5.8.3): only the connection_control hosts may run them,
 * everyone else gets 606. One exception: RequestConnection on a
 * Connected link changes nothing for anyone (2.6.1: the client only
 * states that it will use the connection), so it succeeds for every LAN
 * client. The Get* actions and GetStatusInfo are open to the LAN
 * (clients such as miniupnpc need GetStatusInfo).
 */
#include "svc/wanipconn.h"

#include "core/mapping.h"
#include "core/wanconn.h"
#include "engine.h"
#include "svc/portmap.h"
#include "svc/svc_table.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- state variables (section 2.3, Table 2-2; eventing Table 2-9) ---- */

static const char *const connection_types[] = {
	"Unconfigured", "IP_Routed", "IP_Bridged", NULL,                 /* Table 2-3 */
};
static const char *const connection_states[] = {
	"Unconfigured", "Connecting", "Connected", "PendingDisconnect",  /* Table 2-4 */
	"Disconnecting", "Disconnected", NULL,
};
static const char *const connection_errors[] = {
	"ERROR_NONE", "ERROR_COMMAND_ABORTED", "ERROR_NOT_ENABLED_FOR_INTERNET", /* Table 2-5 */
	"ERROR_USER_DISCONNECT", "ERROR_ISP_DISCONNECT", "ERROR_IDLE_DISCONNECT",
	"ERROR_FORCED_DISCONNECT", "ERROR_NO_CARRIER", "ERROR_IP_CONFIGURATION",
	"ERROR_UNKNOWN", NULL,
};
static const char *const protocols[] = { "TCP", "UDP", NULL };  /* Table 2-8 */

static const struct statevar vars[] = {
	{ .name = "ConnectionType", .type = SVAR_STRING, .allowed = connection_types,
	  .default_value = "IP_Routed", .min_version = 1 },
	VAR("PossibleConnectionTypes", SVAR_STRING, true),
	{ .name = "ConnectionStatus", .type = SVAR_STRING, .evented = true,
	  .allowed = connection_states, .min_version = 1 },
	VAR("Uptime", SVAR_UI4, false),
	{ .name = "LastConnectionError", .type = SVAR_STRING, .allowed = connection_errors,
	  .min_version = 1 },
	VAR("AutoDisconnectTime", SVAR_UI4, false),
	VAR("IdleDisconnectTime", SVAR_UI4, false),
	VAR("WarnDisconnectDelay", SVAR_UI4, false),
	VAR("RSIPAvailable", SVAR_BOOLEAN, false),
	VAR("NATEnabled", SVAR_BOOLEAN, false),
	VAR("ExternalIPAddress", SVAR_STRING, true),
	VAR("PortMappingNumberOfEntries", SVAR_UI2, true),
	VAR("PortMappingEnabled", SVAR_BOOLEAN, false),
	{ .name = "PortMappingLeaseDuration", .type = SVAR_UI4, .ranged = true,  /* Table 2-6 */
	  .min = 0, .max = 604800, .min_version = 1 },
	VAR("RemoteHost", SVAR_STRING, false),
	VAR("ExternalPort", SVAR_UI2, false),
	/* Table 2-7; 0 is the wildcard AddPortMapping and AddAnyPortMapping
	 * refuse with the more specific 732 (2.5.16.6, 2.5.23). */
	{ .name = "InternalPort", .type = SVAR_UI2, .ranged = true,
	  .min = 1, .max = 65535, .range_error = UPNP_E_WILDCARD_NOT_PERMITTED_IN_INT_PORT,
	  .min_version = 1 },
	{ .name = "PortMappingProtocol", .type = SVAR_STRING, .allowed = protocols,
	  .min_version = 1 },
	VAR("InternalClient", SVAR_STRING, false),
	VAR("PortMappingDescription", SVAR_STRING, false),
	{ .name = "SystemUpdateID", .type = SVAR_UI4, .evented = true, .min_version = 2 },
	{ .name = "A_ARG_TYPE_Manage", .type = SVAR_BOOLEAN, .min_version = 2 },
	{ .name = "A_ARG_TYPE_PortListing", .type = SVAR_STRING, .min_version = 2 },
};

/* ---- arguments (section 4; Table 2-11 common parameters) ---- */

static const struct action_arg set_connection_type_args[] = {
	IN("NewConnectionType", "ConnectionType"),
};
static const struct action_arg get_connection_type_info_args[] = {
	OUT("NewConnectionType", "ConnectionType"),
	OUT("NewPossibleConnectionTypes", "PossibleConnectionTypes"),
};
static const struct action_arg set_auto_disconnect_args[] = {
	IN("NewAutoDisconnectTime", "AutoDisconnectTime"),
};
static const struct action_arg set_idle_disconnect_args[] = {
	IN("NewIdleDisconnectTime", "IdleDisconnectTime"),
};
static const struct action_arg set_warn_disconnect_args[] = {
	IN("NewWarnDisconnectDelay", "WarnDisconnectDelay"),
};
static const struct action_arg get_status_info_args[] = {
	OUT("NewConnectionStatus", "ConnectionStatus"),
	OUT("NewLastConnectionError", "LastConnectionError"),
	OUT("NewUptime", "Uptime"),
};
static const struct action_arg get_auto_disconnect_args[] = {
	OUT("NewAutoDisconnectTime", "AutoDisconnectTime"),
};
static const struct action_arg get_idle_disconnect_args[] = {
	OUT("NewIdleDisconnectTime", "IdleDisconnectTime"),
};
static const struct action_arg get_warn_disconnect_args[] = {
	OUT("NewWarnDisconnectDelay", "WarnDisconnectDelay"),
};
static const struct action_arg get_nat_rsip_status_args[] = {
	OUT("NewRSIPAvailable", "RSIPAvailable"),
	OUT("NewNATEnabled", "NATEnabled"),
};
/* The nat-api family sends index 0 as an empty element. */
static const struct action_arg get_generic_entry_args[] = {
	IN_EMPTY("NewPortMappingIndex", "PortMappingNumberOfEntries", ARG_EMPTY_ZERO),
	OUT("NewRemoteHost", "RemoteHost"),
	OUT("NewExternalPort", "ExternalPort"),
	OUT("NewProtocol", "PortMappingProtocol"),
	OUT("NewInternalPort", "InternalPort"),
	OUT("NewInternalClient", "InternalClient"),
	OUT("NewEnabled", "PortMappingEnabled"),
	OUT("NewPortMappingDescription", "PortMappingDescription"),
	OUT("NewLeaseDuration", "PortMappingLeaseDuration"),
};
static const struct action_arg get_specific_entry_args[] = {
	IN("NewRemoteHost", "RemoteHost"),
	IN("NewExternalPort", "ExternalPort"),
	IN("NewProtocol", "PortMappingProtocol"),
	OUT("NewInternalPort", "InternalPort"),
	OUT("NewInternalClient", "InternalClient"),
	OUT("NewEnabled", "PortMappingEnabled"),
	OUT("NewPortMappingDescription", "PortMappingDescription"),
	OUT("NewLeaseDuration", "PortMappingLeaseDuration"),
};
static const struct action_arg add_port_mapping_args[] = {
	IN("NewRemoteHost", "RemoteHost"),
	IN("NewExternalPort", "ExternalPort"),
	IN("NewProtocol", "PortMappingProtocol"),
	IN("NewInternalPort", "InternalPort"),
	IN("NewInternalClient", "InternalClient"),
	IN("NewEnabled", "PortMappingEnabled"),
	IN("NewPortMappingDescription", "PortMappingDescription"),
	IN("NewLeaseDuration", "PortMappingLeaseDuration"),
};
/* libp2p's nat-port-mapper deletes with an empty protocol: both
 * (portmap_delete()). */
static const struct action_arg delete_port_mapping_args[] = {
	IN("NewRemoteHost", "RemoteHost"),
	IN("NewExternalPort", "ExternalPort"),
	IN_EMPTY("NewProtocol", "PortMappingProtocol", ARG_EMPTY_HANDLER),
};
static const struct action_arg get_external_ip_args[] = {
	OUT("NewExternalIPAddress", "ExternalIPAddress"),
};
static const struct action_arg delete_range_args[] = {
	IN("NewStartPort", "ExternalPort"),
	IN("NewEndPort", "ExternalPort"),
	IN("NewProtocol", "PortMappingProtocol"),
	IN("NewManage", "A_ARG_TYPE_Manage"),
};
/* Section 4 spells the second argument "NewEndPoint"; Table 2-49, the
 * text of 2.5.21 and the clients say NewEndPort. */
static const struct action_arg get_list_args[] = {
	IN("NewStartPort", "ExternalPort"),
	IN("NewEndPort", "ExternalPort"),
	IN("NewProtocol", "PortMappingProtocol"),
	IN("NewManage", "A_ARG_TYPE_Manage"),
	IN("NewNumberOfPorts", "PortMappingNumberOfEntries"),
	OUT("NewPortListing", "A_ARG_TYPE_PortListing"),
};
static const struct action_arg add_any_port_mapping_args[] = {
	IN("NewRemoteHost", "RemoteHost"),
	IN("NewExternalPort", "ExternalPort"),
	IN("NewProtocol", "PortMappingProtocol"),
	IN("NewInternalPort", "InternalPort"),
	IN("NewInternalClient", "InternalClient"),
	IN("NewEnabled", "PortMappingEnabled"),
	IN("NewPortMappingDescription", "PortMappingDescription"),
	IN("NewLeaseDuration", "PortMappingLeaseDuration"),
	OUT("NewReservedPort", "ExternalPort"),
};

/* ---- handlers ---- */

static uint64_t now_ms(const struct action_ctx *ctx)
{
	return clock_now(&ctx->e->clock);
}

/* 606 unless the peer is one of the connection_control hosts. */
static int check_authorized(const struct action_ctx *ctx)
{
	char peer[IPADDR_STRLEN];

	if (engine_connection_allowed(ctx->e, &ctx->peer))
		return 0;
	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	log_debug("%s: %s refused (606): not a connection_control host", peer, ctx->act->name);
	return UPNP_E_ACTION_NOT_AUTHORIZED;
}

/* Log who changed the connection (the engine logs the transitions
 * themselves, whatever caused them) at info; a refusal, or a request
 * that changed nothing, at debug (a peer can repeat those at will). */
int wanipconn_error_code(enum wanconn_result r)
{
	switch (r) {
	case WANCONN_OK:
		return 0;
	case WANCONN_E_BAD_VALUE:
		return UPNP_E_ARG_VALUE_OUT_OF_RANGE;
	case WANCONN_E_INACTIVE_REQUIRED:
		return UPNP_E_INACTIVE_CONNECTION_STATE_REQUIRED;
	case WANCONN_E_SETUP_FAILED:
		return UPNP_E_CONNECTION_SETUP_FAILED;
	case WANCONN_E_SETUP_IN_PROGRESS:
		return UPNP_E_CONNECTION_SETUP_IN_PROGRESS;
	case WANCONN_E_NOT_CONFIGURED:
		return UPNP_E_CONNECTION_NOT_CONFIGURED;
	case WANCONN_E_DISCONNECT_IN_PROGRESS:
		return UPNP_E_DISCONNECT_IN_PROGRESS;
	case WANCONN_E_INTERNET_DISABLED:
		return UPNP_E_INTERNET_ACCESS_DISABLED;
	case WANCONN_E_INVALID_TYPE:
		return UPNP_E_INVALID_CONNECTION_TYPE;
	case WANCONN_E_ALREADY_TERMINATED:
		return UPNP_E_CONNECTION_ALREADY_TERMINATED;
	case WANCONN_E_READ_ONLY:
		return UPNP_E_READ_ONLY;
	case WANCONN_E_CANNOT_TERMINATE:
		return UPNP_E_ACTION_FAILED;
	}
	return UPNP_E_ACTION_FAILED;
}

static int log_outcome(const struct action_ctx *ctx, enum wanconn_status before,
		       enum wanconn_result res)
{
	char peer[IPADDR_STRLEN];
	int code = wanipconn_error_code(res);

	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	if (code != 0)
		log_debug("%s: %s refused (%d) while %s", peer, ctx->act->name, code,
			  wanconn_status_str(before));
	else if (wanconn_status(ctx->e->wan) != before)
		log_info("%s: %s", peer, ctx->act->name);
	else
		log_debug("%s: %s while %s", peer, ctx->act->name, wanconn_status_str(before));
	return code;
}

/* SetConnectionType() 2.5.1: 606, then wanconn's 601 731 703. A value
 * outside Table 2-3 never gets here: the dispatcher answers 601 for it
 * against the argument's allowedValueList, before any handler runs. */
static int set_connection_type(struct action_ctx *ctx)
{
	struct str type = action_in_str(ctx, "NewConnectionType");
	enum wanconn_status before = wanconn_status(ctx->e->wan);
	char peer[IPADDR_STRLEN];
	enum wanconn_result res;
	int r = check_authorized(ctx);

	if (r != 0)
		return r;
	res = wanconn_set_connection_type(ctx->e->wan, type);
	if (res != WANCONN_OK)
		return log_outcome(ctx, before, res);
	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	log_info("%s: SetConnectionType %s", peer,
		 wanconn_type_str(wanconn_connection_type(ctx->e->wan)));
	return 0;
}

static int get_connection_type_info(struct action_ctx *ctx)     /* 2.5.2 */
{
	const struct wanconn *w = ctx->e->wan;

	action_out_str(ctx, "NewConnectionType", wanconn_type_str(wanconn_connection_type(w)));
	action_out_str(ctx, "NewPossibleConnectionTypes", wanconn_possible_types(w));
	return 0;
}

/* 2.5.3: 606 706 710 709 705 707 704 (see the file comment for the
 * unauthorized client on a Connected link). */
static int request_connection(struct action_ctx *ctx)
{
	enum wanconn_status before = wanconn_status(ctx->e->wan);
	int r = 0;

	if (before != WANCONN_CONNECTED)
		r = check_authorized(ctx);
	if (r != 0)
		return r;
	return log_outcome(ctx, before, wanconn_request_connection(ctx->e->wan, now_ms(ctx)));
}

static int request_termination(struct action_ctx *ctx)  /* 2.5.4: 606 706 710 711 707 */
{
	enum wanconn_status before = wanconn_status(ctx->e->wan);
	int r = check_authorized(ctx);

	if (r != 0)
		return r;
	return log_outcome(ctx, before, wanconn_request_termination(ctx->e->wan, now_ms(ctx)));
}

static int force_termination(struct action_ctx *ctx)    /* 2.5.5: 606 706 710 711 707 */
{
	enum wanconn_status before = wanconn_status(ctx->e->wan);
	int r = check_authorized(ctx);

	if (r != 0)
		return r;
	return log_outcome(ctx, before, wanconn_force_termination(ctx->e->wan, now_ms(ctx)));
}

enum disconnect_timer { TIMER_AUTO, TIMER_IDLE, TIMER_WARN };

/* Set{AutoDisconnectTime,IdleDisconnectTime,WarnDisconnectDelay}()
 * 2.5.6 - 2.5.8: 606 (Tables 2-20, 2-22, 2-24), or 501 from wanconn for
 * a timer this link cannot honour. */
static int set_timer(struct action_ctx *ctx, const char *arg, enum disconnect_timer t)
{
	struct wanconn *w = ctx->e->wan;
	uint32_t v;
	int r = check_authorized(ctx);

	if (r != 0)
		return r;
	v = action_in_u32(ctx, arg);
	switch (t) {
	case TIMER_AUTO: r = wanipconn_error_code(wanconn_set_auto_disconnect_time(w, v)); break;
	case TIMER_IDLE: r = wanipconn_error_code(wanconn_set_idle_disconnect_time(w, v)); break;
	default: r = wanipconn_error_code(wanconn_set_warn_disconnect_delay(w, v)); break;
	}
	if (r == 0) {
		char peer[IPADDR_STRLEN];

		ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
		log_info("%s: %s %u", peer, ctx->act->name, v);
	}
	return r;
}

static int set_auto_disconnect_time(struct action_ctx *ctx)     /* 2.5.6 */
{
	return set_timer(ctx, "NewAutoDisconnectTime", TIMER_AUTO);
}

static int set_idle_disconnect_time(struct action_ctx *ctx)     /* 2.5.7 */
{
	return set_timer(ctx, "NewIdleDisconnectTime", TIMER_IDLE);
}

static int set_warn_disconnect_delay(struct action_ctx *ctx)    /* 2.5.8 */
{
	return set_timer(ctx, "NewWarnDisconnectDelay", TIMER_WARN);
}

static int get_status_info(struct action_ctx *ctx)      /* 2.5.9 */
{
	const struct wanconn *w = ctx->e->wan;

	action_out_str(ctx, "NewConnectionStatus", wanconn_status_str(wanconn_status(w)));
	action_out_str(ctx, "NewLastConnectionError", wanconn_lasterror_str(wanconn_last_error(w)));
	action_out_u32(ctx, "NewUptime", engine_uptime(ctx->e, now_ms(ctx)));
	return 0;
}

static int get_auto_disconnect_time(struct action_ctx *ctx)     /* 2.5.10 */
{
	action_out_u32(ctx, "NewAutoDisconnectTime", wanconn_auto_disconnect_time(ctx->e->wan));
	return 0;
}

static int get_idle_disconnect_time(struct action_ctx *ctx)     /* 2.5.11 */
{
	action_out_u32(ctx, "NewIdleDisconnectTime", wanconn_idle_disconnect_time(ctx->e->wan));
	return 0;
}

static int get_warn_disconnect_delay(struct action_ctx *ctx)    /* 2.5.12 */
{
	action_out_u32(ctx, "NewWarnDisconnectDelay", wanconn_warn_disconnect_delay(ctx->e->wan));
	return 0;
}

static int get_nat_rsip_status(struct action_ctx *ctx)  /* 2.5.13 */
{
	action_out_bool(ctx, "NewRSIPAvailable", false);
	action_out_bool(ctx, "NewNATEnabled", true);
	return 0;
}

static int get_external_ip(struct action_ctx *ctx)      /* 2.5.20 */
{
	char ip[INET_ADDRSTRLEN];

	engine_external_ip(ctx->e, ip);
	action_out_str(ctx, "NewExternalIPAddress", ip);
	return 0;
}

/* ---- the table ---- */

#define ACT0(n, v, f) { .name = (n), .args = NULL, .nargs = 0, .min_version = (v), .fn = (f) }

static const struct action actions[] = {
	ACT("SetConnectionType", set_connection_type_args, 1, set_connection_type),
	ACT("GetConnectionTypeInfo", get_connection_type_info_args, 1, get_connection_type_info),
	ACT0("RequestConnection", 1, request_connection),
	ACT0("RequestTermination", 1, request_termination),
	ACT0("ForceTermination", 1, force_termination),
	ACT("SetAutoDisconnectTime", set_auto_disconnect_args, 1, set_auto_disconnect_time),
	ACT("SetIdleDisconnectTime", set_idle_disconnect_args, 1, set_idle_disconnect_time),
	ACT("SetWarnDisconnectDelay", set_warn_disconnect_args, 1, set_warn_disconnect_delay),
	ACT("GetStatusInfo", get_status_info_args, 1, get_status_info),
	ACT("GetAutoDisconnectTime", get_auto_disconnect_args, 1, get_auto_disconnect_time),
	ACT("GetIdleDisconnectTime", get_idle_disconnect_args, 1, get_idle_disconnect_time),
	ACT("GetWarnDisconnectDelay", get_warn_disconnect_args, 1, get_warn_disconnect_delay),
	ACT("GetNATRSIPStatus", get_nat_rsip_status_args, 1, get_nat_rsip_status),
	ACT("GetGenericPortMappingEntry", get_generic_entry_args, 1, portmap_get_generic_entry),
	ACT("GetSpecificPortMappingEntry", get_specific_entry_args, 1, portmap_get_specific_entry),
	ACT("AddPortMapping", add_port_mapping_args, 1, portmap_add),
	ACT("DeletePortMapping", delete_port_mapping_args, 1, portmap_delete),
	ACT("GetExternalIPAddress", get_external_ip_args, 1, get_external_ip),
	ACT("DeletePortMappingRange", delete_range_args, 2, portmap_delete_range),
	ACT("GetListOfPortMappings", get_list_args, 2, portmap_get_list),
	ACT("AddAnyPortMapping", add_any_port_mapping_args, 2, portmap_add_any),
};

/* QueryStateVariable answers for the evented variables (Table 2-9). */
static int query(struct engine *e, const struct statevar *var, struct buf *out)
{
	char ip[INET_ADDRSTRLEN];
	size_t n;

	if (strcmp(var->name, "PossibleConnectionTypes") == 0)
		return buf_puts(out, wanconn_possible_types(e->wan)) < 0 ? UPNP_E_ACTION_FAILED : 0;
	if (strcmp(var->name, "ConnectionStatus") == 0)
		return buf_puts(out, wanconn_status_str(wanconn_status(e->wan))) < 0
			? UPNP_E_ACTION_FAILED : 0;
	if (strcmp(var->name, "ExternalIPAddress") == 0) {
		engine_external_ip(e, ip);
		return buf_puts(out, ip) < 0 ? UPNP_E_ACTION_FAILED : 0;
	}
	if (strcmp(var->name, "PortMappingNumberOfEntries") == 0) {
		n = map_count(e->maps);
		/* ui2 (section 2.3.14) although the table may hold more */
		return buf_printf(out, "%zu", n > UINT16_MAX ? (size_t)UINT16_MAX : n) < 0
			? UPNP_E_ACTION_FAILED : 0;
	}
	if (strcmp(var->name, "SystemUpdateID") == 0)
		return buf_printf(out, "%" PRIu32, e->system_update_id) < 0
			? UPNP_E_ACTION_FAILED : 0;
	return UPNP_E_INVALID_VAR;
}

static const struct service wanipconn = {
	.type = WANIPCONN_TYPE,
	.version = 2,
	.service_id = "urn:upnp-org:serviceId:WANIPConn1",
	.control_url = "/ctl/IPConn",
	.event_url = "/evt/IPConn",
	.scpd_url = "/WANIPCn.xml",
	.scpd_url_v1 = "/WANIPCn1.xml",
	.vars = vars,
	.nvars = N(vars),
	.actions = actions,
	.nactions = N(actions),
	.query = query,
};

const struct service *wanipconn_service(void)
{
	return &wanipconn;
}
