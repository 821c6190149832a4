/*
 * fuzz_env.h - what the engine-level fuzz targets share: an engine on
 * the sim backend with a fake clock, the configuration of the golden
 * tests (tests/golden.c: LAN 192.168.1.1/24, HTTP port 5000), a seeded
 * GENA manager, and a well-formedness check for the XML we answer with.
 *
 * Every target builds a fresh environment for each input, so that a
 * crash reproduces from its input file alone.
 */
#ifndef IGDD_FUZZ_ENV_H
#define IGDD_FUZZ_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf/config.h"
#include "engine.h"

/* The fuzz targets' own assertion: survives NDEBUG, aborts for libFuzzer. */
#define FUZZ_CHECK(cond) do { if (!(cond)) fuzz_fail(#cond, __FILE__, __LINE__); } while (0)

void fuzz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

enum fuzz_config {
	FUZZ_CONFIG_SECURE,     /* the golden base configuration */
	FUZZ_CONFIG_OPEN,       /* secure_mode = no, connection_control = all, ACL rules */
	FUZZ_CONFIG_TINY,       /* max_mappings 4, per client 2, a slow simulated link */
	FUZZ_CONFIG_COUNT,
};

struct fuzz_env {
	struct engine e;
	uint64_t now_ms;
	struct gena *gena;      /* NULL unless asked for */
};

/* The peers a selector byte chooses from: .20, .30, the gateway itself
 * (.1), the broadcast address, one outside the LAN; an IPv6 host of the
 * LAN (its GUA and a link-local address), and one outside its prefixes.
 * LAN 0 is the golden tests' (192.168.1.1/24, 2001:db8:1::1/64,
 * fd00:1::1/64, fe80::1 on interface FUZZ_LAN_IFINDEX). */
#define FUZZ_NPEERS 8
#define FUZZ_LAN_IFINDEX 2
struct ipaddr fuzz_peer(unsigned selector);

/* 0, or -1 (the target then returns at once). */
int fuzz_env_init(struct fuzz_env *env, enum fuzz_config which, bool with_gena);
void fuzz_env_fini(struct fuzz_env *env);
/* Advance the fake clock and run what is due (engine, GENA expiry). */
void fuzz_env_advance(struct fuzz_env *env, uint64_t ms);

struct gena;
/* Hand out every ready GENA event as net/gena_io.c would (at most 32),
 * check each NOTIFY message, report it delivered (or failed). */
void fuzz_drain_events(struct gena *g, bool fail);

/* Parse text with expat (no namespaces, DOCTYPE refused): true when it
 * is one well-formed document. */
bool fuzz_xml_well_formed(const char *text, size_t len);

/* A NUL-terminated copy of p[0..n) (abort on ENOMEM). */
char *fuzz_strndup(const char *p, size_t n);

#endif
