/*
 * mapping.c - the port-mapping table (WANIPConnection:2 2.3.14 - 2.3.22,
 * 2.4.6; see mapping.h for the contract and the invariants).
 *
 * Structures, all over the same nodes:
 *   - two AVL trees with parent pointers and subtree sizes (order-
 *     statistic trees), each node linked into both through its own set
 *     of links; one set of tree functions serves both, given the index:
 *       TREE_KEY     (proto, ext port, remote host): the table's order;
 *                    lookup, n-th, index, ranges;
 *       TREE_CLIENT  (internal client, proto, ext port, remote host):
 *                    one internal client's entries are a contiguous run
 *                    in the table's order, so its n-th entry is the
 *                    (rank of its first + n)-th node (2.5.14.3: a control
 *                    point reads its own entries);
 *   - a binary min-heap of leased nodes by lease end, each node knowing
 *     its heap slot (removal from the middle in O(log n));
 *   - per protocol a 65536-bit bitmap of ports in use plus a 1024-bit
 *     summary of its full 64-bit words: a free port is found by looking
 *     at one word, then at most 16 summary words, then one word;
 *   - two open-addressing hashes (linear probing, backward-shift
 *     deletion) of entry counts, per internal client and per owner (the
 *     control point that made the entry), for max_per_client.
 *
 * Memory per entry: the node (112 bytes on LP64: the mapping, 2 x 32
 * bytes of links, the heap slot number), one heap slot (8), the
 * description (its length + 1) and about 16 bytes of hash per distinct
 * client; the bitmaps are a fixed 16.3 KiB.
 */
#include "core/mapping.h"

#include "util/limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_HEAP UINT32_MAX
#define PORT_WORDS (65536 / 64)
#define SUMMARY_WORDS (PORT_WORDS / 64)

/* The orders the nodes are kept in, one AVL tree each. */
enum tree_ix { TREE_KEY, TREE_CLIENT };
#define NTREES 2

/* Sides of a node; !side is the other one. */
enum { LEFT = 0, RIGHT = 1 };

struct map_node;

/* A node's place in one tree. */
struct tree_link {
	struct map_node *child[2];      /* LEFT, RIGHT */
	struct map_node *parent;
	uint32_t size;                  /* nodes in this subtree */
	int8_t height;
};

struct map_node {
	struct mapping m;               /* first: a node is its mapping */
	struct tree_link link[NTREES];  /* by enum tree_ix */
	uint32_t heap_idx;              /* slot in the lease heap, or NO_HEAP */
};

/* A position in either tree: client is 0 throughout TREE_KEY. */
struct tree_key {
	uint32_t client;                /* host order */
	uint64_t key;                   /* key_of() */
};

struct client_slot {
	uint32_t addr;                  /* network order */
	uint32_t count;                 /* 0 = empty slot */
};

/* An open-addressing hash (linear probing) of entry counts per address. */
struct addr_counts {
	struct client_slot *v;
	size_t cap;                     /* power of two, or 0 */
	size_t len;                     /* addresses with a count */
};

struct map_table {
	struct map_limits lim;
	const struct clock *clk;
	struct map_node *root[NTREES];
	size_t count;

	struct map_node **heap;
	size_t heap_len, heap_cap;

	uint64_t used[MAP_NPROTO][PORT_WORDS];
	uint64_t full[MAP_NPROTO][SUMMARY_WORDS];

	struct addr_counts clients;     /* entries per internal client */
	struct addr_counts owners;      /* entries per owner (the control point; not 0.0.0.0) */
};

static inline struct map_node *node_of(const struct mapping *m)
{
	return (struct map_node *)(uintptr_t)m;
}

static inline struct mapping *mapping_of(struct map_node *n)
{
	return n ? &n->m : NULL;
}

static inline uint64_t key_of(uint8_t proto, uint16_t port, struct in_addr rh)
{
	return ((uint64_t)proto << 48) | ((uint64_t)port << 32) | ntohl(rh.s_addr);
}

