/*
 * nft_forwards.c - statically forwarded ports, read from the nftables
 * ruleset over netlink (see nft_forwards.h).
 *
 * One rule dump (NFT_MSG_GETRULE, every family) is walked expression by
 * expression, following which register holds the layer-4 protocol
 * (`meta l4proto`, or the IPv4 header's protocol byte) and which the
 * transport destination port (payload, transport header, offset 2,
 * length 2). Comparisons, ranges and set lookups on those registers
 * give the rule's protocols and ports; a `nat` of type DNAT, a `redir`,
 * or the xt target DNAT or REDIRECT (how iptables-nft writes -j DNAT and
 * -j REDIRECT) makes it a forward. iptables-nft writes its port matches
 * as native payload and cmp expressions (but -m multiport). Sets are read once
 * the rule dump is over (NFT_MSG_GETSETELEM): their keys are the ports
 * (or protocols), interval sets as ranges.
 */
#include "priv/nft_forwards.h"

#include "priv/nft_rules.h"
#include "util/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FW_BUF (64u * 1024u)
#define FW_NAME_MAX 64                  /* NFT_NAME_MAXLEN (table, set names) */
#define FW_MAX_RANGES 8                 /* literal port matches per rule */
#define FW_MAX_FINDS 4096               /* forwarding rules looked at */
#define FW_MAX_ELEMS 65536              /* elements of one set */
#define FW_NREGS 32                     /* NFT_REG_1..4, NFT_REG32_00..15 */

#define FW_TCP 1u
#define FW_UDP 2u

enum reg_kind { REG_NONE, REG_L4PROTO, REG_DPORT };

struct range16 {
	uint16_t lo, hi;
};

/* One forwarding rule, its sets not yet read. */
struct find {
	uint8_t family;
	char table[FW_NAME_MAX];
	unsigned protos;                /* FW_TCP | FW_UDP; 0: none named (both) */
	char proto_set[FW_NAME_MAX];    /* "" none */
	char port_set[FW_NAME_MAX];
	struct range16 ports[FW_MAX_RANGES];
	size_t nports;
};

/* What one rule's walk has seen. */
struct scan {
	enum reg_kind reg[FW_NREGS];
	bool nat;
	struct find f;
	uint32_t lo, hi;                /* one-sided comparisons: lo >, hi < (0 / 0x10000: unset) */
	bool have_lo, have_hi;
};

struct nft_forwards {
	struct nl_conn c;
	struct find *finds;             /* FW_MAX_FINDS */
	size_t nfinds;
};

/* nl_client_new(): the connection first. */
_Static_assert(offsetof(struct nft_forwards, c) == 0, "struct nft_forwards starts with its nl_conn");

struct nft_forwards *nft_forwards_new(void)
{
	struct nft_forwards *f = nl_client_new(sizeof(*f), NETLINK_NETFILTER, FW_BUF);

