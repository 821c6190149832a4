/*
 * fuzz_priv.c - libFuzzer target for the privileged helper's message
 * decoding (priv/priv_msg.c): the request check the helper runs on
 * whatever the engine sends (priv_msg_check(), with and without a port
 * policy, a descriptor and a grant), the grant check (priv_grant_check()),
 * the engine's reading of what the helper sends (priv_msg_kind()), and
 * every accepted change through the helper's copy of the table
 * (priv/nft_state.c) into nft command text (priv/nft_rules.c), as
 * priv/helper.c does with it. A compromised engine controls all of the
 * request's bytes: nothing it sends may crash the helper, and nothing
 * the checks accept may break the invariants below.
 *
 * Input: byte 0: bit 0 a descriptor came along, bit 1 it held a valid
 * grant, bits 2-3 the port policy (none; the default rules; two ACL
 * rules; deny everything but 20000-20999 on the second LAN), bit 4 pad
 * the message with zeros to the exact request size (so that short inputs
 * still make requests), bit 5 the first LAN's prefix 192.168.0.0/16
 * instead of 192.168.77.0/24 (the second LAN, guest0, is 10.7.0.0/16),
 * bits 6-7 how many more requests follow (up
 * to 3, each split at the next "\xff\xfe\xfd\xfc" marker). The bytes of
 * one request follow; the last 32 bytes of the input are also checked as
 * a grant for the first request's first entry, and the whole input as a
 * message from the helper.
 *
 * Checks: an accepted APPLY or REMOVE has 1..PRIV_BATCH_MAX entries of
 * TCP or UDP, ports 1..65535, internal addresses inside a LAN prefix
 * and neither its network nor broadcast address, unicast remote hosts,
 * zero padding; an accepted APPLY without a grant passes the port
 * policy; other accepted operations carry no entries; a descriptor only
 * with one APPLY; -EACCES only for a port refusal, never for a malformed
 * message; the copy of the table never holds more than its maximum and
 * every command text it writes is bounded; an accepted grant names
 * exactly the entry and is fresh; a helper message classified GONE has
 * 1..PRIV_GONE_MAX entries.
 */
#define _GNU_SOURCE             /* memmem */

#include "conf/config.h"
#include "conf/policy_conf.h"
#include "core/policy.h"
#include "priv/nft_rules.h"
#include "priv/nft_state.h"
#include "priv/priv_msg.h"
#include "util/buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define STATE_MAX 64                    /* the copy's max_mappings */
#define MARKER "\xff\xfe\xfd\xfc"

static const char *const policy_text[4] = {
	NULL,
	"lan_interface = lo\n",
	"lan_interface = lo\nacl = allow 80 192.168.77.20 8080\n"
	"acl = deny 5000-5999 0.0.0.0/0 0-65535\n",
	"lan_interface = lo\nlan_interface = guest0\n"
	"acl = allow 20000-20999 0.0.0.0/0 0-65535 on guest0\n"
	"acl = deny 0-65535 0.0.0.0/0 0-65535\n",
};

static struct policy *policies[4];
static struct nft_state *state;

static const struct policy *policy_get(unsigned which)
{
	struct config *cfg;
	char err[256];

	if (!policy_text[which] || policies[which])
		return policies[which];
	cfg = malloc(sizeof(*cfg));
	CHECK(cfg != NULL);
	CHECK(config_parse("fuzz", policy_text[which], strlen(policy_text[which]), cfg, err,
			   sizeof(err)) == 0);
	policies[which] = config_policy_new(cfg, err, sizeof(err));
	CHECK(policies[which] != NULL);
	free(cfg);
	return policies[which];
}

static bool in_lan(uint32_t a, const struct priv_policy *pol)
{
	uint32_t h = ntohl(a);
	unsigned i;

	for (i = 0; i < pol->nlan; i++) {
		uint32_t mask = UINT32_MAX << (32 - pol->lan[i].plen);

		if ((h & mask) == ntohl(pol->lan[i].net.s_addr) && (h & ~mask) != 0 &&
		    (h & ~mask) != ~mask)
			return true;
	}
	return false;
}

/* What an accepted request must be. */
static void check_accepted(const struct priv_req *rq, bool fd, bool granted,
			   const struct priv_policy *pol)
{
	size_t i;

	if (fd)
		CHECK(rq->op == PRIV_OP_APPLY && rq->count == 1);
	if (rq->op != PRIV_OP_APPLY && rq->op != PRIV_OP_REMOVE) {
		CHECK(rq->op == PRIV_OP_FLUSH || rq->op == PRIV_OP_WAN_UP ||
		      rq->op == PRIV_OP_WAN_DOWN || rq->op == PRIV_OP_RELOAD);
		CHECK(rq->count == 0);
		return;
	}
	CHECK(rq->count >= 1 && rq->count <= PRIV_BATCH_MAX);
	for (i = 0; i < rq->count; i++) {
		const struct priv_entry *e = &rq->e[i];
		struct in_addr rh = e->remote_host, c = e->internal;

		CHECK(e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP);
		CHECK(e->ext_port && e->int_port);
		CHECK(!e->pad[0] && !e->pad[1] && !e->pad[2]);
		CHECK(in_lan(e->internal.s_addr, pol));
		CHECK(e->remote_host.s_addr == 0 || policy_remote_host_ok(rh));
		if (rq->op == PRIV_OP_APPLY && !granted && pol->ports)
			CHECK(policy_check_ports(pol->ports, priv_lan_of(pol, c), c, e->ext_port,
						 e->int_port) == POLICY_ALLOW);
	}
}