static inline uint64_t node_key(const struct map_node *n)
{
	return key_of(n->m.proto, n->m.ext_port, n->m.remote_host);
}

static inline struct tree_key node_tkey(const struct map_node *n, enum tree_ix ix)
{
	struct tree_key k = { 0, node_key(n) };

	if (ix == TREE_CLIENT)
		k.client = ntohl(n->m.internal_client.s_addr);
	return k;
}

static inline bool tkey_less(struct tree_key a, struct tree_key b)
{
	return a.client < b.client || (a.client == b.client && a.key < b.key);
}

/* ---------------------------------------------------------------- AVL */

/* Every function below works on one tree, ix, through the nodes' links
 * of that tree; the other tree is never touched. */

static inline int height(const struct map_node *n, enum tree_ix ix)
{
	return n ? n->link[ix].height : 0;
}

static inline uint32_t size_of(const struct map_node *n, enum tree_ix ix)
{
	return n ? n->link[ix].size : 0;
}

static void node_update(struct map_node *n, enum tree_ix ix)
{
	struct tree_link *l = &n->link[ix];
	int hl = height(l->child[LEFT], ix), hr = height(l->child[RIGHT], ix);

	l->height = (int8_t)((hl > hr ? hl : hr) + 1);
	l->size = size_of(l->child[LEFT], ix) + size_of(l->child[RIGHT], ix) + 1;
}

/* Put new where old hangs under parent (or at the root). */
static void replace_child(struct map_table *t, enum tree_ix ix, struct map_node *parent,
			  const struct map_node *old, struct map_node *new)
{
	if (!parent)
		t->root[ix] = new;
	else
		parent->link[ix].child[parent->link[ix].child[LEFT] == old ? LEFT : RIGHT] = new;
	if (new)
		new->link[ix].parent = parent;
}

/* Turn x down towards side dir: its child on the other side, y, takes
 * its place (dir LEFT is the classic left rotation). Returns y. */
static struct map_node *rotate(struct map_table *t, enum tree_ix ix, struct map_node *x, int dir)
{
	struct tree_link *xl = &x->link[ix];
	struct map_node *y = xl->child[!dir];
	struct tree_link *yl = &y->link[ix];

	xl->child[!dir] = yl->child[dir];
	if (yl->child[dir])
		yl->child[dir]->link[ix].parent = x;
	replace_child(t, ix, xl->parent, x, y);
	yl->child[dir] = x;
	xl->parent = y;
	node_update(x, ix);
	node_update(y, ix);
	return y;
}

/* Walk from n to the root fixing sizes, heights and balance: sizes change
 * all the way up, so the walk never stops early (O(log n)). */
static void rebalance_from(struct map_table *t, enum tree_ix ix, struct map_node *n)
{
	while (n) {
		struct tree_link *l = &n->link[ix];
		int bal;

		node_update(n, ix);
		bal = height(l->child[LEFT], ix) - height(l->child[RIGHT], ix);
		if (bal > 1 || bal < -1) {
			int heavy = bal > 1 ? LEFT : RIGHT;
			struct map_node *c = l->child[heavy];

			/* A child leaning the other way is straightened first. */
			if (height(c->link[ix].child[heavy], ix) < height(c->link[ix].child[!heavy], ix))
				rotate(t, ix, c, heavy);
			n = rotate(t, ix, n, !heavy);
		}
		n = n->link[ix].parent;
	}
}

/* Attach n (its links of ix zeroed) at its place; the key is new. */
static void tree_insert(struct map_table *t, enum tree_ix ix, struct map_node *n)
{
	struct map_node *p = NULL, **link = &t->root[ix];
	struct tree_key k = node_tkey(n, ix);

	while (*link) {
		p = *link;
		link = &p->link[ix].child[tkey_less(k, node_tkey(p, ix)) ? LEFT : RIGHT];
	}
	n->link[ix].parent = p;
	n->link[ix].size = 1;
	n->link[ix].height = 1;
	*link = n;
	rebalance_from(t, ix, p);
}

