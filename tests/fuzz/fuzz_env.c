/*
 * fuzz_env.c - the shared engine environment of the fuzz targets
 * (see fuzz_env.h).
 */
#define _GNU_SOURCE             /* memmem */

#include "fuzz_env.h"

#include "svc/gena.h"
#include "util/limits.h"
#include "util/ipaddr.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <expat.h>
#include <stdio.h>
#include <string.h>

#define CLOCK_START_MS 1000000u
#define MAX_DELIVERIES 32

/* The golden tests' base configuration (tests/golden.c) and two variants. */
#define BASE_CONFIG \
	"backend = sim\n" \
	"lan_interface = lan0\n" \
	"uuid = 5b1c6f3e-6a2c-4c8e-9a55-0123456789ab\n" \
	"external_ip = 203.0.113.1\n" \
	"friendly_name = \"igdd fuzz\"\n" \
	"http_port = 5000\n" \
	"sim_router_ports = no\n"

static const char *const config_text[FUZZ_CONFIG_COUNT] = {
	[FUZZ_CONFIG_SECURE] = BASE_CONFIG
		"connection_control = 192.168.1.20\n",
	[FUZZ_CONFIG_OPEN] = BASE_CONFIG
		"secure_mode = no\n"
		"connection_control = all\n"
		"acl = deny 0-1023 0.0.0.0/0 0-65535\n"
		"acl = allow 1024-65535 192.168.1.0/25 1-65535\n",
	[FUZZ_CONFIG_TINY] = BASE_CONFIG
		"max_mappings = 4\n"
		"max_mappings_per_client = 2\n"
		"connection_control = 192.168.1.0/24\n"
		"sim_connect_delay = 1500\n"
		"sim_disconnect_delay = 700\n"
		"auto_disconnect_time = 30\n"
		"warn_disconnect_delay = 5\n",
};

static struct config configs[FUZZ_CONFIG_COUNT];
static bool configs_ready[FUZZ_CONFIG_COUNT];

void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	abort();
}

struct ipaddr fuzz_peer(unsigned selector)
{
	static const char *const peers[FUZZ_NPEERS] = {
		"192.168.1.20", "192.168.1.30", "192.168.1.1", "192.168.1.255", "10.0.0.5",
		"2001:db8:1::20", "fe80::20", "2001:db8:9::5",
	};
	struct ipaddr a;

	if (ipaddr_parse(str_cstr(peers[selector % FUZZ_NPEERS]), &a) < 0)
		abort();
	if (ipaddr_is_linklocal(&a))
		a.scope = FUZZ_LAN_IFINDEX;
	return a;
}

static void lan_add(struct lan *l, const char *text)
{
	struct lan_addr_event ev;

	if (lan_event_parse(str_cstr(text), l->ifindex, true, 0, &ev) < 0)
		abort();
	lan_apply(l, &ev);
}

static const struct config *config_get(enum fuzz_config which)
{
	char err[256];

	if (!configs_ready[which]) {
		if (config_parse("fuzz", config_text[which], strlen(config_text[which]),
				 &configs[which], err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz configuration: %s\n", err);
			abort();
		}
		configs_ready[which] = true;
	}
	return &configs[which];
}

int fuzz_env_init(struct fuzz_env *env, enum fuzz_config which, bool with_gena)
{
	struct gena_params gp;
	struct clock clk;

	log_set_verbose(0);
	memset(env, 0, sizeof(*env));
	env->now_ms = CLOCK_START_MS;
	clk.now_ms = clock_fake_ms;
	clk.ctx = &env->now_ms;
	if (engine_init(&env->e, config_get(which % FUZZ_CONFIG_COUNT), &clk) < 0)
		return -1;
	/* The golden tests' LAN 0 (tests/golden.c). */
	lan_set_ifindex(&env->e.lans[0], FUZZ_LAN_IFINDEX);
	lan_add(&env->e.lans[0], "192.168.1.1/24");
	lan_add(&env->e.lans[0], "2001:db8:1::1/64");
	lan_add(&env->e.lans[0], "fd00:1::1/64");
	lan_add(&env->e.lans[0], "fe80::1/64");
	engine_lan_changed(&env->e, 0);
	env->e.http_port = 5000;
	if (with_gena) {
		gena_params_default(&gp);
		gp.seeded = true;
		gp.seed = 1;
		gp.max_subscriptions = 8;       /* small limits: reachable by a fuzzer */
		gp.max_per_source = 3;
		gp.max_queued = 3;
		env->gena = gena_new(&env->e, &gp);
		if (!env->gena) {
			engine_fini(&env->e);
			return -1;
		}
		env->e.gena = env->gena;
		engine_subscribe(&env->e, gena_on_change, env->gena);
	}
	return 0;
}

void fuzz_env_fini(struct fuzz_env *env)
{
	if (env->gena)
		engine_unsubscribe(&env->e, gena_on_change, env->gena);
	env->e.gena = NULL;
	gena_free(env->gena);
	env->gena = NULL;
	engine_fini(&env->e);
}

void fuzz_env_advance(struct fuzz_env *env, uint64_t ms)
{
	env->now_ms += ms;
	engine_tick(&env->e);
	if (env->gena)
		gena_tick(env->gena);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	XML_StopParser(ud, XML_FALSE);
}

bool fuzz_xml_well_formed(const char *text, size_t len)
{
	XML_Parser xp = XML_ParserCreate(NULL);
	enum XML_Status st;

	FUZZ_CHECK(xp != NULL);
	XML_SetUserData(xp, xp);
	XML_SetStartDoctypeDeclHandler(xp, on_doctype);
	st = XML_Parse(xp, text, (int)len, XML_TRUE);
	XML_ParserFree(xp);
	return st == XML_STATUS_OK;
}

char *fuzz_strndup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Hand out every ready event, as net/gena_io.c would, and check it. */
void fuzz_drain_events(struct gena *g, bool fail)
{
	struct gena_delivery d;
	unsigned k, i;

	for (k = 0; k < MAX_DELIVERIES && gena_next_delivery(g, &d) == 1; k++) {
		FUZZ_CHECK(d.ntargets >= 1 && d.ntargets <= IGDD_GENA_MAX_CALLBACK_URLS);
		for (i = 0; i < d.ntargets; i++) {
			const char *head_end = memmem(d.t[i].req, d.t[i].len, "\r\n\r\n", 4);
			const char *body;

			FUZZ_CHECK(d.t[i].len > 8 && memcmp(d.t[i].req, "NOTIFY /", 8) == 0);
			FUZZ_CHECK(head_end != NULL);
			FUZZ_CHECK(memchr(d.t[i].req, '\0', d.t[i].len) == NULL);
			body = head_end + 4;
			FUZZ_CHECK(fuzz_xml_well_formed(body, d.t[i].len - (size_t)(body - d.t[i].req)));
		}
		gena_delivery_done(g, d.sub_id, !fail);
		gena_delivery_free(&d);
	}
}
