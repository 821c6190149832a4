/*
 * fuzz_pcp_drive.h - what fuzz_natpmp.c and fuzz_pcp.c share: a run of
 * datagrams through svc/pcp.c (pcp_svc_handle) on the fuzz engine
 * (fuzz_env.h), with checks on every answer and on the table after each
 * datagram.
 *
 * Input: byte 0 picks the configuration (fuzz_env.h); then up to
 * FUZZ_PCP_MAX_DGRAMS records, each
 *   ctl (1 byte), length (2 bytes, big-endian, cut to what is left), data
 * ctl bits 0-2: the peer (fuzz_peer(), 5 choices); bits 3-5: the clock
 * step before the datagram (0, 1 s, 59 s, 119 s, 601 s, 1 h, 1 d, 8 d);
 * bit 6: take the WAN down (or bring it back) before; bit 7: start a new
 * epoch before. force_version >= 0 overwrites the datagram's first byte.
 */
#ifndef IGDD_FUZZ_PCP_DRIVE_H
#define IGDD_FUZZ_PCP_DRIVE_H

#include <string.h>

#include "core/mapping.h"
#include "core/policy.h"
#include "core/wanconn.h"
#include "fuzz_env.h"
#include "proto/natpmp.h"
#include "proto/pcp.h"
#include "svc/pcp.h"

#define FUZZ_PCP_MAX_DGRAMS 32

static const uint64_t fuzz_pcp_steps[8] = { 0, 1000, 59000, 119000, 601000, 3600000,
					    86400000, 8 * 86400000ull };

/* What a NAT-PMP / PCP answer must look like. */
static void fuzz_pcp_check_answer(const uint8_t *req, size_t req_len, const uint8_t *out,
				  size_t n)
{
	if (n == 0)
		return;
	FUZZ_CHECK(req_len >= 2);
	FUZZ_CHECK(n <= PCP_MAX_MSG);
	FUZZ_CHECK(out[1] & 0x80);                      /* a response */
	FUZZ_CHECK((out[1] & 0x7f) == (req[1] & 0x7f));
	if (out[0] == NATPMP_VERSION) {
		FUZZ_CHECK(n == NATPMP_RESP_ERROR_LEN || n == NATPMP_RESP_EXTERNAL_LEN ||
			   n == NATPMP_RESP_MAP_LEN);
		FUZZ_CHECK(out[2] == 0 && out[3] <= NATPMP_UNSUPP_OPCODE);
	} else {
		FUZZ_CHECK(out[0] == PCP_VERSION);
		FUZZ_CHECK(n >= PCP_HEADER_LEN && n % 4 == 0);
		FUZZ_CHECK(out[3] <= PCP_EXCESSIVE_REMOTE_PEERS);
		FUZZ_CHECK(memcmp(out + 12, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0);
	}
}

/* The table after each datagram: NAT-PMP / PCP entries belong to a LAN
 * host, leased, enabled, within the configured lifetimes; in secure mode
 * to the host that asked. */
static void fuzz_pcp_check_table(struct fuzz_env *env)
{
	const struct config *c = env->e.cfg;
	const struct mapping *m;

	for (m = map_first(env->e.maps); m; m = map_next(env->e.maps, m)) {
		if (m->origin != MAP_ORIGIN_NATPMP && m->origin != MAP_ORIGIN_PCP)
			continue;
		FUZZ_CHECK(m->enabled && m->lease_end_ms != 0);
		FUZZ_CHECK(map_lease_remaining(env->e.maps, m) <= c->pcp_max_lifetime);
		FUZZ_CHECK(engine_lan_host(&env->e, 0, &(struct ipaddr){ .family = AF_INET,
							.u.v4 = m->internal_client }));
		FUZZ_CHECK(m->int_port != 0 && m->ext_port != 0);
		if (policy_secure(env->e.policy))
			FUZZ_CHECK(m->internal_client.s_addr == m->owner.s_addr);
	}
}

static void fuzz_pcp_drive(const uint8_t *data, size_t size, int force_version)
{
	struct fuzz_env env;
	struct pcp_svc svc;
	uint8_t dgram[PCP_MAX_MSG + 64], out[PCP_SVC_OUT_MAX];
	size_t off = 1, count;
	unsigned i;

	if (size < 1 || fuzz_env_init(&env, (enum fuzz_config)(data[0] % FUZZ_CONFIG_COUNT),
				      false) < 0)
		return;
	pcp_svc_init(&svc, &env.e);
	for (i = 0; i < FUZZ_PCP_MAX_DGRAMS && size - off >= 3; i++) {
		uint8_t ctl = data[off];
		size_t len = ((size_t)data[off + 1] << 8) | data[off + 2], n;
		uint32_t sid;
		struct ipaddr peer = fuzz_peer(ctl & 7);

		off += 3;
		if (len > size - off)
			len = size - off;
		if (len > sizeof(dgram))
			len = sizeof(dgram);
		memcpy(dgram, data + off, len);
		off += len;
		if (force_version >= 0 && len > 0)
			dgram[0] = (uint8_t)force_version;
		if ((ctl >> 3) & 7)
			fuzz_env_advance(&env, fuzz_pcp_steps[(ctl >> 3) & 7]);
		if (ctl & 0x40) {
			uint64_t now = clock_now(&env.e.clock);

			if (wanconn_status(env.e.wan) == WANCONN_CONNECTED)
				(void)wanconn_request_termination(env.e.wan, now);
			else
				(void)wanconn_request_connection(env.e.wan, now);
		}
		if (ctl & 0x80)
			pcp_svc_reset_epoch(&svc);
		sid = env.e.system_update_id;
		count = map_count(env.e.maps);
		n = pcp_svc_handle(&svc, &peer, 0, dgram, len, out);
		fuzz_pcp_check_answer(dgram, len, out, n);
		/* A change of the table is an event. */
		if (map_count(env.e.maps) != count)
			FUZZ_CHECK(env.e.system_update_id != sid);
		fuzz_pcp_check_table(&env);
	}
	/* Everything a client made goes when its lease runs out. */
	fuzz_env_advance(&env, (uint64_t)env.e.cfg->pcp_max_lifetime * 1000u + 1000u);
	for (const struct mapping *m = map_first(env.e.maps); m; m = map_next(env.e.maps, m))
		FUZZ_CHECK(m->origin != MAP_ORIGIN_NATPMP && m->origin != MAP_ORIGIN_PCP);
	fuzz_env_fini(&env);
}

#endif