static void tree_erase(struct map_table *t, enum tree_ix ix, struct map_node *n)
{
	struct tree_link *nl = &n->link[ix];
	struct map_node *fix, *s;

	if (!nl->child[LEFT] || !nl->child[RIGHT]) {
		fix = nl->parent;
		replace_child(t, ix, nl->parent, n,
			      nl->child[LEFT] ? nl->child[LEFT] : nl->child[RIGHT]);
	} else {
		/* The successor s (no left child) takes n's place. */
		s = nl->child[RIGHT];
		while (s->link[ix].child[LEFT])
			s = s->link[ix].child[LEFT];
		if (s->link[ix].parent == n) {
			fix = s;
		} else {
			fix = s->link[ix].parent;
			replace_child(t, ix, fix, s, s->link[ix].child[RIGHT]);
			s->link[ix].child[RIGHT] = nl->child[RIGHT];
			nl->child[RIGHT]->link[ix].parent = s;
		}
		s->link[ix].child[LEFT] = nl->child[LEFT];
		nl->child[LEFT]->link[ix].parent = s;
		replace_child(t, ix, nl->parent, n, s);
	}
	rebalance_from(t, ix, fix);
}

/* The last node of n's subtree going towards side dir (LEFT: the first). */
static struct map_node *tree_end(struct map_node *n, enum tree_ix ix, int dir)
{
	while (n && n->link[ix].child[dir])
		n = n->link[ix].child[dir];
	return n;
}

/* The neighbour of n on side dir: RIGHT the next node, LEFT the previous. */
static struct map_node *tree_step(struct map_node *n, enum tree_ix ix, int dir)
{
	if (n->link[ix].child[dir])
		return tree_end(n->link[ix].child[dir], ix, !dir);
	while (n->link[ix].parent && n->link[ix].parent->link[ix].child[dir] == n)
		n = n->link[ix].parent;
	return n->link[ix].parent;
}

/* The first node whose key is >= k; *ret_rank (optional) is how many
 * nodes come before it (the tree's size when there is none). */
static struct map_node *tree_lower_bound(const struct map_table *t, enum tree_ix ix,
					 struct tree_key k, size_t *ret_rank)
{
	struct map_node *n = t->root[ix], *best = NULL;
	size_t rank = 0;

	while (n) {
		if (!tkey_less(node_tkey(n, ix), k)) {
			best = n;
			n = n->link[ix].child[LEFT];
		} else {
			rank += size_of(n->link[ix].child[LEFT], ix) + 1;
			n = n->link[ix].child[RIGHT];
		}
	}
	if (ret_rank)
		*ret_rank = rank;
	return best;
}

/* The node at index (0-based, in the order of ix), NULL past the end. */
static struct map_node *tree_nth(const struct map_table *t, enum tree_ix ix, size_t index)
{
	struct map_node *n = t->root[ix];

	while (n) {
		size_t ls = size_of(n->link[ix].child[LEFT], ix);

		if (index < ls) {
			n = n->link[ix].child[LEFT];
		} else if (index == ls) {
			return n;
		} else {
			index -= ls + 1;
			n = n->link[ix].child[RIGHT];
		}
	}
	return NULL;
}

/* The index of n in the order of ix. */
static size_t tree_index(const struct map_node *n, enum tree_ix ix)
{
	size_t i = size_of(n->link[ix].child[LEFT], ix);

	for (; n->link[ix].parent; n = n->link[ix].parent)
		if (n->link[ix].parent->link[ix].child[RIGHT] == n)
			i += size_of(n->link[ix].parent->link[ix].child[LEFT], ix) + 1;
	return i;
}

/* --------------------------------------------------------- lease heap */

static inline bool heap_less(const struct map_node *a, const struct map_node *b)
{
	return a->m.lease_end_ms < b->m.lease_end_ms;
}

static void heap_set(struct map_table *t, size_t i, struct map_node *n)
{
	t->heap[i] = n;
	n->heap_idx = (uint32_t)i;
}

static void heap_up(struct map_table *t, size_t i)
{
	struct map_node *n = t->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!heap_less(n, t->heap[p]))
			break;
		heap_set(t, i, t->heap[p]);
		i = p;
	}
	heap_set(t, i, n);
}

