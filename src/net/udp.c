/*
 * udp.c - one datagram and its packet information (udp.h): IP_PKTINFO
 * (ip(7)) and IPV6_PKTINFO (RFC 3542 6.1, ipv6(7)).
 */
#define _GNU_SOURCE             /* struct in6_pktinfo */

#include "net/udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_dgram *d)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
	} ctl;
	struct sockaddr_storage from;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	memset(&msg, 0, sizeof(msg));
	memset(&from, 0, sizeof(from));
	msg.msg_name = &from;
	msg.msg_namelen = sizeof(from);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do {
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	d->from_ok = ipaddr_from_sockaddr((const struct sockaddr *)&from, msg.msg_namelen,
					  &d->from, &d->from_port);
	d->truncated = (msg.msg_flags & MSG_TRUNC) != 0;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			d->ifindex = (unsigned)pi.ipi_ifindex;
			d->dst = ipaddr_from_v4(pi.ipi_addr);
			d->have_pktinfo = true;
			break;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi6;

			memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
			d->ifindex = pi6.ipi6_ifindex;
			d->dst = ipaddr_from_v6(&pi6.ipi6_addr, pi6.ipi6_ifindex);
			d->have_pktinfo = true;
			break;
		}
	}
	/* A link-local source's scope is the interface it came in on. */
	if (d->from_ok && d->have_pktinfo && ipaddr_is_linklocal(&d->from))
		d->from.scope = d->ifindex;
	return n;
}

/* One control message of len bytes of data at cm (room for it checked by
 * the caller); the space it takes. */
static size_t cmsg_put(struct cmsghdr *cm, int level, int type, const void *data, size_t len)
{
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	return CMSG_SPACE(len);
}

int udp_send(int fd, const struct ipaddr *to, uint16_t port, unsigned ifindex,
	     const struct ipaddr *src, const void *buf, size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct sockaddr_storage ss;
	struct msghdr msg;
	struct cmsghdr *cm;

	memset(&msg, 0, sizeof(msg));
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_namelen = ipaddr_to_sockaddr(to, port, &ss);
	if (msg.msg_namelen == 0)
		return -EAFNOSUPPORT;
	msg.msg_name = &ss;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	cm = (struct cmsghdr *)(void *)ctl.buf;
	if (to->family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = (int)ifindex;
		if (src && src->family == AF_INET)
			pi.ipi_spec_dst = src->u.v4;
		msg.msg_controllen = cmsg_put(cm, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi6;

		memset(&pi6, 0, sizeof(pi6));
		pi6.ipi6_ifindex = ifindex;
		if (src && src->family == AF_INET6)
			pi6.ipi6_addr = src->u.v6;
		msg.msg_controllen = cmsg_put(cm, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	}
	if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int udp_want_pktinfo(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ? -errno
											     : 0;
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ? -errno : 0;
}
