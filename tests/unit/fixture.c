/*
 * fixture.c - the unit tests' shared engine (fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

void fx_changes_on(struct engine *e, unsigned changes, void *arg)
{
	struct fx_changes *c = arg;

	(void)e;
	if (c->n < FX_CHG_MAX)
		c->v[c->n] = changes;
	c->n++;
	if (changes & ENGINE_CHG_MAPPINGS)
		c->maps++;
	c->last = changes;
}

/* key = value, unless the extra lines set key themselves. */
static void line_unless(char *text, size_t size, const char *extra, const char *key,
			const char *value)
{
	size_t len = strlen(text);
	const char *p;

	for (p = extra; p && (p = strstr(p, key)); p += strlen(key))
		if ((p == extra || p[-1] == '\n') && strchr(" =", p[strlen(key)]))
			return;
	snprintf(text + len, size - len, "%s = %s\n", key, value);
}

void fx_engine_start(struct config *cfg, struct engine *e, uint64_t *now, const char *extra,
		     unsigned flags)
{
	static char text[16384];
	char err[256];
	struct clock clk = { clock_monotonic_ms, NULL };
	size_t len;

	text[0] = '\0';
	line_unless(text, sizeof(text), extra, "lan_interface", "lan0");
	line_unless(text, sizeof(text), extra, "uuid", FX_UUID);
	line_unless(text, sizeof(text), extra, "sim_router_ports", "no");
	len = strlen(text);
	assert_true(len + (extra ? strlen(extra) : 0) + 2 < sizeof(text));
	snprintf(text + len, sizeof(text) - len, "%s\n", extra ? extra : "");
	if (config_parse("t.conf", text, strlen(text), cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	if (now && !(flags & FX_REAL_CLOCK)) {
		*now = FX_T0;
		clk.now_ms = clock_fake_ms;
		clk.ctx = now;
	}
	assert_int_equal(engine_init(e, cfg, &clk), 0);
	if (!(flags & FX_NO_LAN)) {
		struct in_addr a, m;

		inet_pton(AF_INET, "192.168.1.1", &a);
		inet_pton(AF_INET, "255.255.255.0", &m);
		engine_set_lan(e, a, m);
	}
}

void fx_engine_init(struct fx_engine *x, const char *extra, unsigned flags)
{
	memset(x, 0, sizeof(*x));
	fx_engine_start(&x->cfg, &x->e, &x->now, extra, flags);
	assert_int_equal(engine_subscribe(&x->e, fx_changes_on, &x->chg), 0);
}

struct backend_ops *fx_engine_ops(struct fx_engine *x)
{
	if (x->e.backend.ops != &x->ops) {
		x->ops = *x->e.backend.ops;
		x->e.backend.ops = &x->ops;
	}
	return &x->ops;
}

void fx_engine_fini(struct fx_engine *x)
{
	engine_unsubscribe(&x->e, fx_changes_on, &x->chg);
	engine_fini(&x->e);
}

struct mapping fx_mapping(const char *client, uint16_t port)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	assert_int_equal(inet_pton(AF_INET, client, &m.internal_client), 1);
	m.owner = m.internal_client;
	m.ext_port = port;
	m.int_port = port;
	m.proto = MAP_TCP;
	m.origin = MAP_ORIGIN_UPNP;
	m.enabled = true;
	m.lease_end_ms = FX_T0 + 3600000u;
	return m;
}