static void heap_down(struct map_table *t, size_t i)
{
	struct map_node *n = t->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= t->heap_len)
			break;
		if (c + 1 < t->heap_len && heap_less(t->heap[c + 1], t->heap[c]))
			c++;
		if (!heap_less(t->heap[c], n))
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, n);
}

/* Room for one more heap slot, reserved before anything changes. */
static int heap_reserve(struct map_table *t)
{
	struct map_node **nh;
	size_t ncap;

	if (t->heap_len < t->heap_cap)
		return 0;
	ncap = t->heap_cap ? t->heap_cap * 2 : 64;
	nh = realloc(t->heap, ncap * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	t->heap = nh;
	t->heap_cap = ncap;
	return 0;
}

static void heap_push(struct map_table *t, struct map_node *n)
{
	t->heap[t->heap_len] = n;
	n->heap_idx = (uint32_t)t->heap_len;
	t->heap_len++;
	heap_up(t, t->heap_len - 1);
}

static void heap_delete(struct map_table *t, struct map_node *n)
{
	size_t i = n->heap_idx;
	struct map_node *last;

	n->heap_idx = NO_HEAP;
	last = t->heap[--t->heap_len];
	if (i == t->heap_len)
		return;
	heap_set(t, i, last);
	if (i > 0 && heap_less(last, t->heap[(i - 1) / 2]))
		heap_up(t, i);
	else
		heap_down(t, i);
}

/* ------------------------------------------------------- port bitmaps */

static inline bool port_bit(const struct map_table *t, uint8_t proto, uint16_t port)
{
	return (t->used[proto][port >> 6] >> (port & 63)) & 1;
}

static void port_set(struct map_table *t, uint8_t proto, uint16_t port)
{
	unsigned w = port >> 6;

	t->used[proto][w] |= UINT64_C(1) << (port & 63);
	if (t->used[proto][w] == UINT64_MAX)
		t->full[proto][w >> 6] |= UINT64_C(1) << (w & 63);
}

static void port_clear(struct map_table *t, uint8_t proto, uint16_t port)
{
	unsigned w = port >> 6;

	t->used[proto][w] &= ~(UINT64_C(1) << (port & 63));
	t->full[proto][w >> 6] &= ~(UINT64_C(1) << (w & 63));
}

/* Bits from..to (0..63) of a word set. */
static inline uint64_t bits_between(unsigned from, unsigned to)
{
	uint64_t hi = to == 63 ? UINT64_MAX : (UINT64_C(1) << (to + 1)) - 1;

	return hi & ~((UINT64_C(1) << from) - 1);
}

/* The first word index >= w (and <= last) that is not full, or -1. */
static int next_open_word(const struct map_table *t, uint8_t proto, unsigned w, unsigned last)
{
	while (w <= last) {
		unsigned sw = w >> 6;
		uint64_t open = ~t->full[proto][sw] & bits_between(w & 63, 63);

		if (open) {
			unsigned found = (sw << 6) + (unsigned)__builtin_ctzll(open);

			return found <= last ? (int)found : -1;
		}
		w = (sw + 1) << 6;
	}
	return -1;
}

/* The first free port in [from, to], or -1. */
static int first_free(const struct map_table *t, uint8_t proto, unsigned from, unsigned to)
{
	unsigned w = from >> 6, last = to >> 6;

	while (w <= last) {
		unsigned lo = w == from >> 6 ? from & 63 : 0;
		unsigned hi = w == last ? to & 63 : 63;
		uint64_t free_bits = ~t->used[proto][w] & bits_between(lo, hi);
		int nw;

		if (free_bits)
			return (int)((w << 6) + (unsigned)__builtin_ctzll(free_bits));
		nw = next_open_word(t, proto, w + 1, last);
		if (nw < 0)
			return -1;
		w = (unsigned)nw;
	}
	return -1;
}

/* ------------------------------------------------------ address counts */

static inline size_t counts_home(const struct addr_counts *c, uint32_t addr)
{
	/* Fibonacci hashing, taking the product's high bits: the low bits of
	 * a network-order address are its first octets, the same for every
	 * host of a LAN. */
	return (size_t)(((uint64_t)addr * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (c->cap - 1);
}

static struct client_slot *counts_lookup(const struct addr_counts *c, uint32_t addr)
{
	size_t i;

	if (!c->cap)
		return NULL;
	for (i = counts_home(c, addr); c->v[i].count; i = (i + 1) & (c->cap - 1))
		if (c->v[i].addr == addr)
			return &c->v[i];
	return NULL;
}

static int counts_grow(struct addr_counts *c)
{
	struct client_slot *old = c->v;
	size_t oldcap = c->cap, i;
	size_t ncap = oldcap ? oldcap * 2 : 16;

	c->v = calloc(ncap, sizeof(*c->v));
	if (!c->v) {
		c->v = old;
		return -ENOMEM;
	}
	c->cap = ncap;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].count)
			continue;
		for (j = counts_home(c, old[i].addr); c->v[j].count; j = (j + 1) & (ncap - 1))
			;
		c->v[j] = old[i];
	}
	free(old);
	return 0;
}

