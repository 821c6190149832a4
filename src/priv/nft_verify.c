/*
 * nft_verify.c - counting the rules and elements of table ip igdd over
 * netlink (see nft_verify.h). The requests name the table (and set), so
 * the kernel dumps only ours.
 */
#include "priv/nft_verify.h"

#include "util/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_BUF (64u * 1024u)

struct nft_verify {
	struct nl_conn c;
};

/* nl_client_new(): the connection first. */
_Static_assert(offsetof(struct nft_verify, c) == 0, "struct nft_verify starts with its nl_conn");

struct nft_verify *nft_verify_new(void)
{
	return nl_client_new(sizeof(struct nft_verify), NETLINK_NETFILTER, VERIFY_BUF);
}

void nft_verify_free(struct nft_verify *v)
{
	nl_client_free(v);
}

/* A dump request of type for our table (and set), family ip. */
static struct nlmsghdr *dump_request(struct nft_verify *v, uint16_t type, const char *set)
{
	struct nlmsghdr *nlh = nl_nft_request(&v->c, type, NLM_F_DUMP, NFPROTO_IPV4);

	if (type == NFT_MSG_GETRULE) {
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, nft_rules_table_name());
	} else {
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, nft_rules_table_name());
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	}
	return nlh;
}

/* A rule message: count it if it is in our table. */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a;
	size_t *n = data;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_TABLE &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
		    strcmp(mnl_attr_get_str(a), nft_rules_table_name()) == 0)
			(*n)++;
	}
	return MNL_CB_OK;
}

/* An element dump message: count the elements of its list. */
static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a, *e;
	size_t *n = data;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS ||
		    mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			continue;
		mnl_attr_for_each_nested(e, a)
			if (mnl_attr_get_type(e) == NFTA_LIST_ELEM)
				(*n)++;
	}
	return MNL_CB_OK;
}

static int dump_count(struct nft_verify *v, uint16_t type, const char *set, size_t *ret)
{
	struct nlmsghdr *nlh = dump_request(v, type, set);
	size_t n = 0;
	int r = nl_exchange(&v->c, nlh, type == NFT_MSG_GETRULE ? rule_cb : elem_cb, &n);

	if (r < 0)
		return r;
	*ret = n;
	return 0;
}

int nft_verify_read(struct nft_verify *v, unsigned sets, unsigned *ret_rules,
		    size_t counts[NFT_NSETS])
{
	size_t rules = 0;
	int s, r;

	r = dump_count(v, NFT_MSG_GETRULE, NULL, &rules);
	if (r < 0)
		return r;
	if (rules == 0)
		return -ENOENT;         /* the table, if any, is not ours any more */
	for (s = 0; s < NFT_NSETS; s++) {
		counts[s] = 0;
		if (!(sets & (1u << s)))
			continue;
		r = dump_count(v, NFT_MSG_GETSETELEM, nft_set_name((enum nft_set)s), &counts[s]);
		if (r < 0)
			return r;
	}
	*ret_rules = (unsigned)rules;
	return 0;
}
