/*
 * sim.c - the simulated backend: no privilege, no kernel state.
 *
 * It keeps a count of what it would have installed (so tests can check
 * that the table and its projection agree) and reports a configured WAN
 * address with plausible, monotonically growing interface counters.
 */
#include "backend/backend.h"

#include "conf/config.h"
#include "core/clock.h"
#include "core/mapping.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DEFAULT_EXTERNAL_IP "203.0.113.1"

struct sim {
	struct in_addr external_ip;
	size_t installed;
	uint64_t started_ms;
};

static int sim_init(struct backend *b, const struct config *cfg)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (cfg->have_external_ip)
		s->external_ip = cfg->external_ip;
	else
		inet_pton(AF_INET, SIM_DEFAULT_EXTERNAL_IP, &s->external_ip);
	s->started_ms = clock_monotonic_ms(NULL);
	b->priv = s;
	return 0;
}

static int sim_apply(struct backend *b, const struct mapping *m)
{
	struct sim *s = b->priv;

	(void)m;
	s->installed++;
	return 0;
}

static int sim_remove(struct backend *b, const struct mapping *m)
{
	struct sim *s = b->priv;

	(void)m;
	if (s->installed > 0)
		s->installed--;
	return 0;
}

static int sim_flush(struct backend *b)
{
	struct sim *s = b->priv;

	s->installed = 0;
	return 0;
}

static void sim_shutdown(struct backend *b)
{
	free(b->priv);
	b->priv = NULL;
}

static int sim_wan_status(struct backend *b, struct backend_wan *ret)
{
	struct sim *s = b->priv;
	uint64_t secs = (clock_monotonic_ms(NULL) - s->started_ms) / 1000u;

	memset(ret, 0, sizeof(*ret));
	ret->have_ip = s->external_ip.s_addr != 0;
	ret->external_ip = s->external_ip;
	ret->link_up = true;
	/* A quiet simulated link: about 2 kB/s each way, 1.2 kB packets. */
	ret->bytes_sent = secs * 2000u;
	ret->bytes_received = secs * 2400u;
	ret->packets_sent = ret->bytes_sent / 1200u;
	ret->packets_received = ret->bytes_received / 1200u;
	ret->up_bitrate = 100000000u;
	ret->down_bitrate = 100000000u;
	memcpy(ret->access_type, "Ethernet", sizeof("Ethernet"));
	return 0;
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.init = sim_init,
	.apply = sim_apply,
	.remove = sim_remove,
	.flush = sim_flush,
	.shutdown = sim_shutdown,
	.wan_status = sim_wan_status,
};
