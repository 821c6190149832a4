/*
 * sdnotify.c - the sd_notify(3) datagram protocol (sdnotify.h), written
 * from the documented wire format: one SOCK_DGRAM message to the
 * AF_UNIX address in $NOTIFY_SOCKET ('@' first: the abstract namespace).
 */
#include "util/sdnotify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct sdnotify {
	int fd;
};

/* The address of name: a path, or '@' + an abstract name. */
static int notify_addr(const char *name, struct sockaddr_un *ret, socklen_t *ret_len)
{
	size_t len = strlen(name);

	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	if (len < 2 || (name[0] != '/' && name[0] != '@') || len >= sizeof(ret->sun_path))
		return -EINVAL;
	memcpy(ret->sun_path, name, len);
	if (name[0] == '@')
		ret->sun_path[0] = '\0';
	/* An abstract name is exactly len bytes, no terminator. */
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			       (name[0] == '/' ? 1 : 0));
	return 0;
}

struct sdnotify *sdnotify_open(char *err, size_t errsz)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	struct sdnotify *n = NULL;
	socklen_t salen;
	char copy[sizeof(sa.sun_path) + 1];
	int fd = -1;

	if (err && errsz)
		err[0] = '\0';
	if (!name)
		return NULL;
	snprintf(copy, sizeof(copy), "%s", name);
	unsetenv("NOTIFY_SOCKET");
	if (notify_addr(copy, &sa, &salen) < 0) {
		if (err && errsz)
			snprintf(err, errsz, "NOTIFY_SOCKET is not an absolute path or an "
				 "@abstract name that fits an AF_UNIX address: ignored");
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&sa, salen) < 0) {
		if (err && errsz)
			snprintf(err, errsz, "NOTIFY_SOCKET %s: %s", copy, strerror(errno));
		goto fail;
	}
	n = malloc(sizeof(*n));
	if (!n) {
		if (err && errsz)
			snprintf(err, errsz, "NOTIFY_SOCKET: out of memory");
		goto fail;
	}
	n->fd = fd;
	return n;
fail:
	if (fd >= 0)
		close(fd);
	return NULL;
}

int sdnotify_send(struct sdnotify *n, const char *text)
{
	size_t len;
	ssize_t w;

	if (!n)
		return 0;
	len = strlen(text);
	if (len > SDNOTIFY_MAX)
		return -EMSGSIZE;
	do
		w = send(n->fd, text, len, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

int sdnotify_sendf(struct sdnotify *n, const char *fmt, ...)
{
	char text[SDNOTIFY_MAX + 1];
	va_list ap;
	int r;

	if (!n)
		return 0;
	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(text))
		return -EMSGSIZE;
	return sdnotify_send(n, text);
}

void sdnotify_free(struct sdnotify *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}
