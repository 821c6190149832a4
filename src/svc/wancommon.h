/*
 * wancommon.h - the WANCommonInterfaceConfig:1 service of the WANDevice
 * (the IGD:2 device template requires it, and miniupnpc takes a device
 * for an IGD only when it has one): link properties, traffic counters
 * and EnabledForInternet, read from the backend's WAN status.
 */
#ifndef IGDD_WANCOMMON_H
#define IGDD_WANCOMMON_H

#include "svc/action.h"

#define WANCOMMON_TYPE "urn:schemas-upnp-org:service:WANCommonInterfaceConfig"

/* The service table (static, lives for the program). */
const struct service *wancommon_service(void);

#endif
