/*
 * describe.c - device and service descriptions (UDA 1.1 sections 2.3
 * device description and 2.5 service description; the device tree of
 * the InternetGatewayDevice:2 template; WANIPConnection:2 section 4 for
 * the SCPD), written from the action tables (see describe.h). The
 * device's own fields (manufacturer, model, serial number, URLs) come
 * from the configuration.
 *
 * The version-2 view declares UDA 1.1 (specVersion 1.1, and the configId
 * attribute UDA 1.1 requires on the root element); the version-1 view
 * declares UDA 1.0 for the legacy control points that read it.
 */
#include "svc/describe.h"

#include "conf/config.h"
#include "engine.h"
#include "proto/xml.h"
#include "svc/action.h"
#include "svc/wancommon.h"
#include "svc/wanipconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define XML_DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

static void spec_version(struct buf *b, unsigned minor)
{
	xml_open(b, 1, "specVersion");
	xml_leaf_u32(b, 2, "major", 1);
	xml_leaf_u32(b, 2, "minor", minor);
	xml_close(b, 1, "specVersion");
}

/* <root ...> or <scpd ...>, with configId for UDA 1.1 documents. */
static void doc_open(struct buf *b, const char *elem, const char *ns, unsigned minor,
		     uint32_t config_id)
{
	buf_puts(b, XML_DECL);
	buf_printf(b, "<%s xmlns=\"%s\"", elem, ns);
	if (minor >= 1)
		buf_printf(b, " configId=\"%" PRIu32 "\"", config_id);
	buf_puts(b, ">\n");
	spec_version(b, minor);
}

/* An optional field: written only when the admin set it. */
static void leaf_opt(struct buf *b, unsigned indent, const char *name, const char *value)
{
	if (value[0])
		xml_leaf(b, indent, name, value);
}

/*
 * The fields of a <device> before its lists (UDA 1.1 2.3), in schema
 * order: deviceType, friendlyName, manufacturer, manufacturerURL,
 * modelName, modelNumber, modelURL, serialNumber (the root device only),
 * UDN. The values were bounded by the configuration parser; every one
 * is XML-escaped here.
 */
static void device_open(struct buf *b, unsigned indent, const struct config *c, const char *type,
			unsigned version, const char *friendly, const char *uuid, bool root)
{
	xml_open(b, indent, "device");
	buf_printf(b, "%*s<deviceType>urn:schemas-upnp-org:device:%s:%u</deviceType>\n",
		   (int)(indent + 1) * 2, "", type, version);
	xml_leaf(b, indent + 1, "friendlyName", friendly);
	xml_leaf(b, indent + 1, "manufacturer", c->manufacturer);
	leaf_opt(b, indent + 1, "manufacturerURL", c->manufacturer_url);
	xml_leaf(b, indent + 1, "modelName", c->model_name);
	xml_leaf(b, indent + 1, "modelNumber", c->model_number[0] ? c->model_number : IGDD_VERSION);
	leaf_opt(b, indent + 1, "modelURL", c->model_url);
	if (root)
		leaf_opt(b, indent + 1, "serialNumber", c->serial_number);
	buf_printf(b, "%*s<UDN>uuid:%s</UDN>\n", (int)(indent + 1) * 2, "", uuid);
}

/*
 * presentationURL, the last field of the root device (UDA 1.1 2.3;
 * Windows shows the gateway and opens it): as configured, a /PATH on
 * port 80 of host, the gateway's address on the requester's LAN (a
 * relative URL would resolve against igdd's own HTTP port, where there
 * is no web interface; no such address: left out).
 */
static void presentation_url(struct buf *b, const struct engine *e, const struct ipaddr *host)
{
	const char *u = e->cfg->presentation_url;
	char lan[IPADDR_STRLEN], url[CONFIG_URL_MAX + IPADDR_STRLEN + 8];

	if (!u[0])
		return;
	if (u[0] == '/') {
		if (!host || ipaddr_url_host(host, lan, sizeof(lan)) < 0)
			return;
		snprintf(url, sizeof(url), "http://%s%s", lan, u);
		u = url;
	}
	xml_leaf(b, 2, "presentationURL", u);
}

static void service_entry(struct buf *b, unsigned indent, const struct service *svc,
			  unsigned version)
{
	const char *scpd = version < 2 && svc->scpd_url_v1 ? svc->scpd_url_v1 : svc->scpd_url;

	if (version > svc->version)
		version = svc->version;
	xml_open(b, indent, "service");
	buf_printf(b, "%*s<serviceType>%s:%u</serviceType>\n", (int)(indent + 1) * 2, "",
		   svc->type, version);
	xml_leaf(b, indent + 1, "serviceId", svc->service_id);
	xml_leaf(b, indent + 1, "SCPDURL", scpd);
	xml_leaf(b, indent + 1, "controlURL", svc->control_url);
	xml_leaf(b, indent + 1, "eventSubURL", svc->event_url);
	xml_close(b, indent, "service");
}