	if (!f)
		return NULL;
	f->finds = calloc(FW_MAX_FINDS, sizeof(*f->finds));
	if (!f->finds) {
		nl_client_free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

void nft_forwards_free(struct nft_forwards *f)
{
	if (!f)
		return;
	free(f->finds);
	nl_client_free(f);
}

/* ---- netlink plumbing ---- */

static uint32_t attr_u32(const struct nlattr *a)
{
	return mnl_attr_get_payload_len(a) >= 4 ? ntohl(mnl_attr_get_u32(a)) : UINT32_MAX;
}

/* The value inside an nft_data nest (NFTA_DATA_VALUE): its bytes. */
static const uint8_t *data_value(const struct nlattr *nest, size_t *ret_len)
{
	const struct nlattr *a;

	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return NULL;
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == NFTA_DATA_VALUE) {
			*ret_len = mnl_attr_get_payload_len(a);
			return mnl_attr_get_payload(a);
		}
	return NULL;
}

/* A port (2 bytes, network order) or a protocol (1 byte) in a data nest. */
static bool data_port(const struct nlattr *nest, uint16_t *ret)
{
	size_t n = 0;
	const uint8_t *v = data_value(nest, &n);

	if (!v || n != 2)
		return false;
	*ret = (uint16_t)((v[0] << 8) | v[1]);
	return true;
}

static unsigned proto_bit(uint8_t p)
{
	return p == IPPROTO_TCP ? FW_TCP : p == IPPROTO_UDP ? FW_UDP : 0;
}

static bool data_proto(const struct nlattr *nest, unsigned *ret)
{
	size_t n = 0;
	const uint8_t *v = data_value(nest, &n);

	if (!v || n < 1)
		return false;
	*ret = proto_bit(v[0]);
	return true;
}

/* ---- one rule ---- */

static unsigned reg_index(uint32_t reg)
{
	return reg < FW_NREGS ? reg : 0;        /* 0: the verdict register, never tracked */
}

static void add_range(struct scan *s, uint16_t lo, uint16_t hi)
{
	if (s->f.nports < FW_MAX_RANGES && lo <= hi)
		s->f.ports[s->f.nports++] = (struct range16){ lo, hi };
}

/* The attributes of one expression's data, by type (up to 8). */
static void expr_attrs(const struct nlattr *data, const struct nlattr *tb[9])
{
	const struct nlattr *a;

	memset(tb, 0, 9 * sizeof(tb[0]));
	if (!data || mnl_attr_validate(data, MNL_TYPE_NESTED) < 0)
		return;
	mnl_attr_for_each_nested(a, data)
		if (mnl_attr_get_type(a) < 9)
			tb[mnl_attr_get_type(a)] = a;
}

static void on_meta(struct scan *s, const struct nlattr *tb[9])
{
	unsigned r;

	if (!tb[NFTA_META_DREG])
		return;
	r = reg_index(attr_u32(tb[NFTA_META_DREG]));
	s->reg[r] = tb[NFTA_META_KEY] && attr_u32(tb[NFTA_META_KEY]) == NFT_META_L4PROTO ?
		    REG_L4PROTO : REG_NONE;
}

static void on_payload(struct scan *s, const struct nlattr *tb[9])
{
	uint32_t base, off, len;
	unsigned r;

	if (!tb[NFTA_PAYLOAD_DREG] || !tb[NFTA_PAYLOAD_BASE] || !tb[NFTA_PAYLOAD_OFFSET] ||
	    !tb[NFTA_PAYLOAD_LEN])
		return;
	r = reg_index(attr_u32(tb[NFTA_PAYLOAD_DREG]));
	base = attr_u32(tb[NFTA_PAYLOAD_BASE]);
	off = attr_u32(tb[NFTA_PAYLOAD_OFFSET]);
	len = attr_u32(tb[NFTA_PAYLOAD_LEN]);
	if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && len == 2)
		s->reg[r] = REG_DPORT;
	else if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 9 && len == 1)
		s->reg[r] = REG_L4PROTO;                /* IPv4 protocol */
	else
		s->reg[r] = REG_NONE;
}

static void on_cmp(struct scan *s, const struct nlattr *tb[9])
{
	enum reg_kind k;
	uint32_t op;
	uint16_t port;
	unsigned bit;

	if (!tb[NFTA_CMP_SREG] || !tb[NFTA_CMP_OP] || !tb[NFTA_CMP_DATA])
		return;
	k = s->reg[reg_index(attr_u32(tb[NFTA_CMP_SREG]))];
	op = attr_u32(tb[NFTA_CMP_OP]);
	if (k == REG_L4PROTO && op == NFT_CMP_EQ && data_proto(tb[NFTA_CMP_DATA], &bit)) {
		s->f.protos |= bit ? bit : 0x100;       /* another protocol: nothing of ours */
		return;
	}
	if (k != REG_DPORT || !data_port(tb[NFTA_CMP_DATA], &port))
		return;
	switch (op) {
	case NFT_CMP_EQ:
		add_range(s, port, port);
		break;
	case NFT_CMP_GT:
	case NFT_CMP_GTE:
		s->lo = op == NFT_CMP_GT ? (uint32_t)port + 1 : port;
		s->have_lo = true;
		break;
	case NFT_CMP_LT:
	case NFT_CMP_LTE:
		s->hi = op == NFT_CMP_LT ? (port ? port - 1u : 0u) : port;
		s->have_hi = op == NFT_CMP_LTE || port > 0;
		break;
	default:                                        /* != : no literal port */
		break;
	}
}

