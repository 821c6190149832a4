/*
 * udp.c - one datagram and its IP_PKTINFO (udp.h).
 */
#include "net/udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_dgram *d)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + 64];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &d->from;
	msg.msg_namelen = sizeof(d->from);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do {
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	d->from_ok = msg.msg_namelen >= sizeof(d->from) && d->from.sin_family == AF_INET;
	d->truncated = (msg.msg_flags & MSG_TRUNC) != 0;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(d->pi))) {
			memcpy(&d->pi, CMSG_DATA(cm), sizeof(d->pi));
			d->have_pktinfo = true;
			break;
		}
	}
	return n;
}
