/*
 * nl.c - a netlink socket that asks and reads the answers (see nl.h).
 */
#include "util/nl.h"

#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

int nl_open(struct nl_conn *c, int bus, size_t bufsz)
{
	int e;

	memset(c, 0, sizeof(*c));
	c->buf = malloc(bufsz);
	c->bufsz = bufsz;
	c->nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!c->buf || !c->nl || mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno ? errno : ENOMEM;
		nl_close(c);
		return -e;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	return 0;
}

void nl_close(struct nl_conn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

void *nl_client_new(size_t size, int bus, size_t bufsz)
{
	struct nl_conn *c;
	int r;

	if (size < sizeof(*c)) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, size);
	if (!c)
		return NULL;
	r = nl_open(c, bus, bufsz);
	if (r < 0) {
		free(c);
		errno = -r;
		return NULL;
	}
	return c;
}

void nl_client_free(void *client)
{
	if (!client)
		return;
	nl_close(client);
	free(client);
}

struct nlmsghdr *nl_request(struct nl_conn *c, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(c->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nlh->nlmsg_seq = ++c->seq;
	return nlh;
}

struct nlmsghdr *nl_nft_request(struct nl_conn *c, uint16_t type, uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh = nl_request(c, (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | type), flags);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

int nl_set_timeout(struct nl_conn *c, unsigned timeout_ms)
{
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };

	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int nl_exchange(struct nl_conn *c, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	/* A dump ends with NLMSG_DONE, an acknowledged request with its
	 * acknowledgement; any other request has one answer. */
	bool more = nlh->nlmsg_flags & (NLM_F_DUMP | NLM_F_ACK);
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t len;
	int r;

	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(c->nl, c->buf, c->bufsz);
		if (len < 0)
			return -errno;
		r = mnl_cb_run(c->buf, (size_t)len, seq, c->portid, cb, data);
	} while (r > 0 && more);
	return r < 0 ? (errno ? -errno : -EIO) : 0;
}
