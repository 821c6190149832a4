/*
 * wanipv6fc.h - the WANIPv6FirewallControl:1 service (UPnP 2010 text;
 * ISO/IEC 29341-24-11 numbers in brackets): its state variables (2.4
 * [5.3]), its seven actions (2.6 [5.5]) with their errors, over the
 * pinholes of svc/pinholes.h. It sits in the WANConnectionDevice beside
 * WANIPConnection (IGD:2 device template 2.2).
 */
#ifndef IGDD_WANIPV6FC_H
#define IGDD_WANIPV6FC_H

#include "svc/action.h"

#define WANIPV6FC_TYPE "urn:schemas-upnp-org:service:WANIPv6FirewallControl"

/* The service table (static, lives for the program). */
const struct service *wanipv6fc_service(void);

#endif
