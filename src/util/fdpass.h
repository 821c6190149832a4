/*
 * fdpass.h - one descriptor passed along with bytes on a Unix socket
 * (SCM_RIGHTS, unix(7)): the admin grant igddctl sends the daemon and
 * the engine sends the privileged helper (priv/priv_msg.h).
 */
#ifndef IGDD_FDPASS_H
#define IGDD_FDPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* send() of len bytes with descriptor fd attached (-1: none). As
 * sendmsg(): the bytes sent, or -1 with errno set. */
ssize_t fdpass_send(int sock, const void *buf, size_t len, int fd, int flags);

/*
 * recvmsg() of at most len bytes. *ret_fd: the descriptor that came with
 * them (close-on-exec; -1: none), now the caller's. *ret_bad: something
 * else came too (other control data, more than one descriptor: the
 * kernel closes those that do not fit) or the message was cut. As
 * recvmsg(): the bytes read, or -1 with errno set (*ret_fd -1).
 */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int flags, int *ret_fd, bool *ret_bad);

#endif
