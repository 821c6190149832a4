/*
 * nft_verify.c - counting the rules and elements of table ip igdd over
 * netlink (see nft_verify.h). The requests name the table (and set), so
 * the kernel dumps only ours.
 */
#include "priv/nft_verify.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_BUF (64u * 1024u)

struct nft_verify {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	char *buf;
};

struct nft_verify *nft_verify_new(void)
{
	struct nft_verify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->buf = malloc(VERIFY_BUF);
	v->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!v->buf || !v->nl || mnl_socket_bind(v->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno ? errno : ENOMEM;

		nft_verify_free(v);
		errno = e;
		return NULL;
	}
	v->portid = mnl_socket_get_portid(v->nl);
	v->seq = (uint32_t)time(NULL);
	return v;
}

void nft_verify_free(struct nft_verify *v)
{
	if (!v)
		return;
	if (v->nl)
		mnl_socket_close(v->nl);
	free(v->buf);
	free(v);
}

/* A dump request of type for our table (and set), family ip. */
static struct nlmsghdr *dump_request(struct nft_verify *v, uint16_t type, const char *set)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(v->buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | type);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++v->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_IPV4;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (type == NFT_MSG_GETRULE) {
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NFT_TABLE_NAME);
	} else {
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE_NAME);
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
		    strcmp(mnl_attr_get_str(a), NFT_TABLE_NAME) == 0)
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
	uint32_t seq = nlh->nlmsg_seq;
	size_t n = 0;
	ssize_t len;
	int r;

	if (mnl_socket_sendto(v->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(v->nl, v->buf, VERIFY_BUF);
		if (len < 0)
			return -errno;
		r = mnl_cb_run(v->buf, (size_t)len, seq, v->portid,
			       type == NFT_MSG_GETRULE ? rule_cb : elem_cb, &n);
	} while (r > 0);
	if (r < 0)
		return errno ? -errno : -EIO;
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
