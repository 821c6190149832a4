/*
 * mapping.c - the port-mapping table (WANIPConnection:2 2.3.14 - 2.3.22,
 * 2.4.6; see mapping.h for the contract and the invariants).
 *
 * Structures, all over the same nodes:
 *   - an AVL tree with parent pointers and subtree sizes, keyed by
 *     (proto, ext port, remote host): lookup, n-th, index, ranges;
 *   - a binary min-heap of leased nodes by lease end, each node knowing
 *     its heap slot (removal from the middle in O(log n));
 *   - per protocol a 65536-bit bitmap of ports in use plus a 1024-bit
 *     summary of its full 64-bit words: a free port is found by looking
 *     at one word, then at most 16 summary words, then one word;
 *   - an open-addressing hash (linear probing, backward-shift deletion)
 *     of entry counts per internal client, for max_per_client.
 *
 * Memory per entry: the node (80 bytes on LP64), one heap slot (8), the
 * description (its length + 1) and about 16 bytes of hash per distinct
 * client; the bitmaps are a fixed 16.3 KiB.
 */
#include "core/mapping.h"

#include "util/limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NO_HEAP UINT32_MAX
#define PORT_WORDS (65536 / 64)
#define SUMMARY_WORDS (PORT_WORDS / 64)

struct map_node {
	struct mapping m;               /* first: a node is its mapping */
	struct map_node *left, *right, *parent;
	uint32_t size;                  /* nodes in this subtree */
	uint32_t heap_idx;              /* slot in the lease heap, or NO_HEAP */
	int8_t height;
};

struct client_slot {
	uint32_t addr;                  /* network order */
	uint32_t count;                 /* 0 = empty slot */
};

struct map_table {
	struct map_limits lim;
	const struct clock *clk;
	struct map_node *root;
	size_t count;

	struct map_node **heap;
	size_t heap_len, heap_cap;

	uint64_t used[MAP_NPROTO][PORT_WORDS];
	uint64_t full[MAP_NPROTO][SUMMARY_WORDS];

	struct client_slot *clients;
	size_t clients_cap;             /* power of two, or 0 */
	size_t clients_len;
};

static inline struct map_node *node_of(const struct mapping *m)
{
	return (struct map_node *)(uintptr_t)m;
}

static inline uint64_t key_of(uint8_t proto, uint16_t port, struct in_addr rh)
{
	return ((uint64_t)proto << 48) | ((uint64_t)port << 32) | ntohl(rh.s_addr);
}

static inline uint64_t node_key(const struct map_node *n)
{
	return key_of(n->m.proto, n->m.ext_port, n->m.remote_host);
}

/* ---------------------------------------------------------------- AVL */

static inline int height(const struct map_node *n)
{
	return n ? n->height : 0;
}

static inline uint32_t size_of(const struct map_node *n)
{
	return n ? n->size : 0;
}

static void node_update(struct map_node *n)
{
	int hl = height(n->left), hr = height(n->right);

	n->height = (int8_t)((hl > hr ? hl : hr) + 1);
	n->size = size_of(n->left) + size_of(n->right) + 1;
}

