/*
 * nft_state.c - the helper's copy of table ip igdd (see nft_state.h).
 *
 * Mappings hang off an array indexed by (protocol, external port): the
 * entries of one port differ only in remote host, so a chain is short.
 * Internal endpoints ("groups": the allow and snat elements) sit in a
 * hash table that doubles as it fills.
 *
 * A change runs in three steps: record what every key and group it can
 * touch holds now; change the copy; compare, and write one delete for
 * each element that went or changed and one add for each that came or
 * changed. Comparing end states (instead of logging each step) keeps a
 * batch that touches one key twice down to its net effect, so deletes
 * can all go before adds in one transaction.
 */
#include "priv/nft_state.h"

#include "util/buf.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NPORTS (2u * 65536u)

/* An internal endpoint: what allow and snat elements are keyed by. */
struct gkey {
	uint32_t internal;
	uint32_t rh;
	uint16_t int_port;
	uint8_t proto;
};

struct st_group;

struct st_map {
	struct priv_entry e;
	struct st_map *pnext;           /* same (proto, ext port), other remote host */
	struct st_group *g;
	struct st_map *gprev, *gnext;   /* the members of g */
};

struct st_group {
	struct gkey k;
	struct st_map *members;
	size_t n;
	uint16_t min_ext;               /* the snat value */
	struct st_group *hnext;
};

/* What a mapping key / a group held before the open change. */
struct rec_key {
	struct priv_entry before;         /* proto, ext_port, remote_host: the key */
	bool had;
};

struct rec_group {
	struct gkey k;
	bool had;
	uint16_t min_ext;
};

struct nft_state {
	size_t max;
	size_t nmaps, nmaps_rh, ngroups, ngroups_rh;
	struct st_map **port;           /* NPORTS chains */
	struct st_group **gb;           /* hash buckets, ngb a power of two */
	size_t ngb;
	struct rec_key *rk;             /* the open change */
	size_t nrk;
	struct rec_group *rg;
	size_t nrg;
	bool open;
};

static size_t pidx(uint8_t proto, uint16_t ext)
{
	return (proto == IPPROTO_UDP ? 65536u : 0u) + ext;
}

static struct gkey gkey_of(const struct priv_entry *e)
{
	struct gkey k;

	memset(&k, 0, sizeof(k));
	k.internal = e->internal.s_addr;
	k.rh = e->remote_host.s_addr;
	k.int_port = e->int_port;
	k.proto = e->proto;
	return k;
}

static bool gkey_eq(const struct gkey *a, const struct gkey *b)
{
	return a->internal == b->internal && a->rh == b->rh && a->int_port == b->int_port &&
	       a->proto == b->proto;
}

static size_t ghash(const struct gkey *k, size_t nb)
{
	/* Addresses in host order: the same buckets, so the same dump order,
	 * on every CPU (scripts/cross-test.sh). */
	uint64_t h = (uint64_t)ntohl(k->internal) * UINT64_C(0x9E3779B97F4A7C15);

	h ^= (uint64_t)ntohl(k->rh) * UINT64_C(0xC2B2AE3D27D4EB4F);
	h ^= (((uint64_t)k->int_port << 8) | k->proto) * UINT64_C(0x165667B19E3779F9);
	h ^= h >> 29;
	return (size_t)(h & (nb - 1));
}

struct nft_state *nft_state_new(size_t max)
{
	struct nft_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->max = max;
	st->ngb = 64;
	st->port = calloc(NPORTS, sizeof(*st->port));
	st->gb = calloc(st->ngb, sizeof(*st->gb));
	if (!st->port || !st->gb) {
		nft_state_free(st);
		return NULL;
	}
	return st;
}

/* Every mapping is a member of exactly one group: walking the groups
 * finds them all, without a walk of the 131072 port chains. */
void nft_state_clear(struct nft_state *st)
{
	size_t i;

	for (i = 0; i < st->ngb; i++) {
		while (st->gb[i]) {
			struct st_group *g = st->gb[i];

			while (g->members) {
				struct st_map *m = g->members;

				g->members = m->gnext;
				st->port[pidx(m->e.proto, m->e.ext_port)] = NULL;
				free(m);
			}
			st->gb[i] = g->hnext;
			free(g);
		}
	}
	st->nmaps = st->nmaps_rh = st->ngroups = st->ngroups_rh = 0;
}

void nft_state_free(struct nft_state *st)
{
	if (!st)
		return;
	if (st->port && st->gb)
		nft_state_clear(st);
	free(st->port);
	free(st->gb);
	free(st->rk);
	free(st->rg);
	free(st);
}

