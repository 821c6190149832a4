/*
 * mapping.h - the authoritative port-mapping table (WANIPConnection:2
 * sections 2.3.14 - 2.3.22, 3.3).
 *
 * PLACEHOLDER CONTRACT: the full table (indexes, leases, ranges, free-port
 * search) replaces this file; keep struct mapping, map_limits,
 * map_table_new/free and map_count.
 */
#ifndef IGDD_MAPPING_H
#define IGDD_MAPPING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

enum map_proto { MAP_TCP = 0, MAP_UDP = 1 };

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
	uint64_t lease_end_ms;          /* monotonic; 0 = static (out of band only) */
	char *desc;                     /* owned, NUL-terminated, <= IGDD_MAX_DESC_LEN */
};

struct map_limits {
	unsigned max_mappings;
	unsigned max_per_client;
};

struct map_table;

struct map_table *map_table_new(const struct map_limits *lim, const struct clock *clk);
void map_table_free(struct map_table *t);
size_t map_count(const struct map_table *t);

#endif
