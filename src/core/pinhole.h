/*
 * pinhole.h - the IPv6 pinhole table (WANIPv6FirewallControl:1, UPnP
 * 2010 text with ISO/IEC 29341-24-11 numbers in brackets: 2.4.5 - 2.4.10
 * [5.3.5 - 5.3.10] the pinhole's fields, 2.6.3 - 2.6.7 [5.5.4 - 5.5.8]
 * what AddPinhole, UpdatePinhole, DeletePinhole, GetPinholePackets and
 * CheckPinholeWorking do to it), the sibling of the mapping table
 * (core/mapping.h) in the engine's one table of truth: UPnP and PCP
 * (RFC 6887 section 11, firewall mode) pinholes and the admin's, with
 * one lease clock.
 *
 * A pinhole lets inbound packets from RemoteHost:RemotePort (the WAN
 * peer; the unspecified address and port 0 are wildcards) reach
 * InternalClient:InternalPort (a LAN host) for one protocol (IANA
 * number: TCP 6, UDP 17, UDP-Lite 136). Nothing here does I/O or reads
 * the clock other than through the struct clock it was given.
 *
 * UniqueIDs (2.4.9, ui2) are chosen here: distinct among live pinholes,
 * and drawn from a keyed permutation of 1..65535 so that a control point
 * cannot guess another one's IDs from its own (the service answers a
 * foreign ID like a missing one: docs/POLICY.md).
 *
 * Size: at most max_pinholes entries (docs/LIMITS.md), kept sorted by
 * UniqueID in one array (binary search); per-client counts, the tuple
 * lookup and the next expiry are linear walks over at most that many.
 */
#ifndef IGDD_PINHOLE_H
#define IGDD_PINHOLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "util/ipaddr.h"

#define PIN_PROTO_TCP 6
#define PIN_PROTO_UDP 17
#define PIN_PROTO_UDPLITE 136

enum pin_origin { PIN_ORIGIN_UPNP, PIN_ORIGIN_PCP, PIN_ORIGIN_STATIC };

struct pinhole {
	uint16_t uid;                   /* UniqueID, 1..65535 */
	struct in6_addr remote;         /* :: = any remote host */
	uint16_t remote_port;           /* 0 = any */
	struct in6_addr internal;       /* InternalClient */
	uint16_t int_port;              /* 1..65535 */
	uint8_t proto;                  /* PIN_PROTO_* */
	uint8_t origin;                 /* enum pin_origin */
	uint8_t lan;                    /* the LAN it was asked on (lan_interface index) */
	struct ipaddr owner;            /* the control point that made it (none for static) */
	uint8_t nonce[12];              /* PCP MAP nonce (RFC 6887 11.1); zero for UPnP */
	uint64_t lease_end_ms;          /* monotonic; 0 = static (out of band only) */
	uint64_t packets_base;          /* packets counted before the backend's counter restarted */
};

struct pin_limits {
	unsigned max_pinholes;          /* in total; 0: none allowed */
	unsigned max_per_client;        /* per internal client and per owner; 0: no limit of its own */
};

enum pin_status {
	PIN_OK,
	PIN_FULL,                       /* max_pinholes reached (701) */
	PIN_CLIENT_FULL,                /* max_per_client reached (701) */
	PIN_NOMEM,
};

struct pin_table;

/* lim is copied; clk must outlive the table; seed keys the UniqueIDs.
 * NULL on ENOMEM. */
struct pin_table *pin_table_new(const struct pin_limits *lim, const struct clock *clk,
				uint64_t seed);
void pin_table_free(struct pin_table *t);
void pin_set_limits(struct pin_table *t, const struct pin_limits *lim);
/* Key the UniqueIDs again (tests: a fixed seed gives fixed IDs). */
void pin_reseed(struct pin_table *t, uint64_t seed);

/* "TCP", "UDP", "UDPLITE", or NULL for a protocol pinholes do not take. */
const char *pin_proto_name(uint8_t proto);
/* For log lines and listings:
 * "TCP [2001:db8:1::20]:5555 from [2001:db8:9::1]:any (id 1234)". */
void pin_describe(char *out, size_t outsz, const struct pinhole *p);

size_t pin_count(const struct pin_table *t);
size_t pin_client_count(const struct pin_table *t, const struct in6_addr *client);
size_t pin_owner_count(const struct pin_table *t, const struct ipaddr *owner);

struct pinhole *pin_find(const struct pin_table *t, uint16_t uid);
/* The pinhole with exactly this tuple (2.6.3: the same five values). */
struct pinhole *pin_find_tuple(const struct pin_table *t, const struct in6_addr *remote,
			       uint16_t remote_port, const struct in6_addr *internal,
			       uint16_t int_port, uint8_t proto);
/* In UniqueID order: pin_first(), then pin_next() until NULL; the first
 * after uid (whether or not uid is live) for a listing that resumes. */
struct pinhole *pin_first(const struct pin_table *t);
struct pinhole *pin_next(const struct pin_table *t, const struct pinhole *p);
struct pinhole *pin_after(const struct pin_table *t, uint16_t uid);

/* now + lease_s seconds (lease_s 0: 0, static). */
uint64_t pin_lease_end(const struct pin_table *t, uint32_t lease_s);
/* Seconds left, rounded up; 0 only for a static pinhole. */
uint32_t pin_lease_remaining(const struct pin_table *t, const struct pinhole *p);

/*
 * Insert a copy of *tmpl with a new UniqueID (tmpl->uid 0), or with
 * tmpl->uid when it is free (a lease restored at start). Checks the
 * limits: the total, then the internal client's and the owner's counts.
 * *ret (optional) is the stored entry, on PIN_OK only; pointers stay
 * valid until that entry or another is added or removed.
 */
enum pin_status pin_add(struct pin_table *t, const struct pinhole *tmpl, struct pinhole **ret);
void pin_remove(struct pin_table *t, struct pinhole *p);

typedef void (*pin_each_fn)(const struct pinhole *p, void *arg);
/* Remove every pinhole whose lease ended at or before now_ms, calling fn
 * (optional) on each just before it goes. How many went. */
size_t pin_expire(struct pin_table *t, uint64_t now_ms, pin_each_fn fn, void *arg);
/* The earliest lease end, 0 when none is leased. */
uint64_t pin_next_expiry(const struct pin_table *t);

#endif