static void on_range(struct scan *s, const struct nlattr *tb[9])
{
	uint16_t lo, hi;

	if (!tb[NFTA_RANGE_SREG] || !tb[NFTA_RANGE_OP] || !tb[NFTA_RANGE_FROM_DATA] ||
	    !tb[NFTA_RANGE_TO_DATA])
		return;
	if (s->reg[reg_index(attr_u32(tb[NFTA_RANGE_SREG]))] == REG_DPORT &&
	    attr_u32(tb[NFTA_RANGE_OP]) == NFT_RANGE_EQ &&
	    data_port(tb[NFTA_RANGE_FROM_DATA], &lo) && data_port(tb[NFTA_RANGE_TO_DATA], &hi))
		add_range(s, lo, hi);
}

static void copy_name(char out[FW_NAME_MAX], const struct nlattr *a)
{
	size_t n = mnl_attr_get_payload_len(a);

	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 || n == 0 || n > FW_NAME_MAX)
		return;
	memcpy(out, mnl_attr_get_str(a), n);
}

static void on_lookup(struct scan *s, const struct nlattr *tb[9])
{
	enum reg_kind k;

	if (!tb[NFTA_LOOKUP_SREG] || !tb[NFTA_LOOKUP_SET])
		return;
	if (tb[NFTA_LOOKUP_FLAGS] && (attr_u32(tb[NFTA_LOOKUP_FLAGS]) & NFT_LOOKUP_F_INV))
		return;                                 /* not in the set: no literal */
	k = s->reg[reg_index(attr_u32(tb[NFTA_LOOKUP_SREG]))];
	if (k == REG_DPORT)
		copy_name(s->f.port_set, tb[NFTA_LOOKUP_SET]);
	else if (k == REG_L4PROTO)
		copy_name(s->f.proto_set, tb[NFTA_LOOKUP_SET]);
	if (tb[NFTA_LOOKUP_DREG])                       /* a map writes its value */
		s->reg[reg_index(attr_u32(tb[NFTA_LOOKUP_DREG]))] = REG_NONE;
}

