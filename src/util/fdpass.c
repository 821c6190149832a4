/*
 * fdpass.c - one descriptor along with bytes on a Unix socket (see
 * fdpass.h).
 */
#include "util/fdpass.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

union fdpass_ctl {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int))];
};

ssize_t fdpass_send(int sock, const void *buf, size_t len, int fd, int flags)
{
	union fdpass_ctl ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, flags);
}

ssize_t fdpass_recv(int sock, void *buf, size_t len, int flags, int *ret_fd, bool *ret_bad)
{
	union fdpass_ctl ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	*ret_fd = -1;
	*ret_bad = false;
	n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)) || *ret_fd >= 0) {
			*ret_bad = true;
			continue;
		}
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		*ret_fd = fd;
	}
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		*ret_bad = true;
	return n;
}