/* Make sure a new address fits, before anything changes. */
static int counts_reserve(struct addr_counts *c, uint32_t addr)
{
	if (counts_lookup(c, addr))
		return 0;
	if ((c->len + 1) * 2 > c->cap)
		return counts_grow(c);
	return 0;
}

static void counts_inc(struct addr_counts *c, uint32_t addr)
{
	struct client_slot *s = counts_lookup(c, addr);
	size_t i;

	if (s) {
		s->count++;
		return;
	}
	for (i = counts_home(c, addr); c->v[i].count; i = (i + 1) & (c->cap - 1))
		;
	c->v[i].addr = addr;
	c->v[i].count = 1;
	c->len++;
}

static void counts_dec(struct addr_counts *c, uint32_t addr)
{
	struct client_slot *s = counts_lookup(c, addr);
	size_t mask = c->cap - 1, i, j;

	if (!s || --s->count)
		return;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	c->len--;
	i = (size_t)(s - c->v);
	for (j = (i + 1) & mask; c->v[j].count; j = (j + 1) & mask) {
		size_t k = counts_home(c, c->v[j].addr);

		if (((j - k) & mask) >= ((j - i) & mask)) {
			c->v[i] = c->v[j];
			i = j;
		}
	}
	c->v[i].count = 0;
	c->v[i].addr = 0;
}

static size_t counts_get(const struct addr_counts *c, struct in_addr a)
{
	const struct client_slot *s = counts_lookup(c, a.s_addr);

	return s ? s->count : 0;
}

/* --------------------------------------------------------------- API */

struct map_table *map_table_new(const struct map_limits *lim, const struct clock *clk)
{
	struct map_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lim = *lim;
	t->clk = clk;
	return t;
}

/* Every node is in TREE_KEY once: free them through its links. */
static void free_subtree(struct map_node *n)
{
	/* Iterative post-order through parent links: no recursion depth. */
	while (n) {
		struct tree_link *l = &n->link[TREE_KEY];

		if (l->child[LEFT]) {
			n = l->child[LEFT];
		} else if (l->child[RIGHT]) {
			n = l->child[RIGHT];
		} else {
			struct map_node *p = l->parent;

			if (p) {        /* detach n from its parent */
				struct tree_link *pl = &p->link[TREE_KEY];

				pl->child[pl->child[LEFT] == n ? LEFT : RIGHT] = NULL;
			}
			free(n->m.desc);
			free(n);
			n = p;
		}
	}
}

void map_table_free(struct map_table *t)
{
	if (!t)
		return;
	free_subtree(t->root[TREE_KEY]);
	free(t->heap);
	free(t->clients.v);
	free(t->owners.v);
	free(t);
}

void map_set_limits(struct map_table *t, const struct map_limits *lim)
{
	t->lim = *lim;
}

size_t map_count(const struct map_table *t)
{
	return t->count;
}

