/*
 * mapping.h - the authoritative port-mapping table (WANIPConnection:2
 * sections 2.3.14 - 2.3.22 and 2.4.6; the queries of 2.5.14 - 2.5.21).
 *
 * One table serves UPnP, NAT-PMP, PCP and static mappings. The kernel
 * ruleset is a projection of it (backend/); nothing here does I/O or
 * reads the clock other than through the struct clock it was given.
 *
 * Every query is O(1) or O(log n), n <= 2 x 65535 (and more with remote
 * hosts): entries sit in an AVL tree ordered by (protocol, external port,
 * remote host) that keeps subtree sizes (the n-th entry, the index of an
 * entry) and in a second one ordered by (internal client, protocol,
 * external port, remote host) (the n-th entry of one internal client), a
 * min-heap of lease ends (the next lease to expire), a bitmap per
 * protocol of external ports in use with a summary level (a free port
 * near a wanted one) and a hash of entry counts per internal client.
 *
 * Invariants the table enforces:
 *   - (protocol, external port, remote host) is unique;
 *   - all entries holding one (protocol, external port) have the same
 *     internal client (Figure 2-3: same port, other remote host, other
 *     internal client is a failure). Entries differing only in remote
 *     host belong to that one client;
 *   - the table's order is stable: an entry's index changes only when
 *     entries before it come or go, and indexes 0..n-1 stay contiguous
 *     (2.5.14: "the array is compacted").
 *
 * Pointers to entries stay valid until the entry is removed. The key
 * (proto, ext_port, remote_host) and internal_client of a stored entry
 * order it in the table's indexes: they never change (map_update()
 * changes the other fields; a new key or client is a remove + add).
 */
#ifndef IGDD_MAPPING_H
#define IGDD_MAPPING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "util/str.h"

enum map_proto { MAP_TCP = 0, MAP_UDP = 1 };
#define MAP_NPROTO 2

enum map_origin { MAP_ORIGIN_UPNP, MAP_ORIGIN_NATPMP, MAP_ORIGIN_PCP, MAP_ORIGIN_STATIC };

struct mapping {
	struct in_addr remote_host;     /* 0.0.0.0 = wildcard */
	struct in_addr internal_client;
	struct in_addr owner;           /* the control point that made it */
	uint16_t ext_port;
	uint16_t int_port;
	uint8_t proto;                  /* enum map_proto */
	uint8_t origin;                 /* enum map_origin */
	bool enabled;
	bool upnp_joined;               /* NAT-PMP/PCP entry its owner asked UPnP for too (docs/POLICY.md) */
	uint8_t nonce[12];              /* PCP MAP nonce (RFC 6887 11.1); zero: none/unknown */
	uint64_t lease_end_ms;          /* monotonic; 0 = static (out of band only) */
	char *desc;                     /* owned, NUL-terminated, <= IGDD_MAX_DESC_LEN */
};

struct map_limits {
	unsigned max_mappings;          /* 0 = no limit of our own */
	unsigned max_per_client;        /* per internal client and per owner; 0 = no limit */
};

/* What map_add() decided; each front end maps it to its own codes. */
enum map_status {
	MAP_OK,
	MAP_EXISTS,         /* (proto, ext port, remote host) already present */
	MAP_CONFLICT,       /* the external port is held by another internal client */
	MAP_FULL,           /* max_mappings reached */
	MAP_CLIENT_FULL,    /* max_per_client reached for this internal client or owner */
	MAP_NOMEM,
};

struct map_table;

/* lim is copied; clk must outlive the table. NULL on ENOMEM. */
/* "TCP" or "UDP". */
const char *map_proto_name(uint8_t proto);
/* For log lines and answers: "TCP/8080 -> 192.168.1.20:80", with
 * " from HOST" after the port when the mapping has a remote host. */
void map_describe(char *out, size_t outsz, const struct mapping *m);

struct map_table *map_table_new(const struct map_limits *lim, const struct clock *clk);
/* Frees every entry (no callbacks). NULL is a no-op. */
void map_table_free(struct map_table *t);
/* New limits (reload); entries above them stay until they go. */
void map_set_limits(struct map_table *t, const struct map_limits *lim);

size_t map_count(const struct map_table *t);
/* Entries whose internal client is client. O(1). */
size_t map_client_count(const struct map_table *t, struct in_addr client);
/* Entries made by the control point owner (admin entries have owner
 * 0.0.0.0 and are not counted). O(1). */
size_t map_owner_count(const struct map_table *t, struct in_addr owner);

/* --- leases (ms on the table's clock) --- */

/* now + lease_s seconds; lease_s 0 gives 0 (static). The UPnP rule "0
 * means 604800" (2.3.16) belongs to the caller. */
