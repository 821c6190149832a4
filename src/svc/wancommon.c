/*
 * wancommon.c - WANCommonInterfaceConfig:1 (service template 1.01,
 * sections 2.2 state variables and 2.4 actions): the six read-only
 * actions clients use, answered from the backend's struct backend_wan,
 * and the optional SetEnabledForInternet, which runs the WAN connection
 * state machine (core/wanconn.h; WANIPConnection:2 2.6.2 cause 4) and so
 * needs the same authorization as the connection-changing actions of
 * WANIPConnection (connection_control; 606 otherwise).
 * EnabledForInternet comes from the connection, PhysicalLinkStatus from
 * the backend's link. The ui4 counters wrap modulo 2^32 as the
 * template's ui4 type demands. The active-connection actions (optional)
 * are not offered. WANAccessType and the Layer1 bit rates are the
 * configuration's (wan_access_type, wan_*stream_bitrate) when set, else
 * the backend's.
 */
#include "svc/wancommon.h"

#include "backend/backend.h"
#include "conf/config.h"
#include "core/wanconn.h"
#include "engine.h"
#include "svc/svc_table.h"
#include "svc/wanipconn.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <string.h>

static const char *const access_types[] = { "DSL", "POTS", "Cable", "Ethernet", NULL };
static const char *const link_states[] = { "Up", "Down", "Initializing", "Unavailable", NULL };

static const struct statevar vars[] = {
	{ .name = "WANAccessType", .type = SVAR_STRING, .allowed = access_types,
	  .min_version = 1 },
	VAR("Layer1UpstreamMaxBitRate", SVAR_UI4, false),
	VAR("Layer1DownstreamMaxBitRate", SVAR_UI4, false),
	{ .name = "PhysicalLinkStatus", .type = SVAR_STRING, .evented = true,
	  .allowed = link_states, .min_version = 1 },
	VAR("EnabledForInternet", SVAR_BOOLEAN, true),
	VAR("TotalBytesSent", SVAR_UI4, false),
	VAR("TotalBytesReceived", SVAR_UI4, false),
	VAR("TotalPacketsSent", SVAR_UI4, false),
	VAR("TotalPacketsReceived", SVAR_UI4, false),
};

static const struct action_arg set_enabled_args[] = {
	IN("NewEnabledForInternet", "EnabledForInternet"),
};
static const struct action_arg get_enabled_args[] = {
	OUT("NewEnabledForInternet", "EnabledForInternet"),
};
static const struct action_arg get_link_args[] = {
	OUT("NewWANAccessType", "WANAccessType"),
	OUT("NewLayer1UpstreamMaxBitRate", "Layer1UpstreamMaxBitRate"),
	OUT("NewLayer1DownstreamMaxBitRate", "Layer1DownstreamMaxBitRate"),
	OUT("NewPhysicalLinkStatus", "PhysicalLinkStatus"),
};
static const struct action_arg bytes_sent_args[] = {
	OUT("NewTotalBytesSent", "TotalBytesSent"),
};
static const struct action_arg bytes_received_args[] = {
	OUT("NewTotalBytesReceived", "TotalBytesReceived"),
};
static const struct action_arg packets_sent_args[] = {
	OUT("NewTotalPacketsSent", "TotalPacketsSent"),
};
static const struct action_arg packets_received_args[] = {
	OUT("NewTotalPacketsReceived", "TotalPacketsReceived"),
};

static int wan_status(struct engine *e, struct backend_wan *ret)
{
	memset(ret, 0, sizeof(*ret));
	return e->backend.ops->wan_status(&e->backend, ret);
}

/*
 * SetEnabledForInternet: 606 for a host outside connection_control;
 * false terminates an active connection at once (no warning), and
 * RequestConnection then answers 709 until it is true again; 501 from
 * wanconn when the link cannot be brought down.
 */
static int set_enabled(struct action_ctx *ctx)
{
	struct engine *e = ctx->e;
	bool want = action_in_bool(ctx, "NewEnabledForInternet");
	bool was = wanconn_enabled_for_internet(e->wan);
	char peer[IPADDR_STRLEN];
	int r;

	ipaddr_ntop(&ctx->peer, peer, sizeof(peer));
	if (!engine_connection_allowed(e, &ctx->peer)) {
		log_debug("%s: SetEnabledForInternet refused (606): not a connection_control host",
			  peer);
		return UPNP_E_ACTION_NOT_AUTHORIZED;
	}
	r = wanipconn_error_code(wanconn_set_enabled_for_internet(e->wan, want,
								     clock_now(&e->clock)));
	if (r != 0) {
		log_debug("%s: SetEnabledForInternet %d refused (%d)", peer, want, r);
		return r;
	}
	if (want != was) {
		log_info("%s: SetEnabledForInternet %d", peer, want);
		engine_changed(e, ENGINE_CHG_WAN_LINK);
	}
	return 0;
}