size_t map_client_count(const struct map_table *t, struct in_addr client)
{
	return counts_get(&t->clients, client);
}

size_t map_owner_count(const struct map_table *t, struct in_addr owner)
{
	return counts_get(&t->owners, owner);
}

struct mapping *map_client_nth(const struct map_table *t, struct in_addr client, size_t index)
{
	struct tree_key first = { ntohl(client.s_addr), 0 };
	size_t base;

	/* The client's entries are the run of TREE_CLIENT starting at the
	 * first key >= (client, 0); the count hash says how long it is. */
	if (index >= map_client_count(t, client))
		return NULL;
	tree_lower_bound(t, TREE_CLIENT, first, &base);
	return mapping_of(tree_nth(t, TREE_CLIENT, base + index));
}

size_t map_client_index(const struct map_table *t, const struct mapping *m)
{
	struct tree_key first = { ntohl(m->internal_client.s_addr), 0 };
	size_t base;

	tree_lower_bound(t, TREE_CLIENT, first, &base);
	return tree_index(node_of(m), TREE_CLIENT) - base;
}

uint64_t map_lease_end(const struct map_table *t, uint32_t lease_s)
{
	if (lease_s == 0)
		return 0;
	return clock_now(t->clk) + (uint64_t)lease_s * 1000u;
}

