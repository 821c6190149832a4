/*
 * wansock.c - sockets bound to the WAN address (wansock.h).
 */
#include "net/wansock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int wansock_open(int type, struct in_addr from, const struct sockaddr_in *to)
{
	struct sockaddr_in a;
	int fd, r;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr = from;
	if (bind(fd, (const struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (to && connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 &&
	     errno != EINPROGRESS)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