/* An accepted change, through the helper's copy as helper.c runs it (the
 * kernel taking it or not, by the request's first byte). */
static void apply(struct nft_state *st, struct buf *cmd, const struct priv_req *rq)
{
	struct priv_entry v[PRIV_BATCH_MAX];
	size_t i;
	int r;

	if (rq->op == PRIV_OP_FLUSH) {
		nft_state_clear(st);
		return;
	}
	if (rq->op != PRIV_OP_APPLY && rq->op != PRIV_OP_REMOVE)
		return;
	for (i = 0; i < rq->count; i++)
		v[i] = rq->e[i];
	buf_reset(cmd);
	r = nft_state_change(st, rq->op == PRIV_OP_APPLY ? NFT_ADD : NFT_DEL, v, rq->count, cmd);
	CHECK(r == 0 || r == -ENOSPC || r == -ENOMEM || r == -E2BIG);
	if (r < 0)
		return;
	CHECK(!cmd->toobig);
	if (rq->seq & 1)
		nft_state_rollback(st);
	else
		nft_state_commit(st);
	CHECK(nft_state_count(st) <= STATE_MAX);
}

/* One request (len bytes at p) as the helper receives it. */
static void one(const uint8_t *p, size_t len, uint8_t flags, struct nft_state *st,
		struct buf *cmd)
{
	static struct priv_req rq;
	struct priv_policy pol;
	bool fd = flags & 1, granted = fd && (flags & 2);
	const char *why = NULL;
	size_t n = len;
	int r;

	memset(&pol, 0, sizeof(pol));
	inet_pton(AF_INET, flags & 0x20 ? "192.168.0.0" : "192.168.77.0", &pol.lan[0].net);
	pol.lan[0].plen = flags & 0x20 ? 16 : 24;
	inet_pton(AF_INET, "10.7.0.0", &pol.lan[1].net);        /* guest0 */
	pol.lan[1].plen = 16;
	pol.lan[1].index = 1;
	pol.nlan = 2;
	pol.ports = policy_get((flags >> 2) & 3);
	memset(&rq, 0, sizeof(rq));
	memcpy(&rq, p, len < sizeof(rq) ? len : sizeof(rq));
	if (flags & 0x10)
		n = sizeof(rq);                 /* zero-padded to the size */
	r = priv_msg_check(&rq, n, fd, &pol, granted, &why);
	CHECK(r == 0 || r == -EINVAL || r == -EACCES);
	CHECK(r == 0 || why != NULL);
	if (r == -EACCES) {
		/* Only a port refusal, of an APPLY otherwise well-formed. */
		CHECK(rq.op == PRIV_OP_APPLY && !granted && pol.ports);
		CHECK(priv_msg_check(&rq, n, fd, &pol, true, &why) == 0);
		return;
	}
	if (r < 0)
		return;
	CHECK(n == sizeof(rq));
	check_accepted(&rq, fd, granted, &pol);
	apply(st, cmd, &rq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nft_state *st;
	struct buf cmd;
	const uint8_t *p, *end;
	unsigned more, i;
	uint8_t flags;
	union {
		struct priv_gone g;
		struct priv_grant grant;
		uint8_t raw[sizeof(struct priv_gone)];
	} copy;

	if (size < 1)
		return 0;
	flags = data[0];
	more = flags >> 6;
	/* One copy for every input (its port array is 1 MiB), emptied first:
	 * each input still starts from the same empty table. */
	if (!state) {
		state = nft_state_new(STATE_MAX);
		CHECK(state != NULL);
	}
	st = state;
	nft_state_clear(st);
	buf_init(&cmd, 1u << 20);
	p = data + 1;
	end = data + size;
	for (i = 0; i <= more && p <= end; i++) {
		const uint8_t *m = memmem(p, (size_t)(end - p), MARKER, 4);
		const uint8_t *stop = m ? m : end;

		one(p, (size_t)(stop - p), flags, st, &cmd);
		if (!m)
			break;
		p = m + 4;
	}
	/* The tail as a grant for the first entry of the first request. */
	if (size >= 1 + offsetof(struct priv_req, e) + sizeof(struct priv_entry) +
		    sizeof(struct priv_grant)) {
		struct priv_entry want;
		const char *why = NULL;

		memcpy(&want, data + 1 + offsetof(struct priv_req, e), sizeof(want));
		memcpy(&copy.grant, end - sizeof(struct priv_grant), sizeof(struct priv_grant));
		if (priv_grant_check(&copy.grant, sizeof(copy.grant), &want, 1000000, &why) == 0) {
			CHECK(priv_entry_eq(&copy.grant.e, &want));
			CHECK(copy.grant.created_ms <= 1000000 &&
			      1000000 - copy.grant.created_ms <= PRIV_GRANT_MAX_AGE_MS);
		} else {
			CHECK(why != NULL);
		}
	}
	/* The input as a message from the helper, as the engine reads it. */
	memset(&copy, 0, sizeof(copy));
	memcpy(copy.raw, data, size < sizeof(copy.raw) ? size : sizeof(copy.raw));
	switch (priv_msg_kind(copy.raw, size < sizeof(copy.raw) ? size : sizeof(copy.raw))) {
	case PRIV_KIND_GONE:
		CHECK(size >= sizeof(struct priv_gone));
		CHECK(copy.g.h.count >= 1 && copy.g.h.count <= PRIV_GONE_MAX);
		break;
	case PRIV_KIND_REPLY:
	case PRIV_KIND_WAN_DONE:
		CHECK(size == sizeof(struct priv_reply));
		break;
	case PRIV_KIND_BAD:
		break;
	}
	buf_free(&cmd);
	return 0;
}