int describe_root(const struct engine *e, unsigned v, const struct ipaddr *host, struct buf *out)
{
	if (v != 1 && v != 2)
		return -EINVAL;
	doc_open(out, "root", "urn:schemas-upnp-org:device-1-0", v - 1, e->config_id);
	device_open(out, 1, e->cfg, "InternetGatewayDevice", v, e->cfg->friendly_name, e->uuid_root,
		    true);
	xml_open(out, 2, "deviceList");

	device_open(out, 3, e->cfg, "WANDevice", v, "WAN Device", e->uuid_wandev, false);
	xml_open(out, 4, "serviceList");
	service_entry(out, 5, wancommon_service(), 1);
	xml_close(out, 4, "serviceList");
	xml_open(out, 4, "deviceList");

	device_open(out, 5, e->cfg, "WANConnectionDevice", v, "WAN Connection Device",
		    e->uuid_wanconn, false);
	xml_open(out, 6, "serviceList");
	service_entry(out, 7, wanipconn_service(), v);
	xml_close(out, 6, "serviceList");
	xml_close(out, 5, "device");

	xml_close(out, 4, "deviceList");
	xml_close(out, 3, "device");
	xml_close(out, 2, "deviceList");
	presentation_url(out, e, host);
	xml_close(out, 1, "device");
	buf_puts(out, "</root>\n");
	return out->toobig ? -E2BIG : 0;
}

static void scpd_action(struct buf *b, const struct action *act)
{
	unsigned i;

	xml_open(b, 2, "action");
	xml_leaf(b, 3, "name", act->name);
	if (act->nargs) {
		xml_open(b, 3, "argumentList");
		for (i = 0; i < act->nargs; i++) {
			xml_open(b, 4, "argument");
			xml_leaf(b, 5, "name", act->args[i].name);
			xml_leaf(b, 5, "direction", act->args[i].out ? "out" : "in");
			xml_leaf(b, 5, "relatedStateVariable", act->args[i].var);
			xml_close(b, 4, "argument");
		}
		xml_close(b, 3, "argumentList");
	}
	xml_close(b, 2, "action");
}

static const char *type_name(enum svar_type t)
{
	switch (t) {
	case SVAR_UI2: return "ui2";
	case SVAR_UI4: return "ui4";
	case SVAR_I4: return "i4";
	case SVAR_BOOLEAN: return "boolean";
	case SVAR_STRING: break;
	}
	return "string";
}

static void scpd_var(struct buf *b, const struct statevar *var)
{
	unsigned i;

	buf_printf(b, "    <stateVariable sendEvents=\"%s\">\n", var->evented ? "yes" : "no");
	xml_leaf(b, 3, "name", var->name);
	xml_leaf(b, 3, "dataType", type_name(var->type));
	if (var->default_value)
		xml_leaf(b, 3, "defaultValue", var->default_value);
	if (var->allowed) {
		xml_open(b, 3, "allowedValueList");
		for (i = 0; var->allowed[i]; i++)
			xml_leaf(b, 4, "allowedValue", var->allowed[i]);
		xml_close(b, 3, "allowedValueList");
	}
	if (var->ranged) {
		xml_open(b, 3, "allowedValueRange");
		if (var->type == SVAR_I4) {
			buf_printf(b, "        <minimum>%" PRId32 "</minimum>\n", (int32_t)var->min);
			buf_printf(b, "        <maximum>%" PRId32 "</maximum>\n", (int32_t)var->max);
		} else {
			xml_leaf_u32(b, 4, "minimum", var->min);
			xml_leaf_u32(b, 4, "maximum", var->max);
		}
		xml_close(b, 3, "allowedValueRange");
	}
	xml_close(b, 2, "stateVariable");
}

int describe_scpd(const struct service *svc, unsigned version, uint32_t config_id,
		  struct buf *out)
{
	unsigned i;

	if (version < 1 || version > svc->version)
		return -EINVAL;
	doc_open(out, "scpd", "urn:schemas-upnp-org:service-1-0", version >= 2 ? 1 : 0, config_id);
	xml_open(out, 1, "actionList");
	for (i = 0; i < svc->nactions; i++)
		if (svc->actions[i].min_version <= version)
			scpd_action(out, &svc->actions[i]);
	xml_close(out, 1, "actionList");
	xml_open(out, 1, "serviceStateTable");
	for (i = 0; i < svc->nvars; i++)
		if (svc->vars[i].min_version <= version)
			scpd_var(out, &svc->vars[i]);
	xml_close(out, 1, "serviceStateTable");
	buf_puts(out, "</scpd>\n");
	return out->toobig ? -E2BIG : 0;
}

static const struct service *service_at(unsigned i)
{
	switch (i) {
	case 0: return wanipconn_service();
	case 1: return wancommon_service();
	default: return NULL;
	}
}

int describe_document(const struct engine *e, const struct ipaddr *host, const char *path,
		      struct buf *out)
{
	const struct service *svc;
	unsigned i;

	if (strcmp(path, DESCRIBE_ROOT_URL) == 0)
		return describe_root(e, 2, host, out);
	if (strcmp(path, DESCRIBE_ROOT_URL_V1) == 0)
		return describe_root(e, 1, host, out);
	for (i = 0; (svc = service_at(i)) != NULL; i++) {
		if (strcmp(path, svc->scpd_url) == 0)
			return describe_scpd(svc, svc->version, e->config_id, out);
		if (svc->scpd_url_v1 && strcmp(path, svc->scpd_url_v1) == 0)
			return describe_scpd(svc, 1, e->config_id, out);
	}
	return -ENOENT;
}

bool describe_is_document(const char *path)
{
	const struct service *svc;
	unsigned i;

	if (strcmp(path, DESCRIBE_ROOT_URL) == 0 || strcmp(path, DESCRIBE_ROOT_URL_V1) == 0)
		return true;
	for (i = 0; (svc = service_at(i)) != NULL; i++)
		if (strcmp(path, svc->scpd_url) == 0 ||
		    (svc->scpd_url_v1 && strcmp(path, svc->scpd_url_v1) == 0))
			return true;
	return false;
}