size_t nft_state_count(const struct nft_state *st)
{
	return st->nmaps;
}

void nft_state_counts(const struct nft_state *st, size_t counts[NFT_NSETS])
{
	memset(counts, 0, NFT_NSETS * sizeof(counts[0]));
	counts[NFT_SET_DNAT_RH] = st->nmaps_rh;
	counts[NFT_SET_DNAT_ANY] = st->nmaps - st->nmaps_rh;
	counts[NFT_SET_ALLOW_RH] = counts[NFT_SET_SNAT_RH] = st->ngroups_rh;
	counts[NFT_SET_ALLOW_ANY] = counts[NFT_SET_SNAT_ANY] = st->ngroups - st->ngroups_rh;
}

/* ---- the copy ---- */

static struct st_map *find(const struct nft_state *st, uint8_t proto, uint16_t ext, uint32_t rh)
{
	struct st_map *m;

	for (m = st->port[pidx(proto, ext)]; m; m = m->pnext)
		if (m->e.remote_host.s_addr == rh && m->e.proto == proto)
			return m;
	return NULL;
}

static struct st_group *gfind(const struct nft_state *st, const struct gkey *k)
{
	struct st_group *g;

	for (g = st->gb[ghash(k, st->ngb)]; g; g = g->hnext)
		if (gkey_eq(&g->k, k))
			return g;
	return NULL;
}

/* Double the buckets (when that fails, the chains just grow longer). */
static void ggrow(struct nft_state *st)
{
	size_t nb = st->ngb * 2, i;
	struct st_group **gb = calloc(nb, sizeof(*gb));

	if (!gb)
		return;
	for (i = 0; i < st->ngb; i++) {
		while (st->gb[i]) {
			struct st_group *g = st->gb[i];
			size_t h = ghash(&g->k, nb);

			st->gb[i] = g->hnext;
			g->hnext = gb[h];
			gb[h] = g;
		}
	}
	free(st->gb);
	st->gb = gb;
	st->ngb = nb;
}

static struct st_group *gget(struct nft_state *st, const struct gkey *k)
{
	struct st_group *g = gfind(st, k);
	size_t h;

	if (g)
		return g;
	if (st->ngroups >= st->ngb)
		ggrow(st);
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->k = *k;
	h = ghash(k, st->ngb);
	g->hnext = st->gb[h];
	st->gb[h] = g;
	st->ngroups++;
	if (k->rh)
		st->ngroups_rh++;
	return g;
}

static void gdrop(struct nft_state *st, struct st_group *g)
{
	struct st_group **pp = &st->gb[ghash(&g->k, st->ngb)];

	while (*pp != g)
		pp = &(*pp)->hnext;
	*pp = g->hnext;
	st->ngroups--;
	if (g->k.rh)
		st->ngroups_rh--;
	free(g);
}

static int insert(struct nft_state *st, const struct priv_entry *e)
{
	struct gkey k = gkey_of(e);
	struct st_group *g = gget(st, &k);
	struct st_map *m;
	size_t i = pidx(e->proto, e->ext_port);

	if (!g)
		return -ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m) {
		if (g->n == 0)
			gdrop(st, g);
		return -ENOMEM;
	}
	m->e = *e;
	m->pnext = st->port[i];
	st->port[i] = m;
	m->g = g;
	m->gnext = g->members;
	if (g->members)
		g->members->gprev = m;
	g->members = m;
	if (g->n++ == 0 || e->ext_port < g->min_ext)
		g->min_ext = e->ext_port;
	st->nmaps++;
	if (e->remote_host.s_addr)
		st->nmaps_rh++;
	return 0;
}

