/*
 * metrics_io.h - the metrics endpoint (docs/MONITORING.md): a small
 * HTTP/1.1 listener serving GET /metrics in the Prometheus text format
 * (core/stats.h) on the address metrics_listen names: a loopback address
 * or the LAN address, never the WAN (checked here at start). A few
 * connections at once, one request each, a deadline each; peers outside
 * the LAN subnet (or the loopback) are refused at accept.
 */
#ifndef IGDD_METRICS_IO_H
#define IGDD_METRICS_IO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct engine;
struct loop;
struct metrics_io;

#define METRICS_IO_MAX_CONNS 4
#define METRICS_IO_TIMEOUT_MS 5000
#define METRICS_IO_MAX_REQUEST 2048

/*
 * Listen on addr:port (network order address; port host order, 0: any,
 * for tests) for e's counters. NULL with a message in err when addr is
 * neither a loopback address nor e's LAN address, or the socket fails.
 */
struct metrics_io *metrics_io_new(struct engine *e, struct loop *l, struct in_addr addr,
				  uint16_t port, char *err, size_t errsz);
/* The port it listens on. */
uint16_t metrics_io_port(const struct metrics_io *m);
/* NULL is a no-op. */
void metrics_io_free(struct metrics_io *m);

#endif
