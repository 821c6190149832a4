/*
 * backend.h - the NAT backend interface (a vtable, like curl's Curl_ssl).
 *
 * The mapping table in core/ is the truth; a backend is its projection
 * into the kernel (nft) or into memory (sim). Backends see only validated
 * values (struct mapping), never request text.
 */
#ifndef IGDD_BACKEND_H
#define IGDD_BACKEND_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct mapping;
struct backend;

/* What the backend knows of the WAN side. */
struct backend_wan {
	bool have_ip;
	struct in_addr external_ip;
	bool link_up;
	uint64_t bytes_sent, bytes_received;
	uint64_t packets_sent, packets_received;
	uint32_t up_bitrate, down_bitrate;      /* bits per second */
	char access_type[16];                   /* WANAccessType: Ethernet, DSL, ... */
};

struct backend_ops {
	const char *name;
	int (*init)(struct backend *b, const struct config *cfg);
	/* Add or replace the kernel state for m (atomic). 0 or -errno. */
	int (*apply)(struct backend *b, const struct mapping *m);
	int (*remove)(struct backend *b, const struct mapping *m);
	/* Remove everything this backend installed. */
	int (*flush)(struct backend *b);
	void (*shutdown)(struct backend *b);
	int (*wan_status)(struct backend *b, struct backend_wan *ret);
};

struct backend {
	const struct backend_ops *ops;
	void *priv;
};

extern const struct backend_ops backend_sim_ops;

#endif
