/*
 * describe.h - the description documents (UDA 1.1 section 2), generated
 * from the service tables so that what is described is what is
 * dispatched. Two views of one device (see guide CLIENTS.md, "The IGD:1 /
 * IGD:2 problem"), same UDNs and control URLs:
 *
 *   /rootDesc.xml   InternetGatewayDevice:2 > WANDevice:2
 *                   [WANCommonInterfaceConfig:1] > WANConnectionDevice:2
 *                   [WANIPConnection:2 -> /WANIPCn.xml]
 *   /rootDesc1.xml  the same tree at version 1, WANIPConnection:1
 *                   -> /WANIPCn1.xml (no version-2 actions or variables)
 *   /WANCfg.xml     WANCommonInterfaceConfig:1
 *
 * URLs are relative (no URLBase: UDA 1.1 2.3 resolves them against the
 * description's own URL).
 */
#ifndef IGDD_DESCRIBE_H
#define IGDD_DESCRIBE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/ipaddr.h"

struct engine;
struct service;

#define DESCRIBE_ROOT_URL       "/rootDesc.xml"     /* IGD:2 view */
#define DESCRIBE_ROOT_URL_V1    "/rootDesc1.xml"    /* IGD:1 view */

/* The root device description, igd_version 1 or 2, appended to out;
 * host: the gateway's address the requester reaches it at (a /PATH
 * presentation_url is made absolute with it; NULL: none, left out).
 * 0, -EINVAL (version), -E2BIG (out's maximum). */
int describe_root(const struct engine *e, unsigned igd_version, const struct ipaddr *host,
		  struct buf *out);

/* The SCPD of svc as seen by a control point of the given service
 * version (entries with a higher min_version are left out); config_id
 * goes into the configId attribute of version-2 (UDA 1.1) documents. */
int describe_scpd(const struct service *svc, unsigned version, uint32_t config_id,
		  struct buf *out);

/* True when path names one of the documents above. */
bool describe_is_document(const char *path);

/* The document served at path (exact match), appended to out (host as
 * for describe_root()): 0, -ENOENT when no document lives there, -E2BIG. */
int describe_document(const struct engine *e, const struct ipaddr *host, const char *path,
		      struct buf *out);

#endif