static void on_expr(struct scan *s, const struct nlattr *elem)
{
	const struct nlattr *a, *name = NULL, *data = NULL, *tb[9];
	const char *n;

	mnl_attr_for_each_nested(a, elem) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = a;
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!name)
		return;
	n = mnl_attr_get_str(name);
	expr_attrs(data, tb);
	if (strcmp(n, "meta") == 0) {
		on_meta(s, tb);
	} else if (strcmp(n, "payload") == 0) {
		on_payload(s, tb);
	} else if (strcmp(n, "cmp") == 0) {
		on_cmp(s, tb);
	} else if (strcmp(n, "range") == 0) {
		on_range(s, tb);
	} else if (strcmp(n, "lookup") == 0) {
		on_lookup(s, tb);
	} else if (strcmp(n, "nat") == 0) {
		if (tb[NFTA_NAT_TYPE] && attr_u32(tb[NFTA_NAT_TYPE]) == NFT_NAT_DNAT)
			s->nat = true;
	} else if (strcmp(n, "redir") == 0) {
		s->nat = true;
	} else if (strcmp(n, "target") == 0 && tb[NFTA_TARGET_NAME] &&
		   mnl_attr_validate(tb[NFTA_TARGET_NAME], MNL_TYPE_NUL_STRING) == 0) {
		const char *t = mnl_attr_get_str(tb[NFTA_TARGET_NAME]);

		/* iptables-nft: -j DNAT / -j REDIRECT are xt targets. */
		s->nat = s->nat || strcmp(t, "DNAT") == 0 || strcmp(t, "REDIRECT") == 0;
	}
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_forwards *f = data;
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *e, *exprs = NULL;
	struct scan s;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg) ||
	    (nfg->nfgen_family != NFPROTO_IPV4 && nfg->nfgen_family != NFPROTO_INET))
		return MNL_CB_OK;
	memset(&s, 0, sizeof(s));
	s.f.family = nfg->nfgen_family;
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_TABLE)
			copy_name(s.f.table, a);
		else if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS &&
			 mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			exprs = a;
	}
	if (!exprs || !s.f.table[0] ||
	    (s.f.family == NFPROTO_IPV4 && strcmp(s.f.table, nft_rules_table_name()) == 0))
		return MNL_CB_OK;                       /* ours: the mappings themselves */
	mnl_attr_for_each_nested(e, exprs)
		if (mnl_attr_get_type(e) == NFTA_LIST_ELEM &&
		    mnl_attr_validate(e, MNL_TYPE_NESTED) == 0)
			on_expr(&s, e);
	if (s.have_lo || s.have_hi)
		add_range(&s, s.have_lo ? (uint16_t)(s.lo > 65535 ? 65535 : s.lo) : 1,
			  s.have_hi ? (uint16_t)s.hi : 65535);
	if (!s.nat || (s.f.nports == 0 && !s.f.port_set[0]) || f->nfinds == FW_MAX_FINDS)
		return MNL_CB_OK;
	f->finds[f->nfinds++] = s.f;
	return MNL_CB_OK;
}

/* ---- sets ---- */

/* One element as read: a key, and where an interval ends. */
struct elem {
	uint16_t v;
	bool end;                       /* NFT_SET_ELEM_INTERVAL_END */
	bool have_key_end;
	uint16_t key_end;               /* NFTA_SET_ELEM_KEY_END (inclusive) */
};

struct elems {
	struct elem *v;
	size_t n;
	bool ports;                     /* keys are ports (2 bytes) or protocols (1 byte) */
	unsigned protos;                /* protocols, for a protocol set */
	bool any_end;
};

static void one_elem(struct elems *x, const struct nlattr *el)
{
	const struct nlattr *a;
	struct elem e;
	bool have = false;
	unsigned bit;

	memset(&e, 0, sizeof(e));
	mnl_attr_for_each_nested(a, el) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			if (x->ports)
				have = data_port(a, &e.v);
			else if (data_proto(a, &bit))
				x->protos |= bit;
			break;
		case NFTA_SET_ELEM_KEY_END:
			e.have_key_end = x->ports && data_port(a, &e.key_end);
			break;
		case NFTA_SET_ELEM_FLAGS:
			e.end = (attr_u32(a) & NFT_SET_ELEM_INTERVAL_END) != 0 &&
				attr_u32(a) != UINT32_MAX;
			break;
		default:
			break;
		}
	}
	if (!have || x->n == FW_MAX_ELEMS)
		return;
	x->any_end |= e.end;
	x->v[x->n++] = e;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elems *x = data;
	const struct nlattr *a, *el;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS ||
		    mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			continue;
		mnl_attr_for_each_nested(el, a)
			if (mnl_attr_get_type(el) == NFTA_LIST_ELEM &&
			    mnl_attr_validate(el, MNL_TYPE_NESTED) == 0)
				one_elem(x, el);
	}
	return MNL_CB_OK;
}

static int elem_cmp(const void *pa, const void *pb)
{
	const struct elem *a = pa, *b = pb;

	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return (int)b->end - (int)a->end;       /* an end before a start at one value */
}

/* The elements of set (family, table) into x. */
static int read_set(struct nft_forwards *f, const struct find *fd, const char *set,
		    struct elems *x)
{
	struct nlmsghdr *nlh = nl_nft_request(&f->c, NFT_MSG_GETSETELEM, NLM_F_DUMP, fd->family);

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, fd->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	return nl_exchange(&f->c, nlh, elem_cb, x);
}

