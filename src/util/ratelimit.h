/*
 * ratelimit.h - how often a log line that a peer can cause is written
 * (STYLE.md: "Rate-limit what a peer can trigger"): at most burst lines
 * per interval; the lines past that are counted, and the next line
 * written says how many were left out. Pure: the caller passes the time
 * and keeps the state in its own context struct.
 */
#ifndef IGDD_RATELIMIT_H
#define IGDD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t interval_ms;
	unsigned burst;                 /* lines per interval, >= 1 */
	uint64_t window_ms;             /* start of the current interval */
	unsigned used;                  /* lines written in it */
	unsigned suppressed;            /* lines left out since the last one written */
	bool started;
};

#define RATELIMIT_INIT(interval_ms, burst) \
	((struct ratelimit){ (interval_ms), (burst), 0, 0, 0, false })

/*
 * May a line be written at now_ms (monotonic)? On true, *ret_suppressed
 * is the number of lines left out since the last one written (for the
 * message; the count restarts at 0). On false the line is counted as
 * left out.
 */
bool ratelimit_ok(struct ratelimit *rl, uint64_t now_ms, unsigned *ret_suppressed);

#endif