static void unlink_map(struct nft_state *st, struct st_map *m)
{
	struct st_map **pp = &st->port[pidx(m->e.proto, m->e.ext_port)];
	struct st_group *g = m->g;
	struct st_map *o;

	while (*pp != m)
		pp = &(*pp)->pnext;
	*pp = m->pnext;
	if (m->gprev)
		m->gprev->gnext = m->gnext;
	else
		g->members = m->gnext;
	if (m->gnext)
		m->gnext->gprev = m->gprev;
	st->nmaps--;
	if (m->e.remote_host.s_addr)
		st->nmaps_rh--;
	if (--g->n == 0) {
		gdrop(st, g);
	} else if (m->e.ext_port == g->min_ext) {
		/* g->n > 0 members remain. NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		g->min_ext = g->members->e.ext_port;
		for (o = g->members; o; o = o->gnext)
			if (o->e.ext_port < g->min_ext)
				g->min_ext = o->e.ext_port;
	}
	free(m);
}

/* ---- a change ---- */

static bool same_value(const struct priv_entry *a, const struct priv_entry *b)
{
	return a->internal.s_addr == b->internal.s_addr && a->int_port == b->int_port;
}

static bool same_key(const struct priv_entry *a, const struct priv_entry *b)
{
	return a->proto == b->proto && a->ext_port == b->ext_port &&
	       a->remote_host.s_addr == b->remote_host.s_addr;
}

static void record_key(struct nft_state *st, const struct priv_entry *e)
{
	const struct st_map *m;
	size_t i;

	for (i = 0; i < st->nrk; i++)
		if (same_key(&st->rk[i].before, e))
			return;
	m = find(st, e->proto, e->ext_port, e->remote_host.s_addr);
	st->rk[st->nrk].had = m != NULL;
	st->rk[st->nrk].before = m ? m->e : *e;
	st->nrk++;
}

static void record_group(struct nft_state *st, const struct priv_entry *e)
{
	struct gkey k = gkey_of(e);
	const struct st_group *g;
	size_t i;

	for (i = 0; i < st->nrg; i++)
		if (gkey_eq(&st->rg[i].k, &k))
			return;
	g = gfind(st, &k);
	st->rg[st->nrg].k = k;
	st->rg[st->nrg].had = g != NULL;
	st->rg[st->nrg].min_ext = g ? g->min_ext : 0;
	st->nrg++;
}

/* Step 1: every key of v, the groups of their present and new values. */
static void record(struct nft_state *st, enum nft_op op, const struct priv_entry *v, size_t n)
{
	const struct st_map *m;
	size_t i;

	for (i = 0; i < n; i++) {
		record_key(st, &v[i]);
		m = find(st, v[i].proto, v[i].ext_port, v[i].remote_host.s_addr);
		if (m)
			record_group(st, &m->e);
		if (op == NFT_ADD)
			record_group(st, &v[i]);
	}
}

/* Put every recorded key back as it was. */
static void restore(struct nft_state *st)
{
	struct st_map *m;
	size_t i;

	for (i = 0; i < st->nrk; i++) {
		const struct priv_entry *b = &st->rk[i].before;

		m = find(st, b->proto, b->ext_port, b->remote_host.s_addr);
		if (m)
			unlink_map(st, m);
		if (st->rk[i].had)
			(void)insert(st, b);    /* memory was just freed above */
	}
}

/* Step 2. */
static int mutate(struct nft_state *st, enum nft_op op, const struct priv_entry *v, size_t n)
{
	struct st_map *m;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		m = find(st, v[i].proto, v[i].ext_port, v[i].remote_host.s_addr);
		if (op == NFT_DEL) {
			if (m)
				unlink_map(st, m);
			continue;
		}
		if (m && same_value(&m->e, &v[i]))
			continue;
		if (m)
			unlink_map(st, m);
		else if (st->nmaps >= st->max)
			return -ENOSPC;
		r = insert(st, &v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The elements that went, came or changed. */
struct delta {
	struct priv_entry *del_dnat, *add_dnat, *del_allow, *add_allow, *del_snat, *add_snat;
	size_t ndel_dnat, nadd_dnat, ndel_allow, nadd_allow, ndel_snat, nadd_snat;
};

static struct priv_entry group_elem(const struct gkey *k, uint16_t min_ext)
{
	struct priv_entry e;

	memset(&e, 0, sizeof(e));
	e.internal.s_addr = k->internal;
	e.remote_host.s_addr = k->rh;
	e.int_port = k->int_port;
	e.proto = k->proto;
	e.ext_port = min_ext;
	return e;
}

/* Step 3: compare recorded and present states. */
static void compare(const struct nft_state *st, struct delta *d)
{
	const struct st_map *m;
	const struct st_group *g;
	size_t i;

	for (i = 0; i < st->nrk; i++) {
		const struct rec_key *r = &st->rk[i];

		m = find(st, r->before.proto, r->before.ext_port, r->before.remote_host.s_addr);
		if (r->had && (!m || !same_value(&m->e, &r->before)))
			d->del_dnat[d->ndel_dnat++] = r->before;
		if (m && (!r->had || !same_value(&m->e, &r->before)))
			d->add_dnat[d->nadd_dnat++] = m->e;
	}
	for (i = 0; i < st->nrg; i++) {
		const struct rec_group *r = &st->rg[i];

		g = gfind(st, &r->k);
		if (r->had && !g)
			d->del_allow[d->ndel_allow++] = group_elem(&r->k, r->min_ext);
		if (g && !r->had)
			d->add_allow[d->nadd_allow++] = group_elem(&r->k, g->min_ext);
		if (r->had && (!g || g->min_ext != r->min_ext))
			d->del_snat[d->ndel_snat++] = group_elem(&r->k, r->min_ext);
		if (g && (!r->had || g->min_ext != r->min_ext))
			d->add_snat[d->nadd_snat++] = group_elem(&r->k, g->min_ext);
	}
}

static int write_delta(const struct nft_state *st, struct buf *cmd)
{
	struct delta d;
	struct priv_entry *mem;
	size_t nk = st->nrk, ng = st->nrg;
	int r;

	memset(&d, 0, sizeof(d));
	mem = calloc(2 * nk + 4 * ng + 1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	d.del_dnat = mem;
	d.add_dnat = d.del_dnat + nk;
	d.del_allow = d.add_dnat + nk;
	d.add_allow = d.del_allow + ng;
	d.del_snat = d.add_allow + ng;
	d.add_snat = d.del_snat + ng;
	compare(st, &d);
	nft_rules_elems(cmd, NFT_DEL, d.del_dnat, d.ndel_dnat, NFT_EL_DNAT);
	nft_rules_elems(cmd, NFT_DEL, d.del_allow, d.ndel_allow, NFT_EL_ALLOW);
	nft_rules_elems(cmd, NFT_DEL, d.del_snat, d.ndel_snat, NFT_EL_SNAT);
	nft_rules_elems(cmd, NFT_ADD, d.add_dnat, d.nadd_dnat, NFT_EL_DNAT);
	nft_rules_elems(cmd, NFT_ADD, d.add_allow, d.nadd_allow, NFT_EL_ALLOW);
	r = nft_rules_elems(cmd, NFT_ADD, d.add_snat, d.nadd_snat, NFT_EL_SNAT);
	free(mem);
	return cmd->toobig ? -E2BIG : r;
}

int nft_state_change(struct nft_state *st, enum nft_op op, const struct priv_entry *v, size_t n,
		     struct buf *cmd)
{
	size_t i, len0 = cmd->len;
	int r;

	if (st->open || n > NFT_STATE_MAX_BATCH)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!nft_elem_ok(&v[i]))
			return -EINVAL;
	free(st->rk);
	free(st->rg);
	st->nrk = st->nrg = 0;
	st->rk = calloc(n + 1, sizeof(*st->rk));
	st->rg = calloc(2 * n + 1, sizeof(*st->rg));
	if (!st->rk || !st->rg)
		return -ENOMEM;
	record(st, op, v, n);
	r = mutate(st, op, v, n);
	if (r == 0)
		r = write_delta(st, cmd);
	if (r < 0) {
		restore(st);
		cmd->len = len0;
		cmd->toobig = 0;
		if (cmd->p)
			cmd->p[len0] = '\0';
		return r;
	}
	st->open = true;
	return 0;
}

void nft_state_commit(struct nft_state *st)
{
	st->open = false;
	st->nrk = st->nrg = 0;
}

void nft_state_rollback(struct nft_state *st)
{
	if (st->open)
		restore(st);
	nft_state_commit(st);
}

int nft_state_dump(const struct nft_state *st, struct buf *cmd)
{
	struct priv_entry *v;
	const struct st_map *m;
	const struct st_group *g;
	size_t i, n = 0;
	int r;

	v = calloc(st->nmaps + st->ngroups + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < NPORTS; i++)
		for (m = st->port[i]; m; m = m->pnext)
			v[n++] = m->e;
	r = nft_rules_elems(cmd, NFT_ADD, v, n, NFT_EL_DNAT);
	n = 0;
	for (i = 0; i < st->ngb; i++)
		for (g = st->gb[i]; g; g = g->hnext)
			v[n++] = group_elem(&g->k, g->min_ext);
	if (r == 0)
		r = nft_rules_elems(cmd, NFT_ADD, v, n, NFT_EL_ALLOW | NFT_EL_SNAT);
	free(v);
	return r;
}

size_t nft_state_at_port(const struct nft_state *st, uint8_t proto, uint16_t ext,
			 struct priv_entry *out, size_t max)
{
	const struct st_map *m;
	size_t n = 0;

	for (m = st->port[pidx(proto, ext)]; m; m = m->pnext)
		if (m->e.proto == proto && n < max)
			out[n++] = m->e;
	return n;
}

size_t nft_state_list(const struct nft_state *st, struct priv_entry *out, size_t max)
{
	const struct st_map *m;
	size_t i, n = 0;

	for (i = 0; i < NPORTS && n < max; i++)
		for (m = st->port[i]; m && n < max; m = m->pnext)
			out[n++] = m->e;
	return n;
}
