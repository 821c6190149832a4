/*
 * svc_table.h - the macros that write a service's tables (struct
 * statevar, struct action_arg and struct action of svc/action.h; UDA 1.1
 * section 2.5, the service description they become). Included only by
 * the .c file of a service (wancommon.c, wanipconn.c, wanipv6fc.c), after
 * its other headers: the short names are for those tables alone.
 */
#ifndef IGDD_SVC_TABLE_H
#define IGDD_SVC_TABLE_H

#include "svc/action.h"

/* The number of entries of a table. */
#define N(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

/* A state variable of every version of the service. */
#define VAR(n, t, ev) { .name = (n), .type = (t), .evented = (ev), .min_version = 1 }

/* An argument and its related state variable. */
#define IN(n, v) { .name = (n), .out = false, .var = (v) }
#define OUT(n, v) { .name = (n), .out = true, .var = (v) }
/* An IN argument whose empty value a real client sends (enum arg_empty). */
#define IN_EMPTY(n, v, e) { .name = (n), .out = false, .var = (v), .empty = (e) }

/* An action: its name, its argument table, the first service version
 * with it, and its function. */
#define ACT(n, a, v, f) { .name = (n), .args = (a), .nargs = N(a), .min_version = (v), .fn = (f) }

#endif
