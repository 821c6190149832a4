/*
 * wanipconn.h - the WANIPConnection service (WANIPConnection:2, one table
 * that also serves the version-1 view): its state variables (section
 * 2.3), its 21 actions (section 2.5, argument lists as in section 4) and
 * the handlers of the connection and status actions. The port-mapping
 * actions are registered here and implemented in svc/portmap.c.
 */
#ifndef IGDD_WANIPCONN_H
#define IGDD_WANIPCONN_H

#include "core/wanconn.h"
#include "svc/action.h"

#define WANIPCONN_TYPE "urn:schemas-upnp-org:service:WANIPConnection"

/* The service table (static, lives for the program). */
const struct service *wanipconn_service(void);

/* The UPnP error code (0, 501 or 7xx of svc/action.h) for a connection
 * action's outcome (core/wanconn.h). */
int wanipconn_error_code(enum wanconn_result r);

#endif