uint64_t map_lease_end(const struct map_table *t, uint32_t lease_s);
/* Seconds left, rounded up; 0 only for a static entry, at least 1 for a
 * leased one whose end is due but not yet expired. */
uint32_t map_lease_remaining(const struct map_table *t, const struct mapping *m);

/* --- descriptions --- */

/* Bytes of desc that are kept: up to the first NUL, at most
 * IGDD_MAX_DESC_LEN, cut back to a UTF-8 character boundary. */
size_t map_desc_len(struct str desc);
/* A NUL-terminated, truncated (as above) heap copy; NULL on ENOMEM. */
char *map_desc_dup(struct str desc);

/* --- queries --- */

/* The entry with exactly this key (remote host 0 = the wildcard entry). */
struct mapping *map_find(const struct map_table *t, uint8_t proto, uint16_t ext_port,
			 struct in_addr remote_host);
/* The first entry (in table order) holding (proto, ext_port), whatever
 * its remote host; NULL when the port is free. */
struct mapping *map_find_port(const struct map_table *t, uint8_t proto, uint16_t ext_port);
bool map_port_used(const struct map_table *t, uint8_t proto, uint16_t ext_port);

/* The entry at index (0..count-1) in table order, NULL past the end. */
struct mapping *map_nth(const struct map_table *t, size_t index);
/* The index of an entry of the table. */
size_t map_index(const struct map_table *t, const struct mapping *m);

/*
 * One internal client's view of the table (2.5.14.3: a control point
 * reads its own entries): the entry at index (0..map_client_count()-1)
 * among those whose internal client is client, in table order; NULL past
 * the end. Its indexes stay contiguous as the client's entries come and
 * go. O(log n).
 */
struct mapping *map_client_nth(const struct map_table *t, struct in_addr client, size_t index);
/* The index of an entry of the table in its internal client's view. */
size_t map_client_index(const struct map_table *t, const struct mapping *m);

/* Table order: (proto, ext port, remote host as a number). */
struct mapping *map_first(const struct map_table *t);
struct mapping *map_next(const struct map_table *t, const struct mapping *m);

/* Entries of one protocol with lo <= ext port <= hi, in table order:
 *   for (m = map_range_first(t, p, lo, hi); m; m = map_range_next(t, m, hi))
 * O(log n) for the first, O(1) amortised for each next. */
struct mapping *map_range_first(const struct map_table *t, uint8_t proto, uint16_t lo, uint16_t hi);
struct mapping *map_range_next(const struct map_table *t, const struct mapping *m, uint16_t hi);
/* The first entry of proto after the key (port, rh) with ext port <= hi,
 * whether or not that key is in the table (a listing written in parts
 * resumes after the last key it wrote, the table having changed
 * meanwhile). O(log n). */
struct mapping *map_range_after(const struct map_table *t, uint8_t proto, uint16_t port,
				struct in_addr rh, uint16_t hi);

/*
 * A free external port (no entry of proto holds it, whatever the remote
 * host) in [lo, hi]: the first at or above want, else, wrapping around,
 * the first from lo. want outside [lo, hi] starts at lo. 0 and -ENOSPC
 * when every port of the range is used; lo must be >= 1.
 */
int map_free_port(const struct map_table *t, uint8_t proto, uint16_t want, uint16_t lo,
		  uint16_t hi, uint16_t *ret_port);

/* --- changes --- */

/*
 * Insert a copy of *tmpl (all fields but desc) with description desc
 * (copied, truncated as map_desc_len()). Checks uniqueness, the port's
 * holder and the limits, in that order. *ret (optional) is the stored
 * entry, written on MAP_OK only.
 */
enum map_status map_add(struct map_table *t, const struct mapping *tmpl, struct str desc,
			struct mapping **ret);

/* Overwrite the mutable fields of an entry. desc is an owned string from
 * map_desc_dup() (or NULL to keep the old one); cannot fail. */
void map_update(struct map_table *t, struct mapping *m, uint16_t int_port, bool enabled,
		char *desc, uint64_t lease_end_ms);

/* Remove and free one entry. */
void map_remove(struct map_table *t, struct mapping *m);

typedef void (*map_each_fn)(const struct mapping *m, void *arg);

/* Remove every entry whose lease ended at or before now_ms, earliest
 * first, calling fn (optional) on each just before it goes; fn must not
 * change the table. Returns how many went. */
size_t map_expire(struct map_table *t, uint64_t now_ms, map_each_fn fn, void *arg);
/* The earliest lease end, or 0 when no leased entry exists. O(1). */
uint64_t map_next_expiry(const struct map_table *t);

#endif