/* Put new where old hangs under parent (or at the root). */
static void replace_child(struct map_table *t, struct map_node *parent, struct map_node *old,
			  struct map_node *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct map_node *rotate_left(struct map_table *t, struct map_node *x)
{
	struct map_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	replace_child(t, x->parent, x, y);
	y->left = x;
	x->parent = y;
	node_update(x);
	node_update(y);
	return y;
}

static struct map_node *rotate_right(struct map_table *t, struct map_node *x)
{
	struct map_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	replace_child(t, x->parent, x, y);
	y->right = x;
	x->parent = y;
	node_update(x);
	node_update(y);
	return y;
}

/* Walk from n to the root fixing sizes, heights and balance: sizes change
 * all the way up, so the walk never stops early (O(log n)). */
static void rebalance_from(struct map_table *t, struct map_node *n)
{
	while (n) {
		int bal;

		node_update(n);
		bal = height(n->left) - height(n->right);
		if (bal > 1) {
			if (height(n->left->left) < height(n->left->right))
				rotate_left(t, n->left);
			n = rotate_right(t, n);
		} else if (bal < -1) {
			if (height(n->right->right) < height(n->right->left))
				rotate_right(t, n->right);
			n = rotate_left(t, n);
		}
		n = n->parent;
	}
}

/* Attach n (left/right/parent zeroed) at its place; the key is new. */
static void tree_insert(struct map_table *t, struct map_node *n)
{
	struct map_node *p = NULL, **link = &t->root;
	uint64_t k = node_key(n);

	while (*link) {
		p = *link;
		link = k < node_key(p) ? &p->left : &p->right;
	}
	n->parent = p;
	n->size = 1;
	n->height = 1;
	*link = n;
	rebalance_from(t, p);
}

static void tree_erase(struct map_table *t, struct map_node *n)
{
	struct map_node *fix, *s;

	if (!n->left || !n->right) {
		fix = n->parent;
		replace_child(t, n->parent, n, n->left ? n->left : n->right);
	} else {
		/* The successor s (no left child) takes n's place. */
		s = n->right;
		while (s->left)
			s = s->left;
		if (s->parent == n) {
			fix = s;
		} else {
			fix = s->parent;
			replace_child(t, s->parent, s, s->right);
			s->right = n->right;
			s->right->parent = s;
		}
		s->left = n->left;
		s->left->parent = s;
		replace_child(t, n->parent, n, s);
	}
	rebalance_from(t, fix);
}

static struct map_node *tree_leftmost(struct map_node *n)
{
	while (n && n->left)
		n = n->left;
	return n;
}

static struct map_node *tree_next(struct map_node *n)
{
	if (n->right)
		return tree_leftmost(n->right);
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

static struct map_node *tree_prev(struct map_node *n)
{
	if (n->left) {
		n = n->left;
		while (n->right)
			n = n->right;
		return n;
	}
	while (n->parent && n->parent->left == n)
		n = n->parent;
	return n->parent;
}

/* The first node whose key is >= k. */
static struct map_node *tree_lower_bound(const struct map_table *t, uint64_t k)
{
	struct map_node *n = t->root, *best = NULL;

	while (n) {
		if (node_key(n) >= k) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
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

/* ------------------------------------------------------ client counts */

static inline size_t client_home(const struct map_table *t, uint32_t addr)
{
	return (size_t)((addr * UINT32_C(2654435761)) & (t->clients_cap - 1));
}

static struct client_slot *client_lookup(const struct map_table *t, uint32_t addr)
{
	size_t i;

	if (!t->clients_cap)
		return NULL;
	for (i = client_home(t, addr); t->clients[i].count; i = (i + 1) & (t->clients_cap - 1))
		if (t->clients[i].addr == addr)
			return &t->clients[i];
	return NULL;
}

static int client_grow(struct map_table *t)
{
	struct client_slot *old = t->clients;
	size_t oldcap = t->clients_cap, i;
	size_t ncap = oldcap ? oldcap * 2 : 16;

	t->clients = calloc(ncap, sizeof(*t->clients));
	if (!t->clients) {
		t->clients = old;
		return -ENOMEM;
	}
	t->clients_cap = ncap;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].count)
			continue;
		for (j = client_home(t, old[i].addr); t->clients[j].count; j = (j + 1) & (ncap - 1))
			;
		t->clients[j] = old[i];
	}
	free(old);
	return 0;
}

/* Make sure a new client fits, before anything changes. */
static int client_reserve(struct map_table *t, uint32_t addr)
{
	if (client_lookup(t, addr))
		return 0;
	if ((t->clients_len + 1) * 2 > t->clients_cap)
		return client_grow(t);
	return 0;
}

static void client_inc(struct map_table *t, uint32_t addr)
{
	struct client_slot *s = client_lookup(t, addr);
	size_t i;

	if (s) {
		s->count++;
		return;
	}
	for (i = client_home(t, addr); t->clients[i].count; i = (i + 1) & (t->clients_cap - 1))
		;
	t->clients[i].addr = addr;
	t->clients[i].count = 1;
	t->clients_len++;
}

static void client_dec(struct map_table *t, uint32_t addr)
{
	struct client_slot *s = client_lookup(t, addr);
	size_t mask = t->clients_cap - 1, i, j;

	if (!s || --s->count)
		return;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	t->clients_len--;
	i = (size_t)(s - t->clients);
	for (j = (i + 1) & mask; t->clients[j].count; j = (j + 1) & mask) {
		size_t k = client_home(t, t->clients[j].addr);

		if (((j - k) & mask) >= ((j - i) & mask)) {
			t->clients[i] = t->clients[j];
			i = j;
		}
	}
	t->clients[i].count = 0;
	t->clients[i].addr = 0;
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

static void free_subtree(struct map_node *n)
{
	/* Iterative post-order through parent links: no recursion depth. */
	while (n) {
		if (n->left) {
			n = n->left;
		} else if (n->right) {
			n = n->right;
		} else {
			struct map_node *p = n->parent;

			if (p) {
				if (p->left == n)
					p->left = NULL;
				else
					p->right = NULL;
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
	free_subtree(t->root);
	free(t->heap);
	free(t->clients);
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
	const struct client_slot *s = client_lookup(t, client.s_addr);

	return s ? s->count : 0;
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
	struct map_node *n = t->root;

	while (n) {
		uint64_t nk = node_key(n);

		if (k == nk)
			return &n->m;
		n = k < nk ? n->left : n->right;
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
	n = tree_lower_bound(t, key_of(proto, ext_port, any));
	if (!n || n->m.proto != proto || n->m.ext_port != ext_port)
		return NULL;
	return &n->m;
}

struct mapping *map_nth(const struct map_table *t, size_t index)
{
	struct map_node *n = t->root;

	while (n) {
		size_t ls = size_of(n->left);

		if (index < ls) {
			n = n->left;
		} else if (index == ls) {
			return &n->m;
		} else {
			index -= ls + 1;
			n = n->right;
		}
	}
	return NULL;
}

size_t map_index(const struct map_table *t, const struct mapping *m)
{
	const struct map_node *n = node_of(m);
	size_t i = size_of(n->left);

	(void)t;
	for (; n->parent; n = n->parent)
		if (n->parent->right == n)
			i += size_of(n->parent->left) + 1;
	return i;
}

struct mapping *map_first(const struct map_table *t)
{
	struct map_node *n = tree_leftmost(t->root);

	return n ? &n->m : NULL;
}

struct mapping *map_next(const struct map_table *t, const struct mapping *m)
{
	struct map_node *n = tree_next(node_of(m));

	(void)t;
	return n ? &n->m : NULL;
}

struct mapping *map_range_first(const struct map_table *t, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct in_addr any = { 0 };
	struct map_node *n;

	if (lo > hi)
		return NULL;
	n = tree_lower_bound(t, key_of(proto, lo, any));
	if (!n || n->m.proto != proto || n->m.ext_port > hi)
		return NULL;
	return &n->m;
}

struct mapping *map_range_next(const struct map_table *t, const struct mapping *m, uint16_t hi)
{
	struct map_node *n = tree_next(node_of(m));

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

/* Whether one more entry for client fits the limits. */
static enum map_status limits_check(const struct map_table *t, struct in_addr client)
{
	if (t->lim.max_mappings && t->count >= t->lim.max_mappings)
		return MAP_FULL;
	if (t->lim.max_per_client && map_client_count(t, client) >= t->lim.max_per_client)
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
	st = limits_check(t, tmpl->internal_client);
	if (st != MAP_OK)
		return st;
	/* Reserve everything that can fail before touching the table. */
	if ((tmpl->lease_end_ms && heap_reserve(t) < 0) ||
	    client_reserve(t, tmpl->internal_client.s_addr) < 0)
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
	tree_insert(t, n);
	t->count++;
	port_set(t, n->m.proto, n->m.ext_port);
	client_inc(t, n->m.internal_client.s_addr);
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
	p = tree_prev(n);
	s = tree_next(n);
	shared = (p && p->m.proto == m->proto && p->m.ext_port == m->ext_port) ||
		 (s && s->m.proto == m->proto && s->m.ext_port == m->ext_port);
	if (!shared)
		port_clear(t, m->proto, m->ext_port);
	if (n->heap_idx != NO_HEAP)
		heap_delete(t, n);
	client_dec(t, m->internal_client.s_addr);
	tree_erase(t, n);
	t->count--;
	free(m->desc);
	free(n);
}

size_t map_expire(struct map_table *t, uint64_t now_ms, map_each_fn fn, void *arg)
{
	size_t n = 0;

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