static int get_enabled(struct action_ctx *ctx)
{
	action_out_bool(ctx, "NewEnabledForInternet", wanconn_enabled_for_internet(ctx->e->wan));
	return 0;
}

static int get_link(struct action_ctx *ctx)
{
	const struct config *c = ctx->e->cfg;
	struct backend_wan w;

	if (wan_status(ctx->e, &w) < 0)
		return UPNP_E_ACTION_FAILED;
	/* The admin's values first: a PPPoE link reports no speed, and a
	 * DSL or cable line's up and down rates differ. */
	action_out_str(ctx, "NewWANAccessType", c->wan_access_type[0] ? c->wan_access_type :
			w.access_type[0] ? w.access_type : "Ethernet");
	action_out_u32(ctx, "NewLayer1UpstreamMaxBitRate",
		       c->wan_upstream_bitrate ? c->wan_upstream_bitrate : w.up_bitrate);
	action_out_u32(ctx, "NewLayer1DownstreamMaxBitRate",
		       c->wan_downstream_bitrate ? c->wan_downstream_bitrate : w.down_bitrate);
	action_out_str(ctx, "NewPhysicalLinkStatus", w.link_up ? "Up" : "Down");
	return 0;
}

enum counter { BYTES_SENT, BYTES_RECEIVED, PACKETS_SENT, PACKETS_RECEIVED };

/* One counter, modulo 2^32 (ui4). */
static int get_counter(struct action_ctx *ctx, const char *arg, enum counter c)
{
	struct backend_wan w;
	uint64_t v;

	if (wan_status(ctx->e, &w) < 0)
		return UPNP_E_ACTION_FAILED;
	switch (c) {
	case BYTES_SENT: v = w.bytes_sent; break;
	case BYTES_RECEIVED: v = w.bytes_received; break;
	case PACKETS_SENT: v = w.packets_sent; break;
	default: v = w.packets_received; break;
	}
	action_out_u32(ctx, arg, (uint32_t)(v & 0xffffffffu));
	return 0;
}

static int bytes_sent(struct action_ctx *ctx)
{
	return get_counter(ctx, "NewTotalBytesSent", BYTES_SENT);
}

static int bytes_received(struct action_ctx *ctx)
{
	return get_counter(ctx, "NewTotalBytesReceived", BYTES_RECEIVED);
}

static int packets_sent(struct action_ctx *ctx)
{
	return get_counter(ctx, "NewTotalPacketsSent", PACKETS_SENT);
}

static int packets_received(struct action_ctx *ctx)
{
	return get_counter(ctx, "NewTotalPacketsReceived", PACKETS_RECEIVED);
}

static const struct action actions[] = {
	ACT("SetEnabledForInternet", set_enabled_args, 1, set_enabled),
	ACT("GetEnabledForInternet", get_enabled_args, 1, get_enabled),
	ACT("GetCommonLinkProperties", get_link_args, 1, get_link),
	ACT("GetTotalBytesSent", bytes_sent_args, 1, bytes_sent),
	ACT("GetTotalBytesReceived", bytes_received_args, 1, bytes_received),
	ACT("GetTotalPacketsSent", packets_sent_args, 1, packets_sent),
	ACT("GetTotalPacketsReceived", packets_received_args, 1, packets_received),
};

/* QueryStateVariable for the evented variables. */
static int query(struct engine *e, const struct statevar *var, struct buf *out)
{
	struct backend_wan w;

	if (strcmp(var->name, "EnabledForInternet") == 0)
		return buf_puts(out, wanconn_enabled_for_internet(e->wan) ? "1" : "0") < 0
			? UPNP_E_ACTION_FAILED : 0;
	if (strcmp(var->name, "PhysicalLinkStatus") == 0) {
		if (wan_status(e, &w) < 0)
			return UPNP_E_ACTION_FAILED;
		return buf_puts(out, w.link_up ? "Up" : "Down") < 0 ? UPNP_E_ACTION_FAILED : 0;
	}
	return UPNP_E_INVALID_VAR;
}

static const struct service wancommon = {
	.type = WANCOMMON_TYPE,
	.version = 1,
	.service_id = "urn:upnp-org:serviceId:WANCommonIFC1",
	.control_url = "/ctl/CmnIfCfg",
	.event_url = "/evt/CmnIfCfg",
	.scpd_url = "/WANCfg.xml",
	.scpd_url_v1 = NULL,
	.vars = vars,
	.nvars = N(vars),
	.actions = actions,
	.nactions = N(actions),
	.query = query,
};

const struct service *wancommon_service(void)
{
	return &wancommon;
}