uint32_t map_lease_remaining(const struct map_table *t, const struct mapping *m)
{
	uint64_t now, left;

	if (m->lease_end_ms == 0)
		return 0;
	now = clock_now(t->clk);
	if (m->lease_end_ms <= now)
		return 1;
	left = (m->lease_end_ms - now + 999) / 1000;
	return left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

size_t map_desc_len(struct str desc)
{
	const char *nul = desc.len ? memchr(desc.p, '\0', desc.len) : NULL;
	size_t n = nul ? (size_t)(nul - desc.p) : desc.len;

	if (n <= IGDD_MAX_DESC_LEN)
		return n;
	/* Cut at IGDD_MAX_DESC_LEN, backing up over continuation bytes
	 * (10xxxxxx) so that no character is split. */
	n = IGDD_MAX_DESC_LEN;
	while (n > 0 && ((unsigned char)desc.p[n] & 0xc0) == 0x80)
		n--;
	return n;
}

char *map_desc_dup(struct str desc)
{
	size_t n = map_desc_len(desc);
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	if (n)
		memcpy(s, desc.p, n);
	s[n] = '\0';
	return s;
}

struct mapping *map_find(const struct map_table *t, uint8_t proto, uint16_t ext_port,
			 struct in_addr remote_host)
{
	uint64_t k = key_of(proto, ext_port, remote_host);
	struct map_node *n = t->root[TREE_KEY];

	while (n) {
		uint64_t nk = node_key(n);

		if (k == nk)
			return &n->m;
		n = n->link[TREE_KEY].child[k < nk ? LEFT : RIGHT];
	}
	return NULL;
}

bool map_port_used(const struct map_table *t, uint8_t proto, uint16_t ext_port)
{
	return proto < MAP_NPROTO && port_bit(t, proto, ext_port);
}

struct mapping *map_find_port(const struct map_table *t, uint8_t proto, uint16_t ext_port)
{
	struct in_addr any = { 0 };
	struct map_node *n;

	if (!map_port_used(t, proto, ext_port))
		return NULL;
	n = tree_lower_bound(t, TREE_KEY, (struct tree_key){ 0, key_of(proto, ext_port, any) }, NULL);
	if (!n || n->m.proto != proto || n->m.ext_port != ext_port)
		return NULL;
	return &n->m;
}

struct mapping *map_nth(const struct map_table *t, size_t index)
{
	return mapping_of(tree_nth(t, TREE_KEY, index));
}

size_t map_index(const struct map_table *t, const struct mapping *m)
{
	(void)t;
	return tree_index(node_of(m), TREE_KEY);
}

struct mapping *map_first(const struct map_table *t)
{
	return mapping_of(tree_end(t->root[TREE_KEY], TREE_KEY, LEFT));
}

struct mapping *map_next(const struct map_table *t, const struct mapping *m)
{
	(void)t;
	return mapping_of(tree_step(node_of(m), TREE_KEY, RIGHT));
}

struct mapping *map_range_first(const struct map_table *t, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct in_addr any = { 0 };
	struct map_node *n;

	if (lo > hi)
		return NULL;
	n = tree_lower_bound(t, TREE_KEY, (struct tree_key){ 0, key_of(proto, lo, any) }, NULL);
	if (!n || n->m.proto != proto || n->m.ext_port > hi)
		return NULL;
	return &n->m;
}

struct mapping *map_range_after(const struct map_table *t, uint8_t proto, uint16_t port,
			       struct in_addr rh, uint16_t hi)
{
	uint64_t k = key_of(proto, port, rh);
	struct map_node *n;

	if ((k & UINT64_C(0xffffffffffff)) == UINT64_C(0xffffffffffff))
		return NULL;            /* port 65535, remote host 255.255.255.255: nothing after */
	n = tree_lower_bound(t, TREE_KEY, (struct tree_key){ 0, k + 1 }, NULL);
	if (!n || n->m.proto != proto || n->m.ext_port > hi)
		return NULL;
	return &n->m;
}

struct mapping *map_range_next(const struct map_table *t, const struct mapping *m, uint16_t hi)
{
	struct map_node *n = tree_step(node_of(m), TREE_KEY, RIGHT);

	(void)t;
	if (!n || n->m.proto != m->proto || n->m.ext_port > hi)
		return NULL;
	return &n->m;
}

int map_free_port(const struct map_table *t, uint8_t proto, uint16_t want, uint16_t lo,
		  uint16_t hi, uint16_t *ret_port)
{
	int p = -1;

	if (proto >= MAP_NPROTO || lo == 0 || lo > hi)
		return -EINVAL;
	if (want < lo || want > hi)
		want = lo;
	p = first_free(t, proto, want, hi);
	if (p < 0 && want > lo)
		p = first_free(t, proto, lo, want - 1u);
	if (p < 0)
		return -ENOSPC;
	*ret_port = (uint16_t)p;
	return 0;
}

/* Whether one more entry for client, made by owner, fits the limits:
 * max_per_client bounds both what one internal client holds and what
 * one control point made (for every client it may map to). */
static enum map_status limits_check(const struct map_table *t, struct in_addr client,
				    struct in_addr owner)
{
	if (t->lim.max_mappings && t->count >= t->lim.max_mappings)
		return MAP_FULL;
	if (t->lim.max_per_client && (map_client_count(t, client) >= t->lim.max_per_client ||
				      (owner.s_addr && map_owner_count(t, owner) >=
						       t->lim.max_per_client)))
		return MAP_CLIENT_FULL;
	return MAP_OK;
}

enum map_status map_add(struct map_table *t, const struct mapping *tmpl, struct str desc,
			struct mapping **ret)
{
	struct mapping *holder;
	struct map_node *n;
	enum map_status st;

	if (map_find(t, tmpl->proto, tmpl->ext_port, tmpl->remote_host))
		return MAP_EXISTS;
	holder = map_find_port(t, tmpl->proto, tmpl->ext_port);
	if (holder && holder->internal_client.s_addr != tmpl->internal_client.s_addr)
		return MAP_CONFLICT;
	st = limits_check(t, tmpl->internal_client, tmpl->owner);
	if (st != MAP_OK)
		return st;
	/* Reserve everything that can fail before touching the table. */
	if ((tmpl->lease_end_ms && heap_reserve(t) < 0) ||
	    counts_reserve(&t->clients, tmpl->internal_client.s_addr) < 0 ||
	    (tmpl->owner.s_addr && counts_reserve(&t->owners, tmpl->owner.s_addr) < 0))
		return MAP_NOMEM;
	n = calloc(1, sizeof(*n));
	if (!n)
		return MAP_NOMEM;
	n->m = *tmpl;
	n->m.desc = map_desc_dup(desc);
	if (!n->m.desc) {
		free(n);
		return MAP_NOMEM;
	}
	n->heap_idx = NO_HEAP;
	tree_insert(t, TREE_KEY, n);
	tree_insert(t, TREE_CLIENT, n);
	t->count++;
	port_set(t, n->m.proto, n->m.ext_port);
	counts_inc(&t->clients, n->m.internal_client.s_addr);
	if (n->m.owner.s_addr)
		counts_inc(&t->owners, n->m.owner.s_addr);
	if (n->m.lease_end_ms)
		heap_push(t, n);
	if (ret)
		*ret = &n->m;
	return MAP_OK;
}

void map_update(struct map_table *t, struct mapping *m, uint16_t int_port, bool enabled,
		char *desc, uint64_t lease_end_ms)
{
	struct map_node *n = node_of(m);
	uint64_t old_end = m->lease_end_ms;

	m->int_port = int_port;
	m->enabled = enabled;
	if (desc) {
		free(m->desc);
		m->desc = desc;
	}
	if (old_end == lease_end_ms)
		return;
	/* A leased entry gives its heap slot back before taking one again,
	 * so only a static -> leased change (out of band only) can need
	 * memory; without it the entry stays static instead of failing. */
	if (n->heap_idx != NO_HEAP)
		heap_delete(t, n);
	m->lease_end_ms = lease_end_ms;
	if (lease_end_ms) {
		if (heap_reserve(t) == 0)
			heap_push(t, n);
		else
			m->lease_end_ms = 0;
	}
}

void map_remove(struct map_table *t, struct mapping *m)
{
	struct map_node *n = node_of(m), *p, *s;
	bool shared;

	/* Does another entry (other remote host) still hold the port? Such
	 * entries are the tree neighbours of n. */
	p = tree_step(n, TREE_KEY, LEFT);
	s = tree_step(n, TREE_KEY, RIGHT);
	shared = (p && p->m.proto == m->proto && p->m.ext_port == m->ext_port) ||
		 (s && s->m.proto == m->proto && s->m.ext_port == m->ext_port);
	if (!shared)
		port_clear(t, m->proto, m->ext_port);
	if (n->heap_idx != NO_HEAP)
		heap_delete(t, n);
	counts_dec(&t->clients, m->internal_client.s_addr);
	if (m->owner.s_addr)
		counts_dec(&t->owners, m->owner.s_addr);
	tree_erase(t, TREE_KEY, n);
	tree_erase(t, TREE_CLIENT, n);
	t->count--;
	free(m->desc);
	free(n);
}

size_t map_expire(struct map_table *t, uint64_t now_ms, map_each_fn fn, void *arg)
{
	size_t n = 0;

	/* map_remove() takes the root off the heap, so heap[0] is never the
	 * entry just freed; the analyzer cannot know heap slots are distinct.
	 * NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	while (t->heap_len && t->heap[0]->m.lease_end_ms <= now_ms) {
		struct mapping *m = &t->heap[0]->m;

		if (fn)
			fn(m, arg);
		map_remove(t, m);
		n++;
	}
	return n;
}

uint64_t map_next_expiry(const struct map_table *t)
{
	return t->heap_len ? t->heap[0]->m.lease_end_ms : 0;
}

const char *map_proto_name(uint8_t proto)
{
	return proto == MAP_UDP ? "UDP" : "TCP";
}

void map_describe(char *out, size_t outsz, const struct mapping *m)
{
	char rh[INET_ADDRSTRLEN], ic[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &m->internal_client, ic, sizeof(ic));
	if (m->remote_host.s_addr) {
		inet_ntop(AF_INET, &m->remote_host, rh, sizeof(rh));
		snprintf(out, outsz, "%s/%u from %s -> %s:%u", map_proto_name(m->proto),
			 (unsigned)m->ext_port, rh, ic, (unsigned)m->int_port);
	} else {
		snprintf(out, outsz, "%s/%u -> %s:%u", map_proto_name(m->proto),
			 (unsigned)m->ext_port, ic, (unsigned)m->int_port);
	}
}