static void add_both(unsigned bits, uint16_t lo, uint16_t hi, struct portset *tcp,
		     struct portset *udp)
{
	if (bits & FW_TCP)
		portset_add_range(tcp, lo, hi);
	if (bits & FW_UDP)
		portset_add_range(udp, lo, hi);
}

/* A port set's keys (sorted) as ranges, for the protocols in bits. In an
 * interval set a start element opens a range that the next end element
 * closes (the end is the first port after it); a range left open runs to
 * 65535. */
static void set_ports(const struct elems *x, unsigned bits, struct portset *tcp,
		      struct portset *udp)
{
	size_t i;
	int open = -1;

	for (i = 0; i < x->n; i++) {
		const struct elem *e = &x->v[i];

		if (e->have_key_end) {
			add_both(bits, e->v, e->key_end, tcp, udp);
		} else if (!x->any_end) {
			add_both(bits, e->v, e->v, tcp, udp);
		} else if (!e->end) {
			if (open < 0)
				open = e->v;
		} else if (open >= 0) {
			if (e->v > open)
				add_both(bits, (uint16_t)open, (uint16_t)(e->v - 1), tcp, udp);
			open = -1;
		}
	}
	if (open >= 0)
		add_both(bits, (uint16_t)open, 65535, tcp, udp);
}

/* One forwarding rule into the port sets. */
static int apply_find(struct nft_forwards *f, const struct find *fd, struct elems *x,
		      struct portset *tcp, struct portset *udp)
{
	unsigned bits = fd->protos;
	size_t i;
	int r;

	if (fd->proto_set[0]) {
		x->n = 0;
		x->ports = false;
		x->protos = 0;
		r = read_set(f, fd, fd->proto_set, x);
		if (r < 0 && r != -ENOENT)
			return r;
		bits |= x->protos ? x->protos : 0x100;
	}
	if (bits == 0)
		bits = FW_TCP | FW_UDP;                 /* `th dport`: any protocol */
	bits &= FW_TCP | FW_UDP;
	for (i = 0; i < fd->nports; i++)
		add_both(bits, fd->ports[i].lo, fd->ports[i].hi, tcp, udp);
	if (!fd->port_set[0] || !bits)
		return 0;
	x->n = 0;
	x->ports = true;
	x->any_end = false;
	r = read_set(f, fd, fd->port_set, x);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	qsort(x->v, x->n, sizeof(x->v[0]), elem_cmp);
	set_ports(x, bits, tcp, udp);
	return 0;
}

int nft_forwards_read(struct nft_forwards *f, struct portset *tcp, struct portset *udp)
{
	struct nlmsghdr *nlh = nl_nft_request(&f->c, NFT_MSG_GETRULE, NLM_F_DUMP, NFPROTO_UNSPEC);
	struct elems x;
	size_t i;
	int r;

	portset_clear(tcp);
	portset_clear(udp);
	f->nfinds = 0;
	r = nl_exchange(&f->c, nlh, rule_cb, f);
	if (r < 0)
		return r;
	memset(&x, 0, sizeof(x));
	if (f->nfinds && !(x.v = calloc(FW_MAX_ELEMS, sizeof(*x.v))))
		return -ENOMEM;
	for (i = 0; i < f->nfinds && r == 0; i++)
		r = apply_find(f, &f->finds[i], &x, tcp, udp);
	free(x.v);
	return r;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_get_payload_len(a) >= 4)
			*(uint32_t *)data = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

int nft_forwards_genid(struct nft_forwards *f, uint32_t *ret)
{
	struct nlmsghdr *nlh = nl_nft_request(&f->c, NFT_MSG_GETGEN, NLM_F_ACK, NFPROTO_UNSPEC);
	uint32_t gen = 0;
	int r = nl_exchange(&f->c, nlh, gen_cb, &gen);

	if (r == 0)
		*ret = gen;
	return r;
}
