/*
 * nl.h - a netlink socket that asks and reads the answers (libmnl): the
 * request/answer loop of every netlink client of igdd (rtnetlink,
 * nf_tables, sock_diag): the privileged helper's, util/sockdiag.c's, and
 * util/rtnl.c's bounded rtnetlink requests. Blocking; the kernel answers
 * these requests at once (nl_set_timeout() bounds the wait all the same).
 */
#ifndef IGDD_NL_H
#define IGDD_NL_H

#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>

struct nl_conn {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	char *buf;                      /* requests are built here, answers read here */
	size_t bufsz;
};

/* Open a socket of netlink family bus, bound (no groups), with a buffer
 * of bufsz bytes. 0 or -errno. */
int nl_open(struct nl_conn *c, int bus, size_t bufsz);
void nl_close(struct nl_conn *c);

/*
 * A netlink client: a zeroed object of size bytes whose first member is
 * its struct nl_conn, opened as nl_open(). The object, or NULL with
 * errno set. nl_client_free() closes and frees one (NULL: nothing); the
 * caller frees what else it holds first.
 */
void *nl_client_new(size_t size, int bus, size_t bufsz);
void nl_client_free(void *client);

/* A request header of type with flags (NLM_F_REQUEST added) and the next
 * sequence number, in c->buf: add the payload with mnl_nlmsg_put_*. */
struct nlmsghdr *nl_request(struct nl_conn *c, uint16_t type, uint16_t flags);
/* The same for an nf_tables message (NFNL_SUBSYS_NFTABLES, nfnetlink(7)):
 * its struct nfgenmsg of family (NFPROTO_*) put, the attributes next. */
struct nlmsghdr *nl_nft_request(struct nl_conn *c, uint16_t type, uint16_t flags, uint8_t family);

/* Each wait for an answer at most timeout_ms (-EAGAIN after). 0 or -errno. */
int nl_set_timeout(struct nl_conn *c, unsigned timeout_ms);

/*
 * Send nlh (from nl_request()) and run cb over every answer until the
 * dump's end (NLM_F_DUMP) or the acknowledgement (NLM_F_ACK); without
 * either, the one answer. 0, or -errno: the kernel's error (-ENOENT: no
 * such object) or the socket's.
 */
int nl_exchange(struct nl_conn *c, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
