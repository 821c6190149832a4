/*
 * fixture.h - the engine the unit tests share: a configuration from a
 * few lines of text, the sim backend, a fake clock, LAN 0, the change
 * events counted, and a copy of the backend's operations to patch.
 * Include it after cmocka.h; tests/CMakeLists.txt links fixture.c into
 * every unit test.
 */
#ifndef IGDD_TEST_FIXTURE_H
#define IGDD_TEST_FIXTURE_H

#include <stdint.h>

#include "backend/backend.h"
#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"
#include "engine.h"

#define FX_T0 1000000u                                  /* the fake clock's start, ms */
#define FX_UUID "5b1c6f3e-6a2c-4c8e-9a55-0123456789ab"
#define FX_CHG_MAX 16

/* The change events an engine raised (fx_changes_on()). */
struct fx_changes {
	unsigned n;                     /* engine_changed() calls */
	unsigned maps;                  /* those with ENGINE_CHG_MAPPINGS */
	unsigned last;                  /* the last set */
	unsigned v[FX_CHG_MAX];         /* the first FX_CHG_MAX sets, in order */
};

/* An engine_change_fn counting into the struct fx_changes arg. */
void fx_changes_on(struct engine *e, unsigned changes, void *arg);

enum fx_flags {
	FX_REAL_CLOCK = 1u << 0,        /* the monotonic clock, not the fake one */
	FX_NO_LAN = 1u << 1,            /* no engine_set_lan() (the test sets its own) */
};

struct fx_engine {
	struct config cfg;
	struct engine e;
	uint64_t now;                   /* the fake clock, ms */
	struct fx_changes chg;          /* counted from engine_init() on */
	struct backend_ops ops;         /* fx_engine_ops() */
};

/*
 * Configure and start x->e (x must not move while it runs): the lines
 * lan_interface = lan0, uuid = FX_UUID and sim_router_ports = no (this
 * host's own sockets play no part), each unless extra sets that key,
 * then extra (NULL: none); the fake clock at FX_T0 (or the real one);
 * LAN 0 192.168.1.1/24 (unless FX_NO_LAN); the change events counted in
 * x->chg. A configuration error fails the test.
 */
void fx_engine_init(struct fx_engine *x, const char *extra, unsigned flags);
/* The same set-up on a test's own cfg and e, with the fake clock *now
 * (NULL: the real clock) and no change counting; engine_fini() after. */
void fx_engine_start(struct config *cfg, struct engine *e, uint64_t *now, const char *extra,
		     unsigned flags);
/* The engine's backend operations copied into x->ops, which the engine
 * uses from now on: the test patches them (counting, failing). */
struct backend_ops *fx_engine_ops(struct fx_engine *x);
void fx_engine_fini(struct fx_engine *x);

/* A UPnP mapping of TCP port (external and internal) to client (IPv4
 * text, also its owner), enabled, its lease ending an hour after FX_T0. */
struct mapping fx_mapping(const char *client, uint16_t port);

#endif
